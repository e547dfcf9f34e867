// `guplab check`: the semantics probes as KTAP, here or in a guest.
import type { Command } from 'commander';
import path from 'node:path';
import { PROBES } from '../check/probes.js';
import { checkHere, checkInVm } from '../jobs/check.js';
import { checkFileFor } from '../jobs/matrix.js';
import { UsageError } from '../util/args.js';
import { DEFAULT_KERNEL } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { type VmCliOptions, commaList, addVmOptions, refuseVmOnly, vmBase } from './options.js';

export function addCheckCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  vmOptions(
    program
      .command('check')
      .description('semantics probes as KTAP: what each GUP call answers on this kernel, against per-kernel expectations')
      .option('--only <ids>', 'comma-separated probe ids (see --list)', commaList, [] as string[])
      .option('--list', 'list the probes, each with its question, and exit')
      .option('--out <dir>', 'write the report as JSON into DIR (with --vm default results/; file check-KERNEL-ARCH.json)')
      .option('--junit <file>', 'also write the results as JUnit XML (one testsuite per probe)')
      .option('--vm', 'boot the kernel in QEMU (huge pages, ZONE_MOVABLE, pmem/DAX) and check there'),
  ).action(async (opts: VmCliOptions & { only: string[]; list?: boolean; out?: string; junit?: string; vm?: boolean }, cmd: Command) => {
    if (opts.list) {
      for (const p of PROBES) console.log(`${p.id.padEnd(18)} ${p.title}`);
      return;
    }
    const unknown = opts.only.filter((id) => !PROBES.some((p) => p.id === id));
    if (unknown.length) throw new UsageError(`unknown probe ${unknown.join(', ')}: \`guplab check --list\` shows the ${PROBES.length} probes`);
    refuseVmOnly(cmd, opts.vm);
    if (opts.vm) {
      const vm = vmBase(opts, cmd);
      const file = checkFileFor(opts.out ?? 'results', vm.kernel ?? DEFAULT_KERNEL, vm.arch ?? host);
      process.exitCode = await checkInVm(opts.only, vm, file, opts.junit && path.resolve(opts.junit));
    } else process.exitCode = checkHere(opts.only, opts.out ? path.resolve(opts.out, 'check.json') : undefined, opts.junit && path.resolve(opts.junit));
  });
}
