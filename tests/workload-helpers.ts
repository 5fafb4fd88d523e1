// Shared by the workload tests: the bundled workload files, parsed.
import { readFileSync, readdirSync } from "node:fs";
import { expect } from "vitest";
import { parseWorkload, type Workload } from "../host/workload/schema.ts";
import type { WorkloadResult } from "../host/workload/runner.ts";

export const WORKLOAD_DIR = new URL("../workloads/", import.meta.url);

export function bundled(): Array<{ file: string; w: Workload }> {
  return readdirSync(WORKLOAD_DIR).filter((f) => f.endsWith(".json") && f !== "schema.json").sort()
    .map((file) => ({ file, w: parseWorkload(readFileSync(new URL(file, WORKLOAD_DIR), "utf8"), file) }));
}

export function workload(name: string): Workload {
  const found = bundled().find((b) => b.w.name === name);
  if (found === undefined) throw new Error(`no bundled workload ${name}`);
  return found.w;
}

function sum(m: Record<string, number>): number {
  return Object.values(m).reduce((a, b) => a + b, 0);
}

/** A result's accounting balances: no accounting error or finding, every
 *  source's raises end as exactly one outcome, the reasons add up to the
 *  drops and losses, and the totals are the sources' sums. */
export function expectBalanced(r: WorkloadResult): void {
  const I = r.interrupts;
  expect(I.accountingErrors).toEqual([]);
  expect(r.findings.filter((f) => f.kind === "accounting")).toEqual([]);
  for (const s of I.sources) {
    expect(s.raised, s.name).toBe(s.delivered + s.coalesced + s.dropped + s.lost + s.pending);
    expect(sum(s.droppedReasons), `${s.name} drop reasons`).toBe(s.dropped);
    expect(sum(s.lostReasons), `${s.name} loss reasons`).toBe(s.lost);
  }
  for (const k of ["raised", "delivered", "coalesced", "dropped", "lost", "pending"] as const) {
    expect(I[k], k).toBe(I.sources.reduce((n, s) => n + s[k], 0));
  }
}
