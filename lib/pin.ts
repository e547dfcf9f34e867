// `guplab pin`'s call: one GUP call on a fresh buffer of one backing, made here
// (the host, or the guest's pin job step); the kernel's answer and what the pages are.
import Table from 'cli-table3';
import { isRemoteApi, type ApiName, type FlagName } from './abi.js';
import { BACKINGS, type BackingName } from './bench/backings.js';
import { formatSize } from './bench/spec.js';
import { GupDevice, type PageFacts, type PinResult } from './device.js';
import { errnoName } from './errors.js';
import { expectKernelWarning } from './contract.js';

export interface PinCall {
  api: ApiName;
  flags: FlagName[];
  backing: BackingName;
  size: number;
  /** Pages present before the call (else GUP faults them in). */
  prefault: boolean;
  dir?: string;
}

export interface PinAnswer extends PinCall {
  release: string;
  pages: number;
  result: PinResult;
}

/** Maps the buffer, makes the call with page facts, releases everything; returns the answer. */
export function pinOnce(call: PinCall, dev = GupDevice.open()): PinAnswer {
  const info = dev.info();
  const pages = Math.max(1, Math.floor(call.size / info.pageSize));
  const m = BACKINGS[call.backing].map(call.size, call.prefault, call.dir ? { dir: call.dir } : {});
  try {
    if (dev.warns(call.api, call.flags)) expectKernelWarning('at mm/gup.c', `guplab pin ${call.api} ${call.flags.join('|')}`);
    const result = dev.pin(call.api, m.address, pages, { flags: call.flags, facts: true, ...(isRemoteApi(call.api) ? { pid: process.pid } : {}) });
    return { ...call, release: info.release, pages, result };
  } finally {
    m.close();
  }
}

function factsRows(facts: readonly PageFacts[]): string[][] {
  // Runs of pages alike (same kinds, order, zone, pinnable, migrated) in one row each.
  const rows: { from: number; to: number; key: string; f: PageFacts }[] = [];
  facts.forEach((f, i) => {
    const key = [f.kinds.join('+'), f.folioOrder, f.zone, f.longtermPinnable, f.pfnChanged].join('|');
    const last = rows.at(-1);
    if (last && last.key === key && last.to === i - 1) last.to = i;
    else rows.push({ from: i, to: i, key, f });
  });
  return rows.map(({ from, to, f }) => [
    from === to ? `${from}` : `${from}-${to}`,
    `0x${f.pfn.toString(16)}`,
    f.kinds.join('+') || '-',
    `${f.folioOrder}`,
    f.zone,
    f.longtermPinnable ? 'yes' : 'no',
    `${f.refcount}`,
    f.pincount < 0 ? '-' : `${f.pincount}`,
    f.pfnChanged ? 'yes' : 'no',
  ]);
}

/** What `guplab pin` prints: the table, or JSON (addresses and pfns as hex strings). */
export function pinOutput(a: PinAnswer, json: boolean): string {
  return json ? JSON.stringify(a, (_k, v: unknown) => (typeof v === 'bigint' ? `0x${v.toString(16)}` : v), 2) : pinText(a);
}

export function pinText(a: PinAnswer): string {
  const r = a.result;
  const answer = r.ret < 0 ? `${r.ret} (${errnoName(r.ret)})` : `${r.ret} of ${a.pages} pages`;
  const head = `${a.api} ${a.flags.join('|') || 'no flags'} on ${formatSize(a.size)} ${a.backing} (${a.prefault ? 'prefaulted' : 'not faulted in'}), ${a.release}: ${answer}, get ${r.getNs} ns, put ${r.putNs} ns`;
  if (!r.facts?.length) return head;
  const t = new Table({ head: ['pages', 'first pfn', 'kind', 'order', 'zone', 'longterm-pinnable', 'refcount', 'pincount', 'migrated'] });
  t.push(...factsRows(r.facts));
  return `${head}\n${t.toString()}`;
}
