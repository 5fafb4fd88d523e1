// The maintenance-interrupt livelock of a synchronous trap's IRQ window.
//
// Xen's guest_sync entry unmasks IRQs (arm64 entry.S `msr daifclr, #6`,
// RELEASE-4.8.0 to 4.11.0) before do_trap_guest_sync calls
// enter_hypervisor_head, which clears GICH_HCR.UIE and folds the list
// registers. A maintenance IRQ a guest EOI raised but that reaches the pCPU
// only after the guest trapped is taken at EL2, where nothing clears its
// cause: the dummy handler's EOI and DIR leave the level high and the
// gic_interrupt loop acknowledges it again, for good (the busy loop of Xen's
// 31180f87e4, "clear UIE on hypervisor entry"). It needs the GIC's latency
// to be longer than the guest's path from its EOI to the trap: with no
// latency every such IRQ is taken in the guest, before the trap.

import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { fuzz, vgicTarget, type VgicConfig } from "../host/fuzz/index.ts";
import { Rng } from "../host/sim/rng.ts";
import { buildSystem } from "../host/xen/system.ts";
import { checkRun } from "../host/check/vgic.ts";
import { LIVELOCK_MAINTENANCE_ACKS } from "../host/xen/vgic.ts";
import { gic_cpu_init } from "../host/guest/driver.ts";
import { GICD } from "../host/hw/regs.ts";
import { runWorkload } from "../host/workload/runner.ts";
import { bootEdgeSpis, workload } from "./workload-helpers.ts";
import { explore } from "../host/explore/engine.ts";
import { loadMatrixBaseline } from "../host/explore/baseline.ts";
import { scenarioNamed } from "../host/xen/scenarios.ts";

// six edge SPIs for vCPU0's four list registers: two wait on lr_pending, so
// every return to the guest sets UIE
const SPIS = [40, 41, 42, 43, 44, 45];
const BURSTS = 20;
// The guest's path from a handler's EOI to its next trapped read is some
// 250 to 400 cycles here: a GIC latency in that range brings the maintenance
// IRQ to the pCPU after the trap's entry, in its window; a shorter one is
// taken in the guest, a longer one after enter_hypervisor_head cleared UIE.
// Which latencies of the range hit the window moves with every cycle of the
// path (a sweep of 50 to 1,000 in steps of 50 livelocks at 250 to 400, not
// always at each of them); 350 hits it for every design.
const LATENCY = 350;

function storm(variant: string, latency: number) {
  const sys = buildSystem({
    variant, gic: { propagationDelay: latency }, routed: SPIS.map((irq) => ({ irq, edge: true })),
    programs: [
      function* (g) {
        yield* bootEdgeSpis(g, SPIS);
        // a trapped distributor read shortly after every handler's EOI
        for (;;) {
          yield* g.readDist(GICD.TYPER);
          yield* g.work(50);
        }
      },
      function* (g) {
        yield* gic_cpu_init(g);
        yield* g.work(1e6);
      },
    ],
  });
  let delivered = 0;
  sys.vgic.observer.delivered = () => { delivered++; };
  for (let k = 0; k < BURSTS; k++) {
    sys.machine.at(300_000 + k * 50_000, "device", (m) => {
      for (const s of SPIS) { m.setLine(s, 1); m.setLine(s, 0); }
    });
  }
  const r = sys.machine.run({ until: 2_000_000 });
  return { r, delivered, stats: sys.vgic.stats };
}

