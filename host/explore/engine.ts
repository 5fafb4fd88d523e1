// The race explorer: searches the schedules of a scenario (host/xen/scenarios.ts)
// under one vGIC design for a run the shared checks fail, then minimises the
// counterexample and explains it.
//
// Strategies:
// - dfs: every schedule with at most `bound` preemptions (switching away from
//   a thread that could continue), by iterative bounding 0, 1, ..., bound, so
//   the first counterexample has the fewest preemptions. Stateless: each
//   schedule re-runs a fresh machine. Reduction: a run is a function of the
//   decisions its DFS prefix forces (the rest is the non-preemptive default),
//   so every prefix is run once over all bounds; a later bound reuses the
//   decision log of a prefix it already ran (schedule hashing, sound because
//   the machine is deterministic). No state hashing: a thread's state
//   includes its generators' local variables, which the machine cannot see,
//   so two decision points with equal visible state (locks, pending_irq bits,
//   list registers) may still diverge; merging them would be unsound.
// - pct(depth): runs with seeds seed, seed+1, ...; the change points are drawn
//   over the step count of one probe run.
// - random: uniform choices, seeds seed, seed+1, ...

import type { RunResult } from "../sim/machine.ts";
import type { TraceKind } from "../sim/trace.ts";
import { Sched, ReplayError, scheduleToString, type Scheduler, type SchedState } from "../sim/sched.ts";
import type { Finding, FindingKind } from "../check/vgic.ts";
import type { Scenario, ScenarioOptions, ScenarioRun } from "../xen/scenarios.ts";
import { UsageError } from "../io/usage.ts";
import { isOldVgic } from "../xen/design.ts";
import type { LockBarrier, MemoryOptions } from "../sim/memory.ts";

import type { Strategy, Verdict } from "./search.ts";
export { STRATEGIES, type Strategy, type Verdict } from "./search.ts";

export const ALL_KINDS: readonly FindingKind[] = [
  "deadlock", "lock-inversion", "lockdep", "lost", "stuck-active", "stuck-migrating", "lr-mismatch", "dropped", "duplicate", "stalled", "list-race", "livelock", "no-quiescence", "error",
];
/** By default every finding but a lock-order inversion (a hazard, not a failure). */
export const DEFAULT_FAIL_ON: readonly FindingKind[] = ALL_KINDS.filter((k) => k !== "lock-inversion");

export interface ExploreOptions extends BuildOptions {
  scenario: Scenario;
  variant: string;
  strategy?: Strategy;
  /** most schedules to run (default: dfs 20000, else 2000) */
  budget?: number;
  seed?: number;
  /** dfs: preemption bound (default 2) */
  bound?: number;
  /** pct: bug depth (default 3) */
  depth?: number;
  /** finding kinds that make a run fail (default DEFAULT_FAIL_ON) */
  failOn?: readonly FindingKind[];
  /** step limit per run (default 200000) */
  maxSteps?: number;
  /** minimise the counterexample (default true) */
  minimise?: boolean;
  /** called after every run of the search with the schedules run so far */
  onProgress?: (schedules: number, elapsedMs: number) => void;
}

export interface Counterexample {
  scenario: string;
  variant: string;
  /** the decisions, compact form (scheduleToString) */
  schedule: string;
  picks: number;
  preemptions: number;
  steps: number;
  findings: Finding[];
  traceHash: string;
  /** the numbered story of the run in the thread's terms */
  narrative: string[];
  /** Chrome trace-event JSON (Perfetto) */
  chromeJson: string;
  /** before minimisation */
  found: { picks: number; preemptions: number; steps: number };
}


