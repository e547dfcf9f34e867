// The pure parts of `guplab selftests` and `guplab fidelity`: reading the
// selftests' TAP, merging it into one KTAP document, the command lines each
// version's run_vmtests.sh runs, the cross-check table and the fidelity rows.
// Fixtures are real: run_vmtests.sh of Debian's linux-source 6.1.192 and
// 6.12.117, and output captured in the guest on 6.1 and 6.12 (TCG).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseCheckReport } from '../../lib/check/report.js';
import { pickSourcePackage, selftestSources, undefinedSymbols, GUP_TEST_KBUILD } from '../../lib/selftests/build.js';
import { crossCheck, crossCheckMarkdown, crossCheckPairs, probeAnswer, selftestAnswer } from '../../lib/selftests/crosscheck.js';
import {
  fidelityCases,
  fidelityExitCode,
  fidelityMarkdown,
  gupTestArgs,
  judgeCase,
  parseGupTestTimes,
  type FidelityPair,
} from '../../lib/selftests/fidelity.js';
import { judgeRun, mergeKtap, parseTap } from '../../lib/selftests/ktap.js';
import { guestScript, selftestInvocations, withFilesystems } from '../../lib/selftests/plan.js';

const fixture = (name: string): string => readFileSync(path.join(__dirname, '..', 'fixtures', 'selftests', name), 'utf8');

describe('run_vmtests.sh: the GUP selftests each version runs', () => {
  it('6.1 (selftests/vm): the three gup_test lines, no gup_longterm or cow', () => {
    expect(selftestInvocations(fixture('run_vmtests-6.1.sh')).map((i) => i.name)).toEqual(['gup_test -u', 'gup_test -a', 'gup_test -ct -F 0x1 0 19 0x1000']);
  });

  it('6.12 (selftests/mm): the default branch, not run_gup_matrix (-a only), then gup_longterm and cow', () => {
    const inv = selftestInvocations(fixture('run_vmtests-6.12.sh'));
    expect(inv.map((i) => i.name)).toEqual(['gup_test -u', 'gup_test -a', 'gup_test -ct -F 0x1 0 19 0x1000', 'gup_longterm', 'cow']);
    expect(inv[2]!.args).toEqual(['-ct', '-F', '0x1', '0', '19', '0x1000']);
  });

  it('lines with shell variables and commented-out lines are not taken', () => {
    const text = '# run_test ./gup_test -u\nrun_test ./gup_test $ARGS\nCATEGORY="gup_test" run_test ./gup_test -L\nrun_test ./uffd-unit-tests\n';
    expect(selftestInvocations(text).map((i) => i.name)).toEqual(['gup_test -L']);
  });

  it('gup_longterm once more in each filesystem folder (not on DAX)', () => {
    const inv = withFilesystems(selftestInvocations(fixture('run_vmtests-6.12.sh')), [
      { fs: 'ext4', path: '/mnt/guplab/ext4', dax: false },
      { fs: 'ext4', path: '/mnt/guplab/ext4-dax', dax: true },
    ]);
    expect(inv.map((i) => i.name)).toContain('gup_longterm (in ext4 /mnt/guplab/ext4)');
    expect(inv.filter((i) => i.binary === 'gup_longterm')).toHaveLength(2);
  });

  it('the guest script loads the module, checks the debugfs file, and records each exit status', () => {
    const s = guestScript({ binDir: '/c/bin', module: '/c/gup_test.ko', invocations: selftestInvocations('run_test ./gup_test -ct -F 0x1 0 19 0x1000\n') });
    expect(s).toContain('insmod /c/gup_test.ko');
    expect(s).toContain('/sys/kernel/debug/gup_test');
    expect(s).toContain('/c/bin/gup_test -ct -F 0x1 0 19 0x1000 ) > "$out/selftest-0.tap"');
    expect(s).toContain('echo $? > "$out/selftest-0.rc"');
    // No module (a kernel that does not export what gup_test.c needs): the selftests run, nothing is loaded.
    const bare = guestScript({ binDir: '/c/bin', invocations: selftestInvocations('run_test ./gup_test -u\n') });
    expect(bare).not.toContain('insmod');
    expect(bare).toContain('/c/bin/gup_test -u');
  });
});

