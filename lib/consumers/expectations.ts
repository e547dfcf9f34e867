// What each consumer answers on each backing, per kernel version range, as
// data in the rows lib/check/expectations.ts defines (the same matcher
// judges both instruments). Every row names the deciding kernel function;
// the GUP call each consumer makes is in table.ts. Ranges for lines no run
// here boots are read from source only.
import type { Expectation } from '../check/expectations.js';
import { DAX_FS, DIRTY_TRACKED_FS, PROBE_BYTES, SMALL_BYTES, type ConsumerId } from './table.js';

// errno values are the same on x86_64 and arm64 (asm-generic/errno*.h).
const EIO = -5;
const EFAULT = -14;
const EINVAL = -22;
const EOPNOTSUPP = -95;

/** A brace list as the case glob has none: one row per name. */
const each = (names: readonly string[], row: Omit<Expectation, 'cases'>): Expectation[] => names.map((cases) => ({ ...row, cases }));

/** The file cases on every dirty-tracked filesystem (shared, then private). */
const FILE_SHARED = DIRTY_TRACKED_FS.map((fs) => `file-${fs}`);
const FILE_PRIVATE = DIRTY_TRACKED_FS.map((fs) => `file-${fs}-private`);
/**
 * The file cases on a DAX mount (fsdax: the file's pages are the pmem
 * itself). A short-term GUP takes them like page-cache pages; only
 * FOLL_LONGTERM is refused (io_uring below).
 */
const DAX_FILES = DAX_FS.flatMap((fs) => [`file-${fs}`, `file-${fs}-private`]);
/** Memory every consumer takes: present, readable and writable, no special vma. */
const PLAIN = ['anon', 'thp', 'memfd', 'tmpfs', 'hugetlb'];

const SECRETMEM_GUP =
  'check_vma_flags(): vma_is_secretmem() -> -EFAULT (GUP-fast: folio_is_secretmem() falls back to the slow path) (6.1.192 mm/gup.c:1078, 7.3.4 mm/gup.c:1219)';
const GUARD_GUP = 'a guard marker (MADV_GUARD_INSTALL, 6.13) is no page: the faultin path gets VM_FAULT_SIGSEGV -> -EFAULT';
const NO_READ = 'check_vma_flags(): !VM_READ without FOLL_FORCE -> -EFAULT (6.1.192 mm/gup.c:1100)';
const NO_WRITE = 'check_vma_flags(): FOLL_WRITE on a !VM_WRITE vma without FOLL_FORCE -> -EFAULT (6.1.192 mm/gup.c:1081-1084)';

/** The rows every short-term, copy-style consumer shares (vmsplice, process_vm_*, O_DIRECT): only what GUP refuses fails. */
function shortTerm(bytes: number, write: boolean, how: string): Expectation[] {
  return [
    ...each([...PLAIN, ...FILE_SHARED, ...FILE_PRIVATE, ...DAX_FILES], {
      kernels: '*',
      answer: { ret: bytes },
      source: `${how}: no FOLL_LONGTERM, so any mapping with pages will do (fsdax pages too: only FOLL_LONGTERM is refused on them)`,
    }),
    write
      ? { cases: 'readonly', kernels: '*', answer: { ret: EFAULT }, source: NO_WRITE }
      : { cases: 'readonly', kernels: '*', answer: { ret: bytes }, source: `${how} without FOLL_WRITE: a read fault maps the shared zero page` },
    { cases: 'protnone', kernels: '*', answer: { ret: EFAULT }, source: write ? NO_WRITE : NO_READ },
    { cases: 'secretmem', kernels: '*', answer: { ret: EFAULT }, source: SECRETMEM_GUP },
    { cases: 'guard', kernels: '>=6.13', answer: { ret: EFAULT }, source: GUARD_GUP },
  ];
}

/**
 * FOLL_FORCE through /proc/PID/mem of a traced child: what only the
 * debugger's path reaches. The tracer is forced under both
 * CONFIG_PROC_MEM_ALWAYS_FORCE and _FORCE_PTRACE (proc_mem_foll_force());
 * /proc/self/mem only under the first (Debian's 7.3.4 has the second).
 */
