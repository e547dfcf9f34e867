// `guplab overhead` end to end on the real device: the C loop (tools/pin1.c,
// built here for the guest's arch), GupDevice.pin(), PreparedPin.run() and
// the BENCH loop all make their calls and report every figure. No timing is
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

  it('measures every path, leaves no pin behind, and prints both ratios', async () => {
    const before = pinCounters();
    const r = await runOverhead(100, dev, bin);
    const figures = {
      inKernelBench: r.inKernelBench, cIoctlWall: r.cIoctlWall, cIoctlInKernel: r.cIoctlInKernel, cBatchMean: r.cBatchMean,
      tsPinWall: r.tsPinWall, tsPinInKernel: r.tsPinInKernel, tsPreparedWall: r.tsPreparedWall, tsPreparedInKernel: r.tsPreparedInKernel,
      tsTimerNs: r.tsTimerNs, tsPinBatchMean: r.tsPinBatchMean, tsPreparedBatchMean: r.tsPreparedBatchMean,
    };
    for (const [name, ns] of Object.entries(figures)) expect(Number.isFinite(ns) && ns > 0, `${name} = ${ns}`).toBe(true);
    // A wall time holds the call's kernel-side time.
    expect(r.cIoctlWall).toBeGreaterThanOrEqual(r.cIoctlInKernel);
    expect(r.environment.release).toBe(dev.info().release);
    const after = pinCounters();
    expect(after.acquired - before.acquired).toBe(after.released - before.released);
    const table = overheadTable(r);
    expect(table).toMatch(/TypeScript \/ C wall, per timed call \(medians\): pin\(\) [\d.]+, prepared run\(\) [\d.]+; back to back .*prepared [\d.]+/);
    expect(table).toContain('PIN ioctl from the C loop, 100 back to back');
  }, limit(300_000));
});
