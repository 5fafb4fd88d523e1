// Specification tests for the virtual interface control registers (GICH):
// HCR, VTR, VMCR and its GICV views, APR, the list registers, MISR, EISR,
// ELRSR and the maintenance interrupt (IHI 0048B chapter 5, ../shared/GICV2.md).
// Every expected value comes from the architecture, not from the model.

import { describe, expect, it } from "vitest";
import { Gic, Line } from "../host/hw/gic.ts";
import {
  GICC, GICD, GICH, GICV, HCR, LrState, MISR, VMCR, decodeLr,
} from "../host/hw/regs.ts";

import { LR, lr, make } from "./lr-helpers.ts";

/** Hypervisor enables the virtual interface, guest enables both groups with
 *  AckCtl and opens its priority mask. */
function enableVirt(gic: Gic, cpu = 0, ctlr = VMCR.Grp0En | VMCR.Grp1En | VMCR.AckCtl): void {
  gic.writeHyp(cpu, GICH.HCR, HCR.En);
  gic.writeVcpu(cpu, GICV.CTLR, ctlr);
  gic.writeVcpu(cpu, GICV.PMR, 0xf8);
}

const eoiCount = (gic: Gic, cpu = 0) => gic.readHyp(cpu, GICH.HCR) >>> HCR.EOICountShift;

describe("GICH_VTR (IHI 0048B 5.3.3)", () => {
  it("reads 0x90000003 with 4 list registers: 5 priority bits, 5 preemption bits", () => {
    // PRIbits [31:29] = 5-1, PREbits [28:26] = 5-1, ListRegs [5:0] = 4-1 (GICV2.md: QEMU virt)
    expect(make().readHyp(0, GICH.VTR)).toBe(0x90000003);
  });
  it("ListRegs is the number of list registers minus one (1 and 64)", () => {
    expect(make({ listRegisters: 1 }).readHyp(0, GICH.VTR)).toBe(0x90000000);
    expect(make({ listRegisters: 64 }).readHyp(0, GICH.VTR)).toBe(0x9000003f);
  });
  it("is read-only", () => {
    const gic = make();
    gic.writeHyp(0, GICH.VTR, 0);
    expect(gic.readHyp(0, GICH.VTR)).toBe(0x90000003);
  });
});

describe("reset values (IHI 0048B Table 5-1, Table 5-2; GIC-400 TRM register summary)", () => {
  it("GICH and GICV registers reset to their architectural values", () => {
    const gic = make();
    expect(gic.readHyp(0, GICH.HCR)).toBe(0);
    // VMBP and VMABP reset to their minimum for 5 priority bits: 2 and 3
    expect(gic.readHyp(0, GICH.VMCR)).toBe(0x004c0000);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf); // all 4 list registers empty
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0);
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
    for (let n = 0; n < 4; n++) expect(gic.readHyp(0, LR(n))).toBe(0);
    expect(gic.readVcpu(0, GICV.CTLR)).toBe(0);
    expect(gic.readVcpu(0, GICV.PMR)).toBe(0);
    expect(gic.readVcpu(0, GICV.BPR)).toBe(2);
    expect(gic.readVcpu(0, GICV.ABPR)).toBe(3);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0xff);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
  });
});

describe("GICH_HCR (IHI 0048B 5.3.2)", () => {
  it("implements En, UIE, LRENPIE, NPIE, VGrp0EIE..VGrp1DIE and EOICount; bits [26:8] are reserved", () => {
    const gic = make();
    gic.writeHyp(0, GICH.HCR, 0xffffffff);
    expect(gic.readHyp(0, GICH.HCR)).toBe(0xf80000ff);
    gic.writeHyp(0, GICH.HCR, HCR.NPIE | (5 << HCR.EOICountShift));
    expect(gic.readHyp(0, GICH.HCR)).toBe((HCR.NPIE | (5 << HCR.EOICountShift)) >>> 0);
    expect(eoiCount(gic)).toBe(5);
  });
});

