// Where the compiled GIC model comes from, under Node: the build/ directory,
// read from disk once per process. The browser bundle replaces this module
// with host/web/platform/wasm.ts (scripts/bundle.mjs), which is handed the
// module the page fetched; nothing else in host/ touches the file system to
// get the model.

import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const modules = new Map<string, WebAssembly.Module>();

/** The built wasm: next to a bundle in build/, or in build/ from source. */
export function wasmModule(debug: boolean): WebAssembly.Module {
  const name = debug ? "gic.debug.wasm" : "gic.wasm";
  let m = modules.get(name);
  if (m) return m;
  const candidates = [new URL(`./${name}`, import.meta.url), new URL(`../../build/${name}`, import.meta.url)];
  const url = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!url) throw new Error(`${name} not found: run \`npm run build\` first`);
  m = new WebAssembly.Module(readFileSync(fileURLToPath(url)));
  modules.set(name, m);
  return m;
}
