// The guest's view of the distributor (Xen 4.8 xen/arch/arm/vgic-v2.c): a
// trapped GICD access is decoded by a table of register rows and emulated on
// the domain's ranks. Xen's answers to bad accesses are kept: a width the
// register does not allow is `bad_width` (the domain is crashed), an
// unhandled register makes the handler fail and Xen injects a data abort
// into the guest, reserved ranges read as zero and ignore writes.

import { point, type Co } from "../sim/api.ts";
import type { PCpu } from "../sim/machine.ts";
import { spin_lock_irqsave, spin_unlock_irqrestore } from "../sim/lock.ts";
import { GICD } from "../hw/regs.ts";
import type { Vcpu } from "./domain.ts";
import type { VgicIrqRank } from "./pending.ts";
import type { Vgic } from "./vgic.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_VGIC_LOCK = point("vgic_lock");
const PT_READ_IENABLE = point("read ienable");
const PT_READ_PRIORITY = point("read priority");
const PT_WRITE_PRIORITY = point("write priority");
const PT_READ_RANK_VCPU = point("read rank->vcpu");
const PT_READ_ICFG = point("read icfg");
const PT_WRITE_ICFG = point("write icfg");

export type MmioOutcome = "ok" | "abort" | "crash";
export interface MmioResult {
  outcome: MmioOutcome;
  value: number;
}

type Width = 1 | 2 | 4;
const BYTE = 1;
const WORD = 4;

interface Access {
  vgic: Vgic;
  ctx: PCpu;
  v: Vcpu;
  /** offset from the start of the row */
  off: number;
  size: Width;
}

type ReadFn = (a: Access) => Co<MmioResult>;
type WriteFn = (a: Access, value: number) => Co<MmioOutcome>;

interface Row {
  name: string;
  start: number;
  length: number;
  /** widths a guest may read with; anything else is bad_width */
  widths: number;
  /** widths a guest may write with, when they differ from the reads' */
  writeWidths?: number;
  read: ReadFn;
  write: WriteFn;
}

const ok = (value: number): MmioResult => ({ outcome: "ok", value: value >>> 0 });
const ABORT: MmioResult = { outcome: "abort", value: 0 };

// eslint-disable-next-line require-yield
function* raz(_a: Access): Co<MmioResult> { return ok(0); }
// eslint-disable-next-line require-yield
function* wi(_a: Access, _v: number): Co<MmioOutcome> { return "ok"; }
// eslint-disable-next-line require-yield
function* unhandledRead(_a: Access): Co<MmioResult> { return ABORT; }
// eslint-disable-next-line require-yield
function* unhandledWrite(_a: Access, _v: number): Co<MmioOutcome> { return "abort"; }

/** vgic_rank_offset: the rank a per-IRQ register offset falls in, or null
 *  beyond the guest's interrupts (then RAZ/WI). */
function rankOf(a: Access, bitsPerIrq: number): VgicIrqRank | null {
  const irq = Math.floor((a.off * 8) / bitsPerIrq);
  if (irq >= a.vgic.d.nr_irqs) return null;
  return a.vgic.d.rank_irq(a.v, irq);
}

/** `body(a, rank, v)` under the rank lock. The bodies are generator
 *  functions of this module, not closures made per access: a generator
 *  function created at run time gets a hidden class of its own in V8's old
 *  space, which keeps it (and the system its context holds) alive through
 *  young collections until a full one. */
function* withRank<T>(a: Access, rank: VgicIrqRank, body: (a: Access, rank: VgicIrqRank, v: number) => Co<T>, v = 0): Co<T> {
  const flags = yield* spin_lock_irqsave(a.ctx, rank.lock);
  const r = yield* body(a, rank, v);
  yield* spin_unlock_irqrestore(a.ctx, rank.lock, flags);
  return r;
}

