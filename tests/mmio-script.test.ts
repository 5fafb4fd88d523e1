// Register scripts (host/hw/script.ts) and the `vgic mmio` command. Expected
// register values come from IHI 0048B and ../shared/GICV2.md; the output and
// error formats from README.md.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { Gic } from "../host/hw/gic.ts";
import { parseScript, runScript, ScriptError } from "../host/hw/script.ts";

const root = fileURLToPath(new URL("..", import.meta.url));
const cli = join(root, "build", "vgic.mjs");
const tmp = mkdtempSync(join(tmpdir(), "vgic-mmio-"));

function run(text: string, c: Parameters<typeof Gic.create>[0] = {}): string[] {
  const out: string[] = [];
  runScript(Gic.create(c), parseScript(text), (s) => out.push(s));
  return out;
}

function vgic(args: string[]) {
  if (!existsSync(cli)) throw new Error(`${cli} is missing: run \`npm run build\` first`);
  return spawnSync(process.execPath, [cli, ...args], { cwd: root, encoding: "utf8" });
}

function scriptFile(name: string, text: string): string {
  const f = join(tmp, name);
  writeFileSync(f, text);
  return f;
}

describe("parseScript", () => {
  it("parses every command, decimal and hex numbers, comments and blank lines", () => {
    const ops = parseScript([
      "# a comment line",
      "",
      "cpu 0",
      "r32 0x08000004   # trailing comment",
      "w8 134218752 255",
      "r16 0X08010000",
      "line 40 1",
      "line 27 0 0",
    ].join("\n"));
    expect(ops).toEqual([
      { op: "cpu", cpu: 0, line: 3 },
      { op: "read", addr: 0x08000004, size: 4, line: 4 },
      { op: "write", addr: 134218752, value: 255, size: 1, line: 5 },
      { op: "read", addr: 0x08010000, size: 2, line: 6 },
      { op: "line", irq: 40, level: 1, cpu: undefined, line: 7 },
      { op: "line", irq: 27, level: 0, cpu: 0, line: 8 },
    ]);
  });

  const bad: Array<[string, number]> = [
    ["r32 0x08000004\nfrob 1", 2],
    ["r32", 1],
    ["\n\nr32 0xzz", 3],
    ["w32 0x08000000", 1],
    ["w8 0x08000400 256", 1],
    ["r32 0x100000000", 1],
    ["cpu 8", 1],
    ["# ok\nline 40 2", 2],
    ["r32 -4", 1],
    ["r32 1 2", 1],
  ];
  for (const [text, line] of bad) {
    it(`rejects ${JSON.stringify(text)} naming line ${line}`, () => {
      let err: unknown;
      try {
        parseScript(text, "t.gic");
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(ScriptError);
      expect((err as ScriptError).line).toBe(line);
      expect((err as ScriptError).message.startsWith(`t.gic:${line}:`)).toBe(true);
    });
  }
});

describe("runScript", () => {
  // README: every read prints `0xAAAAAAAA = 0xVVVVVVVV`, lower case, 8 digits
  it("prints each read as 0xaaaaaaaa = 0xvvvvvvvv", () => {
    const out = run("r32 0x08000004\nr32 0x08000FE8\nr8 0x08000fe8\nr32 0x0800000c");
    // IHI 0048B 4.3.2 (TYPER 0x8, GICV2.md), 4.3.20 (ICPIDR2 0x2b); 0x00c is reserved (reads 0)
    expect(out).toEqual([
      "0x08000004 = 0x00000008",
      "0x08000fe8 = 0x0000002b",
      "0x08000fe8 = 0x00000000", // byte access to a word-only register: width error, reads 0
      "0x0800000c = 0x00000000",
    ]);
    for (const l of out) expect(l).toMatch(/^0x[0-9a-f]{8} = 0x[0-9a-f]{8}$/);
  });

  // IHI 0048B 4.3.11: byte-accessible priority fields
  it("writes and reads at every width the register allows", () => {
    expect(run("w32 0x08000428 0x80604020\nr8 0x0800042a\nw8 0x0800042b 0x10\nr32 0x08000428")).toEqual([
      "0x0800042a = 0x00000060",
      "0x08000428 = 0x10604020",
    ]);
  });

  // IHI 0048B 4.3.15, 4.4.4: `cpu` selects the accessing CPU; the source CPU shows in IAR [12:10]
  it("cpu switches the accessing CPU", () => {
    const out = run([
      "w32 0x08000000 3",
      "cpu 1",
      "w32 0x08010000 1",
      "w32 0x08010004 0xff",
      "w32 0x08000100 0x0000ffff",
      "cpu 2",
      "w32 0x08000f00 0x00020005 # SGI 5 to CPU 1",
      "cpu 1",
      "r32 0x0801000c",
      "r32 0x08000800",
    ].join("\n"), { cpus: 3 });
    expect(out).toEqual(["0x0801000c = 0x00000805", "0x08000800 = 0x02020202"]);
  });

  // IHI 0048B 3.2.4: a level line makes the SPI pending while high
  it("line drives an input", () => {
    expect(run("line 40 1\nr32 0x08000204\nline 40 0\nr32 0x08000204")).toEqual([
      "0x08000204 = 0x00000100",
      "0x08000204 = 0x00000000",
    ]);
  });

  it("configuration errors name the line", () => {
    expect(() => run("r32 0x08000000\ncpu 1")).toThrow(/<script>:2: CPU 1 does not exist/);
    expect(() => run("line 300 1")).toThrow(/<script>:1:/);
    expect(() => run("line 20 1 2", { cpus: 2 })).toThrow(/<script>:1:/);
  });
});

describe("the vgic mmio command", () => {
  // examples/sgi-roundtrip.gic: each read's comment states the value (IHI 0048B 4.3.2, 4.3.20, 4.4.4-4.4.6)
  it("examples/sgi-roundtrip.gic prints what its comments say", () => {
    const r = vgic(["mmio", "examples/sgi-roundtrip.gic"]);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.stdout.trimEnd().split("\n")).toEqual([
      "0x08000004 = 0x00000008", // TYPER: 288 interrupts, 1 CPU
      "0x08000fe8 = 0x0000002b", // ICPIDR2: ArchRev 2
      "0x08000200 = 0x00000008", // ISPENDR0: bit 3
      "0x08010018 = 0x00000003", // HPPIR: 3
      "0x0801000c = 0x00000003", // IAR: SGI 3 from CPU 0
      "0x08000300 = 0x00000008", // ISACTIVER0: bit 3
      "0x08010014 = 0x00000000", // RPR: 0
      "0x08000300 = 0x00000000", // ISACTIVER0: 0
      "0x0801000c = 0x000003ff", // IAR: 1023
    ]);
    // the comments of the example are the source of these values
    const text = readFileSync(join(root, "examples", "sgi-roundtrip.gic"), "utf8");
    expect(text).toMatch(/GICC_IAR: 1023/);
  });

  it("a malformed line is an error naming the file and line, with a non-zero exit", () => {
    const f = scriptFile("bad.gic", "# header\nr32 0x08000004\nw32 0x08000000\n");
    const r = vgic(["mmio", f]);
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain(`${f}:3:`);
    expect(r.stdout).toBe("");
  });

  it("options select the configuration", () => {
    const f = scriptFile("typer.gic", "r32 0x08000004\nw8 0x08000428 0xff\nr8 0x08000428\n");
    const r = vgic(["mmio", "--cpus", "3", "--irqs", "64", "--prio-bits", "5", f]);
    expect(r.status).toBe(0);
    // IHI 0048B 4.3.2: ITLinesNumber 1, CPUNumber 2; 4.3.11: 5 priority bits
    expect(r.stdout).toBe("0x08000004 = 0x00000041\n0x08000428 = 0x000000f8\n");
  });

  it("SGI enables read as one and ignore writes by default, as on QEMU's virt GICv2; --sgi-enable-writable makes them writable", () => {
    const f = scriptFile("sgien.gic", "w32 0x08000180 0xffffffff\nr32 0x08000100\nw32 0x08000100 0x5\nr32 0x08000100\n");
    // IHI 0048B 4.3.5: RAO/WI SGI enables are IMPLEMENTATION DEFINED; QEMU
    // (hw/intc/arm_gic.c) forces them set and ignores clears
    expect(vgic(["mmio", f]).stdout).toBe("0x08000100 = 0x0000ffff\n0x08000100 = 0x0000ffff\n");
    expect(vgic(["mmio", "--sgi-enable-writable", f]).stdout).toBe("0x08000100 = 0x00000000\n0x08000100 = 0x00000005\n");
    expect(vgic(["mmio", "--sgi-enable-writable", "--sgi-always-enabled", f]).status).not.toBe(0);
  });

  it("a missing file and a bad option exit non-zero", () => {
    expect(vgic(["mmio", join(tmp, "nope.gic")]).status).not.toBe(0);
    expect(vgic(["mmio", "--cpus", "9", "examples/sgi-roundtrip.gic"]).status).not.toBe(0);
  });
});
