// Fuzzing campaigns across machines: machine I of N runs `vgic fuzz --target
// vgic --shard I/N --cases C --json` (the shard may also come from a
// Kubernetes Indexed Job's JOB_COMPLETION_INDEX with VGIC_SHARDS) and takes
// the case indices k*N + I for k < C; `vgic fuzz --merge DIR` joins the
// reports into the run one machine makes with `--cases N*C`.
//
// Why that is exact for the vgic target: a vgic case is a function of the
// seed and its index alone (its operations do not steer by coverage), so the
// shards run exactly the single run's cases. Counts, checked operations and
// coverage (hits per feature) add up. The findings depend on the order the
// failing cases come in (the first case of a signature is shrunk, the next
// ones may replace it with a smaller case): the merge re-runs the failing
// cases the shards list, in index order, as the single run meets them, and
// checks that they show what the shards counted. The hw target steers each
// case toward what the cases before it on the same machine left uncovered,
// so its shards are not a split of one run: it is refused.

import { createHash } from "node:crypto";
import { UsageError } from "../options.ts";
import { printable } from "../io/input.ts";
import { readShardFiles } from "../explore/campaign.ts";

/** A shard's `fuzz --json` report, as far as merging needs it. */
export interface FuzzShardDoc {
  vgicLab: string;
  target: string;
  seed: number;
  params: Record<string, string>;
  cases: number;
  ops: number;
  elapsedMs: number;
  signatures: Array<{ signature: string; invariant: string; count: number }>;
  coverage: { total: number; features: Array<{ id: number; name: string; hits: number }> };
  /** the program and --variants file that made it (buildFingerprint) */
  build?: string;
  budget?: { cases: number | null; seconds: number | null };
  corpus?: boolean;
  shard?: { index: number; count: number };
  violatingCases?: number[];
}

export interface MergedCampaign {
  target: string;
  seed: number;
  params: Record<string, string>;
  shards: number;
  files: string[];
  /** the single run's budget: every shard's cases */
  cases: number;
  ops: number;
  /** the shards' times added (CPU across machines, not wall time) */
  elapsedMs: number;
  /** [feature id, hits], hits added over the shards */
  features: Array<[number, number]>;
  /** the failing case indices of the whole campaign, ascending */
  violating: number[];
  /** per signature, the cases the shards counted */
  counts: Map<string, number>;
}

/** Read and check a campaign's shard reports: one target, seed, parameters
 *  and version; a --cases budget, not cut by --seconds, without a corpus;
 *  every shard of the count exactly once. */
