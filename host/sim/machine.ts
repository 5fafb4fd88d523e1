// The deterministic multi-CPU machine: N physical CPUs around one physical GIC
// (host/hw), each running hypervisor code as a cooperative thread, plus
// optional non-CPU threads (devices, test drivers), a queue of timed events,
// and one scheduler choosing who runs at each scheduling point.
//
// Threads. A thread is a stack of generators (api.ts `Co`): the base program
// and, above it, any IRQ handlers taken. One step resumes the top generator
// until it yields (a scheduling point: a lock operation, a declared
// preemption point, WFI) or returns. Between two yields the code runs
// atomically, so the interleavings the machine can produce are exactly the
// ones the code declares racy.
//
// Time. Every thread has a cycle clock, advanced only by charges (api.ts
// CostName costs from the profile, or explicit cycles). The global time is
// the smallest clock among enabled threads; timed events (machine.at) and
// delayed GIC line changes fire, in time order (ties: insertion order), once
// the global time reaches them. The `time` scheduler runs the thread with
// the smallest clock, which makes the run a discrete-event simulation whose
// latencies follow the profile; the adversarial schedulers pick freely and
// the clocks only account (also for interrupts: below).
//
// Interrupts. Before resuming a pCPU's thread, if its IRQs are unmasked,
// an IRQ handler is installed, and the GIC's nIRQ output for that CPU is
// visible (under the time scheduler: became visible no later than the
// pCPU's clock; under the others at any clock, the clock then jumping to
// the raise), the machine pushes the handler (charging el2Entry +
// irqEntry), masks IRQs while it runs and restores the mask when it
// returns (charging el2Return). The handler must acknowledge the interrupt
// (GICC_IAR), as on hardware, or it is taken again. A pCPU spinning on a
// lock with IRQs enabled takes its IRQ in the middle of the spin, as Xen's
// spin_lock allows, and spins on when the handler returns. WFI (`idle`)
// wakes on a visible IRQ or FIQ even while masked, as an ARMv8 core does
// (ARM ARM DDI 0487, WFI wake-up events), and the clock jumps to when the
// line became visible; those cycles count as idle.
//
// Locks and deadlock. lock.ts holds the lock operations; the bookkeeping
// (ownership, ticket queue, lockdep, contention) is here. A waiting thread is
// not enabled. A wait that closes a cycle in the wait-for graph ends the run
// at once as a deadlock (spinlocks never give up); a run where nothing is
// enabled, no event is pending and someone waits also ends as a deadlock,
// with the wait-for chain.
//
// Cost of the machinery. With tracing off a step allocates nothing of the
// machine's own (generators allocate their iteration results), formats no
// strings, makes no wasm call of its own (the line-change counter is read
// from the model's memory), and rebuilds the enabled list only when a thread
// changed state. host/bench/sim.ts measures it.

import type { Co, CostName, CostProfile, SchedPoint } from "./api.ts";
import { Line, type Gic } from "../hw/gic.ts";
import { CPU_BASE, CPU_STRIDE, C_LINES_VIS, G_LINES_SEQ, G_NEXT_DUE, G_NOW } from "../hw/layout.ts";
import { cycleTable } from "./profile.ts";
import { Lockdep, type IrqContext, type LockdepReport, type RawAcquisition, type StackNode } from "./lockdep.ts";
import type { Schedule, Scheduler, SchedState } from "./sched.ts";
import { Trace, registerName } from "./trace.ts";
import type { SpinLock } from "./lock.ts";
import { removeAt } from "./arrays.ts";
import { AS_DOUBLE } from "./shape.ts";
import { DEFAULT_DRAIN_CYCLES, DRAIN_BASE, WeakMemory, type Cell, type DrainCause, type LockBarrier, type MemoryModel, type StoreEntry } from "./memory.ts";

export type ThreadState = "runnable" | "waiting" | "idle" | "done" | "unspawned";
const RUNNABLE = 0, WAITING = 1, IDLE = 2, DONE = 3, UNSPAWNED = 4;
/** frameSaved of an IRQ frame entered in the middle of a spin (IRQs were enabled) */
const FRAME_SPIN = 2;
const STATE_NAMES: readonly ThreadState[] = ["runnable", "waiting", "idle", "done", "unspawned"];

const IRQ = Line.IRQ;
const LINES_SEQ_WORD = G_LINES_SEQ >>> 2;
const NOW_WORD = G_NOW >>> 3;
const LINES_VIS_WORD = (CPU_BASE + C_LINES_VIS) >>> 2;
const CPU_STRIDE_WORDS = CPU_STRIDE >>> 2;
const NEXT_DUE_WORD = G_NEXT_DUE >>> 3;
const WAKE_LINES = Line.IRQ | Line.FIQ;
/** tid of the event queue in traces */
export const EVENTS_TID = 999;

const DEFAULT_POINT: SchedPoint = Object.freeze({ label: "point" });
const IDLE_POINT: SchedPoint = Object.freeze({ label: "wfi" });
const START_LABEL = "start";

/** Simulated code, or a function making it (called when the frame starts). */
export type Body<T = unknown, C = Thread> = Co<T> | ((ctx: C) => Co<T>);

/** One thread of the machine; also the context its code receives. */
export class Thread {
  clock = 0;
  /** The thread promises to touch no shared state before this cycle unless
   *  an interrupt reaches it (a guest computing), set just before it yields
   *  and ended by its next step; 0 when it promises nothing. */
  quietUntil = 0;
  /** physical IRQs masked (PSTATE.I); always false on non-CPU threads unless set */
  irqMasked = false;
  /** hard-IRQ nesting (Xen's local_irq_count, > 0: in_irq()): changed by
   *  irq_enter and irq_exit, which the handler calls, not by taking the IRQ
   *  exception. Xen's exception entry work runs before its irq_enter. */
  irqDepth = 0;
  /** the simulated call stack (innermost frame), for lockdep and traces */
  stack: StackNode | null = null;
  /** @internal */ state = UNSPAWNED;
  /** @internal generator frames: base program, then IRQ handlers */
  frames: Co<unknown>[] = [];
  /** @internal per frame: -1 base, else the irqMasked value to restore (0/1) */
  frameSaved: number[] = [];
  /** @internal per frame: the call stack to restore when it returns */
  frameStack: (StackNode | null)[] = [];
  /** @internal the lock this thread spins on */
  waitingOn: SpinLock | null = null;
  /** @internal */ waitSince = 0;
  /** @internal lockdep record of the pending acquisition */
  pendingAcq: RawAcquisition | null = null;
  /** locks held, in acquisition order */
  readonly heldLocks: SpinLock[] = [];
  /** @internal lockdep records of heldLocks */
  readonly held: RawAcquisition[] = [];
  /** @internal a wake() arrived while not idle */
  wakePending = false;
  /** @internal */ idleSince = 0;
  /** @internal per interrupted spin (an IRQ taken while spinning with IRQs
   *  enabled): the lock it still waits for (null once granted meanwhile),
   *  its lockdep record and when it started to spin */
  readonly spinStack: Array<{ lock: SpinLock | null; acq: RawAcquisition | null; since: number }> = [];
  /** @internal made runnable to take its IRQ in the middle of a spin */
  spinIrq = false;
  /** @internal the point it last yielded */
  lastPoint: SchedPoint | undefined = undefined;
  /** Code between this thread's current frame and the machine acts on each
   *  of its yields (the hypervisor's guest loop while the pCPU is in guest
   *  mode: a time slice may end there): no point is passed without
   *  yielding (continueAt) while it is set. */
  yieldsObserved = false;
  /** cycles charged to "hyp" (kept apart: the common case) */
  private hypCycles = 0;
  private readonly cats = new Map<string, number>();

  constructor(readonly machine: Machine, readonly index: number, readonly name: string, readonly cpu: number) {
    // cycle counts: double fields from the start (shape.ts)
    this.clock = this.quietUntil = this.waitSince = this.idleSince = this.hypCycles = AS_DOUBLE;
    this.clock = this.quietUntil = this.waitSince = this.idleSince = this.hypCycles = 0;
  }

  get threadState(): ThreadState { return STATE_NAMES[this.state]!; }
  /** in hard-IRQ context */
  get inIrq(): boolean { return this.irqDepth > 0; }

