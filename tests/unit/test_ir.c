// SPDX-License-Identifier: MIT
/*
 * npuc graph IR (libnpu/host/ir.c): tensors and the name index, constant
 * data checks, nodes and attributes, type/shape refinement, toposort with
 * cycle and undefined-input detection.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"

static const int64_t dims4[4] = { 1, 3, 8, 8 };

static int add_t(struct npuc_graph *g, const char *name)
{
	struct npuc_diag d = { { 0 } };
	int t = npuc_graph_add_tensor(g, name, NPUC_DT_F32, 4, dims4, &d);

	ck_assert_msg(t >= 0, "add %s: %s", name, d.msg);
	return t;
}

static int add_n(struct npuc_graph *g, const char *name, const char *op, int in, int out)
{
	struct npuc_diag d = { { 0 } };
	int n = npuc_graph_add_node(g, name, op, "", &in, in == -2 ? 0 : 1, &out, 1, &d);

	ck_assert_msg(n >= 0, "add node %s: %s", name, d.msg);
	return n;
}

START_TEST(test_dtypes)
{
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_F32), 4);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_U8), 1);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_I8), 1);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_I32), 4);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_I64), 8);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_BOOL), 1);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_UNDEF), 0);
	ck_assert_uint_eq(npuc_dtype_size(NPUC_DT_COUNT), 0);
	ck_assert_str_eq(npuc_dtype_name(NPUC_DT_I8), "i8");
	ck_assert_str_eq(npuc_dtype_name(NPUC_DT_COUNT), "invalid");
}
END_TEST

START_TEST(test_tensors_and_lookup)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	char name[32];
	int64_t bad[2] = { 2, -5 };

	ck_assert_ptr_nonnull(g);
	/* Enough names to force several rebuilds of the hash index. */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "t%d", i);
		ck_assert_int_eq(add_t(g, name), i);
	}
	for (int i = 999; i >= 0; i--) {
		snprintf(name, sizeof(name), "t%d", i);
		ck_assert_int_eq(npuc_graph_find(g, name), i);
	}
	ck_assert_int_eq(npuc_graph_find(g, "t1000"), -1);
	ck_assert_int_eq(npuc_graph_find(g, ""), -1);
	ck_assert_int_eq(g->t[7].producer, -1);
	ck_assert_int_eq(g->t[7].rank, 4);
	ck_assert_int_eq(g->t[7].dims[3], 8);
	ck_assert_int_eq(g->t[7].dims[4], NPUC_DIM_UNKNOWN);

	ck_assert_int_eq(npuc_graph_add_tensor(g, "t5", NPUC_DT_F32, -1, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "duplicate tensor name 't5'"));
	d.msg[0] = 0;
	ck_assert_int_eq(npuc_graph_add_tensor(g, "", NPUC_DT_F32, -1, NULL, &d), -1);
	ck_assert(d.msg[0]);
	d.msg[0] = 0;
	ck_assert_int_eq(npuc_graph_add_tensor(g, "neg", NPUC_DT_F32, 2, bad, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "negative"));
	ck_assert_int_eq(npuc_graph_add_tensor(g, "r9", NPUC_DT_F32, 9, dims4, &d), -1);
	ck_assert_int_eq(g->n_t, 1000);
	npuc_graph_free(g);
}
END_TEST

