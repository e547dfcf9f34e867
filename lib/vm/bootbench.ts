// Boot-to-command benchmark: boots each kernel/arch a few times with `true`
// as the command and reports the time from QEMU start to the command.
import { median } from 'simple-statistics';
import type { GuestMemoryOptions } from './guest.js';
import type { Arch } from './paths.js';
import { vmRun } from './run.js';
import { resolveBootTarget } from '../kernels/resolve.js';
import type { Accel } from './qemu.js';

export interface BootBenchRow {
  kernel: string;
  release: string;
  arch: Arch;
  accel: Accel;
  /** The guest's memory options, e.g. "pmem 128M, DAX ext4,xfs"; "-" for none. */
  guest: string;
  /** Boot-to-command per run, ms. */
  bootMs: number[];
  /** Whole run (QEMU start to exit) per run, ms. */
  wallMs: number[];
}

export interface BootBenchOptions {
  kernels: readonly string[];
  arches: readonly Arch[];
  runs: number;
  /** Also boot with this pmem size and DAX ext4,xfs: each run boots without, then with, so both see the same load. */
  withPmem?: string;
  accel?: 'auto' | Accel;
  log?: (msg: string) => void;
}

export async function bootBench(options: BootBenchOptions): Promise<BootBenchRow[]> {
  const guests: { label: string; memory: GuestMemoryOptions; memMiB: number }[] = [
    { label: '-', memory: {}, memMiB: 2048 },
    ...(options.withPmem
      ? [{ label: `pmem ${options.withPmem}, DAX ext4,xfs`, memory: { pmem: options.withPmem, dax: ['ext4', 'xfs'] } as GuestMemoryOptions, memMiB: 2048 }]
      : []),
  ];
  const rows: BootBenchRow[] = [];
  for (const arch of options.arches) {
    for (const kernel of options.kernels) {
      const target = resolveBootTarget({ kernel, arch }, options.log ?? (() => undefined));
      const byGuest = guests.map((g): BootBenchRow => ({ kernel, release: '', arch, accel: 'tcg', guest: g.label, bootMs: [], wallMs: [] }));
      for (let i = 0; i < options.runs; i++) {
        for (const [gi, g] of guests.entries()) {
          const row = byGuest[gi]!;
          const r = await vmRun({
            command: ['true'],
            target,
            memMiB: g.memMiB,
            memory: g.memory,
            accel: options.accel,
            log: options.log,
            timeoutSec: 300,
          });
          if (r.status !== 0 || r.problems.length || r.bootToCommandMs === null) {
            throw new Error(
              `boot of ${kernel} ${arch} (${g.label}) failed: ${r.problems.join('; ') || `exit ${r.status}`}${r.consoleLogFile ? ` (console: ${r.consoleLogFile})` : ''}`,
            );
          }
          row.release = r.release;
          row.accel = r.accel;
          row.bootMs.push(r.bootToCommandMs);
          row.wallMs.push(r.wallMs);
        }
      }
      rows.push(...byGuest);
    }
  }
  return rows;
}

/** Markdown table: min / median / max seconds per kernel and arch. */
export function bootBenchTable(rows: readonly BootBenchRow[]): string {
  const s = (ms: number): string => (ms / 1000).toFixed(1);
  const mmm = (xs: number[]): string => `${s(Math.min(...xs))} / ${s(median(xs))} / ${s(Math.max(...xs))}`;
  return [
    '| kernel | arch | guest | accel | runs | boot-to-command s (min / median / max) | whole run s (min / median / max) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => `| ${r.release} | ${r.arch} | ${r.guest} | ${r.accel.toUpperCase()} | ${r.bootMs.length} | ${mmm(r.bootMs)} | ${mmm(r.wallMs)} |`),
  ].join('\n');
}
