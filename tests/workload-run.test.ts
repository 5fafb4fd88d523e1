// Running workloads end to end: determinism, the HTML report, the command.
import { describe, expect, it } from "vitest";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync, existsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWorkload, type WorkloadResult } from "../host/workload/runner.ts";
import type { Counts } from "../host/workload/accounting.ts";
import type { Summary } from "../host/workload/histogram.ts";
import { renderReport } from "../host/workload/report.ts";
import { runCommand, type CommandIo } from "../host/workload/command.ts";
import { workload } from "./workload-helpers.ts";

const SHORT = 1_500_000;

function io(): CommandIo & { stdout: string; stderr: string } {
  const o = { stdout: "", stderr: "", tty: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

describe("workload runs", () => {
  it("the same seed gives the identical JSON result; another seed a different one", () => {
    const w = workload("net-storm");
    const a = JSON.stringify(runWorkload(w, { variant: "xen-4.9", duration: SHORT }).result);
    const b = JSON.stringify(runWorkload(w, { variant: "xen-4.9", duration: SHORT }).result);
    const c = JSON.stringify(runWorkload(w, { variant: "xen-4.9", duration: SHORT, seed: 7 }).result);
    expect(b).toBe(a);
    expect(c).not.toBe(a);
  });

  it("measurement begins when the guest is ready: a short duration is honoured, drained, and the timeline holds every delivery", () => {
    // the boot ran on in 1,000,000-cycle chunks past the guest's readiness,
    // devices and all: durations under that chunk were ignored (300,000 and
    // 600,000 gave the same counts), the drain never ran, and the first
    // windows of the timeline were empty
    const w = workload("lr-overflow");
    const res = (duration: number) => runWorkload(w, { variant: "xen-4.9", duration }).result;
    const short = res(300_000), longer = res(600_000);
    for (const r of [short, longer]) {
      expect(r.outcome).toBe("completed");
      expect(r.cycles.boot).toBeLessThan(1_000_000);
      expect(r.cycles.end - r.cycles.boot).toBe(r === short ? 300_000 : 600_000);
      // drained: nothing is left in transit, and every instance is accounted for
      expect(r.interrupts.pending).toBe(0);
      expect(r.interrupts.raised).toBe(r.interrupts.delivered + r.interrupts.coalesced + r.interrupts.dropped + r.interrupts.lost);
      // the windows cover the whole measured period: their deliveries add up
      // to every delivery but those the drain made after the end
      const inWindows = r.timeline.vcpus.flat().reduce((a, b) => a + b, 0);
      expect(inWindows).toBeGreaterThan(0);
      expect(inWindows).toBeLessThanOrEqual(r.interrupts.delivered);
    }
    expect(longer.interrupts.raised).toBeGreaterThan(short.interrupts.raised);
  });

  it("the report is a well-formed HTML page with a histogram, a timeline and a cycles plot per variant", () => {
    const w = workload("seed-migrate");
    const results = ["xen-4.8", "xen-4.9"].map((variant) => runWorkload(w, { variant, duration: SHORT }).result);
    const html = renderReport(results);
    expect(html.startsWith("<!DOCTYPE html>")).toBe(true);
    expect(html).not.toMatch(/<script|<link|<img|src="|href="http/); // self-contained
    for (const cls of ["hist", "timeline", "cycles"]) expect(html.match(new RegExp(`<svg class="plot ${cls}"`, "g"))?.length).toBe(2);
    // tags balance (void elements aside)
    const stack: string[] = [];
    for (const m of html.matchAll(/<(\/?)([a-zA-Z][a-zA-Z0-9]*)([^>]*?)(\/?)>/g)) {
      const [, close, tag, , self] = m;
      const t = tag!.toLowerCase();
      if (self === "/" || t === "meta") continue;
      if (close) expect(stack.pop(), `closing </${t}>`).toBe(t);
      else stack.push(t);
    }
    expect(stack).toEqual([]);
  });

  it("vgic run: text per variant, the comparison, --json, --report and --trace files", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-run-"));
    const wfile = join(dir, "w.json");
    writeFileSync(wfile, JSON.stringify({ ...workload("lr-overflow"), duration: 600_000 }));
    const t = io();
    expect(await runCommand([wfile, "--variant", "all", "--report", join(dir, "r.html"), "--trace", join(dir, "t.json")], t)).toBe(0);
    expect(t.stdout).toMatch(/== lr-overflow on xen-4\.8 \(seed 1\)/);
    expect(t.stdout).toMatch(/comparison \(lr-overflow/);
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/<\/html>/);
    const trace = JSON.parse(readFileSync(join(dir, "t.xen-4.9.json"), "utf8"));
    expect(trace.traceEvents.length).toBeGreaterThan(10);
    const j = io();
    expect(await runCommand([wfile, "--variant", "xen-4.9", "--json", "--seed", "3"], j)).toBe(0);
    const parsed = JSON.parse(j.stdout);
    expect(parsed.results).toHaveLength(1);
    expect(parsed.results[0].seed).toBe(3);
    expect(existsSync(join(dir, "t.json"))).toBe(false);
  });

  it("vgic run: a bad file or option exits 2 with a message naming the field", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-run-"));
    const wfile = join(dir, "bad.json");
    writeFileSync(wfile, JSON.stringify({ ...workload("idle-timer"), duration: -5 }));
    const t = io();
    expect(await runCommand([wfile], t)).toBe(2);
    expect(t.stderr).toMatch(/bad\.json: duration: got -5, expected a number > 0/);
    const u = io();
    expect(await runCommand([join(dir, "missing.json")], u)).toBe(2);
    expect(u.stderr).toMatch(/missing\.json: no such file\n$/);
    const v = io();
    expect(await runCommand([wfile.replace("bad", "x"), "--variant", "nope"], v)).toBe(2);
  });
});

