// The kernel's own style check on kmod/: scripts/checkpatch.pl (and the
// files it reads beside it) taken once from Debian's linux-source of one
// line into the cache, then run with --no-tree on the module's sources.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { requireProgram } from '../util/programs.js';
import { cacheRoot, cachedDir } from '../kernels/cache.js';
import { run } from '../vm/exec.js';
import { resolveArchiveKernel } from '../kernels/kernel.js';
import { fetchSourceTarball, linuxSourceFor } from '../kernels/linuxsource.js';

/** The line whose checkpatch.pl judges kmod/: the newest Debian ships a linux-source for. */
export const CHECKPATCH_LINE = '7.3';
const MEMBERS = ['scripts/checkpatch.pl', 'scripts/spelling.txt', 'scripts/const_structs.checkpatch'];

/**
 * Types checkpatch reports that are deliberate here, each for a reason that
 * holds for the whole module (anything else fails the check).
 */
export const CHECKPATCH_IGNORED: Readonly<Record<string, string>> = {
  COMPLEX_MACRO: 'the one ABI is X-macro tables (kmod/uapi/guplab.h), which expand to lists, not expressions',
  MACRO_ARG_UNUSED: 'an X-macro expander takes every column of its table and uses the ones it needs',
  TRAILING_SEMICOLON: 'X-macro expanders that emit statements or declarations end in one',
  BRACKET_SPACE: 'designated initializers [id] = ... emitted by an X-macro expander',
  SPACING: 'the same expanders: checkpatch reads a case label inside a macro body as an operator',
  LINUX_VERSION_CODE: 'an out-of-tree module for 5.10 to 7.3: every version difference sits in kmod/compat.h, keyed on it',
  CONSTANT_COMPARISON: 'LINUX_VERSION_CODE >= KERNEL_VERSION(...) is the compat idiom',
  ALLOC_WITH_SIZEOF: 'kmalloc_obj()/kzalloc_obj() exist only in 7.x kernels; the module builds on 5.10 and up',
  DEPRECATED_API: "kmap_atomic() is compat.h's fallback for kernels before kmap_local_page() (5.11)",
};

type Log = (msg: string) => void;

/** checkpatch.pl from the cache, fetched once (one linux-source download). */
export function ensureCheckpatch(log: Log): string {
  const { kernel, gen } = resolveArchiveKernel(CHECKPATCH_LINE, 'x86_64', log);
  const pkg = linuxSourceFor(kernel, gen);
  const dir = path.join(cacheRoot(), 'tools', `checkpatch-${pkg.name}_${pkg.version.replace(/[^\w.+~-]/g, '_')}`);
  cachedDir(dir, `checkpatch.pl of ${pkg.name} ${pkg.version}`, log, (tmp) => {
    const tarball = fetchSourceTarball(pkg, gen, tmp);
    const top = `linux-source-${CHECKPATCH_LINE}`;
    run('tar', ['-xJf', tarball, '-C', tmp, '--strip-components=2', ...MEMBERS.map((m) => `${top}/${m}`)]);
    run('rm', ['-rf', path.join(tmp, 'usr')]);
  });
  return path.join(dir, 'checkpatch.pl');
}

/** The module's sources, as checkpatch sees them. */
export function kmodSources(): string[] {
  const kmod = path.join(projectRoot, 'kmod');
  return [
    ...readdirSync(kmod)
      .filter((f) => /\.[ch]$/.test(f))
      .map((f) => path.join('kmod', f)),
    path.join('kmod', 'uapi', 'guplab.h'),
  ].sort();
}

/**
 * Runs checkpatch.pl on kmod/; returns its exit status (0: no error and no
 * warning). --no-tree: outside a kernel tree; the spelling list sits beside it.
 */
export function checkpatch(log: Log): number {
  requireProgram('perl');
  const script = ensureCheckpatch(log);
  if (!existsSync(script)) throw new Error(`${script} is missing: remove its folder from the cache and retry`);
  const r = spawnSync(
    'perl',
    [script, '--no-tree', '--terse', '--show-types', '--max-line-length=100', '--ignore', Object.keys(CHECKPATCH_IGNORED).join(','), '-f', ...kmodSources()],
    { cwd: projectRoot, stdio: 'inherit' },
  );
  return r.status ?? 1;
}
