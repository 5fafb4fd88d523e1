// Accessors over the fixed layout, and the interrupt state machine of the
// distributor: pending/active per interrupt (banked per CPU for IDs 0-31),
// the candidate bitmaps that make highest-pending selection cheap, and the
// dirty flags that say which CPU interface must recompute its outputs.

import {
  BM_ACTIVE, BM_BANK_BYTES, BM_EDGE, BM_ENABLE, BM_GROUP, BM_LEVEL, BM_PEND,
  CAND, CAND_SUM, CFG_CPU_MASK, CFG_FLAGS, CFG_NCPU, CFG_NIRQ, CFG_PRIO_MASK,
  CPU_BASE, CPU_STRIDE, FLAG_SGI_ALWAYS_ENABLED, G_DIRTY, G_DIST_CTLR,
  PRIO_BANKED, PRIO_SHARED, SGI_SRC, TARGETS, VIF_BASE, VIF_STRIDE,
} from "./layout";

// ---- configuration
@inline export function ncpu(): u32 { return load<u32>(CFG_NCPU); }
@inline export function nirq(): u32 { return load<u32>(CFG_NIRQ); }
@inline export function cpuMask(): u32 { return load<u32>(CFG_CPU_MASK); }
@inline export function prioMask(): u32 { return load<u32>(CFG_PRIO_MASK); }
@inline export function flag(f: u32): bool { return (load<u32>(CFG_FLAGS) & f) != 0; }

@inline export function cpuBlock(cpu: u32): u32 { return CPU_BASE + cpu * CPU_STRIDE; }
@inline export function vifBlock(cpu: u32): u32 { return VIF_BASE + cpu * VIF_STRIDE; }

// ---- banked bitmaps
/** Address of the 32-bit word holding IDs [32w, 32w+31] as seen by `cpu`. */
@inline export function bmWord(bm: u32, cpu: u32, w: u32): u32 {
  return w == 0 ? bm + (cpu << 2) : bm + BM_BANK_BYTES + (w << 2);
}
@inline export function bmTest(bm: u32, cpu: u32, irq: u32): bool {
  return ((load<u32>(bmWord(bm, cpu, irq >> 5)) >> (irq & 31)) & 1) != 0;
}
@inline export function bmSet(bm: u32, cpu: u32, irq: u32, on: bool): void {
  const a = bmWord(bm, cpu, irq >> 5);
  const bit: u32 = 1 << (irq & 31);
  const w = load<u32>(a);
  store<u32>(a, on ? w | bit : w & ~bit);
}

// ---- per-interrupt fields
@inline export function prioAddr(cpu: u32, irq: u32): u32 {
  return irq < 32 ? PRIO_BANKED + (cpu << 5) + irq : PRIO_SHARED + irq;
}
@inline export function priority(cpu: u32, irq: u32): u32 { return load<u8>(prioAddr(cpu, irq)); }
@inline export function targets(irq: u32): u32 { return load<u8>(TARGETS + irq); }
@inline export function sgiSources(cpu: u32, sgi: u32): u32 { return load<u8>(SGI_SRC + (cpu << 4) + sgi); }
@inline export function setSgiSources(cpu: u32, sgi: u32, src: u32): void {
  store<u8>(SGI_SRC + (cpu << 4) + sgi, <u8>src);
  bmSet(BM_PEND, cpu, sgi, src != 0);
}

export function isEnabled(cpu: u32, irq: u32): bool {
  if (irq < 16 && flag(FLAG_SGI_ALWAYS_ENABLED)) return true;
  return bmTest(BM_ENABLE, cpu, irq);
}

/** IHI 0048B 3.2.4, 4.3.7: a level-sensitive interrupt is pending while its
 *  line is asserted or while a latched pending (ISPENDR) is set. */
@inline export function isPending(cpu: u32, irq: u32): bool {
  const w = irq >> 5;
  const bit: u32 = 1 << (irq & 31);
  const latched = load<u32>(bmWord(BM_PEND, cpu, w));
  const level = load<u32>(bmWord(BM_LEVEL, cpu, w)) & ~load<u32>(bmWord(BM_EDGE, cpu, w));
  return ((latched | level) & bit) != 0;
}

/** Word of pending bits as ISPENDR/ICPENDR read them. */
@inline export function pendingWord(cpu: u32, w: u32): u32 {
  return load<u32>(bmWord(BM_PEND, cpu, w)) |
    (load<u32>(bmWord(BM_LEVEL, cpu, w)) & ~load<u32>(bmWord(BM_EDGE, cpu, w)));
}

// ---- candidates and dirty CPUs

@inline export function markDirty(cpu: u32): void {
  store<u32>(G_DIRTY, load<u32>(G_DIRTY) | (1 << cpu));
}
@inline export function markVirtualDirty(cpu: u32): void {
  store<u32>(G_DIRTY, load<u32>(G_DIRTY) | (0x100 << cpu));
}
@inline export function isDirty(cpu: u32): bool { return (load<u32>(G_DIRTY) & (1 << cpu)) != 0; }
@inline export function isVirtualDirty(cpu: u32): bool { return (load<u32>(G_DIRTY) & (0x100 << cpu)) != 0; }
@inline export function clearDirty(bits: u32): void { store<u32>(G_DIRTY, load<u32>(G_DIRTY) & ~bits); }

