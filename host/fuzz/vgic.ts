// The `vgic` target: a guest under one of the seed's vGIC designs issues
// trapped distributor accesses (ITARGETSR bytes that move SPIs between
// vCPUs, enables, priorities, configuration, pending writes Xen refuses,
// SGIR with every filter, bad offsets and widths) and virtual CPU interface
// accesses, while devices raise edge SPIs, on the deterministic machine with
// its `random` or `pct` scheduler choosing the interleaving.
//
// A case is a configuration plus a list of operations, each tagged with the
// vCPU that runs it (or `dev` for the device thread). The operations of one
// vCPU form its guest program, in list order; all programs and the device
// run concurrently, so the invariants are checked once the machine is
// quiescent (every pCPU idle), and a deadlock or a host exception ends the
// case at once. Each case records the scheduler's decisions, so a finding
// replays exactly with Sched.replay, and also from its scheduler seed.

import { isOldVgic } from "../xen/design.ts";
import type { Co } from "../sim/api.ts";
import type { RunResult, Thread } from "../sim/machine.ts";
import { Sched, type Schedule, type Scheduler } from "../sim/sched.ts";
import { checkedReplay } from "../io/schedule.ts";
import type { Rng } from "../sim/rng.ts";
import { GICD, GICV, LrState, decodeLr } from "../hw/regs.ts";
import { GIC_LATENCY_MAX } from "../hw/gic.ts";
import type { GuestCpu } from "../guest/guest.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { VgicObserver } from "../xen/vgic.ts";
import { buildSystem, type System } from "../xen/system.ts";
import { guestCpuInterfaces, guestIrq } from "../xen/setup.ts";
import { gicdRowName } from "../xen/vgic-v2.ts";
import { allVariants } from "../xen/variants.ts";
import { GIC_IRQ_GUEST_QUEUED } from "../xen/pending.ts";
import { Accounting } from "../workload/accounting.ts";
import { spiKey } from "../guest/devices.ts";
import { checkRun, checkVgic, exceptionSite, strandedActive, unscheduledAtEnd, type Finding as VgicFinding } from "../check/vgic.ts";
import { pendingNotTaken } from "../check/distributor.ts";
import { SgiOracle } from "../check/sgi.ts";
import { AffinityLog, checkAffinity } from "../check/affinity.ts";
import { SWITCH_FEATURE, SwitchChecker } from "../check/vgic-switch.ts";
import { makeSignature, signatureOf } from "./signature.ts";
import { VGIC_FAULTS, plantDesignFaults } from "./vgic-faults.ts";
import { Coverage, FindingError, onlyFields, type FuzzSession, type FuzzTarget, type SessionOptions, type Violation } from "./target.ts";

// ---- configuration

export interface VgicSpi {
  irq: number;
  /** initial target vCPU */
  target: number;
  priority: number;
  /** initially enabled by the guest */
  enabled: boolean;
}

export interface VgicSchedConfig {
  kind: "random" | "pct";
  seed: number;
  /** pct only: bug depth */
  depth?: number;
}

export interface VgicConfig {
  variant: string;
  pcpus: number;
  /** vCPU -> pCPU (pinned) */
  placement: number[];
  listRegisters: number;
  /** routed edge SPIs, with the guest's initial set-up */
  spis: VgicSpi[];
  sched: VgicSchedConfig;
  /** machine steps before the case is declared not quiescent */
  maxSteps: number;
  /** cycles a vCPU runs before another runnable one on its pCPU gets a turn
   *  (the hypervisor's default when absent) */
  timeSlice?: number;
  /** cycles from a GIC line change to the pCPUs seeing it (GicConfig
   *  propagationDelay; none when absent) */
  gicLatency?: number;
}

export { GIC_LATENCY_MAX };

const variantNames = () => allVariants().map((v) => v.name);
const DEFAULT_MAX_STEPS = 50_000;
/** The most steps a finding file may ask for (20 times the default), so
 *  that a livelocking case ends with no-quiescence instead of running on. */
export const MAX_STEPS_LIMIT = 1_000_000;
/** PCT's estimate of a case's length in steps */
const PCT_STEPS = 3000;

// ---- operations

/** A GICV flow: acknowledge and EOI (correct), a wrong access, or a new
 *  priority mask (`value`), which makes vCPUs' GICH_VMCR differ. */
export type GicvKind = "ack-eoi" | "ack-only" | "eoi-spurious" | "dir" | "eoi-unacked" | "pmr";

export type VgicOp =
  | { v: number; t: "w"; off: number; size: 1 | 2 | 4; value: number }
  | { v: number; t: "r"; off: number; size: 1 | 2 | 4 }
  | { v: number; t: "gicv"; kind: GicvKind; irq?: number; value?: number }
  | { v: number; t: "work"; cycles: number }
  | { v: number; t: "wfi" }
  | { v: "dev"; t: "raise"; irq: number; gap: number };

const GICV_KINDS: readonly GicvKind[] = ["ack-eoi", "ack-only", "eoi-spurious", "dir", "eoi-unacked", "pmr"];
/** GICV_PMR values that mask none of the generated priorities (at most 0xc0) */
const PMR_VALUES = [0xf8, 0xf0, 0xe8, 0xd8];

/** Widths the GICv2 architecture allows for a distributor offset (IHI 0048B
 *  4.1.4 and the register descriptions): byte-accessible registers are
 *  IPRIORITYR, ITARGETSR, CPENDSGIR and SPENDSGIR; everything else is
 *  word-accessible only. A legal access must never crash the domain. */
export function legalGicdAccess(off: number, size: number): boolean {
  if ((off & (size - 1)) !== 0) return false;
  if (size === 4) return true;
  if (size === 1) {
    return (off >= GICD.IPRIORITYR && off < GICD.IPRIORITYR + 0x400) || (off >= GICD.ITARGETSR && off < GICD.ITARGETSR + 0x400) ||
      (off >= GICD.CPENDSGIR && off < GICD.SPENDSGIR + 0x10);
  }
  return false;
}

