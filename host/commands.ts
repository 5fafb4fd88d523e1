// The `vgic` commands: each is its option table (host/options.ts) and what
// it does with the parsed arguments. mmio and variants are here; run,
// explore, fuzz and bench live with their subsystems.

import * as z from "zod";
import { ConfigError, Gic, shown, type GicConfig } from "./hw/gic.ts";
import type { ScriptRead } from "./hw/script.ts";
import { runScriptFile } from "./hw/script-file.ts";
import { serveCommand } from "./web/serve.ts";
import { printable } from "./io/input.ts";
import { BENCH_COMMAND } from "./bench/command.ts";
import { allVariants, VARIANTS } from "./xen/variants.ts";
import { REPORT_COMMAND, RUN_COMMAND } from "./workload/command.ts";
import { EXPLORE_COMMAND } from "./explore/cli.ts";
import { FUZZ_COMMAND } from "./fuzz/cli.ts";
import {
  EXIT, UsageError, VARIANTS_OPTION, intOption, withVariants, type CommandSpec, type Parsed, type Values,
} from "./options.ts";
import { VERSION } from "./version.ts";

/** A command: its option table and what it does with the parsed arguments. */
export interface Command {
  spec: CommandSpec;
  run(p: Parsed, entry: URL): number | Promise<number>;
}

// ---- vgic mmio

const MMIO_SPEC: CommandSpec = {
  name: "mmio",
  usage: ["SCRIPT [options]"],
  summary: "Run a register script against the GIC model and print every read as 0xADDR = 0xVALUE.",
  description: `Script lines: cpu N | r8|r16|r32 ADDR | w8|w16|w32 ADDR VALUE | line IRQ 0|1 [CPU] | # comment.
Defaults: the QEMU virt board's GICv2 with one CPU.`,
  maxPositionals: 1,
  options: {
    cpus: { type: "string", arg: "N", help: "CPU interfaces, 1-8 (1)" },
    irqs: { type: "string", arg: "N", help: "interrupt IDs, a multiple of 32 up to 992, or 1020 (288)" },
    "prio-bits": { type: "string", arg: "N", help: "implemented priority bits, 4-8 (8)" },
    lrs: { type: "string", arg: "N", help: "list registers per CPU, 1-64 (4)" },
    "sgi-always-enabled": { type: "boolean", help: "SGI enables RAO/WI, as QEMU's virt and the GIC-400 (the default)" },
    "sgi-enable-writable": { type: "boolean", help: "SGI enables writable: the other implementation-defined choice" },
    "ppi-cfg-readonly": { type: "boolean", help: "PPI trigger configuration read-only (implementation defined)" },
    gicd: { type: "string", arg: "ADDR", help: "distributor base (0x08000000)" },
    gicc: { type: "string", arg: "ADDR", help: "CPU interface base (0x08010000)" },
    gich: { type: "string", arg: "ADDR", help: "virtual interface control base (0x08030000)" },
    gicv: { type: "string", arg: "ADDR", help: "virtual CPU interface base (0x08040000)" },
    json: { type: "boolean", help: "one JSON document (schemas/mmio.schema.json)" },
  },
};

