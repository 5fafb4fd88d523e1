// An independent reference for what the GIC's registers store, written from
// IHI 0048B and sharing no code with the model's decoder (assembly/decode.ts):
// the distributor's per-interrupt storage (IGROUPR, the ISENABLER/ICENABLER
// pair, IPRIORITYR and ITARGETSR byte lanes, ICFGR), GICD_CTLR, SGI pending
// state per target and per source CPU (GICD_SGIR, CPENDSGIR/SPENDSGIR and
// acknowledgement), and the virtual interface: GICH_HCR, GICH_VMCR with its
// GICV aliases, GICH_APR and the list registers through virtual acknowledge,
// EOI and deactivation. After every operation that touches one of them the
// model's read-back, through the same port the operations use, must equal the
// reference.
//
// What is not tracked here, and why: pending and active state of PPIs and
// SPIs, which input lines and the physical acknowledge/EOI flows change:
// the invariants of ./invariants.ts judge an acknowledge against the state
// before it, and the CPU interface oracle of ./cpu-interface.ts judges which
// interrupt it takes, what GICC_EOIR/AEOIR and GICC_DIR do to the active
// state, the deactivation a HW=1 list register's retirement makes, and the
// output lines. The physical CPU interface's GICC_APR, whose format is
// IMPLEMENTATION DEFINED (4.4.14): ./cpu-interface.ts tracks the running
// priority it stands for from the acknowledges and EOIs instead. Reset
// values of the tracked registers are read from the model once, when the
// reference is made (several are IMPLEMENTATION DEFINED, e.g. PPI
// configuration); every later value follows from the operations alone.

import type { GicConfig } from "../hw/gic.ts";
import { GICC, GICD, GICH, GICV, sgirTargetMask } from "../hw/regs.ts";
import type { HwOp, Violation } from "./invariants.ts";

/** Read access the reference needs: the port operations go through. */
export interface RefPort {
  read(cpu: number, addr: number, size: number): number;
}

export const REF_INVARIANTS = {
  "ref-storage": "a tracked register reads back what IHI 0048B says the operations so far stored (byte lanes, banked copies, set/clear pairs, SGI sources, list registers, GICH_APR, GICH_HCR, GICH_VMCR)",
  "ref-sgi-source": "GICC_IAR returns an SGI only with a source CPU that has it pending (4.3.15, 3.2.4)",
  "ref-virtual": "a virtual acknowledge, EOI or deactivation changes exactly the list register it names (5.4, 5.3.11)",
} as const;

// list register fields (5.3.11)
const LR_PENDING = 1 << 28;
const LR_ACTIVE = 1 << 29;
const LR_GRP1 = 1 << 30;
const LR_HW = 0x80000000;
/** bits [22:20] of a list register are reserved */
const LR_WRITABLE = 0xff8fffff;
// 5.3.2: En and the maintenance enables [7:0], EOICount [31:27]
const HCR_WRITABLE = 0xf80000ff;
// 5.3.3: VMPriMask [31:27], VMBP [23:21], VMABP [20:18], VEM [9], VMCBPR,
// VMFIQEn, VMAckCtl, VMGrp1En, VMGrp0En [4:0]
const VMCR_WRITABLE = 0xf8fc021f;
const VMCR_CTLR_BITS = 0x21f;
const VMCR_VEM = 1 << 9;
const VMCR_CBPR = 1 << 4;
/** the virtual interface's 5 priority bits make 2 the least binary point
 *  (3.3.3, Table 3-7), and 3 the least for the Group 1 (aliased) one */
const VMIN_BPR = 2;

/** Coverage feature ids the reference reports (host/fuzz/hw.ts names them). */
export const REF_FEATURE = {
  /** + cause * 16 + old state * 4 + new state; causes: 0 write, 1 ack, 2 EOI, 3 DIR */
  lrTransition: 3400,
  /** + GICH_APR level set by a virtual acknowledge (0-31) */
  virtualLevel: 3480,
  /** + number of GICH_APR bits set after a virtual acknowledge (1-32) */
  virtualNesting: 3520,
  /** + number of source CPUs pending for an SGI after a GICD_SGIR write (1-8) */
  sgiSources: 3560,
  /** + EOICount after an EOI that matched no list register (0-31) */
  eoiCount: 3570,
} as const;
export const LR_CAUSES = ["write", "ack", "eoi", "dir"] as const;

