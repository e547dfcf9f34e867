// `guplab compare`: two bench results case by case (or every kernel of an
// A/B run against its first), a verdict and an MDE per case, an exit status
// a kernel CI can gate on.
import { existingBaseline } from '../bench/baseline.js';
import { compareResults, comparisonTable, type Comparison } from '../bench/compare.js';
import { isAbFile, loadAb, loadResult, type BenchResult } from '../bench/results.js';
import { UsageError } from '../util/args.js';
import { writeFileAtomic } from '../util/atomic.js';
import path from 'node:path';
import { compareCsv, compareHtml, compareMarkdown } from '../bench/compare-report.js';

/** Where compare writes compare.html, compare.md and compare.csv, and what their header says. */
export interface CompareExport {
  outDir: string;
  command: string;
}

/** The environment facts of a comparison's runs, once each, for the report's header. */
function facts(results: readonly { label: string; r: BenchResult }[]): string[] {
  return results.map(({ label, r }) => {
    const e = r.environment;
    return `${label}: ${e.release} ${e.arch} on ${e.accelerator}${e.accelerator === 'TCG' ? ' (emulated CPU)' : ''}, ${e.cpuModel}${e.qemuVersion ? `, QEMU ${e.qemuVersion}` : ''}; ${r.run?.rounds ?? r.spec.rounds} rounds, ${r.cases.length} cases, created ${r.createdAt}`;
  });
}

export function writeCompareExports(cmps: readonly Comparison[], runs: readonly { label: string; r: BenchResult }[], x: CompareExport): void {
  const meta = { command: x.command, facts: facts(runs) };
  writeFileAtomic(path.join(x.outDir, 'compare.html'), compareHtml(cmps, meta));
  writeFileAtomic(path.join(x.outDir, 'compare.md'), `${compareMarkdown(cmps)}\n`);
  writeFileAtomic(path.join(x.outDir, 'compare.csv'), compareCsv(cmps));
  process.stderr.write(`guplab: wrote ${path.join(x.outDir, 'compare.html')}, compare.md and compare.csv\n`);
}

export interface CompareOptions {
  thresholdPercent: number;
  json: boolean;
  /** Also write compare.html, compare.md and compare.csv here. */
  outDir?: string;
  /** Compare the one file against this named baseline (under resultsDir). */
  baseline?: string;
  resultsDir: string;
}

/** Which pairs a compare command line means: base new; --baseline NAME new; or one A/B run's ab.json. Throws UsageError. */
export function comparePairs(
  files: readonly string[],
  o: Pick<CompareOptions, 'baseline' | 'resultsDir'>,
): { kind: 'files' | 'ab'; base?: string; next?: string; ab?: string } {
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
export function compareFiles(baseFile: string, newFile: string, thresholdPercent: number, json: boolean, exports?: CompareExport): number {
  try {
    const base = loadResult(baseFile);
    const next = loadResult(newFile);
    const cmp: Comparison = { base: baseFile, next: newFile, ...compareResults(base, next, thresholdPercent / 100) };
    if (json) console.log(JSON.stringify(cmp, null, 2));
    printComparison(cmp, base, next, json);
    if (exports)
      writeCompareExports(
        [cmp],
        [
          { label: `base ${baseFile}`, r: base },
          { label: `new ${newFile}`, r: next },
        ],
        exports,
      );
    if (cmp.compared > 0) return cmp.slower > 0 ? 1 : 0;
    process.stderr.write(`guplab: no case of ${newFile} can be compared with ${baseFile} (no shared case ran in both): run both with the same --spec\n`);
    return 2;
  } catch (err) {
    process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}

/** Every run of an A/B result against the first (kernel B over kernel A); JSON: a list of comparisons. */
export function compareAbRuns(abFile: string, thresholdPercent: number, json: boolean, exports?: CompareExport): { code: number; comparisons: Comparison[] } {
  try {
    const { ab, results } = loadAb(abFile);
    const base = results[0] as BenchResult;
    const comparisons = results.slice(1).map((next, i) => ({
      base: ab.runs[0]?.label ?? 'A',
      next: ab.runs[i + 1]?.label ?? 'B',
      ...compareResults(base, next, thresholdPercent / 100, { paired: true }),
    }));
    if (json) console.log(JSON.stringify(comparisons, null, 2));
    for (const [i, cmp] of comparisons.entries()) printComparison(cmp, base, results[i + 1] as BenchResult, json);
    if (!json) console.log(`rounds alternated between the guests: ${ab.rounds.length} (${ab.rounds.map((r) => r.label.split(' ')[0]).join('')})`);
    if (exports)
      writeCompareExports(
        comparisons,
        results.map((r, i) => ({ label: ab.runs[i]?.label ?? String(i), r })),
        { ...exports, command: ab.command.join(' ') },
      );
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
  const exports = o.outDir ? { outDir: o.outDir, command: ['guplab', ...process.argv.slice(2)].join(' ') } : undefined;
  if (what.kind === 'ab') return compareAbRuns(what.ab as string, o.thresholdPercent, o.json, exports).code;
  return compareFiles(what.base as string, what.next as string, o.thresholdPercent, o.json, exports);
}
