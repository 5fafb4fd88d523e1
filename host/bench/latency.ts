// Injection-latency benchmark: modelled cycles along each interrupt path,
// per vGIC design, as distributions over many repetitions, with a breakdown
// by stage.
//
// Method. Each path is a small system (buildSystem with instantBoot and the
// direct set-up helpers of host/xen/setup.ts) run with the `time` scheduler
// and tracing on. A repetition starts at a cause (a device raising an SPI,
// a guest starting a trapped access) whose time is offset by a seeded PRNG,
// so the cause lands at a different phase of the guest's and hypervisor's
// work each time. The trace then gives milestones on the threads the path
// crosses (the pCPU taking the IRQ entering, gic_clear_lrs beginning and
// ending, the hypervisor's GICC_IAR read returning the interrupt,
// vgic_vcpu_inject_irq beginning, the kick SGI, the list-register write,
// gic_inject, the guest's GICV_IAR read, the handler, the guest's EOIR) and
// each stage is the time between consecutive milestones, named after the
// one it starts from. A stage met twice (hypervisor entry before and after
// gic_clear_lrs) is summed. The stages of a repetition therefore add up to
// its total exactly, by construction; tests/bench.test.ts checks it.
//
// Outcomes. A path is "ok" when every repetition reached its end. Otherwise
// it reports what the design did instead: "deadlock" (the machine's
// wait-for cycle), "dropped" (the design discarded the injection, as v3's
// MIGRATING check), "lost" (never delivered), "misrouted" (delivered on the
// wrong vCPU); the table prints that instead of a number. Each repetition
// is read from its cause up to the next repetition's cause (finish sets the
// trace index's window), so a repetition the design lost is "lost", not
// matched to the next repetition's milestones as one slow delivery.

import { buildSystem, type System } from "../xen/system.ts";
import { guestCpuInterfaces, guestIrq } from "../xen/setup.ts";
import type { GuestCpu, GuestProgram } from "../guest/guest.ts";
import { gic_raise_softirq } from "../guest/driver.ts";
import type { Co, CostProfile } from "../sim/api.ts";
import type { TraceEvent } from "../sim/trace.ts";
import { Rng } from "../sim/rng.ts";
import { GICC, GICD, GICH, GICV, decodeLr } from "../hw/regs.ts";
import { allVariants } from "../xen/variants.ts";
import type { DesignNames } from "../xen/design.ts";
import { runFailure, type Outcome } from "./outcome.ts";
import { median } from "./stats.ts";

// ---- results

export type { Outcome };

/** One repetition: its total and the stages it splits into, in path order. */
export interface Sample {
  total: number;
  stages: Array<[stage: string, cycles: number]>;
}

export interface Summary {
  median: number;
  p99: number;
  max: number;
  min: number;
  mean: number;
}

export interface StageSummary extends Summary {
  stage: string;
}

export interface Published {
  name: string;
  cycles: number;
  source: string;
}

export interface PathResult {
  path: string;
  title: string;
  variant: string;
  outcome: Outcome;
  /** what happened, for any outcome but ok */
  note?: string;
  /** repetitions run, and measured (reached the end of the path) */
  reps: number;
  measured: number;
  /** the values total and stages are over: one per measured repetition,
   *  except on lr-overflow (one per interrupt that waited: none, one or
   *  several a repetition) */
  sampled: number;
  /** over the samples (absent when there is none) */
  total?: Summary;
  /** per stage over measured repetitions; the means add up to total.mean */
  stages: StageSummary[];
  published?: Published;
  /** the samples themselves (not written to JSON) */
  samples?: Sample[];
}

export interface NotModelled {
  path: string;
  title: string;
  published: Published;
  reason: string;
}

export interface LatencyResult {
  reps: number;
  seed: number;
  variants: string[];
  paths: PathResult[];
  notModelled: NotModelled[];
}

export interface LatencyOptions {
  variants?: string[];
  reps?: number;
  seed?: number;
  profile?: CostProfile;
  /** only these paths (ids from PATHS) */
  paths?: string[];
  /** keep the samples in the results */
  keepSamples?: boolean;
}

/** Nearest-rank percentile of sorted values. */
function pct(sorted: number[], p: number): number {
  const k = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[k]!;
}

export function summarize(values: number[]): Summary {
  const s = [...values].sort((a, b) => a - b);
  const mean = s.reduce((a, b) => a + b, 0) / s.length;
  return { median: median(s), p99: pct(s, 99), max: s[s.length - 1]!, min: s[0]!, mean };
}

// ---- trace milestones

class MilestoneError extends Error {}

