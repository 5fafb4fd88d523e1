// One call that assembles a whole simulated system: the physical GIC, the
// machine with its scheduler and cost profile, a vGIC of the named design,
// and the hypervisor running guest programs on its pCPUs.

import { Gic, type GicConfig } from "../hw/gic.ts";
import { replayBuild } from "../hw/replay.ts";
import { Machine, type MachineOptions } from "../sim/machine.ts";
import { Sched, type Scheduler } from "../sim/sched.ts";
import { defaultProfile } from "../sim/profile.ts";
import type { CostProfile } from "../sim/api.ts";
import type { MemoryOptions } from "../sim/memory.ts";
import type { GuestProgram } from "../guest/guest.ts";
import { Hypervisor, checkPrograms, type HypervisorOptions } from "./hypervisor.ts";
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
  /** @internal answer the model's calls of the build from earlier identical
   *  builds (host/hw/replay.ts; default off). For callers that build the
   *  same system again and again: the scenarios, once per explored
   *  schedule. A build not seen before pays for the bookkeeping. */
  replay?: boolean;
}

export interface System {
  gic: Gic;
  machine: Machine;
  vgic: VgicDesign;
  hyp: Hypervisor;
}

export function buildSystem(o: SystemOptions): System {
  checkPrograms(o.programs); // (the default placement counts them)
  const pcpus = o.pcpus ?? 2;
  const base = { cpus: pcpus, irqs: o.irqs ?? 128, listRegisters: o.listRegisters ?? 4 };
  const gic = Gic.create(o.gic === undefined ? base : { ...base, ...o.gic });
  return o.replay === true ? replayBuild(gic, () => assemble(o, gic, pcpus)) : assemble(o, gic, pcpus);
}

function assemble(o: SystemOptions, gic: Gic, pcpus: number): System {
  const mo: MachineOptions = {
    gic, profile: o.profile ?? defaultProfile(), scheduler: o.scheduler ?? Sched.time(), trace: o.trace ?? false,
    lockdep: o.lockdep ?? true,
  };
  if (o.memory !== undefined) mo.memory = o.memory;
  if (o.lockBarrier !== undefined) mo.lockBarrier = o.lockBarrier;
  if (o.fastPath !== undefined) mo.fastPath = o.fastPath;
  const machine = new Machine(mo);
  let placement = o.placement;
  if (placement === undefined) {
    placement = [];
    for (let i = 0; i < o.programs.length; i++) placement.push(i % pcpus);
  }
  const name = o.variant ?? "xen-4.8";
  const vgic = variantNamed(name).create(machine, { placement, routed: o.routed ?? [] });
  // A design goes by the name it was registered under: a user's variant
  // whose create returns its parent's design, or a subclass that kept the
  // parent's `variant`, would otherwise report its results as the parent's.
  // (defined, not assigned: a design may have a getter of its own)
  if (vgic.variant !== name) Object.defineProperty(vgic, "variant", { value: name, writable: true, enumerable: true, configurable: true });
  const ho: HypervisorOptions = { programs: o.programs, instantBoot: o.instantBoot ?? false };
  if (o.timeSlice !== undefined) ho.timeSlice = o.timeSlice;
  const hyp = new Hypervisor(machine, vgic, ho);
  return { gic, machine, vgic, hyp };
}
