// SPDX-License-Identifier: MIT
/*
 * Post-training quantisation (compiler/quantize/quantize.c): small float graphs
 * (hand-built with ir.h, or ONNX backend node tests from libonnx-testdata
 * with their weight inputs turned into constants) are calibrated by
 * running the float reference executor on random samples (min/max), then
 * quantised; the qgraph runs in the int8 reference executor (qref) and its
 * dequantised outputs must be within a few output quantisation steps of
 * the float outputs. The qgraph structure and parameters are checked
 * against the documented scheme (Documentation/npu-arithmetic.rst).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "calib_data.h"
#include "calib_observe.h"
#include "ir.h"
#include "util/graph_build.h"
#include "onnx_import.h"
#include "passes.h"
#include "qref.h"
#include "quantize.h"
#include "ref_float.h"
#include "shape_infer.h"
#include "tensor_pb.h"

#define NODE_DIR "/usr/include/onnx/backend/test/data/node"
#define N_CALIB 8

static struct npuc_graph *g;
static struct npuq_graph *q;
static struct npuc_diag d;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	g->opset = 13;
	q = NULL;
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	if (q)
		npuq_graph_free(q);	/* owns g */
	else
		npuc_graph_free(g);
	g = NULL;
	q = NULL;
}

/* ---- graph building ---- */

static unsigned int rng = 1;

static float frand(void)
{
	return gb_frand(&rng);
}

/* A constant of random values in [-amp, amp). */
static int crand(const char *name, int rank, const int64_t *dims, float amp)
{
	int64_t n = 1;
	float *v;
	int t;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	v = malloc(sizeof(float) * (size_t)n + 1);
	for (int64_t i = 0; i < n; i++)
		v[i] = amp * frand();
	t = gb_const(g, name, rank, dims, v);
	free(v);
	return t;
}

/* One-input one-output node creating its output tensor. */
static int op1(const char *op, int x, const char *yname)
{
	int y = gb_tensor(g, yname, -1, NULL);

	gb_node(g, op, &x, 1, &y, 1);
	return y;
}

static int op2(const char *op, int a, int b, const char *yname)
{
	int y = gb_tensor(g, yname, -1, NULL);

	gb_node(g, op, (int[]){ a, b }, 2, &y, 1);
	return y;
}

/* ---- running ---- */

/* QDUMP=1 in the environment prints every quantised graph (debugging aid). */
static void qdump(const struct npuq_graph *qq)
{
	for (int i = 0; i < qq->n_nodes; i++) {
		const struct npuq_node *n = &qq->nodes[i];
		fprintf(stderr, "%2d %-10s %-8s in:", i, npuq_op_name(n->op), n->name);
		for (int k = 0; k < n->n_in; k++) {
			const struct npuq_tensor *t = &qq->t[n->in[k]];
			fprintf(stderr, " %s(%dx%dx%d s%g z%d)", t->name, t->h, t->w, t->c,
				t->scale, (int)t->zp);
		}
		fprintf(stderr, " out:");
		for (int k = 0; k < n->n_out; k++) {
			const struct npuq_tensor *t = &qq->t[n->out[k]];
			fprintf(stderr, " %s(%dx%dx%d s%g z%d)", t->name, t->h, t->w, t->c,
				t->scale, (int)t->zp);
		}
		fprintf(stderr, "\n");
	}
}


#define MAX_IO 4

struct samples {
	int n;				/* samples */
	float *x[N_CALIB + 1][MAX_IO];	/* per sample, per graph input */
};

static void samples_free(struct samples *s)
{
	for (int i = 0; i < s->n; i++)
		for (int j = 0; j < MAX_IO; j++)
			free(s->x[i][j]);
	memset(s, 0, sizeof(*s));
}

/* Random samples in [-amp, amp) for every graph input. */
static void samples_rand(struct samples *s, int n, float amp)
{
	memset(s, 0, sizeof(*s));
	ck_assert_int_le(g->n_inputs, MAX_IO);
	s->n = n;
	for (int i = 0; i < n; i++)
		for (int j = 0; j < g->n_inputs; j++) {
			int64_t ne = npuc_tensor_numel(&g->t[g->inputs[j]]);

			ck_assert_int_gt(ne, 0);
			s->x[i][j] = malloc(sizeof(float) * (size_t)ne);
			for (int64_t k = 0; k < ne; k++)
				s->x[i][j][k] = amp * frand();
		}
}

static void calibrate(const struct samples *s, struct npuc_act_ranges *r)
{
	struct npuc_ref_trace tr = { .observe = npuc_act_ranges_observe, .ctx = r };

	ck_assert_int_eq(npuc_act_ranges_init(r, g->n_t, &d), 0);
	for (int i = 0; i < s->n; i++) {
		float *out[MAX_IO] = { NULL };
		const float *const *x = (const float *const *)s->x[i];

		ck_assert_msg(npuc_ref_float_run(g, x, out, &tr, &d) == 0, "%s", d.msg);
		for (int j = 0; j < g->n_outputs; j++)
			free(out[j]);
	}
}

/* Runs the qgraph on float inputs (ONNX layout); outputs[j] malloc'd floats. */
static void qrun(float *const *x, float **out, int64_t *n_out)
{
	struct npuc_value in[MAX_IO], o[MAX_IO];

	ck_assert_int_eq(q->n_inputs, g->n_inputs);
	for (int j = 0; j < q->n_inputs; j++) {
		const struct npuc_tensor *t = &g->t[g->inputs[j]];

		ck_assert_int_eq(npuc_value_wrap(&in[j], NPUC_DT_F32, t->rank, t->dims, x[j], &d),
				 0);
	}
	ck_assert_msg(npuq_ref_run(q, in, o, NULL, &d) == 0, "%s", d.msg);
	for (int j = 0; j < q->n_outputs; j++) {
		ck_assert_int_eq(o[j].dtype, NPUC_DT_F32);
		out[j] = malloc(sizeof(float) * (size_t)o[j].numel + 1);
		memcpy(out[j], o[j].data, sizeof(float) * (size_t)o[j].numel);
		n_out[j] = o[j].numel;
		npuc_value_free(&o[j]);
	}
}

/*
 * Quantisation step of qgraph output j: the DEQUANTIZE's input scale, or
 * for an output computed on the CPU the step its calibrated range gives.
 */
static float out_step(int j, const struct npuc_act_ranges *r)
{
	int p = q->t[q->outputs[j]].producer, t = g->outputs[j];
	float s;
	int32_t zp;

	if (p >= 0 && q->nodes[p].op == NPUQ_DEQUANTIZE)
		return q->t[q->nodes[p].in[0]].scale;
	ck_assert(r->valid[t]);
	npuc_quant_act_params(r->lo[t], r->hi[t], &s, &zp);
	return s;
}

static int count_qop(enum npuq_op op)
{
	int c = 0;

	for (int i = 0; i < q->n_nodes; i++)
		c += q->nodes[i].op == op;
	return c;
}

static const struct npuq_node *find_qop(enum npuq_op op)
{
	for (int i = 0; i < q->n_nodes; i++)
		if (q->nodes[i].op == op)
			return &q->nodes[i];
	return NULL;
}

static const struct npuq_tensor *qt_in(const struct npuq_node *n, int k)
{
	return &q->t[n->in[k]];
}

static const struct npuq_tensor *qt_out(const struct npuq_node *n)
{
	return &q->t[n->out[0]];
}

/*
 * Infers shapes, calibrates on N_CALIB random samples of amplitude amp,
 * quantises, and checks every output of a further sample against float:
 * |q - f| <= tol output steps (CPU-produced outputs: 1e-4). Returns the
 * worst error seen, in steps.
 */
