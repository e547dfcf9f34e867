// SPDX-License-Identifier: GPL-2.0
/*
 * guplab: call the kernel's get_user_pages / pin_user_pages family on the
 * caller's own memory (or, for *_remote, on a process it may ptrace)
 * through /dev/guplab, and report what the kernel answered, how long it
 * took, and what it handed out.
 *
 * Every ioctl field is validated before any GUP call; every page taken is
 * released before the ioctl returns, or kept in a set owned by the open file
 * (HOLD) and released by RELEASE or when the file is closed.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/cred.h>
#include <linux/fs.h>
#include <linux/highmem.h>
#include <linux/ktime.h>
#include <linux/log2.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/mmzone.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/overflow.h>
#include <linux/pid.h>
#include <linux/ptrace.h>
#include <linux/sched/coredump.h>
#include <linux/sched/mm.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/sched/user.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/utsname.h>
#include <linux/xarray.h>

#include "compat.h"
#include "internal.h"

unsigned long guplab_max_pages_per_call = 1UL << 18;
module_param_named(max_pages_per_call, guplab_max_pages_per_call, ulong, 0644);
MODULE_PARM_DESC(max_pages_per_call, "Largest nr_pages (or pages_per_call) of one call (default 262144)");

static unsigned long max_held_pages_per_file = 1UL << 20;
module_param(max_held_pages_per_file, ulong, 0644);
MODULE_PARM_DESC(max_held_pages_per_file, "Most pages one open file may hold with HOLD (default 1048576)");

/*
 * Debug only: a busy wait inside the timed GUP section of every BENCH batch,
 * so that a harness can check that it detects a slowdown. Never set it when
 * measuring.
 */
static unsigned long bench_delay_ns;
module_param(bench_delay_ns, ulong, 0644);
MODULE_PARM_DESC(bench_delay_ns, "Debug only: busy-wait this many ns (at most 1 ms) in each timed BENCH batch (default 0)");

/*
 * BENCH runs at most this long (status -ETIME after it): a remote BENCH takes
 * the target's mm per batch, and no BENCH keeps a CPU longer than this.
 */
static unsigned int max_bench_seconds = 60;
module_param(max_bench_seconds, uint, 0644);
MODULE_PARM_DESC(max_bench_seconds, "Longest run of one BENCH, in seconds (at least 1), then status -ETIME (default 60)");

static int group = -1;
module_param(group, int, 0444);
MODULE_PARM_DESC(group, "Also let this group id open /dev/guplab (default -1: root only, mode 0600)");
static kgid_t guplab_gid;

/* INFO's api_mask: the entry points of GUPLAB_APIS this kernel has (compat.h). */
#define GUPLAB_API_HAVE(sym, id, fn, pin, path) | (GUPLAB_HAVE_##sym ? BIT_ULL(id) : 0)
static const u64 guplab_api_mask = 0 GUPLAB_APIS(GUPLAB_API_HAVE);
#undef GUPLAB_API_HAVE

/* Per entry point: FOLL_PIN or FOLL_GET, and how it is called. */
static const struct {
	bool pin;
	u8 path;
} guplab_apis[GUPLAB_API_COUNT] = {
#define GUPLAB_API_INFO(sym, id, fn, pin, path) [id] = { pin, GUPLAB_PATH_##path },
	GUPLAB_APIS(GUPLAB_API_INFO)
#undef GUPLAB_API_INFO
};

/*
 * Portable flag -> this kernel's FOLL_* (0: not public on this kernel), by
 * bit: every flag of GUPLAB_FLAGS needs its GUPLAB_FOLL_ line in compat.h.
 */
static const struct {
	u32 flag;
	unsigned int foll;
} guplab_foll_map[] = {
#define GUPLAB_FOLL_ENTRY(sym, bit, name) { GUPLAB_FLAG_##sym, GUPLAB_FOLL_##sym },
	GUPLAB_FLAGS(GUPLAB_FOLL_ENTRY)
#undef GUPLAB_FOLL_ENTRY
};

static u32 guplab_flag_mask(void)
{
	u32 mask = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(guplab_foll_map); i++)
		if (guplab_foll_map[i].foll)
			mask |= guplab_foll_map[i].flag;
	return mask;
}

static unsigned int guplab_foll_flags(u32 flags)
{
	unsigned int foll = 0;
	int i;

	for (i = 0; i < ARRAY_SIZE(guplab_foll_map); i++)
		if (flags & guplab_foll_map[i].flag)
			foll |= guplab_foll_map[i].foll;
	return foll;
}

static bool guplab_api_pins(u32 api)
{
	return api < GUPLAB_API_COUNT && guplab_apis[api].pin;
}

static bool guplab_api_remote(u32 api)
{
	return api < GUPLAB_API_COUNT && guplab_apis[api].path == GUPLAB_PATH_REMOTE;
}

/*
 * Per API, the flags this kernel answers through WARN_ON_ONCE, by its path
 * and family (compat.h has where each comes from). INFO reports them.
 */
static u32 guplab_warn_flags(u32 api)
{
	u8 path = guplab_apis[api].path;
	bool fast = path == GUPLAB_PATH_FAST || path == GUPLAB_PATH_FAST_ONLY;
	u32 warn = fast ? GUPLAB_WARN_FAST : 0;

	if (!guplab_apis[api].pin)
		warn |= path == GUPLAB_PATH_FAST_ONLY ? GUPLAB_WARN_GET_FAST_ONLY :
			path == GUPLAB_PATH_UNLOCKED ? GUPLAB_WARN_GET_UNLOCKED : GUPLAB_WARN_GET;
	else if (path == GUPLAB_PATH_UNLOCKED || path == GUPLAB_PATH_REMOTE)
		warn |= GUPLAB_WARN_PIN_LOCKED;
	return warn;
}

/*
 * The exploration power that only root keeps: flags outside the allowlist
 * below, calls the kernel answers through WARN_ON_ONCE (a taint, or a panic
 * under panic_on_warn), FOLL_FORCE on memory the caller does not trace,
 * holds that are not FOLL_PIN | FOLL_LONGTERM, and frame numbers. Decided
 * per call by the caller's own capability, not the opener's: a file passed
 * to a group member (SCM_RIGHTS, fork) gives it no more power than its own
 * open.
 */
bool guplab_privileged(void)
{
	return capable(CAP_SYS_ADMIN);
}

/*
 * The flags a caller without CAP_SYS_ADMIN may pass, per API: an allowlist,
 * so that a flag a later kernel answers through a new WARN_ON_ONCE stays
 * root's until someone reads that kernel and lists it here. FOLL_NOWAIT
 * only on the slow paths (GUP-fast WARNs on it). FOLL_FORCE (writing
 * through a read-only mapping, as /proc/PID/mem does) only on *_remote,
 * where guplab_remote_mm() then asks that the caller trace the target:
 * CONFIG_PROC_MEM_FORCE_PTRACE's rule, so that a process cannot patch its
 * own read-only text past W^X policies (SELinux execmod, mseal). Flags the
 * kernel WARNs on for this API are taken out as well.
 */
