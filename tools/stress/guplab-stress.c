// SPDX-License-Identifier: GPL-2.0
/*
 * guplab-stress: hostile and concurrent use of /dev/guplab, in C because it
 * needs raw bytes, truncated structs and unknown ioctl numbers.
 *
 *   guplab-stress fuzz SEED CALLS THREADS   seeded ioctl fuzzer (+ a thread closing/reopening fds)
 *   guplab-stress race SECONDS PINNERS      pin+hold vs munmap/mprotect/madvise/fork, data checks
 *   guplab-stress hold PAGES                hold PAGES pinned pages, print "held N", wait to be killed
 *   guplab-stress try PAGES                 open and hold PAGES (permission/limit tests), exit 0
 *   guplab-stress remote PID                pin_user_pages_remote on PID: prints the errno name
 *   guplab-stress bench-signal MS           a long BENCH interrupted by SIGALRM after MS ms
 *   guplab-stress exec-race SECONDS VICTIM  pin_user_pages_remote on a child across its execve of
 *                                           VICTIM (a setuid-root copy of this program), in a loop
 *   guplab-stress victim                    (as VICTIM) report on fd 3 whether the exec elevated it
 *
 * Every failure prints the seed and the call; the last line is a summary.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#define uint64_t unsigned long long
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "../../kmod/uapi/guplab.h"

#define PAGE 4096UL
#define DEV "/dev/guplab"

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447	/* the same number on x86_64 and the generic table (arm64) */
#endif

/* The errno's name ("EFAULT"), as the TypeScript side prints it; "OK" for 0. */
static const char *errname(int e)
{
	const char *name = e ? strerrorname_np(e) : "OK";

	return name ? name : "E?";
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static int open_dev(void)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		die("open %s: %s (%s)", DEV, strerror(errno), errname(errno));
	return fd;
}

static void *map(size_t len, int prot, int flags)
{
	void *p = mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);

	if (p == MAP_FAILED)
		die("mmap %zu: %s", len, strerror(errno));
	return p;
}

/* splitmix64: tiny, seedable, good enough to pick values. */
static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t pick(uint64_t *s, const uint64_t *v, size_t n)
{
	return v[rnd(s) % n];
}

#define PICK(s, arr) pick((s), (arr), sizeof(arr) / sizeof((arr)[0]))

/* ------------------------------------------------------------------ fuzz */

#define NFDS		4
#define NHANDLES	64
#define DESC_LEN	320
#define MAX_THREADS	16
#define NREGIONS	8

static struct guplab_info info;
static uint64_t seed;
static atomic_int fds[NFDS];
static _Atomic uint64_t handles[NHANDLES];
static atomic_long calls, failures;
static atomic_int stop_closer;
static char (*lastcall)[DESC_LEN];	/* shared with the parent */
static unsigned char *paths;		/* shared: distinct (op, outcome) seen */
static pid_t sleeper;
static struct { uint8_t *base; size_t pages; const char *what; } regions[NREGIONS];
static uint8_t *guard;			/* RW page followed by a PROT_NONE page */
static uint8_t *scratch;		/* RW buffer for facts/samples/ACCESS */
#define SCRATCH_LEN (64 * sizeof(struct guplab_page_facts))

enum op { OP_INFO, OP_PIN, OP_RELEASE, OP_BENCH, OP_ACCESS, OP_UNKNOWN, OP_TRUNC, OP_BADPTR,
	  OP_RAW, OP_MIRROR, OP_MIRROR_STATE, OP_COUNT };
static const char *const op_names[OP_COUNT] = { "INFO", "PIN", "RELEASE", "BENCH", "ACCESS",
						"unknown-nr", "truncated", "bad-pointer", "raw-bytes",
						"MIRROR", "MIRROR_STATE" };
#define PATH_SLOTS (OP_COUNT * 256)

static void note_path(int op, int err, long ret)
{
	/* outcome: errno, or for success the sign class of a GUP return value */
	int outcome = err ? 128 + (err & 127) : ret > 0 ? 1 : ret == 0 ? 0 : 2 + ((-ret) & 63);

	paths[op * 256 + outcome] = 1;
}

static void fail(int tid, const char *why)
{
	atomic_fetch_add(&failures, 1);
	fprintf(stderr, "FUZZ FAILURE seed=%llu thread=%d: %s\n  call: %s\n", seed, tid, why,
		lastcall[tid]);
}

static uint64_t rand_addr(uint64_t *s, int *in_region)
{
	static const uint64_t edges[] = {
		0, PAGE, 0x7ffffffff000ULL, 0x7fffffffffffULL, 0x800000000000ULL,
		0xffff800000000000ULL, 0xffff888000000000ULL, 0xffffffff81000000ULL,
		0xfffffffffffff000ULL, ~0ULL, 0x8000000000000000ULL, 0x00ff000000000000ULL,
	};
	uint64_t r = rnd(s) % 16;

	*in_region = 0;
	if (r < 11) {
		int i = rnd(s) % NREGIONS;
		uint64_t a = (uint64_t)(uintptr_t)regions[i].base + (rnd(s) % regions[i].pages) * PAGE;

		*in_region = 1;
		if (rnd(s) % 8 == 0)
			a += rnd(s) % PAGE;	/* unaligned */
		return a;
	}
	if (r < 15)
		return PICK(s, edges);
	return rnd(s);
}

static uint64_t rand_pages(uint64_t *s)
{
	const uint64_t edges[] = {
		0, 1, 1, 2, 3, 16, 64, 65, info.max_pages, info.max_pages + 1, INT_MAX,
		(uint64_t)INT_MAX + 1, ~0ULL, (uint64_t)-2, 1ULL << 63, 1ULL << 24, (1ULL << 24) + 1,
		(uint64_t)-(int64_t)PAGE,
	};

	if (rnd(s) % 3 == 0)
		return 1 + rnd(s) % 64;
	if (rnd(s) % 16 == 0)
		return rnd(s);
	return PICK(s, edges);
}

static uint32_t rand_api(uint64_t *s)
{
	static const uint64_t edges[] = { GUPLAB_API_COUNT, GUPLAB_API_COUNT + 1, 15, 16, 63, 64,
					  GUPLAB_BENCH_HMM_RANGE_FAULT, GUPLAB_BENCH_HMM_RANGE_FAULT,
					  0x7fffffff, 0x80000000, 0xffffffff };

	if (rnd(s) % 10)
		return rnd(s) % GUPLAB_API_COUNT;
	return PICK(s, edges);
}

static uint32_t rand_flags(uint64_t *s, uint32_t api)
{
	uint32_t f = rnd(s) & info.flag_mask;

	if (rnd(s) % 4 == 0)
		f &= rnd(s);		/* fewer flags */
	if (rnd(s) % 12 == 0)
		f |= 1u << (rnd(s) % 32);	/* maybe unknown */
	/* Flags the kernel itself answers through WARN_ON_ONCE (INFO warn_flags) are avoided. */
	if (api < GUPLAB_API_SLOTS)
		f &= ~info.warn_flags[api];
	return f;
}