describe('the build', () => {
  const madison =
    ' linux-source-6.1 | 6.1.192-3 | http://mirror bookworm-security/main amd64 Packages\n linux-source-6.1 | 6.1.176-1 | http://mirror bookworm/main amd64 Packages\n';
  it("takes the kernel's own source version, else the newest of the line", () => {
    expect(pickSourcePackage('6.1', '6.1.192-3', madison, [])).toEqual({ name: 'linux-source-6.1', version: '6.1.192-3', exact: true });
    expect(pickSourcePackage('6.1', '6.1.193-1', madison, [])).toEqual({ name: 'linux-source-6.1', version: '6.1.192-3', exact: false });
  });
  it('a line without linux-source is a one-line error naming the lines that have one', () => {
    expect(() => pickSourcePackage('6.16', '6.16.3-1', '', ['6.1', '6.12', '7.2', '7.3'])).toThrow(
      /^no linux-source-6\.16 package .*pass --kernel one of the lines that have one \(6\.1, 6\.12, 7\.2, 7\.3\)$/,
    );
  });
  it('a line older than gup_test (5.10) is refused before any download', () => {
    expect(() => pickSourcePackage('5.10', '5.10.262-1', madison, [])).toThrow(/^the 5\.10 line predates mm\/gup_test\.c .*pass --kernel 6\.1 or newer$/);
  });
  it('modpost refusals name the unexported symbols', () => {
    expect(
      undefinedSymbols('WARNING: modpost: "dump_page" [/tmp/x/gup_test.ko] undefined!\nERROR: modpost: "foo_bar" [/tmp/x/gup_test.ko] undefined!'),
    ).toEqual(['dump_page', 'foo_bar']);
    // 7.3's layout
    expect(undefinedSymbols("ERROR: modpost: gup_test.ko: symbol 'get_pfnblock_migratetype' undefined!")).toEqual(['get_pfnblock_migratetype']);
  });
  it('gup_test.c is compiled unchanged, with module.h forced in and a license object beside it', () => {
    expect(GUP_TEST_KBUILD).toMatch(/gup_test-y := gup_test_core\.o gup_test_license\.o/);
    expect(GUP_TEST_KBUILD).toMatch(/-include linux\/module\.h/);
    // What each version links, from its Makefile.
    expect(
      selftestSources(
        'cow',
        '$(TEST_GEN_PROGS): vm_util.c thp_settings.c\n$(TEST_GEN_FILES): vm_util.c thp_settings.c\n$(OUTPUT)/cow: LDLIBS += $(IOURING_EXTRA_LIBS)\n',
        () => true,
      ),
    ).toEqual(['cow.c', 'vm_util.c', 'thp_settings.c']);
    expect(selftestSources('gup_test', '$(TEST_GEN_FILES): vm_util.c hugepage_settings.c\n', () => true)).toEqual([
      'gup_test.c',
      'vm_util.c',
      'hugepage_settings.c',
    ]);
    expect(selftestSources('gup_test', '$(OUTPUT)/khugepaged: vm_util.c\n', () => true)).toEqual(['gup_test.c']);
  });
});

