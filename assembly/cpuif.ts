// The physical CPU interface (IHI 0048B chapter 3.3 and 4.4): priority mask,
// binary point and preemption, acknowledge as a pure state transition,
// priority drop and deactivation, and the output lines of each CPU.

import {
  BM_ACTIVE, BM_GROUP, BM_PEND, CFG_DELAY, C_APR, C_BPR, C_ABPR, C_CTLR,
  C_HPPI, C_HPPI_PRIO, C_LINES, C_LINES_DUE, C_LINES_VIS, C_PMR, C_RPR,
  G_DIRTY, G_LINES_SEQ, G_NEXT_DUE, G_NOW, LINE_FIQ, LINE_IRQ, SPURIOUS, V_LINES,
} from "./layout";
import {
  bestCandidate, bmSet, bmTest, clearDirty, cpuBlock, isDirty, markDirty, ncpu, nirq,
  prioMask, setActive, setSgiSources, sgiSources, vifBlock,
} from "./state";
import { virtualLines } from "./vif";

// GICC_CTLR without the Security Extensions (IHI 0048B 4.4.1, Table 4-31)
export const CTLR_EN_GRP0: u32 = 1 << 0;
export const CTLR_EN_GRP1: u32 = 1 << 1;
export const CTLR_ACKCTL: u32 = 1 << 2;
export const CTLR_FIQEN: u32 = 1 << 3;
export const CTLR_CBPR: u32 = 1 << 4;
export const CTLR_EOIMODE: u32 = 1 << 9;
// bits 5-8 (IRQ/FIQ bypass disables) are stored; bypass itself is not modelled
export const CTLR_WRITABLE: u32 = 0x3ff;

const IDLE_PRIORITY: u32 = 0x100;

/** Smallest GICC_BPR for the implemented priority bits (IHI 0048B 3.3.3, Table 3-7). */
export function minBpr(): u32 {
  const bits = popcnt<u32>(prioMask());
  return bits >= 7 ? 0 : 7 - bits;
}

/** The group-priority mask applied to a priority for preemption (IHI 0048B
 *  3.3.3): GICC_BPR for Group 0 (and Group 1 when CBPR), else GICC_ABPR, whose
 *  value is one more than the equivalent BPR. */
@inline export function groupMask(ctlr: u32, bpr: u32, abpr: u32, grp1: bool): u32 {
  if (grp1 && (ctlr & CTLR_CBPR) == 0) return (0xff << abpr) & 0xff;
  return (0xff << (bpr + 1)) & 0xff;
}

/** Whether GICC_CTLR enables the group of the head. IHI 0048B 4.4.1: the
 *  EnableGrp bits enable the CPU interface's signalling of each group (the
 *  distributor's forwarding is GICD_CTLR's, 4.3.1), and 4.4.4 reads 1023
 *  while signalling is disabled. The head is chosen among what the
 *  distributor forwards; when its group is disabled here nothing is
 *  signalled, acknowledged or reported, and a lower-priority interrupt of
 *  the other group does not take its place. Arm's GICv3 register
 *  descriptions of the GICv2-compatible GICC_HPPIR/AHPPIR say so outright
 *  (1023 for a head whose group the distributor enables and the CPU
 *  interface does not), as QEMU's GICv3 does (hw/intc/arm_gicv3_cpuif.c,
 *  icc_no_enabled_hppi, gating preemption, IAR and, since 44e25fbc19,
 *  HPPIR); QEMU's GICv2 (hw/intc/arm_gic.c, gic_update_internal) likewise
 *  raises no line for such a head, though its IAR and HPPIR still name it. */
@inline function groupSignalled(b: u32, grp1: bool): bool {
  return (load<u32>(b + C_CTLR) & (grp1 ? CTLR_EN_GRP1 : CTLR_EN_GRP0)) != 0;
}

@inline function groupPriority(b: u32, prio: u32, grp1: bool): u32 {
  return prio & groupMask(load<u32>(b + C_CTLR), load<u32>(b + C_BPR), load<u32>(b + C_ABPR), grp1);
}

/** Running priority from the active-priority bits: one bit per preemption
 *  level of two priority values (the finest the 8-bit field allows). */
export function recomputeRunning(cpu: u32): void {
  const b = cpuBlock(cpu);
  let rpr = IDLE_PRIORITY;
  for (let i: u32 = 0; i < 4; i++) {
    const w = load<u32>(b + C_APR + (i << 2));
    if (w != 0) {
      rpr = ((i << 5) + ctz<u32>(w)) << 1;
      break;
    }
  }
  store<u32>(b + C_RPR, rpr);
  markDirty(cpu);
}

/** Recompute the best candidate of a dirty CPU interface. */
function recomputePending(cpu: u32): void {
  const b = cpuBlock(cpu);
  clearDirty(1 << cpu);
  const best = bestCandidate(cpu);
  if (best < 0) {
    store<u32>(b + C_HPPI, SPURIOUS);
    store<u32>(b + C_HPPI_PRIO, IDLE_PRIORITY);
    return;
  }
  const irq = <u32>best & 0xffff;
  let id = irq;
  // IHI 0048B 4.4.4: for an SGI the source CPU is reported in bits [12:10];
  // with several sources pending, the lowest-numbered one goes first.
  if (irq < 16) id |= ctz<u32>(sgiSources(cpu, irq)) << 10;
  store<u32>(b + C_HPPI, id);
  store<u32>(b + C_HPPI_PRIO, <u32>best >>> 16);
}

