// A self-contained HTML report of workload results: no scripts, no external
// files, plots as inline SVG that scale to the page (readable at 800 px).
// On top: the findings, highlighted, and the comparison table; then the
// latency distributions of every variant overlaid (CDFs, log-scaled cycles
// with microseconds beside them); then per variant its latency histogram, a
// timeline with a time axis and a legend, where the cycles went, its
// sources and its findings. Results of several runs (seeds, workloads,
// machines: `vgic report`) are told apart by their labels.

import { VERSION } from "../version.ts";
import type { Perf, WorkloadResult } from "./runner.ts";
import { inversions, stuck, withdrawnNote } from "./format.ts";

const COLORS: Record<string, string> = {
  guest: "#4e9a06", hyp: "#3465a4", idle: "#d3d7cf",
};
const SPIN_COLORS = ["#cc0000", "#f57900", "#c4a000", "#75507b", "#8f5902", "#ef2929"];
/** one per variant in overlaid plots (colour-blind safe, Okabe-Ito) */
const SERIES = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9", "#000000", "#f0e442"];
const DASH = ["", "6,3", "2,2", "8,3,2,3"];

function color(cat: string, i: number): string {
  return COLORS[cat] ?? SPIN_COLORS[i % SPIN_COLORS.length]!;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

/** 1234 -> "1.2k", 2500000 -> "2.5M" */
export const fmt = (x: number) =>
  x >= 1e6 ? `${+(x / 1e6).toFixed(1)}M` : x >= 1e3 ? `${+(x / 1e3).toFixed(1)}k` : String(Math.round(x));

/** cycles at `hz` as microseconds, to 2 significant digits below 10 */
export function us(cycles: number, hz: number): string {
  const v = (cycles * 1e6) / hz;
  return v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v.toPrecision(2);
}

/** An SVG that scales down with the page but never above its natural width. */
function svg(cls: string, w: number, h: number, label: string, body: string): string {
  return `<svg class="plot ${cls}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${w} ${h}" width="${w}" height="${h}" role="img" aria-label="${esc(label)}">${body}</svg>`;
}

const text = (x: number, y: number, s: string, attrs = "") => `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}"${attrs ? " " + attrs : ""}>${esc(s)}</text>`;

// ---- log-scaled latency axis shared by the histogram and the CDF

interface LogAxis { lo: number; hi: number; x(v: number): number }

function logAxis(minV: number, maxV: number, x0: number, x1: number): LogAxis {
  const lo = Math.floor(Math.log10(Math.max(1, minV)));
  const hi = Math.max(lo + 1, Math.ceil(Math.log10(Math.max(10, maxV + 1))));
  return { lo, hi, x: (v) => x0 + ((Math.log10(Math.max(1, v)) - lo) / (hi - lo)) * (x1 - x0) };
}

/** Ticks at 1, 2, 5 x 10^k: cycles on the first line, microseconds under them. */
function logTicks(a: LogAxis, yBase: number, hz: number, title: string, x0: number, x1: number): string {
  const parts: string[] = [`<line x1="${x0}" x2="${x1}" y1="${yBase}" y2="${yBase}" stroke="#555"/>`];
  for (let e = a.lo; e <= a.hi; e++) {
    for (const m of [1, 2, 5]) {
      const v = m * 10 ** e;
      if (v > 10 ** a.hi) break;
      const px = a.x(v);
      parts.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${yBase}" y2="${yBase + (m === 1 ? 5 : 3)}" stroke="#555"/>`);
      if (m === 1 || (a.hi - a.lo <= 3 && m !== 2)) {
        // the last label ends at its tick, so that it is not cut at the edge
        const anchor = px > x1 - 25 ? "end" : "middle";
        parts.push(text(px, yBase + 16, fmt(v), `text-anchor="${anchor}" class="tick"`));
        parts.push(text(px, yBase + 28, `${us(v, hz)} µs`, `text-anchor="${anchor}" class="tick us"`));
      }
    }
  }
  parts.push(text((x0 + x1) / 2, yBase + 44, title, `text-anchor="middle" class="axis"`));
  return parts.join("");
}

/** Linear y axis with ticks and gridlines from 0 to max. */
function yTicks(max: number, n: number, y: (v: number) => number, x0: number, x1: number, label: (v: number) => string, title: string, yMid: number): string {
  const parts: string[] = [];
  for (let i = 0; i <= n; i++) {
    const v = (max * i) / n;
    const py = y(v);
    parts.push(`<line x1="${x0}" x2="${x1}" y1="${py.toFixed(1)}" y2="${py.toFixed(1)}" stroke="#eee"/>`);
    parts.push(`<line x1="${x0 - 4}" x2="${x0}" y1="${py.toFixed(1)}" y2="${py.toFixed(1)}" stroke="#555"/>`);
    parts.push(text(x0 - 6, py + 4, label(v), `text-anchor="end" class="tick"`));
  }
  parts.push(`<line x1="${x0}" x2="${x0}" y1="${y(max)}" y2="${y(0)}" stroke="#555"/>`);
  parts.push(text(14, yMid, title, `text-anchor="middle" class="axis" transform="rotate(-90 14 ${yMid.toFixed(1)})"`));
  return parts.join("");
}

// ---- plots

const W = 720;

/** Latency histogram of one variant: deliveries per bucket over log cycles. */
function histogramSvg(r: WorkloadResult): string {
  const H = 244, L = 62, R = 16, T = 36, B = 56;
  const h = r.latency.handler.histogram;
  if (h.length === 0) return svg("hist", W, 60, `latency histogram ${r.variant}`, text(W / 2, 34, "no deliveries: no latency to show", `text-anchor="middle"`));
  const hz = r.cycles.hz;
  const a = logAxis(h[0]![0], r.latency.handler.max, L, W - R);
  const maxC = Math.max(...h.map((b) => b[1]));
  const y = (c: number) => H - B - ((H - B - T) * c) / maxC;
  const parts: string[] = [yTicks(maxC, maxC >= 4 ? 4 : maxC, y, L, W - R, (v) => (Number.isInteger(v) ? String(v) : v.toFixed(1)), "deliveries", (T + H - B) / 2)];
  for (let i = 0; i < h.length; i++) {
    const [low, c] = h[i]!;
    const next = i + 1 < h.length ? Math.min(h[i + 1]![0], low * 1.0625 + 1) : low * 1.0625 + 1;
    const x0 = a.x(low), x1 = Math.max(x0 + 1.5, a.x(next));
    parts.push(`<rect x="${x0.toFixed(1)}" y="${y(c).toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${(H - B - y(c)).toFixed(1)}" fill="#0072b2"><title>${fmt(low)} cycles (${us(low, hz)} µs): ${c}</title></rect>`);
  }
  const s = r.latency.handler;
  // p50 and p99 on lines of their own; each label on the side of its line with room
  ([["p50", s.p50, 12], ["p99", s.p99, 26]] as const).forEach(([q, v, ly]) => {
    const px = a.x(v);
    const anchor = px > W - R - 160 ? "end" : "start";
    parts.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${ly + 3}" y2="${H - B}" stroke="#d55e00" stroke-dasharray="3,2"/>`);
    parts.push(text(px + (anchor === "end" ? -3 : 3), ly, `${q} ${fmt(v)} cycles (${us(v, hz)} µs)`, `text-anchor="${anchor}" class="mark"`));
  });
  parts.push(logTicks(a, H - B, hz, `raise to guest handler entry: cycles (log scale), µs at ${hz / 1e9} GHz`, L, W - R));
  return svg("hist", W, H, `latency histogram ${r.variant}`, parts.join(""));
}

/** The fraction of deliveries at or below each latency, every result overlaid. */
export function cdfSvg(results: readonly WorkloadResult[], labels: readonly string[], which: "handler" | "eoi"): string {
  const withData = results.map((r, i) => ({ r, i })).filter(({ r }) => r.latency[which].histogram.length > 0);
  const title = which === "handler" ? "raise to guest handler entry" : "raise to the guest's EOI";
  if (withData.length === 0) return svg("cdf", W, 60, `latency CDF ${which}`, text(W / 2, 34, "no deliveries: no latency to show", `text-anchor="middle"`));
  const hz = withData[0]!.r.cycles.hz;
  const legendRows = Math.ceil(withData.length / 2);
  const H = 250 + legendRows * 16, L = 62, R = 16, T = 14, B = 70 + legendRows * 16;
  const lo = Math.min(...withData.map(({ r }) => r.latency[which].histogram[0]![0]));
  const hi = Math.max(...withData.map(({ r }) => r.latency[which].max));
  const a = logAxis(lo, hi, L, W - R);
  const y = (f: number) => H - B - (H - B - T) * f;
  const parts: string[] = [yTicks(1, 4, y, L, W - R, (v) => v.toFixed(2), "fraction ≤ x", (T + H - B) / 2)];
  withData.forEach(({ r, i }, k) => {
    const h = r.latency[which].histogram;
    const total = h.reduce((s, b) => s + b[1], 0);
    let cum = 0;
    const pts: string[] = [`${a.x(h[0]![0]).toFixed(1)},${y(0).toFixed(1)}`];
    for (let j = 0; j < h.length; j++) {
      const [low, c] = h[j]!;
      const upper = j + 1 < h.length ? h[j + 1]![0] : Math.max(low + 1, r.latency[which].max);
      // a bucket's deliveries are spread between its bounds: a ramp, not a step
      pts.push(`${a.x(low).toFixed(1)},${y(cum / total).toFixed(1)}`);
      cum += c;
      pts.push(`${a.x(Math.min(upper, Math.max(low + 1, low * 1.0625))).toFixed(1)},${y(cum / total).toFixed(1)}`);
    }
    const col = SERIES[k % SERIES.length]!, dash = DASH[Math.floor(k / SERIES.length) % DASH.length]!;
    parts.push(`<polyline fill="none" stroke="${col}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""} points="${pts.join(" ")}"><title>${esc(labels[i]!)}</title></polyline>`);
    const lx = L + (k % 2) * ((W - L - R) / 2), ly = H - legendRows * 16 + Math.floor(k / 2) * 16 - 4;
    parts.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly - 4}" y2="${ly - 4}" stroke="${col}" stroke-width="2"${dash ? ` stroke-dasharray="${dash}"` : ""}/>`);
    const s = r.latency[which];
    parts.push(text(lx + 30, ly, `${labels[i]!}: p50 ${fmt(s.p50)}, p99 ${fmt(s.p99)} cycles`, `class="legend"`));
  });
  parts.push(logTicks(a, H - B, hz, `${title}: cycles (log scale), µs at ${hz / 1e9} GHz`, L, W - R));
  return svg("cdf", W, H, `latency CDF ${which}`, parts.join(""));
}

