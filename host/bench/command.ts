// `vgic bench`: the option parsing and output of every benchmark section,
// kept here so host/cli.ts only delegates. Sections: --hw, --sim, --stack
// (wall-clock throughput of the model, the machine and the whole stack) and
// --latency (modelled cycles along each injection path, host/bench/latency.ts).
// No section flag runs them all. --json prints one document
// (schemas/bench.schema.json); --compare FILE prints the change of every
// figure against an earlier --json document.

import { existsSync } from "node:fs";
import { printable, readJsonFile } from "../io/input.ts";
import { EXIT, UsageError, VARIANTS_OPTION, intOption, parseCommand, stringOption, withVariants, type CommandSpec, type Parsed } from "../options.ts";
import { formatRates, runHardwareBench } from "./hw.ts";
import { formatSimBench, runSimBench } from "./sim.ts";
import { STACK_PCPUS, formatStackRate, runStackBench } from "./stack.ts";
import { formatLatency, runLatencyBench } from "./latency.ts";
import { DEFAULT_RUNS, median } from "./stats.ts";
import {
  SECTIONS, compareResults, formatChanges, hostInfo, loadNow, nothingInCommon, spread, parseBenchResult, profileInfo, type BenchResult,
} from "./result.ts";
import { loadProfile, profilePath } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import { allVariants, variantNamed } from "../xen/variants.ts";

import { VERSION } from "../version.ts";

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

export const BENCH_SPEC: CommandSpec = {
  name: "bench",
  usage: ["[--hw] [--sim] [--stack] [--latency] [options]"],
  summary: "Benchmarks: the model's, the machine's and the whole stack's throughput, and injection latency per path and design.",
  description: "Without a section flag all four run. Wall-clock figures are the median of --runs timed runs in one process.",
  options: {
    hw: { type: "boolean", help: "register round trips per wall-second (the wasm model)" },
    sim: { type: "boolean", help: "scheduler steps per wall-second (the machine)" },
    stack: { type: "boolean", help: "completed injections per wall-second (the whole stack)" },
    latency: { type: "boolean", help: "modelled injection latency per path and design" },
    variant: { type: "string", arg: "NAME|all", help: "design(s) for --latency (all) and --stack (xen-4.9 for all)" },
    ...VARIANTS_OPTION,
    reps: { type: "string", arg: "N", help: "repetitions per latency path, 1-5000 (200; migration at most 50)" },
    seed: { type: "string", arg: "N", help: "seed of the latency paths' timing offsets (1)" },
    profile: { type: "string", arg: "NAME|PATH", help: "cost profile for --latency: a name in profiles/ or a file (xgene-xen)" },
    compare: { type: "string", arg: "FILE", help: "print the change of every figure measured the same way in an earlier --json result, and what could not be compared" },
    iterations: { type: "string", arg: "N", help: "operations per timed run of --hw (1000000)" },
    runs: { type: "string", arg: "N", help: `timed runs of --hw (${DEFAULT_RUNS.hw}), --sim (${DEFAULT_RUNS.sim}) and --stack (${DEFAULT_RUNS.stack}); the median is reported` },
    json: { type: "boolean", help: "one JSON document (schemas/bench.schema.json)" },
  },
};

/** `vgic bench ARGS`; `write` gets the text as it comes. Resolves to the exit status. */
export async function benchCommand(args: string[], write: (s: string) => void = (s) => process.stdout.write(s)): Promise<number> {
  const p = parseCommand(BENCH_SPEC, args, write);
  if (p.answered !== undefined) return p.answered;
  await withVariants(p.values);
  return runBench(p, write);
}

