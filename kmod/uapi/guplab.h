/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * guplab: the one ABI between the kernel module and user space.
 *
 * Included by kmod/ and by native/ (the Node addon). Numbers here are
 * guplab's own: the module translates them to the running kernel's FOLL_*
 * values, which differ between kernel versions.
 */
#ifndef _UAPI_GUPLAB_H
#define _UAPI_GUPLAB_H

#include <linux/types.h>
#ifdef __KERNEL__
#include <linux/ioctl.h>
#else
#include <sys/ioctl.h>
#endif

#define GUPLAB_ABI_VERSION	8
#define GUPLAB_DEVICE_NAME	"guplab"

/*
 * The GUP entry points: X(SYM, id, fn, pin, path). Ids are stable ABI: new
 * APIs get new ids. fn is the kernel function, whose name is the API's name
 * everywhere (addon, TypeScript); pin is 1 for the FOLL_PIN (pin_*) entry
 * points, 0 for FOLL_GET (get_*); path says how a kernel caller calls it:
 *   FAST       lockless page-table walk, falls back to the slow path
 *   FAST_ONLY  lockless walk only: never faults, never sleeps
 *   UNLOCKED   takes mmap_lock itself
 *   LOCKED     under the caller's mmap_read_lock
 *   REMOTE     on the mm of guplab_pin.pid, under its mmap_read_lock
 * INFO's api_mask says which the running kernel exports. Adding an entry
 * point: one line here, and its GUPLAB_HAVE_ and GUPLAB_CALL_ lines in
 * kmod/compat.h (the module does not build without them).
 */
#define GUPLAB_APIS(X)							\
	X(GET_USER_PAGES_FAST, 0, get_user_pages_fast, 0, FAST)		\
	X(PIN_USER_PAGES_FAST, 1, pin_user_pages_fast, 1, FAST)		\
	X(GET_USER_PAGES_UNLOCKED, 2, get_user_pages_unlocked, 0, UNLOCKED) \
	X(PIN_USER_PAGES_UNLOCKED, 3, pin_user_pages_unlocked, 1, UNLOCKED) \
	X(GET_USER_PAGES_FAST_ONLY, 4, get_user_pages_fast_only, 0, FAST_ONLY) \
	X(PIN_USER_PAGES_FAST_ONLY, 5, pin_user_pages_fast_only, 1, FAST_ONLY) \
	X(GET_USER_PAGES, 6, get_user_pages, 0, LOCKED)			\
	X(PIN_USER_PAGES, 7, pin_user_pages, 1, LOCKED)			\
	X(GET_USER_PAGES_REMOTE, 8, get_user_pages_remote, 0, REMOTE)	\
	X(PIN_USER_PAGES_REMOTE, 9, pin_user_pages_remote, 1, REMOTE)

#define GUPLAB_API_ENUM(sym, id, fn, pin, path) GUPLAB_API_##sym = (id),
enum guplab_api {
	GUPLAB_APIS(GUPLAB_API_ENUM)
	GUPLAB_API_COUNT
};
#undef GUPLAB_API_ENUM

/* How an entry point is called (the path column of GUPLAB_APIS). */
#define GUPLAB_PATHS(X)	X(FAST, 0, "fast") X(FAST_ONLY, 1, "fast_only") X(UNLOCKED, 2, "unlocked") \
			X(LOCKED, 3, "locked") X(REMOTE, 4, "remote")
#define GUPLAB_PATH_ENUM(sym, id, name) GUPLAB_PATH_##sym = (id),
enum guplab_path {
	GUPLAB_PATHS(GUPLAB_PATH_ENUM)
};
#undef GUPLAB_PATH_ENUM

/*
 * Portable flag bits: X(suffix, bit, name), translated to the kernel's
 * public FOLL_* flags. INFO's flag_mask says which this kernel has.
 */
#define GUPLAB_FLAGS(X)						\
	X(WRITE, 0, "write")					\
	X(LONGTERM, 1, "longterm")				\
	X(FORCE, 2, "force")					\
	X(NOWAIT, 3, "nowait")					\
	X(NOFAULT, 4, "nofault")				\
	X(HWPOISON, 5, "hwpoison")				\
	X(ANON, 6, "anon")					\
	X(SPLIT_PMD, 7, "split_pmd")				\
	X(DUMP, 8, "dump")					\
	X(INTERRUPTIBLE, 9, "interruptible")			\
	X(HONOR_NUMA_FAULT, 10, "honor_numa_fault")

