// Weak memory: per-pCPU store buffers for the locations the hypervisor model
// declares shared, so that stores a barrier does not order can become
// visible to other pCPUs late and out of order, as ARMv8 allows.
//
// What is modelled (ARM ARM DDI 0487, B2.3 "Definition of the Armv8 memory
// model"; the barriers as Xen 4.8 defines them for arm64 in
// xen/include/asm-arm/system.h, spinlock.h and arm64/lib/bitops.S):
// - A store by a pCPU to a declared location (a pending_irq's status word,
//   list links and LR number, a rank's target vCPU) is at once visible to
//   that pCPU and, until it drains, invisible to the others: they read the
//   value the location held before. Stores to different locations drain in
//   any order (store-store reordering), later loads never wait for them
//   (store-load reordering); stores to one location drain in order
//   (coherence), and a store or atomic by another pCPU to a location with
//   buffered stores first lets them drain: the coherence order of a
//   location is the order its stores were issued, so outcomes that need two
//   locations' coherence orders to disagree with that (2+2W's x=1, y=1,
//   which ARMv8 allows) are not produced.
// - The hypervisor's writes to the physical distributor (GICD, Device-nGnRE
//   memory) are buffered too and take effect in the GIC only when they
//   drain; they drain in their program order among themselves (nR), and any
//   later GIC access of the same pCPU first lets them all drain.
// - When buffered stores drain is a scheduling choice (machine.ts runs a
//   drain as a step of a pseudo-thread DRAIN_BASE + cpu * DRAIN_SLOTS + k,
//   the k-th drainable store of that pCPU), recorded in the schedule and
//   replayed like any other; the time scheduler drains a store
//   `drainCycles` after it was issued.
// - Barriers: smp_mb (dmb ish), dsb, and the full barriers Xen's primitives
//   carry drain the pCPU's buffer; smp_wmb (dmb ishst) only forbids stores
//   after it to drain before stores before it; smp_rmb orders nothing here
//   (loads are never reordered, below). Xen's arm spin_lock and spin_unlock
//   carry smp_mb (arch_lock_acquire_barrier/arch_lock_release_barrier);
//   test_and_set_bit and friends end with stlxr then dmb ish (a full
//   barrier), set_bit and clear_bit carry none (ldxr/stxr).
//   `lockBarrier: "acq-rel"` instead gives spinlocks only acquire and
//   release ordering (as Linux's arm64 spinlocks have): the acquire drains
//   nothing, the release lets every earlier store drain first.
//
// What is not modelled, and how it could change the races found:
// - Loads are performed in program order at the point the code reads, so
//   load-load reordering, and the barriers a reader needs against it
//   (smp_rmb, the acquire of a lock taken before reading), are never
//   exercised: a design missing only a reader-side barrier is not found.
// - Address, data and control dependencies are not tracked (every load is
//   ordered anyway); speculation is not modelled.
// - Undeclared hypervisor state (the lists' neighbour links and the lists
//   themselves, which the owner's vgic lock serialises; a pending_irq's
//   priority; per-pCPU data; scheduler flags) is sequentially consistent:
//   a store to it is visible at once, even after a barrier that a buffered
//   store before it has not passed. Races through those locations are not
//   found.
// - Release is modelled as "every earlier store drains before the unlock
//   completes", stronger than ARMv8's store-release, which lets a later
//   load, or a later store not preceded by an acquire, become visible
//   before the earlier stores (ARMv8's acquire and release are RCsc: a
//   release then an acquire do order them, as the model does). The lock
//   word itself is not buffered. Races needing such a reordering across an
//   unlock are not found.
// - Stores of non-CPU threads (devices, test drivers) and of set-up code
//   outside the machine's threads (a scenario's initial state, the instant
//   boot) are immediate, and such code reads the latest values; a booting
//   pCPU's own GICD writes are buffered like any other, with no model of
//   the synchronisation that brings secondary CPUs up. Guest memory is not
//   modelled.
// - A drain forced by a barrier empties the pCPU's buffer; one forced by
//   another pCPU's store to the same location, or by a later GIC access of
//   the same pCPU, drains only what must go first (that location's or the
//   GICD writes, and the stores of earlier smp_wmb generations).
// - Which buffered store a drain choice names is by position in the
//   pCPU's buffer, so pct's priorities attach to positions, not to stores;
//   a drain counts as one preemption for dfs's bound.
// - The GIC CPU interface, list registers and virtual CPU interface are
//   per-CPU and accessed in order (not buffered).
// - A pCPU offers at most DRAIN_SLOTS drainable stores at a time (older ones
//   first), which bounds the reorderings explored, not the ones possible.

