// Schedulers: who runs at a scheduling point when more than one thread is
// enabled. The machine asks only then, and records each answer, so a
// schedule is exactly the list of real decisions and replaying it reproduces
// the run step for step.
//
// - time: the enabled thread with the smallest cycle clock (ties: lowest
//   index), so latencies come out as the cost profile implies.
// - random(seed): uniform among the enabled threads.
// - pct(depth, seed): probabilistic concurrency testing (Burckhardt,
//   Kothari, Musuvathi, Nagarakatte, "A randomized scheduler with
//   probabilistic guarantees of finding bugs", ASPLOS 2010): random distinct
//   thread priorities, always run the highest-priority enabled thread, and
//   at depth-1 random steps demote the running thread below all others. A
//   bug of depth d shows with probability at least 1/(n k^(d-1)) per run.
// - replay(schedule): the recorded decisions, in order.
// - exploreDfs: systematic exploration of all schedules with at most a given
//   number of preemptions (iterative context bounding, as in CHESS:
//   Musuvathi and Qadeer, PLDI 2007; Musuvathi et al., OSDI 2008), by
//   re-running a fresh machine per schedule (stateless search).
// The adversarial schedulers ignore clocks when choosing; clocks still
// advance for accounting.

import type { Machine, RunResult } from "./machine.ts";
import { Rng } from "./rng.ts";

/** What a scheduler may look at. */
export interface SchedState {
  /** steps run so far */
  readonly steps: number;
  /** the thread that ran the previous step, or -1 */
  readonly lastThread: number;
  clockOf(thread: number): number;
}

export interface Scheduler {
  readonly name: string;
  /** true when pick() is exactly "smallest clock, ties to the lowest
   *  index": the machine then picks inline, saving a call per step */
  readonly smallestClock?: boolean;
  /** Choose one of `enabled` (thread indices, ascending, length >= 2). */
  pick(enabled: readonly number[], state: SchedState): number;
}

/** The decisions of a run: the thread chosen at each point where more than
 *  one thread was enabled. JSON-friendly. */
export interface Schedule {
  v: 1;
  picks: number[];
}

/** Compact text form: "0,1*3,0" (a thread repeated n times as t*n). */
export function scheduleToString(s: Schedule): string {
  const parts: string[] = [];
  for (let i = 0; i < s.picks.length;) {
    let j = i + 1;
    while (j < s.picks.length && s.picks[j] === s.picks[i]) j++;
    parts.push(j - i > 1 ? `${s.picks[i]}*${j - i}` : `${s.picks[i]}`);
    i = j;
  }
  return parts.join(",");
}

/** Parse the text form; a repetition never expands past `maxPicks`
 *  decisions (a file may say "0*1000000000"). */
export function scheduleFromString(text: string, maxPicks = 10_000_000): Schedule {
  const picks: number[] = [];
  if (text.trim() !== "") {
    for (const part of text.split(",")) {
      const m = /^\s*(\d+)(?:\*(\d+))?\s*$/.exec(part);
      if (!m) throw new SyntaxError(`schedule: bad element ${JSON.stringify(part.length > 40 ? part.slice(0, 40) + "..." : part)}, expected THREAD or THREAD*COUNT`);
      const n = m[2] === undefined ? 1 : Number(m[2]);
      if (picks.length + n > maxPicks) throw new RangeError(`schedule: more than ${maxPicks} decisions`);
      for (let k = 0; k < n; k++) picks.push(Number(m[1]));
    }
  }
  return { v: 1, picks };
}

class TimeScheduler implements Scheduler {
  readonly name = "time";
  readonly smallestClock = true;
  pick(enabled: readonly number[], st: SchedState): number {
    let best = enabled[0]!;
    let bc = st.clockOf(best);
    for (let i = 1; i < enabled.length; i++) {
      const t = enabled[i]!;
      const c = st.clockOf(t);
      if (c < bc) {
        best = t;
        bc = c;
      }
    }
    return best;
  }
}

