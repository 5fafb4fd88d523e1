// The `vgic` command line as a whole: every command answers --help (from its
// option table) and --version, unknown options exit 2 naming the option,
// every --json document names its format and version and validates against
// the JSON Schema file the repository publishes for it, --cases is a budget
// that no clock cuts, long commands print plain progress lines when stderr
// is not a terminal, and a variant file adds a design every command can use.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { describe, expect, it } from "vitest";
import { COMMANDS } from "../host/commands.ts";
import { OUTPUT_SCHEMAS, jsonSchemaText } from "../host/schemas.ts";
import { Progress, formatDuration } from "../host/progress.ts";
import { EXIT } from "../host/options.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const VERSION = (JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }).version;
const vgic = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, [join(ROOT, "build", "vgic.mjs"), ...args], { cwd: ROOT, encoding: "utf8", env: { ...process.env, ...env } });

/** `vgic fuzz` of xen-4.9 at seed 1, 4000 cases: its findings' signatures
 *  lie from the first cases to past three quarters of the way */
const FUZZ_4000 = ["fuzz", "--target", "vgic", "--variant", "xen-4.9", "--seed", "1", "--cases", "4000"];
let freeRun: { files: string[]; at: (f: string) => number } | undefined;
/** The finding files of FUZZ_4000 run where it can write them, by case
 *  (run once, for the tests that block one of them). */
function freeFuzzRun(): { files: string[]; at: (f: string) => number } {
  if (freeRun !== undefined) return freeRun;
  const out = join(mkdtempSync(join(tmpdir(), "vgic-fz-free-")), "free");
  const r = vgic([...FUZZ_4000, "--out", out]);
  expect(r.status, r.stderr).toBe(1);
  const at = (f: string) => Number(/-(\d+)\.json$/.exec(f)![1]);
  const files = readdirSync(out).filter((f) => /-\d+\.json$/.test(f)).sort((a, b) => at(a) - at(b));
  return freeRun = { files, at };
}

/** A new --out directory where the finding file `name` cannot be written
 *  (a directory stands in its place). */
function outBlocking(name: string): string {
  const out = join(mkdtempSync(join(tmpdir(), "vgic-fz-blocked-")), "out");
  mkdirSync(join(out, name), { recursive: true });
  return out;
}

/** The repository's schema file, as a validator. */
function schemaFile(file: string): z.ZodType {
  return z.fromJSONSchema(JSON.parse(readFileSync(join(ROOT, "schemas", file), "utf8")) as Parameters<typeof z.fromJSONSchema>[0]);
}

function validJson(stdout: string, file: string, format: string): Record<string, unknown> {
  const doc = JSON.parse(stdout) as Record<string, unknown>;
  expect(doc.format).toBe(format);
  expect(doc.vgicLab).toBe(VERSION);
  const r = schemaFile(file).safeParse(doc);
  expect(r.success, r.success ? "" : JSON.stringify(r.error.issues.slice(0, 3))).toBe(true);
  return doc;
}

/** The first ``` block after a README heading. */
function readmeBlock(heading: string): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const at = readme.indexOf(`\n${heading}\n`);
  if (at < 0) throw new Error(`README.md: no heading ${heading}`);
  const m = /\n```[a-z]*\n([\s\S]*?)```/.exec(readme.slice(at));
  if (m === null) throw new Error(`README.md: no code block after ${heading}`);
  return m[1]!;
}

describe("README: command output shown whole", () => {
  it("`vgic variants` lists every design, as the command prints it", () => {
    const r = vgic(["variants"]);
    expect(r.status).toBe(0);
    expect(readmeBlock("### `vgic variants`: the vGIC designs")).toBe(r.stdout);
  });
});

