// A self-contained HTML report of workload results: no scripts, no external
// files, plots as inline SVG. Per variant: the latency histogram (raise to
// handler entry, log-scaled cycles), a timeline of each pCPU's time split and
// each vCPU's deliveries per window, and where the cycles went; on top the
// comparison table and the findings.

import { VERSION } from "../version.ts";
import type { Perf, WorkloadResult } from "./runner.ts";
import { inversions, stuck } from "./format.ts";

const COLORS: Record<string, string> = {
  guest: "#4e9a06", hyp: "#3465a4", idle: "#d3d7cf",
};
const SPIN_COLORS = ["#cc0000", "#f57900", "#c4a000", "#75507b", "#8f5902", "#ef2929"];

function color(cat: string, i: number): string {
  return COLORS[cat] ?? SPIN_COLORS[i % SPIN_COLORS.length]!;
}

function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);
}

const fmt = (x: number) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)}M` : x >= 1e4 ? `${(x / 1e3).toFixed(0)}k` : String(Math.round(x)));

/** Latency histogram: bars over log2(cycles). */
function histogramSvg(r: WorkloadResult): string {
  const W = 520, H = 180, L = 40, B = 24;
  const h = r.latency.handler.histogram;
  if (h.length === 0) return `<svg class="plot hist" width="${W}" height="${H}"><text x="${W / 2}" y="${H / 2}" text-anchor="middle">no deliveries</text></svg>`;
  const lo = Math.floor(Math.log2(Math.max(1, h[0]![0])));
  const hi = Math.ceil(Math.log2(Math.max(2, r.latency.handler.max + 1)));
  const span = Math.max(1, hi - lo);
  const x = (v: number) => L + ((Math.log2(Math.max(1, v)) - lo) / span) * (W - L - 10);
  const maxC = Math.max(...h.map((b) => b[1]));
  const parts: string[] = [];
  for (let i = 0; i < h.length; i++) {
    const [low, c] = h[i]!;
    const next = i + 1 < h.length ? Math.min(h[i + 1]![0], low * 1.0625 + 1) : low * 1.0625 + 1;
    const x0 = x(low), x1 = Math.max(x0 + 1, x(next));
    const bh = ((H - B - 10) * c) / maxC;
    parts.push(`<rect x="${x0.toFixed(1)}" y="${(H - B - bh).toFixed(1)}" width="${(x1 - x0).toFixed(1)}" height="${bh.toFixed(1)}" fill="#3465a4"><title>${fmt(low)} cycles: ${c}</title></rect>`);
  }
  for (let e = lo; e <= hi; e += Math.max(1, Math.ceil(span / 8))) {
    const px = x(2 ** e);
    parts.push(`<line x1="${px}" x2="${px}" y1="${H - B}" y2="${H - B + 4}" stroke="#555"/><text x="${px}" y="${H - 8}" font-size="10" text-anchor="middle">${fmt(2 ** e)}</text>`);
  }
  const s = r.latency.handler;
  for (const [q, v] of [["p50", s.p50], ["p99", s.p99]] as const) {
    const px = x(v);
    parts.push(`<line x1="${px}" x2="${px}" y1="8" y2="${H - B}" stroke="#cc0000" stroke-dasharray="3,2"/><text x="${px + 2}" y="16" font-size="10" fill="#cc0000">${q} ${fmt(v)}</text>`);
  }
  parts.push(`<line x1="${L}" x2="${W - 10}" y1="${H - B}" y2="${H - B}" stroke="#555"/><text x="4" y="14" font-size="10">${maxC}</text>`);
  return `<svg class="plot hist" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="latency histogram ${esc(r.variant)}">${parts.join("")}</svg>`;
}

/** Per pCPU a row of stacked columns (time split per window); per vCPU a
 *  row of deliveries per window (darker: more). */
function timelineSvg(r: WorkloadResult): string {
  const t = r.timeline;
  const nw = t.pcpus.length;
  const np = r.pcpus.length, nv = r.vcpus.length;
  const W = 620, L = 60, rowH = 22, gap = 4;
  const H = (np + nv) * (rowH + gap) + 20;
  const cw = nw > 0 ? (W - L - 10) / nw : 0;
  const parts: string[] = [];
  for (let p = 0; p < np; p++) {
    const y0 = p * (rowH + gap);
    parts.push(`<text x="4" y="${y0 + 15}" font-size="11">pCPU${p}</text>`);
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
    const y0 = (np + v) * (rowH + gap);
    parts.push(`<text x="4" y="${y0 + 15}" font-size="11">vCPU${v}</text>`);
    for (let k = 0; k < t.vcpus.length; k++) {
      const d = t.vcpus[k]![v] ?? 0;
      if (d <= 0) continue;
      parts.push(`<rect x="${(L + k * cw).toFixed(1)}" y="${y0}" width="${Math.max(0.5, cw - 0.3).toFixed(1)}" height="${rowH}" fill="#4e9a06" fill-opacity="${(0.15 + (0.85 * d) / maxD).toFixed(2)}"><title>${d} delivered</title></rect>`);
    }
  }
  const yA = (np + nv) * (rowH + gap) + 12;
  parts.push(`<text x="${L}" y="${yA}" font-size="10">cycle ${fmt(t.start)}</text><text x="${W - 10}" y="${yA}" font-size="10" text-anchor="end">+${fmt(t.window * nw)} (window ${fmt(t.window)})</text>`);
  return `<svg class="plot timeline" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="timeline ${esc(r.variant)}">${parts.join("")}</svg>`;
}

/** Where the cycles went: one stacked bar per pCPU. */
function cyclesSvg(r: WorkloadResult): string {
  const W = 620, L = 60, rowH = 18, gap = 6;
  const cats = r.timeline.categories;
  const H = r.pcpus.length * (rowH + gap) + 4;
  const parts: string[] = [];
  r.pcpus.forEach((p, i) => {
    const total = Object.values(p.time).reduce((a, b) => a + b, 0);
    const y = i * (rowH + gap);
    parts.push(`<text x="4" y="${y + 13}" font-size="11">pCPU${p.pcpu}</text>`);
    let x = L;
    cats.forEach((c, k) => {
      const v = p.time[c] ?? 0;
      if (v <= 0 || total <= 0) return;
      const w = ((W - L - 10) * v) / total;
      parts.push(`<rect x="${x.toFixed(1)}" y="${y}" width="${w.toFixed(1)}" height="${rowH}" fill="${color(c, k)}"><title>${esc(c)}: ${v} cycles (${((100 * v) / total).toFixed(1)}%)</title></rect>`);
      x += w;
    });
  });
  return `<svg class="plot cycles" xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="cycles ${esc(r.variant)}">${parts.join("")}</svg>`;
}

function legend(r: WorkloadResult): string {
  return r.timeline.categories.map((c, k) => `<span class="key"><i style="background:${color(c, k)}"></i>${esc(c)}</span>`).join(" ");
}

/** The reasons behind a source's drops and losses, for its table row. */
function reasons(s: WorkloadResult["interrupts"]["sources"][number]): string {
  const list = [
    ...Object.entries(s.droppedReasons).map(([k, v]) => `${v} dropped: ${k}`),
    ...Object.entries(s.lostReasons).map(([k, v]) => `${v} lost: ${k}`),
  ];
  return list.length === 0 ? "" : `<span class="bad">${esc(list.join("; "))}</span>`;
}

export function renderReport(results: readonly WorkloadResult[], perf: readonly Perf[] = []): string {
  const first = results[0];
  const title = `vgic run: ${first?.workload ?? "workload"}`;
  const rows = results.map((r) => {
    const I = r.interrupts;
    return `<tr><td>${esc(r.variant)}</td><td class="${r.outcome === "completed" ? "" : "bad"}">${esc(r.outcome)}</td><td>${inversions(r)}</td>` +
      `<td>${I.raised}</td><td>${I.delivered}</td><td>${I.coalesced}</td><td>${I.dropped}</td><td>${I.lost}</td><td>${stuck(r)}</td><td>${I.pending}</td>` +
      `<td>${r.latency.handler.p50}</td><td>${r.latency.handler.p99}</td><td>${r.latency.handler.max}</td></tr>`;
  }).join("\n");
  const sections = results.map((r, i) => {
    const p = perf[i];
    const findings = r.findings.length === 0 ? "<p>No findings.</p>"
      : `<ul>${r.findings.map((f) => `<li><b>${esc(f.kind)}</b>: <pre>${esc(f.message)}</pre></li>`).join("")}</ul>`;
    const src = r.interrupts.sources.map((s) => `<tr><td>${esc(s.name)}</td><td>${s.type}</td><td>${s.raised}</td><td>${s.delivered}</td><td>${s.coalesced}</td><td>${s.dropped}</td><td>${s.lost}</td><td>${s.pending}</td><td>${s.latency.handler.p50}</td><td>${s.latency.handler.p99}</td><td>${s.latency.eoi.p50}</td><td>${s.latency.eoi.p99}</td><td>${reasons(s)}</td></tr>`).join("");
    return `<section id="${esc(r.variant)}"><h2>${esc(r.variant)}: ${esc(r.outcome)}</h2>