/** vgic_reg32_extract / update: byte lanes of a 32-bit register. */
function extract(reg: number, off: number, size: Width): number {
  const shift = (off & 3) * 8;
  return size === 4 ? reg >>> 0 : (reg >>> shift) & (size === 1 ? 0xff : 0xffff);
}
function update(reg: number, value: number, off: number, size: Width): number {
  if (size === 4) return value >>> 0;
  const shift = (off & 3) * 8;
  const mask = (size === 1 ? 0xff : 0xffff) << shift;
  return ((reg & ~mask) | ((value << shift) & mask)) >>> 0;
}

// ---- handlers

function* readCtlr(a: Access): Co<MmioResult> { yield PT_VGIC_LOCK; return ok(a.vgic.d.ctlr); }
function* writeCtlr(a: Access, v: number): Co<MmioOutcome> {
  yield PT_VGIC_LOCK;
  a.vgic.d.ctlr = v & 1; // stored; delivery is not gated by it in 4.8
  return "ok";
}
// eslint-disable-next-line require-yield
function* readTyper(a: Access): Co<MmioResult> {
  const d = a.vgic.d;
  return ok(((d.max_vcpus - 1) << 5) | Math.ceil(d.nr_spis / 32));
}
// eslint-disable-next-line require-yield
function* readIidr(_a: Access): Co<MmioResult> { return ok(0x43b); } // Xen's GICV2_GICD_IIDR_VAL

function* readEnable(a: Access): Co<MmioResult> {
  const rank = rankOf(a, 1);
  if (rank === null) return ok(0);
  return yield* withRank(a, rank, readEnableLocked);
}
function* readEnableLocked(_a: Access, rank: VgicIrqRank): Co<MmioResult> { yield PT_READ_IENABLE; return ok(rank.ienable); }
function* writeSetEnable(a: Access, v: number): Co<MmioOutcome> {
  const rank = rankOf(a, 1);
  if (rank === null) return "ok";
  return yield* withRank(a, rank, writeSetEnableLocked, v);
}
function* writeSetEnableLocked(a: Access, rank: VgicIrqRank, v: number): Co<MmioOutcome> {
  const tr = rank.ienable;
  rank.ienable = (rank.ienable | v) >>> 0;
  yield* a.vgic.vgic_enable_irqs(a.ctx, a.v, (rank.ienable & ~tr) >>> 0, rank.index, rank);
  return "ok";
}
function* writeClearEnable(a: Access, v: number): Co<MmioOutcome> {
  const rank = rankOf(a, 1);
  if (rank === null) return "ok";
  return yield* withRank(a, rank, writeClearEnableLocked, v);
}
function* writeClearEnableLocked(a: Access, rank: VgicIrqRank, v: number): Co<MmioOutcome> {
  const tr = rank.ienable;
  rank.ienable = (rank.ienable & ~v) >>> 0;
  yield* a.vgic.vgic_disable_irqs(a.ctx, a.v, (~rank.ienable & tr) >>> 0, rank.index, rank);
  return "ok";
}

function* readPriority(a: Access): Co<MmioResult> {
  const rank = rankOf(a, 8);
  if (rank === null) return ok(0);
  return yield* withRank(a, rank, readPriorityLocked);
}
function* readPriorityLocked(a: Access, rank: VgicIrqRank): Co<MmioResult> {
  yield PT_READ_PRIORITY;
  const base = a.off & 0x1c;
  const word = rank.priority[base]! | (rank.priority[base + 1]! << 8) | (rank.priority[base + 2]! << 16) | (rank.priority[base + 3]! << 24);
  return ok(extract(word, a.off, a.size));
}
function* writePriority(a: Access, v: number): Co<MmioOutcome> {
  const rank = rankOf(a, 8);
  if (rank === null) return "ok";
  return yield* withRank(a, rank, writePriorityLocked, v);
}
function* writePriorityLocked(a: Access, rank: VgicIrqRank, v: number): Co<MmioOutcome> {
  yield PT_WRITE_PRIORITY;
  for (let i = 0; i < a.size; i++) rank.priority[(a.off & 0x1f) + i] = (v >>> (8 * i)) & 0xff;
  return "ok";
}

