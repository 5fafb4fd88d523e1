// Comparing a run's finding signatures with a reference run's: what the
// change under test broke (new signatures) and what it fixed or no longer
// reaches (gone ones). The reference is an earlier campaign's output (its
// directory of finding files, one finding file, or the report `vgic fuzz
// --json` printed), or a run of another variant with the same seed and
// budget in cases (`--baseline-variant`).

import { VERSION } from "../version.ts";
import { readdirSync, statSync } from "node:fs";
import { printable, readJsonFile } from "../io/input.ts";
import { join } from "node:path";
import { FINDING_FORMAT, parseFinding, type FuzzOptions, type FuzzStats, type SignatureStats } from "./engine.ts";
import { FindingError, inFile, onlyFields } from "./target.ts";
import { FuzzOutput, REPORT_FORMAT, REPORT_VERSION, SignatureEntry } from "./output.ts";

export { REPORT_FORMAT, REPORT_VERSION } from "./output.ts";

/** Signatures of a reference run. */
export interface Baseline {
  /** where it came from: a path, or "variant NAME" */
  source: string;
  signatures: Record<string, Partial<SignatureStats> & { invariant: string }>;
  /** the reference run's seed, budget and parameters, when its report says */
  run?: { seed: number; cases: number; params: Record<string, string>; shard: string; corpus: boolean; budgetCases: number | null };
}

/** "I/N" of a report's shard, "0/1" for a whole run. */
export function shardText(s: unknown): string {
  const o = s as { index?: unknown; count?: unknown } | null | undefined;
  return typeof o?.index === "number" && typeof o.count === "number" ? `${o.index}/${o.count}` : "0/1";
}

/** A report's --cases budget, null when it had none (or does not say). */
function budgetCases(budget: unknown): number | null {
  const c = (budget as { cases?: unknown } | null | undefined)?.cases;
  return typeof c === "number" ? c : null;
}

export interface Comparison {
  /** in this run, not in the baseline */
  new: string[];
  /** in the baseline, not in this run */
  gone: string[];
  unchanged: string[];
  /** of the unchanged, those seen in another number of cases, when both
   *  runs ran the same cases (countsIncomparable is null); else empty */
  recounted: string[];
}

/** Sorted set differences of two signature lists. */
export function compareSignatures(run: Iterable<string>, baseline: Iterable<string>): Comparison {
  const a = new Set(run);
  const b = new Set(baseline);
  const sorted = (xs: Iterable<string>) => [...xs].sort();
  return {
    new: sorted([...a].filter((s) => !b.has(s))),
    gone: sorted([...b].filter((s) => !a.has(s))),
    unchanged: sorted([...a].filter((s) => b.has(s))),
    recounted: [],
  };
}

/** The comparison of a run with its baseline: the signatures, and when
 *  both ran the same cases, the cases each signature was seen in. A count
 *  is what tells a second bug of a kind the design already shows when the
 *  losses it causes carry the same path (a dropped re-injection and a race
 *  already there both end as `lost:acked-not-handled`): the same cases,
 *  judged again, show it in more of them. */
export function compareRuns(run: Record<string, Partial<SignatureStats>>, b: Baseline, sameCases: boolean): Comparison {
  const c = compareSignatures(Object.keys(run), Object.keys(b.signatures));
  if (sameCases) c.recounted = c.unchanged.filter((s) => run[s]?.count !== undefined && b.signatures[s]!.count !== undefined && run[s]!.count !== b.signatures[s]!.count);
  return c;
}

/** Why this run's cases may not be the baseline's, one for one, so that a
 *  signature's count would not mean the same in both; null when they are.
 *  The vgic target generates a case from the seed, its index and the fixed
 *  parameters alone (not from coverage, which a change to the design would
 *  move); a run without --variant draws each case's design from the
 *  variants loaded, which moves every later draw. */
export function countsIncomparable(b: Baseline, o: FuzzOptions, stats: FuzzStats): string | null {
  if (o.target !== "vgic") return `the ${o.target} target steers its cases by the coverage the model reaches`;
  if (!b.run) return "the baseline's finding files do not say which cases their run ran (give a --json report)";
  if (b.run.corpus || o.corpus !== undefined) return "cases started from a corpus depend on what it holds";
  if (b.run.seed !== o.seed || b.run.cases !== stats.cases || b.run.shard !== shardText(o.shard)) return "the runs ran other cases";
  // a budget in time ends each worker at its own case
  if (b.run.budgetCases !== b.run.cases || o.cases !== stats.cases) return "a run was ended by --seconds, not by its --cases";
  const { variant: va, ...mine } = o.params ?? {};
  const { variant: vb, ...theirs } = b.run.params;
  if (va === undefined || vb === undefined) return "a run without --variant draws each case's design, and with it the rest of the case";
  const ka = Object.keys(mine).sort(), kb = Object.keys(theirs).sort();
  if (!(ka.length === kb.length && ka.every((k, i) => k === kb[i] && mine[k] === theirs[k]))) return "the runs fixed other parameters";
  return null;
}

