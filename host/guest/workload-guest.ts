// A guest that runs an interrupt workload, modelled on Linux on GICv2: the
// boot vCPU initialises the distributor (gic_dist_init) and configures each
// device interrupt (gic_set_type, priority, group, gic_set_affinity,
// gic_unmask_irq), every vCPU initialises its CPU interface and unmasks the
// virtual timer PPI. Then each vCPU loops: run what is due (send IPIs through
// GICD_SGIR, an irqbalance-like pass rewriting ITARGETSR), compute for its
// share of the time, and otherwise program its timer for the next deadline
// and idle in WFI. Its IRQ handler (GuestCpu.handle_irq) acknowledges on
// GICV_IAR until 1023 and runs each interrupt's handler for its cost in
// cycles (a level device is acknowledged first): an SPI's or a PPI's before
// its EOI, an SGI's after it, as Linux completes an IPI before handle_IPI.

import type { Co } from "../sim/api.ts";
import type { Rng } from "../sim/rng.ts";
import { GICD } from "../hw/regs.ts";
import { VTIMER_PPI } from "../xen/vgic.ts";
import {
  gic_cpu_init, gic_dist_init, gic_raise_softirq, gic_set_affinity, gic_set_priority, gic_set_type, gic_unmask_irq,
} from "./driver.ts";
import type { GuestCpu, GuestProgram } from "./guest.ts";
import { arrivalGaps, privateKey, type ArrivalSpec, type RaiseSink, type SpiSource } from "./devices.ts";
import type { VirtTimer } from "../xen/vtimer.ts";

export interface GuestSpi {
  irq: number;
  edge: boolean;
  priority: number;
  group?: 0 | 1 | undefined;
  target: number;
  handlerCycles: number;
  source: SpiSource;
}

export interface GuestIpi {
  sgi: number;
  from: number;
  /** target vCPU mask */
  targets: number;
  arrival: ArrivalSpec;
  handlerCycles: number;
  rng: Rng;
}

export interface GuestAffinityAgent {
  vcpu: number;
  irqs: number[];
  arrival: ArrivalSpec;
  policy: "rotate" | "random";
  perPass: number;
  rng: Rng;
}

export interface GuestPlan {
  vcpus: number;
  /** pCPU of each vCPU (its virtual timer) */
  placement: number[];
  spis: GuestSpi[];
  ipis: GuestIpi[];
  agent: GuestAffinityAgent | null;
  /** periodic tick per vCPU (0: none) and its handler cost */
  tick: number[];
  tickHandlerCycles: number;
  /** fraction of each window a vCPU computes */
  load: number[];
  eoiSplit: boolean;
  /** each vCPU's virtual timer (PPI 27, virtualised by Xen) */
  timers: VirtTimer[];
  sink: RaiseSink;
  /** called once every vCPU has booted, with the cycle */
  onReady(cycle: number): void;
}

/** Window over which `load` is a fraction (assumption: 100k cycles, ~40 us
 *  at 2.4 GHz, short against a tick, long against a handler). */
export const LOAD_WINDOW = 100_000;

interface Task {
  due: number;
  gap: () => number;
  run(g: GuestCpu): Co;
}

/** The per-vCPU programs of a workload guest, and the hook that starts
 *  their timed work once every vCPU has booted. */
export class WorkloadGuest {
  readonly programs: GuestProgram[];
  /** interrupts moved by the agent, as the guest believes them targeted */
  readonly targets = new Map<number, number>();
  affinityWrites = 0;
  ipisSent = 0;
  private readonly tasks: Task[][];
  private booted = 0;
  private readyAt = -1;
  private readonly spiByIrq = new Map<number, GuestSpi>();
  private agentCursor = 0;

  constructor(readonly plan: GuestPlan) {
    for (const s of plan.spis) {
      this.spiByIrq.set(s.irq, s);
      this.targets.set(s.irq, s.target);
    }
    this.tasks = Array.from({ length: plan.vcpus }, () => []);
    plan.tick.forEach((period, v) => {
      if (period > 0) this.tasks[v]!.push({ due: Infinity, gap: () => period, run: function* () {} });
    });
    for (const ipi of plan.ipis) {
      const self = this;
      this.tasks[ipi.from]!.push({
        due: Infinity, gap: arrivalGaps(ipi.arrival, ipi.rng),
        *run(g) {
          for (let t = 0; t < plan.vcpus; t++) if ((ipi.targets >>> t) & 1) plan.sink.raise(privateKey(ipi.sgi, t), g.ctx.clock);
          self.ipisSent++;
          yield* gic_raise_softirq(g, ipi.targets, ipi.sgi);
        },
      });
    }
    const agent = plan.agent;
    if (agent !== null) {
      const self = this;
      this.tasks[agent.vcpu]!.push({
        due: Infinity, gap: arrivalGaps(agent.arrival, agent.rng),
        *run(g) { yield* self.balance(g, agent); },
      });
    }
    this.programs = Array.from({ length: plan.vcpus }, (_, v) => (g: GuestCpu) => this.main(g, v));
  }

