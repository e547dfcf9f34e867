// `guplab test-vm`: the kernel tests and the check suite in one boot per kernel:arch.
import type { Command } from 'commander';
import { parseRuns, testVm } from '../jobs/test-vm.js';
import { expandRuns, onceTests, RUN_SETS } from '../vm/runs.js';
import { positiveInt } from '../util/args.js';
import type { Arch } from '../vm/paths.js';
import { commaList } from './options.js';

export function addTestVmCommand(program: Command, host: Arch): void {
  program
    .command('test-vm')
    .description('the kernel test suite and the check suite in one boot per kernel:arch (the full guest), then the matrix of the answers')
    .option(
      '--runs <list>',
      `a run set (${Object.entries(RUN_SETS)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ')}) or comma-separated KERNEL:ARCH pairs`,
      'full',
    )
    .option('--out <dir>', 'folder for the check reports and the matrix', 'results/test-vm')
    .option('--jobs <n>', 'guests booted at once', positiveInt, 1)
    .option('--timeout <seconds>', 'per-VM timeout', positiveInt, 1800)
    .option('--tests <paths>', 'test paths for vitest', commaList, ['test/kernel'])
    .option('--once <files>', "test files only the first run runs (default: the run set's kernel-independent files, none for KERNEL:ARCH pairs)", commaList)
    .action(async (opts: { runs: string; out: string; jobs: number; timeout: number; tests: string[]; once?: string[] }) => {
      const runs = parseRuns(expandRuns(opts.runs), host);
      process.exitCode = await testVm({
        runs,
        out: opts.out,
        jobs: opts.jobs,
        timeoutSec: opts.timeout,
        tests: opts.tests,
        once: opts.once ?? onceTests(opts.runs),
      });
    });
}
