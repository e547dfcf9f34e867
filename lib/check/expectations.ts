// What each kernel answers, kept as data. Every row names the kernel
// function that decides it, read in mm/gup.c (and mm/memory.c, mm/hugetlb.c)
// of the version range it covers; where a run disagrees with that reading,
// the run is a finding, not a reason to edit the row. Ranges for lines no
// run here boots (6.2-6.11, 6.13-6.15) are read from source only.
import { ENV } from '../contract.js';
import type { Arch } from '../vm/paths.js';
import type { Answer } from './report.js';

export interface Expectation {
  /** Case names this row covers; "*" matches any run of characters. */
  cases: string;
  /**
   * Kernel versions (major.minor): "*", "<6.3", ">=6.5", "6.1" (that series
   * only), or "[6.6,6.10)" (6.6 up to, not including, 6.10).
   */
  kernels: string;
  arch?: Arch;
  /** The answer, as data. */
  answer: Answer;
  /** The deciding kernel function and file. */
  source: string;
  /** Set when how guplab calls the API decides the answer (not the kernel's version): why. */
  caller?: string;
  /** A dmesg pattern the kernel WARNs with on this answer (declared expected before the probe runs). */
  warning?: string;
  /**
   * The commits (keys of COMMITS) that draw this row's version bounds: the
   * mainline change, and the stable releases that took it where a bound
   * names one.
   */
  commits?: readonly string[];
  /** Other answers this row accepts: a race the kernel leaves open (the source says which). */
  alternatives?: readonly Answer[];
}

/** A kernel change a row's bound rests on: mainline commit, subject, and the stable releases that took it. */
export interface Commit {
  /** 12 hex digits of the mainline commit. */
  id: string;
  subject: string;
  /** The mainline release that first has it ("6.10"). */
  mainline: string;
  /** Per stable series, the first release that took it ("6.6.47"), with the stable commit where read. */
  stable?: readonly { release: string; id?: string }[];
  /** Where it was read: release, file:line, function. */
  read: string;
}

/**
 * The changes the version bounds rest on, each read in the source of the
 * release it names (trees of 5.12.9, 5.15.100, 6.0.19, 6.1-rc7, 6.2.12 and
 * Debian's 6.1.192 / 6.12.118), or in the stable tree's push and review
 * mails where no tree of that release was at hand (said so in `read`).
 */
