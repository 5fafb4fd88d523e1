// Xen 4.8's ARM vGIC (xen/arch/arm/vgic.c, gic.c, irq.c, traps.c), as
// generator functions on the simulated machine. Every function keeps Xen's
// name, arguments and lock order so that a Xen developer can put the seed's
// patch next to this file and see the same lines move. `ctx` is the pCPU
// running the code; `yield*` marks a call into simulated code that may be
// preempted; `yield point(...)` marks an unlocked access to shared state that
// the review thread argues about (status bits, list membership, rank->vcpu).
//
// Design variants (host/xen/variants.ts) subclass this class and override
// only the functions their patch touched.

import { point, type Co } from "../sim/api.ts";
import type { Machine, PCpu } from "../sim/machine.ts";
import type { StackNode } from "../sim/lockdep.ts";
import {
  DONE_FALSE, SpinLock, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
} from "../sim/lock.ts";
import { GICC, GICD, GICH, LrState, encodeLr, decodeLr, sgir } from "../hw/regs.ts";
import { Domain, LOCK_CLASS_DESC, LOCK_CLASS_GIC, descLockName, type Vcpu } from "./domain.ts";
import { TIMER_HYP_PPI, VTIMER_PPI, stop_timer, vcpu_vtimer_init, type VirtTimer } from "./vtimer.ts";
import {
  GIC_INVALID_LR, GIC_IRQ_GUEST_ACTIVE, GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING,
  GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE, type IrqDesc, type PendingIrq, type VgicIrqRank,
} from "./pending.ts";
import { emptyStats, type DesignNames, type VgicDesign } from "./design.ts";
import { vgic_v2_distr_mmio, type MmioResult } from "./vgic-v2.ts";
import { pendingIrqPending } from "./vgic-state.ts";
import type { Gic } from "../hw/gic.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_GIC_INIT_DONE = point("gic_init done");
const PT_V_IS_RUNNING = point("v->is_running");
const PT_TEST_BIT_MIGRATING = point("test_bit MIGRATING");
const PT_READ_RANK_VCPU = point("read rank->vcpu");
const PT_WRITE_RANK_VCPU = point("write rank->vcpu");
const PT_SET_BIT_ENABLED = point("set_bit ENABLED");
const PT_CLEAR_BIT_ENABLED = point("clear_bit ENABLED");
const PT_SEND_SGI = point("send SGI");
const PT_GIC_SET_LR = point("gic_set_lr");
const PT_LR_PENDING_ADD = point("lr_pending add");
const PT_LIST_DEL_INIT_INFLIGHT = point("list_del_init inflight");
const PT_TEST_QUEUED_MIGRATING = point("test QUEUED/MIGRATING");
const PT_GIC_INTERRUPT_LOOP = point("gic_interrupt loop");
const PT_GIC_SAVE_STATE = point("gic_save_state");

/** Xen's IPI numbers (xen/include/asm-arm/gic.h). */
export const GIC_SGI_EVENT_CHECK = 0;
/** Xen's priorities for its own interrupts (gic.h): IRQs 0xa0, IPIs 0x90. */
export const GIC_PRI_IRQ = 0xa0;
export const GIC_PRI_IPI = 0x90;
/** The virtual interface maintenance interrupt (IHI 0048B 5.3). */
export const MAINTENANCE_PPI = 25;

/** Maintenance IRQs acknowledged in one IRQ exception that make it a
 *  livelock. Every IRQ exception taken from the guest folds the list
 *  registers and clears GICH_HCR.UIE before its first acknowledge, so the
 *  maintenance IRQ it finds is gone by its second; one taken at EL2 (a
 *  trap's IRQ window, before enter_hypervisor_head) folds nothing, and
 *  the handler, a dummy (maintenance_interrupt, gic.c), changes nothing
 *  that MISR reads: the same level is acknowledged, EOId and raised again
 *  for as long as nothing else touches this pCPU's list registers. A
 *  thousand in a row (about 200,000 cycles of the xgene profile) is the
 *  pCPU stuck, as Xen's 31180f87e4 ("clear UIE on hypervisor entry")
 *  describes it on hardware. */
export const LIVELOCK_MAINTENANCE_ACKS = 1000;

/** Per pCPU in an IRQ exception: the maintenance IRQs it has acknowledged
 *  in that exception so far (absent once the exception found nothing more
 *  to acknowledge). A run that ends inside the loop is judged by it. */
const MAINTENANCE_ACKS = new WeakMap<PCpu, number>();

/** The maintenance IRQs `ctx` has acknowledged in the IRQ exception it is
 *  in, 0 when it is in none or has acknowledged none. */
export function maintenanceAcksInException(ctx: PCpu): number {
  return MAINTENANCE_ACKS.get(ctx) ?? 0;
}

/** A pCPU stuck acknowledging the maintenance IRQ: the machine reports it
 *  as a `livelock` finding and the run stops there. */
export class LivelockError extends Error {
  override readonly name = "livelock";
  constructor(readonly pcpu: number, readonly acks: number) {
    super(`pCPU${pcpu} acknowledged maintenance IRQ ${MAINTENANCE_PPI} ${acks} times in one IRQ exception without returning to the guest: ` +
      `the exception was taken in the hypervisor (a trap's IRQ window, before enter_hypervisor_head clears GICH_HCR.UIE and folds the list registers), ` +
      `so nothing clears the underflow or EOI condition that keeps it raised: the pCPU livelocks`);
  }
}
export { VTIMER_PPI, TIMER_HYP_PPI } from "./vtimer.ts";

export interface VgicOptions {
  /** vCPU -> pCPU placement; default one to one */
  placement?: number[];
  /** SPIs the guest sees (multiple of 32); default what the physical GIC has */
  nr_spis?: number;
  /** physical SPIs routed to the guest with the same virtual ID, and
   *  their trigger (from the platform's firmware description) */
  routed?: Array<number | RoutedIrq>;
}

export interface RoutedIrq {
  irq: number;
  /** edge-triggered (default: level, as most device SPIs are) */
  edge?: boolean;
}

/** What the hypervisor counts; the workload layer reads it for its report. */
export interface VgicStats {
  traps: number;
  mmioDataAborts: number;
  domainCrashes: number;
  /** maintenance interrupts acknowledged (IRQ 25 read from GICC_IAR) */
  maintenanceIrqs: number;
  /** physical IRQ exceptions whose first GICC_IAR read found nothing (1023):
   *  the line dropped between the signal and the acknowledge: an SPI an
   *  ITARGETSR write moved to another CPU meanwhile, or the maintenance
   *  interrupt gic_clear_lrs silences on entry by clearing UIE (Xen's own
   *  comment there: such exits read 1023), so a maintenance storm shows
   *  here rather than as maintenance IRQs */
  spuriousIrqExits: number;
  lrPendingAdds: number;
  migrations: number;
  injections: number;
  /** injections dropped by a design decision (v3's MIGRATING check) */
  dropped: number;
  kicks: number;
  contextSwitches: number;
  /** vCPUs moved to another pCPU (vcpu_migrate) */
  vcpuMigrations: number;
  /** virtual timer PPIs taken from the hardware and injected into current
   *  (Xen's perf counter virt_timer_irqs) */
  vtimerIrqs: number;
  /** virtual timers injected by their software timer, the vCPU switched
   *  out (vtimer_virt_inject) */
  vtimerSoftInjections: number;
}

