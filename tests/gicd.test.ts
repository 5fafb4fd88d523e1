// Specification tests of the distributor (GICD). Every expected value comes
// from ARM IHI 0048B (section cited per test) or ../shared/GICV2.md.

import { describe, expect, it } from "vitest";
import { Access, Gic, type GicConfig } from "../host/hw/gic.ts";
import { CTLR, GICC, GICD, sgir } from "../host/hw/regs.ts";

const make = (c: Partial<GicConfig> = {}) => Gic.create(c);

/** Word offset and bit of a one-bit-per-interrupt register. */
const bitReg = (base: number, irq: number) => base + 4 * (irq >> 5);
const bit = (irq: number) => (1 << (irq & 31)) >>> 0;

/** Make `irq` deliverable: distributor and CPU interfaces on, priority mask open. */
function open(g: Gic, cpus = g.config.cpus) {
  g.writeDist(0, GICD.CTLR, 3);
  for (let c = 0; c < cpus; c++) {
    g.writeCpu(c, GICC.CTLR, CTLR.EnableGrp0 | CTLR.EnableGrp1 | CTLR.AckCtl);
    g.writeCpu(c, GICC.PMR, 0xff);
  }
}

function enable(g: Gic, cpu: number, irq: number, prio = 0x80) {
  g.writeDist(cpu, bitReg(GICD.ISENABLER, irq), bit(irq));
  g.writeDist(cpu, GICD.IPRIORITYR + irq, prio, 1);
}

function noBadAccesses(g: Gic, cpu = 0) {
  expect(g.badAccesses(cpu)).toEqual({ unmapped: 0, width: 0, unaligned: 0, readOnlyWrite: 0, writeOnlyRead: 0 });
}