/** Round tick spacing: 1, 2 or 5 x 10^k with at most `n` ticks over `span`. */
function niceStep(span: number, n: number): number {
  const raw = span / n;
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

/** Per pCPU its time split per window (stacked shares); per vCPU the
 *  interrupts delivered per window (darker: more). A time axis in ms. */
function timelineSvg(r: WorkloadResult): string {
  const t = r.timeline;
  const nw = t.pcpus.length;
  const np = r.pcpus.length, nv = r.vcpus.length;
  const L = 62, R = 16, rowH = 22, gap = 5, T = 4;
  const rowsH = (np + nv) * (rowH + gap);
  const H = T + rowsH + 46;
  const cw = nw > 0 ? (W - L - R) / nw : 0;
  const parts: string[] = [];
  for (let p = 0; p < np; p++) {
    const y0 = T + p * (rowH + gap);
    parts.push(text(4, y0 + 15, `pCPU${p}`, `class="row"`));
    for (let k = 0; k < nw; k++) {
      const vals = t.pcpus[k]![p]!;
      const total = vals.reduce((a, b) => a + b, 0);
      if (total <= 0) continue;
      let y = y0;
      vals.forEach((v, c) => {
        if (v <= 0) return;
        const hh = (rowH * v) / total;
        parts.push(`<rect x="${(L + k * cw).toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0.5, cw - 0.3).toFixed(1)}" height="${hh.toFixed(1)}" fill="${color(t.categories[c]!, c)}"/>`);
        y += hh;
      });
    }
  }
  const maxD = Math.max(1, ...t.vcpus.flat());
  for (let v = 0; v < nv; v++) {
    const y0 = T + (np + v) * (rowH + gap);
    parts.push(text(4, y0 + 15, `vCPU${v}`, `class="row"`));
    parts.push(`<rect x="${L}" y="${y0}" width="${W - L - R}" height="${rowH}" fill="none" stroke="#ddd"/>`);
    let any = false;
    for (let k = 0; k < t.vcpus.length; k++) {
      const d = t.vcpus[k]![v] ?? 0;
      if (d <= 0) continue;
      any = true;
      parts.push(`<rect x="${(L + k * cw).toFixed(1)}" y="${y0}" width="${Math.max(0.5, cw - 0.3).toFixed(1)}" height="${rowH}" fill="#4e9a06" fill-opacity="${(0.15 + (0.85 * d) / maxD).toFixed(2)}"><title>${d} delivered</title></rect>`);
    }
    if (!any) parts.push(text((L + W - R) / 2, y0 + 15, "no interrupts delivered", `text-anchor="middle" class="note"`));
  }
  // time axis: ms since the guest booted
  const yA = T + rowsH;
  const spanMs = (t.window * nw * 1000) / r.cycles.hz;
  const bootOffsetMs = ((t.start - r.cycles.boot) * 1000) / r.cycles.hz;
  parts.push(`<line x1="${L}" x2="${W - R}" y1="${yA}" y2="${yA}" stroke="#555"/>`);
  if (spanMs > 0) {
    const step = niceStep(spanMs, 8);
    for (let v = 0; v <= spanMs + 1e-9; v += step) {
      const px = L + ((W - L - R) * v) / spanMs;
      parts.push(`<line x1="${px.toFixed(1)}" x2="${px.toFixed(1)}" y1="${yA}" y2="${yA + 4}" stroke="#555"/>`);
      parts.push(text(px, yA + 16, +(v + bootOffsetMs).toFixed(3) + "", `text-anchor="${px > W - R - 20 ? "end" : "middle"}" class="tick"`));
    }
  }
  parts.push(text((L + W - R) / 2, yA + 34, `time since the guest booted (ms); one column = ${fmt(t.window)} cycles (${us(t.window, r.cycles.hz)} µs)`, `text-anchor="middle" class="axis"`));
  return svg("timeline", W, H + 4, `timeline ${r.variant}`, parts.join(""));
}

/** The timeline's legend: what each shade means. */
function timelineLegend(r: WorkloadResult): string {
  const cats = r.timeline.categories.map((c, k) => `<span class="key"><i style="background:${color(c, k)}"></i>${esc(c)}</span>`).join(" ");
  return `<p class="legend">pCPU rows: the share of each window spent ${cats} (spin: waiting for that lock class).
vCPU rows: <span class="key"><i style="background:#4e9a06;opacity:.2"></i>few</span> to <span class="key"><i style="background:#4e9a06"></i>most</span> interrupts delivered in the window.</p>`;
}

/** Where the cycles went: one stacked bar per pCPU, shares labelled. */
function cyclesSvg(r: WorkloadResult): string {
  const L = 62, R = 16, rowH = 20, gap = 8;
  const cats = r.timeline.categories;
  const H = r.pcpus.length * (rowH + gap) + 24;
  const parts: string[] = [];
  r.pcpus.forEach((p, i) => {
    const total = Object.values(p.time).reduce((a, b) => a + b, 0);
    const y = i * (rowH + gap);
    parts.push(text(4, y + 14, `pCPU${p.pcpu}`, `class="row"`));
    let x = L;
    cats.forEach((c, k) => {
      const v = p.time[c] ?? 0;
      if (v <= 0 || total <= 0) return;
      const w = ((W - L - R) * v) / total;
      const share = (100 * v) / total;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH}" fill="${color(c, k)}"><title>${esc(c)}: ${v} cycles (${share.toFixed(1)}%)</title></rect>`);
      if (w > 60) parts.push(text(x + w / 2, y + 14, `${c} ${share.toFixed(0)}%`, `text-anchor="middle" class="inbar${c === "idle" ? "" : " light"}"`));
      x += w;
    });
  });
  const yA = r.pcpus.length * (rowH + gap) + 12;
  parts.push(text(L, yA, "0%", `class="tick"`), text(W - R, yA, "100% of the run's cycles", `text-anchor="end" class="tick"`));
  return svg("cycles", W, H, `cycles ${r.variant}`, parts.join(""));
}

