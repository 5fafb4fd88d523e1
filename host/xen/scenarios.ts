// The seed thread's situations as small programs over the machine and the
// vGIC. Each starts from the state the thread describes (an interrupt in a
// list register, on lr_pending, migrating), runs the guest operations and
// device interrupts that race, and is judged by the shared invariants plus
// what must have been delivered. The same scenario runs under any variant
// and any scheduler; the explorer (host/explore) searches their schedules.

import type { Co } from "../sim/api.ts";
import type { Machine, RunResult, Thread } from "../sim/machine.ts";
import type { Scheduler } from "../sim/sched.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import { GICD, GICV } from "../hw/regs.ts";
import type { GuestCpu } from "../guest/guest.ts";
import { checkRun, checkVgic, unscheduledAtEnd, type Finding } from "../check/vgic.ts";
import { buildSystem, type System, type SystemOptions } from "./system.ts";
import { guestCpuInterfaces, guestIrq, inListRegister, migrating, onLrPending, seededInstances } from "./setup.ts";

export interface ScenarioRun {
  sys: System;
  /** judge a finished run: the shared invariants plus the scenario's own */
  check(r: RunResult): Finding[];
  /** interrupts the guest handled, in order, as `irq@vCPU` */
  delivered: string[];
}

export interface Scenario {
  name: string;
  /** one line, in the thread's terms */
  summary: string;
  build(variant: string, scheduler: Scheduler, opts?: ScenarioOptions): ScenarioRun;
}

/** How a scenario's system is built besides its design and scheduler. */
export interface ScenarioOptions extends MemoryOptions {
  trace?: boolean;
  /** @internal the machine's fast path (MachineOptions.fastPath, default on) */
  fastPath?: boolean;
  /** cycles from a GIC line change to the pCPUs seeing it (none when absent) */
  gicLatency?: number;
}

const N = 40; // the interrupt that migrates
const M = 41; // a second interrupt of the same rank (IDs 32-63)
const K = 42; // interrupts occupying vCPU1's two list registers
const K2 = 43;

export function* trap(g: GuestCpu): Co {
  // any trapped access: the entry runs gic_clear_lrs, the exit gic_inject
  yield* g.readDist(GICD.TYPER);
}

/** A booted system for a scenario: instant boot, the guest's CPU
 *  interfaces on, the chosen design, scheduler and tracing. */
export function scenarioSystem(variant: string, scheduler: Scheduler, opts: ScenarioOptions,
  o: Omit<SystemOptions, "variant" | "scheduler" | "instantBoot" | "trace" | "memory" | "lockBarrier" | "replay">): System {
  // (a copy, then the scenario's settings: a literal spreading `o` among
  // other properties takes V8's slow path, microseconds once per schedule)
  const so: SystemOptions = Object.assign({}, o) as SystemOptions;
  so.variant = variant;
  so.scheduler = scheduler;
  so.instantBoot = true;
  so.trace = opts.trace ?? false;
  so.replay = true; // built once per explored schedule
  if (opts.memory !== undefined) so.memory = opts.memory;
  if (opts.lockBarrier !== undefined) so.lockBarrier = opts.lockBarrier;
  if (opts.fastPath !== undefined) so.fastPath = opts.fastPath;
  if (opts.gicLatency !== undefined && opts.gicLatency > 0) so.gic = { ...so.gic, propagationDelay: opts.gicLatency };
  const sys = buildSystem(so);
  guestCpuInterfaces(sys);
  return sys;
}

/** Common frame: build, record deliveries, judge with the shared checks. */
export function frame(sys: System, extra: (r: RunResult, delivered: string[]) => Finding[]): ScenarioRun {
  return new FramedRun(sys, extra);
}

