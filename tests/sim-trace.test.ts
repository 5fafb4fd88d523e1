// Traces: determinism of the hash, Chrome trace-event JSON, the narrative,
// and that an untraced machine records nothing.

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";
import {
  Machine, Sched, SpinLock, defaultProfile, spin_lock, spin_lock_irqsave, spin_unlock, spin_unlock_irqrestore,
  type Scheduler,
} from "../host/sim/index.ts";

const profile = defaultProfile();

/** Three pCPUs and a device thread contending for two locks, with an SPI
 *  raised by an event and handled on pCPU0. */
function workload(scheduler: Scheduler, trace = true): Machine {
  const gic = Gic.create({ cpus: 3 });
  gic.writeDist(0, GICD.CTLR, 1);
  gic.writeDist(0, GICD.ISENABLER + 4, 0xffffffff);
  for (let c = 0; c < 3; c++) {
    gic.writeCpu(c, GICC.CTLR, 1);
    gic.writeCpu(c, GICC.PMR, 0xff);
  }
  const m = new Machine({ gic, profile, scheduler, trace });
  const rank = new SpinLock(m, "rank", "rank0");
  const vgic = new SpinLock(m, "vgic", "vgic(v0)");
  m.setIrqHandler(function* (c) {
    const iar = c.gicRead(gic.config.map.gicc + GICC.IAR);
    yield* c.fn("do_IRQ", function* () {
      const f = yield* spin_lock_irqsave(c, vgic);
      c.cost("listOp");
      yield* spin_unlock_irqrestore(c, vgic, f);
    });
    c.setLine(40, 0);
    c.gicWrite(gic.config.map.gicc + GICC.EOIR, iar);
  });
  for (let cpu = 0; cpu < 3; cpu++) {
    m.spawn(cpu, `worker${cpu}`, function* (c) {
      for (let i = 0; i < 4; i++) {
        yield* c.fn("vgic_v2_distr_mmio_write", function* () {
          const f = yield* spin_lock_irqsave(c, rank);
          c.cost("mmioTrap");
          yield* c.point("rank update");
          yield* spin_unlock_irqrestore(c, rank, f);
        });
        c.charge(500 * (cpu + 1), "guest");
        yield* c.point("guest");
      }
    });
  }
  m.spawnThread("dev", function* (t) {
    yield* t.delay(700);
    yield* spin_lock(t, vgic);
    yield* spin_unlock(t, vgic);
  });
  m.at(1500, "SPI 40", (mm) => mm.setLine(40, 1));
  return m;
}

describe("trace hash", () => {
  it("is identical over repeated runs and differs for a different seed", () => {
    const a = workload(Sched.random(42)).run();
    const b = workload(Sched.random(42)).run();
    const c = workload(Sched.random(43)).run();
    expect(a.reason).toBe("done");
    expect(a.traceHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b.traceHash).toBe(a.traceHash);
    expect(b.schedule).toEqual(a.schedule);
    expect(c.schedule).not.toEqual(a.schedule);
    expect(c.traceHash).not.toBe(a.traceHash);
    expect(workload(Sched.time()).run().traceHash).toBe(workload(Sched.time()).run().traceHash);
  });

  it("is reproduced by replaying the recorded schedule", () => {
    const a = workload(Sched.pct(3, 7, { steps: 100 })).run();
    const r = workload(Sched.replay(a.schedule)).run();
    expect(r.traceHash).toBe(a.traceHash);
  });

  it("is absent, and nothing is recorded, when tracing is off", () => {
    const m = workload(Sched.time(), false);
    const r = m.run();
    expect(m.trace).toBeNull();
    expect(r.traceHash).toBeUndefined();
    // Same run as the traced one: tracing does not change behaviour.
    const t = workload(Sched.time()).run();
    expect(r.clocks).toEqual(t.clocks);
    expect(r.steps).toBe(t.steps);
  });
});

