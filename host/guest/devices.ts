// Devices around the guest: SPI sources (periodic, Poisson or burst arrival;
// edge or level) as machine threads that schedule their own next event,
// deterministic from the seed: every random number comes from a seeded Rng.
// (Each vCPU's virtual timer, PPI 27, is Xen's to virtualise: host/xen/vtimer.ts.)
//
// Every raise is reported to a RaiseSink (the workload's accounting) under a
// key naming the interrupt instance a guest handler will see: an SPI by its
// ID, an SGI or a PPI by (vCPU, ID): the virtual timer PPI is the vCPU's own,
// wherever it runs.

import type { Co } from "../sim/api.ts";
import type { Machine, PCpu, Thread } from "../sim/machine.ts";
import type { Rng } from "../sim/rng.ts";

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
  /** an interrupt instance was raised at `cycle`; `merged`: into the
   *  instance already pending at the device or the distributor */
  raise(key: number, cycle: number, merged?: boolean): void;
}

/** Accounting keys: SPIs by ID (32-1019); private interrupts after them. */
export const KEYS = 1024 + 8 * 32;
export function spiKey(irq: number): number { return irq; }
/** An SGI or a PPI of vCPU `index`. */
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
    // an event merges into the instance already pending: a level line
    // already high, or an edge the distributor has latched and the
    // hypervisor not yet acknowledged (IHI 0048B, the interrupt handling
    // state machine: an edge asserted while pending leaves it pending)
    const merged = this.level ? this.high : t.machine.gic.isPending(0, this.irq);
    this.sink.raise(spiKey(this.irq), t.clock, merged);
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
