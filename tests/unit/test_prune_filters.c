// SPDX-License-Identifier: MIT
/*
 * Filter pruning (compiler/passes/prune_filters.c): the smallest-L1
 * filters go, the graph shrinks (weights, bias, shapes, the reader's
 * inputs), and what the removed channels carried moves into the reader's
 * bias: a model whose removed filters are all zero computes exactly what
 * it computed before, with a Gemm or a Conv reading the channels, with
 * or without samples. Convs whose channels go elsewhere stay whole.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/graph_build.h"
#include "prune.h"
#include "shape_infer.h"

static struct npuc_graph *g;
static struct npuc_diag d;
static float xin[2 * 6 * 6];

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	memset(&d, 0, sizeof(d));
	gb_fill(xin, 2 * 6 * 6, 7);
}

static void teardown(void)
{
	npuc_graph_free(g);
}

/* Conv A weights [4, 2, 3, 3]: filters 1 and 3 zero (L1 0), filter 0 the next smallest. */
static void conv_a_weights(float *w, float *b)
{
	gb_fill(w, 72, 3);
	for (int i = 0; i < 18; i++) {
		w[18 + i] = 0;
		w[54 + i] = 0;
		w[i] *= 0.5f;
	}
	b[0] = 0.5f;
	b[1] = 2.0f;	/* a zero filter still outputs relu(2) = 2 */
	b[2] = -0.25f;
	b[3] = 0.75f;
}

/*
 * x [1,2,6,6] -> Conv A (pad 1, bias) -> Relu -> MaxPool 2x2 -> reader.
 * Reader: Flatten -> Gemm (B [3, 36], transB) or, with conv_reader, Conv B
 * ([2, 4, 3, 3], no pad, no bias). Returns the A weight tensor.
 */
static int build(int conv_reader)
{
	const int64_t xd[] = { 1, 2, 6, 6 }, wd[] = { 4, 2, 3, 3 }, bd[] = { 4 };
	const int64_t gd[] = { 3, 36 }, cd[] = { 3 }, rd[] = { 2, 4, 3, 3 };
	const int64_t k3[] = { 3, 3 }, p1[] = { 1, 1, 1, 1 }, k2[] = { 2, 2 };
	float wa[72], ba[4], gw[108], gc[3], rw[72];
	int x = gb_tensor(g, "x", 4, xd), a = gb_tensor(g, "a", -1, NULL);
	int r = gb_tensor(g, "r", -1, NULL), p = gb_tensor(g, "p", -1, NULL);
	int y = gb_tensor(g, "y", -1, NULL), w, in[3], n;

	conv_a_weights(wa, ba);
	w = gb_const(g, "wa", 4, wd, wa);
	in[0] = x;
	in[1] = w;
	in[2] = gb_const(g, "ba", 1, bd, ba);
	n = gb_node1(g, "Conv", in, 3, a);
	gb_attr_ints(g, n, "kernel_shape", 2, k3);
	gb_attr_ints(g, n, "pads", 4, p1);
	gb_node1(g, "Relu", &a, 1, r);
	n = gb_node1(g, "MaxPool", &r, 1, p);
	gb_attr_ints(g, n, "kernel_shape", 2, k2);
	gb_attr_ints(g, n, "strides", 2, k2);
	if (conv_reader) {
		gb_fill(rw, 72, 5);
		in[0] = p;
		in[1] = gb_const(g, "rw", 4, rd, rw);
		gb_node1(g, "Conv", in, 2, y);
	} else {
		int f = gb_tensor(g, "f", -1, NULL);

		gb_fill(gw, 108, 4);
		gb_fill(gc, 3, 6);
		gb_node1(g, "Flatten", &p, 1, f);
		in[0] = f;
		in[1] = gb_const(g, "gw", 2, gd, gw);
		in[2] = gb_const(g, "gc", 1, cd, gc);
		n = gb_node1(g, "Gemm", in, 3, y);
		gb_attr_i(g, n, "transB", 1);
	}
	gb_io(g, &x, 1, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	return w;
}

static void run(float *out, int n)
{
	const int64_t xd[] = { 1, 2, 6, 6 };
	struct npuc_value xv, yv;

	ck_assert_int_eq(npuc_value_wrap(&xv, NPUC_DT_F32, 4, xd, xin, &d), 0);
	ck_assert_msg(npuc_ref_run(g, &xv, &yv, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(yv.numel, n);
	memcpy(out, yv.data, (size_t)n * sizeof(float));
	npuc_value_free(&yv);
}

static int sample(void *ctx, int64_t s, struct npuc_value *in, struct npuc_diag *dg)
{
	const int64_t xd[] = { 1, 2, 6, 6 };

	(void)ctx;
	(void)s;
	return npuc_value_wrap(&in[0], NPUC_DT_F32, 4, xd, xin, dg);
}

static void check_exact(int conv_reader, int with_data)
{
	struct npuc_prune_data data = { .n_samples = 3, .sample = sample };
	struct npuc_filter_stats st;
	float before[8], after[8];
	int n = conv_reader ? 2 : 3, w = build(conv_reader);
	const float *wa;

	run(before, n);
	ck_assert_msg(npuc_prune_filters(g, 0.5f, with_data ? &data : NULL, &st, &d) == 0, "%s",
		      d.msg);
	ck_assert_int_eq(st.layers, 1);
	ck_assert_int_eq(st.filters, 4);
	ck_assert_int_eq(st.removed, 2);
	ck_assert_int_eq(st.compensated, 1);
	/* filters 0 and 2 stay, in order */
	ck_assert_int_eq(g->t[w].dims[0], 2);
	wa = g->t[w].data;
	for (int i = 0; i < 18; i++)
		ck_assert(wa[i] != 0 && wa[18 + i] != 0);
	ck_assert_float_eq(((const float *)g->t[npuc_graph_find(g, "ba")].data)[1], -0.25f);
	ck_assert_int_eq(g->t[npuc_graph_find(g, "p")].dims[1], 2);
	if (conv_reader) {
		int rw = npuc_graph_find(g, "rw");

		ck_assert_int_eq(g->t[rw].dims[1], 2);
		ck_assert_int_eq(g->nodes[g->n_nodes - 1].n_in, 3);	/* a bias now */
	} else {
		ck_assert_int_eq(g->t[npuc_graph_find(g, "gw")].dims[1], 18);
		ck_assert_int_eq(g->t[npuc_graph_find(g, "f")].dims[1], 18);
	}
	run(after, n);
	for (int i = 0; i < n; i++)
		ck_assert_msg(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])),
			      "output %d: %g, was %g", i, after[i], before[i]);
}

