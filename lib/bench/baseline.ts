// Named baselines, as criterion keeps them: `bench --save-baseline NAME`
// stores the run's results.json (its environment included) under
// <out>/baselines/NAME/, `bench --baseline NAME` and `compare --baseline
// NAME` compare a run against it.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { UsageError } from '../util/args.js';
import type { BenchResult } from './results.js';

const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The folder of baseline NAME under the results folder. Throws a UsageError for a name that is not a plain file name. */
export function baselineDir(resultsDir: string, name: string): string {
  if (!NAME_RE.test(name)) throw new UsageError(`bad baseline name "${name}": use letters, digits, '.', '_' or '-' (at most 64, no '/'), e.g. v6.12-before`);
  return path.join(resultsDir, 'baselines', name);
}

export const baselineFile = (resultsDir: string, name: string): string => path.join(baselineDir(resultsDir, name), 'results.json');

/** The names of the baselines saved under the results folder. */
export function listBaselines(resultsDir: string): string[] {
  const dir = path.join(resultsDir, 'baselines');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => existsSync(path.join(dir, n, 'results.json')))
    .sort();
}

/** The baseline's results.json, which must exist: else a UsageError naming the saved ones and how to make it. */
export function existingBaseline(resultsDir: string, name: string): string {
  const file = baselineFile(resultsDir, name);
  if (existsSync(file)) return file;
  const have = listBaselines(resultsDir);
  throw new UsageError(
    `no baseline "${name}" under ${path.join(resultsDir, 'baselines')} (${have.length ? `saved: ${have.join(', ')}` : 'none saved'}): make it with \`guplab bench --save-baseline ${name}\` (same --out)`,
  );
}

/** Saves a result as baseline NAME (replacing an older one of that name); returns the file. */
export function saveBaseline(resultsDir: string, name: string, result: BenchResult): string {
  const file = baselineFile(resultsDir, name);
  writeFileAtomic(file, `${JSON.stringify(result, null, 2)}\n`);
  return file;
}
