// The CPU interface oracle (IHI 0048B chapters 3, 4.4 and 5): what an
// acknowledge (GICC_IAR/AIAR, GICV_IAR/AIAR) and a highest-pending read
// (GICC_HPPIR/AHPPIR, GICV_HPPIR/AHPPIR) must return, what GICC_EOIR/AEOIR
// and GICC_DIR must do to the active state and the running priority, what
// the retirement of a hardware (HW=1) list register does to its physical
// interrupt, and which output lines (nIRQ, nFIQ, vIRQ, vFIQ) must be up.
// Each rule is computed from an image of the model's state taken before the
// operation (after it, for reads without side effects and for the lines),
// by a selection of its own: it shares no code with the model's candidate
// bitmaps, acknowledge, EOI or settle paths (assembly/state.ts, cpuif.ts,
// vif.ts).
//
// The running priority is tracked here, not read back: an acknowledge
// raises it to the group priority of the interrupt, an EOI of the most
// recently acknowledged interrupt drops it to the one before (4.4.5; the
// architecture requires EOIs in the reverse order of the acknowledges).
// An EOI that names another interrupt is UNPREDICTABLE, and GICC_APR's
// format is IMPLEMENTATION DEFINED (4.4.14): after either the tracking is
// suspended until the model's active priorities are all clear again.

import type { GicConfig } from "../hw/gic.ts";
import * as L from "../hw/layout.ts";
import type { Violation } from "./invariants.ts";
import { bankWord, bit, byteAt, cpuWord, groupPriority, hex, priorityOf, vifWord } from "./state.ts";

export const CPUIF_INVARIANTS = {
  "iar-not-highest": "GICC_IAR/AIAR returns the highest-priority pending interrupt the distributor forwards to its CPU, the lowest ID among equals, and no other (4.4.4, 3.3)",
  "iar-spurious": "GICC_IAR/AIAR returns 1023 only when no forwarded interrupt is pending, or the highest is of a group GICC_CTLR does not enable, is masked by GICC_PMR, does not beat the running priority or is Group 0 at the alias; 1022 only for a Group 1 one through GICC_IAR without AckCtl (4.4.1, 4.4.4)",
  "viar-spurious": "GICV_IAR/AIAR returns 1023 only with GICH_HCR.En 0, no pending list register of an enabled group, or the highest masked, not beating the GICH_APR running priority or Group 0 at the alias; 1022 only for Group 1 without VMAckCtl (5.3.2, 4.4.4)",
  "hppir": "GICC_HPPIR/AHPPIR and GICV_HPPIR/AHPPIR read what the matching IAR would return, the running priority aside, and acknowledge nothing (4.4.8)",
  "vrunning-priority": "GICV_RPR reads the group priority of the highest active priority GICH_APR holds (bit n: priority n << 3), 0xff when GICH_APR is 0 (5.3.5, 4.4.6)",
  "running-priority": "the running priority (GICC_RPR) is the group priority of the latest acknowledged interrupt not yet EOId, 0xff when none: an acknowledge raises it, an EOI of that interrupt drops it to the one before (3.3, 4.4.5, 4.4.6)",
  "eoi-deactivate": "with GICC_CTLR.EOImode 0 an EOI of the running interrupt deactivates it; with EOImode 1 the EOI leaves it active and a GICC_DIR of it deactivates it (4.4.5, 4.4.15)",
  "hw-deactivate": "a virtual EOI (VEM 0) or GICV_DIR (VEM 1) that retires a HW=1 list register leaves its PhysicalID, an SPI or a PPI of that CPU, inactive in the distributor (5.3.11, 5.4)",
  "output-lines": "after every operation each CPU's nIRQ/nFIQ follow its highest forwarded pending interrupt, GICC_CTLR's enable of its group, GICC_PMR and the running priority, and vIRQ/vFIQ its list registers, GICH_HCR.En, GICV_CTLR, GICV_PMR and GICH_APR (3.3, 5.3)",
} as const;

