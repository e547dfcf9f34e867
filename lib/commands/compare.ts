// `guplab compare`: two benchmark results (or an A/B run), case by case.
import { type Command, InvalidArgumentError } from 'commander';
import { compareCommand } from '../jobs/compare.js';

export function addCompareCommand(program: Command): void {
  program
    .command('compare')
    .description(
      'per case, the change of the median (new/base) with a bootstrap 95% CI; exit 1 on a significant slowdown beyond the threshold, 2 when the files cannot be compared or share no case that ran in both',
    )
    .argument('<files...>', 'base.json new.json; or new.json with --baseline NAME; or one ab.json of an A/B run (every kernel against the first)')
    .option(
      '--threshold <percent>',
      'smallest change that counts',
      (v: string) => {
        const n = Number(v);
        if (!Number.isFinite(n) || n < 0 || n > 1000) throw new InvalidArgumentError('expected a percentage, e.g. 10');
        return n;
      },
      10,
    )
    .option('--json', 'print the comparison as JSON')
    .option('--baseline <name>', 'compare the one file given against this saved baseline (bench --save-baseline)')
    .option('--results <dir>', 'results folder that holds baselines/', 'results')
    .option('--out <dir>', 'also write compare.html (forest plot: ratio, CI, threshold, verdict, MDE), compare.md and compare.csv here')
    .action((files: string[], opts: { threshold: number; json?: boolean; baseline?: string; results: string; out?: string }) => {
      process.exitCode = compareCommand(files, {
        thresholdPercent: opts.threshold,
        json: opts.json ?? false,
        resultsDir: opts.results,
        ...(opts.baseline ? { baseline: opts.baseline } : {}),
        ...(opts.out ? { outDir: opts.out } : {}),
      });
    });
}
