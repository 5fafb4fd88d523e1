// `vgic run WORKLOAD`: runs a workload file under one or every vGIC design.
// Each variant's result is written as soon as it is known (text on stdout,
// the report and trace files rewritten), so a later failure never loses an
// earlier result. Exit status (EXIT): 0 when every variant ran (its
// findings are results, reported); 1 when a variant has a finding of a kind
// named by --fail-on; 3 when a variant could not run or its accounting does
// not balance; 2 for a bad command line or workload file.

import { checkOutputFile, ensureDir, writeFileAtomic } from "../io/files.ts";
import { checkAgainst } from "../io/issues.ts";
import { placeTrace, runVariant, runVariantWorker, runVariantsOnThreads, runWorkerData, type VariantJob, type VariantOutcome } from "./parallel.ts";
import { InputError, JsonSyntaxError, parseJson, printable, readInputFile } from "../io/input.ts";
import { loadProfile, profilePath, ProfileError } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import { EXIT, UsageError, VARIANTS_OPTION, memoryOptions, parseCommand, stringOption, withVariants, type CommandSpec, type Parsed } from "../options.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import { Progress } from "../progress.ts";
import { traceKindsOf, type TraceKind } from "../sim/trace.ts";
import { eventBudget, MAX_DURATION, parseWorkload, workloadJsonSchemaText, type Workload } from "./schema.ts";
import { variantsFor, type Perf, type WorkloadResult } from "./runner.ts";
import { formatComparison, formatResult } from "./format.ts";
import { VERSION } from "../version.ts";
import { latencyCsv, renderReport, sourcesCsv } from "./report.ts";
import { RUN_FORMAT, RunOutput } from "./output.ts";
import { join } from "node:path";
import { parseFailOn, type FindingKind } from "../check/vgic.ts";

/** The finding kinds `vgic run --fail-on` knows (a workload's findings). */
export const RUN_FINDING_KINDS: readonly FindingKind[] = [
  "deadlock", "lock-inversion", "lockdep", "lost", "stuck-active", "stuck-migrating", "lr-mismatch", "dropped", "no-delivery", "stalled", "accounting", "duplicate", "list-race", "livelock", "error",
];

export interface CommandIo {
  out(s: string): void;
  err(s: string): void;
  /** stderr is a terminal (progress bar) */
  tty: boolean;
}

const processIo: CommandIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  tty: process.stderr.isTTY === true,
};

export const RUN_SPEC: CommandSpec = {
  name: "run",
  usage: ["WORKLOAD [options]", "--schema"],
  summary: "Run a workload file under one or every vGIC design and compare them.",
  description: `Each variant's result is printed, and the report and trace rewritten, as soon as it finishes.
The workload format: workloads/schema.json (vgic run --schema).`,
  maxPositionals: 1,
  options: {
    variant: { type: "string", arg: "NAME|all", help: "the design(s) to run (the file's, else all)" },
    ...VARIANTS_OPTION,
    seed: { type: "string", arg: "N", help: "seed of the devices' random numbers (the file's, else 1)" },
    duration: { type: "string", arg: "N", help: "simulated cycles after boot (the file's)" },
    profile: { type: "string", arg: "FILE", help: "a cost profile file (validated as data) instead of the workload's machine.profile" },
    memory: { type: "string", arg: "sc|weak", help: "memory model: weak buffers the hypervisor's shared stores and GICD writes\nper pCPU, each visible 40 cycles later unless a barrier drains it (sc)" },
    "lock-barrier": { type: "string", arg: "smp_mb|acq-rel", help: "weak memory: spinlocks carry smp_mb (Xen's arm), or only acquire/release (smp_mb)" },
    "fail-on": { type: "string", arg: "KINDS", help: "exit 1 when a variant has a finding of these kinds (comma-separated,\nor all; default none: findings are results)" },
    json: { type: "boolean", help: "one JSON document per variant, one per line, as each finishes\n(schemas/run.schema.json)" },
    trace: { type: "string", arg: "FILE", help: "write the Perfetto trace, streamed to disk as the run goes (several variants: one file\neach, the variant before the extension, trace.xen-4.8.json)" },
    workers: { type: "string", arg: "N", help: "run the variants on N threads, this one among them (1); results print in variant order" },
    "trace-events": { type: "string", arg: "GROUPS", help: "what the trace keeps, comma-separated: fn, irq, lock, mmio, line, idle,\nguest, step, memory, flow (interrupt instances' arrows), counter (LRs in use,\nlr_pending depth), other, or all (all)" },
    report: { type: "string", arg: "FILE", help: "write a self-contained HTML report" },
    csv: { type: "string", arg: "DIR", help: "write sources.csv and latency.csv (per-source statistics, latency buckets)" },
    schema: { type: "boolean", help: "print the workload file's JSON Schema and exit" },
  },
};

