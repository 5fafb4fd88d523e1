// Each design is the release or the patch it names, line for line where a
// line decides which races exist (host/xen/variants.ts shows each hunk):
// - 4.8.0's gic_raise_inflight_irq folds n->lr even when the interrupt is
//   in flight without a list register (disabled): GIC_INVALID_LR, 0xff, an
//   out-of-bounds clear_bit on lr_mask (XSA-223); 4.9.0 carries 471d9ca43c;
// - 4.8.0's vgic_to_sgi reads d->vcpu[] past the array for a target list
//   bit at or above max_vcpus; 4.9.0 carries ac505ee0f2, which skips it;
// - the seed's v3 keeps 4.8's re-check of inflight under the old vCPU's
//   lock before setting MIGRATING.
import { describe, expect, it, vi } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { gic_cpu_init, gic_dist_init, gic_mask_irq, gic_raise_softirq, gic_unmask_irq } from "../host/guest/driver.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import type { Co, SchedPoint } from "../host/sim/api.ts";
import { checkRun, checkVgic } from "../host/check/vgic.ts";
import { GIC_INVALID_LR, GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING, GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE } from "../host/xen/pending.ts";
import { vgic_v2_distr_mmio } from "../host/xen/vgic-v2.ts";
import { GICD, LrState, decodeLr } from "../host/hw/regs.ts";
import type { Vgic } from "../host/xen/vgic.ts";
import { Lockdep, stackNames } from "../host/sim/lockdep.ts";
import { runWorkload } from "../host/workload/runner.ts";
import { workload } from "./workload-helpers.ts";

/** Run `programs` under `variant` to cycle 1,000,000, recording each
 *  delivery to a guest handler as "irq@vN". */
function runDelivering(variant: string, pcpus: number, programs: NonNullable<Parameters<typeof buildSystem>[0]["programs"]>) {
  const sys = buildSystem({ variant, pcpus, programs });
  const got: string[] = [];
  sys.vgic.observer.delivered = (irq, v) => got.push(`${irq}@v${v.vcpu_id}`);
  return { sys, got, r: sys.machine.run({ until: 1_000_000 }) };
}

/** vCPU0 disables SGI 5, raises it at itself twice, waits, then re-enables it. */
function disableInFlight(delivered: string[]) {
  return function* (g: GuestCpu): Co {
    yield* gic_dist_init(g);
    yield* gic_cpu_init(g);
    yield* gic_mask_irq(g, 5);
    yield* gic_raise_softirq(g, 0b1, 5); // in flight, disabled: on inflight_irqs, in no LR
    yield* gic_raise_softirq(g, 0b1, 5); // again, into the interrupt in flight
    yield* g.work(50_000);
    delivered.push(`before re-enable: ${g.stats.irqsHandled}`);
    yield* gic_unmask_irq(g, 5);
    yield* g.work(50_000);
  };
}

describe("a guest disabling an interrupt in flight (XSA-223)", () => {
  for (const variant of ["xen-4.8", "v3-posted", "v3-fixed"]) {
    it(`${variant} (4.8.0's gic_raise_inflight_irq) folds LR 0xff: out-of-bounds clear_bit on lr_mask, a host crash`, () => {
      const log: string[] = [];
      const { r } = runDelivering(variant, 1, [disableInFlight(log)]);
      expect(r.reason).toBe("error");
      expect(r.error!.message).toMatch(/^XSA-223: gic_update_one_lr\(d1v0, lr=255\) for IRQ 0: clear_bit\(255, &this_cpu\(lr_mask\)\)/);
      expect(checkRun(r).map((f) => f.kind)).toEqual(["error"]);
      expect(GIC_INVALID_LR).toBe(0xff);
    });
  }

  it("xen-4.9 (471d9ca43c) leaves it QUEUED on inflight_irqs, and delivers it once when re-enabled", () => {
    const log: string[] = [];
    const { sys, got, r } = runDelivering("xen-4.9", 1, [disableInFlight(log)]);
    expect(["until", "done"]).toContain(r.reason);
    expect(log).toEqual(["before re-enable: 0"]);
    expect(got).toEqual(["5@v0"]);
    expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
  });
});