describe("help, version, usage errors", () => {
  it("every command answers --help with its usage and every option of its table, and --version", () => {
    for (const [name, c] of Object.entries(COMMANDS)) {
      const h = vgic([name, "--help"]);
      expect(h.status, name).toBe(0);
      expect(h.stdout, name).toMatch(new RegExp(`^usage: vgic ${name}`));
      for (const opt of Object.keys(c.spec.options)) expect(h.stdout, `${name} --${opt}`).toContain(`--${opt}`);
    }
    // --version is answered by the shared parser every command goes through
    for (const name of ["mmio", "fuzz"]) expect(vgic([name, "--version"]).stdout).toBe(`vgic-lab ${VERSION}\n`);
    expect(vgic(["help", "explore"]).stdout).toBe(vgic(["explore", "--help"]).stdout);
    expect(vgic(["--version"]).stdout).toBe(`vgic-lab ${VERSION}\n`);
    const top = vgic(["--help"]);
    expect(top.status).toBe(0);
    for (const name of Object.keys(COMMANDS)) expect(top.stdout).toMatch(new RegExp(`^  ${name} `, "m"));
  });

  it("an unknown option or command exits 2 naming it; no command prints the help and exits 2", () => {
    // the shared parser again: two commands stand for all
    for (const name of ["run", "explore"]) {
      const r = vgic([name, "--frobnicate"]);
      expect(r.status, name).toBe(EXIT.usage);
      expect(r.stderr, name).toMatch(new RegExp(`^vgic ${name}: Unknown option '--frobnicate'; \`vgic ${name} --help\` lists the options`));
    }
    const u = vgic(["frobnicate"]);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unknown command 'frobnicate': expected one of mmio, run, explore, fuzz, bench, report, variants/);
    const n = vgic([]);
    expect(n.status).toBe(2);
    expect(n.stdout).toMatch(/^usage: vgic COMMAND/);
  });
});

describe("--json documents and their schemas", () => {
  it("schemas/ holds the JSON Schema of every output, generated from the zod schemas (npm run schemas)", () => {
    expect(readdirSync(join(ROOT, "schemas")).sort()).toEqual(OUTPUT_SCHEMAS.map((o) => o.file).sort());
    for (const o of OUTPUT_SCHEMAS) expect(readFileSync(join(ROOT, "schemas", o.file), "utf8"), o.file).toBe(jsonSchemaText(o));
  });

  it("a schema file rejects what its output must not be", () => {
    const s = schemaFile("variants.schema.json");
    const good = { format: "vgic-variants/1", vgicLab: "1", variants: [{ name: "a", parent: null, summary: "s", builtin: true }] };
    expect(s.safeParse(good).success).toBe(true);
    expect(s.safeParse({ ...good, format: "vgic-variants/2" }).success).toBe(false);
    expect(s.safeParse({ ...good, variants: [{ name: "a", parent: 3, summary: "s", builtin: true }] }).success).toBe(false);
    expect(s.safeParse({ ...good, extra: 1 }).success).toBe(false);
  });

  it("mmio, variants, run, explore (one scenario, matrix, replay), fuzz and its replay, bench", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-json-"));
    const m = validJson(vgic(["mmio", "--json", "examples/sgi-roundtrip.gic"]).stdout, "mmio.schema.json", "vgic-mmio/1");
    // the same reads as the text output, in order
    const text = vgic(["mmio", "examples/sgi-roundtrip.gic"]).stdout.trim().split("\n");
    const reads = m.reads as Array<{ addr: number; value: number }>;
    expect(reads.map((r) => `0x${r.addr.toString(16).padStart(8, "0")} = 0x${r.value.toString(16).padStart(8, "0")}`)).toEqual(text);

    const v = validJson(vgic(["variants", "--json"]).stdout, "variants.schema.json", "vgic-variants/1");
    expect((v.variants as Array<{ name: string }>).map((x) => x.name)).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]);

    const r = vgic(["run", "workloads/lr-overflow.json", "--variant", "xen-4.9", "--duration", "300000", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    validJson(r.stdout, "run.schema.json", "vgic-run/1");

    const e = vgic(["explore", "rank-abba", "--variant", "xen-4.8", "--out", dir, "--json"]);
    expect(e.status).toBe(EXIT.finding);
    const ed = validJson(e.stdout, "explore.schema.json", "vgic-explore/1");
    const file = (ed.results as Array<{ file: string }>)[0]!.file;
    const rp = vgic(["explore", "--replay", file, "--json"]);
    expect(rp.status).toBe(EXIT.finding);
    expect(validJson(rp.stdout, "explore-replay.schema.json", "vgic-explore-replay/1").reproduced).toBe(true);
    // the counterexample file records the version too
    expect(JSON.parse(readFileSync(file, "utf8")).vgicLab).toBe(VERSION);

    const mx = vgic(["explore", "--matrix", "--variant", "xen-4.9", "--budget", "30", "--bound", "0", "--json"]);
    expect([EXIT.ok, EXIT.finding]).toContain(mx.status);
    const md = validJson(mx.stdout, "explore-matrix.schema.json", "vgic-explore-matrix/1");
    expect(mx.status).toBe((md.cells as Array<{ counterexample?: unknown }>).some((c) => c.counterexample) ? 1 : 0);

    const f = vgic(["fuzz", "--target", "vgic", "--variant", "xen-4.8", "--cases", "40", "--seed", "1", "--out", dir, "--json"]);
    const fd = validJson(f.stdout, "fuzz.schema.json", "vgic-fuzz-report");
    expect(fd.version).toBe(1);
    const found = (fd.signatures as Array<{ file: string | null }>).filter((x) => x.file !== null) as Array<{ file: string }>;
    expect(f.status).toBe((fd.signatures as unknown[]).length > 0 ? EXIT.finding : EXIT.ok);
    if (found.length > 0) {
      const fr = vgic(["fuzz", "--replay", found[0]!.file, "--json"]);
      expect(fr.status).toBe(EXIT.finding);
      const frd = validJson(fr.stdout, "fuzz-replay.schema.json", "vgic-fuzz-replay/1");
      expect(frd.reproduced).toBe(true);
      expect(JSON.parse(readFileSync(found[0]!.file, "utf8")).vgicLab).toBe(VERSION);
    }

    const b = vgic(["bench", "--latency", "--reps", "2", "--variant", "xen-4.9", "--json"]);
    validJson(b.stdout, "bench.schema.json", "vgic-bench/1");
  }, 120_000);
});

