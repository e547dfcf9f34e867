// The matrix as CI jobs: the plan, the engines' files it makes, the GitHub
// workflow against GitHub's own workflow schema, and the merge's refusals.
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { convertWorkflowTemplate, NoOperationTraceWriter, parseWorkflow } from '@actions/workflow-parser';
import { describe, expect, it } from 'vitest';
import { collectJobs, formatPlan, makePlan, parseSuites, writeJobRecord, type Plan } from '../../lib/jobs/plan.js';
import { projectRoot } from '../../lib/util/root.js';

const plan: Plan = makePlan({
  kernels: ['6.1', '6.12'],
  arches: ['x86_64'],
  suites: ['check'],
  only: ['partial', 'longterm-variants'],
  out: 'results/jobs',
  version: '0.1.0',
});

describe('matrix --plan', () => {
  it('has one job per kernel x arch, each one guplab command with its folder and cache key', () => {
    expect(plan.jobs.map((j) => [j.id, j.cacheKey, j.out])).toEqual([
      ['6.1-x86_64', 'guplab-kernel-6.1-x86_64', 'results/jobs/6.1-x86_64'],
      ['6.12-x86_64', 'guplab-kernel-6.12-x86_64', 'results/jobs/6.12-x86_64'],
    ]);
    expect(plan.jobs[0]!.command).toBe(
      'node bin/guplab.js matrix --job --kernel 6.1 --arch x86_64 --suite check --only partial,longterm-variants --out results/jobs/6.1-x86_64',
    );
  });

  it('gives GitHub a strategy.matrix with one include per job', () => {
    const m = JSON.parse(formatPlan(plan, 'github')) as { include: { id: string; command: string }[] };
    expect(m.include.map((j) => j.id)).toEqual(['6.1-x86_64', '6.12-x86_64']);
  });

  it('makes the committed .gitlab-ci.yml (regenerated, never edited)', () => {
    // make test's CI-engine phase runs it on two lines of make test's run set (lib/vm/runs.ts).
    const args = '--kernel 6.12,7.3 --arch x86_64 --suite check --only partial,longterm-variants';
    const gitlab = makePlan({
      kernels: ['6.12', '7.3'],
      arches: ['x86_64'],
      suites: ['check'],
      only: ['partial', 'longterm-variants'],
      out: 'results/jobs',
      version: '0.1.0',
    });
    expect(
      `${formatPlan({ ...gitlab, guplabVersion: JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')).version }, 'gitlab', args)}`,
    ).toBe(readFileSync(path.join(projectRoot, '.gitlab-ci.yml'), 'utf8'));
  });

  it('refuses an unknown suite', () => {
    expect(() => parseSuites('check,stres')).toThrow(/unknown suite stres: use check, bench-short, kernel-tests/);
  });
});

describe('the GitHub workflow', () => {
  it("is valid against GitHub's workflow schema (@actions/workflow-parser)", async () => {
    const content = readFileSync(path.join(projectRoot, '.github', 'workflows', 'matrix.yml'), 'utf8');
    const parsed = parseWorkflow({ name: 'matrix.yml', content }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().map((e) => e.message)).toEqual([]);
    const template = await convertWorkflowTemplate(parsed.context, parsed.value!);
    expect(template.errors ?? []).toEqual([]);
    expect(template.jobs.map((j) => j.id.value)).toEqual(['plan', 'kernel', 'merge']);
  });

  it('is caught when broken (the check can fail)', () => {
    const parsed = parseWorkflow({ name: 'bad.yml', content: 'on: push\njobs:\n  a:\n    runs-on: x\n    stepz: []\n' }, new NoOperationTraceWriter());
    expect(parsed.context.errors.getErrors().length).toBeGreaterThan(0);
  });
});

describe('matrix --merge', () => {
  const record = (dir: string, over: object = {}): void => {
    mkdirSync(dir, { recursive: true });
    writeJobRecord(dir, {
      id: path.basename(dir),
      kernel: '6.1',
      arch: 'x86_64',
      release: '6.1.0-57-amd64',
      suites: ['check'],
      guplabVersion: '0.1.0',
      probes: ['partial'],
      status: 0,
      ...over,
    });
  };

  it('names the jobs of the plan that left no record (half written, or never ran)', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'guplab-merge-'));
    record(path.join(root, '6.1-x86_64'));
    mkdirSync(path.join(root, '6.12-x86_64')); // a job that died before its record
    writeFileSync(path.join(root, '6.12-x86_64', 'check-6.12-x86_64.json.tmp'), '{');
    const input = collectJobs([root], plan);
    expect(input.jobs.map((j) => j.record.id)).toEqual(['6.1-x86_64']);
    expect(input.missing.map((j) => j.id)).toEqual(['6.12-x86_64']);
  });

  it('refuses jobs of two guplab versions, or two probe sets, naming the job', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'guplab-merge-'));
    record(path.join(root, '6.1-x86_64'));
    record(path.join(root, '6.12-x86_64'), { id: '6.12-x86_64', guplabVersion: '0.2.0' });
    expect(() => collectJobs([root])).toThrow(/job 6.12-x86_64 .* ran guplab 0.2.0, job 6.1-x86_64 ran 0.1.0: rerun/);
    const other = mkdtempSync(path.join(os.tmpdir(), 'guplab-merge-'));
    record(path.join(other, '6.1-x86_64'));
    record(path.join(other, '6.12-x86_64'), { id: '6.12-x86_64', probes: ['partial', 'huge'] });
    expect(() => collectJobs([other])).toThrow(/job 6.12-x86_64 ran probes partial,huge, job 6.1-x86_64 ran partial: rerun the jobs with one probe set/);
  });

  it('refuses an empty or foreign folder', () => {
    const empty = mkdtempSync(path.join(os.tmpdir(), 'guplab-merge-'));
    expect(() => collectJobs([empty])).toThrow(/no guplab-job.json under .*: nothing to merge/);
    expect(() => collectJobs([path.join(empty, 'nope')])).toThrow(/is not a folder of job outputs/);
  });
});
