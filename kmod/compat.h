/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Every kernel-version difference guplab depends on, keyed on
 * LINUX_VERSION_CODE. Built and tested against Debian's 5.10, 6.1, 6.12,
 * 7.2 and 7.3; the version boundaries come from the kernel's history
 * (mm/gup.c, mm.h, highmem.h). Debian has no line between 5.10 and 6.1, so
 * the branches for 5.11-6.0 are written from that history, never built.
 */
#ifndef _GUPLAB_COMPAT_H
#define _GUPLAB_COMPAT_H

#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/magic.h>
#include <linux/mm.h>
#include <linux/sched.h>
#include <linux/sched/coredump.h>
#include <linux/sched/signal.h>
#include <linux/uaccess.h>
#include <linux/version.h>

#include "uapi/guplab.h"

/*
 * Whether another process's mm may be used without CAP_SYS_PTRACE as far as
 * dumpability goes (ptrace's rule). Up to 6.x dumpability lives in mm->flags
 * (get_dumpable). Debian's 7.x moved it to task->exec_state, read through
 * task_exec_state_get_dumpable(), which is not exported: there a module
 * cannot tell a non-dumpable (setuid) target apart, so only the caller's own
 * mm passes and any other needs CAP_SYS_PTRACE.
 */
#ifdef SUID_DUMP_USER
#define guplab_mm_dumpable(mm)	(get_dumpable(mm) == SUID_DUMP_USER)
#else
#define guplab_mm_dumpable(mm)	((mm) == current->mm)
#endif

/*
 * mm_access() (kernel/fork.c) holds the target's exec_update_lock while it
 * takes the mm and checks access, so that a concurrent execve cannot hand
 * out the new image's mm under the old credentials. 5.7 added it as
 * signal->exec_update_mutex; 5.11 made it the exec_update_lock rw_semaphore
 * ("exec: Transform exec_update_mutex into a rw_semaphore"), which 5.10.y
 * took too from 5.10.6 (ChangeLog-5.10.6; Debian's 5.10.0-46 headers have
 * exec_update_lock).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 10, 6)
static inline int guplab_exec_update_lock(struct task_struct *task)
{
	return down_read_killable(&task->signal->exec_update_lock);
}

static inline void guplab_exec_update_unlock(struct task_struct *task)
{
	up_read(&task->signal->exec_update_lock);
}
#else
static inline int guplab_exec_update_lock(struct task_struct *task)
{
	return mutex_lock_killable(&task->signal->exec_update_mutex);
}

static inline void guplab_exec_update_unlock(struct task_struct *task)
{
	mutex_unlock(&task->signal->exec_update_mutex);
}
#endif

/*
 * memfd_secret memory (5.14, "mm: introduce memfd_secret system call to
 * create secret memory areas") is off the kernel's direct map. GUP refuses
 * it (check_vma_flags(): vma_is_secretmem()); hmm_range_fault() does not, so
 * the mirror asks itself. vma_is_secretmem() changed form over time (VM_
 * SECRETMEM, then secretmem_mapping() on secretmem_aops, which modules
 * cannot see): the file's superblock magic is the same on every version.
 */
#ifdef SECRETMEM_MAGIC
static inline bool guplab_vma_is_secretmem(struct vm_area_struct *vma)
{
	struct file *file = vma->vm_file;

	return file && file_inode(file)->i_sb->s_magic == SECRETMEM_MAGIC;
}
#else
static inline bool guplab_vma_is_secretmem(struct vm_area_struct *vma)
{
	return false;
}
#endif

/*
 * Marks a page dirty without its lock: for a page still mapped by a pte
 * that an mmu notifier has not yet cleared, which keeps truncation away,
 * as zap_pte_range() and RDMA ODP (ib_umem_odp_unmap_dma_pages()) do.
 * folio_mark_dirty() came with folios in 5.16.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
#define guplab_mark_dirty(page)	folio_mark_dirty(page_folio(page))
#else
#define guplab_mark_dirty(page)	set_page_dirty(page)
#endif

/* 6.3 removed pin_user_pages_fast_only (no callers left). */
#define GUPLAB_HAVE_PIN_FAST_ONLY	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0))