/** Physical output lines: nIRQ/nFIQ asserted when the best candidate is of
 *  a group GICC_CTLR enables and beats the priority mask and, by group
 *  priority, the running priority (3.3.3). Group 0 is signalled as FIQ when
 *  FIQEn is set (3.3.2). */
function physicalLines(cpu: u32): u32 {
  const b = cpuBlock(cpu);
  const id = load<u32>(b + C_HPPI);
  if (id == SPURIOUS) return 0;
  const prio = load<u32>(b + C_HPPI_PRIO);
  if (prio >= load<u32>(b + C_PMR)) return 0;
  const irq = id & 0x3ff;
  const grp1 = bmTest(BM_GROUP, cpu, irq);
  if (!groupSignalled(b, grp1)) return 0;
  if (groupPriority(b, prio, grp1) >= load<u32>(b + C_RPR)) return 0;
  return !grp1 && (load<u32>(b + C_CTLR) & CTLR_FIQEN) != 0 ? LINE_FIQ : LINE_IRQ;
}

/** Bring one CPU's derived state and lines up to date, applying the
 *  configured distributor-to-CPU propagation delay to nIRQ/nFIQ. */
@inline function settleCpu(cpu: u32): void {
  const b = cpuBlock(cpu);
  // virtualLines may change PPI 25 and so dirty this CPU interface.
  const vlines = (load<u32>(G_DIRTY) & (0x100 << cpu)) != 0
    ? virtualLines(cpu) : load<u32>(vifBlock(cpu) + V_LINES);
  if (isDirty(cpu)) recomputePending(cpu);
  else if ((load<u32>(b + C_LINES) & ~(LINE_IRQ | LINE_FIQ)) == vlines) return;
  const lines = physicalLines(cpu) | vlines;
  const vis = load<u32>(b + C_LINES_VIS);
  store<u32>(b + C_LINES, lines);
  if (lines == vis) {
    store<f64>(b + C_LINES_DUE, -1);
    return;
  }
  const phys: u32 = LINE_IRQ | LINE_FIQ;
  let next = lines;
  const delay = load<u32>(CFG_DELAY);
  if (delay != 0 && ((lines ^ vis) & phys) != 0) {
    next = (vis & phys) | (lines & ~phys);
    if (load<f64>(b + C_LINES_DUE) < 0) {
      const due = load<f64>(G_NOW) + <f64>delay;
      store<f64>(b + C_LINES_DUE, due);
      const nd = load<f64>(G_NEXT_DUE);
      if (nd < 0 || due < nd) store<f64>(G_NEXT_DUE, due);
    }
  }
  if (next != vis) {
    store<u32>(b + C_LINES_VIS, next);
    store<u32>(G_LINES_SEQ, load<u32>(G_LINES_SEQ) + 1);
  }
}

function settleDirty(): void {
  let d = load<u32>(G_DIRTY);
  d = (d | (d >> 8)) & 0xff;
  do {
    settleCpu(ctz<u32>(d));
    d &= d - 1;
  } while (d != 0);
}

/** Settle every interface an access dirtied; a clean one has nothing to
 *  recompute (its lines were published when it was last settled), so an
 *  access that changed nothing costs one test here. */
@inline export function settleAll(): void {
  if (load<u32>(G_DIRTY) != 0) settleDirty();
}

/** Advance the model's clock and publish the delayed line changes now due. */
export function advanceTo(now: f64): void {
  store<f64>(G_NOW, now);
  const nd = load<f64>(G_NEXT_DUE);
  if (nd < 0 || nd > now) return;
  let next: f64 = -1;
  const n = ncpu();
  for (let c: u32 = 0; c < n; c++) {
    const b = cpuBlock(c);
    const due = load<f64>(b + C_LINES_DUE);
    if (due < 0) continue;
    if (due <= now) {
      store<f64>(b + C_LINES_DUE, -1);
      const lines = load<u32>(b + C_LINES);
      if (lines != load<u32>(b + C_LINES_VIS)) {
        store<u32>(b + C_LINES_VIS, lines);
        store<u32>(G_LINES_SEQ, load<u32>(G_LINES_SEQ) + 1);
      }
    } else if (next < 0 || due < next) {
      next = due;
    }
  }
  store<f64>(G_NEXT_DUE, next);
}

// ---- register semantics

/** GICC_IAR / GICC_AIAR (IHI 0048B 4.4.4, 3.2.4). A head of a group
 *  GICC_CTLR disables reads as 1023 (groupSignalled). `alias` reads
 *  acknowledge Group 1 only. Without AckCtl, a Group 1 interrupt at the head
 *  reads as 1022 through GICC_IAR and stays pending (3.3.2, Table 3-4). */
