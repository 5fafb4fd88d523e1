// Recording of a run: steps, function entry and exit, lock events, interrupt
// line changes, register accesses, device events. Off by default; when off
// the machine never reaches this file (every call site is behind one null
// check), so an untraced run formats no strings and allocates nothing here.
//
// Exports: a sha256 over the events (the determinism witness: same seed and
// inputs, same hash), Chrome trace-event JSON (the "JSON Array/Object Format"
// of the Trace Event Format document, which Perfetto's UI opens: ph "B"/"E"
// slices for hypervisor functions and IRQ handlers, "X" for spins and idle
// periods, "i" instants for lines, locks and accesses, "s"/"t"/"f" flow
// arrows along an interrupt instance's path and a store's way through its
// buffer, "C" counters, "M" thread_name metadata), and a step-by-step
// narrative for people.
//
// Two modes. By default every event is kept (`events`): the explorer, its
// narratives and timelines read them back. streamTo() instead converts each
// event to Chrome JSON as it is recorded and hands the text to a writer,
// keeping only what the export still needs (the open slices, the vCPUs
// seen, the list registers' state) and a running hash: memory no longer
// grows with the run (`vgic run --trace`).

import { sha256, type Sha256 } from "./digest.ts";
import { ROWS } from "../check/access.ts";

export type TraceKind =
  | "step" // a thread resumes from a scheduling point (name: the point)
  | "fn-begin" | "fn-end" // a named hypervisor function
  | "irq-enter" | "irq-exit" // physical IRQ taken / handler returned
  | "lock" | "lock-wait" | "lock-granted" | "unlock" | "trylock-fail"
  | "line" // a CPU's visible output lines changed (a: new lines)
  | "mmio-read" | "mmio-write" // a: address, b: value
  | "set-line" // an input line driven (a: irq, b: level)
  | "event" // a machine.at event fired
  | "idle" | "wake" // WFI entered, left (a: idle since)
  | "spin" // contended wait ended (a: wait start)
  | "vcpu-in" | "vcpu-out" // a pCPU enters / leaves guest mode for a vCPU (a: vCPU id, b: pCPU)
  | "virq" // a guest handler takes a virtual interrupt (a: vCPU id, b: interrupt ID)
  | "mem-store" | "mem-drain" // weak memory: a store buffered, made visible (a: the store's number, b: 1 for a GICD write)
  | "mem-stale" // weak memory: a load did not see another pCPU's buffered store (a: that store's number)
  | "irq-flow" // an interrupt instance reaches a stage (name: raise, inject, ack, eoi, drop, merge, withdraw; a: instance, b: vCPU for ack and eoi, else -1; text: "IRQ n")
  | "counter" // a per-vCPU depth changed (name: what, "lr_pending"; a: vCPU id, b: the new value)
  | "deadlock" | "error" | "note";

/** Kinds the hash and the narrative leave out: they describe what the other
 *  events did (which instance an injection served, how long a list is)
 *  rather than add a step of the run, and traces recorded before they
 *  existed (the explorer's counterexamples) keep their hashes. */
const UNHASHED: ReadonlySet<TraceKind> = new Set(["irq-flow", "counter"]);

/** Interrupt instance flows get ids above any weak-memory store's number
 *  (those flows use the store's number), and a category of their own. */
export const IRQ_FLOW_BASE = 2 ** 32;

/** Flow stages that end an instance's arrow (bound to the slice they fall in). */
const FLOW_ENDS: ReadonlySet<string> = new Set(["eoi", "drop", "merge", "withdraw"]);

/** Groups of trace events a Chrome trace can be limited to (`--trace-events`). */
export const TRACE_GROUPS = {
  fn: ["fn-begin", "fn-end"],
  irq: ["irq-enter", "irq-exit"],
  lock: ["lock", "lock-wait", "lock-granted", "unlock", "trylock-fail", "spin"],
  mmio: ["mmio-read", "mmio-write"],
  line: ["line", "set-line"],
  idle: ["idle", "wake"],
  guest: ["vcpu-in", "vcpu-out", "virq"],
  step: ["step"],
  memory: ["mem-store", "mem-drain", "mem-stale"],
  flow: ["irq-flow"],
  counter: ["counter"],
  other: ["event", "deadlock", "error", "note"],
} as const satisfies Record<string, readonly TraceKind[]>;
export type TraceGroup = keyof typeof TRACE_GROUPS;

