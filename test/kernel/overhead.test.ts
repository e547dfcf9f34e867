// `guplab overhead` end to end on the real device: the C loop (tools/pin1.c,
// built here for the guest's arch), GupDevice.pin(), PreparedPin.run() and
// the BENCH loop all make their calls in every round and report every
// figure, with TypeScript / C paired by round. No timing is
// asserted (speed is what the command prints, not what a test gates on).
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { limit } from '../limits.js';
import { overheadTable, runOverhead } from '../../lib/bench/overhead.js';
import { GupDevice, pinCounters } from '../../lib/index.js';
import { hostArch } from '../../lib/vm/paths.js';
import { hasDevice } from './device.js';

// The arm64 guests' userland layer has no compiler (as in hardening.test.ts).
const withGcc = hostArch() === 'x86_64' && existsSync('/usr/bin/gcc');
if (hasDevice && !withGcc) console.warn(`SKIP overhead test: no gcc in this ${hostArch()} guest to build tools/pin1.c`);

describe.runIf(hasDevice && withGcc)('guplab overhead', () => {
  let dev: GupDevice;
  let bin = '';
  beforeAll(() => {
    dev = GupDevice.open();
    bin = path.join(mkdtempSync('/tmp/guplab-pin1-'), 'pin1');
    execFileSync('gcc', ['-O2', '-Wall', '-Wextra', '-Werror', '-o', bin, 'tools/pin1.c'], { stdio: ['ignore', 'ignore', 'inherit'] });
  }, limit(120_000));
  afterAll(() => dev?.close());

  it(
    'measures every path in every round, leaves no pin behind, and prints the paired ratios',
    async () => {
      const before = pinCounters();
      const r = await runOverhead({ calls: 100, rounds: 3, device: dev, pin1Bin: bin });
      const paths = [
        'inKernelBench',
        'cWall',
        'cInKernel',
        'cBatch',
        'pinWall',
        'pinInKernel',
        'pinBatch',
        'preparedWall',
        'preparedInKernel',
        'preparedBatch',
        'tsTimer',
      ] as const;
      for (const name of paths) {
        const f = r[name];
        const perRound = name.endsWith('Batch') ? 1 : 100;
        expect(f.values, name).toHaveLength(3 * perRound);
        expect(new Set(f.rounds), name).toEqual(new Set([0, 1, 2]));
        expect(
          f.values.every((ns) => Number.isFinite(ns) && ns > 0),
          name,
        ).toBe(true);
      }
      for (const [name, q] of Object.entries(r.ratios))
        expect(q.ci95[0] <= q.ratio && q.ratio <= q.ci95[1] && q.ci95[0] > 0, `${name} ${JSON.stringify(q)}`).toBe(true);
      // A wall time holds the call's kernel-side time.
      expect(r.cWall.median).toBeGreaterThanOrEqual(r.cInKernel.median);
      expect(r.pinWall.median).toBeGreaterThanOrEqual(r.pinInKernel.median);
      expect(r.environment.release).toBe(dev.info().release);
      const after = pinCounters();
      expect(after.acquired - before.acquired).toBe(after.released - before.released);
      const table = overheadTable(r);
      expect(table).toMatch(/back to back .*: pin\(\) [\d.]+ \(95% CI [\d.]+–[\d.]+\), prepared run\(\) [\d.]+ \(95% CI/);
      expect(table).toContain('3 rounds of 100 calls per path');
      expect(table).toContain('PIN ioctl from the C loop, 100 back to back');
    },
    limit(300_000),
  );

  it('refuses fewer than two rounds before any call', async () => {
    const before = pinCounters();
    await expect(runOverhead({ rounds: 1, device: dev, pin1Bin: bin })).rejects.toThrow(/at least 2/);
    expect(pinCounters().acquired).toBe(before.acquired);
  });
});