/*
 * Public FOLL_* flags: FOLL_NOFAULT came in 5.16 ("gup: Introduce
 * FOLL_NOFAULT flag to disable page faults"), FOLL_INTERRUPTIBLE in 6.2,
 * FOLL_HONOR_NUMA_FAULT in 6.6. A flag this kernel lacks maps to 0, which
 * keeps it out of INFO's flag_mask: a call with it is refused with EINVAL.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 16, 0)
#define GUPLAB_FOLL_NOFAULT FOLL_NOFAULT
#else
#define GUPLAB_FOLL_NOFAULT 0
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 2, 0)
#define GUPLAB_FOLL_INTERRUPTIBLE FOLL_INTERRUPTIBLE
#else
#define GUPLAB_FOLL_INTERRUPTIBLE 0
#endif
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 6, 0)
#define GUPLAB_FOLL_HONOR_NUMA_FAULT FOLL_HONOR_NUMA_FAULT
#else
#define GUPLAB_FOLL_HONOR_NUMA_FAULT 0
#endif
/* The rest are public on every kernel guplab builds for (0 = not on this kernel). */
#define GUPLAB_FOLL_WRITE	FOLL_WRITE
#define GUPLAB_FOLL_LONGTERM	FOLL_LONGTERM
#define GUPLAB_FOLL_FORCE	FOLL_FORCE
#define GUPLAB_FOLL_NOWAIT	FOLL_NOWAIT
#define GUPLAB_FOLL_HWPOISON	FOLL_HWPOISON
#define GUPLAB_FOLL_ANON	FOLL_ANON
#define GUPLAB_FOLL_SPLIT_PMD	FOLL_SPLIT_PMD
#define GUPLAB_FOLL_DUMP	FOLL_DUMP

/*
 * Calls the kernel refuses through WARN_ON_ONCE, per API family: guplab
 * passes them through and reports them in INFO (warn_flags) so that a
 * harness can expect the WARN. Read from mm/gup.c of each version:
 * - GUP-fast (internal_get_user_pages_fast / gup_fast_fallback) WARNs on
 *   any flag outside WRITE|LONGTERM|FORCE|PIN|GET|FAST_ONLY|NOFAULT
 *   (6.12 also allows HONOR_NUMA_FAULT).
 * - Before 6.3, is_valid_gup_flags() WARNs on FOLL_LONGTERM for the get_*
 *   entry points, and FOLL_LONGTERM with a "locked" pointer (*_unlocked,
 *   *_remote) WARNs in __gup_longterm_locked's callers. 6.3's
 *   is_valid_gup_args() allows LONGTERM with pin_* and refuses it with
 *   get_* (FOLL_GET) through WARN_ON_ONCE.
 */
#define GUPLAB_WARN_FAST_COMMON (GUPLAB_FLAG_NOWAIT | GUPLAB_FLAG_HWPOISON | GUPLAB_FLAG_ANON | \
				 GUPLAB_FLAG_SPLIT_PMD | GUPLAB_FLAG_DUMP)
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define GUPLAB_WARN_FAST	GUPLAB_WARN_FAST_COMMON
#else
#define GUPLAB_WARN_FAST	(GUPLAB_WARN_FAST_COMMON | GUPLAB_FLAG_INTERRUPTIBLE)
#endif

#define GUPLAB_WARN_GET		GUPLAB_FLAG_LONGTERM
/*
 * get_user_pages_unlocked() WARNs on FOLL_LONGTERM itself before 6.2 (it
 * never calls is_valid_gup_flags()). 6.2 dropped that WARN ("mm/gup: remove
 * the restriction on locked with FOLL_LONGTERM") but sends the call to
 * __gup_longterm_locked(), whose WARN_ON(!(gup_flags & FOLL_PIN)) refuses
 * FOLL_GET|FOLL_LONGTERM on every call (6.2.12 mm/gup.c:2069); 6.3's
 * is_valid_gup_args() refuses it first. Every version WARNs.
 */
