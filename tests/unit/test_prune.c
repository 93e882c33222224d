// SPDX-License-Identifier: MIT
/*
 * Weight pruning (compiler/passes/prune.c): magnitude pruning over all
 * layers or per layer, N:M along the reduction axis of Conv, Gemm (both
 * transB) and MatMul, what stays dense, and option checks.
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

static const float *data(int t)
{
	return g->t[t].data;
}

static int64_t zeros(int t)
{
	int64_t z = 0;

	for (int64_t i = 0; i < npuc_tensor_numel(&g->t[t]); i++)
		z += data(t)[i] == 0.0f;
	return z;
}

/* x -> Conv(w1 [oc, ic, 1, 1]) -> Conv(w2 [oc, oc, 3, 3]); returns w1, w2 via pointers. */
static void two_convs(int ic, int oc, const float *w1v, const float *w2v, int *w1, int *w2)
{
	const int64_t xd[] = { 1, ic, 4, 4 }, w1d[] = { oc, ic, 1, 1 }, w2d[] = { oc, oc, 3, 3 };
	int x = gb_tensor(g, "x", 4, xd), m = gb_tensor(g, "m", -1, NULL);
	int y = gb_tensor(g, "y", -1, NULL), in[2];

	*w1 = gb_const(g, "w1", 4, w1d, w1v);
	*w2 = gb_const(g, "w2", 4, w2d, w2v);
	in[0] = x;
	in[1] = *w1;
	gb_node1(g, "Conv", in, 2, m);
	in[0] = m;
	in[1] = *w2;
	gb_node1(g, "Conv", in, 2, y);
	gb_io(g, &x, 1, &y, 1);
}

/* Global: one threshold, so the small-valued layer loses more; exactly floor(r * n) zero. */
START_TEST(test_magnitude_global_and_per_layer)
{
	float w1v[8], w2v[36];
	struct npuc_prune_opts o = { .ratio = 0.5f };
	struct npuc_prune_stats st;
	int w1, w2;

	for (int i = 0; i < 8; i++)
		w1v[i] = 0.01f * (float)(i + 1) * (i % 2 ? -1.0f : 1.0f);	/* all tiny */
	for (int i = 0; i < 36; i++)
		w2v[i] = (float)(i + 1) * (i % 3 ? 1.0f : -1.0f);		/* 1..36 */
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), 0);
	ck_assert_int_eq(st.layers, 2);
	ck_assert_int_eq(st.weights, 44);
	ck_assert_int_eq(st.zeros_before, 0);
	ck_assert_int_eq(st.zeros_after, 22);
	/* the 22 smallest magnitudes: all 8 of w1, then 1..14 of w2 */
	ck_assert_int_eq(zeros(w1), 8);
	ck_assert_int_eq(zeros(w2), 14);
	for (int i = 0; i < 36; i++)
		ck_assert(i < 14 ? data(w2)[i] == 0.0f : data(w2)[i] == w2v[i]);

	/* Per layer: each keeps its larger half. */
	teardown();
	setup();
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	o.per_layer = 1;
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), 0);
	ck_assert_int_eq(zeros(w1), 4);
	ck_assert_int_eq(zeros(w2), 18);
	for (int i = 0; i < 8; i++)
		ck_assert(i < 4 ? data(w1)[i] == 0.0f : data(w1)[i] == w1v[i]);
}
END_TEST

/* Ties at the threshold are cut in element order; existing zeros count. */
START_TEST(test_magnitude_ties_and_existing_zeros)
{
	float w1v[8] = { 1, -1, 1, -1, 1, -1, 1, -1 }, w2v[36];
	struct npuc_prune_opts o = { .ratio = 0.25f, .per_layer = 1 };
	struct npuc_prune_stats st;
	int w1, w2;

	for (int i = 0; i < 36; i++)
		w2v[i] = i < 20 ? 0.0f : 2.0f;		/* already 55.6 % zero */
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), 0);
	/* w1: two of eight equal magnitudes, the first two */
	ck_assert(data(w1)[0] == 0 && data(w1)[1] == 0 && data(w1)[2] == 1 && data(w1)[7] == -1);
	/* w2: more than 25 % were zero already: nothing else goes */
	ck_assert_int_eq(zeros(w2), 20);
	ck_assert_int_eq(st.zeros_before, 20);
	ck_assert_int_eq(st.zeros_after, 22);
}
END_TEST

