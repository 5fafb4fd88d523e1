// The fuzzing engine, target-generic: deterministic cases from a seed and a
// case index, invariants checked after every operation, delta-debugging
// shrinking of a failing case, finding files that replay exactly, and a
// corpus of cases that reached new coverage.

import { readdirSync } from "node:fs";
import { join } from "node:path";
import { ensureDir, writeFileAtomic } from "../io/files.ts";
import { InputError, printable, readJsonFile } from "../io/input.ts";
import { Rng } from "../sim/rng.ts";
import { Coverage, FindingError, inFile, onlyFields } from "./target.ts";
import { signatureSlug, signaturesOf, withSignature } from "./signature.ts";
import {
  FINDING_FORMAT, FINDING_VERSION, MAX_FINDING_OPS, TRACE_LENGTH, TARGETS, getTarget, runOps, makeFinding, parseFinding, parseOps, replay,
  type AnyTarget, type Finding, type CaseResult, type ReplayResult,
} from "./finding.ts";

export {
  FINDING_FORMAT, FINDING_VERSION, MAX_FINDING_OPS, TRACE_LENGTH, TARGETS, getTarget, runOps, makeFinding, parseFinding, replay,
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
 * Results of operation lists already run with one configuration and set of
 * faults, by list. A run is a function of its configuration and operations,
 * so a list run again gives its first result: delta debugging tries many
 * lists again (every round after progress starts over from the largest
 * chunks), and the signatures of one case, and the improvement check, all
 * start from the same lists.
 */
export type RunMemo = Map<string, CaseResult>;

function memoKey(ops: readonly unknown[]): string {
  return JSON.stringify(ops);
}

/** runOps, or the result of the same list run before. */
function runMemo(memo: RunMemo, target: AnyTarget, config: unknown, ops: readonly unknown[], faults: readonly string[]): CaseResult {
  const key = memoKey(ops);
  let r = memo.get(key);
  if (r === undefined) {
    r = runOps(target, config, ops, faults);
    memo.set(key, r);
  }
  return r;
}

/**
 * Delta debugging: the smallest operation list found that still shows the
 * same signature (among the violations of its case). Cut after the violating
 * operation, remove chunks of halving size, then single operations, then
 * simplify values; repeat while progress. The result's violation is the one
 * with that signature.
 */
export function shrink(target: AnyTarget, config: unknown, ops: readonly unknown[], signature: string,
  faults: readonly string[] = [], budget = 4000, memo: RunMemo = new Map()): { ops: unknown[]; result: CaseResult; runs: number } {
  let runs = 0;
  const fails = (cand: readonly unknown[]): CaseResult | null => {
    runs++;
    const r = runMemo(memo, target, config, cand, faults);
    const v = withSignature(r.violation, signature);
    return v ? { ...r, violation: v } : null;
  };
  let best = fails(ops);
  if (!best) throw new Error(`shrink: the case does not show '${signature}' when replayed`);
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

/**
 * False when no shrink of this case can end with fewer than `n` operations.
 * A shrink ends with a list that shows the signature, and each of its
 * operations is one of the case's or a simplification of one (again and
 * again): below one operation that list is the empty one, below two it is
 * the empty one or a single such operation. Each of those is run once (a
 * one-operation case is short) instead of the whole shrink; longer bounds
 * would take every pair, more runs than the shrink itself.
 */
function canShrinkBelow(target: AnyTarget, config: unknown, ops: readonly unknown[], n: number, signature: string,
  faults: readonly string[], memo: RunMemo): boolean {
  if (n > 2) return true;
  if (n === 0) return false;
  const shows = (list: readonly unknown[]) => withSignature(runMemo(memo, target, config, list, faults).violation, signature) !== null;
  if (shows([])) return true;
  if (n === 1) return false;
  const alphabet = simplifications(target, config, ops, MAX_SINGLE_RUNS);
  return alphabet === null || alphabet.some((op) => shows([op]));
}

/** Most one-operation runs canShrinkBelow makes before it shrinks instead */
const MAX_SINGLE_RUNS = 64;

/** The case's operations and every simplification of them, each once, in
 *  order; null when there are more than `limit`. */
function simplifications(target: AnyTarget, config: unknown, ops: readonly unknown[], limit: number): unknown[] | null {
  const seen = new Set<string>();
  const out: unknown[] = [];
  const todo = ops.slice();
  for (let i = 0; i < todo.length; i++) {
    const key = memoKey([todo[i]]);
    if (seen.has(key)) continue;
    if (out.length === limit) return null;
    seen.add(key);
    out.push(todo[i]);
    todo.push(...target.simplerOps(config, todo[i]));
  }
  return out;
}

/** Read and validate a finding file; errors name the file. */
export function readFinding(file: string): Finding {
  const x = readJsonFile(file);
  return inFile(printable(file), () => parseFinding(x));
}

// ---- corpus

export interface CorpusEntry {
  config: unknown;
  ops: unknown[];
}

/** A corpus entry's fields, as fuzz() writes them. */
const CORPUS_FIELDS = ["target", "config", "ops"];

export function loadCorpus(target: AnyTarget, dir: string): CorpusEntry[] {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".json")).sort();
  } catch {
    return [];
  }
  const out: CorpusEntry[] = [];
  for (const n of names) {
    const file = join(dir, n);
    let x: unknown;
    try {
      x = readJsonFile(file);
    } catch (e) {
      if (e instanceof InputError) throw new InputError(`--corpus ${e.message}`);
      throw e;
    }
    const entry = inFile(`--corpus ${printable(file)}`, () => {
      if (typeof x !== "object" || x === null || Array.isArray(x)) throw new FindingError("(root)", x, "a JSON object {target, config, ops}");
      const o = x as Record<string, unknown>;
      onlyFields(o, CORPUS_FIELDS, "", "a corpus entry");
      if (o.target !== target.name) return null;
      const config = target.parseConfig(o.config, "config");
      if (!Array.isArray(o.ops)) throw new FindingError("ops", o.ops, "an array");
      return { config, ops: parseOps(target, config, o.ops) };
    });
    if (entry !== null) out.push(entry);
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
  /** run exactly these case indices, in this order, instead of a budget
   *  (a merge re-running the failing cases of a sharded campaign) */
  indices?: readonly number[];
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
  /** further failing cases per signature to shrink, keeping the smallest (8) */
  improve?: number;
  /** only count signatures: no shrinking, no finding files (a baseline run) */
  signaturesOnly?: boolean;
  onProgress?: (s: FuzzStats) => void;
  /** milliseconds between onProgress calls (500) */
  progressMs?: number;
  /** worker threads load this variant file (`--variants`) before fuzzing */
  variantsFile?: string;
  /** called for each new signature's finding (after shrinking), and again
   *  with `improved` when a smaller case replaced it in its file */
  onFinding?: (f: Finding, file: string | null, improved: boolean) => void;
}

