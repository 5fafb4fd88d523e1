// A vCPU's EL1 virtual timer as Xen 4.8 virtualises it (xen/arch/arm/
// vtimer.c and time.c, RELEASE-4.8.0): while the vCPU is loaded its compare
// value sits in the pCPU's CNTV registers and the hardware asserts the
// virtual timer PPI 27, which Xen's vtimer_interrupt masks and injects into
// `current`. When the vCPU is switched out, virt_timer_save disables the
// hardware timer and, if the guest's timer is enabled and unmasked, arms a
// Xen software timer for the same deadline; it expires through the
// hypervisor timer (CNTHP, PPI 26) and the timer softirq, where
// virt_timer_expired masks the guest's timer and injects PPI 27 into the
// vCPU with vgic_vcpu_inject_irq, which unblocks it. virt_timer_restore
// stops the software timer and reloads the registers: a deadline that
// passed while the vCPU was out and was not yet injected fires at once.
//
// The guest's own writes: CNTV_CVAL_EL0 and CNTV_CTL_EL0 are the guest's
// registers while it runs (no trap; Xen's vtimer.c emulates only the
// physical timer's CNTP_*). The timer's output is a level, high while ENABLE
// is set, IMASK clear and CVAL <= the counter (ARM ARM, generic timer:
// CNTV_CTL.ISTATUS), so a guest that moves CVAL into the future (program;
// disabling or masking would do the same, and the model's guest does
// neither) drops PPI 27. A level-sensitive interrupt that is pending
// and not active stops being pending when its line falls (IHI 0048B
// 3.2.4), so if Xen has not acknowledged it at GICC_IAR yet it never takes
// it: the deadline is withdrawn (onWithdraw) and nothing is owed to the
// guest. Once Xen has acknowledged it (active), vtimer_interrupt runs as
// written in time.c (RELEASE-4.8.0, 4.9.0, 4.11.0): it reads CNTV_CTL, sets
// IMASK on whatever the guest programmed, and injects; the deadline is owed.
//
// Simplifications (none changes which races exist: each path still injects
// through vgic_vcpu_inject_irq under the vCPU's vgic lock):
// - one software timer per vCPU and a per-pCPU list of expired ones stand
//   for Xen's timer heap; the softirq runs right after the hypervisor timer
//   interrupt completes, on the same pCPU, rather than on the way out;
// - the hypervisor timer is programmed no earlier than timer_slop after
//   the moment the software timer is set (xen/common/timer.c: timer_slop,
//   50 us by default, applied as MAX(deadline, now + timer_slop) when the
//   softirq reprograms CNTHP), so an idle vCPU's tick can be late by up to
//   that much, as on Xen; a deadline already passed when the timer is set
//   runs at once, as timer_softirq_action executes every timer whose
//   expiry is before NOW() before it computes the next deadline.

import type { Machine, PCpu } from "../sim/machine.ts";
import type { Vcpu } from "./domain.ts";

/** The EL1 virtual timer PPI (ARM ARM generic timer; Linux's "arch_timer"
 *  virtual interrupt on the virt board). */
export const VTIMER_PPI = 27;
/** The EL2 (hypervisor) physical timer PPI, CNTHP: Xen's own timer
 *  (TIMER_HYP_PPI; 26 on the virt board, as on most GICv2 platforms). */
export const TIMER_HYP_PPI = 26;

/** CNTx_CTL bits (xen/include/asm-arm/time.h). */
export const CNTx_CTL_ENABLE = 1;
export const CNTx_CTL_MASK = 2;

/** xen/common/timer.c: timer_slop, 50 us by default. */
export const TIMER_SLOP_SECONDS = 50e-6;

