// SPDX-License-Identifier: MIT
/*
 * Float graph passes (compiler/passes/passes.h): constant folding, BatchNorm
 * folding into Conv / Gemm and into a depthwise Conv, Identity / Dropout
 * removal, activation fusion marking. Every rewrite is checked by running
 * the float reference executor before and after on the same inputs:
 * folding may only change float rounding (|diff| <= 1e-5 (1 + |y|)),
 * fusion must leave the results bit-identical.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "util/graph_build.h"
#include "onnx_import.h"
#include "passes.h"
#include "ref_float.h"
#include "shape_infer.h"
#include "tensor_pb.h"

#define NODE_DIR "/usr/include/onnx/backend/test/data/node"

static struct npuc_graph *g;
static struct npuc_diag d;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	g->opset = 13;
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	npuc_graph_free(g);
	g = NULL;
}

/* ---- graph building ---- */

/* Runs g on one float input (graph input 0); returns the malloc'd outputs[0]. */
static float *run(const float *x, int64_t *numel)
{
	const float *in[1] = { x };
	float *out[8] = { NULL };
	const struct npuc_tensor *y;

	ck_assert_int_le(g->n_outputs, 8);
	ck_assert_msg(npuc_ref_float_run(g, in, out, NULL, &d) == 0, "%s", d.msg);
	for (int i = 1; i < g->n_outputs; i++)
		free(out[i]);
	y = &g->t[g->outputs[0]];
	*numel = npuc_tensor_numel(y);
	return out[0];
}

static void assert_close(const float *got, const float *want, int64_t n, float tol)
{
	for (int64_t i = 0; i < n; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) <= tol * (1.0f + fabsf(want[i])),
			      "element %lld: got %.8g want %.8g", (long long)i, got[i], want[i]);
}

static int count_op(const char *op)
{
	int c = 0;

	for (int i = 0; i < g->n_nodes; i++)
		c += !strcmp(g->nodes[i].op, op);
	return c;
}

static void infer(void)
{
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
}

/* Runs before, applies the pass, runs after, compares (tol 0: bit-exact). */
static void check_pass(int (*pass)(struct npuc_graph *, struct npuc_pass_stats *,
				   struct npuc_diag *),
		       struct npuc_pass_stats *st, const float *x, float tol)
{
	int64_t n0, n1;
	float *before = run(x, &n0), *after;

	ck_assert_msg(pass(g, st, &d) == 0, "%s", d.msg);
	ck_assert_msg(npuc_graph_toposort(g, &d) == 0, "%s", d.msg);
	after = run(x, &n1);
	ck_assert_int_eq(n0, n1);
	if (tol == 0)
		for (int64_t i = 0; i < n0; i++)
			ck_assert_msg(!memcmp(&before[i], &after[i], sizeof(float)),
				      "element %lld: %.9g became %.9g", (long long)i, before[i],
				      after[i]);
	else
		assert_close(after, before, n0, tol);
	free(before);
	free(after);
}

/* BN parameters with a spread of scales, shifts and variances. */
static void bn_consts(int c, int *sc, int *bi, int *mean, int *var, const char *pfx)
{
	float s[16], b[16], m[16], v[16];
	int64_t cd[1] = { c };
	char nm[4][32];

	ck_assert_int_le(c, 16);
	for (int i = 0; i < c; i++) {
		s[i] = 0.5f + 0.25f * (float)i;
		b[i] = 0.1f * (float)i - 0.3f;
		m[i] = 0.2f * (float)(i % 3) - 0.1f;
		v[i] = 0.05f + 0.3f * (float)i;
	}
	for (int i = 0; i < 4; i++)
		snprintf(nm[i], sizeof(nm[i]), "%s%d", pfx, i);
	*sc = gb_const(g, nm[0], 1, cd, s);
	*bi = gb_const(g, nm[1], 1, cd, b);
	*mean = gb_const(g, nm[2], 1, cd, m);
	*var = gb_const(g, nm[3], 1, cd, v);
}

/* ---- BatchNormalization ---- */