  /** Advance this thread's clock; category defaults to "hyp". */
  charge(cycles: number, category?: string): void {
    this.clock += cycles;
    if (category === undefined || category === "hyp") this.hypCycles += cycles;
    else this.cats.set(category, (this.cats.get(category) ?? 0) + cycles);
  }

  /** Charge the profile's cycles for one operation (as "hyp" time). */
  cost(name: CostName): void {
    const c = this.machine.cycles[name];
    this.clock += c;
    this.hypCycles += c;
  }

  /** @internal cost() of cycles the hot paths read from the cycle table
   *  themselves (`machine.cycles.lockAcquire`: a property load, where
   *  cost()'s load by name is a lookup when the call is not inlined). */
  chargeHyp(c: number): void {
    this.clock += c;
    this.hypCycles += c;
  }

  /** Time accounting: cycles per category (hyp, guest, idle, spin:<class>...). */
  time(): Record<string, number> {
    const out: Record<string, number> = { hyp: this.hypCycles };
    for (const [k, v] of [...this.cats].sort((a, b) => (a[0] < b[0] ? -1 : 1))) out[k] = v;
    return out;
  }

  /** At scheduling point `p`, may this thread carry on without yielding
   *  (the machine's fast path: the scheduler would run it again at once)?
   *  When true the step is counted as if it had yielded, so a hot point
   *  reads `if (!ctx.passes(P)) yield P;`. */
  passes(p: SchedPoint): boolean {
    return this.machine.continueAt(this, p);
  }

  /** A declared preemption point. For a zero-allocation hot loop, yield a
   *  preallocated SchedPoint directly instead (`yield P`). */
  *point(label?: string | SchedPoint): Co {
    yield typeof label === "string" ? this.machine.pointFor(label) : label ?? DEFAULT_POINT;
  }

  /** Spend cycles (counted as `category`, default "idle") then yield: a
   *  device or driver thread waiting for time to pass. */
  *delay(cycles: number, category = "idle"): Co {
    this.charge(cycles, category);
    yield DEFAULT_POINT;
  }

  /** Mask physical IRQs; returns the previous mask (Xen's local_irq_save). */
  local_irq_save(): boolean {
    const f = this.irqMasked;
    this.irqMasked = true;
    return f;
  }

  /** Restore the mask. A pending IRQ is taken at the next scheduling point. */
  local_irq_restore(flags: boolean): void {
    this.irqMasked = flags;
  }

  /** Enter hard-IRQ context (Xen's irq_enter, which do_IRQ calls after
   *  the exception entry and enter_hypervisor_head: RELEASE-4.8.0
   *  xen/arch/arm/irq.c, asm-arm/hardirq.h). Lockdep calls acquisitions
   *  from here to irq_exit hard-IRQ ones; the rest of an IRQ exception runs
   *  with IRQs masked (or enabled where it enables them), like other code. */
  irq_enter(): void { this.irqDepth++; }

  /** Leave hard-IRQ context (Xen's irq_exit). */
  irq_exit(): void {
    if (this.irqDepth === 0) throw new Error(`${this.name}: irq_exit without irq_enter`);
    this.irqDepth--;
  }

  // Barriers as Xen defines them on arm64 (asm-arm/system.h). Under sc
  // memory they do nothing; under weak memory (memory.ts) they order this
  // pCPU's buffered stores. They are not scheduling points.

  /** smp_mb (dmb ish): every earlier store is visible before anything later. */
  smp_mb(): void { if (this.machine.memory !== null) this.machine.memory.mb(); }
  /** smp_wmb (dmb ishst): earlier stores are visible before later stores. */
  smp_wmb(): void { if (this.machine.memory !== null) this.machine.memory.wmb(); }
  /** dsb(sy): like smp_mb here (the model has no other observers to wait for). */
  dsb(): void { if (this.machine.memory !== null) this.machine.memory.mb(); }

  /** Would an IRQ be taken at the next scheduling point? */
  irqPending(): boolean {
    return this.cpu >= 0 && !this.irqMasked && this.machine.hasIrqHandler() && this.machine.irqReaches(this.cpu, this.clock);
  }

  /** Run a named function: it is on the call stack (lockdep, narratives)
   *  and a slice in the trace while it runs. */
  *fn<T>(name: string, body: Body<T, this>): Co<T> {
    const node: StackNode = { name, parent: this.stack };
    this.stack = node;
    const tr = this.machine.trace;
    if (tr !== null) tr.add(this.clock, this.index, "fn-begin", name);
    try {
      return yield* typeof body === "function" ? body(this) : body;
    } finally {
      // An exception unwinding through here leaves the functions entered
      // with enterFn above this one on the stack: they end first.
      if (this.stack !== node) this.unwindTo(node);
      this.stack = node.parent;
      if (tr !== null) tr.add(this.clock, this.index, "fn-end", name);
    }
  }

  /** Enter a named function without a generator layer of its own: the
   *  caller runs the body and then calls leaveFn with the returned node.
   *  Equivalent to fn() (stack, trace events), also when an exception
   *  unwinds through it (fn and the machine end such frames). */
  enterFn(name: string): StackNode {
    const node: StackNode = { name, parent: this.stack };
    this.stack = node;
    const tr = this.machine.trace;
    if (tr !== null) tr.add(this.clock, this.index, "fn-begin", name);
    return node;
  }

  /** Leave the function entered by enterFn (which returned `node`). */
  leaveFn(node: StackNode): void {
    this.stack = node.parent;
    const tr = this.machine.trace;
    if (tr !== null) tr.add(this.clock, this.index, "fn-end", node.name);
  }

  /** @internal end (innermost first) the functions above `node` on the
   *  stack, as exception unwinding through fn() would; no-op if `node` is
   *  not on it. */
  unwindTo(node: StackNode | null): void {
    let onStack = false;
    for (let p = this.stack; p !== null; p = p.parent) if (p === node) { onStack = true; break; }
    if (!onStack) return;
    const tr = this.machine.trace;
    for (let p = this.stack; p !== node && p !== null; p = p.parent) {
      if (tr !== null) tr.add(this.clock, this.index, "fn-end", p.name);
      this.stack = p.parent;
    }
  }

  /** WFI. A pCPU waits for its IRQ or FIQ line (or a wake()); another
   *  thread waits for a wake(). The clock jumps to the wake-up time and the
   *  cycles in between count as idle. A scheduling point either way. */
  *idle(): Co {
    const m = this.machine;
    if (this.wakePending) {
      this.wakePending = false;
      if (!m.continueAt(this, IDLE_POINT)) yield IDLE_POINT;
      return;
    }
    if (this.cpu >= 0 && (m.lineCache[this.cpu]! & WAKE_LINES) !== 0) {
      const at = m.visibleAt[this.cpu]!;
      if (at > this.clock) this.charge(at - this.clock, "idle");
      if (!m.continueAt(this, IDLE_POINT)) yield IDLE_POINT;
      return;
    }
    this.state = IDLE;
    m.enabledDirty = true;
    this.idleSince = this.clock;
    if (m.trace !== null) m.trace.add(this.clock, this.index, "idle", "wfi");
    yield IDLE_POINT;
    this.wakePending = false;
  }

  /** Drive a GIC input line at this thread's clock (PPIs name their CPU). */
  setLine(irq: number, level: boolean | number, cpu = 0): void {
    this.machine.driveLine(this.clock, this.index, irq, level, cpu);
  }
}

/** A physical CPU: a thread with a GIC CPU interface. */
export class PCpu extends Thread {
  constructor(machine: Machine, readonly id: number) {
    super(machine, id, `pCPU${id}`, id);
  }

  /** A GIC register read at this pCPU's clock, charged by frame; the time
   *  counts as `category` (default: "guest" for GICV, else "hyp"). */
  gicRead(addr: number, size: 1 | 2 | 4 = 4, category?: string): number {
    const m = this.machine;
    const raw = m.gic.raw;
    const start = this.clock;
    if (m.memory !== null) m.memory.deviceAccess();
    m.syncTime(start);
    const v = raw.mmioRead(this.id, addr >>> 0, size) >>> 0;
    m.chargeAccess(this, addr, category);
    if (m.trace !== null) m.trace.add(start, this.index, "mmio-read", m.frameName(addr), addr >>> 0, v);
    if (m.linesSeq() !== m.seenSeq) m.refreshLines(start);
    return v;
  }

