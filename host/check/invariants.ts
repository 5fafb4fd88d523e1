// Architectural invariants of the hardware model (IHI 0048B), as code shared
// by tests, the MMIO fuzzer and the race explorer. Each invariant has a name;
// each check returns a violation message or null. State is read through the
// model's linear memory (host/hw/layout.ts), never through extra MMIO, so a
// check costs a few loads; the one exception is the re-read of a constant
// register after a write to it, which is the invariant itself. The output
// lines are read as the CPU sees them, through the port. The CPU interface
// oracle (./cpu-interface.ts) adds what an acknowledge, EOI, DIR and
// highest-pending read must do, and what the output lines must be.

import type { Gic, GicConfig } from "../hw/gic.ts";
import * as L from "../hw/layout.ts";
import {
  ROWS, ST_OK, ST_RO_WRITE, STATUS_NAMES, constantValue, expectAccess, newExpectation,
  type Expectation,
} from "./access.ts";
import { REF_INVARIANTS, RegisterReference } from "./reference.ts";
import { bankWord, bit, byteAt, groupPriority, hex } from "./state.ts";
import {
  CPUIF_INVARIANTS, CpuInterfaceReference, checkAckChoice, checkHighestPending, checkHwDeactivate, checkLines,
  checkVirtualAckChoice, checkVirtualRunning,
} from "./cpu-interface.ts";

export { groupPriority };

/** The invariants, by name. */
export const HW_INVARIANTS = {
  "crash": "no wasm trap or host exception escapes an access or a line change",
  "bad-access": "bad-access counters and the access status change exactly for illegal accesses (width, alignment, unmapped, read-only write, write-only read)",
  "raz": "bad accesses, reserved registers and per-interrupt registers beyond the implemented IDs read as zero",
  "no-effect": "bad accesses and writes the architecture ignores leave all interrupt state unchanged",
  "ro-constant": "constant read-only registers (TYPER, IIDR, VTR, ID registers) read the same value, also after a write",
  "set-clear": "a write of ones to a set/clear-enable, -pending or -active register sets/clears exactly those state bits",
  "iar-range": "GICC_IAR returns an implemented interrupt ID or a special ID",
  "iar-disabled": "GICC_IAR never returns a disabled interrupt",
  "iar-not-pending": "GICC_IAR never returns an interrupt that was not pending (SGI: from that source)",
  "active-once": "GICC_IAR never returns an interrupt that is already active (an SPI is active on at most one CPU interface)",
  "iar-group-disabled": "GICC_IAR never returns an interrupt of a group the distributor or the CPU interface has disabled",
  "iar-group": "GICC_AIAR returns only Group 1; GICC_IAR returns 1022 for Group 1 without AckCtl",
  "iar-masked": "GICC_IAR never returns an interrupt whose priority is not below GICC_PMR",
  "iar-preemption": "GICC_IAR never returns an interrupt whose group priority does not beat the running priority",
  "iar-not-routed": "GICC_IAR returns an SPI only to a CPU in its ITARGETSR",
  "iar-not-activated": "the interrupt GICC_IAR returns is active afterwards",
  "viar-disabled": "GICV_IAR returns a spurious ID while GICH_HCR.En is 0",
  "viar-not-pending": "GICV_IAR returns the ID of a list register that was pending",
  "viar-not-highest": "GICV_IAR returns the highest-priority pending list register of an enabled group",
  "viar-group-disabled": "GICV_IAR never returns a list register of a group the VM has disabled",
  "viar-group": "GICV_AIAR returns only Group 1; GICV_IAR returns 1022 for Group 1 without AckCtl",
  "viar-masked": "GICV_IAR never returns a list register whose priority is not below the virtual priority mask",
  "viar-preemption": "GICV_IAR never returns a list register whose group priority does not beat the virtual running priority",
  "viar-not-activated": "the list register GICV_IAR returns is active and not pending afterwards",
  "lr-derived": "GICH_EISR, GICH_ELRSR and GICH_MISR agree with the list registers (IHI 0048B 5.3.6-5.3.9)",
  "maintenance-line": "PPI 25 (maintenance) is pending exactly when GICH_HCR.En and GICH_MISR != 0",
  ...REF_INVARIANTS,
  ...CPUIF_INVARIANTS,
} as const;
export type HwInvariantName = keyof typeof HW_INVARIANTS;

