// SPDX-License-Identifier: MIT
/*
 * Graph queries and edits the passes and quantisation share (passes.h):
 * tensor uses, outputs and constants, node removal, fused activations.
 * (Their own file, below both passes, so no pass depends on another.)
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"

void npuc_tensor_uses(const struct npuc_graph *g, int *uses)
{
	for (int t = 0; t < g->n_t; t++)
		uses[t] = 0;
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++)
			if (g->nodes[i].in[j] >= 0 && g->nodes[i].in[j] < g->n_t)
				uses[g->nodes[i].in[j]]++;
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] >= 0 && g->outputs[i] < g->n_t)
			uses[g->outputs[i]]++;
}

int npuc_tensor_is_output(const struct npuc_graph *g, int t)
{
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] == t)
			return 1;
	return 0;
}

int npuc_tensor_is_const(const struct npuc_graph *g, int t)
{
	return t >= 0 && t < g->n_t && (g->t[t].flags & NPUC_T_CONST) &&
	       (g->t[t].data || !g->t[t].nbytes);
}

void npuc_attrs_free(struct npuc_attr *a, int n)
{
	for (int i = 0; i < n; i++) {
		free(a[i].name);
		free(a[i].s);
		free(a[i].ints);
		free(a[i].floats);
	}
	free(a);
}

static void node_free(struct npuc_node *n)
{
	free(n->name);
	free(n->op);
	free(n->domain);
	free(n->in);
	free(n->out);
	npuc_attrs_free(n->attrs, n->n_attrs);
	memset(n, 0, sizeof(*n));
}

static void fix_producers(struct npuc_graph *g)
{
	for (int t = 0; t < g->n_t; t++)
		g->t[t].producer = -1;
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_out; j++)
			if (g->nodes[i].out[j] >= 0 && g->nodes[i].out[j] < g->n_t)
				g->t[g->nodes[i].out[j]].producer = i;
}

void npuc_graph_remove_nodes(struct npuc_graph *g, const unsigned char *dead)
{
	int k = 0;

	for (int i = 0; i < g->n_nodes; i++) {
		if (dead[i]) {
			node_free(&g->nodes[i]);
			continue;
		}
		if (k != i)
			g->nodes[k] = g->nodes[i];
		k++;
	}
	g->n_nodes = k;
	fix_producers(g);
}

int npuc_node_fused_act(const struct npuc_graph *g, const struct npuc_node *n, float *lo,
			float *hi, int *out)
{
	const struct npuc_attr *amin = npuc_node_attr(n, NPUC_ATTR_ACT_MIN);
	const struct npuc_attr *amax = npuc_node_attr(n, NPUC_ATTR_ACT_MAX);
	const struct npuc_attr *aout = npuc_node_attr(n, NPUC_ATTR_ACT_OUT);
	const struct npuc_node *a;
	int t, p;

	if (!amin || !amax || !aout || amin->type != NPUC_ATTR_FLOAT ||
	    amax->type != NPUC_ATTR_FLOAT || aout->type != NPUC_ATTR_INT || n->n_out < 1)
		return 0;
	if (aout->i < 0 || aout->i >= g->n_t || isnan(amin->f) || isnan(amax->f) ||
	    amin->f > amax->f)
		return 0;
	t = (int)aout->i;
	p = g->t[t].producer;
	if (p < 0 || p >= g->n_nodes)
		return 0;
	a = &g->nodes[p];
	/* the activation reads exactly our output and is marked fused */
	if (a->n_in < 1 || a->in[0] != n->out[0] || n->out[0] < 0 ||
	    npuc_attr_int(a, NPUC_ATTR_FUSED, 0) != 1)
		return 0;
	*lo = amin->f;
	*hi = amax->f;
	*out = t;
	return 1;
}
