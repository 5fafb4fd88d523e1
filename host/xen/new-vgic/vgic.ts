// Xen 4.11's new vGIC (xen/arch/arm/vgic/, CONFIG_NEW_VGIC), ported from
// KVM's virt/kvm/arm/vgic (Linux 4.15 era), as generator functions on the
// simulated machine. Names, lock order and control flow follow
// xen/arch/arm/vgic/vgic.c and vgic-v2.c at RELEASE-4.11.0; each function
// says where it comes from and where KVM differs.
//
// Lock order (vgic.c's header): vgic->lock > ap_list_lock > desc->lock >
// irq_lock; two ap_list locks: the lower vCPU id first. An interrupt is on
// at most one vCPU's ap_list (irq->vcpu); every entry from the guest folds
// the list registers back into vgic_irq and prunes the ap_list
// (vgic_sync_from_lrs), every return refills them from it, sorted by
// priority when they overflow (vgic_sync_to_lrs).
//
// The physical GIC driver around it (gic-v2.c, the gic_interrupt loop, the
// exception entry, the kick SGI) is Xen's common code, the same under both
// vGICs: it is borrowed from the original design's class (vgic.ts), whose
// methods reach the hardware only through the accessors and fields this
// class provides under the same names.

import { point, type Co } from "../../sim/api.ts";
import type { Machine, PCpu } from "../../sim/machine.ts";
import type { StackNode } from "../../sim/lockdep.ts";
import { mapPacked } from "../../sim/arrays.ts";
import {
  SpinLock, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
} from "../../sim/lock.ts";
import type { Gic } from "../../hw/gic.ts";
import { GICC, GICD, GICH, LrState, decodeLr, encodeLr } from "../../hw/regs.ts";
import { Domain, LOCK_CLASS_DESC, LOCK_CLASS_GIC, descLockName, type Vcpu } from "../domain.ts";
import type { IrqDesc } from "../pending.ts";
import { emptyStats, placementOf, type DesignNames, type VgicDesign } from "../design.ts";
import type { MmioResult } from "../vgic-v2.ts";
import {
  Vgic, type PcpuState, type VgicObserver, type VgicOptions, type VgicStats,
} from "../vgic.ts";
import { stop_timer, vcpu_vtimer_init, type VirtTimer } from "../vtimer.ts";
import {
  VGIC_CONFIG_EDGE, VGIC_CONFIG_LEVEL, VGIC_NR_PRIVATE_IRQS, VGIC_NR_SGIS, VgicCpu, VgicDist, VgicIrq,
  irq_is_pending, vgic_irq_is_mapped_level,
} from "./irq.ts";
import { dispatch_mmio } from "./mmio.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_IRQ_LOCK_DROPPED_FOR_AP_LIST_LOCK = point("irq_lock dropped for ap_list_lock");
const PT_LIST_EMPTY_AP_LIST = point("list_empty ap_list");
const PT_V_IS_RUNNING = point("v->is_running");
const PT_GIC_SAVE_STATE = point("gic_save_state");

/** GICH_HCR bits (IHI 0048B 5.3.1) */
const GICH_HCR_EN = 1;
const GICH_HCR_UIE = 2;

/** Xen's common GIC code (see the header). */
const COMMON = Vgic.prototype;

export class NewVgic implements VgicDesign {
  readonly variant: string = "new-vgic";
  readonly family = "vgic_irq" as const;
  readonly names: DesignNames = {
    foldLrs: "vgic_sync_from_lrs", inject: ["vgic_inject_irq", "vgic_mmio_write_sgir"], flushLrs: "vgic_sync_to_lrs",
    mmioRead: "dispatch_mmio_read", mmioWrite: "dispatch_mmio_write", queuedStage: "queued on the ap_list",
  };
  /** the domain's vCPUs (identity, placement, scheduling state); the old
   *  design's per-vCPU lists on them are not used here */
  readonly d: Domain;
  readonly pcpu: PcpuState[];
  readonly descs = new Map<number, IrqDesc>();
  readonly gicv2_lock: SpinLock;
  readonly nr_lrs: number;
  readonly stats: VgicStats = emptyStats();
  /** times vgic_queue_irq_unlock found the state changed behind its back
   *  and retried, and ap_list sorts (list_sort) */
  retries = 0;
  sorts = 0;
  observer: VgicObserver = {};
  /** struct vgic_dist: GICD_CTLR.Enable and the SPIs */
  readonly dist: VgicDist;
  /** struct vgic_cpu per vCPU */
  readonly vgic_cpu: VgicCpu[];

  private readonly gicdBase: number;
  private readonly giccBase: number;
  private readonly gichBase: number;

