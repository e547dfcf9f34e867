// Which Debian kernels exist: read from the archive's own indexes (the
// Packages files of every suite that ships a kernel line guplab boots), not
// from a hard-coded list. The indexes are fetched by apt-get update through
// a private configuration (never the system's sources) into a generation
// folder of their own, which is renamed into place whole: two runs updating
// at once each finish a complete generation, and a reader keeps the one it
// started with.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync, cpSync } from 'node:fs';
import path from 'node:path';
import { ARCHES, debArch, hostArch, parseArch, type Arch } from '../vm/arch.js';
import { systemMirrors } from './apt.js';
import { run } from '../vm/exec.js';
import { UsageError } from '../util/args.js';
import { cacheRoot } from '../vm/paths.js';

const KEYRING = '/usr/share/keyrings/debian-archive-keyring.gpg';
const STALE_MS = 24 * 3600 * 1000;

/** The suites read, oldest first; `security` ones live on the security archive. */
export const ARCHIVE_SUITES: readonly { suite: string; base: string; security?: boolean }[] = [
  { suite: 'bullseye', base: 'bullseye' },
  { suite: 'bullseye-security', base: 'bullseye', security: true },
  { suite: 'bookworm', base: 'bookworm' },
  { suite: 'bookworm-security', base: 'bookworm', security: true },
  { suite: 'bookworm-backports', base: 'bookworm' },
  { suite: 'trixie', base: 'trixie' },
  { suite: 'trixie-backports', base: 'trixie' },
];

/** One linux-image package of the archive. */
export interface ArchiveKernel {
  /** uname -r, e.g. 6.17.8+deb13-amd64 or 5.10.0-35-amd64. */
  release: string;
  /** "5.10", "6.17", "7.3". */
  series: string;
  /** Upstream version from the package version, e.g. 5.10.237. */
  upstream: string;
  /** Debian version of the image package, e.g. 5.10.237-1. */
  version: string;
  arch: Arch;
  /** The suite it was found in (the newest suite, when several carry it). */
  suite: string;
  /** The Debian release whose toolchain built it (bullseye, bookworm, trixie). */
  base: string;
  /** The image package name (without arch qualifier). */
  image: string;
  /** Packages to fetch (name=version, qualified with the guest's arch where it is not the host's). */
  packages: string[];
  /** The same kernel's unsigned image package (name=version), fetched when the signed one cannot be. */
  unsignedImage?: string;
  /**
   * Why guplab.ko cannot be built for it (the archive lost its headers),
   * when it cannot. Such a kernel still boots without the module (vm run
   * --no-module): `packages` is then its image parts alone.
   */
  unbuildable?: string;
  /**
   * Why it has no loadable modules, when the archive lost the package that
   * held them (linux-modules-RELEASE, from the linux source, goes with the
   * headers; the signed linux-binary and linux-image stay).
   */
  noModules?: string;
}

export interface ArchiveIndex {
  version: number;
  updated: string;
  kernels: ArchiveKernel[];
}

interface Stanza {
  Package: string;
  Version: string;
  /** amd64, arm64, or all (linux-headers-*-common): only arch packages take a :arch qualifier. */
  Architecture?: string;
  Depends?: string;
}

/** Bumped when the index format changes: an older index.json is rebuilt. */
const INDEX_VERSION = 4;

// --- Debian version order (dpkg's algorithm) ---

function order(c: string): number {
  if (c === '~') return -1;
  if (/\d/.test(c)) return 0;
  if (!c) return 0;
  if (/[A-Za-z]/.test(c)) return c.charCodeAt(0);
  return c.charCodeAt(0) + 256;
}

function verrevcmp(a: string, b: string): number {
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    let first = 0;
    while ((i < a.length && !/\d/.test(a[i]!)) || (j < b.length && !/\d/.test(b[j]!))) {
      const ac = order(a[i] ?? '');
      const bc = order(b[j] ?? '');
      if (ac !== bc) return ac - bc;
      i++;
      j++;
    }
    while (a[i] === '0') i++;
    while (b[j] === '0') j++;
    while (i < a.length && /\d/.test(a[i]!) && j < b.length && /\d/.test(b[j]!)) {
      if (!first) first = a.charCodeAt(i) - b.charCodeAt(j);
      i++;
      j++;
    }
    if (i < a.length && /\d/.test(a[i]!)) return 1;
    if (j < b.length && /\d/.test(b[j]!)) return -1;
    if (first) return first;
  }
  return 0;
}

