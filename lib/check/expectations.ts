// What each kernel answers, kept as data. Every row names the kernel
// function that decides it, read in mm/gup.c (and mm/memory.c) of Debian's
// 6.1 and 6.12 sources; where a run disagrees with that reading, the run
// is a finding, not a reason to edit the row.
import type { Arch } from '../vm/paths.js';

export interface Expectation {
  /** Case names this row covers; "*" matches any run of characters. */
  cases: string;
  /** Kernel versions: "*", "<6.3", ">=6.5", or "6.1" (that series only). */
  kernels: string;
  arch?: Arch;
  /** The observed answer, as the probe formats it. */
  answer: string;
  /** The deciding kernel function and file. */
  source: string;
  /** A dmesg pattern the kernel WARNs with on this answer (declared expected before the probe runs). */
  warning?: string;
}

/** "6.12.117+deb12-amd64" -> [6, 12]. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

export function kernelMatches(range: string, release: string): boolean {
  if (range === '*') return true;
  const [major, minor] = kernelVersion(release);
  const v = major * 1000 + minor;
  const m = /^(<|>=)?(\d+)\.(\d+)$/.exec(range);
  if (!m) throw new Error(`bad kernel range "${range}"`);
  const r = Number(m[2]) * 1000 + Number(m[3]);
  return m[1] === '<' ? v < r : m[1] === '>=' ? v >= r : v === r;
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(`^${glob.split('*').map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
}

/** The first row of `rows` that covers this case on this kernel and arch. */
export function expectationFor(rows: readonly Expectation[], name: string, release: string, arch: Arch): Expectation | undefined {
  return rows.find((row) => (!row.arch || row.arch === arch) && kernelMatches(row.kernels, release) && globToRegExp(row.cases).test(name));
}

/**
 * The FOLL_LONGTERM gate, common to every probe that pins long-term: who
 * may pass the flag at all. Prefix the probe's own case pattern.
 */
export function longtermGate(prefix: string): Expectation[] {
  const get61 = ['get_user_pages_fast', 'get_user_pages_unlocked', 'get_user_pages', 'get_user_pages_remote'];
  const get = [...get61, 'get_user_pages_fast_only'];
  return [
    ...get61.map((api) => ({
      cases: `${prefix}${api}`,
      kernels: '<6.3',
      answer: '-EINVAL',
      source: '6.1 is_valid_gup_flags(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) for FOLL_GET callers (get_user_pages_fast_only checks nothing)',
    })),
    {
      cases: `${prefix}pin_user_pages_unlocked`,
      kernels: '<6.3',
      answer: '-EINVAL',
      source: '6.1 get_user_pages_unlocked(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) (its DAX check needs the vmas)',
    },
    {
      cases: `${prefix}pin_user_pages_remote`,
      kernels: '<6.3',
      answer: '-EINVAL',
      source: '6.1 __get_user_pages_remote(): FOLL_LONGTERM with a locked pointer is WARN_ON_ONCE(locked)',
    },
    ...get.map((api) => ({
      cases: `${prefix}${api}`,
      kernels: '>=6.3',
      answer: '-EINVAL',
      source: 'is_valid_gup_args(): WARN_ON_ONCE(!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM))',
    })),
  ];
}

// Lives as long as follow_hugetlb_page() (removed in 6.5), hence '<6.5'
// below; 6.6-6.9 were not run here.
const HUGETLB_MOVABLE_61 =
  '6.1 follow_hugetlb_page(): WARN_ON_ONCE(!try_grab_folio()) -> -ENOMEM, because try_grab_folio() refuses FOLL_LONGTERM on a ZONE_MOVABLE page (a check meant for GUP-fast) before __gup_longterm_locked() could migrate it; gone with follow_hugetlb_page() in 6.5, the 6.6+ relapse fixed by "mm: gup: stop abusing try_grab_folio"';