function describe(op: VgicOp): string {
  switch (op.t) {
    case "w": return `v${op.v} write GICD ${gicdRowName(op.off)}+0x${(op.off & 0xfff).toString(16)}/${op.size} = 0x${(op.value >>> 0).toString(16)}`;
    case "r": return `v${op.v} read GICD ${gicdRowName(op.off)}+0x${(op.off & 0xfff).toString(16)}/${op.size}`;
    case "gicv": return `v${op.v} GICV ${op.kind}${op.irq !== undefined ? ` ${op.irq}` : ""}${op.value !== undefined ? ` 0x${op.value.toString(16)}` : ""}`;
    case "work": return `v${op.v} work ${op.cycles}`;
    case "wfi": return `v${op.v} wfi`;
    case "raise": return `device raises SPI ${op.irq} (after ${op.gap} points)`;
  }
}

// ---- the session

/** Order in which simultaneous findings are reported (the first wins). */
const PRIORITY = ["crash", "switch-restore", "maintenance-enables", "list-race", "deadlock", "lock-inversion", "lockdep", "lr-mismatch", "lr-contents", "list-order", "domain-crash", "lost", "duplicate", "stuck-active", "stuck-migrating", "affinity", "stalled", "livelock", "no-quiescence"];
const MESSAGE_LIMIT = 600;

export interface VgicViolation extends Violation {
  /** the scheduler decisions of the run */
  schedule?: Schedule;
}

interface Outcome {
  violations: VgicViolation[];
  run: RunResult | null;
  sys: System | null;
}

export interface RunOptions {
  schedule?: Schedule;
  /** planted changes to the design (tests only, ./vgic-faults.ts) */
  faults?: readonly string[];
  trace?: boolean;
  coverage?: Coverage;
  /** sees the system once it is set up, before it runs */
  built?: (sys: System) => void;
}

function schedulerOf(c: VgicSchedConfig): Scheduler {
  return c.kind === "pct" ? Sched.pct(c.depth ?? 2, c.seed, { steps: PCT_STEPS }) : Sched.random(c.seed);
}

/** What a case's guest programs share: how many accesses of a width the
 *  architecture does not allow they issued. (Not the system: the programs
 *  reach the vGIC through their GuestCpu.) */
interface CaseRun {
  illegalIssued: number;
  /** what the guests' GICD_SGIR writes sent, judged at quiescence */
  sgi: SgiOracle;
  /** vCPU * 1024 + interrupt acknowledged by an `ack-only` (never EOI'd) */
  kept: Set<number>;
}

/** One vCPU's operations of a case. A generator function of this module
 *  rather than one made per case: a generator function created at run time
 *  gets a hidden class of its own in V8's old space, which keeps it (and the
 *  system its context reaches) alive through young collections. */
function* guestOps(g: GuestCpu, list: readonly VgicOp[], cs: CaseRun): Co {
  for (const op of list) {
    switch (op.t) {
      case "w":
      case "r": {
        const legal = legalGicdAccess(op.off, op.size);
        if (!legal) cs.illegalIssued++;
        const sgir = op.t === "w" && legal && op.off === GICD.SGIR;
        if (sgir) cs.sgi.writing(g.v.vcpu_id, op.value);
        if (op.t === "w") yield* g.writeDist(op.off, op.value, op.size);
        else yield* g.readDist(op.off, op.size);
        if (sgir) cs.sgi.written(g.v.vcpu_id);
        // bad_width crashes the domain: this vCPU's script ends there
        if (!legal) return;
        break;
      }
      case "gicv": {
        if (op.kind === "ack-eoi" || op.kind === "ack-only") {
          const iar = g.readCpu(GICV.IAR);
          const irq = iar & 0x3ff;
          if (irq < 1020) {
            g.hyp.vgic.observer.delivered?.(irq, g.v, g.ctx.clock);
            if (op.kind === "ack-eoi") {
              g.handling = irq;
              yield g.ctx.machine.pointFor("guest iar");
              g.complete(iar, irq);
            } else {
              cs.kept.add(g.v.vcpu_id * 1024 + irq);
            }
          }
        } else if (op.kind === "pmr") {
          g.writeCpu(GICV.PMR, op.value ?? 0xf8);
        } else if (op.kind === "eoi-spurious") {
          g.writeCpu(GICV.EOIR, 1023);
        } else if (op.kind === "dir") {
          // GICV_DIR with EOImode 0: the architecture ignores it
          g.writeCpu(GICV.DIR, op.irq ?? 1023);
        } else {
          // EOI of an interrupt the guest did not acknowledge: with none
          // active, the write has no effect
          g.writeCpu(GICV.EOIR, op.irq ?? 32);
        }
        yield g.ctx.machine.pointFor("guest gicv");
        break;
      }
      case "work": yield* g.work(op.cycles); break;
      case "wfi": yield* g.wfi(); break;
    }
  }
}

/** The case's device: raises its edges, each after its gap. */
function* deviceOps(t: Thread, dev: ReadonlyArray<Extract<VgicOp, { t: "raise" }>>): Co {
  for (const op of dev) {
    for (let k = 0; k < op.gap; k++) yield t.machine.pointFor("device gap");
    yield t.machine.pointFor(`raise irq${op.irq}`);
    t.setLine(op.irq, 1);
    t.setLine(op.irq, 0);
  }
}

/** A case's vGIC observer: instances in flight, and the context-switch
 *  checker's points. A class rather than closures made in runVgicCase,
 *  whose scope holds the system: an observer closing over the system it
 *  observes kept each case's system alive through young collections.
 *  Instances are counted per accounting key, the workload accounting's
 *  (Accounting.keyOf: an SPI by its number, a routed SPI having one target
 *  at a time; an SGI or a PPI per interrupt and vCPU). Each guest handler
 *  entry takes an instance the vGIC injected and nobody delivered yet
 *  (`inFlight`), else it is a duplicate, counted apart (`dups`), which
 *  hides no lost instance. judgeAccounting judges the routed SPIs' and the
 *  SGI oracle the SGIs' (../check/sgi.ts): in front of this observer, it
 *  passes an SGI injection on as a new instance only when a GICD_SGIR
 *  write (once per target) or the guest's own pending write made it. */
