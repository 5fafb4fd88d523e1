// The shapes V8 gives the machine's hot objects must not change in the
// middle of a command: a number field that begins as a small integer and
// later holds a double changes the shape of every object of its class, and
// all optimised code that relied on the old shape is thrown away at once
// (host/sim/shape.ts). Cycle counts hold doubles sooner or later (wake
// times come from a Float64Array; clocks outgrow small integers in long
// runs), so their fields begin as doubles. Arrays the hot paths index are
// built packed however optimised their builder is (mapPacked): the
// hypervisor's and the new vGIC's per-vCPU arrays are checked built by an
// optimised constructor. Checked with V8's own map comparison.

import v8 from "node:v8";
import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { Machine, Sched, SpinLock, defaultProfile, type Thread } from "../host/sim/index.ts";
import { mapPacked } from "../host/sim/arrays.ts";
import { Rng } from "../host/sim/rng.ts";
import { Hypervisor, NewVgic, buildSystem, type System } from "../host/index.ts";

v8.setFlagsFromString("--allow-natives-syntax");
const sameMap = new Function("a", "b", "return %HaveSameMap(a, b)") as (a: object, b: object) => boolean;

const isSmi = new Function("x", "return %IsSmi(x)") as (x: number) => boolean;
const prepare = new Function("f", "%PrepareFunctionForOptimization(f)") as (f: Function) => void;
const optimiseNext = new Function("f", "%OptimizeFunctionOnNextCall(f)") as (f: Function) => void;

const BIG = 2 ** 40; // a double in V8 (no small integer)

function machine(): Machine {
  return new Machine({ gic: Gic.create({ cpus: 2 }), profile: defaultProfile(), scheduler: Sched.time() });
}

describe("hot objects keep their shape", () => {
  it("a thread whose clocks hold doubles keeps the shape of a fresh one", () => {
    const m = machine();
    const a = m.cpus[0]! as Thread;
    const b = m.cpus[1]! as Thread;
    b.clock = BIG + 1;
    b.quietUntil = BIG + 2;
    b.waitSince = BIG + 3;
    b.charge(BIG); // hyp cycles
    (b as unknown as { idleSince: number }).idleSince = BIG + 4;
    expect(sameMap(a, b)).toBe(true);
    expect(sameMap(a, machine().cpus[0]!)).toBe(true);
  });

  it("a lock released at a double cycle and its class's spin count keep their shapes", () => {
    const m = machine();
    const l1 = new SpinLock(m, "c1", "one");
    const l2 = new SpinLock(m, "c2", "two");
    l2.releasedAt = BIG;
    l2.stats.spinCycles += BIG;
    expect(sameMap(l1, l2)).toBe(true);
    expect(sameMap(l1.stats, l2.stats)).toBe(true);
  });

  it("the cycle fields begin at +0 (the double stored first is gone)", () => {
    const m = machine();
    const t = m.cpus[0]! as unknown as Record<"clock" | "quietUntil" | "waitSince" | "idleSince" | "hypCycles", number>;
    for (const v of [t.clock, t.quietUntil, t.waitSince, t.idleSince, t.hypCycles]) expect(Object.is(v, 0)).toBe(true);
    const l = new SpinLock(m, "c3", "three");
    expect(Object.is(l.releasedAt, 0)).toBe(true);
    expect(l.stats).toEqual({ acquisitions: 0, contended: 0, spinCycles: 0 });
    expect(Object.is(l.stats.spinCycles, 0)).toBe(true);
  });

  it("mapPacked gives arrays one shape whether it runs optimised or not", () => {
    const objects = (xs: readonly number[]) => mapPacked(xs, (x, i) => ({ x, i }));
    const before = [objects([1, 2, 3]), mapPacked([1, 2], () => false)];
    prepare(mapPacked);
    objects([4, 5]);
    objects([6]);
    optimiseNext(mapPacked);
    const after = objects([7, 8, 9]);
    expect(after).toEqual([{ x: 7, i: 0 }, { x: 8, i: 1 }, { x: 9, i: 2 }]);
    expect(sameMap(before[0]!, after)).toBe(true);
    optimiseNext(mapPacked);
    expect(sameMap(before[1]!, mapPacked([3, 4], () => true))).toBe(true);
  });

  it("the hypervisor's and the new vGIC's arrays keep their shapes when their constructors run optimised", () => {
    const build = (): System => buildSystem({ variant: "new-vgic", pcpus: 2, programs: [undefined, undefined, undefined], instantBoot: true });
    const before = build();
    const h0 = before.hyp as unknown as Record<string, object>;
    for (const ctor of [Hypervisor, NewVgic] as Function[]) prepare(ctor);
    build();
    build();
    for (const ctor of [Hypervisor, NewVgic] as Function[]) optimiseNext(ctor);
    const after = build();
    const h1 = after.hyp as unknown as Record<string, object>;
    // (migrationsPending is an Int32Array: one shape by construction)
    for (const k of ["guests", "programs", "gens", "waiting"]) {
      expect(sameMap(h0[k]!, h1[k]!), `Hypervisor.${k}`).toBe(true);
    }
    expect(sameMap((before.vgic as NewVgic).vgic_cpu, (after.vgic as NewVgic).vgic_cpu)).toBe(true);
  });

  it("Rng.below gives small integers as small integers, as the values it always gave", () => {
    const a = new Rng(7), b = new Rng(7);
    // small bounds, and bounds past 2^30 (whose results stay as they come)
    const bounds = [...Array.from({ length: 37 }, (_, i) => i + 1), 0x40000000, 0x40000001, 0x80000000, 0xfffffff0];
    for (let i = 0; i < 2000; i++) {
      const n = bounds[i % bounds.length]!;
      const x = a.below(n);
      if (n <= 0x40000000) expect(isSmi(x), `below(${n})`).toBe(true);
      // the same draw, computed the old way (below(1) draws nothing)
      if (n === 1) {
        expect(x).toBe(0);
        continue;
      }
      const limit = Math.floor(0x100000000 / n) * n;
      let y = b.next();
      while (y >= limit) y = b.next();
      expect(x).toBe(y % n);
    }
  });
});