/** The trace by thread, each list in clock order, searched by time. */
class TraceIndex {
  private readonly byTid = new Map<number, TraceEvent[]>();
  /** The end of the repetition being read (exclusive): the next
   *  repetition's cause. Forward searches stop there, so a repetition the
   *  design lost is not matched to the next one's milestones. */
  until = Infinity;

  constructor(events: readonly TraceEvent[]) {
    for (const e of events) {
      let l = this.byTid.get(e.tid);
      if (l === undefined) this.byTid.set(e.tid, (l = []));
      l.push(e);
    }
  }

  private list(tid: number): TraceEvent[] { return this.byTid.get(tid) ?? []; }

  private lower(l: TraceEvent[], t: number): number {
    let lo = 0, hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.ts < t) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** First event on `tid` at or after `t`, before `until`, matching `pred`. */
  first(tid: number, t: number, pred: (e: TraceEvent) => boolean): TraceEvent | undefined {
    const l = this.list(tid);
    for (let i = this.lower(l, t); i < l.length && l[i]!.ts < this.until; i++) if (pred(l[i]!)) return l[i];
    return undefined;
  }

  /** Last event on `tid` at or before `t`, and at or after `since`,
   *  matching `pred`. (A search back to the run's start would make reading
   *  a long run quadratic: a running vCPU's last context switch is at boot.) */
  last(tid: number, t: number, pred: (e: TraceEvent) => boolean, since = -Infinity): TraceEvent | undefined {
    const l = this.list(tid);
    for (let i = this.lower(l, t + 1) - 1; i >= 0 && l[i]!.ts >= since; i--) if (pred(l[i]!)) return l[i];
    return undefined;
  }

  /** The earliest match over several threads. */
  firstAny(tids: readonly number[], t: number, pred: (e: TraceEvent) => boolean): TraceEvent | undefined {
    let best: TraceEvent | undefined;
    for (const tid of tids) {
      const e = this.first(tid, t, pred);
      if (e !== undefined && (best === undefined || e.ts < best.ts)) best = e;
    }
    return best;
  }
}

const isFn = (kind: "fn-begin" | "fn-end", name: string) => (e: TraceEvent) => e.kind === kind && e.name === name;
const isFnAny = (kind: "fn-begin" | "fn-end", names: readonly string[]) => (e: TraceEvent) => e.kind === kind && names.includes(e.name);
const isKind = (kind: TraceEvent["kind"]) => (e: TraceEvent) => e.kind === kind;

/** Milestones of one repetition: [time, stage that starts there]. */
class Chain {
  readonly ms: Array<[number, string]> = [];
  at(t: number | undefined, stage: string, what: string): number {
    if (t === undefined) throw new MilestoneError(`milestone not found: ${what}`);
    const prev = this.ms.length > 0 ? this.ms[this.ms.length - 1]![0] : t;
    // an interrupt acknowledged in an exception already under way has no
    // entry of its own: its entry stages are zero, never negative
    const tt = Math.max(t, prev);
    this.ms.push([tt, stage]);
    return tt;
  }
  /** Close at `end`: a sample whose stages sum to end - start. */
  sample(end: number): Sample {
    const acc = new Map<string, number>();
    for (let i = 0; i < this.ms.length; i++) {
      const [t, stage] = this.ms[i]!;
      const next = i + 1 < this.ms.length ? this.ms[i + 1]![0] : Math.max(end, t);
      acc.set(stage, (acc.get(stage) ?? 0) + (next - t));
    }
    return { total: Math.max(end, this.ms[this.ms.length - 1]![0]) - this.ms[0]![0], stages: [...acc] };
  }
  copy(): Chain {
    const c = new Chain();
    c.ms.push(...this.ms);
    return c;
  }
}

interface Mark { irq: number; vcpu: number; cycle: number }

/** Marks recorded during a run, searched by cycle once it has ended (each
 *  repetition's search starts where its window does, not at the first
 *  mark: a long run's reading stays linear in its repetitions). */
class Marks {
  private readonly all: Mark[] = [];
  private byCycle: Mark[] | null = null;

  push(m: Mark): void {
    this.all.push(m);
    this.byCycle = null;
  }

  /** The earliest mark of `irq` in [from, until), or undefined. */
  first(irq: number, from: number, until: number): Mark | undefined {
    const l = (this.byCycle ??= [...this.all].sort((a, b) => a.cycle - b.cycle));
    let lo = 0, hi = l.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (l[mid]!.cycle < from) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < l.length && l[i]!.cycle < until; i++) if (l[i]!.irq === irq) return l[i];
    return undefined;
  }

  /** The latest mark of any interrupt in [from, until), or undefined. */
  last(from: number, until: number): Mark | undefined {
    let found: Mark | undefined;
    for (const m of this.all) if (m.cycle >= from && m.cycle < until) found = m;
    return found;
  }
}

