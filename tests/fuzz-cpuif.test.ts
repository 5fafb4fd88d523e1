// The CPU interface oracle of the hw fuzz target (host/check/cpu-interface.ts)
// on hand-written register sequences. Each expected value is derived from
// IHI 0048B by hand (the section is named at the step); the real model must
// produce it with every invariant holding, the oracle must compute it, and
// the planted fault of each rule must be reported at the step it breaks.

import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { GICC, GICD, GICH, GICV, encodeLr } from "../host/hw/regs.ts";
import * as L from "../host/hw/layout.ts";
import { HwChecker, rawPort, type HwOp, type Violation } from "../host/check/invariants.ts";
import {
  checkAckChoice, checkHighestPending, checkVirtualAckChoice, expectedPhysicalAck, expectedPhysicalLines,
  expectedVirtualAcks, expectedVirtualLines,
} from "../host/check/cpu-interface.ts";
import { plantFaults } from "../host/fuzz/faults.ts";
import { hwTarget, runOps } from "../host/fuzz/index.ts";

const D = 0x08000000;
const C = 0x08010000;
const H = 0x08030000;
const V = 0x08040000;
// 5 priority bits: priorities are multiples of 8, GICC_BPR is at least 2, so
// Group 0 group priorities keep bits [7:3] (3.3, Table 3-7)
const config = { cpus: 2, irqs: 64, priorityBits: 5, listRegisters: 4, sgiAlwaysEnabled: false, ppiConfigReadOnly: false };

type Op = HwOp;
const w = (addr: number, value: number, size = 4, cpu = 0): Op => ({ t: "w", cpu, addr, value: value >>> 0, size });
const r = (addr: number, cpu = 0): Op => ({ t: "r", cpu, addr, size: 4 });
const line = (irq: number, level: number, cpu = 0): Op => ({ t: "line", irq, level, cpu });
const lr = (virtualId: number, priority: number, o: { group1?: boolean; hw?: boolean; physicalId?: number; state?: number } = {}) =>
  encodeLr({ virtualId, physicalId: o.physicalId ?? 0, eoi: false, priority, state: o.state ?? 1, group1: o.group1 ?? false, hw: o.hw ?? false });
const spiBit = (irq: number) => (1 << (irq & 31)) >>> 0;

/** Drive a fresh model with the checker of the hw target: every step's read
 *  result (or write status), and the first violation. */
function drive(ops: Op[], faults: string[] = []) {
  const gic = Gic.create(config);
  const port = plantFaults(gic, rawPort(gic), faults);
  const chk = new HwChecker(gic, port);
  const results: number[] = [];
  const snaps: Uint32Array[] = [];
  let violation: Violation | null = null;
  let at = -1;
  for (let i = 0; i < ops.length && !violation; i++) {
    const op = ops[i]!;
    snaps.push(gic.memoryWords().slice(0, 0x3000 >> 2));
    chk.before(op);
    const res = op.t === "r" ? port.read(op.cpu, op.addr, op.size) : op.t === "w" ? port.write(op.cpu, op.addr, op.value, op.size)
      : port.setLine(op.irq, op.level, op.cpu);
    results.push(res);
    violation = chk.after(op, res);
    if (violation) at = i;
  }
  return { gic, results, snaps, violation, at };
}

/** The result of the step at index `i` of `ops` on the real model. */
function readsOf(ops: Op[], picks: number[]): number[] {
  const d = drive(ops);
  expect(d.violation).toBeNull();
  return picks.map((i) => d.results[i]!);
}

/** The violation `fault` causes, with its step; the sequence runs clean without it. */
function withFault(ops: Op[], fault: string) {
  expect(runOps(hwTarget, config, ops).violation).toBeNull();
  const res = runOps(hwTarget, config, ops, [fault]);
  return { invariant: res.violation?.invariant, at: res.index, message: res.violation?.message ?? "" };
}

// three SPIs for CPU 0: 40 at 0x80, 41 and 42 at 0x40
const spis = [
  w(D + GICD.CTLR, 3), w(C + GICC.CTLR, 1), w(C + GICC.PMR, 0xf0),
  w(D + GICD.ITARGETSR + 40, 0x00010101), w(D + GICD.IPRIORITYR + 40, 0x00404080),
  w(D + GICD.ISENABLER + 4, spiBit(40) | spiBit(41) | spiBit(42)),
  w(D + GICD.ISPENDR + 4, spiBit(40) | spiBit(41) | spiBit(42)),
];

