import os from 'node:os';
import path from 'node:path';

/**
 * Where fetched kernels, built modules and initramfs images are kept:
 * $GUPLAB_CACHE, else $XDG_CACHE_HOME/guplab (~/.cache/guplab), shared by
 * every checkout and installed copy (every entry is made in a temporary
 * folder and renamed into place, so two runs at once are safe).
 */
export function cacheRoot(): string {
  if (process.env.GUPLAB_CACHE) return path.resolve(process.env.GUPLAB_CACHE);
  const xdg = process.env.XDG_CACHE_HOME;
  return path.join(xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), '.cache'), 'guplab');
}

export type Arch = 'x86_64' | 'arm64';

/** Debian's name for an arch. */
export function debArch(arch: Arch): string {
  return arch === 'x86_64' ? 'amd64' : 'arm64';
}

export function hostArch(): Arch {
  if (process.arch === 'x64') return 'x86_64';
  if (process.arch === 'arm64') return 'arm64';
  throw new Error(`unsupported host arch ${process.arch}: guplab runs on x86_64 and arm64`);
}
