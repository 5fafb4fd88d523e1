// Xen's per-interrupt bookkeeping for a guest (xen/include/asm-arm/vgic.h,
// Xen 4.8): `struct pending_irq`, its status bits, the ranks of 32 interrupts
// with their lock, and the two per-vCPU lists an interrupt can sit on.
// Names follow Xen so the seed's patch reads against this code.

import type { SpinLock } from "../sim/lock.ts";

// pending_irq.status bits (vgic.h)
export const GIC_IRQ_GUEST_QUEUED = 0; // an injection is waiting to reach an LR
export const GIC_IRQ_GUEST_ACTIVE = 1; // the guest has it active
export const GIC_IRQ_GUEST_VISIBLE = 2; // it sits in a list register
export const GIC_IRQ_GUEST_ENABLED = 3; // the guest enabled it (ISENABLER)
export const GIC_IRQ_GUEST_MIGRATING = 4; // its target changed while it was in an LR

export const STATUS_NAMES = ["QUEUED", "ACTIVE", "VISIBLE", "ENABLED", "MIGRATING"] as const;

export const GIC_INVALID_LR = 0xff; // (uint8_t)~0, xen/include/asm-arm/gic.h
export const NR_INTERRUPT_PER_RANK = 32;

/** A physical interrupt routed to a guest (Xen's `struct irq_desc`, the part
 *  the vGIC uses). */
export interface IrqDesc {
  irq: number;
  /** edge-triggered in the physical distributor (its affinity and its
   *  acknowledged-not-deactivated state are the distributor's own) */
  edge: boolean;
  lock: SpinLock;
}

/** What a list is attached to: a vCPU's `inflight_irqs` or `lr_pending`. */
export interface ListOwner {
  readonly vcpu_id: number;
}

export class PendingIrq {
  status = 0;
  lr = GIC_INVALID_LR;
  priority = 0xa0;
  /** the vCPU whose `inflight_irqs` holds this interrupt, or null (list_empty) */
  inflight: ListOwner | null = null;
  /** the vCPU whose `lr_pending` holds this interrupt, or null */
  lr_queue: ListOwner | null = null;

  constructor(readonly irq: number, public desc: IrqDesc | null) {}

  test_bit(bit: number): boolean { return ((this.status >>> bit) & 1) === 1; }
  set_bit(bit: number): void { this.status |= 1 << bit; }
  clear_bit(bit: number): void { this.status &= ~(1 << bit); }
  test_and_clear_bit(bit: number): boolean {
    const was = this.test_bit(bit);
    this.clear_bit(bit);
    return was;
  }
  test_and_set_bit(bit: number): boolean {
    const was = this.test_bit(bit);
    this.set_bit(bit);
    return was;
  }

  statusString(): string {
    const s = STATUS_NAMES.filter((_, i) => this.test_bit(i));
    return s.length ? s.join("|") : "-";
  }
}

/** A list operation on a vCPU's list without that vCPU's lock: the
 *  interrupt is on `on`'s list while the code, holding `by`'s vgic lock,
 *  unlinks it from `by`'s. The machine reports it as a `list-race`. */
export class ListRaceError extends Error {
  override readonly name = "list-race";
  constructor(readonly p: PendingIrq, readonly which: "inflight" | "lr_queue", readonly on: ListOwner, readonly by: ListOwner) {
    super(`IRQ ${p.irq} is on vCPU${on.vcpu_id}'s ${which} list, not vCPU${by.vcpu_id}'s: list_del_init under vCPU${by.vcpu_id}'s vgic lock unlinks it from a list that vCPU${on.vcpu_id}'s lock protects`);
  }
}

/** A vCPU's priority-ordered list (`inflight_irqs`, `lr_pending`). Insertion
 *  goes before the first entry of numerically higher priority, so equal
 *  priorities keep their arrival order, as Xen's list walks do. */
export class IrqList {
  readonly items: PendingIrq[] = [];

  constructor(readonly owner: ListOwner, readonly which: "inflight" | "lr_queue") {}

  get length(): number { return this.items.length; }
  empty(): boolean { return this.items.length === 0; }
  first(): PendingIrq | undefined { return this.items[0]; }

  insertByPriority(p: PendingIrq): void {
    if (p[this.which] !== null) throw new Error(`IRQ ${p.irq} is already on a ${this.which} list`);
    let i = 0;
    while (i < this.items.length && this.items[i]!.priority <= p.priority) i++;
    this.items.splice(i, 0, p);
    p[this.which] = this.owner;
  }

  /** list_del_init: harmless if `p` is on no list. Unlinking it from
   *  another vCPU's list, whose lock the caller does not hold (the code
   *  takes the lock of the vCPU it believes owns it), is an unsynchronised
   *  list operation: on Xen it corrupts that list. */
  del(p: PendingIrq): void {
    if (p[this.which] === null) return;
    if (p[this.which] !== this.owner) throw new ListRaceError(p, this.which, p[this.which]!, this.owner);
    const i = this.items.indexOf(p);
    this.items.splice(i, 1);
    p[this.which] = null;
  }
}

/** `struct vgic_irq_rank`: 32 interrupts sharing a lock. */
export class VgicIrqRank {
  readonly priority = new Uint8Array(NR_INTERRUPT_PER_RANK);
  /** target vCPU id per interrupt; ITARGETSR reads show one bit */
  readonly vcpu = new Uint8Array(NR_INTERRUPT_PER_RANK);
  /** ICFGR words as the guest wrote them */
  readonly icfg = new Uint32Array(2);
  ienable = 0;

  constructor(readonly index: number, readonly lock: SpinLock, defaultTarget: number) {
    this.vcpu.fill(defaultTarget);
  }
}
