// What the commands share: the VM options (one table, VM_OPTIONS, from which
// addVmOptions, VM_ONLY, the refusal without --vm and vmBase follow), the
// VmBase they describe, and the small argument parsers.
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

/**
 * What the commands read of a command line's VM options themselves (the
 * rest they take from vmBase): --kernel as typed (a list for bench A/B), the
 * arch, a user kernel.
 */
export interface VmCliOptions {
  kernel?: string;
  arch?: Arch;
  kernelImage?: string;
  kernelBuild?: string;
  timeout: number;
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

/** Where a VM option's value goes: a VmBase field, or a guest memory option (VmBase.memory). */
type Into = Exclude<keyof VmBase, 'memory' | 'memChosen' | 'log' | 'env'> | { memory: keyof GuestMemoryOptions };

/**
 * The VM options, one row each: the commander option (help text, parser,
 * default) and where its value goes in the VmBase. addVmOptions, VM_ONLY
 * (and so the refusal without --vm), vmBase and the CLI reference all read
 * this table; a new VM option is one row here plus the runner's own field.
 */
const VM_OPTIONS: readonly { option: (host: Arch) => Option; into: Into }[] = [
  {
    option: () =>
      new Option(
        '--kernel <version>',
        'Debian kernel: series (5.10, 6.1, 6.12, 7.2), major (7: the newest 7.x) or exact release (guplab kernels lists them); LINE-debug (6.12-debug) builds a debug kernel of that line (KASAN, lockdep, DEBUG_VM, GUP_TEST) once',
      ).default(DEFAULT_KERNEL),
    into: 'kernel',
  },
  {
    option: (host) =>
      new Option('--arch <arch>', `guest architecture, ${ARCH_NAMES.join(' or ')} (default: the host's, ${host}, or a user kernel's own)`).argParser(
        (v: string) => arches(v)[0] as Arch,
      ),
    into: 'arch',
  },
  { option: () => new Option('--kernel-image <path>', 'boot your own kernel image (with --kernel-build) instead of a Debian kernel'), into: 'kernelImage' },
  { option: () => new Option('--kernel-build <dir>', 'build tree (or headers) of --kernel-image, to build guplab.ko against'), into: 'kernelBuild' },
  { option: () => new Option('--timeout <seconds>', 'kill the guest after this long').argParser(positiveInt).default(900), into: 'timeoutSec' },
  { option: () => new Option('--mem <MiB>', 'guest memory').argParser(positiveInt).default(2048), into: 'memMiB' },
  { option: () => new Option('--cpus <n>', 'guest CPUs').argParser(positiveInt).default(2), into: 'cpus' },
  {
    option: () =>
      new Option('--append <arg>', 'extra kernel command line argument (repeatable)').argParser((v: string, acc: string[]) => [...acc, v]).default([]),
    into: 'append',
  },
  { option: () => new Option('--hugepages <n>', 'reserve n 2 MiB hugetlb pages at boot').argParser(positiveInt), into: { memory: 'hugepages' } },
  { option: () => new Option('--hugepages-1g <n>', 'reserve n 1 GiB hugetlb pages at boot').argParser(positiveInt), into: { memory: 'hugepages1g' } },
  { option: () => new Option('--thp <mode>', 'transparent_hugepage= mode').choices(['always', 'madvise', 'never']), into: { memory: 'thp' } },
  { option: () => new Option('--movablecore <size>', 'memory for ZONE_MOVABLE (movablecore=), e.g. 512M').argParser(size), into: { memory: 'movablecore' } },
  {
    option: () =>
      new Option(
        '--pmem <size>',
        'emulated pmem per region (x86_64: memmap= out of --mem; arm64: a device-tree pmem region beyond --mem; needs a kernel with FS_DAX and ZONE_DEVICE), e.g. 256M',
      ).argParser(size),
    into: { memory: 'pmem' },
  },
  {
    option: () => new Option('--dax <fs>', 'make and mount these filesystems on pmem with -o dax=always at /mnt/guplab/<fs>-dax').argParser(fsList),
    into: { memory: 'dax' },
  },
  {
    option: () => new Option('--fs <fs>', 'make these filesystems on virtio disks (ext4, xfs, ext4,xfs) and mount them at /mnt/guplab/<fs>').argParser(fsList),
    into: { memory: 'fs' },
  },
  { option: () => new Option('--verbose', 'print the whole boot console'), into: 'verbose' },
  {
    option: () => new Option('--accel <accel>', 'accelerator (auto: KVM where the CPU and /dev/kvm allow it)').choices(['auto', 'kvm', 'tcg']).default('auto'),
    into: 'accel',
  },
  {
    option: () =>
      new Option('--first-boot-timeout <seconds>', 'retry with TCG when a KVM boot has not reached the command after this long')
        .argParser(positiveInt)
        .default(60),
    into: 'firstBootTimeoutSec',
  },
];

export function addVmOptions(cmd: Command, host: Arch): Command {
  for (const row of VM_OPTIONS) cmd.addOption(row.option(host));
  return cmd;
}

/** Options that only mean something in a VM: every row of VM_OPTIONS. */
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

/** The VM run a command line asks for, less its command: each VM option's value where VM_OPTIONS says it goes. */
export function vmBase(opts: object, cmd: Command): VmBase {
  const values = opts as Record<string, unknown>;
  const base: Record<string, unknown> = { memChosen: cmd.getOptionValueSource('mem') !== 'default', verbose: false };
  const memory: Record<string, unknown> = {};
  for (const row of VM_OPTIONS) {
    const value = values[row.option('x86_64').attributeName()];
    if (value === undefined) continue;
    if (typeof row.into === 'string') base[row.into] = value;
    else memory[row.into.memory] = value;
  }
  return { ...base, memory } as VmBase;
}

/** guplab's version (package.json). */
export const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