// A class rather than an object literal with closures over the system: V8
// may pretenure an allocation site whose objects often survive a young
// collection, and a pretenured holder (dead in old space) then keeps every
// system built after it alive through young collections until the next full
// one: explore and fuzz, which build a system per schedule or case, spent a
// quarter of their time copying them.
class FramedRun implements ScenarioRun {
  readonly delivered: string[] = [];
  /** per SPI: instances the set-up placed on their way to a handler, physical
   *  acknowledges by the hypervisor (GICC_IAR) during the run, and instances
   *  the guest made pending itself (GICD_ISPENDR a design emulates) */
  private readonly sources = new Map<number, Sources>();
  constructor(readonly sys: System, private readonly extra: (r: RunResult, delivered: string[]) => Finding[]) {
    const delivered = this.delivered, sources = this.sources;
    for (const [irq, n] of seededInstances(sys)) if (irq >= 32) sourceOf(sources, irq).seeded += n;
    sys.vgic.observer.delivered = (irq, v) => {
      delivered.push(`${irq}@v${v.vcpu_id}`);
      if (irq >= 32) sourceOf(sources, irq).entries.push(v.vcpu_id);
    };
    sys.vgic.observer.dropped = (irq, v, reason) => delivered.push(`${irq}@v${v.vcpu_id}:dropped(${reason})`);
    sys.vgic.observer.physicalAck = (irq) => { if (irq >= 32) sourceOf(sources, irq).acks++; };
    sys.vgic.observer.guestPended = (irq) => { if (irq >= 32) sourceOf(sources, irq).pends++; };
  }

  check(r: RunResult): Finding[] {
    const f = checkRun(r);
    if (r.reason === "deadlock" || r.reason === "error") return f;
    // A run cut at its step limit has not ended: its state is not a final
    // one to judge, and a search that counted it as passing would call a
    // space exhausted that it never saw the end of.
    if (r.reason === "maxSteps") {
      f.push({ kind: "no-quiescence", message: `the run did not end within ${r.steps} steps (a livelock, or a scenario longer than the step limit): cut there, not judged` });
      return f;
    }
    for (const x of this.delivered) if (x.includes("dropped")) f.push({ kind: "dropped", message: `the design dropped an injection: ${x}` });
    f.push(...duplicates(this.sources));
    if (r.reason === "done") f.push(...unscheduledAtEnd(this.sys.vgic));
    return [...f, ...checkVgic(this.sys.vgic, this.sys.gic), ...this.extra(r, this.delivered)];
  }
}

/** An SPI's guest handler entries (the vCPU of each) and the instances
 *  behind them. */
interface Sources { entries: number[]; seeded: number; acks: number; pends: number }

function sourceOf(m: Map<number, Sources>, irq: number): Sources {
  let s = m.get(irq);
  if (s === undefined) m.set(irq, s = { entries: [], seeded: 0, acks: 0, pends: 0 });
  return s;
}

/** An SPI reaches the guest through an instance pending in the physical
 *  GIC, which the hypervisor acknowledges (GICC_IAR) before it injects it
 *  (do_IRQ), or through one the guest pended itself. Each guest handler
 *  entry takes one such instance: an edge latches one pending instance and
 *  a level one stays pending until acknowledged (IHI 0048B 1.4.2), and a
 *  HW list register deactivates the physical interrupt at the guest's EOI,
 *  so a level line still high is acknowledged again before it is injected
 *  again. More handler entries than instances is a delivery with nothing
 *  behind it: the guest handles an interrupt no device raised. */
function duplicates(sources: Map<number, Sources>): Finding[] {
  const out: Finding[] = [];
  for (const [irq, s] of sources) {
    const on = s.entries;
    const extra = on.length - s.seeded - s.acks - s.pends;
    if (extra <= 0) continue;
    const behind = [
      ...(s.seeded > 0 ? [`the scenario placed ${s.seeded} instance(s) on their way before the run`] : []),
      `the hypervisor acknowledged it ${s.acks} time(s) from the physical GIC`,
      ...(s.pends > 0 ? [`the guest pended it ${s.pends} time(s)`] : []),
    ];
    out.push({
      kind: "duplicate", irq,
      message: `IRQ ${irq} reached a guest handler ${on.length} time${on.length === 1 ? "" : "s"} (${on.map((k) => `v${k}`).join(", ")}) but ${behind.join(", ")}: ` +
        `${extra} handler entr${extra === 1 ? "y" : "ies"} with no interrupt behind ${extra === 1 ? "it" : "them"}`,
    });
  }
  return out;
}

