// The machine's fast path (MachineOptions.fastPath, Machine.continueAt): a
// thread the run loop would run again at once passes its scheduling point
// without yielding (under the time scheduler: it has the smallest clock;
// under any other: it is the one thread enabled, or the scheduler, asked at
// the point the question the loop would ask next, answers it). It must
// change nothing a run produces: every result, schedule, step count and
// trace, and every question a scheduler is asked, is compared here with the
// fast path on and off, on random toy programs built to meet
// its edge cases (clock ties, events and IRQs due at the running thread's
// clock, contended locks, step limits, windows) and on every bundled
// workload under every design, and every race scenario under every design
// and the explorers' kinds of scheduler.

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";
import {
  Machine, Sched, SpinLock, defaultProfile, spin_lock, spin_lock_irqsave, spin_trylock, spin_unlock, spin_unlock_irqrestore,
  type Co, type PCpu, type RunResult, type SchedPoint, type Scheduler, type Thread,
} from "../host/sim/index.ts";
import { Rng } from "../host/sim/rng.ts";
import { gicOn } from "./sim-helpers.ts";
import { runWorkload, variantsFor } from "../host/workload/runner.ts";
import { bundled } from "./workload-helpers.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";
import { allVariants } from "../host/xen/variants.ts";

const profile = defaultProfile();
const P: SchedPoint = Object.freeze({ label: "p" });

interface Toy {
  results: RunResult[];
  log: string[];
  fastSteps: number;
  irqs: number;
}

/** A random program on 3 pCPUs and a device thread, the same for a seed:
 *  charges from a small set (clock ties are common), points, lock
 *  operations on two locks (contended), trylocks, WFI, SPIs raised by the
 *  pCPUs themselves, by events and by the device at times that meet the
 *  pCPUs' clocks, an IRQ handler
 *  that acknowledges and takes a lock. Run in windows (until) and with a
 *  step limit; every window's result is kept, and a log of who did what at
 *  which cycle. */
function toy(seed: number, fastPath: boolean, scheduler: () => Scheduler = Sched.time): Toy {
  const rng = new Rng(seed);
  const gic = gicOn(3);
  const map = gic.config.map;
  const m = new Machine({ gic, profile, scheduler: scheduler(), fastPath, maxSteps: 400 + rng.below(400) });
  const locks = [new SpinLock(m, "a", "A"), new SpinLock(m, "b", "B")];
  const log: string[] = [];
  const charge = () => [0, 10, 20, 40][rng.below(4)]!;
  m.setIrqHandler(function* (c) {
    const iar = c.gicRead(map.gicc + GICC.IAR);
    log.push(`irq ${c.id}@${c.clock} ${iar & 0x3ff}`);
    const f = yield* spin_lock_irqsave(c, locks[1]!);
    c.charge(charge());
    yield* spin_unlock_irqrestore(c, locks[1]!, f);
    c.gicWrite(map.gicc + GICC.EOIR, iar);
  });
  const ops = (n: number) => Array.from({ length: n }, () => rng.below(10));
  const prog = (plan: number[]) => function* (c: Thread): Co {
    for (const op of plan) {
      log.push(`${c.name}@${c.clock} ${op}`);
      c.charge(charge());
      const l = locks[op & 1]!;
      switch (op) {
        case 0: case 1:
          yield* spin_lock(c, l);
          c.charge(charge());
          yield* spin_unlock(c, l);
          break;
        case 2: case 3: {
          const f = yield* spin_lock_irqsave(c, l);
          c.charge(charge());
          yield* spin_unlock_irqrestore(c, l, f);
          break;
        }
        case 4:
          if (yield* spin_trylock(c, l)) yield* spin_unlock(c, l);
          break;
        case 5:
          if (!c.passes(P)) yield P;
          break;
        case 6:
          if (c.cpu >= 0) yield* c.idle();
          break;
        case 7: {
          // an interrupt for any pCPU, this one included, then a point;
          // or made pending behind the machine's back (the lines are
          // re-read at the end of the step)
          const irq = 32 + rng.below(3);
          if (rng.below(2) === 0) {
            c.setLine(irq, true);
            c.setLine(irq, false);
          } else gic.writeDist(0, GICD.ISPENDR + 4, 1 << (irq - 32));
          if (!c.passes(P)) yield P;
          break;
        }
        default:
          yield P;
      }
    }
  };
  for (let i = 0; i < 3; i++) m.spawn(i, `p${i}`, prog(ops(30 + rng.below(30))));
  // SPI 32 + k, edge-triggered, to pCPU k
  gic.writeDist(0, GICD.ICFGR + 8, 0xaaaaaaaa);
  for (let k = 0; k < 3; k++) gic.writeDist(0, GICD.ITARGETSR + 32 + k, 1 << k, 1);
  m.spawnThread("dev", function* (t: Thread): Co {
    for (let i = 0; i < 20; i++) {
      yield* t.delay(charge() * 3);
      t.setLine(32 + rng.below(3), true);
      t.setLine(32 + rng.below(3), false);
    }
  });
  for (let i = 0; i < 15; i++) {
    const at = 10 * rng.below(60);
    m.at(at, "ev", (mm) => {
      log.push(`ev@${at}`);
      mm.setLine(32 + (at % 3), true);
      mm.setLine(32 + (at % 3), false);
    });
  }
  const results: RunResult[] = [];
  for (let until = 0; until < 3000; until += 10 * (1 + rng.below(20))) {
    const r = m.run({ until, maxSteps: 50 + rng.below(100) });
    results.push(r);
    if (r.reason !== "until" && r.reason !== "maxSteps") break;
  }
  results.push(m.run());
  return { results, log, fastSteps: m.fastSteps, irqs: log.filter((x) => x.startsWith("irq")).length };
}

