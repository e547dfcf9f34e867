// The kernel's own GUP consumers as a second instrument (no module): each
// consumer is a syscall user space can make, and the GUP call and flags it
// makes inside the kernel, per kernel version range, read in that
// version's source. Pure data; lib/consumers/expectations.ts holds what
// each consumer answers on each backing, lib/consumers/run.ts makes the
// calls.
import { kernelMatches } from '../check/expectations.js';

/** The consumers, as probe ids of the suite (the KTAP subtests). */
export const CONSUMER_IDS = [
  'io_uring-register',
  'odirect-read',
  'vmsplice',
  'process_vm_readv',
  'process_vm_writev',
  'proc-mem-read',
  'proc-mem-write',
  'madv-populate-read',
  'madv-populate-write',
] as const;
export type ConsumerId = (typeof CONSUMER_IDS)[number];

export const isConsumerId = (id: string): id is ConsumerId => (CONSUMER_IDS as readonly string[]).includes(id);

/** What a consumer makes inside the kernel on a range of versions. */
export interface GupCall {
  /** Kernel versions, as expectation rows name them ("*", "<6.3", "[6.5,6.12)"). */
  kernels: string;
  /** The GUP entry point the consumer calls ("pin_user_pages_fast"), or the path ("__get_user_pages() faultin"). */
  call: string;
  /** The FOLL_* flags it passes (as the kernel names them; FOLL_GET/FOLL_PIN are implied by the call). */
  flags: string;
  /** Where it was read: the function and file, the release read, the commit that drew the bound. */
  source: string;
}

export interface Consumer {
  id: ConsumerId;
  /** The syscall user space makes. */
  syscall: string;
  /** The question the probe asks. */
  title: string;
  /** Bytes of the buffer the call covers (its start). */
  bytes: number;
  /** What the call returns on success, for the reader: "0", "bytes". */
  returns: string;
  calls: readonly GupCall[];
}

export const KIB = 1024;
export const MIB = 1024 * KIB;
/** The probes' buffer: one PMD, so the THP backing is one huge page. */
export const PROBE_BYTES = 2 * MIB;
/** What a pipe holds by default (16 pages) and what the copy-based consumers move. */
export const SMALL_BYTES = 64 * KIB;