/** The reasons behind the sources' drops and losses, under their table,
 *  and the raises their sources withdrew (not a fault). */
function reasons(r: WorkloadResult): string {
  const list = r.interrupts.sources.flatMap((s) => [
    ...Object.entries(s.droppedReasons).map(([k, v]) => `<li class="bad">${esc(`${s.name}: ${v} dropped: ${k}`)}</li>`),
    ...Object.entries(s.lostReasons).map(([k, v]) => `<li class="bad">${esc(`${s.name}: ${v} lost: ${k}`)}</li>`),
    ...(s.withdrawn > 0 ? [`<li>${esc(`${s.name}: ${withdrawnNote(s.withdrawn)}`)}</li>`] : []),
  ]);
  return list.length === 0 ? "" : `<ul class="why">${list.join("")}</ul>`;
}

/** "12.3k (5.1 µs)" */
const cyc = (v: number, hz: number) => `${fmt(v)}<br/><span class="us">${us(v, hz)} µs</span>`;

export interface ReportOptions {
  /** page title (default: "vgic run: WORKLOAD") */
  title?: string;
  /** one per result (default: the variant names) */
  labels?: readonly string[];
}

/** Labels that tell results apart: the variant, plus the workload and seed
 *  where those differ between results; a number where all else is equal. */
