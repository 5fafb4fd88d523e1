// What the hypervisor and every front end (scenarios, fuzzer, workload
// runner, latency bench, checks, accounting) need of a vGIC design. Two
// designs implement it: Xen's original vGIC (vgic.ts, with its variants in
// variants.ts) and Xen 4.11's new vGIC ported from KVM (new-vgic/). Their
// data structures differ (pending_irq with inflight/lr_pending lists and
// ranks, against one vgic_irq per interrupt on a per-vCPU ap_list), so the
// state-reading front ends ask the design rather than its fields.

import type { Co } from "../sim/api.ts";
import type { Machine, PCpu } from "../sim/machine.ts";
import type { Gic } from "../hw/gic.ts";
import type { Vcpu } from "./domain.ts";
import type { IrqDesc } from "./pending.ts";
import type { MmioResult } from "./vgic-v2.ts";
import type { PcpuState, Vgic, VgicObserver, VgicStats } from "./vgic.ts";

/** The design's functions as they appear on the trace (fn-begin/fn-end),
 *  for the latency benchmark's milestones. */
export interface DesignNames {
  /** folds the list registers on every entry from the guest */
  foldLrs: string;
  /** begins an injection (any of these names) */
  inject: readonly string[];
  /** fills the list registers on the way back to the guest */
  flushLrs: string;
  /** the trapped GICD access's emulation */
  mmioRead: string;
  mmioWrite: string;
  /** the stage between an injection's end and the list-register fill that
   *  takes it, when that fill is on the injecting pCPU */
  queuedStage: string;
}

/** The part of a domain every design shares: its vCPUs (identity, placement
 *  and scheduling state) and its interrupt count. */
export interface DesignDomain {
  readonly vcpu: readonly Vcpu[];
  readonly max_vcpus: number;
  readonly nr_spis: number;
  readonly nr_irqs: number;
}

export interface VgicDesign {
  /** the variant name (`vgic variants`) */
  readonly variant: string;
  /** which data structures the design keeps: Xen 4.8's pending_irq lists
   *  (the old vGIC and its patches) or 4.11's vgic_irq and ap_lists */
  readonly family: "pending_irq" | "vgic_irq";
  readonly names: DesignNames;
  readonly machine: Machine;
  readonly d: DesignDomain;
  readonly pcpu: readonly PcpuState[];
  /** physical SPIs routed to the guest, by ID */
  readonly descs: ReadonlyMap<number, IrqDesc>;
  readonly nr_lrs: number;
  readonly stats: VgicStats;
  observer: VgicObserver;

  // ---- what the hypervisor runs
  gic_init_cpu(ctx: PCpu): Co;
  context_switch(ctx: PCpu, next: Vcpu | null): Co;
  irq_exception(ctx: PCpu): Co;
  enter_hypervisor_head(ctx: PCpu): Co;
  leave_hypervisor_tail(ctx: PCpu): Co;
  guestMode(ctx: PCpu, on: boolean): void;
  /** WFI: does `v` have an interrupt to take now (vcpu_block_unless_event_pending)? */
  gic_events_need_delivery(ctx: PCpu, v: Vcpu): Co<boolean>;
  /** vcpu_migrate: v now runs on another pCPU; its interrupts' physical
   *  affinity follows it */
  arch_move_irqs(ctx: PCpu, v: Vcpu): Co;
  /** an event-check SGI to the pCPUs of `mask` (vcpu_wake's kick) */
  smp_send_event_check_mask(ctx: PCpu, mask: number): Co;
  /** a trapped GICD access of the guest on `v` */
  distr_mmio(ctx: PCpu, v: Vcpu, off: number, size: 1 | 2 | 4, write: boolean, value: number): Co<MmioResult>;

  // ---- what the checks and the accounting read at a quiescent moment
  /** 1 when the interrupt (an SPI by ID, or a private one of `v`) was
   *  acknowledged by the hypervisor and is still on its way to the guest:
   *  queued in the design's structures, or pending in a list register */
  virtualPending(gic: Gic, irq: number, v?: Vcpu): number;
  /** the guest has the interrupt enabled in its distributor */
  guestEnabled(irq: number): boolean;
}

/** Counters at zero. */
export function emptyStats(): VgicStats {
  return {
    traps: 0, mmioDataAborts: 0, domainCrashes: 0, maintenanceIrqs: 0, spuriousIrqExits: 0, lrPendingAdds: 0,
    migrations: 0, injections: 0, dropped: 0, kicks: 0, contextSwitches: 0, vcpuMigrations: 0, vtimerIrqs: 0, vtimerSoftInjections: 0,
  };
}

/** vCPU -> pCPU placement (default one to one), checked against the machine. */
export function placementOf(cpus: number, placement?: number[]): number[] {
  const p = placement ?? Array.from({ length: cpus }, (_, i) => i);
  for (const c of p) {
    if (!Number.isInteger(c) || c < 0 || c >= cpus) throw new RangeError(`vCPU placement names pCPU ${c}; this machine has ${cpus}`);
  }
  return p;
}

/** Is `d` the old vGIC (pending_irq, Xen 4.8's vgic.c and its variants)?
 *  Decided by its declared family rather than `instanceof Vgic`: a variant
 *  file loaded with --variants builds on the library bundle's copy of the
 *  class, which is not the command's copy. */
export function isOldVgic(d: VgicDesign): d is Vgic {
  return d.family === "pending_irq";
}