  /** A GIC register write at this pCPU's clock, charged by frame; the time
   *  counts as `category` (default: "guest" for GICV, else "hyp"). */
  gicWrite(addr: number, value: number, size: 1 | 2 | 4 = 4, category?: string): number {
    const m = this.machine;
    const raw = m.gic.raw;
    const start = this.clock;
    const mem = m.memory;
    if (mem !== null) {
      // weak memory: the hypervisor's distributor writes wait in the store
      // buffer (the caller learns nothing of the outcome: Xen ignores it)
      if (((addr - m.map.d) >>> 0) < 0x10000 && mem.deviceWrite(addr >>> 0, value >>> 0, size, m.frameName(addr))) {
        m.chargeAccess(this, addr, category);
        return 0;
      }
      mem.deviceAccess();
    }
    m.syncTime(start);
    const status = raw.mmioWrite(this.id, addr >>> 0, value >>> 0, size);
    if (m.onDistributorWrite !== null && ((addr - m.map.d) >>> 0) < 0x10000) m.onDistributorWrite(addr - m.map.d, value >>> 0, size, start, m);
    m.chargeAccess(this, addr, category);
    if (m.trace !== null) m.trace.add(start, this.index, "mmio-write", m.frameName(addr), addr >>> 0, value >>> 0);
    if (m.linesSeq() !== m.seenSeq) m.refreshLines(start);
    return status;
  }
}

export interface MachineOptions {
  gic: Gic;
  profile: CostProfile;
  scheduler: Scheduler;
  /** record a trace (default false: no cost) */
  trace?: boolean;
  /** total steps over all run() calls (default unlimited) */
  maxSteps?: number;
  /** lock dependency checking (default true) */
  lockdep?: boolean;
  /** "sc" (default): every store is visible at once; "weak": declared
   *  shared stores and GICD writes go through per-pCPU store buffers
   *  (memory.ts) and the scheduler chooses when they drain */
  memory?: MemoryModel;
  /** weak memory: what a spinlock orders (default "smp_mb", Xen's arm) */
  lockBarrier?: LockBarrier;
  /** weak memory, time scheduler: cycles from a store to its drain */
  drainCycles?: number;
  /** With no trace and sc memory: a thread at a scheduling point that the
   *  run loop would run again at once (under the time scheduler: it has the
   *  smallest clock; under another: it is the only thread enabled, or the
   *  scheduler, asked there the loop's next question, answers it) carries
   *  on without yielding (the step is counted and recorded as if it had
   *  yielded; results, schedules and traces are the same). Default true;
   *  false runs every point through the scheduler loop (for comparison). */
  fastPath?: boolean;
}

export interface RunOptions {
  /** stop before anything happens after this cycle */
  until?: number;
  /** stop after this many steps of this call */
  maxSteps?: number;
}

/** One edge of the wait-for graph: thread spins on lock held by holder. */
export interface WaitEdge {
  thread: string;
  lock: string;
  lockClass: string;
  holder: string | null;
}

export interface Contention {
  acquisitions: number;
  /** acquisitions that had to wait */
  contended: number;
  spinCycles: number;
}

export interface ThreadSummary {
  name: string;
  state: ThreadState;
  clock: number;
  time: Record<string, number>;
  /** function stack where it stopped, outermost first */
  stack: string[];
}

export type RunReason = "done" | "deadlock" | "until" | "maxSteps" | "stopped" | "error";

export interface RunResult {
  reason: RunReason;
  /** steps run by the machine so far */
  steps: number;
  schedule: Schedule;
  /** wait-for cycle (or chain, when the last holder finished or idles) */
  deadlock?: { cycle: WaitEdge[] };
  /** an exception in simulated code; `kind` names a modelled hazard
   *  (an Error subclass whose name is a finding kind, e.g. list-race) */
  error?: { thread: string; message: string; kind?: string; stack?: string };
  lockdep: LockdepReport[];
  /** lock order graph of classes */
  lockOrder: Record<string, string[]>;
  contention: Record<string, Contention>;
  /** per pCPU */
  clocks: number[];
  threads: ThreadSummary[];
  /** sha256 of the trace, when tracing */
  traceHash?: string;
}

interface TimedEvent {
  time: number;
  seq: number;
  label: string;
  fn: (m: Machine) => void;
}

/** Machine.pending: no answer kept, an answer kept, an error kept */
const NONE = 0, PICKED = 1, THREW = 2;
/** The picks buffer's size past its first 64 bytes. A backing store outside
 *  the heap costs about the same to make whatever its size, and most fuzz
 *  cases make 60 to 450 decisions: one allocation rather than up to three. */
const PICKS_FIRST_GROWTH = 1024;

export class Machine implements SchedState {
  readonly gic: Gic;
  readonly profile: CostProfile;
  /** the profile as a flat table of cycles */
  readonly cycles: Record<CostName, number>;
  readonly cpus: PCpu[];
  readonly threads: Thread[];
  readonly trace: Trace | null;
  readonly lockdep: Lockdep | null;
  steps = 0;
  lastThread = -1;
  /** @internal steps whose point was passed without yielding (the fast path) */
  fastSteps = 0;
  /** @internal visible output lines per CPU, as last seen */
  readonly lineCache: Int32Array;
  /** @internal cycle at which each CPU's IRQ line last became visible */
  readonly visibleAt: Float64Array;
  /** @internal */ seenSeq: number;

  private sched: Scheduler;
  private byClock: boolean;
  /** the fast path is asked for (MachineOptions.fastPath) */
  private readonly fastWanted: boolean;
  /** ...and applies: no trace, sc memory */
  private fast: boolean;
  /** the current run() call's `until` and step limit */
  private runUntil = Infinity;
  private runLimit = Infinity;
  private readonly maxStepsTotal: number;
  private irqHandler: ((ctx: PCpu) => Co<unknown>) | null = null;
  private readonly heap: TimedEvent[] = [];
  private seq = 0;
  /** small at first, so a machine built per schedule or case allocates no
   *  backing store outside the heap for it; then PICKS_FIRST_GROWTH, then
   *  doubling */
  private picks = new Uint8Array(64);
  private npicks = 0;
  /** continueAt's answer from the scheduler for the loop's next pass:
   *  NONE, PICKED (pendingPick) or THREW (pendingError) */
  private pending = NONE;
  private pendingPick = 0;
  private pendingError: unknown = null;
  /** the point continueAt said to yield at, with a pendingPick */
  private pendingPoint: SchedPoint | null = null;
  private enabled: number[] = [];
  /** @internal a thread changed state: rebuild the enabled list */
  enabledDirty = true;
  private mem32: Uint32Array;
  private mem64: Float64Array;
  private readonly points = new Map<string, SchedPoint>();
  private readonly contention = new Map<string, Contention>();
  private readonly hasDelay: boolean;
  private current: Thread | null = null;
  /** The thread whose step is running (null between steps and in a
   *  machine event): an observer called from simulated code learns there
   *  which pCPU acts. */
  get running(): Thread | null { return this.current; }
  private eventNow = 0;
  private deadlockEdges: WaitEdge[] | null = null;
  /** requestStop was called: run returns before its next step */
  private stopRequested = false;
  private failure: NonNullable<RunResult["error"]> | null = null;
  /** @internal the frame bases of the GIC's memory map */
  readonly map: { d: number; c: number; h: number; v: number };
  /** Called when a pCPU's write reaches the physical distributor (offset,
   *  value, size, cycle, this machine): a device model reacting to the
   *  hypervisor's programming, such as an interrupt that fires once its
   *  affinity moved. (A function of a module that finds what it needs
   *  through the machine it is given keeps systems built per schedule
   *  dying young; see tests/gc-retention.test.ts.) */
  onDistributorWrite: ((offset: number, value: number, size: 1 | 2 | 4, at: number, machine: Machine) => void) | null = null;
  /** weak memory's store buffers, or null (sequentially consistent) */
  readonly memory: WeakMemory | null;

