// Matrix mode: every scenario against every variant, optionally on
// node:worker_threads; and one scenario's variants on workers the same way.
// A worker is the calling program started again (the bundled
// build/vgic.mjs with argv ["explore"]) with `workerData`; the entry sees
// `exploreWorkerData()` and claims cells until none is left (onThreads).
// Each cell is explored from the same seed whichever thread runs it, so the
// results do not depend on the number of threads (only the timings do).

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { SCENARIOS, type Scenario } from "../xen/scenarios.ts";
import { VARIANTS } from "../xen/variants.ts";
import { explore, type ExploreOptions, type ExploreResult } from "./engine.ts";
import { verdictText } from "./search.ts";
import { ON_WORKER_LOAD, fromThread, threadError, type ThreadError } from "../errors.ts";
import { claim, stopClaims } from "../claims.ts";

export { verdictText };

const TAG = "vgic-explore-worker";

/** Schedules per cell of --matrix unless --budget says otherwise: enough for
 *  every result the README's table reports (the deepest, stale-target-inject
 *  on xen-4.8, needs about 4,000). */
export const MATRIX_BUDGET = 6000;

/** The search settings of every cell: ExploreOptions less what names the cell. */
export type MatrixOptions = Pick<ExploreOptions, "strategy" | "budget" | "seed" | "bound" | "depth" | "failOn" | "memory" | "lockBarrier" | "gicLatency">;

export interface Cell { scenario: string; variant: string }

interface WorkerData {
  tag: typeof TAG;
  /** every cell of the run; a thread claims the next one unclaimed */
  cells: Cell[];
  /** one word: the index of the next cell to claim (Atomics.add) */
  next: SharedArrayBuffer;
  /** one word a cell: the schedules it has run so far, or null when no
   *  progress is shown (the matrix's is by cells) */
  schedules: SharedArrayBuffer | null;
  options: MatrixOptions;
  /** send whole results, story and trace included (one scenario's
   *  variants, whose counterexamples are printed and saved), not slim ones */
  full: boolean;
  /** --scenarios and --variants files to load in the worker too */
  scenariosFile: string | null;
  variantsFile: string | null;
}

/** A cell's result without the bulky trace, as the table and --json use it. */
export type CellResult = Omit<ExploreResult, "counterexample"> & {
  counterexample?: Omit<NonNullable<ExploreResult["counterexample"]>, "chromeJson" | "narrative">;
};

export function slim(r: ExploreResult): CellResult {
  const { counterexample, ...rest } = r;
  if (counterexample === undefined) return rest;
  const { chromeJson: _c, narrative: _n, ...ce } = counterexample;
  return { ...rest, counterexample: ce };
}

export function runCell(scenarios: readonly Scenario[], cell: Cell, o: MatrixOptions): CellResult {
  return slim(exploreCell(scenarios, cell, o));
}

/** A cell searched in full: its counterexample keeps its story and trace. */
export function exploreCell(scenarios: readonly Scenario[], cell: Cell, o: MatrixOptions, onProgress?: (schedules: number) => void): ExploreResult {
  const scenario = scenarios.find((s) => s.name === cell.scenario);
  if (scenario === undefined) throw new Error(`no scenario '${cell.scenario}'`);
  const eo = cellOptions(scenario, cell, o);
  if (onProgress !== undefined) eo.onProgress = onProgress;
  return explore(eo);
}

function cellOptions(scenario: Scenario, cell: Cell, o: MatrixOptions): ExploreOptions {
  const eo: ExploreOptions = { scenario, variant: cell.variant };
  if (o.strategy !== undefined) eo.strategy = o.strategy;
  if (o.budget !== undefined) eo.budget = o.budget;
  if (o.seed !== undefined) eo.seed = o.seed;
  if (o.bound !== undefined) eo.bound = o.bound;
  if (o.depth !== undefined) eo.depth = o.depth;
  if (o.failOn !== undefined) eo.failOn = o.failOn;
  if (o.memory !== undefined) eo.memory = o.memory;
  if (o.lockBarrier !== undefined) eo.lockBarrier = o.lockBarrier;
  if ((o.gicLatency ?? 0) > 0) eo.gicLatency = o.gicLatency!;
  return eo;
}