START_TEST(test_numel_and_data)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int64_t big[3] = { INT64_C(1) << 31, INT64_C(1) << 31, INT64_C(1) << 31 };
	int64_t unk[2] = { 4, NPUC_DIM_UNKNOWN };
	int t = add_t(g, "w"), tb, tu, ts;

	ck_assert_int_eq(npuc_tensor_numel(&g->t[t]), 192);
	tb = npuc_graph_add_tensor(g, "big", NPUC_DT_F32, 3, big, &d);
	tu = npuc_graph_add_tensor(g, "unk", NPUC_DT_F32, 2, unk, &d);
	ts = npuc_graph_add_tensor(g, "scalar", NPUC_DT_I64, 0, NULL, &d);
	ck_assert_int_eq(npuc_tensor_numel(&g->t[tb]), -1);	/* overflows int64 */
	ck_assert_int_eq(npuc_tensor_numel(&g->t[tu]), -1);
	ck_assert_int_eq(npuc_tensor_numel(&g->t[ts]), 1);

	/* Wrong size: rejected, buffer released (ownership always passes). */
	ck_assert_int_eq(npuc_tensor_set_data(g, t, malloc(100), 100, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "'w'"));
	ck_assert_ptr_null(g->t[t].data);
	ck_assert(!(g->t[t].flags & NPUC_T_CONST));
	ck_assert_int_eq(npuc_tensor_set_data(g, tu, malloc(16), 16, &d), -1);
	ck_assert_int_eq(npuc_tensor_set_data(g, t, calloc(192, 4), 768, &d), 0);
	ck_assert(g->t[t].flags & NPUC_T_CONST);
	ck_assert_uint_eq(g->t[t].nbytes, 768);
	ck_assert_int_eq(npuc_tensor_set_data(g, ts, calloc(1, 8), 8, &d), 0);
	npuc_graph_free(g);
}
END_TEST

START_TEST(test_nodes_and_attrs)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npuc_attr a = { 0 };
	const struct npuc_attr *pa;
	int x = add_t(g, "x"), y = add_t(g, "y"), z = add_t(g, "z"), n, in2[2];

	g->t[x].flags |= NPUC_T_INPUT;
	n = add_n(g, "conv", "Conv", x, y);
	ck_assert_int_eq(g->t[y].producer, n);
	/* y already has a producer; x is a graph input. */
	ck_assert_int_eq(npuc_graph_add_node(g, "again", "Relu", "", &x, 1, &y, 1, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "'y' is already defined"));
	ck_assert_int_eq(npuc_graph_add_node(g, "in", "Relu", "", &y, 1, &x, 1, &d), -1);
	in2[0] = z;
	in2[1] = 99;
	ck_assert_int_eq(npuc_graph_add_node(g, "bad", "Add", "", in2, 2, &x, 1, &d), -1);
	ck_assert_int_eq(npuc_graph_add_node(g, "noop", "", "", &x, 1, &z, 1, &d), -1);
	ck_assert_int_eq(g->n_nodes, 1);

	a.name = strdup("kernel_shape");
	a.type = NPUC_ATTR_INTS;
	a.n = 2;
	a.ints = malloc(2 * sizeof(int64_t));
	a.ints[0] = 3;
	a.ints[1] = 5;
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), 0);
	ck_assert_ptr_null(a.name);	/* ownership moved */
	a.name = strdup("group");
	a.type = NPUC_ATTR_INT;
	a.i = 4;
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), 0);
	a.name = strdup("alpha");
	a.type = NPUC_ATTR_FLOAT;
	a.f = 0.5f;
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), 0);
	a.name = strdup("auto_pad");
	a.type = NPUC_ATTR_STRING;
	a.s = strdup("SAME_UPPER");
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), 0);
	a.name = strdup("group");
	a.type = NPUC_ATTR_INT;
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "duplicate attribute 'group'"));
	a.name = strdup("value");
	a.type = NPUC_ATTR_TENSOR;
	a.i = 1234;
	ck_assert_int_eq(npuc_node_add_attr(g, n, &a, &d), -1);

	pa = npuc_node_attr(&g->nodes[n], "kernel_shape");
	ck_assert_ptr_nonnull(pa);
	ck_assert_int_eq(pa->n, 2);
	ck_assert_int_eq(pa->ints[1], 5);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[n], "group", 1), 4);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[n], "missing", 7), 7);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[n], "alpha", 7), 7);	/* wrong type */
	ck_assert(npuc_attr_float(&g->nodes[n], "alpha", 1.0f) == 0.5f);
	ck_assert_str_eq(npuc_attr_string(&g->nodes[n], "auto_pad", "NOTSET"), "SAME_UPPER");
	ck_assert_str_eq(npuc_attr_string(&g->nodes[n], "nope", "NOTSET"), "NOTSET");
	ck_assert_int_eq(g->nodes[n].n_attrs, 4);
	npuc_graph_free(g);
}
END_TEST

