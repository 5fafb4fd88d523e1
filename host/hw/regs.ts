// Register offsets and fields of the GICv2 frames (IHI 0048B Tables 4-1, 4-2,
// 5-1, 5-2), for host code that talks to the model in the architecture's words.

export const GICD = {
  CTLR: 0x000,
  TYPER: 0x004,
  IIDR: 0x008,
  IGROUPR: 0x080,
  ISENABLER: 0x100,
  ICENABLER: 0x180,
  ISPENDR: 0x200,
  ICPENDR: 0x280,
  ISACTIVER: 0x300,
  ICACTIVER: 0x380,
  IPRIORITYR: 0x400,
  ITARGETSR: 0x800,
  ICFGR: 0xc00,
  NSACR: 0xe00,
  SGIR: 0xf00,
  CPENDSGIR: 0xf10,
  SPENDSGIR: 0xf20,
  PIDR4: 0xfd0,
  PIDR0: 0xfe0,
  PIDR2: 0xfe8,
  CIDR0: 0xff0,
} as const;

/** The CPUs of `n` a GICD_SGIR value written by CPU `sender` names, as a
 *  bit mask (IHI 0048B 4.3.15: TargetListFilter 0 the CPUTargetList, 1
 *  every CPU but the sender, 2 the sender alone, 3 reserved: none). */
export function sgirTargetMask(value: number, sender: number, n: number): number {
  const all = (1 << n) - 1;
  switch ((value >>> 24) & 3) {
    case 0: return (value >>> 16) & 0xff & all;
    case 1: return all & ~(1 << sender);
    case 2: return (1 << sender) & all;
    default: return 0;
  }
}

export const GICC = {
  CTLR: 0x00,
  PMR: 0x04,
  BPR: 0x08,
  IAR: 0x0c,
  EOIR: 0x10,
  RPR: 0x14,
  HPPIR: 0x18,
  ABPR: 0x1c,
  AIAR: 0x20,
  AEOIR: 0x24,
  AHPPIR: 0x28,
  APR: 0xd0,
  NSAPR: 0xe0,
  IIDR: 0xfc,
  DIR: 0x1000,
} as const;

/** GICV has the layout of GICC (IHI 0048B 5.4, Table 5-2). */
export const GICV = GICC;

export const GICH = {
  HCR: 0x000,
  VTR: 0x004,
  VMCR: 0x008,
  MISR: 0x010,
  EISR0: 0x020,
  EISR1: 0x024,
  ELRSR0: 0x030,
  ELRSR1: 0x034,
  APR: 0x0f0,
  LR: 0x100,
} as const;

export const CTLR = {
  EnableGrp0: 1 << 0,
  EnableGrp1: 1 << 1,
  AckCtl: 1 << 2,
  FIQEn: 1 << 3,
  CBPR: 1 << 4,
  EOImode: 1 << 9,
} as const;

export const HCR = {
  En: 1 << 0,
  UIE: 1 << 1,
  LRENPIE: 1 << 2,
  NPIE: 1 << 3,
  VGrp0EIE: 1 << 4,
  VGrp0DIE: 1 << 5,
  VGrp1EIE: 1 << 6,
  VGrp1DIE: 1 << 7,
  EOICountShift: 27,
} as const;

export const MISR = {
  EOI: 1 << 0,
  U: 1 << 1,
  LRENP: 1 << 2,
  NP: 1 << 3,
  VGrp0E: 1 << 4,
  VGrp0D: 1 << 5,
  VGrp1E: 1 << 6,
  VGrp1D: 1 << 7,
} as const;

export const VMCR = {
  Grp0En: 1 << 0,
  Grp1En: 1 << 1,
  AckCtl: 1 << 2,
  FIQEn: 1 << 3,
  CBPR: 1 << 4,
  VEM: 1 << 9,
  ABPShift: 18,
  BPShift: 21,
  PriMaskShift: 27,
} as const;

export enum LrState {
  Invalid = 0,
  Pending = 1,
  Active = 2,
  PendingActive = 3,
}

export interface ListRegister {
  virtualId: number;
  /** PhysicalID when hw; for a software SGI, the source CPU in bits [2:0] */
  physicalId: number;
  /** HW=0 only: raise EOI maintenance on deactivation */
  eoi: boolean;
  /** the 8-bit priority; the register keeps its upper 5 bits */
  priority: number;
  state: LrState;
  group1: boolean;
  hw: boolean;
}

/** Encode a GICH_LRn value (IHI 0048B 5.3.11). */
export function encodeLr(lr: ListRegister): number {
  return ((lr.virtualId & 0x3ff) |
    ((lr.physicalId & 0x3ff) << 10) |
    (lr.eoi && !lr.hw ? 1 << 19 : 0) |
    (((lr.priority >> 3) & 0x1f) << 23) |
    ((lr.state & 3) << 28) |
    (lr.group1 ? 1 << 30 : 0) |
    (lr.hw ? 1 << 31 : 0)) >>> 0;
}

export function decodeLr(v: number): ListRegister {
  const hw = (v >>> 31) === 1;
  return {
    virtualId: v & 0x3ff,
    physicalId: (v >>> 10) & 0x3ff,
    eoi: !hw && ((v >>> 19) & 1) === 1,
    priority: ((v >>> 23) & 0x1f) << 3,
    state: (v >>> 28) & 3,
    group1: ((v >>> 30) & 1) === 1,
    hw,
  };
}

/** GICD_SGIR value (IHI 0048B 4.3.15). */
export function sgir(filter: 0 | 1 | 2 | 3, targets: number, sgi: number): number {
  return ((filter << 24) | ((targets & 0xff) << 16) | (sgi & 0xf)) >>> 0;
}
