// Where profile files come from, under Node: profiles/ next to the sources
// or the bundle, and any path the user names. The browser bundle replaces
// this module with host/web/platform/profile-source.ts (scripts/bundle.mjs),
// which knows the bundled profiles only.

import { readFileSync, existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The profiles/ directory, from source (host/sim) or from a bundle in build/. */
export function profilePath(name: string): string {
  const candidates = [new URL(`../../profiles/${name}.json`, import.meta.url), new URL(`../profiles/${name}.json`, import.meta.url)];
  const url = candidates.find((u) => existsSync(fileURLToPath(u)));
  if (!url) throw new Error(`profile ${name} not found in profiles/`);
  return fileURLToPath(url);
}

/** The text of a profile file. */
export function readProfileFile(path: string): string {
  return readFileSync(path, "utf8");
}
