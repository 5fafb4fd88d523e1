// The package as a user gets it: `npm pack` holds what users need and
// nothing else (no tests, no sources, no debug wasm), installs into an empty
// project, and the README's library example type-checks against the shipped
// declarations and runs with the results the seed's scenarios predict.

import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { name: string; version: string };
const npm = process.platform === "win32" ? "npm.cmd" : "npm";

/** The ```ts block of the README's "Library API" section. */
export function readmeExample(): string {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("## Library API"));
  const m = /```ts\n([\s\S]*?)```/.exec(section);
  if (m === null) throw new Error("README.md: no ```ts block in the Library API section");
  return m[1]!;
}

describe("the npm package", () => {
  let dir = "";
  let files: string[] = [];
  let tarball = "";

  beforeAll(() => {
    // `npm test` builds first; the package ships the build
    for (const f of ["build/lib.mjs", "build/vgic.mjs", "build/gic.wasm", "build/types/index.d.ts"]) {
      if (!existsSync(join(ROOT, f))) throw new Error(`${f} missing: run \`npm run build\``);
    }
    dir = mkdtempSync(join(tmpdir(), "vgic-pack-"));
    const out = execFileSync(npm, ["pack", "--ignore-scripts", "--json", "--pack-destination", dir], { cwd: ROOT, encoding: "utf8" });
    const info = (JSON.parse(out) as Array<{ filename: string; files: Array<{ path: string }> }>)[0]!;
    files = info.files.map((f) => f.path).sort();
    tarball = join(dir, info.filename);
  }, 60_000);

  afterAll(() => { if (dir) rmSync(dir, { recursive: true, force: true }); });

  it("holds the library, its declarations, the command, the wasm, data files and the licence; no tests, sources or debug build", () => {
    for (const f of ["package.json", "README.md", "LICENSE", "CHANGELOG.md", "build/lib.mjs", "build/vgic.mjs", "build/gic.wasm",
      "build/types/index.d.ts", "build/types/xen/vgic.d.ts", "profiles/xgene-xen.json", "workloads/seed-migrate.json",
      "workloads/schema.json", "schemas/bench.schema.json", "examples/my-scenario.mjs"]) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => /^(tests|host|assembly|scripts)\//.test(f) || /debug|\.wat$|\.map$|\.test\./.test(f))).toEqual([]);
    expect(readFileSync(join(ROOT, "LICENSE"), "utf8")).toMatch(/^MIT License/);
    // every relative import of the declarations names a declaration file that ships
    const dts = files.filter((f) => f.endsWith(".d.ts"));
    for (const f of dts) {
      const text = readFileSync(join(ROOT, f), "utf8");
      for (const [, spec] of text.matchAll(/from\s+["'](\.{1,2}\/[^"']+)["']/g)) {
        expect(spec, `${f} imports ${spec}`).toMatch(/\.js$/);
        const target = join(f, "..", spec!.replace(/\.js$/, ".d.ts"));
        expect(dts, `${f} imports ${spec}`).toContain(target);
      }
    }
  });

  it("bundles no more of the schema library than it uses: its English messages but none of its other languages", () => {
    // `import { z } from "zod"` took the whole namespace, all 40-odd locales
    // included: half of the command's bundle, parsed at every start.
    // `import * as z` lets the bundler keep only what is used.
    for (const f of ["build/vgic.mjs", "build/web/worker.js"]) {
      const text = readFileSync(join(ROOT, f), "utf8");
      expect(text, f).toMatch(/Too big: expected/);
      // French and German
      expect(text, f).not.toMatch(/verb:\s*"avoir"/);
      expect(text, f).not.toMatch(/verb:\s*"zu haben"/);
    }
  });

  it("installs into an empty project, where the README example type-checks and runs", () => {
    const app = join(dir, "app");
    execFileSync("mkdir", ["-p", app]);
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", private: true, type: "module" }));
    // the dependencies come from npm's cache when it has them (after `npm ci`)
    execFileSync(npm, ["install", "--prefer-offline", "--no-audit", "--no-fund", "--ignore-scripts", tarball], { cwd: app, stdio: "pipe" });
    const installed = JSON.parse(readFileSync(join(app, "node_modules", pkg.name, "package.json"), "utf8")) as { version: string };
    expect(installed.version).toBe(pkg.version);

    writeFileSync(join(app, "example.ts"), readmeExample());
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: {
        target: "ES2022", module: "NodeNext", moduleResolution: "NodeNext", strict: true, outDir: "out",
        types: ["node"], typeRoots: [join(ROOT, "node_modules", "@types")],
        // the declarations are tsc's own output; checking zod's would only cost time
        skipLibCheck: true,
      },
      files: ["example.ts"],
    }));
    // the project's own TypeScript, against the installed package's declarations
    execFileSync(process.execPath, [join(ROOT, "node_modules", "typescript", "bin", "tsc"), "-p", "."], { cwd: app, stdio: "pipe" });
    const out = execFileSync(process.execPath, [join("out", "example.js")], { cwd: app, encoding: "utf8" });

    expect(out).toContain(`vgic-lab ${pkg.version}: CPU 0 acknowledged SGI 3 from CPU 0`);
    // xen-4.8 deadlocks on the rank/vgic inversion; xen-4.9 (and a subclass) does not
    expect(out).toMatch(/rank-abba under xen-4\.8: .*deadlock/);
    expect(out).toMatch(/rank-abba under xen-4\.9-counting: no counterexample in \d+ schedules/);
    const m = /eth0: (\d+) of (\d+) delivered \((\d+) lost\), raise to handler p50 (\d+) cycles, (\d+) migrations refused/.exec(out);
    expect(m, out).not.toBeNull();
    const [, delivered, raised, lost, p50] = m!.map(Number);
    expect(raised).toBe(100); // one edge every 120,000 cycles for 12,000,000 cycles
    expect(lost).toBe(0);
    expect(delivered).toBeGreaterThan(90);
    expect(p50).toBeGreaterThan(1356); // at least the published trap cost (profiles/xgene-xen.json)
  }, 120_000);
});