static void conv_bn_case(int with_bias, int groups)
{
	const int64_t xd[] = { 1, 4, 6, 5 }, wd[] = { 6, 4 / groups, 3, 3 }, bd[] = { 6 };
	const int64_t pads[] = { 1, 1, 1, 1 };
	float x[120], w[216], b[6];
	int in[5], mid, y, n, wt;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 120, 1);
	gb_fill(w, 6 * (4 / groups) * 9, 2);
	gb_fill(b, 6, 3);
	in[0] = gb_tensor(g, "x", 4, xd);
	in[1] = wt = gb_const(g, "w", 4, wd, w);
	in[2] = gb_const(g, "b", 1, bd, b);
	mid = gb_tensor(g, "mid", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	n = gb_node(g, "Conv", in, with_bias ? 3 : 2, &mid, 1);
	gb_attr_ints(g, n, "pads", 4, pads);
	gb_attr_i(g, n, "group", groups);
	in[0] = mid;
	bn_consts(6, &in[1], &in[2], &in[3], &in[4], "bn");
	n = gb_node(g, "BatchNormalization", in, 5, &y, 1);
	gb_attr_f(g, n, "epsilon", 1e-3f);
	gb_io(g, (int[]){ 0 }, 1, &y, 1);
	infer();
	check_pass(npuc_pass_fold_batchnorm, &st, x, 1e-5f);
	ck_assert_int_eq(st.bn_folded, 1);
	ck_assert_int_eq(g->n_nodes, 1);
	ck_assert_str_eq(g->nodes[0].op, "Conv");
	ck_assert_int_eq(g->nodes[0].n_in, 3);
	ck_assert_int_eq(g->nodes[0].out[0], y);
	ck_assert_int_eq(g->t[y].producer, 0);
	ck_assert_int_ne(g->nodes[0].in[1], wt);
	/* the replaced weights are released, the folded ones constant */
	ck_assert_ptr_null(g->t[wt].data);
	ck_assert(npuc_tensor_is_const(g, g->nodes[0].in[1]));
	ck_assert(npuc_tensor_is_const(g, g->nodes[0].in[2]));
}

START_TEST(test_bn_fold_conv)
{
	conv_bn_case(1, 1);
}
END_TEST

START_TEST(test_bn_fold_conv_no_bias_grouped)
{
	conv_bn_case(0, 2);
}
END_TEST

static void gemm_bn_case(int trans_b, int c_kind)
{
	const int64_t xd[] = { 3, 5 }, bdn[] = { 5, 4 }, bdt[] = { 4, 5 };
	float x[15], bw[20], c[4] = { 0.5f, -0.25f, 1.0f, 0.125f };
	int in[5], mid, y, n;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 15, 4);
	gb_fill(bw, 20, 5);
	in[0] = gb_tensor(g, "x", 2, xd);
	in[1] = gb_const(g, "B", 2, trans_b ? bdt : bdn, bw);
	if (c_kind == 1)
		in[2] = gb_const(g, "C", 1, (int64_t[]){ 4 }, c);
	else if (c_kind == 2)
		in[2] = gb_const(g, "C", 0, NULL, c);
	mid = gb_tensor(g, "mid", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	n = gb_node(g, "Gemm", in, c_kind ? 3 : 2, &mid, 1);
	gb_attr_i(g, n, "transB", trans_b);
	gb_attr_f(g, n, "alpha", 0.75f);
	gb_attr_f(g, n, "beta", 2.0f);
	in[0] = mid;
	bn_consts(4, &in[1], &in[2], &in[3], &in[4], "bn");
	gb_node(g, "BatchNormalization", in, 5, &y, 1);
	gb_io(g, (int[]){ 0 }, 1, &y, 1);
	infer();
	check_pass(npuc_pass_fold_batchnorm, &st, x, 1e-5f);
	ck_assert_int_eq(st.bn_folded, 1);
	ck_assert_int_eq(g->n_nodes, 1);
	ck_assert_str_eq(g->nodes[0].op, "Gemm");
	ck_assert_float_eq(npuc_attr_float(&g->nodes[0], "alpha", 1.0f), 1.0f);
	ck_assert_float_eq(npuc_attr_float(&g->nodes[0], "beta", 1.0f), 1.0f);
}

