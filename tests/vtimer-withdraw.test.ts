// A virtual timer deadline the guest withdraws is not a lost tick, and a
// tick the design drops still is.
//
// The timer's output is a level (ARM ARM, generic timer: high while ENABLE,
// IMASK clear and CVAL <= the counter), and a level interrupt pending and not
// active at the GIC stops being pending when its line falls (IHI 0048B
// 3.2.4). So when the deadline fires and the guest moves CVAL into the future
// before Xen acknowledges PPI 27 at GICC_IAR, Xen never takes it: its
// vtimer_interrupt (xen/arch/arm/time.c, RELEASE-4.8.0/4.9.0/4.11.0) does not
// run, does not set IMASK on the guest's new deadline, and injects nothing.
// The accounting hears of it from the timer (withdrawn), not by guessing: to
// it a withdrawn deadline and a dropped one look the same (raised, never
// injected), which is why a planted drop of every 5th timer injection must
// still be lost, with exit 1.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { VARIANTS, Xen49, registerVariant } from "../host/xen/variants.ts";
import type { PCpu } from "../host/sim/machine.ts";
import type { StackNode } from "../host/sim/lockdep.ts";
import type { Vcpu } from "../host/xen/domain.ts";
import { VTIMER_PPI } from "../host/xen/vgic.ts";
import { privateKey } from "../host/guest/devices.ts";
import { Accounting } from "../host/workload/accounting.ts";
import { runWorkload, type WorkloadResult } from "../host/workload/runner.ts";
import { runCommand } from "../host/workload/command.ts";
import { DropTimerTick, registerDropTimerTick } from "./accounting-plants.ts";
import { workload } from "./workload-helpers.ts";

const NET_STORM = new URL("../workloads/net-storm.json", import.meta.url).pathname;

/** One vCPU that boots and computes: its timer stays loaded on pCPU0. */
function* computing(g: GuestCpu): Co {
  yield* gic_dist_init(g);
  yield* gic_cpu_init(g);
  yield* gic_unmask_irq(g, VTIMER_PPI);
  for (;;) yield* g.work(50_000);
}

/** A booted one-vCPU system whose tick is accounted as `vgic run` does. */
function tickRig(variant: string) {
  const sys = buildSystem({ variant, programs: [computing] });
  sys.machine.run({ until: 200_000 });
  const v0 = sys.vgic.d.vcpu[0]!;
  const timer = v0.virt_timer;
  const key = privateKey(VTIMER_PPI, 0);
  const acc = new Accounting([{ name: "tick", type: "timer", keys: [key] }], 1);
  timer.onRaise = (c) => acc.raise(key, c);
  timer.onWithdraw = () => acc.withdraw(key);
  const handled: number[] = [];
  Object.assign(sys.vgic.observer, {
    injecting: (irq: number, v: Vcpu, merges: boolean) => acc.onInjecting(irq, v, merges),
    merged: (irq: number, v: Vcpu) => acc.onMerged(irq, v),
    delivered: (irq: number, v: Vcpu, c: number) => { handled.push(c); acc.onDelivered(irq, v, c); },
    completed: (irq: number, v: Vcpu, c: number) => acc.onCompleted(irq, v, c),
  });
  const tally = () => {
    const { bySource, errors } = acc.tally(sys.vgic, sys.gic, []);
    expect(errors).toEqual([]);
    return bySource.map((c) => ({ raised: c.raised, delivered: c.delivered, lost: c.lost, withdrawn: c.withdrawn }));
  };
  return { sys, timer, handled, tally };
}

// the guest's CNTV_CVAL writes at the cycles named (no trap: the timer
// registers are the guest's while it runs): a deadline at T, then at T,
// right after the timer's own event fired, CVAL moved on to LATER
const A = 300_000, T = 400_000, LATER = 600_000;

