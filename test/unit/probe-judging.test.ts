// A probe run on the scripted fake device, then judged against the
// expectation rows: the machinery that turns a kernel's answer into ok or
// not ok, here with answers written by the test. The answers themselves are
// only ever taken from a real kernel (test/kernel, guplab check in the VM).
import { describe, expect, it } from 'vitest';
import { PROBES } from '../../lib/check/probes.js';
import { judge } from '../../lib/check/run.js';
import { addon } from '../../lib/native.js';
import { fakeDevice } from '../fake/device.js';

const probe = PROBES.find((p) => p.id === 'longterm-variants')!;

/** The probe's observations when the "kernel" answers `answer(api, flags)`. */
function observe(release: string, answer: (api: string, longterm: boolean) => number) {
  const { abi } = addon();
  const byId = Object.fromEntries(Object.entries(abi.apis).map(([name, id]) => [id, name]));
  const { dev, fake } = fakeDevice({
    info: { release },
    pin: (r) => ({ ret: answer(byId[r.api] ?? '?', (r.flags & (abi.flags.longterm ?? 0)) !== 0), getNs: 1, putNs: 1, handle: 0 }),
  });
  const obs = probe.run({ dev, mounts: [], tmpfs: '/dev/shm' });
  return { obs, fake };
}

describe('probe judging on the fake device', () => {
  it('calls each variant with FOLL_LONGTERM on its own buffer (remote with this pid)', () => {
    const { obs, fake } = observe('6.12.0', () => 16);
    expect(obs.map((o) => o.case)).toEqual(['get_user_pages_unlocked', 'pin_user_pages_unlocked', 'get_user_pages_remote', 'pin_user_pages_remote']);
    expect(fake.pins.every((r) => r.nrPages === 16)).toBe(true);
    expect(fake.pins.filter((r) => r.pid === process.pid)).toHaveLength(2);
  });

  it('holds 6.12-like answers to the 6.12 rows: ok', () => {
    const { obs } = observe('6.12.0', (api) => (api.startsWith('pin_') ? 16 : -22));
    expect(obs.map((o) => judge(probe.id, o, '6.12.0', 'x86_64').status)).toEqual(['ok', 'ok', 'ok', 'ok']);
  });

  it('holds the same answers to the 6.1 rows: the pins fail, naming what 6.1 answers and why', () => {
    const { obs } = observe('6.1.0', (api) => (api.startsWith('pin_') ? 16 : -22));
    const results = obs.map((o) => judge(probe.id, o, '6.1.0', 'x86_64'));
    expect(results.map((r) => r.status)).toEqual(['ok', 'fail', 'ok', 'fail']);
    expect(results[1]!.expected).toEqual({ ret: -22 });
    expect(results[1]!.source).toMatch(/get_user_pages_unlocked|locked/);
  });

  it('marks a case no row covers as unexpected, never as ok', () => {
    const { obs } = observe('6.12.0', () => 16);
    const r = judge(probe.id, { ...obs[0]!, case: 'made_up_case' } as (typeof obs)[number], '6.12.0', 'x86_64');
    expect(r.status).toBe('unexpected');
  });
});
