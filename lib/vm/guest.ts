// Guest memory options: huge page pools, THP mode, ZONE_MOVABLE, and
// emulated pmem with filesystems mounted on it (DAX or not). Each turns into
// kernel command-line arguments, modules for the initramfs and shell lines
// that prepare the guest before the command runs.
import { execSync } from 'node:child_process';
import { closeSync, ftruncateSync, openSync } from 'node:fs';
import path from 'node:path';
import type { GuestMount } from '../contract.js';
import { ARCHES, type Arch, type PmemRoute } from './arch.js';

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
  /**
   * Boot without pmem and DAX where the kernel cannot do DAX, telling the
   * command why ($GUPLAB_NO_DAX), instead of refusing (the full guest).
   */
  daxOptional?: boolean;
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
  /** RAM QEMU gives beyond the kernel's own (-m is memMiB plus this): pmem regions on the device-tree route. */
  extraMemMiB: number;
  /**
   * pmem-region nodes to add to the device tree (guest physical MiB), on the
   * device-tree route, with the filesystem each holds: made on the host and
   * loaded into the region by QEMU (a guest of another arch has no mkfs).
   */
  pmemRegions: { startMiB: number; sizeMiB: number; fs?: GuestFs }[];
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
  const setup: GuestSetup = { append: [], modules: [], disks: [], script: [], mounts: [], extraMemMiB: 0, pmemRegions: [] };
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

  // DAX filesystems: one emulated pmem region each (the arch's route), mounted -o dax=always.
  const dax = options.dax ?? [];
  if (dax.length && !options.pmem) throw new RangeError('--dax needs --pmem SIZE (the size of each pmem region)');
  if (!options.pmem) return setup;
  const each = sizeMiB(options.pmem);
  const regions = Math.max(1, dax.length);
  const route: PmemRoute = ARCHES[arch].pmem;
  if (each % 2) throw new RangeError(`--pmem ${options.pmem}: pmem regions are mapped in 2 MiB steps (ZONE_DEVICE sub-sections): give an even number of MiB`);
  if (route.route === 'memmap') {
    // Carved out of guest RAM above PMEM_BASE_MIB (arch/x86/kernel/e820.c parse_memmap_one: '!' = legacy pmem).
    const needed = PMEM_BASE_MIB + regions * each + 512;
    if (memMiB < needed)
      throw new RangeError(`--pmem ${options.pmem} x ${regions} needs --mem ${needed} or more (pmem is carved out of guest RAM above ${PMEM_BASE_MIB}M)`);
    for (let i = 0; i < regions; i++) setup.append.push(`memmap=${each}M!${PMEM_BASE_MIB + i * each}M`);
  } else {
    // RAM above the kernel's own: QEMU gets -m memMiB + the regions, mem= keeps the
    // kernel to memMiB (arm64_memblock_init: memblock_mem_limit_remove_map), and a
    // pmem-region node per region (of_pmem) covers what lies beyond.
    setup.extraMemMiB = regions * each;
    setup.append.push(`mem=${memMiB}M`);
    for (let i = 0; i < regions; i++) {
      const fs = dax[i];
      setup.pmemRegions.push({ startMiB: route.ramBaseMiB + memMiB + i * each, sizeMiB: each, ...(fs ? { fs } : {}) });
    }
  }
  addModules(...route.modules);
  for (const [i, fs] of dax.entries()) {
    const device = `/dev/pmem${i}`;
    // memmap=: the region is guest RAM the guest formats; device tree: the host made it (pmemRegions).
    if (route.route === 'memmap') setup.script.push(`${MKFS[fs]} ${device} >/dev/null || { echo "guplab: mkfs.${fs} ${device} failed" >&2; exit 125; }`);
    mount(fs, true, device);
  }
  return setup;
}

/**
 * What a kernel needs for DAX on emulated pmem: FS_DAX, and ZONE_DEVICE (pages
 * for the pmem: before 5.18 FS_DAX could be built without it, as Debian's 5.10
 * arm64 is, and then drivers/dax/super.c __generic_fsdax_supported() refuses
 * every mount, "dax support not enabled"; 5.18 made FS_DAX depend on it), plus
 * the arch route's driver options.
 */
