// Register scripts read from a file as a stream (Node only: the page runs
// scripts from text with host/hw/script.ts).

import type { Gic } from "./gic.ts";
import { forEachLine } from "../io/lines.ts";
import { parseScriptLine, scriptRunner, type ScriptRead } from "./script.ts";

/** Run a script file as a stream: a first pass checks every line (a
 *  malformed line anywhere means nothing runs), a second runs them; memory
 *  stays at one line whatever the file's size. */
export function runScriptFile(gic: Gic, path: string, out: (s: string) => void, file = path,
  onRead?: (r: ScriptRead) => void): void {
  forEachLine(path, (line, n) => { parseScriptLine(line, n, file); });
  const run = scriptRunner(gic, out, file, onRead);
  forEachLine(path, (line, n) => {
    const op = parseScriptLine(line, n, file);
    if (op !== null) run(op);
  });
}