const FULL = 0xffffffff;

function hex(v: number): string { return `0x${(v >>> 0).toString(16)}`; }
function popcount(x: number): number {
  let n = 0;
  for (x >>>= 0; x !== 0; x &= x - 1) n++;
  return n;
}

/** The ID a virtual acknowledge reports for a list register: an SGI of a
 *  software entry carries its source CPU in bits [12:10] (5.3.11). */
function reportedId(lr: number): number {
  const vid = lr & 0x3ff;
  return (lr & LR_HW) === 0 && vid < 16 ? vid | (lr & 0x1c00) : vid;
}

interface Vif { hcr: number; vmcr: number; apr: number; lrs: Uint32Array }

export class RegisterReference {
  private readonly c: GicConfig;
  private readonly port: RefPort;
  private readonly base: readonly number[];
  private readonly nwords: number;
  private readonly cpuMask: number;
  private readonly prioMask: number;
  private ctlr = 0;
  /** bit maps, 32 words per CPU: word 0 banked, words 1.. kept at CPU 0 */
  private readonly group: Uint32Array;
  private readonly enable: Uint32Array;
  private readonly edge: Uint32Array;
  /** priorities: 32 banked bytes per CPU, then 1024 shared at 256 */
  private readonly prio: Uint8Array;
  private readonly targets = new Uint8Array(1024);
  /** SGI pending sources: [target CPU * 16 + SGI] = a bit per source */
  private readonly sgi: Uint8Array;
  private readonly vif: Vif[];
  /** words to read back after the operation: (cpu, frame, offset) triples */
  private checks = new Int32Array(3 * 80);
  private nchecks = 0;
  /** coverage sink, optional */
  hit: ((feature: number) => void) | null = null;

  constructor(config: GicConfig, port: RefPort) {
    this.c = config;
    this.port = port;
    const m = config.map;
    this.base = [m.gicd, m.gicc, m.gich, m.gicv];
    this.nwords = Math.ceil(config.irqs / 32);
    this.cpuMask = (1 << config.cpus) - 1;
    this.prioMask = (0xff << (8 - config.priorityBits)) & 0xff;
    this.group = new Uint32Array(config.cpus * 32);
    this.enable = new Uint32Array(config.cpus * 32);
    this.edge = new Uint32Array(config.cpus * 32);
    this.prio = new Uint8Array(256 + 1024);
    this.sgi = new Uint8Array(config.cpus * 16);
    this.vif = Array.from({ length: config.cpus }, () => ({ hcr: 0, vmcr: 0, apr: 0, lrs: new Uint32Array(config.listRegisters) }));
    this.load();
  }

  // ---- storage layout

  private bm(cpu: number, w: number): number { return w === 0 ? cpu * 32 : w; }
  private pidx(cpu: number, irq: number): number { return irq < 32 ? cpu * 32 + irq : 256 + irq; }
  /** implemented bits of bitmap word w: IDs below the GIC's count, never 1020-1023 (4.3) */
  private impl(w: number): number {
    const n = this.c.irqs;
    return (w + 1) * 32 <= n ? 0xffffffff : ((1 << (n & 31)) - 1) >>> 0;
  }

