// `vgic bench`: the option parsing and output of every benchmark section,
// kept here so host/cli.ts only delegates. Sections: --hw, --sim, --stack
// (wall-clock throughput of the model, the machine and the whole stack) and
// --latency (modelled cycles along each injection path, host/bench/latency.ts).
// No section flag runs them all. --json prints one document
// (schemas/bench.schema.json); --compare FILE prints the change of every
// figure against an earlier --json document.

import { existsSync } from "node:fs";
import { parseCliArgs } from "../io/args.ts";
import { parseJson, printable, readTextFile } from "../io/input.ts";
import { formatRates, runHardwareBench } from "./hw.ts";
import { formatSimBench, runSimBench } from "./sim.ts";
import { formatStackRate, runStackBench } from "./stack.ts";
import { formatLatency, runLatencyBench } from "./latency.ts";
import { compareResults, formatChanges, hostInfo, parseBenchResult, profileInfo, type BenchResult } from "./result.ts";
import { loadProfile, profilePath } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import { allVariants, variantNamed } from "../xen/variants.ts";

import { VERSION } from "../version.ts";

export class BenchUsageError extends Error {}

/** Bounds of the numeric options: a run of zero timings has no median,
 *  and the upper bounds keep a benchmark within minutes. */
const LIMITS = { runs: [1, 1000], iterations: [1, 1e9], reps: [1, 100_000], seed: [0, 0xffffffff] } as const;

function num(v: string | undefined, name: keyof typeof LIMITS): number | undefined {
  if (v === undefined) return undefined;
  const [lo, hi] = LIMITS[name];
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v) || Number(v) < lo || Number(v) > hi) {
    throw new BenchUsageError(`--${name}: expected an integer from ${lo} to ${hi}, got '${printable(v)}'`);
  }
  return Number(v);
}

/** A profile by name (profiles/NAME.json) or by path. */
export function resolveProfile(arg: string | undefined): { profile: CostProfile; origin: string } {
  const a = arg ?? "xgene-xen";
  const isPath = a.includes("/") || a.endsWith(".json") || existsSync(a);
  const path = isPath ? a : profilePath(a);
  return { profile: loadProfile(path), origin: isPath ? path : `profiles/${a}.json` };
}

export interface BenchRun {
  result: BenchResult;
  text: string;
}

/** Run the sections the arguments ask for; `write` gets the text as it comes. */
export function benchCommand(args: string[], write: (s: string) => void = (s) => process.stdout.write(s)): number {
  const { values } = parseCliArgs({
    args,
    options: {
      hw: { type: "boolean" }, sim: { type: "boolean" }, stack: { type: "boolean" }, latency: { type: "boolean" },
      variant: { type: "string" }, iterations: { type: "string" }, runs: { type: "string" }, reps: { type: "string" },
      seed: { type: "string" }, profile: { type: "string" }, compare: { type: "string" }, json: { type: "boolean" },
    },
  });
  const all = !values.hw && !values.sim && !values.stack && !values.latency;
  const runs = num(values.runs, "runs");
  const reps = num(values.reps, "reps");
  const seed = num(values.seed, "seed") ?? 1;
  const variantArg = values.variant ?? "all";
  const variants = variantArg === "all" ? allVariants().map((v) => v.name) : [variantNamed(variantArg).name];
  let previous: BenchResult | undefined;
  if (values.compare !== undefined) {
    let text: string;
    try {
      text = readTextFile(values.compare);
    } catch (e) {
      throw new BenchUsageError(`--compare: cannot read ${printable(values.compare)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      previous = parseBenchResult(parseJson(text), printable(values.compare));
    } catch (e) {
      throw new BenchUsageError(`--compare: ${(e as Error).message}`);
    }
  }
  const { profile, origin } = resolveProfile(values.profile);
  const result: BenchResult = {
    format: "vgic-bench/1", vgicLab: VERSION, createdAt: new Date().toISOString(), host: hostInfo(), profile: profileInfo(profile, origin),
  };
  const say = (s: string) => { if (!values.json) write(s + "\n"); };
  const h = result.host;
  say(`host: ${h.cpu} (${h.cpus} CPUs), Node ${h.node} ${h.platform}/${h.arch}; profile ${profile.name} (${origin}), ${profile.hz / 1e6} MHz\n`);
  if (all || values.hw) {
    const opts: { iterations?: number; runs?: number } = {};
    const it = num(values.iterations, "iterations");
    if (it !== undefined) opts.iterations = it;
    if (runs !== undefined) opts.runs = runs;
    const rates = runHardwareBench(opts);
    result.hardware = rates as unknown as BenchResult["hardware"];
    say("== hardware model (wasm): register round trips per wall-second\n" + formatRates(rates) + "\n");
  }
  if (all || values.sim) {
    const b = runSimBench(runs !== undefined ? { runs } : {});
    result.machine = b as unknown as BenchResult["machine"];
    say("== machine: scheduler steps per wall-second\n" + formatSimBench(b) + "\n");
  }
  if (all || values.stack) {
    // one design for the throughput figure: the named one, xen-4.9 for "all"
    const variant = variantArg === "all" ? "xen-4.9" : variants[0]!;
    const r = runStackBench({ variant, ...(runs !== undefined ? { runs } : {}) });
    result.stack = r as unknown as BenchResult["stack"];
    say("== whole stack: completed injections per wall-second (goal: 1 M/s)\n" + formatStackRate(r) + "\n");
  }
  if (all || values.latency) {
    const lat = runLatencyBench({ profile, variants, seed, ...(reps !== undefined ? { reps } : {}) });
    result.latency = lat;
    say("== injection latency: modelled cycles per path\n" + formatLatency(lat, profile.name) + "\n");
  }
  if (previous !== undefined) {
    const changes = compareResults(previous, result);
    // with --json the comparison goes to stderr, the document alone to stdout
    const tell = values.json ? (s: string) => process.stderr.write(s + "\n") : say;
    tell(`== change against ${values.compare} (${previous.createdAt}, profile ${previous.profile.name}): medians\n` + formatChanges(changes) + "\n");
  }
  if (values.json) write(JSON.stringify(result, null, 2) + "\n");
  return 0;
}
