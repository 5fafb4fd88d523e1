// The `vgic` command: a thin layer over the library in host/. Every command
// declares its options in a table (host/options.ts) from which its --help
// comes; exit statuses are EXIT's for all of them.

import { COMMANDS } from "./commands.ts";
import { isUsage } from "./errors.ts";
import { EXIT, UsageError, helpText, parseCommand, type CommandSpec } from "./options.ts";
import { VERSION } from "./version.ts";

const TOP_SPEC: CommandSpec = {
  name: "",
  usage: ["COMMAND [options]", "help [COMMAND]"],
  summary: "vgic-lab: an emulated GICv2 with a Xen-style vGIC on a deterministic multi-pCPU machine.",
  description: "commands:\n" + Object.entries(COMMANDS).map(([n, c]) => `  ${n.padEnd(9)} ${c.spec.summary}`).join("\n") +
    "\n\n`vgic COMMAND --help` lists a command's options.",
  options: {},
};

/** Run `vgic ARGV...`; resolves to the exit status. */
export async function main(argv: string[], entry: URL = new URL(import.meta.url)): Promise<number> {
  const [cmd, ...rest] = argv;
  const name = cmd === "help" && rest.length > 0 ? rest[0]! : cmd;
  try {
    if (cmd === undefined || cmd === "help" && rest.length === 0 || cmd === "--help" || cmd === "-h") {
      process.stdout.write(helpText(TOP_SPEC));
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    }
    if (cmd === "--version" || cmd === "version") {
      process.stdout.write(`vgic-lab ${VERSION}\n`);
      return EXIT.ok;
    }
    const c = COMMANDS[name!];
    if (c === undefined) throw new UsageError(`unknown command '${name}': expected one of ${Object.keys(COMMANDS).join(", ")}`);
    if (cmd === "help") {
      process.stdout.write(helpText(c.spec));
      return EXIT.ok;
    }
    const p = parseCommand(c.spec, rest);
    if (p.answered !== undefined) return p.answered;
    return await c.run(p, entry);
  } catch (e) {
    if (isUsage(e)) {
      process.stderr.write(`vgic${name && COMMANDS[name] ? " " + name : ""}: ${e.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`vgic: internal error (please report it): ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    return EXIT.error;
  }
}

// A reader that went away (`vgic run ... | head`) ends the command as a
// broken pipe ends a Unix filter: quietly, with the status of a process that
// SIGPIPE ended (128 + 13), not 0, which would claim a verdict it never gave.
for (const s of [process.stdout, process.stderr]) {
  s.on("error", (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT.brokenPipe);
    throw e;
  });
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; });