  /** Reset values, read once through the port (see the header). */
  private load(): void {
    const c = this.c;
    const rd = (cpu: number, frame: number, off: number) => this.port.read(cpu, this.base[frame]! + off, 4) >>> 0;
    this.ctlr = rd(0, 0, GICD.CTLR) & 3;
    for (let cpu = 0; cpu < c.cpus; cpu++) {
      for (let w = 0; w < this.nwords; w++) {
        if (w > 0 && cpu > 0) continue;
        this.group[this.bm(cpu, w)] = rd(cpu, 0, GICD.IGROUPR + 4 * w) & this.impl(w);
        this.enable[this.bm(cpu, w)] = rd(cpu, 0, GICD.ISENABLER + 4 * w) & this.impl(w);
      }
      // 4.3.13: SGIs are edge-triggered, read-only; PPIs banked, SPIs shared
      this.edge[this.bm(cpu, 0)] = 0xffff;
      for (let w = 1; w < 2 * this.nwords; w++) {
        if (w >= 2 && cpu > 0) break;
        const v = rd(cpu, 0, GICD.ICFGR + 4 * w);
        let bits = 0;
        for (let i = 0; i < 16; i++) bits |= ((v >>> (2 * i + 1)) & 1) << i;
        const k = this.bm(cpu, w >> 1);
        this.edge[k] = (this.edge[k]! | (bits << (16 * (w & 1)))) >>> 0;
      }
      for (let irq = 0; irq < Math.min(c.irqs, 1020); irq += 4) {
        if (irq >= 32 && cpu > 0) break;
        const v = rd(cpu, 0, GICD.IPRIORITYR + irq);
        for (let i = 0; i < 4 && irq + i < c.irqs; i++) this.prio[this.pidx(cpu, irq + i)] = (v >>> (8 * i)) & 0xff;
      }
      for (let s = 0; s < 16; s += 4) {
        const v = rd(cpu, 0, GICD.SPENDSGIR + s);
        for (let i = 0; i < 4; i++) this.sgi[cpu * 16 + s + i] = (v >>> (8 * i)) & 0xff;
      }
      const f = this.vif[cpu]!;
      f.hcr = rd(cpu, 2, GICH.HCR);
      f.vmcr = rd(cpu, 2, GICH.VMCR);
      f.apr = rd(cpu, 2, GICH.APR);
      for (let n = 0; n < c.listRegisters; n++) f.lrs[n] = rd(cpu, 2, GICH.LR + 4 * n);
    }
    if (c.cpus > 1) {
      for (let irq = 32; irq < Math.min(c.irqs, 1020); irq += 4) {
        const v = rd(0, 0, GICD.ITARGETSR + irq);
        for (let i = 0; i < 4 && irq + i < c.irqs; i++) this.targets[irq + i] = (v >>> (8 * i)) & 0xff;
      }
    }
  }

  /** List register `n` of `cpu` as the reference holds it. */
  listRegister(cpu: number, n: number): number { return this.vif[cpu]?.lrs[n] ?? 0; }

  // ---- what a word reads

  /** The reference value of the aligned word at `off` of `frame` as `cpu`
   *  reads it, with the mask of the bits the reference tracks; null when
   *  the word is not tracked. */
  expected(cpu: number, frame: number, off: number): { value: number; mask: number } | null {
    return this.want(cpu, frame, off) ? { value: this.wantValue, mask: this.wantMask } : null;
  }