describe("vgic run --workers", () => {
  it("runs the variants on worker threads and prints exactly what one thread prints, in variant order, traces included", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-run-workers-"));
    const cli = (args: string[]) => spawnSync(process.execPath, ["build/vgic.mjs", "run", "workloads/seed-migrate.json", "--duration", "2400000", ...args], { encoding: "utf8" });
    const one = cli(["--json", "--trace", join(dir, "a.json"), "--trace-events", "guest,irq"]);
    const two = cli(["--json", "--workers", "3", "--trace", join(dir, "b.json"), "--trace-events", "guest,irq"]);
    expect(two.status, two.stderr).toBe(one.status);
    expect(two.stderr).toMatch(/6 variants on 3 threads/);
    const docs = (s: string) => s.trim().split("\n").map((l) => JSON.parse(l) as { results: Array<{ variant: string }> });
    const a = docs(one.stdout), b = docs(two.stdout);
    expect(b.map((d) => d.results[0]!.variant)).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]);
    expect(b.map((d) => d.results)).toEqual(a.map((d) => d.results));
    for (const v of ["xen-4.8", "new-vgic"]) {
      expect(readFileSync(join(dir, `b.${v}.json`), "utf8")).toBe(readFileSync(join(dir, `a.${v}.json`), "utf8"));
    }
    // the text output too, but for the wall-clock line
    const text = (args: string[]) => cli(args).stdout.split("\n").filter((l) => !/^wall /.test(l)).join("\n");
    expect(text(["--workers", "2"])).toBe(text([]));
    expect(cli(["--workers", "0"]).stderr).toMatch(/--workers: got "0", expected an integer from 1 to 64/);

    // a --csv that cannot be written fails the run (exit 3) naming the
    // variant, and every variant is still run and printed, with or without workers
    const csv = join(dir, "csv");
    mkdirSync(join(csv, "sources.csv"), { recursive: true });
    for (const w of ["1", "2"]) {
      const r = cli(["--workers", w, "--csv", csv]);
      expect(r.status).toBe(3);
      expect(r.stderr).toMatch(/vgic run: xen-4\.8: cannot write .*sources\.csv/);
      expect(r.stdout.match(/^== seed-migrate on /gm)).toHaveLength(6);
    }
  }, 180_000);

  it("reports a worker that dies holding no variant: every result printed, exit 3", () => {
    // the module ends a worker thread once its event loop turns, which is
    // after the worker has run every variant it took: nothing is lost, but
    // the run did not go as it should (this used to pass as exit 0)
    const dir = mkdtempSync(join(tmpdir(), "vgic-run-idle-death-"));
    const mod = join(dir, "dies-late.mjs");
    writeFileSync(mod, `import { isMainThread } from "node:worker_threads";
if (!isMainThread) setTimeout(() => process.exit(9), 0);
export const variants = [];
`);
    const r = spawnSync(process.execPath, ["build/vgic.mjs", "run", "workloads/seed-migrate.json", "--duration", "2400000", "--variants", mod,
      "--workers", "2", "--json"], { encoding: "utf8" });
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr.match(/^vgic run: .*$/gm)).toEqual(["vgic run: run worker 0 exited with status 9, holding no variant"]);
    const ran = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { results: Array<{ variant: string }> }).results[0]!.variant);
    expect(ran).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]);
  }, 60_000);

  it("counts this thread among the N and hands out variants as threads come free: a worker that dies fails the variant it held, and the others run", () => {
    // Two threads: this one and one worker. Four designs of a --variants
    // module kill a worker thread that builds one; on this thread, the first
    // of them waits until a worker has died. So the one worker dies in the
    // first of them it takes, and this thread runs every other variant,
    // the six built-in and three of the four. (With the fixed shares of
    // before, two workers each died in their share, failing what was left
    // of it, and this thread ran none.)
    const dir = mkdtempSync(join(tmpdir(), "vgic-run-claims-"));
    const died = join(dir, "worker-died.mark");
    const mod = join(dir, "dies-on-worker.mjs");
    writeFileSync(mod, `import { isMainThread } from "node:worker_threads";
import { existsSync, writeFileSync } from "node:fs";
import { variantNamed } from ${JSON.stringify(new URL("../build/lib.mjs", import.meta.url).href)};
const died = ${JSON.stringify(died)};
let first = true;
export const variants = ["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9"].map((parent) => ({
  name: parent + "-w", parent, summary: parent + ", but a worker thread dies building it",
  create(machine, opts) {
    if (!isMainThread) {
      writeFileSync(died, parent);
      process.exit(7);
    }
    if (first) {
      first = false;
      const t = new Int32Array(new SharedArrayBuffer(4));
      for (let i = 0; i < 3000 && !existsSync(died); i++) Atomics.wait(t, 0, 0, 10);
    }
    return variantNamed(parent).create(machine, opts);
  },
}));
`);
    const r = spawnSync(process.execPath, ["build/vgic.mjs", "run", "workloads/seed-migrate.json", "--duration", "2400000", "--variants", mod,
      "--variant", "all", "--workers", "2", "--json"], { encoding: "utf8" });
    expect(existsSync(died), r.stderr).toBe(true);
    const dead = `${readFileSync(died, "utf8")}-w`;
    expect(r.status, r.stderr).toBe(3);
    expect(r.stderr).toMatch(/^run seed-migrate: 10 variants on 2 threads$/m);
    expect(r.stderr.match(/^vgic run: .*$/gm)).toEqual([`vgic run: ${dead}: run worker 0 exited with status 7`]);
    const ran = r.stdout.trim().split("\n").map((l) => (JSON.parse(l) as { results: Array<{ variant: string }> }).results[0]!.variant);
    const all = ["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic", "xen-4.8-w", "v3-posted-w", "v3-fixed-w", "xen-4.9-w"];
    expect(ran).toEqual(all.filter((v) => v !== dead));
  }, 60_000);
});