static double quantize_and_check(float amp, double tol)
{
	struct samples s;
	struct npuc_act_ranges r;
	float *fo[MAX_IO] = { NULL }, *qo[MAX_IO] = { NULL };
	int64_t nq[MAX_IO];
	double worst = 0;

	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	samples_rand(&s, N_CALIB + 1, amp);
	calibrate(&s, &r);
	ck_assert_msg(npuc_ref_float_run(g, (const float *const *)s.x[N_CALIB], fo, NULL, &d) == 0,
		      "%s", d.msg);
	q = npuc_quantize(g, &r, NULL, &d);
	ck_assert_msg(q != NULL, "%s", d.msg);
	ck_assert_ptr_eq(q->src, g);
	if (getenv("QDUMP"))
		qdump(q);
	qrun(s.x[N_CALIB], qo, nq);
	for (int j = 0; j < q->n_outputs; j++) {
		float step = out_step(j, &r);

		ck_assert_int_eq(nq[j], npuc_tensor_numel(&g->t[g->outputs[j]]));
		for (int64_t i = 0; i < nq[j]; i++) {
			double e = fabs((double)qo[j][i] - fo[j][i]);
			double lim = step > 0 ? tol * step : 1e-4 * (1 + fabs(fo[j][i]));

			if (step > 0 && e / step > worst)
				worst = e / step;
			ck_assert_msg(e <= lim, "output %d element %lld: int8 %.6g float %.6g "
				      "(step %g, %.2f steps)", j, (long long)i, qo[j][i], fo[j][i],
				      step, step > 0 ? e / step : 0);
		}
		free(fo[j]);
		free(qo[j]);
	}
	npuc_act_ranges_free(&r);
	samples_free(&s);
	return worst;
}

/* ---- the quantisation scheme ---- */

START_TEST(test_act_params)
{
	float s;
	int32_t zp;

	npuc_quant_act_params(-1.0f, 3.0f, &s, &zp);
	ck_assert_float_eq_tol(s, 4.0f / 255, 1e-9f);
	ck_assert_int_eq(zp, -64);	/* round(-128 + 1 / (4/255)) = round(-64.25) */
	npuc_quant_act_params(0.5f, 6.0f, &s, &zp);	/* widened to contain 0 */
	ck_assert_float_eq_tol(s, 6.0f / 255, 1e-9f);
	ck_assert_int_eq(zp, -128);
	npuc_quant_act_params(-2.0f, -1.0f, &s, &zp);
	ck_assert_float_eq_tol(s, 2.0f / 255, 1e-9f);
	ck_assert_int_eq(zp, 127);
	npuc_quant_act_params(0.0f, 0.0f, &s, &zp);
	ck_assert_float_eq(s, NPUC_QUANT_MIN_SCALE);
	ck_assert_int_eq(zp, -128);
	npuc_quant_act_params(NAN, INFINITY, &s, &zp);
	ck_assert(isfinite(s) && s > 0);
	ck_assert(zp >= -128 && zp <= 127);
}
END_TEST

START_TEST(test_ranges_observe_merge)
{
	struct npuc_act_ranges r;
	float v[4] = { 1.0f, -3.0f, NAN, 2.0f };
	struct npuc_value val = { .dtype = NPUC_DT_F32, .rank = 1, .dims = { 4 }, .numel = 4,
				  .data = v };

	ck_assert_int_eq(npuc_act_ranges_init(&r, 3, &d), 0);
	ck_assert_int_eq(r.valid[1], 0);
	ck_assert_int_eq(npuc_act_ranges_observe(&r, NULL, 0, 1, &val), 0);
	ck_assert_int_eq(r.valid[1], 1);
	ck_assert_float_eq(r.lo[1], -3.0f);
	ck_assert_float_eq(r.hi[1], 2.0f);
	npuc_act_ranges_merge(&r, 1, -1.0f, 5.0f);
	ck_assert_float_eq(r.lo[1], -3.0f);
	ck_assert_float_eq(r.hi[1], 5.0f);
	npuc_act_ranges_merge(&r, 7, -1.0f, 5.0f);	/* out of range: ignored */
	ck_assert_int_eq(r.valid[0] + r.valid[2], 0);
	npuc_act_ranges_free(&r);
}
END_TEST

/* ---- Conv ---- */

struct conv_cfg {
	int c, h, w, oc, k, s, dil, groups;
	int64_t pads[4];
	const char *auto_pad;
};

static int conv_graph(const struct conv_cfg *c, int *conv_node)
{
	const int64_t xd[] = { 1, c->c, c->h, c->w };
	const int64_t wd[] = { c->oc, c->c / c->groups, c->k, c->k };
	const int64_t bd[] = { c->oc };
	int x = gb_tensor(g, "x", 4, xd), y = gb_tensor(g, "y", -1, NULL), n;

	n = gb_node(g, "Conv", (int[]){ x, crand("w", 4, wd, 0.5f), crand("b", 1, bd, 0.2f) },
		    3, &y, 1);
	gb_attr_ints(g, n, "strides", 2, (int64_t[]){ c->s, c->s });
	gb_attr_ints(g, n, "dilations", 2, (int64_t[]){ c->dil, c->dil });
	gb_attr_i(g, n, "group", c->groups);
	if (c->auto_pad)
		gb_attr_s(g, n, "auto_pad", c->auto_pad);
	else
		gb_attr_ints(g, n, "pads", 4, c->pads);
	gb_io(g, &x, 1, &y, 1);
	*conv_node = n;
	return y;
}

/* CONV weights / bias / requantisation against the scheme, recomputed here. */
static void check_conv_params(int conv_node, int k)
{
	const struct npuc_node *fn = &g->nodes[conv_node];
	const struct npuc_tensor *wt = &g->t[fn->in[1]], *bt = &g->t[fn->in[2]];
	const float *w = wt->data, *b = bt->data;
	const struct npuq_node *cn = find_qop(NPUQ_CONV);
	int oc = (int)wt->dims[0], icg = (int)wt->dims[1];
	double s_in, s_out;

	ck_assert_ptr_nonnull(cn);
	s_in = qt_in(cn, 0)->scale;
	s_out = qt_out(cn)->scale;
	ck_assert_int_eq(cn->u.conv.w_zp, 0);
	for (int o = 0; o < oc; o++) {
		double m = 0, ws = cn->u.conv.w_scale[o], real;
		uint32_t mult, shift;

		for (int i = 0; i < icg * k * k; i++)
			m = fmax(m, fabs(w[o * icg * k * k + i]));
		ck_assert_float_eq_tol(ws, m / 127, 1e-7 * m);
		for (int ci = 0; ci < icg; ci++)
			for (int kk = 0; kk < k * k; kk++) {
				double want = round(w[(o * icg + ci) * k * k + kk] / ws);

				int8_t got = cn->u.conv.w[(o * k * k + kk) * icg + ci];

				ck_assert_int_eq(got, (int)want);
			}
		ck_assert_int_eq(cn->u.conv.q[o].bias, (int32_t)round(b[o] / (s_in * ws)));
		real = s_in * ws / s_out;
		ck_assert_int_eq(npuq_quantize_multiplier(real, &mult, &shift), 0);
		ck_assert_uint_eq(cn->u.conv.q[o].mult, mult);
		ck_assert_uint_eq(cn->u.conv.q[o].shift, shift);
	}
}

static void conv_case(const struct conv_cfg *c)
{
	int cn, y;

	y = conv_graph(c, &cn);
	(void)y;
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 1);
	ck_assert_int_eq(q->nodes[0].op, NPUQ_QUANTIZE);
	ck_assert_int_eq(q->nodes[q->n_nodes - 1].op, NPUQ_DEQUANTIZE);
	check_conv_params(cn, c->k);
}

START_TEST(test_conv_strides_pads)
{
	struct conv_cfg c = { .c = 3, .h = 9, .w = 7, .oc = 5, .k = 3, .s = 2, .dil = 1,
			      .groups = 1, .pads = { 1, 0, 2, 1 } };
	const struct npuq_conv *cv;

	conv_case(&c);
	cv = &find_qop(NPUQ_CONV)->u.conv;
	ck_assert_int_eq(cv->pad_top, 1);
	ck_assert_int_eq(cv->pad_left, 0);
	ck_assert_int_eq(cv->pad_bottom, 2);
	ck_assert_int_eq(cv->pad_right, 1);
	ck_assert_int_eq(cv->stride_h, 2);
	ck_assert_int_eq(cv->act_min, -128);
	ck_assert_int_eq(cv->act_max, 127);
}
END_TEST

