// A guest vCPU as the machine runs it: its distributor accesses trap into the
// hypervisor's vgic_v2 emulation (charged as traps), its GICV accesses go
// straight to the virtual CPU interface, it computes for a number of cycles,
// waits in WFI, and takes virtual interrupts between its own steps when the
// vIRQ line is up and its PSTATE.I allows. Modelled on Linux's GICv2 driver
// (drivers/irqchip/irq-gic.c): gic_handle_irq acknowledges on IAR until a
// spurious ID, EOIs each one (an SGI at once, before handle_IPI; any other
// after its handler), and with EOImode=1 deactivates through DIR.

import { point, type Co } from "../sim/api.ts";
import type { PCpu } from "../sim/machine.ts";
import { GICC, GICV } from "../hw/regs.ts";
import { Line } from "../hw/gic.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { Hypervisor } from "../xen/hypervisor.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_GUEST = point("guest");
const PT_GUEST_EOI = point("guest eoi");
const PT_GUEST_IAR = point("guest iar");
const PT_GUEST_IRQ = point("guest irq");

export type GuestProgram = (g: GuestCpu) => Co;
/** Handles one acknowledged interrupt (IAR value): before its EOI, or for
 *  an SGI after it (handle_IPI runs on a completed SGI). */
export type IrqAction = (g: GuestCpu, iar: number) => Co;

/** Guest compute is cut in slices this long so a pending vIRQ is taken
 *  soon after it arrives (assumption: the guest runs with IRQs unmasked
 *  and the model checks the line every this many cycles). */
export const GUEST_SLICE_CYCLES = 200;

export interface GuestStats {
  irqsHandled: number;
  spurious: number;
  trappedAccesses: number;
  wfis: number;
}

/** Simulated code that does nothing: one finished generator, shared (a
 *  finished generator only ever answers done, so `yield*` on it returns at
 *  once, any number of times). */
// eslint-disable-next-line require-yield
const NOTHING: Co = (function* (): Co {})();
NOTHING.next();
const nothing = (): Co => NOTHING;

export class GuestCpu {
  /** the pCPU running this vCPU at the moment */
  ctx!: PCpu;
  /** PSTATE.I of the guest: false while its own handler runs */
  irqsEnabled = true;
  /** EOImode=1: EOIR drops priority, DIR deactivates (GICV_CTLR.EOImode) */
  eoiModeSplit = false;
  /** what the guest runs for an interrupt; default: nothing but the bookkeeping */
  action: IrqAction | null = null;
  /** set by the guest runner when the pCPU must leave this vCPU */
  exitRequested = false;
  readonly stats: GuestStats = { irqsHandled: 0, spurious: 0, trappedAccesses: 0, wfis: 0 };
  /** the interrupt ID the handler runs (acknowledged, not yet EOI'd), or -1 */
  handling = -1;

  /** the GICV frame base of the (frozen) memory map */
  private readonly gicvBase: number;

  constructor(readonly hyp: Hypervisor, readonly v: Vcpu) {
    this.gicvBase = hyp.machine.gic.config.map.gicv;
  }

  private gicv(off: number): number { return this.gicvBase + off; }

  /** A trapped distributor read (the hypervisor emulates it). Simulated
   *  code to run with `yield*` at once: it returns trap_mmio's generator
   *  itself rather than wrapping it in one more layer. */
  readDist(off: number, size: 1 | 2 | 4 = 4): Co<number> {
    this.stats.trappedAccesses++;
    return this.hyp.trap_mmio(this, off, size, false, 0);
  }

  /** A trapped distributor write. */
  *writeDist(off: number, value: number, size: 1 | 2 | 4 = 4): Co {
    this.stats.trappedAccesses++;
    yield* this.hyp.trap_mmio(this, off, size, true, value);
  }

  /** A GICV register read: no trap. */
  readCpu(off: number): number {
    return this.ctx.gicRead(this.gicv(off), 4, "guest");
  }

  writeCpu(off: number, value: number): void {
    this.ctx.gicWrite(this.gicv(off), value, 4, "guest");
  }

  /** Compute for `cycles`, taking virtual interrupts as they come. */
  *work(cycles: number): Co {
    let left = cycles;
    const m = this.hyp.machine;
    while (left > 0) {
      yield* this.poll();
      const ctx = this.ctx;
      // Under the time scheduler a slice may run on to the machine's
      // lookahead: nothing can raise this vCPU's interrupt before then.
      // Otherwise slices stay short so the explorers keep their points.
      const quiet = m.lookahead(ctx) - ctx.clock;
      const slice = Math.min(left, quiet > GUEST_SLICE_CYCLES ? quiet : GUEST_SLICE_CYCLES);
      ctx.charge(slice, "guest");
      left -= slice;
      // (the promise lasts until this thread's next step: the machine ends
      // it there, whether the guest computes on or the hypervisor preempts it)
      ctx.quietUntil = left > 0 ? ctx.clock + left : 0;
      yield PT_GUEST;
    }
    yield* this.poll();
  }