export class VirtTimer {
  /** v->arch.virt_timer.ctl (ENABLE, MASK) */
  ctl = 0;
  /** v->arch.virt_timer.cval, in the machine's cycles */
  cval = Infinity;
  /** the pCPU whose CNTV registers hold this timer, or -1 (saved) */
  loadedOn = -1;
  /** the output asserted PPI 27 on `loadedOn` and Xen has not masked it */
  private asserted = false;
  /** generation of the armed event (hardware or software); stale events
   *  are ignored */
  private gen = 0;
  /** the deadline of the current cval has been reached (one raise each) */
  private fired = false;
  /** stopped for good (the run is draining) */
  private quiet = false;
  /** the timer condition was met: accounting hook, called once per
   *  programmed deadline with the deadline's cycle */
  onRaise: ((cycle: number) => void) | null = null;
  /** the guest's write dropped the output of a deadline that fired and that
   *  the hypervisor had not acknowledged (PPI 27 pending, not active, at the
   *  GIC): that raise is taken back, it was never owed to the guest */
  onWithdraw: ((cycle: number) => void) | null = null;

  /** @param expire queues an expired software timer on a pCPU (the
   *  hypervisor raises its timer interrupt there) */
  constructor(private readonly machine: Machine, readonly v: Vcpu, readonly irq: number,
    private readonly expire: (t: VirtTimer, at: number) => void) {}

  /** Cycles of Xen's timer_slop on this machine. */
  private slop(): number {
    return Math.round(this.machine.profile.hz * TIMER_SLOP_SECONDS);
  }

  private enabledUnmasked(): boolean {
    return (this.ctl & (CNTx_CTL_ENABLE | CNTx_CTL_MASK)) === CNTx_CTL_ENABLE;
  }

  private raiseOnce(): void {
    if (this.fired) return;
    this.fired = true;
    this.onRaise?.(this.cval);
  }

  /** The guest writes CNTV_CVAL_EL0 and CNTV_CTL_EL0 = ENABLE (IMASK
   *  clear), as Linux's arch_timer_set_next_event_virt does; no trap. The
   *  same deadline, still armed, is left alone. `now` is the writer's clock. */
  program(at: number, now: number): void {
    if (!Number.isFinite(at) || at < 0) throw new RangeError(`virt_timer.program: deadline ${at}: expected a finite cycle >= 0`);
    if (this.quiet) return;
    if (at === this.cval && this.ctl === CNTx_CTL_ENABLE && !this.fired) return;
    if (this.outputHigh()) {
      if (at <= now) {
        // the condition still holds: the output stays high, and the
        // interrupt it asserts (or Xen is taking) serves the new deadline
        this.cval = at;
        return;
      }
      this.outputFalls();
    }
    this.cval = at;
    this.ctl = CNTx_CTL_ENABLE;
    this.fired = false;
    if (this.loadedOn >= 0) this.armHardware(now);
    else this.armSoftware(now);
  }

  /** The output of the loaded timer is high (or rises at once, its event
   *  queued by virt_timer_restore): a deadline fired that neither
   *  vtimer_interrupt nor virt_timer_expired has masked yet. */
  private outputHigh(): boolean {
    return this.loadedOn >= 0 && this.fired && this.enabledUnmasked();
  }

  /** The guest's write (a future CVAL) drops the output: PPI 27's line falls.
   *  Pending and not active at the GIC, Xen has not taken it and never will
   *  (IHI 0048B 3.2.4: a level interrupt's pending state follows its line):
   *  the deadline is withdrawn. Active, Xen acknowledged it at GICC_IAR and
   *  its vtimer_interrupt masks the timer and injects: still owed. */
  private outputFalls(): void {
    const cpu = this.loadedOn;
    const taken = this.machine.gic.isActive(cpu, this.irq);
    this.gen++;
    if (this.asserted) {
      this.asserted = false;
      this.machine.setLine(this.irq, 0, cpu);
    }
    if (!taken) this.onWithdraw?.(this.cval);
  }

  /** The hardware compares from now on; a deadline already passed fires at once. */
  private armHardware(now: number): void {
    const g = ++this.gen;
    const cpu = this.loadedOn;
    this.machine.at(Math.max(now, this.cval), "vtimer", (m) => {
      if (g !== this.gen || !this.enabledUnmasked()) return;
      this.raiseOnce();
      this.asserted = true;
      m.setLine(this.irq, 1, cpu);
    });
  }