describe("physical acknowledge: the highest pending interrupt, or a spurious ID only when none may be taken", () => {
  const ops = [
    ...spis,
    r(C + GICC.IAR), // 7: 4.4.4: 0x40 beats 0x80; 41 and 42 tie and the lowest ID goes first
    r(C + GICC.RPR), // 8: 4.4.6: the running priority is 41's group priority
    r(C + GICC.IAR), // 9: 3.3: 42's group priority 0x40 does not beat the running 0x40: 1023
    r(C + GICC.HPPIR), // 10: 4.4.8: the highest pending is 42, the running priority aside
    w(C + GICC.EOIR, 41), r(C + GICC.RPR), // 12: EOImode 0: drop to idle, 0xff
    r(C + GICC.IAR), w(C + GICC.EOIR, 42), // 13: 42
    r(C + GICC.IAR), w(C + GICC.EOIR, 40), // 15: 40 at 0x80 is below GICC_PMR 0xf0
    r(C + GICC.IAR), // 17: nothing pending: 1023
  ];

  it("runs clean on the model with the values the architecture gives", () => {
    expect(readsOf(ops, [7, 8, 9, 10, 12, 13, 15, 17])).toEqual([41, 0x40, 1023, 42, 0xff, 42, 40, 1023]);
  });

  it("computes them from the state alone, and reports another ID or a spurious one", () => {
    const d = drive(ops);
    const before = d.snaps[7]!;
    expect(expectedPhysicalAck(before, d.gic.config, 0, false, true)).toBe(41);
    expect(checkAckChoice(before, d.gic.config, 0, 41, false)).toBeNull();
    expect(checkAckChoice(before, d.gic.config, 0, 42, false)).toEqual({
      invariant: "iar-not-highest",
      message: "CPU 0: GICC_IAR returned 0x2a (expected 0x29: head 0x29 at priority 0x40, PMR 0xf0, RPR 0x100, GICC_CTLR 0x1)",
    });
    expect(checkAckChoice(before, d.gic.config, 0, 1023, false)?.invariant).toBe("iar-spurious");
    // CPU 1 is not in ITARGETSR of any of them (4.3.12): nothing for it
    expect(expectedPhysicalAck(before, d.gic.config, 1, false, true)).toBe(1023);
    // with 41 active, 42 cannot preempt but is still the highest pending (4.4.8)
    expect(expectedPhysicalAck(d.snaps[9]!, d.gic.config, 0, false, true)).toBe(1023);
    expect(checkHighestPending(d.snaps[10]!, d.gic.config, 0, 1, false, 42)).toBeNull();
    expect(checkHighestPending(d.snaps[10]!, d.gic.config, 0, 1, false, 1023)?.invariant).toBe("hppir");
  });

  it("follows the group rules: 1022 for Group 1 without AckCtl, GICC_AIAR for Group 1 only (4.4.4)", () => {
    const grp = [
      ...spis, w(D + GICD.IGROUPR + 4, spiBit(41)), w(C + GICC.CTLR, 3),
      r(C + GICC.IAR), // 9: head 41 is Group 1, AckCtl 0: 1022, nothing acknowledged
      r(C + GICC.AIAR), // 10: the alias acknowledges Group 1: 41
      w(C + GICC.AEOIR, 41),
      r(C + GICC.AIAR), // 12: head 42 is Group 0 now: 1023 through the alias
      w(C + GICC.CTLR, 2), r(C + GICC.IAR), // 14: Group 0 not forwarded, nothing of Group 1 pending: 1023
    ];
    expect(readsOf(grp, [9, 10, 12, 14])).toEqual([1022, 41, 1023, 1023]);
  });

  it("catches an acknowledge of the next candidate, and a spurious one in a nested acknowledge", () => {
    expect(withFault(ops, "iar-skips-highest")).toMatchObject({ invariant: "iar-not-highest", at: 7 });
    const nested = [
      ...spis.slice(0, 5), w(D + GICD.ISENABLER + 4, spiBit(40) | spiBit(41)), w(D + GICD.ISPENDR + 4, spiBit(40)),
      r(C + GICC.IAR), w(D + GICD.ISPENDR + 4, spiBit(41)),
      r(C + GICC.IAR), // 9: 41 at 0x40 preempts the running 0x80 (3.3)
    ];
    expect(readsOf(nested, [7, 9])).toEqual([40, 41]);
    const f = withFault(nested, "iar-spurious-nested");
    expect(f).toMatchObject({ invariant: "iar-spurious", at: 9 });
    expect(f.message).toBe("CPU 0: GICC_IAR returned 0x3ff (expected 0x29: head 0x29 at priority 0x40, PMR 0xf0, RPR 0x80, GICC_CTLR 0x1)");
  });
});

