import { medianAbsoluteDeviation, median, quantile } from 'simple-statistics';

/** Robust summary of a sample. */
export interface Summary {
  n: number;
  median: number;
  p5: number;
  p95: number;
  /** Median absolute deviation. */
  mad: number;
}

export function summarize(values: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize: no samples');
  const xs = [...values];
  return {
    n: xs.length,
    median: median(xs),
    p5: quantile(xs, 0.05),
    p95: quantile(xs, 0.95),
    mad: medianAbsoluteDeviation(xs),
  };
}
