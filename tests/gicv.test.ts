// Specification tests for the virtual CPU interface (GICV) driven by the list
// registers: the LR state machine through GICV_IAR/EOIR/DIR, priority masking
// and preemption, HW=1 linking to the physical distributor, the vIRQ/vFIQ
// lines, and the examples/lr-roundtrip.gic register script through the CLI
// (IHI 0048B chapter 5, ../shared/GICV2.md). Every expected value comes from
// the architecture, not from the model.

import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Gic, Line, VIRT_MAP } from "../host/hw/gic.ts";
import {
  GICC, GICD, GICH, GICV, HCR, LrState, VMCR, decodeLr,
} from "../host/hw/regs.ts";

import { LR, lr, make } from "./lr-helpers.ts";

/** HCR.En, guest group enables (default Group 0 and 1 with AckCtl), mask open. */
function enableVirt(gic: Gic, ctlr = VMCR.Grp0En | VMCR.Grp1En | VMCR.AckCtl, cpu = 0): void {
  gic.writeHyp(cpu, GICH.HCR, HCR.En);
  gic.writeVcpu(cpu, GICV.CTLR, ctlr);
  gic.writeVcpu(cpu, GICV.PMR, 0xf8);
}

const lrState = (gic: Gic, n: number, cpu = 0) => decodeLr(gic.readHyp(cpu, LR(n))).state;
const vlines = (gic: Gic, cpu = 0) => gic.lines(cpu) & (Line.VIRQ | Line.VFIQ);

describe("LR state machine with VMCR.VEM=0 (IHI 0048B 5.3.11, 5.4)", () => {
  it("IAR makes the pending LR active and returns its VirtualID; EOIR drops priority and deactivates", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(1), lr({ virtualId: 0x2a, priority: 0xa0 }));
    expect(gic.readVcpu(0, GICV.HPPIR)).toBe(0x2a);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(0x2a);
    expect(lrState(gic, 1)).toBe(LrState.Active);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0xa0);
    expect(gic.readHyp(0, GICH.APR)).toBe(1 << (0xa0 >> 3)); // 5.3.10: one bit per preemption level
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xd);
    expect(gic.readVcpu(0, GICV.HPPIR)).toBe(1023);
    gic.writeVcpu(0, GICV.EOIR, 0x2a);
    expect(lrState(gic, 1)).toBe(LrState.Invalid);
    // deactivation changes only the State field
    expect(gic.readHyp(0, LR(1))).toBe(lr({ virtualId: 0x2a, priority: 0xa0, state: LrState.Invalid }));
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0xff);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
  });

  it("a software SGI (HW=0, VirtualID < 16) reports CPUID in bits [12:10] and EOIR must match it", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 5, physicalId: 3 }));
    expect(gic.readVcpu(0, GICV.HPPIR)).toBe((3 << 10) | 5);
    expect(gic.readVcpu(0, GICV.IAR)).toBe((3 << 10) | 5);
    gic.writeVcpu(0, GICV.EOIR, (2 << 10) | 5); // another source: no LR matches
    expect(lrState(gic, 0)).toBe(LrState.Active);
    expect(gic.readHyp(0, GICH.HCR) >>> HCR.EOICountShift).toBe(1);
    gic.writeHyp(0, GICH.APR, 1 << (0x80 >> 3)); // restore the active priority for the real EOI
    gic.writeVcpu(0, GICV.EOIR, (3 << 10) | 5);
    expect(lrState(gic, 0)).toBe(LrState.Invalid);
    expect(gic.readHyp(0, GICH.HCR) >>> HCR.EOICountShift).toBe(1);
  });

  it("only a software SGI carries a CPUID: a virtual SPI or an HW LR reports the bare VirtualID", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 40, physicalId: 3, priority: 0x10 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(40);
    gic.writeVcpu(0, GICV.EOIR, 40);
    expect(lrState(gic, 0)).toBe(LrState.Invalid);
  });

  it("a pending-and-active LR is not acknowledged again until its active state ends", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 33, priority: 0x40 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(33);
    // the hypervisor marks it pending again while the guest handles it
    gic.writeHyp(0, LR(0), lr({ virtualId: 33, priority: 0x40, state: LrState.PendingActive }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    gic.writeVcpu(0, GICV.EOIR, 33);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
    expect(vlines(gic)).toBe(Line.VIRQ);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(33);
    expect(lrState(gic, 0)).toBe(LrState.Active);
  });

  it("nothing pending reads 1023; HCR.En=0 reads 1023 and leaves the LR pending", () => {
    const gic = make();
    enableVirt(gic);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    gic.writeHyp(0, LR(0), lr({ virtualId: 34 }));
    gic.writeHyp(0, GICH.HCR, 0); // 5.3.2: En=0, the virtual CPU interface is disabled
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
    expect(vlines(gic)).toBe(0);
    gic.writeHyp(0, GICH.HCR, HCR.En);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(34);
  });

  it("an LR of a disabled group is not acknowledged", () => {
    const gic = make();
    enableVirt(gic, VMCR.Grp1En | VMCR.AckCtl);
    gic.writeHyp(0, LR(0), lr({ virtualId: 35, group1: false }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
  });

  it("EOIR of a special ID is ignored (no priority drop)", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 36 }));
    gic.readVcpu(0, GICV.IAR);
    gic.writeVcpu(0, GICV.EOIR, 1023);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0x80);
    expect(lrState(gic, 0)).toBe(LrState.Active);
  });
});