describe("a group the distributor forwards and GICC_CTLR does not signal (4.4.1, 4.4.4)", () => {
  // GICC_CTLR.EnableGrp0/1 enable the CPU interface's signalling of each
  // group, GICD_CTLR's the distributor's forwarding (4.3.1, 4.4.1); GICC_IAR
  // reads 1023 while signalling is disabled (4.4.4). The head is chosen
  // among what is forwarded: when its group is not signalled nothing is, and
  // the other group's lower-priority interrupt does not stand in. Arm's
  // GICv3 descriptions of the GICv2-compatible GICC_HPPIR/AHPPIR give 1023
  // for such a head; QEMU's GICv3 gates IAR, HPPIR (commit 44e25fbc19) and
  // preemption on it (hw/intc/arm_gicv3_cpuif.c, icc_no_enabled_hppi).
  const grp1Head = [
    ...spis, w(D + GICD.IGROUPR + 4, spiBit(41) | spiBit(42)), // 7: 41 and 42 (0x40) Group 1, 40 (0x80) Group 0
    w(C + GICC.CTLR, 5), // 8: EnableGrp0 and AckCtl: Group 1 is forwarded, not signalled
    r(C + GICC.HPPIR), r(C + GICC.AHPPIR), // 9, 10: head 41's group is disabled: 1023, not 40
    r(C + GICC.IAR), r(C + GICC.AIAR), // 11, 12: 1023; nothing acknowledged
    w(C + GICC.CTLR, 7), r(C + GICC.IAR), w(C + GICC.EOIR, 41), // 14: both groups signalled: 41
    w(D + GICD.CTLR, 1), // 16: the distributor forwards Group 0 only
    r(C + GICC.IAR), w(C + GICC.EOIR, 40), // 17: the head of what is forwarded is 40
  ];
  const grp0Head = [
    ...spis, w(D + GICD.IGROUPR + 4, spiBit(40)), // 7: 40 (0x80) Group 1, 41 and 42 (0x40) Group 0
    w(C + GICC.CTLR, 6), // 8: EnableGrp1 and AckCtl: Group 0 is forwarded, not signalled
    r(C + GICC.IAR), r(C + GICC.AIAR), r(C + GICC.HPPIR), // 9, 10, 11: 1023, not 40
  ];

  it("runs clean on the model: 1023 and no line, never the other group's interrupt", () => {
    expect(readsOf(grp1Head, [9, 10, 11, 12, 14, 17])).toEqual([1023, 1023, 1023, 1023, 41, 40]);
    expect(readsOf(grp0Head, [9, 10, 11])).toEqual([1023, 1023, 1023]);
    for (const ops of [grp1Head, grp0Head]) {
      const d = drive(ops.slice(0, 9));
      expect(d.violation).toBeNull();
      expect(d.gic.lines(0) & (L.LINE_IRQ | L.LINE_FIQ)).toBe(0);
    }
  });

  it("is what the oracle computes from the state, and an acknowledge of the other group is reported", () => {
    const d = drive(grp1Head);
    const c = d.gic.config;
    const pre = d.snaps[11]!;
    expect(expectedPhysicalAck(pre, c, 0, false, true)).toBe(1023);
    expect(expectedPhysicalAck(pre, c, 0, true, false)).toBe(1023);
    expect(expectedPhysicalLines(pre, c, 0)).toBe(0);
    expect(checkAckChoice(pre, c, 0, 40, false)).toEqual({
      invariant: "iar-not-highest",
      message: "CPU 0: GICC_IAR returned 0x28 (expected 0x3ff: head 0x29 at priority 0x40, PMR 0xf0, RPR 0x100, GICC_CTLR 0x5)",
    });
    expect(checkHighestPending(pre, c, 0, 1, false, 40)?.invariant).toBe("hppir");
    // with both groups signalled the same state gives 41 (AckCtl set)
    expect(expectedPhysicalAck(d.snaps[14]!, c, 0, false, true)).toBe(41);
  });

  it("catches an acknowledge that falls through to the other group", () => {
    const f = withFault(grp1Head, "iar-group-fallthrough");
    expect(f).toMatchObject({ invariant: "iar-not-highest", at: 11 });
    expect(withFault(grp0Head, "iar-group-fallthrough")).toMatchObject({ invariant: "iar-not-highest", at: 9 });
  });

  it("differs from the virtual interface, where a list register of a disabled group is passed over", () => {
    // Arm's GICv3 pseudocode for the virtual interface
    // (HighestPriorityVirtualInterrupt; QEMU hw/intc/arm_gicv3_cpuif.c,
    // hppvi_index) leaves a disabled group's entries out of the choice
    const vops = [
      w(H + GICH.HCR, 1), w(V + GICV.CTLR, 5), w(V + GICV.PMR, 0xf8), // VMGrp0En and VMAckCtl only
      w(H + GICH.LR, lr(61, 0x40, { group1: true })), w(H + GICH.LR + 4, lr(60, 0x80)),
      r(V + GICV.HPPIR), // 5: 60, the best of the enabled group
    ];
    expect(readsOf([...vops, r(V + GICV.IAR)], [5, 6])).toEqual([60, 60]);
    const d = drive(vops);
    expect(d.gic.lines(0) & (L.LINE_VIRQ | L.LINE_VFIQ)).toBe(L.LINE_VIRQ);
    expect(expectedVirtualAcks(d.gic.memoryWords(), d.gic.config, 0, false, true)).toEqual([60]);
    expect(expectedVirtualLines(d.gic.memoryWords(), d.gic.config, 0)).toBe(2);
  });
});

