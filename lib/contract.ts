// The contract between the host's VM runner (lib/vm/) and the code that runs
// inside the guest: the run folder and its files, the environment the guest
// command gets, the markers around the command's output, the job file, the
// expected-WARN protocol, what counts as kernel trouble, and progress lines.
// Guest-side code imports this module and nothing of the runner.
import { appendFileSync } from 'node:fs';
import path from 'node:path';

/** The host's per-run folder, shared read-write into the guest at this path (9p tag guplabio). */
export const GUEST_RUN_DIR = '/run/guplab';

/** Files of the run folder, by name (host: the run's temporary folder; guest: GUEST_RUN_DIR). */
export const RUN_FILES = {
  /** The command as a shell script: environment, guest setup, then the command. Host writes. */
  command: 'cmd.sh',
  /** What the run is (VmRunMeta as JSON). Host writes. */
  meta: 'vm.json',
  /** A guest job (GuestJob as JSON) for `guplab-guest`. Host writes, when the run is a job. */
  job: 'job.json',
  /** Folder whose files come back to the host (--out), only from a guest that finished its command. */
  out: 'out',
  /** "regex<TAB>reason" lines: kernel WARNINGs the command declared expected. Guest writes. */
  expectedWarnings: 'expected-warnings',
  /** The command's exit status, written whole then renamed. Guest init writes. */
  status: 'status',
  /** dmesg after the command. Guest init writes. */
  dmesg: 'dmesg',
  /** Folder of the round protocol of a host-driven benchmark (A/B runs): see ROUND_FILES. Both write. */
  rounds: 'rounds',
  /** The kernel log as it grows (/dev/kmsg records), for the host's live watchdog of an interactive run. Guest writes. */
  kmsgLive: 'kmsg-live',
  /** guplab.ko's section addresses ("name<TAB>address" lines from /sys/module/guplab/sections, and "ko<TAB>path" of the .ko), for gdb's add-symbol-file. Guest writes. */
  moduleSections: 'module-sections',
  /** The host terminal's new size, "ROWS COLS", after a resize (vm shell); the guest applies it to its tty and removes the file. Host writes. */
  termSize: 'term-size',
  /** The guest's /proc/kallsyms, for gdb's symbols (vm shell --gdb). Guest writes, before moduleSections. */
  kallsyms: 'kallsyms',
} as const;

/** A run-folder file's path inside the guest. */
export const guestPath = (file: keyof typeof RUN_FILES): string => `${GUEST_RUN_DIR}/${RUN_FILES[file]}`;

/** Console lines the guest's init prints around the command; its output lies between them. */
export const START_MARK = 'guplab-init: command start';
export const END_MARK = 'guplab-init: command end';

/** A filesystem the guest mounted for the command (in $GUPLAB_MOUNTS as JSON). */
export interface GuestMount {
  fs: 'ext4' | 'xfs';
  dax: boolean;
  device: string;
  path: string;
}

/** The environment variables the runner sets for the guest command. */
export const ENV = {
  inVm: 'GUPLAB_IN_VM',
  requireDevice: 'GUPLAB_REQUIRE_DEVICE',
  out: 'GUPLAB_VM_OUT',
  meta: 'GUPLAB_VM_META',
  accel: 'GUPLAB_ACCEL',
  qemuVersion: 'GUPLAB_QEMU_VERSION',
  release: 'GUPLAB_KERNEL_RELEASE',
  /** The booted kernel's upstream version as its build tree's Makefile says (lib/kernels/upstream.ts): what expectations are matched against. */
  upstream: 'GUPLAB_KERNEL_UPSTREAM',
  arch: 'GUPLAB_ARCH',
  kernelBuild: 'GUPLAB_KERNEL_BUILD',
  mounts: 'GUPLAB_MOUNTS',
  /** Why the guest has no pmem/DAX mounts although the job wanted them (the kernel cannot do DAX). */
  noDax: 'GUPLAB_NO_DAX',
  /** guplab.ko of the booted kernel (stress reloads it). */
  ko: 'GUPLAB_KO',
  /** 1: the guest was booted without guplab.ko (vm run --no-module): /dev/guplab cannot appear. */
  noModule: 'GUPLAB_NO_MODULE',
  /** Why guplab.ko cannot be built for the booted kernel (its line is image only: the archive lost its headers), when it cannot. */
  imageOnly: 'GUPLAB_IMAGE_ONLY',
  /** The addon built for the guest's arch (arm64 guests on x86_64 hosts). */
  addon: 'GUPLAB_ADDON',
  /** 1: progress as lines on stdout, which the host turns into its bar. */
  progressLines: 'GUPLAB_PROGRESS_LINES',
  /** The host terminal's size as "ROWS COLS", for an interactive run (vm shell). */
  termSize: 'GUPLAB_TERM_SIZE',
} as const;

