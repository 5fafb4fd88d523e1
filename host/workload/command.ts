// `vgic run WORKLOAD [--variant NAME|all] [--seed N] [--json] [--trace FILE]
// [--report FILE] [--schema]`: runs a workload file under one or every vGIC
// design. Each variant's result is written as soon as it is known (the report
// and trace files rewritten through a temporary file and a rename, then text
// or one JSON document on stdout), so a later failure or an interruption
// never loses an earlier result. Every input (the file, the options, the
// profile, the output paths) is checked before the first variant runs.
// Exit status: 0; 1 when a variant could not run,
// its accounting did not balance, or it has a finding of a kind named by
// --fail-on; 2 for a bad command line or workload file.

import { parseCliArgs } from "../io/args.ts";
import { checkOutputFile, writeFileAtomic } from "../io/files.ts";
import { InputError, printable, readTextFile } from "../io/input.ts";
import { loadProfile, profilePath, ProfileError } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import { eventBudget, MAX_DURATION, parseWorkload, workloadJsonSchemaText, type Workload } from "./schema.ts";
import { runWorkload, variantsFor, type Perf, type WorkloadResult } from "./runner.ts";
import { formatComparison, formatResult } from "./format.ts";
import { VERSION } from "../version.ts";
import { renderReport } from "./report.ts";
import { parseFailOn, type FindingKind } from "../check/vgic.ts";

/** The finding kinds `vgic run --fail-on` knows (a workload's findings). */
export const RUN_FINDING_KINDS: readonly FindingKind[] = [
  "deadlock", "lock-inversion", "lockdep", "lost", "stuck-active", "lr-mismatch", "dropped", "no-delivery", "stalled", "accounting", "list-race", "error",
];

/** `vgic run --json`: schemas/run.schema.json */
export const RUN_FORMAT = "vgic-run/1";

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

const USAGE = "usage: vgic run WORKLOAD [--variant NAME|all] [--seed N] [--duration N] [--fail-on KINDS] [--profile FILE] [--json] [--trace FILE] [--report FILE]\n       vgic run --schema   (print the workload JSON Schema)\n";

/** FILE, or FILE with the variant before its extension when several run. */
function perVariant(file: string, variant: string, many: boolean): string {
  if (!many) return file;
  const m = /^(.*?)(\.[^./\\]*)?$/.exec(file)!;
  return `${m[1]}.${variant}${m[2] ?? ""}`;
}

class Progress {
  private readonly t0 = Date.now();
  private shown = false;
  constructor(private readonly io: CommandIo, private readonly label: string) {}
  update(f: number): void {
    if (!this.io.tty || Date.now() - this.t0 < 2000) return;
    this.shown = true;
    const w = 30, k = Math.round(f * w);
    this.io.err(`\r[${"#".repeat(k)}${"-".repeat(w - k)}] ${(f * 100).toFixed(0).padStart(3)}% ${this.label}`);
  }
  done(): void { if (this.shown) this.io.err("\r\x1b[K"); }
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

export function runCommand(args: string[], io: CommandIo = processIo): number {
  let values, positionals;
  try {
    ({ values, positionals } = parseCliArgs({
      args, allowPositionals: true,
      options: {
        variant: { type: "string" }, seed: { type: "string" }, json: { type: "boolean" },
        trace: { type: "string" }, report: { type: "string" }, schema: { type: "boolean" }, duration: { type: "string" },
        "fail-on": { type: "string" }, profile: { type: "string" },
      },
    }));
  } catch (e) {
    io.err(`vgic run: ${(e as Error).message}\n${USAGE}`);
    return 2;
  }
  if (values.schema) {
    io.out(workloadJsonSchemaText());
    return 0;
  }
  if (positionals.length !== 1) {
    io.err(`vgic run: expected one WORKLOAD file\n${USAGE}`);
    return 2;
  }
  const file = positionals[0]!;
  const intOpt = (name: string, v: string | undefined, lo: number, hi: number): number | undefined => {
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
  try {
    if (values["fail-on"] !== undefined) failOn = parseFailOn(values["fail-on"], RUN_FINDING_KINDS);
    let text: string;
    try {
      text = readTextFile(file);
    } catch (e) {
      io.err(`vgic run: cannot read ${printable(file)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}\n`);
      return 2;
    }
    w = parseWorkload(text, printable(file));
    seed = intOpt("seed", values.seed, 0, 0xffffffff);
    duration = intOpt("duration", values.duration, 1, MAX_DURATION);
    if (duration !== undefined) {
      const over = eventBudget(w, duration);
      if (over !== null) throw new InputError(`--duration: got ${duration}, expected ${over.expected}`);
    }
    variants = variantsFor(w, values.variant);
    profile = resolveProfile(w, values.profile, printable(file));
    if (values.report !== undefined) checkOutputFile(values.report, "--report");
    if (values.trace !== undefined) for (const v of variants) checkOutputFile(perVariant(values.trace, v, variants.length > 1), "--trace");
  } catch (e) {
    io.err(`vgic run: ${(e as Error).message}\n`);
    return 2;
  }

  const results: WorkloadResult[] = [];
  const perfs: Perf[] = [];
  let status = 0;
  const many = variants.length > 1;
  for (const variant of variants) {
    const progress = new Progress(io, `${w.name} ${variant}`);
    try {
      const { result, perf, sys } = runWorkload(w, {
        variant, seed, profile, trace: values.trace !== undefined, onProgress: (f) => progress.update(f),
        ...(duration !== undefined ? { duration } : {}),
      });
      progress.done();
      results.push(result);
      perfs.push(perf);
      if (values.trace !== undefined && sys.machine.trace !== null) {
        writeFileAtomic(perVariant(values.trace, variant, many), sys.machine.trace.toChromeJson());
      }
      if (values.report !== undefined) writeFileAtomic(values.report, renderReport(results, perfs));
      // then stdout, so that a printed variant's files are complete; --json:
      // one document per finished variant, so an interruption loses none
      if (values.json) io.out(JSON.stringify({ format: RUN_FORMAT, vgicLab: VERSION, workload: w.name, results: [result], perf: [perf] }) + "\n");
      else io.out(formatResult(result, perf) + "\n\n");
      if (result.interrupts.accountingErrors.length > 0) status = 1;
      const failed = result.findings.filter((f) => failOn.includes(f.kind));
      if (failed.length > 0) {
        status = 1;
        io.err(`vgic run: ${variant}: fails on ${[...new Set(failed.map((f) => f.kind))].join(", ")}\n`);
      }
    } catch (e) {
      progress.done();
      io.err(`vgic run: ${variant}: ${(e as Error).message}\n`);
      status = 1;
    }
  }
  if (!values.json && results.length > 1) io.out(formatComparison(results) + "\n");
  return status;
}