export interface Violation {
  invariant: string;
  message: string;
}

/** One operation on the hardware: a register read or write, or an input line. */
export type HwOp =
  | { t: "r"; cpu: number; addr: number; size: number }
  | { t: "w"; cpu: number; addr: number; value: number; size: number }
  | { t: "line"; irq: number; level: number; cpu: number };

/** How operations reach the model: the real exports, or a wrapper that
 *  plants faults (host/fuzz/faults.ts). */
export interface HwPort {
  read(cpu: number, addr: number, size: number): number;
  /** returns the access status */
  write(cpu: number, addr: number, value: number, size: number): number;
  setLine(irq: number, level: number, cpu: number): number;
  lastStatus(): number;
  /** the output lines of `cpu` (LINE_* bits) as the CPU sees them */
  lines(cpu: number): number;
}

export function rawPort(gic: Gic): HwPort {
  const raw = gic.raw;
  return {
    read: (cpu, addr, size) => raw.mmioRead(cpu, addr >>> 0, size) >>> 0,
    write: (cpu, addr, value, size) => raw.mmioWrite(cpu, addr >>> 0, value >>> 0, size),
    setLine: (irq, level, cpu) => raw.setLine(irq, level, cpu),
    lastStatus: () => raw.lastStatus(),
    lines: (cpu) => raw.lines(cpu),
  };
}

// ---- derived virtual interface state (IHI 0048B 5.3.6-5.3.9)

export interface VirtualDerived {
  eisr0: number;
  eisr1: number;
  elrsr0: number;
  elrsr1: number;
  misr: number;
}

/** Derive EISR, ELRSR and MISR from HCR, VMCR and the list registers, words
 *  `base`..`base + n - 1` of `words`. */
export function deriveVirtual(words: Uint32Array, base: number, n: number, hcr: number, vmcr: number,
  out: VirtualDerived = { eisr0: 0, eisr1: 0, elrsr0: 0, elrsr1: 0, misr: 0 }): VirtualDerived {
  let eisr0 = 0, eisr1 = 0, elrsr0 = 0, elrsr1 = 0, valid = 0, pending = 0;
  for (let i = 0; i < n; i++) {
    const lr = words[base + i]!;
    const state = (lr >>> 28) & 3;
    if (state === 0) {
      // 5.3.8: EISR bit set for an invalid HW=0 entry with EOI=1 (its EOI
      // maintenance is owed); 5.3.9: ELRSR bit set for every other invalid one
      const eoi = (lr & 0x80080000) === 0x00080000;
      const bit = 1 << (i & 31);
      if (eoi) { if (i < 32) eisr0 |= bit; else eisr1 |= bit; }
      else if (i < 32) elrsr0 |= bit; else elrsr1 |= bit;
    } else {
      valid++;
      if (state === 1) pending++;
    }
  }
  let misr = 0;
  if ((eisr0 | eisr1) !== 0) misr |= 1;
  if ((hcr & 2) !== 0 && valid <= 1) misr |= 2;
  if ((hcr & 4) !== 0 && (hcr >>> 27) !== 0) misr |= 4;
  if ((hcr & 8) !== 0 && pending === 0) misr |= 8;
  if ((hcr & 0x10) !== 0 && (vmcr & 1) !== 0) misr |= 0x10;
  if ((hcr & 0x20) !== 0 && (vmcr & 1) === 0) misr |= 0x20;
  if ((hcr & 0x40) !== 0 && (vmcr & 2) !== 0) misr |= 0x40;
  if ((hcr & 0x80) !== 0 && (vmcr & 2) === 0) misr |= 0x80;
  out.eisr0 = eisr0 >>> 0;
  out.eisr1 = eisr1 >>> 0;
  out.elrsr0 = elrsr0 >>> 0;
  out.elrsr1 = elrsr1 >>> 0;
  out.misr = misr;
  return out;
}