/**
 * The guest side of an interactive run (vm shell), as a shell script that
 * takes the inner command as its arguments: it starts the live kernel-log
 * copy, copies /proc/kallsyms (for gdb), writes guplab.ko's section addresses, then gives the command the
 * serial console as its controlling terminal (setsid -c), sized as the
 * host's terminal and resized with it (RUN_FILES.termSize, polled each second). `tty` is the arch's serial device (ttyS0, ttyAMA0).
 */
export function interactiveScript(tty: string, opts: { kallsyms?: boolean } = {}): string {
  const run = GUEST_RUN_DIR;
  return [
    `cat /dev/kmsg > ${run}/${RUN_FILES.kmsgLive} 2>/dev/null & kmsg=$!`,
    ...(opts.kallsyms ? [`cat /proc/kallsyms > ${run}/${RUN_FILES.kallsyms}`] : []),
    `{ printf 'ko\t%s\n' "$${ENV.ko}"; for s in .text .data .bss .rodata; do f=/sys/module/guplab/sections/$s; [ -r $f ] && printf '%s\t%s\n' $s "$(cat $f)"; done; } > ${run}/${RUN_FILES.moduleSections}.tmp && mv ${run}/${RUN_FILES.moduleSections}.tmp ${run}/${RUN_FILES.moduleSections}`,
    `stty -F /dev/${tty} sane 2>/dev/null`,
    `size=$${ENV.termSize}; [ -n "$size" ] && stty -F /dev/${tty} rows "\${size% *}" cols "\${size#* }" 2>/dev/null`,
    // A resize on the host: the new size set on the tty, whose foreground process group the kernel sends SIGWINCH.
    `while sleep 1; do [ -f ${run}/${RUN_FILES.termSize} ] && read r c < ${run}/${RUN_FILES.termSize} && rm -f ${run}/${RUN_FILES.termSize} && stty -F /dev/${tty} rows "$r" cols "$c" 2>/dev/null; done & resize=$!`,
    `setsid -c "$@" </dev/${tty} >/dev/${tty} 2>&1`,
    'status=$?',
    'kill $kmsg $resize 2>/dev/null',
    'exit $status',
  ].join('\n');
}

/** The guest side of the environment, typed. Outside a VM only `inVm: false` and what the user set. */
export interface GuestEnv {
  inVm: boolean;
  /** Where files for the host go ($GUPLAB_VM_OUT). */
  out?: string;
  accel?: string;
  qemuVersion?: string;
  mounts: GuestMount[];
  /** Set when the runner booted without pmem/DAX because the kernel cannot do DAX: the reason. */
  noDax?: string;
  progressLines: boolean;
}

/** $GUPLAB_MOUNTS, checked: a list of {fs, dax, device, path}. */
export function guestMounts(env: NodeJS.ProcessEnv = process.env): GuestMount[] {
  const text = env[ENV.mounts];
  if (!text) return [];
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new Error(`$${ENV.mounts} is not JSON (${text.slice(0, 60)}): it is set by the VM runner; unset it outside a VM`);
  }
  const ok = (m: unknown): m is GuestMount =>
    typeof m === 'object' &&
    m !== null &&
    ['ext4', 'xfs'].includes((m as GuestMount).fs) &&
    typeof (m as GuestMount).dax === 'boolean' &&
    typeof (m as GuestMount).path === 'string';
  if (!Array.isArray(value) || !value.every(ok))
    throw new Error(`$${ENV.mounts} is not a list of {fs, dax, device, path}: it is set by the VM runner; unset it outside a VM`);
  return value;
}

export function guestEnv(env: NodeJS.ProcessEnv = process.env): GuestEnv {
  return {
    inVm: env[ENV.inVm] === '1',
    ...(env[ENV.out] ? { out: env[ENV.out] } : {}),
    ...(env[ENV.accel] ? { accel: env[ENV.accel] } : {}),
    ...(env[ENV.qemuVersion] ? { qemuVersion: env[ENV.qemuVersion] } : {}),
    mounts: guestMounts(env),
    ...(env[ENV.noDax] ? { noDax: env[ENV.noDax] } : {}),
    progressLines: env[ENV.progressLines] === '1',
  };
}

/**
 * Tells the VM runner that the kernel is about to WARN on purpose (a flag
 * combination the kernel answers through WARN_ON_ONCE): dmesg lines that
 * match `pattern` are then reported but not counted as failures. Outside
 * the VM this does nothing.
 */
export function expectKernelWarning(pattern: string, reason: string): void {
  const out = process.env[ENV.out];
  if (!out) return;
  appendFileSync(path.join(path.dirname(out), RUN_FILES.expectedWarnings), `${pattern}\t${reason.replace(/[\t\n]/g, ' ')}\n`);
}

/** Parses the expected-warnings file: "regex<TAB>reason" lines. */
export function parseExpectedWarnings(text: string): RegExp[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => new RegExp(line.split('\t')[0] ?? ''));
}

