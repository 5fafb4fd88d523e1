// Matrix campaigns across machines: each machine explores the cells whose
// index i has i % N == I (its shard, from --shard I/N or from the
// environment of a Kubernetes Indexed Job: JOB_COMPLETION_INDEX, with the
// count in VGIC_SHARDS), writes `explore --matrix --json`, and
// `explore --merge DIR` joins the shards' documents into the matrix a
// single machine would have produced with the same options: cells are
// explored independently, from the same seed, whoever runs them.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { InputError, printable, readJsonFile } from "../io/input.ts";
import { UsageError } from "../options.ts";

export interface Shard { index: number; count: number }

/** The shard to run: --shard I/N, else JOB_COMPLETION_INDEX with VGIC_SHARDS, else none. */
export function shardOf(arg: string | undefined, env: NodeJS.ProcessEnv = process.env): Shard | null {
  const parse = (i: string, n: string, what: string): Shard => {
    if (!/^\d+$/.test(i) || !/^\d+$/.test(n) || Number(n) < 1 || Number(n) > 10_000 || Number(i) >= Number(n)) {
      throw new UsageError(`${what}: expected I/N with 0 <= I < N <= 10000, got '${printable(`${i}/${n}`)}'`);
    }
    return { index: Number(i), count: Number(n) };
  };
  if (arg !== undefined) {
    const m = /^([^/]*)\/([^/]*)$/.exec(arg);
    if (m === null) throw new UsageError(`--shard: expected I/N, got '${printable(arg)}'`);
    return parse(m[1]!, m[2]!, "--shard");
  }
  const i = env.JOB_COMPLETION_INDEX;
  if (i === undefined) return null;
  const n = env.VGIC_SHARDS;
  if (n === undefined) throw new UsageError("JOB_COMPLETION_INDEX is set but VGIC_SHARDS is not: set it to the Job's completions");
  return parse(i, n, "JOB_COMPLETION_INDEX/VGIC_SHARDS");
}

/** A sharded matrix document, as far as merging needs it. */
export interface ShardDoc {
  vgicLab: string;
  /** the program's and its modules' fingerprint (buildFingerprint; absent
   *  from documents made before it was recorded) */
  build?: string;
  shard: Shard;
  cellsTotal: number;
  options: Record<string, unknown>;
  wallMs: number;
  workers: number;
  cells: Array<{ index: number } & Record<string, unknown>>;
}

/** Every *.json of `dir`, parsed by `parse` (which names the field of a bad
 *  one), in name order; none, or one that cannot be read, is a usage error. */
export function readShardFiles<D>(dir: string, parse: (doc: unknown, file: string) => D): Array<{ file: string; doc: D }> {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch (e) {
    throw new UsageError(`--merge: cannot read ${printable(dir)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (names.length === 0) throw new UsageError(`--merge: ${printable(dir)} holds no .json shard`);
  return names.map((n) => {
    const file = join(dir, n);
    let raw: unknown;
    try {
      raw = readJsonFile(file);
    } catch (e) {
      if (e instanceof InputError) throw new UsageError(`--merge: ${e.message}`);
      throw e;
    }
    return { file, doc: parse(raw, file) };
  });
}

/** Read every *.json of `dir` as a shard of one campaign and join them:
 *  same version, options and shard count, every cell exactly once. */
export function mergeShards(dir: string, parse: (doc: unknown, file: string) => ShardDoc): ShardDoc {
  const docs = readShardFiles(dir, parse);
  const first = docs[0]!;
  const same = (what: string, get: (d: ShardDoc) => unknown) => {
    for (const { file, doc } of docs) {
      if (JSON.stringify(get(doc)) !== JSON.stringify(get(first.doc))) {
        throw new UsageError(`--merge: ${printable(file)}: ${what} ${JSON.stringify(get(doc))} differs from ${printable(first.file)}'s ${JSON.stringify(get(first.doc))}`);
      }
    }
  };
  same("vgicLab", (d) => d.vgicLab);
  same("build", (d) => d.build);
  same("options", (d) => d.options);
  same("the shard count", (d) => d.shard.count);
  same("cellsTotal", (d) => d.cellsTotal);
  const total = first.doc.cellsTotal;
  const seen = new Map<number, string>();
  const cells: ShardDoc["cells"] = [];
  for (const { file, doc } of docs) {
    for (const c of doc.cells) {
      if (c.index % doc.shard.count !== doc.shard.index || c.index >= total) {
        throw new UsageError(`--merge: ${printable(file)}: cell ${c.index} is not one of shard ${doc.shard.index}/${doc.shard.count}'s`);
      }
      if (seen.has(c.index)) throw new UsageError(`--merge: cell ${c.index} is in both ${seen.get(c.index)} and ${printable(file)}`);
      seen.set(c.index, printable(file));
      cells.push(c);
    }
  }
  const missing = Array.from({ length: total }, (_, k) => k).filter((k) => !seen.has(k));
  if (missing.length > 0) throw new UsageError(`--merge: cells ${missing.slice(0, 10).join(", ")}${missing.length > 10 ? ", ..." : ""} are in no shard of ${printable(dir)}`);
  cells.sort((a, b) => a.index - b.index);
  return {
    ...first.doc, shard: { index: 0, count: 1 }, cells,
    wallMs: Math.max(...docs.map((d) => d.doc.wallMs)), workers: docs.reduce((n, d) => n + d.doc.workers, 0),
  };
}