/** A path's system with what the benchmark records about it. */
class Bench {
  readonly ix: () => TraceIndex;
  readonly delivered = new Marks();
  readonly completed = new Marks();
  readonly dropped = new Marks();
  readonly cpus: number[];
  private index: TraceIndex | null = null;
  readonly map: { gicc: number; gich: number; gicv: number; gicd: number };
  readonly nrLrs: number;
  /** the design's function names on the trace */
  readonly names: DesignNames;

  constructor(readonly sys: System) {
    this.names = sys.vgic.names;
    const o = sys.vgic.observer;
    o.delivered = (irq, v, cycle) => { this.delivered.push({ irq, vcpu: v.vcpu_id, cycle }); };
    o.completed = (irq, v, cycle) => { this.completed.push({ irq, vcpu: v.vcpu_id, cycle }); };
    o.dropped = (irq, v, _r, cycle) => { this.dropped.push({ irq, vcpu: v.vcpu_id, cycle }); };
    this.cpus = sys.machine.cpus.map((c) => c.index);
    this.map = sys.gic.config.map;
    this.nrLrs = sys.gic.config.listRegisters;
    this.ix = () => (this.index ??= new TraceIndex(sys.machine.trace!.events));
  }

  get gichAccess(): number { return this.sys.machine.cycles.gichAccess; }

  private isLrWrite(irq: number) {
    const lo = this.map.gich + GICH.LR, hi = lo + 4 * this.nrLrs;
    return (e: TraceEvent) => e.kind === "mmio-write" && e.a >= lo && e.a < hi && (e.b & 0x3ff) === irq &&
      (decodeLr(e.b).state & 1) !== 0;
  }
  private isRead(addr: number, irq: number) {
    return (e: TraceEvent) => e.kind === "mmio-read" && e.a === addr && (e.b & 0x3ff) === irq;
  }
  private isWrite(addr: number, irq?: number) {
    return (e: TraceEvent) => e.kind === "mmio-write" && e.a === addr && (irq === undefined || (e.b & 0x3ff) === irq);
  }

  /** A physical SPI from its raise to the beginning of its injection. */
  physical(c: Chain, irq: number, raise: number): { src: number; ib: number } {
    const ix = this.ix();
    c.at(raise, "physical delivery", "raise");
    const ack = ix.firstAny(this.cpus, raise, this.isRead(this.map.gicc + GICC.IAR, irq));
    if (ack === undefined) throw new MilestoneError(`no pCPU acknowledged SPI ${irq}`);
    const src = ack.tid;
    const enter = ix.last(src, ack.ts, isKind("irq-enter"));
    c.at(enter?.ts ?? ack.ts, "hypervisor entry", "irq-enter");
    const n = this.names;
    const cl = ix.first(src, enter?.ts ?? ack.ts, isFn("fn-begin", n.foldLrs));
    if (cl !== undefined && cl.ts <= ack.ts && enter !== undefined) {
      c.at(cl.ts, "LR clean-up", n.foldLrs);
      c.at(ix.first(src, cl.ts, isFn("fn-end", n.foldLrs))?.ts, "hypervisor entry", `${n.foldLrs} end`);
    }
    const ib = ix.first(src, ack.ts, isFnAny("fn-begin", n.inject))?.ts;
    c.at(ib, "injection", n.inject[0]!);
    return { src, ib: ib! };
  }

