// SPDX-License-Identifier: GPL-2.0
/*
 * pin1: the harness-overhead baseline. N calls of GUPLAB_IOC_PIN on one
 * prefaulted page (pin_user_pages_fast, released at once), timed with
 * CLOCK_MONOTONIC around each ioctl, then N more timed once as a whole (no
 * timer per call). Prints one JSON line: {"calls":N,"batch_mean_ns":M,
 * "wall_ns":[...],"get_ns":[...],"put_ns":[...]}, one entry per call.
 * Usage: pin1 [calls] (default 2000)
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "../kmod/uapi/guplab.h"

static unsigned long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One 1-page pin_user_pages_fast + unpin; 0 or 1 after printing why. */
static int pin_once(int fd, char *buf, struct guplab_pin *p)
{
	memset(p, 0, sizeof(*p));
	p->api = GUPLAB_API_PIN_USER_PAGES_FAST;
	p->addr = (unsigned long)buf;
	p->nr_pages = 1;
	if (ioctl(fd, GUPLAB_IOC_PIN, p) < 0 || p->ret != 1) {
		fprintf(stderr, "pin1: PIN failed: %s, ret %lld\n", strerror(errno), (long long)p->ret);
		return 1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	long calls = argc > 1 ? strtol(argv[1], NULL, 10) : 2000;
	unsigned long long *wall, *get, *put, t0, batch;
	struct guplab_pin p;
	long page = sysconf(_SC_PAGESIZE);
	char *buf;
	long i;
	int fd;

	if (calls < 1 || calls > 10000000) {
		fprintf(stderr, "pin1: calls must be 1..10000000\n");
		return 2;
	}
	fd = open("/dev/" GUPLAB_DEVICE_NAME, O_RDWR | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "pin1: /dev/%s: %s (load the module: make load)\n", GUPLAB_DEVICE_NAME, strerror(errno));
		return 1;
	}
	buf = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	wall = calloc(calls, sizeof(*wall));
	get = calloc(calls, sizeof(*get));
	put = calloc(calls, sizeof(*put));
	if (buf == MAP_FAILED || !wall || !get || !put) {
		fprintf(stderr, "pin1: out of memory\n");
		return 1;
	}
	buf[0] = 1;
	for (i = 0; i < calls; i++) {
		t0 = now_ns();
		if (pin_once(fd, buf, &p))
			return 1;
		wall[i] = now_ns() - t0;
		get[i] = p.get_ns;
		put[i] = p.put_ns;
	}
	t0 = now_ns();
	for (i = 0; i < calls; i++)
		if (pin_once(fd, buf, &p))
			return 1;
	batch = now_ns() - t0;
	printf("{\"calls\":%ld,\"batch_mean_ns\":%.1f,\"wall_ns\":[", calls, (double)batch / calls);
	for (i = 0; i < calls; i++)
		printf("%s%llu", i ? "," : "", wall[i]);
	printf("],\"get_ns\":[");
	for (i = 0; i < calls; i++)
		printf("%s%llu", i ? "," : "", get[i]);
	printf("],\"put_ns\":[");
	for (i = 0; i < calls; i++)
		printf("%s%llu", i ? "," : "", put[i]);
	printf("]}\n");
	return 0;
}
