// End-to-end accounting of every interrupt instance a device raised: it is
// delivered to a guest handler, dropped by the design (observer.dropped),
// still pending at the end (physically pending, QUEUED, or pending in a list
// register), lost (a checkVgic finding: QUEUED on no list, or its physical
// interrupt stuck active), or else it merged into one still pending
// (coalesced: legitimate, as an edge raised again before it was taken):
//
//   coalesced = raised - delivered - dropped - lost - pending  (must be >= 0)
//
// The hot path (raise, delivery, EOI) touches typed arrays only. Latency is
// from the raise to the guest handler's entry and to its EOI, matched per
// instance key: the oldest undelivered raise and the one after it.

import type { Gic } from "../hw/gic.ts";
import { LrState, decodeLr } from "../hw/regs.ts";
import type { Finding } from "../check/vgic.ts";
import type { Vcpu } from "../xen/domain.ts";
import { GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE, type PendingIrq } from "../xen/pending.ts";
import type { Vgic } from "../xen/vgic.ts";
import { KEYS, privateKey, spiKey, type RaiseSink } from "../guest/devices.ts";
import { Histogram, type Summary } from "./histogram.ts";

export interface Counts {
  raised: number;
  delivered: number;
  coalesced: number;
  dropped: number;
  lost: number;
  pending: number;
}

export interface SourceInfo {
  name: string;
  type: "spi" | "ipi" | "timer";
  /** accounting keys of this source's instances */
  keys: number[];
  /** level-triggered SPI: its line state is the device's */
  levelHigh?: () => boolean;
}

const OUTCOME_DELIVERED = 1;
const OUTCOME_DROPPED = 2;

export class Accounting implements RaiseSink {
  readonly raised = new Float64Array(KEYS);
  readonly delivered = new Float64Array(KEYS);
  readonly dropped = new Float64Array(KEYS);
  private readonly first = new Float64Array(KEYS).fill(NaN);
  private readonly second = new Float64Array(KEYS).fill(NaN);
  private readonly last = new Uint8Array(KEYS);
  /** per vCPU: raise time of the instance its handler runs, for EOI latency */
  private readonly handling: Float64Array;
  /** per key: index of its source */
  private readonly sourceOf = new Int16Array(KEYS).fill(-1);
  readonly handler = new Histogram();
  readonly eoi = new Histogram();
  readonly handlerBySource: Histogram[];
  readonly eoiBySource: Histogram[];
  private readonly handlingSource: Int16Array;
  /** deliveries per vCPU since the last sample (timeline) */
  readonly deliveredByVcpu: Float64Array;

  constructor(readonly sources: readonly SourceInfo[], vcpus: number) {
    sources.forEach((s, i) => { for (const k of s.keys) this.sourceOf[k] = i; });
    this.handlerBySource = sources.map(() => new Histogram());
    this.eoiBySource = sources.map(() => new Histogram());
    this.handling = new Float64Array(vcpus).fill(NaN);
    this.handlingSource = new Int16Array(vcpus).fill(-1);
    this.deliveredByVcpu = new Float64Array(vcpus);
  }

  /** The key of an interrupt a guest handler sees on vCPU v. */
  static keyOf(irq: number, v: Vcpu): number {
    if (irq >= 32) return spiKey(irq);
    return irq < 16 ? privateKey(irq, v.vcpu_id) : privateKey(irq, v.processor);
  }

  raise(key: number, cycle: number): void {
    this.raised[key]!++;
    if (Number.isNaN(this.first[key]!)) this.first[key] = cycle;
    else if (Number.isNaN(this.second[key]!)) this.second[key] = cycle;
  }

  /** The oldest undelivered raise leaves the queue; its time, or NaN. */
  private take(key: number): number {
    const t = this.first[key]!;
    this.first[key] = this.second[key]!;
    this.second[key] = NaN;
    return t;
  }

  onDelivered(irq: number, v: Vcpu, cycle: number): void {
    const key = Accounting.keyOf(irq, v);
    this.delivered[key]!++;
    this.last[key] = OUTCOME_DELIVERED;
    this.deliveredByVcpu[v.vcpu_id]!++;
    const t = this.take(key);
    const src = this.sourceOf[key]!;
    this.handling[v.vcpu_id] = t;
    this.handlingSource[v.vcpu_id] = src;
    if (Number.isNaN(t)) return;
    this.handler.record(cycle - t);
    if (src >= 0) this.handlerBySource[src]!.record(cycle - t);
  }

  onCompleted(_irq: number, v: Vcpu, cycle: number): void {
    const t = this.handling[v.vcpu_id]!;
    if (Number.isNaN(t)) return;
    this.handling[v.vcpu_id] = NaN;
    this.eoi.record(cycle - t);
    const src = this.handlingSource[v.vcpu_id]!;
    if (src >= 0) this.eoiBySource[src]!.record(cycle - t);
  }