  /** One irqbalance pass: move the next `perPass` interrupts. */
  private *balance(g: GuestCpu, a: GuestAffinityAgent): Co {
    const nv = this.plan.vcpus;
    for (let k = 0; k < a.perPass; k++) {
      const irq = a.irqs[this.agentCursor++ % a.irqs.length]!;
      const cur = this.targets.get(irq) ?? 0;
      const next = a.policy === "rotate" ? (cur + 1) % nv : (cur + 1 + a.rng.below(nv - 1)) % nv;
      this.targets.set(irq, next);
      this.affinityWrites++;
      yield* gic_set_affinity(g, irq, next);
    }
  }

  /** The guest's interrupt handler body for one acknowledged interrupt. */
  private *action(g: GuestCpu, iar: number): Co {
    const irq = iar & 0x3ff;
    let cost = 0;
    if (irq >= 32) {
      const s = this.spiByIrq.get(irq);
      if (s !== undefined) {
        if (!s.edge) s.source.ack(g.ctx);
        cost = s.handlerCycles;
      }
    } else if (irq === VTIMER_PPI) {
      cost = this.plan.tickHandlerCycles;
    } else if (irq < 16) {
      cost = this.plan.ipis.find((x) => x.sgi === irq)?.handlerCycles ?? 0;
    }
    if (cost > 0) yield* g.work(cost);
  }

  private *boot(g: GuestCpu, v: number): Co {
    g.eoiModeSplit = this.plan.eoiSplit;
    g.action = (gg, iar) => this.action(gg, iar);
    if (v === 0) yield* gic_dist_init(g);
    yield* gic_cpu_init(g);
    yield* gic_unmask_irq(g, VTIMER_PPI);
    if (v === 0) {
      for (const s of this.plan.spis) {
        if (s.edge) yield* gic_set_type(g, s.irq, true);
        yield* gic_set_priority(g, s.irq, s.priority);
        if (s.group !== undefined) yield* gic_set_group(g, s.irq, s.group);
        yield* gic_set_affinity(g, s.irq, s.target);
        yield* gic_unmask_irq(g, s.irq);
      }
    }
  }

  /** Stop sending IPIs and moving interrupts (the run is draining). */
  quiesce(): void { this.quiet = true; }
  private quiet = false;

  /** Called by a vCPU when it has booted; the last one starts the clock. */
  private ready(now: number): void {
    if (++this.booted < this.plan.vcpus) return;
    // vCPU 0 configures the interrupts last: it may finish after the others
    this.readyAt = now;
    for (let v = 0; v < this.plan.vcpus; v++) {
      for (const t of this.tasks[v]!) t.due = now + t.gap();
      // a computing vCPU that idled while waiting for the others starts now
      const next = Math.min(this.nextDue(v), this.plan.load[v]! > 0 ? now + 1 : Infinity);
      if (next !== Infinity) this.plan.timers[v]!.program(next, now);
    }
    this.plan.onReady(now);
  }

  private tickDue(v: number): number {
    const t = this.plan.tick[v]! > 0 ? this.tasks[v]![0] : undefined;
    return t === undefined ? Infinity : t.due;
  }

  private nextDue(v: number): number {
    let n = Infinity;
    for (const t of this.tasks[v]!) if (t.due < n) n = t.due;
    return n;
  }

  private *main(g: GuestCpu, v: number): Co {
    yield* this.boot(g, v);
    this.ready(g.ctx.clock);
    const load = this.plan.load[v]!;
    const timer = () => this.plan.timers[v]!;
    for (;;) {
      let now = g.ctx.clock;
      for (const t of this.tasks[v]!) {
        if (t.due > now || this.quiet) continue;
        yield* t.run(g);
        now = g.ctx.clock;
        t.due = Math.max(t.due + t.gap(), now + 1);
      }
      let next = this.readyAt < 0 ? Infinity : this.nextDue(v);
      if (load > 0 && this.readyAt >= 0) {
        const start = Math.floor(now / LOAD_WINDOW) * LOAD_WINDOW;
        const busyEnd = start + Math.round(load * LOAD_WINDOW);
        if (now < busyEnd) {
          // computing: due work is polled between slices; only the tick needs the timer
          const tickDue = this.tickDue(v);
          if (tickDue !== Infinity && tickDue > now) timer().program(tickDue, now);
          yield* g.work(Math.max(1, Math.min(busyEnd, next) - now));
          continue;
        }
        if (load < 1) next = Math.min(next, start + LOAD_WINDOW);
      }
      if (next !== Infinity && next > now) timer().program(next, now);
      yield* g.wfi();
    }
  }
}

/** GICD_IGROUPR bit of one interrupt (read-modify-write of its word). */
export function* gic_set_group(g: GuestCpu, irq: number, group: 0 | 1): Co {
  const off = GICD.IGROUPR + 4 * (irq >> 5);
  const w = yield* g.readDist(off);
  yield* g.writeDist(off, group ? w | (1 << (irq & 31)) : w & ~(1 << (irq & 31)));
}
