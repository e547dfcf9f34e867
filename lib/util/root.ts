import { fileURLToPath } from 'node:url';
import path from 'node:path';

/** The package's root folder: lib/util/ in the sources, dist/lib/util/ when compiled. */
export const projectRoot = (() => {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (['lib', 'dist', 'util'].includes(path.basename(dir))) dir = path.dirname(dir);
  return dir;
})();