START_TEST(test_refine)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int64_t a[4] = { NPUC_DIM_UNKNOWN, 3, NPUC_DIM_UNKNOWN, 8 }, b[4] = { 1, 3, 8, 8 };
	int64_t c[4] = { 1, 4, 8, 8 };
	int t = npuc_graph_add_tensor(g, "t", NPUC_DT_UNDEF, -1, NULL, &d);

	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_UNDEF, -1, NULL, "vi", &d), 0);
	ck_assert_int_eq(g->t[t].rank, -1);
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_F32, 4, a, "vi", &d), 0);
	ck_assert_int_eq(g->t[t].dims[0], NPUC_DIM_UNKNOWN);
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_F32, 4, b, "vi", &d), 0);
	ck_assert_int_eq(g->t[t].dims[0], 1);
	ck_assert_int_eq(g->t[t].dims[2], 8);
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_F32, 4, a, "vi", &d), 0);
	ck_assert_int_eq(g->t[t].dims[0], 1);	/* known dims are kept */
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_F32, 4, c, "inferred", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "dimension 3 at axis 1, not 4"));
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_F32, 3, c, "inferred", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "rank 4, not 3"));
	ck_assert_int_eq(npuc_tensor_refine(g, t, NPUC_DT_I8, -1, NULL, "inferred", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "type f32, not i8"));
	npuc_graph_free(g);
}
END_TEST

/* x -> A -> a -> B -> b -> C -> c, added in the order C, B, A. */
START_TEST(test_toposort)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int x = add_t(g, "x"), ta = add_t(g, "a"), tb = add_t(g, "b"), tc = add_t(g, "c");
	int in2[2] = { x, tb };
	int w = add_t(g, "w");

	g->t[x].flags |= NPUC_T_INPUT;
	g->t[w].flags |= NPUC_T_CONST;	/* flag only: enough for toposort */
	add_n(g, "C", "Relu", tb, tc);
	in2[1] = ta;
	ck_assert_int_eq(npuc_graph_add_node(g, "B", "Add", "", in2, 2, &tb, 1, &d), 1);
	in2[0] = x;
	in2[1] = w;
	ck_assert_int_eq(npuc_graph_add_node(g, "A", "Mul", "", in2, 2, &ta, 1, &d), 2);
	g->outputs = malloc(sizeof(int));
	g->outputs[0] = tc;
	g->n_outputs = 1;
	ck_assert_msg(npuc_graph_toposort(g, &d) == 0, "%s", d.msg);
	ck_assert_str_eq(g->nodes[0].name, "A");
	ck_assert_str_eq(g->nodes[1].name, "B");
	ck_assert_str_eq(g->nodes[2].name, "C");
	ck_assert_int_eq(g->t[ta].producer, 0);
	ck_assert_int_eq(g->t[tb].producer, 1);
	ck_assert_int_eq(g->t[tc].producer, 2);
	/* Sorting a sorted graph keeps it. */
	ck_assert_int_eq(npuc_graph_toposort(g, &d), 0);
	ck_assert_str_eq(g->nodes[2].name, "C");
	npuc_graph_free(g);
}
END_TEST

