// The README's table of the seed's scenarios is the output of
// `vgic explore --matrix --markdown` (MATRIX_BUDGET per cell): each test file
// re-runs some of its rows and compares every cell with what the README says.
import { readFileSync } from "node:fs";
import { expect, it } from "vitest";
import { MATRIX_BUDGET, runCell, verdictText } from "../host/explore/matrix.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";
import { VARIANTS } from "../host/xen/variants.ts";

/** The rows readme-matrix-a checks (-b checks the rest): the two longest
 *  rows (lr-pending-migrate, stale-target-inject) fall in different files. */
export const FIRST_HALF = new Set(["rank-abba", "lr-pending-migrate", "second-irq-lazy-clear", "migrate-reenable-window"]);

export const README = readFileSync(new URL("../README.md", import.meta.url), "utf8");

/** The README's matrix: variants, and per scenario its cells' text. */
export function readmeMatrix(): { variants: string[]; rows: Map<string, string[]> } {
  const m = /<!-- explore-matrix:begin -->\n([\s\S]*?)\n<!-- explore-matrix:end -->/.exec(README);
  if (m === null) throw new Error("README.md has no explore-matrix block");
  const lines = m[1]!.split("\n");
  const cells = (l: string) => l.replace(/^\|\s*|\s*\|$/g, "").split(/\s*\|\s*/);
  const variants = cells(lines[0]!).slice(1);
  const rows = new Map<string, string[]>();
  for (const l of lines.slice(2)) {
    const [name, ...rest] = cells(l);
    rows.set(name!.replace(/`/g, ""), rest);
  }
  return { variants, rows };
}

/** One test per README row among `pick`: every cell equals the explorer's. */
export function checkRows(pick: (scenario: string, i: number) => boolean): void {
  const { variants, rows } = readmeMatrix();
  it("names every scenario and variant the explorer has, in its order", () => {
    expect([...rows.keys()]).toEqual(SCENARIOS.map((s) => s.name));
    expect(variants).toEqual(VARIANTS.map((v) => v.name));
  });
  [...rows.entries()].forEach(([scenario, expected], i) => {
    if (!pick(scenario, i)) return;
    it(`${scenario}: ${expected.join(" | ")}`, () => {
      const got = variants.map((variant) => {
        const r = runCell(SCENARIOS, { scenario, variant }, { budget: MATRIX_BUDGET });
        return `${verdictText(r)}, ${r.schedules}`;
      });
      expect(got).toEqual(expected);
    }, 600_000);
  });
}
