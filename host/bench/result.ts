// The `vgic bench --json` document: one zod schema validates it and
// generates schemas/bench.schema.json (host/schemas.ts; a test keeps the two
// equal). Also where the document is assembled (the host it
// ran on, the profile it used) and compared with an earlier one (--compare).

import { cpus, arch, loadavg, platform } from "node:os";
import { checkAgainst } from "../io/issues.ts";
import * as z from "zod";
import type { CostProfile } from "../sim/api.ts";
import { COST_NAMES } from "../sim/api.ts";

const num = z.number();
const Summary = z.strictObject({ median: num, p99: num, max: num, min: num, mean: num });
const Published = z.strictObject({ name: z.string(), cycles: num, source: z.string() });
const Outcome = z.enum(["ok", "deadlock", "dropped", "lost", "misrouted", "error"]);

const PathResult = z.strictObject({
  path: z.string().describe("path id, e.g. spi-running/handler"),
  title: z.string(),
  variant: z.string(),
  outcome: Outcome.describe("ok: every repetition reached the end of the path; otherwise what the design did instead"),
  note: z.string().optional(),
  reps: z.number().int().nonnegative(),
  measured: z.number().int().nonnegative().describe("repetitions that reached the end of the path"),
  sampled: z.number().int().nonnegative().optional().describe("values that total and stages summarise: one per measured repetition, except on lr-overflow, one per interrupt that waited on lr_pending (absent in documents of earlier versions, whose measured counted these on lr-overflow)"),
  total: Summary.optional().describe("modelled cycles over the samples"),
  stages: z.array(Summary.extend({ stage: z.string() })).describe("per stage, in path order; the means add up to total.mean"),
  published: Published.optional(),
});

const Latency = z.strictObject({
  reps: z.number().int().positive(),
  seed: z.number().int(),
  variants: z.array(z.string()),
  paths: z.array(PathResult),
  notModelled: z.array(z.strictObject({ path: z.string(), title: z.string(), published: Published, reason: z.string() })),
});

// the throughput sections are owned by hw.ts, sim.ts and stack.ts: fields
// they add later are allowed
const Rate = z.looseObject({
  name: z.string(), median: num, min: num, max: num, runs: z.number().int(),
  reference: z.strictObject({ name: z.string(), perSecond: num }).optional(),
});
const SimRate = z.looseObject({ name: z.string(), median: num, min: num, max: num, nsPerStep: num, runs: z.number().int() });

export const BenchResult = z.strictObject({
  format: z.literal("vgic-bench/1"),
  vgicLab: z.string().optional().describe("the vgic-lab version that made it"),
  createdAt: z.string(),
  host: z.strictObject({
    node: z.string(), platform: z.string(), arch: z.string(), cpu: z.string(), cpus: z.number().int(),
    load: z.strictObject({
      start: z.array(z.number()).describe("load average over 1, 5 and 15 minutes when the benchmark started"),
      end: z.array(z.number()).optional().describe("the same when it ended"),
    }).optional().describe("how busy the machine was: wall-clock figures from a loaded machine drift"),
  }).describe("the machine the benchmark ran on"),
  profile: z.strictObject({
    name: z.string(), origin: z.string(), hz: num, costs: z.record(z.string(), num),
  }).describe("the cost profile the modelled cycles come from"),
  latency: Latency.optional(),
  hardware: z.array(Rate).optional().describe("register round trips per wall-second"),
  machine: z.looseObject({ rates: z.array(SimRate), overheadNsPerPoint: num }).optional().describe("scheduler steps per wall-second"),
  stack: z.union([
    z.looseObject({
      variant: z.string(), pcpus: z.number().int(),
      outcome: z.literal("ok").optional().describe("every run ran to its end and accounted for every interrupt raised; absent in documents of earlier versions, which did not check"),
      median: num, min: num, max: num, runs: z.number().int(),
      injections: z.number().int(), perVcpu: z.array(z.number().int().min(1)).describe("completed injections a run, per vCPU; every vCPU has a device, so none is zero"),
      cyclesPerSecond: num,
    }),
    z.strictObject({
      variant: z.string(), pcpus: z.number().int(),
      outcome: z.enum(["deadlock", "error", "lost"]).describe("what a run did instead of completing its injections: no figure"),
      note: z.string(),
      run: z.number().int().nonnegative().describe("the run that failed: 0 is the warm-up, 1 the first timed run"),
    }),
  ]).optional().describe("whole-stack completed injections per wall-second"),
});
export type BenchResult = z.infer<typeof BenchResult>;