describe("LR state machine with VMCR.VEM=1 (IHI 0048B 5.4, GICV_CTLR.EOImode)", () => {
  it("EOIR only drops priority; DIR deactivates", () => {
    const gic = make();
    enableVirt(gic, VMCR.Grp0En | VMCR.VEM);
    gic.writeHyp(0, LR(0), lr({ virtualId: 50, priority: 0x60 }));
    gic.writeHyp(0, LR(1), lr({ virtualId: 51, priority: 0x70 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(50);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0x60);
    gic.writeVcpu(0, GICV.EOIR, 50);
    expect(lrState(gic, 0)).toBe(LrState.Active);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0xff);
    expect(gic.readHyp(0, GICH.APR)).toBe(0);
    // after the drop the next interrupt may be taken while 50 is still active
    expect(gic.readVcpu(0, GICV.IAR)).toBe(51);
    gic.writeVcpu(0, GICV.EOIR, 51);
    gic.writeVcpu(0, GICV.DIR, 50);
    expect(lrState(gic, 0)).toBe(LrState.Invalid);
    expect(lrState(gic, 1)).toBe(LrState.Active);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xd);
    gic.writeVcpu(0, GICV.DIR, 51);
    expect(lrState(gic, 1)).toBe(LrState.Invalid);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf);
    expect(gic.readHyp(0, GICH.HCR) >>> HCR.EOICountShift).toBe(0);
  });
});

describe("groups, 1022 and the aliases (IHI 0048B 5.4, 4.4.4, 4.4.8, Table 3-4)", () => {
  it("a Group 1 LR with AckCtl=0 reads 1022 through IAR/HPPIR and stays pending; AIAR takes it", () => {
    const gic = make();
    enableVirt(gic, VMCR.Grp0En | VMCR.Grp1En);
    gic.writeHyp(0, LR(0), lr({ virtualId: 77, group1: true }));
    expect(gic.readVcpu(0, GICV.HPPIR)).toBe(1022);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1022);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
    expect(gic.readVcpu(0, GICV.AHPPIR)).toBe(77);
    expect(gic.readVcpu(0, GICV.AIAR)).toBe(77);
    expect(lrState(gic, 0)).toBe(LrState.Active);
    gic.writeVcpu(0, GICV.AEOIR, 77);
    expect(lrState(gic, 0)).toBe(LrState.Invalid);
  });

  it("AckCtl=1 lets IAR acknowledge Group 1", () => {
    const gic = make();
    enableVirt(gic, VMCR.Grp0En | VMCR.Grp1En | VMCR.AckCtl);
    gic.writeHyp(0, LR(2), lr({ virtualId: 78, group1: true }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(78);
  });

  it("AIAR and AHPPIR do not report Group 0", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 79 }));
    expect(gic.readVcpu(0, GICV.AHPPIR)).toBe(1023);
    expect(gic.readVcpu(0, GICV.AIAR)).toBe(1023);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
  });
});

