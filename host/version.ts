// The package version, recorded in every output (JSON results, reports,
// finding and counterexample files) so a result names the code that made it.
// The build (scripts/bundle.mjs) and the test runner (vitest.config.ts)
// define __VGIC_VERSION__ from package.json; the same code runs in Node and
// in the browser page, so it reads no file.

declare const __VGIC_VERSION__: string | undefined;

/** vgic-lab's version, from its package.json. */
export const VERSION: string = typeof __VGIC_VERSION__ === "string" ? __VGIC_VERSION__ : "unknown";
