// SPDX-License-Identifier: GPL-2.0
/*
 * Helpers for test/kernel/hardening.test.ts that need raw system calls
 * (ptrace, fork, execve, SCM_RIGHTS, Landlock) or a 32-bit build. Built in
 * the guest by the test (x86_64: the host's gcc, also with -m32).
 *
 *   unpriv facts32                  FACTS of 8 pages as this (32-bit) caller, against pagemap
 *   unpriv target                   map a page, print "addr: 0x...", wait to be killed
 *   unpriv remote PID ADDR [seize]  pin_user_pages_remote on PID (after PTRACE_SEIZE)
 *   unpriv landlock PID ADDR        the same, seize first, from inside a Landlock domain
 *   unpriv budget fork|exec|scm N   hold N pages with RLIMIT_MEMLOCK = N pages, then a
 *                                   forked / exec'ed / SCM_RIGHTS-receiving process holds 1
 *   unpriv refbound N               map one memfd page N times (N VMAs), then HOLD
 *                                   pin_user_pages over all N until the module refuses
 *   unpriv tracexec BINARY          fork a child that PTRACE_TRACEMEs and execs BINARY (a
 *                                   sleep); at its exec stop, pin_user_pages_remote on the
 *                                   new image's stack page (x86: the stack pointer)
 *   unpriv secret                   mirror anonymous memory, replace it with memfd_secret
 *                                   memory (MAP_FIXED), touch it, ACCESS through the mirror;
 *                                   then a mirror of the secret memory itself
 *
 * Prints "key: OK" or "key: ERRNO" lines; exits 0 unless it could not run.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <linux/landlock.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../kmod/uapi/guplab.h"

/* The same layout for a 32-bit caller (IA32_EMULATION) as for the 64-bit module. */
_Static_assert(sizeof(struct guplab_info) == 304, "guplab_info");
_Static_assert(sizeof(struct guplab_page_facts) == 56, "guplab_page_facts");
_Static_assert(sizeof(struct guplab_pin) == 88, "guplab_pin");
_Static_assert(sizeof(struct guplab_release) == 32, "guplab_release");
_Static_assert(sizeof(struct guplab_bench_sample) == 16, "guplab_bench_sample");
_Static_assert(sizeof(struct guplab_bench) == 80, "guplab_bench");
_Static_assert(sizeof(struct guplab_access) == 40, "guplab_access");
_Static_assert(sizeof(struct guplab_mirror) == 48, "guplab_mirror");
_Static_assert(sizeof(struct guplab_mirror_event) == 24, "guplab_mirror_event");
_Static_assert(sizeof(struct guplab_mirror_state) == 512, "guplab_mirror_state");

#define PAGE 4096UL

#ifndef SYS_memfd_secret
#define SYS_memfd_secret 447	/* the same number on x86_64, i386 and the generic table */
#endif

/* The errno's name ("EFAULT"), as the TypeScript side prints it; "OK" for 0. */
static const char *errname(int e)
{
	const char *name = e ? strerrorname_np(e) : "OK";

	return name ? name : "E?";
}

static int open_dev(int flags)
{
	int fd = open("/dev/guplab", O_RDWR | flags);

	if (fd < 0) {
		printf("open: %s\n", errname(errno));
		exit(3);
	}
	return fd;
}

static uint8_t *map(size_t pages)
{
	uint8_t *p = mmap(NULL, pages * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED) {
		perror("mmap");
		exit(3);
	}
	memset(p, 0x5a, pages * PAGE);
	return p;
}

/* A long-term pin of n pages kept by the file: what a group member may hold. */
static int hold(int fd, uint8_t *buf, uint64_t n)
{
	struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_FAST,
				.flags = GUPLAB_FLAG_WRITE | GUPLAB_FLAG_LONGTERM,
				.addr = (uintptr_t)buf, .nr_pages = n, .mode = GUPLAB_PIN_HOLD };

	if (ioctl(fd, GUPLAB_IOC_PIN, &p))
		return errno;
	return p.ret == (int64_t)n ? 0 : EFAULT;
}