export type MemoryModel = "sc" | "weak";
export const MEMORY_MODELS: readonly MemoryModel[] = ["sc", "weak"];
export type LockBarrier = "smp_mb" | "acq-rel";
export const LOCK_BARRIERS: readonly LockBarrier[] = ["smp_mb", "acq-rel"];

/** How a system's memory behaves (machine, system, scenario, explorer options). */
export interface MemoryOptions {
  /** "sc" (default) or "weak" */
  memory?: MemoryModel;
  /** weak memory: what spinlocks order (default "smp_mb", as Xen on arm) */
  lockBarrier?: LockBarrier;
}

/** A weak-memory result of a design that keeps none of its own state in
 *  store buffers (the new vGIC's family: only its GICD writes are
 *  buffered): the JSON field's meaning (`weakStateless`, explore and run). */
export const WEAK_STATELESS_DESCRIPTION = "weak memory: the design keeps none of its own state in store buffers (only GICD writes are buffered)";

/** What a weak-memory search or run of such designs says nothing about. */
export function weakStatelessNote(variants: readonly string[], what: "search" | "run"): string {
  const one = variants.length === 1;
  return `note: under --memory weak, ${variants.join(", ")} keep${one ? "s" : ""} none of ${one ? "its" : "their"} own state in store buffers (only GICD writes are buffered): the ${what} says nothing about ${one ? "its" : "their"} barriers`;
}

/** Scheduler index of the first drain choice; threads must stay below it. */
export const DRAIN_BASE = 128;
/** drainable stores offered per pCPU (8 pCPUs x 8 = indices 128..191) */
export const DRAIN_SLOTS = 8;
/** Default cycles from a store to its drain under the time scheduler.
 *  Assumption: a store buffer drains in tens of cycles when nothing
 *  stalls it; no published figure for a Cortex-A57/A72 is used here. */
export const DEFAULT_DRAIN_CYCLES = 40;

/** One shared location (a word of hypervisor data). */
export class Cell {
  /** buffered stores to it that other pCPUs do not see yet, oldest first
   *  (all from one pCPU: a second writer drains them first) */
  readonly queue: StoreEntry[] = [];
  /** @param show how a value reads in narratives (default: String) */
  constructor(readonly name: string, readonly show: (v: unknown) => string = showValue) {}
}

/** A value in a narrative: a list's owner by name, null as empty. */
export function showValue(v: unknown): string {
  if (v === null) return "empty";
  if (typeof v === "object" && v !== null && "name" in v) return String((v as { name: unknown }).name);
  return String(v);
}

export interface StoreEntry {
  cpu: number;
  /** program order within the machine */
  seq: number;
  /** smp_wmb generation: a store drains only after every store of an
   *  earlier generation of its pCPU */
  epoch: number;
  /** when the time scheduler drains it */
  clock: number;
  /** the location, or null for a GICD write */
  cell: Cell | null;
  /** what other pCPUs read at the location until this store drains */
  old: unknown;
  /** the new value (for narratives) */
  value: unknown;
  /** GICD writes: address, value, size */
  addr: number;
  data: number;
  size: 1 | 2 | 4;
  /** what the code did, for traces: "list_del_init IRQ40.inflight" */
  label: string;
}

export interface MemoryStats {
  /** stores and GICD writes that went through a store buffer */
  buffered: number;
  /** drains chosen by the scheduler */
  scheduled: number;
  /** drains forced by a barrier, a lock, a coherence conflict or an access */
  forced: number;
  /** loads by another pCPU that read a value a buffered store had replaced */
  staleLoads: number;
}

export type DrainCause = "scheduled" | "barrier" | "coherence" | "device";

