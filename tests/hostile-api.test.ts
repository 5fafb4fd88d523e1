// Hostile calls at the typed library boundary (host/hw/gic.ts): a bad
// argument is a RangeError, a bad configuration a ConfigError, each naming
// the argument or field and what was expected, and a refused call leaves the
// model working. The raw exports stay unchecked (the hot paths use them).
// Also the input guards shared by the commands (host/io).

import { describe, expect, it } from "vitest";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ConfigError, Gic, Line, type GicConfig } from "../host/hw/gic.ts";
import { GICC, GICD } from "../host/hw/regs.ts";
import { jsonDepth, parseJson, printable } from "../host/io/input.ts";
import { checkOutputFile, ensureDir, writeFileAtomic } from "../host/io/files.ts";
import { parseCliArgs } from "../host/io/args.ts";
import { scheduleFromString } from "../host/sim/sched.ts";
import { buildSystem, type SystemOptions } from "../host/xen/system.ts";
import { Hypervisor, type HypervisorOptions } from "../host/xen/hypervisor.ts";

/** SPI 40 enabled, pending and signalled to CPU 0 (IHI 0048B 4.3.1, 4.4.1). */
function pendSpi40(g: Gic): void {
  g.writeDist(0, GICD.CTLR, 1);
  g.writeCpu(0, GICC.CTLR, 1);
  g.writeCpu(0, GICC.PMR, 0xff);
  g.writeDist(0, GICD.ISENABLER + 4, 1 << 8);
  g.writeDist(0, GICD.ISPENDR + 4, 1 << 8);
}

describe("Gic: arguments", () => {
  const g = Gic.create({ cpus: 2 });
  const base = g.config.map.gicd;

  it("CPU numbers that are not a CPU of this GIC: NaN, 0.5, 2^32, -1, 2", () => {
    for (const cpu of [NaN, 0.5, 2 ** 32, -1, 2]) {
      expect(() => g.read(cpu, base)).toThrow(new RangeError(`cpu: got ${cpu}, expected a CPU number from 0 to 1`));
      expect(() => g.write(cpu, base, 1)).toThrow(RangeError);
      expect(() => g.lines(cpu)).toThrow(/^cpu: /);
      expect(() => g.setLine(40, 1, cpu)).toThrow(/^cpu: /);
      expect(() => g.badAccesses(cpu)).toThrow(/^cpu: /);
    }
    // a write to a CPU that does not exist no longer answers 255 (not an access status)
    expect(() => g.write(7, base, 1)).toThrow("cpu: got 7, expected a CPU number from 0 to 1");
  });

  it("sizes, addresses and values", () => {
    expect(() => g.read(0, base, 4.5 as 4)).toThrow("size: got 4.5, expected 1, 2 or 4 bytes");
    expect(() => g.read(0, base, 3 as 4)).toThrow(/^size: got 3/);
    expect(() => g.read(0, NaN)).toThrow("addr: got NaN, expected an address from 0 to 0xffffffff");
    expect(() => g.read(0, 2 ** 32)).toThrow(/^addr: got 4294967296/);
    expect(() => g.write(0, base, 1.5)).toThrow("value: got 1.5, expected a 32-bit integer");
    expect(() => g.write(0, base, 2 ** 32)).toThrow(/^value: /);
    // both signed and unsigned 32-bit values are words
    expect(g.write(0, base + GICD.IPRIORITYR + 32, -1)).toBe(0);
    expect(g.readDist(0, GICD.IPRIORITYR + 32)).toBe(0xffffffff);
  });

  it("setLine: PPI 25 belongs to the model; other lines and levels are checked", () => {
    expect(() => g.setLine(25, 1)).toThrow(/^irq: got 25, expected an input line: PPI 25 is the maintenance interrupt/);
    expect(() => g.setLine(40.5, 1)).toThrow("irq: got 40.5, expected an interrupt number");
    expect(() => g.setLine(40, 2)).toThrow("level: got 2, expected 0, 1, true or false");
    expect(() => g.setLine(15, 1)).toThrow(/has no input line/);
    // the maintenance line still follows the virtual interface alone
    expect(g.lines(0) & Line.MAINT).toBe(0);
  });

  it("setTime refuses NaN, Infinity and negative times; later interrupts still arrive", () => {
    const d = Gic.create({ propagationDelay: 10 });
    for (const t of [NaN, Infinity, -1]) {
      expect(() => d.setTime(t)).toThrow(new RangeError(`now: got ${t}, expected a finite number of cycles >= 0`));
    }
    pendSpi40(d);
    expect(d.lines(0)).toBe(0); // not yet: the change is 10 cycles away
    d.setTime(10);
    expect(d.lines(0)).toBe(Line.IRQ);
    // what the check prevents: through the raw export NaN stops the delayed change for good
    // (a change made after it is due at NaN + 10, which no time reaches)
    const r = Gic.create({ propagationDelay: 10 });
    r.raw.setTime(NaN);
    pendSpi40(r);
    r.setTime(10);
    r.setTime(1000);
    expect(r.lines(0)).toBe(0);
  });
});

