// The machine on toy programs: time ordering with exact cycle arithmetic from
// the profile, IRQ entry and irqsave masking, WFI, events, limits, errors.

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD, sgir } from "../host/hw/regs.ts";
import {
  Machine, Sched, SpinLock, defaultProfile, exploreDfs, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
  type Co, type PCpu, type SchedPoint, type Scheduler,
} from "../host/sim/index.ts";
import { gicOn } from "./sim-helpers.ts";

const profile = defaultProfile();
const C = Object.fromEntries(Object.entries(profile.costs).map(([k, v]) => [k, v.cycles])) as Record<keyof typeof profile.costs, number>;
const P: SchedPoint = { label: "p" };

describe("time scheduler", () => {
  it("runs the thread with the smallest clock, ties to the lowest index", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 3 }), profile, scheduler: Sched.time() });
    const log: string[] = [];
    const prog = (costs: number[]) => function* (c: PCpu): Co {
      for (const k of costs) {
        log.push(`${c.id}@${c.clock}`);
        c.charge(k);
        yield P;
      }
    };
    m.spawn(0, "a", prog([300, 300]));
    m.spawn(1, "b", prog([100, 100, 100]));
    m.spawn(2, "c", prog([250]));
    const r = m.run();
    expect(r.reason).toBe("done");
    // pCPU2 resumes at 250 only to finish, and pCPU0 beats pCPU1 at the tie at 300.
    expect(log).toEqual(["0@0", "1@0", "2@0", "1@100", "1@200", "0@300"]);
    expect(r.clocks).toEqual([600, 300, 250]);
  });

  it("requestStop ends the run before its next step, and a second run goes on as if nothing had stopped it", () => {
    const make = (stopAt: number | null) => {
      const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.time() });
      const log: string[] = [];
      const prog = (costs: number[]) => function* (c: PCpu): Co {
        for (const k of costs) {
          log.push(`${c.id}@${c.clock}`);
          if (c.clock === stopAt) m.requestStop();
          c.charge(k);
          yield P;
        }
      };
      m.spawn(0, "a", prog([300, 300, 300]));
      m.spawn(1, "b", prog([100, 100, 100, 100]));
      return { m, log };
    };
    const whole = make(null);
    expect(whole.m.run().reason).toBe("done");
    const cut = make(200);
    const first = cut.m.run();
    expect(first.reason).toBe("stopped");
    // pCPU1's step at 200 was the last one
    expect(cut.log).toEqual(["0@0", "1@0", "1@100", "1@200"]);
    expect(cut.m.run().reason).toBe("done");
    expect(cut.log).toEqual(whole.log);
  });

  it("an SGI wakes an idle pCPU and its handler runs at exactly the profile's latency", () => {
    const gic = gicOn(2);
    const m = new Machine({ gic, profile, scheduler: Sched.time() });
    const seen: { cpu: number; entry: number; iar: number; done: number }[] = [];
    m.setIrqHandler(function* (c) {
      const entry = c.clock;
      const iar = c.gicRead(gic.config.map.gicc + GICC.IAR);
      c.gicWrite(gic.config.map.gicc + GICC.EOIR, iar);
      seen.push({ cpu: c.id, entry, iar, done: c.clock });
    });
    m.spawn(0, "sender", function* (c) {
      c.cost("hypercall");
      yield P;
      c.gicWrite(gic.config.map.gicd + GICD.SGIR, sgir(0, 0b10, 3));
    });
    m.spawn(1, "idle_loop", function* (c) {
      yield* c.idle();
      yield P; // the IRQ is taken here
    });
    const r = m.run();
    expect(r.reason).toBe("done");
    const sent = C.hypercall; // SGIR write starts at the sender's clock
    expect(seen).toEqual([{
      cpu: 1,
      entry: sent + C.el2Entry + C.irqEntry,
      iar: 3 | (0 << 10),
      done: sent + C.el2Entry + C.irqEntry + 2 * C.giccAccess,
    }]);
    expect(r.threads[1]!.time.idle).toBe(sent);
    expect(r.clocks[1]).toBe(sent + C.el2Entry + C.irqEntry + 2 * C.giccAccess + C.el2Return);
    expect(r.clocks[0]).toBe(C.hypercall + C.gicdAccess);
  });
});