function procMem(write: boolean): Expectation[] {
  const force = write
    ? 'check_vma_flags(): FOLL_FORCE|FOLL_WRITE into a !VM_WRITE vma passes when is_cow_mapping() (private; not hugetlb): the write breaks COW'
    : 'check_vma_flags(): !VM_READ with FOLL_FORCE passes when VM_MAYREAD; follow_page_pte() follows a PROT_NONE pte without FOLL_NUMA / FOLL_HONOR_NUMA_FAULT';
  const daxPrivate = DAX_FS.map((fs) => `file-${fs}-private`);
  // A FOLL_FORCE write into a private fsdax mapping breaks COW in the child's mm from the tracer's task.
  const cowRemote = write
    ? [
        ...each(daxPrivate, {
          kernels: '6.12',
          answer: { ret: EIO },
          source:
            'Debian 6.12.118 mm/memory.c:3050-3055: __wp_page_copy_user() rejects a remote fault without a source page ("__copy_from_user_inatomic() only works as expected for local faults"): -EFAULT, which wp_page_copy() turns into VM_FAULT_SIGBUS (:3382-3383), so GUP fails and mem_rw() answers -EIO. A change of the 6.12 line only: 6.1.192 and mainline (7.3.4 mm/memory.c:3688-3712) lack it, mainline fixed the case by refcounting fsdax pages (38607c62b34b, 6.15). Read in 6.12.118 and measured there; the first 6.12.y with it is not pinned',
        }),
        ...each(daxPrivate, {
          kernels: '<6.15',
          answer: { ret: SMALL_BYTES },
          source:
            "do_wp_page() -> wp_page_copy() -> __wp_page_copy_user(): a legacy fsdax pte (pte_devmap) has no page for vm_normal_page(), so the copy is the best-effort __copy_from_user_inatomic() at that address in the tracer's own mm (WARN and zero fill where nothing is mapped there): it copies right here only because the traced child is the tracer's fork, mapping the same file at the same address (5.10.262 mm/memory.c:2652-2725 cow_user_page(); 6.1.192 mm/memory.c:2880 __wp_page_copy_user(); neither rejects a remote mm). Measured 5.10.262, 6.1.192",
        }),
        ...each(daxPrivate, {
          kernels: '>=6.15',
          answer: { ret: SMALL_BYTES },
          source:
            'fsdax pages are refcounted folios in normal ptes (38607c62b34b "fs/dax: properly refcount fs dax pages", 6.15, of the series "fs/dax: Fix ZONE_DEVICE page reference counts"): vm_normal_page() returns the page and wp_page_copy() copies it. Measured 6.16.12 to 7.3.4',
        }),
      ]
    : [];
  return [
    ...cowRemote,
    ...each([...PLAIN, ...FILE_SHARED, ...FILE_PRIVATE, ...DAX_FILES], {
      kernels: '*',
      answer: { ret: SMALL_BYTES },
      source: 'mem_rw() -> access_remote_vm(): one page per get_user_pages_remote()',
    }),
    { cases: 'readonly', kernels: '*', answer: { ret: SMALL_BYTES }, source: force },
    { cases: 'protnone', kernels: '*', answer: { ret: SMALL_BYTES }, source: force },
    { cases: 'secretmem', kernels: '*', answer: { ret: EIO }, source: `${SECRETMEM_GUP}; __access_remote_vm() copies nothing and mem_rw() answers -EIO` },
    { cases: 'guard', kernels: '>=6.13', answer: { ret: EIO }, source: `${GUARD_GUP}; __access_remote_vm() copies nothing and mem_rw() answers -EIO` },
  ];
}

/** MADV_POPULATE_*: permission problems as -EINVAL, a fault that fails as -EFAULT. */
function populate(write: boolean): Expectation[] {
  const einval =
    'madvise_populate(): check_vma_flags() failing is reported as -EINVAL ("Incompatible mappings / permissions"; faultin_vma_page_range() before 6.10, __get_user_pages() with FOLL_MADV_POPULATE from 6.10)';
  return [
    ...each([...PLAIN, ...FILE_SHARED, ...FILE_PRIVATE, ...DAX_FILES], {
      kernels: '*',
      answer: { ret: 0 },
      source: 'madvise_populate(): every page faulted in',
    }),
    write
      ? { cases: 'readonly', kernels: '*', answer: { ret: EINVAL }, source: `${einval}: FOLL_WRITE on a !VM_WRITE vma` }
      : { cases: 'readonly', kernels: '*', answer: { ret: 0 }, source: 'madvise_populate(): read faults map the shared zero page' },
    { cases: 'protnone', kernels: '*', answer: { ret: EINVAL }, source: `${einval}: !VM_READ` },
    { cases: 'secretmem', kernels: '*', answer: { ret: EINVAL }, source: `${einval}: vma_is_secretmem()` },
    {
      cases: 'guard',
      kernels: '>=6.13',
      answer: { ret: EFAULT },
      source: `${GUARD_GUP}; madvise_populate() passes -EFAULT on ("VM_FAULT_SIGBUS or VM_FAULT_SIGSEGV")`,
    },
  ];
}

