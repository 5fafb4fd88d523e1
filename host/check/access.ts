// An independent description of the GICv2 register map (IHI 0048B Tables
// 4-1, 4-2, 5-1, 5-2 and ../shared/GICV2.md), used as the oracle for access
// legality: which accesses are bad and of which kinds, which legal reads are
// RAZ, which legal writes must leave every piece of state unchanged, and which
// read-only registers hold a constant. It shares no code with the model's
// decoder on purpose.

import type { GicConfig } from "../hw/gic.ts";

export const FRAMES = ["gicd", "gicc", "gich", "gicv"] as const;
export type FrameName = (typeof FRAMES)[number];
export const FRAME_SIZE = 0x10000;

/** Access status codes, as the model reports them (host/hw/gic.ts Access). */
export const ST_OK = 0;
export const ST_UNMAPPED = 1;
export const ST_WIDTH = 2;
export const ST_UNALIGNED = 3;
export const ST_RO_WRITE = 4;
export const ST_WO_READ = 5;
export const STATUS_NAMES = ["ok", "unmapped", "width", "unaligned", "readOnlyWrite", "writeOnlyRead"] as const;

export type Kind = "rw" | "ro" | "wo";
/** What a register means to the checker. */
export type Role =
  | "plain" // read/write state
  | "const" // read-only, one value for the whole run (TYPER, IIDR, VTR, ID registers)
  | "razwi" // reserved: reads zero, writes ignored
  | "set" | "clear" // ISENABLER/ICENABLER style: bits written as one set/clear
  | "iar" | "aiar" | "eoir" | "dir"
  | "derived" // GICH MISR, EISR, ELRSR
  | "lr" | "sgir" | "other";

export interface RegRow {
  frame: number;
  name: string;
  start: number;
  length: number;
  /** bits per interrupt for per-interrupt registers, else 0 */
  bits: number;
  /** allowed widths: bit 1 byte, bit 2 halfword, bit 4 word */
  widths: number;
  kind: Kind;
  role: Role;
  /** for set/clear rows: which state bitmap they act on */
  bitmap?: "enable" | "pend" | "active";
}

const W4 = 4;
const W14 = 5;

function r(frame: number, name: string, start: number, length: number, bits: number, widths: number,
  kind: Kind, role: Role, bitmap?: RegRow["bitmap"]): RegRow {
  return bitmap ? { frame, name, start, length, bits, widths, kind, role, bitmap } : { frame, name, start, length, bits, widths, kind, role };
}