#define GUPLAB_FLAG_ENUM(sym, bit, name) GUPLAB_FLAG_##sym = (1u << (bit)),
enum guplab_flag {
	GUPLAB_FLAGS(GUPLAB_FLAG_ENUM)
};
#undef GUPLAB_FLAG_ENUM

#define GUPLAB_RELEASE_LEN	128
#define GUPLAB_API_SLOTS	16

/* GUPLAB_IOC_INFO: what this module and kernel offer. All fields out. */
struct guplab_info {
	__u32 abi_version;	/* GUPLAB_ABI_VERSION of the module */
	__u32 page_size;	/* PAGE_SIZE of the running kernel */
	__u64 api_mask;		/* bit (1 << id) per API this kernel exports */
	__u64 flag_mask;	/* GUPLAB_FLAG_* bits this kernel has */
	__u64 max_pages;	/* largest nr_pages (or pages_per_call) of one call */
	__u64 max_held_pages;	/* largest number of pages one open file may hold */
	/*
	 * Per API id: GUPLAB_FLAG_* bits with which this kernel answers
	 * through a WARN_ON_ONCE (a "WARNING:" in dmesg). Passed through, not
	 * filtered: the answer is the point, and a harness expects the WARN.
	 */
	__u32 warn_flags[GUPLAB_API_SLOTS];
	char release[GUPLAB_RELEASE_LEN];	/* utsname()->release */
	/*
	 * ABI 7. Per API id: the GUPLAB_FLAG_* bits a caller without
	 * CAP_SYS_ADMIN may pass, an allowlist (EPERM for any other): never a
	 * warn_flags bit; FORCE on *_remote only, and there only on a process
	 * the caller traces (ptrace_parent() is the caller), as
	 * CONFIG_PROC_MEM_FORCE_PTRACE rules /proc/PID/mem.
	 */
	__u32 unpriv_flags[GUPLAB_API_SLOTS];
	__u32 caller;		/* GUPLAB_CALLER_* bits of the process that asked */
	__u32 reserved;		/* out: zero */
};

/* guplab_info.caller */
#define GUPLAB_CALLER_ADMIN	(1u << 0)	/* CAP_SYS_ADMIN: any flag, any hold, frame numbers */

/* guplab_page_facts.kind bits: X(SYM, bit, name) */
#define GUPLAB_KINDS(X)							\
	X(ANON, 0, "anon")						\
	X(FILE, 1, "file")		/* page cache, not shmem */	\
	X(SHMEM, 2, "shmem")		/* shmem/tmpfs/memfd */		\
	X(HUGETLB, 3, "hugetlb")					\
	X(ZONE_DEVICE, 4, "zoneDevice")	/* e.g. fsdax (DAX) pages */	\
	X(KSM, 5, "ksm")

/*
 * guplab_page_facts.props bits: X(SYM, bit, name). LONGTERM_PINNABLE is
 * folio_is_longterm_pinnable() (with CONFIG_CMA, CMA pageblocks are not
 * recognised). Bit 2 is free: a module cannot read a page's migratetype
 * (CMA), as get_pfnblock_flags_mask() is not exported. PFN_CHANGED: pfn !=
 * pfn_before (migrated).
 */
#define GUPLAB_PROPS(X)							\
	X(LONGTERM_PINNABLE, 0, "longtermPinnable")			\
	X(MAYBE_DMA_PINNED, 1, "maybeDmaPinned")			\
	X(ZONE_MOVABLE, 3, "zoneMovable")				\
	X(PFN_CHANGED, 4, "pfnChanged")

#define GUPLAB_KIND_ENUM(sym, bit, name) GUPLAB_KIND_##sym = (1u << (bit)),
enum guplab_kind {
	GUPLAB_KINDS(GUPLAB_KIND_ENUM)
};
#undef GUPLAB_KIND_ENUM
#define GUPLAB_PROP_ENUM(sym, bit, name) GUPLAB_PROP_##sym = (1u << (bit)),
enum guplab_prop {
	GUPLAB_PROPS(GUPLAB_PROP_ENUM)
};
#undef GUPLAB_PROP_ENUM

#define GUPLAB_ZONE_NAME_LEN	12

/*
 * One entry per page a call took, read while the pages are held. The frame
 * numbers (pfn, pfn_before) are 0 for a caller without CAP_SYS_ADMIN, as in
 * /proc/PID/pagemap (ABI 7); PFN_CHANGED still says whether they differ.
 */
