// Reading the GIC model's state from an image of its linear memory (the
// offsets of host/hw/layout.ts), shared by the invariants and the CPU
// interface oracle. Each helper is a few loads; none calls into the model.

import * as L from "../hw/layout.ts";

/** Word index of the bitmap word holding `irq` as `cpu` sees it (IDs 0-31 banked). */
export const bankWord = (bm: number, cpu: number, irq: number) =>
  ((irq >>> 5) === 0 ? bm + cpu * 4 : bm + L.BM_BANK_BYTES + (irq >>> 5) * 4) >> 2;
export const bit = (w: Uint32Array, bm: number, cpu: number, irq: number) => ((w[bankWord(bm, cpu, irq)]! >>> (irq & 31)) & 1) === 1;
export const byteAt = (w: Uint32Array, addr: number) => (w[addr >> 2]! >>> ((addr & 3) * 8)) & 0xff;
/** The priority byte of `irq` as `cpu` sees it (IDs 0-31 banked, 4.3.11). */
export const priorityOf = (w: Uint32Array, cpu: number, irq: number) =>
  irq < 32 ? byteAt(w, L.PRIO_BANKED + cpu * 32 + irq) : byteAt(w, L.PRIO_SHARED + irq);
/** Word index of a CPU interface field (L.C_*) of `cpu`. */
export const cpuWord = (cpu: number, field: number) => (L.CPU_BASE + cpu * L.CPU_STRIDE + field) >> 2;
/** Word index of a virtual interface field (L.V_*) of `cpu`. */
export const vifWord = (cpu: number, field: number) => (L.VIF_BASE + cpu * L.VIF_STRIDE + field) >> 2;

/** The group priority used for preemption (3.3.3): BPR for Group 0 and for
 *  Group 1 with CBPR, else ABPR (one more than the equivalent BPR). */
export function groupPriority(prio: number, grp1: boolean, cbpr: boolean, bpr: number, abpr: number): number {
  if (grp1 && !cbpr) return prio & ((0xff << abpr) & 0xff);
  return prio & ((0xff << (bpr + 1)) & 0xff);
}

export const hex = (v: number) => "0x" + (v >>> 0).toString(16);
