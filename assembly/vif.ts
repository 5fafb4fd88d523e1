// The virtualization extensions (IHI 0048B chapter 5): the virtual interface
// control registers (GICH) with their list registers, the virtual CPU
// interface (GICV) that a guest uses without trapping, and the maintenance
// interrupt (PPI 25). GICH_EISR and ELRSR follow each list register change;
// GICH_MISR and the lines are derived from them when the state settles.

import {
  BM_ACTIVE, BM_LEVEL, CFG_NLR, LINE_MAINT, LINE_VFIQ, LINE_VIRQ, SPURIOUS, V_APR,
  V_EISR0, V_ELRSR0, V_HCR, V_HPPI, V_LINES, V_LR, V_MISR, V_PEND_LRS, V_VMCR,
} from "./layout";
import {
  bmTest, clearDirty, isVirtualDirty, markVirtualDirty, ncpu, nirq, setActive, setLine,
  vifBlock,
} from "./state";

// GICH_HCR (5.3.1)
export const HCR_EN: u32 = 1 << 0;
export const HCR_UIE: u32 = 1 << 1;
export const HCR_LRENPIE: u32 = 1 << 2;
export const HCR_NPIE: u32 = 1 << 3;
export const HCR_VGRP0EIE: u32 = 1 << 4;
export const HCR_VGRP0DIE: u32 = 1 << 5;
export const HCR_VGRP1EIE: u32 = 1 << 6;
export const HCR_VGRP1DIE: u32 = 1 << 7;
export const HCR_EOICOUNT_SHIFT: u32 = 27;
export const HCR_WRITABLE: u32 = 0xf80000ff;

// GICH_VMCR (5.3.3)
export const VMCR_GRP0EN: u32 = 1 << 0;
export const VMCR_GRP1EN: u32 = 1 << 1;
export const VMCR_ACKCTL: u32 = 1 << 2;
export const VMCR_FIQEN: u32 = 1 << 3;
export const VMCR_CBPR: u32 = 1 << 4;
export const VMCR_VEM: u32 = 1 << 9;
export const VMCR_ABP_SHIFT: u32 = 18;
export const VMCR_BP_SHIFT: u32 = 21;
export const VMCR_PRIMASK_SHIFT: u32 = 27;
export const VMCR_WRITABLE: u32 = 0xf8fc021f;

// GICH_LRn (5.3.11)
export const LR_VID_MASK: u32 = 0x3ff;
export const LR_PID_SHIFT: u32 = 10;
export const LR_EOI: u32 = 1 << 19;
export const LR_PRIO_SHIFT: u32 = 23;
export const LR_STATE_SHIFT: u32 = 28;
export const LR_PENDING: u32 = 1 << 28;
export const LR_ACTIVE: u32 = 1 << 29;
export const LR_GRP1: u32 = 1 << 30;
export const LR_HW: u32 = 1 << 31;

// The virtual interface implements 5 priority bits and 5 preemption bits,
// so GICH_VTR reads 0x90000000 | (list registers - 1), as on QEMU's virt board.
export const VIRT_PRIO_BITS: u32 = 5;
export const VIRT_MIN_BPR: u32 = 2; // 7 - 5 (IHI 0048B 3.3.3, Table 3-7)
const IDLE_PRIORITY: u32 = 0x100;

@inline export function nlr(): u32 { return load<u32>(CFG_NLR); }
@inline export function lrAddr(cpu: u32, n: u32): u32 { return vifBlock(cpu) + V_LR + (n << 2); }

/** The 8-bit view of a list register's 5-bit priority. */
@inline function lrPriority(lr: u32): u32 { return ((lr >> LR_PRIO_SHIFT) & 0x1f) << 3; }

/** Virtual running priority from GICH_APR: bit n = preemption level n of
 *  the 32 that 5 preemption bits give (5.3.5). */
export function virtualRunning(cpu: u32): u32 {
  const apr = load<u32>(vifBlock(cpu) + V_APR);
  return apr == 0 ? IDLE_PRIORITY : ctz<u32>(apr) << 3;
}

function virtualGroupPriority(vmcr: u32, prio: u32, grp1: bool): u32 {
  const bp = (vmcr >> VMCR_BP_SHIFT) & 7;
  const abp = (vmcr >> VMCR_ABP_SHIFT) & 7;
  if (grp1 && (vmcr & VMCR_CBPR) == 0) return prio & ((0xff << abp) & 0xff);
  return prio & ((0xff << (bp + 1)) & 0xff);
}

