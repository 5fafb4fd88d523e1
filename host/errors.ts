// Which errors are the user's input, not a bug: the `vgic` command exits 2
// on them (host/cli.ts), and an explore worker tells the calling thread so
// of a cell's error (host/explore/matrix.ts), which then reports it as one
// thread would have.

import { ConfigError } from "./hw/gic.ts";
import { ScriptError } from "./hw/script.ts";
import { ProfileError } from "./sim/profile.ts";
import { ExtensionFileError } from "./extend.ts";
import { ReplayFileError } from "./explore/replay.ts";
import { FindingError } from "./fuzz/target.ts";
import { InputError } from "./io/input.ts";
import { UsageError } from "./io/usage.ts";
import { ServeUsageError } from "./web/serve.ts";

/** Errors that are the user's input, not a bug: exit status 2. */
export function isUsage(e: unknown): e is Error {
  return e instanceof UsageError || e instanceof ScriptError || e instanceof ConfigError || e instanceof ProfileError ||
    e instanceof ReplayFileError || e instanceof FindingError || e instanceof InputError || e instanceof ServeUsageError ||
    e instanceof ExtensionFileError || (e instanceof RangeError && /^unknown variant/.test(e.message)) ||
    (e instanceof Error && /^profile .* not found/.test(e.message));
}