const SPURIOUS = 1023;
const LR_HW = 0x80000000;
const LR_GRP1 = 0x40000000;
const LR_ACTIVE = 0x20000000;

const v = (invariant: keyof typeof CPUIF_INVARIANTS, message: string): Violation => ({ invariant, message });

// ---- physical selection

/** The highest-priority interrupt the distributor forwards to `cpu`, packed
 *  as ID | priority << 16, or -1: enabled, pending (an SGI from any source,
 *  4.3.15; a level-sensitive one while its line is high, 3.2.4), not active
 *  (an active interrupt is not signalled again, 3.2.4), of a group GICD_CTLR
 *  enables (4.3.1: its enables govern forwarding), an SPI only to a CPU in
 *  its ITARGETSR (a uniprocessor GIC delivers every SPI, 4.3.12). Among equal
 *  priorities the lowest ID wins: the architecture leaves the choice
 *  IMPLEMENTATION DEFINED (3.3) and the model documents this one.
 *  GICC_CTLR's group enables play no part here: see `signalled`. */
export function physicalHead(w: Uint32Array, config: GicConfig, cpu: number): number {
  const groups = w[L.G_DIST_CTLR >> 2]! & 3;
  if (groups === 0) return -1;
  const n = Math.min(config.irqs, 1020);
  let best = -1;
  let bestPrio = 0x100;
  for (let irq0 = 0; irq0 < n; irq0 += 32) {
    let en = w[bankWord(L.BM_ENABLE, cpu, irq0)]!;
    let pend = w[bankWord(L.BM_PEND, cpu, irq0)]! | (w[bankWord(L.BM_LEVEL, cpu, irq0)]! & ~w[bankWord(L.BM_EDGE, cpu, irq0)]!);
    if (irq0 === 0) {
      if (config.sgiAlwaysEnabled) en |= 0xffff;
      let sgis = 0;
      for (let k = 0; k < 4; k++) {
        const src = w[(L.SGI_SRC + cpu * 16 + k * 4) >> 2]!;
        for (let b = 0; b < 4; b++) if (((src >>> (8 * b)) & 0xff) !== 0) sgis |= 1 << (k * 4 + b);
      }
      pend = (pend & 0xffff0000) | sgis;
    }
    const grp = w[bankWord(L.BM_GROUP, cpu, irq0)]!;
    let cand = en & pend & ~w[bankWord(L.BM_ACTIVE, cpu, irq0)]! & ((groups & 1 ? ~grp : 0) | (groups & 2 ? grp : 0));
    if (n - irq0 < 32) cand &= (1 << (n - irq0)) - 1;
    while (cand !== 0) {
      const irq = irq0 + 31 - Math.clz32(cand & -cand);
      cand &= cand - 1;
      if (irq >= 32 && config.cpus > 1 && ((byteAt(w, L.TARGETS + irq) >>> cpu) & 1) === 0) continue;
      const p = priorityOf(w, cpu, irq);
      if (p < bestPrio) { bestPrio = p; best = irq; }
    }
  }
  return best < 0 ? -1 : best | (bestPrio << 16);
}

/** Whether GICC_CTLR of `cpu` enables the group of `irq` (4.4.1: the
 *  EnableGrp bits enable signalling by the CPU interface). A head of a
 *  disabled group is neither signalled nor acknowledged nor reported (4.4.4:
 *  1023 while signalling is disabled); no interrupt of the other group is
 *  chosen in its place. Arm's GICv3 descriptions of the GICv2-compatible
 *  GICC_HPPIR/AHPPIR state it for the head of a group the distributor
 *  enables; QEMU's GICv3 gates HPPIR, IAR and preemption this way
 *  (hw/intc/arm_gicv3_cpuif.c, icc_no_enabled_hppi; commit 44e25fbc19). */
function signalled(w: Uint32Array, cpu: number, irq: number): boolean {
  return ((w[cpuWord(cpu, L.C_CTLR)]! >>> (bit(w, L.BM_GROUP, cpu, irq) ? 1 : 0)) & 1) === 1;
}

