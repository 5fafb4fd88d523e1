// End-to-end accounting of every interrupt instance a device raised. Each
// raise ends as exactly one of:
//
// - delivered: a guest handler was entered for it;
// - coalesced: merged into an earlier instance that was still pending (an
//   edge latched again in the distributor, a level line already high, or an
//   injection into a pending_irq that was already QUEUED or pending in its
//   list register), and that instance was delivered or is still pending at
//   the end;
// - dropped: the design threw it away on purpose (v3's MIGRATING check,
//   Xen's "unable to inject hw irq: already active in LR"), with the reason;
//   raises merged into a dropped instance are dropped with it;
// - lost: it never reached a handler and is pending nowhere at the end, with
//   the reason (a vGIC finding: QUEUED on no list, the physical interrupt
//   stuck active, an edge left pending in the distributor where no pCPU
//   takes it; or vanished: acknowledged and never injected, never
//   delivered); raises merged into a lost instance are lost with it;
// - pending at the end (physically latched, in transit in the hypervisor,
//   QUEUED, or pending in a list register).
//
//   raised = delivered + coalesced + dropped + lost + pending, per source
//
// A raise its source takes back before the hypervisor acknowledged it is
// no instance at all: the virtual timer's deadline that fired and that the
// guest moved into the future while PPI 27 was still pending,
// not active, at the GIC (host/xen/vtimer.ts). Its level line fell, the GIC
// stopped signalling it, and nothing is owed to the guest: `withdraw` takes
// it out of `raised` and counts it as withdrawn, beside the identity. Only
// the source can say so: to the accounting alone a withdrawn deadline and
// one the design dropped look the same (raised, never injected).
//
// Deliveries are judged one by one against the injections the designs
// report (VgicObserver.injecting): a handler entry delivers the oldest
// instance injected and not yet delivered. One with no injected instance
// in flight is a duplicate (a finding of its own, not a delivery), which
// takes no open instance's place: a duplicate cannot make up for a loss.
//
// Instances are kept per accounting key (the interrupt a handler sees) in
// raise order: an injection serves the oldest open instance none served, a
// delivery takes the oldest served one, a drop the oldest of the kind it
// drops (refused at injection, or injected), a merge joins the newest. The
// hot path (raise, injection, delivery, EOI) touches typed arrays and small
// per-key queues, and makes one small object per resolved instance. Latency
// is from an instance's raise to the guest handler's entry and to its EOI.

import type { Gic } from "../hw/gic.ts";
import type { Finding } from "../check/vgic.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { VgicDesign } from "../xen/design.ts";
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

/** Counts with the reasons behind the drops and the losses. */
export interface SourceCounts extends Counts {
  /** raises the source took back before the hypervisor acknowledged them
   *  (not in `raised`) */
  withdrawn: number;
  /** reason -> instances (merged raises included) */
  droppedReasons: Record<string, number>;
  lostReasons: Record<string, number>;
}

export interface SourceInfo {
  name: string;
  type: "spi" | "ipi" | "timer";
  /** accounting keys of this source's instances */
  keys: number[];
  /** level-triggered SPI: its line state is the device's */
  levelHigh?: () => boolean;
}

/** The open (unresolved) instances of one key, oldest first. */
class OpenQueue {
  times: number[] = [];
  merges: number[] = [];
  /** each instance's number (its trace flow) */
  ids: number[] = [];
  head = 0;
  /** how many of the oldest open instances an injection has served */
  injected = 0;

  get length(): number { return this.times.length - this.head; }

  push(time: number, id: number): void {
    if (this.head > 64 && this.head * 2 > this.times.length) {
      this.times = this.times.slice(this.head);
      this.merges = this.merges.slice(this.head);
      this.ids = this.ids.slice(this.head);
      this.head = 0;
    }
    this.times.push(time);
    this.merges.push(0);
    this.ids.push(id);
  }

