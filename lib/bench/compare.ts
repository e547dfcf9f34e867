// A/B comparison of two bench results, case by case: ratio of medians
// (new/base, get+put ns/page) with a seeded bootstrap 95% CI, and a verdict at
// a stated threshold.
import Table from 'cli-table3';
import type { BenchCase, BenchResult } from './results.js';
import { bootstrapRatioCI, minimumDetectableEffect } from './stats.js';

export type Verdict = 'faster' | 'slower' | 'no significant change' | 'not comparable';

export interface CaseComparison {
  id: string;
  verdict: Verdict;
  /** median(new) / median(base) of get+put ns/page. */
  ratio?: number;
  ci95?: [number, number];
  /** Minimum detectable effect at this CI's width (stats.ts minimumDetectableEffect): 0.1 = a 10% change. */
  mde?: number;
  /** The CI was drawn by pairs of rounds (see Comparison.paired); false where the rounds did not match. */
  paired?: boolean;
  baseMedian?: number;
  newMedian?: number;
  why?: string;
}

export interface Comparison {
  threshold: number;
  base: string;
  next: string;
  cases: CaseComparison[];
  slower: number;
  faster: number;
  unchanged: number;
  /**
   * Whether the CIs were drawn by pairs of rounds (an interleaved A/B run:
   * round r of both kernels back to back) or from each run apart.
   */
  paired: boolean;
  /** Cases with a verdict other than 'not comparable'. */
  compared: number;
  /** The largest MDE of the compared cases (what the weakest verdict is worth). */
  worstMde?: number;
  /**
   * Differences of the two environments that make ratios mean less than a
   * kernel change (arch, accelerator, CPU model, page size). A different
   * release is what a comparison is usually for, so it is not one.
   */
  warnings: string[];
}

const totals = (c: BenchCase): { values: number[]; rounds?: number[] } => ({
  values: c.getNs.map((g, i) => (g + (c.putNs[i] ?? 0)) / c.pages),
  ...(c.round?.length === c.getNs.length ? { rounds: c.round } : {}),
});

/**
 * slower: the whole CI of the ratio lies above 1 + threshold; faster: below
 * 1 / (1 + threshold); otherwise no significant change. `paired`: the two
 * results come from one interleaved A/B run, so round r of each was taken
 * side by side and the bootstrap draws rounds as pairs (stats.ts
 * bootstrapRatioCI); two separate runs are resampled apart.
 */
export function compareResults(base: BenchResult, next: BenchResult, threshold: number, o: { paired?: boolean } = {}): Omit<Comparison, 'base' | 'next'> {
  const byId = new Map(base.cases.map((c) => [c.id, c]));
  const cases: CaseComparison[] = [];
  for (const n of next.cases) {
    const b = byId.get(n.id);
    if (!b) {
      cases.push({ id: n.id, verdict: 'not comparable', why: 'not in base' });
      continue;
    }
    byId.delete(n.id);
    if (b.status !== 'ok' || n.status !== 'ok' || !b.getNs.length || !n.getNs.length) {
      const what = (c: BenchCase): string => (c.status === 'ok' ? 'ok' : `${c.status} ${c.error ?? ''}`.trim());
      cases.push({ id: n.id, verdict: 'not comparable', why: `base ${what(b)}, new ${what(n)}` });
      continue;
    }
    const { ratio, ci95, paired } = bootstrapRatioCI(totals(b), totals(n), { paired: o.paired ?? false });
    const verdict: Verdict = ci95[0] > 1 + threshold ? 'slower' : ci95[1] < 1 / (1 + threshold) ? 'faster' : 'no significant change';
    cases.push({
      id: n.id,
      verdict,
      ratio,
      ci95,
      mde: minimumDetectableEffect(ratio, ci95),
      paired,
      baseMedian: b.totalNsPerPage?.median ?? 0,
      newMedian: n.totalNsPerPage?.median ?? 0,
    });
  }
  for (const b of byId.values()) cases.push({ id: b.id, verdict: 'not comparable', why: 'not in new' });
  const count = (v: Verdict): number => cases.filter((c) => c.verdict === v).length;
  const mdes = cases.flatMap((c) => (c.mde === undefined ? [] : [c.mde]));
  return {
    threshold,
    paired: o.paired ?? false,
    cases,
    slower: count('slower'),
    faster: count('faster'),
    unchanged: count('no significant change'),
    compared: cases.length - count('not comparable'),
    ...(mdes.length ? { worstMde: Math.max(...mdes) } : {}),
    warnings: environmentWarnings(base, next),
  };
}

