// Spinlocks as Xen has them: ticket locks (xen/common/spinlock.c), so waiters
// are served in arrival order, and the irqsave variants mask the pCPU's
// physical IRQ before spinning (local_irq_save, then _spin_lock).
//
// Every operation is a scheduling point: the thread yields before acting, so
// a scheduler can run someone else just before a lock is taken or released.
// A waiting thread is not enabled (the explorers see one decision per wait,
// not one per spin iteration); when the holder releases, the first waiter
// gets the lock at max(its clock, release time) + lockAcquire, and the
// difference is counted as spin cycles of the lock class, in the waiter's
// "spin:<class>" time and in the machine's contention table.
//
// Use an operation as `yield* spin_lock(ctx, l)` where it happens: under the
// machine's fast path (machine.ts) an operation that need not yield acts
// when it is called, not when the returned iterator is first resumed, and
// one that must yield has to yield at once.

import type { Co, SchedPoint } from "./api.ts";
import type { Contention, Machine, Thread } from "./machine.ts";
import type { RawAcquisition } from "./lockdep.ts";
import { AS_DOUBLE } from "./shape.ts";

const WAIT: SchedPoint = Object.freeze({ label: "spin" });
const IRQ_AFTER_RESTORE: SchedPoint = Object.freeze({ label: "irq after restore" });

export class SpinLock {
  /** the thread holding it, or null */
  holder: Thread | null = null;
  /** threads spinning on it, in ticket order */
  readonly waiters: Thread[] = [];
  /** cycle of the last release */
  releasedAt = 0;
  /** @internal the holder's lockdep record */
  held: RawAcquisition | null = null;
  /** @internal preallocated so the hot path builds no strings */
  readonly lockPoint: SchedPoint;
  readonly unlockPoint: SchedPoint;
  /** @internal the steps that yield them */
  readonly lockStep: IteratorYieldResult<SchedPoint>;
  readonly unlockStep: IteratorYieldResult<SchedPoint>;
  readonly spinCategory: string;
  readonly stats: Contention;

  constructor(readonly machine: Machine, readonly lockClass: string, readonly name: string) {
    const pts = lockPoints(name);
    this.lockPoint = pts.lockPoint;
    this.unlockPoint = pts.unlockPoint;
    this.lockStep = pts.lockStep;
    this.unlockStep = pts.unlockStep;
    this.spinCategory = spinCategory(lockClass);
    this.stats = machine.lockClassStats(lockClass);
    this.releasedAt = AS_DOUBLE; // a double field from the start (shape.ts)
    this.releasedAt = 0;
  }
}

/** The frozen scheduling points and steps of a lock's operations. */
interface LockPoints {
  lockPoint: SchedPoint;
  unlockPoint: SchedPoint;
  lockStep: IteratorYieldResult<SchedPoint>;
  unlockStep: IteratorYieldResult<SchedPoint>;
}

// Shared by every lock of a name, in every machine: they are immutable, and
// a system built per schedule or case would otherwise make them all anew.
// Names come from the configuration (domain, vCPU, rank and IRQ numbers),
// so the table stays small; past MAX_SHARED names a lock gets its own.
const MAX_SHARED = 1 << 14;
const POINTS = new Map<string, LockPoints>();
const SPIN_CATEGORIES = new Map<string, string>();

function lockPoints(name: string): LockPoints {
  let p = POINTS.get(name);
  if (p === undefined) {
    const lockPoint: SchedPoint = Object.freeze({ label: `lock ${name}` });
    const unlockPoint: SchedPoint = Object.freeze({ label: `unlock ${name}` });
    p = {
      lockPoint, unlockPoint,
      lockStep: Object.freeze({ value: lockPoint, done: false }),
      unlockStep: Object.freeze({ value: unlockPoint, done: false }),
    };
    if (POINTS.size < MAX_SHARED) POINTS.set(name, p);
  }
  return p;
}

