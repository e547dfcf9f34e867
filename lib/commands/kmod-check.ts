// `guplab kmod-check`: kmod/ built with W=1 and sparse against kernels and arches.
import type { Command } from 'commander';
import { kmodCheck } from '../jobs/kmod-check.js';
import { ARCH_NAMES } from '../vm/arch.js';
import { checkKernelSpecs, STABLE_LINES } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { arches, log, commaList } from './options.js';

export function addKmodCheckCommand(program: Command): void {
  program
    .command('kmod-check')
    .description('build kmod/ warning-free with W=1 (and sparse C=1) against each kernel and arch')
    .option('--kernel <versions>', 'comma-separated kernel series or releases; all: every series the archive has headers for', commaList, [...STABLE_LINES])
    .option('--arch <arches>', 'comma-separated arches', arches, [...ARCH_NAMES])
    .action((opts: { kernel: string[]; arch: Arch[] }) => {
      checkKernelSpecs(opts.kernel, opts.arch, log); // every kernel resolved before the first download
      process.exitCode = kmodCheck(opts.kernel, opts.arch);
    });
}