  /** `expected` without allocating: the answer in wantValue and wantMask. */
  private want(cpu: number, frame: number, off: number): boolean {
    const c = this.c;
    if (frame === 0) {
      if (off === GICD.CTLR) return this.put(this.ctlr, FULL);
      if (off >= GICD.IGROUPR && off < GICD.ISENABLER) {
        const w = (off - GICD.IGROUPR) >> 2;
        return this.put(w < this.nwords ? this.group[this.bm(cpu, w)]! : 0, FULL);
      }
      if (off >= GICD.ISENABLER && off < GICD.ISPENDR) {
        const w = ((off - GICD.ISENABLER) & 0x7f) >> 2;
        if (w >= this.nwords) return this.put(0, FULL);
        // 4.3.5: SGIs may be permanently enabled (IMPLEMENTATION DEFINED)
        return this.put(this.enable[this.bm(cpu, w)]! | (w === 0 && c.sgiAlwaysEnabled ? 0xffff : 0), FULL);
      }
      if (off === GICD.ISPENDR || off === GICD.ICPENDR) {
        // SGI pending bits: pending from any source (4.3.7); PPIs not tracked
        let v = 0;
        for (let s = 0; s < 16; s++) if (this.sgi[cpu * 16 + s] !== 0) v |= 1 << s;
        return this.put(v, 0xffff);
      }
      if (off >= GICD.IPRIORITYR && off < GICD.ITARGETSR) {
        let v = 0;
        for (let i = 0; i < 4; i++) {
          const irq = off - GICD.IPRIORITYR + i;
          if (irq < c.irqs) v |= this.prio[this.pidx(cpu, irq)]! << (8 * i);
        }
        return this.put(v, FULL);
      }
      if (off >= GICD.ITARGETSR && off < GICD.ICFGR) {
        // 4.3.12: RAZ/WI on a uniprocessor GIC; IDs 0-31 read as the reader's own bit
        if (c.cpus === 1) return this.put(0, FULL);
        let v = 0;
        for (let i = 0; i < 4; i++) {
          const irq = off - GICD.ITARGETSR + i;
          if (irq < c.irqs) v |= (irq < 32 ? 1 << cpu : this.targets[irq]!) << (8 * i);
        }
        return this.put(v, FULL);
      }
      if (off >= GICD.ICFGR && off < GICD.NSACR) {
        const irq0 = ((off - GICD.ICFGR) >> 2) * 16;
        if (irq0 >= c.irqs) return this.put(0, FULL);
        const word = (this.edge[this.bm(cpu, irq0 >> 5)]! & this.impl(irq0 >> 5)) >>> (irq0 & 31);
        let v = 0;
        for (let i = 0; i < 16; i++) v |= ((word >>> i) & 1) << (2 * i + 1);
        // Int_config[0] of each field is reserved in GICv2: not judged
        return this.put(v, 0xaaaaaaaa);
      }
      if (off >= GICD.CPENDSGIR && off < GICD.SPENDSGIR + 0x10) {
        const s0 = off & 0xc;
        let v = 0;
        for (let i = 0; i < 4; i++) v |= this.sgi[cpu * 16 + s0 + i]! << (8 * i);
        return this.put(v, FULL);
      }
      return false;
    }
    const f = this.vif[cpu]!;
    if (frame === 2) {
      if (off === GICH.HCR) return this.put(f.hcr, FULL);
      if (off === GICH.VMCR) return this.put(f.vmcr, FULL);
      if (off === GICH.APR) return this.put(f.apr, FULL);
      if (off >= GICH.LR && off < GICH.LR + 0x100) {
        const n = (off - GICH.LR) >> 2;
        return this.put(n < c.listRegisters ? f.lrs[n]! : 0, FULL);
      }
      return false;
    }
    if (frame === 3) {
      // 5.3.3: GICV_CTLR, PMR, BPR and ABPR are views of GICH_VMCR; GICV_APR0 is GICH_APR
      switch (off) {
        case GICV.CTLR: return this.put(f.vmcr & VMCR_CTLR_BITS, FULL);
        case GICV.PMR: return this.put((f.vmcr >>> 27) << 3, FULL);
        case GICV.BPR: return this.put((f.vmcr >>> 21) & 7, FULL);
        case GICV.ABPR: return this.put((f.vmcr >>> 18) & 7, FULL);
        case GICV.APR: return this.put(f.apr, FULL);
      }
    }
    return false;
  }

  private wantValue = 0;
  private wantMask = 0;
  private put(value: number, mask: number): true {
    this.wantValue = value >>> 0;
    this.wantMask = mask >>> 0;
    return true;
  }

  // ---- operations

  /**
   * Account for a legal operation (`frame` and `off` as the access checker
   * classified it) and check the read-back. `result` is the value read. The
   * words the operation changed are read back through the port.
   */
  after(op: HwOp, frame: number, off: number, result: number): Violation | null {
    if (op.t === "line") return null;
    const cpu = op.cpu;
    this.nchecks = 0;
    if (op.t === "r") {
      const v = this.onRead(cpu, frame, off, result >>> 0);
      if (v) return v;
      if (this.want(cpu, frame, off & ~3)) {
        const lane = (off & 3) * 8;
        const mask = op.size === 4 ? this.wantMask : ((this.wantMask >>> lane) & (op.size === 1 ? 0xff : 0xffff));
        const want = op.size === 4 ? this.wantValue : (this.wantValue >>> lane);
        if (((result ^ want) & mask) !== 0) return this.mismatch(op, cpu, frame, off, result, (want & mask) >>> 0, mask);
      }
    } else {
      const v = this.onWrite(cpu, frame, off, op.value >>> 0, op.size);
      if (v) return v;
    }
    const k = this.checks;
    for (let i = 0; i < this.nchecks * 3; i += 3) {
      const kc = k[i]!, kf = k[i + 1]!, ko = k[i + 2]!;
      this.want(kc, kf, ko);
      const got = this.port.read(kc, this.base[kf]! + ko, 4) >>> 0;
      if (((got ^ this.wantValue) & this.wantMask) !== 0) {
        return this.mismatch(op, kc, kf, ko, got, (this.wantValue & this.wantMask) >>> 0, this.wantMask, true);
      }
    }
    return null;
  }

