// Boots a Debian kernel in QEMU with guplab.ko loaded and runs one command
// in the project directory, over the host root shared read-only.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { projectRoot } from '../native.js';
import { run } from './exec.js';
import { guestSetup, prepareDisks, type GuestMemoryOptions } from './guest.js';
import { buildInitramfs } from './initramfs.js';
import { buildModule, DEFAULT_KERNEL, ensureKernel } from './kernel.js';
import { hostArch, type Arch } from './paths.js';
import { chooseAccel, qemuArgs, qemuBinary, type Accel } from './qemu.js';

export interface VmRunOptions {
  command: readonly string[];
  /** Kernel series ("6.1", "6.12") or full release; default 6.1. */
  kernel?: string;
  arch?: Arch;
  /** Guest working directory; default the project root. */
  cwd?: string;
  env?: Record<string, string>;
  timeoutSec?: number;
  memMiB?: number;
  cpus?: number;
  append?: string[];
  /** Huge pages, THP mode, ZONE_MOVABLE, pmem and DAX filesystems. */
  memory?: GuestMemoryOptions;
  /** Host folder that receives what the command wrote to $GUPLAB_VM_OUT. */
  outDir?: string;
  /** Print the boot console, not only the command's output. */
  verbose?: boolean;
  /** Where the command's output goes; default process.stdout. */
  output?: NodeJS.WritableStream;
  log?: (msg: string) => void;
}

export interface VmRunResult {
  /** The command's exit status, or null when it never reported one. */
  status: number | null;
  /** Why the run failed although the command may have passed (timeout, panic, WARN...). */
  problems: string[];
  release: string;
  arch: Arch;
  accel: Accel;
  qemuVersion: string;
  /** From QEMU start to the guest starting the command. */
  bootToCommandMs: number | null;
  wallMs: number;
  console: string;
  dmesg: string;
}

const START_MARK = 'guplab-init: command start';
const END_MARK = 'guplab-init: command end';
const KERNEL_TROUBLE = /(WARNING:|BUG:|Oops|Kernel panic|general protection fault)/;

/**
 * Lines of a kernel log that mean something went wrong in the kernel, less
 * WARNINGs the command declared (expectKernelWarning) as the expected answer.
 */
export function kernelTrouble(log: string, expectedWarnings: readonly RegExp[] = []): string[] {
  return log
    .split('\n')
    .filter((line) => KERNEL_TROUBLE.test(line))
    .filter((line) => !(line.includes('WARNING:') && expectedWarnings.some((re) => re.test(line))));
}

/** Parses the expected-warnings file the guest wrote: "regex<TAB>reason" lines. */
export function parseExpectedWarnings(text: string): RegExp[] {
  return text
    .split('\n')
    .filter(Boolean)
    .map((line) => new RegExp(line.split('\t')[0] ?? ''));
}

function shellQuote(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

export function commandScript(command: readonly string[], cwd: string, env: Record<string, string>, prelude: readonly string[] = []): string {
  const vars = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    TERM: 'dumb',
    CI: '1',
    GUPLAB_IN_VM: '1',
    GUPLAB_REQUIRE_DEVICE: '1',
    GUPLAB_VM_OUT: '/run/guplab/out',
    ...env,
  };
  return [
    ...Object.entries(vars).map(([k, v]) => `export ${k}=${shellQuote(v)}`),
    'mkdir -p "$GUPLAB_VM_OUT"',
    ...prelude,
    `cd ${shellQuote(cwd)} || exit 125`,
    command.map(shellQuote).join(' '),
    '',
  ].join('\n');
}

function qemuVersion(binary: string): string {
  return /version\s+(\S+)/.exec(run(binary, ['--version']))?.[1] ?? 'unknown';
}

