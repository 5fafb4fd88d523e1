// What the page's worker does with each message (host/web/protocol.ts): the
// explorer, replays, workloads and register scripts with the library the
// `vgic` command uses (host/explore, host/workload, host/hw), their inputs
// checked with the command line's own checks, so the page never gives a
// verdict the command line would not. No `self` here: host/web/worker.ts
// wires it to the worker, the tests call it directly.

import { DEFAULT_FAIL_ON, explore, withBuildOptions, type BuildOptions } from "../explore/engine.ts";
import { gicLatencyOption, searchSettings, verdictText } from "../explore/search.ts";
import { recordTimeline, timeline, type Timeline } from "../explore/timeline.ts";
import { parseReplayFile, replayCounterexample, replayVerdict } from "../explore/replay.ts";
import { parseFinding, replay } from "../fuzz/finding.ts";
import { inFile } from "../fuzz/target.ts";
import { runVgicCase, type VgicConfig, type VgicOp } from "../fuzz/vgic.ts";
import { scheduleToString } from "../sim/sched.ts";
import { SCENARIOS } from "../xen/scenarios.ts";
import { variantNamed } from "../xen/variants.ts";
import { parseWorkload } from "../workload/schema.ts";
import { runWorkload, variantsFor, type Perf, type WorkloadResult } from "../workload/runner.ts";
import { formatComparison, formatResult } from "../workload/format.ts";
import { renderReport } from "../workload/report.ts";
import { Gic } from "../hw/gic.ts";
import { parseScript, runScript } from "../hw/script.ts";
import { intOption, memoryOptions } from "../io/usage.ts";
import { parseJsonFrom, printable } from "../io/text.ts";
import { REQUEST_KINDS, type CliOptions, type Reply, type Request } from "./protocol.ts";

type Post = (m: Reply) => void;

function scenarioNamed(name: string) {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`scenario: expected one of ${SCENARIOS.map((x) => x.name).join(", ")}, got ${JSON.stringify(name)}`);
  return s;
}

const shown = (x: unknown) => (x === undefined ? "nothing" : printable(JSON.stringify(x) ?? String(x), 60));

/** A message as a request: an object with a positive integer id, a known
 *  kind and that kind's fields; else an error naming the field. */
function checkRequest(m: unknown): Request {
  if (typeof m !== "object" || m === null || Array.isArray(m)) throw new TypeError(`message: expected an object {id, kind, ...}, got ${shown(m)}`);
  const o = m as Record<string, unknown>;
  if (!Number.isSafeInteger(o.id) || (o.id as number) < 1) throw new TypeError(`id: expected a positive integer, got ${shown(o.id)}`);
  if (!REQUEST_KINDS.includes(o.kind as Request["kind"])) throw new TypeError(`kind: expected one of ${REQUEST_KINDS.join(", ")}, got ${shown(o.kind)}`);
  const fields: Record<Request["kind"], string[]> = {
    explore: ["scenario", "variant"], schedule: ["scenario", "variant", "schedule"], replay: ["name", "text"],
    workload: ["name", "text", "variant"], mmio: ["script", "cpus", "lrs"],
  };
  for (const f of fields[o.kind as Request["kind"]]) {
    if (typeof o[f] !== "string") throw new TypeError(`${f}: expected a string, got ${shown(o[f])}`);
  }
  if (o.kind === "explore" || o.kind === "schedule") {
    const opts = o.options;
    if (typeof opts !== "object" || opts === null || Array.isArray(opts)) throw new TypeError(`options: expected an object of option texts, got ${shown(opts)}`);
    const known = o.kind === "explore" ? ["strategy", "budget", "seed", "bound", "depth", "memory", "lock-barrier", "gic-latency"] : ["memory", "lock-barrier", "gic-latency"];
    for (const [k, v] of Object.entries(opts)) {
      if (!known.includes(k)) throw new TypeError(`options: unknown option '--${printable(k)}' (expected ${known.map((x) => `--${x}`).join(", ")})`);
      if (typeof v !== "string") throw new TypeError(`options.${k}: expected a string, got ${shown(v)}`);
    }
  }
  return o as unknown as Request;
}

/** The memory model and GIC latency of these options, checked as
 *  `vgic explore` checks them. */
function buildOf(o: CliOptions): BuildOptions {
  const b: BuildOptions = memoryOptions(o.memory, o["lock-barrier"]);
  const latency = gicLatencyOption(o);
  if (latency > 0) b.gicLatency = latency;
  return b;
}

/** Build options as `vgic explore` options (what a link carries). */
function cliOf(b: BuildOptions): CliOptions {
  const o: CliOptions = {};
  if (b.memory !== undefined && b.memory !== "sc") {
    o.memory = b.memory;
    o["lock-barrier"] = b.lockBarrier ?? "smp_mb";
  }
  if ((b.gicLatency ?? 0) > 0) o["gic-latency"] = String(b.gicLatency);
  return o;
}

/** A fuzz finding: re-run exactly (`vgic fuzz --replay`), then its story:
 *  for the vgic target the machine's run with its states, as for a
 *  counterexample; for the hw target its last operations; then the
 *  violation the run ends in now, if any. */
