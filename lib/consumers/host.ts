// What this machine lets the consumers do, read from /proc: the locked-memory
// limit and CAP_IPC_LOCK (io_uring charges registered buffers against
// RLIMIT_MEMLOCK unless the caller has it), kernel.io_uring_disabled, and
// the filesystem type of a directory. The decisions that turn these facts
// into "not run" reasons are pure (unit-tested).
import { readFileSync, realpathSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';

/** CAP_IPC_LOCK's bit in CapEff (include/uapi/linux/capability.h). */
const CAP_IPC_LOCK = 14n;

export interface MemlockFacts {
  /** RLIMIT_MEMLOCK's soft limit in bytes; undefined: unlimited. */
  limitBytes: number | undefined;
  /** The process has CAP_IPC_LOCK: io_uring charges it nothing. */
  ipcLock: boolean;
}

const read = (file: string): string | undefined => {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
};

/** "Max locked memory  8388608  8388608  bytes" -> 8388608; "unlimited" -> undefined. Pure. */
export function parseMemlock(limits: string): number | undefined {
  const m = /^Max locked memory\s+(\S+)/m.exec(limits);
  if (!m || m[1] === 'unlimited') return undefined;
  return Number(m[1]);
}

/** CapEff's CAP_IPC_LOCK bit from /proc/self/status. Pure. */
export function parseIpcLock(status: string): boolean {
  const m = /^CapEff:\s+([0-9a-f]+)/m.exec(status);
  return m ? ((BigInt(`0x${m[1]}`) >> CAP_IPC_LOCK) & 1n) === 1n : false;
}

export function memlockFacts(): MemlockFacts {
  return { limitBytes: parseMemlock(read('/proc/self/limits') ?? ''), ipcLock: parseIpcLock(read('/proc/self/status') ?? '') };
}

/** "8 MiB", "64 KiB": a limit as people say it. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1 << 30 && bytes % (1 << 30) === 0) return `${bytes / (1 << 30)} GiB`;
  if (bytes >= 1 << 20 && bytes % (1 << 20) === 0) return `${bytes / (1 << 20)} MiB`;
  if (bytes >= 1024 && bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/**
 * Why an io_uring registration of `bytes` cannot run here, or undefined:
 * past RLIMIT_MEMLOCK without CAP_IPC_LOCK. Names the limit and the fix
 * (`ulimit -l` takes KiB). Pure.
 */
export function memlockReason(bytes: number, facts: MemlockFacts): string | undefined {
  if (facts.ipcLock || facts.limitBytes === undefined || bytes <= facts.limitBytes) return undefined;
  const kib = Math.ceil(bytes / 1024);
  return `${formatBytes(bytes)} is over RLIMIT_MEMLOCK (${formatBytes(facts.limitBytes)}), which io_uring charges registered buffers against without CAP_IPC_LOCK: raise it (ulimit -l ${Math.max(kib * 2, kib + 1024)}, or memlock in /etc/security/limits.conf) or run as root`;
}

/** kernel.io_uring_disabled (6.6+): 0 on, 1 only CAP_SYS_ADMIN or kernel.io_uring_group, 2 off; undefined where the sysctl is absent. */
export function ioUringDisabled(): number | undefined {
  const v = read('/proc/sys/kernel/io_uring_disabled');
  return v === undefined ? undefined : Number(v.trim());
}

/** Why io_uring_setup() failed, for the "not run" line. Pure. */
export function ioUringSetupReason(code: string, disabled: number | undefined): string {
  if (code === 'ENOSYS') return 'io_uring_setup: ENOSYS: this kernel has no io_uring (CONFIG_IO_URING=n), or a seccomp filter (a container runtime) refuses it';
  if (code === 'EPERM' && disabled !== undefined && disabled > 0)
    return `io_uring_setup: EPERM: kernel.io_uring_disabled=${disabled} (${disabled === 2 ? 'io_uring is off for everyone' : 'only CAP_SYS_ADMIN or kernel.io_uring_group members'}): sysctl -w kernel.io_uring_disabled=0 as root`;
  if (code === 'EPERM') return 'io_uring_setup: EPERM: refused (a seccomp filter or an LSM)';
  return `io_uring_setup: ${code}`;
}

/** Unescapes a mountinfo field ("\\040" is a space). */
const unescapeOctal = (s: string): string => s.replace(/\\([0-7]{3})/g, (_m, o: string) => String.fromCharCode(Number.parseInt(o, 8)));

/**
 * The mount that holds `dir`, from mountinfo's lines: the longest mount
 * point that is a prefix of it; its filesystem type and super options. Pure.
 */
function mountFrom(mountinfo: string, dir: string): { point: string; type: string; options: string[] } | undefined {
  let best: { point: string; type: string; options: string[] } | undefined;
  for (const line of mountinfo.split('\n')) {
    const fields = line.split(' ');
    const sep = fields.indexOf('-');
    if (sep < 0 || fields.length < sep + 2) continue;
    const point = unescapeOctal(fields[4] ?? '');
    const inside = point === '/' || dir === point || dir.startsWith(`${point}/`);
    if (inside && (!best || point.length >= best.point.length)) best = { point, type: fields[sep + 1] ?? '', options: (fields[sep + 3] ?? '').split(',') };
  }
  return best;
}

/** The filesystem type of the mount that holds `dir` (mountFrom). Pure. */
export function fsTypeFrom(mountinfo: string, dir: string): string | undefined {
  return mountFrom(mountinfo, dir)?.type;
}

const daxOption = (o: string): boolean => o === 'dax' || o === 'dax=always';

/** Whether the mount holding `dir` is a DAX mount (its super options say dax or dax=always). Pure. */
export function daxMountFrom(mountinfo: string, dir: string): boolean {
  return (mountFrom(mountinfo, dir)?.options ?? []).some(daxOption);
}

/** `dir` with its links resolved; a missing folder keeps its name. */
function realDir(dir: string): string {
  try {
    return realpathSync(dir);
  } catch {
    return dir;
  }
}

export function fsTypeOf(dir: string): string {
  return fsTypeFrom(read('/proc/self/mountinfo') ?? '', realDir(dir)) ?? 'unknown';
}

/** What the file cases on `dir` are named after: its filesystem type, with -dax on a DAX mount (ext4-dax). */
export function fileFsName(dir: string): string {
  const mount = mountFrom(read('/proc/self/mountinfo') ?? '', realDir(dir));
  const type = mount?.type ?? 'unknown';
  return mount?.options.some(daxOption) ? `${type}-dax` : type;
}

/** The THP setting ("always [madvise] never" -> "madvise"). */
export function thpEnabled(): string | undefined {
  const v = read('/sys/kernel/mm/transparent_hugepage/enabled');
  return v === undefined ? undefined : (/\[([^\]]+)\]/.exec(v)?.[1] ?? v.trim());
}

