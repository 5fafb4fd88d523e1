// The SGI oracle: every SGI a guest sends with a GICD_SGIR write reaches
// each vCPU the write names. GICv2 (IHI 0048B 4.3.15) names the targets by
// TargetListFilter: 0 the vCPUs of CPUTargetList, 1 every vCPU but the
// sender, 2 the sender alone, 3 none (reserved). An SGI is edge-like and
// coalesces while pending (per source in the architecture; Xen's original
// vGIC keeps one pending_irq per SGI and vCPU, so it coalesces across
// sources too), so a write is judged per (SGI, target): the design must
// mark it pending for that target while the write is being emulated (the
// observer's `injecting`), and after that mark the guest must take it at
// least once, withdraw it itself, or still have it pending at the end.
//
// Both families inject in the write's own trap: Xen 4.8/4.9's vgic_to_sgi
// (RELEASE-4.9.0 xen/arch/arm/vgic.c) calls vgic_vcpu_inject_irq per
// target, which sets QUEUED and links the interrupt on inflight even when
// the guest disabled it; Xen 4.11's vgic_mmio_write_sgir (RELEASE-4.11.0
// xen/arch/arm/vgic/vgic-mmio-v2.c) sets pending_latch and the source bit
// whatever the enable. The guest's enables and priority mask therefore
// decide only whether the SGI is taken or stays pending, never whether it
// counts as sent. A target-list bit past the domain's vCPUs names nothing:
// Xen 4.9 and 4.11 skip it (4.8 reads past d->vcpu, which the model ends
// the run on, so such a case is never judged here).
//
// Duplicates: a write makes at most one instance per target. The oracle
// stands in front of the case's observer and passes on an SGI injection as
// a new instance only when the guest asked for one: the first injection
// into a target made by the trap of an open write naming it (the writer's:
// both families inject a write's SGIs there), or one the guest's own
// pending write made (GICD_SPENDSGIR or ISPENDR0, the observer's
// `guestPended`). Any
// other injection of an SGI reaches the observer as merged, so a delivery
// it leads to finds nothing outstanding: the observer counts the SGI's
// instances per vCPU, as the workload accounting does (Accounting.keyOf),
// and one taken with none in flight is a duplicate. Whether a write merges
// into an instance still pending is the design's own rule, as it tells
// `injecting` and `merged` (IHI 0048B 3.2.1: a pending SGI from the same
// source merges; the new vGIC keeps a source bit per sender, Xen 4.8/4.9 one
// pending_irq per SGI and vCPU): several writes while one is pending are
// one instance and one delivery, neither a duplicate nor a loss. A write
// after the guest acknowledged the first is a new instance, delivered
// again once the first is inactive (RELEASE-4.9.0 xen/arch/arm/gic.c:
// gic_update_one_lr pends an active list register again for a QUEUED
// virtual interrupt; RELEASE-4.11.0 xen/arch/arm/vgic/vgic-v2.c:
// vgic_v2_fold_lr_state leaves the latch the write set), and so is one
// whose injection finds the earlier instance in a list register that the
// guest may have acknowledged meanwhile: the hypervisor reads that list
// register only at the vCPU's next exit, and the guest cannot order its
// write and its acknowledge either.

import type { Gic } from "../hw/gic.ts";
import { sgirTargetMask } from "../hw/regs.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { VgicDesign } from "../xen/design.ts";
import type { VgicObserver } from "../xen/vgic.ts";
import type { Finding } from "./vgic.ts";

/** The vCPUs a GICD_SGIR value written by `sender` names, of `nv`
 *  (IHI 0048B 4.3.15; a reserved filter names none). */
export function sgirTargets(value: number, sender: number, nv: number): number[] {
  const mask = sgirTargetMask(value, sender, nv);
  const out: number[] = [];
  for (let i = 0; i < nv; i++) if ((mask >>> i) & 1) out.push(i);
  return out;
}

interface Write {
  sgi: number;
  sender: number;
  value: number;
  targets: number[];
  /** event number when the guest issued it */
  start: number;
  /** the targets (bit per vCPU) an injection made a new instance for */
  fresh: number;
}

/** An SGI the design marked pending for `target` at event `since`. */
interface Obligation {
  sgi: number;
  sender: number;
  target: number;
  value: number;
  since: number;
}

