// The README's account of the matrix at a GIC latency of 300 cycles
// (`vgic explore --matrix --gic-latency 300`): every cell against the table
// without a latency (readme-matrix.ts) and the figures the text quotes.
import { describe, expect, it } from "vitest";
import { MATRIX_BUDGET, runCell, verdictText } from "../host/explore/matrix.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";
import { README, readmeMatrix } from "./readme-matrix.ts";

const LATENCY = 300;
const text = README.replace(/\s+/g, " ");
const quoted = new RegExp(String.raw`At 300 cycles the matrix finds the livelock in both 4\.9 designs' \`lr-pending-migrate\` cells \(after (\d+) schedules\), ` +
  String.raw`and the \`vcpu-migrate-inflight\` row changes: xen-4\.8 and v3-fixed lose the SPI before the rank self-deadlock \(xen-4\.8 after (\d+) schedules rather than (\d+), ` +
  String.raw`v3-fixed after (\d+) rather than (\d+)\), v3-posted's counterexample also drops one \((\d+) rather than (\d+)\), the 4\.9 designs lose it with no lock ` +
  String.raw`inversion first \((\d+) rather than (\d+)\) and new-vgic loses it later \((\d+) rather than (\d+)\)\. Every other cell has the verdict and finding kinds ` +
  String.raw`of the table below, some after quite other schedule counts \(the exhausted \`rank-abba\` cells of v3 after (\d+) rather than (\d+), ` +
  String.raw`\`itargetsr-concurrent\` on xen-4\.8 after (\d+) rather than (\d+), new-vgic's \`affinity-barrier\` after (\d+) rather than (\d+)\)`).exec(text);

type Kinds = (kinds: string[]) => void;
const has = (...want: string[]): Kinds => (k) => expect(k).toEqual(expect.arrayContaining(want));
const hasNot = (...not: string[]): Kinds => (k) => { for (const x of not) expect(k).not.toContain(x); };

describe("README: the matrix at a GIC latency of 300 cycles", () => {
  it("quotes the figures checked here", () => expect(quoted, "the README's sentence on --matrix --gic-latency 300").not.toBeNull());
  if (quoted === null) return;
  const n = quoted.slice(1).map(Number);
  // cells the text names: schedules now, schedules in the table (null: the
  // table's "none found"), and what their kinds must be; the rest keep the
  // table's verdict and kinds
  const named = new Map<string, { now: number; before: number | null; kinds?: Kinds }>([
    ["lr-pending-migrate/xen-4.9", { now: n[0]!, before: null, kinds: has("livelock") }],
    ["lr-pending-migrate/xen-4.9-no-wmb", { now: n[0]!, before: null, kinds: has("livelock") }],
    ["vcpu-migrate-inflight/xen-4.8", { now: n[1]!, before: n[2]!, kinds: (k) => { has("lost")(k); hasNot("deadlock")(k); } }],
    ["vcpu-migrate-inflight/v3-fixed", { now: n[3]!, before: n[4]!, kinds: (k) => { has("lost")(k); hasNot("deadlock")(k); } }],
    ["vcpu-migrate-inflight/v3-posted", { now: n[5]!, before: n[6]!, kinds: has("lost", "dropped") }],
    ["vcpu-migrate-inflight/xen-4.9", { now: n[7]!, before: n[8]!, kinds: (k) => { has("lost")(k); hasNot("lock-inversion")(k); } }],
    ["vcpu-migrate-inflight/xen-4.9-no-wmb", { now: n[7]!, before: n[8]!, kinds: (k) => { has("lost")(k); hasNot("lock-inversion")(k); } }],
    ["vcpu-migrate-inflight/new-vgic", { now: n[9]!, before: n[10]! }],
    ["rank-abba/v3-posted", { now: n[11]!, before: n[12]! }],
    ["rank-abba/v3-fixed", { now: n[11]!, before: n[12]! }],
    ["itargetsr-concurrent/xen-4.8", { now: n[13]!, before: n[14]! }],
    ["affinity-barrier/new-vgic", { now: n[15]!, before: n[16]! }],
  ]);
  const { variants, rows } = readmeMatrix();
  for (const [scenario, table] of rows) {
    it(scenario, () => {
      variants.forEach((variant, i) => {
        const cell = `${scenario}/${variant}`;
        const [, before, count] = /^(.*), (\d+)$/.exec(table[i]!)!;
        const r = runCell(SCENARIOS, { scenario, variant }, { budget: MATRIX_BUDGET, gicLatency: LATENCY });
        const kinds = r.counterexample?.findings.map((f) => f.kind) ?? [];
        const x = named.get(cell);
        if (x?.kinds !== undefined) {
          // a changed cell: what the text says of it, and the table's count it compares with
          x.kinds(kinds);
          if (x.before === null) expect(before, cell).toMatch(/^none found/);
        } else expect(verdictText(r), cell).toBe(before);
        if (x !== undefined) {
          expect(r.schedules, cell).toBe(x.now);
          if (x.before !== null) expect(Number(count), cell).toBe(x.before);
        }
      });
    }, 600_000);
  }
});