describe("GICH_VMCR and its GICV views (IHI 0048B 5.3.4, 5.5)", () => {
  it("implements VMPriMask, VMBP, VMABP, VEM, VMCBPR, VMFIQEn, VMAckCtl, VMGrp1En, VMGrp0En", () => {
    const gic = make();
    gic.writeHyp(0, GICH.VMCR, 0xffffffff);
    expect(gic.readHyp(0, GICH.VMCR)).toBe(0xf8fc021f);
  });

  it("GICV_CTLR is VMCR[9] (EOImode = VEM) and VMCR[4:0]", () => {
    const gic = make();
    gic.writeVcpu(0, GICV.CTLR, 0x3ff); // bits [8:5] are not in the virtual CTLR
    expect(gic.readVcpu(0, GICV.CTLR)).toBe(0x21f);
    expect(gic.readHyp(0, GICH.VMCR)).toBe(0x004c0000 | 0x21f);
    gic.writeHyp(0, GICH.VMCR, 0x004c0000 | VMCR.Grp1En | VMCR.FIQEn);
    expect(gic.readVcpu(0, GICV.CTLR)).toBe(VMCR.Grp1En | VMCR.FIQEn);
  });

  it("GICV_PMR[7:3] is VMPriMask; its low 3 bits are RAZ/WI", () => {
    const gic = make();
    gic.writeVcpu(0, GICV.PMR, 0xa7);
    expect(gic.readVcpu(0, GICV.PMR)).toBe(0xa0);
    expect(gic.readHyp(0, GICH.VMCR) >>> VMCR.PriMaskShift).toBe(0xa0 >> 3);
    gic.writeHyp(0, GICH.VMCR, (0x1f << VMCR.PriMaskShift | 0x004c0000) >>> 0);
    expect(gic.readVcpu(0, GICV.PMR)).toBe(0xf8);
  });

  it("GICV_BPR is VMBP and GICV_ABPR is VMABP", () => {
    const gic = make();
    gic.writeVcpu(0, GICV.BPR, 5);
    gic.writeVcpu(0, GICV.ABPR, 6);
    const vmcr = gic.readHyp(0, GICH.VMCR);
    expect((vmcr >>> VMCR.BPShift) & 7).toBe(5);
    expect((vmcr >>> VMCR.ABPShift) & 7).toBe(6);
    gic.writeHyp(0, GICH.VMCR, (4 << VMCR.BPShift) | (7 << VMCR.ABPShift));
    expect(gic.readVcpu(0, GICV.BPR)).toBe(4);
    expect(gic.readVcpu(0, GICV.ABPR)).toBe(7);
  });

  it("binary points below the minimum for 5 priority bits read as the minimum (BPR 2, ABPR 3)", () => {
    // IHI 0048B 3.3.3 and 5.3.4: with 5 priority bits the minimum BPR is 2
    const gic = make();
    gic.writeVcpu(0, GICV.BPR, 0);
    gic.writeVcpu(0, GICV.ABPR, 0);
    expect(gic.readVcpu(0, GICV.BPR)).toBe(2);
    expect(gic.readVcpu(0, GICV.ABPR)).toBe(3);
    gic.writeHyp(0, GICH.VMCR, 0);
    expect(gic.readVcpu(0, GICV.BPR)).toBe(2);
    expect(gic.readVcpu(0, GICV.ABPR)).toBe(3);
  });
});

describe("GICH_APR and GICV_APR0 (IHI 0048B 5.3.10, 5.5)", () => {
  it("GICV_APR0 is GICH_APR; the lowest set bit n gives running priority n << 3", () => {
    const gic = make();
    gic.writeHyp(0, GICH.APR, 0x00100010);
    expect(gic.readVcpu(0, GICC.APR)).toBe(0x00100010);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(4 << 3);
    gic.writeVcpu(0, GICC.APR, 0x80000000);
    expect(gic.readHyp(0, GICH.APR)).toBe(0x80000000);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(31 << 3);
    // 5 preemption bits need one word: GICV_APR1-3 are RAZ/WI
    gic.writeVcpu(0, GICC.APR + 4, 0xffffffff);
    expect(gic.readVcpu(0, GICC.APR + 4)).toBe(0);
  });
});

