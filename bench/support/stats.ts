/** Summary of a set of samples (milliseconds, or any unit): nearest-rank percentiles over every sample. */
export interface Summary {
  readonly n: number;
  readonly mean: number;
  readonly p50: number;
  readonly p99: number;
  readonly min: number;
  readonly max: number;
}

/** The nearest-rank percentile `p` (0–100) of samples already sorted ascending. */
function nearestRank(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}

/** Throws on an empty set: a figure without samples is a bug in the benchmark. */
export function summarize(samples: readonly number[]): Summary {
  if (samples.length === 0) throw new RangeError("no samples");
  const sorted = [...samples].sort((a, b) => a - b);
  return {
    n: sorted.length,
    mean: sorted.reduce((s, x) => s + x, 0) / sorted.length,
    p50: nearestRank(sorted, 50),
    p99: nearestRank(sorted, 99),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
  };
}

/** `p50 1.23 ms, p99 4.56 ms, mean 1.50 ms (n 2000)`. */
export function describe(s: Summary, unit = "ms", digits = 2): string {
  return `p50 ${s.p50.toFixed(digits)} ${unit}, p99 ${s.p99.toFixed(digits)} ${unit}, mean ${s.mean.toFixed(digits)} ${unit} (n ${s.n})`;
}

/** A ratio with two decimals, or `n/a` when the baseline is zero. */
export function ratio(figure: number, baseline: number): string {
  return baseline === 0 ? "n/a" : (figure / baseline).toFixed(2);
}

/** Thousands separated, no decimals: 12,345. */
export function count(n: number): string {
  return Math.round(n).toLocaleString("en-US");
}
