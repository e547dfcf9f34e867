// `guplab fidelity`: gup_test's benchmark and BENCH on the same work in one boot.
import type { Command } from 'commander';
import { positiveInt, UsageError } from '../util/args.js';
import type { Arch } from '../vm/paths.js';
import { fidelityInVm } from '../jobs/fidelity.js';
import { FIDELITY_MAX_MIB, FIDELITY_WARMUP } from '../selftests/fidelity.js';
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
      .option('--repeats <n>', 'gup_test -r and guplab BENCH iterations per case and round, the first not counted (warm-up)', positiveInt, 6)
      .option('--size <MiB>', 'buffer size (gup_test -m); the whole-buffer cases take it in one call', positiveInt, 32)
      .option('--rounds <n>', 'rounds, each every case on both sides (the ratio per round shows the drift of the host)', positiveInt, 10)
      .option('--vm', 'boot the kernel in QEMU (required)'),
  ).action(async (opts: VmCliOptions & { out: string; repeats: number; rounds: number; size: number; vm?: boolean }, cmd: Command) => {
    if (!opts.vm) throw new UsageError('fidelity runs in a guest with gup_test.ko: add --vm');
    // BENCH's pass holds the whole buffer: at most the module's default max_pages_per_call (2^18 pages).
    if (opts.size > FIDELITY_MAX_MIB)
      throw new UsageError(
        `--size ${opts.size}: guplab's pass holds the whole buffer in one call, at most ${FIDELITY_MAX_MIB} MiB (the module's max_pages_per_call); use --size ${FIDELITY_MAX_MIB} or less`,
      );
    if (opts.repeats <= FIDELITY_WARMUP)
      throw new UsageError(
        `--repeats ${opts.repeats} leaves nothing to count: each side's first ${FIDELITY_WARMUP} repeat per pair is a warm-up; use --repeats 2 or more`,
      );
    process.exitCode = await fidelityInVm(vmBase(opts, cmd), { out: opts.out, repeats: opts.repeats, rounds: opts.rounds, sizeMiB: opts.size });
  });
}