  constructor(opts: MachineOptions) {
    this.gic = opts.gic;
    this.profile = opts.profile;
    this.cycles = cycleTable(opts.profile);
    this.sched = opts.scheduler;
    this.byClock = opts.scheduler.smallestClock === true;
    this.maxStepsTotal = opts.maxSteps ?? Infinity;
    this.trace = opts.trace ? new Trace(opts.profile.hz) : null;
    this.lockdep = opts.lockdep === false ? null : new Lockdep();
    const n = opts.gic.config.cpus;
    this.cpus = [];
    for (let i = 0; i < n; i++) this.cpus.push(new PCpu(this, i));
    this.threads = [...this.cpus];
    this.lineCache = new Int32Array(n);
    this.visibleAt = new Float64Array(n);
    this.hasDelay = opts.gic.config.propagationDelay > 0;
    const mp = opts.gic.config.map;
    this.map = { d: mp.gicd, c: mp.gicc, h: mp.gich, v: mp.gicv };
    const model = opts.memory ?? "sc";
    if (model !== "sc" && model !== "weak") throw new RangeError(`memory: got ${JSON.stringify(model)}, expected "sc" or "weak"`);
    const lb = opts.lockBarrier ?? "smp_mb";
    if (lb !== "smp_mb" && lb !== "acq-rel") throw new RangeError(`lockBarrier: got ${JSON.stringify(lb)}, expected "smp_mb" or "acq-rel"`);
    const dc = opts.drainCycles ?? DEFAULT_DRAIN_CYCLES;
    if (!(Number.isInteger(dc) && dc >= 0)) throw new RangeError(`drainCycles: got ${dc}, expected an integer >= 0`);
    this.memory = model === "weak" ? new WeakMemory(this, n, lb, dc) : null;
    this.fastWanted = opts.fastPath !== false;
    this.fast = this.fastWanted && this.trace === null && this.memory === null;
    this.seenSeq = -1;
    this.mem32 = opts.gic.memoryWords();
    this.mem64 = opts.gic.memoryDoubles();
    if (this.trace !== null) {
      this.cpus.forEach((c) => { this.trace!.threadNames[c.index] = c.name; });
      this.trace.threadNames[EVENTS_TID] = "events";
    }
    this.refreshLines(0);
  }

  get scheduler(): Scheduler { return this.sched; }
  setScheduler(s: Scheduler): void {
    this.sched = s;
    this.byClock = s.smallestClock === true;
    this.fast = this.fastWanted && this.trace === null && this.memory === null;
  }

  // ---- building the program

  /** Give pCPU `cpu` its program, run as the named base function. */
  spawn(cpu: number, name: string, body: Body<unknown, PCpu>): PCpu {
    const t = this.cpus[cpu];
    if (t === undefined) throw new RangeError(`spawn: no pCPU ${cpu} (the GIC has ${this.cpus.length})`);
    this.start(t, name, body as Body<unknown, Thread>);
    return t;
  }

  /** A non-CPU thread (device, test driver) with its own clock. */
  spawnThread(name: string, body: Body<unknown, Thread>, opts: { clock?: number } = {}): Thread {
    if (this.threads.length >= 255) throw new RangeError("spawnThread: at most 255 threads");
    if (this.memory !== null && this.threads.length >= DRAIN_BASE) throw new RangeError(`spawnThread: at most ${DRAIN_BASE} threads in weak-memory mode`);
    const t = new Thread(this, this.threads.length, name, -1);
    t.clock = opts.clock ?? 0;
    this.threads.push(t);
    if (this.trace !== null) this.trace.threadNames[t.index] = name;
    this.start(t, name, body);
    return t;
  }

  private start(t: Thread, name: string, body: Body<unknown, Thread>): void {
    if (t.state !== UNSPAWNED && t.state !== DONE) throw new Error(`spawn: ${t.name} is still running`);
    // The base frame is the body itself, not wrapped in fn(): a delegating
    // generator would add a resume per step. Its stack node is pushed here
    // and popped in popFrame.
    t.stack = { name, parent: null };
    if (this.trace !== null) this.trace.add(t.clock, t.index, "fn-begin", name);
    t.frames = [typeof body === "function" ? body(t) : body];
    t.frameSaved = [-1];
    t.frameStack = [null];
    t.state = RUNNABLE;
    this.enabledDirty = true;
    t.lastPoint = undefined;
  }

  /** The hypervisor's IRQ entry, run on a pCPU when it takes a physical IRQ. */
  setIrqHandler(handler: (ctx: PCpu) => Co<unknown>): void { this.irqHandler = handler; }
  /** @internal */ hasIrqHandler(): boolean { return this.irqHandler !== null; }

  /** Run `fn` when the global time reaches `cycle` (ties: insertion order). */
  at(cycle: number, label: string, fn: (m: Machine) => void): void {
    if (!(cycle >= 0)) throw new RangeError(`at: cycle ${cycle} is not a non-negative number`);
    this.heapPush({ time: cycle, seq: this.seq++, label, fn });
  }

  /** Wake an idle thread at cycle `at` (default: now, for the caller). */
  wake(t: Thread, at?: number): void {
    this.wakeThread(t, at ?? (this.current !== null ? this.current.clock : this.eventNow));
  }

  /** Drive a GIC input line at a cycle; used by events and Thread.setLine. */
  driveLine(at: number, tid: number, irq: number, level: boolean | number, cpu = 0): void {
    this.syncTime(at);
    this.gic.setLine(irq, level, cpu);
    if (this.trace !== null) this.trace.add(at, tid, "set-line", `irq${irq}`, irq, level ? 1 : 0);
    if (this.linesSeq() !== this.seenSeq) this.refreshLines(at);
  }

  /** Drive a line from an event (at the event's time). */
  setLine(irq: number, level: boolean | number, cpu = 0): void {
    this.driveLine(this.current !== null ? this.current.clock : this.eventNow, this.current?.index ?? EVENTS_TID, irq, level, cpu);
  }

  /** A shared SchedPoint per label (no allocation after the first use). */
  pointFor(label: string): SchedPoint {
    let p = this.points.get(label);
    if (p === undefined) {
      p = Object.freeze({ label });
      this.points.set(label, p);
    }
    return p;
  }

  /** @internal the contention counters of a lock class */
  lockClassStats(cls: string): Contention {
    let c = this.contention.get(cls);
    if (c === undefined) {
      c = { acquisitions: 0, contended: 0, spinCycles: AS_DOUBLE };
      c.spinCycles = 0;
      this.contention.set(cls, c);
    }
    return c;
  }

  // ---- SchedState
  clockOf(thread: number): number {
    return thread >= DRAIN_BASE && this.memory !== null ? this.memory.clockOf(thread) : this.threads[thread]!.clock;
  }

  /** The global time: the smallest clock among enabled threads (or the
   *  largest clock when none is enabled). */
  now(): number {
    let t = Infinity, mx = 0;
    for (const th of this.threads) {
      if (th.state === RUNNABLE && th.clock < t) t = th.clock;
      if (th.state !== UNSPAWNED && th.clock > mx) mx = th.clock;
    }
    return t === Infinity ? mx : t;
  }

  // ---- running

  /** Make the current `run` return ("stopped") before its next step, as
   *  if its limit were reached there: a callback that decides the run has
   *  gone far enough (a workload's guest is ready). Another `run`
   *  continues from there as if nothing had stopped it. */
  requestStop(): void {
    this.stopRequested = true;
  }

