// SPDX-License-Identifier: GPL-2.0
/*
 * guplab: call the kernel's get_user_pages / pin_user_pages family on the
 * caller's own memory through /dev/guplab, and report what it answered and
 * how long it took.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/ktime.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/overflow.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>

#include "uapi/guplab.h"

static unsigned long max_pages_per_call = 1UL << 18;
module_param(max_pages_per_call, ulong, 0644);
MODULE_PARM_DESC(max_pages_per_call, "Largest nr_pages one PIN call accepts (default 262144)");

#define GUPLAB_API_BIT(sym, id, name) | (1ULL << (id))
static const u64 guplab_api_mask = 0 GUPLAB_APIS(GUPLAB_API_BIT);
#undef GUPLAB_API_BIT

#define GUPLAB_FLAG_BIT(sym, bit, name) | GUPLAB_FLAG_##sym
static const u32 guplab_flag_mask = 0 GUPLAB_FLAGS(GUPLAB_FLAG_BIT);
#undef GUPLAB_FLAG_BIT

static unsigned int guplab_foll_flags(u32 flags)
{
	unsigned int foll = 0;

	if (flags & GUPLAB_FLAG_WRITE)
		foll |= FOLL_WRITE;
	if (flags & GUPLAB_FLAG_LONGTERM)
		foll |= FOLL_LONGTERM;
	return foll;
}

static bool guplab_api_pins(u32 api)
{
	return api == GUPLAB_API_PIN_USER_PAGES_FAST ||
	       api == GUPLAB_API_PIN_USER_PAGES_UNLOCKED;
}

/* Calls the GUP entry point exactly as a kernel caller would. */
static long guplab_call(u32 api, unsigned long addr, unsigned long nr_pages,
			unsigned int foll, struct page **pages)
{
	switch (api) {
	case GUPLAB_API_GET_USER_PAGES_FAST:
		return get_user_pages_fast(addr, nr_pages, foll, pages);
	case GUPLAB_API_PIN_USER_PAGES_FAST:
		return pin_user_pages_fast(addr, nr_pages, foll, pages);
	case GUPLAB_API_GET_USER_PAGES_UNLOCKED:
		return get_user_pages_unlocked(addr, nr_pages, pages, foll);
	case GUPLAB_API_PIN_USER_PAGES_UNLOCKED:
		return pin_user_pages_unlocked(addr, nr_pages, pages, foll);
	}
	return -EINVAL;
}

static void guplab_release(u32 api, struct page **pages, unsigned long nr)
{
	unsigned long i;

	if (guplab_api_pins(api)) {
		unpin_user_pages(pages, nr);
		return;
	}
	for (i = 0; i < nr; i++)
		put_page(pages[i]);
}

static int guplab_check_pin(const struct guplab_pin *req)
{
	unsigned long end;
	int i;

	if (req->api >= GUPLAB_API_COUNT || !(guplab_api_mask & BIT_ULL(req->api)))
		return -EINVAL;
	if (req->flags & ~guplab_flag_mask)
		return -EINVAL;
	if (!req->nr_pages || req->nr_pages > max_pages_per_call)
		return -EINVAL;
	/* Both GUP signatures take the count as int at most. */
	if (req->nr_pages > INT_MAX)
		return -EINVAL;
	if (req->addr != (unsigned long)req->addr ||
	    check_add_overflow((unsigned long)req->addr,
			       (unsigned long)req->nr_pages << PAGE_SHIFT, &end))
		return -EINVAL;
	for (i = 0; i < ARRAY_SIZE(req->reserved); i++)
		if (req->reserved[i])
			return -EINVAL;
	return 0;
}

static long guplab_ioctl_pin(struct guplab_pin __user *arg)
{
	struct guplab_pin req;
	struct page **pages;
	u64 t0, t1, t2;
	long ret;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = guplab_check_pin(&req);
	if (err)
		return err;

	/* Allocated outside the timed region, as the kernel's gup_test does. */
	pages = kvmalloc_array(req.nr_pages, sizeof(*pages), GFP_KERNEL);
	if (!pages)
		return -ENOMEM;

	t0 = ktime_get_ns();
	ret = guplab_call(req.api, req.addr, req.nr_pages,
			  guplab_foll_flags(req.flags), pages);
	t1 = ktime_get_ns();
	if (ret > 0)
		guplab_release(req.api, pages, ret);
	t2 = ktime_get_ns();
	kvfree(pages);

	req.ret = ret;
	req.get_ns = t1 - t0;
	req.put_ns = t2 - t1;
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

static long guplab_ioctl_info(struct guplab_info __user *arg)
{
	struct guplab_info info = {
		.abi_version = GUPLAB_ABI_VERSION,
		.page_size = PAGE_SIZE,
		.api_mask = guplab_api_mask,
		.flag_mask = guplab_flag_mask,
		.max_pages = min_t(unsigned long, max_pages_per_call, INT_MAX),
	};

	strscpy(info.release, utsname()->release, sizeof(info.release));
	if (copy_to_user(arg, &info, sizeof(info)))
		return -EFAULT;
	return 0;
}

static long guplab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GUPLAB_IOC_INFO:
		return guplab_ioctl_info(uarg);
	case GUPLAB_IOC_PIN:
		return guplab_ioctl_pin(uarg);
	}
	return -ENOTTY;
}

static const struct file_operations guplab_fops = {
	.owner = THIS_MODULE,
	.unlocked_ioctl = guplab_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice guplab_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = GUPLAB_DEVICE_NAME,
	.fops = &guplab_fops,
	.mode = 0600,
};

static int __init guplab_init(void)
{
	int err = misc_register(&guplab_misc);

	if (err)
		pr_err("cannot register /dev/%s: %d\n", GUPLAB_DEVICE_NAME, err);
	return err;
}

static void __exit guplab_exit(void)
{
	misc_deregister(&guplab_misc);
}

module_init(guplab_init);
module_exit(guplab_exit);

MODULE_DESCRIPTION("Call get_user_pages/pin_user_pages on the caller's memory and time them");
MODULE_LICENSE("GPL");