/** The kinds of a comma-separated list of groups (or all); RangeError naming an unknown one. */
export function traceKindsOf(list: string): ReadonlySet<TraceKind> {
  const names = list === "all" ? Object.keys(TRACE_GROUPS) : list.split(",").map((x) => x.trim()).filter((x) => x !== "");
  const kinds = new Set<TraceKind>();
  for (const n of names) {
    const g = (TRACE_GROUPS as Record<string, readonly TraceKind[]>)[n];
    if (g === undefined) throw new RangeError(`--trace-events: unknown group '${n}': expected ${Object.keys(TRACE_GROUPS).join(", ")} or all`);
    for (const k of g) kinds.add(k);
  }
  if (kinds.size === 0) throw new RangeError("--trace-events: expected at least one group");
  return kinds;
}

export interface TraceEvent {
  /** cycle at which it happened (the thread's clock, or the event time) */
  ts: number;
  /** thread index; threads.length for the event queue */
  tid: number;
  kind: TraceKind;
  name: string;
  a: number;
  b: number;
  /** readable detail for the narrative (not hashed) */
  text: string;
}

export interface ChromeEvent {
  name: string;
  ph: string;
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  s?: string;
  cat?: string;
  /** flow events: the arrow's id and binding point */
  id?: number;
  bp?: string;
  args?: Record<string, unknown>;
}

/** The Chrome trace's process for the guest's vCPU tracks. */
const GUEST_PID = 1;

/** Takes the streamed Chrome JSON piece by piece (an event a line). */
export type ChromeWriter = (text: string) => void;

export class Trace {
  /** the recorded events (empty once streamTo() was called) */
  readonly events: TraceEvent[] = [];
  /** names of tids, filled by the machine */
  threadNames: string[] = [];
  /** events recorded so far, streamed ones included */
  count = 0;
  private stream: { out: ChromeExport; hash: Sha256; buf: string; write: ChromeWriter; ended: boolean } | null = null;
  /** keepTail's bound: keep only the events the narrative tells, the last
   *  `tail` of them at least; null keeps every event */
  private tail: number | null = null;

  constructor(readonly hz: number) {}

  /** From now on keep only what narrativeTail(n) needs: the last `n` events
   *  the narrative tells, each of which tells at least one line (a finding's
   *  narrative of a long run). The hash, the Chrome export and the whole
   *  narrative need every event: they refuse a trace cut this way. */
  keepTail(n: number): void {
    if (this.stream !== null) throw new Error("trace: a streamed trace keeps no events to cut");
    this.tail = Math.max(0, n);
    const told = this.events.filter((e) => this.told(e, {}));
    this.events.length = 0;
    this.events.push(...told.slice(Math.max(0, told.length - this.tail)));
  }

  private uncut(what: string): void {
    if (this.tail !== null) throw new Error(`trace: cut to its last ${this.tail} narrated events (keepTail): no ${what}`);
  }

  add(ts: number, tid: number, kind: TraceKind, name: string, a = 0, b = 0, text = ""): void {
    this.record({ ts, tid, kind, name, a, b, text });
  }

  /** Record a flow or counter (UNHASHED kinds). Not through add(), which the
   *  explorer's timeline wraps to snapshot the state at each step. */
  mark(ts: number, tid: number, kind: "irq-flow" | "counter", name: string, a: number, b: number, text = ""): void {
    this.record({ ts, tid, kind, name, a, b, text });
  }

  private record(e: TraceEvent): void {
    this.count++;
    if (this.stream !== null) this.feed(e);
    else if (this.tail === null) this.events.push(e);
    else if (this.told(e, {})) {
      this.events.push(e);
      // cut now and then, not at every event
      if (this.events.length >= 2 * this.tail + 64) this.events.splice(0, this.events.length - this.tail);
    }
  }

  private feed(e: TraceEvent): void {
    const s = this.stream!;
    if (!UNHASHED.has(e.kind)) {
      s.buf += hashLine(e);
      if (s.buf.length > 65536) {
        s.hash.update(s.buf);
        s.buf = "";
      }
    }
    // (after finishStream the document is closed: hashed, not written)
    if (!s.ended) s.out.event(e);
  }