struct guplab_page_facts {
	__u64 pfn;
	__u64 pfn_before;	/* pfn of a present page before the call (GUP-fast-only lookup), else 0 */
	__u32 kind;		/* GUPLAB_KIND_* */
	__u32 props;		/* GUPLAB_PROP_* */
	__u32 folio_order;
	__s32 refcount;		/* folio_ref_count() while held */
	/*
	 * Exact FOLL_PIN count of a large folio; -1 for small folios, whose pins
	 * are counted in refcount (GUP_PIN_COUNTING_BIAS).
	 */
	__s32 pincount;
	__u32 zone;		/* zone_idx() */
	char zone_name[GUPLAB_ZONE_NAME_LEN];
	/*
	 * Out: zero. Explicit tail padding: 56 bytes on every ABI (i386 aligns
	 * __u64 to 4 and made it 52 before ABI 4).
	 */
	__u32 reserved;
};

/* guplab_pin.mode */
#define GUPLAB_PIN_HOLD		(1u << 0)	/* keep what was taken: out handle */
#define GUPLAB_PIN_FACTS	(1u << 1)	/* fill facts[0 .. ret) */

/*
 * GUPLAB_IOC_PIN: call one GUP entry point on [addr, addr + nr_pages pages)
 * of the caller's mm (or of process pid for *_remote). Without HOLD, every
 * page taken is released before return.
 */
struct guplab_pin {
	__u32 api;		/* in: enum guplab_api */
	__u32 flags;		/* in: GUPLAB_FLAG_* */
	__u64 addr;		/* in: user virtual address, passed verbatim */
	__u64 nr_pages;		/* in: 1 .. info.max_pages */
	__s32 pid;		/* in: *_remote: target pid; else 0 */
	__u32 mode;		/* in: GUPLAB_PIN_* */
	__u64 facts;		/* in: user pointer to guplab_page_facts[nr_pages] (mode FACTS) */
	__u64 reserved[2];	/* in: must be zero */
	__s64 ret;		/* out: the GUP return value verbatim (count or -errno) */
	__u64 get_ns;		/* out: time spent in the GUP call */
	__u64 put_ns;		/* out: time spent releasing (0 with HOLD) */
	__u64 handle;		/* out: HOLD with ret > 0: the held set, for RELEASE */
};

/* GUPLAB_IOC_RELEASE: release a set held by PIN with GUPLAB_PIN_HOLD. */
struct guplab_release {
	__u64 handle;		/* in */
	__u32 dirty;		/* in: 1: mark pages dirty (unpin_user_pages_dirty_lock) */
	__u32 reserved;		/* in: must be zero */
	__u64 nr_pages;		/* out: pages released */
	__u64 put_ns;		/* out */
};

struct guplab_bench_sample {
	__u64 get_ns;		/* GUP time of one iteration, all batches */
	__u64 put_ns;		/* release time of one iteration */
};

/*
 * guplab_bench.mode (ABI 8): how one iteration is timed.
 *
 * BATCH: the clock is read around each call (two reads per batch), and each
 * batch is released right after its call (its put timed apart). A LOCKED
 * api takes mmap_read_lock around each call inside the timed section, as a
 * kernel caller that holds nothing does.
 *
 * PASS: mm/gup_test.c's method. A LOCKED api's mmap_read_lock is taken once
 * per iteration, outside the timed section; the clock is read once before
 * the first call and once after the last; signals and rescheduling are
 * looked at once per 512 pages, not per call; every batch is held, into one
 * array of nr_pages entries (so nr_pages is at most info.max_pages, E2BIG
 * above); an untimed verify follows (every page of a pin_* api
 * maybe-DMA-pinned, and long-term pinnable with LONGTERM, as gup_test's
 * verify_dma_pinned: status -EIO and ret the page's index otherwise); then
 * every page taken is released in one timed put. Not for *_remote nor
 * hmm_range_fault (EINVAL).
 *
 * EMPTY, or'ed into either: the same iteration (loop, locks, clock reads)
 * with no GUP call and nothing to release: the harness's own floor.
 */
#define GUPLAB_BENCH_BATCH	0u
#define GUPLAB_BENCH_PASS	1u
#define GUPLAB_BENCH_EMPTY	(1u << 8)

/*
 * GUPLAB_IOC_BENCH: iterations x {GUP over the range in batches of
 * pages_per_call}, timed as mode says. One sample per iteration is written
 * to samples[]. A signal stops it with status -EINTR; the samples so far
 * are valid. No page stays taken after the ioctl returns.
 */
