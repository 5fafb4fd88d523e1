// `vgic explore`: the command-line front end of the race explorer. Exit
// status: 1 when a counterexample was found (single-scenario mode), a
// replay did not reproduce, or a matrix compared with a baseline has new or
// gone signatures; 0 otherwise (a matrix without a baseline always 0), 2 for
// usage errors and malformed files.

import { join } from "node:path";
import { parseCliArgs } from "../io/args.ts";
import { checkOutputFile, ensureDir, writeFileAtomic } from "../io/files.ts";
import { InputError, printable, readTextFile } from "../io/input.ts";
import { parseFailOn, type FindingKind } from "../check/vgic.ts";
import { ExtensionFileError, loadScenarios } from "../extend.ts";
import { SCENARIOS } from "../xen/scenarios.ts";
import { allVariants, variantNamed } from "../xen/variants.ts";
import { ALL_KINDS, DEFAULT_FAIL_ON, STRATEGIES, explore, type ExploreOptions, type Strategy } from "./engine.ts";
import { MATRIX_BUDGET, exploreWorkerData, formatMatrix, matrixMarkdown, runExploreWorker, runMatrix, slim, type Cell, type MatrixOptions } from "./matrix.ts";
import { ReplayFileError, parseReplayFile, replayCounterexample, toReplayFile } from "./replay.ts";
import { cellSignatures, compareCells, findingSignatures, formatMatrixComparison, loadMatrixBaseline, type CellSignature } from "./baseline.ts";

export const EXPLORE_USAGE = `usage: vgic explore SCENARIO|all [options]
       vgic explore --matrix [options]
       vgic explore --replay FILE [--trace FILE]
  --variant NAME|all   vGIC design(s) to explore (all)
  --strategy S         dfs (exhaustive within --bound preemptions), pct, random (dfs)
  --budget N           most schedules per scenario and variant (dfs 20000, else 2000;
                       matrix 6000)
  --seed N             first seed of pct/random (1)
  --bound N            dfs preemption bound, explored 0..N (2)
  --depth N            pct bug depth (3)
  --fail-on KINDS      finding kinds that fail a run, comma-separated, or all
                       (default: all but lock-inversion)
  --workers N          matrix cells on N worker threads (1)
  --out DIR            where counterexample files are written (counterexamples/)
  --trace FILE         write the counterexample's Chrome trace (Perfetto) to FILE
  --scenarios FILE     load more scenarios from an ES module exporting \`scenarios\`
  --matrix             every scenario against every variant, as a table (also SCENARIO=all)
  --baseline FILE|DIR  matrix: compare finding signatures per cell with an earlier
                       --matrix --json output or a directory of counterexample
                       files; report, and fail on, only new and gone ones
  --baseline-variant NAME
                       matrix: the reference is the same cells under variant NAME
                       (with one --variant), same strategy, seed and budget
  --json               machine-readable output
  --markdown           the matrix as a markdown table (the README's)
  --replay FILE        re-run a counterexample file; exit 0 if it reproduces, 1 if not
  scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
`;

class ExploreUsageError extends Error {}

function int(v: string | undefined, name: string, lo: number, hi: number): number | undefined {
  if (v === undefined) return undefined;
  if (!/^[0-9]+$/.test(v) || Number(v) < lo || Number(v) > hi) throw new ExploreUsageError(`--${name}: expected an integer from ${lo} to ${hi}, got '${printable(v)}'`);
  return Number(v);
}

function failOnOf(v: string | undefined): readonly FindingKind[] {
  if (v === undefined) return DEFAULT_FAIL_ON;
  try {
    return parseFailOn(v, ALL_KINDS);
  } catch (e) {
    throw new ExploreUsageError((e as Error).message);
  }
}