/** Whether `irq` may be signalled to `cpu` by the distributor. IHI 0048B
 *  3.2.3 note: an active interrupt is not signalled again (to any CPU) until
 *  it is deactivated; 1.4.3: an SPI is handled by one CPU only. */
@inline function candidate(cpu: u32, irq: u32): bool {
  const grp: u32 = bmTest(BM_GROUP, cpu, irq) ? 2 : 1;
  if ((load<u32>(G_DIST_CTLR) & grp) == 0) return false;
  if (!isEnabled(cpu, irq) || !isPending(cpu, irq) || bmTest(BM_ACTIVE, cpu, irq)) return false;
  return irq < 32 || (routeMask(irq) & (1 << cpu)) != 0;
}

/** CPUs an SPI is routed to. A uniprocessor GIC reads ITARGETSR as zero
 *  (IHI 0048B 4.3.12) but delivers every SPI to its only CPU. */
@inline export function routeMask(irq: u32): u32 {
  return ncpu() == 1 ? 1 : targets(irq);
}

function setCand(cpu: u32, irq: u32, on: bool): void {
  const w = irq >> 5;
  const a = CAND + (cpu << 7) + (w << 2);
  const bit: u32 = 1 << (irq & 31);
  const old = load<u32>(a);
  const now = on ? old | bit : old & ~bit;
  // A change, or a priority/group change of a standing candidate, dirties the CPU.
  if (now != old || on) markDirty(cpu);
  if (now == old) return;
  store<u32>(a, now);
  const s = CAND_SUM + (cpu << 2);
  const sbit: u32 = 1 << w;
  store<u32>(s, now != 0 ? load<u32>(s) | sbit : load<u32>(s) & ~sbit);
}

/** Recompute the candidate bit of one interrupt. For IDs 0-31 `cpu` names the
 *  bank; for SPIs every CPU is refreshed. */
export function refresh(cpu: u32, irq: u32): void {
  if (irq < 32) {
    setCand(cpu, irq, candidate(cpu, irq));
    return;
  }
  const n = ncpu();
  for (let c: u32 = 0; c < n; c++) setCand(c, irq, candidate(c, irq));
}

/** Recompute every candidate of every CPU (distributor enable changes, reset). */
export function refreshAll(): void {
  const n = ncpu();
  const ni = nirq();
  for (let c: u32 = 0; c < n; c++) {
    for (let irq: u32 = 0; irq < 32; irq++) setCand(c, irq, candidate(c, irq));
    markDirty(c);
  }
  for (let irq: u32 = 32; irq < ni; irq++) refresh(0, irq);
}

/** Highest-priority candidate of `cpu`, of either group the distributor
 *  forwards, as ID | prio << 16, or -1 when none. Ties go to the lowest ID
 *  (IHI 0048B 3.3.3 leaves it IMPLEMENTATION DEFINED). GICC_CTLR's group
 *  enables take no part: they gate what the CPU interface does with this
 *  interrupt (cpuif.ts), they do not pass it over for another. */
export function bestCandidate(cpu: u32): i32 {
  let sum = load<u32>(CAND_SUM + (cpu << 2));
  let best: i32 = -1;
  let bestPrio: u32 = 0x100;
  while (sum != 0) {
    const w = ctz<u32>(sum);
    sum &= sum - 1;
    let bits = load<u32>(CAND + (cpu << 7) + (w << 2));
    while (bits != 0) {
      const irq: u32 = (w << 5) | ctz<u32>(bits);
      bits &= bits - 1;
      const p = priority(cpu, irq);
      if (p < bestPrio) {
        bestPrio = p;
        best = <i32>irq;
      }
    }
  }
  return best < 0 ? -1 : best | <i32>(bestPrio << 16);
}

// ---- state changes with their candidate refresh

export function setActive(cpu: u32, irq: u32, on: bool): void {
  bmSet(BM_ACTIVE, cpu, irq, on);
  refresh(cpu, irq);
}

/** Input line change. IHI 0048B 1.4.2: an edge-triggered interrupt latches
 *  pending on a rising edge; a level-sensitive one is pending while high. */
export function setLine(cpu: u32, irq: u32, high: bool): void {
  const was = bmTest(BM_LEVEL, cpu, irq);
  if (was == high) return;
  bmSet(BM_LEVEL, cpu, irq, high);
  if (high && bmTest(BM_EDGE, cpu, irq)) bmSet(BM_PEND, cpu, irq, true);
  refresh(cpu, irq);
}

export function resetDistributor(): void {
  memory.fill(BM_ENABLE, 0, SGI_SRC + 128 - BM_ENABLE);
  memory.fill(CAND, 0, CAND_SUM + 32 - CAND);
  store<u32>(G_DIST_CTLR, 0);
  const n = ncpu();
  // IHI 0048B 4.3.13: SGIs are edge-triggered (Int_config[1] = 1, read-only).
  for (let c: u32 = 0; c < n; c++) store<u32>(bmWord(BM_EDGE, c, 0), 0x0000ffff);
  // ITARGETSR, IPRIORITYR, IGROUPR, enables, pending and active reset to
  // zero (IHI 0048B 4.3.12: SPI targets reset to 0; routeMask covers the
  // uniprocessor case).
}