export interface ExploreResult {
  scenario: string;
  variant: string;
  strategy: Strategy;
  /** schedules run (dfs: distinct prefixes executed) */
  schedules: number;
  /** dfs only: every schedule within the bound was run */
  exhausted: boolean;
  /** schedules that ended in a deadlock or an exception that failOn leaves
   *  out: they passed without their state being judged for failOn's kinds */
  unjudged: number;
  /** what the search established: a counterexample; no failure in the
   *  whole space within the bound (dfs, exhausted); no failure before the
   *  budget ran out (dfs, not exhausted: the rest is unknown); no failure
   *  in the sampled schedules (pct, random) */
  verdict: Verdict;
  /** dfs: the bound reached (the counterexample's preemptions when one was found) */
  bound?: number;
  elapsedMs: number;
  /** wall time until the first failing run */
  msToFirst?: number;
  schedulesPerSecond: number;
  /** weak memory (absent: sequentially consistent) */
  memory?: "weak";
  /** weak memory, a design that keeps none of its own state in store
   *  buffers (the new vGIC: only its GICD writes are buffered) */
  weakStateless?: true;
  lockBarrier?: LockBarrier;
  /** cycles of GIC latency the scenario ran with (absent: none) */
  gicLatency?: number;
  counterexample?: Counterexample;
}

/** What a scenario's system is built with besides its design and
 *  scheduler: the memory model, and the GIC's latency. */
export interface BuildOptions extends MemoryOptions {
  gicLatency?: number;
}

/** The scenario built with these options (itself under sc, no latency):
 *  the search, minimisation and replay then need to know nothing of them. */
export function withBuildOptions(s: Scenario, m: BuildOptions): Scenario {
  const weak = (m.memory ?? "sc") !== "sc";
  const latency = m.gicLatency ?? 0;
  if (!weak && latency === 0) return s;
  const mo: ScenarioOptions = {
    ...(weak ? { memory: m.memory!, ...(m.lockBarrier !== undefined ? { lockBarrier: m.lockBarrier } : {}) } : {}),
    ...(latency > 0 ? { gicLatency: latency } : {}),
  };
  return {
    ...s,
    build: (variant, sched, o = {}) => {
      const run = s.build(variant, sched, { ...o, ...mo });
      // a scenario that builds its system itself must pass the options on:
      // a run that says "weak" or a latency and is not would be a false verdict
      const mem = run.sys.machine.memory;
      if (weak && (mem === null || mem.lockBarrier !== (mo.lockBarrier ?? "smp_mb"))) {
        throw new Error(`scenario '${s.name}': its system ignores the memory options (memory ${mo.memory}, lock barrier ${mo.lockBarrier ?? "smp_mb"}): ` +
          "pass the build's options on to scenarioSystem or buildSystem");
      }
      if (latency > 0 && run.sys.gic.config.propagationDelay !== latency) {
        // (bad input, exit 2: a scenario module that cannot take a latency)
        throw new UsageError(`scenario '${s.name}' ignores the GIC latency of ${latency} cycles: its build must pass its options on to ` +
          "scenarioSystem, or give buildSystem gic: { propagationDelay: opts.gicLatency }");
      }
      return run;
    },
  };
}

export const MAX_STEPS = 200_000;

/** Build, run, judge one schedule; `built` sees the system before it runs. */
export function runOnce(scenario: Scenario, variant: string, sched: Scheduler, trace = false, maxSteps = MAX_STEPS,
  built?: (run: ScenarioRun) => void): { run: ScenarioRun; r: RunResult; findings: Finding[] } {
  const run = scenario.build(variant, sched, { trace });
  if (run.sys.machine.scheduler !== sched) run.sys.machine.setScheduler(sched);
  built?.(run);
  const r = run.sys.machine.run({ maxSteps });
  return { run, r, findings: run.check(r) };
}

/** A run that ended before its state could be judged (a deadlock, an
 *  exception): when failOn does not fail on how it ended, it passes only
 *  because the kinds asked for were never looked for. */
function unjudged(r: RunResult): boolean {
  return r.reason === "deadlock" || r.reason === "error";
}