describe("Gic.create: configurations", () => {
  const bad = (c: unknown, msg: string | RegExp) => {
    let err: unknown;
    try {
      Gic.create(c as Partial<GicConfig>);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as Error).message).toMatch(msg);
  };
  it("names the field and what was expected", () => {
    bad(null, /^config: got null, expected an object of configuration fields \(cpus, irqs,/);
    bad(7, /^config: got 7, expected an object/);
    bad({ debug: "x" }, 'debug: got "x", expected true or false');
    bad({ sgiAlwaysEnabled: 1 }, "sgiAlwaysEnabled: got 1, expected true or false");
    bad({ gicdIidr: NaN }, "gicdIidr: got NaN, expected an integer from 0 to 0xffffffff");
    bad({ gicIidr: -1 }, /^gicIidr: got -1/);
    bad({ cpus: 1.5 }, "cpus: got 1.5, expected an integer from 1 to 8");
    bad({ map: null }, /^map: got null, expected an object/);
    bad({ cpu: 2 }, /^cpu: got 2, expected no such field: one of cpus, irqs/);
    expect(Gic.create({}).config.cpus).toBe(1);
  });
});

describe("input guards (host/io)", () => {
  it("JSON depth is measured without recursion, ignoring brackets in strings", () => {
    expect(jsonDepth('{"a": [1, {"b": "[[[[{{{{"}]}').depth).toBe(3);
    expect(jsonDepth("[".repeat(1_000_000)).depth).toBe(1_000_000);
    expect(() => parseJson("[".repeat(65) + "]".repeat(65))).toThrow("nested deeper than 64 levels (at line 1, column 65)");
    expect(parseJson("[".repeat(64) + "]".repeat(64))).toBeInstanceOf(Array);
  });

  it("a parse error gives the position, never the text", () => {
    let msg = "";
    try {
      parseJson("root:x:0:0:root:/root:/bin/bash\n");
    } catch (e) {
      msg = (e as Error).message;
    }
    expect(msg).toMatch(/^not valid JSON/);
    expect(msg).not.toContain("root");
  });

  it("printable escapes terminal controls and invalid UTF-8, and cuts long text", () => {
    expect(printable("a\x1b[31mb\x07\u009b\ufffd")).toBe("a\\x1b[31mb\\x07\\u009b\\ufffd");
    expect(printable("x".repeat(100), 10)).toBe("xxxxxxxxxx... (100 characters)");
  });

  it("a schedule's repetition is bounded before it is expanded", () => {
    expect(() => scheduleFromString("0*1000000000", 200_000)).toThrow("schedule: more than 200000 decisions");
    expect(scheduleFromString("0,1*3", 4).picks).toEqual([0, 1, 1, 1]);
  });

  it("files: directories made one level at a time, /proc refused, writes through a rename", () => {
    const dir = mkdtempSync(join(tmpdir(), "vgic-io-"));
    ensureDir(join(dir, "a", "b"), "--out");
    expect(existsSync(join(dir, "a", "b"))).toBe(true);
    expect(() => ensureDir("/proc/x/y", "--out")).toThrow("--out: /proc/x/y is on a pseudo file system (/proc, /sys), expected a directory for files");
    const f = join(dir, "out.json");
    writeFileSync(f, "old");
    checkOutputFile(f, "--report");
    writeFileAtomic(f, "new");
    expect(readFileSync(f, "utf8")).toBe("new");
    expect(readdirSync(dir).sort()).toEqual(["a", "out.json"]); // no temporary file left
    expect(() => checkOutputFile(join(f, "x"), "--report")).toThrow(/^--report: .*out\.json is not a directory$/);
    expect(() => checkOutputFile(join(dir, "a"), "--report")).toThrow(/is a directory, expected a file name/);
  });

  it("a negative number after an option is its value, for the option's own check", () => {
    const { values } = parseCliArgs({ args: ["--seed", "-1", "--json"], options: { seed: { type: "string" }, json: { type: "boolean" } } });
    expect(values).toEqual({ seed: "-1", json: true });
  });
});

describe("buildSystem and Hypervisor: guest programs", () => {
  it("anything but an array of functions or undefined is a TypeError naming the entry", () => {
    const bad: Array<[unknown, string]> = [
      [undefined, "programs: got undefined, expected an array with a guest program (a function) or undefined per vCPU"],
      [5, "programs: got 5, expected an array with a guest program (a function) or undefined per vCPU"],
      [{ length: 2 }, 'programs: got {"length":2}, expected an array with a guest program (a function) or undefined per vCPU'],
      [[undefined, 3], "programs[1]: got 3, expected a guest program (a function) or undefined"],
      [[null], "programs[0]: got null, expected a guest program (a function) or undefined"],
    ];
    for (const [programs, message] of bad) {
      expect(() => buildSystem({ programs } as unknown as SystemOptions)).toThrow(new TypeError(message));
    }
    // the class itself checks too (a design and machine of a valid build)
    const ok = buildSystem({ programs: [undefined, undefined], instantBoot: true });
    expect(() => new Hypervisor(ok.machine, ok.vgic, { programs: [7] } as unknown as HypervisorOptions)).toThrow(
      new TypeError("programs[0]: got 7, expected a guest program (a function) or undefined"));
    ok.gic.release();
  });
});