describe("IRQ masking", () => {
  const SPI = 40;
  function run(irqsave: boolean) {
    const gic = gicOn(1);
    const m = new Machine({ gic, profile, scheduler: Sched.time() });
    let handlerAt = -1;
    let restoredAt = -1;
    m.setIrqHandler(function* (c) {
      handlerAt = c.clock;
      const iar = c.gicRead(gic.config.map.gicc + GICC.IAR);
      c.setLine(SPI, 0); // the driver clears the device's interrupt
      c.gicWrite(gic.config.map.gicc + GICC.EOIR, iar);
    });
    const L = new SpinLock(m, "dev", "dev_lock");
    m.spawn(0, "critical", function* (c) {
      if (irqsave) {
        const flags = yield* spin_lock_irqsave(c, L);
        for (let i = 0; i < 10; i++) { c.charge(100); yield P; }
        yield* spin_unlock_irqrestore(c, L, flags);
        restoredAt = c.clock;
      } else {
        yield* spin_lock(c, L);
        for (let i = 0; i < 10; i++) { c.charge(100); yield P; }
        yield* spin_unlock(c, L);
      }
      yield P;
    });
    m.at(100, "device raises SPI 40", (mm) => mm.setLine(SPI, 1));
    const r = m.run();
    return { r, handlerAt, restoredAt };
  }

  it("spin_lock_irqsave delays a physical IRQ until spin_unlock_irqrestore", () => {
    const { r, handlerAt, restoredAt } = run(true);
    expect(r.reason).toBe("done");
    const released = C.lockAcquire + 1000 + C.lockRelease;
    expect(restoredAt).toBe(released + C.el2Entry + C.irqEntry + 2 * C.giccAccess + C.el2Return);
    expect(handlerAt).toBe(released + C.el2Entry + C.irqEntry);
  });

  it("with IRQs enabled the same IRQ is taken at the first point after it is raised", () => {
    const { r, handlerAt } = run(false);
    expect(r.reason).toBe("done");
    // The line rises at 100; the thread reaches its next point at 20 + 100.
    expect(handlerAt).toBe(C.lockAcquire + 100 + C.el2Entry + C.irqEntry);
  });
});

