// Debug kernels: --kernel LINE-debug (6.12-debug, 7.3-debug) is Debian's
// linux-source package of that line built with the arch's defconfig, the
// options a guplab guest needs, the checkers mm developers test with
// (KASAN, KFENCE, UBSAN, lockdep, DEBUG_VM, DEBUG_PAGEALLOC) and
// CONFIG_GUP_TEST. Built once on the host's compiler, cached by source
// version and config hash, and booted as a user kernel (lib/kernels/userkernel.ts).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ARCHES } from '../vm/arch.js';
import { resolveKernel, type ArchiveKernel } from './archive.js';
import { cachedDir } from './cache.js';
import { run } from '../vm/exec.js';
import { fetchSourceTarball, linuxSourceFor, type SourcePackage } from './linuxsource.js';
import { cacheRoot, hostArch, type Arch } from '../vm/paths.js';

type Log = (msg: string) => void;

export const DEBUG_SUFFIX = '-debug';

/** The line a debug spec names ("6.12-debug" -> "6.12"), or undefined for any other spec. */
export function debugLine(spec: string): string | undefined {
  return spec.endsWith(DEBUG_SUFFIX) ? spec.slice(0, -DEBUG_SUFFIX.length) : undefined;
}

/**
 * Kernel command line of a debug guest: 4-level paging. With QEMU's `-cpu
 * max` the guest has LA57, and a KASAN kernel (6.12 and 7.3 alike) then
 * reports a false `wild-memory-access` when an interrupt lands while
 * identify_cpu() has cleared boot_cpu_data's capabilities (before the
 * alternatives are patched, pgtable_l5_enabled() reads X86_FEATURE_LA57
 * from there, so KASAN's addr_has_metadata() takes the 5-level direct map for
 * unmapped memory). docs/debug-kernel.md has the trace.
 */
export const DEBUG_APPEND = ['no5lvl'];

/** Bumped when the build recipe changes in a way the config hash does not see. */
const RECIPE = 1;

/**
 * Options that must come out of olddefconfig as given (a line that lacks
 * one, or a dependency that keeps it off, is an error naming it).
 */
export const DEBUG_REQUIRED: Readonly<Record<string, string>> = {
  // What the guest boots with: all built in, so the guest loads no module but guplab.ko.
  CONFIG_VIRTIO_PCI: 'y',
  CONFIG_VIRTIO_BLK: 'y',
  CONFIG_NET_9P: 'y',
  CONFIG_NET_9P_VIRTIO: 'y',
  CONFIG_9P_FS: 'y',
  CONFIG_OVERLAY_FS: 'y',
  CONFIG_TMPFS: 'y',
  CONFIG_DEVTMPFS: 'y',
  CONFIG_BLK_DEV_INITRD: 'y',
  CONFIG_UNIX: 'y',
  CONFIG_MODULES: 'y',
  CONFIG_MODULE_UNLOAD: 'y',
  // What the probes and kernel tests exercise.
  CONFIG_EXT4_FS: 'y',
  CONFIG_XFS_FS: 'y',
  CONFIG_ZONE_DEVICE: 'y',
  CONFIG_FS_DAX: 'y',
  CONFIG_LIBNVDIMM: 'y',
  CONFIG_BLK_DEV_PMEM: 'y',
  CONFIG_TRANSPARENT_HUGEPAGE: 'y',
  CONFIG_HUGETLBFS: 'y',
  CONFIG_USERFAULTFD: 'y',
  CONFIG_KSM: 'y',
  CONFIG_NUMA: 'y',
  CONFIG_MEMORY_HOTPLUG: 'y',
  CONFIG_MEMORY_HOTREMOVE: 'y',
  CONFIG_CMA: 'y',
  CONFIG_MIGRATION: 'y',
  // HMM_MIRROR has no prompt: test_hmm (lib/test_hmm.c, harmless when unused) selects it.
  CONFIG_DEVICE_PRIVATE: 'y',
  CONFIG_TEST_HMM: 'y',
  CONFIG_HMM_MIRROR: 'y',
  CONFIG_MMU_NOTIFIER: 'y',
  CONFIG_MEMORY_FAILURE: 'y',
  CONFIG_HWPOISON_INJECT: 'y',
  CONFIG_DEBUG_FS: 'y',
  CONFIG_GUP_TEST: 'y',
  // What the hardening tests hold the module to (Debian's kernels have them; defconfig does not).
  CONFIG_MEMCG: 'y',
  CONFIG_SECURITY: 'y',
  CONFIG_SECURITY_YAMA: 'y',
  CONFIG_SECURITY_LANDLOCK: 'y',
  // The checkers.
  CONFIG_KASAN: 'y',
  CONFIG_KASAN_GENERIC: 'y',
  CONFIG_KFENCE: 'y',
  CONFIG_UBSAN: 'y',
  CONFIG_UBSAN_BOUNDS: 'y',
  CONFIG_UBSAN_SHIFT: 'y',
  CONFIG_PROVE_LOCKING: 'y',
  CONFIG_PROVE_RCU: 'y',
  CONFIG_DEBUG_ATOMIC_SLEEP: 'y',
  CONFIG_DEBUG_VM: 'y',
  CONFIG_DEBUG_VM_PGFLAGS: 'y',
  CONFIG_DEBUG_PAGEALLOC: 'y',
  CONFIG_DEBUG_PAGEALLOC_ENABLE_DEFAULT: 'y',
  CONFIG_DEBUG_LIST: 'y',
  // A faster build: no debug info (traces are symbolized from kallsyms).
  CONFIG_DEBUG_INFO_NONE: 'y',
  CONFIG_LOCALVERSION_AUTO: 'n',
};