struct guplab_bench {
	__u32 api;		/* in */
	__u32 flags;		/* in: GUPLAB_FLAG_* */
	__u64 addr;		/* in */
	__u64 nr_pages;		/* in: pages per iteration, 1 .. GUPLAB_BENCH_MAX_PAGES */
	__u64 pages_per_call;	/* in: 1 .. info.max_pages */
	__u32 iterations;	/* in: 1 .. GUPLAB_BENCH_MAX_ITERATIONS */
	__s32 pid;		/* in: *_remote target, else 0 */
	__u64 samples;		/* in: user pointer to guplab_bench_sample[iterations] */
	__u32 mode;		/* in: GUPLAB_BENCH_BATCH or _PASS, | GUPLAB_BENCH_EMPTY (ABI 8) */
	__u32 reserved32;	/* in: must be zero */
	__u64 reserved;		/* in: must be zero */
	__u32 done;		/* out: iterations completed */
	__s32 status;		/* out: 0, -EINTR, or -errno of a failed call */
	__s64 ret;		/* out: the GUP return value of a call that fell short */
};

#define GUPLAB_BENCH_MAX_ITERATIONS	(1u << 20)
/* One BENCH iteration covers at most this many pages (64 GiB of 4K pages). */
#define GUPLAB_BENCH_MAX_PAGES		(1u << 24)

/*
 * GUPLAB_IOC_ACCESS: reads or writes bytes of one page of a held set or a
 * mirror through the kernel's own mapping of the page, as a device doing
 * DMA to it would. Writing needs a set taken with GUPLAB_FLAG_WRITE or a
 * mirror made with GUPLAB_MIRROR_WRITE (-EPERM otherwise). A mirror's
 * invalid entry is faulted back in first (hmm_range_fault()).
 */
struct guplab_access {
	__u64 handle;		/* in: a held set */
	__u64 index;		/* in: page of the set, 0 .. nr_pages - 1 */
	__u32 offset;		/* in: first byte in the page */
	__u32 length;		/* in: 1 .. page_size - offset */
	__u32 write;		/* in: 0: page -> buf, 1: buf -> page */
	__u32 reserved;		/* in: must be zero */
	__u64 buf;		/* in: user pointer to length bytes */
};

/*
 * mmap() of /dev/guplab (ABI 5): a VM_IO | VM_PFNMAP mapping of pages the
 * module owns, so that GUP on a PFN map can be asked. Each open file has
 * GUPLAB_MMAP_PAGES zeroed pages, allocated at its first mmap and freed on
 * its last close; remap_pfn_range() maps them (special ptes, no struct page
 * reference taken by the mapping). The mapping must be MAP_SHARED and not
 * executable, with offset (in pages) + length (in pages) at most
 * GUPLAB_MMAP_PAGES; anything else is EINVAL (EPERM for PROT_EXEC).
 */
#define GUPLAB_MMAP_PAGES	16

/*
 * GUPLAB_IOC_MIRROR (ABI 6): mirrors [addr, addr + nr_pages pages) of the
 * caller's mm as an on-demand-paging (ODP) device does: no page reference
 * is held. An mmu_interval_notifier tells the mirror when the CPU page
 * table changes (the entries it covers are then invalid), and
 * hmm_range_fault() fills the mirror's page table, at creation and again
 * when ACCESS meets an invalid entry. The handle shares HOLD's handle
 * space: ACCESS reads and writes through it, RELEASE ends it (dirty must be
 * 0), closing the file ends every mirror. -EOPNOTSUPP without
 * CONFIG_HMM_MIRROR; -EEXIST if it overlaps another mirror of the file.
 */
/*
 * A mirror's page table (8 bytes per page) and struct are charged to the
 * caller's user against RLIMIT_MEMLOCK, as held pages are (ENOMEM past it);
 * so are the GUPLAB_MMAP_PAGES pages of mmap(), to the first mapper. A
 * mirror refuses memfd_secret memory with EFAULT, as GUP does (ABI 7).
 */
#define GUPLAB_MIRROR_WRITE	(1u << 0)	/* fault for write (HMM_PFN_REQ_WRITE): ACCESS may write */
#define GUPLAB_MIRROR_SNAPSHOT	(1u << 1)	/* at creation, record present pages only: fault nothing */

struct guplab_mirror {
	__u64 addr;		/* in: page aligned */
	__u64 nr_pages;		/* in: 1 .. info.max_pages */
	__u32 flags;		/* in: GUPLAB_MIRROR_* */
	__u32 reserved;		/* in: must be zero */
	__u64 handle;		/* out */
	__u64 fault_ns;		/* out: the creation's hmm_range_fault time, retries included */
	__u64 valid_pages;	/* out: entries valid after creation */
};

/*
 * Invalidation reasons (enum mmu_notifier_event, include/linux/mmu_notifier.h),
 * X(SYM, id, name) with guplab's own stable ids. EXCLUSIVE exists from 5.14;
 * OTHER counts a reason this list does not know.
 */