describe("GICH_LRn (IHI 0048B 5.3.11)", () => {
  it("list registers read back as written", () => {
    const gic = make();
    const v = lr({ virtualId: 0x3fe, physicalId: 0x2aa, priority: 0xf8, state: LrState.PendingActive, group1: true, hw: true });
    gic.writeHyp(0, LR(3), v);
    expect(gic.readHyp(0, LR(3))).toBe(v);
    expect(decodeLr(gic.readHyp(0, LR(3)))).toMatchObject({ virtualId: 0x3fe, physicalId: 0x2aa, hw: true });
  });
  it("list registers beyond the configured count are RAZ/WI", () => {
    const gic = make();
    gic.writeHyp(0, LR(4), lr({ virtualId: 7 }));
    gic.writeHyp(0, LR(63), lr({ virtualId: 7 }));
    expect(gic.readHyp(0, LR(4))).toBe(0);
    expect(gic.readHyp(0, LR(63))).toBe(0);
    const one = make({ listRegisters: 1 });
    one.writeHyp(0, LR(1), lr({ virtualId: 7 }));
    expect(one.readHyp(0, LR(1))).toBe(0);
    expect(one.readHyp(0, GICH.ELRSR0)).toBe(1);
    const big = make({ listRegisters: 64 });
    big.writeHyp(0, LR(63), lr({ virtualId: 7 }));
    expect(big.readHyp(0, LR(63))).toBe(lr({ virtualId: 7 }));
  });
  it("GICH registers are banked per CPU", () => {
    const gic = make({ cpus: 2 });
    gic.writeHyp(1, GICH.HCR, HCR.En | HCR.UIE);
    gic.writeHyp(1, GICH.VMCR, 0x004c0000 | VMCR.Grp0En);
    gic.writeHyp(1, LR(0), lr({ virtualId: 9 }));
    gic.writeHyp(1, GICH.APR, 2);
    expect(gic.readHyp(1, GICH.HCR)).toBe(HCR.En | HCR.UIE);
    expect(gic.readHyp(1, LR(0))).toBe(lr({ virtualId: 9 }));
    expect(gic.readHyp(1, GICH.ELRSR0)).toBe(0xe);
    expect(gic.readHyp(0, GICH.HCR)).toBe(0);
    expect(gic.readHyp(0, GICH.VMCR)).toBe(0x004c0000);
    expect(gic.readHyp(0, LR(0))).toBe(0);
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf);
    expect(gic.readVcpu(0, GICV.CTLR)).toBe(0);
    expect(gic.readVcpu(1, GICV.CTLR)).toBe(VMCR.Grp0En);
  });
});

describe("GICH_ELRSR0/1 and GICH_EISR0/1 (IHI 0048B 5.3.6-5.3.9)", () => {
  it("an LR is empty when invalid and not owing EOI maintenance", () => {
    const gic = make();
    gic.writeHyp(0, LR(0), lr({ state: LrState.Pending }));
    gic.writeHyp(0, LR(1), lr({ state: LrState.Active }));
    gic.writeHyp(0, LR(2), lr({ state: LrState.Invalid, hw: true, physicalId: 40 })); // HW: never EOI maintenance
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0b1100);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
  });

  it("with 64 list registers, LRs 32-63 are in the second word", () => {
    const gic = make({ listRegisters: 64 });
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xffffffff);
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0xffffffff);
    enableVirt(gic);
    gic.writeHyp(0, LR(40), lr({ virtualId: 33, eoi: true, priority: 0x40 }));
    gic.writeHyp(0, LR(3), lr({ virtualId: 34, priority: 0x60 }));
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xfffffff7);
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0xfffffeff);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(33);
    gic.writeVcpu(0, GICV.EOIR, 33);
    // LR40 deactivated with EOI=1: EISR1 bit 8, still not empty
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
    expect(gic.readHyp(0, GICH.EISR1)).toBe(1 << 8);
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0xfffffeff);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.EOI);
    gic.writeHyp(0, LR(40), 0);
    expect(gic.readHyp(0, GICH.EISR1)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0xffffffff);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
  });

  it("with one list register only bit 0 is implemented", () => {
    const gic = make({ listRegisters: 1 });
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(1);
    expect(gic.readHyp(0, GICH.ELRSR1)).toBe(0);
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 50, eoi: true }));
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(50);
    gic.writeVcpu(0, GICV.EOIR, 50);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(1);
    expect(gic.readHyp(0, GICH.EISR1)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0);
  });
});

