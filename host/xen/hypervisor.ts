// The hypervisor around the vGIC: one thread per pCPU running Xen's vCPU
// loop (context switch, return to the guest, run it until it blocks), the
// physical IRQ vector, and the guest's trap entries (a GICD access, WFI).
// Every entry from the guest runs enter_hypervisor_head (gic_clear_lrs) and
// every return runs leave_hypervisor_tail (gic_inject), as Xen's traps.c does.

import type { Co } from "../sim/api.ts";
import type { Machine, PCpu } from "../sim/machine.ts";
import { GuestCpu, type GuestProgram } from "../guest/guest.ts";
import { vgic_v2_distr_mmio } from "./vgic-v2.ts";
import type { Vgic } from "./vgic.ts";
import type { Vcpu } from "./domain.ts";

export interface HypervisorOptions {
  /** one program per vCPU; a vCPU without one idles in WFI */
  programs: (GuestProgram | undefined)[];
  /** cycles a vCPU runs before another runnable vCPU of its pCPU gets a
   *  turn (assumption: Xen credit scheduler's 30 ms slice would never
   *  trigger in short runs; this models a time slice in cycles) */
  timeSlice?: number;
  /** bring up the physical GIC before the run instead of as simulated
   *  steps: small race scenarios start from a booted machine */
  instantBoot?: boolean;
}

export class Hypervisor {
  readonly guests: GuestCpu[];
  readonly timeSlice: number;
  private readonly programs: (GuestProgram | undefined)[];
  private readonly gens: (Co | null)[];

  constructor(readonly machine: Machine, readonly vgic: Vgic, opts: HypervisorOptions) {
    this.programs = opts.programs;
    this.timeSlice = opts.timeSlice ?? 1_000_000;
    this.guests = vgic.d.vcpu.map((v) => new GuestCpu(this, v));
    this.gens = this.guests.map(() => null);
    this.instantBoot = opts.instantBoot ?? false;
    if (this.instantBoot) {
      for (const cpu of machine.cpus) drain(vgic.gic_init_cpu(cpu));
      // and the first vCPU of each pCPU already switched in
      for (const cpu of machine.cpus) {
        const first = vgic.pcpu[cpu.id]!.runq[0];
        if (first !== undefined) drain(vgic.context_switch(cpu, first));
      }
    }
    machine.setIrqHandler((ctx) => vgic.irq_exception(ctx));
    for (const cpu of machine.cpus) machine.spawn(cpu.id, `pCPU${cpu.id}`, (ctx) => this.pcpu_main(ctx));
  }

  private readonly instantBoot: boolean;

  /** Trap cost beyond the exception itself: the published round trip of a
   *  trapped GICD access minus EL2 entry and return (Dall et al., ISCA 2016;
   *  the profile's mmioTrap). */
  private trapEmulationCycles(): number {
    const c = this.machine.cycles;
    return Math.max(0, c.mmioTrap - c.el2Entry - c.el2Return);
  }

  /** A guest GICD access: exception to EL2, emulate, return. */
  *trap_mmio(g: GuestCpu, off: number, size: 1 | 2 | 4, write: boolean, value: number): Co<number> {
    const ctx = g.ctx;
    const vgic = this.vgic;
    const pc = vgic.pcpu[ctx.id]!;
    vgic.stats.traps++;
    pc.inGuest = false;
    ctx.cost("el2Entry");
    yield* vgic.enter_hypervisor_head(ctx);
    ctx.charge(this.trapEmulationCycles());
    const r = yield* ctx.fn(write ? "vgic_v2_distr_mmio_write" : "vgic_v2_distr_mmio_read",
      vgic_v2_distr_mmio(vgic, ctx, g.v, off, size, write, value));
    if (r.outcome === "abort") vgic.stats.mmioDataAborts++;
    else if (r.outcome === "crash") vgic.stats.domainCrashes++;
    yield* vgic.leave_hypervisor_tail(ctx);
    ctx.cost("el2Return");
    pc.inGuest = true;
    return r.value;
  }

