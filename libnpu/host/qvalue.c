// SPDX-License-Identifier: MIT
/* Value helpers shared by qref.c and npub_exec.c (qvalue.h). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qvalue.h"

int8_t npuq_quantize1(float x, float scale, int32_t zp)
{
	float v = rintf(x / scale) + (float)zp;

	if (isnan(v))
		return 0;
	if (v < -128.0f)
		return INT8_MIN;
	if (v > 127.0f)
		return INT8_MAX;
	return (int8_t)v;
}

void npuq_layout_convert(void *dst, const void *src, int h, int w, int c, size_t es,
			 int to_nchw)
{
	size_t hw = (size_t)h * (size_t)w;
	const uint8_t *s = src;
	uint8_t *o = dst;

	for (size_t ch = 0; ch < (size_t)c; ch++)
		for (size_t p = 0; p < hw; p++) {
			size_t nchw = (ch * hw + p) * es, nhwc = (p * (size_t)c + ch) * es;

			if (to_nchw)
				memcpy(o + nchw, s + nhwc, es);
			else
				memcpy(o + nhwc, s + nchw, es);
		}
}

void npuq_flip8(void *p, int64_t n)
{
	uint8_t *b = p;

	for (int64_t i = 0; i < n; i++)
		b[i] ^= 0x80;
}

int npuq_cpu_graph_io(struct npuc_graph *g, int t, int output, struct npuc_diag *d)
{
	int **arr = output ? &g->outputs : &g->inputs;
	int *n = output ? &g->n_outputs : &g->n_inputs;
	int *p = realloc(*arr, (size_t)(*n + 1) * sizeof(int));

	if (!p) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	p[(*n)++] = t;
	*arr = p;
	g->t[t].flags |= output ? NPUC_T_OUTPUT : NPUC_T_INPUT;
	return 0;
}