describe("Chrome trace-event export", () => {
  it("parses as JSON with the fields Perfetto needs", () => {
    const m = workload(Sched.time());
    m.run();
    const parsed = JSON.parse(m.trace!.toChromeJson()) as { traceEvents: Record<string, unknown>[] };
    expect(Array.isArray(parsed.traceEvents)).toBe(true);
    expect(parsed.traceEvents.length).toBeGreaterThan(50);
    for (const e of parsed.traceEvents) {
      expect(typeof e.ph).toBe("string");
      expect(typeof e.ts).toBe("number");
      expect(typeof e.pid).toBe("number");
      expect(typeof e.tid).toBe("number");
      expect(typeof e.name).toBe("string");
      if (e.ph === "X") expect(e.dur as number).toBeGreaterThanOrEqual(0);
    }
    const names = parsed.traceEvents.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => (e.args as { name: string }).name);
    expect(names).toEqual(expect.arrayContaining(["pCPU0", "pCPU1", "pCPU2", "dev", "events"]));
    const phs = new Set(parsed.traceEvents.map((e) => e.ph));
    for (const ph of ["M", "B", "E", "i"]) expect(phs.has(ph), ph).toBe(true);
    // B and E balance per thread (every function returned).
    const depth = new Map<number, number>();
    for (const e of parsed.traceEvents) {
      if (e.ph === "B") depth.set(e.tid as number, (depth.get(e.tid as number) ?? 0) + 1);
      if (e.ph === "E") depth.set(e.tid as number, (depth.get(e.tid as number) ?? 0) - 1);
      expect(depth.get(e.tid as number) ?? 0).toBeGreaterThanOrEqual(0);
    }
    expect([...depth.values()].every((d) => d === 0)).toBe(true);
    // Timestamps are microseconds at the profile's clock rate.
    const end = Math.max(...parsed.traceEvents.map((e) => e.ts as number));
    expect(end).toBeCloseTo((Math.max(...m.cpus.map((c) => c.clock)) * 1e6) / profile.hz, 6);
  });
});

describe("narrative", () => {
  it("tells who spins on which lock held by whom", () => {
    const m = new Machine({ gic: Gic.create({ cpus: 2 }), profile, scheduler: Sched.time(), trace: true });
    const L = new SpinLock(m, "rank", "rank lock");
    m.spawn(0, "vgic_store_itargetsr", function* (c) {
      yield* spin_lock(c, L);
      c.charge(100);
      yield* c.point();
      yield* spin_unlock(c, L);
    });
    m.spawn(1, "gic_clear_lrs", function* (c) {
      c.charge(50);
      yield* c.point();
      yield* c.fn("gic_update_one_lr", function* () {
        yield* spin_lock(c, L);
        yield* spin_unlock(c, L);
      });
    });
    m.run();
    const text = m.trace!.narrative();
    expect(text).toContain("[20] pCPU0: vgic_store_itargetsr takes rank lock");
    expect(text).toContain(`[50] pCPU1: gic_update_one_lr spins on rank lock held by pCPU0`);
    const c = profile.costs;
    const release = c.lockAcquire.cycles + 100 + c.lockRelease.cycles;
    expect(text).toContain(`[${release}] pCPU1: gic_update_one_lr gets rank lock after spinning ${release - 50} cycles`);
  });

  it("tells its last lines from the last events: the end of the whole narrative", () => {
    const m = workload(Sched.random(3));
    m.run();
    const tr = m.trace!;
    tr.add(0, 0, "note", "note", 0, 0, "two lines\n  \nof a note\n");
    for (const steps of [false, true]) {
      const all = tr.narrative({ steps }).split("\n").filter((l) => l.trim() !== "");
      expect(all.length).toBeGreaterThan(20);
      expect(all.slice(-2)).toEqual(["[0] pCPU0: two lines", "of a note"]);
      for (const n of [0, 1, 2, 3, 7, 20, all.length, all.length + 5]) {
        expect(tr.narrativeTail(n, { steps })).toEqual(all.slice(Math.max(0, all.length - n)));
      }
    }
  });

  it("cut to its tail from the start, keeps what the tail tells and refuses the rest", () => {
    const whole = workload(Sched.random(3));
    whole.run();
    const cut = workload(Sched.random(3));
    cut.trace!.keepTail(7);
    cut.run();
    expect(cut.trace!.count).toBe(whole.trace!.count);
    expect(cut.trace!.events.length).toBeLessThan(2 * 7 + 64);
    expect(whole.trace!.events.length).toBeGreaterThan(2 * 7 + 64);
    for (const n of [0, 1, 7]) expect(cut.trace!.narrativeTail(n)).toEqual(whole.trace!.narrativeTail(n));
    expect(() => cut.trace!.narrativeTail(8)).toThrow(/keepTail/);
    expect(() => cut.trace!.narrativeTail(7, { steps: true })).toThrow(/keepTail/);
    expect(() => cut.trace!.narrative()).toThrow(/keepTail/);
    expect(() => cut.trace!.hash()).toThrow(/keepTail/);
    expect(() => cut.trace!.toChrome()).toThrow(/keepTail/);
    expect(() => cut.trace!.streamTo(() => {})).toThrow(/keepTail/);
  });
});