  run(opts: RunOptions = {}): RunResult {
    const until = opts.until ?? Infinity;
    const limit = Math.min(this.steps + (opts.maxSteps ?? Infinity), this.maxStepsTotal);
    this.runUntil = until;
    this.runLimit = limit;
    const threads = this.threads;
    const mem = this.memory;
    let en = this.enabled;
    for (;;) {
      if (this.failure !== null) return this.finish("error");
      if (this.deadlockEdges !== null) return this.finish("deadlock");
      if (this.stopRequested) {
        this.stopRequested = false;
        return this.finish("stopped");
      }
      // The enabled set changes only when a thread changes state (or, in
      // weak memory, when a store buffer may have: the drain choices).
      if (this.enabledDirty || mem !== null) {
        this.enabledDirty = false;
        en = [];
        for (let i = 0; i < threads.length; i++) if (threads[i]!.state === RUNNABLE) en.push(i);
        if (mem !== null) mem.appendDrains(en);
        this.enabled = en;
      } else en = this.enabled; // (continueAt may have rebuilt it)
      let T = Infinity;
      let first = -1;
      for (let i = 0; i < en.length; i++) {
        const k = en[i]!;
        const c = k < DRAIN_BASE ? threads[k]!.clock : mem!.clockOf(k);
        if (c < T) {
          T = c;
          first = en[i]!;
        }
      }
      if (this.heap.length > 0 || this.hasDelay) {
        const ev = this.nextEventTime();
        if (ev <= T && ev !== Infinity) {
          if (ev > until) return this.finish("until");
          this.fireNext();
          continue;
        }
      }
      if (en.length === 0) return this.finish(this.stuck() ? "deadlock" : "done");
      if (T > until) return this.finish("until");
      if (this.steps >= limit) return this.finish("maxSteps");
      let pick = en[0]!;
      if (en.length > 1) {
        // A scheduler's error fails the run without its stack: that is the
        // host's path to the question (here, or a point: continueAt), not
        // the simulation's, and the two must not differ.
        if (this.pending !== NONE) {
          // continueAt asked this very question at the end of the last step
          const threw = this.pending === THREW;
          this.pending = NONE;
          if (threw) {
            const e = this.pendingError;
            this.pendingError = null;
            this.fail(null, e, false);
            continue;
          }
          pick = this.pendingPick;
        } else {
          try {
            pick = this.byClock ? first : this.sched.pick(en, this);
          } catch (e) {
            this.fail(null, e, false);
            continue;
          }
        }
        if (!this.byClock && !en.includes(pick)) {
          this.fail(null, new Error(`scheduler ${this.sched.name}: picked ${String(pick)}, expected one of the enabled threads [${en.join(",")}]`), false);
          continue;
        }
        if (this.npicks === this.picks.length) this.growPicks();
        this.picks[this.npicks++] = pick;
      }
      if (mem === null) this.step(threads[pick]!);
      else if (pick >= DRAIN_BASE) this.drainStep(pick);
      else {
        const t = threads[pick]!;
        mem.cpu = t.cpu;
        this.step(t);
        mem.cpu = -1;
      }
    }
  }

  /** @internal The fast path. `t`, the running thread, is at scheduling
   *  point `p`. If yielding would only bring the run loop straight back to
   *  t (the loop's next pass fires no event, stops for no limit, picks t
   *  and takes no IRQ on it), do here what the end of this step and the
   *  loop's next pass would do (count the step, record the pick) and
   *  return true: t carries on without yielding. Else false: t yields.
   *  The checks are the loop's own, in its order, so the run is the same
   *  step for step. Under the time scheduler the pick is t's when its
   *  clock is the smallest. Under any other the scheduler itself is asked,
   *  here, the question the loop's next pass would ask it (when there is a
   *  choice), in the state it would see: each decision is asked once, in
   *  the same order and state, so the explorers' decisions and replays are
   *  the same. Not with a trace (whose "step" events would be missing) nor
   *  in weak memory (the drains' choices). */
  continueAt(t: Thread, p: SchedPoint): boolean {
    // (false obliges t to yield p at once: it is what the loop's next pass
    // expects, and may have asked the scheduler about already)
    if (!this.fast || this.current !== t) return false;
    // the end of step(): lines that changed during it
    if (this.linesSeq() !== this.seenSeq) this.refreshLines(this.gic.now());
    // the loop's next pass, as run() does it
    if (this.failure !== null || this.deadlockEdges !== null || this.stopRequested || t.state !== RUNNABLE || t.spinIrq || t.yieldsObserved) return false;
    if (this.steps + 1 >= this.runLimit) return false;
    const threads = this.threads;
    let en = this.enabled;
    if (this.enabledDirty) {
      this.enabledDirty = false;
      en = [];
      for (let i = 0; i < threads.length; i++) if (threads[i]!.state === RUNNABLE) en.push(i);
      this.enabled = en;
    }
    const T = t.clock, ti = t.index;
    if (!(T < Infinity)) return false; // (the loop's own answer then is not worth copying)
    if (this.byClock) {
      for (let i = 0; i < en.length; i++) {
        const k = en[i]!;
        // the smallest clock, ties to the lowest index
        if (k !== ti && (k < ti ? threads[k]!.clock <= T : threads[k]!.clock < T)) return false;
      }
    }
    // (the loop fires the events due by the smallest clock enabled and
    // stops past `until` by it: t's clock, or a larger one, says false
    // whenever the loop's would, and at worst more often)
    if ((this.heap.length > 0 || this.hasDelay) && this.nextEventTime() <= T) return false;
    if (T > this.runUntil) return false;
    const cpu = t.cpu;
    if (cpu >= 0 && !t.irqMasked && this.irqHandler !== null && this.irqReaches(cpu, T)) return false;
    if (!this.byClock && en.length > 1) {
      // A decision. The scheduler is asked here what the loop's next pass
      // would ask it, in the state it would see then (the step counted,
      // t the last thread: the step's end sets it so either way). Its
      // answer t carries on; another answer, or an error, is handed to
      // that pass (pendingPick), which asks nothing.
      this.steps++;
      this.lastThread = ti;
      let pick = ti;
      try {
        pick = this.sched.pick(en, this);
        if (pick !== ti) {
          this.pending = PICKED;
          this.pendingPick = pick;
        }
      } catch (e) {
        this.pending = THREW;
        this.pendingError = e;
      }
      this.steps--;
      if (this.pending !== NONE) {
        this.pendingPoint = p;
        return false;
      }
    }
    this.steps++;
    this.fastSteps++;
    this.lastThread = ti;
    t.lastPoint = p;
    if (en.length > 1) {
      if (this.npicks === this.picks.length) this.growPicks();
      this.picks[this.npicks++] = ti;
    }
    return true;
  }

  private growPicks(): void {
    const p = new Uint8Array(Math.max(this.picks.length * 2, PICKS_FIRST_GROWTH));
    p.set(this.picks);
    this.picks = p;
  }

  /** @internal The model's line-change counter, read from its memory
   *  (G_LINES_SEQ) rather than through an export call: one typed-array load. */
  linesSeq(): number {
    let m = this.mem32;
    if (m.length === 0) m = this.mem32 = new Uint32Array(this.gic.raw.memory.buffer);
    return m[LINES_SEQ_WORD]!;
  }

  /** The visible output lines of a CPU interface (Gic.lines), read from
   *  the model's memory rather than through an export call. */
  visibleLines(cpu: number): number {
    if (!(cpu >= 0 && cpu < this.cpus.length)) return this.gic.lines(cpu); // the model counts the bad CPU
    let m = this.mem32;
    if (m.length === 0) m = this.mem32 = new Uint32Array(this.gic.raw.memory.buffer);
    return m[LINES_VIS_WORD + cpu * CPU_STRIDE_WORDS]!;
  }

  /** @internal The model's setTime(t). When no delayed line change is due
   *  by t, the model's advanceTo (assembly/cpuif.ts) only stores t as its
   *  clock: that store is made here, without the call into wasm. */
  syncTime(t: number): void {
    let f = this.mem64;
    if (f.length === 0) f = this.mem64 = new Float64Array(this.gic.raw.memory.buffer);
    const nd = f[NEXT_DUE_WORD]!;
    if (nd < 0 || nd > t) {
      f[NOW_WORD] = t;
      return;
    }
    this.gic.raw.setTime(t);
  }

  /** A buffered store becomes visible (weak memory): a step of its own. */
  private drainStep(pick: number): void {
    try {
      this.memory!.drainChoice(pick);
    } catch (e) {
      this.fail(null, e);
    }
    // not a context switch: the thread that ran before is still the one a
    // non-preemptive schedule continues, so a drain costs one preemption
    this.steps++;
  }

  /** @internal weak memory: a drained GICD write reaches the GIC. */
  applyDeviceWrite(cpu: number, addr: number, value: number, size: 1 | 2 | 4, at: number): void {
    this.syncTime(at);
    this.gic.raw.mmioWrite(cpu, addr, value, size);
    if (this.onDistributorWrite !== null) this.onDistributorWrite(addr - this.map.d, value, size, at, this);
    if (this.trace !== null) this.trace.add(at, cpu, "mmio-write", this.frameName(addr), addr >>> 0, value >>> 0, `${this.frameName(addr)} = ${value >>> 0} reaches the GIC`);
    if (this.linesSeq() !== this.seenSeq) this.refreshLines(at);
  }

  /** @internal weak memory: the clock of pCPU `cpu` */
  cpuClock(cpu: number): number { return this.cpus[cpu]!.clock; }