static u32 guplab_unpriv_flags(u32 api)
{
	u8 path = guplab_apis[api].path;
	u32 ok = GUPLAB_FLAG_WRITE | GUPLAB_FLAG_LONGTERM | GUPLAB_FLAG_NOFAULT |
		 GUPLAB_FLAG_INTERRUPTIBLE | GUPLAB_FLAG_HONOR_NUMA_FAULT;

	if (path != GUPLAB_PATH_FAST && path != GUPLAB_PATH_FAST_ONLY)
		ok |= GUPLAB_FLAG_NOWAIT;
	if (path == GUPLAB_PATH_REMOTE)
		ok |= GUPLAB_FLAG_FORCE;
	return ok & ~guplab_warn_flags(api);
}

/*
 * A folio's refcount is an int, and FOLL_PIN adds GUP_PIN_COUNTING_BIAS
 * (1024) per pin of a small folio: 2^21 pins of one page overflow it, into
 * try_grab_folio()'s WARN. A HOLD that leaves a folio's refcount above this
 * bound is undone (-EOVERFLOW); one call adds at most max_pages_per_call *
 * 1024 (2^28 by default), so calls in flight cannot jump the rest.
 */
#define GUPLAB_MAX_FOLIO_REFS	(INT_MAX / 4)

struct guplab_set {
	struct page **pages;		/* exactly nr entries */
	unsigned long nr;
	bool pinned;			/* FOLL_PIN: unpin; FOLL_GET: put_page */
	bool writable;			/* taken with FOLL_WRITE */
	bool written;			/* ACCESS wrote into it: released dirty on close */
	struct guplab_acct acct;
};

/*
 * Calls the GUP entry point exactly as a kernel caller would: the locked
 * variants under mmap_read_lock, *_remote with a "locked" pointer like
 * access_remote_vm(). remote_mm is NULL except for *_remote.
 */
/*
 * The call alone: a LOCKED or REMOTE api's caller holds mmap_read_lock of
 * mm. Inlined, so that where api is a constant (PASS's loop) the switch
 * folds into the one call.
 */
static __always_inline long guplab_call_held(u32 api, struct mm_struct *mm, unsigned long addr,
			     unsigned long nr, unsigned int foll, struct page **pages,
			     int *locked)
{
	long ret;

	switch (api) {
#define GUPLAB_API_CALL(sym, id, fn, pin, path)					\
	case GUPLAB_API_##sym:							\
		ret = GUPLAB_CALL_##sym(mm, addr, nr, foll, pages, locked);	\
		break;
	GUPLAB_APIS(GUPLAB_API_CALL)
#undef GUPLAB_API_CALL
	default:
		ret = -EINVAL;
	}
	return ret;
}

static long guplab_call(u32 api, struct mm_struct *remote_mm, unsigned long addr,
			unsigned long nr, unsigned int foll, struct page **pages)
{
	u8 path = guplab_apis[api].path;
	struct mm_struct *mm = path == GUPLAB_PATH_REMOTE ? remote_mm : current->mm;
	bool lock = path == GUPLAB_PATH_LOCKED || path == GUPLAB_PATH_REMOTE;
	int locked = 1;
	long ret;

	if (lock && mmap_read_lock_killable(mm))
		return -EINTR;
	ret = guplab_call_held(api, mm, addr, nr, foll, pages, &locked);
	/* *_remote may drop the lock (locked = 0), as access_remote_vm() allows. */
	if (lock && locked)
		mmap_read_unlock(mm);
	return ret;
}

static void guplab_put(bool pinned, struct page **pages, unsigned long nr, bool dirty)
{
	unsigned long i;

	if (pinned) {
		unpin_user_pages_dirty_lock(pages, nr, dirty);
		return;
	}
	for (i = 0; i < nr; i++) {
		if (dirty)
			set_page_dirty_lock(pages[i]);
		put_page(pages[i]);
	}
}

/*
 * mm_access()'s rules (kernel/fork.c): the caller's own mm, or
 * ptrace_may_access(task, PTRACE_MODE_ATTACH_REALCREDS) (kernel/ptrace.c).
 * Neither is exported, nor is security_ptrace_access_check(), so the LSMs
 * (Yama, Landlock, AppArmor, SELinux) cannot be asked here. A caller
 * without CAP_SYS_PTRACE must therefore already be the task's tracer, which
 * is ptrace_access_vm()'s rule for PTRACE_POKEDATA: the kernel asked every
 * LSM when it let the caller PTRACE_ATTACH or PTRACE_SEIZE, and a traced
 * task's setuid exec gains no privilege (LSM_UNSAFE_PTRACE). On top,
 * __ptrace_may_access()'s own rules: the caller's real uid and gid equal
 * the task's real, effective and saved ones, and, read after them
 * (smp_rmb() as there), the mm is dumpable (SUID_DUMP_USER).
 * Called under the task's exec_update_lock, with mm from get_task_mm().
 */
static bool guplab_may_access(struct task_struct *task, struct mm_struct *mm)
{
	const struct cred *cred = current_cred(), *tcred;
	bool ok;

	if (mm == current->mm)
		return true;
	rcu_read_lock();
	tcred = __task_cred(task);
	ok = uid_eq(cred->uid, tcred->euid) && uid_eq(cred->uid, tcred->suid) &&
	     uid_eq(cred->uid, tcred->uid) && gid_eq(cred->gid, tcred->egid) &&
	     gid_eq(cred->gid, tcred->sgid) && gid_eq(cred->gid, tcred->gid) &&
	     ptrace_parent(task) == current;
	rcu_read_unlock();
	/* As __ptrace_may_access(): read the mm's dumpability after the creds (exec changes both). */
	smp_rmb();
	ok = ok && guplab_mm_dumpable(mm);
	return ok || capable(CAP_SYS_PTRACE);
}

/*
 * FOLL_FORCE's rule for a caller without CAP_SYS_ADMIN: another process's
 * mm, of which the caller is the tracer (CONFIG_PROC_MEM_FORCE_PTRACE's
 * proc_mem_foll_force(): ptrace_parent(task) == current).
 */
static bool guplab_traced_by_current(struct task_struct *task, struct mm_struct *mm)
{
	bool traced;

	if (mm == current->mm)
		return false;
	rcu_read_lock();
	traced = ptrace_parent(task) == current;
	rcu_read_unlock();
	return traced;
}

/*
 * The mm of process pid for *_remote (mmget'ed), or -ESRCH / -EPERM /
 * -EINTR. As mm_access(), under the task's exec_update_lock: an execve
 * installs the new mm and the new credentials under it, so the checks and
 * the mm they admit belong to the same image. With force, a caller without
 * CAP_SYS_ADMIN must also be the target's tracer (guplab_unpriv_flags()).
 */
static struct mm_struct *guplab_remote_mm(pid_t pid, bool force)
{
	struct task_struct *task;
	struct mm_struct *mm;
	struct pid *p;
	int err;