  constructor(readonly machine: Machine, opts: VgicOptions = {}) {
    const gic = machine.gic;
    const cpus = gic.config.cpus;
    this.gicdBase = gic.config.map.gicd;
    this.giccBase = gic.config.map.gicc;
    this.gichBase = gic.config.map.gich;
    const placement = placementOf(cpus, opts.placement);
    // domain_vgic_init: nr_spis rounded up to a multiple of 32
    const nr_spis = Math.ceil((opts.nr_spis ?? gic.config.irqs - 32) / 32) * 32;
    this.d = new Domain(machine, 1, placement, nr_spis);
    this.nr_lrs = gic.config.listRegisters;
    this.gicv2_lock = new SpinLock(machine, LOCK_CLASS_GIC, "gicv2.lock");
    this.pcpu = Array.from({ length: cpus }, (_, i) => ({
      lr_mask: new Uint8Array(this.nr_lrs), current: null, runq: this.d.vcpu.filter((v) => v.processor === i), inGuest: false,
      timers_expired: [],
    }));
    vcpu_vtimer_init(machine, this.d.vcpu, this.pcpu); // common to both vGICs
    this.vgic_cpu = mapPacked(this.d.vcpu, (v) => new VgicCpu(machine, v));
    this.dist = new VgicDist(machine, nr_spis);
    for (const r of opts.routed ?? []) {
      const { irq, edge } = typeof r === "number" ? { irq: r, edge: false } : r;
      this.route_irq_to_guest(irq).edge = edge ?? false;
    }
  }

  // ---- physical GIC accessors (gic-v2.c), every access charged; the
  // borrowed common code calls them by these names

  protected gicd(ctx: PCpu, off: number): number { return ctx.gicRead(this.gicdBase + off); }
  protected gicdWrite(ctx: PCpu, off: number, v: number, size: 1 | 4 = 4): void { ctx.gicWrite(this.gicdBase + off, v, size); }
  protected gicc(ctx: PCpu, off: number): number { return ctx.gicRead(this.giccBase + off); }
  protected giccWrite(ctx: PCpu, off: number, v: number): void { ctx.gicWrite(this.giccBase + off, v); }
  protected gich(ctx: PCpu, off: number): number { return ctx.gicRead(this.gichBase + off); }
  protected gichWrite(ctx: PCpu, off: number, v: number): void { ctx.gicWrite(this.gichBase + off, v); }

  /** update_hcr_status (gic-v2.c gicv2_update_hcr_status) */
  private update_hcr_status(ctx: PCpu, flag: number, set: boolean): void {
    const hcr = this.gich(ctx, GICH.HCR);
    this.gichWrite(ctx, GICH.HCR, set ? hcr | flag : hcr & ~flag);
  }

  /** route_irq_to_guest -> vgic_connect_hw_irq: the vIRQ is tied to the
   *  physical SPI of the same ID (hw, hwintid; write-once). */
  route_irq_to_guest(irq: number): IrqDesc {
    if (irq < 32 || irq >= this.d.nr_irqs) throw new RangeError(`only SPIs 32-${this.d.nr_irqs - 1} can be routed, not ${irq}`);
    const desc: IrqDesc = { irq, edge: false, lock: new SpinLock(this.machine, LOCK_CLASS_DESC, descLockName(irq)) };
    this.descs.set(irq, desc);
    const v = this.vgic_get_irq(null, irq);
    v.hw = true;
    v.hwintid = irq;
    return desc;
  }

  /** vgic_get_irq: private interrupts are the vCPU's, SPIs the domain's. */
  vgic_get_irq(vcpu: Vcpu | null, intid: number): VgicIrq {
    if (intid < VGIC_NR_PRIVATE_IRQS) return this.vgic_cpu[vcpu!.vcpu_id]!.private_irq(intid);
    const irq = this.dist.spi(intid);
    // Xen indexes the array without a bound (vgic.c vgic_get_irq)
    if (irq === undefined) throw new Error(`vgic_get_irq: INTID ${intid} is beyond the domain's ${this.d.nr_irqs} interrupts (out-of-bounds spis[] access)`);
    return irq;
  }

  // ---- Xen's common code, borrowed (see the header)