static int cmd_facts32(void)
{
	enum { N = 8 };
	struct guplab_page_facts facts[N + 1];
	uint8_t *buf = map(N);
	int fd = open_dev(O_CLOEXEC), pm, i, bad = 0;
	struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_FAST, .addr = (uintptr_t)buf,
				.nr_pages = N, .mode = GUPLAB_PIN_FACTS, .facts = (uintptr_t)facts };

	memset(facts, 0xa5, sizeof(facts));
	if (ioctl(fd, GUPLAB_IOC_PIN, &p)) {
		printf("facts32: PIN %s\n", errname(errno));
		return 0;
	}
	pm = open("/proc/self/pagemap", O_RDONLY);
	for (i = 0; i < N; i++) {
		uint64_t e = 0;

		if (pread(pm, &e, sizeof(e), ((uintptr_t)buf / PAGE + i) * sizeof(e)) != sizeof(e))
			e = 0;
		if (facts[i].pfn != (e & ((1ULL << 55) - 1)) || !(facts[i].kind & GUPLAB_KIND_ANON) ||
		    facts[i].reserved || facts[i].zone_name[0] == 0 ||
		    memchr(facts[i].zone_name, 0, sizeof(facts[i].zone_name)) == NULL) {
			printf("facts32: record %d: pfn %#" PRIx64 " (pagemap %#" PRIx64 ") kind %#x zone '%.12s' reserved %u\n",
			       i, (uint64_t)facts[i].pfn, (uint64_t)(e & ((1ULL << 55) - 1)), facts[i].kind,
			       facts[i].zone_name, facts[i].reserved);
			bad++;
		}
	}
	for (i = 0; i < (int)sizeof(facts[N]); i++)
		bad += ((uint8_t *)&facts[N])[i] != 0xa5;
	printf("facts32: ret %" PRId64 ", %s (sizeof %zu, long %zu)\n", (int64_t)p.ret,
	       bad ? "BAD" : "OK", sizeof(struct guplab_page_facts), sizeof(long));
	return 0;
}

static int cmd_target(void)
{
	uint8_t *buf = map(1);

	printf("addr: %#" PRIxPTR "\n", (uintptr_t)buf);
	fflush(stdout);
	for (;;)
		pause();
	return 0;
}

static void remote(const char *what, pid_t pid, uint64_t addr, int seize)
{
	int fd = open_dev(O_CLOEXEC);
	struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES_REMOTE, .addr = addr, .nr_pages = 1,
				.pid = pid };

	if (seize)
		printf("seize: %s\n", errname(ptrace(PTRACE_SEIZE, pid, 0, 0) ? errno : 0));
	if (ioctl(fd, GUPLAB_IOC_PIN, &p))
		printf("%s: %s\n", what, errname(errno));
	else
		printf("%s: %s\n", what, p.ret == 1 ? "OK" : "short");
	/* FOLL_FORCE without CAP_SYS_ADMIN: only on a process this one traces. */
	p.flags = GUPLAB_FLAG_FORCE;
	if (ioctl(fd, GUPLAB_IOC_PIN, &p))
		printf("%s-force: %s\n", what, errname(errno));
	else
		printf("%s-force: %s\n", what, p.ret == 1 ? "OK" : "short");
}

/*
 * The folio refcount bound: each HOLD of one small page N times adds N *
 * GUP_PIN_COUNTING_BIAS (1024) to its refcount, so the module must refuse
 * (-EOVERFLOW, undone) long before 2^21 pins overflow it into try_grab_folio()'s
 * WARN. One page reaches N addresses only as N VMAs (MAP_FIXED each): keep N
 * under vm.max_map_count.
 */