/** Schedules of each cell that warmUp runs. */
const WARM_UP_SCHEDULES = 1;
/** warmUp starts no cell after this long. */
const WARM_UP_MS = 1000;

/**
 * A trial pass: runs one schedule of each cell and throws it away, before
 * the search proper, so that V8's optimising compiler first compiles the
 * machine's and the designs' hot functions with type feedback from every
 * design and scenario of the run. Without it the functions were compiled
 * for the first cell's design, then deoptimised ("wrong map") and compiled
 * again as each further design came: in `vgic explore --matrix --budget
 * 1000` (54 cells) on 2 CPUs, 247 deoptimisations (157 wrong map) and
 * 10.8 s of compile time without, 105 (46) and 7.4 s with, and the whole
 * command 13% quicker (median of 5 alternating pairs).
 *
 * Nothing a cell reports changes: each search is stateless (a fresh system
 * per schedule, the cell's own seed), and the trial's results are thrown
 * away. Only cells of built-in scenarios and designs are tried, so a user's
 * module runs only in its own cell, and its errors and side effects come
 * where they did; an error here ends the trial, not the run (the cell
 * meets it again in its turn). It starts no cell after WARM_UP_MS (each
 * thread makes its own pass: each has its own compiler state). Returns the
 * cells tried.
 */
export function warmUp(scenarios: readonly Scenario[], cells: readonly Cell[], o: MatrixOptions): number {
  if (cells.length < 2) return 0;
  const t0 = performance.now();
  let tried = 0;
  try {
    for (const cell of cells) {
      if (performance.now() - t0 > WARM_UP_MS) break;
      const scenario = scenarios.find((s) => s.name === cell.scenario);
      if (scenario === undefined || !SCENARIOS.includes(scenario) || !VARIANTS.some((v) => v.name === cell.variant)) continue;
      explore({ ...cellOptions(scenario, cell, o), budget: WARM_UP_SCHEDULES, minimise: false });
      tried++;
    }
  } catch {
    // the cell itself reports it
  }
  return tried;
}

export function exploreWorkerData(): WorkerData | null {
  if (isMainThread) return null;
  const d = workerData as WorkerData | undefined;
  return d && d.tag === TAG ? d : null;
}

/** What a thread has of a cell: its result, or the error that ended it
 *  (index -1: the worker could not load the user's modules, so no cell). */
type CellMessage<R> = { index: number; result: R } | ({ index: number } & ThreadError);

/** A worker's cell, as the message it sends. */
function cellMessage(scenarios: readonly Scenario[], cells: readonly Cell[], i: number, o: MatrixOptions, full: boolean,
  schedules: Int32Array | null): CellMessage<CellResult | ExploreResult> {
  try {
    const r = exploreCell(scenarios, cells[i]!, o, schedules === null ? undefined : (n) => Atomics.store(schedules, i, n));
    return { index: i, result: full ? r : slim(r) };
  } catch (e) {
    return { index: i, ...threadError(e) };
  }
}


/** Body of a worker: loads the user's modules (`load`), then claims cells
 *  until none is left, one message each. An error, or a module that does
 *  not load here, stops every thread's claims. */
export async function runExploreWorker(d: WorkerData, load: () => Promise<readonly Scenario[]>): Promise<void> {
  const next = new Int32Array(d.next);
  const schedules = d.schedules === null ? null : new Int32Array(d.schedules);
  let scenarios: readonly Scenario[];
  try {
    scenarios = await load();
  } catch (e) {
    stopClaims(next, d.cells.length);
    parentPort!.postMessage({ index: -1, ...threadError(e, ON_WORKER_LOAD) } satisfies CellMessage<never>);
    return;
  }
  warmUp(scenarios, d.cells, d.options);
  for (let i = claim(next, d.cells.length); i >= 0; i = claim(next, d.cells.length)) {
    const m = cellMessage(scenarios, d.cells, i, d.options, d.full, schedules);
    parentPort!.postMessage(m);
    if ("error" in m) {
      stopClaims(next, d.cells.length);
      return;
    }
  }
}

