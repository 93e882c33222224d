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

struct runner {
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *in, *out;
	float *in_map, *out_map;
	size_t in_count, out_count;
};

static int runner_open(struct runner *r, const char *device, const char *npub)
{
	struct npu_tensor_info ii, oi;
	void *p;

	if (npu_device_open(device, &r->dev) || npu_model_load_file(r->dev, npub, &r->model) ||
	    npu_model_tensor_info(r->model, NPU_INPUT, 0, &ii) ||
	    npu_model_tensor_info(r->model, NPU_OUTPUT, 0, &oi) ||
	    npu_context_create(r->model, &r->ctx) ||
	    npu_bo_alloc(r->dev, ii.float_bytes, 0, &r->in) ||
	    npu_bo_alloc(r->dev, oi.float_bytes, 0, &r->out) ||
	    npu_bind_input(r->ctx, 0, r->in, 0, NPU_FMT_FLOAT32) ||
	    npu_bind_output(r->ctx, 0, r->out, 0, NPU_FMT_FLOAT32) || npu_bo_map(r->in, &p)) {
		fprintf(stderr, "npu_e2e: %s: %s\n", device, npu_last_error());
		return -1;
	}
	r->in_map = p;
	if (npu_bo_map(r->out, &p))
		return -1;
	r->out_map = p;
	r->in_count = ii.count;
	r->out_count = oi.count;
	return 0;
}

static void runner_close(struct runner *r)
{
	npu_context_free(r->ctx);
	npu_bo_free(r->in);
	npu_bo_free(r->out);
	npu_model_free(r->model);
	npu_device_close(r->dev);
}

static size_t argmax(const float *x, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}

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
	struct runner drm = { 0 }, sim = { 0 };
	long n, limit, same = 0, top_drm = 0, top_sim = 0;
	double scale, t_drm = 0;
	char backend[16] = "";

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
	if (runner_open(&drm, "drm", argv[1]) || runner_open(&sim, "sim", argv[1]))
		return 1;
	npu_device_backend(drm.dev, backend, sizeof(backend));
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
		top_drm += argmax(drm.out_map, drm.out_count) == label;
		top_sim += argmax(sim.out_map, sim.out_count) == label;
	}
	printf("npu_e2e: %ld images on %s vs sim: %ld bit-identical outputs, top-1 %.2f%% vs "
	       "%.2f%%, %.0f us per inference through the driver\n", n, backend, same,
	       100.0 * top_drm / n, 100.0 * top_sim / n, 1e6 * t_drm / n);
	runner_close(&drm);
	runner_close(&sim);
	return same == n && top_drm == top_sim && !strcmp(backend, "drm") ? 0 : 1;
}
