import { describe, expect, it } from 'vitest';
import { buildRootSuite, isNextSeries, pickRelease } from '../../lib/vm/kernel.js';
import { configArch, missingGuestConfig } from '../../lib/vm/userkernel.js';

describe('kernel 7 from trixie-backports or sid', () => {
  const names = [
    'linux-image-7.0.13+deb13-amd64',
    'linux-image-7.3.4+deb13-amd64',
    'linux-image-7.3.4+deb13-cloud-amd64',
    'linux-image-7.2.13+deb14-amd64',
    'linux-image-7.3.4+deb13-arm64-16k',
    'linux-image-7.3.4+deb13-arm64',
  ];
  it('picks the newest generic 7.x image per arch', () => {
    expect(pickRelease('7', 'x86_64', names)).toBe('7.3.4+deb13-amd64');
    expect(pickRelease('7', 'arm64', names)).toBe('7.3.4+deb13-arm64');
    expect(pickRelease('7.2', 'x86_64', names)).toBe('7.2.13+deb14-amd64');
  });
  it('knows which series need the newer archive and which root builds their modules', () => {
    expect(isNextSeries('7')).toBe(true);
    expect(isNextSeries('7.3.4+deb13-amd64')).toBe(true);
    expect(isNextSeries('6.12')).toBe(false);
    expect(buildRootSuite('7.3.4+deb13-amd64')).toBe('trixie');
    expect(buildRootSuite('7.2.13+deb14-arm64')).toBe('sid');
    expect(buildRootSuite('6.12.117+deb12-amd64')).toBeUndefined();
    expect(buildRootSuite('6.1.0-56-amd64')).toBeUndefined();
  });
});

describe('user kernels', () => {
  const full = ['CONFIG_X86_64=y', 'CONFIG_BLK_DEV_INITRD=y', 'CONFIG_DEVTMPFS=y', 'CONFIG_TMPFS=y', 'CONFIG_VIRTIO_PCI=y', 'CONFIG_NET_9P_VIRTIO=y', 'CONFIG_9P_FS=m', 'CONFIG_OVERLAY_FS=m', 'CONFIG_SERIAL_8250_CONSOLE=y'].join('\n');
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
