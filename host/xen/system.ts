// One call that assembles a whole simulated system: the physical GIC, the
// machine with its scheduler and cost profile, a vGIC of the named design,
// and the hypervisor running guest programs on its pCPUs.

import { Gic, type GicConfig } from "../hw/gic.ts";
import { Machine } from "../sim/machine.ts";
import { Sched, type Scheduler } from "../sim/sched.ts";
import { defaultProfile } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import type { GuestProgram } from "../guest/guest.ts";
import { Hypervisor } from "./hypervisor.ts";
import { variantNamed } from "./variants.ts";
import type { RoutedIrq } from "./vgic.ts";
import type { VgicDesign } from "./design.ts";

export interface SystemOptions extends MemoryOptions {
  /** physical CPUs (default 2) */
  pcpus?: number;
  /** interrupts of the physical GIC (default 128) */
  irqs?: number;
  listRegisters?: number;
  gic?: Partial<GicConfig>;
  variant?: string;
  /** vCPU -> pCPU (default one to one over the pCPUs) */
  placement?: number[];
  /** physical SPIs routed to the guest */
  routed?: Array<number | RoutedIrq>;
  programs: (GuestProgram | undefined)[];
  scheduler?: Scheduler;
  profile?: CostProfile;
  trace?: boolean;
  /** lock-order checking (default on) */
  lockdep?: boolean;
  timeSlice?: number;
  instantBoot?: boolean;
  /** @internal the machine's fast path (MachineOptions.fastPath, default on) */
  fastPath?: boolean;
}

export interface System {
  gic: Gic;
  machine: Machine;
  vgic: VgicDesign;
  hyp: Hypervisor;
}

export function buildSystem(o: SystemOptions): System {
  const pcpus = o.pcpus ?? 2;
  const gic = Gic.create({ cpus: pcpus, irqs: o.irqs ?? 128, listRegisters: o.listRegisters ?? 4, ...o.gic });
  const machine = new Machine({
    gic, profile: o.profile ?? defaultProfile(), scheduler: o.scheduler ?? Sched.time(), trace: o.trace ?? false,
    lockdep: o.lockdep ?? true,
    ...(o.memory !== undefined ? { memory: o.memory } : {}),
    ...(o.lockBarrier !== undefined ? { lockBarrier: o.lockBarrier } : {}),
    ...(o.fastPath !== undefined ? { fastPath: o.fastPath } : {}),
  });
  const nv = o.programs.length;
  const placement = o.placement ?? Array.from({ length: nv }, (_, i) => i % pcpus);
  const vgic = variantNamed(o.variant ?? "xen-4.8").create(machine, { placement, routed: o.routed ?? [] });
  const hyp = new Hypervisor(machine, vgic, {
    programs: o.programs, instantBoot: o.instantBoot ?? false,
    ...(o.timeSlice !== undefined ? { timeSlice: o.timeSlice } : {}),
  });
  return { gic, machine, vgic, hyp };
}
