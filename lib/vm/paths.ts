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

// The arch facts live in arch.ts; re-exported for the modules that import them from here.
export { debArch, hostArch, type Arch } from './arch.js';