  /** Record an interrupt flow stage or a counter (trace.mark) on the thread
   *  now running (the event queue's track between threads), at `at` or its
   *  clock. Nothing without a trace. */
  traceHere(kind: "irq-flow" | "counter", name: string, a: number, b: number, text = "", at?: number): void {
    const tr = this.trace;
    if (tr === null) return;
    const t = this.current;
    tr.mark(at ?? (t !== null ? t.clock : this.eventNow), t?.index ?? EVENTS_TID, kind, name, a, b, text);
  }

  /** @internal weak memory: trace a store entering or leaving a buffer. */
  traceMemory(at: number, cpu: number, kind: "mem-store" | "mem-drain", e: StoreEntry, cause?: DrainCause): void {
    const tr = this.trace;
    if (tr === null) return;
    const frame = this.frameName(e.addr);
    const what = e.cell === null ? `a write of ${registerName(frame) ?? frame} = 0x${e.data.toString(16)}` : e.label;
    tr.add(at, cpu, kind, e.cell === null ? frame : e.cell.name, e.seq, e.cell === null ? 1 : 0,
      kind === "mem-store" ? `buffers ${what}: not yet visible to other pCPUs` : `${what} becomes visible to all (${cause})`);
  }

  /** @internal weak memory: trace a load that did not see another pCPU's store. */
  traceStale(cpu: number, cell: Cell, e: StoreEntry): void {
    const tr = this.trace;
    if (tr === null || cpu < 0) return;
    tr.add(this.cpus[cpu]!.clock, cpu, "mem-stale", cell.name, e.seq, 0,
      `reads ${cell.name} = ${cell.show(e.old)}: pCPU${e.cpu}'s ${e.label} is not visible yet`);
  }

  private step(t: Thread): void {
    this.current = t;
    const cpu = t.cpu;
    // A quietUntil promise holds while its thread waits at the point it
    // made it at: resumed, the thread may act at once (the hypervisor ends
    // a guest's computation at a time slice's end or for a migration and
    // runs on), so the promise ends here. A thread computing on makes a
    // new one before it yields again.
    t.quietUntil = 0;

    if (t.spinIrq) {
      // a pCPU spinning with IRQs enabled takes its IRQ (Xen's spin_lock
      // leaves IRQs as they are); the spin resumes when the handler returns
      t.spinIrq = false;
      if (t.waitingOn === null || t.irqMasked || (this.lineCache[cpu]! & IRQ) === 0) {
        // the lock was granted, or the IRQ went away, before it ran
        if (t.waitingOn !== null) t.state = WAITING;
        this.enabledDirty = true;
        this.current = null;
        return;
      }
      const at = this.visibleAt[cpu]!;
      if (at > t.clock) {
        const l = t.waitingOn;
        l.stats.spinCycles += at - t.clock;
        t.charge(at - t.clock, l.spinCategory);
      }
      this.spinTakesIrq(t as PCpu);
    } else if (cpu >= 0 && !t.irqMasked && this.irqHandler !== null && this.irqReaches(cpu, t.clock)) {
      // (an adversarial schedule may run a pCPU whose clock is behind the
      // raise: it takes the IRQ now, and its clock waits until the raise)
      const at = this.visibleAt[cpu]!;
      if (at > t.clock) t.charge(at - t.clock, "idle");
      this.takeIrq(t as PCpu);
    }
    const tr = this.trace;
    if (tr !== null) tr.add(t.clock, t.index, "step", t.lastPoint?.label ?? START_LABEL);
    const frames = t.frames;
    let r: IteratorResult<SchedPoint | undefined, unknown>;
    try {
      r = frames[frames.length - 1]!.next();
    } catch (e) {
      this.steps++;
      this.unwindFrame(t);
      this.fail(t, e);
      this.current = null;
      return;
    }
    this.steps++;
    this.lastThread = t.index;
    if (r.done === true) this.popFrame(t);
    else t.lastPoint = r.value;
    if (this.pending !== NONE && (r.done === true || r.value !== this.pendingPoint)) {
      // continueAt answered false and the thread went on: the scheduler's
      // answer no longer fits the state (a contract broken, never silently)
      this.pending = NONE;
      this.fail(t, new Error(`${t.name} was told at '${this.pendingPoint?.label}' to yield there and did not`));
    }
    if (this.linesSeq() !== this.seenSeq) this.refreshLines(this.gic.now());
    this.current = null;
  }

  /** An exception left the top frame of `t`: end the functions entered
   *  with enterFn in that frame (fn() frames ended themselves), down to the
   *  frame's base function, as unwinding through fn() would have. */
  private unwindFrame(t: Thread): void {
    const n = t.frames.length;
    if (n === 0) return;
    const below = t.frameStack[n - 1] ?? null;
    let base: StackNode | null = null;
    for (let p = t.stack; p !== null; p = p.parent) {
      if (p.parent === below) { base = p; break; }
    }
    if (base !== null && base !== t.stack) t.unwindTo(base);
  }

  /** Suspend t's spin (its ticket stays queued) and enter the IRQ handler. */
  private spinTakesIrq(t: PCpu): void {
    const l = t.waitingOn!;
    t.spinStack.push({ lock: l, acq: t.pendingAcq, since: t.waitSince });
    t.waitingOn = null;
    t.pendingAcq = null;
    if (this.trace !== null) this.trace.add(t.clock, t.index, "note", "spin-irq", 0, 0, `${fnName(t)} takes an IRQ while spinning on ${l.name}`);
    this.takeIrq(t);
    t.frameSaved[t.frameSaved.length - 1] = FRAME_SPIN;
  }

  /** A pCPU spinning with IRQs enabled becomes runnable to take its IRQ. */
  private interruptSpin(t: Thread): void {
    if (t.state !== WAITING || t.irqMasked || t.cpu < 0 || this.irqHandler === null || t.waitingOn === null) return;
    t.state = RUNNABLE;
    t.spinIrq = true;
    this.enabledDirty = true;
  }

  private takeIrq(t: PCpu): void {
    const h = this.irqHandler!(t);
    if (this.trace !== null) this.trace.add(t.clock, t.index, "irq-enter", "IRQ");
    t.frames.push(h);
    t.frameSaved.push(t.irqMasked ? 1 : 0);
    t.frameStack.push(t.stack);
    t.stack = { name: "irq", parent: t.stack };
    t.irqMasked = true;
    t.charge(this.cycles.el2Entry + this.cycles.irqEntry);
  }

  private popFrame(t: Thread): void {
    t.frames.pop();
    const saved = t.frameSaved.pop()!;
    const base = t.stack;
    t.stack = t.frameStack.pop() ?? null;
    if (saved < 0 && this.trace !== null && base !== null) this.trace.add(t.clock, t.index, "fn-end", base.name);
    if (saved >= 0) {
      t.irqMasked = saved === 1; // FRAME_SPIN: a spin with IRQs enabled
      t.chargeHyp(this.cycles.el2Return);
      if (this.trace !== null) this.trace.add(t.clock, t.index, "irq-exit", "IRQ");
      if (saved === FRAME_SPIN) {
        // back to the interrupted spin, unless the lock was handed over meanwhile
        const w = t.spinStack.pop()!;
        if (w.lock !== null) {
          t.waitingOn = w.lock;
          t.pendingAcq = w.acq;
          t.waitSince = t.clock;
          t.state = WAITING;
          this.enabledDirty = true;
          // and another IRQ may already be waiting
          if ((this.lineCache[t.cpu]! & IRQ) !== 0) this.interruptSpin(t);
        }
      }
    }
    if (t.frames.length === 0) {
      t.state = DONE;
      this.enabledDirty = true;
      if (this.trace !== null) this.trace.add(t.clock, t.index, "note", "done", 0, 0, "finishes");
    }
  }

  private fail(t: Thread | null, e: unknown, withStack = true): void {
    const err = e instanceof Error ? e : new Error(String(e));
    const where = t === null ? (this.current === null ? "scheduler" : this.current.name) : t.name;
    // an error class with a name of its own (a list race) keeps it as its kind
    const kind = err.name !== "Error" && /^[a-z][a-z-]*$/.test(err.name) ? { kind: err.name } : {};
    this.failure = { thread: where, message: err.message, ...kind, ...(withStack && err.stack ? { stack: err.stack } : {}) };
    if (t !== null) {
      t.state = DONE;
      this.enabledDirty = true;
    }
    if (this.trace !== null) this.trace.add(t?.clock ?? this.eventNow, t?.index ?? EVENTS_TID, "error", err.message);
  }

