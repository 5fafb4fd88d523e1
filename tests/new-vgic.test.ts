// Xen 4.11's new vGIC (host/xen/new-vgic, xen/arch/arm/vgic/ at
// RELEASE-4.11.0): its distributor emulation against the architecture (IHI
// 0048B) and against Xen's own choices where they differ, its lock order
// under lockdep, the seed's scenarios, and determinism.
import { describe, expect, it } from "vitest";
import { readFileSync } from "node:fs";
import { buildSystem, type System } from "../host/xen/system.ts";
import { guestCpuInterfaces, guestIrq } from "../host/xen/setup.ts";
import type { GuestCpu, GuestProgram } from "../host/guest/guest.ts";
import type { Co } from "../host/sim/api.ts";
import { Sched } from "../host/sim/sched.ts";
import { GICD, GICV, sgir } from "../host/hw/regs.ts";
import { checkVgic } from "../host/check/vgic.ts";
import type { NewVgic } from "../host/xen/new-vgic/vgic.ts";
import { VGIC_ADDR_TO_INTID } from "../host/xen/new-vgic/mmio.ts";
import { explore } from "../host/explore/engine.ts";
import { SCENARIOS, scenarioNamed } from "../host/xen/scenarios.ts";
import { runWorkload } from "../host/workload/runner.ts";
import { workload } from "./workload-helpers.ts";
import { explainVgicCase, runVgicCase, type VgicConfig, type VgicOp } from "../host/fuzz/vgic.ts";
import { fuzz } from "../host/fuzz/engine.ts";

type Op = ["r", number, 1 | 2 | 4] | ["w", number, number, 1 | 2 | 4];

/** One booted vCPU (or more) issuing trapped GICD accesses; returns the
 *  values read, in order. */
function accesses(ops: Op[], o: { vcpus?: number; routed?: number[]; spis?: number } = {}) {
  const reads: number[] = [];
  const nv = o.vcpus ?? 1;
  const programs: (GuestProgram | undefined)[] = [function* (g: GuestCpu): Co {
    for (const op of ops) {
      if (op[0] === "r") reads.push(yield* g.readDist(op[1], op[2]));
      else yield* g.writeDist(op[1], op[2], op[3]);
    }
  }];
  for (let i = 1; i < nv; i++) programs.push(undefined);
  const sys = buildSystem({
    variant: "new-vgic", pcpus: nv, irqs: 32 + (o.spis ?? 64), instantBoot: true,
    routed: (o.routed ?? []).map((irq) => ({ irq, edge: true })), programs,
  });
  guestCpuInterfaces(sys);
  const r = sys.machine.run({ maxSteps: 200_000 });
  return { reads, r, sys, vgic: sys.vgic as NewVgic };
}

