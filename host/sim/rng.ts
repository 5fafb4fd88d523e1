// Seeded pseudo-random numbers for the adversarial schedulers. The machine
// must be reproducible from a seed, so it never touches Math.random.
//
// xoshiro128** 1.1 (Blackman and Vigna, "Scrambled linear pseudorandom number
// generators", ACM TOMS 2021; reference at prng.di.unimi.it): 128 bits of
// state, period 2^128-1, fast in 32-bit integer arithmetic, which is all JS
// bit operations offer. The state is seeded with splitmix32 (a 32-bit variant
// of Steele, Lea and Flood's SplitMix, OOPSLA 2014) so that nearby seeds give
// unrelated streams and the state is never all zero.

function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`seed: got ${seed}, expected an integer`);
    const sm = splitmix32(seed);
    this.a = sm();
    this.b = sm();
    this.c = sm();
    this.d = sm();
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32-bit unsigned integer. */
  next(): number {
    const r = Math.imul(rotl(Math.imul(this.b, 5), 7), 9) >>> 0;
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return r;
  }

  /** Uniform integer in [0, n), n >= 1, without modulo bias (rejection). */
  below(n: number): number {
    if (n <= 1) return 0;
    const limit = Math.floor(0x100000000 / n) * n;
    let x = this.next();
    while (x >= limit) x = this.next();
    // V8's interpreter gives x % n as a heap number whenever x is one
    // (beyond its small integers): a small result is returned as a small
    // integer, so the objects and arrays it is stored in keep their shapes
    // (sim/shape.ts; the fuzzer's configurations and operations)
    return n <= 0x40000000 ? (x % n) | 0 : x % n;
  }

  /** Uniform float in [0, 1) with 32 bits of randomness. */
  float(): number {
    return this.next() / 0x100000000;
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}