START_TEST(test_conv_groups_dilation_same)
{
	struct conv_cfg c = { .c = 4, .h = 8, .w = 8, .oc = 6, .k = 3, .s = 1, .dil = 2,
			      .groups = 2, .auto_pad = "SAME_UPPER" };
	const struct npuq_conv *cv;

	conv_case(&c);
	cv = &find_qop(NPUQ_CONV)->u.conv;
	ck_assert_int_eq(cv->groups, 2);
	ck_assert_int_eq(cv->dil_h, 2);
	ck_assert_int_eq(cv->pad_top + cv->pad_bottom, 4);
}
END_TEST

START_TEST(test_conv_depthwise_same_lower)
{
	struct conv_cfg c = { .c = 5, .h = 6, .w = 7, .oc = 5, .k = 4, .s = 2, .dil = 1,
			      .groups = 5, .auto_pad = "SAME_LOWER" };
	const struct npuq_conv *cv;

	conv_case(&c);
	cv = &find_qop(NPUQ_CONV)->u.conv;
	ck_assert_int_eq(cv->groups, 5);
	/* SAME_LOWER puts the odd pad first: 6 rows, stride 2, k 4 -> total 2 (1, 1) */
	ck_assert_int_eq(cv->pad_top, 1);
	ck_assert_int_eq(cv->pad_left, 2);
	ck_assert_int_eq(cv->pad_right, 1);
}
END_TEST

/* Per-tensor weights: one scale for every channel. */
START_TEST(test_conv_per_tensor_option)
{
	struct conv_cfg c = { .c = 2, .h = 5, .w = 5, .oc = 3, .k = 3, .s = 1, .dil = 1,
			      .groups = 1, .pads = { 1, 1, 1, 1 } };
	struct npuq_graph *q2;
	struct npuc_act_ranges r;
	struct npuc_quant_options o;
	struct samples s;
	int cn;
	const struct npuq_node *n;

	conv_graph(&c, &cn);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	samples_rand(&s, 2, 1.0f);
	calibrate(&s, &r);
	npuc_quant_options_default(&o);
	ck_assert_int_eq(o.per_channel, 1);
	o.per_channel = 0;
	q2 = npuc_quantize(g, &r, &o, &d);
	ck_assert_msg(q2 != NULL, "%s", d.msg);
	q = q2;
	n = find_qop(NPUQ_CONV);
	ck_assert_float_eq(n->u.conv.w_scale[0], n->u.conv.w_scale[1]);
	ck_assert_float_eq(n->u.conv.w_scale[1], n->u.conv.w_scale[2]);
	npuc_act_ranges_free(&r);
	samples_free(&s);
}
END_TEST

/* Unsupported geometry stays on the CPU with a reason; the rest stays on the NPU. */
START_TEST(test_conv_limits_cpu_fallback)
{
	const int64_t xd[] = { 1, 2, 40, 40 }, wd[] = { 2, 2, 33, 1 }, w2d[] = { 3, 2, 1, 1 };
	int x = gb_tensor(g, "x", 4, xd), a = gb_tensor(g, "a", -1, NULL);
	int y = gb_tensor(g, "y", -1, NULL), r;
	const struct npuq_node *cpu;
	int ncpu = 0;

	gb_node(g, "Conv", (int[]){ x, crand("w", 4, wd, 0.1f) }, 2, &a, 1);
	r = op1("Relu", a, "r");	/* fused into a CPU Conv: becomes a LUT again */
	gb_node(g, "Conv", (int[]){ r, crand("w2", 4, w2d, 0.5f) }, 2, &y, 1);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_pass_fuse(g, NULL, &d), 0);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[1], NPUC_ATTR_FUSED, 0), 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 1);
	cpu = find_qop(NPUQ_CPU);
	ck_assert_ptr_nonnull(cpu);
	ck_assert_msg(strstr(cpu->u.cpu.reason, "kernel 33x1") != NULL, "%s", cpu->u.cpu.reason);
	ck_assert_str_eq(g->nodes[cpu->u.cpu.src_node].op, "Conv");
	ncpu = count_qop(NPUQ_CPU);
	ck_assert_int_eq(ncpu, 1);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 1);
	/* float input goes straight to the CPU node, its output is quantised for the NPU */
	ck_assert(q->t[cpu->in[0]].flags & NPUQ_T_INPUT);
	ck_assert_int_eq(q->nodes[q->t[find_qop(NPUQ_LUT)->in[0]].producer].op, NPUQ_QUANTIZE);
}
END_TEST

/* ---- Gemm / MatMul ---- */

static void gemm_case(int trans_b, int bias_kind)
{
	const int64_t xd[] = { 3, 10 }, bn[] = { 10, 6 }, bt[] = { 6, 10 }, cd[] = { 6 };
	const int64_t c2[] = { 1, 6 };
	int x = gb_tensor(g, "x", 2, xd), y = gb_tensor(g, "y", -1, NULL), n, in[3];

	in[0] = x;
	in[1] = crand("B", 2, trans_b ? bt : bn, 0.4f);
	if (bias_kind == 1)
		in[2] = crand("C", 1, cd, 0.3f);
	else if (bias_kind == 2)
		in[2] = crand("C", 2, c2, 0.3f);
	else if (bias_kind == 3)
		in[2] = crand("C", 0, NULL, 0.3f);
	n = gb_node(g, "Gemm", in, bias_kind ? 3 : 2, &y, 1);
	gb_attr_i(g, n, "transB", trans_b);
	gb_attr_f(g, n, "alpha", 0.5f);
	gb_attr_f(g, n, "beta", 1.5f);
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 1);
	ck_assert_int_eq(qt_in(find_qop(NPUQ_CONV), 0)->w, 3);	/* rows as pixels */
	ck_assert_int_eq(qt_in(find_qop(NPUQ_CONV), 0)->c, 10);
}

START_TEST(test_gemm_variants)
{
	for (int tb = 0; tb < 2; tb++)
		for (int bk = 0; bk < 4; bk++) {
			gemm_case(tb, bk);
			teardown();
			setup();
		}
}
END_TEST

START_TEST(test_gemm_cpu_cases)
{
	const int64_t xd[] = { 10, 3 }, bd[] = { 10, 6 }, cd[] = { 3, 6 };
	int x = gb_tensor(g, "x", 2, xd), y = gb_tensor(g, "y", -1, NULL), n;

	n = gb_node(g, "Gemm", (int[]){ x, crand("B", 2, bd, 0.4f), crand("C", 2, cd, 0.1f) },
		    3, &y, 1);
	gb_attr_i(g, n, "transA", 1);
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "transA"));
}
END_TEST

/* MatMul with a constant right operand on a rank-3 activation: CONV 1x1 over rows. */
START_TEST(test_matmul_const_rank3)
{
	const int64_t xd[] = { 2, 4, 8 }, bd[] = { 8, 5 };
	int x = gb_tensor(g, "x", 3, xd), y;

	y = op2("MatMul", x, crand("B", 2, bd, 0.5f), "y");
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 1);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(qt_out(find_qop(NPUQ_CONV))->h, 2);
	ck_assert_int_eq(qt_out(find_qop(NPUQ_CONV))->w, 4);
	ck_assert_int_eq(qt_out(find_qop(NPUQ_CONV))->c, 5);
}
END_TEST

START_TEST(test_matmul_two_activations)
{
	const int64_t ad[] = { 2, 3, 6 }, bd[] = { 2, 6, 4 };
	int a = gb_tensor(g, "a", 3, ad), b = gb_tensor(g, "b", 3, bd), y;
	const struct npuq_node *mm;
	uint32_t mult, shift;

	y = op2("MatMul", a, b, "y");
	gb_io(g, (int[]){ a, b }, 2, &y, 1);
	quantize_and_check(1.0f, 2.0);
	mm = find_qop(NPUQ_MATMUL);
	ck_assert_ptr_nonnull(mm);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(npuq_quantize_multiplier((double)qt_in(mm, 0)->scale *
						  qt_in(mm, 1)->scale / qt_out(mm)->scale,
						  &mult, &shift), 0);
	ck_assert_uint_eq(mm->u.matmul.q.mult, mult);
	ck_assert_uint_eq(mm->u.matmul.q.shift, shift);
	ck_assert_int_eq(mm->u.matmul.q.bias, 0);
}
END_TEST

