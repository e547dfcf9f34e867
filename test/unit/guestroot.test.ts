import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { cachedDir } from '../../lib/kernels/cache.js';
import { appletLinks, ELF_MACHINE, elfMachine, mergeUsr, nativePackagesFor } from '../../lib/vm/guestroot.js';
import { firstBootVerdict, qemuArgs } from '../../lib/vm/qemu.js';
import { kernelTrouble, warningForms } from '../../lib/contract.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-guestroot-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('arm64 userland layer', () => {
  it('links every busybox applet under usr/, once, and nothing odd', () => {
    const list = 'bin/sh\nusr/bin/env\nsbin/insmod\nbin/sh\nusr/sbin/chroot\n\nlinuxrc\nbin/../x\n';
    expect(appletLinks(list)).toEqual(['usr/bin/sh', 'usr/bin/env', 'usr/sbin/insmod', 'usr/sbin/chroot']);
  });

  it('merges bin, sbin and lib into usr/ and leaves symlinks, as the host root has', () => {
    mkdirSync(path.join(dir, 'lib', 'aarch64-linux-gnu'), { recursive: true });
    writeFileSync(path.join(dir, 'lib', 'aarch64-linux-gnu', 'libc.so.6'), 'c');
    mkdirSync(path.join(dir, 'bin'));
    writeFileSync(path.join(dir, 'bin', 'busybox'), 'b');
    mkdirSync(path.join(dir, 'usr', 'bin'), { recursive: true });
    writeFileSync(path.join(dir, 'usr', 'bin', 'other'), 'o');
    mergeUsr(dir);
    expect(readlinkSync(path.join(dir, 'lib'))).toBe('usr/lib');
    expect(readlinkSync(path.join(dir, 'bin'))).toBe('usr/bin');
    expect(readFileSync(path.join(dir, 'usr', 'lib', 'aarch64-linux-gnu', 'libc.so.6'), 'utf8')).toBe('c');
    expect(readFileSync(path.join(dir, 'usr', 'bin', 'busybox'), 'utf8')).toBe('b');
    expect(readFileSync(path.join(dir, 'usr', 'bin', 'other'), 'utf8')).toBe('o');
    expect(existsSync(path.join(dir, 'sbin'))).toBe(false);
    mergeUsr(dir); // idempotent
    expect(lstatSync(path.join(dir, 'lib')).isSymbolicLink()).toBe(true);
  });

  it('tells ELF machines apart', () => {
    const host = process.arch === 'arm64' ? ELF_MACHINE.arm64 : ELF_MACHINE.x86_64;
    expect(elfMachine(process.execPath)).toBe(host);
    writeFileSync(path.join(dir, 'script'), '#!/bin/sh\n'.padEnd(40, ' '));
    expect(elfMachine(path.join(dir, 'script'))).toBeUndefined();
  });
});

describe('native npm packages for the guest arch', () => {
  const lock = {
    packages: {
      '': {},
      'node_modules/@rollup/rollup-linux-x64-gnu': { version: '4.1.0', cpu: ['x64'], os: ['linux'] },
      'node_modules/@rollup/rollup-linux-arm64-gnu': { version: '4.1.0', cpu: ['arm64'], os: ['linux'] },
      'node_modules/@rollup/rollup-linux-x64-musl': { version: '4.1.0', cpu: ['x64'], os: ['linux'] },
      'node_modules/@rollup/rollup-linux-arm64-musl': { version: '4.1.0', cpu: ['arm64'], os: ['linux'] },
      'node_modules/@esbuild/linux-x64': { version: '0.28.2', cpu: ['x64'], os: ['linux'] },
      'node_modules/@esbuild/linux-arm64': { version: '0.28.2', cpu: ['arm64'], os: ['linux'] },
      'node_modules/@esbuild/darwin-x64': { version: '0.28.2', cpu: ['x64'], os: ['darwin'] },
    },
  };
  it('maps each installed host package to its arm64 twin at the locked version', () => {
    expect(nativePackagesFor(lock, ['@rollup/rollup-linux-x64-gnu', '@esbuild/linux-x64', '@esbuild/darwin-x64'], 'x86_64', 'arm64')).toEqual([
      { name: '@rollup/rollup-linux-arm64-gnu', version: '4.1.0' },
      { name: '@esbuild/linux-arm64', version: '0.28.2' },
    ]);
  });
  it('says what to do when the lock file lacks the twin', () => {
    const partial = { packages: { 'node_modules/@esbuild/linux-x64': { version: '1', cpu: ['x64'], os: ['linux'] } } };
    expect(() => nativePackagesFor(partial, ['@esbuild/linux-x64'], 'x86_64', 'arm64')).toThrow(/no arm64 variant of @esbuild\/linux-x64: run npm install/);
  });
});

