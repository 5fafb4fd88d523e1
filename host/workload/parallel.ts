// `vgic run --workers N`: the variants of a workload are independent runs,
// so they run on N threads, this one and N - 1 workers on
// node:worker_threads (the calling program started again with `workerData`,
// as the explore matrix and the fuzzer do), each taking the next variant
// when it is free. Each run is the same deterministic simulation wherever
// it runs; the command prints the results in variant order, whichever
// finishes first.

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { StreamFile } from "../io/files.ts";
import type { CostProfile } from "../sim/api.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import type { TraceKind } from "../sim/trace.ts";
import { loadVariants } from "../extend.ts";
import { ON_WORKER_LOAD, threadError, type ThreadError } from "../errors.ts";
import { claim, stopClaims } from "../claims.ts";
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
  /** every variant's job: a worker runs those it claims */
  jobs: VariantJob[];
  /** the claim counter: the index of the next variant nobody has taken */
  next: SharedArrayBuffer;
}

/** What a worker tells the calling thread: that it took a variant (so that
 *  a worker that dies fails the one it held), the variant's outcome, or
 *  that it could not load the user's modules. */
type WorkerMessage =
  | { kind: "start"; index: number }
  | { kind: "done"; index: number; outcome: VariantOutcome }
  | ({ kind: "failed" } & ThreadError);

/** The worker's data when this thread is a run worker, else null. */
export function runWorkerData(): WorkerData | null {
  if (isMainThread) return null;
  const d = workerData as WorkerData | undefined;
  return d && d.tag === TAG ? d : null;
}


/** Body of a run worker: loads the --variants file and the workload, then
 *  claims variants until none is left, one message each. A module that
 *  does not load here stops every thread's claims. */
export async function runVariantWorker(d: WorkerData): Promise<void> {
  const post = (m: WorkerMessage) => parentPort!.postMessage(m);
  const next = new Int32Array(d.next);
  let w: Workload;
  try {
    if (d.variantsFile !== null) await loadVariants(d.variantsFile);
    w = parseWorkload(d.text, d.name);
  } catch (e) {
    stopClaims(next, d.jobs.length);
    post({ kind: "failed", ...threadError(e, ON_WORKER_LOAD) });
    return;
  }
  for (let i = claim(next, d.jobs.length); i >= 0; i = claim(next, d.jobs.length)) {
    post({ kind: "start", index: i });
    post({ kind: "done", index: i, outcome: runVariant(w, d.jobs[i]!) });
  }
}

/** Run the jobs on `threads` threads: this one (`here` runs a job on it)
 *  and threads - 1 workers started from `entry`, each claiming the next job
 *  nobody has taken when it is free, so a long variant holds up one thread,
 *  not a share of them. `done` gets each outcome as it arrives (in any
 *  order; this thread's own between its jobs). A worker that dies fails
 *  the variant it held, and the others go on; one that dies holding none
 *  is among the returned `died` (it failed, whether or not a variant was
 *  left for it). One that cannot load the user's modules stops the
 *  claims: every variant not taken fails as not run, and the load's error
 *  is returned (whether or not any variant was left: a module that does
 *  not load on a worker is bad input however fast this thread was). */
export async function runVariantsOnThreads(entry: URL, threads: number, text: string, name: string, variantsFile: string | null,
  jobs: readonly VariantJob[], here: (index: number) => VariantOutcome, done: (index: number, o: VariantOutcome) => void,
): Promise<{ loadFailure: ThreadError | null; died: string[] }> {
  const next = new Int32Array(new SharedArrayBuffer(4));
  const settled = new Array<boolean>(jobs.length).fill(false);
  const settle = (i: number, o: VariantOutcome): void => {
    if (settled[i]) return;
    settled[i] = true;
    done(i, o);
  };
  let loadFailure: ThreadError | null = null;
  const died: string[] = [];
  const workers = Array.from({ length: Math.min(threads, jobs.length) - 1 }, (_, k) => new Promise<void>((resolve) => {
    const data: WorkerData = { tag: TAG, text, name, variantsFile, jobs: [...jobs], next: next.buffer as SharedArrayBuffer };
    let held = -1, failedToLoad = false;
    let why: string | null = null;
    const worker = new Worker(entry, { workerData: data, argv: ["run"], execArgv: process.execArgv });
    worker.on("message", (m: WorkerMessage) => {
      if (m.kind === "start") held = m.index;
      else if (m.kind === "done") { held = -1; settle(m.index, m.outcome); }
      else {
        failedToLoad = true;
        loadFailure ??= m;
      }
    });
    worker.on("error", (e) => { why ??= e.message; });
    worker.on("exit", (code) => {
      const how = `run worker ${k} ${why !== null ? `failed: ${why}` : `exited with status ${code}`}`;
      if (held >= 0) settle(held, { ok: false, message: how });
      else if ((code !== 0 || why !== null) && !failedToLoad) died.push(`${how}, holding no variant`);
      resolve();
    });
  }));
  for (let i = claim(next, jobs.length); i >= 0; i = claim(next, jobs.length)) {
    settle(i, here(i));
    // the workers' messages so far
    await new Promise((resolve) => setImmediate(resolve));
  }
  await Promise.all(workers);
  // variants nobody took: after a worker could not load (or one that died
  // between its claim and its first message)
  const f = loadFailure as ThreadError | null;
  for (let i = 0; i < jobs.length; i++) {
    if (!settled[i]) settle(i, { ok: false, message: f !== null ? "not run: a worker thread could not load the user's modules" : "not run: its worker died", usage: f?.usage ?? false });
  }
  return { loadFailure: f, died };
}