/** Observer hooks for accounting; all optional, none on the hot path when unset. */
export interface VgicObserver {
  /** a physical interrupt was acknowledged on `pcpu` and handed to the vGIC */
  physicalAck?(irq: number, pcpu: number, cycle: number): void;
  /** the design dropped an instance on purpose: refused at its injection
   *  (`injected` false: v3's MIGRATING check, before `injecting`), or one
   *  injected earlier and waiting (`injected` true: "already active in LR") */
  dropped?(irq: number, v: Vcpu, reason: string, cycle: number, injected: boolean): void;
  /** an injection into v is about to mark the interrupt pending (the old
   *  design: QUEUED, under v's vgic lock, after any drop); `merges`: an
   *  instance already waits there and absorbs this one. Every path that
   *  makes an instance pending for the guest tells it (a device's, a
   *  timer's, an SGI, the guest's own GICD_ISPENDR/SPENDSGIR): the
   *  accounting judges each delivery against the instances injected */
  injecting?(irq: number, v: Vcpu, merges: boolean): void;
  /** vgic_migrate_irq took an injected instance that was still waiting on
   *  v's lr_pending off every list (QUEUED cleared): it is in flight no
   *  more, until it is injected into the new target again (or never, as in
   *  v3 as posted) */
  withdrawn?(irq: number, v: Vcpu): void;
  /** the guest made `irq` pending itself (a GICD_ISPENDR write the design
   *  emulates): an instance that no device raised and the hypervisor never
   *  acknowledged (the design also tells `injecting`) */
  guestPended?(irq: number, v: Vcpu): void;
  /** the guest withdrew a pending instance of `irq` (a GICD_ICPENDR write
   *  the design emulates, clearing a set pending latch) */
  guestCleared?(irq: number, v: Vcpu): void;
  /** gic_update_one_lr found `irq` QUEUED while its LR is still pending:
   *  the queued instance merged into the pending one */
  merged?(irq: number, v: Vcpu): void;
  /** the guest's handler entered for `irq` (called by the guest model) */
  delivered?(irq: number, v: Vcpu, cycle: number): void;
  /** the guest EOI'd `irq` */
  completed?(irq: number, v: Vcpu, cycle: number): void;
  /** gic_save_state is about to save `v`'s virtual interface on `pcpu` */
  switchingOut?(v: Vcpu, pcpu: number): void;
  /** gic_restore_state has written `v`'s saved state to `pcpu`'s virtual
   *  interface (before gic_restore_pending_irqs fills free list registers) */
  switchedIn?(v: Vcpu, pcpu: number): void;
  /** gic_clear_lrs finished: the entry work of an exception from the guest */
  clearedLrs?(v: Vcpu, pcpu: number): void;
  /** `pcpu` is about to return to guest mode */
  enteringGuest?(pcpu: number): void;
}

/** Per-pCPU hypervisor state: this_cpu(lr_mask), current. */
export interface PcpuState {
  /** this_cpu(lr_mask): 1 where the LR is in use (up to 64 LRs) */
  lr_mask: Uint8Array;
  /** the vCPU whose context is loaded, or null when idle */
  current: Vcpu | null;
  /** vCPUs placed here, in run order */
  runq: Vcpu[];
  /** the pCPU runs guest code (an exception from here is an entry from the guest) */
  inGuest: boolean;
  /** software timers of vCPUs that expired here and wait for the timer
   *  softirq (Xen's per-pCPU timer heap, reduced to what vtimer uses) */
  timers_expired: VirtTimer[];
}

export class Vgic implements VgicDesign {
  readonly variant: string = "xen-4.8";
  readonly family = "pending_irq" as const;
  /** vgic_migrate_irq points the physical interrupt at the new pCPU as it
   *  starts (the seed's v3), not when the old list register is folded (4.8,
   *  4.9): a scenario set up in the middle of a migration moves it too. */
  readonly affinityAtMigrate: boolean = false;
  readonly names: DesignNames = {
    foldLrs: "gic_clear_lrs", inject: ["vgic_vcpu_inject_irq"], flushLrs: "gic_inject",
    mmioRead: "vgic_v2_distr_mmio_read", mmioWrite: "vgic_v2_distr_mmio_write", queuedStage: "waiting on lr_pending",
  };
  readonly d: Domain;
  readonly pcpu: PcpuState[];
  readonly descs = new Map<number, IrqDesc>();
  readonly gicv2_lock: SpinLock;
  readonly nr_lrs: number;
  readonly stats: VgicStats = emptyStats();
  observer: VgicObserver = {};

  constructor(readonly machine: Machine, opts: VgicOptions = {}) {
    const gic = machine.gic;
    const cpus = gic.config.cpus;
    this.gicdBase = gic.config.map.gicd;
    this.giccBase = gic.config.map.gicc;
    this.gichBase = gic.config.map.gich;
    const placement = opts.placement ?? Array.from({ length: cpus }, (_, i) => i);
    for (const p of placement) {
      if (!Number.isInteger(p) || p < 0 || p >= cpus) throw new RangeError(`vCPU placement names pCPU ${p}; this machine has ${cpus}`);
    }
    const nr_spis = opts.nr_spis ?? gic.config.irqs - 32;
    this.d = new Domain(machine, 1, placement, nr_spis);
    this.nr_lrs = gic.config.listRegisters;
    this.gicv2_lock = new SpinLock(machine, LOCK_CLASS_GIC, "gicv2.lock");
    this.pcpu = Array.from({ length: cpus }, (_, i) => ({
      lr_mask: new Uint8Array(this.nr_lrs), current: null, runq: this.d.vcpu.filter((v) => v.processor === i), inGuest: false,
      timers_expired: [],
    }));
    // with a trace, each vCPU's lr_pending depth is a counter track
    if (machine.trace !== null) {
      for (const v of this.d.vcpu) v.lr_pending.onChange = (n) => machine.traceHere("counter", "lr_pending", v.vcpu_id, n);
    }
    vcpu_vtimer_init(machine, this.d.vcpu, this.pcpu);
    for (const r of opts.routed ?? []) {
      const { irq, edge } = typeof r === "number" ? { irq: r, edge: false } : r;
      this.route_irq_to_guest(irq).edge = edge ?? false;
    }
  }

  // ---- helpers over the physical GIC (gic-v2.c): every access is charged

  // the frame bases of the (frozen) configuration's memory map
  private readonly gicdBase: number;
  private readonly giccBase: number;
  private readonly gichBase: number;

  protected gicd(ctx: PCpu, off: number): number { return ctx.gicRead(this.gicdBase + off); }
  protected gicdWrite(ctx: PCpu, off: number, v: number, size: 1 | 4 = 4): void {
    ctx.gicWrite(this.gicdBase + off, v, size);
  }
  protected gicc(ctx: PCpu, off: number): number { return ctx.gicRead(this.giccBase + off); }
  protected giccWrite(ctx: PCpu, off: number, v: number): void { ctx.gicWrite(this.giccBase + off, v); }
  protected gich(ctx: PCpu, off: number): number { return ctx.gicRead(this.gichBase + off); }
  protected gichWrite(ctx: PCpu, off: number, v: number): void { ctx.gicWrite(this.gichBase + off, v); }

