// SPDX-License-Identifier: MIT
/*
 * Channel chains (channel_chain.h): from a Conv's output channels to the
 * one layer that sums over them.
 */
#include "channel_chain.h"

#include <string.h>

#include "onnx_ops.h"
#include "passes.h"

/*
 * Ops that map channel c to channel c alone (activations, pooling); with
 * homogeneous, only those that commute with a positive per-channel scale
 * (f(s x) = s f(x) for s > 0).
 */
static int channelwise(enum npuc_op op, int homogeneous)
{
	switch (op) {
	case NPUC_OP_Relu: case NPUC_OP_LeakyRelu: case NPUC_OP_MaxPool:
	case NPUC_OP_AveragePool: case NPUC_OP_GlobalAveragePool: case NPUC_OP_GlobalMaxPool:
		return 1;
	case NPUC_OP_Clip: case NPUC_OP_Sigmoid: case NPUC_OP_Tanh: case NPUC_OP_HardSigmoid:
	case NPUC_OP_HardSwish:
		return !homogeneous;
	default:
		return 0;
	}
}

/* The only node reading tensor t, or -1. */
static int sole_reader(const struct npuc_graph *g, const int *uses, int t)
{
	if (uses[t] != 1 || npuc_tensor_is_output(g, t))
		return -1;
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++)
			if (g->nodes[i].in[j] == t)
				return i;
	return -1;
}

static int const_f32(const struct npuc_graph *g, const int *uses, int t, int rank)
{
	return t >= 0 && npuc_tensor_is_const(g, t) && uses[t] == 1 &&
	       g->t[t].dtype == NPUC_DT_F32 && g->t[t].rank == rank;
}

int npuc_chain_conv(const struct npuc_graph *g, const int *uses, const struct npuc_node *n,
		    int grouped)
{
	return npuc_node_op(n) == NPUC_OP_Conv && n->n_in >= 2 && n->n_out == 1 &&
	       (grouped || npuc_attr_int(n, "group", 1) == 1) && const_f32(g, uses, n->in[1], 4) &&
	       (n->n_in < 3 || n->in[2] < 0 || const_f32(g, uses, n->in[2], 1));
}

int npuc_chain_follow(const struct npuc_graph *g, const int *uses, int ci, unsigned int flags,
		      struct npuc_chain *c)
{
	const struct npuc_node *n = &g->nodes[ci];
	int64_t oc = g->t[n->in[1]].dims[0];
	int t = n->out[0];

	memset(c, 0, sizeof(*c));
	c->conv = ci;
	c->flat = -1;
	for (;;) {
		const struct npuc_tensor *tt = &g->t[t];
		const struct npuc_node *r;
		int ri;

		if (tt->rank != 4 || tt->dims[0] != 1 || tt->dims[1] != oc ||
		    c->n_path == (int)(sizeof(c->path) / sizeof(c->path[0])))
			return 0;
		c->path[c->n_path++] = t;
		ri = sole_reader(g, uses, t);
		if (ri < 0)
			return 0;
		r = &g->nodes[ri];
		if (r->in[0] != t || r->n_out < 1)
			return 0;
		if (channelwise(npuc_node_op(r), flags & NPUC_CHAIN_HOMOGENEOUS)) {
			for (int j = 1; j < r->n_in; j++)	/* Clip's bounds: constants */
				if (r->in[j] >= 0 && !npuc_tensor_is_const(g, r->in[j]))
					return 0;
			for (int j = 1; j < r->n_out; j++)	/* MaxPool's Indices */
				if (r->out[j] >= 0)
					return 0;
			c->pnode[c->n_path - 1] = ri;
			t = r->out[0];
			continue;
		}
		if (npuc_chain_conv(g, uses, r, flags & NPUC_CHAIN_GROUPED) &&
		    g->t[r->in[1]].dims[1] * npuc_attr_int(r, "group", 1) == oc) {
			c->reader = ri;
			return 1;
		}
		if (npuc_node_op(r) == NPUC_OP_Flatten && npuc_attr_int(r, "axis", 1) == 1) {
			int gi = sole_reader(g, uses, r->out[0]);
			const struct npuc_node *gm = gi >= 0 ? &g->nodes[gi] : NULL;

			c->hw = tt->dims[2] * tt->dims[3];
			if (!gm || npuc_node_op(gm) != NPUC_OP_Gemm || gm->in[0] != r->out[0] ||
			    npuc_attr_int(gm, "transA", 0) || !const_f32(g, uses, gm->in[1], 2) ||
			    g->t[gm->in[1]].dims[npuc_attr_int(gm, "transB", 0) ? 1 : 0] !=
			    oc * c->hw || g->t[r->out[0]].rank != 2)
				return 0;
			c->flat = r->out[0];
			c->reader = gi;
			return 1;
		}
		return 0;
	}
}

