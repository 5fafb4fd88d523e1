// vGIC invariants, shared by tests, the race explorer and the fuzzer. Each
// looks at the hypervisor's bookkeeping and the physical GIC together and
// says what is wrong in the thread's own terms, or nothing.

import type { RunResult } from "../sim/machine.ts";
import { GICH, LrState, decodeLr } from "../hw/regs.ts";
import { GIC_INVALID_LR, GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING, GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE, type PendingIrq } from "../xen/pending.ts";
import { MAINTENANCE_PPI, maintenanceAcksInException, type Vgic } from "../xen/vgic.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { VgicDesign } from "../xen/design.ts";
import { isOldVgic } from "../xen/design.ts";
import type { NewVgic } from "../xen/new-vgic/vgic.ts";
import { checkNewVgic } from "./new-vgic.ts";
import type { Gic } from "../hw/gic.ts";

export type FindingKind =
  | "deadlock" // every thread waits: the wait-for cycle
  | "lock-inversion" // lockdep saw two lock classes taken in both orders, or an irq inversion
  | "lockdep" // another lockdep report (recursion, irq-unsafe)
  | "lost" // QUEUED but on no list and in no list register: never delivered
  | "stuck-migrating" // MIGRATING on an interrupt in flight nowhere: the migration it marks never completes
  | "stuck-active" // a physical interrupt the hypervisor acknowledged that nobody will deactivate
  | "lr-mismatch" // list registers and pending_irq disagree
  | "dropped" // an injection the design dropped on purpose
  | "no-delivery" // a workload source raised and none of its instances reached a handler
  | "accounting" // a workload's instance accounting does not balance
  | "duplicate" // a guest handler entered for an interrupt with no injected instance of it in flight
  | "stalled" // nothing left to run while work remains: a workload before its end, or a runnable vCPU on a pCPU idle for good
  | "list-race" // a list operation on a vCPU's list without that vCPU's lock
  | "affinity" // a routed SPI's physical target is not its vCPU's pCPU at quiescence (the fuzzer's check/affinity.ts)
  | "no-quiescence" // a scenario run did not end within its step limit: cut, so not judged
  | "livelock" // a pCPU acknowledges the maintenance IRQ over and over in one exception (vgic.ts LivelockError)
  | "error"; // an exception escaped the simulated code

/** Parse a `--fail-on` list: finding kinds, comma-separated, or `all`
 *  (every kind of `all`). Throws a RangeError naming the unknown kind. */
export function parseFailOn(v: string, all: readonly FindingKind[]): readonly FindingKind[] {
  if (v === "all") return all;
  const ks = v.split(",").map((s) => s.trim()).filter((s) => s !== "");
  for (const k of ks) if (!all.includes(k as FindingKind)) throw new RangeError(`--fail-on: unknown kind '${k}': expected ${all.join(", ")} or all`);
  if (ks.length === 0) throw new RangeError("--fail-on: expected at least one kind");
  return ks as FindingKind[];
}

export interface Finding {
  kind: FindingKind;
  message: string;
  /** the interrupt's path to the failure, for kinds that have several:
   *  lost "queued-on-no-list"; lr-mismatch "lr-free-but-used" or
   *  "lr-not-in-pending-irq"; list-race "<list>-del"; error "<list>-add-twice"
   *  or the exception's message with its numbers elided; deadlock and lock
   *  findings their lock classes */
  path?: string;
  /** where it happened: the innermost Xen function of an exception */
  where?: string;
  /** the interrupt concerned */
  irq?: number;
  /** the vCPU concerned, for a loss or a stuck interrupt: a private
   *  interrupt's own vCPU, or the vCPU blocked in WFI with it */
  vcpu?: number;
}

/** Where an exception escaped the simulated code: the innermost Xen
 *  function on its JavaScript stack (the model keeps Xen's function names,
 *  methods of the vGIC classes), and what it was, stable across runs: a
 *  list operation ("IRQ n is on vCPUa's lr_queue list, not vCPUb's", the
 *  list race of list_del_init on another vCPU's list; "already on a
 *  inflight list", a second list_add) is named by its list and operation;
 *  any other message has its numbers elided. */