export const CONSUMERS: readonly Consumer[] = [
  {
    id: 'io_uring-register',
    syscall: 'io_uring_register(IORING_REGISTER_BUFFERS), then IORING_UNREGISTER_BUFFERS',
    title: 'io_uring fixed buffers: a writable long-term pin of the whole buffer, held until unregistered',
    bytes: PROBE_BYTES,
    returns: '0',
    calls: [
      {
        kernels: '<6.5',
        call: 'pin_user_pages',
        flags: 'FOLL_WRITE|FOLL_LONGTERM',
        source:
          'io_sqe_buffer_register() (5.10.y, io_uring/io_uring.c after the stable move) / io_pin_pages() (6.1, io_uring/rsrc.c:1006) under mmap_read_lock, with vmas; then its own check "don\'t support file backed memory": a vm_file that is neither shmem nor hugetlbfs -> -EOPNOTSUPP (read in Debian 6.1.192; 5.10.y from the stable review of edd478269640 "io_uring/rsrc: disallow multi-source reg buffers", 5.10.173)',
      },
      {
        kernels: '[6.5,6.12)',
        call: 'pin_user_pages (pin_user_pages_fast by 6.12)',
        flags: 'FOLL_WRITE|FOLL_LONGTERM',
        source:
          'io_pin_pages(): the vmas and io_uring\'s own file-backed check go in "io_uring: rsrc: delegate VMA file-backed check to GUP" (6.5, Lorenzo Stoakes), beside "mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings" and its GUP-fast twin; the switch to pin_user_pages_fast came before 6.12 (not bisected: read, not run)',
      },
      {
        kernels: '>=6.12',
        call: 'pin_user_pages_fast',
        flags: 'FOLL_WRITE|FOLL_LONGTERM',
        source:
          'io_pin_pages() in io_uring/memmap.c (6.12.118 :155, 7.3.4 :78): pin_user_pages_fast(uaddr, nr_pages, FOLL_WRITE | FOLL_LONGTERM, pages); a partial pin -> -EFAULT',
      },
    ],
  },
  {
    id: 'odirect-read',
    syscall: "pread() of an O_DIRECT file (the working directory's filesystem) into the buffer",
    title: 'O_DIRECT read: the block layer takes the destination pages for the I/O (short-term, FOLL_WRITE)',
    bytes: PROBE_BYTES,
    returns: 'bytes',
    calls: [
      {
        kernels: '<6.3',
        call: 'get_user_pages_fast',
        flags: 'FOLL_WRITE',
        source:
          'bio_iov_iter_get_pages() -> iov_iter_get_pages2() (iov_iter_get_pages() in 5.10) -> __iov_iter_get_pages_alloc(): get_user_pages_fast(addr, n, FOLL_WRITE for a read, pages) (Debian 6.1.192 lib/iov_iter.c:1460, block/bio.c:1217)',
      },
      {
        kernels: '>=6.3',
        call: 'pin_user_pages_fast',
        flags: 'FOLL_WRITE',
        source:
          '"block: Convert bio_iov_iter_get_pages to use iov_iter_extract_pages" (6.3, David Howells): iov_iter_extract_user_pages() -> pin_user_pages_fast(addr, maxpages, FOLL_WRITE for ITER_DEST, pages) (6.12.118 lib/iov_iter.c:1821, block/bio.c:1357; 7.3.4 lib/iov_iter.c:1780 via iov_iter_extract_bvecs())',
      },
    ],
  },
  {
    id: 'vmsplice',
    syscall: 'vmsplice() of the buffer into a pipe',
    title: "vmsplice: the pipe holds references to the buffer's pages (FOLL_GET, read-only)",
    bytes: SMALL_BYTES,
    returns: 'bytes',
    calls: [
      {
        kernels: '*',
        call: 'get_user_pages_fast',
        flags: '0',
        source:
          'vmsplice_to_pipe() -> iter_to_pipe(): iov_iter_get_pages2(from, pages, ~0UL, 16, &start) (iov_iter_get_pages() in 5.10) -> get_user_pages_fast() without FOLL_WRITE (ITER_SOURCE) (6.1.192 fs/splice.c:1196, 6.12.118 :1468, 7.3.4 :1460)',
      },
    ],
  },
  {
    id: 'process_vm_readv',
    syscall: 'process_vm_readv() with the buffer as the remote side (this process as the target)',
    title: "process_vm_readv: the target's pages are pinned (FOLL_PIN, no FOLL_WRITE) and copied out",
    bytes: SMALL_BYTES,
    returns: 'bytes',
    calls: [
      {
        kernels: '*',
        call: 'pin_user_pages_remote',
        flags: '0',
        source:
          'process_vm_rw_single_vec(): pin_user_pages_remote(mm, pa, pinned_pages, flags, process_pages, &locked); any failure of the first batch -> -EFAULT (6.1.192 mm/process_vm_access.c:105, 6.12.118 :106, 7.3.4 :106; FOLL_PIN since 5.8, John Hubbard\'s "set FOLL_PIN via pin_user_pages_remote()")',
      },
    ],
  },
  {
    id: 'process_vm_writev',
    syscall: 'process_vm_writev() with the buffer as the remote side (this process as the target)',
    title: "process_vm_writev: the target's pages are pinned writable (FOLL_PIN|FOLL_WRITE) and copied into",
    bytes: SMALL_BYTES,
    returns: 'bytes',
    calls: [
      {
        kernels: '*',
        call: 'pin_user_pages_remote',
        flags: 'FOLL_WRITE',
        source:
          'process_vm_rw_single_vec(): vm_write adds FOLL_WRITE; unpin_user_pages_dirty_lock() after the copy (6.1.192 mm/process_vm_access.c:91-126, 7.3.4 :106-127)',
      },
    ],
  },
  {
    id: 'proc-mem-read',
    syscall: 'pread() of /proc/CHILD/mem at the buffer, CHILD a fork this process traces (as a debugger does)',
    title: "/proc/PID/mem read by the tracer: access_remote_vm() page by page with FOLL_FORCE (the debugger's path: PROT_NONE readable)",
    bytes: SMALL_BYTES,
    returns: 'bytes (-EIO when nothing was copied)',
    calls: [
      {
        kernels: '<6.5',
        call: 'get_user_pages_remote',
        flags: 'FOLL_FORCE',
        source:
          'mem_rw(): FOLL_FORCE (proc_mem_foll_force(): always, unless proc_mem.force_override= says otherwise, in 6.1.192 fs/proc/base.c:896-898) -> access_remote_vm() -> __access_remote_vm(): get_user_pages_remote(mm, addr, 1, gup_flags, &page, &vma, NULL) (6.1.192 mm/memory.c:5723); mem_rw() answers -EIO when nothing was copied',
      },
      {
        kernels: '>=6.5',
        call: 'get_user_page_vma_remote',
        flags: 'FOLL_FORCE',
        source:
          'mem_rw(): FOLL_FORCE when proc_mem_foll_force() (6.12.118 fs/proc/base.c:900, 7.3.4 :901; "proc: add config & param to block forcing mem writes", 6.12, in 6.1.y too): always under CONFIG_PROC_MEM_ALWAYS_FORCE (Debian 6.1, 6.12), only for the tracer (task->ptrace, parent == current) under CONFIG_PROC_MEM_FORCE_PTRACE (Debian 7.3.4), never under CONFIG_PROC_MEM_NO_FORCE; proc_mem.force_override= overrides. The probe reads as the tracer -> __access_remote_vm(): get_user_page_vma_remote(), get_user_pages_remote() of one page, from "mm/gup: remove vmas parameter from get_user_pages_remote()" (6.5) (7.3.4 mm/memory.c:7253)',
      },
    ],
  },
  {
    id: 'proc-mem-write',
    syscall: 'pwrite() of /proc/CHILD/mem at the buffer (the bytes it held), CHILD a fork this process traces',
    title: '/proc/PID/mem write by the tracer: FOLL_FORCE|FOLL_WRITE, which breaks COW into a read-only private mapping',
    bytes: SMALL_BYTES,
    returns: 'bytes (-EIO when nothing was copied)',
    calls: [
      {
        kernels: '<6.5',
        call: 'get_user_pages_remote',
        flags: 'FOLL_FORCE|FOLL_WRITE',
        source:
          'mem_rw() with write: FOLL_FORCE|FOLL_WRITE -> __access_remote_vm(): get_user_pages_remote() of one page (6.1.192 fs/proc/base.c:896-898, mm/memory.c:5723)',
      },
      {
        kernels: '>=6.5',
        call: 'get_user_page_vma_remote',
        flags: 'FOLL_FORCE|FOLL_WRITE',
        source:
          'mem_rw() as for reads, write adds FOLL_WRITE; check_vma_flags(): FOLL_FORCE lets a write into a !VM_WRITE vma only if is_cow_mapping() and not hugetlb (6.1.192 mm/gup.c:1081-1098)',
      },
    ],
  },
  {
    id: 'madv-populate-read',
    syscall: 'madvise(MADV_POPULATE_READ) over the buffer (5.14+)',
    title: 'MADV_POPULATE_READ: the faultin path of __get_user_pages() (no pages taken), permission problems as -EINVAL',
    bytes: PROBE_BYTES,
    returns: '0',
    calls: [
      {
        kernels: '<6.10',
        call: 'faultin_vma_page_range() -> __get_user_pages_locked()',
        flags: 'FOLL_TOUCH|FOLL_HWPOISON (no pages array)',
        source: 'madvise_populate() -> faultin_vma_page_range(): check_vma_flags() failing -> -EINVAL (6.1.192 mm/gup.c:1636-1668, mm/madvise.c:927-950)',
      },
      {
        kernels: '>=6.10',
        call: 'faultin_page_range() -> __get_user_pages_locked()',
        flags: 'FOLL_TOUCH|FOLL_HWPOISON|FOLL_UNLOCKABLE|FOLL_MADV_POPULATE',
        source:
          'madvise_populate() -> faultin_page_range(); __get_user_pages(): FOLL_MADV_POPULATE with check_vma_flags() failing -> -EINVAL (6.12.118 mm/gup.c:1453-1460, mm/madvise.c:970; 7.3.4 mm/gup.c:1384-1391, mm/madvise.c:979)',
      },
    ],
  },
  {
    id: 'madv-populate-write',
    syscall: 'madvise(MADV_POPULATE_WRITE) over the buffer (5.14+)',
    title: 'MADV_POPULATE_WRITE: the write-faultin path of __get_user_pages() (breaks COW, allocates blocks)',
    bytes: PROBE_BYTES,
    returns: '0',
    calls: [
      {
        kernels: '<6.10',
        call: 'faultin_vma_page_range() -> __get_user_pages_locked()',
        flags: 'FOLL_TOUCH|FOLL_HWPOISON|FOLL_WRITE',
        source: 'as MADV_POPULATE_READ, with FOLL_WRITE (6.1.192 mm/gup.c:1659-1661)',
      },
      {
        kernels: '>=6.10',
        call: 'faultin_page_range() -> __get_user_pages_locked()',
        flags: 'FOLL_TOUCH|FOLL_HWPOISON|FOLL_UNLOCKABLE|FOLL_MADV_POPULATE|FOLL_WRITE',
        source: 'as MADV_POPULATE_READ, with FOLL_WRITE (6.12.118 mm/gup.c faultin_page_range())',
      },
    ],
  },
];

