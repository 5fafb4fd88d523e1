// Register scripts: the line format `vgic mmio` runs, so that one script runs
// unchanged on this model and on a QEMU virt board.
//
//   cpu N                 make CPU N the accessing CPU
//   r8|r16|r32 ADDR       read; prints `0xAAAAAAAA = 0xVVVVVVVV`
//   w8|w16|w32 ADDR VALUE write
//   line IRQ 0|1 [CPU]    drive an input line (PPIs per CPU, default the current CPU)
//   # comment             also after a command; blank lines are ignored
// Numbers are decimal or 0x-hex.

import { MAINTENANCE_PPI, type Gic } from "./gic.ts";
import { printable } from "../io/text.ts";

export type ScriptOp =
  | { op: "cpu"; cpu: number; line: number }
  | { op: "read"; addr: number; size: 1 | 2 | 4; line: number }
  | { op: "write"; addr: number; value: number; size: 1 | 2 | 4; line: number }
  | { op: "line"; irq: number; level: 0 | 1; cpu: number | undefined; line: number };

export class ScriptError extends Error {
  constructor(readonly file: string, readonly line: number, message: string) {
    super(`${file}:${line}: ${message}`);
    this.name = "ScriptError";
  }
}

function parseNumber(tok: string | undefined, what: string, file: string, line: number, max = 0xffffffff): number {
  if (tok === undefined) throw new ScriptError(file, line, `missing ${what}`);
  const ok = /^(0x[0-9a-f]+|[0-9]+)$/i.test(tok);
  const v = ok ? Number(tok) : NaN;
  if (!ok || !Number.isSafeInteger(v) || v > max) {
    throw new ScriptError(file, line, `${what} must be a number from 0 to ${max} (decimal or 0x-hex), got '${printable(tok, 40)}'`);
  }
  return v;
}

const SIZES: Record<string, 1 | 2 | 4> = { "8": 1, "16": 2, "32": 4 };

/** Parse line `n` of a script: its operation, or null for a blank line or
 *  a comment. */
export function parseScriptLine(text: string, n: number, file = "<script>"): ScriptOp | null {
  const body = text.replace(/#.*/, "").trim();
  if (body === "") return null;
  const t = body.split(/\s+/);
  const cmd = t[0]!.toLowerCase();
  const m = /^([rw])(8|16|32)$/.exec(cmd);
  const expectArgs = (count: number, usage: string) => {
    if (t.length - 1 !== count) throw new ScriptError(file, n, `'${cmd}' takes ${usage}, got ${t.length - 1} argument(s)`);
  };
  if (cmd === "cpu") {
    expectArgs(1, "one argument: cpu N");
    return { op: "cpu", cpu: parseNumber(t[1], "CPU number", file, n, 7), line: n };
  } else if (m && m[1] === "r") {
    expectArgs(1, "one argument: ADDR");
    return { op: "read", addr: parseNumber(t[1], "address", file, n), size: SIZES[m[2]!]!, line: n };
  } else if (m && m[1] === "w") {
    expectArgs(2, "two arguments: ADDR VALUE");
    const size = SIZES[m[2]!]!;
    const max = size === 4 ? 0xffffffff : size === 2 ? 0xffff : 0xff;
    return {
      op: "write", addr: parseNumber(t[1], "address", file, n),
      value: parseNumber(t[2], `${size * 8}-bit value`, file, n, max), size, line: n,
    };
  } else if (cmd === "line") {
    if (t.length < 3 || t.length > 4) throw new ScriptError(file, n, "'line' takes IRQ 0|1 [CPU]");
    const irq = parseNumber(t[1], "interrupt ID", file, n, 1019);
    const level = parseNumber(t[2], "level (0 or 1)", file, n, 1) as 0 | 1;
    const cpu = t[3] === undefined ? undefined : parseNumber(t[3], "CPU number", file, n, 7);
    return { op: "line", irq, level, cpu, line: n };
  }
  throw new ScriptError(file, n, `unknown command '${printable(t[0]!, 40)}': expected cpu, r8, r16, r32, w8, w16, w32 or line`);
}

export function parseScript(text: string, file = "<script>"): ScriptOp[] {
  const ops: ScriptOp[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    const op = parseScriptLine(line, i + 1, file);
    if (op !== null) ops.push(op);
  });
  return ops;
}

export const hex8 = (v: number) => "0x" + (v >>> 0).toString(16).padStart(8, "0");

/** Run a parsed script; `out` receives one line per read. Errors that depend
 *  on the configuration (a CPU or line that does not exist) name the line. */
export interface ScriptRead {
  /** line of the script */
  line: number;
  cpu: number;
  addr: number;
  size: 1 | 2 | 4;
  value: number;
}

export function runScript(gic: Gic, ops: ScriptOp[], out: (s: string) => void, file = "<script>",
  onRead?: (r: ScriptRead) => void): void {
  const run = scriptRunner(gic, out, file, onRead);
  for (const o of ops) run(o);
}

export function scriptRunner(gic: Gic, out: (s: string) => void, file: string, onRead?: (r: ScriptRead) => void): (o: ScriptOp) => void {
  let cpu = 0;
  return (o) => {
    switch (o.op) {
      case "cpu":
        if (o.cpu >= gic.config.cpus) {
          throw new ScriptError(file, o.line, `CPU ${o.cpu} does not exist (this GIC has ${gic.config.cpus})`);
        }
        cpu = o.cpu;
        break;
      case "read":
      {
        const value = gic.read(cpu, o.addr, o.size) >>> 0;
        out(`${hex8(o.addr)} = ${hex8(value)}`);
        onRead?.({ line: o.line, cpu, addr: o.addr, size: o.size, value });
      }
        break;
      case "write":
        gic.write(cpu, o.addr, o.value, o.size);
        break;
      case "line": {
        const c = o.cpu ?? cpu;
        if (o.irq < 16 || o.irq >= gic.config.irqs || c >= gic.config.cpus) {
          throw new ScriptError(file, o.line,
            `no input line for interrupt ${o.irq} on CPU ${c} (PPIs 16-31, SPIs 32-${gic.config.irqs - 1})`);
        }
        if (o.irq === MAINTENANCE_PPI) {
          throw new ScriptError(file, o.line, `interrupt 25 is the maintenance PPI, which the model's virtual interface drives: no input line`);
        }
        gic.setLine(o.irq, o.level, c);
        break;
      }
    }
  };
}