describe("EOI and deactivation: the running priority and the active state", () => {
  const nested = [
    ...spis.slice(0, 5), w(D + GICD.ISENABLER + 4, spiBit(40) | spiBit(41)), w(D + GICD.ISPENDR + 4, spiBit(40)),
    r(C + GICC.IAR), w(D + GICD.ISPENDR + 4, spiBit(41)), r(C + GICC.IAR), // 7: 40, 9: 41
    r(C + GICC.RPR), // 10: 0x40
    w(C + GICC.EOIR, 41), // 11: 4.4.5 EOImode 0: priority drop and deactivation of 41
    r(C + GICC.RPR), r(D + GICD.ISACTIVER + 4), // 12: back to 40's 0x80; 13: only 40 active
    w(C + GICC.EOIR, 40), r(C + GICC.RPR), r(D + GICD.ISACTIVER + 4), // 15: idle 0xff; 16: none active
  ];
  const split = [
    ...spis.slice(0, 5), w(C + GICC.CTLR, 0x201), w(D + GICD.ISENABLER + 4, spiBit(41)), w(D + GICD.ISPENDR + 4, spiBit(41)),
    r(C + GICC.IAR), // 8: 41
    w(C + GICC.EOIR, 41), // 9: 4.4.5 EOImode 1: priority drop only
    r(C + GICC.RPR), r(D + GICD.ISACTIVER + 4), // 10: 0xff; 11: 41 still active
    w(C + GICC.DIR, 41), r(D + GICD.ISACTIVER + 4), // 12: 4.4.15: deactivated; 13: none active
  ];

  it("drop the running priority to the one before, and deactivate as EOImode says", () => {
    expect(readsOf(nested, [7, 9, 10, 12, 13, 15, 16])).toEqual([40, 41, 0x40, 0x80, spiBit(40), 0xff, 0]);
    expect(readsOf(split, [8, 10, 11, 13])).toEqual([41, 0xff, spiBit(41), 0]);
  });

  it("catch an EOI that keeps the priority, one that keeps the interrupt active, and an ignored DIR", () => {
    const keep = withFault(nested, "eoir-no-drop");
    expect(keep).toMatchObject({ invariant: "running-priority", at: 11 });
    expect(keep.message).toBe("CPU 0: running priority 0x40 after cpu 0 w32 GICC_EOIR = 0x29, expected 0x80 " +
      "(acknowledged, not EOId: 0x28 at 0x80)");
    const active = withFault(nested, "eoir-no-deactivate");
    expect(active).toMatchObject({ invariant: "eoi-deactivate", at: 11 });
    expect(active.message).toBe("CPU 0: GICC_EOIR of 0x29 with EOImode 0 left interrupt 41 active");
    const dir = withFault(split, "dir-ignored");
    expect(dir).toMatchObject({ invariant: "eoi-deactivate", at: 12 });
    expect(dir.message).toBe("CPU 0: GICC_DIR of 0x29 with EOImode 1 left interrupt 41 active");
  });

  it("do not judge an EOI out of order (UNPREDICTABLE, 4.4.5), and judge again once nothing is active", () => {
    const ops = [
      ...nested.slice(0, 10),
      w(C + GICC.EOIR, 40), // not the latest acknowledged (41): neither its drop nor its deactivation is judged
      // no active priority left (GICC_APR0-3, 4.4.14): tracked again from here
      w(C + GICC.APR, 0), w(C + GICC.APR + 4, 0), w(C + GICC.APR + 8, 0), w(C + GICC.APR + 12, 0),
      w(D + GICD.ICACTIVER + 4, spiBit(40) | spiBit(41)), w(D + GICD.ISPENDR + 4, spiBit(41)),
      r(C + GICC.IAR), w(C + GICC.EOIR, 41), // 17, 18: tracked again
    ];
    expect(readsOf(ops, [17])).toEqual([41]);
    expect(withFault(ops, "eoir-no-drop")).toMatchObject({ invariant: "running-priority", at: 18 });
  });
});