START_TEST(test_bn_fold_gemm)
{
	gemm_bn_case(0, 0);
	teardown();
	setup();
	gemm_bn_case(1, 1);
	teardown();
	setup();
	gemm_bn_case(1, 2);
}
END_TEST

/* A BatchNorm after an Add (nothing to fold into) becomes a depthwise Conv. */
START_TEST(test_bn_standalone_to_conv)
{
	const int64_t xd[] = { 1, 3, 4, 4 };
	float x[48];
	int in[5], a, y, conv;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 48, 6);
	in[0] = gb_tensor(g, "x", 4, xd);
	a = gb_tensor(g, "a", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	gb_node(g, "Add", (int[]){ in[0], in[0] }, 2, &a, 1);
	in[0] = a;
	bn_consts(3, &in[1], &in[2], &in[3], &in[4], "bn");
	gb_node(g, "BatchNormalization", in, 5, &y, 1);
	gb_io(g, (int[]){ 0 }, 1, &y, 1);
	infer();
	check_pass(npuc_pass_fold_batchnorm, &st, x, 1e-5f);
	ck_assert_int_eq(st.bn_to_conv, 1);
	ck_assert_int_eq(st.bn_folded, 0);
	ck_assert_int_eq(g->n_nodes, 2);
	conv = g->t[y].producer;
	ck_assert_str_eq(g->nodes[conv].op, "Conv");
	ck_assert_int_eq(npuc_attr_int(&g->nodes[conv], "group", 0), 3);
	ck_assert_int_eq(g->t[g->nodes[conv].in[1]].dims[0], 3);
	ck_assert_int_eq(g->t[g->nodes[conv].in[1]].dims[1], 1);
}
END_TEST

/* Conv output used twice: the BatchNorm cannot be folded into it. */
START_TEST(test_bn_not_folded_when_shared)
{
	const int64_t xd[] = { 1, 2, 3, 3 }, wd[] = { 2, 2, 1, 1 };
	float x[18], w[4] = { 1, 2, -1, 0.5f };
	int in[5], mid, y, z;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 18, 7);
	in[0] = gb_tensor(g, "x", 4, xd);
	in[1] = gb_const(g, "w", 4, wd, w);
	mid = gb_tensor(g, "mid", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	z = gb_tensor(g, "z", -1, NULL);
	gb_node(g, "Conv", in, 2, &mid, 1);
	in[0] = mid;
	bn_consts(2, &in[1], &in[2], &in[3], &in[4], "bn");
	gb_node(g, "BatchNormalization", in, 5, &y, 1);
	gb_node(g, "Add", (int[]){ y, mid }, 2, &z, 1);
	gb_io(g, (int[]){ 0 }, 1, &z, 1);
	infer();
	check_pass(npuc_pass_fold_batchnorm, &st, x, 1e-5f);
	ck_assert_int_eq(st.bn_folded, 0);
	ck_assert_int_eq(st.bn_to_conv, 1);
	ck_assert_int_eq(count_op("Conv"), 2);
	ck_assert_int_eq(count_op("BatchNormalization"), 0);
}
END_TEST

/* ---- constant folding ---- */

