// Every JSON document vgic-lab writes has a zod schema; this module lists
// the JSON Schema files generated from them into schemas/ (regenerate with
// `npm run schemas`; a test keeps the files equal to the zod schemas and
// validates real outputs against the files).

import { z } from "zod";
import { BenchResult } from "./bench/result.ts";

export interface OutputSchema {
  /** file name in schemas/ */
  file: string;
  title: string;
  schema: z.ZodType;
}

export const OUTPUT_SCHEMAS: readonly OutputSchema[] = [
  { file: "bench.schema.json", title: "vgic bench --json", schema: BenchResult },
];

/** The JSON Schema text of one output, as written to schemas/FILE. */
export function jsonSchemaText(o: OutputSchema): string {
  const s = z.toJSONSchema(o.schema, { io: "input", unrepresentable: "any" }) as Record<string, unknown>;
  return JSON.stringify({ ...s, $id: `https://vgic-lab/schemas/${o.file}`, title: o.title }, null, 2) + "\n";
}
