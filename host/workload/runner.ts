// Runs a workload under one vGIC design: builds the system, the devices, the
// guest and the accounting, runs the machine in windows (progress, the
// timeline), and turns what happened into a JSON-friendly result. The result
// is deterministic in the workload, the variant and the seed; wall-clock
// figures are kept apart (perf).

import { buildSystem, type System } from "../xen/system.ts";
import { allVariants, variantNamed } from "../xen/variants.ts";
import { isOldVgic } from "../xen/design.ts";
import type { VgicStats } from "../xen/vgic.ts";
import { VTIMER_PPI } from "../xen/vgic.ts";
import type { RunResult, Contention, WaitEdge } from "../sim/machine.ts";
import { Rng } from "../sim/rng.ts";
import { defaultProfile, loadProfile, profilePath } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import type { LockBarrier, MemoryModel, MemoryStats } from "../sim/memory.ts";
import { checkRun, checkVgic, livelockAtEnd, strandedActive, type Finding } from "../check/vgic.ts";
import { pendingNotTaken } from "../check/distributor.ts";
import { SpiSource, privateKey, spiKey } from "../guest/devices.ts";
import type { VirtTimer } from "../xen/vtimer.ts";
import { WorkloadGuest, type GuestIpi, type GuestSpi } from "../guest/workload-guest.ts";
import { Accounting, type Counts, type SourceCounts, type SourceInfo } from "./accounting.ts";
import type { Summary } from "./histogram.ts";
import { sourceName, type Workload } from "./schema.ts";
import type { ChromeWriter, TraceKind } from "../sim/trace.ts";

/** Timeline windows per run (also the progress granularity). */
export const WINDOWS = 100;
/** The guest must have booted within this many cycles. */
const BOOT_LIMIT = 500_000_000;
const BOOT_CHUNK = 1_000_000;
/** After the duration, devices and agents stop and the machine runs this
 *  many more cycles, so that instances in transit inside the hypervisor
 *  reach a guest handler or a state the accounting can see (assumption:
 *  200k cycles, ~80 us, is far above one injection's path). */
export const DRAIN = 200_000;

export interface LatencyResult extends Summary {
  /** non-empty buckets: [lowest cycles of the bucket, count] */
  histogram: Array<[number, number]>;
}

export interface SourceResult extends SourceCounts {
  name: string;
  type: "spi" | "ipi" | "timer";
  latency: { handler: Summary; eoi: Summary };
}

export interface WorkloadResult {
  workload: string;
  variant: string;
  seed: number;
  /** how the run ended: completed (its duration), deadlock, error, done (nothing left to run) */
  outcome: "completed" | "deadlock" | "error" | "done" | "boot-failed";
  /** boot: the guest has booted, devices start; end: devices stop; stoppedAt: after the drain (or the deadlock) */
  cycles: { hz: number; boot: number; end: number; stoppedAt: number };
  interrupts: Counts & { spurious: number; sources: SourceResult[]; accountingErrors: string[] };
  latency: { handler: LatencyResult; eoi: LatencyResult };
  /** per pCPU: cycles by category (guest, hyp, idle, spin:<lock class>) */
  pcpus: Array<{ pcpu: number; time: Record<string, number> }>;
  vcpus: Array<{ vcpu: number; pcpu: number; handled: number; spurious: number; trappedAccesses: number; wfis: number }>;
  vgic: VgicStats;
  guest: { affinityWrites: number; ipisSent: number };
  findings: Finding[];
  deadlock: WaitEdge[] | null;
  error: string | null;
  contention: Record<string, Contention>;
  timeline: {
    start: number;
    window: number;
    categories: string[];
    /** [window][pCPU][category] cycles charged in that window */
    pcpus: number[][][];
    /** [window][vCPU] interrupts delivered in that window */
    vcpus: number[][];
  };
  steps: number;
  /** with weak memory: the store buffers' counters */
  memory?: { model: "weak"; lockBarrier: LockBarrier } & MemoryStats;
  /** with weak memory, a design of the new vGIC's family: none of its own
   *  state was buffered (only its GICD writes), so the run says nothing
   *  about its barriers (as explore's weakStateless) */
  weakStateless?: true;
}

export interface Perf {
  variant: string;
  wallMs: number;
  /** simulated cycles per wall second */
  cyclesPerSecond: number;
  /** vGIC injections per wall second */
  injectionsPerSecond: number;
}

