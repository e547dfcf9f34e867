import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Writes a file so that readers see the old content or the whole new one, never a part. */
export function writeFileAtomic(file: string, data: string | Buffer): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.tmp`); // see isAtomicTemp
  try {
    writeFileSync(tmp, data);
    renameSync(tmp, file);
  } catch (err) {
    rmSync(tmp, { force: true });
    throw err;
  }
}

/** Whether a file name is a writeFileAtomic temporary: a write that never completed if it is still there. */
export function isAtomicTemp(name: string): boolean {
  return /^\..+\.\d+\.tmp$/.test(name);
}