/** A result with its lazily computed fields read (schedule, lock order). */
function plain(r: RunResult): unknown {
  return JSON.parse(JSON.stringify({ ...r, schedule: r.schedule, lockOrder: r.lockOrder }));
}

/** `s`, writing each question it is asked (the enabled threads, the step
 *  count, the previous thread, their clocks) and its answer to `q`. */
function asked(s: Scheduler, q: string[]): Scheduler {
  return {
    name: s.name,
    pick(enabled, st) {
      const t = s.pick(enabled, st);
      q.push(`${enabled.join(",")} steps ${st.steps} last ${st.lastThread} clocks ${enabled.map((e) => st.clockOf(e)).join(",")} -> ${t}`);
      return t;
    },
  };
}


describe("the fast path changes nothing", () => {
  it("random toy programs: every window's result, schedule and the log are the same with it off", () => {
    let fast = 0, irqs = 0;
    for (let seed = 1; seed <= 60; seed++) {
      const on = toy(seed, true), off = toy(seed, false);
      expect(on.results.map(plain), `seed ${seed}`).toEqual(off.results.map(plain));
      expect(on.log, `seed ${seed}`).toEqual(off.log);
      expect(off.fastSteps).toBe(0);
      fast += on.fastSteps;
      irqs += on.irqs;
    }
    // and it did take points without yielding (else this compared nothing)
    expect(fast).toBeGreaterThan(1000);
    expect(irqs).toBeGreaterThan(100);
  });

  it("under every other scheduler the scheduler is asked the same questions, in the same state, with it on and off", () => {
    let fast = 0;
    for (let seed = 1; seed <= 10; seed++) {
      for (const s of [(q: string[]) => asked(Sched.random(seed), q), (q: string[]) => asked(Sched.pct(3, seed), q)]) {
        const qOn: string[] = [], qOff: string[] = [];
        const on = toy(seed, true, () => s(qOn)), off = toy(seed, false, () => s(qOff));
        // every decision, with the state the scheduler saw, and its answer
        expect(qOn).toEqual(qOff);
        expect(qOn.length).toBeGreaterThan(10);
        expect(on.results.map(plain)).toEqual(off.results.map(plain));
        expect(on.log).toEqual(off.log);
        expect(off.fastSteps).toBe(0);
        fast += on.fastSteps;
      }
    }
    // and it did pass points (one thread enabled, or the scheduler's answer)
    expect(fast).toBeGreaterThan(50);
  });

  /** Two pCPUs each passing `n` points, under `scheduler`; `keep` breaks
   *  the fast path's contract on pCPU 0 (asked at a point, it goes on
   *  without yielding there). */
  function pair(scheduler: Scheduler, fastPath: boolean, n = 6, keep = false): { m: Machine; r: RunResult; log: string[] } {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler, fastPath });
    const log: string[] = [];
    const body = (id: number) => function* (c: PCpu): Co {
      for (let i = 0; i < n; i++) {
        log.push(`${id}.${i}`);
        c.charge(10);
        if (!c.passes(P) && !(keep && id === 0)) yield P;
      }
    };
    m.spawn(0, "p0", body(0));
    m.spawn(1, "p1", body(1));
    return { m, r: m.run(), log };
  }

  it("a schedule that does not fit fails the same way on and off (the scheduler's error is handed to the loop)", () => {
    // thread 5 does not exist: the replay scheduler throws at the 3rd decision
    const bad = "0,1,5,0";
    const on = pair(Sched.replay(bad), true), off = pair(Sched.replay(bad), false);
    expect(on.r.reason).toBe("error");
    expect(on.r.error?.message).toMatch(/decision 2: thread 5 is not enabled/);
    // (thrown from another call, at a point: the result keeps no stack of
    // the host's path to the question, which would differ, and with it
    // the site a finding names)
    expect(on.r.error?.stack).toBeUndefined();
    expect(plain(on.r)).toEqual(plain(off.r));
    expect(on.log).toEqual(off.log);
  });

  it("a scheduler that answers no enabled thread fails the run the same way on and off", () => {
    for (const bad of [-1, -2, 7, 1.5]) {
      let asked = 0;
      const s = (): Scheduler => ({ name: "bad", pick: (en) => (++asked === 3 ? bad : en[0]!) });
      const on = pair(s(), true), askedOn = asked;
      asked = 0;
      const off = pair(s(), false);
      expect(on.r.reason).toBe("error");
      expect(on.r.error?.message).toBe(`scheduler bad: picked ${bad}, expected one of the enabled threads [0,1]`);
      expect(plain(on.r)).toEqual(plain(off.r));
      expect(askedOn).toBe(asked);
    }
  });

  it("a replayed schedule runs step for step the same on and off, passing the points where it continues", () => {
    const sched = "0,0,1,0,1,1,1,0,0,1,0";
    const on = pair(Sched.replay(sched, { then: Sched.time() }), true), off = pair(Sched.replay(sched, { then: Sched.time() }), false);
    expect(plain(on.r)).toEqual(plain(off.r));
    expect(on.log).toEqual(off.log);
    expect(on.m.fastSteps).toBeGreaterThan(3);
  });

  it("code that is told to yield at a point and goes on fails the run, never a different schedule", () => {
    // the first decision continues pCPU 0 (passed); the second picks pCPU 1,
    // so pCPU 0 is told to yield and (keep) does not
    const { r } = pair(Sched.replay("0,1", { then: Sched.time() }), true, 6, true);
    expect(r.reason).toBe("error");
    expect(r.error?.message).toMatch(/pCPU0 was told at 'p' to yield there and did not/);
  });

  /** One pCPU taking and releasing a lock: three steps (start, the lock's
   *  point, the unlock's point). */
  function lockUnlock(trace: boolean): { m: Machine; r: RunResult } {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time(), trace });
    const l = new SpinLock(m, "a", "A");
    m.spawn(0, "p", function* (c: PCpu): Co {
      yield* spin_lock(c, l);
      yield* spin_unlock(c, l);
    });
    return { m, r: m.run() };
  }

  it("is off while tracing: every step event is recorded", () => {
    const { m, r } = lockUnlock(true);
    expect(m.fastSteps).toBe(0);
    expect(m.trace!.events.filter((e) => e.kind === "step").map((e) => e.name)).toEqual(["start", "lock A", "unlock A"]);
    expect(r.steps).toBe(3);
  });

  it("a point passed without yielding still counts as a step", () => {
    const { m, r } = lockUnlock(false);
    // the lock's and the unlock's points were passed
    expect(r.steps).toBe(3);
    expect(m.fastSteps).toBe(2);
  });
});

