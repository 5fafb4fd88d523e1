// Bundles the `vgic` command into one ESM file next to the wasm it loads.
import { build } from "esbuild";
import { chmodSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import { VERSION_DEFINE, webBuildOptions } from "./web-build.mjs";

rmSync("build/types", { recursive: true, force: true });

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
// worker.js, a static site that runs the same library in the browser
// (scripts/web-build.mjs says how each is bundled).
const { mkdirSync, copyFileSync } = await import("node:fs");
mkdirSync("build/web", { recursive: true });
const web = webBuildOptions();
await build({ ...web, entryPoints: ["host/web/worker.ts"], outfile: "build/web/worker.js" });
await build({ ...web, entryPoints: ["host/web/page.ts"], outfile: "build/web/page.js" });
copyFileSync("host/web/index.html", "build/web/index.html");
copyFileSync("host/web/page.css", "build/web/page.css");
