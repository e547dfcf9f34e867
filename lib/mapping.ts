import { readFileSync } from 'node:fs';
import { addon } from './native.js';

export type ThpMode = 'on' | 'off' | 'default';

export interface AnonymousOptions {
  /** MADV_HUGEPAGE ("on", 2 MiB aligned), MADV_NOHUGEPAGE ("off"), or no advice. */
  thp?: ThpMode;
  /** Write every page first so that GUP finds them present. */
  populate?: boolean;
  /** Leave the page right after the buffer unmapped (for partial-GUP experiments). */
  holeAfter?: boolean;
}

/** A private anonymous mapping, rounded up to whole pages; unmapped when `buffer` is garbage collected. */
export interface Mapping {
  readonly buffer: ArrayBuffer;
  readonly address: bigint;
  readonly length: number;
}

export function mapAnonymous(length: number, options: AnonymousOptions = {}): Mapping {
  if (!Number.isSafeInteger(length) || length < 1) throw new RangeError(`length must be a positive integer, got ${length}`);
  const { buffer, address } = addon().mapAnonymous(length, options);
  return { buffer, address, length: buffer.byteLength };
}

/** Kilobytes of AnonHugePages backing [address, address+length) per /proc/self/smaps. */
export function anonHugeKb(mapping: Mapping): number {
  let inRange = false;
  let kb = 0;
  const end = mapping.address + BigInt(mapping.length);
  for (const line of readFileSync('/proc/self/smaps', 'utf8').split('\n')) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) /.exec(line);
    if (head) {
      const start = BigInt(`0x${head[1]}`);
      const stop = BigInt(`0x${head[2]}`);
      inRange = start < end && stop > mapping.address;
      continue;
    }
    const huge = /^AnonHugePages:\s+(\d+) kB/.exec(line);
    if (inRange && huge) kb += Number(huge[1]);
  }
  return kb;
}
