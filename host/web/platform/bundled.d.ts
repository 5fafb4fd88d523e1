// Constants the browser bundle defines at build time (scripts/bundle.mjs):
// the compiled GIC model and the cost profiles, so the page needs no file
// system and no network once loaded.

/** build/gic.wasm, base64 */
declare const __VGIC_WASM_BASE64__: string;
/** profiles/*.json: name -> file text */
declare const __VGIC_PROFILES__: Record<string, string>;
/** workloads/*.json (the bundled workloads): name -> file text */
declare const __VGIC_WORKLOADS__: Record<string, string>;
/** examples/*.gic (register scripts): name -> file text */
declare const __VGIC_SCRIPTS__: Record<string, string>;