/** Every register row of the four frames. */
export const ROWS: readonly RegRow[] = [
  // GICD, IHI 0048B Table 4-1
  r(0, "GICD_CTLR", 0x000, 4, 0, W4, "rw", "plain"),
  r(0, "GICD_TYPER", 0x004, 4, 0, W4, "ro", "const"),
  r(0, "GICD_IIDR", 0x008, 4, 0, W4, "ro", "const"),
  r(0, "GICD_IGROUPR", 0x080, 0x80, 1, W4, "rw", "plain"),
  r(0, "GICD_ISENABLER", 0x100, 0x80, 1, W4, "rw", "set", "enable"),
  r(0, "GICD_ICENABLER", 0x180, 0x80, 1, W4, "rw", "clear", "enable"),
  r(0, "GICD_ISPENDR", 0x200, 0x80, 1, W4, "rw", "set", "pend"),
  r(0, "GICD_ICPENDR", 0x280, 0x80, 1, W4, "rw", "clear", "pend"),
  r(0, "GICD_ISACTIVER", 0x300, 0x80, 1, W4, "rw", "set", "active"),
  r(0, "GICD_ICACTIVER", 0x380, 0x80, 1, W4, "rw", "clear", "active"),
  r(0, "GICD_IPRIORITYR", 0x400, 0x400, 8, W14, "rw", "plain"),
  r(0, "GICD_ITARGETSR", 0x800, 0x400, 8, W14, "rw", "other"),
  r(0, "GICD_ICFGR", 0xc00, 0x100, 2, W4, "rw", "other"),
  r(0, "GICD_NSACR", 0xe00, 0x100, 2, W4, "rw", "razwi"),
  r(0, "GICD_SGIR", 0xf00, 4, 0, W4, "wo", "sgir"),
  r(0, "GICD_CPENDSGIR", 0xf10, 0x10, 0, W14, "rw", "other"),
  r(0, "GICD_SPENDSGIR", 0xf20, 0x10, 0, W14, "rw", "other"),
  r(0, "GICD_ID", 0xfd0, 0x30, 0, W4, "ro", "const"),
  // GICC, Table 4-2
  r(1, "GICC_CTLR", 0x00, 4, 0, W4, "rw", "plain"),
  r(1, "GICC_PMR", 0x04, 4, 0, W4, "rw", "plain"),
  r(1, "GICC_BPR", 0x08, 4, 0, W4, "rw", "plain"),
  r(1, "GICC_IAR", 0x0c, 4, 0, W4, "ro", "iar"),
  r(1, "GICC_EOIR", 0x10, 4, 0, W4, "wo", "eoir"),
  r(1, "GICC_RPR", 0x14, 4, 0, W4, "ro", "other"),
  r(1, "GICC_HPPIR", 0x18, 4, 0, W4, "ro", "other"),
  r(1, "GICC_ABPR", 0x1c, 4, 0, W4, "rw", "plain"),
  r(1, "GICC_AIAR", 0x20, 4, 0, W4, "ro", "aiar"),
  r(1, "GICC_AEOIR", 0x24, 4, 0, W4, "wo", "eoir"),
  r(1, "GICC_AHPPIR", 0x28, 4, 0, W4, "ro", "other"),
  r(1, "GICC_APR", 0xd0, 0x10, 0, W4, "rw", "plain"),
  r(1, "GICC_NSAPR", 0xe0, 0x10, 0, W4, "rw", "razwi"),
  r(1, "GICC_IIDR", 0xfc, 4, 0, W4, "ro", "const"),
  r(1, "GICC_DIR", 0x1000, 4, 0, W4, "wo", "dir"),
  // GICH, Table 5-1
  r(2, "GICH_HCR", 0x000, 4, 0, W4, "rw", "plain"),
  r(2, "GICH_VTR", 0x004, 4, 0, W4, "ro", "const"),
  r(2, "GICH_VMCR", 0x008, 4, 0, W4, "rw", "plain"),
  r(2, "GICH_MISR", 0x010, 4, 0, W4, "ro", "derived"),
  r(2, "GICH_EISR", 0x020, 8, 0, W4, "ro", "derived"),
  r(2, "GICH_ELRSR", 0x030, 8, 0, W4, "ro", "derived"),
  r(2, "GICH_APR", 0x0f0, 4, 0, W4, "rw", "plain"),
  r(2, "GICH_LR", 0x100, 0x100, 0, W4, "rw", "lr"),
  // GICV, Table 5-2 (the GICC layout; APR0 only for 5 preemption bits)
  r(3, "GICV_CTLR", 0x00, 4, 0, W4, "rw", "plain"),
  r(3, "GICV_PMR", 0x04, 4, 0, W4, "rw", "plain"),
  r(3, "GICV_BPR", 0x08, 4, 0, W4, "rw", "plain"),
  r(3, "GICV_IAR", 0x0c, 4, 0, W4, "ro", "iar"),
  r(3, "GICV_EOIR", 0x10, 4, 0, W4, "wo", "eoir"),
  r(3, "GICV_RPR", 0x14, 4, 0, W4, "ro", "other"),
  r(3, "GICV_HPPIR", 0x18, 4, 0, W4, "ro", "other"),
  r(3, "GICV_ABPR", 0x1c, 4, 0, W4, "rw", "plain"),
  r(3, "GICV_AIAR", 0x20, 4, 0, W4, "ro", "aiar"),
  r(3, "GICV_AEOIR", 0x24, 4, 0, W4, "wo", "eoir"),
  r(3, "GICV_AHPPIR", 0x28, 4, 0, W4, "ro", "other"),
  r(3, "GICV_APR", 0xd0, 4, 0, W4, "rw", "plain"),
  r(3, "GICV_APR_RES", 0xd4, 0xc, 0, W4, "rw", "razwi"),
  r(3, "GICV_NSAPR", 0xe0, 0x10, 0, W4, "rw", "razwi"),
  r(3, "GICV_IIDR", 0xfc, 4, 0, W4, "ro", "const"),
  r(3, "GICV_DIR", 0x1000, 4, 0, W4, "wo", "dir"),
];

/** Row index per 32-bit word of each frame's first 8 KiB (-1 = nothing). */
const ROW_OF: Int16Array[] = FRAMES.map(() => new Int16Array(0x800).fill(-1));
ROWS.forEach((row, i) => {
  for (let w = row.start >> 2; w < (row.start + row.length) >> 2; w++) ROW_OF[row.frame]![w] = i;
});

/** Expected outcome of one access, from the architecture alone. */
export interface Expectation {
  /** ST_*; for a bad access the first applicable kind in the order unmapped,
   *  width, unaligned, read-only write, write-only read */
  status: number;
  /** bit mask of every applicable bad kind (1 << ST_*); 0 when legal */
  badKinds: number;
  frame: number;
  /** offset within the frame */
  offset: number;
  /** row index into ROWS, -1 when unmapped */
  row: number;
  /** a legal read that must return zero */
  raz: boolean;
  /** the access must leave every piece of interrupt state unchanged */
  noEffect: boolean;
}