/** lr-derived and maintenance-line for one CPU, from the model's memory. */
export function checkVirtualState(m: Uint32Array, config: GicConfig, cpu: number,
  d: VirtualDerived = { eisr0: 0, eisr1: 0, elrsr0: 0, elrsr1: 0, misr: 0 }): Violation | null {
  const vb = (L.VIF_BASE + cpu * L.VIF_STRIDE) >> 2;
  const hcr = m[vb + (L.V_HCR >> 2)]!;
  deriveVirtual(m, vb + (L.V_LR >> 2), config.listRegisters, hcr, m[vb + (L.V_VMCR >> 2)]!, d);
  const misr = m[vb + (L.V_MISR >> 2)]!;
  if (m[vb + (L.V_EISR0 >> 2)] !== d.eisr0 || m[vb + (L.V_EISR1 >> 2)] !== d.eisr1 ||
      m[vb + (L.V_ELRSR0 >> 2)] !== d.elrsr0 || m[vb + (L.V_ELRSR1 >> 2)] !== d.elrsr1 || misr !== d.misr) {
    return {
      invariant: "lr-derived",
      message: `CPU ${cpu}: model holds EISR ${hex(m[vb + (L.V_EISR1 >> 2)]!)}:${hex(m[vb + (L.V_EISR0 >> 2)]!)} ` +
        `ELRSR ${hex(m[vb + (L.V_ELRSR1 >> 2)]!)}:${hex(m[vb + (L.V_ELRSR0 >> 2)]!)} MISR ${hex(misr)}, ` +
        `the list registers give EISR ${hex(d.eisr1)}:${hex(d.eisr0)} ELRSR ${hex(d.elrsr1)}:${hex(d.elrsr0)} MISR ${hex(d.misr)}`,
    };
  }
  const want = (hcr & 1) !== 0 && d.misr !== 0;
  const level = ((m[(L.BM_LEVEL >> 2) + cpu]! >>> 25) & 1) === 1;
  const line = (m[(L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_LINES) >> 2]! & L.LINE_MAINT) !== 0;
  if (level !== want || line !== want) {
    return {
      invariant: "maintenance-line",
      message: `CPU ${cpu}: HCR.En=${hcr & 1} MISR=${hex(d.misr)} but PPI 25 level=${+level}, maintenance line=${+line}`,
    };
  }
  return null;
}

// ---- acknowledge (IHI 0048B 3.2.4, 3.3.3, 4.4.4)

/** Check a GICC_IAR (alias: GICC_AIAR) result against the state before the
 *  read (`pre`, a copy of the model's memory) and after it (`post`). */
export function checkAcknowledge(pre: Uint32Array, post: Uint32Array, config: GicConfig, cpu: number,
  id: number, alias: boolean): Violation | null {
  const reg = alias ? "GICC_AIAR" : "GICC_IAR";
  const v = (invariant: HwInvariantName, what: string): Violation =>
    ({ invariant, message: `CPU ${cpu}: ${reg} returned ${hex(id)} (${what})` });
  const irq = id & 0x3ff;
  if (id === 1023) return null;
  if (id === 1022) return alias ? v("iar-group", "1022 through the Group 1 alias") : null;
  if ((id >>> 13) !== 0 || irq >= 1020 || irq >= config.irqs || (irq >= 16 && (id >>> 10) !== 0)) {
    return v("iar-range", `${config.irqs} IDs implemented`);
  }
  if (bit(pre, L.BM_ACTIVE, cpu, irq)) {
    return v("active-once", irq >= 32 ? `SPI ${irq} was already active` : `interrupt ${irq} was already active on this CPU`);
  }
  const cb = (L.CPU_BASE + cpu * L.CPU_STRIDE) >> 2;
  const enabled = (irq < 16 && config.sgiAlwaysEnabled) || bit(pre, L.BM_ENABLE, cpu, irq);
  if (!enabled) return v("iar-disabled", `interrupt ${irq} is disabled`);
  let pending: boolean;
  if (irq < 16) {
    const src = id >>> 10;
    pending = ((byteAt(pre, L.SGI_SRC + cpu * 16 + irq) >>> src) & 1) === 1;
  } else {
    pending = bit(pre, L.BM_PEND, cpu, irq) || (bit(pre, L.BM_LEVEL, cpu, irq) && !bit(pre, L.BM_EDGE, cpu, irq));
  }
  if (!pending) return v("iar-not-pending", `interrupt ${irq}${irq < 16 ? ` from CPU ${id >>> 10}` : ""} was not pending`);
  const grp1 = bit(pre, L.BM_GROUP, cpu, irq);
  const ctlr = pre[cb + (L.C_CTLR >> 2)]!;
  const dctlr = pre[L.G_DIST_CTLR >> 2]!;
  const g = grp1 ? 2 : 1;
  if ((dctlr & g) === 0 || (ctlr & g) === 0) {
    return v("iar-group-disabled", `Group ${grp1 ? 1 : 0}; GICD_CTLR ${hex(dctlr)}, GICC_CTLR ${hex(ctlr)}`);
  }
  if (alias && !grp1) return v("iar-group", "a Group 0 interrupt through the alias");
  if (!alias && grp1 && (ctlr & 4) === 0) return v("iar-group", "a Group 1 interrupt without AckCtl: expected 1022");
  const prio = irq < 32 ? byteAt(pre, L.PRIO_BANKED + cpu * 32 + irq) : byteAt(pre, L.PRIO_SHARED + irq);
  const pmr = pre[cb + (L.C_PMR >> 2)]!;
  if (prio >= pmr) return v("iar-masked", `priority ${hex(prio)}, PMR ${hex(pmr)}`);
  const gp = groupPriority(prio, grp1, (ctlr & 0x10) !== 0, pre[cb + (L.C_BPR >> 2)]!, pre[cb + (L.C_ABPR >> 2)]!);
  const rpr = pre[cb + (L.C_RPR >> 2)]!;
  if (gp >= rpr) return v("iar-preemption", `group priority ${hex(gp)}, running priority ${hex(rpr)}`);
  if (irq >= 32 && config.cpus > 1 && ((byteAt(pre, L.TARGETS + irq) >>> cpu) & 1) === 0) {
    return v("iar-not-routed", `ITARGETSR of ${irq} is ${hex(byteAt(pre, L.TARGETS + irq))}`);
  }
  if (!bit(post, L.BM_ACTIVE, cpu, irq)) return v("iar-not-activated", `interrupt ${irq} is not active afterwards`);
  return null;
}

