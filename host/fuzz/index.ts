// The MMIO fuzzer: engine, targets, planted faults (tests only), workers.

export * from "./engine.ts";
export * from "./target.ts";
export { hwTarget, hwFeatureName, type HwConfig, type HwOp } from "./hw.ts";
export { vgicTarget, vgicFeatureName, runVgicCase, explainVgicCase, legalGicdAccess, type VgicConfig, type VgicOp } from "./vgic.ts";
export { HW_FAULTS, plantFaults, type HwFault } from "./faults.ts";
export { fuzzParallel, fuzzWorkerData, runFuzzWorker } from "./parallel.ts";
export { VGIC_FAULTS, plantVgicFaults, type VgicFault } from "./vgic-faults.ts";
export * from "./signature.ts";
export * from "./baseline.ts";
