// SPDX-License-Identifier: GPL-2.0
/*
 * guplab's mirror: user memory held the on-demand-paging (ODP) way, the
 * fourth way beside FOLL_PIN (DIO), FOLL_PIN | FOLL_LONGTERM (RDMA) and
 * FOLL_GET. No page reference is taken. The mirror's page table is filled
 * by hmm_range_fault(), and an mmu_interval_notifier invalidates its
 * entries whenever the CPU page table changes, so mm may migrate, reclaim,
 * COW or unmap the pages at will; an access through an invalid entry
 * faults it back in. Written as Documentation/mm/hmm.rst and lib/test_hmm.c
 * (the kernel's own reference mirror) have a driver do it.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/highmem.h>
#include <linux/hmm.h>
#include <linux/jiffies.h>
#include <linux/ktime.h>
#include <linux/mm.h>
#include <linux/mmu_notifier.h>
#include <linux/overflow.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "compat.h"
#include "internal.h"

#if IS_ENABLED(CONFIG_HMM_MIRROR)

/* Pages per hmm_range_fault() call at creation: bounded scratch, signals checked between. */
#define GUPLAB_FILL_CHUNK	512

struct guplab_odp {
	struct mmu_interval_notifier notifier;
	struct mutex lock;		/* table and counters; taken by invalidate */
	struct mm_struct *mm;		/* mmgrab()'ed */
	unsigned long start;
	unsigned long nr;
	bool write;
	/* HMM pfns (HMM_PFN_VALID, HMM_PFN_WRITE), 0 when invalid; NULL for BENCH */
	unsigned long *table;
	/* user->locked_vm pages the struct and table are charged (0 for BENCH) */
	unsigned long charged;
	struct guplab_acct acct;
	u64 invalidations;
	u64 faults;
	u64 retries;
	u32 events[GUPLAB_EVENT_SLOTS];
	u32 log_next;
	u32 log_len;
	struct guplab_mirror_event log[GUPLAB_MIRROR_LOG];
};

/* Pages of user->locked_vm a mirror of nr pages with a table is charged: struct and table. */
static unsigned long guplab_odp_charge(unsigned long nr)
{
	return DIV_ROUND_UP(sizeof(struct guplab_odp) + nr * sizeof(unsigned long), PAGE_SIZE);
}

/* Past the mirror's last byte. */
static unsigned long guplab_odp_end(const struct guplab_odp *odp)
{
	return odp->start + (odp->nr << PAGE_SHIFT);
}

static u32 guplab_event(enum mmu_notifier_event event)
{
	switch (event) {
	case MMU_NOTIFY_UNMAP:
		return GUPLAB_EVENT_UNMAP;
	case MMU_NOTIFY_CLEAR:
		return GUPLAB_EVENT_CLEAR;
	case MMU_NOTIFY_PROTECTION_VMA:
		return GUPLAB_EVENT_PROTECTION_VMA;
	case MMU_NOTIFY_PROTECTION_PAGE:
		return GUPLAB_EVENT_PROTECTION_PAGE;
	case MMU_NOTIFY_SOFT_DIRTY:
		return GUPLAB_EVENT_SOFT_DIRTY;
	case MMU_NOTIFY_RELEASE:
		return GUPLAB_EVENT_RELEASE;
	case MMU_NOTIFY_MIGRATE:
		return GUPLAB_EVENT_MIGRATE;
#if GUPLAB_HAVE_NOTIFY_EXCLUSIVE
	case MMU_NOTIFY_EXCLUSIVE:
		return GUPLAB_EVENT_EXCLUSIVE;
#endif
	default:
		return GUPLAB_EVENT_OTHER;
	}
}

/*
 * The CPU page table is about to change over range: record why, and mark
 * the entries it covers invalid. Under the mirror's lock, which a fill
 * holds while it checks mmu_interval_read_retry() and an access holds
 * while it touches a page: after this returns, no one uses the old pages.
 */
