// Reading the original design's state at a quiescent moment, for the checks
// and the accounting (VgicDesign.virtualPending).

import type { Gic } from "../hw/gic.ts";
import { LrState, decodeLr } from "../hw/regs.ts";
import type { Vcpu } from "./domain.ts";
import { GIC_INVALID_LR, GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_VISIBLE, type PendingIrq } from "./pending.ts";
import type { Vgic } from "./vgic.ts";

/** Instances pending in the vGIC: a QUEUED one (waiting for a list
 *  register, or to be folded into one) and one pending in its list
 *  register (in hardware, or saved with a descheduled vCPU). */
export function pendingIrqPending(vgic: Vgic, gic: Gic, p: PendingIrq, owner?: Vcpu): number {
  const queued = p.test_bit(GIC_IRQ_GUEST_QUEUED) ? 1 : 0;
  if (!p.test_bit(GIC_IRQ_GUEST_VISIBLE) || p.lr === GIC_INVALID_LR || p.inflight === null) return queued;
  const v = owner ?? vgic.d.vcpu[p.inflight.vcpu_id]!;
  const running = vgic.pcpu[v.processor]!.current === v;
  const value = running ? gic.listRegister(v.processor, p.lr) : v.saved?.lrs[p.lr] ?? 0;
  const lr = decodeLr(value);
  return queued + (lr.virtualId === p.irq && (lr.state & LrState.Pending) !== 0 ? 1 : 0);
}