/** The CPU is virtualised (cpuinfo's "hypervisor" flag): a real CPU under a hypervisor, not an emulated one. */
export function underHypervisor(): boolean {
  return /^flags\s*:.*\bhypervisor\b/m.test(read('/proc/cpuinfo') ?? '');
}

/** How /proc/PID/mem passes FOLL_FORCE (6.12's proc_mem.force_override=, CONFIG_PROC_MEM_*; 6.1.y has it too): always, only to the tracer, or never. */
export type ProcMemForce = 'always' | 'ptrace' | 'never';

/**
 * The /proc/PID/mem force policy from the command line (proc_mem.force_override=
 * wins) and the kernel's config text; undefined when neither says. Pure.
 */
export function procMemForce(cmdline: string, config: string | undefined): { policy: ProcMemForce; from: string } | undefined {
  const param = /(?:^|\s)proc_mem\.force_override=(always|ptrace|never)(?:\s|$)/.exec(cmdline)?.[1];
  if (param) return { policy: param as ProcMemForce, from: `proc_mem.force_override=${param}` };
  if (config === undefined) return undefined;
  for (const [opt, policy] of [
    ['ALWAYS_FORCE', 'always'],
    ['FORCE_PTRACE', 'ptrace'],
    ['NO_FORCE', 'never'],
  ] as const) {
    if (new RegExp(`^CONFIG_PROC_MEM_${opt}=y$`, 'm').test(config)) return { policy, from: `CONFIG_PROC_MEM_${opt}=y` };
  }
  return undefined;
}

/** This kernel's config: /boot/config-RELEASE, else /proc/config.gz; undefined when neither is readable. */
export function kernelConfig(release: string): string | undefined {
  const boot = read(`/boot/config-${release}`);
  if (boot !== undefined) return boot;
  try {
    return gunzipSync(readFileSync('/proc/config.gz')).toString('utf8');
  } catch {
    return undefined;
  }
}