export function failing(findings: readonly Finding[], failOn: readonly FindingKind[]): FindingKind | null {
  // a run cut at its step limit fails whatever --fail-on says: it was not
  // judged, and passing it would let a search call a space exhausted that
  // it never saw the end of
  for (const f of findings) if (failOn.includes(f.kind) || f.kind === "no-quiescence") return f.kind;
  return null;
}

// ---- decision logging

export interface Decision {
  enabled: number[];
  prev: number;
  chosen: number;
}

/** The non-preemptive default: the previous thread while it can run, else
 *  the smallest clock (ties: lowest index). */
function defaultPick(enabled: readonly number[], st: SchedState): number {
  if (enabled.includes(st.lastThread)) return st.lastThread;
  let t = enabled[0]!;
  for (const e of enabled) if (st.clockOf(e) < st.clockOf(t)) t = e;
  return t;
}

/** Follows `prefix` (strictly, or leniently: a pick that is not enabled
 *  falls back to the default), then the default; logs every decision,
 *  packed as packLog packs them (the DFS reads them as bytes; `log` unpacks
 *  them for the rarer readers). */
class PrefixScheduler implements Scheduler {
  readonly name = "explore";
  private bytes = new Uint8Array(256);
  private len = 0;
  /** decisions taken so far */
  count = 0;
  constructor(private readonly prefix: readonly number[], private readonly lenient = false) {}
  pick(enabled: readonly number[], st: SchedState): number {
    const i = this.count;
    let t: number;
    if (i < this.prefix.length && enabled.includes(this.prefix[i]!)) t = this.prefix[i]!;
    else if (i < this.prefix.length && !this.lenient) throw new ReplayError(`explore: decision ${i} diverged (thread ${this.prefix[i]} not enabled)`);
    else t = defaultPick(enabled, st);
    const n = enabled.length;
    if (this.len + n + 3 > this.bytes.length) {
      const b = new Uint8Array(Math.max(this.bytes.length * 2, this.len + n + 3));
      b.set(this.bytes.subarray(0, this.len));
      this.bytes = b;
    }
    const b = this.bytes;
    let k = this.len;
    b[k++] = n;
    for (let j = 0; j < n; j++) b[k++] = enabled[j]!;
    b[k++] = st.lastThread + 1;
    b[k++] = t;
    this.len = k;
    this.count++;
    return t;
  }
  /** the decisions in bytes (a copy) */
  packed(): Uint8Array { return this.bytes.slice(0, this.len); }
  get log(): Decision[] { return unpackLog(this.bytes.subarray(0, this.len)); }
}

/** A run's decisions packed in bytes, as the DFS keeps one per schedule it
 *  ran (as objects they are most of a long search's heap): per decision the
 *  number of enabled threads, their indices, the previous thread + 1 (it is
 *  -1 before the first step) and the chosen one. A machine has at most 255
 *  threads, so every field fits a byte. */
export function packLog(log: readonly Decision[]): Uint8Array {
  let n = 0;
  for (const d of log) n += d.enabled.length + 3;
  const b = new Uint8Array(n);
  let k = 0;
  for (const d of log) {
    b[k++] = d.enabled.length;
    for (const e of d.enabled) b[k++] = e;
    b[k++] = d.prev + 1;
    b[k++] = d.chosen;
  }
  return b;
}

export function unpackLog(b: Uint8Array): Decision[] {
  const log: Decision[] = [];
  for (let k = 0; k < b.length;) {
    const n = b[k++]!;
    const enabled = Array.from(b.subarray(k, k + n));
    k += n;
    const prev = b[k++]! - 1;
    log.push({ enabled, prev, chosen: b[k++]! });
  }
  return log;
}

function preemptionsOf(log: readonly Decision[]): number {
  let n = 0;
  for (const d of log) if (d.chosen !== d.prev && d.enabled.includes(d.prev)) n++;
  return n;
}

// ---- strategies

interface Hit { r: RunResult; log: Decision[] | null; findings: Finding[] }

