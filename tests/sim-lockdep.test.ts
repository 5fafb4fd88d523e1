// Lock order checking and schedule search on the ABBA program: the inversion
// is reported even when a run does not deadlock; dfs, pct and random find the
// deadlock, and replaying the schedule reproduces it event for event.

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import {
  Machine, Sched, SpinLock, defaultProfile, exploreDfs, scheduleFromString, scheduleToString,
  spin_lock, spin_lock_irqsave, spin_trylock, spin_unlock, spin_unlock_irqrestore,
  type PCpu, type RunResult, type Scheduler,
} from "../host/sim/index.ts";

const profile = defaultProfile();

/** pCPU0 takes A then B (vgic_store_itargetsr-like), pCPU1 takes B then A
 *  (gic_update_one_lr-like); pCPU1 starts `stagger` cycles late. */
function abba(scheduler: Scheduler, stagger = 0, trace = false): Machine {
  const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler, trace });
  const A = new SpinLock(m, "rank", "rank_lock");
  const B = new SpinLock(m, "vgic", "vgic_lock(v1)");
  m.spawn(0, "vgic_store_itargetsr", function* (c) {
    const f = yield* spin_lock_irqsave(c, A);
    yield* c.fn("vgic_migrate_irq", function* () {
      const g = yield* spin_lock_irqsave(c, B);
      c.cost("listOp");
      yield* spin_unlock_irqrestore(c, B, g);
    });
    yield* spin_unlock_irqrestore(c, A, f);
  });
  m.spawn(1, "gic_clear_lrs", function* (c) {
    if (stagger > 0) {
      c.charge(stagger, "guest");
      yield* c.point("guest");
    }
    const f = yield* spin_lock_irqsave(c, B);
    yield* c.fn("gic_update_one_lr", function* () {
      const g = yield* spin_lock_irqsave(c, A);
      c.cost("listOp");
      yield* spin_unlock_irqrestore(c, A, g);
    });
    yield* spin_unlock_irqrestore(c, B, f);
  });
  return m;
}

function expectAbbaDeadlock(r: RunResult) {
  expect(r.reason).toBe("deadlock");
  const cycle = r.deadlock!.cycle;
  expect(cycle).toHaveLength(2);
  expect(new Set(cycle.map((e) => `${e.thread} waits ${e.lock} held by ${e.holder}`))).toEqual(new Set([
    "pCPU0 waits vgic_lock(v1) held by pCPU1",
    "pCPU1 waits rank_lock held by pCPU0",
  ]));
}

