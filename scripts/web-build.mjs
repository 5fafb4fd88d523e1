// How the web page (host/web) is bundled: scripts/bundle.mjs builds
// build/web/ with these options, and tests/web-page.test.ts bundles a worker
// of its own with them (a design registered that the page does not have).
// Three modules read files or use node:crypto under Node; the browser build
// swaps each for its counterpart in host/web/platform/ (the wasm and the
// profiles are inlined, so the page needs nothing else once loaded). Any
// other Node built-in reaching the bundle fails the build: platform
// "browser" cannot resolve it.
import { readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const at = (p) => resolve(ROOT, p);

// every output records the package's version (host/version.ts)
export const VERSION_DEFINE = { __VGIC_VERSION__: JSON.stringify(JSON.parse(readFileSync(at("package.json"), "utf8")).version) };

const SWAPS = {
  [at("host/hw/wasm.ts")]: at("host/web/platform/wasm.ts"),
  [at("host/sim/profile-source.ts")]: at("host/web/platform/profile-source.ts"),
  [at("host/sim/digest.ts")]: at("host/web/platform/digest.ts"),
};
const browserPlatform = {
  name: "browser-platform",
  setup(b) {
    b.onResolve({ filter: /\/(wasm|profile-source|digest)\.ts$/ }, (args) => {
      const p = resolve(args.resolveDir, args.path);
      return SWAPS[p] ? { path: SWAPS[p] } : undefined;
    });
  },
};
const dirTexts = (dir, ext) => Object.fromEntries(readdirSync(at(dir)).filter((f) => f.endsWith(ext) && f !== "schema.json").sort()
  .map((f) => [f.slice(0, -ext.length), readFileSync(at(`${dir}/${f}`), "utf8")]));

/** esbuild options for the page's modules (entryPoints and outfile to add);
 *  reads build/gic.wasm, so after `npm run build:wasm`. */
export function webBuildOptions() {
  return {
    bundle: true, platform: "browser", format: "esm", target: "es2022", minify: true, logLevel: "warning", plugins: [browserPlatform],
    define: {
      ...VERSION_DEFINE,
      __VGIC_WASM_BASE64__: JSON.stringify(readFileSync(at("build/gic.wasm")).toString("base64")),
      __VGIC_PROFILES__: JSON.stringify(dirTexts("profiles", ".json")),
      __VGIC_WORKLOADS__: JSON.stringify(dirTexts("workloads", ".json")),
      __VGIC_SCRIPTS__: JSON.stringify(dirTexts("examples", ".gic")),
    },
  };
}
