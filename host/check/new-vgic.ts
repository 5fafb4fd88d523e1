// Invariants of the new vGIC's state (Xen 4.11 xen/arch/arm/vgic/), shared
// by tests, the explorer and the fuzzer through checkVgic. At a quiescent
// moment: an interrupt is on at most one ap_list and irq->vcpu names that
// list; every list register in use holds an interrupt on its vCPU's ap_list
// and agrees with it (HW bit, physical ID); nothing the oracle would deliver
// is off every ap_list, or stranded on the list of a vCPU blocked in WFI
// that nobody will wake; and every physical interrupt Xen acknowledged has
// a way to be deactivated.

import type { Gic } from "../hw/gic.ts";
import { decodeLr } from "../hw/regs.ts";
import type { NewVgic } from "../xen/new-vgic/vgic.ts";
import { irq_is_pending, type VgicIrq } from "../xen/new-vgic/irq.ts";
import type { Finding } from "./vgic.ts";

export function checkNewVgic(vgic: NewVgic, gic: Gic): Finding[] {
  const findings: Finding[] = [];
  const d = vgic.d;
  const where = (irq: VgicIrq, owner: number | null) => `IRQ ${irq.intid}${owner !== null ? ` of vCPU${owner}` : ""}`;
  const ownedBy = (owner: number | null): { vcpu?: number } => (owner !== null ? { vcpu: owner } : {});

  // ap_list membership
  const seen = new Map<VgicIrq, number>();
  vgic.vgic_cpu.forEach((vc, k) => {
    for (const irq of vc.ap_list_head) {
      const other = seen.get(irq);
      if (other !== undefined) findings.push({ kind: "lr-mismatch", message: `IRQ ${irq.intid} is on the ap_lists of vCPU${other} and vCPU${k}` });
      seen.set(irq, k);
      if (irq.vcpu !== d.vcpu[k]) findings.push({ kind: "lr-mismatch", message: `IRQ ${irq.intid} is on vCPU${k}'s ap_list but irq->vcpu names ${irq.vcpu ? `vCPU${irq.vcpu.vcpu_id}` : "none"}` });
    }
  });
  // every interrupt made so far with its owning vCPU (null for an SPI),
  // SPIs first (one not made is on no ap_list and has nothing for the
  // oracle to deliver)
  const all: Array<[VgicIrq, number | null]> = [];
  vgic.dist.madeIrqs(null, all);
  vgic.vgic_cpu.forEach((vc, k) => vc.madeIrqs(k, all));
  const eachIrq = (f: (irq: VgicIrq, owner: number | null) => void) => {
    for (const [irq, owner] of all) f(irq, owner);
  };
  eachIrq((irq, owner) => {
    if (irq.vcpu !== null && !seen.has(irq)) {
      findings.push({ kind: "lr-mismatch", message: `${where(irq, owner)}: irq->vcpu names vCPU${irq.vcpu.vcpu_id} but it is on no ap_list` });
    }
  });

  // list registers
  const lrs = vgic.listRegisters(gic);
  const inLr = new Set<VgicIrq>();
  for (const l of lrs) {
    const lr = decodeLr(l.value);
    const irq = vgic.vgic_get_irq(l.vcpu, lr.virtualId);
    if (inLr.has(irq)) findings.push({ kind: "lr-mismatch", message: `IRQ ${lr.virtualId} sits in two list registers` });
    inLr.add(irq);
    if (irq.vcpu !== l.vcpu) {
      findings.push({ kind: "lr-mismatch", message: `LR${l.lr} of vCPU${l.vcpu.vcpu_id} holds IRQ ${lr.virtualId}, which is ${irq.vcpu ? `on vCPU${irq.vcpu.vcpu_id}'s ap_list` : "on no ap_list"}` });
    }
    if (lr.hw !== irq.hw || (lr.hw && lr.physicalId !== irq.hwintid)) {
      findings.push({ kind: "lr-mismatch", message: `LR${l.lr} of vCPU${l.vcpu.vcpu_id} holds IRQ ${lr.virtualId} as ${lr.hw ? `HW pIRQ ${lr.physicalId}` : "software"}, vgic_irq says ${irq.hw ? `HW pIRQ ${irq.hwintid}` : "software"}` });
    }
  }

  // A live LR runs ahead of its vgic_irq (the guest acknowledges and EOIs
  // without a trap), so the two agree at the fold: an LR beyond the
  // vCPU's used_lrs would never be folded, and a vCPU that is not running
  // was folded at its exit, so its saved LRs are empty.
  for (const l of lrs) {
    const running = vgic.pcpu[l.vcpu.processor]!.current === l.vcpu;
    if (!running) {
      findings.push({ kind: "lr-mismatch", message: `vCPU${l.vcpu.vcpu_id} is not running but its saved LR${l.lr} holds IRQ ${l.value & 0x3ff}: its exit did not fold it into vgic_irq` });
    } else if (l.lr >= vgic.vgic_cpu[l.vcpu.vcpu_id]!.used_lrs) {
      findings.push({ kind: "lr-mismatch", message: `LR${l.lr} of vCPU${l.vcpu.vcpu_id} holds IRQ ${l.value & 0x3ff} beyond used_lrs (${vgic.vgic_cpu[l.vcpu.vcpu_id]!.used_lrs}): vgic_sync_from_lrs will never fold it` });
    }
  }

  // liveness: what the oracle would deliver is on a list whose vCPU will run
  eachIrq((irq, owner) => {
    const target = vgic.vgic_target_oracle(irq);
    if (target === null || inLr.has(irq)) return;
    if (irq.vcpu === null) {
      findings.push({ kind: "lost", path: "queued-on-no-list", irq: irq.intid, ...ownedBy(owner), message: `${where(irq, owner)} is ${irq.describe()}: vgic_target_oracle names vCPU${target.vcpu_id} but it is on no ap_list, so it will never be delivered` });
    } else if (irq.vcpu.blocked && irq.enabled && irq_is_pending(irq)) {
      findings.push({ kind: "lost", path: "blocked-not-woken", irq: irq.intid, vcpu: irq.vcpu.vcpu_id, message: `${where(irq, owner)} is ${irq.describe()}, but vCPU${irq.vcpu.vcpu_id} is blocked in WFI and nobody will wake it` });
    }
  });

  // physical interrupts Xen acknowledged (priority-dropped, still active)
  for (const desc of vgic.descs.values()) {
    if (!gic.isActive(0, desc.irq)) continue;
    const irq = vgic.dist.spi(desc.irq)!;
    const hwLr = lrs.some((l) => { const lr = decodeLr(l.value); return lr.hw && lr.physicalId === desc.irq; });
    const parked = irq_is_pending(irq) && vgic.vgic_target_oracle(irq) === null; // the guest disabled or untargeted it
    if (!hwLr && irq.vcpu === null && !parked) {
      findings.push({ kind: "stuck-active", irq: desc.irq, message: `physical IRQ ${desc.irq} is active in the distributor with no HW list register and IRQ ${desc.irq} ${irq.describe()}: nobody will deactivate it, and it will never fire again` });
    }
  }
  return findings;
}
