// Types of scripts/web-build.mjs, for the tests that bundle with it.
import type { BuildOptions, Plugin } from "esbuild";

export declare const VERSION_DEFINE: Record<string, string>;
export declare function webBuildOptions(): BuildOptions & { plugins: Plugin[] };
