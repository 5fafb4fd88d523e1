// Invariants of the hypervisor's context switch and of its maintenance
// interrupt enables, checked while a vGIC run goes on (through the vGIC's
// observer points), not at quiescence.
//
// - switch-restore: a vCPU's virtual interface after gic_restore_state
//   equals what it was when gic_save_state began: every list register,
//   GICH_APR and GICH_VMCR. What Xen documents it changes: GICH_HCR is not
//   saved; the restore writes En alone (xen/arch/arm/gic-v2.c,
//   gicv2_save_state writes 0 and gicv2_restore_state writes GICH_HCR_EN,
//   RELEASE-4.8.0), so a pending UIE request and the EOICount are dropped;
//   gic_inject asks for UIE again on the way back to the guest.
// - maintenance-enables: Xen's GICv2 driver enables one maintenance
//   condition, underflow, and only when gic_inject found list registers all
//   in use with interrupts left on lr_pending (xen/arch/arm/gic.c gic_inject,
//   lr_all_full); gic_clear_lrs clears it on the next entry from the guest.
//   NPIE and LRENPIE are never set. So on every return to the guest: En is
//   set, NPIE and LRENPIE are clear, and UIE implies every list register is
//   in use; after every gic_clear_lrs, UIE is clear.
// - lr-contents: on every return to the guest, each list register in use
//   holds what gic_set_lr wrote for its interrupt (gicv2_update_lr,
//   RELEASE-4.8.0 xen/arch/arm/gic-v2.c): the priority of its pending_irq
//   (bits [7:3]; p->priority is set at injection and stays while the
//   interrupt is in flight), and the HW bit with the physical ID exactly
//   when the interrupt has a physical desc. Only the state bits change
//   under the guest.
// - list-order: on every return to the guest, the vCPU's inflight_irqs and
//   lr_pending lists are in priority order, as every insertion keeps them
//   (vgic_vcpu_inject_irq, gic_add_to_lr_pending): gic_events_need_delivery
//   stops at the first entry the mask hides and gic_restore_pending_irqs
//   fills list registers from the head, so an entry out of order is an
//   interrupt the guest gets after lower-priority ones, or not at all.

import type { Gic } from "../hw/gic.ts";
import { HCR, LrState, decodeLr } from "../hw/regs.ts";
import * as L from "../hw/layout.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { PendingIrq } from "../xen/pending.ts";
import type { Vgic } from "../xen/vgic.ts";
import type { Violation } from "./invariants.ts";

export const SWITCH_INVARIANTS = {
  "switch-restore": "a vCPU's list registers, GICH_APR and GICH_VMCR after it is switched back in equal what they were when it was switched out; GICH_HCR is En alone",
  "maintenance-enables": "on return to the guest GICH_HCR.En is set, NPIE and LRENPIE are clear, UIE only with every list register in use; UIE is clear after gic_clear_lrs",
  "lr-contents": "on return to the guest every list register in use holds its pending_irq's priority, and HW with the physical ID exactly when the interrupt has a physical desc",
  "list-order": "on return to the guest a vCPU's inflight_irqs and lr_pending lists are in priority order",
} as const;

interface Snapshot { lrs: number[]; apr: number; vmcr: number; hcr: number; pcpu: number }

function hex(v: number): string { return `0x${(v >>> 0).toString(16)}`; }

/** Coverage feature ids of the checker (host/fuzz/vgic.ts names them). */
export const SWITCH_FEATURE = {
  /** + (LRs in use at switch-out, capped at 4) * 4 + (GICH_APR != 0) * 2 + (UIE set) */
  switchOut: 4100,
  /** + 0 back in on the same pCPU, 1 on another */
  kind: 4120,
  /** + UIE at return to the guest (0/1) * 2 + lr_pending non-empty */
  entry: 4130,
} as const;

export class SwitchChecker {
  readonly violations: Violation[] = [];
  /** counts of the checks made, for tests */
  readonly counts = { switchedOut: 0, restored: 0, entries: 0, cleared: 0 };
  private readonly saved = new Map<Vcpu, Snapshot>();
  hit: ((feature: number) => void) | null = null;

  constructor(private readonly vgic: Vgic, private readonly gic: Gic) {}

  private state(pcpu: number): Snapshot {
    const m = this.gic.memoryWords();
    const b = (L.VIF_BASE + pcpu * L.VIF_STRIDE) >> 2;
    const lrs: number[] = [];
    for (let i = 0; i < this.vgic.nr_lrs; i++) lrs.push(m[b + ((L.V_LR >> 2) + i)]!);
    return { lrs, apr: m[b + (L.V_APR >> 2)]!, vmcr: m[b + (L.V_VMCR >> 2)]!, hcr: m[b + (L.V_HCR >> 2)]!, pcpu };
  }

  /** GICH_HCR of a pCPU: the checks on every guest entry read it alone */
  private hcr(pcpu: number): number {
    return this.gic.memoryWords()[(L.VIF_BASE + pcpu * L.VIF_STRIDE + L.V_HCR) >> 2]!;
  }

  private add(invariant: keyof typeof SWITCH_INVARIANTS, message: string): void {
    if (this.violations.length < 16) this.violations.push({ invariant, message });
  }

  /** observer point (VgicObserver) */
  switchingOut(v: Vcpu, pcpu: number): void {
    this.counts.switchedOut++;
    const s = this.state(pcpu);
    this.saved.set(v, s);
    if (this.hit) {
      const used = Math.min(4, s.lrs.filter((lr) => ((lr >>> 28) & 3) !== 0).length);
      this.hit(SWITCH_FEATURE.switchOut + used * 4 + (s.apr !== 0 ? 2 : 0) + ((s.hcr & HCR.UIE) !== 0 ? 1 : 0));
    }
  }

