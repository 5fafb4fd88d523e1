// Every JSON document vgic-lab writes has a zod schema; this module lists
// the JSON Schema files generated from them into schemas/ (regenerate with
// `npm run schemas`; a test keeps the files equal to the zod schemas and
// validates real outputs against the files).

import * as z from "zod";
import { BenchResult } from "./bench/result.ts";
import { MmioOutput, VariantsOutput } from "./commands.ts";
import { RunOutput } from "./workload/output.ts";
import { ExploreMatrixOutput, ExploreOutput, ExploreReplayOutput } from "./explore/output.ts";
import { FuzzOutput, FuzzReplayOutput } from "./fuzz/output.ts";
import { ReplayFileJson } from "./explore/replay.ts";
import { FindingJson as FindingFileJson } from "./fuzz/finding.ts";

export interface OutputSchema {
  /** file name in schemas/ */
  file: string;
  title: string;
  schema: z.ZodType;
}

export const OUTPUT_SCHEMAS: readonly OutputSchema[] = [
  { file: "mmio.schema.json", title: "vgic mmio --json", schema: MmioOutput },
  { file: "run.schema.json", title: "vgic run --json", schema: RunOutput },
  { file: "explore.schema.json", title: "vgic explore SCENARIO --json", schema: ExploreOutput },
  { file: "explore-matrix.schema.json", title: "vgic explore --matrix --json", schema: ExploreMatrixOutput },
  { file: "explore-replay.schema.json", title: "vgic explore --replay FILE --json", schema: ExploreReplayOutput },
  { file: "counterexample.schema.json", title: "a counterexample file (vgic explore --out, counterexamples/*.json)", schema: ReplayFileJson },
  { file: "fuzz.schema.json", title: "vgic fuzz --json", schema: FuzzOutput },
  { file: "fuzz-replay.schema.json", title: "vgic fuzz --replay FILE --json", schema: FuzzReplayOutput },
  { file: "finding.schema.json", title: "a fuzz finding file (vgic fuzz --out, findings/*.json)", schema: FindingFileJson },
  { file: "bench.schema.json", title: "vgic bench --json", schema: BenchResult },
  { file: "variants.schema.json", title: "vgic variants --json", schema: VariantsOutput },
];

/** The JSON Schema text of one output, as written to schemas/FILE. */
export function jsonSchemaText(o: OutputSchema): string {
  const s = z.toJSONSchema(o.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return JSON.stringify({ ...s, $id: `https://vgic-lab/schemas/${o.file}`, title: o.title }, null, 2) + "\n";
}