  /** Nothing enabled: is someone spinning? Record the wait-for chain. */
  private stuck(): boolean {
    const w = this.threads.find((t) => t.state === WAITING);
    if (w === undefined) return false;
    this.deadlockEdges = this.waitChain(w);
    if (this.trace !== null) this.trace.add(w.clock, w.index, "deadlock", this.deadlockEdges.map((e) => e.thread).join(">"));
    return true;
  }

  /** Follow thread -> lock -> holder from `from`; the cycle if there is one. */
  private waitChain(from: Thread): WaitEdge[] {
    const seen: Thread[] = [];
    let t: Thread | null = from;
    while (t !== null && t.waitingOn !== null && !seen.includes(t)) {
      seen.push(t);
      t = t.waitingOn.holder;
    }
    const startAt = t !== null && seen.includes(t) ? seen.indexOf(t) : 0;
    return seen.slice(startAt).map((x) => ({
      thread: x.name, lock: x.waitingOn!.name, lockClass: x.waitingOn!.lockClass, holder: x.waitingOn!.holder?.name ?? null,
    }));
  }

  private finish(reason: RunReason): RunResult {
    const contention: Record<string, Contention> = {};
    for (const k of [...this.contention.keys()].sort()) contention[k] = { ...this.contention.get(k)! };
    // The schedule, the lock-order graph and the trace hash grow with the
    // run: they are computed when first read, so a run continued window by
    // window (run({until}) again and again) does not copy them every time.
    // They are accessors of the module (see LAZY), same order and
    // attributes as the properties of a literal.
    const lockdep = this.lockdep;
    const res = { reason, steps: this.steps } as RunResult;
    const lazy: LazyParts = { picks: this.picks, npicks: this.npicks, lockdep, schedule: undefined, lockOrder: undefined, trace: null, events: 0, hash: undefined };
    Object.defineProperty(res, LAZY, { value: lazy });
    Object.defineProperty(res, "schedule", SCHEDULE_PROPERTY);
    res.lockdep = lockdep === null ? [] : lockdep.reports.slice();
    Object.defineProperty(res, "lockOrder", LOCK_ORDER_PROPERTY);
    res.contention = contention;
    res.clocks = this.cpus.map((c) => c.clock);
    res.threads = this.threads.map((t) => ({
      name: t.name, state: t.threadState, clock: t.clock, time: t.time(), stack: stackOf(t),
    }));
    if (reason === "deadlock" && this.deadlockEdges !== null) res.deadlock = { cycle: this.deadlockEdges };
    if (reason === "error" && this.failure !== null) res.error = this.failure;
    const trace = this.trace;
    if (trace !== null) {
      lazy.trace = trace;
      lazy.events = trace.count;
      // the hash of the trace as it stood when this result was made (a
      // streamed trace keeps no events to hash later: its hash now)
      if (trace.streaming) lazy.hash = trace.hash();
      Object.defineProperty(res, "traceHash", TRACE_HASH_PROPERTY);
    }
    return res;
  }

  /** Under a time-ordered scheduler, the earliest cycle at which anything but
   *  `t` can act: a timed event, or the next step of another runnable thread,
   *  or, for one waiting at the point where it promised to compute until
   *  quietUntil, with no interrupt line up, the end of its computation
   *  (nothing can interrupt it earlier, since nobody acts earlier; its next
   *  step ends the promise). `t` may compute until then in one step without
   *  anyone observing a difference (conservative lookahead). Adversarial
   *  schedulers get none (t's own clock): their interleavings are the point. */
  lookahead(t: Thread): number {
    if (!this.byClock) return t.clock;
    let h = this.heap.length > 0 || this.hasDelay ? this.nextEventTime() : Infinity;
    const lines = this.lineCache;
    for (const u of this.threads) {
      if (u === t || u.state !== RUNNABLE) continue;
      let next = u.clock;
      if (u.quietUntil > next && (u.cpu < 0 || lines[u.cpu] === 0)) next = u.quietUntil;
      if (next < h) h = next;
    }
    return h;
  }

  // ---- events

  private nextEventTime(): number {
    let t = this.heap.length > 0 ? this.heap[0]!.time : Infinity;
    if (this.hasDelay) {
      const nd = this.gic.nextDue();
      if (nd >= 0 && nd < t) t = nd;
    }
    return t;
  }

  private fireNext(): void {
    if (this.hasDelay) {
      const nd = this.gic.nextDue();
      if (nd >= 0 && (this.heap.length === 0 || nd < this.heap[0]!.time)) {
        this.gic.setTime(nd);
        this.refreshLines(nd);
        return;
      }
    }
    const e = this.heapPop();
    this.eventNow = e.time;
    this.syncTime(e.time);
    if (this.trace !== null) this.trace.add(e.time, EVENTS_TID, "event", e.label);
    try {
      e.fn(this);
    } catch (err) {
      this.fail(null, err);
      if (this.failure !== null) this.failure.thread = `event ${e.label}`;
    }
    if (this.linesSeq() !== this.seenSeq) this.refreshLines(e.time);
  }

  private heapPush(e: TimedEvent): void {
    const h = this.heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }

