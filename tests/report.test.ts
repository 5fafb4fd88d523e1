// The HTML report, `vgic report` and the CSV export: latency CDFs overlaid
// across results with axes in cycles and microseconds, a timeline with a
// time axis and a legend, findings highlighted, labels that tell merged
// results apart, CSV that restates the results exactly, and (when Chromium
// is installed) a layout that fits an 800 px window with every plot label
// inside its plot.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { runWorkload, type WorkloadResult } from "../host/workload/runner.ts";
import { cdfSvg, fmt, latencyCsv, renderReport, resultLabels, sourcesCsv, us } from "../host/workload/report.ts";
import { validateWorkload } from "../host/workload/schema.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const SHORT = 2_400_000; // 1 ms at 2.4 GHz
const w = validateWorkload(JSON.parse(readFileSync(join(ROOT, "workloads", "seed-migrate.json"), "utf8")));
const results: WorkloadResult[] = [
  runWorkload(w, { variant: "xen-4.8", duration: SHORT }).result,
  runWorkload(w, { variant: "xen-4.9", duration: SHORT }).result,
  runWorkload(w, { variant: "xen-4.9", duration: SHORT, seed: 2 }).result,
];

describe("units and labels", () => {
  it("cycles print compactly and convert to microseconds at the profile's clock", () => {
    expect(fmt(950)).toBe("950");
    expect(fmt(12_300)).toBe("12.3k");
    expect(fmt(2_500_000)).toBe("2.5M");
    expect(us(2400, 2.4e9)).toBe("1.00"); // 2,400 cycles at 2.4 GHz: one microsecond
    expect(us(1200, 2.4e9)).toBe("0.50");
    expect(us(240_000, 2.4e9)).toBe("100");
  });

  it("results are told apart by what differs between them", () => {
    expect(resultLabels(results)).toEqual(["xen-4.8 (seed 1)", "xen-4.9 (seed 1)", "xen-4.9 (seed 2)"]);
    expect(resultLabels([results[0]!, results[1]!])).toEqual(["xen-4.8", "xen-4.9"]);
    expect(resultLabels([results[1]!, results[1]!])).toEqual(["xen-4.9 #1", "xen-4.9 #2"]);
  });
});

describe("the page", () => {
  const html = renderReport(results);

  it("overlays one CDF per result, rising to 1, with both axes titled and labelled in cycles and µs", () => {
    const cdf = cdfSvg(results, resultLabels(results), "handler");
    const lines = [...cdf.matchAll(/<polyline [^>]*points="([^"]+)"/g)].map((m) => m[1]!.split(" ").map((p) => p.split(",").map(Number)));
    expect(lines).toHaveLength(3);
    const yTop = Number(/<text x="[\d.]+" y="([\d.]+)"[^>]*>1\.00</.exec(cdf)![1]) - 4; // the 1.00 tick label sits 4 below its line
    for (const pts of lines) {
      const ys = pts.map((p) => p[1]!);
      for (let i = 1; i < ys.length; i++) expect(ys[i]!).toBeLessThanOrEqual(ys[i - 1]!); // never falls
      expect(ys.at(-1)).toBeCloseTo(yTop, 0); // all deliveries counted
      const xs = pts.map((p) => p[0]!);
      for (let i = 1; i < xs.length; i++) expect(xs[i]!).toBeGreaterThanOrEqual(xs[i - 1]!);
    }
    expect(cdf).toContain("fraction ≤ x");
    expect(cdf).toContain("raise to guest handler entry: cycles (log scale), µs at 2.4 GHz");
    expect(cdf).toMatch(/>10k<\/text><text[^>]*>4\.17 µs</); // 10,000 cycles at 2.4 GHz
    for (const l of resultLabels(results)) expect(cdf).toContain(`${l}: p50 `);
  });

  it("has a timeline with a time axis and a legend, the findings on top, tables that scroll rather than spill", () => {
    expect(html).toContain("time since the guest booted (ms)");
    expect(html).toMatch(/pCPU rows: the share of each window spent .*guest.*hyp.*idle/s);
    expect(html).toContain("interrupts delivered in the window");
    // xen-4.8 reports the rank/vgic lock inversion on the seed's scenario: highlighted before anything else
    const box = /<div class="findings-box">(.*?)<\/div>/s.exec(html);
    expect(box).not.toBeNull();
    expect(box![1]).toMatch(/xen-4\.8 \(seed 1\)<\/a>: <b>completed<\/b>; lock-inversion/);
    expect(box![1]).not.toContain("xen-4.9");
    expect(html.indexOf("findings-box")).toBeLessThan(html.indexOf("<h2>Comparison"));
    expect(html.match(/<div class="scroll"><table>/g)!.length).toBe(1 + results.length);
    expect(html).toMatch(/<svg class="plot hist"[^>]*viewBox="0 0 720 \d+"/);
  });
});

