// Mirror of assembly/layout.ts: the byte offsets of the GIC model's state in
// wasm linear memory. tests/layout.test.ts checks every constant here against
// the globals the wasm module exports, so the two cannot drift apart.

export const MAX_CPUS = 8;
export const MAX_IRQS = 1024;
export const MAX_LRS = 64;
export const SPURIOUS = 1023;
export const STATE_END = 0x4800;

// ---- configuration (written by configure, read-only after reset)
export const CFG_NCPU = 0x400;
export const CFG_NIRQ = 0x404;
export const CFG_PRIO_BITS = 0x408;
export const CFG_NLR = 0x40c;
export const CFG_FLAGS = 0x410;
export const CFG_DELAY = 0x414;
export const CFG_GICD_BASE = 0x418;
export const CFG_GICC_BASE = 0x41c;
export const CFG_GICH_BASE = 0x420;
export const CFG_GICV_BASE = 0x424;
export const CFG_PRIO_MASK = 0x428; // implemented priority bits, e.g. 0xf8 for 5 bits
export const CFG_CPU_MASK = 0x42c; // one bit per implemented CPU

// CFG_FLAGS bits: the implementation-defined choices (IHI 0048B 4.3.2, 4.3.13)
export const FLAG_SGI_ALWAYS_ENABLED = 1; // ISENABLER0[15:0] read as one, writes ignored
export const FLAG_PPI_CFG_READONLY = 2; // ICFGR1 is read-only

// ---- global run-time state
export const G_NOW = 0x440; // f64: the model's cycle clock, advanced by the host
export const G_NEXT_DUE = 0x448; // f64: earliest pending delayed line change, -1 if none
export const G_STATUS = 0x450; // status of the last access (ACCESS_*)
export const G_LINES_SEQ = 0x454; // bumped whenever a visible output line changes
export const G_DIST_CTLR = 0x458;
export const G_BAD_CPU = 0x45c; // calls naming a CPU that does not exist
export const G_ACCESSES = 0x460; // every decoded register access, good or bad
// Interfaces whose derived state must be recomputed: bit c = CPU interface c
// (best candidate, physical lines), bit 8 + c = virtual interface c (MISR,
// EISR, ELRSR, best list register, virtual lines). One word, so settling
// after an access touches only the interfaces it changed.
export const G_DIRTY = 0x464;

// ---- distributor: banked bitmaps. Word 0 (IDs 0-31) is banked per CPU,
// words 1-31 (SPIs) are shared: BM_BANK_BYTES of banked words, then the
// shared words indexed from the start of the shared area.
export const BM_BANK_BYTES = 32;
export const BM_BYTES = 160;
export const BM_ENABLE = 0x500;
export const BM_PEND = 0x5a0; // latched pending (edge, ISPENDR, SGI sources)
export const BM_ACTIVE = 0x640;
export const BM_GROUP = 0x6e0; // 1 = Group 1
export const BM_LEVEL = 0x780; // input line level
export const BM_EDGE = 0x820; // ICFGR Int_config[1]: 1 = edge-triggered

// priorities: 32 banked bytes per CPU, then one byte per ID for IDs 32-1023
export const PRIO_BANKED = 0x900;
export const PRIO_SHARED = 0xa00;
export const TARGETS = 0xe00; // one CPU-mask byte per SPI
export const SGI_SRC = 0x1200; // [target CPU][SGI 0-15]: one bit per source CPU

// per-CPU candidate bitmaps: enabled, pending, not active, targeted here,
// group forwarded by the distributor. CAND_SUM bit w = word w non-zero.
export const CAND = 0x1400; // 8 CPUs x 32 words
export const CAND_SUM = 0x1800; // 8 words

// ---- CPU interfaces, one block per CPU
export const CPU_BASE = 0x1900;
export const CPU_STRIDE = 0x80;
export const C_CTLR = 0x00;
export const C_PMR = 0x04;
export const C_BPR = 0x08;
export const C_ABPR = 0x0c;
export const C_APR = 0x10; // 4 words: one bit per preemption level (128 levels)
export const C_RPR = 0x20; // running priority, 0x100 when idle (derived from C_APR)
export const C_HPPI = 0x24; // ID (and source CPU << 10) of the best candidate, 1023 if none
export const C_HPPI_PRIO = 0x28;
export const C_LINES = 0x30; // lines as computed now (LINE_*)
export const C_LINES_VIS = 0x34; // lines as the CPU sees them (after the propagation delay)
export const C_LINES_DUE = 0x38; // f64: when C_LINES becomes visible, -1 if nothing pending
export const C_BAD = 0x40; // 5 counters, indexed by ACCESS_* - 1

// output lines
export const LINE_IRQ = 1;
export const LINE_FIQ = 2;
export const LINE_VIRQ = 4;
export const LINE_VFIQ = 8;
export const LINE_MAINT = 16;

// ---- virtual interface (GICH state; GICV is a view of it), one block per CPU
export const VIF_BASE = 0x2000;
export const VIF_STRIDE = 0x200;
export const V_HCR = 0x00;
export const V_VMCR = 0x04;
export const V_APR = 0x08;
export const V_MISR = 0x0c; // derived
export const V_EISR0 = 0x10; // derived
export const V_EISR1 = 0x14;
export const V_ELRSR0 = 0x18; // derived
export const V_ELRSR1 = 0x1c;
export const V_HPPI = 0x20; // index of the best pending list register, -1 if none
export const V_LINES = 0x28; // virtual and maintenance lines as last computed
export const V_PEND_LRS = 0x30; // u64: list registers in the pending state (01)
export const V_LR = 0x100; // 64 words

// ---- decode maps: one byte per 32-bit word of a frame, 0 = no register,
// else 1 + row index into the register table (assembly/decode.ts)
export const DEC_GICD = 0x3000; // 0x000-0xfff
export const DEC_GICH = 0x3400; // 0x000-0x1ff
export const DEC_GICC = 0x3800; // 0x0000-0x1fff (GICC_DIR at 0x1000)
export const DEC_GICV = 0x4000; // 0x0000-0x1fff (GICV_DIR at 0x1000)
export const DEC_GICD_WORDS = 0x400;
export const DEC_GICC_WORDS = 0x800; // also GICV
export const DEC_GICH_WORDS = 0x80;

// ---- access status (G_STATUS, mmioWrite's return value, C_BAD index + 1)
export const ACCESS_OK = 0;
export const ACCESS_UNMAPPED = 1; // no register at this address
export const ACCESS_WIDTH = 2; // width not allowed for this register
export const ACCESS_UNALIGNED = 3;
export const ACCESS_RO_WRITE = 4; // write to a read-only register: ignored
export const ACCESS_WO_READ = 5; // read of a write-only register: reads as zero
export const ACCESS_KINDS = 5;
