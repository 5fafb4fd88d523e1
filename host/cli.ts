// The `vgic` command: a thin layer over the library in host/.

import { fuzzCommand } from "./fuzz/cli.ts";
import type { ParseArgsConfig } from "node:util";
import { Gic, ConfigError, type GicConfig } from "./hw/gic.ts";
import { ScriptError } from "./hw/script.ts";
import { runScriptFile } from "./hw/script-file.ts";
import { parseCliArgs } from "./io/args.ts";
import { InputError, printable } from "./io/input.ts";
import { BenchUsageError, benchCommand } from "./bench/command.ts";
import { ProfileError } from "./sim/profile.ts";
import { VARIANTS } from "./xen/variants.ts";
import { runCommand } from "./workload/command.ts";
import { exploreCommand } from "./explore/cli.ts";
import { SERVE_USAGE, serveCommand } from "./web/serve.ts";

const USAGE = `usage: vgic <command> [options]

commands:
  mmio SCRIPT     run a register script against the GIC model and print every read
  bench           benchmarks: --hw register round trips, --sim machine steps, --stack
                  whole-stack injections per second, --latency modelled injection
                  latency per path and design (default: all four)
  run WORKLOAD    run a workload file under one or every vGIC design (--variant NAME|all,
                  --seed N, --json, --trace FILE, --report FILE; --schema prints the file format)
  fuzz            fuzz MMIO register accesses (--target hw, --seconds N, --seed N,
                  --workers N, --shard I/N, --out DIR, --corpus DIR, --replay FILE)
  serve           the web page on http://127.0.0.1:8080/ (--port N)
  variants        the vGIC designs, one line each (select with --variant NAME)
  explore SCENARIO  search a race scenario's schedules for a counterexample (--matrix: every
                  scenario x variant; --replay FILE; \`vgic explore --help\` for options)
  help            this text

mmio options (defaults: the QEMU virt board's GICv2 with one CPU):
  --cpus N            CPU interfaces, 1-8 (1)
  --irqs N            interrupt IDs, a multiple of 32 up to 992, or 1020 (288)
  --prio-bits N       implemented priority bits, 4-8 (8)
  --lrs N             list registers per CPU, 1-64 (4)
  --sgi-always-enabled, --ppi-cfg-readonly   implementation-defined choices
  --gicd/--gicc/--gich/--gicv ADDR           frame bases (0x08000000 ...)

bench options:
  --variant NAME|all  vGIC design(s) for --latency (all) and --stack (xen-4.9 for all)
  --reps N            repetitions per latency path (200; migration at most 50)
  --seed N            seed of the latency paths' timing offsets (1)
  --profile NAME|PATH cost profile for --latency: a name in profiles/ or a file (xgene-xen)
  --compare FILE      print the change of every figure against an earlier --json result
  --iterations N      operations per timed run of --hw (1000000)
  --runs N            timed runs of --hw/--sim/--stack; the median is reported (7)
  --json              one JSON document (schemas/bench.schema.json)
`;

class UsageError extends Error {}

function num(v: string | undefined, name: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^(0x[0-9a-f]+|[0-9]+)$/i.test(v)) throw new UsageError(`--${name}: expected a number, got '${printable(v)}'`);
  return Number(v);
}

