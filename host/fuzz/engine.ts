// The fuzzing engine, target-generic: deterministic cases from a seed and a
// case index, invariants checked after every operation, delta-debugging
// shrinking of a failing case, finding files that replay exactly, and a
// corpus of cases that reached new coverage.

import { mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Rng } from "../sim/rng.ts";
import { Coverage, FindingError } from "./target.ts";
import {
  FINDING_FORMAT, FINDING_VERSION, TRACE_LENGTH, TARGETS, getTarget, runOps, makeFinding, parseFinding, replay,
  type AnyTarget, type Finding, type CaseResult, type ReplayResult,
} from "./finding.ts";

export {
  FINDING_FORMAT, FINDING_VERSION, TRACE_LENGTH, TARGETS, getTarget, runOps, makeFinding, parseFinding, replay,
  type Finding, type CaseResult, type ReplayResult,
};

export function caseSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca77) ^ Math.floor(index / 0x100000000)) >>> 0;
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d);
  return (h ^ (h >>> 12)) >>> 0;
}

export interface GeneratedCase {
  config: unknown;
  ops: unknown[];
  result: CaseResult;
  /** coverage features this case saw first */
  fresh: number;
}

/** Generate and run one case; with a corpus entry, replay it first and go on from there. */
export function generateCase(target: AnyTarget, seed: number, index: number, opts: {
  faults?: readonly string[]; coverage?: Coverage; corpus?: readonly CorpusEntry[]; params?: Record<string, string>;
} = {}): GeneratedCase {
  const rng = new Rng(caseSeed(seed, index));
  const cov = opts.coverage;
  let config: unknown;
  let prefix: readonly unknown[] = [];
  if (opts.corpus && opts.corpus.length > 0 && rng.below(2) === 0) {
    const e = opts.corpus[rng.below(opts.corpus.length)]!;
    config = e.config;
    prefix = e.ops.slice(0, 1 + rng.below(e.ops.length));
  } else {
    config = target.randomConfig(rng, opts.params ?? {});
  }
  const s = target.open(config, { faults: opts.faults ?? [], ...(cov ? { coverage: cov } : {}) });
  cov?.take();
  const ops: unknown[] = [];
  const n = prefix.length + target.caseLength(rng);
  for (let i = 0; i < n; i++) {
    const op = i < prefix.length ? prefix[i] : s.generate(rng);
    ops.push(op);
    const v = s.step(op);
    if (v) return { config, ops, result: { violation: v, index: i, checkedOps: s.checkedOps }, fresh: cov?.take() ?? 0 };
  }
  return { config, ops, result: { violation: s.finish(), index: n, checkedOps: s.checkedOps }, fresh: cov?.take() ?? 0 };
}

// ---- shrinking

/**
 * Delta debugging: the smallest operation list found that still violates the
 * same invariant. Cut after the violating operation, remove chunks of halving
 * size, then single operations, then simplify values; repeat while progress.
 */
export function shrink(target: AnyTarget, config: unknown, ops: readonly unknown[], invariant: string,
  faults: readonly string[] = [], budget = 4000): { ops: unknown[]; result: CaseResult; runs: number } {
  let runs = 0;
  const fails = (cand: readonly unknown[]): CaseResult | null => {
    runs++;
    const r = runOps(target, config, cand, faults);
    return r.violation?.invariant === invariant ? r : null;
  };
  let best = fails(ops);
  if (!best) throw new Error(`shrink: the case does not violate '${invariant}' when replayed`);
  let cur = ops.slice(0, best.index + 1);
  let progress = true;
  while (progress && runs < budget) {
    progress = false;
    for (let chunk = Math.max(1, cur.length >> 1); chunk >= 1 && runs < budget; chunk >>= 1) {
      for (let start = cur.length - chunk; start >= 0 && runs < budget; start -= chunk) {
        const cand = cur.slice(0, start).concat(cur.slice(start + chunk));
        const r = fails(cand);
        if (r) {
          cur = cand.slice(0, r.index + 1);
          best = r;
          progress = true;
        }
      }
      if (chunk === 1) break;
    }
    for (let i = 0; i < cur.length && runs < budget; i++) {
      for (const simpler of target.simplerOps(config, cur[i])) {
        const cand = cur.slice();
        cand[i] = simpler;
        const r = fails(cand);
        if (r) {
          cur = cand.slice(0, r.index + 1);
          best = r;
          progress = true;
          break;
        }
      }
    }
  }
  return { ops: cur, result: best, runs };
}

