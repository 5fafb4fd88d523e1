// The scenario set-up helpers of host/xen/setup.ts for the new vGIC: the
// same situations (an interrupt in a list register, waiting for one, moved
// while in one) written as the new design's state - vgic_irq fields, the
// ap_list, used_lrs - exactly as its own functions would have left it.

import { GICD, GICH, LrState, encodeLr } from "../../hw/regs.ts";
import type { System } from "../system.ts";
import { VGIC_CONFIG_EDGE, VGIC_CONFIG_LEVEL, irq_is_pending } from "./irq.ts";
import type { NewVgic } from "./vgic.ts";

function irqOf(sys: System, vcpu: number, intid: number) {
  const vgic = sys.vgic as unknown as NewVgic;
  return { vgic, v: vgic.d.vcpu[vcpu]!, irq: vgic.vgic_get_irq(vgic.d.vcpu[vcpu]!, intid) };
}

/** What the guest's driver leaves (gic_dist_init enabled the distributor;
 *  ICFGR as the platform describes a routed SPI; IPRIORITYR narrowed to
 *  five bits; ITARGETSR; ISENABLER), with the physical side
 *  vgic_mmio_write_target and vgic_sync_hardware_irq program. */
export function newGuestIrq(sys: System, s: { irq: number; target: number; priority?: number; enabled?: boolean }): void {
  const { vgic, v, irq } = irqOf(sys, s.target, s.irq);
  vgic.dist.enabled = true;
  irq.priority = (s.priority ?? 0xa0) & 0xf8;
  if (s.irq >= 32) {
    irq.targets = 1 << s.target;
    irq.target_vcpu = v;
  }
  const desc = vgic.descs.get(s.irq);
  if (desc !== undefined) {
    irq.config = desc.edge ? VGIC_CONFIG_EDGE : VGIC_CONFIG_LEVEL;
    sys.gic.writeDist(0, GICD.ITARGETSR + s.irq, 1 << v.processor, 1);
  }
  if (s.enabled ?? true) {
    irq.enabled = true;
    if (desc !== undefined) sys.gic.writeDist(0, GICD.ISENABLER + 4 * (s.irq >> 5), 1 << (s.irq & 31));
  }
}

function physicalInProgress(sys: System, intid: number): void {
  if (!sys.vgic.descs.has(intid)) return;
  sys.gic.writeDist(0, GICD.ISACTIVER + 4 * (intid >> 5), 1 << (intid & 31));
}

/** vgic_inject_irq queued it on the vCPU's ap_list (do_IRQ acknowledged the
 *  physical SPI), not yet in a list register. */
export function newOnApList(sys: System, vcpu: number, intid: number): void {
  const { vgic, v, irq } = irqOf(sys, vcpu, intid);
  physicalInProgress(sys, intid);
  if (irq.config === VGIC_CONFIG_LEVEL) irq.line_level = true;
  else irq.pending_latch = true;
  irq.vcpu = v;
  vgic.vgic_cpu[vcpu]!.ap_list_head.push(irq);
}

/** ... and vgic_sync_to_lrs put it in LR `lr` (vgic_v2_populate_lr: the
 *  edge latch consumed, a mapped level's line lowered); `acked` means the
 *  guest has since read GICV_IAR, not yet folded. */
export function newInListRegister(sys: System, vcpu: number, intid: number, lr: number, acked: boolean): void {
  newOnApList(sys, vcpu, intid);
  const { vgic, v, irq } = irqOf(sys, vcpu, intid);
  if (!irq_is_pending(irq)) throw new Error("not pending");
  irq.pending_latch = false;
  if (irq.hw) irq.line_level = false;
  const cpu = v.processor;
  sys.gic.writeHyp(cpu, GICH.LR + 4 * lr, encodeLr({
    virtualId: intid, physicalId: irq.hw ? irq.hwintid : 0, eoi: !irq.hw && irq.config === VGIC_CONFIG_LEVEL,
    priority: irq.priority, state: acked ? LrState.Active : LrState.Pending, group1: false, hw: irq.hw,
  }));
  if (acked) sys.gic.writeHyp(cpu, GICH.APR, sys.gic.readHyp(cpu, GICH.APR) | (1 << (irq.priority >> 3)));
  sys.gic.writeHyp(cpu, GICH.HCR, sys.gic.readHyp(cpu, GICH.HCR) | 1);
  const vc = vgic.vgic_cpu[vcpu]!;
  vc.used_lrs = Math.max(vc.used_lrs, lr + 1);
}

/** An ITARGETSR write already retargeted it (vgic_mmio_write_target: the
 *  target and the physical affinity move at once, the ap_list entry at
 *  the old vCPU's next prune). */
export function newRetargeted(sys: System, intid: number, newTarget: number): void {
  const { vgic, v, irq } = irqOf(sys, newTarget, intid);
  irq.targets = 1 << newTarget;
  irq.target_vcpu = v;
  if (irq.hw) sys.gic.writeDist(0, GICD.ITARGETSR + intid, 1 << v.processor, 1);
  void vgic;
}
