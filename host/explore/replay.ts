// Counterexample files: what `vgic explore` saves and `vgic explore --replay`
// reproduces. JSON, format "vgic-lab-counterexample", version 1.

import { endsInException, type Finding, type FindingKind } from "../check/vgic.ts";
import { scheduleFromString } from "../sim/sched.ts";
import { noSuchField, parseJsonFrom, printable, strayField } from "../io/text.ts";
import { checkedReplay } from "../io/schedule.ts";
import type { Scenario } from "../xen/scenarios.ts";
import { variantNamed } from "../xen/variants.ts";
import { ALL_KINDS, DEFAULT_FAIL_ON, MAX_STEPS, explain, runOnce, withBuildOptions, type BuildOptions, type Counterexample } from "./engine.ts";
import { LOCK_BARRIERS, type LockBarrier } from "../sim/memory.ts";
import { GIC_LATENCY_MAX } from "../hw/gic.ts";

import { VERSION } from "../version.ts";
import * as z from "zod";
import type { ReplayVerdict } from "./search.ts";

export const FORMAT = "vgic-lab-counterexample";

export interface ReplayFile {
  format: typeof FORMAT;
  version: 1;
  /** the vgic-lab version that wrote it */
  vgicLab?: string;
  scenario: string;
  variant: string;
  schedule: string;
  preemptions: number;
  steps: number;
  findings: Finding[];
  traceHash: string;
  /** weak memory (absent: sequentially consistent) */
  memory?: "weak";
  lockBarrier?: LockBarrier;
  /** cycles of GIC latency the run had (absent: none) */
  gicLatency?: number;
}

export class ReplayFileError extends Error {
  override name = "ReplayFileError";
}

export function toReplayFile(c: Counterexample, m: BuildOptions = {}): ReplayFile {
  const weak = m.memory === "weak" ? { memory: "weak" as const, lockBarrier: m.lockBarrier ?? "smp_mb" } : {};
  return {
    ...weak,
    ...((m.gicLatency ?? 0) > 0 ? { gicLatency: m.gicLatency! } : {}),
    format: FORMAT, version: 1, vgicLab: VERSION, scenario: c.scenario, variant: c.variant, schedule: c.schedule,
    preemptions: c.preemptions, steps: c.steps,
    // path and where make the finding's signature (vgic explore --baseline DIR)
    findings: c.findings.map((f) => ({
      kind: f.kind, message: f.message, ...(f.path !== undefined ? { path: f.path } : {}), ...(f.where !== undefined ? { where: f.where } : {}),
    })),
    traceHash: c.traceHash,
  };
}

/** A counterexample file as a schema (schemas/counterexample.schema.json),
 *  for editors and other tools. validateReplayFile is the reader: it also
 *  checks what a schema cannot say (the variant is known, the schedule
 *  parses, lockBarrier only with weak memory) and names the field in its
 *  errors; tests/explore.test.ts keeps the two in step. */
export const ReplayFileJson = z.strictObject({
  $schema: z.string().optional().describe("an editor's link to this schema"),
  format: z.literal(FORMAT),
  version: z.literal(1),
  vgicLab: z.string().optional().describe("the vgic-lab version that wrote it (absent in older files)"),
  scenario: z.string().min(1).describe("the scenario explored (vgic explore SCENARIO, or one loaded with --scenarios)"),
  variant: z.string().min(1).describe("the vGIC design explored (vgic variants)"),
  schedule: z.string().describe('the scheduler\'s decisions, compact: thread indices, runs as "1*6", comma-separated'),
  preemptions: z.number().int().min(0), steps: z.number().int().min(0),
  findings: z.array(z.strictObject({
    kind: z.enum(ALL_KINDS as unknown as [FindingKind, ...FindingKind[]]),
    message: z.string(),
    path: z.string().optional().describe("with where, makes the finding's signature"),
    where: z.string().optional(),
  })).min(1),
  traceHash: z.string().regex(/^[0-9a-f]{64}$/).describe("sha256 of the run's trace: a replay must make the same"),
  memory: z.literal("weak").optional().describe("weak memory (absent: sequentially consistent)"),
  lockBarrier: z.enum(LOCK_BARRIERS as unknown as [LockBarrier, ...LockBarrier[]]).optional().describe("with memory weak: what spinlocks order"),
  gicLatency: z.number().int().min(1).max(GIC_LATENCY_MAX).optional().describe("cycles from a GIC line change to the pCPUs seeing it (absent: none)"),
});
/** Every field a counterexample file may have: what vgic-lab writes (older
 *  versions wrote no vgicLab, memory or lockBarrier) and `$schema`, which an
 *  editor's JSON support adds. Anything else is refused. */
