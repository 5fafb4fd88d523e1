// The `hw` target: register accesses from any CPU to the four GIC frames of
// the hardware model, input-line changes, and acknowledge/EOI/DIR flows, on
// random configurations, with the invariants of host/check checked after
// every operation.

import { Gic, validateConfig, ConfigError, DEFAULT_CONFIG, type GicConfig } from "../hw/gic.ts";
import { encodeLr, sgir } from "../hw/regs.ts";
import type { Rng } from "../sim/rng.ts";
import { ROWS, FRAMES, STATUS_NAMES, expectAccess, newExpectation, type RegRow } from "../check/access.ts";
import { LR_CAUSES, REF_FEATURE } from "../check/reference.ts";
import * as L from "../hw/layout.ts";
import { HwChecker, describeOp, rawPort, type HwOp, type HwPort, type Violation } from "../check/invariants.ts";
import { HW_FAULTS, plantFaults } from "./faults.ts";
import { Coverage, FindingError, onlyFields, type FuzzSession, type FuzzTarget, type SessionOptions } from "./target.ts";

/** The configuration fields a finding records (the memory map is the virt board's). */
export type HwConfig = Pick<GicConfig, "cpus" | "irqs" | "priorityBits" | "listRegisters" | "sgiAlwaysEnabled" | "ppiConfigReadOnly">;

const FULL_CHECK_EVERY = 256;

function pick<T>(rng: Rng, xs: readonly T[]): T { return xs[rng.below(xs.length)]!; }

function randomConfig(rng: Rng): HwConfig {
  const cpus = rng.below(3) === 0 ? 1 : 1 + rng.below(8);
  const irqs = pick(rng, [32, 64, 96, 288, 288, 480, 992, 1020]);
  const lrChoices = [1, 2, 4, 4, 16, 31, 32, 33, 64];
  return {
    cpus,
    irqs,
    priorityBits: 4 + rng.below(5),
    listRegisters: pick(rng, lrChoices),
    sgiAlwaysEnabled: rng.below(4) === 0,
    ppiConfigReadOnly: rng.below(4) === 0,
  };
}

const rowsOf = (frame: number) => ROWS.filter((r) => r.frame === frame);
const FRAME_ROWS = [0, 1, 2, 3].map(rowsOf);

/** A step of a planned flow: an operation, possibly built from the last value read. */
type Plan = (last: number) => HwOp | null;

class HwSession implements FuzzSession<HwOp> {
  readonly gic: Gic;
  readonly config: GicConfig;
  readonly checker: HwChecker;
  private readonly port: HwPort;
  private readonly cov: Coverage | undefined;
  private readonly plan: Plan[] = [];
  private lastRead = 0;
  private n = 0;
  /** the features this case has seen: the generator steers toward the others */
  private readonly seen = new Uint8Array(1 << 13);
  private readonly predicted = newExpectation();

  constructor(hc: HwConfig, options: SessionOptions) {
    this.gic = Gic.create(hc);
    this.config = this.gic.config as GicConfig;
    this.port = plantFaults(this.gic, rawPort(this.gic), options.faults ?? []);
    this.checker = new HwChecker(this.gic, this.port);
    this.cov = options.coverage;
    this.checker.ref.hit = (f) => this.hit(f);
  }

  private hit(f: number): void {
    this.seen[f] = 1;
    this.cov?.hit(f);
  }

  /** Whether the run (or, without a run's coverage, this case) has seen `f`. */
  private covered(f: number): boolean {
    return (this.cov ? this.cov.bits[f]! : this.seen[f]!) !== 0;
  }

  /** The first of `from`..`to` whose feature `base + value - from` is not covered, else a random one. */
  private aim(rng: Rng, base: number, from: number, to: number): number {
    for (let k = from; k <= to; k++) if (!this.covered(base + k - from)) return k;
    return from + rng.below(to - from + 1);
  }

  get checkedOps(): number { return this.n; }

