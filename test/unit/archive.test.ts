import { describe, expect, it } from 'vitest';
import { compareDebVersions, kernelCandidates, kernelsOf, parseStanzas, resolveKernel, type ArchiveKernel } from '../../lib/kernels/archive.js';
import { crossCompileArgs, parseArch, parseArchList } from '../../lib/vm/arch.js';
import { UsageError } from '../../lib/util/args.js';

// Stanzas as Debian's Packages files carry them (fields cut to what is read).
const amd64Text = `Package: linux-image-5.10.0-46-amd64
Version: 5.10.262-1
Depends: kmod, linux-base (>= 4.3~), initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool

Package: linux-headers-5.10.0-46-amd64
Version: 5.10.262-1
Depends: linux-headers-5.10.0-46-common (= 5.10.262-1), linux-kbuild-5.10 (>= 5.10.262-1), linux-compiler-gcc-10-x86

Package: linux-headers-5.10.0-46-common
Version: 5.10.262-1
Architecture: all

Package: linux-kbuild-5.10
Version: 5.10.262-1

Package: linux-image-5.10.0-46-rt-amd64
Version: 5.10.262-1

Package: linux-image-5.10.0-45-amd64
Version: 5.10.260-1

Package: linux-image-5.10.0-45-amd64-unsigned
Version: 5.10.260-1
`;
const amd64 = parseStanzas(amd64Text);

const bpo = parseStanzas(`Package: linux-image-7.3.4+deb13-amd64
Version: 7.3.4-1~bpo13+1
Depends: linux-binary-7.3.4+deb13-amd64 (= 7.3.4-1~bpo13+1), linux-modules-7.3.4+deb13-amd64 (= 7.3.4-1~bpo13+1)

Package: linux-binary-7.3.4+deb13-amd64
Version: 7.3.4-1~bpo13+1

Package: linux-modules-7.3.4+deb13-amd64
Version: 7.3.4-1~bpo13+1

Package: linux-headers-7.3.4+deb13-amd64
Version: 7.3.4-1~bpo13+1
Depends: linux-headers-7.3.4+deb13-common (= 7.3.4-1~bpo13+1), linux-kbuild-7.3.4+deb13 (= 7.3.4-1~bpo13+1)

Package: linux-headers-7.3.4+deb13-common
Version: 7.3.4-1~bpo13+1

Package: linux-kbuild-7.3.4+deb13
Version: 7.3.4-1~bpo13+1

Package: linux-image-6.17.13+deb13-amd64
Version: 6.17.13-1~bpo13+1
Depends: kmod, initramfs-tools (>= 0.120+deb8u2) | linux-initramfs-tool

Package: linux-image-6.17.8+deb13-amd64
Version: 6.17.8-1~bpo13+1

Package: linux-image-7.1.13+deb13-amd64
Version: 7.1.13-1~bpo13+1
Depends: linux-base-7.1.13+deb13-amd64 (= 7.1.13-1~bpo13+1), linux-binary-7.1.13+deb13-amd64 (= 7.1.13-1~bpo13+1), linux-modules-7.1.13+deb13-amd64 (= 7.1.13-1~bpo13+1)

Package: linux-binary-7.1.13+deb13-amd64
Version: 7.1.13-1~bpo13+1
`);

