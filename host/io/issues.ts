// The first issue zod finds in a decoded input file, in the words every
// command uses for a bad field: its JSON path, the value found and what was
// expected. For a field the format does not define, what was expected is
// the fields the object has, read from the schema itself (the same schema
// that makes the published JSON Schema), so the message and the schema's
// additionalProperties always agree.

import type * as z from "zod";
import { printable } from "./text.ts";

export interface FieldIssue {
  /** the JSON path, "devices[0].kind", or "(root)" */
  field: string;
  /** the value found there (undefined: the field is missing) */
  value: unknown;
  expected: string;
}

export function fieldName(path: readonly PropertyKey[]): string {
  let s = "";
  // (a key from the file is shown escaped: no control or direction characters reach the terminal)
  for (const k of path) s += typeof k === "number" ? `[${k}]` : s === "" ? printable(String(k)) : `.${printable(String(k))}`;
  return s === "" ? "(root)" : s;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let v = root;
  for (const k of path) {
    if (v === null || typeof v !== "object") return undefined;
    v = (v as Record<PropertyKey, unknown>)[k];
  }
  return v;
}

interface Def { type: string; shape?: Record<string, z.ZodType>; innerType?: z.ZodType; element?: z.ZodType; valueType?: z.ZodType;
  options?: z.ZodType[]; in?: z.ZodType; getter?: () => z.ZodType }
const defOf = (s: z.ZodType): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

/** The fields of the object schema that `schema` describes at `path` of
 *  `root` (unions: the option sharing most fields with the value), or null. */
export function fieldsAt(schema: z.ZodType, root: unknown, path: readonly PropertyKey[]): string[] | null {
  let s: z.ZodType | undefined = schema;
  let depth = 0;
  for (let guard = 0; s !== undefined && guard < 1000; guard++) {
    const d = defOf(s);
    const v = valueAt(root, path.slice(0, depth));
    switch (d.type) {
      case "optional": case "nullable": case "default": case "prefault": case "readonly": case "catch": case "nonoptional":
        s = d.innerType; continue;
      case "pipe": s = d.in; continue;
      case "lazy": s = d.getter?.(); continue;
      case "union": {
        const have = typeof v === "object" && v !== null ? Object.keys(v) : [];
        let best: z.ZodType | undefined;
        let score = -1;
        for (const o of d.options ?? []) {
          const keys = fieldsAt(o, v, []);
          const n = keys === null ? -1 : have.filter((k) => keys.includes(k)).length;
          if (n > score) { best = o; score = n; }
        }
        s = best; continue;
      }
      case "object":
        if (depth === path.length) return Object.keys(d.shape ?? {});
        s = d.shape?.[String(path[depth++])]; continue;
      case "array":
        if (depth === path.length) return null;
        depth++; s = d.element; continue;
      case "record":
        if (depth === path.length) return null;
        depth++; s = d.valueType; continue;
      default:
        return null;
    }
  }
  return null;
}

/** What an issue expected, in words. */
function expectation(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type": return issue.expected === "int" ? "an integer" : `a value of type ${issue.expected}`;
    case "too_small": return issue.origin === "array" ? `at least ${String(issue.minimum)} entries`
      : issue.origin === "string" ? "a non-empty string" : `a number ${issue.inclusive ? ">=" : ">"} ${String(issue.minimum)}`;
    case "too_big": return issue.origin === "array" ? `at most ${String(issue.maximum)} entries`
      : issue.origin === "string" ? `at most ${String(issue.maximum)} characters` : `a number ${issue.inclusive ? "<=" : "<"} ${String(issue.maximum)}`;
    case "invalid_value": return `one of ${issue.values.map((x) => JSON.stringify(x)).join(", ")}`;
    case "invalid_union":
      if (issue.discriminator !== undefined && "options" in issue && issue.options !== undefined) {
        return `one of ${issue.options.map((x) => JSON.stringify(x)).join(", ")}`;
      }
      return issue.errors.length > 0 ? issue.errors.map((b) => (b[0] ? expectation(b[0]) : "?")).join(", or ") : "exactly one of the allowed forms";
    case "unrecognized_keys": return `no field named ${issue.keys.map((k) => JSON.stringify(k)).join(", ")}`;
    case "not_multiple_of": return `a multiple of ${String(issue.divisor)}`;
    default: return issue.message;
  }
}

/** The issue of a failed safeParse of `value` against `schema` to report:
 *  a field the format does not define if there is one (a misspelt required
 *  field is then named as the typo, not as a missing field), else the first. */
export function firstIssue(schema: z.ZodType, error: z.ZodError, value: unknown): FieldIssue {
  const issue = error.issues.find((i) => i.code === "unrecognized_keys") ?? error.issues[0]!;
  let path = issue.path;
  let input: unknown = "input" in issue ? issue.input : valueAt(value, path);
  let expected = expectation(issue);
  if (issue.code === "unrecognized_keys") {
    const known = fieldsAt(schema, value, path);
    path = [...path, issue.keys[0]!];
    input = valueAt(value, path);
    if (known !== null) expected = `no field ${printable(JSON.stringify(issue.keys[0]))}: the fields here are ${known.join(", ")}`;
  } else if (issue.code === "invalid_union" && issue.discriminator !== undefined) {
    if (path[path.length - 1] !== issue.discriminator) path = [...path, issue.discriminator];
    input = valueAt(value, path);
  }
  return { field: fieldName(path), value: input, expected };
}

/** A value from a file, short and on one line. */
export function shownValue(v: unknown): string {
  if (v === undefined) return "nothing (the field is missing)";
  let s: string | undefined;
  try {
    s = JSON.stringify(v);
  } catch {
    s = undefined;
  }
  s ??= String(v);
  return printable(s.length > 80 ? s.slice(0, 77) + "..." : s, 80);
}

/** Validate `value` against `schema`: the data, or a message
 *  "FIELD: got VALUE, expected WHAT" for the first issue. */
export function checkAgainst<T>(schema: z.ZodType<T>, value: unknown): { data: T } | { message: string; issue: FieldIssue } {
  const r = schema.safeParse(value, { reportInput: true });
  if (r.success) return { data: r.data };
  const issue = firstIssue(schema, r.error, value);
  return { issue, message: `${issue.field}: got ${shownValue(issue.value)}, expected ${issue.expected}` };
}
