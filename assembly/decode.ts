// Register decode: one table of register descriptors per frame (offset,
// length, bits per interrupt, allowed widths, access kind, read and write
// handlers) and one central check of range, width and alignment before any
// handler runs. Handlers are shared by meaning: one reader serves
// ISENABLER and ICENABLER, one writer serves both with a set/clear flag.

import {
  ACCESS_OK, ACCESS_RO_WRITE, ACCESS_UNALIGNED, ACCESS_UNMAPPED, ACCESS_WIDTH,
  ACCESS_WO_READ, BM_ACTIVE, BM_EDGE, BM_ENABLE, BM_GROUP, BM_PEND, CFG_GICC_BASE,
  CFG_GICD_BASE, CFG_GICH_BASE, CFG_GICV_BASE, C_ABPR, C_APR, C_BAD, C_BPR,
  C_CTLR, C_PMR, C_RPR, DEC_GICC, DEC_GICC_WORDS, DEC_GICD, DEC_GICD_WORDS,
  DEC_GICH, DEC_GICH_WORDS, DEC_GICV, FLAG_PPI_CFG_READONLY, FLAG_SGI_ALWAYS_ENABLED,
  G_ACCESSES, G_DIST_CTLR, G_STATUS, TARGETS, V_APR, V_EISR0, V_EISR1, V_ELRSR0,
  V_ELRSR1, V_HCR, V_LR, V_MISR, V_VMCR,
} from "./layout";
import {
  bmSet, bmTest, bmWord, cpuBlock, cpuMask, flag, markDirty, markVirtualDirty, ncpu, nirq,
  pendingWord, prioAddr, prioMask, refresh, refreshAll, routeMask, setSgiSources, sgiSources,
  vifBlock,
} from "./state";
import {
  acknowledge, deactivateWrite, endOfInterrupt, highestPending, minBpr,
  recomputeRunning, CTLR_WRITABLE,
} from "./cpuif";
import {
  HCR_WRITABLE, VIRT_MIN_BPR, VMCR_ABP_SHIFT, VMCR_BP_SHIFT, VMCR_PRIMASK_SHIFT,
  VMCR_WRITABLE, listRegisterChanged, nlr, virtualAcknowledge, virtualDeactivateWrite,
  virtualEndOfInterrupt, virtualHighestPending, virtualRunning,
} from "./vif";

export type Reader = (cpu: u32, off: u32, size: u32) => u32;
export type Writer = (cpu: u32, off: u32, value: u32, size: u32) => void;

export const FRAME_GICD: u32 = 0;
export const FRAME_GICC: u32 = 1;
export const FRAME_GICH: u32 = 2;
export const FRAME_GICV: u32 = 3;
const FRAME_SIZE: u32 = 0x10000; // 64 KiB per frame, as on the virt board

const W1: u32 = 1;
const W4: u32 = 4;
const RW: u32 = 0;
const RO: u32 = 1;
const WO: u32 = 2;

// ---- the register table (filled by buildDecoder)
// One row is ROW_WORDS words, indexed by the decode-map byte (row + 1, so
// slot 0 is never used): a packed descriptor, then the function-table
// indices of the read and write handlers. Every access reads one row, so it
// is packed into one fixed array rather than six growable ones.
const MAX_ROWS: u32 = 63;
const ROW_WORDS: u32 = 4;
const rows = new StaticArray<u32>((MAX_ROWS + 1) * ROW_WORDS);
let nrows: u32 = 0;
// descriptor fields
const D_START_MASK: u32 = 0xffff; // offset of the row within its frame
const D_WIDTHS_SHIFT: u32 = 16; // allowed widths (W1 | W2 | W4)
const D_KIND_SHIFT: u32 = 19; // RW, RO or WO
const D_PER_IRQ: u32 = 1 << 21; // a per-interrupt register (bits per interrupt != 0)
const D_IRQ_SHIFT_SHIFT: u32 = 22; // log2(8 / bits per interrupt): byte offset to first ID
const mapBase: StaticArray<u32> = [DEC_GICD, DEC_GICC, DEC_GICH, DEC_GICV];
const mapWords: StaticArray<u32> = [DEC_GICD_WORDS, DEC_GICC_WORDS, DEC_GICH_WORDS, DEC_GICC_WORDS];

