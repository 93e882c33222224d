/* SPDX-License-Identifier: MIT */
/*
 * A compiled model with one float input and one float output, ready to run
 * through libnpu's public API: device, model, context and two mapped
 * buffers bound in float32. What the evaluation tools share (npuc-eval,
 * the VM's end-to-end test).
 */
#ifndef NPU_TOOLS_RUNNER_H
#define NPU_TOOLS_RUNNER_H

#include <stddef.h>

#include "npu.h"

struct npu_runner {
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *in, *out;
	float *in_map, *out_map;	/* input 0 / output 0, float32 */
	size_t in_count, out_count;	/* their elements */
	char backend[32];		/* "sim" or "drm" */
};

/* Opens device (NULL: the default) and loads npub. 0, or -1 (npu_last_error() says why). */
int npu_runner_open(struct npu_runner *r, const char *device, const char *npub);
/* Releases everything (also after a failed open). */
void npu_runner_close(struct npu_runner *r);
/* Index of the largest of n values (the first of equals). */
size_t npu_argmax(const float *x, size_t n);

#endif /* NPU_TOOLS_RUNNER_H */
