// vCPU migration: the scheduler moves a vCPU to another pCPU (Xen's
// vcpu_migrate from context_saved), its saved list registers are restored
// there, and arch_move_irqs points the physical affinity of its routed SPIs
// at the new pCPU, for every design. An interrupt in flight in its list
// register, or a vCPU waiting in WFI, moves with it.
import { describe, expect, it } from "vitest";
import { buildSystem, type System } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { VARIANTS } from "../host/xen/variants.ts";
import { checkVgic } from "../host/check/vgic.ts";
import { GICD } from "../host/hw/regs.ts";

function* boot(g: GuestCpu): Co {
  if (g.v.vcpu_id === 0) {
    yield* gic_dist_init(g);
    yield* gic_set_affinity(g, 40, 1);
    yield* gic_unmask_irq(g, 40);
  }
  yield* gic_cpu_init(g);
}

function observe(sys: System) {
  const got: string[] = [];
  sys.vgic.observer.delivered = (irq, v) => got.push(`${irq}@v${v.vcpu_id}/pCPU${v.processor}`);
  const acks: number[] = [];
  sys.vgic.observer.physicalAck = (_irq, pcpu) => acks.push(pcpu);
  return { got, acks };
}

const fire = (sys: System, at: number) => sys.machine.at(at, "device", (m) => { m.setLine(40, 1); m.setLine(40, 0); });
const targets = (sys: System) => sys.gic.readDist(0, GICD.ITARGETSR + 40, 1);

for (const { name: variant } of VARIANTS) {
  describe(`${variant}: vCPU migration`, () => {
    it("a computing vCPU moves to another pCPU; its SPI's physical affinity follows and it is taken and handled there", () => {
      const sys = buildSystem({
        variant, pcpus: 3, routed: [{ irq: 40, edge: true }],
        programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, function* (g) { yield* boot(g); for (;;) yield* g.work(10_000); }],
      });
      const { got, acks } = observe(sys);
      const v1 = sys.vgic.d.vcpu[1]!;
      sys.machine.at(300_000, "migrate", () => sys.hyp.requestMigration(v1, 2));
      fire(sys, 600_000);
      sys.machine.run({ until: 900_000 });
      expect(sys.vgic.stats.vcpuMigrations).toBe(1);
      expect(v1.processor).toBe(2);
      expect(sys.vgic.pcpu[2]!.current).toBe(v1);
      expect(targets(sys)).toBe(1 << 2);
      expect(acks).toEqual([2]);
      expect(got).toEqual(["40@v1/pCPU2"]);
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
    });

    it("an SPI active in the vCPU's list register moves with it: the guest completes it on the new pCPU", () => {
      const sys = buildSystem({
        variant, pcpus: 3, routed: [{ irq: 40, edge: true }],
        programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, function* (g) { yield* boot(g); for (;;) yield* g.work(10_000); }],
      });
      const { got } = observe(sys);
      const v1 = sys.vgic.d.vcpu[1]!;
      // the handler runs long: the migration lands while 40 is active in an LR
      let eoiOn = -1;
      sys.hyp.guests[1]!.action = function* (g) { sys.hyp.requestMigration(v1, 2); yield* g.work(50_000); eoiOn = g.ctx.id; };
      fire(sys, 300_000);
      sys.machine.run({ until: 900_000 });
      expect(got).toEqual(["40@v1/pCPU1"]);
      expect(eoiOn).toBe(2);
      expect(sys.gic.isActive(0, 40)).toBe(false);
      expect(targets(sys)).toBe(1 << 2);
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
      // and it fires again on its new pCPU
      fire(sys, 950_000);
      sys.machine.run({ until: 1_200_000 });
      expect(got).toEqual(["40@v1/pCPU1", "40@v1/pCPU2"]);
    });

    it("a vCPU waiting in WFI moves while blocked, and its next interrupt wakes it on the new pCPU", () => {
      const sys = buildSystem({
        variant, pcpus: 3, routed: [{ irq: 40, edge: true }],
        programs: [function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }, function* (g) { yield* boot(g); for (;;) yield* g.wfi(); }],
      });
      const { got, acks } = observe(sys);
      const v1 = sys.vgic.d.vcpu[1]!;
      sys.machine.at(300_000, "migrate", () => sys.hyp.requestMigration(v1, 0));
      fire(sys, 600_000);
      sys.machine.run({ until: 900_000 });
      expect(v1.processor).toBe(0);
      expect(acks).toEqual([0]);
      expect(got).toEqual(["40@v1/pCPU0"]);
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
    });
  });
}

describe("requestMigration validates its pCPU", () => {
  it("names the argument and the range", () => {
    const sys = buildSystem({ variant: "xen-4.9", pcpus: 2, programs: [undefined] });
    expect(() => sys.hyp.requestMigration(sys.vgic.d.vcpu[0]!, 2)).toThrow("requestMigration: pCPU 2: expected 0-1");
    expect(() => sys.hyp.requestMigration(sys.vgic.d.vcpu[0]!, 0.5)).toThrow(RangeError);
  });
});
