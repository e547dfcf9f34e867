import { describe, expect, it } from 'vitest';
import { buildModule, buildRootSuite, checkKernelSpecs, ensureKernel, kernelSuite } from '../../lib/kernels/kernel.js';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runningVersion } from '../../lib/check/expectations.js';
import { ENV } from '../../lib/contract.js';
import { kernelUpstream, makefileVersion } from '../../lib/kernels/upstream.js';
import { configArch, missingGuestConfig, userKernel } from '../../lib/kernels/userkernel.js';

describe('build roots', () => {
  it("builds where the kernel's Debian release is newer than the host's in that release's root", () => {
    expect(buildRootSuite('7.3.4+deb13-amd64', 12)).toBe('trixie');
    expect(buildRootSuite('6.12.117+deb13-arm64', 12)).toBe('trixie');
    expect(buildRootSuite('6.12.117+deb12-amd64', 12)).toBeUndefined();
    expect(buildRootSuite('6.1.0-56-amd64', 12)).toBeUndefined();
    // bullseye's headers name gcc-10, which bookworm lacks.
    expect(buildRootSuite('5.10.0-46-amd64', 12)).toBe('bullseye');
    expect(kernelSuite('5.10.0-46-arm64')).toBe('bullseye');
    expect(buildRootSuite('7.3.4+deb13-amd64', 13)).toBeUndefined();
  });
});

describe('user kernels', () => {
  const full = [
    'CONFIG_X86_64=y',
    'CONFIG_BLK_DEV_INITRD=y',
    'CONFIG_DEVTMPFS=y',
    'CONFIG_TMPFS=y',
    'CONFIG_VIRTIO_PCI=y',
    'CONFIG_NET_9P_VIRTIO=y',
    'CONFIG_9P_FS=m',
    'CONFIG_OVERLAY_FS=m',
    'CONFIG_SERIAL_8250_CONSOLE=y',
  ].join('\n');
  const dep = ['kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko', 'kernel/fs/overlayfs/overlay.ko:', 'kernel/net/9p/9pnet.ko:'].join('\n');
  it('reads the arch from .config', () => {
    expect(configArch(full)).toBe('x86_64');
    expect(configArch('CONFIG_ARM64=y\nCONFIG_64BIT=y')).toBe('arm64');
    expect(configArch('CONFIG_RISCV=y')).toBeUndefined();
  });
  it('accepts built-in drivers and modules that were built', () => {
    expect(missingGuestConfig(full, dep)).toEqual([]);
  });
  it('names each option that is missing, or a module that was not built', () => {
    const config = full.replace('CONFIG_DEVTMPFS=y', '# CONFIG_DEVTMPFS is not set');
    expect(missingGuestConfig(config, 'kernel/fs/overlayfs/overlay.ko:')).toEqual(['CONFIG_DEVTMPFS=y', 'CONFIG_9P_FS (=y, or =m with 9p.ko built)']);
  });
  it('needs the serial console of the arch, where the runner reads the guest', () => {
    expect(missingGuestConfig(full.replace('CONFIG_SERIAL_8250_CONSOLE=y', ''), dep)).toEqual(['CONFIG_SERIAL_8250_CONSOLE=y']);
    const arm = full.replace('CONFIG_X86_64=y', 'CONFIG_ARM64=y');
    expect(missingGuestConfig(arm, dep)).toEqual(['CONFIG_SERIAL_AMBA_PL011_CONSOLE=y']);
  });
});

