// The fuzzer's `vgic` target: guests under each seed design, devices and
// random/pct schedules. From fixed seeds it finds xen-4.8's rank/vgic lock
// inversion and v3-posted's lost interrupt, shrinks them to a handful of
// operations, and the finding files replay to the same violation (from the
// recorded schedule and from the scheduler seed alone). xen-4.9 shows
// neither the inversion nor an ABBA deadlock.

import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GICD } from "../host/hw/regs.ts";
import type { Schedule } from "../host/sim/sched.ts";
import { FindingJson } from "../host/fuzz/finding.ts";
import {
  fuzz, legalGicdAccess, parseFinding, replay, runOps, runVgicCase, vgicTarget, type Finding, type VgicConfig, type VgicOp,
} from "../host/fuzz/index.ts";

const found = new Map<string, Finding>();

function run(variant: string, seed: number, cases: number): Finding[] {
  return fuzz({ target: "vgic", seed, cases, params: { variant }, shrinkBudget: 300, improve: 1 }).findingsList;
}

describe("vgic target: the seed's bugs from fixed seeds", () => {
  it("finds xen-4.8's rank/vgic lock inversion and shrinks it to a handful of operations", () => {
    const fs = run("xen-4.8", 1, 150);
    const f = fs.find((x) => x.violation.invariant === "lock-inversion-rank-vgic");
    expect(f, fs.map((x) => x.violation.invariant).join(",")).toBeDefined();
    expect(f!.violation.message).toMatch(/rank -> vgic .*vgic -> rank|vgic -> rank .*rank -> vgic/);
    expect(f!.ops.length).toBeLessThanOrEqual(8);
    expect((f!.config as VgicConfig).variant).toBe("xen-4.8");
    expect(f!.schedule?.picks.length).toBeGreaterThan(0);
    expect(f!.narrative?.length).toBeGreaterThan(0);
    found.set("xen-4.8", f!);
  });

  it("finds v3-posted's lost interrupt (stuck active in the distributor)", () => {
    const fs = run("v3-posted", 3, 250);
    const f = fs.find((x) => x.violation.invariant === "lost" || x.violation.invariant === "stuck-active");
    expect(f, fs.map((x) => x.violation.invariant).join(",")).toBeDefined();
    expect(f!.ops.length).toBeLessThanOrEqual(8);
    found.set("v3-posted", f!);
  });

  it("reaches the out-of-bounds fold on xen-4.9 too, through an SPI retired on one pCPU and injected on another (README: seed 3, 2000 cases)", () => {
    const fs = run("xen-4.9", 3, 2000);
    const f = fs.find((x) => x.violation.invariant === "crash" && x.violation.message.includes("XSA-223"));
    expect(f, fs.map((x) => x.signature).join(",")).toBeDefined();
    // the case the README names for it
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const cited = /--variant xen-4\.9 --seed 3 --cases 2000`, case (\d+)\)/.exec(readme);
    expect(cited, "README cites the case").not.toBeNull();
    expect(f!.case).toBe(Number(cited![1]));
    expect(f!.violation.message).toMatch(/gic_update_one_lr\(d1v\d, lr=\d+\)/);
  });

  it("finds Xen 4.11's host crash from one GICD_ISPENDR write of an SGI bit (vgic_mmio_write_spending, then BUG_ON(!src))", () => {
    // RELEASE-4.11.0 vgic-mmio.c vgic_mmio_write_spending latches a pending
    // SGI with no source; vgic_v2_populate_lr's BUG_ON(!src) stops the host.
    // The architecture ignores SGI bits there (IHI 0048B 4.3.7).
    const fs = run("new-vgic", 1, 60);
    const f = fs.find((x) => x.violation.invariant === "crash" && x.violation.message.includes("BUG_ON(!src)"));
    expect(f, fs.map((x) => x.signature).join(",")).toBeDefined();
    expect(f!.ops).toEqual([expect.objectContaining({ t: "w", off: GICD.ISPENDR, size: 4 })]);
    const op = f!.ops[0] as Extract<VgicOp, { t: "w" }>;
    expect(op.value & ~0xffff).toBe(0);
    // the same write is harmless to the original vGIC
    const old = runVgicCase({ ...(f!.config as VgicConfig), variant: "xen-4.9" }, f!.ops as VgicOp[]);
    expect(old.violations.filter((v) => v.invariant === "crash")).toEqual([]);
  });

  it("finds no rank/vgic inversion and no ABBA deadlock in xen-4.9", () => {
    const fs = run("xen-4.9", 1, 250);
    const inv = fs.map((x) => x.violation.invariant);
    expect(inv.filter((i) => i.startsWith("lock-inversion"))).toEqual([]);
    // a deadlock, if any, may only be the single-thread irq_desc recursion of
    // a nested do_IRQ (see the report); never a cycle over rank and vgic
    expect(inv.filter((i) => i.startsWith("deadlock") && i !== "deadlock-irq_desc")).toEqual([]);
  });
});

describe("vgic findings", () => {
  it("replay to the same violation after a JSON round trip, from the schedule and from the seed", () => {
    expect(found.size).toBe(2);
    for (const f of found.values()) {
      const back = JSON.parse(JSON.stringify(f)) as Record<string, unknown>;
      const r = replay(back);
      expect(r.reproduced).toBe(true);
      expect(r.violation!.message).toBe(f.violation.message);
      const { schedule: _s, ...seedOnly } = back;
      expect(replay(seedOnly).reproduced).toBe(true);
    }
  });

  it("a violation's schedule is {v, picks} to its readers and JSON, its picks a getter shared by every schedule", () => {
    const f = found.get("xen-4.8")!;
    const a = runOps(vgicTarget, f.config, f.ops).violation as { schedule?: Schedule };
    const b = runOps(vgicTarget, f.config, f.ops).violation as { schedule?: Schedule };
    expect(Object.keys(a.schedule!)).toEqual(["v", "picks"]);
    expect(JSON.parse(JSON.stringify(a.schedule))).toEqual({ v: 1, picks: a.schedule!.picks });
    expect(a.schedule!.picks).toEqual(f.schedule!.picks);
    // (a getter closure per schedule would keep its bytes through young
    // collections: V8 keeps an own getter's accessor pair in old space)
    expect(Object.getOwnPropertyDescriptor(a.schedule, "picks")!.get).toBe(Object.getOwnPropertyDescriptor(b.schedule, "picks")!.get);
  });

  it("do not reproduce under the fixed design: the violation belongs to the variant", () => {
    const f = found.get("xen-4.8")!;
    const cfg = { ...(f.config as VgicConfig), variant: "xen-4.9" };
    const r = runOps(vgicTarget, cfg, f.ops);
    expect(r.violation?.invariant ?? "none").not.toBe("lock-inversion-rank-vgic");
  });

  it("refuse bad files, naming the field", () => {
    const f = JSON.parse(JSON.stringify(found.get("xen-4.8"))) as Record<string, unknown>;
    const bad = (patch: (x: Record<string, unknown>) => void, msg: RegExp) => {
      const x = JSON.parse(JSON.stringify(f)) as Record<string, unknown>;
      patch(x);
      expect(() => parseFinding(x)).toThrow(msg);
    };
    bad((x) => { (x.config as Record<string, unknown>).variant = "xen-9"; }, /^config\.variant: got "xen-9", expected one of/);
    bad((x) => { (x.ops as Array<Record<string, unknown>>)[0] = { v: 0, t: "zz" }; }, /^ops\[0\]\.t: got "zz"/);
    bad((x) => { x.schedule = { v: 1, picks: [-1] }; }, /^schedule: /);
    bad((x) => { ((x.config as Record<string, unknown>).sched as Record<string, unknown>).kind = "dfs"; }, /^config\.sched\.kind/);
  });
});

describe("vgic target: oracles", () => {
  const config: VgicConfig = {
    variant: "xen-4.9", pcpus: 2, placement: [0, 1], listRegisters: 4,
    spis: [{ irq: 40, target: 1, priority: 0xa0, enabled: true }], sched: { kind: "random", seed: 5 }, maxSteps: 50_000,
  };

  it("judge widths by the architecture: byte ITARGETSR/IPRIORITYR, word elsewhere", () => {
    expect(legalGicdAccess(GICD.ITARGETSR + 41, 1)).toBe(true);
    expect(legalGicdAccess(GICD.IPRIORITYR + 3, 1)).toBe(true);
    expect(legalGicdAccess(GICD.ISENABLER + 4, 1)).toBe(false);
    expect(legalGicdAccess(GICD.ICFGR + 8, 2)).toBe(false);
    expect(legalGicdAccess(GICD.SGIR, 4)).toBe(true);
    expect(legalGicdAccess(GICD.SGIR + 2, 4)).toBe(false);
  });

  it("treat a bad width as an expected domain crash that ends the vCPU's script", () => {
    const ops: VgicOp[] = [
      { v: 1, t: "w", off: GICD.ISENABLER + 4, size: 1, value: 0xff },
      { v: 1, t: "w", off: GICD.ISPENDR + 4, size: 4, value: 1 << 8 }, // not reached
      { v: 0, t: "w", off: GICD.ISPENDR + 4, size: 4, value: 1 << 8 }, // Xen aborts it
      { v: "dev", t: "raise", irq: 40, gap: 0 },
    ];
    const r = runVgicCase(config, ops);
    expect(r.violations).toEqual([]);
    expect(r.sys!.vgic.stats.domainCrashes).toBe(1);
    expect(r.sys!.vgic.stats.mmioDataAborts).toBe(1);
    expect(r.sys!.hyp.guests[1]!.stats.irqsHandled + r.sys!.hyp.guests[0]!.stats.irqsHandled).toBe(1);
  });

  it("report a legal access that crashes the domain", () => {
    // ITARGETSR0-7 are byte-accessible (read-only); Xen 4.8/4.9 accept only words there
    const r = runVgicCase(config, [{ v: 0, t: "w", off: GICD.ITARGETSR + 0x18, size: 1, value: 1 }]);
    expect(r.violations.map((v) => v.invariant)).toEqual(["domain-crash"]);
  });

  it("report an interrupt left pending for a vCPU blocked in WFI that nothing wakes", () => {
    // vCPU1 blocks with SPI 40 disabled; the device raises it (vgic_vcpu_inject_irq
    // queues it on inflight but, disabled, not in an LR); vCPU0 enables it:
    // 4.9's vgic_enable_irqs raises it (gic_raise_guest_irq, onto
    // lr_pending) and kicks nobody, so vCPU1 stays blocked with it deliverable
    // (4.8 deadlocks on this case first: the seed's rank/irq_desc inversion)
    const ops: VgicOp[] = [
      { v: 1, t: "wfi" },
      { v: 0, t: "w", off: GICD.ICENABLER + 4, size: 4, value: 1 << 8 },
      { v: "dev", t: "raise", irq: 40, gap: 0 },
      { v: 0, t: "w", off: GICD.ISENABLER + 4, size: 4, value: 1 << 8 },
      { v: 1, t: "wfi" },
    ];
    const stranded = { ...config, listRegisters: 2, sched: { kind: "random", seed: 2 } } as VgicConfig;
    for (const variant of ["xen-4.9", "xen-4.9-no-wmb"]) {
      const r = runVgicCase({ ...stranded, variant }, ops);
      expect(r.run!.reason).toBe("done");
      expect(r.sys!.hyp.guests[1]!.stats.irqsHandled).toBe(0);
      const lost = r.violations.filter((v) => v.signature === "lost:blocked-not-woken");
      expect(lost.map((v) => v.message), variant).toEqual([
        "vCPU1 is blocked in WFI while IRQ 40 (QUEUED|ENABLED, priority 160) is in flight and deliverable to it: nothing in this run wakes the vCPU (no kick; only another interrupt for it would), so it is never delivered",
      ]);
    }
    // the new vGIC's vgic_queue_irq_unlock kicks the target: delivered
    const nv = runVgicCase({ ...stranded, variant: "new-vgic" }, ops);
    expect(nv.violations).toEqual([]);
    expect(nv.sys!.hyp.guests[1]!.stats.irqsHandled).toBe(1);
    // masked by the guest's priority mask (GICV_PMR 0xf8), it would not wake
    // the vCPU on real hardware either (gic_events_need_delivery): no finding
    const masked = runVgicCase({ ...stranded, spis: [{ ...stranded.spis[0]!, priority: 0xf8 }] }, ops);
    expect(masked.run!.reason).toBe("done");
    expect(masked.violations.filter((v) => v.invariant === "lost")).toEqual([]);
  });

  it("an instance the guest withdraws through GICD_ICPENDR on the new vGIC is not a loss", () => {
    // do_IRQ injects SPI 35 (its latch set, the physical one active); vCPU2
    // writes ICPENDR: Xen 4.11's vgic_mmio_write_cpending clears the latch
    // and the physical pending and active state, so the guest never sees it
    const withdrawn: VgicConfig = {
      variant: "new-vgic", pcpus: 3, placement: [0, 1, 2], listRegisters: 4,
      spis: [{ irq: 35, target: 1, priority: 192, enabled: true }, { irq: 65, target: 1, priority: 160, enabled: true }],
      sched: { kind: "random", seed: 3903864872 }, maxSteps: 50_000,
    };
    const r = runVgicCase(withdrawn, [
      { v: "dev", t: "raise", irq: 35, gap: 2 },
      { v: 2, t: "w", off: GICD.ICPENDR + 4, size: 4, value: 1 << 3 },
    ]);
    expect(r.run!.reason).toBe("done");
    expect(r.sys!.hyp.guests.reduce((n, g) => n + g.stats.irqsHandled, 0)).toBe(0);
    // it was "lost:acked-not-handled": acknowledged once, handled never
    expect(r.violations).toEqual([]);
  });

  it("runs a clean case clean: raised SPIs delivered, GICV flows, SGIs", () => {
    const ops: VgicOp[] = [
      { v: "dev", t: "raise", irq: 40, gap: 0 },
      { v: 0, t: "w", off: GICD.SGIR, size: 4, value: (1 << 24) | 3 },
      { v: 1, t: "gicv", kind: "ack-eoi" },
      { v: 1, t: "work", cycles: 3000 },
      { v: "dev", t: "raise", irq: 40, gap: 5 },
      { v: 0, t: "wfi" },
    ];
    const r = runVgicCase(config, ops);
    expect(r.violations).toEqual([]);
    expect(r.run!.reason).toBe("done");
  });
});

describe("vgic target from the command line", () => {
  const bundle = "build/vgic.mjs";
  it("exits 1 with a finding file that --replay reproduces", () => {
    expect(existsSync(bundle)).toBe(true);
    const cli = (...args: string[]) => spawnSync(process.execPath, [bundle, "fuzz", ...args], { encoding: "utf8" });
    expect(cli("--target", "vgic", "--variant", "xen-5").status).toBe(2);
    const out = mkdtempSync(join(tmpdir(), "vgic-fuzz-vgic-"));
    const r = cli("--target", "vgic", "--variant", "xen-4.8", "--cases", "300", "--seconds", "600", "--out", out);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/exec\/s, \d+ ops\/s, [1-9]\d* findings/);
    const files = readdirSync(out).filter((n) => n.startsWith("vgic-lock-inversion-rank-vgic-"));
    expect(files.length).toBe(1);
    const file = join(out, files[0]!);
    expect(JSON.parse(readFileSync(file, "utf8")).schedule.v).toBe(1);
    const p = cli("--replay", file);
    expect(p.stdout).toMatch(/^reproduced: lock-inversion-rank-vgic at operation/);
    expect(p.status).toBe(1);
  });
});

describe("schemas/finding.schema.json", () => {
  it("accepts every finding file vgic fuzz writes and whatever the reader accepts; refuses what both must", () => {
    const vgic = fuzz({ target: "vgic", seed: 1, cases: 150, params: { variant: "xen-4.8" }, shrinkBudget: 300, improve: 1, stopOnFinding: true }).findingsList[0]!;
    const hw = fuzz({ target: "hw", seed: 7, cases: 10_000, faults: ["ignore-w1c"], stopOnFinding: true }).findingsList[0]!;
    const written = [vgic, hw].map((f) => JSON.parse(JSON.stringify(f)) as Record<string, unknown>);
    for (const f of written) {
      expect(FindingJson.safeParse(f).success, String(f.target)).toBe(true);
      expect(() => parseFinding(f)).not.toThrow();
    }
    // the schema is the looser: a file the reader takes is never refused by it
    const dir = new URL("./hostile/", import.meta.url);
    const files = readdirSync(dir).filter((n) => n.startsWith("finding-"));
    expect(files.length).toBeGreaterThan(10);
    let taken = 0;
    for (const n of files) {
      const x = JSON.parse(readFileSync(new URL(n, dir), "utf8")) as unknown;
      let ok = true;
      try { parseFinding(x); } catch { ok = false; }
      if (ok) { taken++; expect(FindingJson.safeParse(x).success, n).toBe(true); }
    }
    expect(taken).toBeGreaterThan(0);
    const f = written[0]!;
    for (const [what, bad] of [
      ["a stray field", { ...f, extra: 1 }], ["format", { ...f, format: "vgic-lab-counterexample" }], ["target", { ...f, target: "cpu" }],
      ["seed", { ...f, seed: -1 }], ["ops", { ...f, ops: [] }], ["violation stray", { ...f, violation: { ...(f.violation as object), at: 1 } }],
      ["violation.op", { ...f, violation: { ...(f.violation as object), op: -1 } }], ["repeats", { ...f, repeats: 0 }],
      ["schedule", { ...f, schedule: { v: 1, picks: [300] } }], ["trace", { ...f, trace: [1] }],
    ] as const) {
      expect(FindingJson.safeParse(bad).success, what).toBe(false);
      expect(() => parseFinding(bad), what).toThrow();
    }
  }, 60_000);
});

