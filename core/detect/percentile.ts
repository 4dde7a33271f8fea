/**
 * Nearest-rank percentile (the textbook definition: the smallest value such that at least p % of the values are
 * less than or equal to it). With 300 samples, p99 is the 297th smallest value: three larger values are ignored,
 * so a few seconds of burst never set the baseline. Returns 0 for no values.
 */
export function nearestRankPercentile(values: ArrayLike<number>, p: number): number {
  const n = values.length;
  if (n === 0) return 0;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.min(n, Math.max(1, Math.ceil((p / 100) * n)));
  return sorted[rank - 1] as number;
}
