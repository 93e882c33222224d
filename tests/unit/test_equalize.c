// SPDX-License-Identifier: MIT
/*
 * Cross-layer equalisation (compiler/passes/equalize.c): a depthwise ->
 * ReLU -> pointwise pair whose depthwise filters span four orders of
 * magnitude computes the same after it, with each channel's two weight
 * ranges equal; ReLU6 between them (not scale-invariant) leaves it alone.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "util/graph_build.h"
#include "equalize.h"
#include "ref_float.h"
#include "shape_infer.h"

static struct npuc_graph *g;
static struct npuc_diag d;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	npuc_graph_free(g);
}

/* x [1,4,6,6] -> depthwise 3x3 (bias) -> act -> pointwise [3,4,1,1] -> y. */
static void build(const char *act, int *dw, int *pw)
{
	const int64_t xd[] = { 1, 4, 6, 6 }, dd[] = { 4, 1, 3, 3 }, bd[] = { 4 };
	const int64_t pd[] = { 3, 4, 1, 1 }, k3[] = { 3, 3 }, k1[] = { 1, 1 };
	float dwv[36], bv[4] = { 0.1f, -0.2f, 0.3f, 0.05f }, pwv[12];
	int x = gb_tensor(g, "x", 4, xd), a = gb_tensor(g, "a", -1, NULL);
	int r = gb_tensor(g, "r", -1, NULL), y = gb_tensor(g, "y", -1, NULL), in[3], n;

	gb_fill(dwv, 36, 1);
	for (int c = 0; c < 4; c++)		/* ranges 1e-3, 1e-2, 1e-1, 1 */
		for (int i = 0; i < 9; i++)
			dwv[c * 9 + i] *= powf(10.0f, (float)c - 3.0f);
	gb_fill(pwv, 12, 2);
	*dw = gb_const(g, "dw", 4, dd, dwv);
	*pw = gb_const(g, "pw", 4, pd, pwv);
	in[0] = x;
	in[1] = *dw;
	in[2] = gb_const(g, "b", 1, bd, bv);
	n = gb_node1(g, "Conv", in, 3, a);
	gb_attr_i(g, n, "group", 4);
	gb_attr_ints(g, n, "kernel_shape", 2, k3);
	if (!strcmp(act, "Clip")) {
		const int64_t none = 0;
		float lo = 0, hi = 6;
		int cl[3] = { a, gb_const(g, "lo", 0, &none, &lo), gb_const(g, "hi", 0, &none, &hi) };

		gb_node1(g, "Clip", cl, 3, r);
	} else {
		gb_node1(g, act, &a, 1, r);
	}
	in[0] = r;
	in[1] = *pw;
	n = gb_node1(g, "Conv", in, 2, y);
	gb_attr_ints(g, n, "kernel_shape", 2, k1);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
}

static void run(float *out)
{
	const int64_t xd[] = { 1, 4, 6, 6 };
	float xv[144];
	struct npuc_value x, y;

	gb_fill(xv, 144, 3);
	ck_assert_int_eq(npuc_value_wrap(&x, NPUC_DT_F32, 4, xd, xv, &d), 0);
	ck_assert_msg(npuc_ref_run(g, &x, &y, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(y.numel, 48);
	memcpy(out, y.data, 48 * sizeof(float));
	npuc_value_free(&y);
}

static float range(const float *p, int n, int stride)
{
	float m = 0;

	for (int i = 0; i < n; i++)
		m = fmaxf(m, fabsf(p[i * stride]));
	return m;
}

START_TEST(test_depthwise_pointwise_equalised)
{
	struct npuc_equalize_stats st;
	float before[48], after[48];
	const float *wd, *wp;
	int dw, pw;

	build("Relu", &dw, &pw);
	run(before);
	ck_assert_int_eq(npuc_equalize(g, &st, &d), 0);
	ck_assert_int_eq(st.pairs, 1);
	ck_assert_int_ge(st.sweeps, 1);
	run(after);
	for (int i = 0; i < 48; i++)
		ck_assert_msg(fabsf(after[i] - before[i]) <= 1e-5f * (1 + fabsf(before[i])),
			      "output %d: %g, was %g", i, after[i], before[i]);
	wd = g->t[dw].data;
	wp = g->t[pw].data;
	for (int c = 0; c < 4; c++) {
		float r1 = range(wd + c * 9, 9, 1), r2 = range(wp + c, 3, 4);

		ck_assert_msg(fabsf(r1 - r2) <= 1e-5f * r1, "channel %d: %g vs %g", c, r1, r2);
	}
	/* the depthwise filters now span far less than 10^3 */
	ck_assert(range(wd + 27, 9, 1) / range(wd, 9, 1) < 100);
}
END_TEST

START_TEST(test_relu6_left_alone)
{
	struct npuc_equalize_stats st;
	float keep[36];
	int dw, pw;

	build("Clip", &dw, &pw);
	memcpy(keep, g->t[dw].data, sizeof(keep));
	ck_assert_int_eq(npuc_equalize(g, &st, &d), 0);
	ck_assert_int_eq(st.pairs, 0);
	ck_assert_mem_eq(g->t[dw].data, keep, sizeof(keep));
}
END_TEST

Suite *suite_equalize(void);
Suite *suite_equalize(void)
{
	Suite *s = suite_create("equalize");
	TCase *tc = tcase_create("cle");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_depthwise_pointwise_equalised);
	tcase_add_test(tc, test_relu6_left_alone);
	suite_add_tcase(s, tc);
	return s;
}
