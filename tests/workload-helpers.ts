// Shared by the workload tests: the bundled workload files, parsed.
import { readFileSync, readdirSync } from "node:fs";
import { parseWorkload, type Workload } from "../host/workload/schema.ts";

export const WORKLOAD_DIR = new URL("../workloads/", import.meta.url);

export function bundled(): Array<{ file: string; w: Workload }> {
  return readdirSync(WORKLOAD_DIR).filter((f) => f.endsWith(".json") && f !== "schema.json").sort()
    .map((file) => ({ file, w: parseWorkload(readFileSync(new URL(file, WORKLOAD_DIR), "utf8"), file) }));
}

export function workload(name: string): Workload {
  const found = bundled().find((b) => b.w.name === name);
  if (found === undefined) throw new Error(`no bundled workload ${name}`);
  return found.w;
}
