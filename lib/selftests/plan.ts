// Which GUP selftests a kernel version runs, read from that version's own
// run_vmtests.sh (tools/testing/selftests/mm, or vm before 6.3), and the
// guest script that runs them. Pure: text in, text out.
import { ENV } from '../contract.js';

/** The selftest binaries guplab builds: the GUP ones (gup_test, gup_longterm) and the COW ones (cow, anon_cow before 6.2's rename). */
export const GUP_SELFTESTS = ['gup_test', 'gup_longterm', 'cow', 'anon_cow'] as const;
export type SelftestName = (typeof GUP_SELFTESTS)[number];

export interface Invocation {
  binary: SelftestName;
  args: string[];
  /** Folder to run in (gup_longterm's "local tmpfile" is made in the working folder); default the binaries' folder. */
  cwd?: string;
  /** Shown name: the command line, and the folder when it is not the default. */
  name: string;
}

/**
 * The GUP and COW selftest command lines of run_vmtests.sh, in its order:
 * every `run_test ./gup_test ...`, `./gup_longterm`, `./cow`, `./anon_cow`
 * outside functions (run_gup_matrix is the opt-in `-a` matrix, not the
 * default run) and without shell variables.
 */
export function selftestInvocations(runVmtests: string): Invocation[] {
  const out: Invocation[] = [];
  let depth = 0;
  for (const raw of runVmtests.split('\n')) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    if (/^\w[\w-]*\s*\(\)\s*\{?$/.test(line) || /^function\s+\w+/.test(line)) {
      depth++;
      continue;
    }
    if (depth > 0) {
      if (/^\}$/.test(line)) depth--;
      continue;
    }
    const m = /(?:^|\s)run_test\s+\.\/(gup_test|gup_longterm|cow|anon_cow)((?:\s+[^\s;&|]+)*)\s*$/.exec(line);
    if (!m || m[2]?.includes('$')) continue;
    const args = (m[2] ?? '').trim().split(/\s+/).filter(Boolean);
    out.push({ binary: m[1] as SelftestName, args, name: [m[1], ...args].join(' ') });
  }
  return out;
}

/** The binaries a list of invocations needs. */
export function binariesOf(invocations: readonly Invocation[]): SelftestName[] {
  return [...new Set(invocations.map((i) => i.binary))];
}

/**
 * gup_longterm once more in each filesystem folder given: its "local
 * tmpfile" cases then answer for that filesystem (ext4, xfs), which the
 * default run (in a folder of the host root, an overlay) reports as
 * "Unknown filesystem".
 */
export function withFilesystems(invocations: readonly Invocation[], mounts: readonly { fs: string; path: string; dax: boolean }[]): Invocation[] {
  const out: Invocation[] = [];
  for (const inv of invocations) {
    out.push(inv);
    if (inv.binary !== 'gup_longterm') continue;
    for (const m of mounts.filter((x) => !x.dax)) out.push({ ...inv, cwd: m.path, name: `${inv.name} (in ${m.fs} ${m.path})` });
  }
  return out;
}

function quote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** Files each invocation leaves in the guest's output folder. */
export const runFile = (i: number, what: 'tap' | 'rc'): string => `selftest-${i}.${what}`;

/**
 * The guest's shell script: debugfs mounted, gup_test.ko loaded (its
 * debugfs file checked), then each invocation with its output and exit
 * status in $GUPLAB_VM_OUT, then `after` (guplab's own probes for the
 * cross-check, in the same boot).
 */
export function guestScript(opts: {
  binDir: string;
  module?: string;
  invocations: readonly Invocation[];
  after?: readonly string[];
  timeoutSec?: number;
}): string {
  const lines = ['set -u', `out="$${ENV.out}"`, 'grep -q " /sys/kernel/debug " /proc/mounts || mount -t debugfs debugfs /sys/kernel/debug'];
  // Without a module (the kernel does not export what gup_test.c needs) the
  // selftests run all the same: their gup_test cases skip themselves.
  if (opts.module) {
    lines.push(
      `insmod ${quote(opts.module)} || { echo "guplab selftests: insmod ${opts.module} failed" >&2; exit 3; }`,
      '[ -e /sys/kernel/debug/gup_test ] || { echo "guplab selftests: gup_test.ko loaded but /sys/kernel/debug/gup_test is missing" >&2; exit 3; }',
    );
  }
  opts.invocations.forEach((inv, i) => {
    const cmd = [`${opts.binDir}/${inv.binary}`, ...inv.args].map(quote).join(' ');
    const t = opts.timeoutSec ? `timeout ${opts.timeoutSec} ` : '';
    lines.push(
      `echo "guplab selftests: [${i + 1}/${opts.invocations.length}] ${inv.name.replaceAll('"', '')}"`,
      `( cd ${quote(inv.cwd ?? opts.binDir)} && ${t}${cmd} ) > "$out/${runFile(i, 'tap')}" 2>&1`,
      `echo $? > "$out/${runFile(i, 'rc')}"`,
    );
  });
  lines.push(...(opts.after ?? []));
  lines.push('exit 0', '');
  return lines.join('\n');
}
