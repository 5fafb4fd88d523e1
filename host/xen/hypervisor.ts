// The hypervisor around the vGIC: one thread per pCPU running Xen's vCPU
// loop (context switch, return to the guest, run it until it blocks), the
// physical IRQ vector, and the guest's trap entries (a GICD access, WFI).
// Every entry from the guest runs enter_hypervisor_head (gic_clear_lrs) and
// every return runs leave_hypervisor_tail (gic_inject), as Xen's traps.c does.

import { point, type Co, type CostProfile } from "../sim/api.ts";
import { Machine, type PCpu } from "../sim/machine.ts";
import { Sched } from "../sim/sched.ts";
import { mapPacked } from "../sim/arrays.ts";
import { Gic, shown } from "../hw/gic.ts";
import { GICD } from "../hw/regs.ts";
import { GuestCpu, type GuestProgram } from "../guest/guest.ts";
import { Vgic } from "./vgic.ts";
import type { VgicDesign } from "./design.ts";
import type { Vcpu } from "./domain.ts";

// Scheduling points of this file, looked up once (point() is memoised).
const PT_VCPU_BLOCK = point("vcpu_block");
const PT_BLOCKED = point("blocked");
const PT_TRAP_IRQ_WINDOW = point("trap: IRQs unmasked");
// The return to the guest (leave_hypervisor_tail, then eret) with a
// physical IRQ pending: IRQs are masked through the exit work and unmasked
// by the eret itself (the guest's PSTATE; HCR_EL2.IMO routes the IRQ to
// EL2), so the IRQ is taken before the guest's first instruction. The
// machine takes an IRQ at a thread's next scheduling point; without this
// one the guest would run its next step first (a GICV_IAR read, a CVAL
// write) ahead of an IRQ already due. Taken only when an IRQ is pending,
// so it adds no decision to a return that has none.
const PT_ERET_IRQ = point("eret: IRQ pending");
// Xen enables IRQs in the hypervisor at two places of its scheduling path,
// and a pending IRQ is taken there, before the next statement (the model
// would take it only at the next scheduling point, after the code below):
// leave_hypervisor_tail's local_irq_enable before do_softirq runs the
// schedule softirq (RELEASE-4.9.0 xen/arch/arm/traps.c), and schedule_tail's
// local_irq_enable after ctxt_switch_to, before context_saved
// (xen/arch/arm/domain.c). Taken only when an IRQ is pending.
const PT_SOFTIRQ_IRQ = point("softirq: IRQs on");
const PT_SCHEDULE_TAIL_IRQ = point("schedule_tail: IRQs on");

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
  /** cycles a trapped GICD access adds beyond what the model itemises
   *  (default: trapResidualCycles of the machine's profile) */
  trapResidual?: number;
}

/** Guest programs as the hypervisor takes them: one per vCPU, a function
 *  or undefined (none: the vCPU waits in WFI). A TypeError names the entry. */
export function checkPrograms(programs: unknown): asserts programs is (GuestProgram | undefined)[] {
  if (!Array.isArray(programs)) {
    throw new TypeError(`programs: got ${shown(programs)}, expected an array with a guest program (a function) or undefined per vCPU`);
  }
  for (let i = 0; i < programs.length; i++) {
    const p: unknown = programs[i];
    if (p !== undefined && typeof p !== "function") throw new TypeError(`programs[${i}]: got ${shown(p)}, expected a guest program (a function) or undefined`);
  }
}

export class Hypervisor {
  readonly guests: GuestCpu[];
  readonly timeSlice: number;
  private readonly programs: (GuestProgram | undefined)[];
  private readonly gens: (Co | null)[];
  /** per vCPU: its generator is the WFI loop (the program returned, or none) */
  private readonly waiting: boolean[];

