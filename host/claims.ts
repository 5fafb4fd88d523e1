// Threads sharing a list of jobs (explore's cells, run's variants) take the
// next one nobody has taken when they are free: one word of shared memory,
// advanced with Atomics.add, so a long job holds up one thread, not a share
// of the jobs.

/** The next job of `n` nobody has taken, or -1. */
export function claim(next: Int32Array, n: number): number {
  const i = Atomics.add(next, 0, 1);
  return i < n ? i : -1;
}

/** No job of `n` is taken after this: every thread's next claim is past the end. */
export function stopClaims(next: Int32Array, n: number): void {
  Atomics.store(next, 0, n);
}