  /** set_timer(&v->arch.virt_timer.timer, cval): expires through the
   *  hypervisor timer of the vCPU's pCPU, no earlier than timer_slop from
   *  now, or at once when the deadline has passed (virt_timer_save of a
   *  timer whose output rose and that Xen had not taken yet): the softirq
   *  set_timer raises runs it before it reprograms anything. */
  private armSoftware(now: number): void {
    const g = ++this.gen;
    const at = this.cval <= now ? now : Math.max(this.cval, now + this.slop());
    this.machine.at(at, "virt_timer", () => {
      if (g !== this.gen || !this.enabledUnmasked()) return;
      this.raiseOnce();
      this.expire(this, at);
    });
  }

  /** virt_timer_save, on switching the vCPU out: the hardware timer is
   *  disabled (its output drops), and an enabled, unmasked timer continues
   *  as a software timer. */
  virt_timer_save(ctx: PCpu): void {
    this.gen++;
    this.loadedOn = -1;
    if (this.asserted) {
      this.asserted = false;
      ctx.setLine(this.irq, 0, ctx.id);
    }
    if (this.enabledUnmasked()) this.armSoftware(ctx.clock);
  }

  /** virt_timer_restore, on switching the vCPU in: stop_timer (a software
   *  expiry not yet run is withdrawn: `withdraw` takes it off its pCPU's
   *  list), then the registers are reloaded and compare again. */
  virt_timer_restore(ctx: PCpu, withdraw: (t: VirtTimer) => void): void {
    this.gen++;
    withdraw(this);
    this.loadedOn = ctx.id;
    if (this.enabledUnmasked()) this.armHardware(ctx.clock);
  }

  /** vtimer_interrupt on the pCPU holding the timer: mask it (the level
   *  output drops) before injecting. */
  vtimer_interrupt(ctx: PCpu): void {
    this.ctl |= CNTx_CTL_MASK;
    this.asserted = false;
    ctx.setLine(this.irq, 0, ctx.id);
  }

  /** virt_timer_expired, from the timer softirq: mask the guest's timer;
   *  the caller injects. */
  virt_timer_expired(): void {
    this.ctl |= CNTx_CTL_MASK;
  }

  /** The deadline the timer will fire at, or Infinity. */
  get armedAt(): number {
    return this.enabledUnmasked() && !this.fired ? this.cval : Infinity;
  }

  /** The guest disables its timer for good (the run is draining); an
   *  expiry already raised is still injected. */
  quiesce(): void {
    this.quiet = true;
    if (!this.fired) {
      this.ctl &= ~CNTx_CTL_ENABLE;
      this.gen++;
    }
  }
}

/** Per-pCPU software timers that expired and wait for the timer softirq. */
export interface TimerQueue {
  timers_expired: VirtTimer[];
}

/** vcpu_vtimer_init for every vCPU (common to both vGICs): a software
 *  expiry is queued on the vCPU's pCPU and raises the hypervisor timer there. */
export function vcpu_vtimer_init(machine: Machine, vcpus: readonly Vcpu[], pcpus: readonly TimerQueue[]): void {
  for (const v of vcpus) {
    v.virt_timer = new VirtTimer(machine, v, VTIMER_PPI, (t) => {
      pcpus[t.v.processor]!.timers_expired.push(t);
      machine.setLine(TIMER_HYP_PPI, 1, t.v.processor);
    });
  }
}

/** stop_timer of a vCPU's software timer: off its pCPU's expired list. */
export function stop_timer(pcpus: readonly TimerQueue[], t: VirtTimer): void {
  for (const pc of pcpus) {
    const i = pc.timers_expired.indexOf(t);
    if (i >= 0) pc.timers_expired.splice(i, 1);
  }
}
