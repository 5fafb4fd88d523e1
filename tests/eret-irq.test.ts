// A physical IRQ pending when Xen returns to the guest is taken at the eret.
//
// leave_hypervisor_tail runs with IRQs masked; the eret restores the
// guest's PSTATE, and with HCR_EL2.IMO set a pending physical IRQ is taken
// to EL2 at the first instruction boundary after it, whatever the guest's
// own mask. So the guest runs no instruction between its return and that
// IRQ: here an SPI raised while its vCPU is on the way back from a trapped
// GICD read has been injected (its list register written, the virtual IRQ
// line up) by the time the read returns to the guest.
//
// The switch to a vCPU has its own window: schedule_tail enables IRQs at
// EL2 after ctxt_switch_to (RELEASE-4.9.0 xen/arch/arm/domain.c), before
// the return path's leave_hypervisor_tail, so an IRQ raised during the
// switch is acknowledged there, not as an exit from the guest just entered.
// And an exit that ends a time slice returns through leave_hypervisor_tail,
// which enables IRQs before do_softirq runs the scheduler (RELEASE-4.9.0
// xen/arch/arm/traps.c): an IRQ raised during the exit is acknowledged
// before the switch to the next vCPU.

import { describe, expect, it } from "vitest";
import { buildSystem } from "../host/xen/system.ts";
import { VARIANTS } from "../host/xen/variants.ts";
import { gic_cpu_init, gic_dist_init, gic_set_affinity, gic_set_type, gic_unmask_irq } from "../host/guest/driver.ts";
import { GICD } from "../host/hw/regs.ts";
import { Line } from "../host/hw/gic.ts";
import type { Co } from "../host/sim/api.ts";
import type { PCpu } from "../host/sim/machine.ts";
import type { Vcpu } from "../host/xen/domain.ts";
import type { GuestCpu } from "../host/guest/guest.ts";
import { bootEdgeSpis } from "./workload-helpers.ts";

const SPI = 40;


/** One vCPU that boots with `spis` (bootEdgeSpis), is then armed, and goes on
 *  with `then`; `edge` pulses an SPI's line (a device's edge). */
function armedSystem(variant: string, spis: readonly number[], then: (g: GuestCpu) => Co) {
  const state = { armed: false };
  const sys = buildSystem({
    variant, routed: spis.map((irq) => ({ irq, edge: true })),
    programs: [
      function* (g) {
        yield* bootEdgeSpis(g, spis);
        state.armed = true;
        yield* then(g);
      },
    ],
  });
  const edge = (irq: number) => { sys.machine.setLine(irq, 1); sys.machine.setLine(irq, 0); };
  return { sys, state, edge };
}

function returnWithIrq(variant: string) {
  let seen: number | null = null;
  const { sys, state, edge } = armedSystem(variant, [SPI], function* (g) {
    yield* g.readDist(GICD.TYPER);
    // the guest's first instruction after the trap's return
    seen = sys.machine.visibleLines(g.ctx.id) & Line.VIRQ;
    for (;;) yield* g.work(10_000);
  });
  let traps = 0;
  sys.vgic.observer.enteringGuest = () => {
    // the trap's return, IRQs masked: the device raises the SPI now
    if (!state.armed) return;
    state.armed = false;
    traps = sys.vgic.stats.traps;
    edge(SPI);
  };
  sys.machine.run({ until: 1_000_000 });
  return { seen, traps };
}

/** vCPU0's WFI traps and does not block (Xen finds an event to deliver);
 *  SPI 40 rises on the way back. Whether the guest took it before its WFI
 *  returned. */
function wfiReturnWithIrq(variant: string): { takenInWfi: boolean | null } {
  let returned = false;
  let takenInWfi: boolean | null = null;
  const { sys, state, edge } = armedSystem(variant, [SPI], function* (g) {
    yield* g.wfi();
    returned = true;
    for (;;) yield* g.work(10_000);
  });
  const vgic = sys.vgic;
  // vcpu_block_unless_event_pending finds one (as if an interrupt waited
  // on lr_pending): the WFI returns without blocking
  const events = vgic.gic_events_need_delivery.bind(vgic);
  vgic.gic_events_need_delivery = function* (ctx: PCpu, v: Vcpu): Co<boolean> {
    const r = yield* events(ctx, v);
    return state.armed ? true : r;
  };
  vgic.observer.enteringGuest = () => {
    if (!state.armed) return;
    state.armed = false;
    edge(SPI);
  };
  vgic.observer.delivered = (irq) => { if (irq === SPI && takenInWfi === null) takenInWfi = !returned; };
  sys.machine.run({ until: 1_000_000 });
  return { takenInWfi };
}

