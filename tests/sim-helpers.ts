// Shared by the machine tests.
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";

/** Distributor and CPU interfaces on, every SGI/PPI/SPI enabled at priority 0. */
export function gicOn(cpus: number): Gic {
  const g = Gic.create({ cpus });
  g.writeDist(0, GICD.CTLR, 1);
  for (let c = 0; c < cpus; c++) {
    g.writeDist(c, GICD.ISENABLER, 0xffffffff);
    g.writeCpu(c, GICC.CTLR, 1);
    g.writeCpu(c, GICC.PMR, 0xff);
  }
  for (let w = 1; w < g.config.irqs / 32; w++) g.writeDist(0, GICD.ISENABLER + 4 * w, 0xffffffff);
  return g;
}