/*
 * The layout rule: Conv (NHWC bytes) -> Flatten -> Gemm uses the NHWC bytes
 * as they are, with the Gemm's weight columns permuted from CHW to HWC.
 */
START_TEST(test_flatten_gemm_permutes_weights)
{
	const int64_t xd[] = { 1, 3, 4, 5 }, wd[] = { 4, 3, 3, 3 }, gd[] = { 7, 80 };
	int x = gb_tensor(g, "x", 4, xd), c, r, f, y, n;
	const struct npuq_node *fc = NULL, *rs;

	c = gb_tensor(g, "c", -1, NULL);
	n = gb_node(g, "Conv", (int[]){ x, crand("w", 4, wd, 0.4f) }, 2, &c, 1);
	gb_attr_ints(g, n, "pads", 4, (int64_t[]){ 1, 1, 1, 1 });
	r = op1("Relu", c, "r");
	f = op1("Flatten", r, "f");
	y = gb_tensor(g, "y", -1, NULL);
	n = gb_node(g, "Gemm", (int[]){ f, crand("G", 2, gd, 0.2f) }, 2, &y, 1);
	gb_attr_i(g, n, "transB", 1);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_passes_run(g, NULL, &d), 0);
	quantize_and_check(1.0f, 2.5);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 2);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 0);	/* the Relu is fused */
	rs = find_qop(NPUQ_RESHAPE);
	ck_assert_ptr_nonnull(rs);
	ck_assert_int_eq(qt_in(rs, 0)->nchw, 1);
	ck_assert_int_eq(qt_out(rs)->c, 80);
	for (int i = 0; i < q->n_nodes; i++)
		if (q->nodes[i].op == NPUQ_CONV && q->nodes[i].in[0] == rs->out[0])
			fc = &q->nodes[i];
	ck_assert_ptr_nonnull(fc);
	/* weight column of NHWC element (y=1, x=2, c=0) is ONNX column c*20 + y*5 + x = 7 */
	{
		const float *gw = g->t[g->nodes[3].in[1]].data;
		int kq = (1 * 5 + 2) * 4 + 0;
		double want = round(gw[0 * 80 + 7] / fc->u.conv.w_scale[0]);

		ck_assert_str_eq(g->nodes[3].op, "Gemm");
		ck_assert_int_eq(fc->u.conv.w[kq], (int)want);
	}
}
END_TEST

/* A Flatten whose result is also a graph output must keep ONNX order: CPU. */
START_TEST(test_flatten_output_cpu)
{
	const int64_t xd[] = { 1, 2, 3, 3 };
	int x = gb_tensor(g, "x", 4, xd), a, f;

	a = op2("Add", x, x, "a");
	f = op1("Flatten", a, "f");
	gb_io(g, &x, 1, &f, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "byte order"));
}
END_TEST

/* ---- ELTWISE ---- */

static void check_add_params(const struct npuq_node *n)
{
	double sa = qt_in(n, 0)->scale;
	double sb = n->u.eltwise.b_const ? n->u.eltwise.b_scale : qt_in(n, 1)->scale;
	double so = qt_out(n)->scale, tm = 2 * fmax(sa, sb);
	uint32_t m, s;

	ck_assert_int_eq(npuq_quantize_multiplier(sa / tm, &m, &s), 0);
	ck_assert_uint_eq(n->u.eltwise.a_mult, m);
	ck_assert_uint_eq(n->u.eltwise.a_shift, s);
	ck_assert_int_eq(npuq_quantize_multiplier(sb / tm, &m, &s), 0);
	ck_assert_uint_eq(n->u.eltwise.b_mult, m);
	ck_assert_uint_eq(n->u.eltwise.b_shift, s);
	ck_assert_int_eq(npuq_quantize_multiplier(tm / (1048576.0 * so), &m, &s), 0);
	ck_assert_uint_eq(n->u.eltwise.out_mult, m);
	ck_assert_uint_eq(n->u.eltwise.out_shift, s);
}

START_TEST(test_eltwise_two_activations)
{
	const int64_t xd[] = { 1, 3, 4, 4 }, cd[] = { 1, 3, 1, 1 };
	int a = gb_tensor(g, "a", 4, xd), b = gb_tensor(g, "b", 4, xd);
	int c = gb_tensor(g, "c", 4, cd);
	int s, m, u, v;
	const struct npuq_node *n;

	s = op2("Add", a, b, "s");
	m = op2("Mul", s, b, "m");
	u = op2("Sub", m, c, "u");	/* per-channel activation broadcast */
	v = op2("Add", c, u, "v");	/* broadcast operand first: swapped */
	gb_io(g, (int[]){ a, b, c }, 3, &v, 1);
	quantize_and_check(1.0f, 2.5);
	ck_assert_int_eq(count_qop(NPUQ_ELTWISE), 4);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	n = find_qop(NPUQ_ELTWISE);
	ck_assert_int_eq(n->u.eltwise.op, NPU_ELT_ADD);
	ck_assert_int_eq(n->u.eltwise.bcast, NPU_BCAST_NONE);
	check_add_params(n);
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *e = &q->nodes[i];

		if (e->op != NPUQ_ELTWISE)
			continue;
		if (e->u.eltwise.op == NPU_ELT_SUB)
			ck_assert_int_eq(e->u.eltwise.bcast, NPU_BCAST_CHANNEL);
		if (e->u.eltwise.op == NPU_ELT_MUL) {
			uint32_t mm, ss;

			ck_assert_int_eq(npuq_quantize_multiplier((double)qt_in(e, 0)->scale *
								  qt_in(e, 1)->scale /
								  qt_out(e)->scale, &mm, &ss), 0);
			ck_assert_uint_eq(e->u.eltwise.out_mult, mm);
		}
	}
}
END_TEST

START_TEST(test_eltwise_constants)
{
	const int64_t xd[] = { 1, 3, 2, 4 }, cd[] = { 3, 1, 1 }, full[] = { 1, 3, 2, 4 };
	float sc = 0.75f, dv = 4.0f;
	int x = gb_tensor(g, "x", 4, xd), a, m, s, dd, f, sb;
	int nconst = 0;

	a = op2("Add", x, crand("pc", 3, cd, 1.0f), "a");		/* per channel */
	m = op2("Mul", gb_const(g, "k", 0, NULL, &sc), a, "m");		/* scalar, swapped */
	s = op2("Sub", m, crand("full", 4, full, 1.0f), "s");	/* full, NCHW -> NHWC */
	dd = op2("Div", s, gb_const(g, "dv", 0, NULL, &dv), "dd");		/* Mul by 1/4 */
	sb = op2("Sub", gb_const(g, "k2", 0, NULL, &sc), dd, "sb");	/* const - x: LUT */
	f = sb;
	gb_io(g, &x, 1, &f, 1);
	quantize_and_check(1.0f, 2.5);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_int_eq(count_qop(NPUQ_ELTWISE), 4);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 1);
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *e = &q->nodes[i];

		if (e->op != NPUQ_ELTWISE)
			continue;
		ck_assert_ptr_nonnull(e->u.eltwise.b_const);
		ck_assert_int_eq(e->n_in, 1);
		nconst++;
		if (e->u.eltwise.op == NPU_ELT_ADD) {
			ck_assert_int_eq(e->u.eltwise.bcast, NPU_BCAST_CHANNEL);
			check_add_params(e);
		}
		if (e->u.eltwise.op == NPU_ELT_SUB)
			ck_assert_int_eq(e->u.eltwise.bcast, NPU_BCAST_NONE);
	}
	ck_assert_int_eq(nconst, 4);
}
END_TEST