/** Check a GICV_IAR (alias: GICV_AIAR) result against the list registers
 *  before and after the read (5.4, 3.2.4). */
export function checkVirtualAcknowledge(pre: Uint32Array, post: Uint32Array, config: GicConfig, cpu: number,
  id: number, alias: boolean): Violation | null {
  const reg = alias ? "GICV_AIAR" : "GICV_IAR";
  const v = (invariant: HwInvariantName, what: string): Violation =>
    ({ invariant, message: `CPU ${cpu}: ${reg} returned ${hex(id)} (${what})` });
  const vb = (L.VIF_BASE + cpu * L.VIF_STRIDE) >> 2;
  const lr0 = vb + (L.V_LR >> 2);
  if (id === 1023) return null;
  if (id === 1022) {
    // a list register may hold a special VirtualID (the hypervisor's
    // choice, 5.3.11): then 1022 is ambiguous and not checked further
    let held = false;
    for (let i = 0; i < config.listRegisters; i++) {
      const lr = pre[lr0 + i]!;
      if (((lr >>> 28) & 3) === 1 && (lr & 0x3ff) === id) held = true;
    }
    return alias && !held ? v("viar-group", "1022 through the Group 1 alias") : null;
  }
  const hcr = pre[vb + (L.V_HCR >> 2)]!;
  if ((hcr & 1) === 0) return v("viar-disabled", "GICH_HCR.En is 0");
  const vmcr = pre[vb + (L.V_VMCR >> 2)]!;
  const reported = (lr: number) => ((lr & 0x80000000) === 0 && (lr & 0x3ff) < 16 ? lr & 0x1fff : lr & 0x3ff);
  const enabledGroup = (lr: number) => (vmcr & ((lr & 0x40000000) !== 0 ? 2 : 1)) !== 0;
  let found = -1;
  let best = 0x100;
  for (let i = 0; i < config.listRegisters; i++) {
    const lr = pre[lr0 + i]!;
    if (((lr >>> 28) & 3) !== 1) continue;
    // two list registers with the same ID are UNPREDICTABLE (5.3.11): take
    // the one the read made active
    if (reported(lr) === id && (found < 0 || ((post[lr0 + i]! >>> 28) & 3) === 2)) found = i;
    if (enabledGroup(lr)) best = Math.min(best, ((lr >>> 23) & 0x1f) << 3);
  }
  if (found < 0) return v("viar-not-pending", "no list register held it pending");
  const lr = pre[lr0 + found]!;
  const grp1 = (lr & 0x40000000) !== 0;
  if (!enabledGroup(lr)) return v("viar-group-disabled", `LR${found} is Group ${grp1 ? 1 : 0}, GICH_VMCR ${hex(vmcr)}`);
  const prio = ((lr >>> 23) & 0x1f) << 3;
  if (prio > best) return v("viar-not-highest", `LR${found} has priority ${hex(prio)}, a pending LR has ${hex(best)}`);
  const mask = (vmcr >>> 27) << 3;
  if (prio >= mask) return v("viar-masked", `LR${found} priority ${hex(prio)}, VMPriMask ${hex(mask)}`);
  const apr = pre[vb + (L.V_APR >> 2)]!;
  const running = apr === 0 ? 0x100 : (31 - Math.clz32(apr & -apr)) << 3;
  const gp = groupPriority(prio, grp1, (vmcr & 0x10) !== 0, (vmcr >>> 21) & 7, (vmcr >>> 18) & 7);
  if (gp >= running) return v("viar-preemption", `group priority ${hex(gp)}, virtual running priority ${hex(running)}`);
  if (alias && !grp1) return v("viar-group", "a Group 0 list register through the alias");
  if (!alias && grp1 && (vmcr & 4) === 0) return v("viar-group", "a Group 1 list register without VMAckCtl: expected 1022");
  if (((post[lr0 + found]! >>> 28) & 3) !== 2) {
    return v("viar-not-activated", `LR${found} is ${hex(post[lr0 + found]!)} afterwards`);
  }
  return null;
}