  /** Every tracked word of every CPU, compared with the model's read-back. */
  audit(): Violation | null {
    const c = this.c;
    for (let cpu = 0; cpu < c.cpus; cpu++) {
      const v = this.auditWord(cpu, 0, GICD.CTLR) ?? this.auditWord(cpu, 0, GICD.ISPENDR) ??
        this.auditWord(cpu, 2, GICH.HCR) ?? this.auditWord(cpu, 2, GICH.VMCR) ?? this.auditWord(cpu, 2, GICH.APR);
      if (v) return v;
      for (let w = 0; w < this.nwords; w++) {
        const x = this.auditWord(cpu, 0, GICD.IGROUPR + 4 * w) ?? this.auditWord(cpu, 0, GICD.ISENABLER + 4 * w) ??
          this.auditWord(cpu, 0, GICD.ICFGR + 8 * w) ?? this.auditWord(cpu, 0, GICD.ICFGR + 8 * w + 4);
        if (x) return x;
      }
      for (let i = 0; i < Math.min(c.irqs, 1020); i += 4) {
        const x = this.auditWord(cpu, 0, GICD.IPRIORITYR + i) ?? this.auditWord(cpu, 0, GICD.ITARGETSR + i);
        if (x) return x;
      }
      for (let s = 0; s < 16; s += 4) {
        const x = this.auditWord(cpu, 0, GICD.SPENDSGIR + s);
        if (x) return x;
      }
      for (let n = 0; n < c.listRegisters; n++) {
        const x = this.auditWord(cpu, 2, GICH.LR + 4 * n);
        if (x) return x;
      }
    }
    return null;
  }

  private auditWord(cpu: number, frame: number, off: number): Violation | null {
    this.want(cpu, frame, off);
    const got = this.port.read(cpu, this.base[frame]! + off, 4) >>> 0;
    if (((got ^ this.wantValue) & this.wantMask) === 0) return null;
    return {
      invariant: "ref-storage",
      message: `CPU ${cpu}: ${regName(frame, off)} reads ${hex(got)}, the reference holds ${hex(this.wantValue & this.wantMask)}` +
        `${this.wantMask !== 0xffffffff ? ` (bits ${hex(this.wantMask)})` : ""} (end-of-case audit)`,
    };
  }

  private mismatch(op: HwOp, cpu: number, frame: number, off: number, got: number, want: number, mask: number,
    readBack = false): Violation {
    const what = op.t === "r" ? "read" : "write";
    return {
      invariant: "ref-storage",
      message: `CPU ${cpu}: ${regName(frame, off & ~3)}${(off & 3) !== 0 ? ` byte ${off & 3}` : ""} reads ${hex(got)}, ` +
        `the reference holds ${hex(want)}${mask !== 0xffffffff && mask !== 0xff ? ` (bits ${hex(mask)})` : ""}` +
        `${readBack ? ` (read back after a ${what} by CPU ${op.cpu})` : ""}`,
    };
  }

  private check(cpu: number, frame: number, off: number): void {
    const i = this.nchecks++ * 3;
    if (i + 3 > this.checks.length) {
      const more = new Int32Array(this.checks.length * 2);
      more.set(this.checks);
      this.checks = more;
    }
    this.checks[i] = cpu;
    this.checks[i + 1] = frame;
    this.checks[i + 2] = off & ~3;
  }

  /** Reads with side effects: the acknowledges. */
  private onRead(cpu: number, frame: number, off: number, id: number): Violation | null {
    if (frame === 1 && (off === GICC.IAR || off === GICC.AIAR)) {
      const irq = id & 0x3ff;
      if (irq >= 16) return null;
      // 3.2.4 and 4.3.15: acknowledging an SGI clears its pending state for
      // the source CPU the ID names; the other sources stay pending
      const src = (id >>> 10) & 7;
      const k = cpu * 16 + irq;
      if (((this.sgi[k]! >>> src) & 1) === 0) {
        return {
          invariant: "ref-sgi-source",
          message: `CPU ${cpu}: ${off === GICC.IAR ? "GICC_IAR" : "GICC_AIAR"} returned SGI ${irq} from CPU ${src}; ` +
            `the reference has sources ${hex(this.sgi[k]!)} pending`,
        };
      }
      this.sgi[k] = this.sgi[k]! & ~(1 << src);
      this.check(cpu, 0, GICD.SPENDSGIR + irq);
      return null;
    }
    if (frame === 3 && (off === GICV.IAR || off === GICV.AIAR)) return this.virtualAck(cpu, id);
    return null;
  }