export function expectDelivered(irq: number, delivered: string[]): Finding[] {
  return delivered.some((d) => d.startsWith(`${irq}@`) && !d.includes("dropped"))
    ? []
    : [{ kind: "lost", message: `IRQ ${irq} was raised but never reached a guest handler` }];
}

export function device(sys: System, at: number, irq: number): void {
  sys.machine.spawnThread(`device irq${irq}`, (t: Thread) => raiseEdge(t, irq), { clock: at });
}
function* raiseEdge(t: Thread, irq: number): Co {
  yield* t.point(`raise irq${irq}`);
  t.setLine(irq, 1);
  t.setLine(irq, 0);
}

/** The hypervisor's scheduler asks to move vCPU `vcpu` to `pcpu` at cycle
 *  `at` (a thread of its own, so the explorers choose when it lands). */
export function schedulerMoves(sys: System, at: number, vcpu: number, pcpu: number): void {
  sys.machine.spawnThread(`scheduler d1v${vcpu}`, (t: Thread) => requestMove(t, sys, vcpu, pcpu), { clock: at });
}
function* requestMove(t: Thread, sys: System, vcpu: number, pcpu: number): Co {
  yield* t.point(`vcpu_set_affinity d1v${vcpu}`);
  sys.hyp.requestMigration(sys.vgic.d.vcpu[vcpu]!, pcpu);
}

/** The guest waits (WFI) until `irq` reached a handler on some vCPU, at
 *  most `rounds` wake-ups: an interrupt still on its way is then not
 *  reported lost just because the guest program ended first. */
export function* waitDelivered(g: GuestCpu, irq: number, seen: () => readonly string[], rounds = 6): Co {
  for (let i = 0; i < rounds && !seen().some((d) => d.startsWith(`${irq}@`) && !d.includes("dropped")); i++) yield* g.wfi();
}

// The scenarios' guest programs and threads are generator functions of
// this module, handed over through arrow functions: a generator function
// created per build (a `function*` expression inside build) gets a hidden
// class of its own in V8's old space, which keeps it and the whole system
// its context reaches alive through young collections until a full one;
// the explorer builds a system per schedule, and spent a quarter of its
// time copying them.

function* rankAbbaVcpu0(g: GuestCpu): Co {
  yield* g.writeDist(GICD.ITARGETSR + M, 1 << 0, 1);
}

function* rankAbbaVcpu1(g: GuestCpu): Co {
  g.writeCpu(GICV.EOIR, N);
  yield* trap(g);
}

function* lrPendingMigrateVcpu0(g: GuestCpu): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 0, 1);
  for (let i = 0; i < 4; i++) { yield* g.work(2000); yield* trap(g); }
}

function* lrPendingMigrateVcpu1(g: GuestCpu): Co {
  yield* g.work(4000);
  for (let i = 0; i < 4; i++) { yield* g.work(2000); yield* trap(g); }
}

function* lrPendingMigrateAction(g: GuestCpu, iar: number): Co {
  if ((iar & 0x3ff) === K) yield* g.work(8000);
}

function* secondIrqLazyClearVcpu0(g: GuestCpu): Co {
  yield* g.work(3000);
  g.writeCpu(GICV.EOIR, N); // deactivates the physical SPI through the HW LR
  yield* g.work(30000); // no trap: the LR stays uncleared (lazy clearing)
  yield* trap(g);
  yield* g.work(5000);
}