function reg(frame: u32, start: u32, length: u32, bits: u32, widths: u32, kind: u32,
  rd: Reader, wr: Writer): void {
  const slot = ++nrows;
  let desc = start | (widths << D_WIDTHS_SHIFT) | (kind << D_KIND_SHIFT);
  // bits per interrupt is 1, 2 or 8: the first ID of a byte offset is off << (3 - log2 bits)
  if (bits != 0) desc |= D_PER_IRQ | ((3 - ctz<u32>(bits)) << D_IRQ_SHIFT_SHIFT);
  rows[slot * ROW_WORDS] = desc;
  rows[slot * ROW_WORDS + 1] = rd.index;
  rows[slot * ROW_WORDS + 2] = wr.index;
  const map = mapBase[frame];
  for (let w = start >> 2; w < (start + length) >> 2; w++) store<u8>(map + w, <u8>slot);
}

// ---- shared trivial handlers
function raz(cpu: u32, off: u32, size: u32): u32 { return 0; }
function wi(cpu: u32, off: u32, value: u32, size: u32): void {}

// ---- distributor handlers (IHI 0048B 4.3)

function rdDistCtlr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(G_DIST_CTLR); }
function wrDistCtlr(cpu: u32, off: u32, value: u32, size: u32): void {
  // 4.3.1 without the Security Extensions: EnableGrp0 and EnableGrp1
  const v = value & 3;
  if (v == load<u32>(G_DIST_CTLR)) return;
  store<u32>(G_DIST_CTLR, v);
  refreshAll();
}
function rdTyper(cpu: u32, off: u32, size: u32): u32 {
  // 4.3.2: ITLinesNumber [4:0], CPUNumber [7:5], SecurityExtn [10] = 0
  return ((nirq() + 31) / 32 - 1) | ((ncpu() - 1) << 5);
}
let distIidr: u32 = 0x0200043b; // GIC-400 reset value (TI CSL GIC400 headers); configurable
let cpuIidr: u32 = 0x0002043b; // QEMU virt GICC_IIDR (read from QEMU, see GICV2.md)
function rdDistIidr(cpu: u32, off: u32, size: u32): u32 { return distIidr; }

/** Implemented IDs of bitmap word `w` (w << 5 < nirq). Only a 1020-interrupt
 *  GIC has a partial last word: IDs 1020-1023 are special, never interrupts
 *  (IHI 0048B 2.2.1, 3.1.2), so their bits are RAZ/WI. */
@inline function implBits(w: u32): u32 {
  const n = nirq();
  return ((w + 1) << 5) <= n ? 0xffffffff : ((1 << (n & 31)) - 1);
}

/** One bit per interrupt: the word covering IDs [off*8, off*8+31]. */
function rdBits(bm: u32, cpu: u32, off: u32): u32 {
  const w = off >> 2;
  if ((w << 5) >= nirq()) return 0;
  return load<u32>(bmWord(bm, cpu, w)) & implBits(w);
}
function wrBits(bm: u32, cpu: u32, off: u32, value: u32, set: bool, keep: u32): void {
  const irq0 = (off >> 2) << 5;
  if (irq0 >= nirq()) return;
  let bits = value & ~keep & implBits(off >> 2);
  while (bits != 0) {
    const i = ctz<u32>(bits);
    bits &= bits - 1;
    const irq = irq0 + i;
    if (bmTest(bm, cpu, irq) != set) {
      bmSet(bm, cpu, irq, set);
      refresh(cpu, irq);
    }
  }
}

function rdGroup(cpu: u32, off: u32, size: u32): u32 { return rdBits(BM_GROUP, cpu, off); }
function wrGroup(cpu: u32, off: u32, value: u32, size: u32): void {
  const irq0 = (off >> 2) << 5;
  if (irq0 >= nirq()) return;
  const a = bmWord(BM_GROUP, cpu, off >> 2);
  const v = value & implBits(off >> 2);
  let changed = load<u32>(a) ^ v;
  store<u32>(a, v);
  while (changed != 0) {
    const i = ctz<u32>(changed);
    changed &= changed - 1;
    refresh(cpu, irq0 + i);
  }
}

