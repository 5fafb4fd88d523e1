// How a benchmark's machine run ended, in the words the benchmarks print
// instead of a figure (DEADLOCK, ERROR, ...): a figure is only of a run
// that did what the benchmark says it measured.

import type { RunResult } from "../sim/machine.ts";

export type Outcome = "ok" | "deadlock" | "dropped" | "lost" | "misrouted" | "error";

export interface Failure { outcome: Exclude<Outcome, "ok">; note: string }

/** The failure a run's end reports: a deadlock (its wait-for cycle) or an
 *  exception in simulated code; undefined for any other end. */
export function runFailure(r: RunResult): Failure | undefined {
  if (r.reason === "deadlock") {
    const cyc = r.deadlock?.cycle.map((e) => `${e.thread} spins on ${e.lock} held by ${e.holder ?? "nobody"}`).join("; ") ?? "";
    return { outcome: "deadlock", note: cyc };
  }
  if (r.reason === "error") return { outcome: "error", note: r.error === undefined ? "error" : `${r.error.thread}: ${r.error.message}` };
  return undefined;
}