/** FILE, or FILE with the variant before its extension when several run. */
function perVariant(file: string, variant: string, many: boolean): string {
  if (!many) return file;
  const m = /^(.*?)(\.[^./\\]*)?$/.exec(file)!;
  return `${m[1]}.${variant}${m[2] ?? ""}`;
}

/** The run's cost profile: --profile FILE (validated as data), else the
 *  workload's bundled machine.profile; an error names the option or field. */
function resolveProfile(w: Workload, file: string | undefined, origin: string): CostProfile {
  try {
    return loadProfile(file !== undefined ? file : profilePath(w.machine.profile ?? "xgene-xen"));
  } catch (e) {
    if (!(e instanceof ProfileError)) throw e;
    throw new InputError(file !== undefined ? `--profile: ${e.message}` : `${origin}: machine.profile: ${e.message.replace(/^profile: name: /, "")}`);
  }
}

/** `vgic run ARGS`, writing to `io`; resolves to the exit status. */
export async function runCommand(args: string[], io: CommandIo = processIo): Promise<number> {
  let p: Parsed;
  try {
    p = parseCommand(RUN_SPEC, args, io.out);
    if (p.answered !== undefined) return p.answered;
    await withVariants(p.values);
  } catch (e) {
    io.err(`vgic run: ${(e as Error).message}\n`);
    return EXIT.usage;
  }
  return runParsed(p, io);
}

