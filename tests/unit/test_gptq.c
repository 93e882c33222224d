// SPDX-License-Identifier: MIT
/*
 * GPTQ / SparseGPT (compiler/quantize/gptq.c): the factorisation, and the
 * effect on a 1x1 CONV run by qref over calibration samples: less output
 * error than rounding to nearest when inputs are correlated, exactly
 * rounding to nearest when H is a multiple of I, the pruned model's zeros
 * kept, SparseGPT's zero counts (unstructured and N:M), shared values kept.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "gptq.h"

#define C 8		/* input channels = K */
#define N 4		/* output channels */
#define S 64		/* samples */
#define SX (4.0f / 127)	/* input scale */

static unsigned int rng = 12345;

static double urand(void)	/* [-1, 1), deterministic */
{
	rng = rng * 1103515245u + 12345u;
	return (double)((rng >> 8) & 0xffff) / 32768.0 - 1.0;
}

/* x -> y by one 1x1 CONV with float weights wf (quantised to nearest here). */
static struct npuq_graph *conv_graph(const float *wf)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npuq_conv p;
	int x, y;

	ck_assert_ptr_nonnull(g);
	x = npuq_add_tensor(g, "x", 1, 1, C, SX, 0, 0, &d);
	y = npuq_add_tensor(g, "y", 1, 1, N, 0.05f, 0, 0, &d);
	ck_assert_int_ge(npuq_add_input(g, x, &d), 0);
	memset(&p, 0, sizeof(p));
	p.k_h = p.k_w = p.stride_h = p.stride_w = p.dil_h = p.dil_w = p.groups = 1;
	p.act_min = -128;
	p.act_max = 127;
	p.w = malloc(C * N);
	p.q = calloc(N, sizeof(*p.q));
	p.w_scale = malloc(N * sizeof(float));
	p.w_f = malloc(C * N * sizeof(float));
	ck_assert(p.w && p.q && p.w_scale && p.w_f);
	for (int o = 0; o < N; o++) {
		float m = 0;

		for (int i = 0; i < C; i++)
			m = fmaxf(m, fabsf(wf[o * C + i]));
		p.w_scale[o] = m / 127;
		p.q[o].mult = 1u << 30;
		p.q[o].shift = 0;
		for (int i = 0; i < C; i++)
			p.w[o * C + i] = (int8_t)lrintf(wf[o * C + i] / p.w_scale[o]);
	}
	memcpy(p.w_f, wf, C * N * sizeof(float));
	ck_assert_int_ge(npuq_add_node(g, NPUQ_CONV, "c", &x, 1, &y, 1, &p, &d), 0);
	ck_assert_int_ge(npuq_add_output(g, y, &d), 0);
	return g;
}

/* S samples of C values on the input grid; correlated: channels in pairs of near-equal values. */
static void samples(struct npuc_calib_set *s, int correlated)
{
	int64_t dims[2] = { 1, C };
	struct npuc_diag d = { { 0 } };

	ck_assert_int_eq(npuc_calib_set_init(s, 2, dims, NULL, &d), 0);
	s->data = malloc(S * C * sizeof(float));
	ck_assert_ptr_nonnull(s->data);
	s->n = S;
	for (int k = 0; k < S; k++)
		for (int i = 0; i < C; i++) {
			double v;

			if (!correlated)	/* one-hot: H = (S / C) * I * const */
				v = i == k % C ? 2.0 : 0.0;
			else if (i % 2)
				v = s->data[k * C + i - 1] + 0.05 * urand();
			else
				v = 3.0 * urand();
			s->data[k * C + i] = SX * rintf((float)v / SX);
		}
}

/* Sum over samples of (w_f . x - s q . x)^2 for the layer's current q. */
static double out_error(const struct npuq_graph *g, const struct npuc_calib_set *s)
{
	const struct npuq_conv *p = &g->nodes[0].u.conv;
	double e = 0;

	for (int k = 0; k < S; k++)
		for (int o = 0; o < N; o++) {
			double r = 0;

			for (int i = 0; i < C; i++)
				r += ((double)p->w_f[o * C + i] - (double)p->w_scale[o] *
				      p->w[o * C + i]) * s->data[k * C + i];
			e += r * r;
		}
	return e;
}

static void random_weights(float *wf)
{
	for (int i = 0; i < C * N; i++)
		wf[i] = (float)urand();
}

START_TEST(test_factor)
{
	double b[5][5], h[25], v[25];

	for (int i = 0; i < 5; i++)
		for (int j = 0; j < 5; j++)
			b[i][j] = urand();
	for (int i = 0; i < 5; i++)		/* h = b b^T + I */
		for (int j = 0; j < 5; j++) {
			h[i * 5 + j] = i == j;
			for (int m = 0; m < 5; m++)
				h[i * 5 + j] += b[i][m] * b[j][m];
		}
	memcpy(v, h, sizeof(h));
	ck_assert_int_eq(npuc_gptq_factor(v, 5), 0);
	for (int i = 0; i < 5; i++) {
		ck_assert(v[i * 5 + i] > 0);
		for (int j = 0; j < i; j++)
			ck_assert(v[i * 5 + j] == 0);	/* upper triangular */
	}
	for (int i = 0; i < 5; i++)		/* V V^T = h */
		for (int j = 0; j < 5; j++) {
			double p = 0;

			for (int m = 0; m < 5; m++)
				p += v[i * 5 + m] * v[j * 5 + m];
			ck_assert_double_eq_tol(p, h[i * 5 + j], 1e-9);
		}
	/* not positive definite */
	memset(h, 0, sizeof(h));
	h[0] = -1;
	ck_assert_int_eq(npuc_gptq_factor(h, 5), -1);
}
END_TEST

