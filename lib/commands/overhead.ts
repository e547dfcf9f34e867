// `guplab overhead`: the harness's own overhead per call.
import type { Command } from 'commander';
import { overheadTable, runOverhead } from '../bench/overhead.js';
import { intAtLeast, positiveInt } from '../util/args.js';

export function addOverheadCommand(program: Command): void {
  program
    .command('overhead')
    .description("the harness's own overhead: a 1-page PIN from TypeScript, from a C loop, and inside the kernel loop")
    .option('--calls <n>', 'calls per path per round', positiveInt, 2000)
    .option(
      '--rounds <n>',
      'rounds: every path once per round, TypeScript / C paired by round',
      intAtLeast(2, "the ratio's CI is drawn by pairs of rounds"),
      10,
    )
    .option('--json', 'print the figures as JSON (every sample with its round)')
    .action(async (opts: { calls: number; rounds: number; json?: boolean }) => {
      const r = await runOverhead({ calls: opts.calls, rounds: opts.rounds });
      console.log(opts.json ? JSON.stringify(r, null, 2) : overheadTable(r));
    });
}
