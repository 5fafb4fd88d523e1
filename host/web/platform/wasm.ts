// Browser replacement of host/hw/wasm.ts: the release build of the GIC model
// is inlined in the bundle (base64), compiled once on first use. Synchronous
// compilation is allowed in a Web Worker, where every simulation of the
// page runs (host/web/worker.ts).

let module: WebAssembly.Module | undefined;

export function wasmModule(debug: boolean): WebAssembly.Module {
  if (debug) throw new Error("gic.debug.wasm is not part of the browser bundle: use the release build");
  if (module === undefined) {
    const bin = atob(__VGIC_WASM_BASE64__);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    module = new WebAssembly.Module(bytes);
  }
  return module;
}
