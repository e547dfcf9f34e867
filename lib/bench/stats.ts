import { medianAbsoluteDeviation, median, quantile, quantileSorted } from 'simple-statistics';

/** Robust summary of a sample. */
export interface Summary {
  n: number;
  median: number;
  p5: number;
  p95: number;
  /** Median absolute deviation. */
  mad: number;
  /** Bootstrap 95% confidence interval of the median (percentile method). */
  ci95: [number, number];
}

/** Seeded PRNG (mulberry32): bootstrap intervals are reproducible run to run. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const BOOTSTRAP_RESAMPLES = 2000;
export const BOOTSTRAP_SEED = 0x67757021;

/**
 * Median of one resample with replacement of the sorted sample `sorted`:
 * only ranks matter, so draw ranks, count them, and walk the counts to the
 * middle (O(n), no sort: this runs thousands of times per case, and under
 * TCG every instruction is emulated).
 */
function resampleMedian(sorted: Float64Array, rnd: () => number, counts: Uint32Array): number {
  const n = sorted.length;
  counts.fill(0);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rnd() * n);
    counts[k] = (counts[k] ?? 0) + 1;
  }
  const lo = (n - 1) >> 1;
  const hi = n >> 1;
  let seen = 0;
  let r = 0;
  while (seen + (counts[r] as number) <= lo) seen += counts[r++] as number;
  const a = sorted[r] as number;
  while (seen + (counts[r] as number) <= hi) seen += counts[r++] as number;
  return (a + (sorted[r] as number)) / 2;
}

const sortedCopy = (values: readonly number[]): Float64Array => Float64Array.from(values).sort();

/** Percentile-bootstrap 95% CI of the median, seeded. */
export function bootstrapMedianCI(values: readonly number[], seed = BOOTSTRAP_SEED, resamples = BOOTSTRAP_RESAMPLES): [number, number] {
  if (values.length === 0) throw new RangeError('bootstrap: no samples');
  const rnd = seededRandom(seed);
  const sorted = sortedCopy(values);
  const counts = new Uint32Array(values.length);
  const meds = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) meds[b] = resampleMedian(sorted, rnd, counts);
  const dist = Array.from(meds.sort());
  return [quantileSorted(dist, 0.025), quantileSorted(dist, 0.975)];
}

/**
 * Ratio of medians new/base with a 95% percentile-bootstrap CI, both samples
 * resampled independently (seeded).
 */
export function bootstrapRatioCI(
  base: readonly number[],
  next: readonly number[],
  seed = BOOTSTRAP_SEED,
  resamples = BOOTSTRAP_RESAMPLES,
): { ratio: number; ci95: [number, number] } {
  if (base.length === 0 || next.length === 0) throw new RangeError('bootstrap: no samples');
  const rnd = seededRandom(seed);
  const bs = sortedCopy(base);
  const ns = sortedCopy(next);
  const bc = new Uint32Array(base.length);
  const nc = new Uint32Array(next.length);
  const ratios = new Float64Array(resamples);
  for (let b = 0; b < resamples; b++) ratios[b] = resampleMedian(ns, rnd, nc) / resampleMedian(bs, rnd, bc);
  ratios.sort();
  const sorted = Array.from(ratios);
  return { ratio: median([...next]) / median([...base]), ci95: [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)] };
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
    ci95: bootstrapMedianCI(xs),
  };
}