  gic_init_cpu(ctx: PCpu): Co { return COMMON.gic_init_cpu.call(this.asCommon(), ctx); }
  irq_set_affinity(ctx: PCpu, desc: IrqDesc, mask: number): Co { return COMMON.irq_set_affinity.call(this.asCommon(), ctx, desc, mask); }
  private gicv2_irq_enable(ctx: PCpu, desc: IrqDesc): Co { return COMMON.gicv2_irq_enable.call(this.asCommon(), ctx, desc); }
  private gicv2_irq_disable(ctx: PCpu, desc: IrqDesc): Co { return COMMON.gicv2_irq_disable.call(this.asCommon(), ctx, desc); }
  smp_send_event_check_mask(ctx: PCpu, mask: number): Co { return COMMON.smp_send_event_check_mask.call(this.asCommon(), ctx, mask); }
  /** the timer softirq: expired virtual timers injected through
   *  vgic_vcpu_inject_irq (below) */
  timer_softirq(ctx: PCpu): Co { return COMMON.timer_softirq.call(this.asCommon(), ctx); }
  /** Xen's own interrupts (maintenance, virtual and hypervisor timers) */
  private host_irq(ctx: PCpu, irq: number, fn: StackNode): Co { return COMMON.host_irq.call(this.asCommon(), ctx, irq, fn); }
  gic_interrupt(ctx: PCpu): Co { return COMMON.gic_interrupt.call(this.asCommon(), ctx); }
  guestMode(ctx: PCpu, on: boolean): void { COMMON.guestMode.call(this.asCommon(), ctx, on); }
  irq_exception(ctx: PCpu): Co { return COMMON.irq_exception.call(this.asCommon(), ctx); }
  /** do_sgi: the common SGI end (EOIR, DIR), called by gic_interrupt */
  protected do_sgi(ctx: PCpu, sgi: number): void { COMMON["do_sgi"].call(this.asCommon(), ctx, sgi); }

  /** This object in the shape the common code was written against: the
   *  same accessors, fields and entry points, by name. */
  private asCommon(): Vgic { return this as unknown as Vgic; }

  // ---- vgic.c

  /** vgic_target_oracle (irq_lock held): an active interrupt stays with the
   *  vCPU that has it; a pending and enabled one goes to its target; none
   *  while the distributor is disabled; else nowhere. */
  vgic_target_oracle(irq: VgicIrq): Vcpu | null {
    if (irq.active) return irq.vcpu ?? irq.target_vcpu;
    if (irq.enabled && irq_is_pending(irq)) {
      if (irq.target_vcpu !== null && !this.dist.enabled) return null;
      return irq.target_vcpu;
    }
    return null;
  }

  /** vgic_queue_irq_unlock: entered with irq_lock held (`flags` from its
   *  irqsave), returns with every lock dropped. To take the higher
   *  ap_list_lock it drops irq_lock, takes both in order, and re-checks:
   *  if the interrupt was queued elsewhere or its oracle changed meanwhile,
   *  it starts again. */
  *vgic_queue_irq_unlock(ctx: PCpu, irq: VgicIrq, flags: boolean): Co {
    const fn = ctx.enterFn("vgic_queue_irq_unlock");
    for (;;) {
      const vcpu = this.vgic_target_oracle(irq);
      if (irq.vcpu !== null || vcpu === null) {
        // already on an ap_list (it cannot be moved from here), or not to
        // be queued; an edge already queued may have been EOI'd without a
        // maintenance interrupt, so the target is kicked all the same
        yield* spin_unlock_irqrestore(ctx, irq.irq_lock, flags);
        if (vcpu !== null) yield* this.vcpu_kick(ctx, vcpu);
        ctx.leaveFn(fn);
        return;
      }
      yield* spin_unlock_irqrestore(ctx, irq.irq_lock, flags);
      yield PT_IRQ_LOCK_DROPPED_FOR_AP_LIST_LOCK; // "someone can do stuff here"
      const vc = this.vgic_cpu[vcpu.vcpu_id]!;
      flags = yield* spin_lock_irqsave(ctx, vc.ap_list_lock);
      yield* spin_lock(ctx, irq.irq_lock);
      if (irq.vcpu !== null || vcpu !== this.vgic_target_oracle(irq)) {
        // something changed behind our back: drop both and retry
        yield* spin_unlock(ctx, irq.irq_lock);
        yield* spin_unlock_irqrestore(ctx, vc.ap_list_lock, flags);
        this.retries++;
        flags = yield* spin_lock_irqsave(ctx, irq.irq_lock);
        continue;
      }
      vc.ap_list_head.push(irq); // list_add_tail
      irq.vcpu = vcpu;
      ctx.cost("listOp");
      yield* spin_unlock(ctx, irq.irq_lock);
      yield* spin_unlock_irqrestore(ctx, vc.ap_list_lock, flags);
      yield* this.vcpu_kick(ctx, vcpu);
      ctx.leaveFn(fn);
      return;
    }
  }

  /** vgic_validate_injection: a rising edge, or a level change. */
  private vgic_validate_injection(irq: VgicIrq, level: boolean): boolean {
    if (irq.config === VGIC_CONFIG_EDGE) return level;
    return irq.line_level !== level;
  }

