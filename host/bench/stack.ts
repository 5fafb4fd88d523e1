// Whole-stack throughput: physical SPIs raised by devices, taken by the
// hypervisor (do_IRQ, injection into a list register), acknowledged and
// deactivated by the guest through GICV, the LR folded at the next entry.
// Reported as completed injections per wall-clock second with the `time`
// scheduler, median of several runs. A run that did not get there (the
// design deadlocked, threw, or lost interrupts) gives no figure: the bench
// reports what happened instead.

import { buildSystem } from "../xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_unmask_irq } from "../guest/driver.ts";
import type { GuestCpu } from "../guest/guest.ts";
import type { Co } from "../sim/api.ts";
import type { RunResult } from "../sim/machine.ts";
import { runFailure, type Failure } from "./outcome.ts";
import { DEFAULT_RUNS, median } from "./stats.ts";

export interface StackRate {
  variant: string;
  pcpus: number;
  outcome: "ok";
  /** completed injections (guest EOI) per wall second: median, min, max */
  median: number;
  min: number;
  max: number;
  runs: number;
  injections: number;
  /** completed injections a run, per vCPU (each has its own SPI) */
  perVcpu: number[];
  /** simulated cycles per wall second */
  cyclesPerSecond: number;
}

/** A stack bench whose run did not do what the bench measures: no figure. */
export interface StackFailure extends Failure {
  variant: string;
  pcpus: number;
  /** the run that failed: 0 is the warm-up, 1 the first timed run */
  run: number;
}

export type StackResult = StackRate | StackFailure;

/** The stack bench's pCPUs (and vCPUs, one pinned on each). */
export const STACK_PCPUS = 4;

/** One run: `pcpus` pinned vCPUs, one edge SPI per vCPU firing every
 *  `period` cycles, for `cycles` simulated cycles after boot. The boot vCPU
 *  initialises the distributor and then routes and unmasks every SPI (as
 *  Linux's boot CPU does before it starts the secondaries), so no vCPU's
 *  configuration races the distributor's initialisation. */
export function stackRun(variant: string, pcpus: number, cycles: number, period = 4000, lockdep = true) {
  const spis = Array.from({ length: pcpus }, (_, i) => 40 + i);
  let completed = 0;
  const perVcpu = new Array<number>(pcpus).fill(0);
  const sys = buildSystem({
    variant, pcpus, instantBoot: true, lockdep, routed: spis.map((irq) => ({ irq, edge: true })),
    programs: spis.map((_irq, i) => function* (g: GuestCpu): Co {
      if (i === 0) {
        yield* gic_dist_init(g);
        for (let k = 0; k < spis.length; k++) {
          yield* gic_set_affinity(g, spis[k]!, k);
          yield* gic_unmask_irq(g, spis[k]!);
        }
      }
      yield* gic_cpu_init(g);
      for (;;) yield* g.wfi();
    }),
  });
  sys.vgic.observer.completed = (_irq, v) => { completed++; perVcpu[v.vcpu_id]!++; };
  const boot = 400_000;
  // edges per device, and those that found the SPI still pending at the
  // distributor (an edge then sets nothing: the GIC merges the two)
  const raised = new Array<number>(pcpus).fill(0);
  const merged = new Array<number>(pcpus).fill(0);
  // each device keeps one event in flight: it schedules its next edge
  spis.forEach((irq, i) => {
    const fire = (t: number) => sys.machine.at(t, "dev", (m) => {
      raised[i]!++;
      if (m.gic.isPending(0, irq)) merged[i]!++;
      m.setLine(irq, 1);
      m.setLine(irq, 0);
      if (t + period < boot + cycles) fire(t + period);
    });
    fire(boot + irq);
  });
  const t0 = process.hrtime.bigint();
  const end = sys.machine.run({ until: boot + cycles });
  const ns = Number(process.hrtime.bigint() - t0);
  // (perVcpu: the timed run's; done: counted on, through a drain)
  return { completed, perVcpu: [...perVcpu], done: perVcpu, raised, merged, spis, ns, cycles: boot + cycles, sys, end };
}

/** Whether a run measured what the bench says: it ran to its end (no
 *  deadlock, no exception, not stopped early), and, once the run has been
 *  let drain (untimed: the devices have stopped), every edge a device
 *  raised was completed by the guest or merged into one still pending at
 *  the distributor, and no SPI is left pending or active. (Counting what
 *  was pending or active at the timed run's end as in flight let a design
 *  that dropped an injection pass: its SPI stays active for good, and every
 *  later edge merges into the pending one behind it.) The drain changes no
 *  figure: the rate is the timed run's. */