class CaseObserver implements VgicObserver {
  /** per accounting key: instances injected and not yet delivered */
  readonly inFlight = new Map<number, number>();
  /** per accounting key: handler entries and merges with none in flight */
  readonly dups = new Map<number, { n: number; vcpu: number }>();
  constructor(private readonly acks: Map<number, number>, private readonly softPended: Map<number, number>,
    private readonly deliveries: Map<number, number>, private readonly drops: Map<number, number>,
    private readonly switches: SwitchChecker | null, private readonly cleared: Map<number, number>) {}
  physicalAck(irq: number): void { bump(this.acks, irq); }
  injecting(irq: number, v: Vcpu, merges: boolean): void { if (!merges) bump(this.inFlight, Accounting.keyOf(irq, v)); }
  // two injected instances became one, or (fewer in flight) an injected
  // one merged into a list register holding an instance nobody injected
  merged(irq: number, v: Vcpu): void {
    const key = Accounting.keyOf(irq, v);
    if ((this.inFlight.get(key) ?? 0) >= 2) this.retire(key);
    else this.duplicate(key, v);
  }
  withdrawn(irq: number, v: Vcpu): void { this.retire(Accounting.keyOf(irq, v)); }
  // a design that emulates GICD_ISPENDR (the new vGIC) makes the interrupt
  // pending without a physical acknowledge: such instances may reach the
  // guest on top of the acknowledged ones
  guestPended(irq: number): void { bump(this.softPended, irq); }
  // ... and withdraws one through GICD_ICPENDR: the guest's own choice
  guestCleared(irq: number, v: Vcpu): void { bump(this.cleared, irq); this.retire(Accounting.keyOf(irq, v)); }
  delivered(irq: number, v: Vcpu): void {
    const key = Accounting.keyOf(irq, v);
    if (this.retire(key)) bump(this.deliveries, irq);
    else this.duplicate(key, v);
  }
  private duplicate(key: number, v: Vcpu): void {
    const d = this.dups.get(key);
    if (d === undefined) this.dups.set(key, { n: 1, vcpu: v.vcpu_id });
    else d.n++;
  }
  dropped(irq: number, v: Vcpu, _reason: string, _cycle: number, injected: boolean): void {
    bump(this.drops, irq);
    if (injected) this.retire(Accounting.keyOf(irq, v));
  }
  /** One injected instance of `key` is in flight no more; false when none was. */
  private retire(key: number): boolean {
    const n = this.inFlight.get(key) ?? 0;
    if (n === 0) return false;
    this.inFlight.set(key, n - 1);
    return true;
  }
  switchingOut(v: Vcpu, pcpu: number): void { this.switches?.switchingOut(v, pcpu); }
  switchedIn(v: Vcpu, pcpu: number): void { this.switches?.switchedIn(v, pcpu); }
  clearedLrs(v: Vcpu, pcpu: number): void { this.switches?.clearedLrs(v, pcpu); }
  enteringGuest(pcpu: number): void { this.switches?.enteringGuest(pcpu); }
}

/** The context-switch checker's coverage hook, a closure over the coverage
 *  alone. One made in runVgicCase shares that call's context, which holds
 *  the case's system: with it every case's system survived young
 *  collections and was promoted (about 37 KB a case, 97 MB in a 3000-case
 *  xen-4.9 campaign; tests/gc-retention.test.ts). */
function coverageHook(cov: Coverage): (feature: number) => void {
  return (f) => cov.hit(f);
}

function bump(m: Map<number, number>, k: number): void { m.set(k, (m.get(k) ?? 0) + 1); }

