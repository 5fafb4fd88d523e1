// A design that throws a host exception part-way through a run, for the
// tests only (`--variants`): xen-4.8 whose vgic_get_target_vcpu throws. A
// counterexample of xen-4.8 replayed under it ends in an exception the file
// does not record, so the replay broke (`vgic explore --replay` exits 3),
// which no built-in scenario and design reaches. tests/web-worker.test.ts
// loads it as the command does; tests/web-page.test.ts bundles it into the
// page's worker (throwing-worker.mjs).
import { Vgic } from "../../build/lib.mjs";

export const MESSAGE = "test design: vgic_get_target_vcpu throws";

class Xen48Throws extends Vgic {
  variant = "xen-4.8-throws";

  // eslint-disable-next-line require-yield
  *vgic_get_target_vcpu() {
    throw new Error(MESSAGE);
  }
}

export const variants = [
  { name: "xen-4.8-throws", parent: "xen-4.8", summary: "test only: xen-4.8 whose vgic_get_target_vcpu throws", create: (m, o) => new Xen48Throws(m, o) },
];