describe("a GICD_SGIR target list naming vCPUs the domain does not have (ac505ee0f2, in 4.9.0, not in 4.8.0)", () => {
  /** vCPU0 of a 2-vCPU domain sends SGI 5 to the target list 0b110: vCPU1 and a vCPU2 that does not exist */
  const program = (log: string[]) => function* (g: GuestCpu): Co {
    yield* gic_dist_init(g);
    yield* gic_cpu_init(g);
    yield* gic_raise_softirq(g, 0b110, 5);
    log.push("sent");
    for (;;) yield* g.wfi();
  };
  const idle = function* (g: GuestCpu): Co { yield* gic_cpu_init(g); for (;;) yield* g.wfi(); };

  for (const variant of ["xen-4.8", "v3-posted", "v3-fixed"]) {
    it(`${variant} (4.8.0's vgic_to_sgi checks only for a NULL vCPU) reads d->vcpu[2] past the array: the run ends there`, () => {
      const log: string[] = [];
      const { r, got } = runDelivering(variant, 2, [program(log), idle]);
      expect(r.reason).toBe("error");
      expect(r.error!.message).toBe("vgic_to_sgi: target list bit 2 reads d->vcpu[2] past the array of 2 vCPUs: host memory read out of bounds");
      expect(checkRun(r).map((f) => `${f.kind} @${f.where}`)).toEqual(["error @vgic_to_sgi"]);
      expect(log).toEqual([]);
      expect(got).toEqual([]);
    });
  }

  for (const variant of ["xen-4.9", "xen-4.9-no-wmb"]) {
    it(`${variant} skips the bit past max_vcpus and delivers to vCPU1`, () => {
      const log: string[] = [];
      const { sys, got, r } = runDelivering(variant, 2, [program(log), idle]);
      expect(["until", "done"]).toContain(r.reason);
      expect(log).toEqual(["sent"]);
      expect(got).toEqual(["5@v1"]);
      expect(checkVgic(sys.vgic, sys.gic)).toEqual([]);
    });
  }
});

describe("v3's vgic_migrate_irq re-checks inflight under the old vCPU's lock", () => {
  for (const variant of ["v3-posted", "v3-fixed"]) {
    it(`${variant}: an SPI that leaves its LR between the unlocked test and the lock is not marked MIGRATING`, () => {
      const sys = buildSystem({ variant, instantBoot: true, routed: [40], programs: [undefined, undefined] });
      const [v0, v1] = sys.vgic.d.vcpu as [typeof sys.vgic.d.vcpu[0], typeof sys.vgic.d.vcpu[0]];
      const p = (sys.vgic as Vgic).d.spis[40 - 32]!;
      // SPI 40 in flight on vCPU0, in its LR 0 (as after an injection)
      v0.inflight_irqs.insertByPriority(p);
      p.set_bit(GIC_IRQ_GUEST_VISIBLE);
      p.lr = 0;
      const ctx = sys.machine.cpus[1]!;
      const co = (sys.vgic as Vgic).vgic_migrate_irq(ctx, v0, v1, 40);
      // run up to the unlocked list_empty test, and past it to the lock
      let r = co.next();
      while (!r.done && (r.value as SchedPoint | undefined)?.label !== "list_empty inflight") r = co.next();
      r = co.next();
      expect((r.value as SchedPoint).label).toBe(`lock ${v0.lock.name}`);
      // meanwhile vCPU0's pCPU folds the LR: the guest EOI'd it, it leaves inflight
      v0.inflight_irqs.del(p);
      p.clear_bit(GIC_IRQ_GUEST_VISIBLE);
      p.lr = GIC_INVALID_LR;
      while (!r.done) r = co.next();
      expect(p.test_bit(GIC_IRQ_GUEST_MIGRATING)).toBe(false);
      // so the next injection into the new vCPU is not dropped
      const dropped: string[] = [];
      sys.vgic.observer.dropped = (irq, _v, reason) => dropped.push(`${irq}: ${reason}`);
      const inj = (sys.vgic as Vgic).vgic_vcpu_inject_irq(ctx, v1, 40);
      for (let x = inj.next(); !x.done; x = inj.next());
      expect(dropped).toEqual([]);
      expect(p.inflight).toBe(v1);
    });
  }
});