describe("fuzz --cases", () => {
  it("is the whole budget: no wall-clock limit, the same cases, coverage and findings every run", () => {
    const args = ["fuzz", "--target", "hw", "--cases", "60", "--seed", "5", "--out", mkdtempSync(join(tmpdir(), "vgic-fz-")), "--json"];
    const a = JSON.parse(vgic(args).stdout), b = JSON.parse(vgic(args).stdout);
    const key = (d: Record<string, unknown>) => { const { elapsedMs: _e, execsPerSec: _x, opsPerSec: _o, ...s } = d; return s; };
    expect(a.cases).toBe(60);
    expect(key(b)).toEqual(key(a));
    // split between workers: the same number of cases and checked operations
    const w = JSON.parse(vgic([...args, "--workers", "2"]).stdout);
    expect(w.cases).toBe(60);
    expect(w.ops).toBe(a.ops);
  }, 60_000);
});

describe("progress", () => {
  it("status lines: count, percentage, elapsed and an ETA from the rate so far; plain lines once per interval", () => {
    let t = 0;
    const lines: string[] = [];
    const p = new Progress({ label: "explore", tty: false, write: (s) => lines.push(s), intervalMs: 10_000, now: () => t });
    t = 5_000; p.update(1, 8, "cells");
    expect(lines).toEqual([]); // within the first interval
    t = 20_000; p.update(2, 8, "cells");
    t = 25_000; p.update(3, 8, "cells");
    t = 30_000; p.update(4, 8, "cells", "last rank-abba under xen-4.8");
    expect(lines).toEqual([
      "explore: 2/8 cells (25%), 20 s elapsed, ETA 1 min 00 s\n",
      "explore: 4/8 cells (50%), 30 s elapsed, ETA 30 s, last rank-abba under xen-4.8\n",
    ]);
    p.note("variant 2 of 4 (v3-posted)");
    expect(lines.at(-1)).toBe("explore: variant 2 of 4 (v3-posted)\n");
    expect(formatDuration(3_725_000)).toBe("1 h 02 min");
    // on a terminal: one line rewritten in place, cleared before other output
    const tty: string[] = [];
    const q = new Progress({ label: "fuzz hw", tty: true, write: (s) => tty.push(s), now: () => t });
    q.update(10, null, "cases");
    q.note("done");
    expect(tty).toEqual(["\rfuzz hw: 10 cases, 0 s elapsed\x1b[K", "\r\x1b[K", "fuzz hw: done\n"]);
  });

  it("explore, run and fuzz print plain status lines on a stderr that is not a terminal", () => {
    const env = { VGIC_PROGRESS_INTERVAL: "0" };
    const e = vgic(["explore", "--matrix", "--variant", "xen-4.9", "--budget", "20", "--bound", "0"], env);
    const n = SCENARIOS.length, last = SCENARIOS.at(-1)!.name;
    expect(e.stderr).toMatch(new RegExp(`^explore: ${n} cells \\(${n} scenarios x 1 variants\\) on 1 thread$`, "m"));
    expect(e.stderr).toMatch(new RegExp(`^explore: ${n}/${n} cells \\(100%\\), \\d+ s elapsed, last ${last} under xen-4\\.9$`, "m"));
    expect(e.stderr).not.toContain("\r");
    const r = vgic(["run", "workloads/lr-overflow.json", "--duration", "300000", "--variant", "all"], env);
    expect(r.stderr).toMatch(/^run lr-overflow: variant 3 of 6 \(v3-fixed\)$/m);
    expect(r.stderr).toMatch(/^run lr-overflow: \d+\/100 % simulated/m);
    const f = vgic(["fuzz", "--cases", "30", "--out", mkdtempSync(join(tmpdir(), "vgic-fz-"))], env);
    expect(f.stderr).toMatch(/^fuzz hw: \d+\/30 cases \(\d+%\)/m);
    // one scenario's variants on two threads: the schedules of both threads
    // as they go (it used to say only how many variants were done)
    const w = vgic(["explore", "enable-inject-race", "--budget", "300", "--workers", "2", "--json"], env);
    expect(w.status, w.stderr).toBe(1); // every design but new-vgic fails it
    const total = (JSON.parse(w.stdout) as { results: Array<{ schedules: number }> }).results.reduce((a, r) => a + r.schedules, 0);
    const seen = [...w.stderr.matchAll(/^explore: (\d+) schedules, \d+ s elapsed, (\d) of 6 variants done$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    expect(seen.length).toBeGreaterThan(10);
    for (let k = 1; k < seen.length; k++) {
      expect(seen[k]![0]).toBeGreaterThanOrEqual(seen[k - 1]![0]);
      expect(seen[k]![1]).toBeGreaterThanOrEqual(seen[k - 1]![1]);
    }
    expect(seen.at(-1)![0]).toBeLessThanOrEqual(total);
    expect(seen.at(-1)![0]).toBeGreaterThan(total / 2);
  }, 60_000);
});

describe("--variants FILE", () => {
  const file = "examples/my-variant.mjs";

  it("adds a design that variants lists and explore, run and fuzz can name, also in worker threads", () => {
    const v = JSON.parse(vgic(["variants", "--variants", file, "--json"]).stdout);
    expect(v.variants.at(-1)).toEqual({
      name: "xen-4.9-no-refuse", parent: "xen-4.9", builtin: false,
      summary: "xen-4.9 without 91ef736493: a migration while one is in progress is not refused",
    });
    // xen-4.9's lock-free target read keeps rank-abba free of the inversion in the derived design too
    const e = vgic(["explore", "rank-abba", "--variants", file, "--variant", "xen-4.9-no-refuse", "--bound", "1", "--json"]);
    expect(e.status, e.stderr).toBe(0);
    expect(JSON.parse(e.stdout).results[0]).toMatchObject({ variant: "xen-4.9-no-refuse", exhausted: true });
    const m = vgic(["explore", "--matrix", "--variants", file, "--variant", "xen-4.9-no-refuse", "--budget", "10", "--bound", "0", "--workers", "2", "--json"]);
    expect(m.stderr).not.toMatch(/error|unknown variant/i);
    expect(JSON.parse(m.stdout).cells.map((c: { variant: string }) => c.variant)).toEqual(Array(SCENARIOS.length).fill("xen-4.9-no-refuse"));
    const r = vgic(["run", "workloads/lr-overflow.json", "--variants", file, "--variant", "xen-4.9-no-refuse", "--duration", "300000", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).results[0].variant).toBe("xen-4.9-no-refuse");
    const f = vgic(["fuzz", "--target", "vgic", "--variants", file, "--variant", "xen-4.9-no-refuse", "--cases", "4", "--workers", "2",
      "--out", mkdtempSync(join(tmpdir(), "vgic-fz-")), "--json"]);
    expect(f.stderr).not.toMatch(/unknown variant|worker/);
    expect(JSON.parse(f.stdout).cases).toBe(4);
    // without the file, the name is unknown: a usage error naming the choices
    const u = vgic(["explore", "rank-abba", "--variant", "xen-4.9-no-refuse"]);
    expect(u.status).toBe(2);
    expect(u.stderr).toMatch(/unknown variant 'xen-4\.9-no-refuse': expected one of xen-4\.8, v3-posted, v3-fixed, xen-4\.9/);
    const bad = vgic(["variants", "--variants", "examples/my-scenario.mjs"]);
    expect(bad.status).toBe(2);
    expect(bad.stderr).toMatch(/--variants examples\/my-scenario\.mjs: expected an export 'variants' \(an array\), got none/);
  }, 120_000);
});

describe("a finding file that cannot be written", () => {
  it("ends fuzz --workers as it ends one thread: exit 2, its message the last line", () => {
    // the first finding file of the run, found by a run that can write it
    const dir = mkdtempSync(join(tmpdir(), "vgic-fz-unwritable-"));
    const { files, at } = freeFuzzRun();
    const first = files[0]!;
    // the other of two workers first finds a signature over four times as
    // far on as that case: left running, it prints it after the error unless
    // it runs four times as fast as the failing worker (1000 cases had one
    // only half as far on, which a loaded machine reached first)
    expect(Math.max(...files.filter((f) => at(f) % 2 !== at(first) % 2).map(at))).toBeGreaterThan(4 * at(first));
    for (const workers of ["1", "2"]) {
      const out = outBlocking(first);
      const leaver = join(dir, `leaves-temp-${workers}.mjs`);
      writeFileSync(leaver, `import { isMainThread } from "node:worker_threads";
import { writeFileSync } from "node:fs";
if (!isMainThread) writeFileSync(${JSON.stringify(out)} + "/.x.json." + process.pid + ".999.tmp", "");
export const variants = [];
`);
      const r = vgic([...FUZZ_4000, "--out", out, "--workers", workers, "--variants", leaver]);
      expect(r.status, r.stderr).toBe(2);
      // (two workers used to go on printing the other worker's findings after it)
      // no temporary file of the run's left behind: a worker stopped between
      // writing one and renaming it would leave one (the module below
      // leaves one on each worker thread, as such a worker would)
      expect(readdirSync(out).filter((f) => f.endsWith(".tmp"))).toEqual([]);
      // (the path printed is shortened when it is long)
      expect(r.stderr.trimEnd().split("\n").at(-1)).toMatch(new RegExp(`^vgic fuzz: cannot write ${join(out, "vgic-")}.* \\(EISDIR\\)$`));
      // no summary: the run did not finish
      expect(r.stdout).toBe("");
    }
  }, 120_000);
});

describe("an error on a terminal", () => {
  it("comes after the status line is cleared, not at the end of it (fuzz)", () => {
    // under a pseudo-terminal (util-linux `script`), the status line is
    // redrawn in place; with VGIC_PROGRESS_INTERVAL=0 it is drawn after
    // every case, so one is up when the run fails on the first finding file
    // it writes after case 0
    const { files, at } = freeFuzzRun();
    const out = outBlocking(files.find((f) => at(f) >= 1)!);
    const cmd = [process.execPath, join(ROOT, "build", "vgic.mjs"), ...FUZZ_4000, "--out", out].map((a) => `'${a}'`).join(" ");
    const r = spawnSync("script", ["-qec", cmd, "/dev/null"], { cwd: ROOT, encoding: "utf8", env: { ...process.env, VGIC_PROGRESS_INTERVAL: "0" } });
    expect(r.status, r.stdout).toBe(2);
    expect(r.stdout).toMatch(/\rfuzz vgic: \d+\/4000 cases/);
    // the line is cleared (carriage return, erase to its end) right before
    const i = r.stdout.indexOf("vgic fuzz: cannot write ");
    expect(i).toBeGreaterThan(0);
    expect(r.stdout.slice(i - 4, i)).toBe("\r\x1b[K");
  }, 120_000);
});

describe("a user's design that its parent's create builds", () => {
  it("goes by the name it was registered under in run's results, not its parent's", () => {
    // an alias of xen-4.9 (create returns xen-4.9's design): its results
    // used to say xen-4.9, so a comparison showed xen-4.9 twice
    const dir = mkdtempSync(join(tmpdir(), "vgic-alias-"));
    const file = join(dir, "alias.mjs");
    writeFileSync(file, `import { variantNamed } from ${JSON.stringify(new URL("../build/lib.mjs", import.meta.url).href)};
export const variants = [{ name: "alias-4.9", parent: "xen-4.9", summary: "xen-4.9 under another name", create: (m, o) => variantNamed("xen-4.9").create(m, o) },
  { name: "getter-4.9", parent: "xen-4.9", summary: "xen-4.9 with a getter for its name", create(m, o) {
    const d = variantNamed("xen-4.9").create(m, o);
    Object.defineProperty(d, "variant", { get: () => "stale", configurable: true });
    return d;
  } }];
`);
    const r = vgic(["run", "workloads/lr-overflow.json", "--variants", file, "--variant", "all", "--duration", "300000", "--json"]);
    expect(r.status, r.stderr).toBe(0);
    const docs = r.stdout.trim().split("\n").map((l) => JSON.parse(l) as { results: Array<{ variant: string; interrupts: unknown }>; perf: Array<{ variant: string }> });
    expect(docs.map((d) => d.results[0]!.variant)).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic", "alias-4.9", "getter-4.9"]);
    expect(docs.slice(6).map((d) => d.perf[0]!.variant)).toEqual(["alias-4.9", "getter-4.9"]);
    // the same design: the same interrupts as xen-4.9's
    expect(docs[6]!.results[0]!.interrupts).toEqual(docs[3]!.results[0]!.interrupts);
    expect(docs[7]!.results[0]!.interrupts).toEqual(docs[3]!.results[0]!.interrupts);
    const t = vgic(["run", "workloads/lr-overflow.json", "--variants", file, "--variant", "alias-4.9", "--duration", "300000"]);
    expect(t.stdout).toMatch(/^== lr-overflow on alias-4\.9 /m);
    expect(t.stdout).not.toMatch(/xen-4\.9/);
  }, 60_000);
});

describe("a user's module that loads on the calling thread and not on a worker", () => {
  it("is bad input in run, fuzz and explore, as it would be on one thread: exit 2, the file named, no internal error", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-onlymain-"));
    const file = join(dir, "calling-thread-only.mjs");
    writeFileSync(file, `import { isMainThread } from "node:worker_threads";
if (!isMainThread) throw new Error("not on a worker");
export const variants = [];
`);
    const why = /--variants \S+calling-thread-only\.mjs: cannot load: not on a worker \(loading it again on a worker thread; the calling thread had loaded it\)/;
    // on one thread each command runs (the module loads)
    const one = vgic(["run", "workloads/lr-overflow.json", "--variants", file, "--variant", "xen-4.9", "--duration", "300000", "--json"]);
    expect(one.status, one.stderr).toBe(0);
    const r = vgic(["run", "workloads/lr-overflow.json", "--variants", file, "--variant", "all", "--duration", "300000", "--workers", "2"]);
    expect(r.status, r.stderr).toBe(2);
    // however many variants this thread ran before the worker failed (all
    // of them, or some: the rest say they were not run)
    expect(r.stderr).toMatch(new RegExp(`^vgic run: ${why.source}$`, "m"));
    expect(r.stderr.match(/^vgic run: .*$/gm)!.filter((l) => !/: not run: a worker thread could not load the user's modules$/.test(l))).toHaveLength(1);
    const printed = [...r.stdout.matchAll(/^== lr-overflow on (\S+)/gm)].map((m) => m[1]);
    const notRun = [...r.stderr.matchAll(/^vgic run: (\S+): not run: /gm)].map((m) => m[1]);
    expect([...printed, ...notRun].sort()).toEqual(["new-vgic", "v3-fixed", "v3-posted", "xen-4.8", "xen-4.9", "xen-4.9-no-wmb"]);
    expect(r.stderr).not.toMatch(/internal error|exited with status/);
    const f = vgic(["fuzz", "--target", "vgic", "--variants", file, "--cases", "4", "--workers", "2", "--out", join(dir, "fz")]);
    expect(f.status, f.stderr).toBe(2);
    expect(f.stderr).toMatch(new RegExp(`^vgic fuzz: ${why.source}$`, "m"));
    expect(f.stderr).not.toMatch(/internal error|exited with status/);
    const m = vgic(["explore", "--matrix", "--variants", file, "--variant", "xen-4.9", "--budget", "5", "--bound", "0", "--workers", "2"]);
    expect(m.status, m.stderr).toBe(2);
    expect(m.stderr).toMatch(new RegExp(`^vgic explore: ${why.source}$`, "m"));
    expect(m.stderr).not.toMatch(/internal error|exited with status/);
  }, 120_000);
});

describe("a reader that goes away", () => {
  it("ends the command quietly with a broken pipe's status (141), not a stack trace or a 0", () => {
    // `vgic run ... | head -1`: the reader closes the pipe after one line
    const err = join(mkdtempSync(join(tmpdir(), "vgic-epipe-")), "err.txt");
    const s = spawnSync("bash", ["-c", `node build/vgic.mjs run workloads/seed-migrate.json --duration 300000 2>${err} | head -1 >/dev/null; echo \${PIPESTATUS[0]}`], { encoding: "utf8" });
    expect(s.stdout.trim()).toBe("141");
    expect(readFileSync(err, "utf8")).not.toMatch(/EPIPE|\n\s+at /);
  });
});