  /** vgic_inject_irq: a device (do_IRQ for a routed SPI) drives the
   *  interrupt's input; `vcpu` names the owner of a private one. */
  *vgic_inject_irq(ctx: PCpu, vcpu: Vcpu | null, intid: number, level: boolean): Co {
    const fn = ctx.enterFn("vgic_inject_irq");
    const irq = this.vgic_get_irq(vcpu, intid);
    const flags = yield* spin_lock_irqsave(ctx, irq.irq_lock);
    if (!this.vgic_validate_injection(irq, level)) {
      yield* spin_unlock_irqrestore(ctx, irq.irq_lock, flags);
      ctx.leaveFn(fn);
      return;
    }
    this.stats.injections++;
    this.observer.injecting?.(intid, vcpu ?? irq.target_vcpu ?? this.d.vcpu[0]!, irq_is_pending(irq));
    if (irq.config === VGIC_CONFIG_LEVEL) irq.line_level = level;
    else irq.pending_latch = true;
    yield* this.vgic_queue_irq_unlock(ctx, irq, flags);
    ctx.leaveFn(fn);
  }

  /** vgic_prune_ap_list: on the vCPU's exit, drop what needs no more work
   *  and move interrupts whose oracle names another vCPU to that vCPU's
   *  ap_list (both ap_list locks, lower id first, then irq_lock; re-check,
   *  and restart from the head after every move). As in Xen 4.11 (still
   *  so in Xen's staging tree) and KVM of Linux 4.15, the new vCPU is not
   *  kicked: it sees the interrupt on its next entry, or when something
   *  else wakes it. Later KVM kicks it (a target_vcpu_needs_kick flag set
   *  when the interrupt moves, then kvm_vcpu_kick after the locks). */
  *vgic_prune_ap_list(ctx: PCpu, vcpu: Vcpu): Co {
    const vc = this.vgic_cpu[vcpu.vcpu_id]!;
    retry: for (;;) {
      const flags = yield* spin_lock_irqsave(ctx, vc.ap_list_lock);
      // list_for_each_entry_safe: the entry itself may be unlinked
      for (const irq of [...vc.ap_list_head]) {
        yield* spin_lock(ctx, irq.irq_lock);
        if (irq.vcpu !== vcpu) throw new Error(`BUG_ON(vcpu != irq->vcpu): IRQ ${irq.intid} on ${vcpu.name}'s ap_list names ${irq.vcpu?.name ?? "no vCPU"}`);
        const target_vcpu = this.vgic_target_oracle(irq);
        if (target_vcpu === null) {
          vc.list_del(irq);
          irq.vcpu = null;
          ctx.cost("listOp");
          yield* spin_unlock(ctx, irq.irq_lock);
          continue;
        }
        if (target_vcpu === vcpu) {
          yield* spin_unlock(ctx, irq.irq_lock);
          continue;
        }
        // it has to be migrated
        yield* spin_unlock(ctx, irq.irq_lock);
        yield* spin_unlock_irqrestore(ctx, vc.ap_list_lock, flags);
        const [vcpuA, vcpuB] = vcpu.vcpu_id < target_vcpu.vcpu_id ? [vcpu, target_vcpu] : [target_vcpu, vcpu];
        const lockA = this.vgic_cpu[vcpuA.vcpu_id]!.ap_list_lock;
        const lockB = this.vgic_cpu[vcpuB.vcpu_id]!.ap_list_lock;
        const f2 = yield* spin_lock_irqsave(ctx, lockA);
        yield* spin_lock(ctx, lockB);
        yield* spin_lock(ctx, irq.irq_lock);
        if (target_vcpu === this.vgic_target_oracle(irq)) {
          vc.list_del(irq);
          irq.vcpu = target_vcpu;
          this.vgic_cpu[target_vcpu.vcpu_id]!.ap_list_head.push(irq);
          this.stats.migrations++;
          ctx.cost("listOp");
        }
        yield* spin_unlock(ctx, irq.irq_lock);
        yield* spin_unlock(ctx, lockB);
        yield* spin_unlock_irqrestore(ctx, lockA, f2);
        continue retry;
      }
      yield* spin_unlock_irqrestore(ctx, vc.ap_list_lock, flags);
      return;
    }
  }

  /** vgic_irq_cmp: active first, then pending and enabled by priority;
   *  takes both irq locks (irqa's first). */
  private *vgic_irq_cmp(ctx: PCpu, a: VgicIrq, b: VgicIrq): Co<number> {
    yield* spin_lock(ctx, a.irq_lock);
    yield* spin_lock(ctx, b.irq_lock);
    let ret: number;
    if (a.active || b.active) {
      ret = Number(b.active) - Number(a.active);
    } else {
      const penda = a.enabled && irq_is_pending(a);
      const pendb = b.enabled && irq_is_pending(b);
      ret = !penda || !pendb ? Number(pendb) - Number(penda) : a.priority - b.priority;
    }
    yield* spin_unlock(ctx, b.irq_lock);
    yield* spin_unlock(ctx, a.irq_lock);
    return ret;
  }