/** vgic_fetch_itargetsr: one bit per IRQ, the target vCPU. */
function fetchItargetsr(rank: VgicIrqRank, off: number): number {
  const base = off & 0x1c;
  let r = 0;
  for (let i = 0; i < 4; i++) r |= (1 << rank.target(base + i)) << (8 * i);
  return r >>> 0;
}
function* readTargets(a: Access): Co<MmioResult> {
  const rank = rankOf(a, 8);
  if (rank === null) return ok(0);
  return yield* withRank(a, rank, readTargetsLocked);
}
function* readTargetsLocked(a: Access, rank: VgicIrqRank): Co<MmioResult> {
  yield PT_READ_RANK_VCPU;
  return ok(extract(fetchItargetsr(rank, a.off), a.off, a.size));
}
function* writeTargets(a: Access, v: number): Co<MmioOutcome> {
  if (a.off < 32) return a.size === WORD ? "ok" : "crash"; // ITARGETSR0-7: WI, word only
  const rank = rankOf(a, 8);
  if (rank === null) return "ok";
  return yield* withRank(a, rank, writeTargetsLocked, v);
}
function* writeTargetsLocked(a: Access, rank: VgicIrqRank, v: number): Co<MmioOutcome> {
  const itargetsr = update(fetchItargetsr(rank, a.off), v, a.off, a.size);
  yield* a.vgic.vgic_store_itargetsr(a.ctx, rank, a.off & ~3, itargetsr);
  return "ok";
}

function* readConfig(a: Access): Co<MmioResult> {
  const rank = rankOf(a, 2);
  if (rank === null) return ok(0);
  return yield* withRank(a, rank, readConfigLocked);
}
function* readConfigLocked(a: Access, rank: VgicIrqRank): Co<MmioResult> {
  yield PT_READ_ICFG;
  return ok(rank.icfg[(a.off >> 2) & 1]!);
}
function* writeConfig(a: Access, v: number): Co<MmioOutcome> {
  if (a.off < 8) return "ok"; // ICFGR0-1 (SGIs, PPIs): WI
  const rank = rankOf(a, 2);
  if (rank === null) return "ok";
  return yield* withRank(a, rank, writeConfigLocked, v);
}
function* writeConfigLocked(a: Access, rank: VgicIrqRank, v: number): Co<MmioOutcome> {
  yield PT_WRITE_ICFG;
  rank.icfg[(a.off >> 2) & 1] = v >>> 0;
  return "ok";
}

// eslint-disable-next-line require-yield
function* readSgir(_a: Access): Co<MmioResult> { return ok(0xdeadbeef); } // as Xen 4.8 answers
function* writeSgir(a: Access, v: number): Co<MmioOutcome> {
  const handled = yield* a.vgic.vgic_to_sgi(a.ctx, a.v, (v >>> 24) & 3, (v >>> 16) & 0xff, v & 0xf);
  return handled ? "ok" : "abort"; // the reserved TargetListFilter: data abort
}