  /** From the beginning of vgic_vcpu_inject_irq on `src` to the guest's
   *  handler entry; returns the target pCPU and the handler-entry time. */
  virtual(c: Chain, irq: number, src: number, ib: number, vcpu: number): { tgt: number; handler: number; waited: boolean } {
    const ix = this.ix();
    const n = this.names;
    let waited = false;
    const w = ix.firstAny(this.cpus, ib, this.isLrWrite(irq));
    if (w === undefined) throw new MilestoneError(`no list register received ${irq}`);
    const tgt = w.tid;
    // (only one since the injection began matters)
    const gi = ix.last(tgt, w.ts, isFn("fn-begin", n.flushLrs), ib);
    const giEnd = gi === undefined ? undefined : ix.first(tgt, gi.ts, isFn("fn-end", n.flushLrs));
    const inGicInject = gi !== undefined && gi.ts >= ib && (giEnd === undefined || giEnd.ts >= w.ts);
    if (tgt !== src) {
      // another pCPU wrote the LR: the injecting pCPU kicked it (an
      // event-check SGI), and it wrote the LR on its way back to the guest:
      // in gic_inject from lr_pending, or in gic_clear_lrs when the
      // interrupt was still in flight in an LR the guest had EOI'd (the
      // fold re-raises it)
      const sg = ix.first(src, ib, this.isWrite(this.map.gicd + GICD.SGIR));
      let from = ib;
      if (sg !== undefined && sg.ts <= w.ts) {
        c.at(sg.ts, "kick", "event-check SGI");
        const enter = ix.first(tgt, sg.ts, (e) => e.kind === "irq-enter" || e.kind === "wake");
        from = c.at(enter?.ts, "kicked pCPU entry", "kicked pCPU's entry");
      }
      const cl = ix.first(tgt, from, isFn("fn-begin", n.foldLrs));
      if (cl !== undefined && cl.ts <= w.ts) {
        c.at(cl.ts, "LR clean-up", `${n.foldLrs} (target)`);
        const clEnd = ix.first(tgt, cl.ts, isFn("fn-end", n.foldLrs));
        if (clEnd !== undefined && clEnd.ts <= w.ts) c.at(clEnd.ts, "kicked pCPU entry", `${n.foldLrs} end (target)`);
      }
    } else if (inGicInject) {
      const ie = ix.first(src, ib, isFnAny("fn-end", n.inject))?.ts;
      c.at(ie, n.queuedStage, "injection end");
      // an earlier fill after the injection that did not take it: the
      // interrupt waited for a free list register
      const earlier = ie === undefined ? undefined : ix.first(tgt, ie, isFn("fn-begin", n.flushLrs));
      waited = earlier !== undefined && earlier.ts < gi.ts;
    }
    // a vCPU woken from WFI: its pCPU switches from the idle vCPU back to
    // it, and gic_restore_state's gic_restore_pending_irqs writes the LR
    // (with the new vGIC the LR is written by the fill after the switch)
    const cs = ix.last(tgt, w.ts, isFn("fn-begin", "context_switch"), ib);
    if (cs !== undefined && cs.ts >= ib && (!inGicInject || cs.ts < gi.ts)) c.at(cs.ts, "context switch", "context_switch (idle -> vCPU)");
    if (inGicInject) c.at(gi.ts, n.flushLrs, n.flushLrs);
    c.at(w.ts, "LR write", "list register write");
    c.at(w.ts + this.gichAccess, "return to guest", "list register written");
    const gack = ix.first(tgt, w.ts, this.isRead(this.map.gicv + GICV.IAR, irq));
    c.at(gack?.ts, "guest acknowledge", "guest GICV_IAR");
    const d = this.delivered.first(irq, gack!.ts, ix.until);
    if (d === undefined) throw new MilestoneError("no handler entry");
    if (d.vcpu !== vcpu) throw new Misrouted(`delivered on vCPU${d.vcpu}, not vCPU${vcpu}`);
    return { tgt, handler: c.at(d.cycle, "handler", "handler entry"), waited };
  }

  /** From handler entry to the guest's EOI; returns [EOIR write, completion]. */
  eoi(c: Chain, irq: number, tgt: number, handler: number): [number, number] {
    const e = this.ix().first(tgt, handler, this.isWrite(this.map.gicv + GICV.EOIR, irq));
    const t = c.at(e?.ts, "EOI", "guest GICV_EOIR");
    const done = this.completed.first(irq, t, this.ix().until);
    if (done === undefined) throw new MilestoneError("no completion");
    return [t, done.cycle];
  }
}

class Misrouted extends Error {}

// ---- the paths

interface RepResult { samples: Partial<Record<string, Sample>>; failure?: { outcome: Outcome; note: string } }

interface PathDef {
  id: string;
  title: string;
  /** the endpoints this path reports: [id suffix, title, published?] */
  ends: Array<{ id: string; title: string; published?: (p: CostProfile) => Published }>;
  /** run `reps` repetitions on one system, or one system per repetition */
  run(variant: string, reps: number, rng: Rng, profile: CostProfile): { reps: RepResult[]; global?: { outcome: Outcome; note: string } };
}

const SPI = 40;
const PERIOD = 20_000;
const START = 10_000;
const JITTER = 2_000;
/** migration runs a fresh system per repetition: fewer of them */
export const MIGRATION_REPS = 50;

function* computeForever(g: GuestCpu): Co {
  for (;;) yield* g.work(1_000_000);
}
function* idleForever(g: GuestCpu): Co {
  for (;;) yield* g.wfi();
}

function system(variant: string, profile: CostProfile, o: { pcpus: number; programs: (GuestProgram | undefined)[]; routed?: number[] }): Bench {
  const sys = buildSystem({
    variant, profile, pcpus: o.pcpus, instantBoot: true, trace: true, irqs: 96,
    routed: (o.routed ?? []).map((irq) => ({ irq, edge: true })), programs: o.programs,
  });
  guestCpuInterfaces(sys);
  return new Bench(sys);
}

