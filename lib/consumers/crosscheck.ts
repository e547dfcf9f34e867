// The two instruments against each other: each consumer answer beside the
// module probe of the same GUP call and flags on the same kind of memory,
// on the same kernel release. "agree" when both take the memory, or both
// refuse and the consumer's error is what it makes of GUP's; "DISAGREE"
// otherwise: a finding, printed with the reason where the source explains
// it (io_uring's own file check before 6.5), never hidden. Pure.
import { kernelMatches } from '../check/expectations.js';
import { fmt, type Answer, type CheckReport } from '../check/report.js';
import { gupCallOn, type ConsumerId } from './table.js';

/** What the consumer makes of a GUP error: passes it on, or always answers one of its own. */
type ErrorMap = 'same' | 'efault' | 'eio';

export interface Pair {
  consumer: ConsumerId;
  /** The consumer's case; {fs} is the filesystem of its file cases. */
  case: string;
  probe: string;
  /**
   * The module case: {call} is the GUP call the consumer makes on the report's kernel, {fs} as above;
   * {fresh} is "fresh/" when that call is GUP-fast (the secretmem probe splits only those by LRU state,
   * and a consumer faults its pages in and calls at once: a fresh folio, still in a per-CPU LRU batch).
   */
  moduleCase: string;
  errors: ErrorMap;
  /** A disagreement the source explains, on these kernels. */
  explained?: { kernels: string; why: string };
}

const IO_URING_OWN_CHECK = {
  kernels: '<6.5',
  why: 'io_uring\'s own check after GUP pinned: io_pin_pages() "don\'t support file backed memory" -> -EOPNOTSUPP (6.1.192 io_uring/rsrc.c:1011-1022), dropped by "io_uring: rsrc: delegate VMA file-backed check to GUP" (6.5)',
};

export const PAIRS: readonly Pair[] = [
  {
    consumer: 'io_uring-register',
    case: 'file-{fs}',
    probe: 'writable-longterm-shared',
    moduleCase: '{fs}/{call}',
    errors: 'same',
    explained: IO_URING_OWN_CHECK,
  },
  {
    consumer: 'io_uring-register',
    case: 'file-{fs}-private',
    probe: 'writable-longterm-family',
    moduleCase: '{fs}/private-write-longterm/{call}',
    errors: 'same',
    explained: IO_URING_OWN_CHECK,
  },
  { consumer: 'io_uring-register', case: 'tmpfs', probe: 'writable-longterm-shared', moduleCase: 'tmpfs/{call}', errors: 'same' },
  { consumer: 'io_uring-register', case: 'memfd', probe: 'writable-longterm-shared', moduleCase: 'memfd/{call}', errors: 'same' },
  { consumer: 'io_uring-register', case: 'secretmem', probe: 'secretmem', moduleCase: '{fresh}{call}', errors: 'same' },
  { consumer: 'odirect-read', case: 'secretmem', probe: 'secretmem', moduleCase: '{fresh}{call}', errors: 'same' },
  { consumer: 'vmsplice', case: 'secretmem', probe: 'secretmem', moduleCase: '{fresh}{call}', errors: 'same' },
  { consumer: 'process_vm_readv', case: 'secretmem', probe: 'secretmem', moduleCase: '{fresh}{call}', errors: 'efault' },
  { consumer: 'process_vm_writev', case: 'readonly', probe: 'force-cow', moduleCase: 'write-readonly/{call}', errors: 'efault' },
  { consumer: 'proc-mem-read', case: 'protnone', probe: 'force-protnone', moduleCase: 'force-read/{call}', errors: 'eio' },
  { consumer: 'proc-mem-write', case: 'readonly', probe: 'force-cow', moduleCase: 'force-anon/{call}', errors: 'eio' },
];

export interface CrossRow {
  consumer: ConsumerId;
  case: string;
  /** "pin_user_pages_fast(FOLL_WRITE|FOLL_LONGTERM)". */
  call: string;
  probe: string;
  moduleCase: string;
  consumerAnswer?: Answer;
  moduleAnswer?: Answer;
  verdict: 'agree' | 'DISAGREE' | 'not compared';
  /** Why not compared, or the source's explanation of a disagreement. */
  why?: string;
}

const EFAULT = -14;
const EIO = -5;

