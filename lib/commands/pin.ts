// `guplab pin`: one GUP call on a fresh buffer and its page facts.
import { type Command, Option } from 'commander';
import { API_NAMES, FLAG_NAMES, isApiName, isFlagName, type ApiName, type FlagName } from '../abi.js';
import { BACKING_NAMES, type BackingName } from '../bench/backings.js';
import { parseSize, resolveSpec } from '../bench/spec.js';
import { pinOnce, pinOutput } from '../pin.js';
import { bootTarget, reportVm } from '../jobs/vm.js';
import { UsageError } from '../util/args.js';
import type { Arch } from '../vm/paths.js';
import { vmRun } from '../vm/run.js';
import { type VmCliOptions, addVmOptions, refuseVmOnly, vmBase } from './options.js';

export function addPinCommand(program: Command, host: Arch): void {
  const vmOptions = (cmd: Command): Command => addVmOptions(cmd, host);
  vmOptions(
    program
      .command('pin')
      .description("one GUP call on a fresh buffer: the kernel's answer and what each page is (page facts)")
      .requiredOption('--api <name>', `entry point: ${API_NAMES.join(', ')}`)
      .option(
        '--flags <flags>',
        `flags joined by , or +: ${FLAG_NAMES.join(', ')}`,
        (v: string) =>
          v
            .split(/[,+]/)
            .map((f) => f.trim())
            .filter((f) => f && f !== 'none'),
        [] as string[],
      )
      .addOption(new Option('--backing <name>', 'memory to pin').choices([...BACKING_NAMES]).default('4K'))
      .option('--size <size>', 'buffer size, whole 4K pages', '64K')
      .option('--no-prefault', 'leave the buffer unfaulted (GUP faults it in)')
      .option('--dir <path>', 'folder for the file and dax backings')
      .option('--json', 'print the answer as JSON')
      .option('--vm', 'boot the kernel in QEMU and make the call there'),
  ).action(
    async (
      opts: VmCliOptions & { api: string; flags: string[]; backing: BackingName; size: string; prefault: boolean; dir?: string; json?: boolean; vm?: boolean },
      cmd: Command,
    ) => {
      if (!isApiName(opts.api)) throw new UsageError(`unknown API "${opts.api}": use one of ${API_NAMES.join(', ')}`);
      const badFlags = opts.flags.filter((f) => !isFlagName(f));
      if (badFlags.length) throw new UsageError(`unknown flag ${badFlags.join(', ')}: use ${FLAG_NAMES.join(', ')} (joined by , or +)`);
      let size: number;
      try {
        size = parseSize(opts.size);
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      if (size < 4096 || size % 4096 !== 0) throw new UsageError(`--size ${opts.size}: a buffer is whole 4 KiB pages, use a multiple of 4K, e.g. 64K, 2M`);
      refuseVmOnly(cmd, opts.vm);
      const call = {
        api: opts.api as ApiName,
        flags: opts.flags as FlagName[],
        backing: opts.backing,
        size,
        prefault: opts.prefault,
        ...(opts.dir ? { dir: opts.dir } : {}),
      };
      if (opts.vm) {
        const base = vmBase(opts, cmd);
        const spec = resolveSpec({ backings: [opts.backing], sizes: [size] });
        const { benchGuestMemory } = await import('../jobs/bench.js');
        const memory = benchGuestMemory(spec, base.memory ?? {});
        const result = await vmRun({
          ...base,
          target: bootTarget({ ...base, memory }),
          memory,
          job: { steps: [{ kind: 'pin', call, json: opts.json ?? false }] },
        });
        process.exitCode = reportVm(result);
        return;
      }
      console.log(pinOutput(pinOnce(call), opts.json ?? false));
    },
  );
}