/** Run the machine, then turn each repetition into samples. `cause(k)` is
 *  when repetition k began (undefined if it never did): each repetition is
 *  read from its cause up to the next one's, so a repetition the design
 *  lost reports that rather than the next repetition's delivery. */
function finish(b: Bench, until: number, reps: number, cause: (k: number) => number | undefined,
  one: (k: number) => Partial<Record<string, Sample>>): ReturnType<PathDef["run"]> {
  const r = b.sys.machine.run({ until });
  const out: RepResult[] = [];
  const ix = b.ix();
  for (let k = 0; k < reps; k++) {
    ix.until = cause(k + 1) ?? Infinity;
    out.push(classify(b, cause(k) ?? -Infinity, () => one(k)));
  }
  ix.until = Infinity;
  const global = runFailure(r);
  return global === undefined ? { reps: out } : { reps: out, global };
}

function classify(b: Bench, from: number, one: () => Partial<Record<string, Sample>>): RepResult {
  try {
    return { samples: one() };
  } catch (e) {
    if (e instanceof Misrouted) return { samples: {}, failure: { outcome: "misrouted", note: e.message } };
    if (e instanceof MilestoneError) {
      // a drop by the design within this repetition
      const d = b.dropped.last(from, b.ix().until);
      if (d !== undefined) {
        const stuck = b.sys.gic.isActive(0, d.irq) ? "; the physical SPI stays active (never deactivated)" : "";
        return { samples: {}, failure: { outcome: "dropped", note: `vgic_vcpu_inject_irq dropped IRQ ${d.irq} for vCPU${d.vcpu} (MIGRATING)${stuck}` } };
      }
      // (a delivery after the next cause is not told from that one's: the
      // bench cannot time a design slower than the gap between causes, and
      // says so rather than call it a loss for certain)
      const next = Number.isFinite(b.ix().until)
        ? ` before the next repetition's cause, ${Math.round(b.ix().until - from)} cycles after this one's (lost, or slower than the bench can time)` : "";
      return { samples: {}, failure: { outcome: "lost", note: `${e.message}${next}` } };
    }
    throw e;
  }
}

/** A physical SPI to vCPU0 (target setting `placement`), raised every PERIOD. */
function spiPath(kind: "local" | "kick" | "wfi"): PathDef["run"] {
  return (variant, reps, rng, profile) => {
    const target = kind === "kick" ? 1 : 0;
    const programs = kind === "wfi" ? [idleForever] : [computeForever, computeForever];
    const b = system(variant, profile, { pcpus: programs.length, programs, routed: [SPI] });
    guestIrq(b.sys, { irq: SPI, target });
    if (kind === "kick") {
      // the physical affinity still names pCPU0 (where the vCPU ran when it
      // was last set), so pCPU0 takes it and kicks pCPU1
      b.sys.gic.writeDist(0, GICD.ITARGETSR + SPI, 1, 1);
    }
    const raises: number[] = [];
    for (let k = 0; k < reps; k++) {
      const t = START + k * PERIOD + rng.below(JITTER);
      raises.push(t);
      b.sys.machine.at(t, "device", (m) => { m.setLine(SPI, 1); m.setLine(SPI, 0); });
    }
    return finish(b, START + reps * PERIOD + 100_000, reps, (k) => raises[k], (k) => {
      const c = new Chain();
      const { src, ib } = b.physical(c, SPI, raises[k]!);
      const { tgt, handler } = b.virtual(c, SPI, src, ib, target);
      const h = c.copy().sample(handler);
      const [eoi, done] = b.eoi(c, SPI, tgt, handler);
      const completion = new Chain();
      completion.at(eoi, "GICV EOIR write", "guest GICV_EOIR");
      return { handler: h, eoi: c.sample(done), completion: completion.sample(done) };
    });
  };
}