export const CONSUMER_EXPECTATIONS: Record<ConsumerId, Expectation[]> = {
  'io_uring-register': [
    ...each(['anon', 'thp', 'memfd', 'tmpfs', 'hugetlb'], {
      kernels: '*',
      answer: { ret: 0 },
      source:
        "io_pin_pages() (io_sqe_buffer_register() in 5.10): pin_user_pages*(FOLL_WRITE|FOLL_LONGTERM) pins every page; shmem and hugetlbfs pass io_uring's own file check (<6.5) and GUP's (>=6.5: vma_needs_dirty_tracking() is false for them)",
    }),
    ...each([...FILE_SHARED, ...FILE_PRIVATE], {
      kernels: '<6.5',
      answer: { ret: EOPNOTSUPP },
      source:
        'io_pin_pages(): GUP pins, then io_uring\'s own "don\'t support file backed memory" check: vm_file neither shmem nor hugetlbfs -> -EOPNOTSUPP, MAP_PRIVATE included (6.1.192 io_uring/rsrc.c:1011-1022)',
    }),
    ...each(FILE_SHARED, {
      kernels: '>=6.5',
      answer: { ret: EFAULT },
      source:
        'check_vma_flags(): FOLL_LONGTERM|FOLL_WRITE and !writable_file_mapping_allowed() (vma_needs_dirty_tracking(): a shared writable mapping of a page_mkwrite filesystem) -> -EFAULT; GUP-fast refuses it first in gup_fast_folio_allowed() (6.12.118 mm/gup.c:1252-1294, :2833; 7.3.4 :1182-1224)',
    }),
    ...each(FILE_PRIVATE, {
      kernels: '>=6.5',
      answer: { ret: 0 },
      source:
        'writable_file_mapping_allowed(): a MAP_PRIVATE mapping needs no dirty tracking (FOLL_WRITE breaks COW into anonymous pages) and io_uring\'s own check is gone ("io_uring: rsrc: delegate VMA file-backed check to GUP", 6.5)',
    }),
    ...each(DAX_FILES, {
      kernels: '*',
      answer: { ret: EOPNOTSUPP },
      source:
        "FOLL_LONGTERM on an fsdax vma, shared or private (vma_is_fsdax()): check_vma_flags() -> -EOPNOTSUPP, before the dirty-tracking test (6.1.192 mm/gup.c:1075, 6.12.118 :1283, 7.3.4 :1213; 5.10.262: check_dax_vmas() in __gup_longterm_locked(), mm/gup.c:1739-1745); GUP-fast leaves it to the slow path; io_uring passes the error on (5.10.262 io_uring/io_uring.c:8945, :8964; 6.1.192 io_uring/rsrc.c:1006, :1026: ret = pret < 0 ? pret : -EFAULT), as the module's dax-longterm */longterm/pin_* rows answer",
    }),
    { cases: 'readonly', kernels: '*', answer: { ret: EFAULT }, source: NO_WRITE },
    { cases: 'protnone', kernels: '*', answer: { ret: EFAULT }, source: NO_WRITE },
    { cases: 'secretmem', kernels: '*', answer: { ret: EFAULT }, source: SECRETMEM_GUP },
    { cases: 'guard', kernels: '>=6.13', answer: { ret: EFAULT }, source: `${GUARD_GUP}; io_pin_pages() turns a partial pin into -EFAULT` },
    {
      cases: 'memlock',
      kernels: '*',
      answer: { ret: -12 },
      source:
        'io_buffer_account_pin() -> io_account_mem() -> __io_account_mem(): a caller without CAP_IPC_LOCK (ctx->user set) past RLIMIT_MEMLOCK -> -ENOMEM, charged to the user (user->locked_vm)',
    },
  ],
  'odirect-read': shortTerm(PROBE_BYTES, true, 'bio_iov_iter_get_pages(): get_user_pages_fast (<6.3) / pin_user_pages_fast (>=6.3) with FOLL_WRITE'),
  vmsplice: shortTerm(SMALL_BYTES, false, 'iter_to_pipe(): get_user_pages_fast()'),
  process_vm_readv: shortTerm(SMALL_BYTES, false, 'process_vm_rw_single_vec(): pin_user_pages_remote()'),
  process_vm_writev: shortTerm(SMALL_BYTES, true, 'process_vm_rw_single_vec(): pin_user_pages_remote(FOLL_WRITE)'),
  'proc-mem-read': procMem(false),
  'proc-mem-write': procMem(true),
  'madv-populate-read': populate(false),
  'madv-populate-write': populate(true),
};