class RandomScheduler implements Scheduler {
  readonly name: string;
  private readonly rng: Rng;
  constructor(seed: number) {
    this.name = `random(${seed})`;
    this.rng = new Rng(seed);
  }
  pick(enabled: readonly number[]): number {
    return enabled[this.rng.below(enabled.length)]!;
  }
}

export interface PctOptions {
  /** estimated steps of a run (k in the paper): change points are drawn from
   *  [1, k]. Default 1000. */
  steps?: number;
}

class PctScheduler implements Scheduler {
  readonly name: string;
  private readonly rng: Rng;
  private readonly prio: number[] = [];
  private readonly changes: number[];
  private next = 0;
  private readonly depth: number;

  constructor(depth: number, seed: number, opts: PctOptions) {
    if (!Number.isInteger(depth) || depth < 1) throw new RangeError(`pct depth: got ${depth}, expected an integer >= 1`);
    const k = opts.steps ?? 1000;
    if (!Number.isInteger(k) || k < 1) throw new RangeError(`pct steps: got ${k}, expected an integer >= 1`);
    this.name = `pct(${depth},${seed})`;
    this.depth = depth;
    this.rng = new Rng(seed);
    this.changes = [];
    for (let i = 1; i < depth; i++) this.changes.push(1 + this.rng.below(k));
    this.changes.sort((a, b) => a - b);
  }

  /** Initial priorities are in (depth, depth+1), all above any demotion
   *  (1..depth-1); drawn lazily so threads spawned later get one too. */
  private priority(t: number): number {
    while (this.prio.length <= t) this.prio.push(this.depth + 1 + this.rng.float());
    return this.prio[t]!;
  }

  private highest(enabled: readonly number[]): number {
    let best = enabled[0]!;
    let bp = this.priority(best);
    for (let i = 1; i < enabled.length; i++) {
      const p = this.priority(enabled[i]!);
      if (p > bp) {
        best = enabled[i]!;
        bp = p;
      }
    }
    return best;
  }

  pick(enabled: readonly number[], st: SchedState): number {
    let t = this.highest(enabled);
    // A change point passed since the last decision demotes the thread that
    // would run now: priority depth-1-i for the i-th change point, lower
    // than every earlier demotion.
    while (this.next < this.changes.length && st.steps >= this.changes[this.next]!) {
      this.prio[t] = this.depth - 1 - this.next;
      this.next++;
      t = this.highest(enabled);
    }
    return t;
  }
}

export class ReplayError extends Error {
  override name = "ReplayError";
}

export interface ReplayOptions {
  /** scheduler for decisions after the schedule ends; default: error */
  then?: Scheduler;
}

class ReplayScheduler implements Scheduler {
  readonly name = "replay";
  private i = 0;
  constructor(private readonly picks: readonly number[], private readonly then: Scheduler | undefined) {}
  pick(enabled: readonly number[], st: SchedState): number {
    if (this.i >= this.picks.length) {
      if (this.then) return this.then.pick(enabled, st);
      throw new ReplayError(`schedule ended after ${this.picks.length} decisions, but threads [${enabled.join(",")}] are still enabled`);
    }
    const t = this.picks[this.i]!;
    if (!enabled.includes(t)) {
      throw new ReplayError(`schedule diverged at decision ${this.i}: thread ${t} is not enabled (enabled: [${enabled.join(",")}])`);
    }
    this.i++;
    return t;
  }
}

export const Sched = {
  time(): Scheduler { return new TimeScheduler(); },
  random(seed: number): Scheduler { return new RandomScheduler(seed); },
  pct(depth: number, seed: number, opts: PctOptions = {}): Scheduler { return new PctScheduler(depth, seed, opts); },
  replay(schedule: Schedule | string, opts: ReplayOptions = {}): Scheduler {
    const s = typeof schedule === "string" ? scheduleFromString(schedule) : schedule;
    if (s.v !== 1 || !Array.isArray(s.picks)) throw new ReplayError("schedule: expected {v: 1, picks: number[]}");
    return new ReplayScheduler(s.picks, opts.then);
  },
};

