// The seed's scenario as a workload (workloads/seed-migrate.json): SPIs of
// one rank fire at two busy vCPUs on two pCPUs while an irqbalance-like agent
// moves them between the vCPUs. What each design must show follows from its
// code (XEN-VGIC.md), not from a recorded run:
// - xen-4.8 takes rank -> vgic on ITARGETSR writes and vgic -> rank when
//   gic_update_one_lr retires a MIGRATING interrupt: lockdep reports the
//   inversion (and the run may deadlock);
// - v3-posted and v3-fixed drop an injection that finds MIGRATING still set
//   (a second interrupt on the new pCPU before the old one cleared its LR),
//   and the dropped physical interrupt, only priority-dropped, stays active;
// - xen-4.9 reads rank->vcpu without the rank lock: no inversion, no drop.
//   (It can still lose one: the open question of XEN-VGIC.md.)
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { runWorkload } from "../host/workload/runner.ts";
import type { WorkloadResult } from "../host/workload/runner.ts";
import { workload } from "./workload-helpers.ts";
import { bucketHigh, bucketOf } from "../host/workload/histogram.ts";
import { runLatencyBench } from "../host/bench/latency.ts";
import { defaultProfile } from "../host/sim/profile.ts";

const w = workload("seed-migrate");
const DURATION = 4_800_000; // 2 ms after boot
const results = new Map<string, WorkloadResult>();
function run(variant: string): WorkloadResult {
  if (!results.has(variant)) results.set(variant, runWorkload(w, { variant, duration: DURATION }).result);
  return results.get(variant)!;
}
/** The workload's own run (its whole duration), once per variant. */
const wholeRuns = new Map<string, WorkloadResult>();
function whole(variant: string): WorkloadResult {
  if (!wholeRuns.has(variant)) wholeRuns.set(variant, runWorkload(w, { variant }).result);
  return wholeRuns.get(variant)!;
}
const rankVgic = (r: WorkloadResult) => r.findings.filter((f) => f.kind === "lock-inversion" && /rank -> vgic|vgic -> rank/.test(f.message));

describe("seed-migrate: the designs differ as the thread says", () => {
  it("xen-4.8: lockdep reports the rank/vgic inversion, with or without a deadlock", () => {
    const r = run("xen-4.8");
    expect(rankVgic(r).length).toBeGreaterThan(0);
    expect(["completed", "deadlock"]).toContain(r.outcome);
    // 4.8 can deadlock two ways: the ABBA of the thread (rank and vgic), or
    // the self-deadlock on the rank lock when an ITARGETSR write re-injects an
    // lr_pending interrupt (fixed by 408f16ddb3)
    if (r.outcome === "deadlock") {
      expect([["rank", "vgic"], ["rank"]]).toContainEqual([...new Set(r.deadlock!.map((e) => e.lockClass))].sort());
    }
    expect(r.interrupts.dropped).toBe(0);
  });

  for (const variant of ["v3-posted", "v3-fixed"]) {
    it(`${variant}: drops injections while MIGRATING, and each dropped physical interrupt stays active`, () => {
      const r = run(variant);
      expect(r.interrupts.dropped).toBeGreaterThan(0);
      expect(r.vgic.dropped).toBe(r.interrupts.dropped);
      expect(r.findings.filter((f) => f.kind === "stuck-active").length).toBeGreaterThan(0);
      expect(rankVgic(r)).toEqual([]);
    });

    it(`${variant}: once its injection is dropped, an SPI's physical interrupt stays active and every later raise of that source is lost, none pending`, () => {
      // The drop only priority-drops the physical SPI (v3's vgic_vcpu_inject_irq
      // returns before the list register that would deactivate it), so the
      // distributor never signals it again: the next raise latches pending
      // behind the active state, later ones merge into it, and at the end the
      // check reports it stuck-active. The accounting must call all of them
      // lost, from that finding, not pending: nothing will ever deliver them.
      const r = run(variant);
      const stuckIrqs = r.findings.filter((f) => f.kind === "stuck-active").map((f) => f.irq).sort();
      const spis = r.interrupts.sources.filter((s) => s.type === "spi");
      expect(spis.map((s) => s.name)).toEqual(["eth0-rx", "eth0-tx", "mmc0", "uart0"]);
      expect(stuckIrqs).toEqual([40, 41, 42, 43]);
      for (const s of spis) {
        expect(s.droppedReasons, s.name).toEqual({ MIGRATING: 1 });
        expect(s.pending, s.name).toBe(0);
        expect(s.lost, s.name).toBe(s.raised - s.delivered - s.coalesced - s.dropped);
        // each source's drop comes early in these 2 ms: most raises follow it
        expect(s.lost, s.name).toBeGreaterThan(s.delivered);
        expect(Object.keys(s.lostReasons), s.name).toEqual(["physical interrupt stuck active, or latched behind it (vGIC finding)"]);
      }
      const tick = r.interrupts.sources.find((s) => s.type === "timer")!;
      expect([tick.lost, tick.dropped]).toEqual([0, 0]);
      expect(r.interrupts.lost).toBe(spis.reduce((n, s) => n + s.lost, 0));
    });
  }

  it("xen-4.9: no lock inversion, no deadlock, nothing dropped, and in these 2 ms nothing lost", () => {
    const r = run("xen-4.9");
    expect(r.outcome).toBe("completed");
    expect(r.findings.filter((f) => f.kind === "lock-inversion" || f.kind === "deadlock")).toEqual([]);
    expect(r.interrupts.dropped).toBe(0);
    // 4.9 can still lose one (the thread's open question, a second interrupt
    // injected while MIGRATING): the workload's whole run does, later than
    // 2 ms (the README figures below); this window has no such loss
    expect(r.interrupts.lost).toBe(0);
    expect(r.findings).toEqual([]);
    expect(r.guest.affinityWrites).toBeGreaterThan(10);
    expect(r.vgic.migrations).toBeGreaterThan(0);
  });
});