/** The group priority of `irq` on `cpu` under its binary points (3.3). */
function physicalGroupPriority(w: Uint32Array, cpu: number, irq: number, prio: number): number {
  return groupPriority(prio, bit(w, L.BM_GROUP, cpu, irq), (w[cpuWord(cpu, L.C_CTLR)]! & 0x10) !== 0,
    w[cpuWord(cpu, L.C_BPR)]!, w[cpuWord(cpu, L.C_ABPR)]!);
}

/**
 * The interrupt ID (without the SGI source, which may be any pending one)
 * or special ID a GICC_IAR (`alias`: GICC_AIAR) read returns in state `w`
 * (4.4.4): the head is of a group GICC_CTLR enables (`signalled`), beats
 * GICC_PMR (3.3) and, by group priority, the running priority (`preempt`);
 * without the Security Extensions GICC_AIAR
 * acknowledges Group 1 only and reads 1023 for a Group 0 head, and
 * GICC_IAR reads 1022 for a Group 1 head unless AckCtl. With `preempt`
 * false it is what GICC_HPPIR/AHPPIR read (4.4.8): the highest pending
 * interrupt whether or not it could preempt, still under the priority mask,
 * as QEMU's GIC records it for HPPIR (hw/intc/arm_gic.c, gic_update_internal
 * sets current_pending only below the mask).
 */
export function expectedPhysicalAck(w: Uint32Array, config: GicConfig, cpu: number, alias: boolean, preempt: boolean): number {
  const h = physicalHead(w, config, cpu);
  if (h < 0) return SPURIOUS;
  const irq = h & 0xffff;
  const prio = h >>> 16;
  if (!signalled(w, cpu, irq)) return SPURIOUS;
  if (prio >= w[cpuWord(cpu, L.C_PMR)]!) return SPURIOUS;
  if (preempt && physicalGroupPriority(w, cpu, irq, prio) >= w[cpuWord(cpu, L.C_RPR)]!) return SPURIOUS;
  const grp1 = bit(w, L.BM_GROUP, cpu, irq);
  if (alias) return grp1 ? irq : SPURIOUS;
  return grp1 && (w[cpuWord(cpu, L.C_CTLR)]! & 4) === 0 ? 1022 : irq;
}

/** What nIRQ (LINE_IRQ) and nFIQ (LINE_FIQ) of `cpu` must be in state `w`:
 *  the head signalled when its group is enabled in GICC_CTLR and it beats
 *  GICC_PMR and the running priority,
 *  as FIQ when it is Group 0 and GICC_CTLR.FIQEn is set (3.3, 4.4.1). */
export function expectedPhysicalLines(w: Uint32Array, config: GicConfig, cpu: number): number {
  const h = physicalHead(w, config, cpu);
  if (h < 0) return 0;
  const irq = h & 0xffff;
  const prio = h >>> 16;
  if (!signalled(w, cpu, irq)) return 0;
  if (prio >= w[cpuWord(cpu, L.C_PMR)]!) return 0;
  if (physicalGroupPriority(w, cpu, irq, prio) >= w[cpuWord(cpu, L.C_RPR)]!) return 0;
  return !bit(w, L.BM_GROUP, cpu, irq) && (w[cpuWord(cpu, L.C_CTLR)]! & 8) !== 0 ? L.LINE_FIQ : L.LINE_IRQ;
}

// ---- virtual selection

/** The ID a virtual acknowledge reports for a list register: a software SGI
 *  carries its source CPU in bits [12:10] (5.3.11). */
function reportedId(lr: number): number {
  const vid = lr & 0x3ff;
  return (lr & LR_HW) === 0 && vid < 16 ? vid | (lr & 0x1c00) : vid;
}

