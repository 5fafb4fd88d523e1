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

const w = workload("seed-migrate");
const DURATION = 4_800_000; // 2 ms after boot
const results = new Map<string, WorkloadResult>();
function run(variant: string): WorkloadResult {
  if (!results.has(variant)) results.set(variant, runWorkload(w, { variant, duration: DURATION }).result);
  return results.get(variant)!;
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
  }

  it("xen-4.9: no lock inversion, no deadlock, nothing dropped or lost", () => {
    const r = run("xen-4.9");
    expect(r.outcome).toBe("completed");
    expect(r.findings.filter((f) => f.kind === "lock-inversion" || f.kind === "deadlock")).toEqual([]);
    expect(r.interrupts.dropped).toBe(0);
    // (not asserted: nothing lost - the thread's open question, a second
    // interrupt injected while MIGRATING, can still lose one under 4.9)
    expect(r.guest.affinityWrites).toBeGreaterThan(10);
    expect(r.vgic.migrations).toBeGreaterThan(0);
  });
});

describe("README: the figures it quotes for npm start's seed workload", () => {
  it("are those of the workload's own run (its whole duration) under xen-4.9 and new-vgic", () => {
    const readme = readFileSync("README.md", "utf8").replace(/\s+/g, " ");
    const m = /`npm start`'s seed workload: xen-4\.9 delivers (\d+) and loses (\d+) \(eth0-tx, QUEUED on no list: the thread's open question\), new-vgic delivers (\d+) and loses none, handler latency p50 (\d+) \/ (\d+), p99 ([\d,]+) on both\./.exec(readme);
    expect(m, "the sentence is in the README").not.toBeNull();
    const old = runWorkload(w, { variant: "xen-4.9" }).result, neu = runWorkload(w, { variant: "new-vgic" }).result;
    const p99 = Number(m![6]!.replace(/,/g, ""));
    expect([old.interrupts.delivered, old.interrupts.lost, neu.interrupts.delivered, neu.interrupts.lost]).toEqual([Number(m![1]), Number(m![2]), Number(m![3]), 0]);
    expect([old.latency.handler.p50, neu.latency.handler.p50, old.latency.handler.p99, neu.latency.handler.p99]).toEqual([Number(m![4]), Number(m![5]), p99, p99]);
    // every loss is eth0-tx's, QUEUED on no list
    const lossy = old.interrupts.sources.filter((s) => s.lost > 0);
    expect(lossy.map((s) => [s.name, Object.keys(s.lostReasons)])).toEqual([["eth0-tx", ["QUEUED on no list (vGIC finding)"]]]);
  });
});