function rdEnable(cpu: u32, off: u32, size: u32): u32 {
  const v = rdBits(BM_ENABLE, cpu, off);
  return off == 0 && flag(FLAG_SGI_ALWAYS_ENABLED) ? v | 0xffff : v;
}
@inline function sgiEnableKeep(off: u32): u32 {
  return off == 0 && flag(FLAG_SGI_ALWAYS_ENABLED) ? 0xffff : 0;
}
function wrSetEnable(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_ENABLE, cpu, off, value, true, sgiEnableKeep(off));
}
function wrClearEnable(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_ENABLE, cpu, off, value, false, sgiEnableKeep(off));
}

function rdPending(cpu: u32, off: u32, size: u32): u32 {
  const w = off >> 2;
  if ((w << 5) >= nirq()) return 0;
  return pendingWord(cpu, w) & implBits(w);
}
// 4.3.7/4.3.8: SGI bits of ISPENDR0/ICPENDR0 are write-ignored (use
// SPENDSGIR/CPENDSGIR). Clearing a level interrupt's latch leaves it pending
// while its line is high.
function wrSetPending(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_PEND, cpu, off, value, true, off == 0 ? 0xffff : 0);
}
function wrClearPending(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_PEND, cpu, off, value, false, off == 0 ? 0xffff : 0);
}

function rdActive(cpu: u32, off: u32, size: u32): u32 { return rdBits(BM_ACTIVE, cpu, off); }
function wrSetActive(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_ACTIVE, cpu, off, value, true, 0);
}
function wrClearActive(cpu: u32, off: u32, value: u32, size: u32): void {
  wrBits(BM_ACTIVE, cpu, off, value, false, 0);
}

// 4.3.11: byte per interrupt, unimplemented low-order bits RAZ/WI.
function rdPriority(cpu: u32, off: u32, size: u32): u32 {
  let v: u32 = 0;
  const ni = nirq();
  for (let i: u32 = 0; i < size; i++) {
    const irq = off + i;
    if (irq < ni) v |= <u32>load<u8>(prioAddr(cpu, irq)) << (i << 3);
  }
  return v;
}
function wrPriority(cpu: u32, off: u32, value: u32, size: u32): void {
  const ni = nirq();
  const mask = prioMask();
  for (let i: u32 = 0; i < size; i++) {
    const irq = off + i;
    if (irq >= ni) continue;
    const p = (value >> (i << 3)) & mask;
    const a = prioAddr(cpu, irq);
    if (<u32>load<u8>(a) == p) continue;
    store<u8>(a, <u8>p);
    refresh(cpu, irq);
  }
}

// 4.3.12: IDs 0-31 read as the reading CPU's own bit and ignore writes; a
// uniprocessor GIC makes the whole register RAZ/WI; bits of absent CPUs RAZ/WI.
function rdTargets(cpu: u32, off: u32, size: u32): u32 {
  if (ncpu() == 1) return 0;
  let v: u32 = 0;
  const ni = nirq();
  for (let i: u32 = 0; i < size; i++) {
    const irq = off + i;
    if (irq >= ni) continue;
    const t: u32 = irq < 32 ? 1 << cpu : <u32>load<u8>(TARGETS + irq);
    v |= t << (i << 3);
  }
  return v;
}
function wrTargets(cpu: u32, off: u32, value: u32, size: u32): void {
  if (ncpu() == 1) return;
  const ni = nirq();
  const mask = cpuMask();
  for (let i: u32 = 0; i < size; i++) {
    const irq = off + i;
    if (irq < 32 || irq >= ni) continue;
    const t = (value >> (i << 3)) & mask;
    if (<u32>load<u8>(TARGETS + irq) == t) continue;
    store<u8>(TARGETS + irq, <u8>t);
    refresh(cpu, irq);
  }
}

// 4.3.13: two bits per interrupt, Int_config[1] = edge. SGIs are read-only
// edge; PPIs writable unless FLAG_PPI_CFG_READONLY.
function rdConfig(cpu: u32, off: u32, size: u32): u32 {
  const irq0 = (off >> 2) << 4;
  if (irq0 >= nirq()) return 0;
  const word = (load<u32>(bmWord(BM_EDGE, cpu, irq0 >> 5)) & implBits(irq0 >> 5)) >> (irq0 & 31);
  let v: u32 = 0;
  for (let i: u32 = 0; i < 16; i++) v |= ((word >> i) & 1) << (2 * i + 1);
  return v;
}
function wrConfig(cpu: u32, off: u32, value: u32, size: u32): void {
  const irq0 = (off >> 2) << 4;
  if (irq0 < 16 || irq0 >= nirq()) return;
  if (irq0 < 32 && flag(FLAG_PPI_CFG_READONLY)) return;
  const n = min<u32>(16, nirq() - irq0);
  for (let i: u32 = 0; i < n; i++) {
    const irq = irq0 + i;
    const edge = ((value >> (2 * i + 1)) & 1) != 0;
    if (bmTest(BM_EDGE, cpu, irq) == edge) continue;
    bmSet(BM_EDGE, cpu, irq, edge);
    refresh(cpu, irq);
  }
}