	p = find_get_pid(pid);
	if (!p)
		return ERR_PTR(-ESRCH);
	task = get_pid_task(p, PIDTYPE_PID);
	put_pid(p);
	if (!task)
		return ERR_PTR(-ESRCH);
	err = guplab_exec_update_lock(task);
	if (err)
		goto out;
	mm = get_task_mm(task);
	if (!mm) {
		err = -ESRCH;
	} else if (!guplab_may_access(task, mm) ||
		   (force && !guplab_traced_by_current(task, mm) && !guplab_privileged())) {
		mmput(mm);
		err = -EPERM;
	}
	guplab_exec_update_unlock(task);
out:
	put_task_struct(task);
	return err ? ERR_PTR(err) : mm;
}

/* Validation shared by PIN and BENCH. */
static int guplab_check_call(u32 api, u32 flags, s32 pid, u64 addr, u64 nr_pages,
			     unsigned long max_pages, const u64 *reserved, int nr_reserved)
{
	unsigned long len, end;
	int i;

	if (api >= GUPLAB_API_COUNT)
		return -EINVAL;
	if (!(guplab_api_mask & BIT_ULL(api)))
		return -EOPNOTSUPP;	/* known to guplab, not exported by this kernel */
	if (flags & ~guplab_flag_mask())
		return -EINVAL;
	if (guplab_api_remote(api) ? pid <= 0 : pid != 0)
		return -EINVAL;
	if (!nr_pages)
		return -EINVAL;
	/* Both GUP signatures take the count as int at most. */
	if (nr_pages > max_pages || nr_pages > INT_MAX)
		return -E2BIG;
	if (addr != (unsigned long)addr ||
	    check_shl_overflow((unsigned long)nr_pages, PAGE_SHIFT, &len) ||
	    check_add_overflow((unsigned long)addr, len, &end))
		return -EINVAL;
	for (i = 0; i < nr_reserved; i++)
		if (reserved[i])
			return -EINVAL;
	/* Flags outside the allowlist (WARN-provoking ones among them): root only. */
	if ((flags & ~guplab_unpriv_flags(api)) && !guplab_privileged())
		return -EPERM;
	return 0;
}

/* Frame numbers only with show_pfns (CAP_SYS_ADMIN, as /proc/PID/pagemap shows them). */
static void guplab_fill_facts(struct page *page, u64 pfn_before, bool show_pfns,
			      struct guplab_page_facts *f)
{
	struct folio *folio = page_folio(page);
	struct zone *zone = page_zone(page);
	u64 pfn = page_to_pfn(page);

	memset(f, 0, sizeof(*f));
	if (show_pfns) {
		f->pfn = pfn;
		f->pfn_before = pfn_before;
	}
	if (folio_test_hugetlb(folio))
		f->kind |= GUPLAB_KIND_HUGETLB;
	if (folio_is_zone_device(folio))
		f->kind |= GUPLAB_KIND_ZONE_DEVICE;
	if (folio_test_anon(folio))
		f->kind |= folio_test_ksm(folio) ? GUPLAB_KIND_KSM : GUPLAB_KIND_ANON;
	else if (folio_test_swapbacked(folio))
		f->kind |= GUPLAB_KIND_SHMEM;
	else if (guplab_folio_mapping(folio))
		f->kind |= GUPLAB_KIND_FILE;
	if (guplab_folio_longterm_pinnable(folio))
		f->props |= GUPLAB_PROP_LONGTERM_PINNABLE;
	if (folio_maybe_dma_pinned(folio))
		f->props |= GUPLAB_PROP_MAYBE_DMA_PINNED;
	if (zone_idx(zone) == ZONE_MOVABLE)
		f->props |= GUPLAB_PROP_ZONE_MOVABLE;
	if (pfn_before && pfn_before != pfn)
		f->props |= GUPLAB_PROP_PFN_CHANGED;
	f->folio_order = folio_order(folio);
	f->refcount = folio_ref_count(folio);
	f->pincount = guplab_folio_pincount(folio);
	f->zone = zone_idx(zone);
	strscpy(f->zone_name, zone->name, sizeof(f->zone_name));
}

/*
 * pfns of the present pages at the start of the range, by a GUP-fast-only
 * lookup that faults nothing in, so that a LONGTERM pin's migration shows.
 */
static void guplab_pfns_before(unsigned long addr, unsigned long nr, u64 *pfns,
			       struct page **scratch)
{
	long got = get_user_pages_fast_only(addr, nr, 0, scratch);
	long i;

	for (i = 0; i < got; i++) {
		pfns[i] = page_to_pfn(scratch[i]);
		put_page(scratch[i]);
	}
}

static int guplab_copy_facts(struct page **pages, long nr, const u64 *pfns_before,
			     u64 __user *dst)
{
	bool show_pfns = guplab_privileged();
	struct guplab_page_facts *facts;
	long i;
	int err = 0;

	facts = kvmalloc_array(nr, sizeof(*facts), GUPLAB_GFP);
	if (!facts)
		return -ENOMEM;
	for (i = 0; i < nr; i++)
		guplab_fill_facts(pages[i], pfns_before[i], show_pfns, &facts[i]);
	if (copy_to_user(dst, facts, nr * sizeof(*facts)))
		err = -EFAULT;
	kvfree(facts);
	return err;
}

void guplab_acct_get(struct guplab_acct *acct)
{
	acct->cred = capable(CAP_IPC_LOCK) ? NULL : get_current_cred();
	acct->user = acct->cred ? acct->cred->user : NULL;
	acct->mm = current->mm;
	mmgrab(acct->mm);
}

void guplab_acct_put(struct guplab_acct *acct)
{
	if (acct->cred)
		put_cred(acct->cred);
	mmdrop(acct->mm);
}

/*
 * __io_account_mem(): a cmpxchg loop, so that racing charges cannot pass
 * the limit together. Held pages, mirror tables and the mmap pages share
 * the one budget.
 */
int guplab_memlock_charge(struct guplab_acct *acct, unsigned long nr)
{
	unsigned long limit, cur, new;

	if (!acct->user)
		return 0;
	limit = rlimit(RLIMIT_MEMLOCK) >> PAGE_SHIFT;
	cur = atomic_long_read(&acct->user->locked_vm);
	do {
		if (check_add_overflow(cur, nr, &new) || new > limit)
			return -ENOMEM;
	} while (!atomic_long_try_cmpxchg(&acct->user->locked_vm, &cur, new));
	return 0;
}

void guplab_memlock_uncharge(struct guplab_acct *acct, unsigned long nr)
{
	if (acct->user)
		atomic_long_sub(nr, &acct->user->locked_vm);
}

/* Held pages: RLIMIT_MEMLOCK, and the caller's VmPin (mm->pinned_vm) as RDMA's and io_uring's. */
static int guplab_charge(struct guplab_acct *acct, unsigned long nr)
{
	int err = guplab_memlock_charge(acct, nr);

	if (!err)
		atomic64_add(nr, &acct->mm->pinned_vm);
	return err;
}

