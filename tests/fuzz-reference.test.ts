// The fuzzers' reference checks: register storage held against an
// independent reference written from IHI 0048B (byte lanes, banked copies,
// SGI sources, list registers and GICH_APR through virtual acknowledge and
// EOI), and the vgic target's context-switch and maintenance-enable
// invariants. Planted faults of each class are found from fixed seeds within
// case budgets, shrink, and replay; coverage is reported per feature.

import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GICD, GICH, GICV, encodeLr, sgir } from "../host/hw/regs.ts";
import {
  fuzz, hwTarget, replay, runOps, runVgicCase, VGIC_FAULTS, vgicTarget, type Finding, type VgicConfig, type VgicOp,
} from "../host/fuzz/index.ts";
import { rawPort, type HwOp } from "../host/check/invariants.ts";
import { RegisterReference } from "../host/check/reference.ts";
import { expectExactReplay } from "./fuzz-helpers.ts";
import { FindingError } from "../host/fuzz/target.ts";
import { Gic } from "../host/hw/gic.ts";

const D = 0x08000000;
const H = 0x08030000;
const V = 0x08040000;
const config = { cpus: 3, irqs: 64, priorityBits: 5, listRegisters: 4, sgiAlwaysEnabled: false, ppiConfigReadOnly: false };
const w = (cpu: number, addr: number, value: number, size = 4): Exclude<HwOp, { t: "line" }> => ({ t: "w", cpu, addr, value: value >>> 0, size });
const r = (cpu: number, addr: number, size = 4): Exclude<HwOp, { t: "line" }> => ({ t: "r", cpu, addr, size });

/** The operations run clean on the model; with `fault` planted, the result. */
function withFault(ops: HwOp[], fault: string) {
  expect(runOps(hwTarget, config, ops).violation).toBeNull();
  return runOps(hwTarget, config, ops, [fault]);
}

describe("the storage reference on hand-written operations", () => {
  it("holds IPRIORITYR byte lanes, banked for IDs 0-31, with unimplemented low bits zero (4.3.11)", () => {
    const ops = [
      w(0, D + GICD.IPRIORITYR + 0x21, 0xff, 1), w(1, D + GICD.IPRIORITYR + 0x5, 0x9c, 1), w(2, D + GICD.IPRIORITYR + 0x4, 0xa0a1a2a3),
      r(0, D + GICD.IPRIORITYR + 0x20), r(1, D + GICD.IPRIORITYR + 0x4), r(2, D + GICD.IPRIORITYR + 0x5, 1), r(0, D + GICD.IPRIORITYR + 0x4),
    ];
    // one byte written also lands in its neighbour: the read-back after the write differs
    const v = withFault(ops, "prio-byte-lane");
    expect(v.violation?.invariant).toBe("ref-storage");
    expect(v.index).toBe(0);
    expect(v.violation?.message).toBe("CPU 0: GICD_IPRIORITYR+0x20 reads 0xf8f8, the reference holds 0xf800 (read back after a write by CPU 0)");
  });

  it("keeps an SGI pending from every source until each is acknowledged (4.3.15, 3.2.4)", () => {
    const ops = [
      w(0, D + GICD.SGIR, sgir(0, 0b100, 3)), w(1, D + GICD.SGIR, sgir(0, 0b100, 3)),
      r(2, D + GICD.SPENDSGIR, 4),
    ];
    const lost = withFault(ops, "sgi-lost-source");
    expect(lost.violation?.invariant).toBe("ref-storage");
    expect(lost.violation?.message).toBe("CPU 2: GICD_SPENDSGIR reads 0x2000000, the reference holds 0x3000000 (read back after a write by CPU 1)");
    // acknowledge both sources on CPU 2: SPENDSGIR empties one source at a time
    const acked = [
      ...ops, w(0, D + GICD.CTLR, 1), w(2, D + GICD.ISENABLER, 1 << 3), w(2, 0x08010000, 1), w(2, 0x08010004, 0xff),
      r(2, 0x0801000c), r(2, D + GICD.SPENDSGIR), r(2, 0x0801000c), r(2, D + GICD.SPENDSGIR), r(2, D + GICD.ISPENDR),
    ];
    expect(runOps(hwTarget, config, acked).violation).toBeNull();
  });

  it("retires the list register of the SGI source an EOI names, not another (5.3.11, 5.4)", () => {
    const lr = (src: number, prio: number) => encodeLr({ virtualId: 5, physicalId: src, eoi: false, priority: prio, state: 1, group1: false, hw: false });
    const ops = [
      w(0, H + GICH.HCR, 1), w(0, V + GICV.CTLR, 1), w(0, V + GICV.PMR, 0xf8),
      w(0, H + GICH.LR, lr(1, 0xa0)), r(0, V + GICV.IAR), // SGI 5 from CPU 1, level 20
      w(0, H + GICH.LR + 4, lr(2, 0x40)), r(0, V + GICV.IAR), // SGI 5 from CPU 2 preempts it, level 8
      w(0, V + GICV.EOIR, 5 | (2 << 10)), // retires LR1 (CPU 2), drops level 8
      r(0, H + GICH.LR), r(0, H + GICH.LR + 4), r(0, H + GICH.APR),
    ];
    const v = withFault(ops, "veoi-wrong-source");
    expect(v.violation?.invariant).toBe("ref-storage");
    expect(v.index).toBe(7);
    // LR0 (source 1, priority 0xa0, active) was retired instead of LR1
    expect(v.violation?.message).toBe("CPU 0: GICH_LR reads 0xa000405, the reference holds 0x2a000405 (read back after a write by CPU 0)");
  });

  it("reports an acknowledged SGI source that was not pending", () => {
    const gic = Gic.create({ ...config });
    const ref = new RegisterReference(gic.config, rawPort(gic));
    const frameOff = (addr: number) => [Math.floor((addr - D) / 0x10000), (addr - D) % 0x10000] as const;
    const apply = (op: Exclude<HwOp, { t: "line" }>) => {
      const result = op.t === "r" ? gic.read(op.cpu, op.addr) : gic.write(op.cpu, op.addr, op.value);
      const [frame, off] = frameOff(op.addr);
      return { result, v: ref.after(op, frame, off, result) };
    };
    for (const op of [w(0, D + GICD.CTLR, 1), w(1, D + GICD.ISENABLER, 1 << 7), w(1, 0x08010000, 1), w(1, 0x08010004, 0xff),
      w(0, D + GICD.SGIR, sgir(0, 0b010, 7))]) expect(apply(op).v).toBeNull();
    expect(ref.expected(1, 0, GICD.SPENDSGIR + 4)).toEqual({ value: 0x01000000, mask: 0xffffffff });
    // an acknowledge that names CPU 2 as the source: only CPU 0 sent it
    expect(ref.after(r(1, 0x0801000c), 1, 0x0c, 7 | (2 << 10))).toEqual({
      invariant: "ref-sgi-source", message: "CPU 1: GICC_IAR returned SGI 7 from CPU 2; the reference has sources 0x1 pending",
    });
    // the model's acknowledge names CPU 0 and clears that source alone
    const ack = apply(r(1, 0x0801000c));
    expect(ack.result).toBe(7);
    expect(ack.v).toBeNull();
    expect(ref.expected(1, 0, GICD.SPENDSGIR + 4)!.value).toBe(0);
  });
});