@inline function groupEnabled(vmcr: u32, lr: u32): bool {
  return (vmcr & ((lr & LR_GRP1) != 0 ? VMCR_GRP1EN : VMCR_GRP0EN)) != 0;
}

/** Keep EISR, ELRSR and the pending-LR mask in step with list register `n`
 *  after any change of its value, so that settling never loops over the list
 *  registers (5.3.7, 5.3.9). An invalid software (HW=0) entry with EOI=1 owes
 *  EOI maintenance; any other invalid entry is empty. */
@inline export function listRegisterChanged(cpu: u32, n: u32, lr: u32): void {
  const b = vifBlock(cpu);
  const bit: u64 = (<u64>1) << n;
  let eisr = load<u64>(b + V_EISR0) & ~bit;
  let elrsr = load<u64>(b + V_ELRSR0) & ~bit;
  let pend = load<u64>(b + V_PEND_LRS) & ~bit;
  const state = lr & (LR_PENDING | LR_ACTIVE);
  if (state == 0) {
    if ((lr & (LR_HW | LR_EOI)) == LR_EOI) eisr |= bit;
    else elrsr |= bit;
  } else if (state == LR_PENDING) {
    pend |= bit;
  }
  store<u64>(b + V_EISR0, eisr);
  store<u64>(b + V_ELRSR0, elrsr);
  store<u64>(b + V_PEND_LRS, pend);
}

/** Index of the best pending list register, -1 if none. Only the pending
 *  state (01) is signalled: an active-and-pending virtual interrupt waits for
 *  its deactivation, as a physical one does (3.2.3). Ties go to the lowest
 *  list register. Visits only the pending ones.
 *  A list register of a group GICH_VMCR (GICV_CTLR) disables is passed over,
 *  so a lower-priority one of the enabled group is the head: unlike the
 *  physical interface (cpuif.ts, groupSignalled), where no distributor stands
 *  in between. This follows Arm's rule for the virtual interface in its
 *  GICv3 pseudocode (HighestPriorityVirtualInterrupt, which QEMU's
 *  hw/intc/arm_gicv3_cpuif.c hppvi_index implements). QEMU's GICv2 model
 *  (hw/intc/arm_gic.c, gic_get_best_virq) differs: it keeps the head and
 *  only withholds vIRQ/vFIQ. */
@inline function bestListRegister(cpu: u32): i32 {
  const b = vifBlock(cpu);
  const vmcr = load<u32>(b + V_VMCR);
  let pend = load<u64>(b + V_PEND_LRS);
  let best: i32 = -1;
  let bestPrio: u32 = IDLE_PRIORITY;
  while (pend != 0) {
    const i = <u32>ctz<u64>(pend);
    pend &= pend - 1;
    const lr = load<u32>(b + V_LR + (i << 2));
    const p = lrPriority(lr);
    if (p < bestPrio && groupEnabled(vmcr, lr)) {
      bestPrio = p;
      best = <i32>i;
    }
  }
  return best;
}

/** The best pending list register as of the last settle when nothing has
 *  changed since (the common case: every access settles), else recomputed. */
@inline function currentBestListRegister(cpu: u32): i32 {
  return isVirtualDirty(cpu) ? bestListRegister(cpu) : load<i32>(vifBlock(cpu) + V_HPPI);
}

/** Derive MISR, EISR and ELRSR from the list registers (5.3.6-5.3.9) and
 *  drive the maintenance interrupt, then return the virtual output lines. */
