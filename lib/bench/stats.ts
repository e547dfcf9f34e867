import { medianAbsoluteDeviation, median, quantile, quantileSorted } from 'simple-statistics';

/** Robust summary of a sample. */
export interface Summary {
  n: number;
  median: number;
  p5: number;
  p95: number;
  /** Median absolute deviation. */
  mad: number;
  /** Bootstrap 95% confidence interval of the median (percentile method; rounds resampled, then samples within them). */
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

/**
 * Resamples for a case's own CIs (three per case) and for compare's ratio:
 * enough for stable 2.5/97.5 percentiles, few enough that a run's statistics
 * take seconds, not minutes, on an emulated CPU.
 */
export const SUMMARY_RESAMPLES = 500;
export const BOOTSTRAP_RESAMPLES = 1000;
export const BOOTSTRAP_SEED = 0x67757021;

/**
 * Samples grouped by round (one fresh buffer and time slot each). A round
 * index per value; all zero for a single round.
 */
export interface Grouped {
  values: readonly number[];
  rounds?: readonly number[];
}

/**
 * Bootstrap distribution of the median of a two-level sample: rounds drawn
 * with replacement, then values within each drawn round (so that what varies
 * between rounds, such as the buffer's placement and the host's load, widens
 * the interval). With one round this is the ordinary bootstrap. Only ranks
 * matter, so each resample counts drawn ranks and walks them to the middle:
 * O(n) per resample, no sort (this runs thousands of times per case, and under
 * TCG every instruction is emulated).
 */
function bootstrapMedians(sample: Grouped, rnd: () => number, resamples: number): Float64Array {
  const n = sample.values.length;
  if (n === 0) throw new RangeError('bootstrap: no samples');
  const order = Array.from(sample.values.keys()).sort((a, b) => (sample.values[a] as number) - (sample.values[b] as number));
  const sorted = Float64Array.from(order, (i) => sample.values[i] as number);
  const groups = new Map<number, number[]>();
  order.forEach((i, rank) => {
    const r = sample.rounds?.[i] ?? 0;
    const g = groups.get(r);
    if (g) g.push(rank);
    else groups.set(r, [rank]);
  });
  const ranks = [...groups.values()];
  const counts = new Uint32Array(n);
  const out = new Float64Array(resamples);
  const nGroups = ranks.length;
  for (let b = 0; b < resamples; b++) {
    counts.fill(0);
    let total = 0;
    for (let k = 0; k < nGroups; k++) {
      const g = ranks[(rnd() * nGroups) | 0] as number[];
      const len = g.length;
      for (let i = 0; i < len; i++) {
        const rank = g[(rnd() * len) | 0] as number;
        counts[rank] = (counts[rank] as number) + 1;
      }
      total += len;
    }
    const lo = (total - 1) >> 1;
    const hi = total >> 1;
    let seen = 0;
    let r = 0;
    while (seen + (counts[r] as number) <= lo) seen += counts[r++] as number;
    const a = sorted[r] as number;
    while (seen + (counts[r] as number) <= hi) seen += counts[r++] as number;
    out[b] = (a + (sorted[r] as number)) / 2;
  }
  return out;
}

function percentileCI(dist: Float64Array): [number, number] {
  const sorted = Array.from(dist.sort());
  return [quantileSorted(sorted, 0.025), quantileSorted(sorted, 0.975)];
}

const asGrouped = (x: readonly number[] | Grouped): Grouped => (Array.isArray(x) ? { values: x } : (x as Grouped));

/** Percentile-bootstrap 95% CI of the median, seeded. */
export function bootstrapMedianCI(sample: readonly number[] | Grouped, seed = BOOTSTRAP_SEED, resamples = BOOTSTRAP_RESAMPLES): [number, number] {
  return percentileCI(bootstrapMedians(asGrouped(sample), seededRandom(seed), resamples));
}

/**
 * Ratio of medians new/base with a 95% percentile-bootstrap CI, both samples
 * resampled independently (seeded).
 */
export function bootstrapRatioCI(
  base: readonly number[] | Grouped,
  next: readonly number[] | Grouped,
  seed = BOOTSTRAP_SEED,
  resamples = BOOTSTRAP_RESAMPLES,
): { ratio: number; ci95: [number, number] } {
  const b = asGrouped(base);
  const n = asGrouped(next);
  const rnd = seededRandom(seed);
  const bm = bootstrapMedians(b, rnd, resamples);
  const nm = bootstrapMedians(n, rnd, resamples);
  const ratios = nm.map((x, i) => x / (bm[i] as number));
  return { ratio: median([...n.values]) / median([...b.values]), ci95: percentileCI(ratios) };
}

/**
 * Minimum detectable effect of a ratio CI: the smallest true change that a
 * CI of this relative width would still tell from none. A true slowdown s
 * moves the whole interval by s, so it clears 1 once s > ratio / lo; a
 * speedup once 1/s > hi / ratio. The larger of the two, as a fraction
 * (0.10 = 10%). A verdict at a threshold t calls a case slower only when
 * the true change exceeds about (1 + t)(1 + mde) - 1.
 */
export function minimumDetectableEffect(ratio: number, ci95: readonly [number, number]): number {
  const [lo, hi] = ci95;
  if (!(lo > 0) || !(ratio > 0)) return Number.POSITIVE_INFINITY;
  return Math.max(ratio / lo, hi / ratio) - 1;
}

/**
 * The MDE one sample would give against another run as noisy as itself:
 * the ratio CI of the sample with itself, both sides resampled
 * independently (what `guplab compare` reports for an A/A pair of runs of
 * this width). What `bench --mde` drives down.
 */
export function selfMde(sample: Grouped, resamples = SUMMARY_RESAMPLES, seed = BOOTSTRAP_SEED): number {
  const { ratio, ci95 } = bootstrapRatioCI(sample, sample, seed, resamples);
  return minimumDetectableEffect(ratio, ci95);
}

export function summarize(values: readonly number[], rounds?: readonly number[]): Summary {
  if (values.length === 0) throw new RangeError('summarize: no samples');
  const xs = [...values];
  return {
    n: xs.length,
    median: median(xs),
    p5: quantile(xs, 0.05),
    p95: quantile(xs, 0.95),
    mad: medianAbsoluteDeviation(xs),
    ci95: bootstrapMedianCI(rounds ? { values: xs, rounds } : xs, BOOTSTRAP_SEED, SUMMARY_RESAMPLES),
  };
}
