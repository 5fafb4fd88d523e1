// The guest's GIC driver, modelled on Linux's drivers/irqchip/irq-gic.c
// (gic_dist_init, gic_cpu_init, gic_unmask_irq, gic_set_affinity,
// gic_raise_softirq): every distributor access traps, every CPU-interface
// access goes to GICV.

import type { Co } from "../sim/api.ts";
import { GICD, GICV, sgir } from "../hw/regs.ts";
import type { GuestCpu } from "./guest.ts";

/** Linux's default priority for device interrupts (GICD_INT_DEF_PRI). */
export const GICD_INT_DEF_PRI = 0xa0;

/** gic_dist_init, run by the boot vCPU: distributor off, SPIs level and
 *  targeted at vCPU 0 with the default priority, all disabled, then on. */
export function* gic_dist_init(g: GuestCpu): Co {
  yield* g.writeDist(GICD.CTLR, 0);
  const typer = yield* g.readDist(GICD.TYPER);
  const irqs = Math.min(32 * ((typer & 0x1f) + 1), 1020);
  for (let i = 32; i < irqs; i += 16) yield* g.writeDist(GICD.ICFGR + i / 4, 0);
  for (let i = 32; i < irqs; i += 4) yield* g.writeDist(GICD.ITARGETSR + i, 0x01010101);
  for (let i = 32; i < irqs; i += 4) yield* g.writeDist(GICD.IPRIORITYR + i, GICD_INT_DEF_PRI * 0x01010101);
  for (let i = 32; i < irqs; i += 32) yield* g.writeDist(GICD.ICENABLER + i / 8, 0xffffffff);
  yield* g.writeDist(GICD.CTLR, 1);
}

/** gic_cpu_init on every vCPU: banked SGI/PPI priorities, SGIs enabled,
 *  priority mask open (0xf0), CPU interface on. */
export function* gic_cpu_init(g: GuestCpu): Co {
  for (let i = 0; i < 32; i += 4) yield* g.writeDist(GICD.IPRIORITYR + i, GICD_INT_DEF_PRI * 0x01010101);
  yield* g.writeDist(GICD.ISENABLER, 0x0000ffff);
  g.writeCpu(GICV.PMR, 0xf0);
  g.writeCpu(GICV.CTLR, g.eoiModeSplit ? 1 | (1 << 9) : 1);
}

/** gic_set_type: bit 2F+1 of ICFGR, edge or level. */
export function* gic_set_type(g: GuestCpu, irq: number, edge: boolean): Co {
  const off = GICD.ICFGR + Math.floor(irq / 16) * 4;
  const shift = (irq % 16) * 2 + 1;
  const v = yield* g.readDist(off);
  yield* g.writeDist(off, edge ? v | (1 << shift) : v & ~(1 << shift));
}

/** Priority byte of one interrupt. */
export function* gic_set_priority(g: GuestCpu, irq: number, priority: number): Co {
  yield* g.writeDist(GICD.IPRIORITYR + irq, priority & 0xff, 1);
}

/** gic_set_affinity: one ITARGETSR byte naming one vCPU. */
export function* gic_set_affinity(g: GuestCpu, irq: number, vcpu: number): Co {
  yield* g.writeDist(GICD.ITARGETSR + irq, 1 << vcpu, 1);
}

/** gic_unmask_irq / gic_mask_irq. */
export function* gic_unmask_irq(g: GuestCpu, irq: number): Co {
  yield* g.writeDist(GICD.ISENABLER + 4 * (irq >> 5), 1 << (irq & 31));
}
export function* gic_mask_irq(g: GuestCpu, irq: number): Co {
  yield* g.writeDist(GICD.ICENABLER + 4 * (irq >> 5), 1 << (irq & 31));
}

/** gic_raise_softirq: an IPI through GICD_SGIR (target list). */
export function* gic_raise_softirq(g: GuestCpu, targets: number, sgi: number): Co {
  yield* g.writeDist(GICD.SGIR, sgir(0, targets, sgi));
}