export function exceptionSite(message: string, stack?: string): { path: string; where?: string } {
  let path: string;
  let m: RegExpExecArray | null;
  if ((m = /^IRQ \d+ is on vCPU\d+'s (\w+) list, not vCPU\d+'s/.exec(message)) !== null) path = `${m[1]}-del`;
  else if ((m = /^IRQ \d+ is already on an? (\w+) list/.exec(message)) !== null) path = `${m[1]}-add-twice`;
  // (LivelockError: the maintenance IRQ acknowledged over and over)
  else if (/^pCPU\d+ acknowledged maintenance IRQ \d+ \d+ times/.test(message)) path = "maintenance-irq";
  // (advisory and error names such as XSA-223 are constants, not numbers)
  else path = message.replace(/0x[0-9a-f]+|(?<![A-Z]-|\d)\d+/gi, "N").replace(/\s+/g, " ").trim().slice(0, 80);
  for (const line of (stack ?? "").split("\n")) {
    // "    at Xen49.gic_update_one_lr_retire (file:line:col)": a method whose
    // name is a Xen function (snake_case); lock helpers are free functions
    const f = /^\s*at (?:async )?[\w$]+\.([a-z][a-z0-9]*(?:_[a-z0-9]+)+) /.exec(line);
    if (f !== null) return { path, where: f[1]! };
  }
  return { path };
}

/** Every list register in use on a pCPU or saved with a descheduled vCPU,
 *  as (vCPU, LR value). */
function listRegisters(vgic: Vgic, gic: Gic): Array<{ vcpu: number; lr: number; value: number }> {
  const out: Array<{ vcpu: number; lr: number; value: number }> = [];
  vgic.pcpu.forEach((pc, cpu) => {
    if (pc.current === null) return;
    for (let i = 0; i < vgic.nr_lrs; i++) out.push({ vcpu: pc.current.vcpu_id, lr: i, value: gic.listRegister(cpu, i) });
  });
  for (const v of vgic.d.vcpu) {
    if (v.saved === null) continue;
    v.saved.lrs.forEach((value, i) => out.push({ vcpu: v.vcpu_id, lr: i, value }));
  }
  return out;
}

/** Some live or saved list register holds `irq` in a valid state. */
function inSomeLr(lrs: ReadonlyArray<{ value: number }>, irq: number): boolean {
  return lrs.some((l) => (l.value & 0x3ff) === irq && decodeLr(l.value).state !== LrState.Invalid);
}

/** A list register left active (or active and pending) for an interrupt
 *  its vCPU's guest is not handling: the guest's EOI and DIR found no list
 *  register holding what it acknowledged, so nothing will deactivate this
 *  one, and the interrupt is never delivered to that vCPU again (its later
 *  instances merge into it). Xen 4.11's new vGIC does this to an SGI:
 *  vgic_v2_populate_lr writes the source CPU into the LR only for a
 *  pending SGI, so an active one written back loses it (RELEASE-4.11.0
 *  xen/arch/arm/vgic/vgic-v2.c; KVM keeps an active_source for this).
 *  `handles(v, irq)`: whether vCPU v's guest holds `irq` active itself
 *  (its handler runs it, or it acknowledged it and will not EOI it). */
export function strandedActive(design: VgicDesign, gic: Gic, handles: (vcpu: number, irq: number) => boolean): Finding[] {
  const lrs = isOldVgic(design) ? listRegisters(design, gic)
    : (design as unknown as NewVgic).listRegisters(gic).map((l) => ({ vcpu: l.vcpu.vcpu_id, lr: l.lr, value: l.value }));
  const out: Finding[] = [];
  for (const l of lrs) {
    const lr = decodeLr(l.value);
    if ((lr.state & LrState.Active) === 0 || handles(l.vcpu, lr.virtualId)) continue;
    const hex = `0x${(l.value >>> 0).toString(16).padStart(8, "0")}`;
    out.push({
      kind: "stuck-active", path: "virtual-lr", irq: lr.virtualId, vcpu: l.vcpu,
      message: `LR${l.lr} of vCPU${l.vcpu} holds IRQ ${lr.virtualId} active (${hex}) while the guest handles nothing of it: its EOI matched no list register, nothing will deactivate it, and IRQ ${lr.virtualId} is not delivered to vCPU${l.vcpu} again`,
    });
  }
  // the new vGIC folds a vCPU's list registers into its vgic_irqs at every
  // exit from the guest (vgic_sync_from_lrs, used_lrs back to 0), so one
  // blocked, descheduled or in the hypervisor holds an active interrupt on
  // its ap_list (it fills an LR again, active, when the vCPU next enters
  // the guest); one in an LR not folded yet is judged from the LR above
  // (which runs ahead of its vgic_irq: an EOI there leaves it invalid)
  if (!isOldVgic(design)) {
    const nv = design as unknown as NewVgic;
    const unfolded = new Set<string>();
    nv.vgic_cpu.forEach((vc, k) => {
      const v = nv.d.vcpu[k]!;
      if (nv.pcpu[v.processor]!.current !== v) return;
      for (let i = 0; i < vc.used_lrs; i++) unfolded.add(`${k}:${gic.listRegister(v.processor, i) & 0x3ff}`);
    });
    nv.vgic_cpu.forEach((vc, k) => {
      for (const irq of vc.ap_list_head) {
        if (!irq.active || handles(k, irq.intid) || unfolded.has(`${k}:${irq.intid}`)) continue;
        out.push({
          kind: "stuck-active", path: "virtual-lr", irq: irq.intid, vcpu: k,
          message: `IRQ ${irq.intid} is ${irq.describe()} while vCPU${k}'s guest handles nothing of it: its EOI matched no list register, nothing will deactivate it, and IRQ ${irq.intid} is not delivered to vCPU${k} again (it fills a list register, active, each time vCPU${k} runs)`,
        });
      }
    });
  }
  return out;
}