export const COMMITS: Record<string, Commit> = {
  // The next two ids come from akpm's mm-stable branch logs (kept as-is in mainline), beside commits
  // confirmed mainline by later Fixes: tags; no "commit ... upstream" line was found for them.
  '052ccfbcc6cd': {
    id: '052ccfbcc6cd',
    subject: 'mm/hugetlb: support FOLL_FORCE|FOLL_WRITE',
    mainline: '6.14',
    read: '6.12.118 mm/gup.c:1300-1302 check_vma_flags(): "hugetlb does not support FOLL_FORCE|FOLL_WRITE" -> -EFAULT; gone from 7.3.4 mm/gup.c check_vma_flags()',
  },
  '66802526298e': {
    id: '66802526298e',
    subject: 'mm/madvise: add MF_ACTION_REQUIRED to madvise(MADV_HWPOISON)',
    mainline: '6.11',
    read: '6.12.118 mm/madvise.c:1183 and 7.3.4 mm/madvise.c:1491 madvise_inject_error(): memory_failure(pfn, MF_ACTION_REQUIRED | MF_COUNT_INCREASED | MF_SW_SIMULATED); 6.1.192 mm/madvise.c passes no MF_ACTION_REQUIRED',
  },
  '54d516b1d62f': {
    id: '54d516b1d62f',
    subject: 'mm/gup: small refactoring: simplify try_grab_page()',
    mainline: '5.15',
    read: '5.15.16 mm/gup.c:209-215 try_grab_page() -> try_grab_compound_head(page, 1, flags), whose :138-140 returns NULL for FOLL_LONGTERM on !is_pinnable_page() (include/linux/mm.h:1564: ZONE_MOVABLE or MIGRATE_CMA); :547-549 follow_page_pte() and mm/huge_memory.c:1377 follow_trans_huge_pmd() -> -ENOMEM; :1799 __gup_longterm_locked() breaks out before check_and_migrate_movable_pages() (a third-party copy of 5.15.16 whose Makefile says 5.15.16); 5.10.262 mm/gup.c:197 still has the open-coded try_grab_page(); mainline 5.15 from the 5.15 merge window push of 2021-09-04; 5.16.0-5.16.5 carry the same hunks as the 5.16.6 revert patch shows (no 5.16.y tree read)',
  },
  c36c04c2e132: {
    id: 'c36c04c2e132',
    subject: 'Revert "mm/gup: small refactoring: simplify try_grab_page()"',
    mainline: '5.17',
    stable: [
      { release: '5.15.20', id: '9341457fdd0d' },
      { release: '5.16.6', id: 'b78021539762' },
    ],
    read: 'mainline push of 2022-02-03 (5.17-rc3), "Fixes: 54d516b1d62f", Cc stable # 5.15; "[PATCH 5.16 07/43]" review ("commit c36c04c2e132 upstream") and the Linux 5.16.6 announcement; stable ids from the stable push of 2022-02-06 (before "Linux 5.15.20" and "Linux 5.16.6"); no 5.15.20 or 5.16.6 tree read',
  },
  '1aaf8c122918': {
    id: '1aaf8c122918',
    subject: 'mm: gup: fix infinite loop within __get_longterm_locked',
    mainline: '6.14',
    stable: [{ release: '6.1.129', id: 'c986a5fb15ed' }],
    read: '6.1.141 mm/gup.c:1964-2004 collect_longterm_unpinnable_pages() skips a folio folio_isolate_lru() cannot take, :2099 check_and_migrate_movable_pages(): list_empty() -> 0, the pins kept in place (a copy of 6.1.141 whose Makefile says so); mainline by mm-hotfixes-stable-2025-02-01 (6.14-rc1); 6.1.129: "[PATCH 6.1 563/578]" of the 6.1.129-rc1 review and c986a5fb15ed before "Linux 6.1.129" in a 6.1.y push',
  },
  '517f496e1e61': {
    id: '517f496e1e61',
    subject: 'mm/gup: revert "mm: gup: fix infinite loop within __get_longterm_locked"',
    mainline: '6.16',
    stable: [{ release: '6.1.155', id: 'c22fcd236c36' }],
    read: 'Debian 6.1.192 mm/gup.c:1983 collected++ for every unpinnable folio, :2113 "if (!collected) return 0", else migrate and -EAGAIN (with the drain rework at :1993-2004, also in 6.1.155); mainline by mm-hotfixes-stable-2025-06-22 (6.16-rc4); 6.1.155: its 6.1.155-rc1 push and c22fcd236c36 before "Linux 6.1.155" in a 6.1.y push; 6.12 took it in 6.12.36 ("[PATCH 6.12 140/218]"), where its window starts is not pinned',
  },
  '0fa5bc4023c1': {
    id: '0fa5bc4023c1',
    subject: 'mm/hugetlb: grab head page refcount once for a group of subpages',
    mainline: '5.12',
    read: '5.12.9 mm/hugetlb.c:4980 follow_hugetlb_page(): WARN_ON_ONCE(!try_grab_compound_head()) -> -ENOMEM; mm/gup.c:92 try_grab_compound_head() returns NULL for FOLL_PIN|FOLL_LONGTERM on is_migrate_cma_page()',
  },
  d1e153fea2a8: {
    id: 'd1e153fea2a8',
    subject: 'mm/gup: migrate pinned pages out of movable zone',
    mainline: '5.13',
    read: '5.15.100 mm/gup.c:138 try_grab_compound_head(): FOLL_LONGTERM on !is_pinnable_page() (include/linux/mm.h:1573: ZONE_MOVABLE or CMA) -> NULL; mm/gup.c:1892 check_and_migrate_movable_pages() migrates !is_pinnable_page() heads; mm/hugetlb.c:5606 the WARN; 5.12.9 mm/gup.c:1574 migrates is_migrate_cma_page() only',
  },
  '5535be309971': {
    id: '5535be309971',
    subject: 'mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW',
    mainline: '6.0',
    stable: [{ release: '5.19.6' }],
    read: '6.0.19 mm/gup.c:510 can_follow_write_pte(): !PageAnonExclusive() refuses; 5.15.100 mm/gup.c:495 still FOLL_COW && pte_dirty()',
  },
  '1d8d14641fd9': {
    id: '1d8d14641fd9',
    subject: 'mm/hugetlb: support write-faults in shared mappings',
    mainline: '6.0',
    stable: [{ release: '5.19.6' }],
    read: '6.0.19 mm/hugetlb.c:5257 and 6.1-rc7 mm/hugetlb.c:5315 hugetlb_wp(): WARN_ON_ONCE(!unshare && !(vma->vm_flags & VM_WRITE)) -> VM_FAULT_SIGSEGV, which follow_hugetlb_page() turns into -EFAULT (vm_fault_to_errno()); 5.15.100 mm/hugetlb.c has no such test; 5.19.6: "[PATCH 5.19 010/158]" of its stable review (2022-08-29)',
  },
  f347454d0341: {
    id: 'f347454d0341',
    subject: 'mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings',
    mainline: '6.2',
    stable: [{ release: '6.0.16' }, { release: '6.1.2' }],
    read: '6.2.12 and 6.0.19 mm/gup.c check_vma_flags(): "hugetlb does not support FOLL_FORCE|FOLL_WRITE" -> -EFAULT; absent from 6.1-rc7 mm/gup.c; 6.1.2: the 6.1.2-rc1 review shortlog (2022-12-28)',
  },
  f442fa614137: {
    id: 'f442fa614137',
    subject: 'mm: gup: stop abusing try_grab_folio',
    mainline: '6.10',
    stable: [{ release: '6.6.47', id: '26273f5f4cf6' }],
    read: 'mainline 6.10 (its merge revlist); 6.6.47: 26273f5f4cf6 in the linux-6.6.y push that ends at "Linux 6.6.47" (2024-08-19), the fix of CVE-2024-44943 whose splat is a FOLL_LONGTERM pin of a CMA THP through pin_user_pages_fast; no 6.6.47 tree was read',
  },
  dd0f230a0a80: {
    id: 'dd0f230a0a80',
    subject: 'mm: hwpoison: refactor refcount check handling',
    mainline: '5.16',
    stable: [{ release: '5.15.80' }],
    read: "5.15.100 mm/memory-failure.c:871 me_pagecache_clean(): PageAnon -> MF_RECOVERED before has_extra_refcount(); mm/memory-failure.c:1154 page_action() counts no references; 5.12.9 mm/memory-failure.c:926 page_action() still does; 5.15.80: queue/5.15 of 2022-11-22, and absent from 5.15.81's diffstat (no mm/memory-failure.c)",
  },
  '65291dcfcf89': {
    id: '65291dcfcf89',
    subject: 'mm/secretmem: fix GUP-fast succeeding on secretmem folios',
    mainline: '6.9',
    stable: [{ release: '5.15.154' }, { release: '6.1.85' }],
    read: 'include/linux/secretmem.h:20 page_is_secretmem(): "if (PageCompound(page) || !PageLRU(page)) return false" in 5.15.100, 6.1-rc7 and 6.2.12, so a fresh secretmem folio still in the per-CPU LRU batch passes gup_pte_range() (5.15.100 mm/gup.c:2356); 6.1.85: "[PATCH 6.1 137/138]" and the 6.1.85 release diffstat (include/linux/secretmem.h); 5.15.154 as the issue reads it (not read here); 6.6.y and 6.8.y stable takers not read',
  },
  '09854ba94c6a': {
    id: '09854ba94c6a',
    subject: 'mm: do_wp_page() simplification',
    mainline: '5.9',
    read: '5.15.100 mm/memory.c:3299 do_wp_page(): an anonymous page is reused only when "page_count(page) != 1" is false, else wp_page_copy(); 5.9 as its mainline release (cited so in the 4.19 backport thread of 2021-03; no 5.9 tree was read)',
  },
  feb889fb40fa: {
    id: 'feb889fb40fa',
    subject: "mm: don't put pinned pages into the swap cache",
    mainline: '5.11',
    stable: [{ release: '5.10.9', id: '72c5ce89427f' }],
    read: '5.15.100 mm/vmscan.c:1550 shrink_page_list(): "if (page_maybe_dma_pinned(page)) goto keep_locked;" before add_to_swap(); the same test in 6.0.19 mm/vmscan.c:1775, 6.1.192 mm/vmscan.c:1829, 6.12.118 mm/vmscan.c:1254 and 7.3.4 mm/vmscan.c:1263 (shrink_folio_list(), folio_maybe_dma_pinned()); mainline 5.11-rc4 (its merge revlist of 2021-01-18); 5.10.9: 72c5ce89427f in the linux-5.10.y push that ends at "Linux 5.10.9" (2021-01-20); no 5.10 tree was read',
  },
  a7f226604170: {
    id: 'a7f226604170',
    subject: 'mm/gup: trigger FAULT_FLAG_UNSHARE when R/O-pinning a possibly shared anonymous page',
    mainline: '5.19',
    read: '6.0.19 mm/gup.c:611 follow_page_pte(): "!pte_write(pte) && gup_must_unshare(flags, page)" -> -EMLINK -> FAULT_FLAG_UNSHARE (include/linux/mm.h:3006 gup_must_unshare(): !PageAnonExclusive()); 5.15.100 mm/gup.c has no gup_must_unshare() and no FAULT_FLAG_UNSHARE; 5.19 as its series (6c287605fd56) is: both in sj/linux damon/next of 2022-05-10, ahead of the 5.19 merge window (no 5.19 tree was read)',
  },
  fa6c02315f74: {
    id: 'fa6c02315f74',
    subject: 'mm: huge_memory: a new debugfs interface for splitting THP tests',
    mainline: '5.13',
    read: '5.15.100 mm/huge_memory.c:2924 split_huge_pages_pid() behind split_huge_pages_write() (:3075, "<pid>,<vaddr_start>,<vaddr_end>"); 5.12.9 mm/huge_memory.c:2927 split_huge_pages_set() takes only a value (all THPs); mainline by tip/tip master of 2021-05-06 (the 5.13 merge window)',
  },
  '53b2d09bdd12': {
    id: '53b2d09bdd12',
    subject: 'mm/gup: remove the restriction on locked with FOLL_LONGTERM',
    mainline: '6.2',
    read: '6.1-rc7 mm/gup.c:2339 get_user_pages_unlocked(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) -> -EINVAL, and :2175 __get_user_pages_remote(): FOLL_LONGTERM with a locked pointer is WARN_ON_ONCE(locked) -> -EINVAL; 6.2.12 mm/gup.c:2242 get_user_pages_unlocked() calls __gup_longterm_locked() (:2042, WARN_ON(!(gup_flags & FOLL_PIN)) at :2069) with no check of its own, get_user_pages_remote() likewise; mainline 6.2-rc1: akpm\'s "[GIT PULL] MM updates for 6.2-rc1" (2022-12-13) and the axboe/linux-block master revlist of 2022-12-14 ending at e2ca6ba6ba01 "Merge tag \'mm-stable-2022-12-13\'"',
  },
  '84209e87c696': {
    id: '84209e87c696',
    subject: 'mm/gup: reliable R/O long-term pinning in COW mappings',
    mainline: '6.2',
    read: '6.1-rc7 include/linux/mm.h:3046 gup_must_unshare(flags, page): "if (!PageAnon(page)) return false"; 6.2.12 include/linux/mm.h:3186 gup_must_unshare(vma, flags, page): a non-anon page under FOLL_LONGTERM unshares when is_cow_mapping(vma->vm_flags); Debian 6.1.192 include/linux/mm.h:3189 still has the 6.1 form (no stable taker there); mainline 6.2-rc1: the same pull and revlist as 53b2d09bdd12',
  },
  d64e2dbc33a1: {
    id: 'd64e2dbc33a1',
    subject: 'mm/gup: simplify the external interface functions and consolidate invariants',
    mainline: '6.3',
    read: '6.2.12 mm/gup.c:2096 is_valid_gup_flags(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM), called by get_user_pages_remote() (:2181), get_user_pages() (:2219) and get_user_pages_fast() (:3017), not by get_user_pages_unlocked() or get_user_pages_fast_only(); 6.3.8 mm/gup.c:2103 is_valid_gup_args(): "LONGTERM can only be specified when pinning", WARN_ON_ONCE(!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM)), called by every get_* entry point (get_user_pages_unlocked() :2296, get_user_pages_fast_only() :3026); mainline by the axboe/linux-block master revlist of 2023-02-24 (the 6.3 merge window)',
  },
  edad1bb1fbf7: {
    id: 'edad1bb1fbf7',
    subject: 'mm/gup: remove pin_user_pages_fast_only()',
    mainline: '6.3',
    read: '6.2.12 mm/gup.c:3068 pin_user_pages_fast_only() (EXPORT_SYMBOL_GPL); 6.3.8 mm/gup.c has none (kmod/compat.h GUPLAB_HAVE_PIN_FAST_ONLY); mainline: the same 2023-02-24 revlist as d64e2dbc33a1',
  },
  '9198a9196ee6': {
    id: '9198a9196ee6',
    subject: 'mm/gup: make get_user_pages_fast_only() return the common return value',
    mainline: '6.3',
    read: '6.2.12 mm/gup.c:2969 get_user_pages_fast_only(): "if (nr_pinned < 0) nr_pinned = 0"; 6.3.8 mm/gup.c:3016 returns internal_get_user_pages_fast() as is; mainline: the same 2023-02-24 revlist as d64e2dbc33a1',
  },
  '8ac268436e6d': {
    id: '8ac268436e6d',
    subject: 'mm/gup: disallow FOLL_LONGTERM GUP-nonfast writing to file-backed mappings',
    mainline: '6.5',
    read: '6.5.0 mm/gup.c:1019 writable_file_mapping_allowed(), asked by check_vma_flags() (:1058) for FOLL_WRITE|FOLL_LONGTERM|FOLL_PIN; absent from 6.4.6 mm/gup.c and Debian 6.1.192 mm/gup.c; mainline: in akpm/mm mm-stable of 2023-06-10 (tip a6e79df92e4a, the 6.5 merge window)',
  },
  a6e79df92e4a: {
    id: 'a6e79df92e4a',
    subject: 'mm/gup: disallow FOLL_LONGTERM GUP-fast writing to file-backed mappings',
    mainline: '6.5',
    read: '6.5.0 mm/gup.c:2454 folio_fast_pin_allowed(), refusing in gup_pte_range() (:2608) and the huge leaf walkers; absent from 6.4.6 mm/gup.c; mainline: the tip of akpm/mm mm-stable on 2023-06-10 (post-receive mail; linux-next merged mm-stable at a6e79df92e4a after 6.4-rc1)',
  },
  c8070b787519: {
    id: 'c8070b787519',
    subject: "mm: Don't pin ZERO_PAGE in pin_user_pages()",
    mainline: '6.5',
    stable: [{ release: '6.1.130', id: '476c1dfefab8' }],
    read: '6.5.0 mm/gup.c:145 try_grab_folio() and :242 try_grab_page(): is_zero_page() takes no pin; absent from 6.4.6 mm/gup.c; Debian 6.1.192 mm/gup.c:234 try_grab_page(): "if (is_zero_page(page)) return true"; mainline 6.5: axboe for-6.5/block push; 6.1.130: the stable regression report (Debian #1102914) naming "backport of c8070b787519 ... from 6.5-rc1 which got backported as 476c1dfefab8 ... in 6.1.130", and 476c1dfefab8 in linux-cip linux-6.1.y-cip of 2025-03-22; its bool fix "mm: Fix is_zero_page() usage in try_grab_page()" is a stable-only patch (no mainline commit)',
  },
  '4849807114b8': {
    id: '4849807114b8',
    subject: 'mm/gup: retire follow_hugetlb_page()',
    mainline: '6.6',
    read: '6.5.0 mm/gup.c:1234 __get_user_pages() calls follow_hugetlb_page() for hugetlb vmas; 6.9.0 mm/gup.c has none (follow_page_mask() -> hugetlb_follow_page_mask(), :826); mainline by groeck/linux-staging master of 2023-08-30 (the 6.6 merge window)',
  },
  f8d937761d65: {
    id: 'f8d937761d65',
    subject: 'mm/memory: optimize fork() with PTE-mapped THP',
    mainline: '6.9',
    read: '6.9.0 mm/memory.c:964 copy_present_ptes() -> folio_try_dup_anon_rmap_ptes() (:995); 6.5.0 mm/memory.c:944 copy_present_pte() -> page_try_dup_anon_rmap(); its v3 is of 2024-01-29, after the 6.8 merge window (no 6.8 tree was read)',
  },
  '9cb28da54643': {
    id: '9cb28da54643',
    subject: 'mm/gup: handle hugetlb in the generic follow_page_mask code',
    mainline: '6.10',
    read: '6.9.0 mm/gup.c:826 follow_page_mask() hands hugetlb vmas to hugetlb_follow_page_mask(); 6.12.118 mm/gup.c and mm/hugetlb.c have no hugetlb_follow_page_mask() (follow_huge_pmd()); in akpm/mm of 2024-04-26, for the 6.10 merge window (no 6.10 tree was read)',
  },
  '662df3e5c376': {
    id: '662df3e5c376',
    subject: 'mm: madvise: implement lightweight guard page mechanism',
    mainline: '6.13',
    read: '7.3.4 mm/madvise.c:1287 MADV_GUARD_INSTALL, mm/memory.c:4737 PTE_MARKER_GUARD; Debian 6.12.118 mm/ has neither; mainline by groeck/linux-staging testing of 2024-11-25 (the 6.13 merge window)',
  },
  '6c287605fd56': {
    id: '6c287605fd56',
    subject: 'mm: remember exclusively mapped anonymous pages with PG_anon_exclusive',
    mainline: '5.19',
    read: '6.0.19 mm/memory.c:3419 do_wp_page(): "if (PageAnonExclusive(page)) goto reuse"; 6.1.192 mm/memory.c:3461; 6.12.118 mm/memory.c:3734 and 7.3.4 mm/memory.c:4452 (PageAnonExclusive() || wp_can_reuse_anon_folio()); 5.15.100 mm/memory.c:3299 still copies at page_count() != 1; 5.19 as its mainline release (no 5.19 tree was read)',
  },
  '1493a1913e34': {
    id: '1493a1913e34',
    subject: 'mm/swap: remember PG_anon_exclusive via a swp pte bit',
    mainline: '5.19',
    read: '6.0.19 mm/memory.c:3904 do_swap_page(): "exclusive = pte_swp_exclusive(vmf->orig_pte)" then RMAP_EXCLUSIVE, with __HAVE_ARCH_PTE_SWP_EXCLUSIVE in arch/x86 and arch/arm64 asm/pgtable.h (6.0.19); 6.1.192 mm/memory.c:3995, 6.12.118 mm/memory.c:4492, 7.3.4 mm/memory.c:5122; 5.15.100 mm/memory.c:3650 maps R/O unless reuse_swap_page() on a write fault; 5.19 as its mainline release (no 5.19 tree was read)',
  },
};

/** "6.12.117+deb12-amd64" -> [6, 12]. */
export function kernelVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

/** "6.1.192" -> comparable number; a missing sublevel counts as 0 ("6.1.0-57-amd64" is 6.1.0). */
function versionCode(version: string): number {
  const m = /^(\d+)\.(\d+)(?:\.(\d+))?/.exec(version);
  if (!m) return 0;
  return Number(m[1]) * 1_000_000 + Number(m[2]) * 1000 + Math.min(Number(m[3] ?? 0), 999);
}

const V = String.raw`\d+\.\d+(?:\.\d+)?`;