/** The machine's hook for a drained GICD write and for trace records. */
export interface MemoryHost {
  applyDeviceWrite(cpu: number, addr: number, value: number, size: 1 | 2 | 4, at: number): void;
  cpuClock(cpu: number): number;
  traceMemory(at: number, cpu: number, kind: "mem-store" | "mem-drain", e: StoreEntry, cause?: DrainCause): void;
  traceStale(cpu: number, cell: Cell, e: StoreEntry): void;
}

export class WeakMemory {
  /** per pCPU, its buffered stores in program order */
  readonly buffers: StoreEntry[][] = [];
  private readonly epochs: number[] = [];
  /** the pCPU whose code runs now, -1 for anything else (set by the machine) */
  cpu = -1;
  private seq = 0;
  readonly stats: MemoryStats = { buffered: 0, scheduled: 0, forced: 0, staleLoads: 0 };
  /** drain choices offered at the last enabled-list build: [cpu, entry] */
  private offered: StoreEntry[] = [];

  constructor(private readonly host: MemoryHost, cpus: number,
    readonly lockBarrier: LockBarrier, readonly drainCycles: number) {
    for (let i = 0; i < cpus; i++) { this.buffers.push([]); this.epochs.push(0); }
  }

  /** Buffered stores of every pCPU. */
  pending(): number {
    let n = 0;
    for (const b of this.buffers) n += b.length;
    return n;
  }

  // ---- what the modelled code calls

  /** The value the running pCPU reads at `cell`, whose latest store wrote
   *  `latest`: its own stores it sees at once, another pCPU's buffered ones
   *  not yet. Code that is no pCPU's (the checks, state snapshots, devices)
   *  reads the latest value: the state once the buffers have drained. */
  load<V>(cell: Cell, latest: V): V {
    const q = cell.queue;
    if (q.length === 0 || q[0]!.cpu === this.cpu || this.cpu < 0) return latest;
    this.stats.staleLoads++;
    this.host.traceStale(this.cpu, cell, q[0]!);
    return q[0]!.old as V;
  }

  /** Before the running thread stores to `cell` (or updates it atomically):
   *  another pCPU's buffered stores to it drain first. */
  claim(cell: Cell): void {
    const q = cell.queue;
    if (q.length > 0 && q[0]!.cpu !== this.cpu) this.drainFor(q[q.length - 1]!, "coherence");
  }

  /** After the running thread stored `value` to `cell` over `old`: a pCPU
   *  buffers it; anything else stored it visibly. */
  stored(cell: Cell, old: unknown, value: unknown, what: string): void {
    if (this.cpu < 0 || old === value && cell.queue.length === 0) return;
    const e = this.push(cell, old, value, 0, 0, 4, `${what} ${cell.name} (now ${cell.show(value)})`);
    cell.queue.push(e);
  }

  /** A GICD write of the running pCPU: buffered (true), or to be done at
   *  once by the caller (false: not a pCPU). */
  deviceWrite(addr: number, data: number, size: 1 | 2 | 4, what: string): boolean {
    if (this.cpu < 0) return false;
    this.push(null, null, data, addr, data, size, what);
    return true;
  }

  /** Any other GIC access of the running pCPU: its buffered GICD writes
   *  reach the GIC first (Device-nGnRE accesses arrive in program order). */
  deviceAccess(): void {
    if (this.cpu < 0) return;
    const b = this.buffers[this.cpu]!;
    for (let i = b.length - 1; i >= 0; i--) {
      if (b[i]!.cell === null) { this.drainFor(b[i]!, "device"); return; }
    }
  }

  /** smp_mb, dmb ish, dsb: every buffered store of the running pCPU drains. */
  mb(): void {
    if (this.cpu < 0) return;
    const b = this.buffers[this.cpu]!;
    if (b.length > 0) this.drainThrough(this.cpu, b[b.length - 1]!, "barrier");
  }

  /** smp_wmb (dmb ishst): stores after it drain after every store before it. */
  wmb(): void {
    if (this.cpu >= 0 && this.buffers[this.cpu]!.length > 0) this.epochs[this.cpu]!++;
  }

  /** A spinlock was taken by pCPU `cpu` (now, or granted while it spun). */
  lockAcquired(cpu: number): void {
    if (this.lockBarrier === "smp_mb" && cpu >= 0) this.drainAll(cpu, "barrier");
  }