  /** Resolve the oldest: its raise time and the raises merged into it. */
  shift(): { time: number; merges: number; id: number } {
    const r = { time: this.times[this.head]!, merges: this.merges[this.head]!, id: this.ids[this.head]! };
    this.head++;
    if (this.injected > 0) this.injected--;
    return r;
  }

  /** Take back the newest open instance if no injection served it: its
   *  number and merges, or null. */
  takeNewestUninjected(): { merges: number; id: number } | null {
    if (this.injected >= this.length) return null;
    this.times.pop();
    return { merges: this.merges.pop()!, id: this.ids.pop()! };
  }

  /** Resolve the oldest open instance no injection served (one the design
   *  refused at its injection), or null when every open one was served. */
  takeUninjected(): { time: number; merges: number; id: number } | null {
    if (this.injected >= this.length) return null;
    if (this.injected === 0) return this.shift();
    const at = this.head + this.injected;
    const r = { time: this.times[at]!, merges: this.merges[at]!, id: this.ids[at]! };
    this.times.splice(at, 1);
    this.merges.splice(at, 1);
    this.ids.splice(at, 1);
    return r;
  }

  /** An injected instance stopped being in flight without a delivery:
   *  merged into another injected one, or withdrawn by the design. */
  uninject(): void {
    if (this.injected > 0) this.injected--;
  }

  /** The newest open instance stops being one: it merged into the one
   *  before it. Its number, or -1 when nothing open is there to merge into. */
  mergeNewest(): number {
    if (this.length < 2) return -1;
    const m = this.merges.pop()!;
    this.times.pop();
    this.merges[this.merges.length - 1]! += m + 1;
    if (this.injected > this.length) this.injected = this.length;
    return this.ids.pop()!;
  }

  /** An injection serves the oldest open instance no injection served yet:
   *  its number, or -1 when every open one was. */
  inject(): number {
    if (this.injected >= this.length) return -1;
    return this.ids[this.head + this.injected++]!;
  }

  addMerge(): boolean {
    if (this.length === 0) return false;
    this.merges[this.merges.length - 1]!++;
    return true;
  }
}

/** Where an interrupt instance is on its way (the trace's flow arrows):
 *  raised by its device, injected by the vGIC, acknowledged by the guest
 *  (GICV_IAR), completed (GICV_EOIR); or ended early: dropped by the
 *  design, merged into an earlier instance, withdrawn by its source. */
export type FlowStage = "raise" | "inject" | "ack" | "eoi" | "drop" | "merge" | "withdraw";
/** `vcpu`: the vCPU whose handler acknowledged or completed it, else -1;
 *  `cycle`: when, if known (else the running thread's clock). */
export type FlowSink = (stage: FlowStage, instance: number, irq: number, vcpu: number, cycle?: number) => void;

/** The interrupt a key stands for. */
const irqOfKey = (key: number) => (key < 1024 ? key : (key - 1024) % 32);

export class Accounting implements RaiseSink {
  readonly raised = new Float64Array(KEYS);
  readonly delivered = new Float64Array(KEYS);
  /** raises taken back by their source (not in `raised`) */
  readonly withdrawn = new Float64Array(KEYS);
  /** merges into instances that were delivered (final) */
  private readonly coalescedDone = new Float64Array(KEYS);
  private readonly open: (OpenQueue | undefined)[] = new Array(KEYS);
  /** per key: reason -> dropped instances, merges included */
  private readonly droppedBy = new Map<number, Map<string, number>>();
  /** accounting errors (a drop or a merge of nothing) */
  readonly errors: string[] = [];
  /** duplicates per key and vCPU ("key/vCPU"), in the order first seen:
   *  handler entries with no injected instance in flight, and injected
   *  instances merged into a list register that held none */
  private readonly duplicates = new Map<number, { key: number; irq: number; vcpu: number; handled: number; merged: number }>();
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
  /** per vCPU: the number of the instance its handler runs, or -1 */
  private readonly handlingId: Int32Array;
  private nextId = 0;
  /** told each stage of each instance (with a trace), or null */
  flows: FlowSink | null = null;

