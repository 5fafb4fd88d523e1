// The README's two weak-memory tables (affinity-barrier under xen-4.8,
// xen-4.9 and xen-4.9-no-wmb, with Xen's smp_mb spinlocks and with
// acquire/release ones) are the output of `vgic explore --matrix
// affinity-barrier --memory weak [--lock-barrier acq-rel] --markdown`: every
// cell is re-run here and compared with what the README says.
import { describe, expect, it } from "vitest";
import { MATRIX_BUDGET, runCell, verdictText } from "../host/explore/matrix.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";
import type { LockBarrier } from "../host/sim/memory.ts";
import { README } from "./readme-matrix.ts";

function block(tag: string): { variants: string[]; rows: Array<[string, string[]]> } {
  const m = new RegExp(`<!-- ${tag}:begin -->\\n([\\s\\S]*?)\\n<!-- ${tag}:end -->`).exec(README);
  if (m === null) throw new Error(`README.md has no ${tag} block`);
  const cells = (l: string) => l.replace(/^\|\s*|\s*\|$/g, "").split(/\s*\|\s*/);
  const lines = m[1]!.split("\n");
  return {
    variants: cells(lines[0]!).slice(1),
    rows: lines.slice(2).map((l) => { const [n, ...rest] = cells(l); return [n!.replace(/`/g, ""), rest]; }),
  };
}

for (const lockBarrier of ["smp_mb", "acq-rel"] as LockBarrier[]) {
  describe(`README: weak memory, ${lockBarrier} spinlocks`, () => {
    const { variants, rows } = block(`explore-weak-${lockBarrier}`);
    it("is the affinity-barrier row for xen-4.8, xen-4.9 and xen-4.9-no-wmb", () => {
      expect(rows.map((r) => r[0])).toEqual(["affinity-barrier"]);
      expect(variants).toEqual(["xen-4.8", "xen-4.9", "xen-4.9-no-wmb"]);
    });
    for (const [scenario, expected] of rows) {
      it(`${scenario}: ${expected.join(" | ")}`, () => {
        const got = variants.map((variant) => {
          const r = runCell(SCENARIOS, { scenario, variant }, { budget: MATRIX_BUDGET, memory: "weak", lockBarrier });
          return `${verdictText(r)}, ${r.schedules}`;
        });
        expect(got).toEqual(expected);
        // the claim itself, whatever the budget: only the barrier-less
        // design with barrier-less locks loses the interrupt
        expect(got.map((g) => g.startsWith("lost"))).toEqual([false, false, lockBarrier === "acq-rel"]);
      }, 600_000);
    }
  });
}
