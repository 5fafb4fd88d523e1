// Several fuzzing workers on node:worker_threads. A worker is the calling
// program itself started again with `workerData` (the bundled build/vgic.mjs,
// or host/cli.ts under a TypeScript loader, whose flags the worker inherits):
// the entry checks `fuzzWorkerData()` first and runs `runFuzzWorker()`.
// Shard I/N takes the case indices k*N + I; its worker w of W takes those
// with k % W == w, which is shard w*N + I of N*W. So the case indices a run
// covers do not depend on the number of workers, and a --cases budget is
// split between them.

import { Worker, isMainThread, parentPort, workerData } from "node:worker_threads";
import { fuzz, type Finding, type FuzzOptions, type FuzzStats } from "./engine.ts";
import { ON_WORKER_LOAD, fromThread, threadError, type ThreadError } from "../errors.ts";
import { removeOwnTempFiles } from "../io/files.ts";

const TAG = "vgic-fuzz-worker";

type WorkerOptions = Omit<FuzzOptions, "onProgress" | "onFinding">;

interface WorkerData {
  tag: typeof TAG;
  options: WorkerOptions;
}

type Message =
  | { kind: "progress"; stats: FuzzStats }
  | { kind: "finding"; finding: Finding; file: string | null; improved: boolean }
  | { kind: "done"; stats: FuzzStats }
  /** the error that stopped the worker, as the calling thread reports it */
  | ({ kind: "failed" } & ThreadError);

/** The options when this thread is a fuzzing worker, else null. */
export function fuzzWorkerData(): WorkerOptions | null {
  if (isMainThread) return null;
  const d = workerData as WorkerData | undefined;
  return d && d.tag === TAG ? d.options : null;
}

/** Body of a worker thread: load the user's modules (`load`), then fuzz,
 *  reporting back to the parent; an error stops it, reported as the
 *  calling thread would report its own. */
export async function runFuzzWorker(options: WorkerOptions, load: () => Promise<void>): Promise<void> {
  const post = (m: Message) => parentPort!.postMessage(m);
  try {
    await load();
  } catch (e) {
    post({ kind: "failed", ...threadError(e, ON_WORKER_LOAD) });
    return;
  }
  let stats: FuzzStats;
  try {
    stats = fuzz({
      ...options,
      onProgress: (s) => post({ kind: "progress", stats: { ...s } }),
      onFinding: (finding, file, improved) => post({ kind: "finding", finding, file, improved }),
    });
  } catch (e) {
    post({ kind: "failed", ...threadError(e) });
    return;
  }
  post({ kind: "done", stats: { ...stats, findingsList: undefined, files: undefined, curve: undefined } as unknown as FuzzStats });
}

/** Merged statistics of several workers; `features` (summed hits) once every worker is done. */
export type MergedStats = FuzzStats & { features?: Array<[number, number]> };

/** Run `workers` workers from `entry` and merge their statistics. */
export function fuzzParallel(entry: URL, workers: number, options: FuzzOptions): Promise<MergedStats> {
  const shard = options.shard ?? { index: 0, count: 1 };
  const { onProgress, onFinding, ...plain } = options;
  const latest: MergedStats[] = [];
  // a worker's features are complete once it is done (one with no case has none)
  const finished: boolean[] = new Array(workers).fill(false);
  // each worker writes its own file of a signature it finds; the run names
  // the one of the lowest case (workers take disjoint cases, each in
  // order), whichever arrives first, so the report is the same every run
  const firstFile = new Map<string, { case: number; file: string | null }>();
  const total = (): MergedStats => {
    const t: MergedStats = { cases: 0, ops: 0, findings: 0, duplicates: 0, corpusAdded: 0, coverage: 0, elapsedMs: 0, signatures: {}, violating: [] };
    const features = new Map<number, number>();
    let all = finished.every(Boolean);
    for (const s of latest) {
      if (!s) { all = false; continue; }
      t.cases += s.cases; t.ops += s.ops;
      for (const i of s.violating ?? []) t.violating.push(i);
      t.corpusAdded += s.corpusAdded; t.coverage = Math.max(t.coverage, s.coverage); t.elapsedMs = Math.max(t.elapsedMs, s.elapsedMs);
      // a signature two workers found is one finding, seen in all their cases
      for (const [sig, st] of Object.entries(s.signatures)) {
        const have = t.signatures[sig];
        if (have) have.count += st.count;
        else t.signatures[sig] = { ...st };
      }
      for (const [f, n] of s.features ?? []) features.set(f, (features.get(f) ?? 0) + n);
    }
    t.violating.sort((a, b) => a - b);
    if (all) {
      // the union of the workers' features
      t.features = [...features].sort((a, b) => a[0] - b[0]);
      t.coverage = t.features.length;
    }
    for (const [sig, st] of Object.entries(t.signatures)) if (firstFile.has(sig)) st.file = firstFile.get(sig)!.file;
    const sigs = Object.values(t.signatures);
    t.findings = sigs.length;
    t.duplicates = sigs.reduce((a, x) => a + x.count - 1, 0);
    return t;
  };
  // The first error (a worker's, or one that died) stops the run: every
  // worker is terminated and nothing they send after it is reported, so the
  // error is the command's last word, as on one thread.
  let stopped: Error | null = null;
  const started: Worker[] = [];
  const stop = (e: Error): void => {
    if (stopped !== null) return;
    stopped = e;
    for (const x of started) void x.terminate();
  };
  const runs = Array.from({ length: workers }, (_, w) => new Promise<void>((resolve) => {
    const data: WorkerData = {
      tag: TAG,
      options: {
        ...plain, shard: { index: w * shard.count + shard.index, count: shard.count * workers },
        // a case budget is the run's: worker w takes its share, so the run
        // covers the same case indices whatever the number of workers
        ...(plain.cases !== undefined ? { cases: Math.floor((plain.cases + workers - 1 - w) / workers) } : {}),
      },
    };
    const worker = new Worker(entry, { workerData: data, argv: ["fuzz"], execArgv: process.execArgv });
    started.push(worker);
    worker.on("message", (m: Message) => {
      if (stopped !== null) return;
      if (m.kind === "failed") stop(fromThread(m));
      else if (m.kind === "finding") {
        const had = firstFile.get(m.finding.signature);
        if (!m.improved && (had === undefined || m.finding.case < had.case)) firstFile.set(m.finding.signature, { case: m.finding.case, file: m.file });
        onFinding?.(m.finding, m.file, m.improved);
      }
      else {
        latest[w] = m.stats as MergedStats;
        if (m.kind === "done") finished[w] = true;
        if (m.kind === "progress") onProgress?.(total());
      }
    });
    worker.on("error", (e) => stop(e));
    worker.on("exit", (code) => {
      if (code !== 0) stop(new Error(`fuzz worker ${w} exited with status ${code}`));
      resolve();
    });
  }));
  return Promise.all(runs).then(() => {
    if (stopped !== null) {
      for (const dir of [options.out, options.corpus]) if (dir !== undefined) removeOwnTempFiles(dir);
      throw stopped;
    }
    return total();
  });
}