describe("where an IRQ lands: decided by the clocks under the time scheduler, by the schedule under the others", () => {
  const SPI = 40;
  /** pCPU1 computes ten steps of 1000 cycles; a device thread whose clock
   *  starts at 5000 raises SPI 40 (targeting pCPU1) at its first step */
  function build(scheduler: Scheduler) {
    const gic = gicOn(2);
    gic.writeDist(0, GICD.ITARGETSR + SPI, 0b10, 1);
    const m = new Machine({ gic, profile, scheduler });
    const landed = { at: -1, clock: -1 };
    let pos = 0;
    m.setIrqHandler(function* (c) {
      landed.at = pos;
      landed.clock = c.clock;
      const iar = c.gicRead(gic.config.map.gicc + GICC.IAR);
      c.setLine(SPI, 0);
      c.gicWrite(gic.config.map.gicc + GICC.EOIR, iar);
    });
    m.spawn(0, "idle", function* () {});
    m.spawn(1, "worker", function* (c) { for (pos = 0; pos < 10; pos++) { c.charge(1000); yield P; } });
    m.spawnThread("device", function* (t) { t.setLine(SPI, 1); yield P; }, { clock: 5000 });
    return { m, landed };
  }

  it("time: the IRQ lands when the worker's clock reaches the raise", () => {
    const { m, landed } = build(Sched.time());
    expect(m.run().reason).toBe("done");
    // (at 5000 the worker goes first, the lower index breaking the tie; it
    // computes to 6000, and the line raised at 5000 is taken there)
    expect(landed.at).toBe(5);
    expect(landed.clock).toBe(6000 + C.el2Entry + C.irqEntry);
  });

  it("dfs: every point of the worker is a place it can land, and the worker's clock jumps to the raise", () => {
    // (a pCPU that a schedule runs while its clock lags the raiser's still
    // takes the IRQ: else the explorers miss every interleaving where the
    // IRQ lands early, and call the space exhausted)
    const at = new Set<number>();
    let last: ReturnType<typeof build> | null = null;
    const r = exploreDfs((sched) => (last = build(sched)).m, {
      preemptionBound: 2, maxSchedules: 5000,
      isFailure: (run) => {
        expect(run.reason).toBe("done");
        at.add(last!.landed.at);
        if (last!.landed.at >= 0) expect(last!.landed.clock).toBeGreaterThanOrEqual(5000 + C.el2Entry + C.irqEntry);
        return false;
      },
    });
    expect(r.exhausted).toBe(true);
    // before any of the worker's steps, after each, or never (the worker
    // ended first: a finished thread takes no IRQ)
    expect([...at].sort((a, b) => a - b)).toEqual([-1, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });
});

describe("events, idle threads and wake", () => {
  it("events fire in time order, ties in insertion order, when the global time reaches them", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    const log: string[] = [];
    m.at(500, "b", () => log.push("b@500"));
    m.at(200, "a", () => log.push("a@200"));
    m.at(500, "c", () => log.push("c@500"));
    m.spawn(0, "ticker", function* (c) {
      for (let i = 0; i < 4; i++) {
        log.push(`cpu@${c.clock}`);
        c.charge(200);
        yield P;
      }
    });
    expect(m.run().reason).toBe("done");
    expect(log).toEqual(["cpu@0", "a@200", "cpu@200", "cpu@400", "b@500", "c@500", "cpu@600"]);
  });

  it("a non-CPU thread sleeps in idle() until wake(), and its clock jumps to the waker's", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    let wokeAt = -1;
    const dev = m.spawnThread("device", function* (t) {
      yield* t.idle();
      wokeAt = t.clock;
    });
    m.spawn(0, "driver", function* (c) {
      c.charge(1234);
      yield P;
      m.wake(dev);
    });
    const r = m.run();
    expect(r.reason).toBe("done");
    expect(wokeAt).toBe(1234);
    expect(r.threads[1]!.time.idle).toBe(1234);
  });

  it("WFI wakes when a delayed line becomes visible (GIC propagation delay)", () => {
    const g = Gic.create({ cpus: 1, propagationDelay: 300 });
    g.writeDist(0, GICD.CTLR, 1);
    g.writeDist(0, GICD.ISENABLER + 4, 0xffffffff);
    g.writeCpu(0, GICC.CTLR, 1);
    g.writeCpu(0, GICC.PMR, 0xff);
    const m = new Machine({ gic: g, profile, scheduler: Sched.time() });
    let woke = -1;
    m.spawn(0, "idle", function* (c) {
      yield* c.idle();
      woke = c.clock;
    });
    m.at(1000, "raise SPI 33", (mm) => mm.setLine(33, 1));
    expect(m.run().reason).toBe("done");
    expect(woke).toBe(1300);
  });
});