interface Search {
  schedules: number;
  /** runs that ended in a deadlock or an exception that failOn leaves
   *  out: the state checks never ran on them */
  unjudged: number;
  exhausted: boolean;
  bound?: number;
  hit?: Hit;
  msToFirst?: number;
}

type Progress = Pick<ExploreOptions, "onProgress">;

/** A prefix as a string of one character per pick (picks are below 256). */
function prefixKey(prefix: readonly number[]): string {
  let s = "";
  for (let i = 0; i < prefix.length; i += 4096) s += String.fromCharCode(...prefix.slice(i, i + 4096));
  return s;
}

function dfs(o: Required<Pick<ExploreOptions, "scenario" | "variant" | "budget" | "bound" | "failOn" | "maxSteps">> & Progress, t0: number): Search {
  // a prefix's decisions, keyed by the prefix as one character per pick
  const cache = new Map<string, Uint8Array>();
  let schedules = 0, unj = 0;
  // The stack of decisions, as parallel arrays: each entry's enabled
  // threads (stored in `en` from enOff, enLen long: entries are pushed and
  // popped in stack order, so `en` is cut back with them), the previous
  // thread, the default choice, the current choice, the preemptions before
  // it, whether the previous thread could continue, and the scan cursor of
  // alternatives (positions below it were tried or are over the bound; the
  // default is never an alternative).
  let en = new Uint8Array(1024);
  const enOff: number[] = [], enLen: number[] = [], prev: number[] = [], dflt: number[] = [], chosen: number[] = [];
  const preBefore: number[] = [], canContinue: number[] = [], cursor: number[] = [];
  for (let bound = 0; bound <= o.bound; bound++) {
    let depth = 0;
    let prefix: number[] = [];
    for (;;) {
      const key = prefixKey(prefix);
      let log = cache.get(key);
      if (log === undefined) {
        if (schedules >= o.budget) return { schedules, unjudged: unj, exhausted: false, bound };
        const sched = new PrefixScheduler(prefix);
        const { run, r, findings } = runOnce(o.scenario, o.variant, sched, false, o.maxSteps);
        schedules++;
        o.onProgress?.(schedules, performance.now() - t0);
        if (failing(findings, o.failOn) !== null) {
          return { schedules, unjudged: unj, exhausted: false, bound, hit: { r, log: sched.log, findings }, msToFirst: performance.now() - t0 };
        }
        if (unjudged(r)) unj++;
        log = sched.packed();
        cache.set(key, log);
        run.sys.gic.release();
      }
      let pre = 0;
      if (depth > 0) {
        const t = depth - 1;
        pre = preBefore[t]! + (chosen[t] !== prev[t] && canContinue[t] === 1 ? 1 : 0);
      }
      // push the run's decisions past the prefix
      let k = 0;
      for (let i = 0; k < log.length; i++) {
        const n = log[k]!;
        if (i < prefix.length) { k += n + 3; continue; }
        const off = depth === 0 ? 0 : enOff[depth - 1]! + enLen[depth - 1]!;
        if (off + n > en.length) {
          const g = new Uint8Array(Math.max(en.length * 2, off + n));
          g.set(en.subarray(0, off));
          en = g;
        }
        en.set(log.subarray(k + 1, k + 1 + n), off);
        const p = log[k + 1 + n]! - 1, c = log[k + 2 + n]!;
        let cont = 0;
        for (let j = 0; j < n; j++) if (log[k + 1 + j] === p) { cont = 1; break; }
        enOff[depth] = off; enLen[depth] = n; prev[depth] = p; dflt[depth] = c; chosen[depth] = c;
        preBefore[depth] = pre; canContinue[depth] = cont; cursor[depth] = 0;
        depth++;
        if (c !== p && cont === 1) pre++;
        k += n + 3;
      }
      // the deepest decision with an alternative within the bound
      let found = false;
      while (depth > 0) {
        const t = depth - 1;
        const off = enOff[t]!, n = enLen[t]!, p = prev[t]!;
        for (let j = cursor[t]!; j < n; j++) {
          const c = en[off + j]!;
          if (c === dflt[t] || preBefore[t]! + (canContinue[t] === 1 && c !== p ? 1 : 0) > bound) continue;
          cursor[t] = j + 1;
          chosen[t] = c;
          found = true;
          break;
        }
        if (found) break;
        cursor[t] = n;
        depth--;
      }
      if (!found) break;
      prefix = chosen.slice(0, depth);
    }
  }
  return { schedules, unjudged: unj, exhausted: true, bound: o.bound };
}

