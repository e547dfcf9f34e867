import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../util/root.js';
import { ENV } from '../contract.js';

/** Where figures came from: emulated (TCG), virtualised (KVM) or real hardware. */
export type Accelerator = 'TCG' | 'KVM' | 'bare metal';

/**
 * Facts of the machine the benchmark ran on (the guest, under --vm):
 * gathered where the samples are taken.
 */
export interface Environment {
  release: string;
  arch: string;
  accelerator: Accelerator;
  cpuModel: string;
  cpus: number;
  node: string;
  qemuVersion?: string;
  /** /proc/cmdline. */
  cmdline?: string;
  /** Transparent huge pages: the bracketed choice of enabled and defrag (e.g. "madvise", "madvise"). */
  thp?: { enabled: string; defrag: string };
  /** /sys/devices/system/cpu/vulnerabilities: file -> its line (e.g. spectre_v2: "Mitigation: Retpolines"). */
  mitigations?: Record<string, string>;
  /** MemTotal, KiB. */
  memTotalKiB?: number;
  /**
   * The clock BENCH's ktime reads go through (current_clocksource), and the
   * others the kernel offers: under TCG, hpet costs an emulated MMIO per read.
   */
  clocksource?: string;
  clocksources?: string[];
}

/** The machine that started the run (under --vm the host, not the guest), and how to run it again. */
export interface Provenance {
  /** The command line as typed (argv after node), e.g. ["guplab", "bench", "--vm", "--kernel", "6.1"]. */
  command: string[];
  guplabVersion: string;
  /** git commit of the guplab tree, "+dirty" when it had uncommitted changes; absent outside a git checkout. */
  gitCommit?: string;
  host: { release: string; arch: string; cpuModel: string; cpus: number; node: string; memTotalKiB?: number };
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
};

function cpuModel(): string {
  const info = read('/proc/cpuinfo') ?? '';
  return /^(?:model name|CPU part|Hardware)\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
}

/** "always [madvise] never" -> "madvise". */
const bracketed = (line: string | undefined): string | undefined => (line === undefined ? undefined : (/\[([^\]]+)\]/.exec(line)?.[1] ?? line));

function thp(): Environment['thp'] {
  const dir = '/sys/kernel/mm/transparent_hugepage';
  const enabled = bracketed(read(path.join(dir, 'enabled')));
  const defrag = bracketed(read(path.join(dir, 'defrag')));
  return enabled === undefined ? undefined : { enabled, defrag: defrag ?? 'unknown' };
}

function mitigations(): Environment['mitigations'] {
  const dir = '/sys/devices/system/cpu/vulnerabilities';
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch {
    return undefined;
  }
  const out: Record<string, string> = {};
  for (const n of names) {
    const v = read(path.join(dir, n));
    if (v !== undefined) out[n] = v;
  }
  return out;
}

const memTotalKiB = (): number | undefined => {
  const m = /^MemTotal:\s+(\d+)\s+kB/m.exec(read('/proc/meminfo') ?? '');
  return m ? Number(m[1]) : undefined;
};

const CLOCKSOURCE = '/sys/devices/system/clocksource/clocksource0';

/** The current clocksource and the available ones (sysfs), or undefined where sysfs has none. */
export function clocksource(): { clocksource: string; clocksources: string[] } | undefined {
  const current = read(path.join(CLOCKSOURCE, 'current_clocksource'));
  if (!current) return undefined;
  return { clocksource: current, clocksources: (read(path.join(CLOCKSOURCE, 'available_clocksource')) ?? current).split(/\s+/).filter(Boolean) };
}

/** Describes this machine; inside the VM the runner says which accelerator QEMU used. */
export function environment(): Environment {
  const accel = process.env[ENV.accel];
  const cmdline = read('/proc/cmdline');
  const t = thp();
  const mit = mitigations();
  const mem = memTotalKiB();
  const clock = clocksource();
  return {
    release: os.release(),
    arch: os.machine(),
    accelerator: accel === 'TCG' || accel === 'KVM' ? accel : 'bare metal',
    cpuModel: cpuModel(),
    cpus: os.cpus().length,
    node: process.version,
    ...(process.env[ENV.qemuVersion] ? { qemuVersion: process.env[ENV.qemuVersion] } : {}),
    ...(cmdline !== undefined ? { cmdline } : {}),
    ...(t ? { thp: t } : {}),
    ...(mit ? { mitigations: mit } : {}),
    ...(mem !== undefined ? { memTotalKiB: mem } : {}),
    ...(clock ?? {}),
  };
}

/** The guplab tree's commit ("+dirty" with uncommitted changes), or undefined outside a git checkout. */
export function gitCommit(root = projectRoot): string | undefined {
  try {
    const opts = { cwd: root, encoding: 'utf8' as const, stdio: ['ignore', 'pipe', 'ignore'] as ['ignore', 'pipe', 'ignore'], timeout: 10_000 };
    const head = execFileSync('git', ['rev-parse', 'HEAD'], opts).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], opts).trim() !== '';
    return `${head}${dirty ? '+dirty' : ''}`;
  } catch {
    return undefined;
  }
}

/** Who ran it, with what, on which host: recorded by the process the user started (the host under --vm). */
export function provenance(command: readonly string[] = ['guplab', ...process.argv.slice(2)]): Provenance {
  const pkg = JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { version: string };
  const commit = gitCommit();
  const mem = memTotalKiB();
  return {
    command: [...command],
    guplabVersion: pkg.version,
    ...(commit ? { gitCommit: commit } : {}),
    host: {
      release: os.release(),
      arch: os.machine(),
      cpuModel: cpuModel(),
      cpus: os.cpus().length,
      node: process.version,
      ...(mem !== undefined ? { memTotalKiB: mem } : {}),
    },
  };
}
