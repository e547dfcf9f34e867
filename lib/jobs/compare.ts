// `guplab compare`: two bench results case by case (or every kernel of an
// A/B run against its first), a verdict and an MDE per case, an exit status
// a kernel CI can gate on.
import { existingBaseline } from '../bench/baseline.js';
import { compareResults, comparisonTable, type Comparison } from '../bench/compare.js';
import { isAbFile, loadAb, loadResult, type BenchResult } from '../bench/results.js';
import { UsageError } from '../util/args.js';

export interface CompareOptions {
  thresholdPercent: number;
  json: boolean;
  /** Compare the one file against this named baseline (under resultsDir). */
  baseline?: string;
  resultsDir: string;
}

/** Which pairs a compare command line means: base new; --baseline NAME new; or one A/B run's ab.json. Throws UsageError. */
export function comparePairs(files: readonly string[], o: Pick<CompareOptions, 'baseline' | 'resultsDir'>): { kind: 'files' | 'ab'; base?: string; next?: string; ab?: string } {
  if (o.baseline !== undefined) {
    if (files.length !== 1) throw new UsageError(`--baseline ${o.baseline} compares one results.json against it: give exactly one file (got ${files.length})`);
    return { kind: 'files', base: existingBaseline(o.resultsDir, o.baseline), next: files[0] as string };
  }
  if (files.length === 2) return { kind: 'files', base: files[0] as string, next: files[1] as string };
  if (files.length === 1) {
    if (isAbFile(files[0] as string)) return { kind: 'ab', ab: files[0] as string };
    throw new UsageError(`${files[0]} is not an A/B run's ab.json: give two results.json (base new), or one with --baseline NAME`);
  }
  throw new UsageError(`compare takes two results.json (base new), one with --baseline NAME, or one ab.json of an A/B run; got ${files.length} files`);
}

function printComparison(cmp: Comparison, base: BenchResult, next: BenchResult, json: boolean): void {
  if (!json) console.log(comparisonTable(cmp, base, next));
  for (const w of cmp.warnings) process.stderr.write(`guplab: warning: ${w}\n`);
}

/** Exit status: 1 on a significant slowdown, 2 when the files cannot be compared, else 0. */
export function compareFiles(baseFile: string, newFile: string, thresholdPercent: number, json: boolean): number {
  try {
    const base = loadResult(baseFile);
    const next = loadResult(newFile);
    const cmp: Comparison = { base: baseFile, next: newFile, ...compareResults(base, next, thresholdPercent / 100) };
    if (json) console.log(JSON.stringify(cmp, null, 2));
    printComparison(cmp, base, next, json);
    if (cmp.compared > 0) return cmp.slower > 0 ? 1 : 0;
    process.stderr.write(`guplab: no case of ${newFile} can be compared with ${baseFile} (no shared case ran in both): run both with the same --spec\n`);
    return 2;
  } catch (err) {
    process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

/** Every run of an A/B result against the first (kernel B over kernel A); JSON: a list of comparisons. */
export function compareAbRuns(abFile: string, thresholdPercent: number, json: boolean): { code: number; comparisons: Comparison[] } {
  try {
    const { ab, results } = loadAb(abFile);
    const base = results[0] as BenchResult;
    const comparisons = results.slice(1).map((next, i) => ({
      base: ab.runs[0]?.label ?? 'A',
      next: ab.runs[i + 1]?.label ?? 'B',
      ...compareResults(base, next, thresholdPercent / 100),
    }));
    if (json) console.log(JSON.stringify(comparisons, null, 2));
    comparisons.forEach((cmp, i) => printComparison(cmp, base, results[i + 1] as BenchResult, json));
    if (!json) console.log(`rounds alternated between the guests: ${ab.rounds.length} (${ab.rounds.map((r) => r.label).join(' ')})`);
    if (comparisons.every((c) => c.compared === 0)) return { code: 2, comparisons };
    return { code: comparisons.some((c) => c.slower > 0) ? 1 : 0, comparisons };
  } catch (err) {
    process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
    return { code: 2, comparisons: [] };
  }
}

/** `guplab compare FILES...`: the exit status. */
export function compareCommand(files: readonly string[], o: CompareOptions): number {
  const what = comparePairs(files, o);
  if (what.kind === 'ab') return compareAbRuns(what.ab as string, o.thresholdPercent, o.json).code;
  return compareFiles(what.base as string, what.next as string, o.thresholdPercent, o.json);
}
