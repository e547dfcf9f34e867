// `guplab kernels`: the Debian kernels per arch and what is cached.
import type { Command } from 'commander';
import { listKernels } from '../jobs/kernels.js';
import { ARCH_NAMES, parseArchList } from '../vm/arch.js';
import { log } from './options.js';

export function addKernelsCommand(program: Command): void {
  program
    .command('kernels')
    .description('the Debian kernels the archive offers per arch (series, newest usable release, image-only ones) and what is cached')
    .option('--arch <arches>', 'comma-separated arches', ARCH_NAMES.join(','))
    .option('--all', 'one line per release')
    .option('--refresh', 'update the archive index now (else once a day)')
    .option('--json', 'print the releases as JSON')
    .action((opts: { arch: string; all?: boolean; refresh?: boolean; json?: boolean }) => {
      const r = listKernels({
        arches: parseArchList(opts.arch),
        all: opts.all ?? false,
        refresh: opts.refresh ?? false,
        log,
      });
      console.log(opts.json ? JSON.stringify(r.kernels, null, 1) : r.text);
    });
}
