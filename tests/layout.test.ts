import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import * as L from "../host/hw/layout.ts";

describe("layout contract between assembly/layout.ts and host/hw/layout.ts", () => {
  const gic = Gic.create();
  const exported = gic.raw as unknown as Record<string, unknown>;

  it("every host constant equals the global the wasm module exports", () => {
    const names = Object.keys(L);
    expect(names.length).toBeGreaterThan(60);
    for (const name of names) {
      const g = exported[name];
      expect(g, `wasm exports ${name}`).toBeInstanceOf(WebAssembly.Global);
      expect((g as WebAssembly.Global).value >>> 0, name).toBe((L as Record<string, number>)[name]);
    }
  });

  it("every layout global the wasm module exports has a host mirror", () => {
    const isLayout = (k: string) => /^(MAX_|SPURIOUS|STATE_END|CFG_|FLAG_|G_|BM_|PRIO_|TARGETS|SGI_SRC|CAND|CPU_|C_|LINE_|VIF_|V_|DEC_|ACCESS_)/.test(k);
    const globals = Object.keys(exported).filter((k) => exported[k] instanceof WebAssembly.Global && isLayout(k));
    expect(globals.sort()).toEqual(Object.keys(L).sort());
  });

  it("the fixed state region ends below the module's memory base", () => {
    expect(L.STATE_END).toBeLessThanOrEqual(65536);
    expect(gic.raw.memory.buffer.byteLength).toBeGreaterThanOrEqual(65536);
  });
});