describe("lockdep", () => {
  it("reports the ABBA inversion with both acquisition stacks in a run that does not deadlock", () => {
    const r = abba(Sched.time(), 10_000).run();
    expect(r.reason).toBe("done");
    expect(r.lockOrder).toEqual({ rank: ["vgic"], vgic: ["rank"] });
    const inv = r.lockdep.filter((x) => x.kind === "inversion");
    expect(inv).toHaveLength(1);
    const stacks = inv[0]!.acquisitions.map((a) => `${a.thread} ${a.stack.join(" > ")}`);
    expect(stacks).toEqual([
      "pCPU1 gic_clear_lrs > spin_lock_irqsave(vgic_lock(v1))",
      "pCPU1 gic_clear_lrs > gic_update_one_lr > spin_lock_irqsave(rank_lock)",
      "pCPU0 vgic_store_itargetsr > spin_lock_irqsave(rank_lock)",
      "pCPU0 vgic_store_itargetsr > vgic_migrate_irq > spin_lock_irqsave(vgic_lock(v1))",
    ]);
    expect(inv[0]!.message).toMatch(/vgic -> rank .*rank -> vgic/);
  });

  it("a consistent order is not reported", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.random(3) });
    const A = new SpinLock(m, "a", "a"), B = new SpinLock(m, "b", "b");
    for (const cpu of [0, 1]) {
      m.spawn(cpu, "ab", function* (c) {
        yield* spin_lock(c, A);
        yield* spin_lock(c, B);
        yield* spin_unlock(c, B);
        yield* spin_unlock(c, A);
      });
    }
    const r = m.run();
    expect(r.reason).toBe("done");
    expect(r.lockdep).toEqual([]);
  });

  it("recursive acquisition is reported and deadlocks on the thread itself", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    const L = new SpinLock(m, "rank", "rank_lock");
    m.spawn(0, "vgic_store_itargetsr", function* (c) {
      yield* spin_lock(c, L);
      yield* c.fn("vgic_get_virq_priority", () => spin_lock(c, L));
    });
    const r = m.run();
    expect(r.reason).toBe("deadlock");
    expect(r.deadlock!.cycle).toEqual([{ thread: "pCPU0", lock: "rank_lock", lockClass: "rank", holder: "pCPU0" }]);
    expect(r.lockdep.map((x) => x.kind)).toEqual(["recursive"]);
    expect(r.lockdep[0]!.acquisitions[1]!.stack).toEqual(["vgic_store_itargetsr", "vgic_get_virq_priority", "spin_lock(rank_lock)"]);
  });

  /** One pCPU whose IRQ handler takes and drops a lock of class
   *  `handlerClass` (the lock is returned) between irq_enter and irq_exit,
   *  as Xen's do_IRQ does, its GIC ready for an SGI. */
  function handlerTakes(handlerClass: string) {
    const g = Gic.create({ cpus: 1 });
    const m = new Machine({ gic: g, profile, scheduler: Sched.time() });
    const L = new SpinLock(m, handlerClass, handlerClass);
    m.setIrqHandler(function* (c: PCpu) {
      const id = c.gicRead(g.config.map.gicc + 0x0c);
      c.irq_enter();
      yield* spin_lock(c, L);
      yield* spin_unlock(c, L);
      c.irq_exit();
      c.gicWrite(g.config.map.gicc + 0x10, id);
    });
    g.writeDist(0, 0, 1);
    g.writeDist(0, 0x100, 0xffff);
    g.writeCpu(0, 0, 1);
    g.writeCpu(0, 4, 0xff);
    /** GICD_SGIR: SGI 1 to this CPU, taken at the next point */
    const sgiToSelf = (c: PCpu) => c.gicWrite(g.config.map.gicd + 0xf00, (2 << 24) | 1);
    return { m, L, sgiToSelf };
  }

  it("irq-unsafe use: a class taken in the IRQ handler and elsewhere with IRQs enabled", () => {
    const { m, L, sgiToSelf } = handlerTakes("irq_desc");
    m.spawn(0, "setup_irq", function* (c) {
      sgiToSelf(c);
      yield* c.point("after sgi");
      yield* spin_lock(c, L);
      yield* spin_unlock(c, L);
    });
    const r = m.run();
    expect(r.reason).toBe("done");
    expect(r.lockdep.map((x) => x.kind)).toEqual(["irq-unsafe"]);
    expect(r.lockdep[0]!.acquisitions.map((a) => a.irq)).toEqual(["hardirq", "irqs-on"]);
  });

  it("hard-IRQ context is irq_enter to irq_exit, not the whole exception: a lock the handler takes before irq_enter (Xen's entry work, enter_hypervisor_head) or after irq_exit is taken with IRQs off, and makes no irq-unsafe report", () => {
    // Xen's do_trap_irq runs enter_hypervisor_head, then gic_interrupt,
    // whose do_IRQ calls irq_enter (RELEASE-4.8.0 xen/arch/arm/traps.c,
    // irq.c): the entry work only ever runs when the guest was interrupted,
    // never interrupting hypervisor code that holds its locks
    const run = (where: "entry" | "irq" | "exit") => {
      const g = Gic.create({ cpus: 1 });
      const m = new Machine({ gic: g, profile, scheduler: Sched.time() });
      const L = new SpinLock(m, "gicv2", "gicv2.lock");
      const take = function* (c: PCpu) { yield* spin_lock(c, L); yield* spin_unlock(c, L); };
      const seen: string[] = [];
      m.setIrqHandler(function* (c: PCpu) {
        seen.push(`${c.irqDepth}`);
        if (where === "entry") yield* take(c);
        const id = c.gicRead(g.config.map.gicc + 0x0c);
        c.irq_enter();
        seen.push(`${c.irqDepth}`);
        if (where === "irq") yield* take(c);
        c.irq_exit();
        c.gicWrite(g.config.map.gicc + 0x10, id);
        if (where === "exit") yield* take(c);
      });
      g.writeDist(0, 0, 1);
      g.writeDist(0, 0x100, 0xffff);
      g.writeCpu(0, 0, 1);
      g.writeCpu(0, 4, 0xff);
      m.spawn(0, "pcpu", function* (c) {
        c.gicWrite(g.config.map.gicd + 0xf00, (2 << 24) | 1); // SGI 1 to self
        yield* c.point("after sgi");
        yield* take(c); // with IRQs enabled
      });
      const r = m.run();
      expect(r.reason).toBe("done");
      expect(seen, where).toEqual(["0", "1"]);
      return r.lockdep;
    };
    expect(run("entry")).toEqual([]);
    expect(run("exit")).toEqual([]);
    const inIrq = run("irq");
    expect(inIrq.map((x) => x.kind)).toEqual(["irq-unsafe"]);
    expect(inIrq[0]!.acquisitions.map((a) => a.irq)).toEqual(["hardirq", "irqs-on"]);
  });

  it("irq_exit without irq_enter is an error naming the thread, not a negative depth", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 1 }), profile, scheduler: Sched.time() });
    m.spawn(0, "pcpu", function* (c) { c.irq_exit(); });
    const r = m.run();
    expect(r.reason).toBe("error");
    expect(r.error?.message).toBe("pCPU0: irq_exit without irq_enter");
  });

  it("irq inversion (lockdep's HARDIRQ-safe -> HARDIRQ-unsafe): a class taken in an IRQ handler is held while taking one that is taken elsewhere with IRQs enabled", () => {
    // Xen 4.9's shape: the IRQ handler takes `vgic` (vgic_vcpu_inject_irq);
    // with IRQs off, a path holds `vgic` and takes `gicv2` (gic_update_one_lr
    // -> irq_set_affinity); arch_move_irqs takes `gicv2` with IRQs on. A CPU
    // holding gicv2 with IRQs on takes an IRQ that wants vgic, held by a CPU
    // waiting for gicv2. With the last acquisition irqsave, nothing is reported.
    const run = (lastIrqsOn: boolean) => {
      const { m, L: V, sgiToSelf } = handlerTakes("vgic");
      const G = new SpinLock(m, "gicv2", "gicv2");
      m.spawn(0, "pcpu", function* (c) {
        sgiToSelf(c); // the handler takes vgic
        yield* c.point("after sgi");
        const f = yield* spin_lock_irqsave(c, V);
        yield* spin_lock(c, G);
        yield* spin_unlock(c, G);
        yield* spin_unlock_irqrestore(c, V, f);
        if (lastIrqsOn) {
          yield* spin_lock(c, G);
          yield* spin_unlock(c, G);
        } else {
          const f2 = yield* spin_lock_irqsave(c, G);
          yield* spin_unlock_irqrestore(c, G, f2);
        }
      });
      return m.run();
    };
    const r = run(true);
    expect(r.reason).toBe("done");
    expect(r.lockdep.map((x) => `${x.kind}:${x.classes.join("-")}`)).toEqual(["irq-inversion:vgic-gicv2"]);
    expect(r.lockdep[0]!.acquisitions.map((a) => `${a.lockClass}/${a.irq}`)).toEqual(["vgic/hardirq", "vgic/irqs-off", "gicv2/irqs-off", "gicv2/irqs-on"]);
    expect(r.lockdep[0]!.message).toMatch(/^irq lock inversion: vgic is taken in hard-IRQ context \(pCPU0: .*\) and vgic -> gicv2 is a lock order, while gicv2 is taken with IRQs enabled/);
    expect(run(false).lockdep).toEqual([]);
  });

  it("a trylock in an IRQ handler makes its class neither IRQ-safe nor -unsafe: it never waits (Linux's mark_usage skips trylocks)", () => {
    const run = (trylock: boolean) => {
      const { m, sgiToSelf } = handlerTakes("other");
      const S = new SpinLock(m, "S", "S"), U = new SpinLock(m, "U", "U");
      m.setIrqHandler(function* (c: PCpu) {
        const id = c.gicRead(m.gic.config.map.gicc + 0x0c);
        c.irq_enter();
        if (trylock) { if (yield* spin_trylock(c, S)) yield* spin_unlock(c, S); }
        else { yield* spin_lock(c, S); yield* spin_unlock(c, S); }
        c.irq_exit();
        c.gicWrite(m.gic.config.map.gicc + 0x10, id);
      });
      m.spawn(0, "pcpu", function* (c) {
        sgiToSelf(c);
        yield* c.point("after sgi");
        const f = yield* spin_lock_irqsave(c, S);
        yield* spin_lock(c, U);
        yield* spin_unlock(c, U);
        yield* spin_unlock_irqrestore(c, S, f);
        yield* spin_lock(c, U); // U with IRQs on
        yield* spin_unlock(c, U);
        yield* spin_lock(c, S); // and S too: with a waiting lock in the handler, irq-unsafe
        yield* spin_unlock(c, S);
      });
      return m.run();
    };
    const r = run(true);
    expect(r.reason).toBe("done");
    expect(r.lockdep).toEqual([]);
    // the same program with a lock that waits in the handler is reported twice
    const w = run(false);
    expect(w.reason).toBe("done");
    expect(w.lockdep.map((x) => `${x.kind}:${x.classes.join("-")}`).sort()).toEqual(["irq-inversion:S-U", "irq-unsafe:S"]);
  });

  it("trylock never waits and adds no order edge", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.time() });
    const A = new SpinLock(m, "a", "a"), B = new SpinLock(m, "b", "b");
    const got: boolean[] = [];
    m.spawn(0, "ab", function* (c) {
      yield* spin_lock(c, A);
      yield* spin_lock(c, B);
      c.charge(1000);
      yield* c.point();
      yield* spin_unlock(c, B);
      yield* spin_unlock(c, A);
    });
    m.spawn(1, "b_then_try_a", function* (c) {
      c.charge(2000);
      yield* c.point();
      yield* spin_lock(c, B);
      got.push(yield* spin_trylock(c, A));
      if (got[0]) yield* spin_unlock(c, A);
      yield* spin_unlock(c, B);
    });
    const r = m.run();
    expect(r.reason).toBe("done");
    expect(got).toEqual([true]);
    expect(r.lockdep).toEqual([]);
  });
});