export class SgiOracle {
  /** a total order of the events below (the machine runs one step at a time) */
  private seq = 0;
  private readonly open = new Map<number, Write>();
  /** event numbers by key sgi * 8 + vCPU */
  private readonly injected = new Map<number, number[]>();
  private readonly taken = new Map<number, number[]>();
  private readonly withdrawn = new Map<number, number[]>();
  private readonly findings: Finding[] = [];
  private readonly owed: Obligation[] = [];
  /** by key sgi * 8 + vCPU: the guest's own pending writes not yet injected */
  private readonly pended = new Map<number, number>();
  /** by key sgi * 8 + vCPU: a write of the SGI that does not name the vCPU
   *  and during which the design made it pending there (the first) */
  private readonly unnamed = new Map<number, Write>();

  constructor(private readonly nv: number) {}

  /** Watch a design's observer for SGI injections, deliveries and
   *  withdrawals; the observer it had still sees every event. */
  attach(design: VgicDesign): void {
    design.observer = new SgiObserver(design.observer, this, design);
  }

  /** (for SgiObserver) */
  event(kind: "injected" | "taken" | "withdrawn", irq: number, v: Vcpu): void {
    this.note(this[kind], irq, v);
  }

  private note(m: Map<number, number[]>, irq: number, v: Vcpu): void {
    if (irq >= 16) return;
    const k = irq * 8 + v.vcpu_id;
    const xs = m.get(k);
    if (xs === undefined) m.set(k, [++this.seq]);
    else xs.push(++this.seq);
  }

  /** (for SgiObserver) The guest made SGI `sgi` pending for v itself. */
  guestPended(sgi: number, v: Vcpu): void {
    const k = sgi * 8 + v.vcpu_id;
    this.pended.set(k, (this.pended.get(k) ?? 0) + 1);
  }

  /** (for SgiObserver) The design injects SGI `sgi` into v as a new
   *  instance: true when the guest asked for one (its own pending write, or
   *  the open write of `sender`, the vCPU whose trap injects, naming v and
   *  not yet answered by an injection into v). Both families inject a
   *  write's SGIs in the writer's own trap, so only its write can ask:
   *  another vCPU's write open at the same time answers for itself. */
  fresh(sgi: number, v: Vcpu, sender: number | null): boolean {
    const k = sgi * 8 + v.vcpu_id;
    const p = this.pended.get(k) ?? 0;
    if (p > 0) {
      this.pended.set(k, p - 1);
      return true;
    }
    const w = sender === null ? undefined : this.open.get(sender);
    if (w === undefined || w.sgi !== sgi) return false;
    if (!w.targets.includes(v.vcpu_id)) {
      if (!this.unnamed.has(k)) this.unnamed.set(k, w);
      return false;
    }
    const bit = 1 << v.vcpu_id;
    if ((w.fresh & bit) !== 0) return false;
    w.fresh |= bit;
    return true;
  }

  /** The guest vCPU `sender` issues a GICD_SGIR write of `value`. */
  writing(sender: number, value: number): void {
    this.open.set(sender, { sgi: value & 0xf, sender, value, targets: sgirTargets(value, sender, this.nv), start: ++this.seq, fresh: 0 });
  }

  /** ... and the write has returned to the guest: each target it names was
   *  marked pending during it, or the SGI was never sent there. */
  written(sender: number): void {
    const w = this.open.get(sender);
    if (w === undefined) return;
    this.open.delete(sender);
    for (const t of w.targets) {
      const since = (this.injected.get(w.sgi * 8 + t) ?? []).find((e) => e > w.start);
      if (since === undefined) {
        this.findings.push({
          kind: "lost", path: "sgi-not-sent", irq: w.sgi, vcpu: t,
          message: `SGI ${w.sgi} from vCPU${w.sender} to vCPU${t} (GICD_SGIR = 0x${(w.value >>> 0).toString(16)}) was never made pending for vCPU${t}: the guest's SGI is lost`,
        });
      } else {
        this.owed.push({ sgi: w.sgi, sender: w.sender, target: t, value: w.value, since });
      }
    }
  }