export function resultLabels(results: readonly WorkloadResult[]): string[] {
  const many = (f: (r: WorkloadResult) => string) => new Set(results.map(f)).size > 1;
  const byWorkload = many((r) => r.workload), bySeed = many((r) => String(r.seed));
  const base = results.map((r) => {
    const extra = [byWorkload ? r.workload : "", bySeed ? `seed ${r.seed}` : ""].filter((x) => x !== "");
    return extra.length > 0 ? `${r.variant} (${extra.join(", ")})` : r.variant;
  });
  const seen = new Map<string, number>();
  return base.map((b) => {
    const n = (seen.get(b) ?? 0) + 1;
    seen.set(b, n);
    return base.filter((x) => x === b).length > 1 ? `${b} #${n}` : b;
  });
}

function findingsSummary(results: readonly WorkloadResult[], labels: readonly string[]): string {
  const bad = results.map((r, i) => ({ r, i })).filter(({ r }) => r.findings.length > 0 || r.outcome !== "completed" || r.interrupts.lost > 0);
  if (bad.length === 0) return `<div class="ok-box">No findings: every variant completed, nothing lost, no lock-order reports.</div>`;
  const items = bad.map(({ r, i }) => {
    const kinds = new Map<string, number>();
    for (const f of r.findings) kinds.set(f.kind, (kinds.get(f.kind) ?? 0) + 1);
    const list = [...kinds].map(([k, n]) => `${esc(k)}${n > 1 ? ` ×${n}` : ""}`).join(", ");
    return `<li><a href="#r${i}">${esc(labels[i]!)}</a>: <b>${esc(r.outcome)}</b>${list ? `; ${list}` : ""}${r.interrupts.lost > 0 ? `; ${r.interrupts.lost} interrupts lost` : ""}</li>`;
  });
  return `<div class="findings-box"><b>Findings</b><ul>${items.join("")}</ul></div>`;
}