describe("virtual acknowledge and highest pending", () => {
  const vif = [
    w(H + GICH.HCR, 1), w(V + GICV.CTLR, 1), w(V + GICV.PMR, 0xf8),
    w(H + GICH.LR, lr(50, 0x80)), w(H + GICH.LR + 4, lr(51, 0x40)),
    r(V + GICV.HPPIR), r(V + GICV.IAR), // 5: 51 (0x40 beats 0x80); 6: 51
    r(H + GICH.APR), // 7: 5.3.5: bit 0x40 >> 3
    r(V + GICV.HPPIR), // 8: 50, the running priority aside (4.4.8)
    r(V + GICV.IAR), // 9: 50's 0x80 does not beat the running 0x40: 1023
    w(H + GICH.LR + 8, lr(52, 0x20)), r(V + GICV.IAR), // 11: 52 at 0x20 preempts
    w(V + GICV.EOIR, 52), w(V + GICV.EOIR, 51), r(V + GICV.IAR), w(V + GICV.EOIR, 50), // 14: 50
    w(H + GICH.LR + 12, lr(53, 0)), w(H + GICH.HCR, 0), r(V + GICV.IAR), r(V + GICV.HPPIR), // 18, 19: 5.3.2 En 0: 1023
  ];

  it("runs clean on the model with the values the architecture gives", () => {
    expect(readsOf(vif, [5, 6, 7, 8, 9, 11, 14, 18, 19])).toEqual([51, 51, 1 << 8, 50, 1023, 52, 50, 1023, 1023]);
  });

  it("computes them from the list registers, and reports a wrong spurious ID", () => {
    const d = drive(vif);
    const c = d.gic.config;
    expect(expectedVirtualAcks(d.snaps[9]!, c, 0, false, true)).toEqual([1023]);
    expect(expectedVirtualAcks(d.snaps[9]!, c, 0, false, false)).toEqual([50]);
    expect(expectedVirtualAcks(d.snaps[11]!, c, 0, false, true)).toEqual([52]);
    expect(checkVirtualAckChoice(d.snaps[11]!, c, 0, 1023, false)).toEqual({
      invariant: "viar-spurious",
      message: "CPU 0: GICV_IAR returned 0x3ff (expected 0x34: GICH_HCR 0x1, GICH_VMCR 0xf84c0001, GICH_APR 0x100)",
    });
    // Group 1 without VMAckCtl reads 1022; through the alias, the ID (4.4.4 for the virtual interface, 5.4)
    const g = drive([w(H + GICH.HCR, 1), w(V + GICV.CTLR, 2), w(V + GICV.PMR, 0xf8), w(H + GICH.LR, lr(60, 0x10, { group1: true }))]);
    const after = g.gic.memoryWords();
    expect(expectedVirtualAcks(after, c, 0, false, true)).toEqual([1022]);
    expect(expectedVirtualAcks(after, c, 0, true, true)).toEqual([60]);
  });

  it("reads GICV_RPR as GICH_APR's highest active priority, 0xff when none (5.3.5, 4.4.6)", () => {
    const rpr = [
      w(H + GICH.HCR, 1), w(V + GICV.CTLR, 1), w(V + GICV.PMR, 0xf8),
      w(H + GICH.LR, lr(50, 0x80)), w(H + GICH.LR + 4, lr(51, 0x48)),
      r(V + GICV.RPR), r(V + GICV.IAR), r(V + GICV.RPR), // 5: idle 0xff; 6: 51; 7: 0x48
      w(H + GICH.LR + 8, lr(52, 0x20)), r(V + GICV.IAR), r(V + GICV.RPR), // 9: 52 preempts; 10: 0x20
      w(V + GICV.EOIR, 52), r(V + GICV.RPR), w(V + GICV.EOIR, 51), r(V + GICV.RPR), // 12: back to 0x48; 14: 0xff
      w(H + GICH.APR, 0x80000002), r(V + GICV.RPR), // 16: the hypervisor's restore: bit 1 is 0x08
    ];
    expect(readsOf(rpr, [5, 6, 7, 9, 10, 12, 14, 16])).toEqual([0xff, 51, 0x48, 52, 0x20, 0x48, 0xff, 0x08]);
    const idle = withFault(rpr, "vrpr-idle");
    expect(idle).toMatchObject({ invariant: "vrunning-priority", at: 7 });
    expect(idle.message).toBe("CPU 0: GICV_RPR read 0xff, expected 0x48 (GICH_APR 0x200)");
  });

  it("catch a spurious GICV_IAR while a virtual priority is active, and a spurious GICV_HPPIR", () => {
    const nested = withFault(vif, "viar-spurious-nested");
    expect(nested).toMatchObject({ invariant: "viar-spurious", at: 11 });
    const hppir = withFault(vif, "vhppir-spurious");
    expect(hppir).toMatchObject({ invariant: "hppir", at: 5 });
    expect(hppir.message).toBe("CPU 0: GICV_HPPIR read 0x3ff, expected 0x33");
  });
});

