// A guest domain and its vCPUs as the vGIC sees them (Xen's `struct domain`
// arch.vgic and `struct vcpu` arch.vgic): ranks, pending_irq arrays, the
// per-vCPU vgic lock with its two lists, placement on pCPUs, and the saved
// GICH state of a vCPU that is not running.

import type { Machine } from "../sim/machine.ts";
import { SpinLock } from "../sim/lock.ts";
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

export class Vcpu {
  /** the pCPU this vCPU runs on (Xen's v->processor) */
  processor: number;
  /** v->is_running: its context is loaded on `processor` */
  is_running = false;
  /** blocked in WFI (_VPF_blocked) */
  blocked = false;
  /** _VPF_migrating: the scheduler is to move it to this pCPU, or null */
  migrate_to: number | null = null;
  /** per-vCPU interrupts 0-31 */
  readonly private_irqs: PendingIrq[] = [];
  readonly private_rank: VgicIrqRank;
  readonly lock: SpinLock;
  readonly inflight_irqs: IrqList;
  readonly lr_pending: IrqList;
  saved: SavedGich | null = null;
  /** v->arch.virt_timer (set up by the vGIC: vcpu_vtimer_init) */
  virt_timer!: VirtTimer;

  constructor(machine: Machine, readonly domain: Domain, readonly vcpu_id: number, processor: number) {
    this.processor = processor;
    this.lock = new SpinLock(machine, LOCK_CLASS_VGIC, `d${domain.domain_id}v${vcpu_id}.vgic`);
    const rank0 = `d${domain.domain_id}v${vcpu_id}.rank0`;
    this.private_rank = new VgicIrqRank(0, new SpinLock(machine, LOCK_CLASS_RANK, rank0), vcpu_id, rank0, machine.memory);
    this.inflight_irqs = new IrqList(this, "inflight");
    this.lr_pending = new IrqList(this, "lr_queue");
    for (let i = 0; i < 32; i++) this.private_irqs.push(new PendingIrq(i, null, machine.memory));
  }

  get name(): string { return `d${this.domain.domain_id}v${this.vcpu_id}`; }
}

export class Domain {
  readonly vcpu: Vcpu[] = [];
  /** ranks 1.. for SPIs 32..; rank 0 is per vCPU */
  readonly shared_ranks: VgicIrqRank[] = [];
  readonly spis: PendingIrq[] = [];
  /** GICD_CTLR as the guest wrote it */
  ctlr = 0;

  constructor(machine: Machine, readonly domain_id: number, placement: readonly number[], readonly nr_spis: number) {
    for (let i = 0; i < placement.length; i++) this.vcpu.push(new Vcpu(machine, this, i, placement[i]!));
    for (let r = 1; r * NR_INTERRUPT_PER_RANK < 32 + nr_spis; r++) {
      const name = `d${domain_id}.rank${r}`;
      this.shared_ranks.push(new VgicIrqRank(r, new SpinLock(machine, LOCK_CLASS_RANK, name), 0, name, machine.memory));
    }
    for (let i = 0; i < nr_spis; i++) this.spis.push(new PendingIrq(32 + i, null, machine.memory));
  }

  get max_vcpus(): number { return this.vcpu.length; }
  /** highest interrupt ID the guest sees + 1 */
  get nr_irqs(): number { return 32 + this.nr_spis; }

  /** irq_to_pending */
  irq_to_pending(v: Vcpu, irq: number): PendingIrq {
    return irq < 32 ? v.private_irqs[irq]! : this.spis[irq - 32]!;
  }

  /** vgic_rank_irq */
  rank_irq(v: Vcpu, irq: number): VgicIrqRank {
    return irq < 32 ? v.private_rank : this.shared_ranks[(irq >> 5) - 1]!;
  }

  /** physical interrupt descriptors routed to this domain, by virtual ID */
  routed(): IrqDesc[] {
    return this.spis.map((p) => p.desc).filter((d): d is IrqDesc => d !== null);
  }
}