describe("lookahead: how far a thread may compute unobserved", () => {
  // pCPU0 computes to 100 and there promises to compute on until 10,100;
  // pCPU1 (at 50) asks how far it may go. Then pCPU0 resumes: it is the
  // hypervisor ending the guest's computation early (a time slice's end, a
  // migration) and acting at once, as a vCPU's pCPU does; pCPU1 asks again.
  it("a promise extends a waiting thread's horizon to its end, and the thread's next step ends it", () => {
    const m = new Machine({ gic: gicOn(2), profile, scheduler: Sched.time() });
    const seen: string[] = [];
    m.spawn(0, "computes", function* (c) {
      c.charge(100);
      c.quietUntil = c.clock + 10_000;
      yield P;
      c.charge(100);
      yield P;
    });
    m.spawn(1, "asks", function* (c) {
      c.charge(50);
      yield P;
      seen.push(`${c.clock}: ${m.lookahead(c)}`);
      c.charge(100);
      yield P;
      seen.push(`${c.clock}: ${m.lookahead(c)}`);
    });
    m.at(20_000, "event", () => {});
    expect(m.run().reason).toBe("done");
    // order: pCPU0 @0 (to 100, promising), pCPU1 @0, pCPU1 @50 asks: the
    // promise; pCPU0 @100 acts and yields at 200 promising nothing; pCPU1
    // @150 asks: pCPU0's clock (a stale promise said 10,100)
    expect(seen).toEqual(["50: 10100", "150: 200"]);
  });

  it("an interrupt line up on the promising thread's CPU voids the promise", () => {
    const m = new Machine({ gic: gicOn(2), profile, scheduler: Sched.time() });
    m.gic.writeDist(0, GICD.ITARGETSR + 40, 1, 1);
    const seen: number[] = [];
    m.spawn(0, "computes", function* (c) {
      c.charge(100);
      c.quietUntil = c.clock + 10_000;
      yield P;
    });
    m.spawn(1, "asks", function* (c) {
      c.charge(50);
      yield P;
      seen.push(m.lookahead(c));
      c.setLine(40, 1);
      yield P;
      seen.push(m.lookahead(c));
    });
    expect(m.run().reason).toBe("done");
    // before the raise the promise holds; with pCPU0's IRQ line up it may
    // be interrupted, so its clock is the horizon
    expect(seen).toEqual([10_100, 100]);
  });

  it("adversarial schedulers get none: the thread's own clock", () => {
    const m = new Machine({ gic: gicOn(2), profile, scheduler: Sched.random(1) });
    let seen = -1;
    m.spawn(0, "other", function* (c) { c.quietUntil = 10_000; yield P; });
    m.spawn(1, "asks", function* (c) { c.charge(70); yield P; seen = m.lookahead(c); });
    expect(m.run().reason).toBe("done");
    expect(seen).toBe(70);
  });
});

describe("contention", () => {
  it("a waiter gets the lock at the release time and the difference counts as spin cycles", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.time() });
    const L = new SpinLock(m, "rank", "rank0");
    m.spawn(0, "holder", function* (c) {
      yield* spin_lock(c, L);
      c.charge(1000);
      yield P;
      yield* spin_unlock(c, L);
    });
    let got = -1;
    m.spawn(1, "waiter", function* (c) {
      c.charge(100);
      yield P;
      yield* spin_lock(c, L);
      got = c.clock;
      yield* spin_unlock(c, L);
    });
    const r = m.run();
    expect(r.reason).toBe("done");
    const released = C.lockAcquire + 1000 + C.lockRelease;
    expect(got).toBe(released + C.lockAcquire);
    expect(r.contention.rank).toEqual({ acquisitions: 2, contended: 1, spinCycles: released - 100 });
    expect(r.threads[1]!.time["spin:rank"]).toBe(released - 100);
  });

  it("releasing a lock one does not hold is an error result", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    const L = new SpinLock(m, "x", "x");
    m.spawn(0, "bad", function* (c) { yield* spin_unlock(c, L); });
    const r = m.run();
    expect(r.reason).toBe("error");
    expect(r.error!.message).toMatch(/releases x, which is held by nobody/);
  });
});