  private heapPop(): TimedEvent {
    const h = this.heap;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l]!, h[m]!)) m = l;
        if (r < h.length && before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }

  // ---- lines

  /** @internal Is pCPU `cpu`'s IRQ line up for a thread at `clock`? Under
   *  the time scheduler, once the line became visible by that clock (the
   *  discrete-event order). Under an adversarial scheduler, whenever it is
   *  up: the schedule decides when the IRQ lands, by when it runs the pCPU,
   *  and a pCPU whose clock lags the raiser's must not be kept from it
   *  (the explorers would miss every interleaving where it lands early). */
  irqReaches(cpu: number, clock: number): boolean {
    return (this.lineCache[cpu]! & IRQ) !== 0 && (!this.byClock || clock >= this.visibleAt[cpu]!);
  }

  /** @internal re-read the visible lines; `at` is when the change happened. */
  refreshLines(at: number): void {
    this.seenSeq = this.linesSeq();
    for (let c = 0; c < this.cpus.length; c++) {
      const v = this.visibleLines(c);
      const old = this.lineCache[c]!;
      if (v === old) continue;
      this.lineCache[c] = v;
      if ((v & IRQ) !== 0 && (old & IRQ) === 0) this.visibleAt[c] = at;
      if (this.trace !== null) this.trace.add(at, c, "line", "lines", v);
      const t = this.cpus[c]!;
      if (t.state === IDLE && (v & WAKE_LINES) !== 0) this.wakeThread(t, at);
      else if (t.state === WAITING && (v & IRQ) !== 0) this.interruptSpin(t);
    }
  }

  private wakeThread(t: Thread, at: number): void {
    if (t.state !== IDLE) {
      if (t.state === RUNNABLE || t.state === WAITING) t.wakePending = true;
      return;
    }
    const since = t.clock;
    if (at > t.clock) t.charge(at - t.clock, "idle");
    t.state = RUNNABLE;
    this.enabledDirty = true;
    if (this.trace !== null) this.trace.add(t.clock, t.index, "wake", "wfi", since);
  }

  // ---- GIC accesses

  /** @internal charge the frame cost of an access at `addr`. Accesses
   *  outside the four frames (the model counts them as unmapped) are
   *  charged as distributor accesses: the bus transaction still happens. */
  chargeAccess(t: Thread, addr: number, category?: string): void {
    const m = this.map, cy = this.cycles;
    const a = addr >>> 0;
    if (((a - m.v) >>> 0) < 0x10000) t.charge(cy.gicvAccess, category ?? "guest");
    else if (((a - m.h) >>> 0) < 0x10000) t.charge(cy.gichAccess, category);
    else if (((a - m.c) >>> 0) < 0x10000) t.charge(cy.giccAccess, category);
    else t.charge(cy.gicdAccess, category);
  }

  /** @internal "GICD+0x100" */
  frameName(addr: number): string {
    const m = this.map;
    const a = addr >>> 0;
    for (const [n, b] of [["GICD", m.d], ["GICC", m.c], ["GICH", m.h], ["GICV", m.v]] as const) {
      if (((a - b) >>> 0) < 0x10000) return `${n}+0x${(a - b).toString(16)}`;
    }
    return `0x${a.toString(16)}`;
  }

  // ---- locks (operations in lock.ts)

  private irqContext(t: Thread): IrqContext {
    if (t.cpu < 0) return "thread";
    if (t.irqDepth > 0) return "hardirq";
    return t.irqMasked ? "irqs-off" : "irqs-on";
  }

  /** @internal take `l` for `t` if free; else queue (or fail a trylock). */
  lockAcquire(t: Thread, l: SpinLock, op: string, trylock: boolean): boolean {
    const ld = this.lockdep;
    const tr = this.trace;
    let acq: RawAcquisition | null = null;
    if (ld !== null) {
      acq = { thread: t.name, lock: l.name, lockClass: l.lockClass, op, stack: t.stack, cycle: t.clock, irq: this.irqContext(t) };
    }
    const holder = l.holder;
    if (holder === null) {
      if (ld !== null) ld.acquire(t.held, acq!, trylock);
      l.holder = t;
      l.held = acq;
      if (acq !== null) t.held.push(acq);
      t.heldLocks.push(l);
      t.chargeHyp(this.cycles.lockAcquire);
      l.stats.acquisitions++;
      if (tr !== null) tr.add(t.clock, t.index, "lock", l.name, 0, 0, `${fnName(t)} takes ${l.name}`);
      if (this.memory !== null) this.memory.lockAcquired(t.cpu);
      return true;
    }
    if (trylock) {
      t.chargeHyp(this.cycles.spinIteration);
      if (tr !== null) tr.add(t.clock, t.index, "trylock-fail", l.name, 0, 0, `${fnName(t)} trylock ${l.name} fails (held by ${holder.name})`);
      return false;
    }
    if (ld !== null) {
      if (holder === t) ld.recursive(l.held ?? acq!, acq!);
      ld.acquire(t.held, acq!, false);
    }
    l.waiters.push(t);
    t.state = WAITING;
    this.enabledDirty = true;
    t.waitingOn = l;
    t.waitSince = t.clock;
    t.pendingAcq = acq;
    l.stats.contended++;
    if (tr !== null) tr.add(t.clock, t.index, "lock-wait", l.name, 0, 0, `${fnName(t)} spins on ${l.name} held by ${holder.name}`);
    if (t.cpu >= 0 && (this.lineCache[t.cpu]! & IRQ) !== 0) this.interruptSpin(t);
    this.checkCycle(t);
    return false;
  }

  /** `t` waits (its waitingOn is set) and a wait-for edge out of it, or
   *  into it, just appeared: if the chain from it comes back to it, the
   *  wait can never end, so the run stops now as a deadlock (whatever else
   *  still runs). A cycle made by an edge into t passes through t, so the
   *  walk from t finds every one. */
  private checkCycle(t: Thread): void {
    let h: Thread | null = t.waitingOn === null ? null : t.waitingOn.holder;
    for (let i = 0; i <= this.threads.length && h !== null; i++) {
      if (h === t) {
        this.deadlockEdges = this.waitChain(t);
        if (this.trace !== null) this.trace.add(t.clock, t.index, "deadlock", this.deadlockEdges.map((e) => e.thread).join(">"));
        return;
      }
      h = h.waitingOn === null ? null : h.waitingOn.holder;
    }
  }

  /** @internal release `l`; the first waiter gets it (ticket order). */
  lockRelease(t: Thread, l: SpinLock): void {
    if (l.holder !== t) {
      throw new Error(`${t.name} releases ${l.name}, which is held by ${l.holder === null ? "nobody" : l.holder.name}`);
    }
    if (this.memory !== null) this.memory.lockReleasing(t.cpu);
    removeAt(t.heldLocks, t.heldLocks.lastIndexOf(l));
    if (l.held !== null) {
      const j = t.held.lastIndexOf(l.held);
      if (j >= 0) removeAt(t.held, j);
    }
    t.chargeHyp(this.cycles.lockRelease);
    const r = t.clock;
    l.releasedAt = r;
    const tr = this.trace;
    if (tr !== null) tr.add(r, t.index, "unlock", l.name, 0, 0, `${fnName(t)} releases ${l.name}`);
    if (l.waiters.length === 0) {
      l.holder = null;
      l.held = null;
      return;
    }
    const w = l.waiters.shift()!;
    // w's spin on l was interrupted by an IRQ it is still handling (that
    // ticket is older than any its handler took since): it comes up and w
    // owns l from now on (ticket locks), whatever its handler is doing
    const e = w.spinStack.length === 0 ? undefined : w.spinStack.find((x) => x.lock === l);
    if (e !== undefined) {
      e.lock = null;
      if (tr !== null) tr.add(w.clock, w.index, "spin", l.name, e.since, 0, `${fnName(w)} gets ${l.name} (its spin was interrupted by an IRQ)`);
      this.handOver(w, l, e.acq);
      // l's other waiters now wait for w, whose handler may itself wait
      // (for l, or for a lock whose holder waits for l)
      if (w.waitingOn !== null) this.checkCycle(w);
      return;
    }
    const since = w.clock;
    const spin = r > since ? r - since : 0;
    if (spin > 0) {
      w.charge(spin, l.spinCategory);
      l.stats.spinCycles += spin;
    }
    if (tr !== null) {
      tr.add(w.clock, w.index, "spin", l.name, since, 0, `${fnName(w)} gets ${l.name} after spinning ${spin} cycles`);
    }
    this.handOver(w, l, w.pendingAcq);
    w.pendingAcq = null;
    w.waitingOn = null;
    w.state = RUNNABLE;
    this.enabledDirty = true;
  }

  /** `w` now holds `l` (its lockdep record `acq`). */
  private handOver(w: Thread, l: SpinLock, acq: RawAcquisition | null): void {
    w.chargeHyp(this.cycles.lockAcquire);
    l.stats.acquisitions++;
    l.holder = w;
    l.held = acq;
    if (acq !== null) w.held.push(acq);
    w.heldLocks.push(l);
    if (this.memory !== null) this.memory.lockAcquired(w.cpu);
  }
}


// A RunResult's lazy properties. V8 allocates the accessor pair of an
// object's own getter in the old generation, and young collections treat
// everything the old generation points to as alive: a getter closure made
// per result (a literal's `get schedule() {...}` over finish's variables)
// kept the run's lockdep (its graphs, acquisition records and call
// stacks) and its schedule buffer alive through every young collection
// until a full one: that part of each system built per schedule or case
// was copied and promoted.
// The getters are these functions of the module, reading what they need
// from the result itself (under LAZY, not enumerable): the pairs point to
// nothing that dies, and results share one hidden class.

/** What a RunResult's lazy properties are computed from. */
interface LazyParts {
  readonly picks: Uint8Array;
  readonly npicks: number;
  readonly lockdep: Lockdep | null;
  schedule: Schedule | undefined;
  lockOrder: Record<string, string[]> | undefined;
  trace: Trace | null;
  events: number;
  hash: string | undefined;
}

const LAZY = Symbol("RunResult.lazy");
const lazyOf = (r: RunResult): LazyParts => (r as unknown as { [LAZY]: LazyParts })[LAZY];

const SCHEDULE_PROPERTY: PropertyDescriptor = Object.freeze({
  enumerable: true, configurable: true,
  get(this: RunResult): Schedule {
    const z = lazyOf(this);
    return z.schedule ??= { v: 1, picks: Array.from(z.picks.subarray(0, z.npicks)) };
  },
});
const LOCK_ORDER_PROPERTY: PropertyDescriptor = Object.freeze({
  enumerable: true, configurable: true,
  get(this: RunResult): Record<string, string[]> {
    const z = lazyOf(this);
    return z.lockOrder ??= z.lockdep === null ? {} : z.lockdep.graph();
  },
});
const TRACE_HASH_PROPERTY: PropertyDescriptor = Object.freeze({
  enumerable: true,
  get(this: RunResult): string {
    const z = lazyOf(this);
    return z.hash ??= z.trace!.hash(z.events);
  },
});

function before(a: TimedEvent, b: TimedEvent): boolean {
  return a.time < b.time || (a.time === b.time && a.seq < b.seq);
}

/** The innermost function of a thread, for narratives. */
function fnName(t: Thread): string {
  return t.stack === null ? "(top)" : t.stack.name;
}

function stackOf(t: Thread): string[] {
  const out: string[] = [];
  for (let p = t.stack; p !== null; p = p.parent) out.push(p.name);
  return out.reverse();
}
