import { readFileSync } from "node:fs";
import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // every output records the package's version (host/version.ts)
  define: { __VGIC_VERSION__: JSON.stringify(JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8")).version) },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    // Two files at a time even on two cores: many tests wait on the
    // command-line processes they start, so one file at a time (the
    // default there, cores - 1) left a core idle: 375 s against 297 s for
    // the suite on a 2-CPU machine.
    maxWorkers: Math.max(2, availableParallelism() - 1),
    reporters: ["default"],
  },
});
