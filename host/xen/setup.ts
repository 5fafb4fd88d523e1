// Direct set-up of guest and hypervisor state, for race scenarios that must
// start in the middle of things (an interrupt already in a list register,
// already waiting on lr_pending) without simulating the steps that led
// there: the explorer then spends its schedules on the race itself. Each
// helper writes exactly the state Xen and the guest would have left.

import { isOldVgic } from "./design.ts";
import { GICD, GICH, GICV, LrState, encodeLr } from "../hw/regs.ts";
import {
  GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING, GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE,
} from "./pending.ts";
import type { System } from "./system.ts";
import { newGuestIrq, newInListRegister, newOnApList, newRetargeted } from "./new-vgic/setup.ts";

export interface GuestIrqSetup {
  irq: number;
  /** target vCPU (ITARGETSR) */
  target: number;
  priority?: number;
  enabled?: boolean;
}

/** What the guest's driver leaves for one interrupt: priority, target and
 *  enable in its rank, ENABLED in pending_irq, and for a routed SPI the
 *  physical enable and affinity Xen's vgic_enable_irqs programs. */
export function guestIrq(sys: System, s: GuestIrqSetup): void {
  const { vgic, gic } = sys;
  if (!isOldVgic(vgic)) return newGuestIrq(sys, s);
  const d = vgic.d;
  const v = d.vcpu[s.target]!;
  const rank = d.rank_irq(v, s.irq);
  const priority = s.priority ?? 0xa0;
  rank.priority[s.irq & 31] = priority;
  rank.setTarget(s.irq & 31, s.target);
  const p = d.irq_to_pending(v, s.irq);
  p.priority = priority;
  if (s.enabled ?? true) {
    rank.ienable = (rank.ienable | (1 << (s.irq & 31))) >>> 0;
    p.set_bit(GIC_IRQ_GUEST_ENABLED);
    if (p.desc !== null) gic.writeDist(0, GICD.ISENABLER + 4 * (s.irq >> 5), 1 << (s.irq & 31));
  }
  if (p.desc !== null) {
    gic.writeDist(0, GICD.ITARGETSR + s.irq, 1 << v.processor, 1);
  }
}

/** Every vCPU's virtual CPU interface on, priority mask open (gic_cpu_init).
 *  A vCPU not loaded on its pCPU gets the same as its saved state, with
 *  empty list registers and no active priority. */
export function guestCpuInterfaces(sys: System): void {
  const { vgic, gic } = sys;
  vgic.pcpu.forEach((pc, cpu) => {
    if (pc.current === null) return;
    gic.writeVcpu(cpu, GICV.CTLR, 1);
    gic.writeVcpu(cpu, GICV.PMR, 0xf8);
  });
  for (const v of vgic.d.vcpu) {
    const pc = vgic.pcpu[v.processor]!;
    if (pc.current === v || pc.current === null || v.saved !== null) continue;
    v.saved = {
      lrs: new Array<number>(vgic.nr_lrs).fill(0), lr_mask: new Uint8Array(pc.lr_mask.length),
      vmcr: gic.readHyp(v.processor, GICH.VMCR), apr: 0, hcr: 0,
    };
  }
}

/** A physical SPI Xen has acknowledged and priority-dropped (do_IRQ): active
 *  in the distributor. */
function physicalInProgress(sys: System, irq: number): void {
  if (!sys.vgic.descs.has(irq)) return;
  sys.gic.writeDist(0, GICD.ISACTIVER + 4 * (irq >> 5), 1 << (irq & 31));
}

// Instances the set-up left on their way to a guest handler, per system
// and interrupt: a judge that counts a handler entry against an instance
// behind it (scenarios.ts) counts these as acknowledged before the run.
const seeded = new WeakMap<System, Map<number, number>>();

function seed(sys: System, irq: number): void {
  let m = seeded.get(sys);
  if (m === undefined) seeded.set(sys, m = new Map());
  m.set(irq, (m.get(irq) ?? 0) + 1);
}

/** Per interrupt, the instances the set-up helpers placed on their way to
 *  a guest handler (pending in a list register, or queued for one); one
 *  the guest already acknowledged is not among them. */
export function seededInstances(sys: System): ReadonlyMap<number, number> {
  return seeded.get(sys) ?? new Map();
}

/** The interrupt sits in list register `lr` of its target vCPU's pCPU, as
 *  gic_set_lr wrote it; `acked` means the guest has since read GICV_IAR
 *  (LR active, GICH_APR bit set), which Xen has not yet folded. */
export function inListRegister(sys: System, vcpu: number, irq: number, lr: number, acked: boolean): void {
  const { vgic, gic } = sys;
  if (!acked) seed(sys, irq);
  if (!isOldVgic(vgic)) return newInListRegister(sys, vcpu, irq, lr, acked);
  const v = vgic.d.vcpu[vcpu]!;
  const cpu = v.processor;
  const p = vgic.d.irq_to_pending(v, irq);
  physicalInProgress(sys, irq);
  gic.writeHyp(cpu, GICH.LR + 4 * lr, encodeLr({
    virtualId: irq, physicalId: p.desc?.irq ?? 0, eoi: false, priority: p.priority,
    state: acked ? LrState.Active : LrState.Pending, group1: false, hw: p.desc !== null,
  }));
  if (acked) gic.writeHyp(cpu, GICH.APR, gic.readHyp(cpu, GICH.APR) | (1 << (p.priority >> 3)));
  vgic.pcpu[cpu]!.lr_mask[lr] = 1;
  p.lr = lr;
  p.set_bit(GIC_IRQ_GUEST_VISIBLE);
  v.inflight_irqs.insertByPriority(p);
}

/** The interrupt was injected while the vCPU had no free LR: QUEUED, on
 *  inflight_irqs and lr_pending. */
export function onLrPending(sys: System, vcpu: number, irq: number): void {
  const { vgic } = sys;
  seed(sys, irq);
  if (!isOldVgic(vgic)) return newOnApList(sys, vcpu, irq);
  const v = vgic.d.vcpu[vcpu]!;
  const p = vgic.d.irq_to_pending(v, irq);
  physicalInProgress(sys, irq);
  p.set_bit(GIC_IRQ_GUEST_QUEUED);
  v.inflight_irqs.insertByPriority(p);
  v.lr_pending.insertByPriority(p);
}

/** An ITARGETSR write already moved the interrupt while it sat in an LR:
 *  MIGRATING, and rank->vcpu names the new target; for a design whose
 *  vgic_migrate_irq sets the physical affinity first (v3), the physical
 *  interrupt already targets the new vCPU's pCPU. */
export function migrating(sys: System, irq: number, newTarget: number): void {
  const { vgic, gic } = sys;
  if (!isOldVgic(vgic)) return newRetargeted(sys, irq, newTarget);
  const d = vgic.d;
  const p = d.irq_to_pending(d.vcpu[0]!, irq);
  p.set_bit(GIC_IRQ_GUEST_MIGRATING);
  d.rank_irq(d.vcpu[0]!, irq).setTarget(irq & 31, newTarget);
  if (vgic.affinityAtMigrate && p.desc !== null) gic.writeDist(0, GICD.ITARGETSR + irq, 1 << d.vcpu[newTarget]!.processor, 1);
}
