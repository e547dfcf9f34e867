// `guplab matrix`: check (and a short benchmark) over kernels and arches, planned as CI jobs or merged.
import { type Command, Option } from 'commander';
import { PROBES } from '../check/probes.js';
import { matrixCommand, type MatrixOptions } from '../jobs/matrix.js';
import { SUITES } from '../jobs/plan.js';
import { positiveInt, UsageError } from '../util/args.js';
import type { Arch } from '../vm/paths.js';
import { arches, log, commaList, pkg } from './options.js';

export function addMatrixCommand(program: Command, host: Arch): void {
  program
    .command('matrix')
    .description(
      'run check (and a short benchmark) on every kernel x arch in the VM and print one table of the answers, changes marked; or plan it as CI jobs and merge what they left',
    )
    .argument('[dirs...]', 'with --merge: the folders the jobs wrote')
    .option('--kernel <versions>', 'comma-separated kernel series or releases; all = every series the archive has headers for', commaList, ['all'])
    .option('--arch <arches>', 'comma-separated arches', arches, [host])
    .option('--out <dir>', 'folder for the check reports, benchmark results, matrix.json and matrix.md (default results; jobs: results/jobs)')
    .option('--jobs <n>', 'guests booted at once', positiveInt, 2)
    .option('--fresh', 'boot every kernel, also those whose report in --out came from the same release and guplab build')
    .option('--from <files...>', 'build the table from existing check JSON reports (and bench-*/results.json next to them) instead of booting')
    .option('--no-bench', 'no short benchmark (fast vs unlocked, get vs pin, 4K vs THP) after the checks')
    .option('--suite <list>', `what each boot runs: ${SUITES.join(', ')} (default check,bench-short)`)
    .option('--only <ids>', 'comma-separated probe ids (default all)', commaList, [] as string[])
    .option('--changed', 'print only the rows that differ between columns')
    .option('--json', 'print matrix.json (with --plan: the plan) on stdout instead of the table')
    .option('--timeout <seconds>', 'per-VM timeout', positiveInt, 1200)
    .option('--plan', 'print the jobs (one per kernel x arch, each one guplab command) instead of running them')
    .addOption(
      new Option('--format <engine>', 'with --plan: json, or the matrix shape of github (strategy.matrix) or gitlab (parallel:matrix)').choices([
        'json',
        'github',
        'gitlab',
      ]),
    )
    .option('--job', 'run one kernel x arch as a CI job: its files and a job record in --out')
    .option('--merge', 'build the table from the folders the jobs wrote ([dirs...]), marking failed and missing jobs')
    .option('--plan-file <file>', 'with --merge: the plan (guplab matrix --plan > FILE), to name the jobs that left nothing')
    .option(
      '--history <probe/case>',
      "print one case's expected answers over upstream versions 5.10-7.3 (on the first --arch), the deciding commits, measured vs read from source; no boot",
    )
    .action(async (dirs: string[], opts: MatrixOptions) => {
      const unknown = opts.only.filter((id) => !PROBES.some((p) => p.id === id));
      if (unknown.length) throw new UsageError(`unknown probe ${unknown.join(', ')}: \`guplab check --list\` shows the ${PROBES.length} probes`);
      process.exitCode = await matrixCommand(dirs, { ...opts, version: pkg.version, log });
    });
}