static void guplab_uncharge(struct guplab_acct *acct, unsigned long nr)
{
	guplab_memlock_uncharge(acct, nr);
	atomic64_sub(nr, &acct->mm->pinned_vm);
}

/* Gives back a set's pages; RELEASE times only this. */
static void guplab_put_set(struct guplab_set *set, bool dirty)
{
	guplab_put(set->pinned, set->pages, set->nr, dirty);
}

static void guplab_free_set(struct guplab_set *set)
{
	guplab_uncharge(&set->acct, set->nr);
	guplab_acct_put(&set->acct);
	kvfree(set->pages);
	kfree(set);
}

/* Reserves nr pages of the file's HOLD budget and charges them. */
static int guplab_reserve(struct guplab_file *gf, struct guplab_acct *acct, unsigned long nr)
{
	int err;

	mutex_lock(&gf->lock);
	if (gf->held_pages + nr > READ_ONCE(max_held_pages_per_file))
		err = -E2BIG;
	else
		err = guplab_charge(acct, nr);
	if (!err)
		gf->held_pages += nr;
	mutex_unlock(&gf->lock);
	return err;
}

static void guplab_unreserve(struct guplab_file *gf, struct guplab_acct *acct, unsigned long nr)
{
	mutex_lock(&gf->lock);
	gf->held_pages -= nr;
	mutex_unlock(&gf->lock);
	guplab_uncharge(acct, nr);
}

/*
 * Keeps the got pages a HOLD took in a new set, with acct's references;
 * returns its handle, or -errno with pages and acct left to the caller.
 */
static long guplab_hold(struct guplab_file *gf, struct guplab_acct *acct, u32 api, u32 flags,
			struct page **pages, unsigned long got)
{
	struct guplab_set *set;
	u32 id;
	int err;

	set = kmalloc(sizeof(*set), GUPLAB_GFP);
	if (!set)
		return -ENOMEM;
	*set = (struct guplab_set){ .pages = pages, .nr = got, .pinned = guplab_api_pins(api),
				    .writable = flags & GUPLAB_FLAG_WRITE, .acct = *acct };
	err = xa_alloc_cyclic(&gf->sets, &id, set, xa_limit_32b, &gf->next_handle, GUPLAB_GFP);
	if (err < 0) {
		kfree(set);
		return err;
	}
	return id;
}

/* Whether a HOLD left any folio it took past GUPLAB_MAX_FOLIO_REFS. */
static bool guplab_refs_overflow(struct page **pages, long nr)
{
	long i;

	for (i = 0; i < nr; i++)
		if (folio_ref_count(page_folio(pages[i])) > GUPLAB_MAX_FOLIO_REFS)
			return true;
	return false;
}

static long guplab_ioctl_pin(struct guplab_file *gf, struct guplab_pin __user *arg)
{
	struct mm_struct *remote_mm = NULL;
	struct page **pages = NULL, **scratch = NULL, **fit;
	struct guplab_acct acct = { };
	unsigned long reserved = 0;
	u64 *pfns_before = NULL;
	struct guplab_pin req;
	bool hold, facts;
	u64 t0, t1, t2;
	long ret, err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	err = guplab_check_call(req.api, req.flags, req.pid, req.addr, req.nr_pages,
				READ_ONCE(guplab_max_pages_per_call), req.reserved,
				ARRAY_SIZE(req.reserved));
	if (err)
		return err;
	if (req.mode & ~(GUPLAB_PIN_HOLD | GUPLAB_PIN_FACTS))
		return -EINVAL;
	hold = req.mode & GUPLAB_PIN_HOLD;
	facts = req.mode & GUPLAB_PIN_FACTS;
	if (facts != !!req.facts)
		return -EINVAL;
	/*
	 * Held for as long as user space likes: a long-term pin, so it must
	 * say so (FOLL_PIN | FOLL_LONGTERM, as io_uring and RDMA pin), which
	 * keeps it out of ZONE_MOVABLE/CMA and off fsdax and dirty-tracked
	 * file pages. Root may hold anything.
	 */
	if (hold && (!guplab_api_pins(req.api) || !(req.flags & GUPLAB_FLAG_LONGTERM)) &&
	    !guplab_privileged())
		return -EPERM;
	/* Every permission is decided before anything is charged, allocated or faulted. */
	if (guplab_api_remote(req.api)) {
		remote_mm = guplab_remote_mm(req.pid, req.flags & GUPLAB_FLAG_FORCE);
		if (IS_ERR(remote_mm))
			return PTR_ERR(remote_mm);
	}
	if (hold) {
		guplab_acct_get(&acct);
		err = guplab_reserve(gf, &acct, req.nr_pages);
		if (err)
			goto out_free;
		reserved = req.nr_pages;
	}

	/* Allocated outside the timed region, as the kernel's gup_test does. */
	err = -ENOMEM;
	pages = kvmalloc_array(req.nr_pages, sizeof(*pages), GUPLAB_GFP);
	if (!pages)
		goto out_free;
	if (facts) {
		pfns_before = kvcalloc(req.nr_pages, sizeof(*pfns_before), GUPLAB_GFP);
		scratch = kvmalloc_array(req.nr_pages, sizeof(*scratch), GUPLAB_GFP);
		if (!pfns_before || !scratch)
			goto out_free;
		if (!remote_mm)
			guplab_pfns_before(req.addr, req.nr_pages, pfns_before, scratch);
	}

	t0 = ktime_get_ns();
	ret = guplab_call(req.api, remote_mm, req.addr, req.nr_pages,
			  guplab_foll_flags(req.flags), pages);
	t1 = ktime_get_ns();

	err = 0;
	if (ret > 0 && hold && guplab_refs_overflow(pages, ret))
		err = -EOVERFLOW;
	if (ret > 0 && facts && !err)
		err = guplab_copy_facts(pages, ret, pfns_before, u64_to_user_ptr(req.facts));
	req.handle = 0;
	t2 = t1;
	if (ret > 0 && hold && !err) {
		/* Charge and keep what was taken, not what was asked. */
		guplab_unreserve(gf, &acct, reserved - ret);
		reserved = ret;
		if (ret < req.nr_pages) {
			fit = kvmalloc_array(ret, sizeof(*fit), GUPLAB_GFP);
			if (fit) {
				memcpy(fit, pages, ret * sizeof(*fit));
				kvfree(pages);
				pages = fit;
			}
		}
		err = guplab_hold(gf, &acct, req.api, req.flags, pages, ret);
		if (err > 0) {
			req.handle = err;
			err = 0;
			pages = NULL;	/* owned by the set now, with acct */
			reserved = 0;
			acct.mm = NULL;
		}
	}
	if (!req.handle && ret > 0) {
		guplab_put(guplab_api_pins(req.api), pages, ret, false);
		t2 = ktime_get_ns();
	}

	req.ret = ret;
	req.get_ns = t1 - t0;
	req.put_ns = t2 - t1;
	if (!err && copy_to_user(arg, &req, sizeof(req)))
		err = -EFAULT;	/* a held set stays with the file until close */
out_free:
	if (remote_mm)
		mmput(remote_mm);
	kvfree(scratch);
	kvfree(pfns_before);
	kvfree(pages);
	if (reserved)
		guplab_unreserve(gf, &acct, reserved);
	if (acct.mm)
		guplab_acct_put(&acct);
	return err;
}

