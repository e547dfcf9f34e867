// QEMU command lines, per arch, and the choice of accelerator.
import { existsSync, readFileSync } from 'node:fs';
import { ARCHES, type Arch } from './arch.js';

export type Accel = 'kvm' | 'tcg';

export interface QemuSpec {
  arch: Arch;
  accel: Accel;
  vmlinuz: string;
  initramfs: string;
  /** Host folder shared read-write as /run/guplab in the guest. */
  ioDir: string;
  memMiB: number;
  cpus: number;
  append: string[];
  /** Folder shared read-only as the top layer of the guest's root (a guest of another arch). */
  guestLayer?: string;
  /**
   * The shares over virtio-fs instead of 9p: the vhost-user sockets of the
   * virtiofsd serving / (hostroot) and ioDir (guplabio). For a kernel without
   * loadable modules (9p and overlay are modules in Debian's kernels; FUSE
   * and VIRTIO_FS are built in). Guest memory is then a shared memfd.
   */
  virtiofs?: { hostroot: string; guplabio: string };
}

/**
 * KVM only where it can work: same arch as the host, /dev/kvm present, and
 * (on x86) the CPU shows vmx or svm. Some hosts expose /dev/kvm without them,
 * and a stock kernel hangs there at boot.
 */
export function chooseAccel(arch: Arch, hostArch: Arch, cpuinfo = readCpuinfo()): Accel {
  if (arch !== hostArch || !existsSync('/dev/kvm')) return 'tcg';
  if (arch === 'x86_64' && !/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) return 'tcg';
  return 'kvm';
}

/**
 * The first-boot watchdog's call on a KVM boot: a guest that has not reached
 * the command within the limit is taken to hang (hosts whose /dev/kvm opens
 * but cannot run a stock kernel) and is retried with TCG.
 */
export function firstBootVerdict(state: { reachedCommand: boolean; elapsedMs: number; limitMs: number }): 'wait' | 'fall-back' {
  return !state.reachedCommand && state.elapsedMs >= state.limitMs ? 'fall-back' : 'wait';
}

function readCpuinfo(): string {
  try {
    return readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    return '';
  }
}

export function qemuBinary(arch: Arch): string {
  return ARCHES[arch].qemu.binary;
}

export function qemuArgs(spec: QemuSpec): string[] {
  const a = ARCHES[spec.arch];
  const machine = [
    '-machine',
    `${a.qemu.machine},accel=${spec.accel}${spec.virtiofs ? ',memory-backend=mem' : ''}`,
    '-cpu',
    spec.accel === 'kvm' ? 'host' : a.qemu.tcgCpu,
  ];
  // vhost-user needs the guest's memory shared with virtiofsd.
  const shares = spec.virtiofs
    ? [
        '-object',
        `memory-backend-memfd,id=mem,size=${spec.memMiB}M,share=on`,
        '-chardev',
        `socket,id=vfs0,path=${spec.virtiofs.hostroot}`,
        '-device',
        'vhost-user-fs-pci,chardev=vfs0,tag=hostroot',
        '-chardev',
        `socket,id=vfs1,path=${spec.virtiofs.guplabio}`,
        '-device',
        'vhost-user-fs-pci,chardev=vfs1,tag=guplabio',
      ]
    : [
        '-virtfs',
        'local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap',
        '-virtfs',
        `local,path=${spec.ioDir},mount_tag=guplabio,security_model=none`,
      ];
  const console = a.console;
  return [
    ...machine,
    '-smp',
    String(spec.cpus),
    '-m',
    `${spec.memMiB}M`,
    '-nodefaults',
    '-no-reboot',
    '-display',
    'none',
    '-net',
    'none',
    '-serial',
    'stdio',
    '-monitor',
    'none',
    '-kernel',
    spec.vmlinuz,
    '-initrd',
    spec.initramfs,
    '-append',
    [`console=${console}`, 'quiet', 'panic=-1', 'oops=panic', ...spec.append].join(' '),
    ...shares,
    ...(spec.guestLayer ? ['-virtfs', `local,path=${spec.guestLayer},mount_tag=guestlayer,security_model=none,readonly=on`] : []),
  ];
}
