// Where profile files come from, under Node: profiles/ next to the sources
// or the bundle, and a file the user names (--profile FILE). The browser
// bundle replaces this module with host/web/platform/profile-source.ts
// (scripts/bundle.mjs), which knows the bundled profiles only.

import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { readTextFile } from "../io/input.ts";

function profilesDirs(): URL[] {
  return [new URL("../../profiles/", import.meta.url), new URL("../profiles/", import.meta.url)];
}

/** The file names (less .json) in profiles/, from source (host/sim) or from a bundle in build/. */
export function bundledProfileNames(): string[] {
  for (const u of profilesDirs()) {
    try {
      return readdirSync(fileURLToPath(u)).filter((n) => n.endsWith(".json")).map((n) => n.slice(0, -5));
    } catch { /* not this layout */ }
  }
  return [];
}

/** The path of bundled profile `name` (already checked to be a plain name), or null. */
export function bundledProfileFile(name: string): string | null {
  const url = profilesDirs().map((d) => new URL(`${name}.json`, d)).find((u) => existsSync(fileURLToPath(u)));
  return url === undefined ? null : fileURLToPath(url);
}

/** The text of a profile file (at most the input size every file may have). */
export function readProfileFile(path: string): string {
  return readTextFile(path);
}
