// SPDX-License-Identifier: MIT
/*
 * Helpers the lowering driver (lower_main.c) and the per-op lowering
 * (lower_conv.c, lower_vec.c, lower_host.c) share (lower.h): operand
 * tensors, growable record arrays and blobs, the host fallback. Their own
 * file, below all of them, so the driver and the per-op files do not call
 * each other in a circle.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

const struct npuq_tensor *lw_tin(const struct lw *l, const struct npuq_node *n, int k)
{
	return &l->g->t[n->in[k]];
}

const struct npuq_tensor *lw_tout(const struct lw *l, const struct npuq_node *n, int k)
{
	return &l->g->t[n->out[k]];
}

int lw_tid_in(const struct npuq_node *n, int k)
{
	return n->in[k];
}

int lw_push(void **arr, uint32_t *n, size_t es, const void *rec)
{
	if (*n == UINT32_MAX / 2)
		return -1;
	if (*n == 0 || !(*n & (*n - 1))) {
		size_t cap = *n ? (size_t)*n * 2 : 1;
		void *p = realloc(*arr, cap * es);

		if (!p)
			return -1;
		*arr = p;
	}
	memcpy((uint8_t *)*arr + (size_t)*n * es, rec, es);
	(*n)++;
	return 0;
}

uint64_t lw_blob_add(uint8_t **buf, uint64_t *size, uint64_t *cap, const void *p, uint64_t n,
		     uint64_t align, int *oom)
{
	uint64_t off = (*size + align - 1) & ~(align - 1);

	if (*oom)
		return 0;
	if (off + n > *cap) {
		uint64_t c = *cap ? *cap : 4096;
		uint8_t *q;

		while (c < off + n)
			c *= 2;
		q = realloc(*buf, (size_t)c);
		if (!q) {
			*oom = 1;
			return 0;
		}
		memset(q + *cap, 0, (size_t)(c - *cap));
		*buf = q;
		*cap = c;
	}
	if (n)
		memcpy(*buf + off, p, (size_t)n);
	*size = off + n;
	return off;
}

uint64_t lw_weights_add(struct lw *l, const void *p, uint64_t n)
{
	return lw_blob_add(&l->wbuf, &l->wsize, &l->wcap, p, n, NPUB_ALIGN, &l->oom);
}

uint64_t lw_data_add(struct lw *l, const void *p, uint64_t n)
{
	uint64_t off = (l->m->data_size + 7) & ~(uint64_t)7;
	uint8_t *q;

	if (l->oom)
		return 0;
	/* DATA holds CPU-node constants only: grown exactly, rarely. */
	q = realloc(l->m->data, (size_t)(off + n ? off + n : 1));
	if (!q) {
		l->oom = 1;
		return 0;
	}
	memset(q + l->m->data_size, 0, (size_t)(off - l->m->data_size));
	if (n)
		memcpy(q + off, p, (size_t)n);
	l->m->data = q;
	l->m->data_size = off + n;
	return off;
}

void lnode_to_host(struct lnode *ln, const char *why)
{
	ln->target = NPUB_TARGET_QCPU;
	snprintf(ln->reason, sizeof(ln->reason), "%s", why);
}