/** Validate a parsed document; throws with the first bad field. */
export function parseBenchResult(v: unknown, origin = "result"): BenchResult {
  const r = checkAgainst(BenchResult, v);
  if ("data" in r) return r.data;
  throw new Error(`${origin}: ${r.message}`);
}

const round2 = (xs: number[]) => xs.map((x) => Math.round(x * 100) / 100);

/** The load average now (1, 5, 15 minutes), rounded. */
export function loadNow(): number[] { return round2(loadavg()); }

/** Spread of timed runs: (max - min) / median, in percent. */
export function spread(r: { median: number; min: number; max: number }): number {
  return r.median > 0 ? Math.round(((r.max - r.min) / r.median) * 1000) / 10 : 0;
}

export function hostInfo(): BenchResult["host"] {
  const c = cpus();
  return { node: process.version, platform: platform(), arch: arch(), cpu: c[0]?.model ?? "unknown", cpus: c.length, load: { start: round2(loadavg()) } };
}

export function profileInfo(p: CostProfile, origin: string): BenchResult["profile"] {
  const costs: Record<string, number> = {};
  for (const n of COST_NAMES) costs[n] = p.costs[n].cycles;
  return { name: p.name, origin, hz: p.hz, costs };
}

// ---- comparison

export interface Change {
  section: "latency" | "hardware" | "machine" | "stack";
  key: string;
  unit: string;
  old: number | string;
  now: number | string;
  /** now - old, and relative change; absent for outcomes */
  delta?: number;
  ratio?: number;
}

export interface Comparison {
  /** every figure measured the same way in both documents */
  changes: Change[];
  /** what could not be compared, and why, one line each */
  notCompared: string[];
}

/** Why two profiles give different modelled cycles, or undefined when they
 *  are the same (name, clock and every cost). */
export function profileDifference(a: BenchResult["profile"], b: BenchResult["profile"]): string | undefined {
  if (a.name !== b.name) return `profile ${a.name} before, ${b.name} now`;
  if (a.hz !== b.hz) return `profile ${a.name} at ${a.hz} Hz before, ${b.hz} Hz now`;
  const costs = [...new Set([...Object.keys(a.costs), ...Object.keys(b.costs)])].filter((k) => a.costs[k] !== b.costs[k]);
  if (costs.length > 0) return `profile ${a.name} with other costs: ${costs.map((k) => `${k} ${a.costs[k] ?? "none"} before, ${b.costs[k] ?? "none"} now`).join(", ")}`;
  return undefined;
}

export const SECTIONS: readonly Change["section"][] = ["hardware", "machine", "stack", "latency"];

/** What the stack figure measured: the design and the pCPUs. */
export const stackKey = (s: { variant: string; pcpus: number }): string => `${s.variant}, ${s.pcpus} pCPUs`;

/** The change of every figure measured the same way in both documents
 *  (medians): latency by path and design under the same cost profile,
 *  hardware and machine rates by name, the stack by design and pCPUs; and
 *  what could not be compared. */
