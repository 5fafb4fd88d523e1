// The package version, recorded in every output (JSON results, reports,
// finding and counterexample files) so a result names the code that made it.
// package.json is one directory above both host/version.ts and the bundles
// in build/, so the same relative path serves the sources and the package.

import { readFileSync } from "node:fs";

function readVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as { version?: unknown };
    if (typeof pkg.version === "string") return pkg.version;
  } catch {
    // fall through: a copied bundle without its package.json
  }
  return "unknown";
}

/** vgic-lab's version, from its package.json. */
export const VERSION: string = readVersion();
