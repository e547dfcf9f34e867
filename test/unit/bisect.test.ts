import { describe, expect, it } from 'vitest';
import { bisectSearch, parseProbeCase, type Answer } from '../../lib/jobs/bisect.js';

// The search over releases, with each release's answer given (the boots
// themselves are the kernel's: see docs/check.md, "Where did an answer change?", for a real run).
const releases = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((r) => ({ release: r, label: r }));

function answers(table: Record<string, Answer>): { fn: (r: string) => Promise<Answer>; asked: string[] } {
  const asked: string[] = [];
  return {
    asked,
    fn: async (r) => {
      asked.push(r);
      return table[r] ?? { skip: 'no answer scripted' };
    },
  };
}

describe('bisect', () => {
  it('finds the first release with the new answer in log2 steps', async () => {
    const old = { observed: '-EINVAL' };
    const neu = { observed: '16' };
    const a = answers({ a: old, b: old, c: old, d: old, e: neu, f: neu, g: neu, h: neu });
    const lines: string[] = [];
    const r = await bisectSearch(releases, a.fn, (l) => lines.push(l));
    expect(r).toMatchObject({ firstNew: 'e', lastOld: 'd', oldAnswer: '-EINVAL', newAnswer: '16', skipped: [] });
    expect(a.asked.length).toBeLessThanOrEqual(2 + Math.ceil(Math.log2(6)));
    expect(lines.at(-1)).toMatch(/^first release answering like h \(16\): e; last answering like a \(-EINVAL\): d/);
  });

  it('steps over releases that give no answer and names them when they decide', async () => {
    const old = { observed: 'x' };
    const neu = { observed: 'y' };
    const a = answers({ a: old, b: old, c: old, e: neu, f: neu, g: neu, h: neu });
    const r = await bisectSearch(releases, a.fn, () => undefined);
    expect(r.firstNew).toBe('e');
    expect(r.lastOld).toBe('c');
    expect(r.skipped).toEqual(['d']);
  });

  it('refuses ends that answer alike', async () => {
    const same = answers(Object.fromEntries(releases.map((x) => [x.release, { observed: '16' }])));
    await expect(bisectSearch(releases, same.fn, () => undefined)).rejects.toThrow(/both answer 16: nothing to bisect/);
  });

  it('reads PROBE/CASE', () => {
    expect(parseProbeCase('longterm-variants/pin_user_pages_unlocked')).toEqual({ probe: 'longterm-variants', case: 'pin_user_pages_unlocked' });
    expect(parseProbeCase('dax-longterm/ext4/longterm/pin_user_pages')).toEqual({ probe: 'dax-longterm', case: 'ext4/longterm/pin_user_pages' });
    expect(() => parseProbeCase('pin')).toThrow(/expected PROBE\/CASE/);
  });
});