START_TEST(test_eltwise_unsupported_broadcast)
{
	const int64_t ad[] = { 1, 3, 1, 4 }, bd[] = { 1, 1, 5, 1 };
	int a = gb_tensor(g, "a", 4, ad), b = gb_tensor(g, "b", 4, bd), y;

	y = op2("Add", a, b, "y");
	gb_io(g, (int[]){ a, b }, 2, &y, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "broadcast"));
}
END_TEST

/* ---- POOL ---- */

static int pool_node(const char *op, int x, const int64_t *k, const int64_t *s,
		     const int64_t *pads, int ceil, int count_pad, const char *yname)
{
	int y = gb_tensor(g, yname, -1, NULL), n = gb_node(g, op, &x, 1, &y, 1);

	gb_attr_ints(g, n, "kernel_shape", 2, k);
	gb_attr_ints(g, n, "strides", 2, s);
	gb_attr_ints(g, n, "pads", 4, pads);
	if (ceil)
		gb_attr_i(g, n, "ceil_mode", 1);
	if (count_pad)
		gb_attr_i(g, n, "count_include_pad", 1);
	return y;
}

START_TEST(test_pools)
{
	const int64_t xd[] = { 1, 4, 9, 8 };
	int x = gb_tensor(g, "x", 4, xd), mp, ap, ac, gp, out[4];
	const struct npuq_node *n;

	mp = pool_node("MaxPool", x, (int64_t[]){ 3, 3 }, (int64_t[]){ 2, 2 },
		       (int64_t[]){ 1, 1, 0, 0 }, 1, 0, "mp");
	ap = pool_node("AveragePool", x, (int64_t[]){ 2, 3 }, (int64_t[]){ 2, 1 },
		       (int64_t[]){ 0, 1, 1, 1 }, 0, 0, "ap");
	ac = pool_node("AveragePool", x, (int64_t[]){ 3, 3 }, (int64_t[]){ 1, 1 },
		       (int64_t[]){ 1, 1, 1, 1 }, 0, 1, "ac");
	gp = op1("GlobalAveragePool", x, "gp");
	out[0] = mp;
	out[1] = ap;
	out[2] = ac;
	out[3] = gp;
	gb_io(g, &x, 1, out, 4);
	quantize_and_check(1.0f, 1.5);
	ck_assert_int_eq(count_qop(NPUQ_POOL), 4);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	for (int i = 0; i < q->n_nodes; i++) {
		n = &q->nodes[i];
		if (n->op != NPUQ_POOL)
			continue;
		if (n->u.pool.mode == NPU_POOL_MAX) {
			/* max pooling keeps the input quantisation: exact */
			ck_assert_float_eq(qt_in(n, 0)->scale, qt_out(n)->scale);
			ck_assert_int_eq(qt_in(n, 0)->zp, qt_out(n)->zp);
			ck_assert_uint_eq(n->u.pool.mult, 1);
			ck_assert_uint_eq(n->u.pool.shift, 0);
			/* ceil_mode: 9 rows, k 3, s 2, pad 1 -> 5 rows: the end pad grows to 1 */
			ck_assert_int_eq(qt_out(n)->h, 5);
			ck_assert_int_eq(n->u.pool.pad_bottom, 1);
		} else if (n->u.pool.k_h == 9) {
			ck_assert_int_eq(n->u.pool.k_w, 8);
			ck_assert_int_eq(qt_out(n)->h * qt_out(n)->w, 1);
		} else if (n->u.pool.count_pad) {
			ck_assert_int_eq(n->u.pool.k_h, 3);
		}
		if (n->u.pool.mode == NPU_POOL_AVG) {
			double r = (double)n->u.pool.mult / ldexp(1.0, (int)n->u.pool.shift);

			ck_assert_double_eq_tol(r, qt_in(n, 0)->scale / qt_out(n)->scale, 1e-6 * r);
		}
	}
}
END_TEST

START_TEST(test_pool_cpu_cases)
{
	const int64_t xd[] = { 1, 2, 6, 6 };
	int x = gb_tensor(g, "x", 4, xd), mp, n, y;

	mp = gb_tensor(g, "mp", -1, NULL);
	n = gb_node(g, "MaxPool", &x, 1, &mp, 1);
	gb_attr_ints(g, n, "kernel_shape", 2, (int64_t[]){ 2, 2 });
	gb_attr_ints(g, n, "dilations", 2, (int64_t[]){ 2, 2 });
	y = op2("Add", mp, mp, "y");
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "dilations"));
}
END_TEST

/* ---- LUT ---- */

START_TEST(test_lut_functions)
{
	const int64_t xd[] = { 1, 3, 4, 4 };
	int x = gb_tensor(g, "x", 4, xd), s, t, l, h, r, n;

	s = op1("Sigmoid", x, "s");
	t = op1("Tanh", s, "t");
	l = gb_tensor(g, "l", -1, NULL);
	n = gb_node(g, "LeakyRelu", &t, 1, &l, 1);
	gb_attr_f(g, n, "alpha", 0.2f);
	h = op1("HardSwish", l, "h");
	r = op1("Relu", x, "r");	/* standalone (graph input): LUT */
	gb_io(g, &x, 1, (int[]){ h, r }, 2);
	quantize_and_check(3.0f, 1.5);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 5);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	ck_assert_str_eq(find_qop(NPUQ_LUT)->u.lut.fn, "Sigmoid");
	/* the Relu table: inputs at or below the zero point map to the output's zero */
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *lt = &q->nodes[i];

		if (lt->op != NPUQ_LUT || strcmp(lt->u.lut.fn, "Relu"))
			continue;
		for (int k = 0; k <= qt_in(lt, 0)->zp + 128; k++)
			ck_assert_int_eq(lt->u.lut.table[k], qt_out(lt)->zp);
	}
}
END_TEST


/*
 * x * Sigmoid(x) (SiLU) and x * HardSigmoid(x) (hard-swish, opset 13):
 * one LUT of the whole function each, no separate gate or multiply; the
 * table is the function rounded once. A gate with another use stays apart.
 */
START_TEST(test_gated_activation_one_lut)
{
	const int64_t xd[] = { 1, 3, 4, 4 };
	int x = gb_tensor(g, "x", 4, xd), s, y, h, z, s2, u, v;

	s = op1("Sigmoid", x, "s");
	y = op2("Mul", x, s, "y");		/* SiLU */
	h = op1("HardSigmoid", y, "h");
	z = op2("Mul", h, y, "z");		/* hard-swish, operands swapped */
	s2 = op1("Sigmoid", z, "s2");
	u = op2("Mul", z, s2, "u");
	v = op1("Tanh", s2, "v");		/* s2 has a second use: not fused */
	gb_io(g, &x, 1, (int[]){ u, v }, 2);
	quantize_and_check(4.0f, 1.5);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 4);	/* x*Sigmoid, x*HardSigmoid, Sigmoid, Tanh */
	ck_assert_int_eq(count_qop(NPUQ_ELTWISE), 1);	/* the unfused z * s2 */
	ck_assert_str_eq(find_qop(NPUQ_LUT)->u.lut.fn, "x*Sigmoid");
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *lt = &q->nodes[i];
		const struct npuq_tensor *ti = qt_in(lt, 0), *to = qt_out(lt);

		if (lt->op != NPUQ_LUT || strcmp(lt->u.lut.fn, "x*Sigmoid"))
			continue;
		for (int k = 0; k < 256; k++) {
			double xv = (double)ti->scale * ((k - 128) - ti->zp);
			double yv = xv / (1 + exp(-xv)), e = round(yv / to->scale) + to->zp;

			e = e < -128 ? -128 : e > 127 ? 127 : e;
			ck_assert_msg(abs(lt->u.lut.table[k] - (int)e) <= 1, "entry %d: %d vs %g", k,
				      lt->u.lut.table[k], e);
		}
	}
}
END_TEST

/* ---- fusion ---- */