static long guplab_ioctl_release(struct guplab_file *gf, struct guplab_release __user *arg)
{
	struct guplab_release req;
	struct guplab_set *set = NULL;
	struct guplab_odp *odp = NULL;
	void *entry;
	long err = 0;
	u64 t0;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved || req.dirty > 1)
		return -EINVAL;
	if (!req.handle || req.handle > U32_MAX)
		return -ENOENT;
	/*
	 * Only pages taken with FOLL_WRITE may be dirtied: dirtying a read-only
	 * file page (e.g. 9p without a writeback fid) hits a BUG in writeback.
	 * A mirror holds no pages to dirty.
	 */
	mutex_lock(&gf->lock);
	entry = xa_load(&gf->sets, req.handle);
	odp = guplab_entry_odp(entry);
	if (!odp)
		set = entry;
	if ((odp && req.dirty) || (set && req.dirty && !set->writable))
		err = odp ? -EINVAL : -EPERM;
	else if (!entry)
		err = -ENOENT;
	if (!err) {
		xa_erase(&gf->sets, req.handle);
		if (odp)
			gf->mirrors--;
		else
			gf->held_pages -= set->nr;
	}
	mutex_unlock(&gf->lock);
	if (err)
		return err;

	/* put_ns times the unpin/put only, as PIN's does; for a mirror, its removal. */
	t0 = ktime_get_ns();
	if (odp) {
		req.nr_pages = guplab_odp_pages(odp);
		guplab_odp_free(odp);
		req.put_ns = ktime_get_ns() - t0;
	} else {
		req.nr_pages = set->nr;
		guplab_put_set(set, req.dirty);
		req.put_ns = ktime_get_ns() - t0;
		guplab_free_set(set);
	}
	if (copy_to_user(arg, &req, sizeof(req)))
		return -EFAULT;
	return 0;
}

/* bench_delay_ns, capped at 1 ms. */
static u64 guplab_bench_delay_ns(void)
{
	return min_t(u64, READ_ONCE(bench_delay_ns), NSEC_PER_MSEC);
}

/* Busy-waits delay ns, measured with the clock BENCH reports. */
static void guplab_bench_spin(u64 delay)
{
	u64 start;

	if (likely(!delay))
		return;
	start = ktime_get_ns();
	while (ktime_get_ns() - start < delay)
		cpu_relax();
}

/*
 * A remote BENCH's address space for one batch (mmget()'ed), with access
 * decided again as for a PIN, so that a run does not outlive what allowed
 * it (a tracer that detached, a target that exec'ed a setuid image): 0, or
 * -ESRCH once the target exited or exec'ed (another mm), -EPERM once the
 * caller may no longer use it.
 */
static int guplab_bench_remote_get(pid_t pid, bool force, struct mm_struct *mm)
{
	struct mm_struct *now = guplab_remote_mm(pid, force);

	if (IS_ERR(now))
		return PTR_ERR(now);
	if (now != mm) {
		mmput(now);
		return -ESRCH;
	}
	return 0;
}

/*
 * A BATCH iteration's call with GUPLAB_BENCH_EMPTY: what surrounds the GUP
 * call (a LOCKED or REMOTE api's mmap_read_lock, taken and dropped) and
 * nothing else.
 */
static long guplab_bench_empty_call(u32 api, struct mm_struct *remote_mm, unsigned long nr)
{
	u8 path = guplab_apis[api].path;
	struct mm_struct *mm = path == GUPLAB_PATH_REMOTE ? remote_mm : current->mm;

	if (path == GUPLAB_PATH_LOCKED || path == GUPLAB_PATH_REMOTE) {
		if (mmap_read_lock_killable(mm))
			return -EINTR;
		mmap_read_unlock(mm);
	}
	return nr;
}

/*
 * PASS's untimed verify, as gup_test's verify_dma_pinned(): 0, or -EIO with
 * *bad the index of the first page not pinned (or, with longterm, not
 * long-term pinnable). The zero pages, which a read fault maps and whose
 * pins the kernel does not count, are skipped: the small one by its pfn,
 * the huge one as a compound page of no anon_vma and no mapping.
 */
static int guplab_bench_verify(struct page **pages, unsigned long nr, bool longterm, s64 *bad)
{
	unsigned long i;

	for (i = 0; i < nr; i++) {
		struct folio *folio = page_folio(pages[i]);

		if (is_zero_pfn(page_to_pfn(pages[i])) ||
		    (folio_order(folio) && !folio_test_anon(folio) && !guplab_folio_mapping(folio)))
			continue;
		if (!folio_maybe_dma_pinned(folio) ||
		    (longterm && !guplab_folio_longterm_pinnable(folio))) {
			*bad = i;
			return -EIO;
		}
	}
	return 0;
}

/* PASS looks at signals and rescheduling once per this many pages, not per call. */
#define GUPLAB_PASS_CHECK_PAGES 512

/*
 * PASS's timed loop for one api, a constant in each caller
 * (guplab_bench_pass()'s switch), so that per call it does what gup_test's
 * loop does: the GUP call itself, no dispatch, and the result test. The
 * signal and resched test comes once per GUPLAB_PASS_CHECK_PAGES pages
 * (and between passes): per call, it and the dispatch cost 10-12 ns under
 * TCG. Returns the status; *taken is how many pages are held.
 */
static __always_inline int guplab_pass_calls(u32 api, struct guplab_bench *req, unsigned long ppc,
					     unsigned int foll, bool empty, struct page **pages,
					     unsigned long *taken)
{
	struct mm_struct *mm = current->mm;
	unsigned long addr = req->addr, nr_pages = req->nr_pages;
	unsigned long off, n, check = GUPLAB_PASS_CHECK_PAGES;
	u64 delay = guplab_bench_delay_ns();
	long ret;

	for (off = 0; off < nr_pages; off += n) {
		n = min(ppc, nr_pages - off);
		if (empty)
			ret = n;
		else
			ret = guplab_call_held(api, mm, addr + (off << PAGE_SHIFT), n, foll,
					       pages + off, NULL);
		guplab_bench_spin(delay);
		if (ret > 0 && !empty)
			*taken = off + ret;	/* batches are contiguous: a short one ends the pass */
		if (ret != n) {
			req->ret = ret;
			return ret < 0 ? ret : -EFAULT;
		}
		/* No clock read here: it would be inside the timed pass. */
		if (off + n >= check) {
			check = off + n + GUPLAB_PASS_CHECK_PAGES;
			if (signal_pending(current))
				return -EINTR;
			cond_resched();
		}
	}
	return 0;
}