/** A lock name made from one or two small numbers (domain, vCPU, rank,
 *  IRQ) by a formatter of its module, kept per formatter: the same string
 *  each time. A name made afresh per build is a new string, which the
 *  points' table hashes again (lockPoints was 1.3% of a steady-state fuzz
 *  profile); a kept one has its hash. */
export function lockName(format: (a: number, b: number) => string, a: number, b = 0): string {
  if (!(a >= 0 && a < 1 << 15 && b >= 0 && b < 1 << 15 && (a | 0) === a && (b | 0) === b)) return format(a, b);
  let m = NAMES.get(format);
  if (m === undefined) NAMES.set(format, m = new Map());
  const k = (a << 15) | b;
  let name = m.get(k);
  if (name === undefined) {
    name = format(a, b);
    if (m.size < MAX_SHARED) m.set(k, name);
  }
  return name;
}
const NAMES = new Map<(a: number, b: number) => string, Map<number, string>>();

function spinCategory(lockClass: string): string {
  let c = SPIN_CATEGORIES.get(lockClass);
  if (c === undefined) SPIN_CATEGORIES.set(lockClass, c = `spin:${lockClass}`);
  return c;
}

// Each operation is a plain function returning the simulated code to run
// with `yield*`: a small state machine (LockOp) rather than a generator,
// which is cheaper to make and to resume. Under the machine's fast path
// (Machine.continueAt: the run loop would run this thread again at once)
// the scheduling point is passed without yielding, and an operation
// that then need not wait is done in the call itself: it returns finished
// code holding its result.

const LOCK = 0, LOCK_IRQSAVE = 1, UNLOCK = 2, UNLOCK_IRQRESTORE = 3, TRYLOCK = 4;
/** LockOp states: at the scheduling point; past it (act); done; yield WAIT
 *  then done; yield IRQ_AFTER_RESTORE then done */
const AT_POINT = 0, ACT = 1, DONE_STATE = 2, THEN_WAIT = 3, THEN_IRQ = 4;

type Step = IteratorResult<SchedPoint | undefined, boolean | void>;
const YIELD_WAIT: Step = Object.freeze({ value: WAIT, done: false });
const YIELD_IRQ_AFTER_RESTORE: Step = Object.freeze({ value: IRQ_AFTER_RESTORE, done: false });
const RETURN_VOID: Step = Object.freeze({ value: undefined, done: true });
const RETURN_TRUE: Step = Object.freeze({ value: true, done: true });
const RETURN_FALSE: Step = Object.freeze({ value: false, done: true });

/** One lock operation as simulated code: the same steps as the generator
 *  `yield point; act; (yield WAIT or IRQ_AFTER_RESTORE if need be); return`. */
class LockOp implements Co<boolean | void> {
  constructor(private readonly ctx: Thread, private readonly l: SpinLock, private readonly op: number,
    private flags: boolean, private state: number) {}

  next(): Step {
    switch (this.state) {
      case AT_POINT:
        this.state = ACT;
        return this.op === UNLOCK || this.op === UNLOCK_IRQRESTORE ? this.l.unlockStep : this.l.lockStep;
      case ACT: {
        this.state = DONE_STATE;
        const ctx = this.ctx, m = ctx.machine, l = this.l;
        switch (this.op) {
          case LOCK:
            return m.lockAcquire(ctx, l, "spin_lock", false) ? RETURN_VOID : YIELD_WAIT;
          case LOCK_IRQSAVE:
            this.flags = ctx.local_irq_save();
            if (m.lockAcquire(ctx, l, "spin_lock_irqsave", false)) return this.flags ? RETURN_TRUE : RETURN_FALSE;
            return YIELD_WAIT;
          case UNLOCK:
            m.lockRelease(ctx, l);
            return RETURN_VOID;
          case UNLOCK_IRQRESTORE:
            m.lockRelease(ctx, l);
            ctx.local_irq_restore(this.flags);
            return ctx.irqPending() ? YIELD_IRQ_AFTER_RESTORE : RETURN_VOID;
          default:
            return m.lockAcquire(ctx, l, "spin_trylock", true) ? RETURN_TRUE : RETURN_FALSE;
        }
      }
      case THEN_WAIT:
        this.state = DONE_STATE;
        return YIELD_WAIT;
      case THEN_IRQ:
        this.state = DONE_STATE;
        return YIELD_IRQ_AFTER_RESTORE;
      default:
        return this.op === LOCK_IRQSAVE ? (this.flags ? RETURN_TRUE : RETURN_FALSE) : RETURN_VOID;
    }
  }

