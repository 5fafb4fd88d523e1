// Matrix mode: every scenario against every variant, optionally on
// node:worker_threads. A worker is the calling program started again (the
// bundled build/vgic.mjs with argv ["explore"]) with `workerData`; the entry
// sees `exploreWorkerData()` and runs its share of the cells. Each cell is
// explored from the same seed whichever worker runs it, so the results do
// not depend on the number of workers (only the timings do).

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import type { Scenario } from "../xen/scenarios.ts";
import { explore, type ExploreOptions, type ExploreResult } from "./engine.ts";
import { verdictText } from "./search.ts";

export { verdictText };

const TAG = "vgic-explore-worker";

/** Schedules per cell of --matrix unless --budget says otherwise: enough for
 *  every result the README's table reports (the deepest, stale-target-inject
 *  on xen-4.8, needs about 4,000). */
export const MATRIX_BUDGET = 6000;

/** The search settings of every cell: ExploreOptions less what names the cell. */
export type MatrixOptions = Pick<ExploreOptions, "strategy" | "budget" | "seed" | "bound" | "depth" | "failOn" | "memory" | "lockBarrier">;

export interface Cell { scenario: string; variant: string }

interface WorkerData {
  tag: typeof TAG;
  cells: Array<{ index: number } & Cell>;
  options: MatrixOptions;
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
  const scenario = scenarios.find((s) => s.name === cell.scenario);
  if (scenario === undefined) throw new Error(`no scenario '${cell.scenario}'`);
  const eo: ExploreOptions = { scenario, variant: cell.variant };
  if (o.strategy !== undefined) eo.strategy = o.strategy;
  if (o.budget !== undefined) eo.budget = o.budget;
  if (o.seed !== undefined) eo.seed = o.seed;
  if (o.bound !== undefined) eo.bound = o.bound;
  if (o.depth !== undefined) eo.depth = o.depth;
  if (o.failOn !== undefined) eo.failOn = o.failOn;
  if (o.memory !== undefined) eo.memory = o.memory;
  if (o.lockBarrier !== undefined) eo.lockBarrier = o.lockBarrier;
  return slim(explore(eo));
}

export function exploreWorkerData(): WorkerData | null {
  if (isMainThread) return null;
  const d = workerData as WorkerData | undefined;
  return d && d.tag === TAG ? d : null;
}

/** Body of a worker: its cells, one message each, then exit. */
export function runExploreWorker(d: WorkerData, scenarios: readonly Scenario[]): void {
  for (const c of d.cells) parentPort!.postMessage({ index: c.index, result: runCell(scenarios, c, d.options) });
}

export async function runMatrix(entry: URL, scenarios: readonly Scenario[], cells: readonly Cell[], o: MatrixOptions,
  workers: number, files: { scenariosFile: string | null; variantsFile: string | null }, onCell?: (i: number, r: CellResult) => void): Promise<CellResult[]> {
  const out: CellResult[] = new Array(cells.length);
  if (workers <= 1) {
    cells.forEach((c, i) => { out[i] = runCell(scenarios, c, o); onCell?.(i, out[i]!); });
    return out;
  }
  const shares = Array.from({ length: Math.min(workers, cells.length) }, () => [] as WorkerData["cells"]);
  cells.forEach((c, i) => shares[i % shares.length]!.push({ index: i, ...c }));
  await Promise.all(shares.map((share, w) => new Promise<void>((resolve, reject) => {
    const data: WorkerData = { tag: TAG, cells: share, options: { ...o }, ...files };
    const worker = new Worker(entry, { workerData: data, argv: ["explore"], execArgv: process.execArgv });
    worker.on("message", (m: { index: number; result: CellResult }) => { out[m.index] = m.result; onCell?.(m.index, m.result); });
    worker.on("error", reject);
    worker.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`explore worker ${w} exited with status ${code}`))));
  })));
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
  return lines.join("\n");
}
