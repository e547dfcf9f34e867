// The kernel's own GUP selftests for a Debian kernel: Debian's linux-source
// package of the kernel's line (fetched through the archive's private apt
// configuration, lib/kernels/archive.ts), mm/gup_test.c built as an out-of-tree
// module against the kernel's kbuild tree (as guplab.ko is, lib/kernels/kernel.ts),
// and the userspace selftests built statically (the guest's root is an
// overlay of the host's). Everything is cached under the guplab cache, each
// entry built in a temporary folder and renamed into place.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ArchiveKernel } from '../kernels/archive.js';
import { fetchSourceTarball, linuxSourceFor, pickLinuxSource, type SourcePackage } from '../kernels/linuxsource.js';
import { archInfo, hostArch } from '../vm/arch.js';
import { inRoot } from '../kernels/buildroot.js';
import { cachedDir, cacheRoot } from '../kernels/cache.js';
import { run } from '../vm/exec.js';
import type { Kernel } from '../kernels/kernel.js';
import { binariesOf, selftestInvocations, type Invocation, type SelftestName } from './plan.js';

type Log = (msg: string) => void;

export type { SourcePackage };

/** "6.1" for 6.1.0-57-amd64, "6.12" for 6.12.117+deb12-amd64. */
export function seriesOfRelease(release: string): string {
  const m = /^(\d+\.\d+)/.exec(release);
  if (!m) throw new Error(`cannot read a kernel series from release "${release}"`);
  return m[1]!;
}

/** The linux-source package for the selftests: a line from 5.11 on (mm/gup_test.c), then as pickLinuxSource. Pure. */
export function pickSourcePackage(series: string, kernelVersion: string, madison: string, linesWithSource: readonly string[]): SourcePackage {
  const [major, minor] = series.split('.').map(Number) as [number, number];
  if (major < 5 || (major === 5 && minor < 11)) {
    throw new Error(
      `the ${series} line predates mm/gup_test.c (5.11; ${series} has mm/gup_benchmark.c, another ABI and no selftests of it here): pass --kernel 6.1 or newer`,
    );
  }
  return pickLinuxSource(series, kernelVersion, madison, linesWithSource);
}

/** The linux-source package of a kernel for its selftests, asked of the archive's lists (no download). */
export function sourcePackageFor(entry: Pick<ArchiveKernel, 'series' | 'version'>, gen: string): SourcePackage {
  return linuxSourceFor(entry, gen, pickSourcePackage);
}

/** What of the source tree the selftests and the module need. */
const SOURCE_MEMBERS = (top: string): string[] => [
  `${top}/mm/gup_test.c`,
  `${top}/mm/gup_test.h`,
  `${top}/tools/testing/selftests/kselftest.h`,
  `${top}/tools/testing/selftests/vm`,
  `${top}/tools/testing/selftests/mm`,
  `${top}/tools/include`,
  `${top}/include/uapi`,
  `${top}/arch/x86/include/uapi`,
  `${top}/arch/arm64/include/uapi`,
];

/** The source subset of a linux-source package, unpacked once into the cache: selftests/src/<package>_<version>/linux-source-<series>. */
export function ensureSource(pkg: SourcePackage, gen: string, log: Log): string {
  const dir = path.join(cacheRoot(), 'selftests', 'src', `${pkg.name}_${pkg.version.replace(/[^\w.+~-]/g, '_')}`);
  const series = pkg.name.replace(/^linux-source-/, '');
  cachedDir(dir, `${pkg.name} ${pkg.version} (mm/gup_test.c and the mm selftests)`, log, (tmp) => {
    log(`selftests: downloading ${pkg.name}=${pkg.version}`);
    const tarball = fetchSourceTarball(pkg, gen, tmp);
    log(`selftests: unpacking the selftests and mm/gup_test.c from ${path.basename(tarball)}`);
    // Members missing in a version (selftests/vm went to mm in 6.3) are skipped.
    const members = SOURCE_MEMBERS(`linux-source-${series}`);
    const r = spawnSync('tar', ['-xJf', tarball, '-C', tmp, '--ignore-failed-read', ...members], { encoding: 'utf8' });
    if (!existsSync(path.join(tmp, `linux-source-${series}`, 'mm', 'gup_test.c'))) {
      throw new Error(
        `${pkg.name} ${pkg.version} has no mm/gup_test.c (tar: ${(r.stderr ?? '').trim().split('\n').slice(-2).join(' | ')}): the line predates gup_test (5.11)`,
      );
    }
    run('rm', ['-rf', path.join(tmp, 'usr')]);
    writeFileSync(path.join(tmp, 'package'), `${pkg.name}=${pkg.version}\n`);
  });
  return path.join(dir, `linux-source-${series}`);
}

/** Bumped when the way the userspace selftests are built changes (their cache key). */
const SELFTESTS_RECIPE = 2;

/** The selftests folder of a source tree: mm (6.3+) or vm. */
export function selftestsDir(src: string): string {
  const mm = path.join(src, 'tools', 'testing', 'selftests', 'mm');
  return existsSync(path.join(mm, 'run_vmtests.sh')) ? mm : path.join(src, 'tools', 'testing', 'selftests', 'vm');
}

