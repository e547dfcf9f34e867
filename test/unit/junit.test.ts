// The check report as JUnit XML: counts, one element per outcome, escaping.
import { describe, expect, it } from 'vitest';
import { checkJunit } from '../../lib/check/junit.js';
import { CHECK_SCHEMA_VERSION, type CheckReport } from '../../lib/check/report.js';

const report: CheckReport = {
  schemaVersion: CHECK_SCHEMA_VERSION,
  release: '6.12.117+deb12-amd64',
  version: '6.12.117',
  arch: 'x86_64',
  accelerator: 'TCG',
  probes: [
    {
      id: 'longterm-variants',
      title: 'FOLL_LONGTERM through the *_unlocked and *_remote variants',
      cases: [
        { case: 'pin_user_pages_unlocked', status: 'ok', answer: { ret: 16 }, expected: { ret: 16 } },
        {
          case: 'get_user_pages_unlocked',
          status: 'fail',
          answer: { ret: 16 },
          expected: { ret: -22 },
          source: 'is_valid_gup_args() <refuses> "LONGTERM" & GET',
        },
        { case: 'pin_user_pages_fast_only', status: 'skip', skip: 'not exported' },
        { case: 'made_up', status: 'unexpected', answer: { ret: 1 } },
      ],
    },
  ],
  totals: { ok: 1, fail: 1, skip: 1, unexpected: 1 },
};

describe('check --junit', () => {
  const x = checkJunit(report);
  it('counts as the report does, one suite per probe', () => {
    expect(x).toMatch(/<testsuites name="guplab check 6.12.117\+deb12-amd64 x86_64" tests="4" failures="1" errors="1" skipped="1">/);
    expect(x.match(/<testsuite /g)).toHaveLength(1);
    expect(x.match(/<testcase /g)).toHaveLength(4);
  });
  it('gives a failure with observed, expected and the deciding function, escaped', () => {
    expect(x).toContain(
      '<failure message="observed 16, expected -EINVAL">decided by: is_valid_gup_args() &lt;refuses&gt; &quot;LONGTERM&quot; &amp; GET</failure>',
    );
    expect(x).toContain('<skipped message="not exported"/>');
    expect(x).toMatch(/<error message="no expectation covers this case on 6.12.117\+deb12-amd64 x86_64">observed: 1<\/error>/);
  });
});
