// SPDX-License-Identifier: MIT
/*
 * Weight sharing (compiler/quantize/cluster.c): at most K values per CONV
 * layer, zero kept as its own value, few-valued layers untouched, every
 * weight moved to its nearest shared value, K checked.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"

/* One 1x1 CONV of n output channels over 1x1xc, weights w (copied). */
static struct npuq_graph *one_conv(int c, int n, const int8_t *w)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npuq_conv p;
	int x, y;

	ck_assert_ptr_nonnull(g);
	x = npuq_add_tensor(g, "x", 1, 1, c, 0.1f, 0, 0, &d);
	y = npuq_add_tensor(g, "y", 1, 1, n, 0.1f, 0, 0, &d);
	memset(&p, 0, sizeof(p));
	p.k_h = p.k_w = p.stride_h = p.stride_w = p.dil_h = p.dil_w = p.groups = 1;
	p.act_min = -128;
	p.act_max = 127;
	p.w = malloc((size_t)c * n);
	p.q = calloc((size_t)n, sizeof(*p.q));
	ck_assert(p.w && p.q);
	memcpy(p.w, w, (size_t)c * n);
	ck_assert_int_ge(npuq_add_node(g, NPUQ_CONV, "c", &x, 1, &y, 1, &p, &d), 0);
	return g;
}

static int distinct(const int8_t *w, int n, int *has_zero)
{
	int seen[256] = { 0 }, k = 0;

	for (int i = 0; i < n; i++)
		k += !seen[w[i] + 128]++;
	*has_zero = seen[128] > 0;
	return k;
}

START_TEST(test_cluster_to_k_values)
{
	int8_t w[256], before[256];
	struct npuc_cluster_stats st;
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;
	const int8_t *after;
	int z;

	for (int i = 0; i < 256; i++)
		w[i] = (int8_t)(i % 3 == 0 ? 0 : i - 128);	/* 171 values and zeros */
	memcpy(before, w, sizeof(w));
	g = one_conv(16, 16, w);
	ck_assert_int_eq(npuc_cluster_weights(g, 16, &st, &d), 0);
	ck_assert_int_eq(st.layers, 1);
	ck_assert_int_eq(st.weights, 256);
	after = g->nodes[0].u.conv.w;
	ck_assert_int_le(distinct(after, 256, &z), 16);
	ck_assert_int_eq(st.max_values, distinct(after, 256, &z));
	ck_assert(z);
	for (int i = 0; i < 256; i++) {
		if (before[i] == 0)
			ck_assert_int_eq(after[i], 0);	/* pruned weights stay pruned */
		/* 16 centres over [-128, 127]: nobody moves further than half a gap or so */
		ck_assert_int_le(abs(after[i] - before[i]), 16);
	}
	npuq_graph_free(g);
}
END_TEST

START_TEST(test_few_values_unchanged_and_k_checked)
{
	int8_t w[64];
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;

	for (int i = 0; i < 64; i++)
		w[i] = (int8_t)((i % 4) * 10 - 15);	/* 4 values */
	g = one_conv(8, 8, w);
	ck_assert_int_eq(npuc_cluster_weights(g, 4, NULL, &d), 0);
	ck_assert(!memcmp(g->nodes[0].u.conv.w, w, sizeof(w)));
	ck_assert_int_eq(npuc_cluster_weights(g, 1, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "2 to 256"));
	ck_assert_int_eq(npuc_cluster_weights(g, 257, NULL, &d), -1);
	/* k = 2 on -15, -5, 5, 15: centres -10 and 10, each weight at the nearer */
	ck_assert_int_eq(npuc_cluster_weights(g, 2, NULL, &d), 0);
	for (int i = 0; i < 64; i++)
		ck_assert_int_eq(g->nodes[0].u.conv.w[i], w[i] < 0 ? -10 : 10);
	npuq_graph_free(g);
}
END_TEST

Suite *suite_cluster(void);
Suite *suite_cluster(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("kmeans");

	tcase_add_test(tc, test_cluster_to_k_values);
	tcase_add_test(tc, test_few_values_unchanged_and_k_checked);
	suite_add_tcase(s, tc);
	return s;
}