const GIC_OPTIONS = {
  cpus: { type: "string" },
  irqs: { type: "string" },
  "prio-bits": { type: "string" },
  lrs: { type: "string" },
  "sgi-always-enabled": { type: "boolean" },
  "sgi-enable-writable": { type: "boolean" },
  "ppi-cfg-readonly": { type: "boolean" },
  gicd: { type: "string" },
  gicc: { type: "string" },
  gich: { type: "string" },
  gicv: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

function gicConfig(v: Record<string, string | boolean | undefined>): Partial<GicConfig> {
  const c: Partial<GicConfig> = {};
  const set = <K extends keyof GicConfig>(k: K, x: GicConfig[K] | undefined) => { if (x !== undefined) c[k] = x; };
  set("cpus", num(v.cpus as string | undefined, "cpus"));
  set("irqs", num(v.irqs as string | undefined, "irqs"));
  set("priorityBits", num(v["prio-bits"] as string | undefined, "prio-bits"));
  set("listRegisters", num(v.lrs as string | undefined, "lrs"));
  if (v["sgi-always-enabled"] && v["sgi-enable-writable"]) throw new UsageError("mmio: --sgi-always-enabled and --sgi-enable-writable contradict each other");
  if (v["sgi-always-enabled"]) c.sgiAlwaysEnabled = true;
  if (v["sgi-enable-writable"]) c.sgiAlwaysEnabled = false;
  if (v["ppi-cfg-readonly"]) c.ppiConfigReadOnly = true;
  const map: Partial<GicConfig["map"]> = {};
  for (const f of ["gicd", "gicc", "gich", "gicv"] as const) {
    const a = num(v[f] as string | undefined, f);
    if (a !== undefined) map[f] = a;
  }
  if (Object.keys(map).length > 0) c.map = map as GicConfig["map"];
  return c;
}

function cmdMmio(args: string[]): number {
  const { values, positionals } = parseCliArgs({ args, options: GIC_OPTIONS, allowPositionals: true });
  if (positionals.length !== 1) throw new UsageError("mmio: expected one SCRIPT file");
  const file = positionals[0]!;
  const gic = Gic.create(gicConfig(values));
  // reads are printed in batches; whatever ran before an error is printed
  let buf: string[] = [];
  const flush = () => { if (buf.length > 0) process.stdout.write(buf.join("")); buf = []; };
  try {
    runScriptFile(gic, file, (s) => { if (buf.push(s + "\n") >= 1024) flush(); }, printable(file));
  } finally {
    flush();
  }
  return 0;
}

/** `vgic bench` (host/bench/command.ts). */
function cmdBench(args: string[]): number {
  try {
    return benchCommand(args);
  } catch (e) {
    if (e instanceof BenchUsageError || e instanceof ProfileError || (e instanceof Error && /^profile .* not found/.test(e.message))) {
      throw new UsageError(`bench: ${e.message}`);
    }
    throw e;
  }
}

function cmdVariants(): number {
  const w = Math.max(...VARIANTS.map((v) => v.name.length));
  for (const v of VARIANTS) {
    const parent = v.parent === null ? "" : ` (from ${v.parent})`;
    process.stdout.write(`${v.name.padEnd(w)}  ${v.summary}${parent}\n`);
  }
  return 0;
}

/** `vgic fuzz` (host/fuzz/cli.ts); with --workers the status arrives later. */
function cmdFuzz(args: string[]): number {
  const r = fuzzCommand(args, new URL(import.meta.url));
  if (typeof r === "number") return r;
  r.then((code) => { process.exitCode = code; }, (e: unknown) => { process.stderr.write(`vgic fuzz: ${String(e)}\n`); process.exitCode = 2; });
  return 0;
}

/** `vgic run` (host/workload/command.ts): it prints its own errors. */
function cmdRun(args: string[]): number {
  return runCommand(args);
}

/** `vgic explore` (host/explore/cli.ts): asynchronous (scenario files, workers). */
function cmdExplore(args: string[]): number {
  exploreCommand(args, new URL(import.meta.url)).then((code) => { process.exitCode = code; },
    (e: unknown) => { process.stderr.write(`vgic explore: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`); process.exitCode = 2; });
  return 0;
}

/** \`vgic serve\` (host/web/serve.ts): runs until stopped. */
function cmdServe(args: string[]): number {
  if (args.includes("--help") || args.includes("-h")) { process.stdout.write(SERVE_USAGE); return 0; }
  serveCommand(args, (s) => process.stdout.write(s)).catch((e: unknown) => {
    process.stderr.write(`vgic serve: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exitCode = 2;
  });
  return 0;
}

export function main(argv: string[]): number {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case "mmio": return cmdMmio(rest);
      case "bench": return cmdBench(rest);
      case "fuzz": return cmdFuzz(rest);
      case "run": return cmdRun(rest);
      case "explore": return cmdExplore(rest);
      case "variants": return cmdVariants();
      case "serve": return cmdServe(rest);
      case undefined:
      case "help":
      case "--help":
      case "-h":
        process.stdout.write(USAGE);
        return cmd === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command '${cmd}'`);
    }
  } catch (e) {
    if (e instanceof UsageError || e instanceof ScriptError || e instanceof ConfigError || e instanceof InputError ||
        (e instanceof RangeError && /^unknown variant/.test(e.message))) {
      process.stderr.write(`vgic: ${e.message}\n`);
      if (e instanceof UsageError) process.stderr.write("run `vgic help` for usage\n");
      return 2;
    }
    if (e instanceof TypeError && (e as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
      process.stderr.write(`vgic: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}

process.exitCode = main(process.argv.slice(2));