/**
 * Whether a kernel version ("6.1.192", or a release "6.12.117+deb12-amd64")
 * lies in `range`: "*", "<6.3", ">=6.5", "6.1" (that series), or a closed
 * range "[6.6,6.10)". Bounds may name a stable sublevel ("[6.1.130,6.2)")
 * for a change backported into a stable series; pass the real sublevel
 * (kernelFullVersion(): Debian's release strings say 6.1.0).
 */
export function kernelMatches(range: string, version: string): boolean {
  if (range === '*') return true;
  const v = versionCode(version);
  const closed = new RegExp(String.raw`^\[(${V}),\s*(${V})\)$`).exec(range);
  if (closed) {
    const from = versionCode(closed[1]!);
    const to = versionCode(closed[2]!);
    if (!(from < to)) throw new Error(`bad kernel range "${range}": empty`);
    return v >= from && v < to;
  }
  const m = new RegExp(`^(<|>=)?(${V})$`).exec(range);
  if (!m) throw new Error(`bad kernel range "${range}"`);
  const r = versionCode(m[2]!);
  if (m[1] === '<') return v < r;
  if (m[1] === '>=') return v >= r;
  return Math.floor(v / 1000) === Math.floor(r / 1000);
}

/**
 * The running kernel's version with its real sublevel: Debian's release
 * "6.1.0-57-amd64" is "Debian 6.1.192-3" in /proc/version (the last
 * "Debian x.y.z": the compiler's version comes first). Otherwise the
 * release itself.
 */
export function kernelFullVersion(release: string, procVersion = ''): string {
  const debian = [...procVersion.matchAll(/Debian (\d+\.\d+\.\d+)[-~+]/g)].at(-1)?.[1];
  if (debian && kernelVersion(debian).join('.') === kernelVersion(release).join('.')) return debian;
  return /^\d+\.\d+(\.\d+)?/.exec(release)?.[0] ?? release;
}

/**
 * The running kernel's upstream version: in a guplab guest the one the host
 * read from the kernel's build tree (ENV.upstream, lib/kernels/upstream.ts),
 * elsewhere kernelFullVersion() of the release and /proc/version.
 */
export function runningVersion(release: string, procVersion: string, env: NodeJS.ProcessEnv = process.env): string {
  const booted = env[ENV.upstream];
  if (booted && env[ENV.release] === release) return booted;
  return kernelFullVersion(release, procVersion);
}

function globToRegExp(glob: string): RegExp {
  return new RegExp(
    `^${glob
      .split('*')
      .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')}$`,
  );
}

/** The first row of `rows` that covers this case on this kernel and arch. */
export function expectationFor(rows: readonly Expectation[], name: string, release: string, arch: Arch): Expectation | undefined {
  return rows.find((row) => (!row.arch || row.arch === arch) && kernelMatches(row.kernels, release) && globToRegExp(row.cases).test(name));
}

// errno values are the same on x86_64 and arm64 (asm-generic/errno*.h).
const EFAULT = -14;
const ENOMEM = -12;
const EINVAL = -22;
const EOPNOTSUPP = -95;

const LOCKED_POINTER =
  'guplab passes a locked pointer (int *locked), as get_user_pages_remote() callers that may drop mmap_lock do; a 6.1 caller passing NULL goes to __gup_longterm_locked() and pins';

/**
 * The FOLL_LONGTERM gate, common to every probe that pins long-term: who
 * may pass the flag at all. Prefix the probe's own case pattern. On 6.2
 * get_user_pages_unlocked loses its own WARN ("mm/gup: remove the
 * restriction on locked with FOLL_LONGTERM") but goes to
 * __gup_longterm_locked(), whose WARN_ON(!(gup_flags & FOLL_PIN)) refuses
 * FOLL_GET|FOLL_LONGTERM just the same (6.2.12 mm/gup.c:2069), until
 * is_valid_gup_args() takes over in 6.3 (read, not run).
 */
export function longtermGate(prefix: string): Expectation[] {
  const getValidated = ['get_user_pages_fast', 'get_user_pages', 'get_user_pages_remote'];
  const get = [...getValidated, 'get_user_pages_unlocked', 'get_user_pages_fast_only'];
  return [
    ...getValidated.map((api) => ({
      cases: `${prefix}${api}`,
      kernels: '<6.3',
      answer: { ret: EINVAL },
      source: 'is_valid_gup_flags(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) for FOLL_GET callers (6.1; replaced by is_valid_gup_args() in 6.3)',
      commits: ['d64e2dbc33a1'],
    })),
    {
      cases: `${prefix}get_user_pages_unlocked`,
      kernels: '<6.2',
      answer: { ret: EINVAL },
      source:
        'get_user_pages_unlocked(): its own WARN_ON_ONCE(gup_flags & FOLL_LONGTERM) (the FS DAX check needed the vmas); it never calls is_valid_gup_flags()',
      commits: ['53b2d09bdd12'],
    },
    {
      cases: `${prefix}get_user_pages_unlocked`,
      kernels: '[6.2,6.3)',
      answer: { ret: EINVAL },
      source:
        'get_user_pages_unlocked() -> __gup_longterm_locked(): WARN_ON(!(gup_flags & FOLL_PIN)) -> -EINVAL, a WARN on every call (6.2.12 mm/gup.c:2069; the call at mm/gup.c:2242): "mm/gup: remove the restriction on locked with FOLL_LONGTERM" (6.2) dropped only get_user_pages_unlocked()\'s own WARN (read, not run)',
      warning: 'at mm/gup.c',
      commits: ['53b2d09bdd12', 'd64e2dbc33a1'],
    },
    {
      cases: `${prefix}pin_user_pages_unlocked`,
      kernels: '<6.2',
      answer: { ret: EINVAL },
      source:
        'pin_user_pages_unlocked() -> get_user_pages_unlocked(): WARN_ON_ONCE(gup_flags & FOLL_LONGTERM), until "mm/gup: remove the restriction on locked with FOLL_LONGTERM" (6.2)',
      commits: ['53b2d09bdd12'],
    },
    {
      cases: `${prefix}pin_user_pages_remote`,
      kernels: '<6.2',
      answer: { ret: EINVAL },
      source:
        '__get_user_pages_remote(): FOLL_LONGTERM with a locked pointer is WARN_ON_ONCE(locked) -> -EINVAL, until "mm/gup: remove the restriction on locked with FOLL_LONGTERM" (6.2)',
      caller: LOCKED_POINTER,
      commits: ['53b2d09bdd12'],
    },
    ...get.map((api) => ({
      cases: `${prefix}${api}`,
      kernels: '>=6.3',
      answer: { ret: EINVAL },
      source: 'is_valid_gup_args(): WARN_ON_ONCE(!(gup_flags & FOLL_PIN) && (gup_flags & FOLL_LONGTERM))',
      commits: ['d64e2dbc33a1'],
    })),
  ];
}

/**
 * hugetlb in ZONE_MOVABLE (or CMA) pinned FOLL_LONGTERM (16 of its 512
 * pages). From `from` (5.13 for ZONE_MOVABLE, d1e153fea2a8; 5.12 for CMA,
 * 0fa5bc4023c1) to 6.5 every pin reaching the slow path (pin_user_pages_fast
 * falls back to it, and from 6.2 the unlocked and remote pins reach
 * __gup_longterm_locked too) ends in follow_hugetlb_page(), whose grab
 * refuses the page; 6.6-6.9 hand the rest of the folio to the GUP-fast
 * try_grab_folio(); f442fa614137 fixed it in 6.10 and in 6.6.47.
 */
function hugetlbMovable(prefix: string, migrated: Answer, o: { where: string; from: string; commit: string }): Expectation[] {
  const enomem = {
    answer: { ret: ENOMEM },
    source: `follow_hugetlb_page(): WARN_ON_ONCE(!try_grab_compound_head()) (5.12-5.17; try_grab_folio() from 5.18) -> -ENOMEM, because that grab refuses FOLL_LONGTERM on ${o.where} (a test meant for GUP-fast) before __gup_longterm_locked() could migrate it (5.12.9 mm/hugetlb.c:4980, 5.15.100 mm/hugetlb.c:5606, 6.1-rc7 mm/hugetlb.c:6373, 6.2.12 mm/hugetlb.c:6614); follow_hugetlb_page() lived until 6.6 (4849807114b8 "mm/gup: retire follow_hugetlb_page()")`,
    warning: 'at mm/hugetlb.c',
    commits: [o.commit],
  };
  const efault = {
    answer: { ret: EFAULT },
    source: `__get_user_pages(): hugetlb_follow_page_mask() takes the first page, then page_increm > 1 hands the rest to the GUP-fast try_grab_folio(), which refuses FOLL_LONGTERM on an unpinnable folio (${o.where}): WARN_ON_ONCE -> -EFAULT, until f442fa614137 "mm: gup: stop abusing try_grab_folio" (6.10; 6.6.47 as 26273f5f4cf6) (read, not run)`,
    warning: 'at mm/gup.c',
    commits: ['f442fa614137'],
  };
  return [
    { cases: `${prefix}pin_user_pages_fast`, kernels: `[${o.from},6.6)`, ...enomem },
    { cases: `${prefix}pin_user_pages`, kernels: `[${o.from},6.6)`, ...enomem },
    // <6.2 these two are refused by the gate before any page is touched.
    { cases: `${prefix}pin_user_pages_unlocked`, kernels: '[6.2,6.6)', ...enomem },
    { cases: `${prefix}pin_user_pages_remote`, kernels: '[6.2,6.6)', ...enomem },
    { cases: `${prefix}*`, kernels: '[6.6,6.6.47)', ...efault },
    { cases: `${prefix}*`, kernels: '[6.7,6.10)', ...efault },
    {
      cases: `${prefix}*`,
      kernels: '[6.6.47,6.7)',
      answer: migrated,
      source:
        'f442fa614137 "mm: gup: stop abusing try_grab_folio" taken by 6.6.47 (26273f5f4cf6): the slow path grabs with a try_grab_folio() that has no FOLL_LONGTERM zone test (the GUP-fast one became try_grab_folio_fast()), so the pin lands and check_and_migrate_movable_pages() -> migrate_longterm_unpinnable_pages() (the 6.6 name) migrates it as on 6.10 (read in the backport\'s push, not in a 6.6.47 tree)',
      commits: ['f442fa614137'],
    },
    {
      cases: `${prefix}*`,
      kernels: '>=6.10',
      answer: migrated,
      source:
        'follow_huge_pmd() pins with the slow-path try_grab_folio() (no zone test since f442fa614137), then migrate_longterm_unpinnable_pages() (6.10; migrate_longterm_unpinnable_folios() from 6.11) -> alloc_migration_target() -> alloc_hugetlb_folio_nodemask(), which takes a free pool page outside ZONE_MOVABLE first (dequeue_hugetlb_folio_node_exact() skips !folio_is_longterm_pinnable() pages under PF_MEMALLOC_PIN, so CMA ones too; alloc_migrate_hugetlb_folio() only when none is free)',
      commits: ['f442fa614137'],
    },
  ];
}

/**
 * memfd_secret (5.14+) pages pinned right after populate. page_is_secretmem()
 * returned false for any folio without PG_lru, and a fresh folio sits in the
 * per-CPU LRU batch without it until the batch drains, so GUP-fast takes
 * the 4 pages (a page off the direct map, pinned); once the batch drained,
 * GUP-fast refuses them and the slow path's check_vma_flags() says -EFAULT.
 * The probe's fresh/ cases read PG_lru from /proc/kpageflags and take only
 * folios off the LRU (skipped without root); the refusal stays accepted in
 * the window, since another CPU's lru_add_drain_all() may drain the batch
 * between that read and the call. Its drained/ cases are refused on every
 * kernel. Fixed by 65291dcfcf89 (6.9; 6.1.85, 5.15.154).
 */
