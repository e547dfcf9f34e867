import { describe, expect, it } from 'vitest';
import { HEADLINE_SCHEMA, type HeadlineCase, type HeadlineResult } from '../../lib/bench/headline.js';
import { summarize } from '../../lib/bench/stats.js';
import { headlineTable } from '../../lib/bench/table.js';

describe('summarize', () => {
  it('gives median, percentiles and MAD', () => {
    const s = summarize([1, 2, 3, 4, 100]);
    expect(s).toMatchObject({ n: 5, median: 3, mad: 1 });
    expect(s.p5).toBeGreaterThanOrEqual(1);
    expect(s.p5).toBeLessThan(2);
    expect(s.p95).toBeGreaterThan(4);
    expect(s.p95).toBeLessThanOrEqual(100);
  });
  it('refuses an empty sample', () => {
    expect(() => summarize([])).toThrow(RangeError);
  });
});

describe('headline table', () => {
  const mk = (api: HeadlineCase['api'], get: number, put: number): HeadlineCase => ({
    backing: '4K', api, pages: 10, anonHugeKb: 0, getNs: [], putNs: [],
    getNsPerPage: summarize([get]), putNsPerPage: summarize([put]),
  });
  const result: HeadlineResult = {
    schema: HEADLINE_SCHEMA,
    createdAt: '2026-01-01T00:00:00Z',
    environment: { release: '6.1.0-56-amd64', arch: 'x86_64', accelerator: 'TCG', cpuModel: 'cpu', cpus: 2, node: 'v20' },
    options: { sizeBytes: 40960, iterations: 1, warmup: 0, flags: [] },
    cases: [
      mk('get_user_pages_fast', 10, 10),
      mk('get_user_pages_unlocked', 50, 10),
      { backing: '4K', api: 'pin_user_pages_unlocked', pages: 10, anonHugeKb: 0, getNs: [], putNs: [], error: 'EINVAL' },
    ],
  };
  const text = headlineTable(result);
  it('shows the ratio to the fast variant of the same family', () => {
    expect(text).toMatch(/get_user_pages_unlocked .*│ +3\.00 │/);
    expect(text).toMatch(/get_user_pages_fast .*│ +1\.00 │/);
  });
  it('reports a kernel refusal as the errno, and labels TCG figures as emulated', () => {
    expect(text).toContain('kernel answered EINVAL');
    expect(text).toContain('on TCG (emulated CPU');
  });
});
