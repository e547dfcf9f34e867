// `guplab selftests`: the kernel's own GUP selftests beside guplab's probes.
import type { Command } from 'commander';
import { UsageError } from '../util/args.js';
import { DEFAULT_KERNEL } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { selftestsBuildOnly, selftestsInVm } from '../jobs/selftests.js';
import { type VmCliOptions, log, commaList, addVmOptions, vmBase } from './options.js';

export function addSelftestsCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  vmOptions(
    program
      .command('selftests')
      .description(
        "the kernel's own GUP selftests (gup_test with mm/gup_test.c built out of tree, gup_longterm, cow) from Debian's linux-source of the kernel's line; KTAP, a JSON summary and the cross-check against guplab's probes",
      )
      .option('--out <dir>', 'folder for selftests-RELEASE-ARCH.{ktap,json} and crosscheck-RELEASE-ARCH.md', 'results/selftests')
      .option('--no-cross-check', "skip guplab's probes in the same boot (no cross-check table)")
      .option('--only <binaries>', 'only these selftests, comma-separated (gup_test, gup_longterm, cow)', commaList)
      .option('--vm', 'boot the kernel in QEMU and run them there (without: build only)'),
  ).action(async (opts: VmCliOptions & { out: string; crossCheck: boolean; only?: string[]; vm?: boolean }, cmd: Command) => {
    if (opts.kernelImage) throw new UsageError('selftests builds from a Debian linux-source package: --kernel-image is not supported; pass --kernel LINE');
    if (!opts.vm) {
      const given = ['kernel', 'arch'].filter((k) => cmd.getOptionValueSource(k) === 'cli');
      process.exitCode = selftestsBuildOnly(opts.kernel ?? DEFAULT_KERNEL, opts.arch ?? host);
      if (given.length === 0) log('selftests: built for the default kernel; add --vm to run them');
      return;
    }
    const bad = (opts.only ?? []).filter((b) => !['gup_test', 'gup_longterm', 'cow', 'anon_cow'].includes(b));
    if (bad.length) throw new UsageError(`unknown selftest ${bad.join(', ')}: --only takes gup_test, gup_longterm, cow (anon_cow before 6.2)`);
    process.exitCode = await selftestsInVm(vmBase(opts, cmd), { out: opts.out, crossCheck: opts.crossCheck, ...(opts.only ? { only: opts.only } : {}) });
  });
}