function environmentWarnings(base: BenchResult, next: BenchResult): string[] {
  const b = base.environment;
  const n = next.environment;
  const warnings: string[] = [];
  const differs = (what: string, x: unknown, y: unknown, why: string): void => {
    if (x !== y) warnings.push(`${what} differs (base ${String(x)}, new ${String(y)}): ${why}`);
  };
  differs('arch', b.arch, n.arch, 'the ratios compare different CPUs and page-table code, not one kernel change');
  differs('accelerator', b.accelerator, n.accelerator, 'TCG, KVM and bare-metal timings are not on one scale');
  differs('CPU model', b.cpuModel, n.cpuModel, 'a ratio mixes the kernel change with the CPU change');
  differs('page size', b.pageSize, n.pageSize, 'ns/page counts different amounts of memory');
  return warnings;
}

export function comparisonTable(cmp: Comparison, base: BenchResult, next: BenchResult): string {
  const table = new Table({
    head: ['case', 'base ns/page', 'new ns/page', 'new/base', 'CI95', 'MDE', 'verdict'],
    colAligns: ['left', 'right', 'right', 'right', 'right', 'right', 'left'],
    style: { head: [], border: [], compact: true },
  });
  const f = (x: number): string => (x >= 100 ? x.toFixed(0) : x.toFixed(1));
  const pct = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '-' : `${(x * 100).toFixed(1)}%`);
  for (const c of cmp.cases) {
    if (c.ratio === undefined || !c.ci95) table.push([c.id, { colSpan: 6, content: `${c.verdict}: ${c.why ?? ''}` }]);
    else
      table.push([
        c.id,
        f(c.baseMedian ?? 0),
        f(c.newMedian ?? 0),
        c.ratio.toFixed(3),
        `${c.ci95[0].toFixed(3)}-${c.ci95[1].toFixed(3)}`,
        pct(c.mde),
        c.verdict,
      ]);
  }
  const env = (r: BenchResult): string => `${r.environment.release} ${r.environment.arch} ${r.environment.accelerator}`;
  return [
    `guplab compare: base ${cmp.base} (${env(base)}), new ${cmp.next} (${env(next)})`,
    `metric: median get+put ns/page; CI95: seeded bootstrap of the ratio of medians${cmp.paired ? ', rounds drawn as pairs (the runs alternated round by round)' : ', each run resampled apart'}; threshold ${(cmp.threshold * 100).toFixed(0)}% (slower: CI above ${(1 + cmp.threshold).toFixed(2)}, faster: CI below ${(1 / (1 + cmp.threshold)).toFixed(2)})`,
    'MDE: the smallest change this CI width can tell from none (max of ratio/CI-low, CI-high/ratio, less 1); a slowdown below it reads "no significant change"',
    table.toString(),
    ...(cmp.worstMde !== undefined ? [`worst MDE ${pct(cmp.worstMde)}: a verdict of "no significant change" rules out only changes above that`] : []),
    ...cmp.warnings.map((w) => `warning: ${w}`),
    `${cmp.slower} slower, ${cmp.faster} faster, ${cmp.unchanged} no significant change, ${cmp.cases.length - cmp.compared} not comparable`,
  ].join('\n');
}
