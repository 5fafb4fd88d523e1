// Planted regressions for the accounting tests (test only, never designs).
//
// DropRequeue: xen-4.9 whose do_IRQ drops one acknowledge of an SPI - priority
// drop and deactivation (GICC_EOIR, GICC_DIR), no injection: the instance
// is gone - and whose gic_update_one_lr, at that interrupt's next retire,
// sets QUEUED again and raises it into a list register instead of
// retiring it, so the guest handles the instance it already handled a
// second time. One loss and one duplicate of the same interrupt: counted
// per total they cancel out.
//
// DropTimerTick: xen-4.9 dropping every nth virtual timer injection.

import { GICC } from "../host/hw/regs.ts";
import type { Co } from "../host/sim/api.ts";
import type { Machine, PCpu } from "../host/sim/machine.ts";
import { spin_lock, spin_unlock } from "../host/sim/lock.ts";
import type { Vcpu } from "../host/xen/domain.ts";
import { GIC_IRQ_GUEST_QUEUED, type IrqDesc, type PendingIrq } from "../host/xen/pending.ts";
import { Xen49, registerVariant } from "../host/xen/variants.ts";
import { VTIMER_PPI, type VgicOptions } from "../host/xen/vgic.ts";

export interface DropRequeuePlan {
  /** the SPI, or null for whichever reaches `nth` acknowledges first */
  irq: number | null;
  /** which of its acknowledges */
  nth: number;
  /** drop that acknowledge (else inject it as usual) */
  drop: boolean;
  /** re-queue at the interrupt's next retire after it */
  requeue: boolean;
}

export class DropRequeue extends Xen49 {
  /** the instance the newest system built (cases run one after another) */
  static last: DropRequeue | null = null;
  private readonly acks = new Map<number, number>();
  /** the SPI whose acknowledge the plan took, once it did */
  struck: number | null = null;
  requeued = false;
  override readonly variant: string;

  constructor(machine: Machine, opts: VgicOptions | undefined, readonly plan: DropRequeuePlan, name: string) {
    super(machine, opts);
    this.variant = name;
    DropRequeue.last = this;
  }

  override *do_IRQ(ctx: PCpu, irq: number): Co {
    const desc = this.descs.get(irq);
    if (desc !== undefined && this.struck === null && (this.plan.irq === null || this.plan.irq === irq)) {
      const n = (this.acks.get(irq) ?? 0) + 1;
      this.acks.set(irq, n);
      if (n === this.plan.nth) {
        this.struck = irq;
        if (this.plan.drop) {
          // do_IRQ's body, so in its hard-IRQ context (irq_enter)
          ctx.irq_enter();
          yield* spin_lock(ctx, desc.lock);
          this.giccWrite(ctx, GICC.EOIR, irq);
          this.observer.physicalAck?.(irq, ctx.id, ctx.clock);
          this.giccWrite(ctx, GICC.DIR, irq);
          yield* spin_unlock(ctx, desc.lock);
          ctx.irq_exit();
          return;
        }
      }
    }
    yield* super.do_IRQ(ctx, irq);
  }

  protected override *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    if (this.plan.requeue && !this.requeued && irq === this.struck) {
      this.requeued = true;
      p.set_bit(GIC_IRQ_GUEST_QUEUED);
      yield* this.gic_raise_guest_irq(ctx, v, irq, p.priority);
      return;
    }
    yield* super.gic_update_one_lr_retire(ctx, v, p, irq);
  }
}

/** Register the plan as a design named `name` (once per name). */
export function registerDropRequeue(name: string, plan: DropRequeuePlan): string {
  registerVariant({ name, parent: "xen-4.9", summary: "test only: a dropped acknowledge, a re-queued retire", create: (m, o) => new DropRequeue(m, o, plan, name) });
  return name;
}

/** xen-4.9 whose vgic_migrate_irq, moving SPI `irq` while it is in flight
 *  nowhere (the idle path), points its physical affinity at no pCPU
 *  (ITARGETSR 0) from the `from`th such move on: every later edge stays
 *  latched in the distributor, where nothing takes it. */
export class EmptyTarget extends Xen49 {
  override readonly variant: string;
  private readonly migrating = new Set<number>();
  idleMoves = 0;

  constructor(machine: Machine, opts: VgicOptions | undefined, readonly irq: number, readonly from: number, name: string) {
    super(machine, opts);
    this.variant = name;
  }

  override *vgic_migrate_irq(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number): Co<boolean> {
    if (irq !== this.irq) return yield* super.vgic_migrate_irq(ctx, old, nw, irq);
    this.migrating.add(ctx.id);
    try {
      return yield* super.vgic_migrate_irq(ctx, old, nw, irq);
    } finally {
      this.migrating.delete(ctx.id);
    }
  }

  override *irq_set_affinity(ctx: PCpu, desc: IrqDesc, mask: number): Co {
    if (this.migrating.has(ctx.id) && desc.irq === this.irq && this.d.spi_to_pending(desc.irq).inflight === null &&
        ++this.idleMoves >= this.from) mask = 0;
    yield* super.irq_set_affinity(ctx, desc, mask);
  }
}

export function registerEmptyTarget(name: string, irq: number, from: number): string {
  registerVariant({ name, parent: "xen-4.9", summary: "test only: an idle migration's affinity names no pCPU", create: (m, o) => new EmptyTarget(m, o, irq, from, name) });
  return name;
}

/** xen-4.9 that silently drops every `nth` injection of the virtual timer
 *  PPI (vtimer_interrupt's and the timer softirq's alike): the timer is
 *  masked as usual, the guest is never told, and no observer hook says so.
 *  A dropped tick is raised and never injected, as a deadline the guest
 *  withdrew is: only the timer can tell them apart, and it must not. */
export class DropTimerTick extends Xen49 {
  override readonly variant: string;
  private injections = 0;
  dropped = 0;

  constructor(machine: Machine, opts: VgicOptions | undefined, readonly nth: number, name: string) {
    super(machine, opts);
    this.variant = name;
  }

  override *vgic_vcpu_inject_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
    if (virq === VTIMER_PPI && ++this.injections % this.nth === 0) {
      this.dropped++;
      return;
    }
    yield* super.vgic_vcpu_inject_irq(ctx, v, virq);
  }
}

export function registerDropTimerTick(name: string, nth: number): string {
  registerVariant({ name, parent: "xen-4.9", summary: "test only: every nth virtual timer injection dropped", create: (m, o) => new DropTimerTick(m, o, nth, name) });
  return name;
}
