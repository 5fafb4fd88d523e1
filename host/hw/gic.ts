// Typed host API over the wasm GIC model. Hot paths call the raw exports
// (`gic.raw`); everything else goes through the methods here. State can be
// inspected through typed-array views at the offsets of ./layout.ts.

import { instantiateSync } from "@assemblyscript/loader";
import * as L from "./layout.ts";
import { wasmModule } from "./wasm.ts";

/** The raw i32 ABI of assembly/index.ts. */
export interface RawGic {
  memory: WebAssembly.Memory;
  configure(cpus: number, irqs: number, prioBits: number, lrs: number, flags: number, delay: number,
    gicd: number, gicc: number, gich: number, gicv: number, gicdIidr: number, gicIidr: number): number;
  reset(): void;
  mmioRead(cpu: number, addr: number, size: number): number;
  mmioWrite(cpu: number, addr: number, value: number, size: number): number;
  setLine(irq: number, level: number, cpu: number): number;
  lines(cpu: number): number;
  setTime(now: number): void;
  lastStatus(): number;
  linesSeq(): number;
  accesses(): number;
}

export interface MemoryMap {
  gicd: number;
  gicc: number;
  gich: number;
  gicv: number;
}

/** QEMU `virt` board (hw/arm/virt.c memmap: VIRT_GIC_DIST, _CPU, _HYP, _VCPU). */
export const VIRT_MAP: Readonly<MemoryMap> = Object.freeze({
  gicd: 0x08000000,
  gicc: 0x08010000,
  gich: 0x08030000,
  gicv: 0x08040000,
});

export { GIC_LATENCY_MAX } from "./limits.ts";

export interface GicConfig {
  /** CPU interfaces, 1..8 */
  cpus: number;
  /** interrupt IDs implemented: a multiple of 32 from 32 to 992, or 1020 */
  irqs: number;
  /** implemented priority bits, 4..8 */
  priorityBits: number;
  /** list registers per virtual interface, 1..64 */
  listRegisters: number;
  /** IMPLEMENTATION DEFINED: SGIs permanently enabled (IHI 0048B 4.3.5) */
  sgiAlwaysEnabled: boolean;
  /** IMPLEMENTATION DEFINED: PPI trigger configuration read-only (4.3.13) */
  ppiConfigReadOnly: boolean;
  /** cycles before a distributor change reaches nIRQ/nFIQ of a CPU interface */
  propagationDelay: number;
  map: MemoryMap;
  /** GICD_IIDR; default the GIC-400 reset value */
  gicdIidr: number;
  /** GICC_IIDR and GICV_IIDR; default QEMU's */
  gicIidr: number;
  /** load the debug build (assertions, names) instead of the release build */
  debug: boolean;
}

/** Defaults: QEMU's virt board with one CPU (GICV2.md: TYPER 0x8, 8 priority
 *  bits, 4 list registers). SGIs are always enabled, as in QEMU's GICv2
 *  (hw/intc/arm_gic.c: the SGI bits of GICD_ISENABLER0 read as one and
 *  ignore writes) and in Arm's GIC-400 (whose IIDR is the default's). */
export const DEFAULT_CONFIG: Readonly<GicConfig> = Object.freeze({
  cpus: 1,
  irqs: 288,
  priorityBits: 8,
  listRegisters: 4,
  sgiAlwaysEnabled: true,
  ppiConfigReadOnly: false,
  propagationDelay: 0,
  map: VIRT_MAP,
  gicdIidr: 0x0200043b,
  gicIidr: 0x0002043b,
  debug: false,
});

/** Every configuration field: the defaults name them all. */
const CONFIG_FIELDS = Object.keys(DEFAULT_CONFIG) as readonly (keyof GicConfig)[];

export enum Access {
  Ok = L.ACCESS_OK,
  Unmapped = L.ACCESS_UNMAPPED,
  Width = L.ACCESS_WIDTH,
  Unaligned = L.ACCESS_UNALIGNED,
  ReadOnlyWrite = L.ACCESS_RO_WRITE,
  WriteOnlyRead = L.ACCESS_WO_READ,
}

export const Line = {
  IRQ: L.LINE_IRQ,
  FIQ: L.LINE_FIQ,
  VIRQ: L.LINE_VIRQ,
  VFIQ: L.LINE_VFIQ,
  MAINT: L.LINE_MAINT,
} as const;

