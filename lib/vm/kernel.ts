// Debian kernels: resolve a series ("6.1", "6.12") to a package, fetch the
// image and headers with the private apt, unpack them, build guplab.ko.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { PrivateApt } from './apt.js';
import { ensureBuildRoot, inRoot, runInRoot } from './buildroot.js';
import { cachedDir } from './guestroot.js';
import { run } from './exec.js';
import { cacheRoot, debArch, hostArch, type Arch } from './paths.js';

export const DEFAULT_KERNEL = '6.1';

export interface Kernel {
  /** uname -r, e.g. 6.1.0-56-amd64. */
  release: string;
  arch: Arch;
  /** Folder the image and headers packages are unpacked into. */
  root: string;
  vmlinuz: string;
  modulesDir: string;
  buildDir: string;
  /** Where its guplab.ko builds are cached; default kernels/RELEASE. */
  cacheDir?: string;
  /** A Debian root (lib/vm/buildroot.ts) to build modules in, for kernels newer than the host. */
  buildRoot?: string;
}

function compareReleases(a: string, b: string): number {
  const pa = a.match(/\d+/g)?.map(Number) ?? [];
  const pb = b.match(/\d+/g)?.map(Number) ?? [];
  for (let i = 0; i < Math.max(pa.length, pb.length); i++) {
    const d = (pa[i] ?? -1) - (pb[i] ?? -1);
    if (d) return d;
  }
  return 0;
}

/** Picks the newest generic image release of a series from package names. */
export function pickRelease(series: string, arch: Arch, pkgnames: readonly string[]): string | undefined {
  const esc = series.replace(/\./g, '\\.');
  const re = new RegExp(`^linux-image-(${esc}\\.[0-9.]+(?:-[0-9]+)?(?:\\+deb[0-9]+)?-${debArch(arch)})$`);
  const releases = pkgnames.map((n) => re.exec(n)?.[1]).filter((r): r is string => Boolean(r));
  return releases.sort(compareReleases).at(-1);
}

/** Series 7 and later are not in bookworm: they come from trixie-backports (or sid). */
export function isNextSeries(version: string): boolean {
  return Number(/^(\d+)/.exec(version)?.[1] ?? 0) >= 7;
}

/** The Debian release a kernel was built for, when newer than the host's bookworm: its modules build in that root. */
export function buildRootSuite(release: string): string | undefined {
  if (/\+deb13-/.test(release)) return 'trixie';
  if (/\+deb1[4-9]-/.test(release)) return 'sid';
  return undefined;
}

/** The private apt, native to the host, knowing both guest arches (one list update for all). */
function apt(_arch: Arch, next = false): PrivateApt {
  const archs = [...new Set([debArch(hostArch()), 'amd64', 'arm64'])];
  return next
    ? new PrivateApt(path.join(cacheRoot(), 'apt-next'), 'trixie-backports', archs, { security: false, extraSuites: ['sid'] })
    : new PrivateApt(path.join(cacheRoot(), 'apt'), 'bookworm', archs);
}

/** The Debian packages that make up a kernel: image (and 7.x's split parts), headers, kbuild. */
function kernelPackages(release: string, arch: Arch, log: (msg: string) => void): string[] {
  const a = apt(arch, isNextSeries(release));
  a.ensure(log);
  const headers = `linux-headers-${release}`;
  // Image and headers of the guest's arch; kbuild (fixdep, modpost: host
  // binaries) of the host's, so a cross build runs them natively.
  const qual = arch === hostArch() ? '' : `:${debArch(arch)}`;
  const deps = a.depends(`${headers}${qual}`).map((d) => d.replace(/:.*$/, ''));
  // 7.x splits the image package: linux-binary-RELEASE (vmlinuz) and linux-modules-RELEASE.
  const imageParts = a
    .depends(`linux-image-${release}${qual}`)
    .map((d) => d.replace(/:.*$/, ''))
    .filter((d) => d.endsWith(release) && /^linux-(binary|modules)-/.test(d))
    .map((d) => `${d}${qual}`);
  return [
    `linux-image-${release}${qual}`,
    ...imageParts,
    `${headers}${qual}`,
    ...deps.filter((d) => /^linux-headers-/.test(d)),
    ...deps.filter((d) => /^linux-kbuild-/.test(d)),
  ];
}