  /** route_irq_to_guest: the physical SPI gets the guest irq type (EOI-only
   *  end, deactivation through the guest's HW list register). */
  route_irq_to_guest(irq: number): IrqDesc {
    if (irq < 32 || irq >= this.d.nr_irqs) throw new RangeError(`only SPIs 32-${this.d.nr_irqs - 1} can be routed, not ${irq}`);
    const desc: IrqDesc = {
      irq, edge: false,
      lock: new SpinLock(this.machine, LOCK_CLASS_DESC, descLockName(irq)),
    };
    this.descs.set(irq, desc);
    this.d.spi_to_pending(irq).desc = desc;
    return desc;
  }

  // ---- VgicDesign: the trapped GICD access and the state the checks read

  distr_mmio(ctx: PCpu, v: Vcpu, off: number, size: 1 | 2 | 4, write: boolean, value: number): Co<MmioResult> {
    return vgic_v2_distr_mmio(this, ctx, v, off, size, write, value);
  }

  virtualPending(gic: Gic, irq: number, v?: Vcpu): number {
    return irq >= 32 ? pendingIrqPending(this, gic, this.d.spi_to_pending(irq)) : pendingIrqPending(this, gic, v!.private_irq(irq), v);
  }

  guestEnabled(irq: number): boolean {
    return ((this.d.rank_irq(this.d.vcpu[0]!, irq).ienable >>> (irq & 31)) & 1) === 1;
  }

  // ---- boot: gicv2_dist_init, gicv2_cpu_init, gicv2_hyp_init

  /** Physical GIC bring-up on one pCPU, as Xen's gic-v2.c does it. */
  *gic_init_cpu(ctx: PCpu): Co {
    const cpu = ctx.id;
    if (cpu === 0) {
      // gicv2_dist_init: all SPIs level, priority GIC_PRI_IRQ, routed to
      // the boot CPU, disabled; then enable the distributor.
      this.gicdWrite(ctx, GICD.CTLR, 0);
      const n = this.machine.gic.config.irqs;
      for (let i = 32; i < n; i += 16) this.gicdWrite(ctx, GICD.ICFGR + (i / 4), 0);
      for (let i = 32; i < n; i += 4) {
        this.gicdWrite(ctx, GICD.ITARGETSR + i, 0x01010101);
        this.gicdWrite(ctx, GICD.IPRIORITYR + i, GIC_PRI_IRQ * 0x01010101);
      }
      for (let i = 32; i < n; i += 32) this.gicdWrite(ctx, GICD.ICENABLER + i / 8, 0xffffffff);
      this.gicdWrite(ctx, GICD.CTLR, 1);
      // gic_route_irq_to_guest: the trigger the platform describes, and
      // the pCPU of the interrupt's initial target (vCPU 0)
      for (const desc of this.descs.values()) {
        if (desc.edge) {
          const off = GICD.ICFGR + 4 * (desc.irq >> 4);
          this.gicdWrite(ctx, off, this.gicd(ctx, off) | (2 << (2 * (desc.irq & 15))));
        }
        this.gicdWrite(ctx, GICD.ITARGETSR + desc.irq, 1 << this.d.vcpu[0]!.processor, 1);
      }
    }
    // gicv2_cpu_init: SGIs at GIC_PRI_IPI, PPIs at GIC_PRI_IRQ, SGIs and the
    // maintenance PPI enabled; PMR 0xff, BPR 0, Enable|EOImode (EOImodeNS=1:
    // priority drop and deactivation are separate writes).
    for (let i = 0; i < 16; i += 4) this.gicdWrite(ctx, GICD.IPRIORITYR + i, GIC_PRI_IPI * 0x01010101);
    for (let i = 16; i < 32; i += 4) this.gicdWrite(ctx, GICD.IPRIORITYR + i, GIC_PRI_IRQ * 0x01010101);
    this.gicdWrite(ctx, GICD.ICENABLER, 0xffff0000);
    this.gicdWrite(ctx, GICD.ISENABLER, 0x0000ffff | (1 << MAINTENANCE_PPI));
    this.giccWrite(ctx, GICC.PMR, 0xff);
    this.giccWrite(ctx, GICC.BPR, 0);
    this.giccWrite(ctx, GICC.CTLR, 1 | (1 << 9));
    // init_timer_interrupt: the virtual timer PPI (vtimer_interrupt) and
    // the hypervisor timer PPI (timer_interrupt) are Xen's own, level-sensitive
    this.gicdWrite(ctx, GICD.ISENABLER, (1 << VTIMER_PPI) | (1 << TIMER_HYP_PPI));
    // gicv2_hyp_init: the virtual interface starts disabled until a vCPU's
    // state is restored (gic_restore_state writes GICH_HCR.En).
    this.gichWrite(ctx, GICH.HCR, 0);
    this.pcpu[cpu]!.lr_mask.fill(0);
    yield PT_GIC_INIT_DONE;
  }

  // ---- vgic.c

  /** vgic_get_target_vcpu (4.8): reads rank->vcpu under the rank lock. */
  *vgic_get_target_vcpu(ctx: PCpu, v: Vcpu, virq: number): Co<Vcpu> {
    const rank = this.d.rank_irq(v, virq);
    const flags = yield* spin_lock_irqsave(ctx, rank.lock);
    const target = rank.target(virq & 31);
    yield* spin_unlock_irqrestore(ctx, rank.lock, flags);
    return this.d.vcpu[target]!;
  }

  /** vgic_get_virq_priority (4.8): the rank lock again. */
  *vgic_get_virq_priority(ctx: PCpu, v: Vcpu, virq: number): Co<number> {
    const rank = this.d.rank_irq(v, virq);
    const flags = yield* spin_lock_irqsave(ctx, rank.lock);
    const priority = rank.priority[virq & 31]!;
    yield* spin_unlock_irqrestore(ctx, rank.lock, flags);
    return priority;
  }

  /** Variants that drop an injection while the IRQ migrates override this
   *  (called with v's vgic lock held). Returns true to drop. */
  protected vgic_vcpu_inject_irq_drop(_ctx: PCpu, _v: Vcpu, _n: PendingIrq): Co<boolean> {
    return DONE_FALSE; // never drops: no generator per injection
  }

  // Named functions (on the stack for lockdep and traces) are entered with
  // ctx.enterFn and left with ctx.leaveFn rather than wrapped in ctx.fn: the
  // same stack and trace, without two generator layers that every step
  // below them would resume.

  *vgic_vcpu_inject_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
    const fn = ctx.enterFn("vgic_vcpu_inject_irq");
    const n = this.d.irq_to_pending(v, virq);
    const priority = yield* this.vgic_get_virq_priority(ctx, v, virq);
    const flags = yield* spin_lock_irqsave(ctx, v.lock);
    this.stats.injections++;

    if (yield* this.vgic_vcpu_inject_irq_drop(ctx, v, n)) {
      this.stats.dropped++;
      this.observer.dropped?.(virq, v, "MIGRATING", ctx.clock, false);
      yield* spin_unlock_irqrestore(ctx, v.lock, flags);
      ctx.leaveFn(fn);
      return;
    }

    this.observer.injecting?.(virq, v, n.latest_bit(GIC_IRQ_GUEST_QUEUED));
    n.set_bit(GIC_IRQ_GUEST_QUEUED);
    ctx.cost("listOp");