#define GUPLAB_WARN_GET_UNLOCKED GUPLAB_FLAG_LONGTERM
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
/* 6.1 get_user_pages_fast_only() checks no flags: LONGTERM goes through. */
#define GUPLAB_WARN_GET_FAST_ONLY 0
#define GUPLAB_WARN_PIN_LOCKED	(LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0) ? GUPLAB_FLAG_LONGTERM : 0) /* *_unlocked, *_remote: 6.2 "mm/gup: remove the restriction on locked with FOLL_LONGTERM" */
#else
#define GUPLAB_WARN_GET_FAST_ONLY GUPLAB_FLAG_LONGTERM
#define GUPLAB_WARN_PIN_LOCKED	0
#endif

/* 6.5 dropped the vmas argument of get/pin_user_pages and *_remote. */
static inline long guplab_get_user_pages(unsigned long start, unsigned long nr,
					 unsigned int foll, struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages(start, nr, foll, pages, NULL);
#else
	return get_user_pages(start, nr, foll, pages);
#endif
}

static inline long guplab_pin_user_pages(unsigned long start, unsigned long nr,
					 unsigned int foll, struct page **pages)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return pin_user_pages(start, nr, foll, pages, NULL);
#else
	return pin_user_pages(start, nr, foll, pages);
#endif
}

static inline long guplab_get_user_pages_remote(struct mm_struct *mm, unsigned long start,
						unsigned long nr, unsigned int foll,
						struct page **pages, int *locked)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return get_user_pages_remote(mm, start, nr, foll, pages, NULL, locked);
#else
	return get_user_pages_remote(mm, start, nr, foll, pages, locked);
#endif
}

static inline long guplab_pin_user_pages_remote(struct mm_struct *mm, unsigned long start,
						unsigned long nr, unsigned int foll,
						struct page **pages, int *locked)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 5, 0)
	return pin_user_pages_remote(mm, start, nr, foll, pages, NULL, locked);
#else
	return pin_user_pages_remote(mm, start, nr, foll, pages, locked);
#endif
}

static inline long guplab_pin_user_pages_fast_only(unsigned long start, int nr,
						   unsigned int foll, struct page **pages)
{
#if GUPLAB_HAVE_PIN_FAST_ONLY
	return pin_user_pages_fast_only(start, nr, foll, pages);
#else
	return -EOPNOTSUPP;	/* not in api_mask: never reached */
#endif
}

/*
 * Per entry point of GUPLAB_APIS (uapi/guplab.h): whether this kernel has it
 * (INFO's api_mask), and the call with the caller's arguments (mm is the
 * target's for REMOTE, the caller's otherwise; locked only for REMOTE).
 * An entry point without both lines does not build.
 */
#define GUPLAB_HAVE_GET_USER_PAGES_FAST		1
#define GUPLAB_HAVE_PIN_USER_PAGES_FAST		1
#define GUPLAB_HAVE_GET_USER_PAGES_UNLOCKED	1
#define GUPLAB_HAVE_PIN_USER_PAGES_UNLOCKED	1
#define GUPLAB_HAVE_GET_USER_PAGES_FAST_ONLY	1
#define GUPLAB_HAVE_PIN_USER_PAGES_FAST_ONLY	GUPLAB_HAVE_PIN_FAST_ONLY
#define GUPLAB_HAVE_GET_USER_PAGES		1
#define GUPLAB_HAVE_PIN_USER_PAGES		1
#define GUPLAB_HAVE_GET_USER_PAGES_REMOTE	1
#define GUPLAB_HAVE_PIN_USER_PAGES_REMOTE	1

