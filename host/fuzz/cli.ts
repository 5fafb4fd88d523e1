// `vgic fuzz`: the command-line front end of the fuzzer. Exit status 1 when a
// finding was made (or a replay reproduced one), 0 otherwise, 2 for usage
// errors. Planted faults are not reachable from here except by replaying a
// finding file that names them.

import { parseCliArgs } from "../io/args.ts";
import { ensureDir } from "../io/files.ts";
import { InputError, printable } from "../io/input.ts";
import {
  fuzz, formatProgress, getTarget, loadCorpus, rates, readFinding, replay, type Finding, type FuzzOptions, type FuzzStats,
} from "./engine.ts";
import { FindingError } from "./target.ts";
import { fuzzParallel, fuzzWorkerData, runFuzzWorker } from "./parallel.ts";

export const FUZZ_USAGE = `usage: vgic fuzz [--target hw|vgic] [--variant NAME] [--seconds N] [--cases N] [--seed N] [--workers N]
                 [--shard I/N] [--out DIR] [--corpus DIR] [--replay FILE] [--json]
  --target T     what to fuzz: hw (the hardware model's registers) or vgic
                 (guests under a vGIC design, devices, random/pct schedules)
  --variant V    vgic only: the design (xen-4.8, v3-posted, v3-fixed, xen-4.9;
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
  --json         print the run's report as JSON on stdout: findings, coverage
                 per feature (name and hits), per family, and its growth curve
                 (checked operations, features; one worker only)
`;

class FuzzUsageError extends Error {}

/** The --json report of a run. */
function jsonReport(o: FuzzOptions, s: FuzzStats & { curve?: Array<[number, number]>; features?: Array<[number, number]> },
  found: Array<{ finding: Finding; file: string | null }>): unknown {
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
    target: o.target, seed: o.seed, cases: s.cases, ops: s.ops, elapsedMs: s.elapsedMs,
    execsPerSec: Math.round(r.execsPerSec), opsPerSec: Math.round(r.opsPerSec),
    findings: found.map(({ finding: f, file }) => ({
      invariant: f.violation.invariant, message: f.violation.message, ops: f.ops.length, originalOps: f.originalOps, file,
    })),
    duplicates: s.duplicates,
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

function summary(f: Finding, file: string | null): string {
  return `finding: ${f.violation.invariant}: ${f.violation.message}\n` +
    `  ${f.ops.length} operations after shrinking (from ${f.originalOps})${file ? `, written to ${file}` : ""}\n` +
    f.trace.map((t) => `  ${t}\n`).join("");
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
        corpus: { type: "string" }, replay: { type: "string" }, json: { type: "boolean" }, help: { type: "boolean", short: "h" },
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
        process.stdout.write(`reproduced: ${r.violation!.invariant} at operation ${r.index}: ${r.violation!.message}\n`);
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
    if (values.variant !== undefined) {
      const t = getTarget(target);
      if (!(t.params ?? []).includes("variant")) throw new FuzzUsageError(`--variant: target '${target}' has no variants`);
      try {
        t.validateParams?.({ variant: values.variant });
      } catch (e) {
        throw new FuzzUsageError(`--variant: ${(e as Error).message}`);
      }
      options.params = { variant: values.variant };
    }
    // directories and the corpus are checked before any case runs (and
    // before workers start)
    ensureDir(options.out!, "--out");
    if (options.corpus !== undefined) {
      ensureDir(options.corpus, "--corpus");
      loadCorpus(getTarget(target), options.corpus);
    }
    const tty = process.stderr.isTTY === true;
    const found: Array<{ finding: Finding; file: string | null }> = [];
    options.onProgress = (s) => { if (tty) err(`\r${formatProgress(s)}\x1b[K`); };
    options.onFinding = (f, file) => { found.push({ finding: f, file }); if (tty) err("\r\x1b[K"); err(summary(f, file)); };
    const finish = (s: FuzzStats & { curve?: Array<[number, number]>; features?: Array<[number, number]> }): number => {
      if (tty) err("\r\x1b[K");
      if (values.json) {
        process.stdout.write(JSON.stringify(jsonReport(options, s, found), null, 1) + "\n");
        return s.findings > 0 ? 1 : 0;
      }
      const r = rates(s);
      process.stdout.write(`${s.cases} executions, ${s.ops} checked operations in ${(s.elapsedMs / 1000).toFixed(1)} s: ` +
        `${Math.round(r.execsPerSec)} exec/s, ${Math.round(r.opsPerSec)} ops/s, ${s.findings} findings` +
        `${s.duplicates ? ` (${s.duplicates} repeats of them)` : ""}, coverage ${s.coverage}` +
        `${s.corpusAdded ? `, ${s.corpusAdded} corpus entries added` : ""}\n`);
      return s.findings > 0 ? 1 : 0;
    };
    if (workers === 1) return finish(fuzz(options));
    return fuzzParallel(entry, workers, options).then(finish);
  } catch (e) {
    if (e instanceof FuzzUsageError || e instanceof FindingError || e instanceof InputError ||
        (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) {
      err(`vgic fuzz: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
