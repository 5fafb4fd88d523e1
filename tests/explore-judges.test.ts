// The explorer's judges against designs with one bug planted each: a judge
// that a broken design passes gives a false "ok" with exit 0. Three bugs
// the shared checks once let through: a guest handler entered for an
// interrupt nothing raised (a duplicate delivery); GIC_IRQ_GUEST_MIGRATING
// left set after the interrupt's last list register retired, which makes
// Xen 4.9's vgic_migrate_irq refuse every later move of it (RELEASE-4.9.0
// xen/arch/arm/vgic.c: "irq %u migration failed: requested while in
// progress"); a vCPU made runnable without the kick that wakes its idle
// pCPU. The built-in designs' verdicts are the README matrix's
// (readme-matrix-*.test.ts): none of these checks changes any of them.
// (Isolated: registers designs.)

import { describe, expect, it } from "vitest";
import { explore, runOnce } from "../host/explore/engine.ts";
import { SCENARIOS, scenarioNamed } from "../host/xen/scenarios.ts";
import { Sched } from "../host/sim/sched.ts";
import { registerVariant, Xen49 } from "../host/xen/variants.ts";
import { GIC_IRQ_GUEST_MIGRATING, GIC_IRQ_GUEST_QUEUED, type PendingIrq } from "../host/xen/pending.ts";
import type { Vcpu } from "../host/xen/domain.ts";
import type { PCpu } from "../host/sim/machine.ts";
import type { Co } from "../host/sim/api.ts";

/** Xen 4.9 whose first retire of each interrupt queues it again and puts it
 *  back in a list register: the guest handles it a second time though no
 *  device raised it again and Xen acknowledged nothing. */
class RaisesRetiredAgain extends Xen49 {
  override readonly variant: string = "test-raises-retired-again";
  private readonly again = new Set<number>();
  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    if (!this.again.has(irq)) {
      this.again.add(irq);
      p.set_bit(GIC_IRQ_GUEST_QUEUED);
      yield* this.gic_raise_guest_irq(ctx, v, irq, p.priority);
      return;
    }
    yield* super.gic_update_one_lr_retire(ctx, v, p, irq);
  }
}

/** Xen 4.9 whose retire moves the physical affinity of a MIGRATING
 *  interrupt but never clears MIGRATING. */
class KeepsMigrating extends Xen49 {
  override readonly variant: string = "test-keeps-migrating";
  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    v.inflight_irqs.del(p);
    if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) {
      const t = yield* this.vgic_get_target_vcpu(ctx, v, irq);
      yield* this.irq_set_affinity(ctx, p.desc!, 1 << t.processor);
    }
  }
}

/** Xen 4.9 whose vcpu_unblock sends no event-check SGI: a blocked vCPU
 *  becomes runnable while its pCPU sleeps on in WFI. It records each vCPU
 *  it so unblocked from another pCPU while that pCPU was idle in WFI: the
 *  only vCPUs the judge may name. */
const unkicked = new Set<number>();
class UnblocksWithoutKick extends Xen49 {
  override readonly variant: string = "test-unblocks-without-kick";
  // eslint-disable-next-line require-yield
  override *vcpu_unblock(ctx: PCpu, v: Vcpu): Co {
    if (!v.blocked) return;
    if (v.processor !== ctx.id && this.machine.cpus[v.processor]!.threadState === "idle") unkicked.add(v.vcpu_id);
    v.blocked = false;
  }
}

registerVariant({ name: "test-unblocks-without-kick", parent: "xen-4.9", summary: "test only: vcpu_unblock without a kick", create: (m, o) => new UnblocksWithoutKick(m, o) });
registerVariant({ name: "test-raises-retired-again", parent: "xen-4.9", summary: "test only: a retired interrupt raised once more", create: (m, o) => new RaisesRetiredAgain(m, o) });
registerVariant({ name: "test-keeps-migrating", parent: "xen-4.9", summary: "test only: MIGRATING never cleared", create: (m, o) => new KeepsMigrating(m, o) });