<p>cycles ${r.cycles.boot} (booted) to ${r.cycles.stoppedAt}; ${r.vgic.injections} injections, ${r.vgic.traps} traps, ${r.vgic.maintenanceIrqs} maintenance IRQs, ${r.vgic.lrPendingAdds} lr_pending adds, ${r.vgic.migrations} migrations, ${r.vgic.dropped} dropped${p ? `; wall ${p.wallMs} ms` : ""}</p>
<h3>Latency, raise to handler entry (cycles)</h3>${histogramSvg(r)}
<h3>Timeline</h3><p>${legend(r)}</p>${timelineSvg(r)}
<h3>Where cycles went</h3>${cyclesSvg(r)}
<h3>Interrupts by source</h3><table><tr><th>source</th><th>type</th><th>raised</th><th>delivered</th><th>coalesced</th><th>dropped</th><th>lost</th><th>pending</th><th>handler p50</th><th>handler p99</th><th>EOI p50</th><th>EOI p99</th><th>why dropped or lost</th></tr>${src}</table>
<h3>Findings</h3>${findings}</section>`;
  }).join("\n");
  return `<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;max-width:70em;color:#222}
table{border-collapse:collapse;margin:0.5em 0}td,th{border:1px solid #ccc;padding:2px 8px;text-align:right}
td:first-child,th:first-child{text-align:left}.bad{color:#c00;font-weight:bold}
pre{white-space:pre-wrap;font-size:12px;margin:0}.key i{display:inline-block;width:10px;height:10px;margin-right:3px}
svg.plot{display:block;border:1px solid #eee;margin:0.5em 0}
</style></head><body>
<h1>${esc(title)}</h1>
<p>vgic-lab ${esc(VERSION)}; seed ${first?.seed ?? ""}; every interrupt a device raised is delivered, coalesced into one still pending, dropped by the design, lost, or still pending at the end. "stuck IRQs": physical interrupts left active that will never fire again.</p>
<table><tr><th>variant</th><th>outcome</th><th>inversions</th><th>raised</th><th>delivered</th><th>coalesced</th><th>dropped</th><th>lost</th><th>stuck IRQs</th><th>pending</th><th>p50</th><th>p99</th><th>max</th></tr>
${rows}
</table>
${sections}
</body></html>
`;
}