/** Build the system for a case, run it to quiescence and judge it. */
export function runVgicCase(config: VgicConfig, ops: readonly VgicOp[], o: RunOptions = {}): Outcome {
  const nv = config.placement.length;
  const perVcpu: VgicOp[][] = Array.from({ length: nv }, () => []);
  const dev: Array<Extract<VgicOp, { t: "raise" }>> = [];
  for (const op of ops) {
    if (op.t === "raise") dev.push(op);
    else if (op.v < nv) perVcpu[op.v]!.push(op);
  }
  const routed = config.spis.map((s) => s.irq);
  const acks = new Map<number, number>();
  const delivered = new Map<number, number>();
  /** instances the guest itself made pending through GICD_ISPENDR */
  const softPended = new Map<number, number>();
  const droppedBy = new Map<number, number>();
  const replay = o.schedule ? checkedReplay(o.schedule) : null;
  const cs: CaseRun = { illegalIssued: 0, sgi: new SgiOracle(nv), kept: new Set() };
  const program = (list: VgicOp[]) => (g: GuestCpu) => guestOps(g, list, cs);
  const s = buildSystem({
    variant: config.variant,
    pcpus: config.pcpus,
    placement: config.placement,
    listRegisters: config.listRegisters,
    routed: config.spis.map((s) => ({ irq: s.irq, edge: true })),
    programs: perVcpu.map(program),
    scheduler: replay?.scheduler ?? schedulerOf(config.sched),
    instantBoot: true,
    trace: o.trace ?? false,
    ...(config.timeSlice !== undefined ? { timeSlice: config.timeSlice } : {}),
    ...(config.gicLatency !== undefined ? { gic: { propagationDelay: config.gicLatency } } : {}),
  });
  guestCpuInterfaces(s);
  for (const spi of config.spis) guestIrq(s, { irq: spi.irq, target: spi.target, priority: spi.priority, enabled: spi.enabled });
  // The context-switch checker is the original vGIC's (its lr_mask,
  // lr_pending and gic_inject's UIE rule); the new vGIC's state is checked
  // by checkVgic. Each planted fault belongs to one family.
  const original = isOldVgic(s.vgic) ? s.vgic : null;
  // the affinity log sees only the irq_set_affinity calls a fault lets through
  const affinity = new AffinityLog();
  affinity.attach(s.vgic);
  plantDesignFaults(s.vgic, s.gic, o.faults ?? []);
  const switches = original !== null ? new SwitchChecker(original, s.gic) : null;
  const cov = o.coverage;
  if (cov && switches !== null) switches.hit = coverageHook(cov);
  const cleared = new Map<number, number>();
  const observer = new CaseObserver(acks, softPended, delivered, droppedBy, switches, cleared);
  s.vgic.observer = observer;
  cs.sgi.attach(s.vgic);
  if (dev.length > 0) {
    s.machine.spawnThread("device", (t: Thread) => deviceOps(t, dev));
  }
  o.built?.(s);
  let r: RunResult;
  try {
    r = s.machine.run({ maxSteps: config.maxSteps });
  } catch (e) {
    return { violations: [hostException("host exception", e)], run: null, sys: s };
  }
  // A recorded schedule that does not fit the case (cut short, a thread that
  // is not runnable, decisions left over) is a bad file, not a finding.
  const misfit = replay?.misfit(r.schedule.picks.length, r.reason === "done") ?? null;
  if (misfit !== null) throw new FindingError("schedule", `${o.schedule!.picks.length} decisions`, `the decisions of this case's run (${misfit})`);
  const out: VgicViolation[] = [];
  const add = (f: VgicFinding | VgicViolation) => {
    if (!("kind" in f)) { out.push(f); return; }
    if (f.kind === "dropped") return; // an explicit drop by design is allowed by itself
    const inv = f.kind === "error" ? "crash" : f.kind;
    // an interrupt the design dropped on purpose and that nobody deactivates
    // is lost by the drop, not by a race
    const path = f.kind === "stuck-active" && f.irq !== undefined && (droppedBy.get(f.irq) ?? 0) > 0 ? "dropped-by-design" : f.path;
    out.push({ invariant: inv, message: f.message, signature: makeSignature(inv, path, f.where) });
  };
  // lock findings are named by their lock classes (the checks' path), so
  // that two different inversions of one design are two findings
  for (const v of switches?.violations ?? []) add(v);
  for (const f of checkRun(r)) {
    if (f.kind === "deadlock" || f.kind === "lock-inversion") add({ invariant: `${f.kind}-${f.path}`, message: f.message });
    else if (f.kind === "lockdep") add({ invariant: `lockdep-${f.path!.split(":")[0]}`, message: f.message });
    else add(f);
  }
  if (r.reason === "done") {
    try {
      for (const f of checkVgic(s.vgic, s.gic)) add(f);
      for (const f of unscheduledAtEnd(s.vgic)) add(f);
      for (const f of cs.sgi.judge(s.vgic, s.gic, observer.dups)) add(f);
      for (const f of strandedActive(s.vgic, s.gic, (v, irq) => s.hyp.guests[v]!.handling === irq || cs.kept.has(v * 1024 + irq))) add(f);
      for (const f of checkAffinity(s.vgic, s.gic, affinity)) add(f);
      judgeAccounting(s, routed, acks, delivered, droppedBy, add, softPended, cleared, observer.dups, observer.inFlight);
    } catch (e) {
      add(hostException("final check", e));
    }
    if (s.vgic.stats.domainCrashes > cs.illegalIssued) {
      add({ invariant: "domain-crash", message: `the domain was crashed ${s.vgic.stats.domainCrashes} times for ${cs.illegalIssued} accesses of a width the architecture does not allow: a legal access crashed it` });
    }
  } else if (r.reason === "maxSteps") {
    add({ invariant: "no-quiescence", message: `the machine did not become quiescent within ${config.maxSteps} steps` });
  }
  if (o.coverage) cover(o.coverage, config, s, r, out);
  return { violations: out, run: r, sys: s };
}

/** Every physical interrupt the hypervisor acknowledged was delivered to a
 *  guest handler, dropped explicitly, or is still waiting (QUEUED on a list,
 *  or pending in a list register); no handler entry of a routed SPI was a
 *  duplicate (one with no injected instance in flight; the SGI oracle
 *  judges the SGIs'); every raised edge still pending in the distributor
 *  for an SPI the guest enabled is taken. `delivered` counts the handler
 *  entries that took an injected instance. */
function judgeAccounting(s: System, routed: readonly number[], acks: Map<number, number>, delivered: Map<number, number>,
  dropped: Map<number, number>, add: (v: VgicViolation | VgicFinding) => void, softPended: ReadonlyMap<number, number>,
  cleared: ReadonlyMap<number, number>, dups: ReadonlyMap<number, { n: number; vcpu: number }>,
  inFlight: ReadonlyMap<number, number>): void {
  const { vgic, gic } = s;
  const lrs: Array<{ irq: number; state: number }> = [];
  vgic.pcpu.forEach((pc, cpu) => {
    if (pc.current === null) return;
    for (let i = 0; i < vgic.nr_lrs; i++) {
      const lr = decodeLr(gic.listRegister(cpu, i));
      lrs.push({ irq: lr.virtualId, state: lr.state });
    }
  });
  for (const v of vgic.d.vcpu) for (const value of v.saved?.lrs ?? []) {
    const lr = decodeLr(value);
    lrs.push({ irq: lr.virtualId, state: lr.state });
  }
  for (const irq of routed) {
    const a = acks.get(irq) ?? 0;
    const dl = delivered.get(irq) ?? 0;
    const dr = dropped.get(irq) ?? 0;
    const p = isOldVgic(vgic) ? vgic.d.spi_to_pending(irq) : null;
    // one waiting for the guest counts when it is an injected instance,
    // not one the design made pending again after its delivery
    const waiting = ((p !== null ? p.test_bit(GIC_IRQ_GUEST_QUEUED) && (p.inflight !== null || p.lr_queue !== null) : vgic.virtualPending(gic, irq) === 1) ||
      lrs.some((l) => l.irq === irq && (l.state & LrState.Pending) !== 0)) && (inFlight.get(spiKey(irq)) ?? 0) > 0;
    // an instance the guest withdrew (GICD_ICPENDR on the new vGIC, as Xen
    // 4.11's vgic_mmio_write_cpending clears the latch) is not lost
    const cl = cleared.get(irq) ?? 0;
    const unaccounted = a - dl - dr - cl - (waiting ? 1 : 0);
    if (unaccounted > 0) {
      add({ invariant: "lost", signature: "lost:acked-not-handled", message: `IRQ ${irq}: the hypervisor acknowledged it ${a} times, the guest handled it ${dl} times, ${dr} dropped by design, ${cl > 0 ? `${cl} withdrawn by the guest, ` : ""}${waiting ? "one still waiting" : "none waiting"}: ${unaccounted} silently lost` });
    }
    const dup = dups.get(spiKey(irq));
    if (dup !== undefined) {
      const sp = softPended.get(irq) ?? 0;
      add({ invariant: "duplicate", message: `IRQ ${irq}: ${dup.n} time(s) (the first on vCPU${dup.vcpu}) the guest handled it, or an injection merged into its list register, with no injected instance in flight; it handled ${dl} injected instances, the hypervisor acknowledged it ${a} times${sp > 0 ? ` and the guest pended it ${sp} times` : ""}` });
    }
    for (const f of pendingNotTaken(vgic, gic, [irq])) add(f);
  }
}

