// The cache of everything guplab fetches or builds (kernels, modules,
// initramfs images, roots, guest layers, logs): where it is, and how an
// entry is made so that no half-built one is ever taken for done.
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
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

type Log = (msg: string) => void;

/**
 * Runs `build(tmp)` into a fresh temporary folder and renames it to `dir`,
 * unless `dir` exists already: a half-built folder is never taken for a
 * cached one, and two runs building at once do not clash.
 */
export function cachedDir(dir: string, what: string, log: Log, build: (tmp: string) => void): string {
  if (existsSync(dir)) {
    log(`cached: ${what} (${dir})`);
    return dir;
  }
  log(`building: ${what}`);
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    build(tmp);
    try {
      renameSync(tmp, dir);
    } catch (err) {
      // Another run finished the same folder first: use theirs.
      if (!existsSync(dir)) throw err;
      rmSync(tmp, { recursive: true, force: true });
    }
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    throw err;
  }
  return dir;
}