  step(op: HwOp): Violation | null {
    const chk = this.checker;
    let result: number;
    try {
      chk.before(op);
      if (op.t === "r") result = this.lastRead = this.port.read(op.cpu, op.addr, op.size);
      else if (op.t === "w") result = this.port.write(op.cpu, op.addr, op.value, op.size);
      else result = this.port.setLine(op.irq, op.level, op.cpu);
      this.n++;
      const v = chk.after(op, result);
      if (v) return v;
      this.cover(op, result);
      if ((this.n & (FULL_CHECK_EVERY - 1)) === 0) return chk.checkAll();
      return null;
    } catch (e) {
      return { invariant: "crash", message: `${describeOp(this.config, op)}: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  finish(): Violation | null {
    try {
      return this.checker.checkAll() ?? this.checker.ref.audit();
    } catch (e) {
      return { invariant: "crash", message: `final check: ${e instanceof Error ? e.message : String(e)}` };
    }
  }

  /** Coverage features (names in `featureName`): (frame, row, status,
   *  direction); (row, width, direction) of legal accesses; acknowledge
   *  outcomes and the physical running priority they leave; list-register
   *  encodings written; MISR bits raised; and, from the storage reference,
   *  list-register state transitions, virtual active-priority levels and
   *  nesting, SGI source counts and EOICount values. */
  private cover(op: HwOp, result: number): void {
    if (op.t === "line") { this.hit(F.line + (op.level ? 1 : 0) + (op.irq < 32 ? 2 : 0)); return; }
    const e = this.checker.exp;
    const status = this.checker.lastStatus;
    const rowKey = e.row >= 0 ? e.row + 8 : e.frame + 1;
    this.hit(((rowKey * 8 + status) << 1) | (op.t === "w" ? 1 : 0));
    if (e.row < 0 || status !== 0) return;
    this.hit(F.width + (e.row * 3 + (op.size === 1 ? 0 : op.size === 2 ? 1 : 2)) * 2 + (op.t === "w" ? 1 : 0));
    const row = ROWS[e.row]!;
    if (op.t === "r" && (row.role === "iar" || row.role === "aiar")) {
      const irq = result & 0x3ff;
      const cls = irq === 1023 ? 0 : irq === 1022 ? 1 : irq < 16 ? 2 : irq < 32 ? 3 : 4;
      this.hit(F.ack + e.frame * 32 + (row.role === "aiar" ? 16 : 0) + cls);
      if (e.frame === 1 && irq < 1020) {
        const rpr = this.gic.memoryWords()[(L.CPU_BASE + op.cpu * L.CPU_STRIDE + L.C_RPR) >> 2]!;
        if (rpr < 0x100) this.hit(F.physicalLevel + (rpr >> 3));
      }
    } else if (op.t === "w" && row.role === "lr") {
      this.hit(F.lrWrite + ((op.value >>> 28) & 0xf) * 2 + ((op.value >>> 19) & 1));
    }
    if (e.frame >= 2) {
      const misr = this.gic.misr(op.cpu);
      for (let b = 0; b < 8; b++) if ((misr >>> b) & 1) this.hit(F.misr + b);
    }
  }

  // ---- generation

  generate(rng: Rng): HwOp {
    const op = this.choose(rng);
    if (op.t === "w") op.value >>>= 0;
    return op;
  }

  private choose(rng: Rng): HwOp {
    for (;;) {
      const p = this.plan.shift();
      if (!p) break;
      const op = p(this.lastRead);
      if (op) return op;
    }
    const r = rng.below(100);
    if (r < 45) return this.register(rng);
    if (r < 60) { this.flow(rng); return this.choose(rng); }
    if (r < 68) return this.line(rng);
    if (r < 80) return this.boundary(rng);
    return this.random(rng);
  }

  private cpu(rng: Rng): number { return rng.below(this.config.cpus); }
  private base(frame: number): number { return this.config.map[FRAMES[frame]!]; }

  private line(rng: Rng): HwOp {
    let irq = 16 + rng.below(Math.min(this.config.irqs, 1020) - 16);
    if (irq === 25) irq = 26; // PPI 25 is the maintenance interrupt, driven by the model
    return { t: "line", irq, level: rng.below(2), cpu: this.cpu(rng) };
  }

  /** Random offsets within and around a frame, any size and alignment. */
  private random(rng: Rng): HwOp {
    const frame = rng.below(4);
    const off = rng.below(3) === 0 ? rng.below(0x10000) : rng.below(0x1010);
    const addr = (this.base(frame) + off + (rng.below(16) === 0 ? 0x10000 : 0)) >>> 0;
    const size = pick(rng, [1, 2, 4] as const);
    return rng.below(2) ? { t: "r", cpu: this.cpu(rng), addr, size } : { t: "w", cpu: this.cpu(rng), addr, value: rng.next(), size };
  }

  /** Just before, at the end of and just after a register row. */
  private boundary(rng: Rng): HwOp {
    const row = pick(rng, ROWS);
    const off = pick(rng, [row.start - 4, row.start - 1, row.start + row.length - 4, row.start + row.length,
      row.start + row.length - 1, row.start + 1, row.start + 2]);
    const addr = (this.base(row.frame) + off) >>> 0;
    const size = pick(rng, [1, 2, 4, 4] as const);
    return rng.below(2) ? { t: "r", cpu: this.cpu(rng), addr, size } : { t: "w", cpu: this.cpu(rng), addr, value: this.value(rng, row, 0), size };
  }

  /** Offset within a row: per-interrupt rows favour implemented IDs and the boundary. */
  private offsetIn(rng: Rng, row: RegRow): number {
    const c = this.config;
    if (row.bits !== 0) {
      const bytesPerWord = 4;
      const idsPerWord = (bytesPerWord * 8) / row.bits;
      const implWords = Math.ceil(c.irqs / idsPerWord);
      const words = row.length / 4;
      const w = rng.below(4) === 0 ? pick(rng, [implWords - 1, implWords, words - 1, 0])
        : rng.below(Math.min(words, implWords + 1));
      return Math.min(w, words - 1) * 4 + (row.widths & 1 && rng.below(2) ? rng.below(4) : 0);
    }
    if (row.role === "lr") {
      const n = rng.below(5) === 0 ? pick(rng, [c.listRegisters, 63, c.listRegisters - 1]) : rng.below(c.listRegisters);
      return Math.min(n, 63) * 4;
    }
    if (row.length > 4) return rng.below(row.length / 4) * 4 + (row.widths & 1 && rng.below(3) === 0 ? rng.below(4) : 0);
    return 0;
  }

  /** A register-aware interesting value for a write to `row`. */
  private value(rng: Rng, row: RegRow, inRow: number): number {
    const c = this.config;
    if (rng.below(10) === 0) return pick(rng, [0, 0xffffffff, rng.next(), 1 << rng.below(32)]);
    switch (row.name) {
      case "GICD_CTLR": return rng.below(4);
      case "GICD_IPRIORITYR": {
        const p = pick(rng, [0, 0x10, 0x80, 0xa0, 0xf0, 0xff, rng.below(256)]);
        return rng.below(2) ? p * 0x01010101 : rng.next();
      }
      case "GICD_ITARGETSR": return (rng.below(1 << c.cpus) * (rng.below(2) ? 0x01010101 : 1)) >>> 0;
      case "GICD_ICFGR": return pick(rng, [0, 0xaaaaaaaa, 0x55555555, rng.next()]);
      case "GICD_SGIR": return (sgir(rng.below(4) as 0 | 1 | 2 | 3, rng.below(256), rng.below(16)) | (rng.below(8) === 0 ? 0x8000 : 0)) >>> 0;
      case "GICD_CPENDSGIR": case "GICD_SPENDSGIR": return rng.below(2) ? (1 << rng.below(c.cpus)) >>> 0 : rng.next();
      case "GICC_CTLR": case "GICV_CTLR": return pick(rng, [0, 1, 3, 7, 0x203, 0x207, 0x13, 0xb, rng.below(0x400)]);
      case "GICC_PMR": case "GICV_PMR": return pick(rng, [0, 0xff, 0xf0, 0x80, 0xf8, rng.below(256)]);
      case "GICC_BPR": case "GICC_ABPR": case "GICV_BPR": case "GICV_ABPR": return rng.below(8);
      case "GICC_EOIR": case "GICC_AEOIR": case "GICC_DIR": case "GICV_EOIR": case "GICV_AEOIR": case "GICV_DIR":
        return rng.below(2) ? this.lastRead : pick(rng, [1023, 1022, 1020, rng.below(c.irqs), rng.below(32) | (rng.below(8) << 10)]);
      case "GICC_APR": case "GICH_APR": case "GICV_APR": return rng.below(2) ? 0 : (1 << rng.below(32)) >>> 0;
      case "GICH_HCR": return ((rng.below(2) ? 1 : 0) | (rng.below(256) & 0xfe) | (rng.below(4) === 0 ? rng.below(32) << 27 : 0)) >>> 0;
      case "GICH_VMCR": return ((rng.below(0x20)) | (rng.below(2) << 9) | (rng.below(8) << 18) | (rng.below(8) << 21) | (rng.below(32) << 27)) >>> 0;
      case "GICH_LR": return this.lr(rng);
      default:
        if (row.bits === 1) {
          const base = (inRow >> 2) * 32;
          return pick(rng, [(1 << rng.below(32)) >>> 0, 0xffffffff, 0xffff0000, rng.next(), 0, base === 0 ? 0x02000000 : 1]);
        }
        return rng.next();
    }
  }

  /** A list register: every state, HW and EOI combination. */
  private lr(rng: Rng): number {
    const hw = rng.below(3) === 0;
    const c = this.config;
    return encodeLr({
      virtualId: rng.below(3) === 0 ? rng.below(16) : rng.below(4) === 0 ? rng.below(1024) : 16 + rng.below(64),
      physicalId: hw ? (rng.below(4) === 0 ? rng.below(1024) : 16 + rng.below(c.irqs - 16)) : rng.below(8),
      eoi: rng.below(2) === 0,
      priority: rng.below(256),
      state: rng.below(4),
      group1: rng.below(2) === 0,
      hw,
    }) | (rng.below(16) === 0 ? (rng.below(8) << 20) : 0);
  }

  /** A legal-looking access to a real register. Steered: of a few
   *  candidates, the first whose (row, status, width, direction) this case
   *  has not seen yet. */
  private register(rng: Rng): HwOp {
    let op: HwOp | null = null;
    for (let k = 0; k < 3; k++) {
      op = this.registerCandidate(rng);
      if (op.t === "line") return op;
      const e = expectAccess(this.config, op.addr, op.size, op.t === "w", op.t === "w" ? op.value : 0, this.predicted);
      const dir = op.t === "w" ? 1 : 0;
      const access = ((e.row + 8) * 8 + e.status) << 1 | dir;
      const width = F.width + (e.row * 3 + (op.size === 1 ? 0 : op.size === 2 ? 1 : 2)) * 2 + dir;
      if (!this.covered(access) || (e.status === 0 && !this.covered(width))) return op;
    }
    return op!;
  }

  private registerCandidate(rng: Rng): HwOp {
    const row = pick(rng, FRAME_ROWS[rng.below(4)]!);
    const inRow = this.offsetIn(rng, row);
    const addr = this.base(row.frame) + row.start + inRow;
    const sizes = [4, 4, 4, row.widths & 1 ? 1 : 2, 2];
    let size = pick(rng, sizes);
    if (size !== 4 && (addr & (size - 1)) !== 0 && rng.below(2)) size = 1;
    const cpu = this.cpu(rng);
    const write = row.kind === "wo" ? rng.below(16) !== 0 : row.kind === "ro" ? rng.below(16) === 0 : rng.below(2) === 0;
    const aligned = (addr & ~(size - 1)) >>> 0;
    if (!write) return { t: "r", cpu, addr: aligned, size };
    if (row.role === "lr" && size === 4 && (inRow >> 2) < this.config.listRegisters) {
      // a list register: prefer a state change this case has not made yet
      const cur = this.checker.ref.listRegister(cpu, inRow >> 2);
      let value = this.lr(rng);
      for (let k = 0; k < 4 && this.covered(F.lrTransition + ((cur >>> 28) & 3) * 4 + ((value >>> 28) & 3)); k++) {
        value = this.lr(rng);
      }
      return { t: "w", cpu, addr: aligned, value, size };
    }
    return { t: "w", cpu, addr: aligned, value: this.value(rng, row, inRow), size };
  }

  /** Plan an acknowledge/EOI/DIR flow: physical, virtual, or a hardware
   *  list register that deactivates a physical interrupt. */
  private flow(rng: Rng): void {
    const c = this.config;
    const cpu = this.cpu(rng);
    const { gicd, gicc, gich, gicv } = c.map;
    const w = (addr: number, value: number): Plan => () => ({ t: "w", cpu, addr, value: value >>> 0, size: 4 });
    const r = (addr: number): Plan => () => ({ t: "r", cpu, addr, size: 4 });
    const wl = (addr: number): Plan => (last) => ({ t: "w", cpu, addr, value: last >>> 0, size: 4 });
    const eoiMode = rng.below(3) === 0 ? 0x200 : 0;
    const alias = rng.below(4) === 0;
    // AckCtl mostly set; clear, GICC_IAR answers 1022 for a Group 1 interrupt
    const ackCtl = rng.below(4) === 0 ? 0 : 4;
    const irq = rng.below(3) === 0 ? rng.below(16) : 16 + rng.below(Math.min(c.irqs, 1020) - 16);
    const word = (irq >> 5) * 4;
    const plan = this.plan;
    const kind = rng.below(3);
    if (kind === 0 || kind === 2) {
      plan.push(w(gicd, 3), w(gicc, (alias ? 2 : 1) | ackCtl | eoiMode | (rng.below(2) ? 2 : 0)), w(gicc + 4, 0xff));
      plan.push(w(gicd + 0x100 + word, 1 << (irq & 31)));
      if (rng.below(2) === 0) {
        // a priority, steered toward a running priority level this case has not reached
        let prio = rng.below(256);
        for (let k = 0; k < 4 && this.covered(F.physicalLevel + (prio >> 3)); k++) prio = rng.below(256);
        plan.push(() => ({ t: "w", cpu, addr: gicd + 0x400 + irq, value: prio, size: 1 }));
      }
      if (irq >= 32 && c.cpus > 1) plan.push(w(gicd + 0x800 + (irq & ~3), (1 << cpu) * 0x01010101));
      if (irq >= 32 && rng.below(2)) plan.push(w(gicd + 0x080 + word, rng.below(2) ? 1 << (irq & 31) : 0));
      if (irq < 16) plan.push(w(gicd + 0xf00, sgir(2, 0, irq)));
      else if (rng.below(2)) plan.push(w(gicd + 0x200 + word, 1 << (irq & 31)));
      else plan.push(() => ({ t: "line", irq: irq === 25 ? 26 : irq, level: 1, cpu }));
      plan.push(r(gicc + (alias ? 0x20 : 0x0c)));
      if (kind === 2) {
        // hand the acknowledged interrupt to the VM through a hardware list register
        const n = rng.below(c.listRegisters);
        plan.push(w(gich, 1), w(gicv, 3 | 4), w(gicv + 4, 0xf8));
        plan.push((last) => ({
          t: "w", cpu, addr: gich + 0x100 + n * 4,
          value: encodeLr({ virtualId: last & 0x3ff, physicalId: last & 0x3ff, eoi: false, priority: 0x80, state: 1, group1: false, hw: true }),
          size: 4,
        }));
        if (eoiMode) plan.push(wl(gicc + 0x10));
        plan.push(r(gicv + 0x0c), wl(gicv + 0x10), r(gich + 0x30));
        return;
      }
      plan.push(wl(gicc + (alias ? 0x24 : 0x10)));
      if (eoiMode) plan.push(wl(gicc + 0x1000));
      return;
    }
    if (rng.below(3) === 0 && c.listRegisters >= 2) { this.nestedFlow(rng, cpu); return; }
    if (rng.below(3) === 0) { this.targetedFlow(rng, cpu); return; }
    const n = rng.below(c.listRegisters);
    const vem = rng.below(3) === 0 ? 0x200 : 0;
    plan.push(w(gich, 1 | (rng.below(256) & 0xfe)), w(gicv, 3 | (rng.below(2) ? 4 : 0) | vem), w(gicv + 4, 0xf8));
    // steer toward a virtual priority level this case has not acknowledged
    let lr = this.lr(rng);
    for (let k = 0; k < 4 && this.covered(REF_FEATURE.virtualLevel + ((lr >>> 23) & 0x1f)); k++) lr = this.lr(rng);
    plan.push(w(gich + 0x100 + n * 4, lr & ~0x20000000 | 0x10000000));
    plan.push(r(gicv + (alias ? 0x20 : 0x0c)), wl(gicv + (alias ? 0x24 : 0x10)));
    if (vem) plan.push(wl(gicv + 0x1000));
    plan.push(r(gich + pick(rng, [0x10, 0x20, 0x30])));
  }

  /** Plan a flow aimed at a feature the run has not reached: SGIs pending
   *  from several sources at once, EOIs that find no list register counted
   *  in GICH_HCR.EOICount, or a pending-and-active list register
   *  deactivated back to pending. */
  private targetedFlow(rng: Rng, cpu: number): void {
    const c = this.config;
    const { gicd, gich, gicv } = c.map;
    const plan = this.plan;
    const w = (from: number, addr: number, value: number): Plan => () => ({ t: "w", cpu: from, addr, value: value >>> 0, size: 4 });
    const kind = rng.below(3);
    if (kind === 0) {
      // k source CPUs send one SGI to one target, whose byte was cleared first
      const k = this.aim(rng, REF_FEATURE.sgiSources, 1, c.cpus);
      const sgi = rng.below(16);
      plan.push(() => ({ t: "w", cpu, addr: gicd + 0xf10 + sgi, value: 0xff, size: 1 }));
      const first = rng.below(c.cpus - k + 1);
      for (let j = 0; j < k; j++) plan.push(w(first + j, gicd + 0xf00, sgir(0, 1 << cpu, sgi)));
      plan.push(() => ({ t: "r", cpu, addr: gicd + 0xf20 + (sgi & ~3), size: 4 }));
    } else if (kind === 1) {
      // k EOIs of an ID no list register holds, each dropping a priority
      const k = this.aim(rng, REF_FEATURE.eoiCount + 1, 1, 31);
      const vid = 1000 + rng.below(19);
      for (let n = 0; n < c.listRegisters; n++) plan.push(w(cpu, gich + 0x100 + n * 4, 0));
      plan.push(w(cpu, gich, 1), w(cpu, gicv, 1), w(cpu, gicv + 0xd0, k === 32 ? 0xffffffff : (1 << k) - 1 >>> 0));
      for (let j = 0; j < k; j++) plan.push(w(cpu, gicv + 0x10, vid));
      plan.push(() => ({ t: "r", cpu, addr: gich, size: 4 }), () => ({ t: "r", cpu, addr: gich + 0x10, size: 4 }));
    } else {
      // 5.4: deactivating a pending-and-active entry leaves it pending
      const n = rng.below(c.listRegisters);
      const vid = 16 + rng.below(64);
      const vem = rng.below(2) === 0 ? 0x200 : 0;
      plan.push(w(cpu, gich, 1), w(cpu, gicv, 1 | vem));
      plan.push(w(cpu, gich + 0x100 + n * 4, encodeLr({ virtualId: vid, physicalId: 0, eoi: rng.below(2) === 0, priority: 0x80, state: 3, group1: false, hw: false })));
      plan.push(w(cpu, gicv + (vem ? 0x1000 : 0x10), vid), () => ({ t: "r", cpu, addr: gich + 0x100 + n * 4, size: 4 }));
    }
  }

  /** Plan nested virtual interrupts: list registers written one at a time,
   *  each more urgent than the last and acknowledged before the next, so
   *  that GICH_APR holds several levels; then EOIs (and DIRs with VEM) in
   *  reverse order. Half of the time every entry is the same software SGI
   *  from different source CPUs, so an EOI must retire the entry of the
   *  source it names (5.3.11). */
  private nestedFlow(rng: Rng, cpu: number): void {
    const c = this.config;
    const { gich, gicv } = c.map;
    const plan = this.plan;
    const w = (addr: number, value: number): Plan => () => ({ t: "w", cpu, addr, value: value >>> 0, size: 4 });
    // as deep as the first nesting level not yet covered (at most 31 levels
    // below 0xf8 with the virtual interface's 5 priority bits)
    const k = rng.below(2) === 0 ? 2 + rng.below(Math.min(3, c.listRegisters - 1))
      : this.aim(rng, REF_FEATURE.virtualNesting + 1, 2, Math.min(c.listRegisters, 31));
    const first = rng.below(c.listRegisters - k + 1);
    const vem = rng.below(3) === 0 ? 0x200 : 0;
    const sgi = rng.below(2) === 0 ? rng.below(16) : -1;
    const acked: number[] = [];
    plan.push(w(gich, 1), w(gicv, 1 | vem), w(gicv + 4, 0xf8), w(gicv + 8, 0), w(gicv + 0xd0, 0));
    let prio = 0xf8;
    for (let j = 0; j < k; j++) {
      // each entry more urgent than the last, with room left for the others
      prio -= 8 * (1 + rng.below(Math.max(1, Math.floor((prio >> 3) / (k - j)))));
      const value = encodeLr({
        virtualId: sgi >= 0 ? sgi : 16 + rng.below(64), physicalId: sgi >= 0 ? (j + rng.below(2)) & 7 : 0,
        eoi: rng.below(2) === 0, priority: prio, state: 1, group1: false, hw: false,
      });
      const lrAddr = gich + 0x100 + (first + j) * 4;
      plan.push(j === 0 ? w(lrAddr, value) : (last) => { acked.push(last); return { t: "w", cpu, addr: lrAddr, value, size: 4 }; });
      plan.push(() => ({ t: "r", cpu, addr: gicv + 0x0c, size: 4 }));
    }
    for (let j = k - 1; j >= 0; j--) {
      plan.push((last) => {
        if (acked.length < k) acked.push(last);
        return { t: "w", cpu, addr: gicv + 0x10, value: acked[j]! >>> 0, size: 4 };
      });
      if (vem) plan.push(() => ({ t: "w", cpu, addr: gicv + 0x1000, value: acked[j]! >>> 0, size: 4 }));
    }
    plan.push(() => ({ t: "r", cpu, addr: gich + pick(rng, [0x10, 0x20, 0x30]), size: 4 }));
  }
}

// ---- feature names

/** Feature id bases of the hw target (see HwSession.cover). */
const F = {
  width: 1200,
  ack: 3000,
  lrWrite: 3200,
  misr: 3300,
  lrTransition: REF_FEATURE.lrTransition,
  physicalLevel: 3610,
  line: 4000,
} as const;

const MISR_NAMES = ["EOI", "U", "LRENP", "NP", "VGrp0E", "VGrp0D", "VGrp1E", "VGrp1D"];
const LR_STATES = ["invalid", "pending", "active", "pending+active"];
const ACK_CLASSES = ["1023", "1022", "SGI", "PPI", "SPI"];

/** The name of a hw coverage feature, family first. */
export function hwFeatureName(id: number): string {
  const rowName = (key: number) => (key >= 8 ? ROWS[key - 8]?.name ?? `row ${key - 8}`
    : key === 0 ? "outside-frames" : `${["GICD", "GICC", "GICH", "GICV"][key - 1]}-unmapped`);
  if (id < F.width) {
    const dir = id & 1 ? "write" : "read";
    const key = (id >> 1) >> 3;
    return `access ${rowName(key)} ${dir} ${STATUS_NAMES[(id >> 1) & 7] ?? "?"}`;
  }
  if (id < F.ack) {
    const k = (id - F.width) >> 1;
    return `width ${ROWS[Math.floor(k / 3)]?.name ?? "?"} ${["byte", "halfword", "word"][k % 3]} ${id & 1 ? "write" : "read"}`;
  }
  if (id < F.lrWrite) {
    const k = id - F.ack;
    return `ack ${["GICD", "GICC", "GICH", "GICV"][k >> 5]}_${k & 16 ? "AIAR" : "IAR"} ${ACK_CLASSES[k & 15] ?? "?"}`;
  }
  if (id < F.misr) {
    const k = id - F.lrWrite;
    return `lr-write state ${LR_STATES[(k >> 1) & 3]}${k & 16 ? " grp1" : ""}${k & 32 ? " hw" : ""}${k & 1 ? " eoi" : ""}`;
  }
  if (id < F.lrTransition) return `misr ${MISR_NAMES[id - F.misr] ?? "?"}`;
  if (id < REF_FEATURE.virtualLevel) {
    const k = id - F.lrTransition;
    return `lr-transition ${LR_STATES[(k >> 2) & 3]}->${LR_STATES[k & 3]} by ${LR_CAUSES[k >> 4] ?? "?"}`;
  }
  if (id < REF_FEATURE.virtualNesting) return `virtual-level ${id - REF_FEATURE.virtualLevel}`;
  if (id < REF_FEATURE.sgiSources) return `virtual-nesting ${id - REF_FEATURE.virtualNesting + 1}`;
  if (id < REF_FEATURE.eoiCount) return `sgi-sources ${id - REF_FEATURE.sgiSources + 1}`;
  if (id < F.physicalLevel) return `eoicount ${id - REF_FEATURE.eoiCount}`;
  if (id < F.line) return `physical-level ${id - F.physicalLevel}`;
  return `line ${id & 2 ? "PPI" : "SPI"} ${id & 1 ? "high" : "low"}`;
}

// ---- finding-file validation

function obj(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new FindingError(path, x, "an object");
  return x as Record<string, unknown>;
}
function int(o: Record<string, unknown>, k: string, path: string, lo: number, hi: number): number {
  const v = o[k];
  if (typeof v !== "number" || !Number.isInteger(v) || v < lo || v > hi) {
    throw new FindingError(`${path}.${k}`, v, `an integer from ${lo} to ${hi}`);
  }
  return v;
}
function bool(o: Record<string, unknown>, k: string, path: string): boolean {
  const v = o[k];
  if (typeof v !== "boolean") throw new FindingError(`${path}.${k}`, v, "true or false");
  return v;
}

export const hwTarget: FuzzTarget<HwConfig, HwOp> = {
  name: "hw",
  faults: Object.keys(HW_FAULTS),
  randomConfig,
  open: (config, options = {}) => new HwSession(config, options),
  caseLength: (rng) => 64 + rng.below(rng.below(4) === 0 ? 2000 : 400),
  describeOp: (config, op) => describeOp({ ...DEFAULT_CONFIG, ...config }, op),
  featureName: hwFeatureName,
  simplerOps(config, op) {
    const out: HwOp[] = [];
    if (op.cpu !== 0) out.push({ ...op, cpu: 0 });
    if (op.t === "w") {
      for (const v of [0, 1, op.value & 0xffff, op.value & 0xff, op.value & 0x3ff]) {
        if ((v >>> 0) !== op.value && (v >>> 0) < op.value >>> 0) out.push({ ...op, value: v >>> 0 });
      }
      const low = op.value & (op.value - 1);
      if (low !== 0 && low >>> 0 !== op.value) out.push({ ...op, value: (op.value & -op.value) >>> 0 });
    }
    if (op.t !== "line" && op.size !== 4 && (op.addr & 3) === 0) out.push({ ...op, size: 4 });
    void config;
    return out;
  },
  parseConfig(x, path) {
    const o = obj(x, path);
    onlyFields(o, ["cpus", "irqs", "priorityBits", "listRegisters", "sgiAlwaysEnabled", "ppiConfigReadOnly"], path, "an hw configuration");
    const c: HwConfig = {
      cpus: int(o, "cpus", path, 1, 8),
      irqs: int(o, "irqs", path, 32, 1020),
      priorityBits: int(o, "priorityBits", path, 4, 8),
      listRegisters: int(o, "listRegisters", path, 1, 64),
      sgiAlwaysEnabled: bool(o, "sgiAlwaysEnabled", path),
      ppiConfigReadOnly: bool(o, "ppiConfigReadOnly", path),
    };
    try {
      validateConfig({ ...DEFAULT_CONFIG, ...c });
    } catch (e) {
      if (e instanceof ConfigError) throw new FindingError(`${path}.${e.field}`, e.value, e.expected);
      throw e;
    }
    return c;
  },
  parseOp(x, path) {
    const o = obj(x, path);
    const t = o.t;
    if (t === "line") {
      onlyFields(o, ["t", "irq", "level", "cpu"], path, "a line operation");
      return { t, irq: int(o, "irq", path, 16, 1019), level: int(o, "level", path, 0, 1), cpu: int(o, "cpu", path, 0, 7) };
    }
    if (t !== "r" && t !== "w") throw new FindingError(`${path}.t`, t, `"r", "w" or "line"`);
    onlyFields(o, t === "r" ? ["t", "cpu", "addr", "size"] : ["t", "cpu", "addr", "value", "size"], path, t === "r" ? "a read" : "a write");
    const cpu = int(o, "cpu", path, 0, 7);
    const addr = int(o, "addr", path, 0, 0xffffffff);
    const size = o.size;
    if (size !== 1 && size !== 2 && size !== 4) throw new FindingError(`${path}.size`, size, "1, 2 or 4");
    if (t === "r") return { t, cpu, addr, size };
    return { t, cpu, addr, value: int(o, "value", path, 0, 0xffffffff), size };
  },
  checkOp(config, op, path) {
    if (op.cpu >= config.cpus) throw new FindingError(`${path}.cpu`, op.cpu, `a CPU of the configuration, 0 to ${config.cpus - 1}`);
    if (op.t === "line") {
      // PPI 25 is the virtual interface's maintenance interrupt (the
      // ID the ARM reference platforms assign, as GICV2.md): the model drives it
      if (op.irq === 25) throw new FindingError(`${path}.irq`, op.irq, "an input line: PPI 16-31 other than the maintenance PPI 25, or an SPI");
      if (op.irq >= config.irqs) throw new FindingError(`${path}.irq`, op.irq, `an interrupt below config.irqs (${config.irqs})`);
    }
  },
};

export type { HwOp };