export const MMIO_FORMAT = "vgic-mmio/1";
export const MmioOutput = z.strictObject({
  format: z.literal(MMIO_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  script: z.string().describe("the script file"),
  config: z.looseObject({ cpus: z.number().int(), irqs: z.number().int(), priorityBits: z.number().int(), listRegisters: z.number().int() })
    .describe("the GIC configuration it ran on"),
  reads: z.array(z.strictObject({
    line: z.number().int().describe("script line"), cpu: z.number().int(), addr: z.number().int(), size: z.union([z.literal(1), z.literal(2), z.literal(4)]),
    value: z.number().int().min(0).max(0xffffffff),
  })).describe("every read, in order"),
});

function gicConfig(v: Values): Partial<GicConfig> {
  const c: Partial<GicConfig> = {};
  const set = <K extends keyof GicConfig>(k: K, x: GicConfig[K] | undefined) => { if (x !== undefined) c[k] = x; };
  set("cpus", intOption(v, "cpus", 0, 0xffffffff));
  set("irqs", intOption(v, "irqs", 0, 0xffffffff));
  set("priorityBits", intOption(v, "prio-bits", 0, 0xffffffff));
  set("listRegisters", intOption(v, "lrs", 0, 0xffffffff));
  if (v["sgi-always-enabled"] && v["sgi-enable-writable"]) throw new UsageError("--sgi-always-enabled and --sgi-enable-writable contradict each other");
  if (v["sgi-always-enabled"]) c.sgiAlwaysEnabled = true;
  if (v["sgi-enable-writable"]) c.sgiAlwaysEnabled = false;
  if (v["ppi-cfg-readonly"]) c.ppiConfigReadOnly = true;
  const map: Partial<GicConfig["map"]> = {};
  for (const f of ["gicd", "gicc", "gich", "gicv"] as const) {
    const a = intOption(v, f, 0, 0xffffffff);
    if (a !== undefined) map[f] = a;
  }
  if (Object.keys(map).length > 0) c.map = map as GicConfig["map"];
  return c;
}

/** The option of each configuration field vgic mmio sets. */
const MMIO_OPTION_OF: Record<string, string> = {
  cpus: "--cpus", irqs: "--irqs", priorityBits: "--prio-bits", listRegisters: "--lrs",
  "map.gicd": "--gicd", "map.gicc": "--gicc", "map.gich": "--gich", "map.gicv": "--gicv",
};

const MMIO_COMMAND: Command = {
  spec: MMIO_SPEC,
  run({ values, positionals }) {
    if (positionals.length !== 1) throw new UsageError("expected one SCRIPT file");
    const file = positionals[0]!;
    let gic: Gic;
    try {
      gic = Gic.create(gicConfig(values));
    } catch (e) {
      // named by the option given, not the configuration field it sets
      if (!(e instanceof ConfigError)) throw e;
      const option = MMIO_OPTION_OF[e.field] ?? e.field;
      const other = e.expected.replace(/\b(map\.gic[dchv]|cpus|irqs|priorityBits|listRegisters)\b/g, (f) => MMIO_OPTION_OF[f] ?? f);
      throw new UsageError(`${option}: got ${shown(e.value)}, expected ${other}`);
    }
    const reads: ScriptRead[] = [];
    const json = values.json === true;
    // reads are printed in batches; whatever ran before an error is printed
    let buf: string[] = [];
    const flush = () => { if (buf.length > 0) process.stdout.write(buf.join("")); buf = []; };
    try {
      runScriptFile(gic, file, (s) => { if (!json && buf.push(s + "\n") >= 1024) flush(); }, printable(file), json ? (r) => reads.push(r) : undefined);
    } finally {
      flush();
    }
    if (json) {
      const { cpus, irqs, priorityBits, listRegisters, sgiAlwaysEnabled, ppiConfigReadOnly, map } = gic.config;
      const doc: z.infer<typeof MmioOutput> = {
        format: MMIO_FORMAT, vgicLab: VERSION, script: file,
        config: { cpus, irqs, priorityBits, listRegisters, sgiAlwaysEnabled, ppiConfigReadOnly, map: { ...map } }, reads,
      };
      process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
    }
    return EXIT.ok;
  },
};

// ---- vgic variants

export const VARIANTS_FORMAT = "vgic-variants/1";
export const VariantsOutput = z.strictObject({
  format: z.literal(VARIANTS_FORMAT),
  vgicLab: z.string().describe("the vgic-lab version that made it"),
  variants: z.array(z.strictObject({
    name: z.string(), parent: z.string().nullable().describe("the design it derives from"), summary: z.string(),
    builtin: z.boolean().describe("false for a design loaded with --variants"),
  })),
});

const VARIANTS_COMMAND: Command = {
  spec: {
    name: "variants",
    usage: ["[--variants FILE] [--json]"],
    summary: "List the vGIC designs, one line each (every command that runs the hypervisor takes --variant NAME).",
    options: { ...VARIANTS_OPTION, json: { type: "boolean", help: "one JSON document (schemas/variants.schema.json)" } },
  },
  async run({ values }) {
    await withVariants(values);
    const all = allVariants();
    if (values.json) {
      const doc: z.infer<typeof VariantsOutput> = {
        format: VARIANTS_FORMAT, vgicLab: VERSION,
        variants: all.map((v) => ({ name: v.name, parent: v.parent, summary: v.summary, builtin: VARIANTS.includes(v) })),
      };
      process.stdout.write(JSON.stringify(doc, null, 2) + "\n");
      return EXIT.ok;
    }
    const w = Math.max(...all.map((v) => v.name.length));
    for (const v of all) {
      const parent = v.parent === null ? "" : ` (from ${v.parent})`;
      process.stdout.write(`${v.name.padEnd(w)}  ${v.summary}${parent}\n`);
    }
    return EXIT.ok;
  },
};

// ---- vgic serve

const SERVE_COMMAND: Command = {
  spec: {
    name: "serve",
    usage: ["[--port N]"],
    summary: "Serve the web page (build/web/) on http://127.0.0.1:N/ until stopped.",
    options: { port: { type: "string", arg: "N", help: "the port (8080; 0 picks a free one)" } },
  },
  async run({ values }) {
    const port = values.port;
    await serveCommand(typeof port === "string" ? [`--port=${port}`] : [], (s) => process.stdout.write(s));
    return EXIT.ok;
  },
};

// ---- every command

export const COMMANDS: Record<string, Command> = {
  mmio: MMIO_COMMAND,
  run: RUN_COMMAND,
  explore: EXPLORE_COMMAND,
  fuzz: FUZZ_COMMAND,
  bench: BENCH_COMMAND,
  report: REPORT_COMMAND,
  variants: VARIANTS_COMMAND,
  serve: SERVE_COMMAND,
};

