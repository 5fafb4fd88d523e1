// The README's seed table, half of its rows (the other half in -b, so the
// two longest rows run in parallel): see readme-matrix.ts.
import { describe } from "vitest";
import { FIRST_HALF, checkRows } from "./readme-matrix.ts";

describe("README: vgic explore --matrix --markdown (first half)", () => checkRows((s) => FIRST_HALF.has(s)));
