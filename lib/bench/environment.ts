import { readFileSync } from 'node:fs';
import os from 'node:os';

/** Where figures came from: emulated (TCG), virtualised (KVM) or real hardware. */
export type Accelerator = 'TCG' | 'KVM' | 'bare metal';

export interface Environment {
  release: string;
  arch: string;
  accelerator: Accelerator;
  cpuModel: string;
  cpus: number;
  node: string;
  qemuVersion?: string;
}

function cpuModel(): string {
  const info = readFileSync('/proc/cpuinfo', 'utf8');
  return /^(?:model name|CPU part|Hardware)\s*:\s*(.+)$/m.exec(info)?.[1]?.trim() ?? os.cpus()[0]?.model ?? 'unknown';
}

/** Describes this machine; inside the VM the runner says which accelerator QEMU used. */
export function environment(): Environment {
  const accel = process.env.GUPLAB_ACCEL;
  return {
    release: os.release(),
    arch: os.machine(),
    accelerator: accel === 'TCG' || accel === 'KVM' ? accel : 'bare metal',
    cpuModel: cpuModel(),
    cpus: os.cpus().length,
    node: process.version,
    ...(process.env.GUPLAB_QEMU_VERSION ? { qemuVersion: process.env.GUPLAB_QEMU_VERSION } : {}),
  };
}
