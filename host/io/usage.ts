// Checks of command-line values shared by the `vgic` command (host/options.ts)
// and the web page (host/web/), without Node built-ins: the page refuses a
// bad field with the same words the command line uses.

import { printable } from "./text.ts";
import { LOCK_BARRIERS, MEMORY_MODELS, type LockBarrier, type MemoryModel, type MemoryOptions } from "../sim/memory.ts";

/** A bad command line or input file: exit status 2, the message names the field. */
export class UsageError extends Error {
  override name = "UsageError";
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** An integer option from lo to hi (decimal or 0x hex), or undefined when absent. */
export function intOption(values: Values, name: string, lo: number, hi: number): number | undefined {
  const v = values[name];
  if (v === undefined) return undefined;
  if (typeof v !== "string" || !/^(0x[0-9a-f]+|[0-9]+)$/i.test(v) || Number(v) < lo || Number(v) > hi) {
    throw new UsageError(`--${name}: expected an integer from ${lo} to ${hi}, got '${printable(String(v))}'`);
  }
  return Number(v);
}

/** --memory and --lock-barrier as machine options: {} for sc; a usage
 *  error names the option and what it expects. */
export function memoryOptions(memory: string | undefined, lockBarrier: string | undefined): MemoryOptions {
  const m = memory ?? "sc";
  if (!MEMORY_MODELS.includes(m as MemoryModel)) throw new UsageError(`--memory: expected ${MEMORY_MODELS.join(" or ")}, got '${printable(m)}'`);
  if (lockBarrier !== undefined) {
    if (!LOCK_BARRIERS.includes(lockBarrier as LockBarrier)) throw new UsageError(`--lock-barrier: expected ${LOCK_BARRIERS.join(" or ")}, got '${printable(lockBarrier)}'`);
    if (m !== "weak") throw new UsageError("--lock-barrier: only with --memory weak (under sc every store is visible at once)");
  }
  return m === "weak" ? { memory: "weak", lockBarrier: (lockBarrier ?? "smp_mb") as LockBarrier } : {};
}