// ---- the per-operation checker

/** Name of the layout region holding byte address `a` (for messages). */
function regionName(a: number): string {
  const regions: Array<[number, string]> = [
    [L.BM_ENABLE, "BM_ENABLE"], [L.BM_PEND, "BM_PEND"], [L.BM_ACTIVE, "BM_ACTIVE"], [L.BM_GROUP, "BM_GROUP"],
    [L.BM_LEVEL, "BM_LEVEL"], [L.BM_EDGE, "BM_EDGE"], [L.PRIO_BANKED, "PRIO_BANKED"], [L.PRIO_SHARED, "PRIO_SHARED"],
    [L.TARGETS, "TARGETS"], [L.SGI_SRC, "SGI_SRC"], [L.CAND, "CAND"], [L.CAND_SUM, "CAND_SUM"],
    [L.CPU_BASE, "CPU"], [L.VIF_BASE, "VIF"],
  ];
  let name = "?";
  for (const [base, n] of regions) if (a >= base) name = `${n}+${hex(a - base)}`;
  return name;
}

/** Counters of the checks made, for bounded diagnostics. */
export interface CheckCounters {
  ops: number;
  acks: number;
  virtualAcks: number;
  noEffect: number;
  fullChecks: number;
}

/**
 * Checks every operation of one run against the invariants. Call `before`
 * with the operation, apply it through the port, then `after` with its
 * result. State comes from the Gic's memory; only a write to a constant
 * register triggers a re-read through the port.
 */
export class HwChecker {
  readonly config: GicConfig;
  readonly counters: CheckCounters = { ops: 0, acks: 0, virtualAcks: 0, noEffect: 0, fullChecks: 0 };
  /** the expectation for the operation in flight (valid after `before`) */
  readonly exp: Expectation = newExpectation();
  private readonly gic: Gic;
  private readonly port: HwPort;
  private mem: Uint32Array;
  private readonly snap = new Uint32Array(0x3000 >> 2);
  /** word ranges of interrupt state, [start, end) pairs */
  private readonly ranges: number[] = [];
  private readonly bad0 = new Uint32Array(5);
  private readonly derived: VirtualDerived = { eisr0: 0, eisr1: 0, elrsr0: 0, elrsr1: 0, misr: 0 };
  private readonly constants = new Map<number, number>();
  private snapped = false;
  /** the reference for register storage (./reference.ts) */
  readonly ref: RegisterReference;
  /** the running priority and EOI/DIR reference (./cpu-interface.ts) */
  readonly cpuif: CpuInterfaceReference;
  /** the access status of the operation last checked */
  lastStatus = ST_OK;