export interface BadAccessCounts {
  unmapped: number;
  width: number;
  unaligned: number;
  readOnlyWrite: number;
  writeOnlyRead: number;
}

export class ConfigError extends Error {
  constructor(readonly field: string, readonly value: unknown, readonly expected: string) {
    super(`${field}: got ${shown(value)}, expected ${expected}`);
    this.name = "ConfigError";
  }
}

/** A value as an error shows it: NaN and Infinity by name (JSON says null). */
export function shown(v: unknown): string {
  if (typeof v === "number" || v === undefined) return String(v);
  try {
    const s = JSON.stringify(v);
    return s === undefined ? String(v) : s.length > 80 ? s.slice(0, 77) + "..." : s;
  } catch {
    return String(v);
  }
}

/** The maintenance interrupt the virtual interface drives (GICV2.md: PPI 25). */
export const MAINTENANCE_PPI = 25;


/** Check a configuration, naming the field and what was expected. */
export function validateConfig(c: GicConfig): void {
  for (const k of ["sgiAlwaysEnabled", "ppiConfigReadOnly", "debug"] as const) {
    if (typeof c[k] !== "boolean") throw new ConfigError(k, c[k], "true or false");
  }
  for (const k of ["gicdIidr", "gicIidr"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 0 || c[k] > 0xffffffff) throw new ConfigError(k, c[k], "an integer from 0 to 0xffffffff");
  }
  const int = (field: string, v: number, lo: number, hi: number) => {
    if (!Number.isInteger(v) || v < lo || v > hi) {
      throw new ConfigError(field, v, `an integer from ${lo} to ${hi}`);
    }
  };
  int("cpus", c.cpus, 1, 8);
  if (!Number.isInteger(c.irqs) || c.irqs < 32 || c.irqs > 1020 || (c.irqs % 32 !== 0 && c.irqs !== 1020)) {
    throw new ConfigError("irqs", c.irqs, "a multiple of 32 from 32 to 992, or 1020");
  }
  int("priorityBits", c.priorityBits, 4, 8);
  int("listRegisters", c.listRegisters, 1, 64);
  int("propagationDelay", c.propagationDelay, 0, 0xffffffff);
  const names = ["gicd", "gicc", "gich", "gicv"] as const;
  for (const n of names) {
    const b = c.map[n];
    if (!Number.isInteger(b) || b < 0 || b > 0xfffe0000 || b % 0x10000 !== 0) {
      throw new ConfigError(`map.${n}`, b, "a 64 KiB aligned address below 0xfffe0000");
    }
  }
  for (let i = 0; i < names.length; i++) {
    for (let j = 0; j < i; j++) {
      if (c.map[names[i]!] === c.map[names[j]!]) {
        throw new ConfigError(`map.${names[i]}`, c.map[names[i]!], `a frame base different from map.${names[j]}`);
      }
    }
  }
}

// ---- configured instances, reused
//
// Explorers and fuzzers build a system per schedule or case. The model's
// whole state is its linear memory plus globals that `configure` sets from
// the configuration alone, so an instance released after use and given the
// memory image `configure` produced is indistinguishable from a new one of
// the same configuration (the tests that compare schedules, trace hashes
// and results exactly run on reused instances). After `configure` the model
// writes only its state area, below L.STATE_END (assembly/layout.ts: the
// compiler's data and the decoder table `configure` fills lie above it), so
// only that area is restored; tests/gic-pool.test.ts checks the rest of
// memory is untouched by use.

const MAX_POOLED = 8;

/** A model instance with its views of linear memory, made once. */
interface Instance {
  raw: RawGic;
  u32: Uint32Array;
  u8: Uint8Array;
  f64: Float64Array;
}

/** What `configure` left: the state area and the memory's size. */
interface Configured {
  state: Uint8Array;
  byteLength: number;
}

const configured = new Map<string, Configured>();
const pool = new Map<string, Instance[]>();

function configKey(c: GicConfig): string {
  const m = c.map;
  return `${c.cpus},${c.irqs},${c.priorityBits},${c.listRegisters},${c.sgiAlwaysEnabled},${c.ppiConfigReadOnly},` +
    `${c.propagationDelay},${m.gicd},${m.gicc},${m.gich},${m.gicv},${c.gicdIidr},${c.gicIidr},${c.debug}`;
}

function instanceOf(raw: RawGic): Instance {
  const buf = raw.memory.buffer;
  return { raw, u32: new Uint32Array(buf), u8: new Uint8Array(buf), f64: new Float64Array(buf) };
}