  constructor(readonly sources: readonly SourceInfo[], vcpus: number) {
    sources.forEach((s, i) => { for (const k of s.keys) this.sourceOf[k] = i; });
    this.handlerBySource = sources.map(() => new Histogram());
    this.eoiBySource = sources.map(() => new Histogram());
    this.handling = new Float64Array(vcpus).fill(NaN);
    this.handlingSource = new Int16Array(vcpus).fill(-1);
    this.deliveredByVcpu = new Float64Array(vcpus);
    this.handlingId = new Int32Array(vcpus).fill(-1);
  }

  /** The key of an interrupt a guest handler sees on vCPU v. */
  static keyOf(irq: number, v: Vcpu): number {
    return irq >= 32 ? spiKey(irq) : privateKey(irq, v.vcpu_id);
  }

  private queue(key: number): OpenQueue {
    let q = this.open[key];
    if (q === undefined) this.open[key] = q = new OpenQueue();
    return q;
  }

  /** An instance was raised at `cycle`; `merged`: the device's line or the
   *  distributor's latch already held a pending one, which absorbs it. */
  raise(key: number, cycle: number, merged = false): void {
    this.raised[key]!++;
    const q = this.queue(key);
    if (merged && q.addMerge()) return;
    const id = this.nextId++;
    q.push(cycle, id);
    if (this.flows !== null) this.flows("raise", id, irqOfKey(key), -1, cycle);
  }

  /** The source of `key` took back its newest raise before the hypervisor
   *  acknowledged it (the virtual timer's output fell while PPI 27 was
   *  pending, not active): it is no instance, and no injection may serve
   *  it. One an injection already served cannot be taken back. */
  withdraw(key: number): void {
    const r = this.queue(key).takeNewestUninjected();
    if (r === null) {
      if (this.sourceOf[key]! >= 0) this.errors.push(`IRQ ${irqOfKey(key)}: a raise withdrawn with none open that no injection served`);
      return;
    }
    this.raised[key]! -= 1 + r.merges;
    this.withdrawn[key]! += 1 + r.merges;
    if (this.flows !== null) this.flows("withdraw", r.id, irqOfKey(key), -1);
  }

  /** The vGIC is about to inject into v: an instance already waiting
   *  (QUEUED, not yet in a list register or waiting to be folded into one;
   *  the new vGIC's pending latch) absorbs the new one, the newest open
   *  instance. */
  onInjecting(irq: number, v: Vcpu, merges: boolean): void {
    if (merges) {
      this.mergeNewest(irq, v, "an injection merged into a waiting instance");
      return;
    }
    const id = this.queue(Accounting.keyOf(irq, v)).inject();
    if (id >= 0 && this.flows !== null) this.flows("inject", id, irq, -1);
  }

  /** gic_update_one_lr folded a QUEUED instance into the one still pending
   *  in its list register (the new vGIC: vgic_v2_fold_lr_state found the
   *  latch set again while its list register was still pending): two
   *  injected instances are one now. */
  onMerged(irq: number, v: Vcpu): void {
    const key = Accounting.keyOf(irq, v);
    const q = this.queue(key);
    if (q.injected < 2) {
      // the list register held an instance the vGIC never injected (one
      // delivered already, made pending again): it absorbs the injected
      // one, which is delivered with it
      if (this.sourceOf[key]! >= 0) this.duplicate(key, irq, v).merged++;
      return;
    }
    q.uninject();
    this.mergeNewest(irq, v, "a QUEUED instance merged into its pending list register");
  }

  /** vgic_migrate_irq took an injected instance off `v`'s lr_pending: in
   *  flight no more until it is injected again. */
  onWithdrawn(irq: number, v: Vcpu): void {
    this.queue(Accounting.keyOf(irq, v)).uninject();
  }