describe("EOI maintenance and the maintenance interrupt, PPI 25 (IHI 0048B 5.3.5, 5.3.11)", () => {
  /** Physical side of CPU `cpu`: distributor and CPU interface take PPI 25. */
  function physicalTakesPpi25(gic: Gic, cpu: number): void {
    gic.writeDist(cpu, GICD.CTLR, 3);
    gic.writeDist(cpu, GICD.ISENABLER, 1 << 25);
    gic.writeCpu(cpu, GICC.CTLR, 1);
    gic.writeCpu(cpu, GICC.PMR, 0xff);
  }

  it("HW=0, EOI=1: deactivation sets EISR and MISR.EOI and asserts PPI 25 on that CPU only", () => {
    const gic = make({ cpus: 2 });
    physicalTakesPpi25(gic, 1);
    enableVirt(gic, 1);
    gic.writeHyp(1, LR(2), lr({ virtualId: 44, eoi: true, priority: 0x50 }));
    expect(gic.readHyp(1, GICH.MISR)).toBe(0);
    expect(gic.readVcpu(1, GICV.IAR)).toBe(44);
    expect(gic.readHyp(1, GICH.EISR0)).toBe(0); // active: no maintenance yet
    expect(gic.lines(1) & Line.IRQ).toBe(0);
    gic.writeVcpu(1, GICV.EOIR, 44);
    expect(decodeLr(gic.readHyp(1, LR(2))).state).toBe(LrState.Invalid);
    expect(gic.readHyp(1, GICH.EISR0)).toBe(1 << 2);
    expect(gic.readHyp(1, GICH.ELRSR0) & (1 << 2)).toBe(0);
    expect(gic.readHyp(1, GICH.MISR)).toBe(MISR.EOI);
    expect(gic.readDist(1, GICD.ISPENDR) & (1 << 25)).toBe(1 << 25);
    expect(gic.readDist(0, GICD.ISPENDR) & (1 << 25)).toBe(0);
    expect(gic.lines(1) & Line.IRQ).toBe(Line.IRQ);
    expect(gic.lines(1) & Line.MAINT).toBe(Line.MAINT);
    expect(gic.lines(0) & (Line.IRQ | Line.MAINT)).toBe(0);
    expect(gic.readCpu(1, GICC.HPPIR)).toBe(25);
    // the hypervisor handles it by clearing the LR: the level-sensitive PPI drops
    gic.writeHyp(1, LR(2), 0);
    expect(gic.readHyp(1, GICH.EISR0)).toBe(0);
    expect(gic.readHyp(1, GICH.MISR)).toBe(0);
    expect(gic.readDist(1, GICD.ISPENDR) & (1 << 25)).toBe(0);
    expect(gic.lines(1) & (Line.IRQ | Line.MAINT)).toBe(0);
  });

  it("HW=0, EOI=0: deactivation leaves the LR empty and raises nothing", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 44 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(44);
    gic.writeVcpu(0, GICV.EOIR, 44);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
  });

  it("EOI maintenance through GICV_DIR with VEM=1", () => {
    const gic = make();
    enableVirt(gic, 0, VMCR.Grp0En | VMCR.VEM);
    gic.writeHyp(0, LR(1), lr({ virtualId: 45, eoi: true }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(45);
    gic.writeVcpu(0, GICV.EOIR, 45);
    expect(decodeLr(gic.readHyp(0, LR(1))).state).toBe(LrState.Active);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
    gic.writeVcpu(0, GICV.DIR, 45);
    expect(decodeLr(gic.readHyp(0, LR(1))).state).toBe(LrState.Invalid);
    expect(gic.readHyp(0, GICH.EISR0)).toBe(1 << 1);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xd);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.EOI);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
  });

  it("the maintenance interrupt needs HCR.En even while MISR is set", () => {
    const gic = make();
    gic.writeHyp(0, GICH.HCR, HCR.UIE); // no valid LR: MISR.U
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.U);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    expect(gic.readDist(0, GICD.ISPENDR) & (1 << 25)).toBe(0);
    gic.writeHyp(0, GICH.HCR, HCR.UIE | HCR.En);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
    expect(gic.readDist(0, GICD.ISPENDR) & (1 << 25)).toBe(1 << 25);
    gic.writeHyp(0, GICH.HCR, HCR.UIE);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    expect(gic.readDist(0, GICD.ISPENDR) & (1 << 25)).toBe(0);
  });
});