// 4.3.15: GICD_SGIR. TargetListFilter 0b11 is reserved: the write is ignored.
function wrSgir(cpu: u32, off: u32, value: u32, size: u32): void {
  const filter = (value >> 24) & 3;
  const sgi = value & 0xf;
  let list: u32;
  if (filter == 0) list = (value >> 16) & 0xff;
  else if (filter == 1) list = cpuMask() & ~(1 << cpu);
  else if (filter == 2) list = 1 << cpu;
  else return;
  list &= cpuMask();
  while (list != 0) {
    const t = ctz<u32>(list);
    list &= list - 1;
    setSgiSources(t, sgi, sgiSources(t, sgi) | (1 << cpu));
    refresh(t, sgi);
  }
}

// 4.3.16/4.3.17: a byte per SGI, a bit per source CPU, banked per target.
function rdSgiPending(cpu: u32, off: u32, size: u32): u32 {
  let v: u32 = 0;
  for (let i: u32 = 0; i < size; i++) v |= sgiSources(cpu, (off & 0xf) + i) << (i << 3);
  return v;
}
function wrSgiPending(cpu: u32, off: u32, value: u32, set: bool, size: u32): void {
  const mask = cpuMask();
  for (let i: u32 = 0; i < size; i++) {
    const sgi = (off & 0xf) + i;
    const bits = (value >> (i << 3)) & mask;
    if (bits == 0) continue;
    const old = sgiSources(cpu, sgi);
    setSgiSources(cpu, sgi, set ? old | bits : old & ~bits);
    refresh(cpu, sgi);
  }
}
function wrClearSgiPending(cpu: u32, off: u32, value: u32, size: u32): void {
  wrSgiPending(cpu, off, value, false, size);
}
function wrSetSgiPending(cpu: u32, off: u32, value: u32, size: u32): void {
  wrSgiPending(cpu, off, value, true, size);
}

// 4.3.18-4.3.20: PIDR4..PIDR7, PIDR0..PIDR3, CIDR0..CIDR3 at 0xFD0-0xFFC, the
// values QEMU's GICv2 returns (arm_gic.c gic_id_gicv2); ICPIDR2 [7:4] = 2.
const GICD_IDS: StaticArray<u32> = [0x04, 0, 0, 0, 0x90, 0xb4, 0x2b, 0, 0x0d, 0xf0, 0x05, 0xb1];
function rdDistId(cpu: u32, off: u32, size: u32): u32 { return GICD_IDS[off >> 2]; }

// ---- CPU interface handlers (IHI 0048B 4.4)

