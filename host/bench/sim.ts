// Machine micro-benchmarks: scheduler steps per wall-second, and the
// machine's overhead per preemption point, i.e. the time a step costs beyond
// resuming the same generator in a bare loop (V8's generator resume is the
// floor; the machine adds picking, clock and IRQ checks, schedule recording).
// Each figure is the median of several timed runs in one process. Not
// asserted by tests: wall-clock rates drift on shared machines.
//
// Run: vgic bench --sim

import { Gic } from "../hw/gic.ts";
import type { Co, SchedPoint } from "../sim/api.ts";
import { Machine, type PCpu } from "../sim/machine.ts";
import { defaultProfile } from "../sim/profile.ts";
import { Sched, type Scheduler } from "../sim/sched.ts";
import { SpinLock, spin_lock, spin_unlock } from "../sim/lock.ts";
import { DEFAULT_RUNS, median as medianOf } from "./stats.ts";

export interface SimRate {
  name: string;
  /** steps (or generator resumes) per second: median, min, max */
  median: number;
  min: number;
  max: number;
  /** nanoseconds per step at the median */
  nsPerStep: number;
  runs: number;
}

export interface SimBench {
  rates: SimRate[];
  /** machine ns per step minus bare-generator ns per resume (median runs) */
  overheadNsPerPoint: number;
}

const P: SchedPoint = Object.freeze({ label: "p" });

function* body(c: PCpu): Co {
  for (;;) {
    c.clock += 1;
    yield P;
  }
}

function median(name: string, steps: number, runs: number, once: () => void): SimRate {
  once(); // warm up the JIT
  const rates: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = process.hrtime.bigint();
    once();
    const ns = Number(process.hrtime.bigint() - t0);
    rates.push(steps / (ns / 1e9));
  }
  rates.sort((a, b) => a - b);
  const med = medianOf(rates);
  return { name, median: med, min: rates[0]!, max: rates[rates.length - 1]!, nsPerStep: 1e9 / med, runs };
}

function machineRun(cpus: number, scheduler: () => Scheduler, steps: number, prog: (m: Machine) => (c: PCpu) => Co): () => void {
  return () => {
    const m = new Machine({ gic: Gic.create({ cpus }), profile: defaultProfile(), scheduler: scheduler() });
    const p = prog(m);
    for (let i = 0; i < cpus; i++) m.spawn(i, "loop", p);
    const r = m.run({ maxSteps: steps });
    if (r.reason !== "maxSteps") throw new Error(`bench run ended with ${r.reason}`);
  };
}

export function runSimBench(opts: { steps?: number; runs?: number } = {}): SimBench {
  const steps = opts.steps ?? 1_000_000;
  const runs = opts.runs ?? DEFAULT_RUNS.sim;
  const rates: SimRate[] = [];

  // The floor: two generators resumed alternately by a bare loop.
  const bare = median("bare generator resume (2 generators, no machine)", steps, runs, () => {
    const fake = [{ clock: 0 }, { clock: 0 }] as unknown as PCpu[];
    const gens = [body(fake[0]!), body(fake[1]!)];
    for (let i = 0; i < steps; i++) gens[i & 1]!.next();
  });
  rates.push(bare);
  const one = median("machine, 1 pCPU, time scheduler (no decisions)", steps, runs, machineRun(1, Sched.time, steps, () => body));
  rates.push(one);
  const two = median("machine, 2 pCPUs, time scheduler (a decision per step)", steps, runs, machineRun(2, Sched.time, steps, () => body));
  rates.push(two);
  rates.push(median("machine, 4 pCPUs, random scheduler", steps, runs, machineRun(4, () => Sched.random(1), steps, () => body)));
  rates.push(median("machine, 2 pCPUs, spin_lock/spin_unlock per 2 steps (lockdep on)", steps, runs,
    machineRun(2, Sched.time, steps, (m) => {
      const locks = [new SpinLock(m, "a", "a0"), new SpinLock(m, "a", "a1")];
      return function* (c: PCpu): Co {
        const l = locks[c.id]!;
        for (;;) {
          yield* spin_lock(c, l);
          yield* spin_unlock(c, l);
        }
      };
    })));
  return { rates, overheadNsPerPoint: two.nsPerStep - bare.nsPerStep };
}

export function formatSimBench(b: SimBench): string {
  const lines = b.rates.map((r) =>
    `${r.name.padEnd(70)} ${(r.median / 1e6).toFixed(2).padStart(7)} M/s  (${r.nsPerStep.toFixed(1)} ns/step; min ${(r.min / 1e6).toFixed(2)}, max ${(r.max / 1e6).toFixed(2)}, ${r.runs} runs)`);
  lines.push(`machine overhead per preemption point: ${b.overheadNsPerPoint.toFixed(1)} ns (2-pCPU time-scheduler step minus bare resume)`);
  return lines.join("\n");
}