static int32_t rand_pid(uint64_t *s)
{
	const int64_t v[] = { 0, getpid(), sleeper, sleeper, getpid(), 1, 2, -1, INT_MAX, INT_MIN, 999999 };

	return (int32_t)v[rnd(s) % (sizeof(v) / sizeof(v[0]))];
}

static uint64_t rand_ptr(uint64_t *s, size_t need)
{
	int in;

	switch (rnd(s) % 6) {
	case 0: return 0;
	case 1: return rand_addr(s, &in);
	case 2: return (uint64_t)(uintptr_t)(guard + PAGE - (need > 8 ? need / 2 : 1));	/* runs into PROT_NONE */
	case 3: return (uint64_t)(uintptr_t)regions[2].base;	/* read-only */
	}
	return (uint64_t)(uintptr_t)scratch;
}

static int fd_of(uint64_t *s)
{
	return atomic_load(&fds[rnd(s) % NFDS]);
}

static uint64_t rand_handle(uint64_t *s)
{
	static const uint64_t edges[] = { 0, 1, 2, 0xffffffffULL, 0x100000000ULL, ~0ULL, 1ULL << 63 };

	if (rnd(s) % 4)
		return atomic_load(&handles[rnd(s) % NHANDLES]);
	return PICK(s, edges);
}

static int do_ioctl(int fd, unsigned long cmd, void *arg, int *err)
{
	int r = ioctl(fd, cmd, arg);

	*err = r < 0 ? errno : 0;
	atomic_fetch_add(&calls, 1);
	return r;
}

static void fuzz_pin(int tid, uint64_t *s)
{
	struct guplab_pin p = { 0 };
	int in_region, err, fd = fd_of(s);
	bool invalid;

	p.api = rand_api(s);
	p.flags = rand_flags(s, p.api);
	p.addr = rand_addr(s, &in_region);
	p.nr_pages = rand_pages(s);
	p.pid = (p.api == GUPLAB_API_GET_USER_PAGES_REMOTE || p.api == GUPLAB_API_PIN_USER_PAGES_REMOTE) &&
		rnd(s) % 4 ? (rnd(s) % 2 ? sleeper : getpid()) : rand_pid(s);
	if (rnd(s) % 3 == 0)
		p.pid = 0;
	p.mode = rnd(s) % 8 ? rnd(s) % 4 : (uint32_t)rnd(s);
	p.facts = p.mode & GUPLAB_PIN_FACTS ? rand_ptr(s, SCRATCH_LEN) : rnd(s) % 8 ? 0 : rnd(s);
	if (rnd(s) % 10 == 0)
		p.reserved[rnd(s) % 2] = rnd(s) | 1;
	p.ret = (int64_t)rnd(s);
	p.handle = rnd(s);

	invalid = p.api >= GUPLAB_API_COUNT || !(info.api_mask & (1ULL << p.api)) ||
		  (p.flags & ~info.flag_mask) || p.nr_pages == 0 || p.nr_pages > info.max_pages ||
		  p.reserved[0] || p.reserved[1] || (p.mode & ~3u) ||
		  !!(p.mode & GUPLAB_PIN_FACTS) != !!p.facts;
	snprintf(lastcall[tid], DESC_LEN,
		 "PIN fd=%d api=%u flags=%#x addr=%#llx nr_pages=%llu pid=%d mode=%#x facts=%#llx "
		 "reserved={%#llx,%#llx}", fd, p.api, p.flags, p.addr, p.nr_pages,
		 p.pid, p.mode, p.facts, p.reserved[0], p.reserved[1]);
	if (do_ioctl(fd, GUPLAB_IOC_PIN, &p, &err) == 0) {
		if (invalid)
			fail(tid, "invalid PIN accepted");
		if (p.ret > (int64_t)p.nr_pages)
			fail(tid, "GUP returned more pages than asked");
		if ((p.mode & GUPLAB_PIN_HOLD) && p.ret > 0) {
			if (!p.handle)
				fail(tid, "HOLD without a handle");
			atomic_store(&handles[rnd(s) % NHANDLES], p.handle);
		}
	}
	note_path(OP_PIN, err, err ? 0 : p.ret);
}

static void fuzz_release(int tid, uint64_t *s)
{
	struct guplab_release r = { 0 };
	int err, fd = fd_of(s);

	r.handle = rand_handle(s);
	r.dirty = rnd(s) % 8 ? rnd(s) % 2 : (uint32_t)rnd(s);
	if (rnd(s) % 10 == 0)
		r.reserved = (uint32_t)rnd(s) | 1;
	snprintf(lastcall[tid], DESC_LEN, "RELEASE fd=%d handle=%#llx dirty=%u reserved=%#x", fd,
		 r.handle, r.dirty, r.reserved);
	if (do_ioctl(fd, GUPLAB_IOC_RELEASE, &r, &err) == 0 && (r.reserved || r.dirty > 1))
		fail(tid, "invalid RELEASE accepted");
	note_path(OP_RELEASE, err, 0);
}