/** vCPU0 on pCPU0 sends virtual SGI 1 to vCPU1 running on pCPU1. */
const vipiPath: PathDef["run"] = (variant, reps, rng, profile) => {
  const starts: number[] = [];
  const times = Array.from({ length: reps }, (_, k) => START + k * PERIOD + rng.below(JITTER));
  const sender: GuestProgram = function* (g) {
    for (const t of times) {
      while (g.ctx.clock < t) yield* g.work(Math.min(200, t - g.ctx.clock));
      starts.push(g.ctx.clock);
      yield* gic_raise_softirq(g, 1 << 1, 1);
    }
    yield* computeForever(g);
  };
  const b = system(variant, profile, { pcpus: 2, programs: [sender, computeForever] });
  guestIrq(b.sys, { irq: 1, target: 1 });
  return finish(b, START + reps * PERIOD + 100_000, reps, (k) => starts[k], (k) => {
    const ix = b.ix();
    const c = new Chain();
    const t0 = starts[k];
    c.at(t0, "hypervisor entry", "guest SGIR write");
    const n = b.names;
    const cl = ix.first(0, t0!, isFn("fn-begin", n.foldLrs));
    if (cl !== undefined && cl.ts < ix.first(0, t0!, isFnAny("fn-begin", n.inject))!.ts) {
      c.at(cl.ts, "LR clean-up", n.foldLrs);
      c.at(ix.first(0, cl.ts, isFn("fn-end", n.foldLrs))?.ts, "trap emulation", `${n.foldLrs} end`);
    } else {
      // nothing to fold (the new vGIC's empty ap_list): the emulation
      // starts right after the exception entry
      c.at(t0! + b.sys.machine.cycles.el2Entry, "trap emulation", "exception entry end");
    }
    const ib = ix.first(0, t0!, isFnAny("fn-begin", n.inject))?.ts;
    c.at(ib, "injection", n.inject[0]!);
    const { handler } = b.virtual(c, 1, 0, ib!, 1);
    return { handler: c.sample(handler) };
  });
};

/** A guest GICD_TYPER read, trapped and emulated, round trip. */
const trapPath: PathDef["run"] = (variant, reps, rng, profile) => {
  const spans: Array<[number, number]> = [];
  const times = Array.from({ length: reps }, (_, k) => START + k * 5_000 + rng.below(JITTER));
  const reader: GuestProgram = function* (g) {
    for (const t of times) {
      while (g.ctx.clock < t) yield* g.work(Math.min(200, t - g.ctx.clock));
      const t0 = g.ctx.clock;
      yield* g.readDist(GICD.TYPER);
      spans.push([t0, g.ctx.clock]);
    }
    yield* computeForever(g);
  };
  const b = system(variant, profile, { pcpus: 1, programs: [reader] });
  return finish(b, START + reps * 5_000 + 50_000, reps, (k) => spans[k]?.[0], (k) => {
    const ix = b.ix();
    const [t0, t1] = spans[k] ?? [];
    if (t0 === undefined || t1 === undefined) throw new MilestoneError("the read did not return");
    const c = new Chain();
    c.at(t0, "hypervisor entry", "guest GICD read");
    const n = b.names;
    const em = ix.first(0, t0, isFn("fn-begin", n.mmioRead));
    const cl = ix.first(0, t0, isFn("fn-begin", n.foldLrs));
    if (cl !== undefined && cl.ts < em!.ts) {
      c.at(cl.ts, "LR clean-up", n.foldLrs);
      c.at(ix.first(0, cl.ts, isFn("fn-end", n.foldLrs))?.ts, "trap emulation", `${n.foldLrs} end`);
    } else {
      c.at(t0 + b.sys.machine.cycles.el2Entry, "trap emulation", "exception entry end");
    }
    c.at(em?.ts, "emulation", n.mmioRead);
    c.at(ix.first(0, em!.ts, isFn("fn-end", n.mmioRead))?.ts, "hypervisor exit", "emulation end");
    const gi = ix.first(0, em!.ts, isFn("fn-begin", n.flushLrs));
    if (gi !== undefined && gi.ts < t1) {
      c.at(gi.ts, "gic_inject", n.flushLrs);
      c.at(ix.first(0, gi.ts, isFn("fn-end", n.flushLrs))?.ts, "return to guest", `${n.flushLrs} end`);
    }
    return { roundtrip: c.sample(t1) };
  });
};

/** vCPU0's handler of the SPI moves it to vCPU1 (ITARGETSR write) before
 *  its EOI; the device raises it again a varied time later. From the write
 *  to the handler entry on vCPU1. One fresh system per repetition. */
const migratePath: PathDef["run"] = (variant, reps, rng, profile) => {
  const out: RepResult[] = [];
  let global: { outcome: Outcome; note: string } | undefined;
  for (let k = 0; k < reps; k++) {
    const b = system(variant, profile, { pcpus: 2, programs: [computeForever, computeForever], routed: [SPI] });
    guestIrq(b.sys, { irq: SPI, target: 0 });
    const first = START + rng.below(JITTER);
    const again = rng.below(JITTER);
    let w0 = -1, w1 = -1, raise2 = -1;
    b.sys.hyp.guests[0]!.action = function* (g, iar) {
      if ((iar & 0x3ff) !== SPI || w0 >= 0) return;
      w0 = g.ctx.clock;
      yield* g.writeDist(GICD.ITARGETSR + SPI, 1 << 1, 1);
      w1 = g.ctx.clock;
      raise2 = w1 + again;
      g.ctx.machine.at(raise2, "device", (m) => { m.setLine(SPI, 1); m.setLine(SPI, 0); });
    };
    b.sys.machine.at(first, "device", (m) => { m.setLine(SPI, 1); m.setLine(SPI, 0); });
    const r = finish(b, first + 200_000, 1, (k) => (k === 0 ? first : undefined), () => {
      if (w0 < 0) throw new MilestoneError("the first interrupt never reached the handler");
      const c = new Chain();
      c.at(w0, "ITARGETSR trap", "guest ITARGETSR write");
      c.at(w1, "EOI, until raised again", "ITARGETSR write returns");
      const { src, ib } = b.physical(c, SPI, raise2);
      const { handler } = b.virtual(c, SPI, src, ib, 1);
      return { handler: c.sample(handler) };
    });
    out.push(r.reps[0]!);
    if (r.global !== undefined) global ??= r.global;
  }
  return global === undefined ? { reps: out } : { reps: out, global };
};

