// Guest memory options: huge page pools, THP mode, ZONE_MOVABLE, and
// emulated pmem with filesystems mounted on it (DAX or not). Each turns into
// kernel command-line arguments, modules for the initramfs and shell lines
// that prepare the guest before the command runs.
import { execSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import path from 'node:path';
import type { GuestMount } from '../contract.js';
import { ARCHES, type Arch } from './arch.js';

export type GuestFs = 'ext4' | 'xfs';

export interface GuestMemoryOptions {
  /** 2 MiB hugetlb pages to reserve at boot. */
  hugepages?: number;
  /** 1 GiB hugetlb pages to reserve at boot. */
  hugepages1g?: number;
  thp?: 'always' | 'madvise' | 'never';
  /** movablecore= size, e.g. "512M": memory for ZONE_MOVABLE. */
  movablecore?: string;
  /** Size of each emulated pmem region, e.g. "256M". */
  pmem?: string;
  /** Filesystems to create on pmem and mount with -o dax=always, one region each. */
  dax?: GuestFs[];
  /** Filesystems to create on virtio disks (made on the host, so any guest arch) and mount without DAX. */
  fs?: GuestFs[];
}

export type { GuestMount };

/** A disk image the host makes and attaches as a virtio-blk device. */
export interface GuestDisk {
  fs: GuestFs;
  sizeMiB: number;
}

export interface GuestSetup {
  append: string[];
  modules: string[];
  /** Filesystem images to make on the host and attach, in order (/dev/vda, /dev/vdb...). */
  disks: GuestDisk[];
  /** Shell lines run (as root, in the guest root) before the command. */
  script: string[];
  mounts: GuestMount[];
}

// Both checksum metadata with crc32c, which the crypto API would modprobe:
// the guest has no modprobe for its kernel, so it is loaded up front.
const FS_MODULES: Record<GuestFs, string[]> = { ext4: ['crc32c_generic', 'ext4'], xfs: ['crc32c_generic', 'xfs'] };
const MKFS: Record<GuestFs, string> = {
  ext4: 'mkfs.ext4 -q -F -b 4096',
  // reflink and DAX do not mix on older kernels; xfsprogs >= 5.19 refuses
  // filesystems under 300 MB unless run as fstests would (those variables).
  xfs: 'TEST_DIR=1 TEST_DEV=1 QA_CHECK_FS=1 mkfs.xfs -q -f -m reflink=0',
};

/** "256M" / "1G" -> MiB. */
export function sizeMiB(size: string): number {
  const m = /^(\d+)([MG])$/i.exec(size.trim());
  if (!m) throw new RangeError(`size "${size}" must look like 256M or 1G`);
  return Number(m[1]) * (m[2]?.toUpperCase() === 'G' ? 1024 : 1);
}

/** Where emulated pmem starts in guest physical memory. */
const PMEM_BASE_MIB = 1024;

export function guestSetup(options: GuestMemoryOptions, arch: Arch, memMiB: number): GuestSetup {
  const setup: GuestSetup = { append: [], modules: [], disks: [], script: [], mounts: [] };
  if (options.hugepages1g) setup.append.push('hugepagesz=1G', `hugepages=${options.hugepages1g}`);
  if (options.hugepages) setup.append.push('hugepagesz=2M', `hugepages=${options.hugepages}`);
  if (options.thp) setup.append.push(`transparent_hugepage=${options.thp}`);
  if (options.movablecore) setup.append.push(`movablecore=${sizeMiB(options.movablecore)}M`);

  const addModules = (...names: string[]): void => {
    for (const m of names) if (!setup.modules.includes(m)) setup.modules.push(m);
  };
  const mount = (fs: GuestFs, dax: boolean, device: string): void => {
    const path = `/mnt/guplab/${fs}${dax ? '-dax' : ''}`;
    addModules(...FS_MODULES[fs]);
    setup.script.push(
      // No dax= option on a plain disk: kernels without FS_DAX refuse even dax=never.
      `mkdir -p ${path} && mount -t ${fs}${dax ? ' -o dax=always' : ''} ${device} ${path} || { echo "guplab: mount ${device} on ${path} failed" >&2; exit 125; }`,
    );
    setup.mounts.push({ fs, dax, device, path });
  };

  // Plain filesystems: images made on the host, virtio disks in the guest.
  for (const [i, fs] of (options.fs ?? []).entries()) {
    addModules('virtio_blk');
    setup.disks.push({ fs, sizeMiB: DISK_MIB });
    mount(fs, false, `/dev/vd${String.fromCharCode(97 + i)}`);
  }

  // DAX filesystems: emulated pmem carved out of guest RAM, made in the guest.
  const dax = options.dax ?? [];
  if (dax.length && !options.pmem) throw new RangeError('--dax needs --pmem SIZE (the size of each pmem region)');
  if (!options.pmem) return setup;
  if (!ARCHES[arch].memmapPmem) {
    throw new RangeError(`--pmem uses memmap= emulation, which only ${Object.values(ARCHES).filter((a) => a.memmapPmem).map((a) => a.name).join(', ')} kernels have (Debian 6.1 arm64 has no FS_DAX at all): use --arch x86_64`);
  }
  const each = sizeMiB(options.pmem);
  const regions = Math.max(1, dax.length);
  const needed = PMEM_BASE_MIB + regions * each + 512;
  if (memMiB < needed) throw new RangeError(`--pmem ${options.pmem} x ${regions} needs --mem ${needed} or more (pmem is carved out of guest RAM above ${PMEM_BASE_MIB}M)`);
  for (let i = 0; i < regions; i++) setup.append.push(`memmap=${each}M!${PMEM_BASE_MIB + i * each}M`);
  addModules('nd_e820', 'nd_pmem');
  for (const [i, fs] of dax.entries()) {
    const device = `/dev/pmem${i}`;
    setup.script.push(`${MKFS[fs]} ${device} >/dev/null || { echo "guplab: mkfs.${fs} ${device} failed" >&2; exit 125; }`);
    mount(fs, true, device);
  }
  return setup;
}

/** Size of each plain filesystem image (sparse on the host). */
const DISK_MIB = 256;

/** Makes the disk images in `dir` with the host's mkfs and returns the QEMU arguments that attach them. */
export function prepareDisks(disks: readonly GuestDisk[], dir: string): string[] {
  return disks.flatMap((disk, i) => {
    const image = path.join(dir, `disk${i}-${disk.fs}.img`);
    const fd = openSync(image, 'w');
    ftruncateSync(fd, disk.sizeMiB << 20);
    closeSync(fd);
    try {
      execSync(`${MKFS[disk.fs]} ${image}`, { stdio: ['ignore', 'ignore', 'pipe'] });
    } catch (err) {
      throw new Error(`cannot make the ${disk.fs} image for the guest: install ${disk.fs === 'xfs' ? 'xfsprogs' : 'e2fsprogs'} (scripts/deps.sh does)`, { cause: err });
    }
    return ['-drive', `file=${image},if=none,id=gd${i},format=raw,cache=unsafe`, '-device', `virtio-blk-pci,drive=gd${i}`];
  });
}

/**
 * The guest every probe and kernel test can use: huge pages, ZONE_MOVABLE,
 * plain ext4/xfs, DAX ext4/xfs on emulated pmem (x86_64 only), memfd_secret.
 */
export function fullGuest(arch: Arch): { memMiB: number; memory: GuestMemoryOptions; append: string[] } {
  const memory: GuestMemoryOptions = { hugepages: 16, movablecore: '256M', fs: ['ext4', 'xfs'] };
  if (ARCHES[arch].memmapPmem) Object.assign(memory, { pmem: '128M', dax: ['ext4', 'xfs'] });
  return { memMiB: 3072, memory, append: ['secretmem.enable=1'] };
}