static void fuzz_bench(int tid, uint64_t *s)
{
	struct guplab_bench b = { 0 };
	static const uint64_t iters[] = { 0, 1, 2, 3, GUPLAB_BENCH_MAX_ITERATIONS,
					  GUPLAB_BENCH_MAX_ITERATIONS + 1, 0xffffffff };
	int in_region, err, fd = fd_of(s);

	b.api = rand_api(s);
	b.flags = rand_flags(s, b.api);
	b.addr = rand_addr(s, &in_region);
	b.nr_pages = rand_pages(s);
	b.pages_per_call = rand_pages(s);
	b.iterations = rnd(s) % 2 ? 1 + rnd(s) % 3 : PICK(s, iters);
	b.pid = (b.api == GUPLAB_API_GET_USER_PAGES_REMOTE || b.api == GUPLAB_API_PIN_USER_PAGES_REMOTE) &&
		rnd(s) % 2 ? sleeper : rand_pid(s);
	b.samples = rand_ptr(s, 4 * sizeof(struct guplab_bench_sample));
	/* Both timing modes, with or without the empty floor; now and then a mode no ABI names. */
	b.mode = (rnd(s) % 2 ? GUPLAB_BENCH_PASS : GUPLAB_BENCH_BATCH) | (rnd(s) % 4 ? 0 : GUPLAB_BENCH_EMPTY);
	if (rnd(s) % 20 == 0)
		b.mode |= 1u << (2 + rnd(s) % 6);
	if (rnd(s) % 10 == 0) {
		if (rnd(s) % 2)
			b.reserved32 = rnd(s) | 1;
		else
			b.reserved = rnd(s) | 1;
	}
	/*
	 * Keep every call short: a long run only where the range cannot be
	 * taken. An EMPTY call never touches the range, so the hole cannot end
	 * it: its valid long runs become three iterations.
	 */
	if (b.iterations > 3 && b.iterations <= GUPLAB_BENCH_MAX_ITERATIONS && (b.mode & GUPLAB_BENCH_EMPTY))
		b.iterations = 3;
	if (b.iterations > 3 && in_region)
		b.addr = (uint64_t)(uintptr_t)regions[5].base;	/* the hole: first call fails */
	if (b.samples == (uint64_t)(uintptr_t)scratch && b.iterations > 4 && rnd(s) % 2)
		b.samples = 0;
	snprintf(lastcall[tid], DESC_LEN,
		 "BENCH fd=%d api=%u flags=%#x addr=%#llx nr_pages=%llu ppc=%llu"
		 " iterations=%u pid=%d samples=%#llx mode=%#x reserved={%#x,%#llx}", fd, b.api,
		 b.flags, b.addr, b.nr_pages, b.pages_per_call, b.iterations, b.pid, b.samples,
		 b.mode, b.reserved32, b.reserved);
	if (do_ioctl(fd, GUPLAB_IOC_BENCH, &b, &err) == 0) {
		if (b.reserved32 || b.reserved || (b.mode & ~(GUPLAB_BENCH_PASS | GUPLAB_BENCH_EMPTY)) ||
		    !b.pages_per_call || !b.iterations || !b.nr_pages)
			fail(tid, "invalid BENCH accepted");
		if (b.done > b.iterations)
			fail(tid, "BENCH did more iterations than asked");
	}
	note_path(OP_BENCH, err, err ? 0 : b.status);
}

static void fuzz_access(int tid, uint64_t *s)
{
	struct guplab_access a = { 0 };
	static const uint64_t offs[] = { 0, 1, 8, 4088, 4095, 4096, 4097, 0xffffffff };
	static const uint64_t lens[] = { 0, 1, 8, 4095, 4096, 4097, 0x7fffffff, 0xffffffff };
	static const uint64_t idx[] = { 0, 0, 1, 63, 64, 0xffffffff, ~0ULL };
	int err, fd = fd_of(s);

	a.handle = rand_handle(s);
	a.index = PICK(s, idx);
	a.offset = PICK(s, offs);
	a.length = rnd(s) % 2 ? 1 + rnd(s) % 64 : PICK(s, lens);
	a.write = rnd(s) % 8 ? rnd(s) % 2 : (uint32_t)rnd(s);
	a.buf = rand_ptr(s, a.length);
	if (rnd(s) % 10 == 0)
		a.reserved = (uint32_t)rnd(s) | 1;
	snprintf(lastcall[tid], DESC_LEN,
		 "ACCESS fd=%d handle=%#llx index=%llu offset=%u length=%u write=%u buf=%#llx "
		 "reserved=%#x", fd, a.handle, a.index, a.offset, a.length, a.write, a.buf,
		 a.reserved);
	if (do_ioctl(fd, GUPLAB_IOC_ACCESS, &a, &err) == 0 &&
	    (a.reserved || a.write > 1 || !a.length || a.offset >= PAGE || a.length > PAGE - a.offset))
		fail(tid, "invalid ACCESS accepted");
	note_path(OP_ACCESS, err, 0);
}

static void fuzz_mirror(int tid, uint64_t *s)
{
	struct guplab_mirror m = { 0 };
	int in_region, err, fd = fd_of(s);
	bool invalid;

	m.addr = rand_addr(s, &in_region);
	m.nr_pages = rand_pages(s);
	m.flags = rnd(s) % 8 ? rnd(s) % 4 : (uint32_t)rnd(s);
	if (rnd(s) % 10 == 0)
		m.reserved = (uint32_t)rnd(s) | 1;
	m.handle = rnd(s);
	invalid = m.reserved || (m.flags & ~(GUPLAB_MIRROR_WRITE | GUPLAB_MIRROR_SNAPSHOT)) ||
		  !m.nr_pages || m.nr_pages > info.max_pages || (m.addr & (PAGE - 1));
	snprintf(lastcall[tid], DESC_LEN, "MIRROR fd=%d addr=%#llx nr_pages=%llu flags=%#x reserved=%#x",
		 fd, m.addr, m.nr_pages, m.flags, m.reserved);
	if (do_ioctl(fd, GUPLAB_IOC_MIRROR, &m, &err) == 0) {
		if (invalid)
			fail(tid, "invalid MIRROR accepted");
		if (!m.handle || m.valid_pages > m.nr_pages)
			fail(tid, "MIRROR answered without a handle, or more valid pages than mirrored");
		atomic_store(&handles[rnd(s) % NHANDLES], m.handle);
	}
	note_path(OP_MIRROR, err, 0);
}

static void fuzz_mirror_state(int tid, uint64_t *s)
{
	static struct guplab_mirror_state st[MAX_THREADS];
	struct guplab_mirror_state *m = &st[tid];
	int err, fd = fd_of(s);

	memset(m, 0, sizeof(*m));
	m->handle = rand_handle(s);
	/* No table, or one that cannot be written whole (into PROT_NONE, read-only, kernel): EFAULT. */
	switch (rnd(s) % 5) {
	case 0: m->pfns = (uint64_t)(uintptr_t)(guard + PAGE - 8); break;
	case 1: m->pfns = (uint64_t)(uintptr_t)regions[2].base; break;
	case 2: m->pfns = 0xffff888000000000ULL; break;
	default: m->pfns = 0;
	}
	if (rnd(s) % 10 == 0)
		m->reserved = (uint32_t)rnd(s) | 1;
	snprintf(lastcall[tid], DESC_LEN, "MIRROR_STATE fd=%d handle=%#llx pfns=%#llx reserved=%#x", fd,
		 m->handle, m->pfns, m->reserved);
	if (do_ioctl(fd, GUPLAB_IOC_MIRROR_STATE, m, &err) == 0 &&
	    (m->reserved || m->valid_pages > m->nr_pages || m->nr_log > GUPLAB_MIRROR_LOG))
		fail(tid, "invalid MIRROR_STATE accepted, or an impossible answer");
	note_path(OP_MIRROR_STATE, err, 0);
}

static const unsigned long known_cmds[] = { GUPLAB_IOC_INFO, GUPLAB_IOC_PIN, GUPLAB_IOC_RELEASE,
					    GUPLAB_IOC_BENCH, GUPLAB_IOC_ACCESS, GUPLAB_IOC_MIRROR,
					    GUPLAB_IOC_MIRROR_STATE };
#define NKNOWN	(sizeof(known_cmds) / sizeof(known_cmds[0]))

