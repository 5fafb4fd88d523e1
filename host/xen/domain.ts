// A guest domain and its vCPUs as the vGIC sees them (Xen's `struct domain`
// arch.vgic and `struct vcpu` arch.vgic): ranks, pending_irq arrays, the
// per-vCPU vgic lock with its two lists, placement on pCPUs, and the saved
// GICH state of a vCPU that is not running.

import type { Machine } from "../sim/machine.ts";
import { SpinLock, lockName } from "../sim/lock.ts";
import type { VirtTimer } from "./vtimer.ts";
import { IrqList, NR_INTERRUPT_PER_RANK, PendingIrq, VgicIrqRank, type IrqDesc } from "./pending.ts";

export const LOCK_CLASS_RANK = "rank";
export const LOCK_CLASS_VGIC = "vgic";
export const LOCK_CLASS_DESC = "irq_desc";
export const LOCK_CLASS_GIC = "gicv2";

/** GICH state of a vCPU while another runs on its pCPU (gic_save_state). */
export interface SavedGich {
  lrs: number[];
  lr_mask: Uint8Array;
  vmcr: number;
  apr: number;
  hcr: number;
}

// The pending_irq structures and ranks are made on first use: a system is
// built per explored schedule or fuzz case, and most of its 32 private
// interrupts per vCPU and its SPIs are never touched. One not made yet is in
// the state its constructor gives (nothing pending, no LR, on no list, no
// descriptor), and a reader that walks them all (`private_irqs`, `spis`)
// makes the rest first, so every reader sees the same objects as before.

// The names of a domain's locks (and its ranks'), by number (lockName).
const VGIC_LOCK_NAME = (d: number, v: number) => `d${d}v${v}.vgic`;
const RANK0_NAME = (d: number, v: number) => `d${d}v${v}.rank0`;
const RANK_NAME = (d: number, r: number) => `d${d}.rank${r}`;
const DESC_LOCK_NAME = (irq: number) => `irq_desc[${irq}].lock`;

/** The name of the lock of a routed interrupt's irq_desc. */
export function descLockName(irq: number): string { return lockName(DESC_LOCK_NAME, irq); }

export class Vcpu {
  /** the pCPU this vCPU runs on (Xen's v->processor) */
  processor: number;
  /** v->is_running: its context is loaded on `processor` */
  is_running = false;
  /** blocked in WFI (_VPF_blocked) */
  blocked = false;
  /** _VPF_migrating: the scheduler is to move it to this pCPU, or null */
  migrate_to: number | null = null;
  readonly lock: SpinLock;
  readonly inflight_irqs: IrqList;
  readonly lr_pending: IrqList;
  saved: SavedGich | null = null;
  /** v->arch.virt_timer (set up by the vGIC: vcpu_vtimer_init) */
  virt_timer!: VirtTimer;
  /** interrupts 0-31 made so far (holes: not yet) */
  private readonly privates: (PendingIrq | undefined)[] = new Array<PendingIrq | undefined>(32);
  private rank0: VgicIrqRank | null = null;

  constructor(private readonly machine: Machine, readonly domain: Domain, readonly vcpu_id: number, processor: number) {
    this.processor = processor;
    this.lock = new SpinLock(machine, LOCK_CLASS_VGIC, lockName(VGIC_LOCK_NAME, domain.domain_id, vcpu_id));
    this.inflight_irqs = new IrqList(this, "inflight");
    this.lr_pending = new IrqList(this, "lr_queue");
  }

  get name(): string { return `d${this.domain.domain_id}v${this.vcpu_id}`; }

  /** per-vCPU interrupts 0-31 (all made) */
  get private_irqs(): PendingIrq[] {
    for (let i = 0; i < 32; i++) this.private_irq(i);
    return this.privates as PendingIrq[];
  }

  /** the pending_irq of private interrupt `irq` (0-31); undefined for
   *  another number, as an index out of the array was */
  private_irq(irq: number): PendingIrq {
    if (!((irq >>> 0) === irq && irq < 32)) return undefined as unknown as PendingIrq;
    return this.privates[irq] ??= new PendingIrq(irq, null, this.machine.memory);
  }

  /** the rank of interrupts 0-31, this vCPU's own */
  get private_rank(): VgicIrqRank {
    if (this.rank0 === null) {
      const name = lockName(RANK0_NAME, this.domain.domain_id, this.vcpu_id);
      this.rank0 = new VgicIrqRank(0, new SpinLock(this.machine, LOCK_CLASS_RANK, name), this.vcpu_id, name, this.machine.memory);
    }
    return this.rank0;
  }