START_TEST(test_fold_constants)
{
	const int64_t xd[] = { 1, 2, 4, 4 }, wflat[] = { 36 }, shp[] = { 4 };
	const int64_t wshape[] = { 2, 2, 3, 3 }, pads[] = { 1, 1, 1, 1 }, sd[] = { 1 };
	float x[32], w[36], one = 1.0f;
	int xt, wf, ws, wr, cy, sh, y, n, sc, wsc;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 32, 8);
	gb_fill(w, 36, 9);
	xt = gb_tensor(g, "x", 4, xd);
	wf = gb_const(g, "wflat", 1, wflat, w);
	ws = gb_const_t(g, "wshape", NPUC_DT_I64, 1, shp, wshape);
	sc = gb_const(g, "one", 1, sd, &one);
	wr = gb_tensor(g, "wr", -1, NULL);
	wsc = gb_tensor(g, "wsc", -1, NULL);
	cy = gb_tensor(g, "cy", -1, NULL);
	sh = npuc_graph_add_tensor(g, "sh", NPUC_DT_UNDEF, -1, NULL, &d);
	y = gb_tensor(g, "y", -1, NULL);
	gb_node(g, "Reshape", (int[]){ wf, ws }, 2, &wr, 1);		/* constant weights */
	gb_node(g, "Mul", (int[]){ wr, sc }, 2, &wsc, 1);		/* still constant */
	n = gb_node(g, "Conv", (int[]){ xt, wsc }, 2, &cy, 1);
	gb_attr_ints(g, n, "pads", 4, pads);
	gb_node(g, "Shape", &xt, 1, &sh, 1);				/* known shape */
	gb_node(g, "Reshape", (int[]){ cy, sh }, 2, &y, 1);
	gb_io(g, &xt, 1, &y, 1);
	infer();
	check_pass(npuc_pass_fold_constants, &st, x, 0);
	ck_assert_int_eq(st.folded, 3);
	ck_assert_int_eq(g->n_nodes, 2);
	ck_assert(npuc_tensor_is_const(g, wsc));
	ck_assert_int_eq(g->t[wsc].rank, 4);
	ck_assert_int_eq(g->t[wsc].dims[0], 2);
	ck_assert_int_eq(g->t[wsc].dims[3], 3);
	ck_assert(npuc_tensor_is_const(g, sh));
	ck_assert_int_eq(g->t[sh].dtype, NPUC_DT_I64);
	ck_assert_int_eq(((const int64_t *)g->t[sh].data)[1], 2);
	ck_assert_int_eq(g->t[sh].producer, -1);
	ck_assert_int_eq(g->t[y].producer, 1);
}
END_TEST

/* DequantizeLinear of constant int8 weights stays (QDQ recognition needs it). */
START_TEST(test_fold_keeps_dequantize_and_outputs)
{
	const int64_t wd[] = { 4 }, sd[] = { 1 };
	const int8_t wq[4] = { 1, -2, 3, 127 };
	float s = 0.5f, c3[1] = { 3.0f };
	int w, sc, deq, x, y, c, cc;

	w = gb_const_t(g, "wq", NPUC_DT_I8, 1, wd, wq);
	sc = gb_const(g, "s", 0, NULL, &s);
	deq = gb_tensor(g, "deq", -1, NULL);
	x = gb_tensor(g, "x", 1, wd);
	y = gb_tensor(g, "y", -1, NULL);
	c = gb_const(g, "c", 1, sd, c3);
	cc = gb_tensor(g, "cc", -1, NULL);
	gb_node(g, "DequantizeLinear", (int[]){ w, sc }, 2, &deq, 1);
	gb_node(g, "Add", (int[]){ x, deq }, 2, &y, 1);
	gb_node(g, "Neg", &c, 1, &cc, 1);	/* constant, but a graph output: stays a node */
	gb_io(g, &x, 1, (int[]){ y, cc }, 2);
	infer();
	ck_assert_int_eq(npuc_pass_fold_constants(g, NULL, &d), 0);
	ck_assert_int_eq(g->n_nodes, 3);
	ck_assert_int_eq(count_op("DequantizeLinear"), 1);
	ck_assert_int_eq(count_op("Neg"), 1);
}
END_TEST

/* ---- Identity / Dropout ---- */

