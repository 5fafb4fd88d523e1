// The fuzzer's physical-affinity check: at quiescence a routed SPI's
// physical GICD_ITARGETSR names its target vCPU's pCPU, unless it is
// MIGRATING (original vGIC: still in an LR, the affinity moves when
// gic_update_one_lr retires it) or the new vGIC has no target_vcpu. Xen 4.9
// itself leaves a stale affinity when the LR is retired between
// vgic_migrate_irq and the rank->vcpu store: a finding of its own path.
// Planted: 4.9's retire skipping irq_set_affinity, identical to clean
// before the check.

import { describe, expect, it } from "vitest";
import { buildSystem, type System } from "../host/xen/system.ts";
import { guestCpuInterfaces, guestIrq } from "../host/xen/setup.ts";
import { checkAffinity } from "../host/check/affinity.ts";
import { isOldVgic } from "../host/xen/design.ts";
import { GIC_IRQ_GUEST_MIGRATING } from "../host/xen/pending.ts";
import type { NewVgic } from "../host/xen/new-vgic/vgic.ts";
import { fuzz, runVgicCase, type VgicConfig, type VgicOp } from "../host/fuzz/index.ts";

/** vCPU0 on pCPU0, vCPU1 on pCPU1; SPI 40 routed to vCPU0 */
function system(variant: string): System {
  const sys = buildSystem({ variant, pcpus: 2, placement: [0, 1], routed: [40], programs: [undefined, undefined], instantBoot: true });
  guestCpuInterfaces(sys);
  guestIrq(sys, { irq: 40, target: 0 });
  return sys;
}
const found = (sys: System) => checkAffinity(sys.vgic, sys.gic).map((f) => `${f.kind}:${f.path} ${f.irq} v${f.vcpu}`);

describe("physical affinity at quiescence", () => {
  it("original vGIC: follows rank->vcpu unless MIGRATING", () => {
    const sys = system("xen-4.9");
    if (!isOldVgic(sys.vgic)) throw new Error("not the original vGIC");
    const d = sys.vgic.d;
    expect(sys.gic.targets(40)).toBe(1);
    expect(found(sys)).toEqual([]);
    // the guest's ITARGETSR now names vCPU1 (pCPU1), the distributor still pCPU0
    d.rank_irq(d.vcpu[0]!, 40).setTarget(40 & 31, 1);
    expect(found(sys)).toEqual(["affinity:not-target-pcpu 40 v1"]);
    // ... legitimately while it is MIGRATING (waiting in an LR for its EOI)
    d.spi_to_pending(40).set_bit(GIC_IRQ_GUEST_MIGRATING);
    expect(found(sys)).toEqual([]);
  });

  it("new vGIC: follows target_vcpu, none judged without one", () => {
    const sys = system("new-vgic");
    const vgic = sys.vgic as unknown as NewVgic;
    const irq = vgic.vgic_get_irq(null, 40);
    expect(irq.target_vcpu?.vcpu_id).toBe(0);
    expect(found(sys)).toEqual([]);
    irq.target_vcpu = vgic.d.vcpu[1]!;
    expect(found(sys)).toEqual(["affinity:not-target-pcpu 40 v1"]);
    irq.target_vcpu = null; // an ITARGETSR byte of 0
    expect(found(sys)).toEqual([]);
  });

  it("names Xen 4.9's window: the LR retired between vgic_migrate_irq and the rank->vcpu store", () => {
    // a fuzz case (xen-4.9, seed 1, case 722, shrunk): SPI 32, pending
    // for vCPU1, is moved to vCPU2 (pCPU2) and back to vCPU1 (pCPU1) while
    // in a list register; the retire reads rank->vcpu before the second
    // store and points the affinity at pCPU2. Nothing is lost.
    const config: VgicConfig = {
      variant: "xen-4.9", pcpus: 3, placement: [0, 1, 2, 0], listRegisters: 2,
      spis: [{ irq: 32, target: 1, priority: 160, enabled: true }, { irq: 34, target: 0, priority: 128, enabled: true }],
      sched: { kind: "random", seed: 3684404555 }, maxSteps: 50000, timeSlice: 20000,
    };
    const ops: VgicOp[] = [
      { v: "dev", t: "raise", irq: 32, gap: 1 }, { v: 1, t: "r", off: 0x985, size: 4 },
      { v: 0, t: "w", off: 0x820, size: 1, value: 4 }, { v: 2, t: "w", off: 0x300, size: 4, value: 1 },
      { v: 2, t: "w", off: 0x820, size: 1, value: 2 },
    ];
    const r = runVgicCase(config, ops);
    expect(r.violations.map((v) => v.signature)).toEqual(["affinity:set-before-target-store"]);
    expect(r.violations[0]!.message).toMatch(/^physical IRQ 32 targets pCPUs 0x4 .* not pCPU1 of its vCPU1: .* old target vCPU2/);
    r.sys?.gic.release();
    // a retire that moves no affinity at all is the other path
    const planted = runVgicCase(config, ops, { faults: ["retire-skips-affinity"] });
    expect(planted.violations.map((v) => v.signature)).toEqual(["affinity:not-target-pcpu"]);
    planted.sys?.gic.release();
  });

  it("finds 4.9's retire skipping irq_set_affinity, planted, which the clean design never shows", () => {
    const sigs = (faults: string[]) => Object.keys(fuzz({ target: "vgic", seed: 1, cases: 150, params: { variant: "xen-4.9" }, faults, signaturesOnly: true }).signatures)
      .filter((s) => s.startsWith("affinity"));
    expect(sigs(["retire-skips-affinity"])).toEqual(["affinity:not-target-pcpu"]);
    expect(sigs([])).toEqual([]);
  });
});
