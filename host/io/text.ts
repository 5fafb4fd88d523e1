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
function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let column = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text.charCodeAt(i) === 0x0a) { line++; column = 1; } else column++;
  }
  return { line, column };
}

/** A JSON syntax error: what is wrong and where, never the text itself. */
export class JsonSyntaxError extends SyntaxError {
  override name = "JsonSyntaxError";
  constructor(readonly reason: string, readonly line: number, readonly column: number) {
    super(`not valid JSON: ${reason} (at line ${line}, column ${column})`);
  }
}

/** U+FEFF, the byte order mark some editors put at the start of a UTF-8
 *  file. RFC 8259 section 8.1: a parser may ignore it, and JSON.parse does
 *  not. */
const BOM = 0xfeff;

/** The first syntax error of JSON text that JSON.parse refused: an offset
 *  and what was expected there, by one pass without recursion (V8's message
 *  gives no position for most errors, and quotes the text). Null if the
 *  scan finds none (JSON.parse's own message is used then). */
export function jsonSyntaxError(text: string): { offset: number; reason: string } | null {
  const n = text.length;
  let i = 0;
  const ws = () => {
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) break;
      i++;
    }
  };
  const at = (reason: string) => ({ offset: i, reason: i >= n ? `expected ${reason}, got the end of the text` : `expected ${reason}, got '${printable(String.fromCodePoint(text.codePointAt(i)!))}'` });
  const digits = () => {
    const s = i;
    while (i < n && text.charCodeAt(i) >= 0x30 && text.charCodeAt(i) <= 0x39) i++;
    return i > s;
  };
  /** a string from its opening quote at i; null when well formed */
  const string = (): { offset: number; reason: string } | null => {
    i++;
    while (i < n) {
      const c = text.charCodeAt(i);
      if (c === 0x22) { i++; return null; }
      if (c < 0x20) return { offset: i, reason: "a control character in a string, expected it escaped (\\n, \\t, \\u0000) or the string closed" };
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e === "u") {
          if (!/^[0-9a-fA-F]{4}$/.test(text.slice(i + 2, i + 6))) return { offset: i, reason: "expected \\u and four hexadecimal digits" };
          i += 6;
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else return { offset: i, reason: "expected an escape of \\\", \\\\, \\/, \\b, \\f, \\n, \\r, \\t or \\uXXXX" };
      } else i++;
    }
    return { offset: n, reason: "expected the closing \" of a string, got the end of the text" };
  };
  /** a scalar or the opening of a container at i; a container is pushed */
  const stack: number[] = [];
  const value = (): { offset: number; reason: string } | null => {
    const c = text.charCodeAt(i);
    if (c === 0x7b || c === 0x5b) { stack.push(c); i++; return null; }
    if (c === 0x22) return string();
    for (const w of ["true", "false", "null"]) {
      if (text.startsWith(w, i)) { i += w.length; return null; }
    }
    if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      if (c === 0x2d) i++;
      if (text.charCodeAt(i) === 0x30) i++;
      else if (!digits()) return at("a digit");
      if (text.charCodeAt(i) === 0x2e) { i++; if (!digits()) return at("a digit after the decimal point"); }
      if (text.charCodeAt(i) === 0x65 || text.charCodeAt(i) === 0x45) {
        i++;
        if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++;
        if (!digits()) return at("a digit of the exponent");
      }
      return null;
    }
    return at("a value (an object, array, string, number, true, false or null)");
  };
  ws();
  if (i >= n) return { offset: i, reason: "the text is empty, expected a JSON value" };
  let err = value();
  if (err) return err;
  // after a value (or the opening of a container)
  let opened = stack.length > 0;
  for (;;) {
    ws();
    const top = stack[stack.length - 1];
    if (top === undefined) return i < n ? at("the end of the text after the JSON value") : null;
    const close = top === 0x7b ? 0x7d : 0x5d;
    if (opened && text.charCodeAt(i) === close) { stack.pop(); i++; opened = false; continue; }
    if (!opened) {
      if (text.charCodeAt(i) === close) { stack.pop(); i++; continue; }
      if (text.charCodeAt(i) !== 0x2c) return at(top === 0x7b ? "',' or '}' after a property value" : "',' or ']' after an array element");
      i++;
      ws();
    }
    if (top === 0x7b) {
      if (text.charCodeAt(i) !== 0x22) return at(opened ? "a property name in double quotes or '}'" : "a property name in double quotes");
      if ((err = string())) return err;
      ws();
      if (text.charCodeAt(i) !== 0x3a) return at("':' after a property name");
      i++;
      ws();
    }
    if (i >= n) return at("a value");
    const depth = stack.length;
    if ((err = value())) return err;
    opened = stack.length > depth;
  }
}