/**
 * What a GICV_IAR (`alias`: GICV_AIAR) read may return in state `w`, one
 * value per list register tied for the highest priority (the choice among
 * equals is the implementation's), into `out`. 5.3.2: nothing while
 * GICH_HCR.En is 0; the candidates are the pending (not pending and active)
 * entries of a group GICV_CTLR enables; the head must beat VMPriMask and,
 * with `preempt`, by group priority the running priority GICH_APR gives
 * (5.3.5); the group rules are GICC_IAR's. With `preempt` false it is what
 * GICV_HPPIR/AHPPIR read.
 */
export function expectedVirtualAcks(w: Uint32Array, config: GicConfig, cpu: number, alias: boolean, preempt: boolean,
  out: number[] = []): number[] {
  out.length = 0;
  if ((w[vifWord(cpu, L.V_HCR)]! & 1) === 0) { out.push(SPURIOUS); return out; }
  const vmcr = w[vifWord(cpu, L.V_VMCR)]!;
  const apr = w[vifWord(cpu, L.V_APR)]!;
  const running = apr === 0 ? 0x100 : (31 - Math.clz32(apr & -apr)) << 3;
  const mask = (vmcr >>> 27) << 3;
  const best = bestListPriority(w, config, cpu, vmcr);
  if (best < 0) { out.push(SPURIOUS); return out; }
  const lr0 = vifWord(cpu, L.V_LR);
  for (let i = 0; i < config.listRegisters; i++) {
    const lr = w[lr0 + i]!;
    if (!eligible(lr, vmcr) || lrPriority(lr) !== best) continue;
    const grp1 = (lr & LR_GRP1) !== 0;
    let id: number;
    if (best >= mask) id = SPURIOUS;
    else if (preempt && groupPriority(best, grp1, (vmcr & 0x10) !== 0, (vmcr >>> 21) & 7, (vmcr >>> 18) & 7) >= running) id = SPURIOUS;
    else if (alias) id = grp1 ? reportedId(lr) : SPURIOUS;
    else id = grp1 && (vmcr & 4) === 0 ? 1022 : reportedId(lr);
    if (!out.includes(id)) out.push(id);
  }
  return out;
}

const lrPriority = (lr: number) => ((lr >>> 23) & 0x1f) << 3;
/** A pending (01) entry of a group GICH_VMCR enables. An entry of a
 *  disabled group is not a candidate at all, so one of the other group may
 *  be the head: Arm's GICv3 pseudocode for the virtual interface
 *  (HighestPriorityVirtualInterrupt; QEMU hw/intc/arm_gicv3_cpuif.c,
 *  hppvi_index) skips it, unlike the physical interface (`signalled`). */
const eligible = (lr: number, vmcr: number) => ((lr >>> 28) & 3) === 1 && (vmcr & (lr & LR_GRP1 ? 2 : 1)) !== 0;

function bestListPriority(w: Uint32Array, config: GicConfig, cpu: number, vmcr: number): number {
  const lr0 = vifWord(cpu, L.V_LR);
  let best = -1;
  for (let i = 0; i < config.listRegisters; i++) {
    const lr = w[lr0 + i]!;
    if (eligible(lr, vmcr) && (best < 0 || lrPriority(lr) < best)) best = lrPriority(lr);
  }
  return best;
}

/** The values vIRQ/vFIQ of `cpu` may take in state `w`, as a set: bit 0
 *  neither, bit 1 vIRQ, bit 2 vFIQ (one per tied head). A virtual interrupt
 *  is signalled while GICH_HCR.En is set and the head beats VMPriMask and
 *  the running priority; Group 0 as vFIQ when VMFIQEn (5.3.2, 5.3.3). */