describe("the storage reference on reported results", () => {
  it("reports a virtual acknowledge of an ID no list register holds pending", () => {
    const gic = Gic.create({ ...config });
    const ref = new RegisterReference(gic.config, rawPort(gic));
    const lr = encodeLr({ virtualId: 40, physicalId: 0, eoi: false, priority: 0x80, state: 1, group1: false, hw: false });
    gic.write(0, H + GICH.LR + 8, lr);
    expect(ref.after(w(0, H + GICH.LR + 8, lr), 2, GICH.LR + 8, 0)).toBeNull();
    expect(ref.listRegister(0, 2)).toBe(lr);
    expect(ref.after(r(0, V + GICV.IAR), 3, GICV.IAR, 41)).toEqual({
      invariant: "ref-virtual", message: "CPU 0: GICV_IAR returned 0x29, which no list register of the reference holds pending",
    });
    // a spurious ID changes nothing
    expect(ref.after(r(0, V + GICV.IAR), 3, GICV.IAR, 1023)).toBeNull();
    expect(ref.listRegister(0, 2)).toBe(lr);
  });
});

describe("the vgic target's context-switch invariants", () => {
  // two vCPUs share pCPU 0 with a short time slice: vCPU 2 sets its own
  // priority mask, so the two vCPUs' GICH_VMCR differ
  const shared: VgicConfig = {
    variant: "xen-4.9", pcpus: 2, placement: [0, 1, 0], listRegisters: 4,
    spis: [{ irq: 40, target: 0, priority: 0xa0, enabled: true }, { irq: 41, target: 2, priority: 0x80, enabled: true }],
    sched: { kind: "random", seed: 5 }, maxSteps: 50_000, timeSlice: 3000,
  };
  const ops: VgicOp[] = [
    { v: "dev", t: "raise", irq: 40, gap: 0 },
    { v: "dev", t: "raise", irq: 41, gap: 0 },
    { v: 0, t: "gicv", kind: "ack-only" },
    { v: 0, t: "work", cycles: 10000 },
    { v: 2, t: "gicv", kind: "pmr", value: 0xd8 },
    { v: 2, t: "work", cycles: 10000 },
    { v: 0, t: "work", cycles: 10000 },
    { v: 2, t: "work", cycles: 10000 },
  ];

  it("hold on the real hypervisor, with vCPUs switched out and back in", () => {
    const r = runVgicCase(shared, ops);
    expect(r.violations).toEqual([]);
    expect(r.run!.reason).toBe("done");
    expect(r.sys!.vgic.stats.contextSwitches).toBeGreaterThan(4);
  });

  it("catch a restore that leaves the previous vCPU's GICH_VMCR in place", () => {
    const r = runVgicCase(shared, ops, { faults: ["restore-skips-vmcr"] });
    expect(r.violations[0]).toEqual({
      invariant: "switch-restore",
      message: "d1v0 switched back in on pCPU 0 (out from pCPU 0): GICH_VMCR 0xd84c0001, was 0xf84c0001",
    });
  });

  const EXPECTED: Record<string, string> = {
    "restore-skips-apr": "switch-restore",
    "restore-skips-vmcr": "switch-restore",
    "restore-skips-lr0": "switch-restore",
    "uie-kept": "maintenance-enables",
    "lr-priority-shifted": "lr-contents",
    "inflight-at-head": "list-order",
    "unblock-no-kick": "stalled",
  };
  it("cover every fault the target offers", () => {
    for (const k of Object.keys(EXPECTED)) expect(Object.keys(VGIC_FAULTS)).toContain(k);
    expect(vgicTarget.faults).toEqual(Object.keys(VGIC_FAULTS));
  });
  const found = new Map<string, Finding>();
  for (const [fault, invariant] of Object.entries(EXPECTED)) {
    it(`finds ${fault} as ${invariant} from a fixed seed within 200 cases`, () => {
      const r = fuzz({ target: "vgic", seed: 2, cases: 200, faults: [fault], params: { variant: "xen-4.9" }, shrinkBudget: 200, improve: 0 });
      const f = r.findingsList.find((x) => x.violation.invariant === invariant);
      expect(f, r.findingsList.map((x) => x.violation.invariant).join(",")).toBeDefined();
      expect(f!.ops.length).toBeLessThanOrEqual(8);
      found.set(fault, f!);
    });
  }
  it("replay those findings exactly, and not without their fault", () => {
    expect(found.size).toBe(Object.keys(EXPECTED).length);
    for (const f of found.values()) {
      expectExactReplay(f);
      // without its fault the case runs clean of it; for unblock-no-kick
      // the recorded schedule may no longer fit the run instead (the kick
      // the fault withheld is a decision more), which says the same
      let without = "none";
      try {
        without = replay({ ...f, faults: [] }).violation?.invariant ?? "none";
      } catch (e) {
        if (!(e instanceof FindingError) || !f.faults?.includes("unblock-no-kick")) throw e;
        without = `a misfit schedule: ${e.message}`;
      }
      expect(without).not.toBe(f.violation.invariant);
    }
  });
});

