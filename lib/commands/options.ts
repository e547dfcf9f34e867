// What the commands share: the VM options (one list: addVmOptions, from
// which VM_ONLY and the refusal without --vm follow), the VmBase they
// describe, and the small argument parsers.
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { VmBase } from '../jobs/vm.js';
import { positiveInt, UsageError } from '../util/args.js';
import { projectRoot } from '../util/root.js';
import type { GuestFs, GuestMemoryOptions } from '../vm/guest.js';
import { ARCH_NAMES, parseArchList } from '../vm/arch.js';
import { DEFAULT_KERNEL } from '../kernels/kernel.js';
import type { Arch } from '../vm/paths.js';

/** VM options of a command line; the guest memory options are GuestMemoryOptions' own. */
export interface VmCliOptions extends GuestMemoryOptions {
  kernel?: string;
  arch?: Arch;
  kernelImage?: string;
  kernelBuild?: string;
  timeout: number;
  mem: number;
  cpus: number;
  append: string[];
  verbose?: boolean;
  accel: 'auto' | 'kvm' | 'tcg';
  firstBootTimeout: number;
}

export function fsList(value: string): GuestFs[] {
  const fss = value.split(',').map((v) => v.trim());
  for (const fs of fss) if (fs !== 'ext4' && fs !== 'xfs') throw new InvalidArgumentError(`unknown filesystem "${fs}": use ext4, xfs or ext4,xfs`);
  return fss as GuestFs[];
}

export function size(value: string): string {
  if (!/^\d+[MG]$/i.test(value)) throw new InvalidArgumentError('expected a size like 256M or 1G');
  return value;
}

/** A comma-separated --arch list (vm/arch.ts names what exists). */
export function arches(value: string): Arch[] {
  try {
    return parseArchList(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message);
  }
}

export const log = (msg: string): void => void process.stderr.write(`guplab: ${msg}\n`);

export const commaList = (v: string): string[] =>
  v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean);
export const list = (v: string, acc: string[] | undefined): string[] => [...(acc ?? []), ...commaList(v)];

export function addVmOptions(cmd: Command, host: Arch): Command {
  return cmd
    .option(
      '--kernel <version>',
      'Debian kernel: series (5.10, 6.1, 6.12, 7.2), major (7: the newest 7.x) or exact release (guplab kernels lists them); LINE-debug (6.12-debug) builds a debug kernel of that line (KASAN, lockdep, DEBUG_VM, GUP_TEST) once',
      DEFAULT_KERNEL,
    )
    .option(
      '--arch <arch>',
      `guest architecture, ${ARCH_NAMES.join(' or ')} (default: the host's, ${host}, or a user kernel's own)`,
      (v: string) => arches(v)[0] as Arch,
    )
    .option('--kernel-image <path>', 'boot your own kernel image (with --kernel-build) instead of a Debian kernel')
    .option('--kernel-build <dir>', 'build tree (or headers) of --kernel-image, to build guplab.ko against')
    .option('--timeout <seconds>', 'kill the guest after this long', positiveInt, 900)
    .option('--mem <MiB>', 'guest memory', positiveInt, 2048)
    .option('--cpus <n>', 'guest CPUs', positiveInt, 2)
    .option('--append <arg>', 'extra kernel command line argument (repeatable)', (v: string, acc: string[]) => [...acc, v], [])
    .option('--hugepages <n>', 'reserve n 2 MiB hugetlb pages at boot', positiveInt)
    .option('--hugepages-1g <n>', 'reserve n 1 GiB hugetlb pages at boot', positiveInt)
    .addOption(new Option('--thp <mode>', 'transparent_hugepage= mode').choices(['always', 'madvise', 'never']))
    .option('--movablecore <size>', 'memory for ZONE_MOVABLE (movablecore=), e.g. 512M', size)
    .option(
      '--pmem <size>',
      'emulated pmem per region (x86_64: memmap= out of --mem; arm64: a device-tree pmem region beyond --mem; needs a kernel with FS_DAX and ZONE_DEVICE), e.g. 256M',
      size,
    )
    .option('--dax <fs>', 'make and mount these filesystems on pmem with -o dax=always at /mnt/guplab/<fs>-dax', fsList)
    .option('--fs <fs>', 'make these filesystems on virtio disks (ext4, xfs, ext4,xfs) and mount them at /mnt/guplab/<fs>', fsList)
    .option('--verbose', 'print the whole boot console')
    .addOption(new Option('--accel <accel>', 'accelerator (auto: KVM where the CPU and /dev/kvm allow it)').choices(['auto', 'kvm', 'tcg']).default('auto'))
    .option('--first-boot-timeout <seconds>', 'retry with TCG when a KVM boot has not reached the command after this long', positiveInt, 60);
}

/** Options that only mean something in a VM: every option addVmOptions adds (one list: that function). */
export const VM_ONLY: readonly Option[] = addVmOptions(new Command(), 'x86_64').options;

/** Refuses VM options on a command run without --vm (the results would be labelled with this machine's kernel). */
export function refuseVmOnly(cmd: Command, vm: boolean | undefined): void {
  if (vm) return;
  const flags = VM_ONLY.filter((o) => cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long ?? o.flags);
  if (flags.length) {
    throw new UsageError(
      `${flags.join(', ')} ${flags.length > 1 ? 'only apply' : 'only applies'} with --vm: add --vm to run in a guest, or drop ${flags.length > 1 ? 'them' : 'it'} to run on this machine's kernel`,
    );
  }
}

/** The VM run a command line asks for, less its command. */
export function vmBase(opts: VmCliOptions, cmd: Command): VmBase {
  const memory: GuestMemoryOptions = {};
  for (const key of ['hugepages', 'hugepages1g', 'thp', 'movablecore', 'pmem', 'dax', 'fs'] as const) {
    if (opts[key] !== undefined) Object.assign(memory, { [key]: opts[key] });
  }
  return {
    ...(opts.kernel !== undefined ? { kernel: opts.kernel } : {}),
    ...(opts.arch ? { arch: opts.arch } : {}),
    ...(opts.kernelImage ? { kernelImage: opts.kernelImage } : {}),
    ...(opts.kernelBuild ? { kernelBuild: opts.kernelBuild } : {}),
    timeoutSec: opts.timeout,
    memMiB: opts.mem,
    memChosen: cmd.getOptionValueSource('mem') !== 'default',
    cpus: opts.cpus,
    append: opts.append,
    memory,
    verbose: opts.verbose ?? false,
    accel: opts.accel,
    firstBootTimeoutSec: opts.firstBootTimeout,
  };
}

/** guplab's version (package.json). */
export const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