export function acknowledge(cpu: u32, alias: bool): u32 {
  const b = cpuBlock(cpu);
  if (isDirty(cpu)) recomputePending(cpu);
  const id = load<u32>(b + C_HPPI);
  if (id == SPURIOUS) return SPURIOUS;
  const irq = id & 0x3ff;
  const prio = load<u32>(b + C_HPPI_PRIO);
  const grp1 = bmTest(BM_GROUP, cpu, irq);
  if (!groupSignalled(b, grp1)) return SPURIOUS;
  if (prio >= load<u32>(b + C_PMR)) return SPURIOUS;
  const gprio = groupPriority(b, prio, grp1);
  if (gprio >= load<u32>(b + C_RPR)) return SPURIOUS;
  if (alias) {
    if (!grp1) return SPURIOUS;
  } else if (grp1 && (load<u32>(b + C_CTLR) & CTLR_ACKCTL) == 0) {
    return 1022;
  }
  if (irq < 16) {
    const src = sgiSources(cpu, irq);
    setSgiSources(cpu, irq, src & ~(1 << (id >> 10)));
  } else {
    // Clears an edge latch or an ISPENDR latch; a level line that is still
    // high leaves the interrupt active and pending (3.2.4).
    bmSet(BM_PEND, cpu, irq, false);
  }
  setActive(cpu, irq, true);
  const bit = gprio >> 1;
  const a = b + C_APR + ((bit >> 5) << 2);
  store<u32>(a, load<u32>(a) | (1 << (bit & 31)));
  recomputeRunning(cpu);
  return id;
}

/** The lowest-numbered set active-priority bit is the running priority;
 *  clearing it is the priority drop of an EOI (IHI 0048B 3.3.4). */
export function priorityDrop(cpu: u32): bool {
  const b = cpuBlock(cpu);
  for (let i: u32 = 0; i < 4; i++) {
    const a = b + C_APR + (i << 2);
    const w = load<u32>(a);
    if (w != 0) {
      store<u32>(a, w & (w - 1));
      recomputeRunning(cpu);
      return true;
    }
  }
  return false;
}

/** Deactivate an interrupt as seen from `cpu` (banked IDs 0-31). */
export function deactivate(cpu: u32, irq: u32): void {
  if (irq >= nirq()) return;
  if (!bmTest(BM_ACTIVE, cpu, irq)) return;
  setActive(cpu, irq, false);
}

/** GICC_EOIR / GICC_AEOIR (IHI 0048B 4.4.5): writes of a special ID or of an
 *  ID the GIC does not implement are ignored (as QEMU does, arm_gic.c
 *  gic_complete_irq); otherwise priority drop, and with EOImode=0 also
 *  deactivation. */
export function endOfInterrupt(cpu: u32, value: u32): void {
  const irq = value & 0x3ff;
  if (irq >= 1020 || irq >= nirq()) return;
  if (!priorityDrop(cpu)) return;
  if ((load<u32>(cpuBlock(cpu) + C_CTLR) & CTLR_EOIMODE) == 0) deactivate(cpu, irq);
}

/** GICC_DIR (IHI 0048B 4.4.15): meaningful only with EOImode=1. */
export function deactivateWrite(cpu: u32, value: u32): void {
  if ((load<u32>(cpuBlock(cpu) + C_CTLR) & CTLR_EOIMODE) == 0) return;
  deactivate(cpu, value & 0x3ff);
}

/** GICC_HPPIR / GICC_AHPPIR (IHI 0048B 4.4.8): the head of the queue if it
 *  beats the priority mask and its group is enabled (groupSignalled), else
 *  1023; 1022 for Group 1 through HPPIR without AckCtl. */
export function highestPending(cpu: u32, alias: bool): u32 {
  const b = cpuBlock(cpu);
  if (isDirty(cpu)) recomputePending(cpu);
  const id = load<u32>(b + C_HPPI);
  if (id == SPURIOUS) return SPURIOUS;
  if (load<u32>(b + C_HPPI_PRIO) >= load<u32>(b + C_PMR)) return SPURIOUS;
  const grp1 = bmTest(BM_GROUP, cpu, id & 0x3ff);
  if (!groupSignalled(b, grp1)) return SPURIOUS;
  if (alias) return grp1 ? id : SPURIOUS;
  if (grp1 && (load<u32>(b + C_CTLR) & CTLR_ACKCTL) == 0) return 1022;
  return id;
}

export function resetCpuInterfaces(): void {
  const n = ncpu();
  for (let c: u32 = 0; c < n; c++) {
    const b = cpuBlock(c);
    memory.fill(b, 0, 0x40);
    store<u32>(b + C_BPR, minBpr());
    store<u32>(b + C_ABPR, minBpr() + 1);
    store<u32>(b + C_RPR, IDLE_PRIORITY);
    store<u32>(b + C_HPPI, SPURIOUS);
    store<u32>(b + C_HPPI_PRIO, IDLE_PRIORITY);
    markDirty(c);
    store<f64>(b + C_LINES_DUE, -1);
  }
  store<f64>(G_NEXT_DUE, -1);
}
