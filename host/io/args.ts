// Command-line parsing shared by every command: node:util's parseArgs, except
// that a negative number after an option that takes a value is taken as that
// value (`--seed -1`), so the option's own check can say what it expects
// instead of parseArgs calling the argument ambiguous.

import { parseArgs, type ParseArgsConfig } from "node:util";

export function parseCliArgs<T extends ParseArgsConfig>(config: T): ReturnType<typeof parseArgs<T>> {
  const opts = config.options ?? {};
  const args = config.args ?? [];
  const joined: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    const name = a.startsWith("--") ? a.slice(2) : undefined;
    if (name !== undefined && opts[name]?.type === "string" && next !== undefined && /^-[0-9.]/.test(next)) {
      joined.push(`${a}=${next}`);
      i++;
    } else {
      joined.push(a);
    }
  }
  return parseArgs({ ...config, args: joined } as T);
}