START_TEST(test_remove_identity_dropout)
{
	const int64_t xd[] = { 2, 3 };
	float x[6];
	int xt, a, b, y, y2, ident2;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 6, 10);
	xt = gb_tensor(g, "x", 2, xd);
	a = gb_tensor(g, "a", -1, NULL);
	b = gb_tensor(g, "b", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	y2 = gb_tensor(g, "y2", -1, NULL);
	gb_node(g, "Identity", &xt, 1, &a, 1);
	gb_node(g, "Relu", &a, 1, &b, 1);
	gb_node(g, "Dropout", &b, 1, &y, 1);		/* output named y keeps its name */
	ident2 = gb_node(g, "Identity", &xt, 1, &y2, 1);	/* input -> output: must stay */
	(void)ident2;
	gb_io(g, &xt, 1, (int[]){ y, y2 }, 2);
	infer();
	check_pass(npuc_pass_remove_identity, &st, x, 0);
	ck_assert_int_eq(st.removed, 2);
	ck_assert_int_eq(g->n_nodes, 2);
	ck_assert_int_eq(count_op("Relu"), 1);
	ck_assert_int_eq(count_op("Identity"), 1);
	ck_assert_int_eq(count_op("Dropout"), 0);
	ck_assert_str_eq(g->t[g->outputs[0]].name, "y");
	ck_assert_str_eq(g->nodes[g->t[y].producer].op, "Relu");
	ck_assert_int_eq(g->nodes[g->t[y].producer].in[0], xt);
}
END_TEST

/* A Dropout whose mask is used stays. */
START_TEST(test_dropout_mask_used_stays)
{
	const int64_t xd[] = { 4 };
	int xt, y, m;

	xt = gb_tensor(g, "x", 1, xd);
	y = gb_tensor(g, "y", -1, NULL);
	m = npuc_graph_add_tensor(g, "m", NPUC_DT_BOOL, -1, NULL, &d);
	gb_node(g, "Dropout", &xt, 1, (int[]){ y, m }, 2);
	gb_io(g, &xt, 1, (int[]){ y, m }, 2);
	ck_assert_int_eq(npuc_pass_remove_identity(g, NULL, &d), 0);
	ck_assert_int_eq(g->n_nodes, 1);
}
END_TEST

/* ---- fusion ---- */

START_TEST(test_fuse_activations)
{
	const int64_t xd[] = { 1, 2, 4, 4 }, wd[] = { 3, 2, 1, 1 }, bd[] = { 3 };
	const int64_t gd[] = { 3, 2 };
	float x[32], w[6], b[3] = { 0.5f, -0.5f, 0.1f }, gw[6], lo = 0.0f, hi = 6.0f;
	int xt, c, r, p, pr, t, cl, fl, ge, gy, gc, cmin, cmax;
	int conv, relu, add, relu2, gemm, clip;
	float amin, amax;
	int aout;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 32, 11);
	gb_fill(w, 6, 12);
	gb_fill(gw, 6, 13);
	xt = gb_tensor(g, "x", 4, xd);
	c = gb_tensor(g, "c", -1, NULL);
	r = gb_tensor(g, "r", -1, NULL);
	p = gb_tensor(g, "p", -1, NULL);
	pr = gb_tensor(g, "pr", -1, NULL);
	t = gb_tensor(g, "t", -1, NULL);
	fl = gb_tensor(g, "fl", -1, NULL);
	ge = gb_tensor(g, "ge", -1, NULL);
	gy = gb_tensor(g, "gy", -1, NULL);
	cmin = gb_const(g, "cmin", 0, NULL, &lo);
	cmax = gb_const(g, "cmax", 0, NULL, &hi);
	gc = gb_const(g, "gw", 2, gd, gw);
	conv = gb_node(g, "Conv", (int[]){ xt, gb_const(g, "w", 4, wd, w),
					    gb_const(g, "b", 1, bd, b) }, 3, &c, 1);
	relu = gb_node(g, "Relu", &c, 1, &r, 1);			/* fused into the Conv */
	add = gb_node(g, "Add", (int[]){ r, r }, 2, &p, 1);
	relu2 = gb_node(g, "Relu", &p, 1, &pr, 1);			/* fused into the Add */
	gb_node(g, "GlobalAveragePool", &pr, 1, &t, 1);
	gb_node(g, "Flatten", &t, 1, &fl, 1);
	gemm = gb_node(g, "Gemm", (int[]){ fl, gc }, 2, &ge, 1);
	/* ReLU6 on the Gemm */
	clip = gb_node(g, "Clip", (int[]){ ge, cmin, cmax }, 3, &gy, 1);
	cl = relu;
	gb_io(g, &xt, 1, &gy, 1);
	infer();
	check_pass(npuc_pass_fuse, &st, x, 0);
	ck_assert_int_eq(st.fused, 3);
	ck_assert(npuc_node_fused_act(g, &g->nodes[conv], &amin, &amax, &aout));
	ck_assert_float_eq(amin, 0.0f);
	ck_assert(isinf(amax) && amax > 0);
	ck_assert_int_eq(aout, r);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[cl], NPUC_ATTR_FUSED, 0), 1);
	ck_assert(npuc_node_fused_act(g, &g->nodes[add], &amin, &amax, &aout));
	ck_assert_int_eq(aout, pr);
	ck_assert_int_eq(npuc_attr_int(&g->nodes[relu2], NPUC_ATTR_FUSED, 0), 1);
	ck_assert(npuc_node_fused_act(g, &g->nodes[gemm], &amin, &amax, &aout));
	ck_assert_float_eq(amin, 0.0f);
	ck_assert_float_eq(amax, 6.0f);
	ck_assert_int_eq(aout, gy);
	ck_assert_str_eq(npuc_attr_string(&g->nodes[gemm], NPUC_ATTR_ACT_OP, ""), "Clip");
	ck_assert_int_eq(npuc_attr_int(&g->nodes[clip], NPUC_ATTR_FUSED, 0), 1);
	/* idempotent */
	ck_assert_int_eq(npuc_pass_fuse(g, &st, &d), 0);
	ck_assert_int_eq(st.fused, 3);
}
END_TEST