export function readFinding(file: string): Finding {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (e) {
    throw new FindingError("file", file, `a readable file (${(e as Error).message})`);
  }
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new FindingError("file", file, `JSON (${(e as Error).message})`);
  }
  return parseFinding(x);
}

// ---- corpus

export interface CorpusEntry {
  config: unknown;
  ops: unknown[];
}

export function loadCorpus(target: AnyTarget, dir: string): CorpusEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  const out: CorpusEntry[] = [];
  for (const n of names) {
    const x = JSON.parse(readFileSync(join(dir, n), "utf8")) as Record<string, unknown>;
    if (x.target !== target.name) continue;
    try {
      const config = target.parseConfig(x.config, "config");
      if (!Array.isArray(x.ops)) throw new FindingError("ops", x.ops, "an array");
      out.push({ config, ops: x.ops.map((op, i) => target.parseOp(op, `ops[${i}]`)) });
    } catch (e) {
      throw new FindingError(`${join(dir, n)}: ${(e as FindingError).field}`, (e as FindingError).got, (e as FindingError).expected);
    }
  }
  return out;
}

// ---- the fuzzing loop

export interface FuzzOptions {
  target: string;
  seed: number;
  /** stop after this many seconds (wall clock) ... */
  seconds?: number;
  /** ... or after this many cases */
  cases?: number;
  /** this run takes case indices i with i % count == index */
  shard?: { index: number; count: number };
  out?: string;
  corpus?: string;
  /** test-only planted faults */
  faults?: readonly string[];
  /** run parameters the target honours (its `params`), e.g. {variant: "xen-4.9"} */
  params?: Record<string, string>;
  /** runs of the shrinker per failing case (4000) */
  shrinkBudget?: number;
  /** stop once the first finding is made and its improvement budget spent */
  stopOnFinding?: boolean;
  /** further failing cases per invariant to shrink, keeping the smallest (8) */
  improve?: number;
  onProgress?: (s: FuzzStats) => void;
  /** called for each new finding (after shrinking) */
  onFinding?: (f: Finding, file: string | null) => void;
}

export interface FuzzStats {
  cases: number;
  ops: number;
  findings: number;
  /** violations of an invariant already reported in this run */
  duplicates: number;
  corpusAdded: number;
  coverage: number;
  elapsedMs: number;
}

export interface FuzzReport extends FuzzStats {
  findingsList: Finding[];
  files: string[];
}