  private onWrite(cpu: number, frame: number, off: number, value: number, size: number): Violation | null {
    const c = this.c;
    if (frame === 0) {
      if (off === GICD.CTLR) {
        this.ctlr = value & 3; // 4.3.1 without the Security Extensions
      } else if (off >= GICD.IGROUPR && off < GICD.ISENABLER) {
        const w = (off - GICD.IGROUPR) >> 2;
        if (w < this.nwords) this.group[this.bm(cpu, w)] = value & this.impl(w);
      } else if (off >= GICD.ISENABLER && off < GICD.ISPENDR) {
        const w = ((off - GICD.ISENABLER) & 0x7f) >> 2;
        if (w < this.nwords) {
          const bits = value & this.impl(w) & (w === 0 && c.sgiAlwaysEnabled ? 0xffff0000 : 0xffffffff);
          const k = this.bm(cpu, w);
          this.enable[k] = off < GICD.ICENABLER ? this.enable[k]! | bits : this.enable[k]! & ~bits;
        }
      } else if (off >= GICD.IPRIORITYR && off < GICD.ITARGETSR) {
        // 4.3.11: a byte per interrupt, unimplemented low-order bits RAZ/WI
        for (let i = 0; i < size; i++) {
          const irq = off - GICD.IPRIORITYR + i;
          if (irq < c.irqs) this.prio[this.pidx(cpu, irq)] = (value >>> (8 * i)) & this.prioMask;
        }
      } else if (off >= GICD.ITARGETSR && off < GICD.ICFGR) {
        // 4.3.12: bits of CPUs that do not exist are RAZ/WI
        if (c.cpus > 1) {
          for (let i = 0; i < size; i++) {
            const irq = off - GICD.ITARGETSR + i;
            if (irq >= 32 && irq < c.irqs) this.targets[irq] = (value >>> (8 * i)) & this.cpuMask;
          }
        }
      } else if (off >= GICD.ICFGR && off < GICD.NSACR) {
        const irq0 = ((off - GICD.ICFGR) >> 2) * 16;
        if (irq0 >= 16 && irq0 < c.irqs && !(irq0 < 32 && c.ppiConfigReadOnly)) {
          const k = this.bm(cpu, irq0 >> 5);
          for (let i = 0; i < 16 && irq0 + i < c.irqs; i++) {
            const b = 1 << ((irq0 + i) & 31);
            this.edge[k] = ((value >>> (2 * i + 1)) & 1) ? this.edge[k]! | b : this.edge[k]! & ~b;
          }
        }
      } else if (off === GICD.SGIR) {
        const irq = value & 0xf;
        const list = sgirTargetMask(value, cpu, c.cpus);
        for (let t = 0; t < c.cpus; t++) {
          if (((list >>> t) & 1) === 0) continue;
          this.sgi[t * 16 + irq] = this.sgi[t * 16 + irq]! | (1 << cpu);
          this.hit?.(REF_FEATURE.sgiSources + popcount(this.sgi[t * 16 + irq]!) - 1);
          this.check(t, 0, GICD.SPENDSGIR + irq);
        }
        return null;
      } else if (off >= GICD.CPENDSGIR && off < GICD.SPENDSGIR + 0x10) {
        // 4.3.16/4.3.17: a byte per SGI, a bit per source CPU
        const set = off >= GICD.SPENDSGIR;
        for (let i = 0; i < size; i++) {
          const k = cpu * 16 + (off & 0xf) + i;
          const bits = (value >>> (8 * i)) & this.cpuMask;
          this.sgi[k] = set ? this.sgi[k]! | bits : this.sgi[k]! & ~bits;
        }
      } else {
        return null;
      }
      this.check(cpu, 0, off);
      return null;
    }
    const f = this.vif[cpu]!;
    if (frame === 2) {
      if (off === GICH.HCR) f.hcr = value & HCR_WRITABLE;
      else if (off === GICH.VMCR) f.vmcr = vmcrWithMinimums(value & VMCR_WRITABLE);
      else if (off === GICH.APR) f.apr = value;
      else if (off >= GICH.LR && off < GICH.LR + 0x100) {
        const n = (off - GICH.LR) >> 2;
        if (n < c.listRegisters) {
          this.transition(0, f.lrs[n]!, value & LR_WRITABLE);
          f.lrs[n] = value & LR_WRITABLE;
        }
      } else {
        return null;
      }
      this.check(cpu, 2, off);
      return null;
    }
    if (frame !== 3) return null;
    switch (off) {
      case GICV.CTLR: f.vmcr = ((f.vmcr & ~VMCR_CTLR_BITS) | (value & VMCR_CTLR_BITS)) >>> 0; break;
      case GICV.PMR: f.vmcr = ((f.vmcr & 0x07ffffff) | (((value >>> 3) & 0x1f) << 27)) >>> 0; break;
      // 3.3.3: a binary point below the minimum reads as the minimum
      case GICV.BPR: f.vmcr = ((f.vmcr & ~(7 << 21)) | (Math.max(value & 7, VMIN_BPR) << 21)) >>> 0; break;
      case GICV.ABPR: f.vmcr = ((f.vmcr & ~(7 << 18)) | (Math.max(value & 7, VMIN_BPR + 1) << 18)) >>> 0; break;
      case GICV.APR: f.apr = value; break;
      case GICV.EOIR: case GICV.AEOIR: return this.virtualEoi(cpu, value, false);
      case GICV.DIR: return this.virtualEoi(cpu, value, true);
      default: return null;
    }
    this.check(cpu, 2, GICH.VMCR);
    this.check(cpu, 2, GICH.APR);
    return null;
  }

