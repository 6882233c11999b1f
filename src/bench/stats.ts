/** Summary of repeated measurements: the median is the headline, min/max and IQR the spread. */
export interface Stats {
  n: number;
  median: number;
  min: number;
  max: number;
  /** First and third quartile (linear interpolation); equal to the value for n = 1. */
  q1: number;
  q3: number;
  iqr: number;
}

function quantile(sorted: number[], q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  const a = sorted[lo]!;
  const b = sorted[hi]!;
  return a + (b - a) * (pos - lo);
}

/** The value at quantile q (0..1) of the finite values, nearest rank; NaN for none (the chaos and scale benches' latencies). */
export function percentile(values: readonly number[], q: number): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1]!;
}

/** Stats of the finite values; undefined when there are none. */
export function summarize(values: readonly number[]): Stats | undefined {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return undefined;
  const q1 = quantile(sorted, 0.25);
  const q3 = quantile(sorted, 0.75);
  return {
    n: sorted.length,
    median: quantile(sorted, 0.5),
    min: sorted[0]!,
    max: sorted[sorted.length - 1]!,
    q1,
    q3,
    iqr: q3 - q1,
  };
}

/** `1234 (1100-1400, n=3)`: the median with its min-max range, for tables. */
export function formatStats(s: Stats | undefined, digits = 0): string {
  if (!s) return '–';
  const f = (v: number): string => v.toFixed(digits);
  return s.n === 1 ? `${f(s.median)} (n=1)` : `${f(s.median)} (${f(s.min)}–${f(s.max)}, n=${s.n})`;
}
