// The kernel selftests print TAP 13 / KTAP through kselftest.h: a header, a
// plan, `ok N desc`, `ok N # SKIP reason`, `not ok N desc`, `# comments`,
// `# Totals: ...`. This module reads one binary's output and merges the
// binaries of a run into one KTAP document, one subtest per selftest
// invocation (Documentation/dev-tools/ktap.rst: subtests indented, then the
// parent's own result line). Pure: no files, no processes.

export type TestStatus = 'pass' | 'fail' | 'skip' | 'xfail' | 'error';

export interface TapResult {
  n: number;
  status: TestStatus;
  /** The description after the number (without the directive). */
  desc: string;
  /** SKIP/XFAIL reason, or the error text. */
  reason?: string;
  /** The `# [RUN] ...` comment printed just before this result (cow.c, gup_longterm.c name their cases that way). */
  run?: string;
  /** The diagnostic lines printed since the previous result (without `# `), kept in the merged KTAP. */
  pre?: string[];
}

export interface TapDoc {
  plan?: number;
  /** A `1..0 # SKIP reason` plan, or ksft_exit_skip's message. */
  skipAll?: string;
  results: TapResult[];
  /** `# ...` lines, without the `# `. */
  comments: string[];
  /** kselftest's own `# Totals:` line, when printed. */
  totals?: Record<string, number>;
}