describe('TAP and KTAP', () => {
  it('reads gup_longterm: plan, [RUN] names, skips with their reasons, kselftest totals', () => {
    const doc = parseTap(fixture('gup_longterm-ext4-6.12.tap'));
    expect(doc.plan).toBe(40);
    expect(doc.results).toHaveLength(40);
    expect(doc.results[2]).toMatchObject({
      n: 3,
      run: 'R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile',
      desc: 'Should have failed',
      status: 'pass',
    });
    const skip = doc.results.find((r) => r.status === 'skip');
    expect(skip?.reason).toBeTruthy();
    expect(doc.totals).toMatchObject({ pass: 30, fail: 0, skip: 10 });
  });

  it('a run is judged by its cases, its plan and its exit status together', () => {
    expect(judgeRun({ name: 'x', exitCode: 0, output: 'TAP version 13\n1..2\nok 1 a\nok 2 b # SKIP no hugetlb\n' }).status).toBe('pass');
    expect(judgeRun({ name: 'x', exitCode: 1, output: 'TAP version 13\n1..2\nok 1 a\nnot ok 2 b\n' })).toMatchObject({
      status: 'fail',
      reason: '1 case(s) failed',
    });
    expect(judgeRun({ name: 'x', exitCode: 0, output: 'TAP version 13\n1..3\nok 1 a\n' })).toMatchObject({
      status: 'fail',
      reason: '1 result(s) for a plan of 3',
    });
    expect(judgeRun({ name: 'x', exitCode: null, output: 'TAP version 13\n1..3\nok 1 a\n' }).status).toBe('fail');
    expect(judgeRun({ name: 'x', exitCode: 4, output: 'TAP version 13\n1..0 # SKIP gup_test not available\n' })).toMatchObject({
      status: 'skip',
      reason: 'gup_test not available',
    });
    expect(judgeRun({ name: 'x', exitCode: 0, output: 'TAP version 13\n1..1\nok 1 # SKIP Unknown filesystem\n' })).toMatchObject({
      status: 'skip',
      reason: 'Unknown filesystem',
    });
    // gup_test without its module: the diagnostic before the skip says why.
    expect(
      judgeRun({
        name: 'gup_test -u',
        exitCode: 0,
        output: 'TAP version 13\n1..1\n# check if CONFIG_GUP_TEST is enabled in kernel config\nok 1 # SKIP Please run this test as root\n',
      }),
    ).toMatchObject({
      status: 'skip',
      reason: 'Please run this test as root: check if CONFIG_GUP_TEST is enabled in kernel config',
    });
    expect(judgeRun({ name: 'x', exitCode: 139, output: 'TAP version 13\n1..1\nok 1 a\n' }).status).toBe('fail');
  });

  it("6.1's gup_test prints no TAP: judged by its exit status, its lines kept", () => {
    const v = judgeRun({ name: 'gup_test -u', exitCode: 0, output: fixture('gup_test-u-6.1.txt') });
    expect(v.status).toBe('pass');
    expect(v.doc.comments.join('\n')).toMatch(/GUP_FAST_BENCHMARK: Time: get:\d+ put:\d+ us/);
    expect(judgeRun({ name: 'gup_test -u', exitCode: 1, output: 'ioctl: Invalid argument\n' }).status).toBe('fail');
  });

  it('merges the runs into one KTAP document: one indented subtest per run, then its result line', () => {
    const ktap = mergeKtap(
      [
        judgeRun({ name: 'gup_test -u', exitCode: 0, output: 'TAP version 13\n1..1\nok 1 ioctl status 0\n' }),
        judgeRun({ name: 'gup_longterm', exitCode: 0, output: fixture('gup_longterm-ext4-6.12.tap') }),
        judgeRun({ name: 'cow', exitCode: 1, output: 'TAP version 13\n1..1\nnot ok 1 Leak from parent into child\n' }),
        judgeRun({ name: 'anon_cow', exitCode: null, output: '', skip: 'not in this version' }),
      ],
      ['TCG'],
    );
    const lines = ktap.split('\n');
    expect(lines.slice(0, 3)).toEqual(['KTAP version 1', '# TCG', '1..4']);
    expect(lines).toContain('  KTAP version 1');
    expect(lines).toContain('  # Subtest: gup_longterm');
    expect(lines).toContain('  1..40');
    expect(lines).toContain('ok 1 gup_test -u');
    expect(lines).toContain('ok 2 gup_longterm');
    expect(lines).toContain('not ok 3 cow');
    expect(lines).toContain('ok 4 anon_cow # SKIP not in this version');
    expect(lines.filter((l) => /^(not )?ok /.test(l))).toHaveLength(4);
    // The selftests' own diagnostics stay, before the case they belong to.
    const run = lines.indexOf('  # [RUN] R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile');
    expect(run).toBeGreaterThan(0);
    expect(lines[run + 1]).toBe('  ok 3 Should have failed');
    // Nested lines re-read as the same cases.
    const nested = parseTap(
      lines
        .filter((l) => l.startsWith('  '))
        .map((l) => l.slice(2))
        .slice(6, 6 + 200)
        .join('\n'),
    );
    expect(nested.results.length).toBeGreaterThan(0);
  });
});