describe("priority mask and preemption in the virtual interface (IHI 0048B 3.3, 5.4)", () => {
  it("an LR whose priority does not beat VMPriMask is not signalled (1023)", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 90, priority: 0x80 }));
    gic.writeVcpu(0, GICV.PMR, 0x80); // equal priority is masked
    expect(vlines(gic)).toBe(0);
    expect(gic.readVcpu(0, GICV.HPPIR)).toBe(1023);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    expect(lrState(gic, 0)).toBe(LrState.Pending);
    gic.writeVcpu(0, GICV.PMR, 0x88);
    expect(vlines(gic)).toBe(Line.VIRQ);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(90);
  });

  it("a lower-priority LR waits while a higher one is active; a higher one preempts", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 100, priority: 0x80 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(100);
    gic.writeHyp(0, LR(1), lr({ virtualId: 101, priority: 0xa0 }));
    gic.writeHyp(0, LR(3), lr({ virtualId: 103, priority: 0x80 })); // same priority: no preemption
    expect(vlines(gic)).toBe(0);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    gic.writeHyp(0, LR(2), lr({ virtualId: 102, priority: 0x40 }));
    expect(vlines(gic)).toBe(Line.VIRQ);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(102);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0x40);
    expect(gic.readHyp(0, GICH.APR)).toBe((1 << (0x40 >> 3)) | (1 << (0x80 >> 3)));
    gic.writeVcpu(0, GICV.EOIR, 102);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0x80);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    gic.writeVcpu(0, GICV.EOIR, 100);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0xff);
    // 103 and 101 pending: the higher priority goes first
    expect(gic.readVcpu(0, GICV.IAR)).toBe(103);
  });

  it("preemption compares group priorities per VMBP (Group 0)", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeVcpu(0, GICV.BPR, 4); // group priority [7:5]
    gic.writeHyp(0, LR(0), lr({ virtualId: 110, priority: 0x58 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(110);
    expect(gic.readVcpu(0, GICV.RPR)).toBe(0x40);
    gic.writeHyp(0, LR(1), lr({ virtualId: 111, priority: 0x48 })); // group priority 0x40 too
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    expect(vlines(gic)).toBe(0);
    gic.writeHyp(0, LR(2), lr({ virtualId: 112, priority: 0x38 })); // group priority 0x20
    expect(gic.readVcpu(0, GICV.IAR)).toBe(112);
  });

  it("with the minimum VMBP (2) every 5-bit priority is its own group", () => {
    const gic = make();
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 110, priority: 0x58 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(110);
    gic.writeHyp(0, LR(1), lr({ virtualId: 111, priority: 0x50 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(111);
  });

  it("Group 1 uses VMABP unless VMCBPR", () => {
    // Group 1 LR at 0x58 active, Group 1 LR at 0x48 pending; VMBP = 2, VMABP = 5
    const scenario = (ctlr: number) => {
      const gic = make();
      enableVirt(gic, ctlr);
      gic.writeVcpu(0, GICV.ABPR, 5); // Group 1 group priority [7:5] when VMCBPR=0
      gic.writeHyp(0, LR(0), lr({ virtualId: 120, priority: 0x58, group1: true }));
      expect(gic.readVcpu(0, GICV.IAR)).toBe(120);
      const rpr = gic.readVcpu(0, GICV.RPR);
      gic.writeHyp(0, LR(1), lr({ virtualId: 121, priority: 0x48, group1: true }));
      return [rpr, gic.readVcpu(0, GICV.IAR)];
    };
    const base = VMCR.Grp0En | VMCR.Grp1En | VMCR.AckCtl;
    expect(scenario(base)).toEqual([0x40, 1023]); // 0x48 and 0x58 share group priority 0x40
    expect(scenario(base | VMCR.CBPR)).toEqual([0x58, 121]); // VMBP 2: [7:3]
  });
});

describe("vIRQ and vFIQ lines (IHI 0048B 5.1, 5.4, 3.3.2)", () => {
  it("need HCR.En, the group enabled, priority beating VMPriMask and the running priority", () => {
    const gic = make();
    gic.writeHyp(0, LR(0), lr({ virtualId: 130, priority: 0x80, group1: true }));
    expect(vlines(gic)).toBe(0);
    gic.writeHyp(0, GICH.HCR, HCR.En);
    expect(vlines(gic)).toBe(0); // group disabled, mask 0
    gic.writeVcpu(0, GICV.CTLR, VMCR.Grp1En | VMCR.AckCtl);
    expect(vlines(gic)).toBe(0); // mask 0
    gic.writeVcpu(0, GICV.PMR, 0xf8);
    expect(vlines(gic)).toBe(Line.VIRQ);
    expect(gic.lines(0) & (Line.IRQ | Line.FIQ)).toBe(0);
    gic.writeHyp(0, GICH.APR, 1 << (0x80 >> 3)); // running priority 0x80
    expect(vlines(gic)).toBe(0);
    gic.writeHyp(0, GICH.APR, 0);
    expect(vlines(gic)).toBe(Line.VIRQ);
    gic.writeHyp(0, GICH.HCR, 0);
    expect(vlines(gic)).toBe(0);
    gic.writeHyp(0, GICH.HCR, HCR.En);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(130);
    expect(vlines(gic)).toBe(0); // nothing pending any more
  });

  it("Group 0 is signalled as vFIQ when VMCR.FIQEn, Group 1 stays vIRQ", () => {
    const gic = make();
    enableVirt(gic, VMCR.Grp0En | VMCR.Grp1En | VMCR.FIQEn | VMCR.AckCtl);
    gic.writeHyp(0, LR(0), lr({ virtualId: 140, priority: 0x80 }));
    expect(vlines(gic)).toBe(Line.VFIQ);
    gic.writeVcpu(0, GICV.CTLR, VMCR.Grp0En | VMCR.Grp1En | VMCR.AckCtl);
    expect(vlines(gic)).toBe(Line.VIRQ);
    gic.writeHyp(0, LR(0), lr({ virtualId: 140, priority: 0x80, group1: true }));
    gic.writeVcpu(0, GICV.CTLR, VMCR.Grp0En | VMCR.Grp1En | VMCR.FIQEn | VMCR.AckCtl);
    expect(vlines(gic)).toBe(Line.VIRQ);
  });

  it("the lines are per CPU", () => {
    const gic = make({ cpus: 2 });
    enableVirt(gic, VMCR.Grp0En, 1);
    gic.writeHyp(1, LR(0), lr({ virtualId: 150 }));
    expect(vlines(gic, 1)).toBe(Line.VIRQ);
    expect(vlines(gic, 0)).toBe(0);
    expect(gic.readVcpu(0, GICV.IAR)).toBe(1023);
    expect(gic.readVcpu(1, GICV.IAR)).toBe(150);
  });
});

describe("HW=1: a virtual interrupt linked to a physical SPI (IHI 0048B 5.3.11, 5.4, 4.4.1 EOImode)", () => {
  const SPI = 40;
  const word = SPI >> 5;
  const bit = 1 << (SPI & 31);

  /** The hypervisor takes physical SPI 40 on GICC with EOImode=1 and only
   *  drops its priority, leaving it active for the guest to deactivate. */
  function hypervisorTakesSpi(gic: Gic): void {
    gic.writeDist(0, GICD.CTLR, 1);
    gic.writeDist(0, GICD.ISENABLER + 4 * word, bit);
    gic.writeDist(0, GICD.IPRIORITYR + SPI, 0xa0, 1);
    gic.writeCpu(0, GICC.CTLR, 0x201); // EnableGrp0 | EOImode
    gic.writeCpu(0, GICC.PMR, 0xff);
    gic.setLine(SPI, 1);
    expect(gic.lines(0) & Line.IRQ).toBe(Line.IRQ);
    expect(gic.readCpu(0, GICC.IAR)).toBe(SPI);
    gic.setLine(SPI, 0); // the device is quiet (level-sensitive SPI)
    gic.writeCpu(0, GICC.EOIR, SPI);
    expect(gic.readCpu(0, GICC.RPR)).toBe(0xff);
    expect(gic.readDist(0, GICD.ISACTIVER + 4 * word) & bit).toBe(bit);
  }

  it("the guest's EOIR with VEM=0 deactivates PhysicalID in the distributor", () => {
    const gic = make();
    hypervisorTakesSpi(gic);
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 72, physicalId: SPI, hw: true, priority: 0xa0 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(72);
    // while active, a new assertion is not signalled
    gic.setLine(SPI, 1);
    expect(gic.lines(0) & Line.IRQ).toBe(0);
    expect(gic.readCpu(0, GICC.IAR)).toBe(1023);
    gic.setLine(SPI, 0);
    expect(gic.readDist(0, GICD.ISACTIVER + 4 * word) & bit).toBe(bit);
    gic.writeVcpu(0, GICV.EOIR, 72);
    expect(lrState(gic, 0)).toBe(LrState.Invalid);
    expect(gic.readDist(0, GICD.ISACTIVER + 4 * word) & bit).toBe(0);
    // HW=1 never owes EOI maintenance: the LR is simply empty
    expect(gic.readHyp(0, GICH.EISR0)).toBe(0);
    expect(gic.readHyp(0, GICH.ELRSR0)).toBe(0xf);
    // the physical SPI can be signalled again
    gic.setLine(SPI, 1);
    expect(gic.lines(0) & Line.IRQ).toBe(Line.IRQ);
    expect(gic.readCpu(0, GICC.HPPIR)).toBe(SPI);
    expect(gic.readCpu(0, GICC.IAR)).toBe(SPI);
  });

  it("with VEM=1 the guest's EOIR leaves it active and GICV_DIR deactivates it", () => {
    const gic = make();
    hypervisorTakesSpi(gic);
    enableVirt(gic, VMCR.Grp0En | VMCR.VEM);
    gic.writeHyp(0, LR(3), lr({ virtualId: SPI, physicalId: SPI, hw: true, priority: 0xa0 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(SPI);
    gic.writeVcpu(0, GICV.EOIR, SPI);
    expect(lrState(gic, 3)).toBe(LrState.Active);
    expect(gic.readDist(0, GICD.ISACTIVER + 4 * word) & bit).toBe(bit);
    gic.writeVcpu(0, GICV.DIR, SPI);
    expect(lrState(gic, 3)).toBe(LrState.Invalid);
    expect(gic.readDist(0, GICD.ISACTIVER + 4 * word) & bit).toBe(0);
    gic.setLine(SPI, 1);
    expect(gic.readCpu(0, GICC.IAR)).toBe(SPI);
  });

  it("an HW LR linked to a PPI deactivates it in that CPU's bank only", () => {
    const gic = make({ cpus: 2 });
    const PPI = 27; // virtual timer
    for (const cpu of [0, 1]) {
      gic.writeDist(cpu, GICD.CTLR, 1);
      gic.writeDist(cpu, GICD.ISENABLER, 1 << PPI);
      gic.writeCpu(cpu, GICC.CTLR, 0x201);
      gic.writeCpu(cpu, GICC.PMR, 0xff);
      gic.setLine(PPI, 1, cpu);
      expect(gic.readCpu(cpu, GICC.IAR)).toBe(PPI);
      gic.setLine(PPI, 0, cpu);
      gic.writeCpu(cpu, GICC.EOIR, PPI);
      expect(gic.readDist(cpu, GICD.ISACTIVER) & (1 << PPI)).toBe(1 << PPI);
    }
    enableVirt(gic, VMCR.Grp0En, 1);
    gic.writeHyp(1, LR(0), lr({ virtualId: PPI, physicalId: PPI, hw: true }));
    expect(gic.readVcpu(1, GICV.IAR)).toBe(PPI);
    gic.writeVcpu(1, GICV.EOIR, PPI);
    expect(gic.readDist(1, GICD.ISACTIVER) & (1 << PPI)).toBe(0);
    expect(gic.readDist(0, GICD.ISACTIVER) & (1 << PPI)).toBe(1 << PPI);
  });

  it("a level still asserted when the guest deactivates is signalled again at once", () => {
    const gic = make();
    hypervisorTakesSpi(gic);
    gic.setLine(SPI, 1);
    enableVirt(gic);
    gic.writeHyp(0, LR(0), lr({ virtualId: 72, physicalId: SPI, hw: true, priority: 0xa0 }));
    expect(gic.readVcpu(0, GICV.IAR)).toBe(72);
    expect(gic.lines(0) & Line.IRQ).toBe(0);
    gic.writeVcpu(0, GICV.EOIR, 72);
    expect(gic.lines(0) & Line.IRQ).toBe(Line.IRQ);
    expect(gic.readCpu(0, GICC.IAR)).toBe(SPI);
  });
});

describe("examples/lr-roundtrip.gic through the CLI (vgic mmio)", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const cli = `${root}build/vgic.mjs`;

  it("prints every read as the architecture says", () => {
    expect(existsSync(cli), "build/vgic.mjs: run `npm run build`").toBe(true);
    const r = spawnSync(process.execPath, [cli, "mmio", "examples/lr-roundtrip.gic"], { cwd: root, encoding: "utf8" });
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    const H = VIRT_MAP.gich;
    const V = VIRT_MAP.gicv;
    const hex = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");
    const pending = lr({ virtualId: 0x2a, priority: 0xa0, state: LrState.Pending });
    const expected: Array<[number, number]> = [
      [H + GICH.VTR, 0x90000003], // 5.3.3: 5 priority and preemption bits, 4 LRs
      [H + GICH.VMCR, 0xf84c0001], // 5.3.4: VMPriMask 0x1f, VMBP 2, VMABP 3, VMGrp0En
      [H + GICH.ELRSR0, 0xe], // 5.3.8: LR0 in use
      [H + LR(0), pending],
      [V + GICV.HPPIR, 0x2a],
      [V + GICV.IAR, 0x2a], // acknowledge: LR0 pending -> active
      [H + LR(0), lr({ virtualId: 0x2a, priority: 0xa0, state: LrState.Active })],
      [V + GICV.RPR, 0xa0],
      [H + GICH.APR, 1 << (0xa0 >> 3)],
      [H + LR(0), lr({ virtualId: 0x2a, priority: 0xa0, state: LrState.Invalid })], // after EOIR
      [H + GICH.ELRSR0, 0xf],
      [V + GICV.RPR, 0xff],
      [V + GICV.IAR, 1023],
    ];
    const out = r.stdout.trim().split("\n");
    expect(out).toEqual(expected.map(([a, v]) => `${hex(a)} = ${hex(v)}`));
  });
});
