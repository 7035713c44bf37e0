/** Latency summaries in milliseconds, from raw samples (no histogram rounding). */
export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of sorted values. */
function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}

export function summarise(samples: ArrayLike<number>): LatencySummary {
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const value of sorted) sum += value;
  return {
    count: sorted.length,
    p50: percentile(sorted, 50),
    p90: percentile(sorted, 90),
    p99: percentile(sorted, 99),
    max: sorted.length === 0 ? Number.NaN : (sorted[sorted.length - 1] ?? Number.NaN),
    mean: sorted.length === 0 ? Number.NaN : sum / sorted.length,
  };
}

/** The median of repeated measurements (NaN and undefined ignored): what the report quotes. */
export function median(values: ReadonlyArray<number | undefined>): number {
  const sorted = values
    .filter((v): v is number => v !== undefined && !Number.isNaN(v))
    .sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1
    ? (sorted[mid] ?? Number.NaN)
    : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Medians, field by field, of several summaries of the same measurement. */
export function medianSummary(runs: readonly LatencySummary[]): LatencySummary {
  const field = (name: keyof LatencySummary) => median(runs.map((run) => run[name]));
  return {
    count: field('count'),
    p50: field('p50'),
    p90: field('p90'),
    p99: field('p99'),
    max: field('max'),
    mean: field('mean'),
  };
}