describe("a physical IRQ pending at the return to the guest", () => {
  for (const { name: variant } of VARIANTS) {
    it(`${variant}: is taken at the eret, so the guest's first instruction sees its virtual IRQ`, () => {
      const { seen, traps } = returnWithIrq(variant);
      expect(traps).toBeGreaterThan(0);
      expect(seen).toBe(Line.VIRQ);
    });

    it(`${variant}: after a WFI that did not block too: the guest takes it before the WFI returns`, () => {
      expect(wfiReturnWithIrq(variant).takenInWfi).toBe(true);
    });
  }
});

/** vCPU0 waits in WFI; SPI 40 wakes it, and SPI 41 rises while its pCPU
 *  switches it in. The events from then on, in order. */
function switchInWithIrq(variant: string): string[] {
  const events: string[] = [];
  const { sys, state, edge } = armedSystem(variant, [40, 41], function* (g) {
    for (;;) yield* g.wfi();
  });
  const vgic = sys.vgic;
  const switchTo = vgic.context_switch.bind(vgic);
  vgic.context_switch = function* (ctx: PCpu, next: Vcpu | null): Co {
    yield* switchTo(ctx, next);
    if (state.armed && next !== null && events.length === 0) {
      events.push("switched in");
      edge(41);
    }
  };
  const mode = vgic.guestMode.bind(vgic);
  vgic.guestMode = (ctx, on) => {
    if (events.length > 0 && on) events.push("guest entered");
    mode(ctx, on);
  };
  vgic.observer.physicalAck = (irq) => { if (events.length > 0) events.push(`IRQ ${irq} acknowledged`); };
  sys.machine.at(400_000, "device", (m) => { m.setLine(40, 1); m.setLine(40, 0); });
  sys.machine.run({ until: 1_000_000 });
  return events;
}

describe("a physical IRQ raised while Xen switches a vCPU in", () => {
  for (const { name: variant } of VARIANTS) {
    it(`${variant}: is acknowledged at schedule_tail, before the guest is entered`, () => {
      const events = switchInWithIrq(variant);
      expect(events.slice(0, 3)).toEqual(["switched in", "IRQ 41 acknowledged", "guest entered"]);
    });
  }
});

/** vCPU0 and vCPU1 compute on one pCPU, switched at each 20,000-cycle
 *  slice; SPI 40 rises while the first slice's exit runs (IRQs masked).
 *  The events from then on, in order. */
function sliceExitWithIrq(variant: string): string[] {
  const events: string[] = [];
  let booted = 0;
  const computing = function* (g: GuestCpu): Co {
    yield* gic_cpu_init(g);
    booted++;
    for (;;) yield* g.work(5_000);
  };
  const sys = buildSystem({
    variant, placement: [0, 0], timeSlice: 20_000, routed: [{ irq: 40, edge: true }],
    programs: [
      function* (g) {
        yield* gic_dist_init(g);
        yield* gic_set_type(g, 40, true);
        yield* gic_set_affinity(g, 40, 0);
        yield* gic_unmask_irq(g, 40);
        yield* computing(g);
      },
      computing,
    ],
  });
  const vgic = sys.vgic;
  const head = vgic.enter_hypervisor_head.bind(vgic);
  vgic.enter_hypervisor_head = (ctx: PCpu): Co => {
    // an exit that is no IRQ exception and no trap: the slice's end
    if (booted === 2 && events.length === 0 && ctx.stack?.name !== "irq") {
      events.push("slice ends");
      sys.machine.setLine(40, 1);
      sys.machine.setLine(40, 0);
    }
    return head(ctx);
  };
  const switchTo = vgic.context_switch.bind(vgic);
  vgic.context_switch = function* (ctx: PCpu, next: Vcpu | null): Co {
    if (events.length > 0 && next !== null) events.push(`switch to vCPU${next.vcpu_id}`);
    yield* switchTo(ctx, next);
  };
  vgic.observer.physicalAck = (irq) => { if (events.length > 0) events.push(`IRQ ${irq} acknowledged`); };
  sys.machine.run({ until: 2_000_000 });
  return events;
}

describe("a physical IRQ raised while a time slice's exit runs", () => {
  for (const { name: variant } of VARIANTS) {
    it(`${variant}: is acknowledged before the scheduler switches to the next vCPU`, () => {
      const events = sliceExitWithIrq(variant);
      expect(events.slice(0, 3)).toEqual(["slice ends", "IRQ 40 acknowledged", expect.stringMatching(/^switch to vCPU[01]$/)]);
    });
  }
});

