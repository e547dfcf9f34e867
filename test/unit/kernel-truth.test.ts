// Issue 33: the rows for kernels no run boots, corrected after reading the
// source of the release each names, and the version bounds at stable
// precision. One test per corrected bound (version in, answer out); each
// failed on the rows before the correction.
import { describe, expect, it } from 'vitest';
import { COMMITS, EXPECTATIONS, expectationFor, type Expectation } from '../../lib/check/expectations.js';
import type { Measurement } from '../../lib/check/evidence.js';
import { caseHistory, provenanceOf, rowMeasuredOn } from '../../lib/check/provenance.js';
import { expectationSummary, judge } from '../../lib/check/run.js';
import type { Answer } from '../../lib/check/report.js';
import type { Arch } from '../../lib/vm/paths.js';

const row = (probe: string, name: string, version: string, arch: Arch = 'x86_64'): Expectation => {
  const r = expectationFor(EXPECTATIONS[probe] ?? [], name, version, arch);
  if (!r) throw new Error(`no row for ${probe} ${name} on ${version}`);
  return r;
};
const ans = (probe: string, name: string, version: string, arch: Arch = 'x86_64') => row(probe, name, version, arch).answer;

describe('corrected bounds (version in, answer out)', () => {
  it('1. longterm-variants get_user_pages_unlocked on 6.2: -EINVAL with a gup.c WARN (__gup_longterm_locked WARN_ON(!FOLL_PIN))', () => {
    expect(ans('longterm-variants', 'get_user_pages_unlocked', '6.2.12')).toEqual({ ret: -22 });
    expect(row('longterm-variants', 'get_user_pages_unlocked', '6.2.0').warning).toBe('at mm/gup.c');
    expect(row('longterm-variants', 'get_user_pages_unlocked', '6.2.16').source).toMatch(/__gup_longterm_locked\(\): WARN_ON\(!\(gup_flags & FOLL_PIN\)\)/);
  });
  it('2. dax-longterm */longterm/get_user_pages_unlocked on 6.2: -EINVAL, not -EOPNOTSUPP', () => {
    expect(ans('dax-longterm', 'ext4/longterm/get_user_pages_unlocked', '6.2.12')).toEqual({ ret: -22 });
    expect(ans('dax-longterm', 'xfs/longterm/pin_user_pages_unlocked', '6.2.12')).toEqual({ ret: -95 });
  });
  it('3. movable-longterm on 5.13-6.0: small pages and the THP migrate, hugetlb -ENOMEM, fast_only 0; 5.10-5.12 stay', () => {
    for (const v of ['5.13.0', '5.15.100', '6.0.19']) {
      expect(ans('movable-longterm', 'pin_user_pages', v)).toEqual({ ret: 16, note: 'migrated, data intact' });
      expect(ans('movable-longterm', 'thp/pin_user_pages_fast', v)).toEqual({ ret: 16, note: 'migrated, data intact' });
      expect(ans('movable-longterm', 'hugetlb/pin_user_pages', v)).toEqual({ ret: -12 });
      expect(row('movable-longterm', 'hugetlb/pin_user_pages_fast', v).warning).toBe('at mm/hugetlb.c');
      expect(ans('movable-longterm', 'pin_user_pages_fast_only', v)).toEqual({ ret: 0 });
    }
    expect(ans('movable-longterm', 'pin_user_pages', '5.12.9')).toEqual({ ret: 16, note: 'stayed, data intact' });
    expect(ans('movable-longterm', 'pin_user_pages_fast_only', '5.10.262')).toEqual({ ret: 16, note: 'stayed, data intact' });
  });
  it('4. cma-longterm hugetlb: migrated to 5.11, -ENOMEM with the hugetlb.c WARN from 5.12 (0fa5bc4023c1)', () => {
    expect(ans('cma-longterm', 'hugetlb/pin_user_pages', '5.10.262', 'arm64')).toEqual({ ret: 16, note: 'migrated, data intact' });
    expect(ans('cma-longterm', 'hugetlb/pin_user_pages', '5.12.0', 'arm64')).toEqual({ ret: -12 });
    expect(row('cma-longterm', 'hugetlb/pin_user_pages_fast', '5.15.100', 'arm64').warning).toBe('at mm/hugetlb.c');
    expect(ans('cma-longterm', 'thp/pin_user_pages_fast', '5.15.100', 'arm64')).toEqual({ ret: 16, note: 'migrated, data intact' });
  });
  it('5. writable-longterm-shared hugetlb-in-movable: -ENOMEM from 5.13, not the 16 of the * row', () => {
    expect(ans('writable-longterm-shared', 'hugetlb-in-movable/pin_user_pages', '5.15.100')).toEqual({ ret: -12 });
    expect(ans('writable-longterm-shared', 'hugetlb-in-movable/pin_user_pages', '5.12.9')).toEqual({ ret: 16 });
  });
  it('6. 6.6.47 took f442fa614137: migrated on [6.6.47, 6.7), -EFAULT on [6.6, 6.6.47) and [6.7, 6.10)', () => {
    const cases: [string, string, Arch][] = [
      ['cma-longterm', 'thp/pin_user_pages_fast', 'arm64'],
      ['cma-longterm', 'hugetlb/pin_user_pages', 'arm64'],
      ['movable-longterm', 'thp/pin_user_pages', 'x86_64'],
      ['movable-longterm', 'hugetlb/pin_user_pages_remote', 'x86_64'],
    ];
    for (const [probe, name, arch] of cases) {
      expect(ans(probe, name, '6.6.46', arch), `${probe} ${name} 6.6.46`).toEqual({ ret: -14 });
      expect(ans(probe, name, '6.6.47', arch), `${probe} ${name} 6.6.47`).toEqual({ ret: 16, note: 'migrated, data intact' });
      expect(row(probe, name, '6.6.63', arch).warning).toBeUndefined();
      expect(ans(probe, name, '6.7.0', arch)).toEqual({ ret: -14 });
      expect(ans(probe, name, '6.9.12', arch)).toEqual({ ret: -14 });
    }
    expect(ans('writable-longterm-shared', 'hugetlb-in-movable/pin_user_pages', '6.6.50')).toEqual({ ret: 16 });
  });
  it('7. force-hugetlb: same page to 5.19.5, -EFAULT with the hugetlb_wp WARN from 5.19.6 and on 6.0.x before 6.0.16', () => {
    expect(ans('force-hugetlb', 'pin_user_pages', '5.19.5')).toEqual({ ret: 1, note: 'same page' });
    for (const v of ['5.19.6', '6.0.0', '6.0.15']) {
      expect(ans('force-hugetlb', 'pin_user_pages', v), v).toEqual({ ret: -14 });
      expect(row('force-hugetlb', 'get_user_pages', v).warning).toBe('at mm/hugetlb.c');
    }
    expect(row('force-hugetlb', 'get_user_pages', '6.0.16').warning).toBeUndefined();
  });
  it('8. force-hugetlb on 6.1.0-6.1.1: -EFAULT through the hugetlb_wp WARN; check_vma_flags() from 6.1.2 (f347454d0341)', () => {
    expect(row('force-hugetlb', 'pin_user_pages', '6.1.1').warning).toBe('at mm/hugetlb.c');
    expect(row('force-hugetlb', 'pin_user_pages', '6.1.2').warning).toBeUndefined();
    expect(row('force-hugetlb', 'pin_user_pages', '6.1.192').commits).toContain('f347454d0341');
    expect(ans('force-hugetlb', 'pin_user_pages', '6.13.12')).toEqual({ ret: -14 });
  });
  it('9. hwpoison pinned-before: madvise succeeds from 5.15.80 (dd0f230a0a80), EBUSY before', () => {
    expect(ans('hwpoison', 'pinned-before', '5.15.79').note).toMatch(/^madvise EBUSY/);
    expect(ans('hwpoison', 'pinned-before', '5.15.80').note).toMatch(/^madvise ok; no SIGBUS/);
    expect(ans('hwpoison', 'pinned-before', '5.10.262').note).toMatch(/^madvise EBUSY/);
  });
  it('10. secretmem: GUP-fast takes a fresh folio (4 pages) on [5.14, 5.15.154), [5.16, 6.1.85), [6.2, 6.9); refused elsewhere, and once the batch drained', () => {
    for (const v of ['5.14.0', '5.15.153', '6.1.84', '6.6.20', '6.8.9']) {
      expect(row('secretmem', 'fresh/pin_user_pages_fast', v).answer, v).toEqual({ ret: 4 });
      expect(row('secretmem', 'fresh/pin_user_pages_fast', v).alternatives).toEqual([{ ret: -14 }]);
      expect(row('secretmem', 'fresh/get_user_pages_fast_only', v).alternatives).toEqual([{ ret: 0 }]);
      expect(ans('secretmem', 'drained/pin_user_pages_fast', v)).toEqual({ ret: -14 });
      expect(ans('secretmem', 'drained/get_user_pages_fast_only', v)).toEqual({ ret: 0 });
      expect(ans('secretmem', 'pin_user_pages', v)).toEqual({ ret: -14 });
    }
    for (const v of ['5.15.154', '6.1.85', '6.1.192', '6.9.0', '6.12.118']) {
      for (const state of ['fresh', 'drained']) {
        expect(ans('secretmem', `${state}/pin_user_pages_fast`, v), v).toEqual({ ret: -14 });
        expect(ans('secretmem', `${state}/pin_user_pages_fast_only`, v)).toEqual({ ret: 0 });
      }
    }
  });
  it('a fresh folio whose PG_lru could not be read accepts either answer in the window; a drained one never 4', () => {
    expect(judge('secretmem', { case: 'fresh/pin_user_pages_fast', answer: { ret: 4 } }, '6.1.50', 'x86_64').status).toBe('ok');
    expect(judge('secretmem', { case: 'fresh/pin_user_pages_fast', answer: { ret: -14 } }, '6.1.50', 'x86_64').status).toBe('ok');
    expect(judge('secretmem', { case: 'drained/pin_user_pages_fast', answer: { ret: 4 } }, '6.1.50', 'x86_64').status).toBe('fail');
    expect(judge('secretmem', { case: 'fresh/pin_user_pages_fast', answer: { ret: 4 } }, '6.1.192', 'x86_64').status).toBe('fail');
  });
});