#define GUPLAB_CALL_GET_USER_PAGES_FAST(mm, a, n, f, p, l)	get_user_pages_fast(a, n, f, p)
#define GUPLAB_CALL_PIN_USER_PAGES_FAST(mm, a, n, f, p, l)	pin_user_pages_fast(a, n, f, p)
#define GUPLAB_CALL_GET_USER_PAGES_UNLOCKED(mm, a, n, f, p, l)	get_user_pages_unlocked(a, n, p, f)
#define GUPLAB_CALL_PIN_USER_PAGES_UNLOCKED(mm, a, n, f, p, l)	pin_user_pages_unlocked(a, n, p, f)
#define GUPLAB_CALL_GET_USER_PAGES_FAST_ONLY(mm, a, n, f, p, l)	get_user_pages_fast_only(a, n, f, p)
#define GUPLAB_CALL_PIN_USER_PAGES_FAST_ONLY(mm, a, n, f, p, l)	guplab_pin_user_pages_fast_only(a, n, f, p)
#define GUPLAB_CALL_GET_USER_PAGES(mm, a, n, f, p, l)		guplab_get_user_pages(a, n, f, p)
#define GUPLAB_CALL_PIN_USER_PAGES(mm, a, n, f, p, l)		guplab_pin_user_pages(a, n, f, p)
#define GUPLAB_CALL_GET_USER_PAGES_REMOTE(mm, a, n, f, p, l)	guplab_get_user_pages_remote(mm, a, n, f, p, l)
#define GUPLAB_CALL_PIN_USER_PAGES_REMOTE(mm, a, n, f, p, l)	guplab_pin_user_pages_remote(mm, a, n, f, p, l)

/*
 * Folios (struct folio, page_folio() and the folio_* calls below) came in
 * 5.16; before, a compound page's head page is what a folio is. These
 * shims give guplab_fill_facts() the folio calls it makes, over the head
 * page, with the page-flag test each folio call wraps.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
struct folio;

static inline struct page *guplab_folio_page(struct folio *folio)
{
	return (struct page *)folio;
}

static inline struct folio *page_folio(struct page *page)
{
	return (struct folio *)compound_head(page);
}

static inline bool folio_test_hugetlb(struct folio *folio)
{
	return PageHuge(guplab_folio_page(folio));
}

static inline bool folio_is_zone_device(struct folio *folio)
{
	return is_zone_device_page(guplab_folio_page(folio));
}

static inline bool folio_test_anon(struct folio *folio)
{
	return PageAnon(guplab_folio_page(folio));
}

static inline bool folio_test_ksm(struct folio *folio)
{
	return PageKsm(guplab_folio_page(folio));
}

static inline bool folio_test_swapbacked(struct folio *folio)
{
	return PageSwapBacked(guplab_folio_page(folio));
}

static inline bool folio_test_large(struct folio *folio)
{
	return PageCompound(guplab_folio_page(folio));
}

/* page_maybe_dma_pinned() reads the head's pincount or refcount itself. */
static inline bool folio_maybe_dma_pinned(struct folio *folio)
{
	return page_maybe_dma_pinned(guplab_folio_page(folio));
}

static inline unsigned int folio_order(struct folio *folio)
{
	return compound_order(guplab_folio_page(folio));
}

static inline int folio_ref_count(struct folio *folio)
{
	return page_ref_count(guplab_folio_page(folio));
}

static inline void *guplab_folio_mapping(struct folio *folio)
{
	return READ_ONCE(guplab_folio_page(folio)->mapping);
}
#else
static inline void *guplab_folio_mapping(struct folio *folio)
{
	return READ_ONCE(folio->mapping);
}
#endif

/*
 * kmap_local_page() came in 5.11; before, kmap_atomic() is the short-lived
 * mapping (it also disables preemption: nothing between map and unmap sleeps).
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 11, 0)
static inline void *kmap_local_page(struct page *page)
{
	return kmap_atomic(page);
}

static inline void guplab_kunmap_local(void *addr)
{
	kunmap_atomic(addr);
}
#define kunmap_local(addr) guplab_kunmap_local(addr)
#endif

/*
 * Copies into (write) or out of a page through the kernel's mapping of it,
 * as a device doing DMA would, without trusting that mapping: a page off the
 * direct map (memfd_secret) answers -EFAULT instead of a kernel oops
 * (copy_from_kernel_nofault() takes the fault through the exception table;
 * copy_to_kernel_nofault() is not exported, so a write first reads its
 * first byte that way: pages leave the direct map whole). A page marked
 * PG_hwpoison (the page itself, or a hugetlb folio's head) answers
 * -EHWPOISON as GUP does with FOLL_HWPOISON: on real hardware, reading it
 * would raise a machine check in the kernel. A write flushes the D-cache
 * afterwards as memcpy_to_page() does (an executable page written this way
 * must be coherent with the I-cache on arm64).
 */