describe("GICD_CTLR", () => {
  // IHI 0048B 4.3.1 (no Security Extensions): bit 0 EnableGrp0, bit 1 EnableGrp1, reset 0
  it("resets to 0 and holds only EnableGrp0 and EnableGrp1", () => {
    const g = make();
    expect(g.readDist(0, GICD.CTLR)).toBe(0);
    g.writeDist(0, GICD.CTLR, 1);
    expect(g.readDist(0, GICD.CTLR)).toBe(1);
    g.writeDist(0, GICD.CTLR, 2);
    expect(g.readDist(0, GICD.CTLR)).toBe(2);
    g.writeDist(0, GICD.CTLR, 0xffffffff);
    expect(g.readDist(0, GICD.CTLR) & 3).toBe(3);
  });

  // IHI 0048B 4.3.1: EnableGrp0 gates forwarding of Group 0 pending interrupts to the CPU interfaces
  it("EnableGrp0 gates forwarding of Group 0 interrupts", () => {
    const g = make();
    open(g);
    g.writeDist(0, GICD.CTLR, 2); // only Group 1 forwarded
    enable(g, 0, 40);
    g.writeDist(0, bitReg(GICD.ISPENDR, 40), bit(40));
    expect(g.readDist(0, bitReg(GICD.ISPENDR, 40)) & bit(40)).toBe(bit(40)); // pending is still recorded
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(1023);
    g.writeDist(0, GICD.CTLR, 1);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // IHI 0048B 4.3.1: EnableGrp1 gates Group 1 interrupts
  it("EnableGrp1 gates forwarding of Group 1 interrupts", () => {
    const g = make();
    open(g);
    g.writeDist(0, GICD.CTLR, 1);
    g.writeDist(0, bitReg(GICD.IGROUPR, 41), bit(41));
    enable(g, 0, 41);
    g.writeDist(0, bitReg(GICD.ISPENDR, 41), bit(41));
    expect(g.readCpu(0, GICC.IAR)).toBe(1023);
    g.writeDist(0, GICD.CTLR, 2);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
  });
});

describe("GICD_TYPER", () => {
  // IHI 0048B 4.3.2: ITLinesNumber [4:0] = irqs/32 - 1, CPUNumber [7:5] = cpus - 1, SecurityExtn [10] = 0
  const cases: Array<[number, number, number]> = [
    [1, 288, 0x8], // GICV2.md: QEMU virt
    [1, 32, 0x0],
    [3, 64, 0x41],
    [3, 288, 0x48],
    [8, 992, 0xfe],
    [8, 1020, 0xff],
    [8, 128, 0xe3],
  ];
  for (const [cpus, irqs, typer] of cases) {
    it(`${cpus} CPU(s), ${irqs} interrupts reads 0x${typer.toString(16)}`, () => {
      const g = make({ cpus, irqs });
      const v = g.readDist(0, GICD.TYPER);
      expect(v).toBe(typer);
      expect(v & 0x1f).toBe(Math.ceil(irqs / 32) - 1);
      expect((v >> 5) & 7).toBe(cpus - 1);
      expect((v >> 10) & 1).toBe(0);
    });
  }

  // IHI 0048B 4.3.2 (RO register); GICV2.md: bad accesses are counted, never trap
  it("is read-only: a write is ignored and counted", () => {
    const g = make({ cpus: 3, irqs: 64 });
    expect(g.writeDist(1, GICD.TYPER, 0xffffffff)).toBe(Access.ReadOnlyWrite);
    expect(g.readDist(1, GICD.TYPER)).toBe(0x41);
    expect(g.lastStatus()).toBe(Access.Ok);
    expect(g.badAccesses(1).readOnlyWrite).toBe(1);
    expect(g.badAccesses(0).readOnlyWrite).toBe(0);
  });
});

describe("GICD_IIDR and the identification registers", () => {
  // IHI 0048B 4.3.3: Implementer [11:0] = 0x43B for ARM; README: default 0x0200043b (GIC-400)
  it("IIDR reads the configured value and ignores writes", () => {
    const g = make();
    expect(g.readDist(0, GICD.IIDR)).toBe(0x0200043b);
    expect(g.readDist(0, GICD.IIDR) & 0xfff).toBe(0x43b);
    expect(g.writeDist(0, GICD.IIDR, 0)).toBe(Access.ReadOnlyWrite);
    expect(g.readDist(0, GICD.IIDR)).toBe(0x0200043b);
    expect(g.badAccesses(0).readOnlyWrite).toBe(1);
    expect(make({ gicdIidr: 0x1234043b }).readDist(0, GICD.IIDR)).toBe(0x1234043b);
  });

  // IHI 0048B 4.3.18-4.3.20; GICV2.md: ICPIDR2 = 0x2b, ArchRev [7:4] = 2
  it("ICPIDR2 reads 0x2b with ArchRev 2, and the component ID is 0xB105F00D", () => {
    const g = make();
    const pidr2 = g.readDist(0, GICD.PIDR2);
    expect(pidr2).toBe(0x2b);
    expect((pidr2 >> 4) & 0xf).toBe(2);
    const cidr = [0, 1, 2, 3].map((i) => g.readDist(0, GICD.CIDR0 + 4 * i));
    expect(cidr).toEqual([0x0d, 0xf0, 0x05, 0xb1]);
    expect(g.writeDist(0, GICD.PIDR2, 0)).toBe(Access.ReadOnlyWrite);
    expect(g.readDist(0, GICD.PIDR2)).toBe(0x2b);
  });
});

describe("GICD_IGROUPR", () => {
  // IHI 0048B 4.3.4: one bit per interrupt, reset 0 (Group 0); register 0 banked per CPU
  it("resets to Group 0, holds written bits, and banks register 0", () => {
    const g = make({ cpus: 2 });
    expect(g.readDist(0, GICD.IGROUPR + 4)).toBe(0);
    g.writeDist(0, GICD.IGROUPR + 4, 0xa5a5a5a5);
    expect(g.readDist(0, GICD.IGROUPR + 4)).toBe(0xa5a5a5a5);
    expect(g.readDist(1, GICD.IGROUPR + 4)).toBe(0xa5a5a5a5);
    g.writeDist(1, GICD.IGROUPR, 0x00010002);
    expect(g.readDist(1, GICD.IGROUPR)).toBe(0x00010002);
    expect(g.readDist(0, GICD.IGROUPR)).toBe(0);
  });
});

describe("GICD_ISENABLER / GICD_ICENABLER", () => {
  // IHI 0048B 4.3.5, 4.3.6: write 1 sets / clears, write 0 has no effect; reads of either return the enable bits
  it("set and clear semantics; both registers read the enable bits", () => {
    const g = make();
    const se = GICD.ISENABLER + 4;
    const ce = GICD.ICENABLER + 4;
    expect(g.readDist(0, se)).toBe(0);
    g.writeDist(0, se, 0x5);
    expect(g.readDist(0, se)).toBe(0x5);
    expect(g.readDist(0, ce)).toBe(0x5);
    g.writeDist(0, se, 0x80000000);
    expect(g.readDist(0, se)).toBe(0x80000005);
    g.writeDist(0, se, 0); // zeros do nothing
    expect(g.readDist(0, se)).toBe(0x80000005);
    g.writeDist(0, ce, 0x1);
    expect(g.readDist(0, ce)).toBe(0x80000004);
    expect(g.readDist(0, se)).toBe(0x80000004);
    g.writeDist(0, ce, 0);
    expect(g.readDist(0, se)).toBe(0x80000004);
    noBadAccesses(g);
  });

  // IHI 0048B 4.3.5: register 0 (SGIs and PPIs) is banked per CPU interface
  it("register 0 is banked per CPU (SGI enables writable)", () => {
    const g = make({ cpus: 3, irqs: 64, sgiAlwaysEnabled: false });
    g.writeDist(0, GICD.ISENABLER, bit(20));
    g.writeDist(2, GICD.ISENABLER, bit(3) | bit(27));
    expect(g.readDist(0, GICD.ISENABLER)).toBe(bit(20));
    expect(g.readDist(1, GICD.ISENABLER)).toBe(0);
    expect(g.readDist(2, GICD.ICENABLER)).toBe((bit(3) | bit(27)) >>> 0);
    g.writeDist(1, GICD.ICENABLER, 0xffffffff);
    expect(g.readDist(2, GICD.ISENABLER)).toBe((bit(3) | bit(27)) >>> 0);
    // register 1 (SPIs) is shared
    g.writeDist(1, GICD.ISENABLER + 4, 0x10);
    expect(g.readDist(2, GICD.ISENABLER + 4)).toBe(0x10);
  });

  // IHI 0048B 4.3.5: it is IMPLEMENTATION DEFINED whether SGI enable bits
  // are RAO/WI; they are on QEMU's GICv2 and the GIC-400, hence the default
  it("by default (sgiAlwaysEnabled) the SGI bits read one and cannot be cleared; the option makes them writable", () => {
    const g = make();
    expect(g.config.sgiAlwaysEnabled).toBe(true);
    expect(g.readDist(0, GICD.ISENABLER) & 0xffff).toBe(0xffff);
    g.writeDist(0, GICD.ICENABLER, 0xffffffff);
    expect(g.readDist(0, GICD.ISENABLER)).toBe(0xffff);
    const d = make({ sgiAlwaysEnabled: false });
    expect(d.readDist(0, GICD.ISENABLER)).toBe(0);
    d.writeDist(0, GICD.ISENABLER, 0xffff);
    expect(d.readDist(0, GICD.ISENABLER)).toBe(0xffff);
    d.writeDist(0, GICD.ICENABLER, 0xff);
    expect(d.readDist(0, GICD.ISENABLER)).toBe(0xff00);
  });

  // IHI 0048B 4.3.5: a disabled interrupt is not forwarded, but its pending state is kept
  it("enable gates forwarding", () => {
    const g = make();
    open(g);
    g.writeDist(0, GICD.IPRIORITYR + 50, 0x10, 1);
    g.writeDist(0, bitReg(GICD.ISPENDR, 50), bit(50));
    expect(g.readCpu(0, GICC.IAR)).toBe(1023);
    g.writeDist(0, bitReg(GICD.ISENABLER, 50), bit(50));
    expect(g.readCpu(0, GICC.HPPIR)).toBe(50);
    g.writeDist(0, bitReg(GICD.ICENABLER, 50), bit(50));
    expect(g.readCpu(0, GICC.HPPIR)).toBe(1023);
    expect(g.readDist(0, bitReg(GICD.ISPENDR, 50)) & bit(50)).toBe(bit(50));
  });
});

describe("GICD_ISPENDR / GICD_ICPENDR", () => {
  // IHI 0048B 4.3.7, 4.3.8: SGI bits of register 0 are write-ignored (SPENDSGIR/CPENDSGIR set them)
  it("SGI bits of register 0 ignore writes; PPI bits do not", () => {
    const g = make();
    g.writeDist(0, GICD.ISPENDR, 0xffffffff);
    expect(g.readDist(0, GICD.ISPENDR)).toBe(0xffff0000);
    expect(g.readDist(0, GICD.ICPENDR)).toBe(0xffff0000);
    g.writeDist(0, GICD.ICPENDR, 0xffffffff);
    expect(g.readDist(0, GICD.ISPENDR)).toBe(0);
    g.writeDist(0, GICD.SGIR, sgir(2, 0, 6));
    expect(g.readDist(0, GICD.ISPENDR)).toBe(bit(6));
    g.writeDist(0, GICD.ICPENDR, 0xffffffff);
    expect(g.readDist(0, GICD.ISPENDR)).toBe(bit(6));
  });

  // IHI 0048B 4.3.7, 4.3.8: set / clear pending of an SPI, reads of either return the pending bits
  it("set and clear pending of SPIs", () => {
    const g = make();
    g.writeDist(0, GICD.ISPENDR + 4, 0x11);
    expect(g.readDist(0, GICD.ISPENDR + 4)).toBe(0x11);
    expect(g.readDist(0, GICD.ICPENDR + 4)).toBe(0x11);
    g.writeDist(0, GICD.ICPENDR + 4, 0x1);
    expect(g.readDist(0, GICD.ISPENDR + 4)).toBe(0x10);
  });

  // IHI 0048B 3.2.4, 4.3.8: a level-sensitive interrupt stays pending while its line is high, even after ICPENDR
  it("level-sensitive: pending follows the line; ICPENDR cannot clear an asserted line", () => {
    const g = make();
    const r = bitReg(GICD.ISPENDR, 40);
    g.writeDist(0, GICD.ICFGR + 8, 0); // IDs 32-47 level-sensitive
    g.setLine(40, true);
    expect(g.readDist(0, r) & bit(40)).toBe(bit(40));
    g.writeDist(0, bitReg(GICD.ICPENDR, 40), bit(40));
    expect(g.readDist(0, r) & bit(40)).toBe(bit(40));
    g.setLine(40, false);
    expect(g.readDist(0, r) & bit(40)).toBe(0);
  });

  // IHI 0048B 4.3.7: ISPENDR on a level-sensitive interrupt latches pending until ICPENDR (or acknowledge)
  it("level-sensitive: ISPENDR pending survives the line going low", () => {
    const g = make();
    const r = bitReg(GICD.ISPENDR, 40);
    g.writeDist(0, GICD.ICFGR + 8, 0);
    g.writeDist(0, r, bit(40));
    g.setLine(40, true);
    g.setLine(40, false);
    expect(g.readDist(0, r) & bit(40)).toBe(bit(40));
    g.writeDist(0, bitReg(GICD.ICPENDR, 40), bit(40));
    expect(g.readDist(0, r) & bit(40)).toBe(0);
  });

  // IHI 0048B 1.4.2, 4.3.8: edge-triggered pending latches on the rising edge; ICPENDR clears it
  it("edge-triggered: the rising edge latches; ICPENDR clears", () => {
    const g = make();
    const r = bitReg(GICD.ISPENDR, 41);
    g.writeDist(0, GICD.ICFGR + 8, 1 << (2 * (41 - 32) + 1));
    g.setLine(41, true);
    g.setLine(41, false);
    expect(g.readDist(0, r) & bit(41)).toBe(bit(41));
    g.writeDist(0, bitReg(GICD.ICPENDR, 41), bit(41));
    expect(g.readDist(0, r) & bit(41)).toBe(0);
    g.setLine(41, true);
    expect(g.readDist(0, r) & bit(41)).toBe(bit(41));
    g.writeDist(0, bitReg(GICD.ICPENDR, 41), bit(41));
    expect(g.readDist(0, r) & bit(41)).toBe(0); // line still high, but no new edge
  });

  // IHI 0048B 4.3.7: register 0 is banked per CPU (PPIs)
  it("PPI pending is banked per CPU", () => {
    const g = make({ cpus: 2 });
    g.writeDist(1, GICD.ISPENDR, bit(27));
    expect(g.readDist(1, GICD.ISPENDR)).toBe(bit(27));
    expect(g.readDist(0, GICD.ISPENDR)).toBe(0);
    g.setLine(30, true, 0);
    g.writeDist(0, GICD.ICFGR + 4, 0); // PPIs level
    expect(g.readDist(0, GICD.ISPENDR)).toBe(bit(30));
    expect(g.readDist(1, GICD.ISPENDR)).toBe(bit(27));
  });
});

describe("GICD_ISACTIVER / GICD_ICACTIVER", () => {
  // IHI 0048B 4.3.9, 4.3.10: set / clear active, reads of either return the active bits; register 0 banked
  it("set and clear active; register 0 banked", () => {
    const g = make({ cpus: 2 });
    g.writeDist(0, GICD.ISACTIVER + 4, 0x0000f00f);
    expect(g.readDist(0, GICD.ISACTIVER + 4)).toBe(0xf00f);
    expect(g.readDist(1, GICD.ICACTIVER + 4)).toBe(0xf00f);
    g.writeDist(1, GICD.ICACTIVER + 4, 0x0000000f);
    expect(g.readDist(0, GICD.ISACTIVER + 4)).toBe(0xf000);
    g.writeDist(1, GICD.ISACTIVER, bit(2) | bit(29));
    expect(g.readDist(1, GICD.ISACTIVER)).toBe((bit(2) | bit(29)) >>> 0);
    expect(g.readDist(0, GICD.ISACTIVER)).toBe(0);
  });

  // IHI 0048B 3.2.4: an active interrupt is not signalled again until deactivated
  it("an interrupt made active through ISACTIVER is not signalled; ICACTIVER releases it", () => {
    const g = make();
    open(g);
    enable(g, 0, 44);
    g.writeDist(0, bitReg(GICD.ISACTIVER, 44), bit(44));
    g.writeDist(0, bitReg(GICD.ISPENDR, 44), bit(44));
    expect(g.readCpu(0, GICC.HPPIR)).toBe(1023);
    g.writeDist(0, bitReg(GICD.ICACTIVER, 44), bit(44));
    expect(g.readCpu(0, GICC.IAR)).toBe(44);
  });
});

describe("GICD_IPRIORITYR", () => {
  // IHI 0048B 4.3.11: a byte per interrupt, byte-accessible, reset 0
  it("byte lanes: word and byte accesses see the same bytes", () => {
    const g = make();
    const r = GICD.IPRIORITYR + 40;
    expect(g.readDist(0, r)).toBe(0);
    g.writeDist(0, r, 0x80604020);
    expect([0, 1, 2, 3].map((i) => g.readDist(0, r + i, 1))).toEqual([0x20, 0x40, 0x60, 0x80]);
    g.writeDist(0, r + 2, 0xa0, 1);
    expect(g.readDist(0, r)).toBe(0x80a04020);
    g.writeDist(0, r + 3, 0x18, 1);
    expect(g.readDist(0, r)).toBe(0x18a04020);
    noBadAccesses(g);
  });

  // IHI 0048B 3.3, 4.3.11: unimplemented low-order priority bits are RAZ/WI
  for (const [bits, mask] of [[8, 0xff], [5, 0xf8], [4, 0xf0]] as const) {
    it(`${bits} priority bits: write 0xff reads 0x${mask.toString(16)}`, () => {
      const g = make({ priorityBits: bits });
      g.writeDist(0, GICD.IPRIORITYR + 64, 0xffffffff);
      expect(g.readDist(0, GICD.IPRIORITYR + 64)).toBe((mask * 0x01010101) >>> 0);
      g.writeDist(0, GICD.IPRIORITYR + 70, 0x5f, 1);
      expect(g.readDist(0, GICD.IPRIORITYR + 70, 1)).toBe(0x5f & mask);
    });
  }

  // IHI 0048B 4.3.11: IPRIORITYR0-7 (IDs 0-31) are banked per CPU
  it("IDs 0-31 are banked per CPU", () => {
    const g = make({ cpus: 3 });
    g.writeDist(2, GICD.IPRIORITYR + 28, 0x10203040);
    expect(g.readDist(2, GICD.IPRIORITYR + 28)).toBe(0x10203040);
    expect(g.readDist(0, GICD.IPRIORITYR + 28)).toBe(0);
    g.writeDist(0, GICD.IPRIORITYR + 32, 0x88, 1);
    expect(g.readDist(1, GICD.IPRIORITYR + 32, 1)).toBe(0x88);
  });

  // GICV2.md: byte accesses allowed, halfword accesses are not
  it("a halfword access is a width error", () => {
    const g = make();
    expect(g.readDist(0, GICD.IPRIORITYR + 40, 2)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Width);
    expect(g.badAccesses(0).width).toBe(1);
  });
});

describe("GICD_ITARGETSR", () => {
  // IHI 0048B 4.3.12: in a uniprocessor implementation all ITARGETSR are RAZ/WI
  it("uniprocessor: RAZ/WI", () => {
    const g = make({ cpus: 1 });
    expect(g.readDist(0, GICD.ITARGETSR)).toBe(0);
    g.writeDist(0, GICD.ITARGETSR + 40, 0xffffffff);
    expect(g.readDist(0, GICD.ITARGETSR + 40)).toBe(0);
    g.writeDist(0, GICD.ITARGETSR + 41, 0x01, 1);
    expect(g.readDist(0, GICD.ITARGETSR + 41, 1)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Ok);
  });

  // IHI 0048B 4.3.12: ITARGETSR0-7 read-only, each field reads as the reading CPU's own bit
  it("IDs 0-31 read as the reading CPU's bit and ignore writes", () => {
    const g = make({ cpus: 3 });
    for (let c = 0; c < 3; c++) {
      const own = 1 << c;
      expect(g.readDist(c, GICD.ITARGETSR)).toBe(own * 0x01010101);
      expect(g.readDist(c, GICD.ITARGETSR + 28)).toBe(own * 0x01010101);
      expect(g.readDist(c, GICD.ITARGETSR + 17, 1)).toBe(own);
    }
    g.writeDist(1, GICD.ITARGETSR + 16, 0x07070707);
    expect(g.readDist(1, GICD.ITARGETSR + 16)).toBe(0x02020202);
  });

  // IHI 0048B 4.3.12: bits for CPU interfaces that are not implemented are RAZ/WI
  it("3 CPUs: write 0xff reads 0x07; byte lanes", () => {
    const g = make({ cpus: 3 });
    g.writeDist(0, GICD.ITARGETSR + 40, 0xff, 1);
    expect(g.readDist(0, GICD.ITARGETSR + 40, 1)).toBe(0x07);
    g.writeDist(0, GICD.ITARGETSR + 44, 0xff040201);
    expect(g.readDist(0, GICD.ITARGETSR + 44)).toBe(0x07040201);
    expect(g.readDist(2, GICD.ITARGETSR + 46, 1)).toBe(0x04);
    g.writeDist(0, GICD.ITARGETSR + 47, 0x02, 1);
    expect(g.readDist(0, GICD.ITARGETSR + 44)).toBe(0x02040201);
  });

  it("8 CPUs: every bit is implemented", () => {
    const g = make({ cpus: 8 });
    g.writeDist(0, GICD.ITARGETSR + 100, 0xff, 1);
    expect(g.readDist(5, GICD.ITARGETSR + 100, 1)).toBe(0xff);
    expect(g.readDist(7, GICD.ITARGETSR)).toBe(0x80808080);
  });

  // IHI 0048B 4.3.12: an SPI is forwarded to the CPU interfaces its field names
  it("routes SPIs to the CPUs named", () => {
    const g = make({ cpus: 3 });
    open(g);
    enable(g, 0, 40);
    g.writeDist(0, GICD.ITARGETSR + 40, 0x02, 1);
    g.writeDist(0, bitReg(GICD.ISPENDR, 40), bit(40));
    expect(g.readCpu(0, GICC.HPPIR)).toBe(1023);
    expect(g.readCpu(2, GICC.HPPIR)).toBe(1023);
    expect(g.readCpu(1, GICC.HPPIR)).toBe(40);
    g.writeDist(0, GICD.ITARGETSR + 40, 0x04, 1);
    expect(g.readCpu(1, GICC.HPPIR)).toBe(1023);
    expect(g.readCpu(2, GICC.IAR)).toBe(40);
    // a pending SPI with no target is forwarded nowhere
    enable(g, 0, 41);
    g.writeDist(0, bitReg(GICD.ISPENDR, 41), bit(41));
    for (let c = 0; c < 3; c++) expect(g.readCpu(c, GICC.HPPIR)).toBe(1023);
  });
});

describe("GICD_ICFGR", () => {
  // IHI 0048B 4.3.13: SGIs are edge-triggered and their Int_config fields read-only
  it("ICFGR0 reads 0xAAAAAAAA and ignores writes", () => {
    const g = make();
    expect(g.readDist(0, GICD.ICFGR)).toBe(0xaaaaaaaa);
    g.writeDist(0, GICD.ICFGR, 0);
    expect(g.readDist(0, GICD.ICFGR)).toBe(0xaaaaaaaa);
  });

  // IHI 0048B 4.3.13: Int_config[1] of an SPI selects edge (1) or level (0)
  it("SPI Int_config[1] is writable", () => {
    const g = make();
    const r = GICD.ICFGR + 4 * (40 >> 4);
    g.writeDist(0, r, 0);
    expect(g.readDist(0, r)).toBe(0);
    g.writeDist(0, r, 0xaaaaaaaa);
    expect(g.readDist(0, r)).toBe(0xaaaaaaaa);
    g.writeDist(0, r, 1 << (2 * (40 & 15) + 1));
    expect(g.readDist(0, r)).toBe(1 << 17);
  });

  // IHI 0048B 4.3.13: PPI configuration writability is IMPLEMENTATION DEFINED
  it("PPI configuration: writable by default, read-only with ppiConfigReadOnly", () => {
    const g = make();
    g.writeDist(0, GICD.ICFGR + 4, 0xaaaaaaaa);
    expect(g.readDist(0, GICD.ICFGR + 4)).toBe(0xaaaaaaaa);
    const ro = make({ ppiConfigReadOnly: true });
    const before = ro.readDist(0, GICD.ICFGR + 4);
    ro.writeDist(0, GICD.ICFGR + 4, ~before >>> 0);
    expect(ro.readDist(0, GICD.ICFGR + 4)).toBe(before);
  });
});

describe("GICD_SGIR", () => {
  const pendOn = (g: Gic, cpu: number, sgi: number) => g.readDist(cpu, GICD.SPENDSGIR + sgi, 1);

  // IHI 0048B 4.3.15: TargetListFilter 0b00, forward to the CPUs in CPUTargetList
  it("filter 0b00: the CPUs in the target list", () => {
    const g = make({ cpus: 3 });
    g.writeDist(1, GICD.SGIR, sgir(0, 0b101, 9));
    expect([0, 1, 2].map((c) => pendOn(g, c, 9))).toEqual([0b10, 0, 0b10]);
    expect(g.readDist(0, GICD.ISPENDR)).toBe(bit(9));
    expect(g.readDist(1, GICD.ISPENDR)).toBe(0);
  });

  // IHI 0048B 4.3.15: 0b01, all CPUs but the requesting one
  it("filter 0b01: every CPU but the writer", () => {
    const g = make({ cpus: 3 });
    g.writeDist(1, GICD.SGIR, sgir(1, 0, 2));
    expect([0, 1, 2].map((c) => pendOn(g, c, 2))).toEqual([0b10, 0, 0b10]);
    const g8 = make({ cpus: 8 });
    g8.writeDist(7, GICD.SGIR, sgir(1, 0, 0));
    for (let c = 0; c < 8; c++) expect(pendOn(g8, c, 0)).toBe(c === 7 ? 0 : 0x80);
  });

  // IHI 0048B 4.3.15: 0b10, only the requesting CPU (the target list is ignored)
  it("filter 0b10: the writer only", () => {
    const g = make({ cpus: 3 });
    g.writeDist(2, GICD.SGIR, sgir(2, 0b011, 15));
    expect([0, 1, 2].map((c) => pendOn(g, c, 15))).toEqual([0, 0, 0b100]);
  });

  // IHI 0048B 4.3.15: 0b11 is reserved; GICV2.md: the write is ignored
  it("filter 0b11 (reserved): ignored", () => {
    const g = make({ cpus: 3 });
    g.writeDist(0, GICD.SGIR, sgir(3, 0b111, 1));
    for (let c = 0; c < 3; c++) {
      expect(pendOn(g, c, 1)).toBe(0);
      expect(g.readDist(c, GICD.ISPENDR)).toBe(0);
    }
  });

  // IHI 0048B 4.3.15: targets naming CPU interfaces that do not exist are ignored (no trap)
  it("the target list is masked to existing CPUs", () => {
    const g = make({ cpus: 3 });
    const badCpu = g.badCpuCalls();
    g.writeDist(0, GICD.SGIR, sgir(0, 0xff, 4));
    expect([0, 1, 2].map((c) => pendOn(g, c, 4))).toEqual([1, 1, 1]);
    expect(g.badCpuCalls()).toBe(badCpu);
    const one = make({ cpus: 1 });
    one.writeDist(0, GICD.SGIR, sgir(0, 0xfe, 4));
    expect(pendOn(one, 0, 4)).toBe(0);
  });

  // IHI 0048B 4.3.15: SGIR is write-only; GICV2.md: a read is counted and reads 0
  it("a read is a write-only read", () => {
    const g = make();
    expect(g.readDist(0, GICD.SGIR)).toBe(0);
    expect(g.lastStatus()).toBe(Access.WriteOnlyRead);
    expect(g.badAccesses(0).writeOnlyRead).toBe(1);
  });

  // IHI 0048B 4.3.15: an SGI generated by SGIR reaches the CPU interface as pending
  it("an SGI from SGIR is delivered with its source", () => {
    const g = make({ cpus: 2 });
    open(g);
    enable(g, 0, 3);
    g.writeDist(1, GICD.SGIR, sgir(0, 0b01, 3));
    expect(g.readCpu(0, GICC.IAR)).toBe((1 << 10) | 3);
  });
});

describe("GICD_CPENDSGIR / GICD_SPENDSGIR", () => {
  // IHI 0048B 4.3.16, 4.3.17: a byte per SGI, a bit per source CPU, banked per target, byte-accessible
  it("byte per SGI, bit per source, banked per target", () => {
    const g = make({ cpus: 3 });
    g.writeDist(2, GICD.SPENDSGIR + 5, 0x03, 1);
    expect(g.readDist(2, GICD.SPENDSGIR + 4)).toBe(0x00000300);
    expect(g.readDist(2, GICD.CPENDSGIR + 4)).toBe(0x00000300);
    expect(g.readDist(2, GICD.SPENDSGIR + 5, 1)).toBe(0x03);
    expect(g.readDist(0, GICD.SPENDSGIR + 4)).toBe(0);
    expect(g.readDist(2, GICD.ISPENDR)).toBe(bit(5));
    g.writeDist(2, GICD.CPENDSGIR + 5, 0x01, 1);
    expect(g.readDist(2, GICD.SPENDSGIR + 5, 1)).toBe(0x02);
    expect(g.readDist(2, GICD.ISPENDR)).toBe(bit(5));
    g.writeDist(2, GICD.CPENDSGIR + 4, 0x0000ff00);
    expect(g.readDist(2, GICD.SPENDSGIR + 4)).toBe(0);
    expect(g.readDist(2, GICD.ISPENDR)).toBe(0);
  });

  it("word writes set several SGIs at once and zeros change nothing", () => {
    const g = make({ cpus: 2 });
    g.writeDist(1, GICD.SPENDSGIR + 12, 0x01000201);
    expect(g.readDist(1, GICD.SPENDSGIR + 12)).toBe(0x01000201);
    g.writeDist(1, GICD.SPENDSGIR + 12, 0);
    expect(g.readDist(1, GICD.SPENDSGIR + 12)).toBe(0x01000201);
    expect(g.readDist(1, GICD.ISPENDR)).toBe((bit(12) | bit(13) | bit(15)) >>> 0);
  });

  // IHI 0048B 4.3.15, 4.3.16: SGIR sets the bit of the source CPU in the target's SPENDSGIR byte
  it("reflects SGIs sent through SGIR", () => {
    const g = make({ cpus: 3 });
    g.writeDist(1, GICD.SGIR, sgir(0, 0b001, 7));
    g.writeDist(2, GICD.SGIR, sgir(0, 0b001, 7));
    expect(g.readDist(0, GICD.SPENDSGIR + 7, 1)).toBe(0b110);
    expect(g.readDist(0, GICD.SPENDSGIR + 4)).toBe(0x06000000);
  });
});

describe("RAZ/WI beyond the implemented interrupts", () => {
  // IHI 0048B 4.3 (per-register descriptions): registers for unimplemented interrupts are RAZ/WI
  it("288 interrupts: ISENABLER for IRQ 300 reads 0 and is not a bad access", () => {
    const g = make({ irqs: 288 });
    const r = bitReg(GICD.ISENABLER, 300);
    expect(g.writeDist(0, r, 0xffffffff)).toBe(Access.Ok);
    expect(g.readDist(0, r)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Ok);
    for (const base of [GICD.IGROUPR, GICD.ISPENDR, GICD.ISACTIVER]) {
      g.writeDist(0, bitReg(base, 300), 0xffffffff);
      expect(g.readDist(0, bitReg(base, 300))).toBe(0);
    }
    g.writeDist(0, GICD.IPRIORITYR + 300, 0xffffffff);
    expect(g.readDist(0, GICD.IPRIORITYR + 300)).toBe(0);
    g.writeDist(0, GICD.IPRIORITYR + 1019, 0xff, 1);
    expect(g.readDist(0, GICD.IPRIORITYR + 1019, 1)).toBe(0);
    g.writeDist(0, GICD.ICFGR + 4 * (300 >> 4), 0xffffffff);
    expect(g.readDist(0, GICD.ICFGR + 4 * (300 >> 4))).toBe(0);
    noBadAccesses(g);
  });

  it("8 CPUs, 64 interrupts: ITARGETSR of ID 64 and up is RAZ/WI", () => {
    const g = make({ cpus: 8, irqs: 64 });
    g.writeDist(0, GICD.ITARGETSR + 64, 0xffffffff);
    expect(g.readDist(0, GICD.ITARGETSR + 64)).toBe(0);
    g.writeDist(0, GICD.ITARGETSR + 60, 0xffffffff);
    expect(g.readDist(0, GICD.ITARGETSR + 60)).toBe(0xffffffff);
    noBadAccesses(g);
  });
});

describe("bad accesses never trap and are counted", () => {
  // IHI 0048B Table 4-1: 0x00C-0x07C, 0xF04-0xF0C, 0xF30-0xFCC are reserved; GICV2.md: unmapped reads 0
  it("reserved offsets are unmapped and read 0", () => {
    const g = make();
    for (const off of [0x00c, 0x010, 0x07c, 0xf04, 0xf0c, 0xf30, 0xfcc, 0x1000, 0xfffc]) {
      expect(g.readDist(0, off), `0x${off.toString(16)}`).toBe(0);
      expect(g.lastStatus()).toBe(Access.Unmapped);
    }
    expect(g.writeDist(0, 0x00c, 0xffffffff)).toBe(Access.Unmapped);
    expect(g.badAccesses(0).unmapped).toBe(10);
  });

  // GICV2.md: word access everywhere, byte only where marked; halfword never
  it("a 16-bit GICD access is a width error, as is a byte access to a word-only register", () => {
    const g = make();
    expect(g.readDist(0, GICD.CTLR, 2)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Width);
    g.writeDist(0, GICD.CTLR, 3, 1);
    expect(g.lastStatus()).toBe(Access.Width);
    expect(g.readDist(0, GICD.CTLR)).toBe(0);
    g.readDist(0, GICD.ISENABLER + 1, 1);
    expect(g.lastStatus()).toBe(Access.Width);
    expect(g.badAccesses(0).width).toBe(3);
  });

  it("an unaligned word access is counted as unaligned", () => {
    const g = make();
    g.writeDist(0, GICD.ISENABLER, 0xffff);
    expect(g.readDist(0, GICD.ISENABLER + 2)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Unaligned);
    expect(g.writeDist(0, GICD.IPRIORITYR + 41, 0xffffffff)).toBe(Access.Unaligned);
    expect(g.readDist(0, GICD.IPRIORITYR + 40)).toBe(0);
    expect(g.badAccesses(0).unaligned).toBe(2);
  });

  it("counters are per accessing CPU", () => {
    const g = make({ cpus: 2 });
    g.readDist(1, 0x00c);
    expect(g.badAccesses(1).unmapped).toBe(1);
    expect(g.badAccesses(0).unmapped).toBe(0);
  });

  // index.ts ABI: a CPU number that does not exist never traps; it is counted
  it("bad CPU numbers never trap the model; the typed API refuses them", () => {
    const g = make({ cpus: 3 });
    const before = g.badCpuCalls();
    expect(g.raw.mmioRead(3, g.config.map.gicd + GICD.TYPER, 4)).toBe(0);
    expect(g.raw.mmioWrite(7, g.config.map.gicd + GICD.CTLR, 3, 4)).toBe(0xff);
    expect(g.readDist(0, GICD.CTLR)).toBe(0);
    expect(g.raw.mmioRead(0xffffffff, g.config.map.gicd, 4)).toBe(0);
    expect(g.raw.lines(9)).toBe(0);
    expect(g.raw.setLine(20, 1, 5)).toBe(1);
    expect(() => g.readDist(3, GICD.TYPER)).toThrow(/^cpu: got 3, expected a CPU number from 0 to 2$/);
    expect(() => g.lines(9)).toThrow(RangeError);
    expect(() => g.setLine(20, true, 5)).toThrow(RangeError);
    expect(g.badCpuCalls()).toBeGreaterThanOrEqual(before + 5);
    expect(g.readDist(2, GICD.TYPER)).toBe(0x48);
  });
});

describe("1020 interrupts: IDs 1020-1023 are special and not implemented", () => {
  // IHI 0048B 2.2.1, 3.1.2: IDs 1020-1023 are reserved for special purposes; 4.3 per-register
  // descriptions: fields of interrupts that are not implemented are RAZ/WI
  it("bits of IDs 1020-1023 in the last register word are RAZ/WI", () => {
    const g = make({ irqs: 1020 });
    for (const base of [GICD.IGROUPR, GICD.ISENABLER, GICD.ISPENDR, GICD.ISACTIVER]) {
      const r = bitReg(base, 1019);
      g.writeDist(0, r, 0xffffffff);
      expect(g.readDist(0, r), `0x${base.toString(16)}`).toBe(0x0fffffff);
    }
    g.writeDist(0, GICD.ICFGR + 4 * 63, 0xffffffff);
    expect(g.readDist(0, GICD.ICFGR + 4 * 63)).toBe(0x00aaaaaa); // IDs 1008-1019 only
    expect(g.readDist(0, GICD.IPRIORITYR + 1016)).toBe(0);
    g.writeDist(0, GICD.IPRIORITYR + 1016, 0xffffffff);
    expect(g.readDist(0, GICD.IPRIORITYR + 1016)).toBe(0xffffffff);
    g.writeDist(0, GICD.IPRIORITYR + 1020, 0xffffffff);
    expect(g.readDist(0, GICD.IPRIORITYR + 1020)).toBe(0);
    noBadAccesses(g);
  });

  // IHI 0048B 4.4.4: IAR returns an implemented ID, never 1020-1021 as an interrupt
  it("ID 1019 is delivered; IDs 1020-1023 can never be made pending", () => {
    const g = make({ irqs: 1020 });
    open(g);
    g.writeDist(0, GICD.IPRIORITYR + 1016, 0);
    g.writeDist(0, GICD.IPRIORITYR + 1019, 0x40, 1);
    g.writeDist(0, bitReg(GICD.ISENABLER, 1019), 0xffffffff);
    g.writeDist(0, bitReg(GICD.ISPENDR, 1019), 0xf8000000); // 1019-1023
    expect(g.readCpu(0, GICC.IAR)).toBe(1019);
    g.writeCpu(0, GICC.EOIR, 1019);
    expect(g.readCpu(0, GICC.IAR)).toBe(1023);
    expect(g.lines(0)).toBe(0);
  });
});

describe("reset", () => {
  // IHI 0048B 4.3 and 4.4 register reset values: everything disabled, inactive, not pending
  it("returns every register to its reset value", () => {
    const g = make({ cpus: 2 });
    open(g);
    g.writeDist(0, GICD.IGROUPR + 4, 0xffffffff);
    enable(g, 0, 40, 0x10);
    g.writeDist(0, GICD.ITARGETSR + 40, 0x3, 1);
    g.writeDist(0, bitReg(GICD.ISPENDR, 40), bit(40));
    g.writeDist(0, GICD.ICFGR + 8, 0xaaaaaaaa);
    g.writeDist(1, GICD.SGIR, sgir(0, 1, 3));
    g.reset();
    expect(g.readDist(0, GICD.CTLR)).toBe(0);
    expect(g.readDist(0, GICD.IGROUPR + 4)).toBe(0);
    expect(g.readDist(0, GICD.ISENABLER + 4)).toBe(0);
    expect(g.readDist(0, GICD.ISPENDR + 4)).toBe(0);
    expect(g.readDist(0, GICD.ISPENDR)).toBe(0);
    expect(g.readDist(0, GICD.SPENDSGIR)).toBe(0);
    expect(g.readDist(0, GICD.IPRIORITYR + 40)).toBe(0);
    expect(g.readDist(0, GICD.ITARGETSR + 40)).toBe(0);
    expect(g.readDist(0, GICD.ICFGR)).toBe(0xaaaaaaaa);
    expect(g.readCpu(0, GICC.CTLR)).toBe(0);
    expect(g.readCpu(0, GICC.PMR)).toBe(0);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
    expect(g.lines(0) | g.lines(1)).toBe(0);
  });
});
