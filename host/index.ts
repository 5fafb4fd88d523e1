/**
 * vgic-lab's library API: `import { ... } from "vgic-lab"` (bundled to
 * build/lib.mjs, declarations in build/types/). Everything the `vgic` command
 * does is reachable from here:
 *
 * - the hardware model: {@link Gic} (one wasm instance of a GICv2 with the
 *   virtualization extensions), register offsets ({@link GICD} ...), list
 *   register encoding, register scripts;
 * - the deterministic machine: {@link Machine}, spinlocks, schedulers
 *   ({@link Sched}), traces, cost profiles;
 * - a booted system: {@link buildSystem} (GIC + machine + a vGIC design +
 *   the hypervisor running guest programs), set-up helpers, the guest driver;
 * - the vGIC designs: {@link Vgic} (Xen 4.8) and its variants, and
 *   {@link registerVariant} for one's own;
 * - workloads: {@link parseWorkload}, {@link runWorkload}, reports;
 * - the race explorer: {@link explore} over a {@link Scenario} (one's own
 *   too: see examples/my-scenario.mjs);
 * - the fuzzer: {@link fuzz}, {@link replay};
 * - the benchmarks: {@link runLatencyBench} and the throughput sections.
 *
 * @packageDocumentation
 */

export { VERSION } from "./version.ts";

// ---- the hardware model
export {
  Gic, Line, Access, ConfigError, DEFAULT_CONFIG, VIRT_MAP, validateConfig,
  type GicConfig, type MemoryMap, type RawGic, type BadAccessCounts,
} from "./hw/gic.ts";
export { GICD, GICC, GICH, GICV, LrState, encodeLr, decodeLr, sgir } from "./hw/regs.ts";
export { parseScript, runScript, ScriptError } from "./hw/script.ts";

// ---- the machine
export {
  Machine, Thread, PCpu, Sched, exploreDfs, scheduleToString, scheduleFromString, ReplayError, Trace,
  spin_lock, spin_unlock, spin_lock_irqsave, spin_unlock_irqrestore, SpinLock, defaultProfile,
  type Co, type Scheduler, type Schedule, type RunResult,
} from "./sim/index.ts";
export { point, type CostProfile, type CostName } from "./sim/api.ts";
export { loadProfile, parseProfile, profilePath, ProfileError } from "./sim/profile.ts";

// ---- a booted system
export { buildSystem, type System, type SystemOptions } from "./xen/system.ts";
export { Hypervisor } from "./xen/hypervisor.ts";
export { Domain, type Vcpu } from "./xen/domain.ts";
export { guestIrq, guestCpuInterfaces, inListRegister, onLrPending, migrating, type GuestIrqSetup } from "./xen/setup.ts";
export { GuestCpu, type GuestProgram, type IrqAction } from "./guest/guest.ts";
export {
  gic_dist_init, gic_cpu_init, gic_set_type, gic_set_priority, gic_set_affinity, gic_unmask_irq, gic_mask_irq,
  gic_raise_softirq, GICD_INT_DEF_PRI,
} from "./guest/driver.ts";

// ---- the vGIC and its designs
export { Vgic, type VgicOptions, type VgicStats, type RoutedIrq } from "./xen/vgic.ts";
export {
  VARIANTS, V3Posted, V3Fixed, Xen49, variantNamed, allVariants, registerVariant, type VariantInfo,
} from "./xen/variants.ts";
export {
  GIC_IRQ_GUEST_QUEUED, GIC_IRQ_GUEST_ACTIVE, GIC_IRQ_GUEST_VISIBLE, GIC_IRQ_GUEST_ENABLED, GIC_IRQ_GUEST_MIGRATING,
  type PendingIrq, type IrqDesc, type VgicIrqRank,
} from "./xen/pending.ts";
export type { VgicDesign, DesignNames } from "./xen/design.ts";
export { NewVgic } from "./xen/new-vgic/vgic.ts";
export { loadScenarios, loadVariants, ExtensionFileError } from "./extend.ts";

// ---- scenarios and the shared checks
export {
  SCENARIOS, scenarioNamed, frame, expectDelivered, device, trap, waitDelivered, type Scenario, type ScenarioRun,
} from "./xen/scenarios.ts";
export { checkVgic, checkRun, describeLrs, type Finding, type FindingKind } from "./check/vgic.ts";

// ---- workloads
export { parseWorkload, validateWorkload, WorkloadError, workloadJsonSchema, type Workload, type Device, type Arrival } from "./workload/schema.ts";
export {
  runWorkload, variantsFor, type RunOptions, type RunOutput, type WorkloadResult, type Perf, type SourceResult, type LatencyResult,
} from "./workload/runner.ts";
export { formatResult, formatComparison } from "./workload/format.ts";
export { renderReport } from "./workload/report.ts";

// ---- the race explorer
export {
  explore, minimise, explain, story, runOnce, DEFAULT_FAIL_ON, ALL_KINDS, STRATEGIES,
  type ExploreOptions, type ExploreResult, type Counterexample, type Strategy,
} from "./explore/engine.ts";
export { parseReplayFile, replayCounterexample, toReplayFile, ReplayFileError, type ReplayFile, type ReplayOutcome } from "./explore/replay.ts";
export { timeline, snapshot, type Timeline, type TimelineStep, type Snapshot } from "./explore/timeline.ts";

// ---- the fuzzer
export {
  fuzz, replay, readFinding, parseFinding, getTarget, TARGETS, rates,
  type FuzzOptions, type FuzzStats, type FuzzReport, type Finding as FuzzFinding, type ReplayResult as FuzzReplayResult,
} from "./fuzz/engine.ts";
export { FindingError, type FuzzTarget, type FuzzSession } from "./fuzz/target.ts";

// ---- benchmarks
export {
  runLatencyBench, formatLatency, type LatencyOptions, type LatencyResult as LatencyBenchResult, type PathResult,
} from "./bench/latency.ts";
export { runHardwareBench, type Rate } from "./bench/hw.ts";
export { runSimBench, type SimBench } from "./bench/sim.ts";
export { runStackBench, type StackRate, type StackFailure, type StackResult } from "./bench/stack.ts";