/** Compares two Debian versions as dpkg does (epoch, upstream, revision). */
export function compareDebVersions(a: string, b: string): number {
  const split = (v: string): [number, string, string] => {
    const m = /^(?:(\d+):)?(.*?)(?:-([^-]*))?$/.exec(v)!;
    return [Number(m[1] ?? 0), m[2] ?? '', m[3] ?? ''];
  };
  const [ea, ua, ra] = split(a);
  const [eb, ub, rb] = split(b);
  return ea - eb || verrevcmp(ua, ub) || verrevcmp(ra, rb);
}

/** Oldest first: by upstream version, then Debian version, then release name. */
export function compareKernels(a: ArchiveKernel, b: ArchiveKernel): number {
  return compareDebVersions(a.upstream, b.upstream) || compareDebVersions(a.version, b.version) || a.release.localeCompare(b.release);
}

// --- Parsing the Packages indexes ---

/** The stanzas of kernel packages (image, binary, modules, headers) in a Packages file's text. */
export function parseStanzas(text: string): Stanza[] {
  const out: Stanza[] = [];
  for (const para of text.split(/\n\n+/)) {
    const fields: Record<string, string> = {};
    for (const m of para.matchAll(/^([A-Za-z-]+):\s*(.*)$/gm)) fields[m[1]!] = m[2]!;
    if (fields.Package && fields.Version) {
      out.push({
        Package: fields.Package,
        Version: fields.Version,
        ...(fields.Architecture ? { Architecture: fields.Architecture } : {}),
        ...(fields.Depends ? { Depends: fields.Depends } : {}),
      });
    }
  }
  return out;
}

function depNames(depends: string | undefined): { name: string; version?: string }[] {
  if (!depends) return [];
  return depends.split(',').map((d) => {
    const first = d.split('|')[0]!.trim();
    const m = /^([^\s(:]+)(?::\S+)?(?:\s*\(\s*[<>=]+\s*([^)\s]+)\s*\))?/.exec(first);
    return { name: m?.[1] ?? first, ...(m?.[2] ? { version: m[2] } : {}) };
  });
}

/**
 * The kernels of one suite and arch: every generic linux-image-RELEASE-ARCH
 * (not -rt, -cloud, -dbg, -unsigned when the signed one exists), with the
 * packages that make it up: image (and 7.x's linux-binary/linux-modules),
 * headers, common headers of the guest's arch, kbuild of the host's.
 */