export function expectedVirtualLines(w: Uint32Array, config: GicConfig, cpu: number): number {
  if ((w[vifWord(cpu, L.V_HCR)]! & 1) === 0) return 1;
  const vmcr = w[vifWord(cpu, L.V_VMCR)]!;
  const best = bestListPriority(w, config, cpu, vmcr);
  if (best < 0 || best >= (vmcr >>> 27) << 3) return 1;
  const apr = w[vifWord(cpu, L.V_APR)]!;
  const running = apr === 0 ? 0x100 : (31 - Math.clz32(apr & -apr)) << 3;
  const lr0 = vifWord(cpu, L.V_LR);
  let set = 0;
  for (let i = 0; i < config.listRegisters; i++) {
    const lr = w[lr0 + i]!;
    if (!eligible(lr, vmcr) || lrPriority(lr) !== best) continue;
    const grp1 = (lr & LR_GRP1) !== 0;
    if (groupPriority(best, grp1, (vmcr & 0x10) !== 0, (vmcr >>> 21) & 7, (vmcr >>> 18) & 7) >= running) set |= 1;
    else set |= !grp1 && (vmcr & 8) !== 0 ? 4 : 2;
  }
  return set;
}

const LINE_NAMES = ["nIRQ", "nFIQ", "vIRQ", "vFIQ"];
function lineNames(lines: number): string {
  const names = LINE_NAMES.filter((_, k) => (lines >>> k) & 1);
  return names.length ? names.join("+") : "none";
}

/** output-lines for one CPU: `got` is what the harness reads (LINE_* bits). */
export function checkLines(w: Uint32Array, config: GicConfig, cpu: number, got: number, physical = true): Violation | null {
  const phys = physical ? expectedPhysicalLines(w, config, cpu) : got & 3;
  const vset = expectedVirtualLines(w, config, cpu);
  const gv = got & (L.LINE_VIRQ | L.LINE_VFIQ);
  const key = gv === 0 ? 1 : gv === L.LINE_VIRQ ? 2 : gv === L.LINE_VFIQ ? 4 : 0;
  if ((got & 3) === phys && (vset & key) !== 0) return null;
  const wantV = [1, 2, 4].filter((k) => vset & k).map((k) => (k === 1 ? "none" : k === 2 ? "vIRQ" : "vFIQ")).join(" or ");
  const vb = vifWord(cpu, 0);
  return v("output-lines", `CPU ${cpu}: lines ${lineNames(got & 0xf)}; the state gives physical ${lineNames(phys)}, virtual ${wantV} ` +
    `(head ${headText(w, config, cpu)}, PMR ${hex(w[cpuWord(cpu, L.C_PMR)]!)}, RPR ${hex(w[cpuWord(cpu, L.C_RPR)]!)}, ` +
    `GICC_CTLR ${hex(w[cpuWord(cpu, L.C_CTLR)]!)}; GICH_HCR ${hex(w[vb + (L.V_HCR >> 2)]!)}, GICH_VMCR ${hex(w[vb + (L.V_VMCR >> 2)]!)}, ` +
    `GICH_APR ${hex(w[vb + (L.V_APR >> 2)]!)})`);
}

function headText(w: Uint32Array, config: GicConfig, cpu: number): string {
  const h = physicalHead(w, config, cpu);
  return h < 0 ? "none" : `${hex(h & 0xffff)} at priority ${hex(h >>> 16)}`;
}

// ---- checks of single reads

/** iar-not-highest / iar-spurious: a GICC_IAR or GICC_AIAR result `id`
 *  against the state `pre` before the read. */
export function checkAckChoice(pre: Uint32Array, config: GicConfig, cpu: number, id: number, alias: boolean): Violation | null {
  const want = expectedPhysicalAck(pre, config, cpu, alias, true);
  const irq = id & 0x3ff;
  if (irq === want && (irq < 1020 || id === irq)) return null;
  const reg = alias ? "GICC_AIAR" : "GICC_IAR";
  const why = `expected ${hex(want)}: head ${headText(pre, config, cpu)}, PMR ${hex(pre[cpuWord(cpu, L.C_PMR)]!)}, ` +
    `RPR ${hex(pre[cpuWord(cpu, L.C_RPR)]!)}, GICC_CTLR ${hex(pre[cpuWord(cpu, L.C_CTLR)]!)}`;
  return v(irq >= 1020 ? "iar-spurious" : "iar-not-highest", `CPU ${cpu}: ${reg} returned ${hex(id)} (${why})`);
}

