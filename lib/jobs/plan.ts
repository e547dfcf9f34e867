// The kernel matrix as jobs for existing CI engines: a plan (one job per
// kernel x arch, each one `guplab matrix` command that boots once and leaves
// its files and a job record in its folder), the plan in the shape GitHub
// Actions and GitLab CI take, and the merge of what the jobs left.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../util/args.js';
import { writeFileAtomic } from '../util/atomic.js';
import type { Arch } from '../vm/paths.js';

export const SUITES = ['check', 'bench-short', 'kernel-tests'] as const;
export type Suite = (typeof SUITES)[number];

export const PLAN_SCHEMA = 'guplab-plan/1';
export const JOB_SCHEMA = 'guplab-job/1';
/** The record a job writes last, atomically: its absence means the job did not finish. */
export const JOB_RECORD = 'guplab-job.json';

export interface PlanJob {
  /** KERNEL-ARCH: the job's name and its output folder under the plan's out. */
  id: string;
  kernel: string;
  arch: Arch;
  suites: Suite[];
  /** The exact command the job runs, from the checkout's root. */
  command: string;
  /** Folder the job leaves its files in (check report, bench results, job record). */
  out: string;
  /** What the job downloads, for the engine's cache: one key per kernel series and arch. */
  cacheKey: string;
}

export interface Plan {
  schema: typeof PLAN_SCHEMA;
  guplabVersion: string;
  jobs: PlanJob[];
}

export interface JobRecord {
  schema: typeof JOB_SCHEMA;
  id: string;
  kernel: string;
  arch: Arch;
  release: string;
  suites: Suite[];
  guplabVersion: string;
  /** Probe ids the check ran (the merge refuses jobs that ran different sets). */
  probes: string[];
  /** The job's exit status: 0 passed, else failed (its files may still be there). */
  status: number;
  finishedAt: string;
}

export function parseSuites(text: string): Suite[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((s) => !(SUITES as readonly string[]).includes(s));
  if (bad.length || !list.length) throw new UsageError(`unknown suite ${bad.join(', ') || '(none)'}: use ${SUITES.join(', ')} (comma-separated)`);
  return list as Suite[];
}

export function makePlan(o: {
  kernels: readonly string[];
  arches: readonly Arch[];
  suites: readonly Suite[];
  out: string;
  version: string;
  only?: readonly string[];
}): Plan {
  const jobs = o.arches.flatMap((arch) =>
    o.kernels.map((kernel): PlanJob => {
      const id = `${kernel}-${arch}`;
      const out = path.posix.join(o.out, id);
      const only = o.only?.length ? ` --only ${o.only.join(',')}` : '';
      return {
        id,
        kernel,
        arch,
        suites: [...o.suites],
        command: `node bin/guplab.js matrix --job --kernel ${kernel} --arch ${arch} --suite ${o.suites.join(',')}${only} --out ${out}`,
        out,
        cacheKey: `guplab-kernel-${kernel}-${arch}`,
      };
    }),
  );
  return { schema: PLAN_SCHEMA, guplabVersion: o.version, jobs };
}

/** The plan as JSON, as GitHub's `strategy.matrix` (fromJSON), or as a whole .gitlab-ci.yml. */
export function formatPlan(plan: Plan, format: 'json' | 'github' | 'gitlab', args = ''): string {
  if (format === 'json') return JSON.stringify(plan, null, 2);
  if (format === 'github')
    return JSON.stringify({ include: plan.jobs.map(({ id, kernel, arch, command, out, cacheKey }) => ({ id, kernel, arch, command, out, cacheKey })) });
  return gitlabPipeline(plan, args);
}

/**
 * A .gitlab-ci.yml: one kernel job per plan job (parallel:matrix, each
 * entry carrying the plan's own command), the kernel cache per release key,
 * the job folders as artifacts, then a merge job that builds the table.
 */
function gitlabPipeline(plan: Plan, args: string): string {
  const out = path.posix.dirname(plan.jobs[0]?.out ?? 'results/jobs/x');
  const entry = (j: PlanJob): string[] => [
    `      - JOB_ID: "${j.id}"`,
    `        CACHE_KEY: "${j.cacheKey}"`,
    `        JOB_OUT: "${j.out}"`,
    `        JOB_COMMAND: "${j.command}"`,
  ];
  return [
    `# Made by \`guplab matrix --plan --format gitlab${args ? ` ${args}` : ''}\` (guplab ${plan.guplabVersion}): the kernel`,
    '# matrix as GitLab CI jobs, one per kernel x arch, and a merge job. Regenerate it, do not edit it.',
    'stages: [kernels, merge]',
    '',
    'variables:',
    '  # The kernel cache inside the project, where GitLab can cache it.',
    '  GUPLAB_CACHE: "$CI_PROJECT_DIR/.guplab-cache"',
    '',
    'kernel:',
    '  stage: kernels',
    '  parallel:',
    '    matrix:',
    ...plan.jobs.flatMap(entry),
    '  cache:',
    '    key: "$CACHE_KEY"',
    '    paths: [.guplab-cache/kernels/]',
    '  script:',
    '    - ./scripts/deps.sh',
    '    - make -s build',
    '    - $JOB_COMMAND',
    '  artifacts:',
    '    when: always',
    '    paths: ["$JOB_OUT/"]',
    '',
    'merge:',
    '  stage: merge',
    '  when: always',
    '  script:',
    '    - ./scripts/deps.sh',
    '    - make -s build',
    `    - node bin/guplab.js matrix --merge ${out} --out results/matrix`,
    '  artifacts:',
    '    when: always',
    '    paths: [results/matrix/]',
    '',
  ].join('\n');
}