function rememberConfigured(key: string, inst: Instance): void {
  if (!configured.has(key)) configured.set(key, { state: inst.u8.slice(0, L.STATE_END), byteLength: inst.u8.byteLength });
}

function takeFromPool(key: string): Instance | null {
  const free = pool.get(key);
  const image = configured.get(key);
  if (free === undefined || free.length === 0 || image === undefined) return null;
  const inst = free.pop()!;
  inst.u8.set(image.state);
  return inst;
}

function giveToPool(key: string, inst: Instance): void {
  const image = configured.get(key);
  // an instance whose memory grew since is not the configured one any more
  if (image === undefined || inst.raw.memory.buffer.byteLength !== image.byteLength || inst.u8.byteLength !== image.byteLength) return;
  let free = pool.get(key);
  if (free === undefined) pool.set(key, free = []);
  if (free.length < MAX_POOLED && !free.includes(inst)) free.push(inst);
}

/** @internal The state area `configure` left for a configuration's pool
 *  key, if one was made (the start of every build's replay record). */
export function configuredState(key: string): Uint8Array | undefined {
  return configured.get(key)?.state;
}

export class Gic {
  readonly raw: RawGic;
  readonly config: Readonly<GicConfig>;
  private readonly inst: Instance;
  private readonly key: string;
  private u32: Uint32Array;
  private u8: Uint8Array;
  private f64: Float64Array;

  /** `config` is create's own copy, frozen here. */
  private constructor(inst: Instance, config: GicConfig, key: string) {
    this.inst = inst;
    this.raw = inst.raw;
    Object.freeze(config.map);
    this.config = Object.freeze(config);
    this.key = key;
    this.u32 = inst.u32;
    this.u8 = inst.u8;
    this.f64 = inst.f64;
  }

  static create(overrides: Partial<GicConfig> = {}): Gic {
    if (typeof overrides !== "object" || overrides === null || Array.isArray(overrides)) {
      throw new ConfigError("config", overrides, `an object of configuration fields (${CONFIG_FIELDS.join(", ")})`);
    }
    for (const k of Object.keys(overrides)) {
      if (!(CONFIG_FIELDS as readonly string[]).includes(k)) throw new ConfigError(k, (overrides as Record<string, unknown>)[k], `no such field: one of ${CONFIG_FIELDS.join(", ")}`);
    }
    if (overrides.map !== undefined && (typeof overrides.map !== "object" || overrides.map === null)) {
      throw new ConfigError("map", overrides.map, "an object {gicd, gicc, gich, gicv}");
    }
    const config: GicConfig = { ...DEFAULT_CONFIG, ...overrides, map: { ...DEFAULT_CONFIG.map, ...overrides.map } };
    validateConfig(config);
    const key = configKey(config);
    const reused = takeFromPool(key);
    if (reused !== null) return new Gic(reused, config, key);
    let abortMessage = "";
    // The loader instantiates and decodes abort messages; its export
    // wrappers cost a few ns a call, so the hot paths get the instance's
    // own exports.
    const { instance } = instantiateSync<Record<string, unknown>>(wasmModule(config.debug), {
      env: {
        abort(msg: number, file: number, line: number, col: number) {
          abortMessage = `abort at ${line}:${col} (${msg}, ${file})`;
          throw new Error(`GIC model ${abortMessage}`);
        },
      },
    });
    void abortMessage;
    const raw = instance.exports as unknown as RawGic;
    const flags = (config.sgiAlwaysEnabled ? L.FLAG_SGI_ALWAYS_ENABLED : 0) |
      (config.ppiConfigReadOnly ? L.FLAG_PPI_CFG_READONLY : 0);
    const m = config.map;
    const rc = raw.configure(config.cpus, config.irqs, config.priorityBits, config.listRegisters, flags,
      config.propagationDelay, m.gicd, m.gicc, m.gich, m.gicv, config.gicdIidr >>> 0, config.gicIidr >>> 0);
    if (rc !== 0) throw new ConfigError("config", config, `a configuration the model accepts (code ${rc})`);
    const inst = instanceOf(raw);
    rememberConfigured(key, inst);
    return new Gic(inst, config, key);
  }

  /** Hand the instance back for a later Gic.create of the same
   *  configuration, which then restores its memory to the state
   *  `configure` left instead of instantiating and configuring a module
   *  (a few microseconds instead of a few hundred). The caller must not use
   *  this Gic, or anything built on it, afterwards. */
  release(): void {
    giveToPool(this.key, this.inst);
  }