static bool guplab_odp_invalidate(struct mmu_interval_notifier *mni,
				  const struct mmu_notifier_range *range, unsigned long cur_seq)
{
	struct guplab_odp *odp = container_of(mni, struct guplab_odp, notifier);
	/* Whole pages: a range that starts or ends inside a page invalidates that page. */
	unsigned long start = max(ALIGN_DOWN(range->start, PAGE_SIZE), odp->start);
	unsigned long end = min(ALIGN(range->end, PAGE_SIZE), guplab_odp_end(odp));
	u32 event = guplab_event(range->event);

	if (mmu_notifier_range_blockable(range))
		mutex_lock(&odp->lock);
	else if (!mutex_trylock(&odp->lock))
		return false;
	mmu_interval_set_seq(mni, cur_seq);
	odp->invalidations++;
	odp->events[event]++;
	odp->log[odp->log_next] = (struct guplab_mirror_event){ .event = event, .start = start, .end = end };
	odp->log_next = (odp->log_next + 1) % GUPLAB_MIRROR_LOG;
	odp->log_len = min_t(u32, odp->log_len + 1, GUPLAB_MIRROR_LOG);
	if (odp->table && start < end)
		memset(&odp->table[(start - odp->start) >> PAGE_SHIFT], 0,
		       ((end - start) >> PAGE_SHIFT) * sizeof(*odp->table));
	mutex_unlock(&odp->lock);
	return true;
}

static const struct mmu_interval_notifier_ops guplab_odp_ops = {
	.invalidate = guplab_odp_invalidate,
};

/*
 * A mirror of [start, start + nr pages) of mm, with a page table unless for
 * BENCH. A table lives as long as user space likes, so it and the struct
 * are charged to the caller's user against RLIMIT_MEMLOCK as held pages are
 * (-ENOMEM past it), before anything is allocated; BENCH's table-less
 * mirror lives for one call.
 */
struct guplab_odp *guplab_odp_new(struct mm_struct *mm, unsigned long start, unsigned long nr,
				  bool write, bool table)
{
	struct guplab_acct acct = { };
	struct guplab_odp *odp;
	unsigned long charge = 0;
	int err;

	if (table) {
		guplab_acct_get(&acct);
		charge = guplab_odp_charge(nr);
		err = guplab_memlock_charge(&acct, charge);
		if (err) {
			guplab_acct_put(&acct);
			return ERR_PTR(err);
		}
	}
	err = -ENOMEM;
	odp = kzalloc(sizeof(*odp), GUPLAB_GFP);
	if (!odp)
		goto out_uncharge;
	if (table) {
		odp->table = kvcalloc(nr, sizeof(*odp->table), GUPLAB_GFP);
		if (!odp->table)
			goto out_free;
	}
	odp->acct = acct;
	odp->charged = charge;
	mutex_init(&odp->lock);
	odp->start = start;
	odp->nr = nr;
	odp->write = write;
	odp->mm = mm;
	mmgrab(mm);
	err = mmu_interval_notifier_insert(&odp->notifier, mm, start, nr << PAGE_SHIFT,
					   &guplab_odp_ops);
	if (err) {
		mmdrop(mm);
		goto out_free;
	}
	return odp;
out_free:
	kvfree(odp->table);
	kfree(odp);
out_uncharge:
	if (table) {
		guplab_memlock_uncharge(&acct, charge);
		guplab_acct_put(&acct);
	}
	return ERR_PTR(err);
}

void guplab_odp_free(struct guplab_odp *odp)
{
	/* Waits for an invalidate in flight; afterwards none can start. */
	mmu_interval_notifier_remove(&odp->notifier);
	mmdrop(odp->mm);
	mutex_destroy(&odp->lock);
	if (odp->table) {
		guplab_memlock_uncharge(&odp->acct, odp->charged);
		guplab_acct_put(&odp->acct);
	}
	kvfree(odp->table);
	kfree(odp);
}

unsigned long guplab_odp_pages(const struct guplab_odp *odp)
{
	return odp->nr;
}

/*
 * Whether a VMA over [start, end) of mm is memfd_secret memory, with mm's
 * mmap_lock held. Such pages are off the direct map: GUP answers -EFAULT
 * (check_vma_flags()), and so does a fill, which hmm_range_fault() itself
 * would not refuse. A VMA that changes later invalidates the range, and the
 * next fill asks again.
 */
static bool guplab_range_secretmem(struct mm_struct *mm, unsigned long start, unsigned long end)
{
	struct vm_area_struct *vma;

	mmap_assert_locked(mm);
	for (vma = find_vma(mm, start); vma && vma->vm_start < end; vma = find_vma(mm, vma->vm_end))
		if (guplab_vma_is_secretmem(vma))
			return true;
	return false;
}

