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