/** At the end of a run that ended with nothing left to run or to happen
 *  (the machine's "done": every thread waits or idles, no event is due),
 *  a vCPU that is not blocked on a pCPU idling in WFI will never run
 *  again: it was made runnable (vcpu_unblock, a migration's vcpu_wake)
 *  without the event-check SGI that wakes its pCPU to schedule it
 *  (xen/common/schedule.c vcpu_wake and xen/arch/arm/vgic.c vcpu_kick,
 *  RELEASE-4.8.0), and any interrupt in flight for it is never handled.
 *  Only there: earlier, the kick may be on its way. */
export function unscheduledAtEnd(design: VgicDesign): Finding[] {
  const out: Finding[] = [];
  design.pcpu.forEach((pc, cpu) => {
    const t = design.machine.cpus[cpu];
    if (pc.current !== null || t === undefined || t.threadState !== "idle") return;
    for (const v of pc.runq) {
      if (v.blocked) continue;
      out.push({
        kind: "stalled", path: "runnable-not-scheduled", vcpu: v.vcpu_id,
        message: `vCPU${v.vcpu_id} can run (not blocked) but its pCPU${cpu} idles in WFI with nothing left to wake it: it was made runnable without a kick of pCPU${cpu}, and it never runs again`,
      });
    }
  });
  return out;
}