export function mergeFuzzShards(dir: string, parse: (doc: unknown, file: string) => FuzzShardDoc, build: string): MergedCampaign {
  const docs = readShardFiles(dir, parse);
  const first = docs[0]!;
  for (const { file, doc } of docs) {
    const where = `--merge: ${printable(file)}`;
    if (doc.target !== "vgic") {
      throw new UsageError(`${where}: target '${printable(doc.target)}': only vgic campaigns merge (a hw case steers by the coverage of the cases before it on its machine, so hw shards are not a split of one run)`);
    }
    if (doc.shard === undefined || doc.violatingCases === undefined || doc.budget === undefined) {
      throw new UsageError(`${where}: not a shard's report (run it with --shard I/N --cases C --json)`);
    }
    if (doc.budget.cases === null || doc.budget.seconds !== null || doc.cases !== doc.budget.cases) {
      throw new UsageError(`${where}: budget: expected every shard to run exactly its --cases, without --seconds, got ${doc.cases} cases of ${JSON.stringify(doc.budget)}`);
    }
    if (doc.corpus === true) throw new UsageError(`${where}: corpus: a --corpus makes cases depend on the cases before them; run the campaign without it`);
    if (doc.build !== build) {
      throw new UsageError(`${where}: build: expected ${build}, this program with the same --variants file, got ${doc.build ?? "none"}: merge with the build that ran the campaign`);
    }
    if (doc.coverage.features.length !== doc.coverage.total) {
      throw new UsageError(`${where}: coverage: expected every one of its ${doc.coverage.total} features with its hits, got ${doc.coverage.features.length}`);
    }
    for (const [what, get] of [
      ["vgicLab", (d: FuzzShardDoc) => d.vgicLab], ["seed", (d: FuzzShardDoc) => d.seed], ["params", (d: FuzzShardDoc) => d.params],
      ["the shard count", (d: FuzzShardDoc) => d.shard!.count], ["the --cases budget", (d: FuzzShardDoc) => d.budget!.cases],
    ] as const) {
      if (JSON.stringify(get(doc)) !== JSON.stringify(get(first.doc))) {
        throw new UsageError(`${where}: ${what} ${JSON.stringify(get(doc))} differs from ${printable(first.file)}'s ${JSON.stringify(get(first.doc))}`);
      }
    }
  }
  const count = first.doc.shard!.count;
  const byIndex = new Map<number, string>();
  const budget = first.doc.budget!.cases!;
  for (const { file, doc } of docs) {
    const i = doc.shard!.index;
    if (!(i >= 0 && i < count)) throw new UsageError(`--merge: ${printable(file)}: shard: expected an index from 0 to ${count - 1}, got ${i}`);
    const vc = doc.violatingCases!;
    for (let k = 0; k < vc.length; k++) {
      if (!Number.isInteger(vc[k]) || vc[k]! >= count * budget || (k > 0 && vc[k]! <= vc[k - 1]!)) {
        throw new UsageError(`--merge: ${printable(file)}: violatingCases: expected case indices below ${count * budget}, ascending, each once; got ${vc[k]} at ${k}`);
      }
    }
    if (byIndex.has(i)) throw new UsageError(`--merge: shard ${i}/${count} is both ${byIndex.get(i)} and ${printable(file)}`);
    byIndex.set(i, printable(file));
    for (const c of doc.violatingCases!) {
      if (c % count !== i) throw new UsageError(`--merge: ${printable(file)}: violatingCases: case ${c} is not one of shard ${i}/${count}'s`);
    }
  }
  const missing = Array.from({ length: count }, (_, k) => k).filter((k) => !byIndex.has(k));
  if (missing.length > 0) throw new UsageError(`--merge: shards ${missing.map((k) => `${k}/${count}`).join(", ")} are missing from ${printable(dir)}`);
  const features = new Map<number, number>();
  const counts = new Map<string, number>();
  for (const { doc } of docs) {
    for (const f of doc.coverage.features) features.set(f.id, (features.get(f.id) ?? 0) + f.hits);
    for (const s of doc.signatures) counts.set(s.signature, (counts.get(s.signature) ?? 0) + s.count);
  }
  return {
    target: first.doc.target, seed: first.doc.seed, params: first.doc.params, shards: count, files: docs.map((d) => d.file),
    cases: docs.reduce((n, d) => n + d.doc.cases, 0), ops: docs.reduce((n, d) => n + d.doc.ops, 0),
    elapsedMs: docs.reduce((n, d) => n + d.doc.elapsedMs, 0),
    features: [...features].sort((a, b) => a[0] - b[0]),
    violating: docs.flatMap((d) => d.doc.violatingCases!).sort((a, b) => a - b),
    counts,
  };
}

/** What a shard's document must share with the program that merges it: a
 *  hash of this program's code (the bundle that runs), of the --variants
 *  file, whose designs a case may pick, and of any other module the
 *  campaign loaded (explore's --scenarios file). */
export function buildFingerprint(program: Uint8Array | string, variantsFile: Uint8Array | string | null,
  ...modules: Array<Uint8Array | string | null>): string {
  const h = createHash("sha256");
  h.update(program);
  h.update(variantsFile === null ? "\0no variants file" : variantsFile);
  for (const m of modules) h.update(m === null ? "\0no module" : m);
  return h.digest("hex").slice(0, 16);
}
