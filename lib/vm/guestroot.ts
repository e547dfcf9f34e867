// A guest of another arch than the host (arm64 on x86_64) still sees the
// host's root over 9p, so the project is at the same path; on top of it lies
// a read-only layer of that arch's userland: busybox for every tool in
// /usr/bin, glibc, libstdc++, Node at the host's version. The addon
// (cross-built) and the arch's variants of the npm packages with native code
// (rollup, esbuild) live in the cache, which the guest also sees at the same
// path, and are found through GUPLAB_ADDON and NODE_PATH. Everything is
// cached and reported as such: a second run downloads and builds nothing.
import { createHash } from 'node:crypto';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
  openSync,
  readSync,
  closeSync,
} from 'node:fs';
import path from 'node:path';
import { ENV } from '../contract.js';
import { projectRoot } from '../util/root.js';
import { PrivateApt } from '../kernels/apt.js';
import { run } from './exec.js';
import { ARCH_NAMES, ARCHES } from './arch.js';
import { cacheRoot, cachedDir } from '../kernels/cache.js';
import { debArch, hostArch, type Arch } from './paths.js';

/** Debian packages of the guest's arch that make up its userland layer. */
export const GUEST_DEBS = ['libc6', 'libgcc-s1', 'libstdc++6', 'busybox-static', 'libcap-ng0', 'libsmartcols1'];

/**
 * Tools the tests need that busybox lacks or does differently (setpriv
 * --bounding-set, prlimit), taken alone from their packages: the rest of
 * those packages would shadow busybox with binaries whose libraries are not
 * in the layer.
 */
export const GUEST_TOOLS: Record<string, string[]> = { 'util-linux': ['usr/bin/setpriv', 'usr/bin/prlimit'] };

export interface GuestRoot {
  /** Folder shared as the top read-only layer of the guest's root. */
  layer: string;
  /** The busybox for the initramfs. */
  busybox: string;
  /** Environment for the command in the guest. */
  env: Record<string, string>;
  /** Shell lines run in the guest before the command. */
  prelude: string[];
}

/** Where the guest keeps its copy of the addon: readable by every guest user. */
const GUEST_ADDON = '/usr/local/lib/guplab/guplab.node';

type Log = (msg: string) => void;

function key(...parts: string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p).update('\0');
  return h.digest('hex').slice(0, 12);
}

/** ELF e_machine of a file: 62 x86_64, 183 aarch64; undefined when not ELF. */
export function elfMachine(file: string): number | undefined {
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    readSync(fd, b, 0, 20, 0);
    if (b.readUInt32BE(0) !== 0x7f454c46) return undefined;
    return b.readUInt16LE(18);
  } catch {
    return undefined;
  } finally {
    closeSync(fd);
  }
}

export const ELF_MACHINE = Object.fromEntries(ARCH_NAMES.map((a) => [a, ARCHES[a].elfMachine])) as Record<Arch, number>;

function npmArch(arch: Arch): string {
  return ARCHES[arch].npm;
}

/** npm pack name@version and unpack it into dir/node_modules/name. */
function npmUnpack(name: string, version: string, nodeModules: string, work: string): void {
  const tgz = run('npm', ['pack', `${name}@${version}`, '--silent', '--pack-destination', work], { cwd: work })
    .trim()
    .split('\n')
    .at(-1)!;
  const dest = path.join(nodeModules, name);
  mkdirSync(dest, { recursive: true });
  run('tar', ['-xzf', path.join(work, tgz), '-C', dest, '--strip-components=1']);
  rmSync(path.join(work, tgz));
}

/** Merged /usr, as on the host: bin, sbin and lib of the layer move into usr/. */
export function mergeUsr(root: string): void {
  for (const d of ['bin', 'sbin', 'lib']) {
    const top = path.join(root, d);
    if (!existsSync(top) || lstatSync(top).isSymbolicLink()) continue;
    cpSync(top, path.join(root, 'usr', d), { recursive: true, verbatimSymlinks: true });
    rmSync(top, { recursive: true });
    symlinkSync(`usr/${d}`, top);
  }
}

/**
 * Busybox applet links for a layer, as usr/ paths: the guest must never fall
 * through to one of the host's binaries of the other arch.
 */
