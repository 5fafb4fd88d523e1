// What the physical distributor still holds once a run is over, judged the
// same way by the fuzzer (at quiescence) and the workload runner (after its
// drain): a raised edge latched there for an interrupt the guest enabled is
// taken by a pCPU within an injection's path unless something keeps it from
// every pCPU (its physical enable bit left clear, an ITARGETSR byte naming
// no pCPU). Nothing delivers it, so its instances are lost, not pending.

import type { Gic } from "../hw/gic.ts";
import type { VgicDesign } from "../xen/design.ts";
import type { Finding } from "./vgic.ts";

/** Each routed SPI of `irqs` the guest enabled that is pending and not
 *  active in the distributor (active: its instance waits for the guest's
 *  deactivation, a stuck-active finding when nobody will do it). */
export function pendingNotTaken(design: VgicDesign, gic: Gic, irqs: Iterable<number>): Finding[] {
  const out: Finding[] = [];
  for (const irq of irqs) {
    if (!design.guestEnabled(irq) || !gic.isPending(0, irq) || gic.isActive(0, irq)) continue;
    const targets = gic.targets(irq);
    out.push({
      kind: "lost", path: "pending-not-taken", irq,
      message: `IRQ ${irq}: raised and enabled by the guest, but left pending in the distributor where no pCPU takes it ` +
        `(physically ${gic.isEnabled(0, irq) ? "enabled" : "disabled"}, ITARGETSR 0x${targets.toString(16).padStart(2, "0")}${targets === 0 ? ": no pCPU" : ""})`,
    });
  }
  return out;
}