describe("CSV export", () => {
  it("carries each source's withdrawn raises (npm start's xen-4.9 run with a GIC latency of 50 cycles withdraws timer ticks)", () => {
    const whole = runWorkload({ ...w, machine: { ...w.machine, gicLatency: 50 } }, { variant: "xen-4.9" }).result;
    const tick = whole.interrupts.sources.find((x) => x.name === "tick")!;
    expect(tick.withdrawn).toBeGreaterThan(0);
    const [head, ...rows] = sourcesCsv([whole]).trim().split("\n").map((l) => l.split(","));
    const row = rows.find((x) => x[head!.indexOf("source")] === "tick")!;
    expect(Number(row[head!.indexOf("withdrawn")])).toBe(tick.withdrawn);
  });

  it("restates every source's counts and percentiles, and every latency bucket, cumulating to 1", () => {
    const s = sourcesCsv(results).trim().split("\n").map((l) => l.split(","));
    const head = s[0]!;
    const rows = s.slice(1);
    expect(rows).toHaveLength(results.reduce((n, r) => n + r.interrupts.sources.length, 0));
    const col = (name: string) => head.indexOf(name);
    results.forEach((r, i) => {
      for (const src of r.interrupts.sources) {
        const row = rows.find((x) => x[0] === resultLabels(results)[i] && x[col("source")] === src.name)!;
        expect(Number(row[col("raised")])).toBe(src.raised);
        expect(Number(row[col("delivered")])).toBe(src.delivered);
        expect(Number(row[col("withdrawn")])).toBe(src.withdrawn);
        expect(Number(row[col("handler_p99_cycles")])).toBe(src.latency.handler.p99);
        expect(row[col("handler_p99_us")]).toBe(us(src.latency.handler.p99, r.cycles.hz));
      }
    });
    const l = latencyCsv(results).trim().split("\n").slice(1).map((x) => x.split(","));
    for (const label of resultLabels(results)) {
      for (const kind of ["handler", "eoi"]) {
        const mine = l.filter((x) => x[0] === label && x[4] === kind);
        const r = results[resultLabels(results).indexOf(label)]!;
        expect(mine.reduce((n, x) => n + Number(x[7]), 0)).toBe(r.latency[kind as "handler" | "eoi"].count);
        expect(Number(mine.at(-1)![8])).toBe(1);
      }
    }
  });

  it("quotes fields that hold commas or quotes", () => {
    const r = structuredClone(results[1]!);
    r.interrupts.sources[0]!.name = 'eth0 "rx", queue 1';
    expect(sourcesCsv([r])).toContain(`,"eth0 ""rx"", queue 1",`);
  });
});

