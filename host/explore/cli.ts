// `vgic explore`: the command-line front end of the race explorer. Exit
// status (EXIT): 1 when a counterexample was found (any cell of the matrix;
// against a baseline, a signature new or gone) or a replayed counterexample
// still fails, 0 otherwise, 2 for usage errors and malformed files.

import { checkOutputFile, ensureDir, writeFileAtomic } from "../io/files.ts";
import { printable, readJsonFile } from "../io/input.ts";
import { checkAgainst } from "../io/issues.ts";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import * as z from "zod";
import { parseFailOn, type FindingKind } from "../check/vgic.ts";
import { loadScenarios, loadVariants } from "../extend.ts";
import { EXIT, UsageError, VARIANTS_OPTION, intOption, memoryOptions, stringOption, type CommandSpec, type Parsed } from "../options.ts";
import { Progress } from "../progress.ts";
import { VERSION } from "../version.ts";
import { SCENARIOS } from "../xen/scenarios.ts";
import { allVariants, variantNamed } from "../xen/variants.ts";
import { ALL_KINDS, DEFAULT_FAIL_ON, type ExploreResult } from "./engine.ts";
import { gicLatencyOption, searchSettings } from "./search.ts";
import { MATRIX_BUDGET, exploreCell, exploreVariants, warmUp, exploreWorkerData, formatMatrix, latencyLine, matrixMarkdown, runExploreWorker, runMatrix, slim, unjudgedNote, type Cell, type CellResult, type MatrixOptions } from "./matrix.ts";
import { cellSignatures, compareCells, findingSignatures, formatMatrixComparison, readMatrixBaseline, searchNote, type CellSignature } from "./baseline.ts";
import { ReplayFileError, replayCounterexample, validateReplayFile, replayVerdict, toReplayFile } from "./replay.ts";
import { mergeShards, shardOf, type ShardDoc } from "./campaign.ts";
import { buildFingerprint } from "../fuzz/campaign.ts";
import { weakStatelessNote } from "../sim/memory.ts";
import { EXPLORE_FORMAT, EXPLORE_MATRIX_FORMAT, EXPLORE_REPLAY_FORMAT, ExploreMatrixOutput, ExploreOutput, ExploreReplayOutput } from "./output.ts";

export const EXPLORE_SPEC: CommandSpec = {
  name: "explore",
  usage: ["SCENARIO|all [options]", "--matrix [options]", "--replay FILE [--trace FILE]"],
  summary: "Search a race scenario's schedules for a counterexample, under one or every vGIC design.",
  description: `scenarios: ${SCENARIOS.map((s) => s.name).join(", ")}
A counterexample is minimised, printed as a story, saved as a replay file under --out.`,
  maxPositionals: 1,
  options: {
    variant: { type: "string", arg: "NAME,...|all", help: "vGIC design(s) to explore, comma-separated (all)" },
    memory: { type: "string", arg: "sc|weak", help: "memory model: sc (every store visible at once) or weak (per-pCPU\nstore buffers; the search also chooses when stores become visible) (sc)" },
    "lock-barrier": { type: "string", arg: "smp_mb|acq-rel", help: "weak memory: spinlocks carry smp_mb as Xen's on arm, or only\nacquire/release ordering (smp_mb)" },
    "gic-latency": { type: "string", arg: "N", help: "cycles from a GIC line change to the pCPUs seeing it (0); with one, a\nmaintenance IRQ can reach a trap's IRQ window and livelock" },
    ...VARIANTS_OPTION,
    scenarios: { type: "string", arg: "FILE", help: "load more scenarios from an ES module exporting `scenarios`" },
    strategy: { type: "string", arg: "S", help: "dfs (exhaustive within --bound preemptions), pct, random (dfs)" },
    budget: { type: "string", arg: "N", help: `most schedules per scenario and variant (dfs 20000, else 2000;\nmatrix ${MATRIX_BUDGET})` },
    seed: { type: "string", arg: "N", help: "first seed of pct/random (1)" },
    bound: { type: "string", arg: "N", help: "dfs preemption bound, explored 0..N (2)" },
    depth: { type: "string", arg: "N", help: "pct bug depth (3)" },
    "fail-on": { type: "string", arg: "KINDS", help: "finding kinds that fail a run, comma-separated, or all\n(default: all but lock-inversion)" },
    matrix: { type: "boolean", help: "every scenario against every variant, as a table (also SCENARIO=all)" },
    workers: { type: "string", arg: "N", help: "matrix cells, or one scenario's variants, on N threads: this one and N - 1 workers (1)" },
    out: { type: "string", arg: "DIR", help: "where counterexample files are written (counterexamples/)" },
    trace: { type: "string", arg: "FILE", help: "write the counterexample's Chrome trace (Perfetto) to FILE" },
    replay: { type: "string", arg: "FILE", help: "re-run a counterexample file: exit 1 if it still fails, 0 if not" },
    json: { type: "boolean", help: "one JSON document (schemas/explore*.schema.json)" },
    markdown: { type: "boolean", help: "the matrix as a markdown table (the README's)" },
    baseline: { type: "string", arg: "FILE|DIR", help: "matrix: compare finding signatures per cell with an earlier --matrix\n--json output or a directory of counterexample files; report, and\nfail on, only new and gone ones" },
    "baseline-variant": { type: "string", arg: "NAME", help: "matrix: the reference is the same cells under variant NAME (with\none --variant), same strategy, seed and budget" },
    shard: { type: "string", arg: "I/N", help: "matrix: explore only the cells whose index i has i % N == I, one machine\nof a campaign (default: JOB_COMPLETION_INDEX of a Kubernetes Indexed\nJob with VGIC_SHARDS, its completions; else every cell)" },
    merge: { type: "string", arg: "DIR", help: "join the --matrix --json documents of a sharded campaign found in DIR\ninto the matrix one machine would have produced" },
  },
};

