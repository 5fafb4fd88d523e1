// Cost profiles: how many cycles each machine operation costs. A profile is a
// JSON file in profiles/ (see profiles/xgene-xen.json); every number carries
// the source it comes from or says "assumption: ..." with the reasoning, so
// a latency the machine reports can be traced back to a published figure or
// to a guess that is visibly a guess. Validation names the offending field.

import { COST_NAMES, type CostName, type CostProfile } from "./api.ts";
import { noSuchField, parseJson, printable, readProblem, strayField } from "../io/text.ts";
import { bundledProfileFile, bundledProfileNames, readProfileFile } from "./profile-source.ts";

export class ProfileError extends Error {
  constructor(readonly field: string, message: string, readonly origin = "profile") {
    super(`${origin}: ${field}: ${message}`);
    this.name = "ProfileError";
  }
}

/** The fields of a profile file: CostProfile's, and `$schema`. */
const PROFILE_FIELDS = ["$schema", "name", "description", "hz", "hzSource", "costs"] as const;
// the list names every field of CostProfile (a field added there must be added here)
const everyField: Exclude<keyof CostProfile, (typeof PROFILE_FIELDS)[number]> extends never ? true : never = true;
void everyField;

/** Check a parsed profile; throws ProfileError naming the first bad field. */
export function validateProfile(value: unknown, origin = "profile"): CostProfile {
  const fail = (field: string, msg: string): never => { throw new ProfileError(field, msg, origin); };
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail("(root)", "expected a JSON object");
  const p = value as Record<string, unknown>;
  const stray = (o: Record<string, unknown>, known: readonly string[], at: string, what: string) => {
    const k = strayField(o, known);
    if (k !== undefined) fail(`${at}${printable(k)}`, `got ${printable(JSON.stringify(o[k]) ?? "", 80)}, expected ${noSuchField(k, what, known)}`);
  };
  stray(p, PROFILE_FIELDS, "", "a profile");
  if (typeof p.name !== "string" || p.name === "") fail("name", "expected a non-empty string");
  if (typeof p.description !== "string") fail("description", "expected a string");
  if (typeof p.hz !== "number" || !Number.isFinite(p.hz) || p.hz <= 0) fail("hz", `got ${JSON.stringify(p.hz)}, expected a positive number of cycles per second`);
  if (typeof p.hzSource !== "string" || p.hzSource.trim() === "") fail("hzSource", "expected a non-empty string naming the source of hz or \"assumption: ...\"");
  if (typeof p.costs !== "object" || p.costs === null || Array.isArray(p.costs)) fail("costs", "expected an object with one entry per cost name");
  const costs = p.costs as Record<string, unknown>;
  for (const name of COST_NAMES) {
    const e = costs[name];
    if (e === undefined) fail(`costs.${name}`, "missing");
    if (typeof e !== "object" || e === null) fail(`costs.${name}`, "expected {cycles, source}");
    const entry = e as Record<string, unknown>;
    stray(entry, ["cycles", "source"], `costs.${name}.`, "a cost");
    const c = entry.cycles;
    if (typeof c !== "number" || !Number.isInteger(c) || c < 0) {
      fail(`costs.${name}.cycles`, `got ${JSON.stringify(c)}, expected a non-negative integer`);
    }
    if (typeof entry.source !== "string" || entry.source.trim() === "") {
      fail(`costs.${name}.source`, "expected a non-empty string naming the source or \"assumption: ...\"");
    }
  }
  for (const k of Object.keys(costs)) {
    if (!(COST_NAMES as readonly string[]).includes(k)) fail(`costs.${k}`, "unknown cost name");
  }
  return p as unknown as CostProfile;
}

/** Parse and validate profile JSON text. */
export function parseProfile(text: string, origin = "profile"): CostProfile {
  let v: unknown;
  try {
    v = parseJson(text);
  } catch (e) {
    // the message gives the position, never the text: a profile may be any file
    throw new ProfileError("(json)", (e as Error).message, origin);
  }
  return validateProfile(v, origin);
}

/** Load and validate a profile file. */
export function loadProfile(path: string): CostProfile {
  let text: string;
  try {
    text = readProfileFile(path);
  } catch (e) {
    throw new ProfileError("(file)", readProblem(e), printable(path));
  }
  return parseProfile(text, printable(path));
}

/** What a bundled profile's name may look like: never a path. */
export const PROFILE_NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/** Names of the profiles bundled in profiles/. */
export function bundledProfiles(): string[] {
  return bundledProfileNames().filter((n) => PROFILE_NAME.test(n)).sort();
}

/** The file of bundled profile `name`; anything else is a ProfileError. */
export function profilePath(name: string): string {
  const known = () => `one of the bundled profiles: ${bundledProfiles().join(", ")}`;
  if (!PROFILE_NAME.test(name)) throw new ProfileError("name", `got ${JSON.stringify(printable(name))}, expected ${known()}`);
  const file = bundledProfileFile(name);
  if (file === null) throw new ProfileError("name", `got ${JSON.stringify(name)}, expected ${known()}`);
  return file;
}

let xgene: CostProfile | undefined;
/** The default profile: APM X-Gene running Xen (profiles/xgene-xen.json). */
export function defaultProfile(): CostProfile {
  xgene ??= loadProfile(profilePath("xgene-xen"));
  return xgene;
}

/** Flat cycle table for the hot path: one property load per charge. */
export function cycleTable(p: CostProfile): Record<CostName, number> {
  const t = {} as Record<CostName, number>;
  for (const n of COST_NAMES) t[n] = p.costs[n].cycles;
  return t;
}