  private transition(cause: number, from: number, to: number): void {
    if (this.hit) this.hit(REF_FEATURE.lrTransition + cause * 16 + ((from >>> 28) & 3) * 4 + ((to >>> 28) & 3));
  }

  /** Read back GICH_HCR, GICH_APR and every list register with virtual ID
   *  `vid`: the entries a virtual acknowledge, EOI or DIR may touch. (An
   *  unrelated entry changed by mistake shows at the end-of-case audit.) */
  private checkVirtualInterface(cpu: number, vid: number): void {
    this.check(cpu, 2, GICH.HCR);
    this.check(cpu, 2, GICH.APR);
    const lrs = this.vif[cpu]!.lrs;
    for (let n = 0; n < lrs.length; n++) if ((lrs[n]! & 0x3ff) === vid) this.check(cpu, 2, GICH.LR + 4 * n);
  }

  /** The list registers among `cands` whose read-back differs from the
   *  reference: the one the model chose where the architecture leaves the
   *  choice open (two entries with one ID are UNPREDICTABLE, 5.3.11). */
  private chosen(cpu: number, cands: number[]): number {
    if (cands.length === 1) return cands[0]!;
    const n = this.changed(cpu, cands);
    return n < 0 ? cands[0]! : n;
  }

  /** The first of `cands` whose read-back differs from the reference, or -1. */
  private changed(cpu: number, cands: number[]): number {
    const f = this.vif[cpu]!;
    for (const n of cands) {
      if ((this.port.read(cpu, this.base[2]! + GICH.LR + 4 * n, 4) >>> 0) !== f.lrs[n]) return n;
    }
    return -1;
  }

  /** 5.4 and 3.2.4: the acknowledged list register goes from pending to
   *  active, and its group priority's bit is set in GICH_APR (5.3.5). */
  private virtualAck(cpu: number, id: number): Violation | null {
    const f = this.vif[cpu]!;
    const cands: number[] = [];
    for (let n = 0; n < this.c.listRegisters; n++) {
      const lr = f.lrs[n]!;
      if (((lr >>> 28) & 3) === 1 && reportedId(lr) === id) cands.push(n);
    }
    if ((id & 0x3ff) >= 1020) {
      // a special ID is spurious, unless the hypervisor put it in a list
      // register (its choice, 5.3.11): then the read-back tells which
      const n = this.changed(cpu, cands);
      if (n < 0) return null;
      cands.length = 0;
      cands.push(n);
    }
    if (cands.length === 0) {
      return { invariant: "ref-virtual", message: `CPU ${cpu}: GICV_IAR returned ${hex(id)}, which no list register of the reference holds pending` };
    }
    const n = this.chosen(cpu, cands);
    const lr = f.lrs[n]!;
    const next = ((lr & ~LR_PENDING) | LR_ACTIVE) >>> 0;
    this.transition(1, lr, next);
    f.lrs[n] = next;
    const level = groupPriority(((lr >>> 23) & 0x1f) << 3, (lr & LR_GRP1) !== 0, f.vmcr) >>> 3;
    f.apr = (f.apr | (1 << level)) >>> 0;
    this.hit?.(REF_FEATURE.virtualLevel + level);
    this.hit?.(REF_FEATURE.virtualNesting + popcount(f.apr) - 1);
    this.checkVirtualInterface(cpu, lr & 0x3ff);
    return null;
  }

