// The raw i32 ABI of the GIC model. One instance models the whole physical
// GIC of one machine. Nothing here traps on bad input: a bad configuration is
// refused with an error code, a bad access is answered as the architecture
// says and counted, a bad CPU number is counted in G_BAD_CPU.

import {
  CFG_CPU_MASK, CFG_DELAY, CFG_FLAGS, CFG_GICC_BASE, CFG_GICD_BASE, CFG_GICH_BASE,
  CFG_GICV_BASE, CFG_NCPU, CFG_NIRQ, CFG_NLR, CFG_PRIO_BITS, CFG_PRIO_MASK,
  C_LINES_VIS, G_ACCESSES, G_BAD_CPU, G_LINES_SEQ, G_NOW, G_STATUS, MAX_CPUS,
  MAX_LRS, STATE_END,
} from "./layout";
import { cpuBlock, ncpu, nirq, refreshAll, resetDistributor, setLine as lineChange } from "./state";
import { advanceTo, resetCpuInterfaces, settleAll } from "./cpuif";
import { resetVirtualInterfaces } from "./vif";
import { buildDecoder, decodedRead, decodedWrite } from "./decode";

export * from "./layout";

// configure() results
export const CONFIG_OK: i32 = 0;
export const CONFIG_BAD_CPUS: i32 = 1;
export const CONFIG_BAD_IRQS: i32 = 2;
export const CONFIG_BAD_PRIO_BITS: i32 = 3;
export const CONFIG_BAD_LRS: i32 = 4;
export const CONFIG_BAD_FRAMES: i32 = 5;

/** Set the configuration and reset. `nirq` is a multiple of 32 up to 992, or
 *  1020 (the architectural maximum, IHI 0048B 2.2.1). Frame bases must be
 *  64 KiB aligned and must not overlap. */
export function configure(cpus: u32, irqs: u32, prioBits: u32, lrs: u32, flags: u32, delay: u32,
  gicd: u32, gicc: u32, gich: u32, gicv: u32, gicdIidr: u32, gicIidr: u32): i32 {
  if (cpus < 1 || cpus > MAX_CPUS) return CONFIG_BAD_CPUS;
  if (irqs < 32 || irqs > 1020 || (irqs % 32 != 0 && irqs != 1020)) return CONFIG_BAD_IRQS;
  if (prioBits < 4 || prioBits > 8) return CONFIG_BAD_PRIO_BITS;
  if (lrs < 1 || lrs > MAX_LRS) return CONFIG_BAD_LRS;
  const bases: StaticArray<u32> = [gicd, gicc, gich, gicv];
  for (let i = 0; i < 4; i++) {
    if ((bases[i] & 0xffff) != 0 || bases[i] > 0xfffe0000) return CONFIG_BAD_FRAMES;
    for (let j = 0; j < i; j++) if (bases[i] == bases[j]) return CONFIG_BAD_FRAMES;
  }
  store<u32>(CFG_NCPU, cpus);
  store<u32>(CFG_NIRQ, irqs);
  store<u32>(CFG_PRIO_BITS, prioBits);
  store<u32>(CFG_PRIO_MASK, (0xff << (8 - prioBits)) & 0xff);
  store<u32>(CFG_CPU_MASK, (1 << cpus) - 1);
  store<u32>(CFG_NLR, lrs);
  store<u32>(CFG_FLAGS, flags);
  store<u32>(CFG_DELAY, delay);
  store<u32>(CFG_GICD_BASE, gicd);
  store<u32>(CFG_GICC_BASE, gicc);
  store<u32>(CFG_GICH_BASE, gich);
  store<u32>(CFG_GICV_BASE, gicv);
  buildDecoder(gicdIidr, gicIidr);
  reset();
  return CONFIG_OK;
}

/** Architectural reset of every frame; the configuration stays. */
export function reset(): void {
  memory.fill(G_NOW, 0, 0x500 - G_NOW);
  resetDistributor();
  resetCpuInterfaces();
  resetVirtualInterfaces();
  refreshAll();
  settleAll();
}

@inline function validCpu(cpu: u32): bool {
  // CFG_NCPU is zero until configure(): memory starts zeroed
  if (cpu < ncpu()) return true;
  store<u32>(G_BAD_CPU, load<u32>(G_BAD_CPU) + 1);
  return false;
}

/** Read `size` (1, 2 or 4) bytes at physical address `addr` as CPU `cpu`. */
export function mmioRead(cpu: u32, addr: u32, size: u32): u32 {
  if (!validCpu(cpu)) return 0;
  const v = decodedRead(cpu, addr, size);
  settleAll();
  return v;
}

/** Write; returns the access status (ACCESS_* in layout.ts). */
export function mmioWrite(cpu: u32, addr: u32, value: u32, size: u32): u32 {
  if (!validCpu(cpu)) return 0xff;
  const status = decodedWrite(cpu, addr, value, size);
  settleAll();
  return status;
}

/** Drive an input line. SPIs (32+) ignore `cpu`; PPIs (16-31) are per CPU;
 *  SGIs have no line. Returns 0, or 1 for an ID with no input line. */
export function setLine(irq: u32, level: u32, cpu: u32): u32 {
  if (irq < 16 || irq >= nirq() || irq >= 1020) return 1;
  if (irq < 32 && !validCpu(cpu)) return 1;
  lineChange(irq < 32 ? cpu : 0, irq, level != 0);
  settleAll();
  return 0;
}

/** Output lines of a CPU as it sees them now (LINE_* bits). */
export function lines(cpu: u32): u32 {
  if (!validCpu(cpu)) return 0;
  return load<u32>(cpuBlock(cpu) + C_LINES_VIS);
}

/** Advance the model's cycle clock; delayed line changes due by then appear. */
export function setTime(now: f64): void {
  advanceTo(now);
}

/** Status of the last register access. */
export function lastStatus(): u32 { return load<u32>(G_STATUS); }
export function linesSeq(): u32 { return load<u32>(G_LINES_SEQ); }
export function accesses(): u32 { return load<u32>(G_ACCESSES); }
export function stateEnd(): u32 { return STATE_END; }


