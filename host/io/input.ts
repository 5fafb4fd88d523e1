// Hostile-input guards shared by every command: JSON with bounded nesting and
// no echo of the file's text, and strings made safe to print on a terminal.
// Each command wraps these errors in its own error type, naming the file and
// the field; the exit status for bad input is 2 everywhere (README).

import { closeSync, fstatSync, openSync, readFileSync, readSync } from "node:fs";

import { InputError, parseJsonFrom, printable, readProblem } from "./text.ts";

export { MAX_JSON_DEPTH, InputError, JsonSyntaxError, jsonDepth, noSuchField, parseJson, parseJsonFrom, printable, readProblem, strayField } from "./text.ts";

export const MAX_INPUT_BYTES = 16 << 20;

/** Read a whole text input file, refusing one larger than MAX_INPUT_BYTES:
 *  a regular file by its size before reading it, anything else (a device, a
 *  pipe: /dev/zero never ends) as soon as it has given more. Errors carry
 *  the system's code (ENOENT, EISDIR) or say the size; callers name the file. */
export function readTextFile(path: string): string {
  const fd = openSync(path, "r");
  try {
    const st = fstatSync(fd);
    if (st.isFile() && st.size > MAX_INPUT_BYTES) {
      throw new Error(`${st.size} bytes, larger than the ${MAX_INPUT_BYTES >> 20} MiB an input file may have`);
    }
    if (st.isFile()) return readFileSync(fd, "utf8");
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const b = Buffer.allocUnsafe(1 << 16);
      const n = readSync(fd, b, 0, b.length, null);
      if (n === 0) break;
      total += n;
      if (total > MAX_INPUT_BYTES) throw new Error(`more than the ${MAX_INPUT_BYTES >> 20} MiB an input file may have`);
      chunks.push(b.subarray(0, n));
    }
    return Buffer.concat(chunks).toString("utf8");
  } finally {
    closeSync(fd);
  }
}

/** readTextFile, or an InputError "FILE: why it cannot be read". */
export function readInputFile(file: string): string {
  try {
    return readTextFile(file);
  } catch (e) {
    throw new InputError(`${printable(file)}: ${readProblem(e)}`);
  }
}

/** The JSON document of an input file (a byte order mark at its start is
 *  ignored), or an InputError naming the file: one that cannot be read
 *  (missing, a directory, too large), is empty or is not JSON (with the
 *  line and column). What the document must hold is the caller's check. */
export function readJsonFile(file: string): unknown {
  return parseJsonFrom(readInputFile(file), printable(file));
}