function sampled(o: Required<Pick<ExploreOptions, "scenario" | "variant" | "budget" | "seed" | "depth" | "failOn" | "maxSteps">> & Progress, strategy: "pct" | "random", t0: number): Search {
  let k = 1000;
  if (strategy === "pct") {
    const cal = runOnce(o.scenario, o.variant, Sched.time(), false, o.maxSteps);
    k = Math.max(1, cal.r.steps);
    cal.run.sys.gic.release();
  }
  let unj = 0;
  for (let i = 0; i < o.budget; i++) {
    const seed = o.seed + i;
    const sched = strategy === "pct" ? Sched.pct(o.depth, seed, { steps: k }) : Sched.random(seed);
    const { run, r, findings } = runOnce(o.scenario, o.variant, sched, false, o.maxSteps);
    o.onProgress?.(i + 1, performance.now() - t0);
    if (failing(findings, o.failOn) !== null) {
      return { schedules: i + 1, unjudged: unj, exhausted: false, hit: { r, log: null, findings }, msToFirst: performance.now() - t0 };
    }
    if (unjudged(r)) unj++;
    run.sys.gic.release();
  }
  return { schedules: o.budget, unjudged: unj, exhausted: false };
}

// ---- minimisation

interface Candidate { picks: number[]; log: Decision[]; r: RunResult; preemptions: number }

/** No worse in any of preemptions, decisions and steps, better in one. */
function better(a: Candidate, b: Candidate): boolean {
  if (a.preemptions > b.preemptions || a.picks.length > b.picks.length || a.r.steps > b.r.steps) return false;
  return a.preemptions < b.preemptions || a.picks.length < b.picks.length || a.r.steps < b.r.steps;
}

/** Shorten a failing schedule: cut it before each of its preemptions (the
 *  default continues), revert single preemptions (lenient replay), until
 *  nothing improves. A candidate counts only if it fails with `kind` and is
 *  no worse in preemptions, decisions and steps and better in one, so the
 *  result is never longer than the input nor has more preemptions. */
export function minimise(scenario: Scenario, variant: string, picks: readonly number[], kind: FindingKind, maxSteps = MAX_STEPS, maxTries = 400): Candidate {
  const attempt = (prefix: readonly number[], lenient: boolean): Candidate | null => {
    const sched = new PrefixScheduler(prefix, lenient);
    let res;
    try {
      res = runOnce(scenario, variant, sched, false, maxSteps);
    } catch (e) {
      if (e instanceof ReplayError) return null;
      throw e;
    }
    const picks = res.r.schedule.picks;
    res.run.sys.gic.release(); // what is kept (picks, the log, the result's counts) is plain data
    if (res.r.reason === "error" && /diverged/.test(res.r.error?.message ?? "")) return null;
    if (!res.findings.some((f) => f.kind === kind)) return null;
    return { picks, log: sched.log, r: res.r, preemptions: preemptionsOf(sched.log) };
  };
  let best = attempt(picks, false);
  if (best === null) throw new Error(`minimise: the schedule does not fail with '${kind}'`);
  let tries = 0;
  for (let improved = true; improved && tries < maxTries;) {
    improved = false;
    const pos: number[] = [];
    best.log.forEach((d, i) => { if (d.chosen !== d.prev && d.enabled.includes(d.prev)) pos.push(i); });
    const cands: Array<[number[], boolean]> = [];
    for (const j of pos) cands.push([best.picks.slice(0, j), false]);
    for (const j of pos) {
      const p = best.picks.slice();
      p[j] = best.log[j]!.prev;
      cands.push([p, true]);
    }
    for (const [p, lenient] of cands) {
      if (tries++ >= maxTries) break;
      const c = attempt(p, lenient);
      if (c !== null && better(c, best)) {
        best = c;
        improved = true;
        break;
      }
    }
  }
  return best;
}