/** A host exception as a `crash` violation, signed by where it was thrown. */
function hostException(what: string, e: unknown): VgicViolation {
  const message = e instanceof Error ? e.message : String(e);
  const site = exceptionSite(message, e instanceof Error ? e.stack : undefined);
  return { invariant: "crash", message: `${what}: ${message}`, signature: makeSignature("crash", site.path, site.where) };
}

function cover(cov: Coverage, config: VgicConfig, s: System, r: RunResult, out: VgicViolation[]): void {
  const vi = Math.max(0, variantNames().indexOf(config.variant));
  const base = 5000 + vi * 1000;
  const st = s.vgic.stats;
  const bucket = (n: number) => (n === 0 ? 0 : n === 1 ? 1 : n < 4 ? 2 : n < 16 ? 3 : 4);
  const counters = [st.migrations, st.lrPendingAdds, st.dropped, st.mmioDataAborts, st.domainCrashes, st.maintenanceIrqs, st.kicks, st.contextSwitches, st.injections];
  counters.forEach((n, i) => cov.hit(base + i * 8 + bucket(n)));
  const reasons: readonly RunResult["reason"][] = ["done", "deadlock", "until", "maxSteps", "error", "stopped"];
  cov.hit(base + 100 + reasons.indexOf(r.reason));
  let k = 0;
  for (const [cls, c] of Object.entries(r.contention)) {
    k = (k * 31 + cls.length * 7 + cls.charCodeAt(0)) % 50;
    cov.hit(base + 120 + (k % 50) * 2 + (c.contended > 0 ? 1 : 0));
  }
  for (const [from, tos] of Object.entries(r.lockOrder)) {
    for (const to of tos) cov.hit(base + 300 + (hash(`${from}>${to}`) % 200));
  }
  for (const v of out) cov.hit(base + 600 + (hash(signatureOf(v)) % 64));
}

const COUNTER_NAMES = ["migrations", "lr-pending-adds", "dropped", "mmio-aborts", "domain-crashes", "maintenance-irqs", "kicks", "context-switches", "injections"];
const RUN_REASONS = ["done", "deadlock", "until", "maxSteps", "error"];

/** The name of a vgic coverage feature, family first. */
export function vgicFeatureName(id: number): string {
  if (id >= SWITCH_FEATURE.switchOut && id < SWITCH_FEATURE.kind) {
    const k = id - SWITCH_FEATURE.switchOut;
    return `switch-out lrs ${k >> 2}${k & 2 ? " apr" : ""}${k & 1 ? " uie" : ""}`;
  }
  if (id >= SWITCH_FEATURE.kind && id < SWITCH_FEATURE.entry) return `switch-in ${id === SWITCH_FEATURE.kind ? "same pCPU" : "other pCPU"}`;
  if (id >= SWITCH_FEATURE.entry && id < SWITCH_FEATURE.entry + 4) {
    const k = id - SWITCH_FEATURE.entry;
    return `guest-entry ${k & 2 ? "uie" : "no-uie"} ${k & 1 ? "lr-pending" : "no-lr-pending"}`;
  }
  if (id < 5000) return `feature ${id}`;
  const variant = variantNames()[Math.floor((id - 5000) / 1000)] ?? "?";
  const k = (id - 5000) % 1000;
  if (k < 100) return `counter ${variant} ${COUNTER_NAMES[k >> 3] ?? "?"} ${["0", "1", "2-3", "4-15", "16+"][k & 7] ?? "?"}`;
  if (k < 120) return `run ${variant} ${RUN_REASONS[k - 100] ?? "?"}`;
  if (k < 300) return `contention ${variant} ${(k - 120) >> 1}${k & 1 ? " contended" : ""}`;
  if (k < 600) return `lock-order ${variant} ${k - 300}`;
  return `violation ${variant} ${k - 600}`;
}

function hash(s: string): number {
  let h = 2166136261;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 16777619);
  return h >>> 0;
}

function priorityOf(invariant: string): number {
  const i = PRIORITY.findIndex((p) => invariant === p || invariant.startsWith(p + "-"));
  return i < 0 ? PRIORITY.length : i;
}

function pickViolation(vs: VgicViolation[]): VgicViolation | null {
  if (vs.length === 0) return null;
  const rank = (v: VgicViolation) => priorityOf(v.invariant);
  const sorted = vs.slice().sort((a, b) => rank(a) - rank(b));
  const first = sorted[0]!;
  const rest = sorted.length - 1;
  let message = first.message.length > MESSAGE_LIMIT ? first.message.slice(0, MESSAGE_LIMIT) + "..." : first.message;
  if (rest > 0) message += ` (and ${rest} more: ${[...new Set(sorted.slice(1).map(signatureOf))].join(", ")})`;
  // the case's other signatures travel with it: a new bug in a case that
  // also shows an old one is still a new signature
  const seen = new Set([signatureOf(first)]);
  const others: VgicViolation[] = [];
  for (const v of sorted.slice(1)) {
    const sig = signatureOf(v);
    if (seen.has(sig)) continue;
    seen.add(sig);
    others.push({ invariant: v.invariant, message: v.message, signature: sig });
  }
  return { invariant: first.invariant, message, signature: signatureOf(first), ...(others.length > 0 ? { others } : {}) };
}

function pick<T>(rng: Rng, xs: readonly T[]): T { return xs[rng.below(xs.length)]!; }

class VgicSession implements FuzzSession<VgicOp> {
  private readonly ops: VgicOp[] = [];
  private n = 0;
  constructor(readonly config: VgicConfig, private readonly options: SessionOptions & { schedule?: Schedule }) {}

  get checkedOps(): number { return this.n; }

  generate(rng: Rng): VgicOp {
    return generateOp(this.config, rng);
  }

  step(op: VgicOp): Violation | null {
    this.ops.push(op);
    return null;
  }