describe("schedules", () => {
  it("dfs finds the ABBA deadlock and replay reproduces it with the same trace hash", () => {
    const found = exploreDfs((s) => abba(s, 10_000, true), { preemptionBound: 1 });
    expect(found.firstFailure).toBeDefined();
    const first = found.firstFailure!.result;
    expectAbbaDeadlock(first);
    expect(first.traceHash).toMatch(/^[0-9a-f]{64}$/);
    // The schedule is JSON, and its text form round-trips.
    const json = JSON.parse(JSON.stringify(found.firstFailure!.schedule));
    expect(scheduleFromString(scheduleToString(json))).toEqual(json);
    const again = abba(Sched.replay(json), 10_000, true).run();
    expectAbbaDeadlock(again);
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.steps).toBe(first.steps);
    expect(again.clocks).toEqual(first.clocks);
  });

  it("dfs without preemptions cannot deadlock ABBA, and exhausts its schedules", () => {
    const r = exploreDfs((s) => abba(s, 10_000), { preemptionBound: 0 });
    expect(r.firstFailure).toBeUndefined();
    expect(r.exhausted).toBe(true);
    expect(r.schedulesRun).toBeGreaterThan(1);
  });

  it("more preemptions never explore fewer schedules", () => {
    const counts = [0, 1, 2].map((b) => exploreDfs((s) => {
      const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: s });
      for (const cpu of [0, 1]) m.spawn(cpu, "pts", function* (c) { yield* c.point(); yield* c.point(); yield* c.point(); });
      return m;
    }, { preemptionBound: b }));
    expect(counts.every((x) => x.exhausted)).toBe(true);
    const n = counts.map((x) => x.schedulesRun);
    expect(n[0]).toBeLessThan(n[1]!);
    expect(n[1]).toBeLessThan(n[2]!);
  });

  it("pct and random find the ABBA deadlock from fixed seeds, reproducibly", () => {
    for (const make of [(seed: number) => Sched.pct(2, seed, { steps: 20 }), (seed: number) => Sched.random(seed)]) {
      const seeds = Array.from({ length: 30 }, (_, i) => i + 1);
      const hit = seeds.find((seed) => abba(make(seed), 10_000).run().reason === "deadlock");
      expect(hit, make(1).name).toBeDefined();
      const a = abba(make(hit!), 10_000, true).run();
      const b = abba(make(hit!), 10_000, true).run();
      expectAbbaDeadlock(a);
      expect(b.traceHash).toBe(a.traceHash);
      // Replaying the recorded schedule gives the same run.
      expect(abba(Sched.replay(a.schedule), 10_000, true).run().traceHash).toBe(a.traceHash);
    }
  });

  it("the time scheduler deadlocks ABBA when both start together", () => {
    expectAbbaDeadlock(abba(Sched.time()).run());
  });

  it("a schedule that does not fit the program is an error result", () => {
    const r = abba(Sched.replay({ v: 1, picks: [0, 7] }), 10_000).run();
    expect(r.reason).toBe("error");
    expect(r.error!.message).toMatch(/diverged at decision 1: thread 7 is not enabled \(enabled: \[0,1\]\)/);
    const short = abba(Sched.replay({ v: 1, picks: [0] }), 10_000).run();
    expect(short.reason).toBe("error");
    expect(short.error!.message).toMatch(/schedule ended after 1 decisions/);
  });
});