static int cmd_refbound(unsigned long n)
{
	int fd = open_dev(O_CLOEXEC), memfd = memfd_create("guplab-refbound", MFD_CLOEXEC);
	struct guplab_pin p = { .api = GUPLAB_API_PIN_USER_PAGES, .nr_pages = n, .mode = GUPLAB_PIN_HOLD };
	char *base = mmap(NULL, n * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	unsigned long i, holds;

	if (memfd < 0 || ftruncate(memfd, 4096) || base == MAP_FAILED) {
		printf("map: %s\n", errname(errno));
		return 3;
	}
	for (i = 0; i < n; i++) {
		if (mmap(base + i * 4096, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, memfd, 0) == MAP_FAILED) {
			printf("map %lu: %s\n", i, errname(errno));
			return 3;
		}
	}
	base[0] = 1;
	p.addr = (uintptr_t)base;
	for (holds = 0; holds < 64; holds++) {
		if (ioctl(fd, GUPLAB_IOC_PIN, &p))
			break;
		if (p.ret != (long long)n) {
			printf("hold %lu: short %lld\n", holds, (long long)p.ret);
			return 3;
		}
	}
	printf("holds: %lu, then %s\n", holds, holds < 64 ? errname(errno) : "none refused");
	close(fd); /* releases every set held */
	return 0;
}

/*
 * The exec race: access decided for the image a traced child runs after
 * execve(), not the one it ran before. Exec'ing a binary its user cannot
 * read (mode 0711) makes the new mm non-dumpable (would_dump()), so
 * ptrace's rules (and the module's) no longer let that user touch it, even
 * as the tracer it still is.
 */
static int cmd_tracexec(const char *binary)
{
	struct user_regs_struct regs;
	uint64_t sp;
	pid_t pid;
	int status;

	pid = fork();
	if (pid == 0) {
		char *const argv[] = { "sleep", "1000", NULL };

		if (ptrace(PTRACE_TRACEME, 0, 0, 0) || raise(SIGSTOP))
			_exit(3);
		execv(binary, argv);
		_exit(4);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFSTOPPED(status)) {
		printf("traceme: %s\n", errname(errno ? errno : ECHILD));
		return 3;
	}
	if (ptrace(PTRACE_SETOPTIONS, pid, 0, PTRACE_O_TRACEEXEC | PTRACE_O_EXITKILL) ||
	    ptrace(PTRACE_CONT, pid, 0, 0) || waitpid(pid, &status, 0) != pid ||
	    status >> 8 != (SIGTRAP | (PTRACE_EVENT_EXEC << 8)) || ptrace(PTRACE_GETREGS, pid, 0, &regs)) {
		printf("exec: %s\n", errname(errno ? errno : ECHILD));
		kill(pid, SIGKILL);
		return 3;
	}
#if defined(__x86_64__)
	sp = regs.rsp;
#else
	sp = regs.esp;
#endif
	printf("exec: OK\n");
	remote("tracexec", pid, sp & ~(uint64_t)4095, 0);
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return 0;
}

static int cmd_landlock(pid_t pid, uint64_t addr)
{
	struct landlock_ruleset_attr attr = { .handled_access_fs = LANDLOCK_ACCESS_FS_EXECUTE };
	int rfd = syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);

	if (rfd < 0 || prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) ||
	    syscall(SYS_landlock_restrict_self, rfd, 0)) {
		printf("landlock: %s\n", errname(errno));
		return 0;
	}
	printf("landlock: OK\n");
	remote("remote", pid, addr, 1);
	return 0;
}

/*
 * memfd_secret pages are off the kernel's direct map: an ACCESS through a
 * mirror must answer EFAULT (as GUP does), never touch them (a kernel oops,
 * and a task that hangs in its exit).
 */
static int cmd_secret(void)
{
	int fd = open_dev(O_CLOEXEC), fd2 = open_dev(O_CLOEXEC), sfd;
	uint8_t *buf = map(4), byte = 0;
	struct guplab_mirror m = { .addr = (uintptr_t)buf, .nr_pages = 4, .flags = GUPLAB_MIRROR_WRITE };
	struct guplab_access a = { .index = 1, .length = 1, .buf = (uintptr_t)&byte };

	printf("mirror: %s\n", errname(ioctl(fd, GUPLAB_IOC_MIRROR, &m) ? errno : 0));
	sfd = syscall(SYS_memfd_secret, O_CLOEXEC);
	if (sfd < 0 || ftruncate(sfd, 4 * PAGE)) {
		printf("memfd_secret: %s\n", errname(errno));
		return 0;
	}
	if (mmap(buf, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED, sfd, 0) != buf) {
		printf("mmap: %s\n", errname(errno));
		return 0;
	}
	memset(buf, 0x5c, 4 * PAGE);
	a.handle = m.handle;
	printf("access-read: %s\n", errname(ioctl(fd, GUPLAB_IOC_ACCESS, &a) ? errno : 0));
	a.write = 1;
	printf("access-write: %s\n", errname(ioctl(fd, GUPLAB_IOC_ACCESS, &a) ? errno : 0));
	m.flags = 0;
	printf("mirror-secret: %s\n", errname(ioctl(fd2, GUPLAB_IOC_MIRROR, &m) ? errno : 0));
	m.flags = GUPLAB_MIRROR_SNAPSHOT;
	printf("snapshot-secret: %s\n", errname(ioctl(fd2, GUPLAB_IOC_MIRROR, &m) ? errno : 0));
	printf("bytes: %s\n", buf[PAGE] == 0x5c ? "kept" : "changed");
	return 0;
}