  finish(): Violation | null {
    this.n = this.ops.length;
    let res: Outcome;
    try {
      res = runVgicCase(this.config, this.ops, {
        ...(this.options.schedule ? { schedule: this.options.schedule } : {}),
        ...(this.options.coverage ? { coverage: this.options.coverage } : {}),
        faults: this.options.faults ?? [],
      });
    } catch (e) {
      if (e instanceof FindingError) throw e; // a bad finding file, not a finding
      return hostException("host exception", e);
    }
    const v = pickViolation(res.violations);
    const schedule = v !== null && res.run ? res.run.schedule : null;
    // judged and scheduled: the model instance goes back for the next case
    res.sys?.gic.release();
    if (v === null) return null;
    const out: VgicViolation = { ...v };
    if (schedule !== null) out.schedule = compactSchedule(schedule.picks);
    return out;
  }
}

/** A schedule held as bytes (a pick is a thread index, below 256) until its
 *  picks are read: the shrinker keeps the results of the runs it made. Its
 *  `picks` is an own, enumerable getter shared by every such schedule (as a
 *  run's result's are, sim/machine.ts: a getter closure per object would
 *  keep its bytes through young collections), reading them under BYTES. */
function compactSchedule(picks: readonly number[]): Schedule {
  const s = { v: 1 } as Schedule;
  Object.defineProperty(s, BYTES, { value: { bytes: Uint8Array.from(picks), list: null } satisfies PackedPicks });
  return Object.defineProperty(s, "picks", PICKS_PROPERTY);
}

interface PackedPicks { readonly bytes: Uint8Array; list: number[] | null }
const BYTES = Symbol("Schedule.bytes");
const PICKS_PROPERTY: PropertyDescriptor = Object.freeze({
  enumerable: true, configurable: true,
  get(this: Schedule): number[] {
    const z = (this as unknown as { [BYTES]: PackedPicks })[BYTES];
    return z.list ??= Array.from(z.bytes);
  },
});

// ---- generation

function spiBit(config: VgicConfig, rng: Rng): { irq: number } {
  return { irq: pick(rng, config.spis).irq };
}

function targetByte(config: VgicConfig, rng: Rng): number {
  const nv = config.placement.length;
  const r = rng.below(10);
  if (r < 8) return 1 << rng.below(nv); // a single vCPU
  if (r === 8) return 0; // no target: Xen ignores the byte
  return rng.below(256); // several bits (Xen takes the lowest) or absent vCPUs
}

/** One structure-aware operation for a random vCPU (or the device). */
export function generateOp(config: VgicConfig, rng: Rng): VgicOp {
  const nv = config.placement.length;
  const v = rng.below(nv);
  const r = rng.below(100);
  if (r < 22) {
    return { v: "dev", t: "raise", irq: spiBit(config, rng).irq, gap: rng.below(4) === 0 ? rng.below(40) : rng.below(4) };
  }
  if (r < 40) {
    // ITARGETSR: move one SPI (byte), or a whole word of a rank
    const { irq } = spiBit(config, rng);
    if (rng.below(4) === 0) {
      const base = irq & ~3;
      let value = 0;
      for (let i = 0; i < 4; i++) value |= targetByte(config, rng) << (8 * i);
      return { v, t: "w", off: GICD.ITARGETSR + base, size: 4, value: value >>> 0 };
    }
    return { v, t: "w", off: GICD.ITARGETSR + irq, size: 1, value: targetByte(config, rng) };
  }
  if (r < 52) {
    const { irq } = spiBit(config, rng);
    const word = 4 * (irq >> 5);
    const mask = rng.below(6) === 0 ? rng.next() >>> 0 : (1 << (irq & 31)) >>> 0;
    return { v, t: "w", off: (rng.below(2) === 0 ? GICD.ISENABLER : GICD.ICENABLER) + word, size: 4, value: mask };
  }
  if (r < 56) {
    const { irq } = spiBit(config, rng);
    return rng.below(2) === 0
      ? { v, t: "w", off: GICD.IPRIORITYR + irq, size: 1, value: pick(rng, [0x00, 0x80, 0xa0, 0xf0]) }
      : { v, t: "w", off: GICD.IPRIORITYR + (irq & ~3), size: 4, value: rng.next() >>> 0 };
  }
  if (r < 58) {
    const { irq } = spiBit(config, rng);
    return { v, t: "w", off: GICD.ICFGR + 4 * (irq >> 4), size: 4, value: rng.below(2) === 0 ? 0xaaaaaaaa : rng.next() >>> 0 };
  }
  if (r < 61) {
    const { irq } = spiBit(config, rng);
    // one time in two the SGI word (register 0) instead, with one SGI bit:
    // the architecture ignores writes there (4.3.7, 4.3.8) and a design
    // may not (Xen 4.11's vgic_mmio_write_spending latches an SGI with no
    // source, which vgic_v2_populate_lr's BUG_ON(!src) meets)
    const k = rng.below(8);
    const reg = [GICD.ISPENDR, GICD.ICPENDR, GICD.ISACTIVER, GICD.ICACTIVER][k & 3]!;
    return k < 4
      ? { v, t: "w", off: reg + 4 * (irq >> 5), size: 4, value: (1 << (irq & 31)) >>> 0 }
      : { v, t: "w", off: reg, size: 4, value: 1 << (irq & 15) };
  }
  if (r < 67) {
    const filter = rng.below(8) === 0 ? 3 : rng.below(3);
    const list = rng.below(1 << Math.min(8, nv + 1));
    return { v, t: "w", off: GICD.SGIR, size: 4, value: ((filter << 24) | (list << 16) | rng.below(16)) >>> 0 };
  }
  if (r < 72) {
    const { irq } = spiBit(config, rng);
    const off = pick(rng, [GICD.CTLR, GICD.TYPER, GICD.ISENABLER + 4 * (irq >> 5), GICD.IPRIORITYR + irq, GICD.ITARGETSR + irq,
      GICD.ICFGR + 4 * (irq >> 4), GICD.SGIR, GICD.ISPENDR + 4 * (irq >> 5), GICD.PIDR2]);
    const size = legalGicdAccess(off, 1) && rng.below(2) === 0 ? 1 : 4;
    return { v, t: "r", off: off & ~(size - 1), size };
  }
  if (r < 74) {
    // anything: random offsets and widths (a bad width crashes the domain)
    const size = pick(rng, [1, 2, 4] as const);
    const off = rng.below(0x1000);
    return rng.below(2) === 0 ? { v, t: "w", off, size, value: rng.next() >>> 0 } : { v, t: "r", off, size };
  }
  if (r < 84) {
    const kind = rng.below(5) < 4 ? "ack-eoi" : pick(rng, GICV_KINDS);
    if (kind === "pmr") return { v, t: "gicv", kind, value: pick(rng, PMR_VALUES) };
    return kind === "eoi-unacked" || kind === "dir" ? { v, t: "gicv", kind, irq: spiBit(config, rng).irq } : { v, t: "gicv", kind };
  }
  if (r < 86) return { v, t: "gicv", kind: "pmr", value: pick(rng, PMR_VALUES) };
  if (r < 94) return { v, t: "work", cycles: pick(rng, [200, 1000, 3000, 10000]) };
  return { v, t: "wfi" };
}

