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

// The web page (host/web): build/web/ holds index.html, page.js and
// worker.js, a static site that runs the same library in the browser. Three
// modules read files or use node:crypto under Node; the browser build swaps
// each for its counterpart in host/web/platform/ (the wasm and the profiles
// are inlined, so the page needs nothing else once loaded). Any other Node
// built-in reaching the bundle fails the build: platform "browser" cannot
// resolve it.
const { readFileSync, readdirSync, mkdirSync, copyFileSync } = await import("node:fs");
const { resolve: resolvePath } = await import("node:path");
const SWAPS = {
  [resolvePath("host/hw/wasm.ts")]: resolvePath("host/web/platform/wasm.ts"),
  [resolvePath("host/sim/profile-source.ts")]: resolvePath("host/web/platform/profile-source.ts"),
  [resolvePath("host/sim/digest.ts")]: resolvePath("host/web/platform/digest.ts"),
};
const browserPlatform = {
  name: "browser-platform",
  setup(b) {
    b.onResolve({ filter: /\/(wasm|profile-source|digest)\.ts$/ }, (args) => {
      const p = resolvePath(args.resolveDir, args.path);
      return SWAPS[p] ? { path: SWAPS[p] } : undefined;
    });
  },
};
const dirTexts = (dir, ext) => Object.fromEntries(readdirSync(dir).filter((f) => f.endsWith(ext) && f !== "schema.json").sort()
  .map((f) => [f.slice(0, -ext.length), readFileSync(`${dir}/${f}`, "utf8")]));
mkdirSync("build/web", { recursive: true });
const web = {
  bundle: true, platform: "browser", format: "esm", target: "es2022", minify: true, logLevel: "warning", plugins: [browserPlatform],
  define: {
    __VGIC_WASM_BASE64__: JSON.stringify(readFileSync("build/gic.wasm").toString("base64")),
    __VGIC_PROFILES__: JSON.stringify(dirTexts("profiles", ".json")),
    __VGIC_WORKLOADS__: JSON.stringify(dirTexts("workloads", ".json")),
    __VGIC_SCRIPTS__: JSON.stringify(dirTexts("examples", ".gic")),
  },
};
await build({ ...web, entryPoints: ["host/web/worker.ts"], outfile: "build/web/worker.js" });
await build({ ...web, entryPoints: ["host/web/page.ts"], outfile: "build/web/page.js" });
copyFileSync("host/web/index.html", "build/web/index.html");
copyFileSync("host/web/page.css", "build/web/page.css");
