// Where a kernel selftest and a guplab check probe ask the same question on
// the same kernel in the same boot, both answers side by side. The pairs are
// a table (one row per question); each side's answer is read from its own
// result, never from the other's. Pure: results in, rows out.
import type { CheckReport } from '../check/report.js';
import type { SubtestVerdict, TapResult } from './ktap.js';

/** How a side answered: the kernel pinned / refused, or the pin stayed coherent / went stale. */
export type Answer = 'pinned' | 'refused' | 'reliable' | 'unreliable';

export interface Pair {
  /** The selftest invocation (its name starts with this) and its `[RUN]` line. */
  selftest: { invocation: string; run: string };
  probe: { id: string; case: string };
  /** What the two answers are read as. */
  kind: 'longterm' | 'ro-pin-coherence';
  /**
   * gup_longterm's own expectation for the case, as its source computes it:
   * `!shared || !rw || fs_supports_writable_longterm_pinning(fs)` (tmpfs and
   * hugetlbfs only). From 7.x its result line names the case instead of
   * saying "Should have worked/failed", so a pass means "did what
   * shouldWork says".
   */
  shouldWork?: boolean;
  /** How the two setups differ, when they do (the reader weighs a disagreement with it). */
  note?: string;
}

const API = { GUP: 'pin_user_pages', 'GUP-fast': 'pin_user_pages_fast' } as const;

/** The question pairs: gup_longterm against guplab's writable-longterm probes, cow's R/O longterm pins against cow-ro-pin. */
export function crossCheckPairs(): Pair[] {
  const pairs: Pair[] = [];
  for (const [gup, api] of Object.entries(API)) {
    const shared = (rw: string): string => `${rw} longterm ${gup} pin in MAP_SHARED file mapping`;
    const priv = (rw: string): string => `${rw} longterm ${gup} pin in MAP_PRIVATE file mapping`;
    pairs.push({
      selftest: { invocation: 'gup_longterm', run: `${shared('R/W')} ... with memfd` },
      probe: { id: 'writable-longterm-shared', case: `memfd/${api}` },
      kind: 'longterm',
      shouldWork: true,
    });
    pairs.push({
      selftest: { invocation: 'gup_longterm', run: `${shared('R/W')} ... with memfd hugetlb (2048 kB)` },
      probe: { id: 'writable-longterm-shared', case: `hugetlb/${api}` },
      kind: 'longterm',
      shouldWork: true,
    });
    for (const fs of ['ext4', 'xfs']) {
      const inv = `gup_longterm (in ${fs}`;
      // ext4 and xfs: only the shared R/W pin is expected to fail.
      pairs.push({
        selftest: { invocation: inv, run: `${shared('R/W')} ... with local tmpfile` },
        probe: { id: 'writable-longterm-shared', case: `${fs}/${api}` },
        kind: 'longterm',
        shouldWork: false,
      });
      pairs.push({
        selftest: { invocation: inv, run: `${shared('R/O')} ... with local tmpfile` },
        probe: { id: 'writable-longterm-family', case: `${fs}/shared-ro-longterm/${api}` },
        kind: 'longterm',
        shouldWork: true,
      });
      pairs.push({
        selftest: { invocation: inv, run: `${priv('R/W')} ... with local tmpfile` },
        probe: { id: 'writable-longterm-family', case: `${fs}/private-write-longterm/${api}` },
        kind: 'longterm',
        shouldWork: true,
      });
      pairs.push({
        selftest: { invocation: inv, run: `${priv('R/O')} ... with local tmpfile` },
        probe: { id: 'writable-longterm-family', case: `${fs}/private-ro-longterm/${api}` },
        kind: 'longterm',
        shouldWork: true,
      });
    }
    pairs.push({
      selftest: { invocation: 'cow', run: `R/O longterm ${gup} pin ... with shared zeropage` },
      probe: { id: 'cow-ro-pin', case: `zeropage/ro-longterm/${api}` },
      kind: 'ro-pin-coherence',
    });
    pairs.push({
      selftest: { invocation: 'cow', run: `R/O longterm ${gup} pin ... with memfd` },
      probe: { id: 'cow-ro-pin', case: `file/ro-longterm/${api}` },
      kind: 'ro-pin-coherence',
      note: 'cow maps a memfd MAP_PRIVATE, guplab a tmpfs file MAP_PRIVATE: both shmem',
    });
  }
  return pairs;
}

/**
 * The selftest's answer from one result. gup_longterm passes when the kernel
 * did what the case should do: up to 6.x its line says which ("Should have
 * worked/failed"); from 7.x it names the case, and the pair's shouldWork
 * (read in its source) says. cow's R/O pin cases pass when the pin is
 * reliable ("Longterm R/O pin is reliable" up to 6.x, the case's name from 7.x).
 */
export function selftestAnswer(pair: Pick<Pair, 'kind' | 'shouldWork' | 'selftest'>, r: TapResult): Answer | undefined {
  if (r.status === 'skip' || r.status === 'error') return undefined;
  const ok = r.status === 'pass' || r.status === 'xfail';
  const namesCase = r.desc.trim() === pair.selftest.run;
  if (pair.kind === 'longterm') {
    const should = /Should have worked/.test(r.desc) ? true : /Should have failed/.test(r.desc) ? false : namesCase ? pair.shouldWork : undefined;
    if (should === undefined) return undefined;
    return ok === should ? 'pinned' : 'refused';
  }
  if (/pin is reliable/.test(r.desc) || namesCase) return ok ? 'reliable' : 'unreliable';
  return undefined;
}

