// `vgic fuzz`: the command-line front end of the fuzzer. Exit status 1 when a
// finding was made (or a replay reproduced one; with a baseline, when a
// signature is new or gone), 0 otherwise, 2 for usage errors. Planted faults are not reachable from here except by replaying a
// finding file that names them.

import { parseCliArgs } from "../io/args.ts";
import { ensureDir } from "../io/files.ts";
import { InputError, printable } from "../io/input.ts";
import {
  fuzz, formatProgress, getTarget, loadCorpus, rates, readFinding, replay, type Finding, type FuzzOptions, type FuzzStats,
} from "./engine.ts";
import { budgetWarning, changed, compareSignatures, formatComparison, fuzzReport, loadBaseline, type Baseline } from "./baseline.ts";
import { FindingError } from "./target.ts";
import { fuzzParallel, fuzzWorkerData, runFuzzWorker } from "./parallel.ts";

export const FUZZ_USAGE = `usage: vgic fuzz [--target hw|vgic] [--variant NAME] [--seconds N] [--cases N] [--seed N] [--workers N]
                 [--shard I/N] [--out DIR] [--corpus DIR] [--replay FILE]
                 [--baseline FILE|DIR | --baseline-variant NAME] [--json]
  --target T     what to fuzz: hw (the hardware model's registers) or vgic
                 (guests under a vGIC design, devices, random/pct schedules)
  --variant V    vgic only: the design (xen-4.8, v3-posted, v3-fixed, xen-4.9, new-vgic;
                 default a random one per case)
  --seconds N    run time (10)
  --cases N      stop after N cases (each worker's, with --workers), whichever
                 limit comes first: a budget that does not depend on speed
  --seed N       run seed (0); a run is a function of its seed, budget and
                 shard (hw cases steer toward what earlier cases left uncovered)
  --workers N    worker threads (1)
  --shard I/N    take case indices i with i % N == I (merge runs across machines)
  --out DIR      where findings are written (findings/)
  --corpus DIR   keep cases that reached new coverage there, and start from them
  --replay FILE  replay a finding file and report whether it reproduces
  --baseline P   compare the finding signatures with a reference run's: a
                 directory of finding files (an earlier --out), a finding file
                 or a --json report; report, and fail on, only new and gone
  --baseline-variant NAME
                 the reference is this variant fuzzed first with the same
                 seed and --cases (vgic target; needs --variant and --cases)
  --json         print the run's report as JSON on stdout: every signature
                 with its count and file (new, gone and unchanged with a
                 baseline), the findings, coverage per feature (name and
                 hits), per family, and its growth curve (one worker only)
`;

class FuzzUsageError extends Error {}

/** The --json report of a run. */
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

function int(v: string | undefined, name: string, lo: number, hi: number, dflt: number): number {
  if (v === undefined) return dflt;
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v) || Number(v) < lo || Number(v) > hi) {
    throw new FuzzUsageError(`--${name}: expected an integer from ${lo} to ${hi}, got '${printable(v)}'`);
  }
  return Number(v);
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