export interface RunOptions {
  variant: string;
  seed?: number | undefined;
  trace?: boolean;
  /** stream the trace as Chrome JSON to `write` as the run records it
   *  (only the kinds in `only`), keeping no events (implies trace) */
  traceTo?: { write: ChromeWriter; only?: ReadonlySet<TraceKind> | undefined };
  /** replaces the workload's duration (tests) */
  duration?: number;
  /** fraction done, 0..1, called once per window */
  onProgress?: (fraction: number) => void;
  /** cost profile, replacing machine.profile (`vgic run --profile FILE`) */
  profile?: CostProfile;
  /** weak memory: stores drain `drainCycles` after they are issued (time scheduler) */
  memory?: MemoryModel;
  lockBarrier?: LockBarrier;
  /** @internal the machine's fast path (default on; tests compare both) */
  fastPath?: boolean;
}

export interface RunOutput {
  result: WorkloadResult;
  perf: Perf;
  sys: System;
}

/** The variants a workload names: its own, or all. */
export function variantsFor(w: Workload, override?: string): string[] {
  const v = override ?? w.variant ?? "all";
  if (v === "all") return allVariants().map((x) => x.name);
  variantNamed(v); // throws for an unknown name
  return [v];
}

/** machine.profile names a bundled profile, never a path (the schema's
 *  pattern); a profile file comes through RunOptions.profile. */
function profileFor(name: string | undefined): CostProfile {
  if (name === undefined) return defaultProfile();
  return loadProfile(profilePath(name));
}

const BASE_CATEGORIES = ["guest", "hyp", "idle"];

