// A private apt configuration under the cache folder: its own sources list,
// state and archives, so the user's system apt sources are never touched.
import { existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../util/atomic.js';
import { ARCH_NAMES, debArch } from '../vm/arch.js';
import { run } from '../vm/exec.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const STALE_MS = 24 * 3600 * 1000;

/** The Debian archive and security archive URIs the system is configured with. */
export function systemMirrors(): { archive: string; security: string } {
  const uris: string[] = [];
  const deb822 = '/etc/apt/sources.list.d/debian.sources';
  if (existsSync(deb822)) {
    for (const line of readFileSync(deb822, 'utf8').split('\n')) {
      const m = /^URIs:\s*(\S+)/.exec(line);
      if (m?.[1]) uris.push(m[1]);
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of readFileSync('/etc/apt/sources.list', 'utf8').split('\n')) {
      const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)/.exec(line);
      if (m?.[1]) uris.push(m[1]);
    }
  }
  const security = uris.find((u) => /security/.test(u));
  const archive = uris.find((u) => !/security/.test(u));
  if (!archive || !security) {
    throw new Error('cannot find the Debian archive and security URIs in /etc/apt/sources.list(.d): guplab fetches Debian kernels with apt');
  }
  return { archive, security };
}

export class PrivateApt {
  readonly dir: string;
  readonly suite: string;
  readonly archs: readonly string[];
  /** More suites of the same archive (no security suite for them), e.g. sid next to trixie-backports. */
  readonly extraSuites: readonly string[];
  readonly security: boolean;

  constructor(
    dir: string,
    suite = 'bookworm',
    archs: readonly string[] = ARCH_NAMES.map(debArch),
    more: { extraSuites?: readonly string[]; security?: boolean } = {},
  ) {
    this.dir = dir;
    this.suite = suite;
    this.archs = archs;
    this.extraSuites = more.extraSuites ?? [];
    this.security = more.security ?? true;
  }

  private options(): string[] {
    return [
      '-o',
      `Dir::Etc::SourceList=${path.join(this.dir, 'sources.list')}`,
      '-o',
      'Dir::Etc::SourceParts=/nonexistent',
      '-o',
      `Dir::State=${path.join(this.dir, 'state')}`,
      '-o',
      'Dir::State::status=/var/lib/dpkg/status',
      '-o',
      `Dir::Cache=${path.join(this.dir, 'cache')}`,
      '-o',
      'Debug::NoLocking=1',
      '-o',
      'APT::Sandbox::User=root',
      '-o',
      `APT::Architectures::=${this.archs.join(',')}`,
      '-o',
      `APT::Architecture=${this.archs[0]}`,
    ];
  }

  /** Writes the sources list and runs `apt-get update` when the lists are missing or a day old. */
  ensure(log: (msg: string) => void): void {
    mkdirSync(path.join(this.dir, 'state', 'lists', 'partial'), { recursive: true });
    mkdirSync(path.join(this.dir, 'cache', 'archives', 'partial'), { recursive: true });
    const { archive, security } = systemMirrors();
    const opts = `[arch=${this.archs.join(',')} signed-by=${KEYRING}]`;
    const sources = [
      `deb ${opts} ${archive} ${this.suite} main`,
      ...(this.security ? [`deb ${opts} ${security} ${this.suite}-security main`] : []),
      ...this.extraSuites.map((s) => `deb ${opts} ${archive} ${s} main`),
      '',
    ].join('\n');
    const sourcesFile = path.join(this.dir, 'sources.list');
    const stamp = path.join(this.dir, 'updated');
    const changed = !existsSync(sourcesFile) || readFileSync(sourcesFile, 'utf8') !== sources;
    if (changed) writeFileAtomic(sourcesFile, sources);
    if (changed || !existsSync(stamp) || Date.now() - statSync(stamp).mtimeMs > STALE_MS) {
      log(`apt: updating the package lists of ${this.suite} (private configuration in ${this.dir})`);
      // apt's own lock is off (Debug::NoLocking: not root's system state), so
      // two runs updating at once take turns on a lock file of this folder.
      run('flock', ['-w', '900', path.join(this.dir, 'update.lock'), 'apt-get', ...this.options(), 'update'], { stdio: ['ignore', 'pipe', 'pipe'] });
      writeFileAtomic(stamp, new Date().toISOString());
    }
  }

  /** All package names starting with prefix. */
  pkgnames(prefix: string): string[] {
    return run('apt-cache', [...this.options(), 'pkgnames', prefix])
      .split('\n')
      .filter(Boolean);
  }

  /** Names of the direct Depends of a package, without arch qualifiers. */
  depends(pkg: string): string[] {
    return run('apt-cache', [...this.options(), 'depends', '--no-recommends', '--no-suggests', pkg])
      .split('\n')
      .map((l) => /^\s+Depends:\s+<?([^\s>:]+)/.exec(l)?.[1])
      .filter((x): x is string => Boolean(x));
  }

  /** Downloads .deb files into dir and returns their paths. */
  download(pkgs: readonly string[], dir: string): string[] {
    mkdirSync(dir, { recursive: true });
    run('apt-get', [...this.options(), 'download', ...pkgs], { cwd: dir });
    return pkgs.map((pkg) => {
      const name = pkg.split(':')[0]!;
      const file = run('sh', ['-c', 'ls -1 -- "$0"_*.deb | tail -n 1', name], { cwd: dir }).trim();
      return path.join(dir, file);
    });
  }
}
