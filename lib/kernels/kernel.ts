// Debian kernels: resolve --kernel (a series, a major, an exact release) in
// the archive's indexes (lib/kernels/archive.ts), fetch the image and headers,
// unpack them atomically into the cache, build guplab.ko.
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import os from 'node:os';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { UsageError } from '../util/args.js';
import { writeFileAtomic } from '../util/atomic.js';
import { crossCompileArgs } from '../vm/arch.js';
import {
  archiveIndex,
  downloadPackages,
  kernelCandidates,
  NO_MODULE_HINT,
  resolveKernel,
  seriesOf,
  type ArchiveKernel,
  type ResolveOptions,
} from './archive.js';
import { ensureBuildRoot, inRoot, runInRoot } from './buildroot.js';
import { cachedDir } from './cache.js';
import { debugLine, debugSourceFor, ensureDebugKernel } from './debugkernel.js';
import type { SourcePackage } from './linuxsource.js';
import { userKernel } from './userkernel.js';
import { run } from '../vm/exec.js';
import { cacheRoot, debArch, hostArch, type Arch } from '../vm/paths.js';
import type { Kernel } from './target.js';
import { kernelUpstream } from './upstream.js';

export type { Kernel };

/** The kernel line every VM command boots unless told (the Makefile reads this line too). */
export const DEFAULT_KERNEL = '6.1';
/** The two Debian stable lines: what an A/B and the matrix compare unless told. */
export const STABLE_LINES: readonly string[] = ['6.1', '6.12'];

/**
 * The Debian release whose toolchain built a kernel (from its release
 * string): +debNN names it; 5.10.0-N is bullseye's, 6.1.0-N bookworm's.
 */
export function kernelSuite(release: string): string | undefined {
  const deb = /\+deb(\d+)-/.exec(release)?.[1];
  if (deb) return DEBIAN_RELEASES[Number(deb)];
  if (/^5\.10\.0-/.test(release)) return 'bullseye';
  if (/^6\.1\.0-/.test(release)) return 'bookworm';
  return undefined;
}

const DEBIAN_RELEASES: Record<number, string> = { 11: 'bullseye', 12: 'bookworm', 13: 'trixie', 14: 'forky' };

/** The host's Debian release name (bookworm). */
export function hostSuite(): string {
  return DEBIAN_RELEASES[hostDebian()] ?? 'bookworm';
}