export function kernelsOf(suite: { suite: string; base: string }, arch: Arch, stanzas: readonly Stanza[], hostStanzas: readonly Stanza[]): ArchiveKernel[] {
  const deb = debArch(arch);
  const byName = new Map(stanzas.map((s) => [s.Package, s]));
  const hostNames = new Set(hostStanzas.map((s) => `${s.Package}=${s.Version}`));
  const host = arch === hostArch();
  const q = (st: Stanza): string => (host || st.Architecture === 'all' ? '' : `:${deb}`);
  const re = new RegExp(`^linux-image-(\\d+\\.\\d+\\.[0-9.]+(?:-\\d+)?(?:\\+deb\\d+)?-${deb})(-unsigned)?$`);
  const out = new Map<string, ArchiveKernel>();
  for (const s of stanzas) {
    const m = re.exec(s.Package);
    if (!m) continue;
    const release = m[1]!;
    if (m[2] && byName.has(`linux-image-${release}`)) continue;
    const unsigned = m[2] ? undefined : byName.get(`linux-image-${release}-unsigned`);
    const headers = byName.get(`linux-headers-${release}`);
    const upstream = s.Version.replace(/^\d+:/, '')
      .replace(/-[^-]*$/, '')
      .replace(/[~+].*$/, '');
    const base = {
      release,
      series: /^(\d+\.\d+)/.exec(release)![1]!,
      upstream,
      version: s.Version,
      arch,
      suite: suite.suite,
      base: suite.base,
      image: s.Package,
    };
    const split = depNames(s.Depends).filter((d) => /^linux-(binary|modules)-/.test(d.name) && d.name.endsWith(release));
    const parts = split.filter((d) => byName.has(d.name)).map((d) => `${d.name}${q(byName.get(d.name)!)}=${byName.get(d.name)!.Version}`);
    const lostModules = split.find((d) => d.name.startsWith('linux-modules-') && !byName.has(d.name));
    const unsignedPart = unsigned ? { unsignedImage: `${unsigned.Package}${q(unsigned)}=${unsigned.Version}` } : {};
    if (!headers) {
      // Backports keep the signed images of old uploads after their linux
      // source (headers, kbuild, and from 6.19 linux-modules) is gone:
      // bootable without guplab.ko, but nothing to build it against.
      if (!out.has(release)) {
        out.set(release, {
          ...base,
          ...unsignedPart,
          packages: [`${s.Package}${q(s)}=${s.Version}`, ...parts],
          unbuildable: `the archive keeps only its image, not linux-headers-${release}`,
          ...(lostModules ? { noModules: `the archive keeps its image but not ${lostModules.name}` } : {}),
        });
      }
      continue;
    }
    const hdeps = depNames(headers.Depends);
    const common = hdeps
      .filter((d) => /^linux-headers-/.test(d.name) && byName.has(d.name))
      .map((d) => `${d.name}${q(byName.get(d.name)!)}=${byName.get(d.name)!.Version}`);
    // kbuild runs on the build host: the host arch's package of the same version.
    const kbuild = hdeps
      .filter((d) => /^linux-kbuild-/.test(d.name))
      .map((d) => {
        const v = [...hostNames].find((n) => n.startsWith(`${d.name}=`))?.split('=')[1];
        return v ? `${d.name}=${v}` : undefined;
      });
    if (kbuild.some((k) => !k)) {
      out.set(release, {
        ...base,
        ...unsignedPart,
        packages: [`${s.Package}${q(s)}=${s.Version}`, ...parts],
        unbuildable: `the archive has no ${debArch(hostArch())} linux-kbuild for it`,
      });
      continue;
    }
    out.set(release, {
      ...base,
      ...unsignedPart,
      packages: [`${s.Package}${q(s)}=${s.Version}`, ...parts, `${headers.Package}${q(headers)}=${headers.Version}`, ...common, ...(kbuild as string[])],
    });
  }
  return [...out.values()];
}

// --- The private apt configuration and its generations ---

function archiveDir(): string {
  return path.join(cacheRoot(), 'archive');
}

/** The apt options of an archive generation (its sources, lists and download cache), for apt-get and apt-cache. */
export function archiveAptOptions(gen: string): string[] {
  return aptOptions(gen);
}

function aptOptions(gen: string): string[] {
  const archs = [...new Set([debArch(hostArch()), ...Object.values(ARCHES).map((a) => a.debian)])];
  return [
    '-o',
    `Dir::Etc::SourceList=${path.join(gen, 'sources.list')}`,
    '-o',
    'Dir::Etc::SourceParts=/nonexistent',
    '-o',
    `Dir::State=${path.join(gen, 'state')}`,
    '-o',
    'Dir::State::status=/var/lib/dpkg/status',
    '-o',
    `Dir::Cache=${path.join(gen, 'cache')}`,
    '-o',
    'Debug::NoLocking=1',
    '-o',
    'APT::Sandbox::User=root',
    '-o',
    `APT::Architectures::=${archs.join(',')}`,
    '-o',
    `APT::Architecture=${archs[0]}`,
    // Old point releases stay in the index even when their Valid-Until passed (bullseye).
    '-o',
    'Acquire::Check-Valid-Until=false',
  ];
}

function sourcesList(): string {
  const { archive, security } = systemMirrors();
  const archs = [...new Set([debArch(hostArch()), ...Object.values(ARCHES).map((a) => a.debian)])];
  const opts = `[arch=${archs.join(',')} signed-by=${KEYRING}]`;
  return `${ARCHIVE_SUITES.map((s) => `deb ${opts} ${s.security ? security : archive} ${s.suite} main`).join('\n')}\n`;
}

/** The current generation folder (resolved: a reader keeps it even when a newer one is renamed in). */
function currentGeneration(): string | undefined {
  const link = path.join(archiveDir(), 'current');
  try {
    const gen = path.resolve(archiveDir(), readlinkSync(link));
    return existsSync(path.join(gen, 'index.json')) ? gen : undefined;
  } catch {
    return undefined;
  }
}

