import { describe, expect, it } from 'vitest';
import { buildRootSuite, kernelSuite } from '../../lib/kernels/kernel.js';
import { configArch, missingGuestConfig } from '../../lib/kernels/userkernel.js';

describe('build roots', () => {
  it('builds where the kernel\'s Debian release is newer than the host\'s in that release\'s root', () => {
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