export const REPLAY_FILE_FIELDS = Object.keys(ReplayFileJson.shape) as ReadonlyArray<keyof typeof ReplayFileJson.shape>;
// the schema names every field of ReplayFile (a field added there must be added to it)
const everyField: Exclude<keyof ReplayFile, keyof typeof ReplayFileJson.shape> extends never ? true : never = true;
void everyField;
/** The fields of a finding in a counterexample file (toReplayFile). */
const FINDING_FIELDS = Object.keys(ReplayFileJson.shape.findings.element.shape);

/** Parse and validate; every error names the field and what was expected. */
export function parseReplayFile(text: string, where = "replay file"): ReplayFile {
  let j: unknown;
  try {
    j = parseJsonFrom(text, where);
  } catch (e) {
    throw new ReplayFileError((e as Error).message);
  }
  return validateReplayFile(j, where);
}

/** Validate a decoded counterexample file from `where`. */
export function validateReplayFile(j: unknown, where: string): ReplayFile {
  const bad = (field: string, expected: string, got: unknown) =>
    new ReplayFileError(`${where}: field '${field}': expected ${expected}, got ${got === undefined ? "nothing" : printable(JSON.stringify(got) ?? String(got), 80)}`);
  if (typeof j !== "object" || j === null || Array.isArray(j)) throw new ReplayFileError(`${where}: expected a JSON object (a counterexample), got ${Array.isArray(j) ? "an array" : j === null ? "null" : `a ${typeof j}`}`);
  const o = j as Record<string, unknown>;
  const stray = (x: Record<string, unknown>, known: readonly string[], path: string, what: string) => {
    const k = strayField(x, known);
    if (k !== undefined) throw bad(`${path}${printable(k)}`, noSuchField(k, what, known), x[k]);
  };
  stray(o, REPLAY_FILE_FIELDS, "", "a counterexample");
  if (o.format !== FORMAT) throw bad("format", `"${FORMAT}"`, o.format);
  if (o.version !== 1) throw bad("version", "1", o.version);
  if (o.vgicLab !== undefined && typeof o.vgicLab !== "string") throw bad("vgicLab", "a version string, if present", o.vgicLab);
  for (const f of ["scenario", "variant", "traceHash"] as const) {
    if (typeof o[f] !== "string" || o[f] === "") throw bad(f, "a non-empty string", o[f]);
  }
  if (!/^[0-9a-f]{64}$/.test(o.traceHash as string)) throw bad("traceHash", "64 hex digits (sha256)", o.traceHash);
  if (typeof o.schedule !== "string") throw bad("schedule", 'a schedule string such as "0,1*3,0"', o.schedule);
  try {
    // a run makes at most one decision per step
    scheduleFromString(o.schedule, MAX_STEPS);
  } catch (e) {
    throw bad("schedule", `a schedule string such as "0,1*3,0" (${(e as Error).message})`, o.schedule);
  }
  for (const f of ["preemptions", "steps"] as const) {
    if (!Number.isInteger(o[f]) || (o[f] as number) < 0) throw bad(f, "a non-negative integer", o[f]);
  }
  if (!Array.isArray(o.findings) || o.findings.length === 0) throw bad("findings", "a non-empty array of {kind, message}", o.findings);
  o.findings.forEach((f: unknown, i: number) => {
    const x = f as Record<string, unknown> | null;
    if (typeof x !== "object" || x === null || Array.isArray(x)) throw bad(`findings[${i}]`, "an object {kind, message}", f);
    stray(x, FINDING_FIELDS, `findings[${i}].`, "a finding");
    if (!ALL_KINDS.includes(x.kind as FindingKind)) throw bad(`findings[${i}].kind`, `one of ${ALL_KINDS.join(", ")}`, x.kind);
    if (typeof x.message !== "string") throw bad(`findings[${i}].message`, "a string", x.message);
    for (const k of ["path", "where"] as const) {
      if (x[k] !== undefined && typeof x[k] !== "string") throw bad(`findings[${i}].${k}`, "a string, if present", x[k]);
    }
  });
  if (o.memory !== undefined && o.memory !== "weak") throw bad("memory", '"weak", or no field (sequentially consistent)', o.memory);
  if (o.lockBarrier !== undefined && (o.memory !== "weak" || !LOCK_BARRIERS.includes(o.lockBarrier as LockBarrier))) {
    throw bad("lockBarrier", `one of ${LOCK_BARRIERS.join(", ")} with "memory": "weak"`, o.lockBarrier);
  }
  if (o.gicLatency !== undefined && !(Number.isInteger(o.gicLatency) && (o.gicLatency as number) >= 1 && (o.gicLatency as number) <= GIC_LATENCY_MAX)) {
    throw bad("gicLatency", `cycles, an integer from 1 to ${GIC_LATENCY_MAX}, or no field (none)`, o.gicLatency);
  }
  try {
    variantNamed(o.variant as string);
  } catch (e) {
    throw bad("variant", (e as Error).message.replace(/^unknown variant '[^']*': expected /, ""), o.variant);
  }
  return o as unknown as ReplayFile;
}

/** A schedule that does not fit the run it names (a replay file, a shared
 *  link): an input error, never a verdict on the design. */
export function misfitError(scenario: string, variant: string, misfit: string): ReplayFileError {
  return new ReplayFileError(`field 'schedule': expected the decisions of a run of ${scenario} under ${variant}, got one that does not fit (${misfit}): ` +
    `the file was edited, or the design no longer makes the recorded run; \`vgic explore ${scenario} --variant ${variant}\` judges the design`);
}

export interface ReplayOutcome {
  reproduced: boolean;
  kindsMatch: boolean;
  hashMatch: boolean;
  traceHash: string;
  findings: Finding[];
  narrative: string[];
  chromeJson: string;
  /** why not, when it did not reproduce */
  reason?: string;
}

const kindSet = (f: readonly Finding[]) => [...new Set(f.map((x) => x.kind))].sort().join(",");

/** Re-run the saved schedule exactly and compare finding kinds and trace hash. */
export function replayCounterexample(file: ReplayFile, scenario: Scenario): ReplayOutcome {
  const replay = checkedReplay(scheduleFromString(file.schedule, MAX_STEPS));
  const { run, r, findings } = runOnce(withBuildOptions(scenario, file), file.variant, replay.scheduler, true);
  const misfit = replay.misfit(r.schedule.picks.length, r.reason === "done" || r.reason === "deadlock");
  // Not judged: a file edited by hand and a design that no longer makes
  // the recorded run (a fixed deadlock runs on past the last decision)
  // look the same here, and calling the first "no longer fails" would be
  // a false all-clear. Exploring the scenario judges the design.
  if (misfit !== null) throw misfitError(file.scenario, file.variant, misfit);
  const traceHash = r.traceHash!;
  const kindsMatch = kindSet(findings) === kindSet(file.findings);
  const hashMatch = traceHash === file.traceHash;
  // an exception is the finding itself when the saved run ended in one
  // (an exception, a list race or a livelock), else the replay broke
  const expected = file.findings.some((f) => endsInException(f.kind));
  const broke = r.reason === "error" && !expected;
  const out: ReplayOutcome = {
    reproduced: kindsMatch && hashMatch && !broke, kindsMatch, hashMatch, traceHash, findings,
    narrative: explain(run, findings), chromeJson: run.sys.machine.trace!.toChromeJson(),
  };
  if (broke) out.reason = `the run failed: ${r.error?.message ?? "unknown error"}`;
  else if (!kindsMatch) out.reason = `finding kinds differ: saved [${kindSet(file.findings)}], now [${kindSet(findings)}]`;
  else if (!hashMatch) out.reason = `trace hash differs: saved ${file.traceHash}, now ${traceHash}`;
  return out;
}

/** Whether a replayed run fails now (a recorded kind, or one that fails by
 *  default), as `vgic fuzz --replay` says it; "broke" when it ended in an
 *  exception other than the recorded one (such as XSA-223's, which is the
 *  finding itself): a schedule the code can no longer follow, or a bug. The
 *  exit status of `vgic explore --replay`: 1, 0 or 3. */
export function replayVerdict(file: ReplayFile, o: ReplayOutcome): ReplayVerdict {
  const recorded = new Set(file.findings.map((f) => f.kind));
  const site = (f: { path?: string; where?: string }) => `${f.path ?? ""}@${f.where ?? ""}`;
  const recordedErrors = new Set(file.findings.filter((f) => f.kind === "error").map(site));
  if (o.findings.some((f) => f.kind === "error" && !recordedErrors.has(site(f)))) return "broke";
  return o.findings.some((f) => recorded.has(f.kind) || DEFAULT_FAIL_ON.includes(f.kind)) ? "fails" : "passes";
}
