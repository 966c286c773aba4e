// Small summary statistics for the evaluation's figures.

/** The q-quantile (0..1) by linear interpolation between order statistics; null for no values. */
export function quantile(values: readonly number[], q: number): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const at = (s.length - 1) * q;
  const lo = Math.floor(at);
  const hi = Math.ceil(at);
  return s[lo]! + (s[hi]! - s[lo]!) * (at - lo);
}

/** part / whole, or null when there is nothing to divide (a share of no cases is not 0 %). */
export const share = (part: number, whole: number): number | null => (whole > 0 ? part / whole : null);

export interface Speed {
  generations: number;
  timeToFirstTokenMs: { median: number | null; p90: number | null };
  tokensPerSecond: { median: number | null; p90: number | null };
}

/** Time to first token and decode speed over generations (those with fewer than 2 tokens give no speed). */
export function speedOf(gens: readonly { timeToFirstTokenMs: number | null; tokensPerSecond: number }[]): Speed {
  const ttft = gens.map((g) => g.timeToFirstTokenMs).filter((x): x is number => x !== null);
  const tps = gens.map((g) => g.tokensPerSecond).filter((x) => x > 0);
  return {
    generations: gens.length,
    timeToFirstTokenMs: { median: quantile(ttft, 0.5), p90: quantile(ttft, 0.9) },
    tokensPerSecond: { median: quantile(tps, 0.5), p90: quantile(tps, 0.9) },
  };
}