// ---- explanation

const ITARGETSR = [0x800, 0xc00];
function regName(frame: string): string | null {
  const m = /^(GIC[DCHV])\+0x([0-9a-f]+)$/.exec(frame);
  if (!m) return null;
  const off = parseInt(m[2]!, 16);
  switch (m[1]) {
    case "GICD":
      if (off >= ITARGETSR[0]! && off < ITARGETSR[1]!) return `GICD_ITARGETSR(IRQ ${off - 0x800})`;
      if (off === 0xf00) return "GICD_SGIR";
      return null;
    case "GICH":
      if (off >= 0x100 && off < 0x200) return `GICH_LR${(off - 0x100) >> 2}`;
      return null;
    case "GICC": return off === 0x10 ? "GICC_EOIR" : null;
    case "GICV": return off === 0x10 ? "GICV_EOIR" : null;
  }
  return null;
}

/** The trace event kinds a story line can come from. */
export const STORY_KINDS: ReadonlySet<TraceKind> = new Set<TraceKind>([
  "lock", "unlock", "lock-wait", "spin", "trylock-fail", "fn-begin", "irq-enter", "set-line", "mmio-write", "deadlock", "error",
  "mem-store", "mem-drain", "mem-stale",
]);

/** One line of the story: what happened and the trace event it comes from
 *  (null for the findings that close it). */
export interface StoryLine {
  text: string;
  event: number | null;
}

/** A traced replay's events as lines in the thread's terms: lock takes,
 *  releases and spins, function entries, physical IRQs, device lines
 *  raised, writes to ITARGETSR/SGIR/LR/EOIR, the deadlock, then the
 *  findings. */
export function story(run: Pick<ScenarioRun, "sys">, findings: readonly Finding[]): StoryLine[] {
  const tr = run.sys.machine.trace;
  if (tr === null) throw new Error("explain: the run was not traced");
  const out: StoryLine[] = [];
  const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;
  // the set-up (hypervisor boot, direct state) comes before the first step
  const first = tr.events.findIndex((e) => e.kind === "step");
  for (let i = first < 0 ? tr.events.length : first; i < tr.events.length; i++) {
    const e = tr.events[i]!;
    if (!STORY_KINDS.has(e.kind)) continue;
    const who = tr.threadNames[e.tid] ?? `thread${e.tid}`;
    let what: string | null = null;
    switch (e.kind) {
      case "lock": case "unlock": case "lock-wait": case "spin": case "trylock-fail": what = e.text; break;
      case "fn-begin": what = `enters ${e.name}`; break;
      case "irq-enter": what = "takes a physical IRQ"; break;
      case "set-line": what = e.b ? `raises interrupt ${e.a}` : null; break;
      case "mmio-write": {
        const n = regName(e.name);
        // weak memory: a buffered GICD write shows when it reaches the GIC
        what = n === null ? null : e.text.endsWith("reaches the GIC") ? `its write of ${n} = ${hex(e.b)} reaches the GIC` : `writes ${n} = ${hex(e.b)}`;
        break;
      }
      case "mem-store": case "mem-stale": what = e.text; break;
      case "mem-drain": what = e.b === 1 ? null : e.text; break;
      case "deadlock": what = `DEADLOCK: ${e.name.split(">").join(" waits for ")}`; break;
      case "error": what = `ERROR: ${e.name}`; break;
    }
    if (what) out.push({ text: `[${e.ts}] ${who}: ${what}`, event: i });
  }
  for (const f of findings) out.push({ text: `finding ${f.kind}: ${f.message}`, event: null });
  return out;
}

