// Reading a text file as a stream of lines, synchronously, with a bounded
// line length: memory stays at one chunk and one line whatever the file's
// size, and a file that is not text (a binary, one huge line) is refused at
// the first overlong line instead of being held whole. Bytes that are not
// UTF-8 decode to U+FFFD, which printable() shows escaped.

import { closeSync, openSync, readSync } from "node:fs";
import { InputError, printable, readProblem } from "./input.ts";

export const MAX_LINE_BYTES = 4096;
const CHUNK = 1 << 16;

/** Call `onLine(text, lineNumber)` for every line of `file` (without its
 *  \n or \r\n). Throws InputError for an unreadable file or a line longer
 *  than `maxLine` bytes, naming the file and the line. */
export function forEachLine(file: string, onLine: (line: string, n: number) => void, maxLine = MAX_LINE_BYTES): void {
  let fd: number;
  try {
    fd = openSync(file, "r");
  } catch (e) {
    throw new InputError(`${printable(file)}: ${readProblem(e)}`);
  }
  const decoder = new TextDecoder("utf-8");
  const chunk = Buffer.allocUnsafe(CHUNK);
  const line = Buffer.allocUnsafe(maxLine + 1);
  let len = 0;
  let n = 1;
  const tooLong = (): never => {
    throw new InputError(`${printable(file)}:${n}: line longer than ${maxLine} bytes (is it a text file?)`);
  };
  const emit = () => {
    const end = len > 0 && line[len - 1] === 0x0d ? len - 1 : len;
    if (end > maxLine) tooLong();
    if (end === 0) { n++; len = 0; return; } // blank: nothing to decode
    len = 0;
    onLine(decoder.decode(line.subarray(0, end)), n++);
  };
  try {
    for (;;) {
      let got: number;
      try {
        got = readSync(fd, chunk, 0, CHUNK, null);
      } catch (e) {
        throw new InputError(`${printable(file)}: ${readProblem(e)}`);
      }
      if (got === 0) break;
      for (let i = 0; i < got; i++) {
        const c = chunk[i]!;
        if (c === 0x0a) {
          emit();
        } else {
          if (len > maxLine) tooLong(); // maxLine + 1 bytes: room for the \r of \r\n
          line[len++] = c;
        }
      }
    }
    if (len > 0) emit();
  } finally {
    closeSync(fd);
  }
}
