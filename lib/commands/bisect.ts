// `guplab bisect`: the first packaged release (or git bisect run step) where a probe case changes.
import { type Command, InvalidArgumentError } from 'commander';
import { bisectReleases, bisectRunStep, parseProbeCase, type ProbeCase } from '../jobs/bisect.js';
import { positiveInt } from '../util/args.js';
import { DEFAULT_KERNEL } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';
import { arches, log } from './options.js';

export function addBisectCommand(program: Command, host: Arch): void {
  program
    .command('bisect')
    .description(
      'find the first packaged release where a probe case answers like --new (binary search, one boot per step); with --kernel-image, one git-bisect-run step (exit 0 old, 1 new, 125 skip)',
    )
    .requiredOption('--case <probe/case>', 'the probe case, e.g. longterm-variants/pin_user_pages_unlocked', parseProbeCase)
    .option('--old <release>', 'a release (or series) answering the old way')
    .option('--new <release>', 'a later release (or series) answering the new way')
    .option('--arch <arch>', 'guest architecture', (v: string) => arches(v)[0] as Arch, host)
    .option('--kernel-image <path>', 'git bisect run mode: boot this kernel image (with --kernel-build)')
    .option('--kernel <release>', 'git bisect run mode on a packaged release instead of --kernel-image')
    .option('--kernel-build <dir>', 'build tree of --kernel-image')
    .option('--old-answer <answer>', "git bisect run mode: the old kernels' answer (exit 0)")
    .option('--new-answer <answer>', 'git bisect run mode: the new answer (exit 1); without it any other answer is new')
    .option('--timeout <seconds>', 'per-boot timeout', positiveInt, 900)
    .action(
      async (opts: {
        case: ProbeCase;
        old?: string;
        new?: string;
        arch: Arch;
        kernel?: string;
        kernelImage?: string;
        kernelBuild?: string;
        oldAnswer?: string;
        newAnswer?: string;
        timeout: number;
      }) => {
        const print = (line: string): void => console.log(line);
        if (opts.kernelImage || opts.oldAnswer !== undefined) {
          if (opts.oldAnswer === undefined || (opts.kernelImage && !opts.kernelBuild)) {
            // Above 127: git bisect run stops instead of taking a usage error for an answer.
            log('git bisect run mode needs --old-answer (e.g. --old-answer -EINVAL) and --kernel-image with --kernel-build (or --kernel RELEASE)');
            process.exitCode = 128;
            return;
          }
          const target = opts.kernelImage
            ? { kernelImage: opts.kernelImage, kernelBuild: opts.kernelBuild!, arch: opts.arch }
            : { kernel: opts.kernel ?? DEFAULT_KERNEL, arch: opts.arch };
          process.exitCode = await bisectRunStep({
            target,
            pc: opts.case,
            oldAnswer: opts.oldAnswer,
            ...(opts.newAnswer !== undefined ? { newAnswer: opts.newAnswer } : {}),
            timeoutSec: opts.timeout,
            log,
            print,
          });
          return;
        }
        if (!opts.old || !opts.new)
          throw new InvalidArgumentError('pass --old and --new releases (guplab kernels lists them), or --kernel-image for git bisect run');
        await bisectReleases({ pc: opts.case, oldSpec: opts.old, newSpec: opts.new, arch: opts.arch, timeoutSec: opts.timeout, log, print });
      },
    );
}