describe("run limits and errors", () => {
  it("exploreDfs's default failure includes a run cut at maxSteps: a livelock is no passing schedule", () => {
    const r = exploreDfs((sched) => {
      const m = new Machine({ gic: gicOn(1), profile, scheduler: sched });
      m.spawn(0, "spinner", function* (c) { for (;;) { c.charge(1); yield P; } });
      return m;
    }, { preemptionBound: 1, maxSteps: 1000 });
    expect(r.exhausted).toBe(false);
    expect(r.firstFailure?.result.reason).toBe("maxSteps");
  });

  function spinner(m: Machine) {
    m.spawn(0, "loop", function* (c) {
      for (;;) {
        c.charge(10);
        yield P;
      }
    });
  }

  it("maxSteps ends the run cleanly and run() continues from there", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    spinner(m);
    const r = m.run({ maxSteps: 100 });
    expect(r.reason).toBe("maxSteps");
    expect(r.steps).toBe(100);
    expect(r.clocks[0]).toBe(1000);
    expect(m.run({ maxSteps: 5 }).steps).toBe(105);
  });

  it("the machine-wide maxSteps option bounds every run", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time(), maxSteps: 7 });
    spinner(m);
    expect(m.run()).toMatchObject({ reason: "maxSteps", steps: 7 });
  });

  it("until stops before anything happens after the given cycle", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    spinner(m);
    let fired = false;
    m.at(5000, "late", () => { fired = true; });
    const r = m.run({ until: 995 });
    expect(r.reason).toBe("until");
    expect(r.clocks[0]).toBe(1000);
    expect(fired).toBe(false);
  });

  it("a thread that throws is reported as an error result, not a crash", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.time() });
    m.spawn(0, "fine", function* () { yield P; yield P; });
    m.spawn(1, "broken", function* (c) {
      yield P;
      yield* c.fn("vgic_bad", function* () { throw new Error("bad pending_irq"); });
    });
    const r = m.run();
    expect(r.reason).toBe("error");
    expect(r.error).toMatchObject({ thread: "pCPU1", message: "bad pending_irq" });
  });

  it("an event that throws is reported as an error result", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    spinner(m);
    m.at(50, "device", (mm) => mm.setLine(5000, 1));
    const r = m.run({ maxSteps: 1000 });
    expect(r.reason).toBe("error");
    expect(r.error!.thread).toBe("event device");
    expect(r.error!.message).toMatch(/no input line/);
  });
});

describe("run results", () => {
  /** Two pCPUs charging and yielding, under a random scheduler: every step
   *  is a decision, recorded in the schedule. */
  function racing(trace: boolean) {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.random(7), trace });
    for (const cpu of [0, 1]) {
      m.spawn(cpu, `loop${cpu}`, function* (c) {
        for (;;) {
          c.charge(10);
          yield P;
        }
      });
    }
    return m;
  }

  it("schedule, lockOrder and traceHash are enumerable, in a fixed order, and describe the run as it stood", () => {
    const m = racing(true);
    const first = m.run({ maxSteps: 100 });
    const again = racing(true).run({ maxSteps: 100 });
    const later = m.run({ maxSteps: 100 }); // the picks grow past their first buffer
    expect(Object.keys(first)).toEqual(["reason", "steps", "schedule", "lockdep", "lockOrder", "contention", "clocks", "threads", "traceHash"]);
    expect(first.schedule.picks).toHaveLength(100);
    expect(first.schedule).toEqual(again.schedule);
    expect(later.schedule.picks).toHaveLength(200);
    expect(later.schedule.picks.slice(0, 100)).toEqual(first.schedule.picks);
    expect(first.traceHash).toBe(again.traceHash);
    expect(first.traceHash).not.toBe(later.traceHash);
    const json = JSON.parse(JSON.stringify(first)) as Record<string, unknown>;
    expect(json.schedule).toEqual(first.schedule);
    expect(json.lockOrder).toEqual({});
    expect(json.traceHash).toBe(first.traceHash);
    expect(Object.keys(racing(false).run({ maxSteps: 3 }))).not.toContain("traceHash");
  });

  it("every result shares its accessors: none is a closure made for one result", () => {
    // V8 keeps the accessor pair of an own getter in the old generation, and
    // young collections keep whatever the old generation points to: a
    // getter closure per result kept each run's lockdep and schedule buffer
    // alive until a full collection (tests/gc-retention.test.ts measures
    // the outcome).
    const a = racing(true).run({ maxSteps: 10 }), b = racing(true).run({ maxSteps: 20 });
    for (const k of ["schedule", "lockOrder", "traceHash"]) {
      const da = Object.getOwnPropertyDescriptor(a, k)!, db = Object.getOwnPropertyDescriptor(b, k)!;
      expect(typeof da.get, k).toBe("function");
      expect(da.get, k).toBe(db.get);
    }
  });
});

