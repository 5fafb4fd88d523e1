// `vgic explore --matrix --baseline FILE|DIR`: the matrix's finding
// signatures (host/fuzz/signature.ts) per cell, compared with a reference:
// an earlier `--matrix --json` output, a directory of counterexample files,
// or the same cells under another variant (`--baseline-variant`).

import { readdirSync, statSync } from "node:fs";
import { noSuchField, printable, readJsonFile, strayField } from "../io/input.ts";
import { join } from "node:path";
import type { Finding } from "../check/vgic.ts";
import { checkSignature } from "../fuzz/signature.ts";
import { compareSignatures, type Comparison } from "../fuzz/baseline.ts";
import type { BuildOptions } from "./engine.ts";
import { LOCK_BARRIERS, type LockBarrier } from "../sim/memory.ts";
import { GIC_LATENCY_MAX } from "../hw/limits.ts";
import { FORMAT as COUNTEREXAMPLE_FORMAT, ReplayFileError, validateReplayFile } from "./replay.ts";
import { EXPLORE_MATRIX_FORMAT, ExploreMatrixOutput, FindingJson } from "./output.ts";
import type { CellResult } from "./matrix.ts";

export interface CellSignature {
  scenario: string;
  variant: string;
  signature: string;
}

export interface MatrixComparison {
  new: CellSignature[];
  gone: CellSignature[];
  unchanged: CellSignature[];
}

/** The distinct signatures of a cell's counterexample (none when it has none). */
export function findingSignatures(findings: readonly Finding[]): string[] {
  return [...new Set(findings.map(checkSignature))].sort();
}

export function cellSignatures(rs: readonly CellResult[]): CellSignature[] {
  return rs.flatMap((r) => findingSignatures(r.counterexample?.findings ?? []).map((signature) => ({ scenario: r.scenario, variant: r.variant, signature })));
}

const key = (c: CellSignature) => `${c.scenario}\u0000${c.variant}\u0000${c.signature}`;

/** Compare by (scenario, variant, signature), over the cells both explored:
 *  a baseline's cell that was not explored now is neither gone nor kept,
 *  and when the baseline says which cells it explored (a matrix's JSON; a
 *  directory of counterexamples cannot), a cell it did not explore is not
 *  new. */
export function compareCells(run: readonly CellSignature[], base: readonly CellSignature[],
  ran: readonly { scenario: string; variant: string }[], baseExplored: readonly { scenario: string; variant: string }[] | null = null): MatrixComparison {
  const cell = (c: { scenario: string; variant: string }) => `${c.scenario}\u0000${c.variant}`;
  const explored = new Set(ran.map(cell));
  base = base.filter((c) => explored.has(cell(c)));
  if (baseExplored !== null) {
    const before = new Set(baseExplored.map(cell));
    run = run.filter((c) => before.has(cell(c)));
  }
  const byKey = new Map([...base, ...run].map((c) => [key(c), c]));
  const c: Comparison = compareSignatures(run.map(key), base.map(key));
  const back = (ks: string[]) => ks.map((k) => byKey.get(k)!);
  return { new: back(c.new), gone: back(c.gone), unchanged: back(c.unchanged) };
}

/** The signatures of a reference matrix: a `vgic explore --matrix --json`
 *  output, one counterexample file, or a directory of them. Errors name
 *  the file and the field. */
export function loadMatrixBaseline(path: string, mo: BuildOptions = {}): CellSignature[] {
  return readMatrixBaseline(path, mo).signatures;
}

/** A baseline's signatures and, when it says (a `--matrix --json` output),
 *  the cells it explored and its search settings; null for a counterexample
 *  file or a directory of them. */
export interface MatrixBaseline {
  signatures: CellSignature[];
  matrix: { cells: Array<{ scenario: string; variant: string }>; options: Record<string, unknown> } | null;
}