/** Checkers taken where the line has them, unchecked (5.10 has no maple tree, so no DEBUG_VM_MAPLE_TREE); 6.12 and 7.3 have all four. */
export const DEBUG_OPTIONAL: Readonly<Record<string, string>> = {
  CONFIG_DEBUG_VM_RB: 'y',
  CONFIG_DEBUG_VM_MAPLE_TREE: 'y',
  CONFIG_DEBUG_VM_IRQSOFF: 'y',
  CONFIG_DEBUG_VM_PGTABLE: 'y',
};

/**
 * What defconfig builds and a guest never uses (network drivers and IP,
 * SCSI/ATA, USB, graphics, sound, other filesystems): off, for a build about
 * half as long; not checked (a line may lack some of them).
 */
export const DEBUG_TRIM: readonly string[] = [
  'INET',
  'NETDEVICES',
  'WIRELESS',
  'CFG80211',
  'RFKILL',
  'NETFILTER',
  'NET_SCHED',
  'XFRM',
  'PACKET',
  'DNS_RESOLVER',
  'ETHERNET',
  'WLAN',
  'IPV6',
  'NFS_FS',
  'ROOT_NFS',
  'ISO9660_FS',
  'VFAT_FS',
  'MSDOS_FS',
  'FAT_FS',
  'AUTOFS_FS',
  'QUOTA',
  'SCSI',
  'ATA',
  'MD',
  'USB_SUPPORT',
  'HID',
  'DRM',
  'FB',
  'VT',
  'LOGO',
  'AGP',
  'VGA_ARB',
  'SOUND',
  'PCCARD',
  'HOTPLUG_PCI',
  'CDROM',
  'BLK_DEV_SR',
  'INPUT_MOUSE',
  'INPUT_JOYSTICK',
  'INPUT_TABLET',
  'INPUT_TOUCHSCREEN',
  'INPUT_MISC',
  'I2C',
  'SPI',
  'HWMON',
  'THERMAL',
  'WATCHDOG',
  'POWER_SUPPLY',
  'CPU_FREQ',
  'HIBERNATION',
  'SUSPEND',
  'EFI',
  'KEYS',
  'AUDIT',
  'SECURITY_SELINUX',
  'SECURITY_APPARMOR',
  'PROFILING',
  'KPROBES',
  'FTRACE',
  'BPF_SYSCALL',
  'MICROCODE',
  'PERF_EVENTS_INTEL_UNCORE',
];

/** The config fragment merged over defconfig and kvm_guest.config for an arch. */
export function debugConfigFragment(arch: Arch): string {
  const a = ARCHES[arch];
  const lines = [
    ...DEBUG_TRIM.map((o) => `CONFIG_${o}=n`),
    ...Object.entries({ ...DEBUG_REQUIRED, ...DEBUG_OPTIONAL }).map(([o, v]) => `${o}=${v}`),
    ...[a.consoleConfig, ...a.pmem.config].map((o) => `${o}=y`),
    `CONFIG_LOCALVERSION="${DEBUG_SUFFIX}"`,
  ];
  return `${lines.join('\n')}\n`;
}

/** The value an option has in a .config: 'y', 'm', a string, or 'n' (unset or absent). */
export function configValue(config: string, option: string): string {
  const m = new RegExp(`^${option}=(.*)$`, 'm').exec(config);
  return m ? m[1]!.replace(/^"(.*)"$/, '$1') : 'n';
}

/** Required options the resolved .config does not have as asked: "CONFIG_X=y (got n)". Pure. */
export function unmetOptions(config: string, arch: Arch): string[] {
  const a = ARCHES[arch];
  const wanted: Record<string, string> = { ...DEBUG_REQUIRED, ...Object.fromEntries([a.consoleConfig, ...a.pmem.config].map((o) => [o, 'y'])) };
  return Object.entries(wanted)
    .filter(([o, v]) => configValue(config, o) !== v)
    .map(([o, v]) => `${o}=${v} (got ${configValue(config, o)})`);
}

export interface DebugKernelBuild {
  /** The kernel build tree (O=), with the image and .config. */
  buildDir: string;
  image: string;
  source: SourcePackage;
  /** Seconds the build took, when it ran now (undefined when cached). */
  builtInS?: number;
}

/**
 * The source package a debug spec builds from: resolved in the archive's
 * lists before anything is downloaded (a line without one is an error
 * naming the lines that have one).
 */
