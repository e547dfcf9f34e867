/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * guplab: the one ABI between the kernel module and user space.
 *
 * Included by kmod/guplab.c and by native/ (the Node addon). Numbers here
 * are guplab's own: the module translates them to the running kernel's
 * FOLL_* values, which differ between kernel versions.
 */
#ifndef _UAPI_GUPLAB_H
#define _UAPI_GUPLAB_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/ioctl.h>
#else
#include <linux/types.h>
#include <sys/ioctl.h>
#endif

#define GUPLAB_ABI_VERSION	1
#define GUPLAB_DEVICE_NAME	"guplab"

/*
 * The GUP entry points: X(enum suffix, id, name). Ids are stable ABI;
 * new APIs get new ids, never reuse old ones.
 */
#define GUPLAB_APIS(X)							\
	X(GET_USER_PAGES_FAST, 0, "get_user_pages_fast")		\
	X(PIN_USER_PAGES_FAST, 1, "pin_user_pages_fast")		\
	X(GET_USER_PAGES_UNLOCKED, 2, "get_user_pages_unlocked")	\
	X(PIN_USER_PAGES_UNLOCKED, 3, "pin_user_pages_unlocked")

#define GUPLAB_API_ENUM(sym, id, name) GUPLAB_API_##sym = (id),
enum guplab_api {
	GUPLAB_APIS(GUPLAB_API_ENUM)
	GUPLAB_API_COUNT
};
#undef GUPLAB_API_ENUM

/* Portable flag bits: X(suffix, bit, name), translated to FOLL_* in the module. */
#define GUPLAB_FLAGS(X)					\
	X(WRITE, 0, "write")				\
	X(LONGTERM, 1, "longterm")

#define GUPLAB_FLAG_ENUM(sym, bit, name) GUPLAB_FLAG_##sym = (1u << (bit)),
enum guplab_flag {
	GUPLAB_FLAGS(GUPLAB_FLAG_ENUM)
};
#undef GUPLAB_FLAG_ENUM

#define GUPLAB_RELEASE_LEN	128

/* GUPLAB_IOC_INFO: what this module and kernel offer. All fields out. */
struct guplab_info {
	__u32 abi_version;	/* GUPLAB_ABI_VERSION of the module */
	__u32 page_size;	/* PAGE_SIZE of the running kernel */
	__u64 api_mask;		/* bit (1 << id) per supported guplab_api */
	__u64 flag_mask;	/* supported GUPLAB_FLAG_* bits */
	__u64 max_pages;	/* largest nr_pages one call accepts */
	char release[GUPLAB_RELEASE_LEN];	/* utsname()->release */
};

/*
 * GUPLAB_IOC_PIN: call one GUP entry point on [addr, addr + nr_pages pages)
 * of the caller's mm and release every page it took before returning.
 */
struct guplab_pin {
	__u32 api;		/* in: enum guplab_api */
	__u32 flags;		/* in: GUPLAB_FLAG_* */
	__u64 addr;		/* in: user virtual address, passed verbatim */
	__u64 nr_pages;		/* in: 1 .. info.max_pages */
	__u64 reserved[4];	/* in: must be zero */
	__s64 ret;		/* out: the GUP return value verbatim (count or -errno) */
	__u64 get_ns;		/* out: time spent in the GUP call */
	__u64 put_ns;		/* out: time spent releasing the pages it took */
};

#define GUPLAB_IOC_MAGIC	0xB7
#define GUPLAB_IOC_INFO		_IOR(GUPLAB_IOC_MAGIC, 0x00, struct guplab_info)
#define GUPLAB_IOC_PIN		_IOWR(GUPLAB_IOC_MAGIC, 0x01, struct guplab_pin)

#endif /* _UAPI_GUPLAB_H */