export function readMatrixBaseline(path: string, mo: BuildOptions = {}): MatrixBaseline {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    throw new ReplayFileError(`--baseline ${path}: expected an existing file or directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const want = memoryKey(mo), latency = mo.gicLatency ?? 0;
  if (!dir) return fromFile(path, true, want, latency);
  const signatures = readdirSync(path).filter((n) => n.endsWith(".json")).sort().flatMap((n) => fromFile(join(path, n), false, want, latency).signatures);
  return { signatures, matrix: null };
}

/** The search settings that decide what a cell finds: a baseline explored
 *  with others may differ by the search, not the design. */
export const SEARCH_SETTINGS = ["strategy", "budget", "seed", "bound", "depth", "failOn"] as const;

/** A note when the baseline's search settings differ from this run's, or null. */
export function searchNote(base: Record<string, unknown>, now: Record<string, unknown>): string | null {
  const diff = SEARCH_SETTINGS.filter((k) => k in base && JSON.stringify(base[k] ?? null) !== JSON.stringify(now[k] ?? null));
  if (diff.length === 0) return null;
  const show = (o: Record<string, unknown>) => diff.map((k) => `${k} ${JSON.stringify(o[k] ?? null)}`).join(", ");
  return `note: the baseline was explored with ${show(base)}, this run with ${show(now)}: what is new or gone may come from the search, not the design`;
}

/** "sc", or "weak/smp_mb": what a baseline must have been explored under. */
function memoryKey(m: { memory?: unknown; lockBarrier?: unknown }): string {
  return m.memory === "weak" ? `weak/${typeof m.lockBarrier === "string" ? m.lockBarrier : "smp_mb"}` : "sc";
}

/** "with a GIC latency of 300 cycles" or "without a GIC latency" */
const latencyWords = (l: number) => (l > 0 ? `with a GIC latency of ${l} cycles` : "without a GIC latency");

function fromFile(path: string, strict: boolean, want: string, latency: number): MatrixBaseline {
  const j = readJsonFile(path);
  const file = printable(path);
  const o = (typeof j === "object" && j !== null && !Array.isArray(j) ? j : {}) as Record<string, unknown>;
  if (o.format === COUNTEREXAMPLE_FORMAT) {
    const f = validateReplayFile(j, file);
    // a directory may hold counterexamples of several memory models: only
    // those of the run's count; a single file must be of it
    if (memoryKey(f) !== want) {
      if (strict) throw new ReplayFileError(`${file}: field 'memory': expected a counterexample found under ${want} memory, like this run, got ${memoryKey(f)}`);
      return { signatures: [], matrix: null };
    }
    // ... and with the run's GIC latency (searches with other latencies
    // write into the same directories)
    if ((f.gicLatency ?? 0) !== latency) {
      if (strict) {
        throw new ReplayFileError(`${file}: field 'gicLatency': expected ${latency > 0 ? latency : "no field"} (a counterexample found ${latencyWords(latency)}, like this run), got ${f.gicLatency ?? "no field"}`);
      }
      return { signatures: [], matrix: null };
    }
    return { signatures: findingSignatures(f.findings).map((signature) => ({ scenario: f.scenario, variant: f.variant, signature })), matrix: null };
  }
  if (o.format === EXPLORE_MATRIX_FORMAT || Array.isArray(o.cells)) {
    // the document's fields (schemas/explore-matrix.schema.json); only those read are checked further
    const stray = strayField(o, MATRIX_FIELDS);
    if (stray !== undefined) throw new ReplayFileError(`${file}: field '${printable(stray)}': expected ${noSuchField(stray, "a vgic explore --matrix --json document", MATRIX_FIELDS)}`);
    if (!Array.isArray(o.cells)) throw new ReplayFileError(`${file}: field 'cells': expected an array of cells, got ${o.cells === undefined ? "nothing" : printable(JSON.stringify(o.cells), 80)}`);
    const opts = (typeof o.options === "object" && o.options !== null ? o.options : {}) as Record<string, unknown>;
    // (anything but a memory model would be read as sc, a barrier as smp_mb)
    if (opts.memory !== undefined && opts.memory !== "sc" && opts.memory !== "weak") {
      throw new ReplayFileError(`${file}: field 'options.memory': expected "weak", "sc" or no field (sc), got ${printable(JSON.stringify(opts.memory) ?? String(opts.memory), 40)}`);
    }
    if (opts.memory === "weak" && opts.lockBarrier !== undefined && !LOCK_BARRIERS.includes(opts.lockBarrier as LockBarrier)) {
      throw new ReplayFileError(`${file}: field 'options.lockBarrier': expected one of ${LOCK_BARRIERS.join(", ")}, got ${printable(JSON.stringify(opts.lockBarrier) ?? String(opts.lockBarrier), 40)}`);
    }
    if (memoryKey(opts) !== want) throw new ReplayFileError(`${file}: field 'options.memory': expected a matrix explored under ${want} memory, like this run, got ${memoryKey(opts)}`);
    // absent (as before --matrix took one): none; anything but a latency
    // would be read as none and compared with this run
    // (0 is never written: a field of 0 is refused, as in counterexample files)
    const theirs = (opts.gicLatency === undefined ? 0 : opts.gicLatency) as number;
    if (!(Number.isInteger(theirs) && (opts.gicLatency === undefined || theirs >= 1) && theirs <= GIC_LATENCY_MAX)) {
      throw new ReplayFileError(`${file}: field 'options.gicLatency': expected cycles, an integer from 1 to ${GIC_LATENCY_MAX}, or no field (none), got ${printable(JSON.stringify(theirs) ?? String(theirs), 40)}`);
    }
    if (theirs !== latency) {
      throw new ReplayFileError(`${file}: field 'options.gicLatency': expected a matrix explored ${latencyWords(latency)}, like this run, got one explored ${latencyWords(theirs)}`);
    }
    const signatures = o.cells.flatMap((c: unknown, i: number) => {
      const x = c as Record<string, unknown> | null;
      const bad = (field: string, expected: string, got: unknown) =>
        new ReplayFileError(`${file}: field 'cells[${i}].${field}': expected ${expected}, got ${got === undefined ? "nothing" : printable(JSON.stringify(got) ?? String(got), 80)}`);
      if (typeof x !== "object" || x === null) throw bad("", "a cell object", c);
      if (typeof x.scenario !== "string") throw bad("scenario", "a scenario name", x.scenario);
      if (typeof x.variant !== "string") throw bad("variant", "a variant name", x.variant);
      const ce = x.counterexample as Record<string, unknown> | undefined;
      if (ce === undefined) return [];
      if (typeof ce !== "object" || ce === null || !Array.isArray(ce.findings)) throw bad("counterexample.findings", "an array of findings", ce?.findings);
      ce.findings.forEach((f: unknown, k: number) => {
        const at = `counterexample.findings[${k}]`;
        if (typeof f !== "object" || f === null || Array.isArray(f)) throw bad(at, "a finding {kind, message}", f);
        const fo = f as Record<string, unknown>;
        const k2 = strayField(fo, MATRIX_FINDING_FIELDS);
        if (k2 !== undefined) throw bad(`${at}.${printable(k2)}`, noSuchField(k2, "a finding", MATRIX_FINDING_FIELDS), fo[k2]);
        if (typeof fo.kind !== "string") throw bad(`${at}.kind`, "a finding kind", fo.kind);
        for (const p of ["path", "where"]) if (fo[p] !== undefined && typeof fo[p] !== "string") throw bad(`${at}.${p}`, "a string, if present", fo[p]);
      });
      return findingSignatures(ce.findings as Finding[]).map((signature) => ({ scenario: x.scenario as string, variant: x.variant as string, signature }));
    });
    const cells = (o.cells as Array<{ scenario: string; variant: string }>).map((c) => ({ scenario: c.scenario, variant: c.variant }));
    return { signatures, matrix: { cells, options: opts } };
  }
  if (strict) {
    const got = Array.isArray(j) ? "an array" : j === null ? "null" : typeof j !== "object" ? `a ${typeof j}` : o.format === undefined ? "an object without format or cells" : `an object with format ${printable(JSON.stringify(o.format) ?? String(o.format), 40)}`;
    throw new ReplayFileError(`${file}: expected a counterexample file (format "${COUNTEREXAMPLE_FORMAT}") or the output of vgic explore --matrix --json (an object with 'cells'), got ${got}`);
  }
  return { signatures: [], matrix: null };
}

/** The fields of a --matrix --json document and of a finding in it. */
const MATRIX_FIELDS = Object.keys(ExploreMatrixOutput.shape);
const MATRIX_FINDING_FIELDS = Object.keys(FindingJson.shape);

/** Console lines: the count, then each new and gone signature by cell. */
export function formatMatrixComparison(c: MatrixComparison, source: string): string[] {
  const out = [`against ${source}: ${c.new.length} new, ${c.gone.length} gone, ${c.unchanged.length} unchanged`];
  for (const x of c.new) out.push(`  new:  ${x.scenario} under ${x.variant}: ${x.signature}`);
  for (const x of c.gone) out.push(`  gone: ${x.scenario} under ${x.variant}: ${x.signature}`);
  return out;
}
