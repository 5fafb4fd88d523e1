// The web page's main thread: forms, the counterexample view (numbered
// story, timeline, state at the selected step) and the URL that shares a
// run. Every simulation runs in the worker (host/web/worker.ts); this file
// only asks and draws.

import type { Timeline, Snapshot, TimelineStep } from "../explore/timeline.ts";
import type { CliOptions, ExploreSummary, Named, Reply, Request } from "./protocol.ts";
import { BROKE_WORDS, gicLatencyOption, searchSettings, type ReplayVerdict } from "../explore/search.ts";
import { memoryOptions } from "../io/usage.ts";

type Ask = Request extends infer R ? R extends { id: number } ? Omit<R, "id"> : never : never;

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const esc = (s: string) => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

// ---- the workers: one per tab, each answering its tab's requests one at a
// time; Stop ends the worker of its own tab only (and starts it again), so a
// run in another tab goes on

type Hello = Extract<Reply, { kind: "hello" }>;
type Progress = (r: Extract<Reply, { kind: "progress" }>) => void;
let nextId = 1;

// The worker's code is fetched once and kept as a blob, so a worker started
// later (another tab, or again after Stop) needs no network: the page works
// offline once loaded.
let workerUrl: Promise<string> | null = null;
const workerCode = (): Promise<string> => workerUrl ??= fetch(new URL("./worker.js", import.meta.url)).then(async (r) => {
  if (!r.ok) throw new Error(`worker.js: HTTP ${r.status}`);
  return URL.createObjectURL(new Blob([await r.text()], { type: "text/javascript" }));
});

class Channel {
  private worker: Worker | null = null;
  private ready: Promise<{ worker: Worker; hello: Hello }> | null = null;
  /** bumped by stop: a worker still being started for an earlier one is not used */
  private generation = 0;
  private readonly waiting = new Map<number, { resolve: (r: Reply) => void; progress: Progress }>();
  /** settles the start whose worker has not said hello yet */
  private hello: ((r: Promise<{ worker: Worker; hello: Hello }>) => void) | null = null;

  /** The worker, started if it is not, once it has said hello. A start a
   *  Stop overtook (before the worker existed, or before it said hello)
   *  settles as the start that Stop made: whoever waits on it never waits
   *  for ever. */
  start(): Promise<{ worker: Worker; hello: Hello }> {
    const gen = this.generation;
    this.ready ??= workerCode().then((u) => new Promise((resolve) => {
      if (gen !== this.generation) { resolve(this.start()); return; }
      const worker = new Worker(u, { type: "module" });
      this.worker = worker;
      this.hello = (r) => resolve(r);
      worker.onmessage = (e: MessageEvent<Reply>) => {
        const m = e.data;
        if (m.kind === "hello") { this.hello = null; resolve({ worker, hello: m }); return; }
        const w = this.waiting.get(m.id);
        if (w === undefined) return;
        if (m.kind === "progress") { w.progress(m); return; }
        this.waiting.delete(m.id);
        w.resolve(m);
      };
      worker.onerror = (e) => this.answerAll((id) => ({ id, kind: "error", message: `worker: ${e.message}` }));
    }));
    return this.ready;
  }

  async ask(q: Ask, progress: Progress = () => {}): Promise<Reply> {
    const id = nextId++;
    const answer = new Promise<Reply>((resolve) => this.waiting.set(id, { resolve, progress }));
    const { worker } = await this.start();
    // (stopped while its worker started: already answered)
    if (this.waiting.has(id)) worker.postMessage({ ...q, id } as Request);
    return answer;
  }

  /** End this worker's run: its requests are answered STOPPED; a new worker starts. */
  stop(): void {
    this.generation++;
    this.worker?.terminate();
    this.worker = null;
    this.ready = null;
    this.answerAll((id) => ({ id, kind: "error", message: STOPPED }));
    const orphan = this.hello;
    this.hello = null;
    const next = this.start();
    orphan?.(next);
  }

  private answerAll(reply: (id: number) => Reply): void {
    for (const [id, w] of this.waiting) w.resolve(reply(id));
    this.waiting.clear();
  }
}

/** Each tab's worker: the Explore tab's at once (it names the scenarios and designs), the others when first asked. */
const workers = { explore: new Channel(), replay: new Channel(), workload: new Channel(), mmio: new Channel() };

// ---- tabs

function showTab(name: string): void {
  for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) b.classList.toggle("on", b.dataset.tab === name);
  for (const s of document.querySelectorAll<HTMLElement>("section.tab")) s.hidden = s.id !== `tab-${name}`;
  $("story").hidden = current === null || storyTab !== name;
}
let currentTab = "explore";
/** the tab whose result the story view shows */
let storyTab = "explore";
for (const b of document.querySelectorAll<HTMLButtonElement>("nav button")) {
  b.onclick = () => { currentTab = b.dataset.tab!; showTab(currentTab); };
}

// ---- the counterexample view

/** What the story view shows: a timeline, or a story without states (a fuzz finding). */
interface View { steps: Array<{ text: string; state: Snapshot | null }> }
let current: View | null = null;
let step = 0;