  /** Stream from now on: the events so far, then each new one, go to
   *  `write` as Chrome JSON text (the document's opening first), and are
   *  not kept. finishStream() writes the rest (closing slices still open,
   *  the metadata, the closing brackets). */
  streamTo(write: ChromeWriter, only?: ReadonlySet<TraceKind>): void {
    if (this.stream !== null) throw new Error("trace: already streaming");
    this.uncut("stream");
    write(`{"traceEvents":[\n`);
    let first = true;
    const out = new ChromeExport(this, only, (ev) => {
      write(first ? chromeText(ev) : `,\n${chromeText(ev)}`);
      first = false;
    });
    this.stream = { out, hash: sha256(), buf: "", write, ended: false };
    for (const e of this.events) this.feed(e);
    this.events.length = 0;
  }

  get streaming(): boolean {
    return this.stream !== null;
  }

  /** Close a streamed trace's document. */
  finishStream(): void {
    const s = this.stream;
    if (s === null || s.ended) return;
    s.out.finish();
    s.ended = true;
    s.write(`\n],"otherData":${JSON.stringify(this.otherData())}}\n`);
  }

  /** sha256 (hex) over every event's time, thread, kind, name and numbers
   *  (the first `count` events, default all; flows and counters are left
   *  out). A streamed trace has only the hash of all its events so far. */
  hash(count = this.count): string {
    this.uncut("hash");
    const s = this.stream;
    if (s !== null) {
      if (count !== this.count) throw new RangeError(`trace: a streamed trace hashes all ${this.count} events so far, not ${count}`);
      s.hash.update(s.buf);
      s.buf = "";
      return s.hash.copy().hex();
    }
    const h = sha256();
    let buf = "";
    for (let i = 0; i < count; i++) {
      const e = this.events[i]!;
      if (UNHASHED.has(e.kind)) continue;
      buf += hashLine(e);
      if (buf.length > 65536) {
        h.update(buf);
        buf = "";
      }
    }
    h.update(buf);
    return h.hex();
  }

  /** @internal cycles as the microseconds Chrome traces count in */
  us(cycles: number): number {
    return (cycles * 1e6) / this.hz;
  }

  private otherData(): Record<string, unknown> {
    return { hz: this.hz, clock: "cycles converted to microseconds at hz" };
  }

  /** Chrome trace-event JSON object: pid 0 is the machine with a track per
   *  thread (pCPUs, devices, events) and a counter of list registers in use
   *  per pCPU; pid 1 is the guest with a track per vCPU: when it ran in
   *  guest mode (and on which pCPU), the virtual interrupts its handler
   *  took, and its lr_pending depth. The same events as streamTo() writes. */
  toChrome(only?: ReadonlySet<TraceKind>): { traceEvents: ChromeEvent[]; otherData: Record<string, unknown> } {
    if (this.stream !== null) throw new Error("trace: a streamed trace keeps no events to export");
    this.uncut("Chrome export");
    const out: ChromeEvent[] = [];
    const x = new ChromeExport(this, only, (ev) => out.push(ev));
    for (const e of this.events) x.event(e);
    x.finish();
    return { traceEvents: out, otherData: this.otherData() };
  }

  toChromeJson(only?: ReadonlySet<TraceKind>): string {
    return JSON.stringify(this.toChrome(only));
  }

  /** One readable line per event: "[cycle] thread: what happened". */
  narrative(opts: { steps?: boolean } = {}): string {
    this.uncut("whole narrative");
    const lines: string[] = [];
    for (const e of this.events) {
      if (this.told(e, opts)) lines.push(this.tell(e));
    }
    return lines.join("\n");
  }

  /** The last `n` non-blank lines of narrative(opts), told from the last
   *  events alone (a finding shows how a long run ended). */
  narrativeTail(n: number, opts: { steps?: boolean } = {}): string[] {
    if (opts.steps || n > (this.tail ?? n)) this.uncut(`narrative of ${opts.steps ? "steps" : `its last ${n} lines`}`);
    const tail: string[][] = [];
    let count = 0;
    for (let i = this.events.length - 1; i >= 0 && count < n; i--) {
      const e = this.events[i]!;
      if (!this.told(e, opts)) continue;
      const lines = this.tell(e).split("\n").filter((l) => l.trim() !== "");
      tail.push(lines);
      count += lines.length;
    }
    const all = tail.reverse().flat();
    return all.slice(Math.max(0, all.length - n));
  }

