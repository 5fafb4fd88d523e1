// Thread.enterFn/leaveFn, the layer-free form of Thread.fn that the vGIC's hot
// functions use, must leave the same call stack and trace as fn, including
// when an exception unwinds through it (fn's finally ends those frames; the
// machine ends the rest when the exception leaves the thread).

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";
import { Machine, Sched, SpinLock, defaultProfile, spin_lock, spin_unlock, type Co, type PCpu, type SchedPoint } from "../host/sim/index.ts";

const profile = defaultProfile();
const P: SchedPoint = { label: "p" };

type Style = "fn" | "enter";

/** Run `body` as the named function in one of the two styles. */
function* named<T>(c: PCpu, style: Style, name: string, body: () => Co<T>): Co<T> {
  if (style === "fn") return yield* c.fn(name, body);
  const f = c.enterFn(name);
  const r = yield* body();
  c.leaveFn(f);
  return r;
}

function run(outer: Style, inner: Style, throwAt: "none" | "inner" | "irq") {
  const gic = Gic.create({ cpus: 2 });
  gic.writeDist(0, GICD.CTLR, 1);
  gic.writeDist(0, GICD.ISENABLER + 4, 0xffffffff);
  gic.writeDist(0, GICD.ITARGETSR + 40, 1, 1);
  for (const c of [0, 1]) {
    gic.writeCpu(c, GICC.CTLR, 1);
    gic.writeCpu(c, GICC.PMR, 0xff);
  }
  const m = new Machine({ gic, profile, scheduler: Sched.random(3), trace: true });
  const L = new SpinLock(m, "cls", "L");
  const M = new SpinLock(m, "other", "M");
  m.setIrqHandler((c) => named(c, inner, "handler", function* () {
    c.gicRead(gic.config.map.gicc + GICC.IAR);
    yield P;
    if (throwAt === "irq") throw new Error("in irq");
  }));
  for (const cpu of [0, 1]) {
    m.spawn(cpu, `main${cpu}`, function* (c) {
      for (let k = 0; k < 3; k++) {
        yield* named(c, outer, "outer", function* () {
          yield* spin_lock(c, L);
          yield* named(c, inner, "inner", function* () {
            yield* spin_lock(c, M);
            yield P;
            if (throwAt === "inner" && cpu === 1 && k === 1) throw new Error("in inner");
            yield* spin_unlock(c, M);
          });
          yield* spin_unlock(c, L);
        });
        if (cpu === 0 && k === 0) c.setLine(40, 1);
      }
    });
  }
  const r = m.run({ maxSteps: 500 });
  return { reason: r.reason, error: r.error?.message, hash: r.traceHash, stacks: r.threads.map((t) => t.stack), lockdep: r.lockdep };
}

describe("enterFn / leaveFn", () => {
  for (const throwAt of ["none", "inner", "irq"] as const) {
    it(`matches fn (exception: ${throwAt})`, () => {
      const ref = run("fn", "fn", throwAt);
      if (throwAt !== "none") expect(ref.reason).toBe("error");
      expect(run("enter", "enter", throwAt)).toEqual(ref);
      expect(run("fn", "enter", throwAt)).toEqual(ref);
      expect(run("enter", "fn", throwAt)).toEqual(ref);
    });
  }
});
