// A counterexample step by step: the story of a schedule (engine.ts `story`)
// with, after each of its lines, the state a reader of the seed thread
// follows: what each pCPU runs (its call stack, the vCPU loaded, whether it
// is in guest mode, the locks it holds and the one it spins on), each vCPU
// (where it runs, blocked in WFI, its inflight_irqs and lr_pending), every
// lock that is held or waited for, the list registers of each pCPU, and for
// each routed interrupt its pending_irq (status bits, LR, lists, rank
// target) beside the physical distributor's state. The web page draws it as
// a timeline; it is plain data (JSON-serialisable) so a worker can post it.

import { isOldVgic } from "../xen/design.ts";
import { decodeLr, LrState } from "../hw/regs.ts";
import { scheduleFromString } from "../sim/sched.ts";
import { checkedReplay } from "../io/schedule.ts";
import { misfitError } from "./replay.ts";
import { stackNames } from "../sim/lockdep.ts";
import type { Finding } from "../check/vgic.ts";
import { GIC_INVALID_LR } from "../xen/pending.ts";
import type { System } from "../xen/system.ts";
import type { NewVgic } from "../xen/new-vgic/vgic.ts";
import type { Scenario } from "../xen/scenarios.ts";
import { MAX_STEPS, STORY_KINDS, runOnce, story } from "./engine.ts";

export interface PcpuSnap {
  name: string;
  /** runnable, waiting (on a lock), idle (WFI), done */
  state: string;
  /** the simulated call stack, outermost first */
  stack: string[];
  /** the vCPU whose context is loaded */
  vcpu: string | null;
  inGuest: boolean;
  irqMasked: boolean;
  held: string[];
  spinsOn: string | null;
  /** list registers, "-" when invalid, else e.g. "v33 pending hw" */
  lrs: string[];
}

export interface VcpuSnap {
  name: string;
  pcpu: number;
  running: boolean;
  blocked: boolean;
  inflight: number[];
  lrPending: number[];
}

export interface LockSnap {
  name: string;
  holder: string | null;
  waiters: string[];
}

export interface IrqSnap {
  irq: number;
  /** pending_irq.status bits, e.g. "VISIBLE|ENABLED|MIGRATING", or "-" */
  status: string;
  /** the list register it is in (pending_irq.lr), or null */
  lr: number | null;
  /** vCPU whose inflight_irqs / lr_pending holds it */
  inflight: string | null;
  lrQueue: string | null;
  /** rank->vcpu: the vCPU the guest targeted */
  target: string;
  /** physical distributor: pending, active, ITARGETSR byte */
  physPending: boolean;
  physActive: boolean;
  physTargets: number;
}

export interface Snapshot {
  pcpus: PcpuSnap[];
  vcpus: VcpuSnap[];
  locks: LockSnap[];
  irqs: IrqSnap[];
}

export interface TimelineStep {
  /** the story line, numbered from 1 as `vgic explore` prints it */
  text: string;
  /** the thread that acted, or null for a finding */
  thread: string | null;
  /** cycle of the event, or null for a finding */
  ts: number | null;
  /** the state just after the line's event (for findings: at the end) */
  state: Snapshot;
}

export interface Timeline {
  scenario: string;
  variant: string;
  schedule: string;
  reason: string;
  findings: Finding[];
  traceHash: string;
  steps: TimelineStep[];
}

const LR_STATES = ["invalid", "pending", "active", "pending+active"];

function lrText(v: number): string {
  const lr = decodeLr(v);
  if (lr.state === LrState.Invalid) return "-";
  return `v${lr.virtualId} ${LR_STATES[lr.state]}${lr.hw ? ` hw p${lr.physicalId}` : ""}`;
}

/** The state of a system now. */
export function snapshot(sys: System): Snapshot {
  const { machine, vgic, gic } = sys;
  const locks = new Map<string, LockSnap>();
  const lock = (name: string) => {
    let l = locks.get(name);
    if (l === undefined) locks.set(name, l = { name, holder: null, waiters: [] });
    return l;
  };
  for (const t of machine.threads) {
    for (const l of t.heldLocks) lock(l.name).holder = t.name;
    if (t.waitingOn !== null) lock(t.waitingOn.name).waiters.push(t.name);
  }
  const pcpus = machine.cpus.map((c, i): PcpuSnap => ({
    name: c.name, state: c.threadState, stack: stackNames(c.stack), vcpu: vgic.pcpu[i]?.current?.name ?? null,
    inGuest: vgic.pcpu[i]?.inGuest ?? false, irqMasked: c.irqMasked, held: c.heldLocks.map((l) => l.name),
    spinsOn: c.waitingOn?.name ?? null,
    lrs: Array.from({ length: vgic.nr_lrs }, (_, n) => lrText(gic.listRegister(i, n))),
  }));
  // the new vGIC shows its ap_lists as the in-flight lists and its
  // vgic_irq state in the status column
  if (!isOldVgic(vgic)) return { pcpus, ...newVgicSnap(vgic as unknown as NewVgic, gic), locks: [...locks.values()].sort((a, b) => a.name.localeCompare(b.name)) };
  const vcpus = vgic.d.vcpu.map((v): VcpuSnap => ({
    name: v.name, pcpu: v.processor, running: v.is_running, blocked: v.blocked,
    inflight: v.inflight_irqs.items.map((p) => p.irq), lrPending: v.lr_pending.items.map((p) => p.irq),
  }));
  const vname = (o: { vcpu_id: number } | null) => (o === null ? null : vgic.d.vcpu[o.vcpu_id]?.name ?? `v${o.vcpu_id}`);
  const irqs = [...vgic.descs.keys()].sort((a, b) => a - b).map((irq): IrqSnap => {
    const v0 = vgic.d.vcpu[0]!;
    const p = vgic.d.irq_to_pending(v0, irq);
    const rank = vgic.d.rank_irq(v0, irq);
    return {
      irq, status: p.statusString(), lr: p.lr === GIC_INVALID_LR ? null : p.lr, inflight: vname(p.inflight), lrQueue: vname(p.lr_queue),
      target: vgic.d.vcpu[rank.target(irq & 31)]?.name ?? "?",
      physPending: gic.isPending(0, irq), physActive: gic.isActive(0, irq), physTargets: gic.targets(irq),
    };
  });
  return { pcpus, vcpus, locks: [...locks.values()].sort((a, b) => a.name.localeCompare(b.name)), irqs };
}

