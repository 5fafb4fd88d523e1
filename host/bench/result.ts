// The `vgic bench --json` document: one zod schema validates it and
// generates schemas/bench.schema.json (host/schemas.ts; a test keeps the two
// equal). Also where the document is assembled (the host it
// ran on, the profile it used) and compared with an earlier one (--compare).

import { cpus, arch, loadavg, platform } from "node:os";
import { z } from "zod";
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
  measured: z.number().int().nonnegative(),
  total: Summary.optional().describe("modelled cycles over the measured repetitions"),
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
  const r = BenchResult.safeParse(v);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new Error(`${origin}: ${i.path.join(".") || "(root)"}: ${i.message}`);
  }
  return r.data;
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

/** Every figure present in both documents, with its change (medians). */
export function compareResults(old: BenchResult, now: BenchResult): Change[] {
  const out: Change[] = [];
  const numeric = (section: Change["section"], key: string, unit: string, a: number, b: number) => {
    out.push({ section, key, unit, old: a, now: b, delta: b - a, ratio: a === 0 ? (b === 0 ? 0 : Infinity) : (b - a) / a });
  };
  if (old.latency && now.latency) {
    const prev = new Map(old.latency.paths.map((p) => [`${p.path} ${p.variant}`, p]));
    for (const p of now.latency.paths) {
      const key = `${p.path} ${p.variant}`;
      const q = prev.get(key);
      if (q === undefined) continue;
      if (p.outcome !== q.outcome || p.total === undefined || q.total === undefined) {
        if (p.outcome !== q.outcome) out.push({ section: "latency", key, unit: "outcome", old: q.outcome, now: p.outcome });
        continue;
      }
      numeric("latency", key, "cycles (median)", q.total.median, p.total.median);
    }
  }
  if (old.hardware && now.hardware) {
    const prev = new Map(old.hardware.map((r) => [r.name, r]));
    for (const r of now.hardware) {
      const q = prev.get(r.name);
      if (q !== undefined) numeric("hardware", r.name, "ops/s (median)", q.median, r.median);
    }
  }
  if (old.machine && now.machine) {
    const prev = new Map(old.machine.rates.map((r) => [r.name, r]));
    for (const r of now.machine.rates) {
      const q = prev.get(r.name);
      if (q !== undefined) numeric("machine", r.name, "steps/s (median)", q.median, r.median);
    }
  }
  if (old.stack && now.stack) {
    const key = `${now.stack.variant}, ${now.stack.pcpus} pCPUs`;
    const [a, b] = [old.stack, now.stack];
    if ("median" in a && "median" in b) numeric("stack", key, "injections/s (median)", a.median, b.median);
    else if ((a.outcome ?? "ok") !== (b.outcome ?? "ok")) out.push({ section: "stack", key, unit: "outcome", old: a.outcome ?? "ok", now: b.outcome ?? "ok" });
  }
  return out;
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