/** State invariants of the vGIC at a quiescent moment (end of a run). */
export function checkVgic(design: VgicDesign, gic: Gic): Finding[] {
  if (!isOldVgic(design)) return checkNewVgic(design as unknown as NewVgic, gic);
  const vgic = design;
  const findings: Finding[] = [];
  const lrs = listRegisters(vgic, gic);
  const d = vgic.d;

  // list registers agree with pending_irq
  vgic.pcpu.forEach((pc, cpu) => {
    const v = pc.current;
    if (v === null) return;
    for (let i = 0; i < vgic.nr_lrs; i++) {
      const lr = decodeLr(gic.listRegister(cpu, i));
      if (pc.lr_mask[i] === 0) {
        if (lr.state !== LrState.Invalid) findings.push({ kind: "lr-mismatch", path: "lr-free-but-used", irq: lr.virtualId, message: `pCPU${cpu} LR${i} holds IRQ ${lr.virtualId} but lr_mask says it is free` });
        continue;
      }
      const p = d.irq_to_pending(v, lr.virtualId);
      if (lr.state !== LrState.Invalid && (p.lr !== i || !p.test_bit(GIC_IRQ_GUEST_VISIBLE))) {
        findings.push({ kind: "lr-mismatch", path: "lr-not-in-pending-irq", irq: lr.virtualId, message: `pCPU${cpu} LR${i} holds IRQ ${lr.virtualId} (${p.statusString()}, lr=${p.lr}) that pending_irq does not place there` });
      }
    }
  });

  visibleIsInLr(vgic, gic, findings);

  // every QUEUED interrupt is on a list or in a list register (one not
  // made yet is not QUEUED): the SPIs, then each vCPU's private ones
  const queuedOnNoList = (p: PendingIrq, owner: Vcpu | null): void => {
    if (!p.test_bit(GIC_IRQ_GUEST_QUEUED)) return;
    if (p.inflight === null && p.lr_queue === null && !inSomeLr(lrs, p.irq)) {
      findings.push({
        kind: "lost", path: "queued-on-no-list", irq: p.irq, ...(owner !== null ? { vcpu: owner.vcpu_id } : {}),
        message: `IRQ ${p.irq}${owner !== null ? ` of vCPU${owner.vcpu_id}` : ""} is QUEUED (${p.statusString()}) but on no inflight or lr_pending list and in no list register: it will never be delivered`,
      });
    }
  };
  eachMadeIrq(vgic, queuedOnNoList);

  // MIGRATING marks an interrupt moved while in a list register, until the
  // retire of that LR (gic_update_one_lr) finishes the move and clears it:
  // vgic_migrate_irq sets it only on an interrupt in flight (RELEASE-4.8.0
  // and RELEASE-4.9.0 xen/arch/arm/vgic.c, "if the IRQ is in a GICH_LR
  // register, set GIC_IRQ_GUEST_MIGRATING"). Left set on one in flight
  // nowhere, no retire will clear it: 4.9's vgic_migrate_irq then refuses
  // every later move ("migration failed: requested while in progress") and
  // the ITARGETSR write keeps the old target.
  const migratingNowhere = (p: PendingIrq, owner: Vcpu | null): void => {
    if (!p.test_bit(GIC_IRQ_GUEST_MIGRATING) || p.inflight !== null || p.lr_queue !== null || inSomeLr(lrs, p.irq)) return;
    findings.push({
      kind: "stuck-migrating", irq: p.irq, ...(owner !== null ? { vcpu: owner.vcpu_id } : {}),
      message: `IRQ ${p.irq}${owner !== null ? ` of vCPU${owner.vcpu_id}` : ""} is MIGRATING (${p.statusString()}) but on no inflight or lr_pending list and in no list register: no retire will finish the move and clear it, and Xen 4.9's vgic_migrate_irq refuses every later move of it`,
    });
  };
  eachMadeIrq(vgic, migratingNowhere);

  // liveness: a vCPU blocked in WFI runs again only when vcpu_unblock wakes
  // it (an injection's kick), and at the end of a run nothing injects
  // again. An interrupt that gic_events_need_delivery would take while the
  // vCPU stays blocked is therefore never delivered: 4.8's and 4.9's
  // vgic_enable_irqs raise a pending interrupt with gic_raise_guest_irq
  // and no kick (RELEASE-4.8.0 and RELEASE-4.9.0 xen/arch/arm/vgic.c).
  // The guest's WFI traps only when no interrupt is pending at its virtual
  // CPU interface (GuestCpu.wfi), so a vCPU does not block with one
  // already pending in a list register.
  for (const v of d.vcpu) {
    if (!v.blocked) continue;
    const p = wouldWake(vgic, gic, v);
    if (p !== null) {
      findings.push({ kind: "lost", path: "blocked-not-woken", irq: p.irq, vcpu: v.vcpu_id, message: `vCPU${v.vcpu_id} is blocked in WFI while IRQ ${p.irq} (${p.statusString()}, priority ${p.priority}) is in flight and deliverable to it: nothing in this run wakes the vCPU (no kick; only another interrupt for it would), so it is never delivered` });
    }
  }

  // every physical interrupt the hypervisor acknowledged will be deactivated:
  // through a HW list register, or by a pending injection that will get one
  for (const desc of vgic.descs.values()) {
    if (!gic.isActive(0, desc.irq)) continue;
    const hwLr = lrs.some((l) => {
      const lr = decodeLr(l.value);
      return lr.hw && lr.physicalId === desc.irq && lr.state !== LrState.Invalid;
    });
    const p = d.spi_to_pending(desc.irq);
    const waiting = p.test_bit(GIC_IRQ_GUEST_QUEUED) && (p.inflight !== null || p.lr_queue !== null);
    if (!hwLr && !waiting) {
      findings.push({ kind: "stuck-active", irq: desc.irq, message: `physical IRQ ${desc.irq} is active in the distributor with no HW list register and no pending injection: nobody will deactivate it, and it will never fire again` });
    }
  }
  return findings;
}

