import path from 'node:path';
import { projectRoot } from '../util/root.js';

/** Where fetched kernels, built modules and initramfs images are kept. */
export function cacheRoot(): string {
  return path.resolve(process.env.GUPLAB_CACHE ?? path.join(projectRoot, '.cache', 'guplab'));
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