function* secondIrqLazyClearVcpu1(g: GuestCpu): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 1, 1);
  yield* g.work(40000);
  yield* trap(g);
}

function* migrateReenableWindowVcpu0(g: GuestCpu): Co {
  yield* g.work(6000);
  g.writeCpu(GICV.EOIR, N);
  yield* g.work(30000);
  yield* trap(g);
  yield* g.work(5000);
}

function* migrateReenableWindowVcpu1(g: GuestCpu): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 1, 1);
  yield* g.writeDist(GICD.ICENABLER + 4, 1 << (N - 32));
  yield* g.writeDist(GICD.ISENABLER + 4, 1 << (N - 32));
  yield* g.work(40000);
  yield* trap(g);
}

function* itargetsrConcurrentVcpu0(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 1, 1);
  yield* g.work(4000);
  g.writeCpu(GICV.EOIR, N);
  yield* g.work(20000);
  yield* trap(g);
  yield* waitDelivered(g, N, seen);
}

function* itargetsrConcurrentVcpu1(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 0, 1);
  yield* g.work(30000);
  yield* trap(g);
  yield* waitDelivered(g, N, seen);
}

function* enableInjectRaceVcpu0(g: GuestCpu): Co {
  yield* g.writeDist(GICD.ICENABLER + 4, 1 << (N - 32));
  yield* g.writeDist(GICD.ISENABLER + 4, 1 << (N - 32));
  yield* g.work(20000);
  yield* trap(g);
}

function* enableInjectRaceVcpu1(g: GuestCpu, seen: () => readonly string[]): Co {
  for (let i = 0; i < 3; i++) { yield* g.work(5000); yield* trap(g); }
  yield* waitDelivered(g, N, seen);
}

function* vcpuMigrateInflightVcpu0(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 0, 1);
  yield* g.work(20000);
  yield* trap(g);
  yield* waitDelivered(g, N, seen);
}

function* vcpuMigrateInflightVcpu1(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.work(3000);
  g.writeCpu(GICV.EOIR, N);
  yield* g.work(3000);
  yield* trap(g);
  yield* waitDelivered(g, N, seen);
}

function* staleTargetInjectVcpu0(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 1, 1);
  yield* g.work(3000);
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 0, 1);
  yield* waitDelivered(g, N, seen);
}

function* affinityBarrierVcpu0(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.work(2000);
  g.writeCpu(GICV.EOIR, N); // deactivates the physical SPI through the HW LR
  yield* trap(g); // gic_clear_lrs folds the LR: the SPI leaves vCPU0
  yield* waitDelivered(g, N, seen);
}

function* affinityBarrierVcpu1(g: GuestCpu, seen: () => readonly string[]): Co {
  yield* g.work(1000);
  yield* waitDelivered(g, N, seen);
}

const AFFINITY_DEVICE = `device irq${N}`;
const affinityDevice = (m: Machine): Thread => m.threads.find((t) => t.name === AFFINITY_DEVICE)!;

/** The device fires once the SPI's affinity reaches pCPU1 in the
 *  distributor. A function of the module that finds the device through the
 *  machine: a closure over the system stored as the machine's hook was seen
 *  to keep every system built per schedule alive through young collections. */
function wakeOnAffinity(off: number, value: number, size: 1 | 2 | 4, at: number, m: Machine): void {
  const moved = size === 1 ? off === GICD.ITARGETSR + N && (value & 2) !== 0
    : off === GICD.ITARGETSR + (N & ~3) && ((value >>> (8 * (N & 3))) & 2) !== 0;
  if (moved) m.wake(affinityDevice(m), at);
}

