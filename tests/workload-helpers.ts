// Shared by the workload tests: the bundled workload files, parsed; and a
// guest boot the hand-built systems of several tests share.
import { readFileSync, readdirSync } from "node:fs";
import { expect } from "vitest";
import { parseWorkload, type Workload } from "../host/workload/schema.ts";
import type { WorkloadResult } from "../host/workload/runner.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_set_type, gic_unmask_irq } from "../host/guest/driver.ts";

/** Linux's boot on vCPU0: the distributor and its CPU interface, then each
 *  SPI edge-triggered, routed to vCPU0 and unmasked. */
export function* bootEdgeSpis(g: GuestCpu, spis: readonly number[]): Co {
  yield* gic_dist_init(g);
  yield* gic_cpu_init(g);
  for (const irq of spis) {
    yield* gic_set_type(g, irq, true);
    yield* gic_set_affinity(g, irq, 0);
    yield* gic_unmask_irq(g, irq);
  }
}

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