const CELL = 30, ROW = 17, LABEL = 118, HEAD = 18;
/** a story line that reports the failure */
const FAILURE = /DEADLOCK|^\s*\d+\. (finding|violation) /;

interface Row { label: string; cell: (s: Snapshot, st: TimelineStep) => { fill: string; text?: string; title: string; mark?: boolean } }

const LR_FILL: Record<string, string> = { pending: "#fce94f", active: "#fcaf3e", "pending+active": "#f57900" };

function rowsOf(tl: Timeline): Row[] {
  const first = tl.steps[0]!.state;
  const rows: Row[] = [];
  first.pcpus.forEach((p, i) => rows.push({
    label: p.name,
    cell: (s, st) => {
      const c = s.pcpus[i]!;
      const fn = c.stack[c.stack.length - 1] ?? "";
      const fill = c.state === "waiting" ? "#ef2929" : c.state === "idle" ? "#d3d7cf" : c.state === "done" ? "#eeeeec"
        : c.inGuest ? "#8ae234" : "#729fcf";
      const what = c.spinsOn !== null ? `spins on ${c.spinsOn}` : c.state === "runnable" ? (c.inGuest ? `guest ${c.vcpu ?? ""}` : "hypervisor") : c.state;
      return { fill, title: `${c.name}: ${what}${fn ? `\nin ${c.stack.join(" > ")}` : ""}${c.held.length ? `\nholds ${c.held.join(", ")}` : ""}`, mark: st.thread === c.name };
    },
  }));
  first.vcpus.forEach((v, i) => rows.push({
    label: v.name,
    cell: (s) => {
      const c = s.vcpus[i]!;
      const inGuest = c.running && s.pcpus[c.pcpu]?.inGuest === true && s.pcpus[c.pcpu]?.vcpu === c.name;
      const fill = inGuest ? "#8ae234" : c.running ? "#d7f5b5" : c.blocked ? "#d3d7cf" : "#ffffff";
      const what = inGuest ? `runs in guest mode on pCPU${c.pcpu}` : c.running ? `loaded on pCPU${c.pcpu}, in the hypervisor` : c.blocked ? "blocked in WFI" : "not running";
      return { fill, text: c.running ? `p${c.pcpu}` : c.blocked ? "wfi" : "", title: `${c.name}: ${what}; inflight [${c.inflight.join(", ")}], lr_pending [${c.lrPending.join(", ")}]` };
    },
  }));
  const locks = [...new Set(tl.steps.flatMap((s) => s.state.locks.map((l) => l.name)))].sort();
  for (const name of locks) rows.push({
    label: name,
    cell: (s) => {
      const l = s.locks.find((x) => x.name === name);
      if (l === undefined || (l.holder === null && l.waiters.length === 0)) return { fill: "#ffffff", title: `${name}: free` };
      const short = (t: string | null) => (t ?? "-").replace(/^pCPU/, "P");
      return {
        fill: l.waiters.length > 0 ? "#ef2929" : "#fcaf3e", text: short(l.holder) + (l.waiters.length ? "+" : ""),
        title: `${name}: held by ${l.holder ?? "nobody"}${l.waiters.length ? `; ${l.waiters.join(", ")} spin${l.waiters.length > 1 ? "" : "s"} on it` : ""}`,
      };
    },
  });
  first.pcpus.forEach((p, i) => p.lrs.forEach((_, n) => rows.push({
    label: `${p.name.replace("pCPU", "P")} LR${n}`,
    cell: (s) => {
      const v = s.pcpus[i]!.lrs[n]!;
      const [virq, state] = v.split(" ");
      return { fill: v === "-" ? "#ffffff" : LR_FILL[state!] ?? "#ffffff", text: v === "-" ? "" : virq, title: `${p.name} GICH_LR${n}: ${v === "-" ? "invalid" : v}` };
    },
  })));
  first.irqs.forEach((q, i) => rows.push({
    label: `IRQ ${q.irq}`,
    cell: (s) => {
      const c = s.irqs[i]!;
      const bits = c.status === "-" ? "" : c.status.split("|").map((b) => b[0]).join("");
      const lost = c.status.includes("QUEUED") && c.inflight === null && c.lrQueue === null && c.lr === null;
      return {
        fill: c.status.includes("MIGRATING") ? "#ad7fa8" : lost ? "#ef2929" : c.status.includes("VISIBLE") ? "#fce94f" : "#ffffff", text: bits,
        title: `IRQ ${c.irq}: ${c.status}${c.lr !== null ? `, LR${c.lr}` : ""}; inflight on ${c.inflight ?? "none"}, lr_pending on ${c.lrQueue ?? "none"}; target ${c.target}; physical ${c.physPending ? "pending " : ""}${c.physActive ? "active " : ""}ITARGETSR 0x${c.physTargets.toString(16)}`,
      };
    },
  }));
  return rows;
}