describe('cached folders', () => {
  it('builds once, then reports the cached folder without building', () => {
    const logs: string[] = [];
    let builds = 0;
    const build = (tmp: string): void => {
      builds++;
      writeFileSync(path.join(tmp, 'f'), 'x');
    };
    const target = path.join(dir, 'thing');
    cachedDir(target, 'thing', (m) => logs.push(m), build);
    cachedDir(target, 'thing', (m) => logs.push(m), build);
    expect(builds).toBe(1);
    expect(logs[0]).toMatch(/^building: thing/);
    expect(logs[1]).toMatch(/^cached: thing/);
    expect(readFileSync(path.join(target, 'f'), 'utf8')).toBe('x');
  });
  it('leaves nothing behind when the build fails, so the next run retries', () => {
    const target = path.join(dir, 'broken');
    expect(() =>
      cachedDir(
        target,
        'broken',
        () => {},
        (tmp) => {
          writeFileSync(path.join(tmp, 'half'), 'x');
          throw new Error('boom');
        },
      ),
    ).toThrow('boom');
    expect(existsSync(target)).toBe(false);
    expect(existsSync(`${target}.tmp-${process.pid}`)).toBe(false);
  });
});

describe('KVM first-boot watchdog', () => {
  it('waits while the limit has not passed or once the command started', () => {
    expect(firstBootVerdict({ reachedCommand: false, elapsedMs: 59_999, limitMs: 60_000 })).toBe('wait');
    expect(firstBootVerdict({ reachedCommand: true, elapsedMs: 600_000, limitMs: 60_000 })).toBe('wait');
  });
  it('falls back to TCG when the guest never reached the command in time', () => {
    expect(firstBootVerdict({ reachedCommand: false, elapsedMs: 60_000, limitMs: 60_000 })).toBe('fall-back');
  });
});

describe('guest layer share', () => {
  const spec = { vmlinuz: '/k', initramfs: '/i', ioDir: '/io', memMiB: 512, cpus: 1, append: [] };
  it('is shared read-only as guestlayer only when given', () => {
    expect(qemuArgs({ ...spec, arch: 'arm64', accel: 'tcg' }).join(' ')).not.toContain('guestlayer');
    const args = qemuArgs({ ...spec, arch: 'arm64', accel: 'tcg', guestLayer: '/layer' });
    expect(args.find((a) => a.includes('mount_tag=guestlayer'))).toBe('local,path=/layer,mount_tag=guestlayer,security_model=none,readonly=on');
  });
});

describe('kernel 7.x WARNING layout', () => {
  const line = '[  191.595828] WARNING: mm/gup.c:2525 at get_user_pages_fast+0x4b/0x50, CPU#1: node (vitest 1)/156';
  it('is matched by patterns written for the older layout', () => {
    expect(warningForms(line)[1]).toBe('WARNING: CPU: 1 PID: 156 at mm/gup.c:2525 get_user_pages_fast+0x4b/0x50');
    expect(kernelTrouble(line, [/at mm\/gup\.c/])).toEqual([]);
    expect(kernelTrouble(line, [/at mm\/memory\.c/])).toEqual([line]);
  });
  it('leaves older lines as they are', () => {
    const old = '[ 2.0] WARNING: CPU: 0 PID: 1 at mm/gup.c:1200 __get_user_pages+0x1/0x2';
    expect(warningForms(old)).toEqual([old]);
    expect(kernelTrouble(old, [/at mm\/gup\.c/])).toEqual([]);
  });
});