export function consumer(id: ConsumerId): Consumer {
  const c = CONSUMERS.find((x) => x.id === id);
  if (!c) throw new RangeError(`unknown consumer ${id}`);
  return c;
}

/** The GUP call a consumer makes on this kernel version. */
export function gupCallOn(id: ConsumerId, version: string): GupCall | undefined {
  return consumer(id).calls.find((c) => kernelMatches(c.kernels, version));
}

/**
 * The backings each consumer is probed on (the cases). `file-<fs>` is a file
 * on the filesystem of the working directory (--dir), named by its type;
 * its `-private` twin maps the same file MAP_PRIVATE.
 */
export const BACKING_KINDS = ['anon', 'thp', 'memfd', 'tmpfs', 'file', 'file-private', 'hugetlb', 'secretmem', 'guard', 'protnone', 'readonly'] as const;
export type BackingKind = (typeof BACKING_KINDS)[number];

export const BACKING_TEXT: Record<BackingKind, string> = {
  anon: 'private anonymous memory, 4K pages (MADV_NOHUGEPAGE)',
  thp: 'private anonymous memory, 2 MiB aligned with MADV_HUGEPAGE (one THP)',
  memfd: 'memfd_create() (shmem), MAP_SHARED',
  tmpfs: 'a file on tmpfs (/dev/shm), MAP_SHARED',
  file: "a file on the working directory's filesystem (the case is named file-<type>, e.g. file-ext4), MAP_SHARED, writable",
  'file-private': 'the same file mapped MAP_PRIVATE (writes break COW into anonymous pages)',
  hugetlb: 'MAP_HUGETLB, one 2 MiB page (needs a free page in the pool)',
  secretmem: 'memfd_secret() memory (removed from the direct map; 5.14+)',
  guard: 'anonymous memory covered by MADV_GUARD_INSTALL markers (6.13+)',
  protnone: 'anonymous memory, faulted in, then mprotect(PROT_NONE)',
  readonly: 'private anonymous memory mapped PROT_READ (never written)',
};

/**
 * Filesystems whose shared writable mappings are dirty-tracked
 * (vma_needs_dirty_tracking(): a page_mkwrite handler), which 6.5's GUP
 * refuses to pin writable and long-term. A file on another filesystem is
 * probed but has no expectation row.
 */
export const DIRTY_TRACKED_FS = ['ext4', 'xfs', 'btrfs', 'f2fs', 'ext3', 'ext2'] as const;

/** Filesystems whose DAX mounts have expectation rows (their file cases: file-ext4-dax, file-xfs-dax). */
export const DAX_FS = ['ext4-dax', 'xfs-dax'] as const;

/** The case name of a backing on a working directory of filesystem type `fs`. */
export function caseName(kind: BackingKind, fs: string): string {
  if (kind === 'file') return `file-${fs}`;
  if (kind === 'file-private') return `file-${fs}-private`;
  return kind;
}