describe('upstream version (lib/kernels/upstream.ts)', () => {
  const files: Record<string, string> = {
    // Debian's arch headers include the common headers, where the version is.
    '/h/linux-headers-6.1.0-57-amd64/Makefile': 'include /h/linux-headers-6.1.0-57-common/Makefile\n',
    '/h/linux-headers-6.1.0-57-common/Makefile': '# SPDX-License-Identifier: GPL-2.0\nVERSION = 6\nPATCHLEVEL = 1\nSUBLEVEL = 192\nEXTRAVERSION =\n',
    '/h/linux-headers-7.3.4+deb13-amd64/Makefile': 'KBUILD_OUTPUT=/h/linux-headers-7.3.4+deb13-amd64\ninclude /h/linux-headers-7.3.4+deb13-common/Makefile\n',
    '/h/linux-headers-7.3.4+deb13-common/Makefile': 'VERSION = 7\nPATCHLEVEL = 3\nSUBLEVEL = 4\nEXTRAVERSION =\n',
    '/h/loop/Makefile': 'include /h/loop/Makefile\n',
  };
  const read = (f: string): string | undefined => files[f];

  it("reads VERSION.PATCHLEVEL.SUBLEVEL through Debian's include, where the release string says 6.1.0", () => {
    expect(makefileVersion('/h/linux-headers-6.1.0-57-amd64/Makefile', read)).toBe('6.1.192');
    expect(makefileVersion('/h/linux-headers-7.3.4+deb13-amd64/Makefile', read)).toBe('7.3.4');
    expect(makefileVersion('/h/none/Makefile', read)).toBeUndefined();
    expect(makefileVersion('/h/loop/Makefile', read)).toBeUndefined();
  });

  it('refuses a kernel whose build tree does not say its version, naming the release', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-upstream-'));
    try {
      expect(() => kernelUpstream('6.1.0-57-amd64', dir)).toThrow(
        /kernel 6\.1\.0-57-amd64: its upstream version cannot be read \(no VERSION\/PATCHLEVEL\/SUBLEVEL in .*Makefile/,
      );
      writeFileSync(path.join(dir, 'Makefile'), 'VERSION = 6\nPATCHLEVEL = 2\nSUBLEVEL = 12\n');
      expect(() => kernelUpstream('6.1.0-57-amd64', dir)).toThrow(/says 6\.2\.12, which is not the release's series/);
      expect(kernelUpstream('6.2.12-custom', dir)).toBe('6.2.12');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a --kernel-build without a readable version before anything boots', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-upstream-'));
    try {
      mkdirSync(path.join(dir, 'include', 'config'), { recursive: true });
      writeFileSync(path.join(dir, 'include', 'config', 'kernel.release'), '6.13.0-rc1+\n');
      writeFileSync(path.join(dir, '.config'), 'CONFIG_X86_64=y\n');
      writeFileSync(path.join(dir, 'bzImage'), '');
      expect(() => userKernel(path.join(dir, 'bzImage'), dir, undefined, () => undefined)).toThrow(
        /kernel 6\.13\.0-rc1\+: its upstream version cannot be read/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('is what a guest matches expectations against, when the host booted that release', () => {
    const env = { [ENV.release]: '6.1.0-57-amd64', [ENV.upstream]: '6.1.192' };
    expect(runningVersion('6.1.0-57-amd64', '', env)).toBe('6.1.192');
    // Another kernel than the host booted (or none): /proc/version decides.
    expect(runningVersion('6.1.0-40-amd64', 'Linux version 6.1.0-40-amd64 (gcc-12 (Debian 12.2.0-14) 12.2.0) #1 SMP Debian 6.1.153-1', env)).toBe('6.1.153');
    expect(runningVersion('6.1.0-57-amd64', '', {})).toBe('6.1.0');
  });
});

describe('image-only kernels in the cache (no headers)', () => {
  // A release unpacked from an image-only archive entry: image and modules, no
  // linux-headers, and the upstream version recorded from the package version.
  const release = '6.16.12+deb13-amd64';
  const withCache = (fn: (cache: string) => void): void => {
    const cache = mkdtempSync(path.join(os.tmpdir(), 'guplab-cache-'));
    const saved = process.env.GUPLAB_CACHE;
    process.env.GUPLAB_CACHE = cache;
    try {
      const root = path.join(cache, 'kernels', release, 'root');
      mkdirSync(path.join(root, 'lib', 'modules', release), { recursive: true });
      writeFileSync(path.join(root, 'upstream'), '6.16.12\n');
      writeFileSync(path.join(cache, 'kernels', release, 'complete'), `linux-image-${release}=6.16.12-1~bpo13+1\n`);
      fn(cache);
    } finally {
      if (saved === undefined) delete process.env.GUPLAB_CACHE;
      else process.env.GUPLAB_CACHE = saved;
      rmSync(cache, { recursive: true, force: true });
    }
  };

  it('boot without the module, with the upstream version from the archive entry, said so', () => {
    withCache(() => {
      const logged: string[] = [];
      const k = ensureKernel(release, 'x86_64', (m) => logged.push(m), { module: false });
      expect(k).toMatchObject({ release, upstream: '6.16.12', imageOnly: `no linux-headers-${release} in the archive` });
      expect(logged.join('\n')).toMatch(/upstream 6\.16\.12 from the archive's package version \(image only/);
      expect(() => buildModule(k, () => undefined)).toThrow(/cannot have guplab\.ko: .*--no-module/);
    });
  });

  it('are refused for a boot with the module before anything boots, naming --no-module', () => {
    withCache(() => {
      expect(() => ensureKernel(release, 'x86_64', () => undefined)).toThrow(
        `kernel ${release} is cached as image only (the archive has no linux-headers-${release}), so guplab.ko cannot be built for it: boot it without guplab.ko with --no-module (guplab vm run --no-module, guplab consumers check --vm)`,
      );
      expect(() => checkKernelSpecs([release], ['x86_64'], () => undefined)).toThrow(/cached as image only.*--no-module/);
      expect(() => checkKernelSpecs([release], ['x86_64'], () => undefined, { module: false })).not.toThrow();
    });
  });

  it('without the recorded version and without headers, are refused as any kernel whose version cannot be read', () => {
    withCache((cache) => {
      rmSync(path.join(cache, 'kernels', release, 'root', 'upstream'));
      expect(() => ensureKernel(release, 'x86_64', () => undefined, { module: false })).toThrow(/its upstream version cannot be read/);
    });
  });
});