  /** @internal the pool key of its configuration */
  get poolKey(): string { return this.key; }

  /** @internal Send the model's calls through `raw` (a build's replay,
   *  replay.ts) until routed back to the instance's own exports. */
  routeCalls(raw: RawGic): void {
    (this as { raw: RawGic }).raw = raw;
  }

  /** (Re)take typed-array views; needed only if the memory ever grows. */
  private views(): void {
    const buf = this.raw.memory.buffer;
    this.u32 = new Uint32Array(buf);
    this.u8 = new Uint8Array(buf);
    this.f64 = new Float64Array(buf);
  }
  /** The views, retaken if the memory grew: growing detaches the old
   *  buffer, and a view of a detached buffer has length 0 (a length load,
   *  where buffer.byteLength is two getter calls on every access). */
  private mem(): Uint32Array {
    if (this.u32.length === 0) this.views();
    return this.u32;
  }
  private word(addr: number): number { return this.mem()[addr >>> 2]!; }
  private byte(addr: number): number { this.mem(); return this.u8[addr]!; }

  reset(): void { this.raw.reset(); }

  // ---- argument checks of the typed API (the raw exports take whatever
  // they are given: the model counts a bad CPU, and NaN becomes 0)
  private cpuArg(cpu: number, name = "cpu"): void {
    if (!(Number.isInteger(cpu) && cpu >= 0 && cpu < this.config.cpus)) {
      throw new RangeError(`${name}: got ${shown(cpu)}, expected a CPU number from 0 to ${this.config.cpus - 1}`);
    }
  }
  private accessArgs(cpu: number, addr: number, size: number): void {
    this.cpuArg(cpu);
    if (!(Number.isInteger(addr) && addr >= 0 && addr <= 0xffffffff)) throw new RangeError(`addr: got ${shown(addr)}, expected an address from 0 to 0xffffffff`);
    if (size !== 1 && size !== 2 && size !== 4) throw new RangeError(`size: got ${shown(size)}, expected 1, 2 or 4 bytes`);
  }

  // ---- register access
  read(cpu: number, addr: number, size: 1 | 2 | 4 = 4): number {
    this.accessArgs(cpu, addr, size);
    return this.raw.mmioRead(cpu, addr, size) >>> 0;
  }
  write(cpu: number, addr: number, value: number, size: 1 | 2 | 4 = 4): Access {
    this.accessArgs(cpu, addr, size);
    if (!(Number.isInteger(value) && value >= -0x80000000 && value <= 0xffffffff)) {
      throw new RangeError(`value: got ${shown(value)}, expected a 32-bit integer`);
    }
    return this.raw.mmioWrite(cpu, addr, value >>> 0, size);
  }
  lastStatus(): Access { return this.raw.lastStatus(); }

  readDist(cpu: number, off: number, size: 1 | 2 | 4 = 4): number { return this.read(cpu, this.config.map.gicd + off, size); }
  writeDist(cpu: number, off: number, v: number, size: 1 | 2 | 4 = 4): Access { return this.write(cpu, this.config.map.gicd + off, v, size); }
  readCpu(cpu: number, off: number): number { return this.read(cpu, this.config.map.gicc + off); }
  writeCpu(cpu: number, off: number, v: number): Access { return this.write(cpu, this.config.map.gicc + off, v); }
  readHyp(cpu: number, off: number): number { return this.read(cpu, this.config.map.gich + off); }
  writeHyp(cpu: number, off: number, v: number): Access { return this.write(cpu, this.config.map.gich + off, v); }
  readVcpu(cpu: number, off: number): number { return this.read(cpu, this.config.map.gicv + off); }
  writeVcpu(cpu: number, off: number, v: number): Access { return this.write(cpu, this.config.map.gicv + off, v); }

