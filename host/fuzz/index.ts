// The MMIO fuzzer: engine, targets, planted faults (tests only), workers.

export * from "./engine.ts";
export * from "./target.ts";
export { hwTarget, hwFeatureName, type HwConfig, type HwOp } from "./hw.ts";
export { vgicTarget, vgicFeatureName, runVgicCase, explainVgicCase, legalGicdAccess, type VgicConfig, type VgicOp } from "./vgic.ts";
export { HW_FAULTS, VGIC_FAULTS, plantFaults, plantVgicFaults, type HwFault, type VgicFault } from "./faults.ts";
export { fuzzParallel, fuzzWorkerData, runFuzzWorker } from "./parallel.ts";
