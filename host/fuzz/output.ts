// The documents `vgic fuzz --json` prints, as zod schemas: they make the
// JSON Schema files in schemas/ (host/schemas.ts), check shard reports
// (--merge) and name the fields a --baseline report may have.

import * as z from "zod";

export const REPORT_FORMAT = "vgic-fuzz-report";
export const REPORT_VERSION = 1;
export const FUZZ_REPLAY_FORMAT = "vgic-fuzz-replay/1";

export const Violation = z.strictObject({ invariant: z.string(), message: z.string(), op: z.number().int() });
export const SignatureEntry = z.strictObject({
  signature: z.string(), invariant: z.string(), count: z.number().int().describe("cases that showed it"), file: z.string().nullable(),
});

/** `vgic fuzz --json` (host/fuzz/baseline.ts fuzzReport): also a --baseline. */
export const FuzzOutput = z.strictObject({
  format: z.literal(REPORT_FORMAT),
  version: z.literal(REPORT_VERSION).describe("the format's version"),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  target: z.string(),
  seed: z.number().int(),
  params: z.record(z.string(), z.string()).describe("fixed target parameters, e.g. variant"),
  cases: z.number().int(), ops: z.number().int().describe("checked operations"), elapsedMs: z.number(),
  execsPerSec: z.number(), opsPerSec: z.number(), duplicates: z.number().int(),
  signatures: z.array(SignatureEntry),
  budget: z.strictObject({ cases: z.number().int().nullable(), seconds: z.number().nullable() }).optional().describe("--cases and --seconds as given"),
  corpus: z.boolean().optional().describe("cases started from a --corpus"),
  shard: z.strictObject({ index: z.number().int(), count: z.number().int() }).optional().describe("with --shard I/N: this machine's share"),
  violatingCases: z.array(z.number().int()).optional().describe("indices of the cases that showed a violation, ascending"),
  build: z.string().optional().describe("hash of the program and --variants file that made it (a merge requires the same)"),
  merged: z.strictObject({ shards: z.number().int(), files: z.array(z.string()) }).optional().describe("with --merge: the shard reports joined"),
  findings: z.array(z.strictObject({
    signature: z.string(), invariant: z.string(), message: z.string(), ops: z.number().int().describe("operations after shrinking"),
    originalOps: z.number().int(), file: z.string().nullable(),
  })).describe("every finding reported"),
  coverage: z.strictObject({
    total: z.number().int(), families: z.record(z.string(), z.number().int()),
    features: z.array(z.strictObject({ id: z.number().int(), name: z.string(), hits: z.number().int() })),
    curve: z.array(z.tuple([z.number(), z.number()])).optional().describe("growth: [cases, features] (one worker only)"),
  }),
  baseline: z.strictObject({
    source: z.string(), new: z.array(SignatureEntry), gone: z.array(SignatureEntry), unchanged: z.array(SignatureEntry),
    recounted: z.array(SignatureEntry.extend({ baselineCount: z.number().int() }))
      .describe("of the unchanged, those seen in another number of cases than in the baseline, when both ran the same cases"),
  }).optional(),
});

export const FuzzReplayOutput = z.strictObject({
  format: z.literal(FUZZ_REPLAY_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  file: z.string(),
  signature: z.string(),
  recorded: Violation,
  reproduced: z.boolean().describe("the same invariant fails at the same operation"),
  violation: Violation.nullable().describe("what fails now, or null"),
});