/**
 * JSON.parse with the nesting bounded by `maxDepth` and a byte order mark at
 * the start ignored. Throws a JsonSyntaxError whose message says what was
 * expected where (line and column), but none of the text (V8's own message
 * quotes the input, which may be any file the user named).
 */
export function parseJson(text: string, maxDepth = MAX_JSON_DEPTH): unknown {
  if (text.charCodeAt(0) === BOM) text = text.slice(1);
  const fail = (offset: number, reason: string): never => {
    const { line, column } = lineColumn(text, offset);
    throw new JsonSyntaxError(reason, line, column);
  };
  const d = jsonDepth(text, maxDepth);
  if (d.depth > maxDepth) fail(d.offset, `nested deeper than ${maxDepth} levels`);
  try {
    return JSON.parse(text);
  } catch (e) {
    const found = jsonSyntaxError(text);
    if (found !== null) fail(found.offset, found.reason);
    const m = /position (\d+)/.exec((e as Error).message);
    return fail(m ? Number(m[1]) : text.length, "JSON.parse refused it");
  }
}

/** Why an input file could not be read, in words (from the error of a
 *  file system call, or the message of another). */
export function readProblem(e: unknown): string {
  switch ((e as NodeJS.ErrnoException).code) {
    case "EISDIR": return "a directory, expected a file";
    case "ENOENT": return "no such file";
    case "ENOTDIR": return "no such file (a part of the path is a file, not a directory)";
    case "EACCES": case "EPERM": return "cannot be read (permission denied)";
    case undefined: return (e as Error).message;
    default: return `cannot be read (${(e as NodeJS.ErrnoException).code})`;
  }
}

/** JSON text from `origin` (a file name, printable), parsed: an InputError
 *  "ORIGIN: not valid JSON: what (at line L, column C)" otherwise. */
export function parseJsonFrom(text: string, origin: string): unknown {
  try {
    return parseJson(text);
  } catch (e) {
    throw new InputError(`${origin}: ${(e as Error).message}`);
  }
}

/** The first field of `o` that is not one of `known`, or undefined: the
 *  formats refuse a field they do not define (a misspelt one would
 *  otherwise be ignored, and its default used without a word). */
export function strayField(o: object, known: readonly string[]): string | undefined {
  return Object.keys(o).find((k) => !known.includes(k));
}

/** What was expected instead of the stray field `key` of `what`. */
export function noSuchField(key: string, what: string, known: readonly string[]): string {
  return `no field ${JSON.stringify(printable(key))}: ${what} has the fields ${known.join(", ")}`;
}

/**
 * A string from a file or the command line, safe to print: control
 * characters, bytes that were not UTF-8 (U+FFFD), C1 controls and invisible
 * marks (zero-width, bidirectional, U+FEFF) are escaped (\x1b, \u009b), and
 * it is cut at `max` characters.
 */
export function printable(s: string, max = 60): string {
  let out = "";
  let n = 0;
  for (const ch of s) {
    if (n++ >= max) return out + `... (${s.length} characters)`;
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if ((c >= 0x80 && c < 0xa0) || c === 0xfffd || (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) || c === 0xfeff) {
      out += `\\u${c.toString(16).padStart(4, "0")}`;
    } else out += ch;
  }
  return out;
}

/** Largest input file (workload, finding, counterexample, profile, bench
 *  result) read whole: each is a few kilobytes. */