function drawTimeline(tl: Timeline): void {
  const rows = rowsOf(tl);
  // row labels stay put while the steps scroll beside them
  const W = tl.steps.length * CELL + 4, H = HEAD + rows.length * ROW + 4;
  const labels: string[] = [`<svg class="labels" xmlns="http://www.w3.org/2000/svg" width="${LABEL}" height="${H}">`];
  const parts: string[] = [`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}">`];
  tl.steps.forEach((s, j) => {
    const x = j * CELL;
    const bad = FAILURE.test(s.text);
    parts.push(`<text x="${x + CELL / 2}" y="12" text-anchor="middle" fill="${bad ? "#cc0000" : "#5c6370"}">${j + 1}</text>`);
  });
  rows.forEach((r, i) => {
    const y = HEAD + i * ROW;
    labels.push(`<text x="4" y="${y + 12}">${esc(r.label)}</text>`);
    tl.steps.forEach((s, j) => {
      const c = r.cell(s.state, s);
      const x = j * CELL;
      parts.push(`<g data-step="${j}"><title>${esc(`${s.text.trim()}\n${c.title}`)}</title><rect x="${x}" y="${y}" width="${CELL - 1}" height="${ROW - 2}" fill="${c.fill}" stroke="#e4e6ea"/>`
        + (c.mark ? `<rect x="${x + 1}" y="${y + ROW - 5}" width="${CELL - 3}" height="3" fill="#1d1f21"/>` : "")
        + (c.text ? `<text x="${x + CELL / 2}" y="${y + 11}" text-anchor="middle" font-size="10">${esc(c.text)}</text>` : "") + "</g>");
    });
  });
  parts.push(`<rect id="cursor" x="0" y="1" width="${CELL - 1}" height="${H - 2}" fill="none" stroke="#3465a4" stroke-width="2"/>`);
  parts.push("</svg>");
  labels.push("</svg>");
  $("timeline").innerHTML = `<div class="legend">pCPU<span><i style="background:#729fcf"></i>hypervisor</span><span><i style="background:#8ae234"></i>guest</span><span><i style="background:#ef2929"></i>spinning</span><span><i style="background:#d3d7cf"></i>idle</span>
    · vCPU<span><i style="background:#8ae234"></i>in guest</span><span><i style="background:#d7f5b5"></i>loaded, in hypervisor</span><span><i style="background:#d3d7cf"></i>WFI</span>
    · lock<span><i style="background:#fcaf3e"></i>held</span><span><i style="background:#ef2929"></i>contended</span> · LR<span><i style="background:#fce94f"></i>pending</span><span><i style="background:#fcaf3e"></i>active</span>
    · IRQ bits Q A V E M<span><i style="background:#ad7fa8"></i>MIGRATING</span><span><i style="background:#ef2929"></i>QUEUED on no list</span> · underlined: the pCPU that acted</div>`
    + `<div class="tl">${labels.join("")}<div class="grid" id="tl-grid">${parts.join("")}</div></div>`;
  for (const g of $("timeline").querySelectorAll<SVGGElement>("g[data-step]")) g.onclick = () => go(Number(g.dataset.step));
}

function drawState(s: Snapshot): void {
  const box = (title: string, lines: string[]) => `<div class="box"><h3>${esc(title)}</h3>${lines.map(esc).join("<br>") || "-"}</div>`;
  $("state").innerHTML = [
    box("pCPUs", s.pcpus.map((p) => `${p.name}: ${p.spinsOn ? `SPINS on ${p.spinsOn}` : p.state}${p.vcpu ? `, ${p.vcpu} loaded` : ""}${p.inGuest ? " (guest)" : ""}${p.irqMasked ? ", IRQs masked" : ""}`
      + `${p.stack.length ? `\n  in ${p.stack.join(" > ")}` : ""}${p.held.length ? `\n  holds ${p.held.join(", ")}` : ""}`).flatMap((l) => l.split("\n"))),
    box("Locks held or spun on", s.locks.filter((l) => l.holder !== null || l.waiters.length > 0)
      .map((l) => `${l.name}: ${l.holder ?? "free"}${l.waiters.length ? `, spun on by ${l.waiters.join(", ")}` : ""}`)),
    box("vCPUs", s.vcpus.map((v) => `${v.name} on pCPU${v.pcpu}: ${v.running ? "loaded" : v.blocked ? "blocked (WFI)" : "not running"}; inflight [${v.inflight.join(", ")}] lr_pending [${v.lrPending.join(", ")}]`)),
    box("List registers", s.pcpus.map((p) => `${p.name}: ${p.lrs.map((l, n) => `LR${n} ${l}`).join(" | ")}`)),
    box("Interrupts (pending_irq | physical GIC)", s.irqs.map((q) => `IRQ ${q.irq}: ${q.status}${q.lr !== null ? ` LR${q.lr}` : ""}, inflight ${q.inflight ?? "-"}, lr_pending ${q.lrQueue ?? "-"}, target ${q.target}`
      + ` | ${[q.physPending ? "pending" : "", q.physActive ? "active" : ""].filter(Boolean).join("+") || "inactive"}, ITARGETSR 0x${q.physTargets.toString(16)}`)),
  ].join("");
}