  /** vgic_sort_ap_list (ap_list_lock held): list_sort, a stable merge sort. */
  private *vgic_sort_ap_list(ctx: PCpu, vcpu: Vcpu): Co {
    const list = this.vgic_cpu[vcpu.vcpu_id]!.ap_list_head;
    this.sorts++;
    for (let width = 1; width < list.length; width *= 2) {
      const out: VgicIrq[] = [];
      for (let lo = 0; lo < list.length; lo += 2 * width) {
        let i = lo, j = Math.min(lo + width, list.length);
        const mid = j, hi = Math.min(lo + 2 * width, list.length);
        while (i < mid && j < hi) out.push((yield* this.vgic_irq_cmp(ctx, list[i]!, list[j]!)) <= 0 ? list[i++]! : list[j++]!);
        while (i < mid) out.push(list[i++]!);
        while (j < hi) out.push(list[j++]!);
      }
      list.splice(0, list.length, ...out);
    }
  }

  /** vgic_flush_lr_state (ap_list_lock held): sort when the list is deeper
   *  than the LRs, fill them in list order with what the oracle still gives
   *  to this vCPU, and ask for the underflow maintenance interrupt if some
   *  did not fit. */
  private *vgic_flush_lr_state(ctx: PCpu, vcpu: Vcpu): Co {
    const vc = this.vgic_cpu[vcpu.vcpu_id]!;
    if (vc.ap_list_head.length > this.nr_lrs) yield* this.vgic_sort_ap_list(ctx, vcpu);
    let count = 0;
    const list = vc.ap_list_head;
    for (let k = 0; k < list.length; k++) {
      const irq = list[k]!;
      yield* spin_lock(ctx, irq.irq_lock);
      if (this.vgic_target_oracle(irq) === vcpu) this.vgic_v2_populate_lr(ctx, irq, count++);
      yield* spin_unlock(ctx, irq.irq_lock);
      if (count === this.nr_lrs) {
        if (k !== list.length - 1) {
          this.update_hcr_status(ctx, GICH_HCR_UIE, true); // vgic_set_underflow
          this.stats.lrPendingAdds += list.length - 1 - k;
        }
        break;
      }
    }
    vc.used_lrs = count;
  }

  /** vgic_sync_from_lrs, on every entry from the guest (was KVM's
   *  kvm_vgic_sync_hwstate): fold the LRs, then prune. */
  *vgic_sync_from_lrs(ctx: PCpu, vcpu: Vcpu): Co {
    const vc = this.vgic_cpu[vcpu.vcpu_id]!;
    if (vc.ap_list_head.length === 0) return; // empty ap_list: used_lrs is 0
    const fn = ctx.enterFn("vgic_sync_from_lrs");
    yield* this.vgic_v2_fold_lr_state(ctx, vcpu);
    yield* this.vgic_prune_ap_list(ctx, vcpu);
    ctx.leaveFn(fn);
  }

  /** vgic_sync_to_lrs, before returning to the guest with IRQs off (was
   *  kvm_vgic_flush_hwstate). The unlocked emptiness test is the benign
   *  race the source describes: an injection after it kicks the vCPU. */
  *vgic_sync_to_lrs(ctx: PCpu): Co {
    const current = this.pcpu[ctx.id]!.current!;
    const vc = this.vgic_cpu[current.vcpu_id]!;
    const P = PT_LIST_EMPTY_AP_LIST;
    if (!ctx.passes(P)) yield P;
    if (vc.ap_list_head.length === 0) return;
    const fn = ctx.enterFn("vgic_sync_to_lrs");
    yield* spin_lock(ctx, vc.ap_list_lock);
    yield* this.vgic_flush_lr_state(ctx, current);
    yield* spin_unlock(ctx, vc.ap_list_lock);
    this.update_hcr_status(ctx, GICH_HCR_EN, true);
    ctx.leaveFn(fn);
  }

  /** vgic_vcpu_pending_irq: something on the vCPU's ap_list pending and
   *  enabled (no priority check: event.h's comment), never while the
   *  distributor is off. Used by WFI (local_events_need_delivery_nomask). */
  *vgic_vcpu_pending_irq(ctx: PCpu, vcpu: Vcpu): Co<boolean> {
    if (!this.dist.enabled) return false;
    const vc = this.vgic_cpu[vcpu.vcpu_id]!;
    const flags = yield* spin_lock_irqsave(ctx, vc.ap_list_lock);
    let ret = false;
    for (const irq of vc.ap_list_head) {
      yield* spin_lock(ctx, irq.irq_lock);
      ret = irq_is_pending(irq) && irq.enabled;
      yield* spin_unlock(ctx, irq.irq_lock);
      if (ret) break;
    }
    yield* spin_unlock_irqrestore(ctx, vc.ap_list_lock, flags);
    return ret;
  }

  gic_events_need_delivery(ctx: PCpu, v: Vcpu): Co<boolean> {
    return this.vgic_vcpu_pending_irq(ctx, v);
  }

  /** vgic_kick_vcpus: after GICD_CTLR enables the distributor. */
  *vgic_kick_vcpus(ctx: PCpu): Co {
    for (const v of this.d.vcpu) if (yield* this.vgic_vcpu_pending_irq(ctx, v)) yield* this.vcpu_kick(ctx, v);
  }

