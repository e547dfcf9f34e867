// The check report as JUnit XML, which CI systems display: one testsuite
// per probe, one testcase per case; a failed expectation is a <failure>
// (observed, expected, the deciding function), a skip a <skipped>, a case
// no expectation covers an <error>.
import { renderAnswer, type CheckReport } from './report.js';

const xml = (text: string): string =>
  text
    .replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' })[c] ?? c)
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f]/g, '');

export function checkJunit(report: CheckReport): string {
  const column = `${report.release} ${report.arch}`;
  const suites = report.probes.map((p) => {
    const count = (s: string): number => p.cases.filter((c) => c.status === s).length;
    const cases = p.cases.map((c) => {
      const head = `    <testcase classname="guplab.check.${xml(p.id)}" name="${xml(c.case)}">`;
      const observed = renderAnswer(c.answer ?? {});
      if (c.status === 'ok') return `${head}<system-out>${xml(observed)}</system-out></testcase>`;
      if (c.status === 'skip') return `${head}<skipped message="${xml(c.skip ?? '')}"/></testcase>`;
      if (c.status === 'unexpected')
        return `${head}<error message="no expectation covers this case on ${xml(column)}">observed: ${xml(observed)}</error></testcase>`;
      const msg = `observed ${observed}, expected ${renderAnswer(c.expected ?? {})}`;
      return `${head}<failure message="${xml(msg)}">decided by: ${xml(c.source ?? '')}</failure></testcase>`;
    });
    const error = p.error ? [`    <testcase classname="guplab.check.${xml(p.id)}" name="(probe)"><error message="${xml(p.error)}"/></testcase>`] : [];
    return [
      `  <testsuite name="${xml(`${p.id} (${column})`)}" tests="${p.cases.length + error.length}" failures="${count('fail')}" errors="${count('unexpected') + error.length}" skipped="${count('skip')}">`,
      ...cases,
      ...error,
      '  </testsuite>',
    ].join('\n');
  });
  const t = report.totals;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="guplab check ${xml(column)}" tests="${t.ok + t.fail + t.skip + t.unexpected}" failures="${t.fail}" errors="${t.unexpected}" skipped="${t.skip}">`,
    ...suites,
    '</testsuites>',
    '',
  ].join('\n');
}
