// Specification tests of the physical CPU interface (GICC) and the output
// lines. Every expected value comes from ARM IHI 0048B (section cited per
// test) or ../shared/GICV2.md.

import { describe, expect, it } from "vitest";
import { Access, Gic, Line, type GicConfig } from "../host/hw/gic.ts";
import { CTLR, GICC, GICD, sgir } from "../host/hw/regs.ts";

const SPURIOUS = 1023;
const make = (c: Partial<GicConfig> = {}) => Gic.create(c);
const bitReg = (base: number, irq: number) => base + 4 * (irq >> 5);
const bit = (irq: number) => (1 << (irq & 31)) >>> 0;
const G0G1 = CTLR.EnableGrp0 | CTLR.EnableGrp1;

interface Irq {
  prio?: number;
  group1?: boolean;
  edge?: boolean;
  targets?: number;
  cpu?: number; // bank for IDs 0-31
}

/** Distributor on for both groups, every CPU interface enabled with `ctlr`, PMR open. */
function machine(c: Partial<GicConfig> = {}, ctlr: number = G0G1): Gic {
  const g = Gic.create(c);
  g.writeDist(0, GICD.CTLR, 3);
  for (let cpu = 0; cpu < g.config.cpus; cpu++) {
    g.writeCpu(cpu, GICC.CTLR, ctlr);
    g.writeCpu(cpu, GICC.PMR, 0xff);
  }
  return g;
}

/** Configure an interrupt (IHI 0048B 4.3.4, 4.3.5, 4.3.11-4.3.13). */
function setup(g: Gic, irq: number, o: Irq = {}) {
  const cpu = o.cpu ?? 0;
  if (o.group1) g.writeDist(cpu, bitReg(GICD.IGROUPR, irq), g.readDist(cpu, bitReg(GICD.IGROUPR, irq)) | bit(irq));
  g.writeDist(cpu, GICD.IPRIORITYR + irq, o.prio ?? 0x80, 1);
  if (irq >= 16) {
    const r = GICD.ICFGR + 4 * (irq >> 4);
    const f = 1 << (2 * (irq & 15) + 1);
    const v = g.readDist(cpu, r);
    g.writeDist(cpu, r, o.edge ? v | f : v & ~f);
  }
  if (irq >= 32 && o.targets !== undefined) g.writeDist(cpu, GICD.ITARGETSR + irq, o.targets, 1);
  g.writeDist(cpu, bitReg(GICD.ISENABLER, irq), bit(irq));
}

const pend = (g: Gic, irq: number, cpu = 0) => g.writeDist(cpu, bitReg(GICD.ISPENDR, irq), bit(irq));
const isPending = (g: Gic, irq: number, cpu = 0) => (g.readDist(cpu, bitReg(GICD.ISPENDR, irq)) & bit(irq)) !== 0;
const isActive = (g: Gic, irq: number, cpu = 0) => (g.readDist(cpu, bitReg(GICD.ISACTIVER, irq)) & bit(irq)) !== 0;
const apr = (g: Gic, cpu = 0) => [0, 1, 2, 3].map((i) => g.readCpu(cpu, GICC.APR + 4 * i));

describe("GICC_CTLR", () => {
  // IHI 0048B 4.4.1, Table 4-31 (no Security Extensions): reset 0; EnableGrp0 [0], EnableGrp1 [1],
  // AckCtl [2], FIQEn [3], CBPR [4], EOImode [9] are read/write
  it("resets to 0 and holds its fields", () => {
    const g = make();
    expect(g.readCpu(0, GICC.CTLR)).toBe(0);
    for (const f of [CTLR.EnableGrp0, CTLR.EnableGrp1, CTLR.AckCtl, CTLR.FIQEn, CTLR.CBPR, CTLR.EOImode]) {
      g.writeCpu(0, GICC.CTLR, f);
      expect(g.readCpu(0, GICC.CTLR)).toBe(f);
    }
    g.writeCpu(0, GICC.CTLR, 0x21f);
    expect(g.readCpu(0, GICC.CTLR)).toBe(0x21f);
  });

  it("is banked per CPU", () => {
    const g = make({ cpus: 3 });
    g.writeCpu(1, GICC.CTLR, CTLR.EnableGrp1);
    expect(g.readCpu(0, GICC.CTLR)).toBe(0);
    expect(g.readCpu(1, GICC.CTLR)).toBe(CTLR.EnableGrp1);
    expect(g.readCpu(2, GICC.CTLR)).toBe(0);
  });

  // IHI 0048B 4.4.1: a disabled group is not signalled, and IAR reads 1023
  it("a disabled CPU interface signals nothing and IAR reads 1023", () => {
    const g = machine({}, 0);
    setup(g, 40);
    pend(g, 40);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(SPURIOUS);
    expect(isPending(g, 40)).toBe(true);
    g.writeCpu(0, GICC.CTLR, CTLR.EnableGrp1); // Group 1 only: Group 0 interrupt 40 still held back
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.CTLR, CTLR.EnableGrp0);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });
});

