import { describe, expect, it } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";

const SPI = 40;

function* boot(g: GuestCpu): Co {
  if (g.v.vcpu_id === 0) yield* gic_dist_init(g);
  yield* gic_cpu_init(g);
}

describe("Xen vGIC on the machine: injection of a routed SPI", () => {
  for (const variant of ["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9"]) {
    it(`${variant}: an edge SPI raised by a device reaches the guest handler on the running target vCPU`, () => {
      const delivered: Array<[number, number]> = [];
      const sys = buildSystem({
        variant, routed: [{ irq: SPI, edge: true }],
        programs: [
          function* (g) {
            yield* boot(g);
            yield* gic_set_affinity(g, SPI, 0);
            yield* gic_unmask_irq(g, SPI);
            for (let i = 0; i < 250; i++) yield* g.work(1000);
          },
          function* (g) { yield* boot(g); for (let i = 0; i < 250; i++) yield* g.work(1000); },
        ],
      });
      sys.vgic.observer.delivered = (irq, v, t) => delivered.push([irq, v.vcpu_id]);
      sys.machine.at(150_000, "device", (m) => { m.setLine(SPI, 1); m.setLine(SPI, 0); });
      const r = sys.machine.run({ until: 400_000 });
      expect(r.error).toBeUndefined();
      expect(r.reason).not.toBe("deadlock");
      expect(delivered).toEqual([[SPI, 0]]);
      // deactivated through the HW list register: not active any more
      expect(sys.gic.isActive(0, SPI)).toBe(false);
    });
  }
});

describe("traces show the guest's vCPUs", () => {
  it("the Chrome export has one track per vCPU with balanced guest-mode slices and the delivered vIRQ", () => {
    const sys = buildSystem({
      routed: [{ irq: SPI, edge: true }], trace: true, instantBoot: true,
      programs: [
        function* (g) { yield* gic_cpu_init(g); yield* gic_set_affinity(g, SPI, 1); yield* gic_unmask_irq(g, SPI); yield* g.work(20_000); },
        function* (g) { yield* gic_cpu_init(g); yield* g.work(60_000); },
      ],
    });
    sys.machine.at(40_000, "device", (m) => { m.setLine(SPI, 1); m.setLine(SPI, 0); });
    sys.machine.run({ until: 200_000 });
    const events = JSON.parse(sys.machine.trace!.toChromeJson()).traceEvents as Array<{ ph: string; pid: number; tid: number; name: string; args?: { name?: string } }>;
    const guest = events.filter((e) => e.pid === 1);
    const names = guest.filter((e) => e.ph === "M" && e.name === "thread_name").map((e) => e.args!.name);
    expect(names).toEqual(["vCPU0 (d1v0)", "vCPU1 (d1v1)"]);
    for (const tid of [0, 1]) {
      const b = guest.filter((e) => e.tid === tid && e.ph === "B").length;
      const e = guest.filter((x) => x.tid === tid && x.ph === "E").length;
      expect(b).toBeGreaterThan(0);
      expect(b - e).toBeLessThanOrEqual(1); // a vCPU still in guest mode at the end has an open slice
    }
    expect(guest.filter((e) => e.ph === "i" && e.name === `vIRQ ${SPI}`).map((e) => e.tid)).toEqual([1]);
  });
});
