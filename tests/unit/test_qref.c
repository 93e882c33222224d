// SPDX-License-Identifier: MIT
/*
 * int8 reference executor (libnpu/host/qref.c): hand-computed qgraphs for
 * every op (padding as in_zp, accumulator wrap, rounding, broadcast, pool
 * windows, CONCAT requantisation, QUANTIZE half-to-even and saturation),
 * NCHW <-> NHWC at the boundary, CPU nodes through ref_float (float, uint8
 * and int32 operands), the observer, errors; and the key property: for 280 random CONV (general,
 * grouped, depthwise), MATMUL, ELTWISE, POOL and LUT nodes, npuq_ref_run
 * equals libnpusim running the equivalent single command, bit for bit.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "qir.h"
#include "qref.h"
#include "util/graph_build.h"
#include "util/stream.h"

static struct npuq_graph *g;
static struct npuc_diag d;

static void setup(void)
{
	g = npuq_graph_new();
	ck_assert_ptr_nonnull(g);
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	npuq_graph_free(g);
	g = NULL;
}

/* ---- graph building helpers ---- */

static int ti8(const char *name, int h, int w, int c, float scale, int zp)
{
	int t = npuq_add_tensor(g, name, h, w, c, scale, zp, 0, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static int tf32(const char *name, int h, int w, int c)
{
	int t = npuq_add_tensor(g, name, h, w, c, 0.0f, 0, NPUQ_T_FLOAT, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static void set_nchw(int t)
{
	struct npuq_tensor *x = &g->t[t];

	x->onnx_rank = 4;
	x->onnx_dims[0] = 1;
	x->onnx_dims[1] = x->c;
	x->onnx_dims[2] = x->h;
	x->onnx_dims[3] = x->w;
	x->nchw = 1;
}

static void node(enum npuq_op op, const int *in, int n_in, int out, const void *params)
{
	char name[16];

	snprintf(name, sizeof(name), "n%d", g->n_nodes);
	ck_assert_msg(npuq_add_node(g, op, name, in, n_in, &out, 1, params, &d) >= 0, "%s", d.msg);
}

static void io(int n_in, const int *in, int n_out, const int *out)
{
	for (int i = 0; i < n_in; i++)
		ck_assert_int_eq(npuq_add_input(g, in[i], &d), 0);
	for (int i = 0; i < n_out; i++)
		ck_assert_int_eq(npuq_add_output(g, out[i], &d), 0);
}

static void *dup_mem(const void *p, size_t n)
{
	void *q = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(q);
	memcpy(q, p, n);
	return q;
}

static struct npuq_conv conv_params(int k_h, int k_w, int groups, const int8_t *w, size_t nw,
				    const struct npu_qparam *q, int out_c)
{
	struct npuq_conv c = { .k_h = k_h, .k_w = k_w, .stride_h = 1, .stride_w = 1,
			       .dil_h = 1, .dil_w = 1, .groups = groups, .act_min = -128,
			       .act_max = 127 };

	c.w = dup_mem(w, nw);
	c.q = dup_mem(q, sizeof(*q) * (size_t)out_c);
	return c;
}

/* Int8 value views of tensor data in the tensor's (h, w, c) shape. */
static struct npuc_value i8_value(int t, const void *data)
{
	struct npuc_value v;
	int64_t dims[3] = { g->t[t].h, g->t[t].w, g->t[t].c };

	ck_assert_int_eq(npuc_value_wrap(&v, NPUC_DT_I8, 3, dims, data, &d), 0);
	return v;
}

/* Runs g (int8 inputs in graph-input order), checks output 0 against want. */
static void run_expect(const void *const *ins, const int8_t *want)
{
	struct npuc_value in[4], out[2];
	int ot = g->outputs[0];

	for (int i = 0; i < g->n_inputs; i++)
		in[i] = i8_value(g->inputs[i], ins[i]);
	ck_assert_msg(npuq_ref_run(g, in, out, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out[0].dtype, NPUC_DT_I8);
	ck_assert_int_eq(out[0].numel, (int64_t)g->t[ot].h * g->t[ot].w * g->t[ot].c);
	for (int64_t i = 0; i < out[0].numel; i++)
		ck_assert_msg(((int8_t *)out[0].data)[i] == want[i], "element %lld: got %d want %d",
			      (long long)i, ((int8_t *)out[0].data)[i], want[i]);
	for (int i = 0; i < g->n_outputs; i++)
		npuc_value_free(&out[i]);
}

static const struct npu_qparam Q_ID = { 0, 1u << 30, 30 };	/* acc unchanged */

/* ---- hand-computed ops ---- */

/* 3x3 input (zp 1), 2x2 kernel (w_zp 1), pad top/left 1: padding taps are x = in_zp. */
START_TEST(test_conv_known)
{
	static const int8_t x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const int8_t w[4] = { 1, 2, 3, 4 };
	static const int8_t want[9] = { 5, 8, 13, 14, 24, 30, 26, 40, 40 };
	struct npu_qparam q = { 10, 1u << 30, 30 };
	struct npuq_conv c = conv_params(2, 2, 1, w, 4, &q, 1);
	const void *ins[1] = { x };
	int tx = ti8("x", 3, 3, 1, 1.0f, 1), ty = ti8("y", 3, 3, 1, 1.0f, -5);

	c.pad_top = c.pad_left = 1;
	c.w_zp = 1;
	c.act_max = 40;
	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	run_expect(ins, want);
}
END_TEST

/* Same input, bottom/right padding instead: taps beyond the input are padding. */
START_TEST(test_conv_pad_bottom_right)
{
	static const int8_t x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 };
	static const int8_t w[4] = { 1, 2, 3, 4 };
	/* x' = x-1, w' = w-1 = [0 1; 2 3]; out = sum x'[oy+ky][ox+kx] w'[ky][kx] */
	static const int8_t want[9] = { 0 + 1 + 6 + 12, 0 + 2 + 8 + 15, 0 + 0 + 10 + 0,
					0 + 4 + 12 + 21, 0 + 5 + 14 + 24, 0 + 0 + 16 + 0,
					0 + 7 + 0 + 0, 0 + 8 + 0 + 0, 0 };
	struct npuq_conv c = conv_params(2, 2, 1, w, 4, &Q_ID, 1);
	const void *ins[1] = { x };
	int tx = ti8("x", 3, 3, 1, 1.0f, 1), ty = ti8("y", 3, 3, 1, 1.0f, 0);

	c.pad_bottom = c.pad_right = 1;
	c.w_zp = 1;
	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	run_expect(ins, want);
}
END_TEST

/* Depthwise 1x1 with per-channel bias/scale, stride 2 and dilation. */
START_TEST(test_conv_depthwise_known)
{
	static const int8_t x[8] = { 1, 2, 3, -4, 5, 6, 7, 8 };	/* (2, 2, 2) */
	static const int8_t w[2] = { 2, -3 };
	struct npu_qparam q[2] = { { 1, 1u << 30, 30 }, { -1, 1u << 30, 31 } };
	/* only pixel (0,0) with stride 2: ch0 1*2+1 = 3; ch1 (2*-3-1)/2 = -3.5 -> -3 */
	static const int8_t want[2] = { 3, -3 };
	struct npuq_conv c = conv_params(1, 1, 2, w, 2, q, 2);
	const void *ins[1] = { x };
	int tx = ti8("x", 2, 2, 2, 1.0f, 0), ty = ti8("y", 1, 1, 2, 1.0f, 0);

	c.stride_h = c.stride_w = 2;
	c.dil_h = 3;
	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	run_expect(ins, want);
}
END_TEST

/* bias INT32_MAX + 1 wraps to INT32_MIN (accumulation modulo 2^32). */
START_TEST(test_conv_wraps)
{
	static const int8_t x[1] = { 1 }, w[1] = { 1 };
	static const int8_t want[1] = { -128 };
	struct npu_qparam q = { INT32_MAX, 1u << 30, 30 };
	struct npuq_conv c = conv_params(1, 1, 1, w, 1, &q, 1);
	const void *ins[1] = { x };
	int tx = ti8("x", 1, 1, 1, 1.0f, 0), ty = ti8("y", 1, 1, 1, 1.0f, 0);

	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	run_expect(ins, want);
}
END_TEST

START_TEST(test_matmul_known)
{
	static const int8_t a[6] = { 1, 2, 3, 4, 5, 6 };
	static const int8_t b[6] = { 1, 0, 0, 1, 1, 1 };
	static const int8_t want[4] = { 2 + 7, 3 + 7, 8 + 7, 9 + 7 };
	struct npuq_matmul p = { .q = { 0, 1u << 30, 30 }, .act_min = -128, .act_max = 127 };
	const void *ins[2] = { a, b };
	int ta = ti8("a", 1, 2, 3, 1.0f, 1), tb = ti8("b", 1, 3, 2, 1.0f, 0);
	int ty = ti8("y", 1, 2, 2, 1.0f, 7), in[2] = { ta, tb };

	node(NPUQ_MATMUL, in, 2, ty, &p);
	io(2, in, 1, &ty);
	run_expect(ins, want);
}
END_TEST

/* A leading extent h > 1 is a batch of independent products. */
START_TEST(test_matmul_batch)
{
	static const int8_t a[4] = { 1, 2, 3, 4 }, b[4] = { 1, 1, 2, 0 };
	static const int8_t want[2] = { 3, 6 };
	struct npuq_matmul p = { .q = { 0, 1u << 30, 30 }, .act_min = -128, .act_max = 127 };
	const void *ins[2] = { a, b };
	int in[2] = { ti8("a", 2, 1, 2, 1.0f, 0), ti8("b", 2, 2, 1, 1.0f, 0) };
	int ty = ti8("y", 2, 1, 1, 1.0f, 0);

	node(NPUQ_MATMUL, in, 2, ty, &p);
	io(2, in, 1, &ty);
	run_expect(ins, want);
}
END_TEST

START_TEST(test_eltwise_known)
{
	static const int8_t a[4] = { 1, 2, 3, 4 }, five[1] = { 5 };
	static const int8_t want_add[4] = { 11, 22, 13, 24 };
	static const int8_t want_sub[4] = { -4, -3, -2, -1 };
	static const int8_t ma[2] = { 3, -2 }, mb[2] = { 1, 4 }, want_mul[2] = { 6, -13 };
	int8_t bc[2] = { 10, 20 };
	/* x1 into the common scale (<< 20), x 2^-20 out: exact integer add. */
	struct npuq_eltwise add = { .op = NPU_ELT_ADD, .bcast = NPU_BCAST_CHANNEL,
				    .a_mult = 1u << 30, .a_shift = 30, .b_mult = 1u << 30,
				    .b_shift = 30, .out_mult = 1u << 30, .out_shift = 50,
				    .act_min = -128, .act_max = 127 };
	struct npuq_eltwise sub = add, mul = add;
	const void *ins[2] = { a, five };
	int ta, tb, ty, in[2];

	add.b_const = dup_mem(bc, 2);
	ta = ti8("a", 1, 2, 2, 1.0f, 0);
	ty = ti8("y", 1, 2, 2, 1.0f, 0);
	node(NPUQ_ELTWISE, &ta, 1, ty, &add);
	io(1, &ta, 1, &ty);
	run_expect(ins, want_add);

	teardown();
	setup();
	sub.op = NPU_ELT_SUB;
	sub.bcast = NPU_BCAST_SCALAR;
	ta = ti8("a", 1, 2, 2, 1.0f, 0);
	tb = ti8("b", 1, 1, 1, 1.0f, 0);
	ty = ti8("y", 1, 2, 2, 1.0f, 0);
	in[0] = ta;
	in[1] = tb;
	node(NPUQ_ELTWISE, in, 2, ty, &sub);
	io(2, in, 1, &ty);
	run_expect(ins, want_sub);

	teardown();
	setup();
	mul.op = NPU_ELT_MUL;
	mul.bcast = NPU_BCAST_NONE;
	mul.out_shift = 30;
	mul.a_mult = 1u << 31;	/* ignored by MUL, as on the device */
	in[0] = ti8("a", 1, 1, 2, 1.0f, 1);
	in[1] = ti8("b", 1, 1, 2, 1.0f, -1);
	ty = ti8("y", 1, 1, 2, 1.0f, 2);
	node(NPUQ_ELTWISE, in, 2, ty, &mul);
	io(2, in, 1, &ty);
	ins[0] = ma;
	ins[1] = mb;
	run_expect(ins, want_mul);	/* (3-1)*(1+1)+2, (-2-1)*(4+1)+2 */
}
END_TEST

static void pool_case(enum npu_pool_mode mode, int count_pad, const int8_t *x, int zp,
		      const int8_t *want)
{
	struct npuq_pool p = { .mode = mode, .k_h = 2, .k_w = 2, .stride_h = 1, .stride_w = 1,
			       .pad_top = 1, .pad_left = 1, .pad_bottom = 1, .pad_right = 1,
			       .count_pad = count_pad, .mult = 1, .shift = 0, .act_min = -128,
			       .act_max = 127 };
	const void *ins[1] = { x };
	int tx, ty;

	teardown();
	setup();
	tx = ti8("x", 2, 2, 1, 1.0f, zp);
	ty = ti8("y", 3, 3, 1, 1.0f, zp);
	node(NPUQ_POOL, &tx, 1, ty, &p);
	io(1, &tx, 1, &ty);
	run_expect(ins, want);
}

START_TEST(test_pool_known)
{
	static const int8_t x[4] = { 1, 2, 3, 4 }, lo[4] = { -128, -128, -128, -128 };
	static const int8_t want_max[9] = { 1, 2, 2, 3, 4, 4, 3, 4, 4 };
	static const int8_t want_avg[9] = { 1, 2, 2, 2, 3, 3, 3, 4, 4 };	/* halves away */
	static const int8_t want_cp[9] = { 0, 1, 1, 1, 3, 2, 1, 2, 1 };	/* / 4 */
	static const int8_t want_lo[9] = { -128, -128, -128, -128, -128, -128, -128, -128,
					   -128 };
	struct npuq_pool gp = { .mode = NPU_POOL_AVG, .k_h = 2, .k_w = 2, .stride_h = 1,
				.stride_w = 1, .mult = 3, .shift = 1, .act_min = -128,
				.act_max = 127 };
	static const int8_t gx[8] = { 1, -1, 2, -2, 3, -3, 5, -5 };
	/* 11*3/8 = 4.125 -> 4, +1; -4.125 -> -4, +1 */
	static const int8_t want_g[2] = { 5, -3 };
	const void *ins[1] = { gx };
	int tx, ty;

	pool_case(NPU_POOL_MAX, 0, x, 0, want_max);
	pool_case(NPU_POOL_AVG, 0, x, 0, want_avg);
	pool_case(NPU_POOL_AVG, 1, x, 0, want_cp);
	/* max(x - zp) below -128 (x = -128, zp = 127) */
	pool_case(NPU_POOL_MAX, 0, lo, 127, want_lo);

	/* global average with out_zp 1: 3/2 * mean */
	teardown();
	setup();
	tx = ti8("x", 2, 2, 2, 1.0f, 0);
	ty = ti8("y", 1, 1, 2, 1.0f, 1);
	node(NPUQ_POOL, &tx, 1, ty, &gp);
	io(1, &tx, 1, &ty);
	run_expect(ins, want_g);
}
END_TEST

START_TEST(test_lut_concat_reshape)
{
	static const int8_t x[4] = { -128, 127, 0, 5 }, want_lut[4] = { 127, -128, -1, -6 };
	static const int8_t a[2] = { 10, 11 }, b[4] = { 1, 2, 3, 4 };
	static const int8_t want_cat[6] = { 8, 1, 2, 9, 3, 4 };
	struct npuq_lut lut = { .fn = NULL };
	const void *ins[2] = { x, NULL };
	int tx, ty, in[2];

	for (int i = 0; i < 256; i++)
		lut.table[i] = (int8_t)(127 - i);
	tx = ti8("x", 1, 1, 4, 1.0f, 0);
	ty = ti8("y", 1, 1, 4, 1.0f, 0);
	node(NPUQ_LUT, &tx, 1, ty, &lut);
	io(1, &tx, 1, &ty);
	run_expect(ins, want_lut);

	/* a (scale 0.5, zp 0) requantised into scale 1 zp 3: 10 -> 5+3, 11 -> 5.5 -> 6+3 */
	teardown();
	setup();
	in[0] = ti8("a", 1, 2, 1, 0.5f, 0);
	in[1] = ti8("b", 1, 2, 2, 1.0f, 3);
	ty = ti8("y", 1, 2, 3, 1.0f, 3);
	node(NPUQ_CONCAT, in, 2, ty, NULL);
	io(2, in, 1, &ty);
	ins[0] = a;
	ins[1] = b;
	run_expect(ins, want_cat);

	/* reshape (2, 2, 1) -> (1, 1, 4): same bytes */
	teardown();
	setup();
	tx = ti8("x", 2, 2, 1, 0.25f, 3);
	ty = ti8("y", 1, 1, 4, 0.25f, 3);
	node(NPUQ_RESHAPE, &tx, 1, ty, NULL);
	io(1, &tx, 1, &ty);
	ins[0] = x;
	run_expect(ins, x);
}
END_TEST

START_TEST(test_quantize_dequantize)
{
	float x[10] = { 2.5f, 3.5f, -2.5f, -0.4f, 1000.0f, -1000.0f, NAN, INFINITY, -INFINITY,
			1.25f };
	static const int8_t want1[10] = { 2, 4, -2, 0, 127, -128, 0, 127, -128, 1 };
	static const int8_t want2[10] = { 15, 17, 5, 9, 127, -128, 0, 127, -128, 12 };
	struct npuc_value in, out[2];
	int64_t dims[2] = { 2, 5 };

	for (int pass = 0; pass < 2; pass++) {
		float scale = pass ? 0.5f : 1.0f;
		int zp = pass ? 10 : 0;
		const int8_t *want = pass ? want2 : want1;
		int tx, tq, ty, outs[2];

		teardown();
		setup();
		tx = tf32("x", 1, 2, 5);
		tq = ti8("q", 1, 2, 5, scale, zp);
		ty = tf32("y", 1, 2, 5);
		g->t[tx].onnx_rank = 2;
		g->t[tx].onnx_dims[0] = 2;
		g->t[tx].onnx_dims[1] = 5;
		node(NPUQ_QUANTIZE, &tx, 1, tq, NULL);
		node(NPUQ_DEQUANTIZE, &tq, 1, ty, NULL);
		outs[0] = tq;
		outs[1] = ty;
		io(1, &tx, 2, outs);
		ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 2, dims, x, &d), 0);
		ck_assert_msg(npuq_ref_run(g, &in, out, NULL, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(out[0].dtype, NPUC_DT_I8);
		ck_assert_int_eq(out[1].dtype, NPUC_DT_F32);
		ck_assert_int_eq(out[1].rank, 3);	/* not given: (h, w, c) */
		for (int i = 0; i < 10; i++) {
			int8_t q = ((int8_t *)out[0].data)[i];

			ck_assert_msg(q == want[i], "pass %d [%d]: %d want %d", pass, i, q,
				      want[i]);
			ck_assert(((float *)out[1].data)[i] == (float)(q - zp) * scale);
		}
		npuc_value_free(&out[0]);
		npuc_value_free(&out[1]);
	}
}
END_TEST

struct obs_log {
	int calls, abort_at;
	int node[16], tensor[16], rank[16];
	enum npuc_dtype dt[16];
	float f1;		/* element 1 of the first F32 value */
};

static int obs_fn(void *ctx, const struct npuq_graph *qg, int nd, int t, const struct npuc_value *v)
{
	struct obs_log *l = ctx;

	ck_assert_ptr_eq(qg, g);
	if (l->calls < 16) {
		l->node[l->calls] = nd;
		l->tensor[l->calls] = t;
		l->rank[l->calls] = v->rank;
		l->dt[l->calls] = v->dtype;
		if (l->calls == 0)
			l->f1 = ((const float *)v->data)[1];
	}
	return ++l->calls == l->abort_at;
}

/*
 * NCHW float input (1, 3, 2, 2) -> QUANTIZE -> 1x1 CONV picking channel 1 ->
 * DEQUANTIZE -> NCHW output (1, 1, 2, 2); the int8 tensor is also an NCHW
 * output. Values are c*10 + y*2 + x.
 */
START_TEST(test_nchw_boundary_and_observer)
{
	float x[12];
	static const int8_t w[3] = { 0, 1, 0 };
	struct npuq_conv c = conv_params(1, 1, 1, w, 3, &Q_ID, 1);
	struct npuc_value in, out[2];
	int64_t dims[4] = { 1, 3, 2, 2 };
	struct obs_log log = { 0 };
	struct npuq_ref_observer obs = { obs_fn, &log };
	int tx = tf32("x", 2, 2, 3), tq = ti8("q", 2, 2, 3, 1.0f, 0);
	int ty = ti8("y", 2, 2, 1, 1.0f, 0), tf = tf32("f", 2, 2, 1), outs[2] = { tf, tq };

	for (int i = 0; i < 12; i++)
		x[i] = (float)((i / 4) * 10 + i % 4);
	set_nchw(tx);
	set_nchw(tq);
	set_nchw(tf);
	node(NPUQ_QUANTIZE, &tx, 1, tq, NULL);
	node(NPUQ_CONV, &tq, 1, ty, &c);
	node(NPUQ_DEQUANTIZE, &ty, 1, tf, NULL);
	io(1, &tx, 2, outs);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 4, dims, x, &d), 0);
	ck_assert_msg(npuq_ref_run(g, &in, out, &obs, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out[0].rank, 4);
	ck_assert(out[0].dims[1] == 1 && out[0].dims[2] == 2 && out[0].dims[3] == 2);
	for (int i = 0; i < 4; i++)
		ck_assert_float_eq(((float *)out[0].data)[i], (float)(10 + i));
	ck_assert_int_eq(out[1].rank, 4);
	for (int i = 0; i < 12; i++)
		ck_assert_int_eq(((int8_t *)out[1].data)[i], (int)x[i]);
	npuc_value_free(&out[0]);
	npuc_value_free(&out[1]);

	/* Observer: input, then each produced tensor in order, ONNX-visible shapes. */
	ck_assert_int_eq(log.calls, 4);
	ck_assert(log.node[0] == -1 && log.tensor[0] == tx && log.dt[0] == NPUC_DT_F32);
	ck_assert_float_eq(log.f1, 1.0f);	/* NCHW order: x[0][0][0][1] */
	ck_assert(log.node[1] == 0 && log.tensor[1] == tq && log.rank[1] == 4 &&
		  log.dt[1] == NPUC_DT_I8);
	ck_assert(log.node[2] == 1 && log.tensor[2] == ty && log.rank[2] == 3);
	ck_assert(log.node[3] == 2 && log.tensor[3] == tf && log.dt[3] == NPUC_DT_F32);

	/* A nonzero return aborts the run; outputs are cleared. */
	memset(&log, 0, sizeof(log));
	log.abort_at = 3;
	ck_assert_int_eq(npuq_ref_run(g, &in, out, &obs, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "observer"));
	ck_assert_int_eq(log.calls, 3);
	ck_assert_ptr_null(out[0].data);
	ck_assert_ptr_null(out[1].data);

	/* An NCHW input must come as (1, c, h, w). */
	dims[1] = 2;
	dims[2] = 3;
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 4, dims, x, &d), 0);
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "NCHW"));
}
END_TEST