/** A traced two-pCPU xen-4.9 system, a guest trapping and computing, run
 *  for 200,000 cycles and stopped mid-run. */
async function tracedSystem() {
  const { buildSystem } = await import("../host/xen/system.ts");
  const sys = buildSystem({
    variant: "xen-4.9", trace: true,
    programs: [function* (g) { for (;;) { yield* g.readDist(GICD.TYPER); yield* g.work(5000); } }, undefined],
  });
  sys.machine.run({ until: 200_000 });
  return sys;
}

describe("the Chrome trace of a whole system", () => {
  it("closes every slice it opens (per track, in order), names the registers an access hits, and sets no displayTimeUnit", async () => {
    const { registerName } = await import("../host/sim/trace.ts");
    // a booted system cut off mid-run: pCPU loops and guest-mode slices are open
    const sys = await tracedSystem();
    const doc = sys.machine.trace!.toChrome() as { traceEvents: Array<{ ph: string; pid: number; tid: number; name: string; args?: Record<string, unknown> }> };
    expect("displayTimeUnit" in doc).toBe(false);
    const depth = new Map<string, string[]>();
    for (const e of doc.traceEvents) {
      const k = `${e.pid}:${e.tid}`;
      if (e.ph === "B") depth.set(k, [...(depth.get(k) ?? []), e.name]);
      if (e.ph === "E") {
        const st = depth.get(k) ?? [];
        expect(st.at(-1), `${k} closes ${e.name}`).toBe(e.name);
        st.pop();
      }
    }
    for (const [k, st] of depth) expect(st, k).toEqual([]);
    // gicv2_dist_init's physical writes (the guest's GICD_TYPER reads trap and are emulated)
    const ctlr = doc.traceEvents.filter((e) => e.name === "write GICD_CTLR");
    expect(ctlr.length).toBe(2);
    expect(ctlr[1]!.args).toMatchObject({ address: "0x8000000", value: "0x1", register: "GICD_CTLR" });
    expect(doc.traceEvents.some((e) => e.name === "write GICD_ITARGETSR+0x20")).toBe(true);
    expect(registerName("GICD+0x104")).toBe("GICD_ISENABLER+0x4");
    expect(registerName("GICH+0x108")).toBe("GICH_LR+0x8");
    expect(registerName("GICD+0xf40")).toBeNull();
  });
});

describe("--trace-events keeps only the groups asked for", () => {
  it("a trace limited to guest and irq has only vCPU slices, virtual IRQs and IRQ slices, still balanced; unknown groups are named", async () => {
    const { traceKindsOf } = await import("../host/sim/trace.ts");
    const sys = await tracedSystem();
    const all = sys.machine.trace!.toChrome().traceEvents;
    const some = sys.machine.trace!.toChrome(traceKindsOf("guest,irq")).traceEvents;
    const kept = some.filter((e) => e.ph !== "M");
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(all.filter((e) => e.ph !== "M").length / 4);
    const cats = new Set(kept.map((e) => e.cat));
    expect(cats.has("guest")).toBe(true);
    for (const c of cats) expect(["guest", "virq", "irq"]).toContain(c);
    const open = new Map<string, number>();
    for (const e of kept) if (e.ph === "B" || e.ph === "E") open.set(`${e.pid}:${e.tid}`, (open.get(`${e.pid}:${e.tid}`) ?? 0) + (e.ph === "B" ? 1 : -1));
    for (const [k, n] of open) expect(n, k).toBe(0);
    expect(() => traceKindsOf("guest,nope")).toThrow("--trace-events: unknown group 'nope': expected fn, irq, lock, mmio, line, idle, guest, step, memory, flow, counter, other or all");
    expect(traceKindsOf("all").size).toBeGreaterThan(20);
  });
});