  /** observer point (VgicObserver) */
  switchedIn(v: Vcpu, pcpu: number): void {
    const was = this.saved.get(v);
    if (!was) return; // first time in: nothing was saved
    this.saved.delete(v);
    this.counts.restored++;
    this.hit?.(SWITCH_FEATURE.kind + (was.pcpu !== pcpu ? 1 : 0));
    const now = this.state(pcpu);
    const diffs: string[] = [];
    was.lrs.forEach((lr, i) => { if (now.lrs[i] !== lr) diffs.push(`LR${i} ${hex(now.lrs[i]!)}, was ${hex(lr)}`); });
    if (now.apr !== was.apr) diffs.push(`GICH_APR ${hex(now.apr)}, was ${hex(was.apr)}`);
    if (now.vmcr !== was.vmcr) diffs.push(`GICH_VMCR ${hex(now.vmcr)}, was ${hex(was.vmcr)}`);
    if (now.hcr !== HCR.En) diffs.push(`GICH_HCR ${hex(now.hcr)}, expected En alone (0x1)`);
    if (diffs.length > 0) {
      this.add("switch-restore", `${v.name} switched back in on pCPU ${pcpu} (out from pCPU ${was.pcpu}): ${diffs.join("; ")}`);
    }
  }

  /** observer point (VgicObserver) */
  enteringGuest(pcpu: number): void {
    const pc = this.vgic.pcpu[pcpu]!;
    const v = pc.current;
    if (v === null) return;
    this.counts.entries++;
    const hcr = this.hcr(pcpu);
    let full = true;
    for (let i = 0; i < this.vgic.nr_lrs; i++) if (pc.lr_mask[i] === 0) full = false;
    this.hit?.(SWITCH_FEATURE.entry + ((hcr & HCR.UIE) !== 0 ? 2 : 0) + (v.lr_pending.empty() ? 0 : 1));
    const bad: string[] = [];
    if ((hcr & HCR.En) === 0) bad.push("En is clear");
    if ((hcr & HCR.NPIE) !== 0) bad.push("NPIE is set");
    if ((hcr & HCR.LRENPIE) !== 0) bad.push("LRENPIE is set");
    if ((hcr & HCR.UIE) !== 0 && !full) bad.push("UIE is set with a list register free");
    if (bad.length > 0) this.add("maintenance-enables", `${v.name} returns to the guest on pCPU ${pcpu} with GICH_HCR ${hex(hcr)}: ${bad.join(", ")}`);
    this.lrContents(v, pcpu);
    this.inOrder(v, pcpu, "inflight_irqs", v.inflight_irqs.items);
    this.inOrder(v, pcpu, "lr_pending", v.lr_pending.items);
  }

  private lrContents(v: Vcpu, pcpu: number): void {
    const pc = this.vgic.pcpu[pcpu]!;
    const m = this.gic.memoryWords();
    const b = (L.VIF_BASE + pcpu * L.VIF_STRIDE + L.V_LR) >> 2;
    for (let i = 0; i < this.vgic.nr_lrs; i++) {
      if (pc.lr_mask[i] === 0) continue;
      const raw = m[b + i]!;
      // (the fields read in place: this runs on every guest entry)
      if (((raw >>> 28) & 3) === LrState.Invalid) continue;
      const p = this.vgic.d.irq_to_pending(v, raw & 0x3ff);
      const hw = (raw >>> 31) === 1, phys = p.desc === null ? -1 : p.desc.irq;
      if (((raw >>> 23) & 0x1f) === p.priority >> 3 && hw === (phys >= 0) && (!hw || ((raw >>> 10) & 0x3ff) === phys)) continue;
      const lr = decodeLr(raw);
      const bad: string[] = [];
      if (lr.priority !== (p.priority & 0xf8)) bad.push(`priority ${hex(lr.priority)}, its pending_irq's is ${hex(p.priority)}`);
      if (lr.hw !== (phys >= 0)) bad.push(phys >= 0 ? `no HW bit for physical IRQ ${phys}` : "the HW bit for an interrupt with no physical desc");
      else if (lr.hw && lr.physicalId !== phys) bad.push(`physical ID ${lr.physicalId}, its desc's is ${phys}`);
      this.add("lr-contents", `${v.name} returns to the guest on pCPU ${pcpu} with LR${i} ${hex(raw)} for IRQ ${lr.virtualId}: ${bad.join(", ")}`);
    }
  }

  private inOrder(v: Vcpu, pcpu: number, list: string, items: Iterable<PendingIrq>): void {
    let prev: PendingIrq | null = null;
    for (const p of items) {
      if (prev !== null && p.priority < prev.priority) {
        this.add("list-order", `${v.name} returns to the guest on pCPU ${pcpu} with IRQ ${p.irq} (priority ${hex(p.priority)}) after IRQ ${prev.irq} (priority ${hex(prev.priority)}) on its ${list}`);
        return;
      }
      prev = p;
    }
  }

  /** observer point (VgicObserver) */
  clearedLrs(v: Vcpu, pcpu: number): void {
    this.counts.cleared++;
    const hcr = this.hcr(pcpu);
    if ((hcr & HCR.UIE) !== 0) {
      this.add("maintenance-enables", `${v.name} on pCPU ${pcpu}: GICH_HCR ${hex(hcr)} keeps UIE after gic_clear_lrs`);
    }
  }
}
