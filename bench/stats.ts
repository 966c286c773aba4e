// Small statistics for the benchmark scripts (no timing here: the scripts measure, these only summarise).

/** The p-th percentile (0..100) with linear interpolation between order statistics (numpy's default). */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in 0..100`);
  const s = [...values].sort((a, b) => a - b);
  const at = (p / 100) * (s.length - 1);
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

export interface Timing {
  /** Timed runs. */
  n: number;
  /** Milliseconds per run (one run = one batch). */
  p50: number;
  p95: number;
  /** Images per second over all timed runs: images / total timed seconds. */
  imagesPerSecond: number;
}

/** Summary of per-run milliseconds for runs of `batch` images each. */
export function summarise(ms: readonly number[], batch: number): Timing {
  const total = ms.reduce((a, b) => a + b, 0);
  return { n: ms.length, p50: percentile(ms, 50), p95: percentile(ms, 95), imagesPerSecond: total > 0 ? (ms.length * batch * 1000) / total : NaN };
}