/* x -> A -> a; B(a, c) -> b; C(b) -> c: B and C form a cycle; D hangs off it. */
START_TEST(test_cycle)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int x = add_t(g, "x"), ta = add_t(g, "a"), tb = add_t(g, "b"), tc = add_t(g, "c");
	int te = add_t(g, "e"), in2[2] = { ta, tc };

	g->t[x].flags |= NPUC_T_INPUT;
	add_n(g, "D", "Relu", tc, te);
	add_n(g, "A", "Relu", x, ta);
	ck_assert_int_eq(npuc_graph_add_node(g, "B", "Add", "", in2, 2, &tb, 1, &d), 2);
	add_n(g, "C", "Relu", tb, tc);
	ck_assert_int_eq(npuc_graph_toposort(g, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "cycle"));
	/* The node named lies on the cycle, not merely behind it (D). */
	ck_assert_msg(strstr(d.msg, "'B'") || strstr(d.msg, "'C'"), "%s", d.msg);
	npuc_graph_free(g);
}
END_TEST

START_TEST(test_self_loop_and_undefined)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int x = add_t(g, "x"), ta = add_t(g, "a"), tu = add_t(g, "u"), tb = add_t(g, "b");

	add_n(g, "S", "Relu", ta, ta);	/* reads its own output */
	ck_assert_int_eq(npuc_graph_toposort(g, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "cycle through node 'S'"));
	npuc_graph_free(g);

	g = npuc_graph_new();
	x = add_t(g, "x");
	tu = add_t(g, "u");
	tb = add_t(g, "b");
	g->t[x].flags |= NPUC_T_INPUT;
	add_n(g, "U", "Relu", tu, tb);	/* u: no producer, not input, not constant */
	ck_assert_int_eq(npuc_graph_toposort(g, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "input 'u' is not produced"));
	npuc_graph_free(g);

	g = npuc_graph_new();
	x = add_t(g, "x");
	tu = add_t(g, "out");
	g->t[x].flags |= NPUC_T_INPUT;
	g->outputs = malloc(sizeof(int));
	g->outputs[0] = tu;
	g->n_outputs = 1;
	ck_assert_int_eq(npuc_graph_toposort(g, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "graph output 'out' is never defined"));
	npuc_graph_free(g);
}
END_TEST

START_TEST(test_empty_graph)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };

	ck_assert_int_eq(npuc_graph_find(g, "x"), -1);
	ck_assert_int_eq(npuc_graph_toposort(g, &d), 0);
	npuc_graph_free(g);
	npuc_graph_free(NULL);
}
END_TEST

/* Attribute constructors copy everything they are given; bad input leaves the node alone. */
START_TEST(test_attr_constructors)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int64_t v[3] = { 4, -5, 6 };
	char s[8] = "SAME";
	const struct npuc_attr *a;
	int n;

	add_t(g, "x");
	add_t(g, "y");
	n = add_n(g, "n", "Conv", 0, 1);
	ck_assert_int_eq(npuc_node_set_int(g, n, "group", -7, &d), 0);
	ck_assert_int_eq(npuc_node_set_float(g, n, "alpha", 0.5f, &d), 0);
	ck_assert_int_eq(npuc_node_set_ints(g, n, "pads", v, 3, &d), 0);
	ck_assert_int_eq(npuc_node_set_ints(g, n, "none", NULL, 0, &d), 0);
	ck_assert_int_eq(npuc_node_set_string(g, n, "auto_pad", s, &d), 0);
	v[0] = 99;
	s[0] = 'X';
	ck_assert_int_eq(npuc_attr_int(&g->nodes[n], "group", 0), -7);
	ck_assert(npuc_attr_float(&g->nodes[n], "alpha", 0.0f) == 0.5f);
	a = npuc_node_attr(&g->nodes[n], "pads");
	ck_assert_ptr_nonnull(a);
	ck_assert_int_eq(a->type, NPUC_ATTR_INTS);
	ck_assert_int_eq(a->n, 3);
	ck_assert(a->ints[0] == 4 && a->ints[1] == -5 && a->ints[2] == 6);
	a = npuc_node_attr(&g->nodes[n], "none");
	ck_assert(a && a->type == NPUC_ATTR_INTS && a->n == 0);
	ck_assert_str_eq(npuc_attr_string(&g->nodes[n], "auto_pad", ""), "SAME");
	/* Duplicates, bad nodes, bad counts and NULLs fail without attaching anything. */
	ck_assert_int_eq(npuc_node_set_int(g, n, "group", 1, &d), -1);
	ck_assert_int_eq(npuc_node_set_float(g, 5, "beta", 1.0f, &d), -1);
	ck_assert_int_eq(npuc_node_set_ints(g, n, "k", v, -1, &d), -1);
	ck_assert_int_eq(npuc_node_set_ints(g, n, "k", NULL, 2, &d), -1);
	ck_assert_int_eq(npuc_node_set_string(g, n, "mode", NULL, &d), -1);
	ck_assert_int_eq(npuc_node_set_int(g, n, NULL, 1, &d), -1);
	ck_assert_int_eq(npuc_node_set_int(g, n, "", 1, &d), -1);
	ck_assert_int_eq(g->nodes[n].n_attrs, 5);
	npuc_graph_free(g);
}
END_TEST