/** guplab's answer from a probe case: a 16-page (or 1-page) pin that returned its pages, or an errno; cow-ro-pin's note says coherent or stale. */
export function probeAnswer(kind: Pair['kind'], c: CheckReport['probes'][number]['cases'][number]): Answer | undefined {
  const a = c.answer;
  if (!a || a.ret === undefined) return undefined;
  if (kind === 'longterm') return a.ret > 0 ? 'pinned' : 'refused';
  if (a.ret <= 0) return undefined;
  if (/\bcoherent after the write/.test(a.note ?? '')) return 'reliable';
  if (/\bstale after the write|changed to/.test(a.note ?? '')) return 'unreliable';
  return undefined;
}

export interface CrossRow {
  question: string;
  selftest: string;
  selftestAnswer?: Answer;
  /** The selftest's own line (status and description), or why there is none. */
  selftestDetail: string;
  probe: string;
  guplabAnswer?: Answer;
  guplabDetail: string;
  verdict: 'agree' | 'DISAGREE' | 'not compared';
  note?: string;
}

function findResult(verdicts: readonly SubtestVerdict[], pair: Pair): { r?: TapResult; why: string } {
  const inv = pair.selftest.invocation;
  // "gup_longterm" is the run in the default folder only; "gup_longterm (in ext4" the run in that filesystem.
  const v = inv.includes('(') ? verdicts.find((x) => x.name.startsWith(inv)) : verdicts.find((x) => x.name === inv);
  if (!v) return { why: `${pair.selftest.invocation} did not run on this line` };
  const r = v.doc.results.find((x) => x.run === pair.selftest.run);
  if (!r) return { why: v.status === 'skip' ? `skipped: ${v.reason ?? ''}` : `no [RUN] ${pair.selftest.run}` };
  return { r, why: '' };
}

/** The side-by-side table. */
export function crossCheck(verdicts: readonly SubtestVerdict[], report: CheckReport | undefined, pairs: readonly Pair[] = crossCheckPairs()): CrossRow[] {
  return pairs.map((pair) => {
    const { r, why } = findResult(verdicts, pair);
    const sAns = r ? selftestAnswer(pair, r) : undefined;
    const sDetail = r
      ? [r.status === 'fail' ? 'not ok' : 'ok', r.desc, r.reason ? `# ${r.status.toUpperCase()} ${r.reason}` : ''].filter(Boolean).join(' ')
      : why;
    const probe = report?.probes.find((p) => p.id === pair.probe.id);
    const c =
      probe?.cases.find((x) => x.case === pair.probe.case) ??
      (pair.probe.case.startsWith('hugetlb/') ? probe?.cases.find((x) => x.case === pair.probe.case.replace('hugetlb/', 'hugetlb-in-movable/')) : undefined);
    const gAns = c ? probeAnswer(pair.kind, c) : undefined;
    const gDetail = !report
      ? 'no check report'
      : !probe
        ? `probe ${pair.probe.id} did not run`
        : !c
          ? `no case ${pair.probe.case}`
          : c.status === 'skip'
            ? `skipped: ${c.skip ?? ''}`
            : `${c.answer?.ret ?? ''}${c.answer?.note ? `, ${c.answer.note}` : ''}`;
    const verdict = sAns && gAns ? (sAns === gAns ? 'agree' : 'DISAGREE') : 'not compared';
    return {
      question: pair.selftest.run,
      selftest: pair.selftest.invocation.replace(/ \(in (\w+)$/, ' in $1'),
      ...(sAns ? { selftestAnswer: sAns } : {}),
      selftestDetail: sDetail,
      probe: `${pair.probe.id} ${c?.case ?? pair.probe.case}`,
      ...(gAns ? { guplabAnswer: gAns } : {}),
      guplabDetail: gDetail,
      verdict,
      ...(pair.note ? { note: pair.note } : {}),
    };
  });
}

/** The table as Markdown, with the count of agreements. */
export function crossCheckMarkdown(rows: readonly CrossRow[]): string {
  const cell = (s: string): string => s.replace(/\|/g, '\\|');
  const lines = ['| question (selftest [RUN] line) | selftest | answer | guplab probe case | answer | verdict |', '|---|---|---|---|---|---|'];
  for (const r of rows) {
    lines.push(
      `| ${cell(r.question)} | ${cell(r.selftest)} | ${r.selftestAnswer ?? `- (${cell(r.selftestDetail)})`} | ${cell(r.probe)} | ${r.guplabAnswer ?? `- (${cell(r.guplabDetail)})`} | ${r.verdict} |`,
    );
  }
  const n = (v: CrossRow['verdict']): number => rows.filter((r) => r.verdict === v).length;
  lines.push(
    '',
    `${n('agree')} agree, ${n('DISAGREE')} disagree, ${n('not compared')} not compared (a side skipped or did not run) of ${rows.length} questions.`,
  );
  return `${lines.join('\n')}\n`;
}
