// SPDX-License-Identifier: MIT
#include <string.h>

#include "runner.h"

int npu_runner_open(struct npu_runner *r, const char *device, const char *npub)
{
	struct npu_tensor_info ii, oi;
	void *in, *out;

	memset(r, 0, sizeof(*r));
	if (npu_device_open(device, &r->dev) ||
	    npu_device_backend(r->dev, r->backend, sizeof(r->backend)) ||
	    npu_model_load_file(r->dev, npub, &r->model) ||
	    npu_model_tensor_info(r->model, NPU_INPUT, 0, &ii) ||
	    npu_model_tensor_info(r->model, NPU_OUTPUT, 0, &oi) ||
	    npu_context_create(r->model, &r->ctx) ||
	    npu_bo_alloc(r->dev, ii.float_bytes, 0, &r->in) ||
	    npu_bo_alloc(r->dev, oi.float_bytes, 0, &r->out) ||
	    npu_bind_input(r->ctx, 0, r->in, 0, NPU_FMT_FLOAT32) ||
	    npu_bind_output(r->ctx, 0, r->out, 0, NPU_FMT_FLOAT32) || npu_bo_map(r->in, &in) ||
	    npu_bo_map(r->out, &out))
		return -1;
	r->in_map = in;
	r->out_map = out;
	r->in_count = ii.count;
	r->out_count = oi.count;
	return 0;
}

void npu_runner_close(struct npu_runner *r)
{
	/* NULL handles are refused harmlessly (NPU_ERR_INVAL) */
	npu_context_free(r->ctx);
	npu_bo_free(r->in);
	npu_bo_free(r->out);
	npu_model_free(r->model);
	npu_device_close(r->dev);
	memset(r, 0, sizeof(*r));
}

size_t npu_argmax(const float *x, size_t n)
{
	size_t best = 0;

	for (size_t i = 1; i < n; i++)
		if (x[i] > x[best])
			best = i;
	return best;
}
