// Streamed traces (`vgic run --trace`): the same document as the in-memory
// export, the same hash, nothing kept; interrupt instances as flow arrows;
// list-register and lr_pending counters; files complete or absent.
import { describe, expect, it } from "vitest";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runWorkload } from "../host/workload/runner.ts";
import { runCommand, type CommandIo } from "../host/workload/command.ts";
import { IRQ_FLOW_BASE, Trace, traceKindsOf, type ChromeEvent, type TraceKind } from "../host/sim/trace.ts";
import { StreamFile } from "../host/io/files.ts";
import { workload } from "./workload-helpers.ts";

const SHORT = 600_000;
/** Ends past the first boot chunk (1M cycles): the last windows run one by one. */
const WINDOWED = 1_200_000;

function io(): CommandIo & { stdout: string; stderr: string } {
  const o = { stdout: "", stderr: "", tty: false, out(s: string) { o.stdout += s; }, err(s: string) { o.stderr += s; } };
  return o;
}

/** One run streamed to a string; the text's length at each progress window. */
function streamed(name: string, only?: ReadonlySet<TraceKind>) {
  let text = "";
  const sizes: number[] = [];
  const out = runWorkload(workload(name), {
    variant: "xen-4.9", duration: WINDOWED, traceTo: { write: (s) => { text += s; }, only },
    onProgress: () => sizes.push(text.length),
  });
  return { out, text, sizes };
}

describe("a streamed trace", () => {
  it("parses to the in-memory export of the same run, hashes the same, and keeps no events while it runs", () => {
    const mem = runWorkload(workload("net-storm"), { variant: "xen-4.9", duration: WINDOWED, trace: true });
    const { out, text, sizes } = streamed("net-storm");
    const tr = out.sys.machine.trace!;
    expect(JSON.parse(text)).toEqual(mem.sys.machine.trace!.toChrome());
    expect(tr.hash()).toBe(mem.sys.machine.trace!.hash());
    // nothing kept: the events went to the writer as they were recorded,
    // the file growing window by window
    expect(tr.events).toHaveLength(0);
    expect(tr.count).toBe(mem.sys.machine.trace!.events.length);
    expect(sizes.length).toBeGreaterThan(50);
    expect(sizes[0]!).toBeGreaterThan(0);
    let grew = 0;
    for (let i = 1; i < sizes.length; i++) {
      expect(sizes[i]!, `window ${i}`).toBeGreaterThanOrEqual(sizes[i - 1]!);
      if (sizes[i]! > sizes[i - 1]!) grew++;
    }
    expect(grew).toBeGreaterThan(10);
    expect(text.length).toBeGreaterThan(sizes.at(-1)!);
    expect(() => tr.toChrome()).toThrow(/streamed trace keeps no events/);
    // the same with --trace-events
    const only = traceKindsOf("guest,flow,counter");
    expect(JSON.parse(streamed("net-storm", only).text)).toEqual(mem.sys.machine.trace!.toChrome(only));
  });

  it("leaves flows and counters out of the hash: a trace without them hashes the same", () => {
    const { sys } = runWorkload(workload("lr-overflow"), { variant: "xen-4.8", duration: SHORT, trace: true });
    const tr = sys.machine.trace!;
    const kinds = new Set(tr.events.map((e) => e.kind));
    expect(kinds.has("irq-flow") && kinds.has("counter")).toBe(true);
    const bare = new Trace(tr.hz);
    for (const e of tr.events) if (e.kind !== "irq-flow" && e.kind !== "counter") bare.add(e.ts, e.tid, e.kind, e.name, e.a, e.b, e.text);
    expect(bare.hash()).toBe(tr.hash());
    // the narrative tells what the run did, not the bookkeeping
    bare.threadNames = tr.threadNames;
    expect(tr.narrative()).toBe(bare.narrative());
  });
});

