// The benchmark's machinery, not its speed: stage breakdowns add up, the
// paths that correspond to published figures reproduce the profile's inputs,
// the --json document matches its schema, --compare reports a planted
// change, and a design that drops an interrupt on a path says so.
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runLatencyBench, summarize, type LatencyResult, type PathResult } from "../host/bench/latency.ts";
import { runHardwareBench } from "../host/bench/hw.ts";
import { runSimBench } from "../host/bench/sim.ts";
import { benchCommand } from "../host/bench/command.ts";
import { UsageError } from "../host/options.ts";
import { runStackBench, stackRun } from "../host/bench/stack.ts";
import {
  BenchResult, compareResults, formatChanges, parseBenchResult,
} from "../host/bench/result.ts";
import { defaultProfile } from "../host/sim/profile.ts";
import type { CostProfile } from "../host/sim/api.ts";
import { minimalTrapCycles, trapResidualCycles } from "../host/xen/hypervisor.ts";

const profile = defaultProfile();
const all = runLatencyBench({ profile, reps: 20, seed: 3, keepSamples: true });
const find = (r: LatencyResult, path: string, variant: string): PathResult => {
  const p = r.paths.find((x) => x.path === path && x.variant === variant);
  if (p === undefined) throw new Error(`no ${path} for ${variant}`);
  return p;
};

/** A copy of the profile with one cost changed. */
function withCost(name: "mmioTrap" | "gicvAccess" | "gichAccess", cycles: number): CostProfile {
  return { ...profile, name: `${profile.name}-${name}-${cycles}`, costs: { ...profile.costs, [name]: { ...profile.costs[name], cycles } } };
}

