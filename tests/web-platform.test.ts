// The browser's replacements of the three Node-only modules (host/web/
// platform/): sha256 must equal node:crypto's (trace hashes of replay files
// are compared across the two), the inlined wasm must be the built model, and
// the bundled profiles must read as the files do.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { sha256 as nodeSha } from "../host/sim/digest.ts";
import { sha256 as webSha } from "../host/web/platform/digest.ts";
import { parseProfile, defaultProfile } from "../host/sim/profile.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const g = globalThis as Record<string, unknown>;
// what the page's bundle defines, set here as it would be, and taken away
// again: the files after this one share its globals (vitest.config.ts)
afterAll(() => {
  delete g.__VGIC_WASM_BASE64__;
  delete g.__VGIC_PROFILES__;
});

describe("sha256 in plain TypeScript", () => {
  it("matches FIPS 180-4's examples", () => {
    const hex = (s: string) => { const h = webSha(); h.update(s); return h.hex(); };
    // FIPS 180-4 / NIST CSRC example values for "abc" and the 448-bit message, and the empty string
    expect(hex("abc")).toBe("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")).toBe("248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    expect(hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  });

  it("equals node:crypto at every padding boundary, across updates and for UTF-8 text", () => {
    const texts: string[][] = [];
    for (let n = 0; n <= 130; n++) texts.push(["x".repeat(n)]);
    texts.push(["a".repeat(63), "b", "c".repeat(65)], ["pCPU1 → spins\t", "d1.rank1 ✓\n".repeat(5000)]);
    for (const parts of texts) {
      const a = webSha(), b = nodeSha();
      for (const p of parts) { a.update(p); b.update(p); }
      const want = createHash("sha256").update(parts.join("")).digest("hex");
      expect(a.hex()).toBe(want);
      expect(b.hex()).toBe(want);
    }
  });

  it("copy() digests what was hashed so far and leaves the running hash going on (streamed traces)", () => {
    for (const make of [webSha, nodeSha]) {
      const h = make();
      h.update("a".repeat(70));
      const mid = h.copy();
      h.update("b".repeat(70));
      expect(mid.hex()).toBe(createHash("sha256").update("a".repeat(70)).digest("hex"));
      expect(h.hex()).toBe(createHash("sha256").update("a".repeat(70) + "b".repeat(70)).digest("hex"));
    }
  });
});

describe("bundled wasm and profiles", () => {
  it("compiles the inlined release model; the debug build is refused by name", async () => {
    g.__VGIC_WASM_BASE64__ = readFileSync(`${root}/build/gic.wasm`).toString("base64");
    const { wasmModule } = await import("../host/web/platform/wasm.ts");
    const m = wasmModule(false);
    expect(WebAssembly.Module.exports(m).map((e) => e.name)).toEqual(expect.arrayContaining(["mmioRead", "mmioWrite", "setLine", "configure"]));
    expect(wasmModule(false)).toBe(m);
    expect(() => wasmModule(true)).toThrow(/gic\.debug\.wasm is not part of the browser bundle/);
  });

  it("reads profiles/NAME.json from the bundle and names what it has otherwise", async () => {
    g.__VGIC_PROFILES__ = { "xgene-xen": readFileSync(`${root}/profiles/xgene-xen.json`, "utf8") };
    const { bundledProfileFile, bundledProfileNames, readProfileFile } = await import("../host/web/platform/profile-source.ts");
    expect(bundledProfileNames()).toEqual(["xgene-xen"]);
    expect(parseProfile(readProfileFile(bundledProfileFile("xgene-xen")!))).toEqual(defaultProfile());
    expect(bundledProfileFile("nope")).toBeNull();
    expect(() => readProfileFile("/etc/passwd")).toThrow("/etc/passwd: the page has only the bundled profiles (xgene-xen)");
  });

  it("the built page's bundles import no Node built-in", () => {
    for (const f of ["worker.js", "page.js"]) {
      const js = readFileSync(`${root}/build/web/${f}`, "utf8");
      expect(js).not.toMatch(/from\s*["']node:|require\(["']node:|import\(["']node:/);
      expect(js).not.toMatch(/__VGIC_[A-Z]+__/); // every build-time constant was defined
    }
  });
});
