// Bundles the `vgic` command into one ESM file next to the wasm it loads.
import { build } from "esbuild";
import { chmodSync } from "node:fs";

const outfile = "build/vgic.mjs";
await build({
  entryPoints: ["host/cli.ts"],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);

// The library (host/index.ts) for user scenario files: build/lib.mjs, next
// to the wasm it loads.
await build({
  entryPoints: ["host/index.ts"],
  outfile: "build/lib.mjs",
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning",
});
