// What the fuzzing engine needs from a target. The engine (./engine.ts) knows
// nothing of GICs: a target makes configurations and operations, runs them
// with its invariants checked after each one, and reads them back from a
// finding file. `hw` (./hw.ts) fuzzes the hardware model's MMIO; a `vgic`
// target over the hypervisor's emulated distributor fits the same shape.

import type { Rng } from "../sim/rng.ts";
import type { Violation as CheckViolation } from "../check/invariants.ts";
import type { Schedule } from "../sim/sched.ts";
import { noSuchField, printable, strayField } from "../io/text.ts";

/** A violated invariant, as a target reports it. */
export interface Violation extends CheckViolation {
  /** what tells this bug from others of its invariant (./signature.ts);
   *  the invariant when absent */
  signature?: string;
  /** further violations of the same case with other signatures */
  others?: Violation[];
}

/** Coverage features seen so far: one byte per feature id, and how often
 *  each was hit. */
export class Coverage {
  readonly bits: Uint8Array;
  readonly hits: Uint32Array;
  /** features seen for the first time since the last `take()` */
  fresh = 0;
  total = 0;
  constructor(size = 1 << 16) { this.bits = new Uint8Array(size); this.hits = new Uint32Array(size); }
  hit(f: number): void {
    const b = this.bits;
    this.hits[f]!++;
    if (b[f] === 0) { b[f] = 1; this.fresh++; this.total++; }
  }
  take(): number { const n = this.fresh; this.fresh = 0; return n; }
  /** [feature id, hits] of every feature seen, by id */
  list(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let f = 0; f < this.bits.length; f++) if (this.bits[f] !== 0) out.push([f, this.hits[f]!]);
    return out;
  }
}

export interface SessionOptions {
  /** test-only planted faults (see host/fuzz/faults.ts); never set by the CLI */
  faults?: readonly string[];
  coverage?: Coverage;
  /** replay these scheduler decisions (targets that run a scheduler) */
  schedule?: Schedule;
}

export interface FuzzSession<Op> {
  /** next operation, chosen from the state reached so far */
  generate(rng: Rng): Op;
  /** apply one operation and check the invariants; a thrown exception is
   *  returned as a `crash` violation, never rethrown */
  step(op: Op): Violation | null;
  /** the checks that need the whole run (end of case) */
  finish(): Violation | null;
  /** operations checked so far */
  readonly checkedOps: number;
}

/** Thrown for a malformed finding or corpus file: names the field. */
export class FindingError extends Error {
  constructor(readonly field: string, readonly got: unknown, readonly expected: string) {
    super(`${field}: got ${shown(got)}, expected ${expected}`);
    this.name = "FindingError";
  }
}

/** Refuse a field of `o` (at `path`, "" for the top level) that is not one
 *  of `known`: a FindingError naming it and the fields `what` has. */
export function onlyFields(o: Record<string, unknown>, known: readonly string[], path: string, what: string): void {
  const k = strayField(o, known);
  if (k !== undefined) throw new FindingError(path === "" ? printable(k) : `${path}.${printable(k)}`, o[k], noSuchField(k, what, known));
}

/** FindingErrors thrown by `f` named in `origin` (a file, printable). */
export function inFile<T>(origin: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof FindingError) throw new FindingError(`${origin}: ${e.field}`, e.got, e.expected);
    throw e;
  }
}

/** A value from a file, short and printable whatever it holds. */
function shown(v: unknown): string {
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined; // cyclic or too deep: name the type only
  }
  return printable(s ?? (typeof v === "object" ? "an object" : String(v)), 80);
}

export interface FuzzTarget<Config = unknown, Op = unknown> {
  readonly name: string;
  /** faults the target can plant for its own tests */
  readonly faults: readonly string[];
  /** names of the run parameters the target honours (e.g. `variant`) */
  readonly params?: readonly string[];
  /** throw a RangeError for a parameter value the target does not know */
  validateParams?(params: Record<string, string>): void;
  /** Whether a corpus entry's configuration is one these fixed parameters
   *  make (default: each parameter equals the configuration's field of its
   *  name); a parameter left out must match its default, not anything. */
  configMatches?(config: Config, params: Record<string, string>): boolean;
  /** a random configuration; `params` fix fields of it */
  randomConfig(rng: Rng, params?: Record<string, string>): Config;
  open(config: Config, options?: SessionOptions): FuzzSession<Op>;
  /** operations per case, drawn per case */
  caseLength(rng: Rng): number;
  describeOp(config: Config, op: Op): string;
  /** simpler variants of an operation, simplest first, for shrinking */
  simplerOps(config: Config, op: Op): Op[];
  /** validate decoded JSON, throwing FindingError naming `path` */
  parseConfig(x: unknown, path: string): Config;
  parseOp(x: unknown, path: string): Op;
  /** check a parsed operation against its configuration (a CPU, vCPU or
   *  interrupt that exists), throwing FindingError naming `path` */
  checkOp?(config: Config, op: Op, path: string): void;
  /** a bounded narrative of a failing case, for its finding file */
  explain?(config: Config, ops: readonly Op[], schedule?: Schedule, faults?: readonly string[]): string[];
  /** the name of a coverage feature: its family first, e.g. `lr pending->active ack` */
  featureName?(id: number): string;
}