  private duplicate(key: number, irq: number, v: Vcpu): { handled: number; merged: number } {
    const k = key * 8 + v.vcpu_id;
    let d = this.duplicates.get(k);
    if (d === undefined) this.duplicates.set(k, d = { key, irq, vcpu: v.vcpu_id, handled: 0, merged: 0 });
    return d;
  }

  private mergeNewest(irq: number, v: Vcpu, what: string): void {
    const key = Accounting.keyOf(irq, v);
    const id = this.queue(key).mergeNewest();
    if (id < 0 && this.sourceOf[key]! >= 0) {
      this.errors.push(`IRQ ${irq} on ${v.name}: ${what} the accounting does not know`);
    }
    if (id >= 0 && this.flows !== null) this.flows("merge", id, irq, -1);
  }

  /** A guest handler entered for `irq` on v. It is the delivery of the
   *  oldest instance the vGIC injected and nobody has delivered yet; with
   *  none in flight it is a duplicate (the guest handles an instance a
   *  second time), which takes no raised instance's place: one the vGIC
   *  lost stays lost. */
  onDelivered(irq: number, v: Vcpu, cycle: number): void {
    const key = Accounting.keyOf(irq, v);
    this.deliveredByVcpu[v.vcpu_id]!++;
    const q = this.queue(key);
    const src = this.sourceOf[key]!;
    this.handlingSource[v.vcpu_id] = src;
    if (q.injected === 0) {
      this.handling[v.vcpu_id] = NaN;
      this.handlingId[v.vcpu_id] = -1;
      if (src >= 0) this.duplicate(key, irq, v).handled++;
      return;
    }
    this.delivered[key]!++;
    const { time, merges, id } = q.shift();
    this.handlingId[v.vcpu_id] = id;
    if (this.flows !== null) this.flows("ack", id, irq, v.vcpu_id, cycle);
    this.coalescedDone[key]! += merges;
    this.handling[v.vcpu_id] = time;
    this.handler.record(cycle - time);
    if (src >= 0) this.handlerBySource[src]!.record(cycle - time);
  }

  onCompleted(irq: number, v: Vcpu, cycle: number): void {
    const id = this.handlingId[v.vcpu_id]!;
    this.handlingId[v.vcpu_id] = -1;
    if (id >= 0 && this.flows !== null) this.flows("eoi", id, irq, v.vcpu_id, cycle);
    const t = this.handling[v.vcpu_id]!;
    if (Number.isNaN(t)) return;
    this.handling[v.vcpu_id] = NaN;
    this.eoi.record(cycle - t);
    const src = this.handlingSource[v.vcpu_id]!;
    if (src >= 0) this.eoiBySource[src]!.record(cycle - t);
  }

  /** The design dropped an instance of `irq` for v on purpose: one it
   *  refused at its injection (the oldest open one no injection served),
   *  or one injected and waiting (`injected`: the oldest in flight). */
  onDropped(irq: number, v: Vcpu, reason: string, injected: boolean): void {
    // (a design of one's own written to the four-argument hook would have
    // its injected drops taken for refused ones)
    if (typeof injected !== "boolean") {
      throw new TypeError(`observer.dropped(IRQ ${irq}, ${v.name}, "${reason}"): injected: got ${String(injected)}, expected true (an injected instance waiting) or false (refused at its injection)`);
    }
    const key = Accounting.keyOf(irq, v);
    const q = this.queue(key);
    const r = injected ? (q.injected > 0 ? q.shift() : null) : q.takeUninjected();
    if (r === null) {
      this.errors.push(`IRQ ${irq} on ${v.name}: dropped (${reason}) with no ${injected ? "injected instance in flight" : "raise open that no injection served"}`);
      return;
    }
    const { merges, id } = r;
    if (this.flows !== null) this.flows("drop", id, irq, -1);
    let m = this.droppedBy.get(key);
    if (m === undefined) this.droppedBy.set(key, m = new Map());
    m.set(reason, (m.get(reason) ?? 0) + 1 + merges);
  }

