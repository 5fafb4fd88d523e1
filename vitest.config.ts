import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

// Test files that each run in a fresh module context. Every other file
// shares its worker's modules with the files run there before it, so the
// JIT's work on the simulator (about 2 s of CPU a process) is done once per
// worker rather than once per file: on a 2-CPU machine the suite took 309 s
// and 530 s of CPU with every file isolated, 236 to 256 s and 397 to 429 s
// so. Isolated are the files that
// - change state every module of a process shares: they register designs
//   of their own (registerVariant, loadVariants); tests/shared-state.ts
//   fails a shared file that does, or sets V8 flags, naming this list;
// - or measure what a process's history changes, and set V8 flags: what
//   young collections free (after other files in one shuffled order, 4.8
//   and 8.2 MB survived them against a 4 MB limit; 1.6 to 3.4 MB alone),
//   and the shapes V8 gives fresh objects (a file before may have changed
//   them already, and a check that could no longer fail would pass);
// - or compare with a model instance never used, which Gic.create no
//   longer gives once a file before released one of the configuration to
//   the pool (a planted write outside the state area then passed
//   build-cost's check).
export const ISOLATED = [
  "tests/accounting-judge.test.ts",
  "tests/bench-outcomes.test.ts",
  "tests/explore.test.ts",
  "tests/explore-judges.test.ts",
  "tests/vtimer-withdraw.test.ts",
  "tests/weak-memory.test.ts",
  "tests/web-worker.test.ts",
  "tests/gc-retention.test.ts",
  "tests/sim-shape.test.ts",
  "tests/build-cost.test.ts",
  "tests/gic-pool.test.ts",
];

export default defineConfig({
  // every output records the package's version (host/version.ts)
  define: { __VGIC_VERSION__: JSON.stringify(JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8")).version) },
  test: {
    testTimeout: 60_000,
    // Two files at a time even on two cores: many tests wait on the
    // command-line processes they start, so one file at a time (the
    // default there, cores - 1) left a core idle: 375 s against 297 s for
    // the suite on a 2-CPU machine. Three at a time gained nothing either
    // (237 and 270 s against 236 and 256 s, alternating runs).
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default"],
    projects: [
      {
        extends: true,
        test: { name: "shared", include: ["tests/**/*.test.ts"], exclude: ISOLATED, isolate: false, setupFiles: ["tests/shared-state.ts"] },
      },
      { extends: true, test: { name: "isolated", include: ISOLATED, isolate: true } },
    ],
  },
});