describe("coverage", () => {
  it("reaches the state-transition families and reports them per feature with --json", () => {
    const out = mkdtempSync(join(tmpdir(), "vgic-fuzz-cov-"));
    const p = spawnSync(process.execPath, ["build/vgic.mjs", "fuzz", "--target", "hw", "--cases", "100", "--seed", "1", "--json", "--out", out], { encoding: "utf8" });
    expect(p.status).toBe(0);
    const j = JSON.parse(p.stdout) as {
      cases: number; ops: number; findings: unknown[];
      coverage: { total: number; families: Record<string, number>; features: Array<{ id: number; name: string; hits: number }>; curve: Array<[number, number]> };
    };
    expect(j.cases).toBe(100);
    expect(j.findings).toEqual([]);
    const c = j.coverage;
    expect(c.features.length).toBe(c.total);
    expect(c.features.every((f) => f.hits > 0)).toBe(true);
    const names = new Set(c.features.map((f) => f.name));
    // list-register transitions by each cause, nested virtual priorities, several SGI sources
    for (const n of ["lr-transition invalid->pending by write", "lr-transition pending->active by ack", "lr-transition active->invalid by eoi",
      "lr-transition active->invalid by dir", "virtual-nesting 3", "sgi-sources 2", "misr EOI", "access GICD_SPENDSGIR write ok",
      "width GICD_IPRIORITYR byte write"]) {
      expect(names, n).toContain(n);
    }
    expect(c.families["physical-level"]).toBeGreaterThan(8);
    expect(c.families["virtual-level"]).toBeGreaterThan(8);
    // the curve rises monotonically to the total over every checked operation
    expect(c.curve.at(-1)).toEqual([j.ops, c.total]);
    for (let i = 1; i < c.curve.length; i++) {
      expect(c.curve[i]![0]).toBeGreaterThan(c.curve[i - 1]![0]);
      expect(c.curve[i]![1]).toBeGreaterThanOrEqual(c.curve[i - 1]![1]);
    }
  });
});