  // ---- lines and time
  setLine(irq: number, level: boolean | number, cpu = 0): void {
    if (irq === MAINTENANCE_PPI) {
      throw new RangeError(`irq: got 25, expected an input line: PPI 25 is the maintenance interrupt, which the virtual interface drives`);
    }
    if (!Number.isInteger(irq)) throw new RangeError(`irq: got ${shown(irq)}, expected an interrupt number`);
    if (level !== true && level !== false && level !== 0 && level !== 1) throw new RangeError(`level: got ${shown(level)}, expected 0, 1, true or false`);
    this.cpuArg(cpu);
    if (this.raw.setLine(irq, level ? 1 : 0, cpu) !== 0) {
      throw new RangeError(`interrupt ${irq} has no input line on CPU ${cpu} (PPIs 16-31, SPIs 32-${this.config.irqs - 1})`);
    }
  }
  lines(cpu: number): number { this.cpuArg(cpu); return this.raw.lines(cpu); }
  /** Lines as computed now, before any propagation delay. */
  pendingLines(cpu: number): number { this.cpuArg(cpu); return this.word(L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_LINES); }
  linesSeq(): number { return this.raw.linesSeq(); }
  /** Advance the model's clock (cycles). NaN or Infinity would stop every
   *  delayed line change for good, so they are refused. */
  setTime(now: number): void {
    if (!(Number.isFinite(now) && now >= 0)) throw new RangeError(`now: got ${shown(now)}, expected a finite number of cycles >= 0`);
    this.raw.setTime(now);
  }
  now(): number { this.mem(); return this.f64[L.G_NOW >>> 3]!; }
  /** When the next delayed line change becomes visible, or -1. */
  nextDue(): number { this.mem(); return this.f64[L.G_NEXT_DUE >>> 3]!; }

  // ---- counters
  badAccesses(cpu: number): BadAccessCounts {
    this.cpuArg(cpu);
    const b = L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_BAD;
    return {
      unmapped: this.word(b),
      width: this.word(b + 4),
      unaligned: this.word(b + 8),
      readOnlyWrite: this.word(b + 12),
      writeOnlyRead: this.word(b + 16),
    };
  }
  badCpuCalls(): number { return this.word(L.G_BAD_CPU); }
  accessCount(): number { return this.raw.accesses() >>> 0; }

  // ---- state inspection (for tests, invariants and tools; never on hot paths)
  private bm(bm: number, cpu: number, irq: number): boolean {
    const w = irq >>> 5;
    const addr = w === 0 ? bm + cpu * 4 : bm + L.BM_BANK_BYTES + w * 4;
    return ((this.word(addr) >>> (irq & 31)) & 1) === 1;
  }
  isEnabled(cpu: number, irq: number): boolean {
    return (irq < 16 && this.config.sgiAlwaysEnabled) || this.bm(L.BM_ENABLE, cpu, irq);
  }
  isPending(cpu: number, irq: number): boolean {
    return this.bm(L.BM_PEND, cpu, irq) || (this.bm(L.BM_LEVEL, cpu, irq) && !this.bm(L.BM_EDGE, cpu, irq));
  }
  isActive(cpu: number, irq: number): boolean { return this.bm(L.BM_ACTIVE, cpu, irq); }
  isGroup1(cpu: number, irq: number): boolean { return this.bm(L.BM_GROUP, cpu, irq); }
  isEdge(cpu: number, irq: number): boolean { return this.bm(L.BM_EDGE, cpu, irq); }
  lineLevel(cpu: number, irq: number): boolean { return this.bm(L.BM_LEVEL, cpu, irq); }
  priority(cpu: number, irq: number): number {
    return this.byte(irq < 32 ? L.PRIO_BANKED + cpu * 32 + irq : L.PRIO_SHARED + irq);
  }
  /** ITARGETSR byte of an SPI (as stored; a uniprocessor GIC delivers to CPU 0). */
  targets(irq: number): number { return this.byte(L.TARGETS + irq); }
  sgiSources(cpu: number, sgi: number): number { return this.byte(L.SGI_SRC + cpu * 16 + sgi); }
  runningPriority(cpu: number): number { return this.word(L.CPU_BASE + cpu * L.CPU_STRIDE + L.C_RPR); }
  listRegister(cpu: number, n: number): number { return this.word(L.VIF_BASE + cpu * L.VIF_STRIDE + L.V_LR + n * 4); }
  hcr(cpu: number): number { return this.word(L.VIF_BASE + cpu * L.VIF_STRIDE + L.V_HCR); }
  misr(cpu: number): number { return this.word(L.VIF_BASE + cpu * L.VIF_STRIDE + L.V_MISR); }
  /** The raw memory view, for code that reads many fields at known offsets. */
  memoryWords(): Uint32Array { return this.mem(); }
  /** The same memory as doubles (the model's clock fields). */
  memoryDoubles(): Float64Array { this.mem(); return this.f64; }
}
