// Limits of the project's inputs that the web page checks too, kept apart
// from the model's loader (gic.ts) so the page can import them.

/** The largest latency (propagationDelay, cycles) the project's inputs
 *  accept: a workload's machine.gicLatency, fuzz and explore --gic-latency. */
export const GIC_LATENCY_MAX = 1_000_000;