// The two stable windows of the "doubtful" list, modelled.
describe('stable windows (version in, answer out)', () => {
  const migrated = { ret: 16, note: 'migrated, data intact' };
  it('54d516b1d62f: the slow path refuses a long-term pin of a ZONE_MOVABLE or CMA page with -ENOMEM in 5.15.0-5.15.19 and 5.16.0-5.16.5', () => {
    const moved = ['pin_user_pages', 'pin_user_pages_fast', 'thp/pin_user_pages', 'thp/pin_user_pages_fast'];
    for (const name of moved) {
      for (const v of ['5.15.0', '5.15.19', '5.16.0', '5.16.5']) expect(ans('movable-longterm', name, v), `${name} ${v}`).toEqual({ ret: -12 });
      for (const v of ['5.14.21', '5.15.20', '5.16.6', '5.17.0']) expect(ans('movable-longterm', name, v), `${name} ${v}`).toEqual(migrated);
      expect(row('movable-longterm', name, '5.15.5').warning).toBeUndefined();
    }
    for (const name of ['thp/pin_user_pages', 'thp/pin_user_pages_fast']) {
      expect(ans('cma-longterm', name, '5.16.3', 'arm64')).toEqual({ ret: -12 });
      expect(ans('cma-longterm', name, '5.15.20', 'arm64')).toEqual(migrated);
    }
    // Untouched in the window: fast_only never falls back, the gate refuses first, hugetlb was refused already.
    expect(ans('movable-longterm', 'pin_user_pages_fast_only', '5.15.10')).toEqual({ ret: 0 });
    expect(ans('movable-longterm', 'pin_user_pages_unlocked', '5.15.10')).toEqual({ ret: -22 });
    expect(row('movable-longterm', 'hugetlb/pin_user_pages', '5.15.10').warning).toBe('at mm/hugetlb.c');
    expect(row('movable-longterm', 'pin_user_pages', '5.16.2').commits).toEqual(['54d516b1d62f', 'c36c04c2e132']);
  });
  it('1aaf8c122918: 6.1.129-6.1.154 accept pins left in place by a race with another isolation; before and after, only the migration', () => {
    const stayed = { case: 'thp/pin_user_pages_fast', answer: { ret: 16, note: 'stayed, data intact' } };
    expect(judge('cma-longterm', stayed, '6.1.140', 'arm64').status).toBe('ok');
    expect(judge('cma-longterm', stayed, '6.1.128', 'arm64').status).toBe('fail');
    expect(judge('cma-longterm', stayed, '6.1.155', 'arm64').status).toBe('fail');
    const partly = { case: 'pin_user_pages', answer: { ret: 16, note: 'partly migrated, data intact' } };
    expect(judge('movable-longterm', partly, '6.1.129', 'x86_64').status).toBe('ok');
    expect(judge('movable-longterm', partly, '6.1.192', 'x86_64').status).toBe('fail');
    expect(ans('movable-longterm', 'pin_user_pages', '6.1.140')).toEqual(migrated);
  });
});

