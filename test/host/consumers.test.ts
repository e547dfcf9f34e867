// The consumer suite on this host's own kernel, no module and no VM: every
// consumer on every backing answers as its expectation row says, or is not
// run with a reason (a skip that says why, never a pass). No time is asserted.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { expectationFor, kernelFullVersion } from '../../lib/check/expectations.js';
import { runConsumerBench, defaultBenchSpec } from '../../lib/consumers/bench.js';
import { CONSUMER_EXPECTATIONS } from '../../lib/consumers/expectations.js';
import { fsTypeOf, memlockFacts } from '../../lib/consumers/host.js';
import { consumersAddon } from '../../lib/consumers/native.js';
import { runConsumers, type ConsumerReport } from '../../lib/consumers/run.js';
import { BACKING_KINDS, CONSUMER_IDS, caseName, DIRTY_TRACKED_FS } from '../../lib/consumers/table.js';
import { projectRoot } from '../../lib/util/root.js';

const fs = fsTypeOf(process.cwd());
const version = kernelFullVersion(os.release(), readFileSync('/proc/version', 'utf8'));
let report: ConsumerReport;
const lines: string[] = [];

beforeAll(() => {
  report = runConsumers({ onLine: (l) => lines.push(l) });
});

const result = (id: string, name: string) => report.probes.find((p) => p.id === id)?.cases.find((c) => c.case === name);

describe('consumer suite on this host', () => {
  it('reports KTAP with a plan, one subtest per consumer and totals', () => {
    expect(lines[0]).toBe('KTAP version 1');
    expect(lines[2]).toBe(`1..${CONSUMER_IDS.length}`);
    expect(lines.at(-1)).toMatch(/^# totals: ok \d+, fail 0, unexpected 0, skip \d+$/);
    expect(report).toMatchObject({ suite: 'consumers', accelerator: process.env.GUPLAB_ACCEL ?? 'none', fs });
  });

  for (const id of CONSUMER_IDS) {
    for (const kind of BACKING_KINDS) {
      const name = caseName(kind, fs);
      it(`${id} on ${name}`, (ctx) => {
        const r = result(id, name);
        expect(r, 'case reported').toBeDefined();
        if (r?.status === 'skip') {
          expect(r.skip, 'a skip states its reason').toBeTruthy();
          ctx.skip(`not run here: ${r.skip}`);
        }
        expect(r?.status, `answered ${JSON.stringify(r?.answer)}, expected ${JSON.stringify(r?.expected)} (${r?.source})`).toBe('ok');
        expect(r?.answer).toEqual(expectationFor(CONSUMER_EXPECTATIONS[id], name, version, report.arch)?.answer);
      });
    }
  }

  it('writable long-term io_uring registration of a MAP_SHARED file on the working directory: EFAULT from 6.5, EOPNOTSUPP before', (ctx) => {
    if (!(DIRTY_TRACKED_FS as readonly string[]).includes(fs))
      ctx.skip(`the working directory is on ${fs}, not a dirty-tracked filesystem (${DIRTY_TRACKED_FS.join(', ')})`);
    const r = result('io_uring-register', `file-${fs}`);
    if (r?.status === 'skip') ctx.skip(`not run here: ${r.skip}`);
    const [major, minor] = version.split('.').map(Number) as [number, number];
    expect(r?.answer).toEqual({ ret: major > 6 || (major === 6 && minor >= 5) ? -14 : -95 });
  });

  it('io_uring registration of a MAP_SHARED tmpfs file succeeds', (ctx) => {
    const r = result('io_uring-register', 'tmpfs');
    if (r?.status === 'skip') ctx.skip(`not run here: ${r.skip}`);
    expect(r?.answer).toEqual({ ret: 0 });
  });
});

describe('over RLIMIT_MEMLOCK', () => {
  const tools = ['prlimit', 'setpriv'].every((p) => !spawnSync(p, ['--version'], { encoding: 'utf8' }).error);
  it('io_uring without CAP_IPC_LOCK: a buffer over the limit is not run, with the limit and the fix named; one page over answers -ENOMEM', (ctx) => {
    if (!tools) ctx.skip('needs util-linux prlimit and setpriv (scripts/deps.sh installs util-linux)');
    const cli = path.join(projectRoot, 'bin', 'guplab.js');
    if (!existsSync(path.join(projectRoot, 'dist', 'lib', 'commands', 'consumers.js'))) ctx.skip('dist/ not built: run make build');
    // 1 MiB of locked memory, and CAP_IPC_LOCK out of the bounding set (a no-op for a user without it).
    const drop = memlockFacts().ipcLock ? ['setpriv', '--inh-caps=-ipc_lock', '--bounding-set=-ipc_lock'] : [];
    const r = spawnSync('prlimit', ['--memlock=1048576', ...drop, process.execPath, cli, 'consumers', 'check', '--only', 'io_uring-register', '--json'], {
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (r.status === 4 || /io_uring_setup/.test(r.stdout)) ctx.skip(`io_uring is not available here: ${r.stdout.slice(0, 200)}`);
    expect(r.stderr).toBe('');
    const child = JSON.parse(r.stdout) as ConsumerReport;
    const cases = child.probes[0]!.cases;
    const anon = cases.find((c) => c.case === 'anon');
    expect(anon?.status).toBe('skip');
    expect(anon?.skip).toContain('over RLIMIT_MEMLOCK (1 MiB)');
    expect(anon?.skip).toMatch(/ulimit -l \d+/);
    expect(cases.find((c) => c.case === 'memlock')).toMatchObject({ status: 'ok', answer: { ret: -12 } });
  });
});

describe('consumer calls report errno as data', () => {
  it('a registration on a closed fd answers EBADF; a bad argument throws', () => {
    const c = consumersAddon();
    const r = c.uringRegister(999_999, 0x1000n, 4096, 1);
    expect(r).toMatchObject({ ret: -1, errno: 9, code: 'EBADF', done: 0 });
    expect(() => c.uringRegister(3, 4096 as unknown as bigint, 4096, 1)).toThrow(/address must be a bigint/);
    expect(() => c.uringSetup(0)).toThrow(/entries must be a whole number >= 1/);
  });
});

describe('consumer bench on this host', () => {
  it('runs a short plan: each case timed, or not run with its reason; accelerator none', () => {
    const spec = { ...defaultBenchSpec(), sizes: [64 * 1024, 2 << 20], rounds: 2, targetMs: 1, maxIterations: 20 };
    const r = runConsumerBench(spec);
    expect(r.environment.accelerator).toBe(process.env.GUPLAB_ACCEL ?? 'none');
    expect(r.environment.cpuModel).toBeTruthy();
    for (const c of r.cases) {
      if (c.status === 'ok') expect(c.nsPerPage?.n, c.id).toBeGreaterThan(0);
      else expect(c.reason, c.id).toBeTruthy();
      if (c.path === 'io_uring-register' && c.status === 'ok') expect(c.pinNsPerPage && c.unpinNsPerPage).toBeTruthy();
    }
  });
});
