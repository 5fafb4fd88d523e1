// `vgic run --workers N`: the variants of a workload are independent runs,
// so they go to node:worker_threads (the calling program started again with
// `workerData`, as the explore matrix and the fuzzer do). Each run is the
// same deterministic simulation wherever it runs; the command prints the
// results in variant order, whichever finishes first.

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { StreamFile } from "../io/files.ts";
import type { CostProfile } from "../sim/api.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import type { TraceKind } from "../sim/trace.ts";
import { loadVariants } from "../extend.ts";
import { ON_WORKER_LOAD, threadError } from "../errors.ts";
import { parseWorkload, type Workload } from "./schema.ts";
import { runWorkload, type Perf, type WorkloadResult } from "./runner.ts";

const TAG = "vgic-run-worker";

/** One variant's run, as plain data a worker can receive. */
export interface VariantJob {
  variant: string;
  seed?: number | undefined;
  duration?: number | undefined;
  profile: CostProfile;
  memory: MemoryOptions;
  /** the trace file of this variant, or null */
  trace: string | null;
  /** the kinds the trace keeps, or null for all */
  traceKinds: TraceKind[] | null;
}

export type VariantOutcome =
  /** traceTemp: the finished trace under its temporary name, put in place
   *  when the result is delivered (placeTrace) */
  | { ok: true; result: WorkloadResult; perf: Perf; traceTemp: string | null; traceError: string | null }
  /** usage: the failure is bad input (a user's module that does not load
   *  on a worker thread): the run exits 2, as it would on one thread */
  | { ok: false; message: string; usage?: boolean };

/** Put a delivered variant's trace in place; the error, or null. */
export function placeTrace(o: VariantOutcome & { ok: true }, job: VariantJob): string | null {
  if (o.traceError !== null || job.trace === null) return o.traceError;
  try {
    StreamFile.place(o.traceTemp, job.trace);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Run one variant here; its trace streams to a temporary file, closed
 *  once the run ends (a failed run leaves none; a trace that cannot be
 *  written fails the variant's trace, not its result). */
export function runVariant(w: Workload, job: VariantJob, onProgress?: (f: number) => void): VariantOutcome {
  let traceFile: StreamFile | null = null;
  try {
    if (job.trace !== null) traceFile = new StreamFile(job.trace);
    const file = traceFile;
    const only = job.traceKinds === null ? undefined : new Set(job.traceKinds);
    const { result, perf } = runWorkload(w, {
      variant: job.variant, seed: job.seed, profile: job.profile, ...job.memory,
      ...(onProgress !== undefined ? { onProgress } : {}),
      ...(file !== null ? { traceTo: { write: (s: string) => file.write(s), ...(only !== undefined ? { only } : {}) } } : {}),
      ...(job.duration !== undefined ? { duration: job.duration } : {}),
    });
    let traceError: string | null = null, traceTemp: string | null = null;
    if (file !== null) {
      traceFile = null;
      try {
        traceTemp = file.finish();
      } catch (e) {
        traceError = (e as Error).message;
      }
    }
    return { ok: true, result, perf, traceTemp, traceError };
  } catch (e) {
    traceFile?.abort();
    return { ok: false, message: (e as Error).message };
  }
}

interface WorkerData {
  tag: typeof TAG;
  /** the workload file's text and name, parsed again in the worker */
  text: string;
  name: string;
  /** a --variants file to load first */
  variantsFile: string | null;
  jobs: Array<{ index: number; job: VariantJob }>;
}

/** The worker's data when this thread is a run worker, else null. */
export function runWorkerData(): WorkerData | null {
  if (isMainThread) return null;
  const d = workerData as WorkerData | undefined;
  return d && d.tag === TAG ? d : null;
}

/** Body of a run worker: its variants, one message each. A --variants
 *  file or workload that does not load here fails every one of them, with
 *  its message and whether it is bad input. */
export async function runVariantWorker(d: WorkerData): Promise<void> {
  let w: Workload;
  try {
    if (d.variantsFile !== null) await loadVariants(d.variantsFile);
    w = parseWorkload(d.text, d.name);
  } catch (e) {
    const t = threadError(e, ON_WORKER_LOAD);
    for (const { index } of d.jobs) parentPort!.postMessage({ index, outcome: { ok: false, message: t.error, usage: t.usage } satisfies VariantOutcome });
    return;
  }
  for (const { index, job } of d.jobs) parentPort!.postMessage({ index, outcome: runVariant(w, job) });
}

/** Run the jobs on `workers` threads started from `entry`; `done` gets each
 *  outcome as it arrives (in any order). */
export async function runVariantsParallel(entry: URL, workers: number, text: string, name: string, variantsFile: string | null,
  jobs: readonly VariantJob[], done: (index: number, o: VariantOutcome) => void): Promise<void> {
  const shares = Array.from({ length: Math.min(workers, jobs.length) }, () => [] as WorkerData["jobs"]);
  jobs.forEach((job, index) => shares[index % shares.length]!.push({ index, job }));
  // a worker that dies fails its variants not yet done, as a variant that
  // throws fails alone; the other workers go on
  await Promise.all(shares.map((share, k) => new Promise<void>((resolve) => {
    const data: WorkerData = { tag: TAG, text, name, variantsFile, jobs: share };
    const left = new Set(share.map((j) => j.index));
    let why: string | null = null;
    const worker = new Worker(entry, { workerData: data, argv: ["run"], execArgv: process.execArgv });
    worker.on("message", (m: { index: number; outcome: VariantOutcome }) => { left.delete(m.index); done(m.index, m.outcome); });
    worker.on("error", (e) => { why ??= e.message; });
    worker.on("exit", (code) => {
      for (const i of left) done(i, { ok: false, message: `run worker ${k} ${why !== null ? `failed: ${why}` : `exited with status ${code}`}` });
      resolve();
    });
  })));
}