describe("duplicate deliveries", () => {
  it("a design that hands the guest a retired interrupt again fails every scenario with `duplicate`, naming the interrupt and the counts", () => {
    for (const scenario of SCENARIOS) {
      const r = explore({ scenario, variant: "test-raises-retired-again", budget: 200 });
      expect(r.verdict, scenario.name).toBe("counterexample");
      const dup = r.counterexample!.findings.filter((f) => f.kind === "duplicate");
      expect(dup.length, scenario.name).toBeGreaterThan(0);
      for (const f of dup) {
        expect(f.irq).toBeGreaterThanOrEqual(32);
        expect(f.message).toMatch(new RegExp(`^IRQ ${f.irq} reached a guest handler (\\d+) times? \\(v\\d(, v\\d)*\\) but .* (\\d+) handler entr(y|ies) with no interrupt behind`));
      }
    }
  });

  it("counts the instances a scenario places in a list register or on lr_pending before the run as raised", () => {
    // lr-pending-migrate starts with IRQs 42 and 43 pending in vCPU1's list
    // registers and IRQ 40 on its lr_pending: no physical acknowledge of
    // any during the run, and each reaches the guest once
    const { run, r, findings } = runOnce(scenarioNamed("lr-pending-migrate"), "xen-4.9", Sched.time());
    expect(r.reason).toBe("done");
    const spis = run.delivered.filter((d) => !d.includes("dropped")).map((d) => Number(d.split("@")[0]));
    expect(spis.filter((i) => i === 42 || i === 43).sort()).toEqual([42, 43]);
    expect(findings.filter((f) => f.kind === "duplicate")).toEqual([]);
  });

  it("one entry per physical acknowledge passes: xen-4.9 delivers each raise of every scenario's SPI once", () => {
    for (const scenario of SCENARIOS) {
      const { findings } = runOnce(scenario, "xen-4.9", Sched.time());
      expect(findings.filter((f) => f.kind === "duplicate"), scenario.name).toEqual([]);
    }
  });
});

describe("MIGRATING left set", () => {
  it("a design whose retire never clears MIGRATING fails with `stuck-migrating` where an interrupt moves while in a list register", () => {
    // rank-abba starts with IRQ 40 MIGRATING in vCPU1's list register
    const r = explore({ scenario: scenarioNamed("rank-abba"), variant: "test-keeps-migrating", budget: 200 });
    expect(r.verdict).toBe("counterexample");
    const f = r.counterexample!.findings.find((x) => x.kind === "stuck-migrating");
    expect(f?.irq).toBe(40);
    expect(f?.message).toMatch(/^IRQ 40 is MIGRATING \(.*\) but on no inflight or lr_pending list and in no list register/);
    // xen-4.9 itself clears it when the list register retires
    expect(explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.9", budget: 2000 }).verdict).toBe("exhausted");
  });

  it("is a kind --fail-on knows and fails on by default", async () => {
    const { ALL_KINDS, DEFAULT_FAIL_ON } = await import("../host/explore/engine.ts");
    for (const k of ["duplicate", "stuck-migrating", "stalled"] as const) {
      expect(ALL_KINDS).toContain(k);
      expect(DEFAULT_FAIL_ON).toContain(k);
    }
  });
});

describe("a runnable vCPU on a pCPU idle for good", () => {
  it("is 'stalled' at the end of a run where a vCPU was unblocked without a kick, naming only such vCPUs", () => {
    // each scenario's counterexample, if the planted design has one, is
    // replayed with the plant recording the vCPUs it left without a kick
    let stalls = 0;
    for (const scenario of SCENARIOS) {
      const ce = explore({ scenario, variant: "test-unblocks-without-kick", budget: 200, minimise: false }).counterexample;
      if (ce === undefined) continue;
      unkicked.clear();
      const { r, findings } = runOnce(scenario, "test-unblocks-without-kick", Sched.replay(ce.schedule));
      const named = findings.filter((f) => f.kind === "stalled");
      for (const f of named) {
        expect(r.reason).toBe("done");
        expect([...unkicked], scenario.name).toContain(f.vcpu);
        expect(f.message).toMatch(/^vCPU\d can run \(not blocked\) but its pCPU\d idles in WFI with nothing left to wake it/);
      }
      // the same schedule without the plant: its kicks wake the pCPU
      const clean = runOnce(scenario, "xen-4.9", Sched.replay(ce.schedule, { then: Sched.time() }));
      expect(clean.r.reason, scenario.name).toBe("done");
      expect(clean.findings.filter((f) => f.kind === "stalled"), scenario.name).toEqual([]);
      stalls += named.length;
    }
    expect(stalls).toBeGreaterThan(0);
  });

  it("the explorer finds it in stale-target-inject, where vCPU1 and vCPU2 run no program and wait in WFI for the SPI another pCPU takes", () => {
    const r = explore({ scenario: scenarioNamed("stale-target-inject"), variant: "test-unblocks-without-kick", budget: 200 });
    expect(r.counterexample?.findings.map((f) => f.kind)).toContain("stalled");
  });
});