/** pending_irq agrees with the list registers, from pending_irq's side:
 *  VISIBLE exactly when p->lr names a list register, and that register of
 *  the vCPU whose inflight list holds the interrupt (live on its pCPU when
 *  it runs, else in its saved state) is in use and holds this interrupt.
 *  Xen 4.9 (RELEASE-4.9.0 xen/arch/arm/gic.c) changes the two together
 *  under the vCPU's vgic lock: gic_set_lr (from gic_raise_guest_irq and
 *  gic_restore_pending_irqs) sets VISIBLE with p->lr; gic_update_one_lr
 *  clears VISIBLE and resets p->lr to GIC_INVALID_LR when the LR is
 *  retired; gic_restore_pending_irqs' eviction does the same to the
 *  interrupt it pushes back to lr_pending; vgic_migrate_irq moves only an
 *  interrupt that is not VISIBLE (on lr_pending or not in flight) and
 *  leaves one in an LR MIGRATING, VISIBLE and on the old vCPU's inflight
 *  list. A virtual EOI the guest made without a trap leaves the register's
 *  virtual ID in place (only its state goes invalid) until the fold, so the
 *  ID is what is compared. */
function visibleIsInLr(vgic: Vgic, gic: Gic, findings: Finding[]): void {
  const d = vgic.d;
  const judge = (p: PendingIrq, owner: Vcpu | null): void => {
    const visible = p.test_bit(GIC_IRQ_GUEST_VISIBLE);
    const named = p.lr !== GIC_INVALID_LR;
    if (!visible && !named) return;
    const who = `IRQ ${p.irq}${owner !== null ? ` of vCPU${owner.vcpu_id}` : ""} (${p.statusString()}, lr=${p.lr})`;
    const found = (message: string): void => {
      findings.push({ kind: "lr-mismatch", path: visible ? "visible-not-in-lr" : "lr-not-visible", irq: p.irq, ...(owner !== null ? { vcpu: owner.vcpu_id } : {}), message });
    };
    if (!visible) return found(`${who} names a list register but is not VISIBLE`);
    if (!named) return found(`${who} is VISIBLE but names no list register`);
    const v = owner ?? (p.inflight !== null ? d.vcpu[p.inflight.vcpu_id]! : null);
    if (v === null) return found(`${who} is VISIBLE but on no vCPU's inflight list`);
    const running = v.saved === null && vgic.pcpu[v.processor]?.current === v;
    const used = running ? vgic.pcpu[v.processor]!.lr_mask[p.lr] : v.saved?.lr_mask[p.lr];
    const value = running ? gic.listRegister(v.processor, p.lr) : v.saved?.lrs[p.lr] ?? 0;
    if (p.lr >= vgic.nr_lrs || used !== 1 || decodeLr(value).virtualId !== p.irq) {
      found(`${who} is VISIBLE in vCPU${v.vcpu_id}'s LR${p.lr}, which ${used === 1 ? `holds IRQ ${decodeLr(value).virtualId}` : "lr_mask says is free"}${running ? "" : " (saved)"}`);
    }
  };
  eachMadeIrq(vgic, judge);
}

/** Every pending_irq made so far: the SPIs (owner null), then each vCPU's
 *  private ones. */
function eachMadeIrq(vgic: Vgic, f: (p: PendingIrq, owner: Vcpu | null) => void): void {
  const d = vgic.d;
  for (const p of d.madeSpis()) f(p, null);
  const privates: PendingIrq[] = [];
  for (const v of d.vcpu) {
    privates.length = 0;
    v.madePrivateIrqs(privates);
    for (const p of privates) f(p, v);
  }
}

/** What gic_events_need_delivery should answer for `v`: the interrupt of
 *  highest priority in flight (the first of equals) that is enabled and
 *  beats the priority mask and the active priority. A vCPU not loaded on a
 *  pCPU is judged by the VMCR and APR its switch-out saved. Every entry is
 *  looked at, not the design's walk of its list in the list's order
 *  (deliverableInflight): that walk stops at the first entry the mask
 *  hides, so on a list out of priority order it misses what a judge must
 *  see. On a list in order the two agree. */