/* ---- CPU nodes ---- */

static int src_tensor(struct npuc_graph *s, const char *name, const int64_t *dims)
{
	int t = npuc_graph_add_tensor(s, name, NPUC_DT_F32, 4, dims, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

/*
 * Source graph: m = Mul(x, k) with a per-channel constant k (1, 2, 1, 1),
 * y = Relu(mf). qgraph: CPU(Mul) -> QUANTIZE -> DEQUANTIZE -> CPU(Relu),
 * all float tensors NCHW at the CPU boundary.
 */
START_TEST(test_cpu_nodes)
{
	struct npuc_graph *s = npuc_graph_new();
	int64_t dx[4] = { 1, 2, 2, 2 }, dk[4] = { 1, 2, 1, 1 };
	float kv[2] = { 2.0f, -1.0f }, x[8] = { 1, -2, 3, 4, 5, 6, -7, 8 };
	int sx, sk, sm, smf, sy, qx, qm, qq, qmf, qy;
	struct npuq_cpu c0 = { .src_node = 0 }, c1 = { .src_node = 1 };
	struct npuc_value in, out;
	float *kp = malloc(sizeof(kv));

	ck_assert_ptr_nonnull(s);
	s->opset = 13;
	sx = src_tensor(s, "x", dx);
	sk = src_tensor(s, "k", dk);
	memcpy(kp, kv, sizeof(kv));
	ck_assert_int_eq(npuc_tensor_set_data(s, sk, kp, sizeof(kv), &d), 0);
	sm = src_tensor(s, "m", dx);
	smf = src_tensor(s, "mf", dx);
	sy = src_tensor(s, "y", dx);
	ck_assert_int_ge(npuc_graph_add_node(s, "mul", "Mul", "", (int[]){ sx, sk }, 2, &sm, 1,
					     &d), 0);
	ck_assert_int_ge(npuc_graph_add_node(s, "relu", "Relu", "", &smf, 1, &sy, 1, &d), 0);
	g->src = s;

	qx = tf32("x", 2, 2, 2);
	qm = tf32("m", 2, 2, 2);
	qq = ti8("mq", 2, 2, 2, 1.0f, 0);
	qmf = tf32("mf", 2, 2, 2);
	qy = tf32("y", 2, 2, 2);
	set_nchw(qx);
	set_nchw(qm);
	set_nchw(qmf);
	set_nchw(qy);
	node(NPUQ_CPU, &qx, 1, qm, &c0);
	node(NPUQ_QUANTIZE, &qm, 1, qq, NULL);
	node(NPUQ_DEQUANTIZE, &qq, 1, qmf, NULL);
	node(NPUQ_CPU, &qmf, 1, qy, &c1);
	io(1, &qx, 1, &qy);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 4, dx, x, &d), 0);
	for (int rep = 0; rep < 2; rep++) {	/* constants are borrowed, not consumed */
		ck_assert_msg(npuq_ref_run(g, &in, &out, NULL, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(out.rank, 4);
		for (int i = 0; i < 8; i++) {
			float want = x[i] * kv[i / 4];

			ck_assert_float_eq(((float *)out.data)[i], want > 0 ? want : 0.0f);
		}
		npuc_value_free(&out);
	}
	ck_assert_ptr_eq(s->t[sk].data, kp);

	/* Wrong input count for the source node. */
	g->nodes[0].n_in = 0;
	ck_assert_int_eq(npuq_ref_run(g, &in, &out, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "non-constant"));
	g->nodes[0].n_in = 1;
	/* A source node index out of range. */
	g->nodes[3].u.cpu.src_node = 5;
	ck_assert_int_eq(npuq_ref_run(g, &in, &out, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "source node"));
	/* An op ref_float does not implement. */
	g->nodes[3].u.cpu.src_node = 1;
	free(s->nodes[1].op);
	s->nodes[1].op = strdup("NoSuchOp");
	ck_assert_int_eq(npuq_ref_run(g, &in, &out, NULL, &d), NPUC_REF_UNSUPPORTED);
	ck_assert_ptr_nonnull(strstr(d.msg, "NoSuchOp"));
	ck_assert_ptr_null(out.data);
}
END_TEST

/* A source node reading one tensor twice (Mul(x, x)) has it once in in[]. */
START_TEST(test_cpu_repeated_input)
{
	struct npuc_graph *s = npuc_graph_new();
	int64_t dx[2] = { 2, 3 };
	float x[6] = { 1, -2, 3, 0.5f, 5, -6 };
	struct npuq_cpu c0 = { .src_node = 0, .reason = strdup("test") };
	struct npuc_value in, out;
	int sx, sy, qx, qy;

	ck_assert_ptr_nonnull(s);
	s->opset = 13;
	sx = npuc_graph_add_tensor(s, "x", NPUC_DT_F32, 2, dx, &d);
	sy = npuc_graph_add_tensor(s, "y", NPUC_DT_F32, 2, dx, &d);
	ck_assert_int_ge(npuc_graph_add_node(s, "sq", "Mul", "", (int[]){ sx, sx }, 2, &sy, 1,
					     &d), 0);
	g->src = s;
	qx = tf32("x", 1, 2, 3);
	qy = tf32("y", 1, 2, 3);
	node(NPUQ_CPU, &qx, 1, qy, &c0);
	io(1, &qx, 1, &qy);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 2, dx, x, &d), 0);
	ck_assert_msg(npuq_ref_run(g, &in, &out, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_float_eq(((float *)out.data)[i], x[i] * x[i]);
	npuc_value_free(&out);
}
END_TEST

/* A source tensor of the given type and 2-D shape (constant when data is given). */
static int src_typed(struct npuc_graph *s, const char *name, enum npuc_dtype dt, int rank,
		     int64_t d0, int64_t d1, const void *data)
{
	int64_t dims[2] = { d0, d1 };
	int t = npuc_graph_add_tensor(s, name, dt, rank, dims, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	if (data) {
		size_t n = npuc_dtype_size(dt) * (size_t)(rank > 0 ? d0 : 1) *
			   (size_t)(rank > 1 ? d1 : 1);

		ck_assert_int_eq(npuc_tensor_set_data(s, t, dup_mem(data, n), n, &d), 0);
	}
	return t;
}

/*
 * CPU nodes with integer operands: y = MatMulInteger(a, B, a_zp) (uint8
 * a, int32 y), yf = Cast(y), q = QuantizeLinear(yf, 4, 100) (uint8). In
 * the qgraph a and q are int8 tensors with dtype U8 (int8 domain), y is a
 * CPU-side int32 tensor: the CPU nodes see uint8 / int32 values.
 */
START_TEST(test_cpu_integer_operands)
{
	static const uint8_t a[6] = { 0, 3, 7, 250, 128, 1 }, b[6] = { 1, 2, 3, 4, 5, 255 };
	static const uint8_t azp = 3, qzp = 100;
	static const float qs = 4.0f;
	struct npuc_graph *s = npuc_graph_new();
	struct npuq_cpu c0 = { .src_node = 0 }, c1 = { .src_node = 1 }, c2 = { .src_node = 2 };
	int sa, sy, syf, sq, qa, qy, qyf, qq, outs[2];
	int64_t da[2] = { 2, 3 };
	int32_t want_y[4];
	int8_t ai8[6];
	struct npuc_value in, out[2];

	ck_assert_ptr_nonnull(s);
	s->opset = 13;
	sa = src_typed(s, "a", NPUC_DT_U8, 2, 2, 3, NULL);
	sy = src_typed(s, "y", NPUC_DT_I32, 2, 2, 2, NULL);
	syf = src_typed(s, "yf", NPUC_DT_F32, 2, 2, 2, NULL);
	sq = src_typed(s, "q", NPUC_DT_U8, 2, 2, 2, NULL);
	ck_assert_int_ge(npuc_graph_add_node(s, "mmi", "MatMulInteger", "", (int[]){
		sa, src_typed(s, "B", NPUC_DT_U8, 2, 3, 2, b),
		src_typed(s, "azp", NPUC_DT_U8, 0, 1, 1, &azp) }, 3, &sy, 1, &d), 0);
	ck_assert_int_ge(npuc_graph_add_node(s, "cast", "Cast", "", &sy, 1, &syf, 1, &d), 0);
	gb_attr_i(s, 1, "to", 1);	/* TensorProto FLOAT */
	ck_assert_int_ge(npuc_graph_add_node(s, "q", "QuantizeLinear", "", (int[]){
		syf, src_typed(s, "qs", NPUC_DT_F32, 0, 1, 1, &qs),
		src_typed(s, "qzp", NPUC_DT_U8, 0, 1, 1, &qzp) }, 3, &sq, 1, &d), 0);
	g->src = s;

	qa = ti8("a", 1, 2, 3, 1.0f, 0);
	qy = tf32("y", 1, 2, 2);
	qyf = tf32("yf", 1, 2, 2);
	qq = ti8("q", 1, 2, 2, 4.0f, qzp - 128);
	g->t[qa].dtype = NPUC_DT_U8;
	g->t[qy].dtype = NPUC_DT_I32;
	g->t[qq].dtype = NPUC_DT_U8;
	ck_assert_int_eq(npuq_tensor_bytes(&g->t[qy]), 16);
	ck_assert_int_eq(npuq_tensor_dtype(&g->t[qa]), NPUC_DT_U8);
	ck_assert_int_eq(npuq_tensor_dtype(&g->t[qyf]), NPUC_DT_F32);
	node(NPUQ_CPU, &qa, 1, qy, &c0);
	node(NPUQ_CPU, &qy, 1, qyf, &c1);
	node(NPUQ_CPU, &qyf, 1, qq, &c2);
	outs[0] = qy;
	outs[1] = qq;
	io(1, &qa, 2, outs);
	for (int i = 0; i < 2; i++)
		for (int j = 0; j < 2; j++) {
			want_y[i * 2 + j] = 0;
			for (int k = 0; k < 3; k++)
				want_y[i * 2 + j] += (a[i * 3 + k] - azp) * b[k * 2 + j];
		}
	for (int i = 0; i < 6; i++)
		ai8[i] = (int8_t)(a[i] ^ 0x80);
	/* The input as int8 (the qgraph's domain) and as uint8 (flipped on import). */
	for (int rep = 0; rep < 2; rep++) {
		ck_assert_int_eq(npuc_value_wrap(&in, rep ? NPUC_DT_U8 : NPUC_DT_I8, 2, da,
						 rep ? (const void *)a : ai8, &d), 0);
		ck_assert_msg(npuq_ref_run(g, &in, out, NULL, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(out[0].dtype, NPUC_DT_I32);
		ck_assert_int_eq(out[1].dtype, NPUC_DT_I8);
		ck_assert_int_eq(out[0].numel, 4);
		for (int i = 0; i < 4; i++) {
			float r = rintf((float)want_y[i] / qs) + qzp;
			int qu = r < 0 ? 0 : r > 255 ? 255 : (int)r;

			ck_assert_int_eq(((int32_t *)out[0].data)[i], want_y[i]);
			ck_assert_int_eq(((int8_t *)out[1].data)[i], (int8_t)(qu ^ 0x80));
		}
		npuc_value_free(&out[0]);
		npuc_value_free(&out[1]);
	}
	ck_assert_int_eq(want_y[1], (0 - 3) * 2 + (3 - 3) * 4 + (7 - 3) * 255);

	/* Operand types must be the model's. */
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_I8, 2, da, ai8, &d), 0);
	g->t[qa].dtype = NPUC_DT_I8;
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "is u8 in the model but i8 in the qgraph"), "%s", d.msg);
	g->t[qa].dtype = NPUC_DT_U8;
	g->t[qy].dtype = NPUC_DT_UNDEF;		/* float32: the MatMulInteger result is int32 */
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "f32"));
	g->t[qy].dtype = NPUC_DT_I32;
	/* A type that does not fit the kind of tensor. */
	g->t[qa].dtype = NPUC_DT_F32;
	ck_assert_int_eq(npuq_tensor_dtype(&g->t[qa]), NPUC_DT_UNDEF);
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "does not fit an int8 tensor"), "%s", d.msg);
	g->t[qa].dtype = NPUC_DT_U8;
	g->t[qyf].dtype = NPUC_DT_U8;
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "does not fit a CPU-side tensor"), "%s", d.msg);
	g->t[qyf].dtype = NPUC_DT_UNDEF;
	/* Still runs; a uint8 value for an int8 (I8) tensor is refused. */
	ck_assert_msg(npuq_ref_run(g, &in, out, NULL, &d) == 0, "%s", d.msg);
	npuc_value_free(&out[0]);
	npuc_value_free(&out[1]);
	g->t[qa].dtype = NPUC_DT_I8;
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_U8, 2, da, a, &d), 0);
	ck_assert_int_eq(npuq_ref_run(g, &in, out, NULL, &d), -1);
	ck_assert_msg(strstr(d.msg, "expected i8"), "%s", d.msg);
}
END_TEST