static inline int guplab_copy_page(struct page *page, size_t offset, void *buf, size_t len,
				   bool write)
{
	char *kaddr, probe;
	long err;

	if (PageHWPoison(page) || PageHWPoison(compound_head(page)))
		return -EHWPOISON;
	kaddr = kmap_local_page(page);
	if (write) {
		err = copy_from_kernel_nofault(&probe, kaddr + offset, 1);
		if (!err)
			memcpy(kaddr + offset, buf, len);
	} else {
		err = copy_from_kernel_nofault(buf, kaddr + offset, len);
	}
	kunmap_local(kaddr);
	if (err)
		return -EFAULT;
	if (write)
		flush_dcache_page(page);
	return 0;
}

/*
 * Exact FOLL_PIN count of a large folio: 6.1 kept it in the first tail
 * page (folio_pincount_ptr); before folios (5.16), only compound pages of
 * order 2 and more had it (the third page's compound_pincount, see
 * hpage_pincount_available()), so an order-1 page reports none.
 */
static inline int guplab_folio_pincount(struct folio *folio)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 16, 0)
	struct page *head = guplab_folio_page(folio);

	if (!hpage_pincount_available(head))
		return -1;
	return head_compound_pincount(head);
#else
	if (!folio_test_large(folio))
		return -1;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	return atomic_read(folio_pincount_ptr(folio));
#else
	return atomic_read(&folio->_pincount);
#endif
#endif
}

/*
 * folio_is_longterm_pinnable() reads the pageblock migratetype under
 * CONFIG_CMA, through get_pfnblock_flags_mask(), which modules cannot call.
 * There, apply its other rules: CMA pageblocks are not recognised.
 */
static inline bool guplab_folio_longterm_pinnable(struct folio *folio)
{
#if LINUX_VERSION_CODE < KERNEL_VERSION(5, 13, 0)
	/*
	 * Before 5.13 ("mm/gup: migrate pinned pages out of movable zone")
	 * FOLL_LONGTERM moved only CMA pages (check_and_migrate_cma_pages()),
	 * and refused DAX by the VMA (check_dax_vmas()): any page a module can
	 * tell apart, ZONE_MOVABLE included, is pinnable where it is.
	 */
	return true;
#elif !defined(CONFIG_CMA)
	return folio_is_longterm_pinnable(folio);
#else
	if (is_zero_pfn(folio_pfn(folio)))
		return true;
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
	if (is_device_coherent_page(&folio->page))
		return false;
#else
	if (folio_is_device_coherent(folio))
		return false;
#endif
	return zone_idx(folio_zone(folio)) != ZONE_MOVABLE;
#endif
}

/*
 * 6.3 made vma->vm_flags read-only and added vm_flags_clear() (which
 * asserts the mmap write lock, held in ->mmap): "mm: introduce
 * vma->vm_flags wrapper functions". Before, the field is written directly.
 */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 3, 0)
static inline void guplab_vm_flags_clear(struct vm_area_struct *vma, unsigned long flags)
{
	vma->vm_flags &= ~flags;
}
#else
#define guplab_vm_flags_clear(vma, flags)	vm_flags_clear(vma, flags)
#endif

/*
 * MMU_NOTIFY_EXCLUSIVE came with device-exclusive access in 5.14 ("mm:
 * device exclusive memory access"); 5.10's enum mmu_notifier_event ends at
 * MMU_NOTIFY_MIGRATE.
 */
#define GUPLAB_HAVE_NOTIFY_EXCLUSIVE	(LINUX_VERSION_CODE >= KERNEL_VERSION(5, 14, 0))

#endif /* _GUPLAB_COMPAT_H */
