// The library API of vgic-lab, bundled to build/lib.mjs for scenario files
// (`vgic explore --scenarios FILE`) and other programs: the machine and its
// schedulers, the system builder and the direct set-up helpers, the guest's
// driver, register names, the shared checks, the bundled scenarios and the
// explorer itself.

export { Gic, Line, ConfigError, type GicConfig } from "./hw/gic.ts";
export { GICD, GICC, GICH, GICV, LrState, encodeLr, decodeLr, sgir } from "./hw/regs.ts";
export {
  Machine, Thread, PCpu, Sched, exploreDfs, scheduleToString, scheduleFromString, ReplayError, Trace,
  spin_lock, spin_unlock, spin_lock_irqsave, spin_unlock_irqrestore, SpinLock, defaultProfile,
  type Co, type Scheduler, type Schedule, type RunResult,
} from "./sim/index.ts";
export { buildSystem, type System, type SystemOptions } from "./xen/system.ts";
export { guestIrq, guestCpuInterfaces, inListRegister, onLrPending, migrating, type GuestIrqSetup } from "./xen/setup.ts";
export {
  SCENARIOS, scenarioNamed, frame, expectDelivered, device, trap, waitDelivered, type Scenario, type ScenarioRun,
} from "./xen/scenarios.ts";
export { VARIANTS, variantNamed, type VariantInfo } from "./xen/variants.ts";
export type { VgicDesign, DesignNames } from "./xen/design.ts";
export { NewVgic } from "./xen/new-vgic/vgic.ts";
export {
  GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_ACTIVE, GIC_IRQ_GUEST_VISIBLE, GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING,
} from "./xen/pending.ts";
export { GuestCpu, type GuestProgram, type IrqAction } from "./guest/guest.ts";
export {
  gic_dist_init, gic_cpu_init, gic_set_type, gic_set_priority, gic_set_affinity, gic_unmask_irq, gic_mask_irq,
  gic_raise_softirq, GICD_INT_DEF_PRI,
} from "./guest/driver.ts";
export { checkVgic, checkRun, describeLrs, type Finding, type FindingKind } from "./check/vgic.ts";
export {
  explore, minimise, explain, story, runOnce, DEFAULT_FAIL_ON, ALL_KINDS,
  type ExploreOptions, type ExploreResult, type Counterexample, type Strategy,
} from "./explore/engine.ts";
export { parseReplayFile, replayCounterexample, toReplayFile, type ReplayFile } from "./explore/replay.ts";
export { timeline, snapshot, type Timeline, type TimelineStep, type Snapshot } from "./explore/timeline.ts";