function replayFinding(post: Post, id: number, name: string, text: string): void {
  const x = parseJsonFrom(text, name);
  const f = inFile(name, () => parseFinding(x));
  const r = inFile(name, () => replay(f));
  // the story ends in the violation only when the run ends in one now
  const closing = r.violation === null ? [] : [`violation ${r.violation.invariant} at operation ${r.index}: ${r.violation.message}`];
  let tl: Timeline | null = null;
  let lines: string[] = [];
  if (f.target === "vgic") {
    // the machine's run of the case, step by step, as for a counterexample
    const config = f.config as VgicConfig;
    const schedule = f.schedule;
    tl = recordTimeline({ scenario: `fuzz case (${name})`, variant: config.variant, schedule: schedule ? scheduleToString(schedule) : "" }, (instrument) => {
      const out = runVgicCase(config, f.ops as VgicOp[], { trace: true, built: instrument, faults: f.faults, ...(schedule ? { schedule } : {}) });
      return { sys: out.sys!, reason: out.run?.reason ?? "error", findings: [], traceHash: out.run?.traceHash ?? "" };
    }, closing);
  } else {
    lines = [...f.trace, ...closing].map((l, i) => `${String(i + 1).padStart(3)}. ${l}`);
  }
  post({
    id, kind: "finding", reproduced: r.reproduced, verdict: r.violation !== null ? "fails" : "passes", lines, timeline: tl,
    title: `${name}: ${f.target} target, ${f.ops.length} operations`,
    reason: r.reproduced ? null : r.violation === null ? "no violation now" : `now ${r.violation.invariant} at operation ${r.index}: ${r.violation.message}`,
  });
}

function answer(post: Post, q: Request): void {
  switch (q.kind) {
    case "explore": {
      const scenario = scenarioNamed(q.scenario);
      variantNamed(q.variant);
      const search = searchSettings(q.options);
      const build = buildOf(q.options);
      let last = 0;
      const r = explore({
        scenario, variant: q.variant, ...search, ...build,
        onProgress: (n, ms) => {
          if (ms - last < 100) return;
          last = ms;
          post({ id: q.id, kind: "progress", text: `${q.variant}: ${n} schedules, ${(ms / 1000).toFixed(1)} s` });
        },
      });
      const c = r.counterexample;
      const { counterexample: _, ...rest } = r;
      post({
        id: q.id, kind: "explored",
        summary: { ...rest, verdictText: verdictText(r), schedule: c?.schedule ?? null, findings: c?.findings.map((f) => `${f.kind}: ${f.message}`) ?? [] },
        timeline: c === undefined ? null : timeline(withBuildOptions(scenario, build), q.variant, c.schedule),
      });
      return;
    }
    case "schedule": {
      const scenario = scenarioNamed(q.scenario);
      variantNamed(q.variant);
      // as `vgic explore --replay`: a schedule that does not fit the run is refused
      const build = buildOf(q.options);
      const tl = timeline(withBuildOptions(scenario, build), q.variant, q.schedule);
      // fails as a run of the search fails: a finding of a kind that fails by default
      post({
        id: q.id, kind: "replayed", reproduced: true, verdict: tl.findings.some((f) => DEFAULT_FAIL_ON.includes(f.kind)) ? "fails" : "passes", reason: null,
        timeline: tl, options: cliOf(build),
      });
      return;
    }
    case "replay": {
      if (/"format"\s*:\s*"vgic-fuzz-finding"/.test(q.text)) { replayFinding(post, q.id, q.name, q.text); return; }
      const file = parseReplayFile(q.text, q.name);
      const scenario = scenarioNamed(file.scenario);
      const o = replayCounterexample(file, scenario);
      // a weak-memory file is shown under the memory model it was found in
      post({
        id: q.id, kind: "replayed", reproduced: o.reproduced, verdict: replayVerdict(file, o), reason: o.reason ?? null,
        timeline: timeline(withBuildOptions(scenario, file), file.variant, file.schedule), options: cliOf(file),
      });
      return;
    }
    case "workload": {
      const w = parseWorkload(q.text, q.name);
      const variants = variantsFor(w, q.variant);
      const results: WorkloadResult[] = [];
      const perfs: Perf[] = [];
      const text: string[] = [];
      let failed = false;
      variants.forEach((variant, i) => {
        try {
          const { result, perf } = runWorkload(w, {
            variant,
            onProgress: (f) => post({ id: q.id, kind: "progress", text: `${w.name} under ${variant}`, fraction: (i + f) / variants.length }),
          });
          results.push(result);
          perfs.push(perf);
          text.push(formatResult(result, perf));
          if (result.interrupts.accountingErrors.length > 0) failed = true;
        } catch (e) {
          text.push(`${variant}: ${(e as Error).message}`);
          failed = true;
        }
      });
      if (results.length > 1) text.push(formatComparison(results));
      post({ id: q.id, kind: "workload", text: text.join("\n\n"), reportHtml: renderReport(results, perfs), failed });
      return;
    }
    case "mmio": {
      // as `vgic mmio --cpus N --lrs N SCRIPT`: a malformed line anywhere
      // runs nothing; an error part-way keeps the reads made before it
      const cpus = intOption({ cpus: q.cpus }, "cpus", 0, 0xffffffff)!;
      const lrs = intOption({ lrs: q.lrs }, "lrs", 0, 0xffffffff)!;
      const ops = parseScript(q.script, "script");
      const gic = Gic.create({ cpus, listRegisters: lrs });
      const lines: string[] = [];
      let error: string | null = null;
      try {
        runScript(gic, ops, (s) => lines.push(s), "script");
      } catch (e) {
        error = e instanceof Error ? e.message : String(e);
      }
      post({ id: q.id, kind: "mmio", lines, error });
      return;
    }
  }
}

/** Answer one message: its reply, or an error reply naming what was wrong. */
export function handle(m: unknown, post: Post): void {
  const id = typeof m === "object" && m !== null && Number.isSafeInteger((m as { id?: unknown }).id) ? (m as { id: number }).id : 0;
  try {
    answer(post, checkRequest(m));
  } catch (err) {
    post({ id, kind: "error", message: err instanceof Error ? err.message : String(err) });
  }
}