/*
 * One PASS iteration (uapi/guplab.h): the lock outside the timer, one clock
 * pair around the whole pass, all held in pages[0 .. nr_pages), the untimed
 * verify, then one timed put. Returns the iteration's status.
 */
static int guplab_bench_pass(struct guplab_bench *req, unsigned long ppc, unsigned int foll,
			     bool empty, struct page **pages, struct guplab_bench_sample *s)
{
	struct mm_struct *mm = current->mm;
	bool lock = guplab_apis[req->api].path == GUPLAB_PATH_LOCKED;
	bool pinned = guplab_api_pins(req->api);
	unsigned long taken = 0;
	int status;
	u64 t0, t1;

	if (lock && mmap_read_lock_killable(mm))
		return -EINTR;
	t0 = ktime_get_ns();
	switch (req->api) {
#define GUPLAB_PASS_CASE(sym, id, fn, pin, path)					\
	case GUPLAB_API_##sym:								\
		status = guplab_pass_calls(GUPLAB_API_##sym, req, ppc, foll, empty, pages,	\
					   &taken);						\
		break;
	GUPLAB_APIS(GUPLAB_PASS_CASE)
#undef GUPLAB_PASS_CASE
	default:
		status = -EINVAL;
	}
	t1 = ktime_get_ns();
	s->get_ns = t1 - t0;
	if (!status && pinned && taken)
		status = guplab_bench_verify(pages, taken, req->flags & GUPLAB_FLAG_LONGTERM,
					     &req->ret);
	t0 = ktime_get_ns();
	if (taken)
		guplab_put(pinned, pages, taken, false);
	s->put_ns = ktime_get_ns() - t0;
	if (lock)
		mmap_read_unlock(mm);
	return status;
}

static long guplab_ioctl_bench(struct guplab_bench __user *arg)
{
	struct guplab_bench_sample __user *samples;
	struct mm_struct *remote_mm = NULL;
	struct guplab_odp *odp = NULL;
	struct guplab_bench req;
	bool hmm, pass, empty;
	unsigned long ppc, off, n;
	struct page **pages = NULL;
	unsigned int foll;
	u64 deadline;
	bool pinned;
	long ret;
	u32 i;
	int err;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if ((req.mode & ~GUPLAB_BENCH_EMPTY) > GUPLAB_BENCH_PASS || req.reserved32)
		return -EINVAL;
	pass = (req.mode & ~GUPLAB_BENCH_EMPTY) == GUPLAB_BENCH_PASS;
	empty = req.mode & GUPLAB_BENCH_EMPTY;
	/* hmm_range_fault() is checked as get_user_pages_fast: the caller's mm, WRITE only. */
	hmm = req.api == GUPLAB_BENCH_HMM_RANGE_FAULT;
	if (hmm && (pass || req.flags & ~GUPLAB_FLAG_WRITE ||
		    !PAGE_ALIGNED(untagged_addr((unsigned long)req.addr))))
		return -EINVAL;
	err = guplab_check_call(hmm ? GUPLAB_API_GET_USER_PAGES_FAST : req.api, req.flags, req.pid,
				req.addr, req.nr_pages, GUPLAB_BENCH_MAX_PAGES, &req.reserved, 1);
	if (err)
		return err;
	if (!req.pages_per_call || !req.iterations || !req.samples)
		return -EINVAL;
	if (pass && guplab_api_remote(req.api))
		return -EINVAL;
	if (req.pages_per_call > READ_ONCE(guplab_max_pages_per_call) ||
	    req.iterations > GUPLAB_BENCH_MAX_ITERATIONS ||
	    (pass && req.nr_pages > READ_ONCE(guplab_max_pages_per_call)))
		return -E2BIG;

	ppc = min_t(u64, req.pages_per_call, req.nr_pages);
	/*
	 * Access is decided here, before anything is allocated, and again for
	 * each batch (guplab_bench_remote_get()).
	 */
	if (!hmm && guplab_api_remote(req.api)) {
		remote_mm = guplab_remote_mm(req.pid, req.flags & GUPLAB_FLAG_FORCE);
		if (IS_ERR(remote_mm))
			return PTR_ERR(remote_mm);
		/*
		 * Keep the mm_struct, not its address space: each batch takes
		 * the address space anew, so a target that exits is not kept
		 * alive.
		 */
		mmgrab(remote_mm);
		mmput(remote_mm);
	}
	/*
	 * hmm_range_fault() fills ppc pfns where GUP fills ppc page pointers;
	 * PASS holds them all. Zeroed, as gup_test's kvcalloc(): both then
	 * time passes over an array written once before the clock starts.
	 */
	BUILD_BUG_ON(sizeof(*pages) != sizeof(unsigned long));
	pages = kvcalloc(pass ? req.nr_pages : ppc, sizeof(*pages), GUPLAB_GFP);
	if (!pages) {
		err = -ENOMEM;
		goto out;
	}
	if (hmm) {
		/* The mirror an ODP driver keeps; its fills are dropped, as if sent to a device. */
		odp = guplab_odp_new(current->mm, untagged_addr((unsigned long)req.addr), req.nr_pages,
				     req.flags & GUPLAB_FLAG_WRITE, false);
		if (IS_ERR(odp)) {
			err = PTR_ERR(odp);
			odp = NULL;
			goto out;
		}
	}
	deadline = ktime_get_ns() + (u64)max(1U, READ_ONCE(max_bench_seconds)) * NSEC_PER_SEC;

	samples = u64_to_user_ptr(req.samples);
	foll = guplab_foll_flags(req.flags);
	pinned = guplab_api_pins(req.api);
	req.done = 0;
	req.status = 0;
	req.ret = 0;
	for (i = 0; i < req.iterations && !req.status; i++) {
		struct guplab_bench_sample s = { 0 };

		if (pass) {
			req.status = guplab_bench_pass(&req, ppc, foll, empty, pages, &s);
			/* Outside the timed pass, which looks only once per 512 pages. */
			if (!req.status && signal_pending(current))
				req.status = -EINTR;
			if (!req.status && ktime_get_ns() > deadline)
				req.status = -ETIME;	/* max_bench_seconds, checked outside the pass */
			cond_resched();
			if (req.status)
				break;
		}
		for (off = 0; !pass && off < req.nr_pages; off += n) {
			u64 t0, t1, t2;

			n = min_t(unsigned long, ppc, req.nr_pages - off);
			if (remote_mm) {
				err = guplab_bench_remote_get(req.pid, req.flags & GUPLAB_FLAG_FORCE,
							      remote_mm);
				if (err) {
					req.status = err;
					err = 0;
					break;
				}
			}
			t0 = ktime_get_ns();
			if (empty)
				ret = guplab_bench_empty_call(req.api, remote_mm, n);
			else if (odp)
				ret = guplab_odp_fill(odp, off, n, true, req.flags & GUPLAB_FLAG_WRITE,
						       (unsigned long *)pages);
			else
				ret = guplab_call(req.api, remote_mm, req.addr + (off << PAGE_SHIFT), n,
						  foll, pages);
			guplab_bench_spin(guplab_bench_delay_ns());
			t1 = ktime_get_ns();
			t2 = t1;	/* a mirror's fill, or an empty call, holds nothing */
			if (ret > 0 && !odp && !empty) {
				guplab_put(pinned, pages, ret, false);
				t2 = ktime_get_ns();
			}
			if (remote_mm)
				mmput(remote_mm);
			s.get_ns += t1 - t0;
			s.put_ns += t2 - t1;
			if (ret != n) {
				req.ret = ret;
				req.status = ret < 0 ? ret : -EFAULT;
				break;
			}
			cond_resched();
			if (signal_pending(current)) {
				req.status = -EINTR;
				break;
			}
			if (ktime_get_ns() > deadline) {
				req.status = -ETIME;	/* max_bench_seconds */
				break;
			}
		}
		if (req.status)
			break;
		if (copy_to_user(&samples[i], &s, sizeof(s))) {
			err = -EFAULT;
			break;
		}
		req.done = i + 1;
	}

	if (!err && copy_to_user(arg, &req, sizeof(req)))
		err = -EFAULT;
out:
	if (remote_mm)
		mmdrop(remote_mm);
	if (odp)
		guplab_odp_free(odp);
	kvfree(pages);
	return err;
}

