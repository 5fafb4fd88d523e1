// The `vgic` command line: each command declares its options once, in a
// table with their help text; parsing (node:util parseArgs), `--help` and
// the usage errors all come from that table. Exit statuses are one table
// for every command (EXIT, and the README's "Exit status").

import { parseCliArgs } from "./io/args.ts";
import { printable } from "./io/input.ts";
import { VERSION } from "./version.ts";
import { UsageError, type Values } from "./io/usage.ts";
import { loadVariants } from "./extend.ts";

/** Exit statuses of every `vgic` command. */
export const EXIT = {
  /** done; nothing found (fuzz, explore), every variant ran (run) */
  ok: 0,
  /** a finding: a fuzzer violation, an explorer counterexample (any matrix
   *  cell), a replay that still fails */
  finding: 1,
  /** a bad command line or input file, named with what was expected */
  usage: 2,
  /** the run could not complete: a variant failed, a worker died, a bug */
  error: 3,
  /** the output's reader went away (a broken pipe: 128 + SIGPIPE) */
  brokenPipe: 141,
} as const;

export { UsageError, intOption, memoryOptions, type Values } from "./io/usage.ts";

export interface OptionSpec {
  type: "string" | "boolean";
  /** the value's name in help (N, FILE, NAME) */
  arg?: string;
  help: string;
  short?: string;
  /** may be given several times */
  multiple?: boolean;
}

export interface CommandSpec {
  /** "explore", or "" for the top level */
  name: string;
  /** usage lines after `vgic NAME ` */
  usage: string[];
  /** one line for `vgic help` */
  summary: string;
  /** paragraphs after the usage lines */
  description?: string;
  options: Record<string, OptionSpec>;
  /** the most positional arguments (default 0) */
  maxPositionals?: number;
}

/** `--variants FILE`, for every command that names designs. */
export const VARIANTS_OPTION: Record<string, OptionSpec> = {
  variants: { type: "string", arg: "FILE", help: "load more vGIC designs from an ES module exporting `variants`" },
};

/** Options every command takes. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  help: { type: "boolean", short: "h", help: "print this help and exit" },
  version: { type: "boolean", help: "print the vgic-lab version and exit" },
};


export interface Parsed {
  values: Values;
  positionals: string[];
  /** --help or --version was answered: exit with this status */
  answered?: number;
}

/** Parse `args` against the command's table; --help and --version answer here. */
export function parseCommand(spec: CommandSpec, args: string[], write: (s: string) => void = (s) => process.stdout.write(s)): Parsed {
  const all = { ...spec.options, ...COMMON_OPTIONS };
  const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {};
  for (const [k, o] of Object.entries(all)) {
    options[k] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
  }
  let r: { values: Values; positionals: string[] };
  try {
    r = parseCliArgs({ args, options, allowPositionals: true, strict: true }) as { values: Values; positionals: string[] };
  } catch (e) {
    const m = (e as Error).message.replace(/\. To specify a positional argument starting with a '-'.*$/s, "");
    throw new UsageError(`${m}; \`vgic ${spec.name} --help\` lists the options`.replace(/ {2,}/g, " "));
  }
  if (r.values.help) {
    write(helpText(spec));
    return { ...r, answered: EXIT.ok };
  }
  if (r.values.version) {
    write(`vgic-lab ${VERSION}\n`);
    return { ...r, answered: EXIT.ok };
  }
  // an empty path (an unset shell variable, say) would name the current
  // directory, or with a suffix a hidden file in it: refused
  for (const [k, o] of Object.entries(all)) {
    if (o.arg === undefined || !/FILE|DIR|PATH/.test(o.arg)) continue;
    const v = r.values[k];
    if (v === "" || (Array.isArray(v) && v.includes(""))) throw new UsageError(`--${k}: got '', expected ${o.arg}, not empty`);
  }
  const max = spec.maxPositionals ?? 0;
  if (r.positionals.length > max) {
    throw new UsageError(`unexpected argument '${printable(r.positionals[max]!)}'`);
  }
  return r;
}

/** The --help text of a command, from its table. */
export function helpText(spec: CommandSpec): string {
  const name = spec.name === "" ? "vgic" : `vgic ${spec.name}`;
  const lines = spec.usage.map((u, i) => `${i === 0 ? "usage: " : "       "}${name}${u ? " " + u : ""}`);
  lines.push("", spec.summary);
  if (spec.description) lines.push("", spec.description.trimEnd());
  const rows = Object.entries({ ...spec.options, ...COMMON_OPTIONS }).map(([k, o]) =>
    [`${o.short ? `-${o.short}, ` : ""}--${k}${o.arg ? " " + o.arg : ""}`, o.help] as const);
  const w = Math.min(28, Math.max(...rows.map(([l]) => l.length)));
  lines.push("", "options:");
  for (const [l, h] of rows) {
    const [first, ...rest] = h.split("\n");
    if (l.length > w) {
      lines.push(`  ${l}`, `  ${" ".repeat(w)}  ${first}`);
    } else {
      lines.push(`  ${l.padEnd(w)}  ${first}`);
    }
    for (const x of rest) lines.push(`  ${" ".repeat(w)}  ${x}`);
  }
  lines.push("", `exit status: ${EXIT.ok} done, nothing found; ${EXIT.finding} a finding; ${EXIT.usage} bad command line or input; ${EXIT.error} could not complete; ${EXIT.brokenPipe} the output's reader went away`);
  return lines.join("\n") + "\n";
}

/** Load --variants FILE when given: its designs are then known by name. */
export async function withVariants(values: Values): Promise<void> {
  const f = stringOption(values, "variants");
  if (f !== undefined) await loadVariants(f);
}

/** A string option, or undefined when absent. */
export function stringOption(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === "string" ? v : undefined;
}
