// SPDX-License-Identifier: MIT
/* Check-asserting graph-building helpers shared by the compiler suites. */
#include "graph_build.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int gb_tensor_t(struct npuc_graph *g, const char *name, enum npuc_dtype dt, int rank,
		const int64_t *dims)
{
	struct npuc_diag d = { { 0 } };
	int t = npuc_graph_add_tensor(g, name, dt, rank, dims, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

int gb_tensor(struct npuc_graph *g, const char *name, int rank, const int64_t *dims)
{
	return gb_tensor_t(g, name, NPUC_DT_F32, rank, dims);
}

int gb_const_t(struct npuc_graph *g, const char *name, enum npuc_dtype dt, int rank,
	       const int64_t *dims, const void *vals)
{
	struct npuc_diag d = { { 0 } };
	int t = gb_tensor_t(g, name, dt, rank, dims);
	int64_t n = npuc_tensor_numel(&g->t[t]);
	size_t nb;
	void *p;

	ck_assert_msg(n >= 0, "constant '%s' needs a known shape", name);
	nb = (size_t)n * npuc_dtype_size(dt);
	p = malloc(nb ? nb : 1);
	ck_assert_ptr_nonnull(p);
	memcpy(p, vals, nb);
	ck_assert_msg(npuc_tensor_set_data(g, t, p, nb, &d) == 0, "%s", d.msg);
	return t;
}

int gb_const(struct npuc_graph *g, const char *name, int rank, const int64_t *dims,
	     const float *vals)
{
	return gb_const_t(g, name, NPUC_DT_F32, rank, dims, vals);
}

static int node_named(struct npuc_graph *g, const char *name, const char *op, const int *in,
		      int n_in, const int *out, int n_out)
{
	struct npuc_diag d = { { 0 } };
	int n = npuc_graph_add_node(g, name, op, "", in, n_in, out, n_out, &d);

	ck_assert_msg(n >= 0, "%s", d.msg);
	return n;
}

int gb_node(struct npuc_graph *g, const char *op, const int *in, int n_in, const int *out,
	    int n_out)
{
	char name[32];

	snprintf(name, sizeof(name), "n%d", g->n_nodes);
	return node_named(g, name, op, in, n_in, out, n_out);
}

int gb_node1(struct npuc_graph *g, const char *op, const int *in, int n_in, int out)
{
	char name[64];

	snprintf(name, sizeof(name), "n%d_%s", g->n_nodes, op);
	return node_named(g, name, op, in, n_in, &out, 1);
}

void gb_attr_i(struct npuc_graph *g, int node, const char *name, int64_t v)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuc_node_set_int(g, node, name, v, &d) == 0, "%s", d.msg);
}

void gb_attr_f(struct npuc_graph *g, int node, const char *name, float v)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuc_node_set_float(g, node, name, v, &d) == 0, "%s", d.msg);
}

void gb_attr_s(struct npuc_graph *g, int node, const char *name, const char *v)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuc_node_set_string(g, node, name, v, &d) == 0, "%s", d.msg);
}

void gb_attr_ints(struct npuc_graph *g, int node, const char *name, int n, const int64_t *v)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuc_node_set_ints(g, node, name, v, n, &d) == 0, "%s", d.msg);
}

void gb_io(struct npuc_graph *g, const int *in, int n_in, const int *out, int n_out)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuc_graph_set_io(g, in, n_in, out, n_out, &d) == 0, "%s", d.msg);
}

float gb_frand(unsigned int *s)
{
	*s = *s * 1103515245u + 12345u;
	return (float)((*s >> 8) & 0xffff) / 32768.0f - 1.0f;
}

void gb_fill(float *p, int64_t n, unsigned int seed)
{
	for (int64_t i = 0; i < n; i++)
		p[i] = gb_frand(&seed);
}
