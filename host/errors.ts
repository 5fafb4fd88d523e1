// Which errors are the user's input, not a bug: the `vgic` command exits 2
// on them (host/cli.ts), and a worker thread (explore, fuzz, run) tells the
// calling thread so of its error, which then reports it as one thread would
// have.

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

/** An error as a worker thread sends it: its message, name and stack, and
 *  whether it was bad input (error classes do not cross threads). */
export interface ThreadError {
  error: string;
  name: string;
  stack: string | null;
  usage: boolean;
}

/** `e` as a worker thread sends it; `context`, when given, is added to the
 *  message (what the thread was doing that the calling thread was not). */
export function threadError(e: unknown, context?: string): ThreadError {
  const err = e instanceof Error ? e : null;
  const message = err?.message ?? String(e);
  return { error: context === undefined ? message : `${message} (${context})`, name: err?.name ?? "Error", stack: err?.stack ?? null, usage: isUsage(e) };
}

/** A worker's error as the calling thread throws it: bad input as a
 *  UsageError (exit status 2, as on one thread), anything else with the
 *  name and stack it had there. */
export function fromThread(m: ThreadError): Error {
  if (m.usage) return new UsageError(m.error);
  const e = new Error(m.error);
  e.name = m.name;
  if (m.stack !== null) e.stack = m.stack;
  return e;
}

/** What a worker adds to an error met loading a user's module that the
 *  calling thread had loaded (a module may behave differently there). */
export const ON_WORKER_LOAD = "loading it again on a worker thread; the calling thread had loaded it";