  private told(e: TraceEvent, opts: { steps?: boolean }): boolean {
    return !((e.kind === "step" && !opts.steps) || UNHASHED.has(e.kind));
  }

  private tell(e: TraceEvent): string {
    return `[${e.ts}] ${this.threadNames[e.tid] ?? `thread${e.tid}`}: ${e.text || describe(e)}`;
  }
}

/** JSON.stringify(ev) for a Chrome event, written out by hand for speed
 *  (the same text less key order: streamed and in-memory exports parse
 *  to the same objects). */
function chromeText(ev: ChromeEvent): string {
  let s = `{"name":${JSON.stringify(ev.name)},"ph":"${ev.ph}","ts":${ev.ts},"pid":${ev.pid},"tid":${ev.tid}`;
  if (ev.dur !== undefined) s += `,"dur":${ev.dur}`;
  if (ev.s !== undefined) s += `,"s":"${ev.s}"`;
  if (ev.cat !== undefined) s += `,"cat":${JSON.stringify(ev.cat)}`;
  if (ev.id !== undefined) s += `,"id":${ev.id}`;
  if (ev.bp !== undefined) s += `,"bp":"${ev.bp}"`;
  if (ev.args !== undefined) {
    // flat: numbers and strings under plain keys
    let sep = `,"args":{`;
    for (const k in ev.args) {
      const v = ev.args[k];
      s += `${sep}${JSON.stringify(k)}:${typeof v === "number" && Number.isFinite(v) ? v : JSON.stringify(v)}`;
      sep = ",";
    }
    s += sep === "," ? "}" : `,"args":{}`;
  }
  return `${s}}`;
}

const hashLine = (e: TraceEvent) => `${e.ts}\t${e.tid}\t${e.kind}\t${e.name}\t${e.a}\t${e.b}\n`;

/** GICH_LR0..63 (IHI 0048B 5.3: GICH_LRn at 0x100 + 4n). */
const GICH_LR = /^GICH\+0x(1[0-9a-f][048c])$/;

/** Turns trace events into Chrome events one at a time, keeping only what
 *  later events need: the open B slices per track (closed at the last
 *  timestamp by finish()), the vCPUs seen (named by finish()), and each
 *  pCPU's list registers as last written. */
class ChromeExport {
  private readonly open = new Map<number, ChromeEvent[]>();
  private readonly vcpus = new Map<number, string>();
  /** per pCPU thread: its list registers' last written values, and how many are not 0 */
  private readonly lrs = new Map<number, { values: Uint32Array; used: number }>();
  private readonly registers = new Map<string, string>();
  private last = 0;

  constructor(private readonly trace: Trace, private readonly only: ReadonlySet<TraceKind> | undefined,
    private readonly emit: (ev: ChromeEvent) => void) {}

  /** Emit a B or E slice event, keeping the track's open slices. */
  private push(ev: ChromeEvent): void {
    this.emit(ev);
    const k = ev.pid * 65536 + ev.tid;
    let st = this.open.get(k);
    if (st === undefined) this.open.set(k, st = []);
    if (ev.ph === "B") st.push(ev);
    else st.pop();
  }

  private wants(kind: TraceKind): boolean {
    return this.only === undefined || this.only.has(kind);
  }