function go(j: number): void {
  if (current === null) return;
  step = Math.max(0, Math.min(current.steps.length - 1, j));
  const lis = $("narrative").children;
  for (let i = 0; i < lis.length; i++) lis[i]!.classList.toggle("cur", i === step);
  (lis[step] as HTMLElement | undefined)?.scrollIntoView({ block: "nearest" });
  $("cursor")?.setAttribute("x", String(step * CELL));
  // keep the step's column in view
  const box = $("tl-grid"), cx = step * CELL;
  if (box !== null && (cx < box.scrollLeft || cx + CELL > box.scrollLeft + box.clientWidth)) box.scrollLeft = Math.max(0, cx - box.clientWidth / 2);
  $("step-no").textContent = `${step + 1} / ${current.steps.length}`;
  const st = current.steps[step]!.state;
  if (st !== null) drawState(st);
}

function showView(v: View, title: string, tab: string): void {
  current = v;
  storyTab = tab;
  $("story-title").textContent = title;
  $("narrative").innerHTML = v.steps.map((s, i) =>
    `<li data-i="${i}" class="${/DEADLOCK/.test(s.text) ? "deadlock" : FAILURE.test(s.text) ? "finding" : ""}">${esc(s.text)}</li>`).join("");
  for (const li of $("narrative").querySelectorAll<HTMLLIElement>("li")) li.onclick = () => go(Number(li.dataset.i));
  $("story").hidden = currentTab !== tab;
  // open at the first deadlock or finding
  const k = v.steps.findIndex((s) => FAILURE.test(s.text));
  go(k < 0 ? 0 : k);
}

/** `search`: how the schedule was found (strategy, seed ...), kept in the link */
function showStory(tl: Timeline, title: string, tab: string, search = ""): void {
  drawTimeline(tl);
  $("share").hidden = false;
  $<HTMLAnchorElement>("share").href = `#scenario=${encodeURIComponent(tl.scenario)}&variant=${encodeURIComponent(tl.variant)}${search}&schedule=${encodeURIComponent(tl.schedule)}&run=1`;
  showView(tl, title, tab);
}

/** A story without states (an hw fuzz finding): its lines only. */
function showLines(lines: string[], title: string): void {
  $("timeline").innerHTML = `<div class="legend">A finding of the hw target is a list of register accesses, not a run of the machine: its story is the last operations and the violation.</div>`;
  $("state").innerHTML = "";
  $("share").hidden = true;
  showView({ steps: lines.map((text) => ({ text, state: null })) }, title, "replay");
}

$("first").onclick = () => go(0);
$("prev").onclick = () => go(step - 1);
$("next").onclick = () => go(step + 1);
$("last").onclick = () => go(Infinity);
document.addEventListener("keydown", (e) => {
  if ($("story").hidden || (e.target as HTMLElement).closest("input, textarea, select")) return;
  const to = { ArrowLeft: step - 1, ArrowRight: step + 1, Home: 0, End: Infinity }[e.key];
  if (to !== undefined) { e.preventDefault(); go(to); }
});

/** Take the story off the screen (a new request of its tab started). */
function hideStory(tab: string): void {
  if (storyTab !== tab) return;
  current = null;
  $("story").hidden = true;
}

// ---- explore

interface Explored { variant: string; summary: ExploreSummary | null; timeline: Timeline | null; error?: string; notRun?: boolean }
/** An exploration: the form it ran with, a row per design. */
interface ExploreRun { form: ExploreForm; rows: Explored[] }

/** the error every pending request gets when Stop ends the worker */
const STOPPED = "stopped";

function status(id: string, html: string): void { $(id).innerHTML = html; }
const bar = (f: number) => `<span class="bar"><i style="width:${(100 * f).toFixed(0)}%"></i></span>`;

function outcomeOf(e: Explored): string {
  if (e.notRun) return `<span class="muted">not run</span>`;
  if (e.error === STOPPED) return `<span class="muted">stopped</span>`;
  if (e.error) return `<span class="bad">error: ${esc(e.error)}</span>`;
  const s = e.summary;
  if (s === null) return "…";
  // the command line's words; green only for a search that ran every
  // schedule within the bound, no colour for one that could not say
  const cls = s.verdict === "counterexample" ? "bad" : s.verdict === "exhausted" ? "ok" : "";
  return cls === "" ? esc(s.verdictText) : `<span class="${cls}">${esc(s.verdictText)}</span>`;
}

function drawResults(run: ExploreRun, selected: string | null): void {
  const rows = run.rows.map((e) => {
    const s = e.summary;
    const pick = e.timeline !== null;
    return `<tr class="${pick ? "pick" : ""}${e.variant === selected ? " sel" : ""}" data-v="${esc(e.variant)}"><td>${esc(e.variant)}</td><td>${outcomeOf(e)}</td>`
      + `<td>${s ? s.schedules : ""}</td><td>${s?.msToFirst !== undefined ? `${s.msToFirst.toFixed(0)} ms` : ""}</td><td>${s ? `${s.elapsedMs.toFixed(0)} ms` : ""}</td>`
      + `<td>${pick ? "show ▸" : ""}</td></tr>`;
  }).join("");
  $("explore-results").innerHTML = `<table class="results"><tr><th>design</th><th>${esc(run.form.scenario)}</th><th>schedules</th><th>first failure after</th><th>total</th><th></th></tr>${rows}</table>`;
  for (const tr of $("explore-results").querySelectorAll<HTMLTableRowElement>("tr.pick")) {
    tr.onclick = () => {
      const e = run.rows.find((x) => x.variant === tr.dataset.v)!;
      drawResults(run, e.variant);
      showExplored(run, e);
    };
  }
}