START_TEST(test_gemm_reader_exact)
{
	check_exact(0, 0);
}
END_TEST

START_TEST(test_gemm_reader_exact_with_samples)
{
	check_exact(0, 1);
}
END_TEST

START_TEST(test_conv_reader_exact)
{
	check_exact(1, 1);
}
END_TEST

/* Channels that are a graph output cannot shrink: nothing to prune, the graph untouched. */
START_TEST(test_output_channels_stay)
{
	const int64_t xd[] = { 1, 2, 6, 6 }, wd[] = { 4, 2, 3, 3 };
	float wa[72], ba[4];
	struct npuc_filter_stats st;
	int x = gb_tensor(g, "x", 4, xd), y = gb_tensor(g, "y", -1, NULL), in[2], w;

	conv_a_weights(wa, ba);
	w = gb_const(g, "wa", 4, wd, wa);
	in[0] = x;
	in[1] = w;
	gb_node1(g, "Conv", in, 2, y);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_prune_filters(g, 0.5f, NULL, &st, &d), 0);
	ck_assert_int_eq(st.layers, 0);
	ck_assert_int_eq(st.skipped, 1);
	ck_assert_int_eq(g->t[w].dims[0], 4);
	ck_assert_int_eq(npuc_prune_filters(g, 1.0f, NULL, &st, &d), -1);
	ck_assert(strstr(d.msg, "fraction in (0, 1)"));
}
END_TEST

Suite *suite_prune_filters(void);
Suite *suite_prune_filters(void)
{
	Suite *s = suite_create("prune_filters");
	TCase *tc = tcase_create("filters");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_gemm_reader_exact);
	tcase_add_test(tc, test_gemm_reader_exact_with_samples);
	tcase_add_test(tc, test_conv_reader_exact);
	tcase_add_test(tc, test_output_channels_stay);
	suite_add_tcase(s, tc);
	return s;
}