/** Six SPIs at one vCPU with four list registers, raised within a few
 *  hundred cycles: the latency of those that waited on lr_pending. */
const overflowPath: PathDef["run"] = (variant, reps, rng, profile) => {
  const irqs = [40, 41, 42, 43, 44, 45];
  const b = system(variant, profile, { pcpus: 1, programs: [computeForever], routed: irqs });
  for (const irq of irqs) guestIrq(b.sys, { irq, target: 0 });
  const raises: number[][] = [];
  for (let k = 0; k < reps; k++) {
    const base = START + k * PERIOD + rng.below(JITTER);
    raises.push(irqs.map((irq) => {
      const t = base + rng.below(300);
      b.sys.machine.at(t, "device", (m) => { m.setLine(irq, 1); m.setLine(irq, 0); });
      return t;
    }));
  }
  // a repetition's cause: the first of its six raises
  const r = finish(b, START + reps * PERIOD + 100_000, reps, (k) => (k < reps ? Math.min(...raises[k]!) : undefined), (k) => {
    const got: Partial<Record<string, Sample>> = {};
    // the samples of one repetition: each interrupt that waited
    irqs.forEach((irq, i) => {
      const c = new Chain();
      const { src, ib } = b.physical(c, irq, raises[k]![i]!);
      const { handler, waited } = b.virtual(c, irq, src, ib, 0);
      if (waited || c.ms.some(([, s]) => s === "waiting on lr_pending")) got[`handler#${i}`] = c.sample(handler);
    });
    return got;
  });
  return r;
};

export const PATHS: PathDef[] = [
  {
    id: "spi-running", title: "physical SPI, target vCPU running on the receiving pCPU",
    ends: [{ id: "handler", title: "-> handler entry" }, { id: "eoi", title: "-> guest EOI (completion)" }],
    run: spiPath("local"),
  },
  {
    id: "spi-kick", title: "physical SPI, target vCPU running on another pCPU (kick)",
    ends: [{ id: "handler", title: "-> handler entry" }, { id: "eoi", title: "-> guest EOI (completion)" }],
    run: spiPath("kick"),
  },
  {
    id: "spi-wfi", title: "physical SPI, target vCPU idle in WFI",
    ends: [{ id: "handler", title: "-> handler entry" }, { id: "eoi", title: "-> guest EOI (completion)" }],
    run: spiPath("wfi"),
  },
  {
    id: "virq-completion", title: "virtual IRQ completion: guest EOI of a HW list register (no trap)",
    ends: [{ id: "completion", title: "", published: (p) => published(p, "virqCompletion", "Virtual IRQ Completion") }],
    run: (variant, reps, rng, profile) => spiPath("local")(variant, reps, rng, profile),
  },
  {
    id: "virtual-ipi", title: "virtual IPI: GICD_SGIR write (trap) -> target vCPU's handler entry",
    ends: [{ id: "handler", title: "" }], run: vipiPath,
  },
  {
    id: "trap", title: "interrupt controller trap: guest GICD_TYPER read, round trip",
    ends: [{ id: "roundtrip", title: "", published: (p) => published(p, "mmioTrap", "Interrupt Controller Trap") }],
    run: trapPath,
  },
  {
    id: "migration", title: "migration: ITARGETSR write (SPI in the old vCPU's LR) -> next delivery on the new vCPU",
    ends: [{ id: "handler", title: "" }], run: migratePath,
  },
  {
    id: "lr-overflow", title: "list-register overflow: 6 SPIs, 4 LRs; interrupts that waited on lr_pending",
    ends: [{ id: "handler", title: "raise -> handler entry" }], run: overflowPath,
  },
];

function published(p: CostProfile, cost: "virqCompletion" | "mmioTrap" | "hypercall", name: string): Published {
  return { name: `Dall et al., ISCA 2016, Table II, Xen ARM: ${name}`, cycles: p.costs[cost].cycles, source: p.costs[cost].source };
}

