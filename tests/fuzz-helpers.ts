// Shared checks of fuzzer findings.

import { expect } from "vitest";
import { replay, type Finding } from "../host/fuzz/index.ts";

/** The finding replays to the same violation, with the same message, after
 *  a JSON round trip. */
export function expectExactReplay(f: Finding): void {
  const r = replay(JSON.parse(JSON.stringify(f)) as unknown);
  expect(r.reproduced).toBe(true);
  expect(r.violation!.message).toBe(f.violation.message);
}
