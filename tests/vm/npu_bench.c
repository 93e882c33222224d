// SPDX-License-Identifier: MIT
/*
 * Driver figures measured inside the VM (make bench): the round trip of a
 * no-op DRM ioctl (DRM_IOCTL_VERSION), submit-to-completion latency of an
 * empty job (BEGIN, END) waited for with its syncobj, and jobs per second
 * with several jobs in flight. Under TCG every guest instruction is
 * emulated, so these are figures of this VM, not of a board.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "npu_test_lib.h"
#include "util/stream.h"

#define IN_FLIGHT 32

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(void)
{
	struct drm_version v;
	struct tbo cmd;
	struct stream s;
	uint32_t n, syncs[IN_FLIGHT];
	double t0, lat[2000], noop;
	long jobs = 0;
	int fd = npu_open();

	if (fd < 0) {
		fprintf(stderr, "npu_bench: no npu device: %s\n", strerror(-fd));
		return 1;
	}
	t0 = now_s();
	for (int i = 0; i < 20000; i++) {
		memset(&v, 0, sizeof(v));
		npu_ioctl(fd, DRM_IOCTL_VERSION, &v);
	}
	noop = (now_s() - t0) / 20000;

	tbo_new(fd, &cmd, 4096, DRM_NPU_BO_DEVICE_READ_ONLY);
	stream_init(&s);
	st_begin(&s);
	st_end(&s);
	n = stream_bytes(&s);
	memcpy(cmd.map, s.w, n);
	stream_free(&s);
	for (int i = 0; i < IN_FLIGHT; i++)
		if (syncobj_new(fd, &syncs[i]))
			return 1;
	for (int i = 0; i < 2000; i++) {
		t0 = now_s();
		if (submit(fd, &cmd, n, NULL, syncs[0], 0) || syncobj_wait(fd, syncs[0], 10000))
			return 1;
		lat[i] = now_s() - t0;
	}
	qsort(lat, 2000, sizeof(lat[0]), cmp_double);

	/* Keep IN_FLIGHT jobs queued: the file's jobs complete in order. */
	t0 = now_s();
	while (now_s() - t0 < 2.0) {
		for (int i = 0; i < IN_FLIGHT; i++)
			if (submit(fd, &cmd, n, NULL, syncs[i], 0))
				return 1;
		if (syncobj_wait(fd, syncs[IN_FLIGHT - 1], 10000))
			return 1;
		jobs += IN_FLIGHT;
	}
	printf("bench: no-op ioctl (DRM_IOCTL_VERSION) %.1f us\n", noop * 1e6);
	printf("bench: empty job submit-to-completion %.1f us median, %.1f us p90 (2000 jobs)\n",
	       lat[1000] * 1e6, lat[1800] * 1e6);
	printf("bench: %.0f jobs/s with %d in flight\n", jobs / (now_s() - t0), IN_FLIGHT);
	close(fd);
	return 0;
}