describe("vgic report", () => {
  const dir = mkdtempSync(join(tmpdir(), "vgic-report-"));
  const vgic = (...args: string[]) => spawnSync(process.execPath, [join(ROOT, "build", "vgic.mjs"), ...args], { cwd: ROOT, encoding: "utf8" });

  it("merges several --json results into one report and CSV; a file that is no result exits 2 naming the field", () => {
    const a = join(dir, "a.json"), b = join(dir, "b.json");
    for (const [file, seed] of [[a, "1"], [b, "2"]] as const) {
      const r = vgic("run", "workloads/lr-overflow.json", "--duration", "300000", "--variant", "all", "--seed", seed, "--json");
      expect(r.status, r.stderr).toBe(0);
      writeFileSync(file, r.stdout);
    }
    const out = join(dir, "m.html");
    const m = vgic("report", a, b, "--out", out, "--csv", join(dir, "csv"));
    expect(m.status, m.stderr).toBe(0);
    expect(m.stdout).toMatch(/^12 results from 2 files/);
    const html = readFileSync(out, "utf8");
    expect(html).toContain("<title>vgic report: lr-overflow</title>");
    for (const v of ["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]) for (const s of [1, 2]) expect(html).toContain(`${v} (seed ${s}): p50 `);
    expect(readFileSync(join(dir, "csv", "sources.csv"), "utf8").split("\n")[1]).toMatch(/^xen-4\.8 \(seed 1\),lr-overflow,xen-4\.8,1,2400000000,/);

    const bad = join(dir, "bad.json");
    // run --json writes one document per variant, one per line
    expect(readFileSync(a, "utf8").trim().split("\n")).toHaveLength(6);
    writeFileSync(bad, JSON.stringify({ ...JSON.parse(readFileSync(a, "utf8").split("\n")[0]!), format: "vgic-run/9" }));
    const e = vgic("report", a, bad);
    expect(e.status).toBe(2);
    expect(e.stderr).toMatch(/bad\.json: line 1: format: got "vgic-run\/9", expected one of "vgic-run\/1" \(a vgic run --json document, vgic-run\/1\)\n$/);
    expect(m.stderr).not.toMatch(/note:/);
    // results of another version of the tool: merged, and said so
    const older = join(dir, "older.json");
    writeFileSync(older, JSON.stringify({ ...JSON.parse(readFileSync(a, "utf8").split("\n")[0]!), vgicLab: "0.0.9" }) + "\n");
    const mixed = vgic("report", a, older, "--out", join(dir, "mixed.html"));
    expect(mixed.status, mixed.stderr).toBe(0);
    expect(mixed.stderr).toMatch(/^vgic report: note: the results come from vgic-lab 0\.0\.9, \d+\.\d+\.\d+: a difference between them may be the tool's, not the design's$/m);
  }, 60_000);

  // The page as a browser lays it out, at 800 px: no horizontal overflow, no
  // table wider than its box, every plot's text inside the plot, no text
  // below 10 px. Runs where Debian's chromium is installed.
  const chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));
  it.runIf(chromium !== undefined)("fits an 800 px window in headless Chromium", () => {
    const check = `const bad = [];
const vw = document.documentElement.clientWidth;
if (document.documentElement.scrollWidth > vw) bad.push("page " + document.documentElement.scrollWidth + " > " + vw);
for (const d of document.querySelectorAll(".scroll")) if (d.scrollWidth > d.clientWidth + 1) bad.push("table " + d.scrollWidth + " > " + d.clientWidth);
for (const s of document.querySelectorAll("svg.plot")) {
  const r = s.getBoundingClientRect();
  if (r.right > vw + 0.5) bad.push(s.getAttribute("aria-label") + ": wider than the page");
  for (const t of s.querySelectorAll("text")) {
    const b = t.getBoundingClientRect();
    if (b.left < r.left - 1 || b.right > r.right + 1 || b.top < r.top - 1 || b.bottom > r.bottom + 1) bad.push(s.getAttribute("aria-label") + ": '" + t.textContent + "' outside");
    if (parseFloat(getComputedStyle(t).fontSize) * r.width / s.viewBox.baseVal.width < 10) bad.push(s.getAttribute("aria-label") + ": '" + t.textContent + "' below 10 px");
  }
}
document.body.setAttribute("data-layout", JSON.stringify(bad));`;
    const page = join(dir, "layout.html");
    writeFileSync(page, renderReport(results).replace("</body>", `<script>${check}</script></body>`));
    const r = spawnSync(chromium!, ["--headless", "--no-sandbox", "--disable-gpu", "--window-size=800,1000", "--dump-dom", `file://${page}`], { encoding: "utf8", timeout: 60_000 });
    const m = /data-layout="([^"]*)"/.exec(r.stdout);
    expect(m, r.stderr.slice(0, 500)).not.toBeNull();
    expect(JSON.parse(m![1]!.replace(/&quot;/g, '"').replace(/&gt;/g, ">").replace(/&lt;/g, "<").replace(/&amp;/g, "&"))).toEqual([]);
  }, 60_000);
});