/* set_io replaces the lists and the flags; invalid indices change nothing. */
START_TEST(test_set_io)
{
	struct npuc_graph *g = npuc_graph_new();
	struct npuc_diag d = { { 0 } };
	int a = add_t(g, "a"), b = add_t(g, "b"), c = add_t(g, "c");

	ck_assert_int_eq(npuc_graph_set_io(g, (int[]){ a, b }, 2, &c, 1, &d), 0);
	ck_assert_int_eq(g->n_inputs, 2);
	ck_assert_int_eq(g->n_outputs, 1);
	ck_assert(g->inputs[0] == a && g->inputs[1] == b && g->outputs[0] == c);
	ck_assert_uint_eq(g->t[a].flags, NPUC_T_INPUT);
	ck_assert_uint_eq(g->t[c].flags, NPUC_T_OUTPUT);
	ck_assert_int_eq(npuc_graph_set_io(g, &c, 1, (int[]){ a, 3 }, 2, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "out of range"));
	ck_assert_int_eq(npuc_graph_set_io(g, &c, -1, &a, 1, &d), -1);
	ck_assert_int_eq(npuc_graph_set_io(g, NULL, 1, &a, 1, &d), -1);
	ck_assert_int_eq(g->n_inputs, 2);
	ck_assert_uint_eq(g->t[b].flags, NPUC_T_INPUT);
	/* Replacing: b is no longer an input, a is both. */
	ck_assert_int_eq(npuc_graph_set_io(g, &a, 1, (int[]){ a, c }, 2, &d), 0);
	ck_assert_int_eq(g->n_inputs, 1);
	ck_assert_int_eq(g->n_outputs, 2);
	ck_assert_uint_eq(g->t[a].flags, NPUC_T_INPUT | NPUC_T_OUTPUT);
	ck_assert_uint_eq(g->t[b].flags, 0);
	ck_assert_int_eq(npuc_graph_set_io(g, NULL, 0, NULL, 0, &d), 0);
	ck_assert_int_eq(g->n_inputs + g->n_outputs, 0);
	ck_assert_uint_eq(g->t[a].flags, 0);
	npuc_graph_free(g);
}
END_TEST

Suite *suite_ir(void);
Suite *suite_ir(void)
{
	Suite *s = suite_create("ir");
	TCase *tc = tcase_create("ir");

	tcase_add_test(tc, test_dtypes);
	tcase_add_test(tc, test_tensors_and_lookup);
	tcase_add_test(tc, test_numel_and_data);
	tcase_add_test(tc, test_nodes_and_attrs);
	tcase_add_test(tc, test_refine);
	tcase_add_test(tc, test_toposort);
	tcase_add_test(tc, test_cycle);
	tcase_add_test(tc, test_self_loop_and_undefined);
	tcase_add_test(tc, test_empty_graph);
	tcase_add_test(tc, test_attr_constructors);
	tcase_add_test(tc, test_set_io);
	suite_add_tcase(s, tc);
	return s;
}