/** The version's invocations (its run_vmtests.sh). */
export function invocationsOf(src: string): Invocation[] {
  const file = path.join(selftestsDir(src), 'run_vmtests.sh');
  return selftestInvocations(readFileSync(file, 'utf8'));
}

/**
 * The Kbuild of the out-of-tree gup_test.ko. mm/gup_test.c is copied
 * unchanged as gup_test_core.c; what an in-tree build gives it and a module
 * build does not is added beside it: linux/module.h (its late_initcall()
 * comes from linux/init.h through the in-tree includes; in a module it is
 * module_init) and a MODULE_LICENSE("GPL") object (modpost refuses a module
 * without one, and the GPL-only exports need it).
 */
export const GUP_TEST_KBUILD = 'obj-m := gup_test.o\ngup_test-y := gup_test_core.o gup_test_license.o\nCFLAGS_gup_test_core.o := -include linux/module.h\n';
export const GUP_TEST_LICENSE_C =
  '// SPDX-License-Identifier: GPL-2.0\n/* mm/gup_test.c built out of tree (guplab selftests): its license. */\n#include <linux/module.h>\n\nMODULE_LICENSE("GPL");\nMODULE_DESCRIPTION("mm/gup_test.c, built out of tree by guplab selftests");\n';

/** gup_test.ko cannot be built for a kernel because it does not export what gup_test.c needs: the selftests can still run without it. */
export class UnexportedSymbolsError extends Error {
  readonly symbols: string[];
  constructor(message: string, symbols: string[]) {
    super(message);
    this.name = 'UnexportedSymbolsError';
    this.symbols = symbols;
  }
}

/** modpost's complaints that make a module unloadable: symbols the kernel does not export to modules. */
export function undefinedSymbols(buildOutput: string): string[] {
  // modpost's two layouts: `"sym" [.../gup_test.ko] undefined!` and (7.3) `gup_test.ko: symbol 'sym' undefined!`.
  const old = [...buildOutput.matchAll(/"([\w.]+)" \[[^\]]*gup_test\.ko\] undefined!/g)].map((m) => m[1]!);
  const now = [...buildOutput.matchAll(/gup_test\.ko: symbol '([\w.]+)' undefined!/g)].map((m) => m[1]!);
  return [...new Set([...old, ...now])];
}

/** Builds gup_test.ko for a kernel (cached per kernel and source version); an unexported symbol is an error naming it and the line. */
export function buildGupTestModule(kernel: Kernel, src: string, sourceVersion: string, log: Log): string {
  const dir = path.join(kernel.cacheDir ?? path.join(cacheRoot(), 'kernels', kernel.release), `gup_test-${sourceVersion.replace(/[^\w.+~-]/g, '_')}`);
  cachedDir(dir, `gup_test.ko (mm/gup_test.c of ${sourceVersion}) for ${kernel.release}`, log, (tmp) => {
    writeFileSync(path.join(tmp, 'gup_test_core.c'), readFileSync(path.join(src, 'mm', 'gup_test.c')));
    writeFileSync(path.join(tmp, 'gup_test.h'), readFileSync(path.join(src, 'mm', 'gup_test.h')));
    writeFileSync(path.join(tmp, 'gup_test_license.c'), GUP_TEST_LICENSE_C);
    writeFileSync(path.join(tmp, 'Kbuild'), GUP_TEST_KBUILD);
    const cross = kernel.arch === hostArch() ? [] : [`ARCH=${archInfo(kernel.arch).kernelArch}`, `CROSS_COMPILE=${archInfo(kernel.arch).triple}-`];
    const make = ['nice', '-n', '5', 'make', '-C', kernel.buildDir, `M=${tmp}`, ...cross, 'modules'];
    const [file, args] = kernel.buildRoot ? inRoot(kernel.buildRoot, make) : [make[0]!, make.slice(1)];
    const r = spawnSync(file, args, { encoding: 'utf8', maxBuffer: 64 << 20 });
    const output = `${r.stdout ?? ''}${r.stderr ?? ''}`;
    writeFileSync(path.join(tmp, 'build.log'), output);
    const missing = undefinedSymbols(output);
    if (missing.length)
      throw new UnexportedSymbolsError(
        `mm/gup_test.c cannot be built out of tree for ${kernel.release}: the kernel does not export ${missing.join(', ')} to modules${missing.some((m) => m.startsWith('get_pfnblock_')) ? ' (CONFIG_CMA inlines it into folio_is_longterm_pinnable())' : ''}; use a line whose build passes (\`guplab selftests --kernel LINE\` builds without booting) or a kernel of your own with CONFIG_GUP_TEST=y`,
        missing,
      );
    if (r.status !== 0 || !existsSync(path.join(tmp, 'gup_test.ko'))) {
      const tail = output
        .split('\n')
        .filter((l) => /error|Error|undefined/.test(l))
        .slice(-6)
        .join(' | ');
      throw new Error(`building mm/gup_test.c against ${kernel.release} failed (exit ${r.status}): ${tail || output.split('\n').slice(-4).join(' | ')}`);
    }
  });
  return path.join(dir, 'gup_test.ko');
}

