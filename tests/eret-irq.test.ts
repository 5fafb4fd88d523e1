// A physical IRQ pending when Xen returns to the guest is taken at the eret.
//
// leave_hypervisor_tail runs with IRQs masked; the eret restores the
// guest's PSTATE, and with HCR_EL2.IMO set a pending physical IRQ is taken
// to EL2 at the first instruction boundary after it, whatever the guest's
// own mask. So the guest runs no instruction between its return and that
// IRQ: here an SPI raised while its vCPU is on the way back from a trapped
// GICD read has been injected (its list register written, the virtual IRQ
// line up) by the time the read returns to the guest.

import { describe, expect, it } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { VARIANTS } from "../host/xen/variants.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_set_type, gic_unmask_irq } from "../host/guest/driver.ts";
import { GICD } from "../host/hw/regs.ts";
import { Line } from "../host/hw/gic.ts";

const SPI = 40;

function returnWithIrq(variant: string) {
  let armed = false;
  let seen: number | null = null;
  const sys = buildSystem({
    variant, routed: [{ irq: SPI, edge: true }],
    programs: [
      function* (g) {
        yield* gic_dist_init(g);
        yield* gic_cpu_init(g);
        yield* gic_set_type(g, SPI, true);
        yield* gic_set_affinity(g, SPI, 0);
        yield* gic_unmask_irq(g, SPI);
        armed = true;
        yield* g.readDist(GICD.TYPER);
        // the guest's first instruction after the trap's return
        seen = sys.machine.visibleLines(g.ctx.id) & Line.VIRQ;
        for (;;) yield* g.work(10_000);
      },
    ],
  });
  let traps = 0;
  sys.vgic.observer.enteringGuest = () => {
    // the trap's return, IRQs masked: the device raises the SPI now
    if (!armed) return;
    armed = false;
    traps = sys.vgic.stats.traps;
    sys.machine.setLine(SPI, 1);
    sys.machine.setLine(SPI, 0);
  };
  sys.machine.run({ until: 1_000_000 });
  return { seen, traps };
}

describe("a physical IRQ pending at the return to the guest", () => {
  for (const { name: variant } of VARIANTS) {
    it(`${variant}: is taken at the eret, so the guest's first instruction sees its virtual IRQ`, () => {
      const { seen, traps } = returnWithIrq(variant);
      expect(traps).toBeGreaterThan(0);
      expect(seen).toBe(Line.VIRQ);
    });
  }
});