describe("latency paths", () => {
  it("every path runs for every variant", () => {
    const ids = new Set(all.paths.map((p) => p.path));
    for (const id of ["spi-running/handler", "spi-running/eoi", "spi-kick/handler", "spi-kick/eoi", "spi-wfi/handler",
      "spi-wfi/eoi", "virq-completion", "virtual-ipi", "trap", "migration", "lr-overflow"]) {
      expect(ids.has(id), id).toBe(true);
      for (const v of all.variants) find(all, id, v);
    }
    expect(all.variants).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]);
  });

  it("each repetition's stages add up to its total, and the stage means to the mean total", () => {
    let checked = 0;
    for (const p of all.paths) {
      for (const s of p.samples ?? []) {
        expect(s.stages.reduce((a, [, c]) => a + c, 0)).toBe(s.total);
        for (const [, c] of s.stages) expect(c).toBeGreaterThanOrEqual(0);
        checked++;
      }
      if (p.total !== undefined) {
        expect(p.stages.reduce((a, s) => a + s.mean, 0)).toBeCloseTo(p.total.mean, 6);
        expect(p.total.min).toBeLessThanOrEqual(p.total.median);
        expect(p.total.median).toBeLessThanOrEqual(p.total.p99);
        expect(p.total.p99).toBeLessThanOrEqual(p.total.max);
      }
    }
    expect(checked).toBeGreaterThan(500);
  });

  it("measured counts repetitions that reached the end, sampled the values summarised: several a repetition on lr-overflow", () => {
    // (a path that stopped measuring would leave this loop asserting nothing)
    expect(all.paths.filter((p) => p.outcome === "ok").map((p) => p.path)).toContain("lr-overflow");
    for (const p of all.paths) {
      if (p.outcome !== "ok") continue;
      expect(p.measured, `${p.path} ${p.variant}`).toBe(p.reps);
      expect(p.sampled).toBe(p.samples!.length);
      // six SPIs at four list registers: at least two wait each repetition
      if (p.path === "lr-overflow") expect(p.sampled).toBeGreaterThanOrEqual(2 * p.reps);
      else expect(p.sampled).toBe(p.measured);
    }
  });

  it("the stages name the path's steps: kick on another pCPU, lr_pending wait on overflow", () => {
    const stages = (path: string) => find(all, path, "xen-4.9").stages.map((s) => s.stage);
    expect(stages("spi-running/eoi")).toEqual(expect.arrayContaining(
      ["physical delivery", "hypervisor entry", "LR clean-up", "injection", "LR write", "return to guest", "guest acknowledge", "handler", "EOI"]));
    expect(stages("spi-kick/handler")).toContain("kick");
    expect(stages("spi-running/handler")).not.toContain("kick");
    expect(stages("lr-overflow")).toContain("waiting on lr_pending");
    expect(stages("virtual-ipi")).toEqual(expect.arrayContaining(["trap emulation", "kick", "guest acknowledge"]));
    // the timing varies across repetitions where the cause can land at any phase
    const t = find(all, "spi-running/handler", "xen-4.9").total!;
    expect(t.max).toBeGreaterThan(t.min);
  });

  it("an interrupt controller trap (GICD_TYPER read) costs the profile's mmioTrap exactly, for every design of the old vGIC", () => {
    // The new vGIC's entry and exit do nothing for an empty ap_list
    // (vgic_sync_from_lrs and vgic_sync_to_lrs return at list_empty), where
    // the old one always clears GICH_HCR.UIE (a GICH read and write) and
    // takes the vgic lock twice (gic_clear_lrs, gic_restore_pending_irqs).
    const c = profile.costs;
    const skipped = 2 * c.gichAccess.cycles + 2 * (c.lockAcquire.cycles + c.lockRelease.cycles);
    for (const v of all.variants) {
      const p = find(all, "trap", v);
      expect(p.outcome).toBe("ok");
      const cycles = v === "new-vgic" ? 1356 - skipped : 1356;
      expect(p.total).toMatchObject({ median: cycles, min: cycles, max: cycles });
      expect(p.published?.cycles).toBe(1356);
      expect(p.published?.name).toMatch(/Dall et al\., ISCA 2016, Table II/);
    }
    expect(minimalTrapCycles(profile) + trapResidualCycles(profile)).toBe(1356);
  });

  it("the trap calibration follows the profile: another mmioTrap, another round trip", () => {
    const p2 = withCost("mmioTrap", 2000);
    const r = runLatencyBench({ profile: p2, reps: 5, variants: ["xen-4.8"], paths: ["trap"] });
    expect(find(r, "trap", "xen-4.8").total?.median).toBe(2000);
    // a profile whose bookkeeping already exceeds mmioTrap gets no residual, and overshoots
    const p3 = withCost("gichAccess", 800);
    expect(trapResidualCycles(p3)).toBe(0);
    const r3 = runLatencyBench({ profile: p3, reps: 3, variants: ["xen-4.8"], paths: ["trap"] });
    expect(find(r3, "trap", "xen-4.8").total!.median).toBeGreaterThan(1356);
  });

  it("a virtual IRQ completion is one GICV EOIR write: the profile's virqCompletion (71), no trap", () => {
    for (const v of all.variants) {
      const p = find(all, "virq-completion", v);
      expect(p.total).toMatchObject({ median: 71, max: 71 });
      expect(p.published?.cycles).toBe(profile.costs.virqCompletion.cycles);
      expect(p.stages.map((s) => s.stage)).toEqual(["GICV EOIR write"]);
    }
  });

  it("the hypercall is reported as not modelled, with its published figure", () => {
    expect(all.notModelled).toEqual([expect.objectContaining({ path: "hypercall", reason: expect.stringMatching(/not modelled/) })]);
    expect(all.notModelled[0]!.published.cycles).toBe(376);
  });

  it("migration: v3 as posted and fixed drop the next interrupt (MIGRATING, old LR not yet folded); 4.8 and 4.9 deliver it", () => {
    for (const v of ["v3-posted", "v3-fixed"]) {
      const p = find(all, "migration", v);
      expect(p.outcome).toBe("dropped");
      expect(p.total).toBeUndefined();
      expect(p.note).toMatch(/MIGRATING/);
      expect(p.note).toMatch(/stays active/);
    }
    for (const v of ["xen-4.8", "xen-4.9"]) {
      const p = find(all, "migration", v);
      expect(p.outcome).toBe("ok");
      expect(p.measured).toBe(p.reps);
    }
  });
});

async function runCli(args: string[]): Promise<string> {
  let out = "";
  expect(await benchCommand(args, (s) => { out += s; })).toBe(0);
  return out;
}

