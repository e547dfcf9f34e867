// `guplab stress`: fuzz, kill, race and permission stress of the module in the VM (lib/jobs/stress.ts).
import type { Command } from 'commander';
import { runStress, type StressOptions } from '../jobs/stress.js';
import { nonNegativeInt, positiveInt } from '../util/args.js';

export function addStressCommand(program: Command): void {
  program
    .command('stress')
    .description('fuzz, kill, race and permission stress of the module in the VM (docs/stress.md)')
    .option('--kernel <list>', 'kernels, comma-separated', '6.1,6.12')
    .option('--profile <name>', 'full (make stress) or ci (make test); default from GUPLAB_STRESS_PROFILE', process.env.GUPLAB_STRESS_PROFILE ?? 'full')
    .option('--seed <n>', 'fuzzer seed (a failure prints it); default GUPLAB_SEED or 1', nonNegativeInt, nonNegativeInt(process.env.GUPLAB_SEED ?? '1'))
    .option('--timeout <seconds>', 'per-kernel VM timeout', positiveInt, 1800)
    .action(async (o: StressOptions) => {
      if (o.profile !== 'full' && o.profile !== 'ci') throw new Error(`--profile ${String(o.profile)}: use full or ci`);
      process.exitCode = await runStress(o);
    });
}