describe('cross-check', () => {
  const LT = {
    kind: 'longterm' as const,
    shouldWork: false,
    selftest: { invocation: 'gup_longterm (in ext4', run: 'R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile' },
  };
  const RO = { kind: 'ro-pin-coherence' as const, selftest: { invocation: 'cow', run: 'R/O longterm GUP pin ... with shared zeropage' } };
  const report = parseCheckReport(fixture('check-6.12.json'), 'check-6.12.json');
  const ext4 = judgeRun({ name: 'gup_longterm (in ext4 /mnt/guplab/ext4)', exitCode: 0, output: fixture('gup_longterm-ext4-6.12.tap') });

  it('reads each side on its own terms', () => {
    expect(selftestAnswer(LT, { n: 1, status: 'pass', desc: 'Should have failed' })).toBe('refused');
    expect(selftestAnswer(LT, { n: 1, status: 'fail', desc: 'Should have failed' })).toBe('pinned');
    expect(selftestAnswer(LT, { n: 1, status: 'skip', desc: '', reason: 'Unknown filesystem' })).toBeUndefined();
    expect(selftestAnswer(RO, { n: 1, status: 'fail', desc: 'Longterm R/O pin is reliable' })).toBe('unreliable');
    // 7.x: the result line names the case; gup_longterm's own expectation (shouldWork) gives the answer.
    expect(selftestAnswer(LT, { n: 3, status: 'pass', desc: LT.selftest.run })).toBe('refused');
    expect(selftestAnswer(LT, { n: 3, status: 'fail', desc: LT.selftest.run })).toBe('pinned');
    expect(selftestAnswer({ ...LT, shouldWork: true }, { n: 3, status: 'pass', desc: LT.selftest.run })).toBe('pinned');
    expect(selftestAnswer(LT, { n: 3, status: 'pass', desc: 'some other case' })).toBeUndefined();
    expect(selftestAnswer(RO, { n: 646, status: 'pass', desc: RO.selftest.run })).toBe('reliable');
    expect(selftestAnswer(RO, { n: 646, status: 'fail', desc: RO.selftest.run })).toBe('unreliable');
    // Every longterm pair carries the expectation, as gup_longterm computes it: only a shared R/W pin on ext4/xfs should fail.
    for (const p of crossCheckPairs().filter((x) => x.kind === 'longterm')) {
      expect(p.shouldWork, p.selftest.run).toBe(
        !(p.selftest.run.startsWith('R/W') && p.selftest.run.includes('MAP_SHARED') && p.selftest.run.endsWith('local tmpfile')),
      );
    }
    expect(probeAnswer('longterm', { case: 'ext4/pin_user_pages', status: 'ok', answer: { ret: -14 } })).toBe('refused');
    expect(probeAnswer('ro-pin-coherence', { case: 'x', status: 'ok', answer: { ret: 1, note: 'the zeropage; stale after the write' } })).toBe('unreliable');
  });

  it('pairs the ext4 questions of a real 6.12 run, and leaves what did not run uncompared', () => {
    const rows = crossCheck([ext4], report);
    const ext4Rows = rows.filter((r) => r.selftest === 'gup_longterm in ext4');
    expect(ext4Rows).toHaveLength(8);
    expect(ext4Rows.every((r) => r.verdict === 'agree')).toBe(true);
    expect(ext4Rows.find((r) => r.probe === 'writable-longterm-shared ext4/pin_user_pages')).toMatchObject({
      selftestAnswer: 'refused',
      guplabAnswer: 'refused',
    });
    expect(rows.filter((r) => r.selftest === 'cow').every((r) => r.verdict === 'not compared')).toBe(true);
    expect(crossCheckMarkdown(rows)).toMatch(/8 agree, 0 disagree, 16 not compared .* of 24 questions/);
  });

  it('a selftest that answers otherwise is a disagreement, not a pass', () => {
    const flipped = judgeRun({
      name: 'gup_longterm (in ext4 /mnt/guplab/ext4)',
      exitCode: 1,
      output: 'TAP version 13\n1..1\n# [RUN] R/W longterm GUP pin in MAP_SHARED file mapping ... with local tmpfile\nnot ok 1 Should have failed\n',
    });
    const row = crossCheck([flipped], report).find((r) => r.probe === 'writable-longterm-shared ext4/pin_user_pages');
    expect(row).toMatchObject({ selftestAnswer: 'pinned', guplabAnswer: 'refused', verdict: 'DISAGREE' });
  });

  it('every pair names a probe the check report has', () => {
    const ids = new Set(report.probes.map((p) => p.id));
    for (const p of crossCheckPairs()) expect(ids.has(p.probe.id)).toBe(true);
  });
});

