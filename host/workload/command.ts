// `vgic run WORKLOAD [--variant NAME|all] [--seed N] [--json] [--trace FILE]
// [--report FILE] [--schema]`: runs a workload file under one or every vGIC
// design. Each variant's result is written as soon as it is known (text on
// stdout, the report and trace files rewritten), so a later failure never
// loses an earlier result. Exit status: 0; 1 when a variant could not run,
// its accounting did not balance, or it has a finding of a kind named by
// --fail-on; 2 for a bad command line or workload file.

import { readFileSync, writeFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parseWorkload, WorkloadError, workloadJsonSchemaText, type Workload } from "./schema.ts";
import { runWorkload, variantsFor, type Perf, type WorkloadResult } from "./runner.ts";
import { formatComparison, formatResult } from "./format.ts";
import { renderReport } from "./report.ts";
import { parseFailOn, type FindingKind } from "../check/vgic.ts";

/** The finding kinds `vgic run --fail-on` knows (a workload's findings). */
export const RUN_FINDING_KINDS: readonly FindingKind[] = [
  "deadlock", "lock-inversion", "lockdep", "lost", "stuck-active", "lr-mismatch", "dropped", "no-delivery", "stalled", "accounting", "list-race", "error",
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

const USAGE = "usage: vgic run WORKLOAD [--variant NAME|all] [--seed N] [--duration N] [--fail-on KINDS] [--json] [--trace FILE] [--report FILE]\n       vgic run --schema   (print the workload JSON Schema)\n";

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

export function runCommand(args: string[], io: CommandIo = processIo): number {
  let values, positionals;
  try {
    ({ values, positionals } = parseArgs({
      args, allowPositionals: true,
      options: {
        variant: { type: "string" }, seed: { type: "string" }, json: { type: "boolean" },
        trace: { type: "string" }, report: { type: "string" }, schema: { type: "boolean" }, duration: { type: "string" },
        "fail-on": { type: "string" },
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
  const intOpt = (name: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new WorkloadError("vgic run", `--${name}`, v, "a non-negative integer");
    return Number(v);
  };
  let w: Workload;
  let variants: string[];
  let seed: number | undefined, duration: number | undefined;
  let failOn: readonly FindingKind[] = [];
  try {
    if (values["fail-on"] !== undefined) failOn = parseFailOn(values["fail-on"], RUN_FINDING_KINDS);
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (e) {
      io.err(`vgic run: cannot read ${file}: ${(e as Error).message}\n`);
      return 2;
    }
    w = parseWorkload(text, file);
    seed = intOpt("seed", values.seed);
    duration = intOpt("duration", values.duration);
    if (duration === 0) throw new WorkloadError("vgic run", "--duration", values.duration, "a positive number of cycles");
    variants = variantsFor(w, values.variant);
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
        variant, seed, trace: values.trace !== undefined, onProgress: (f) => progress.update(f),
        ...(duration !== undefined ? { duration } : {}),
      });
      progress.done();
      results.push(result);
      perfs.push(perf);
      if (!values.json) io.out(formatResult(result, perf) + "\n\n");
      if (values.trace !== undefined && sys.machine.trace !== null) {
        writeFileSync(perVariant(values.trace, variant, many), sys.machine.trace.toChromeJson());
      }
      if (values.report !== undefined) writeFileSync(values.report, renderReport(results, perfs));
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
  if (values.json) io.out(JSON.stringify({ workload: w.name, results, perf: perfs }, null, 2) + "\n");
  else if (results.length > 1) io.out(formatComparison(results) + "\n");
  return status;
}