/** Run the command; returns the exit status, or a promise of it with workers. */
export function fuzzCommand(args: string[], entry: URL): number | Promise<number> {
  const wo = fuzzWorkerData();
  if (wo) {
    runFuzzWorker(wo);
    return 0;
  }
  const err = (s: string) => process.stderr.write(s);
  try {
    const { values, positionals } = parseCliArgs({
      args,
      options: {
        target: { type: "string" }, variant: { type: "string" }, seconds: { type: "string" }, cases: { type: "string" },
        seed: { type: "string" },
        workers: { type: "string" }, shard: { type: "string" }, out: { type: "string" },
        corpus: { type: "string" }, replay: { type: "string" }, help: { type: "boolean", short: "h" },
        baseline: { type: "string" }, "baseline-variant": { type: "string" }, json: { type: "boolean" },
      },
      allowPositionals: true,
    });
    if (values.help) { process.stdout.write(FUZZ_USAGE); return 0; }
    if (positionals.length > 0) throw new FuzzUsageError(`fuzz: unexpected argument '${printable(positionals[0]!)}'`);
    if (values.replay !== undefined) {
      const f = readFinding(values.replay);
      // a schedule that does not fit the case is a bad file (FindingError, exit 2)
      const r = replay(f);
      if (r.reproduced) {
        process.stdout.write(`reproduced: ${f.signature} at operation ${r.index}: ${r.violation!.message}\n`);
        return 1;
      }
      process.stdout.write(r.violation
        ? `different violation: ${r.violation.invariant} at operation ${r.index} (recorded ${f.violation.invariant} at ${f.violation.op}): ${r.violation.message}\n`
        : `not reproduced: no violation (recorded ${f.violation.invariant} at operation ${f.violation.op})\n`);
      return r.violation ? 1 : 0;
    }
    const target = values.target ?? "hw";
    try {
      getTarget(target);
    } catch (e) {
      throw new FuzzUsageError(`--target: ${(e as Error).message}`);
    }
    let shard = { index: 0, count: 1 };
    if (values.shard !== undefined) {
      const m = /^(\d+)\/(\d+)$/.exec(values.shard);
      if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) {
        throw new FuzzUsageError(`--shard: expected I/N with 0 <= I < N, got '${values.shard}'`);
      }
      shard = { index: Number(m[1]), count: Number(m[2]) };
    }
    const workers = int(values.workers, "workers", 1, 256, 1);
    const options: FuzzOptions = {
      target,
      seed: int(values.seed, "seed", 0, 0xffffffff, 0),
      seconds: int(values.seconds, "seconds", 0, 1e7, 10),
      ...(values.cases !== undefined ? { cases: int(values.cases, "cases", 1, 1e12, 1) } : {}),
      shard,
      out: values.out ?? "findings",
      ...(values.corpus !== undefined ? { corpus: values.corpus } : {}),
    };
    const variantParam = (name: string, flag: string): string => {
      const t = getTarget(target);
      if (!(t.params ?? []).includes("variant")) throw new FuzzUsageError(`${flag}: target '${target}' has no variants`);
      try {
        t.validateParams?.({ variant: name });
      } catch (e) {
        throw new FuzzUsageError(`${flag}: ${(e as Error).message}`);
      }
      return name;
    };
    if (values.variant !== undefined) options.params = { variant: variantParam(values.variant, "--variant") };
    const baseVariant = values["baseline-variant"];
    if (baseVariant !== undefined) {
      variantParam(baseVariant, "--baseline-variant");
      if (values.baseline !== undefined) throw new FuzzUsageError("--baseline-variant: give either --baseline or --baseline-variant, not both");
      if (values.variant === undefined) throw new FuzzUsageError("--baseline-variant: needs --variant, the variant compared with it");
      if (options.cases === undefined) throw new FuzzUsageError("--baseline-variant: needs --cases N, a budget both runs share");
      if (values.seconds !== undefined) throw new FuzzUsageError("--baseline-variant: the budget is --cases; --seconds would make it depend on speed");
      if (values.corpus !== undefined) throw new FuzzUsageError("--baseline-variant: --corpus changes which cases run; leave it out");
      delete options.seconds;
    }
    // directories, the corpus and a baseline file or directory are checked
    // before any case runs (and before workers start): a bad one costs nothing
    ensureDir(options.out!, "--out");
    if (options.corpus !== undefined) {
      ensureDir(options.corpus, "--corpus");
      loadCorpus(getTarget(target), options.corpus);
    }
    let baseline: Baseline | null = values.baseline !== undefined ? loadBaseline(values.baseline, target) : null;
    const tty = process.stderr.isTTY === true;
    const shown = new Map<string, string | null>();
    const found: Array<{ finding: Finding; file: string | null }> = [];
    options.onProgress = (s) => { if (tty) err(`\r${formatProgress(s)}\x1b[K`); };
    options.onFinding = (f, file, improved) => {
      if (!improved) found.push({ finding: f, file });
      else {
        const k = found.findIndex((x) => x.finding.signature === f.signature && x.file === file);
        if (k >= 0) found[k] = { finding: f, file };
      }
      // with a baseline, only what is new; with workers, one worker's file per signature
      if (baseline?.signatures[f.signature]) return;
      if (improved ? shown.get(f.signature) !== file : shown.has(f.signature)) return;
      shown.set(f.signature, file);
      if (tty) err("\r\x1b[K");
      err(summary(f, file, improved, target));
    };
    const finish = (s: FuzzStats & { curve?: Array<[number, number]>; features?: Array<[number, number]> }): number => {
      if (tty) err("\r\x1b[K");
      const c = baseline ? compareSignatures(Object.keys(s.signatures), Object.keys(baseline.signatures)) : null;
      const warning = baseline ? budgetWarning(baseline, options, s) : null;
      if (warning) err(warning + "\n");
      if (values.json) {
        const report = { ...fuzzReport(options, s, baseline && c ? { b: baseline, c } : undefined), ...coverageReport(options, s, found) };
        process.stdout.write(JSON.stringify(report, null, 1) + "\n");
      } else {
        const r = rates(s);
        process.stdout.write(`${s.cases} executions, ${s.ops} checked operations in ${(s.elapsedMs / 1000).toFixed(1)} s: ` +
          `${Math.round(r.execsPerSec)} exec/s, ${Math.round(r.opsPerSec)} ops/s, ${s.findings} findings` +
          `${s.duplicates ? ` (${s.duplicates} repeats of them)` : ""}, coverage ${s.coverage}` +
          `${s.corpusAdded ? `, ${s.corpusAdded} corpus entries added` : ""}\n`);
        if (baseline && c) for (const l of formatComparison(c, baseline.source, s.signatures, baseline.signatures)) process.stdout.write(l + "\n");
      }
      if (c) return changed(c) ? 1 : 0;
      return s.findings > 0 ? 1 : 0;
    };
    const run = (o: FuzzOptions): FuzzStats | Promise<FuzzStats> => (workers === 1 ? fuzz(o) : fuzzParallel(entry, workers, o));
    if (baseVariant !== undefined) {
      // the reference: the same cases under the other variant, signatures only
      const { out: _o, onFinding: _f, ...rest } = options;
      const ref: FuzzOptions = { ...rest, params: { ...options.params, variant: baseVariant }, signaturesOnly: true };
      if (tty) err(`baseline: variant ${baseVariant}, ${options.cases} cases\n`);
      const then = (b: FuzzStats) => {
        baseline = { source: `variant ${baseVariant}`, signatures: b.signatures };
        return run(options);
      };
      const b = run(ref);
      if (b instanceof Promise) return b.then(then).then(finish);
      const main = then(b);
      return main instanceof Promise ? main.then(finish) : finish(main);
    }
    const main = run(options);
    return main instanceof Promise ? main.then(finish) : finish(main);
  } catch (e) {
    if (e instanceof FuzzUsageError || e instanceof FindingError || e instanceof InputError ||
        (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) {
      err(`vgic fuzz: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