function* affinityBarrierDevice(t: Thread): Co {
  yield* t.idle();
  t.setLine(N, 1);
  t.setLine(N, 0);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: "rank-abba",
    summary: "two IRQs of one rank: n MIGRATING in vCPU1's LR while pCPU0 writes ITARGETSR for m (rank then vgic) and pCPU1 clears its LRs (vgic then rank)",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [N, M],
        programs: [
          (g) => rankAbbaVcpu0(g),
          (g) => rankAbbaVcpu1(g),
        ],
      });
      guestIrq(sys, { irq: N, target: 1 });
      guestIrq(sys, { irq: M, target: 1 });
      inListRegister(sys, 1, N, 0, true);
      migrating(sys, N, 0);
      return frame(sys, () => []);
    },
  },
  {
    name: "lr-pending-migrate",
    summary: "migrate an SPI that waits on lr_pending (vCPU1's list registers are busy) to vCPU0; it must still be delivered",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        // Two LRs: with one, GICH_HCR.UIE's "at most one valid LR" holds
        // permanently and Xen's gic_inject re-arms it on every exit.
        routed: [N], listRegisters: 2,
        programs: [
          (g) => lrPendingMigrateVcpu0(g),
          (g) => lrPendingMigrateVcpu1(g),
        ],
      });
      guestIrq(sys, { irq: N, target: 1 });
      guestIrq(sys, { irq: K, target: 1, priority: 0x80 });
      guestIrq(sys, { irq: K2, target: 1, priority: 0x80 });
      inListRegister(sys, 1, K, 0, false);
      inListRegister(sys, 1, K2, 1, false);
      onLrPending(sys, 1, N);
      // vCPU1's handler for K runs long, keeping the only LR busy (active)
      sys.hyp.guests[1]!.action = (g, iar) => lrPendingMigrateAction(g, iar);
      return frame(sys, (_r, delivered) => expectDelivered(N, delivered));
    },
  },
  {
    name: "second-irq-lazy-clear",
    summary: "after the guest on vCPU0 EOIs a migrating SPI but before pCPU0 clears that LR, the SPI fires again; it must be delivered (to vCPU1)",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => secondIrqLazyClearVcpu0(g),
          (g) => secondIrqLazyClearVcpu1(g),
        ],
      });
      guestIrq(sys, { irq: N, target: 0 });
      inListRegister(sys, 0, N, 0, true);
      device(sys, 10000, N);
      return frame(sys, (_r, delivered) => expectDelivered(N, delivered));
    },
  },
  {
    name: "migrate-reenable-window",
    summary: "the open question: while an SPI is MIGRATING in vCPU0's LR, the guest disables and re-enables it (moving the physical affinity early) and it fires again after vCPU0's EOI; is the second instance left QUEUED on no list?",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => migrateReenableWindowVcpu0(g),
          (g) => migrateReenableWindowVcpu1(g),
        ],
      });
      guestIrq(sys, { irq: N, target: 0 });
      inListRegister(sys, 0, N, 0, true);
      device(sys, 14000, N);
      return frame(sys, (_r, delivered) => expectDelivered(N, delivered));
    },
  },
  {
    name: "itargetsr-concurrent",
    summary: "two vCPUs write ITARGETSR for the same SPI at once (vCPU0 moves it to vCPU1, vCPU1 moves it back) while it is active in vCPU0's LR; it fires again after vCPU0's EOI and must be delivered",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => itargetsrConcurrentVcpu0(g, seen),
          (g) => itargetsrConcurrentVcpu1(g, seen),
        ],
      });
      const seen = () => run.delivered;
      guestIrq(sys, { irq: N, target: 0 });
      inListRegister(sys, 0, N, 0, true);
      device(sys, 12000, N);
      const run = frame(sys, (_r, delivered) => expectDelivered(N, delivered));
      return run;
    },
  },
  {
    name: "enable-inject-race",
    summary: "the guest on vCPU0 disables and re-enables an SPI (ICENABLER, ISENABLER) while pCPU1 takes it and injects it into vCPU1; once re-enabled it must be delivered",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => enableInjectRaceVcpu0(g),
          (g) => enableInjectRaceVcpu1(g, seen),
        ],
      });
      const seen = () => run.delivered;
      guestIrq(sys, { irq: N, target: 1 });
      device(sys, 1500, N);
      const run = frame(sys, (_r, delivered) => expectDelivered(N, delivered));
      return run;
    },
  },
  {
    name: "vcpu-migrate-inflight",
    summary: "the scheduler moves vCPU1 to pCPU2 (vcpu_migrate, arch_move_irqs) while its SPI is active in its LR and vCPU0 retargets that SPI to itself; vCPU1 EOIs it on whichever pCPU it runs, the SPI fires again and must be delivered",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        pcpus: 3,
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => vcpuMigrateInflightVcpu0(g, seen),
          (g) => vcpuMigrateInflightVcpu1(g, seen),
          undefined,
        ],
      });
      const seen = () => run.delivered;
      guestIrq(sys, { irq: N, target: 1 });
      inListRegister(sys, 1, N, 0, true);
      schedulerMoves(sys, 1000, 1, 2);
      device(sys, 9000, N);
      const run = frame(sys, (_r, delivered) => expectDelivered(N, delivered));
      return run;
    },
  },
  {
    name: "stale-target-inject",
    summary: "vCPU0 moves an idle SPI from vCPU2 to vCPU1 while it fires: do_IRQ reads the target before the ITARGETSR store lands and queues it on vCPU2's lr_pending; a second move then unlinks it from vCPU2's list under vCPU1's lock",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        pcpus: 3,
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => staleTargetInjectVcpu0(g, seen),
          undefined,
          undefined,
        ],
      });
      const seen = () => run.delivered;
      guestIrq(sys, { irq: N, target: 2 });
      device(sys, 1200, N);
      const run = frame(sys, (_r, delivered) => expectDelivered(N, delivered));
      return run;
    },
  },
  {
    name: "affinity-barrier",
    summary: "the thread's last point: pCPU0 folds the LR of an SPI migrating to vCPU1 (list_del_init, then irq_set_affinity) and the SPI fires again as soon as its affinity reaches pCPU1; the injection there must not still see it in flight on vCPU0 (a race of memory order: see --memory weak)",
    build(variant, scheduler, opts = {}) {
      const sys = scenarioSystem(variant, scheduler, opts, {
        routed: [{ irq: N, edge: true }],
        programs: [
          (g) => affinityBarrierVcpu0(g, seen),
          (g) => affinityBarrierVcpu1(g, seen),
        ],
      });
      const seen = () => run.delivered;
      guestIrq(sys, { irq: N, target: 0 });
      inListRegister(sys, 0, N, 0, true);
      migrating(sys, N, 1);
      // The SPI fires again the moment its affinity reaches pCPU1 in the
      // distributor (the worst case the barrier is there for); a design
      // that never moves it there gets it at cycle 60000 instead.
      sys.machine.spawnThread(AFFINITY_DEVICE, (t: Thread) => affinityBarrierDevice(t));
      sys.machine.onDistributorWrite = wakeOnAffinity;
      // a design whose vgic_migrate_irq moved the affinity as the migration
      // began (v3) has it at pCPU1 already: the SPI fires at once, latched
      // in the distributor until the guest's EOI deactivates it
      if ((sys.gic.readDist(0, GICD.ITARGETSR + N, 1) & 2) !== 0) sys.machine.at(0, `irq${N} fires at once`, (m) => m.wake(affinityDevice(m)));
      sys.machine.at(60000, `irq${N} fires anyway`, (m) => m.wake(affinityDevice(m)));
      const run = frame(sys, (_r, delivered) => expectDelivered(N, delivered));
      return run;
    },
  },
];

export function scenarioNamed(name: string): Scenario {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new RangeError(`unknown scenario '${name}': expected one of ${SCENARIOS.map((x) => x.name).join(", ")}`);
  return s;
}
