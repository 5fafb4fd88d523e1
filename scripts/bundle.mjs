// Bundles the `vgic` command into one ESM file next to the wasm it loads.
import { build } from "esbuild";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

rmSync("build/types", { recursive: true, force: true });
// every output records the package's version (host/version.ts)
const VERSION_DEFINE = { __VGIC_VERSION__: JSON.stringify(JSON.parse(readFileSync("package.json", "utf8")).version) };

const outfile = "build/vgic.mjs";
await build({
  entryPoints: ["host/cli.ts"],
  outfile,
  bundle: true,
  define: VERSION_DEFINE,
  platform: "node",
  format: "esm",
  target: "node20",
  banner: { js: "#!/usr/bin/env node\nimport { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
  logLevel: "warning",
});
chmodSync(outfile, 0o755);

// The library (host/index.ts, the package's entry): build/lib.mjs, next to
// the wasm it loads. Its dependencies stay imports, resolved from the
// installing project's node_modules (they are the package's dependencies).
await build({
  entryPoints: ["host/index.ts"],
  outfile: "build/lib.mjs",
  bundle: true,
  define: VERSION_DEFINE,
  packages: "external",
  platform: "node",
  format: "esm",
  target: "node20",
  logLevel: "warning",
});

// Its declarations (build/types/, from tsconfig.build.json). The sources
// import each other as `./x.ts`; the declarations name `./x.js`, which every
// TypeScript resolver maps to x.d.ts.
const tsc = spawnSync(process.execPath, [fileURLToPath(import.meta.resolve("typescript/bin/tsc")), "-p", "tsconfig.build.json"], { stdio: "inherit" });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);
for (const f of readdirSync("build/types", { recursive: true, encoding: "utf8" })) {
  if (!f.endsWith(".d.ts")) continue;
  const path = join("build/types", f);
  const text = readFileSync(path, "utf8");
  const out = text.replace(/(from\s+|import\()(["'])(\.{1,2}\/[^"']*)\.ts\2/g, "$1$2$3.js$2");
  if (out !== text) writeFileSync(path, out);
}

// The web page (host/web): build/web/ holds index.html, page.js and
// worker.js, a static site that runs the same library in the browser. Three
// modules read files or use node:crypto under Node; the browser build swaps
// each for its counterpart in host/web/platform/ (the wasm and the profiles
// are inlined, so the page needs nothing else once loaded). Any other Node
// built-in reaching the bundle fails the build: platform "browser" cannot
// resolve it.
const { mkdirSync, copyFileSync } = await import("node:fs");
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
    ...VERSION_DEFINE,
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
