// The VM options table (lib/commands/options.ts VM_OPTIONS): what a command line's VM options become.
import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addVmOptions, VM_ONLY, vmBase } from '../../lib/commands/options.js';
import { DEFAULT_KERNEL } from '../../lib/kernels/kernel.js';

function parsed(args: string[]): ReturnType<typeof vmBase> {
  const cmd = addVmOptions(new Command('t').exitOverride(), 'x86_64');
  cmd.parse(args, { from: 'user' });
  return vmBase(cmd.opts(), cmd);
}

describe('VM options', () => {
  it('gives the defaults, and no guest memory, when none is given', () => {
    expect(parsed([])).toEqual({
      kernel: DEFAULT_KERNEL,
      timeoutSec: 900,
      memMiB: 2048,
      memChosen: false,
      cpus: 2,
      append: [],
      memory: {},
      verbose: false,
      accel: 'auto',
      firstBootTimeoutSec: 60,
    });
  });
  it('puts each option where the runner reads it: run fields, and guest memory under memory', () => {
    const base = parsed([
      '--kernel=7.3',
      '--arch=arm64',
      '--mem=3072',
      '--append=a=1',
      '--append=b',
      '--hugepages=16',
      '--hugepages-1g=1',
      '--thp=never',
      '--movablecore=256M',
      '--pmem=128M',
      '--dax=ext4,xfs',
      '--fs=xfs',
      '--verbose',
      '--accel=tcg',
      '--timeout=30',
    ]);
    expect(base).toMatchObject({
      kernel: '7.3',
      arch: 'arm64',
      memMiB: 3072,
      memChosen: true,
      append: ['a=1', 'b'],
      verbose: true,
      accel: 'tcg',
      timeoutSec: 30,
    });
    expect(base.memory).toEqual({ hugepages: 16, hugepages1g: 1, thp: 'never', movablecore: '256M', pmem: '128M', dax: ['ext4', 'xfs'], fs: ['xfs'] });
  });
  it('refuses a bad value with the parser of its row', () => {
    expect(() => parsed(['--dax=btrfs'])).toThrow(/unknown filesystem "btrfs"/);
    expect(() => parsed(['--movablecore=lots'])).toThrow(/expected a size like 256M or 1G/);
  });
  it('lists every row as VM-only', () => {
    expect(VM_ONLY.map((o) => o.long)).toContain('--first-boot-timeout');
    expect(VM_ONLY).toHaveLength(18);
  });
});
