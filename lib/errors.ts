/** An error from a system call, shaped like Node's own (code, errno, syscall). */
export interface SystemError extends Error {
  code: string;
  /** Negative, as in Node (-2 for ENOENT). */
  errno: number;
  syscall: string;
  path?: string;
  /** What to do about it. */
  hint?: string;
}

/** True for an error with Node's system-error fields (a string code and a numeric errno), guplab's or Node's own. */
export function isSystemError(err: unknown): err is SystemError {
  return err instanceof Error && typeof (err as SystemError).code === 'string' && typeof (err as SystemError).errno === 'number';
}

/**
 * Base of every error guplab throws for a failed system call or a request
 * this kernel cannot serve. Carries Node's fields (code, errno, syscall,
 * path) and a hint that names the fix; the message ends with the hint.
 */
export class GuplabError extends Error implements SystemError {
  /** "ENOENT", "EPERM", ... or "ERR_GUPLAB_*" for what is not a system call. */
  code: string;
  /** Negative errno, as in Node; 0 for the ERR_GUPLAB_* codes. */
  errno: number;
  /** The failed call ("open", "ioctl", "mmap", ...); "" when none. */
  syscall: string;
  /** The file involved, if any. */
  path?: string;
  /** What to do about it (also at the end of the message). */
  hint?: string;

  constructor(message: string, fields: { code: string; errno?: number; syscall?: string; path?: string; hint?: string; cause?: unknown }) {
    const hint = fields.hint;
    super(hint && !message.includes(hint) ? `${message}: ${hint}` : message, fields.cause === undefined ? undefined : { cause: fields.cause });
    this.name = new.target.name;
    this.code = fields.code;
    this.errno = fields.errno ?? -(ERRNO_NUMBERS[fields.code] ?? 0);
    this.syscall = fields.syscall ?? '';
    if (fields.path !== undefined) this.path = fields.path;
    if (fields.hint !== undefined) this.hint = fields.hint;
  }
}

/** /dev/guplab does not exist: the module is not loaded. */
export class DeviceMissingError extends GuplabError {}

/** The caller may not do this (device mode, ptrace rules for *_remote). */
export class PermissionError extends GuplabError {}

/** This kernel, arch or build lacks the API, flag or memory kind asked for. */
export class UnsupportedError extends GuplabError {}

/** Held pins would exceed RLIMIT_MEMLOCK. */
export class MemlockLimitError extends GuplabError {}

/** A request above one of the module's caps (max_pages_per_call, max_held_pages_per_file). */
export class ModuleLimitError extends GuplabError {}

/** No free huge pages of the size asked for. */
export class HugePagesUnavailableError extends GuplabError {}

/**
 * guplab's own parts do not fit together: the addon is not built, or it and
 * the loaded module speak different ABI versions. Code ERR_GUPLAB_BUILD.
 */
export class BuildMismatchError extends GuplabError {}

/** A call on a GupDevice or Mapping after its close(). Code ERR_GUPLAB_CLOSED. */
export class ClosedError extends GuplabError {}

/** A helper child process (Mapping.forkRun) did not report back. Code ERR_GUPLAB_CHILD. */
export class ChildProcessError extends GuplabError {}

/** What a failed call was doing, to pick the error class. */
export type ErrorContext = 'open' | 'pin' | 'hold' | 'remote' | 'hugetlb' | 'other';

/**
 * Re-raises a native error (a plain Error with code/errno/syscall) as the
 * GuplabError subclass its code means in this context, keeping message,
 * fields and hint. Anything else passes through unchanged.
 */
export function classify(err: unknown, context: ErrorContext = 'other', hint?: string): unknown {
  if (!isSystemError(err) || err instanceof GuplabError) return err;
  const fullHint = hint ?? err.hint;
  const message = hint && !err.message.includes(hint) ? `${err.message}. ${hint}` : err.message;
  const fields = {
    code: err.code,
    errno: err.errno,
    syscall: err.syscall,
    ...(err.path !== undefined ? { path: err.path } : {}),
    ...(fullHint !== undefined ? { hint: fullHint } : {}),
    cause: err,
  };
  const Class = errorClass(err.code, context);
  const out = new Class(message, fields);
  if (err.stack) out.stack = `${out.name}: ${message}\n${err.stack.split('\n').slice(1).join('\n')}`;
  return out;
}

function errorClass(code: string, context: ErrorContext): typeof GuplabError {
  if (context === 'open' && (code === 'ENOENT' || code === 'ENODEV' || code === 'ENXIO')) return DeviceMissingError;
  if (code === 'EACCES' || code === 'EPERM') return PermissionError;
  if (code === 'EOPNOTSUPP' || code === 'ENOSYS' || code === 'ENOTTY') return UnsupportedError;
  if (code === 'E2BIG') return ModuleLimitError;
  if (code === 'ENOMEM' && context === 'hold') return MemlockLimitError;
  if (code === 'ENOMEM' && context === 'hugetlb') return HugePagesUnavailableError;
  return GuplabError;
}

/** Names of Linux errno values (x86_64 and arm64 share the generic numbers). */
const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM',
  2: 'ENOENT',
  3: 'ESRCH',
  4: 'EINTR',
  5: 'EIO',
  6: 'ENXIO',
  7: 'E2BIG',
  9: 'EBADF',
  11: 'EAGAIN',
  12: 'ENOMEM',
  13: 'EACCES',
  14: 'EFAULT',
  16: 'EBUSY',
  17: 'EEXIST',
  19: 'ENODEV',
  22: 'EINVAL',
  25: 'ENOTTY',
  27: 'EFBIG',
  28: 'ENOSPC',
  34: 'ERANGE',
  38: 'ENOSYS',
  62: 'ETIME',
  75: 'EOVERFLOW',
  95: 'EOPNOTSUPP',
  133: 'EHWPOISON',
  512: 'ERESTARTSYS',
  514: 'ERESTARTNOHAND',
};

const ERRNO_NUMBERS: Record<string, number> = Object.fromEntries(Object.entries(ERRNO_NAMES).map(([n, name]) => [name, Number(n)]));

/** "-14" -> "EFAULT"; for a GUP return value that is an error. */
export function errnoName(negErrno: number): string {
  return ERRNO_NAMES[-negErrno] ?? `errno ${-negErrno}`;
}