function randomConfig(rng: Rng, params: Record<string, string> = {}): VgicConfig {
  const variant = params.variant ?? pick(rng, variantNames());
  const pcpus = 2 + rng.below(2);
  const nv = pcpus;
  const placement = Array.from({ length: nv }, (_, i) => i % pcpus);
  const twoRanks = rng.below(3) === 0;
  const nspis = 2 + rng.below(3);
  const pool = twoRanks ? [32, 33, 34, 35, 40, 63, 64, 65, 70, 95] : [32, 33, 34, 35, 40, 41, 47, 63];
  const irqs: number[] = [];
  while (irqs.length < nspis) {
    const c = pick(rng, pool);
    if (!irqs.includes(c)) irqs.push(c);
  }
  irqs.sort((a, b) => a - b);
  const spis = irqs.map((irq) => ({
    irq, target: rng.below(nv), priority: pick(rng, [0xa0, 0xa0, 0x80, 0xc0]), enabled: rng.below(6) !== 0,
  }));
  const sched: VgicSchedConfig = rng.below(2) === 0
    ? { kind: "random", seed: rng.next() }
    : { kind: "pct", seed: rng.next(), depth: 2 + rng.below(3) };
  const config: VgicConfig = { variant, pcpus, placement, listRegisters: 2 + rng.below(3), spis, sched, maxSteps: DEFAULT_MAX_STEPS };
  // one case in three has more vCPUs than pCPUs: they share pCPUs and are
  // switched in and out by short time slices and by blocking
  if (rng.below(3) === 0) {
    const extra = 1 + rng.below(2);
    for (let i = 0; i < extra; i++) config.placement.push(rng.below(pcpus));
    config.timeSlice = pick(rng, [2000, 5000, 20_000]);
  }
  // (a fixed parameter, drawn from nothing: the cases are the same with it)
  // (0 is no latency: no field, so the finding files and corpus of a run
  // given latency 0 are those of a run given none)
  const latency = Number(params.latency ?? 0);
  if (latency > 0) config.gicLatency = latency;
  return config;
}

// ---- parsing finding files

function obj(x: unknown, path: string): Record<string, unknown> {
  if (typeof x !== "object" || x === null || Array.isArray(x)) throw new FindingError(path, x, "an object");
  return x as Record<string, unknown>;
}
function int(x: unknown, path: string, lo: number, hi: number): number {
  if (typeof x !== "number" || !Number.isInteger(x) || x < lo || x > hi) throw new FindingError(path, x, `an integer from ${lo} to ${hi}`);
  return x;
}

function parseConfig(x: unknown, path: string): VgicConfig {
  const o = obj(x, path);
  onlyFields(o, ["variant", "pcpus", "placement", "listRegisters", "spis", "sched", "maxSteps", "timeSlice", "gicLatency"], path, "a vgic configuration");
  if (typeof o.variant !== "string" || !variantNames().includes(o.variant)) {
    throw new FindingError(`${path}.variant`, o.variant, `one of ${variantNames().join(", ")}`);
  }
  const pcpus = int(o.pcpus, `${path}.pcpus`, 1, 8);
  if (!Array.isArray(o.placement) || o.placement.length < 1 || o.placement.length > 8) {
    throw new FindingError(`${path}.placement`, o.placement, "an array of 1 to 8 pCPU numbers");
  }
  const placement = o.placement.map((p, i) => int(p, `${path}.placement[${i}]`, 0, pcpus - 1));
  const listRegisters = int(o.listRegisters, `${path}.listRegisters`, 1, 64);
  if (!Array.isArray(o.spis) || o.spis.length < 1) throw new FindingError(`${path}.spis`, o.spis, "a non-empty array of SPIs");
  const spis = o.spis.map((s, i) => {
    const so = obj(s, `${path}.spis[${i}]`);
    onlyFields(so, ["irq", "target", "priority", "enabled"], `${path}.spis[${i}]`, "an SPI");
    const enabled = so.enabled ?? true;
    if (typeof enabled !== "boolean") throw new FindingError(`${path}.spis[${i}].enabled`, enabled, "a boolean");
    return {
      irq: int(so.irq, `${path}.spis[${i}].irq`, 32, 127),
      target: int(so.target, `${path}.spis[${i}].target`, 0, placement.length - 1),
      priority: int(so.priority, `${path}.spis[${i}].priority`, 0, 255),
      enabled,
    };
  });
  const so = obj(o.sched, `${path}.sched`);
  onlyFields(so, ["kind", "seed", "depth"], `${path}.sched`, "a scheduler");
  if (so.kind !== "random" && so.kind !== "pct") throw new FindingError(`${path}.sched.kind`, so.kind, `"random" or "pct"`);
  const sched: VgicSchedConfig = { kind: so.kind, seed: int(so.seed, `${path}.sched.seed`, 0, 0xffffffff) };
  if (so.kind === "pct") sched.depth = int(so.depth ?? 2, `${path}.sched.depth`, 1, 64);
  const maxSteps = o.maxSteps === undefined ? DEFAULT_MAX_STEPS : int(o.maxSteps, `${path}.maxSteps`, 1, MAX_STEPS_LIMIT);
  const config: VgicConfig = { variant: o.variant, pcpus, placement, listRegisters, spis, sched, maxSteps };
  if (o.timeSlice !== undefined) config.timeSlice = int(o.timeSlice, `${path}.timeSlice`, 100, 1e9);
  if (o.gicLatency !== undefined) config.gicLatency = int(o.gicLatency, `${path}.gicLatency`, 0, GIC_LATENCY_MAX);
  return config;
}

