// One record per guest arch: every fact guplab needs about an architecture
// (Debian's name, QEMU, console, cross compiler, kernel image, npm, DAX) in
// one place. Adding an arch is one record here.

export type Arch = 'x86_64' | 'arm64';

export interface ArchInfo {
  name: Arch;
  /** Debian's architecture name (package suffix, apt arch). */
  debian: string;
  /** Node's process.arch and npm's cpu name. */
  npm: string;
  /** The kernel's ARCH= for kbuild. */
  kernelArch: string;
  /** GNU triple; CROSS_COMPILE is `${triple}-`. */
  triple: string;
  /** Debian package of the cross C compiler (as installed on another host). */
  crossGcc: string;
  /** ELF e_machine of its binaries. */
  elfMachine: number;
  qemu: {
    binary: string;
    machine: string;
    /** -cpu under TCG (KVM uses host); cortex-a72 boots 3x faster than max on arm64. */
    tcgCpu: string;
  };
  /** The serial console the runner reads, and the config option that provides it. */
  console: string;
  consoleConfig: string;
  /** The config symbol that says a .config is for this arch. */
  configSymbol: string;
  /** The kernel image in a build tree. */
  image: string;
  /** How a guest of this arch gets emulated pmem (DAX without hardware). */
  pmem: PmemRoute;
  /**
   * test-vm boots each run of this arch a second time in the cma guest
   * (vm/guest.ts cmaGuest) for cma-longterm, which the full guest skips:
   * true where the area serves THPs and huge pages on Debian's kernels.
   */
  cmaBoot: boolean;
}

/**
 * Emulated pmem, per arch. memmap: the kernel command line's memmap=SIZE!START
 * marks RAM as legacy pmem (x86 only, arch/x86/kernel/e820.c), nd_e820 makes the
 * region. devicetree: QEMU's own device tree plus a `pmem-region` node over RAM
 * that mem= keeps the kernel off (QEMU rewrites the memory node to all of -m),
 * of_pmem makes the region (drivers/nvdimm/of_pmem.c).
 */
export type PmemRoute =
  | { route: 'memmap'; config: string[]; modules: string[] }
  | { route: 'devicetree'; config: string[]; modules: string[] /** Guest physical address of RAM under -machine virt. */; ramBaseMiB: number };

export const ARCHES: Readonly<Record<Arch, ArchInfo>> = {
  x86_64: {
    name: 'x86_64',
    debian: 'amd64',
    npm: 'x64',
    kernelArch: 'x86_64',
    triple: 'x86_64-linux-gnu',
    crossGcc: 'gcc-x86-64-linux-gnu',
    elfMachine: 62,
    qemu: { binary: 'qemu-system-x86_64', machine: 'q35', tcgCpu: 'max' },
    console: 'ttyS0',
    consoleConfig: 'CONFIG_SERIAL_8250_CONSOLE',
    configSymbol: 'CONFIG_X86_64',
    image: 'arch/x86/boot/bzImage',
    pmem: { route: 'memmap', config: ['CONFIG_X86_PMEM_LEGACY', 'CONFIG_BLK_DEV_PMEM'], modules: ['nd_e820', 'nd_pmem'] },
    // 6.1 and 6.12 have no CONFIG_CMA; on 7.3 (cma=1800M, 3072 MiB) no THP came from the area in 24 tries.
    cmaBoot: false,
  },
  arm64: {
    name: 'arm64',
    debian: 'arm64',
    npm: 'arm64',
    kernelArch: 'arm64',
    triple: 'aarch64-linux-gnu',
    crossGcc: 'gcc-aarch64-linux-gnu',
    elfMachine: 183,
    qemu: { binary: 'qemu-system-aarch64', machine: 'virt', tcgCpu: 'cortex-a72' },
    console: 'ttyAMA0',
    consoleConfig: 'CONFIG_SERIAL_AMBA_PL011_CONSOLE',
    configSymbol: 'CONFIG_ARM64',
    image: 'arch/arm64/boot/Image',
    // arm64 has no memmap=: a device tree pmem node (QEMU virt's RAM starts at 1 GiB, hw/arm/virt.c).
    pmem: { route: 'devicetree', config: ['CONFIG_OF_PMEM', 'CONFIG_BLK_DEV_PMEM'], modules: ['of_pmem', 'nd_pmem'], ramBaseMiB: 1024 },
    // 5.10, 6.1, 6.12, 7.3: all 8 cases ran (TCG).
    cmaBoot: true,
  },
};

export const ARCH_NAMES = Object.keys(ARCHES) as Arch[];

export function archInfo(arch: Arch): ArchInfo {
  return ARCHES[arch];
}

/** Debian's name for an arch. */
export function debArch(arch: Arch): string {
  return ARCHES[arch].debian;
}

export function hostArch(): Arch {
  const a = Object.values(ARCHES).find((x) => x.npm === process.arch);
  if (!a) throw new Error(`unsupported host arch ${process.arch}: guplab runs on ${ARCH_NAMES.join(' and ')}`);
  return a.name;
}

/** An --arch value: guplab's name or Debian's (amd64); anything else is a one-line error naming what exists. */
export function parseArch(value: string): Arch {
  const v = value.trim();
  const a = Object.values(ARCHES).find((x) => x.name === v || x.debian === v);
  if (!a)
    throw new Error(
      `unknown arch ${v}: guplab boots Debian's ${Object.values(ARCHES)
        .map((x) => `${x.name} (${x.debian})`)
        .join(' and ')} kernels`,
    );
  return a.name;
}

/** A comma-separated --arch list. */
export function parseArchList(value: string): Arch[] {
  return value.split(',').filter(Boolean).map(parseArch);
}

/** The kbuild arguments that build for `target` on this host: none natively, else ARCH= and CROSS_COMPILE=. */
export function crossCompileArgs(target: Arch, host: Arch = hostArch()): string[] {
  if (target === host) return [];
  const a = ARCHES[target];
  return [`ARCH=${a.kernelArch}`, `CROSS_COMPILE=${a.triple}-`];
}

/** The arch a kernel .config was made for. */
export function configArch(config: string): Arch | undefined {
  return Object.values(ARCHES).find((a) => new RegExp(`^${a.configSymbol}=y$`, 'm').test(config))?.name;
}