  constructor(gic: Gic, port: HwPort = rawPort(gic)) {
    this.gic = gic;
    this.port = port;
    this.config = gic.config as GicConfig;
    this.mem = gic.memoryWords();
    const c = this.config;
    const add = (a: number, bytes: number) => this.ranges.push(a >> 2, (a + bytes + 3) >> 2);
    for (const bm of [L.BM_ENABLE, L.BM_PEND, L.BM_ACTIVE, L.BM_GROUP, L.BM_LEVEL, L.BM_EDGE]) {
      add(bm, c.cpus * 4);
      add(bm + L.BM_BANK_BYTES + 4, Math.ceil(c.irqs / 32) * 4 - 4);
    }
    add(L.PRIO_BANKED, c.cpus * 32);
    add(L.PRIO_SHARED + 32, c.irqs - 32);
    add(L.TARGETS + 32, c.irqs - 32);
    add(L.SGI_SRC, c.cpus * 16);
    for (let cpu = 0; cpu < c.cpus; cpu++) {
      add(L.CAND + cpu * 128, Math.ceil(c.irqs / 32) * 4);
      add(L.CPU_BASE + cpu * L.CPU_STRIDE, L.C_BAD);
      add(L.VIF_BASE + cpu * L.VIF_STRIDE, L.V_LR + c.listRegisters * 4);
    }
    add(L.CAND_SUM, c.cpus * 4);
    add(L.G_DIST_CTLR, 4);
    this.ref = new RegisterReference(this.config, port);
    this.cpuif = new CpuInterfaceReference(this.config, this.mem);
  }

  private words(): Uint32Array {
    if (this.mem.length === 0) this.mem = this.gic.memoryWords(); // (detached: the memory grew)
    return this.mem;
  }

  /** Take what `after` needs to know about the state before `op`. */
  before(op: HwOp): void {
    const m = this.words();
    this.snapped = false;
    if (op.t === "line") return;
    const cb = (L.CPU_BASE + op.cpu * L.CPU_STRIDE + L.C_BAD) >> 2;
    for (let k = 0; k < 5; k++) this.bad0[k] = m[cb + k]!;
    const e = expectAccess(this.config, op.addr, op.size, op.t === "w", op.t === "w" ? op.value : 0, this.exp);
    const role = e.row >= 0 ? ROWS[e.row]!.role : "";
    const sideEffect = op.t === "r" ? role === "iar" || role === "aiar" : role === "eoir" || role === "dir";
    if (e.noEffect || (e.status === ST_OK && sideEffect)) {
      this.snap.set(m.subarray(0, this.snap.length));
      this.snapped = true;
    }
  }

  /** Check the operation just applied; `result` is the value read or the
   *  status a write returned. A legal access is then held against the
   *  reference for register storage. */
  after(op: HwOp, result: number): Violation | null {
    this.lastStatus = op.t === "line" ? ST_OK : op.t === "w" ? result : this.port.lastStatus();
    const v = this.afterAccess(op, result) ??
      (op.t === "line" || this.exp.status !== ST_OK ? null : this.ref.after(op, this.exp.frame, this.exp.offset, result));
    return v ?? this.afterState(op);
  }

  /** What must hold after any operation: the running priority of the CPU
   *  that made an access, and the output lines of every CPU the operation
   *  may have changed: all of them after a distributor write, an SPI line
   *  change, or an acknowledge, EOI or DIR (an SPI's active state is seen
   *  by every CPU it targets), else the CPU that made the access. */
  private afterState(op: HwOp): Violation | null {
    const m = this.words();
    if (op.t !== "line") {
      const v = this.cpuif.check(op.cpu, m, () => this.describe(op));
      if (v) return v;
    }
    const e = this.exp;
    const role = op.t === "line" || e.row < 0 ? "" : ROWS[e.row]!.role;
    const all = op.t === "line" ? op.irq >= 32
      : (e.frame === 0 && op.t === "w") || role === "iar" || role === "aiar" || role === "eoir" || role === "dir";
    // with a propagation delay nIRQ/nFIQ lag the state (host/hw/gic.ts)
    const physical = this.config.propagationDelay === 0;
    for (let cpu = all ? 0 : op.cpu, end = all ? this.config.cpus : op.cpu + 1; cpu < end; cpu++) {
      const v = checkLines(m, this.config, cpu, this.port.lines(cpu), physical);
      if (v) return { invariant: v.invariant, message: `${v.message}, after ${this.describe(op)}` };
    }
    return null;
  }