function secretmemFreshFolio(): Expectation[] {
  const windows = ['[5.14,5.15.154)', '[5.16,6.1.85)', '[6.2,6.9)'];
  const why =
    'page_is_secretmem(): "if (PageCompound(page) || !PageLRU(page)) return false" (include/linux/secretmem.h:20 in 5.15.100, 6.1-rc7, 6.2.12): a fresh secretmem folio still in the per-CPU LRU batch has no PG_lru, so gup_pte_range() (5.15.100 mm/gup.c:2356) takes it: 4 pages; after the batch drained, refused as on a fixed kernel. Until 65291dcfcf89 "mm/secretmem: fix GUP-fast succeeding on secretmem folios" (6.9; 6.1.85, 5.15.154) (read, not run)';
  return windows.flatMap((kernels) => [
    { cases: 'fresh/*_fast_only', kernels, answer: { ret: 4 }, alternatives: [{ ret: 0 }], source: why, commits: ['65291dcfcf89'] },
    { cases: 'fresh/*_fast', kernels, answer: { ret: 4 }, alternatives: [{ ret: EFAULT }], source: why, commits: ['65291dcfcf89'] },
  ]);
}

const MOVABLE = { where: 'a ZONE_MOVABLE folio', from: '5.13', commit: 'd1e153fea2a8' };
const CMA = { where: 'a CMA folio (is_pinnable_page() / folio_is_longterm_pinnable(): is_migrate_cma_page())', from: '5.12', commit: '0fa5bc4023c1' };

/**
 * 5.15.0-5.15.19 and 5.16.0-5.16.5: the slow path grabs with the GUP-fast
 * test, so a long-term pin of a ZONE_MOVABLE or CMA page fails before any
 * migration (54d516b1d62f, reverted by c36c04c2e132). hugetlb is refused
 * either way (follow_hugetlb_page()), fast_only never reaches the slow path,
 * and the unlocked and remote pins stop at the FOLL_LONGTERM gate first.
 */
function grabRefusesUnpinnable(cases: readonly string[]): Expectation[] {
  const source =
    'try_grab_page() became try_grab_compound_head(page, 1, flags) (54d516b1d62f), whose GUP-fast test returns NULL for FOLL_LONGTERM on !is_pinnable_page() (ZONE_MOVABLE or CMA): follow_page_pte() (5.15.16 mm/gup.c:547) and follow_trans_huge_pmd() (mm/huge_memory.c:1377) -> -ENOMEM, and __gup_longterm_locked() returns it before check_and_migrate_movable_pages() migrates anything; no WARN; reverted by c36c04c2e132 (5.17; 5.15.20, 5.16.6)';
  return ['[5.15,5.15.20)', '[5.16,5.16.6)'].flatMap((kernels) =>
    cases.map((c): Expectation => ({ cases: c, kernels, answer: { ret: ENOMEM }, source, commits: ['54d516b1d62f', 'c36c04c2e132'] })),
  );
}

/**
 * 6.1.129-6.1.154: a folio that folio_isolate_lru() cannot take at that
 * moment is left out, and with none taken the pins stay where they are
 * (1aaf8c122918, reverted by 517f496e1e61). A fresh small page is drained
 * onto the LRU first and a THP is on it already, so the answer is the
 * migration; only a race with another isolation (compaction, reclaim,
 * another long-term pin) leaves the pages in place, which these rows accept.
 */
function isolationRace(cases: string, answer: Answer, inPlace: readonly Answer[]): Expectation {
  return {
    cases,
    kernels: '[6.1.129,6.1.155)',
    answer,
    alternatives: inPlace,
    source:
      'check_and_migrate_movable_pages() (6.1.141 mm/gup.c:2099): with 1aaf8c122918 (6.1.129) an unpinnable folio that folio_isolate_lru() cannot take is skipped, and if none was taken the pins are kept in place; fresh small pages are drained onto the LRU first (lru_add_drain_all(), :1991-1993) and a THP never waits in a per-CPU batch, so they are isolated and migrated unless another isolation races; reverted in 6.1.155 (517f496e1e61 as c22fcd236c36), which retries until every unpinnable folio is migrated (6.1.192 :2113)',
    commits: ['1aaf8c122918', '517f496e1e61'],
  };
}

