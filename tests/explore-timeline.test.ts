// The counterexample timeline (host/explore/timeline.ts) against the seed's
// rank-abba race on Xen 4.8: vIRQ 40 (n) is MIGRATING in vCPU1's HW list
// register when pCPU0 writes ITARGETSR for 41 (m, same rank): pCPU0 takes the
// rank lock then wants vCPU1's vgic lock (vgic_store_itargetsr ->
// vgic_migrate_irq), while pCPU1, folding the LR in gic_update_one_lr under
// the vgic lock, clears MIGRATING and wants the rank lock
// (vgic_get_target_vcpu): Xen 4.8 xen/arch/arm/gic.c and vgic-v2.c.

import { describe, expect, it } from "vitest";
import { explore, explain, runOnce } from "../host/explore/engine.ts";
import { timeline, type Timeline } from "../host/explore/timeline.ts";
import { Sched } from "../host/sim/sched.ts";
import { scenarioNamed } from "../host/xen/scenarios.ts";

const scenario = scenarioNamed("rank-abba");
const found = explore({ scenario, variant: "xen-4.8" }).counterexample!;
const tl: Timeline = timeline(scenario, "xen-4.8", found.schedule);
const at = (re: RegExp) => {
  const i = tl.steps.findIndex((s) => re.test(s.text));
  if (i < 0) throw new Error(`no step matches ${re}`);
  return tl.steps[i]!;
};

describe("timeline of rank-abba under xen-4.8", () => {
  it("tells the explorer's story line for line, and recording does not change the run", () => {
    expect(tl.steps.map((s) => s.text)).toEqual(found.narrative);
    expect(tl.traceHash).toBe(found.traceHash);
    expect(tl.reason).toBe("deadlock");
    expect(tl.findings.map((f) => f.kind)).toEqual(found.findings.map((f) => f.kind));
    const plain = runOnce(scenario, "xen-4.8", Sched.replay(found.schedule), true);
    expect(explain(plain.run, plain.findings)).toEqual(found.narrative);
  });

  it("starts from the set-up: n MIGRATING and active in vCPU1's HW LR, m idle", () => {
    const s = tl.steps[0]!.state;
    expect(s.irqs.map((q) => q.irq)).toEqual([40, 41]);
    const n = s.irqs[0]!;
    expect(n.status).toBe("VISIBLE|ENABLED|MIGRATING");
    expect(n.lr).toBe(0);
    expect(n.inflight).toBe("d1v1");
    expect(n.target).toBe("d1v0"); // the guest already moved it to vCPU0
    expect(n.physActive).toBe(true); // acknowledged by Xen (EOImode=1), deactivated by the guest's EOI
    expect(s.pcpus[1]!.lrs[0]).toBe("v40 active hw p40");
    expect(s.pcpus[0]!.lrs.every((l) => l === "-")).toBe(true);
    expect(s.irqs[1]).toMatchObject({ irq: 41, status: "ENABLED", lr: null, inflight: null, target: "d1v1" });
  });

  it("the guest's EOI of the HW LR deactivates the physical interrupt (IHI 0048B 5.4.1)", () => {
    const s = at(/writes GICV_EOIR = 0x28/).state;
    expect(s.pcpus[1]!.lrs[0]).toBe("-");
    expect(s.irqs[0]!.physActive).toBe(false);
    expect(s.irqs[0]!.status).toContain("MIGRATING"); // Xen has not folded the LR yet
  });

  it("gic_update_one_lr folds the LR under the vgic lock and clears MIGRATING", () => {
    const s = at(/pCPU1: writes GICH_LR0 = 0x0/).state;
    expect(s.pcpus[1]!.held).toEqual(["d1v1.vgic"]);
    expect(s.pcpus[1]!.stack.slice(-2)).toEqual(["gic_clear_lrs", "gic_update_one_lr"]);
    expect(s.irqs[0]).toMatchObject({ status: "ENABLED", lr: null, inflight: null });
  });

  it("ends in the ABBA: pCPU0 holds the rank lock and spins on vgic, pCPU1 the reverse", () => {
    const d = at(/DEADLOCK/);
    expect(d.thread).toBe("pCPU1");
    const [p0, p1] = d.state.pcpus;
    expect(p0).toMatchObject({ state: "waiting", held: ["d1.rank1"], spinsOn: "d1v1.vgic", irqMasked: true });
    expect(p0!.stack.at(-1)).toBe("vgic_v2_distr_mmio_write");
    expect(p1).toMatchObject({ state: "waiting", held: ["d1v1.vgic"], spinsOn: "d1.rank1" });
    expect(p1!.stack.at(-1)).toBe("gic_update_one_lr");
    expect(d.state.locks).toEqual([
      { name: "d1.rank1", holder: "pCPU0", waiters: ["pCPU1"] },
      { name: "d1v1.vgic", holder: "pCPU1", waiters: ["pCPU0"] },
    ]);
  });

  it("each step's state is the one after its line: a lock shows as held from its 'takes' line on", () => {
    const i = tl.steps.findIndex((s) => /pCPU0: vgic_v2_distr_mmio_write takes d1.rank1/.test(s.text));
    expect(tl.steps[i - 1]!.state.locks.find((l) => l.name === "d1.rank1")).toBeUndefined();
    expect(tl.steps[i]!.state.locks.find((l) => l.name === "d1.rank1")).toEqual({ name: "d1.rank1", holder: "pCPU0", waiters: [] });
  });

  it("is plain data a worker can post", () => {
    expect(structuredClone(tl)).toEqual(tl);
  });
});

describe("timeline of second-irq-lazy-clear under xen-4.8: the thread's open question", () => {
  // A second injection while the SPI is MIGRATING in the old vCPU's LR only
  // sets QUEUED (vgic_vcpu_inject_irq: it is still on inflight_irqs), and the
  // old pCPU's gic_update_one_lr, folding the LR, unlinks it without
  // re-raising it (Xen 4.8 xen/arch/arm/gic.c): QUEUED on no list.
  const s = scenarioNamed("second-irq-lazy-clear");
  const c = explore({ scenario: s, variant: "xen-4.8" }).counterexample!;
  const t = timeline(s, "xen-4.8", c.schedule);
  const lost = (st: Timeline["steps"][number]) =>
    st.state.irqs.some((q) => q.status.includes("QUEUED") && q.inflight === null && q.lrQueue === null && q.lr === null);

  it("the injection into the new vCPU leaves the SPI on the old vCPU's inflight list", () => {
    const inj = t.steps.find((st) => /pCPU0: vgic_vcpu_inject_irq takes d1v1\.vgic/.test(st.text))!;
    expect(inj.state.irqs[0]).toMatchObject({ irq: 40, status: "QUEUED|VISIBLE|ENABLED|MIGRATING", lr: 0, inflight: "d1v0", target: "d1v1" });
  });

  it("it is QUEUED on no list from the old pCPU's LR write on, to the end", () => {
    const k = t.steps.findIndex(lost);
    expect(t.steps[k]!.text).toMatch(/pCPU0: writes GICH_LR0 = 0x0$/);
    expect(t.steps[k]!.state.pcpus[0]!.stack.at(-1)).toBe("gic_update_one_lr");
    expect(t.steps.slice(k).every(lost)).toBe(true);
    expect(t.findings.map((f) => f.kind)).toContain("lost");
  });
});