/** Reads a TAP 13 / KTAP document printed by one selftest binary (top level only; nested lines are kept as comments). */
export function parseTap(text: string): TapDoc {
  const doc: TapDoc = { results: [], comments: [] };
  let lastRun: string | undefined;
  let pending: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.replace(/\r$/, '');
    const plan = /^1\.\.(\d+)(?:\s*#\s*SKIP\s*(.*))?$/i.exec(line);
    if (plan) {
      doc.plan = Number(plan[1]);
      if (plan[2] !== undefined) doc.skipAll = plan[2].trim() || 'skipped';
      continue;
    }
    const res = /^(not ok|ok)\s+(\d+)\s*(?:-\s*)?(.*)$/.exec(line);
    if (res) {
      const ok = res[1] === 'ok';
      const rest = res[3] ?? '';
      const directive = /^(.*?)\s*#\s*(SKIP|XFAIL|TODO|error)\b\s*(.*)$/i.exec(rest);
      let status: TestStatus = ok ? 'pass' : 'fail';
      let desc = rest.trim();
      let reason: string | undefined;
      if (directive) {
        const kind = directive[2]!.toUpperCase();
        desc = directive[1]!.trim();
        reason = directive[3]!.trim() || undefined;
        if (kind === 'SKIP') status = 'skip';
        else if (kind === 'XFAIL' || kind === 'TODO') status = 'xfail';
        else status = 'error';
      }
      const r: TapResult = {
        n: Number(res[2]),
        status,
        desc,
        ...(reason ? { reason } : {}),
        ...(lastRun ? { run: lastRun } : {}),
        ...(pending.length ? { pre: pending } : {}),
      };
      doc.results.push(r);
      lastRun = undefined;
      pending = [];
      continue;
    }
    const comment = /^#\s?(.*)$/.exec(line);
    if (comment) {
      const c = comment[1]!;
      doc.comments.push(c);
      if (!/^Totals:/.test(c)) pending.push(c);
      const run = /^\[RUN\]\s*(.*)$/.exec(c);
      if (run) lastRun = run[1]!.trim();
      const totals = /^Totals:\s*(.*)$/.exec(c);
      if (totals) doc.totals = Object.fromEntries([...totals[1]!.matchAll(/(\w+):(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
      // ksft_exit_skip() before any plan: "# SKIP reason" or "1..0 # SKIP".
      const skip = /^SKIP\s+(.*)$/i.exec(c);
      if (skip && doc.plan === undefined) doc.skipAll = skip[1]!.trim();
    }
  }
  return doc;
}

export interface Counts {
  pass: number;
  fail: number;
  skip: number;
  xfail: number;
  error: number;
}

export function countResults(results: readonly TapResult[]): Counts {
  const c: Counts = { pass: 0, fail: 0, skip: 0, xfail: 0, error: 0 };
  for (const r of results) c[r.status]++;
  return c;
}

/** One selftest invocation of a run and what it printed. */
export interface SelftestRun {
  /** The command line as run ("gup_test -u", "gup_longterm (cwd ext4)"). */
  name: string;
  /** Exit status; null when it never finished (the guest died, a timeout). */
  exitCode: number | null;
  output: string;
  /** Set when the invocation could not run at all (no binary for this version...): a skip with this reason. */
  skip?: string;
}

/** kselftest's exit codes (tools/testing/selftests/kselftest.h). */
export const KSFT = { pass: 0, fail: 1, xfail: 2, xpass: 3, skip: 4 } as const;

export interface SubtestVerdict {
  name: string;
  status: 'pass' | 'fail' | 'skip';
  /** Why, for a skip or a fail that is not a failed case (exit code, no plan, missing results). */
  reason?: string;
  counts: Counts;
  plan?: number;
  doc: TapDoc;
}

/**
 * One invocation's verdict: its own cases, its exit code and its plan
 * together. A binary that exits 0 but printed fewer results than its plan,
 * or none, or died, is a fail: never a silent pass.
 */
export function judgeRun(run: SelftestRun): SubtestVerdict {
  if (run.skip !== undefined) return { name: run.name, status: 'skip', reason: run.skip, counts: countResults([]), doc: { results: [], comments: [] } };
  const doc = parseTap(run.output);
  const counts = countResults(doc.results);
  const base = { name: run.name, counts, doc, ...(doc.plan !== undefined ? { plan: doc.plan } : {}) };
  if (run.exitCode === null) return { ...base, status: 'fail', reason: 'did not finish (no exit status)' };
  if (run.exitCode === KSFT.skip || (doc.skipAll !== undefined && doc.results.length === 0)) {
    return { ...base, status: 'skip', reason: doc.skipAll ?? lastComment(doc) ?? `exit ${run.exitCode} (KSFT_SKIP)` };
  }
  // A selftest of a version that predates its kselftest conversion (6.1's
  // gup_test prints plain lines) is judged by its exit status alone, as
  // run_vmtests.sh's run_test does; its lines become comments of one case.
  if (doc.plan === undefined && doc.results.length === 0) {
    const passed = run.exitCode === KSFT.pass;
    const synth: TapDoc = {
      plan: 1,
      results: [
        { n: 1, status: passed ? 'pass' : 'fail', desc: `exit status ${run.exitCode} (prints no TAP: judged by its exit status, as run_vmtests.sh does)` },
      ],
      comments: run.output.split('\n').filter((l) => l.trim()),
    };
    const c = countResults(synth.results);
    return { name: run.name, doc: synth, counts: c, plan: 1, status: passed ? 'pass' : 'fail', ...(passed ? {} : { reason: `exit ${run.exitCode}` }) };
  }
  if (counts.fail > 0 || counts.error > 0) return { ...base, status: 'fail', reason: `${counts.fail + counts.error} case(s) failed` };
  if (run.exitCode !== KSFT.pass && run.exitCode !== KSFT.xfail)
    return { ...base, status: 'fail', reason: `exit ${run.exitCode}${lastComment(doc) ? `: ${lastComment(doc)}` : ''}` };
  if (doc.plan === undefined) return { ...base, status: 'fail', reason: 'no TAP plan printed' };
  if (doc.results.length !== doc.plan) return { ...base, status: 'fail', reason: `${doc.results.length} result(s) for a plan of ${doc.plan}` };
  if (doc.results.length > 0 && counts.skip === doc.results.length) {
    // gup_test prints why before its skip ("check if CONFIG_GUP_TEST is enabled in kernel config"), then a generic reason.
    const first = doc.results[0]!;
    const why = first.pre
      ?.filter((c) => !/^\[(RUN|INFO)\]/.test(c))
      .at(-1)
      ?.trim();
    return { ...base, status: 'skip', reason: [first.reason ?? 'every case skipped', why].filter(Boolean).join(': ') };
  }
  return { ...base, status: 'pass' };
}

function lastComment(doc: TapDoc): string | undefined {
  return doc.comments.filter((c) => c && !/^Totals:/.test(c)).at(-1);
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').replace(/#/g, '').trim();
}

/**
 * One KTAP document for a run: a header comment per line of `header`, then
 * one subtest per invocation (its own TAP lines renumbered as KTAP, indented
 * two spaces), then the invocation's result line.
 */
export function mergeKtap(verdicts: readonly SubtestVerdict[], header: readonly string[] = []): string {
  const out = ['KTAP version 1', ...header.map((h) => `# ${h}`), `1..${verdicts.length}`];
  verdicts.forEach((v, i) => {
    const sub: string[] = ['KTAP version 1', `# Subtest: ${oneLine(v.name)}`];
    if (v.doc.results.length === 0) sub.push(v.status === 'skip' ? `1..0 # SKIP ${oneLine(v.reason ?? 'skipped')}` : '1..0');
    else {
      sub.push(`1..${v.doc.plan ?? v.doc.results.length}`);
      if (v.doc.results.length === 1 && /prints no TAP/.test(v.doc.results[0]!.desc)) sub.push(...v.doc.comments.map((c) => `# ${c}`));
      for (const r of v.doc.results) {
        sub.push(...(r.pre ?? []).map((c) => `# ${c.replace(/#\s*$/, '').trimEnd()}`));
        const desc = oneLine(r.desc);
        const directive =
          r.status === 'skip' ? ` # SKIP ${oneLine(r.reason ?? '')}`.trimEnd() : r.status === 'xfail' ? ` # XFAIL ${oneLine(r.reason ?? '')}`.trimEnd() : '';
        sub.push(`${r.status === 'fail' || r.status === 'error' ? 'not ok' : 'ok'} ${r.n}${desc ? ` ${desc}` : ''}${directive}`);
      }
    }
    const c = v.counts;
    sub.push(`# Totals: pass:${c.pass} fail:${c.fail} xfail:${c.xfail} skip:${c.skip} error:${c.error}`);
    out.push(...sub.map((l) => `  ${l}`));
    const name = oneLine(v.name);
    if (v.status === 'pass') out.push(`ok ${i + 1} ${name}`);
    else if (v.status === 'skip') out.push(`ok ${i + 1} ${name} # SKIP ${oneLine(v.reason ?? 'skipped')}`);
    else out.push(...(v.reason ? [`# ${name}: ${oneLine(v.reason)}`] : []), `not ok ${i + 1} ${name}`);
  });
  const total = { pass: 0, fail: 0, skip: 0 };
  for (const v of verdicts) total[v.status]++;
  out.push(`# Totals: pass:${total.pass} fail:${total.fail} skip:${total.skip}`);
  return `${out.join('\n')}\n`;
}
