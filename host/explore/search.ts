// A search's settings as the command line takes them (`vgic explore
// --strategy --budget --seed --bound --depth`), a search's verdict as it
// prints it and a replay's verdict (host/explore/replay.ts). No Node built-ins: the web page checks its form and links with
// these same functions, and says what the command line says.

import { UsageError, intOption, type Values } from "../io/usage.ts";
import { printable } from "../io/text.ts";
import { GIC_LATENCY_MAX } from "../hw/limits.ts";

export type Strategy = "dfs" | "pct" | "random";
export const STRATEGIES: readonly Strategy[] = ["dfs", "pct", "random"];

/** How far a search went: found one, every schedule within the bound, or not. */
export type Verdict = "counterexample" | "exhausted" | "budget-spent" | "sampled";

export interface SearchSettings { strategy: Strategy; budget?: number; seed?: number; bound?: number; depth?: number }

/** --strategy, --budget, --seed, --bound and --depth, checked: a usage
 *  error names the option, also one the strategy would ignore. */
export function searchSettings(values: Values): SearchSettings {
  const strategy = (typeof values.strategy === "string" ? values.strategy : "dfs") as Strategy;
  if (!STRATEGIES.includes(strategy)) throw new UsageError(`--strategy: expected ${STRATEGIES.join(", ")}, got '${printable(String(values.strategy))}'`);
  const s: SearchSettings = { strategy };
  const budget = intOption(values, "budget", 1, 1e9);
  if (budget !== undefined) s.budget = budget;
  const seed = intOption(values, "seed", 0, 2 ** 31);
  if (seed !== undefined) s.seed = seed;
  const bound = intOption(values, "bound", 0, 20);
  if (bound !== undefined) s.bound = bound;
  const depth = intOption(values, "depth", 1, 50);
  if (depth !== undefined) s.depth = depth;
  // an option the strategy does not read would be ignored without a word
  if (strategy === "dfs" && seed !== undefined) throw new UsageError("--seed: only with --strategy pct or random (dfs draws nothing)");
  if (strategy !== "pct" && depth !== undefined) throw new UsageError("--depth: only with --strategy pct");
  if (strategy !== "dfs" && bound !== undefined) throw new UsageError(`--bound: only with --strategy dfs (${strategy} bounds no preemptions)`);
  return s;
}

/** --gic-latency, checked: cycles from a GIC line change to the pCPUs
 *  seeing it, 0 (none) when absent. */
export function gicLatencyOption(values: Values): number {
  return intOption(values, "gic-latency", 0, GIC_LATENCY_MAX) ?? 0;
}

/** A search's result in words: the kinds found, or how far "nothing found"
 *  goes; "ok" only when every schedule within the bound ran. */
export function verdictText(r: { verdict: Verdict; unjudged: number; counterexample?: { findings: ReadonlyArray<{ kind: string }> } }): string {
  if (r.counterexample !== undefined) return [...new Set(r.counterexample.findings.map((f) => f.kind))].join(",");
  // (schedules that ended in a deadlock or an exception --fail-on leaves
  // out were never judged: an "ok" says how many)
  const unjudged = r.unjudged > 0 ? `; ${r.unjudged} not judged` : "";
  switch (r.verdict) {
    case "exhausted": return `ok (exhausted${unjudged})`;
    case "budget-spent": return `none found (budget spent${unjudged})`;
    default: return `none found (sampled${unjudged})`;
  }
}

/** What a replayed counterexample says of the run now (replayVerdict in
 *  host/explore/replay.ts, the exit status of `vgic explore --replay`): it
 *  still fails (1), it no longer does (0), or it broke (3): the run ended in
 *  an exception the file does not record, so it was not judged. */
export type ReplayVerdict = "fails" | "passes" | "broke";

/** A broke replay in words: what exit status 3 ("could not complete") of
 *  `vgic explore --replay` means for it. */
export const BROKE_WORDS = "broke: the run ended in an exception the file does not record, so it was not judged (vgic explore --replay exits 3)";
