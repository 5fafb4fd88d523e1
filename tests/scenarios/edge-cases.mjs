// Scenarios that probe the explorer's verdicts at their edges, loaded with
// --scenarios by tests/explore.test.ts.
import { buildSystem, guestCpuInterfaces, frame, trap, GICD } from "../../build/lib.mjs";

/** vCPU0 disables SGI 3, then sends it to itself twice: the second
 *  injection meets the first still inflight and not in a list register,
 *  and xen-4.8's gic_raise_inflight_irq passes GIC_INVALID_LR on to
 *  gic_update_one_lr (XSA-223): the run ends in the modelled crash. */
function* sgiTwice(g) {
  yield* g.writeDist(GICD.ICENABLER, 1 << 3);
  yield* g.writeDist(GICD.SGIR, (0b10 << 24) | 3);
  yield* g.writeDist(GICD.SGIR, (0b10 << 24) | 3);
  yield* trap(g);
}

/** A guest that traps for ever: no run of it ends. */
function* trapForever(g) {
  for (;;) yield* trap(g);
}

function* trapOnce(g) {
  yield* trap(g);
}

const system = (variant, scheduler, opts, programs) => {
  const sys = buildSystem({ variant, scheduler, instantBoot: true, trace: opts.trace ?? false, routed: [], programs });
  guestCpuInterfaces(sys);
  return frame(sys, () => []);
};

export const scenarios = [
  { name: "sgi-twice-disabled", summary: "a disabled SGI sent twice to the sender itself (XSA-223 on xen-4.8)",
    build: (variant, scheduler, opts = {}) => system(variant, scheduler, opts, [sgiTwice, trapOnce]) },
  { name: "never-ends", summary: "a guest that never stops trapping: no run ends",
    build: (variant, scheduler, opts = {}) => system(variant, scheduler, opts, [trapForever, trapOnce]) },
];