// ---- running

export function runLatencyBench(opts: LatencyOptions & { profile: CostProfile }): LatencyResult {
  const variants = opts.variants ?? allVariants().map((v) => v.name);
  const reps = opts.reps ?? 200;
  const seed = opts.seed ?? 1;
  const profile = opts.profile;
  const paths: PathResult[] = [];
  for (const def of PATHS) {
    if (opts.paths !== undefined && !opts.paths.includes(def.id)) continue;
    const pathReps = def.id === "migration" ? Math.max(1, Math.min(reps, MIGRATION_REPS)) : reps;
    // the same seed for every variant: the same causes at the same times
    const runs = variants.map((variant) => ({ variant, ...def.run(variant, pathReps, new Rng(seed * 1_000_003 + PATHS.indexOf(def)), profile) }));
    for (const end of def.ends) {
      for (const { variant, reps: results, global } of runs) {
        const samples: Sample[] = [];
        for (const r of results) {
          for (const [k, s] of Object.entries(r.samples)) if (s !== undefined && (k === end.id || k.startsWith(end.id + "#"))) samples.push(s);
        }
        const failures = results.filter((r) => r.failure !== undefined);
        let outcome: Outcome = "ok";
        let note: string | undefined;
        if (global !== undefined) {
          outcome = global.outcome;
          note = global.note;
        } else if (failures.length > 0) {
          const f = failures[0]!.failure!;
          outcome = f.outcome;
          note = `${failures.length} of ${results.length} repetitions: ${f.note}`;
        }
        const id = def.ends.length > 1 ? `${def.id}/${end.id}` : def.id;
        const title = end.title === "" ? def.title : `${def.title} ${end.title}`;
        const measured = results.filter((r) => r.failure === undefined).length;
        const res: PathResult = { path: id, title, variant, outcome, reps: results.length, measured, sampled: samples.length, stages: stageSummaries(samples) };
        if (note !== undefined) res.note = note;
        if (samples.length > 0) res.total = summarize(samples.map((s) => s.total));
        if (end.published !== undefined) res.published = end.published(profile);
        if (opts.keepSamples) res.samples = samples;
        paths.push(res);
      }
    }
  }
  return {
    reps, seed, variants, paths,
    notModelled: [{
      path: "hypercall", title: "hypercall round trip", published: published(profile, "hypercall", "Hypercall"),
      reason: "not modelled: the model has no hypercall path (guests here only trap GICD accesses and WFI)",
    }],
  };
}

function stageSummaries(samples: Sample[]): StageSummary[] {
  const order: string[] = [];
  for (const s of samples) for (const [st] of s.stages) if (!order.includes(st)) order.push(st);
  return order.map((stage) => {
    const v = samples.map((s) => s.stages.find(([n]) => n === stage)?.[1] ?? 0);
    return { stage, ...summarize(v) };
  });
}

// ---- output

const n0 = (x: number) => Math.round(x).toString();

export function formatLatency(r: LatencyResult, profileName: string): string {
  const lines: string[] = [];
  lines.push(`modelled cycles, profile ${profileName}; ${r.reps} repetitions per path (migration: at most 50), seed ${r.seed}`);
  lines.push("breakdown: mean cycles per stage, in path order (the means add up to the mean total)");
  let last = "";
  for (const p of r.paths) {
    if (p.path !== last) {
      lines.push("");
      lines.push(`${p.title}  [${p.path}]`);
      lines.push(`  ${"variant".padEnd(10)} ${"median".padStart(7)} ${"p99".padStart(7)} ${"max".padStart(7)}${p.published ? "  published" : ""}`);
      last = p.path;
    }
    const pub = p.published ? `  ${p.published.cycles} (${p.published.name.replace(/^Dall et al\., ISCA 2016, Table II, Xen ARM: /, "Dall et al. 2016: ")})` : "";
    if (p.outcome !== "ok" || p.total === undefined) {
      lines.push(`  ${p.variant.padEnd(10)} ${p.outcome.toUpperCase()}: ${p.note ?? ""}`);
      continue;
    }
    lines.push(`  ${p.variant.padEnd(10)} ${n0(p.total.median).padStart(7)} ${n0(p.total.p99).padStart(7)} ${n0(p.total.max).padStart(7)}${pub}`);
    lines.push(`  ${"".padEnd(10)} ${p.stages.map((s) => `${s.stage} ${n0(s.mean)}`).join(", ")}; mean total ${n0(p.total.mean)}`);
  }
  lines.push("");
  for (const m of r.notModelled) lines.push(`${m.title}: published ${m.published.cycles} (${m.published.name}); ${m.reason}`);
  return lines.join("\n");
}
