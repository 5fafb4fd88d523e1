// A user's own scenarios and vGIC designs, loaded from ES modules as the
// `--scenarios FILE` and `--variants FILE` options do: a scenario file
// exports `scenarios` (Scenario[]), a variant file exports `variants`
// (VariantInfo[], usually subclasses of Vgic or of a built-in design). Both
// import the library (`vgic-lab`, or build/lib.mjs in this repository).

import { statSync } from "node:fs";
import { resolve } from "node:path";
import { MAX_INPUT_BYTES } from "./io/input.ts";
import { pathToFileURL } from "node:url";
import type { Scenario } from "./xen/scenarios.ts";
import { registerVariant, type VariantInfo } from "./xen/variants.ts";

/** A file that could not be loaded or does not export what it should. */
export class ExtensionFileError extends Error {
  override name = "ExtensionFileError";
}

async function exported(option: string, file: string, name: string): Promise<unknown[]> {
  // a module is a regular file of bounded size (node would read a device
  // such as /dev/zero for ever)
  let st;
  try {
    st = statSync(file);
  } catch (e) {
    throw new ExtensionFileError(`${option} ${file}: cannot load: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  if (!st.isFile()) throw new ExtensionFileError(`${option} ${file}: expected a regular file (an ES module), got ${st.isDirectory() ? "a directory" : "a device or pipe"}`);
  if (st.size > MAX_INPUT_BYTES) throw new ExtensionFileError(`${option} ${file}: ${st.size} bytes, larger than the ${MAX_INPUT_BYTES >> 20} MiB an input file may have`);
  let mod: Record<string, unknown>;
  try {
    mod = await import(pathToFileURL(resolve(file)).href) as Record<string, unknown>;
  } catch (e) {
    throw new ExtensionFileError(`${option} ${file}: cannot load: ${(e as Error).message}`);
  }
  const list = mod[name];
  if (!Array.isArray(list)) throw new ExtensionFileError(`${option} ${file}: expected an export '${name}' (an array), got ${list === undefined ? "none" : typeof list}`);
  return list;
}

/** Import a scenario file: an ES module exporting `scenarios: Scenario[]`. */
export async function loadScenarios(file: string): Promise<Scenario[]> {
  const list = await exported("--scenarios", file, "scenarios");
  list.forEach((s: unknown, i: number) => {
    const x = s as Partial<Scenario> | null;
    if (typeof x !== "object" || x === null || typeof x.name !== "string" || typeof x.build !== "function") {
      throw new ExtensionFileError(`--scenarios ${file}: scenarios[${i}]: expected {name: string, summary: string, build(variant, scheduler, opts)}`);
    }
  });
  return list as Scenario[];
}

/** Import a variant file (an ES module exporting `variants: VariantInfo[]`)
 *  and register its designs, so every command can name them. */
export async function loadVariants(file: string): Promise<VariantInfo[]> {
  const list = await exported("--variants", file, "variants");
  list.forEach((v: unknown, i: number) => {
    try {
      registerVariant(v as VariantInfo);
    } catch (e) {
      throw new ExtensionFileError(`--variants ${file}: variants[${i}]: ${(e as Error).message}`);
    }
  });
  return list as VariantInfo[];
}