function showExplored(run: ExploreRun, e: Explored): void {
  const tl = e.timeline!;
  const s = e.summary!;
  // the link repeats the run as it ran, whatever the form says now
  const f = run.form;
  showStory(tl, `${tl.scenario} under ${tl.variant}: counterexample after ${s.schedules} schedules, schedule ${tl.schedule}`, "explore",
    `&strategy=${s.strategy}&bound=${encodeURIComponent(f.bound)}&budget=${encodeURIComponent(f.budget)}&seed=${encodeURIComponent(f.seed)}${buildParams(f)}`);
}

/** The form as typed: numbers stay text, checked as the command line checks its options. */
interface ExploreForm { scenario: string; variants: string[]; strategy: string; bound: string; budget: string; seed: string; memory: string; latency: string }

/** The memory choice and GIC latency in a link (nothing for the defaults,
 *  sc and no latency). */
const buildParams = (f: Pick<ExploreForm, "memory" | "latency">) =>
  (f.memory === "sc" ? "" : `&memory=${f.memory}`) + (f.latency === "" || f.latency === "0" ? "" : `&latency=${encodeURIComponent(f.latency)}`);

/** `vgic explore` options (a run's, from the worker) as the form's memory
 *  and latency fields. */
function buildFields(o: CliOptions): Pick<ExploreForm, "memory" | "latency"> {
  const memory = o.memory !== "weak" ? "sc" : o["lock-barrier"] === "acq-rel" ? "weak-acq-rel" : "weak";
  return { memory, latency: o["gic-latency"] ?? "0" };
}

/** The GIC latency field as a `vgic explore` option (none for 0 or empty). */
const latencyOptionsOf = (l: string): CliOptions => (l === "" || l === "0" ? {} : { "gic-latency": l });

/** The memory select's value (sc, weak, weak-acq-rel) as `vgic explore` options. */
function memoryOptionsOf(m: string): CliOptions {
  return m === "weak" ? { memory: "weak", "lock-barrier": "smp_mb" } : m === "weak-acq-rel" ? { memory: "weak", "lock-barrier": "acq-rel" } : {};
}

/** Search settings as `vgic explore` options: the fields the strategy reads
 *  (dfs a bound, pct and random a seed; the form greys out the other). */
function searchOptionsOf(v: { strategy: string; budget?: string | null; bound?: string | null; seed?: string | null }): CliOptions {
  const o: CliOptions = { strategy: v.strategy };
  for (const k of ["budget", v.strategy === "dfs" ? "bound" : "seed"] as const) {
    const x = v[k];
    if (x !== undefined && x !== null) o[k] = x;
  }
  return o;
}

const cliOptionsOf = (f: ExploreForm): CliOptions => ({ ...searchOptionsOf(f), ...memoryOptionsOf(f.memory), ...latencyOptionsOf(f.latency) });

