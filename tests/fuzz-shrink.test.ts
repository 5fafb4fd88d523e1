// The engine runs an operation list of a case once: the shrinks of a case
// start from its own run, share the results of the lists they try again,
// and an improvement that cannot end shorter than the finding it would
// replace is not shrunk at all. The target here is a small stand-in whose
// result is a plain function of its operations (a case fails when it holds
// a 3, or a 7 after a 5), so what each run should give is known.

import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { TARGETS, fuzz, shrink, type CaseResult, type FuzzTarget, type RunMemo, type Violation } from "../host/fuzz/index.ts";
import type { Rng } from "../host/sim/rng.ts";

interface Config { id: number }

/** every list run, as [config id, ops] */
const runs: string[] = [];

function judge(ops: readonly number[]): Violation | null {
  const three = ops.includes(3) ? { invariant: "three", message: "a 3" } : null;
  const i5 = ops.indexOf(5);
  const late = i5 >= 0 && ops.indexOf(7, i5) > i5 ? { invariant: "seven-after-five", message: "a 7 after a 5" } : null;
  const [first, second] = [three, late].filter((v) => v !== null);
  if (!first) return null;
  return second ? { ...first, others: [second] } : first;
}

const stand: FuzzTarget<Config, number> = {
  name: "stand-in",
  faults: [],
  randomConfig: (rng: Rng) => ({ id: rng.next() }),
  open(config: Config) {
    const ops: number[] = [];
    return {
      generate: (rng: Rng) => rng.below(10),
      step(op: number) { ops.push(op); return null; },
      finish() { runs.push(JSON.stringify([config.id, ops])); return judge(ops); },
      get checkedOps() { return ops.length; },
    };
  },
  caseLength: () => 8,
  describeOp: (_c: Config, op: number) => `op ${op}`,
  simplerOps: (_c: Config, op: number) => (op > 0 ? [0] : []),
  parseConfig: (x: unknown) => x as Config,
  parseOp: (x: unknown) => x as number,
};

/** A memo that keeps nothing: every list tried is run. */
class NoMemo extends Map<string, CaseResult> {
  override set(): this { return this; }
}

describe("shrinking with the results of lists already run", () => {
  const config = { id: 1 };
  const ops = [1, 5, 2, 3, 8, 7, 4, 3, 9];

  it("ends where running every list ends, running each list once, and a second shrink of the case runs nothing", () => {
    runs.length = 0;
    const every = shrink(stand, config, ops, "seven-after-five", [], 4000, new NoMemo());
    const everyRuns = runs.splice(0);
    expect(every.ops).toEqual([5, 7]);
    const memo: RunMemo = new Map();
    const once = shrink(stand, config, ops, "seven-after-five", [], 4000, memo);
    expect(once).toEqual(every);
    // the same lists were tried, each run once
    expect(new Set(runs).size).toBe(runs.length);
    expect(new Set(runs)).toEqual(new Set(everyRuns));
    expect(everyRuns.length).toBeGreaterThan(runs.length);
    runs.length = 0;
    expect(shrink(stand, config, ops, "seven-after-five", [], 4000, memo)).toEqual(every);
    expect(runs).toEqual([]);
  });

  it("counts the lists tried against the budget, run or remembered", () => {
    const memo: RunMemo = new Map();
    shrink(stand, config, ops, "three", [], 4000, memo);
    const cut = (m: Map<string, CaseResult>) => shrink(stand, config, ops, "seven-after-five", [], 5, m);
    expect(cut(memo)).toEqual(cut(new NoMemo()));
  });
});

describe("the fuzzing loop runs a list of a case once", () => {
  beforeAll(() => { TARGETS[stand.name] = stand; });
  afterAll(() => { delete TARGETS[stand.name]; });

  it("shrinks from the case's own run, and tries an improvement only when a short enough list shows its signature", () => {
    runs.length = 0;
    const improve = 4;
    const r = fuzz({ target: stand.name, seed: 7, cases: 80, improve });
    expect(new Set(runs).size).toBe(runs.length);
    // a 3 alone, a 5 and a 7: no shrink can beat these
    expect(r.findingsList.map((f) => [f.signature, f.ops])).toEqual(expect.arrayContaining([["three", [3]], ["seven-after-five", [5, 7]]]));
    expect(r.findingsList.length).toBe(2);
    // each case's runs, in order: its own, then its shrinks' and checks' lists
    const byCase = new Map<number, number[][]>();
    for (const k of runs) {
      const [id, ops] = JSON.parse(k) as [number, number[]];
      byCase.set(id, [...byCase.get(id) ?? [], ops]);
    }
    const cases = [...byCase.values()];
    expect(cases.length).toBe(80);
    const tries = new Map<string, number>();
    let checked = 0;
    for (const [own, ...more] of cases) {
      const sigs = [judge(own!)].flatMap((v) => (v ? [v, ...v.others ?? []] : [])).map((v) => v.invariant);
      if (sigs.some((sig) => !tries.has(sig))) {
        // a first finding: shrunk
        for (const sig of sigs) if (!tries.has(sig)) tries.set(sig, 0);
        expect(more.length).toBeGreaterThan(2);
        continue;
      }
      // a repeat within the improvement budget runs the empty list (below
      // one operation, "three"), then each operation alone and its
      // simplification to 0 (below two, the 5 and 7): none shows the
      // signature, so nothing is shrunk
      const expected: number[][] = [];
      const once = (l: number[]) => { if (!expected.some((e) => JSON.stringify(e) === JSON.stringify(l))) expected.push(l); };
      for (const sig of sigs) {
        if (tries.get(sig)! >= improve) continue;
        tries.set(sig, tries.get(sig)! + 1);
        once([]);
        if (sig === "seven-after-five") for (const op of [...own!, 0]) once([op]);
      }
      expect(more).toEqual(expected);
      checked += expected.length > 0 ? 1 : 0;
    }
    expect([...tries.values()]).toEqual([improve, improve]);
    expect(checked).toBeGreaterThan(improve);
  });
});