  event(e: TraceEvent): void {
    const ts = this.trace.us(e.ts);
    if (ts > this.last) this.last = ts;
    if (e.kind === "vcpu-in" || e.kind === "vcpu-out") this.vcpus.set(e.a, e.name);
    if (e.kind === "mmio-write") this.listRegister(e, ts);
    if (!this.wants(e.kind)) return;
    // objects of one shape, no spreads: a long run converts millions
    const tid = e.tid;
    switch (e.kind) {
      case "fn-begin":
      case "fn-end":
        this.push({ name: e.name, ph: e.kind === "fn-begin" ? "B" : "E", ts, pid: 0, tid, cat: "hyp" });
        break;
      case "irq-enter":
      case "irq-exit":
        this.push({ name: "IRQ", ph: e.kind === "irq-enter" ? "B" : "E", ts, pid: 0, tid, cat: "irq" });
        break;
      case "spin":
        this.emit({ name: `spin ${e.name}`, ph: "X", ts: this.trace.us(e.a), pid: 0, tid, dur: this.trace.us(e.ts - e.a), cat: "lock", args: { cycles: e.ts - e.a } });
        break;
      case "wake":
        this.emit({ name: "idle", ph: "X", ts: this.trace.us(e.a), pid: 0, tid, dur: this.trace.us(e.ts - e.a), cat: "idle" });
        break;
      case "vcpu-in":
      case "vcpu-out":
        this.push({ name: `guest on pCPU${e.b}`, ph: e.kind === "vcpu-in" ? "B" : "E", ts, pid: GUEST_PID, tid: e.a, cat: "guest" });
        break;
      case "virq":
        this.emit({ name: `vIRQ ${e.b}`, ph: "i", ts, pid: GUEST_PID, tid: e.a, s: "t", cat: "virq", args: { cycle: e.ts } });
        break;
      case "irq-flow": {
        // a zero-length slice marks the stage on its track, and the flow
        // event binds to it: Perfetto draws the arrow from marker to marker
        // (ack and EOI on the vCPU's track, the others where they ran)
        const pid = e.b >= 0 ? GUEST_PID : 0, on = e.b >= 0 ? e.b : tid;
        const end = FLOW_ENDS.has(e.name);
        this.emit({ name: `${e.name} ${e.text}`, ph: "X", ts, pid, tid: on, dur: 0, cat: "irq-flow", args: { cycle: e.ts, instance: e.a } });
        const flow: ChromeEvent = { name: e.text, ph: e.name === "raise" ? "s" : end ? "f" : "t", ts, pid, tid: on, cat: "irq-flow", id: IRQ_FLOW_BASE + e.a };
        if (end) flow.bp = "e";
        this.emit(flow);
        break;
      }
      case "counter":
        this.emit({ name: `vCPU${e.a} ${e.name}`, ph: "C", ts, pid: GUEST_PID, tid: e.a, cat: "counter", args: { depth: e.b } });
        break;
      case "mem-stale":
        this.emit({ name: `stale read ${e.name}`, ph: "i", ts, pid: 0, tid, s: "t", cat: "memory", args: { cycle: e.ts, store: e.a, detail: e.text } });
        break;
      case "mem-store":
      case "mem-drain": {
        // an instant on the pCPU's track, and a flow arrow from the store
        // to the moment it became visible to the other pCPUs
        const store = e.kind === "mem-store";
        this.emit({ name: `${store ? "store" : "visible"} ${e.name}`, ph: "i", ts, pid: 0, tid, s: "t", cat: "memory", args: { cycle: e.ts, store: e.a, detail: e.text } });
        const flow: ChromeEvent = { name: "store buffer", ph: store ? "s" : "f", ts, pid: 0, tid, cat: "memory", id: e.a };
        if (!store) flow.bp = "e";
        this.emit(flow);
        break;
      }
      case "mmio-read":
      case "mmio-write": {
        const reg = this.register(e.name);
        this.emit({
          name: `${e.kind === "mmio-read" ? "read" : "write"} ${reg}`, ph: "i", ts, pid: 0, tid, s: "t", cat: e.kind,
          args: { cycle: e.ts, address: hex(e.a), value: hex(e.b), register: reg },
        });
        break;
      }
      default: {
        const args: Record<string, unknown> = { cycle: e.ts, a: e.a, b: e.b };
        if (e.text) args.detail = e.text;
        this.emit({
          name: e.kind === "step" ? e.name : `${e.kind} ${e.name}`, ph: "i", ts, pid: 0, tid,
          s: e.kind === "deadlock" || e.kind === "error" ? "g" : "t", cat: e.kind, args,
        });
      }
    }
  }

  /** registerName of a frame offset, or the offset itself (remembered:
   *  a run touches a few hundred addresses, millions of times). */
  private register(frame: string): string {
    let r = this.registers.get(frame);
    if (r === undefined) this.registers.set(frame, r = registerName(frame) ?? frame);
    return r;
  }