describe("GICH_HCR.EOICount and LRENP (IHI 0048B 5.3.2, 5.3.5)", () => {
  it("an EOI that drops a priority but matches no LR increments EOICount; a matching one does not", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 60 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(60);
    gic.writeVcpu(0, GICV.EOIR, 60);
    expect(eoiCount(gic)).toBe(0);
    // the hypervisor evicts an active interrupt from its LR; the guest's EOI
    // then finds no LR
    gic.writeHyp(0, LR(0), lr({ virtualId: 61 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(61);
    gic.writeHyp(0, LR(0), 0);
    gic.writeVcpu(0, GICV.EOIR, 61);
    expect(eoiCount(gic)).toBe(1);
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
  });

  it("an EOI that clears no GICH_APR bit does not increment EOICount", () => {
    // IHI 0048B 5.3.2: EOIs that do not clear a bit in GICH_APR do not cause an increment
    const gic = make();
    enableVirt(gic);
    gic.writeVcpu(0, GICV.EOIR, 61);
    expect(eoiCount(gic)).toBe(0);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
  });

  it("with VEM=1 only GICV_DIR deactivates and counts an unmatched deactivation", () => {
    const gic = make();
    enableVirt(gic, 0, VMCR.Grp0En | VMCR.VEM);
    gic.writeHyp(0, LR(0), lr({ virtualId: 62 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(62);
    gic.writeHyp(0, LR(0), 0);
    gic.writeVcpu(0, GICV.EOIR, 62); // priority drop only
    expect(eoiCount(gic)).toBe(0);
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
    gic.writeVcpu(0, GICV.DIR, 62);
    expect(eoiCount(gic)).toBe(1);
  });

  it("LRENP is set while LRENPIE=1 and EOICount != 0; EOICount wraps from 31 to 0", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, GICH.HCR, HCR.En | HCR.LRENPIE);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    gic.writeHyp(0, LR(0), lr({ virtualId: 70 }));
    gic.readVcpu(0, GICV.IAR);
    gic.writeHyp(0, LR(0), 0);
    gic.writeVcpu(0, GICV.EOIR, 70);
    expect(eoiCount(gic)).toBe(1);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.LRENP);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
    gic.writeHyp(0, GICH.HCR, HCR.En | (1 << HCR.EOICountShift)); // LRENPIE off
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    gic.writeHyp(0, GICH.HCR, (HCR.En | HCR.LRENPIE | (31 << HCR.EOICountShift)) >>> 0);
    gic.writeHyp(0, LR(0), lr({ virtualId: 71 }));
    gic.readVcpu(0, GICV.IAR);
    gic.writeHyp(0, LR(0), 0);
    gic.writeVcpu(0, GICV.EOIR, 71);
    expect(eoiCount(gic)).toBe(0);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
  });
});

describe("GICH_MISR conditions (IHI 0048B 5.3.5)", () => {
  it("U: UIE and at most one valid LR", () => {
    const gic = make();
    gic.writeHyp(0, GICH.HCR, HCR.En | HCR.UIE);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.U);
    gic.writeHyp(0, LR(0), lr({ virtualId: 1 }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.U);
    gic.writeHyp(0, LR(3), lr({ virtualId: 2, state: LrState.Active }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    gic.writeHyp(0, LR(0), 0);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.U);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
    gic.writeHyp(0, GICH.HCR, HCR.En);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
  });

  it("NP: NPIE and no LR in the pending state (pending-and-active is another state)", () => {
    const gic = make();
    gic.writeHyp(0, GICH.HCR, HCR.En | HCR.NPIE);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.NP);
    gic.writeHyp(0, LR(1), lr({ virtualId: 3, state: LrState.Pending }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    gic.writeHyp(0, LR(1), lr({ virtualId: 3, state: LrState.Active }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.NP);
    gic.writeHyp(0, LR(1), lr({ virtualId: 3, state: LrState.PendingActive }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.NP);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
  });

  it("NP follows the guest acknowledging the last pending LR", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, GICH.HCR, HCR.En | HCR.NPIE);
    gic.writeHyp(0, LR(0), lr({ virtualId: 5 }));
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(5);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.NP);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
  });

  it("VGrp0E/VGrp0D/VGrp1E/VGrp1D follow the enable bits and the guest's group enables", () => {
    const gic = make();
    const all = HCR.VGrp0EIE | HCR.VGrp0DIE | HCR.VGrp1EIE | HCR.VGrp1DIE;
    gic.writeHyp(0, GICH.HCR, HCR.En | all);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.VGrp0D | MISR.VGrp1D);
    gic.writeVcpu(0, GICV.CTLR, VMCR.Grp0En);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.VGrp0E | MISR.VGrp1D);
    gic.writeVcpu(0, GICV.CTLR, VMCR.Grp1En);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.VGrp0D | MISR.VGrp1E);
    gic.writeHyp(0, GICH.VMCR, 0x004c0000 | VMCR.Grp0En | VMCR.Grp1En);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.VGrp0E | MISR.VGrp1E);
    gic.writeHyp(0, GICH.HCR, HCR.En | HCR.VGrp0DIE | HCR.VGrp1DIE);
    expect(gic.readHyp(0, GICH.MISR)).toBe(0);
    expect(gic.lines(0) & Line.MAINT).toBe(0);
    gic.writeVcpu(0, GICV.CTLR, 0);
    expect(gic.readHyp(0, GICH.MISR)).toBe(MISR.VGrp0D | MISR.VGrp1D);
    expect(gic.lines(0) & Line.MAINT).toBe(Line.MAINT);
  });
});