describe("a time-slice exit folds the list registers with IRQs masked (Xen's scheduler timer is an IRQ)", () => {
  it("after boot, two computing vCPUs sharing a pCPU enter the hypervisor only through slices, always masked", () => {
    const BOOTED = 200_000;
    const compute = function* (g: GuestCpu): Co {
      if (g.v.vcpu_id === 0) yield* gic_dist_init(g);
      yield* gic_cpu_init(g);
      for (;;) yield* g.work(10_000);
    };
    const sys = buildSystem({ variant: "xen-4.9", pcpus: 1, placement: [0, 0], timeSlice: 50_000, programs: [compute, compute] });
    const masked: boolean[] = [];
    const head = sys.vgic.enter_hypervisor_head.bind(sys.vgic);
    sys.vgic.enter_hypervisor_head = (ctx) => {
      if (ctx.clock > BOOTED) masked.push(ctx.irqMasked);
      return head(ctx);
    };
    sys.machine.run({ until: 1_000_000 });
    expect(masked.length).toBeGreaterThan(10);
    expect(masked.every((m) => m)).toBe(true);
    expect(sys.vgic.stats.contextSwitches).toBeGreaterThan(10);
  });
});

describe("hard-IRQ context is do_IRQ's (irq_enter to irq_exit), not the IRQ exception's entry work", () => {
  // Xen's do_trap_irq runs enter_hypervisor_head (gic_clear_lrs; 4.11's
  // vgic_sync_from_lrs) and then gic_interrupt, whose do_IRQ calls
  // irq_enter and irq_exit (RELEASE-4.8.0, 4.9.0 and 4.11.0
  // xen/arch/arm/traps.c and irq.c). The entry work runs only when the
  // guest was interrupted, so it never interrupts hypervisor code holding
  // a lock: lockdep must see it with IRQs off, and do_IRQ's own
  // acquisitions as hard-IRQ ones. The exit work (leave_hypervisor_tail)
  // and the timer softirq run outside irq_enter too.
  for (const variant of ["xen-4.8", "xen-4.9", "new-vgic"]) {
    it(`${variant}: every lock taken under do_IRQ is a hard-IRQ acquisition, and none other in the IRQ exception; its fold is an IRQs-off one`, () => {
      const count = { doIrq: 0, entry: 0, rest: 0 };
      const wrong: string[] = [];
      const acquire = Lockdep.prototype.acquire;
      const spy = vi.spyOn(Lockdep.prototype, "acquire").mockImplementation(function (this: Lockdep, held, acq, trylock) {
        const names = stackNames(acq.stack);
        const at = names.lastIndexOf("irq"); // the innermost IRQ exception
        if (at >= 0) {
          const inDoIrq = names.includes("do_IRQ", at);
          const entry = !inDoIrq && ["gic_clear_lrs", "vgic_sync_from_lrs"].includes(names[at + 1]!);
          count[inDoIrq ? "doIrq" : entry ? "entry" : "rest"]++;
          const want = inDoIrq ? acq.irq === "hardirq" : entry ? acq.irq === "irqs-off" : acq.irq !== "hardirq";
          if (!want) wrong.push(`${acq.irq}: ${names.join(" > ")}`);
        }
        return acquire.call(this, held, acq, trylock);
      });
      try {
        runWorkload(workload("vcpu-shuffle"), { variant, duration: 2_000_000 });
      } finally {
        spy.mockRestore();
      }
      expect(wrong.slice(0, 5)).toEqual([]);
      expect(count.doIrq).toBeGreaterThan(0);
      expect(count.entry).toBeGreaterThan(0);
      expect(count.rest).toBeGreaterThan(0);
    });
  }
});