/** The host's Debian release number (12 for bookworm), from /etc/os-release. */
export function hostDebian(): number {
  try {
    return Number(/^VERSION_ID="?(\d+)/m.exec(readFileSync('/etc/os-release', 'utf8'))?.[1] ?? 12);
  } catch {
    return 12;
  }
}

/**
 * The Debian root a kernel's modules build in, when the host cannot build
 * them: a kernel of another Debian release than the host's names that
 * release's compiler in its headers (bullseye's 5.10: CC=gcc-10, which
 * bookworm lacks; trixie's 6.12+deb13 and 7.x: gcc-14) and newer releases
 * ship kbuild tools linked against their newer glibc. Tried on the host
 * first for 5.10: its kbuild tools run, but `gcc-10: not found`.
 */
export function buildRootSuite(release: string, host = hostDebian()): string | undefined {
  const suite = kernelSuite(release);
  return suite && suite !== DEBIAN_RELEASES[host] ? suite : undefined;
}

function cachedReleases(): string[] {
  const kernelsDir = path.join(cacheRoot(), 'kernels');
  return existsSync(kernelsDir) ? readdirSync(kernelsDir).filter((d) => existsSync(path.join(kernelsDir, d, 'complete'))) : [];
}

/** Whether a release is unpacked in the cache. */
export function isCachedKernel(release: string): boolean {
  return existsSync(path.join(cacheRoot(), 'kernels', release, 'complete'));
}

/**
 * The archive's kernel that --kernel SPEC names for an arch (lib/kernels/archive.ts),
 * or a one-line error naming what exists, before anything is downloaded.
 */
export function resolveArchiveKernel(spec: string, arch: Arch, log: (msg: string) => void, opts: ResolveOptions = {}): { kernel: ArchiveKernel; gen: string } {
  const { index, gen } = archiveIndex(log);
  return { kernel: resolveKernel(spec, arch, index.kernels, DEBIAN_RELEASES[hostDebian()], opts), gen };
}

/** --kernel values with `all` expanded to every series of the arch that guplab can use (oldest first; without the module, image-only series too). */
export function expandKernelSpecs(versions: readonly string[], arch: Arch, log: (msg: string) => void, opts: ResolveOptions = {}): string[] {
  if (!versions.includes('all')) return [...versions];
  const usable = seriesOf(
    archiveIndex(log).index.kernels.filter((k) => opts.module === false || !k.unbuildable),
    arch,
  );
  return [...new Set(versions.flatMap((v) => (v === 'all' ? usable : [v])))];
}

/**
 * Resolves every --kernel x --arch pair before anything is downloaded or
 * booted, so a bad one fails at once with the error naming what exists.
 */
export function checkKernelSpecs(versions: readonly string[], arches: readonly Arch[], log: (msg: string) => void, opts: ResolveOptions = {}): void {
  for (const arch of arches) {
    for (const v of expandKernelSpecs(versions, arch, log, opts)) {
      const line = debugLine(v);
      if (line !== undefined) {
        resolveDebugSource(line, arch, log);
        continue;
      }
      const cached = [v, `${v}-${debArch(arch)}`].find((r) => cachedReleases().includes(r));
      if (!cached) resolveArchiveKernel(v, arch, log, opts);
      else if (opts.module !== false && !existsSync(path.join(headersDir(cached), 'Makefile'))) throw imageOnlyRefusal(cached);
    }
  }
}

/** The linux-source package a debug kernel of `line` builds from, and the archive generation that names it (no download). */
export function resolveDebugSource(line: string, arch: Arch, log: (msg: string) => void): { source: SourcePackage; gen: string } {
  const { index, gen } = archiveIndex(log);
  return { source: debugSourceFor(line, arch, index.kernels, gen, hostSuite()).source, gen };
}

/** The headers folder of a cached Debian release (absent for an image-only one). */
function headersDir(release: string): string {
  return path.join(cacheRoot(), 'kernels', release, 'root', 'usr', 'src', `linux-headers-${release}`);
}

/** The refusal of a module boot on a cached kernel without headers. */
function imageOnlyRefusal(release: string): Error {
  return new UsageError(
    `kernel ${release} is cached as image only (the archive has no linux-headers-${release}), so guplab.ko cannot be built for it: ${NO_MODULE_HINT}`,
  );
}

/**
 * Makes sure the kernel image, modules and headers of `version` are
 * unpacked in the cache; with `module: false`, an image-only kernel's image
 * (and its modules, where the archive kept them) without headers.
 */
export function ensureKernel(version: string, arch: Arch, log: (msg: string) => void, opts: ResolveOptions = {}): Kernel {
  const line = debugLine(version);
  if (line !== undefined) {
    const { source, gen } = resolveDebugSource(line, arch, log);
    const build = ensureDebugKernel(source, arch, gen, log);
    if (build.builtInS !== undefined)
      log(`debug kernel from ${source.name} ${source.version} built in ${Math.floor(build.builtInS / 60)} min ${build.builtInS % 60} s`);
    return userKernel(build.image, build.buildDir, arch, log);
  }
  // An exact release already unpacked needs no index: a second run asks nothing.
  const exact = [version, `${version}-${debArch(arch)}`].find((r) => cachedReleases().includes(r) && r.endsWith(`-${debArch(arch)}`));
  if (exact) return unpackedKernel(exact, arch, undefined, log, opts);
  const { index, gen } = archiveIndex(log);
  const candidates = kernelCandidates(version, arch, index.kernels, DEBIAN_RELEASES[hostDebian()], opts);
  // A series is served by its newest release the mirror really has: the
  // index may name files the mirror lacks (seen: arm64 5.10.0-43 to -46 answered
  // 404 while amd64's came; 5.10.0-32 is served).
  const missing: string[] = [];
  // A 404 is remembered for this index generation: the next run goes straight to what the mirror serves.
  const unavailable = (release: string): string => path.join(cacheRoot(), 'kernels', '.unavailable', release);
  for (const c of candidates) {
    if (candidates.length > 1 && !isCachedKernel(c.release) && existsSync(unavailable(c.release)) && readFileSync(unavailable(c.release), 'utf8') === gen) {
      missing.push(c.release);
      continue;
    }
    try {
      return unpackedKernel(c.release, arch, { kernel: c, gen }, log, opts);
    } catch (err) {
      // Nothing of it stays: no empty kernels/RELEASE folder for `guplab kernels` to list.
      if (!isCachedKernel(c.release)) rmSync(path.join(cacheRoot(), 'kernels', c.release), { recursive: true, force: true });
      if (candidates.length === 1 || !/\b404\b/.test(err instanceof Error ? err.message : '')) throw err;
      missing.push(c.release);
      writeFileAtomic(unavailable(c.release), gen);
      log(`kernel: the mirror does not serve ${c.release} (404); trying the next older release of ${version}`);
    }
  }
  throw new Error(`the mirror serves none of ${missing.join(', ')} (404) for --kernel ${version}: pass an older release (guplab kernels --all --arch ${arch})`);
}

/** An image-only kernel's upstream version, recorded at unpacking from its archive entry (it has no Makefile to read). */
const UPSTREAM_FILE = 'upstream';

function unpackedKernel(
  release: string,
  arch: Arch,
  resolved: { kernel: ArchiveKernel; gen: string } | undefined,
  log: (msg: string) => void,
  opts: ResolveOptions = {},
): Kernel {
  const kernelsDir = path.join(cacheRoot(), 'kernels');
  const root = path.join(kernelsDir, release, 'root');
  const stamp = path.join(kernelsDir, release, 'complete');
  if (existsSync(stamp)) {
    if (opts.module !== false && !existsSync(path.join(headersDir(release), 'Makefile'))) throw imageOnlyRefusal(release);
    log(`cached: kernel ${release} (${root})`);
  } else {
    // A root is renamed into place whole, modules.dep (depmod) last; one
    // without it is left by a run that died before unpacking was atomic.
    if (!existsSync(path.join(root, 'lib', 'modules', release, 'modules.dep'))) rmSync(root, { recursive: true, force: true });
    const { kernel: entry, gen } = resolved ?? resolveArchiveKernel(release, arch, log, opts);
    const pkgs = [...entry.packages];
    if (entry.unbuildable)
      log(
        `kernel: ${release} is image only (${entry.unbuildable}): no headers, no guplab.ko${entry.noModules ? `; no modules either (${entry.noModules})` : ''}`,
      );
    // Unpacked in a temporary folder renamed into place, so that two runs
    // fetching the same kernel at once never see each other's half.
    cachedDir(root, `kernel ${release}`, log, (tmp) => {
      const debsDir = `${tmp}.debs`;
      try {
        log(`kernel: downloading ${pkgs.join(' ')}`);
        // The image alone first: a mirror that lacks the release fails fast.
        let image: string[];
        try {
          image = downloadPackages(gen, pkgs.slice(0, 1), debsDir);
        } catch (err) {
          // The mirror may lack a signed image the index still names (seen:
          // linux-image-5.10.0-46-arm64, 404): the unsigned one is the same kernel.
          if (!entry.unsignedImage) throw err;
          log(`kernel: ${pkgs[0]} could not be fetched, taking ${entry.unsignedImage}`);
          pkgs[0] = entry.unsignedImage;
          image = downloadPackages(gen, pkgs.slice(0, 1), debsDir);
        }
        const debs = [...image, ...downloadPackages(gen, pkgs.slice(1), debsDir)];
        for (const deb of debs) run('dpkg-deb', ['-x', deb, tmp]);
      } finally {
        rmSync(debsDir, { recursive: true, force: true });
      }
      const headers = `linux-headers-${release}`;
      // The arch headers include the common headers by absolute path: point it into the cache.
      const makefile = path.join(tmp, 'usr', 'src', headers, 'Makefile');
      // (7.x also names its own folder in KBUILD_OUTPUT=.)
      if (!entry.unbuildable)
        writeFileSync(makefile, readFileSync(makefile, 'utf8').replace(/(^|[\s=])\/usr\/src\/linux-headers-/gm, `$1${root}/usr/src/linux-headers-`));
      // Without headers there is no Makefile to read the upstream version
      // from: the archive's package version says it (6.16.3-1~bpo13+1: 6.16.3).
      else writeFileSync(path.join(tmp, UPSTREAM_FILE), `${entry.upstream}\n`);
      // Packages of trixie and later install modules under /usr/lib (merged /usr).
      if (!existsSync(path.join(tmp, 'lib', 'modules')) && existsSync(path.join(tmp, 'usr', 'lib', 'modules'))) {
        mkdirSync(path.join(tmp, 'lib'), { recursive: true });
        symlinkSync('../usr/lib/modules', path.join(tmp, 'lib', 'modules'));
      }
      // Debian generates modules.dep at install time; do the same for the unpacked tree.
      // (An image whose linux-modules the archive lost has none: an empty folder.)
      if (!existsSync(path.join(tmp, 'lib', 'modules', release))) mkdirSync(path.join(tmp, 'lib', 'modules', release), { recursive: true });
      run('depmod', ['-b', tmp, release]);
    });
    writeFileSync(stamp, `${pkgs.join('\n')}\n`);
  }
  const buildDir = headersDir(release);
  // An image-only kernel: its upstream version is the archive entry's, recorded at unpacking.
  const recorded = path.join(root, UPSTREAM_FILE);
  const imageOnly = !existsSync(path.join(buildDir, 'Makefile')) && existsSync(recorded) ? `no linux-headers-${release} in the archive` : undefined;
  const upstream = imageOnly ? readFileSync(recorded, 'utf8').trim() : kernelUpstream(release, buildDir);
  if (imageOnly) log(`kernel ${release}: upstream ${upstream} from the archive's package version (image only: no headers Makefile to read it from)`);
  const suite = imageOnly ? undefined : buildRootSuite(release);
  return {
    buildRoot: suite ? ensureBuildRoot(suite, log, arch === hostArch() ? undefined : arch) : undefined,
    release,
    upstream,
    ...(imageOnly ? { imageOnly } : {}),
    arch,
    root,
    // 7.x installs the image next to its modules.
    vmlinuz:
      [path.join(root, 'boot', `vmlinuz-${release}`), path.join(root, 'lib', 'modules', release, 'vmlinuz')].find((f) => existsSync(f)) ??
      path.join(root, 'boot', `vmlinuz-${release}`),
    modulesDir: path.join(root, 'lib', 'modules', release),
    buildDir,
  };
}

function crossArgs(kernel: Kernel): string[] {
  return crossCompileArgs(kernel.arch);
}

/** Copies kmod/ without build products, so each kernel builds in its own tree. */
function copyKmodSources(dir: string): void {
  cpSync(path.join(projectRoot, 'kmod'), dir, {
    recursive: true,
    filter: (src) => !/\.(o|ko|mod|cmd)$|\.mod\.c$|modules\.order|Module\.symvers/.test(src),
  });
}

/** The module's source files (what a built guplab.ko depends on). */
export function kmodSources(): string[] {
  const dir = path.join(projectRoot, 'kmod');
  const files = ['Kbuild', ...readdirSync(dir).filter((f) => /\.[ch]$/.test(f)), 'uapi/guplab.h'];
  return files.map((f) => path.join(dir, f));
}

/** Builds kmod/ against the kernel's headers (cached by source hash) and returns guplab.ko. */
export function buildModule(kernel: Kernel, log: (msg: string) => void): string {
  if (kernel.imageOnly) throw new Error(`kernel ${kernel.release} cannot have guplab.ko: ${kernel.imageOnly}: ${NO_MODULE_HINT}`);
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
    // Kernels of another Debian release build in its root, which has sparse too.
    const sparse = kernel.buildRoot ? existsSync(path.join(kernel.buildRoot, 'usr', 'bin', 'sparse')) : spawnSync('sparse', ['--version']).status === 0;
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

/** The kernel's .config: the headers' (or build tree's), else the image package's /boot/config-RELEASE. */
export function kernelConfig(kernel: Kernel): string {
  const files = [path.join(kernel.buildDir, '.config'), path.join(kernel.root, 'boot', `config-${kernel.release}`)];
  const file = files.find((f) => existsSync(f));
  if (!file)
    throw new Error(
      `kernel ${kernel.release} has no .config (looked in ${files.join(', ')}): its headers package is incomplete; remove ${kernel.root} from the cache and run again`,
    );
  return readFileSync(file, 'utf8');
}