START_TEST(test_fuse_refused)
{
	const int64_t xd[] = { 2, 3 };
	float x[6];
	int xt, a, r, y, m, r2, s, r3, cmin, clip_in, rm;
	struct npuc_pass_stats st = { 0 };
	float amin, amax;
	int aout;

	gb_fill(x, 6, 14);
	xt = gb_tensor(g, "x", 2, xd);
	a = gb_tensor(g, "a", -1, NULL);
	r = gb_tensor(g, "r", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	m = gb_tensor(g, "m", -1, NULL);
	r2 = gb_tensor(g, "r2", -1, NULL);
	s = gb_tensor(g, "s", -1, NULL);
	r3 = gb_tensor(g, "r3", -1, NULL);
	cmin = gb_tensor(g, "cmin_dyn", -1, NULL);	/* a computed Clip bound */
	gb_node(g, "Add", (int[]){ xt, xt }, 2, &a, 1);
	gb_node(g, "Relu", &a, 1, &r, 1);		/* a is also read below: no fusion */
	gb_node(g, "Add", (int[]){ r, a }, 2, &y, 1);
	gb_node(g, "Mul", (int[]){ xt, xt }, 2, &m, 1);	/* m is a graph output: no fusion */
	gb_node(g, "Relu", &m, 1, &r2, 1);
	gb_node(g, "Sigmoid", &xt, 1, &s, 1);		/* not a fusable producer */
	gb_node(g, "Relu", &s, 1, &r3, 1);
	rm = gb_node(g, "ReduceMax", &xt, 1, &cmin, 1);
	gb_attr_i(g, rm, "keepdims", 0);
	clip_in = gb_node(g, "Sub", (int[]){ xt, xt }, 2,
			  &(int){ gb_tensor(g, "sb", -1, NULL) }, 1);
	gb_node(g, "Clip", (int[]){ g->nodes[clip_in].out[0], cmin }, 2,
		&(int){ gb_tensor(g, "cl", -1, NULL) }, 1);
	gb_io(g, &xt, 1, (int[]){ y, m, r2, r3, npuc_graph_find(g, "cl") }, 5);
	infer();
	check_pass(npuc_pass_fuse, &st, x, 0);
	ck_assert_int_eq(st.fused, 0);
	for (int i = 0; i < g->n_nodes; i++)
		ck_assert(!npuc_node_fused_act(g, &g->nodes[i], &amin, &amax, &aout));
}
END_TEST

/* ---- helpers and a full pipeline ---- */

START_TEST(test_remove_nodes_and_uses)
{
	const int64_t xd[] = { 3 };
	int xt, a, b, c, uses[8];
	unsigned char dead[3] = { 0, 1, 0 };

	xt = gb_tensor(g, "x", 1, xd);
	a = gb_tensor(g, "a", -1, NULL);
	b = gb_tensor(g, "b", -1, NULL);
	c = gb_tensor(g, "c", -1, NULL);
	gb_node(g, "Neg", &xt, 1, &a, 1);
	gb_node(g, "Abs", &xt, 1, &b, 1);
	gb_node(g, "Add", (int[]){ a, xt }, 2, &c, 1);
	gb_io(g, &xt, 1, &c, 1);
	npuc_tensor_uses(g, uses);
	ck_assert_int_eq(uses[xt], 3);
	ck_assert_int_eq(uses[a], 1);
	ck_assert_int_eq(uses[b], 0);
	ck_assert_int_eq(uses[c], 1);
	npuc_graph_remove_nodes(g, dead);
	ck_assert_int_eq(g->n_nodes, 2);
	ck_assert_str_eq(g->nodes[1].op, "Add");
	ck_assert_int_eq(g->t[c].producer, 1);
	ck_assert_int_eq(g->t[b].producer, -1);
	ck_assert_int_eq(g->t[a].producer, 0);
}
END_TEST

/*
 * Conv -> BN -> Relu -> Identity -> Conv(Reshape'd weights) -> BN: the whole
 * pipeline, then the float results must match the original graph.
 */
START_TEST(test_passes_run_pipeline)
{
	const int64_t xd[] = { 1, 3, 6, 6 }, wd[] = { 4, 3, 3, 3 }, w2flat[] = { 16 };
	const int64_t w2s[] = { 4, 4, 1, 1 }, shp[] = { 4 };
	float x[108], w[108], w2[16];
	int in[5], xt, c1, b1, r1, i1, w2f, w2sh, w2r, c2, y, n;
	int64_t n0, n1;
	float *before, *after;
	struct npuc_pass_stats st = { 0 };

	gb_fill(x, 108, 15);
	gb_fill(w, 108, 16);
	gb_fill(w2, 16, 17);
	xt = gb_tensor(g, "x", 4, xd);
	c1 = gb_tensor(g, "c1", -1, NULL);
	b1 = gb_tensor(g, "b1", -1, NULL);
	r1 = gb_tensor(g, "r1", -1, NULL);
	i1 = gb_tensor(g, "i1", -1, NULL);
	w2r = gb_tensor(g, "w2r", -1, NULL);
	c2 = gb_tensor(g, "c2", -1, NULL);
	y = gb_tensor(g, "y", -1, NULL);
	w2f = gb_const(g, "w2flat", 1, w2flat, w2);
	w2sh = gb_const_t(g, "w2shape", NPUC_DT_I64, 1, shp, w2s);
	n = gb_node(g, "Conv", (int[]){ xt, gb_const(g, "w", 4, wd, w) }, 2, &c1, 1);
	gb_attr_ints(g, n, "pads", 4, (int64_t[]){ 1, 1, 1, 1 });
	in[0] = c1;
	bn_consts(4, &in[1], &in[2], &in[3], &in[4], "bna");
	gb_node(g, "BatchNormalization", in, 5, &b1, 1);
	gb_node(g, "Relu", &b1, 1, &r1, 1);
	gb_node(g, "Identity", &r1, 1, &i1, 1);
	gb_node(g, "Reshape", (int[]){ w2f, w2sh }, 2, &w2r, 1);
	gb_node(g, "Conv", (int[]){ i1, w2r }, 2, &c2, 1);
	in[0] = c2;
	bn_consts(4, &in[1], &in[2], &in[3], &in[4], "bnb");
	gb_node(g, "BatchNormalization", in, 5, &y, 1);
	gb_io(g, &xt, 1, &y, 1);
	infer();
	before = run(x, &n0);
	ck_assert_msg(npuc_passes_run(g, &st, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(st.folded, 1);
	ck_assert_int_eq(st.removed, 1);
	ck_assert_int_eq(st.bn_folded, 2);
	ck_assert_int_eq(st.fused, 1);
	ck_assert_int_eq(g->n_nodes, 3);	/* Conv, Relu (fused), Conv */
	ck_assert_int_eq(count_op("Conv"), 2);
	after = run(x, &n1);
	ck_assert_int_eq(n0, n1);
	assert_close(after, before, n0, 1e-5f);
	free(before);
	free(after);
}
END_TEST

/* ---- ONNX backend models ---- */

/* Loads a node test, turns inputs 1.. into constants, returns input 0 (malloc'd). */
static float *load_case(const char *name, int n_const, float **expect, int64_t *n_expect)
{
	char path[512];
	struct npuc_tensor_pb tp;
	float *x0 = NULL;

	npuc_graph_free(g);
	g = NULL;
	snprintf(path, sizeof(path), "%s/%s/model.onnx", NODE_DIR, name);
	ck_assert_msg(npuc_onnx_load_file(path, &g, &d) == 0, "%s: %s", name, d.msg);
	for (int i = 0; i <= n_const; i++) {
		int t = g->inputs[i];

		snprintf(path, sizeof(path), "%s/%s/test_data_set_0/input_%d.pb", NODE_DIR, name,
			 i);
		ck_assert_msg(npuc_tensor_pb_load_file(path, &tp, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(tp.dtype, NPUC_DT_F32);
		if (i == 0) {
			x0 = malloc(tp.nbytes);
			memcpy(x0, tp.data, tp.nbytes);
		} else {
			ck_assert_int_eq(npuc_tensor_set_data(g, t, tp.data, tp.nbytes, &d), 0);
			tp.data = NULL;
			g->t[t].flags &= ~NPUC_T_INPUT;
		}
		npuc_tensor_pb_free(&tp);
	}
	g->n_inputs = 1;
	snprintf(path, sizeof(path), "%s/%s/test_data_set_0/output_0.pb", NODE_DIR, name);
	ck_assert_msg(npuc_tensor_pb_load_file(path, &tp, &d) == 0, "%s", d.msg);
	*expect = tp.data;
	*n_expect = tp.numel;
	tp.data = NULL;
	npuc_tensor_pb_free(&tp);
	infer();
	return x0;
}

START_TEST(test_onnx_batchnorm_models)
{
	static const char *const names[] = { "test_batchnorm_example", "test_batchnorm_epsilon" };

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct npuc_pass_stats st = { 0 };
		float *expect, *got, *x;
		int64_t ne, ng;

		x = load_case(names[i], 4, &expect, &ne);
		ck_assert_msg(npuc_passes_run(g, &st, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(st.bn_to_conv, 1);
		ck_assert_int_eq(count_op("BatchNormalization"), 0);
		got = run(x, &ng);
		ck_assert_int_eq(ng, ne);
		assert_close(got, expect, ne, 1e-5f);
		free(x);
		free(got);
		free(expect);
	}
}
END_TEST

Suite *suite_passes(void);
Suite *suite_passes(void)
{
	Suite *s = suite_create("passes");
	TCase *tc = tcase_create("passes");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_bn_fold_conv);
	tcase_add_test(tc, test_bn_fold_conv_no_bias_grouped);
	tcase_add_test(tc, test_bn_fold_gemm);
	tcase_add_test(tc, test_bn_standalone_to_conv);
	tcase_add_test(tc, test_bn_not_folded_when_shared);
	tcase_add_test(tc, test_fold_constants);
	tcase_add_test(tc, test_fold_keeps_dequantize_and_outputs);
	tcase_add_test(tc, test_remove_identity_dropout);
	tcase_add_test(tc, test_dropout_mask_used_stays);
	tcase_add_test(tc, test_fuse_activations);
	tcase_add_test(tc, test_fuse_refused);
	tcase_add_test(tc, test_remove_nodes_and_uses);
	tcase_add_test(tc, test_passes_run_pipeline);
	tcase_add_test(tc, test_onnx_batchnorm_models);
	suite_add_tcase(s, tc);
	return s;
}