  /** Resolve every open instance at the end of a run, from the vGIC's and
   *  the GIC's state and the invariant findings. `stopped` names why the
   *  run ended early (deadlock, error), or is null after a completed run. */
  tally(vgic: VgicDesign, gic: Gic, findings: readonly Finding[], stopped: string | null = null):
    { total: Counts; bySource: SourceCounts[]; errors: string[]; findings: Finding[] } {
    // per accounting key: the finding that explains its loss ("lost" ones
    // before "stuck-active" ones) and the reason it gives
    const lostKeys = new Map<number, { kind: "lost" | "stuck-active"; reason: string }>();
    for (const f of findings) {
      if (f.kind !== "lost" && f.kind !== "stuck-active") continue;
      // the checks name the interrupt, and a private one's vCPU
      const irq = f.irq;
      if (irq === undefined) continue;
      let key: number;
      if (irq >= 32) key = spiKey(irq);
      else if (f.vcpu !== undefined) key = Accounting.keyOf(irq, vgic.d.vcpu[f.vcpu]!);
      else continue;
      if (lostKeys.get(key)?.kind !== "lost") lostKeys.set(key, { kind: f.kind, reason: lossReason(f) });
    }
    const bySource: SourceCounts[] = this.sources.map(() => ({ ...zero(), withdrawn: 0, droppedReasons: {}, lostReasons: {} }));
    const total = zero();
    const errors = [...this.errors];
    const out: Finding[] = [];
    this.sources.forEach((s, i) => {
      const c = bySource[i]!;
      const lose = (reason: string, n: number) => {
        if (n === 0) return;
        c.lost += n;
        c.lostReasons[reason] = (c.lostReasons[reason] ?? 0) + n;
      };
      for (const key of s.keys) {
        c.raised += this.raised[key]!;
        c.delivered += this.delivered[key]!;
        c.withdrawn += this.withdrawn[key]!;
        c.coalesced += this.coalescedDone[key]!;
        for (const [reason, n] of this.droppedBy.get(key) ?? []) {
          c.dropped += n;
          c.droppedReasons[reason] = (c.droppedReasons[reason] ?? 0) + n;
        }
        const q = this.open[key];
        if (q === undefined || q.length === 0) continue;
        const kind = lostKeys.get(key)?.kind;
        // how many of the open instances are still pending somewhere
        let pending: number;
        // behind a lost or stuck interrupt nothing is pending any more
        if (kind !== undefined) pending = 0;
        else if (s.levelHigh !== undefined) pending = s.levelHigh() ? 1 : 0;
        else pending = physicalPending(vgic, gic, key) + virtualPending(vgic, gic, key);
        pending = Math.min(pending, q.length);
        // the newest `pending` instances are the pending ones, with their merges
        const resolved: Array<{ merges: number }> = [];
        while (q.length > 0) resolved.push(q.shift());
        const lostOnes = resolved.slice(0, resolved.length - pending);
        for (const r of resolved.slice(resolved.length - pending)) {
          c.pending++;
          c.coalesced += r.merges;
        }
        const reason = kind !== undefined ? lostKeys.get(key)!.reason
          : stopped !== null ? `the run stopped (${stopped}) before it was delivered`
              : "vanished: never delivered and pending nowhere at the end";
        for (const r of lostOnes) lose(reason, 1 + r.merges);
      }
      for (const k of Object.keys(total) as (keyof Counts)[]) total[k] += c[k];
      if (c.raised !== c.delivered + c.coalesced + c.dropped + c.lost + c.pending) {
        errors.push(`${s.name}: raised ${c.raised} != delivered ${c.delivered} + coalesced ${c.coalesced} + dropped ${c.dropped} + lost ${c.lost} + pending ${c.pending}`);
      }
      // every source that lost or dropped instances has a finding of that
      // kind, whatever explains them (a vGIC finding of another kind, such
      // as stuck-active, or none): `--fail-on lost` fails exactly when the
      // table's lost column is not all zero, and `--fail-on dropped` when
      // its dropped column is not
      const why = (reasons: Record<string, number>) => Object.entries(reasons).map(([r, n]) => `${n} ${r}`).join(", ");
      if (c.lost > 0) out.push({ kind: "lost", message: `${s.name}: ${c.lost} raised instance(s) lost (${why(c.lostReasons)})` });
      if (c.dropped > 0) out.push({ kind: "dropped", message: `${s.name}: ${c.dropped} raised instance(s) dropped by the design (${why(c.droppedReasons)})` });
      if (stopped === null && c.raised > 0 && c.delivered === 0) {
        out.push({ kind: "no-delivery", message: `${s.name}: raised ${c.raised} and delivered none` });
      }
      // per interrupt and vCPU: what the guest got beyond what the vGIC injected
      for (const d of this.duplicates.values()) {
        if (this.sourceOf[d.key] !== i) continue;
        const what = [
          ...(d.handled > 0 ? [`handled ${d.handled} time(s) with no injected instance in flight (not counted as delivered)`] : []),
          ...(d.merged > 0 ? [`${d.merged} injected instance(s) merged into a list register that held none`] : []),
        ];
        out.push({ kind: "duplicate", irq: d.irq, vcpu: d.vcpu, message: `${s.name}: IRQ ${d.irq} on vCPU${d.vcpu}: ${what.join("; ")}: a duplicate` });
      }
    });
    for (const e of errors) out.push({ kind: "accounting", message: e });
    return { total, bySource, errors, findings: out };
  }