  /** the private interrupts made so far, in ID order */
  madePrivateIrqs(into: PendingIrq[]): void {
    const ps = this.privates;
    for (let i = 0; i < 32; i++) if (ps[i] !== undefined) into.push(ps[i]!);
  }
}

export class Domain {
  readonly vcpu: Vcpu[] = [];
  /** GICD_CTLR as the guest wrote it */
  ctlr = 0;
  /** ranks 1.. for SPIs 32.. made so far; rank 0 is per vCPU */
  private readonly ranks: (VgicIrqRank | undefined)[];
  /** SPIs made so far, by ID - 32 */
  private readonly spiIrqs: (PendingIrq | undefined)[];

  constructor(private readonly machine: Machine, readonly domain_id: number, placement: readonly number[], readonly nr_spis: number) {
    // the rank class's counters exist from the start, as when every rank
    // lock was made here (a run's contention table lists the class)
    machine.lockClassStats(LOCK_CLASS_RANK);
    for (let i = 0; i < placement.length; i++) this.vcpu.push(new Vcpu(machine, this, i, placement[i]!));
    this.ranks = new Array<VgicIrqRank | undefined>(Math.ceil((32 + nr_spis) / NR_INTERRUPT_PER_RANK) - 1);
    this.spiIrqs = new Array<PendingIrq | undefined>(nr_spis);
  }

  get max_vcpus(): number { return this.vcpu.length; }
  /** highest interrupt ID the guest sees + 1 */
  get nr_irqs(): number { return 32 + this.nr_spis; }

  /** ranks 1.. for SPIs 32.. (all made); rank 0 is per vCPU */
  get shared_ranks(): VgicIrqRank[] {
    for (let r = 0; r < this.ranks.length; r++) this.shared_rank(r);
    return this.ranks as VgicIrqRank[];
  }

  /** the pending_irq of every SPI (all made) */
  get spis(): PendingIrq[] {
    for (let i = 0; i < this.nr_spis; i++) this.spi_to_pending(32 + i);
    return this.spiIrqs as PendingIrq[];
  }

  /** spi_to_pending: the pending_irq of SPI `irq` (32..); undefined for
   *  another number, as an index out of the array was */
  spi_to_pending(irq: number): PendingIrq {
    const i = irq - 32;
    if (!((i >>> 0) === i && i < this.nr_spis)) return undefined as unknown as PendingIrq;
    return this.spiIrqs[i] ??= new PendingIrq(irq, null, this.machine.memory);
  }

  /** The descriptor routed to SPI `irq`, or null (without making its
   *  pending_irq: one not made has none). */
  spi_desc(irq: number): IrqDesc | null {
    return this.spiIrqs[irq - 32]?.desc ?? null;
  }

  /** irq_to_pending */
  irq_to_pending(v: Vcpu, irq: number): PendingIrq {
    return irq < 32 ? v.private_irq(irq) : this.spi_to_pending(irq);
  }

  /** vgic_rank_irq */
  rank_irq(v: Vcpu, irq: number): VgicIrqRank {
    return irq < 32 ? v.private_rank : this.shared_rank((irq >> 5) - 1);
  }

  /** rank i + 1; undefined past the last, as an index out of the array was */
  private shared_rank(i: number): VgicIrqRank {
    if (!((i >>> 0) === i && i < this.ranks.length)) return undefined as unknown as VgicIrqRank;
    let rank = this.ranks[i];
    if (rank === undefined) {
      const r = i + 1, name = lockName(RANK_NAME, this.domain_id, r);
      rank = this.ranks[i] = new VgicIrqRank(r, new SpinLock(this.machine, LOCK_CLASS_RANK, name), 0, name, this.machine.memory);
    }
    return rank;
  }

  /** Every pending_irq made so far: SPIs, then each vCPU's private ones,
   *  in ID order. The others are as made: nothing pending, on no list. */
  madePendingIrqs(): PendingIrq[] {
    const out = this.madeSpis();
    for (const v of this.vcpu) v.madePrivateIrqs(out);
    return out;
  }

  /** The SPIs' pending_irqs made so far, in ID order. */
  madeSpis(): PendingIrq[] {
    const out: PendingIrq[] = [];
    const spis = this.spiIrqs;
    for (let i = 0; i < spis.length; i++) if (spis[i] !== undefined) out.push(spis[i]!);
    return out;
  }
}