  /**
   * GICV_EOIR/AEOIR (5.4, 4.4.5): a priority drop (the lowest set GICH_APR
   * bit), then, unless GICH_VMCR.VEM, the deactivation GICV_DIR does alone
   * when VEM is set: the active list register with that ID (and, for a
   * software SGI, that source CPU in bits [12:10]) leaves the active state.
   * An EOI or DIR that finds no list register increments GICH_HCR.EOICount
   * (5.3.2), an EOI only when it dropped a priority.
   */
  private virtualEoi(cpu: number, value: number, dir: boolean): Violation | null {
    const f = this.vif[cpu]!;
    const vid = value & 0x3ff;
    if (vid >= 1020) return null; // special IDs: no effect (4.4.5)
    const apr = f.apr;
    let deactivate = true;
    if (dir) {
      deactivate = (f.vmcr & VMCR_VEM) !== 0; // with VEM=0 GICV_DIR is UNPREDICTABLE: this model ignores it
    } else {
      if (apr !== 0) f.apr = (apr & (apr - 1)) >>> 0;
      deactivate = (f.vmcr & VMCR_VEM) === 0;
    }
    if (deactivate) {
      const src = (value >>> 10) & 7;
      const cands: number[] = [];
      for (let n = 0; n < this.c.listRegisters; n++) {
        const lr = f.lrs[n]!;
        if ((lr & LR_ACTIVE) === 0 || (lr & 0x3ff) !== vid) continue;
        if ((lr & LR_HW) === 0 && vid < 16 && ((lr >>> 10) & 7) !== src) continue;
        cands.push(n);
      }
      if (cands.length > 0) {
        const n = this.chosen(cpu, cands);
        const next = (f.lrs[n]! & ~LR_ACTIVE) >>> 0;
        this.transition(dir ? 3 : 2, f.lrs[n]!, next);
        f.lrs[n] = next;
      } else if (dir || apr !== 0) {
        const count = ((f.hcr >>> 27) + 1) & 0x1f;
        f.hcr = ((f.hcr & 0x07ffffff) | (count << 27)) >>> 0;
        this.hit?.(REF_FEATURE.eoiCount + count);
      }
    }
    this.checkVirtualInterface(cpu, vid);
    return null;
  }
}

/** 3.3.3: the group priority of a virtual interrupt: Group 1 uses the
 *  aliased binary point unless VMCBPR, Group 0 the binary point plus one. */
function groupPriority(prio: number, grp1: boolean, vmcr: number): number {
  const bp = (vmcr >>> 21) & 7;
  const abp = (vmcr >>> 18) & 7;
  const shift = grp1 && (vmcr & VMCR_CBPR) === 0 ? abp : bp + 1;
  return prio & (0xff << shift) & 0xff;
}

function vmcrWithMinimums(v: number): number {
  const bp = Math.max((v >>> 21) & 7, VMIN_BPR);
  const abp = Math.max((v >>> 18) & 7, VMIN_BPR + 1);
  return ((v & ~((7 << 21) | (7 << 18))) | (bp << 21) | (abp << 18)) >>> 0;
}

/** `GICD_IPRIORITYR+0x24` style name of a tracked word. */
function regName(frame: number, off: number): string {
  const tables: Array<Record<string, number>> = [GICD, GICC, GICH, GICV];
  let best = "";
  let at = -1;
  for (const [name, o] of Object.entries(tables[frame]!)) if (o <= off && o > at) { best = name; at = o; }
  const prefix = ["GICD", "GICC", "GICH", "GICV"][frame]!;
  return at === off ? `${prefix}_${best}` : `${prefix}_${best}+${hex(off - at)}`;
}
