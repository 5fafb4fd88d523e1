// Shared by the GICH and GICV specification tests.
import { Gic, type GicConfig } from "../host/hw/gic.ts";
import { GICH, LrState, encodeLr, type ListRegister } from "../host/hw/regs.ts";

/** Offset of GICH_LRn. */
export const LR = (n: number) => GICH.LR + 4 * n;

/** A list register value: a pending Group 0 software interrupt unless overridden. */
export function lr(p: Partial<ListRegister>): number {
  return encodeLr({
    virtualId: 0, physicalId: 0, eoi: false, priority: 0x80, state: LrState.Pending,
    group1: false, hw: false, ...p,
  });
}

export function make(c: Partial<GicConfig> = {}): Gic {
  return Gic.create(c);
}