  /** vgic_sync_hardware_irq: desc lock, then irq_lock; an enabled vIRQ
   *  enables the physical one at its target's pCPU, else disables it. */
  *vgic_sync_hardware_irq(ctx: PCpu, desc: IrqDesc, irq: VgicIrq): Co {
    const flags = yield* spin_lock_irqsave(ctx, desc.lock);
    yield* spin_lock(ctx, irq.irq_lock);
    if (irq.enabled) {
      if (irq.target_vcpu !== null) yield* this.irq_set_affinity(ctx, desc, 1 << irq.target_vcpu.processor);
      yield* this.gicv2_irq_enable(ctx, desc);
    } else {
      yield* this.gicv2_irq_disable(ctx, desc);
    }
    yield* spin_unlock(ctx, irq.irq_lock);
    yield* spin_unlock_irqrestore(ctx, desc.lock, flags);
  }

  /** arch_move_irqs (vgic.c at 4.11): after vcpu_migrate, every HW SPI
   *  whose target_vcpu is v gets its physical affinity moved, under its
   *  irq_lock. */
  *arch_move_irqs(ctx: PCpu, v: Vcpu): Co {
    const fn = ctx.enterFn("arch_move_irqs");
    const made: Array<[VgicIrq, null]> = [];
    this.dist.madeIrqs(null, made); // one not made is not hw
    for (const [irq] of made) {
      if (!irq.hw) continue; // takes and drops irq_lock only: skipped, as the original design skips it
      const flags = yield* spin_lock_irqsave(ctx, irq.irq_lock);
      if (irq.target_vcpu === v) yield* this.irq_set_affinity(ctx, this.descs.get(irq.hwintid)!, 1 << v.processor);
      yield* spin_unlock_irqrestore(ctx, irq.irq_lock, flags);
    }
    ctx.leaveFn(fn);
  }

  // ---- vgic-v2.c

  /** vgic_v2_fold_lr_state: read and clear each used LR and fold it into
   *  its vgic_irq: active as is; pending kept for edges (and an SGI's
   *  source), a level's soft latch cleared once acknowledged, a mapped
   *  level resampled from the physical distributor. For a HW interrupt the
   *  desc lock is taken before irq_lock (irq->hw read unlocked: it is
   *  write-once). Clears GICH_HCR.En at the end (Xen; KVM leaves it). */
  private *vgic_v2_fold_lr_state(ctx: PCpu, vcpu: Vcpu): Co {
    const vc = this.vgic_cpu[vcpu.vcpu_id]!;
    const used_lrs = vc.used_lrs;
    if (used_lrs === 0) return;
    this.update_hcr_status(ctx, GICH_HCR_UIE, false);
    for (let lr = 0; lr < used_lrs; lr++) {
      const lrv = this.gich(ctx, GICH.LR + 4 * lr);
      this.gichWrite(ctx, GICH.LR + 4 * lr, 0); // clear_lr
      const l = decodeLr(lrv);
      const intid = l.virtualId;
      const irq = this.vgic_get_irq(vcpu, intid);
      const flags = ctx.local_irq_save();
      let desc: IrqDesc | null = null;
      if (irq.hw) {
        desc = this.descs.get(irq.hwintid)!;
        yield* spin_lock(ctx, desc.lock);
      }
      yield* spin_lock(ctx, irq.irq_lock);
      const active = (l.state & LrState.Active) !== 0;
      const pending = (l.state & LrState.Pending) !== 0;
      irq.active = active;
      if (irq.config === VGIC_CONFIG_EDGE && pending) {
        // an instance latched meanwhile merges into the one still pending
        // in the LR (for an SGI: from the same source)
        const src = 1 << (l.physicalId & 7);
        if (intid < VGIC_NR_SGIS ? (irq.source & src) !== 0 : irq.pending_latch) this.observer.merged?.(intid, vcpu);
        irq.pending_latch = true;
        if (intid < VGIC_NR_SGIS) irq.source |= src;
      }
      if (irq.config === VGIC_CONFIG_LEVEL && !pending) irq.pending_latch = false;
      if (vgic_irq_is_mapped_level(irq) && pending) {
        // gic_read_pending_state, gic_set_active_state(desc, false)
        irq.line_level = ((this.gicd(ctx, GICD.ISPENDR + 4 * (desc!.irq >> 5)) >>> (desc!.irq & 31)) & 1) === 1;
        if (!irq.line_level) this.gic_set_state(ctx, desc!, "ICACTIVER");
      }
      yield* spin_unlock(ctx, irq.irq_lock);
      if (desc !== null) yield* spin_unlock(ctx, desc.lock);
      ctx.local_irq_restore(flags);
    }
    this.update_hcr_status(ctx, GICH_HCR_EN, false);
    vc.used_lrs = 0;
  }