/**
 * The C files a selftest links, read from the version's Makefile: its own
 * .c, then the prerequisites of every program (`$(TEST_GEN_FILES):
 * vm_util.c thp_settings.c` in 6.12, hugepage_settings.c in 7.3, none in
 * 6.1) and of the program itself (`$(OUTPUT)/name: x.c`), those present.
 */
export function selftestSources(name: SelftestName, makefile: string, present: (file: string) => boolean): string[] {
  const extra: string[] = [];
  for (const line of makefile.split('\n')) {
    const m = /^\$\((?:TEST_GEN_FILES|TEST_GEN_PROGS)\):\s*(.+)$/.exec(line) ?? new RegExp(`^\\$\\(OUTPUT\\)/${name}:\\s*(.+)$`).exec(line);
    if (!m || /LDLIBS|CFLAGS|=/.test(m[1]!)) continue;
    extra.push(...m[1]!.split(/\s+/).filter((f) => /^[\w-]+\.c$/.test(f)));
  }
  return [`${name}.c`, ...[...new Set(extra)].filter((f) => f !== `${name}.c` && present(f))];
}

/**
 * Builds the version's GUP selftests, statically linked, for an arch
 * (cross-compiled for arm64 with the aarch64-linux-gnu toolchain), against
 * the version's own uapi headers (include/uapi, the arch's uapi and the
 * kbuild tree's generated ones): the host's linux-libc-dev is older than
 * 6.12's selftests need (PAGEMAP_SCAN). No liburing: the io_uring cases
 * skip themselves, as upstream does without it.
 */
export function buildSelftests(
  src: string,
  kernel: Kernel,
  sourceVersion: string,
  log: Log,
): { binDir: string; built: SelftestName[]; invocations: Invocation[] } {
  const dir = selftestsDir(src);
  const invocations = invocationsOf(src);
  const wanted = binariesOf(invocations).filter((b) => existsSync(path.join(dir, `${b}.c`)));
  const arch = kernel.arch;
  // r2: the recipe (sources from the Makefile, 7.x's include paths) is part of the key: a changed recipe rebuilds.
  const binDir = path.join(cacheRoot(), 'selftests', 'bin', `${sourceVersion.replace(/[^\w.+~-]/g, '_')}-${arch}-r${SELFTESTS_RECIPE}`);
  cachedDir(binDir, `the GUP selftests (${wanted.join(', ')}) of ${sourceVersion} for ${arch}`, log, (tmp) => {
    // local_config.h comes from check_config.sh (liburing or not): empty = without.
    // (named local_config.h_gen from 7.x on)
    for (const f of ['local_config.h', 'local_config.h_gen']) writeFileSync(path.join(tmp, f), '/* guplab selftests: built without liburing */\n');
    const karch = archInfo(arch).kernelArch === 'x86_64' ? 'x86' : archInfo(arch).kernelArch;
    const cc = arch === hostArch() ? 'gcc' : `${archInfo(arch).triple}-gcc`;
    // tools/testing/selftests: 7.x includes "kselftest.h" without the ../ of earlier versions.
    const includes = [
      tmp,
      src,
      path.join(src, 'tools', 'testing', 'selftests'),
      path.join(src, 'tools', 'include'),
      path.join(src, 'include', 'uapi'),
      path.join(src, 'arch', karch, 'include', 'uapi'),
      path.join(kernel.buildDir, 'arch', karch, 'include', 'generated', 'uapi'),
    ];
    const makefile = existsSync(path.join(dir, 'Makefile')) ? readFileSync(path.join(dir, 'Makefile'), 'utf8') : '';
    for (const name of wanted) {
      const files = selftestSources(name, makefile, (f) => existsSync(path.join(dir, f)));
      const args = [
        '-n',
        '5',
        cc,
        '-static',
        '-O2',
        '-Wall',
        '-U_FORTIFY_SOURCE',
        '-D__user=',
        ...includes.flatMap((i) => ['-I', i]),
        '-o',
        path.join(tmp, name),
        ...files,
        '-lrt',
        '-lpthread',
        '-lm',
      ];
      const r = spawnSync('nice', args, { cwd: dir, encoding: 'utf8' });
      if (r.error) throw new Error(`${cc} could not be run (${r.error.message}): install it (scripts/deps.sh installs gcc and gcc-aarch64-linux-gnu)`);
      if (r.status !== 0) {
        const errors = `${r.stderr}`
          .split('\n')
          .filter((l) => /error/.test(l))
          .slice(0, 4)
          .join(' | ');
        throw new Error(`building the ${name} selftest of ${sourceVersion} for ${arch} failed: ${errors || `${cc} exit ${r.status}`}`);
      }
    }
    writeFileSync(path.join(tmp, 'built'), `${wanted.join('\n')}\n`);
  });
  const built = readFileSync(path.join(binDir, 'built'), 'utf8').split('\n').filter(Boolean) as SelftestName[];
  return { binDir, built, invocations };
}
