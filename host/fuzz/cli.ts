// `vgic fuzz`: the command-line front end of the fuzzer. Exit status (EXIT):
// 1 when a finding was made (with a baseline: a signature is new or gone,
// or seen in another number of the same cases) or a replayed finding still
// fails, 0 when nothing was found, 2 for usage
// errors and malformed finding files.
// Planted faults are not reachable from here except by replaying a finding
// file that names them.

import type * as z from "zod";
import { checkAgainst } from "../io/issues.ts";
import {
  fuzz, formatProgress, getTarget, loadCorpus, rates, readFinding, replay, TARGETS, type Finding, type FuzzOptions, type FuzzStats,
} from "./engine.ts";
import { budgetWarning, changed, compareRuns, countsIncomparable, formatComparison, shardText, fuzzReport, loadBaseline, type Baseline } from "./baseline.ts";
import { FUZZ_REPLAY_FORMAT, FuzzOutput, type FuzzReplayOutput } from "./output.ts";
import { FindingError, inFile } from "./target.ts";
import { GIC_LATENCY_MAX } from "./vgic.ts";
import { fuzzParallel, fuzzWorkerData, runFuzzWorker } from "./parallel.ts";
import { EXIT, UsageError, VARIANTS_OPTION, intOption, stringOption, type CommandSpec, type Parsed } from "../options.ts";
import { Progress, progressIntervalMs } from "../progress.ts";
import { ensureDir } from "../io/files.ts";
import { printable } from "../io/input.ts";
import { VERSION } from "../version.ts";
import { loadVariants } from "../extend.ts";
import { shardOf } from "../explore/campaign.ts";
import { buildFingerprint, mergeFuzzShards, type FuzzShardDoc, type MergedCampaign } from "./campaign.ts";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const FUZZ_SPEC: CommandSpec = {
  name: "fuzz",
  usage: ["[--target hw|vgic] [--cases N | --seconds N] [--seed N] [options]", "--replay FILE"],
  summary: "Fuzz MMIO register accesses against the spec's invariants (hw) or booted guests under a vGIC design (vgic).",
  description: `A run is a function of its seed, budget and shard: --cases N gives the same cases, findings
and coverage on any machine; --seconds N runs for a wall-clock time instead.`,
  options: {
    target: { type: "string", arg: "T", help: `what to fuzz: ${Object.keys(TARGETS).join(" or ")} (hw)` },
    variant: { type: "string", arg: "NAME", help: "vgic only: the design (default a random one per case)" },
    "gic-latency": { type: "string", arg: "N", help: "vgic only: cycles from a GIC line change to the pCPUs seeing it (0);\nwith one, a maintenance IRQ can reach a trap's IRQ window and livelock" },
    ...VARIANTS_OPTION,
    cases: { type: "string", arg: "N", help: "run exactly N cases, split between the --workers: a budget\nthat does not depend on the machine's speed" },
    seconds: { type: "string", arg: "N", help: "run for N seconds of wall-clock time (10 when --cases is not given;\nwith both, whichever limit comes first)" },
    seed: { type: "string", arg: "N", help: "run seed (0); a run is a function of its seed, budget and shard\n(hw cases steer toward what earlier cases left uncovered)" },
    workers: { type: "string", arg: "N", help: "worker threads (1)" },
    shard: { type: "string", arg: "I/N", help: "take case indices i with i % N == I, one machine of a campaign\n(default: JOB_COMPLETION_INDEX of a Kubernetes Indexed Job with\nVGIC_SHARDS, its completions); see --merge" },
    out: { type: "string", arg: "DIR", help: "where findings are written (findings/)" },
    corpus: { type: "string", arg: "DIR", help: "keep cases that reached new coverage there, and start from them" },
    replay: { type: "string", arg: "FILE", help: "replay a finding file: exit 1 if it still fails, 0 if not" },
    merge: { type: "string", arg: "DIR", help: "join the --json reports of a sharded vgic campaign found in DIR into\nthe run one machine makes with every shard's cases (findings re-made\nfrom the failing cases, written under --out)" },
    baseline: { type: "string", arg: "FILE|DIR", help: "compare the finding signatures with a reference run's (a directory of\nfinding files, a finding file or a --json report): report, and fail\non, new and gone ones and, when both ran the same cases, ones seen\nin another number of cases" },
    "baseline-variant": { type: "string", arg: "NAME", help: "the reference is this variant fuzzed first with the same seed and\n--cases (vgic target; needs --variant and --cases)" },
    json: { type: "boolean", help: "one JSON document: the run's report (schemas/fuzz.schema.json, a valid\n--baseline) or the replay's (schemas/fuzz-replay.schema.json)" },
  },
};

