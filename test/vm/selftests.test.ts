// The kernel's own gup_test in a real guest: mm/gup_test.c of Debian's
// linux-source 6.12, built out of tree against the kernel's kbuild tree,
// loaded in QEMU, driven by the version's own gup_test selftest with the
// command lines of its run_vmtests.sh. One boot (the plain guest); the full
// set (gup_longterm, cow, the cross-check) is `make test-selftests`.
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { selftestsInVm, type SelftestsSummary } from '../../lib/jobs/selftests.js';
import { parseTap } from '../../lib/selftests/ktap.js';

const KERNEL = process.env.GUPLAB_SELFTESTS_KERNEL ?? '6.12';
const out = mkdtempSync(path.join(os.tmpdir(), 'guplab-selftests-test-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe(`gup_test (out-of-tree mm/gup_test.c) in the guest, ${KERNEL} x86_64`, () => {
  const run = (async () => {
    const t0 = Date.now();
    const code = await selftestsInVm(
      { kernel: KERNEL, arch: 'x86_64', timeoutSec: 600, memMiB: 1024 },
      { out, crossCheck: false, only: ['gup_test'], output: { write: () => true } as unknown as NodeJS.WritableStream },
    );
    return { code, wallS: (Date.now() - t0) / 1000 };
  })();

  it('every gup_test line of run_vmtests.sh passes, with its ioctl and timing in the KTAP', async () => {
    const { code, wallS } = await run;
    const dir = readdirJson(out);
    const summary = JSON.parse(readFileSync(dir.json, 'utf8')) as SelftestsSummary;
    process.stderr.write(`selftests test: ${summary.release} boot-to-command ${summary.bootToCommandS} s, guest ${summary.wallS} s, whole ${wallS} s\n`);
    expect(code).toBe(0);
    expect(summary.subtests.map((s) => s.name)).toEqual(['gup_test -u', 'gup_test -a', 'gup_test -ct -F 0x1 0 19 0x1000']);
    expect(summary.subtests.every((s) => s.status === 'pass')).toBe(true);
    const ktap = readFileSync(dir.ktap, 'utf8');
    const top = parseTap(
      ktap
        .split('\n')
        .filter((l) => !l.startsWith('  '))
        .join('\n'),
    );
    expect(top.plan).toBe(3);
    expect(top.results.map((r) => r.status)).toEqual(['pass', 'pass', 'pass']);
    // The module really answered: the benchmark lines carry the kernel's own timings.
    expect(ktap).toMatch(/GUP_FAST_BENCHMARK: Time: get:\d+ put:\d+ us/);
    expect(ktap).toMatch(/PIN_FAST_BENCHMARK: Time: get:\d+ put:\d+ us/);
    expect(ktap).toMatch(/ok 1 ioctl status 0/);
  }, 900_000);
});

function readdirJson(dir: string): { json: string; ktap: string } {
  const files = readdirSync(dir);
  const json = files.find((f) => /^selftests-.*\.json$/.test(f));
  const ktap = files.find((f) => /^selftests-.*\.ktap$/.test(f));
  if (!json || !ktap) throw new Error(`no selftests-*.json/ktap in ${dir}: ${files.join(', ')}`);
  return { json: path.join(dir, json), ktap: path.join(dir, ktap) };
}
