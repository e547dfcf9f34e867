// Kernels of a newer Debian release than the host's (trixie's 6.12+deb13,
// 7.x from trixie-backports) ship kbuild tools linked against a newer glibc
// and expect a newer gcc: their modules are built in a Debian root of that
// release (any suite: bullseye, trixie, ...) made with debootstrap,
// cached under the project's cache folder, entered with chroot in a private
// mount namespace (the cache is bind-mounted at its own path inside).
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { cachedDir } from './cache.js';
import { systemMirrors } from './apt.js';
import { run } from '../vm/exec.js';
import { ARCHES } from '../vm/arch.js';
import { cacheRoot, type Arch } from '../vm/paths.js';

/** What the module build needs inside the root, beyond minbase (libelf was renamed for the 64-bit time_t move in trixie). */
export function buildRootPackages(crossTo?: Arch, suite = 'trixie'): string[] {
  const libelf = suite === 'bullseye' || suite === 'bookworm' ? 'libelf1' : 'libelf1t64';
  return ['gcc', 'make', 'libc6-dev', libelf, 'dwarves', 'bc', 'sparse', ...(crossTo ? [ARCHES[crossTo].crossGcc] : [])];
}

/** The cached build root of `suite` (e.g. trixie) for the host, with a cross compiler for crossTo. */
export function ensureBuildRoot(suite: string, log: (msg: string) => void, crossTo?: Arch): string {
  const pkgs = buildRootPackages(crossTo, suite);
  const dir = path.join(cacheRoot(), 'roots', `${suite}-${pkgs.join('+').replace(/[^\w+.-]/g, '')}`);
  return cachedDir(dir, `${suite} build root (debootstrap minbase + ${pkgs.join(' ')})`, log, (tmp) => {
    if (!existsSync('/usr/sbin/debootstrap')) throw new Error('debootstrap is not installed: apt-get install debootstrap (scripts/deps.sh does it)');
    const { archive } = systemMirrors();
    log(`debootstrap: ${suite} into ${tmp} (a few minutes, once)`);
    run('debootstrap', ['--variant=minbase', `--include=${pkgs.join(',')}`, suite, tmp, archive], { stdio: ['ignore', 'pipe', 'pipe'] });
    writeFileSync(path.join(tmp, 'guplab-root'), `${suite} ${pkgs.join(' ')}\n`);
  });
}

/**
 * Runs a command in the build root, with the cache (and each extra folder)
 * bind-mounted at its own path, in a mount namespace of its own so that
 * nothing stays mounted.
 */
export function runInRoot(root: string, command: readonly string[], binds: readonly string[] = []): string {
  const [file, args] = inRoot(root, command, binds);
  return run(file, args);
}

/** The command line that runs `command` in the build root (see runInRoot). */
export function inRoot(root: string, command: readonly string[], binds: readonly string[] = []): [string, string[]] {
  const quote = (w: string): string => `'${w.replaceAll("'", `'\\''`)}'`;
  const mounts = [cacheRoot(), ...binds].map((d) => `mkdir -p ${quote(root + d)} && mount --bind ${quote(d)} ${quote(root + d)}`);
  const script = [...mounts, `mount -t proc proc ${quote(`${root}/proc`)}`, `exec chroot ${quote(root)} ${command.map(quote).join(' ')}`].join(' && ');
  return ['unshare', ['-m', '--propagation', 'private', 'sh', '-c', script]];
}