describe("a maintenance IRQ taken in a trap's IRQ window livelocks the pCPU", () => {
  for (const variant of ["xen-4.8", "xen-4.9", "new-vgic"]) {
    it(`${variant}: with a GIC latency of ${LATENCY} cycles, a livelock finding; with none, every instance delivered`, () => {
      const slow = storm(variant, LATENCY);
      expect(slow.r.reason).toBe("error");
      // (xen-4.8 also shows its irq_desc/rank inversion: do_IRQ takes the rank lock)
      const f = checkRun(slow.r).filter((x) => x.kind !== "lock-inversion");
      expect(f.map((x) => x.kind)).toEqual(["livelock"]);
      expect(f[0]!.message).toMatch(new RegExp(`^pCPU0: pCPU0 acknowledged maintenance IRQ 25 ${LIVELOCK_MAINTENANCE_ACKS} times in one IRQ exception`));
      // the acknowledges before the one that stopped it were handled
      expect(slow.stats.maintenanceIrqs).toBe(LIVELOCK_MAINTENANCE_ACKS - 1);
      expect(slow.delivered).toBeLessThan(SPIS.length * BURSTS);

      const fast = storm(variant, 0);
      expect(fast.r.reason).toBe("until");
      expect(checkRun(fast.r).filter((x) => x.kind !== "lock-inversion")).toEqual([]);
      expect(fast.delivered).toBe(SPIS.length * BURSTS);
      // UIE is cleared before Xen's acknowledge: no maintenance IRQ is ever taken
      expect(fast.stats.maintenanceIrqs).toBe(0);
    });
  }

  it("shows in a workload run with machine.gicLatency, as a livelock finding that --fail-on names", () => {
    const base = workload("lr-overflow");
    const oneLr = { ...base, machine: { ...base.machine, listRegisters: 1 } };
    for (const variant of ["xen-4.8", "xen-4.9", "new-vgic"]) {
      const slow = runWorkload({ ...oneLr, machine: { ...oneLr.machine, gicLatency: 300 } }, { variant, duration: 2_000_000 }).result;
      expect(slow.outcome).toBe("error");
      expect(slow.findings.map((x) => x.kind)).toContain("livelock");
      const none = runWorkload(oneLr, { variant, duration: 2_000_000 }).result;
      expect(none.findings.map((x) => x.kind)).not.toContain("livelock");
    }
  });

  it("is named too when it begins too late in the run to reach its count: the run ends inside the loop", () => {
    const base = workload("lr-overflow");
    const w = { ...base, machine: { ...base.machine, listRegisters: 1, gicLatency: 300 } };
    // the loop begins about 14,000 cycles before the devices stop; the
    // drain ends it after about 930 acknowledges
    const r = runWorkload(w, { variant: "xen-4.9", duration: 40_000 }).result;
    expect(r.outcome).toBe("completed");
    const f = r.findings.filter((x) => x.kind === "livelock");
    expect(f).toHaveLength(1);
    expect(f[0]!.message).toMatch(/^pCPU0 was acknowledging maintenance IRQ 25 again and again when the run ended \((\d+) times/);
    const n = Number(/\((\d+) times/.exec(f[0]!.message)![1]);
    // each turn of the loop costs about 213 cycles (IAR, EOIR, DIR and the
    // exception): the drain's 200,000 cycles hold some 900 of them
    expect(n).toBeGreaterThan(500);
    expect(n).toBeLessThan(LIVELOCK_MAINTENANCE_ACKS);
  });

  it("is found by the vgic fuzzer given a GIC latency, and not without, in the cases the README quotes", () => {
    const readme = readFileSync("README.md", "utf8").replace(/\s+/g, " ");
    const m = /--variant new-vgic --gic-latency 300 --seed 1 --cases 400` finds `livelock:maintenance-irq@gic_interrupt` in (\d+) cases, xen-4\.8 in (\d+),/.exec(readme);
    expect(m, "the README quotes the campaign").not.toBeNull();
    const run = (variant: string, latency?: string) => fuzz({
      target: "vgic", seed: 1, cases: 400, params: { variant, ...(latency !== undefined ? { latency } : {}) }, signaturesOnly: true,
    }).signatures;
    const sig = "livelock:maintenance-irq@gic_interrupt";
    expect([run("new-vgic", "300")[sig]?.count, run("xen-4.8", "300")[sig]?.count]).toEqual([Number(m![1]), Number(m![2])]);
    for (const v of ["new-vgic", "xen-4.8"]) expect(Object.keys(run(v)).filter((s) => s.startsWith("livelock"))).toEqual([]);
  });

  it("--gic-latency changes no case: the same configuration draws, the latency set on top", () => {
    for (let seed = 1; seed <= 200; seed++) {
      const a = new Rng(seed), b = new Rng(seed);
      const plain = vgicTarget.randomConfig(a, { variant: "xen-4.9" });
      const slow = vgicTarget.randomConfig(b, { variant: "xen-4.9", latency: "300" });
      expect(slow).toEqual({ ...plain, gicLatency: 300 });
      // a latency of 0 is none: the same configuration, no field
      expect(vgicTarget.randomConfig(new Rng(seed), { variant: "xen-4.9", latency: "0" })).toEqual(plain);
      // what is drawn next (the case's operations) is drawn from the same state
      expect(b.next()).toBe(a.next());
    }
  });

  it("a corpus kept with one latency is not taken by a run with another, or with none", () => {
    const base: VgicConfig = vgicTarget.randomConfig(new Rng(1), { variant: "xen-4.9" });
    const matches = (c: VgicConfig, params: Record<string, string>) => vgicTarget.configMatches!(c, params);
    expect(matches({ ...base, gicLatency: 300 }, { variant: "xen-4.9", latency: "300" })).toBe(true);
    expect(matches({ ...base, gicLatency: 300 }, { variant: "xen-4.9" })).toBe(false);
    expect(matches({ ...base, gicLatency: 300 }, { latency: "100" })).toBe(false);
    expect(matches(base, { latency: "300" })).toBe(false);
    expect(matches(base, {})).toBe(true);
    expect(matches(base, { latency: "0" })).toBe(true);
    expect(matches(base, { variant: "new-vgic" })).toBe(false);
  });

  it("vgic fuzz --gic-latency: the finding file carries the latency and replays; a bad value or target is refused naming the flag", () => {
    const cli = (...args: string[]) => spawnSync(process.execPath, ["build/vgic.mjs", "fuzz", ...args], { encoding: "utf8" });
    const out = mkdtempSync(join(tmpdir(), "vgic-fuzz-latency-"));
    const r = cli("--target", "vgic", "--variant", "new-vgic", "--gic-latency", "300", "--seed", "1", "--cases", "40", "--out", out, "--json");
    expect(r.status, r.stderr).toBe(1);
    expect((JSON.parse(r.stdout) as { params: Record<string, string> }).params).toEqual({ variant: "new-vgic", latency: "300" });
    const file = readdirSync(out).find((n) => n.startsWith("vgic-livelock-maintenance-irq-"));
    expect(file, readdirSync(out).join(", ")).toBeDefined();
    const f = JSON.parse(readFileSync(join(out, file!), "utf8")) as { config: { gicLatency?: number } };
    expect(f.config.gicLatency).toBe(300);
    const replayed = cli("--replay", join(out, file!));
    expect(replayed.status, replayed.stderr).toBe(1);
    expect(replayed.stdout).toMatch(/^reproduced: livelock:maintenance-irq@gic_interrupt/);
    for (const [args, msg] of [
      [["--target", "vgic", "--gic-latency", "-1", "--cases", "1"], /--gic-latency: expected an integer from 0 to 1000000, got '-1'/],
      [["--target", "hw", "--gic-latency", "10", "--cases", "1"], /--gic-latency: target 'hw' has no GIC latency/],
    ] as const) {
      const bad = cli(...args);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(msg);
    }
  });

  it("a matrix baseline's GIC latency is read as the matrix wrote it: absent is none (older documents), anything else not a latency is refused", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-latency-"));
    const cells = [{ scenario: "lr-pending-migrate", variant: "xen-4.9", counterexample: { findings: [{ kind: "livelock", message: "m", where: "gic_interrupt", path: "maintenance-irq" }] } }];
    const doc = (options: Record<string, unknown>) => {
      const f = join(dir, `m${readdirSync(dir).length}.json`);
      writeFileSync(f, JSON.stringify({ cells, options }));
      return f;
    };
    const older = doc({ strategy: "dfs" });
    expect(loadMatrixBaseline(older).map((x) => x.signature)).toEqual(["livelock:maintenance-irq@gic_interrupt"]);
    expect(() => loadMatrixBaseline(older, { gicLatency: 300 })).toThrow(/field 'options\.gicLatency': expected a matrix explored with a GIC latency of 300 cycles, like this run, got one explored without a GIC latency/);
    expect(loadMatrixBaseline(doc({ gicLatency: 300 }), { gicLatency: 300 })).toHaveLength(1);
    // a latency as text was read as none and compared with a run without one
    for (const bad of ["300", null, -1, 0, 2.5, 1_000_001]) {
      const f = doc({ gicLatency: bad });
      for (const mo of [{}, { gicLatency: 300 }]) {
        expect(() => loadMatrixBaseline(f, mo)).toThrow(/field 'options\.gicLatency': expected cycles, an integer from 1 to 1000000, or no field \(none\), got /);
      }
    }
  });

  it("is found by the explorer given a GIC latency (explore --gic-latency, also --matrix), and replays; not without", () => {
    // lr-pending-migrate: vCPU1's two list registers are full and a third
    // interrupt waits on lr_pending, so its returns set UIE; a guest EOI then
    // a trap within the latency livelock the pCPU
    const readme = readFileSync("README.md", "utf8").replace(/\s+/g, " ");
    const m = /`vgic explore lr-pending-migrate --variant xen-4\.9 --gic-latency 300` finds the livelock after (\d+) schedules/.exec(readme);
    expect(m, "the README quotes the search").not.toBeNull();
    const scenario = scenarioNamed("lr-pending-migrate");
    const slow = explore({ scenario, variant: "xen-4.9", gicLatency: 300 });
    expect(slow.gicLatency).toBe(300);
    expect(slow.counterexample?.findings.map((f) => f.kind)).toContain("livelock");
    expect(slow.schedules).toBe(Number(m![1]));
    const none = explore({ scenario, variant: "xen-4.9", budget: 1000 });
    expect(none.gicLatency).toBeUndefined();
    expect(none.counterexample).toBeUndefined();

    const cli = (...args: string[]) => spawnSync(process.execPath, ["build/vgic.mjs", "explore", ...args], { encoding: "utf8" });
    const out = mkdtempSync(join(tmpdir(), "vgic-explore-latency-"));
    const r = cli("lr-pending-migrate", "--variant", "xen-4.9", "--gic-latency", "300", "--budget", "1000", "--out", out);
    expect(r.status, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^== lr-pending-migrate under xen-4\.9 \(dfs, bound 1, GIC latency 300 cycles\)/);
    const file = join(out, "lr-pending-migrate.xen-4.9.latency-300.json");
    const saved = JSON.parse(readFileSync(file, "utf8")) as { gicLatency?: number; findings: Array<{ kind: string }> };
    expect(saved.gicLatency).toBe(300);
    expect(saved.findings.map((f) => f.kind)).toContain("livelock");
    const replayed = cli("--replay", file);
    expect(replayed.status, replayed.stderr).toBe(1);
    expect(replayed.stdout).toMatch(/reproduced: same finding kinds/);
    // the matrix explores without a latency: a directory baseline leaves
    // such a file out (it would read as a livelock gone), a single one is refused
    const asDir = cli("--matrix", "lr-pending-migrate", "--variant", "xen-4.9", "--budget", "300", "--baseline", out);
    expect(asDir.status, asDir.stderr).toBe(0);
    expect(asDir.stdout).toMatch(/: 0 new, 0 gone, 0 unchanged/);
    const asFile = cli("--matrix", "lr-pending-migrate", "--variant", "xen-4.9", "--budget", "300", "--baseline", file);
    expect(asFile.status).toBe(2);
    expect(asFile.stderr).toMatch(/field 'gicLatency': expected no field/);
    // the matrix with the same latency: the same search, and the file is its baseline
    const mx = cli("--matrix", "lr-pending-migrate", "--variant", "xen-4.9", "--gic-latency", "300", "--budget", "1000", "--json");
    expect(mx.status, mx.stderr).toBe(1);
    const doc = JSON.parse(mx.stdout) as { options: { gicLatency?: number }; cells: Array<{ schedules: number; gicLatency?: number; signatures: string[] }> };
    expect(doc.options.gicLatency).toBe(300);
    expect([doc.cells[0]!.schedules, doc.cells[0]!.gicLatency]).toEqual([slow.schedules, 300]);
    expect(doc.cells[0]!.signatures).toContain("livelock:maintenance-irq@gic_interrupt");
    for (const base of [out, file]) {
      const same = cli("--matrix", "lr-pending-migrate", "--variant", "xen-4.9", "--gic-latency", "300", "--budget", "1000", "--baseline", base);
      expect(same.status, same.stderr).toBe(0);
      expect(same.stdout).toMatch(/: 0 new, 0 gone, 1 unchanged/);
    }
    // the README's account of the whole matrix at 300 cycles: tests/readme-matrix-latency.test.ts
    // a matrix document explored with another latency is refused, not compared
    const mdoc = join(out, "matrix-300.json");
    writeFileSync(mdoc, mx.stdout);
    const other = cli("--matrix", "lr-pending-migrate", "--variant", "xen-4.9", "--budget", "300", "--baseline", mdoc);
    expect(other.status).toBe(2);
    expect(other.stderr).toMatch(/field 'options\.gicLatency': expected a matrix explored without a GIC latency, like this run, got one explored with a GIC latency of 300 cycles/);
    // a scenario module whose build drops the latency is bad input, not a verdict
    const mod = join(out, "deaf.mjs");
    writeFileSync(mod, `import { scenarioNamed } from ${JSON.stringify(new URL("../build/lib.mjs", import.meta.url).href)};
const s = scenarioNamed("lr-pending-migrate");
export const scenarios = [{ ...s, name: "deaf", build: (v, sched, o = {}) => s.build(v, sched, { ...o, gicLatency: undefined }) }];
`);
    const deaf = cli("deaf", "--scenarios", mod, "--variant", "xen-4.9", "--gic-latency", "300", "--budget", "10");
    expect(deaf.status).toBe(2);
    expect(deaf.stderr).toMatch(/scenario 'deaf' ignores the GIC latency of 300 cycles/);
    // on workers too: the worker's error is bad input, not a crashed worker
    const deafOnWorkers = cli("deaf", "--scenarios", mod, "--variant", "xen-4.9,new-vgic", "--gic-latency", "300", "--budget", "10", "--workers", "2");
    expect(deafOnWorkers.status).toBe(2);
    expect(deafOnWorkers.stderr).toMatch(/scenario 'deaf' ignores the GIC latency of 300 cycles/);
    for (const [args, msg] of [
      [["lr-pending-migrate", "--gic-latency", "x"], /--gic-latency: expected an integer from 0 to 1000000, got 'x'/],
      [["--replay", file, "--gic-latency", "300"], /--gic-latency: not with --replay/],
    ] as const) {
      const bad = cli(...args);
      expect(bad.status).toBe(2);
      expect(bad.stderr).toMatch(msg);
    }
  });
});
