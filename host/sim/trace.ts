// Recording of a run: steps, function entry and exit, lock events, interrupt
// line changes, register accesses, device events. Off by default; when off
// the machine never reaches this file (every call site is behind one null
// check), so an untraced run formats no strings and allocates nothing here.
//
// Exports: a sha256 over the events (the determinism witness: same seed and
// inputs, same hash), Chrome trace-event JSON (the "JSON Array/Object Format"
// of the Trace Event Format document, which Perfetto's UI opens: ph "B"/"E"
// slices for hypervisor functions and IRQ handlers, "X" for spins and idle
// periods, "i" instants for lines, locks and accesses, "M" thread_name
// metadata), and a step-by-step narrative for people.

import { sha256 } from "./digest.ts";
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
  | "deadlock" | "error" | "note";

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

export class Trace {
  readonly events: TraceEvent[] = [];
  /** names of tids, filled by the machine */
  threadNames: string[] = [];

  constructor(readonly hz: number) {}

  add(ts: number, tid: number, kind: TraceKind, name: string, a = 0, b = 0, text = ""): void {
    this.events.push({ ts, tid, kind, name, a, b, text });
  }

  /** sha256 (hex) over every event's time, thread, kind, name and numbers
   *  (the first `count` events, default all). */
  hash(count = this.events.length): string {
    const h = sha256();
    let buf = "";
    for (let i = 0; i < count; i++) {
      const e = this.events[i]!;
      buf += `${e.ts}\t${e.tid}\t${e.kind}\t${e.name}\t${e.a}\t${e.b}\n`;
      if (buf.length > 65536) {
        h.update(buf);
        buf = "";
      }
    }
    h.update(buf);
    return h.hex();
  }

  private us(cycles: number): number {
    return (cycles * 1e6) / this.hz;
  }