/** The story as numbered lines, as `vgic explore` prints it. */
export function explain(run: ScenarioRun, findings: readonly Finding[]): string[] {
  return story(run, findings).map((l, i) => `${String(i + 1).padStart(3)}. ${l.text}`);
}

/** Re-run a schedule with tracing: the counterexample as saved and shown. */
export function counterexampleOf(scenario: Scenario, variant: string, picks: readonly number[], found: Counterexample["found"], maxSteps = MAX_STEPS): Counterexample {
  const schedule = scheduleToString({ v: 1, picks: picks.slice() });
  const log = new PrefixScheduler(picks);
  const { run, r, findings } = runOnce(scenario, variant, log, true, maxSteps);
  return {
    scenario: scenario.name, variant, schedule, picks: picks.length, preemptions: preemptionsOf(log.log), steps: r.steps,
    findings, traceHash: r.traceHash!, narrative: explain(run, findings), chromeJson: run.sys.machine.trace!.toChromeJson(), found,
  };
}

export function explore(opts: ExploreOptions): ExploreResult {
  const strategy = opts.strategy ?? "dfs";
  const weak = opts.memory === "weak";
  const o = {
    scenario: withBuildOptions(opts.scenario, opts), variant: opts.variant,
    budget: opts.budget ?? (strategy === "dfs" ? 20000 : 2000),
    seed: opts.seed ?? 1, bound: opts.bound ?? 2, depth: opts.depth ?? 3,
    failOn: opts.failOn ?? DEFAULT_FAIL_ON, maxSteps: opts.maxSteps ?? MAX_STEPS, onProgress: opts.onProgress,
  };
  const t0 = performance.now();
  const s = strategy === "dfs" ? dfs(o, t0) : sampled(o, strategy, t0);
  const searchMs = performance.now() - t0;
  const res: ExploreResult = {
    scenario: o.scenario.name, variant: o.variant, strategy, schedules: s.schedules, exhausted: s.exhausted, unjudged: s.unjudged,
    verdict: s.hit !== undefined ? "counterexample" : strategy !== "dfs" ? "sampled" : s.exhausted ? "exhausted" : "budget-spent",
    elapsedMs: 0, schedulesPerSecond: searchMs > 0 ? (s.schedules * 1000) / searchMs : 0,
  };
  if (weak) {
    res.memory = "weak";
    res.lockBarrier = opts.lockBarrier ?? "smp_mb";
    // a design of the new vGIC's family declares no buffered location of
    // its own: only its GICD writes went through the store buffers
    const probe = o.scenario.build(o.variant, Sched.time());
    if (!isOldVgic(probe.sys.vgic)) res.weakStateless = true;
    probe.sys.gic.release();
  }
  if ((opts.gicLatency ?? 0) > 0) res.gicLatency = opts.gicLatency!;
  if (s.bound !== undefined) res.bound = s.bound;
  if (s.hit !== undefined) {
    res.msToFirst = s.msToFirst!;
    const kind = failing(s.hit.findings, o.failOn)!;
    const picks = s.hit.r.schedule.picks;
    const foundLog = s.hit.log ?? replayLog(o.scenario, o.variant, picks, o.maxSteps);
    const found = { picks: picks.length, preemptions: preemptionsOf(foundLog), steps: s.hit.r.steps };
    const best = opts.minimise === false ? picks : minimise(o.scenario, o.variant, picks, kind, o.maxSteps).picks;
    res.counterexample = counterexampleOf(o.scenario, o.variant, best, found, o.maxSteps);
  }
  res.elapsedMs = performance.now() - t0;
  return res;
}

function replayLog(scenario: Scenario, variant: string, picks: readonly number[], maxSteps: number): Decision[] {
  const sched = new PrefixScheduler(picks);
  runOnce(scenario, variant, sched, false, maxSteps).run.sys.gic.release();
  return sched.log;
}