describe("interrupt instances as flow arrows", () => {
  it("each delivered instance goes raise -> injection on a pCPU -> acknowledge and EOI on its vCPU's track, in time order", () => {
    const { result, sys } = runWorkload(workload("net-storm"), { variant: "xen-4.9", duration: SHORT, trace: true });
    const ev = sys.machine.trace!.toChrome().traceEvents;
    const pcpus = sys.machine.cpus.length;
    const flows = new Map<number, ChromeEvent[]>();
    for (const e of ev) {
      if (e.cat !== "irq-flow" || e.ph === "X") continue;
      expect(e.id!).toBeGreaterThanOrEqual(IRQ_FLOW_BASE);
      flows.set(e.id!, [...(flows.get(e.id!) ?? []), e]);
    }
    // weak-memory store flows keep their own category and ids
    expect(ev.filter((e) => e.cat === "memory" && e.id !== undefined && e.id >= IRQ_FLOW_BASE)).toEqual([]);
    // the guest's acknowledgements: the virtual IRQ instants (a GICV_IAR read)
    const virqs = new Set(ev.filter((e) => e.name.startsWith("vIRQ ")).map((e) => `${e.tid}:${e.ts}:${e.name.slice(5)}`));
    let complete = 0, acks = 0;
    for (const [id, f] of flows) {
      const irq = f[0]!.name;
      for (const x of f) expect(x.name, `flow ${id}`).toBe(irq);
      expect(f[0]!.ph).toBe("s");
      for (let i = 1; i < f.length; i++) expect(f[i]!.ts).toBeGreaterThanOrEqual(f[i - 1]!.ts);
      if (f.length < 2) continue;
      // the injection runs in the hypervisor on a pCPU
      expect(f[1]).toMatchObject({ ph: "t", pid: 0 });
      expect(f[1]!.tid).toBeLessThan(pcpus);
      if (f.length < 3) continue;
      acks++;
      expect(f[2]).toMatchObject({ ph: "t", pid: 1 });
      expect(virqs.has(`${f[2]!.tid}:${f[2]!.ts}:${irq.slice(4)}`), `flow ${id}: ack at a vIRQ ${irq} of vCPU${f[2]!.tid}`).toBe(true);
      if (f.length < 4) continue;
      expect(f[3]).toMatchObject({ ph: "f", bp: "e", pid: 1, tid: f[2]!.tid });
      expect(f).toHaveLength(4);
      complete++;
    }
    // every delivery is one acknowledged instance; all but those still in
    // a handler at the end completed
    expect(acks).toBe(result.interrupts.delivered);
    expect(complete).toBeGreaterThan(acks - 4);
    // each flow event sits on a zero-length marker slice it binds to
    const markers = new Set(ev.filter((e) => e.cat === "irq-flow" && e.ph === "X").map((e) => `${e.pid}:${e.tid}:${e.ts}:${e.args!.instance}`));
    for (const [id, f] of flows) for (const x of f) expect(markers.has(`${x.pid}:${x.tid}:${x.ts}:${id - IRQ_FLOW_BASE}`)).toBe(true);
  });
});

describe("counter tracks", () => {
  it("list registers in use per pCPU and lr_pending depth per vCPU follow Xen's lr_mask and lr_pending", () => {
    const { sys } = runWorkload(workload("lr-overflow"), { variant: "xen-4.8", duration: SHORT, trace: true });
    const ev = sys.machine.trace!.toChrome().traceEvents.filter((e) => e.ph === "C");
    const nr = sys.vgic.nr_lrs;
    const last = new Map<string, number>();
    let rises = 0;
    for (const e of ev) {
      const v = (e.args!["in use"] ?? e.args!.depth) as number;
      expect(v).toBeGreaterThanOrEqual(0);
      const before = last.get(e.name);
      // emitted when it changes
      expect(v, e.name).not.toBe(before ?? (e.name.endsWith("LRs") ? 0 : undefined));
      if (e.name.endsWith("LRs")) expect(v).toBeLessThanOrEqual(nr);
      else if (v > (before ?? 0)) {
        expect(v).toBe((before ?? 0) + 1);
        rises++;
      }
      last.set(e.name, v);
    }
    // lr-overflow fills the list registers and queues the rest
    expect([...last.keys()].filter((k) => k.endsWith("LRs"))).not.toHaveLength(0);
    expect(Math.max(...ev.filter((e) => e.name.endsWith("LRs")).map((e) => e.args!["in use"] as number))).toBe(nr);
    // each gic_add_to_lr_pending is one rise of a vCPU's depth
    expect(rises).toBe(sys.vgic.stats.lrPendingAdds);
    expect(rises).toBeGreaterThan(0);
    // and where the run stopped, the counters are what Xen's state says
    const old = sys.vgic as unknown as { pcpu: Array<{ lr_mask: Uint8Array }>; d: { vcpu: Array<{ vcpu_id: number; lr_pending: { length: number } }> } };
    old.pcpu.forEach((pc, p) => expect(last.get(`pCPU${p} LRs`) ?? 0, `pCPU${p}`).toBe(pc.lr_mask.reduce((a, b) => a + b, 0)));
    for (const v of old.d.vcpu) expect(last.get(`vCPU${v.vcpu_id} lr_pending`) ?? 0).toBe(v.lr_pending.length);
  });
});

describe("vgic run --trace writes a complete file or none", () => {
  it("a file written piece by piece appears only when committed; an aborted one leaves the old file and no temporary", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-trace-"));
    const file = join(dir, "t.json");
    writeFileSync(file, "old");
    const s = new StreamFile(file);
    for (let i = 0; i < 100_000; i++) s.write(`${i},`);
    expect(readFileSync(file, "utf8")).toBe("old");
    s.abort();
    expect(readFileSync(file, "utf8")).toBe("old");
    expect(readdirSync(dir)).toEqual(["t.json"]);
    const t = new StreamFile(file);
    t.write("[1,");
    t.write("2]");
    t.commit();
    expect(JSON.parse(readFileSync(file, "utf8"))).toEqual([1, 2]);
    expect(readdirSync(dir)).toEqual(["t.json"]);
  });

  it("a trace that cannot be written fails that variant with exit 3, naming the file; the result is not lost", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-trace-"));
    const wfile = join(dir, "w.json");
    writeFileSync(wfile, JSON.stringify({ ...workload("lr-overflow"), duration: 300_000 }));
    const t = io();
    expect(await runCommand([wfile, "--variant", "xen-4.9", "--trace", "/dev/full", "--report", join(dir, "r.html")], t)).toBe(3);
    expect(t.stderr).toMatch(/xen-4\.9: cannot write \/dev\/full \(ENOSPC\)/);
    // the run's result went to the report before the trace failed
    expect(readFileSync(join(dir, "r.html"), "utf8")).toMatch(/xen-4\.9/);
  });
});
