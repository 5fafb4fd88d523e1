// A fixed-bucket log-linear histogram of cycle counts, cheap enough for the
// hot path (one index computation and one increment per sample, no
// allocation): values below 32 have a bucket each; above, every power of two
// is cut into 16 equal sub-buckets, so a reported percentile is within 1/16
// (6.25 %) of the true value. The maximum and the sum are kept exactly.

const SUB_BITS = 4;
const SUB = 1 << SUB_BITS; // sub-buckets per power of two
const LINEAR = 2 * SUB; // values 0..31 exactly
const MAX_EXP = 52; // values up to 2^52 cycles (doubles stay exact)
export const BUCKETS = LINEAR + (MAX_EXP - SUB_BITS - 1) * SUB;

/** Index of the bucket holding `v` (a non-negative integer). */
export function bucketOf(v: number): number {
  if (v < LINEAR) return v < 0 ? 0 : v;
  const e = v < 0x80000000 ? 31 - Math.clz32(v) : Math.floor(Math.log2(v)); // v in [2^e, 2^(e+1))
  const sub = Math.floor(v / 2 ** (e - SUB_BITS)) - SUB; // 0..15
  const i = LINEAR + (e - SUB_BITS - 1) * SUB + sub;
  return i < BUCKETS ? i : BUCKETS - 1;
}

/** Smallest value that falls in bucket `i`. */
export function bucketLow(i: number): number {
  if (i < LINEAR) return i;
  const k = i - LINEAR;
  const e = Math.floor(k / SUB) + SUB_BITS + 1;
  return (SUB + (k % SUB)) * 2 ** (e - SUB_BITS);
}

/** One past the largest value of bucket `i`. */
export function bucketHigh(i: number): number {
  return i + 1 < BUCKETS ? bucketLow(i + 1) : Infinity;
}

export interface Summary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

export class Histogram {
  readonly counts = new Float64Array(BUCKETS);
  count = 0;
  sum = 0;
  max = 0;

  record(v: number): void {
    this.counts[bucketOf(v)]!++;
    this.count++;
    this.sum += v;
    if (v > this.max) this.max = v;
  }

  add(o: Histogram): void {
    for (let i = 0; i < BUCKETS; i++) this.counts[i]! += o.counts[i]!;
    this.count += o.count;
    this.sum += o.sum;
    if (o.max > this.max) this.max = o.max;
  }

  /** The q-quantile (0 < q <= 1), as the upper edge of its bucket (never above the maximum). */
  quantile(q: number): number {
    if (this.count === 0) return 0;
    const rank = Math.ceil(q * this.count);
    let seen = 0;
    for (let i = 0; i < BUCKETS; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.min(bucketHigh(i) - 1, this.max);
    }
    return this.max;
  }

  summary(): Summary {
    return {
      count: this.count,
      p50: this.quantile(0.5),
      p90: this.quantile(0.9),
      p99: this.quantile(0.99),
      max: this.max,
      mean: this.count === 0 ? 0 : Math.round(this.sum / this.count),
    };
  }

  /** Non-empty buckets as [lowest value, count] pairs (JSON, plots). */
  buckets(): Array<[number, number]> {
    const out: Array<[number, number]> = [];
    for (let i = 0; i < BUCKETS; i++) if (this.counts[i]! > 0) out.push([bucketLow(i), this.counts[i]!]);
    return out;
  }
}