/** What `vgic explore` would refuse in these options (its own words), or null. */
function objection(o: CliOptions): string | null {
  try {
    searchSettings(o);
    memoryOptions(o.memory, o["lock-barrier"]);
    gicLatencyOption(o);
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}

function formValues(): ExploreForm {
  return {
    scenario: $<HTMLSelectElement>("scenario").value,
    variants: [...document.querySelectorAll<HTMLInputElement>("#variants input:checked")].map((i) => i.value),
    strategy: $<HTMLSelectElement>("strategy").value,
    bound: $<HTMLInputElement>("bound").value, budget: $<HTMLInputElement>("budget").value, seed: $<HTMLInputElement>("seed").value,
    memory: $<HTMLSelectElement>("memory").value, latency: $<HTMLInputElement>("latency").value.trim(),
  };
}

/** Grey out the field the strategy does not read. */
function syncStrategy(): void {
  const dfs = $<HTMLSelectElement>("strategy").value === "dfs";
  $<HTMLInputElement>("bound").disabled = !dfs;
  $<HTMLInputElement>("seed").disabled = dfs;
}
$("strategy").onchange = syncStrategy;
syncStrategy();

/** The exploration or schedule replay running, if any: Run stops it, a link replaces it. */
let exploring: Promise<void> | null = null;

function track(p: Promise<void>): void {
  $("run").textContent = "Stop";
  exploring = p.finally(() => {
    exploring = null;
    $("run").textContent = "Explore";
  });
}

async function runExplore(): Promise<void> {
  const f = formValues();
  hideStory("explore");
  const refused = f.variants.length === 0 ? "pick at least one design" : objection(cliOptionsOf(f));
  if (refused !== null) {
    $("explore-results").innerHTML = "";
    status("explore-status", `<span class="bad">${esc(refused)}</span>`);
    return;
  }
  history.replaceState(null, "", `#scenario=${encodeURIComponent(f.scenario)}&variant=${encodeURIComponent(f.variants.join(","))}&strategy=${f.strategy}&bound=${encodeURIComponent(f.bound)}&budget=${encodeURIComponent(f.budget)}&seed=${encodeURIComponent(f.seed)}${buildParams(f)}&run=1`);
  document.body.dataset.state = "exploring";
  const run: ExploreRun = { form: f, rows: f.variants.map((v) => ({ variant: v, summary: null, timeline: null })) };
  drawResults(run, null);
  status("explore-status", `exploring ${esc(f.scenario)} ${bar(0)}`);
  const started = performance.now();
  let shown = false;
  let done = 0;
  let stopped = false;
  for (const [i, e] of run.rows.entries()) {
    const r = await workers.explore.ask({ kind: "explore", scenario: f.scenario, variant: e.variant, options: cliOptionsOf(f) },
      (p) => status("explore-status", `exploring ${esc(p.text)} ${bar((i + 0.5) / run.rows.length)}`));
    if (r.kind === "explored") { e.summary = r.summary; e.timeline = r.timeline; done++; }
    else if (r.kind === "error") e.error = r.message;
    if (r.kind === "error" && r.message === STOPPED) {
      stopped = true;
      for (const x of run.rows.slice(i + 1)) x.notRun = true;
    }
    drawResults(run, shown ? run.rows.find((x) => x.timeline === current)?.variant ?? null : e.timeline ? e.variant : null);
    if (!shown && e.timeline !== null) { shown = true; showExplored(run, e); }
    if (stopped) break;
  }
  const ms = performance.now() - started;
  const n = run.rows.length;
  const failed = run.rows.some((x) => x.error !== undefined && x.error !== STOPPED);
  status("explore-status", stopped
    ? `stopped after ${done} of ${n} design${n > 1 ? "s" : ""} (${(ms / 1000).toFixed(2)} s)`
    : `explored ${n} design${n > 1 ? "s" : ""} in ${(ms / 1000).toFixed(2)} s${shown ? "" : failed ? "" : ": no counterexample"}`);
  document.body.dataset.exploreMs = ms.toFixed(0);
  document.body.dataset.state = "done";
}

async function runSchedule(scenario: string, variant: string, schedule: string, build: Pick<ExploreForm, "memory" | "latency">): Promise<void> {
  document.body.dataset.state = "exploring";
  hideStory("explore");
  $("explore-results").innerHTML = "";
  status("explore-status", `replaying schedule ${esc(schedule)} of ${esc(scenario)} under ${esc(variant)}`);
  const started = performance.now();
  const r = await workers.explore.ask({ kind: "schedule", scenario, variant, schedule, options: { ...memoryOptionsOf(build.memory), ...latencyOptionsOf(build.latency) } });
  if (r.kind === "replayed") {
    showStory(r.timeline, `${scenario} under ${variant}: schedule ${schedule}`, "explore", buildParams(buildFields(r.options)));
    const kinds = esc(r.timeline.findings.map((x) => x.kind).join(", ") || "no findings");
    status("explore-status", `replayed in ${(performance.now() - started).toFixed(0)} ms: ${r.verdict === "fails" ? `<span class="bad">${kinds}</span>` : kinds}`);
  } else if (r.kind === "error") status("explore-status", r.message === STOPPED ? "stopped" : `<span class="bad">link: ${esc(r.message)}</span>`);
  document.body.dataset.exploreMs = (performance.now() - started).toFixed(0);
  document.body.dataset.state = "done";
}

// ---- replay a file

/** the latest file asked for: an earlier one's answer is not shown */
let replaySeq = 0;
/** a replay's verdict as a colour: red where `vgic explore --replay` exits 1, green 0, amber 3 */
const VERDICT_CLASS: Record<ReplayVerdict, string> = { fails: "bad", passes: "ok", broke: "broke" };

async function replayFile(file: File): Promise<void> {
  const my = ++replaySeq;
  currentTab = "replay";
  showTab("replay");
  hideStory("replay");
  const shown = $("replay-status");
  delete shown.dataset.verdict;
  status("replay-status", `replaying ${esc(file.name)}…`);
  const r = await workers.replay.ask({ kind: "replay", name: file.name, text: await file.text() });
  if (my !== replaySeq) return;
  if (r.kind === "replayed" || r.kind === "finding") shown.dataset.verdict = r.verdict;
  // the words vgic explore --replay prints, coloured as its exit status: a
  // run that still fails is a failure found, one that broke was not judged
  const word = (r: { reproduced: boolean; verdict: ReplayVerdict }) => `<span class="${VERDICT_CLASS[r.verdict]}">${r.reproduced ? "reproduced" : "NOT reproduced"}</span>`;
  if (r.kind === "replayed") {
    const broke = r.verdict === "broke" ? `; <span class="broke">${esc(BROKE_WORDS)}</span>` : "";
    status("replay-status", (r.reproduced ? `${word(r)}: same finding kinds, trace hash ${esc(r.timeline.traceHash)}` : `${word(r)}: ${esc(r.reason ?? "")}`) + broke);
    // the link replays it under the memory model and latency it was found with
    showStory(r.timeline, `${file.name}: ${r.timeline.scenario} under ${r.timeline.variant}, schedule ${r.timeline.schedule}`, "replay", buildParams(buildFields(r.options)));
  } else if (r.kind === "finding") {
    status("replay-status", r.reproduced ? `${word(r)}: same violation at the same operation` : `${word(r)}: ${esc(r.reason ?? "")}`);
    if (r.timeline === null) showLines(r.lines, r.title);
    else {
      drawTimeline(r.timeline);
      $("share").hidden = true; // a fuzz case is no scenario a link can name
      showView(r.timeline, `${r.title}, schedule ${r.timeline.schedule}`, "replay");
    }
  } else if (r.kind === "error") status("replay-status", `<span class="bad">${esc(r.message)}</span>`);
}

const drop = $("drop");
drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
drop.addEventListener("dragleave", () => drop.classList.remove("over"));
document.addEventListener("dragover", (e) => e.preventDefault());
document.addEventListener("drop", (e) => {
  e.preventDefault();
  drop.classList.remove("over");
  const f = e.dataTransfer?.files[0];
  if (f) void replayFile(f);
});
$<HTMLInputElement>("replay-file").onchange = (e) => {
  const input = e.target as HTMLInputElement;
  const f = input.files?.[0];
  if (f) void replayFile(f);
  input.value = ""; // choosing the same file again replays it again
};

// ---- workload

const workloads = __VGIC_WORKLOADS__;
const wsel = $<HTMLSelectElement>("workload-name");
wsel.innerHTML = Object.keys(workloads).map((n) => `<option>${esc(n)}</option>`).join("");
wsel.value = "seed-migrate" in workloads ? "seed-migrate" : wsel.value;
const setWorkload = () => { $<HTMLTextAreaElement>("workload-text").value = workloads[wsel.value] ?? ""; };
wsel.onchange = setWorkload;
setWorkload();
/** the workload running, if any: its button is Stop meanwhile */
let workloadRunning = false;
$("workload-form").onsubmit = async (e) => {
  e.preventDefault();
  if (workloadRunning) { workers.workload.stop(); return; }
  workloadRunning = true;
  $("workload-run").textContent = "Stop";
  $("workload-details").hidden = true;
  $("workload-report").hidden = true;
  $("workload-out").textContent = "";
  status("workload-status", `running ${esc(wsel.value)} ${bar(0)}`);
  const r = await workers.workload.ask({ kind: "workload", name: `${wsel.value}.json`, text: $<HTMLTextAreaElement>("workload-text").value, variant: $<HTMLSelectElement>("workload-variant").value },
    (p) => status("workload-status", `running ${esc(p.text)} ${bar(p.fraction ?? 0)}`));
  workloadRunning = false;
  $("workload-run").textContent = "Run";
  if (r.kind === "workload") {
    status("workload-status", r.failed ? `<span class="bad">finished with errors</span>` : "done");
    $("workload-out").textContent = r.text;
    $("workload-details").hidden = false;
    const frame = $<HTMLIFrameElement>("workload-report");
    frame.onload = () => { frame.style.height = `${(frame.contentDocument?.documentElement.scrollHeight ?? 880) + 20}px`; };
    frame.srcdoc = r.reportHtml;
    frame.hidden = false;
  } else if (r.kind === "error") status("workload-status", r.message === STOPPED ? "stopped" : `<span class="bad">${esc(r.message)}</span>`);
};

// ---- register scripts

const scripts = __VGIC_SCRIPTS__;
const msel = $<HTMLSelectElement>("mmio-example");
msel.innerHTML = Object.keys(scripts).map((n) => `<option>${esc(n)}</option>`).join("");
const setScript = () => { $<HTMLTextAreaElement>("mmio-text").value = scripts[msel.value] ?? ""; };
msel.onchange = setScript;
setScript();
/** the latest script asked for: an earlier one's answer is not shown */
let mmioSeq = 0;
$("mmio-form").onsubmit = async (e) => {
  e.preventDefault();
  const my = ++mmioSeq;
  $("mmio-out").innerHTML = "";
  const r = await workers.mmio.ask({ kind: "mmio", script: $<HTMLTextAreaElement>("mmio-text").value, cpus: $<HTMLInputElement>("mmio-cpus").value, lrs: $<HTMLInputElement>("mmio-lrs").value });
  if (my !== mmioSeq) return;
  // as vgic mmio: the reads made before a failing line, then its error
  const bad = (m: string) => `<span class="bad">${esc(m)}</span>`;
  $("mmio-out").innerHTML = r.kind === "mmio" ? [esc(r.lines.join("\n")), r.error === null ? "" : bad(r.error)].filter(Boolean).join("\n") || "(no reads)"
    : r.kind === "error" ? bad(r.message) : "";
};

// ---- start: fill the forms, then follow the URL

function fill(scenarios: Named[], variants: Named[]): void {
  const sel = $<HTMLSelectElement>("scenario");
  sel.innerHTML = scenarios.map((s) => `<option>${esc(s.name)}</option>`).join("");
  const summary = () => { $("scenario-summary").textContent = scenarios.find((s) => s.name === sel.value)?.summary ?? ""; };
  sel.onchange = summary;
  summary();
  $("variants").innerHTML = "<legend>Designs</legend>" + variants.map((v) =>
    `<label title="${esc(v.summary)}"><input type="checkbox" value="${esc(v.name)}" checked>${esc(v.name)}</label>`).join("");
  $("workload-variant").innerHTML += variants.map((v) => `<option>${esc(v.name)}</option>`).join("");
}

/** the latest link followed: an earlier one still waiting for a stop gives way */
let hashSeq = 0;

async function fromHash(scenarios: Named[], variants: Named[]): Promise<void> {
  const my = ++hashSeq;
  // a link replaces what the Explore tab runs: the run going on is stopped
  // first, so no result of it is left under the link's settings
  const interrupted = exploring !== null;
  if (exploring !== null) { workers.explore.stop(); await exploring; }
  if (my !== hashSeq) return;
  const p = new URLSearchParams(location.hash.replace(/^#/, ""));
  const clear = () => {
    hideStory("explore");
    $("explore-results").innerHTML = "";
  };
  const err = (m: string) => { clear(); status("explore-status", `<span class="bad">link: ${esc(m)}</span>`); };
  const sc = p.get("scenario");
  if (sc !== null) {
    if (!scenarios.some((s) => s.name === sc)) return err(`scenario: expected one of ${scenarios.map((s) => s.name).join(", ")}, got "${sc}"`);
    $<HTMLSelectElement>("scenario").value = sc;
    $<HTMLSelectElement>("scenario").dispatchEvent(new Event("change"));
  }
  const vs = p.get("variant");
  if (vs !== null && vs !== "all") {
    const want = vs.split(",");
    const bad = want.find((v) => !variants.some((x) => x.name === v));
    if (bad !== undefined) return err(`variant: expected all or some of ${variants.map((v) => v.name).join(", ")}, got "${bad}"`);
    for (const i of document.querySelectorAll<HTMLInputElement>("#variants input")) i.checked = want.includes(i.value);
  }
  const mem = p.get("memory");
  if (mem !== null && !["sc", "weak", "weak-acq-rel"].includes(mem)) return err(`memory: expected sc, weak or weak-acq-rel, got "${mem}"`);
  // the search settings as vgic explore takes them, refused in its words
  const checked = {
    ...searchOptionsOf({ strategy: p.get("strategy") ?? $<HTMLSelectElement>("strategy").value, budget: p.get("budget"), bound: p.get("bound"), seed: p.get("seed") }),
    ...latencyOptionsOf(p.get("latency") ?? ""),
  };
  const refused = objection(checked);
  if (refused !== null) return err(refused);
  // a number checked above goes into its field in decimal: vgic explore
  // takes 0x12c, a number field empties it (and an empty latency is none)
  const decimal = (v: string) => (/^0x/i.test(v) ? String(Number(v)) : v);
  for (const k of ["strategy", "bound", "budget", "seed"]) {
    const v = p.get(k);
    if (v !== null) ($(k) as HTMLInputElement).value = k !== "strategy" && k in checked ? decimal(v) : v;
  }
  // a link leaves these out at their defaults: absent, it means sc and no
  // latency, not whatever the form said before
  $<HTMLSelectElement>("memory").value = mem ?? "sc";
  $<HTMLInputElement>("latency").value = decimal(p.get("latency") ?? "0");
  syncStrategy();
  if (p.get("run") !== "1") {
    if (interrupted) { clear(); status("explore-status", "stopped: a link changed the settings"); }
    return;
  }
  currentTab = "explore";
  showTab("explore");
  const schedule = p.get("schedule");
  if (schedule !== null) {
    const f = formValues();
    if (f.variants.length !== 1) return err("schedule: needs exactly one variant");
    track(runSchedule(f.scenario, f.variants[0]!, schedule, f));
  } else track(runExplore());
}

$("explore-form").onsubmit = (e) => {
  e.preventDefault();
  if (exploring !== null) workers.explore.stop();
  else track(runExplore());
};
workers.explore.start().then(({ hello: h }) => {
  fill(h.scenarios, h.variants);
  // performance.now() counts from the navigation: the page's load time
  const ready = performance.now();
  document.body.dataset.readyMs = ready.toFixed(0);
  status("explore-status", `ready in ${ready.toFixed(0)} ms`);
  void fromHash(h.scenarios, h.variants);
  // a link followed in the same tab (the share link, a pasted address)
  window.addEventListener("hashchange", () => void fromHash(h.scenarios, h.variants));
}, (e: unknown) => status("explore-status", `<span class="bad">cannot start the worker: ${esc(String(e))}</span>`));