describe("an IRQ taken while spinning (Xen's spin_lock leaves IRQs enabled)", () => {
  /** pCPU0 holds L for `hold` cycles; pCPU1 spins on it (irqsave or not);
   *  an SPI for pCPU1 arrives while it spins. */
  function spinRace(irqsave: boolean, handlerTakesL: boolean, busyThird = false) {
    const gic = gicOn(busyThird ? 3 : 2);
    const m = new Machine({ gic, profile, scheduler: Sched.time() });
    const L = new SpinLock(m, "L", "L");
    const log: string[] = [];
    gic.writeDist(0, GICD.ITARGETSR + 40, 2, 1); // SPI 40 to CPU 1, edge-triggered
    gic.writeDist(0, GICD.ICFGR + 8, 2 << 16);
    m.setIrqHandler(function* (c) {
      const iar = c.gicRead(gic.config.map.gicc + GICC.IAR);
      log.push(`irq ${iar & 0x3ff} on pCPU${c.id} at ${c.clock}`);
      if (handlerTakesL) { yield* spin_lock(c, L); yield* spin_unlock(c, L); }
      c.gicWrite(gic.config.map.gicc + GICC.EOIR, iar);
      yield P;
    });
    m.spawn(0, "holder", function* (c) {
      yield* spin_lock(c, L);
      log.push(`pCPU0 holds L at ${c.clock}`);
      c.charge(10_000);
      yield P;
      yield* spin_unlock(c, L);
    });
    m.spawn(1, "spinner", function* (c) {
      c.charge(100);
      yield P;
      if (irqsave) {
        const f = yield* spin_lock_irqsave(c, L);
        log.push(`pCPU1 gets L at ${c.clock}`);
        yield* spin_unlock_irqrestore(c, L, f);
      } else {
        yield* spin_lock(c, L);
        log.push(`pCPU1 gets L at ${c.clock}`);
        yield* spin_unlock(c, L);
      }
    });
    // a third pCPU that never stops computing: the run never runs out of work
    if (busyThird) m.spawn(2, "busy", function* (c) { for (;;) { c.charge(1000); yield P; } });
    m.at(3000, "device", (mm) => { mm.setLine(40, 1); mm.setLine(40, 0); });
    const r = m.run(busyThird ? { until: 200_000 } : {});
    return { r, log };
  }

  it("with IRQs enabled the spinner takes its IRQ at once, then resumes spinning and gets the lock when it is released", () => {
    const { r, log } = spinRace(false, false);
    expect(r.reason).toBe("done");
    expect(log[0]).toMatch(/^pCPU0 holds L/);
    expect(log[1]).toMatch(/^irq 40 on pCPU1 at (\d+)$/);
    const irqAt = Number(/at (\d+)$/.exec(log[1]!)![1]);
    expect(irqAt).toBeGreaterThanOrEqual(3000);
    expect(irqAt).toBeLessThan(5000); // long before the holder releases (~10,000)
    expect(log[2]).toMatch(/^pCPU1 gets L at/);
    expect(Number(/at (\d+)$/.exec(log[2]!)![1])).toBeGreaterThan(10_000);
  });

  it("with IRQs masked (irqsave) the IRQ waits until the lock is taken and released", () => {
    const { r, log } = spinRace(true, false);
    expect(r.reason).toBe("done");
    expect(log.map((l) => l.replace(/ at \d+$/, ""))).toEqual(["pCPU0 holds L", "pCPU1 gets L", "irq 40 on pCPU1"]);
  });

  it("a handler that takes the lock its pCPU was spinning on deadlocks: the interrupted spin's ticket comes first", () => {
    const { r } = spinRace(false, true);
    expect(r.reason).toBe("deadlock");
    expect(r.deadlock!.cycle.map((e) => `${e.thread} spins on ${e.lock} held by ${e.holder}`)).toEqual(["pCPU1 spins on L held by pCPU1"]);
  });

  it("that deadlock is found when the lock is handed over, not only once nothing else can run", () => {
    // (the hand-over to the interrupted spin closes the cycle; a pCPU that
    // keeps computing must not hide it until the run's end)
    const { r } = spinRace(false, true, true);
    expect(r.reason).toBe("deadlock");
    expect(r.deadlock!.cycle.map((e) => `${e.thread} spins on ${e.lock} held by ${e.holder}`)).toEqual(["pCPU1 spins on L held by pCPU1"]);
    expect(r.clocks[2]).toBeLessThan(20_000);
  });
});