/** Makes sure the kernel image, modules and headers of `version` are unpacked in the cache. */
export function ensureKernel(version: string, arch: Arch, log: (msg: string) => void): Kernel {
  const kernelsDir = path.join(cacheRoot(), 'kernels');
  const full = /^\d+\.\d+\.\d+.*-(amd64|arm64)$/.test(version);
  let release: string | undefined;
  if (full) release = version;
  else {
    // Reuse what is cached without asking apt: a second run downloads nothing.
    const cached = existsSync(kernelsDir)
      ? readdirSync(kernelsDir).filter((d) => existsSync(path.join(kernelsDir, d, 'complete')))
      : [];
    release = pickRelease(version, arch, cached.map((d) => `linux-image-${d}`));
    if (!release) {
      const a = apt(arch, isNextSeries(version));
      a.ensure(log);
      release = pickRelease(version, arch, a.pkgnames(`linux-image-${version}.`));
      if (!release) throw new Error(`no Debian kernel ${version} for ${arch} (bookworm; trixie-backports and sid for 7 and later): try --kernel 6.1, 6.12 or 7`);
    }
  }
  const root = path.join(kernelsDir, release, 'root');
  const stamp = path.join(kernelsDir, release, 'complete');
  if (existsSync(stamp)) log(`cached: kernel ${release} (${root})`);
  else {
    // A root is renamed into place whole, modules.dep (depmod) last; one
    // without it is left by a run that died before unpacking was atomic.
    if (!existsSync(path.join(root, 'lib', 'modules', release, 'modules.dep'))) rmSync(root, { recursive: true, force: true });
    const pkgs = kernelPackages(release, arch, log);
    // Unpacked in a temporary folder renamed into place, so that two runs
    // fetching the same kernel at once never see each other's half.
    cachedDir(root, `kernel ${release}`, log, (tmp) => {
      const debsDir = `${tmp}.debs`;
      try {
        log(`kernel: downloading ${pkgs.join(' ')}`);
        const debs = apt(arch, isNextSeries(release)).download(pkgs, debsDir);
        for (const deb of debs) run('dpkg-deb', ['-x', deb, tmp]);
      } finally {
        rmSync(debsDir, { recursive: true, force: true });
      }
      const headers = `linux-headers-${release}`;
      // The arch headers include the common headers by absolute path: point it into the cache.
      const makefile = path.join(tmp, 'usr', 'src', headers, 'Makefile');
      // (7.x also names its own folder in KBUILD_OUTPUT=.)
      writeFileSync(makefile, readFileSync(makefile, 'utf8').replace(/(^|[\s=])\/usr\/src\/linux-headers-/gm, `$1${root}/usr/src/linux-headers-`));
      // Packages of trixie and later install modules under /usr/lib (merged /usr).
      if (!existsSync(path.join(tmp, 'lib', 'modules')) && existsSync(path.join(tmp, 'usr', 'lib', 'modules'))) {
        mkdirSync(path.join(tmp, 'lib'), { recursive: true });
        symlinkSync('../usr/lib/modules', path.join(tmp, 'lib', 'modules'));
      }
      // Debian generates modules.dep at install time; do the same for the unpacked tree.
      run('depmod', ['-b', tmp, release]);
    });
    writeFileSync(stamp, `${pkgs.join('\n')}\n`);
  }
  const suite = buildRootSuite(release);
  return {
    buildRoot: suite ? ensureBuildRoot(suite, log, arch === hostArch() ? undefined : arch) : undefined,
    release,
    arch,
    root,
    // 7.x installs the image next to its modules.
    vmlinuz: [path.join(root, 'boot', `vmlinuz-${release}`), path.join(root, 'lib', 'modules', release, 'vmlinuz')].find((f) => existsSync(f)) ?? path.join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: path.join(root, 'lib', 'modules', release),
    buildDir: path.join(root, 'usr', 'src', `linux-headers-${release}`),
  };
}