export function virtualLines(cpu: u32): u32 {
  const b = vifBlock(cpu);
  clearDirty(0x100 << cpu);
  const hcr = load<u32>(b + V_HCR);
  const vmcr = load<u32>(b + V_VMCR);
  // EISR, ELRSR and the pending mask are kept up to date by
  // listRegisterChanged; an implemented entry in neither EISR nor ELRSR is valid.
  const eisr = load<u64>(b + V_EISR0);
  const implemented = (<u64>-1) >> (64 - nlr());
  const valid = implemented & ~(eisr | load<u64>(b + V_ELRSR0));
  const best = bestListRegister(cpu);

  let misr: u32 = 0;
  if (eisr != 0) misr |= 1 << 0;
  if ((hcr & HCR_UIE) != 0 && (valid & (valid - 1)) == 0) misr |= 1 << 1; // at most one valid
  if ((hcr & HCR_LRENPIE) != 0 && (hcr >> HCR_EOICOUNT_SHIFT) != 0) misr |= 1 << 2;
  // 5.3.5 NP: "no List register is in the pending state"; pending and
  // active (11) is a state of its own.
  if ((hcr & HCR_NPIE) != 0 && load<u64>(b + V_PEND_LRS) == 0) misr |= 1 << 3;
  if ((hcr & HCR_VGRP0EIE) != 0 && (vmcr & VMCR_GRP0EN) != 0) misr |= 1 << 4;
  if ((hcr & HCR_VGRP0DIE) != 0 && (vmcr & VMCR_GRP0EN) == 0) misr |= 1 << 5;
  if ((hcr & HCR_VGRP1EIE) != 0 && (vmcr & VMCR_GRP1EN) != 0) misr |= 1 << 6;
  if ((hcr & HCR_VGRP1DIE) != 0 && (vmcr & VMCR_GRP1EN) == 0) misr |= 1 << 7;
  store<u32>(b + V_MISR, misr);

  const en = (hcr & HCR_EN) != 0;
  const maint = en && misr != 0;
  // 5.3.6: the maintenance interrupt is the level-sensitive PPI 25 of this
  // CPU. Most settles leave its level as it was: test before the call.
  if (bmTest(BM_LEVEL, cpu, 25) != maint) setLine(cpu, 25, maint);
  let lines: u32 = maint ? LINE_MAINT : 0;

  store<i32>(b + V_HPPI, best);
  if (en && best >= 0) {
    const lr = load<u32>(b + V_LR + (<u32>best << 2));
    const prio = lrPriority(lr);
    const grp1 = (lr & LR_GRP1) != 0;
    if (prio < (vmcr >> VMCR_PRIMASK_SHIFT) << 3 &&
        virtualGroupPriority(vmcr, prio, grp1) < virtualRunning(cpu)) {
      lines |= !grp1 && (vmcr & VMCR_FIQEN) != 0 ? LINE_VFIQ : LINE_VIRQ;
    }
  }
  store<u32>(b + V_LINES, lines);
  return lines;
}

/** The ID a GICV_IAR/HPPIR read reports for a list register: the virtual ID,
 *  with the source CPU of a software-injected SGI in bits [12:10] (5.3.11). */
@inline function reportedId(lr: u32): u32 {
  const vid = lr & LR_VID_MASK;
  if ((lr & LR_HW) == 0 && vid < 16) return vid | (lr & (7 << LR_PID_SHIFT));
  return vid;
}

/** GICV_IAR / GICV_AIAR: acknowledge the best pending list register if it
 *  beats the virtual priority mask and running priority (5.4, 3.2.4). */
export function virtualAcknowledge(cpu: u32, alias: bool): u32 {
  const b = vifBlock(cpu);
  // 5.3.2: with GICH_HCR.En=0 a read of GICV_IAR or GICV_AIAR returns a
  // spurious ID (QEMU arm_gic.c agrees: no vCPU pending while En=0).
  if ((load<u32>(b + V_HCR) & HCR_EN) == 0) return SPURIOUS;
  const best = currentBestListRegister(cpu);
  if (best < 0) return SPURIOUS;
  const a = b + V_LR + (<u32>best << 2);
  const lr = load<u32>(a);
  const vmcr = load<u32>(b + V_VMCR);
  const prio = lrPriority(lr);
  const grp1 = (lr & LR_GRP1) != 0;
  if (prio >= (vmcr >> VMCR_PRIMASK_SHIFT) << 3) return SPURIOUS;
  const gprio = virtualGroupPriority(vmcr, prio, grp1);
  if (gprio >= virtualRunning(cpu)) return SPURIOUS;
  if (alias) {
    if (!grp1) return SPURIOUS;
  } else if (grp1 && (vmcr & VMCR_ACKCTL) == 0) {
    return 1022;
  }
  const acked = (lr & ~LR_PENDING) | LR_ACTIVE;
  store<u32>(a, acked);
  listRegisterChanged(cpu, <u32>best, acked);
  markVirtualDirty(cpu);
  store<u32>(b + V_APR, load<u32>(b + V_APR) | (1 << (gprio >> 3)));
  return reportedId(lr);
}