/** Cells on `threads` threads: this one and threads - 1 workers, each
 *  claiming the next cell unclaimed when it is free (so a long cell holds up
 *  one thread, not a share of cells). The results in cell order; onCell
 *  sees each as it arrives, this thread's own between its cells. A cell's
 *  error is thrown again here (bad input as a UsageError, whatever its
 *  class, so that it has the exit status it has on one thread) once every
 *  thread has stopped, after the results of the cells before it; a
 *  worker's failure to load the user's modules comes before every cell.
 *  onSchedules, if given, sees the schedules every thread has run so far,
 *  after each of this thread's and a few times a second while it waits. */
async function onThreads<R>(entry: URL, scenarios: readonly Scenario[], cells: readonly Cell[], o: MatrixOptions, threads: number,
  files: WorkerFiles, extra: Pick<WorkerData, "full">, onCell?: (i: number, r: R) => void,
  onSchedules?: (total: number) => void): Promise<R[]> {
  const out: R[] = new Array(cells.length);
  const next = new Int32Array(new SharedArrayBuffer(4));
  const schedules = new Int32Array(new SharedArrayBuffer(4 * cells.length));
  const tally = onSchedules === undefined ? undefined : (): void => {
    let total = 0;
    for (let k = 0; k < schedules.length; k++) total += Atomics.load(schedules, k);
    onSchedules(total);
  };
  let failed = null as (Error & { cell: number }) | null;
  // onCell's own error (a result file that cannot be written): it stops
  // the claims and the reports, as it would end one thread's loop, and is
  // thrown once every thread has stopped. It comes before any cell's error:
  // onCell reports in cell order, so every cell before it had a result.
  let sinkFailed: { error: unknown } | null = null;
  const take = (m: CellMessage<R>): void => {
    if ("error" in m) {
      // the first error in cell order is the one a single thread would meet
      if (failed === null || m.index < failed.cell) failed = Object.assign(fromThread(m), { cell: m.index });
      return;
    }
    out[m.index] = m.result;
    if (sinkFailed !== null) return;
    try {
      onCell?.(m.index, m.result);
    } catch (e) {
      sinkFailed = { error: e };
      stopClaims(next, cells.length);
    }
  };
  // A worker that fails (to start, or in the middle of a cell) stops every
  // thread's claims, as a cell's error does; it is settled at its exit,
  // after the messages it sent, so no result arrives once this has thrown.
  const workers = Array.from({ length: Math.min(threads, cells.length) - 1 }, (_, w) => new Promise<void>((resolve, reject) => {
    const data: WorkerData = {
      tag: TAG, cells: cells.map((c) => ({ scenario: c.scenario, variant: c.variant })), next: next.buffer as SharedArrayBuffer,
      schedules: tally === undefined ? null : schedules.buffer as SharedArrayBuffer, options: { ...o }, ...extra, ...files,
    };
    const worker = new Worker(entry, { workerData: data, argv: ["explore"], execArgv: process.execArgv });
    let error: unknown = null;
    worker.on("message", take);
    worker.on("error", (e) => {
      error ??= e;
      stopClaims(next, cells.length);
    });
    worker.on("exit", (code) => {
      if (error === null && code === 0) return resolve();
      stopClaims(next, cells.length);
      reject(error ?? new Error(`explore worker ${w} exited with status ${code}`));
    });
  }));
  const all = Promise.allSettled(workers);
  warmUp(scenarios, cells, o);
  for (let i = claim(next, cells.length); i >= 0; i = claim(next, cells.length)) {
    let r: ExploreResult;
    try {
      r = exploreCell(scenarios, cells[i]!, o, tally === undefined ? undefined : (n) => {
        Atomics.store(schedules, i, n);
        tally();
      });
    } catch (e) {
      // this thread's own error, as it was thrown
      if (failed === null || i < failed.cell) failed = Object.assign(e instanceof Error ? e : new Error(String(e)), { cell: i });
      stopClaims(next, cells.length);
      break;
    }
    take({ index: i, result: (extra.full ? r : slim(r)) as R });
    // the workers' messages so far
    await new Promise((resolve) => setImmediate(resolve));
  }
  // the workers' progress while this thread waits for them
  const timer = tally === undefined ? null : setInterval(tally, 200);
  let settled: PromiseSettledResult<void>[];
  try {
    settled = await all;
  } finally {
    if (timer !== null) clearInterval(timer);
  }
  const crashed = settled.find((s) => s.status === "rejected");
  if (crashed !== undefined) throw crashed.reason;
  if (sinkFailed !== null) throw (sinkFailed as { error: unknown }).error;
  if (failed !== null) throw failed;
  return out;
}