START_TEST(test_gptq_beats_rounding_on_correlated_inputs)
{
	float wf[C * N];
	struct npuc_calib_set s;
	struct npuc_gptq_opts o = { 0 };
	struct npuc_gptq_stats st;
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;
	double before, after;

	random_weights(wf);
	g = conv_graph(wf);
	samples(&s, 1);
	o.damp = 1e-6;
	before = out_error(g, &s);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, &st, &d), 0);
	after = out_error(g, &s);
	ck_assert_int_eq(st.layers, 1);
	ck_assert_int_eq(st.samples, S);
	ck_assert(st.err_gptq < st.err_rtn);
	/* the measured output error, independently of the stats */
	ck_assert_msg(after < 0.8 * before, "GPTQ %g vs rounding %g", after, before);
	ck_assert_double_eq_tol(st.err_rtn, before, 1e-6 * before);
	ck_assert_double_eq_tol(st.err_gptq, after, 1e-6 * before);
	for (int i = 0; i < C * N; i++)
		ck_assert_int_le(abs(g->nodes[0].u.conv.w[i]), 127);
	npuq_graph_free(g);
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_gptq_is_rounding_when_inputs_independent)
{
	float wf[C * N];
	int8_t rtn[C * N];
	struct npuc_calib_set s;
	struct npuc_gptq_opts o = { 0 };
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;

	random_weights(wf);
	g = conv_graph(wf);
	memcpy(rtn, g->nodes[0].u.conv.w, sizeof(rtn));
	samples(&s, 0);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, NULL, &d), 0);
	ck_assert_mem_eq(g->nodes[0].u.conv.w, rtn, sizeof(rtn));
	npuq_graph_free(g);
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_gptq_keeps_pruned_zeros_and_shared_values)
{
	float wf[C * N];
	struct npuc_calib_set s;
	struct npuc_gptq_opts o = { .shared_grid = 1 };
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;
	struct npuq_conv *p;

	random_weights(wf);
	for (int i = 0; i < C * N; i += 3)
		wf[i] = 0;			/* the pruned model's zeros */
	g = conv_graph(wf);
	p = &g->nodes[0].u.conv;
	for (int i = 0; i < C * N; i++)		/* shared values: multiples of 32 */
		p->w[i] = (int8_t)(32 * (int)lrint(p->w[i] / 32.0));
	samples(&s, 1);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, NULL, &d), 0);
	for (int i = 0; i < C * N; i++) {
		if (i % 3 == 0)
			ck_assert_int_eq(p->w[i], 0);
		ck_assert_int_eq(p->w[i] % 32, 0);
	}
	npuq_graph_free(g);
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_sparsegpt_zero_counts)
{
	float wf[C * N];
	struct npuc_calib_set s;
	struct npuc_gptq_opts o = { .sparsegpt = 1 };
	struct npuc_gptq_stats st;
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;
	const int8_t *w;
	int zeros = 0;

	random_weights(wf);
	for (int i = 0; i < 12; i++)
		wf[i * 2] = 0;			/* 12 zeros: SparseGPT chooses its own 12 */
	g = conv_graph(wf);
	samples(&s, 1);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, &st, &d), 0);
	w = g->nodes[0].u.conv.w;
	for (int i = 0; i < C * N; i++)
		zeros += w[i] == 0;
	ck_assert_int_ge(zeros, 12);
	ck_assert_int_eq(st.zeros, zeros);
	npuq_graph_free(g);

	/* 2:4 along the input channels: at least two zeros in every group of four */
	o.nm_n = 2;
	o.nm_m = 4;
	random_weights(wf);
	g = conv_graph(wf);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, &st, &d), 0);
	w = g->nodes[0].u.conv.w;
	for (int r = 0; r < N; r++)
		for (int j = 0; j < C; j += 4) {
			int z = 0;

			for (int i = j; i < j + 4; i++)
				z += w[r * C + i] == 0;
			ck_assert_int_ge(z, 2);
		}
	npuq_graph_free(g);
	o.nm_n = 4;				/* N:M checked */
	g = conv_graph(wf);
	ck_assert_int_eq(npuc_gptq(g, NULL, &s, 1, &o, &st, &d), -1);
	ck_assert(strstr(d.msg, "N:M"));
	npuq_graph_free(g);
	npuc_calib_set_free(&s);
}
END_TEST

START_TEST(test_gptq_needs_samples)
{
	float wf[C * N];
	struct npuc_gptq_opts o = { 0 };
	struct npuc_diag d = { { 0 } };
	struct npuq_graph *g;

	random_weights(wf);
	g = conv_graph(wf);
	ck_assert_int_eq(npuc_gptq(g, NULL, NULL, 0, &o, NULL, &d), -1);
	ck_assert(strstr(d.msg, "calibration samples"));
	npuq_graph_free(g);
}
END_TEST

Suite *suite_gptq(void);
Suite *suite_gptq(void)
{
	Suite *s = suite_create("gptq");
	TCase *tc = tcase_create("core");

	tcase_add_test(tc, test_factor);
	tcase_add_test(tc, test_gptq_beats_rounding_on_correlated_inputs);
	tcase_add_test(tc, test_gptq_is_rounding_when_inputs_independent);
	tcase_add_test(tc, test_gptq_keeps_pruned_zeros_and_shared_values);
	tcase_add_test(tc, test_sparsegpt_zero_counts);
	tcase_add_test(tc, test_gptq_needs_samples);
	suite_add_tcase(s, tc);
	return s;
}