export function newExpectation(): Expectation {
  return { status: 0, badKinds: 0, frame: -1, offset: 0, row: -1, raz: false, noEffect: false };
}

export function frameOf(map: GicConfig["map"], addr: number): { frame: number; offset: number } {
  for (let f = 0; f < 4; f++) {
    const off = (addr - map[FRAMES[f]!]) >>> 0;
    if (off < FRAME_SIZE) return { frame: f, offset: off };
  }
  return { frame: -1, offset: 0 };
}

/** Classify an access (IHI 0048B 4.1.4: bad accesses read zero and ignore the
 *  write; per-interrupt registers beyond the implemented IDs are RAZ/WI). */
export function expectAccess(config: GicConfig, addr: number, size: number, write: boolean, value = 0,
  out: Expectation = newExpectation()): Expectation {
  let frame = -1;
  let offset = 0;
  const map = config.map;
  for (let f = 0; f < 4; f++) {
    const off = (addr - map[FRAMES[f]!]) >>> 0;
    if (off < FRAME_SIZE) { frame = f; offset = off; break; }
  }
  const row = frame < 0 || offset >= 0x2000 ? -1 : ROW_OF[frame]![offset >> 2]!;
  out.frame = frame;
  out.offset = offset;
  out.row = row;
  out.raz = false;
  out.noEffect = true;
  if (row < 0) {
    out.status = ST_UNMAPPED;
    out.badKinds = 1 << ST_UNMAPPED;
    return out;
  }
  const reg = ROWS[row]!;
  let bad = 0;
  if ((size !== 1 && size !== 2 && size !== 4) || (reg.widths & size) === 0) bad |= 1 << ST_WIDTH;
  if ((addr & (size - 1)) !== 0 || (size !== 1 && size !== 2 && size !== 4)) bad |= 1 << ST_UNALIGNED;
  if (write && reg.kind === "ro") bad |= 1 << ST_RO_WRITE;
  if (!write && reg.kind === "wo") bad |= 1 << ST_WO_READ;
  if (bad !== 0) {
    out.status = (bad & (1 << ST_WIDTH)) ? ST_WIDTH : (bad & (1 << ST_UNALIGNED)) ? ST_UNALIGNED
      : (bad & (1 << ST_RO_WRITE)) ? ST_RO_WRITE : ST_WO_READ;
    out.badKinds = bad;
    return out;
  }
  const inRow = offset - reg.start;
  let raz = reg.role === "razwi";
  // per-interrupt registers beyond the implemented IDs
  if (reg.bits !== 0 && Math.floor((inRow * 8) / reg.bits) >= config.irqs) raz = true;
  if (reg.role === "lr" && (inRow >> 2) >= config.listRegisters) raz = true;
  // 4.3.12: a uniprocessor GIC's ITARGETSR is RAZ/WI
  if (reg.name === "GICD_ITARGETSR" && config.cpus === 1) raz = true;
  let noEffect = raz;
  if (write) {
    // 4.3.12: ITARGETSR0-7 are read-only; 4.3.13: SGI configuration is read-only
    if (reg.name === "GICD_ITARGETSR" && inRow + size <= 32) noEffect = true;
    if (reg.name === "GICD_ICFGR" && inRow < 4) noEffect = true;
    if (reg.name === "GICD_ICFGR" && inRow < 8 && config.ppiConfigReadOnly) noEffect = true;
    // 4.4.5, 4.4.15: an EOI or deactivation of a special ID has no effect
    if ((reg.role === "eoir" || reg.role === "dir") && (value & 0x3ff) >= 1020) noEffect = true;
  }
  out.status = ST_OK;
  out.badKinds = 0;
  out.raz = raz && !write;
  out.noEffect = noEffect;
  return out;
}

/** The value every read of a constant register must return, or undefined when
 *  the architecture leaves it to the implementation (ID registers: the first
 *  read of the run is the reference). */
export function constantValue(config: GicConfig, frame: number, offset: number): number | undefined {
  if (frame === 0 && offset === 0x004) {
    // 4.3.2: ITLinesNumber [4:0], CPUNumber [7:5], no Security Extensions
    return ((Math.ceil(config.irqs / 32) - 1) | ((config.cpus - 1) << 5)) >>> 0;
  }
  if (frame === 0 && offset === 0x008) return config.gicdIidr >>> 0;
  if ((frame === 1 || frame === 3) && offset === 0xfc) return config.gicIidr >>> 0;
  // 5.3.2 with the model's 5 virtual priority and preemption bits
  if (frame === 2 && offset === 0x004) return (0x90000000 | (config.listRegisters - 1)) >>> 0;
  return undefined;
}
