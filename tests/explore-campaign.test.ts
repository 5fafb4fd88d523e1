// A matrix campaign across machines: each shard explores the cells i with
// i % N == I (--shard I/N, or a Kubernetes Indexed Job's environment), and
// explore --merge joins the shards into exactly the matrix one machine
// produces with the same options (timings aside).
import { describe, expect, it } from "vitest";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, unlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const vgic = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ["build/vgic.mjs", ...args], { encoding: "utf8", env: { ...process.env, ...env } });
const BASE = ["explore", "--matrix", "--variant", "xen-4.9", "--budget", "40", "--json"];
type Doc = { cells: Array<Record<string, unknown>>; options: unknown; cellsTotal: number; shard?: unknown };
const cellsOf = (d: Doc) => d.cells.map(({ elapsedMs: _e, schedulesPerSecond: _s, msToFirst: _m, ...c }) => c);

describe("explore --matrix campaigns", () => {
  const dir = mkdtempSync(join(tmpdir(), "vgic-campaign-"));
  const shards = join(dir, "shards");
  mkdirSync(shards);
  const single = vgic(BASE);
  const one = JSON.parse(single.stdout) as Doc;
  for (let i = 0; i < 3; i++) {
    const r = vgic([...BASE, "--shard", `${i}/3`]);
    writeFileSync(join(shards, `shard-${i}.json`), r.stdout);
  }

  it("the merge of three shards equals the single-machine matrix, cell for cell, and exits as it does", () => {
    const m = vgic(["explore", "--merge", shards, "--json"]);
    expect(m.status, m.stderr).toBe(single.status);
    const merged = JSON.parse(m.stdout) as Doc;
    expect(cellsOf(merged)).toEqual(cellsOf(one));
    expect(merged.options).toEqual(one.options);
    expect(merged.shard).toBeUndefined();
    expect(one.cells.length).toBe(one.cellsTotal);
    const md = vgic(["explore", "--merge", shards, "--markdown"]);
    expect(md.stdout).toBe(vgic(["explore", "--matrix", "--variant", "xen-4.9", "--budget", "40", "--markdown"]).stdout);
  });

  it("a Kubernetes Indexed Job's JOB_COMPLETION_INDEX with VGIC_SHARDS picks the same cells as --shard", () => {
    const env = JSON.parse(vgic(BASE, { JOB_COMPLETION_INDEX: "1", VGIC_SHARDS: "3" }).stdout) as Doc;
    const flag = JSON.parse(readFileSync(join(shards, "shard-1.json"), "utf8")) as Doc;
    expect(cellsOf(env)).toEqual(cellsOf(flag));
    expect(env.shard).toEqual({ index: 1, count: 3 });
    const bad = vgic(BASE, { JOB_COMPLETION_INDEX: "1" });
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/VGIC_SHARDS is not/);
  });

  it("a campaign with a shard missing, or shards of other options, is refused naming what is wrong", () => {
    const partial = join(dir, "partial");
    mkdirSync(partial);
    writeFileSync(join(partial, "a.json"), readFileSync(join(shards, "shard-0.json")));
    const r = vgic(["explore", "--merge", partial]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/--merge: cells 1, 2, 4, 5, 7, 8 are in no shard/);
    writeFileSync(join(partial, "b.json"), vgic([...BASE.slice(0, 5), "41", "--json", "--shard", "1/3"]).stdout);
    const o = vgic(["explore", "--merge", partial]);
    expect(o.status).toBe(2);
    expect(o.stderr).toMatch(/b\.json: options .* differs from .*a\.json's/);
    // ... also when only the GIC latency differs: cells of two machines, not one
    writeFileSync(join(partial, "b.json"), vgic([...BASE, "--gic-latency", "300", "--shard", "1/3"]).stdout);
    const l = vgic(["explore", "--merge", partial]);
    expect(l.status).toBe(2);
    expect(l.stderr).toMatch(/b\.json: options .*"gicLatency":300.* differs from .*a\.json's/);
    unlinkSync(join(partial, "b.json"));
    // a campaign explored with a latency merges, and its tables say so
    const lat = join(dir, "latency");
    mkdirSync(lat);
    for (let i = 0; i < 2; i++) writeFileSync(join(lat, `${i}.json`), vgic([...BASE, "--gic-latency", "300", "--shard", `${i}/2`]).stdout);
    for (const fmt of [[], ["--markdown"]]) {
      const t = vgic(["explore", "--merge", lat, ...fmt]);
      expect(t.stderr).toBe("");
      expect(t.stdout.trimEnd().split("\n").at(-1)).toBe("Explored on a GIC with a latency of 300 cycles (--gic-latency 300).");
    }
    expect(vgic(["explore", "--merge", shards, "--markdown"]).stdout).not.toMatch(/latency/);
    writeFileSync(join(partial, "c.json"), single.stdout);
    expect(vgic(["explore", "--merge", partial]).stderr).toMatch(/c\.json: not a sharded matrix/);
    expect(vgic([...BASE, "--shard", "3/3"]).stderr).toMatch(/--shard: expected I\/N with 0 <= I < N/);
  });

  it("shards made by different scenario modules are refused: same names, other scenarios", () => {
    // a scenario file, and the same file edited between the two shards
    const lib = join(process.cwd(), "build", "lib.mjs");
    const text = readFileSync("tests/scenarios/edge-cases.mjs", "utf8").replace("../../build/lib.mjs", lib);
    const a = join(dir, "a.mjs"), b = join(dir, "b.mjs");
    writeFileSync(a, text);
    writeFileSync(b, text.replace("trap(g);\n}", "trap(g);\n  yield* trap(g);\n}"));
    const mixed = join(dir, "mixed");
    mkdirSync(mixed);
    const shard = (file: string, i: number) =>
      vgic(["explore", "--matrix", "sgi-twice-disabled", "--scenarios", file, "--variant", "xen-4.8,xen-4.9", "--shard", `${i}/2`, "--json"]).stdout;
    writeFileSync(join(mixed, "0.json"), shard(a, 0));
    writeFileSync(join(mixed, "1.json"), shard(b, 1));
    const r = vgic(["explore", "--merge", mixed]);
    expect(r.status).toBe(2);
    expect(r.stderr).toMatch(/1\.json: build "[0-9a-f]{16}" differs from .*0\.json's "[0-9a-f]{16}"/);
    // the same module for both: merged, both cells, the crash of 4.8.0's fold a finding (exit 1)
    writeFileSync(join(mixed, "1.json"), shard(a, 1));
    const merged = vgic(["explore", "--merge", mixed]);
    expect(merged.stderr).toBe("");
    expect(merged.status).toBe(1);
    expect(merged.stdout).toMatch(/^sgi-twice-disabled +xen-4\.8 +error /m);
    expect(merged.stdout).toMatch(/^sgi-twice-disabled +xen-4\.9 +ok \(exhausted\) /m);
  });
});
