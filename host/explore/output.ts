// The documents `vgic explore --json` prints, as zod schemas: they make the
// JSON Schema files in schemas/ (host/schemas.ts), check shard documents
// (--merge) and name the fields a --baseline document may have.

import * as z from "zod";
import { WEAK_STATELESS_DESCRIPTION } from "../sim/memory.ts";

export const EXPLORE_FORMAT = "vgic-explore/1";
export const EXPLORE_MATRIX_FORMAT = "vgic-explore-matrix/1";
export const EXPLORE_REPLAY_FORMAT = "vgic-explore-replay/1";

export const FindingJson = z.strictObject({
  kind: z.string(), message: z.string(),
  path: z.string().optional().describe("the interrupt's path to the failure (part of the signature)"),
  where: z.string().optional().describe("the innermost Xen function of an exception (part of the signature)"),
  irq: z.number().int().optional().describe("the interrupt concerned"),
  vcpu: z.number().int().optional().describe("a loss's or stuck interrupt's vCPU: a private interrupt's own, or the one blocked in WFI with it"),
});
const CellSignatureJson = z.strictObject({ scenario: z.string(), variant: z.string(), signature: z.string() });
const CellJson = z.looseObject({
  index: z.number().int().optional().describe("the cell's place in the whole matrix (scenarios in order, variants in order)"),
  scenario: z.string(), variant: z.string(), strategy: z.enum(["dfs", "pct", "random"]),
  schedules: z.number().int().describe("schedules run"), exhausted: z.boolean().describe("dfs: every schedule within the bound was run"),
  bound: z.number().int().optional(), elapsedMs: z.number(), schedulesPerSecond: z.number(),
  weakStateless: z.literal(true).optional().describe(WEAK_STATELESS_DESCRIPTION),
  gicLatency: z.number().int().optional().describe("cycles from a GIC line change to the pCPUs seeing it, when the run had a latency (--gic-latency)"),
  unjudged: z.number().int().optional().describe("schedules that ended in a deadlock or an exception --fail-on leaves out: passed without their state being judged"),
  msToFirst: z.number().optional().describe("time to the first counterexample"),
  counterexample: z.looseObject({
    schedule: z.string(), preemptions: z.number().int(), picks: z.number().int(), steps: z.number().int(),
    findings: z.array(FindingJson), traceHash: z.string(),
  }).optional(),
});

export const ExploreOutput = z.strictObject({
  format: z.literal(EXPLORE_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  scenario: z.string(),
  results: z.array(CellJson.extend({
    file: z.string().nullable().describe("the counterexample's replay file"), traceFile: z.string().nullable(),
  })),
});

export const ExploreMatrixOutput = z.strictObject({
  format: z.literal(EXPLORE_MATRIX_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  wallMs: z.number(), workers: z.number().int(),
  options: z.record(z.string(), z.unknown()).optional().describe("the search settings of every cell (a merge requires them equal)"),
  shard: z.strictObject({ index: z.number().int(), count: z.number().int() }).optional().describe("with --shard: the cells of this machine"),
  cellsTotal: z.number().int().optional().describe("cells of the whole matrix"),
  build: z.string().optional().describe("fingerprint of the program and of the --scenarios and --variants files that made it (a merge requires it equal)"),
  cells: z.array(CellJson.extend({ signatures: z.array(z.string()).describe("the counterexample's finding signatures") }))
    .describe("one per scenario x variant, scenarios in order, variants in order"),
  baseline: z.strictObject({
    source: z.string(),
    new: z.array(CellSignatureJson), gone: z.array(CellSignatureJson), unchanged: z.array(CellSignatureJson),
  }).optional().describe("with --baseline or --baseline-variant: the signatures per cell compared"),
});

export const ExploreReplayOutput = z.strictObject({
  format: z.literal(EXPLORE_REPLAY_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  file: z.string(), scenario: z.string(), variant: z.string(),
  reproduced: z.boolean().describe("same finding kinds and the same trace hash"),
  kindsMatch: z.boolean(), hashMatch: z.boolean(), traceHash: z.string(),
  findings: z.array(FindingJson).describe("what the run finds now"),
  reason: z.string().optional().describe("why it did not reproduce"),
});
