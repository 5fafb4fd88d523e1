// checkVgic's liveness judge of a vCPU blocked in WFI: an interrupt in
// flight that is enabled and beats the vCPU's priority mask and active
// priority would wake it, so at the end of a run nothing delivers it. The
// judge looks at every entry of the vCPU's inflight list, not along the
// design's own walk (gic_events_need_delivery, host/xen/vgic.ts
// deliverableInflight), which stops at the first entry the mask hides and
// so, on a list out of priority order, misses the interrupt a judge must
// see: the design's bug would blind the check meant to catch it.

import { describe, expect, it } from "vitest";
import { buildSystem, type System } from "../host/xen/system.ts";
import { guestCpuInterfaces, guestIrq } from "../host/xen/setup.ts";
import { checkVgic } from "../host/check/vgic.ts";
import { isOldVgic } from "../host/xen/design.ts";
import { deliverableInflight, type Vgic } from "../host/xen/vgic.ts";
import { GIC_IRQ_GUEST_QUEUED } from "../host/xen/pending.ts";
import { GICH } from "../host/hw/regs.ts";

/** xen-4.9 with vCPU0 loaded on pCPU0, blocked in WFI with SPIs 40
 *  (priority 0xf0) and 41 (0x80) in flight, its priority mask 0xd0: 41
 *  would wake it, 40 would not. `order` lists the inflight list. */
function blocked(order: number[]): { sys: System; vgic: Vgic } {
  const sys = buildSystem({ variant: "xen-4.9", pcpus: 2, routed: [40, 41], programs: [undefined, undefined], instantBoot: true });
  guestCpuInterfaces(sys);
  guestIrq(sys, { irq: 40, target: 0, priority: 0xf0 });
  guestIrq(sys, { irq: 41, target: 0, priority: 0x80 });
  if (!isOldVgic(sys.vgic)) throw new Error("not the original vGIC");
  const vgic = sys.vgic;
  const v = vgic.d.vcpu[0]!;
  for (const irq of [40, 41]) {
    const p = vgic.d.spi_to_pending(irq);
    p.set_bit(GIC_IRQ_GUEST_QUEUED);
    v.inflight_irqs.insertByPriority(p);
  }
  const items = v.inflight_irqs.items;
  items.sort((a, b) => order.indexOf(a.irq) - order.indexOf(b.irq));
  sys.gic.writeHyp(0, GICH.VMCR, (0xd0 >> 3) << 27);
  v.blocked = true;
  return { sys, vgic };
}

const lost = (sys: System) => checkVgic(sys.vgic, sys.gic).filter((f) => f.kind === "lost").map((f) => `${f.path} ${f.irq} vCPU${f.vcpu}`);

describe("a vCPU blocked in WFI with an interrupt that would wake it", () => {
  it("is lost:blocked-not-woken, the list in priority order", () => {
    const { sys } = blocked([41, 40]);
    expect(lost(sys)).toEqual(["blocked-not-woken 41 vCPU0"]);
  });

  it("is found too when the list is out of order, where the design's own walk stops at the masked entry", () => {
    const { sys, vgic } = blocked([40, 41]);
    const v = vgic.d.vcpu[0]!;
    expect(deliverableInflight(v, sys.gic.readHyp(0, GICH.VMCR), 0)).toBeNull();
    expect(lost(sys)).toEqual(["blocked-not-woken 41 vCPU0"]);
  });

  it("is no finding when the mask hides every interrupt in flight", () => {
    const { sys } = blocked([41, 40]);
    sys.gic.writeHyp(0, GICH.VMCR, (0x80 >> 3) << 27);
    expect(lost(sys)).toEqual([]);
  });
});
