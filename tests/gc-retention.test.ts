// The explorer and the fuzzer build a system per schedule or case: once a
// schedule is judged, its system must die young. A generator function
// created per build (a `function*` expression inside a scenario's build or
// a case's runner) gets a hidden class of its own in V8's old space that
// keeps it, and every object its context reaches, alive through young
// collections until a full one: each schedule's whole system was copied and
// promoted, a quarter of the explorer's time. A getter closure made per
// run's result did the same through its accessor pair, which V8 allocates
// in old space (tests/sim-machine.test.ts). This checks the property
// itself (what young collections leave behind), not a timing.
import { describe, expect, it } from "vitest";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SCENARIOS } from "../host/xen/scenarios.ts";
import { Sched } from "../host/sim/sched.ts";
import { generateCase } from "../host/fuzz/engine.ts";
import { vgicTarget } from "../host/fuzz/vgic.ts";
import { Coverage } from "../host/fuzz/target.ts";

setFlagsFromString("--expose-gc");
// gc() is a full collection; gc({ type: "minor" }) a young one (Node 20)
const gc = runInNewContext("gc") as (o?: { type: "minor" }) => void;

/** Heap bytes that `n` calls of `one` leave after two young collections,
 *  over what a full collection leaves: what young collections failed to
 *  free. */
function survivingYoung(one: (i: number) => void, n: number): number {
  for (let i = 0; i < 400; i++) one(i); // optimised, pools filled
  gc();
  const base = process.memoryUsage().heapUsed;
  for (let i = 0; i < n; i++) one(i);
  gc({ type: "minor" });
  gc({ type: "minor" });
  const afterMinor = process.memoryUsage().heapUsed - base;
  gc();
  const afterMajor = process.memoryUsage().heapUsed - base;
  return afterMinor - afterMajor;
}

describe("systems built per schedule or case die young", () => {
  // A system of these scenarios is 60-70 KB after its run. Kept until a
  // full collection, 200 of them left 9-10 MB (18 MB for 200 fuzz cases);
  // now 1.6-2.1 MB (3.4 MB for the fuzz cases) is left, the young
  // collections' own slack and what the last runs still held.
  const LIMIT = 4e6;

  it("every bundled scenario, built, run, judged and released 200 times", () => {
    for (const sc of SCENARIOS) {
      const kept = survivingYoung((i) => {
        const run = sc.build("xen-4.9", Sched.random(i), {});
        run.check(run.sys.machine.run({ maxSteps: 100_000 }));
        run.sys.gic.release();
      }, 200);
      expect(kept, `${sc.name}: ${(kept / 1e6).toFixed(1)} MB survived young collections`).toBeLessThan(LIMIT);
    }
  });

  it("vgic fuzz cases, generated and run 200 times", () => {
    const kept = survivingYoung((i) => { generateCase(vgicTarget, 1, i); }, 200);
    expect(kept, `${(kept / 1e6).toFixed(1)} MB survived young collections`).toBeLessThan(LIMIT);
  });

  // As the fuzz command runs them: with coverage, which the original
  // vGIC's context-switch checker feeds through a hook. A hook closure
  // made in the case's runner kept each case's system (7 MB for 200 cases).
  it("vgic fuzz cases with coverage, under the original vGIC, 200 times", () => {
    const coverage = new Coverage();
    const kept = survivingYoung((i) => { generateCase(vgicTarget, 1, i, { coverage, params: { variant: "xen-4.9" } }); }, 200);
    expect(kept, `${(kept / 1e6).toFixed(1)} MB survived young collections`).toBeLessThan(LIMIT);
  });
});
