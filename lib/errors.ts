/** An error from a system call, shaped like Node's own (code, errno, syscall). */
export interface SystemError extends Error {
  code: string;
  errno: number;
  syscall: string;
  path?: string;
  hint?: string;
}

export function isSystemError(err: unknown): err is SystemError {
  return err instanceof Error && typeof (err as SystemError).code === 'string' && typeof (err as SystemError).errno === 'number';
}

/** Names of Linux errno values (x86_64 and arm64 share the generic numbers). */
const ERRNO_NAMES: Record<number, string> = {
  1: 'EPERM', 2: 'ENOENT', 4: 'EINTR', 5: 'EIO', 7: 'E2BIG', 9: 'EBADF', 11: 'EAGAIN', 12: 'ENOMEM',
  13: 'EACCES', 14: 'EFAULT', 16: 'EBUSY', 17: 'EEXIST', 19: 'ENODEV', 22: 'EINVAL', 25: 'ENOTTY',
  27: 'EFBIG', 28: 'ENOSPC', 34: 'ERANGE', 38: 'ENOSYS', 75: 'EOVERFLOW', 95: 'EOPNOTSUPP',
  512: 'ERESTARTSYS', 514: 'ERESTARTNOHAND',
};

/** "-14" -> "EFAULT"; for a GUP return value that is an error. */
export function errnoName(negErrno: number): string {
  return ERRNO_NAMES[-negErrno] ?? `errno ${-negErrno}`;
}
