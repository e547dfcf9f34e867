// `guplab fidelity`: gup_test's benchmark and BENCH on the same work in one boot.
import type { Command } from 'commander';
import { positiveInt, UsageError } from '../util/args.js';
import type { Arch } from '../vm/paths.js';
import { fidelityInVm } from '../jobs/fidelity.js';
import { type VmCliOptions, addVmOptions, vmBase } from './options.js';

export function addFidelityCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  vmOptions(
    program
      .command('fidelity')
      .description(
        "gup_test's in-kernel benchmark and guplab's BENCH on the same work in one boot: ns/page side by side (figures from the accelerator used: TCG here)",
      )
      .option('--out <dir>', 'folder for fidelity-RELEASE-ARCH.{json,md}', 'results/fidelity')
      .option('--repeats <n>', 'gup_test -r and guplab --iterations per case and round', positiveInt, 5)
      .option('--rounds <n>', 'rounds, each every case on both sides (the ratio per round shows the drift of the host)', positiveInt, 3)
      .option('--vm', 'boot the kernel in QEMU (required)'),
  ).action(async (opts: VmCliOptions & { out: string; repeats: number; rounds: number; vm?: boolean }, cmd: Command) => {
    if (!opts.vm) throw new UsageError('fidelity runs in a guest with gup_test.ko: add --vm');
    process.exitCode = await fidelityInVm(vmBase(opts, cmd), { out: opts.out, repeats: opts.repeats, rounds: opts.rounds });
  });
}