export function debugSourceFor(
  line: string,
  arch: Arch,
  kernels: readonly ArchiveKernel[],
  gen: string,
  hostBase: string,
): { entry: ArchiveKernel; source: SourcePackage } {
  if (arch !== 'x86_64')
    throw new Error(
      `--kernel ${line}${DEBUG_SUFFIX}: debug kernels are built for x86_64 guests only (an arm64 one is a cross build of an hour or more on this machine kind): pass --arch x86_64`,
    );
  if (hostArch() !== 'x86_64') throw new Error(`--kernel ${line}${DEBUG_SUFFIX}: debug kernels are built on x86_64 hosts only`);
  const entry = resolveKernel(line, arch, kernels, hostBase);
  return { entry, source: linuxSourceFor(entry, gen) };
}

/** Builds (or finds cached) the debug kernel of a source package. */
export function ensureDebugKernel(source: SourcePackage, arch: Arch, gen: string, log: Log): DebugKernelBuild {
  const series = source.name.replace(/^linux-source-/, '');
  const root = path.join(cacheRoot(), 'debug-kernels');
  const srcDir = cachedDir(
    path.join(root, 'src', `${source.name}_${source.version.replace(/[^\w.+~-]/g, '_')}`),
    `${source.name} ${source.version} (the whole tree)`,
    log,
    (tmp) => {
      log(`debug kernel: downloading ${source.name}=${source.version}`);
      const tarball = fetchSourceTarball(source, gen, tmp);
      log(`debug kernel: unpacking ${path.basename(tarball)}`);
      run('tar', ['-xJf', tarball, '-C', tmp]);
      run('rm', ['-rf', path.join(tmp, 'usr')]);
    },
  );
  const src = path.join(srcDir, `linux-source-${series}`);
  const fragment = debugConfigFragment(arch);
  const key = createHash('sha256').update(`${RECIPE}\n${source.name}=${source.version}\n${arch}\n${fragment}`).digest('hex').slice(0, 12);
  const buildDir = path.join(root, `${series}-${arch}-${key}`);
  const image = path.join(buildDir, ARCHES[arch].image);
  if (existsSync(buildDir)) {
    log(`cached: debug kernel ${source.name} ${source.version} (${buildDir})`);
    return { buildDir, image, source };
  }
  const started = Date.now();
  // Built in a temporary folder renamed into place, so a build that fails half
  // way is never taken for done (the O= tree names itself by absolute path only
  // in its generated Makefile, rewritten below).
  cachedDir(
    buildDir,
    `debug kernel from ${source.name} ${source.version} (KASAN, KFENCE, UBSAN, lockdep, DEBUG_VM, GUP_TEST; tens of minutes, once)`,
    log,
    (tmp) => {
      const make = (...args: string[]): string => run('make', ['-C', src, `O=${tmp}`, '-s', ...args]);
      make('defconfig', 'kvm_guest.config');
      writeFileSync(path.join(tmp, 'guplab-debug.config'), fragment);
      run(path.join(src, 'scripts', 'kconfig', 'merge_config.sh'), ['-m', '-O', tmp, path.join(tmp, '.config'), path.join(tmp, 'guplab-debug.config')]);
      make('olddefconfig');
      const unmet = unmetOptions(readFileSync(path.join(tmp, '.config'), 'utf8'), arch);
      if (unmet.length) {
        throw new Error(
          `${source.name} ${source.version} cannot be configured as a guplab debug kernel; after olddefconfig:\n  ${unmet.join('\n  ')}\n(an option the line lacks, or one whose dependencies are off; see lib/kernels/debugkernel.ts)`,
        );
      }
      // A progress line every 250 files: the build takes tens of minutes.
      const jobs = String(Math.max(2, Number(run('nproc', []).trim()) + 1));
      const script = `set -o pipefail; make -C "$1" -j"$2" ${path.basename(ARCHES[arch].image)} modules 2>&1 | tee "$1/build.log" | awk '/^  (CC|AS|LD|AR)/ { n++; if (n % 250 == 0) { printf "guplab: debug kernel: %d files built\\n", n > "/dev/stderr"; fflush("/dev/stderr") } }'`;
      const r = spawnSync('bash', ['-c', script, 'build', tmp, jobs], { stdio: ['ignore', 'inherit', 'inherit'] });
      if (r.status !== 0) {
        const tail = readFileSync(path.join(tmp, 'build.log'), 'utf8')
          .split('\n')
          .filter((l) => /error|Error/.test(l))
          .slice(-8);
        throw new Error(
          `the debug kernel build from ${source.name} ${source.version} failed (exit ${r.status}):\n  ${tail.join('\n  ') || 'see the log above'}`,
        );
      }
      // 7.3's kbuild (not 6.12's) writes the O= tree's own absolute path into its
      // generated Makefile (KBUILD_OUTPUT): point it at the folder it is renamed to.
      const generated = path.join(tmp, 'Makefile');
      writeFileSync(generated, readFileSync(generated, 'utf8').split(tmp).join(buildDir));
      writeFileSync(path.join(tmp, 'guplab-debug'), `${source.name}=${source.version}\nbuilt in ${Math.round((Date.now() - started) / 1000)} s\n`);
    },
  );
  return { buildDir, image, source, builtInS: Math.round((Date.now() - started) / 1000) };
}