  /** A write to GICH_LRn by a pCPU: the count of its list registers that
   *  hold an interrupt (a non-zero value, as Xen's lr_mask has them: set
   *  by gic_set_lr, cleared with the register when gic_update_one_lr
   *  retires it, restored with a vCPU's saved registers) is a counter
   *  track of the machine (group counter), emitted when it changes. */
  private listRegister(e: TraceEvent, ts: number): void {
    const m = GICH_LR.exec(e.name);
    if (m === null) return;
    const n = (parseInt(m[1]!, 16) - 0x100) >> 2;
    let s = this.lrs.get(e.tid);
    if (s === undefined) this.lrs.set(e.tid, s = { values: new Uint32Array(64), used: 0 });
    const before = s.used;
    s.used += (e.b !== 0 ? 1 : 0) - (s.values[n] !== 0 ? 1 : 0);
    s.values[n] = e.b;
    if (s.used === before || !this.wants("counter")) return;
    const who = this.trace.threadNames[e.tid] ?? `thread${e.tid}`;
    this.emit({ name: `${who} LRs`, ph: "C", ts, pid: 0, tid: e.tid, cat: "counter", args: { "in use": s.used } });
  }

  /** Close the slices still open when the trace ends (a pCPU's loop, a
   *  vCPU still in guest mode) at its last timestamp, then name the
   *  processes and tracks. */
  finish(): void {
    for (const st of this.open.values()) {
      while (st.length > 0) {
        const b = st.pop()!;
        this.emit({ name: b.name, ph: "E", ts: this.last, pid: b.pid, tid: b.tid, cat: b.cat });
      }
    }
    const pid = 0;
    this.emit({ name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name: "machine" } });
    if (this.vcpus.size > 0) {
      this.emit({ name: "process_name", ph: "M", ts: 0, pid: GUEST_PID, tid: 0, args: { name: "guest" } });
      for (const [id, name] of [...this.vcpus].sort((x, y) => x[0] - y[0])) {
        this.emit({ name: "thread_name", ph: "M", ts: 0, pid: GUEST_PID, tid: id, args: { name: `vCPU${id} (${name})` } });
        this.emit({ name: "thread_sort_index", ph: "M", ts: 0, pid: GUEST_PID, tid: id, args: { sort_index: id } });
      }
    }
    this.trace.threadNames.forEach((n, tid) => {
      this.emit({ name: "thread_name", ph: "M", ts: 0, pid, tid, args: { name: n } });
      this.emit({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid, args: { sort_index: tid } });
    });
  }
}

const hex = (v: number) => `0x${(v >>> 0).toString(16)}`;

const FRAME_INDEX: Record<string, number> = { GICD: 0, GICC: 1, GICH: 2, GICV: 3 };

/** "GICD+0x104" as the register it falls in (IHI 0048B's names), with the
 *  offset within a multi-word register: "GICD_ISENABLER+0x4"; null when
 *  the address is in no register. */
export function registerName(frame: string): string | null {
  const m = /^(GIC[DCHV])\+0x([0-9a-f]+)$/.exec(frame);
  if (m === null) return null;
  const f = FRAME_INDEX[m[1]!]!, off = parseInt(m[2]!, 16);
  const row = ROWS.find((r) => r.frame === f && off >= r.start && off < r.start + r.length);
  if (row === undefined) return null;
  return row.length > 4 ? `${row.name}+0x${(off - row.start).toString(16)}` : row.name;
}

function describe(e: TraceEvent): string {
  switch (e.kind) {
    case "step": return `runs from ${e.name}`;
    case "fn-begin": return `enters ${e.name}`;
    case "fn-end": return `leaves ${e.name}`;
    case "irq-enter": return "takes a physical IRQ";
    case "irq-exit": return "returns from the IRQ handler";
    case "line": return `output lines now ${hex(e.a)}`;
    case "mmio-read": return `reads ${hex(e.a)} = ${hex(e.b)}`;
    case "mmio-write": return `writes ${hex(e.a)} = ${hex(e.b)}`;
    case "set-line": return `drives interrupt ${e.a} ${e.b ? "high" : "low"}`;
    case "event": return `event ${e.name}`;
    case "idle": return "waits for an interrupt (WFI)";
    case "wake": return `wakes after ${e.ts - e.a} idle cycles`;
    case "spin": return `got ${e.name} after spinning ${e.ts - e.a} cycles`;
    case "vcpu-in": return `runs ${e.name} (guest mode)`;
    case "vcpu-out": return `leaves ${e.name} (to the hypervisor)`;
    case "virq": return `${e.name}: guest handler takes virtual IRQ ${e.b}`;
    case "mem-store": return `buffers a store to ${e.name}`;
    case "mem-drain": return `its store to ${e.name} becomes visible`;
    case "mem-stale": return `reads ${e.name} without another pCPU's buffered store`;
    default: return `${e.kind} ${e.name}`;
  }
}
