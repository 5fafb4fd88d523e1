// The contract between the machine (host/sim) and the code that runs on it
// (host/xen, host/guest, host/explore). Hypervisor and guest code are
// generator functions: `yield` is a scheduling point, `yield*` calls another
// piece of simulated code. Everything the machine does is deterministic in
// its inputs, the seed and the schedule.

/** What a thread yields at a scheduling point: why it may be preempted here. */
export interface SchedPoint {
  readonly label: string;
}

/** Simulated code returning T. */
export type Co<T = void> = Generator<SchedPoint | undefined, T, void>;

/** A cost profile: cycles charged per operation, each with its source. */
export interface CostEntry {
  cycles: number;
  /** where the number comes from, or "assumption: ..." */
  source: string;
}

export type CostName =
  | "el2Entry" // exception entry to the hypervisor
  | "el2Return" // exception return to the guest
  | "hypercall" // hypercall round trip (published, for the benchmark)
  | "mmioTrap" // trapped guest MMIO access emulated by the hypervisor, round trip (published)
  | "virqCompletion" // guest EOI of a virtual interrupt through GICV (published)
  | "gicdAccess" // one physical GICD register access from the hypervisor
  | "giccAccess" // one physical GICC register access
  | "gichAccess" // one GICH register access (list registers, HCR, ELRSR...)
  | "gicvAccess" // one guest GICV access (no trap)
  | "contextSwitch" // vCPU context switch, including LR save/restore
  | "lockAcquire" // uncontended spinlock acquire
  | "lockRelease"
  | "spinIteration" // one iteration of a contended spin loop
  | "listOp" // a list insertion/removal or status-bit update in hypervisor data
  | "sgiSend" // sending a physical SGI (kick)
  | "irqEntry"; // taking a physical IRQ into the hypervisor handler, beyond el2Entry

export interface CostProfile {
  name: string;
  description: string;
  /** cycles per second of the modelled CPU, for converting to time */
  hz: number;
  /** where hz comes from, or "assumption: ..." */
  hzSource: string;
  costs: Record<CostName, CostEntry>;
}

/** Every cost name, in a fixed order (profile validation, reports). The
 *  `satisfies` clause fails to compile if a name is missing or misspelt. */
export const COST_NAMES = [
  "el2Entry", "el2Return", "hypercall", "mmioTrap", "virqCompletion",
  "gicdAccess", "giccAccess", "gichAccess", "gicvAccess", "contextSwitch",
  "lockAcquire", "lockRelease", "spinIteration", "listOp", "sgiSend", "irqEntry",
] as const satisfies readonly CostName[];

type MissingCostName = Exclude<CostName, (typeof COST_NAMES)[number]>;
/** Compile-time check that COST_NAMES lists every CostName. */
export const COST_NAMES_COMPLETE: MissingCostName extends never ? true : never = true;

const SHARED_POINTS = new Map<string, SchedPoint>();

/** A shared, frozen SchedPoint per label: `yield point("label")` is the same
 *  scheduling point as `yield* ctx.point("label")` without the generator
 *  that call creates. */
export function point(label: string): SchedPoint {
  let p = SHARED_POINTS.get(label);
  if (p === undefined) {
    p = Object.freeze({ label });
    SHARED_POINTS.set(label, p);
  }
  return p;
}