describe("hardware list registers deactivate their physical interrupt (5.3.11)", () => {
  const spi45 = [
    w(D + GICD.CTLR, 3), w(C + GICC.CTLR, 0x201), w(C + GICC.PMR, 0xf0), w(D + GICD.ITARGETSR + 45, 1, 1),
    w(D + GICD.ISENABLER + 4, spiBit(45)), w(D + GICD.ISPENDR + 4, spiBit(45)),
    r(C + GICC.IAR), w(C + GICC.EOIR, 45), // 6: 45, then the hypervisor's priority drop (EOImode 1)
    w(H + GICH.HCR, 1), w(V + GICV.CTLR, 1), w(V + GICV.PMR, 0xf8),
    w(H + GICH.LR, lr(45, 0x80, { hw: true, physicalId: 45 })),
    r(V + GICV.IAR), w(V + GICV.EOIR, 45), // 12: 45; 13: VEM 0: the EOI deactivates LR0 and SPI 45
    r(H + GICH.LR), r(D + GICD.ISACTIVER + 4), // 14: invalid; 15: not active
  ];
  // PPI 27 of CPU 1, level-sensitive, handed over with GICV_CTLR.VEM set
  const ppi27 = [
    w(D + GICD.CTLR, 3), w(D + GICD.ISENABLER, 1 << 27, 4, 1), w(C + GICC.CTLR, 0x201, 4, 1), w(C + GICC.PMR, 0xf0, 4, 1),
    line(27, 1, 1), r(C + GICC.IAR, 1), line(27, 0, 1), w(C + GICC.EOIR, 27, 4, 1), // 5: 27
    w(H + GICH.HCR, 1, 4, 1), w(V + GICV.CTLR, 0x201, 4, 1), w(V + GICV.PMR, 0xf8, 4, 1),
    w(H + GICH.LR, lr(27, 0x80, { hw: true, physicalId: 27 }), 4, 1),
    r(V + GICV.IAR, 1), w(V + GICV.EOIR, 27, 4, 1), // 12: 27; 13: VEM 1: priority drop only
    r(D + GICD.ISACTIVER, 1), // 14: 27 still active
    w(V + GICV.DIR, 27, 4, 1), r(D + GICD.ISACTIVER, 1), r(H + GICH.LR, 1), // 16: inactive; 17: LR0 invalid
  ];

  it("for an SPI and for a PPI of the CPU, by EOI or by DIR", () => {
    expect(readsOf(spi45, [6, 12, 14, 15])).toEqual([45, 45, lr(45, 0x80, { hw: true, physicalId: 45, state: 0 }), 0]);
    expect(readsOf(ppi27, [5, 12, 14, 16, 17])).toEqual([27, 27, 1 << 27, 0, lr(27, 0x80, { hw: true, physicalId: 27, state: 0 })]);
  });

  it("catch a retirement that leaves the physical interrupt active", () => {
    const s = withFault(spi45, "hw-lr-keeps-active");
    expect(s).toMatchObject({ invariant: "hw-deactivate", at: 13 });
    expect(s.message).toBe("CPU 0: GICV_EOIR of 45 retired LR0 (0xa800b42d, HW) but physical interrupt 45 is still active");
    expect(withFault(ppi27, "hw-lr-keeps-active")).toMatchObject({ invariant: "hw-deactivate", at: 15 });
  });
});