/** viar-spurious (and viar-not-highest for an ID among the wrong ties): a
 *  GICV_IAR or GICV_AIAR result `id` against the state `pre` before it. */
export function checkVirtualAckChoice(pre: Uint32Array, config: GicConfig, cpu: number, id: number, alias: boolean): Violation | null {
  const want = expectedVirtualAcks(pre, config, cpu, alias, true);
  if (want.includes(id)) return null;
  const vb = vifWord(cpu, 0);
  const message = `CPU ${cpu}: ${alias ? "GICV_AIAR" : "GICV_IAR"} returned ${hex(id)} (expected ${want.map(hex).join(" or ")}: ` +
    `GICH_HCR ${hex(pre[vb + (L.V_HCR >> 2)]!)}, GICH_VMCR ${hex(pre[vb + (L.V_VMCR >> 2)]!)}, GICH_APR ${hex(pre[vb + (L.V_APR >> 2)]!)})`;
  return { invariant: (id & 0x3ff) >= 1020 ? "viar-spurious" : "viar-not-highest", message };
}

/** hppir: a GICC_HPPIR/AHPPIR (`frame` 1) or GICV_HPPIR/AHPPIR (3) result
 *  against the state `w` (the read changes nothing). For an SGI the source
 *  reported must be one that has it pending (4.4.8). */
export function checkHighestPending(w: Uint32Array, config: GicConfig, cpu: number, frame: number, alias: boolean,
  id: number): Violation | null {
  const reg = `${frame === 1 ? "GICC" : "GICV"}_${alias ? "AHPPIR" : "HPPIR"}`;
  if (frame === 3) {
    const want = expectedVirtualAcks(w, config, cpu, alias, false);
    if (want.includes(id)) return null;
    return v("hppir", `CPU ${cpu}: ${reg} read ${hex(id)}, expected ${want.map(hex).join(" or ")}`);
  }
  const want = expectedPhysicalAck(w, config, cpu, alias, false);
  const irq = id & 0x3ff;
  const src = id >>> 10;
  const ok = irq === want && (irq >= 16 ? src === 0 : src < 8 && ((byteAt(w, L.SGI_SRC + cpu * 16 + irq) >>> src) & 1) === 1);
  if (ok) return null;
  return v("hppir", `CPU ${cpu}: ${reg} read ${hex(id)}, expected ${hex(want)}${want < 16 ? " from a pending source" : ""} ` +
    `(head ${headText(w, config, cpu)}, PMR ${hex(w[cpuWord(cpu, L.C_PMR)]!)}, GICC_CTLR ${hex(w[cpuWord(cpu, L.C_CTLR)]!)})`);
}

/** hw-deactivate: a GICV_EOIR/AEOIR (`dir` false) or GICV_DIR write of
 *  `value`, with the state before (`pre`) and after (`post`) it. Only the
 *  list registers the write retired are judged; which one it should retire
 *  is the storage reference's concern. */
export function checkHwDeactivate(pre: Uint32Array, post: Uint32Array, config: GicConfig, cpu: number, value: number,
  dir: boolean): Violation | null {
  const vid = value & 0x3ff;
  if (vid >= 1020) return null;
  // 5.4 / 4.4.15 for the virtual CPU interface: with VEM 0 an EOI
  // deactivates, with VEM 1 only GICV_DIR does
  const vem = (pre[vifWord(cpu, L.V_VMCR)]! & 0x200) !== 0;
  if (dir !== vem) return null;
  const lr0 = vifWord(cpu, L.V_LR);
  for (let i = 0; i < config.listRegisters; i++) {
    const lr = pre[lr0 + i]!;
    if ((lr & (LR_HW | LR_ACTIVE)) !== (LR_HW | LR_ACTIVE) || (lr & 0x3ff) !== vid) continue;
    if ((post[lr0 + i]! & LR_ACTIVE) !== 0) continue;
    // 5.3.11: a PhysicalID of an SGI or a special ID is UNPREDICTABLE
    const pid = (lr >>> 10) & 0x3ff;
    if (pid < 16 || pid >= Math.min(config.irqs, 1020)) continue;
    if (bit(post, L.BM_ACTIVE, cpu, pid)) {
      return v("hw-deactivate", `CPU ${cpu}: ${dir ? "GICV_DIR" : "GICV_EOIR"} of ${vid} retired LR${i} (${hex(lr)}, HW) ` +
        `but physical interrupt ${pid} is still active`);
    }
  }
  return null;
}

