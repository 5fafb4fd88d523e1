// checkVgic's pending_irq -> list register direction for the original vGIC:
// VISIBLE exactly when p->lr names a list register, and that register of
// the interrupt's vCPU (live, or saved while it is switched out) is in use
// and holds it. Xen 4.9's gic.c changes VISIBLE and p->lr together under
// the vCPU's vgic lock (gic_set_lr; gic_update_one_lr's retire;
// gic_restore_pending_irqs' eviction), so at a quiescent moment they agree.
// Planted: gic_update_one_lr not clearing VISIBLE, which fuzzed identical to
// the clean design before this direction was checked.

import { describe, expect, it } from "vitest";
import { buildSystem, type System } from "../host/xen/system.ts";
import { guestCpuInterfaces, guestIrq, inListRegister } from "../host/xen/setup.ts";
import { checkVgic } from "../host/check/vgic.ts";
import { isOldVgic } from "../host/xen/design.ts";
import type { Vgic } from "../host/xen/vgic.ts";
import { GIC_INVALID_LR, GIC_IRQ_GUEST_VISIBLE } from "../host/xen/pending.ts";
import { GICH, LrState, encodeLr } from "../host/hw/regs.ts";
import { fuzz } from "../host/fuzz/index.ts";

/** xen-4.9, vCPU0 and vCPU1 on pCPU0 (vCPU1 switched out), vCPU2 on pCPU1 */
function system(): { sys: System; vgic: Vgic } {
  const sys = buildSystem({ variant: "xen-4.9", pcpus: 2, placement: [0, 1, 0], routed: [40, 41], programs: [undefined, undefined, undefined], instantBoot: true });
  guestCpuInterfaces(sys);
  guestIrq(sys, { irq: 40, target: 0 });
  guestIrq(sys, { irq: 41, target: 2 });
  if (!isOldVgic(sys.vgic)) throw new Error("not the original vGIC");
  return { sys, vgic: sys.vgic };
}
const found = (sys: System) => checkVgic(sys.vgic, sys.gic).map((f) => `${f.kind}:${f.path} ${f.irq}`);

describe("VISIBLE against the list registers", () => {
  it("agrees for an interrupt in a live list register, retired by an EOI not yet folded or not", () => {
    const { sys, vgic } = system();
    inListRegister(sys, 0, 40, 1, false);
    expect(found(sys)).toEqual([]);
    // the guest's EOI leaves the ID in the register, its state invalid
    const lr = encodeLr({ virtualId: 40, physicalId: 40, eoi: false, priority: 0xa0, state: LrState.Invalid, group1: false, hw: true });
    sys.gic.writeHyp(0, GICH.LR + 4, lr);
    expect(found(sys).filter((f) => f.startsWith("lr-mismatch"))).toEqual([]);
    // another interrupt in that register
    sys.gic.writeHyp(0, GICH.LR + 4, encodeLr({ virtualId: 41, physicalId: 0, eoi: false, priority: 0xa0, state: LrState.Pending, group1: false, hw: false }));
    expect(found(sys)).toContain("lr-mismatch:visible-not-in-lr 40");
    void vgic;
  });

  it("reads a switched-out vCPU's saved list registers", () => {
    const { sys, vgic } = system();
    const v2 = vgic.d.vcpu[2]!;
    expect(v2.saved).not.toBeNull();
    const p = vgic.d.irq_to_pending(v2, 41);
    v2.saved!.lrs[0] = encodeLr({ virtualId: 41, physicalId: 41, eoi: false, priority: 0xa0, state: LrState.Pending, group1: false, hw: true });
    v2.saved!.lr_mask[0] = 1;
    p.lr = 0;
    p.set_bit(GIC_IRQ_GUEST_VISIBLE);
    v2.inflight_irqs.insertByPriority(p);
    expect(found(sys).filter((f) => f.startsWith("lr-mismatch"))).toEqual([]);
    // the live registers of its pCPU (vCPU0's) are not its own
    v2.saved!.lr_mask[0] = 0;
    expect(found(sys)).toContain("lr-mismatch:visible-not-in-lr 41");
  });

  it("finds VISIBLE with no list register, and a list register without VISIBLE", () => {
    const a = system();
    inListRegister(a.sys, 0, 40, 1, false);
    const p = a.vgic.d.spi_to_pending(40);
    p.lr = GIC_INVALID_LR;
    expect(found(a.sys)).toContain("lr-mismatch:visible-not-in-lr 40");
    const b = system();
    inListRegister(b.sys, 0, 40, 1, false);
    b.vgic.d.spi_to_pending(40).clear_bit(GIC_IRQ_GUEST_VISIBLE);
    expect(found(b.sys)).toContain("lr-mismatch:lr-not-visible 40");
  });

  it("finds gic_update_one_lr keeping VISIBLE, planted, which the clean design never shows", () => {
    const sigs = (faults: string[]) => Object.keys(fuzz({ target: "vgic", seed: 1, cases: 60, params: { variant: "xen-4.9" }, faults, signaturesOnly: true }).signatures);
    expect(sigs(["visible-kept"])).toContain("lr-mismatch:visible-not-in-lr");
    expect(sigs([]).filter((s) => s.startsWith("lr-mismatch"))).toEqual([]);
  });
});