describe("output lines", () => {
  const lines = (d: ReturnType<typeof drive>, cpu = 0) => d.gic.lines(cpu) & 0xf;
  const { LINE_IRQ: IRQ, LINE_FIQ: FIQ, LINE_VIRQ: VIRQ, LINE_VFIQ: VFIQ } = L;
  const steps: Array<[Op[], number, string]> = [
    // 4.4.1 FIQEn: a Group 0 interrupt is signalled as FIQ
    [[...spis.slice(0, 5), w(C + GICC.CTLR, 9), w(D + GICD.ISENABLER + 4, spiBit(40)), w(D + GICD.ISPENDR + 4, spiBit(40))], FIQ, "FIQEn"],
    [[w(C + GICC.CTLR, 1)], IRQ, "no FIQEn"],
    [[w(C + GICC.PMR, 0x80)], 0, "3.3: 0x80 is not below the mask 0x80"],
    [[w(C + GICC.PMR, 0xf0), r(C + GICC.IAR)], 0, "acknowledged: active, not pending"],
    [[w(C + GICC.EOIR, 40), w(H + GICH.HCR, 1), w(V + GICV.CTLR, 2), w(V + GICV.PMR, 0xf8), w(H + GICH.LR, lr(60, 0x80, { group1: true }))],
      VIRQ, "5.3: a pending Group 1 list register with VMGrp1En"],
    [[w(V + GICV.CTLR, 9)], 0, "Group 1 no longer enabled"],
    [[w(H + GICH.LR + 4, lr(61, 0x80))], VFIQ, "Group 0 with VMFIQEn"],
    [[w(H + GICH.HCR, 0)], 0, "5.3.2: GICH_HCR.En 0"],
  ];

  it("follow the state on the model, as the oracle computes them", () => {
    const ops: Op[] = [];
    for (const [more, want, why] of steps) {
      ops.push(...more);
      const d = drive(ops);
      expect(d.violation, why).toBeNull();
      expect(lines(d), why).toBe(want);
      const m = d.gic.memoryWords();
      // the oracle's answers themselves: physical lines, and the virtual
      // line as its set (1 neither, 2 vIRQ, 4 vFIQ), never ambiguous here
      expect(expectedPhysicalLines(m, d.gic.config, 0), why).toBe(want & ~(VIRQ | VFIQ));
      expect(expectedVirtualLines(m, d.gic.config, 0), why).toBe((want & VIRQ) !== 0 ? 2 : (want & VFIQ) !== 0 ? 4 : 1);
    }
  });

  it("catch a vIRQ that is never raised", () => {
    const ops = steps.slice(0, 5).flatMap(([o]) => o);
    const f = withFault(ops, "virq-stuck-low");
    expect(f).toMatchObject({ invariant: "output-lines", at: ops.length - 1 });
    expect(f.message).toMatch(/^CPU 0: lines none; the state gives physical none, virtual vIRQ /);
  });
});