    // Only whether the link is used is checked, not whose list it is on.
    if (n.inflight !== null) {
      yield* this.gic_raise_inflight_irq(ctx, v, virq);
    } else {
      n.priority = priority;
      if (n.test_bit(GIC_IRQ_GUEST_ENABLED)) yield* this.gic_raise_guest_irq(ctx, v, virq, priority);
      v.inflight_irqs.insertByPriority(n);
      ctx.cost("listOp");
    }
    yield* spin_unlock_irqrestore(ctx, v.lock, flags);

    // the ARM "kick": unblock, and an event-check SGI if it runs elsewhere
    const P = PT_V_IS_RUNNING;
    if (!ctx.passes(P)) yield P;
    // a blocked vCPU is not running: its pCPU runs the idle vCPU
    const running = v.is_running && !v.blocked;
    yield* this.vcpu_unblock(ctx, v);
    if (running && v !== this.pcpu[ctx.id]!.current) yield* this.smp_send_event_check_mask(ctx, 1 << v.processor);
    ctx.leaveFn(fn);
  }

  /** vgic_vcpu_inject_spi: the target is whatever rank->vcpu says now. */
  *vgic_vcpu_inject_spi(ctx: PCpu, virq: number): Co {
    const v = yield* this.vgic_get_target_vcpu(ctx, this.d.vcpu[0]!, virq);
    yield* this.vgic_vcpu_inject_irq(ctx, v, virq);
  }

  /** vgic_migrate_irq (4.8). Returns whether the ITARGETSR store may record
   *  the new target; 4.8 always does. */
  *vgic_migrate_irq(ctx: PCpu, old: Vcpu, nw: Vcpu, irq: number): Co<boolean> {
    const p = this.d.irq_to_pending(old, irq);
    // nothing to do for virtual interrupts
    if (p.desc === null) return true;
    // migration already in progress, no need to do anything
    yield PT_TEST_BIT_MIGRATING;
    if (p.test_bit(GIC_IRQ_GUEST_MIGRATING)) return true;
    this.stats.migrations++;

    const flags = yield* spin_lock_irqsave(ctx, old.lock);
    if (p.inflight === null) {
      yield* this.irq_set_affinity(ctx, p.desc, 1 << nw.processor);
      yield* spin_unlock_irqrestore(ctx, old.lock, flags);
      return true;
    }
    // If the IRQ is still lr_pending, re-inject it to the new vCPU
    if (p.lr_queue !== null) {
      p.clear_bit(GIC_IRQ_GUEST_QUEUED);
      this.observer.withdrawn?.(irq, old);
      old.lr_pending.del(p);
      old.inflight_irqs.del(p);
      ctx.cost("listOp");
      yield* this.irq_set_affinity(ctx, p.desc, 1 << nw.processor);
      yield* spin_unlock_irqrestore(ctx, old.lock, flags);
      yield* this.vgic_vcpu_inject_irq(ctx, nw, irq);
      return true;
    }
    // if the IRQ is in a GICH_LR register, set MIGRATING and wait for the EOI
    p.set_bit(GIC_IRQ_GUEST_MIGRATING);
    yield* spin_unlock_irqrestore(ctx, old.lock, flags);
    return true;
  }

  /** vgic_store_itargetsr (vgic-v2.c), rank held: each byte names the new
   *  target by its lowest set bit; a change migrates the interrupt. 4.8
   *  records the new target whatever the migration did; 4.9 only when
   *  vgic_migrate_irq accepted it (91ef736493) - expressed here by the
   *  boolean vgic_migrate_irq returns. */
  *vgic_store_itargetsr(ctx: PCpu, rank: VgicIrqRank, offset: number, itargetsr: number): Co {
    for (let i = 0; i < 4; i++) {
      const k = (offset & 0x1f) + i;
      const virq = rank.index * 32 + k;
      const new_mask = (itargetsr >>> (8 * i)) & 0xff;
      let new_target = ffs(new_mask);
      if (new_target === 0 || new_target > this.d.max_vcpus) continue; // "No valid vCPU found"
      new_target--;
      const P = PT_READ_RANK_VCPU;
      if (!ctx.passes(P)) yield P;
      const old_target = rank.target(k);
      if (new_target === old_target) continue;
      const accepted = yield* this.vgic_migrate_irq(ctx, this.d.vcpu[old_target]!, this.d.vcpu[new_target]!, virq);
      if (accepted) {
        yield PT_WRITE_RANK_VCPU;
        rank.setTarget(k, new_target);
      }
    }
  }

  /** vgic_enable_irqs, called with the rank held (vgic-v2 ISENABLER). */
  *vgic_enable_irqs(ctx: PCpu, v: Vcpu, r: number, n: number, rank: VgicIrqRank): Co {
    for (let i = 0; i < 32; i++) {
      if (((r >>> i) & 1) === 0) continue;
      const irq = i + 32 * n;
      const v_target = this.d.vcpu[rank.target(i)]!; // __vgic_get_target_vcpu: the rank is held
      const p = this.d.irq_to_pending(v_target, irq);
      yield PT_SET_BIT_ENABLED;
      p.set_bit(GIC_IRQ_GUEST_ENABLED);
      const flags = yield* spin_lock_irqsave(ctx, v_target.lock);
      if (p.inflight !== null && !p.test_bit(GIC_IRQ_GUEST_VISIBLE)) {
        yield* this.gic_raise_guest_irq(ctx, v_target, irq, p.priority);
      }
      yield* spin_unlock_irqrestore(ctx, v_target.lock, flags);
      if (p.desc !== null) {
        yield* this.irq_set_affinity(ctx, p.desc, 1 << v_target.processor);
        const f2 = yield* spin_lock_irqsave(ctx, p.desc.lock);
        yield* this.gicv2_irq_enable(ctx, p.desc);
        yield* spin_unlock_irqrestore(ctx, p.desc.lock, f2);
      }
    }
  }

  /** vgic_disable_irqs, called with the rank held (vgic-v2 ICENABLER). */
  *vgic_disable_irqs(ctx: PCpu, v: Vcpu, r: number, n: number, rank: VgicIrqRank): Co {
    for (let i = 0; i < 32; i++) {
      if (((r >>> i) & 1) === 0) continue;
      const irq = i + 32 * n;
      const v_target = this.d.vcpu[rank.target(i)]!;
      const p = this.d.irq_to_pending(v_target, irq);
      yield PT_CLEAR_BIT_ENABLED;
      p.clear_bit(GIC_IRQ_GUEST_ENABLED);
      yield* this.gic_remove_from_queues(ctx, v_target, irq);
      if (p.desc !== null) {
        const flags = yield* spin_lock_irqsave(ctx, p.desc.lock);
        yield* this.gicv2_irq_disable(ctx, p.desc);
        yield* spin_unlock_irqrestore(ctx, p.desc.lock, flags);
      }
    }
  }

  /** vgic_to_sgi: a virtual SGI to the vCPUs the filter names. */
  *vgic_to_sgi(ctx: PCpu, v: Vcpu, filter: number, targetList: number, virq: number): Co<boolean> {
    const targets = this.sgiTargets(v, filter, targetList);
    if (targets === null) return false;
    for (const t of targets) yield* this.vgic_vcpu_inject_irq(ctx, t, virq);
    return true;
  }

  /** The vCPUs vgic_to_sgi injects into for a filter and target list sent
   *  by `v`, in d->vcpu order; null for the reserved filter. */
  protected sgiTargets(v: Vcpu, filter: number, targetList: number): Vcpu[] | null {
    const targets: Vcpu[] = [];
    if (filter === 0) {
      for (let i = 0; i < 8; i++) {
        if (((targetList >>> i) & 1) === 0) continue;
        const t = this.sgiListTarget(i);
        if (t !== null) targets.push(t);
      }
    } else if (filter === 1) {
      for (const t of this.d.vcpu) if (t !== v) targets.push(t);
    } else if (filter === 2) {
      targets.push(v);
    } else {
      return null;
    }
    return targets;
  }

  /** vgic_to_sgi's d->vcpu[vcpuid] for bit `i` of the target list, or
   *  null when Xen skips it. RELEASE-4.8.0 checks only for a NULL or
   *  offline vCPU: a bit at or above max_vcpus reads past the d->vcpu
   *  array (fixed by ac505ee0f2, in 4.9.0). What that read returns is
   *  whatever lies beyond the array, so the model ends the run there. */
  protected sgiListTarget(i: number): Vcpu | null {
    const d = this.d;
    if (i >= d.max_vcpus) {
      throw new Error(`vgic_to_sgi: target list bit ${i} reads d->vcpu[${i}] past the array of ${d.max_vcpus} vCPUs: host memory read out of bounds`);
    }
    return d.vcpu[i]!;
  }

  /** arch_move_irqs (vgic.c, the same in 4.8.0 and 4.9.0), called by
   *  vcpu_migrate once v runs on another pCPU: the physical affinity of
   *  every routed SPI that targets v and is not MIGRATING follows it. The
   *  target is read as vgic_get_target_vcpu reads it (4.8: under the rank
   *  lock; 4.9: lock-free), so a concurrent ITARGETSR store can interleave. */
  *arch_move_irqs(ctx: PCpu, v: Vcpu): Co {
    const fn = ctx.enterFn("arch_move_irqs");
    for (let i = 32; i < this.d.nr_irqs; i++) {
      // irq_set_affinity does nothing for a purely virtual interrupt; Xen
      // still reads its target (4.8: takes and drops its rank lock, with
      // no other lock held). Skipped here: it changes no state and can
      // close no lock cycle, only delay, and it keeps the explorers'
      // scheduling points to the interrupts that move.
      if (this.d.spi_desc(i) === null) continue;
      const v_target = yield* this.vgic_get_target_vcpu(ctx, v, i);
      const p = this.d.irq_to_pending(v_target, i);
      yield PT_TEST_BIT_MIGRATING;
      if (v_target === v && !p.test_bit(GIC_IRQ_GUEST_MIGRATING)) yield* this.irq_set_affinity(ctx, p.desc!, 1 << v.processor);
    }
    ctx.leaveFn(fn);
  }

  /** vcpu_unblock: a blocked vCPU becomes runnable; its pCPU, idle in WFI,
   *  needs an event check to notice (vcpu_wake raises the schedule softirq). */
  *vcpu_unblock(ctx: PCpu, v: Vcpu): Co {
    if (!v.blocked) return;
    v.blocked = false;
    if (v.processor !== ctx.id) yield* this.smp_send_event_check_mask(ctx, 1 << v.processor);
  }

  *smp_send_event_check_mask(ctx: PCpu, mask: number): Co {
    this.stats.kicks++;
    ctx.cost("sgiSend");
    ctx.dsb(); // send_SGI_mask: dsb(sy) before the SGIR write (gic.c)
    this.gicdWrite(ctx, GICD.SGIR, sgir(0, mask, GIC_SGI_EVENT_CHECK));
    yield PT_SEND_SGI;
  }

  // ---- gic.c

  /** gic_set_lr: write the LR; for a physical IRQ with HW=1 and PhysicalID
   *  (the guest's deactivation deactivates it). Never sets the EOI bit. */
  protected gic_set_lr(ctx: PCpu, lr: number, p: PendingIrq, state: LrState): void {
    const hw = p.desc !== null;
    this.gichWrite(ctx, GICH.LR + 4 * lr, encodeLr({
      virtualId: p.irq, physicalId: hw ? p.desc!.irq : 0, eoi: false,
      priority: p.priority, state, group1: false, hw,
    }));
    p.set_bit(GIC_IRQ_GUEST_VISIBLE);
    p.clear_bit(GIC_IRQ_GUEST_QUEUED);
    p.lr = lr;
  }

  protected gic_add_to_lr_pending(ctx: PCpu, v: Vcpu, p: PendingIrq): void {
    if (p.lr_queue !== null) return;
    v.lr_pending.insertByPriority(p);
    this.stats.lrPendingAdds++;
    ctx.cost("listOp");
  }

  *gic_remove_from_queues(ctx: PCpu, v: Vcpu, virq: number): Co {
    const p = this.d.irq_to_pending(v, virq);
    const flags = yield* spin_lock_irqsave(ctx, v.lock);
    v.lr_pending.del(p);
    ctx.cost("listOp");
    yield* spin_unlock_irqrestore(ctx, v.lock, flags);
  }

  /** gic_raise_inflight_irq as released in 4.8.0: an interrupt in flight
   *  and not on lr_pending is assumed to be in a list register of this
   *  pCPU when v is current, and n->lr is folded whatever it holds. A
   *  disabled interrupt is in flight without an LR (n->lr is
   *  GIC_INVALID_LR, 0xff): XSA-223. */
  *gic_raise_inflight_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
    const n = this.d.irq_to_pending(v, virq);
    if (n.lr_queue === null && v === this.pcpu[ctx.id]!.current) {
      yield* this.gic_update_one_lr(ctx, v, n.lr);
    }
  }

  /** gic_raise_guest_irq: a free LR if v runs here and nobody waits, else lr_pending. */
  *gic_raise_guest_irq(ctx: PCpu, v: Vcpu, virq: number, _priority: number): Co {
    const p = this.d.irq_to_pending(v, virq);
    const pc = this.pcpu[ctx.id]!;
    if (v === pc.current && v.lr_pending.empty()) {
      const i = firstZero(pc.lr_mask);
      if (i < this.nr_lrs) {
        pc.lr_mask[i] = 1;
        this.gic_set_lr(ctx, i, p, LrState.Pending);
        if (!ctx.passes(PT_GIC_SET_LR)) yield PT_GIC_SET_LR;
        return;
      }
    }
    this.gic_add_to_lr_pending(ctx, v, p);
    if (!ctx.passes(PT_LR_PENDING_ADD)) yield PT_LR_PENDING_ADD;
  }

  /** What gic_update_one_lr does with an interrupt whose LR the guest has
   *  retired and that is not re-raised: 4.8 unlinks it and, if it was
   *  migrating, points the physical interrupt at the new target. This is the
   *  hunk the seed's patch and 31bc6a93a0/91ef736493 rewrite. */
  protected *gic_update_one_lr_retire(ctx: PCpu, v: Vcpu, p: PendingIrq, irq: number): Co {
    v.inflight_irqs.del(p);
    ctx.cost("listOp");
    const P = PT_LIST_DEL_INIT_INFLIGHT;
    if (!ctx.passes(P)) yield P;
    if (p.test_and_clear_bit(GIC_IRQ_GUEST_MIGRATING)) {
      const v_target = yield* this.vgic_get_target_vcpu(ctx, v, irq);
      yield* this.irq_set_affinity(ctx, p.desc!, 1 << v_target.processor);
    }
  }

  /** gic_update_one_lr: fold the hardware LR i of this pCPU into pending_irq
   *  (called with v's vgic lock held and IRQs off). */
  *gic_update_one_lr(ctx: PCpu, v: Vcpu, i: number): Co {
    const fn = ctx.enterFn("gic_update_one_lr");
    const pc = this.pcpu[ctx.id]!;
    const lrv = this.gich(ctx, GICH.LR + 4 * i);
    const lr = decodeLr(lrv);
    const irq = lr.virtualId;
    const p = this.d.irq_to_pending(v, irq);
    if (lr.state & LrState.Active) {
      p.set_bit(GIC_IRQ_GUEST_ACTIVE);
      if (p.test_bit(GIC_IRQ_GUEST_ENABLED) && p.test_and_clear_bit(GIC_IRQ_GUEST_QUEUED)) {
        if (p.desc === null) {
          // active and pending already: the queued instance merges into it
          if (lr.state & LrState.Pending) this.observer.merged?.(irq, v);
          this.gichWrite(ctx, GICH.LR + 4 * i, (lrv | (1 << 28)) >>> 0);
        } else {
          // "unable to inject hw irq: already active in LR": the new
          // instance is dropped (Xen prints a warning)
          this.observer.dropped?.(irq, v, "hw irq already active in LR", ctx.clock, true);
        }
      }
    } else if (lr.state & LrState.Pending) {
      // a QUEUED instance merges into the one still pending in the LR
      if (p.test_and_clear_bit(GIC_IRQ_GUEST_QUEUED)) this.observer.merged?.(irq, v);
    } else {
      this.gichWrite(ctx, GICH.LR + 4 * i, 0);
      if (i >= this.nr_lrs) {
        // clear_bit(i, &this_cpu(lr_mask)) on a 64-bit mask: an index past
        // the list registers (GIC_INVALID_LR from gic_raise_inflight_irq)
        // writes outside the mask, into the hypervisor's per-CPU data
        throw new Error(`XSA-223: gic_update_one_lr(d${v.domain.domain_id}v${v.vcpu_id}, lr=${i}) for IRQ ${irq}: ` +
          `clear_bit(${i}, &this_cpu(lr_mask)) writes past the mask: host memory corruption`);
      }
      pc.lr_mask[i] = 0;
      p.clear_bit(GIC_IRQ_GUEST_VISIBLE);
      p.clear_bit(GIC_IRQ_GUEST_ACTIVE);
      p.lr = GIC_INVALID_LR;
      ctx.cost("listOp");
      if (!ctx.passes(PT_TEST_QUEUED_MIGRATING)) yield PT_TEST_QUEUED_MIGRATING;
      if (p.test_bit(GIC_IRQ_GUEST_ENABLED) && p.test_bit(GIC_IRQ_GUEST_QUEUED) &&
          !p.test_bit(GIC_IRQ_GUEST_MIGRATING)) {
        yield* this.gic_raise_guest_irq(ctx, v, irq, p.priority);
      } else {
        yield* this.gic_update_one_lr_retire(ctx, v, p, irq);
      }
    }
    ctx.leaveFn(fn);
  }

  /** gic_clear_lrs: on every entry from the guest, fold all used LRs. */
  *gic_clear_lrs(ctx: PCpu, v: Vcpu): Co {
    const fn = ctx.enterFn("gic_clear_lrs");
    const pc = this.pcpu[ctx.id]!;
    this.gichWrite(ctx, GICH.HCR, this.gich(ctx, GICH.HCR) & ~2); // clear UIE
    const flags = yield* spin_lock_irqsave(ctx, v.lock);
    for (let i = 0; i < this.nr_lrs; i++) {
      if (pc.lr_mask[i]) yield* this.gic_update_one_lr(ctx, v, i);
    }
    yield* spin_unlock_irqrestore(ctx, v.lock, flags);
    this.observer.clearedLrs?.(v, ctx.id);
    ctx.leaveFn(fn);
  }

  /** gic_restore_pending_irqs: move lr_pending into free LRs, evicting
   *  lower-priority pending (not active) LRs when all are used. */
  *gic_restore_pending_irqs(ctx: PCpu, v: Vcpu): Co {
    const flags = yield* spin_lock_irqsave(ctx, v.lock);
    this.restore_pending_locked(ctx, v);
    yield* spin_unlock_irqrestore(ctx, v.lock, flags);
  }

  /** gic_restore_pending_irqs's work under v's lock. A plain function (it
   *  never yields), so the generator above keeps none of its locals. */
  private restore_pending_locked(ctx: PCpu, v: Vcpu): void {
    const items = v.lr_pending.items;
    if (items.length === 0) return; // (most entries: nothing waits)
    const pc = this.pcpu[ctx.id]!;
    let lrs = this.nr_lrs;
    let lr = 0;
    // victims are searched from the tail of inflight, never again below
    // the last one taken (Xen keeps a cursor, inflight_r)
    let floor = v.inflight_irqs.length;
    // list_for_each_entry_safe over lr_pending: the next entry is read
    // before the body, which unlinks p and may queue a victim. A victim
    // queued between p and that next entry is not visited in this pass; one
    // queued after it is (and may itself evict, from the cursor on).
    let p: PendingIrq | undefined = items[0];
    while (p !== undefined) {
      const at = items.indexOf(p);
      if (at < 0) break; // (the body unlinks only p: t is still listed)
      const t: PendingIrq | undefined = items[at + 1];
      lr = firstZero(pc.lr_mask, lr);
      if (lr >= this.nr_lrs) {
        let victim: PendingIrq | null = null;
        for (let k = floor - 1; k >= 0; k--) {
          const p_r = v.inflight_irqs.items[k]!;
          if (p_r.priority === p.priority) break;
          if (p_r.test_bit(GIC_IRQ_GUEST_VISIBLE) && !p_r.test_bit(GIC_IRQ_GUEST_ACTIVE)) {
            victim = p_r;
            floor = k;
            break;
          }
        }
        if (victim === null) break;
        lr = victim.lr;
        victim.lr = GIC_INVALID_LR;
        victim.set_bit(GIC_IRQ_GUEST_QUEUED);
        victim.clear_bit(GIC_IRQ_GUEST_VISIBLE);
        this.gic_add_to_lr_pending(ctx, v, victim);
      }
      this.gic_set_lr(ctx, lr, p, LrState.Pending);
      v.lr_pending.del(p);
      pc.lr_mask[lr] = 1;
      ctx.cost("listOp");
      if (--lrs === 0) break;
      p = t;
    }
  }

  /** gic_inject (leave_hypervisor_tail): refill LRs; if some still wait and
   *  every LR is used, ask for the underflow maintenance interrupt (UIE). */
  *gic_inject(ctx: PCpu, v: Vcpu): Co {
    const fn = ctx.enterFn("gic_inject");
    yield* this.gic_restore_pending_irqs(ctx, v);
    const pc = this.pcpu[ctx.id]!;
    if (!v.lr_pending.empty() && firstZero(pc.lr_mask) === this.nr_lrs) {
      this.gichWrite(ctx, GICH.HCR, this.gich(ctx, GICH.HCR) | 2);
    }
    ctx.leaveFn(fn);
  }

  /** gic_events_need_delivery: is something in flight that the guest would
   *  take now (priority beats VMCR's mask and the active priority)? */
  *gic_events_need_delivery(ctx: PCpu, v: Vcpu): Co<boolean> {
    const apr = this.gich(ctx, GICH.APR);
    const vmcr = this.gich(ctx, GICH.VMCR);
    const flags = yield* spin_lock_irqsave(ctx, v.lock);
    const rc = deliverableInflight(v, vmcr, apr) !== null;
    yield* spin_unlock_irqrestore(ctx, v.lock, flags);
    return rc;
  }

  // ---- gic-v2.c: the physical interrupt's driver operations

  /** irq_set_affinity -> gicv2_irq_set_affinity: GICD_ITARGETSR under the
   *  driver lock (plain spin_lock, not the desc lock). */
  *irq_set_affinity(ctx: PCpu, desc: IrqDesc, mask: number): Co {
    const fn = ctx.enterFn("irq_set_affinity");
    yield* spin_lock(ctx, this.gicv2_lock);
    this.gicdWrite(ctx, GICD.ITARGETSR + desc.irq, mask & 0xff, 1);
    yield* spin_unlock(ctx, this.gicv2_lock);
    ctx.leaveFn(fn);
  }

  *gicv2_irq_enable(ctx: PCpu, desc: IrqDesc): Co {
    const flags = yield* spin_lock_irqsave(ctx, this.gicv2_lock);
    ctx.dsb(); // gicv2_irq_enable: clear_bit(_IRQ_DISABLED), dsb(sy), then ISENABLER
    this.gicdWrite(ctx, GICD.ISENABLER + 4 * (desc.irq >> 5), 1 << (desc.irq & 31));
    yield* spin_unlock_irqrestore(ctx, this.gicv2_lock, flags);
  }

  *gicv2_irq_disable(ctx: PCpu, desc: IrqDesc): Co {
    const flags = yield* spin_lock_irqsave(ctx, this.gicv2_lock);
    this.gicdWrite(ctx, GICD.ICENABLER + 4 * (desc.irq >> 5), 1 << (desc.irq & 31));
    yield* spin_unlock_irqrestore(ctx, this.gicv2_lock, flags);
  }

  // ---- irq.c and the exception entry

  /** do_IRQ for IDs 16-1019, entered with local IRQs enabled. Hard-IRQ
   *  context (irq_enter) is do_IRQ's alone: the exception's entry work ran
   *  before it (do_trap_irq: enter_hypervisor_head, then gic_interrupt). */
  *do_IRQ(ctx: PCpu, irq: number): Co {
    const fn = ctx.enterFn("do_IRQ");
    ctx.irq_enter();
    const desc = this.descs.get(irq);
    if (desc === undefined) {
      yield* this.host_irq(ctx, irq, fn);
      return;
    }
    yield* spin_lock(ctx, desc.lock);
    // guest irq type end: priority drop only; the guest deactivates it
    // through the HW list register
    this.giccWrite(ctx, GICC.EOIR, irq);
    this.observer.physicalAck?.(irq, ctx.id, ctx.clock);
    yield* this.vgic_vcpu_inject_spi(ctx, irq);
    yield* spin_unlock(ctx, desc.lock);
    ctx.irq_exit();
    ctx.leaveFn(fn);
  }

  /** do_IRQ of an interrupt that is Xen's own (common to both vGICs, in
   *  irq.c and time.c): the maintenance PPI, the virtual timer
   *  (vtimer_interrupt), the hypervisor timer (timer_interrupt, then the
   *  timer softirq once do_IRQ is left), or one nobody claimed. Host irq
   *  type end: EOIR then DIR. `fn` is do_IRQ's frame, left here with its
   *  hard-IRQ context (irq_exit): the softirq runs outside both. */
  *host_irq(ctx: PCpu, irq: number, fn: StackNode): Co {
    if (irq === MAINTENANCE_PPI) this.stats.maintenanceIrqs++;
    const current = this.pcpu[ctx.id]!.current;
    if (irq === VTIMER_PPI) {
      // vtimer_interrupt: ignored on the idle vCPU (virt_timer_save
      // disabled the hardware timer; its software timer injects instead);
      // else mask the timer's output (CNTV_CTL.IMASK), so the level line
      // drops, and inject the guest's virtual PPI into current
      if (current !== null) {
        this.stats.vtimerIrqs++;
        current.virt_timer.vtimer_interrupt(ctx);
        yield* this.vgic_vcpu_inject_irq(ctx, current, VTIMER_PPI);
      } else {
        ctx.setLine(VTIMER_PPI, 0, ctx.id);
      }
    } else if (irq === TIMER_HYP_PPI) {
      // timer_interrupt: disable CNTHP (the line drops), raise the timer softirq
      ctx.setLine(TIMER_HYP_PPI, 0, ctx.id);
    }
    this.giccWrite(ctx, GICC.EOIR, irq);
    this.giccWrite(ctx, GICC.DIR, irq);
    ctx.irq_exit();
    ctx.leaveFn(fn);
    if (irq === TIMER_HYP_PPI) yield* this.timer_softirq(ctx);
  }

  /** The timer softirq: run this pCPU's expired software timers. Only the
   *  vCPUs' virtual timers are modelled (virt_timer_expired: mask the
   *  guest's timer and inject its PPI, which unblocks the vCPU). */
  *timer_softirq(ctx: PCpu): Co {
    const q = this.pcpu[ctx.id]!.timers_expired;
    while (q.length > 0) {
      const t = q.shift()!;
      t.virt_timer_expired();
      this.stats.vtimerSoftInjections++;
      yield* this.vgic_vcpu_inject_irq(ctx, t.v, t.irq);
    }
  }

  /** stop_timer of a vCPU's software timer, for virt_timer_restore. */
  private readonly withdrawTimer = (t: VirtTimer): void => stop_timer(this.pcpu, t);

  /** do_sgi: EOIR, handle (an event check needs nothing: the exit path does
   *  the work), DIR. */
  protected do_sgi(ctx: PCpu, sgi: number): void {
    this.giccWrite(ctx, GICC.EOIR, sgi);
    this.giccWrite(ctx, GICC.DIR, sgi);
  }

  /** gic_interrupt: acknowledge until spurious. */
  *gic_interrupt(ctx: PCpu): Co {
    let maintenance = 0;
    for (let n = 0; ; n++) {
      const iar = this.gicc(ctx, GICC.IAR);
      const irq = iar & 0x3ff;
      if (n === 0 && irq >= 1020) this.stats.spuriousIrqExits++;
      if (irq === MAINTENANCE_PPI) {
        MAINTENANCE_ACKS.set(ctx, ++maintenance);
        if (maintenance === LIVELOCK_MAINTENANCE_ACKS) throw new LivelockError(ctx.id, maintenance);
      }
      if (irq >= 16 && irq < 1020) {
        const flags = ctx.local_irq_save();
        ctx.local_irq_restore(false); // local_irq_enable
        yield* this.do_IRQ(ctx, irq);
        ctx.local_irq_restore(flags); // local_irq_disable
      } else if (irq < 16) {
        this.do_sgi(ctx, iar);
      } else {
        if (maintenance > 0) MAINTENANCE_ACKS.delete(ctx);
        break;
      }
      const P = PT_GIC_INTERRUPT_LOOP;
      if (!ctx.passes(P)) yield P;
    }
  }

  /** enter_hypervisor_head: every entry from guest mode folds the LRs.
   *  Simulated code to run with `yield*` at once: it returns gic_clear_lrs's
   *  generator itself rather than wrapping it in one more layer. */
  enter_hypervisor_head(ctx: PCpu): Co {
    const pc = this.pcpu[ctx.id]!;
    return pc.current !== null ? this.gic_clear_lrs(ctx, pc.current) : nothing();
  }

  /** leave_hypervisor_tail: with IRQs off, refill the LRs before eret. */
  *leave_hypervisor_tail(ctx: PCpu): Co {
    const pc = this.pcpu[ctx.id]!;
    const flags = ctx.local_irq_save();
    if (pc.current !== null) yield* this.gic_inject(ctx, pc.current);
    ctx.local_irq_restore(flags);
  }

  /** The pCPU enters or leaves guest mode (an exception to EL2, an eret).
   *  With tracing, the vCPU's own track shows when it ran, and where. */
  guestMode(ctx: PCpu, on: boolean): void {
    const pc = this.pcpu[ctx.id]!;
    if (pc.inGuest === on) return;
    if (on) this.observer.enteringGuest?.(ctx.id);
    pc.inGuest = on;
    // enter_guest (hypervisor.ts) checks the time slice at each yield of
    // guest code: the machine's fast path must not pass those points
    ctx.yieldsObserved = on;
    const tr = this.machine.trace;
    if (tr !== null && pc.current !== null) {
      tr.add(ctx.clock, ctx.index, on ? "vcpu-in" : "vcpu-out", pc.current.name, pc.current.vcpu_id, ctx.id);
    }
  }

  /** The machine's IRQ vector on every pCPU: the physical IRQ exception
   *  (the machine charges the exception entry and return around it). */
  *irq_exception(ctx: PCpu): Co {
    const pc = this.pcpu[ctx.id]!;
    const fromGuest = pc.inGuest;
    if (fromGuest) {
      this.guestMode(ctx, false);
      yield* this.enter_hypervisor_head(ctx);
    }
    yield* this.gic_interrupt(ctx);
    if (fromGuest) {
      yield* this.leave_hypervisor_tail(ctx);
      this.guestMode(ctx, true);
    }
  }

  // ---- context switch (gic_save_state / gic_restore_state)

  *gic_save_state(ctx: PCpu, v: Vcpu): Co {
    const pc = this.pcpu[ctx.id]!;
    this.observer.switchingOut?.(v, ctx.id);
    const lrs: number[] = [];
    for (let i = 0; i < this.nr_lrs; i++) lrs.push(this.gich(ctx, GICH.LR + 4 * i));
    v.saved = { lrs, lr_mask: pc.lr_mask.slice(), vmcr: this.gich(ctx, GICH.VMCR), apr: this.gich(ctx, GICH.APR), hcr: 0 };
    this.gichWrite(ctx, GICH.HCR, 0);
    v.is_running = false;
    pc.current = null;
    if (!ctx.passes(PT_GIC_SAVE_STATE)) yield PT_GIC_SAVE_STATE;
  }

  *gic_restore_state(ctx: PCpu, v: Vcpu): Co {
    const pc = this.pcpu[ctx.id]!;
    const s = v.saved;
    for (let i = 0; i < this.nr_lrs; i++) this.gichWrite(ctx, GICH.LR + 4 * i, s ? s.lrs[i]! : 0);
    if (s) pc.lr_mask.set(s.lr_mask);
    else pc.lr_mask.fill(0);
    if (s) {
      this.gichWrite(ctx, GICH.APR, s.apr);
      this.gichWrite(ctx, GICH.VMCR, s.vmcr);
    }
    this.gichWrite(ctx, GICH.HCR, 1);
    this.observer.switchedIn?.(v, ctx.id);
    v.saved = null;
    v.processor = ctx.id;
    v.is_running = true;
    pc.current = v;
    yield* this.gic_restore_pending_irqs(ctx, v);
  }

  /** Switch this pCPU from its current vCPU (if any) to `next`, or to the
   *  idle vCPU when `next` is null (schedule() when nothing is runnable: the
   *  blocked vCPU's list registers are saved; the idle vCPU has none). */
  *context_switch(ctx: PCpu, next: Vcpu | null): Co {
    const pc = this.pcpu[ctx.id]!;
    if (pc.current === next) return;
    const fn = ctx.enterFn("context_switch");
    this.stats.contextSwitches++;
    // Xen's context_switch saves prev's state unless prev is the idle vCPU
    // and restores next's unless next is: to or from idle is half a switch.
    if (pc.current !== null && next !== null) ctx.cost("contextSwitch");
    else ctx.charge(Math.round(this.machine.cycles.contextSwitch / 2));
    const flags = ctx.local_irq_save();
    // ctxt_switch_from: virt_timer_save before gic_save_state; ctxt_switch_to:
    // gic_restore_state before virt_timer_restore (xen/arch/arm/domain.c)
    if (pc.current !== null) {
      pc.current.virt_timer.virt_timer_save(ctx);
      yield* this.gic_save_state(ctx, pc.current);
    }
    if (next !== null) {
      yield* this.gic_restore_state(ctx, next);
      next.virt_timer.virt_timer_restore(ctx, this.withdrawTimer);
    }
    ctx.local_irq_restore(flags);
    ctx.leaveFn(fn);
  }
}