static bool is_known(unsigned long cmd)
{
	for (size_t i = 0; i < NKNOWN; i++)
		if (cmd == known_cmds[i])
			return true;
	return false;
}

static void fuzz_unknown(int tid, uint64_t *s)
{
	unsigned long cmd;
	int err, r, fd = fd_of(s);

	switch (rnd(s) % 4) {
	case 0:		/* our magic, another number */
		cmd = _IOC(rnd(s) % 4, GUPLAB_IOC_MAGIC, NKNOWN + rnd(s) % (256 - NKNOWN), rnd(s) % 512);
		break;
	case 1:		/* a known number with another size (a struct from another ABI) */
		cmd = known_cmds[rnd(s) % NKNOWN];
		cmd = _IOC(_IOC_DIR(cmd), _IOC_TYPE(cmd), _IOC_NR(cmd), _IOC_SIZE(cmd) + (rnd(s) % 2 ? 8 : -8));
		break;
	case 2:		/* a known number with another direction */
		cmd = known_cmds[rnd(s) % NKNOWN];
		cmd = _IOC((_IOC_DIR(cmd) + 1 + rnd(s) % 3) % 4, _IOC_TYPE(cmd), _IOC_NR(cmd), _IOC_SIZE(cmd));
		break;
	default:
		cmd = (uint32_t)rnd(s);
	}
	if (is_known(cmd))
		cmd ^= 0x80;
	memset(scratch, 0, 512);
	snprintf(lastcall[tid], DESC_LEN, "unknown fd=%d cmd=%#lx", fd, cmd);
	r = do_ioctl(fd, cmd, scratch, &err);
	if (r == 0 && _IOC_TYPE(cmd) == GUPLAB_IOC_MAGIC)
		fail(tid, "unknown ioctl number accepted");
	note_path(OP_UNKNOWN, err, 0);
}

/* A known command whose struct is cut short by a PROT_NONE page, or filled with raw bytes. */
static void fuzz_trunc(int tid, uint64_t *s, bool raw)
{
	unsigned long cmd = known_cmds[rnd(s) % NKNOWN];
	size_t size = _IOC_SIZE(cmd), keep = raw ? size : rnd(s) % size;
	uint8_t *arg = guard + PAGE - keep;
	struct guplab_pin *p = (struct guplab_pin *)arg;
	int err;

	for (size_t i = 0; i < keep; i++)
		arg[i] = (uint8_t)rnd(s);
	/* Raw bytes can still spell a valid PIN: keep the kernel's WARN answers out, as above. */
	if (raw && cmd == GUPLAB_IOC_PIN && p->api < GUPLAB_API_SLOTS)
		p->flags &= ~info.warn_flags[p->api];
	if (raw && cmd == GUPLAB_IOC_BENCH && ((struct guplab_bench *)arg)->api < GUPLAB_API_SLOTS)
		((struct guplab_bench *)arg)->flags &= ~info.warn_flags[((struct guplab_bench *)arg)->api];
	if (raw && cmd == GUPLAB_IOC_BENCH)
		((struct guplab_bench *)arg)->iterations &= 3;
	snprintf(lastcall[tid], DESC_LEN, "%s fd=%d cmd=%#lx bytes=%zu of %zu", raw ? "raw" : "truncated",
		 fd_of(s), cmd, keep, size);
	if (do_ioctl(fd_of(s), cmd, arg, &err) == 0 && !raw && cmd != GUPLAB_IOC_INFO)
		fail(tid, "truncated struct accepted");
	if (!raw && err == 0 && cmd == GUPLAB_IOC_INFO)
		fail(tid, "INFO wrote past a PROT_NONE page");
	if (raw && err == 0 && cmd == GUPLAB_IOC_PIN && p->handle)
		atomic_store(&handles[rnd(s) % NHANDLES], p->handle);
	note_path(raw ? OP_RAW : OP_TRUNC, err, 0);
}

static void fuzz_badptr(int tid, uint64_t *s)
{
	static const uint64_t ptrs[] = { 0, 1, 0xffff888000000000ULL, 0xffffffff81000000ULL,
					 0x800000000000ULL, ~0ULL };
	unsigned long cmd = known_cmds[rnd(s) % NKNOWN];
	uint64_t ptr = PICK(s, ptrs);
	int err, fd = fd_of(s);

	if (rnd(s) % 4 == 0)
		ptr = (uint64_t)(uintptr_t)regions[3].base;	/* PROT_NONE */
	snprintf(lastcall[tid], DESC_LEN, "bad-pointer fd=%d cmd=%#lx arg=%#llx", fd, cmd, ptr);
	if (do_ioctl(fd, cmd, (void *)(uintptr_t)ptr, &err) == 0)
		fail(tid, "ioctl on a bad pointer succeeded");
	note_path(OP_BADPTR, err, 0);
}

static void fuzz_info(int tid, uint64_t *s)
{
	struct guplab_info in;
	int err, fd = fd_of(s);

	snprintf(lastcall[tid], DESC_LEN, "INFO fd=%d", fd);
	if (do_ioctl(fd, GUPLAB_IOC_INFO, &in, &err) == 0 && in.abi_version != info.abi_version)
		fail(tid, "INFO changed its ABI version");
	note_path(OP_INFO, err, 0);
}

struct worker { int tid; long n; };

static void *fuzz_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t s = seed * 1000003ULL + w->tid;

	for (long i = 0; i < w->n; i++) {
		uint64_t r = rnd(&s) % 100;

		if (r < 37)
			fuzz_pin(w->tid, &s);
		else if (r < 52)
			fuzz_release(w->tid, &s);
		else if (r < 60)
			fuzz_bench(w->tid, &s);
		else if (r < 70)
			fuzz_access(w->tid, &s);
		else if (r < 72)
			fuzz_info(w->tid, &s);
		else if (r < 77)
			fuzz_mirror(w->tid, &s);
		else if (r < 80)
			fuzz_mirror_state(w->tid, &s);
		else if (r < 83)
			fuzz_unknown(w->tid, &s);
		else if (r < 89)
			fuzz_trunc(w->tid, &s, false);
		else if (r < 94)
			fuzz_trunc(w->tid, &s, true);
		else
			fuzz_badptr(w->tid, &s);
	}
	return NULL;
}

/* Concurrent close/release: replaces open files under the workers' feet. */
static void *closer(void *arg)
{
	uint64_t s = seed ^ 0xc105e;
	long *reopens = arg;

	while (!atomic_load(&stop_closer)) {
		int i = rnd(&s) % NFDS, old = atomic_load(&fds[i]);
		int fd = open(DEV, O_RDWR | O_CLOEXEC);

		if (fd < 0)
			die("closer: open: %s", strerror(errno));
		if (rnd(&s) % 2) {
			/* atomic replacement: the old file's last ioctl releases it */
			if (dup2(fd, old) < 0)
				die("dup2: %s", strerror(errno));
			close(fd);
		} else {
			/* plain close: workers may see EBADF, or the fd number reused */
			atomic_store(&fds[i], fd);
			close(old);
		}
		(*reopens)++;
		usleep(200 + rnd(&s) % 800);
	}
	return NULL;
}