/* A new process of the same user, with the file, asks for one more page. */
static int cmd_budget_child(int fd, const char *what)
{
	uint8_t *one = map(1);

	printf("%s: %s\n", what, errname(hold(fd, one, 1)));
	return 0;
}

static int cmd_budget(const char *how, uint64_t n, const char *self)
{
	struct rlimit rl = { n * PAGE, n * PAGE };
	int sv[2], fd, err, status;
	uint8_t *buf = map(n);
	pid_t child = -1;

	if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
		perror("setrlimit");
		return 3;
	}
	if (!strcmp(how, "scm")) {
		/* The receiver exists before the file does: it only gets it over the socket. */
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv))
			return 3;
		child = fork();
		if (child == 0) {
			char cbuf[CMSG_SPACE(sizeof(int))], byte;
			struct iovec iov = { &byte, 1 };
			struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
					      .msg_controllen = sizeof(cbuf) };

			close(sv[0]);
			if (recvmsg(sv[1], &msg, 0) != 1 || !CMSG_FIRSTHDR(&msg))
				_exit(3);
			memcpy(&fd, CMSG_DATA(CMSG_FIRSTHDR(&msg)), sizeof(fd));
			_exit(cmd_budget_child(fd, "scm"));
		}
	}
	fd = open_dev(0);	/* no O_CLOEXEC: the exec'ed image keeps it */
	err = hold(fd, buf, n);
	printf("held: %s\n", errname(err));
	fflush(stdout);
	if (err)
		return 0;
	if (!strcmp(how, "fork")) {
		child = fork();
		if (child == 0)
			_exit(cmd_budget_child(fd, "fork"));
	} else if (!strcmp(how, "exec")) {
		child = fork();
		if (child == 0) {
			char fdstr[16];

			snprintf(fdstr, sizeof(fdstr), "%d", fd);
			execl(self, self, "budget-child", fdstr, (char *)NULL);
			_exit(3);
		}
	} else if (!strcmp(how, "scm")) {
		char cbuf[CMSG_SPACE(sizeof(int))] = { 0 }, byte = 0;
		struct iovec iov = { &byte, 1 };
		struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
				      .msg_controllen = sizeof(cbuf) };
		struct cmsghdr *c = CMSG_FIRSTHDR(&msg);

		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &fd, sizeof(fd));
		if (sendmsg(sv[0], &msg, 0) != 1)
			return 3;
	}
	if (child < 0 || waitpid(child, &status, 0) != child || !WIFEXITED(status) || WEXITSTATUS(status))
		return 3;
	return 0;
}

int main(int argc, char **argv)
{
	const char *cmd = argc > 1 ? argv[1] : "";

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(cmd, "facts32"))
		return cmd_facts32();
	if (!strcmp(cmd, "target"))
		return cmd_target();
	if (!strcmp(cmd, "remote") && argc >= 4) {
		remote("remote", atoi(argv[2]), strtoull(argv[3], NULL, 0), argc > 4 && !strcmp(argv[4], "seize"));
		return 0;
	}
	if (!strcmp(cmd, "landlock") && argc == 4)
		return cmd_landlock(atoi(argv[2]), strtoull(argv[3], NULL, 0));
	if (!strcmp(cmd, "secret"))
		return cmd_secret();
	if (!strcmp(cmd, "refbound") && argc == 3)
		return cmd_refbound(strtoul(argv[2], NULL, 0));
	if (!strcmp(cmd, "tracexec") && argc == 3)
		return cmd_tracexec(argv[2]);
	if (!strcmp(cmd, "budget") && argc == 4)
		return cmd_budget(argv[2], strtoull(argv[3], NULL, 0), "/proc/self/exe");
	if (!strcmp(cmd, "budget-child") && argc == 3)
		return cmd_budget_child(atoi(argv[2]), "exec");
	fprintf(stderr, "usage: unpriv facts32 | target | remote PID ADDR [seize] | landlock PID ADDR |\n"
		"       budget fork|exec|scm PAGES | secret | refbound N | tracexec BINARY\n");
	return 2;
}
