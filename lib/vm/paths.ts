import path from 'node:path';
import { projectRoot } from '../native.js';

/** Where fetched kernels, built modules and initramfs images are kept. */
export function cacheRoot(): string {
  return path.resolve(process.env.GUPLAB_CACHE ?? path.join(projectRoot, '.cache', 'guplab'));
}

// The arch facts live in arch.ts; re-exported for the modules that import them from here.
export { debArch, hostArch, type Arch } from './arch.js';