function listFiles(gen: string, suite: string, deb: string): string[] {
  const lists = path.join(gen, 'state', 'lists');
  const re = new RegExp(`_dists_${suite.replace(/[.-]/g, '\\$&')}_main_binary-${deb}_Packages(\\.\\w+)?$`);
  return readdirSync(lists)
    .filter((f) => re.test(f))
    .map((f) => path.join(lists, f));
}

/** Kernel stanzas of a Packages list file (decompressed by apt-helper, filtered by awk). */
function readStanzas(file: string): Stanza[] {
  const text = run('sh', [
    '-c',
    `/usr/lib/apt/apt-helper cat-file "$0" | awk 'BEGIN{RS="";ORS="\\n\\n"} /^Package: linux-(image|headers|kbuild|binary|modules)-[0-9]/'`,
    file,
  ]);
  return parseStanzas(text);
}

function buildIndex(gen: string): ArchiveIndex {
  const kernels: ArchiveKernel[] = [];
  const host = debArch(hostArch());
  for (const suite of ARCHIVE_SUITES) {
    const hostStanzas = listFiles(gen, suite.suite, host).flatMap(readStanzas);
    for (const a of Object.values(ARCHES)) {
      const stanzas = a.debian === host ? hostStanzas : listFiles(gen, suite.suite, a.debian).flatMap(readStanzas);
      kernels.push(...kernelsOf(suite, a.name, stanzas, hostStanzas));
    }
  }
  // A release carried by several suites (a point release and its security
  // update) is the same package name: keep the newest version.
  const best = new Map<string, ArchiveKernel>();
  for (const k of kernels) {
    const key = `${k.arch}/${k.release}`;
    const had = best.get(key);
    if (!had || (had.unbuildable && !k.unbuildable) || (!!had.unbuildable === !!k.unbuildable && compareDebVersions(k.version, had.version) > 0))
      best.set(key, k);
  }
  return { version: INDEX_VERSION, updated: new Date().toISOString(), kernels: [...best.values()].sort(compareKernels) };
}

/**
 * The archive index: the current generation when it is younger than a day
 * (or `offline`), else a fresh apt-get update into a new generation renamed
 * into place. Returns the index and the generation folder (for downloads).
 */
