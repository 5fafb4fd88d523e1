// The state of the whole physical GIC sits at fixed byte offsets in linear
// memory, sized for the largest configuration (8 CPUs, 1024 interrupt IDs,
// 64 list registers), below `memoryBase` in asconfig.json so that nothing the
// compiler emits can overlap it. host/hw/layout.ts mirrors every constant;
// tests/layout.test.ts checks the two agree through these exported globals.

export const MAX_CPUS: u32 = 8;
export const MAX_IRQS: u32 = 1024;
export const MAX_LRS: u32 = 64;
export const SPURIOUS: u32 = 1023;
export const STATE_END: u32 = 0x4800;

// ---- configuration (written by configure, read-only after reset)
export const CFG_NCPU: u32 = 0x400;
export const CFG_NIRQ: u32 = 0x404;
export const CFG_PRIO_BITS: u32 = 0x408;
export const CFG_NLR: u32 = 0x40c;
export const CFG_FLAGS: u32 = 0x410;
export const CFG_DELAY: u32 = 0x414;
export const CFG_GICD_BASE: u32 = 0x418;
export const CFG_GICC_BASE: u32 = 0x41c;
export const CFG_GICH_BASE: u32 = 0x420;
export const CFG_GICV_BASE: u32 = 0x424;
export const CFG_PRIO_MASK: u32 = 0x428; // implemented priority bits, e.g. 0xf8 for 5 bits
export const CFG_CPU_MASK: u32 = 0x42c; // one bit per implemented CPU

// CFG_FLAGS bits: the implementation-defined choices (IHI 0048B 4.3.2, 4.3.13)
export const FLAG_SGI_ALWAYS_ENABLED: u32 = 1; // ISENABLER0[15:0] read as one, writes ignored
export const FLAG_PPI_CFG_READONLY: u32 = 2; // ICFGR1 is read-only

// ---- global run-time state
export const G_NOW: u32 = 0x440; // f64: the model's cycle clock, advanced by the host
export const G_NEXT_DUE: u32 = 0x448; // f64: earliest pending delayed line change, -1 if none
export const G_STATUS: u32 = 0x450; // status of the last access (ACCESS_*)
export const G_LINES_SEQ: u32 = 0x454; // bumped whenever a visible output line changes
export const G_DIST_CTLR: u32 = 0x458;
export const G_BAD_CPU: u32 = 0x45c; // calls naming a CPU that does not exist
export const G_ACCESSES: u32 = 0x460; // every decoded register access, good or bad
// Interfaces whose derived state must be recomputed: bit c = CPU interface c
// (best candidate, physical lines), bit 8 + c = virtual interface c (MISR,
// EISR, ELRSR, best list register, virtual lines). One word, so settling
// after an access touches only the interfaces it changed.
export const G_DIRTY: u32 = 0x464;

// ---- distributor: banked bitmaps. Word 0 (IDs 0-31) is banked per CPU,
// words 1-31 (SPIs) are shared: BM_BANK_BYTES of banked words, then the
// shared words indexed from the start of the shared area.
export const BM_BANK_BYTES: u32 = 32;
export const BM_BYTES: u32 = 160;
export const BM_ENABLE: u32 = 0x500;
export const BM_PEND: u32 = 0x5a0; // latched pending (edge, ISPENDR, SGI sources)
export const BM_ACTIVE: u32 = 0x640;
export const BM_GROUP: u32 = 0x6e0; // 1 = Group 1
export const BM_LEVEL: u32 = 0x780; // input line level
export const BM_EDGE: u32 = 0x820; // ICFGR Int_config[1]: 1 = edge-triggered

// priorities: 32 banked bytes per CPU, then one byte per ID for IDs 32-1023
export const PRIO_BANKED: u32 = 0x900;
export const PRIO_SHARED: u32 = 0xa00;
export const TARGETS: u32 = 0xe00; // one CPU-mask byte per SPI
export const SGI_SRC: u32 = 0x1200; // [target CPU][SGI 0-15]: one bit per source CPU