/** Rows per probe id. */
export const EXPECTATIONS: Record<string, Expectation[]> = {
  partial: [
    {
      cases: '*/*_fast_only',
      kernels: '*',
      answer: { ret: 8, then: 0 },
      source: 'gup_fast_fallback() / internal_get_user_pages_fast(): FOLL_FAST_ONLY returns the pages pinned locklessly, never an error',
    },
    {
      cases: 'unmapped/*',
      kernels: '*',
      answer: { ret: 8, then: EFAULT },
      source: '__get_user_pages(): no vma at the address -> -EFAULT, returned only when nothing was taken ("i ? i : ret")',
    },
    {
      cases: 'protnone/*',
      kernels: '*',
      answer: { ret: 8, then: EFAULT },
      source: 'check_vma_flags(): !(vm_flags & VM_READ) without FOLL_FORCE -> -EFAULT',
    },
  ],
  'force-cow': [
    {
      cases: 'write-readonly/*',
      kernels: '*',
      answer: { ret: EFAULT },
      source: 'check_vma_flags(): FOLL_WRITE on !VM_WRITE without FOLL_FORCE -> -EFAULT',
    },
    {
      cases: 'force-anon/*',
      kernels: '<5.19',
      answer: { ret: 1, note: 'new page' },
      source:
        '5.10 do_wp_page(): an anon page is reused only when page_count() == 1 ("mm: do_wp_page() simplification", 5.9); the probe holds a FOLL_GET reference, so the FOLL_FORCE write fault copies it (wp_page_copy()). Without that reference the answer raced on whether a per-CPU LRU pagevec still held the fresh page (seen: "same page" for 1-2 of 8 APIs on 5.10.0-46)',
      commits: ['6c287605fd56'],
    },
    {
      cases: 'force-anon/*',
      kernels: '[5.19,5.19.6)',
      answer: { ret: 1, note: 'same page' },
      source:
        "5.19 do_wp_page() reuses a PageAnonExclusive page whatever other references it has (the COW rework), and follow_page_pte() then takes it through can_follow_write_pte()'s FOLL_COW && pte_dirty() test, until 5535be309971 replaced that test (6.0, 5.19.6) (read, not run)",
      commits: ['5535be309971'],
    },
    {
      cases: 'force-anon/*',
      kernels: '>=5.19.6',
      answer: { ret: 1, note: 'same page' },
      source:
        'can_follow_write_pte(): FOLL_FORCE may write an exclusive anonymous page of a private !VM_WRITE mapping in place, whatever other references it has (PageAnonExclusive, not page_count(), decides: 5535be309971 "mm/gup: fix FOLL_FORCE COW security issue and remove FOLL_COW", 6.0 and 5.19.6; 6.0.19 mm/gup.c:510)',
      commits: ['5535be309971'],
    },
    {
      cases: 'force-file/*',
      kernels: '*',
      answer: { ret: 1, note: 'new anon copy, file intact' },
      source: 'faultin_page() with FAULT_FLAG_WRITE -> do_wp_page() copies the page cache page (wp_page_copy)',
    },
  ],
  'dax-longterm': [
    { cases: '*/plain/*', kernels: '*', answer: { ret: 16 }, source: 'check_vma_flags() passes; DAX pages are pinned as ZONE_DEVICE pages' },
    ...longtermGate('*/longterm/'),
    {
      cases: '*/longterm/*_fast_only',
      kernels: '<6.3',
      answer: { ret: 0 },
      source: '6.1 gup_pte_range(): pte_devmap with FOLL_LONGTERM bails out, and fast_only has no slow path',
      commits: ['d64e2dbc33a1', 'edad1bb1fbf7'],
    },
    {
      cases: '*/longterm/pin_*',
      kernels: '*',
      answer: { ret: EOPNOTSUPP },
      source: 'check_vma_flags(): (gup_flags & FOLL_LONGTERM) && vma_is_fsdax(vma) -> -EOPNOTSUPP',
    },
  ],
  'longterm-variants': [
    ...longtermGate(''),
    {
      cases: 'pin_*',
      kernels: '>=6.2',
      answer: { ret: 16 },
      source:
        '__gup_longterm_locked() for every pin: "mm/gup: remove the restriction on locked with FOLL_LONGTERM" (6.2); is_valid_gup_args() (6.3) keeps FOLL_LONGTERM valid with FOLL_PIN',
      commits: ['53b2d09bdd12'],
    },
  ],
  'writable-longterm-shared': [
    ...longtermGate('*/'),
    ...hugetlbMovable('hugetlb-in-movable/', { ret: 16 }, MOVABLE),
    {
      cases: 'ext4/*',
      kernels: '>=6.5',
      answer: { ret: EFAULT },
      source: 'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses PIN|LONGTERM|WRITE',
      commits: ['8ac268436e6d', 'a6e79df92e4a'],
    },
    {
      cases: 'xfs/*',
      kernels: '>=6.5',
      answer: { ret: EFAULT },
      source: 'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses PIN|LONGTERM|WRITE',
      commits: ['8ac268436e6d', 'a6e79df92e4a'],
    },
    {
      cases: '*',
      kernels: '*',
      answer: { ret: 16 },
      source: 'writable_file_mapping_allowed(): shmem and hugetlbfs need no dirty tracking (6.5+); 6.1 check_vma_flags() has no such test',
    },
  ],
  'movable-longterm': [
    {
      cases: 'no-longterm/*',
      kernels: '*',
      answer: { ret: 16, note: 'stayed' },
      source: 'no FOLL_LONGTERM: __gup_longterm_locked() does not migrate, pages stay in ZONE_MOVABLE',
    },
    ...longtermGate('*'),
    ...grabRefusesUnpinnable(['pin_user_pages', 'pin_user_pages_fast', 'thp/pin_user_pages', 'thp/pin_user_pages_fast']),
    {
      cases: '*',
      kernels: '<5.13',
      answer: { ret: 16, note: 'stayed, data intact' },
      source:
        'check_and_migrate_cma_pages() (5.12.9 mm/gup.c:1574): only is_migrate_cma_page() heads move, and try_grab_compound_head() (mm/gup.c:92) refuses only CMA pages; ZONE_MOVABLE is left to d1e153fea2a8 "mm/gup: migrate pinned pages out of movable zone" (5.13)',
      commits: ['d1e153fea2a8'],
    },
    {
      cases: 'pin_user_pages_fast_only',
      kernels: '[5.13,6.3)',
      answer: { ret: 0 },
      source:
        'gup_pte_range() -> try_grab_compound_head() (5.15.100 mm/gup.c:138; 6.1: try_grab_folio()): !is_pinnable_page() / !folio_is_longterm_pinnable() with FOLL_LONGTERM bails out; fast_only has no slow path to migrate (read on 5.13-6.0, run on 6.1)',
      commits: ['d1e153fea2a8'],
    },
    ...['pin_user_pages', 'pin_user_pages_fast', 'thp/pin_user_pages', 'thp/pin_user_pages_fast'].map((c) =>
      isolationRace(c, { ret: 16, note: 'migrated, data intact' }, [
        { ret: 16, note: 'stayed, data intact' },
        { ret: 16, note: 'partly migrated, data intact' },
      ]),
    ),
    ...hugetlbMovable('hugetlb/', { ret: 16, note: 'migrated, data intact' }, MOVABLE),
    {
      cases: 'thp/*',
      kernels: '[6.6,6.6.47)',
      answer: { ret: EFAULT },
      source:
        '__get_user_pages(): follow_trans_huge_pmd() takes the first page, then page_increm > 1 ("mm/gup: accelerate thp gup even for pages != NULL", 6.6) hands the rest to the GUP-fast try_grab_folio(), which refuses FOLL_LONGTERM on a ZONE_MOVABLE folio: WARN_ON_ONCE -> -EFAULT, until f442fa614137 "mm: gup: stop abusing try_grab_folio" (6.10; 6.6.47 as 26273f5f4cf6) (read, not run)',
      commits: ['f442fa614137'],
      warning: 'at mm/gup.c',
    },
    {
      cases: 'thp/*',
      kernels: '[6.7,6.10)',
      answer: { ret: EFAULT },
      source:
        '__get_user_pages(): follow_trans_huge_pmd() takes the first page, then page_increm > 1 ("mm/gup: accelerate thp gup even for pages != NULL", 6.6) hands the rest to the GUP-fast try_grab_folio(), which refuses FOLL_LONGTERM on a ZONE_MOVABLE folio: WARN_ON_ONCE -> -EFAULT, until f442fa614137 "mm: gup: stop abusing try_grab_folio" (6.10; 6.6.47 as 26273f5f4cf6) (read, not run)',
      commits: ['f442fa614137'],
      warning: 'at mm/gup.c',
    },
    {
      cases: 'thp/*',
      kernels: '*',
      answer: { ret: 16, note: 'migrated, data intact' },
      source:
        '__gup_longterm_locked() -> check_and_migrate_movable_pages() (5.13-6.9; migrate_longterm_unpinnable_pages() 6.6-6.10, migrate_longterm_unpinnable_folios() from 6.11): the THP is not longterm pinnable in ZONE_MOVABLE, migrated whole and the pin retried; follow_trans_huge_pmd() grabs with try_grab_page(), which has no zone test but in the 54d516b1d62f windows (rows above; 5.15.16 mm/huge_memory.c:1377), page by page to 6.5; follow_huge_pmd() from 6.10; 6.6.47 takes f442fa614137 (26273f5f4cf6), so [6.6.47, 6.7) migrates too',
      commits: ['f442fa614137'],
    },
    {
      cases: 'pin_*',
      kernels: '*',
      answer: { ret: 16, note: 'migrated, data intact' },
      source: '__gup_longterm_locked() -> check_and_migrate_movable_pages(): ZONE_MOVABLE folios are not longterm pinnable, migrated and retried',
    },
  ],
  'pin-count': [
    {
      cases: 'small/pin',
      kernels: '*',
      answer: { ret: 1, note: '+1024 refs, restored' },
      source: 'try_grab_folio(): small folio FOLL_PIN adds GUP_PIN_COUNTING_BIAS (1024) references',
    },
    { cases: 'small/get', kernels: '*', answer: { ret: 1, note: '+1 refs, restored' }, source: 'try_grab_folio(): FOLL_GET adds one reference' },
    {
      cases: 'large/pin',
      kernels: '*',
      answer: { ret: 512, note: '+512 refs, pincount 512, restored' },
      source: 'try_grab_folio(): large folio FOLL_PIN adds refs to the refcount and to the folio pincount',
    },
    { cases: 'large/get', kernels: '*', answer: { ret: 512, note: '+512 refs, pincount 0, restored' }, source: 'try_grab_folio(): FOLL_GET adds refs only' },
    {
      cases: 'vmstat',
      kernels: '*',
      answer: { note: 'balanced' },
      source: 'NR_FOLL_PIN_ACQUIRED / NR_FOLL_PIN_RELEASED in try_grab_folio() and gup_put_folio()',
    },
  ],
  'cow-fork': [
    {
      cases: 'pinned',
      kernels: '<6.9',
      answer: { ret: 1, note: 'child got a copy; parent kept the pinned page; pin writes reach the parent' },
      source:
        'copy_present_pte() -> page_try_dup_anon_rmap() (6.8: folio_try_dup_anon_rmap_pte()) -> page_needs_cow_for_dma() / folio_needs_cow_for_dma(): a maybe-DMA-pinned anon page is copied for the child at fork (5.10: copy_present_page(), "mm: Do early cow for pinned pages during fork() for ptes")',
      commits: ['f8d937761d65'],
    },
    {
      cases: 'pinned',
      kernels: '>=6.9',
      answer: { ret: 1, note: 'child got a copy; parent kept the pinned page; pin writes reach the parent' },
      source:
        'copy_present_ptes() -> folio_try_dup_anon_rmap_ptes() -> folio_needs_cow_for_dma(): a maybe-DMA-pinned anon page is copied for the child at fork',
      commits: ['f8d937761d65'],
    },
    {
      cases: 'got',
      kernels: '*',
      answer: { ret: 1, note: 'shared at fork; parent copied on write; the held page went stale' },
      source: 'FOLL_GET does not mark the page maybe-DMA-pinned, so fork shares it and do_wp_page() gives the writer a copy',
    },
  ],
  userfaultfd: [
    {
      cases: 'get_user_pages_unlocked',
      kernels: '*',
      answer: { ret: 1, note: 'after the handler resolved the fault' },
      source: 'get_user_pages_unlocked() passes FAULT_FLAG_ALLOW_RETRY (locked = 1), so handle_userfault() waits for UFFDIO_COPY',
    },
    {
      cases: 'get_user_pages',
      kernels: '*',
      answer: { ret: EFAULT },
      source: 'handle_userfault(): no FAULT_FLAG_ALLOW_RETRY (locked GUP without a locked pointer) -> VM_FAULT_SIGBUS -> -EFAULT',
    },
  ],
  'fast-only': [
    {
      cases: 'unfaulted/*',
      kernels: '*',
      answer: { ret: 0, note: 'nothing faulted' },
      source: 'gup_fast_pte_range(): pte_none stops the walk; FOLL_FAST_ONLY never falls back to faultin_page()',
    },
    { cases: 'present/*', kernels: '*', answer: { ret: 16 }, source: 'gup_fast_pte_range(): present, accessible ptes are taken locklessly' },
  ],
  secretmem: [
    ...secretmemFreshFolio(),
    {
      cases: '*_fast_only',
      kernels: '*',
      answer: { ret: 0 },
      source:
        'gup_pte_range() (to 6.9) / gup_fast_pte_range() -> gup_fast_folio_allowed() (6.10+; folio_fast_pin_allowed() 6.5-6.9): secretmem folios are refused locklessly; no slow path',
    },
    { cases: '*', kernels: '*', answer: { ret: EFAULT }, source: 'check_vma_flags(): vma_is_secretmem(vma) -> -EFAULT' },
  ],
  huge: [
    {
      cases: 'hugetlb/*',
      kernels: '<6.6',
      answer: { ret: 512, note: 'order 9' },
      source: 'follow_hugetlb_page() (slow path) / gup_huge_pmd() (GUP-fast) take every subpage of the 2 MiB folio',
      commits: ['4849807114b8'],
    },
    {
      cases: 'hugetlb/*',
      kernels: '[6.6,6.10)',
      answer: { ret: 512, note: 'order 9' },
      source: 'hugetlb_follow_page_mask() then page_increm > 1 in __get_user_pages() / gup_huge_pmd() take every subpage (read, not run)',
      commits: ['4849807114b8', '9cb28da54643'],
    },
    {
      cases: 'hugetlb/*',
      kernels: '>=6.10',
      answer: { ret: 512, note: 'order 9' },
      source: 'follow_huge_pmd() then page_increm > 1 in __get_user_pages() / gup_fast_pmd_leaf() take every subpage of the 2 MiB folio',
      commits: ['9cb28da54643'],
    },
    {
      cases: 'thp/*',
      kernels: '*',
      answer: { ret: 512, note: 'order 9' },
      source:
        'follow_trans_huge_pmd() (6.1: page by page) / follow_huge_pmd() (6.10+: page_increm) and gup_huge_pmd() / gup_fast_pmd_leaf() take every subpage',
    },
  ],
  'cow-ro-pin': [
    ...longtermGate('*/ro-longterm/'),
    {
      cases: 'zeropage/*',
      kernels: '[6.1.130,6.1.135)',
      answer: { ret: ENOMEM },
      source:
        'follow_page_pte(): the 6.1.130 backport of "mm: Don\'t pin ZERO_PAGE in pin_user_pages()" returned 0 (false) from the bool try_grab_page() for the zeropage -> -ENOMEM, until "mm: Fix is_zero_page() usage in try_grab_page()" (6.1.135) (read, not run)',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage-refs/pin',
      kernels: '[6.1.130,6.1.135)',
      answer: { ret: ENOMEM },
      source:
        'follow_page_pte(): the 6.1.130 backport of "mm: Don\'t pin ZERO_PAGE in pin_user_pages()" returned 0 (false) from the bool try_grab_page() for the zeropage -> -ENOMEM, until "mm: Fix is_zero_page() usage in try_grab_page()" (6.1.135) (read, not run)',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage/ro/*',
      kernels: '*',
      answer: { ret: 1, note: 'zeropage; stale after the write' },
      source:
        'follow_page_pte(): is_zero_pfn() hands out the shared zeropage; gup_must_unshare() asks nothing of a non-anon page without FOLL_LONGTERM (short-term R/O pins need not follow later writes), so the write fault (do_wp_page() -> wp_page_copy()) gives the process a new page',
    },
    {
      cases: 'file/ro/*',
      kernels: '*',
      answer: { ret: 1, note: 'page cache page; stale after the write' },
      source:
        'follow_page_pte() pins the page cache page mapped read-only; gup_must_unshare() is false without FOLL_LONGTERM, and the write fault copies it for the process (wp_page_copy())',
    },
    {
      cases: 'zeropage/ro-longterm/*',
      kernels: '<6.2',
      answer: { ret: 1, note: 'zeropage; stale after the write' },
      source: '6.1 gup_must_unshare(): only anonymous pages can need unsharing, so the zeropage is pinned long-term and the write fault leaves the pin behind',
      commits: ['84209e87c696'],
    },
    {
      cases: 'file/ro-longterm/*',
      kernels: '<6.2',
      answer: { ret: 1, note: 'page cache page; stale after the write' },
      source: '6.1 gup_must_unshare(): !PageAnon -> false, so the page cache page is pinned long-term and the write fault leaves the pin behind',
      commits: ['84209e87c696'],
    },
    {
      cases: '*/ro-longterm/*',
      kernels: '>=6.2',
      answer: { ret: 1, note: 'anon copy; coherent after the write' },
      source:
        'gup_must_unshare() (6.2 takes the vma): FOLL_LONGTERM on a non-anon page in is_cow_mapping() -> -EMLINK -> faultin_page(FAULT_FLAG_UNSHARE) -> do_wp_page() -> wp_page_copy() maps an exclusive anon copy ("mm/gup: reliable R/O long-term pinning in COW mappings", 6.2); the later write reuses it (wp_page_reuse())',
      commits: ['84209e87c696'],
    },
    {
      cases: 'zeropage-refs/pin',
      kernels: '<6.1.130',
      answer: { ret: 1, note: 'zeropage, +1024 refs' },
      source: 'try_grab_page(): FOLL_PIN adds GUP_PIN_COUNTING_BIAS to the zeropage like to any small folio',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage-refs/pin',
      kernels: '[6.1.135,6.2)',
      answer: { ret: 1, note: 'zeropage, +0 refs' },
      source:
        'try_grab_page(): is_zero_page() takes no pin: "mm: Don\'t pin ZERO_PAGE in pin_user_pages()" backported to 6.1.130 (476c1dfefab8), its bool return fixed in 6.1.135 ("mm: Fix is_zero_page() usage in try_grab_page()")',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage-refs/pin',
      kernels: '[6.2,6.5)',
      answer: { ret: 1, note: 'zeropage, +1024 refs' },
      source: 'try_grab_page(): FOLL_PIN adds GUP_PIN_COUNTING_BIAS to the zeropage like to any small folio (read, not run)',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage-refs/pin',
      kernels: '>=6.5',
      answer: { ret: 1, note: 'zeropage, +0 refs' },
      source:
        'try_grab_folio(): is_zero_folio() takes no pin ("mm: Don\'t pin ZERO_PAGE in pin_user_pages()", c8070b787519, 6.5); gup_put_folio() skips it too',
      commits: ['c8070b787519'],
    },
    {
      cases: 'zeropage-refs/get',
      kernels: '*',
      answer: { ret: 1, note: 'zeropage, +1 refs' },
      source: 'try_grab_folio() / try_grab_page(): FOLL_GET takes a reference, zeropage or not',
    },
  ],
  'writable-longterm-family': [
    ...longtermGate('*-longterm/'),
    {
      cases: '*/shared-ro-longterm/*',
      kernels: '*',
      answer: { ret: 16 },
      source: 'check_vma_flags(): writable_file_mapping_allowed() is only asked for FOLL_WRITE; gup_must_unshare() is false outside COW mappings',
    },
    {
      cases: '*/shared-write/*',
      kernels: '*',
      answer: { ret: 16 },
      source:
        'writable_file_mapping_allowed(): without FOLL_LONGTERM the pin is short-term (the direct-I/O case) and allowed (6.5+); 6.1 check_vma_flags() has no such test',
    },
    {
      cases: '*/private-write-longterm/*',
      kernels: '*',
      answer: { ret: 16, note: 'anon copies' },
      source:
        'vma_needs_dirty_tracking(): false for a private mapping (!vma_is_shared_writable()), so writable_file_mapping_allowed() passes (6.5+); the write fault copies each page (wp_page_copy())',
    },
    {
      cases: '*/private-ro-longterm/*',
      kernels: '<6.2',
      answer: { ret: 16, note: 'page cache pages' },
      source: '6.1 gup_must_unshare(): non-anon pages never unshare, so the page cache pages are pinned long-term',
      commits: ['84209e87c696'],
    },
    {
      cases: '*/private-ro-longterm/*',
      kernels: '>=6.2',
      answer: { ret: 16, note: 'anon copies' },
      source:
        'gup_must_unshare(): FOLL_LONGTERM on a non-anon page of a COW mapping -> FAULT_FLAG_UNSHARE -> wp_page_copy() ("mm/gup: reliable R/O long-term pinning in COW mappings", 6.2)',
      commits: ['84209e87c696'],
    },
  ],
  'address-edges': [
    {
      cases: 'above-top/*_fast_only',
      kernels: '<6.3',
      answer: { ret: 0 },
      source:
        'get_user_pages_fast_only() / pin_user_pages_fast_only(): "not allowed to return negative values", the -EFAULT of internal_get_user_pages_fast() becomes 0',
      commits: ['9198a9196ee6', 'edad1bb1fbf7'],
    },
    {
      cases: 'above-top/*_fast_only',
      kernels: '>=6.3',
      answer: { ret: EFAULT },
      source:
        'get_user_pages_fast_only() returns gup_fast_fallback()\'s -EFAULT ("mm/gup: make get_user_pages_fast_only() return the common return value", 6.3)',
      commits: ['9198a9196ee6'],
    },
    {
      cases: 'above-top/*_fast',
      kernels: '*',
      answer: { ret: EFAULT },
      source: 'internal_get_user_pages_fast() / gup_fast_fallback(): end > TASK_SIZE_MAX -> -EFAULT before any walk',
    },
    { cases: 'above-top/*', kernels: '*', answer: { ret: EFAULT }, source: '__get_user_pages(): no vma there (and not the gate area) -> -EFAULT' },
  ],
  'force-hugetlb': [
    {
      cases: '*',
      kernels: '<5.19.6',
      answer: { ret: 1, note: 'same page' },
      source:
        '5.10 follow_hugetlb_page() -> hugetlb_fault(FAULT_FLAG_WRITE) -> hugetlb_cow() reuses the exclusive anon huge page (and makes its pte writable): nothing refuses FOLL_FORCE|FOLL_WRITE on hugetlb before 1d8d14641fd9 (5.19.6) (run on 5.10.0-46)',
      commits: ['1d8d14641fd9'],
    },
    {
      cases: '*',
      kernels: '[5.19.6,6.0.16)',
      answer: { ret: EFAULT },
      source:
        'check_vma_flags() lets FOLL_FORCE|FOLL_WRITE through to follow_hugetlb_page() -> hugetlb_fault() -> hugetlb_wp(): WARN_ON_ONCE(!unshare && !(vma->vm_flags & VM_WRITE)) -> VM_FAULT_SIGSEGV -> -EFAULT (1d8d14641fd9, 6.0 and 5.19.6; 6.0.19 mm/hugetlb.c:5257), until f347454d0341 reached 6.0.16 (read, not run)',
      warning: 'at mm/hugetlb.c',
      commits: ['1d8d14641fd9', 'f347454d0341'],
    },
    {
      cases: '*',
      kernels: '[6.0.16,6.1)',
      answer: { ret: EFAULT },
      source:
        'check_vma_flags(): FOLL_FORCE|FOLL_WRITE on a !VM_WRITE hugetlb vma -> -EFAULT, "hugetlb does not support FOLL_FORCE|FOLL_WRITE" (f347454d0341, taken by 6.0.16; 6.0.19 mm/gup.c check_vma_flags()) (read, not run)',
      commits: ['f347454d0341'],
    },
    {
      cases: '*',
      kernels: '[6.1,6.1.2)',
      answer: { ret: EFAULT },
      source:
        'hugetlb_wp(): WARN_ON_ONCE(!unshare && !(vma->vm_flags & VM_WRITE)) -> VM_FAULT_SIGSEGV -> -EFAULT (6.1-rc7 mm/hugetlb.c:5315): 6.1.0 lacks f347454d0341 (6.1-rc7 check_vma_flags() has no hugetlb test), 6.1.2 took it (read, not run)',
      warning: 'at mm/hugetlb.c',
      commits: ['1d8d14641fd9', 'f347454d0341'],
    },
    {
      cases: '*',
      kernels: '[6.1.2,6.14)',
      answer: { ret: EFAULT },
      source:
        'check_vma_flags(): FOLL_FORCE|FOLL_WRITE on a !VM_WRITE hugetlb vma -> -EFAULT, "hugetlb does not support FOLL_FORCE|FOLL_WRITE" (f347454d0341 "mm/gup: disallow FOLL_FORCE|FOLL_WRITE on hugetlb mappings", mainline 6.2, 6.1.2; 6.2.12 mm/gup.c check_vma_flags())',
      commits: ['f347454d0341'],
    },
    {
      cases: '*',
      kernels: '>=6.14',
      answer: { ret: 1, note: 'same page' },
      source:
        '"mm/hugetlb: support FOLL_FORCE|FOLL_WRITE" (6.14): check_vma_flags() lets hugetlb through, hugetlb_wp() reuses the exclusive anon folio without making the pte writable (no VM_WRITE), and can_follow_write_pmd() hands that page out, as for small pages',
      commits: ['052ccfbcc6cd'],
    },
  ],
  'force-protnone': [
    {
      cases: 'force-read/*_fast_only',
      kernels: '*',
      answer: { ret: 0 },
      source: 'gup_pte_range() / gup_fast_pte_range(): pte_protnone() always leaves GUP-fast, and fast_only has no slow path',
    },
    {
      cases: 'force-read/*',
      kernels: '*',
      answer: { ret: 1, note: 'same page, data read' },
      source:
        'check_vma_flags(): !VM_READ passes with FOLL_FORCE when VM_MAYREAD; follow_page_pte() follows a PROT_NONE pte without FOLL_NUMA (6.1) / when gup_can_follow_protnone() (no FOLL_HONOR_NUMA_FAULT, 6.6+)',
    },
    {
      cases: 'guard*',
      kernels: '<6.13',
      answer: { note: 'no guard regions (madvise: EINVAL)' },
      source: 'madvise_behavior_valid(): MADV_GUARD_INSTALL (102) is unknown before 6.13',
      commits: ['662df3e5c376'],
    },
    {
      cases: 'guard*/*_fast_only',
      kernels: '>=6.13',
      answer: { ret: 0 },
      source: 'gup_fast_pte_range(): a guard marker pte is not present; fast_only has no slow path',
      commits: ['662df3e5c376'],
    },
    {
      cases: 'guard*',
      kernels: '>=6.13',
      answer: { ret: EFAULT },
      source:
        'faultin_page() -> handle_mm_fault() -> do_swap_page() -> handle_pte_marker(): PTE_MARKER_GUARD -> VM_FAULT_SIGSEGV -> -EFAULT, FOLL_FORCE or not',
      commits: ['662df3e5c376'],
    },
  ],
  pfnmap: [
    // 6.1 and before: the unlocked and remote pins refuse FOLL_LONGTERM before any vma is looked at.
    ...longtermGate('*longterm/').filter((row) => row.cases.includes('pin_')),
    {
      cases: '*/*_fast_only',
      kernels: '*',
      answer: { ret: 0 },
      source:
        'gup_pte_range() (5.10, 6.1) / gup_fast_pte_range() (6.12, 7.3): pte_special() stops the lockless walk (remap_pte_range() maps pte_mkspecial() ptes); FOLL_FAST_ONLY has no slow path, so 0 pages',
    },
    {
      cases: '*',
      kernels: '*',
      answer: { ret: EFAULT },
      source:
        'check_vma_flags(): (VM_IO | VM_PFNMAP) -> -EFAULT, its first test, before FOLL_FORCE, FOLL_WRITE or FOLL_LONGTERM are looked at (5.10, 6.1, 6.12, 7.3 mm/gup.c); GUP-fast skips the special ptes (pte_special()) and falls back to it',
    },
  ],
  'cma-longterm': [
    // 6.1 and before: the unlocked and remote pins refuse FOLL_LONGTERM before any page is looked at.
    ...longtermGate('*/').filter((row) => row.cases.includes('pin_')),
    ...grabRefusesUnpinnable(['thp/pin_user_pages', 'thp/pin_user_pages_fast']),
    ...['thp/pin_user_pages', 'thp/pin_user_pages_fast'].map((c) =>
      isolationRace(c, { ret: 16, note: 'migrated, data intact' }, [{ ret: 16, note: 'stayed, data intact' }]),
    ),
    {
      cases: 'hugetlb/*',
      kernels: '<5.12',
      answer: { ret: 16, note: 'migrated, data intact' },
      source:
        '5.10 __gup_longterm_locked() -> check_and_migrate_cma_pages(): is_migrate_cma_page() heads are isolated (isolate_huge_page(), isolate_lru_page()) and migrated under memalloc_nocma_save(), then the pin retried; follow_hugetlb_page() grabs each subpage with try_grab_page(), which has no CMA test, until 0fa5bc4023c1 (5.12) moved it to try_grab_compound_head() (read, not run)',
      commits: ['0fa5bc4023c1'],
    },
    ...hugetlbMovable('hugetlb/', { ret: 16, note: 'migrated, data intact' }, CMA),
    {
      cases: 'thp/*',
      kernels: '[6.6,6.6.47)',
      answer: { ret: EFAULT },
      source:
        '__get_user_pages(): follow_trans_huge_pmd() takes the first page, then page_increm > 1 hands the rest to the GUP-fast try_grab_folio(), which refuses FOLL_LONGTERM on a CMA folio (folio_is_longterm_pinnable()): WARN_ON_ONCE -> -EFAULT, until f442fa614137 "mm: gup: stop abusing try_grab_folio" (6.10; 6.6.47 as 26273f5f4cf6) (read, not run)',
      commits: ['f442fa614137'],
      warning: 'at mm/gup.c',
    },
    {
      cases: 'thp/*',
      kernels: '[6.7,6.10)',
      answer: { ret: EFAULT },
      source:
        '__get_user_pages(): follow_trans_huge_pmd() takes the first page, then page_increm > 1 hands the rest to the GUP-fast try_grab_folio(), which refuses FOLL_LONGTERM on a CMA folio (folio_is_longterm_pinnable()): WARN_ON_ONCE -> -EFAULT, until f442fa614137 "mm: gup: stop abusing try_grab_folio" (6.10; 6.6.47 as 26273f5f4cf6) (read, not run)',
      commits: ['f442fa614137'],
      warning: 'at mm/gup.c',
    },
    {
      cases: 'thp/*',
      kernels: '*',
      answer: { ret: 16, note: 'migrated, data intact' },
      source:
        '__gup_longterm_locked() -> check_and_migrate_cma_pages() (5.10-5.12; 5.12.9 mm/gup.c:1574) / check_and_migrate_movable_pages() (d1e153fea2a8, 5.13-6.9) / migrate_longterm_unpinnable_folios() (6.11+: 6.12, 7.3; 6.10 has migrate_longterm_unpinnable_pages()): folio_is_longterm_pinnable() is false for a MIGRATE_CMA pageblock (is_pinnable_page() before 5.19), the THP is migrated (the target allocated without __GFP_MOVABLE under PF_MEMALLOC_PIN / memalloc_nocma_save(), so outside CMA) and the pin retried; before that, follow_trans_huge_pmd() grabs with try_grab_page(), which has no CMA test (5.15.16 mm/huge_memory.c:1377) but in the 54d516b1d62f windows (rows above); on 6.6.47 too (f442fa614137 as 26273f5f4cf6)',
      commits: ['d1e153fea2a8', 'f442fa614137'],
    },
  ],
  'nowait-nofault': [
    {
      cases: 'nowait-fast/*_fast_only',
      kernels: '<6.3',
      answer: { ret: 0 },
      source: 'internal_get_user_pages_fast(): WARN_ON_ONCE on FOLL_NOWAIT (not a GUP-fast flag) -> -EINVAL, which *_fast_only turns into 0',
      commits: ['9198a9196ee6', 'edad1bb1fbf7'],
    },
    {
      cases: 'nowait-fast/*',
      kernels: '*',
      answer: { ret: EINVAL },
      source: 'internal_get_user_pages_fast() / gup_fast_fallback(): WARN_ON_ONCE(gup_flags & ~(GUP-fast flags)) -> -EINVAL: FOLL_NOWAIT is not one of them',
    },
    {
      cases: 'nowait-unfaulted/*',
      kernels: '*',
      answer: { ret: 16, note: 'faulted in' },
      source: 'faultin_page(): FOLL_NOWAIT adds FAULT_FLAG_ALLOW_RETRY|FAULT_FLAG_RETRY_NOWAIT, but do_anonymous_page() never needs to retry',
    },
    {
      cases: 'nofault-unfaulted/*_fast_only',
      kernels: '*',
      answer: { ret: 0, note: 'nothing faulted' },
      source: 'gup_pte_range() / gup_fast_pte_range(): pte_none stops the walk; no slow path',
    },
    {
      cases: 'nofault-unfaulted/*',
      kernels: '*',
      answer: { ret: EFAULT, note: 'nothing faulted' },
      source:
        'faultin_page(): FOLL_NOFAULT -> -EFAULT before handle_mm_fault() ("gup: Introduce FOLL_NOFAULT flag to disable page faults", 5.16); GUP-fast finds no pte and falls back to it',
    },
    {
      cases: 'nowait-dropped-random/*',
      kernels: '*',
      answer: { ret: 16, note: 'faulted in' },
      source:
        'filemap_fault(): do_sync_mmap_readahead() returns at once on VM_RAND_READ (MADV_RANDOM), __filemap_get_folio(FGP_CREAT|FGP_FOR_MMAP) adds an unlocked, !uptodate folio, so lock_folio_maybe_drop_mmap() (5.10: lock_page_maybe_drop_mmap()) takes its lock and page_not_uptodate: reads it synchronously (filemap_read_folio(); 5.10 ->readpage() + wait_on_page_locked()) without dropping mmap_lock (maybe_unlock_mmap_for_io() never does under FAULT_FLAG_RETRY_NOWAIT): FOLL_NOWAIT waits for the disk here, page by page',
    },
    {
      cases: 'nofault-dropped-random/*_fast_only',
      kernels: '*',
      answer: { ret: 0, note: 'nothing faulted' },
      source: 'gup_pte_range() / gup_fast_pte_range(): pte_none stops the walk; no slow path',
    },
    {
      cases: 'nofault-dropped-random/*',
      kernels: '*',
      answer: { ret: EFAULT, note: 'nothing faulted' },
      source: 'faultin_page(): FOLL_NOFAULT -> -EFAULT before handle_mm_fault(), so filemap_fault() never starts a read (5.16+)',
    },
    {
      cases: 'nowait-uffd/*',
      kernels: '*',
      answer: { ret: 0, note: 'no message to the handler' },
      source:
        'handle_userfault(): FAULT_FLAG_RETRY_NOWAIT returns VM_FAULT_RETRY before a message is queued; faultin_page() -> -EBUSY, which __get_user_pages() turns into 0 pages',
    },
    {
      cases: 'nofault-uffd/*',
      kernels: '*',
      answer: { ret: EFAULT, note: 'no message to the handler' },
      source: 'faultin_page(): FOLL_NOFAULT -> -EFAULT, handle_userfault() is never reached',
    },
    {
      cases: 'uffd-user-mode-only/*',
      kernels: '*',
      answer: { ret: EFAULT, note: 'no message to the handler' },
      source: 'handle_userfault(): a GUP fault (no FAULT_FLAG_USER) on a UFFD_USER_MODE_ONLY context -> VM_FAULT_SIGBUS -> -EFAULT (5.11+)',
    },
  ],
  ksm: [
    {
      cases: 'pin-ro/*',
      kernels: '<5.19',
      answer: { ret: 1, note: 'the KSM page; the twin still merged' },
      source: '5.10 follow_page_pte(): before the COW rework nothing unshares for a R/O pin, the KSM page itself is pinned (read, not run)',
      commits: ['a7f226604170'],
    },
    {
      cases: 'pin-ro/*',
      kernels: '>=5.19',
      answer: { ret: 1, note: 'an anon copy; the twin still merged' },
      source:
        'gup_must_unshare(): a KSM page is never PageAnonExclusive, so a FOLL_PIN (R/O too) unshares it: FAULT_FLAG_UNSHARE -> do_wp_page() -> wp_page_copy() gives the process an exclusive copy, the other mapping keeps the KSM page (COW rework, 5.19+)',
      commits: ['a7f226604170'],
    },
    {
      cases: 'get/*',
      kernels: '*',
      answer: { ret: 1, note: 'the KSM page; the twin still merged' },
      source: 'gup_must_unshare(): FOLL_GET never unshares, so follow_page_pte() hands out the KSM page itself',
    },
  ],
  // The four holding models (issue 21). Pins and references keep the page
  // itself; the mirror keeps nothing and follows the process through its
  // notifier. Read in 5.10, 6.1, 6.12 and 7.3; the same functions decide on
  // every line in between.
  models: [
    {
      cases: 'munmap/odp',
      kernels: '*',
      answer: { note: 'holder reads EFAULT; first invalidation unmap' },
      source:
        'unmap_vmas() (mm/memory.c) -> mmu_notifier_invalidate_range_start(MMU_NOTIFY_UNMAP) invalidates the mirror; the refill finds no vma: hmm_range_fault() -EFAULT',
    },
    {
      cases: 'munmap/*',
      kernels: '*',
      answer: { note: 'holder reads 0x41' },
      source: "unmap_vmas() zaps the ptes and drops the mapping's reference only; the pin (or FOLL_GET reference) keeps the page, so the holder still reads it",
    },
    {
      cases: 'dontneed/odp',
      kernels: '*',
      answer: { note: 'process reads 0x0; holder reads 0x0; first invalidation clear' },
      source:
        'madvise_dontneed_single_vma() -> zap_page_range() (6.3+: zap_page_range_single()): MMU_NOTIFY_CLEAR; the refill maps the zero page the process sees',
    },
    {
      cases: 'dontneed/*',
      kernels: '*',
      answer: { note: 'process reads 0x0; holder reads 0x41' },
      source:
        'zap_page_range() / zap_page_range_single() zap the pte whatever holds the page (no pin check); the process faults in a fresh zero page, the holder keeps the old one',
    },
    {
      cases: 'mprotect/odp',
      kernels: '*',
      answer: { note: 'holder write refused EPERM; holder reads 0x41; first invalidation protectionVma' },
      source:
        'change_pmd_range() (mm/mprotect.c): MMU_NOTIFY_PROTECTION_VMA; a write refill of the now read-only vma: hmm_vma_fault() -EPERM without VM_WRITE (mm/hmm.c), a read refill maps the same page',
    },
    {
      cases: 'mprotect/*',
      kernels: '*',
      answer: { note: 'holder write reaches the process; holder reads 0x43' },
      source: 'change_protection() changes the pte protection only: the held page stays mapped, and a device write into it is what the process reads',
    },
    {
      cases: 'fork-write/odp',
      kernels: '*',
      answer: { note: 'process reads 0x42; holder reads 0x42; first invalidation protectionPage' },
      source:
        "copy_page_range() of a COW mapping: MMU_NOTIFY_PROTECTION_PAGE (write-protects the parent); the refill follows the parent's pte to the page it wrote",
    },
    {
      cases: 'fork-write/ref',
      kernels: '*',
      answer: { note: 'process reads 0x42; holder reads 0x41' },
      source:
        "FOLL_GET does not mark the page maybe-DMA-pinned: fork shares it, and the parent's write fault cannot reuse a page with an extra reference (do_wp_page(); 6.x wp_can_reuse_anon_folio()) so it copies: the holder keeps the old page",
    },
    {
      cases: 'fork-write/*',
      kernels: '*',
      answer: { note: 'process reads 0x42; holder reads 0x42' },
      source:
        'copy_present_pte() -> page_needs_cow_for_dma() / folio_needs_cow_for_dma(): a maybe-DMA-pinned anon page is copied for the child at fork (5.9: "mm: Do early cow for pinned pages during fork() for ptes"); the parent keeps writing to the pinned page',
    },
    {
      cases: 'truncate/odp',
      kernels: '*',
      answer: { note: 'process reads 0x0; holder reads 0x0; first invalidation clear' },
      source: "shmem_setattr() -> unmap_mapping_range() -> zap_page_range_single(): MMU_NOTIFY_CLEAR; the refill faults in the regrown file's new page",
    },
    {
      cases: 'truncate/*',
      kernels: '*',
      answer: { note: 'process reads 0x0; holder reads 0x41' },
      source:
        'shmem_undo_range() -> truncate_inode_folio() (5.10: truncate_inode_page()) takes the page out of the file whatever holds it; the holder keeps the orphan, the regrown file gets a new zeroed page',
    },
    // msync and pageout hold a page of a shared ext4 file, written and
    // msync'd (clean, 0x41 on disk) before the hold. The rows from here on
    // were read in the whole 6.12 tree, and in 6.1 and 5.10 for the
    // functions they name where those differ (the stable backports named
    // below); 7.3 was run (matrix, and a two-node guest for migrate), not
    // read.
    {
      cases: 'msync/rdma',
      kernels: '>=6.5',
      answer: { note: 'hold refused -14' },
      source:
        'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a shared ext4 mapping (6.5+; GUP-fast: folio_fast_pin_allowed() 6.5-6.9, gup_fast_folio_allowed() from 6.10)',
      commits: ['8ac268436e6d', 'a6e79df92e4a'],
    },
    {
      cases: 'pageout/rdma',
      kernels: '>=6.5',
      answer: { note: 'hold refused -14' },
      source:
        'check_vma_flags() -> writable_file_mapping_allowed(): vma_needs_dirty_tracking() refuses FOLL_PIN|FOLL_LONGTERM|FOLL_WRITE on a shared ext4 mapping (6.5+)',
      commits: ['8ac268436e6d', 'a6e79df92e4a'],
    },
    {
      cases: 'msync/odp',
      kernels: '*',
      answer: { note: 'process reads 0x42; holder reads 0x42; invalidations protectionPage' },
      source:
        'msync(MS_SYNC) -> vfs_fsync_range() -> ext4_writepages() -> folio_clear_dirty_for_io() (5.10: clear_page_dirty_for_io()) -> folio_mkclean() -> page_vma_mkclean_one() (5.10, 6.1: page_mkclean_one()): MMU_NOTIFY_PROTECTION_PAGE (mm/rmap.c); the refill follows the pte to the same page-cache page',
    },
    {
      cases: 'msync/*',
      kernels: '*',
      answer: { note: 'process reads 0x42; holder reads 0x42' },
      source:
        'folio_mkclean() write-protects and cleans the pte only: the page stays in the page cache and mapped, so the pinned (or referenced) page is the one the process wrote and writeback wrote out; nothing in ext4_writepages() skips a pinned page',
    },
    {
      cases: 'pageout/odp',
      kernels: '*',
      answer: { note: 'process pte gone; page reclaimed; process reads 0x41; holder reads 0x41; invalidations protectionPage, clear' },
      source:
        'msync() cleans the page (page_vma_mkclean_one(): MMU_NOTIFY_PROTECTION_PAGE), then madvise_pageout() -> reclaim_pages() -> shrink_folio_list() (5.10: shrink_page_list()): try_to_unmap() -> try_to_unmap_one(): MMU_NOTIFY_CLEAR; a clean page nobody holds passes __remove_mapping() and is freed; the process and the refill read it back from disk',
    },
    {
      cases: 'pageout/*',
      kernels: '*',
      answer: { note: 'process pte gone; page cache keeps it; process reads 0x41; holder reads 0x41' },
      source:
        'shrink_folio_list(): try_to_unmap() unmaps a file folio whatever holds it (the anon-exclusive test in try_to_unmap_one() is for anon pages); then a pinned folio goes to activate_locked at folio_maybe_dma_pinned() (d824ec2a1546 "mm: do not reclaim private data from pinned page", 6.4, backported to 6.1.y in May 2023), and a FOLL_GET reference (or a pin before that fix) fails folio_ref_freeze() in __remove_mapping(): the page stays in the page cache, the process refaults the same page',
    },
    // A THP of anonymous memory, held on its first page, split through
    // debugfs (split_huge_pages_pid(): pid ranges since 5.13; before, the
    // probe skips).
    {
      cases: 'thp-split/odp',
      kernels: '>=5.13',
      answer: { note: 'folio order 0; process reads 0x41; holder reads 0x41; invalidations clear' },
      source:
        'split_huge_pages_pid() -> split_folio() (6.1: split_huge_page()) -> unmap_folio() (6.1: unmap_page()) -> try_to_migrate(TTU_SPLIT_HUGE_PMD) -> split_huge_pmd_address() -> __split_huge_pmd(): MMU_NOTIFY_CLEAR over the PMD; the refill maps the same data, now an order-0 page',
      commits: ['fa6c02315f74'],
    },
    {
      cases: 'thp-split/*',
      kernels: '>=5.13',
      answer: { note: 'folio order 9; process reads 0x41; holder reads 0x41' },
      source:
        'split_huge_pages_pid(): can_split_folio() counts the pin (GUP_PIN_COUNTING_BIAS) or the FOLL_GET reference as an extra reference and skips the folio: no split, no invalidation, the holder and the process share the THP',
      commits: ['fa6c02315f74'],
    },
    // Only in a two-node guest (vm run --numa 2); the check guest has one node.
    {
      cases: 'migrate/odp',
      kernels: '*',
      answer: { note: 'move_pages 0; moved; process reads 0x41; holder reads 0x41; invalidations clear' },
      source:
        'do_pages_move() -> migrate_pages() -> migrate_folio_unmap() (6.1: __unmap_and_move()) -> try_to_migrate() -> try_to_migrate_one(): MMU_NOTIFY_CLEAR (5.10: try_to_unmap(TTU_MIGRATION) -> try_to_unmap_one()); nothing holds the page, so the copy succeeds; the refill maps the page on the new node',
    },
    {
      cases: 'migrate/*',
      kernels: '*',
      answer: { note: 'move_pages 1; stayed; process reads 0x41; holder reads 0x41' },
      source:
        'a pinned exclusive anon page: try_to_migrate_one() -> folio_try_share_anon_rmap_pte() (6.1: page_try_share_anon_rmap()) refuses a maybe-DMA-pinned page, so it is not unmapped; a FOLL_GET page: __folio_migrate_mapping() (6.1: folio_migrate_mapping()) finds refcount != expected: -EAGAIN either way, NR_MAX_MIGRATE_PAGES_RETRY times, then failed; move_pages_and_store_status() returns the pages not migrated ("err += nr_pages - i", Huang Ying\'s fix of 5984fabb6e82)',
    },
  ],
  // A pinned anonymous page under MADV_PAGEOUT (issue 33 part 4), swap on.
  // madvise_cold_or_pageout_pte_range() isolates any exclusive small page
  // on the LRU (it looks at PG_lru and the mapcount, never the refcount:
  // 5.15.100 mm/madvise.c:443, 6.1.192 :459, 6.12.118 :518, 7.3.4 :533), so
  // whether a held page is reclaimed is shrink_folio_list()'s call. Read in
  // 5.15.100, 6.0.19, 6.1.192, 6.12.118 and 7.3.4; run on 6.1, 6.12, 7.3.
  'pageout-pinned': [
    {
      cases: 'unpinned',
      kernels: '*',
      answer: { note: 'swap entry; process reads 0x41' },
      source:
        'madvise_pageout() -> reclaim_pages() -> shrink_folio_list() (5.15: shrink_page_list()): add_to_swap() (7.3: folio_alloc_swap()), try_to_unmap() -> try_to_unmap_one() installs a swap pte, pageout() writes it; the process faults it back (do_swap_page()). Whether the same frame comes back depends on the swap device (a synchronous one frees the page at once), so the note does not say',
    },
    {
      cases: 'pin*/*',
      kernels: '[5.9,5.10.9)',
      answer: { ret: 1, note: 'swap entry, in swap cache; read: same page; write: another page; holder stale' },
      source:
        'shrink_page_list() before feb889fb40fa: a pinned anon page goes into the swap cache (add_to_swap()), try_to_unmap_one() unmaps it (no pin test before 5.19) and pageout() writes it; __remove_mapping() cannot freeze the pinned refcount, so the swap cache keeps it. The read fault maps it read-only (do_swap_page() calls reuse_swap_page() on write faults only), and the write fault copies: do_wp_page() reuses only at page_count() == 1 (09854ba94c6a, 5.9; before it reuse_swap_page() reused the page). Read in 5.15.100 (the same shrink_page_list(), try_to_unmap_one(), do_swap_page() and do_wp_page() but for the check); 5.10.0-5.10.8 not read',
      commits: ['09854ba94c6a', 'feb889fb40fa'],
    },
    {
      cases: 'pin*/*',
      kernels: '>=5.10.9',
      answer: { ret: 1, note: 'mapped, not in swap cache; read: same page; write: same page; holder sees the write' },
      source:
        'shrink_folio_list() (5.15: shrink_page_list()): "if (folio_maybe_dma_pinned(folio)) goto keep_locked;" before the folio is added to swap (feb889fb40fa, 5.11; 5.10.9): a FOLL_PIN page (GUP_PIN_COUNTING_BIAS in its refcount), read-only, writable or long-term alike, is never unmapped, so the process keeps writing the pinned page. From 5.19 try_to_unmap_one() would refuse it too (page_try_share_anon_rmap() / folio_try_share_anon_rmap_pte(): -EBUSY for a maybe-DMA-pinned page), never reached for a small folio',
      commits: ['feb889fb40fa'],
    },
    {
      cases: 'get/*',
      kernels: '[5.9,5.19)',
      answer: { ret: 1, note: 'swap entry, in swap cache; read: same page; write: another page; holder stale' },
      source:
        'A FOLL_GET page is not maybe-DMA-pinned: add_to_swap(), try_to_unmap_one() installs a swap pte, pageout() writes it, and __remove_mapping() cannot freeze the extra reference, so the swap cache keeps the page. The read fault maps it read-only (5.15.100 mm/memory.c:3650: reuse_swap_page() on write faults only); the write fault copies it, do_wp_page() reusing only at page_count() == 1 (5.15.100 mm/memory.c:3299; 09854ba94c6a, 5.9): the holder keeps the old page',
      commits: ['09854ba94c6a', '6c287605fd56', '1493a1913e34'],
    },
    {
      cases: 'get/*',
      kernels: '>=5.19',
      answer: { ret: 1, note: 'swap entry, in swap cache; read: same page; write: same page; holder sees the write' },
      source:
        "try_to_unmap_one(): the FOLL_GET page is not maybe-DMA-pinned, so page_try_share_anon_rmap() (6.12+: folio_try_share_anon_rmap_pte()) lets it go and the swap pte keeps its exclusive bit (1493a1913e34); the swap cache keeps the referenced page. do_swap_page() maps that same page RMAP_EXCLUSIVE (pte_swp_exclusive(); 7.3 maps it writable on the read fault already), and the write reuses it (do_wp_page(): PageAnonExclusive, 6c287605fd56): the holder reads the write. (A swap device with SWP_STABLE_WRITES still under writeback drops the exclusive bit and the write copies: not the guest's virtio disk.)",
      commits: ['6c287605fd56', '1493a1913e34'],
    },
  ],
  hwpoison: [
    {
      cases: 'pinned-before',
      kernels: '<5.15.80',
      answer: { ret: 1, note: 'madvise EBUSY; no SIGBUS; holder reads EHWPOISON' },
      source:
        'madvise_inject_error() -> memory_failure(pfn, MF_COUNT_INCREASED): the page is poisoned and unmapped (hwpoison entry); page_action() then counts every reference left, the pin\'s too ("dirty LRU page still referenced by 1024 users": GUP_PIN_COUNTING_BIAS), so recovery is MF_FAILED and madvise() -EBUSY; no MF_ACTION_REQUIRED and early kill off: no SIGBUS. The page is PG_hwpoison either way: the module\'s ACCESS refuses it with -EHWPOISON (kmod/compat.h guplab_copy_page(); a holder reading it on real hardware would take a machine check)',
      commits: ['dd0f230a0a80'],
    },
    {
      cases: 'pinned-before',
      kernels: '[5.15.80,6.11)',
      answer: { ret: 1, note: 'madvise ok; no SIGBUS; holder reads EHWPOISON' },
      source:
        'me_pagecache_clean() (6.1.192 mm/memory-failure.c): an anonymous page is MF_RECOVERED before has_extra_refcount() is asked (dd0f230a0a80 "mm: hwpoison: refactor refcount check handling", 5.16 and 5.15.80, moved the count from page_action() into the handlers; 5.15.100 mm/memory-failure.c:871), so the pin does not fail the recovery; madvise_inject_error() passes MF_COUNT_INCREASED | MF_SW_SIMULATED, not MF_ACTION_REQUIRED: no SIGBUS',
      commits: ['dd0f230a0a80'],
    },
    {
      cases: 'pinned-before',
      kernels: '>=6.11',
      answer: { ret: 1, note: 'madvise ok; SIGBUS BUS_MCEERR_AR; holder reads EHWPOISON' },
      source:
        'madvise_inject_error() passes MF_ACTION_REQUIRED (6.12.117 mm/madvise.c; "mm/madvise: add MF_ACTION_REQUIRED to madvise(MADV_HWPOISON)", 6.11): kill_procs() -> kill_proc() sends the caller BUS_MCEERR_AR; the anonymous page is still MF_RECOVERED with the pin held',
      commits: ['66802526298e'],
    },
    {
      cases: 'hwpoison/*',
      kernels: '*',
      answer: { ret: -133 },
      source:
        'faultin_page() -> handle_mm_fault() -> do_swap_page() meets the hwpoison entry: VM_FAULT_HWPOISON; vm_fault_to_errno() gives -EHWPOISON with FOLL_HWPOISON',
    },
    {
      cases: 'hmm_range_fault',
      kernels: '*',
      answer: { note: 'EFAULT' },
      source:
        'hmm_vma_handle_pte() (mm/hmm.c): a non-present pte that is neither a swap, device-private nor migration entry is "Report error for everything else": -EFAULT',
    },
    {
      cases: '*',
      kernels: '*',
      answer: { ret: EFAULT },
      source: 'vm_fault_to_errno(): VM_FAULT_HWPOISON without FOLL_HWPOISON is -EFAULT (GUP-fast finds no present pte and falls back to the same slow path)',
    },
  ],
};