type WorkerFiles = { scenariosFile: string | null; variantsFile: string | null };

/** One scenario under several variants, each cell searched in full (story
 *  and trace kept) on `threads` threads; the results in variant order. */
export async function exploreVariants(entry: URL, scenarios: readonly Scenario[], cells: readonly Cell[], o: MatrixOptions,
  threads: number, files: WorkerFiles, onCell?: (i: number, r: ExploreResult) => void, onSchedules?: (total: number) => void): Promise<ExploreResult[]> {
  return onThreads<ExploreResult>(entry, scenarios, cells, o, threads, files, { full: true }, onCell, onSchedules);
}

export async function runMatrix(entry: URL, scenarios: readonly Scenario[], cells: readonly Cell[], o: MatrixOptions,
  workers: number, files: WorkerFiles, onCell?: (i: number, r: CellResult) => void): Promise<CellResult[]> {
  if (workers > 1) return onThreads<CellResult>(entry, scenarios, cells, o, workers, files, { full: false }, onCell);
  warmUp(scenarios, cells, o);
  const out: CellResult[] = new Array(cells.length);
  cells.forEach((c, i) => { out[i] = runCell(scenarios, c, o); onCell?.(i, out[i]!); });
  return out;
}

/** What a search without a counterexample did not judge. */
export function unjudgedNote(r: Pick<CellResult, "unjudged" | "schedules">, failOn: readonly string[]): string {
  return `note: ${r.unjudged} of the ${r.schedules} schedules ended in a deadlock or an exception, which --fail-on (${failOn.join(",")}) leaves out: their state was never judged for those kinds`;
}

/** The table: which variant fails which scenario, how fast, how thoroughly. */
export function formatMatrix(rs: readonly CellResult[]): string {
  const rows = [["scenario", "variant", "result", "schedules", "exhausted", "ms to first", "preempt", "sched/s", "total ms"]];
  for (const r of rs) {
    rows.push([
      r.scenario, r.variant, verdictText(r), String(r.schedules),
      r.strategy === "dfs" ? (r.exhausted ? `yes (bound ${r.bound})` : "no") : "-",
      r.msToFirst === undefined ? "-" : r.msToFirst.toFixed(0),
      r.counterexample === undefined ? "-" : String(r.counterexample.preemptions),
      r.schedulesPerSecond.toFixed(0), r.elapsedMs.toFixed(0),
    ]);
  }
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(w[i]!)).join("  ").trimEnd()).join("\n");
}

/** The matrix as the README's markdown table: one row per scenario, one
 *  column per variant, each cell the verdict (and the schedules it took). */
export function matrixMarkdown(rs: readonly CellResult[]): string {
  const scenarios = [...new Set(rs.map((r) => r.scenario))];
  const variants = [...new Set(rs.map((r) => r.variant))];
  const cell = (sc: string, v: string) => {
    const r = rs.find((x) => x.scenario === sc && x.variant === v);
    return r === undefined ? "-" : `${verdictText(r)}, ${r.schedules}`;
  };
  const lines = [`| scenario | ${variants.join(" | ")} |`, `|---|${variants.map(() => "---|").join("")}`];
  for (const sc of scenarios) lines.push(`| \`${sc}\` | ${variants.map((v) => cell(sc, v)).join(" | ")} |`);
  const latency = latencyLine(rs);
  if (latency !== null) lines.push("", latency);
  return lines.join("\n");
}

/** What a table of cells explored with a GIC latency says under it (a table
 *  pasted elsewhere must not read as one without), or null. */
export function latencyLine(rs: readonly CellResult[]): string | null {
  const l = rs.find((r) => r.gicLatency !== undefined)?.gicLatency;
  return l === undefined ? null : `Explored on a GIC with a latency of ${l} cycles (--gic-latency ${l}).`;
}