  private afterAccess(op: HwOp, result: number): Violation | null {
    const m = this.words();
    const c = this.counters;
    c.ops++;
    if (op.t === "line") return null;
    const e = this.exp;
    const cpu = op.cpu;
    // bad-access: counters and status
    const cb = (L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_BAD) >> 2;
    let changed = -1;
    for (let k = 0; k < 5; k++) {
      const d = (m[cb + k]! - this.bad0[k]!) >>> 0;
      if (d === 0) continue;
      if (d !== 1 || changed >= 0 || e.status === ST_OK || ((e.badKinds >>> (k + 1)) & 1) === 0) {
        return this.badAccess(op, `counter ${STATUS_NAMES[k + 1]} went up by ${d}`);
      }
      changed = k + 1;
    }
    if (e.status !== ST_OK && changed < 0) return this.badAccess(op, "no bad-access counter went up");
    const status = op.t === "w" ? result : this.port.lastStatus();
    if ((status === ST_OK) !== (e.status === ST_OK) || (status !== ST_OK && ((e.badKinds >>> status) & 1) === 0)) {
      return this.badAccess(op, `status ${STATUS_NAMES[status] ?? status}`);
    }
    if (op.t === "r" && (e.status !== ST_OK || e.raz) && result !== 0) {
      return { invariant: "raz", message: `CPU ${cpu}: ${this.describe(op)} read ${hex(result)}, expected 0` };
    }
    if (this.snapped && e.noEffect) {
      c.noEffect++;
      const r = this.ranges;
      const s = this.snap;
      for (let i = 0; i < r.length; i += 2) {
        for (let w = r[i]!, end = r[i + 1]!; w < end; w++) {
          if (s[w] !== m[w]) {
            return {
              invariant: "no-effect",
              message: `CPU ${cpu}: ${this.describe(op)} changed ${regionName(w * 4)} from ${hex(s[w]!)} to ${hex(m[w]!)}`,
            };
          }
        }
      }
    }
    if (e.row < 0) return null;
    const row = ROWS[e.row]!;
    if (row.role === "const") {
      if (e.status === ST_OK && op.t === "r") return this.constant(op, e.frame, e.offset, result);
      if (e.status === ST_RO_WRITE && (op.addr & 3) === 0) {
        const again = this.port.read(cpu, op.addr, 4);
        return this.constant(op, e.frame, e.offset, again, true);
      }
      return null;
    }
    if (e.status !== ST_OK) return null;
    switch (row.role) {
      case "iar":
      case "aiar":
        if (e.frame === 1) {
          c.acks++;
          const v = checkAcknowledge(this.snap, m, this.config, cpu, result, row.role === "aiar") ??
            checkAckChoice(this.snap, this.config, cpu, result, row.role === "aiar");
          if (!v) this.cpuif.acknowledged(cpu, result, this.snap);
          return v;
        }
        c.virtualAcks++;
        return checkVirtualAcknowledge(this.snap, m, this.config, cpu, result, row.role === "aiar") ??
          checkVirtualAckChoice(this.snap, this.config, cpu, result, row.role === "aiar") ??
          checkVirtualState(m, this.config, cpu, this.derived);
      case "eoir":
      case "dir":
        if (op.t !== "w") break;
        if (e.frame === 1) {
          return row.role === "dir" ? this.cpuif.deactivate(cpu, op.value, this.snap, m)
            : this.cpuif.eoi(cpu, op.value, row.name === "GICC_AEOIR", this.snap, m);
        }
        return checkHwDeactivate(this.snap, m, this.config, cpu, op.value, row.role === "dir") ?? this.virtualState(cpu).v;
      case "derived": {
        const d = this.virtualState(cpu);
        if (d.v) return d.v;
        const o = e.offset;
        const want = o === 0x10 ? this.derived.misr : o === 0x20 ? this.derived.eisr0 : o === 0x24 ? this.derived.eisr1
          : o === 0x30 ? this.derived.elrsr0 : this.derived.elrsr1;
        if (result !== want) {
          return { invariant: "lr-derived", message: `CPU ${cpu}: ${this.describe(op)} read ${hex(result)}, the list registers give ${hex(want)}` };
        }
        return null;
      }
      case "set":
      case "clear":
        if (op.t === "w" && !e.raz && !e.noEffect) return this.setClear(op, row.role === "set", row.bitmap!, e.offset - row.start);
        break;
    }
    if (op.t === "r" && (row.name.endsWith("HPPIR"))) {
      return checkHighestPending(m, this.config, cpu, e.frame, row.name.endsWith("AHPPIR"), result);
    }
    if (row.name === "GICC_RPR" && op.t === "r") return this.cpuif.checkRead(cpu, result);
    if (row.name === "GICV_RPR" && op.t === "r") return checkVirtualRunning(this.words(), cpu, result) ?? this.virtualState(cpu).v;
    if (row.name === "GICC_APR" && op.t === "w") this.cpuif.prioritiesWritten(cpu);
    if (e.frame >= 2) return this.virtualState(cpu).v;
    return null;
  }

