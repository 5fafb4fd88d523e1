// Finding files, without the file system (the browser page replays them
// too): their format, the targets, running a case's operations, building a
// finding from a failing case, validating a decoded file, and replaying it.

import { VERSION } from "../version.ts";
import * as z from "zod";
import { FindingError, onlyFields, type FuzzTarget, type Violation } from "./target.ts";
import { hwTarget } from "./hw.ts";
import { vgicTarget } from "./vgic.ts";
import type { Schedule } from "../sim/sched.ts";
import { signatureOf, withSignature } from "./signature.ts";

export const FINDING_FORMAT = "vgic-fuzz-finding";
export const FINDING_VERSION = 1;
export const TRACE_LENGTH = 8;
/** Most operations a finding file may hold: generated cases have a few
 *  thousand at most, before shrinking. */
export const MAX_FINDING_OPS = 100_000;

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyTarget = FuzzTarget<any, any>;

export const TARGETS: Record<string, AnyTarget> = { hw: hwTarget, vgic: vgicTarget };

/** The target called `name`, or a clear error. */
export function getTarget(name: string): AnyTarget {
  const t = TARGETS[name];
  if (t) return t;
  throw new RangeError(`unknown target '${name}' (known: ${Object.keys(TARGETS).join(", ")})`);
}

export interface Finding {
  format: typeof FINDING_FORMAT;
  version: number;
  /** the vgic-lab version that wrote it */
  vgicLab?: string;
  target: string;
  /** the run's seed and the case within it (informational: `ops` is the case) */
  seed: number;
  case: number;
  config: unknown;
  /** planted faults (tests only); empty for the real model */
  faults: string[];
  ops: unknown[];
  violation: { invariant: string; message: string; op: number };
  /** what tells this bug from others of its invariant (./signature.ts);
   *  one finding file per signature */
  signature: string;
  /** cases of the run (of this worker's share, with workers) that showed
   *  this signature, this one included */
  repeats?: number;
  /** the last operations before the violation, described */
  trace: string[];
  /** operations before shrinking */
  originalOps: number;
  /** the scheduler decisions of the failing run, for targets that schedule:
   *  replay follows them exactly */
  schedule?: Schedule;
  /** the target's bounded narrative of the failing run */
  narrative?: string[];
}

/** A finding file as a schema (schemas/finding.schema.json), for editors and
 *  other tools. parseFinding is the reader: it also checks the target's
 *  configuration and operations (each target's own), the faults it knows,
 *  and that the violation's operation is within the case; tests/fuzz-vgic.test.ts
 *  keeps the two in step. */
export const FindingJson = z.strictObject({
  $schema: z.string().optional().describe("an editor's link to this schema"),
  format: z.literal(FINDING_FORMAT),
  version: z.literal(FINDING_VERSION),
  vgicLab: z.string().optional().describe("the vgic-lab version that wrote it (absent in older files)"),
  target: z.enum(Object.keys(TARGETS) as [string, ...string[]]).describe("the fuzz target (vgic fuzz --target)"),
  seed: z.number().int().min(0).max(0xffffffff), case: z.number().int().min(0).max(1e12),
  config: z.looseObject({}).describe("the case's configuration, as the target draws it (checked by the target)"),
  faults: z.array(z.string()).optional().describe("planted faults (tests only); empty or absent for the real model"),
  ops: z.array(z.looseObject({})).min(1).max(MAX_FINDING_OPS).describe("the case's operations, shrunk (each checked by the target)"),
  violation: z.strictObject({ invariant: z.string(), message: z.string(), op: z.number().int().min(0).describe("the operation it happens at") }),
  signature: z.string().min(1).optional().describe("what tells this bug from others of its invariant (absent in older files: the invariant)"),
  repeats: z.number().int().min(1).optional().describe("cases of the run that showed this signature"),
  trace: z.array(z.string()).optional().describe("the last operations before the violation, described"),
  originalOps: z.number().int().min(0).optional().describe("operations before shrinking"),
  schedule: z.strictObject({ v: z.literal(1), picks: z.array(z.number().int().min(0).max(255)) }).optional()
    .describe("the scheduler's decisions of the failing run (targets that schedule): a replay follows them"),
  narrative: z.array(z.string()).optional().describe("the target's bounded narrative of the failing run"),
});
/** Every field a finding file may have: what vgic-lab writes (older
 *  versions wrote a subset: no vgicLab, signature or repeats) and `$schema`,
 *  which an editor's JSON support adds. Anything else is refused. */
