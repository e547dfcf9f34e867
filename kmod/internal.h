/* SPDX-License-Identifier: GPL-2.0 */
/* What main.c (the device, GUP) and mirror.c (the ODP-style mirror) share. */
#ifndef _GUPLAB_INTERNAL_H
#define _GUPLAB_INTERNAL_H

#include <linux/mm_types.h>
#include <linux/mutex.h>
#include <linux/xarray.h>

#include "uapi/guplab.h"

/* Every allocation sized or repeated by a user request: charged to its memory cgroup. */
#define GUPLAB_GFP	(GFP_KERNEL_ACCOUNT | __GFP_NOWARN)

/*
 * Lock order, outermost first:
 *
 *   guplab_file.lock	(an ioctl's view of the file's sets and mirrors)
 *     mmap_lock		(a mirror's fill: hmm_range_fault())
 *       guplab_odp.lock	(a leaf: the mirror's table; the invalidate
 *			 callback takes it under mmap_lock, and with a folio
 *			 locked (reclaim, migration), so nothing that may
 *			 sleep on a folio lock or on mmap_lock is done under it)
 *
 * ->mmap runs under the mmap write lock and so takes neither file lock: it
 * publishes the file's mmap pages with cmpxchg().
 */

/*
 * Who pays for memory a caller makes the module hold. io_uring's rule
 * (__io_account_mem()): the user, against RLIMIT_MEMLOCK, unless
 * CAP_IPC_LOCK, so that fork, exec or a file passed over SCM_RIGHTS cannot
 * start a fresh budget (the user stays the same).
 */
struct guplab_acct {
	/*
	 * The charged user, kept alive by a reference to the caller's creds
	 * (which hold their user_struct): free_uid() is not exported before
	 * 5.11, put_cred() always is. NULL with CAP_IPC_LOCK (not limited).
	 */
	const struct cred *cred;
	struct user_struct *user;
	struct mm_struct *mm;		/* mmgrab()'ed; its pinned_vm counts held pages (VmPin) */
};

void guplab_acct_get(struct guplab_acct *acct);
void guplab_acct_put(struct guplab_acct *acct);
/* nr pages more of acct's user->locked_vm, within RLIMIT_MEMLOCK: 0 or -ENOMEM. */
int guplab_memlock_charge(struct guplab_acct *acct, unsigned long nr);
void guplab_memlock_uncharge(struct guplab_acct *acct, unsigned long nr);

/* The pages mmap() maps (GUPLAB_MMAP_PAGES order-0 pages), charged to the first mapper. */
struct guplab_mmap {
	struct page *pages[GUPLAB_MMAP_PAGES];
	struct guplab_acct acct;
};

/*
 * What one open file owns: held sets (HOLD) and mirrors, in one handle
 * space. A mirror's entry is tagged GUPLAB_TAG_MIRROR (xa_tag_pointer()).
 */
struct guplab_file {
	struct mutex lock;		/* protects sets' contents, held_pages, mirrors */
	struct xarray sets;		/* handle -> struct guplab_set or tagged struct guplab_odp */
	u32 next_handle;		/* xa_alloc_cyclic(): a freed handle is not reused at once */
	unsigned long held_pages;
	unsigned int mirrors;
	/* the pages for mmap(), from the first mmap on; set once */
	struct guplab_mmap *mmap;
};

#define GUPLAB_TAG_MIRROR	1

struct guplab_odp;

/* The mirror a handle's entry holds, or NULL (a held set, or no entry). */
static inline struct guplab_odp *guplab_entry_odp(void *entry)
{
	return xa_pointer_tag(entry) == GUPLAB_TAG_MIRROR ? xa_untag_pointer(entry) : NULL;
}

/* At most this many mirrors per open file (each is a notifier in the mm's interval tree). */
#define GUPLAB_MAX_MIRRORS	64

/* Module parameter max_pages_per_call (main.c): the largest nr_pages of one call. */
extern unsigned long guplab_max_pages_per_call;

/* mirror.c; without CONFIG_HMM_MIRROR each answers -EOPNOTSUPP. */
long guplab_ioctl_mirror(struct guplab_file *gf, struct guplab_mirror __user *arg);
long guplab_ioctl_mirror_state(struct guplab_file *gf, struct guplab_mirror_state __user *arg);
int guplab_odp_access(struct guplab_file *gf, struct guplab_odp *odp, u64 index, u32 offset,
		      void *buf, u32 length, bool write);
/* The calling process has CAP_SYS_ADMIN: root's exploration powers, and frame numbers (main.c). */
bool guplab_privileged(void);
struct guplab_odp *guplab_odp_new(struct mm_struct *mm, unsigned long start, unsigned long nr,
				  bool write, bool table);
long guplab_odp_fill(struct guplab_odp *odp, unsigned long first, unsigned long n, bool fault,
		     bool write, unsigned long *scratch);
unsigned long guplab_odp_pages(const struct guplab_odp *odp);
void guplab_odp_free(struct guplab_odp *odp);

#endif /* _GUPLAB_INTERNAL_H */