export function fuzz(o: FuzzOptions): FuzzReport {
  const target = getTarget(o.target);
  const shard = o.shard ?? { index: 0, count: 1 };
  const params = o.params ?? {};
  for (const k of Object.keys(params)) {
    if (!(target.params ?? []).includes(k)) throw new RangeError(`target '${target.name}' takes no --${k}`);
  }
  target.validateParams?.(params);
  // corpus entries must agree with the fixed parameters
  const corpus = (o.corpus ? loadCorpus(target, o.corpus) : []).filter((e) =>
    Object.entries(params).every(([k, v]) => (e.config as Record<string, unknown>)[k] === v));
  const coverage = new Coverage();
  const t0 = Date.now();
  const deadline = o.seconds !== undefined ? t0 + o.seconds * 1000 : Infinity;
  const maxCases = o.cases ?? Infinity;
  const stats: FuzzReport = { cases: 0, ops: 0, findings: 0, duplicates: 0, corpusAdded: 0, coverage: 0, elapsedMs: 0, findingsList: [], files: [] };
  const best = new Map<string, { finding: Finding; file: string | null; tries: number }>();
  const improve = o.improve ?? 8;
  let lastProgress = t0;
  if (o.out) mkdirSync(o.out, { recursive: true });
  if (o.corpus) mkdirSync(o.corpus, { recursive: true });
  for (let k = 0; stats.cases < maxCases; k++) {
    if ((k & 3) === 0 && Date.now() >= deadline) break;
    const index = k * shard.count + shard.index;
    const g = generateCase(target, o.seed, index, { faults: o.faults ?? [], coverage, corpus, params });
    stats.cases++;
    stats.ops += g.result.checkedOps;
    if (g.fresh > 0 && o.corpus && !g.result.violation) {
      const name = `${target.name}-${o.seed}-${index}.json`;
      writeFileSync(join(o.corpus, name), JSON.stringify({ target: target.name, config: g.config, ops: g.ops }) + "\n");
      corpus.push({ config: g.config, ops: g.ops });
      stats.corpusAdded++;
    }
    const v = g.result.violation;
    if (v) {
      const prev = best.get(v.invariant);
      if (!prev) {
        const s = shrink(target, g.config, g.ops, v.invariant, o.faults ?? [], o.shrinkBudget);
        const f = makeFinding(target, o.seed, index, g.config, s.ops, s.result, o.faults ?? [], g.ops.length);
        let file: string | null = null;
        if (o.out) {
          file = join(o.out, `${target.name}-${v.invariant}-${o.seed}-${index}.json`);
          writeFileSync(file, JSON.stringify(f, null, 2) + "\n");
          stats.files.push(file);
        }
        best.set(v.invariant, { finding: f, file, tries: 0 });
        stats.findings++;
        stats.findingsList.push(f);
        o.onFinding?.(f, file);
      } else {
        stats.duplicates++;
        // Shrinking removes operations but cannot find another route to the
        // same state: shrink a few more cases and keep the smallest finding.
        if (prev.tries < improve && g.result.index + 1 > prev.finding.ops.length) {
          prev.tries++;
          const s = shrink(target, g.config, g.ops, v.invariant, o.faults ?? [], o.shrinkBudget);
          if (s.ops.length < prev.finding.ops.length) {
            const f = makeFinding(target, o.seed, index, g.config, s.ops, s.result, o.faults ?? [], g.ops.length);
            stats.findingsList[stats.findingsList.indexOf(prev.finding)] = f;
            prev.finding = f;
            if (prev.file) writeFileSync(prev.file, JSON.stringify(f, null, 2) + "\n");
          }
        }
      }
      if (o.stopOnFinding && [...best.values()].every((b) => b.tries >= improve)) break;
    }
    if (o.onProgress && Date.now() - lastProgress >= 500) {
      lastProgress = Date.now();
      stats.coverage = coverage.total;
      stats.elapsedMs = lastProgress - t0;
      o.onProgress(stats);
    }
  }
  stats.coverage = coverage.total;
  stats.elapsedMs = Date.now() - t0;
  return stats;
}

/** Executions and checked operations per second of a run. */
export function rates(s: FuzzStats): { execsPerSec: number; opsPerSec: number } {
  const sec = Math.max(s.elapsedMs, 1) / 1000;
  return { execsPerSec: s.cases / sec, opsPerSec: s.ops / sec };
}

export function formatProgress(s: FuzzStats): string {
  const r = rates(s);
  return `${s.cases} execs (${Math.round(r.execsPerSec)}/s), ${(s.ops / 1e6).toFixed(2)}M ops (${(r.opsPerSec / 1e6).toFixed(2)}M/s), ` +
    `${s.findings} findings, coverage ${s.coverage}, ${(s.elapsedMs / 1000).toFixed(1)} s`;
}