static long guplab_ioctl_info(struct guplab_info __user *arg)
{
	struct guplab_info *info;
	long err = 0;
	u32 api;

	info = kzalloc(sizeof(*info), GFP_KERNEL_ACCOUNT);
	if (!info)
		return -ENOMEM;
	info->abi_version = GUPLAB_ABI_VERSION;
	info->page_size = PAGE_SIZE;
	info->api_mask = guplab_api_mask;
	info->flag_mask = guplab_flag_mask();
	info->max_pages = min_t(unsigned long, READ_ONCE(guplab_max_pages_per_call), INT_MAX);
	info->max_held_pages = READ_ONCE(max_held_pages_per_file);
	for (api = 0; api < GUPLAB_API_COUNT; api++) {
		info->warn_flags[api] = guplab_warn_flags(api);
		info->unpriv_flags[api] = guplab_unpriv_flags(api) & info->flag_mask;
	}
	info->caller = guplab_privileged() ? GUPLAB_CALLER_ADMIN : 0;
	strscpy(info->release, utsname()->release, sizeof(info->release));
	if (copy_to_user(arg, info, sizeof(*info)))
		err = -EFAULT;
	kfree(info);
	return err;
}

/*
 * The entry of handle for ACCESS, with the file's lock held: a mirror, or a
 * held set that index and write fit; else -errno.
 */
static void *guplab_access_entry(struct guplab_file *gf, u64 handle, u64 index, bool write)
{
	struct guplab_set *set;
	void *entry;

	lockdep_assert_held(&gf->lock);
	entry = xa_load(&gf->sets, handle);
	if (!entry)
		return ERR_PTR(-ENOENT);
	if (guplab_entry_odp(entry))
		return entry;
	set = entry;
	if (index >= set->nr)
		return ERR_PTR(-EINVAL);
	if (write && !set->writable)
		return ERR_PTR(-EPERM);
	return entry;
}

/*
 * Copies through a bounce buffer: no user access while the page is mapped,
 * and none under the file's lock. Like a driver, it leaves dirtying a held
 * set to the release (dirty = 1); a set it wrote into is released dirty
 * when the file closes. The handle is asked before the user buffer is
 * read, and again under the lock for the copy (another thread may RELEASE
 * it in between).
 */
static long guplab_ioctl_access(struct guplab_file *gf, struct guplab_access __user *arg)
{
	struct guplab_access req;
	struct guplab_set *set;
	struct guplab_odp *odp;
	void __user *ubuf;
	void *entry;
	void *bounce;
	long err = 0;

	if (copy_from_user(&req, arg, sizeof(req)))
		return -EFAULT;
	if (req.reserved || req.write > 1 || !req.length || req.offset >= PAGE_SIZE ||
	    req.length > PAGE_SIZE - req.offset)
		return -EINVAL;
	if (!req.handle || req.handle > U32_MAX)
		return -ENOENT;
	mutex_lock(&gf->lock);
	entry = guplab_access_entry(gf, req.handle, req.index, req.write);
	mutex_unlock(&gf->lock);
	if (IS_ERR(entry))
		return PTR_ERR(entry);
	ubuf = u64_to_user_ptr(req.buf);
	bounce = kmalloc(req.length, GFP_KERNEL_ACCOUNT);
	if (!bounce)
		return -ENOMEM;
	if (req.write && copy_from_user(bounce, ubuf, req.length)) {
		kfree(bounce);
		return -EFAULT;
	}

	mutex_lock(&gf->lock);
	entry = guplab_access_entry(gf, req.handle, req.index, req.write);
	odp = IS_ERR(entry) ? NULL : guplab_entry_odp(entry);
	set = entry;
	if (IS_ERR(entry)) {
		err = PTR_ERR(entry);
	} else if (odp) {
		/* The file's lock keeps the mirror; the mirror's orders it with invalidations. */
		err = guplab_odp_access(gf, odp, req.index, req.offset, bounce, req.length,
					req.write);
	} else {
		err = guplab_copy_page(set->pages[req.index], req.offset, bounce, req.length,
				       req.write);
		if (!err && req.write)
			set->written = true;
	}
	mutex_unlock(&gf->lock);

	if (!err && !req.write && copy_to_user(ubuf, bounce, req.length))
		err = -EFAULT;
	kfree(bounce);
	return err;
}

static long guplab_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct guplab_file *gf = file->private_data;
	void __user *uarg = (void __user *)arg;

	switch (cmd) {
	case GUPLAB_IOC_INFO:
		return guplab_ioctl_info(uarg);
	case GUPLAB_IOC_PIN:
		return guplab_ioctl_pin(gf, uarg);
	case GUPLAB_IOC_RELEASE:
		return guplab_ioctl_release(gf, uarg);
	case GUPLAB_IOC_BENCH:
		return guplab_ioctl_bench(uarg);
	case GUPLAB_IOC_ACCESS:
		return guplab_ioctl_access(gf, uarg);
	case GUPLAB_IOC_MIRROR:
		return guplab_ioctl_mirror(gf, uarg);
	case GUPLAB_IOC_MIRROR_STATE:
		return guplab_ioctl_mirror_state(gf, uarg);
	}
	return -ENOTTY;
}