START_TEST(test_fused_relu_relu6)
{
	const int64_t xd[] = { 1, 2, 5, 5 }, wd[] = { 3, 2, 3, 3 }, w2d[] = { 4, 3, 1, 1 };
	float lo = 0.0f, hi = 6.0f;
	int x = gb_tensor(g, "x", 4, xd), c1, r1, c2, r2;
	int nfused = 0;

	c1 = op2("Conv", x, crand("w", 4, wd, 0.6f), "c1");
	r1 = op1("Relu", c1, "r1");
	c2 = op2("Conv", r1, crand("w2", 4, w2d, 2.0f), "c2");
	r2 = gb_tensor(g, "r2", -1, NULL);
	gb_node(g, "Clip", (int[]){ c2, gb_const(g, "lo", 0, NULL, &lo),
				    gb_const(g, "hi", 0, NULL, &hi) }, 3, &r2, 1);
	gb_io(g, &x, 1, &r2, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_pass_fuse(g, NULL, &d), 0);
	quantize_and_check(2.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 2);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 0);
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *cv = &q->nodes[i];
		const struct npuq_tensor *y;

		if (cv->op != NPUQ_CONV)
			continue;
		y = qt_out(cv);
		nfused++;
		ck_assert_int_eq(cv->u.conv.act_min, y->zp);
		if (!strcmp(y->name, "r2:q")) {
			int want = (int)round(6.0 / y->scale) + y->zp;

			ck_assert_int_eq(cv->u.conv.act_max, want > 127 ? 127 : want);
		} else {
			ck_assert_str_eq(y->name, "r1");
			ck_assert_int_eq(cv->u.conv.act_max, 127);
		}
	}
	ck_assert_int_eq(nfused, 2);
}
END_TEST

/* ---- Concat, reshape-like ops ---- */

START_TEST(test_concat_shares_quantisation)
{
	const int64_t xd[] = { 1, 2, 4, 4 }, w1[] = { 3, 2, 1, 1 }, w2[] = { 2, 2, 1, 1 };
	int x = gb_tensor(g, "x", 4, xd), a, b, c, n;
	const struct npuq_node *cc;

	a = op2("Conv", x, crand("w1", 4, w1, 0.5f), "a");
	b = op2("Conv", x, crand("w2", 4, w2, 3.0f), "b");
	c = gb_tensor(g, "c", -1, NULL);
	n = gb_node(g, "Concat", (int[]){ a, b, x }, 3, &c, 1);
	gb_attr_i(g, n, "axis", 1);
	gb_io(g, &x, 1, &c, 1);
	quantize_and_check(1.0f, 2.0);
	cc = find_qop(NPUQ_CONCAT);
	ck_assert_ptr_nonnull(cc);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 0);
	/* the convs produce the Concat's quantisation; the graph input is requantised */
	for (int k = 0; k < 2; k++) {
		ck_assert_float_eq(qt_in(cc, k)->scale, qt_out(cc)->scale);
		ck_assert_int_eq(qt_in(cc, k)->zp, qt_out(cc)->zp);
	}
	ck_assert_int_eq(qt_out(cc)->c, 7);
}
END_TEST

START_TEST(test_concat_other_axis_cpu)
{
	const int64_t xd[] = { 1, 2, 3, 4 };
	int x = gb_tensor(g, "x", 4, xd), a, c, n;

	a = op2("Add", x, x, "a");
	c = gb_tensor(g, "c", -1, NULL);
	n = gb_node(g, "Concat", (int[]){ a, x }, 2, &c, 1);
	gb_attr_i(g, n, "axis", 2);
	gb_io(g, &x, 1, &c, 1);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "axis 2"));
}
END_TEST

START_TEST(test_reshape_like)
{
	const int64_t xd[] = { 1, 6, 1, 1 }, shp[] = { 2, 3 }, sd[] = { 2 };
	const int64_t yd[] = { 1, 2, 3, 4 };
	int x = gb_tensor(g, "x", 4, xd), y4 = gb_tensor(g, "y4", 4, yd), a, sq, r, t, b, n, tr;
	const int64_t perm[] = { 0, 2, 3, 1 }, cd[] = { 1, 4, 1, 1 };
	int ct = gb_tensor(g, "ct", 4, cd), ca, ctr;

	a = op2("Add", x, x, "a");
	sq = gb_tensor(g, "sq", -1, NULL);
	n = gb_node(g, "Squeeze", (int[]){ a, gb_const_t(g, "ax", NPUC_DT_I64, 1, (int64_t[]){ 2 },
							  (int64_t[]){ 2, 3 }) }, 2, &sq, 1);
	/* [2, 3] */
	r = op2("Reshape", sq, gb_const_t(g, "shp", NPUC_DT_I64, 1, sd, shp), "r");
	t = op2("Add", r, r, "t");
	b = op2("Add", y4, y4, "b");
	tr = gb_tensor(g, "tr", -1, NULL);
	n = gb_node(g, "Transpose", &b, 1, &tr, 1);	/* moves data: CPU */
	gb_attr_ints(g, n, "perm", 4, perm);
	ca = op2("Add", ct, ct, "ca");
	ctr = gb_tensor(g, "ctr", -1, NULL);
	/* (1,4,1,1) -> (1,1,1,4): same bytes */
	n = gb_node(g, "Transpose", &ca, 1, &ctr, 1);
	gb_attr_ints(g, n, "perm", 4, perm);
	gb_io(g, (int[]){ x, y4, ct }, 3, (int[]){ t, tr, ctr }, 3);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_RESHAPE), 3);
	ck_assert_int_eq(count_qop(NPUQ_CPU), 1);
	ck_assert_ptr_nonnull(strstr(find_qop(NPUQ_CPU)->u.cpu.reason, "Transpose"));
}
END_TEST

/* ---- CPU fallback and the graph boundary ---- */

START_TEST(test_softmax_cpu_island)
{
	const int64_t xd[] = { 1, 3, 2, 2 }, wd[] = { 4, 3, 1, 1 }, w2d[] = { 2, 4, 1, 1 };
	int x = gb_tensor(g, "x", 4, xd), c, s, y, n;
	const struct npuq_node *cpu;

	c = op2("Conv", x, crand("w", 4, wd, 1.0f), "c");
	s = gb_tensor(g, "s", -1, NULL);
	n = gb_node(g, "Softmax", &c, 1, &s, 1);
	gb_attr_i(g, n, "axis", 1);
	y = op2("Conv", s, crand("w2", 4, w2d, 1.0f), "y");
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 2.5);
	cpu = find_qop(NPUQ_CPU);
	ck_assert_ptr_nonnull(cpu);
	ck_assert_str_eq(cpu->u.cpu.reason, "no NPU mapping for Softmax");
	ck_assert_int_eq(q->nodes[q->t[cpu->in[0]].producer].op, NPUQ_DEQUANTIZE);
	ck_assert(q->t[cpu->out[0]].flags & NPUQ_T_FLOAT);
	ck_assert_int_eq(q->t[cpu->out[0]].nchw, 1);
	ck_assert_int_eq(count_qop(NPUQ_QUANTIZE), 2);
	ck_assert_int_eq(count_qop(NPUQ_DEQUANTIZE), 2);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 2);
}
END_TEST

START_TEST(test_boundary)
{
	const int64_t xd[] = { 1, 3, 4, 5 };
	int x = gb_tensor(g, "x", 4, xd), y;
	const struct npuq_tensor *qi, *qo;

	y = op1("Sigmoid", x, "y");
	gb_io(g, &x, 1, &y, 1);
	quantize_and_check(1.0f, 1.5);
	ck_assert_int_eq(q->n_inputs, 1);
	ck_assert_int_eq(q->n_outputs, 1);
	qi = &q->t[q->inputs[0]];
	qo = &q->t[q->outputs[0]];
	ck_assert_str_eq(qi->name, "x");
	ck_assert_str_eq(qo->name, "y");
	ck_assert(qi->flags & NPUQ_T_FLOAT);
	ck_assert(qo->flags & NPUQ_T_FLOAT);
	ck_assert_int_eq(qi->nchw, 1);
	ck_assert_int_eq(qi->onnx_rank, 4);
	ck_assert_int_eq(qi->onnx_dims[1], 3);
	ck_assert_int_eq(qi->h, 4);
	ck_assert_int_eq(qi->w, 5);
	ck_assert_int_eq(qi->c, 3);
	ck_assert_int_eq(qo->nchw, 1);
	ck_assert_int_eq(q->nodes[0].op, NPUQ_QUANTIZE);
	ck_assert_str_eq(qt_out(&q->nodes[0])->name, "x:q");
	ck_assert_int_eq(q->nodes[q->n_nodes - 1].op, NPUQ_DEQUANTIZE);
	ck_assert_str_eq(q->t[q->nodes[q->n_nodes - 1].in[0]].name, "y:q");
}
END_TEST