export const FINDING_FIELDS = Object.keys(FindingJson.shape) as ReadonlyArray<keyof typeof FindingJson.shape>;
// the schema names every field of Finding (a field added there must be added to it)
const everyField: Exclude<keyof Finding, keyof typeof FindingJson.shape> extends never ? true : never = true;
void everyField;

export interface CaseResult {
  violation: Violation | null;
  /** index of the violating operation; ops.length for the end-of-case check */
  index: number;
  checkedOps: number;
}

/** Run a fixed operation list. */
export function runOps(target: AnyTarget, config: unknown, ops: readonly unknown[], faults: readonly string[] = [],
  schedule?: Schedule): CaseResult {
  const s = target.open(config, { faults, ...(schedule ? { schedule } : {}) });
  for (let i = 0; i < ops.length; i++) {
    const v = s.step(ops[i]);
    if (v) return { violation: v, index: i, checkedOps: s.checkedOps };
  }
  return { violation: s.finish(), index: ops.length, checkedOps: s.checkedOps };
}

/** The seed of case `index` of a run: nearby indices give unrelated streams. */
// ---- findings

export function makeFinding(target: AnyTarget, seed: number, index: number, config: unknown, ops: unknown[],
  result: CaseResult, faults: readonly string[], originalOps: number): Finding {
  const v = result.violation!;
  const from = Math.max(0, result.index - TRACE_LENGTH + 1);
  const trace = ops.slice(from, result.index + 1).map((op, k) => `#${from + k} ${target.describeOp(config, op)}`);
  const f: Finding = {
    format: FINDING_FORMAT, version: FINDING_VERSION, vgicLab: VERSION, target: target.name, seed, case: index, config,
    faults: [...faults], ops, violation: { invariant: v.invariant, message: v.message, op: result.index },
    signature: signatureOf(v), trace, originalOps,
  };
  const schedule = (v as { schedule?: Schedule }).schedule;
  if (schedule) f.schedule = schedule;
  if (target.explain) {
    try {
      f.narrative = target.explain(config, ops, schedule, faults);
    } catch (e) {
      f.narrative = [`(no narrative: ${(e as Error).message})`];
    }
  }
  return f;
}