export function stackRunFailure(run: ReturnType<typeof stackRun>): Failure | undefined {
  const end: RunResult = run.end;
  const f = runFailure(end);
  if (f !== undefined) return f;
  if (end.reason !== "until") {
    return { outcome: "error", note: `the run ended (${end.reason}) at cycle ${Math.min(...end.clocks)}, before cycle ${run.cycles}` };
  }
  const drained = run.sys.machine.run({ until: run.cycles + STACK_DRAIN });
  const g = runFailure(drained);
  if (g !== undefined) return { ...g, note: `while draining after the timed run: ${g.note}` };
  const gic = run.sys.gic;
  const wrong: string[] = [];
  let lost = 0;
  run.spis.forEach((irq, v) => {
    const held = (gic.isPending(0, irq) ? 1 : 0) + (gic.isActive(0, irq) ? 1 : 0);
    const missing = run.raised[v]! - run.merged[v]! - run.done[v]!;
    if (missing === 0 && held === 0) return;
    if (missing > 0) lost += missing;
    const left = held === 0 ? "" : `, still ${[gic.isPending(0, irq) ? "pending" : "", gic.isActive(0, irq) ? "active" : ""].filter(Boolean).join(" and ")} ${STACK_DRAIN} cycles after the devices stopped`;
    wrong.push(`vCPU${v}: SPI ${irq} raised ${run.raised[v]} times (${run.merged[v]} merged), completed ${run.done[v]}${left}`);
  });
  if (wrong.length === 0) return undefined;
  return { outcome: lost > 0 ? "lost" : "error", note: wrong.join("; ") };
}

/** Cycles a run is let drain after its timed part before it is judged:
 *  far beyond an injection's latency on the stack's pinned vCPUs. */
const STACK_DRAIN = 2_000_000;

export function runStackBench(opts: { variant?: string; pcpus?: number; cycles?: number; runs?: number; period?: number } = {}): StackResult {
  const variant = opts.variant ?? "xen-4.9";
  const pcpus = opts.pcpus ?? STACK_PCPUS;
  const cycles = opts.cycles ?? 40_000_000;
  const runs = opts.runs ?? DEFAULT_RUNS.stack;
  const period = opts.period ?? 4000;
  const rates: number[] = [];
  let injections = 0, cps = 0;
  let perVcpu: number[] = [];
  // run 0 is the warm-up, checked like the others
  for (let r = 0; r <= runs; r++) {
    const run = stackRun(variant, pcpus, r === 0 ? cycles / 10 : cycles, period);
    const failed = stackRunFailure(run);
    if (failed !== undefined) return { variant, pcpus, ...failed, run: r };
    if (r === 0) continue;
    // every vCPU has a device: one that handled nothing means the bench
    // measured less than it says
    const idle = run.perVcpu.flatMap((n, v) => (n === 0 ? [v] : []));
    if (idle.length > 0) throw new Error(`stack bench: vCPU ${idle.join(", ")} completed no injection (per vCPU: ${run.perVcpu.join(", ")})`);
    rates.push(run.completed / (run.ns / 1e9));
    injections = run.completed;
    perVcpu = run.perVcpu;
    cps = run.cycles / (run.ns / 1e9);
  }
  rates.sort((a, b) => a - b);
  return { variant, pcpus, outcome: "ok", median: median(rates), min: rates[0]!, max: rates[rates.length - 1]!, runs, injections, perVcpu, cyclesPerSecond: cps };
}

export function formatStackRate(r: StackResult): string {
  const what = `physical SPI -> guest EOI, ${r.variant}, ${r.pcpus} pCPUs, time scheduler`.padEnd(70);
  if (r.outcome !== "ok") return `${what} ${r.outcome.toUpperCase()} in ${r.run === 0 ? "the warm-up run" : `timed run ${r.run}`}: ${r.note}`;
  return what +
    ` ${(r.median / 1e3).toFixed(1).padStart(7)} k/s  (min ${(r.min / 1e3).toFixed(1)}, max ${(r.max / 1e3).toFixed(1)}, ${r.runs} runs;` +
    ` ${r.injections} injections a run (per vCPU ${r.perVcpu.join("/")}); ${(r.cyclesPerSecond / 1e6).toFixed(0)} M simulated cycles/s)`;
}
