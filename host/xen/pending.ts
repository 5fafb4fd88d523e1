// Xen's per-interrupt bookkeeping for a guest (xen/include/asm-arm/vgic.h,
// Xen 4.8): `struct pending_irq`, its status bits, the ranks of 32 interrupts
// with their lock, and the two per-vCPU lists an interrupt can sit on.
// Names follow Xen so the seed's patch reads against this code.

import type { SpinLock } from "../sim/lock.ts";
import { Cell, type WeakMemory } from "../sim/memory.ts";
import { removeAt } from "../sim/arrays.ts";

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

/** The locations of a pending_irq that weak memory buffers (memory.ts). */
interface PendingCells {
  mem: WeakMemory;
  status: Cell;
  lr: Cell;
  inflight: Cell;
  lr_queue: Cell;
}

export class PendingIrq {
  private _status = 0;
  private _lr = GIC_INVALID_LR;
  private _inflight: ListOwner | null = null;
  private _lr_queue: ListOwner | null = null;
  /** written under the vgic lock and read with it: not a buffered location */
  priority = 0xa0;
  /** weak memory: the shared locations of this interrupt; null under sc */
  private readonly cells: PendingCells | null;

  constructor(readonly irq: number, public desc: IrqDesc | null, mem: WeakMemory | null = null) {
    this.cells = mem === null ? null : {
      mem,
      status: new Cell(`IRQ${irq}.status`, (v) => statusNames(v as number)),
      lr: new Cell(`IRQ${irq}.lr`, (v) => (v === GIC_INVALID_LR ? "GIC_INVALID_LR" : `LR${v as number}`)),
      inflight: new Cell(`IRQ${irq}.inflight`), lr_queue: new Cell(`IRQ${irq}.lr_queue`),
    };
  }

  /** the status word as the running pCPU sees it */
  get status(): number {
    const c = this.cells;
    return c === null ? this._status : c.mem.load(c.status, this._status);
  }

  /** the list register holding it on its vCPU's pCPU, or GIC_INVALID_LR */
  get lr(): number {
    const c = this.cells;
    return c === null ? this._lr : c.mem.load(c.lr, this._lr);
  }
  set lr(v: number) {
    const c = this.cells;
    if (c === null) { this._lr = v; return; }
    c.mem.claim(c.lr);
    const old = this._lr;
    this._lr = v;
    c.mem.stored(c.lr, old, v, "write");
  }

  /** the vCPU whose `inflight_irqs` holds this interrupt, or null
   *  (list_empty(&p->inflight), as the running pCPU sees the link) */
  get inflight(): ListOwner | null {
    const c = this.cells;
    return c === null ? this._inflight : c.mem.load(c.inflight, this._inflight);
  }
  set inflight(o: ListOwner | null) {
    const c = this.cells;
    if (c === null) this._inflight = o;
    else this._inflight = linkStore(c.mem, c.inflight, this._inflight, o);
  }

  /** the vCPU whose `lr_pending` holds this interrupt, or null */
  get lr_queue(): ListOwner | null {
    const c = this.cells;
    return c === null ? this._lr_queue : c.mem.load(c.lr_queue, this._lr_queue);
  }
  set lr_queue(o: ListOwner | null) {
    const c = this.cells;
    if (c === null) this._lr_queue = o;
    else this._lr_queue = linkStore(c.mem, c.lr_queue, this._lr_queue, o);
  }

  test_bit(bit: number): boolean { return ((this.status >>> bit) & 1) === 1; }

  /** The bit as the latest store left it, for observers and checks: not a
   *  load of the modelled code (no weak-memory view, nothing traced). */
  latest_bit(bit: number): boolean { return ((this._status >>> bit) & 1) === 1; }

  /** set_bit and clear_bit: atomic (ldxr/stxr) but without a barrier */
  set_bit(bit: number): void { this.update(this._status | (1 << bit), bit, "set_bit"); }
  clear_bit(bit: number): void { this.update(this._status & ~(1 << bit), bit, "clear_bit"); }

  /** test_and_clear_bit, test_and_set_bit: on arm64 stlxr then dmb ish
   *  (xen/arch/arm/arm64/lib/bitops.S, testop), a full barrier: earlier
   *  stores drain first and this one is visible before anything later. */
  test_and_clear_bit(bit: number): boolean {
    const c = this.cells;
    if (c !== null) { c.mem.claim(c.status); c.mem.mb(); }
    const was = ((this._status >>> bit) & 1) === 1;
    this._status &= ~(1 << bit);
    return was;
  }
  test_and_set_bit(bit: number): boolean {
    const c = this.cells;
    if (c !== null) { c.mem.claim(c.status); c.mem.mb(); }
    const was = ((this._status >>> bit) & 1) === 1;
    this._status |= 1 << bit;
    return was;
  }

