// Xen 4.11's new vGIC data structures (xen/include/asm-arm/new_vgic.h,
// xen/arch/arm/vgic/vgic.h), ported from KVM's virt/kvm/arm/vgic: one
// `struct vgic_irq` per interrupt, protected by its own irq_lock, and per
// vCPU an ap_list ("active or pending") under the ap_list_lock. There are
// no QUEUED/VISIBLE/MIGRATING bits and no lr_pending queue: whether an
// interrupt belongs on a list, and whose, is computed from its state by
// vgic_target_oracle each time.

import type { Machine } from "../../sim/machine.ts";
import { SpinLock } from "../../sim/lock.ts";
import type { Vcpu } from "../domain.ts";

export const LOCK_CLASS_AP_LIST = "ap_list";
export const LOCK_CLASS_IRQ = "irq_lock";

/** vgic_irq.config (new_vgic.h: enum vgic_irq_config) */
export const VGIC_CONFIG_EDGE = 0;
export const VGIC_CONFIG_LEVEL = 1;
export type VgicConfig = typeof VGIC_CONFIG_EDGE | typeof VGIC_CONFIG_LEVEL;

export const VGIC_NR_SGIS = 16;
export const VGIC_NR_PRIVATE_IRQS = 32;
/** vgic.h: the priority bits the emulation keeps (the LR holds five) */
export const VGIC_PRI_BITS = 5;

export class VgicIrq {
  /** the vCPU whose ap_list holds it, or null */
  vcpu: Vcpu | null = null;
  /** where ITARGETSR sends it (SGIs/PPIs: their own vCPU) */
  target_vcpu: Vcpu | null;
  readonly irq_lock: SpinLock;
  /** the physical interrupt behind it (hw) */
  hwintid = 0;
  /** GICv2 ITARGETSR byte */
  targets = 0;
  /** SGIs: one bit per sending vCPU still pending */
  source = 0;
  priority = 0;
  line_level = false;
  pending_latch = false;
  active = false;
  enabled = false;
  hw = false;
  /** zeroed by domain_vgic_init's xzalloc_array: SPIs start edge */
  config: VgicConfig = VGIC_CONFIG_EDGE;

  constructor(machine: Machine, readonly intid: number, owner: string, target: Vcpu | null) {
    this.irq_lock = new SpinLock(machine, LOCK_CLASS_IRQ, `${owner}.irq${intid}`);
    this.target_vcpu = target;
  }

  describe(): string {
    const s = [irq_is_pending(this) ? "pending" : "", this.active ? "active" : "", this.enabled ? "enabled" : "disabled"].filter((x) => x);
    return `${s.join("+")}${this.vcpu ? ` on d${this.vcpu.domain.domain_id}v${this.vcpu.vcpu_id}'s ap_list` : ", on no ap_list"}${this.target_vcpu ? `, target vCPU${this.target_vcpu.vcpu_id}` : ", no target"}`;
  }
}

/** vgic.h irq_is_pending: the latch for edges, latch or line for levels. */
export function irq_is_pending(irq: VgicIrq): boolean {
  return irq.config === VGIC_CONFIG_EDGE ? irq.pending_latch : irq.pending_latch || irq.line_level;
}

/** vgic.h vgic_irq_is_mapped_level */
export function vgic_irq_is_mapped_level(irq: VgicIrq): boolean {
  return irq.config === VGIC_CONFIG_LEVEL && irq.hw;
}

// The vgic_irq structures are made on first use, as the original design's
// pending_irqs are (domain.ts): one not made yet is in the state its
// initialisation gives (on no ap_list, nothing pending or active), and a
// reader of them all (`private_irqs`, `spis`) makes the rest first.

/** The interrupts `made` holds so far, in ID order, with `owner`. */
function madeIn<O>(made: readonly (VgicIrq | undefined)[], owner: O, into: Array<[VgicIrq, O]>): void {
  for (let i = 0; i < made.length; i++) if (made[i] !== undefined) into.push([made[i]!, owner]);
}

/** struct vgic_cpu: the per-vCPU part. */
export class VgicCpu {
  /** ap_list_head, in list order */
  readonly ap_list_head: VgicIrq[] = [];
  readonly ap_list_lock: SpinLock;
  /** LRs filled by the last vgic_flush_lr_state */
  used_lrs = 0;
  /** interrupts 0-31 made so far (holes: not yet) */
  private readonly privates = new Array<VgicIrq | undefined>(VGIC_NR_PRIVATE_IRQS);

  constructor(private readonly machine: Machine, private readonly v: Vcpu) {
    this.ap_list_lock = new SpinLock(machine, LOCK_CLASS_AP_LIST, `${v.name}.ap_list`);
    // the irq_lock class's counters exist from the start, as when every
    // vgic_irq was made here (a run's contention table lists the class)
    machine.lockClassStats(LOCK_CLASS_IRQ);
  }

  /** the private interrupts, all made */
  get private_irqs(): VgicIrq[] {
    for (let i = 0; i < VGIC_NR_PRIVATE_IRQS; i++) this.private_irq(i);
    return this.privates as VgicIrq[];
  }

  /** private interrupt `intid` (0-31); undefined for another number, as an
   *  index out of the array was */
  private_irq(intid: number): VgicIrq {
    if (!((intid >>> 0) === intid && intid < VGIC_NR_PRIVATE_IRQS)) return undefined as unknown as VgicIrq;
    let irq = this.privates[intid];
    if (irq === undefined) {
      // vgic-init.c vgic_vcpu_early_init: SGIs enabled and edge, PPIs level
      const v = this.v;
      irq = this.privates[intid] = new VgicIrq(this.machine, intid, v.name, v);
      irq.targets = 1 << v.vcpu_id;
      if (intid < VGIC_NR_SGIS) irq.enabled = true;
      else irq.config = VGIC_CONFIG_LEVEL;
    }
    return irq;
  }

  /** the private interrupts made so far, in ID order, with `owner` */
  madeIrqs<O>(owner: O, into: Array<[VgicIrq, O]>): void { madeIn(this.privates, owner, into); }

  list_del(irq: VgicIrq): void {
    const i = this.ap_list_head.indexOf(irq);
    if (i < 0) throw new Error(`list_del: IRQ ${irq.intid} is not on this ap_list`);
    this.ap_list_head.splice(i, 1);
  }
}

/** struct vgic_dist: GICD_CTLR.Enable and the SPIs. */
export class VgicDist {
  enabled = false;
  /** SPIs made so far, by INTID - 32 */
  private readonly made: (VgicIrq | undefined)[];

  constructor(private readonly machine: Machine, readonly nr_spis: number) {
    this.made = new Array<VgicIrq | undefined>(nr_spis);
  }

  /** every SPI, all made */
  get spis(): VgicIrq[] {
    for (let i = 0; i < this.nr_spis; i++) this.spi(VGIC_NR_PRIVATE_IRQS + i);
    return this.made as VgicIrq[];
  }

  /** SPI `intid` (32..); undefined past the last, as an index out of the
   *  array was */
  spi(intid: number): VgicIrq | undefined {
    const i = intid - VGIC_NR_PRIVATE_IRQS;
    if (!((i >>> 0) === i && i < this.nr_spis)) return undefined;
    return this.made[i] ??= new VgicIrq(this.machine, intid, "d1", null);
  }

  /** the SPIs made so far, in ID order, with `owner` */
  madeIrqs<O>(owner: O, into: Array<[VgicIrq, O]>): void { madeIn(this.made, owner, into); }
}
