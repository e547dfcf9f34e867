// guplab/bench: the benchmark engine, its results and their readers.
export { runBench, type Progress } from './engine.js';
export { DEFAULT_SPEC, HEADLINE_APIS, resolveSpec, loadSpecFile, parseSize, formatSize, type Spec, type SpecInput } from './spec.js';
export { BACKING_NAMES, type BackingName } from './backings.js';
export { BENCH_SCHEMA, loadResult, selectRounds, fastRatio, fastBaseline, baselineOf, type BenchCase, type BenchResult } from './results.js';
export { compareResults, comparisonTable, type CaseComparison, type Comparison, type Verdict } from './compare.js';
export { benchTable } from './table.js';
export type { Summary } from './stats.js';

/** report.html for a result: ns/page and ratio charts as inline SVG (loads vega on first use). */
export async function renderReport(result: import('./results.js').BenchResult): Promise<string> {
  const { renderReport: render } = await import('./report.js');
  return render(result);
}
