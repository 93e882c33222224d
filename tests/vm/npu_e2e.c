// SPDX-License-Identifier: MIT
/*
 * End to end in the VM: a compiled model through libnpu on the kernel
 * driver (NPU device "drm": npu.ko and the QEMU device) and on the
 * in-process simulator ("sim") in the same process, image by image:
 * every output must be bit-identical, and top-1 the same.
 *
 *   npu_e2e MODEL.npub IMAGES.idx[.gz] LABELS.idx[.gz] SCALE [LIMIT]
 *
 * Prints one summary line; exits 0 only if every output matched.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calib_data.h"
#include "npu.h"
#include "runner.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv)
{
	struct npuc_array images, labels;
	struct npuc_diag d = { { 0 } };
	struct npu_runner drm, sim;
	long n, limit, same = 0, top_drm = 0, top_sim = 0;
	int ok;
	double scale, t_drm = 0;

	if (argc < 5) {
		fprintf(stderr, "usage: npu_e2e MODEL.npub IMAGES LABELS SCALE [LIMIT]\n");
		return 2;
	}
	scale = strtod(argv[4], NULL);
	limit = argc > 5 ? strtol(argv[5], NULL, 10) : 0;
	if (npuc_idx_load(argv[2], &images, &d) || npuc_idx_load(argv[3], &labels, &d)) {
		fprintf(stderr, "npu_e2e: %s\n", d.msg);
		return 2;
	}
	if (npu_runner_open(&drm, "drm", argv[1]) || npu_runner_open(&sim, "sim", argv[1])) {
		fprintf(stderr, "npu_e2e: %s\n", npu_last_error());
		return 1;
	}
	n = (long)labels.numel;
	if (limit > 0 && limit < n)
		n = limit;
	if ((size_t)images.numel < (size_t)n * drm.in_count) {
		fprintf(stderr, "npu_e2e: images and model input do not match\n");
		return 2;
	}
	for (long i = 0; i < n; i++) {
		const uint8_t *px = (const uint8_t *)images.data + (size_t)i * drm.in_count;
		uint8_t label = ((const uint8_t *)labels.data)[i];
		double t0;

		for (size_t k = 0; k < drm.in_count; k++)
			drm.in_map[k] = sim.in_map[k] = (float)(px[k] * scale);
		t0 = now_s();
		if (npu_run(drm.ctx, NULL)) {
			fprintf(stderr, "npu_e2e: image %ld on drm: %s\n", i, npu_last_error());
			return 1;
		}
		t_drm += now_s() - t0;
		if (npu_run(sim.ctx, NULL)) {
			fprintf(stderr, "npu_e2e: image %ld on sim: %s\n", i, npu_last_error());
			return 1;
		}
		same += !memcmp(drm.out_map, sim.out_map, drm.out_count * sizeof(float));
		top_drm += npu_argmax(drm.out_map, drm.out_count) == label;
		top_sim += npu_argmax(sim.out_map, sim.out_count) == label;
	}
	printf("npu_e2e: %ld images on %s vs sim: %ld bit-identical outputs, top-1 %.2f%% vs "
	       "%.2f%%, %.0f us per inference through the driver\n", n, drm.backend, same,
	       100.0 * top_drm / n, 100.0 * top_sim / n, 1e6 * t_drm / n);
	ok = same == n && top_drm == top_sim && !strcmp(drm.backend, "drm");
	npu_runner_close(&drm);
	npu_runner_close(&sim);
	return ok ? 0 : 1;
}