  /** Take a pending virtual interrupt now, if the guest would. Simulated
   *  code to run with `yield*` at once: it returns handle_irq's generator
   *  itself rather than wrapping it in one more layer. */
  poll(): Co {
    if (!this.irqsEnabled) return nothing();
    if ((this.hyp.machine.visibleLines(this.ctx.id) & (Line.VIRQ | Line.VFIQ)) === 0) return nothing();
    return this.handle_irq();
  }

  /** gic_handle_irq: acknowledge until 1023 (or 1022), EOI each: an SGI
   *  before its handler, any other interrupt after it. */
  *handle_irq(): Co {
    this.irqsEnabled = false;
    // The IRQ vector saves the interrupted context before gic_handle_irq
    // reads IAR: a physical IRQ already pending exits to Xen there, before
    // the acknowledge, rather than inside the SGI window below (one that
    // arrived while Xen returned to this vCPU is taken at the eret, before
    // this: host/xen/hypervisor.ts PT_ERET_IRQ). Under the
    // time scheduler another pCPU or an event may still be behind this
    // clock (lookahead) and raise such an IRQ in this pCPU's past: they
    // run first. Other schedulers keep their points.
    const ctx = this.ctx;
    if (ctx.irqPending() || this.hyp.machine.lookahead(ctx) < ctx.clock) yield PT_GUEST_IRQ;
    for (let n = 0; ; n++) {
      const iar = this.readCpu(GICV.IAR);
      const irq = iar & 0x3ff;
      if (irq >= 1020) {
        // the line was up but nothing could be acknowledged
        if (n === 0) this.stats.spurious++;
        break;
      }
      this.stats.irqsHandled++;
      this.handling = irq;
      const tr = this.hyp.machine.trace;
      if (tr !== null) tr.add(this.ctx.clock, this.ctx.index, "virq", this.v.name, this.v.vcpu_id, irq);
      this.hyp.vgic.observer.delivered?.(irq, this.v, this.ctx.clock);
      if (irq < 16) {
        // An SGI is completed before its handler runs: Linux's
        // gic_handle_irq (drivers/irqchip/irq-gic.c, 4.x to 5.x) writes
        // GICC_EOIR, and GICC_DIR too when supports_deactivate_key (EOImode
        // 1), right after the IAR read for irqnr < 16, then calls
        // handle_IPI. Only the few instructions between the two accesses
        // leave the SGI active with a handler not running: an exit (a
        // physical IRQ, the scheduler's tick) can land there, and nowhere
        // later in the handler.
        yield PT_GUEST_IAR;
        this.complete(iar, irq);
        if (this.action !== null) yield* this.action(this, iar);
      } else {
        if (this.action !== null) yield* this.action(this, iar);
        this.complete(iar, irq);
      }
      yield PT_GUEST_EOI;
    }
    this.irqsEnabled = true;
  }

  /** EOI (and DIR in split mode) of what the handler acknowledged; also
   *  the vgic fuzz target's own acknowledge-and-EOI operation. */
  complete(iar: number, irq: number): void {
    this.writeCpu(GICV.EOIR, iar);
    if (this.eoiModeSplit) this.writeCpu(GICC.DIR, iar);
    this.handling = -1;
    this.hyp.vgic.observer.completed?.(irq, this.v, this.ctx.clock);
  }

  /** WFI. With an interrupt pending at the vCPU's virtual CPU interface
   *  (its VIRQ or VFIQ line up) it completes at once, untrapped: HCR_EL2.TWI
   *  traps a WFI only when the PE would wait (ARM ARM, the WFI pseudocode:
   *  the trap is inside `if !InterruptPending()`). Else it traps, and the
   *  vCPU blocks unless the hypervisor finds an interrupt deliverable. */
  *wfi(): Co {
    this.stats.wfis++;
    if ((this.hyp.machine.visibleLines(this.ctx.id) & (Line.VIRQ | Line.VFIQ)) === 0) {
      yield* this.hyp.trap_wfi(this);
    } else {
      // the instruction retires; a guest with IRQs masked goes on past it
      this.ctx.charge(1, "guest");
      yield PT_GUEST;
    }
    yield* this.poll();
  }
}
