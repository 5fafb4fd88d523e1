// Devices around the guest: SPI sources (periodic, Poisson or burst arrival;
// edge or level) as machine threads that schedule their own next event, and
// each pCPU's virtual timer (PPI 27) as a one-shot deadline the guest
// programs, as Linux programs CNTV_CVAL for its next timer expiry. Both are
// deterministic from the seed: every random number comes from a seeded Rng.
//
// Every raise is reported to a RaiseSink (the workload's accounting) under a
// key naming the interrupt instance a guest handler will see: an SPI by its
// ID, an SGI by (target vCPU, SGI), the timer PPI by (pCPU, 27): Xen's
// vtimer_interrupt injects it into the vCPU running on the pCPU that took it.

import type { Co } from "../sim/api.ts";
import type { Machine, PCpu, Thread } from "../sim/machine.ts";
import type { Rng } from "../sim/rng.ts";
import { VTIMER_PPI } from "../xen/vgic.ts";

/** When events happen (the workload schema's `arrival`). */
export type ArrivalSpec =
  | { kind: "periodic"; period: number; phase?: number | undefined }
  | { kind: "poisson"; mean: number }
  | { kind: "burst"; period: number; count: number; gap?: number | undefined; phase?: number | undefined };

/** A function returning the gap (cycles) before the next event; the first
 *  call gives the delay of the first event from the start. */
export function arrivalGaps(a: ArrivalSpec, rng: Rng): () => number {
  switch (a.kind) {
    case "periodic": {
      let first = true;
      return () => {
        if (first) { first = false; return a.phase ?? a.period; }
        return a.period;
      };
    }
    case "poisson":
      // exponential gaps; at least one cycle so two events never coincide
      return () => Math.max(1, Math.round(-Math.log(1 - rng.float()) * a.mean));
    case "burst": {
      const gap = a.gap ?? 0;
      const rest = Math.max(0, a.period - (a.count - 1) * gap);
      let k = -1;
      return () => {
        k++;
        if (k === 0) return a.phase ?? a.period;
        return k % a.count === 0 ? rest : gap;
      };
    }
  }
}

export interface RaiseSink {
  /** an interrupt instance was raised at `cycle` */
  raise(key: number, cycle: number): void;
}

/** Accounting keys: SPIs by ID (32-1019); private interrupts after them. */
export const KEYS = 1024 + 8 * 32;
export function spiKey(irq: number): number { return irq; }
/** An SGI to a vCPU, or a PPI on a pCPU: `index` is that vCPU or pCPU. */
export function privateKey(irq: number, index: number): number { return 1024 + index * 32 + irq; }

/** A device raising one SPI. Edge: a pulse per event (events while the
 *  previous one is still pending merge in the distributor). Level: the line
 *  goes high and stays high until the guest's handler acknowledges the
 *  device (ack); events while it is high merge into the one pending. */
export class SpiSource {
  raised = 0;
  private high = false;
  thread: Thread | null = null;

  constructor(readonly name: string, readonly irq: number, readonly level: boolean,
    private readonly arrival: ArrivalSpec, private readonly rng: Rng, private readonly sink: RaiseSink) {}

  /** Spawn the device's thread; it waits (idle) until `start` wakes it. */
  spawn(machine: Machine): Thread {
    this.thread = machine.spawnThread(this.name, (t) => this.body(t));
    return this.thread;
  }

  private *body(t: Thread): Co {
    yield* t.idle(); // until the guest has booted
    const gap = arrivalGaps(this.arrival, this.rng);
    for (;;) {
      yield* t.delay(gap());
      if (this.quiet) return;
      this.raise(t);
    }
  }

  /** Stop raising (the run is draining). */
  quiesce(): void { this.quiet = true; }
  private quiet = false;

  private raise(t: Thread): void {
    if (this.quiet) return;
    this.raised++;
    this.sink.raise(spiKey(this.irq), t.clock);
    if (!this.level) {
      t.setLine(this.irq, 1);
      t.setLine(this.irq, 0);
    } else if (!this.high) {
      this.high = true;
      t.setLine(this.irq, 1);
    }
  }

  /** The guest's handler tells the device it has seen the interrupt. */
  ack(ctx: PCpu): void {
    if (!this.high) return;
    this.high = false;
    ctx.setLine(this.irq, 0);
  }

  /** The level line is still asserted. */
  get lineHigh(): boolean { return this.high; }
}

/** One pCPU's EL1 virtual timer: a compare value the guest programs; when
 *  the count reaches it the timer asserts PPI 27 (level) on that pCPU until
 *  Xen's vtimer_interrupt masks it. Re-programming replaces the deadline
 *  (stale machine events are ignored by generation). */
export class VirtualTimer {
  raised = 0;
  private deadline = Infinity;
  private gen = 0;

  constructor(private readonly machine: Machine, readonly pcpu: number, private readonly sink: RaiseSink) {}

  /** Program the next expiry (CNTV_CVAL); a no-op if already set there. */
  arm(at: number): void {
    if (at === this.deadline) return;
    this.deadline = at;
    const g = ++this.gen;
    this.machine.at(Math.max(0, at), "vtimer", (m) => {
      if (g !== this.gen || this.quiet) return;
      this.deadline = Infinity;
      this.raised++;
      this.sink.raise(privateKey(VTIMER_PPI, this.pcpu), at);
      m.setLine(VTIMER_PPI, 1, this.pcpu);
    });
  }

  get armedAt(): number { return this.deadline; }

  /** Stop firing (the run is draining). */
  quiesce(): void { this.quiet = true; }
  private quiet = false;
}
