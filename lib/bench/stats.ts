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

/** A sample ranked once for the bootstrap: its values sorted, and the ranks of each round's values. */
interface Ranked {
  sorted: Float64Array;
  byRound: Map<number, number[]>;
}

function rank(sample: Grouped): Ranked {
  const n = sample.values.length;
  if (n === 0) throw new RangeError('bootstrap: no samples');
  const order = Array.from(sample.values.keys()).sort((a, b) => (sample.values[a] as number) - (sample.values[b] as number));
  const byRound = new Map<number, number[]>();
  order.forEach((i, r) => {
    const key = sample.rounds?.[i] ?? 0;
    const g = byRound.get(key);
    if (g) g.push(r);
    else byRound.set(key, [r]);
  });
  return { sorted: Float64Array.from(order, (i) => sample.values[i] as number), byRound };
}

/**
 * The median of one resample: the given rounds (drawn with replacement by
 * the caller), then values within each drawn round. Only ranks matter, so
 * it counts drawn ranks and walks them to the middle: O(n), no sort (this
 * runs thousands of times per case, and under TCG every instruction is
 * emulated).
 */
function resampledMedian(s: Ranked, rounds: readonly number[], rnd: () => number, counts: Uint32Array): number {
  counts.fill(0);
  let total = 0;
  for (const key of rounds) {
    const g = s.byRound.get(key) as number[];
    const len = g.length;
    for (let i = 0; i < len; i++) {
      const r = g[(rnd() * len) | 0] as number;
      counts[r] = (counts[r] as number) + 1;
    }
    total += len;
  }
  const lo = (total - 1) >> 1;
  const hi = total >> 1;
  let seen = 0;
  let r = 0;
  while (seen + (counts[r] as number) <= lo) seen += counts[r++] as number;
  const a = s.sorted[r] as number;
  while (seen + (counts[r] as number) <= hi) seen += counts[r++] as number;
  return (a + (s.sorted[r] as number)) / 2;
}

/** As many round keys as there are, drawn with replacement. */
function drawRounds(keys: readonly number[], rnd: () => number): number[] {
  return Array.from(keys, () => keys[(rnd() * keys.length) | 0] as number);
}

/**
 * Bootstrap distribution of the median of a two-level sample: rounds drawn
 * with replacement, then values within each drawn round (so that what varies
 * between rounds, such as the buffer's placement and the host's load, widens
 * the interval). With one round this is the ordinary bootstrap.
 */
function bootstrapMedians(sample: Grouped, rnd: () => number, resamples: number): Float64Array {
  const s = rank(sample);
  const keys = [...s.byRound.keys()];
  const counts = new Uint32Array(s.sorted.length);
  return Float64Array.from({ length: resamples }, () => resampledMedian(s, drawRounds(keys, rnd), rnd, counts));
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
 * Whether two grouped samples can be resampled as pairs of rounds: both
 * have the same round indices, at least two of them. Only an interleaved
 * run (A/B: round r of every guest taken back to back, under the same host
 * load) makes such a pair mean something; the caller says whether it is one.
 */
export function pairable(base: Grouped, next: Grouped): boolean {
  if (!base.rounds || !next.rounds) return false;
  const a = new Set(base.rounds);
  const b = new Set(next.rounds);
  return a.size >= 2 && a.size === b.size && [...a].every((r) => b.has(r));
}

export interface RatioOptions {
  seed?: number;
  resamples?: number;
  /**
   * Resample rounds as pairs (the same drawn rounds for both sides), for
   * samples whose round r were taken side by side in time: what the host did
   * to round r then cancels in the ratio instead of widening the CI. Falls
   * back to independent resampling where the rounds do not match (pairable).
   */
  paired?: boolean;
}

/**
 * Ratio of medians new/base with a 95% percentile-bootstrap CI (seeded):
 * both samples resampled independently, or, with `paired`, by pairs of
 * rounds. `paired` in the answer says which was done.
 */
export function bootstrapRatioCI(
  base: readonly number[] | Grouped,
  next: readonly number[] | Grouped,
  o: RatioOptions = {},
): { ratio: number; ci95: [number, number]; paired: boolean } {
  const b = asGrouped(base);
  const n = asGrouped(next);
  const rnd = seededRandom(o.seed ?? BOOTSTRAP_SEED);
  const resamples = o.resamples ?? BOOTSTRAP_RESAMPLES;
  const ratio = median([...n.values]) / median([...b.values]);
  if (!(o.paired && pairable(b, n))) {
    const bm = bootstrapMedians(b, rnd, resamples);
    const nm = bootstrapMedians(n, rnd, resamples);
    return { ratio, ci95: percentileCI(nm.map((x, i) => x / (bm[i] as number))), paired: false };
  }
  const rb = rank(b);
  const rn = rank(n);
  const keys = [...rb.byRound.keys()];
  const cb = new Uint32Array(rb.sorted.length);
  const cn = new Uint32Array(rn.sorted.length);
  const ratios = Float64Array.from({ length: resamples }, () => {
    const drawn = drawRounds(keys, rnd);
    return resampledMedian(rn, drawn, rnd, cn) / resampledMedian(rb, drawn, rnd, cb);
  });
  return { ratio, ci95: percentileCI(ratios), paired: true };
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
  const { ratio, ci95 } = bootstrapRatioCI(sample, sample, { seed, resamples });
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