function rdCpuCtlr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(cpuBlock(cpu) + C_CTLR); }
function wrCpuCtlr(cpu: u32, off: u32, value: u32, size: u32): void {
  const b = cpuBlock(cpu);
  store<u32>(b + C_CTLR, value & CTLR_WRITABLE);
  markDirty(cpu);
}
function rdPmr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(cpuBlock(cpu) + C_PMR); }
function wrPmr(cpu: u32, off: u32, value: u32, size: u32): void {
  const b = cpuBlock(cpu);
  store<u32>(b + C_PMR, value & prioMask());
  markDirty(cpu);
}
// 4.4.3: a write below the minimum binary point sets the minimum.
function rdBpr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(cpuBlock(cpu) + C_BPR); }
function wrBpr(cpu: u32, off: u32, value: u32, size: u32): void {
  const b = cpuBlock(cpu);
  store<u32>(b + C_BPR, max<u32>(value & 7, minBpr()));
  markDirty(cpu);
}
function rdAbpr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(cpuBlock(cpu) + C_ABPR); }
function wrAbpr(cpu: u32, off: u32, value: u32, size: u32): void {
  const b = cpuBlock(cpu);
  store<u32>(b + C_ABPR, max<u32>(value & 7, minBpr() + 1));
  markDirty(cpu);
}
function rdIar(cpu: u32, off: u32, size: u32): u32 { return acknowledge(cpu, false); }
function rdAiar(cpu: u32, off: u32, size: u32): u32 { return acknowledge(cpu, true); }
function wrEoir(cpu: u32, off: u32, value: u32, size: u32): void { endOfInterrupt(cpu, value); }
function rdRpr(cpu: u32, off: u32, size: u32): u32 {
  const r = load<u32>(cpuBlock(cpu) + C_RPR);
  return r > 0xff ? 0xff : r;
}
function rdHppir(cpu: u32, off: u32, size: u32): u32 { return highestPending(cpu, false); }
function rdAhppir(cpu: u32, off: u32, size: u32): u32 { return highestPending(cpu, true); }
function rdApr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(cpuBlock(cpu) + C_APR + off); }
function wrApr(cpu: u32, off: u32, value: u32, size: u32): void {
  store<u32>(cpuBlock(cpu) + C_APR + off, value);
  recomputeRunning(cpu);
}
function rdCpuIidr(cpu: u32, off: u32, size: u32): u32 { return cpuIidr; }
function wrDir(cpu: u32, off: u32, value: u32, size: u32): void { deactivateWrite(cpu, value); }

// ---- virtual interface control handlers (IHI 0048B 5.3)

function rdHcr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(vifBlock(cpu) + V_HCR); }
function wrHcr(cpu: u32, off: u32, value: u32, size: u32): void {
  store<u32>(vifBlock(cpu) + V_HCR, value & HCR_WRITABLE);
  markVirtualDirty(cpu);
}
function rdVtr(cpu: u32, off: u32, size: u32): u32 {
  // 5.3.2: PRIbits-1 [31:29], PREbits-1 [28:26], ListRegs-1 [5:0]
  return (4 << 29) | (4 << 26) | (nlr() - 1);
}
function rdVmcr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(vifBlock(cpu) + V_VMCR); }
function wrVmcr(cpu: u32, off: u32, value: u32, size: u32): void {
  let v = value & VMCR_WRITABLE;
  const bp = max<u32>((v >> VMCR_BP_SHIFT) & 7, VIRT_MIN_BPR);
  const abp = max<u32>((v >> VMCR_ABP_SHIFT) & 7, VIRT_MIN_BPR + 1);
  v = (v & ~((7 << VMCR_BP_SHIFT) | (7 << VMCR_ABP_SHIFT))) |
    (bp << VMCR_BP_SHIFT) | (abp << VMCR_ABP_SHIFT);
  store<u32>(vifBlock(cpu) + V_VMCR, v);
  markVirtualDirty(cpu);
}
// MISR is derived when the state settles, EISR and ELRSR on each list register change.
function rdMisr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(vifBlock(cpu) + V_MISR); }
function rdEisr(cpu: u32, off: u32, size: u32): u32 {
  return load<u32>(vifBlock(cpu) + (off == 0 ? V_EISR0 : V_EISR1));
}
function rdElrsr(cpu: u32, off: u32, size: u32): u32 {
  return load<u32>(vifBlock(cpu) + (off == 0 ? V_ELRSR0 : V_ELRSR1));
}
function rdVapr(cpu: u32, off: u32, size: u32): u32 { return load<u32>(vifBlock(cpu) + V_APR); }
function wrVapr(cpu: u32, off: u32, value: u32, size: u32): void {
  store<u32>(vifBlock(cpu) + V_APR, value);
  markVirtualDirty(cpu);
}
function rdLr(cpu: u32, off: u32, size: u32): u32 {
  return (off >> 2) < nlr() ? load<u32>(vifBlock(cpu) + V_LR + off) : 0;
}
function wrLr(cpu: u32, off: u32, value: u32, size: u32): void {
  if ((off >> 2) >= nlr()) return;
  // 5.3.11: bits [22:20] are reserved; bit 19 (EOI) has no meaning with HW=1
  // but is stored as written.
  const lr = value & 0xff8fffff;
  store<u32>(vifBlock(cpu) + V_LR + off, lr);
  listRegisterChanged(cpu, off >> 2, lr);
  markVirtualDirty(cpu);
}

