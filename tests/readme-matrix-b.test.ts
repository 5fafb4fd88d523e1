// The README's seed table, the rows readme-matrix-a.test.ts does not check.
import { describe } from "vitest";
import { FIRST_HALF, checkRows } from "./readme-matrix.ts";

describe("README: vgic explore --matrix --markdown (second half)", () => checkRows((s) => !FIRST_HALF.has(s)));
