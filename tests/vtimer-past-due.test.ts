// A virtual timer deadline that passed before its vCPU was switched out,
// and that the GIC had not yet signalled to Xen, fires at once through the
// software timer: xen/common/timer.c timer_softirq_action (RELEASE-4.9.0)
// executes every timer whose expiry is before NOW() and applies timer_slop
// only to the next hypervisor timer deadline.
import { describe, expect, it } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { VTIMER_PPI } from "../host/xen/vgic.ts";

const SLOP = 2.4e9 * 50e-6; // timer_slop in cycles of the default profile

describe("a past-due virtual timer saved by virt_timer_save", () => {
  for (const variant of ["xen-4.8", "xen-4.9", "new-vgic"]) {
    it(`${variant}: is injected at once, not timer_slop later`, () => {
      let armed = -1;
      const sys = buildSystem({
        variant, pcpus: 1,
        // the GIC signals PPI 27 5,000 cycles after it rises: the vCPU has
        // blocked and been switched out by then, its timer saved as raised
        gic: { propagationDelay: 5_000 },
        programs: [function* (g: GuestCpu): Co {
          yield* gic_dist_init(g);
          yield* gic_cpu_init(g);
          yield* gic_unmask_irq(g, VTIMER_PPI);
          armed = g.ctx.clock;
          g.v.virt_timer.program(armed + 100, armed);
          for (;;) yield* g.wfi();
        }],
      });
      const got: number[] = [];
      sys.vgic.observer.delivered = (irq, _v, at) => { if (irq === VTIMER_PPI) got.push(at); };
      sys.machine.run({ until: 1_000_000 });
      expect(got).toHaveLength(1);
      expect(sys.vgic.stats.vtimerSoftInjections).toBe(1);
      // the switch out, the software timer's hypervisor interrupt (itself
      // 5,000 cycles late) and the switch back in: far from timer_slop
      expect(got[0]! - armed).toBeLessThan(SLOP / 4);
    });
  }
});
