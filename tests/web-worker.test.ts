// The page's worker (host/web/handle.ts) under Node: every request is
// checked as the command line checks the same input, and answered with the
// command line's verdict; a malformed message gets an error naming its
// field, never silence.

import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { explore } from "../host/explore/engine.ts";
import { toReplayFile } from "../host/explore/replay.ts";
import { fuzz } from "../host/fuzz/engine.ts";
import { runVgicCase, type VgicConfig, type VgicOp } from "../host/fuzz/vgic.ts";
import { scenarioNamed } from "../host/xen/scenarios.ts";
import { handle } from "../host/web/handle.ts";
import type { Reply } from "../host/web/protocol.ts";
import { readmeMatrix } from "./readme-matrix.ts";
import { loadVariants } from "../host/extend.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const vgic = (args: string[]) => spawnSync(process.execPath, ["build/vgic.mjs", ...args], { cwd: root, encoding: "utf8", timeout: 30_000 });

/** The final reply to one message (progress left out). */
function ask(m: unknown): Reply {
  const out: Reply[] = [];
  handle(m, (r) => out.push(r));
  const last = out.filter((r) => r.kind !== "progress");
  expect(last).toHaveLength(1);
  return last[0]!;
}
const error = (m: unknown) => {
  const r = ask(m);
  expect(r.kind).toBe("error");
  return (r as Extract<Reply, { kind: "error" }>).message;
};