/** The parts of the --json report beyond the signatures: rates, every
 *  finding reported (with its signature and file), and coverage per
 *  feature, per family and its growth curve. */
function coverageReport(o: FuzzOptions, s: FuzzStats & { curve?: Array<[number, number]>; features?: Array<[number, number]> },
  found: Array<{ finding: Finding; file: string | null }>): Record<string, unknown> {
  const t = getTarget(o.target);
  const name = (id: number) => t.featureName?.(id) ?? `feature ${id}`;
  const features = (s.features ?? []).map(([id, hits]) => ({ id, name: name(id), hits }));
  const families: Record<string, number> = {};
  for (const f of features) {
    const fam = f.name.split(" ")[0]!;
    families[fam] = (families[fam] ?? 0) + 1;
  }
  const r = rates(s);
  return {
    execsPerSec: Math.round(r.execsPerSec), opsPerSec: Math.round(r.opsPerSec),
    findings: found.map(({ finding: f, file }) => ({
      signature: f.signature, invariant: f.violation.invariant, message: f.violation.message, ops: f.ops.length, originalOps: f.originalOps, file,
    })),
    coverage: { total: s.coverage, families, features, ...(s.curve ? { curve: s.curve } : {}) },
  };
}

/** A finding as the console shows it: its signature, the violation, and
 *  every operation its file holds. */
function summary(f: Finding, file: string | null, improved: boolean, target: string): string {
  const t = getTarget(target);
  const head = improved
    ? `smaller case for ${f.signature}: ${f.ops.length} operations${file ? `, ${file} rewritten` : ""}\n`
    : `finding ${f.signature}: ${f.violation.message}\n` +
      `  ${f.ops.length} operations after shrinking (from ${f.originalOps})${file ? `, written to ${file}` : ""}\n`;
  return head + f.ops.map((op, i) => `  #${i} ${t.describeOp(f.config, op)}\n`).join("");
}

function replayCommand(file: string, json: boolean): number {
  const f = readFinding(file);
  // a schedule that does not fit the case is a bad file (FindingError, exit 2)
  const r = inFile(printable(file), () => replay(f));
  if (json) {
    const doc: z.infer<typeof FuzzReplayOutput> = {
      format: FUZZ_REPLAY_FORMAT, vgicLab: VERSION, file, signature: f.signature, recorded: f.violation, reproduced: r.reproduced,
      violation: r.violation ? { invariant: r.violation.invariant, message: r.violation.message, op: r.index } : null,
    };
    process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
  } else if (r.reproduced) {
    process.stdout.write(`reproduced: ${f.signature} at operation ${r.index}: ${r.violation!.message}\n`);
  } else {
    process.stdout.write(r.violation
      ? `different violation: ${r.violation.invariant} at operation ${r.index} (recorded ${f.violation.invariant} at ${f.violation.op}): ${r.violation.message}\n`
      : `not reproduced: no violation (recorded ${f.violation.invariant} at operation ${f.violation.op})\n`);
  }
  return r.violation ? EXIT.finding : EXIT.ok;
}