/** Validate a decoded finding file, naming the first bad field. */
export function parseFinding(x: unknown): Finding {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new FindingError("(root)", x, "a JSON object (a finding file)");
  const o = x as Record<string, unknown>;
  onlyFields(o, FINDING_FIELDS, "", "a finding");
  if (o.format !== FINDING_FORMAT) throw new FindingError("format", o.format, `"${FINDING_FORMAT}"`);
  if (o.version !== FINDING_VERSION) throw new FindingError("version", o.version, `${FINDING_VERSION}`);
  if (typeof o.target !== "string") throw new FindingError("target", o.target, "a target name");
  if (!Object.hasOwn(TARGETS, o.target)) throw new FindingError("target", o.target, `one of ${Object.keys(TARGETS).join(", ")}`);
  const target = getTarget(o.target);
  // a seed as --seed takes it; a case as a run numbers them
  const range = { seed: 0xffffffff, case: 1e12 } as const;
  for (const k of ["seed", "case"] as const) {
    const v = o[k];
    if (typeof v !== "number" || !Number.isInteger(v) || v < 0 || v > range[k]) throw new FindingError(k, v, `an integer from 0 to ${range[k]}`);
  }
  const config = target.parseConfig(o.config, "config");
  const faults = o.faults ?? [];
  if (!Array.isArray(faults) || faults.some((f) => typeof f !== "string" || !target.faults.includes(f))) {
    throw new FindingError("faults", o.faults, `an array of fault names (${target.faults.join(", ")})`);
  }
  if (!Array.isArray(o.ops) || o.ops.length === 0 || o.ops.length > MAX_FINDING_OPS) {
    throw new FindingError("ops", Array.isArray(o.ops) && o.ops.length > 0 ? `${o.ops.length} operations` : o.ops, `a non-empty array of at most ${MAX_FINDING_OPS} operations`);
  }
  const ops = parseOps(target, config, o.ops);
  let schedule: Schedule | undefined;
  if (o.schedule !== undefined) {
    const so = o.schedule as Record<string, unknown> | null;
    if (typeof so === "object" && so !== null && !Array.isArray(so)) onlyFields(so, ["v", "picks"], "schedule", "a schedule");
    if (typeof so !== "object" || so === null || so.v !== 1 || !Array.isArray(so.picks) ||
        so.picks.some((p) => typeof p !== "number" || !Number.isInteger(p) || p < 0 || p > 255)) {
      throw new FindingError("schedule", o.schedule, "{v: 1, picks: [thread indices]}");
    }
    schedule = { v: 1, picks: so.picks as number[] };
  }
  const v = o.violation;
  if (typeof v !== "object" || v === null) throw new FindingError("violation", v, "an object with invariant, message and op");
  const vo = v as Record<string, unknown>;
  onlyFields(vo, ["invariant", "message", "op"], "violation", "a violation");
  if (typeof vo.invariant !== "string") throw new FindingError("violation.invariant", vo.invariant, "an invariant name");
  if (typeof vo.message !== "string") throw new FindingError("violation.message", vo.message, "a string");
  if (typeof vo.op !== "number" || !Number.isInteger(vo.op) || vo.op < 0 || vo.op > ops.length) {
    throw new FindingError("violation.op", vo.op, `an operation index from 0 to ${ops.length}`);
  }
  // files written before signatures existed are signed by their invariant
  const signature = o.signature ?? vo.invariant;
  if (typeof signature !== "string" || signature === "") throw new FindingError("signature", o.signature, "a non-empty string");
  if (o.repeats !== undefined && (typeof o.repeats !== "number" || !Number.isInteger(o.repeats) || o.repeats < 1)) {
    throw new FindingError("repeats", o.repeats, "a positive integer");
  }
  // informational fields, optional, but of their type when present
  if (o.vgicLab !== undefined && typeof o.vgicLab !== "string") throw new FindingError("vgicLab", o.vgicLab, "a version string");
  for (const k of ["trace", "narrative"] as const) {
    const t = o[k];
    if (t !== undefined && (!Array.isArray(t) || t.some((l) => typeof l !== "string"))) throw new FindingError(k, t, "an array of strings");
  }
  if (o.originalOps !== undefined && (typeof o.originalOps !== "number" || !Number.isInteger(o.originalOps) || o.originalOps < 0)) {
    throw new FindingError("originalOps", o.originalOps, "a non-negative integer");
  }
  return {
    format: FINDING_FORMAT, version: FINDING_VERSION, ...(typeof o.vgicLab === "string" ? { vgicLab: o.vgicLab } : {}), target: o.target, seed: o.seed as number, case: o.case as number,
    config, faults: faults as string[], ops, violation: { invariant: vo.invariant, message: vo.message, op: vo.op }, signature,
    ...(o.repeats !== undefined ? { repeats: o.repeats as number } : {}),
    trace: (o.trace as string[] | undefined) ?? [], originalOps: (o.originalOps as number | undefined) ?? ops.length,
    ...(schedule ? { schedule } : {}),
    ...(o.narrative !== undefined ? { narrative: o.narrative as string[] } : {}),
  };
}

/** Parse a case's operations and check each against the configuration. */
export function parseOps(target: AnyTarget, config: unknown, xs: readonly unknown[]): unknown[] {
  return xs.map((x, i) => {
    const op = target.parseOp(x, `ops[${i}]`);
    target.checkOp?.(config, op, `ops[${i}]`);
    return op;
  });
}

/** Read a JSON file (a finding or a corpus entry); FindingError otherwise. */
export interface ReplayResult {
  /** the violation now (the one with the recorded signature if the case
   *  shows it), or null */
  violation: Violation | null;
  index: number;
  /** same signature at the same operation index as recorded */
  reproduced: boolean;
}

/** Replay a finding (decoded JSON or a parsed Finding). */
export function replay(finding: unknown): ReplayResult {
  const f = parseFinding(finding);
  const r = runOps(getTarget(f.target), f.config, f.ops, f.faults, f.schedule);
  const same = withSignature(r.violation, f.signature);
  return {
    violation: same ?? r.violation,
    index: r.index,
    reproduced: same !== null && same.invariant === f.violation.invariant && r.index === f.violation.op,
  };
}