/** Calls the module has no entry point of its own for, and the one they wrap. */
const MODULE_API: Record<string, string> = { get_user_page_vma_remote: 'get_user_pages_remote' };

/** The GUP entry point's name from a table call ("pin_user_pages (pin_user_pages_fast by 6.12)" -> "pin_user_pages"). */
const entry = (call: string): string => call.split(/[\s(]/)[0] ?? call;

function find(report: CheckReport, probe: string, name: string): { answer?: Answer; skip?: string } | undefined {
  const c = report.probes.find((p) => p.id === probe)?.cases.find((x) => x.case === name);
  if (!c) return undefined;
  return c.status === 'skip' ? { skip: c.skip ?? 'skipped' } : c.answer ? { answer: c.answer } : undefined;
}

/** Whether a consumer answer is what the consumer makes of the module's answer to the same GUP call. */
export function agrees(consumer: Answer, module: Answer, errors: ErrorMap): boolean {
  const c = consumer.ret;
  const m = module.ret;
  if (c === undefined || m === undefined) return false;
  if (m > 0) return c >= 0;
  if (m === 0) return false;
  const expected = errors === 'efault' ? EFAULT : errors === 'eio' ? EIO : m;
  return c === expected;
}

/**
 * Pairs a consumer report with a module check report of the same release.
 * Throws when the releases differ (the comparison would mean nothing).
 */
export function crossCheck(consumers: CheckReport & { fs?: string }, module: CheckReport): CrossRow[] {
  if (consumers.release !== module.release) throw new Error(`the reports are of different kernels: consumers ${consumers.release}, module ${module.release}`);
  const fs = consumers.fs ?? 'ext4';
  const version = consumers.version;
  return PAIRS.map((p) => {
    const name = p.case.replace('{fs}', fs);
    const gup = gupCallOn(p.consumer, version);
    const call = gup ? entry(gup.call) : '?';
    const api = MODULE_API[call] ?? call;
    const moduleCase = p.moduleCase
      .replace('{fs}', fs)
      .replace('{fresh}', /_fast(_only)?$/.test(api) ? 'fresh/' : '')
      .replace('{call}', api);
    const row: CrossRow = { consumer: p.consumer, case: name, call: gup ? `${call}(${gup.flags})` : '?', probe: p.probe, moduleCase, verdict: 'not compared' };
    const c = find(consumers, p.consumer, name);
    const m = find(module, p.probe, moduleCase);
    if (c?.answer) row.consumerAnswer = c.answer;
    if (m?.answer) row.moduleAnswer = m.answer;
    if (!c || !m)
      return {
        ...row,
        why: `${!c ? `no consumer case ${p.consumer}/${name}` : ''}${!c && !m ? '; ' : ''}${!m ? `no module case ${p.probe}/${moduleCase}` : ''}`,
      };
    if (c.skip || m.skip) return { ...row, why: `not run: ${c.skip ?? m.skip}` };
    if (agrees(c.answer!, m.answer!, p.errors)) return { ...row, verdict: 'agree' };
    const explained = p.explained && kernelMatches(p.explained.kernels, version) ? p.explained.why : undefined;
    return { ...row, verdict: 'DISAGREE', ...(explained ? { why: explained } : { why: 'not explained by the source read so far: a finding' }) };
  });
}

/** The rows as a Markdown table. */
export function crossCheckTable(release: string, rows: readonly CrossRow[]): string {
  const ans = (a?: Answer): string => (a?.ret === undefined ? '-' : fmt(a.ret));
  const lines = [
    `Cross-check on ${release}: consumer vs module probe, same GUP call and flags`,
    '',
    '| consumer / case | GUP call | module probe / case | consumer | module | verdict |',
    '|---|---|---|---|---|---|',
  ];
  for (const r of rows)
    lines.push(
      `| ${r.consumer} / ${r.case} | ${r.call} | ${r.probe} / ${r.moduleCase} | ${ans(r.consumerAnswer)} | ${ans(r.moduleAnswer)} | ${r.verdict}${r.why ? `: ${r.why}` : ''} |`,
    );
  return lines.join('\n');
}

/** 1 when some disagreement has no explanation from the source, else 0. */
export function crossCheckStatus(rows: readonly CrossRow[]): number {
  return rows.some((r) => r.verdict === 'DISAGREE' && r.why?.startsWith('not explained')) ? 1 : 0;
}