/* ---- errors ---- */

static int expect_fail(const void *const *ins, const char *what)
{
	struct npuc_value in[4], out[2];
	int rc;

	for (int i = 0; i < g->n_inputs; i++)
		in[i] = i8_value(g->inputs[i], ins[i]);
	rc = npuq_ref_run(g, in, out, NULL, &d);
	ck_assert_msg(rc == -1, "expected failure (%s), got %d", what, rc);
	ck_assert_msg(strstr(d.msg, what), "diag '%s' lacks '%s'", d.msg, what);
	for (int i = 0; i < g->n_outputs; i++)
		ck_assert_ptr_null(out[i].data);
	return rc;
}

START_TEST(test_errors)
{
	static const int8_t x[16] = { 0 }, w[16] = { 0 };
	const void *ins[2] = { x, x };
	struct npuq_conv c = conv_params(2, 2, 1, w, 4, &Q_ID, 1);
	struct npuq_eltwise e = { .op = NPU_ELT_ADD, .a_mult = 1, .a_shift = 1, .b_mult = 1,
				  .b_shift = 1, .out_mult = 1, .out_shift = 1, .act_max = 1 };
	struct npuq_pool p = { .mode = NPU_POOL_MAX, .k_h = 2, .k_w = 2, .stride_h = 1,
			       .stride_w = 1, .act_max = 1 };
	struct npuc_value in, out;
	int tx, ty, tz, in2[2];

	/* CONV output extent inconsistent with pads/kernel. */
	tx = ti8("x", 3, 3, 1, 1.0f, 0);
	ty = ti8("y", 3, 3, 1, 1.0f, 0);
	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	expect_fail(ins, "does not match");
	g->nodes[0].u.conv.pad_bottom = 1;
	g->nodes[0].u.conv.pad_right = 1;
	g->nodes[0].u.conv.groups = 2;
	expect_fail(ins, "groups");
	g->nodes[0].u.conv.groups = 1;
	g->nodes[0].u.conv.act_min = 5;
	g->nodes[0].u.conv.act_max = 4;
	expect_fail(ins, "act_min");
	g->nodes[0].u.conv.act_min = -128;
	g->nodes[0].u.conv.pad_top = -1;
	expect_fail(ins, "padding");
	g->nodes[0].u.conv.pad_top = 0;
	g->nodes[0].u.conv.dil_h = 0;
	expect_fail(ins, "dilation");
	g->nodes[0].u.conv.dil_h = 1;
	g->t[tx].flags |= NPUQ_T_FLOAT;
	in = i8_value(tx, x);
	ck_assert_int_eq(npuq_ref_run(g, &in, &out, NULL, &d), -1);	/* I8 value for F32 */
	ck_assert_ptr_nonnull(strstr(d.msg, "expected f32"));
	g->t[tx].flags &= ~NPUQ_T_FLOAT;
	/* Wrong element count. */
	{
		int64_t dims[1] = { 8 };

		ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_I8, 1, dims, x, &d), 0);
		ck_assert_int_eq(npuq_ref_run(g, &in, &out, NULL, &d), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "9 elements"));
	}
	ck_assert_int_eq(npuq_ref_run(g, NULL, &out, NULL, &d), -1);
	/* Now valid: it runs. */
	in = i8_value(tx, x);
	ck_assert_msg(npuq_ref_run(g, &in, &out, NULL, &d) == 0, "%s", d.msg);
	npuc_value_free(&out);
	/* A tensor nobody produces. */
	g->inputs[0] = ti8("orphan", 1, 1, 1, 1.0f, 0);
	expect_fail(ins, "has no value");

	/* ELTWISE: bad shift, bad broadcast size. */
	teardown();
	setup();
	in2[0] = ti8("a", 1, 2, 2, 1.0f, 0);
	in2[1] = ti8("b", 1, 1, 2, 1.0f, 0);
	tz = ti8("z", 1, 2, 2, 1.0f, 0);
	e.out_shift = 63;
	node(NPUQ_ELTWISE, in2, 2, tz, &e);
	io(2, in2, 1, &tz);
	expect_fail(ins, "shift");
	g->nodes[0].u.eltwise.out_shift = 62;
	g->nodes[0].u.eltwise.a_mult = 1u << 31;
	expect_fail(ins, "multiplier");
	g->nodes[0].u.eltwise.a_mult = 1;
	expect_fail(ins, "broadcast mode");
	g->nodes[0].u.eltwise.bcast = NPU_BCAST_CHANNEL;
	ck_assert_msg(npuq_ref_run(g, (struct npuc_value[]){ i8_value(in2[0], x),
			i8_value(in2[1], x) }, &out, NULL, &d) == 0, "%s", d.msg);
	npuc_value_free(&out);
	g->nodes[0].u.eltwise.bcast = (enum npu_bcast)7;
	expect_fail(ins, "broadcast");
	g->nodes[0].u.eltwise.bcast = NPU_BCAST_CHANNEL;
	g->nodes[0].u.eltwise.op = (enum npu_eltwise_op)3;
	expect_fail(ins, "bad op");

	/* POOL: output extent, window limit. */
	teardown();
	setup();
	tx = ti8("x", 3, 3, 1, 1.0f, 0);
	ty = ti8("y", 3, 3, 1, 1.0f, 0);
	node(NPUQ_POOL, &tx, 1, ty, &p);
	io(1, &tx, 1, &ty);
	expect_fail(ins, "does not match");
	g->nodes[0].u.pool.k_h = 300;
	g->nodes[0].u.pool.k_w = 300;
	expect_fail(ins, "window");
	g->nodes[0].u.pool.k_h = 1;
	g->nodes[0].u.pool.k_w = 1;
	g->nodes[0].u.pool.shift = 41;
	expect_fail(ins, "shift");

	/* RESHAPE with different quantisation; CONCAT channel mismatch; int8 into QUANTIZE. */
	teardown();
	setup();
	tx = ti8("x", 2, 2, 1, 1.0f, 0);
	ty = ti8("y", 1, 1, 4, 0.5f, 0);
	node(NPUQ_RESHAPE, &tx, 1, ty, NULL);
	io(1, &tx, 1, &ty);
	expect_fail(ins, "quantisation differ");
	g->nodes[0].op = NPUQ_CONCAT;
	expect_fail(ins, "does not fit");
	g->nodes[0].op = NPUQ_QUANTIZE;
	expect_fail(ins, "types");
	g->nodes[0].op = NPUQ_MATMUL;
	expect_fail(ins, "input(s)");
	g->nodes[0].op = (enum npuq_op)99;
	expect_fail(ins, "unknown op");
	/* Bad indices are caught before anything runs. */
	g->nodes[0].op = NPUQ_RESHAPE;
	g->nodes[0].in[0] = 42;
	expect_fail(ins, "refers to no tensor");
	g->nodes[0].in[0] = tx;
	g->outputs[0] = -3;
	{
		struct npuc_value v = i8_value(tx, x);

		ck_assert_int_eq(npuq_ref_run(g, &v, &out, NULL, &d), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "index"));
	}
	ck_assert_int_eq(npuq_ref_run(NULL, NULL, NULL, NULL, &d), -1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Bit-exactness against libnpusim                                     */
/* ------------------------------------------------------------------ */

#define SIM_DRAM (4u << 20)

struct simcase {
	struct tjob j;
	struct trng r;
	uint32_t next;		/* SRAM bump allocator */
	int idx;
	const char *tag;
};

static uint32_t sram_put(struct simcase *sc, const void *data, uint32_t len)
{
	uint32_t at = sc->next + (uint32_t)trng_range(&sc->r, 0, 15);

	sc->next = at + len;
	ck_assert_uint_le(sc->next, sc->j.sram_bytes);
	tjob_load(&sc->j, at, data, len);
	return at;
}

static void sim_begin(struct simcase *sc)
{
	tjob_reset(&sc->j);
	sc->next = 0;
}

/* Ends the stream with a store of the output, runs it, compares with want. */
static void sim_finish(struct simcase *sc, uint32_t out_addr, const int8_t *want, uint32_t len,
		       const char *desc)
{
	struct npu_job_report rep;
	uint64_t va;
	const int8_t *got;
	int f;

	st_wait_idle(&sc->j.s);
	va = tjob_store(&sc->j, out_addr, len);
	f = tjob_run(&sc->j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s case %d seed 0x%llx: fault %s (%s)", sc->tag,
		      sc->idx, (unsigned long long)sc->r.seed, npusim_fault_name((uint32_t)f),
		      desc);
	got = (const int8_t *)tdram_ptr(&sc->j.dram, va, len);
	for (uint32_t i = 0; i < len; i++)
		ck_assert_msg(got[i] == want[i], "%s case %d seed 0x%llx: byte %u sim %d qref %d "
			      "(%s)", sc->tag, sc->idx, (unsigned long long)sc->r.seed, i,
			      got[i], want[i], desc);
}

/* Runs the qgraph g on int8 inputs; returns output 0 (malloc'd). */
static int8_t *qref_out(const int8_t *const *ins, uint32_t *len)
{
	struct npuc_value in[2], out;
	int8_t *p;

	for (int i = 0; i < g->n_inputs; i++)
		in[i] = i8_value(g->inputs[i], ins[i]);
	ck_assert_msg(npuq_ref_run(g, in, &out, NULL, &d) == 0, "%s", d.msg);
	*len = (uint32_t)out.numel;
	p = dup_mem(out.data, (size_t)out.numel);
	npuc_value_free(&out);
	return p;
}

static int8_t *rand_i8(struct trng *r, size_t n)
{
	int8_t *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	trng_fill_i8(r, p, n);
	return p;
}

static void rand_act(struct trng *r, int8_t *lo, int8_t *hi)
{
	int a = (int)trng_range(r, -128, 127), b = (int)trng_range(r, -128, 127);

	if (trng_chance(r, 50)) {
		*lo = -128;
		*hi = 127;
		return;
	}
	*lo = (int8_t)(a < b ? a : b);
	*hi = (int8_t)(a < b ? b : a);
}

static struct npu_qparam rand_qparam(struct trng *r, uint64_t terms)
{
	uint8_t b[12];
	struct npu_qparam q;
	uint32_t v[3];

	trng_qparam(r, b, terms);
	for (int i = 0; i < 3; i++)
		v[i] = (uint32_t)b[4 * i] | (uint32_t)b[4 * i + 1] << 8 |
		       (uint32_t)b[4 * i + 2] << 16 | (uint32_t)b[4 * i + 3] << 24;
	q.bias = (int32_t)v[0];
	q.mult = v[1];
	q.shift = v[2];
	return q;
}

static void sim_init(struct simcase *sc, uint64_t seed, const char *tag)
{
	memset(sc, 0, sizeof(*sc));
	tjob_init(&sc->j, NULL, SIM_DRAM);
	trng_init(&sc->r, seed);
	sc->tag = tag;
}

static void sim_fini(struct simcase *sc)
{
	tjob_free(&sc->j);
}

/* One random CONV: general, grouped or depthwise (with channel multiplier). */
static void conv_case(struct simcase *sc)
{
	struct trng *r = &sc->r;
	struct npuq_conv c = { 0 };
	struct npu_cmd_conv cmd;
	int kind = (int)trng_range(r, 0, 2), ih, iw, ic, oc, oh, ow, icg;
	int tx, ty;
	int8_t *x, *w, *want;
	struct npu_qparam *q;
	uint8_t *qimg;
	uint32_t len, in_a, w_a, q_a, out_a;
	int64_t macs;
	char desc[200];

	do {
		ih = (int)trng_range(r, 1, 9);
		iw = (int)trng_range(r, 1, 9);
		c.k_h = (int)trng_range(r, 1, trng_chance(r, 10) ? 7 : 3);
		c.k_w = (int)trng_range(r, 1, trng_chance(r, 10) ? 7 : 3);
		c.stride_h = (int)trng_range(r, 1, 3);
		c.stride_w = (int)trng_range(r, 1, 3);
		c.dil_h = trng_chance(r, 25) ? (int)trng_range(r, 2, 3) : 1;
		c.dil_w = trng_chance(r, 25) ? (int)trng_range(r, 2, 3) : 1;
		c.pad_top = (int)trng_range(r, 0, c.k_h);
		c.pad_left = (int)trng_range(r, 0, c.k_w);
		c.pad_bottom = (int)trng_range(r, 0, c.k_h);
		c.pad_right = (int)trng_range(r, 0, c.k_w);
		if (kind == 0) {
			c.groups = 1;
			ic = (int)trng_range(r, 1, 40);
			oc = (int)trng_range(r, 1, 40);
		} else if (kind == 1) {
			c.groups = (int)trng_range(r, 2, 4);
			ic = c.groups * (int)trng_range(r, 1, 8);
			oc = c.groups * (int)trng_range(r, 1, 8);
		} else {
			c.groups = ic = (int)trng_range(r, 1, 48);
			oc = ic * (int)trng_range(r, 1, 2);
		}
		oh = (ih + c.pad_top + c.pad_bottom - (c.k_h - 1) * c.dil_h - 1);
		ow = (iw + c.pad_left + c.pad_right - (c.k_w - 1) * c.dil_w - 1);
		oh = oh < 0 ? 0 : oh / c.stride_h + 1;
		ow = ow < 0 ? 0 : ow / c.stride_w + 1;
		macs = (int64_t)oh * ow * oc * c.k_h * c.k_w * (ic / c.groups);
	} while (oh < 1 || ow < 1 || macs > 60000);
	icg = ic / c.groups;
	c.w_zp = (int8_t)(trng_chance(r, 30) ? trng_range(r, -128, 127) : 0);
	rand_act(r, &c.act_min, &c.act_max);
	x = rand_i8(r, (size_t)ih * iw * ic);
	w = rand_i8(r, (size_t)oc * c.k_h * c.k_w * icg);
	q = malloc(sizeof(*q) * (size_t)oc);
	qimg = malloc(12 * (size_t)oc);
	ck_assert(q && qimg);
	for (int i = 0; i < oc; i++) {
		trng_qparam(r, qimg + 12 * i, (uint64_t)c.k_h * c.k_w * icg);
		memcpy(&q[i], qimg + 12 * i, 12);	/* little-endian host */
	}

	teardown();
	setup();
	tx = ti8("x", ih, iw, ic, 1.0f, (int)trng_range(r, -128, 127));
	ty = ti8("y", oh, ow, oc, 1.0f, (int)trng_range(r, -128, 127));
	memset(&cmd, 0, sizeof(cmd));
	cmd.in_zp = (int8_t)g->t[tx].zp;
	cmd.out_zp = (int8_t)g->t[ty].zp;
	c.w = dup_mem(w, (size_t)oc * c.k_h * c.k_w * icg);
	c.q = dup_mem(q, sizeof(*q) * (size_t)oc);
	cmd.w_zp = c.w_zp;
	cmd.act_min = c.act_min;
	cmd.act_max = c.act_max;
	cmd.in_h = (uint16_t)ih;
	cmd.in_w = (uint16_t)iw;
	cmd.in_c = cmd.in_pix_stride = (uint16_t)ic;
	cmd.out_h = (uint16_t)oh;
	cmd.out_w = (uint16_t)ow;
	cmd.out_c = cmd.out_pix_stride = (uint16_t)oc;
	cmd.k_h = (uint8_t)c.k_h;
	cmd.k_w = (uint8_t)c.k_w;
	cmd.stride_h = (uint8_t)c.stride_h;
	cmd.stride_w = (uint8_t)c.stride_w;
	cmd.dil_h = (uint8_t)c.dil_h;
	cmd.dil_w = (uint8_t)c.dil_w;
	cmd.pad_top = (uint8_t)c.pad_top;
	cmd.pad_left = (uint8_t)c.pad_left;
	cmd.groups = (uint16_t)c.groups;
	node(NPUQ_CONV, &tx, 1, ty, &c);
	io(1, &tx, 1, &ty);
	want = qref_out((const int8_t *const[]){ x }, &len);
	ck_assert_uint_eq(len, (uint32_t)(oh * ow * oc));

	snprintf(desc, sizeof(desc), "conv in %dx%dx%d out %dx%dx%d k %dx%d s %d,%d d %d,%d "
		 "p %d,%d,%d,%d g %d", ih, iw, ic, oh, ow, oc, c.k_h, c.k_w, c.stride_h,
		 c.stride_w, c.dil_h, c.dil_w, c.pad_top, c.pad_left, c.pad_bottom, c.pad_right,
		 c.groups);
	sim_begin(sc);
	in_a = sram_put(sc, x, (uint32_t)(ih * iw * ic));
	w_a = sram_put(sc, w, (uint32_t)(oc * c.k_h * c.k_w * icg));
	q_a = sram_put(sc, qimg, 12u * (uint32_t)oc);
	out_a = sc->next + 64;
	st_wait_idle(&sc->j.s);
	cmd.in_addr = in_a;
	cmd.w_addr = w_a;
	cmd.q_addr = q_a;
	cmd.out_addr = out_a;
	st_conv(&sc->j.s, &cmd);
	sim_finish(sc, out_a, want, len, desc);
	free(x);
	free(w);
	free(q);
	free(qimg);
	free(want);
}

static void matmul_case(struct simcase *sc)
{
	struct trng *r = &sc->r;
	int m = (int)trng_range(r, 1, 24), k = (int)trng_range(r, 1, 64);
	int n = (int)trng_range(r, 1, 24);
	struct npuq_matmul p = { .q = rand_qparam(r, (uint64_t)k) };
	struct npu_cmd_matmul cmd;
	int8_t *a = rand_i8(r, (size_t)m * k), *b = rand_i8(r, (size_t)k * n), *want;
	uint8_t qimg[12];
	uint32_t len, a_a, b_a, q_a, out_a;
	int ta, tb, ty, in[2];
	char desc[96];

	rand_act(r, &p.act_min, &p.act_max);
	teardown();
	setup();
	ta = ti8("a", 1, m, k, 1.0f, (int)trng_range(r, -128, 127));
	tb = ti8("b", 1, k, n, 1.0f, (int)trng_range(r, -128, 127));
	ty = ti8("y", 1, m, n, 1.0f, (int)trng_range(r, -128, 127));
	in[0] = ta;
	in[1] = tb;
	node(NPUQ_MATMUL, in, 2, ty, &p);
	io(2, in, 1, &ty);
	want = qref_out((const int8_t *const[]){ a, b }, &len);

	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = NPU_CONV_F_PER_TENSOR_Q;
	cmd.m = (uint16_t)m;
	cmd.k = cmd.a_row_stride = (uint16_t)k;
	cmd.n = cmd.out_row_stride = (uint16_t)n;
	cmd.a_zp = (int8_t)g->t[ta].zp;
	cmd.b_zp = (int8_t)g->t[tb].zp;
	cmd.out_zp = (int8_t)g->t[ty].zp;
	cmd.act_min = p.act_min;
	cmd.act_max = p.act_max;
	put_qparam(qimg, p.q.bias, p.q.mult, p.q.shift);
	snprintf(desc, sizeof(desc), "matmul %dx%dx%d", m, k, n);
	sim_begin(sc);
	a_a = sram_put(sc, a, (uint32_t)(m * k));
	b_a = sram_put(sc, b, (uint32_t)(k * n));
	q_a = sram_put(sc, qimg, 12);
	out_a = sc->next + 32;
	st_wait_idle(&sc->j.s);
	cmd.a_addr = a_a;
	cmd.b_addr = b_a;
	cmd.q_addr = q_a;
	cmd.out_addr = out_a;
	st_matmul(&sc->j.s, &cmd);
	sim_finish(sc, out_a, want, len, desc);
	free(a);
	free(b);
	free(want);
}

/* A rescale (mult, shift) around 2^-target_log2, sometimes at the extremes. */
static void rand_rescale(struct trng *r, int target, uint32_t *mult, uint8_t *shift)
{
	int64_t s = 31 + target + trng_range(r, -2, 2);

	*mult = (uint32_t)trng_range(r, 1u << 30, 0x7fffffff);
	if (trng_chance(r, 5))
		*mult = (uint32_t)trng_range(r, 0, 0xffff);
	if (trng_chance(r, 4))
		s = trng_chance(r, 50) ? 1 : 62;
	if (s < 1)
		s = 1;
	if (s > 62)
		s = 62;
	*shift = (uint8_t)s;
}

static void eltwise_case(struct simcase *sc)
{
	struct trng *r = &sc->r;
	int h = (int)trng_range(r, 1, 6), w = (int)trng_range(r, 1, 6);
	int c = (int)trng_range(r, 1, 24), cnt = h * w * c, blen, use_const;
	struct npuq_eltwise p = { .op = (enum npu_eltwise_op)trng_range(r, 0, 2),
				  .bcast = (enum npu_bcast)trng_range(r, 0, 2) };
	struct npu_cmd_eltwise cmd;
	int8_t *a = rand_i8(r, (size_t)cnt), *b, *want;
	uint32_t len, a_a, b_a, out_a;
	int ta, tb = -1, ty, in[2];
	char desc[96];

	blen = p.bcast == NPU_BCAST_NONE ? cnt : p.bcast == NPU_BCAST_SCALAR ? 1 : c;
	b = rand_i8(r, (size_t)blen);
	use_const = trng_chance(r, 40);
	rand_rescale(r, 0, &p.a_mult, &p.a_shift);
	rand_rescale(r, 0, &p.b_mult, &p.b_shift);
	rand_rescale(r, p.op == NPU_ELT_MUL ? 7 : 20, &p.out_mult, &p.out_shift);
	rand_act(r, &p.act_min, &p.act_max);
	teardown();
	setup();
	ta = ti8("a", h, w, c, 1.0f, (int)trng_range(r, -128, 127));
	ty = ti8("y", h, w, c, 1.0f, (int)trng_range(r, -128, 127));
	in[0] = ta;
	if (use_const) {
		p.b_const = dup_mem(b, (size_t)blen);
		p.b_zp = (int32_t)trng_range(r, -128, 127);
		node(NPUQ_ELTWISE, in, 1, ty, &p);
		io(1, in, 1, &ty);
		want = qref_out((const int8_t *const[]){ a }, &len);
	} else {
		tb = p.bcast == NPU_BCAST_NONE ? ti8("b", h, w, c, 1.0f, 0) :
		     ti8("b", 1, 1, blen, 1.0f, 0);
		g->t[tb].zp = (int32_t)trng_range(r, -128, 127);
		in[1] = tb;
		node(NPUQ_ELTWISE, in, 2, ty, &p);
		io(2, in, 1, &ty);
		want = qref_out((const int8_t *const[]){ a, b }, &len);
	}
	ck_assert_uint_eq(len, (uint32_t)cnt);

	memset(&cmd, 0, sizeof(cmd));
	cmd.op = (uint8_t)p.op;
	cmd.bcast = (uint8_t)p.bcast;
	cmd.count = (uint32_t)cnt;
	cmd.channels = p.bcast == NPU_BCAST_CHANNEL ? (uint32_t)c : 0;
	cmd.a_zp = (int8_t)g->t[ta].zp;
	cmd.b_zp = (int8_t)(use_const ? p.b_zp : g->t[tb].zp);
	cmd.out_zp = (int8_t)g->t[ty].zp;
	cmd.act_min = p.act_min;
	cmd.act_max = p.act_max;
	cmd.a_mult = p.a_mult;
	cmd.a_shift = p.a_shift;
	cmd.b_mult = p.b_mult;
	cmd.b_shift = p.b_shift;
	cmd.out_mult = p.out_mult;
	cmd.out_shift = p.out_shift;
	snprintf(desc, sizeof(desc), "eltwise op %d bcast %d %dx%dx%d const %d", p.op, p.bcast,
		 h, w, c, use_const);
	sim_begin(sc);
	a_a = sram_put(sc, a, (uint32_t)cnt);
	b_a = sram_put(sc, b, (uint32_t)blen);
	out_a = sc->next + 16;
	st_wait_idle(&sc->j.s);
	cmd.a_addr = a_a;
	cmd.b_addr = b_a;
	cmd.out_addr = out_a;
	st_eltwise(&sc->j.s, &cmd);
	sim_finish(sc, out_a, want, len, desc);
	free(a);
	free(b);
	free(want);
}

static void pool_rand_case(struct simcase *sc)
{
	struct trng *r = &sc->r;
	struct npuq_pool p = { .mode = (enum npu_pool_mode)trng_range(r, 0, 1) };
	struct npu_cmd_pool cmd;
	int ih, iw, c, oh, ow, tx, ty;
	int8_t *x, *want;
	uint32_t len, in_a, out_a;
	char desc[128];

	do {
		ih = (int)trng_range(r, 1, 10);
		iw = (int)trng_range(r, 1, 10);
		c = (int)trng_range(r, 1, 20);
		if (trng_chance(r, 15)) {	/* global */
			p.k_h = ih;
			p.k_w = iw;
		} else {
			p.k_h = (int)trng_range(r, 1, 4);
			p.k_w = (int)trng_range(r, 1, 4);
		}
		p.stride_h = (int)trng_range(r, 1, 3);
		p.stride_w = (int)trng_range(r, 1, 3);
		p.pad_top = (int)trng_range(r, 0, p.k_h - 1 > 3 ? 3 : p.k_h - 1);
		p.pad_left = (int)trng_range(r, 0, p.k_w - 1 > 3 ? 3 : p.k_w - 1);
		p.pad_bottom = (int)trng_range(r, 0, p.k_h);	/* may exceed k-1: empty windows */
		p.pad_right = (int)trng_range(r, 0, p.k_w);
		oh = ih + p.pad_top + p.pad_bottom - p.k_h;
		ow = iw + p.pad_left + p.pad_right - p.k_w;
		oh = oh < 0 ? 0 : oh / p.stride_h + 1;
		ow = ow < 0 ? 0 : ow / p.stride_w + 1;
	} while (oh < 1 || ow < 1);
	p.count_pad = (int)trng_range(r, 0, 1);
	p.shift = (uint32_t)trng_range(r, 0, NPU_POOL_SHIFT_MAX);
	p.mult = (uint32_t)trng_range(r, 0, 0x7fffffff);
	if (p.shift <= 29 && trng_chance(r, 70))	/* near 1x, the common case */
		p.mult = (uint32_t)(((uint64_t)1 << p.shift) + trng_range(r, 0, 1 << p.shift));
	rand_act(r, &p.act_min, &p.act_max);
	x = rand_i8(r, (size_t)ih * iw * c);
	teardown();
	setup();
	tx = ti8("x", ih, iw, c, 1.0f, (int)trng_range(r, -128, 127));
	ty = ti8("y", oh, ow, c, 1.0f, (int)trng_range(r, -128, 127));
	node(NPUQ_POOL, &tx, 1, ty, &p);
	io(1, &tx, 1, &ty);
	want = qref_out((const int8_t *const[]){ x }, &len);

	memset(&cmd, 0, sizeof(cmd));
	cmd.mode = (uint8_t)p.mode;
	cmd.flags = p.count_pad ? NPU_POOL_F_COUNT_PAD : 0;
	cmd.in_h = (uint16_t)ih;
	cmd.in_w = (uint16_t)iw;
	cmd.c = (uint16_t)c;
	cmd.out_h = (uint16_t)oh;
	cmd.out_w = (uint16_t)ow;
	cmd.k_h = (uint16_t)p.k_h;
	cmd.k_w = (uint16_t)p.k_w;
	cmd.stride_h = (uint8_t)p.stride_h;
	cmd.stride_w = (uint8_t)p.stride_w;
	cmd.pad_top = (uint8_t)p.pad_top;
	cmd.pad_left = (uint8_t)p.pad_left;
	cmd.in_zp = (int8_t)g->t[tx].zp;
	cmd.out_zp = (int8_t)g->t[ty].zp;
	cmd.act_min = p.act_min;
	cmd.act_max = p.act_max;
	cmd.mult = p.mult;
	cmd.shift = p.shift;
	snprintf(desc, sizeof(desc), "pool mode %d cp %d in %dx%dx%d out %dx%d k %dx%d s %d,%d "
		 "p %d,%d,%d,%d", p.mode, p.count_pad, ih, iw, c, oh, ow, p.k_h, p.k_w,
		 p.stride_h, p.stride_w, p.pad_top, p.pad_left, p.pad_bottom, p.pad_right);
	sim_begin(sc);
	in_a = sram_put(sc, x, (uint32_t)(ih * iw * c));
	out_a = sc->next + 16;
	st_wait_idle(&sc->j.s);
	cmd.in_addr = in_a;
	cmd.out_addr = out_a;
	st_pool(&sc->j.s, &cmd);
	sim_finish(sc, out_a, want, len, desc);
	free(x);
	free(want);
}

static void lut_case(struct simcase *sc)
{
	struct trng *r = &sc->r;
	int cnt = (int)trng_range(r, 1, 600);
	struct npuq_lut p = { .fn = strdup("rand") };
	struct npu_cmd_lut cmd = { 0 };
	int8_t *x = rand_i8(r, (size_t)cnt), *want;
	uint32_t len, t_a, in_a, out_a;
	int tx, ty;

	trng_fill(r, p.table, sizeof(p.table));
	teardown();
	setup();
	tx = ti8("x", 1, 1, cnt, 1.0f, 0);
	ty = ti8("y", 1, 1, cnt, 1.0f, 0);
	node(NPUQ_LUT, &tx, 1, ty, &p);
	io(1, &tx, 1, &ty);
	want = qref_out((const int8_t *const[]){ x }, &len);
	sim_begin(sc);
	t_a = sram_put(sc, g->nodes[0].u.lut.table, 256);
	in_a = sram_put(sc, x, (uint32_t)cnt);
	out_a = sc->next + 8;
	st_wait_idle(&sc->j.s);
	cmd.in_addr = in_a;
	cmd.out_addr = out_a;
	cmd.table_addr = t_a;
	cmd.count = (uint32_t)cnt;
	st_lut(&sc->j.s, &cmd);
	sim_finish(sc, out_a, want, len, "lut");
	free(x);
	free(want);
}

#define SIM_TEST(name, fn, n, seed)				\
START_TEST(name)						\
{								\
	struct simcase sc;					\
								\
	sim_init(&sc, seed, #fn);				\
	for (sc.idx = 0; sc.idx < (n); sc.idx++)		\
		fn(&sc);					\
	sim_fini(&sc);						\
}								\
END_TEST

SIM_TEST(test_sim_conv, conv_case, 100, 0x51c0417ull)
SIM_TEST(test_sim_matmul, matmul_case, 40, 0x51a7a7ull)
SIM_TEST(test_sim_eltwise, eltwise_case, 60, 0x51e17ull)
SIM_TEST(test_sim_pool, pool_rand_case, 60, 0x519001ull)
SIM_TEST(test_sim_lut, lut_case, 20, 0x5117ull)

Suite *suite_qref(void);
Suite *suite_qref(void)
{
	Suite *s = suite_create("qref");
	TCase *tc = tcase_create("ops");
	TCase *sim = tcase_create("sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_conv_known);
	tcase_add_test(tc, test_conv_pad_bottom_right);
	tcase_add_test(tc, test_conv_depthwise_known);
	tcase_add_test(tc, test_conv_wraps);
	tcase_add_test(tc, test_matmul_known);
	tcase_add_test(tc, test_matmul_batch);
	tcase_add_test(tc, test_eltwise_known);
	tcase_add_test(tc, test_pool_known);
	tcase_add_test(tc, test_lut_concat_reshape);
	tcase_add_test(tc, test_quantize_dequantize);
	tcase_add_test(tc, test_nchw_boundary_and_observer);
	tcase_add_test(tc, test_cpu_nodes);
	tcase_add_test(tc, test_cpu_repeated_input);
	tcase_add_test(tc, test_cpu_integer_operands);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(sim, setup, teardown);
	tcase_add_test(sim, test_sim_conv);
	tcase_add_test(sim, test_sim_matmul);
	tcase_add_test(sim, test_sim_eltwise);
	tcase_add_test(sim, test_sim_pool);
	tcase_add_test(sim, test_sim_lut);
	suite_add_tcase(s, sim);
	return s;
}