describe("the page's worker", () => {
  it("answers a malformed message with an error naming the field", () => {
    expect(ask(null)).toEqual({ id: 0, kind: "error", message: "message: expected an object {id, kind, ...}, got null" });
    expect(ask({ id: 4, kind: "explode" })).toEqual({ id: 4, kind: "error", message: 'kind: expected one of explore, schedule, replay, workload, mmio, got "explode"' });
    expect(error({ id: "1", kind: "mmio" })).toBe('id: expected a positive integer, got "1"');
    expect(error({ id: 2, kind: "mmio", script: "", cpus: 1, lrs: "4" })).toBe("cpus: expected a string, got 1");
    expect(error({ id: 3, kind: "explore", scenario: "rank-abba", variant: "xen-4.8", options: { fail: "x" } })).toMatch(/^options: unknown option '--fail'/);
  });

  it("refuses bad search settings in the words of vgic explore (exit 2), and runs nothing", () => {
    const cases: Array<[Record<string, string>, string[]]> = [
      [{ bound: "-1" }, ["--bound=-1"]],
      [{ budget: "0" }, ["--budget", "0"]],
      [{ budget: "" }, ["--budget="]],
      [{ strategy: "pct", budget: "-3" }, ["--strategy", "pct", "--budget=-3"]],
      [{ strategy: "foo" }, ["--strategy", "foo"]],
      [{ seed: "1" }, ["--seed", "1"]],
      [{ memory: "sc", "lock-barrier": "acq-rel" }, ["--memory", "sc", "--lock-barrier", "acq-rel"]],
    ];
    for (const [options, args] of cases) {
      const cli = vgic(["explore", "rank-abba", "--variant", "xen-4.8", ...args]);
      expect(cli.status, args.join(" ")).toBe(2);
      const got = error({ id: 1, kind: "explore", scenario: "rank-abba", variant: "xen-4.8", options });
      expect(`vgic explore: ${got}\n`).toBe(cli.stderr);
    }
  });

  it("says ok only for an exhausted search, as vgic explore --matrix does", () => {
    const verdict = (options: Record<string, string>) => {
      const r = ask({ id: 1, kind: "explore", scenario: "rank-abba", variant: "xen-4.9", options });
      if (r.kind !== "explored") throw new Error(JSON.stringify(r));
      return [r.summary.verdict, r.summary.verdictText, r.summary.schedules];
    };
    // the README's matrix: rank-abba on xen-4.9 is ok (exhausted) after the schedules it names
    const { variants, rows } = readmeMatrix();
    expect(verdict({})).toEqual(["exhausted", "ok (exhausted)", Number(/^ok \(exhausted\), (\d+)$/.exec(rows.get("rank-abba")![variants.indexOf("xen-4.9")]!)![1])]);
    expect(verdict({ budget: "5" })).toEqual(["budget-spent", "none found (budget spent)", 5]);
    expect(verdict({ strategy: "pct", budget: "3" })).toEqual(["sampled", "none found (sampled)", 3]);
  });

  it("refuses a schedule that does not fit the run, as vgic explore --replay does", () => {
    const c = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const ok = ask({ id: 1, kind: "schedule", scenario: "rank-abba", variant: "xen-4.8", schedule: c.schedule, options: {} });
    expect(ok.kind === "replayed" && ok.timeline.traceHash).toBe(c.traceHash);
    expect(ok.kind === "replayed" && ok.verdict).toBe("fails"); // the seed's deadlock
    const padded = `${c.schedule},0,0`;
    const dir = mkdtempSync(join(tmpdir(), "vgic-worker-"));
    writeFileSync(join(dir, "padded.json"), JSON.stringify({ ...toReplayFile(c), schedule: padded }));
    const cli = vgic(["explore", "--replay", join(dir, "padded.json")]);
    expect(cli.status).toBe(2);
    const got = error({ id: 1, kind: "schedule", scenario: "rank-abba", variant: "xen-4.8", schedule: padded, options: {} });
    expect(got).toMatch(/does not fit/);
    expect(cli.stderr).toBe(`vgic explore: ${join(dir, "padded.json")}: ${got}\n`);
  });

  it("takes a GIC latency as vgic explore --gic-latency does; a replay says what a link to it must carry", () => {
    // the maintenance livelock needs the latency (tests/maintenance-livelock.test.ts)
    const c = explore({ scenario: scenarioNamed("lr-pending-migrate"), variant: "xen-4.9", gicLatency: 300, budget: 1000 }).counterexample!;
    expect(c.findings.map((f) => f.kind)).toContain("livelock");
    const at = (options: Record<string, string>) => ask({ id: 1, kind: "schedule", scenario: "lr-pending-migrate", variant: "xen-4.9", schedule: c.schedule, options });
    const withIt = at({ "gic-latency": "300" });
    expect(withIt.kind === "replayed" && [withIt.verdict, withIt.timeline.traceHash, withIt.options]).toEqual(["fails", c.traceHash, { "gic-latency": "300" }]);
    // without it the same decisions make another run, or none
    const without = at({});
    expect(without.kind === "replayed" ? without.timeline.traceHash : without.kind).not.toBe(c.traceHash);
    // a counterexample file found with a latency is replayed with it, and
    // its reply names it (the page's share link carries it)
    const file = toReplayFile(c, { gicLatency: 300 });
    const replayed = ask({ id: 2, kind: "replay", name: "l.json", text: JSON.stringify(file) });
    expect(replayed.kind === "replayed" && [replayed.verdict, replayed.reproduced, replayed.options]).toEqual(["fails", true, { "gic-latency": "300" }]);
    // the search, as vgic explore lr-pending-migrate --variant xen-4.9 --gic-latency 300 --budget 1000
    const e = ask({ id: 3, kind: "explore", scenario: "lr-pending-migrate", variant: "xen-4.9", options: { budget: "1000", "gic-latency": "300" } });
    expect(e.kind === "explored" && [e.summary.gicLatency, e.summary.schedule, e.timeline?.traceHash]).toEqual([300, c.schedule, c.traceHash]);
    // refused in the command line's words
    expect(error({ id: 4, kind: "schedule", scenario: "lr-pending-migrate", variant: "xen-4.9", schedule: c.schedule, options: { "gic-latency": "x" } }))
      .toBe("--gic-latency: expected an integer from 0 to 1000000, got 'x'");
    // a weak-memory file's reply names its memory model and barrier
    const weak = explore({ scenario: scenarioNamed("affinity-barrier"), variant: "xen-4.9-no-wmb", budget: 2000, memory: "weak", lockBarrier: "acq-rel" }).counterexample!;
    const w = ask({ id: 5, kind: "replay", name: "w.json", text: JSON.stringify(toReplayFile(weak, { memory: "weak", lockBarrier: "acq-rel" })) });
    expect(w.kind === "replayed" && [w.reproduced, w.options]).toEqual([true, { memory: "weak", "lock-barrier": "acq-rel" }]);
  }, 60_000);

  it("a replay's verdict is vgic explore --replay's: a run that still fails is a failure (exit 1), one that ends in an exception the file does not record broke (exit 3)", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-worker-"));
    /** the worker's reply, and the command's answer with the same design files */
    const both = (name: string, file: object, ...args: string[]) => {
      writeFileSync(join(dir, name), JSON.stringify(file));
      return { r: ask({ id: 1, kind: "replay", name, text: JSON.stringify(file) }), cli: vgic(["explore", ...args, "--replay", join(dir, name)]) };
    };
    const c = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const fails = both("c.json", toReplayFile(c));
    expect(fails.cli.status).toBe(1);
    expect(fails.r).toMatchObject({ kind: "replayed", reproduced: true, verdict: "fails" });

    // under a design that throws part-way (a variant file: no built-in
    // scenario and design ends in an exception) the run ends in one the
    // file does not record: neither a failure reproduced nor a pass
    const design = join(root, "tests", "scenarios", "throwing-variant.mjs");
    const { MESSAGE } = await import(design) as { MESSAGE: string };
    const [throwing] = await loadVariants(design);
    const { r: broke, cli } = both("broke.json", { ...toReplayFile(c), variant: throwing!.name }, "--variants", design);
    if (broke.kind !== "replayed") throw new Error(JSON.stringify(broke));
    expect(broke).toMatchObject({ reproduced: false, verdict: "broke", reason: `the run failed: ${MESSAGE}` });
    expect(broke.timeline.findings).toEqual([expect.objectContaining({ kind: "error", where: "vgic_get_target_vcpu" })]);
    // the command: exit 3, and the same reason
    expect(cli.stderr).toBe("");
    expect(cli.status).toBe(3);
    expect(cli.stdout.split("\n")).toContain(`NOT reproduced: ${broke.reason}`);
  });

  it("a finding replays with its planted faults, and ends in the violation only when there is one now", () => {
    const f = fuzz({ target: "vgic", seed: 2, cases: 200, faults: ["restore-skips-vmcr"], params: { variant: "xen-4.9" }, shrinkBudget: 200, improve: 0, stopOnFinding: true })
      .findingsList[0]!;
    expect(f.faults).toEqual(["restore-skips-vmcr"]);
    const hashOf = (faults: string[]) => runVgicCase(f.config as VgicConfig, f.ops as VgicOp[], { trace: true, faults, ...(f.schedule ? { schedule: f.schedule } : {}) }).run!.traceHash;
    expect(hashOf([])).not.toBe(hashOf(f.faults));
    const r = ask({ id: 1, kind: "replay", name: "f.json", text: JSON.stringify(f) });
    if (r.kind !== "finding") throw new Error(JSON.stringify(r));
    expect(r).toMatchObject({ reproduced: true, verdict: "fails" });
    // the story is the run the finding records: with the fault planted
    expect(r.timeline!.traceHash).toBe(hashOf(f.faults));
    expect(r.timeline!.steps.at(-1)!.text).toMatch(/violation switch-restore at operation \d+: d1v\d switched back in/);

    // the same case without the fault passes: no violation closes its story
    const clean = ask({ id: 1, kind: "replay", name: "clean.json", text: JSON.stringify({ ...f, faults: [] }) });
    if (clean.kind !== "finding") throw new Error(JSON.stringify(clean));
    expect(clean).toMatchObject({ reproduced: false, verdict: "passes", reason: "no violation now" });
    expect(clean.timeline!.steps.some((s) => /violation/.test(s.text))).toBe(false);
  });

  it("a register script failing part-way keeps the reads before it, as vgic mmio prints them", () => {
    const script = "r32 0x08000004\ncpu 3\nr32 0x08000004\n";
    const dir = mkdtempSync(join(tmpdir(), "vgic-worker-"));
    writeFileSync(join(dir, "s.gic"), script);
    const cli = vgic(["mmio", "--cpus", "1", join(dir, "s.gic")]);
    expect(cli.status).toBe(2);
    const r = ask({ id: 1, kind: "mmio", script, cpus: "1", lrs: "4" });
    if (r.kind !== "mmio") throw new Error(JSON.stringify(r));
    expect(r.lines.map((l) => l + "\n").join("")).toBe(cli.stdout);
    expect(r.lines).toEqual(["0x08000004 = 0x00000008"]);
    expect(cli.stderr).toBe(`vgic mmio: ${r.error!.replace(/^script:/, `${join(dir, "s.gic")}:`)}\n`);
    // an empty CPUs box is refused as --cpus '' is
    expect(error({ id: 1, kind: "mmio", script, cpus: "", lrs: "4" })).toBe(vgic(["mmio", "--cpus=", join(dir, "s.gic")]).stderr.replace(/^vgic mmio: /, "").trimEnd());
  });
});