export async function vmRun(options: VmRunOptions): Promise<VmRunResult> {
  const log = options.log ?? ((msg: string) => process.stderr.write(`guplab: ${msg}\n`));
  const arch = options.arch ?? hostArch();
  const busybox = '/usr/bin/busybox';
  if (!existsSync(busybox)) throw new Error('busybox is missing: apt-get install busybox-static');
  const binary = qemuBinary(arch);
  const version = qemuVersion(binary);

  const memMiB = options.memMiB ?? 2048;
  const guest = guestSetup(options.memory ?? {}, arch, memMiB);
  const kernel = ensureKernel(options.kernel ?? DEFAULT_KERNEL, arch, log);
  const ko = buildModule(kernel, log);
  const initramfs = buildInitramfs(kernel, ko, busybox, guest.modules);
  const accel = chooseAccel(arch, hostArch());

  const ioDir = mkdtempSync(path.join(os.tmpdir(), 'guplab-vm-'));
  try {
    writeFileSync(path.join(ioDir, 'cmd.sh'), commandScript(options.command, options.cwd ?? projectRoot, {
      GUPLAB_ACCEL: accel.toUpperCase(),
      GUPLAB_QEMU_VERSION: version,
      GUPLAB_MOUNTS: JSON.stringify(guest.mounts),
      ...options.env,
    }, guest.script));
    const args = qemuArgs({
      arch,
      accel,
      vmlinuz: kernel.vmlinuz,
      initramfs,
      ioDir,
      memMiB,
      cpus: options.cpus ?? 2,
      append: [...guest.append, ...(options.append ?? [])],
    }).concat(prepareDisks(guest.disks, ioDir));
    log(`booting ${kernel.release} (${arch}, ${accel.toUpperCase()}, QEMU ${version})`);
    const out = options.output ?? process.stdout;
    const started = Date.now();
    let consoleLog = '';
    let bootToCommandMs: number | null = null;
    let timedOut = false;

    const exitCode = await new Promise<number | null>((resolve, reject) => {
      const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
      const timer = setTimeout(() => {
        timedOut = true;
        child.kill('SIGKILL');
      }, (options.timeoutSec ?? 900) * 1000);
      // Whole lines only, so that markers split across reads are still found.
      // The command's output lies between START_MARK and END_MARK.
      let partial = '';
      let phase: 'boot' | 'command' | 'shutdown' = 'boot';
      const onData = (text: string): void => {
        consoleLog += text;
        const lines = (partial + text).split('\n');
        partial = lines.pop() ?? '';
        for (const raw of lines) {
          const line = raw.replace(/\r$/, '');
          if (phase === 'boot' && line.includes(START_MARK)) {
            phase = 'command';
            bootToCommandMs = Date.now() - started;
          } else if (phase === 'command' && line.includes(END_MARK)) phase = 'shutdown';
          else if (phase === 'command' || options.verbose) out.write(`${line}\n`);
        }
      };
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', onData);
      child.stderr.on('data', (chunk: Buffer) => {
        consoleLog += chunk.toString('utf8');
      });
      child.on('error', (err) => {
        clearTimeout(timer);
        reject(new Error(`cannot start ${binary}: install qemu-system (see README, "Setup")`, { cause: err }));
      });
      child.on('exit', (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });

    const statusFile = path.join(ioDir, 'status');
    const status = existsSync(statusFile) ? Number(readFileSync(statusFile, 'utf8').trim()) : null;
    const dmesgFile = path.join(ioDir, 'dmesg');
    const dmesg = existsSync(dmesgFile) ? readFileSync(dmesgFile, 'utf8') : '';
    const problems: string[] = [];
    if (timedOut) problems.push(`timed out after ${options.timeoutSec ?? 900} s (raise it with --timeout)`);
    else if (status === null) problems.push(`the guest stopped without reporting the command's status (QEMU exit ${exitCode})`);
    const expectedFile = path.join(ioDir, 'expected-warnings');
    const expected = existsSync(expectedFile) ? parseExpectedWarnings(readFileSync(expectedFile, 'utf8')) : [];
    const trouble = kernelTrouble(dmesg || consoleLog, expected);
    const allowed = kernelTrouble(dmesg || consoleLog).length - trouble.length;
    if (allowed) log(`${allowed} kernel WARNING(s) were declared expected by the command`);
    if (trouble.length) problems.push(`the kernel reported trouble:\n  ${trouble.slice(0, 10).join('\n  ')}`);
    if (options.outDir && existsSync(path.join(ioDir, 'out'))) cpSync(path.join(ioDir, 'out'), options.outDir, { recursive: true });
    return {
      status,
      problems,
      release: kernel.release,
      arch,
      accel,
      qemuVersion: version,
      bootToCommandMs,
      wallMs: Date.now() - started,
      console: consoleLog,
      dmesg,
    };
  } finally {
    rmSync(ioDir, { recursive: true, force: true });
  }
}