describe("vgic bench --json and --compare", () => {
  let doc: unknown;
  beforeAll(async () => { doc = JSON.parse(await runCli(["--latency", "--reps", "4", "--variant", "xen-4.9", "--json"])); });

  it("the --json document validates against its schema (schemas/bench.schema.json, tested in output-schemas)", () => {
    const r = parseBenchResult(doc);
    expect(r.profile).toMatchObject({ name: "xgene-xen", hz: 2.4e9 });
    expect(r.profile.costs.mmioTrap).toBe(1356);
    expect(r.host.node).toBe(process.version);
    expect(r.latency!.paths.length).toBeGreaterThan(8);
    // and the validator does reject
    const bad = structuredClone(doc) as { latency: { paths: Array<{ total?: { median?: unknown } }> } };
    bad.latency.paths[0]!.total!.median = "fast";
    expect(() => parseBenchResult(bad)).toThrow(/^result: latency\.paths\[0\]\.total\.median: got "fast", expected a value of type number$/);
    expect(BenchResult.safeParse({ ...(doc as object), format: "other" }).success).toBe(false);
  });

  it("--compare reports a planted change of a median, and nothing else", async () => {
    const old = structuredClone(doc) as BenchResult;
    const trap = old.latency!.paths.find((p) => p.path === "trap")!;
    trap.total!.median = 1000;
    const { changes, notCompared } = compareResults(old, parseBenchResult(doc));
    expect(notCompared).toEqual([]);
    const moved = changes.filter((c) => c.delta !== 0);
    expect(moved).toEqual([expect.objectContaining({ section: "latency", key: "trap xen-4.9", old: 1000, now: 1356, delta: 356 })]);
    expect(formatChanges(changes)).toMatch(/trap xen-4\.9 +1,000 +1,356 +\+35\.6%/);

    const dir = mkdtempSync(join(tmpdir(), "vgic-bench-"));
    const file = join(dir, "old.json");
    writeFileSync(file, JSON.stringify(old));
    const text = await runCli(["--latency", "--reps", "4", "--variant", "xen-4.9", "--compare", file]);
    expect(text).toMatch(/== change against/);
    expect(text).toMatch(/trap xen-4\.9 +1,000 +1,356 +\+35\.6%/);
  });

  it("--compare prints plain numbers in aligned columns", () => {
    const t = formatChanges([
      { section: "stack", key: "xen-4.9, 4 pCPUs", unit: "injections/s (median)", old: 12345678.9, now: 9876543.2, delta: -2469135.7, ratio: -0.2 },
      { section: "latency", key: "trap xen-4.9", unit: "cycles (median)", old: 1000, now: 1356, delta: 356, ratio: 0.356 },
      { section: "latency", key: "completion xen-4.8", unit: "cycles (median)", old: 71.25, now: 70.5, delta: -0.75, ratio: -0.0105 },
    ]).split("\n");
    expect(t[1]).toMatch(/ 12,345,679 +9,876,543 +-20\.0%  injections\/s/);
    expect(t.join("\n")).not.toMatch(/e\+/);
    expect(t[3]).toMatch(/ 71\.3 +70\.5 +-1\.1%/);
    // right-aligned: each number column ends at the same place on every row
    const end = (line: string, x: string) => line.indexOf(x) + x.length;
    expect(end(t[2]!, "1,356")).toBe(end(t[1]!, "9,876,543"));
    expect(end(t[3]!, "70.5")).toBe(end(t[1]!, "9,876,543"));
  });

  it("--compare reports a changed outcome", () => {
    const old = structuredClone(doc) as BenchResult;
    const p = old.latency!.paths.find((x) => x.path === "migration")!;
    p.outcome = "dropped";
    delete p.total;
    const c = compareResults(old, parseBenchResult(doc)).changes.find((x) => x.key === "migration xen-4.9");
    expect(c).toMatchObject({ old: "dropped", now: "ok", unit: "outcome" });
  });

  it("--compare compares latency only under the same cost profile, and says so", () => {
    const now = parseBenchResult(doc);
    const old = structuredClone(now);
    old.profile.costs.mmioTrap = 2000;
    old.latency!.paths.find((p) => p.path === "trap")!.total!.median = 2000;
    const r = compareResults(old, now);
    expect(r.changes).toEqual([]);
    expect(r.notCompared).toEqual(["latency: modelled cycles of another cost profile (profile xgene-xen with other costs: mmioTrap 2000 before, 1356 now)"]);
    old.profile = { ...now.profile, name: "other" };
    expect(compareResults(old, now).notCompared).toEqual(["latency: modelled cycles of another cost profile (profile other before, xgene-xen now)"]);
  });

  it("--compare says which figures are in one document only", () => {
    const now = parseBenchResult(doc);
    const old = structuredClone(now);
    old.latency!.paths = old.latency!.paths.filter((p) => p.path !== "trap");
    old.latency!.paths.push({ ...old.latency!.paths[0]!, variant: "xen-4.8" });
    const r = compareResults(old, now);
    expect(r.changes.map((c) => c.key)).not.toContain("trap xen-4.9");
    expect(r.changes).toHaveLength(now.latency!.paths.length - 1);
    expect(r.notCompared).toEqual(["latency: figures 1 only in the earlier document (spi-running/handler xen-4.8), 1 only in this run"]);
  });

  it("--compare compares the stack figure only for the same design and pCPUs", () => {
    const stack = { variant: "xen-4.9", pcpus: 4, outcome: "ok" as const, median: 100_000, min: 90_000, max: 110_000, runs: 5, injections: 39_996, perVcpu: [9999, 9999, 9999, 9999], cyclesPerSecond: 4e7 };
    const now = { ...parseBenchResult(doc), stack };
    const same = compareResults({ ...now, stack: { ...stack, median: 80_000 } }, now);
    expect(same.changes.filter((c) => c.section === "stack")).toEqual([expect.objectContaining({ key: "xen-4.9, 4 pCPUs", old: 80_000, now: 100_000 })]);
    for (const [other, says] of [
      [{ ...stack, variant: "xen-4.8", median: 50_000 }, "stack: another measurement (xen-4.8, 4 pCPUs before, xen-4.9, 4 pCPUs now)"],
      [{ ...stack, pcpus: 2, median: 50_000 }, "stack: another measurement (xen-4.9, 2 pCPUs before, xen-4.9, 4 pCPUs now)"],
    ] as const) {
      const r = compareResults({ ...now, stack: other }, now);
      expect(r.changes.filter((c) => c.section === "stack")).toEqual([]);
      expect(r.notCompared).toEqual([says]);
    }
  });

  it("--compare with nothing in common: exit 2 naming why, before running (or after, when only the figures differ)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-bench-"));
    const file = join(dir, "hw.json");
    const hwOnly = { ...(doc as BenchResult), latency: undefined, hardware: [{ name: "x", median: 1, min: 1, max: 1, runs: 1 }] };
    writeFileSync(file, JSON.stringify(hwOnly));
    let out = "";
    const status = await benchCommand(["--latency", "--compare", file], (s) => { out += s; }).catch((e: Error) => e);
    expect(status).toBeInstanceOf(UsageError);
    expect((status as Error).message).toBe(`--compare: ${file} has no figure in common with this run: latency: not in it`);
    expect(out).toBe("");
    // the same sections, no figure of the same name
    const renamed = structuredClone(doc) as BenchResult;
    for (const p of renamed.latency!.paths) p.path = `old-${p.path}`;
    writeFileSync(file, JSON.stringify(renamed));
    out = "";
    expect(await benchCommand(["--latency", "--reps", "2", "--variant", "xen-4.9", "--compare", file], (s) => { out += s; })).toBe(2);
    expect(out).toMatch(/== change against .*\nno figure in common\nnot compared: latency: figures 11 only in the earlier document \(old-spi-running\/handler xen-4\.9; old-spi-running\/eoi xen-4\.9; old-spi-kick\/handler xen-4\.9; \.\.\.\), 11 only in this run\n/);
  });

  it("the table prints the published figures beside the modelled ones and the outcome instead of a number", async () => {
    const text = await runCli(["--latency", "--reps", "3"]);
    expect(text).toMatch(/xen-4\.8 +1356 +1356 +1356 +1356 \(Dall et al\. 2016: Interrupt Controller Trap\)/);
    expect(text).toMatch(/xen-4\.9 +71 +71 +71 +71 \(Dall et al\. 2016: Virtual IRQ Completion\)/);
    expect(text).toMatch(/v3-posted +DROPPED: /);
    // each breakdown line ends with the mean total its stage means add up to
    const lines = text.split("\n").filter((l) => /; mean total \d+$/.test(l));
    expect(lines.length).toBeGreaterThan(10);
    for (const l of lines) {
      const [stages, total] = l.trim().split("; mean total ");
      // each stage is "name N" (a name may hold a comma: "EOI, until raised again")
      const means = [...stages!.matchAll(/ (\d+)(?=, |$)/g)].map((m) => Number(m[1]));
      expect(means.length, l).toBeGreaterThan(0);
      const sum = means.reduce((a, b) => a + b, 0);
      // (each printed mean is rounded)
      expect(Math.abs(sum - Number(total)), l).toBeLessThanOrEqual(means.length);
    }
    expect(text).toMatch(/hypercall round trip: published 376 .* not modelled/);
  });
});

