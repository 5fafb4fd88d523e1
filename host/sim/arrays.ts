// Array helpers for hot paths (not part of the package's API).

/** xs.splice(i, 1) without the array of removed elements it
 *  allocates (i === -1, as splice(-1, 1), removes the last element). */
export function removeAt<T>(xs: T[], i: number): void {
  const n = xs.length;
  if (n === 0) return;
  if (i < 0) i = n - 1;
  for (let k = i + 1; k < n; k++) xs[k - 1] = xs[k]!;
  xs.pop();
}

/** xs.map(f), always as a packed array of references (objects, booleans,
 *  functions; not numbers). V8's optimising compiler builds map()'s result
 *  as an array that may have holes, its interpreter as one that may not:
 *  two shapes, and optimised code that has met one is thrown away when it
 *  meets the other. For arrays the hot paths index. */
export function mapPacked<T, U>(xs: readonly T[], f: (x: T, i: number) => U): U[] {
  const out: U[] = [];
  for (let i = 0; i < xs.length; i++) out.push(f(xs[i]!, i));
  return out;
}