/*
 * Fills entries [first, first + n) with hmm_range_fault(), the notifier
 * sequence loop of Documentation/mm/hmm.rst: read_begin, fault under
 * mmap_read_lock, then commit under the mirror's lock unless an
 * invalidation ran in between (mmu_interval_read_retry()), else again.
 * Without fault, only present pages are recorded; with write, pages are
 * faulted for writing (HMM_PFN_REQ_WRITE). Bounded by
 * HMM_RANGE_DEFAULT_TIMEOUT (-EBUSY) and by signals (-EINTR); -ESRCH once
 * the mm's process has exited; -EFAULT over memfd_secret memory. scratch
 * holds n entries, zeroed before each try (hmm_range_fault() reads input
 * flags from them: 7.x carries HMM_PFN_INOUT_FLAGS through). Returns n or
 * -errno.
 */
long guplab_odp_fill(struct guplab_odp *odp, unsigned long first, unsigned long n, bool fault,
		     bool write, unsigned long *scratch)
{
	struct hmm_range range = {
		.notifier = &odp->notifier,
		.start = odp->start + (first << PAGE_SHIFT),
		.end = odp->start + ((first + n) << PAGE_SHIFT),
		.hmm_pfns = scratch,
		.default_flags = fault ? HMM_PFN_REQ_FAULT | (write ? HMM_PFN_REQ_WRITE : 0) : 0,
	};
	unsigned long timeout = jiffies + msecs_to_jiffies(HMM_RANGE_DEFAULT_TIMEOUT);
	unsigned long i;
	u64 retries = 0;
	long ret;

	if (!mmget_not_zero(odp->mm))
		return -ESRCH;
	for (;;) {
		if (signal_pending(current)) {
			ret = -EINTR;
			break;
		}
		if (time_after(jiffies, timeout)) {
			ret = -EBUSY;
			break;
		}
		range.notifier_seq = mmu_interval_read_begin(range.notifier);
		memset(scratch, 0, n * sizeof(*scratch));
		if (mmap_read_lock_killable(odp->mm)) {
			ret = -EINTR;
			break;
		}
		ret = hmm_range_fault(&range);
		if (!ret && guplab_range_secretmem(odp->mm, range.start, range.end))
			ret = -EFAULT;
		mmap_read_unlock(odp->mm);
		if (ret == -EBUSY) {
			retries++;
			continue;
		}
		if (ret)
			break;
		mutex_lock(&odp->lock);
		if (mmu_interval_read_retry(range.notifier, range.notifier_seq)) {
			mutex_unlock(&odp->lock);
			retries++;
			continue;
		}
		if (odp->table)
			for (i = 0; i < n; i++)
				odp->table[first + i] = scratch[i] & HMM_PFN_VALID ? scratch[i] : 0;
		odp->faults++;
		odp->retries += retries;
		mutex_unlock(&odp->lock);
		ret = n;
		break;
	}
	mmput(odp->mm);
	if (ret < 0 && retries) {
		mutex_lock(&odp->lock);
		odp->retries += retries;
		mutex_unlock(&odp->lock);
	}
	return ret;
}

/*
 * ACCESS through a mirror, with the file's lock held (the mirror stays):
 * copies under the mirror's lock while the entry is valid (and writable
 * for a write), else faults that page back in first, as a device would.
 *
 * A write dirties the page. HMM_PFN_WRITE says the pte is writable, not
 * that the folio is dirty: a read swap-in of an exclusive anonymous page
 * (do_swap_page()) and a shmem read fault map a clean folio writable, and
 * reclaim would then drop the bytes written here. Under the mirror's lock
 * with the entry valid, no invalidation has finished, so the page is still
 * mapped and truncation cannot race (RDMA ODP dirties the same way).
 */
int guplab_odp_access(struct guplab_file *gf, struct guplab_odp *odp, u64 index, u32 offset,
		      void *buf, u32 length, bool write)
{
	unsigned long entry, scratch;
	struct page *page;
	long ret;
	int tries;

	lockdep_assert_held(&gf->lock);
	if (index >= odp->nr)
		return -EINVAL;
	if (write && !odp->write)
		return -EPERM;
	/* Each round faults once; an invalidation may win the race again, a few times. */
	for (tries = 0; tries < 16; tries++) {
		mutex_lock(&odp->lock);
		entry = odp->table[index];
		if ((entry & HMM_PFN_VALID) && (!write || (entry & HMM_PFN_WRITE))) {
			page = hmm_pfn_to_page(entry);
			ret = guplab_copy_page(page, offset, buf, length, write);
			if (!ret && write)
				guplab_mark_dirty(page);
			mutex_unlock(&odp->lock);
			return ret;
		}
		mutex_unlock(&odp->lock);
		/* A read faults for reading: a mirror for writing may still read a read-only page. */
		ret = guplab_odp_fill(odp, index, 1, true, write, &scratch);
		if (ret < 0)
			return ret;
	}
	return -EBUSY;
}

