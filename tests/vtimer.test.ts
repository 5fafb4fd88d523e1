// The virtual timer as Xen 4.8 virtualises it (xen/arch/arm/vtimer.c):
// while its vCPU runs, the hardware timer fires PPI 27 and vtimer_interrupt
// injects it into current; when the vCPU is switched out (blocked in WFI,
// its pCPU running the idle vCPU), virt_timer_save arms a software timer
// that expires through the hypervisor timer PPI 26 and injects into the
// vCPU, unblocking it, no earlier than timer_slop (50 us) after it was set
// (xen/common/timer.c). Every variant shares this path.
import { describe, expect, it } from "vitest";
import { buildSystem, type System } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_raise_softirq, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { VARIANTS } from "../host/xen/variants.ts";
import { checkVgic } from "../host/check/vgic.ts";
import { TIMER_HYP_PPI, VTIMER_PPI } from "../host/xen/vgic.ts";

const HZ = 2.4e9; // the default profile's clock
const SLOP = HZ * 50e-6; // timer_slop in cycles: 120,000

function* boot(g: GuestCpu): Co {
  if (g.v.vcpu_id === 0) yield* gic_dist_init(g);
  yield* gic_cpu_init(g);
  yield* gic_unmask_irq(g, VTIMER_PPI);
}

function record(sys: System): Array<{ irq: number; v: number; at: number }> {
  const out: Array<{ irq: number; v: number; at: number }> = [];
  sys.vgic.observer.delivered = (irq, v, at) => out.push({ irq, v: v.vcpu_id, at });
  return out;
}

/** A vCPU that boots, programs its timer `delay` cycles ahead, and waits in WFI. */
function sleeper(delay: number, armedAt: number[]) {
  return function* (g: GuestCpu): Co {
    yield* boot(g);
    armedAt.push(g.ctx.clock);
    g.v.virt_timer.program(g.ctx.clock + delay, g.ctx.clock);
    for (;;) yield* g.wfi();
  };
}

for (const { name: variant } of VARIANTS) {
  describe(`${variant}: virtual timer`, () => {
    it("a vCPU waiting in WFI gets its tick through Xen's software timer, at the deadline", () => {
      const armed: number[] = [];
      const sys = buildSystem({ variant, programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, sleeper(1_000_000, armed)] });
      const got = record(sys);
      sys.machine.run({ until: 3_000_000 });
      const deadline = armed[0]! + 1_000_000;
      expect(got.map((d) => `${d.irq}@v${d.v}`)).toEqual([`${VTIMER_PPI}@v1`]);
      // the software timer raised PPI 26 on the vCPU's pCPU at the deadline
      // (the deadline is far beyond timer_slop); the injection, the switch
      // back in and the guest's acknowledge take a few thousand cycles
      expect(got[0]!.at).toBeGreaterThanOrEqual(deadline);
      expect(got[0]!.at - deadline).toBeLessThan(20_000);
      expect(sys.vgic.stats.vtimerSoftInjections).toBe(1);
      expect(sys.vgic.stats.vtimerIrqs).toBe(0);
      expect(sys.gic.isActive(1, TIMER_HYP_PPI)).toBe(false);
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
    });

    it("a deadline closer than timer_slop when the vCPU blocks fires timer_slop later (xen/common/timer.c)", () => {
      const armed: number[] = [];
      // 20,000 cycles: still ahead when the blocked vCPU's timer is saved
      // (one that has passed by then fires at once: vtimer-past-due.test.ts)
      const sys = buildSystem({ variant, programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, sleeper(20_000, armed)] });
      const got = record(sys);
      sys.machine.run({ until: 3_000_000 });
      expect(got.map((d) => d.irq)).toEqual([VTIMER_PPI]);
      // blocked a WFI trap after programming: the hypervisor timer waits
      // for MAX(deadline, now + timer_slop)
      expect(got[0]!.at - armed[0]!).toBeGreaterThanOrEqual(SLOP);
      expect(got[0]!.at - armed[0]!).toBeLessThan(SLOP + 20_000);
      expect(sys.vgic.stats.vtimerSoftInjections).toBe(1);
    });

    it("a deadline reached while the vCPU runs fires the hardware timer: vtimer_interrupt injects into current, once", () => {
      const sys = buildSystem({
        variant,
        programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, function* (g) {
          yield* boot(g);
          g.v.virt_timer.program(g.ctx.clock + 100_000, g.ctx.clock);
          yield* g.work(500_000);
          for (;;) yield* g.wfi();
        }],
      });
      const got = record(sys);
      sys.machine.run({ until: 2_000_000 });
      expect(got.map((d) => `${d.irq}@v${d.v}`)).toEqual([`${VTIMER_PPI}@v1`]);
      expect(sys.vgic.stats.vtimerIrqs).toBe(1);
      expect(sys.vgic.stats.vtimerSoftInjections).toBe(0);
      // vtimer_interrupt masked the timer: its output is down and it stays
      // masked through later switches until the guest reprograms it
      expect(sys.gic.isPending(1, VTIMER_PPI)).toBe(false);
      expect(sys.vgic.d.vcpu[1]!.virt_timer.armedAt).toBe(Infinity);
    });

    it("two vCPUs sharing a pCPU, both waiting in WFI, each get their own ticks", () => {
      const armed: number[] = [];
      const sys = buildSystem({
        variant, pcpus: 1, placement: [0, 0],
        programs: [sleeper(300_000, armed), sleeper(700_000, armed)],
      });
      const got = record(sys);
      sys.machine.run({ until: 3_000_000 });
      expect(got.map((d) => `${d.irq}@v${d.v}`).sort()).toEqual([`${VTIMER_PPI}@v0`, `${VTIMER_PPI}@v1`]);
      for (const d of got) expect(d.at).toBeGreaterThanOrEqual(armed[d.v]! + (d.v === 0 ? 300_000 : 700_000));
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
    });

    it("a virtual IPI to a vCPU blocked in WFI, its pCPU idle, unblocks it and is handled", () => {
      const sys = buildSystem({
        variant,
        programs: [function* (g) {
          yield* boot(g);
          yield* g.work(300_000);
          yield* gic_raise_softirq(g, 0b10, 2);
          for (;;) yield* g.wfi();
        }, function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }],
      });
      const got = record(sys);
      let idleWhenSent = false;
      sys.vgic.observer.injecting = (irq, v) => { if (irq === 2) idleWhenSent = sys.vgic.pcpu[v.processor]!.current === null && v.blocked; };
      sys.machine.run({ until: 1_000_000 });
      expect(idleWhenSent).toBe(true);
      expect(got.map((d) => `${d.irq}@v${d.v}`)).toEqual(["2@v1"]);
    });
  });
}

describe("a deadline the timer cannot hold", () => {
  it("NaN, Infinity or a negative cycle is a RangeError naming the deadline, and the timer stays as it was", () => {
    const sys = buildSystem({ variant: "xen-4.9", programs: [undefined, undefined] });
    const t = sys.vgic.d.vcpu[0]!.virt_timer;
    t.program(5000, 0);
    for (const bad of [NaN, Infinity, -1]) {
      expect(() => t.program(bad, 0)).toThrow(`virt_timer.program: deadline ${bad}: expected a finite cycle >= 0`);
    }
    expect(t.armedAt).toBe(5000);
  });
});