// ---- virtual CPU interface handlers (IHI 0048B 5.4): views of GICH state

function rdVctlr(cpu: u32, off: u32, size: u32): u32 {
  return load<u32>(vifBlock(cpu) + V_VMCR) & 0x21f;
}
function wrVctlr(cpu: u32, off: u32, value: u32, size: u32): void {
  const a = vifBlock(cpu) + V_VMCR;
  store<u32>(a, (load<u32>(a) & ~0x21f) | (value & 0x21f));
  markVirtualDirty(cpu);
}
function rdVpmr(cpu: u32, off: u32, size: u32): u32 {
  return (load<u32>(vifBlock(cpu) + V_VMCR) >> VMCR_PRIMASK_SHIFT) << 3;
}
function wrVpmr(cpu: u32, off: u32, value: u32, size: u32): void {
  const a = vifBlock(cpu) + V_VMCR;
  store<u32>(a, (load<u32>(a) & 0x07ffffff) | (((value >> 3) & 0x1f) << VMCR_PRIMASK_SHIFT));
  markVirtualDirty(cpu);
}
function rdVbpr(cpu: u32, off: u32, size: u32): u32 {
  return (load<u32>(vifBlock(cpu) + V_VMCR) >> VMCR_BP_SHIFT) & 7;
}
function wrVbpr(cpu: u32, off: u32, value: u32, size: u32): void {
  const a = vifBlock(cpu) + V_VMCR;
  const bp = max<u32>(value & 7, VIRT_MIN_BPR);
  store<u32>(a, (load<u32>(a) & ~(7 << VMCR_BP_SHIFT)) | (bp << VMCR_BP_SHIFT));
  markVirtualDirty(cpu);
}
function rdVabpr(cpu: u32, off: u32, size: u32): u32 {
  return (load<u32>(vifBlock(cpu) + V_VMCR) >> VMCR_ABP_SHIFT) & 7;
}
function wrVabpr(cpu: u32, off: u32, value: u32, size: u32): void {
  const a = vifBlock(cpu) + V_VMCR;
  const abp = max<u32>(value & 7, VIRT_MIN_BPR + 1);
  store<u32>(a, (load<u32>(a) & ~(7 << VMCR_ABP_SHIFT)) | (abp << VMCR_ABP_SHIFT));
  markVirtualDirty(cpu);
}
function rdViar(cpu: u32, off: u32, size: u32): u32 { return virtualAcknowledge(cpu, false); }
function rdVaiar(cpu: u32, off: u32, size: u32): u32 { return virtualAcknowledge(cpu, true); }
function wrVeoir(cpu: u32, off: u32, value: u32, size: u32): void { virtualEndOfInterrupt(cpu, value); }
function rdVrpr(cpu: u32, off: u32, size: u32): u32 { return min<u32>(virtualRunning(cpu), 0xff); }
function rdVhppir(cpu: u32, off: u32, size: u32): u32 { return virtualHighestPending(cpu, false); }
function rdVahppir(cpu: u32, off: u32, size: u32): u32 { return virtualHighestPending(cpu, true); }
function wrVdir(cpu: u32, off: u32, value: u32, size: u32): void { virtualDeactivateWrite(cpu, value); }

// ---- the tables

