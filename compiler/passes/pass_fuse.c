// SPDX-License-Identifier: MIT
/*
 * Activation fusion (passes.h): Relu and Clip with constant bounds are
 * marked as fused into the Conv / Gemm / MatMul / Add / Sub / Mul that
 * produces their input, which quantisation turns into the producer's
 * act_min / act_max clamp. The float graph itself is not changed.
 */
#include "passes.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"

static int default_domain(const struct npuc_node *n)
{
	return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static int fusable_producer(const struct npuc_node *p)
{
	return p->n_out == 1 && !npuc_node_attr(p, NPUC_ATTR_ACT_OUT) &&
	       npuc_node_has(p, OPF_FUSE_ACT);
}

/* A constant scalar float bound (input j of a Clip): 1 ok (or omitted), 0 not usable. */
static int clip_bound(const struct npuc_graph *g, const struct npuc_node *n, int j, float *v)
{
	const struct npuc_tensor *t;

	if (j >= n->n_in || n->in[j] < 0)
		return 1;
	t = &g->t[n->in[j]];
	if (!npuc_tensor_is_const(g, n->in[j]) || t->dtype != NPUC_DT_F32 ||
	    t->nbytes != sizeof(float))
		return 0;
	memcpy(v, t->data, sizeof(float));
	return !isnan(*v);
}

/* The clamp range of a Relu / Clip node: 1, or 0 if it is not a fusable activation. */
static int act_range(const struct npuc_graph *g, const struct npuc_node *n, float *lo,
		     float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (!default_domain(n) || n->n_in < 1 || n->n_out != 1 || n->in[0] < 0 || n->out[0] < 0)
		return 0;
	if (npuc_node_op(n) == NPUC_OP_Relu) {
		*lo = 0.0f;
		return n->n_in == 1;
	}
	if (npuc_node_op(n) != NPUC_OP_Clip)
		return 0;
	if (g->opset < 11) {
		const struct npuc_attr *a = npuc_node_attr(n, "min"), *b = npuc_node_attr(n, "max");

		if (a && a->type == NPUC_ATTR_FLOAT)
			*lo = a->f;
		if (b && b->type == NPUC_ATTR_FLOAT)
			*hi = b->f;
	} else if (!clip_bound(g, n, 1, lo) || !clip_bound(g, n, 2, hi)) {
		return 0;
	}
	return !isnan(*lo) && !isnan(*hi) && *lo <= *hi;
}

/* 1 fused, 0 not, -1 error. */
static int fuse_one(struct npuc_graph *g, int ai, const int *uses, struct npuc_diag *d)
{
	const struct npuc_node *a = &g->nodes[ai];
	int x = a->in[0], y, p;
	float lo, hi;

	if (npuc_node_attr(a, NPUC_ATTR_FUSED) || !act_range(g, a, &lo, &hi))
		return 0;
	y = a->out[0];
	if (uses[x] != 1 || npuc_tensor_is_output(g, x) || g->t[x].dtype != NPUC_DT_F32)
		return 0;
	p = g->t[x].producer;
	if (p < 0 || p >= g->n_nodes || !fusable_producer(&g->nodes[p]) ||
	    g->nodes[p].out[0] != x)
		return 0;
	if (npuc_node_set_float(g, p, NPUC_ATTR_ACT_MIN, lo, d) < 0 ||
	    npuc_node_set_float(g, p, NPUC_ATTR_ACT_MAX, hi, d) < 0 ||
	    npuc_node_set_int(g, p, NPUC_ATTR_ACT_OUT, y, d) < 0 ||
	    npuc_node_set_string(g, p, NPUC_ATTR_ACT_OP, g->nodes[ai].op, d) < 0 ||
	    npuc_node_set_int(g, ai, NPUC_ATTR_FUSED, 1, d) < 0)
		return -1;
	return 1;
}

int npuc_pass_fuse(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d)
{
	int *uses, rc = 0;

	if (!g) {
		npuc_diag_set(d, "fuse: no graph");
		return -1;
	}
	uses = malloc(((size_t)g->n_t + 1) * sizeof(int));
	if (!uses) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	npuc_tensor_uses(g, uses);
	for (int i = 0; i < g->n_nodes; i++) {
		rc = fuse_one(g, i, uses, d);
		if (rc < 0)
			break;
		if (rc > 0 && st)
			st->fused++;
	}
	free(uses);
	return rc < 0 ? -1 : 0;
}
