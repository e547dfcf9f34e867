// Fresh-machine truth: every program the code runs comes from a package that
// scripts/deps.sh installs or that every Debian root has (Essential or
// Priority: required, what debootstrap --variant=minbase installs).
import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ARCHES } from '../../lib/vm/arch.js';
import { missingProgramHint, NODE_PROGRAMS, PROGRAMS, requireProgram } from '../../lib/util/programs.js';
import { projectRoot } from '../../lib/util/root.js';

const SCANNED = ['lib', 'scripts', 'test', 'tools', 'bin'];
// spawn/exec* and the project's own wrappers (lib/vm/exec.ts run, stress's sh, the tests' runChild), first argument a literal.
const CALL = /\b(?:spawn|spawnSync|execFile|execFileSync|execSync|exec|run|sh|runChild)\(\s*(['"`])([^'"`$]+?)\1/g;

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const file = path.join(dir, name);
    if (statSync(file).isDirectory()) return name === 'fixtures' ? [] : sources(file);
    return /\.(ts|mjs|js)$/.test(name) ? [file] : [];
  });
}

/** Every program named as the first word of a call in the scanned code, with where. */
function calledPrograms(): Map<string, string> {
  const found = new Map<string, string>();
  for (const file of SCANNED.flatMap((d) => sources(path.join(projectRoot, d)))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(CALL)) {
      const program = m[2]!.trim().split(/\s+/)[0]!;
      // The project's own binaries and scripts are built or shipped here.
      if (program.startsWith('.') || program.startsWith(projectRoot)) continue;
      if (!found.has(program)) found.set(program, path.relative(projectRoot, file));
    }
  }
  return found;
}

function depsPackages(): Set<string> {
  const text = readFileSync(path.join(projectRoot, 'scripts', 'deps.sh'), 'utf8');
  const list = /^PACKAGES="([^"]*)"/m.exec(text)?.[1];
  if (!list) throw new Error('scripts/deps.sh has no PACKAGES="..." line');
  return new Set(list.replace(/\\\n/g, ' ').split(/\s+/).filter(Boolean));
}

function dpkgField(pkg: string, field: string): string {
  try {
    return execFileSync('dpkg-query', ['-W', `-f=\${${field}}`, pkg], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

/** The package dpkg says owns each program (usrmerge: it may record /bin or /usr/bin), in one dpkg call. */
function owners(programs: readonly string[]): Map<string, string> {
  const candidates = (p: string): string[] => {
    const base = p.split('/').at(-1)!;
    const dirs = p.includes('/') ? [path.dirname(p), path.dirname(p).replace(/^\/usr/, '')] : ['/usr/bin', '/bin', '/usr/sbin', '/sbin'];
    return dirs.map((d) => `${d}/${base}`);
  };
  const all = programs.flatMap(candidates);
  // dpkg -S exits 1 when some path is unowned; its stdout still has the rest.
  const out = spawnSync('dpkg', ['-S', ...all], { encoding: 'utf8' }).stdout;
  const byPath = new Map<string, string>();
  for (const line of out.split('\n')) {
    // "pkg: path", or "pkg:arch: path" for a package of a given architecture (clang-format:amd64).
    const m = /^([^:]+?)(?::[a-z0-9-]+)?: (\/.+)$/.exec(line);
    if (m && !line.startsWith('diversion')) byPath.set(m[2]!.trim(), m[1]!.split(',')[0]!.trim());
  }
  const result = new Map<string, string>();
  for (const p of programs) {
    const pkg = candidates(p)
      .map((c) => byPath.get(c))
      .find(Boolean);
    if (pkg) result.set(p, pkg);
  }
  return result;
}

describe('every program the code runs is installed by scripts/deps.sh or ships with Debian', () => {
  const deps = depsPackages();

  it('each program called in lib/, scripts/, test/, tools/ is in lib/util/programs.ts', () => {
    const called = calledPrograms();
    expect(called.size).toBeGreaterThan(20);
    const unknown = [...called].filter(([p]) => !(p in PROGRAMS) && !(NODE_PROGRAMS as readonly string[]).includes(p));
    expect(
      unknown.map(([p, where]) => `${p} (called in ${where}): add it with its Debian package to lib/util/programs.ts and the package to scripts/deps.sh`),
    ).toEqual([]);
  });

  it("programs reached through data (each arch's QEMU and cross compiler) are in the table", () => {
    for (const a of Object.values(ARCHES)) {
      expect(PROGRAMS, a.qemu.binary).toHaveProperty([a.qemu.binary]);
      if (a.name !== 'x86_64') expect(PROGRAMS, `${a.triple}-gcc`).toHaveProperty([`${a.triple}-gcc`]);
    }
  });

  it('each package in the table is in deps.sh, or Essential / Priority required', () => {
    const bad = Object.entries(PROGRAMS).filter(
      ([, pkg]) => !deps.has(pkg) && dpkgField(pkg, 'Essential') !== 'yes' && dpkgField(pkg, 'Priority') !== 'required',
    );
    expect(bad.map(([p, pkg]) => `${p}: package ${pkg} is neither in scripts/deps.sh's PACKAGES nor part of every Debian root`)).toEqual([]);
  });

  it('dpkg agrees: each program is installed and owned by the package the table names', () => {
    const owned = owners(Object.keys(PROGRAMS));
    const wrong = Object.entries(PROGRAMS).flatMap(([p, pkg]) => {
      const got = owned.get(p);
      if (!got) return [`${p} is not installed (or not from a Debian package): scripts/deps.sh must install ${pkg}`];
      return got === pkg ? [] : [`${p} belongs to ${got}, not ${pkg}: fix lib/util/programs.ts`];
    });
    expect(wrong).toEqual([]);
  });

  it('a missing program is refused by name, with its package', () => {
    expect(() => requireProgram('qemu-system-x86_64-not-here')).toThrow(/not installed: run scripts\/deps.sh/);
    expect(missingProgramHint('qemu-system-aarch64')).toMatch(/apt-get install qemu-system-arm/);
    expect(() => requireProgram('sh')).not.toThrow();
  });
});