/* 2:4 along the Conv's input channels: every group of 4 keeps its 2 largest. */
START_TEST(test_nm_conv_input_channels)
{
	/* w [2, 8, 1, 1]: input channels contiguous for each output channel */
	const float w1v[16] = { 1, -4, 3, 2,  0.5f, 0.5f, -0.5f, 0.25f,
				9, 8, 7, 6,  -1, 5, -5, 1 };
	const float want[16] = { 0, -4, 3, 0,  0.5f, 0.5f, 0, 0,
				 9, 8, 0, 0,  0, 5, -5, 0 };
	float w2v[8 * 8 * 9] = { 0 };
	struct npuc_prune_opts o;
	int w1, w2;

	memset(&o, 0, sizeof(o));
	ck_assert_int_eq(npuc_prune_parse_nm("2:4", &o, &d), 0);
	gb_fill(w2v, 8 * 8 * 9, 7);
	two_convs(8, 2, w1v, w2v, &w1, &w2);
	/* w2 = [2, 2, 3, 3] here: 2 input channels, a group shorter than 4 keeps both */
	ck_assert_int_eq(npuc_prune(g, &o, NULL, NULL, &d), 0);
	for (int i = 0; i < 16; i++)
		ck_assert_msg(data(w1)[i] == want[i], "w1[%d] = %g, expected %g", i, data(w1)[i],
			      want[i]);
	ck_assert_int_eq(zeros(w2), 0);
}
END_TEST

/* Gemm: K is the reduction axis whether B is [K, N] or (transB) [N, K]. */
START_TEST(test_nm_gemm_both_layouts)
{
	const int64_t xd[] = { 1, 4 }, bd[] = { 4, 2 }, btd[] = { 2, 4 };
	/* B [K=4, N=2]: column 0 = 1, 2, 3, 4; column 1 = 4, 3, 2, 1 (stride N along K) */
	const float b[8] = { 1, 4, 2, 3, 3, 2, 4, 1 };
	const float want_b[8] = { 0, 4, 0, 3, 3, 0, 4, 0 };
	/* B^T [N=2, K=4] (transB = 1): K contiguous */
	const float bt[8] = { 1, 2, 3, 4, 4, 3, 2, 1 };
	const float want_bt[8] = { 0, 0, 3, 4, 4, 3, 0, 0 };
	struct npuc_prune_opts o = { .nm_n = 2, .nm_m = 4 };
	int x = gb_tensor(g, "x", 2, xd), y1 = gb_tensor(g, "y1", -1, NULL);
	int y2 = gb_tensor(g, "y2", -1, NULL), in[2], outs[2] = { y1, y2 }, n;
	int tb, tbt;

	tb = gb_const(g, "b", 2, bd, b);
	tbt = gb_const(g, "bt", 2, btd, bt);
	in[0] = x;
	in[1] = tb;
	gb_node1(g, "Gemm", in, 2, y1);
	in[1] = tbt;
	n = gb_node1(g, "Gemm", in, 2, y2);
	gb_attr_i(g, n, "transB", 1);
	gb_io(g, &x, 1, outs, 2);
	ck_assert_int_eq(npuc_prune(g, &o, NULL, NULL, &d), 0);
	ck_assert(!memcmp(data(tb), want_b, sizeof(want_b)));
	ck_assert(!memcmp(data(tbt), want_bt, sizeof(want_bt)));
}
END_TEST

/* A constant used as a weight and as something else stays dense, and is counted. */
START_TEST(test_shared_constant_stays_dense)
{
	const int64_t xd[] = { 1, 4 }, bd[] = { 4, 4 };
	float b[16];
	struct npuc_prune_opts o = { .ratio = 0.5f };
	struct npuc_prune_stats st;
	int x = gb_tensor(g, "x", 2, xd), y = gb_tensor(g, "y", -1, NULL);
	int s = gb_tensor(g, "s", -1, NULL), in[2], outs[2] = { y, s }, tb;

	gb_fill(b, 16, 3);
	tb = gb_const(g, "b", 2, bd, b);
	in[0] = x;
	in[1] = tb;
	gb_node1(g, "MatMul", in, 2, y);
	in[0] = tb;
	gb_node1(g, "Relu", in, 1, s);
	gb_io(g, &x, 1, outs, 2);
	/* nothing prunable: refused by the pipeline, zero layers here */
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), 0);
	ck_assert_int_eq(st.layers, 0);
	ck_assert_int_eq(st.skipped, 1);
	ck_assert(!memcmp(data(tb), b, sizeof(b)));
}
END_TEST

START_TEST(test_options_checked)
{
	struct npuc_prune_opts o = { 0 };

	ck_assert_int_eq(npuc_prune_enabled(&o, &d), 0);
	ck_assert_int_eq(npuc_prune_enabled(NULL, &d), 0);
	o.ratio = 1.0f;
	ck_assert_int_eq(npuc_prune_enabled(&o, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "[0, 1)"));
	o.ratio = NAN;
	ck_assert_int_eq(npuc_prune_enabled(&o, &d), -1);
	o.ratio = 0.0f;
	ck_assert_int_eq(npuc_prune_parse_nm("4:4", &o, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "1 <= N < M <= 64"));
	ck_assert_int_eq(npuc_prune_parse_nm("2:4x", &o, &d), -1);
	ck_assert_int_eq(npuc_prune_parse_nm("24", &o, &d), -1);
	ck_assert_int_eq(npuc_prune_parse_nm("0:4", &o, &d), -1);
	ck_assert_int_eq(npuc_prune_parse_nm("1:65", &o, &d), -1);
	ck_assert_int_eq(npuc_prune_parse_nm("1:8", &o, &d), 0);
	ck_assert_int_eq(npuc_prune_enabled(&o, &d), 1);
}
END_TEST

