// Set up before each test file of the "shared" project (vitest.config.ts),
// whose files share their worker's modules: a file that leaves a design or
// a scenario registered, a global defined, or the environment changed,
// would change what the files after it see. Such a file fails here and
// restores what it changed, or belongs in ISOLATED. So does a file that
// sets V8 flags, which no file can unset. (What this cannot see, the pool
// of released model instances among it, is why some files are in ISOLATED.)
import v8 from "node:v8";
import { syncBuiltinESMExports } from "node:module";
import { afterAll } from "vitest";
// (the schema library defines two globals of its own when first imported:
// imported here, they are there before the first snapshot)
import "zod";
import { allVariants } from "../host/xen/variants.ts";
import { SCENARIOS } from "../host/xen/scenarios.ts";

const names = () => [...allVariants().map((v) => `design ${v.name}`), ...SCENARIOS.map((s) => `scenario ${s.name}`)];
const env = () => JSON.stringify(Object.entries(process.env).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
const globals = () => Object.getOwnPropertyNames(globalThis).map((n) => `globalThis.${n}`);
const before = { names: names(), env: env(), cwd: process.cwd(), globals: globals() };

// V8's flags, as set through node:v8 by this file (named imports too: the
// builtin's ESM exports are synced to the wrapper, once per worker)
const FLAGS = Symbol.for("vgic-lab.tests.v8Flags");
type Flagged = typeof v8.setFlagsFromString & { [FLAGS]?: string[] };
let wrapped = v8.setFlagsFromString as Flagged;
if (wrapped[FLAGS] === undefined) {
  const set = v8.setFlagsFromString;
  const log: string[] = [];
  wrapped = Object.assign((flags: string) => { log.push(flags); set(flags); }, { [FLAGS]: log });
  v8.setFlagsFromString = wrapped;
  syncBuiltinESMExports();
}
const flagsSet = wrapped[FLAGS]!;
flagsSet.length = 0;

function diff(now: string[], was: string[]): string {
  const added = now.filter((n) => !was.includes(n)), gone = was.filter((n) => !now.includes(n));
  return [...added.map((n) => `added ${n}`), ...gone.map((n) => `removed ${n}`)].join(", ") || "reordered them";
}

afterAll(() => {
  const changed: string[] = [];
  const now = names();
  if (now.join() !== before.names.join()) changed.push(`the registered designs or scenarios (${diff(now, before.names)})`);
  const g = globals();
  if (g.join() !== before.globals.join()) changed.push(`the globals (${diff(g, before.globals)})`);
  if (env() !== before.env) changed.push("process.env");
  if (flagsSet.length > 0) changed.push(`V8's flags (${flagsSet.join(", ")}; they cannot be unset)`);
  if (process.cwd() !== before.cwd) changed.push(`the working directory (${process.cwd()}, was ${before.cwd})`);
  if (changed.length > 0) {
    throw new Error(`this file changed ${changed.join(" and ")}, which the next file in its worker shares: restore it, or list the file in ISOLATED in vitest.config.ts`);
  }
});