/** A comparison fails a run when anything is new or gone, or was seen in
 *  another number of the same cases. */
export function changed(c: Comparison): boolean {
  return c.new.length > 0 || c.gone.length > 0 || c.recounted.length > 0;
}

/** The baseline of a fuzzing target from a path: a directory of finding
 *  files (other JSON files, such as a corpus, are skipped), one finding
 *  file, or a report. Throws FindingError naming the file and field. */
export function loadBaseline(path: string, target: string): Baseline {
  let dir: boolean;
  try {
    dir = statSync(path).isDirectory();
  } catch (e) {
    throw new FindingError("--baseline", path, `an existing file or directory (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  const out: Baseline = { source: path, signatures: {} };
  if (!dir) {
    addFile(out, path, target, true);
    return out;
  }
  for (const n of readdirSync(path).filter((x) => x.endsWith(".json")).sort()) addFile(out, join(path, n), target, false);
  return out;
}

function addFile(b: Baseline, file: string, target: string, strict: boolean): void {
  const x = readJsonFile(file);
  inFile(printable(file), () => addDocument(b, x, target, strict, file));
}

/** Add the signatures of a finding file or report `x` read from `file`. */
function addDocument(b: Baseline, x: unknown, target: string, strict: boolean, file: string): void {
  if (typeof x !== "object" || x === null || Array.isArray(x)) {
    if (strict) throw new FindingError("(root)", x, "a JSON object: a finding file or a report of vgic fuzz --json");
    return;
  }
  const o = x as Record<string, unknown>;
  if (o.format === FINDING_FORMAT) {
    const f = parseFinding(x);
    if (f.target !== target) {
      if (strict) throw new FindingError("target", f.target, `"${target}", the target of this run`);
      return;
    }
    const have = b.signatures[f.signature];
    if (have) have.count = (have.count ?? 0) + (f.repeats ?? 1);
    else b.signatures[f.signature] = { invariant: f.violation.invariant, count: f.repeats ?? 1, file };
    return;
  }
  if (o.format === REPORT_FORMAT) {
    // the report's fields (schemas/fuzz.schema.json); only those read are checked further
    onlyFields(o, Object.keys(FuzzOutput.shape), "", "a vgic fuzz --json report");
    if (o.version !== REPORT_VERSION) throw new FindingError("version", o.version, `${REPORT_VERSION}`);
    if (o.target !== target) throw new FindingError("target", o.target, `"${target}", the target of this run`);
    if (!Array.isArray(o.signatures)) throw new FindingError("signatures", o.signatures, "an array of {signature, invariant, count, file}");
    o.signatures.forEach((s: unknown, i: number) => {
      const at = `signatures[${i}]`;
      if (typeof s !== "object" || s === null || Array.isArray(s)) throw new FindingError(at, s, "an object {signature, invariant, count, file}");
      const so = s as Record<string, unknown>;
      onlyFields(so, Object.keys(SignatureEntry.shape), at, "a signature entry");
      if (typeof so.signature !== "string" || so.signature === "") throw new FindingError(`${at}.signature`, so.signature, "a non-empty string");
      if (typeof so.invariant !== "string") throw new FindingError(`${at}.invariant`, so.invariant, "a string");
      if (so.count !== undefined && (typeof so.count !== "number" || !Number.isInteger(so.count) || so.count < 0)) {
        throw new FindingError(`${at}.count`, so.count, "a non-negative integer");
      }
      if (so.file !== undefined && so.file !== null && typeof so.file !== "string") throw new FindingError(`${at}.file`, so.file, "a file name or null");
      const count = so.count as number | undefined;
      b.signatures[so.signature] = { invariant: so.invariant, ...(count !== undefined ? { count } : {}), file: (so.file as string | null | undefined) ?? null };
    });
    if (typeof o.seed === "number" && typeof o.cases === "number") {
      b.run = {
        seed: o.seed, cases: o.cases, params: (typeof o.params === "object" && o.params !== null ? o.params : {}) as Record<string, string>,
        shard: shardText(o.shard), corpus: o.corpus !== false, budgetCases: budgetCases(o.budget),
      };
    }
    return;
  }
  if (strict) throw new FindingError("format", o.format, `"${FINDING_FORMAT}" (a finding file) or "${REPORT_FORMAT}" (a report of vgic fuzz --json)`);
}

export interface SignatureEntry extends SignatureStats {
  signature: string;
}

function entries(sigs: Record<string, Partial<SignatureStats> & { invariant: string }>, which: readonly string[]): SignatureEntry[] {
  return which.map((signature) => {
    const s = sigs[signature]!;
    return { signature, invariant: s.invariant, count: s.count ?? 0, file: s.file ?? null };
  });
}

/** The machine-readable report of a run (`vgic fuzz --json`); itself a
 *  valid baseline for a later run. */
export function fuzzReport(o: FuzzOptions, stats: FuzzStats, baseline?: { b: Baseline; c: Comparison }): Record<string, unknown> {
  const all = Object.keys(stats.signatures).sort();
  const report: Record<string, unknown> = {
    format: REPORT_FORMAT, version: REPORT_VERSION, vgicLab: VERSION, target: o.target, seed: o.seed, params: o.params ?? {},
    cases: stats.cases, ops: stats.ops, elapsedMs: stats.elapsedMs, findings: stats.findings, duplicates: stats.duplicates,
    coverage: stats.coverage, signatures: entries(stats.signatures, all),
    // what a campaign merge (vgic fuzz --merge) needs to join the shards
    budget: { cases: o.cases ?? null, seconds: o.seconds ?? null }, corpus: o.corpus !== undefined,
    ...(o.shard !== undefined && o.shard.count > 1 ? { shard: o.shard } : {}),
    violatingCases: stats.violating,
  };
  if (baseline) {
    const { b, c } = baseline;
    report.baseline = {
      source: b.source,
      new: entries(stats.signatures, c.new),
      gone: entries(b.signatures, c.gone),
      unchanged: entries(stats.signatures, c.unchanged),
      recounted: c.recounted.map((signature) => ({ ...entries(stats.signatures, [signature])[0]!, baselineCount: b.signatures[signature]!.count ?? 0 })),
    };
  }
  return report;
}

/** A warning when the reference ran other cases than this run (another
 *  seed or budget): its new and gone signatures may be the budget's. */
export function budgetWarning(b: Baseline, o: FuzzOptions, stats: FuzzStats): string | null {
  if (!b.run) return null;
  // (a shard runs every N-th case from its index: another shard, or a
  // whole run, ran other cases)
  const shard = shardText(o.shard);
  if (b.run.seed === o.seed && b.run.cases === stats.cases && b.run.shard === shard) return null;
  const of = (s: string) => (s === "0/1" ? "" : ` (shard ${s})`);
  return `note: the baseline ran ${b.run.cases} cases from seed ${b.run.seed}${of(b.run.shard)}, this run ${stats.cases} from seed ${o.seed}${of(shard)}: ` +
    "what is new or gone may come from the cases run, not the design (give both the same --seed, --cases and --shard)";
}

/** The comparison as console lines: new and gone signatures, then a count. */
export function formatComparison(c: Comparison, source: string, run: Record<string, Partial<SignatureStats>>,
  base: Record<string, Partial<SignatureStats>>): string[] {
  const n = (s: Partial<SignatureStats> | undefined) => (s?.count !== undefined ? ` (${s.count} case${s.count === 1 ? "" : "s"})` : "");
  const more = c.recounted.length > 0 ? ` (${c.recounted.length} seen in another number of cases)` : "";
  const out = [`against ${source}: ${c.new.length} new, ${c.gone.length} gone, ${c.unchanged.length} unchanged${more}`];
  for (const s of c.new) out.push(`  new:  ${s}${n(run[s])}${run[s]?.file ? ` ${run[s]!.file}` : ""}`);
  for (const s of c.gone) out.push(`  gone: ${s}${n(base[s])}`);
  for (const s of c.recounted) {
    const now = run[s]!.count!, was = base[s]!.count!;
    out.push(`  ${now > was ? "more" : "fewer"}: ${s} (${now} case${now === 1 ? "" : "s"}, baseline ${was})${now > was && run[s]?.file ? ` ${run[s]!.file}` : ""}`);
  }
  return out;
}