/** Simulated code that does nothing: one finished generator, shared (a
 *  finished generator only ever answers done, so `yield*` on it returns at
 *  once, any number of times). */
// eslint-disable-next-line require-yield
const NOTHING: Co = (function* (): Co {})();
NOTHING.next();
const nothing = (): Co => NOTHING;

/** gic_events_need_delivery's walk (RELEASE-4.8.0/4.9.0 gic.c): the first
 *  interrupt of v's inflight list, in priority order, that is enabled and
 *  beats both the priority mask (VMCR[31:27]) and the active priority (the
 *  lowest set bit of APR, 32 for none), or null. (The checks judge a
 *  blocked vCPU with a walk of their own: host/check/vgic.ts wouldWake.) */
export function deliverableInflight(v: Vcpu, vmcr: number, apr: number): PendingIrq | null {
  const active_priority = apr === 0 ? 32 : ctz(apr);
  const mask_priority = vmcr >>> 27;
  for (const p of v.inflight_irqs.items) {
    if (p.priority >> 3 >= mask_priority || p.priority >> 3 >= active_priority) return null;
    if (p.test_bit(GIC_IRQ_GUEST_ENABLED)) return p;
  }
  return null;
}

/** find_next_zero_bit over an lr_mask; its length when all are used. */
function firstZero(mask: Uint8Array, from = 0): number {
  for (let i = from; i < mask.length; i++) if (mask[i] === 0) return i;
  return mask.length;
}

/** ffs: 1 + index of the lowest set bit, 0 for none. */
function ffs(x: number): number {
  return x === 0 ? 0 : ctz(x) + 1;
}

function ctz(x: number): number {
  return 31 - Math.clz32(x & -x);
}
