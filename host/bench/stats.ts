// The one median every benchmark reports: of the timed runs (--hw, --sim,
// --stack), of the spreads in the noise line, and of a latency path's
// repetitions.

/** Timed runs of --hw and --sim by default, and of --stack, whose runs
 *  take about a second each. */
export const DEFAULT_RUNS = { hw: 7, sim: 7, stack: 5 } as const;

/** The median of values sorted ascending: the middle one, or the mean of
 *  the two middle ones when there is an even number of them. */
export function median(sorted: readonly number[]): number {
  const n = sorted.length;
  if (n === 0) throw new RangeError("median: expected at least one value");
  const h = n >> 1;
  return n % 2 === 1 ? sorted[h]! : (sorted[h - 1]! + sorted[h]!) / 2;
}