// ---- the running priority and the EOI/DIR effects

/** Per CPU: the acknowledged interrupts not yet EOId, newest last, each
 *  packed as ID (with SGI source) | group priority << 16; whether that
 *  record is trusted; and the IDs whose priority an EOI dropped with
 *  EOImode 1, awaiting GICC_DIR. */
interface Track { known: boolean; acks: number[]; dropped: Set<number> }

export class CpuInterfaceReference {
  private readonly t: Track[];

  /** `w`: the model's state when the reference is made. */
  constructor(config: GicConfig, w: Uint32Array) {
    this.t = Array.from({ length: config.cpus }, (_, cpu) => ({ known: idle(w, cpu), acks: [], dropped: new Set<number>() }));
  }

  /** The running priority of `cpu` the operations give (0x100 idle), or -1 while not tracked. */
  running(cpu: number): number {
    const t = this.t[cpu]!;
    if (!t.known) return -1;
    let r = 0x100;
    for (const a of t.acks) r = Math.min(r, a >>> 16);
    return r;
  }

  /** A GICC_IAR/AIAR read returned `id`; `pre` is the state before it. */
  acknowledged(cpu: number, id: number, pre: Uint32Array): void {
    const irq = id & 0x3ff;
    if (irq >= 1020) return;
    const t = this.t[cpu]!;
    t.dropped.delete(id & 0x1fff);
    if (t.known) t.acks.push((id & 0x1fff) | (physicalGroupPriority(pre, cpu, irq, priorityOf(pre, cpu, irq)) << 16));
  }

  /** GICC_APR was written: its format is IMPLEMENTATION DEFINED (4.4.14). */
  prioritiesWritten(cpu: number): void {
    const t = this.t[cpu]!;
    t.known = false;
    t.acks.length = 0;
  }

  /**
   * eoi-deactivate for a GICC_EOIR (`alias`: GICC_AEOIR) write of `value`.
   * Judged only when it names the most recently acknowledged interrupt not
   * yet EOId, through the register of its group (EOIR: Group 0, or Group 1
   * with AckCtl; AEOIR: Group 1); any other EOI is UNPREDICTABLE (4.4.5)
   * and suspends the tracking.
   */
  eoi(cpu: number, value: number, alias: boolean, pre: Uint32Array, post: Uint32Array): Violation | null {
    const irq = value & 0x3ff;
    if (irq >= 1020) return null; // special IDs: no effect (4.4.5); the no-effect invariant judges it
    const t = this.t[cpu]!;
    const id = value & 0x1fff;
    const top = t.acks.length > 0 ? t.acks[t.acks.length - 1]! : -1;
    const grp1 = bit(pre, L.BM_GROUP, cpu, irq);
    const ctlr = pre[cpuWord(cpu, L.C_CTLR)]!;
    const viaGroup = alias ? grp1 : !grp1 || (ctlr & 4) !== 0;
    if (!t.known || top < 0 || (top & 0x1fff) !== id || !viaGroup) {
      // with nothing acknowledged there is no priority to drop: still tracked
      if (!t.known || top >= 0) this.prioritiesWritten(cpu);
      return null;
    }
    t.acks.pop();
    const reg = alias ? "GICC_AEOIR" : "GICC_EOIR";
    const was = bit(pre, L.BM_ACTIVE, cpu, irq);
    const now = bit(post, L.BM_ACTIVE, cpu, irq);
    if ((ctlr & 0x200) === 0) {
      if (now) return v("eoi-deactivate", `CPU ${cpu}: ${reg} of ${hex(id)} with EOImode 0 left interrupt ${irq} active`);
      return null;
    }
    if (was && !now) return v("eoi-deactivate", `CPU ${cpu}: ${reg} of ${hex(id)} with EOImode 1 deactivated interrupt ${irq}; only GICC_DIR may`);
    t.dropped.add(id);
    return null;
  }