static int fuzz_child(long ncalls, int nthreads)
{
	pthread_t th[MAX_THREADS], cl;
	struct worker w[MAX_THREADS];
	long reopens = 0;
	int fd, i, n = 0;

	fd = open_dev();
	if (ioctl(fd, GUPLAB_IOC_INFO, &info))
		die("INFO: %s", strerror(errno));
	for (i = 0; i < NFDS; i++)
		atomic_store(&fds[i], i ? open_dev() : fd);

	regions[0].base = map(64 * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	regions[0].pages = 64;
	regions[1].base = map(64 * PAGE, PROT_READ | PROT_WRITE, 0);
	regions[1].pages = 64;
	regions[2].base = map(16 * PAGE, PROT_READ, MAP_POPULATE);
	regions[2].pages = 16;
	regions[3].base = map(16 * PAGE, PROT_NONE, 0);
	regions[3].pages = 16;
	{
		char name[] = "/dev/shm/guplab-fuzz-XXXXXX";
		int f = mkstemp(name);

		if (f < 0 || ftruncate(f, 16 * PAGE))
			die("shm file: %s", strerror(errno));
		unlink(name);
		regions[4].base = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
		if (regions[4].base == MAP_FAILED)
			die("mmap shm: %s", strerror(errno));
		regions[4].pages = 16;
		close(f);
	}
	regions[5].base = map(16 * PAGE, PROT_READ, 0);
	regions[5].pages = 16;
	munmap(regions[5].base, 16 * PAGE);	/* a hole */
	regions[6].base = map(2UL << 20, PROT_READ | PROT_WRITE, MAP_POPULATE);	/* THP-able */
	regions[6].pages = 512;
	{
		/*
		 * memfd_secret memory (off the direct map: GUP and MIRROR refuse it),
		 * where the kernel has it; else more anonymous memory.
		 */
		int f = syscall(SYS_memfd_secret, O_CLOEXEC);

		if (f >= 0 && !ftruncate(f, 16 * PAGE))
			regions[7].base = mmap(NULL, 16 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
		if (f < 0 || regions[7].base == MAP_FAILED || !regions[7].base)
			regions[7].base = map(16 * PAGE, PROT_READ | PROT_WRITE, 0);
		else
			memset(regions[7].base, 0x5e, 16 * PAGE);
		regions[7].pages = 16;
		if (f >= 0)
			close(f);
	}
	guard = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	mprotect(guard + PAGE, PAGE, PROT_NONE);
	scratch = map(1UL << 20, PROT_READ | PROT_WRITE, MAP_POPULATE);

	sleeper = fork();
	if (sleeper == 0) {
		for (;;)
			pause();
	}

	pthread_create(&cl, NULL, closer, &reopens);
	for (i = 0; i < nthreads; i++) {
		w[i] = (struct worker){ .tid = i, .n = ncalls / nthreads + (i < ncalls % nthreads) };
		pthread_create(&th[i], NULL, fuzz_worker, &w[i]);
	}
	for (i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	atomic_store(&stop_closer, 1);
	pthread_join(cl, NULL);
	kill(sleeper, SIGKILL);
	waitpid(sleeper, NULL, 0);
	for (i = 0; i < NFDS; i++)
		close(atomic_load(&fds[i]));

	for (i = 0; i < PATH_SLOTS; i++)
		n += paths[i];
	printf("fuzz: seed=%llu calls=%ld paths=%d reopens=%ld failures=%ld\n", seed,
	       atomic_load(&calls), n, reopens, atomic_load(&failures));
	for (int op = 0; op < OP_COUNT; op++) {
		printf("fuzz:   %-11s", op_names[op]);
		for (i = 0; i < 256; i++)
			if (paths[op * 256 + i])
				printf(" %s%s", i >= 128 || i < 2 ? "" : "ret=-",
				       i >= 128 ? errname(i - 128) : i == 0 ? "ret=0" : i == 1 ? "ret>0" : errname(i - 2));
		printf("\n");
	}
	return atomic_load(&failures) ? 1 : 0;
}

static int cmd_fuzz(long ncalls, int nthreads)
{
	int status;
	pid_t child;

	if (nthreads < 1 || nthreads > MAX_THREADS)
		die("fuzz: THREADS must be 1..%d", MAX_THREADS);
	lastcall = mmap(NULL, MAX_THREADS * DESC_LEN, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	paths = mmap(NULL, PATH_SLOTS, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (lastcall == MAP_FAILED || paths == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	printf("fuzz: seed=%llu calls=%ld threads=%d (reproduce: guplab-stress fuzz %llu"
	       " %ld %d)\n", seed, ncalls, nthreads, seed, ncalls, nthreads);
	fflush(stdout);
	child = fork();
	if (child == 0)
		exit(fuzz_child(ncalls, nthreads));
	waitpid(child, &status, 0);
	if (WIFSIGNALED(status)) {
		fprintf(stderr, "FUZZ FAILURE seed=%llu: the fuzzer died by signal %d; last calls:\n",
			seed, WTERMSIG(status));
		for (int i = 0; i < nthreads; i++)
			fprintf(stderr, "  thread %d: %s\n", i, lastcall[i]);
		return 1;
	}
	return WEXITSTATUS(status);
}

/* ------------------------------------------------------------------ race */

#define RACE_PAGES 256
static uint8_t *race_base, *race_own;
static int race_fd;
static atomic_int race_stop;
static atomic_long race_pins, race_checks, race_ops, race_failures, race_mirrors;

static void race_fail(const char *fmt, ...)
{
	va_list ap;

	atomic_fetch_add(&race_failures, 1);
	va_start(ap, fmt);
	fprintf(stderr, "RACE FAILURE seed=%llu: ", seed);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Each pinner tags its own 8 bytes of a page: overlapping sets never collide. */
static int access_page(int tid, uint64_t handle, uint64_t index, int write, uint64_t *val)
{
	struct guplab_access a = { .handle = handle, .index = index, .offset = 8 * tid,
				   .length = 8, .write = write, .buf = (uint64_t)(uintptr_t)val };

	return ioctl(race_fd, GUPLAB_IOC_ACCESS, &a);
}

static void *race_pinner(void *arg)
{
	int tid = (int)(intptr_t)arg;
	uint64_t s = seed * 7919 + tid, tag;
	static const uint32_t apis[] = { GUPLAB_API_PIN_USER_PAGES_FAST, GUPLAB_API_PIN_USER_PAGES,
					 GUPLAB_API_PIN_USER_PAGES_UNLOCKED, GUPLAB_API_GET_USER_PAGES_FAST };
	/* Private page for the fork coherence check: only forks race with it. */
	uint8_t *own = race_own + tid * PAGE;

	while (!atomic_load(&race_stop)) {
		uint64_t first = rnd(&s) % RACE_PAGES, n = 1 + rnd(&s) % 16, v, i;
		struct guplab_pin p = { .api = apis[rnd(&s) % 4], .flags = GUPLAB_FLAG_WRITE,
					.mode = GUPLAB_PIN_HOLD };
		struct guplab_release r = { 0 };

		if (first + n > RACE_PAGES)
			n = RACE_PAGES - first;
		if (p.api != GUPLAB_API_GET_USER_PAGES_FAST && rnd(&s) % 2)
			p.flags |= GUPLAB_FLAG_LONGTERM;
		p.flags &= ~info.warn_flags[p.api];
		p.addr = (uint64_t)(uintptr_t)(race_base + first * PAGE);
		p.nr_pages = n;
		if (ioctl(race_fd, GUPLAB_IOC_PIN, &p))
			race_fail("PIN: %s", strerror(errno));
		if (p.ret <= 0)
			continue;	/* range unmapped/read-only right now: the kernel said so */
		atomic_fetch_add(&race_pins, p.ret);
		/* Tag every held page through the kernel mapping; the tag must survive the races. */
		for (i = 0; i < (uint64_t)p.ret; i++) {
			tag = ((uint64_t)tid << 48) ^ (first + i) ^ rnd(&s) << 16;
			if (access_page(tid, p.handle, i, 1, &tag))
				race_fail("ACCESS write: %s", strerror(errno));
			usleep(rnd(&s) % 300);
			if (access_page(tid, p.handle, i, 0, &v))
				race_fail("ACCESS read: %s", strerror(errno));
			else if (v != tag)
				race_fail("pinned page %llu changed under its pin: %#llx != %#llx",
					  first + i, v, tag);
			atomic_fetch_add(&race_checks, 1);
		}
		r.handle = p.handle;
		r.dirty = rnd(&s) % 2;
		if (ioctl(race_fd, GUPLAB_IOC_RELEASE, &r) || r.nr_pages != (uint64_t)p.ret)
			race_fail("RELEASE: %s (%llu of %lld)", strerror(errno), r.nr_pages, p.ret);

		/* pin + fork: the parent's pinned anon page stays the parent's page. */
		{
			struct guplab_pin q = { .api = GUPLAB_API_PIN_USER_PAGES_FAST,
						.flags = GUPLAB_FLAG_WRITE | GUPLAB_FLAG_LONGTERM,
						.addr = (uint64_t)(uintptr_t)own, .nr_pages = 1,
						.mode = GUPLAB_PIN_HOLD };
			struct guplab_access a = { .length = 8, .buf = (uint64_t)(uintptr_t)&v };

			tag = rnd(&s);
			memcpy(own, &tag, 8);
			if (ioctl(race_fd, GUPLAB_IOC_PIN, &q) || q.ret != 1) {
				race_fail("PIN own page: %s ret %lld", strerror(errno), q.ret);
				continue;
			}
			usleep(rnd(&s) % 500);	/* forks happen meanwhile */
			tag++;
			memcpy(own, &tag, 8);	/* a user write after a fork must reach the pinned page */
			a.handle = q.handle;
			if (ioctl(race_fd, GUPLAB_IOC_ACCESS, &a))
				race_fail("ACCESS own page: %s", strerror(errno));
			else if (v != tag)
				race_fail("pinned page lost coherence with the user mapping: %#llx != %#"
					  PRIx64, v, tag);
			atomic_fetch_add(&race_checks, 1);
			r = (struct guplab_release){ .handle = q.handle };
			if (ioctl(race_fd, GUPLAB_IOC_RELEASE, &r))
				race_fail("RELEASE own page: %s", strerror(errno));
		}
	}
	return NULL;
}

/*
 * A mirror on the racing range: no reference, so the manglers may take its
 * pages at any time; ACCESS faults them back in or answers EFAULT (unmapped)
 * or EPERM (write-protected right now). Anything else is a failure.
 */
static void *race_mirrorer(void *arg)
{
	uint64_t s = seed * 15485863 + (uintptr_t)arg, v;

	while (!atomic_load(&race_stop)) {
		uint64_t first = rnd(&s) % RACE_PAGES, n = 1 + rnd(&s) % 32, i;
		struct guplab_mirror m = { .flags = rnd(&s) % 2 ? GUPLAB_MIRROR_WRITE : 0 };
		struct guplab_mirror_state st = { 0 };
		struct guplab_release r = { 0 };

		if (first + n > RACE_PAGES)
			n = RACE_PAGES - first;
		m.addr = (uint64_t)(uintptr_t)(race_base + first * PAGE);
		m.nr_pages = n;
		if (ioctl(race_fd, GUPLAB_IOC_MIRROR, &m)) {
			if (errno != EFAULT && errno != EPERM)
				race_fail("MIRROR: %s", strerror(errno));
			continue;
		}
		atomic_fetch_add(&race_mirrors, 1);
		for (i = 0; i < n; i++) {
			int write = (m.flags & GUPLAB_MIRROR_WRITE) && rnd(&s) % 2;

			v = rnd(&s);
			if (access_page(MAX_THREADS - 1, m.handle, i, write, &v) && errno != EFAULT &&
			    errno != EPERM)
				race_fail("ACCESS through a mirror: %s", strerror(errno));
		}
		st.handle = m.handle;
		if (ioctl(race_fd, GUPLAB_IOC_MIRROR_STATE, &st) || st.nr_pages != n ||
		    st.valid_pages > n)
			race_fail("MIRROR_STATE: %s (%llu of %llu valid)", strerror(errno),
				  st.valid_pages, st.nr_pages);
		r.handle = m.handle;
		if (ioctl(race_fd, GUPLAB_IOC_RELEASE, &r) || r.nr_pages != n)
			race_fail("RELEASE of a mirror: %s", strerror(errno));
	}
	return NULL;
}

static void *race_mangler(void *arg)
{
	uint64_t s = seed * 104729 + (uintptr_t)arg;

	while (!atomic_load(&race_stop)) {
		uint64_t first = rnd(&s) % RACE_PAGES, n = 1 + rnd(&s) % 32;
		uint8_t *a;
		size_t len;

		if (first + n > RACE_PAGES)
			n = RACE_PAGES - first;
		a = race_base + first * PAGE;
		len = n * PAGE;
		switch (rnd(&s) % 5) {
		case 0:		/* munmap, then map fresh memory back */
			if (munmap(a, len))
				race_fail("munmap: %s", strerror(errno));
			/* EEXIST: another mangler re-mapped part of it already; only manglers map here */
			if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
				 -1, 0) != a &&
			    (errno != EEXIST ||
			     mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0) != a))
				race_fail("re-mmap: %s", strerror(errno));
			break;
		case 1:		/* replace in place (implicit unmap under mmap_lock) */
			if (mmap(a, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE,
				 -1, 0) != a)
				race_fail("mmap fixed: %s", strerror(errno));
			break;
		case 2:
			/* ENOMEM: part of the range is unmapped right now by another mangler */
			if ((mprotect(a, len, PROT_READ) && errno != ENOMEM) || (usleep(rnd(&s) % 200), 0) ||
			    (mprotect(a, len, PROT_READ | PROT_WRITE) && errno != ENOMEM))
				race_fail("mprotect: %s", strerror(errno));
			break;
		case 3:
			if (madvise(a, len, MADV_DONTNEED) && errno != ENOMEM)
				race_fail("madvise: %s", strerror(errno));
			break;
		default: {	/* fork: the child touches the range and exits */
			pid_t c = fork();

			if (c == 0) {
				volatile uint8_t *p = a;

				for (size_t i = 0; i < len; i += PAGE)
					(void)p[i];
				_exit(0);
			}
			if (c < 0)
				race_fail("fork: %s", strerror(errno));
			else
				waitpid(c, NULL, 0);
		}
		}
		atomic_fetch_add(&race_ops, 1);
	}
	return NULL;
}

static int cmd_race(double seconds, int pinners)
{
	pthread_t th[2 * MAX_THREADS + 1];
	int i, manglers = pinners;
	double t0;

	if (pinners < 1 || pinners > MAX_THREADS)
		die("race: PINNERS must be 1..%d", MAX_THREADS);
	race_fd = open_dev();
	if (ioctl(race_fd, GUPLAB_IOC_INFO, &info))
		die("INFO: %s", strerror(errno));
	race_base = map(RACE_PAGES * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	race_own = map(MAX_THREADS * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	printf("race: seed=%llu %.0f s, %d pinner, %d mangler and 1 mirror threads on %d pages\n", seed,
	       seconds, pinners, manglers, RACE_PAGES);
	fflush(stdout);
	t0 = now_s();
	for (i = 0; i < pinners; i++)
		pthread_create(&th[i], NULL, race_pinner, (void *)(intptr_t)i);
	for (i = 0; i < manglers; i++)
		pthread_create(&th[pinners + i], NULL, race_mangler, (void *)(intptr_t)i);
	pthread_create(&th[pinners + manglers], NULL, race_mirrorer, NULL);
	while (now_s() - t0 < seconds)
		usleep(100000);
	atomic_store(&race_stop, 1);
	for (i = 0; i < pinners + manglers + 1; i++)
		pthread_join(th[i], NULL);
	close(race_fd);
	printf("race: seconds=%.1f pinned=%ld checks=%ld mm-ops=%ld failures=%ld mirrors=%ld\n",
	       now_s() - t0, atomic_load(&race_pins), atomic_load(&race_checks),
	       atomic_load(&race_ops), atomic_load(&race_failures), atomic_load(&race_mirrors));
	return atomic_load(&race_failures) || !atomic_load(&race_checks) ? 1 : 0;
}

/* ------------------------------------------------------------------ single-purpose */

/* Holds pages pinned in chunks of the per-call cap; returns pages held or -errno. */
static long hold_pages(int fd, uint8_t *base, uint64_t pages, uint32_t flags)
{
	struct guplab_info in;
	uint64_t done = 0;

	if (ioctl(fd, GUPLAB_IOC_INFO, &in))
		return -errno;
	while (done < pages) {
		uint64_t n = pages - done < in.max_pages ? pages - done : in.max_pages;
		struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_FAST, .flags = flags,
					.addr = (uint64_t)(uintptr_t)(base + done * PAGE), .nr_pages = n,
					.mode = GUPLAB_PIN_HOLD };

		if (ioctl(fd, GUPLAB_IOC_PIN, &p))
			return -errno;
		if (p.ret <= 0)
			return p.ret ? p.ret : -EFAULT;
		done += p.ret;
	}
	return done;
}

/* wait: hold until killed (root). Else a group member's try: a long-term pin, the only hold it may make. */
static int cmd_hold(uint64_t pages, bool wait)
{
	int fd = open(DEV, O_RDWR | O_CLOEXEC);
	uint8_t *base;
	long held;

	if (fd < 0) {
		printf("open: %s\n", errname(errno));
		return 10;
	}
	base = map(pages * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE | MAP_NORESERVE);
	held = hold_pages(fd, base, pages, wait ? GUPLAB_FLAG_WRITE : GUPLAB_FLAG_WRITE | GUPLAB_FLAG_LONGTERM);
	if (held < 0) {
		printf("hold: %s\n", errname(-held));
		return 11;
	}
	printf("held %ld\n", held);
	fflush(stdout);
	while (wait)
		pause();
	return 0;
}

static int cmd_remote(pid_t pid)
{
	int fd = open_dev();
	struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_REMOTE, .addr = 0x400000, .nr_pages = 1,
				.pid = pid };

	printf("remote: %s\n", ioctl(fd, GUPLAB_IOC_PIN, &p) ? errname(errno) : "OK");
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int cmd_bench_signal(long ms)
{
	int fd = open_dev();
	uint64_t pages = 64;
	uint8_t *buf = map(pages * PAGE, PROT_READ | PROT_WRITE, MAP_POPULATE);
	struct guplab_bench_sample *samples = map(GUPLAB_BENCH_MAX_ITERATIONS * sizeof(*samples),
						  PROT_READ | PROT_WRITE, 0);
	struct guplab_bench b = { .api = GUPLAB_API_PIN_USER_PAGES_FAST, .addr = (uint64_t)(uintptr_t)buf,
				  .nr_pages = pages, .pages_per_call = 1,
				  .iterations = GUPLAB_BENCH_MAX_ITERATIONS,
				  .samples = (uint64_t)(uintptr_t)samples };
	struct sigaction sa = { .sa_handler = on_alarm };	/* no SA_RESTART */
	timer_t timer;
	struct sigevent ev = { .sigev_notify = SIGEV_SIGNAL, .sigev_signo = SIGALRM };
	struct itimerspec its = { 0 };
	struct timespec due;
	double t_sig, t_end;
	uint32_t i, bad = 0;

	sigaction(SIGALRM, &sa, NULL);
	timer_create(CLOCK_MONOTONIC, &ev, &timer);
	/*
	 * An absolute expiry, so that t_sig is when the signal was due: a
	 * relative one read back after timer_settime() was late by however long
	 * the host held the vCPU in between (-9.6 ms "signal-to-return" seen
	 * under TCG on a loaded host).
	 */
	clock_gettime(CLOCK_MONOTONIC, &due);
	due.tv_sec += ms / 1000 + (due.tv_nsec + (ms % 1000) * 1000000) / 1000000000;
	due.tv_nsec = (due.tv_nsec + (ms % 1000) * 1000000) % 1000000000;
	its.it_value = due;
	timer_settime(timer, TIMER_ABSTIME, &its, NULL);
	t_sig = due.tv_sec + due.tv_nsec / 1e9;
	if (ioctl(fd, GUPLAB_IOC_BENCH, &b)) {
		printf("bench-signal: ioctl failed: %s\n", errname(errno));
		return 1;
	}
	t_end = now_s();
	for (i = 0; i < b.done; i++)
		bad += !samples[i].get_ns;
	printf("bench-signal: status=%s done=%u of %u, signal-to-return %.1f ms, %u empty samples\n",
	       b.status == -EINTR ? "EINTR" : errname(-b.status), b.done, b.iterations,
	       (t_end - t_sig) * 1000, bad);
	/* An hrtimer never fires early: a return before the signal was due would be a bug. */
	return b.status == -EINTR && b.done > 0 && b.done < b.iterations && !bad && t_end >= t_sig ? 0 : 1;
}

/* ------------------------------------------------------------------ exec race */

/* Where the child maps its marker page before the exec, and the victim after it. */
#define RACE_ADDR 0x7e5a00000000ULL

static void *map_marker(char c)
{
	void *p = mmap((void *)(uintptr_t)RACE_ADDR, PAGE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	memset(p, c, PAGE);
	return p;
}

/* The new image: 'P' on fd 3 when the exec made it privileged (euid 0), else 'U'. */
static int cmd_victim(void)
{
	char c = geteuid() == 0 ? 'P' : 'U';

	if (write(3, &c, 1) != 1 || !map_marker('N'))
		return 1;
	usleep(20000);	/* a target for the pins, mapped like the old image */
	return 0;
}

/*
 * As a group member: fork a child that maps RACE_ADDR, then execs the
 * setuid-root victim, and call pin_user_pages_remote on that page from
 * before the exec until the child has exited. Every other round the caller
 * is the child's tracer (PTRACE_SEIZE before the exec), the one way a group
 * member may use *_remote on another process; the kernel then does not
 * elevate the exec (LSM_UNSAFE_PTRACE). A pin must never succeed on an image
 * that reported itself privileged, nor on an untraced child at all.
 */
static int cmd_exec_race(double seconds, const char *victim)
{
	long rounds = 0, seized = 0, privileged = 0, unprivileged = 0, pins_traced = 0;
	long pins_untraced = 0, pins_privileged = 0, refused = 0, calls = 0;
	int fd = open_dev();
	double t0 = now_s();

	while (now_s() - t0 < seconds) {
		bool seize = rounds % 2;
		int sp[2], go[2], status;
		char st = 0, b = 'g';
		pid_t c;

		if (pipe(sp) || pipe(go))
			die("pipe: %s", strerror(errno));
		c = fork();
		if (c == 0) {
			close(fd);
			if (!map_marker('O') || dup2(sp[1], 3) != 3 || read(go[0], &b, 1) != 1)
				_exit(126);
			execl(victim, victim, "victim", (char *)NULL);
			_exit(127);
		}
		close(sp[1]);
		close(go[0]);
		fcntl(sp[0], F_SETFL, O_NONBLOCK);
		if (seize && ptrace(PTRACE_SEIZE, c, 0, 0) == 0)
			seized++;
		if (write(go[1], &b, 1) != 1)
			die("pipe write: %s", strerror(errno));
		for (;;) {
			struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_REMOTE, .addr = RACE_ADDR,
						.nr_pages = 1, .pid = c };
			char known = st;	/* read before the call: the exec was over when it began */
			pid_t w;

			if (!st && read(sp[0], &st, 1) == 1)
				known = st;
			calls++;
			if (ioctl(fd, GUPLAB_IOC_PIN, &p) == 0 && p.ret == 1) {
				if (known == 'P')
					pins_privileged++;
				else if (!seize)
					pins_untraced++;
				else
					pins_traced++;
			} else {
				refused++;
			}
			w = waitpid(c, &status, WNOHANG);
			if (w == c && WIFSTOPPED(status)) {
				ptrace(PTRACE_CONT, c, 0, WSTOPSIG(status));
			} else if (w == c) {
				break;
			} else if (w < 0) {
				die("waitpid: %s", strerror(errno));
			}
		}
		if (!st && read(sp[0], &st, 1) != 1)
			st = 0;
		privileged += st == 'P';
		unprivileged += st == 'U';
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fprintf(stderr, "exec-race: round %ld: child status %#x\n", rounds, status);
		close(sp[0]);
		close(go[1]);
		rounds++;
	}
	printf("exec-race: seconds=%.1f rounds=%ld seized=%ld privileged-images=%ld unprivileged-images=%ld "
	       "calls=%ld pins-traced=%ld pins-untraced=%ld pins-privileged=%ld refused=%ld\n",
	       now_s() - t0, rounds, seized, privileged, unprivileged, calls, pins_traced, pins_untraced,
	       pins_privileged, refused);
	/* Also a failure: no privileged image at all (no setuid exec happened: nothing was tested). */
	return pins_privileged || pins_untraced || !privileged || !rounds ? 1 : 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	seed = getenv("GUPLAB_SEED") ? strtoull(getenv("GUPLAB_SEED"), NULL, 0) : 1;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "fuzz") && argc == 5) {
		seed = strtoull(argv[2], NULL, 0);
		return cmd_fuzz(atol(argv[3]), atoi(argv[4]));
	}
	if (!strcmp(cmd, "race") && argc == 4)
		return cmd_race(atof(argv[2]), atoi(argv[3]));
	if (!strcmp(cmd, "hold") && argc == 3)
		return cmd_hold(strtoull(argv[2], NULL, 0), true);
	if (!strcmp(cmd, "try") && argc == 3)
		return cmd_hold(strtoull(argv[2], NULL, 0), false);
	if (!strcmp(cmd, "remote") && argc == 3)
		return cmd_remote(atoi(argv[2]));
	if (!strcmp(cmd, "bench-signal") && argc == 3)
		return cmd_bench_signal(atol(argv[2]));
	if (!strcmp(cmd, "exec-race") && argc == 4)
		return cmd_exec_race(atof(argv[2]), argv[3]);
	if (!strcmp(cmd, "victim"))
		return cmd_victim();
	fprintf(stderr, "usage: guplab-stress fuzz SEED CALLS THREADS | race SECONDS PINNERS | hold PAGES |\n"
		"       try PAGES | remote PID | bench-signal MS | exec-race SECONDS VICTIM\n");
	return 2;
}