/**
 * Kernel log lines that mean the kernel went wrong: WARN/BUG/oops/panic,
 * hung tasks, RCU stalls, and what a debug kernel's checkers print (KASAN,
 * KFENCE, UBSAN, lockdep, DEBUG_VM's page dumps, DEBUG_LIST), named even
 * where their header also says WARNING or BUG, so that no form of theirs
 * passes as noise. One page dump is not trouble: the kernel's own
 * gup_test (CONFIG_GUP_TEST, `gup_test -ct`) dumps pages on purpose with
 * the reason "gup_test: dump_pages() test" (mm/gup_test.c dump_pages_test()).
 */
export const KERNEL_TROUBLE =
  /(WARNING:|BUG:|kernel BUG at|Oops|Kernel panic|general protection fault|UBSAN:|KASAN:|KFENCE:|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|page dumped because: (?!gup_test: dump_pages\(\) test)|list_(add|del) corruption|blocked for more than \d+ seconds|rcu_\w+ (self-)?detected stalls?|detected stalls on CPUs)/;

/**
 * A WARNING line as printed, and in the pre-7.x layout when it is in 7.x's
 * ("WARNING: mm/gup.c:2525 at fn+0x4b/0x50, CPU#1: comm/156" was
 * "WARNING: CPU: 1 PID: 156 at mm/gup.c:2525 fn+0x4b/0x50"), so that one
 * expectKernelWarning() pattern serves both.
 */
export function warningForms(line: string): string[] {
  const m = /WARNING: (\S+:\d+) at (\S+), CPU#(\d+): (?:.*\/)?(\d+)\s*$/.exec(line);
  return m ? [line, `WARNING: CPU: ${m[3]} PID: ${m[4]} at ${m[1]} ${m[2]}`] : [line];
}

/**
 * Lines of a kernel log that mean something went wrong in the kernel, less
 * WARNINGs the command declared (expectKernelWarning) as the expected answer.
 */
export function kernelTrouble(log: string, expectedWarnings: readonly RegExp[] = []): string[] {
  return log
    .split('\n')
    .filter((line) => KERNEL_TROUBLE.test(line))
    .filter((line) => !(line.includes('WARNING:') && warningForms(line).some((form) => expectedWarnings.some((re) => re.test(form)))));
}

/** Progress lines a guest prints on stdout (with $GUPLAB_PROGRESS_LINES=1) and the host turns into its bar. */
export type ProgressEvent = { kind: 'start'; total: number } | { kind: 'tick'; index: number; label: string } | { kind: 'end' };

const PROGRESS = 'guplab-progress';

export function formatProgress(e: ProgressEvent): string {
  if (e.kind === 'start') return `${PROGRESS} start ${e.total}`;
  if (e.kind === 'end') return `${PROGRESS} end`;
  return `${PROGRESS} ${e.index} ${e.label}`;
}

export function parseProgress(line: string): ProgressEvent | undefined {
  const m = new RegExp(`^${PROGRESS} (start|end|\\d+)(?: (.*))?$`).exec(line);
  if (!m) return undefined;
  if (m[1] === 'start') return { kind: 'start', total: Number(m[2]) };
  if (m[1] === 'end') return { kind: 'end' };
  return { kind: 'tick', index: Number(m[1]), label: m[2] ?? '' };
}

/**
 * The round protocol of a host-driven benchmark (`bench --vm --kernel A,B`:
 * one guest per kernel, booted together, rounds alternated by the host so
 * that a change of the host's load falls on every kernel alike). In the run
 * folder's `rounds` folder, every file written whole then renamed:
 *
 *   guest: ready            the device is open, the matrix expanded: waiting for round 0
 *   host:  go-N.json        RoundGo: run round N (these cases, or all), or stop
 *   guest: done-N.json      RoundDone: round N's samples, then it waits for go-(N+1)
 *
 * Only one guest measures at a time: the host writes the next go only after
 * the previous guest's done. After a stop the guest writes results.json and
 * ends its command as in any bench run.
 */
export const ROUND_FILES = {
  ready: 'ready',
  go: (round: number): string => `go-${round}.json`,
  done: (round: number): string => `done-${round}.json`,
} as const;

/** Host to guest: run this round (every case when `cases` is absent), or stop. */
export type RoundGo = { round: number; cases?: string[] } | { round: number; stop: true };

/** Guest to host: the samples one round added, per case (ns for the whole buffer, as in results.json). */
export interface RoundDone {
  round: number;
  wallMs: number;
  cases: { id: string; pages: number; getNs: number[]; putNs: number[] }[];
}

/** Parses a go file, or says what is wrong with it. */
export function parseRoundGo(text: string, file: string): RoundGo {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (err) {
    throw new Error(`round file ${file} is not JSON (${(err as Error).message}): the host writes it whole, then renames it`);
  }
  const g = v as { round?: unknown; cases?: unknown; stop?: unknown } | null;
  const ok =
    typeof g?.round === 'number' && (g.stop === true || g.cases === undefined || (Array.isArray(g.cases) && g.cases.every((c) => typeof c === 'string')));
  if (!ok) throw new Error(`round file ${file} is not {round, cases?} or {round, stop: true}`);
  return v as RoundGo;
}
