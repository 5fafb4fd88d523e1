// Plain-text presentation of workload results: one block per variant
// (interrupt accounting per source with latencies, where each pCPU's cycles
// went, the vGIC's counters, findings), then a comparison across variants.

import type { Perf, WorkloadResult } from "./runner.ts";
import { weakStatelessNote } from "../sim/memory.ts";

function table(rows: string[][], right: boolean[] = []): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  return rows.map((r) => r.map((c, i) => (right[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join("  ").trimEnd()).join("\n");
}

const n = (x: number) => String(Math.round(x));
const pct = (x: number, of: number) => (of > 0 ? `${((100 * x) / of).toFixed(1)}%` : "-");

export function inversions(r: WorkloadResult): number {
  return r.findings.filter((f) => f.kind === "lock-inversion").length;
}
export function stuck(r: WorkloadResult): number {
  return r.findings.filter((f) => f.kind === "stuck-active").length;
}

function outcomeText(r: WorkloadResult): string {
  const ms = (c: number) => `${((c * 1000) / r.cycles.hz).toFixed(2)} ms`;
  switch (r.outcome) {
    case "completed": return `completed ${ms(r.cycles.end - r.cycles.boot)} after boot (cycle ${r.cycles.end})`;
    case "deadlock": return `DEADLOCK at cycle ${r.cycles.stoppedAt} (${ms(r.cycles.stoppedAt - r.cycles.boot)} after boot)`;
    case "error": return `ERROR at cycle ${r.cycles.stoppedAt}: ${r.error}`;
    case "boot-failed": return "the guest did not finish booting";
    default: return `stopped: nothing left to run at cycle ${r.cycles.stoppedAt}`;
  }
}

/** A source's raises taken back before the hypervisor took them. */
export function withdrawnNote(n: number): string {
  return `${n} withdrawn (not raised): the guest moved the deadline before the hypervisor took the PPI`;
}

export function formatResult(r: WorkloadResult, perf?: Perf): string {
  const out: string[] = [];
  const mem = r.memory === undefined ? "" : `, weak memory, locks ${r.memory.lockBarrier}`;
  out.push(`== ${r.workload} on ${r.variant} (seed ${r.seed}${mem}): ${outcomeText(r)}`);
  const I = r.interrupts;
  const lat = (s: { count: number; p50: number; p90: number; p99: number; max: number }) =>
    s.count === 0 ? "-" : `${n(s.p50)}/${n(s.p90)}/${n(s.p99)}/${n(s.max)}`;
  const rows: string[][] = [["source", "raised", "delivered", "coalesced", "dropped", "lost", "pending", "to handler p50/p90/p99/max", "to EOI p50/p90/p99/max"]];
  for (const s of I.sources) {
    rows.push([`${s.name} (${s.type})`, n(s.raised), n(s.delivered), n(s.coalesced), n(s.dropped), n(s.lost), n(s.pending), lat(s.latency.handler), lat(s.latency.eoi)]);
  }
  rows.push(["total", n(I.raised), n(I.delivered), n(I.coalesced), n(I.dropped), n(I.lost), n(I.pending), lat(r.latency.handler), lat(r.latency.eoi)]);
  out.push(table(rows, [false, true, true, true, true, true, true, true, true]));
  out.push(`latencies in cycles (${(r.cycles.hz / 1e9).toFixed(2)} GHz); spurious acknowledges: ${I.spurious}`);
  if (r.memory !== undefined) {
    const m = r.memory;
    out.push(`store buffers: ${n(m.buffered)} stores buffered, ${n(m.scheduled)} drained in time, ${n(m.forced)} by a barrier or an access, ${n(m.staleLoads)} loads read an older value`);
    if (r.weakStateless === true) out.push(weakStatelessNote([r.variant], "run"));
  }
  for (const s of I.sources) {
    const why = (what: string, m: Record<string, number>) => Object.entries(m).map(([k, v]) => `${v} ${what}: ${k}`);
    const reasons = [...why("dropped", s.droppedReasons), ...why("lost", s.lostReasons),
      ...(s.withdrawn > 0 ? [withdrawnNote(s.withdrawn)] : [])];
    if (reasons.length > 0) out.push(`${s.name}: ${reasons.join("; ")}`);
  }
  if (I.accountingErrors.length > 0) out.push(`ACCOUNTING ERROR: ${I.accountingErrors.join("; ")}`);

  const cats = r.timeline.categories.filter((c) => r.pcpus.some((p) => (p.time[c] ?? 0) > 0));
  const trows: string[][] = [["pCPU", ...cats, "total cycles"]];
  for (const p of r.pcpus) {
    const total = Object.values(p.time).reduce((a, b) => a + b, 0);
    trows.push([`pCPU${p.pcpu}`, ...cats.map((c) => pct(p.time[c] ?? 0, total)), n(total)]);
  }
  out.push(table(trows, trows[0]!.map((_, i) => i > 0)));
  const s = r.vgic;
  out.push(`vGIC: ${s.injections} injections, ${s.traps} traps, ${s.maintenanceIrqs} maintenance IRQs, ${s.spuriousIrqExits} IRQ exits with nothing to acknowledge, ${s.lrPendingAdds} lr_pending adds, ` +
    `${s.migrations} IRQ migrations, ${s.dropped} dropped, ${s.kicks} kicks, ${s.contextSwitches} context switches, ${s.vcpuMigrations} vCPU migrations, ` +
    `${s.vtimerIrqs + s.vtimerSoftInjections} timer injections (${s.vtimerSoftInjections} by Xen's software timer); ` +
    `guest: ${r.guest.affinityWrites} ITARGETSR rewrites, ${r.guest.ipisSent} IPIs sent`);
  const hot = Object.entries(r.contention).filter(([, c]) => c.contended > 0);
  if (hot.length > 0) out.push(`lock contention: ${hot.map(([k, c]) => `${k} ${c.contended}/${c.acquisitions} waited, ${c.spinCycles} spin cycles`).join("; ")}`);
  if (r.findings.length === 0) out.push("findings: none");
  else {
    out.push(`findings (${r.findings.length}):`);
    for (const f of r.findings) out.push(`  ${f.kind}: ${f.message.split("\n")[0]}`);
  }
  if (perf) out.push(`wall ${perf.wallMs} ms: ${(perf.cyclesPerSecond / 1e6).toFixed(1)} M simulated cycles/s, ${perf.injectionsPerSecond} injections/s`);
  return out.join("\n");
}

/** One line per variant: which designs deadlock, report an inversion,
 *  drop or lose interrupts, and at what latency. */
export function formatComparison(results: readonly WorkloadResult[]): string {
  const rows: string[][] = [["variant", "outcome", "inversions", "delivered", "dropped", "lost", "stuck IRQs", "pending", "p50", "p99", "max"]];
  for (const r of results) {
    const I = r.interrupts;
    rows.push([
      r.variant, r.outcome === "deadlock" ? "DEADLOCK" : r.outcome, n(inversions(r)), n(I.delivered), n(I.dropped), n(I.lost), n(stuck(r)),
      n(I.pending), n(r.latency.handler.p50), n(r.latency.handler.p99), n(r.latency.handler.max),
    ]);
  }
  return `comparison (${results[0]?.workload ?? ""}; latency raise -> handler, cycles):\n` +
    table(rows, rows[0]!.map((_, i) => i > 1));
}
