// Debian's linux-source-<series> packages: which one serves a kernel, and
// its source tarball fetched through the archive's private apt
// configuration (lib/kernels/archive.ts). Used by the selftests (a subset of the
// tree) and the debug kernels (the whole tree).
import { rmSync } from 'node:fs';
import path from 'node:path';
import { archiveAptOptions, compareDebVersions, downloadPackages, type ArchiveKernel } from './archive.js';
import { run } from '../vm/exec.js';

/** A linux-source package of the archive: name=version. */
export interface SourcePackage {
  name: string;
  version: string;
  /** True when it is the kernel's own version (else the nearest the archive has, said in the report). */
  exact: boolean;
}

/**
 * The linux-source package for a kernel from apt-cache's `madison` lines
 * (`pkg | version | source`): the kernel's own version when the archive has
 * it, else the newest of the same line; a one-line error naming the lines
 * that have a source package when there is none. Pure.
 */
export function pickLinuxSource(series: string, kernelVersion: string, madison: string, linesWithSource: readonly string[]): SourcePackage {
  const name = `linux-source-${series}`;
  const versions = madison
    .split('\n')
    .map((l) => l.split('|').map((x) => x.trim()))
    .filter((f) => f[0] === name && f[1])
    .map((f) => f[1]!);
  if (!versions.length) {
    const have = linesWithSource.length ? linesWithSource.join(', ') : 'none';
    throw new Error(
      `no ${name} package in Debian's archive, so the ${series} line cannot be built from source: pass --kernel one of the lines that have one (${have})`,
    );
  }
  if (versions.includes(kernelVersion)) return { name, version: kernelVersion, exact: true };
  const newest = [...new Set(versions)].sort(compareDebVersions).at(-1)!;
  return { name, version: newest, exact: false };
}

function aptCache(gen: string, args: readonly string[]): string {
  return run('apt-cache', [...archiveAptOptions(gen), ...args]);
}

/** The linux-source package of a kernel, asked of the archive's lists (no download). */
export function linuxSourceFor(entry: Pick<ArchiveKernel, 'series' | 'version'>, gen: string, pick = pickLinuxSource): SourcePackage {
  const madison = aptCache(gen, ['madison', `linux-source-${entry.series}`]);
  const lines = () =>
    aptCache(gen, ['pkgnames', 'linux-source-'])
      .split('\n')
      .map((l) => /^linux-source-(\d+\.\d+)$/.exec(l.trim())?.[1])
      .filter((x): x is string => Boolean(x))
      .sort((a, b) => compareDebVersions(a, b));
  return pick(entry.series, entry.version, madison, madison.includes(`linux-source-${entry.series}`) ? [] : lines());
}

/**
 * Downloads a linux-source package into dir and takes its tarball out
 * (usr/src/linux-source-<series>.tar.xz); returns the tarball's path.
 */
export function fetchSourceTarball(pkg: SourcePackage, gen: string, dir: string): string {
  const debs = path.join(dir, 'debs');
  const [deb] = downloadPackages(gen, [`${pkg.name}=${pkg.version}`], debs);
  const series = pkg.name.replace(/^linux-source-/, '');
  const tarball = `usr/src/linux-source-${series}.tar.xz`;
  run('sh', [
    '-c',
    'dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" "./$2" 2>/dev/null || dpkg-deb --fsys-tarfile "$0" | tar -x -C "$1" "$2"',
    deb!,
    dir,
    tarball,
  ]);
  rmSync(debs, { recursive: true, force: true });
  return path.join(dir, tarball);
}