describe("sub-word accesses to the registers Xen 4.8 does not emulate, answered as vgic-v2.c does", () => {
  // vgic_v2_distr_mmio_write (RELEASE-4.8.0): ISPENDR, ICPENDR, ISACTIVER:
  // `if ( dabt.size != DABT_WORD ) goto bad_width;` then "unhandled word
  // write", return 0 (a data abort); ICACTIVER: "unhandled" then
  // write_ignore_32 (word: ignored, else bad_width); CPENDSGIR, SPENDSGIR:
  // byte or word "unhandled" (abort), halfword bad_width. Reads of all of
  // them: read_as_zero at any width.
  const WRITES: Array<[string, number, [string, string, string]]> = [
    ["ISPENDR", GICD.ISPENDR + 4, ["crash", "crash", "abort"]],
    ["ICPENDR", GICD.ICPENDR + 4, ["crash", "crash", "abort"]],
    ["ISACTIVER", GICD.ISACTIVER + 4, ["crash", "crash", "abort"]],
    ["ICACTIVER", GICD.ICACTIVER + 4, ["crash", "crash", "ok"]],
    ["CPENDSGIR", GICD.CPENDSGIR + 4, ["abort", "crash", "abort"]],
    ["SPENDSGIR", GICD.SPENDSGIR + 4, ["abort", "crash", "abort"]],
  ];
  const sys = buildSystem({ variant: "xen-4.8", instantBoot: true, programs: [undefined, undefined] });
  const ctx = sys.machine.cpus[0]!;
  const v = sys.vgic.d.vcpu[0]!;
  const access = (off: number, size: 1 | 2 | 4, write: boolean) => {
    const co = vgic_v2_distr_mmio(sys.vgic as Vgic, ctx, v, off, size, write, 0xffffffff);
    let r = co.next();
    while (!r.done) r = co.next();
    return r.value;
  };
  for (const [name, off, outcomes] of WRITES) {
    it(`${name}: byte, halfword and word writes are ${outcomes.join(", ")}; reads are zero at every width`, () => {
      expect(([1, 2, 4] as const).map((size) => access(off, size, true).outcome)).toEqual(outcomes);
      for (const size of [1, 2, 4] as const) expect(access(off, size, false)).toEqual({ outcome: "ok", value: 0 });
    });
  }
});