  /** eoi-deactivate for a GICC_DIR write of `value`: judged with EOImode 1
   *  (with 0 it is UNPREDICTABLE, 4.4.15) for an interrupt whose priority a
   *  judged EOI dropped. */
  deactivate(cpu: number, value: number, pre: Uint32Array, post: Uint32Array): Violation | null {
    const irq = value & 0x3ff;
    if (irq >= 1020 || (pre[cpuWord(cpu, L.C_CTLR)]! & 0x200) === 0) return null;
    const t = this.t[cpu]!;
    if (!t.dropped.delete(value & 0x1fff)) return null;
    if (!bit(post, L.BM_ACTIVE, cpu, irq)) return null;
    return v("eoi-deactivate", `CPU ${cpu}: GICC_DIR of ${hex(value & 0x1fff)} with EOImode 1 left interrupt ${irq} active`);
  }

  /** running-priority after any operation by `cpu`, against the model's
   *  running priority in `w`; resumes the tracking once the model has no
   *  active priority left. `after` names what the check follows, for the message. */
  check(cpu: number, w: Uint32Array, after: () => string): Violation | null {
    const t = this.t[cpu]!;
    if (!t.known) {
      if (idle(w, cpu)) { t.known = true; t.acks.length = 0; }
      return null;
    }
    const want = this.running(cpu);
    const got = w[cpuWord(cpu, L.C_RPR)]!;
    if (got === want) return null;
    return v("running-priority", `CPU ${cpu}: running priority ${rprText(got)} after ${after()}, expected ${rprText(want)} ` +
      `(acknowledged, not EOId: ${t.acks.map((a) => `${hex(a & 0x1fff)} at ${hex(a >>> 16)}`).join(", ") || "none"})`);
  }

  /** running-priority for a GICC_RPR read: 0xff when idle (4.4.6). */
  checkRead(cpu: number, value: number): Violation | null {
    const want = this.running(cpu);
    if (want < 0 || value === Math.min(want, 0xff)) return null;
    return v("running-priority", `CPU ${cpu}: GICC_RPR read ${hex(value)}, expected ${hex(Math.min(want, 0xff))}`);
  }
}

/** vrunning-priority for a GICV_RPR read: the virtual interface has 32
 *  priority levels (GICH_VTR.PRIbits 4), and GICH_APR bit n stands for
 *  group priority n << 3 (IHI 0048B 5.3.5); no bit set reads 0xff, as
 *  GICC_RPR does when idle (4.4.6). */
export function checkVirtualRunning(w: Uint32Array, cpu: number, value: number): Violation | null {
  const apr = w[vifWord(cpu, L.V_APR)]!;
  const want = apr === 0 ? 0xff : (31 - Math.clz32(apr & -apr)) << 3;
  if (value === want) return null;
  return v("vrunning-priority", `CPU ${cpu}: GICV_RPR read ${hex(value)}, expected ${hex(want)} (GICH_APR ${hex(apr)})`);
}

const rprText = (r: number) => (r >= 0x100 ? "idle" : hex(r));

/** No active priority in the model's GICC_APR words (host/hw/layout.ts C_APR). */
function idle(w: Uint32Array, cpu: number): boolean {
  const a = cpuWord(cpu, L.C_APR);
  return (w[a]! | w[a + 1]! | w[a + 2]! | w[a + 3]!) === 0;
}