/** Xen 4.8's GICD register rows (vgic_v2_distr_mmio_read/write). */
const ROWS: Row[] = [
  { name: "CTLR", start: GICD.CTLR, length: 4, widths: WORD, read: readCtlr, write: writeCtlr },
  { name: "TYPER", start: GICD.TYPER, length: 4, widths: WORD, read: readTyper, write: wi },
  { name: "IIDR", start: GICD.IIDR, length: 4, widths: WORD, read: readIidr, write: wi },
  { name: "IGROUPR", start: GICD.IGROUPR, length: 0x80, widths: WORD, read: raz, write: wi },
  { name: "ISENABLER", start: GICD.ISENABLER, length: 0x80, widths: WORD, read: readEnable, write: writeSetEnable },
  { name: "ICENABLER", start: GICD.ICENABLER, length: 0x80, widths: WORD, read: readEnable, write: writeClearEnable },
  // not supported by Xen 4.8: reads RAZ at any width (read_as_zero);
  // a write that is not a word is bad_width, a word write is "unhandled
  // word write" and fails (data abort) - but ICACTIVER's goes on to
  // write_ignore_32: ignored when a word, bad_width otherwise
  { name: "ISPENDR", start: GICD.ISPENDR, length: 0x80, widths: BYTE | 2 | WORD, writeWidths: WORD, read: raz, write: unhandledWrite },
  { name: "ICPENDR", start: GICD.ICPENDR, length: 0x80, widths: BYTE | 2 | WORD, writeWidths: WORD, read: raz, write: unhandledWrite },
  { name: "ISACTIVER", start: GICD.ISACTIVER, length: 0x80, widths: BYTE | 2 | WORD, writeWidths: WORD, read: raz, write: unhandledWrite },
  { name: "ICACTIVER", start: GICD.ICACTIVER, length: 0x80, widths: BYTE | 2 | WORD, writeWidths: WORD, read: raz, write: wi },
  { name: "IPRIORITYR", start: GICD.IPRIORITYR, length: 0x400, widths: BYTE | WORD, read: readPriority, write: writePriority },
  { name: "ITARGETSR", start: GICD.ITARGETSR, length: 0x400, widths: BYTE | WORD, read: readTargets, write: writeTargets },
  { name: "ICFGR", start: GICD.ICFGR, length: 0x100, widths: WORD, read: readConfig, write: writeConfig },
  { name: "NSACR", start: GICD.NSACR, length: 0x100, widths: WORD, read: raz, write: wi },
  { name: "SGIR", start: GICD.SGIR, length: 4, widths: WORD, read: readSgir, write: writeSgir },
  // reads RAZ at any width; byte and word writes are "unhandled" (data
  // abort), a halfword write is bad_width
  { name: "CPENDSGIR", start: GICD.CPENDSGIR, length: 0x10, widths: BYTE | 2 | WORD, writeWidths: BYTE | WORD, read: raz, write: unhandledWrite },
  { name: "SPENDSGIR", start: GICD.SPENDSGIR, length: 0x10, widths: BYTE | 2 | WORD, writeWidths: BYTE | WORD, read: raz, write: unhandledWrite },
  { name: "ICPIDR2", start: 0xfe8, length: 4, widths: WORD, read: unhandledRead, write: wi },
  { name: "ID", start: 0xfec, length: 0x14, widths: BYTE | 2 | WORD, read: raz, write: unhandledWrite },
];

const ROW_BY_WORD: (Row | undefined)[] = new Array(0x400);
for (const r of ROWS) for (let w = r.start >> 2; w < (r.start + r.length) >> 2; w++) ROW_BY_WORD[w] = r;
// Reserved and IMPLEMENTATION DEFINED ranges outside the rows: RAZ/WI at any width.
const RESERVED: Row = { name: "reserved", start: 0, length: 0x1000, widths: BYTE | 2 | WORD, read: raz, write: wi };

export function gicdRowName(off: number): string {
  return (ROW_BY_WORD[(off & 0xfff) >> 2] ?? RESERVED).name;
}

/** Decode and emulate one trapped GICD access of the guest on vCPU `v`. */
export function* vgic_v2_distr_mmio(vgic: Vgic, ctx: PCpu, v: Vcpu, off: number, size: Width,
  write: boolean, value: number): Co<MmioResult> {
  const row = off >= 0 && off < 0x1000 ? ROW_BY_WORD[off >> 2] ?? RESERVED : RESERVED;
  const widths = write ? row.writeWidths ?? row.widths : row.widths;
  if ((widths & size) === 0 || (off & (size - 1)) !== 0) {
    // bad_width: Xen prints and crashes the domain (domain_crash_synchronous)
    return { outcome: "crash", value: 0 };
  }
  const a: Access = { vgic, ctx, v, off: off - row.start, size };
  if (write) return { outcome: yield* row.write(a, value), value: 0 };
  return yield* row.read(a);
}