export function renderReport(results: readonly WorkloadResult[], perf: readonly Perf[] = [], o: ReportOptions = {}): string {
  const first = results[0];
  const labels = o.labels ?? resultLabels(results);
  const title = o.title ?? `vgic run: ${first?.workload ?? "workload"}`;
  const hz = first?.cycles.hz ?? 1;
  const rows = results.map((r, i) => {
    const I = r.interrupts;
    const bad = (v: number) => (v > 0 ? ` class="bad"` : "");
    return `<tr><td><a href="#r${i}">${esc(labels[i]!)}</a></td><td${r.outcome === "completed" ? "" : ` class="bad"`}>${esc(r.outcome)}</td><td${bad(inversions(r))}>${inversions(r)}</td>` +
      `<td>${I.raised}</td><td>${I.delivered}</td><td>${I.coalesced}</td><td${bad(I.dropped)}>${I.dropped}</td><td${bad(I.lost)}>${I.lost}</td><td${bad(stuck(r))}>${stuck(r)}</td><td>${I.pending}</td>` +
      `<td>${cyc(r.latency.handler.p50, r.cycles.hz)}</td><td>${cyc(r.latency.handler.p99, r.cycles.hz)}</td><td>${cyc(r.latency.handler.max, r.cycles.hz)}</td></tr>`;
  }).join("\n");
  const sections = results.map((r, i) => {
    const p = perf[i];
    const findings = r.findings.length === 0 ? "<p>No findings.</p>"
      : `<ul class="findings">${r.findings.map((f) => `<li><b>${esc(f.kind)}</b>: <pre>${esc(f.message)}</pre></li>`).join("")}</ul>`;
    const h = r.cycles.hz;
    const src = r.interrupts.sources.map((s) => `<tr><td>${esc(s.name)} <span class="us">${s.type}</span></td><td>${s.raised}</td><td>${s.delivered}</td><td>${s.coalesced}</td><td>${s.dropped}</td><td>${s.lost}</td><td>${s.pending}</td><td>${cyc(s.latency.handler.p50, h)}</td><td>${cyc(s.latency.handler.p99, h)}</td><td>${cyc(s.latency.eoi.p50, h)}</td><td>${cyc(s.latency.eoi.p99, h)}</td></tr>`).join("");
    const ms = ((r.cycles.stoppedAt - r.cycles.boot) * 1000) / h;
    return `<section id="r${i}"><h2${r.findings.length > 0 || r.outcome !== "completed" ? ` class="bad"` : ""}>${esc(labels[i]!)}: ${esc(r.outcome)}</h2>
<p>${esc(r.workload)}, seed ${r.seed}; ${ms.toFixed(2)} ms simulated after boot (cycles ${r.cycles.boot} to ${r.cycles.stoppedAt} at ${h / 1e9} GHz); ${r.vgic.injections} injections, ${r.vgic.traps} traps, ${r.vgic.maintenanceIrqs} maintenance IRQs, ${r.vgic.lrPendingAdds} lr_pending adds, ${r.vgic.migrations} migrations, ${r.vgic.dropped} dropped${p ? `; ${p.wallMs} ms of wall time` : ""}</p>
<h3>Latency histogram</h3>${histogramSvg(r)}
<h3>Timeline</h3>${timelineLegend(r)}${timelineSvg(r)}
<h3>Where the cycles went</h3>${cyclesSvg(r)}
<h3>Interrupts by source</h3><div class="scroll"><table><tr><th>source</th><th>raised</th><th>deliv.</th><th>coal.</th><th>drop.</th><th>lost</th><th>pend.</th><th>handler p50</th><th>handler p99</th><th>EOI p50</th><th>EOI p99</th></tr>${src}</table></div>${reasons(r)}
<h3>Findings</h3>${findings}</section>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1em auto;padding:0 1em;max-width:760px;color:#222;line-height:1.4}
h2.bad{color:#b00}
.scroll{overflow-x:auto;max-width:100%}
table{border-collapse:collapse;margin:0.5em 0;font-size:12px}td,th{border:1px solid #ccc;padding:2px 5px;text-align:right;white-space:nowrap}
td:first-child,th:first-child{text-align:left;white-space:normal}ul.why{font-size:13px}.bad{color:#b00;font-weight:bold}
.us{color:#666;font-size:11px}
pre{white-space:pre-wrap;font-size:12px;margin:0}.key i{display:inline-block;width:10px;height:10px;margin:0 3px 0 6px;vertical-align:middle}
.findings-box{border:2px solid #b00;background:#fff3f3;padding:0.5em 1em;margin:1em 0}.ok-box{border:2px solid #4e9a06;background:#f3fff0;padding:0.5em 1em;margin:1em 0}
.findings li{margin-bottom:0.4em}
svg.plot{display:block;max-width:100%;height:auto;margin:0.5em 0;font-family:system-ui,sans-serif}
svg .tick{font-size:11px;fill:#333}svg .us{fill:#777}svg .axis{font-size:12px;fill:#222}svg .mark{font-size:11px;fill:#d55e00}
svg .legend{font-size:12px}svg .row{font-size:12px}svg .note{font-size:11px;fill:#999}svg .inbar{font-size:11px;fill:#222}svg .inbar.light{fill:#fff}
p.legend{font-size:13px}
</style></head><body>
<h1>${esc(title)}</h1>
<p>vgic-lab ${esc(VERSION)}; ${results.length} result${results.length === 1 ? "" : "s"}. Latencies in cycles of the cost profile's clock, with microseconds at ${hz / 1e9} GHz. Every interrupt a device raised is delivered, coalesced into one still pending, dropped by the design, lost, or still pending at the end; "stuck IRQs" are physical interrupts left active that will never fire again.</p>
${findingsSummary(results, labels)}
<h2>Comparison</h2>
<p>Counts of interrupt instances: raised, delivered, coalesced, dropped, lost, pending at the end; "inv." lock-order inversions reported, "stuck" physical interrupts left active; latency from raise to guest handler entry.</p>
<div class="scroll"><table><tr><th>result</th><th>outcome</th><th>inv.</th><th>raised</th><th>deliv.</th><th>coal.</th><th>drop.</th><th>lost</th><th>stuck</th><th>pend.</th><th>p50</th><th>p99</th><th>max</th></tr>
${rows}
</table></div>
<h2>Latency distributions</h2>
<p>Cumulative distributions of every result, overlaid: the fraction of deliveries that took at most x.</p>
<h3>Raise to guest handler entry</h3>${cdfSvg(results, labels, "handler")}
<h3>Raise to the guest's EOI</h3>${cdfSvg(results, labels, "eoi")}
${sections}
</body></html>
`;
}

// ---- CSV export

function csvField(v: string | number): string {
  const s = String(v);
  return /[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

const csv = (rows: Array<Array<string | number>>) => rows.map((r) => r.map(csvField).join(",")).join("\n") + "\n";

/** Per source of every result: its accounting and latency percentiles (cycles and µs). */
export function sourcesCsv(results: readonly WorkloadResult[], labels = resultLabels(results)): string {
  const rows: Array<Array<string | number>> = [[
    "result", "workload", "variant", "seed", "hz", "source", "type", "raised", "delivered", "coalesced", "dropped", "lost", "pending",
    "handler_count", "handler_p50_cycles", "handler_p90_cycles", "handler_p99_cycles", "handler_max_cycles", "handler_mean_cycles",
    "handler_p50_us", "handler_p99_us", "eoi_p50_cycles", "eoi_p99_cycles", "eoi_max_cycles", "eoi_p50_us", "eoi_p99_us", "withdrawn",
  ]];
  results.forEach((r, i) => {
    const hz = r.cycles.hz;
    for (const s of r.interrupts.sources) {
      const a = s.latency.handler, e = s.latency.eoi;
      rows.push([labels[i]!, r.workload, r.variant, r.seed, hz, s.name, s.type, s.raised, s.delivered, s.coalesced, s.dropped, s.lost, s.pending,
        a.count, a.p50, a.p90, a.p99, a.max, +a.mean.toFixed(1), us(a.p50, hz), us(a.p99, hz), e.p50, e.p99, e.max, us(e.p50, hz), us(e.p99, hz),
        s.withdrawn]);
    }
  });
  return csv(rows);
}

/** The latency samples of every result as histogram buckets (log-linear,
 *  within 6%): lowest cycles of the bucket, deliveries in it, cumulative share. */
export function latencyCsv(results: readonly WorkloadResult[], labels = resultLabels(results)): string {
  const rows: Array<Array<string | number>> = [["result", "workload", "variant", "seed", "latency", "bucket_low_cycles", "bucket_low_us", "count", "cumulative_fraction"]];
  results.forEach((r, i) => {
    for (const which of ["handler", "eoi"] as const) {
      const h = r.latency[which].histogram;
      const total = h.reduce((s, b) => s + b[1], 0);
      let cum = 0;
      for (const [low, c] of h) {
        cum += c;
        rows.push([labels[i]!, r.workload, r.variant, r.seed, which, low, us(low, r.cycles.hz), c, +(cum / total).toFixed(6)]);
      }
    }
  });
  return csv(rows);
}