/** The new vGIC's vCPUs and routed interrupts: ap_list members as in
 *  flight, vgic_irq's state as the status, irq->vcpu as the list. */
function newVgicSnap(vgic: NewVgic, gic: System["gic"]): { vcpus: VcpuSnap[]; irqs: IrqSnap[] } {
  const vcpus = vgic.d.vcpu.map((v): VcpuSnap => ({
    name: v.name, pcpu: v.processor, running: v.is_running, blocked: v.blocked,
    inflight: vgic.vgic_cpu[v.vcpu_id]!.ap_list_head.map((i) => i.intid), lrPending: [],
  }));
  const irqs = [...vgic.descs.keys()].sort((a, b) => a - b).map((intid): IrqSnap => {
    const irq = vgic.vgic_get_irq(null, intid);
    return {
      irq: intid, status: irq.describe(), lr: null, inflight: irq.vcpu?.name ?? null, lrQueue: null,
      target: irq.target_vcpu?.name ?? "-",
      physPending: gic.isPending(0, intid), physActive: gic.isActive(0, intid), physTargets: gic.targets(intid),
    };
  });
  return { vcpus, irqs };
}

/** What a traced run gives the timeline. */
export interface TracedRun {
  sys: System;
  reason: string;
  findings: Finding[];
  traceHash: string;
}

/** Record the story of a traced run and the state after each of its lines.
 *  `run` builds the system with tracing on, calls `instrument` on it before
 *  it runs, and runs it. `closing` lines follow the story (a fuzz finding's
 *  violation) and show the final state. */
export function recordTimeline(meta: { scenario: string; variant: string; schedule: string },
  run: (instrument: (sys: System) => void) => TracedRun, closing: readonly string[] = []): Timeline {
  // The state after line k is the state just before line k+1's event. A
  // lock is recorded after it is taken, so that is the state when the event
  // before line k+1's was recorded (usually the step that resumed its
  // thread), unless line k's own event is that one. Snapshots are taken at
  // every event once the run starts and kept for story events only.
  const at = new Map<number, Snapshot>();
  const prev = new Map<number, Snapshot>();
  let last: Snapshot | null = null;
  const r = run((sys) => {
    const tr = sys.machine.trace;
    if (tr === null) throw new Error("timeline: the run is not traced");
    const add = tr.add.bind(tr);
    let started = false;
    tr.add = (...args: Parameters<typeof add>) => {
      const kind = args[2];
      started ||= kind === "step";
      if (started) {
        // the state as it will be once the store buffers drain (weak
        // memory): no pCPU's view, and no load of its own in the trace
        const mem = sys.machine.memory;
        const cpu = mem === null ? -1 : mem.cpu;
        if (mem !== null) mem.cpu = -1;
        const now = snapshot(sys);
        if (mem !== null) mem.cpu = cpu;
        if (STORY_KINDS.has(kind)) {
          at.set(tr.events.length, now);
          if (last !== null) prev.set(tr.events.length, last);
        }
        last = now;
      }
      add(...args);
    };
  });
  const end = snapshot(r.sys);
  const tr = r.sys.machine.trace!;
  const lines = [...story(r, r.findings), ...closing.map((text) => ({ text, event: null }))];
  return {
    ...meta, reason: r.reason, findings: r.findings, traceHash: r.traceHash,
    steps: lines.map((l, i) => {
      const e = l.event === null ? null : tr.events[l.event]!;
      const next = lines[i + 1]?.event ?? null;
      const state = l.event === null || next === null ? end : (next - 1 > l.event ? prev.get(next) : at.get(next)) ?? end;
      return {
        text: `${String(i + 1).padStart(3)}. ${l.text}`,
        thread: e === null ? null : tr.threadNames[e.tid] ?? `thread${e.tid}`,
        ts: e === null ? null : e.ts,
        state,
      };
    }),
  };
}

/** Replay `schedule` of a scenario with tracing and record the state after
 *  every line of its story. A schedule that does not fit the run (cut
 *  short, a thread that cannot run, decisions left over) is refused as
 *  `vgic explore --replay` refuses it (ReplayFileError). */
export function timeline(scenario: Scenario, variant: string, schedule: string): Timeline {
  return recordTimeline({ scenario: scenario.name, variant, schedule }, (instrument) => {
    const replay = checkedReplay(scheduleFromString(schedule, MAX_STEPS));
    const { run, r, findings } = runOnce(scenario, variant, replay.scheduler, true, undefined, (run) => instrument(run.sys));
    const misfit = replay.misfit(r.schedule.picks.length, r.reason === "done" || r.reason === "deadlock");
    if (misfit !== null) throw misfitError(scenario.name, variant, misfit);
    return { sys: run.sys, reason: r.reason, findings, traceHash: r.traceHash! };
  });
}