for (const { name: variant } of VARIANTS) {
  describe(`${variant}: a fired deadline the guest moves before Xen takes PPI 27`, () => {
    it("is withdrawn: the PPI stops being pending, Xen injects nothing for it, and the moved deadline fires on time", () => {
      const { sys, timer, handled, tally } = tickRig(variant);
      const { machine, gic } = sys;
      const seen: Record<string, boolean> = {};
      machine.at(A, "guest sets CVAL", () => {
        timer.program(T, A);
        // (queued after the timer's own event at T: runs right after it fires)
        machine.at(T, "guest moves CVAL", () => {
          seen.firedPending = gic.isPending(0, VTIMER_PPI);
          seen.firedActive = gic.isActive(0, VTIMER_PPI);
          timer.program(LATER, T);
          seen.afterPending = gic.isPending(0, VTIMER_PPI);
        });
      });
      machine.run({ until: 1_000_000 });
      // the reviewer's order: fired, pending at the GIC, not yet acknowledged
      expect(seen).toEqual({ firedPending: true, firedActive: false, afterPending: false });
      // no handler for the withdrawn deadline; one for the moved one, after it
      // (Xen did not mask the new deadline: it never ran vtimer_interrupt)
      expect(handled).toHaveLength(1);
      expect(handled[0]!).toBeGreaterThanOrEqual(LATER);
      expect(handled[0]! - LATER).toBeLessThan(20_000);
      expect(sys.vgic.stats.vtimerIrqs).toBe(1);
      expect(tally()).toEqual([{ raised: 1, delivered: 1, lost: 0, withdrawn: 1 }]);
    });
  });
}

describe("a fired deadline the guest rewrites to a cycle already passed", () => {
  it("keeps the output high: one interrupt, nothing withdrawn, nothing raised twice", () => {
    const { sys, timer, handled, tally } = tickRig("xen-4.9");
    sys.machine.at(A, "guest sets CVAL", () => {
      timer.program(T, A);
      sys.machine.at(T, "guest rewrites CVAL", () => timer.program(T - 10, T));
    });
    sys.machine.run({ until: 1_000_000 });
    expect(handled).toHaveLength(1);
    expect(handled[0]! - T).toBeLessThan(20_000);
    expect(tally()).toEqual([{ raised: 1, delivered: 1, lost: 0, withdrawn: 0 }]);
  });
});

/** xen-4.9 where the guest's CVAL write lands once Xen has acknowledged PPI
 *  27 and before its vtimer_interrupt (not possible on one pCPU, whose guest
 *  does not run while Xen handles the IRQ; the order after the ack only). */
class LateCval extends Xen49 {
  activeAtWrite: boolean | null = null;
  override *host_irq(ctx: PCpu, irq: number, fn: StackNode): Co {
    const cur = this.pcpu[ctx.id]!.current;
    if (irq === VTIMER_PPI && cur !== null && this.activeAtWrite === null) {
      this.activeAtWrite = this.machine.gic.isActive(ctx.id, VTIMER_PPI);
      cur.virt_timer.program(LATER, ctx.clock);
    }
    yield* super.host_irq(ctx, irq, fn);
  }
}
registerVariant({ name: "test-late-cval", parent: "xen-4.9", summary: "test only: the guest's CVAL write after Xen's acknowledge", create: (m, o) => new LateCval(m, o) });

describe("a fired deadline Xen has already acknowledged", () => {
  it("is owed: vtimer_interrupt sets IMASK on the guest's new deadline and injects the old one (time.c)", () => {
    const { sys, timer, handled, tally } = tickRig("test-late-cval");
    sys.machine.at(A, "guest sets CVAL", () => timer.program(T, A));
    sys.machine.run({ until: 1_000_000 });
    expect((sys.vgic as LateCval).activeAtWrite).toBe(true);
    // delivered at the old deadline; the new one stays masked (the guest
    // unmasks it with its next write of CNTV_CTL)
    expect(handled).toHaveLength(1);
    expect(handled[0]! - T).toBeLessThan(20_000);
    expect(timer.armedAt).toBe(Infinity);
    expect(tally()).toEqual([{ raised: 1, delivered: 1, lost: 0, withdrawn: 0 }]);
  });
});