  /** At quiescence: every SGI sent was taken by its target after it was
   *  sent, withdrawn by the guest, or is still pending for it; and none was
   *  taken with no instance outstanding: `dups`, the case observer's
   *  handler entries (and merges into a list register) that found no
   *  instance in flight, by accounting key (Accounting.keyOf). */
  judge(design: VgicDesign, gic: Gic, dups: ReadonlyMap<number, { n: number; vcpu: number }> = new Map()): Finding[] {
    const out = this.findings.slice();
    for (const [key, d] of dups) {
      // an SGI's key: 1024 + vCPU * 32 + SGI (../guest/devices.ts privateKey)
      const sgi = (key - 1024) % 32;
      if (key < 1024 || sgi >= 16) continue;
      const w = this.unnamed.get(sgi * 8 + d.vcpu);
      const times = `${d.n} time(s) vCPU${d.vcpu} took SGI ${sgi}, or an injection merged into its list register, with no instance outstanding`;
      out.push(w !== undefined
        ? {
          kind: "duplicate", path: "sgi-unnamed-target", irq: sgi, vcpu: d.vcpu,
          message: `${times}: GICD_SGIR = 0x${(w.value >>> 0).toString(16)} from vCPU${w.sender} names ${w.targets.length > 0 ? `vCPU${w.targets.join(", vCPU")}` : "no vCPU"} (TargetListFilter ${(w.value >>> 24) & 3}), not vCPU${d.vcpu}, yet was made pending there: an SGI nobody sent it`,
        }
        : {
          kind: "duplicate", path: "sgi", irq: sgi, vcpu: d.vcpu,
          message: `${times} (each GICD_SGIR write naming vCPU${d.vcpu} makes one, taken once): a duplicate delivery`,
        });
    }
    for (const o of this.owed) {
      const k = o.sgi * 8 + o.target;
      const after = (m: Map<number, number[]>) => (m.get(k) ?? []).some((e) => e > o.since);
      if (after(this.taken) || after(this.withdrawn)) continue;
      if (design.virtualPending(gic, o.sgi, design.d.vcpu[o.target]!) > 0) continue;
      out.push({
        kind: "lost", path: "sgi-not-delivered", irq: o.sgi, vcpu: o.target,
        message: `SGI ${o.sgi} from vCPU${o.sender} to vCPU${o.target} (GICD_SGIR = 0x${(o.value >>> 0).toString(16)}) was made pending for vCPU${o.target} but never taken by it and is no longer pending: lost`,
      });
    }
    // one finding per (path, SGI, vCPU)
    const seen = new Set<string>();
    return out.filter((f) => {
      const key = `${f.path} ${f.irq} ${f.vcpu}`;
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
  }
}

/** A design's observer with the SGI oracle in front: a class, not an
 *  object made per case with the old observer as its prototype or closures
 *  over it, which would keep each case's objects alive through young
 *  collections (see CaseObserver in ../fuzz/vgic.ts). */
// (Required: a hook the design gains must be passed on here too, or the
// case's own observer would stop hearing it)
class SgiObserver implements Required<VgicObserver> {
  constructor(private readonly inner: VgicObserver, private readonly oracle: SgiOracle, private readonly design: VgicDesign) {}
  /** the vCPU running on the pCPU whose step injects (null from a device
   *  or machine event) */
  private sender(): number | null {
    const t = this.design.machine.running;
    if (t === null || t.cpu < 0) return null;
    return this.design.pcpu[t.cpu]?.current?.vcpu_id ?? null;
  }
  injecting(irq: number, v: Vcpu, merges: boolean): void {
    this.oracle.event("injected", irq, v);
    // an SGI instance the guest did not ask for joins nothing outstanding
    // (asked whatever `merges`: a write's merged instance is its one)
    const asked = irq >= 16 || this.oracle.fresh(irq, v, this.sender());
    this.inner.injecting?.(irq, v, merges || !asked);
  }
  delivered(irq: number, v: Vcpu, cycle: number): void { this.oracle.event("taken", irq, v); this.inner.delivered?.(irq, v, cycle); }
  guestCleared(irq: number, v: Vcpu): void { this.oracle.event("withdrawn", irq, v); this.inner.guestCleared?.(irq, v); }
  physicalAck(irq: number, pcpu: number, cycle: number): void { this.inner.physicalAck?.(irq, pcpu, cycle); }
  dropped(irq: number, v: Vcpu, reason: string, cycle: number, injected: boolean): void { this.inner.dropped?.(irq, v, reason, cycle, injected); }
  withdrawn(irq: number, v: Vcpu): void { this.inner.withdrawn?.(irq, v); }
  guestPended(irq: number, v: Vcpu): void {
    if (irq < 16) this.oracle.guestPended(irq, v);
    this.inner.guestPended?.(irq, v);
  }
  merged(irq: number, v: Vcpu): void { this.inner.merged?.(irq, v); }
  completed(irq: number, v: Vcpu, cycle: number): void { this.inner.completed?.(irq, v, cycle); }
  switchingOut(v: Vcpu, pcpu: number): void { this.inner.switchingOut?.(v, pcpu); }
  switchedIn(v: Vcpu, pcpu: number): void { this.inner.switchedIn?.(v, pcpu); }
  clearedLrs(v: Vcpu, pcpu: number): void { this.inner.clearedLrs?.(v, pcpu); }
  enteringGuest(pcpu: number): void { this.inner.enteringGuest?.(pcpu); }
}
