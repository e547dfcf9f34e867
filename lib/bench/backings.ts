// The memory a benchmark case runs on: one table entry per backing. Each maps
// a buffer of the requested length, populated or not. What the machine
// cannot provide (no hugetlb pages reserved, no folder for file/DAX) throws;
// the engine reports it as the case's answer ("not run: ...").
import { rmSync } from 'node:fs';
import path from 'node:path';
import { GuplabError } from '../errors.js';
import { anonHugeKb, mapAnonymous, mapFile, mapHugetlb, mapMemfd, type Mapping } from '../mapping.js';
import { guestMounts } from '../contract.js';

export const BACKING_NAMES = ['4K', 'THP', 'hugetlb', 'memfd', 'file', 'dax'] as const;
export type BackingName = (typeof BACKING_NAMES)[number];

export class BackingUnavailable extends Error {
  override name = 'BackingUnavailable';
}

export interface BackingContext {
  /** Folder for the file backing (any filesystem) and the dax backing (a DAX mount). */
  dir?: string;
}

export interface Backing {
  name: BackingName;
  describe: string;
  map(length: number, populate: boolean, ctx: BackingContext): Mapping;
  /** What the kernel really used, e.g. THP kB. */
  note?(m: Mapping): string;
}

/** The VM's mounts (vm run --fs/--dax): a default folder when --dir is not given. */
function guestMount(dax: boolean): string | undefined {
  return guestMounts().find((m) => m.dax === dax)?.path;
}

function folder(ctx: BackingContext, dax: boolean): string {
  const dir = ctx.dir ?? guestMount(dax);
  if (!dir) {
    throw new BackingUnavailable(
      dax
        ? 'dax needs a folder on a DAX mount: --dir <path> (bench --vm mounts one: --pmem SIZE --dax ext4)'
        : 'file needs a folder: --dir <path> (bench --vm mounts one: --fs ext4)',
    );
  }
  return dir;
}

let fileSeq = 0;

/** A fresh file, unlinked once mapped: the mapping keeps it alive, nothing is left behind. */
function mapTempFile(dir: string, length: number, populate: boolean): Mapping {
  const file = path.join(dir, `guplab-bench-${process.pid}-${fileSeq++}`);
  try {
    return mapFile(file, length, { shared: true, create: true, populate });
  } finally {
    rmSync(file, { force: true });
  }
}

const thpNote = (m: Mapping): string => `AnonHugePages ${anonHugeKb(m)} kB`;

export const BACKINGS: Record<BackingName, Backing> = {
  '4K': {
    name: '4K',
    describe: 'private anonymous, MADV_NOHUGEPAGE',
    map: (length, populate) => mapAnonymous(length, { thp: 'off', populate }),
    note: thpNote,
  },
  THP: {
    name: 'THP',
    describe: 'private anonymous, 2 MiB aligned, MADV_HUGEPAGE',
    map: (length, populate) => mapAnonymous(length, { thp: 'on', populate }),
    note: thpNote,
  },
  hugetlb: {
    name: 'hugetlb',
    describe: 'MAP_HUGETLB, 2 MiB pages (reserve them: bench --vm --hugepages N)',
    map: (length, populate) => mapHugetlb(length, { pageSize: '2M', populate }),
  },
  memfd: {
    name: 'memfd',
    describe: 'memfd (shmem), MAP_SHARED',
    map: (length, populate) => mapMemfd(length, { populate }),
  },
  file: {
    name: 'file',
    describe: 'a file in --dir (page cache), MAP_SHARED',
    map: (length, populate, ctx) => mapTempFile(folder(ctx, false), length, populate),
  },
  dax: {
    name: 'dax',
    describe: 'a file on a DAX mount (--dir), MAP_SHARED: ZONE_DEVICE pages',
    map: (length, populate, ctx) => mapTempFile(folder(ctx, true), length, populate),
  },
};

/** A mapping failure that means "this machine cannot provide it", not a bug. */
export function isUnavailable(err: unknown): err is Error {
  if (err instanceof BackingUnavailable || err instanceof GuplabError) return true;
  // A system error of mmap/open (ENOENT for a missing --dir, EOPNOTSUPP...).
  return err instanceof Error && typeof (err as { code?: unknown }).code === 'string' && typeof (err as { syscall?: unknown }).syscall === 'string';
}

/** Why a backing is unavailable: the error's message and its hint. */
export function unavailableReason(err: Error): string {
  const hint = (err as { hint?: unknown }).hint;
  return typeof hint === 'string' && !err.message.includes(hint) ? `${err.message}: ${hint}` : err.message;
}

/**
 * What a VM needs for these backings, unless chosen on the command line:
 * 2 MiB huge pages for hugetlb, an ext4 disk for file, pmem with DAX ext4 for dax.
 */
export function guestNeeds(backings: readonly BackingName[], maxSize: number): { hugepages?: number; fs?: ['ext4']; pmem?: string; dax?: ['ext4'] } {
  const mib = Math.ceil(maxSize / (1 << 20));
  return {
    ...(backings.includes('hugetlb') ? { hugepages: Math.ceil(mib / 2) + 1 } : {}),
    ...(backings.includes('file') ? { fs: ['ext4'] as ['ext4'] } : {}),
    ...(backings.includes('dax') ? { pmem: `${Math.max(128, 2 * mib + 64)}M`, dax: ['ext4'] as ['ext4'] } : {}),
  };
}

export function release(m: Mapping): void {
  m.close();
}