/** Run the command; returns a promise of the exit status. */
export async function exploreCommand(args: string[], entry: URL): Promise<number> {
  const wd = exploreWorkerData();
  if (wd) {
    const extra = wd.scenariosFile === null ? [] : await loadScenarios(wd.scenariosFile);
    runExploreWorker(wd, [...SCENARIOS, ...extra]);
    return 0;
  }
  const out = (s: string) => process.stdout.write(s + "\n");
  try {
    const { values, positionals } = parseCliArgs({
      args,
      options: {
        variant: { type: "string" }, strategy: { type: "string" }, budget: { type: "string" }, seed: { type: "string" },
        workers: { type: "string" }, bound: { type: "string" }, depth: { type: "string" }, out: { type: "string" },
        trace: { type: "string" }, scenarios: { type: "string" }, matrix: { type: "boolean" }, json: { type: "boolean" },
        replay: { type: "string" }, "fail-on": { type: "string" }, markdown: { type: "boolean" }, help: { type: "boolean", short: "h" },
        baseline: { type: "string" }, "baseline-variant": { type: "string" },
      },
      allowPositionals: true,
    });
    if (values.help) { process.stdout.write(EXPLORE_USAGE); return 0; }
    const extra = values.scenarios === undefined ? [] : await loadScenarios(values.scenarios);
    const scenarios = [...SCENARIOS, ...extra];

    if (values.replay !== undefined) {
      if (positionals.length > 0) throw new ExploreUsageError("explore --replay: no SCENARIO expected");
      let text: string;
      try {
        text = readTextFile(values.replay);
      } catch (e) {
        throw new ExploreUsageError(`--replay: cannot read ${printable(values.replay)}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      }
      const file = parseReplayFile(text, printable(values.replay));
      const scenario = scenarios.find((s) => s.name === file.scenario);
      if (scenario === undefined) {
        throw new ReplayFileError(`${values.replay}: field 'scenario': expected one of ${scenarios.map((s) => s.name).join(", ")} (or load it with --scenarios FILE), got ${JSON.stringify(printable(file.scenario))}`);
      }
      if (values.trace !== undefined) checkOutputFile(values.trace, "--trace");
      let o: ReturnType<typeof replayCounterexample>;
      try {
        o = replayCounterexample(file, scenario);
      } catch (e) {
        if (e instanceof ReplayFileError) throw new ReplayFileError(`${printable(values.replay)}: ${e.message}`);
        throw e;
      }
      if (values.trace !== undefined) writeFileAtomic(values.trace, o.chromeJson);
      if (values.json) {
        out(JSON.stringify({ reproduced: o.reproduced, kindsMatch: o.kindsMatch, hashMatch: o.hashMatch, traceHash: o.traceHash, findings: o.findings, reason: o.reason }, null, 2));
      } else {
        out(`${file.scenario} under ${file.variant}: schedule ${file.schedule}`);
        for (const l of o.narrative) out(l);
        out(o.reproduced ? `reproduced: same finding kinds, trace hash ${o.traceHash}` : `NOT reproduced: ${o.reason}`);
      }
      return o.reproduced ? 0 : 1;
    }

    const strategy = (values.strategy ?? "dfs") as Strategy;
    if (!STRATEGIES.includes(strategy)) throw new ExploreUsageError(`--strategy: expected ${STRATEGIES.join(", ")}, got '${values.strategy}'`);
    const mo: MatrixOptions = { strategy, failOn: failOnOf(values["fail-on"]) };
    const budget = int(values.budget, "budget", 1, 1e9);
    if (budget !== undefined) mo.budget = budget;
    const seed = int(values.seed, "seed", 0, 2 ** 31);
    if (seed !== undefined) mo.seed = seed;
    const bound = int(values.bound, "bound", 0, 20);
    if (bound !== undefined) mo.bound = bound;
    const depth = int(values.depth, "depth", 1, 50);
    if (depth !== undefined) mo.depth = depth;
    const workers = int(values.workers, "workers", 1, 64) ?? 1;
    const variantArg = values.variant ?? "all";
    const variants = variantArg === "all" ? allVariants().map((v) => v.name) : [variantNamed(variantArg).name];

    const isMatrix = values.matrix === true || positionals[0] === "all";
    const baseVariant = values["baseline-variant"];
    if (!isMatrix && (values.baseline !== undefined || baseVariant !== undefined)) {
      throw new ExploreUsageError(`--${values.baseline !== undefined ? "baseline" : "baseline-variant"}: only with --matrix`);
    }
    if (isMatrix) {
      if (positionals.length > (values.matrix ? 0 : 1)) throw new ExploreUsageError(`explore --matrix: unexpected argument '${positionals[values.matrix ? 0 : 1]}'`);
      // per cell: enough for every result the README's table reports (the
      // deepest, stale-target-inject on xen-4.8, needs about 4,100)
      if (mo.budget === undefined) mo.budget = MATRIX_BUDGET;
      if (values.baseline !== undefined && baseVariant !== undefined) throw new ExploreUsageError("--baseline-variant: give either --baseline or --baseline-variant, not both");
      if (baseVariant !== undefined && variants.length !== 1) throw new ExploreUsageError("--baseline-variant: needs one --variant, the variant compared with it");
      // a baseline file is read first: a bad one costs no exploring
      let baseline: { source: string; cells: CellSignature[] } | null = values.baseline !== undefined
        ? { source: values.baseline, cells: loadMatrixBaseline(values.baseline) } : null;
      const cellsOf = (vs: readonly string[]): Cell[] => scenarios.flatMap((s) => vs.map((v) => ({ scenario: s.name, variant: v })));
      const t0 = performance.now();
      if (baseVariant !== undefined) {
        const ref = await runMatrix(entry, scenarios, cellsOf([variantNamed(baseVariant).name]), mo, workers, values.scenarios ?? null);
        // the reference cells stand for the compared variant's
        baseline = { source: `variant ${baseVariant}`, cells: cellSignatures(ref).map((c) => ({ ...c, variant: variants[0]! })) };
      }
      const rs = await runMatrix(entry, scenarios, cellsOf(variants), mo, workers, values.scenarios ?? null);
      const wall = performance.now() - t0;
      const cmp = baseline ? compareCells(cellSignatures(rs), baseline.cells) : null;
      if (values.json) {
        const cells = rs.map((r) => ({ ...r, signatures: findingSignatures(r.counterexample?.findings ?? []) }));
        out(JSON.stringify({ wallMs: wall, workers, cells, ...(baseline && cmp ? { baseline: { source: baseline.source, ...cmp } } : {}) }, null, 2));
      } else if (values.markdown) {
        out(matrixMarkdown(rs));
        if (baseline && cmp) for (const l of formatMatrixComparison(cmp, baseline.source)) out(l);
      } else {
        out(formatMatrix(rs));
        const total = rs.reduce((a, r) => a + r.schedules, 0);
        out(`\n${rs.length} cells, ${total} schedules in ${wall.toFixed(0)} ms wall (${workers} worker${workers > 1 ? "s" : ""}), ${(total * 1000 / wall).toFixed(0)} schedules/s`);
        if (baseline && cmp) for (const l of formatMatrixComparison(cmp, baseline.source)) out(l);
      }
      return cmp && (cmp.new.length > 0 || cmp.gone.length > 0) ? 1 : 0;
    }

    if (positionals.length !== 1) throw new ExploreUsageError("expected one SCENARIO (or all, or --matrix)");
    const scenario = scenarios.find((s) => s.name === positionals[0]);
    if (scenario === undefined) throw new ExploreUsageError(`unknown scenario '${positionals[0]}': expected one of ${scenarios.map((s) => s.name).join(", ")}, or all`);
    const dir = values.out ?? "counterexamples";
    // output places are checked before the search, not after it
    ensureDir(dir, "--out", false);
    const traceFileOf = (variant: string) => variants.length === 1 ? values.trace! : values.trace!.replace(/(\.json)?$/, `.${variant}$1`);
    if (values.trace !== undefined) for (const v of variants) checkOutputFile(traceFileOf(v), "--trace");
    let found = false;
    const json: unknown[] = [];
    for (const variant of variants) {
      const eo: ExploreOptions = { scenario, variant, ...mo };
      const r = explore(eo);
      const c = r.counterexample;
      let file: string | null = null;
      let traceFile: string | null = null;
      if (c !== undefined) {
        found = true;
        ensureDir(dir, "--out");
        file = join(dir, `${scenario.name}.${variant}.json`);
        writeFileAtomic(file, JSON.stringify(toReplayFile(c), null, 2) + "\n");
        if (values.trace !== undefined) {
          traceFile = traceFileOf(variant);
          writeFileAtomic(traceFile, c.chromeJson);
        }
      }
      if (values.json) { json.push({ ...slim(r), file, traceFile }); continue; }
      const rate = `${r.schedulesPerSecond.toFixed(0)} schedules/s`;
      const how = r.strategy === "dfs" ? `dfs, bound ${r.bound}` : r.strategy;
      out(`== ${scenario.name} under ${variant} (${how})`);
      if (c === undefined) {
        out(`no counterexample in ${r.schedules} schedules (${r.strategy === "dfs" ? (r.exhausted ? "space exhausted within the bound" : "budget spent, space not exhausted") : "sampled"}), ${r.elapsedMs.toFixed(0)} ms, ${rate}`);
      } else {
        out(`counterexample after ${r.schedules} schedules, ${r.msToFirst!.toFixed(0)} ms (${rate}); minimised from ${c.found.preemptions} preemptions, ${c.found.picks} decisions, ${c.found.steps} steps to ${c.preemptions}, ${c.picks}, ${c.steps}`);
        out(`schedule ${c.schedule}`);
        for (const l of c.narrative) out(l);
        out(`saved to ${file}${traceFile ? `, trace in ${traceFile}` : ""}; replay with: vgic explore --replay ${file}`);
      }
      out("");
    }
    if (values.json) out(JSON.stringify(json, null, 2));
    return found ? 1 : 0;
  } catch (e) {
    if (e instanceof ExploreUsageError || e instanceof ReplayFileError || e instanceof InputError || e instanceof ExtensionFileError ||
        (e instanceof RangeError && /^unknown variant/.test(e.message)) ||
        (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS"))) {
      process.stderr.write(`vgic explore: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