  onDropped(irq: number, v: Vcpu): void {
    const key = Accounting.keyOf(irq, v);
    this.dropped[key]!++;
    this.last[key] = OUTCOME_DROPPED;
    this.take(key);
  }

  /** Tally every source at the end of a run, from the vGIC's and the GIC's
   *  state and the invariant findings. */
  tally(vgic: Vgic, gic: Gic, findings: readonly Finding[]): { total: Counts; bySource: Counts[]; negative: string[] } {
    const lostKeys = new Map<number, "lost" | "stuck-active">();
    for (const f of findings) {
      if (f.kind !== "lost" && f.kind !== "stuck-active") continue;
      const m = /IRQ (\d+)/.exec(f.message);
      if (m === null) continue;
      const irq = Number(m[1]);
      const keys: number[] = [];
      if (irq >= 32) keys.push(spiKey(irq));
      else {
        for (const v of vgic.d.vcpu) {
          const p = v.private_irqs[irq]!;
          if (p.test_bit(GIC_IRQ_GUEST_QUEUED) && p.inflight === null && p.lr_queue === null) keys.push(Accounting.keyOf(irq, v));
        }
      }
      for (const k of keys) if (lostKeys.get(k) !== "lost") lostKeys.set(k, f.kind);
    }
    const bySource = this.sources.map(() => zero());
    const total = zero();
    const negative: string[] = [];
    this.sources.forEach((s, i) => {
      const c = bySource[i]!;
      for (const key of s.keys) {
        const kind = lostKeys.get(key);
        // a stuck physical interrupt whose last instance the design dropped
        // is that drop, already counted
        const lost = kind === "lost" || (kind === "stuck-active" && this.last[key] !== OUTCOME_DROPPED) ? 1 : 0;
        let pending: number;
        if (s.levelHigh !== undefined) {
          pending = lost ? 0 : s.levelHigh() ? 1 : 0;
        } else {
          pending = physicalPending(vgic, gic, key) + (kind === "lost" ? 0 : virtualPending(vgic, gic, key));
        }
        c.raised += this.raised[key]!;
        c.delivered += this.delivered[key]!;
        c.dropped += this.dropped[key]!;
        c.lost += lost;
        c.pending += pending;
      }
      c.coalesced = c.raised - c.delivered - c.dropped - c.lost - c.pending;
      if (c.coalesced < 0) negative.push(`${s.name}: raised ${c.raised} < delivered ${c.delivered} + dropped ${c.dropped} + lost ${c.lost} + pending ${c.pending}`);
      for (const k of Object.keys(total) as (keyof Counts)[]) total[k] += c[k];
    });
    return { total, bySource, negative };
  }

  summaries(): { handler: Summary; eoi: Summary } {
    return { handler: this.handler.summary(), eoi: this.eoi.summary() };
  }
}

function zero(): Counts {
  return { raised: 0, delivered: 0, coalesced: 0, dropped: 0, lost: 0, pending: 0 };
}

/** Latched in the distributor, not yet acknowledged by the hypervisor. */
function physicalPending(vgic: Vgic, gic: Gic, key: number): number {
  if (key < 1024) return gic.isPending(0, key) && vgic.descs.has(key) ? 1 : 0;
  const index = Math.floor((key - 1024) / 32), irq = (key - 1024) % 32;
  if (irq < 16) return 0; // virtual SGIs have no physical state
  return index < gic.config.cpus && gic.isPending(index, irq) ? 1 : 0;
}

/** Acknowledged by the hypervisor and not yet by the guest: QUEUED, or
 *  pending in a list register (hardware, or saved with a descheduled vCPU). */
function virtualPending(vgic: Vgic, gic: Gic, key: number): number {
  if (key < 1024) return pendingIrqPending(vgic, gic, vgic.d.spis[key - 32]!);
  const index = Math.floor((key - 1024) / 32), irq = (key - 1024) % 32;
  let n = 0;
  for (const v of vgic.d.vcpu) {
    if (irq < 16 ? v.vcpu_id !== index : v.processor !== index) continue;
    n += pendingIrqPending(vgic, gic, v.private_irqs[irq]!, v);
  }
  return n;
}

function pendingIrqPending(vgic: Vgic, gic: Gic, p: PendingIrq, owner?: Vcpu): number {
  if (p.test_bit(GIC_IRQ_GUEST_QUEUED)) return 1;
  if (!p.test_bit(GIC_IRQ_GUEST_VISIBLE) || p.lr < 0 || p.inflight === null) return 0;
  const v = owner ?? vgic.d.vcpu[p.inflight.vcpu_id]!;
  const running = vgic.pcpu[v.processor]!.current === v;
  const value = running ? gic.listRegister(v.processor, p.lr) : v.saved?.lrs[p.lr] ?? 0;
  const lr = decodeLr(value);
  return lr.virtualId === p.irq && (lr.state & LrState.Pending) !== 0 ? 1 : 0;
}