  private update(v: number, bit: number, op: string): void {
    const c = this.cells;
    if (c === null) { this._status = v; return; }
    c.mem.claim(c.status);
    const old = this._status;
    this._status = v;
    c.mem.stored(c.status, old, v, `${op}(${STATUS_NAMES[bit] ?? bit})`);
  }

  statusString(): string { return statusNames(this.status); }
}

/** A list link store under weak memory: returns the new value to keep. */
function linkStore(mem: WeakMemory, cell: Cell, old: ListOwner | null, o: ListOwner | null): ListOwner | null {
  mem.claim(cell);
  mem.stored(cell, old, o, o === null ? "list_del_init" : "list_add");
  return o;
}

/** "VISIBLE|ENABLED", or "-" for none */
export function statusNames(status: number): string {
  const s = STATUS_NAMES.filter((_, i) => ((status >>> i) & 1) === 1);
  return s.length ? s.join("|") : "-";
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
  /** told the new length after each insertion or removal (the trace's
   *  lr_pending counter), or null */
  onChange: ((length: number) => void) | null = null;
  private readonly isInflight: boolean;

  constructor(readonly owner: ListOwner, readonly which: "inflight" | "lr_queue") {
    this.isInflight = which === "inflight";
  }

  get length(): number { return this.items.length; }
  empty(): boolean { return this.items.length === 0; }
  first(): PendingIrq | undefined { return this.items[0]; }

  insertByPriority(p: PendingIrq): void {
    if (this.link(p) !== null) throw new Error(`IRQ ${p.irq} is already on a ${this.which} list`);
    const items = this.items;
    let i = 0;
    while (i < items.length && items[i]!.priority <= p.priority) i++;
    // items.splice(i, 0, p) without the array splice returns
    items.push(p);
    for (let k = items.length - 1; k > i; k--) items[k] = items[k - 1]!;
    items[i] = p;
    this.setLink(p, this.owner);
    if (this.onChange !== null) this.onChange(items.length);
  }

  /** list_del_init: harmless if `p` is on no list. Unlinking it from
   *  another vCPU's list, whose lock the caller does not hold (the code
   *  takes the lock of the vCPU it believes owns it), is an unsynchronised
   *  list operation: on Xen it corrupts that list. */
  del(p: PendingIrq): void {
    // (each test reads the link again: under weak memory a read is a load)
    if (this.link(p) === null) return;
    if (this.link(p) !== this.owner) throw new ListRaceError(p, this.which, this.link(p)!, this.owner);
    removeAt(this.items, this.items.indexOf(p));
    this.setLink(p, null);
    if (this.onChange !== null) this.onChange(this.items.length);
  }

  // p[this.which], without a keyed access through an accessor
  private link(p: PendingIrq): ListOwner | null { return this.isInflight ? p.inflight : p.lr_queue; }
  private setLink(p: PendingIrq, o: ListOwner | null): void {
    if (this.isInflight) p.inflight = o;
    else p.lr_queue = o;
  }
}

/** `struct vgic_irq_rank`: 32 interrupts sharing a lock. */
export class VgicIrqRank {
  readonly priority = new Uint8Array(NR_INTERRUPT_PER_RANK);
  /** rank->vcpu[]: target vCPU id per interrupt (ITARGETSR reads show one
   *  bit); read and written through target/setTarget */
  private readonly vcpu = new Uint8Array(NR_INTERRUPT_PER_RANK);
  /** ICFGR words as the guest wrote them */
  readonly icfg = new Uint32Array(2);
  ienable = 0;
  /** weak memory: one location per rank->vcpu[] entry; null under sc */
  private readonly cells: Cell[] | null;

  constructor(readonly index: number, readonly lock: SpinLock, defaultTarget: number, readonly name: string,
    private readonly mem: WeakMemory | null = null) {
    this.vcpu.fill(defaultTarget);
    this.cells = mem === null ? null : Array.from({ length: NR_INTERRUPT_PER_RANK }, (_, i) => new Cell(`${name}.vcpu[${i}]`));
  }

  /** rank->vcpu[i] as the running pCPU sees it */
  target(i: number): number {
    const c = this.cells;
    return c === null ? this.vcpu[i]! : this.mem!.load(c[i]!, this.vcpu[i]!);
  }

  /** rank->vcpu[i] = v (a plain store, or 4.9's write_atomic: same here) */
  setTarget(i: number, v: number): void {
    const c = this.cells;
    if (c === null) { this.vcpu[i] = v; return; }
    this.mem!.claim(c[i]!);
    const old = this.vcpu[i]!;
    this.vcpu[i] = v;
    this.mem!.stored(c[i]!, old, v, "write");
  }
}
