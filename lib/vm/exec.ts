import { execFileSync, type ExecFileSyncOptions } from 'node:child_process';
import { missingProgramHint } from '../util/programs.js';

/** Runs a command, returning stdout; on failure the Error names the command and shows its stderr tail. */
export function run(file: string, args: readonly string[], options: ExecFileSyncOptions = {}): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20, ...options }).toString();
  } catch (err) {
    const e = err as { stderr?: Buffer | string; stdout?: Buffer | string; status?: number | null; code?: string };
    if (e.code === 'ENOENT') throw new Error(missingProgramHint(file), { cause: err });
    const tail = `${e.stdout ?? ''}${e.stderr ?? ''}`.trim().split('\n').slice(-25).join('\n');
    throw new Error(`\`${file} ${args.join(' ')}\` failed (exit ${e.status ?? '?'}):\n${tail}`, { cause: err });
  }
}