/*
 * Whether the file may take one more mirror over [start, end): 0, -ENOSPC
 * past GUPLAB_MAX_MIRRORS, -EEXIST over another of its mirrors.
 */
static long guplab_mirror_room(struct guplab_file *gf, unsigned long start, unsigned long end)
{
	struct guplab_odp *other;
	unsigned long index;
	void *entry;

	lockdep_assert_held(&gf->lock);
	if (gf->mirrors >= GUPLAB_MAX_MIRRORS)
		return -ENOSPC;
	xa_for_each(&gf->sets, index, entry) {
		other = guplab_entry_odp(entry);
		if (other && start < guplab_odp_end(other) && other->start < end)
			return -EEXIST;
	}
	return 0;
}

long guplab_ioctl_mirror(struct guplab_file *gf, struct guplab_mirror __user *arg)
{
	struct guplab_mirror req;
	struct guplab_odp *odp;
	unsigned long addr, len, end, off, n, i, *scratch;
	u64 t0;
	u32 id;
	long ret;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved || req.flags & ~(GUPLAB_MIRROR_WRITE | GUPLAB_MIRROR_SNAPSHOT))
		return -EINVAL;
	if (!req.nr_pages || req.addr != (unsigned long)req.addr)
		return -EINVAL;
	/* As the mm sees it: without the tag bits (arm64 TBI, x86 LAM) that GUP also strips. */
	addr = untagged_addr((unsigned long)req.addr);
	if (!PAGE_ALIGNED(addr))
		return -EINVAL;
	if (req.nr_pages > READ_ONCE(guplab_max_pages_per_call))
		return -E2BIG;
	if (check_shl_overflow((unsigned long)req.nr_pages, PAGE_SHIFT, &len) ||
	    check_add_overflow(addr, len, &end) || end > TASK_SIZE)
		return -EINVAL;
	/* Before anything is allocated or faulted; asked again when the mirror is published. */
	mutex_lock(&gf->lock);
	ret = guplab_mirror_room(gf, addr, end);
	mutex_unlock(&gf->lock);
	if (ret)
		return ret;

	scratch = kvmalloc_array(min_t(u64, req.nr_pages, GUPLAB_FILL_CHUNK), sizeof(*scratch),
				 GUPLAB_GFP);
	if (!scratch)
		return -ENOMEM;
	odp = guplab_odp_new(current->mm, addr, req.nr_pages, req.flags & GUPLAB_MIRROR_WRITE,
			     true);
	if (IS_ERR(odp)) {
		kvfree(scratch);
		return PTR_ERR(odp);
	}
	t0 = ktime_get_ns();
	for (off = 0, ret = 0; off < req.nr_pages && ret >= 0; off += n) {
		n = min_t(unsigned long, GUPLAB_FILL_CHUNK, req.nr_pages - off);
		ret = guplab_odp_fill(odp, off, n, !(req.flags & GUPLAB_MIRROR_SNAPSHOT), odp->write,
				      scratch);
		cond_resched();
	}
	req.fault_ns = ktime_get_ns() - t0;
	kvfree(scratch);
	if (ret < 0)
		goto out_free;
	/*
	 * Counted before the mirror is published: from xa_alloc on, another
	 * thread of this file may RELEASE it by handle and free it (KASAN found
	 * that use-after-free under the stress fuzzer on a debug kernel).
	 */
	mutex_lock(&odp->lock);
	for (i = 0, req.valid_pages = 0; i < odp->nr; i++)
		req.valid_pages += !!odp->table[i];
	mutex_unlock(&odp->lock);

	mutex_lock(&gf->lock);
	ret = guplab_mirror_room(gf, addr, end);
	if (!ret)
		ret = xa_alloc_cyclic(&gf->sets, &id, xa_tag_pointer(odp, GUPLAB_TAG_MIRROR),
				      xa_limit_32b, &gf->next_handle, GUPLAB_GFP);
	if (ret >= 0)
		gf->mirrors++;
	mutex_unlock(&gf->lock);
	if (ret < 0)
		goto out_free;

	req.handle = id;	/* odp may be gone already: not touched after this */
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;	/* the mirror stays with the file until close */
	return 0;
