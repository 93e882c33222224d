// SPDX-License-Identifier: MIT
/*
 * An application as a user writes one: only <npu.h>, linked against the
 * shared libnpu through pkg-config. Loads a model, runs it on zeros and
 * prints output 0's top-1, so the exported API is shown to be enough.
 * usage: consumer MODEL.npub
 */
#include <npu.h>
#include <stdio.h>
#include <stdlib.h>

static int check(int rc, const char *what)
{
	if (rc != NPU_OK)
		fprintf(stderr, "consumer: %s: %s (%s)\n", what, npu_last_error(),
			npu_status_name(rc));
	return rc != NPU_OK;
}

int main(int argc, char **argv)
{
	struct npu_tensor_info in, out;
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *bi, *bo;
	float *x, *y;
	char be[16];
	uint32_t best = 0;

	if (argc != 2)
		return 2;
	if (check(npu_device_open(NULL, &dev), "open") ||
	    check(npu_device_backend(dev, be, sizeof(be)), "backend") ||
	    check(npu_model_load_file(dev, argv[1], &model), "load") ||
	    check(npu_model_tensor_info(model, NPU_INPUT, 0, &in), "input info") ||
	    check(npu_model_tensor_info(model, NPU_OUTPUT, 0, &out), "output info") ||
	    check(npu_context_create(model, &ctx), "context") ||
	    check(npu_bo_alloc(dev, in.float_bytes, 0, &bi), "input buffer") ||
	    check(npu_bo_alloc(dev, out.float_bytes, 0, &bo), "output buffer") ||
	    check(npu_bo_map(bi, (void **)&x), "map") || check(npu_bo_map(bo, (void **)&y), "map") ||
	    check(npu_bind_input(ctx, 0, bi, 0, NPU_FMT_FLOAT32), "bind") ||
	    check(npu_bind_output(ctx, 0, bo, 0, NPU_FMT_FLOAT32), "bind"))
		return 1;
	for (size_t k = 0; k < in.count; k++)
		x[k] = 0.0f;
	if (check(npu_run(ctx, NULL), "run"))
		return 1;
	for (uint32_t k = 1; k < out.count; k++)
		if (y[k] > y[best])
			best = k;
	printf("consumer: %s backend, %zu outputs, top-1 class %u\n", be, (size_t)out.count, best);
	return check(npu_bo_free(bi), "free") | check(npu_bo_free(bo), "free") |
	       check(npu_context_free(ctx), "free") | check(npu_model_free(model), "free") |
	       check(npu_device_close(dev), "close");
}