  constructor(readonly machine: Machine, readonly vgic: VgicDesign, opts: HypervisorOptions) {
    checkPrograms(opts.programs);
    this.programs = mapPacked(opts.programs, (p) => p);
    this.timeSlice = opts.timeSlice ?? 1_000_000;
    this.guests = mapPacked(vgic.d.vcpu, (v) => new GuestCpu(this, v));
    this.gens = mapPacked(this.guests, () => null);
    this.waiting = mapPacked(this.guests, (_, i) => this.programs[i] === undefined);
    this.migrationsPending = new Int32Array(machine.cpus.length);
    this.instantBoot = opts.instantBoot ?? false;
    this.trapResidual = opts.trapResidual;
    this.irqWindow = machine.gic.config.propagationDelay > 0;
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

  /** A synchronous trap unmasks IRQs before enter_hypervisor_head folds
   *  the list registers and clears GICH_HCR.UIE: RELEASE-4.8.0 and
   *  RELEASE-4.9.0 arm64 entry.S `guest_sync` (`msr daifclr`, then
   *  do_trap_hypervisor / do_trap_guest_sync, whose first call is
   *  enter_hypervisor_head), arm32 `cpsie i` in the trap entry, and
   *  RELEASE-4.11.0 the same. An IRQ that reaches the pCPU there is taken
   *  at EL2, where enter_hypervisor_head does nothing (not guest_mode):
   *  a maintenance IRQ that a guest EOI raised (UIE, at most one valid list
   *  register) is acknowledged, EOId and raised again for as long as the
   *  trap never gets to clear UIE, the livelock Xen's 31180f87e4 ("clear
   *  UIE on hypervisor entry") describes. The window is a scheduling point
   *  only when the GIC has a propagation delay: with none, every line a
   *  guest EOI raises is taken in the guest before its next instruction
   *  traps, and an IRQ another agent raises during the entry is taken at
   *  gic_clear_lrs's first lock point instead, before the fold, with the
   *  list registers as the trap found them, so the point would add
   *  decisions to every schedule and no outcome. */
  private readonly irqWindow: boolean;

  /** The synchronous trap's entry: exception entry, then IRQs unmasked
   *  (the window above) before enter_hypervisor_head. Simulated code to run
   *  with `yield*` at once; without a window to yield at it is
   *  enter_hypervisor_head's own code, not one more generator per trap. */
  private trapEntry(ctx: PCpu): Co {
    this.vgic.guestMode(ctx, false);
    ctx.chargeHyp(this.machine.cycles.el2Entry);
    if (this.irqWindow && !ctx.passes(PT_TRAP_IRQ_WINDOW)) return this.irqWindowThenHead(ctx);
    return this.vgic.enter_hypervisor_head(ctx);
  }

  private *irqWindowThenHead(ctx: PCpu): Co {
    yield PT_TRAP_IRQ_WINDOW;
    yield* this.vgic.enter_hypervisor_head(ctx);
  }

  /** Trap cost the model does not itemise (decode of the fault syndrome,
   *  register save and restore, the dispatch to vgic_v2), charged once per
   *  trapped GICD access. See trapResidualCycles. */
  private trapEmulationCycles(): number {
    this.trapResidual ??= trapResidualCycles(this.machine.profile);
    return this.trapResidual;
  }
  private trapResidual: number | undefined;

  /** A guest GICD access: exception to EL2, emulate, return. */
  *trap_mmio(g: GuestCpu, off: number, size: 1 | 2 | 4, write: boolean, value: number): Co<number> {
    const ctx = g.ctx;
    const vgic = this.vgic;
    vgic.stats.traps++;
    yield* this.trapEntry(ctx);
    ctx.charge(this.trapEmulationCycles());
    const fn = ctx.enterFn(write ? vgic.names.mmioWrite : vgic.names.mmioRead);
    const r = yield* vgic.distr_mmio(ctx, g.v, off, size, write, value);
    ctx.leaveFn(fn);
    if (r.outcome === "abort") vgic.stats.mmioDataAborts++;
    else if (r.outcome === "crash") vgic.stats.domainCrashes++;
    yield* vgic.leave_hypervisor_tail(ctx);
    ctx.chargeHyp(this.machine.cycles.el2Return);
    vgic.guestMode(ctx, true);
    if (ctx.irqPending()) yield PT_ERET_IRQ;
    return r.value;
  }

  /** WFI traps (HCR_EL2.TWI): vcpu_block_unless_event_pending. */
  *trap_wfi(g: GuestCpu): Co {
    const ctx = g.ctx;
    const vgic = this.vgic;
    yield* this.trapEntry(ctx);
    g.v.blocked = true;
    const P = PT_VCPU_BLOCK;
    if (!ctx.passes(P)) yield P;
    if (yield* vgic.gic_events_need_delivery(ctx, g.v)) g.v.blocked = false;
    if (g.v.blocked) {
      // leave the guest: the pCPU loop runs someone else or idles until woken
      g.exitRequested = true;
      yield PT_BLOCKED;
      // resumed by the pCPU loop (possibly on another pCPU) once unblocked
    } else {
      yield* vgic.leave_hypervisor_tail(g.ctx);
      g.ctx.chargeHyp(this.machine.cycles.el2Return);
      vgic.guestMode(g.ctx, true);
      if (g.ctx.irqPending()) yield PT_ERET_IRQ;
    }
  }

  /** per pCPU: vCPUs placed there that the scheduler is to move away */
  private readonly migrationsPending: Int32Array;

  /** vcpu_set_affinity: ask the scheduler to move v to `pcpu`. Xen sets
   *  _VPF_migrating and raises the schedule softirq on v's pCPU, which
   *  switches v out and runs vcpu_migrate from context_saved; here v's pCPU
   *  is woken (or its guest interrupted) and does the same at its next
   *  scheduling decision. Callable from machine events, scenarios and tests. */
  requestMigration(v: Vcpu, pcpu: number): void {
    const n = this.machine.cpus.length;
    if (!Number.isInteger(pcpu) || pcpu < 0 || pcpu >= n) throw new RangeError(`requestMigration: pCPU ${pcpu}: expected 0-${n - 1}`);
    if (v.migrate_to === null) this.migrationsPending[v.processor]!++;
    v.migrate_to = pcpu;
    this.machine.wake(this.machine.cpus[v.processor]!);
  }

  /** context_saved -> vcpu_migrate for each vCPU of this pCPU asked to
   *  move: switched out if it is current, moved to its new pCPU's run
   *  queue, its interrupts' physical affinity moved (arch_move_irqs), and
   *  the new pCPU kicked if the vCPU can run (vcpu_wake). */
  private *vcpu_migrate(ctx: PCpu): Co {
    const vgic = this.vgic;
    const pc = vgic.pcpu[ctx.id]!;
    for (let k = 0; k < pc.runq.length && this.migrationsPending[ctx.id]! > 0;) {
      const v = pc.runq[k]!;
      const to = v.migrate_to;
      if (to === null) { k++; continue; }
      v.migrate_to = null;
      this.migrationsPending[ctx.id]!--;
      if (to === ctx.id) { k++; continue; }
      if (pc.current === v) {
        ctx.local_irq_save();
        yield* vgic.context_switch(ctx, null);
        ctx.local_irq_restore(false);
        if (ctx.irqPending()) yield PT_SCHEDULE_TAIL_IRQ;
      }
      pc.runq.splice(k, 1);
      v.processor = to;
      vgic.pcpu[to]!.runq.push(v);
      vgic.stats.vcpuMigrations++;
      const tr = this.machine.trace;
      if (tr !== null) tr.add(ctx.clock, ctx.index, "note", "vcpu_migrate", v.vcpu_id, to, `moves ${v.name} to pCPU${to}`);
      yield* vgic.arch_move_irqs(ctx, v);
      if (!v.blocked) yield* vgic.smp_send_event_check_mask(ctx, 1 << to);
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
      // (after an exit from the guest: the exception's IRQs are taken before
      // the schedule softirq decides what runs next)
      ctx.local_irq_restore(false);
      if (ctx.irqPending()) yield PT_SOFTIRQ_IRQ;
      if (this.migrationsPending[ctx.id]! > 0) yield* this.vcpu_migrate(ctx);
      const v = this.runnable(ctx.id, last);
      if (v === null) {
        // nothing runnable: switch to the idle vCPU (saving the blocked
        // vCPU's state) and wait; IRQs are taken here (a kick, a device)
        if (vgic.pcpu[ctx.id]!.current !== null) {
          ctx.local_irq_save();
          yield* vgic.context_switch(ctx, null);
          ctx.local_irq_restore(false);
        }
        ctx.dsb(); // idle_loop: dsb(sy) before wfi (arch/arm/domain.c)
        yield* ctx.idle();
        continue;
      }
      ctx.local_irq_save();
      if (vgic.pcpu[ctx.id]!.current !== v) {
        yield* vgic.context_switch(ctx, v);
        // schedule_tail: IRQs on at EL2 with the new vCPU current, then off
        // again for leave_hypervisor_tail's gic_inject (the same vCPU again
        // is continue_running, no switch: IRQs were on in schedule itself,
        // at the loop's top here)
        ctx.local_irq_restore(false);
        if (ctx.irqPending()) yield PT_SCHEDULE_TAIL_IRQ;
        ctx.local_irq_save();
      }
      last = v;
      // enter_guest: return to the guest and run it until it blocks,
      // finishes or its slice ends (inline: no generator layer between
      // this loop and every guest step)
      const pc = vgic.pcpu[ctx.id]!;
      const g = this.guests[v.vcpu_id]!;
      yield* vgic.leave_hypervisor_tail(ctx);
      ctx.chargeHyp(this.machine.cycles.el2Return);
      vgic.guestMode(ctx, true);
      ctx.local_irq_restore(false);
      g.ctx = ctx;
      g.exitRequested = false;
      if (ctx.irqPending()) yield PT_ERET_IRQ;
      let gen = this.gens[v.vcpu_id];
      if (gen === null || gen === undefined) {
        const program = this.programs[v.vcpu_id];
        gen = program !== undefined ? program(g) : wfiForever(g);
        this.gens[v.vcpu_id] = gen;
      }
      const sliceEnd = ctx.clock + this.timeSlice;
      for (;;) {
        let r = gen.next();
        if (r.done === true && !this.waiting[v.vcpu_id]) {
          // the program returned: like an idle kernel, the vCPU waits for
          // interrupts in WFI for ever, from the same resume on
          this.waiting[v.vcpu_id] = true;
          gen = wfiForever(g);
          this.gens[v.vcpu_id] = gen;
          r = gen.next();
        }
        if (r.done || g.exitRequested) break;
        // (only between guest steps, or at a return's eret point, where the
        // trap is done: a trap in progress finishes first)
        if (pc.inGuest && ((ctx.clock >= sliceEnd && pc.runq.length > 1 && this.runnable(ctx.id, v) !== v && this.runnable(ctx.id, v) !== null) ||
          this.migrationsPending[ctx.id]! > 0)) {
          // time slice over, or a vCPU of this pCPU is to migrate (the
          // schedule softirq's IPI): Xen's scheduler timer is an IRQ exception, so
          // enter_hypervisor_head (gic_clear_lrs) runs with IRQs masked, as
          // on every IRQ entry; only the synchronous traps (guest_sync)
          // unmask before it. They are on again at the loop's top, where
          // leave_hypervisor_tail enables them before the schedule softirq.
          // The guest's computation ends here, and with it the promise it
          // made just now to compute on (Thread.quietUntil): this pCPU acts
          // at once, and other pCPUs' lookahead must see that.
          ctx.quietUntil = 0;
          vgic.guestMode(ctx, false);
          ctx.chargeHyp(this.machine.cycles.el2Entry);
          ctx.local_irq_save();
          yield* vgic.enter_hypervisor_head(ctx);
          break;
        }
        yield r.value;
      }
      ctx.quietUntil = 0;
      vgic.guestMode(ctx, false);
    }
  }
}

/** The calibration of a trapped GICD access. The profile's mmioTrap is the
 *  published round trip of a trapped distributor access on Xen (Dall et al.,
 *  ISCA 2016, Table II: 1,356 cycles on the X-Gene), everything included:
 *  EL2 entry, Xen's entry work (enter_hypervisor_head: gic_clear_lrs), the
 *  emulation, the exit work (leave_hypervisor_tail: gic_inject) and the
 *  return. The model charges most of that itself, so the residual it adds
 *  is mmioTrap minus what the model charges for the cheapest such trap: a
 *  GICD_TYPER read (no lock, no side effect) by a vCPU with no list
 *  register in use and nothing on lr_pending. That cost is measured once
 *  per profile by running exactly that trap, with no residual, on a
 *  one-pCPU scratch system (the base design: no variant overrides
 *  gic_clear_lrs, gic_inject or the TYPER read), so the model's minimal
 *  trap costs mmioTrap exactly and a trap that folds list registers, takes
 *  locks or injects costs more, as on Xen. Never negative: a profile whose
 *  mmioTrap is below the model's own bookkeeping gets no residual (and its
 *  traps cost more than mmioTrap). */
export function trapResidualCycles(profile: CostProfile): number {
  let r = residualCache.get(profile);
  if (r === undefined) {
    r = Math.max(0, profile.costs.mmioTrap.cycles - minimalTrapCycles(profile));
    residualCache.set(profile, r);
  }
  return r;
}
const residualCache = new WeakMap<CostProfile, number>();

/** What the model charges for a GICD_TYPER read trapped from a running
 *  vCPU with idle list registers, without the residual. */
export function minimalTrapCycles(profile: CostProfile): number {
  const gic = Gic.create({ cpus: 1, irqs: 64 });
  const machine = new Machine({ gic, profile, scheduler: Sched.time(), lockdep: false });
  const vgic = new Vgic(machine, { placement: [0] });
  const hyp = new Hypervisor(machine, vgic, { programs: [undefined], instantBoot: true, trapResidual: 0 });
  const g = hyp.guests[0]!;
  const ctx = machine.cpus[0]!;
  g.ctx = ctx;
  vgic.pcpu[0]!.inGuest = true;
  const t0 = ctx.clock;
  const co = hyp.trap_mmio(g, GICD.TYPER, 4, false, 0);
  for (let r = co.next(); !r.done; r = co.next());
  return ctx.clock - t0;
}

/** Run simulated code to completion outside the scheduler (boot work). */
function drain(co: Co): void {
  for (let r = co.next(); !r.done; r = co.next());
}

/** A vCPU runs its program, then (like an idle kernel) waits for
 *  interrupts in WFI for ever: a run ends when every pCPU idles. The
 *  program's generator is resumed directly (no generator layer around it);
 *  enter_guest switches to this one, in the same resume, when it returns. */
function* wfiForever(g: GuestCpu): Co {
  for (;;) yield* g.wfi();
}