#define GUPLAB_EVENTS(X)						\
	X(UNMAP, 0, "unmap")						\
	X(CLEAR, 1, "clear")						\
	X(PROTECTION_VMA, 2, "protectionVma")				\
	X(PROTECTION_PAGE, 3, "protectionPage")				\
	X(SOFT_DIRTY, 4, "softDirty")					\
	X(RELEASE, 5, "release")					\
	X(MIGRATE, 6, "migrate")					\
	X(EXCLUSIVE, 7, "exclusive")					\
	X(OTHER, 15, "other")

#define GUPLAB_EVENT_ENUM(sym, id, name) GUPLAB_EVENT_##sym = (id),
enum guplab_event {
	GUPLAB_EVENTS(GUPLAB_EVENT_ENUM)
};
#undef GUPLAB_EVENT_ENUM

#define GUPLAB_EVENT_SLOTS	16
#define GUPLAB_MIRROR_LOG	16

/* One invalidation the mirror received, clipped to the mirror. */
struct guplab_mirror_event {
	__u32 event;		/* GUPLAB_EVENT_* */
	__u32 reserved;
	__u64 start;		/* first address */
	__u64 end;		/* past the last */
};

/*
 * Entry of guplab_mirror_state.pfns: the mirror's page table. The pfn bits
 * are 0 for a caller without CAP_SYS_ADMIN (ABI 7), as in /proc/PID/pagemap.
 */
#define GUPLAB_MPFN_VALID	(1ull << 63)
#define GUPLAB_MPFN_WRITE	(1ull << 62)	/* the CPU mapping is writable */
#define GUPLAB_MPFN_PFN_MASK	((1ull << 56) - 1)

/* GUPLAB_IOC_MIRROR_STATE: what a mirror has seen, and its page table. */
struct guplab_mirror_state {
	__u64 handle;		/* in */
	__u64 pfns;		/* in: user pointer to __u64[nr_pages] (GUPLAB_MPFN_*), or 0 */
	__u64 nr_pages;		/* out */
	__u64 valid_pages;	/* out */
	__u64 invalidations;	/* out: invalidate callbacks that overlapped the mirror */
	__u64 faults;		/* out: successful hmm_range_fault() fills, creation included */
	__u64 retries;		/* out: fills redone (-EBUSY, or mmu_interval_read_retry()) */
	__u32 events[GUPLAB_EVENT_SLOTS];	/* out: invalidations per GUPLAB_EVENT_* */
	__u32 nr_log;		/* out: entries of log, oldest first */
	__u32 reserved;		/* in: must be zero */
	struct guplab_mirror_event log[GUPLAB_MIRROR_LOG];	/* out: the last invalidations */
};

/*
 * BENCH's api may also be GUPLAB_BENCH_HMM_RANGE_FAULT (not a GUP entry
 * point): each batch is one hmm_range_fault() fill of a mirror that BENCH
 * holds over the range for the call, as an ODP driver fills its page table
 * (mmu_interval_read_begin(), hmm_range_fault() under mmap_read_lock, then
 * mmu_interval_read_retry()); nothing to release (put_ns 0). Flags: WRITE
 * only. -EOPNOTSUPP without CONFIG_HMM_MIRROR.
 */
#define GUPLAB_BENCH_HMM_RANGE_FAULT	32

/*
 * 0xBD: free in Documentation/userspace-api/ioctl/ioctl-number.rst (ABI 7;
 * ABI 6 and before used 0xB7, which nsfs and remoteproc_cdev hold).
 */
#define GUPLAB_IOC_MAGIC	0xBD
#define GUPLAB_IOC_INFO		_IOR(GUPLAB_IOC_MAGIC, 0x00, struct guplab_info)
#define GUPLAB_IOC_PIN		_IOWR(GUPLAB_IOC_MAGIC, 0x01, struct guplab_pin)
#define GUPLAB_IOC_RELEASE	_IOWR(GUPLAB_IOC_MAGIC, 0x02, struct guplab_release)
#define GUPLAB_IOC_BENCH	_IOWR(GUPLAB_IOC_MAGIC, 0x03, struct guplab_bench)
#define GUPLAB_IOC_ACCESS	_IOW(GUPLAB_IOC_MAGIC, 0x04, struct guplab_access)
#define GUPLAB_IOC_MIRROR	_IOWR(GUPLAB_IOC_MAGIC, 0x05, struct guplab_mirror)
#define GUPLAB_IOC_MIRROR_STATE	_IOWR(GUPLAB_IOC_MAGIC, 0x06, struct guplab_mirror_state)

#endif /* _UAPI_GUPLAB_H */