describe('citations that match their version', () => {
  it("force-anon: can_follow_write_pte()'s PageAnonExclusive test is 6.0 / 5.19.6, FOLL_COW before", () => {
    expect(row('force-cow', 'force-anon/pin_user_pages', '5.19.0').source).toMatch(/FOLL_COW/);
    expect(row('force-cow', 'force-anon/pin_user_pages', '5.19.6').commits).toEqual(['5535be309971']);
  });
  it('migrate_longterm_unpinnable_folios is named for 6.11+, gup_fast_folio_allowed for 6.10+', () => {
    expect(row('movable-longterm', 'hugetlb/pin_user_pages', '6.12.118').source).toMatch(
      /migrate_longterm_unpinnable_pages\(\) \(6\.10; migrate_longterm_unpinnable_folios\(\) from 6\.11\)/,
    );
    expect(row('secretmem', 'drained/pin_user_pages_fast_only', '6.12.118').source).toMatch(/gup_fast_folio_allowed\(\) \(6\.10\+/);
  });
  it('cma-longterm: the try_grab_page() claim is kept to hugetlb below 5.12', () => {
    expect(row('cma-longterm', 'hugetlb/pin_user_pages', '5.11.0', 'arm64').source).toMatch(/try_grab_page\(\).*until 0fa5bc4023c1/);
    expect(row('cma-longterm', 'hugetlb/pin_user_pages', '5.12.0', 'arm64').source).not.toMatch(/which has no CMA test/);
  });
});

/** Rows whose bounds were set before issue 33 and whose commit ids are not yet read: to shrink, never to grow. */
const UNCITED_BOUNDS = 0;

describe('every boundary row cites its commits', () => {
  const all = Object.entries(EXPECTATIONS).flatMap(([probe, rows]) => rows.map((r) => ({ probe, r })));
  const bounded = all.filter(({ r }) => r.kernels !== '*');
  it('each cited commit has a 12-hex id, a subject, its mainline release and where it was read', () => {
    for (const [key, c] of Object.entries(COMMITS)) {
      expect(c.id).toBe(key);
      expect(c.id).toMatch(/^[0-9a-f]{12}$/);
      expect(c.subject.length).toBeGreaterThan(10);
      expect(c.mainline).toMatch(/^\d+\.\d+$/);
      expect(c.read).toMatch(/\d+\.\d+/);
      for (const s of c.stable ?? []) {
        expect(s.release).toMatch(/^\d+\.\d+\.\d+$/);
        if (s.id) expect(s.id).toMatch(/^[0-9a-f]{12}$/);
      }
    }
    for (const { probe, r } of all) for (const id of r.commits ?? []) expect(COMMITS[id], `${probe} ${r.cases} ${r.kernels}: ${id}`).toBeDefined();
  });
  it('a bound at a stable sublevel (x.y.z) names a cited commit that the stable release took', () => {
    for (const { probe, r } of bounded) {
      for (const v of r.kernels.match(/\d+\.\d+\.\d+/g) ?? []) {
        // "mm: Fix is_zero_page() usage in try_grab_page()" (6.1.135) is a stable-only fix of the 6.1.130 backport: no mainline commit to cite.
        if (v === '6.1.135') continue;
        const took = (r.commits ?? []).some((id) => COMMITS[id]?.stable?.some((s) => s.release === v));
        expect(took, `${probe} ${r.cases} ${r.kernels}: no cited commit was taken by ${v}`).toBe(true);
      }
    }
  });
  it(`every other bounded row cites a commit, but for ${UNCITED_BOUNDS} older ones`, () => {
    const uncited = bounded.filter(({ r }) => !r.commits?.length);
    expect(uncited.length, uncited.map(({ probe, r }) => `${probe} ${r.cases} ${r.kernels}`).join('\n')).toBeLessThanOrEqual(UNCITED_BOUNDS);
  });
});

describe('provenance', () => {
  const seen = (probe: string, name: string, version: string, arch: Arch, answer: number | Answer): Measurement => ({
    probe,
    case: name,
    version,
    arch,
    answer: typeof answer === 'number' ? { ret: answer } : answer,
  });
  const rows = EXPECTATIONS['force-hugetlb'] ?? [];
  it('a row is measured only where a committed report saw its answer; a release another row decides is read, naming the commit', () => {
    const evidence = [seen('force-hugetlb', 'pin_user_pages', '6.1.192', 'x86_64', -14)];
    expect(provenanceOf('force-hugetlb', rows, 'pin_user_pages', '6.1.192', 'x86_64', evidence)).toEqual({ kind: 'measured', on: ['6.1.192 x86_64'] });
    // The same row on a release no report ran is still measured (on 6.1.192); 6.1.1 is another row's.
    expect(provenanceOf('force-hugetlb', rows, 'pin_user_pages', '6.1.100', 'x86_64', evidence)?.on).toEqual(['6.1.192 x86_64']);
    const early = provenanceOf('force-hugetlb', rows, 'pin_user_pages', '6.1.1', 'x86_64', evidence);
    expect(early?.kind).toBe('read');
    expect(early?.commits?.join(' ')).toMatch(/f347454d0341 "mm\/gup: disallow FOLL_FORCE\|FOLL_WRITE on hugetlb mappings" \(6\.2; 6\.0\.16, 6\.1\.2\)/);
  });
  it('no report, a report of another case or probe, or one whose answer the row no longer accepts measures nothing', () => {
    expect(provenanceOf('force-hugetlb', rows, 'pin_user_pages', '6.1.192', 'x86_64', [])?.kind).toBe('read');
    for (const m of [
      seen('force-hugetlb', 'get_user_pages', '6.1.192', 'x86_64', -14),
      seen('cma-longterm', 'pin_user_pages', '6.1.192', 'x86_64', -14),
      seen('force-hugetlb', 'pin_user_pages', '6.1.192', 'x86_64', 1),
    ]) {
      expect(provenanceOf('force-hugetlb', rows, 'pin_user_pages', '6.1.192', 'x86_64', [m])?.kind, JSON.stringify(m)).toBe('read');
    }
  });
  it('a row counts every case of it a report saw (probes.md), on the release it ran', () => {
    const row = expectationFor(rows, 'pin_user_pages', '6.1.192', 'x86_64')!;
    const evidence = [seen('force-hugetlb', 'get_user_pages', '6.1.192', 'x86_64', -14), seen('force-hugetlb', 'pin_user_pages', '6.12.118', 'x86_64', -14)];
    expect(rowMeasuredOn('force-hugetlb', row, rows, evidence).length).toBeGreaterThan(0);
    expect(rowMeasuredOn('force-hugetlb', row, rows, [])).toEqual([]);
  });
  it('check says in its summary when every expectation of the kernel is read only', () => {
    const evidence = [seen('force-hugetlb', 'pin_user_pages', '6.1.192', 'x86_64', -14)];
    const report = (version: string) => ({
      version,
      arch: 'x86_64' as Arch,
      probes: [
        { id: 'force-hugetlb', title: '', cases: [judge('force-hugetlb', { case: 'pin_user_pages', answer: { ret: -14 } }, version, 'x86_64', evidence)] },
      ],
    });
    expect(expectationSummary(report('6.1.1'))).toMatch(/all 1 read from source only \(no committed report saw them on 6\.1\.1 x86_64\)/);
    expect(expectationSummary(report('6.1.192'))).toBe('expectations: 1 measured in a committed report, 0 read from source only');
  });
  it('history: cma-longterm thp/pin_user_pages_fast from 5.10 to 7.3 marks 6.6.47 and the releases reports saw', () => {
    const migrated = { ret: 16, note: 'migrated, data intact' };
    const evidence = [
      seen('cma-longterm', 'thp/pin_user_pages_fast', '6.12.118', 'arm64', migrated),
      seen('cma-longterm', 'thp/pin_user_pages_fast', '7.3.4', 'arm64', migrated),
      seen('cma-longterm', 'thp/pin_user_pages_fast', '6.1.192', 'x86_64', migrated),
    ];
    const h = caseHistory('cma-longterm', EXPECTATIONS['cma-longterm'] ?? [], 'thp/pin_user_pages_fast', 'arm64', '5.10', '7.3', evidence);
    expect(h.map((s) => [s.from, s.answer.ret])).toEqual([
      ['5.10', 16],
      ['5.15', -12],
      ['5.15.20', 16],
      ['5.16', -12],
      ['5.16.6', 16],
      ['6.1.129', 16],
      ['6.1.155', 16],
      ['6.6', -14],
      ['6.6.47', 16],
      ['6.7', -14],
      ['6.10', 16],
    ]);
    expect(h.find((s) => s.from === '6.6.47')?.commits).toEqual(['d1e153fea2a8', 'f442fa614137']);
    expect(h.find((s) => s.from === '6.6.47')?.measuredOn).toEqual([]);
    expect(h.find((s) => s.from === '6.1.129')?.alternatives).toEqual([{ ret: 16, note: 'stayed, data intact' }]);
    expect(h.find((s) => s.from === '6.1.155')?.measuredOn).toEqual([]);
    expect(h.at(-1)?.measuredOn).toEqual(['6.12.118 arm64', '7.3.4 arm64']);
  });
});

// Issue 33 part 4: a pinned anonymous page under MADV_PAGEOUT (probe
// pageout-pinned). One test per boundary: feb889fb40fa (5.11; 5.10.9) keeps a
// pinned page out of the swap cache; 6c287605fd56 / 1493a1913e34 (5.19) let a
// FOLL_GET page swapped out come back as the same, exclusive page.
describe('pageout-pinned (version in, answer out)', () => {
  const kept = { ret: 1, note: 'mapped, not in swap cache; read: same page; write: same page; holder sees the write' };
  const copiedOnWrite = { ret: 1, note: 'swap entry, in swap cache; read: same page; write: another page; holder stale' };
  const cameBack = { ret: 1, note: 'swap entry, in swap cache; read: same page; write: same page; holder sees the write' };
  it('a pinned page went to swap and was copied on write until 5.10.8; kept mapped from 5.10.9 (72c5ce89427f) and 5.11 (feb889fb40fa)', () => {
    for (const name of ['pin/pin_user_pages_fast', 'pin-ro/pin_user_pages', 'pin-longterm/pin_user_pages_fast']) {
      for (const v of ['5.9.0', '5.10.8']) expect(ans('pageout-pinned', name, v), `${name} ${v}`).toEqual(copiedOnWrite);
      for (const v of ['5.10.9', '5.10.246', '5.15.100', '6.1.192', '6.12.118', '7.3.4']) expect(ans('pageout-pinned', name, v), `${name} ${v}`).toEqual(kept);
      expect(ans('pageout-pinned', name, '6.1.192', 'arm64')).toEqual(kept);
    }
    expect(row('pageout-pinned', 'pin/pin_user_pages', '5.10.9').commits).toEqual(['feb889fb40fa']);
    expect(COMMITS.feb889fb40fa?.stable).toEqual([{ release: '5.10.9', id: '72c5ce89427f' }]);
  });
  it('a FOLL_GET page is swapped out everywhere; the write after the read fault copies it before 5.19, reuses it from 5.19', () => {
    for (const v of ['5.10.246', '5.15.100', '5.18.19']) expect(ans('pageout-pinned', 'get/get_user_pages_fast', v), v).toEqual(copiedOnWrite);
    for (const v of ['5.19.0', '6.0.19', '6.1.192', '6.12.118', '7.3.4']) expect(ans('pageout-pinned', 'get/get_user_pages', v), v).toEqual(cameBack);
    expect(row('pageout-pinned', 'get/get_user_pages', '5.19.0').commits).toEqual(['6c287605fd56', '1493a1913e34']);
  });
  it('the unheld control is swapped out on every kernel, and nothing in the probe is expected to WARN', () => {
    for (const v of ['5.10.246', '6.1.192', '7.3.4']) expect(ans('pageout-pinned', 'unpinned', v)).toEqual({ note: 'swap entry; process reads 0x41' });
    expect((EXPECTATIONS['pageout-pinned'] ?? []).filter((r) => r.warning)).toEqual([]);
  });
  it('a pin that the process lost is a failure, not an accepted answer, on a kernel with the fix', () => {
    expect(judge('pageout-pinned', { case: 'pin/pin_user_pages_fast', answer: copiedOnWrite }, '6.1.192', 'x86_64').status).toBe('fail');
    expect(judge('pageout-pinned', { case: 'pin/pin_user_pages_fast', answer: kept }, '6.1.192', 'x86_64').status).toBe('ok');
    expect(judge('pageout-pinned', { case: 'get/get_user_pages_fast', answer: kept }, '6.12.118', 'x86_64').status).toBe('fail');
  });
  it('provenance: measured where a report saw it; 5.10.8 and 5.18 are read, naming the commits', () => {
    const rows = EXPECTATIONS['pageout-pinned'] ?? [];
    const evidence: Measurement[] = [{ probe: 'pageout-pinned', case: 'pin/pin_user_pages', version: '6.12.118', arch: 'x86_64', answer: kept }];
    expect(provenanceOf('pageout-pinned', rows, 'pin/pin_user_pages', '6.12.118', 'x86_64', evidence)).toEqual({ kind: 'measured', on: ['6.12.118 x86_64'] });
    expect(provenanceOf('pageout-pinned', rows, 'pin/pin_user_pages', '6.12.118', 'x86_64', [])?.kind).toBe('read');
    expect(provenanceOf('pageout-pinned', rows, 'pin/pin_user_pages', '5.10.8', 'x86_64', evidence)?.commits?.join(' ')).toMatch(
      /feb889fb40fa "mm: don't put pinned pages into the swap cache" \(5\.11; 5\.10\.9\)/,
    );
    expect(provenanceOf('pageout-pinned', rows, 'get/get_user_pages', '5.18.19', 'x86_64', evidence)?.kind).toBe('read');
    const h = caseHistory('pageout-pinned', rows, 'pin/pin_user_pages_fast', 'x86_64', '5.10', '7.3', evidence);
    expect(h.map((s) => [s.from, s.answer.note?.split(';')[0]])).toEqual([
      ['5.10', 'swap entry, in swap cache'],
      ['5.10.9', 'mapped, not in swap cache'],
    ]);
  });
});
