// A user scenario for `vgic explore --scenarios examples/my-scenario.mjs`.
// Build first (`npm run build`: build/lib.mjs is the library). A scenario is
// a name, a one-line summary, and build(variant, scheduler, opts) that
// returns {sys, check(result), delivered}; `frame` supplies the shared checks.
// opts carries trace, memory and lockBarrier under `--memory weak`, and
// gicLatency under `--gic-latency N`: pass them on to buildSystem (the
// explorer refuses a system that ignores them).
// The guest programs are generator functions of the module, handed over by
// arrow functions: a `function*` written inside build would be a new
// generator function per schedule, and V8 then keeps every schedule's system
// alive through young collections (a search several times slower).
//
//   node build/vgic.mjs explore my-rank-migrate --scenarios examples/my-scenario.mjs --variant xen-4.8
//   node build/vgic.mjs explore --matrix --scenarios examples/my-scenario.mjs

import {
  buildSystem, guestCpuInterfaces, guestIrq, inListRegister, frame, expectDelivered, device, trap, GICD, GICV,
} from "../build/lib.mjs";

const N = 44; // migrates while in vCPU1's list register
const M = 45; // same rank, retargeted by vCPU0

function* retarget(g) {
  yield* g.writeDist(GICD.ITARGETSR + N, 1 << 0, 1); // N: vCPU1 -> vCPU0, while in vCPU1's LR
  yield* g.writeDist(GICD.ITARGETSR + M, 1 << 0, 1);
  yield* g.work(30000);
  yield* trap(g);
}

function* eoiAndTrap(g) {
  g.writeCpu(GICV.EOIR, N);
  yield* trap(g);
  yield* g.work(30000);
  yield* trap(g);
}

export const scenarios = [
  {
    name: "my-rank-migrate",
    summary: "vCPU1 EOIs N and traps (gic_clear_lrs) while vCPU0 retargets M of the same rank; N fires again and must be delivered",
    build(variant, scheduler, opts = {}) {
      const sys = buildSystem({
        variant, scheduler, instantBoot: true, trace: opts.trace ?? false, memory: opts.memory, lockBarrier: opts.lockBarrier,
        ...(opts.gicLatency ? { gic: { propagationDelay: opts.gicLatency } } : {}),
        routed: [{ irq: N, edge: true }, M],
        programs: [(g) => retarget(g), (g) => eoiAndTrap(g)],
      });
      guestCpuInterfaces(sys);
      guestIrq(sys, { irq: N, target: 1 });
      guestIrq(sys, { irq: M, target: 1 });
      inListRegister(sys, 1, N, 0, true);
      device(sys, 20000, N);
      return frame(sys, (_r, delivered) => expectDelivered(N, delivered));
    },
  },
];