export function daxConfigMissing(config: string, arch: Arch): string[] {
  const needed = ['CONFIG_FS_DAX', 'CONFIG_ZONE_DEVICE', ...ARCHES[arch].pmem.config];
  return needed.filter((opt) => !new RegExp(`^${opt}=[ym]$`, 'm').test(config));
}

/**
 * The memory options to boot with on a kernel of this config: as asked when
 * the kernel can do DAX; else a refusal naming the missing options, or, when
 * DAX was optional (the full guest), the options without pmem and the reason.
 */
export function daxForKernel(memory: GuestMemoryOptions, config: string, arch: Arch, release: string): { memory: GuestMemoryOptions; noDax?: string } {
  if (!memory.pmem) return { memory };
  const missing = daxConfigMissing(config, arch);
  if (!missing.length) return { memory };
  const reason = `kernel ${release} cannot do DAX on emulated pmem: its config lacks ${missing.join(', ')}`;
  if (!memory.daxOptional) {
    throw new RangeError(
      `--pmem/--dax: ${reason}; boot a kernel built with them (Debian's arm64 kernels have them from 6.12 on, x86_64's on every line), or drop --pmem/--dax`,
    );
  }
  const { pmem: _pmem, dax: _dax, ...rest } = memory;
  return { memory: rest, noDax: reason };
}

/** Size of each plain filesystem image (sparse on the host). */
const DISK_MIB = 256;

/** Makes a filesystem image of sizeMiB (sparse) with the host's mkfs. */
export function makeFsImage(fs: GuestFs, image: string, sizeMiB: number): void {
  const fd = openSync(image, 'w');
  ftruncateSync(fd, sizeMiB << 20);
  closeSync(fd);
  try {
    execSync(`${MKFS[fs]} ${image}`, { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    throw new Error(`cannot make the ${fs} image for the guest: install ${fs === 'xfs' ? 'xfsprogs' : 'e2fsprogs'} (scripts/deps.sh does)`, { cause: err });
  }
}

/** Makes the disk images in `dir` with the host's mkfs and returns the QEMU arguments that attach them. */
export function prepareDisks(disks: readonly GuestDisk[], dir: string): string[] {
  return disks.flatMap((disk, i) => {
    const image = path.join(dir, `disk${i}-${disk.fs}.img`);
    makeFsImage(disk.fs, image, disk.sizeMiB);
    return ['-drive', `file=${image},if=none,id=gd${i},format=raw,cache=unsafe`, '-device', `virtio-blk-pci,drive=gd${i}`];
  });
}

/**
 * The guest every probe and kernel test can use: huge pages, ZONE_MOVABLE,
 * plain ext4/xfs, DAX ext4/xfs on emulated pmem where the kernel can do DAX
 * (daxForKernel: every x86_64 line; arm64 from 6.12), memfd_secret.
 */
/** The same on every arch: whether DAX comes is decided when the kernel is known (daxForKernel). */
export function fullGuest(): { memMiB: number; memory: GuestMemoryOptions; append: string[] } {
  const memory: GuestMemoryOptions = { hugepages: 16, movablecore: '256M', fs: ['ext4', 'xfs'], pmem: '128M', dax: ['ext4', 'xfs'], daxOptional: true };
  // cma=0: no default CMA area (Debian arm64 reserves 64M, placed top-down,
  // i.e. inside ZONE_MOVABLE), so that the movable probes ask about
  // ZONE_MOVABLE alone; cma-longterm asks for its own area (cma=SIZE).
  return { memMiB: 3072, memory, append: ['secretmem.enable=1', 'cma=0'] };
}

/**
 * The guest of cma-longterm, which the full guest (cma=0) skips: a CMA area
 * larger than half the free memory, so that the page allocator serves THPs
 * and huge pages from it (__rmqueue()). Lands there on Debian's arm64
 * kernels (arch.ts cmaBoot).
 */
export function cmaGuest(): { memMiB: number; memory: GuestMemoryOptions; append: string[] } {
  return { memMiB: 3072, memory: { hugepages: 16 }, append: ['cma=1800M'] };
}

/** How a report names the cma guest's boot (ProbeResult.boot). */
export function cmaBootText(): string {
  const g = cmaGuest();
  return `a second boot: ${g.append.join(' ')}, ${g.memMiB} MiB, ${g.memory.hugepages} huge pages`;
}