out_free:
	guplab_odp_free(odp);
	return ret;
}

long guplab_ioctl_mirror_state(struct guplab_file *gf, struct guplab_mirror_state __user *arg)
{
	struct guplab_mirror_state *st;
	struct guplab_odp *odp;
	u64 *pfns = NULL, pfn_mask;
	unsigned long i;
	void *entry;
	long err = 0;
	u32 j;

	st = kmalloc(sizeof(*st), GUPLAB_GFP);
	if (!st)
		return -ENOMEM;
	if (copy_from_user(st, arg, sizeof(*st))) {
		err = -EFAULT;
		goto out;
	}
	if (st->reserved) {
		err = -EINVAL;
		goto out;
	}
	/* Frame numbers for CAP_SYS_ADMIN only, as /proc/PID/pagemap (Rowhammer). */
	pfn_mask = st->pfns && guplab_privileged() ? GUPLAB_MPFN_PFN_MASK : 0;
	mutex_lock(&gf->lock);
	entry = st->handle && st->handle <= U32_MAX ? xa_load(&gf->sets, st->handle) : NULL;
	odp = guplab_entry_odp(entry);
	if (!odp) {
		err = -ENOENT;
		goto out_unlock;
	}
	if (st->pfns) {
		pfns = kvmalloc_array(odp->nr, sizeof(*pfns), GUPLAB_GFP);
		if (!pfns) {
			err = -ENOMEM;
			goto out_unlock;
		}
	}
	mutex_lock(&odp->lock);
	st->nr_pages = odp->nr;
	st->valid_pages = 0;
	for (i = 0; i < odp->nr; i++) {
		unsigned long e = odp->table[i];

		st->valid_pages += !!e;
		if (pfns)
			pfns[i] = e ? GUPLAB_MPFN_VALID | (e & HMM_PFN_WRITE ? GUPLAB_MPFN_WRITE : 0) |
				      (page_to_pfn(hmm_pfn_to_page(e)) & pfn_mask) : 0;
	}
	st->invalidations = odp->invalidations;
	st->faults = odp->faults;
	st->retries = odp->retries;
	memcpy(st->events, odp->events, sizeof(st->events));
	st->nr_log = odp->log_len;
	for (j = 0; j < odp->log_len; j++)
		st->log[j] = odp->log[(odp->log_next + GUPLAB_MIRROR_LOG - odp->log_len + j) %
				      GUPLAB_MIRROR_LOG];
	mutex_unlock(&odp->lock);
out_unlock:
	mutex_unlock(&gf->lock);
	if (!err && pfns && copy_to_user(u64_to_user_ptr(st->pfns), pfns, st->nr_pages * sizeof(*pfns)))
		err = -EFAULT;
	if (!err && copy_to_user(arg, st, sizeof(*st)))
		err = -EFAULT;
out:
	kvfree(pfns);
	kfree(st);
	return err;
}

#else /* !CONFIG_HMM_MIRROR */

long guplab_ioctl_mirror(struct guplab_file *gf, struct guplab_mirror __user *arg)
{
	return -EOPNOTSUPP;
}

long guplab_ioctl_mirror_state(struct guplab_file *gf, struct guplab_mirror_state __user *arg)
{
	return -EOPNOTSUPP;
}

int guplab_odp_access(struct guplab_file *gf, struct guplab_odp *odp, u64 index, u32 offset,
		      void *buf, u32 length, bool write)
{
	return -EOPNOTSUPP;
}

struct guplab_odp *guplab_odp_new(struct mm_struct *mm, unsigned long start, unsigned long nr,
				  bool write, bool table)
{
	return ERR_PTR(-EOPNOTSUPP);
}

long guplab_odp_fill(struct guplab_odp *odp, unsigned long first, unsigned long n, bool fault,
		     bool write, unsigned long *scratch)
{
	return -EOPNOTSUPP;
}

unsigned long guplab_odp_pages(const struct guplab_odp *odp)
{
	return 0;
}

void guplab_odp_free(struct guplab_odp *odp)
{
}

#endif /* CONFIG_HMM_MIRROR */