/* Shapes filled in by a float run: no shape inference at all. */
START_TEST(test_refine_shapes_by_run)
{
	const int64_t xd[] = { 1, 2, 3, 3 }, wd[] = { 3, 2, 1, 1 };
	int x = gb_tensor(g, "x", 4, xd), c, s;
	struct npuc_value in;
	float xv[18] = { 0 };

	c = op2("Conv", x, crand("w", 4, wd, 1.0f), "c");
	s = op1("Sigmoid", c, "s");
	gb_io(g, &x, 1, &s, 1);
	ck_assert_int_eq(g->t[c].rank, -1);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 4, xd, xv, &d), 0);
	ck_assert_msg(npuc_refine_shapes_by_run(g, &in, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(g->t[c].rank, 4);
	ck_assert_int_eq(g->t[s].dims[1], 3);
	ck_assert_int_eq(g->t[s].dtype, NPUC_DT_F32);
	quantize_and_check(1.0f, 2.0);
	ck_assert_int_eq(count_qop(NPUQ_CONV), 1);
	ck_assert_int_eq(count_qop(NPUQ_LUT), 1);
}
END_TEST

/* NaN / Inf weights are refused by name; a tensor calibration saw only as NaN / Inf too. */
START_TEST(test_nonfinite_weights_and_ranges)
{
	const int64_t xd[] = { 1, 2, 3, 3 }, wd[] = { 2, 2, 1, 1 }, one = 1;
	const float big = 1e30f;
	int x = gb_tensor(g, "x", 4, xd), w = crand("w", 4, wd, 1.0f), y, c, a;
	struct npuc_act_ranges r;
	struct npuc_calib_set set;
	struct npuc_calib_cfg cfg = { .method = NPUC_CALIB_MINMAX };

	((float *)g->t[w].data)[3] = NAN;
	y = op2("Conv", x, w, "y");
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_act_ranges_init(&r, g->n_t, &d), 0);
	npuc_act_ranges_merge(&r, x, -1.0f, 1.0f);
	npuc_act_ranges_merge(&r, y, -2.0f, 2.0f);
	ck_assert_ptr_null(npuc_quantize(g, &r, NULL, &d));
	ck_assert_msg(strstr(d.msg, "Conv node 'n0'") &&
		      strstr(d.msg, "1 of its 4 weights are NaN and 0 infinite"), "%s", d.msg);
	((float *)g->t[w].data)[3] = -INFINITY;
	ck_assert_ptr_null(npuc_quantize(g, &r, NULL, &d));
	ck_assert_msg(strstr(d.msg, "0 of its 4 weights are NaN and 1 infinite"), "%s", d.msg);
	npuc_act_ranges_free(&r);

	/* x * 1e30 * 1e30: every value of the second product is infinite. */
	npuc_graph_free(g);
	setup();
	x = gb_tensor(g, "x", 4, xd);
	c = gb_const(g, "c", 1, &one, &big);
	a = op2("Mul", x, c, "a");
	y = op2("Mul", a, c, "y");
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_calib_set_init_input(&set, g, 0, NULL, &d), 0);
	ck_assert_int_eq(npuc_calib_add_random(&set, 2, 1, 0.5f, 1.0f, &d), 2);
	ck_assert_int_eq(npuc_act_ranges_init(&r, g->n_t, &d), 0);
	ck_assert_msg(npuc_calibrate(g, &set, 1, &cfg, &r, &d) == 0, "%s", d.msg);
	ck_assert(r.valid[a] && !r.valid[y]);
	ck_assert_int_eq(r.nonfinite[y], 2 * 18);
	ck_assert_ptr_null(npuc_quantize(g, &r, NULL, &d));
	ck_assert_msg(strstr(d.msg, "tensor 'y' (output of Mul node 'n1')") &&
		      strstr(d.msg, "only NaN or Inf") && strstr(d.msg, "(36 values)"), "%s", d.msg);
	npuc_act_ranges_free(&r);
	npuc_calib_set_free(&set);
}
END_TEST

START_TEST(test_errors_and_bias_hook)
{
	const int64_t xd[] = { 1, 2, 3, 3 }, wd[] = { 2, 2, 1, 1 };
	int x = gb_tensor(g, "x", 4, xd), y;
	struct npuc_act_ranges r;
	struct npuq_graph *q2;
	const struct npuq_node *cv;
	int32_t b0;
	double err[2] = { 0.0, 0.0 };

	y = op2("Conv", x, crand("w", 4, wd, 1.0f), "y");
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	ck_assert_int_eq(npuc_act_ranges_init(&r, g->n_t, &d), 0);
	npuc_act_ranges_merge(&r, x, -1.0f, 1.0f);
	/* no range for y: fails, the caller keeps g */
	ck_assert_ptr_null(npuc_quantize(g, &r, NULL, &d));
	ck_assert_msg(strstr(d.msg, "no calibration range for tensor 'y'") != NULL, "%s", d.msg);
	npuc_act_ranges_merge(&r, y, -2.0f, 2.0f);
	q2 = npuc_quantize(g, &r, NULL, &d);
	ck_assert_msg(q2 != NULL, "%s", d.msg);
	q = q2;
	cv = find_qop(NPUQ_CONV);
	b0 = cv->u.conv.q[0].bias;
	err[0] = 3.0 * qt_in(cv, 0)->scale * cv->u.conv.w_scale[0];
	ck_assert_int_eq(npuc_quant_bias_correct(q, (int)(cv - q->nodes), err, &d), 0);
	ck_assert_int_eq(cv->u.conv.q[0].bias, b0 + 3);
	ck_assert_int_eq(npuc_quant_bias_correct(q, 0, err, &d), -1);	/* a QUANTIZE */
	npuc_act_ranges_free(&r);
}
END_TEST

/* ---- ONNX backend node tests ---- */

struct onnx_case {
	const char *name;
	int n_const;		/* inputs 1..n_const become constants (weights) */
	double tol;		/* output steps */
	enum npuq_op expect;	/* an op the qgraph must contain */
};

