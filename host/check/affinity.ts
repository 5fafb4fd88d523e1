// Physical affinity at a quiescent moment: a routed SPI's physical
// GICD_ITARGETSR names the pCPU of the vCPU its virtual ITARGETSR targets,
// so that the next edge is taken where its vCPU runs.
//
// The original vGIC (RELEASE-4.8.0 and RELEASE-4.9.0 xen/arch/arm/vgic.c):
// vgic_migrate_irq moves the physical affinity at once for an interrupt not
// in flight, or re-injects one still on lr_pending after moving it; one in
// a list register is left MIGRATING and keeps the old affinity until
// gic_update_one_lr retires its LR (4.9: irq_set_affinity to the target
// read then, before MIGRATING is cleared); vgic_enable_irqs and
// arch_move_irqs (skipping MIGRATING ones) point it at the target's pCPU.
// So an interrupt not MIGRATING has the affinity of its target; a MIGRATING
// one legitimately has a stale one for as long as it sits in an LR (the
// guest may never EOI it), and is not judged. Not only in an LR: one
// injected while disabled sits on inflight alone and is made MIGRATING
// there (vgic_enable_irqs moves it when enabled), and an LR evicted by
// gic_restore_pending_irqs keeps MIGRATING on lr_pending; exempting
// MIGRATING only in an LR found stale affinities in clean xen-4.8 and
// xen-4.9 runs, so every MIGRATING interrupt is exempt (a flag a race left
// set would hide its affinity here). One window remains in Xen
// 4.9 itself: vgic_store_itargetsr stores rank->vcpu only after
// vgic_migrate_irq returns (91ef736493), and gic_update_one_lr reads it
// without the rank lock (378384399e), so an LR retired in between moves
// the affinity to the old target and clears MIGRATING, and the store then
// names the new one. The interrupt still reaches its vCPU (do_IRQ on the
// old pCPU injects into rank->vcpu), one IPI later. AffinityLog tells this
// case (`affinity:set-before-target-store`) from an affinity nobody moved
// (`affinity:not-target-pcpu`).
//
// The new vGIC (RELEASE-4.11.0 xen/arch/arm/vgic/vgic-mmio-v2.c
// vgic_mmio_write_target, vgic.c arch_move_irqs and vgic_sync_hardware_irq)
// has no MIGRATING: the ITARGETSR write sets target_vcpu and, for a HW
// interrupt, the physical affinity under the interrupt's irq_lock;
// arch_move_irqs and an enable follow target_vcpu. A target byte of 0
// leaves target_vcpu NULL and the affinity where it was: not judged.

import type { Gic } from "../hw/gic.ts";
import type { VgicDesign } from "../xen/design.ts";
import { isOldVgic } from "../xen/design.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { NewVgic } from "../xen/new-vgic/vgic.ts";
import { GIC_IRQ_GUEST_MIGRATING } from "../xen/pending.ts";
import type { Finding } from "./vgic.ts";
import type { Vgic } from "../xen/vgic.ts";

/** The original vGIC's last irq_set_affinity per interrupt: whether it was
 *  MIGRATING then, and the target vCPU rank->vcpu named then. */
export class AffinityLog {
  private readonly last = new Map<number, { migrating: boolean; target: number; mask: number }>();

  /** Record the design's irq_set_affinity calls (the original vGIC's; the
   *  new vGIC needs none). Before planted faults, which may skip the call. */
  attach(design: VgicDesign): void {
    if (!isOldVgic(design)) return;
    const set = design.irq_set_affinity;
    const log = this.last;
    // not a generator function made per case (see guestOps in
    // ../fuzz/vgic.ts): a plain one that returns the design's generator
    (design as unknown as { irq_set_affinity: typeof set }).irq_set_affinity = function (this: Vgic, ctx, desc, mask) {
      const d = this.d;
      const target = d.rank_irq(d.vcpu[0]!, desc.irq).target(desc.irq & 31);
      log.set(desc.irq, { migrating: d.irq_to_pending(d.vcpu[target]!, desc.irq).test_bit(GIC_IRQ_GUEST_MIGRATING), target, mask: mask & 0xff });
      return set.call(this, ctx, desc, mask);
    };
  }

  /** the affinity `got` was set last, while the interrupt was MIGRATING,
   *  to the pCPU of rank->vcpu then, which is not its target now */
  setBeforeStore(design: VgicDesign, irq: number, target: Vcpu, got: number): { target: number } | null {
    const l = this.last.get(irq);
    if (l === undefined || !l.migrating || l.target === target.vcpu_id || l.mask !== got) return null;
    return l.mask === 1 << design.d.vcpu[l.target]!.processor ? l : null;
  }
}

export function checkAffinity(design: VgicDesign, gic: Gic, log: AffinityLog | null = null): Finding[] {
  const findings: Finding[] = [];
  for (const desc of design.descs.values()) {
    const target = targetOf(design, desc.irq);
    if (target === null) continue;
    const want = 1 << target.processor;
    const got = gic.targets(desc.irq);
    if (got === want) continue;
    const early = log?.setBeforeStore(design, desc.irq, target, got) ?? null;
    if (early !== null) {
      findings.push({
        kind: "affinity", path: "set-before-target-store", irq: desc.irq, vcpu: target.vcpu_id,
        message: `physical IRQ ${desc.irq} targets pCPUs 0x${got.toString(16)} in GICD_ITARGETSR, not pCPU${target.processor} of its vCPU${target.vcpu_id}: its LR was retired while it was MIGRATING, after vgic_migrate_irq and before the ITARGETSR store, so the affinity followed the old target vCPU${early.target} (Xen 4.9's lock-free rank->vcpu read)`,
      });
    } else {
      findings.push({
        kind: "affinity", path: "not-target-pcpu", irq: desc.irq, vcpu: target.vcpu_id,
        message: `physical IRQ ${desc.irq} targets pCPUs 0x${got.toString(16)} in GICD_ITARGETSR, but its vCPU${target.vcpu_id} runs on pCPU${target.processor} and the interrupt is not migrating: its next edge is taken on the wrong pCPU`,
      });
    }
  }
  return findings;
}

/** The vCPU whose pCPU the physical affinity must name, or null when
 *  there is none to judge (MIGRATING; the new vGIC's NULL target_vcpu). */
function targetOf(design: VgicDesign, irq: number): Vcpu | null {
  if (isOldVgic(design)) {
    const d = design.d;
    const v = d.vcpu[d.rank_irq(d.vcpu[0]!, irq).target(irq & 31)]!;
    return d.irq_to_pending(v, irq).test_bit(GIC_IRQ_GUEST_MIGRATING) ? null : v;
  }
  return (design as unknown as NewVgic).vgic_get_irq(null, irq).target_vcpu;
}