describe("every bundled workload under every design, the fast path on and off", () => {
  const DURATION = 150_000;
  for (const { file, w } of bundled()) {
    it(file, () => {
      for (const variant of variantsFor(w, "all")) {
        const run = (fastPath: boolean, trace: boolean) => {
          const o = runWorkload(w, { variant, duration: DURATION, fastPath, trace });
          // a run that stops before anything happens: its result holds the schedule so far
          const schedule = o.sys.machine.run({ until: -1 }).schedule;
          return { result: o.result, schedule, fast: o.sys.machine.fastSteps, trace: o.sys.machine.trace };
        };
        const on = run(true, false), off = run(false, false);
        expect(on.result, variant).toEqual(off.result);
        expect(on.schedule, variant).toEqual(off.schedule);
        expect(on.fast, variant).toBeGreaterThan(0);
        expect(off.fast).toBe(0);
        // a traced run never takes the fast path (its "step" events would
        // be missing), fastPath or not: it is the same run as the fast one
        const traced = run(true, true);
        expect(traced.fast, variant).toBe(0);
        expect(traced.trace!.count, variant).toBeGreaterThan(0);
        expect(traced.result, variant).toEqual(on.result);
        expect(traced.schedule, variant).toEqual(on.schedule);
      }
    });
  }
});

describe("every race scenario under every design, the explorers' kinds of scheduler, the fast path on and off", () => {
  // The real hypervisor code (locks, traps, idle, declared points) under
  // random, pct and a replay of a random run's schedule: the scheduler is
  // asked the same questions in the same state, and the run, its checks
  // and its findings are the same.
  for (const sc of SCENARIOS) {
    it(sc.name, () => {
      let fast = 0;
      for (const { name: variant } of allVariants()) {
        for (const seed of [1, 2, 3]) {
          const recorded = sc.build(variant, Sched.random(seed + 100), {});
          const schedule = recorded.sys.machine.run({ maxSteps: 20_000 }).schedule;
          const kinds: Array<() => Scheduler> = [() => Sched.random(seed), () => Sched.pct(3, seed, { steps: 200 }), () => Sched.replay(schedule)];
          for (const make of kinds) {
            const run = (fastPath: boolean) => {
              const q: string[] = [];
              const s = sc.build(variant, asked(make(), q), { fastPath });
              const r = s.sys.machine.run({ maxSteps: 20_000 });
              return { q, r: plain(r), findings: s.check(r), fast: s.sys.machine.fastSteps };
            };
            const on = run(true), off = run(false);
            const what = `${variant} seed ${seed} ${make().name}`;
            expect(on.q, what).toEqual(off.q);
            expect(on.r, what).toEqual(off.r);
            expect(on.findings, what).toEqual(off.findings);
            expect(off.fast).toBe(0);
            fast += on.fast;
          }
        }
      }
      expect(fast).toBeGreaterThan(100);
    });
  }
});