function wouldWake(vgic: Vgic, gic: Gic, v: Vgic["d"]["vcpu"][number]): PendingIrq | null {
  const loaded = v.saved === null && vgic.pcpu[v.processor]?.current === v;
  const vmcr = loaded ? gic.readHyp(v.processor, GICH.VMCR) : v.saved?.vmcr ?? 0;
  const apr = loaded ? gic.readHyp(v.processor, GICH.APR) : v.saved?.apr ?? 0;
  const active = apr === 0 ? 32 : 31 - Math.clz32(apr & -apr);
  const mask = vmcr >>> 27;
  let best: PendingIrq | null = null;
  for (const p of v.inflight_irqs.items) {
    const prio = p.priority >> 3;
    if (prio >= mask || prio >= active || !p.test_bit(GIC_IRQ_GUEST_ENABLED)) continue;
    if (best === null || p.priority < best.priority) best = p;
  }
  return best;
}

/** A run that ends while a pCPU, in an IRQ exception, has acknowledged the
 *  maintenance interrupt more than once and it is still raised: the
 *  livelock LivelockError names, begun too late in the run to reach its
 *  count. The second acknowledge shows the level survived the handler's EOI
 *  and DIR in the hypervisor, which folds nothing there. */
export function livelockAtEnd(design: VgicDesign, gic: Gic): Finding[] {
  const findings: Finding[] = [];
  for (const cpu of design.machine.cpus) {
    const n = maintenanceAcksInException(cpu);
    if (n < 2 || !(gic.isPending(cpu.id, MAINTENANCE_PPI) || gic.isActive(cpu.id, MAINTENANCE_PPI))) continue;
    findings.push({
      kind: "livelock",
      message: `pCPU${cpu.id} was acknowledging maintenance IRQ ${MAINTENANCE_PPI} again and again when the run ended (${n} times in one IRQ exception taken in the hypervisor, ` +
        `and it is still raised): nothing there clears GICH_HCR.UIE or folds the list registers, so the pCPU livelocks`,
    });
  }
  return findings;
}

/** The finding kinds a run ends in by an exception the model throws on
 *  purpose (its Error's name): an unlocked list operation, a livelocked
 *  pCPU. Any other exception is an `error`. */
export const THROWN_KINDS: readonly FindingKind[] = ["list-race", "livelock"];

/** A finding kind a saved run that ended in an exception carries: replaying
 *  it fails the same way, which is the finding, not a broken replay. */
export function endsInException(kind: FindingKind): boolean {
  return kind === "error" || THROWN_KINDS.includes(kind);
}

/** Findings from the machine's run result: deadlock, lockdep, errors. */
export function checkRun(r: RunResult): Finding[] {
  const findings: Finding[] = [];
  // lock findings are told apart by their lock classes
  const classes = (xs: readonly string[]) => [...new Set(xs)].sort().join("-");
  if (r.reason === "deadlock" && r.deadlock) {
    findings.push({
      kind: "deadlock",
      path: classes(r.deadlock.cycle.map((e) => e.lockClass)),
      message: "deadlock: " + r.deadlock.cycle.map((e) => `${e.thread} spins on ${e.lock} held by ${e.holder ?? "nobody"}`).join("; "),
    });
  }
  if (r.reason === "error" && r.error) {
    findings.push({
      kind: THROWN_KINDS.includes(r.error.kind as FindingKind) ? r.error.kind as FindingKind : "error", message: `${r.error.thread}: ${r.error.message}`,
      ...exceptionSite(r.error.message, r.error.stack),
    });
  }
  for (const rep of r.lockdep) {
    // an irq inversion is an order that can deadlock two CPUs, as an AB-BA
    // one is: both are lock-inversion findings (an irq inversion's path
    // says which); recursion and irq-unsafe use, one CPU's own, are lockdep
    findings.push({
      kind: rep.kind === "inversion" || rep.kind === "irq-inversion" ? "lock-inversion" : "lockdep", message: rep.message,
      path: rep.kind === "inversion" ? classes(rep.classes) : `${rep.kind}:${classes(rep.classes)}`,
    });
  }
  return findings;
}

/** All GICH list registers of a pCPU, for narratives. */
export function describeLrs(gic: Gic, cpu: number, n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const v = gic.readHyp(cpu, GICH.LR + 4 * i);
    const lr = decodeLr(v);
    if (lr.state === LrState.Invalid) continue;
    out.push(`LR${i}: vIRQ ${lr.virtualId} ${LrState[lr.state]}${lr.hw ? ` HW pIRQ ${lr.physicalId}` : ""}`);
  }
  return out;
}