/*
 * mmap(): a VM_IO | VM_PFNMAP mapping of the open file's own pages, the
 * kind of memory a driver hands out with remap_pfn_range(), so that GUP on
 * a PFN map can be asked (check_vma_flags() refuses it in the slow path,
 * GUP-fast skips its special ptes). GUPLAB_MMAP_PAGES order-0 pages (no
 * high-order allocation a group member could make fail or fragment),
 * allocated at the file's first mmap, charged to the mapper's user against
 * RLIMIT_MEMLOCK as held pages are, and freed on the file's last close:
 * every mapping holds the file, so none outlives the pages. Set once
 * through cmpxchg(): ->mmap runs under the mmap write lock, and a mutex
 * taken there would order before mmap_lock.
 */
static void guplab_free_mmap(struct guplab_mmap *mm_pages)
{
	unsigned int i;

	for (i = 0; i < GUPLAB_MMAP_PAGES; i++)
		if (mm_pages->pages[i])
			__free_page(mm_pages->pages[i]);
	guplab_memlock_uncharge(&mm_pages->acct, GUPLAB_MMAP_PAGES);
	guplab_acct_put(&mm_pages->acct);
	kfree(mm_pages);
}

static struct guplab_mmap *guplab_mmap_pages(struct guplab_file *gf, int *err)
{
	/* Pairs with the cmpxchg() (a full barrier) that publishes gf->mmap below. */
	struct guplab_mmap *mm_pages = smp_load_acquire(&gf->mmap), *old;
	unsigned int i;

	if (mm_pages)
		return mm_pages;
	*err = -ENOMEM;
	mm_pages = kzalloc(sizeof(*mm_pages), GUPLAB_GFP);
	if (!mm_pages)
		return NULL;
	guplab_acct_get(&mm_pages->acct);
	if (guplab_memlock_charge(&mm_pages->acct, GUPLAB_MMAP_PAGES)) {
		guplab_acct_put(&mm_pages->acct);
		kfree(mm_pages);
		return NULL;
	}
	for (i = 0; i < GUPLAB_MMAP_PAGES; i++) {
		mm_pages->pages[i] = alloc_page(GUPLAB_GFP | __GFP_ZERO);
		if (!mm_pages->pages[i]) {
			guplab_free_mmap(mm_pages);
			return NULL;
		}
	}
	old = cmpxchg(&gf->mmap, NULL, mm_pages);
	if (old) {
		guplab_free_mmap(mm_pages);
		return old;
	}
	return mm_pages;
}

/*
 * MAP_SHARED only (VM_MAYSHARE: a read-only open's shared mapping has no
 * VM_SHARED), never executable, within the file's GUPLAB_MMAP_PAGES: a
 * private mapping would make remap_pfn_range() a COW mapping of kernel
 * pages, which guplab does not offer.
 */
static int guplab_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct guplab_file *gf = file->private_data;
	unsigned long nr = vma_pages(vma), i;
	struct guplab_mmap *mm_pages;
	int err;

	if (!(vma->vm_flags & VM_MAYSHARE))
		return -EINVAL;
	if (vma->vm_flags & VM_EXEC)
		return -EPERM;
	if (vma->vm_pgoff >= GUPLAB_MMAP_PAGES || nr > GUPLAB_MMAP_PAGES - vma->vm_pgoff)
		return -EINVAL;
	mm_pages = guplab_mmap_pages(gf, &err);
	if (!mm_pages)
		return err;
	guplab_vm_flags_clear(vma, VM_MAYEXEC);
	/* Page by page (not contiguous); a failure is undone by the mmap's own unwind. */
	for (i = 0, err = 0; i < nr && !err; i++)
		err = remap_pfn_range(vma, vma->vm_start + (i << PAGE_SHIFT),
				      page_to_pfn(mm_pages->pages[vma->vm_pgoff + i]), PAGE_SIZE,
				      vma->vm_page_prot);
	return err;
}

static int guplab_open(struct inode *inode, struct file *file)
{
	struct guplab_file *gf;

	/* With group= the node is 0666: root and that group only. */
	if (gid_valid(guplab_gid) && !uid_eq(current_fsuid(), GLOBAL_ROOT_UID) &&
	    !in_group_p(guplab_gid))
		return -EACCES;
	gf = kzalloc(sizeof(*gf), GFP_KERNEL_ACCOUNT);
	if (!gf)
		return -ENOMEM;
	mutex_init(&gf->lock);
	xa_init_flags(&gf->sets, XA_FLAGS_ALLOC1);
	file->private_data = gf;
	return 0;
}

/*
 * Last close, also when the holder was killed: every held set is released,
 * dirty if ACCESS wrote into it (else those bytes could be dropped with a
 * clean page).
 */
static int guplab_release_file(struct inode *inode, struct file *file)
{
	struct guplab_file *gf = file->private_data;
	struct guplab_odp *odp;
	struct guplab_set *set;
	unsigned long id;
	void *entry;

	xa_for_each(&gf->sets, id, entry) {
		xa_erase(&gf->sets, id);
		odp = guplab_entry_odp(entry);
		if (odp) {
			guplab_odp_free(odp);
		} else {
			set = entry;
			guplab_put_set(set, set->written);
			guplab_free_set(set);
		}
		cond_resched();
	}
	xa_destroy(&gf->sets);
	if (gf->mmap)
		guplab_free_mmap(gf->mmap);
	mutex_destroy(&gf->lock);
	kfree(gf);
	return 0;
}

static const struct file_operations guplab_fops = {
	.owner = THIS_MODULE,
	.open = guplab_open,
	.release = guplab_release_file,
	.unlocked_ioctl = guplab_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.mmap = guplab_mmap,
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
	int err;

	BUILD_BUG_ON(GUPLAB_API_COUNT > GUPLAB_API_SLOTS);
	/*
	 * The same size on every ABI, with explicit padding only (i386 aligns
	 * __u64 to 4): a 32-bit caller (compat_ptr_ioctl) sees the same layout.
	 * test/kernel/unpriv.c checks the sizes again as i386 code.
	 */
	BUILD_BUG_ON(sizeof(struct guplab_info) != 304);
	BUILD_BUG_ON(sizeof(struct guplab_page_facts) != 56);
	BUILD_BUG_ON(sizeof(struct guplab_pin) != 88);
	BUILD_BUG_ON(sizeof(struct guplab_release) != 32);
	BUILD_BUG_ON(sizeof(struct guplab_bench_sample) != 16);
	BUILD_BUG_ON(sizeof(struct guplab_bench) != 80);
	BUILD_BUG_ON(sizeof(struct guplab_access) != 40);
	BUILD_BUG_ON(sizeof(struct guplab_mirror) != 48);
	BUILD_BUG_ON(sizeof(struct guplab_mirror_event) != 24);
	BUILD_BUG_ON(sizeof(struct guplab_mirror_state) != 512);
	guplab_gid = INVALID_GID;
	if (group != -1) {
		guplab_gid = make_kgid(current_user_ns(), group);
		if (group < 0 || !gid_valid(guplab_gid)) {
			pr_err("group=%d is not a valid group id\n", group);
			return -EINVAL;
		}
		guplab_misc.mode = 0666;
	}
	err = misc_register(&guplab_misc);
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
