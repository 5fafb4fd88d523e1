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