  /** vgic_v2_populate_lr (irq_lock held): an edge's latch is consumed; an
   *  SGI takes its lowest pending source and stays latched while others
   *  remain; a HW LR never gets pending+active (checked, as in Xen and KVM,
   *  after the edge latch was cleared); a software level asks for the EOI
   *  maintenance interrupt; a mapped level lowers line_level. */
  private vgic_v2_populate_lr(ctx: PCpu, irq: VgicIrq, lr: number): void {
    let pending = false;
    let source = 0;
    if (irq_is_pending(irq)) {
      pending = true;
      if (irq.config === VGIC_CONFIG_EDGE) irq.pending_latch = false;
      if (irq.intid < VGIC_NR_SGIS) {
        if (irq.source === 0) throw new Error(`BUG_ON(!src): SGI ${irq.intid} pending with no source`);
        source = 31 - Math.clz32(irq.source & -irq.source);
        irq.source &= ~(1 << source);
        if (irq.source !== 0) irq.pending_latch = true;
      }
    }
    const active = irq.active;
    let eoi = false;
    if (irq.hw) {
      if (active && irq_is_pending(irq)) pending = false;
    } else if (irq.config === VGIC_CONFIG_LEVEL) {
      eoi = true;
    }
    if (vgic_irq_is_mapped_level(irq) && pending) irq.line_level = false;
    const state = (pending ? LrState.Pending : 0) | (active ? LrState.Active : 0);
    this.gichWrite(ctx, GICH.LR + 4 * lr, encodeLr({
      virtualId: irq.intid, physicalId: irq.hw ? irq.hwintid : source, eoi,
      priority: irq.priority, state, group1: false, hw: irq.hw,
    }));
  }

  // ---- the trapped distributor (vgic-mmio.c, vgic-mmio-v2.c)

  distr_mmio(ctx: PCpu, v: Vcpu, off: number, size: 1 | 2 | 4, write: boolean, value: number): Co<MmioResult> {
    return dispatch_mmio(this, ctx, v, off, size, write, value);
  }

  /** vcpu_kick (arm/domain.c): unblock, and an event-check SGI if it runs
   *  elsewhere. */
  *vcpu_kick(ctx: PCpu, v: Vcpu): Co {
    const P = PT_V_IS_RUNNING;
    if (!ctx.passes(P)) yield P;
    const running = v.is_running && !v.blocked;
    if (v.blocked) {
      v.blocked = false; // vcpu_unblock
      if (v.processor !== ctx.id) yield* this.smp_send_event_check_mask(ctx, 1 << v.processor);
    }
    if (running && v !== this.pcpu[ctx.id]!.current) yield* this.smp_send_event_check_mask(ctx, 1 << v.processor);
  }

  /** gic_set_active_state / gic_set_pending_state on the physical SPI. */
  gic_set_state(ctx: PCpu, desc: IrqDesc, reg: "ISACTIVER" | "ICACTIVER" | "ICPENDR"): void {
    this.gicdWrite(ctx, GICD[reg] + 4 * (desc.irq >> 5), 1 << (desc.irq & 31));
  }

  // ---- irq.c and the exception entry

  /** do_IRQ (4.11) for a routed SPI: desc lock, priority drop (the guest
   *  deactivates through the HW LR), vgic_inject_irq with the desc lock
   *  still held - so desc->lock is taken above ap_list_lock here, against
   *  the order vgic.c's header documents. KVM injects from its irqfd and
   *  timer paths with no descriptor lock. */
  *do_IRQ(ctx: PCpu, irq: number): Co {
    const fn = ctx.enterFn("do_IRQ");
    ctx.irq_enter(); // hard-IRQ context: do_IRQ's, as in the original vGIC's
    const desc = this.descs.get(irq);
    if (desc === undefined) {
      // Xen's own interrupts: common code (irq.c, time.c), borrowed
      yield* this.host_irq(ctx, irq, fn);
      return;
    }
    yield* spin_lock(ctx, desc.lock);
    this.giccWrite(ctx, GICC.EOIR, irq);
    this.observer.physicalAck?.(irq, ctx.id, ctx.clock);
    yield* this.vgic_inject_irq(ctx, null, irq, true);
    yield* spin_unlock(ctx, desc.lock);
    ctx.irq_exit();
    ctx.leaveFn(fn);
  }