describe("gic_restore_pending_irqs walks lr_pending as list_for_each_entry_safe does", () => {
  // Xen (RELEASE-4.8.0 and 4.9.0 gic.c) reads the next entry before the
  // body runs; the body puts p in a list register, evicting the lowest-
  // priority pending one when all are used, and queues the victim on
  // lr_pending in priority order. A victim queued after that next entry is
  // visited in the same pass and evicts again, from the cursor on. Three
  // LRs hold V (0xa0), W (0xb0) and X (0xc0); P (0x80) and T (0x90) wait:
  //   P (next T): evicts X (queued after T) into LR2;
  //   T (next X): evicts W (queued before X) into LR1;
  //   X (next: the head): evicts V, the entry before the cursor at W, into LR0.
  // X, the least urgent, ends in a list register while V and W wait: that
  // is the release's behaviour, kept.
  /** Three LRs hold V, W, X (IRQs 50-52); `waiting` (irq, priority) wait on
   *  lr_pending; gic_restore_pending_irqs runs once. */
  const restore = (variant: string, waiting: Array<[number, number]>) => {
    const sys = buildSystem({ variant, pcpus: 1, listRegisters: 3, routed: [], programs: [undefined], instantBoot: true });
    const vgic = sys.vgic as Vgic;
    const v = vgic.d.vcpu[0]!;
    const ctx = sys.machine.cpus[0]!;
    const pc = vgic.pcpu[0]!;
    pc.current = v;
    const irq = (n: number, priority: number) => {
      const p = vgic.d.irq_to_pending(v, n);
      p.priority = priority;
      p.set_bit(GIC_IRQ_GUEST_ENABLED);
      v.inflight_irqs.insertByPriority(p);
      return p;
    };
    const set_lr = (vgic as unknown as { gic_set_lr: (c: unknown, lr: number, p: unknown, s: number) => void }).gic_set_lr.bind(vgic);
    [irq(50, 0xa0), irq(51, 0xb0), irq(52, 0xc0)].forEach((p, lr) => { set_lr(ctx, lr, p, LrState.Pending); pc.lr_mask[lr] = 1; });
    for (const [n, prio] of waiting) { const p = irq(n, prio); p.set_bit(GIC_IRQ_GUEST_QUEUED); v.lr_pending.insertByPriority(p); }
    (vgic as unknown as { restore_pending_locked: (c: unknown, v: unknown) => void }).restore_pending_locked(ctx, v);
    expect(v.lr_pending.items.every((p) => p.test_bit(GIC_IRQ_GUEST_QUEUED) && !p.test_bit(GIC_IRQ_GUEST_VISIBLE))).toBe(true);
    return { inLr: [0, 1, 2].map((i) => decodeLr(sys.gic.listRegister(0, i)).virtualId), waiting: v.lr_pending.items.map((p) => p.irq) };
  };
  for (const variant of ["xen-4.8", "xen-4.9"]) {
    it(`${variant}: the victim queued past the next entry takes a list register back`, () => {
      expect(restore(variant, [[40, 0x80], [41, 0x90]])).toEqual({ inLr: [52, 41, 40], waiting: [50, 51] });
    });

    it(`${variant}: with four waiting, the three most urgent take the list registers from the least urgent`, () => {
      // P (0x80), T (0x90), U (0x98) evict X, W, V in turn and fill LR2,
      // LR1, LR0; the pass ends (lrs reaches 0) with Z (0x9c) and the three
      // victims waiting in priority order. (Neither the inflight_r cursor nor
      // the countdown decides this case: without them the walk gives the
      // same, as Z meets its own priority first; no short case was found
      // where they do.)
      expect(restore(variant, [[40, 0x80], [41, 0x90], [42, 0x98], [43, 0x9c]])).toEqual({ inLr: [42, 41, 40], waiting: [43, 50, 51, 52] });
    });
  }
});

describe("WFI traps only when the vCPU would wait (ARM ARM WFI: the HCR_EL2.TWI trap is inside `if !InterruptPending()`)", () => {
  for (const variant of ["xen-4.9", "new-vgic"]) {
    it(`${variant}: with IRQs masked and an interrupt pending in its list register, WFI completes untrapped; with none it traps`, () => {
      const seen: string[] = [];
      const sys = buildSystem({
        variant, pcpus: 1, routed: [{ irq: 40, edge: true }], instantBoot: true,
        programs: [function* (g: GuestCpu): Co {
          yield* gic_dist_init(g);
          yield* gic_cpu_init(g);
          yield* gic_unmask_irq(g, 40);
          g.irqsEnabled = false; // local_irq_disable, as an idle loop does before WFI
          yield* g.work(40_000); // the device raises SPI 40 meanwhile: in an LR, VIRQ up
          seen.push(`before: ${traps} traps, ${g.stats.irqsHandled} handled`);
          yield* g.wfi();
          seen.push(`after a WFI with IRQ 40 pending: ${traps} traps, ${g.stats.irqsHandled} handled`);
          g.irqsEnabled = true;
          yield* g.work(1_000); // takes it
          seen.push(`unmasked: ${traps} traps, ${g.stats.irqsHandled} handled`);
          yield* g.wfi(); // nothing pending: traps (and blocks: the run ends)
          seen.push("never: nothing wakes the vCPU");
        }],
      });
      let traps = 0;
      const trap = sys.hyp.trap_wfi.bind(sys.hyp);
      sys.hyp.trap_wfi = function* (g: GuestCpu): Co { traps++; yield* trap(g); };
      sys.machine.at(20_000, "raise", (m) => { m.setLine(40, 1); m.setLine(40, 0); });
      sys.machine.run({ until: 2_000_000 });
      expect(seen).toEqual([
        "before: 0 traps, 0 handled",
        "after a WFI with IRQ 40 pending: 0 traps, 0 handled",
        "unmasked: 0 traps, 1 handled",
      ]);
      expect(traps).toBe(1);
    });
  }
});
