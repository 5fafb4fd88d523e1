// Planted changes to a vGIC design, for the fuzzer's own tests only (as
// ./faults.ts is for the hardware model): each replaces one function of the
// design's instance with a slightly wrong copy, the way a patch under review
// might, leaving the variant classes untouched. Nothing on the command line
// selects them; a finding file that names one replays with it.

import type { Co } from "../sim/api.ts";
import type { PCpu } from "../sim/machine.ts";
import type { Vcpu } from "../xen/domain.ts";
import type { Vgic } from "../xen/vgic.ts";

export const VGIC_FAULTS = {
  /** vgic_enable_irqs forgets the physical side: an SPI the guest enables
   *  (its first enable, or after a disable) stays disabled in the
   *  distributor, and a raised edge waits there for ever */
  "enable-no-physical": "vgic_enable_irqs does not enable the physical interrupt",
  /** gic_raise_inflight_irq re-sorts the interrupt on v's inflight list by
   *  priority, as if it were always v's list: when the interrupt is still on
   *  the old vCPU's list (it is migrating) the unlink is a list race */
  "inflight-resort": "gic_raise_inflight_irq unlinks and relinks the interrupt on v's inflight list",
} as const;
export type VgicFault = keyof typeof VGIC_FAULTS;

export function isVgicFault(name: string): name is VgicFault {
  return Object.prototype.hasOwnProperty.call(VGIC_FAULTS, name);
}

/** Plant the named changes into `vgic`. */
export function plantVgicFaults(vgic: Vgic, faults: readonly string[]): void {
  for (const f of faults) if (!isVgicFault(f)) throw new RangeError(`unknown fault '${f}' (known: ${Object.keys(VGIC_FAULTS).join(", ")})`);
  // an own property of the instance shadows the design's method
  const o = vgic as unknown as Record<string, unknown>;
  if (faults.includes("enable-no-physical")) {
    // eslint-disable-next-line require-yield
    o.gicv2_irq_enable = function* gicv2_irq_enable(): Co {};
  }
  if (faults.includes("inflight-resort")) {
    const raise = vgic.gic_raise_inflight_irq.bind(vgic);
    o.gic_raise_inflight_irq = function* gic_raise_inflight_irq(ctx: PCpu, v: Vcpu, virq: number): Co {
      const n = vgic.d.irq_to_pending(v, virq);
      v.inflight_irqs.del(n);
      v.inflight_irqs.insertByPriority(n);
      yield* raise(ctx, v, virq);
    };
  }
}