describe("npm start's workload (seed-migrate) on xen-4.9", () => {
  /** the run's result through the command line (--json), with the GIC's
   *  latency set in a copy of the workload when one is given */
  async function seedRun(gicLatency?: number): Promise<WorkloadResult> {
    const w = workload("seed-migrate");
    const file = join(mkdtempSync(join(tmpdir(), "vgic-withdraw-")), "seed-migrate.json");
    writeFileSync(file, JSON.stringify(gicLatency === undefined ? w : { ...w, machine: { ...w.machine, gicLatency } }));
    const o = { out: "", err: "" };
    const io = { out: (s: string) => { o.out += s; }, err: (s: string) => { o.err += s; }, tty: false };
    expect(await runCommand([file, "--variant", "xen-4.9", "--json"], io), o.err).toBe(0);
    return (JSON.parse(o.out) as { results: WorkloadResult[] }).results[0]!;
  }

  it("withdraws no tick with no GIC latency: a PPI 27 pending when Xen returns to the guest is taken before its first instruction", async () => {
    // a PPI 27 that is pending when the guest would run is taken first: at
    // a guest step, at schedule_tail (a deadline virt_timer_restore reloaded
    // after it passed), or at the eret (one that passed during
    // leave_hypervisor_tail, IRQs masked: what this run needs)
    const tick = (await seedRun()).interrupts.sources.find((s) => s.name === "tick")!;
    expect(tick.raised).toBeGreaterThan(0);
    expect(tick.withdrawn).toBe(0);
    expect(tick.delivered).toBe(tick.raised);
  });

  it("with a GIC latency of 50 cycles counts the ticks the guest withdrew apart (--json): none lost, every raise delivered", async () => {
    // the PPI now reaches the pCPU 50 cycles after the deadline, and the
    // guest's loop, which computes until the tick is due and then programs
    // the timer for what is due next, moves CVAL on in that gap
    const r = await seedRun(50);
    const tick = r.interrupts.sources.find((s) => s.name === "tick")!;
    expect(tick.withdrawn).toBeGreaterThan(0);
    // the count the README quotes
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8").replace(/\s+/g, " ");
    const m = /`tick: (\d+) withdrawn \(not raised\): \.\.\.` for `npm start`'s workload on xen-4\.9 with `machine\.gicLatency` 50/.exec(readme);
    expect(m, "the README quotes the run").not.toBeNull();
    expect(tick.withdrawn).toBe(Number(m![1]));
    expect([tick.lost, tick.pending, tick.dropped]).toEqual([0, 0, 0]);
    expect(tick.delivered).toBe(tick.raised);
    expect(r.findings.filter((f) => f.message.startsWith("tick:"))).toEqual([]);
  });
});

describe("an Accounting withdrawal", () => {
  it("takes back only a raise no injection served: an injected one cannot be withdrawn", () => {
    const sys = buildSystem({ variant: "xen-4.9", programs: [computing] });
    const v0 = sys.vgic.d.vcpu[0]!;
    const key = privateKey(VTIMER_PPI, 0);
    const acc = new Accounting([{ name: "tick", type: "timer", keys: [key] }], 1);
    acc.raise(key, 100);
    acc.onInjecting(VTIMER_PPI, v0, false);
    acc.withdraw(key);
    expect(acc.errors).toEqual(["IRQ 27: a raise withdrawn with none open that no injection served"]);
    expect(acc.raised[key]).toBe(1);
    // the newest raise, not the oldest: an older one the design dropped stays open
    acc.raise(key, 200);
    acc.raise(key, 300);
    acc.withdraw(key);
    expect([acc.raised[key], acc.withdrawn[key]]).toEqual([2, 1]);
  });
});

describe("a tick the design drops is still lost", () => {
  const every5th = registerDropTimerTick("test-drop-tick-5", 5);

  let planted: { r: WorkloadResult; plant: DropTimerTick } | undefined;
  const plantedRun = () => {
    if (planted === undefined) {
      const { result, sys } = runWorkload(workload("net-storm"), { variant: every5th, duration: 6_000_000 });
      planted = { r: result, plant: sys.vgic as unknown as DropTimerTick };
    }
    return planted;
  };

  it("net-storm with every 5th virtual timer injection dropped: tick loses each dropped one", () => {
    const { r, plant } = plantedRun();
    const tick = r.interrupts.sources.find((s) => s.name === "tick")!;
    expect(plant.dropped).toBeGreaterThanOrEqual(20);
    // every dropped tick was raised, never injected, never delivered: lost
    // (none of them withdrawn, since Xen had taken each one)
    expect(tick.lost).toBe(plant.dropped);
    expect(tick.lostReasons).toEqual({ "vanished: never delivered and pending nowhere at the end": plant.dropped });
    expect(tick.raised).toBe(tick.delivered + tick.coalesced + tick.dropped + tick.lost + tick.pending);
    expect(r.interrupts.accountingErrors).toEqual([]);
  });

  it("vgic run --fail-on lost exits 1 naming the tick's losses", async () => {
    const o = { out: "", err: "" };
    const io = { out: (s: string) => { o.out += s; }, err: (s: string) => { o.err += s; }, tty: false };
    expect(await runCommand([NET_STORM, "--variant", every5th, "--fail-on", "lost", "--duration", "6000000"], io)).toBe(1);
    const n = plantedRun().plant.dropped;
    expect(o.out).toContain(`\n  lost: tick: ${n} raised instance(s) lost (${n} vanished`);
    expect(o.err).toMatch(/test-drop-tick-5: fails on lost/);
  });
});
