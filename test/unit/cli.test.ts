// The CLI with bad input, as a newcomer types it: one line on stderr that
// names the fix, exit status 2, and nothing slow started (no download, no
// build, no boot). Runs the built CLI (dist/), no VM.
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { projectRoot } from '../../lib/util/root.js';

function guplab(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [path.join(projectRoot, 'bin', 'guplab.js'), ...args], {
      cwd: projectRoot,
      // A cache that does not exist: anything that tried to fetch or build would show there.
      env: { ...process.env, GUPLAB_CACHE: path.join(os.tmpdir(), `guplab-cli-test-${process.pid}`) },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (status) => resolve({ status, stdout, stderr }));
  });
}

const dir = mkdtempSync(path.join(os.tmpdir(), 'guplab-cli-'));
const stub = path.join(dir, 'stub.json');
writeFileSync(stub, '{"schema":"guplab-bench/1"}');
const notJson = path.join(dir, 'notes.txt');
writeFileSync(notJson, 'hello');

const BAD: [string, string[], RegExp][] = [
  ['a zero size', ['bench', '--vm', '--size', '0'], /whole 4 KiB pages: use a multiple of 4K/],
  ['a size below one page', ['bench', '--vm', '--size', '3K'], /whole 4 KiB pages/],
  ['an unknown probe', ['check', '--vm', '--only', 'nosuch'], /unknown probe nosuch: `guplab check --list`/],
  ['--dax without --pmem', ['vm', 'run', '--dax', 'ext4', '--', 'true'], /--dax needs --pmem SIZE/],
  ['vm shell without a terminal', ['vm', 'shell'], /vm shell needs a terminal and stdin is not one: .*guplab vm run -- COMMAND/],
  [
    '--numa sizes that miss --mem',
    ['vm', 'shell', '--numa', '1G', '--numa', '512M'],
    /--numa node sizes add up to 1536 MiB .* but --mem is 2048: make them add up to --mem/,
  ],
  ['--numa on vm run, uneven', ['vm', 'run', '--mem', '2048', '--numa', '3', '--', 'true'], /--mem 2048 does not split into 3 equal nodes/],
  ['--repl with a command', ['vm', 'shell', '--repl', '--', 'bash'], /--repl and a command exclude each other/],
  ['a VM option without --vm', ['bench', '--kernel', '6.12'], /--kernel only applies with --vm: add --vm/],
  ['VM options without --vm', ['check', '--hugepages', '4', '--arch', 'arm64'], /--arch, --hugepages only apply with --vm/],
  ['a consumers VM option without --vm', ['consumers', 'check', '--kernel', '6.16'], /--kernel only applies with --vm: add --vm/],
  ['a bench result without cases', ['compare', stub, stub], /stub.json says guplab-bench\/1 but lacks its environment, spec or cases/],
  ['a file that is not JSON', ['compare', notJson, notJson], /cannot read .*notes.txt as a bench result/],
  ['a matrix input that is not a check report', ['matrix', '--from', stub], /stub.json: not a guplab check report .*re-run guplab check/],
  ['an unknown option', ['bench', '--frobnicate'], /unknown option '--frobnicate'/],
  ['an unknown API', ['pin', '--api', 'pin_user_pages_slow'], /unknown API "pin_user_pages_slow": use one of get_user_pages_fast/],
  ['an unknown flag', ['pin', '--api', 'pin_user_pages_fast', '--flags', 'write+bogus'], /unknown flag bogus/],
  ['an unknown arch', ['kmod-check', '--arch', 'riscv64'], /unknown arch riscv64: guplab boots Debian's x86_64 \(amd64\) and arm64/],
  ['a bad run list', ['test-vm', '--runs', '6.1:sparc'], /unknown arch "sparc" in --runs/],
  ['--budget without --mde', ['bench', '--vm', '--budget', '60'], /--budget bounds the extra rounds of --mde: add --mde 10%/],
  ['an MDE of 0', ['bench', '--vm', '--mde', '0%'], /expected a percentage in \(0, 100\], e.g. 10%/],
  [
    'a baseline never saved',
    ['bench', '--vm', '--baseline', 'nosuch', '--out', dir],
    /no baseline "nosuch" under .*none saved.*guplab bench --save-baseline nosuch/,
  ],
  ['a baseline name with a slash', ['bench', '--save-baseline', '../x'], /bad baseline name "..\/x": use letters, digits/],
  ['an empty kernel in an A/B list', ['bench', '--vm', '--kernel', '6.1,'], /an empty kernel in the list; give e.g. --kernel 6.1,6.12/],
  ['A/B with a baseline', ['bench', '--vm', '--kernel', '6.1,6.12', '--baseline', 'x'], /--baseline\/--save-baseline take one result/],
  ['an unknown selftest', ['selftests', '--vm', '--only', 'foo'], /unknown selftest foo: --only takes gup_test, gup_longterm, cow/],
  ['selftests on a user kernel', ['selftests', '--vm', '--kernel-image', '/x', '--kernel-build', '/y'], /--kernel-image is not supported; pass --kernel LINE/],
  ['fidelity without --vm', ['fidelity'], /fidelity runs in a guest with gup_test.ko: add --vm/],
  ['fidelity with no repeat left after the warm-up', ['fidelity', '--vm', '--repeats', '1'], /--repeats 1 leaves nothing to count: .* use --repeats 2 or more/],
  ['fidelity with a buffer one pass cannot hold', ['fidelity', '--vm', '--size', '2048'], /--size 2048: .* at most 1024 MiB .*use --size 1024 or less/],
  ['compare with three files', ['compare', stub, stub, stub], /compare takes two results.json \(base new\), one with --baseline NAME, or one ab.json/],
  ['compare of one file that is not an A/B run', ['compare', stub], /is not an A\/B run's ab.json: give two results.json/],
];

describe('guplab with bad input', () => {
  for (const [what, args, message] of BAD) {
    it(`${what}: one line naming the fix, exit 2, nothing started`, async () => {
      const r = await guplab(args);
      expect(r.stderr).toMatch(message);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).not.toMatch(/downloading|building|booting|at .*\.js:\d+/);
      expect(r.status).toBe(2);
    });
  }

  it('--version prints the package version', async () => {
    const r = await guplab(['--version']);
    expect(r.stdout.trim()).toMatch(/^\d+\.\d+\.\d+$/);
    expect(r.status).toBe(0);
  });

  it('check --list names every probe with its question', async () => {
    const r = await guplab(['check', '--list']);
    expect(r.stdout).toMatch(/^longterm-variants\s+FOLL_LONGTERM/m);
    expect(r.status).toBe(0);
  });

  it('check without the module prints a KTAP SKIP plan and exits 4 (kselftest)', async () => {
    const r = await guplab(['check']);
    if (r.stdout.includes('# totals')) return; // a host with the module loaded runs the real check instead
    expect(r.stdout).toMatch(/^KTAP version 1\n1\.\.0 # SKIP .*make load/);
    expect(r.status).toBe(4);
  });
});