describe("vgic run: the printed tables say what the --json result says", () => {
  // Each cell of each variant's per-source table and of the comparison,
  // read by its column's header, against the same run's --json document.
  // seed-migrate for 2 ms: v3-posted's sources have lost != pending and its
  // comparison row dropped != lost, so a swap of those columns shows.
  const args = ["workloads/seed-migrate.json", "--variant", "all", "--duration", "4800000"];
  const cells = (line: string) => line.trim().split(/\s{2,}/);

  it("per source and total, and the comparison across variants", async () => {
    const t = io(), j = io();
    expect(await runCommand(args, t)).toBe(0);
    expect(await runCommand([...args, "--json"], j)).toBe(0);
    const results: WorkloadResult[] = j.stdout.trim().split("\n").map((l) => JSON.parse(l).results[0]);
    expect(results.map((r) => r.variant)).toEqual(["xen-4.8", "v3-posted", "v3-fixed", "xen-4.9", "xen-4.9-no-wmb", "new-vgic"]);
    const lines = t.stdout.split("\n");
    const lat = (s: Summary) =>
      s.count === 0 ? "-" : [s.p50, s.p90, s.p99, s.max].join("/");
    const counts = ["raised", "delivered", "coalesced", "dropped", "lost", "pending"] as const;

    for (const r of results) {
      const at = lines.findIndex((l) => l.startsWith(`== seed-migrate on ${r.variant} `));
      expect(at, r.variant).toBeGreaterThanOrEqual(0);
      const header = cells(lines[at + 1]!);
      // every column, so that one left out cannot pass unseen
      expect(header).toEqual(["source", ...counts, "to handler p50/p90/p99/max", "to EOI p50/p90/p99/max"]);
      const rows: Array<{ label: string; c: Counts; handler: Summary; eoi: Summary }> = [
        ...r.interrupts.sources.map((s) => ({ label: `${s.name} (${s.type})`, c: s, handler: s.latency.handler, eoi: s.latency.eoi })),
        { label: "total", c: r.interrupts, handler: r.latency.handler, eoi: r.latency.eoi },
      ];
      rows.forEach((row, i) => {
        const got = cells(lines[at + 2 + i]!);
        expect(got[0], r.variant).toBe(row.label);
        expect(got).toHaveLength(header.length);
        header.forEach((h, k) => {
          if (k === 0) return;
          const want = (counts as readonly string[]).includes(h) ? String(row.c[h as keyof Counts])
            : h === "to handler p50/p90/p99/max" ? lat(row.handler)
              : h === "to EOI p50/p90/p99/max" ? lat(row.eoi) : `unknown column ${h}`;
          expect(got[k], `${r.variant} ${row.label} ${h}`).toBe(want);
        });
      });
    }

    const cmp = lines.findIndex((l) => l.startsWith("comparison (seed-migrate;"));
    const header = cells(lines[cmp + 1]!);
    expect(header).toEqual(["variant", "outcome", "inversions", "delivered", "dropped", "lost", "stuck IRQs", "pending", "p50", "p99", "max"]);
    const expected = (r: WorkloadResult): Record<string, string> => ({
      variant: r.variant,
      outcome: r.outcome === "deadlock" ? "DEADLOCK" : r.outcome,
      inversions: String(r.findings.filter((f) => f.kind === "lock-inversion").length),
      delivered: String(r.interrupts.delivered),
      dropped: String(r.interrupts.dropped),
      lost: String(r.interrupts.lost),
      "stuck IRQs": String(r.findings.filter((f) => f.kind === "stuck-active").length),
      pending: String(r.interrupts.pending),
      p50: String(r.latency.handler.p50),
      p99: String(r.latency.handler.p99),
      max: String(r.latency.handler.max),
    });
    results.forEach((r, i) => {
      const got = cells(lines[cmp + 2 + i]!);
      const want = expected(r);
      expect(Object.fromEntries(header.map((h, k) => [h, got[k]])), r.variant).toEqual(want);
    });

    // the run tells the columns apart (else a swap would pass unseen)
    expect(results.some((r) => r.interrupts.sources.some((s) => s.lost !== s.pending))).toBe(true);
    expect(results.some((r) => r.interrupts.lost !== r.interrupts.dropped && r.interrupts.dropped > 0)).toBe(true);
  });
});