describe("new-vgic: the distributor against IHI 0048B", () => {
  it("GICD_TYPER gives ITLinesNumber and CPUNumber (4.3.2); IIDR is KVM's product with Xen's variant; CTLR.Enable reads back", () => {
    const { reads } = accesses([["r", GICD.TYPER, 4], ["r", GICD.IIDR, 4], ["w", GICD.CTLR, 1, 4], ["r", GICD.CTLR, 4]], { vcpus: 2, spis: 64 });
    expect(reads[0]).toBe((((64 + 32) / 32) - 1) | ((2 - 1) << 5));
    // vgic-mmio-v2.c: PRODUCT_ID_KVM 0x4b, VARIANT_ID_XEN 0x01, IMPLEMENTER_ARM 0x43b
    expect(reads[1]).toBe(0x4b01043b);
    expect(reads[2]).toBe(1);
  });

  it("ISENABLER sets and ICENABLER clears only the bits written as 1, both read the enable state (4.3.5, 4.3.6)", () => {
    const { reads, vgic } = accesses([
      ["w", GICD.ISENABLER + 4, 0b1010, 4], ["r", GICD.ISENABLER + 4, 4],
      ["w", GICD.ISENABLER + 4, 0b0100, 4], ["w", GICD.ICENABLER + 4, 0b0010, 4],
      ["r", GICD.ICENABLER + 4, 4], ["r", GICD.ISENABLER, 4],
    ]);
    expect(reads[0]).toBe(0b1010);
    expect(reads[1]).toBe(0b1100);
    // SGIs are enabled at vCPU init (vgic_vcpu_early_init), PPIs not
    expect(reads[2]).toBe(0x0000ffff);
    expect(vgic.dist.spis[3]!.enabled).toBe(true);
  });

  it("ISPENDR/ICPENDR set and clear the pending latch; a level line stays pending when the latch is cleared (4.3.7, 4.3.8)", () => {
    const { reads, vgic } = accesses([
      ["w", GICD.ISPENDR + 4, 0b11, 4], ["r", GICD.ISPENDR + 4, 4],
      ["w", GICD.ICPENDR + 4, 0b01, 4], ["r", GICD.ICPENDR + 4, 4],
    ]);
    expect(reads[0]).toBe(0b11);
    expect(reads[1]).toBe(0b10);
    const level = vgic.dist.spis[1]!;
    level.config = 1; // a level line held high: pending whatever the latch
    level.line_level = true;
    level.pending_latch = false;
    expect(vgic.virtualPending(vgic.machine.gic as never, 33)).toBe(1);
  });

  it("IPRIORITYR is byte-accessible and keeps the five priority bits Xen implements (VGIC_PRI_BITS; 3.3: low bits RAZ/WI)", () => {
    const { reads } = accesses([
      ["w", GICD.IPRIORITYR + 40, 0x12345678, 4], ["r", GICD.IPRIORITYR + 40, 4],
      ["w", GICD.IPRIORITYR + 42, 0xff, 1], ["r", GICD.IPRIORITYR + 42, 1], ["r", GICD.IPRIORITYR + 40, 4],
    ]);
    expect(reads[0]).toBe(0x10305078 & 0xf8f8f8f8);
    expect(reads[1]).toBe(0xf8);
    expect(reads[2]).toBe(0x10f85078 & 0xf8f8f8f8);
  });

  it("ITARGETSR: SGI/PPI bytes read-only with the reader's own bit (4.3.12), SPI bytes bounded by the vCPU count, the HW affinity moved at once", () => {
    const { reads, vgic, sys } = accesses([
      ["r", GICD.ITARGETSR + 0, 4], ["w", GICD.ITARGETSR + 0, 0xffffffff, 4], ["r", GICD.ITARGETSR + 28, 4],
      ["w", GICD.ITARGETSR + 40, 0xfe, 1], ["r", GICD.ITARGETSR + 40, 1],
    ], { vcpus: 2, routed: [40] });
    expect(reads[0]).toBe(0x01010101);
    expect(reads[1]).toBe(0x01010101);
    expect(reads[2]).toBe(0x02); // 0xfe & cpu_mask (two vCPUs)
    expect(vgic.dist.spis[8]!.target_vcpu?.vcpu_id).toBe(1);
    // vgic_mmio_write_target: irq_set_affinity to the target's pCPU under irq_lock
    expect(sys.gic.readDist(0, GICD.ITARGETSR + 40, 1)).toBe(1 << 1);
  });

  it("ICFGR: SGIs and PPIs read-only, SPIs edge or level by bit 2F+1 (4.3.13); SPIs start edge (zeroed vgic_irq)", () => {
    const { reads } = accesses([
      ["r", GICD.ICFGR + 4, 4], ["r", GICD.ICFGR + 8, 4], ["w", GICD.ICFGR + 4, 0, 4], ["w", GICD.ICFGR + 8, 0x8, 4],
      ["r", GICD.ICFGR + 4, 4], ["r", GICD.ICFGR + 8, 4],
    ]);
    expect(reads[0]).toBe(0); // PPIs level
    expect(reads[1]).toBe(0xaaaaaaaa); // SPIs 32-47 edge
    expect(reads[2]).toBe(0);
    expect(reads[3]).toBe(0x8); // only SPI 33 edge now
  });

  it("a bad access is a data abort, never a domain crash: halfword, unaligned, unmapped, beyond the interrupts (check_region)", () => {
    const { vgic } = accesses([
      ["r", GICD.ISENABLER, 2], ["r", GICD.ISENABLER + 1, 1], ["r", GICD.CTLR, 1], ["r", 0xc00 + 0x100, 4], ["r", 0xfe8, 4],
      ["r", GICD.ISENABLER + 0x7c, 4], ["r", GICD.ISENABLER, 4],
    ], { spis: 32 });
    expect(vgic.stats.mmioDataAborts).toBe(6);
    expect(vgic.stats.domainCrashes).toBe(0);
  });

  it("IGROUPR reads as all ones and ignores writes; ISACTIVER/ICACTIVER writes are not emulated (Xen 4.11 logs them)", () => {
    const { reads, vgic } = accesses([
      ["w", GICD.IGROUPR + 4, 0, 4], ["r", GICD.IGROUPR + 4, 4], ["w", GICD.ISACTIVER + 4, 0xff, 4], ["r", GICD.ISACTIVER + 4, 4],
    ]);
    expect(reads).toEqual([0xffffffff, 0]);
    expect(vgic.dist.spis.some((i) => i.active)).toBe(false);
  });

  it("SGIR keeps one pending state per source: two vCPUs send the same SGI to a third, which takes it once per source, GICV_IAR naming each (4.4.4)", () => {
    const got: Array<[number, number]> = [];
    const sender = (g: GuestCpu) => g.writeDist(GICD.SGIR, sgir(0, 1 << 2, 5));
    const sys = buildSystem({
      variant: "new-vgic", pcpus: 3, instantBoot: true,
      programs: [
        function* (g) { yield* g.work(1000); yield* sender(g); },
        function* (g) { yield* g.work(1000); yield* sender(g); },
        function* (g) {
          g.irqsEnabled = false; // both arrive before it looks
          yield* g.work(20_000);
          for (let k = 0; k < 2; k++) {
            const iar = g.readCpu(GICV.IAR);
            got.push([iar & 0x3ff, (iar >>> 10) & 7]);
            g.writeCpu(GICV.EOIR, iar);
            yield* g.work(200);
            yield* g.readDist(GICD.TYPER); // a trap: fold and refill the LRs
          }
        },
      ],
    });
    guestCpuInterfaces(sys);
    for (let v = 0; v < 3; v++) guestIrq(sys, { irq: 5, target: v });
    sys.machine.run({ maxSteps: 200_000 });
    expect(got.sort()).toEqual([[5, 0], [5, 1]]);
    expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
  });

  it("Xen 4.11's SGI pending registers compute INTID 784+ (VGIC_ADDR_TO_INTID masks with 0x3ff; KVM takes addr & 0x0f) and index past a small domain's SPIs", () => {
    expect(VGIC_ADDR_TO_INTID(GICD.CPENDSGIR, 8)).toBe(784);
    expect(VGIC_ADDR_TO_INTID(GICD.SPENDSGIR + 3, 8)).toBe(803);
    expect(GICD.SPENDSGIR & 0x0f).toBe(0);
    const { r } = accesses([["w", GICD.SPENDSGIR, 0x1, 4]], { spis: 64 });
    expect(r.reason).toBe("error");
    expect(r.error?.message).toMatch(/vgic_get_irq: INTID 800 is beyond the domain's 96 interrupts/);
  });

  it("the reserved SGIR filter is not refused (Xen 4.11's dead `case 0x3`): its raw target list reaches past the vCPUs (fixed by be7f0cc651)", () => {
    const within = accesses([["w", GICD.SGIR, sgir(3, 0b1, 4), 4]], { vcpus: 2 });
    expect(within.r.reason).not.toBe("error");
    expect(within.vgic.stats.mmioDataAborts).toBe(0);
    const beyond = accesses([["w", GICD.SGIR, sgir(3, 0xff, 4), 4]], { vcpus: 2 });
    expect(beyond.r.reason).toBe("error");
    expect(beyond.r.error?.message).toMatch(/d->vcpu\[2\] read beyond the domain's 2 vCPUs/);
  });
});

/** Lock acquisitions in trace order per thread: when a thread takes an
 *  ap_list lock while holding another, the held one's vCPU id is lower. */
function apListNesting(sys: System): { nested: number; bad: string[] } {
  const held = new Map<number, string[]>();
  let nested = 0;
  const bad: string[] = [];
  const id = (n: string) => Number(/v(\d+)\.ap_list/.exec(n)![1]);
  for (const e of sys.machine.trace!.events) {
    if (e.kind !== "lock" && e.kind !== "unlock") continue;
    const h = held.get(e.tid) ?? [];
    held.set(e.tid, h);
    if (e.kind === "unlock") { h.splice(h.lastIndexOf(e.name), 1); continue; }
    if (e.name.endsWith(".ap_list")) {
      for (const o of h.filter((x) => x.endsWith(".ap_list"))) {
        nested++;
        if (id(o) >= id(e.name)) bad.push(`${o} held while taking ${e.name}`);
      }
    }
    h.push(e.name);
  }
  return { nested, bad };
}

/** The seed workload on new-vgic, run once for the tests that read it. */
let seedRun: ReturnType<typeof runWorkload> | undefined;
const seedWorkload = () => (seedRun ??= runWorkload(workload("seed-migrate"), { variant: "new-vgic" }));

describe("new-vgic: lock order under lockdep", () => {
  it("the seed workload: no inversion, and the order vgic.c documents (ap_list -> irq_lock, irq_desc -> irq_lock, never back)", () => {
    const res = seedWorkload();
    const r = res.result;
    expect(r.findings.filter((f) => f.kind === "lock-inversion" || f.kind === "lockdep" || f.kind === "deadlock")).toEqual([]);
    const g = res.sys.machine.lockdep!.graph();
    expect(g["ap_list"]).toContain("irq_lock");
    expect(g["irq_desc"]).toContain("irq_lock");
    expect(g["irq_lock"] ?? []).not.toContain("ap_list");
    expect(g["irq_lock"] ?? []).not.toContain("irq_desc");
    // do_IRQ holds the desc lock into vgic_queue_irq_unlock's ap_list lock:
    // above ap_list, against the header's order, yet no cycle (nothing takes
    // a desc lock under an ap_list lock)
    expect(g["irq_desc"]).toContain("ap_list");
    expect(g["ap_list"] ?? []).not.toContain("irq_desc");
  });

  it("the seed workload under realistic timing: every instance delivered or coalesced, nothing lost; a vCPU the prune left blocked is woken by its timer", () => {
    const r = seedWorkload().result;
    expect(r.findings).toEqual([]);
    for (const src of r.interrupts.sources) {
      expect(src.lost, src.name).toBe(0);
      expect(src.dropped, src.name).toBe(0);
      expect(src.delivered + src.coalesced + src.pending, src.name).toBe(src.raised);
    }
    expect(r.vgic.vtimerSoftInjections).toBeGreaterThan(0);
  });

  it("the README's fuzz campaign (--variant new-vgic --seed 1 --cases 300): no lock inversion, lockdep report or deadlock", () => {
    // The README says this campaign finds no inversion or deadlock (seed 3
    // finds a self-deadlock: the test below). It reaches the HW interrupts' physical side under
    // the desc lock then irq_lock (a guest ISPENDR write to a HW interrupt:
    // the README's stuck-active finding of this campaign), where the reverse
    // order would meet irq_desc -> irq_lock taken elsewhere (the fold,
    // vgic_sync_from_lrs) as an ABBA: lockdep reports it within 5 cases.
    const r = fuzz({ target: "vgic", seed: 1, cases: 300, params: { variant: "new-vgic" }, signaturesOnly: true });
    expect(r.cases).toBe(300);
    const sigs = Object.entries(r.signatures);
    expect(sigs.filter(([name, s]) => /^(lock-inversion|lockdep|deadlock)/.test(name) || ["lock-inversion", "lockdep", "deadlock"].includes(s.invariant))).toEqual([]);
    expect(sigs.map(([name]) => name)).toContain("stuck-active");
  });

  it("a guest ICPENDR write to a HW SPI that pCPU1 is handling in do_IRQ clears its physical active state, and the next edge deadlocks pCPU1 on its own desc lock (fuzz --seed 6 --cases 1500: case 118)", () => {
    // the campaign's case 118 shows it (seed 6; run alone by its index)
    const camp = fuzz({ target: "vgic", seed: 6, indices: [118], params: { variant: "new-vgic" }, signaturesOnly: true });
    expect(Object.keys(camp.signatures).sort()).toEqual(["deadlock-irq_desc", "lockdep-recursive"]);
    // a shrunk case of the same (found at seed 3 before the fuzzer drew SGI
    // words): vCPU0 writes GICD_ICPENDR1 bit 15 (SPI 47, routed, targeting
    // vCPU1 on pCPU1), the device raises SPI 47 twice
    const config: VgicConfig = {
      variant: "new-vgic", pcpus: 2, placement: [0, 1, 1, 1], listRegisters: 4,
      spis: [{ irq: 40, target: 0, priority: 192, enabled: true }, { irq: 47, target: 1, priority: 160, enabled: true }],
      sched: { kind: "random", seed: 591742259 }, maxSteps: 50000, timeSlice: 20000,
    };
    const ops: VgicOp[] = [
      { v: 0, t: "w", off: GICD.ICPENDR + 4, size: 4, value: 1 << 15 },
      { v: "dev", t: "raise", irq: 47, gap: 3 },
      { v: "dev", t: "raise", irq: 47, gap: 3 },
    ];
    const inv = (c: VgicConfig, o: VgicOp[]) => {
      const r = runVgicCase(c, o);
      r.sys?.gic.release();
      return r.violations.map((v) => v.invariant);
    };
    expect(inv(config, ops)).toEqual(["deadlock-irq_desc", "lockdep-recursive"]);
    const tail = explainVgicCase(config, ops, undefined, 80);
    const at = (re: RegExp) => {
      const i = tail.findIndex((l) => re.test(l));
      expect(i, String(re)).toBeGreaterThanOrEqual(0);
      return i;
    };
    // pCPU1 acknowledges SPI 47 (GICC_IAR = 0x2f: active) and enters do_IRQ
    const ack = at(/pCPU1: reads 0x801000c = 0x2f$/);
    // vgic_mmio_write_cpending on pCPU0, under the desc lock: GICD_ICPENDR
    // and, the vIRQ not being active yet, GICD_ICACTIVER for SPI 47
    // (gic_set_active_state(desc, false); RELEASE-4.11.0 vgic-mmio.c)
    const icpendr = at(/pCPU0: writes 0x8000284 = 0x8000$/);
    const icactiver = at(/pCPU0: writes 0x8000384 = 0x8000$/);
    // pCPU1's priority drop (GICC_EOIR 0x2f, under the desc lock in do_IRQ)
    const drop = at(/pCPU1: writes 0x8010010 = 0x2f$/);
    // the second edge, no longer held back by an active state, is taken at
    // once (gic_interrupt runs do_IRQ with IRQs on) and do_IRQ's plain
    // spin_lock meets the lock pCPU1 holds itself
    const again = tail.findIndex((l, i) => i > drop && /pCPU1: reads 0x801000c = 0x2f$/.test(l));
    const self = at(/pCPU1: do_IRQ spins on irq_desc\[47\]\.lock held by pCPU1$/);
    expect(ack).toBeLessThan(icpendr);
    expect(icpendr).toBeLessThan(icactiver);
    expect(icactiver).toBeLessThan(drop);
    expect(again).toBeGreaterThan(drop);
    expect(self).toBeGreaterThan(again);
    // without the ICPENDR write, with one edge, or on the original vGIC
    // (whose ICPENDR leaves the physical side alone): no deadlock
    expect(inv(config, ops.slice(1))).toEqual([]);
    expect(inv(config, ops.slice(0, 2))).toEqual([]);
    expect(inv({ ...config, variant: "xen-4.9" }, ops)).toEqual([]);
  });

  it("vgic_prune_ap_list takes two ap_list locks lower vCPU id first, whichever vCPU prunes", () => {
    // the seed scenario's prune moves an interrupt from vCPU1 to vCPU0
    // (vCPU1 holds it; the lower id is the target) and the lazy-clear
    // scenario from vCPU0 to vCPU1
    let nested = 0;
    for (const name of ["lr-pending-migrate", "second-irq-lazy-clear", "itargetsr-concurrent"]) {
      for (let seed = 1; seed <= 4; seed++) {
        const run = scenarioNamed(name).build("new-vgic", Sched.random(seed), { trace: true });
        run.sys.machine.run({ maxSteps: 200_000 });
        const n = apListNesting(run.sys);
        expect(n.bad, name).toEqual([]);
        nested += n.nested;
        expect(run.sys.machine.lockdep!.reports).toEqual([]);
      }
    }
    expect(nested).toBeGreaterThanOrEqual(4);
  });
});

const kinds = (c: { findings: { kind: string }[] } | undefined) => [...new Set((c?.findings ?? []).map((f) => f.kind))].sort();

describe("new-vgic: the seed's scenarios", () => {
  it("rank-abba: no rank lock, no inversion, nothing lost: clean exhaustively within 1 preemption (the matrix: 2)", () => {
    const r = explore({ scenario: scenarioNamed("rank-abba"), variant: "new-vgic", bound: 1, budget: 3000 });
    expect(r.counterexample).toBeUndefined();
    expect(r.exhausted).toBe(true);
  });

  it("lr-pending-migrate: the prune moves the SPI to vCPU0 already blocked in WFI and kicks nobody (Xen 4.11 vgic_prune_ap_list; later KVM kicks)", () => {
    const r = explore({ scenario: scenarioNamed("lr-pending-migrate"), variant: "new-vgic", bound: 2, budget: 3000 });
    expect(r.counterexample!.preemptions).toBe(0);
    expect(kinds(r.counterexample)).toEqual(["lost"]);
    expect(r.counterexample!.findings.some((f) => /IRQ 40 is pending\+enabled on d1v0's ap_list, target vCPU0, but vCPU0 is blocked in WFI/.test(f.message))).toBe(true);
  });

  it("under realistic timing every seed scenario delivers its interrupt on new-vgic", () => {
    // the README counts them in words: "all nine scenarios deliver"
    const readme = readFileSync(new URL("../README.md", import.meta.url), "utf8");
    const said = /Under the `time` scheduler all\s+(\w+) scenarios deliver/.exec(readme)?.[1];
    expect(said).toBe(["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve"][SCENARIOS.length]);
    for (const { name } of SCENARIOS) {
      const run = scenarioNamed(name).build("new-vgic", Sched.time());
      const r = run.sys.machine.run({ maxSteps: 200_000 });
      expect(run.check(r), name).toEqual([]);
    }
  });

  it("second-irq-lazy-clear, migrate-reenable-window and stale-target-inject strand the interrupt the same way, one preemption deep", () => {
    for (const name of ["second-irq-lazy-clear", "migrate-reenable-window", "stale-target-inject"]) {
      const r = explore({ scenario: scenarioNamed(name), variant: "new-vgic", bound: 1, budget: 3000 });
      expect(r.counterexample?.preemptions, name).toBe(1);
      expect(kinds(r.counterexample), name).toEqual(["lost"]);
      expect(r.counterexample!.findings.some((f) => /is blocked in WFI and nobody will wake it/.test(f.message)), name).toBe(true);
    }
  });

  it("enable-inject-race: clean without preemption, exhaustively, and under 60 PCT schedules", () => {
    // (vgic explore --matrix searches it to 6000 schedules within 2 preemptions)
    const d = explore({ scenario: scenarioNamed("enable-inject-race"), variant: "new-vgic", bound: 0, budget: 3000 });
    expect(d.counterexample).toBeUndefined();
    expect(d.exhausted).toBe(true);
    const p = explore({ scenario: scenarioNamed("enable-inject-race"), variant: "new-vgic", strategy: "pct", budget: 60 });
    expect(p.counterexample).toBeUndefined();
  });

  it("itargetsr-concurrent strands the SPI without preemption once it may land on pCPU1 while pCPU0 is ahead (vCPU0 blocked, vCPU1's write back moves it there at the prune)", () => {
    // The IRQ reaches pCPU1 whatever the clocks say: the adversarial
    // schedule decides when it lands. vCPU0 retargets SPI 40 to vCPU1 and
    // blocks; the SPI fires on pCPU1 and is queued on vCPU1's ap_list;
    // vCPU1 writes ITARGETSR back to vCPU0, and the prune moves it to
    // vCPU0's ap_list without a kick
    const d = explore({ scenario: scenarioNamed("itargetsr-concurrent"), variant: "new-vgic", bound: 0, budget: 3000 });
    expect(d.counterexample!.preemptions).toBe(0);
    expect(kinds(d.counterexample)).toEqual(["lost"]);
    expect(d.counterexample!.findings.some((f) => /IRQ 40 is pending\+enabled on d1v0's ap_list, target vCPU0, but vCPU0 is blocked in WFI/.test(f.message))).toBe(true);
  });
});

describe("new-vgic: determinism", () => {
  it("the same seed and scheduler give the same trace hash, a different seed another schedule", () => {
    const hash = (seed: number) => {
      const run = scenarioNamed("itargetsr-concurrent").build("new-vgic", Sched.random(seed), { trace: true });
      return run.sys.machine.run({ maxSteps: 200_000 }).traceHash;
    };
    expect(hash(5)).toBe(hash(5));
    expect(hash(5)).not.toBe(hash(6));
  });

  it("a workload run twice gives identical results", () => {
    const w = workload("net-storm");
    const a = runWorkload(w, { variant: "new-vgic", duration: 4_000_000 }).result;
    const b = runWorkload(w, { variant: "new-vgic", duration: 4_000_000 }).result;
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    expect(a.interrupts.delivered).toBeGreaterThan(50);
  });
});

describe("new-vgic: what the fuzzer found (vgic fuzz --target vgic --variant new-vgic --cases 300 --seed 1)", () => {
  const spi = (irq: number, target: number, priority: number) => ({ irq, target, priority, enabled: true });

  it("ISPENDR on a HW interrupt queues it before setting the physical active state: handled and deactivated first, the physical SPI stays active for ever", () => {
    const config: VgicConfig = {
      variant: "new-vgic", pcpus: 3, placement: [0, 1, 2], listRegisters: 2, spis: [spi(35, 2, 128), spi(65, 1, 160)],
      sched: { kind: "pct", seed: 1216574258, depth: 3 }, maxSteps: 50000,
    };
    const sys = runVgicCase(config, [{ v: 2, t: "w", off: GICD.ISPENDR + 8, size: 4, value: 2 }]).sys!;
    const stuck = checkVgic(sys.vgic, sys.gic).filter((f) => f.kind === "stuck-active");
    expect(stuck.map((f) => f.message)).toEqual([expect.stringMatching(/^physical IRQ 65 is active in the distributor with no HW list register/)]);
    expect((sys.vgic as NewVgic).dist.spis[65 - 32]!.vcpu).toBeNull();
  });

  it("an interrupt the guest's priority mask hides keeps WFI from blocking (vgic_vcpu_pending_irq has no priority test); the old design blocks", () => {
    const config: VgicConfig = {
      variant: "new-vgic", pcpus: 3, placement: [0, 1, 2], listRegisters: 2, spis: [spi(34, 2, 160), spi(35, 2, 128), spi(40, 0, 128)],
      sched: { kind: "random", seed: 374726244 }, maxSteps: 50000,
    };
    // IPRIORITYR for 32-35: IRQ 35 gets 0xf8, not above the PMR (0xf8)
    const ops: VgicOp[] = [{ v: "dev", t: "raise", irq: 35, gap: 0 }, { v: 2, t: "w", off: GICD.IPRIORITYR + 32, size: 4, value: 0xf8e2c289 }];
    expect(runVgicCase(config, ops).violations.map((v) => v.invariant)).toEqual(["no-quiescence"]);
    expect(runVgicCase({ ...config, variant: "xen-4.9" }, ops).violations).toEqual([]);
  });
});

describe("new-vgic: the shared checks see a broken state", () => {
  function booted() {
    const sys = buildSystem({ variant: "new-vgic", pcpus: 2, instantBoot: true, routed: [{ irq: 40, edge: true }], programs: [undefined, undefined] });
    guestCpuInterfaces(sys);
    guestIrq(sys, { irq: 40, target: 0 });
    return { sys, vgic: sys.vgic as NewVgic };
  }
  const messages = (sys: System) => checkVgic(sys.vgic, sys.gic).map((f) => `${f.kind}: ${f.message}`);

  it("a booted system is clean; an interrupt on two ap_lists, or named by irq->vcpu but on none, is a mismatch", () => {
    const { sys, vgic } = booted();
    expect(messages(sys)).toEqual([]);
    const irq = vgic.dist.spis[8]!;
    vgic.vgic_cpu[0]!.ap_list_head.push(irq);
    vgic.vgic_cpu[1]!.ap_list_head.push(irq);
    irq.vcpu = vgic.d.vcpu[1]!;
    expect(messages(sys)).toEqual([
      "lr-mismatch: IRQ 40 is on vCPU0's ap_list but irq->vcpu names vCPU1",
      "lr-mismatch: IRQ 40 is on the ap_lists of vCPU0 and vCPU1",
    ]);
    vgic.vgic_cpu[0]!.ap_list_head.length = 0;
    vgic.vgic_cpu[1]!.ap_list_head.length = 0;
    expect(messages(sys)).toEqual(["lr-mismatch: IRQ 40: irq->vcpu names vCPU1 but it is on no ap_list"]);
  });

  it("pending and enabled for a target but on no ap_list is lost; a physical SPI active with no way to be deactivated is stuck", () => {
    const { sys, vgic } = booted();
    vgic.dist.spis[8]!.pending_latch = true;
    sys.gic.writeDist(0, GICD.ISACTIVER + 4, 1 << 8);
    expect(messages(sys)).toEqual([
      "lost: IRQ 40 is pending+enabled, on no ap_list, target vCPU0: vgic_target_oracle names vCPU0 but it is on no ap_list, so it will never be delivered",
      "stuck-active: physical IRQ 40 is active in the distributor with no HW list register and IRQ 40 pending+enabled, on no ap_list, target vCPU0: nobody will deactivate it, and it will never fire again",
    ]);
  });

  it("an LR beyond used_lrs, or one saved with a vCPU that is not running, was never folded", () => {
    const { sys, vgic } = booted();
    const irq = vgic.dist.spis[8]!;
    irq.vcpu = vgic.d.vcpu[0]!;
    vgic.vgic_cpu[0]!.ap_list_head.push(irq);
    irq.active = true; // the oracle keeps it with vCPU0
    sys.gic.writeHyp(0, 0x100 + 4, (40 | (40 << 10) | (2 << 28) | (1 << 31)) >>> 0); // LR1, HW, active
    expect(messages(sys)).toEqual(["lr-mismatch: LR1 of vCPU0 holds IRQ 40 beyond used_lrs (0): vgic_sync_from_lrs will never fold it"]);
  });
});

describe("the fuzzer's judgement of a guest that pends an interrupt itself", () => {
  it("an ISPENDR write the design emulates is a raise of its own: handled with no physical acknowledge, no duplicate", async () => {
    const { runVgicCase } = await import("../host/fuzz/vgic.ts");
    const config = {
      variant: "new-vgic", pcpus: 2, placement: [0, 1], listRegisters: 4,
      spis: [{ irq: 33, target: 0, priority: 192, enabled: true }, { irq: 40, target: 1, priority: 160, enabled: true }],
      sched: { kind: "pct" as const, seed: 1481205728, depth: 3 }, maxSteps: 50000,
    };
    // vCPU1 sets ISPENDR1 bit 1: SPI 33 pending, delivered to vCPU0 by the design
    const handled: number[] = [];
    const out = runVgicCase(config, [{ v: 1, t: "w", off: GICD.ISPENDR + 4, size: 4, value: 2 }], {
      built: (sys: System) => { const d = sys.vgic.observer.delivered; sys.vgic.observer.delivered = (irq, v, c) => { handled.push(irq); d?.(irq, v, c); }; },
    });
    expect(handled).toContain(33);
    expect(out.violations.map((v) => v.invariant)).not.toContain("duplicate");
  });
});