export function buildDecoder(gicdIidr: u32, gicIidr: u32): void {
  distIidr = gicdIidr;
  cpuIidr = gicIidr;
  if (nrows != 0) return;
  const D = FRAME_GICD;
  // IHI 0048B Table 4-1
  reg(D, 0x000, 4, 0, W4, RW, rdDistCtlr, wrDistCtlr);
  reg(D, 0x004, 4, 0, W4, RO, rdTyper, wi);
  reg(D, 0x008, 4, 0, W4, RO, rdDistIidr, wi);
  reg(D, 0x080, 0x80, 1, W4, RW, rdGroup, wrGroup);
  reg(D, 0x100, 0x80, 1, W4, RW, rdEnable, wrSetEnable);
  reg(D, 0x180, 0x80, 1, W4, RW, rdEnable, wrClearEnable);
  reg(D, 0x200, 0x80, 1, W4, RW, rdPending, wrSetPending);
  reg(D, 0x280, 0x80, 1, W4, RW, rdPending, wrClearPending);
  reg(D, 0x300, 0x80, 1, W4, RW, rdActive, wrSetActive);
  reg(D, 0x380, 0x80, 1, W4, RW, rdActive, wrClearActive);
  reg(D, 0x400, 0x400, 8, W1 | W4, RW, rdPriority, wrPriority);
  reg(D, 0x800, 0x400, 8, W1 | W4, RW, rdTargets, wrTargets);
  reg(D, 0xc00, 0x100, 2, W4, RW, rdConfig, wrConfig);
  reg(D, 0xe00, 0x100, 2, W4, RW, raz, wi); // NSACR: Security Extensions only
  reg(D, 0xf00, 4, 0, W4, WO, raz, wrSgir);
  reg(D, 0xf10, 0x10, 0, W1 | W4, RW, rdSgiPending, wrClearSgiPending);
  reg(D, 0xf20, 0x10, 0, W1 | W4, RW, rdSgiPending, wrSetSgiPending);
  reg(D, 0xfd0, 0x30, 0, W4, RO, rdDistId, wi);

  // IHI 0048B Table 4-2; GICV has the same layout (Table 5-2)
  const C = FRAME_GICC;
  reg(C, 0x00, 4, 0, W4, RW, rdCpuCtlr, wrCpuCtlr);
  reg(C, 0x04, 4, 0, W4, RW, rdPmr, wrPmr);
  reg(C, 0x08, 4, 0, W4, RW, rdBpr, wrBpr);
  reg(C, 0x0c, 4, 0, W4, RO, rdIar, wi);
  reg(C, 0x10, 4, 0, W4, WO, raz, wrEoir);
  reg(C, 0x14, 4, 0, W4, RO, rdRpr, wi);
  reg(C, 0x18, 4, 0, W4, RO, rdHppir, wi);
  reg(C, 0x1c, 4, 0, W4, RW, rdAbpr, wrAbpr);
  reg(C, 0x20, 4, 0, W4, RO, rdAiar, wi);
  reg(C, 0x24, 4, 0, W4, WO, raz, wrEoir);
  reg(C, 0x28, 4, 0, W4, RO, rdAhppir, wi);
  reg(C, 0xd0, 0x10, 0, W4, RW, rdApr, wrApr);
  reg(C, 0xe0, 0x10, 0, W4, RW, raz, wi); // NSAPR: Security Extensions only
  reg(C, 0xfc, 4, 0, W4, RO, rdCpuIidr, wi);
  reg(C, 0x1000, 4, 0, W4, WO, raz, wrDir);

  // IHI 0048B Table 5-1
  const H = FRAME_GICH;
  reg(H, 0x000, 4, 0, W4, RW, rdHcr, wrHcr);
  reg(H, 0x004, 4, 0, W4, RO, rdVtr, wi);
  reg(H, 0x008, 4, 0, W4, RW, rdVmcr, wrVmcr);
  reg(H, 0x010, 4, 0, W4, RO, rdMisr, wi);
  reg(H, 0x020, 8, 0, W4, RO, rdEisr, wi);
  reg(H, 0x030, 8, 0, W4, RO, rdElrsr, wi);
  reg(H, 0x0f0, 4, 0, W4, RW, rdVapr, wrVapr);
  reg(H, 0x100, 0x100, 0, W4, RW, rdLr, wrLr);

  const V = FRAME_GICV;
  reg(V, 0x00, 4, 0, W4, RW, rdVctlr, wrVctlr);
  reg(V, 0x04, 4, 0, W4, RW, rdVpmr, wrVpmr);
  reg(V, 0x08, 4, 0, W4, RW, rdVbpr, wrVbpr);
  reg(V, 0x0c, 4, 0, W4, RO, rdViar, wi);
  reg(V, 0x10, 4, 0, W4, WO, raz, wrVeoir);
  reg(V, 0x14, 4, 0, W4, RO, rdVrpr, wi);
  reg(V, 0x18, 4, 0, W4, RO, rdVhppir, wi);
  reg(V, 0x1c, 4, 0, W4, RW, rdVabpr, wrVabpr);
  reg(V, 0x20, 4, 0, W4, RO, rdVaiar, wi);
  reg(V, 0x24, 4, 0, W4, WO, raz, wrVeoir);
  reg(V, 0x28, 4, 0, W4, RO, rdVahppir, wi);
  reg(V, 0xd0, 4, 0, W4, RW, rdVapr, wrVapr); // GICV_APR0 is GICH_APR (5.4)
  reg(V, 0xd4, 0xc, 0, W4, RW, raz, wi); // APR1-3: 5 preemption bits need one word
  reg(V, 0xe0, 0x10, 0, W4, RW, raz, wi);
  reg(V, 0xfc, 4, 0, W4, RO, rdCpuIidr, wi);
  reg(V, 0x1000, 4, 0, W4, WO, raz, wrVdir);
}

