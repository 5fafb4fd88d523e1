// The web page in a real browser (headless Chromium): loading it, exploring
// rank-abba on xen-4.8 from a shared URL until the seed's deadlock shows,
// stepping through it, replaying a counterexample file written by the Node
// side, and running a register script. The page must tell the same story
// as the library under Node: same narrative lines, same trace hash.

import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import type { Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { explore } from "../host/explore/engine.ts";
import { toReplayFile } from "../host/explore/replay.ts";
import { BROKE_WORDS } from "../host/explore/search.ts";
import { build, type PluginBuild } from "esbuild";
import { webBuildOptions } from "../scripts/web-build.mjs";
import { fuzz } from "../host/fuzz/engine.ts";
import { Gic } from "../host/hw/gic.ts";
import { parseScript, runScript } from "../host/hw/script.ts";
import { scenarioNamed } from "../host/xen/scenarios.ts";
import { parseWorkload } from "../host/workload/schema.ts";
import { runWorkload } from "../host/workload/runner.ts";
import { formatResult } from "../host/workload/format.ts";
import { serve, webRoot } from "../host/web/serve.ts";
import { ensureChromium, launch } from "./browser.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const browser = ensureChromium();
if ("skip" in browser) process.stderr.write(`tests/web-page.test.ts: ${browser.skip}\n`);

describe.skipIf("skip" in browser)("web page in headless Chromium", () => {
  let server: Server;
  let ctx: BrowserContext;
  let base: string;
  const errors: string[] = [];

  beforeAll(async () => {
    server = await serve(webRoot(), 0);
    const a = server.address();
    base = `http://127.0.0.1:${typeof a === "object" && a !== null ? a.port : 0}/`;
    ctx = await launch((browser as { path: string }).path);
  }, 60_000);
  afterAll(async () => {
    await ctx?.close();
    server?.close();
  });

  async function open(hash: string): Promise<Page> {
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.goto(base + hash);
    return page;
  }

  /** On the Workload tab, idle-timer made to run until stopped (480 s of
   *  guest time), started and seen running. */
  async function startLongWorkload(page: Page): Promise<void> {
    await page.click("nav button[data-tab=workload]");
    await page.selectOption("#workload-name", "idle-timer");
    await page.fill("#workload-text", (await page.inputValue("#workload-text")).replace(/"duration": \d+/, '"duration": 480000000000'));
    await page.click("#workload-run");
    await page.waitForFunction(() => /running idle-timer under/.test(document.getElementById("workload-status")!.textContent ?? ""));
  }

  it("a shared link explores rank-abba on xen-4.8 and shows the deadlock, its story and timeline", async () => {
    const page = await open("#scenario=rank-abba&variant=xen-4.8&run=1");
    await page.waitForSelector("body[data-state=done]", { timeout: 30_000 });
    const { readyMs, exploreMs } = await page.evaluate(() => ({ ...document.body.dataset }));
    process.stderr.write(`web page: ready ${readyMs} ms after navigation, rank-abba on xen-4.8 explored in ${exploreMs} ms\n`);

    // the same counterexample as the library finds under Node, line for line
    const node = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const lines = await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent));
    expect(lines).toEqual(node.narrative);
    expect(await page.textContent("#explore-results")).toMatch(/deadlock,lock-inversion/);
    expect(lines.some((l) => /DEADLOCK: pCPU1 waits for pCPU0/.test(l!))).toBe(true);

    // it opens at the deadlock: the ABBA of the thread, rank then vgic on
    // pCPU0 (ITARGETSR write), vgic then rank on pCPU1 (gic_update_one_lr)
    const cur = await page.textContent("#narrative li.cur");
    expect(cur).toMatch(/DEADLOCK/);
    const state = await page.textContent("#state");
    expect(state).toMatch(/pCPU0: SPINS on d1v1\.vgic.*in pCPU0 > vgic_v2_distr_mmio_write.*holds d1\.rank1/);
    expect(state).toMatch(/pCPU1: SPINS on d1\.rank1.*gic_clear_lrs > gic_update_one_lr.*holds d1v1\.vgic/);
    expect(state).toMatch(/d1\.rank1: pCPU0, spun on by pCPU1/);

    // step back to the start: IRQ 40 is MIGRATING in pCPU1's LR0, as the scenario set it up
    await page.keyboard.press("Home");
    expect(await page.textContent("#step-no")).toBe(`1 / ${lines.length}`);
    const x0 = Number(await page.getAttribute("#cursor", "x"));
    expect(await page.textContent("#state")).toMatch(/IRQ 40: VISIBLE\|ENABLED\|MIGRATING LR0/);
    await page.click("#next");
    expect(await page.textContent("#step-no")).toBe(`2 / ${lines.length}`);
    // the timeline has a column per step and the cursor moves with it
    expect(await page.locator("#timeline g[data-step]").count()).toBeGreaterThan(lines.length * 10);
    expect(Number(await page.getAttribute("#cursor", "x"))).toBeGreaterThan(x0);

    await page.keyboard.press("End");
    mkdirSync(join(root, "build", "screenshots"), { recursive: true });
    await page.keyboard.press("ArrowLeft");
    await page.keyboard.press("ArrowLeft");
    await page.screenshot({ path: join(root, "build", "screenshots", "web.png") });
    // the share link replays this exact schedule
    const share = `#scenario=rank-abba&variant=xen-4.8&strategy=dfs&bound=2&budget=3000&seed=1&schedule=${encodeURIComponent(node.schedule)}&run=1`;
    expect(await page.getAttribute("#share", "href")).toBe(share);
    // ... also once the form says otherwise: the link is the run's, not the form's
    await page.selectOption("#memory", "weak");
    await page.fill("#budget", "7");
    await page.click("#explore-results tr.pick");
    expect(await page.getAttribute("#share", "href")).toBe(share);
    await page.close();
    expect(errors).toEqual([]);
  }, 60_000);

  it("a link with memory=weak-acq-rel explores the barrier race under weak memory and shows the stale read, as vgic explore does", async () => {
    const page = await open("#scenario=affinity-barrier&variant=xen-4.9-no-wmb&budget=2000&memory=weak-acq-rel&run=1");
    await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
    expect(await page.inputValue("#memory")).toBe("weak-acq-rel");
    const node = explore({ scenario: scenarioNamed("affinity-barrier"), variant: "xen-4.9-no-wmb", budget: 2000, memory: "weak", lockBarrier: "acq-rel" }).counterexample!;
    const lines = await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent));
    expect(lines).toEqual(node.narrative);
    expect(lines.some((l) => /pCPU1: reads IRQ40\.inflight = d1v0/.test(l!))).toBe(true);
    // the share link keeps the memory model, and replaying it shows the same story
    const href = (await page.getAttribute("#share", "href"))!;
    expect(href).toContain("&memory=weak-acq-rel&schedule=");
    await page.goto(`${base}${href}`);
    await page.reload();
    await page.waitForSelector("body[data-state=done]", { timeout: 60_000 });
    expect(await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).toEqual(node.narrative);
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);

  it("a schedule in the link is replayed without searching; a bad one is named", async () => {
    const node = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const page = await open(`#scenario=rank-abba&variant=xen-4.8&schedule=${encodeURIComponent(node.schedule)}&run=1`);
    await page.waitForSelector("body[data-state=done]", { timeout: 30_000 });
    expect(await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).toEqual(node.narrative);
    expect(await page.textContent("#explore-status .bad")).toBe("deadlock, lock-inversion");
    // decisions left over are refused as vgic explore --replay refuses them (exit 2), not shown as a run
    await page.goto(`${base}#scenario=rank-abba&variant=xen-4.8&schedule=${encodeURIComponent(`${node.schedule},0,0`)}&run=1`);
    await page.waitForFunction(() => /link: /.test(document.getElementById("explore-status")!.textContent ?? ""));
    expect(await page.textContent("#explore-status")).toMatch(/^link: field 'schedule': expected the decisions of a run of rank-abba under xen-4.8, got one that does not fit/);
    expect(await page.isHidden("#story")).toBe(true);
    await page.goto(`${base}#scenario=rank-abbba&variant=xen-4.8&run=1`);
    expect(await page.textContent("#explore-status")).toMatch(/link: scenario: expected one of rank-abba, .*got "rank-abbba"/);
    await page.close();
  }, 60_000);

  it("replays a counterexample file written under Node: same finding kinds and trace hash", async () => {
    const c = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const dir = mkdtempSync(join(tmpdir(), "vgic-web-"));
    const file = join(dir, "rank-abba.xen-4.8.json");
    writeFileSync(file, JSON.stringify(toReplayFile(c), null, 2));
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=replay]");
    await page.setInputFiles("#replay-file", file);
    await page.waitForFunction(() => /reproduced/.test(document.getElementById("replay-status")!.textContent ?? ""));
    expect(await page.textContent("#replay-status")).toBe(`reproduced: same finding kinds, trace hash ${c.traceHash}`);
    // it still fails (vgic explore --replay exits 1): a failure, not a pass
    expect(await page.getAttribute("#replay-status span", "class")).toBe("bad");
    expect(await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).toEqual(c.narrative);
    // its link opens the Explore tab and replays the same schedule there
    await page.click("#share");
    await page.waitForFunction(() => !document.getElementById("tab-explore")!.hidden && document.body.dataset.state === "done");
    expect(await page.textContent("#story-title")).toBe(`rank-abba under xen-4.8: schedule ${c.schedule}`);
    expect(await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).toEqual(c.narrative);
    await page.click("nav button[data-tab=replay]");

    // a tampered file is not reproduced, and a malformed one names its field
    const tampered = join(dir, "tampered.json");
    writeFileSync(tampered, JSON.stringify({ ...toReplayFile(c), traceHash: "0".repeat(64) }));
    await page.setInputFiles("#replay-file", tampered);
    await page.waitForFunction(() => /NOT reproduced/.test(document.getElementById("replay-status")!.textContent ?? ""));
    expect(await page.textContent("#replay-status")).toMatch(/trace hash differs: saved 0{64}/);
    const malformed = join(dir, "malformed.json");
    writeFileSync(malformed, JSON.stringify({ ...toReplayFile(c), schedule: 7 }));
    await page.setInputFiles("#replay-file", malformed);
    await page.waitForFunction(() => /field/.test(document.getElementById("replay-status")!.textContent ?? ""));
    expect(await page.textContent("#replay-status")).toMatch(/field 'schedule': expected a schedule string/);
    // the tampered file's story is not left under the refused one
    expect(await page.isHidden("#story")).toBe(true);
    await page.close();
  }, 60_000);

  it("a counterexample found with a GIC latency or under weak memory replays with it, and its link carries it", async () => {
    // lr-pending-migrate livelocks on xen-4.9 only with a latency (tests/maintenance-livelock.test.ts)
    const c = explore({ scenario: scenarioNamed("lr-pending-migrate"), variant: "xen-4.9", gicLatency: 300, budget: 1000 }).counterexample!;
    const weak = explore({ scenario: scenarioNamed("affinity-barrier"), variant: "xen-4.9-no-wmb", budget: 2000, memory: "weak", lockBarrier: "acq-rel" }).counterexample!;
    const dir = mkdtempSync(join(tmpdir(), "vgic-web-"));
    writeFileSync(join(dir, "latency.json"), JSON.stringify(toReplayFile(c, { gicLatency: 300 })));
    writeFileSync(join(dir, "weak.json"), JSON.stringify(toReplayFile(weak, { memory: "weak", lockBarrier: "acq-rel" })));
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    const story = () => page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent));
    for (const [name, node, param] of [["latency.json", c, "&latency=300"], ["weak.json", weak, "&memory=weak-acq-rel"]] as const) {
      await page.click("nav button[data-tab=replay]");
      await page.setInputFiles("#replay-file", join(dir, name));
      await page.waitForFunction((n) => (document.getElementById("story-title")!.textContent ?? "").startsWith(n), name);
      expect(await page.textContent("#replay-status")).toBe(`reproduced: same finding kinds, trace hash ${node.traceHash}`);
      // the link had neither: it named a run the schedule does not fit
      const href = (await page.getAttribute("#share", "href"))!;
      expect(href).toBe(`#scenario=${node.scenario}&variant=${node.variant}${param}&schedule=${encodeURIComponent(node.schedule)}&run=1`);
      await page.click("#share");
      await page.waitForFunction(() => !document.getElementById("tab-explore")!.hidden && document.body.dataset.state === "done");
      expect(await page.textContent("#story-title")).toBe(`${node.scenario} under ${node.variant}: schedule ${node.schedule}`);
      expect(await story()).toEqual(node.narrative);
    }
    expect(c.narrative.at(-1)).toMatch(/finding livelock/);
    // the form shows what the link ran with; a link without them means sc and no latency
    expect(await page.inputValue("#memory")).toBe("weak-acq-rel");
    await page.goto(`${base}#scenario=lr-pending-migrate&variant=xen-4.9&latency=300&schedule=${encodeURIComponent(c.schedule)}&run=1`);
    await page.waitForFunction(() => document.body.dataset.state === "done" && /livelock/.test(document.getElementById("explore-status")!.textContent ?? ""));
    expect([await page.inputValue("#latency"), await page.inputValue("#memory")]).toEqual(["300", "sc"]);
    await page.goto(`${base}#scenario=rank-abba&variant=xen-4.8`);
    await page.waitForFunction(() => (document.getElementById("latency") as HTMLInputElement).value === "0");
    // the search takes it too: the livelock after the schedules vgic explore needs, and the share link keeps it
    await page.goto(`${base}#scenario=lr-pending-migrate&variant=xen-4.9&strategy=dfs&bound=2&budget=1000&seed=1&latency=300&run=1`);
    await page.waitForFunction(() => document.body.dataset.state === "done" && !document.getElementById("story")!.hidden, undefined, { timeout: 60_000 });
    expect(await story()).toEqual(c.narrative);
    expect(await page.getAttribute("#share", "href")).toBe(`#scenario=lr-pending-migrate&variant=xen-4.9&strategy=dfs&bound=2&budget=1000&seed=1&latency=300&schedule=${encodeURIComponent(c.schedule)}&run=1`);
    // a bad latency is refused in the command line's words
    await page.goto(`${base}#scenario=rank-abba&variant=xen-4.8&latency=-5&run=1`);
    await page.waitForFunction(() => /link: /.test(document.getElementById("explore-status")!.textContent ?? ""));
    expect(await page.textContent("#explore-status")).toBe("link: --gic-latency: expected an integer from 0 to 1000000, got '-5'");
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);

  it("a link's numbers in hex, as vgic explore takes them, run as given: the form's number fields would drop them", async () => {
    // --gic-latency 0x12c is 300 cycles to the command line; the latency
    // field holds no hex, and an emptied field meant no latency at all
    const c = explore({ scenario: scenarioNamed("lr-pending-migrate"), variant: "xen-4.9", gicLatency: 300, budget: 1000 }).counterexample!;
    const page = await open("#scenario=lr-pending-migrate&variant=xen-4.9&strategy=dfs&bound=0x2&budget=0x3e8&seed=1&latency=0x12c&run=1");
    await page.waitForFunction(() => document.body.dataset.state === "done" && !document.getElementById("story")!.hidden, undefined, { timeout: 60_000 });
    expect([await page.inputValue("#latency"), await page.inputValue("#budget"), await page.inputValue("#bound")]).toEqual(["300", "1000", "2"]);
    expect(await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).toEqual(c.narrative);
    expect(await page.getAttribute("#share", "href")).toBe(`#scenario=lr-pending-migrate&variant=xen-4.9&strategy=dfs&bound=2&budget=1000&seed=1&latency=300&schedule=${encodeURIComponent(c.schedule)}&run=1`);
    // a schedule link too: replayed with the latency, not refused as a schedule that does not fit
    await page.goto(`${base}#scenario=lr-pending-migrate&variant=xen-4.9&latency=0x12c&schedule=${encodeURIComponent(c.schedule)}&run=1`);
    await page.waitForFunction(() => document.body.dataset.state === "done" && /replayed in/.test(document.getElementById("explore-status")!.textContent ?? ""));
    expect(await page.textContent("#explore-status")).toMatch(/livelock/);
    await page.close();
    expect(errors).toEqual([]);
  }, 120_000);

  it("a replay that broke (an exception the file does not record) is said so in its own colour, neither a failure found nor a pass", async () => {
    // no built-in scenario and design ends in an exception: the page's worker
    // is bundled again with a design that throws (tests/scenarios/throwing-variant.mjs)
    const dir = mkdtempSync(join(tmpdir(), "vgic-web-"));
    const web = webBuildOptions();
    const library = { name: "library", setup: (b: PluginBuild) => { b.onResolve({ filter: /\/build\/lib\.mjs$/ }, () => ({ path: join(root, "host", "xen", "vgic.ts") })); } };
    await build({ ...web, plugins: [...web.plugins, library], entryPoints: [join(root, "tests", "scenarios", "throwing-worker.mjs")], outfile: join(dir, "worker.js") });
    const { MESSAGE } = await import(join(root, "tests", "scenarios", "throwing-variant.mjs")) as { MESSAGE: string };
    const c = explore({ scenario: scenarioNamed("rank-abba"), variant: "xen-4.8" }).counterexample!;
    const page = await ctx.newPage();
    page.on("pageerror", (e) => errors.push(e.message));
    await page.route("**/worker.js", (r) => r.fulfill({ path: join(dir, "worker.js"), contentType: "text/javascript" }));
    await page.goto(base);
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=replay]");
    const replay = async (name: string, file: object) => {
      writeFileSync(join(dir, name), JSON.stringify(file));
      await page.setInputFiles("#replay-file", join(dir, name));
      await page.waitForFunction((n) => (document.getElementById("story-title")!.textContent ?? "").startsWith(n), name);
      return { text: await page.textContent("#replay-status"), verdict: await page.getAttribute("#replay-status", "data-verdict"),
        colours: await page.$$eval("#replay-status span", (ss) => ss.map((x) => x.className)) };
    };
    // the counterexample under its own design still fails: red, as before
    expect(await replay("c.json", toReplayFile(c))).toEqual({ text: `reproduced: same finding kinds, trace hash ${c.traceHash}`, verdict: "fails", colours: ["bad"] });
    // under the design that throws, vgic explore --replay says "NOT
    // reproduced: the run failed: ..." and exits 3 (tests/web-worker.test.ts):
    // the page says what that status means, in amber, not red
    expect(await replay("broke.json", { ...toReplayFile(c), variant: "xen-4.8-throws" })).toEqual({
      text: `NOT reproduced: the run failed: ${MESSAGE}; ${BROKE_WORDS}`, verdict: "broke", colours: ["broke", "broke"],
    });
    expect(await page.$eval("#replay-status span", (x) => getComputedStyle(x).color)).toBe("rgb(206, 92, 0)");
    // its story ends in the exception
    expect((await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent))).some((l) => l!.includes(MESSAGE))).toBe(true);
    await page.close();
    expect(errors).toEqual([]);
  }, 60_000);

  it("replays a fuzz finding file to the same violation, and says so when it does not", async () => {
    // a planted fault (host/fuzz/faults.ts): clear-enable writes are ignored
    const f = fuzz({ target: "hw", seed: 7, cases: 10_000, faults: ["ignore-w1c"], stopOnFinding: true }).findingsList[0]!;
    const dir = mkdtempSync(join(tmpdir(), "vgic-web-"));
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=replay]");
    const status = async (file: string, body: unknown) => {
      writeFileSync(join(dir, file), JSON.stringify(body));
      await page.setInputFiles("#replay-file", join(dir, file));
      await page.waitForFunction((n) => (document.getElementById("story-title")!.textContent ?? "").startsWith(n), file);
      return page.textContent("#replay-status");
    };
    expect(await status("finding.json", f)).toBe("reproduced: same violation at the same operation");
    expect(await page.getAttribute("#replay-status span", "class")).toBe("bad");
    const lines = await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent));
    expect(lines.at(-1)).toBe(`${String(lines.length).padStart(3)}. violation ${f.violation.invariant} at operation ${f.violation.op}: ${f.violation.message}`);
    expect(await page.textContent("#narrative li.cur")).toBe(lines.at(-1));
    // without the fault the real model does not fail there
    expect(await status("clean.json", { ...f, faults: [] })).toBe("NOT reproduced: no violation now");
    // vgic fuzz --replay exits 0, and the story does not end in the recorded violation
    expect(await page.getAttribute("#replay-status span", "class")).toBe("ok");
    const clean = await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent));
    expect(clean).toEqual(lines.slice(0, -1));
    expect(await page.locator("#narrative li.finding").count()).toBe(0);
    await page.close();
  }, 60_000);

  it("steps through a vgic fuzz finding with its timeline", async () => {
    // fixed seed: xen-4.8's rank/vgic inversion, shrunk to a few operations (as tests/fuzz-vgic.test.ts)
    const f = fuzz({ target: "vgic", seed: 1, cases: 150, params: { variant: "xen-4.8" }, shrinkBudget: 300, improve: 1, stopOnFinding: true })
      .findingsList.find((x) => x.violation.invariant === "lock-inversion-rank-vgic")!;
    expect(f).toBeDefined();
    const dir = mkdtempSync(join(tmpdir(), "vgic-web-"));
    writeFileSync(join(dir, "vgic-finding.json"), JSON.stringify(f));
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=replay]");
    await page.setInputFiles("#replay-file", join(dir, "vgic-finding.json"));
    await page.waitForFunction(() => (document.getElementById("story-title")!.textContent ?? "").startsWith("vgic-finding.json"));
    expect(await page.textContent("#replay-status")).toBe("reproduced: same violation at the same operation");
    const lines = (await page.$$eval("#narrative li", (ls) => ls.map((l) => l.textContent)))!;
    expect(lines.at(-1)).toMatch(/violation lock-inversion-rank-vgic at operation \d+: lock order inversion/);
    // the run takes a rank lock and a vgic lock in both orders: both appear in the story
    expect(lines.some((l) => /takes d1\.rank\d/.test(l!))).toBe(true);
    expect(lines.some((l) => /takes d1v\d\.vgic/.test(l!))).toBe(true);
    expect(await page.locator("#timeline g[data-step]").count()).toBeGreaterThan(lines.length * 5);
    expect(await page.textContent("#state")).toMatch(/pCPUs.*pCPU0: /);
    expect(await page.isHidden("#share")).toBe(true);
    mkdirSync(join(root, "build", "screenshots"), { recursive: true });
    await page.screenshot({ path: join(root, "build", "screenshots", "vgic-finding.png") });
    await page.close();
  }, 60_000);

  it("runs a register script and prints the reads as vgic mmio does", async () => {
    const text = readFileSync(join(root, "examples", "sgi-roundtrip.gic"), "utf8");
    const want: string[] = [];
    runScript(Gic.create(), parseScript(text), (s) => want.push(s));
    expect(want.length).toBeGreaterThan(0);
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=mmio]");
    await page.selectOption("#mmio-example", "sgi-roundtrip");
    await page.click("#mmio-form button[type=submit]");
    await page.waitForFunction(() => (document.getElementById("mmio-out")!.textContent ?? "") !== "");
    expect((await page.textContent("#mmio-out"))!.split("\n")).toEqual(want);
    await page.fill("#mmio-text", "r32 0x08000004\nw32 0x08000000\n");
    await page.click("#mmio-form button[type=submit]");
    await page.waitForFunction(() => /script:2:/.test(document.getElementById("mmio-out")!.textContent ?? ""));
    expect(await page.textContent("#mmio-out")).toMatch(/script:2: /);
    // an error part-way: the reads before it stay, as vgic mmio prints them
    await page.fill("#mmio-text", "r32 0x08000004\ncpu 3\nr32 0x08000004\n");
    await page.click("#mmio-form button[type=submit]");
    await page.waitForFunction(() => /CPU 3/.test(document.getElementById("mmio-out")!.textContent ?? ""));
    expect(await page.textContent("#mmio-out")).toBe("0x08000004 = 0x00000008\nscript:2: CPU 3 does not exist (this GIC has 1)");
    await page.close();
  }, 60_000);

  it("runs a workload and shows the HTML report's plots and vgic run's numbers", async () => {
    const text = readFileSync(join(root, "workloads", "idle-timer.json"), "utf8");
    const want = formatResult(runWorkload(parseWorkload(text), { variant: "xen-4.8" }).result).split("\n");
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=workload]");
    await page.selectOption("#workload-name", "idle-timer");
    await page.selectOption("#workload-variant", "xen-4.8");
    await page.click("#workload-form button[type=submit]");
    await page.waitForSelector("#workload-report:not([hidden])", { timeout: 30_000 });
    // the same numbers as under Node; only the wall-clock line differs
    const got = (await page.textContent("#workload-out"))!.split("\n").filter((l) => !l.startsWith("wall "));
    expect(got).toEqual(want);
    expect(want.join("\n")).toMatch(/tick \(timer\)\s+40\s+40/);
    const report = page.frameLocator("#workload-report");
    expect(await report.locator("svg.plot.hist").count()).toBe(1);
    expect(await report.locator("svg.plot").count()).toBeGreaterThan(1);
    await page.close();
  }, 60_000);

  it("works offline once loaded, also after Stop restarts the worker", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await ctx.setOffline(true);
    try {
      expect(await page.evaluate(() => fetch("page.css?x").then(() => "online", () => "offline"))).toBe("offline");
      await page.selectOption("#scenario", "lr-pending-migrate");
      await page.click("#run"); // every design: long enough to stop
      await page.waitForFunction(() => document.body.dataset.state === "exploring");
      await page.click("#run");
      await page.waitForFunction(() => document.body.dataset.state === "done");
      // designs that never ran are not reported as explored
      const st = (await page.textContent("#explore-status"))!;
      const done = Number(/^stopped after (\d) of 6 designs/.exec(st)?.[1]);
      expect(st).not.toMatch(/no counterexample/);
      const outcomes = await page.$$eval("#explore-results tr[data-v] td:nth-child(2)", (ts) => ts.map((t) => t.textContent));
      expect(outcomes.slice(done)).toEqual(["stopped", ...Array(5 - done).fill("not run")]);
      await page.click("nav button[data-tab=mmio]");
      await page.fill("#mmio-text", "r32 0x08000004\n");
      await page.click("#mmio-form button[type=submit]");
      await page.waitForFunction(() => (document.getElementById("mmio-out")!.textContent ?? "") !== "");
      // GICD_TYPER of the default configuration: ITLinesNumber 8 (288 IDs), one CPU (IHI 0048B 4.3.2)
      expect(await page.textContent("#mmio-out")).toBe("0x08000004 = 0x00000008");
    } finally {
      await ctx.setOffline(false);
    }
    await page.close();
  }, 60_000);

  it("refuses a link's bad numbers in the words of vgic explore, and says ok only for an exhausted search", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    const refused = async (hash: string) => {
      await page.goto(base + hash);
      await page.waitForFunction(() => /link: /.test(document.getElementById("explore-status")!.textContent ?? ""));
      expect(await page.textContent("#explore-results")).toBe("");
      return page.textContent("#explore-status");
    };
    // the texts vgic explore prints for the same options (tests/web-worker.test.ts compares them with the command)
    expect(await refused("#scenario=rank-abba&variant=xen-4.8&bound=-1&run=1")).toBe("link: --bound: expected an integer from 0 to 20, got '-1'");
    expect(await refused("#scenario=rank-abba&variant=xen-4.8&budget=0&run=1")).toBe("link: --budget: expected an integer from 1 to 1000000000, got '0'");
    expect(await refused("#scenario=rank-abba&variant=xen-4.8&strategy=pct&budget=-3&run=1")).toBe("link: --budget: expected an integer from 1 to 1000000000, got '-3'");
    expect(await refused("#scenario=rank-abba&variant=xen-4.8&strategy=foo&run=1")).toBe("link: --strategy: expected dfs, pct, random, got 'foo'");
    // an empty box is refused as an empty --budget is
    await page.fill("#budget", "");
    await page.click("#run");
    expect(await page.textContent("#explore-status")).toBe("--budget: expected an integer from 1 to 1000000000, got ''");

    // the verdicts of vgic explore --matrix: rank-abba on xen-4.9 is ok (exhausted) after 851 schedules (the README's matrix)
    const outcome = async (hash: string) => {
      await page.goto(base + hash);
      await page.waitForFunction(() => document.body.dataset.state === "done" && /^explored/.test(document.getElementById("explore-status")!.textContent ?? ""));
      return page.$eval("#explore-results tr[data-v] td:nth-child(2)", (t) => [t.textContent, t.querySelector(".ok") !== null]);
    };
    expect(await outcome("#scenario=rank-abba&variant=xen-4.9&strategy=dfs&budget=5&run=1")).toEqual(["none found (budget spent)", false]);
    expect(await outcome("#scenario=rank-abba&variant=xen-4.9&strategy=pct&budget=3&seed=1&run=1")).toEqual(["none found (sampled)", false]);
    expect(await outcome("#scenario=rank-abba&variant=xen-4.9&strategy=dfs&budget=3000&run=1")).toEqual(["ok (exhausted)", true]);
    await page.close();
  }, 60_000);

  it("a link opened while exploring replaces the exploration; a new one clears the last one's status at once", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.selectOption("#scenario", "lr-pending-migrate");
    await page.click("#run"); // every design: long enough to be running when the link comes
    await page.waitForFunction(() => document.body.dataset.state === "exploring");
    await page.evaluate(() => { location.hash = "#scenario=rank-abba&variant=xen-4.8&run=1"; });
    await page.waitForFunction(() => /^explored 1 design/.test(document.getElementById("explore-status")!.textContent ?? ""));
    expect(await page.$$eval("#explore-results tr[data-v]", (ts) => ts.map((t) => t.textContent))).toEqual([expect.stringMatching(/^xen-4\.8deadlock,lock-inversion/)]);
    expect(await page.textContent("#story-title")).toMatch(/^rank-abba under xen-4\.8: counterexample/);
    // the next exploration's status replaces this one's before any progress
    const first = await page.evaluate(() => { document.getElementById("run")!.click(); return document.getElementById("explore-status")!.textContent; });
    expect(first).toMatch(/^exploring rank-abba/);
    await page.close();
  }, 60_000);

  it("a long workload can be stopped from its tab, and the worker answers again", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await startLongWorkload(page);
    expect(await page.textContent("#workload-run")).toBe("Stop");
    await page.click("#workload-run");
    await page.waitForFunction(() => document.getElementById("workload-status")!.textContent === "stopped");
    expect(await page.textContent("#workload-run")).toBe("Run");
    expect(await page.isHidden("#workload-report")).toBe(true);
    await page.click("nav button[data-tab=mmio]");
    await page.fill("#mmio-text", "r32 0x08000004\n");
    await page.click("#mmio-form button[type=submit]");
    await page.waitForFunction(() => (document.getElementById("mmio-out")!.textContent ?? "") !== "");
    expect(await page.textContent("#mmio-out")).toBe("0x08000004 = 0x00000008");
    await page.close();
  }, 60_000);

  it("Stop pressed before the tab's worker has said hello stops the run, and the tab runs again", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    await page.click("nav button[data-tab=workload]");
    await page.selectOption("#workload-name", "idle-timer");
    // Run, then Stop in the same task: the tab's worker is still starting
    // (its start waited for ever and the tab stayed "running")
    await page.evaluate(() => { const b = document.getElementById("workload-run")!; b.click(); b.click(); });
    await page.waitForFunction(() => document.getElementById("workload-status")!.textContent === "stopped");
    expect(await page.textContent("#workload-run")).toBe("Run");
    // and a second run completes
    await page.click("#workload-run");
    await page.waitForFunction(() => document.getElementById("workload-status")!.textContent === "done", undefined, { timeout: 30_000 });
    expect(await page.textContent("#workload-run")).toBe("Run");
    expect(await page.textContent("#workload-out")).toMatch(/idle-timer/);
    await page.close();
  }, 60_000);

  it("Stop ends only the run of its own tab: a workload and an exploration go on while the other is stopped", async () => {
    const page = await open("");
    await page.waitForSelector("body[data-ready-ms]");
    const workloadStatus = () => page.textContent("#workload-status");
    await startLongWorkload(page);

    // Stop on the Workload tab while the Explore tab runs: the exploration
    // is not cut short (it said "stopped after 0 of 1 design"). A search of
    // seconds (its deadlock comes after some 3,900 schedules): rank-abba's
    // came so soon that on a loaded machine the search could end before
    // this test saw it run, and the wait for it never ended
    await page.click("nav button[data-tab=explore]");
    await page.evaluate(() => { location.hash = "#scenario=stale-target-inject&variant=xen-4.8&budget=6000&run=1"; });
    await page.waitForFunction(() => document.body.dataset.state === "exploring");
    await page.click("nav button[data-tab=workload]");
    // what the Explore tab was doing when Stop was pressed
    const atStop = await page.evaluate(() => { const s = document.body.dataset.state; document.getElementById("workload-run")!.click(); return s; });
    expect(atStop).toBe("exploring");
    await page.waitForFunction(() => document.getElementById("workload-status")!.textContent === "stopped");
    await page.waitForFunction(() => document.body.dataset.state === "done", undefined, { timeout: 60_000 });
    expect(await page.textContent("#explore-status")).toMatch(/^explored 1 design in /);
    expect(await page.$$eval("#explore-results tr[data-v]", (ts) => ts.map((t) => t.textContent))).toEqual([expect.stringMatching(/^xen-4\.8deadlock,lockdep/)]);

    // Stop on the Explore tab while a workload runs: the workload goes on
    await startLongWorkload(page);
    await page.click("nav button[data-tab=explore]");
    await page.selectOption("#scenario", "lr-pending-migrate");
    // every design: long enough to stop
    await page.$$eval("#variants input", (is) => is.forEach((i) => { (i as HTMLInputElement).checked = true; }));
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.state === "exploring");
    await page.click("#run");
    await page.waitForFunction(() => document.body.dataset.state === "done");
    expect(await page.textContent("#explore-status")).toMatch(/^stopped after \d of 6 designs/);
    expect(await workloadStatus()).toMatch(/^running idle-timer under/);
    expect(await page.textContent("#workload-run")).toBe("Stop");
    // ... and still reports progress
    const before = await page.getAttribute("#workload-status .bar i", "style");
    await page.waitForFunction((b) => document.querySelector("#workload-status .bar i")?.getAttribute("style") !== b, before);
    await page.click("nav button[data-tab=workload]");
    await page.click("#workload-run");
    await page.waitForFunction(() => document.getElementById("workload-status")!.textContent === "stopped");
    await page.close();
  }, 120_000);
});