/** Rows per probe id. */
export const EXPECTATIONS: Record<string, Expectation[]> = {
  partial: [
    {
      cases: '*/*_fast_only',
      kernels: '*',
      answer: '8 then 0',
      source: 'gup_fast_fallback() / internal_get_user_pages_fast(): FOLL_FAST_ONLY returns the pages pinned locklessly, never an error',
    },
    {
      cases: 'unmapped/*',
      kernels: '*',
      answer: '8 then -EFAULT',
      source: '__get_user_pages(): no vma at the address -> -EFAULT, returned only when nothing was taken ("i ? i : ret")',
    },
    {
      cases: 'protnone/*',
      kernels: '*',
      answer: '8 then -EFAULT',
      source: 'check_vma_flags(): !(vm_flags & VM_READ) without FOLL_FORCE -> -EFAULT',
    },
  ],
  'force-cow': [
    {
      cases: 'write-readonly/*',
      kernels: '*',
      answer: '-EFAULT',
      source: 'check_vma_flags(): FOLL_WRITE on !VM_WRITE without FOLL_FORCE -> -EFAULT',
    },
    {
      cases: 'force-anon/*',
      kernels: '*',
      answer: '1 same page',
      source: 'can_follow_write_pte(): FOLL_FORCE may write an exclusive anonymous page of a private !VM_WRITE mapping in place',
    },
    {
      cases: 'force-file/*',
      kernels: '*',
      answer: '1 new anon copy, file intact',
      source: 'faultin_page() with FAULT_FLAG_WRITE -> do_wp_page() copies the page cache page (wp_page_copy)',
    },
  ],
  'dax-longterm': [
    { cases: '*/plain/*', kernels: '*', answer: '16', source: 'check_vma_flags() passes; DAX pages are pinned as ZONE_DEVICE pages' },
    ...longtermGate('*/longterm/'),
    {
      cases: '*/longterm/*_fast_only',
      kernels: '<6.3',
      answer: '0',
      source: '6.1 gup_pte_range(): pte_devmap with FOLL_LONGTERM bails out, and fast_only has no slow path',
    },
    {
      cases: '*/longterm/pin_*',
      kernels: '*',
      answer: '-EOPNOTSUPP',
      source: 'check_vma_flags(): (gup_flags & FOLL_LONGTERM) && vma_is_fsdax(vma) -> -EOPNOTSUPP',
    },
  ],
  'longterm-variants': [
    ...longtermGate(''),
    { cases: 'pin_*', kernels: '>=6.3', answer: '16', source: 'is_valid_gup_args(): FOLL_LONGTERM is valid with FOLL_PIN on every entry point' },
  ],
  'writable-longterm-shared': [
    ...longtermGate('*/'),
    ...['pin_user_pages_fast', 'pin_user_pages'].map((api) => ({
      cases: `hugetlb-in-movable/${api}`,
      kernels: '<6.5',
      answer: '-ENOMEM',
      source: HUGETLB_MOVABLE_61,
      warning: 'at mm/hugetlb.c',
    })),
    {
      cases: 'ext4/*',
      kernels: '>=6.5',
      answer: '-EFAULT',
      source: 'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses PIN|LONGTERM|WRITE',
    },
    {
      cases: 'xfs/*',
      kernels: '>=6.5',
      answer: '-EFAULT',
      source: 'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses PIN|LONGTERM|WRITE',
    },
    {
      cases: '*',
      kernels: '*',
      answer: '16',
      source: 'writable_file_mapping_allowed(): shmem and hugetlbfs need no dirty tracking (6.5+); 6.1 check_vma_flags() has no such test',
    },
  ],
  'movable-longterm': [
    { cases: 'no-longterm/*', kernels: '*', answer: '16 stayed', source: 'no FOLL_LONGTERM: __gup_longterm_locked() is not involved, pages stay in ZONE_MOVABLE' },
    ...longtermGate(''),
    {
      cases: 'pin_user_pages_fast_only',
      kernels: '<6.3',
      answer: '0',
      source: '6.1 gup_pte_range(): !folio_is_longterm_pinnable() with FOLL_LONGTERM bails out; fast_only has no slow path to migrate',
    },
    ...['pin_user_pages_fast', 'pin_user_pages'].map((api) => ({
      cases: `hugetlb/${api}`,
      kernels: '<6.5',
      answer: '-ENOMEM',
      source: HUGETLB_MOVABLE_61,
      warning: 'at mm/hugetlb.c',
    })),
    {
      cases: 'hugetlb/*',
      kernels: '>=6.5',
      answer: '16 migrated, data intact',
      source: 'follow_huge_pmd() pins with the slow-path try_grab_folio() (no zone test), then migrate_longterm_unpinnable_folios() -> alloc_migrate_hugetlb_folio() moves it out of ZONE_MOVABLE',
    },
    {
      cases: 'pin_*',
      kernels: '*',
      answer: '16 migrated, data intact',
      source: '__gup_longterm_locked() -> check_and_migrate_movable_pages(): ZONE_MOVABLE folios are not longterm pinnable, migrated and retried',
    },
  ],
  'pin-count': [
    { cases: 'small/pin', kernels: '*', answer: '+1024 refs, restored', source: 'try_grab_folio(): small folio FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) references' },
    { cases: 'small/get', kernels: '*', answer: '+1 refs, restored', source: 'try_grab_folio(): FOLL_GET adds one reference' },
    { cases: 'large/pin', kernels: '*', answer: '+512 refs, pincount 512, restored', source: 'try_grab_folio(): large folio FOLL_PIN adds refs to the refcount and to the folio pincount' },
    { cases: 'large/get', kernels: '*', answer: '+512 refs, pincount 0, restored', source: 'try_grab_folio(): FOLL_GET adds refs only' },
    { cases: 'vmstat', kernels: '*', answer: 'balanced', source: 'NR_FOLL_PIN_ACQUIRED / NR_FOLL_PIN_RELEASED in try_grab_folio() and gup_put_folio()' },
  ],
  'cow-fork': [
    {
      cases: 'pinned',
      kernels: '*',
      answer: 'child got a copy; parent kept the pinned page; pin writes reach the parent',
      source: 'copy_present_pte() -> folio_needs_cow_for_dma()/page_needs_cow_for_dma(): a maybe-DMA-pinned anon page is copied for the child at fork',
    },
    {
      cases: 'got',
      kernels: '*',
      answer: 'shared at fork; parent copied on write; the held page went stale',
      source: 'FOLL_GET does not mark the page maybe-DMA-pinned, so fork shares it and do_wp_page() gives the writer a copy',
    },
  ],
  userfaultfd: [
    {
      cases: 'get_user_pages_unlocked',
      kernels: '*',
      answer: '1 after the handler resolved the fault',
      source: 'get_user_pages_unlocked() passes FAULT_FLAG_ALLOW_RETRY (locked = 1), so handle_userfault() waits for UFFDIO_COPY',
    },
    {
      cases: 'get_user_pages',
      kernels: '*',
      answer: '-EFAULT',
      source: 'handle_userfault(): no FAULT_FLAG_ALLOW_RETRY (locked GUP without a locked pointer) -> VM_FAULT_SIGBUS -> -EFAULT',
    },
  ],
  'fast-only': [
    { cases: 'unfaulted/*', kernels: '*', answer: '0, nothing faulted', source: 'gup_fast_pte_range(): pte_none stops the walk; FOLL_FAST_ONLY never falls back to faultin_page()' },
    { cases: 'present/*', kernels: '*', answer: '16', source: 'gup_fast_pte_range(): present, accessible ptes are taken locklessly' },
  ],
  secretmem: [
    { cases: '*_fast_only', kernels: '*', answer: '0', source: 'gup_fast_folio_allowed() / gup_pte_range(): secretmem folios are refused locklessly; no slow path' },
    { cases: '*', kernels: '*', answer: '-EFAULT', source: 'check_vma_flags(): vma_is_secretmem(vma) -> -EFAULT' },
  ],
  huge: [
    { cases: '*', kernels: '*', answer: '512 pages of order 9', source: 'follow_hugetlb_page() / gup_fast_pmd_leaf() take every subpage of the 2 MiB folio' },
  ],
};
