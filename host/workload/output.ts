// The `vgic run --json` document (schemas/run.schema.json). The result's
// shape is the runner's WorkloadResult; the schema checks every field a
// reader relies on and lets the bulky ones (timeline, contention) be.

import * as z from "zod";
import { WEAK_STATELESS_DESCRIPTION } from "../sim/memory.ts";

export const RUN_FORMAT = "vgic-run/1";

const int = z.number().int();
const Summary = z.strictObject({ count: int, p50: z.number(), p90: z.number(), p99: z.number(), max: z.number(), mean: z.number() });
const Latency = Summary.extend({ histogram: z.array(z.tuple([z.number(), int])).describe("non-empty buckets: [lowest cycles, count]") });
const Counts = {
  raised: int, delivered: int.describe("guest handler entries"), coalesced: int.describe("merged into an instance still pending"),
  dropped: int.describe("by the design"), lost: int, pending: int,
};

const Result = z.strictObject({
  workload: z.string(), variant: z.string(), seed: int,
  outcome: z.enum(["completed", "deadlock", "error", "done", "boot-failed"]),
  cycles: z.strictObject({ hz: z.number(), boot: int, end: int, stoppedAt: int }).describe("cycles of the profile's clock"),
  interrupts: z.strictObject({
    ...Counts, spurious: int,
    sources: z.array(z.strictObject({
      name: z.string(), type: z.enum(["spi", "ipi", "timer"]), ...Counts,
      withdrawn: int.describe("raises the source took back before the hypervisor acknowledged them (the guest moved a fired virtual timer deadline while PPI 27 was still pending): not in raised"),
      droppedReasons: z.record(z.string(), int).describe("dropped instances by the reason the design gave"),
      lostReasons: z.record(z.string(), int).describe("lost instances by where they were lost"),
      latency: z.strictObject({ handler: Summary, eoi: Summary }).describe("cycles from raise to handler entry, to EOI"),
    })),
    accountingErrors: z.array(z.string()),
  }),
  latency: z.strictObject({ handler: Latency, eoi: Latency }),
  pcpus: z.array(z.strictObject({ pcpu: int, time: z.record(z.string(), z.number()).describe("cycles by category: guest, hyp, idle, spin:<lock class>") })),
  vcpus: z.array(z.strictObject({ vcpu: int, pcpu: int, handled: int, spurious: int, trappedAccesses: int, wfis: int })),
  vgic: z.record(z.string(), int).describe("the vGIC's counters"),
  guest: z.strictObject({ affinityWrites: int, ipisSent: int }),
  findings: z.array(z.looseObject({ kind: z.string(), message: z.string() })),
  deadlock: z.array(z.looseObject({})).nullable().describe("the wait-for cycle"),
  error: z.string().nullable(),
  contention: z.record(z.string(), z.looseObject({})),
  timeline: z.looseObject({ start: int, window: z.number(), categories: z.array(z.string()) }),
  steps: int,
  memory: z.strictObject({
    model: z.literal("weak"), lockBarrier: z.enum(["smp_mb", "acq-rel"]),
    buffered: int.describe("stores and GICD writes that went through a store buffer"),
    scheduled: int.describe("drains the scheduler chose"), forced: int.describe("drains a barrier, lock, access or second writer forced"),
    staleLoads: int.describe("loads that read a value another pCPU's buffered store had replaced"),
  }).optional().describe("with --memory weak: the store buffers' counters"),
  weakStateless: z.literal(true).optional().describe(WEAK_STATELESS_DESCRIPTION),
});

export const RunOutput = z.strictObject({
  format: z.literal(RUN_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  workload: z.string(),
  results: z.array(Result).describe("one per variant, in the order run"),
  perf: z.array(z.strictObject({ variant: z.string(), wallMs: z.number(), cyclesPerSecond: z.number(), injectionsPerSecond: z.number() })),
});