  summaries(): { handler: Summary; eoi: Summary } {
    return { handler: this.handler.summary(), eoi: this.eoi.summary() };
  }
}

/** A loss's reason in the table, from the vGIC finding that explains it. */
function lossReason(f: Finding): string {
  if (f.kind === "stuck-active" && f.path === "virtual-lr") return "merged into an interrupt left active in a list register (vGIC finding)";
  if (f.kind === "stuck-active") return "physical interrupt stuck active, or latched behind it (vGIC finding)";
  if (f.path === "blocked-not-woken") return "waiting for a vCPU blocked in WFI that nothing wakes (vGIC finding)";
  if (f.path === "queued-on-no-list") return "QUEUED on no list (vGIC finding)";
  if (f.path === "pending-not-taken") return "left pending in the distributor, taken by no pCPU (vGIC finding)";
  return "lost (vGIC finding)";
}

function zero(): Counts {
  return { raised: 0, delivered: 0, coalesced: 0, dropped: 0, lost: 0, pending: 0 };
}

/** Latched in the distributor, not yet acknowledged by the hypervisor, or
 *  (the virtual timer) expired and not yet injected. */
function physicalPending(vgic: VgicDesign, gic: Gic, key: number): number {
  if (key < 1024) return gic.isPending(0, key) && vgic.descs.has(key) ? 1 : 0;
  const index = Math.floor((key - 1024) / 32), irq = (key - 1024) % 32;
  if (irq < 16) return 0; // virtual SGIs have no physical state
  const v = vgic.d.vcpu[index];
  if (v === undefined) return 0;
  // a software timer expired and waiting for the timer softirq
  if (irq === v.virt_timer.irq && vgic.pcpu.some((pc) => pc.timers_expired.includes(v.virt_timer))) return 1;
  // a PPI is physical only while its vCPU is loaded
  return vgic.pcpu[v.processor]!.current === v && gic.isPending(v.processor, irq) ? 1 : 0;
}

/** Acknowledged by the hypervisor and not yet by the guest: QUEUED, or
 *  pending in a list register (hardware, or saved with a descheduled vCPU). */
function virtualPending(vgic: VgicDesign, gic: Gic, key: number): number {
  if (key < 1024) return vgic.virtualPending(gic, key);
  const index = Math.floor((key - 1024) / 32), irq = (key - 1024) % 32;
  const v = vgic.d.vcpu[index];
  return v === undefined ? 0 : vgic.virtualPending(gic, irq, v);
}
