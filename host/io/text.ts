// Untrusted text, without the file system (the browser bundle uses this
// too): JSON parsed with a bound on nesting and errors that give a position
// but never echo the input, and strings made printable.

/** Deepest nesting of arrays and objects any input file may have. Every
 *  file format here is a few levels deep; the bound keeps the recursive
 *  validators and JSON.stringify far from the stack limit. */
export const MAX_JSON_DEPTH = 64;

/** A bad input file, command-line argument or field: exit status 2. */
export class InputError extends Error {
  override name = "InputError";
}

/** Nesting depth of JSON text, scanning once without recursion; strings are
 *  skipped so that brackets inside them do not count. */
export function jsonDepth(text: string, limit = Infinity): { depth: number; offset: number } {
  let depth = 0;
  let max = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inString) {
      if (c === 0x5c) i++; // backslash: skip the escaped character
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) {
      inString = true;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) {
        max = depth;
        if (max > limit) return { depth: max, offset: i };
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return { depth: max, offset: -1 };
}

/** Line and column (1-based) of a character offset. */
function where(text: string, offset: number): string {
  let line = 1;
  let col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) { line++; col = 1; } else col++;
  }
  return `line ${line}, column ${col}`;
}

/**
 * JSON.parse with the nesting bounded by `maxDepth`. Throws a SyntaxError
 * whose message gives the position but none of the text (V8's own message
 * quotes the input, which may be any file the user named).
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const d = jsonDepth(text, maxDepth);
  if (d.depth > maxDepth) throw new SyntaxError(`nested deeper than ${maxDepth} levels (at ${where(text, d.offset)})`);
  try {
    return JSON.parse(text);
  } catch (e) {
    const m = /position (\d+)/.exec((e as Error).message);
    if (m) throw new SyntaxError(`not valid JSON (at ${where(text, Number(m[1]))})`);
    if (/Unexpected end/.test((e as Error).message) || text.trim() === "") throw new SyntaxError("not valid JSON (unexpected end of the text)");
    throw new SyntaxError("not valid JSON");
  }
}

/**
 * A string from a file or the command line, safe to print: control
 * characters, bytes that were not UTF-8 (U+FFFD) and C1 controls are
 * escaped (\x1b, \u009b), and it is cut at `max` characters.
 */
export function printable(s: string, max = 60): string {
  let out = "";
  let n = 0;
  for (const ch of s) {
    if (n++ >= max) return out + `... (${s.length} characters)`;
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xfffd || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e)) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out;
}

/** Largest input file (workload, finding, counterexample, profile, bench
 *  result) read whole: each is a few kilobytes. */
