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

import type { Gic } from "../hw/gic.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { VgicDesign } from "../xen/design.ts";
import type { VgicObserver } from "../xen/vgic.ts";
import type { Finding } from "./vgic.ts";

/** The vCPUs a GICD_SGIR value written by `sender` names, of `nv`
 *  (IHI 0048B 4.3.15; a reserved filter names none). */
export function sgirTargets(value: number, sender: number, nv: number): number[] {
  const filter = (value >>> 24) & 3;
  const all = (1 << nv) - 1;
  const mask = filter === 0 ? (value >>> 16) & 0xff & all : filter === 1 ? all & ~(1 << sender) : filter === 2 ? 1 << sender : 0;
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

  constructor(private readonly nv: number) {}

  /** Watch a design's observer for SGI injections, deliveries and
   *  withdrawals; the observer it had still sees every event. */
  attach(design: VgicDesign): void {
    design.observer = new SgiObserver(design.observer, this);
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

  /** The guest vCPU `sender` issues a GICD_SGIR write of `value`. */
  writing(sender: number, value: number): void {
    this.open.set(sender, { sgi: value & 0xf, sender, value, targets: sgirTargets(value, sender, this.nv), start: ++this.seq });
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
   *  sent, withdrawn by the guest, or is still pending for it. */
  judge(design: VgicDesign, gic: Gic): Finding[] {
    const out = this.findings.slice();
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
  constructor(private readonly inner: VgicObserver, private readonly oracle: SgiOracle) {}
  injecting(irq: number, v: Vcpu, merges: boolean): void { this.oracle.event("injected", irq, v); this.inner.injecting?.(irq, v, merges); }
  delivered(irq: number, v: Vcpu, cycle: number): void { this.oracle.event("taken", irq, v); this.inner.delivered?.(irq, v, cycle); }
  guestCleared(irq: number, v: Vcpu): void { this.oracle.event("withdrawn", irq, v); this.inner.guestCleared?.(irq, v); }
  physicalAck(irq: number, pcpu: number, cycle: number): void { this.inner.physicalAck?.(irq, pcpu, cycle); }
  dropped(irq: number, v: Vcpu, reason: string, cycle: number, injected: boolean): void { this.inner.dropped?.(irq, v, reason, cycle, injected); }
  withdrawn(irq: number, v: Vcpu): void { this.inner.withdrawn?.(irq, v); }
  guestPended(irq: number, v: Vcpu): void { this.inner.guestPended?.(irq, v); }
  merged(irq: number, v: Vcpu): void { this.inner.merged?.(irq, v); }
  completed(irq: number, v: Vcpu, cycle: number): void { this.inner.completed?.(irq, v, cycle); }
  switchingOut(v: Vcpu, pcpu: number): void { this.inner.switchingOut?.(v, pcpu); }
  switchedIn(v: Vcpu, pcpu: number): void { this.inner.switchedIn?.(v, pcpu); }
  clearedLrs(v: Vcpu, pcpu: number): void { this.inner.clearedLrs?.(v, pcpu); }
  enteringGuest(pcpu: number): void { this.inner.enteringGuest?.(pcpu); }
}
