// `guplab compare`: two bench results case by case, a verdict per case, an
// exit status a kernel CI can gate on.
import { compareResults, comparisonTable, type Comparison } from '../bench/compare.js';
import { loadResult } from '../bench/results.js';

/** Exit status: 1 on a significant slowdown, 2 when the files cannot be compared, else 0. */
export function compareFiles(baseFile: string, newFile: string, thresholdPercent: number, json: boolean): number {
  try {
    const base = loadResult(baseFile);
    const next = loadResult(newFile);
    const cmp: Comparison = { base: baseFile, next: newFile, ...compareResults(base, next, thresholdPercent / 100) };
    console.log(json ? JSON.stringify(cmp, null, 2) : comparisonTable(cmp, base, next));
    for (const w of cmp.warnings) process.stderr.write(`guplab: warning: ${w}\n`);
    if (cmp.compared > 0) return cmp.slower > 0 ? 1 : 0;
    process.stderr.write(`guplab: no case of ${newFile} can be compared with ${baseFile} (no shared case ran in both): run both with the same --spec\n`);
    return 2;
  } catch (err) {
    process.stderr.write(`guplab: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
}