export function archiveIndex(log: (msg: string) => void, opts: { refresh?: boolean } = {}): { index: ArchiveIndex; gen: string } {
  const dir = archiveDir();
  const cur = currentGeneration();
  const sources = sourcesList();
  const curIndex = cur ? (JSON.parse(readFileSync(path.join(cur, 'index.json'), 'utf8')) as ArchiveIndex) : undefined;
  if (
    cur &&
    curIndex?.version === INDEX_VERSION &&
    !opts.refresh &&
    readFileSync(path.join(cur, 'sources.list'), 'utf8') === sources &&
    Date.now() - statSync(path.join(cur, 'index.json')).mtimeMs < STALE_MS
  ) {
    return { index: curIndex, gen: cur };
  }
  mkdirSync(dir, { recursive: true });
  const gen = path.join(dir, `gen-${Date.now()}-${process.pid}`);
  const tmp = `${gen}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  try {
    mkdirSync(path.join(tmp, 'state', 'lists', 'partial'), { recursive: true });
    mkdirSync(path.join(tmp, 'cache', 'archives', 'partial'), { recursive: true });
    // Start from the previous lists: apt then fetches only what changed.
    if (cur) cpSync(path.join(cur, 'state', 'lists'), path.join(tmp, 'state', 'lists'), { recursive: true, filter: (f) => !f.endsWith('/lock') });
    writeFileSync(path.join(tmp, 'sources.list'), sources);
    log(`archive: updating the package lists of ${ARCHIVE_SUITES.map((s) => s.suite).join(', ')} (private apt configuration in ${dir})`);
    run('apt-get', [...aptOptions(tmp), 'update'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const index = buildIndex(tmp);
    if (!index.kernels.length) throw new Error(`the archive lists in ${tmp} name no kernel: check the Debian mirror in /etc/apt/sources.list(.d)`);
    writeFileSync(path.join(tmp, 'index.json'), `${JSON.stringify(index, null, 1)}\n`);
    renameSync(tmp, gen);
  } catch (err) {
    rmSync(tmp, { recursive: true, force: true });
    if (cur && curIndex?.version === INDEX_VERSION) {
      log(`archive: update failed, using the lists of ${path.basename(cur)}: ${err instanceof Error ? err.message.split('\n')[0] : String(err)}`);
      return { index: JSON.parse(readFileSync(path.join(cur, 'index.json'), 'utf8')) as ArchiveIndex, gen: cur };
    }
    throw err;
  }
  // Point `current` at it atomically (a symlink renamed over the old one).
  const link = path.join(dir, `current.${process.pid}`);
  rmSync(link, { force: true });
  symlinkSync(path.basename(gen), link);
  renameSync(link, path.join(dir, 'current'));
  // Older generations go once nobody can still be reading them (an hour).
  for (const d of readdirSync(dir)) {
    const full = path.join(dir, d);
    if (/^gen-/.test(d) && full !== gen && Date.now() - statSync(full).mtimeMs > 3600 * 1000) rmSync(full, { recursive: true, force: true });
  }
  return { index: JSON.parse(readFileSync(path.join(gen, 'index.json'), 'utf8')) as ArchiveIndex, gen };
}

/** Downloads packages (name[:arch]=version) into dir with the archive's apt configuration. */
export function downloadPackages(gen: string, pkgs: readonly string[], dir: string): string[] {
  // apt-get download of nothing fails ("Handler silently failed"): an image-only kernel may be one package.
  if (!pkgs.length) return [];
  mkdirSync(dir, { recursive: true });
  run('apt-get', [...aptOptions(gen), 'download', ...pkgs], { cwd: dir });
  const files = readdirSync(dir).filter((f) => f.endsWith('.deb'));
  return pkgs.map((pkg) => {
    const name = pkg.split(/[:=]/)[0]!;
    const file = files
      .filter((f) => f.startsWith(`${name}_`))
      .sort()
      .at(-1);
    if (!file) throw new Error(`apt-get download left no .deb for ${pkg} in ${dir}`);
    return path.join(dir, file);
  });
}

// --- Resolution ---

/** Series present for an arch, oldest first ("5.10", "6.1", ...). */
export function seriesOf(kernels: readonly ArchiveKernel[], arch: Arch): string[] {
  const list = kernels.filter((k) => k.arch === arch);
  return [...new Set(list.map((k) => k.series))].sort(compareDebVersions);
}

/** What a resolution is for: by default a boot with guplab.ko, which needs the kernel's headers. */
export interface ResolveOptions {
  /** false: a boot without guplab.ko (vm run --no-module): image-only kernels are usable too. */
  module?: boolean;
}

/** The flag that boots a kernel without guplab.ko, as refusals name it. */
export const NO_MODULE_HINT = 'boot it without guplab.ko with --no-module (guplab vm run --no-module, guplab consumers check --vm)';

/**
 * What `--kernel SPEC` names for an arch: a series ("6.17": its newest
 * release), a major ("7": the newest of all 7.x), an upstream version
 * ("6.12.57": the newest package of it) or an exact release, with or
 * without the arch suffix ("6.17.8+deb13", "5.10.0-35-amd64"). Throws a
 * one-line error naming what exists. A boot with the module takes only
 * kernels with headers; one without (`module: false`) takes image-only
 * ones too, preferring a release with headers where a series has both
 * (the same kernel as the module's runs).
 */
export function resolveKernel(spec: string, arch: Arch, kernels: readonly ArchiveKernel[], hostBase = 'bookworm', opts: ResolveOptions = {}): ArchiveKernel {
  const module = opts.module ?? true;
  const deb = debArch(arch);
  // Of two builds of one upstream version (6.12.117+deb12, +deb13), the
  // host's release's is "newer": its modules build without a Debian root.
  const list = kernels
    .filter((k) => k.arch === arch)
    .sort((a, b) => compareDebVersions(a.upstream, b.upstream) || Number(a.base === hostBase) - Number(b.base === hostBase) || compareKernels(a, b));
  const other = Object.values(ARCHES).find((a) => a.name !== arch && spec.endsWith(`-${a.debian}`));
  if (other) throw new Error(`kernel ${spec} is built for ${other.name}, not ${arch}: pass --arch ${other.name} or the -${deb} release`);
  const series = seriesOf(kernels, arch);
  const known = `the archive has ${series.join(', ')} for ${arch} (guplab kernels --arch ${arch} lists every release)`;
  let found: ArchiveKernel | undefined;
  if (/^\d+(\.\d+)?$/.test(spec)) {
    const all = list.filter((k) => (spec.includes('.') ? k.series === spec : k.series.split('.')[0] === spec));
    found = all.filter((k) => !k.unbuildable).at(-1) ?? (module ? undefined : all.at(-1));
    if (!found && all.length) {
      const buildable = seriesOf(
        kernels.filter((k) => !k.unbuildable),
        arch,
      );
      throw new UsageError(
        `kernel ${spec} for ${arch}: ${all.map((k) => k.release.replace(`-${deb}`, '')).join(', ')} ${all.length > 1 ? 'are' : 'is'} in the archive as image only (${all[0]!.unbuildable}), so guplab.ko cannot be built for it: ${NO_MODULE_HINT}, or take a series with headers: ${buildable.join(', ')}`,
      );
    }
  } else {
    const release = spec.endsWith(`-${deb}`) ? spec : `${spec}-${deb}`;
    const same = list.filter((k) => k.upstream === spec);
    found = list.find((k) => k.release === release) ?? same.filter((k) => !k.unbuildable).at(-1) ?? same.at(-1);
    if (!found) {
      const s = /^(\d+\.\d+)/.exec(spec)?.[1];
      const same = list.filter((k) => k.series === s);
      if (same.length)
        throw new UsageError(
          `kernel ${spec} is not in the archive for ${arch}; its series ${s} has ${same.map((k) => k.release.replace(`-${deb}`, '')).join(', ')}`,
        );
      throw new UsageError(`kernel ${spec} is not in the archive for ${arch}: ${known}`);
    }
  }
  if (!found) throw new UsageError(`no Debian kernel series ${spec} for ${arch}: ${known}`);
  if (found.unbuildable && module)
    throw new UsageError(
      `kernel ${found.release} cannot have guplab.ko: ${found.unbuildable}, so the module cannot be built for it: ${NO_MODULE_HINT} (guplab kernels --arch ${arch} marks the ones with headers)`,
    );
  return found;
}

/**
 * resolveKernel's choice first, then, for a series or a major, the older
 * usable releases of it (newest first): a mirror may lack the newest files.
 */
export function kernelCandidates(
  spec: string,
  arch: Arch,
  kernels: readonly ArchiveKernel[],
  hostBase = 'bookworm',
  opts: ResolveOptions = {},
): ArchiveKernel[] {
  const first = resolveKernel(spec, arch, kernels, hostBase, opts);
  if (!/^\d+(\.\d+)?$/.test(spec)) return [first];
  const usable = (k: ArchiveKernel): boolean => !k.unbuildable || (opts.module === false && Boolean(first.unbuildable));
  const same = kernels
    .filter((k) => k.arch === arch && usable(k) && k !== first && (spec.includes('.') ? k.series === spec : k.series.split('.')[0] === spec))
    .sort((a, b) => compareKernels(b, a));
  return [first, ...same];
}

/** The arch named by --arch, or a one-line error naming those guplab can boot. */
export { parseArch };

/** Rows for `guplab kernels`: per arch and series, the releases, the newest and what is cached. */
export function kernelsTable(kernels: readonly ArchiveKernel[], arches: readonly Arch[], cached: (release: string) => boolean, hostBase = 'bookworm'): string {
  const lines: string[] = [];
  for (const arch of arches) {
    lines.push(`${arch} (Debian ${debArch(arch)}):`);
    lines.push(
      `  ${'series'.padEnd(6)} ${'--kernel SERIES takes'.padEnd(46)} ${'suite'.padEnd(18)} ${'usable'.padStart(6)} ${'image-only'.padStart(10)}  cached`,
    );
    for (const s of seriesOf(kernels, arch)) {
      const list = kernels.filter((k) => k.arch === arch && k.series === s).sort(compareKernels);
      const usable = list.filter((k) => !k.unbuildable);
      // An image-only series boots without the module only.
      const newest = resolveKernel(s, arch, kernels, hostBase, { module: usable.length > 0 });
      const takes = usable.length ? newest.release : `${newest.release} (--no-module${newest.noModules ? ', no modules' : ''})`;
      const have = list.filter((k) => cached(k.release)).map((k) => k.release.replace(`-${debArch(arch)}`, ''));
      lines.push(
        `  ${s.padEnd(6)} ${takes.padEnd(46)} ${newest.suite.padEnd(18)} ${String(usable.length).padStart(6)} ${String(list.length - usable.length).padStart(10)}  ${have.join(', ') || '-'}`,
      );
    }
  }
  return lines.join('\n');
}