  /** WFI traps (HCR_EL2.TWI): vcpu_block_unless_event_pending. */
  *trap_wfi(g: GuestCpu): Co {
    const ctx = g.ctx;
    const vgic = this.vgic;
    const pc = vgic.pcpu[ctx.id]!;
    pc.inGuest = false;
    ctx.cost("el2Entry");
    yield* vgic.enter_hypervisor_head(ctx);
    g.v.blocked = true;
    yield* ctx.point("vcpu_block");
    if (yield* vgic.gic_events_need_delivery(ctx, g.v)) g.v.blocked = false;
    if (g.v.blocked) {
      // leave the guest: the pCPU loop runs someone else or idles until woken
      g.exitRequested = true;
      yield* ctx.point("blocked");
      // resumed by the pCPU loop (possibly on another pCPU) once unblocked
    } else {
      yield* vgic.leave_hypervisor_tail(g.ctx);
      g.ctx.cost("el2Return");
      vgic.pcpu[g.ctx.id]!.inGuest = true;
    }
  }

  private runnable(cpu: number, after: Vcpu | null): Vcpu | null {
    const q = this.vgic.pcpu[cpu]!.runq;
    const start = after === null ? 0 : q.indexOf(after) + 1;
    for (let k = 0; k < q.length; k++) {
      const v = q[(start + k) % q.length]!;
      if (!v.blocked) return v;
    }
    return null;
  }

  /** Xen's per-pCPU life: bring up the GIC, then schedule vCPUs. */
  *pcpu_main(ctx: PCpu): Co {
    const vgic = this.vgic;
    ctx.local_irq_save();
    if (!this.instantBoot) yield* vgic.gic_init_cpu(ctx);
    let last: Vcpu | null = null;
    for (;;) {
      ctx.local_irq_restore(false);
      const v = this.runnable(ctx.id, last);
      if (v === null) {
        yield* ctx.idle(); // IRQs are taken here (a kick, a device)
        continue;
      }
      ctx.local_irq_save();
      yield* vgic.context_switch(ctx, v);
      last = v;
      yield* this.enter_guest(ctx, v);
    }
  }

  /** Return to the guest and run it until it blocks, finishes or its slice ends. */
  private *enter_guest(ctx: PCpu, v: Vcpu): Co {
    const vgic = this.vgic;
    const pc = vgic.pcpu[ctx.id]!;
    const g = this.guests[v.vcpu_id]!;
    yield* vgic.leave_hypervisor_tail(ctx);
    ctx.cost("el2Return");
    pc.inGuest = true;
    ctx.local_irq_restore(false);
    g.ctx = ctx;
    g.exitRequested = false;
    let gen = this.gens[v.vcpu_id];
    if (gen === null || gen === undefined) {
      gen = runProgram(g, this.programs[v.vcpu_id]);
      this.gens[v.vcpu_id] = gen;
    }
    const sliceEnd = ctx.clock + this.timeSlice;
    for (;;) {
      const r = gen.next();
      if (r.done || g.exitRequested) break;
      if (ctx.clock >= sliceEnd && pc.runq.length > 1 && this.runnable(ctx.id, v) !== v && this.runnable(ctx.id, v) !== null) {
        // time slice over: a trap to the hypervisor (its timer) and a switch
        pc.inGuest = false;
        ctx.cost("el2Entry");
        yield* vgic.enter_hypervisor_head(ctx);
        break;
      }
      yield r.value;
    }
    pc.inGuest = false;
  }
}

/** Run simulated code to completion outside the scheduler (boot work). */
function drain(co: Co): void {
  for (let r = co.next(); !r.done; r = co.next());
}

/** A vCPU runs its program, then (like an idle kernel) waits for
 *  interrupts in WFI for ever: a run ends when every pCPU idles. */
function* runProgram(g: GuestCpu, program: GuestProgram | undefined): Co {
  if (program !== undefined) yield* program(g);
  for (;;) yield* g.wfi();
}