  /** Chrome trace-event JSON object: pid 0 is the machine with a track per
   *  thread (pCPUs, devices, events); pid 1 is the guest with a track per
   *  vCPU: when it ran in guest mode (and on which pCPU) and the virtual
   *  interrupts its handler took. */
  toChrome(only?: ReadonlySet<TraceKind>): { traceEvents: ChromeEvent[]; otherData: Record<string, unknown> } {
    const pid = 0;
    const out: ChromeEvent[] = [
      { name: "process_name", ph: "M", ts: 0, pid, tid: 0, args: { name: "machine" } },
    ];
    const vcpus = new Map<number, string>();
    for (const e of this.events) {
      if (e.kind === "vcpu-in" || e.kind === "vcpu-out") vcpus.set(e.a, e.name);
    }
    if (vcpus.size > 0) {
      out.push({ name: "process_name", ph: "M", ts: 0, pid: GUEST_PID, tid: 0, args: { name: "guest" } });
      for (const [id, name] of [...vcpus].sort((x, y) => x[0] - y[0])) {
        out.push({ name: "thread_name", ph: "M", ts: 0, pid: GUEST_PID, tid: id, args: { name: `vCPU${id} (${name})` } });
        out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid: GUEST_PID, tid: id, args: { sort_index: id } });
      }
    }
    this.threadNames.forEach((n, tid) => {
      out.push({ name: "thread_name", ph: "M", ts: 0, pid, tid, args: { name: n } });
      out.push({ name: "thread_sort_index", ph: "M", ts: 0, pid, tid, args: { sort_index: tid } });
    });
    // slices still open when the trace ends (a pCPU's loop, a vCPU still
    // in guest mode) are closed at its last timestamp
    const open = new Map<string, ChromeEvent[]>();
    const push = (ev: ChromeEvent) => {
      out.push(ev);
      if (ev.ph !== "B" && ev.ph !== "E") return;
      const k = `${ev.pid}:${ev.tid}`;
      let st = open.get(k);
      if (st === undefined) open.set(k, st = []);
      if (ev.ph === "B") st.push(ev);
      else st.pop();
    };
    let last = 0;
    for (const e of this.events) {
      const ts = this.us(e.ts);
      if (ts > last) last = ts;
      if (only !== undefined && !only.has(e.kind)) continue;
      const base = { pid, tid: e.tid };
      switch (e.kind) {
        case "fn-begin":
          push({ ...base, name: e.name, ph: "B", ts, cat: "hyp" });
          break;
        case "fn-end":
          push({ ...base, name: e.name, ph: "E", ts, cat: "hyp" });
          break;
        case "irq-enter":
          push({ ...base, name: "IRQ", ph: "B", ts, cat: "irq" });
          break;
        case "irq-exit":
          push({ ...base, name: "IRQ", ph: "E", ts, cat: "irq" });
          break;
        case "spin":
          push({ ...base, name: `spin ${e.name}`, ph: "X", ts: this.us(e.a), dur: this.us(e.ts - e.a), cat: "lock", args: { cycles: e.ts - e.a } });
          break;
        case "wake":
          push({ ...base, name: "idle", ph: "X", ts: this.us(e.a), dur: this.us(e.ts - e.a), cat: "idle" });
          break;
        case "vcpu-in":
          push({ pid: GUEST_PID, tid: e.a, name: `guest on pCPU${e.b}`, ph: "B", ts, cat: "guest" });
          break;
        case "vcpu-out":
          push({ pid: GUEST_PID, tid: e.a, name: `guest on pCPU${e.b}`, ph: "E", ts, cat: "guest" });
          break;
        case "virq":
          push({ pid: GUEST_PID, tid: e.a, name: `vIRQ ${e.b}`, ph: "i", ts, s: "t", cat: "virq", args: { cycle: e.ts } });
          break;
        case "mem-stale":
          push({ ...base, name: `stale read ${e.name}`, ph: "i", ts, s: "t", cat: "memory", args: { cycle: e.ts, store: e.a, detail: e.text } });
          break;
        case "mem-store":
        case "mem-drain":
          // an instant on the pCPU's track, and a flow arrow from the store
          // to the moment it became visible to the other pCPUs
          push({
            ...base, name: `${e.kind === "mem-store" ? "store" : "visible"} ${e.name}`, ph: "i", ts, s: "t", cat: "memory",
            args: { cycle: e.ts, store: e.a, detail: e.text },
          });
          push({ ...base, name: "store buffer", ph: e.kind === "mem-store" ? "s" : "f", ts, cat: "memory", id: e.a, ...(e.kind === "mem-drain" ? { bp: "e" } : {}) });
          break;
        case "mmio-read":
        case "mmio-write":
          push({
            ...base, name: `${e.kind === "mmio-read" ? "read" : "write"} ${registerName(e.name) ?? e.name}`, ph: "i", ts, s: "t", cat: e.kind,
            args: { cycle: e.ts, address: hex(e.a), value: hex(e.b), register: registerName(e.name) ?? e.name },
          });
          break;
        default:
          push({
            ...base, name: e.kind === "step" ? e.name : `${e.kind} ${e.name}`, ph: "i", ts,
            s: e.kind === "deadlock" || e.kind === "error" ? "g" : "t", cat: e.kind,
            args: { cycle: e.ts, a: e.a, b: e.b, ...(e.text ? { detail: e.text } : {}) },
          });
      }
    }
    for (const st of open.values()) {
      while (st.length > 0) {
        const b = st.pop()!;
        out.push({ pid: b.pid, tid: b.tid, name: b.name, ph: "E", ts: last, ...(b.cat !== undefined ? { cat: b.cat } : {}) });
      }
    }
    return { traceEvents: out, otherData: { hz: this.hz, clock: "cycles converted to microseconds at hz" } };
  }

  toChromeJson(only?: ReadonlySet<TraceKind>): string {
    return JSON.stringify(this.toChrome(only));
  }

  /** One readable line per event: "[cycle] thread: what happened". */
  narrative(opts: { steps?: boolean } = {}): string {
    const lines: string[] = [];
    for (const e of this.events) {
      if (e.kind === "step" && !opts.steps) continue;
      const who = this.threadNames[e.tid] ?? `thread${e.tid}`;
      lines.push(`[${e.ts}] ${who}: ${e.text || describe(e)}`);
    }
    return lines.join("\n");
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