static float sens_x[4 * 16];

static int sens_sample(void *ctx, int64_t s, struct npuc_value *in, struct npuc_diag *dg)
{
	const int64_t xd[] = { 1, 4, 4, 4 };

	(void)ctx;
	gb_fill(sens_x, 64, 11 + (unsigned int)s);
	return npuc_value_wrap(&in[0], NPUC_DT_F32, 4, xd, sens_x, dg);
}

/* Squared output difference against the dense outputs dense[8][32] over 8 samples. */
static double out_diff(const float (*dense)[32])
{
	struct npuc_value x, y;
	double e = 0;

	for (int s = 0; s < 8; s++) {
		ck_assert_int_eq(sens_sample(NULL, s, &x, &d), 0);
		ck_assert_msg(npuc_ref_run(g, &x, &y, NULL, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(y.numel, 8);
		for (int i = 0; i < 8; i++)
			e += ((double)((const float *)y.data)[i] - dense[s][i]) *
			     ((double)((const float *)y.data)[i] - dense[s][i]);
		npuc_value_free(&y);
	}
	return e;
}

/*
 * Sensitivity: w1 (8 small weights) carries every path, w2 has 18 tiny
 * weights and 18 large ones. Global magnitude takes the tiny ones and half of w1;
 * the analysis sees that w1 matters and takes w2's tiny weights: the same
 * zero count, a much smaller output change.
 */
START_TEST(test_sensitivity_spares_the_sensitive_layer)
{
	float w1v[8], w2v[36], dense[8][32];
	struct npuc_prune_opts o = { .ratio = 0.5f, .sensitivity = 1 };
	struct npuc_prune_data data = { .n_samples = 8, .sample = sens_sample };
	struct npuc_prune_stats st;
	struct npuc_value x, y;
	double e_sens, e_glob;
	int w1, w2;

	for (int i = 0; i < 8; i++)
		w1v[i] = 0.05f + 0.001f * (float)i;
	for (int i = 0; i < 36; i++)
		w2v[i] = i % 2 ? 1e-4f * (float)(i + 1) : 0.5f + 0.01f * (float)i;
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	for (int s = 0; s < 8; s++) {
		ck_assert_int_eq(sens_sample(NULL, s, &x, &d), 0);
		ck_assert_int_eq(npuc_ref_run(g, &x, &y, NULL, &d), 0);
		memcpy(dense[s], y.data, 8 * sizeof(float));
		npuc_value_free(&y);
	}
	ck_assert_int_eq(npuc_prune(g, &o, &data, &st, &d), 0);
	ck_assert_int_eq(st.zeros_after, 22);
	ck_assert_ptr_nonnull(st.layer);
	ck_assert_str_eq(st.layer[0].name, "w1");
	ck_assert(st.layer[0].ratio < st.layer[1].ratio);
	ck_assert_int_ge(zeros(w2), 18);	/* all the tiny ones */
	e_sens = out_diff(dense);
	npuc_prune_stats_free(&st);
	ck_assert_ptr_null(st.layer);

	teardown();
	setup();
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	o.sensitivity = 0;
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), 0);
	ck_assert_int_eq(zeros(w1), 4);		/* magnitude: half of w1 goes */
	e_glob = out_diff(dense);
	ck_assert_msg(e_sens < 0.5 * e_glob, "sensitivity %g, global %g", e_sens, e_glob);

	/* no samples: refused */
	teardown();
	setup();
	two_convs(4, 2, w1v, w2v, &w1, &w2);
	o.sensitivity = 1;
	ck_assert_int_eq(npuc_prune(g, &o, NULL, &st, &d), -1);
	ck_assert(strstr(d.msg, "needs calibration samples"));
}
END_TEST

Suite *suite_prune(void);
Suite *suite_prune(void)
{
	Suite *s = suite_create("prune");
	TCase *tc = tcase_create("weights");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_magnitude_global_and_per_layer);
	tcase_add_test(tc, test_magnitude_ties_and_existing_zeros);
	tcase_add_test(tc, test_nm_conv_input_channels);
	tcase_add_test(tc, test_nm_gemm_both_layouts);
	tcase_add_test(tc, test_shared_constant_stays_dense);
	tcase_add_test(tc, test_options_checked);
	tcase_add_test(tc, test_sensitivity_spares_the_sensitive_layer);
	suite_add_tcase(s, tc);
	return s;
}
