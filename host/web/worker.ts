// The page's Web Worker: runs the explorer, replays, workloads and register
// scripts with the library the `vgic` command uses (host/explore,
// host/workload, host/hw), answering host/web/protocol.ts messages.

import { explore, withMemory } from "../explore/engine.ts";
import { LOCK_BARRIERS, type MemoryOptions } from "../sim/memory.ts";
import { recordTimeline, timeline, type Timeline } from "../explore/timeline.ts";
import { parseReplayFile, replayCounterexample } from "../explore/replay.ts";
import { parseFinding, replay } from "../fuzz/finding.ts";
import { runVgicCase, type VgicConfig, type VgicOp } from "../fuzz/vgic.ts";
import { scheduleToString } from "../sim/sched.ts";
import { SCENARIOS } from "../xen/scenarios.ts";
import { VARIANTS, variantNamed } from "../xen/variants.ts";
import { parseWorkload } from "../workload/schema.ts";
import { runWorkload, variantsFor, type Perf, type WorkloadResult } from "../workload/runner.ts";
import { formatComparison, formatResult } from "../workload/format.ts";
import { renderReport } from "../workload/report.ts";
import { Gic } from "../hw/gic.ts";
import { parseScript, runScript } from "../hw/script.ts";
import type { Reply, Request } from "./protocol.ts";

const scope = self as unknown as { postMessage(m: Reply): void; onmessage: ((e: MessageEvent<Request>) => void) | null };
const post = (m: Reply) => scope.postMessage(m);

function scenarioNamed(name: string) {
  const s = SCENARIOS.find((x) => x.name === name);
  if (s === undefined) throw new Error(`scenario: expected one of ${SCENARIOS.map((x) => x.name).join(", ")}, got ${JSON.stringify(name)}`);
  return s;
}

/** A fuzz finding: re-run exactly (`vgic fuzz --replay`), then its story:
 *  for the vgic target the machine's run with its states, as for a
 *  counterexample; for the hw target its last operations; then the
 *  violation. */
function replayFinding(id: number, name: string, text: string): void {
  let x: unknown;
  try {
    x = JSON.parse(text);
  } catch (e) {
    throw new Error(`${name}: not JSON (${(e as Error).message})`);
  }
  let f;
  try {
    f = parseFinding(x);
  } catch (e) {
    throw new Error(`${name}: ${(e as Error).message}`);
  }
  const r = replay(f);
  const v = f.violation;
  const closing = `violation ${v.invariant} at operation ${v.op}: ${v.message}`;
  let tl: Timeline | null = null;
  let lines: string[] = [];
  if (f.target === "vgic") {
    // the machine's run of the case, step by step, as for a counterexample
    const config = f.config as VgicConfig;
    const schedule = f.schedule;
    tl = recordTimeline({ scenario: `fuzz case (${name})`, variant: config.variant, schedule: schedule ? scheduleToString(schedule) : "" }, (instrument) => {
      const out = runVgicCase(config, f.ops as VgicOp[], { trace: true, built: instrument, ...(schedule ? { schedule } : {}) });
      return { sys: out.sys!, reason: out.run?.reason ?? "error", findings: [], traceHash: out.run?.traceHash ?? "" };
    }, [closing]);
  } else {
    lines = [...f.trace, closing].map((l, i) => `${String(i + 1).padStart(3)}. ${l}`);
  }
  post({
    id, kind: "finding", reproduced: r.reproduced, lines, timeline: tl,
    title: `${name}: ${f.target} target, ${f.ops.length} operations`,
    reason: r.reproduced ? null : r.violation === null ? "no violation now" : `now ${r.violation.invariant} at operation ${r.index}: ${r.violation.message}`,
  });
}

function handle(q: Request): void {
  switch (q.kind) {
    case "explore": {
      const scenario = scenarioNamed(q.scenario);
      variantNamed(q.variant);
      const mem = memoryOf(q);
      let last = 0;
      const r = explore({
        scenario, variant: q.variant, strategy: q.strategy, ...mem,
        ...(q.budget !== undefined ? { budget: q.budget } : {}), ...(q.bound !== undefined ? { bound: q.bound } : {}),
        ...(q.seed !== undefined ? { seed: q.seed } : {}), ...(q.depth !== undefined ? { depth: q.depth } : {}),
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
        summary: { ...rest, schedule: c?.schedule ?? null, findings: c?.findings.map((f) => `${f.kind}: ${f.message}`) ?? [] },
        timeline: c === undefined ? null : timeline(withMemory(scenario, mem), q.variant, c.schedule),
      });
      return;
    }
    case "schedule": {
      variantNamed(q.variant);
      post({ id: q.id, kind: "replayed", reproduced: true, reason: null, timeline: timeline(withMemory(scenarioNamed(q.scenario), memoryOf(q)), q.variant, q.schedule) });
      return;
    }
    case "replay": {
      if (/"format"\s*:\s*"vgic-fuzz-finding"/.test(q.text)) { replayFinding(q.id, q.name, q.text); return; }
      const file = parseReplayFile(q.text, q.name);
      const scenario = scenarioNamed(file.scenario);
      const o = replayCounterexample(file, scenario);
      // a weak-memory file is shown under the memory model it was found in
      post({ id: q.id, kind: "replayed", reproduced: o.reproduced, reason: o.reason ?? null, timeline: timeline(withMemory(scenario, file), file.variant, file.schedule) });
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
            variant, seed: q.seed,
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
      const ops = parseScript(q.script, "script");
      const gic = Gic.create({ cpus: q.cpus, listRegisters: q.lrs });
      const lines: string[] = [];
      runScript(gic, ops, (s) => lines.push(s), "script");
      post({ id: q.id, kind: "mmio", lines });
      return;
    }
  }
}

scope.onmessage = (e) => {
  try {
    handle(e.data);
  } catch (err) {
    post({ id: e.data.id, kind: "error", message: err instanceof Error ? err.message : String(err) });
  }
};

// compile the model now, so the first request does not wait for it
Gic.create();
post({
  id: 0, kind: "hello", scenarios: SCENARIOS.map((s) => ({ name: s.name, summary: s.summary })),
  variants: VARIANTS.map((v) => ({ name: v.name, summary: v.summary })),
});

/** The memory options of a request, checked as the command line checks them. */
function memoryOf(q: MemoryOptions): MemoryOptions {
  if (q.memory === undefined || q.memory === "sc") return {};
  if (q.memory !== "weak") throw new RangeError(`memory: expected sc or weak, got ${JSON.stringify(q.memory)}`);
  if (q.lockBarrier !== undefined && !LOCK_BARRIERS.includes(q.lockBarrier)) throw new RangeError(`lockBarrier: expected ${LOCK_BARRIERS.join(" or ")}, got ${JSON.stringify(q.lockBarrier)}`);
  return { memory: "weak", lockBarrier: q.lockBarrier ?? "smp_mb" };
}