/** Writes the job record last: a job folder without one is a job that did not finish. */
export function writeJobRecord(dir: string, record: Omit<JobRecord, 'schema' | 'finishedAt'>): void {
  writeFileAtomic(path.join(dir, JOB_RECORD), `${JSON.stringify({ schema: JOB_SCHEMA, ...record, finishedAt: new Date().toISOString() }, null, 2)}\n`);
}

function findRecords(dir: string): string[] {
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UsageError(`${dir} is not a folder of job outputs: give the folders the matrix jobs wrote (their --out)`);
  const found: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = path.join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name === JOB_RECORD) found.push(p);
    }
  };
  walk(dir);
  return found;
}

function readRecord(file: string): JobRecord {
  let r: Partial<JobRecord>;
  try {
    r = JSON.parse(readFileSync(file, 'utf8')) as Partial<JobRecord>;
  } catch (err) {
    throw new UsageError(`${file} is not JSON (${(err as Error).message}): rerun that job`);
  }
  if (r.schema !== JOB_SCHEMA || typeof r.id !== 'string' || typeof r.status !== 'number' || !Array.isArray(r.probes)) {
    throw new UsageError(`${file} is not a ${JOB_SCHEMA} record: rerun that job with this guplab`);
  }
  return r as JobRecord;
}

export interface MergeInput {
  /** Per job: its record and folder. */
  jobs: { record: JobRecord; dir: string }[];
  /** Jobs of the plan that left no record (did not finish, or never ran). */
  missing: PlanJob[];
}

/**
 * Collects the job records under `dirs`, checks that they come from one
 * guplab version and probe set (and match the plan, if given), and names
 * the jobs that are missing. Nothing is merged silently: a mismatch is a
 * UsageError naming the job and what to rerun.
 */
export function collectJobs(dirs: readonly string[], plan?: Plan): MergeInput {
  const files = dirs.flatMap(findRecords);
  if (!files.length && !plan)
    throw new UsageError(`no ${JOB_RECORD} under ${dirs.join(', ')}: nothing to merge (the jobs write it last; did they run with --job?)`);
  const jobs = files.map((f) => ({ record: readRecord(f), dir: path.dirname(f) }));
  const first = jobs[0]?.record;
  for (const { record, dir } of jobs) {
    if (first && record.guplabVersion !== first.guplabVersion) {
      throw new UsageError(
        `job ${record.id} (${dir}) ran guplab ${record.guplabVersion}, job ${first.id} ran ${first.guplabVersion}: rerun the jobs with one version`,
      );
    }
    if (plan && record.guplabVersion !== plan.guplabVersion) {
      throw new UsageError(`job ${record.id} ran guplab ${record.guplabVersion}, the plan is for ${plan.guplabVersion}: rerun job ${record.id}`);
    }
    if (first && record.probes.join(',') !== first.probes.join(',')) {
      throw new UsageError(
        `job ${record.id} ran probes ${record.probes.join(',')}, job ${first.id} ran ${first.probes.join(',')}: rerun the jobs with one probe set`,
      );
    }
  }
  const ids = new Set(jobs.map((j) => j.record.id));
  const dup = jobs.find((j, i) => jobs.findIndex((k) => k.record.id === j.record.id) !== i);
  if (dup) throw new UsageError(`job ${dup.record.id} appears twice (${dup.dir}): merge one output per job`);
  return { jobs, missing: (plan?.jobs ?? []).filter((j) => !ids.has(j.id)) };
}

export function readPlan(file: string): Plan {
  let p: Partial<Plan>;
  try {
    p = JSON.parse(readFileSync(file, 'utf8')) as Partial<Plan>;
  } catch (err) {
    throw new UsageError(`cannot read the plan ${file}: ${(err as Error).message} (write it with \`guplab matrix --plan > FILE\`)`);
  }
  if (p.schema !== PLAN_SCHEMA || !Array.isArray(p.jobs))
    throw new UsageError(`${file} is not a ${PLAN_SCHEMA} plan: write it with \`guplab matrix --plan > FILE\``);
  return p as Plan;
}

/** The jobs' status as a markdown list: every job of the plan, none dropped. */
export function jobsMarkdown(input: MergeInput): string {
  const lines = input.jobs
    .map(({ record }) => `- ${record.id} (${record.release}): ${record.status === 0 ? 'ok' : `FAILED (exit ${record.status})`}`)
    .concat(input.missing.map((j) => `- ${j.id}: MISSING (no ${JOB_RECORD}: rerun \`${j.command}\`)`));
  return `Jobs:\n\n${lines.join('\n')}\n`;
}