describe("a guest's computation and the other pCPUs' lookahead", () => {
  // A computing guest promises (Thread.quietUntil) to touch nothing before
  // the end of its computation, and another pCPU may then compute up to
  // that promise in one slice (Machine.lookahead). The promise holds only
  // while the guest waits at its point: a pCPU time-slicing two busy vCPUs
  // ends one's computation early and runs the hypervisor at once. Here
  // every horizon the machine gives is recomputed with the promises of
  // threads that are not waiting at the guest's point left out, from the
  // step's own record (the point each thread last yielded), and the two
  // must agree: a larger one lets a pCPU compute past an IPI sent to it.
  const SLICED = JSON.stringify({
    name: "slice-ipi", machine: { pcpus: 2, irqs: 64, listRegisters: 4 }, variant: "all",
    guest: { vcpus: 3, placement: [0, 0, 1], load: 1 },
    devices: [
      { type: "ipi", name: "v1-to-v2", sgi: 1, from: 1, to: [2], arrival: { kind: "poisson", mean: 7000 }, handlerCycles: 500 },
      { type: "ipi", name: "v0-to-v2", sgi: 2, from: 0, to: [2], arrival: { kind: "poisson", mean: 9000 }, handlerCycles: 500 },
    ],
    duration: 8_000_000, seed: 1,
  });

  it("no horizon rests on the promise of a pCPU that is not computing", async () => {
    const { parseWorkload } = await import("../host/workload/schema.ts");
    const { Machine } = await import("../host/sim/machine.ts");
    type T = { clock: number; quietUntil: number; state: number; cpu: number; lastPoint?: { label: string } | null };
    type M = { threads: T[]; lineCache: Int32Array; heap: unknown[]; hasDelay: boolean; byClock: boolean; nextEventTime(): number };
    const proto = Machine.prototype as unknown as { lookahead(this: M, t: T): number };
    const lookahead = proto.lookahead;
    let horizons = 0, beyond = 0;
    proto.lookahead = function (this: M, t: T): number {
      const h = lookahead.call(this, t);
      if (!this.byClock) return h;
      let truth = this.heap.length > 0 || this.hasDelay ? this.nextEventTime() : Infinity;
      for (const u of this.threads) {
        if (u === t || u.state !== 0) continue;
        const computing = u.lastPoint?.label === "guest" && (u.cpu < 0 || this.lineCache[u.cpu] === 0);
        const next = computing && u.quietUntil > u.clock ? u.quietUntil : u.clock;
        if (next < truth) truth = next;
      }
      horizons++;
      if (h > truth) beyond++;
      return h;
    };
    try {
      const w = parseWorkload(SLICED, "slice-ipi.json");
      for (const variant of ["xen-4.9", "new-vgic"]) {
        horizons = beyond = 0;
        const { result } = runWorkload(w, { variant });
        expect(result.findings, variant).toEqual([]);
        expect(horizons, variant).toBeGreaterThan(1000);
        expect(beyond, variant).toBe(0);
      }
    } finally {
      proto.lookahead = lookahead;
    }
  });
});