export function runWorkload(w: Workload, opts: RunOptions): RunOutput {
  const seed = opts.seed ?? w.seed ?? 1;
  const duration = opts.duration ?? w.duration;
  const pcpus = w.machine.pcpus;
  const nv = w.guest.vcpus;
  const placement = w.guest.placement ?? Array.from({ length: nv }, (_, i) => i % pcpus);
  const load = Array.isArray(w.guest.load) ? w.guest.load : Array.from({ length: nv }, () => (w.guest.load as number | undefined) ?? 0);
  const rngFor = (i: number) => new Rng((seed + Math.imul(i + 1, 0x9e3779b9)) >>> 0);

  // sources and their accounting keys
  const infos: SourceInfo[] = [];
  const spiDevs: Array<{ d: Extract<Workload["devices"][number], { type: "spi" }>; src: SpiSource | null; idx: number }> = [];
  const ipis: GuestIpi[] = [];
  let tickDev: Extract<Workload["devices"][number], { type: "timer" }> | null = null;
  w.devices.forEach((d, i) => {
    if (d.type === "spi") {
      spiDevs.push({ d, src: null, idx: infos.length });
      infos.push({ name: sourceName(d), type: "spi", keys: [spiKey(d.irq)] });
    } else if (d.type === "ipi") {
      let targets = 0;
      if (d.to === "others") targets = ((1 << nv) - 1) & ~(1 << d.from);
      else for (const t of d.to) targets |= 1 << t;
      ipis.push({ sgi: d.sgi, from: d.from, targets, arrival: d.arrival, handlerCycles: d.handlerCycles ?? 0, rng: rngFor(i) });
      const keys: number[] = [];
      for (let t = 0; t < nv; t++) if ((targets >>> t) & 1) keys.push(privateKey(d.sgi, t));
      infos.push({ name: sourceName(d), type: "ipi", keys });
    } else {
      tickDev = d;
    }
  });
  // PPI 27 carries the tick and every other timer the guest programs (its
  // agents' deadlines, the end of an idle period), as Linux's hrtimers do;
  // each vCPU has its own
  infos.push({ name: tickDev !== null ? sourceName(tickDev) : "vtimer", type: "timer", keys: Array.from({ length: nv }, (_, v) => privateKey(VTIMER_PPI, v)) });
  const acct = new Accounting(infos, nv);

  const spis: GuestSpi[] = spiDevs.map(({ d, idx }, k) => {
    const src = new SpiSource(infos[idx]!.name, d.irq, d.trigger === "level", d.arrival, rngFor(1000 + k), acct);
    spiDevs[k]!.src = src;
    if (src.level) infos[idx]!.levelHigh = () => src.lineHigh;
    return {
      irq: d.irq, edge: d.trigger === "edge", priority: d.priority ?? 0xa0, group: d.group, target: d.target ?? 0,
      handlerCycles: d.handlerCycles ?? 0, source: src,
    };
  });
  const td = tickDev as Extract<Workload["devices"][number], { type: "timer" }> | null;
  const tick = Array.from({ length: nv }, (_, v) => (td !== null && (td.vcpus === undefined || td.vcpus.includes(v)) ? td.period : 0));

  let readyAt = -1;
  const timers: VirtTimer[] = [];
  const a = w.affinity;
  const guest = new WorkloadGuest({
    vcpus: nv, placement, spis, ipis, tick, tickHandlerCycles: td?.handlerCycles ?? 0, load,
    eoiSplit: w.guest.eoiMode === "split", timers, sink: acct,
    agent: a === undefined ? null : {
      vcpu: a.vcpu, irqs: a.irqs, arrival: a.arrival, policy: a.policy ?? "rotate", perPass: a.perPass ?? 1, rng: rngFor(2000),
    },
    onReady: (cycle) => {
      readyAt = cycle;
      // measurement begins here: the boot's run stops (else it ran on to
      // the end of its chunk, devices and all, before any window)
      sys.machine.requestStop();
      for (const s of spis) sys.machine.wake(s.source.thread!);
      for (const m of w.migrations ?? []) {
        sys.machine.at(cycle + m.at, "vcpu migrate", () => sys.hyp.requestMigration(sys.vgic.d.vcpu[m.vcpu]!, m.pcpu));
      }
    },
  });

  const sys = buildSystem({
    variant: opts.variant, pcpus, irqs: w.machine.irqs ?? 128, listRegisters: w.machine.listRegisters ?? 4,
    ...(w.machine.gicLatency ? { gic: { propagationDelay: w.machine.gicLatency } } : {}),
    placement, routed: spis.map((s) => ({ irq: s.irq, edge: s.edge })), programs: guest.programs,
    profile: opts.profile ?? profileFor(w.machine.profile), trace: opts.trace === true || opts.traceTo !== undefined,
    ...(opts.memory !== undefined ? { memory: opts.memory } : {}),
    ...(opts.lockBarrier !== undefined ? { lockBarrier: opts.lockBarrier } : {}),
    ...(opts.fastPath !== undefined ? { fastPath: opts.fastPath } : {}),
  });
  const { machine, vgic, gic } = sys;
  if (opts.traceTo !== undefined) machine.trace!.streamTo(opts.traceTo.write, opts.traceTo.only);
  // each interrupt instance's path is a flow in the trace
  if (machine.trace !== null) acct.flows = (stage, id, irq, vcpu, cycle) => machine.traceHere("irq-flow", stage, id, vcpu, `IRQ ${irq}`, cycle);
  for (const v of vgic.d.vcpu) {
    const key = privateKey(VTIMER_PPI, v.vcpu_id);
    v.virt_timer.onRaise = (cycle) => acct.raise(key, cycle);
    v.virt_timer.onWithdraw = () => acct.withdraw(key);
    timers.push(v.virt_timer);
  }
  for (const s of spis) s.source.spawn(machine);
  vgic.observer = {
    delivered: (irq, v, c) => acct.onDelivered(irq, v, c),
    completed: (irq, v, c) => acct.onCompleted(irq, v, c),
    dropped: (irq, v, reason, _cycle, injected) => acct.onDropped(irq, v, reason, injected),
    injecting: (irq, v, merges) => acct.onInjecting(irq, v, merges),
    merged: (irq, v) => acct.onMerged(irq, v),
    withdrawn: (irq, v) => acct.onWithdrawn(irq, v),
  };

  const t0 = performance.now();
  let r: RunResult;
  // boot: until every vCPU has configured its GIC
  let at = 0;
  let outcome: WorkloadResult["outcome"] = "completed";
  let drained = false;
  for (;;) {
    at += BOOT_CHUNK;
    r = machine.run({ until: at });
    // (the guest's readiness stops the run: "stopped", readyAt set)
    if (r.reason !== "until" || readyAt >= 0) break;
    if (at >= BOOT_LIMIT) { outcome = "boot-failed"; break; }
  }
  const boot = readyAt >= 0 ? readyAt : at;
  const end = boot + duration;
  const window = Math.max(1, Math.ceil(duration / WINDOWS));
  const cats = new Set(BASE_CATEGORIES);
  const prevTime = machine.cpus.map((c) => c.time());
  const samples: Array<Array<Record<string, number>>> = [];
  const vcpuSamples: number[][] = [];
  acct.deliveredByVcpu.fill(0);
  if (outcome === "completed" && (r.reason === "until" || r.reason === "stopped")) {
    for (let k = 1; k <= WINDOWS; k++) {
      r = machine.run({ until: Math.min(end, boot + k * window) });
      const now = machine.cpus.map((c) => c.time());
      samples.push(now.map((t, p) => {
        const d: Record<string, number> = {};
        for (const [c, v] of Object.entries(t)) { cats.add(c); d[c] = v - (prevTime[p]![c] ?? 0); }
        return d;
      }));
      now.forEach((t, p) => { prevTime[p] = t; });
      vcpuSamples.push(Array.from(acct.deliveredByVcpu));
      acct.deliveredByVcpu.fill(0);
      opts.onProgress?.(k / WINDOWS);
      if (r.reason !== "until") break;
    }
    if (r.reason === "until") {
      for (const s of spis) s.source.quiesce();
      for (const t of timers) t.quiesce();
      guest.quiesce();
      r = machine.run({ until: end + DRAIN });
      drained = r.reason === "until" || r.reason === "done";
    }
  }
  const wallMs = performance.now() - t0;
  if (drained) outcome = "completed";
  else if (r.reason === "deadlock") outcome = "deadlock";
  else if (r.reason === "error") outcome = "error";
  else if (r.reason === "done") outcome = "done";
  const stoppedAt = drained ? end + DRAIN : Math.max(...r.clocks);

  const vgicFindings = [...checkRun(r), ...checkVgic(vgic, gic), ...(r.reason === "error" ? [] : livelockAtEnd(vgic, gic))];
  // an edge left latched where no pCPU takes it is lost (as the fuzzer
  // judges it), and a list register left active that no handler will
  // deactivate is stuck, once the run has drained or had nothing left to
  // run (a deadlock or an exception stops a pCPU anywhere, in the middle of
  // a fold too)
  if (drained || outcome === "done") {
    vgicFindings.push(...pendingNotTaken(vgic, gic, spis.map((s) => s.irq)));
    vgicFindings.push(...strandedActive(vgic, gic, (v, irq) => sys.hyp.guests[v]!.handling === irq));
  }
  if (outcome === "done") {
    vgicFindings.push({ kind: "stalled", message: `nothing left to run at cycle ${stoppedAt}, before the workload's end at ${end}: every vCPU waits for an interrupt that will not come` });
  }
  // a deadlock or an exception ends a run early; "nothing left to run" is
  // not an excuse for what never arrived
  const early = outcome === "deadlock" || outcome === "error" || outcome === "boot-failed" ? outcome : null;
  const tally = acct.tally(vgic, gic, vgicFindings, early);
  const findings = [...vgicFindings, ...tally.findings];
  const spurious = sys.hyp.guests.reduce((n, g) => n + g.stats.spurious, 0);

  // time per pCPU, with the tail up to the stop: idle, or spinning
  const pcpuTimes = machine.cpus.map((c) => {
    const t = c.time();
    const tail = stoppedAt - c.clock;
    if (tail > 0) {
      const cat = c.waitingOn !== null ? c.waitingOn.spinCategory : c.threadState === "idle" ? "idle" : null;
      if (cat !== null) t[cat] = (t[cat] ?? 0) + tail;
    }
    for (const k of Object.keys(t)) cats.add(k);
    return { pcpu: c.id, time: t };
  });
  const categories = [...BASE_CATEGORIES, ...[...cats].filter((c) => !BASE_CATEGORIES.includes(c)).sort()];
  const hist = (h: typeof acct.handler): LatencyResult => ({ ...h.summary(), histogram: h.buckets() });

  const result: WorkloadResult = {
    workload: w.name,
    variant: vgic.variant,
    seed,
    outcome,
    cycles: { hz: machine.profile.hz, boot, end, stoppedAt },
    interrupts: {
      ...tally.total, spurious,
      sources: infos.map((s, i) => ({
        name: s.name, type: s.type, ...tally.bySource[i]!,
        latency: { handler: acct.handlerBySource[i]!.summary(), eoi: acct.eoiBySource[i]!.summary() },
      })),
      accountingErrors: tally.errors,
    },
    latency: { handler: hist(acct.handler), eoi: hist(acct.eoi) },
    pcpus: pcpuTimes,
    vcpus: sys.hyp.guests.map((g) => ({
      vcpu: g.v.vcpu_id, pcpu: g.v.processor, handled: g.stats.irqsHandled, spurious: g.stats.spurious,
      trappedAccesses: g.stats.trappedAccesses, wfis: g.stats.wfis,
    })),
    vgic: { ...vgic.stats },
    guest: { affinityWrites: guest.affinityWrites, ipisSent: guest.ipisSent },
    findings,
    deadlock: r.deadlock?.cycle ?? null,
    error: r.error ? `${r.error.thread}: ${r.error.message}` : null,
    contention: r.contention,
    timeline: {
      start: boot, window, categories,
      pcpus: samples.map((s) => s.map((d) => categories.map((c) => d[c] ?? 0))),
      vcpus: vcpuSamples,
    },
    steps: r.steps,
  };
  const mem = sys.machine.memory;
  if (mem !== null) {
    result.memory = { model: "weak", lockBarrier: mem.lockBarrier, ...mem.stats };
    if (!isOldVgic(sys.vgic)) result.weakStateless = true;
  }
  const secs = Math.max(wallMs, 1e-3) / 1000;
  const perf: Perf = {
    variant: vgic.variant, wallMs: Math.round(wallMs),
    cyclesPerSecond: Math.round(stoppedAt / secs), injectionsPerSecond: Math.round(vgic.stats.injections / secs),
  };
  machine.trace?.finishStream();
  return { result, perf, sys };
}