function crossArgs(kernel: Kernel): string[] {
  if (kernel.arch === hostArch()) return [];
  return kernel.arch === 'arm64'
    ? ['ARCH=arm64', 'CROSS_COMPILE=aarch64-linux-gnu-']
    : ['ARCH=x86_64', 'CROSS_COMPILE=x86_64-linux-gnu-'];
}

/** Copies kmod/ without build products, so each kernel builds in its own tree. */
function copyKmodSources(dir: string): void {
  cpSync(path.join(projectRoot, 'kmod'), dir, {
    recursive: true,
    filter: (src) => !/\.(o|ko|mod|cmd)$|\.mod\.c$|modules\.order|Module\.symvers/.test(src),
  });
}

function kmodSources(): string[] {
  const dir = path.join(projectRoot, 'kmod');
  const files = ['Kbuild', ...readdirSync(dir).filter((f) => /\.[ch]$/.test(f)), 'uapi/guplab.h'];
  return files.map((f) => path.join(dir, f));
}

/** Builds kmod/ against the kernel's headers (cached by source hash) and returns guplab.ko. */
export function buildModule(kernel: Kernel, log: (msg: string) => void): string {
  const hash = createHash('sha256');
  for (const file of kmodSources()) hash.update(file).update(readFileSync(file));
  const dir = path.join(kernel.cacheDir ?? path.join(cacheRoot(), 'kernels', kernel.release), `kmod-${hash.digest('hex').slice(0, 12)}`);
  // Built in a temporary folder renamed into place: several VMs may start at once.
  cachedDir(dir, `guplab.ko for ${kernel.release}`, log, (tmp) => {
    copyKmodSources(tmp);
    const make = ['make', '-C', kernel.buildDir, `M=${tmp}`, 'W=1', ...crossArgs(kernel), 'modules'];
    if (kernel.buildRoot) runInRoot(kernel.buildRoot, make);
    else run(make[0]!, make.slice(1));
  });
  return path.join(dir, 'guplab.ko');
}

export interface KmodCheck {
  release: string;
  arch: Arch;
  /** Compiler and sparse diagnostics (warnings or errors); empty when clean. */
  diagnostics: string[];
  sparse: boolean;
}

/** Builds kmod/ from scratch with W=1 (and C=1 when sparse is installed) and collects every diagnostic. */
export function checkModule(kernel: Kernel): KmodCheck {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-kmod-check-'));
  try {
    copyKmodSources(dir);
    // Kernels newer than the host build in their Debian root (without sparse).
    const sparse = !kernel.buildRoot && spawnSync('sparse', ['--version']).status === 0;
    const make = ['make', '-C', kernel.buildDir, `M=${dir}`, 'W=1', ...(sparse ? ['C=1'] : []), ...crossArgs(kernel), 'modules'];
    const [file, args] = kernel.buildRoot ? inRoot(kernel.buildRoot, make, [dir]) : [make[0]!, make.slice(1)];
    const r = spawnSync(file, args, { encoding: 'utf8' });
    const output = `${r.stdout}${r.stderr}`;
    const diagnostics = output.split('\n').filter((l) => /(warning|error):/i.test(l));
    if (r.status !== 0 && diagnostics.length === 0) diagnostics.push(`make failed (exit ${r.status}): ${output.split('\n').slice(-5).join(' | ')}`);
    return { release: kernel.release, arch: kernel.arch, diagnostics, sparse };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