export interface SignatureStats {
  invariant: string;
  /** cases that showed it */
  count: number;
  /** its finding file, if written */
  file: string | null;
}

export interface FuzzStats {
  cases: number;
  ops: number;
  /** distinct signatures found */
  findings: number;
  /** cases showing a signature already found in this run */
  duplicates: number;
  corpusAdded: number;
  coverage: number;
  elapsedMs: number;
  /** per signature, in the order found */
  signatures: Record<string, SignatureStats>;
  /** indices of the cases that showed a violation, ascending */
  violating: number[];
}

export interface FuzzReport extends FuzzStats {
  findingsList: Finding[];
  files: string[];
  /** coverage growth: [checked operations, features] points, about four per doubling */
  curve: Array<[number, number]>;
  /** [feature id, hits] of every feature seen */
  features: Array<[number, number]>;
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
  const corpus = (o.corpus ? loadCorpus(target, o.corpus) : []).filter((e) => target.configMatches !== undefined
    ? target.configMatches(e.config, params)
    : Object.entries(params).every(([k, v]) => (e.config as Record<string, unknown>)[k] === v));
  const coverage = new Coverage();
  const t0 = Date.now();
  const deadline = o.seconds !== undefined ? t0 + o.seconds * 1000 : Infinity;
  const maxCases = o.cases ?? Infinity;
  const stats: FuzzReport = {
    cases: 0, ops: 0, findings: 0, duplicates: 0, corpusAdded: 0, coverage: 0, elapsedMs: 0, signatures: {}, violating: [], findingsList: [], files: [],
    curve: [], features: [],
  };
  let nextMark = 1;
  const best = new Map<string, { finding: Finding | null; file: string | null; tries: number }>();
  const faults = o.faults ?? [];
  const write = (file: string, f: Finding) => writeFileAtomic(file, JSON.stringify(f, null, 2) + "\n");
  const improve = o.improve ?? 8;
  let lastProgress = t0;
  if (o.out) ensureDir(o.out, "--out");
  if (o.corpus) ensureDir(o.corpus, "--corpus");
  const only = o.indices;
  for (let k = 0; only !== undefined ? k < only.length : stats.cases < maxCases; k++) {
    if ((k & 3) === 0 && Date.now() >= deadline) break;
    const index = only !== undefined ? only[k]! : k * shard.count + shard.index;
    const g = generateCase(target, o.seed, index, { faults: o.faults ?? [], coverage, corpus, params });
    stats.cases++;
    stats.ops += g.result.checkedOps;
    if (stats.ops >= nextMark) {
      stats.curve.push([stats.ops, coverage.total]);
      while (nextMark <= stats.ops) nextMark = Math.ceil(nextMark * 1.19);
    }
    if (g.fresh > 0 && o.corpus && !g.result.violation) {
      const name = `${target.name}-${o.seed}-${index}.json`;
      writeFileAtomic(join(o.corpus, name), JSON.stringify({ target: target.name, config: g.config, ops: g.ops }) + "\n");
      corpus.push({ config: g.config, ops: g.ops });
      stats.corpusAdded++;
    }
    const v = g.result.violation;
    if (v) stats.violating.push(index);
    // the case's own run is the shrinks' first
    let memo: RunMemo | null = null;
    const caseMemo = () => memo ??= new Map([[memoKey(g.ops), g.result]]);
    for (const sig of signaturesOf(v)) {
      const sv = withSignature(v, sig)!;
      const prev = best.get(sig);
      if (!prev) {
        stats.signatures[sig] = { invariant: sv.invariant, count: 1, file: null };
        stats.findings++;
        if (o.signaturesOnly) {
          best.set(sig, { finding: null, file: null, tries: improve });
          continue;
        }
        const s = shrink(target, g.config, g.ops, sig, faults, o.shrinkBudget, caseMemo());
        const f = makeFinding(target, o.seed, index, g.config, s.ops, s.result, faults, g.ops.length);
        f.repeats = 1;
        let file: string | null = null;
        if (o.out) {
          file = join(o.out, `${target.name}-${signatureSlug(sig)}-${o.seed}-${index}.json`);
          write(file, f);
          stats.files.push(file);
          stats.signatures[sig]!.file = file;
        }
        best.set(sig, { finding: f, file, tries: 0 });
        stats.findingsList.push(f);
        o.onFinding?.(f, file, false);
      } else {
        stats.signatures[sig]!.count++;
        stats.duplicates++;
        // Shrinking removes operations but cannot find another route to the
        // same state: shrink a few more cases and keep the smallest finding.
        const pf = prev.finding;
        if (pf && prev.tries < improve && g.result.index + 1 > pf.ops.length) {
          prev.tries++;
          const s = canShrinkBelow(target, g.config, g.ops, pf.ops.length, sig, faults, caseMemo())
            ? shrink(target, g.config, g.ops, sig, faults, o.shrinkBudget, caseMemo()) : null;
          if (s !== null && s.ops.length < pf.ops.length) {
            const f = makeFinding(target, o.seed, index, g.config, s.ops, s.result, faults, g.ops.length);
            f.repeats = stats.signatures[sig]!.count;
            stats.findingsList[stats.findingsList.indexOf(pf)] = f;
            prev.finding = f;
            if (prev.file) write(prev.file, f);
            o.onFinding?.(f, prev.file, true);
          }
        }
      }
    }
    if (v && o.stopOnFinding && [...best.values()].every((b) => b.tries >= improve)) break;
    if (o.onProgress && Date.now() - lastProgress >= (o.progressMs ?? 500)) {
      lastProgress = Date.now();
      stats.coverage = coverage.total;
      stats.elapsedMs = lastProgress - t0;
      o.onProgress(stats);
    }
  }
  // the files record how often their signature was seen in the whole run
  for (const [sig, b] of best) {
    const n = stats.signatures[sig]!.count;
    if (b.finding && b.finding.repeats !== n) {
      b.finding.repeats = n;
      if (b.file) write(b.file, b.finding);
    }
  }
  stats.coverage = coverage.total;
  stats.elapsedMs = Date.now() - t0;
  if (stats.curve.at(-1)?.[0] !== stats.ops) stats.curve.push([stats.ops, coverage.total]);
  stats.features = coverage.list();
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