describe('the archive index', () => {
  const bullseye = kernelsOf({ suite: 'bullseye-security', base: 'bullseye' }, 'x86_64', amd64, amd64);
  const backports = kernelsOf({ suite: 'trixie-backports', base: 'trixie' }, 'x86_64', bpo, bpo);
  const all: ArchiveKernel[] = [...bullseye, ...backports];

  it('keeps generic images with their headers, common headers and kbuild, pinned to their versions', () => {
    const k = bullseye.find((x) => x.release === '5.10.0-46-amd64')!;
    expect(k).toMatchObject({ series: '5.10', upstream: '5.10.262', suite: 'bullseye-security', base: 'bullseye' });
    expect(k.packages).toEqual([
      'linux-image-5.10.0-46-amd64=5.10.262-1',
      'linux-headers-5.10.0-46-amd64=5.10.262-1',
      'linux-headers-5.10.0-46-common=5.10.262-1',
      'linux-kbuild-5.10=5.10.262-1',
    ]);
    expect(bullseye.map((x) => x.release)).not.toContain('5.10.0-46-rt-amd64');
    // For another arch than the host's, arch packages are qualified, Architecture: all ones never.
    const arm = kernelsOf({ suite: 'bullseye-security', base: 'bullseye' }, 'arm64', parseStanzas(amd64Text.replaceAll('amd64', 'arm64')), amd64);
    expect(arm.find((x) => x.release === '5.10.0-46-arm64')?.packages).toEqual([
      'linux-image-5.10.0-46-arm64:arm64=5.10.262-1',
      'linux-headers-5.10.0-46-arm64:arm64=5.10.262-1',
      'linux-headers-5.10.0-46-common=5.10.262-1',
      'linux-kbuild-5.10=5.10.262-1',
    ]);
  });

  it('takes 7.x split image parts and marks images whose headers are gone', () => {
    const k = backports.find((x) => x.release === '7.3.4+deb13-amd64')!;
    expect(k.packages).toContain('linux-binary-7.3.4+deb13-amd64=7.3.4-1~bpo13+1');
    expect(k.packages).toContain('linux-modules-7.3.4+deb13-amd64=7.3.4-1~bpo13+1');
    expect(backports.find((x) => x.release === '6.17.13+deb13-amd64')?.unbuildable).toMatch(/only its image/);
    expect(bullseye.find((x) => x.release === '5.10.0-45-amd64')?.unbuildable).toMatch(/only its image/);
  });

  it('resolves a series, a major, an upstream version and an exact release', () => {
    expect(resolveKernel('5.10', 'x86_64', all).release).toBe('5.10.0-46-amd64');
    expect(resolveKernel('7', 'x86_64', all).release).toBe('7.3.4+deb13-amd64');
    expect(resolveKernel('7.3.4+deb13', 'x86_64', all).release).toBe('7.3.4+deb13-amd64');
    expect(resolveKernel('5.10.0-46-amd64', 'x86_64', all).release).toBe('5.10.0-46-amd64');
    expect(resolveKernel('5.10.262', 'x86_64', all).release).toBe('5.10.0-46-amd64');
  });

  it('refuses bad input in one line that names what exists', () => {
    expect(() => resolveKernel('6.5', 'x86_64', all)).toThrow(/^no Debian kernel series 6\.5 for x86_64: the archive has 5\.10, 6\.17, 7\.1, 7\.3 for x86_64/);
    expect(() => resolveKernel('6.17', 'x86_64', all)).toThrow(/image only .*series with headers: 5\.10, 7\.3$/);
    expect(() => resolveKernel('7.3.9+deb13', 'x86_64', all)).toThrow(/not in the archive for x86_64; its series 7\.3 has 7\.3\.4\+deb13$/);
    expect(() => resolveKernel('5.10.0-46-arm64', 'x86_64', all)).toThrow(/built for arm64, not x86_64/);
    for (const bad of ['6.5', '6.17', '7.3.9+deb13']) expect(() => resolveKernel(bad, 'x86_64', all)).toThrow(/^[^\n]+$/);
  });

  it("keeps an image-only kernel's image parts, and says when the archive lost its modules", () => {
    expect(backports.find((x) => x.release === '6.17.13+deb13-amd64')).toMatchObject({
      packages: ['linux-image-6.17.13+deb13-amd64=6.17.13-1~bpo13+1'],
      upstream: '6.17.13',
    });
    expect(backports.find((x) => x.release === '6.17.13+deb13-amd64')?.noModules).toBeUndefined();
    const k = backports.find((x) => x.release === '7.1.13+deb13-amd64')!;
    expect(k.packages).toEqual(['linux-image-7.1.13+deb13-amd64=7.1.13-1~bpo13+1', 'linux-binary-7.1.13+deb13-amd64=7.1.13-1~bpo13+1']);
    expect(k.unbuildable).toMatch(/only its image, not linux-headers-7\.1\.13\+deb13-amd64/);
    expect(k.noModules).toBe('the archive keeps its image but not linux-modules-7.1.13+deb13-amd64');
  });

  it('resolves an image-only line for a boot without the module, and refuses it for one with, naming --no-module', () => {
    expect(resolveKernel('6.17', 'x86_64', all, 'bookworm', { module: false }).release).toBe('6.17.13+deb13-amd64');
    expect(resolveKernel('6.17.8+deb13', 'x86_64', all, 'bookworm', { module: false }).release).toBe('6.17.8+deb13-amd64');
    expect(resolveKernel('7.1', 'x86_64', all, 'bookworm', { module: false }).release).toBe('7.1.13+deb13-amd64');
    // Where a series has headers, a boot without the module takes the same release as one with.
    expect(resolveKernel('5.10', 'x86_64', all, 'bookworm', { module: false }).release).toBe('5.10.0-46-amd64');
    expect(kernelCandidates('6.17', 'x86_64', all, 'bookworm', { module: false }).map((k) => k.release)).toEqual(['6.17.13+deb13-amd64', '6.17.8+deb13-amd64']);
    expect(kernelCandidates('5.10', 'x86_64', all, 'bookworm', { module: false }).map((k) => k.release)).toEqual(['5.10.0-46-amd64']);
    // With the module (the default), both refuse in one line that names the way to boot it.
    expect(() => resolveKernel('6.17', 'x86_64', all)).toThrow(
      /^kernel 6\.17 for x86_64: 6\.17\.8\+deb13, 6\.17\.13\+deb13 are in the archive as image only \(the archive keeps only its image, not linux-headers-6\.17\.8\+deb13-amd64\), so guplab\.ko cannot be built for it: boot it without guplab\.ko with --no-module \(guplab vm run --no-module, guplab consumers check --vm\), or take a series with headers: 5\.10, 7\.3$/,
    );
    expect(() => resolveKernel('6.17.8+deb13', 'x86_64', all, 'bookworm', { module: true })).toThrow(
      /^kernel 6\.17\.8\+deb13-amd64 cannot have guplab\.ko: the archive keeps only its image.*--no-module/,
    );
    // Bad input (exit 2, nothing started), as an unknown series is.
    expect(() => resolveKernel('6.17', 'x86_64', all)).toThrow(UsageError);
    expect(() => resolveKernel('6.5', 'x86_64', all)).toThrow(UsageError);
    expect(() => resolveKernel('5.10.0-45-amd64', 'x86_64', all)).toThrow(/cannot have guplab\.ko.*--no-module/);
    expect(resolveKernel('5.10.0-45-amd64', 'x86_64', all, 'bookworm', { module: false }).release).toBe('5.10.0-45-amd64');
    // What does not exist is refused the same either way.
    expect(() => resolveKernel('6.5', 'x86_64', all, 'bookworm', { module: false })).toThrow(/^no Debian kernel series 6\.5/);
  });

  it('orders Debian versions as dpkg does', () => {
    expect(compareDebVersions('7.3.4-1~bpo13+1', '7.3.4-1')).toBeLessThan(0);
    expect(compareDebVersions('6.12.117-1', '6.12.9-1')).toBeGreaterThan(0);
    expect(compareDebVersions('5.10.262-1', '5.10.262-1')).toBe(0);
    expect(compareDebVersions('1:1.0', '2.0')).toBeGreaterThan(0);
  });
});

describe('the arch table', () => {
  it('makes one set of cross-compile arguments', () => {
    expect(crossCompileArgs('arm64', 'x86_64')).toEqual(['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-']);
    expect(crossCompileArgs('x86_64', 'arm64')).toEqual(['ARCH=x86_64', 'CROSS_COMPILE=x86_64-linux-gnu-']);
    expect(crossCompileArgs('x86_64', 'x86_64')).toEqual([]);
  });
  it('takes Debian names and refuses arches Debian kernels are not booted for', () => {
    expect(parseArch('amd64')).toBe('x86_64');
    expect(parseArchList('x86_64,arm64')).toEqual(['x86_64', 'arm64']);
    expect(() => parseArch('riscv64')).toThrow(/^unknown arch riscv64: guplab boots Debian's x86_64 \(amd64\) and arm64 \(arm64\) kernels$/);
  });
});