// per-CPU candidate bitmaps: enabled, pending, not active, targeted here,
// group forwarded by the distributor. CAND_SUM bit w = word w non-zero.
export const CAND: u32 = 0x1400; // 8 CPUs x 32 words
export const CAND_SUM: u32 = 0x1800; // 8 words

// ---- CPU interfaces, one block per CPU
export const CPU_BASE: u32 = 0x1900;
export const CPU_STRIDE: u32 = 0x80;
export const C_CTLR: u32 = 0x00;
export const C_PMR: u32 = 0x04;
export const C_BPR: u32 = 0x08;
export const C_ABPR: u32 = 0x0c;
export const C_APR: u32 = 0x10; // 4 words: one bit per preemption level (128 levels)
export const C_RPR: u32 = 0x20; // running priority, 0x100 when idle (derived from C_APR)
export const C_HPPI: u32 = 0x24; // ID (and source CPU << 10) of the best candidate, 1023 if none
export const C_HPPI_PRIO: u32 = 0x28;
export const C_LINES: u32 = 0x30; // lines as computed now (LINE_*)
export const C_LINES_VIS: u32 = 0x34; // lines as the CPU sees them (after the propagation delay)
export const C_LINES_DUE: u32 = 0x38; // f64: when C_LINES becomes visible, -1 if nothing pending
export const C_BAD: u32 = 0x40; // 5 counters, indexed by ACCESS_* - 1

// output lines
export const LINE_IRQ: u32 = 1;
export const LINE_FIQ: u32 = 2;
export const LINE_VIRQ: u32 = 4;
export const LINE_VFIQ: u32 = 8;
export const LINE_MAINT: u32 = 16;

// ---- virtual interface (GICH state; GICV is a view of it), one block per CPU
export const VIF_BASE: u32 = 0x2000;
export const VIF_STRIDE: u32 = 0x200;
export const V_HCR: u32 = 0x00;
export const V_VMCR: u32 = 0x04;
export const V_APR: u32 = 0x08;
export const V_MISR: u32 = 0x0c; // derived
export const V_EISR0: u32 = 0x10; // derived
export const V_EISR1: u32 = 0x14;
export const V_ELRSR0: u32 = 0x18; // derived
export const V_ELRSR1: u32 = 0x1c;
export const V_HPPI: u32 = 0x20; // index of the best pending list register, -1 if none
export const V_LINES: u32 = 0x28; // virtual and maintenance lines as last computed
export const V_PEND_LRS: u32 = 0x30; // u64: list registers in the pending state (01)
export const V_LR: u32 = 0x100; // 64 words

// ---- decode maps: one byte per 32-bit word of a frame, 0 = no register,
// else 1 + row index into the register table (assembly/decode.ts)
export const DEC_GICD: u32 = 0x3000; // 0x000-0xfff
export const DEC_GICH: u32 = 0x3400; // 0x000-0x1ff
export const DEC_GICC: u32 = 0x3800; // 0x0000-0x1fff (GICC_DIR at 0x1000)
export const DEC_GICV: u32 = 0x4000; // 0x0000-0x1fff (GICV_DIR at 0x1000)
export const DEC_GICD_WORDS: u32 = 0x400;
export const DEC_GICC_WORDS: u32 = 0x800; // also GICV
export const DEC_GICH_WORDS: u32 = 0x80;

// ---- access status (G_STATUS, mmioWrite's return value, C_BAD index + 1)
export const ACCESS_OK: u32 = 0;
export const ACCESS_UNMAPPED: u32 = 1; // no register at this address
export const ACCESS_WIDTH: u32 = 2; // width not allowed for this register
export const ACCESS_UNALIGNED: u32 = 3;
export const ACCESS_RO_WRITE: u32 = 4; // write to a read-only register: ignored
export const ACCESS_WO_READ: u32 = 5; // read of a write-only register: reads as zero
export const ACCESS_KINDS: u32 = 5;
