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
 * What one open file owns: held sets (HOLD) and mirrors, in one handle
 * space. A mirror's entry is tagged GUPLAB_TAG_MIRROR (xa_tag_pointer()).
 */
struct guplab_file {
	struct mutex lock;		/* protects sets' contents, held_pages, mirrors */
	struct xarray sets;		/* handle -> struct guplab_set or tagged struct guplab_odp */
	u32 next_handle;		/* xa_alloc_cyclic(): a freed handle is not reused at once */
	unsigned long held_pages;
	unsigned int mirrors;
	/* GUPLAB_MMAP_PAGES pages for mmap(), from the first mmap on; set once */
	struct page *mmap_pages;
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
int guplab_odp_access(struct guplab_odp *odp, u64 index, u32 offset, void *buf, u32 length,
		      bool write);
struct guplab_odp *guplab_odp_new(struct mm_struct *mm, unsigned long start, unsigned long nr,
				  bool write, bool table);
long guplab_odp_fill(struct guplab_odp *odp, unsigned long first, unsigned long n, bool fault,
		     bool write, unsigned long *scratch);
unsigned long guplab_odp_pages(const struct guplab_odp *odp);
void guplab_odp_free(struct guplab_odp *odp);

#endif /* _GUPLAB_INTERNAL_H */