// ---- the central check

@inline function bad(cpu: u32, kind: u32): u32 {
  const a = cpuBlock(cpu) + C_BAD + ((kind - 1) << 2);
  store<u32>(a, load<u32>(a) + 1);
  store<u32>(G_STATUS, kind);
  return kind;
}

/** Find the frame and row of an address: returns row + 1 with the offset
 *  within the frame in `decodedOff`, or 0 when nothing is mapped there. */
let decodedOff: u32 = 0;
@inline function decode(addr: u32): u32 {
  let frame: u32;
  let off: u32;
  if ((off = addr - load<u32>(CFG_GICD_BASE)) < FRAME_SIZE) frame = FRAME_GICD;
  else if ((off = addr - load<u32>(CFG_GICC_BASE)) < FRAME_SIZE) frame = FRAME_GICC;
  else if ((off = addr - load<u32>(CFG_GICH_BASE)) < FRAME_SIZE) frame = FRAME_GICH;
  else if ((off = addr - load<u32>(CFG_GICV_BASE)) < FRAME_SIZE) frame = FRAME_GICV;
  else return 0;
  const w = off >> 2;
  if (w >= unchecked(mapWords[frame])) return 0;
  decodedOff = off;
  return <u32>load<u8>(unchecked(mapBase[frame]) + w);
}

/** Validate an access: returns the row + 1 to dispatch, or 0 after counting
 *  the bad access. Only legal accesses ever reach a handler. */
@inline function check(cpu: u32, addr: u32, size: u32, write: bool): u32 {
  store<u32>(G_ACCESSES, load<u32>(G_ACCESSES) + 1);
  const slot = decode(addr);
  if (slot == 0) { bad(cpu, ACCESS_UNMAPPED); return 0; }
  const desc = unchecked(rows[slot * ROW_WORDS]);
  if ((size != 1 && size != 2 && size != 4) || ((desc >> D_WIDTHS_SHIFT) & size) == 0) {
    bad(cpu, ACCESS_WIDTH);
    return 0;
  }
  if ((addr & (size - 1)) != 0) { bad(cpu, ACCESS_UNALIGNED); return 0; }
  const kind = (desc >> D_KIND_SHIFT) & 3;
  if (write && kind == RO) { bad(cpu, ACCESS_RO_WRITE); return 0; }
  if (!write && kind == WO) { bad(cpu, ACCESS_WO_READ); return 0; }
  store<u32>(G_STATUS, ACCESS_OK);
  const off = decodedOff - (desc & D_START_MASK);
  decodedOff = off;
  // Per-interrupt registers beyond the implemented interrupts are RAZ/WI
  // (IHI 0048B 4.3): a legal access, answered here rather than in a handler.
  if ((desc & D_PER_IRQ) != 0 && (off << ((desc >> D_IRQ_SHIFT_SHIFT) & 3)) >= nirq()) return 0;
  return slot;
}

export function decodedRead(cpu: u32, addr: u32, size: u32): u32 {
  const row = check(cpu, addr, size, false);
  if (row == 0) return 0;
  const off = decodedOff;
  const v = call_indirect<u32>(unchecked(rows[row * ROW_WORDS + 1]), cpu, off & ~3, <u32>4);
  if (size == 4) return v;
  // A byte read of a byte-accessible per-interrupt register reads that lane.
  return (v >> ((off & 3) << 3)) & (size == 1 ? 0xff : 0xffff);
}

export function decodedWrite(cpu: u32, addr: u32, value: u32, size: u32): u32 {
  const row = check(cpu, addr, size, true);
  if (row == 0) return load<u32>(G_STATUS);
  call_indirect<void>(unchecked(rows[row * ROW_WORDS + 2]), cpu, decodedOff, value, size);
  return ACCESS_OK;
}