/** The fields of each kind of operation (VgicOp), by `t`. */
const OP_FIELDS: Record<string, readonly string[]> = {
  raise: ["v", "t", "irq", "gap"], w: ["v", "t", "off", "size", "value"], r: ["v", "t", "off", "size"],
  gicv: ["v", "t", "kind", "irq", "value"], work: ["v", "t", "cycles"], wfi: ["v", "t"],
};

function parseOp(x: unknown, path: string): VgicOp {
  const o = obj(x, path);
  if (typeof o.t === "string" && Object.hasOwn(OP_FIELDS, o.t)) onlyFields(o, OP_FIELDS[o.t]!, path, `a "${o.t}" operation`);
  if (o.t === "raise") {
    if (o.v !== "dev") throw new FindingError(`${path}.v`, o.v, `"dev" for a device operation`);
    return { v: "dev", t: "raise", irq: int(o.irq, `${path}.irq`, 32, 127), gap: int(o.gap ?? 0, `${path}.gap`, 0, 1e6) };
  }
  const v = int(o.v, `${path}.v`, 0, 7);
  const size = (p: unknown): 1 | 2 | 4 => {
    if (p !== 1 && p !== 2 && p !== 4) throw new FindingError(`${path}.size`, p, "1, 2 or 4");
    return p;
  };
  switch (o.t) {
    case "w": return { v, t: "w", off: int(o.off, `${path}.off`, 0, 0xfff), size: size(o.size), value: int(o.value, `${path}.value`, 0, 0xffffffff) };
    case "r": return { v, t: "r", off: int(o.off, `${path}.off`, 0, 0xfff), size: size(o.size) };
    case "gicv": {
      if (typeof o.kind !== "string" || !(GICV_KINDS as readonly string[]).includes(o.kind)) {
        throw new FindingError(`${path}.kind`, o.kind, GICV_KINDS.join(", "));
      }
      const op: VgicOp = { v, t: "gicv", kind: o.kind as GicvKind };
      if (o.irq !== undefined) op.irq = int(o.irq, `${path}.irq`, 0, 1023);
      if (o.value !== undefined) op.value = int(o.value, `${path}.value`, 0, 0xffffffff);
      return op;
    }
    case "work": return { v, t: "work", cycles: int(o.cycles, `${path}.cycles`, 0, 1e7) };
    case "wfi": return { v, t: "wfi" };
    default: throw new FindingError(`${path}.t`, o.t, `"w", "r", "gicv", "work", "wfi" or "raise"`);
  }
}

function simplerOps(_config: VgicConfig, op: VgicOp): VgicOp[] {
  const out: VgicOp[] = [];
  if (op.t === "raise" && op.gap > 0) out.push({ ...op, gap: 0 });
  if (op.t === "work" && op.cycles > 200) out.push({ ...op, cycles: 200 });
  if (op.t === "w" && op.size === 4 && (op.off & 0xf80) !== 0x800 && op.value !== 0 && (op.value & (op.value - 1)) !== 0) {
    // one bit of a multi-bit write
    out.push({ ...op, value: (op.value & -op.value) >>> 0 });
  }
  return out;
}

/** The machine's narrative of a case, for a finding: the last `lines`. */
export function explainVgicCase(config: VgicConfig, ops: readonly VgicOp[], schedule?: Schedule, lines = 60,
  faults: readonly string[] = []): string[] {
  const res = runVgicCase(config, ops, {
    trace: true, faults, ...(schedule ? { schedule } : {}), built: (s) => s.machine.trace?.keepTail(lines),
  });
  const tail = res.sys?.machine.trace?.narrativeTail(lines) ?? [];
  // the narrative is text now: the model instance goes back for the next case
  res.sys?.gic.release();
  return tail;
}

export const vgicTarget: FuzzTarget<VgicConfig, VgicOp> = {
  name: "vgic",
  faults: Object.keys(VGIC_FAULTS),
  params: ["variant", "latency"],
  randomConfig,
  open(config: VgicConfig, options: SessionOptions = {}) { return new VgicSession(config, options); },
  caseLength(rng: Rng) { return 6 + rng.below(20); },
  describeOp(_config: VgicConfig, op: VgicOp) { return describe(op); },
  featureName: vgicFeatureName,
  simplerOps,
  parseConfig,
  parseOp,
  checkOp(config: VgicConfig, op: VgicOp, path: string) {
    const nv = config.placement.length;
    if (op.v !== "dev" && op.v >= nv) throw new FindingError(`${path}.v`, op.v, `a vCPU of the configuration, 0 to ${nv - 1}`);
    if (op.t === "raise" && !config.spis.some((s) => s.irq === op.irq)) {
      throw new FindingError(`${path}.irq`, op.irq, `an SPI of config.spis (${config.spis.map((s) => s.irq).join(", ")})`);
    }
  },
  explain(config: VgicConfig, ops: readonly VgicOp[], schedule?: Schedule, faults?: readonly string[]) {
    return explainVgicCase(config, ops, schedule, 60, faults);
  },
  configMatches(config: VgicConfig, params: Record<string, string>) {
    // (no --gic-latency is a latency of 0: a corpus kept with one is not
    // this run's cases)
    return (params.variant === undefined || config.variant === params.variant) &&
      (config.gicLatency ?? 0) === Number(params.latency ?? 0);
  },
  validateParams(params: Record<string, string>) {
    if (params.variant !== undefined && !variantNames().includes(params.variant)) {
      throw new RangeError(`unknown variant '${params.variant}' (known: ${variantNames().join(", ")})`);
    }
    const l = params.latency;
    if (l !== undefined && !(/^\d+$/.test(l) && Number(l) <= GIC_LATENCY_MAX)) {
      throw new RangeError(`latency: got '${l}', expected cycles, an integer from 0 to ${GIC_LATENCY_MAX}`);
    }
  },
};