  /** The virtual timer's injection (vtimer_interrupt for the running vCPU,
   *  virt_timer_expired from the timer softirq for one switched out; 4.11
   *  calls vgic_inject_irq(d, v, irq, true) from both). Its level falls
   *  once the guest's handler reprograms the timer, which vtimer_update_irqs
   *  samples on the next entry; the model's guest does not program CNTV_CTL,
   *  so the level is a latch the fold clears once the guest has acknowledged
   *  it (a level's pending_latch, vgic_v2_fold_lr_state). */
  *vgic_vcpu_inject_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
    const irq = this.vgic_get_irq(v, virq);
    const flags = yield* spin_lock_irqsave(ctx, irq.irq_lock);
    this.stats.injections++;
    this.observer.injecting?.(virq, v, irq.pending_latch);
    irq.pending_latch = true;
    yield* this.vgic_queue_irq_unlock(ctx, irq, flags);
  }

  /** enter_hypervisor_head: every entry from the guest syncs from the LRs. */
  *enter_hypervisor_head(ctx: PCpu): Co {
    const current = this.pcpu[ctx.id]!.current;
    if (current !== null) yield* this.vgic_sync_from_lrs(ctx, current);
  }

  /** leave_hypervisor_tail: IRQs off, sync to the LRs. */
  *leave_hypervisor_tail(ctx: PCpu): Co {
    const flags = ctx.local_irq_save();
    if (this.pcpu[ctx.id]!.current !== null) yield* this.vgic_sync_to_lrs(ctx);
    ctx.local_irq_restore(flags);
  }

  // ---- context switch (gicv2_save_state / gicv2_restore_state): the LRs
  // are saved and restored as they are; with the new vGIC they are empty
  // by then (every entry folded them), and the next vgic_sync_to_lrs
  // refills them from the ap_list.

  *context_switch(ctx: PCpu, next: Vcpu | null): Co {
    const pc = this.pcpu[ctx.id]!;
    if (pc.current === next) return;
    const fn = ctx.enterFn("context_switch");
    this.stats.contextSwitches++;
    if (pc.current !== null && next !== null) ctx.cost("contextSwitch");
    else ctx.charge(Math.round(this.machine.cycles.contextSwitch / 2));
    const flags = ctx.local_irq_save();
    const prev = pc.current;
    if (prev !== null) {
      prev.virt_timer.virt_timer_save(ctx); // ctxt_switch_from: before gic_save_state
      const lrs: number[] = [];
      for (let i = 0; i < this.nr_lrs; i++) lrs.push(this.gich(ctx, GICH.LR + 4 * i));
      prev.saved = { lrs, lr_mask: new Uint8Array(this.nr_lrs), vmcr: this.gich(ctx, GICH.VMCR), apr: this.gich(ctx, GICH.APR), hcr: 0 };
      this.gichWrite(ctx, GICH.HCR, 0);
      prev.is_running = false;
      pc.current = null;
      yield PT_GIC_SAVE_STATE;
    }
    if (next !== null) {
      const s = next.saved;
      for (let i = 0; i < this.nr_lrs; i++) this.gichWrite(ctx, GICH.LR + 4 * i, s ? s.lrs[i]! : 0);
      if (s) {
        this.gichWrite(ctx, GICH.APR, s.apr);
        this.gichWrite(ctx, GICH.VMCR, s.vmcr);
      }
      this.gichWrite(ctx, GICH.HCR, GICH_HCR_EN);
      next.saved = null;
      next.processor = ctx.id;
      next.is_running = true;
      pc.current = next;
      next.virt_timer.virt_timer_restore(ctx, this.withdrawTimer); // ctxt_switch_to: after gic_restore_state
    }
    ctx.local_irq_restore(flags);
    ctx.leaveFn(fn);
  }

  /** stop_timer of a vCPU's software timer, for virt_timer_restore. */
  private readonly withdrawTimer = (t: VirtTimer): void => stop_timer(this.pcpu, t);

  // ---- what the checks and the accounting read

  /** Every list register in use with its vCPU: on a pCPU, or saved. */
  listRegisters(gic: Gic): Array<{ vcpu: Vcpu; lr: number; value: number }> {
    const out: Array<{ vcpu: Vcpu; lr: number; value: number }> = [];
    this.pcpu.forEach((pc, cpu) => {
      if (pc.current === null) return;
      for (let i = 0; i < this.nr_lrs; i++) out.push({ vcpu: pc.current, lr: i, value: gic.listRegister(cpu, i) });
    });
    for (const v of this.d.vcpu) v.saved?.lrs.forEach((value, lr) => out.push({ vcpu: v, lr, value }));
    return out.filter((l) => decodeLr(l.value).state !== LrState.Invalid);
  }

  virtualPending(gic: Gic, intid: number, v?: Vcpu): number {
    const irq = this.vgic_get_irq(v ?? null, intid);
    if (irq_is_pending(irq)) return 1;
    return this.listRegisters(gic).some((l) => (intid >= 32 || l.vcpu === v) && (l.value & 0x3ff) === intid &&
      (decodeLr(l.value).state & LrState.Pending) !== 0) ? 1 : 0;
  }

  guestEnabled(intid: number): boolean {
    return this.vgic_get_irq(this.d.vcpu[0]!, intid).enabled;
  }
}

export { VGIC_CONFIG_EDGE, VGIC_CONFIG_LEVEL };