  private virtualState(cpu: number): { v: Violation | null } {
    return { v: checkVirtualState(this.words(), this.config, cpu, this.derived) };
  }

  /** The state invariants of every CPU (cheap enough to run every few hundred operations). */
  checkAll(): Violation | null {
    this.counters.fullChecks++;
    const m = this.words();
    for (let cpu = 0; cpu < this.config.cpus; cpu++) {
      const v = checkVirtualState(m, this.config, cpu, this.derived);
      if (v) return v;
    }
    return null;
  }

  private constant(op: HwOp, frame: number, offset: number, value: number, reread = false): Violation | null {
    const key = frame * 0x10000 + (offset & ~3);
    let want = constantValue(this.config, frame, offset & ~3);
    if (want === undefined) {
      want = this.constants.get(key);
      if (want === undefined) { this.constants.set(key, value >>> 0); return null; }
    }
    if (value >>> 0 === want) return null;
    return {
      invariant: "ro-constant",
      message: `CPU ${op.cpu}: ${reread ? "re-read after " : ""}${this.describe(op)} gave ${hex(value)}, expected ${hex(want)}`,
    };
  }

  private setClear(op: HwOp & { t: "w" }, set: boolean, bitmap: "enable" | "pend" | "active", inRow: number): Violation | null {
    const w = inRow >> 2;
    const irq0 = w * 32;
    let mask = op.value >>> 0;
    if (irq0 + 32 > this.config.irqs) mask &= (1 << (this.config.irqs - irq0)) - 1;
    // 4.3.7/4.3.8: SGI pending bits ignore writes; SGIs may be always enabled
    if (w === 0 && (bitmap === "pend" || this.config.sgiAlwaysEnabled)) mask &= ~0xffff;
    mask >>>= 0;
    if (mask === 0) return null;
    const bm = bitmap === "enable" ? L.BM_ENABLE : bitmap === "pend" ? L.BM_PEND : L.BM_ACTIVE;
    const got = this.words()[bankWord(bm, op.cpu, irq0)]! & mask;
    const want = set ? mask : 0;
    if (got >>> 0 === want) return null;
    return {
      invariant: "set-clear",
      message: `CPU ${op.cpu}: ${this.describe(op)} left ${bitmap} bits ${hex(got)} of ${hex(mask)} for IDs ${irq0}-${irq0 + 31}`,
    };
  }

  private badAccess(op: HwOp, what: string): Violation {
    const e = this.exp;
    const kinds = STATUS_NAMES.filter((_, k) => (e.badKinds >>> k) & 1).join("|") || "none (legal)";
    return { invariant: "bad-access", message: `CPU ${op.cpu}: ${this.describe(op)}: ${what}; expected bad kinds: ${kinds}` };
  }

  /** `w32 GICD_ISENABLER+0x4 = 0x1` style description of an access. */
  describe(op: HwOp): string {
    return describeOp(this.config, op);
  }
}

/** A one-line description of an operation in the architecture's names. */
export function describeOp(config: GicConfig, op: HwOp): string {
  if (op.t === "line") return `line ${op.irq} ${op.level ? 1 : 0} cpu ${op.cpu}`;
  const e = expectAccess(config, op.addr, op.size, op.t === "w");
  let where = hex(op.addr);
  if (e.row >= 0) {
    const row = ROWS[e.row]!;
    const d = e.offset - row.start;
    where = d === 0 ? row.name : `${row.name}+${hex(d)}`;
  } else if (e.frame >= 0) {
    where = `${["GICD", "GICC", "GICH", "GICV"][e.frame]}+${hex(e.offset)}`;
  }
  return op.t === "r" ? `cpu ${op.cpu} r${op.size * 8} ${where}` : `cpu ${op.cpu} w${op.size * 8} ${where} = ${hex(op.value)}`;
}

export { ST_OK, ST_RO_WRITE, type Expectation };