export function appletLinks(listFull: string): string[] {
  return [
    ...new Set(
      listFull
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)
        .map((l) => l.replace(/^(s?bin)\//, 'usr/$1/')),
    ),
  ].filter((l) => /^usr\/s?bin\/[\w.[\]-]+$/.test(l));
}

/**
 * The native npm packages installed for the host (os linux, cpu of the host)
 * and the name of the same package for `arch`, at the version the lock file
 * pins.
 */
export function nativePackagesFor(
  lock: { packages?: Record<string, { version?: string; cpu?: string[]; os?: string[] }> },
  installed: readonly string[],
  from: Arch,
  to: Arch,
): { name: string; version: string }[] {
  const pkgs = lock.packages ?? {};
  const out: { name: string; version: string }[] = [];
  for (const name of installed) {
    const entry = pkgs[`node_modules/${name}`];
    if (!entry?.cpu?.includes(npmArch(from)) || !entry.os?.includes('linux')) continue;
    const candidates = Object.entries(pkgs).filter(
      ([k, e]) =>
        k.startsWith('node_modules/') &&
        e.cpu?.includes(npmArch(to)) &&
        e.os?.includes('linux') &&
        k.slice('node_modules/'.length) === name.replace(npmArch(from), npmArch(to)),
    );
    const hit = candidates[0];
    if (!hit?.[1].version) throw new Error(`package-lock.json has no ${to} variant of ${name}: run npm install (npm 10 records all platforms)`);
    out.push({ name: hit[0].slice('node_modules/'.length), version: hit[1].version });
  }
  return out;
}

/** Names of installed packages with native code for this host (platform-specific optional deps). */
function installedNativePackages(): string[] {
  const nm = path.join(projectRoot, 'node_modules');
  const names: string[] = [];
  for (const scope of readdirSync(nm)) {
    if (!scope.startsWith('@')) continue;
    for (const n of readdirSync(path.join(nm, scope))) {
      const file = path.join(nm, scope, n, 'package.json');
      if (!existsSync(file)) continue;
      const pj = JSON.parse(readFileSync(file, 'utf8')) as { cpu?: string[]; os?: string[] };
      if (pj.cpu && pj.os?.includes('linux')) names.push(`${scope}/${n}`);
    }
  }
  return names;
}

function ensureLayer(arch: Arch, log: Log): { layer: string; busybox: string } {
  const base = path.join(cacheRoot(), 'guest', arch);
  const nodeVersion = process.versions.node;
  const dir = path.join(base, `layer-${key(GUEST_DEBS.join(','), JSON.stringify(GUEST_TOOLS), nodeVersion, '2')}`);
  cachedDir(
    dir,
    `${arch} userland layer (${GUEST_DEBS.join(', ')}, ${Object.values(GUEST_TOOLS)
      .flat()
      .map((f) => path.basename(f))
      .join(', ')}, Node ${nodeVersion})`,
    log,
    (tmp) => {
      const apt = new PrivateApt(path.join(cacheRoot(), 'apt'), 'bookworm', [...new Set([debArch(hostArch()), ...Object.values(ARCHES).map((a) => a.debian)])]);
      apt.ensure(log);
      const debsDir = path.join(tmp, '.debs');
      log(`apt: downloading ${GUEST_DEBS.map((p) => `${p}:${debArch(arch)}`).join(' ')}`);
      for (const deb of apt.download(
        GUEST_DEBS.map((p) => `${p}:${debArch(arch)}`),
        debsDir,
      ))
        run('dpkg-deb', ['-x', deb, tmp]);
      const toolPkgs = Object.keys(GUEST_TOOLS);
      const toolDebs = apt.download(
        toolPkgs.map((p) => `${p}:${debArch(arch)}`),
        debsDir,
      );
      toolPkgs.forEach((pkg, i) => {
        const x = path.join(debsDir, 'x');
        rmSync(x, { recursive: true, force: true });
        run('dpkg-deb', ['-x', toolDebs[i]!, x]);
        for (const file of GUEST_TOOLS[pkg]!) {
          const src = [file, file.replace(/^usr\//, '')].map((f) => path.join(x, f)).find((f) => existsSync(f));
          if (!src) throw new Error(`${pkg}:${debArch(arch)} has no ${file}`);
          mkdirSync(path.dirname(path.join(tmp, file)), { recursive: true });
          cpSync(src, path.join(tmp, file));
        }
      });
      rmSync(debsDir, { recursive: true });
      mergeUsr(tmp);
      // Applet names from the host's busybox (the same Debian version); the
      // guest's own cannot run here.
      for (const link of appletLinks(run('/usr/bin/busybox', ['--list-full']))) {
        const file = path.join(tmp, link);
        if (existsSync(file) || link.endsWith('/busybox')) continue;
        mkdirSync(path.dirname(file), { recursive: true });
        symlinkSync('/usr/bin/busybox', file);
      }
      const npmWork = path.join(tmp, '.npm');
      mkdirSync(npmWork);
      log(`npm: fetching node-linux-${npmArch(arch)}@${nodeVersion}`);
      npmUnpack(`node-linux-${npmArch(arch)}`, nodeVersion, path.join(npmWork, 'node_modules'), npmWork);
      const node = path.join(npmWork, 'node_modules', `node-linux-${npmArch(arch)}`, 'bin', 'node');
      if (elfMachine(node) !== ELF_MACHINE[arch]) throw new Error(`node-linux-${npmArch(arch)}@${nodeVersion} holds no ${arch} node binary`);
      for (const d of ['usr/bin', 'usr/local/bin']) {
        mkdirSync(path.join(tmp, d), { recursive: true });
        cpSync(node, path.join(tmp, d, 'node'));
      }
      rmSync(npmWork, { recursive: true });
      writeFileSync(path.join(tmp, 'guplab-layer'), `${arch} ${GUEST_DEBS.join(' ')} node ${nodeVersion}\n`);
    },
  );
  const busybox = path.join(dir, 'usr', 'bin', 'busybox');
  if (elfMachine(busybox) !== ELF_MACHINE[arch]) throw new Error(`${busybox} is not an ${arch} binary: remove ${dir} and retry`);
  return { layer: dir, busybox };
}

function ensureNpmNatives(arch: Arch, log: Log): string {
  const lockFile = path.join(projectRoot, 'package-lock.json');
  // Only the project's own tests (vitest's bundler natives) need these; an installed copy has no lock file.
  if (!existsSync(lockFile)) return '';
  const lockText = readFileSync(lockFile, 'utf8');
  const wanted = nativePackagesFor(JSON.parse(lockText), installedNativePackages(), hostArch(), arch);
  const dir = path.join(cacheRoot(), 'guest', arch, `npm-${key(JSON.stringify(wanted))}`);
  cachedDir(dir, `${arch} npm packages ${wanted.map((w) => `${w.name}@${w.version}`).join(' ')}`, log, (tmp) => {
    for (const w of wanted) npmUnpack(w.name, w.version, path.join(tmp, 'node_modules'), tmp);
  });
  return path.join(dir, 'node_modules');
}

/** The prebuilt addon an installed package ships for `arch` (`make prebuilds`), if any. */
export function prebuiltAddon(arch: Arch): string | undefined {
  const file = path.join(projectRoot, 'prebuilds', `linux-${npmArch(arch)}`, 'node.napi.node');
  // A checkout builds from its own sources; an installed copy (no .git) uses what it shipped.
  return !existsSync(path.join(projectRoot, '.git')) && existsSync(file) ? file : undefined;
}

/** The addon cross-built for `arch` in the cache (the project's build/ keeps the host's), or the package's prebuild. */
export function ensureAddon(arch: Arch, log: Log): string {
  const prebuilt = prebuiltAddon(arch);
  if (prebuilt) return prebuilt;
  const sources = ['binding.gyp', ...readdirSync(path.join(projectRoot, 'native')).map((f) => `native/${f}`), 'kmod/uapi/guplab.h'];
  const h = createHash('sha256').update(process.versions.node);
  for (const s of sources) h.update(s).update(readFileSync(path.join(projectRoot, s)));
  const dir = path.join(cacheRoot(), 'guest', arch, `addon-${h.digest('hex').slice(0, 12)}`);
  cachedDir(dir, `guplab.node for ${arch}`, log, (tmp) => {
    for (const s of sources) cpSync(path.join(projectRoot, s), path.join(tmp, s));
    symlinkSync(path.join(projectRoot, 'node_modules'), path.join(tmp, 'node_modules'));
    const nodedir = path.resolve(process.execPath, '..', '..');
    const t = ARCHES[arch].triple;
    run(
      process.execPath,
      [path.join(projectRoot, 'node_modules', 'node-gyp', 'bin', 'node-gyp.js'), 'rebuild', `--arch=${npmArch(arch)}`, `--nodedir=${nodedir}`],
      {
        cwd: tmp,
        env: { ...process.env, CC: `${t}-gcc`, CXX: `${t}-g++`, LINK: `${t}-g++`, AR: `${t}-ar` },
      },
    );
    const built = path.join(tmp, 'build', 'Release', 'guplab.node');
    if (elfMachine(built) !== ELF_MACHINE[arch])
      throw new Error(`the cross build of guplab.node for ${arch} made no ${arch} binary: install g++-${t.replaceAll('_', '-')}`);
    cpSync(built, path.join(tmp, 'guplab.node'));
    rmSync(path.join(tmp, 'build'), { recursive: true });
    rmSync(path.join(tmp, 'node_modules'));
  });
  return path.join(dir, 'guplab.node');
}

/** Everything a guest of `arch` needs when the host is another arch. */
export function ensureGuestRoot(arch: Arch, log: Log): GuestRoot {
  const { layer, busybox } = ensureLayer(arch, log);
  const nodePath = ensureNpmNatives(arch, log);
  const addonFile = ensureAddon(arch, log);
  return {
    layer,
    busybox,
    env: { ...(nodePath ? { NODE_PATH: nodePath } : {}), [ENV.addon]: addonFile },
    // The cache may sit under a home only its owner can enter (/root/.cache),
    // and the guest runs tests as other users too: they load a copy in the
    // guest's own (tmpfs) upper layer.
    prelude: [`mkdir -p ${path.dirname(GUEST_ADDON)} && cp "$${ENV.addon}" ${GUEST_ADDON} && chmod 0755 ${GUEST_ADDON} && export ${ENV.addon}=${GUEST_ADDON}`],
  };
}
