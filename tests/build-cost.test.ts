// Building a system is made cheap without changing what is built: the
// model's part of a build is replayed from an earlier identical build
// (host/hw/replay.ts), pending_irq structures and ranks are made on first
// use (host/xen/domain.ts), and a released model instance gets back only its
// state area. Each test compares with the way the system was built before:
// every model call made, every structure made up front.
import { afterEach, describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { STATE_END } from "../host/hw/layout.ts";
import { replayBuild, replayCounts, setReplay } from "../host/hw/replay.ts";
import { GICD } from "../host/hw/regs.ts";
import { Sched } from "../host/sim/sched.ts";
import { SCENARIOS, scenarioNamed } from "../host/xen/scenarios.ts";
import { buildSystem, type SystemOptions } from "../host/xen/system.ts";
import { PendingIrq } from "../host/xen/pending.ts";
import type { Vgic } from "../host/xen/vgic.ts";
import type { NewVgic } from "../host/xen/new-vgic/vgic.ts";
import { VGIC_CONFIG_EDGE, VGIC_CONFIG_LEVEL } from "../host/xen/new-vgic/irq.ts";

afterEach(() => setReplay(true));

// a new instance of the scenarios' configuration (nothing released yet in
// this file: not a reused one)
const fresh = new Uint8Array(Gic.create({ cpus: 3, irqs: 128, listRegisters: 4 }).raw.memory.buffer).slice();

const state = (g: Gic) => Array.from(g.memoryWords().subarray(0, STATE_END >>> 2));

/** A scenario's build and traced run, as a value to compare. */
function scenarioRun(name: string, variant: string, seed: number, memory?: "weak") {
  const run = scenarioNamed(name).build(variant, Sched.random(seed), { trace: true, ...(memory ? { memory } : {}) });
  const built = state(run.sys.gic);
  const r = run.sys.machine.run({ maxSteps: 100_000 });
  const out = {
    built, traceHash: r.traceHash, steps: r.steps, reason: r.reason, schedule: r.schedule.picks.join(","),
    findings: run.check(r), delivered: [...run.delivered], clocks: r.clocks, lockdep: r.lockdep.map((x) => x.message),
    after: state(run.sys.gic),
  };
  run.sys.gic.release();
  return out;
}

describe("the new vGIC's vgic_irq structures made on first use", () => {
  it("every SGI, PPI and SPI as vgic_vcpu_early_init and domain_vgic_init leave it, the same objects vgic_get_irq gives", () => {
    const s = buildSystem({ variant: "new-vgic", pcpus: 2, irqs: 96, instantBoot: true, routed: [{ irq: 40, edge: true }], programs: [undefined, undefined] });
    const vgic = s.vgic as NewVgic;
    const v1 = vgic.d.vcpu[1]!;
    const sgi = vgic.vgic_get_irq(v1, 2), spi = vgic.vgic_get_irq(null, 70);
    expect(() => vgic.vgic_get_irq(null, 96)).toThrow(/beyond the domain's 96 interrupts/);
    expect(vgic.dist.spis).toHaveLength(64);
    expect(vgic.dist.spis[70 - 32]).toBe(spi);
    vgic.dist.spis.forEach((irq, i) => {
      expect(irq.intid).toBe(32 + i);
      expect(irq).toBe(vgic.vgic_get_irq(null, 32 + i));
      expect([irq.enabled, irq.config, irq.target_vcpu, irq.targets, irq.irq_lock.name]).toEqual([false, VGIC_CONFIG_EDGE, null, 0, `d1.irq${32 + i}`]);
      expect([irq.hw, irq.hwintid]).toEqual(32 + i === 40 ? [true, 40] : [false, 0]);
    });
    vgic.vgic_cpu.forEach((vc, k) => {
      expect(vc.private_irqs).toHaveLength(32);
      vc.private_irqs.forEach((irq, i) => {
        expect(irq).toBe(vgic.vgic_get_irq(vgic.d.vcpu[k]!, i));
        expect([irq.intid, irq.enabled, irq.config, irq.target_vcpu, irq.targets, irq.irq_lock.name])
          .toEqual([i, i < 16, i < 16 ? VGIC_CONFIG_EDGE : VGIC_CONFIG_LEVEL, vgic.d.vcpu[k], 1 << k, `d1v${k}.irq${i}`]);
        expect([irq.vcpu, irq.pending_latch, irq.line_level, irq.active, irq.priority]).toEqual([null, false, false, false, 0]);
      });
    });
    expect(vgic.vgic_cpu[1]!.private_irqs[2]).toBe(sgi);
    s.gic.release();
  });
});

describe("a released model instance", () => {
  it("is changed by use only in its state area, the part a reused instance gets back", () => {
    for (const name of ["stale-target-inject", "rank-abba", "vcpu-migrate-inflight"]) {
      const run = scenarioNamed(name).build("xen-4.8", Sched.random(1));
      const r = run.sys.machine.run({ maxSteps: 100_000 });
      expect(r.steps).toBeGreaterThan(10);
      const mem = new Uint8Array(run.sys.gic.raw.memory.buffer);
      expect(mem.length).toBe(fresh.length);
      expect(mem.subarray(STATE_END)).toEqual(fresh.subarray(STATE_END));
      run.sys.gic.release();
    }
  });
});

describe("a build replayed from an earlier one", () => {
  it("is the build that makes every model call: same model state, same run, trace and findings, in every scenario and design", () => {
    const variants = ["xen-4.8", "xen-4.9", "new-vgic"];
    for (const s of SCENARIOS) {
      for (const variant of variants) {
        setReplay(false);
        const live = scenarioRun(s.name, variant, 7);
        setReplay(true);
        // the third build of a kind is recorded, the fourth answered from the record
        for (let i = 0; i < 3; i++) scenarioRun(s.name, variant, 7);
        const before = replayCounts();
        const replayed = scenarioRun(s.name, variant, 7);
        const after = replayCounts();
        expect(after.replayed - before.replayed, `${s.name} ${variant}: calls replayed`).toBeGreaterThan(20);
        expect(after.live - before.live, `${s.name} ${variant}: calls made`).toBe(0);
        expect(replayed, `${s.name} under ${variant}`).toEqual(live);
      }
    }
  });

  it("under weak memory too (the hypervisor's GICD writes of the boot wait in store buffers)", () => {
    setReplay(false);
    const live = scenarioRun("affinity-barrier", "xen-4.9-no-wmb", 3, "weak");
    setReplay(true);
    for (let i = 0; i < 3; i++) scenarioRun("affinity-barrier", "xen-4.9-no-wmb", 3, "weak");
    const before = replayCounts().replayed;
    expect(scenarioRun("affinity-barrier", "xen-4.9-no-wmb", 3, "weak")).toEqual(live);
    expect(replayCounts().replayed).toBeGreaterThan(before);
  });

  it("goes on with the real model where a build's calls leave the record, from the same state", () => {
    // the same configuration with different routed SPIs and placements: the
    // boot's calls share the distributor set-up, then differ
    const configs: Array<Omit<SystemOptions, "programs">> = [
      { pcpus: 3, routed: [{ irq: 40, edge: true }], placement: [0, 1, 2] },
      { pcpus: 3, routed: [{ irq: 40, edge: true }, 41], placement: [0, 1, 2] },
      { pcpus: 3, routed: [{ irq: 33, edge: false }], placement: [2, 2, 0] },
      { pcpus: 3, routed: [{ irq: 40, edge: true }], placement: [1, 0] },
    ];
    const build = (c: Omit<SystemOptions, "programs">, trace: boolean) => {
      const sys = buildSystem({
        ...c, instantBoot: true, trace, scheduler: Sched.random(5), replay: true,
        programs: (c.placement ?? []).map(() => function* (g) { yield* g.work(500); yield* g.readDist(0x4); }),
      });
      const built = state(sys.gic);
      const r = sys.machine.run({ maxSteps: 50_000 });
      const out = { built, traceHash: r.traceHash, steps: r.steps, clocks: r.clocks, after: state(sys.gic), contention: r.contention };
      sys.gic.release();
      return out;
    };
    setReplay(false);
    const live = configs.map((c) => build(c, true));
    setReplay(true);
    // each round adds what was seen often enough, until every call is in
    // the tree; every build on the way is the live one
    let liveCalls = -1, rounds = 0;
    while (liveCalls !== 0) {
      expect(rounds++, "rounds until all four are recorded").toBeLessThan(16);
      const before = replayCounts();
      configs.forEach((c, i) => expect(build(c, true), `config ${i}, round ${rounds}`).toEqual(live[i]));
      const after = replayCounts();
      liveCalls = after.live - before.live;
      // the first round leaves the tree (the distributor set-up the
      // scenarios recorded is shared) and goes on with the model
      if (rounds === 1) expect(liveCalls).toBeGreaterThan(0);
    }
    expect(rounds).toBeGreaterThan(2);
  });
});

describe("a model port kept from during a build", () => {
  it("goes straight to the model once the build is over: nothing replayed, nothing logged", () => {
    setReplay(true);
    const gic = Gic.create({ cpus: 2, irqs: 64 });
    const kept = replayBuild(gic, () => gic.raw);
    expect(kept).not.toBe(gic.raw);
    const before = replayCounts();
    for (let i = 0; i < 100; i++) kept.mmioWrite(0, gic.config.map.gicd + GICD.ISENABLER + 4, 1 << (i & 31), 4);
    expect(replayCounts()).toEqual(before);
    // the writes reached the model
    expect(gic.readDist(0, GICD.ISENABLER + 4) >>> 0).toBe(0xffffffff);
    gic.release();
  });
});

describe("pending_irq structures made on first use", () => {
  const sys = () => buildSystem({ pcpus: 2, irqs: 96, instantBoot: true, routed: [{ irq: 40, edge: true }], programs: [undefined, undefined] });

  it("a reader of all of them sees every SPI and private interrupt in its initial state, the same objects irq_to_pending gives", () => {
    const s = sys();
    const d = (s.vgic as Vgic).d;
    const p45 = d.irq_to_pending(d.vcpu[1]!, 45);
    const p3 = d.irq_to_pending(d.vcpu[1]!, 3);
    expect(d.spis).toHaveLength(64);
    d.spis.forEach((p, i) => {
      expect(p).toBeInstanceOf(PendingIrq);
      expect(p.irq).toBe(32 + i);
      expect(p).toBe(d.irq_to_pending(d.vcpu[0]!, 32 + i));
    });
    expect(d.spis[45 - 32]).toBe(p45);
    expect(d.spis[40 - 32]!.desc?.irq).toBe(40);
    expect(d.spis.filter((p) => p.desc !== null).map((p) => p.irq)).toEqual([40]);
    for (const v of d.vcpu) {
      expect(v.private_irqs.map((p) => p.irq)).toEqual(Array.from({ length: 32 }, (_, i) => i));
      expect(v.private_irqs.every((p, i) => p === d.irq_to_pending(v, i))).toBe(true);
    }
    expect(d.vcpu[1]!.private_irqs[3]).toBe(p3);
    expect(d.vcpu[0]!.private_irqs[3]).not.toBe(p3);
    const fresh = new PendingIrq(50, null);
    for (const p of [...d.spis.filter((x) => x.irq !== 40), ...d.vcpu.flatMap((v) => v.private_irqs)]) {
      expect([p.status, p.lr, p.inflight, p.lr_queue, p.priority, p.desc]).toEqual([fresh.status, fresh.lr, null, null, fresh.priority, null]);
    }
    s.gic.release();
  });

  it("a number outside the domain's interrupts finds none, as an array index out of range did", () => {
    const s = sys();
    const d = (s.vgic as Vgic).d;
    for (const irq of [96, 200, 31.5, -1, Number.NaN]) expect(d.irq_to_pending(d.vcpu[0]!, irq)).toBeUndefined();
    expect(d.rank_irq(d.vcpu[0]!, 96)).toBeUndefined();
    expect(d.rank_irq(d.vcpu[0]!, 95)!.index).toBe(2);
    expect(d.spis).toHaveLength(64);
    s.gic.release();
  });

  it("the checks walk only those made, in the order of the full walk (SPIs, then each vCPU's own)", () => {
    const s = sys();
    const d = (s.vgic as Vgic).d;
    const made = [d.irq_to_pending(d.vcpu[1]!, 7), d.irq_to_pending(d.vcpu[0]!, 60), d.irq_to_pending(d.vcpu[0]!, 27)];
    made[0]!.set_bit(0);
    const walked = d.madePendingIrqs();
    expect(walked.length).toBeLessThan(20);
    const all = [...d.spis, ...d.vcpu.flatMap((v) => v.private_irqs)];
    const positions = walked.map((p) => all.indexOf(p));
    expect(positions.every((x, i) => x >= 0 && (i === 0 || x > positions[i - 1]!))).toBe(true);
    for (const p of made) expect(walked).toContain(p);
    // the rest are as made: nothing set
    for (const p of all) if (!walked.includes(p)) expect([p.status, p.inflight, p.lr_queue]).toEqual([0, null, null]);
    expect(d.madePendingIrqs()).toEqual(all);
    s.gic.release();
  });
});