async function runParsed({ values, positionals }: Parsed, io: CommandIo, entry: URL | null = null): Promise<number> {
  if (values.schema) {
    if (positionals.length > 0) {
      io.err(`vgic run: --schema prints the format and runs nothing: no WORKLOAD expected\n`);
      return EXIT.usage;
    }
    io.out(workloadJsonSchemaText());
    return EXIT.ok;
  }
  if (positionals.length !== 1) {
    io.err(`vgic run: expected one WORKLOAD file; \`vgic run --help\` lists the options\n`);
    return EXIT.usage;
  }
  const file = positionals[0]!;
  const trace = stringOption(values, "trace");
  const traceEventsArg = stringOption(values, "trace-events");
  let traceKinds: ReadonlySet<TraceKind> | undefined;
  if (traceEventsArg !== undefined) {
    if (trace === undefined) throw new UsageError("--trace-events: only with --trace FILE");
    try {
      traceKinds = traceKindsOf(traceEventsArg);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const report = stringOption(values, "report");
  const csvDir = stringOption(values, "csv");
  const intOpt = (name: string, lo: number, hi: number): number | undefined => {
    const v = stringOption(values, name);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < lo || Number(v) > hi) {
      throw new InputError(`--${name}: got ${JSON.stringify(printable(v))}, expected an integer from ${lo} to ${hi}`);
    }
    return Number(v);
  };
  let w: Workload;
  let variants: string[];
  let seed: number | undefined, duration: number | undefined;
  let failOn: readonly FindingKind[] = [];
  let profile: CostProfile;
  let memory: MemoryOptions;
  let text: string;
  try {
    const f = stringOption(values, "fail-on");
    if (f !== undefined) failOn = parseFailOn(f, RUN_FINDING_KINDS);
    text = readInputFile(file);
    w = parseWorkload(text, printable(file));
    seed = intOpt("seed", 0, 0xffffffff);
    duration = intOpt("duration", 1, MAX_DURATION);
    if (duration !== undefined) {
      const over = eventBudget(w, duration);
      if (over !== null) throw new InputError(`--duration: got ${duration}, expected ${over.expected}`);
    }
    variants = variantsFor(w, stringOption(values, "variant"));
    profile = resolveProfile(w, stringOption(values, "profile"), printable(file));
    memory = memoryOptions(stringOption(values, "memory"), stringOption(values, "lock-barrier"));
    if (report !== undefined) checkOutputFile(report, "--report");
    if (csvDir !== undefined) ensureDir(csvDir, "--csv", false);
    if (trace !== undefined) for (const v of variants) checkOutputFile(perVariant(trace, v, variants.length > 1), "--trace");
  } catch (e) {
    io.err(`vgic run: ${(e as Error).message}\n`);
    return EXIT.usage;
  }

  const results: WorkloadResult[] = [];
  const perfs: Perf[] = [];
  let status: number = EXIT.ok;
  // the run's status: bad input outranks a failure, which outranks a finding
  const raise = (code: number): void => {
    const rank = (c: number) => (c === EXIT.usage ? 3 : c === EXIT.error ? 2 : c === EXIT.finding ? 1 : 0);
    if (rank(code) > rank(status)) status = code;
  };
  const many = variants.length > 1;
  const progress = new Progress({ label: `run ${w.name}`, tty: io.tty, write: io.err });
  const jobs: VariantJob[] = variants.map((variant) => ({
    variant, seed, duration, profile, memory,
    trace: trace === undefined ? null : perVariant(trace, variant, many), traceKinds: traceKinds === undefined ? null : [...traceKinds],
  }));
  // A variant's files are written, then its result printed, in variant
  // order: an interruption loses nothing that was printed.
  const deliver = (k: number, o: VariantOutcome): void => {
    const variant = variants[k]!;
    progress.clear();
    if (!o.ok) {
      io.err(`vgic run: ${variant}: ${o.message}\n`);
      raise(o.usage === true ? EXIT.usage : EXIT.error);
      return;
    }
    const { result, perf } = o;
    results.push(result);
    perfs.push(perf);
    const traceError = placeTrace(o, jobs[k]!);
    if (traceError !== null) {
      io.err(`vgic run: ${variant}: ${traceError}\n`);
      raise(EXIT.error);
    }
    // a file that cannot be written fails the run (exit 3), not the variants after it
    try {
      if (report !== undefined) writeFileAtomic(report, renderReport(results, perfs));
      if (csvDir !== undefined) writeCsv(csvDir, results);
    } catch (e) {
      io.err(`vgic run: ${variant}: ${(e as Error).message}\n`);
      raise(EXIT.error);
    }
    // --json: one document per finished variant
    if (values.json) io.out(JSON.stringify({ format: RUN_FORMAT, vgicLab: VERSION, workload: w.name, results: [result], perf: [perf] }) + "\n");
    else io.out(formatResult(result, perf) + "\n\n");
    const failed = result.findings.filter((x) => failOn.includes(x.kind));
    if (failed.length > 0) {
      raise(EXIT.finding);
      io.err(`vgic run: ${variant}: fails on ${[...new Set(failed.map((x) => x.kind))].join(", ")}\n`);
    }
    if (result.interrupts.accountingErrors.length > 0) raise(EXIT.error);
  };
  const workers = Math.min(intOpt("workers", 1, 64) ?? 1, variants.length);
  if (workers <= 1 || entry === null) {
    for (const [k, variant] of variants.entries()) {
      if (many) progress.note(`variant ${k + 1} of ${variants.length} (${variant})`);
      const pct = (f: number) => progress.update(Math.round(f * 100), 100, "% simulated", `variant ${k + 1} of ${variants.length} (${variant})`);
      deliver(k, runVariant(w, jobs[k]!, pct));
    }
  } else {
    progress.note(`${variants.length} variants on ${workers} threads`);
    const outcomes: Array<VariantOutcome | undefined> = new Array(variants.length);
    let next = 0, finished = 0;
    const { loadFailure, died } = await runVariantsOnThreads(entry, workers, text, printable(file), stringOption(values, "variants") ?? null, jobs, (k) => runVariant(w, jobs[k]!), (k, o) => {
      outcomes[k] = o;
      progress.update(++finished, variants.length, "variants", `last ${variants[k]}`);
      for (; next < variants.length && outcomes[next] !== undefined; next++) deliver(next, outcomes[next]!);
    });
    progress.clear();
    if (loadFailure !== null) {
      io.err(`vgic run: ${loadFailure.error}\n`);
      raise(loadFailure.usage ? EXIT.usage : EXIT.error);
    }
    // a worker that died between variants: every result is here, but the
    // run did not go as it should (as explore reports a crashed worker)
    for (const d of died) {
      io.err(`vgic run: ${d}\n`);
      raise(EXIT.error);
    }
  }
  if (!values.json && results.length > 1) io.out(formatComparison(results) + "\n");
  return status;
}

export const RUN_COMMAND = {
  spec: RUN_SPEC,
  run: async (p: Parsed, entry?: URL): Promise<number> => {
    const wd = runWorkerData();
    if (wd !== null) {
      await runVariantWorker(wd);
      return EXIT.ok;
    }
    await withVariants(p.values);
    return runParsed(p, processIo, entry ?? null);
  },
};

/** sources.csv and latency.csv in DIR (made if missing). */
export function writeCsv(dir: string, results: readonly WorkloadResult[]): void {
  ensureDir(dir, "--csv");
  writeFileAtomic(join(dir, "sources.csv"), sourcesCsv(results));
  writeFileAtomic(join(dir, "latency.csv"), latencyCsv(results));
}

export const REPORT_SPEC: CommandSpec = {
  name: "report",
  usage: ["RESULT.json... [--out FILE] [--csv DIR] [--title TEXT]"],
  summary: "Merge several `vgic run --json` results (seeds, variants, machines) into one HTML report, and CSV.",
  description: "Each file is checked against schemas/run.schema.json; results keep their order, labelled by variant\n(and workload and seed where those differ).",
  maxPositionals: 1000,
  options: {
    out: { type: "string", arg: "FILE", help: "the HTML report (report.html)" },
    csv: { type: "string", arg: "DIR", help: "also write sources.csv and latency.csv there" },
    title: { type: "string", arg: "TEXT", help: "the report's title (vgic report: WORKLOADS)" },
  },
};

function reportRun({ values, positionals }: Parsed): number {
  if (positionals.length === 0) throw new UsageError("expected at least one RESULT.json (from vgic run --json)");
  const out = stringOption(values, "out") ?? "report.html";
  const csvDir = stringOption(values, "csv");
  checkOutputFile(out, "--out");
  if (csvDir !== undefined) ensureDir(csvDir, "--csv", false);
  const results: WorkloadResult[] = [];
  const perfs: Perf[] = [];
  const versions = new Set<string>();
  for (const file of positionals) {
    const text = readInputFile(file);
    // vgic run --json writes one document per variant, one per line
    const lines = text.split("\n").map((l, n) => ({ l, n: n + 1 })).filter(({ l }) => l.trim() !== "");
    if (lines.length === 0) throw new UsageError(`${printable(file)}: empty, expected vgic run --json output`);
    for (const { l, n } of lines) {
      let doc: unknown;
      try {
        doc = parseJson(l);
      } catch (e) {
        if (!(e instanceof JsonSyntaxError)) throw e;
        throw new UsageError(`${printable(file)}: not valid JSON: ${e.reason} (at line ${n}, column ${e.column}; each line is one document)`);
      }
      const r = checkAgainst(RunOutput, doc);
      if (!("data" in r)) throw new UsageError(`${printable(file)}: line ${n}: ${r.message} (a vgic run --json document, ${RUN_FORMAT})`);
      versions.add(r.data.vgicLab);
      results.push(...(r.data.results as unknown as WorkloadResult[]));
      perfs.push(...r.data.perf);
    }
  }
  // results of several versions of the tool compare the tools as well
  if (versions.size > 1) process.stderr.write(`vgic report: note: the results come from vgic-lab ${[...versions].sort().join(", ")}: a difference between them may be the tool's, not the design's\n`);
  const workloads = [...new Set(results.map((x) => x.workload))];
  writeFileAtomic(out, renderReport(results, perfs, { title: stringOption(values, "title") ?? `vgic report: ${workloads.join(", ")}` }));
  if (csvDir !== undefined) writeCsv(csvDir, results);
  process.stdout.write(`${results.length} results from ${positionals.length} file${positionals.length > 1 ? "s" : ""}: ${out}${csvDir !== undefined ? `, ${join(csvDir, "sources.csv")}, ${join(csvDir, "latency.csv")}` : ""}\n`);
  return EXIT.ok;
}

export const REPORT_COMMAND = { spec: REPORT_SPEC, run: reportRun };