  /** A spinlock is about to be released by the running pCPU. */
  lockReleasing(cpu: number): void {
    if (cpu >= 0) this.drainAll(cpu, "barrier");
  }

  // ---- what the machine calls

  /** Append the drain choices (scheduler indices) to `en`. */
  appendDrains(en: number[]): void {
    this.offered.length = 0;
    for (let c = 0; c < this.buffers.length; c++) {
      const b = this.buffers[c]!;
      if (b.length === 0) continue;
      const epoch = b[0]!.epoch;
      let device = false;
      let k = 0;
      for (let i = 0; i < b.length && k < DRAIN_SLOTS; i++) {
        const e = b[i]!;
        if (e.epoch !== epoch) break;
        const ok = e.cell === null ? !device : e.cell.queue[0] === e;
        if (e.cell === null) device = true;
        if (!ok) continue;
        en.push(DRAIN_BASE + c * DRAIN_SLOTS + k);
        this.offered[c * DRAIN_SLOTS + k] = e;
        k++;
      }
    }
  }

  /** The time scheduler's clock of a drain choice. */
  clockOf(index: number): number {
    return this.offered[index - DRAIN_BASE]!.clock;
  }

  /** Run a drain choice offered by the last appendDrains. */
  drainChoice(index: number): void {
    const e = this.offered[index - DRAIN_BASE];
    if (e === undefined) throw new RangeError(`drain choice ${index} was not offered`);
    this.stats.scheduled++;
    this.drain(e, "scheduled");
  }

  /** A new entry at the end of the running pCPU's buffer. */
  private push(cell: Cell | null, old: unknown, value: unknown, addr: number, data: number, size: 1 | 2 | 4, label: string): StoreEntry {
    const cpu = this.cpu;
    const e: StoreEntry = {
      cpu, seq: this.seq++, epoch: this.epochs[cpu]!, clock: this.host.cpuClock(cpu) + this.drainCycles,
      cell, old, value, addr, data, size, label,
    };
    this.buffers[cpu]!.push(e);
    this.stats.buffered++;
    this.host.traceMemory(e.clock - this.drainCycles, cpu, "mem-store", e);
    return e;
  }

  private drainAll(cpu: number, cause: DrainCause): void {
    const b = this.buffers[cpu]!;
    if (b.length > 0) this.drainThrough(cpu, b[b.length - 1]!, cause);
  }

  /** Drain what must become visible for `last` to: its pCPU's stores of
   *  earlier smp_wmb generations and the earlier stores to the same place
   *  (the same cell; for a GICD write, the earlier GICD writes), in program
   *  order; the pCPU's other stores stay buffered. */
  private drainFor(last: StoreEntry, cause: DrainCause): void {
    const b = this.buffers[last.cpu]!;
    for (let i = 0; i < b.length;) {
      const e = b[i]!;
      if (e.seq > last.seq) break;
      if (e.epoch < last.epoch || e.cell === last.cell) {
        this.stats.forced++;
        this.drain(e, cause);
      } else {
        i++;
      }
    }
  }

  /** Drain pCPU `cpu`'s stores in program order up to `last` (always an
   *  allowed order). */
  private drainThrough(cpu: number, last: StoreEntry, cause: DrainCause): void {
    const b = this.buffers[cpu]!;
    while (b.length > 0) {
      const e = b[0]!;
      this.stats.forced++;
      this.drain(e, cause);
      if (e === last) return;
    }
  }

  private drain(e: StoreEntry, cause: DrainCause): void {
    const b = this.buffers[e.cpu]!;
    b.splice(b.indexOf(e), 1);
    // a scheduled drain happens at its own time; a forced one when the
    // pCPU that forces it gets there
    const at = cause === "scheduled" || this.cpu < 0 ? e.clock : Math.max(e.clock - this.drainCycles, this.host.cpuClock(this.cpu));
    if (e.cell !== null) {
      e.cell.queue.shift();
    } else {
      this.host.applyDeviceWrite(e.cpu, e.addr, e.data, e.size, at);
    }
    this.host.traceMemory(at, e.cpu, "mem-drain", e, cause);
  }
}