describe("the stack bench drives every vCPU", () => {
  it("each vCPU's device fires every period and each vCPU completes its share, on every design", () => {
    for (const variant of ["xen-4.8", "xen-4.9"]) {
      const cycles = 400_000, period = 4000, pcpus = 4;
      const r = stackRun(variant, pcpus, cycles, period);
      // one edge SPI per vCPU, first at boot + irq, then every period
      expect(r.perVcpu).toHaveLength(pcpus);
      for (const n of r.perVcpu) {
        expect(n).toBeGreaterThanOrEqual(cycles / period - 2);
        expect(n).toBeLessThanOrEqual(cycles / period);
      }
      expect(r.completed).toBe(r.perVcpu.reduce((a, b) => a + b, 0));
    }
  });

  it("the bench fails loudly when a vCPU completed nothing (here: the run ends before any device fires)", () => {
    expect(() => runStackBench({ pcpus: 2, cycles: 30, runs: 1 })).toThrow(/vCPU 0, 1 completed no injection/);
  });
});

describe("the bench says how noisy it was", () => {
  it("prints and records the load average at the start and the end, and each timed section's spread over its runs", async () => {
    const text = await runCli(["--hw", "--iterations", "2000", "--runs", "3"]);
    expect(text).toMatch(/^host: .*, load average [\d.]+ [\d.]+ [\d.]+; profile /m);
    expect(text).toMatch(/^noise: \(max - min\) \/ median over the runs of each operation: [\d.]+% to [\d.]+%, median [\d.]+%$/m);
    expect(text).toMatch(/^load average at the end: [\d.]+ [\d.]+ [\d.]+ /m);
    const doc = parseBenchResult(JSON.parse(await runCli(["--hw", "--iterations", "2000", "--runs", "3", "--json"])));
    expect(doc.host.load!.start).toHaveLength(3);
    expect(doc.host.load!.end).toHaveLength(3);
  });

  it("every median is the middle value, or the mean of the two middle ones: runs of --hw, --sim and --stack, latency repetitions", async () => {
    const { median } = await import("../host/bench/stats.ts");
    expect(median([1, 2, 3])).toBe(2);
    expect(median([1, 2, 3, 10])).toBe(2.5);
    expect(median([7])).toBe(7);
    expect(() => median([])).toThrow(RangeError);
    // two timed runs: the median is halfway between them, not the faster
    const hw = runHardwareBench({ iterations: 2000, runs: 2 });
    const sim = runSimBench({ steps: 2000, runs: 2 }).rates;
    const stack = runStackBench({ pcpus: 2, cycles: 200_000, runs: 2 });
    if (stack.outcome !== "ok") throw new Error(stack.note);
    for (const r of [...hw, ...sim, stack]) {
      expect(r.median).toBeCloseTo((r.min + r.max) / 2, 6);
    }
    expect(summarize([5, 1, 4, 2]).median).toBe(3);
    expect(summarize([5, 1, 4]).median).toBe(4);
  });

  it("--help gives each section's default number of timed runs, the one it uses", async () => {
    const help = await runCli(["--help"]);
    expect(help).toMatch(/--runs N +timed runs of --hw \(7\), --sim \(7\) and --stack \(5\); the median is reported/);
    expect(runHardwareBench({ iterations: 10 }).map((r) => r.runs)).toEqual(new Array(6).fill(7));
    expect(runSimBench({ steps: 10 }).rates.map((r) => r.runs)).toEqual(new Array(5).fill(7));
    expect(runStackBench({ pcpus: 1, cycles: 40_000 })).toMatchObject({ outcome: "ok", runs: 5 });
  });

  it("spread is (max - min) / median in percent", async () => {
    const { spread } = await import("../host/bench/result.ts");
    expect(spread({ median: 200, min: 150, max: 250 })).toBe(50);
    expect(spread({ median: 0, min: 0, max: 0 })).toBe(0);
  });
});