static const struct onnx_case onnx_cases[] = {
	{ "test_conv_with_strides_padding", 1, 2.0, NPUQ_CONV },
	{ "test_conv_with_strides_no_padding", 1, 2.0, NPUQ_CONV },
	{ "test_conv_with_strides_and_asymmetric_padding", 1, 2.0, NPUQ_CONV },
	{ "test_conv_with_autopad_same", 1, 2.0, NPUQ_CONV },
	{ "test_gemm_default_no_bias", 1, 2.0, NPUQ_CONV },
	{ "test_gemm_default_vector_bias", 2, 2.0, NPUQ_CONV },
	{ "test_gemm_default_scalar_bias", 2, 2.0, NPUQ_CONV },
	{ "test_gemm_default_single_elem_vector_bias", 2, 2.0, NPUQ_CONV },
	{ "test_gemm_transposeB", 2, 2.0, NPUQ_CONV },
	{ "test_gemm_alpha", 2, 2.0, NPUQ_CONV },
	{ "test_gemm_beta", 2, 2.0, NPUQ_CONV },
	{ "test_matmul_2d", 1, 2.0, NPUQ_CONV },
	{ "test_matmul_3d", 0, 2.0, NPUQ_MATMUL },
	{ "test_maxpool_2d_default", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_pads", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_strides", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_ceil", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_same_upper", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_same_lower", 0, 1.0, NPUQ_POOL },
	{ "test_maxpool_2d_precomputed_pads", 0, 1.0, NPUQ_POOL },
	{ "test_averagepool_2d_default", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_pads", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_pads_count_include_pad", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_strides", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_ceil", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_same_upper", 0, 2.0, NPUQ_POOL },
	{ "test_averagepool_2d_precomputed_same_upper", 0, 2.0, NPUQ_POOL },
	{ "test_globalaveragepool", 0, 2.0, NPUQ_POOL },
	{ "test_relu", 0, 2.0, NPUQ_LUT },
	{ "test_sigmoid", 0, 2.0, NPUQ_LUT },
	{ "test_tanh", 0, 2.0, NPUQ_LUT },
	{ "test_leakyrelu", 0, 2.0, NPUQ_LUT },
	{ "test_hardswish", 0, 2.0, NPUQ_LUT },
	{ "test_add", 0, 2.0, NPUQ_ELTWISE },
	{ "test_add_bcast", 1, 2.0, NPUQ_ELTWISE },
	{ "test_sub", 0, 2.0, NPUQ_ELTWISE },
	{ "test_mul", 0, 2.0, NPUQ_ELTWISE },
	{ "test_mul_bcast", 1, 2.0, NPUQ_ELTWISE },
	{ "test_concat_3d_axis_2", 0, 1.0, NPUQ_CONCAT },
	{ "test_flatten_axis1", 0, 1.0, NPUQ_RESHAPE },
	{ "test_softmax_example", 0, 0.0, NPUQ_CPU },
};

/* Loads a node test; inputs 1..n_const become constants; returns the rest as samples. */
static void load_case(const struct onnx_case *c, float **x)
{
	char path[512];
	struct npuc_tensor_pb tp;
	int n_in;

	npuc_graph_free(g);
	g = NULL;
	snprintf(path, sizeof(path), "%s/%s/model.onnx", NODE_DIR, c->name);
	ck_assert_msg(npuc_onnx_load_file(path, &g, &d) == 0, "%s: %s", c->name, d.msg);
	n_in = g->n_inputs;
	for (int i = 0, k = 0; i < n_in; i++) {
		int t = g->inputs[i];

		snprintf(path, sizeof(path), "%s/%s/test_data_set_0/input_%d.pb", NODE_DIR,
			 c->name, i);
		ck_assert_msg(npuc_tensor_pb_load_file(path, &tp, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(tp.dtype, NPUC_DT_F32);
		if (i > 0 && i <= c->n_const) {
			ck_assert_int_eq(npuc_tensor_set_data(g, t, tp.data, tp.nbytes, &d), 0);
			tp.data = NULL;
			g->t[t].flags &= ~NPUC_T_INPUT;
		} else {
			x[k] = tp.data;
			tp.data = NULL;
			g->inputs[k++] = t;
		}
		npuc_tensor_pb_free(&tp);
	}
	g->n_inputs = n_in - c->n_const;
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s: %s", c->name, d.msg);
	ck_assert_msg(npuc_passes_run(g, NULL, &d) == 0, "%s: %s", c->name, d.msg);
}

/* Calibrates on the test's own inputs plus scaled copies, then compares as above. */
static double onnx_worst;

static void onnx_case_run(const struct onnx_case *c)
{
	float *x[MAX_IO] = { NULL }, *fo[MAX_IO] = { NULL }, *qo[MAX_IO] = { NULL };
	struct samples s;
	struct npuc_act_ranges r;
	int64_t nq[MAX_IO];

	load_case(c, x);
	ck_assert_int_le(g->n_inputs, MAX_IO);
	memset(&s, 0, sizeof(s));
	s.n = 1;
	for (int j = 0; j < g->n_inputs; j++)
		s.x[0][j] = x[j];
	calibrate(&s, &r);
	ck_assert_msg(npuc_ref_float_run(g, (const float *const *)x, fo, NULL, &d) == 0, "%s",
		      d.msg);
	q = npuc_quantize(g, &r, NULL, &d);
	ck_assert_msg(q != NULL, "%s: %s", c->name, d.msg);
	ck_assert_msg(count_qop(c->expect) > 0, "%s: no %s node", c->name,
		      npuq_op_name(c->expect));
	if (c->expect != NPUQ_CPU)
		ck_assert_msg(count_qop(NPUQ_CPU) == 0, "%s: CPU node (%s)", c->name,
			      find_qop(NPUQ_CPU)->u.cpu.reason);
	qrun(x, qo, nq);
	for (int j = 0; j < q->n_outputs; j++) {
		float step = c->tol > 0 ? out_step(j, &r) : 0;

		for (int64_t i = 0; i < nq[j]; i++) {
			double e = fabs((double)qo[j][i] - fo[j][i]);
			double lim = step > 0 ? c->tol * step : 1e-4 * (1 + fabs(fo[j][i]));

			ck_assert_msg(e <= lim, "%s: output %d element %lld: int8 %.6g float %.6g "
				      "(%.2f steps)", c->name, j, (long long)i, qo[j][i], fo[j][i],
				      step > 0 ? e / step : 0);
			if (step > 0 && e / step > onnx_worst)
				onnx_worst = e / step;
		}
		free(fo[j]);
		free(qo[j]);
	}
	npuc_act_ranges_free(&r);
	samples_free(&s);
	npuq_graph_free(q);
	q = NULL;
	g = npuc_graph_new();
}

START_TEST(test_onnx_node_models)
{
	size_t n = sizeof(onnx_cases) / sizeof(onnx_cases[0]);

	onnx_worst = 0;
	for (size_t i = 0; i < n; i++)
		onnx_case_run(&onnx_cases[i]);
	fprintf(stderr, "quantize: %zu ONNX node models quantised and run, worst error %.2f "
		"output steps\n", n, onnx_worst);
}
END_TEST

Suite *suite_quantize(void);
Suite *suite_quantize(void)
{
	Suite *s = suite_create("quantize");
	TCase *tc = tcase_create("quantize");
	TCase *tn = tcase_create("onnx_node");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_act_params);
	tcase_add_test(tc, test_ranges_observe_merge);
	tcase_add_test(tc, test_conv_strides_pads);
	tcase_add_test(tc, test_conv_groups_dilation_same);
	tcase_add_test(tc, test_conv_depthwise_same_lower);
	tcase_add_test(tc, test_conv_per_tensor_option);
	tcase_add_test(tc, test_conv_limits_cpu_fallback);
	tcase_add_test(tc, test_gemm_variants);
	tcase_add_test(tc, test_gemm_cpu_cases);
	tcase_add_test(tc, test_matmul_const_rank3);
	tcase_add_test(tc, test_matmul_two_activations);
	tcase_add_test(tc, test_flatten_gemm_permutes_weights);
	tcase_add_test(tc, test_flatten_output_cpu);
	tcase_add_test(tc, test_eltwise_two_activations);
	tcase_add_test(tc, test_eltwise_constants);
	tcase_add_test(tc, test_eltwise_unsupported_broadcast);
	tcase_add_test(tc, test_pools);
	tcase_add_test(tc, test_pool_cpu_cases);
	tcase_add_test(tc, test_lut_functions);
	tcase_add_test(tc, test_gated_activation_one_lut);
	tcase_add_test(tc, test_fused_relu_relu6);
	tcase_add_test(tc, test_concat_shares_quantisation);
	tcase_add_test(tc, test_concat_other_axis_cpu);
	tcase_add_test(tc, test_reshape_like);
	tcase_add_test(tc, test_softmax_cpu_island);
	tcase_add_test(tc, test_boundary);
	tcase_add_test(tc, test_refine_shapes_by_run);
	tcase_add_test(tc, test_errors_and_bias_hook);
	tcase_add_test(tc, test_nonfinite_weights_and_ranges);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(tn, setup, teardown);
	tcase_add_test(tn, test_onnx_node_models);
	suite_add_tcase(s, tn);
	return s;
}