  return(value: boolean | void): Step { this.state = DONE_STATE; return { value, done: true }; }
  throw(e: unknown): Step { this.state = DONE_STATE; throw e; }
  [Symbol.iterator](): this { return this; }
}

/** Finished simulated code returning `value`: `yield*` on it gives `value`
 *  at once, any number of times. */
class Done<T> implements Co<T> {
  constructor(private readonly result: IteratorReturnResult<T>) {}
  next(): IteratorResult<SchedPoint | undefined, T> { return this.result; }
  return(value: T): IteratorResult<SchedPoint | undefined, T> { return { value, done: true }; }
  throw(e: unknown): IteratorResult<SchedPoint | undefined, T> { throw e; }
  [Symbol.iterator](): this { return this; }
}
const DONE: Co = new Done(RETURN_VOID as IteratorReturnResult<void>);
const DONE_TRUE: Co<boolean> = new Done(RETURN_TRUE as IteratorReturnResult<boolean>);
/** Simulated code that returns false at once, shared (no generator to
 *  create or resume, no scheduling point). */
export const DONE_FALSE: Co<boolean> = new Done(RETURN_FALSE as IteratorReturnResult<boolean>);

export function spin_lock(ctx: Thread, l: SpinLock): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return new LockOp(ctx, l, LOCK, false, AT_POINT) as Co;
  return m.lockAcquire(ctx, l, "spin_lock", false) ? DONE : new LockOp(ctx, l, LOCK, false, THEN_WAIT) as Co;
}

export function spin_unlock(ctx: Thread, l: SpinLock): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.unlockPoint)) return new LockOp(ctx, l, UNLOCK, false, AT_POINT) as Co;
  m.lockRelease(ctx, l);
  return DONE;
}

/** Masks this pCPU's IRQs, then takes the lock; returns the previous mask. */
export function spin_lock_irqsave(ctx: Thread, l: SpinLock): Co<boolean> {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return new LockOp(ctx, l, LOCK_IRQSAVE, false, AT_POINT) as Co<boolean>;
  const flags = ctx.local_irq_save();
  if (m.lockAcquire(ctx, l, "spin_lock_irqsave", false)) return flags ? DONE_TRUE : DONE_FALSE;
  return new LockOp(ctx, l, LOCK_IRQSAVE, flags, THEN_WAIT) as Co<boolean>;
}

/** Releases, restores the mask, and if that unmasks a pending IRQ, yields
 *  so the IRQ is taken right here, before the code after the unlock. */
export function spin_unlock_irqrestore(ctx: Thread, l: SpinLock, flags: boolean): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.unlockPoint)) return new LockOp(ctx, l, UNLOCK_IRQRESTORE, flags, AT_POINT) as Co;
  m.lockRelease(ctx, l);
  ctx.local_irq_restore(flags);
  return ctx.irqPending() ? new LockOp(ctx, l, UNLOCK_IRQRESTORE, flags, THEN_IRQ) as Co : DONE;
}

/** Takes the lock if free; never waits. A failed attempt costs spinIteration. */
export function spin_trylock(ctx: Thread, l: SpinLock): Co<boolean> {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return new LockOp(ctx, l, TRYLOCK, false, AT_POINT) as Co<boolean>;
  return m.lockAcquire(ctx, l, "spin_trylock", true) ? DONE_TRUE : DONE_FALSE;
}