/** "--variant A,B": each known, none twice. */
function variantList(arg: string): string[] {
  const names = arg.split(",").map((x) => x.trim());
  if (names.some((n) => n === "")) throw new UsageError(`--variant: expected NAME[,NAME...] or all, got '${printable(arg)}'`);
  const out: string[] = [];
  for (const n of names) {
    let v: string;
    try {
      v = variantNamed(n).name;
    } catch (e) {
      throw new UsageError(`--variant: ${(e as Error).message}`);
    }
    if (out.includes(v)) throw new UsageError(`--variant: '${printable(v)}' given twice`);
    out.push(v);
  }
  return out;
}

function failOnOf(v: string | undefined): readonly FindingKind[] {
  if (v === undefined) return DEFAULT_FAIL_ON;
  try {
    return parseFailOn(v, ALL_KINDS);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

const json = (doc: unknown) => process.stdout.write(JSON.stringify(doc, null, 2) + "\n");

async function exploreRun({ values, positionals }: Parsed, entry: URL): Promise<number> {
  const wd = exploreWorkerData();
  if (wd) {
    await runExploreWorker(wd, async () => {
      if (wd.variantsFile !== null) await loadVariants(wd.variantsFile);
      return [...SCENARIOS, ...(wd.scenariosFile === null ? [] : await loadScenarios(wd.scenariosFile))];
    });
    return EXIT.ok;
  }
  const out = (s: string) => process.stdout.write(s + "\n");
  const variantsFile = stringOption(values, "variants") ?? null;
  if (variantsFile !== null) await loadVariants(variantsFile);
  const scenariosFile = stringOption(values, "scenarios") ?? null;
  const extra = scenariosFile === null ? [] : await loadScenarios(scenariosFile);
  let scenarios = [...SCENARIOS, ...extra];
  const tracePath = stringOption(values, "trace");
  const progress = new Progress({ label: "explore", tty: process.stderr.isTTY === true, write: (s) => process.stderr.write(s) });

  const replayPath = stringOption(values, "replay");
  if (replayPath !== undefined) {
    if (positionals.length > 0) throw new UsageError("--replay: no SCENARIO expected");
    // the file says what to run: a search option would be ignored
    for (const k of ["strategy", "budget", "bound", "seed", "depth", "variant", "matrix", "memory", "lock-barrier", "gic-latency", "fail-on",
      "workers", "out", "baseline", "baseline-variant", "markdown", "merge", "shard"]) {
      if (values[k] !== undefined) throw new UsageError(`--${k}: not with --replay (the file gives the scenario, design and schedule)`);
    }
    const file = validateReplayFile(readJsonFile(replayPath), printable(replayPath));
    const scenario = scenarios.find((s) => s.name === file.scenario);
    if (scenario === undefined) {
      throw new ReplayFileError(`${printable(replayPath)}: field 'scenario': expected one of ${scenarios.map((s) => s.name).join(", ")} (or load it with --scenarios FILE), got ${JSON.stringify(printable(file.scenario))}`);
    }
    if (tracePath !== undefined) checkOutputFile(tracePath, "--trace");
    let o: ReturnType<typeof replayCounterexample>;
    try {
      o = replayCounterexample(file, scenario);
    } catch (e) {
      // a schedule that does not fit the scenario is a bad file (exit 2)
      if (e instanceof ReplayFileError) throw new ReplayFileError(`${printable(replayPath)}: ${e.message}`);
      throw e;
    }
    if (tracePath !== undefined) writeFileAtomic(tracePath, o.chromeJson);
    if (values.json) {
      const doc: z.infer<typeof ExploreReplayOutput> = {
        format: EXPLORE_REPLAY_FORMAT, vgicLab: VERSION, file: replayPath, scenario: file.scenario, variant: file.variant,
        reproduced: o.reproduced, kindsMatch: o.kindsMatch, hashMatch: o.hashMatch, traceHash: o.traceHash, findings: o.findings,
        ...(o.reason !== undefined ? { reason: o.reason } : {}),
      };
      json(doc);
    } else {
      out(`${file.scenario} under ${file.variant}: schedule ${file.schedule}`);
      printStory(o.narrative, out);
      out(o.reproduced ? `reproduced: same finding kinds, trace hash ${o.traceHash}` : `NOT reproduced: ${o.reason}`);
    }
    const now = replayVerdict(file, o);
    return now === "fails" ? EXIT.finding : now === "broke" ? EXIT.error : EXIT.ok;
  }

  const { strategy, ...search } = searchSettings(values);
  const mo: MatrixOptions = { strategy, failOn: failOnOf(stringOption(values, "fail-on")), ...search };
  Object.assign(mo, memoryOptions(stringOption(values, "memory"), stringOption(values, "lock-barrier")));
  // (the matrix records it in its options: baselines and shards compare
  // only cells explored with the same latency)
  const gicLatency = gicLatencyOption(values);
  if (gicLatency > 0) mo.gicLatency = gicLatency;
  const workers = intOption(values, "workers", 1, 64) ?? 1;
  const variantArg = stringOption(values, "variant") ?? "all";
  const variants = variantArg === "all" ? allVariants().map((v) => v.name) : variantList(variantArg);

  const mergeDir = stringOption(values, "merge");
  if (mergeDir !== undefined) {
    if (positionals.length > 0 || values.matrix) throw new UsageError("--merge: no SCENARIO and no --matrix expected: the shards name their cells");
    for (const k of ["strategy", "budget", "seed", "bound", "depth", "variant", "memory", "lock-barrier", "gic-latency", "fail-on", "workers",
      "baseline", "baseline-variant", "shard", "out", "trace"]) {
      if (values[k] !== undefined) throw new UsageError(`--merge: --${k} not expected: the shards' documents say what the campaign ran`);
    }
    const merged = mergeShards(mergeDir, (doc, file) => {
      const r = checkAgainst(ExploreMatrixOutput, doc);
      if (!("data" in r)) throw new UsageError(`--merge: ${printable(file)}: ${r.message}`);
      const d = r.data;
      if (d.shard === undefined || d.cellsTotal === undefined || d.options === undefined || d.cells.some((c) => c.index === undefined)) {
        throw new UsageError(`--merge: ${printable(file)}: not a sharded matrix (run it with --matrix --shard I/N --json)`);
      }
      return d as unknown as ShardDoc;
    });
    const rs = merged.cells as unknown as CellResult[];
    if (values.json) {
      const { shard: _s, ...whole } = merged;
      json({ format: EXPLORE_MATRIX_FORMAT, ...whole });
    } else if (values.markdown) out(matrixMarkdown(rs));
    else {
      out(formatMatrix(rs));
      const latency = latencyLine(rs);
      if (latency !== null) out(`\n${latency}`);
    }
    return rs.some((r) => r.counterexample !== undefined) ? EXIT.finding : EXIT.ok;
  }

  const isMatrix = values.matrix === true || positionals[0] === "all";
  const baseVariant = stringOption(values, "baseline-variant");
  const baselinePath = stringOption(values, "baseline");
  if (!isMatrix && (baselinePath !== undefined || baseVariant !== undefined)) {
    throw new UsageError(`--${baselinePath !== undefined ? "baseline" : "baseline-variant"}: only with --matrix`);
  }
  if (isMatrix) {
    // --matrix SCENARIO: that scenario's row only
    if (values.matrix && positionals.length > 0 && positionals[0] !== "all") {
      const only = scenarios.find((s) => s.name === positionals[0]);
      if (only === undefined) throw new UsageError(`--matrix: unknown scenario '${printable(positionals[0]!)}': expected one of ${scenarios.map((s) => s.name).join(", ")}`);
      scenarios = [only];
    }
    // per cell: enough for every result the README's table reports (the
    // deepest, stale-target-inject on xen-4.8, needs about 4,000)
    if (mo.budget === undefined) mo.budget = MATRIX_BUDGET;
    if (baselinePath !== undefined && baseVariant !== undefined) throw new UsageError("--baseline-variant: give either --baseline or --baseline-variant, not both");
    if (baseVariant !== undefined && variants.length !== 1) throw new UsageError("--baseline-variant: needs one --variant, the variant compared with it");
    // a baseline file is read first: a bad one costs no exploring
    const read = baselinePath !== undefined ? readMatrixBaseline(baselinePath, mo) : null;
    let baseline: { source: string; cells: CellSignature[]; explored: Array<{ scenario: string; variant: string }> | null; options: Record<string, unknown> | null } | null =
      read !== null ? { source: baselinePath!, cells: read.signatures, explored: read.matrix?.cells ?? null, options: read.matrix?.options ?? null } : null;
    const cellsOf = (vs: readonly string[]): Cell[] => scenarios.flatMap((s) => vs.map((v) => ({ scenario: s.name, variant: v })));
    const runCells = async (cells: Cell[], what: string): Promise<CellResult[]> => {
      let done = 0;
      const shape = Number.isInteger(cells.length / scenarios.length) ? ` (${scenarios.length} scenarios x ${cells.length / scenarios.length} variants)` : "";
      progress.note(`${what}${cells.length} cells${shape} on ${workers} thread${workers > 1 ? "s" : ""}`);
      // (a status line is cleared before an error is printed, too)
      try {
        return await runMatrix(entry, scenarios, cells, mo, workers, { scenariosFile, variantsFile },
          (_i, r) => { done++; progress.update(done, cells.length, "cells", `last ${r.scenario} under ${r.variant}`); });
      } finally {
        progress.clear();
      }
    };
    const t0 = performance.now();
    if (baseVariant !== undefined) {
      const ref = await runCells(cellsOf([variantNamed(baseVariant).name]), `baseline ${baseVariant}: `);
      // the reference cells stand for the compared variant's
      baseline = { source: `variant ${baseVariant}`, cells: cellSignatures(ref).map((c) => ({ ...c, variant: variants[0]! })), explored: null, options: null };
    }
    const all = cellsOf(variants);
    const shard = shardOf(stringOption(values, "shard"));
    if (shard !== null && (baseline !== null || baseVariant !== undefined)) throw new UsageError("--shard: compare the merged campaign with a baseline, not one shard");
    const indices = all.map((_, k) => k).filter((k) => shard === null || k % shard.count === shard.index);
    const rs = await runCells(indices.map((k) => all[k]!), shard === null ? "" : `shard ${shard.index}/${shard.count}: `);
    const wall = performance.now() - t0;
    const cmp = baseline ? compareCells(cellSignatures(rs), baseline.cells, rs, baseline.explored) : null;
    const searched = { strategy: mo.strategy, budget: mo.budget, seed: mo.seed ?? null, bound: mo.bound ?? null, depth: mo.depth ?? null, failOn: mo.failOn };
    if (values.json) {
      const doc: z.infer<typeof ExploreMatrixOutput> = {
        format: EXPLORE_MATRIX_FORMAT, vgicLab: VERSION, wallMs: wall, workers, build: buildFingerprint(readFileSync(fileURLToPath(entry)), variantsFile === null ? null : readFileSync(variantsFile),
          scenariosFile === null ? null : readFileSync(scenariosFile)),
        options: {
          ...searched, variants, scenarios: scenarios.map((x) => x.name),
          ...(mo.memory !== undefined ? { memory: mo.memory, lockBarrier: mo.lockBarrier } : {}),
          ...(gicLatency > 0 ? { gicLatency } : {}),
        },
        ...(shard !== null ? { shard } : {}), cellsTotal: all.length,
        cells: rs.map((r, i) => ({ index: indices[i]!, ...r, signatures: findingSignatures(r.counterexample?.findings ?? []) })),
        ...(baseline && cmp ? { baseline: { source: baseline.source, ...cmp } } : {}),
      };
      json(doc);
    } else if (values.markdown) {
      out(matrixMarkdown(rs));
      if (baseline && cmp) for (const l of formatMatrixComparison(cmp, baseline.source)) out(l);
    } else {
      out(formatMatrix(rs));
      const total = rs.reduce((a, r) => a + r.schedules, 0);
      out(`\n${rs.length} cells${gicLatency > 0 ? ` on a GIC with a latency of ${gicLatency} cycles` : ""}, ${total} schedules in ${wall.toFixed(0)} ms wall ` +
        `(${workers} thread${workers > 1 ? "s" : ""}), ${(total * 1000 / wall).toFixed(0)} schedules/s`);
      if (baseline && cmp) for (const l of formatMatrixComparison(cmp, baseline.source)) out(l);
    }
    const stateless = [...new Set(rs.filter((r) => r.weakStateless === true).map((r) => r.variant))];
    if (stateless.length > 0) process.stderr.write(weakStatelessNote(stateless, "search") + "\n");
    if (baseline?.options) {
      const note = searchNote(baseline.options, searched);
      if (note !== null) process.stderr.write(note + "\n");
    }
    // against a baseline only a change fails; otherwise any counterexample
    if (cmp) return cmp.new.length > 0 || cmp.gone.length > 0 ? EXIT.finding : EXIT.ok;
    return rs.some((r) => r.counterexample !== undefined) ? EXIT.finding : EXIT.ok;
  }

  if (positionals.length !== 1) throw new UsageError("expected one SCENARIO (or all, or --matrix)");
  // options of the matrix would be ignored here without a word
  for (const k of ["shard", "markdown"]) if (values[k] !== undefined) throw new UsageError(`--${k}: only with --matrix`);
  const scenario = scenarios.find((s) => s.name === positionals[0]);
  if (scenario === undefined) throw new UsageError(`unknown scenario '${printable(positionals[0]!)}': expected one of ${scenarios.map((s) => s.name).join(", ")}, or all`);
  const dir = stringOption(values, "out") ?? "counterexamples";
  // output places are checked before the search, not after it
  ensureDir(dir, "--out", false);
  const traceFileOf = (variant: string) => variants.length === 1 ? tracePath! : tracePath!.replace(/(\.json)?$/, `.${variant}$1`);
  if (tracePath !== undefined) for (const v of variants) checkOutputFile(traceFileOf(v), "--trace");
  let found = false;
  const results: z.infer<typeof ExploreOutput>["results"] = [];
  // a variant's result: its files written, then printed (or kept for --json)
  const report = (variant: string, r: ExploreResult): void => {
    const c = r.counterexample;
    let file: string | null = null;
    let traceFile: string | null = null;
    if (c !== undefined) {
      found = true;
      ensureDir(dir, "--out");
      file = join(dir, `${scenario.name}.${variant}${mo.memory === "weak" ? `.weak-${mo.lockBarrier}` : ""}${gicLatency > 0 ? `.latency-${gicLatency}` : ""}.json`);
      writeFileAtomic(file, JSON.stringify(toReplayFile(c, mo), null, 2) + "\n");
      if (tracePath !== undefined) {
        traceFile = traceFileOf(variant);
        writeFileAtomic(traceFile, c.chromeJson);
      }
    }
    if (values.json) { results.push({ ...slim(r), file, traceFile }); return; }
    const rate = `${r.schedulesPerSecond.toFixed(0)} schedules/s`;
    const how = (r.strategy === "dfs" ? `dfs, bound ${r.bound}` : r.strategy) + (r.memory === "weak" ? `, weak memory, locks ${r.lockBarrier}` : "") +
      (r.gicLatency !== undefined ? `, GIC latency ${r.gicLatency} cycles` : "");
    out(`== ${scenario.name} under ${variant} (${how})`);
    if (r.weakStateless === true) out(weakStatelessNote([variant], "search"));
    if (c === undefined) {
      out(`no counterexample in ${r.schedules} schedules (${r.strategy === "dfs" ? (r.exhausted ? "space exhausted within the bound" : "budget spent, space not exhausted") : "sampled"}), ${r.elapsedMs.toFixed(0)} ms, ${rate}`);
      if (r.unjudged > 0) out(unjudgedNote(r, mo.failOn!));
    } else {
      out(`counterexample after ${r.schedules} schedules, ${r.msToFirst!.toFixed(0)} ms (${rate}); minimised from ${c.found.preemptions} preemptions, ${c.found.picks} decisions, ${c.found.steps} steps to ${c.preemptions}, ${c.picks}, ${c.steps}`);
      out(`schedule ${c.schedule}`);
      printStory(c.narrative, out);
      out(`saved to ${file}${traceFile ? `, trace in ${traceFile}` : ""}; replay with: vgic explore --replay ${file}`);
    }
    out("");
  };
  const threads = Math.min(workers, variants.length);
  const cells = variants.map((variant) => ({ scenario: scenario.name, variant }));
  if (threads <= 1) {
    warmUp(scenarios, cells, mo);
    for (const [k, variant] of variants.entries()) {
      if (variants.length > 1) progress.note(`${scenario.name}: variant ${k + 1} of ${variants.length} (${variant})`);
      let r: ExploreResult;
      try {
        // a cell searched as the worker threads search theirs (exploreCell)
        r = exploreCell(scenarios, cells[k]!, mo, (n) => progress.update(n, null, "schedules", `${scenario.name} under ${variant}`));
      } finally {
        progress.clear();
      }
      report(variant, r);
    }
  } else {
    // The variants on this thread and threads - 1 workers, each searched as
    // above; reported in variant order as soon as the ones before have
    // been, so the output and files are the same as on one thread but for
    // the timings. A cell's error ends the command after the variants
    // before it.
    progress.note(`${scenario.name}: ${variants.length} variants on ${threads} threads`);
    const ready = new Map<number, ExploreResult>();
    let next = 0, done = 0;
    try {
      await exploreVariants(entry, scenarios, cells, mo, threads, { scenariosFile, variantsFile }, (i, r) => {
        ready.set(i, r);
        done++;
        for (let x = ready.get(next); x !== undefined; x = ready.get(next)) {
          ready.delete(next);
          progress.clear();
          report(variants[next++]!, x);
        }
      }, (total) => progress.update(total, null, "schedules", `${done} of ${variants.length} variants done`));
    } finally {
      progress.clear();
    }
  }
  if (values.json) {
    const doc: z.infer<typeof ExploreOutput> = { format: EXPLORE_FORMAT, vgicLab: VERSION, scenario: scenario.name, results };
    json(doc);
  }
  return found ? EXIT.finding : EXIT.ok;
}

export const EXPLORE_COMMAND = { spec: EXPLORE_SPEC, run: exploreRun };

/** Most lines of a run's story printed: a livelocked run's goes on for the
 *  whole step limit (its trace file has every event). */
const STORY_HEAD = 150, STORY_TAIL = 50;

function printStory(lines: readonly string[], out: (s: string) => void): void {
  if (lines.length <= STORY_HEAD + STORY_TAIL + 1) {
    for (const l of lines) out(l);
    return;
  }
  for (let i = 0; i < STORY_HEAD; i++) out(lines[i]!);
  out(`  ... ${lines.length - STORY_HEAD - STORY_TAIL} lines left out (--trace FILE keeps every event) ...`);
  for (let i = lines.length - STORY_TAIL; i < lines.length; i++) out(lines[i]!);
}