describe("GICC_PMR", () => {
  // IHI 0048B 4.4.2: reset 0 masks everything
  it("resets to 0, which masks every interrupt", () => {
    const g = make();
    g.writeDist(0, GICD.CTLR, 3);
    g.writeCpu(0, GICC.CTLR, G0G1);
    setup(g, 40, { prio: 0 });
    pend(g, 40);
    expect(g.readCpu(0, GICC.PMR)).toBe(0);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 3.3.2, 4.4.2: signalled only if the priority is numerically lower than the mask
  it("signals only a priority numerically lower than PMR", () => {
    const g = machine();
    setup(g, 40, { prio: 0x80 });
    pend(g, 40);
    g.writeCpu(0, GICC.PMR, 0x80);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(isPending(g, 40)).toBe(true);
    g.writeCpu(0, GICC.PMR, 0x81);
    expect(g.lines(0)).toBe(Line.IRQ);
    g.writeCpu(0, GICC.PMR, 0x7f);
    expect(g.lines(0)).toBe(0);
    g.writeCpu(0, GICC.PMR, 0x88);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // IHI 0048B 4.4.2: PMR implements as many bits as the priority fields; the rest RAZ/WI
  for (const [bits, mask] of [[8, 0xff], [5, 0xf8], [4, 0xf0]] as const) {
    it(`${bits} priority bits: PMR write 0xff reads 0x${mask.toString(16)}`, () => {
      const g = make({ priorityBits: bits });
      g.writeCpu(0, GICC.PMR, 0xff);
      expect(g.readCpu(0, GICC.PMR)).toBe(mask);
      g.writeCpu(0, GICC.PMR, 0x8f);
      expect(g.readCpu(0, GICC.PMR)).toBe(0x8f & mask);
    });
  }

  it("4 priority bits: PMR 0x88 reads 0x80 and masks priority 0x80", () => {
    const g = machine({ priorityBits: 4 });
    setup(g, 40, { prio: 0x80 });
    pend(g, 40);
    g.writeCpu(0, GICC.PMR, 0x88);
    expect(g.readCpu(0, GICC.PMR)).toBe(0x80);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.PMR, 0x90);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });
});

describe("GICC_BPR / GICC_ABPR", () => {
  // IHI 0048B 3.3.3 Table 3-7, 4.4.3: minimum BPR by implemented priority bits; a lower write sets the minimum.
  // 4.4.10: the minimum ABPR is one more than the minimum BPR.
  const mins: Array<[number, number]> = [[8, 0], [7, 0], [6, 1], [5, 2], [4, 3]];
  for (const [bits, min] of mins) {
    it(`${bits} priority bits: minimum BPR ${min}, minimum ABPR ${min + 1}`, () => {
      const g = make({ priorityBits: bits });
      g.writeCpu(0, GICC.BPR, 0);
      expect(g.readCpu(0, GICC.BPR)).toBe(min);
      g.writeCpu(0, GICC.ABPR, 0);
      expect(g.readCpu(0, GICC.ABPR)).toBe(min + 1);
      g.writeCpu(0, GICC.BPR, 7);
      expect(g.readCpu(0, GICC.BPR)).toBe(7);
      g.writeCpu(0, GICC.ABPR, 7);
      expect(g.readCpu(0, GICC.ABPR)).toBe(7);
      g.writeCpu(0, GICC.BPR, 5);
      expect(g.readCpu(0, GICC.BPR)).toBe(5);
    });
  }

  // IHI 0048B 3.3.3: only a higher group priority preempts; BPR 3 => group priority [7:4]
  it("equal group priority does not preempt, a higher one does (Group 0, BPR)", () => {
    const g = machine();
    g.writeCpu(0, GICC.BPR, 3);
    setup(g, 40, { prio: 0x48 });
    setup(g, 41, { prio: 0x40 });
    setup(g, 42, { prio: 0x30 });
    pend(g, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    pend(g, 41); // higher priority than 40, but same group priority 0x40
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(isPending(g, 41)).toBe(true);
    pend(g, 42); // group priority 0x30 beats 0x40
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(42);
    expect(g.readCpu(0, GICC.RPR)).toBe(0x30);
    g.writeCpu(0, GICC.EOIR, 42);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS); // 41 still cannot preempt 40
    g.writeCpu(0, GICC.EOIR, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
  });

  it("with the minimum BPR any higher priority preempts", () => {
    const g = machine();
    g.writeCpu(0, GICC.BPR, 0); // group priority [7:1]
    setup(g, 40, { prio: 0x44 });
    setup(g, 41, { prio: 0x40 });
    pend(g, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    pend(g, 41);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
  });

  // IHI 0048B 3.3.3, 4.4.10: Group 1 preemption uses ABPR unless CBPR; ABPR n splits like BPR n-1
  // (the active priority is recorded at acknowledge, so CBPR is set before it)
  for (const cbpr of [false, true]) {
    it(`Group 1 uses ${cbpr ? "BPR when CBPR is set" : "ABPR when CBPR is clear"}`, () => {
      const g = machine({}, G0G1 | CTLR.AckCtl | (cbpr ? CTLR.CBPR : 0));
      setup(g, 40, { prio: 0x48, group1: true });
      setup(g, 41, { prio: 0x40, group1: true });
      g.writeCpu(0, GICC.BPR, 0); // group priority [7:1]
      g.writeCpu(0, GICC.ABPR, 4); // group priority [7:4]
      pend(g, 40);
      expect(g.readCpu(0, GICC.IAR)).toBe(40);
      pend(g, 41);
      expect(g.readCpu(0, GICC.IAR)).toBe(cbpr ? 41 : SPURIOUS);
    });
  }
});

describe("GICC_IAR", () => {
  // IHI 0048B 4.4.4: acknowledge returns the ID and makes the interrupt active
  it("acknowledges the highest-priority pending interrupt", () => {
    const g = machine();
    setup(g, 40, { prio: 0x80 });
    setup(g, 50, { prio: 0x20 });
    setup(g, 60, { prio: 0xa0 });
    pend(g, 40);
    pend(g, 50);
    pend(g, 60);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(50);
    expect(g.readCpu(0, GICC.IAR)).toBe(50);
    expect(isActive(g, 50)).toBe(true);
    expect(isPending(g, 50)).toBe(false);
    g.writeCpu(0, GICC.EOIR, 50);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(60);
    g.writeCpu(0, GICC.EOIR, 60);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 4.4.4: for an SGI, CPUID [12:10] is the source CPU
  it("reports the SGI source CPU in [12:10]", () => {
    const g = machine({ cpus: 8 });
    setup(g, 2, { cpu: 5 });
    g.writeDist(6, GICD.SGIR, sgir(0, 1 << 5, 2));
    expect(g.readCpu(5, GICC.HPPIR)).toBe((6 << 10) | 2);
    expect(g.readCpu(5, GICC.IAR)).toBe((6 << 10) | 2);
    g.writeCpu(5, GICC.EOIR, (6 << 10) | 2);
    expect(isActive(g, 2, 5)).toBe(false);
  });

  // IHI 0048B 3.2.4 (SGIs), 4.4.4: each source is a separate pending state; one acknowledge takes one source
  it("two sources of one SGI: the lowest source first, the SGI stays pending for the other", () => {
    const g = machine({ cpus: 3 });
    setup(g, 4);
    g.writeDist(2, GICD.SGIR, sgir(0, 0b001, 4));
    g.writeDist(1, GICD.SGIR, sgir(0, 0b001, 4));
    expect(g.readDist(0, GICD.SPENDSGIR + 4, 1)).toBe(0b110);
    expect(g.readCpu(0, GICC.IAR)).toBe((1 << 10) | 4);
    expect(isPending(g, 4)).toBe(true);
    expect(isActive(g, 4)).toBe(true);
    expect(g.readDist(0, GICD.SPENDSGIR + 4, 1)).toBe(0b100);
    g.writeCpu(0, GICC.EOIR, (1 << 10) | 4);
    expect(g.readCpu(0, GICC.IAR)).toBe((2 << 10) | 4);
    expect(isPending(g, 4)).toBe(false);
    g.writeCpu(0, GICC.EOIR, (2 << 10) | 4);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(isActive(g, 4)).toBe(false);
  });

  // IHI 0048B 3.3.2 Table 3-4, 4.4.4: a Group 1 interrupt at the head reads 1022 when AckCtl = 0
  it("reads 1022 for a Group 1 interrupt with AckCtl = 0, leaving it pending", () => {
    const g = machine({}, G0G1);
    setup(g, 40, { group1: true });
    pend(g, 40);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(1022);
    expect(g.readCpu(0, GICC.IAR)).toBe(1022);
    expect(isPending(g, 40)).toBe(true);
    expect(isActive(g, 40)).toBe(false);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
    g.writeCpu(0, GICC.CTLR, G0G1 | CTLR.AckCtl);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    expect(isActive(g, 40)).toBe(true);
  });

  // IHI 0048B 3.3.2: a Group 0 interrupt of higher priority than the Group 1 one is acknowledged through IAR
  it("a Group 0 interrupt at the head is acknowledged with AckCtl = 0", () => {
    const g = machine({}, G0G1);
    setup(g, 40, { group1: true, prio: 0x80 });
    setup(g, 41, { prio: 0x40 });
    pend(g, 40);
    pend(g, 41);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
  });

  // IHI 0048B 4.4.4: 1023 when nothing is pending, masked, or the interface is disabled
  it("reads 1023 when nothing can be acknowledged", () => {
    const g = machine();
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(SPURIOUS);
    setup(g, 40, { prio: 0x80 });
    pend(g, 40);
    g.writeCpu(0, GICC.PMR, 0x40);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.PMR, 0xff);
    g.writeDist(0, GICD.CTLR, 0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeDist(0, GICD.CTLR, 3);
    g.writeCpu(0, GICC.CTLR, 0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(isPending(g, 40)).toBe(true);
    expect(isActive(g, 40)).toBe(false);
  });

  // IHI 0048B 4.4.4: IAR is read-only
  it("a write is counted as readOnlyWrite", () => {
    const g = machine();
    expect(g.writeCpu(0, GICC.IAR, 0)).toBe(Access.ReadOnlyWrite);
    expect(g.badAccesses(0).readOnlyWrite).toBe(1);
  });
});

describe("GICC_AIAR / GICC_AEOIR / GICC_AHPPIR", () => {
  // IHI 0048B 4.4.11-4.4.13: the aliases acknowledge, complete and report Group 1 interrupts
  it("Group 1 through the aliases", () => {
    const g = machine({}, G0G1);
    setup(g, 40, { group1: true, prio: 0x60 });
    pend(g, 40);
    expect(g.readCpu(0, GICC.AHPPIR)).toBe(40);
    expect(g.readCpu(0, GICC.AIAR)).toBe(40);
    expect(isActive(g, 40)).toBe(true);
    expect(g.readCpu(0, GICC.RPR)).toBe(0x60);
    g.writeCpu(0, GICC.AEOIR, 40);
    expect(isActive(g, 40)).toBe(false);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
  });

  // IHI 0048B 4.4.11, 4.4.13: a Group 0 interrupt at the head reads 1023 through the aliases
  it("Group 0 at the head reads 1023 through the aliases", () => {
    const g = machine({}, G0G1);
    setup(g, 40, { prio: 0x60 });
    setup(g, 41, { group1: true, prio: 0x80 });
    pend(g, 40);
    pend(g, 41);
    expect(g.readCpu(0, GICC.AHPPIR)).toBe(SPURIOUS);
    expect(g.readCpu(0, GICC.AIAR)).toBe(SPURIOUS);
    expect(isActive(g, 40)).toBe(false);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });
});

describe("GICC_RPR, GICC_HPPIR and GICC_APRn", () => {
  // IHI 0048B 4.4.6: 0xFF when idle; the priority of the active interrupt otherwise
  it("RPR follows acknowledge and EOI, nested", () => {
    const g = machine();
    setup(g, 40, { prio: 0xa0 });
    setup(g, 41, { prio: 0x40 });
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
    pend(g, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xa0);
    pend(g, 41);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
    expect(g.readCpu(0, GICC.RPR)).toBe(0x40);
    g.writeCpu(0, GICC.EOIR, 41);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xa0);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
    expect(g.writeCpu(0, GICC.RPR, 0)).toBe(Access.ReadOnlyWrite);
  });

  // IHI 0048B 4.4.8: HPPIR reports without acknowledging
  it("HPPIR does not change state", () => {
    const g = machine();
    setup(g, 40);
    pend(g, 40);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    expect(isPending(g, 40)).toBe(true);
    expect(isActive(g, 40)).toBe(false);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
  });

  // IHI 0048B 4.4.14: APRn is zero with nothing active; acknowledge sets an active priority, EOI clears it (3.3.4)
  it("APR bits are set on acknowledge and cleared by the priority drop", () => {
    const g = machine();
    setup(g, 40, { prio: 0x80 });
    setup(g, 41, { prio: 0x20 });
    expect(apr(g)).toEqual([0, 0, 0, 0]);
    pend(g, 40);
    g.readCpu(0, GICC.IAR);
    const one = apr(g);
    expect(one.some((w) => w !== 0)).toBe(true);
    pend(g, 41);
    g.readCpu(0, GICC.IAR);
    const two = apr(g);
    const popcount = (ws: number[]) => ws.reduce((n, w) => n + w.toString(2).split("1").length - 1, 0);
    expect(popcount(two)).toBe(2);
    g.writeCpu(0, GICC.EOIR, 41);
    expect(apr(g)).toEqual(one);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(apr(g)).toEqual([0, 0, 0, 0]);
  });

  // IHI 0048B 4.4.15 (IIDR): ArchitectureVersion [19:16] = 2; GICV2.md: 0x0002043b
  it("GICC_IIDR", () => {
    const g = make();
    expect(g.readCpu(0, GICC.IIDR)).toBe(0x0002043b);
    expect((g.readCpu(0, GICC.IIDR) >> 16) & 0xf).toBe(2);
  });
});

describe("GICC_EOIR and GICC_DIR", () => {
  // IHI 0048B 4.4.5: EOImode = 0, EOIR drops priority and deactivates
  it("EOIR with EOImode 0 deactivates", () => {
    const g = machine();
    setup(g, 40);
    pend(g, 40);
    g.readCpu(0, GICC.IAR);
    g.writeCpu(0, GICC.DIR, 40); // ignored with EOImode 0
    expect(isActive(g, 40)).toBe(true);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(isActive(g, 40)).toBe(false);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
  });

  // IHI 0048B 3.2.5 note, 4.4.5, 4.4.15: EOImode = 1, EOIR only drops priority; DIR deactivates
  it("EOImode 1: EOIR drops priority only; DIR deactivates", () => {
    const g = machine({}, G0G1 | CTLR.EOImode);
    setup(g, 40, { prio: 0x80, edge: true });
    g.setLine(40, true);
    g.setLine(40, false);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(g.readCpu(0, GICC.RPR)).toBe(0xff);
    expect(apr(g)).toEqual([0, 0, 0, 0]);
    expect(isActive(g, 40)).toBe(true);
    g.setLine(40, true); // new edge: active and pending, not signalled while active
    expect(isPending(g, 40)).toBe(true);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.DIR, 40);
    expect(isActive(g, 40)).toBe(false);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // IHI 0048B 4.4.5: an EOIR of a special ID (1023) is ignored
  it("EOIR of 1023 is ignored", () => {
    const g = machine();
    setup(g, 40, { prio: 0x80 });
    pend(g, 40);
    g.readCpu(0, GICC.IAR);
    g.writeCpu(0, GICC.EOIR, SPURIOUS);
    expect(g.readCpu(0, GICC.RPR)).toBe(0x80);
    expect(isActive(g, 40)).toBe(true);
  });

  // IHI 0048B 4.4.5, 4.4.15: EOIR and DIR are write-only
  it("EOIR and DIR reads are counted as writeOnlyRead", () => {
    const g = machine();
    expect(g.readCpu(0, GICC.EOIR)).toBe(0);
    expect(g.lastStatus()).toBe(Access.WriteOnlyRead);
    expect(g.readCpu(0, GICC.DIR)).toBe(0);
    expect(g.readCpu(0, GICC.AEOIR)).toBe(0);
    expect(g.badAccesses(0).writeOnlyRead).toBe(3);
  });
});

describe("edge- and level-sensitive interrupts through the CPU interface", () => {
  // IHI 0048B 1.4.2, 3.2.4: edge latches on the rising edge; acknowledge clears pending
  it("edge: latched by a rising edge, acknowledge clears pending", () => {
    const g = machine();
    setup(g, 45, { edge: true });
    g.setLine(45, true);
    g.setLine(45, false);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(45);
    expect(isPending(g, 45)).toBe(false);
    expect(isActive(g, 45)).toBe(true);
    expect(g.lines(0)).toBe(0);
    g.writeCpu(0, GICC.EOIR, 45);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 3.2.4, 3.2.3 note: acknowledge of a still-high level line gives active and pending,
  // not signalled again while active
  it("level: active and pending while the line stays high, re-signalled after EOI", () => {
    const g = machine();
    setup(g, 46, { edge: false });
    g.setLine(46, true);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(46);
    expect(isPending(g, 46)).toBe(true);
    expect(isActive(g, 46)).toBe(true);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.EOIR, 46);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(46);
    g.setLine(46, false);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 3.2.4: a level interrupt whose line drops before acknowledge is no longer pending
  it("level: the line dropping withdraws the interrupt", () => {
    const g = machine();
    setup(g, 47);
    g.setLine(47, true);
    g.setLine(47, false);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 1.4.3 (PPIs are private): a PPI line is per CPU
  it("PPI lines are per CPU", () => {
    const g = machine({ cpus: 2 });
    setup(g, 27, { cpu: 1 });
    setup(g, 27, { cpu: 0 });
    g.setLine(27, true, 1);
    expect(g.lines(0)).toBe(0);
    expect(g.lines(1)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    expect(g.readCpu(1, GICC.IAR)).toBe(27);
  });
});

describe("1-N model", () => {
  // IHI 0048B 1.4.3, 3.2.3 note: an SPI targeted at several CPUs is handled by one; once it is active
  // it is not signalled to any CPU until deactivated
  it("level SPI targeted at CPUs 0 and 1: CPU0 acknowledges, CPU1 loses it", () => {
    const g = machine({ cpus: 2 });
    setup(g, 40, { targets: 0b11 });
    g.setLine(40, true);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.lines(1)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    expect(g.lines(1)).toBe(0);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(1, GICC.HPPIR)).toBe(SPURIOUS);
    expect(g.readCpu(1, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.EOIR, 40); // line still high: pending again, for both
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.lines(1)).toBe(Line.IRQ);
    expect(g.readCpu(1, GICC.IAR)).toBe(40);
    expect(g.lines(0)).toBe(0);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.setLine(40, false);
    g.writeCpu(1, GICC.EOIR, 40);
    expect(g.lines(0) | g.lines(1)).toBe(0);
    expect(isActive(g, 40)).toBe(false);
  });

  it("edge SPI re-asserted while active on CPU0 is taken after the EOI", () => {
    const g = machine({ cpus: 2 });
    setup(g, 41, { targets: 0b11, edge: true });
    g.setLine(41, true);
    g.setLine(41, false);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
    g.setLine(41, true);
    g.setLine(41, false);
    expect(isPending(g, 41)).toBe(true);
    expect(g.lines(1)).toBe(0);
    expect(g.readCpu(1, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.EOIR, 41);
    expect(g.lines(1)).toBe(Line.IRQ);
    expect(g.readCpu(1, GICC.IAR)).toBe(41);
    expect(isPending(g, 41)).toBe(false);
  });
});

describe("output lines nIRQ / nFIQ", () => {
  // IHI 0048B 3.3.2 (FIQEn): Group 0 is signalled as FIQ when FIQEn = 1; Group 1 always as IRQ
  it("Group 0 as FIQ with FIQEn, as IRQ without", () => {
    const g = machine();
    setup(g, 40, { prio: 0x40 });
    pend(g, 40);
    expect(g.lines(0)).toBe(Line.IRQ);
    g.writeCpu(0, GICC.CTLR, G0G1 | CTLR.FIQEn);
    expect(g.lines(0)).toBe(Line.FIQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    expect(g.lines(0)).toBe(0);
  });

  it("Group 1 is IRQ even with FIQEn", () => {
    const g = machine({}, G0G1 | CTLR.FIQEn | CTLR.AckCtl);
    setup(g, 40, { group1: true });
    pend(g, 40);
    expect(g.lines(0)).toBe(Line.IRQ);
  });

  it("lines are per CPU and use the Line constants", () => {
    const g = machine({ cpus: 3 });
    g.writeCpu(2, GICC.CTLR, G0G1 | CTLR.FIQEn);
    setup(g, 40, { targets: 0b100 });
    setup(g, 41, { targets: 0b010 });
    pend(g, 40);
    pend(g, 41);
    expect([g.lines(0), g.lines(1), g.lines(2)]).toEqual([0, Line.IRQ, Line.FIQ]);
    expect(Line.IRQ & Line.FIQ).toBe(0);
  });
});

describe("configurations", () => {
  // IHI 0048B 4.3.15 with 8 CPUs: an SGI to all others reaches each with the right source
  it("8 CPUs: SGI to all but self, each CPU acknowledges it with source 3", () => {
    const g = machine({ cpus: 8 });
    for (let c = 0; c < 8; c++) setup(g, 9, { cpu: c });
    g.writeDist(3, GICD.SGIR, sgir(1, 0, 9));
    for (let c = 0; c < 8; c++) {
      expect(g.lines(c)).toBe(c === 3 ? 0 : Line.IRQ);
      expect(g.readCpu(c, GICC.IAR)).toBe(c === 3 ? SPURIOUS : (3 << 10) | 9);
    }
  });

  // IHI 0048B 3.3: with 4 priority bits, priorities differing only in the low nibble are equal
  it("4 priority bits: the low nibble is ignored, ties go to the lowest ID", () => {
    const g = machine({ priorityBits: 4 });
    setup(g, 50, { prio: 0x3f }); // stored as 0x30
    setup(g, 40, { prio: 0x30 });
    pend(g, 50);
    pend(g, 40);
    expect(g.readDist(0, GICD.IPRIORITYR + 50, 1)).toBe(0x30);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    expect(g.readCpu(0, GICC.RPR)).toBe(0x30);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS); // same priority never preempts
  });

  it("1 CPU: every SPI goes to CPU 0", () => {
    const g = machine({ cpus: 1 });
    setup(g, 287, { targets: 0 });
    pend(g, 287);
    expect(g.readCpu(0, GICC.IAR)).toBe(287);
  });

  // GICV2.md: unmapped CPU interface offsets are counted and read 0
  it("reserved GICC offsets are unmapped", () => {
    const g = make();
    expect(g.readCpu(0, 0x40)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Unmapped);
    expect(g.readCpu(0, 0x2c)).toBe(0);
    expect(g.badAccesses(0).unmapped).toBe(2);
    expect(g.read(0, g.config.map.gicc + 2, 2)).toBe(0);
    expect(g.lastStatus()).toBe(Access.Width);
  });
});

describe("more CPU interface behaviour", () => {
  // IHI 0048B 3.3.4, 4.4.5: after the priority drop the running priority no longer blocks lower priorities,
  // while the interrupt stays active until DIR
  it("EOImode 1: after the priority drop a lower-priority interrupt is taken", () => {
    const g = machine({}, G0G1 | CTLR.EOImode);
    setup(g, 40, { prio: 0x40 });
    setup(g, 41, { prio: 0xa0 });
    pend(g, 40);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
    pend(g, 41);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeCpu(0, GICC.EOIR, 40);
    expect(g.lines(0)).toBe(Line.IRQ);
    expect(g.readCpu(0, GICC.IAR)).toBe(41);
    expect(isActive(g, 40)).toBe(true);
    g.writeCpu(0, GICC.EOIR, 41);
    g.writeCpu(0, GICC.DIR, 41);
    g.writeCpu(0, GICC.DIR, 40);
    expect(isActive(g, 40) || isActive(g, 41)).toBe(false);
  });

  // IHI 0048B 4.3.4, 3.3.2: changing the group of a pending interrupt changes how IAR reports it
  it("moving a pending interrupt to Group 1 makes IAR read 1022 (AckCtl = 0)", () => {
    const g = machine({}, G0G1);
    setup(g, 40);
    pend(g, 40);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    g.writeDist(0, bitReg(GICD.IGROUPR, 40), bit(40));
    expect(g.readCpu(0, GICC.IAR)).toBe(1022);
    g.writeDist(0, bitReg(GICD.IGROUPR, 40), 0);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // IHI 0048B 4.3.11: a priority change of a pending interrupt changes the highest pending one
  it("a priority change reorders the pending interrupts", () => {
    const g = machine();
    setup(g, 40, { prio: 0x40 });
    setup(g, 41, { prio: 0x80 });
    pend(g, 40);
    pend(g, 41);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(40);
    g.writeDist(0, GICD.IPRIORITYR + 41, 0x20, 1);
    expect(g.readCpu(0, GICC.HPPIR)).toBe(41);
    g.writeDist(0, GICD.IPRIORITYR + 40, 0x00, 1);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // IHI 0048B 4.3.5: SGI enables RAO/WI is IMPLEMENTATION DEFINED; then SGIs need no ISENABLER write
  it("sgiAlwaysEnabled (the default) delivers SGIs without ISENABLER", () => {
    const g = machine();
    g.writeDist(0, GICD.SGIR, sgir(2, 0, 11));
    expect(g.readCpu(0, GICC.IAR)).toBe(11);
    const d = machine({ sgiAlwaysEnabled: false });
    d.writeDist(0, GICD.SGIR, sgir(2, 0, 11));
    expect(d.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
  });

  // IHI 0048B 3.3 (priority mask): the lowest implemented priority is never signalled
  it("5 priority bits: priority 0xf8 is masked even by the widest PMR", () => {
    const g = machine({ priorityBits: 5 });
    setup(g, 40, { prio: 0xff });
    pend(g, 40);
    expect(g.readCpu(0, GICC.PMR)).toBe(0xf8);
    expect(g.readCpu(0, GICC.IAR)).toBe(SPURIOUS);
    g.writeDist(0, GICD.IPRIORITYR + 40, 0xf0, 1);
    expect(g.readCpu(0, GICC.IAR)).toBe(40);
  });

  // README (propagationDelay): distributor changes reach nIRQ/nFIQ after the configured cycles
  it("propagation delay postpones the visible lines", () => {
    const g = machine({ propagationDelay: 10 });
    setup(g, 40);
    pend(g, 40);
    expect(g.pendingLines(0)).toBe(Line.IRQ);
    expect(g.lines(0)).toBe(0);
    g.setTime(9);
    expect(g.lines(0)).toBe(0);
    g.setTime(10);
    expect(g.lines(0)).toBe(Line.IRQ);
    g.writeDist(0, bitReg(GICD.ICPENDR, 40), bit(40));
    expect(g.lines(0)).toBe(Line.IRQ);
    g.setTime(20);
    expect(g.lines(0)).toBe(0);
  });
});

describe("reset values of the binary point registers", () => {
  // README (implementation-defined choices): GICC_BPR resets to its minimum (IHI 0048B 4.4.3 leaves it
  // IMPLEMENTATION DEFINED); the minimum per priority bits is IHI 0048B Table 3-7
  for (const [bits, min] of [[8, 0], [5, 2], [4, 3]] as const) {
    it(`${bits} priority bits: BPR resets to ${min}`, () => {
      expect(make({ priorityBits: bits }).readCpu(0, GICC.BPR)).toBe(min);
    });
  }
});

describe("highest pending interrupt against a reference computed from the registers", () => {
  /** IHI 0048B 3.3.2, 4.4.8: HPPIR from first principles, reading the architectural registers.
   *  Nothing is acknowledged here, so the running priority stays idle. */
  function reference(g: Gic, cpu: number): { hppir: number; lines: number } {
    const n = g.config.irqs;
    const dctlr = g.readDist(cpu, GICD.CTLR);
    const cctlr = g.readCpu(cpu, GICC.CTLR);
    let best = -1;
    let bestPrio = 0x100;
    for (let w = 0; w * 32 < n; w++) {
      const en = g.readDist(cpu, GICD.ISENABLER + 4 * w);
      const pe = g.readDist(cpu, GICD.ISPENDR + 4 * w);
      const ac = g.readDist(cpu, GICD.ISACTIVER + 4 * w);
      const gr = g.readDist(cpu, GICD.IGROUPR + 4 * w);
      let bits = (en & pe & ~ac) >>> 0;
      while (bits !== 0) {
        const b = 31 - Math.clz32(bits & -bits);
        bits = (bits & (bits - 1)) >>> 0;
        const irq = w * 32 + b;
        const grp = (gr >>> b) & 1;
        // 4.3.1: GICD_CTLR's group enables decide what is forwarded
        if (((dctlr >> grp) & 1) === 0) continue;
        if (irq >= 32 && g.config.cpus > 1 && ((g.readDist(cpu, GICD.ITARGETSR + irq, 1) >> cpu) & 1) === 0) continue;
        const p = g.readDist(cpu, GICD.IPRIORITYR + irq, 1);
        if (p < bestPrio) { bestPrio = p; best = irq; }
      }
    }
    if (best < 0 || bestPrio >= g.readCpu(cpu, GICC.PMR)) return { hppir: SPURIOUS, lines: 0 };
    const grp1 = ((g.readDist(cpu, GICD.IGROUPR + 4 * (best >> 5)) >>> (best & 31)) & 1) === 1;
    // 4.4.1, 4.4.4: GICC_CTLR's enable of the head's group gates its
    // signalling; no interrupt of the other group stands in for it
    if (((cctlr >> (grp1 ? 1 : 0)) & 1) === 0) return { hppir: SPURIOUS, lines: 0 };
    const lines = !grp1 && (cctlr & CTLR.FIQEn) !== 0 ? Line.FIQ : Line.IRQ;
    if (grp1 && (cctlr & CTLR.AckCtl) === 0) return { hppir: 1022, lines };
    let id = best;
    if (best < 16) {
      const src = g.readDist(cpu, GICD.SPENDSGIR + best, 1);
      id |= (31 - Math.clz32(src & -src)) << 10;
    }
    return { hppir: id, lines };
  }

  for (const [cpus, irqs] of [[1, 96], [3, 64]] as const) {
    it(`${cpus} CPU(s), ${irqs} interrupts: 1500 random distributor changes`, () => {
      const g = make({ cpus, irqs, priorityBits: 5 });
      let seed = 0x2545f491 ^ cpus;
      const rnd = (k: number) => {
        seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
        return seed % k;
      };
      const irq = () => rnd(irqs);
      const wbit = (base: number, i: number) => g.writeDist(rnd(cpus), bitReg(base, i), bit(i));
      for (let step = 0; step < 1500; step++) {
        const c = rnd(cpus);
        switch (rnd(14)) {
          case 0: wbit(GICD.ISENABLER, irq()); break;
          case 1: wbit(GICD.ICENABLER, irq()); break;
          case 2: wbit(GICD.ISPENDR, irq()); break;
          case 3: wbit(GICD.ICPENDR, irq()); break;
          case 4: wbit(rnd(4) === 0 ? GICD.ISACTIVER : GICD.ICACTIVER, irq()); break;
          case 5: g.writeDist(c, GICD.IPRIORITYR + irq(), rnd(256), 1); break;
          case 6: { const i = irq(); g.writeDist(c, bitReg(GICD.IGROUPR, i), g.readDist(c, bitReg(GICD.IGROUPR, i)) ^ bit(i)); break; }
          case 7: g.writeDist(c, GICD.ITARGETSR + 32 + rnd(irqs - 32), rnd(256), 1); break;
          case 8: g.writeDist(c, GICD.ICFGR + 4 * (1 + rnd(irqs / 16 - 1)), rnd(0x10000) * 0x10001 & 0xaaaaaaaa); break;
          case 9: {
            const l = 16 + rnd(irqs - 16);
            g.setLine(l === 25 ? 26 : l, rnd(2), c); // PPI 25 is the model's maintenance line
            break;
          }
          case 10: g.writeDist(c, GICD.SGIR, sgir(rnd(4) as 0 | 1 | 2 | 3, rnd(256), rnd(16))); break;
          case 11: g.writeDist(c, rnd(2) ? GICD.CPENDSGIR : GICD.SPENDSGIR, rnd(256), 1); break;
          case 12: if (rnd(8) === 0) g.writeDist(0, GICD.CTLR, rnd(4)); break;
          case 13:
            if (rnd(2)) g.writeCpu(c, GICC.CTLR, rnd(16));
            else g.writeCpu(c, GICC.PMR, rnd(256));
            break;
        }
        for (let cpu = 0; cpu < cpus; cpu++) {
          const want = reference(g, cpu);
          expect(g.readCpu(cpu, GICC.HPPIR), `step ${step} cpu ${cpu}`).toBe(want.hppir);
          expect(g.lines(cpu), `step ${step} cpu ${cpu} lines`).toBe(want.lines);
        }
      }
    });
  }
});