function runBench({ values }: Parsed, write: (s: string) => void): number {
  const all = !values.hw && !values.sim && !values.stack && !values.latency;
  // a run of zero timings has no median, and the upper bounds keep a
  // benchmark within minutes
  const runs = intOption(values, "runs", 1, 1000);
  const iterations = intOption(values, "iterations", 1, 1e9);
  // (a latency path keeps its run's trace to read: about 110 KB a
  // repetition, so 5,000 are about 560 MB and 5 s on xen-4.9)
  const reps = intOption(values, "reps", 1, 5_000);
  const seed = intOption(values, "seed", 0, 0xffffffff) ?? 1;
  const variantArg = stringOption(values, "variant") ?? "all";
  const variants = variantArg === "all" ? allVariants().map((v) => v.name) : [variantNamed(variantArg).name];
  let previous: BenchResult | undefined;
  const compare = stringOption(values, "compare");
  if (compare !== undefined) {
    try {
      previous = parseBenchResult(readJsonFile(compare), printable(compare));
    } catch (e) {
      throw new UsageError(`--compare: ${(e as Error).message}`);
    }
  }
  const { profile, origin } = resolveProfile(stringOption(values, "profile"));
  const result: BenchResult = {
    format: "vgic-bench/1", vgicLab: VERSION, createdAt: new Date().toISOString(), host: hostInfo(), profile: profileInfo(profile, origin),
  };
  // one design for the throughput figure: the named one, xen-4.9 for "all"
  const stackVariant = variantArg === "all" ? "xen-4.9" : variants[0]!;
  if (previous !== undefined) {
    const run = { hardware: all || values.hw, machine: all || values.sim, stack: all || values.stack, latency: all || values.latency };
    const why = nothingInCommon(previous, {
      sections: SECTIONS.filter((s) => run[s]), profile: result.profile, variants, stack: { variant: stackVariant, pcpus: STACK_PCPUS },
    });
    if (why.length > 0) throw new UsageError(`--compare: ${printable(compare!)} has no figure in common with this run: ${why.join("; ")}`);
  }
  const say = (s: string) => { if (!values.json) write(s + "\n"); };
  let status: number = EXIT.ok;
  const h = result.host;
  say(`host: ${h.cpu} (${h.cpus} CPUs), Node ${h.node} ${h.platform}/${h.arch}, load average ${h.load!.start.join(" ")}; profile ${profile.name} (${origin}), ${profile.hz / 1e6} MHz\n`);
  if (all || values.hw) {
    const opts: { iterations?: number; runs?: number } = {};
    if (iterations !== undefined) opts.iterations = iterations;
    if (runs !== undefined) opts.runs = runs;
    const rates = runHardwareBench(opts);
    result.hardware = rates as unknown as BenchResult["hardware"];
    const sp = rates.map(spread).sort((a, b) => a - b);
    say("== hardware model (wasm): register round trips per wall-second\n" + formatRates(rates) +
      `\nnoise: (max - min) / median over the runs of each operation: ${sp[0]}% to ${sp[sp.length - 1]}%, median ${Math.round(median(sp) * 10) / 10}%\n`);
  }
  if (all || values.sim) {
    const b = runSimBench(runs !== undefined ? { runs } : {});
    result.machine = b as unknown as BenchResult["machine"];
    say("== machine: scheduler steps per wall-second\n" + formatSimBench(b) + "\n");
  }
  if (all || values.stack) {
    const r = runStackBench({ variant: stackVariant, pcpus: STACK_PCPUS, ...(runs !== undefined ? { runs } : {}) });
    result.stack = r as unknown as BenchResult["stack"];
    // a run that deadlocked, threw or lost interrupts has no figure: the
    // bench could not measure what it says (exit 3, once all is written)
    if (r.outcome !== "ok") status = EXIT.error;
    say("== whole stack: completed injections per wall-second (goal: 1 M/s)\n" + formatStackRate(r) +
      (r.outcome === "ok" ? `\nnoise: (max - min) / median over the runs: ${spread(r)}%\n` : "\n"));
  }
  if (all || values.latency) {
    const lat = runLatencyBench({ profile, variants, seed, ...(reps !== undefined ? { reps } : {}) });
    result.latency = lat;
    say("== injection latency: modelled cycles per path\n" + formatLatency(lat, profile.name) + "\n");
  }
  if (previous !== undefined) {
    const { changes, notCompared } = compareResults(previous, result);
    // with --json the comparison goes to stderr, the document alone to stdout
    const tell = values.json ? (s: string) => process.stderr.write(s + "\n") : say;
    const head = `== change against ${compare} (${previous.createdAt}, profile ${previous.profile.name}): medians\n`;
    const not = notCompared.map((l) => `not compared: ${l}\n`).join("");
    if (changes.length === 0) {
      // (the sections matched, their figures did not: paths or operations
      // of another version)
      tell(head + `no figure in common\n${not}`);
      if (status === EXIT.ok) status = EXIT.usage;
    } else tell(head + formatChanges(changes) + "\n" + not);
  }
  result.host.load!.end = loadNow();
  say(`load average at the end: ${result.host.load!.end.join(" ")} (compare figures from one run, and ratios; a loaded machine's drift)`);
  if (values.json) write(JSON.stringify(result, null, 2) + "\n");
  return status;
}

export const BENCH_COMMAND = {
  spec: BENCH_SPEC,
  run: (p: Parsed) => withVariants(p.values).then(() => runBench(p, (s) => process.stdout.write(s))),
};
