// Emulated pmem on device-tree machines (arm64 -machine virt): QEMU writes the
// device tree it would give the guest (-machine ...,dumpdtb=FILE, the same
// command line otherwise), dtc adds one `pmem-region` node per region, and
// the guest boots with -dtb. The kernel's of_pmem driver
// (drivers/nvdimm/of_pmem.c, compatible "pmem-region") turns each node into
// an nd_region; nd_pmem makes /dev/pmemN of it. A region's filesystem is
// made on the host (an arm64 guest on x86_64 has no mkfs of its arch) and
// QEMU's generic loader writes it into the region's RAM before the guest
// starts: the guest finds /dev/pmemN formatted, as on a real NVDIMM.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { makeFsImage, type GuestFs } from './guest.js';

export interface PmemRegion {
  /** Guest physical address, MiB. */
  startMiB: number;
  sizeMiB: number;
  /** The filesystem to put on it. */
  fs?: GuestFs;
}

/** The dts text that adds the regions (root #address-cells and #size-cells are 2 on virt). */
export function pmemNodes(regions: readonly PmemRegion[]): string {
  const cells = (mib: number): string => {
    const bytes = BigInt(mib) << 20n;
    return `0x${(bytes >> 32n).toString(16)} 0x${(bytes & 0xffffffffn).toString(16)}`;
  };
  const nodes = regions.map((r) => {
    const unit = (BigInt(r.startMiB) << 20n).toString(16);
    return `\tpmem@${unit} {\n\t\tcompatible = "pmem-region";\n\t\treg = <${cells(r.startMiB)} ${cells(r.sizeMiB)}>;\n\t};`;
  });
  return `\n/ {\n${nodes.join('\n')}\n};\n`;
}

/** QEMU's arguments with the machine option asking for the device tree to be written to `file`. */
export function dumpDtbArgs(args: readonly string[], file: string): string[] {
  const i = args.indexOf('-machine');
  if (i < 0 || i + 1 >= args.length) throw new Error('QEMU arguments have no -machine: cannot dump its device tree');
  return [...args.slice(0, i + 1), `${args[i + 1]},dumpdtb=${file}`, ...args.slice(i + 2)];
}

/**
 * Writes QEMU's own device tree for `args` plus the pmem regions into `dir`
 * and returns the QEMU arguments that boot with it.
 */
export function pmemDeviceTree(binary: string, args: readonly string[], regions: readonly PmemRegion[], dir: string): string[] {
  const base = path.join(dir, 'qemu.dtb');
  const dts = path.join(dir, 'guest.dts');
  const out = path.join(dir, 'guest.dtb');
  const dump = spawnSync(binary, dumpDtbArgs(args, base), { stdio: ['ignore', 'ignore', 'pipe'], encoding: 'utf8' });
  if (dump.status !== 0) throw new Error(`${binary} could not write its device tree (-machine ...,dumpdtb=): ${dump.stderr.trim() || `exit ${dump.status}`}`);
  try {
    // -q: QEMU's tree draws dtc's style warnings (unit names), harmless.
    execFileSync('dtc', ['-q', '-I', 'dtb', '-O', 'dts', '-o', dts, base], { stdio: ['ignore', 'ignore', 'pipe'] });
    writeFileSync(dts, readFileSync(dts, 'utf8') + pmemNodes(regions));
    execFileSync('dtc', ['-q', '-I', 'dts', '-O', 'dtb', '-o', out, dts], { stdio: ['ignore', 'ignore', 'pipe'] });
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new Error(
      missing
        ? 'dtc is missing: apt-get install device-tree-compiler (scripts/deps.sh does): --pmem on arm64 edits the guest device tree with it'
        : `dtc failed on the guest device tree: ${String((err as { stderr?: unknown }).stderr ?? err)}`,
      { cause: err },
    );
  }
  // The filesystems, loaded raw at the regions' addresses (hw/core/generic-loader.c, force-raw).
  const loaders = regions.flatMap((r, i) => {
    if (!r.fs) return [];
    const image = path.join(dir, `pmem${i}-${r.fs}.img`);
    makeFsImage(r.fs, image, r.sizeMiB);
    return ['-device', `loader,file=${image},addr=0x${(BigInt(r.startMiB) << 20n).toString(16)},force-raw=on`];
  });
  return ['-dtb', out, ...loaders];
}