describe('fidelity', () => {
  it("gup_test's command lines: the benchmark option, the backing, write, pages per call, size, repeats", () => {
    const cases = fidelityCases(32, [1, 512], ['4K', 'THP']);
    expect(cases).toHaveLength(12);
    expect(gupTestArgs(cases.find((c) => c.cmd === 'PIN_LONGTERM_BENCHMARK' && c.ppc === 512 && c.backing === 'THP')!, 10)).toEqual([
      '-L',
      '-t',
      '-w',
      '-n',
      '512',
      '-m',
      '32',
      '-r',
      '10',
    ]);
  });

  it("parses gup_test's timing lines (6.1 plain, 6.12 as ksft comments)", () => {
    expect(parseGupTestTimes(fixture('gup_test-u-6.1.txt'))).toHaveLength(1);
    expect(
      parseGupTestTimes('# PIN_FAST_BENCHMARK: Time: get:100 put:20 us# \n# PIN_FAST_BENCHMARK: Time: get:90 put:10 us, truncated (size: 4096)# \n'),
    ).toEqual([
      { cmd: 'PIN_FAST_BENCHMARK', getUs: 100, putUs: 20, truncated: false },
      { cmd: 'PIN_FAST_BENCHMARK', getUs: 90, putUs: 10, truncated: true },
    ]);
  });

  const pair = (round: number, gupTestUs: number[], guplabNs: number[], extra: Partial<FidelityPair> = {}): FidelityPair => ({
    round,
    case: 0,
    order: round % 2 ? 'guplabFirst' : 'gupTestFirst',
    gupTest: gupTestUs.map((u) => ({ getUs: u, putUs: 0 })),
    guplab: { status: 0, getNs: guplabNs, putNs: guplabNs.map(() => 0) },
    ...extra,
  });

  it('a case: medians per page on both sides, the ratio with a CI over pairs of rounds, judged against 5%', () => {
    const c = fidelityCases(32, [512], ['4K'])[0]!; // GUP_FAST_BENCHMARK, 8192 pages
    const pages = 8192;
    const same = [0, 1, 2, 3].map((r) =>
      pair(
        r,
        [800 + r, 810 + r, 820 + r],
        [(800 + r) * 1000 * 1.01, (810 + r) * 1000 * 1.01, (820 + r) * 1000 * 1.01],
        r === 0 ? { floorNs: [pages * 2] } : {},
      ),
    );
    const agree = judgeCase(c, same);
    // Each side's first repeat per pair is a warm-up: 810..823 are counted, 800..803 not.
    expect(agree.gupTestNsPerPage).toBeCloseTo((816.5 * 1000) / pages, 0);
    expect(agree.samples).toEqual({ gupTest: 8, guplab: 8 });
    expect(agree.putRatio).toBeUndefined(); // gup_test timed no put
    expect(agree.ratio).toBeCloseTo(1.01, 2);
    expect(agree.verdict).toBe('agree');
    expect(agree.floorNsPerPage).toBeCloseTo(2, 6);
    const slow = [0, 1, 2, 3].map((r) => pair(r, [800, 810, 820], [1000e3, 1010e3, 1020e3]));
    const differ = judgeCase(c, slow);
    expect(differ.ratio).toBeGreaterThan(1.2);
    expect(differ.ci95![0]).toBeGreaterThan(1);
    expect(differ.verdict).toBe('differ');
    expect(fidelityExitCode([agree])).toBe(0);
    expect(fidelityExitCode([agree, differ])).toBe(1);
    expect(judgeCase(c, [pair(0, [], [1])])).toMatchObject({ verdict: 'none', why: 'gup_test printed no timing' });
  });

  it('not judged: one page per call (the floor sets it), and THP buffers laid out differently', () => {
    const [one] = fidelityCases(32, [1], ['4K']);
    expect(
      judgeCase(
        one!,
        [0, 1].map((r) => pair(r, [800, 800], [2000e3, 2000e3])),
      ).verdict,
    ).toBe('shown');
    // guplab's loop adds its floor per call; less the floor, what is left of the ratio.
    // gup_test 1000 ns/page, guplab 1100, guplab's floor 100.
    const floored = judgeCase(
      one!,
      [0, 1].map((r) => pair(r, [8192, 8192], [1100 * 8192, 1100 * 8192], r ? {} : { floorNs: [100 * 8192] })),
    );
    expect(floored.ratio).toBeCloseTo(1.1, 6);
    expect(floored.ratioLessFloor).toBeCloseTo(1.0, 6);
    expect(floored.why).toContain('less it: 1.000');
    const [thp] = fidelityCases(32, [512], ['THP']);
    const rows = judgeCase(
      thp!,
      [0, 1].map((r) => pair(r, [800, 800], [400e3, 400e3], { gupTestThpKiB: 30 * 1024, guplabThpKiB: 32 * 1024 })),
    );
    expect(rows).toMatchObject({ verdict: 'shown', gupTestThpShare: 30 / 32, guplabThpShare: 1 });
    expect(fidelityMarkdown([rows], 'tcg')).toContain('THP layouts differ');
  });
});
