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

import type { Co, SchedPoint } from "./api.ts";
import type { Contention, Machine, Thread } from "./machine.ts";
import type { RawAcquisition } from "./lockdep.ts";

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
  readonly spinCategory: string;
  readonly stats: Contention;

  constructor(readonly machine: Machine, readonly lockClass: string, readonly name: string) {
    this.lockPoint = Object.freeze({ label: `lock ${name}` });
    this.unlockPoint = Object.freeze({ label: `unlock ${name}` });
    this.spinCategory = `spin:${lockClass}`;
    this.stats = machine.lockClassStats(lockClass);
  }
}

// Each operation is a plain function returning the simulated code to run
// with `yield*`. Under the machine's fast path (Machine.continueAt: the
// time scheduler would run this thread again at once) the scheduling point
// is passed without yielding, and an operation that then need not wait is
// done in the call itself: it returns a finished piece of code holding its
// result, and no generator is made.

/** Simulated code that is already done and returns `value`: `yield*` on it
 *  gives `value` at once, any number of times. */
class Done<T> implements Co<T> {
  private readonly result: IteratorReturnResult<T>;
  constructor(value: T) { this.result = Object.freeze({ value, done: true }); }
  next(): IteratorResult<SchedPoint | undefined, T> { return this.result; }
  return(value: T): IteratorResult<SchedPoint | undefined, T> { return { value, done: true }; }
  throw(e: unknown): IteratorResult<SchedPoint | undefined, T> { throw e; }
  [Symbol.iterator](): this { return this; }
}
const DONE: Co = new Done<void>(undefined);
const DONE_TRUE: Co<boolean> = new Done(true);
const DONE_FALSE: Co<boolean> = new Done(false);

export function spin_lock(ctx: Thread, l: SpinLock): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return spinLockAt(ctx, l);
  return m.lockAcquire(ctx, l, "spin_lock", false) ? DONE : spinWait();
}

function* spinLockAt(ctx: Thread, l: SpinLock): Co {
  yield l.lockPoint;
  if (!ctx.machine.lockAcquire(ctx, l, "spin_lock", false)) yield WAIT;
}

/** The thread queued on a lock: it yields until the lock is handed over. */
function* spinWait(): Co {
  yield WAIT;
}

export function spin_unlock(ctx: Thread, l: SpinLock): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.unlockPoint)) return spinUnlockAt(ctx, l);
  m.lockRelease(ctx, l);
  return DONE;
}

function* spinUnlockAt(ctx: Thread, l: SpinLock): Co {
  yield l.unlockPoint;
  ctx.machine.lockRelease(ctx, l);
}

/** Masks this pCPU's IRQs, then takes the lock; returns the previous mask. */
export function spin_lock_irqsave(ctx: Thread, l: SpinLock): Co<boolean> {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return spinLockIrqsaveAt(ctx, l);
  const flags = ctx.local_irq_save();
  if (m.lockAcquire(ctx, l, "spin_lock_irqsave", false)) return flags ? DONE_TRUE : DONE_FALSE;
  return spinWaitThen(flags);
}

function* spinLockIrqsaveAt(ctx: Thread, l: SpinLock): Co<boolean> {
  yield l.lockPoint;
  const flags = ctx.local_irq_save();
  if (!ctx.machine.lockAcquire(ctx, l, "spin_lock_irqsave", false)) yield WAIT;
  return flags;
}

function* spinWaitThen(flags: boolean): Co<boolean> {
  yield WAIT;
  return flags;
}

/** Releases, restores the mask, and if that unmasks a pending IRQ, yields
 *  so the IRQ is taken right here, before the code after the unlock. */
export function spin_unlock_irqrestore(ctx: Thread, l: SpinLock, flags: boolean): Co {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.unlockPoint)) return spinUnlockIrqrestoreAt(ctx, l, flags);
  m.lockRelease(ctx, l);
  ctx.local_irq_restore(flags);
  return ctx.irqPending() ? irqAfterRestore() : DONE;
}

function* spinUnlockIrqrestoreAt(ctx: Thread, l: SpinLock, flags: boolean): Co {
  yield l.unlockPoint;
  ctx.machine.lockRelease(ctx, l);
  ctx.local_irq_restore(flags);
  if (ctx.irqPending()) yield IRQ_AFTER_RESTORE;
}

function* irqAfterRestore(): Co {
  yield IRQ_AFTER_RESTORE;
}

/** Takes the lock if free; never waits. A failed attempt costs spinIteration. */
export function spin_trylock(ctx: Thread, l: SpinLock): Co<boolean> {
  const m = ctx.machine;
  if (!m.continueAt(ctx, l.lockPoint)) return spinTrylockAt(ctx, l);
  return m.lockAcquire(ctx, l, "spin_trylock", true) ? DONE_TRUE : DONE_FALSE;
}

function* spinTrylockAt(ctx: Thread, l: SpinLock): Co<boolean> {
  yield l.lockPoint;
  return ctx.machine.lockAcquire(ctx, l, "spin_trylock", true);
}
