// The memory a benchmark case runs on: one entry per backing. Each maps a
// buffer of the requested length, populated or not; where the machine cannot
// provide it (no hugetlb pages reserved, no directory given) it throws
// BackingUnavailable, which the engine reports as the case's answer.
import * as mapping from '../mapping.js';
import { anonHugeKb, mapAnonymous, type Mapping } from '../mapping.js';

export const BACKING_NAMES = ['4K', 'THP', 'hugetlb', 'memfd', 'file', 'dax'] as const;
export type BackingName = (typeof BACKING_NAMES)[number];

export class BackingUnavailable extends Error {
  override name = 'BackingUnavailable';
}

export interface BackingContext {
  /** Folder for file-backed buffers (file: any filesystem; dax: a DAX mount). */
  dir?: string;
}

export interface Backing {
  name: BackingName;
  describe: string;
  /** Length granule of the backing (hugetlb: 2 MiB). */
  align: number;
  map(length: number, populate: boolean, ctx: BackingContext): Mapping;
  /** Something to record about what the kernel really used, e.g. THP kB. */
  note?(m: Mapping): string;
}

type Mapper = (length: number, options: Record<string, unknown>) => Mapping;
type FileMapper = (path: string, length: number, options: Record<string, unknown>) => Mapping;

/** A mapping function of lib/mapping.ts that may not exist in this build yet. */
function mapper<T>(name: string): T {
  const fn = (mapping as Record<string, unknown>)[name];
  if (typeof fn !== 'function') throw new BackingUnavailable(`${name} is not available in this build of guplab`);
  return fn as T;
}

function needDir(ctx: BackingContext, what: string): string {
  if (!ctx.dir) throw new BackingUnavailable(`${what} needs a folder: pass --dir <path>${what === 'dax' ? ' on a DAX mount (in the VM: --pmem SIZE --dax ext4)' : ''}`);
  return ctx.dir;
}

let fileSeq = 0;
function tempFile(dir: string, tag: string): string {
  return `${dir}/guplab-bench-${process.pid}-${tag}-${fileSeq++}`;
}

const thpNote = (m: Mapping): string => `AnonHugePages ${anonHugeKb(m)} kB`;

export const BACKINGS: Record<BackingName, Backing> = {
  '4K': {
    name: '4K',
    describe: 'private anonymous, MADV_NOHUGEPAGE',
    align: 4096,
    map: (length, populate) => mapAnonymous(length, { thp: 'off', populate }),
    note: thpNote,
  },
  THP: {
    name: 'THP',
    describe: 'private anonymous, 2 MiB aligned, MADV_HUGEPAGE',
    align: 2 << 20,
    map: (length, populate) => mapAnonymous(length, { thp: 'on', populate }),
    note: thpNote,
  },
  hugetlb: {
    name: 'hugetlb',
    describe: 'MAP_HUGETLB 2 MiB pages (needs reserved huge pages: vm run --hugepages N)',
    align: 2 << 20,
    map: (length, populate) => mapper<Mapper>('mapHugetlb')(length, { pageSize: '2M', populate }),
  },
  memfd: {
    name: 'memfd',
    describe: 'memfd (shmem), MAP_SHARED',
    align: 4096,
    map: (length, populate) => mapper<Mapper>('mapMemfd')(length, { populate }),
  },
  file: {
    name: 'file',
    describe: 'a file in --dir, MAP_SHARED (page cache)',
    align: 4096,
    map: (length, populate, ctx) =>
      mapper<FileMapper>('mapFile')(tempFile(needDir(ctx, 'file'), 'file'), length, { shared: true, create: true, populate }),
  },
  dax: {
    name: 'dax',
    describe: 'a file on a DAX mount (--dir), MAP_SHARED (ZONE_DEVICE pages)',
    align: 2 << 20,
    map: (length, populate, ctx) =>
      mapper<FileMapper>('mapFile')(tempFile(needDir(ctx, 'dax'), 'dax'), length, { shared: true, create: true, populate }),
  },
};

/** Unmaps now where the mapping can (Mapping.close), else leaves it to the collector. */
export function release(m: Mapping): void {
  const close = (m as { close?: () => void }).close;
  if (typeof close === 'function') close.call(m);
}
