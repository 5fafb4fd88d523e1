import { readFileSync } from "node:fs";
import { defineConfig } from "vitest/config";

export default defineConfig({
  // every output records the package's version (host/version.ts)
  define: { __VGIC_VERSION__: JSON.stringify(JSON.parse(readFileSync(new URL("package.json", import.meta.url), "utf8")).version) },
  test: {
    include: ["tests/**/*.test.ts"],
    testTimeout: 60_000,
    reporters: ["default"],
  },
});