// ---- bounded depth-first exploration

interface Decision {
  enabled: number[];
  /** thread that ran just before, -1 at the start */
  prev: number;
  /** preemptions taken before this decision */
  preBefore: number;
  chosen: number;
  tried: number[];
}

/** Follows a prefix of choices, then runs non-preemptively (the previous
 *  thread if still enabled, else the smallest clock), logging decisions. */
class DfsScheduler implements Scheduler {
  readonly name = "dfs";
  readonly log: Decision[] = [];
  private pre = 0;
  constructor(private readonly prefix: readonly number[]) {}
  pick(enabled: readonly number[], st: SchedState): number {
    const i = this.log.length;
    const prev = st.lastThread;
    let t: number;
    if (i < this.prefix.length) {
      t = this.prefix[i]!;
      if (!enabled.includes(t)) throw new ReplayError(`dfs: decision ${i} diverged (thread ${t} not enabled): is the factory deterministic?`);
    } else if (enabled.includes(prev)) {
      t = prev;
    } else {
      t = enabled[0]!;
      for (const e of enabled) if (st.clockOf(e) < st.clockOf(t)) t = e;
    }
    const preBefore = this.pre;
    if (t !== prev && enabled.includes(prev)) this.pre++;
    this.log.push({ enabled: enabled.slice(), prev, preBefore, chosen: t, tried: [t] });
    return t;
  }
}

export interface DfsOptions {
  /** most preemptions (switching away from a thread that could continue) per schedule */
  preemptionBound: number;
  /** stop after this many schedules; default 10000 */
  maxSchedules?: number;
  /** step limit of each run; default 100000 */
  maxSteps?: number;
  /** what counts as a failure; default: deadlock, error, or a run cut at
   *  maxSteps (it never ended: a livelock is not a passing schedule) */
  isFailure?: (r: RunResult) => boolean;
}

export interface DfsResult {
  schedulesRun: number;
  /** every schedule within the bound was run */
  exhausted: boolean;
  firstFailure?: { schedule: Schedule; result: RunResult };
}

/** Explore schedules of machines built by `factory` (which must build the
 *  same machine every time; it may use the scheduler it is given, or the
 *  explorer installs it). Stops at the first failure. */
export function exploreDfs(factory: (scheduler: Scheduler) => Machine, opts: DfsOptions): DfsResult {
  const bound = opts.preemptionBound;
  const maxSchedules = opts.maxSchedules ?? 10000;
  const isFailure = opts.isFailure ?? ((r: RunResult) => r.reason === "deadlock" || r.reason === "error" || r.reason === "maxSteps");
  const stack: Decision[] = [];
  let prefix: number[] = [];
  let runs = 0;
  while (runs < maxSchedules) {
    const sched = new DfsScheduler(prefix);
    const m = factory(sched);
    if (m.scheduler !== sched) m.setScheduler(sched);
    const r = m.run({ maxSteps: opts.maxSteps ?? 100000 });
    runs++;
    if (isFailure(r)) return { schedulesRun: runs, exhausted: false, firstFailure: { schedule: r.schedule, result: r } };
    for (let i = prefix.length; i < sched.log.length; i++) stack.push(sched.log[i]!);
    // Backtrack to the deepest decision with an untried alternative in bound.
    let next: number[] | null = null;
    while (stack.length > 0) {
      const d = stack[stack.length - 1]!;
      const prevEnabled = d.enabled.includes(d.prev);
      const alt = d.enabled.find((c) => !d.tried.includes(c) && d.preBefore + (prevEnabled && c !== d.prev ? 1 : 0) <= bound);
      if (alt !== undefined) {
        d.tried.push(alt);
        d.chosen = alt;
        next = stack.map((x) => x.chosen);
        break;
      }
      stack.pop();
    }
    if (next === null) return { schedulesRun: runs, exhausted: true };
    prefix = next;
  }
  return { schedulesRun: runs, exhausted: false };
}