export function compareResults(old: BenchResult, now: BenchResult): Comparison {
  const out: Change[] = [];
  const notCompared: string[] = [];
  const numeric = (section: Change["section"], key: string, unit: string, a: number, b: number) => {
    out.push({ section, key, unit, old: a, now: b, delta: b - a, ratio: a === 0 ? (b === 0 ? 0 : Infinity) : (b - a) / a });
  };
  /** Pair the figures of a section by key; those in one document only are counted. */
  const pair = <T>(section: Change["section"], before: readonly T[], after: readonly T[], key: (x: T) => string, both: (k: string, a: T, b: T) => void) => {
    const prev = new Map(before.map((x) => [key(x), x]));
    let onlyNow = 0;
    for (const x of after) {
      const k = key(x);
      const q = prev.get(k);
      if (q === undefined) onlyNow++;
      else {
        prev.delete(k);
        both(k, q, x);
      }
    }
    const parts = [];
    if (prev.size > 0) parts.push(`${prev.size} only in the earlier document (${[...prev.keys()].slice(0, 3).join("; ")}${prev.size > 3 ? "; ..." : ""})`);
    if (onlyNow > 0) parts.push(`${onlyNow} only in this run`);
    if (parts.length > 0) notCompared.push(`${section}: figures ${parts.join(", ")}`);
  };
  if (old.latency && now.latency) {
    const why = profileDifference(old.profile, now.profile);
    if (why !== undefined) notCompared.push(`latency: modelled cycles of another cost profile (${why})`);
    else {
      pair("latency", old.latency.paths, now.latency.paths, (p) => `${p.path} ${p.variant}`, (key, q, p) => {
        if (p.outcome !== q.outcome) out.push({ section: "latency", key, unit: "outcome", old: q.outcome, now: p.outcome });
        else if (p.total !== undefined && q.total !== undefined) numeric("latency", key, "cycles (median)", q.total.median, p.total.median);
      });
    }
  }
  if (old.hardware && now.hardware) pair("hardware", old.hardware, now.hardware, (r) => r.name, (k, q, r) => numeric("hardware", k, "ops/s (median)", q.median, r.median));
  if (old.machine && now.machine) pair("machine", old.machine.rates, now.machine.rates, (r) => r.name, (k, q, r) => numeric("machine", k, "steps/s (median)", q.median, r.median));
  if (old.stack && now.stack) {
    const what = stackKey;
    const [a, b] = [old.stack, now.stack];
    if (what(a) !== what(b)) notCompared.push(`stack: another measurement (${what(a)} before, ${what(b)} now)`);
    else if ("median" in a && "median" in b) numeric("stack", what(b), "injections/s (median)", a.median, b.median);
    else if ((a.outcome ?? "ok") !== (b.outcome ?? "ok")) out.push({ section: "stack", key: what(b), unit: "outcome", old: a.outcome ?? "ok", now: b.outcome ?? "ok" });
  }
  const notNow = SECTIONS.filter((s) => section(old, s) && !section(now, s));
  if (notNow.length > 0) notCompared.push(`not run now: ${notNow.join(", ")}`);
  const notBefore = SECTIONS.filter((s) => !section(old, s) && section(now, s));
  if (notBefore.length > 0) notCompared.push(`not in the earlier document: ${notBefore.join(", ")}`);
  return { changes: out, notCompared };
}

function section(r: BenchResult, s: Change["section"]): boolean {
  return (s === "latency" ? r.latency : s === "hardware" ? r.hardware : s === "machine" ? r.machine : r.stack) !== undefined;
}

/** Before a run: why none of its sections could be compared with `old`,
 *  or an empty list when one could (the run itself may still have figures
 *  the other lacks: compareResults says which). */
export function nothingInCommon(old: BenchResult, plan: {
  sections: readonly Change["section"][]; profile: BenchResult["profile"]; variants: readonly string[]; stack: { variant: string; pcpus: number };
}): string[] {
  const why: string[] = [];
  for (const s of plan.sections) {
    if (!section(old, s)) why.push(`${s}: not in it`);
    else if (s === "latency") {
      const d = profileDifference(old.profile, plan.profile);
      const common = plan.variants.filter((v) => old.latency!.variants.includes(v));
      if (d !== undefined) why.push(`latency: another cost profile (${d})`);
      else if (common.length === 0) why.push(`latency: no design in common (${old.latency!.variants.join(", ")} before, ${plan.variants.join(", ")} now)`);
      else return [];
    } else if (s === "stack") {
      if (stackKey(old.stack!) !== stackKey(plan.stack)) why.push(`stack: another measurement (${stackKey(old.stack!)} before, ${stackKey(plan.stack)} now)`);
      else return [];
    } else return [];
  }
  return why;
}

export function formatChanges(changes: Change[], threshold = 0): string {
  // plain numbers (grouped thousands, one decimal below 100), columns as
  // wide as their widest entry
  const num = (x: number | string) => typeof x !== "number" ? String(x)
    : Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : (Math.round(x * 10) / 10).toString();
  const rows: string[][] = [["section", "figure", "before", "now", "change", ""]];
  let same = 0;
  for (const c of changes) {
    if (c.delta === undefined) {
      rows.push([c.section, c.key, String(c.old), String(c.now), "outcome changed", ""]);
      continue;
    }
    if (Math.abs(c.ratio!) <= threshold) { same++; continue; }
    const pctText = Number.isFinite(c.ratio!) ? `${c.ratio! >= 0 ? "+" : ""}${(c.ratio! * 100).toFixed(1)}%` : "new";
    rows.push([c.section, c.key, num(c.old), num(c.now), pctText, c.unit]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((x, i) => (i >= 2 && i <= 4 ? x.padStart(w[i]!) : x.padEnd(w[i]!))).join("  ").trimEnd());
  if (same > 0) lines.push(`(${same} figures unchanged)`);
  return lines.join("\n");
}