describe("README: the figures it quotes for npm start's seed workload", () => {
  it("are those of the workload's own run (its whole duration) under xen-4.9 and new-vgic", () => {
    const readme = readFileSync("README.md", "utf8").replace(/\s+/g, " ");
    const m = /`npm start`'s seed workload: xen-4\.9 delivers (\d+) and loses (\d+) \(([\w-]+), QUEUED on no list: the thread's open question\), new-vgic delivers (\d+) and loses none, handler latency p50 (\d+) \/ (\d+), p99 ([\d,]+) \/ ([\d,]+)\./.exec(readme);
    expect(m, "the sentence is in the README").not.toBeNull();
    const old = whole("xen-4.9"), neu = whole("new-vgic");
    const n = (s: string) => Number(s.replace(/,/g, ""));
    expect([old.interrupts.delivered, old.interrupts.lost, neu.interrupts.delivered, neu.interrupts.lost]).toEqual([n(m![1]!), n(m![2]!), n(m![4]!), 0]);
    expect([old.latency.handler.p50, neu.latency.handler.p50, old.latency.handler.p99, neu.latency.handler.p99]).toEqual([n(m![5]!), n(m![6]!), n(m![7]!), n(m![8]!)]);
    // every loss is the named source's, QUEUED on no list
    const lossy = old.interrupts.sources.filter((s) => s.lost > 0);
    expect(lossy.map((s) => [s.name, Object.keys(s.lostReasons)])).toEqual([[m![3], ["QUEUED on no list (vGIC finding)"]]]);
  });
});

describe("README: the new vGIC's worst delay on the seed workload", () => {
  it("is the slowest instance of its whole run on new-vgic, and of the source it names", () => {
    const readme = readFileSync("README.md", "utf8").replace(/\s+/g, " ");
    const m = /delivers every instance on new-vgic, ([\w-]+) at worst ([\d,]+) cycles after its raise\./.exec(readme);
    expect(m, "the sentence is in the README").not.toBeNull();
    const neu = whole("new-vgic");
    const worst = neu.interrupts.sources.reduce((a, b) => (b.latency.handler.max > a.latency.handler.max ? b : a));
    expect([worst.name, worst.latency.handler.max]).toEqual([m![1], Number(m![2]!.replace(/,/g, ""))]);
    for (const src of neu.interrupts.sources) expect(src.lost, src.name).toBe(0);
  });
});

describe("handler latency against the cost profile (profiles/xgene-xen.json, the workload's default)", () => {
  // Every instance of the seed workload (SPIs, and the tick: the virtual
  // timer's PPI or Xen's software timer behind its own PPI) reaches its
  // handler only after, in causal order: the hypervisor's GICC_IAR read
  // returns it (after the raise), a list register is written for it (on
  // this pCPU or, after a kick, another), the pCPU returns to the guest
  // (eret), and the guest's GICV_IAR read returns it (the handler starts
  // when that read completes: host/guest/guest.ts). Everything else on the
  // path (exception entry, priority drop, locks, the LR fold) can be
  // skipped or overlapped by some instance, so the floor is these four.
  // A design that drops an injection credits a later raise with an earlier
  // instance's delivery (the accounting resolves the oldest open instance),
  // so only designs that drop nothing in this workload are held to it.
  const profile = defaultProfile();
  const c = (name: keyof typeof profile.costs) => profile.costs[name].cycles;
  const floor = c("giccAccess") + c("gichAccess") + c("el2Return") + c("gicvAccess");
  const bench = runLatencyBench({ profile, reps: 20, seed: 1, variants: ["xen-4.9", "new-vgic"], paths: ["spi-running"] });

  for (const variant of ["xen-4.9", "new-vgic"]) {
    it(`${variant}: the fastest raise -> handler is at least the path's modelled floor (${floor}) and no slower than the isolated running-vCPU path of vgic bench --latency`, () => {
      expect(floor).toBe(71 + 71 + 65 + 71);
      const r = whole(variant);
      expect(r.interrupts.dropped).toBe(0);
      const h = r.latency.handler;
      // the lowest non-empty bucket holds the minimum: [low, next bucket's low)
      const low = h.histogram[0]![0];
      const high = bucketHigh(bucketOf(low));
      expect(low).toBeGreaterThanOrEqual(floor);
      // In thousands of SPIs some reach a vCPU running on the receiving pCPU
      // with nothing ahead of them; that delivery is the benchmark's
      // spi-running path, or faster (no previous instance to fold, or taken
      // in an exception already under way), so the minimum lies between the
      // floor and that path: within a factor of 6 of the floor here.
      const path = bench.paths.find((p) => p.path === "spi-running/handler" && p.variant === variant)!;
      expect(path.outcome).toBe("ok");
      expect(high).toBeLessThanOrEqual(path.total!.median);
      expect(path.total!.median).toBeLessThanOrEqual(6 * floor);
      expect(h.p50).toBeGreaterThanOrEqual(floor);
    });
  }
});