/** GICV_HPPIR / GICV_AHPPIR. */
export function virtualHighestPending(cpu: u32, alias: bool): u32 {
  const b = vifBlock(cpu);
  // HPPIR reports what IAR would acknowledge: nothing while En=0 (5.3.2).
  if ((load<u32>(b + V_HCR) & HCR_EN) == 0) return SPURIOUS;
  const best = currentBestListRegister(cpu);
  if (best < 0) return SPURIOUS;
  const lr = load<u32>(b + V_LR + (<u32>best << 2));
  const vmcr = load<u32>(b + V_VMCR);
  if (lrPriority(lr) >= (vmcr >> VMCR_PRIMASK_SHIFT) << 3) return SPURIOUS;
  const grp1 = (lr & LR_GRP1) != 0;
  if (alias) return grp1 ? reportedId(lr) : SPURIOUS;
  if (grp1 && (vmcr & VMCR_ACKCTL) == 0) return 1022;
  return reportedId(lr);
}

/** Deactivate the virtual interrupt `value` names (5.4.1-5.4.2). An HW entry
 *  deactivates its physical interrupt in the distributor; an EOI that matches
 *  no list register counts in GICH_HCR.EOICount when `counted` (5.3.2: an EOI
 *  that clears no GICH_APR bit does not count). */
function virtualDeactivate(cpu: u32, value: u32, counted: bool): void {
  const vid = value & LR_VID_MASK;
  const src = (value >> 10) & 7;
  const b = vifBlock(cpu);
  const n = nlr();
  for (let i: u32 = 0; i < n; i++) {
    const a = b + V_LR + (i << 2);
    const lr = load<u32>(a);
    if ((lr & LR_ACTIVE) == 0 || (lr & LR_VID_MASK) != vid) continue;
    if ((lr & LR_HW) == 0 && vid < 16 && ((lr >> LR_PID_SHIFT) & 7) != src) continue;
    store<u32>(a, lr & ~LR_ACTIVE);
    listRegisterChanged(cpu, i, lr & ~LR_ACTIVE);
    // EISR, ELRSR, MISR and the lines change with the state (GICV_DIR too).
    markVirtualDirty(cpu);
    if ((lr & LR_HW) != 0) {
      const pid = (lr >> LR_PID_SHIFT) & 0x3ff;
      // PhysicalID of an SGI or a special ID is UNPREDICTABLE (5.3.11): ignore.
      if (pid >= 16 && pid < 1020 && pid < nirq() && bmTest(BM_ACTIVE, cpu, pid)) {
        setActive(cpu, pid, false);
      }
    }
    return;
  }
  if (!counted) return;
  markVirtualDirty(cpu);
  const hcr = load<u32>(b + V_HCR);
  const count = ((hcr >> HCR_EOICOUNT_SHIFT) + 1) & 0x1f;
  store<u32>(b + V_HCR, (hcr & ~(0x1f << HCR_EOICOUNT_SHIFT)) | (count << HCR_EOICOUNT_SHIFT));
}

/** GICV_EOIR / GICV_AEOIR: priority drop, then deactivation unless VEM. */
export function virtualEndOfInterrupt(cpu: u32, value: u32): void {
  const vid = value & LR_VID_MASK;
  if (vid >= 1020) return;
  const b = vifBlock(cpu);
  const apr = load<u32>(b + V_APR);
  if (apr != 0) store<u32>(b + V_APR, apr & (apr - 1));
  markVirtualDirty(cpu);
  if ((load<u32>(b + V_VMCR) & VMCR_VEM) == 0) virtualDeactivate(cpu, value, apr != 0);
}

/** GICV_DIR: deactivation when VEM=1; ignored otherwise (UNPREDICTABLE). */
export function virtualDeactivateWrite(cpu: u32, value: u32): void {
  if ((value & LR_VID_MASK) >= 1020) return;
  if ((load<u32>(vifBlock(cpu) + V_VMCR) & VMCR_VEM) == 0) return;
  virtualDeactivate(cpu, value, true);
}

export function resetVirtualInterfaces(): void {
  const n = ncpu();
  for (let c: u32 = 0; c < n; c++) {
    const b = vifBlock(c);
    memory.fill(b, 0, V_LR + 256);
    // VMBP/VMABP reset to their minimum for 5 priority bits
    store<u32>(b + V_VMCR, (VIRT_MIN_BPR << VMCR_BP_SHIFT) | ((VIRT_MIN_BPR + 1) << VMCR_ABP_SHIFT));
    store<i32>(b + V_HPPI, -1);
    // every implemented list register starts empty (0)
    store<u64>(b + V_ELRSR0, (<u64>-1) >> (64 - nlr()));
    markVirtualDirty(c);
  }
}