async function fuzzRun({ values }: Parsed, entry: URL): Promise<number> {
  const wo = fuzzWorkerData();
  if (wo) {
    await runFuzzWorker(wo, async () => {
      if (wo.variantsFile !== undefined) await loadVariants(wo.variantsFile);
    });
    return EXIT.ok;
  }
  const err = (s: string) => process.stderr.write(s);
  const variantsFile = stringOption(values, "variants");
  if (variantsFile !== undefined) await loadVariants(variantsFile);
  // a status line on a terminal is cleared before an error is printed
  let clearProgress = (): void => {};
  try {
    const json = values.json === true;
    const replayFile = stringOption(values, "replay");
    if (replayFile !== undefined) return replayCommand(replayFile, json);
    const mergeDir = stringOption(values, "merge");
    let merged: MergedCampaign | null = null;
    const build = buildFingerprint(readFileSync(fileURLToPath(entry)), variantsFile === undefined ? null : readFileSync(variantsFile));
    if (mergeDir !== undefined) {
      for (const k of ["target", "variant", "gic-latency", "seed", "cases", "seconds", "shard", "corpus", "workers", "baseline", "baseline-variant", "replay"]) {
        if (values[k] !== undefined) throw new UsageError(`--merge: --${k} not expected: the shards' reports say what the campaign ran`);
      }
      merged = mergeFuzzShards(mergeDir, (doc, file) => {
        const r = checkAgainst(FuzzOutput, doc);
        if (!("data" in r)) throw new UsageError(`--merge: ${printable(file)}: ${r.message}`);
        return r.data as FuzzShardDoc;
      }, build);
    }
    const target = merged?.target ?? stringOption(values, "target") ?? "hw";
    try {
      getTarget(target);
    } catch (e) {
      throw new UsageError(`--target: ${(e as Error).message}`);
    }
    // --shard I/N, or a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with VGIC_SHARDS
    const shard = merged !== null ? { index: 0, count: 1 } : shardOf(stringOption(values, "shard")) ?? { index: 0, count: 1 };
    const workers = intOption(values, "workers", 1, 256) ?? 1;
    const cases = intOption(values, "cases", 1, 1e12);
    // a case budget alone is the whole budget: no wall-clock limit cuts it
    const seconds = intOption(values, "seconds", 1, 1e7) ?? (cases === undefined ? 10 : undefined);
    const corpus = stringOption(values, "corpus");
    const options: FuzzOptions = {
      target,
      seed: merged?.seed ?? intOption(values, "seed", 0, 0xffffffff) ?? 0,
      ...(seconds !== undefined ? { seconds } : {}),
      ...(cases !== undefined ? { cases } : {}),
      shard,
      out: stringOption(values, "out") ?? "findings",
      ...(corpus !== undefined ? { corpus } : {}),
      ...(variantsFile !== undefined ? { variantsFile } : {}),
    };
    const variantParam = (name: string, flag: string): string => {
      const t = getTarget(target);
      if (!(t.params ?? []).includes("variant")) throw new UsageError(`${flag}: target '${target}' has no variants`);
      try {
        t.validateParams?.({ variant: name });
      } catch (e) {
        throw new UsageError(`${flag}: ${(e as Error).message}`);
      }
      return name;
    };
    const variant = stringOption(values, "variant");
    if (variant !== undefined) options.params = { variant: variantParam(variant, "--variant") };
    const latency = intOption(values, "gic-latency", 0, GIC_LATENCY_MAX);
    if (latency !== undefined) {
      if (!(getTarget(target).params ?? []).includes("latency")) throw new UsageError(`--gic-latency: target '${target}' has no GIC latency (vgic only)`);
      // (none is the default: a run with 0 is the run without the flag)
      if (latency > 0) options.params = { ...options.params, latency: String(latency) };
    }
    if (merged !== null) {
      // the single run of the campaign's budget; only its failing cases run
      options.params = merged.params;
      options.cases = merged.cases;
      delete options.seconds;
      options.indices = merged.violating;
    }
    const baseVariant = stringOption(values, "baseline-variant");
    const baselinePath = stringOption(values, "baseline");
    if (baseVariant !== undefined) {
      variantParam(baseVariant, "--baseline-variant");
      if (baselinePath !== undefined) throw new UsageError("--baseline-variant: give either --baseline or --baseline-variant, not both");
      if (variant === undefined) throw new UsageError("--baseline-variant: needs --variant, the variant compared with it");
      if (cases === undefined) throw new UsageError("--baseline-variant: needs --cases N, a budget both runs share");
      if (values.seconds !== undefined) throw new UsageError("--baseline-variant: the budget is --cases; --seconds would make it depend on speed");
      if (corpus !== undefined) throw new UsageError("--baseline-variant: --corpus changes which cases run; leave it out");
    }
    // directories, the corpus and a baseline file or directory are checked
    // before any case runs (and before workers start): a bad one costs nothing
    ensureDir(options.out!, "--out");
    if (options.corpus !== undefined) {
      ensureDir(options.corpus, "--corpus");
      loadCorpus(getTarget(target), options.corpus);
    }
    let baseline: Baseline | null = baselinePath !== undefined ? loadBaseline(baselinePath, target) : null;
    const progress = new Progress({ label: `fuzz ${target}`, tty: process.stderr.isTTY === true, write: err });
    clearProgress = () => progress.clear();
    const total = cases ?? null;
    options.progressMs = Math.min(500, progressIntervalMs());
    options.onProgress = (s) => progress.update(s.cases, total, "cases", formatProgress(s).replace(/^\d+ execs /, ""));
    let mergedInfo: { shards: number; files: string[] } | null = null;
    const shown = new Map<string, string | null>();
    // in the order found: by the case first found in (workers report as
    // they go; each takes its cases in order), a smaller case in its place
    const found: Array<{ finding: Finding; file: string | null; at: number }> = [];
    options.onFinding = (f, file, improved) => {
      if (!improved) found.push({ finding: f, file, at: f.case });
      else {
        const k = found.findIndex((x) => x.finding.signature === f.signature && x.file === file);
        if (k >= 0) found[k] = { finding: f, file, at: found[k]!.at };
      }
      // with a baseline, only what is new; with workers, one worker's file per signature
      if (baseline?.signatures[f.signature]) return;
      if (improved ? shown.get(f.signature) !== file : shown.has(f.signature)) return;
      shown.set(f.signature, file);
      progress.clear();
      err(summary(f, file, improved, target));
    };
    const finish = (s: FuzzStats & { curve?: Array<[number, number]>; features?: Array<[number, number]> }): number => {
      progress.clear();
      const incomparable = baseline ? countsIncomparable(baseline, options, s) : null;
      const c = baseline ? compareRuns(s.signatures, baseline, incomparable === null) : null;
      const warning = baseline ? budgetWarning(baseline, options, s) : null;
      if (warning) err(warning + "\n");
      // a bug of a kind the baseline shows too is told only by its count
      else if (c && incomparable !== null && c.unchanged.length > 0) {
        err(`note: the cases each signature showed in were not compared: ${incomparable}; ` +
          "a second bug whose findings share a signature with the baseline's goes unseen\n");
      }
      found.sort((a, b) => a.at - b.at);
      if (json) {
        const report = {
          ...fuzzReport(options, s, baseline && c ? { b: baseline, c } : undefined), ...coverageReport(options, s, found),
          build, ...(mergedInfo !== null ? { merged: mergedInfo } : {}),
        };
        process.stdout.write(JSON.stringify(report, null, 1) + "\n");
      } else {
        const r = rates(s);
        process.stdout.write(`${s.cases} executions, ${s.ops} checked operations in ${(s.elapsedMs / 1000).toFixed(1)} s: ` +
          `${Math.round(r.execsPerSec)} exec/s, ${Math.round(r.opsPerSec)} ops/s, ${s.findings} findings` +
          `${s.duplicates ? ` (${s.duplicates} repeats of them)` : ""}, coverage ${s.coverage}` +
          `${s.corpusAdded ? `, ${s.corpusAdded} corpus entries added` : ""}\n`);
        if (baseline && c) for (const l of formatComparison(c, baseline.source, s.signatures, baseline.signatures)) process.stdout.write(l + "\n");
      }
      if (c) return changed(c) ? EXIT.finding : EXIT.ok;
      return s.findings > 0 ? EXIT.finding : EXIT.ok;
    };
    const run = (o: FuzzOptions): Promise<FuzzStats> => (workers === 1 ? Promise.resolve(fuzz(o)) : fuzzParallel(entry, workers, o));
    if (baseVariant !== undefined) {
      // the reference: the same cases under the other variant, signatures only
      const { out: _o, onFinding: _f, ...rest } = options;
      const ref: FuzzOptions = { ...rest, params: { ...options.params, variant: baseVariant }, signaturesOnly: true };
      progress.note(`baseline: variant ${baseVariant}, ${cases} cases`);
      const b = await run(ref);
      baseline = {
        source: `variant ${baseVariant}`, signatures: b.signatures,
        run: { seed: ref.seed, cases: b.cases, params: ref.params ?? {}, shard: shardText(ref.shard), corpus: false, budgetCases: ref.cases ?? null },
      };
    }
    if (merged !== null) {
      const m = merged;
      progress.note(`merging ${m.shards} shards: ${m.cases} cases, re-running the ${m.violating.length} that failed`);
      // first the signatures alone: a merge refused writes no finding file
      const { out: _out, onFinding: _of, ...quiet } = options;
      const check = fuzz({ ...quiet, signaturesOnly: true });
      const tally = (xs: Array<[string, number]>) => xs.map(([k, n]) => `${k} x${n}`).sort().join("; ");
      const counted = tally([...m.counts]), again = tally(Object.entries(check.signatures).map(([k, v]) => [k, v.count]));
      if (counted !== again) {
        throw new UsageError(`--merge: the failing cases do not show what the shards counted: shards [${counted}], re-run [${again}]`);
      }
      const s = fuzz(options);
      mergedInfo = { shards: m.shards, files: m.files };
      return finish({ ...s, cases: m.cases, ops: m.ops, elapsedMs: m.elapsedMs, features: m.features, coverage: m.features.length, curve: undefined as never });
    }
    return finish(await run(options));
  } catch (e) {
    clearProgress();
    if (e instanceof FindingError) throw new UsageError(e.message);
    throw e;
  }
}

export const FUZZ_COMMAND = { spec: FUZZ_SPEC, run: fuzzRun };
