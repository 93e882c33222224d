// SPDX-License-Identifier: MIT
/*
 * Pre-quantised ONNX import (compiler/frontend/qdq_import.c): hand-built
 * QOperator and QDQ graphs. Each test checks the qgraph's structure and
 * integer parameters (uint8 -> int8 mapping, w_zp, requantisation
 * multipliers, fused activations, CPU fallback reasons) and then runs the
 * qgraph with the int8 reference executor against the float reference
 * executor running the source graph with ONNX semantics: 8-bit outputs
 * must agree within 1 LSB (fixed-point vs float rounding,
 * Documentation/npu-arithmetic.rst), and mostly exactly; integer results
 * of CPU nodes (ConvInteger, ...) exactly, also after lowering to an
 * .npub run on libnpusim.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ir.h"
#include "util/graph_build.h"
#include "lower.h"
#include "npub.h"
#include "npub_exec.h"
#include "qdq_import.h"
#include "qir.h"
#include "qref.h"
#include "ref_float.h"
#include "shape_infer.h"

static struct npuc_graph *g;
static struct npuq_graph *q;
static struct npuc_diag d;
static unsigned int seed;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	g->opset = 13;
	q = NULL;
	seed = 12345;
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	npuq_graph_free(q);
	npuc_graph_free(g);
	g = NULL;
	q = NULL;
}

/* ---- graph building ---- */

static unsigned int rnd(void)
{
	seed = seed * 1103515245u + 12345u;
	return seed >> 8;
}

static int cf(const char *name, float v)
{
	return gb_const_t(g, name, NPUC_DT_F32, 0, NULL, &v);
}

static int c8(const char *name, enum npuc_dtype dt, int v)
{
	uint8_t b = (uint8_t)v;

	return gb_const_t(g, name, dt, 0, NULL, &b);
}

/* Constant of n random 8-bit values. */
static int crand8(const char *name, enum npuc_dtype dt, int rank, const int64_t *dims)
{
	uint8_t buf[4096];

	for (int i = 0; i < 4096; i++)
		buf[i] = (uint8_t)rnd();
	return gb_const_t(g, name, dt, rank, dims, buf);
}

/* A tensor of unknown shape (filled by shape inference). */
static int tmp(const char *name, enum npuc_dtype dt)
{
	return gb_tensor_t(g, name, dt, -1, NULL);
}

/* QuantizeLinear of float tensor x with constant parameters. */
static int quant(const char *name, int x, float s, int zp, enum npuc_dtype dt)
{
	char b[64];
	int in[3], y;

	snprintf(b, sizeof(b), "%s_s", name);
	in[0] = x;
	in[1] = cf(b, s);
	snprintf(b, sizeof(b), "%s_zp", name);
	in[2] = c8(b, dt, zp);
	y = tmp(name, dt);
	gb_node1(g, "QuantizeLinear", in, 3, y);
	return y;
}

static int dequant(const char *name, int x, float s, int zp)
{
	char b[64];
	int in[3], y;

	snprintf(b, sizeof(b), "%s_s", name);
	in[0] = x;
	in[1] = cf(b, s);
	snprintf(b, sizeof(b), "%s_zp", name);
	in[2] = c8(b, g->t[x].dtype, zp);
	y = tmp(name, NPUC_DT_F32);
	gb_node1(g, "DequantizeLinear", in, 3, y);
	return y;
}

/* Per-axis DQ of a constant with n scales s[] and zero points 0. */
static int dequant_axis(const char *name, int w, int axis, int n, const float *s)
{
	int64_t dn = n;
	uint8_t zero[256] = { 0 };
	char b[64];
	int in[3], y, nd;

	snprintf(b, sizeof(b), "%s_s", name);
	in[0] = w;
	in[1] = gb_const_t(g, b, NPUC_DT_F32, 1, &dn, s);
	snprintf(b, sizeof(b), "%s_zp", name);
	in[2] = gb_const_t(g, b, g->t[w].dtype, 1, &dn, zero);
	y = tmp(name, NPUC_DT_F32);
	nd = gb_node1(g, "DequantizeLinear", in, g->t[w].dtype == NPUC_DT_I32 ? 2 : 3, y);
	gb_attr_i(g, nd, "axis", axis);
	return y;
}

static void import_ok(void)
{
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(npuc_qdq_import(g, &q, &d) == 0, "%s", d.msg);
	ck_assert_ptr_eq(q->src, g);
	g = NULL;	/* owned by q */
}

/* ---- qgraph inspection ---- */

static int count_op(enum npuq_op op)
{
	int n = 0;

	for (int i = 0; i < q->n_nodes; i++)
		n += q->nodes[i].op == op;
	return n;
}

static const struct npuq_node *first_op(enum npuq_op op)
{
	for (int i = 0; i < q->n_nodes; i++)
		if (q->nodes[i].op == op)
			return &q->nodes[i];
	ck_abort_msg("no %s node", npuq_op_name(op));
	return NULL;
}

static const struct npuq_tensor *qin(const struct npuq_node *n, int k)
{
	return &q->t[n->in[k]];
}

static const struct npuq_tensor *qout(const struct npuq_node *n, int k)
{
	return &q->t[n->out[k]];
}

/* ---- execution: qref on the qgraph vs ref_float on the source ---- */

struct cmp {
	long n, off1;		/* elements compared, elements 1 LSB off */
	double max_steps;	/* float outputs: worst error in output steps */
};

/* Random inputs for the source graph, the same values for the qgraph. */
static void make_inputs(struct npuc_value *src_in, struct npuc_value *q_in)
{
	const struct npuc_graph *s = q->src;

	ck_assert_int_eq(q->n_inputs, s->n_inputs);
	for (int i = 0; i < s->n_inputs; i++) {
		const struct npuc_tensor *t = &s->t[s->inputs[i]];
		int64_t n = npuc_tensor_numel(t);

		ck_assert_str_eq(q->t[q->inputs[i]].name, t->name);
		ck_assert_int_eq(npuc_value_alloc(&src_in[i], t->dtype, t->rank, t->dims, &d), 0);
		ck_assert_int_eq(npuc_value_alloc(&q_in[i], t->dtype == NPUC_DT_F32 ? NPUC_DT_F32 :
						  NPUC_DT_I8, t->rank, t->dims, &d), 0);
		for (int64_t k = 0; k < n; k++) {
			if (t->dtype == NPUC_DT_F32) {
				float v = (float)(rnd() % 20001) / 5000.0f - 2.0f;

				((float *)src_in[i].data)[k] = v;
				((float *)q_in[i].data)[k] = v;
			} else {
				uint8_t v = (uint8_t)rnd();

				((uint8_t *)src_in[i].data)[k] = v;
				((uint8_t *)q_in[i].data)[k] =
					t->dtype == NPUC_DT_U8 ? v ^ 0x80 : v;
			}
		}
	}
}

/* Scale of the int8 tensor a float output was dequantised from. */
static double out_step(int ti)
{
	const struct npuq_tensor *t = &q->t[ti];

	if (!(t->flags & NPUQ_T_FLOAT))
		return t->scale;
	ck_assert_int_ge(t->producer, 0);
	if (q->nodes[t->producer].op == NPUQ_DEQUANTIZE)
		return q->t[q->nodes[t->producer].in[0]].scale;
	return 0;
}

static void compare_output(int i, const struct npuc_value *a, const struct npuc_value *b,
			   struct cmp *c)
{
	int ti = q->outputs[i];
	enum npuc_dtype dt = npuc_qdq_onnx_dtype(q, ti);

	ck_assert_int_eq(a->numel, b->numel);
	if (dt != NPUC_DT_F32 && dt != NPUC_DT_U8 && dt != NPUC_DT_I8) {
		/* A CPU node's integer result: the same ref_float code, exact. */
		ck_assert_int_eq(a->dtype, dt);
		ck_assert_int_eq(b->dtype, dt);
		ck_assert(!memcmp(a->data, b->data, (size_t)a->numel * npuc_dtype_size(dt)));
		c->n += a->numel;
		return;
	}
	for (int64_t k = 0; k < a->numel; k++, c->n++) {
		if (dt == NPUC_DT_F32) {
			double step = out_step(ti), e;

			ck_assert_int_eq(a->dtype, NPUC_DT_F32);
			e = fabs(((float *)a->data)[k] - ((float *)b->data)[k]);
			e = step > 0 ? e / step : e * 1e6;
			c->max_steps = fmax(c->max_steps, e);
		} else {
			int x = ((int8_t *)a->data)[k], y;

			ck_assert_int_eq(a->dtype, NPUC_DT_I8);
			y = dt == NPUC_DT_U8 ? (int)((uint8_t *)b->data)[k] - 128 :
					       ((int8_t *)b->data)[k];
			ck_assert_msg(abs(x - y) <= 1, "output %d[%lld]: npu %d, onnx %d", i,
				      (long long)k, x, y);
			c->off1 += x != y;
		}
	}
}

/* Runs both executors on `runs` random inputs. */
static struct cmp run_compare(int runs)
{
	struct npuc_value si[8], qi[8], so[8], qo[8];
	struct cmp c = { 0, 0, 0 };

	ck_assert_int_le(q->n_inputs, 8);
	ck_assert_int_le(q->n_outputs, 8);
	for (int r = 0; r < runs; r++) {
		memset(si, 0, sizeof(si));
		memset(qi, 0, sizeof(qi));
		make_inputs(si, qi);
		ck_assert_msg(npuc_ref_run(q->src, si, so, NULL, &d) == 0, "src: %s", d.msg);
		ck_assert_msg(npuq_ref_run(q, qi, qo, NULL, &d) == 0, "qref: %s", d.msg);
		for (int i = 0; i < q->n_outputs; i++) {
			compare_output(i, &qo[i], &so[i], &c);
			npuc_value_free(&so[i]);
			npuc_value_free(&qo[i]);
		}
		for (int i = 0; i < q->n_inputs; i++) {
			npuc_value_free(&si[i]);
			npuc_value_free(&qi[i]);
		}
	}
	ck_assert_int_gt(c.n, 0);
	return c;
}

/* ---- QOperator ---- */

/* QLinearConv [1,3,5,5] u8 -> [1,4,5,5] u8, 3x3 pad 1, per-channel w_scale. */
static void build_qlinearconv(const uint8_t *wzp)
{
	int64_t xd[4] = { 1, 3, 5, 5 }, wd[4] = { 4, 3, 3, 3 }, four = 4, pads[4] = { 1, 1, 1, 1 };
	int64_t k3[2] = { 3, 3 };
	float ws[4] = { 0.01f, 0.02f, 0.004f, 0.03f };
	int32_t bias[4] = { 100, -2000, 0, 12345 };
	int x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd), in[9], y, n;

	in[0] = x;
	in[1] = cf("xs", 0.02f);
	in[2] = c8("xzp", NPUC_DT_U8, 130);
	in[3] = crand8("w", NPUC_DT_U8, 4, wd);
	in[4] = gb_const_t(g, "ws", NPUC_DT_F32, 1, &four, ws);
	in[5] = gb_const_t(g, "wzp", NPUC_DT_U8, 1, &four, wzp);
	in[6] = cf("ys", 0.05f);
	in[7] = c8("yzp", NPUC_DT_U8, 120);
	in[8] = gb_const_t(g, "b", NPUC_DT_I32, 1, &four, bias);
	y = tmp("y", NPUC_DT_U8);
	n = gb_node1(g, "QLinearConv", in, 9, y);
	gb_attr_ints(g, n, "pads", 4, pads);
	gb_attr_ints(g, n, "kernel_shape", 2, k3);
	gb_io(g, &x, 1, &y, 1);
}

START_TEST(test_qlinearconv_exact_params)
{
	const uint8_t wzp[4] = { 128, 128, 128, 128 };
	float ws[4] = { 0.01f, 0.02f, 0.004f, 0.03f };
	const struct npuq_node *c;
	const struct npuc_tensor *w;
	const int8_t *wq;
	struct cmp r;

	build_qlinearconv(wzp);
	w = &g->t[npuc_graph_find(g, "w")];
	import_ok();
	ck_assert_int_eq(q->n_nodes, 1);
	c = first_op(NPUQ_CONV);
	/* uint8 -> int8: values and zero points minus 128 */
	ck_assert_int_eq(qin(c, 0)->zp, 2);
	ck_assert_float_eq(qin(c, 0)->scale, 0.02f);
	ck_assert_int_eq(qout(c, 0)->zp, -8);
	ck_assert_int_eq(qin(c, 0)->nchw, 1);
	ck_assert_int_eq(qin(c, 0)->c, 3);
	ck_assert_int_eq(c->u.conv.w_zp, 0);
	ck_assert_int_eq(c->u.conv.k_h, 3);
	ck_assert_int_eq(c->u.conv.pad_top, 1);
	ck_assert_int_eq(c->u.conv.pad_right, 1);
	ck_assert_int_eq(c->u.conv.groups, 1);
	ck_assert_int_eq(c->u.conv.act_min, -128);
	ck_assert_int_eq(c->u.conv.act_max, 127);
	/* OIHW -> [oc][kh][kw][ic], minus 128 */
	wq = c->u.conv.w;
	for (int oc = 0; oc < 4; oc++)
		for (int ic = 0; ic < 3; ic++)
			for (int k = 0; k < 9; k++)
				ck_assert_int_eq(wq[(oc * 9 + k) * 3 + ic],
						 ((uint8_t *)w->data)[(oc * 3 + ic) * 9 + k] - 128);
	for (int oc = 0; oc < 4; oc++) {
		uint32_t m, s;
		static const int32_t bias[4] = { 100, -2000, 0, 12345 };

		ck_assert_int_eq(npuq_quantize_multiplier((double)0.02f * ws[oc] / (double)0.05f,
							  &m, &s), 0);
		ck_assert_uint_eq(c->u.conv.q[oc].mult, m);
		ck_assert_uint_eq(c->u.conv.q[oc].shift, s);
		ck_assert_int_eq(c->u.conv.q[oc].bias, bias[oc]);
		ck_assert_float_eq(c->u.conv.w_scale[oc], ws[oc]);
	}
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, q->inputs[0]), NPUC_DT_U8);
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, q->outputs[0]), NPUC_DT_U8);
	r = run_compare(4);
	ck_assert_int_le(r.off1 * 20, r.n);	/* 1 LSB differences are rare */
}
END_TEST

START_TEST(test_qlinearconv_per_channel_wzp_cpu)
{
	const uint8_t wzp[4] = { 128, 129, 128, 128 };
	const struct npuq_node *c;

	build_qlinearconv(wzp);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CONV), 0);
	c = first_op(NPUQ_CPU);
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "zero points differ"));
	ck_assert_str_eq(q->src->nodes[c->u.cpu.src_node].op, "QLinearConv");
	/* the CPU node reads the int8 input tensor and writes the int8 output */
	ck_assert_int_eq(c->n_in, 1);
	ck_assert_int_eq(c->in[0], q->inputs[0]);
	ck_assert_int_eq(c->out[0], q->outputs[0]);
}
END_TEST

START_TEST(test_qlinearmatmul_const_and_activation_b)
{
	int64_t ad[2] = { 3, 8 }, bd[2] = { 8, 5 }, ycount;
	int a = gb_tensor_t(g, "a", NPUC_DT_I8, 2, ad), b = gb_tensor_t(g, "b", NPUC_DT_I8, 2, bd);
	int in[8], y1, y2, ins[2];
	const struct npuq_node *c;
	struct cmp r;

	/* y1 = a x W (constant), y2 = a x b (activation) */
	in[0] = a;
	in[1] = cf("as", 0.03f);
	in[2] = c8("azp", NPUC_DT_I8, -5);
	in[3] = crand8("W", NPUC_DT_I8, 2, bd);
	in[4] = cf("Ws", 0.01f);
	in[5] = c8("Wzp", NPUC_DT_I8, 3);
	in[6] = cf("y1s", 0.2f);
	in[7] = c8("y1zp", NPUC_DT_I8, 10);
	y1 = tmp("y1", NPUC_DT_I8);
	gb_node1(g, "QLinearMatMul", in, 8, y1);
	in[3] = b;
	in[4] = cf("bs", 0.02f);
	in[5] = c8("bzp", NPUC_DT_I8, -1);
	in[6] = cf("y2s", 0.5f);
	in[7] = c8("y2zp", NPUC_DT_I8, 0);
	y2 = tmp("y2", NPUC_DT_I8);
	gb_node1(g, "QLinearMatMul", in, 8, y2);
	ins[0] = a;
	ins[1] = b;
	in[0] = y1;
	in[1] = y2;
	gb_io(g, ins, 2, in, 2);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CONV), 1);
	ck_assert_int_eq(count_op(NPUQ_MATMUL), 1);
	c = first_op(NPUQ_CONV);
	ck_assert_int_eq(c->u.conv.k_h, 1);
	ck_assert_int_eq(c->u.conv.w_zp, 3);		/* per-tensor asymmetric weights */
	ck_assert_int_eq(qout(c, 0)->c, 5);
	ck_assert_int_eq(qout(c, 0)->w, 3);
	c = first_op(NPUQ_MATMUL);
	ck_assert_int_eq(qin(c, 1)->zp, -1);
	ycount = qout(c, 0)->h * qout(c, 0)->w * qout(c, 0)->c;
	ck_assert_int_eq(ycount, 15);
	r = run_compare(4);
	ck_assert_int_le(r.off1 * 10, r.n);
}
END_TEST

/* ConvInteger / MatMulInteger: NPU only with a constant requantisation after them. */
START_TEST(test_integer_ops_requant_chain)
{
	int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 3, 2, 3, 3 }, sd[4] = { 1, 3, 1, 1 };
	int64_t ad[2] = { 2, 6 }, bd[2] = { 6, 4 };
	float sc[3] = { 0.001f, 0.002f, 0.0005f }, bi[3] = { 0.5f, -0.25f, 1.0f };
	int x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd), a = gb_tensor_t(g, "a", NPUC_DT_U8, 2, ad);
	int in[4], acc, f, m, bb, y, acc2, ins[2], outs[2];
	const struct npuq_node *c;
	int n;

	in[0] = x;
	in[1] = crand8("w", NPUC_DT_U8, 4, wd);
	in[2] = c8("xzp", NPUC_DT_U8, 100);
	in[3] = c8("wzp", NPUC_DT_U8, 128);
	acc = tmp("acc", NPUC_DT_I32);
	gb_node1(g, "ConvInteger", in, 4, acc);
	f = tmp("accf", NPUC_DT_F32);
	n = gb_node1(g, "Cast", &acc, 1, f);
	gb_attr_i(g, n, "to", 1);
	in[0] = f;
	in[1] = gb_const_t(g, "scale", NPUC_DT_F32, 4, sd, sc);
	m = tmp("scaled", NPUC_DT_F32);
	gb_node1(g, "Mul", in, 2, m);
	in[0] = gb_const_t(g, "bias", NPUC_DT_F32, 4, sd, bi);
	in[1] = m;
	bb = tmp("biased", NPUC_DT_F32);
	gb_node1(g, "Add", in, 2, bb);
	y = quant("y", bb, 0.05f, 128, NPUC_DT_U8);
	/* MatMulInteger without requantisation: int32 graph output */
	in[0] = a;
	in[1] = crand8("B", NPUC_DT_U8, 2, bd);
	in[2] = c8("azp", NPUC_DT_U8, 7);
	acc2 = tmp("acc2", NPUC_DT_I32);
	gb_node1(g, "MatMulInteger", in, 3, acc2);
	ins[0] = x;
	ins[1] = a;
	outs[0] = y;
	outs[1] = acc2;
	gb_io(g, ins, 2, outs, 2);
	import_ok();
	c = first_op(NPUQ_CONV);
	ck_assert_int_eq(count_op(NPUQ_CONV), 1);
	ck_assert_int_eq(qin(c, 0)->zp, 100 - 128);
	ck_assert_int_eq(c->u.conv.w_zp, 0);
	for (int oc = 0; oc < 3; oc++) {
		uint32_t mm, s;

		npuq_quantize_multiplier((double)sc[oc] / (double)0.05f, &mm, &s);
		ck_assert_uint_eq(c->u.conv.q[oc].mult, mm);
		ck_assert_int_eq(c->u.conv.q[oc].bias, (int32_t)nearbyint(bi[oc] / sc[oc]));
	}
	c = first_op(NPUQ_CPU);
	ck_assert_str_eq(q->src->nodes[c->u.cpu.src_node].op, "MatMulInteger");
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "int32"));
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, c->out[0]), NPUC_DT_I32);
	ck_assert(q->t[c->out[0]].flags & NPUQ_T_FLOAT);
}
END_TEST

/* ---- QDQ ---- */

/*
 * A scale of 0, negative, NaN or Inf is an error naming the node and the
 * scale (issue 17: such models compiled without a word).
 */
START_TEST(test_bad_scales_refused)
{
	static const float bad[4] = { 0.0f, -0.5f, NAN, INFINITY };
	int64_t xd[2] = { 1, 8 };

	for (int k = 0; k < 4; k++) {
		int x, y;

		if (k) {	/* a fresh graph each round (the fixture made the first) */
			npuc_graph_free(g);
			g = npuc_graph_new();
			ck_assert_ptr_nonnull(g);
			g->opset = 13;
		}
		x = gb_tensor_t(g, "x", NPUC_DT_F32, 2, xd);
		y = dequant("ydq", quant("yq", x, bad[k], 0, NPUC_DT_I8), 0.1f, 0);
		gb_io(g, &x, 1, &y, 1);
		ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(npuc_qdq_import(g, &q, &d), -1);
		ck_assert_msg(strstr(d.msg, "(QuantizeLinear): scale 'yq_s' holds") &&
			      strstr(d.msg, "positive finite"), "%s", d.msg);
	}
}
END_TEST

/* DQ(x) -> Conv(DQ(w) per channel, DQ(bias int32)) -> Relu -> Q, int8 activations. */
START_TEST(test_qdq_conv_relu_fused)
{
	int64_t xd[4] = { 1, 4, 7, 6 }, wd[4] = { 6, 4, 3, 3 }, six = 6;
	int64_t st[2] = { 2, 2 }, pads[4] = { 1, 0, 1, 1 };
	float ws[6] = { 0.01f, 0.02f, 0.015f, 0.005f, 0.03f, 0.008f }, bs[6];
	int32_t bias[6] = { 50, -50, 400, -4000, 0, 77 };
	int x = gb_tensor_t(g, "x", NPUC_DT_I8, 4, xd), in[3], cv, r, y, n;
	const struct npuq_node *c;
	struct cmp res;

	for (int i = 0; i < 6; i++)
		bs[i] = 0.04f * ws[i];
	in[0] = dequant("xdq", x, 0.04f, -3);
	in[1] = dequant_axis("wdq", crand8("w", NPUC_DT_I8, 4, wd), 0, 6, ws);
	in[2] = dequant_axis("bdq", gb_const_t(g, "b", NPUC_DT_I32, 1, &six, bias), 0, 6, bs);
	cv = tmp("conv", NPUC_DT_F32);
	n = gb_node1(g, "Conv", in, 3, cv);
	gb_attr_ints(g, n, "strides", 2, st);
	gb_attr_ints(g, n, "pads", 4, pads);
	r = tmp("relu", NPUC_DT_F32);
	gb_node1(g, "Relu", &cv, 1, r);
	y = quant("y", r, 0.1f, -20, NPUC_DT_I8);
	gb_io(g, &x, 1, &y, 1);
	import_ok();
	ck_assert_int_eq(q->n_nodes, 1);	/* DQs absorbed, Relu fused, Q absorbed */
	c = first_op(NPUQ_CONV);
	ck_assert_int_eq(c->u.conv.act_min, -20);
	ck_assert_int_eq(c->u.conv.act_max, 127);
	ck_assert_int_eq(c->u.conv.stride_h, 2);
	ck_assert_int_eq(c->u.conv.pad_left, 0);
	ck_assert_int_eq(c->u.conv.pad_right, 1);
	ck_assert_int_eq(qin(c, 0)->zp, -3);
	ck_assert_int_eq(qout(c, 0)->h, 4);
	ck_assert_int_eq(qout(c, 0)->w, 3);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(c->u.conv.q[i].bias, bias[i]);	/* used as is */
	res = run_compare(4);
	ck_assert_int_le(res.off1 * 10, res.n);
}
END_TEST

/* Depthwise conv with Clip(0, 6) fused, uint8 activations, per-tensor weights. */
START_TEST(test_qdq_depthwise_clip)
{
	int64_t xd[4] = { 1, 5, 6, 6 }, wd[4] = { 5, 1, 3, 3 };
	int x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd), in[3], cv, cl, y, n;
	const struct npuq_node *c;

	in[0] = dequant("xdq", x, 0.05f, 128);
	in[1] = dequant("wdq", crand8("w", NPUC_DT_I8, 4, wd), 0.02f, 0);
	cv = tmp("conv", NPUC_DT_F32);
	n = gb_node1(g, "Conv", in, 2, cv);
	gb_attr_i(g, n, "group", 5);
	{
		int64_t p[4] = { 1, 1, 1, 1 };

		gb_attr_ints(g, n, "pads", 4, p);
	}
	in[0] = cv;
	in[1] = cf("lo", 0.0f);
	in[2] = cf("hi", 6.0f);
	cl = tmp("clip", NPUC_DT_F32);
	gb_node1(g, "Clip", in, 3, cl);
	y = quant("y", cl, 0.03f, 0, NPUC_DT_U8);
	gb_io(g, &x, 1, &y, 1);
	import_ok();
	c = first_op(NPUQ_CONV);
	ck_assert_int_eq(q->n_nodes, 1);
	ck_assert_int_eq(c->u.conv.groups, 5);
	ck_assert_int_eq(qout(c, 0)->zp, -128);
	ck_assert_int_eq(c->u.conv.act_min, -128);
	ck_assert_int_eq(c->u.conv.act_max, 72);	/* 6 / 0.03 = 200, - 128 */
	run_compare(4);
}
END_TEST

/* Gemm (transB, alpha, float bias) -> FC CONV; MatMul of two activations -> MATMUL. */
START_TEST(test_qdq_gemm_and_matmul)
{
	int64_t ad[2] = { 4, 10 }, bd[2] = { 7, 10 }, cd[1] = { 7 }, md[2] = { 10, 3 };
	float ws[7] = { 0.01f, 0.02f, 0.03f, 0.04f, 0.05f, 0.06f, 0.07f }, cb[7];
	int a = gb_tensor_t(g, "a", NPUC_DT_I8, 2, ad), b = gb_tensor_t(g, "b", NPUC_DT_I8, 2, md);
	int in[3], gm, mm, y1, y2, ins[2], outs[2], n;
	const struct npuq_node *c;
	struct cmp r;

	for (int i = 0; i < 7; i++)
		cb[i] = 0.1f * (float)i - 0.3f;
	in[0] = dequant("adq", a, 0.02f, 4);
	in[1] = dequant_axis("wdq", crand8("w", NPUC_DT_I8, 2, bd), 0, 7, ws);
	in[2] = gb_const_t(g, "c", NPUC_DT_F32, 1, cd, cb);
	gm = tmp("gemm", NPUC_DT_F32);
	n = gb_node1(g, "Gemm", in, 3, gm);
	gb_attr_i(g, n, "transB", 1);
	gb_attr_f(g, n, "alpha", 0.5f);
	gb_attr_f(g, n, "beta", 2.0f);
	y1 = quant("y1", gm, 0.25f, 0, NPUC_DT_I8);
	in[1] = dequant("bdq", b, 0.03f, -7);
	mm = tmp("mm", NPUC_DT_F32);
	gb_node1(g, "MatMul", in, 2, mm);
	y2 = quant("y2", mm, 0.3f, 5, NPUC_DT_I8);
	ins[0] = a;
	ins[1] = b;
	outs[0] = y1;
	outs[1] = y2;
	gb_io(g, ins, 2, outs, 2);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CONV), 1);
	ck_assert_int_eq(count_op(NPUQ_MATMUL), 1);
	c = first_op(NPUQ_CONV);
	for (int i = 0; i < 7; i++) {
		double acc = 0.02 * (double)ws[i] * 0.5;

		ck_assert_int_eq(c->u.conv.q[i].bias, (int32_t)nearbyint(2.0 * cb[i] / acc));
	}
	r = run_compare(4);
	ck_assert_int_le(r.off1 * 5, r.n);
}
END_TEST

/* Add of two activations, Mul by a per-channel constant, Sub of two: ELTWISE. */
START_TEST(test_qdq_eltwise)
{
	int64_t xd[4] = { 1, 3, 4, 4 }, cd[4] = { 1, 3, 1, 1 };
	int a = gb_tensor_t(g, "a", NPUC_DT_U8, 4, xd), b = gb_tensor_t(g, "b", NPUC_DT_U8, 4, xd);
	int in[2], s, m, y1, y2, ins[2], outs[2];
	const struct npuq_node *c;

	in[0] = dequant("adq", a, 0.02f, 128);
	in[1] = dequant("bdq", b, 0.07f, 100);
	s = tmp("sum", NPUC_DT_F32);
	gb_node1(g, "Add", in, 2, s);
	y1 = quant("y1", s, 0.1f, 128, NPUC_DT_U8);
	/* (not from y1: a 1 LSB difference there would be amplified by the Mul) */
	in[0] = dequant("adq2", a, 0.02f, 128);
	in[1] = dequant("kdq", crand8("k", NPUC_DT_I8, 4, cd), 0.01f, 0);
	m = tmp("prod", NPUC_DT_F32);
	gb_node1(g, "Mul", in, 2, m);
	y2 = quant("y2", m, 0.02f, 128, NPUC_DT_U8);
	ins[0] = a;
	ins[1] = b;
	outs[0] = y1;
	outs[1] = y2;
	gb_io(g, ins, 2, outs, 2);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_ELTWISE), 2);
	c = &q->nodes[0];
	ck_assert_int_eq(c->u.eltwise.op, NPU_ELT_ADD);
	ck_assert_int_eq(c->u.eltwise.bcast, NPU_BCAST_NONE);
	ck_assert_int_eq(c->n_in, 2);
	c = &q->nodes[1];
	ck_assert_int_eq(c->u.eltwise.op, NPU_ELT_MUL);
	ck_assert_int_eq(c->u.eltwise.bcast, NPU_BCAST_CHANNEL);
	ck_assert_int_eq(c->n_in, 1);
	ck_assert_ptr_nonnull(c->u.eltwise.b_const);
	ck_assert_float_eq(c->u.eltwise.b_scale, 0.01f);
	ck_assert_int_eq(c->in[0], q->inputs[0]);
	run_compare(4);
}
END_TEST

/* MaxPool, AveragePool (ceil mode), GlobalAveragePool -> POOL; Flatten -> RESHAPE. */
START_TEST(test_qdq_pools_reshape)
{
	int64_t xd[4] = { 1, 3, 7, 7 }, k3[2] = { 3, 3 }, s2[2] = { 2, 2 }, p1[4] = { 1, 1, 1, 1 };
	int x = gb_tensor_t(g, "x", NPUC_DT_I8, 4, xd), mp, ap, gp, fl, y1, y2, y3, outs[3], n, t;
	const struct npuq_node *c;

	t = dequant("xdq", x, 0.05f, 10);
	mp = tmp("mp", NPUC_DT_F32);
	n = gb_node1(g, "MaxPool", &t, 1, mp);
	gb_attr_ints(g, n, "kernel_shape", 2, k3);
	gb_attr_ints(g, n, "strides", 2, s2);
	gb_attr_ints(g, n, "pads", 4, p1);
	y1 = quant("y1", mp, 0.05f, 10, NPUC_DT_I8);
	ap = tmp("ap", NPUC_DT_F32);
	n = gb_node1(g, "AveragePool", &t, 1, ap);
	gb_attr_ints(g, n, "kernel_shape", 2, s2);
	gb_attr_ints(g, n, "strides", 2, s2);
	gb_attr_i(g, n, "ceil_mode", 1);
	y2 = quant("y2", ap, 0.04f, -2, NPUC_DT_I8);
	gp = tmp("gp", NPUC_DT_F32);
	gb_node1(g, "GlobalAveragePool", &t, 1, gp);
	t = quant("gpq", gp, 0.01f, 0, NPUC_DT_I8);
	t = dequant("gpdq", t, 0.01f, 0);
	fl = tmp("flat", NPUC_DT_F32);
	gb_node1(g, "Flatten", &t, 1, fl);
	y3 = quant("y3", fl, 0.01f, 0, NPUC_DT_I8);
	outs[0] = y1;
	outs[1] = y2;
	outs[2] = y3;
	gb_io(g, &x, 1, outs, 3);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_POOL), 3);
	ck_assert_int_eq(count_op(NPUQ_RESHAPE), 1);
	c = &q->nodes[0];
	ck_assert_int_eq(c->u.pool.mode, NPU_POOL_MAX);
	ck_assert_uint_eq(c->u.pool.mult, 1);
	ck_assert_uint_eq(c->u.pool.shift, 0);
	c = &q->nodes[1];
	ck_assert_int_eq(c->u.pool.mode, NPU_POOL_AVG);
	ck_assert_int_eq(qout(c, 0)->h, 4);		/* ceil((7 - 2) / 2) + 1 */
	ck_assert_int_eq(c->u.pool.pad_bottom, 1);	/* extended for ceil_mode */
	ck_assert_int_eq(c->u.pool.k_h, 2);
	c = first_op(NPUQ_RESHAPE);
	ck_assert_int_eq(qout(c, 0)->c, 3);
	ck_assert_int_eq(qout(c, 0)->nchw, 0);
	run_compare(4);
}
END_TEST

/* Sigmoid / LeakyRelu -> LUT; Softmax -> DEQUANTIZE, CPU, QUANTIZE; Concat. */
START_TEST(test_qdq_lut_cpu_concat)
{
	int64_t xd[4] = { 1, 2, 3, 3 };
	int x = gb_tensor_t(g, "x", NPUC_DT_I8, 4, xd);
	int t, sg, lr, sm, cc, y1, y2, y3, in[2], outs[3], n;
	const struct npuq_node *c;

	t = dequant("xdq", x, 0.05f, 0);
	sg = tmp("sig", NPUC_DT_F32);
	gb_node1(g, "Sigmoid", &t, 1, sg);
	y1 = quant("y1", sg, 1.0f / 256, -128, NPUC_DT_I8);
	lr = tmp("lrelu", NPUC_DT_F32);
	n = gb_node1(g, "LeakyRelu", &t, 1, lr);
	gb_attr_f(g, n, "alpha", 0.1f);
	y2 = quant("y2", lr, 0.03f, -100, NPUC_DT_I8);
	in[0] = dequant("y1dq", y1, 1.0f / 256, -128);
	in[1] = dequant("y2dq", y2, 0.03f, -100);
	cc = tmp("cat", NPUC_DT_F32);
	n = gb_node1(g, "Concat", in, 2, cc);
	gb_attr_i(g, n, "axis", 1);
	t = quant("y3q", cc, 0.03f, -100, NPUC_DT_I8);
	t = dequant("y3dq", t, 0.03f, -100);
	sm = tmp("softmax", NPUC_DT_F32);
	n = gb_node1(g, "Softmax", &t, 1, sm);
	gb_attr_i(g, n, "axis", 1);
	y3 = quant("y3", sm, 1.0f / 255, -128, NPUC_DT_I8);
	outs[0] = y1;
	outs[1] = y2;
	outs[2] = y3;
	gb_io(g, &x, 1, outs, 3);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_LUT), 2);
	ck_assert_int_eq(count_op(NPUQ_CONCAT), 1);
	ck_assert_int_eq(count_op(NPUQ_DEQUANTIZE), 1);
	ck_assert_int_eq(count_op(NPUQ_QUANTIZE), 1);
	c = first_op(NPUQ_CPU);
	ck_assert_str_eq(q->src->nodes[c->u.cpu.src_node].op, "Softmax");
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "Softmax"));
	ck_assert(q->t[c->in[0]].flags & NPUQ_T_FLOAT);
	c = first_op(NPUQ_LUT);
	ck_assert_str_eq(c->u.lut.fn, "Sigmoid");
	ck_assert_int_eq(c->u.lut.table[128], 0);	/* sigmoid(0) = 0.5 -> 128 - 128 */
	ck_assert_int_eq(c->u.lut.table[0], -128);	/* sigmoid(-6.4) * 256 = 0.42 */
	ck_assert_int_eq(c->u.lut.table[255], 127);	/* 0.998 * 256 saturates */
	run_compare(4);
}
END_TEST

static int node_ms(const char *op, const int *in, int n_in, int out)
{
	int n = npuc_graph_add_node(g, op, op, "com.microsoft", in, n_in, &out, 1, &d);

	ck_assert_msg(n >= 0, "%s", d.msg);
	return n;
}

/* ONNX Runtime's com.microsoft QOperator ops (no shape inference for them). */
START_TEST(test_com_microsoft_qlinear_ops)
{
	int64_t xd[4] = { 1, 2, 3, 3 };
	int a = gb_tensor_t(g, "a", NPUC_DT_U8, 4, xd), b = gb_tensor_t(g, "b", NPUC_DT_U8, 4, xd);
	int in[8], s, sg, gp, cc, ins[2], outs[2], n;
	struct npuc_value qi[2], qo[2];
	const struct npuq_node *c;
	uint8_t av[18], bv[18];

	in[0] = a;
	in[1] = cf("as", 0.1f);
	in[2] = c8("azp", NPUC_DT_U8, 120);
	in[3] = b;
	in[4] = cf("bs", 0.05f);
	in[5] = c8("bzp", NPUC_DT_U8, 128);
	in[6] = cf("ss", 0.2f);
	in[7] = c8("szp", NPUC_DT_U8, 100);
	s = tmp("sum", NPUC_DT_UNDEF);
	node_ms("QLinearAdd", in, 8, s);
	in[0] = s;
	in[1] = cf("ss2", 0.2f);
	in[2] = c8("szp2", NPUC_DT_U8, 100);
	in[3] = cf("gs", 1.0f / 256);
	in[4] = c8("gzp", NPUC_DT_U8, 0);
	sg = tmp("sig", NPUC_DT_UNDEF);
	node_ms("QLinearSigmoid", in, 5, sg);
	in[0] = sg;
	in[1] = cf("gs2", 1.0f / 256);
	in[2] = c8("gzp2", NPUC_DT_U8, 0);
	in[3] = cf("ps", 1.0f / 256);
	in[4] = c8("pzp", NPUC_DT_U8, 0);
	gp = tmp("gap", NPUC_DT_UNDEF);
	node_ms("QLinearGlobalAveragePool", in, 5, gp);
	in[0] = cf("cs", 0.2f);
	in[1] = c8("czp", NPUC_DT_U8, 100);
	in[2] = s;
	in[3] = cf("ss3", 0.2f);
	in[4] = c8("szp3", NPUC_DT_U8, 100);
	in[5] = sg;
	in[6] = cf("gs3", 1.0f / 256);
	in[7] = c8("gzp3", NPUC_DT_U8, 0);
	cc = tmp("cat", NPUC_DT_UNDEF);
	n = node_ms("QLinearConcat", in, 8, cc);
	gb_attr_i(g, n, "axis", 1);
	ins[0] = a;
	ins[1] = b;
	outs[0] = gp;
	outs[1] = cc;
	gb_io(g, ins, 2, outs, 2);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CPU), 0);
	ck_assert_int_eq(count_op(NPUQ_ELTWISE), 1);
	ck_assert_int_eq(count_op(NPUQ_LUT), 1);
	ck_assert_int_eq(count_op(NPUQ_POOL), 1);
	ck_assert_int_eq(count_op(NPUQ_CONCAT), 1);
	ck_assert_int_eq(q->t[q->outputs[0]].c, 2);
	ck_assert_int_eq(q->t[q->outputs[0]].h * q->t[q->outputs[0]].w, 1);
	ck_assert_int_eq(q->t[q->outputs[1]].c, 4);
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, q->outputs[1]), NPUC_DT_U8);
	/* QLinearAdd numerically: within 1 LSB of the real-number result */
	c = first_op(NPUQ_ELTWISE);
	ck_assert_int_eq(qout(c, 0)->zp, -28);
	for (int i = 0; i < 18; i++) {
		av[i] = (uint8_t)rnd();
		bv[i] = (uint8_t)rnd();
	}
	for (int k = 0; k < 2; k++) {
		ck_assert_int_eq(npuc_value_alloc(&qi[k], NPUC_DT_I8, 4, xd, &d), 0);
		for (int i = 0; i < 18; i++)
			((uint8_t *)qi[k].data)[i] = (k ? bv[i] : av[i]) ^ 0x80;
	}
	ck_assert_msg(npuq_ref_run(q, qi, qo, NULL, &d) == 0, "%s", d.msg);
	/* channel slice 0 of the concat output (NCHW) is the Add result */
	for (int i = 0; i < 18; i++) {
		double real = 0.1 * (av[i] - 120) + 0.05 * (bv[i] - 128);
		double want = fmin(255, fmax(0, nearbyint(real / 0.2) + 100));
		int got = ((uint8_t *)qo[1].data)[i] ^ 0x80;

		ck_assert_msg(fabs(got - want) <= 1, "%d: %d vs %g", i, got, want);
	}
	for (int k = 0; k < 2; k++) {
		npuc_value_free(&qi[k]);
		npuc_value_free(&qo[k]);
	}
}
END_TEST

/* A Conv whose float output is not quantised runs on the CPU, weights dequantised there. */
START_TEST(test_cpu_conv_with_dq_weights)
{
	int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 3, 2, 1, 1 };
	int x = gb_tensor_t(g, "x", NPUC_DT_I8, 4, xd), in[2], y;
	const struct npuq_node *c;
	struct cmp r;

	in[0] = dequant("xdq", x, 0.1f, 2);
	in[1] = dequant("wdq", crand8("w", NPUC_DT_I8, 4, wd), 0.01f, 0);
	y = tmp("y", NPUC_DT_F32);
	gb_node1(g, "Conv", in, 2, y);
	gb_io(g, &x, 1, &y, 1);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_DEQUANTIZE), 1);
	ck_assert_int_eq(count_op(NPUQ_CPU), 2);	/* DQ of the weights, the Conv */
	c = &q->nodes[q->n_nodes - 1];
	ck_assert_int_eq(c->op, NPUQ_CPU);
	ck_assert_str_eq(q->src->nodes[c->u.cpu.src_node].op, "Conv");
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "not quantised"));
	ck_assert_int_eq(c->n_in, 2);
	r = run_compare(2);
	ck_assert(r.max_steps == 0.0);	/* the same float computation */
}
END_TEST

/* Graph-boundary QUANTIZE / DEQUANTIZE, a DQ -> Q requantisation as a LUT. */
START_TEST(test_boundaries_and_requant)
{
	int64_t xd[2] = { 4, 6 };
	int x = gb_tensor_t(g, "x", NPUC_DT_F32, 2, xd), a, b, y;
	const struct npuq_node *c;
	struct cmp r;

	a = quant("a", x, 0.02f, 3, NPUC_DT_I8);
	a = dequant("adq", a, 0.02f, 3);
	b = quant("b", a, 0.05f, 128, NPUC_DT_U8);
	y = dequant("y", b, 0.05f, 128);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_qdq_is_quantized(g), 1);
	import_ok();
	ck_assert_int_eq(q->n_nodes, 3);
	ck_assert_int_eq(q->nodes[0].op, NPUQ_QUANTIZE);
	ck_assert_int_eq(q->nodes[1].op, NPUQ_LUT);
	ck_assert_int_eq(q->nodes[2].op, NPUQ_DEQUANTIZE);
	ck_assert(q->t[q->inputs[0]].flags & NPUQ_T_FLOAT);
	ck_assert(q->t[q->outputs[0]].flags & NPUQ_T_FLOAT);
	ck_assert_str_eq(q->t[q->outputs[0]].name, "y");
	c = &q->nodes[1];
	/* int8 3 is real 0 -> uint8 128 -> int8 0 */
	ck_assert_int_eq(c->u.lut.table[3 + 128], 0);
	ck_assert_int_eq(qout(c, 0)->zp, 0);
	r = run_compare(4);
	ck_assert(r.max_steps == 0.0);		/* the same float32 formulas: exact */
}
END_TEST

/* What does not fit the NPU becomes a CPU node with a reason, never an error. */
START_TEST(test_fallbacks)
{
	int64_t xd[4] = { 1, 3, 4, 4 }, three = 3, wd[4] = { 2, 3, 1, 1 };
	float sc[3] = { 0.1f, 0.2f, 0.3f };
	uint8_t zp[3] = { 1, 2, 3 };
	int x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd), in[9], xf, t, y1, y2, outs[2], n;
	const struct npuq_node *c;

	/* per-axis DequantizeLinear of an activation */
	in[0] = x;
	in[1] = gb_const_t(g, "s", NPUC_DT_F32, 1, &three, sc);
	in[2] = gb_const_t(g, "z", NPUC_DT_U8, 1, &three, zp);
	xf = tmp("xf", NPUC_DT_F32);
	n = gb_node1(g, "DequantizeLinear", in, 3, xf);
	gb_attr_i(g, n, "axis", 1);
	/* a float op with no quantised output */
	t = tmp("e", NPUC_DT_F32);
	gb_node1(g, "Exp", &xf, 1, t);
	y1 = t;
	/* QLinearConv whose x_scale is not a constant (a graph tensor) */
	in[0] = x;
	in[1] = xf;
	in[2] = c8("xzp", NPUC_DT_U8, 0);
	in[3] = crand8("w", NPUC_DT_U8, 4, wd);
	in[4] = cf("ws", 0.1f);
	in[5] = c8("wzp", NPUC_DT_U8, 0);
	in[6] = cf("ys", 0.1f);
	in[7] = c8("yzp", NPUC_DT_U8, 0);
	y2 = tmp("y2", NPUC_DT_U8);
	gb_node1(g, "QLinearConv", in, 8, y2);
	outs[0] = y1;
	outs[1] = y2;
	gb_io(g, &x, 1, outs, 2);
	ck_assert_int_eq(npuc_shape_infer(g, &d), 0);
	g->t[xf].rank = 0;	/* a scalar x_scale shape, but not constant */
	ck_assert_msg(npuc_qdq_import(g, &q, &d) == 0, "%s", d.msg);
	g = NULL;
	ck_assert_int_eq(count_op(NPUQ_CPU), 3);
	ck_assert_int_eq(count_op(NPUQ_CONV), 0);
	c = &q->nodes[0];
	ck_assert_str_eq(q->src->nodes[c->u.cpu.src_node].op, "DequantizeLinear");
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "per-axis"));
	c = &q->nodes[1];
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "QuantizeLinear"));
	c = &q->nodes[2];
	ck_assert_ptr_nonnull(strstr(c->u.cpu.reason, "not a single constant"));
	ck_assert_int_eq(c->n_in, 2);		/* x and the float x_scale tensor */
}
END_TEST

/*
 * CPU nodes with 8-bit and integer operands, end to end: ConvInteger
 * (uint8, int32 result, no requantisation), MatMulInteger (int8 x int8
 * constant), per-axis DequantizeLinear and QuantizeLinear of an activation.
 * qref equals ref_float exactly; the lowered .npub (tensor types INT32 and
 * NPUB_T_U8) equals qref on libnpusim.
 */
/* DynamicQuantizeLinear: a CPU node with typed outputs (uint8, float, uint8). */
START_TEST(test_dynamic_quantize)
{
	static const float xv[6] = { -1, 0, 1, 2, 3, 4 };
	static const int8_t want[6] = { -128, -77, -26, 25, 76, 127 };	/* u8 0..255 ^ 0x80 */
	int64_t xd[2] = { 2, 3 };
	int x = gb_tensor_t(g, "x", NPUC_DT_F32, 2, xd), outs[3], n;
	struct npuc_value in, out[3], so[3];
	struct npub_model *m = NULL;
	struct npul_options opt;

	/* shapes given: shape inference does not know DynamicQuantizeLinear */
	outs[0] = gb_tensor_t(g, "y", NPUC_DT_U8, 2, xd);
	outs[1] = gb_tensor_t(g, "y_scale", NPUC_DT_F32, 0, NULL);
	outs[2] = gb_tensor_t(g, "y_zp", NPUC_DT_U8, 0, NULL);
	n = npuc_graph_add_node(g, "dql", "DynamicQuantizeLinear", "", &x, 1, outs, 3, &d);
	ck_assert_msg(n >= 0, "%s", d.msg);
	gb_io(g, &x, 1, outs, 3);
	ck_assert_int_eq(npuc_qdq_is_quantized(g), 1);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CPU), 1);
	ck_assert_int_eq(q->n_nodes, 1);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[0]]), NPUC_DT_U8);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[1]]), NPUC_DT_F32);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[2]]), NPUC_DT_U8);
	for (int i = 0; i < q->n_t; i++)
		ck_assert_int_eq(npuq_tensor_dtype(&q->t[i]), npuc_qdq_onnx_dtype(q, i));
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 2, xd, (void *)xv, &d), 0);
	memset(out, 0, sizeof(out));
	ck_assert_msg(npuq_ref_run(q, &in, out, NULL, &d) == 0, "%s", d.msg);
	/* scale (4 - -1) / 255, zero point rint(1 / scale) = 51 */
	ck_assert_int_eq(out[0].dtype, NPUC_DT_I8);
	ck_assert_int_eq(out[0].numel, 6);
	for (int i = 0; i < 6; i++)
		ck_assert_int_eq(((int8_t *)out[0].data)[i], want[i]);
	ck_assert_int_eq(out[1].dtype, NPUC_DT_F32);
	ck_assert_float_eq_tol(((float *)out[1].data)[0], 5.0f / 255.0f, 1e-8f);
	ck_assert_int_eq(out[2].dtype, NPUC_DT_I8);
	ck_assert_int_eq(((int8_t *)out[2].data)[0], 51 - 128);

	/* Lowered and run as .npub: the same bytes. */
	npul_options_default(&opt);
	opt.estimate = 0;
	ck_assert_msg(npul_lower(q, &opt, &m, &d) == 0, "%s", d.msg);
	memset(so, 0, sizeof(so));
	ck_assert_msg(npub_run_sim(m, NULL, &in, so, NULL, &d) == 0, "%s", d.msg);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(so[i].dtype, out[i].dtype);
		ck_assert_int_eq(so[i].numel, out[i].numel);
		ck_assert_mem_eq(so[i].data, out[i].data,
				 (size_t)out[i].numel * npuc_dtype_size(out[i].dtype));
		npuc_value_free(&so[i]);
		npuc_value_free(&out[i]);
	}
	npub_model_free(m);
}
END_TEST

START_TEST(test_integer_cpu_nodes)
{
	int64_t xd[4] = { 1, 2, 4, 4 }, wd[4] = { 3, 2, 3, 3 }, ad[2] = { 3, 4 };
	int64_t bd[2] = { 4, 2 }, two = 2, pads[4] = { 1, 1, 1, 1 };
	float sc[2] = { 0.5f, 0.25f }, sq[2] = { 0.25f, 1.0f };
	uint8_t zp[2] = { 120, 7 }, zq[2] = { 3, 200 };
	int x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd), a = gb_tensor_t(g, "a", NPUC_DT_I8, 2, ad);
	int in[4], y32, m32, xf, xq, outs[4], n;
	struct npuc_value qi[2], qo[4], so[4];
	struct npub_model *m = NULL, *m2 = NULL;
	struct npul_options opt;
	uint8_t *buf = NULL;
	size_t len = 0;
	struct cmp r;

	in[0] = x;
	in[1] = crand8("w", NPUC_DT_U8, 4, wd);
	in[2] = c8("xzp", NPUC_DT_U8, 5);
	in[3] = c8("wzp", NPUC_DT_U8, 2);
	y32 = tmp("y32", NPUC_DT_I32);
	n = gb_node1(g, "ConvInteger", in, 4, y32);
	gb_attr_ints(g, n, "pads", 4, pads);
	in[0] = a;
	in[1] = crand8("b", NPUC_DT_I8, 2, bd);
	m32 = tmp("m32", NPUC_DT_I32);
	gb_node1(g, "MatMulInteger", in, 2, m32);
	in[0] = x;
	in[1] = gb_const_t(g, "dqs", NPUC_DT_F32, 1, &two, sc);
	in[2] = gb_const_t(g, "dqz", NPUC_DT_U8, 1, &two, zp);
	xf = tmp("xf", NPUC_DT_F32);
	gb_attr_i(g, gb_node1(g, "DequantizeLinear", in, 3, xf), "axis", 1);
	in[0] = xf;
	in[1] = gb_const_t(g, "qs", NPUC_DT_F32, 1, &two, sq);
	in[2] = gb_const_t(g, "qz", NPUC_DT_U8, 1, &two, zq);
	xq = tmp("xq", NPUC_DT_U8);
	gb_attr_i(g, gb_node1(g, "QuantizeLinear", in, 3, xq), "axis", 1);
	outs[0] = y32;
	outs[1] = m32;
	outs[2] = xf;
	outs[3] = xq;
	in[0] = x;
	in[1] = a;
	gb_io(g, in, 2, outs, 4);
	import_ok();
	ck_assert_int_eq(count_op(NPUQ_CPU), 4);
	ck_assert_int_eq(q->n_nodes, 4);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->inputs[0]]), NPUC_DT_U8);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->inputs[1]]), NPUC_DT_I8);
	ck_assert(q->t[q->outputs[0]].flags & NPUQ_T_FLOAT);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[0]]), NPUC_DT_I32);
	ck_assert_int_eq(npuq_tensor_bytes(&q->t[q->outputs[0]]), 4 * 3 * 4 * 4);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[2]]), NPUC_DT_F32);
	ck_assert_int_eq(npuq_tensor_dtype(&q->t[q->outputs[3]]), NPUC_DT_U8);
	for (int i = 0; i < q->n_t; i++)
		ck_assert_int_eq(npuq_tensor_dtype(&q->t[i]), npuc_qdq_onnx_dtype(q, i));
	r = run_compare(3);
	ck_assert(r.max_steps == 0.0);		/* float output of a CPU node: exact */
	ck_assert_int_eq(r.off1, 0);

	/* Lowered: CPU steps on typed tensors, bit-exact with qref. */
	npul_options_default(&opt);
	opt.estimate = 0;
	ck_assert_msg(npul_lower(q, &opt, &m, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_write_mem(m, &buf, &len, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_read_mem(buf, len, &m2, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(m2->hdr.version_minor, NPUB_VERSION_MINOR);
	ck_assert_int_eq(m2->n_cpu_nodes, 4);
	for (uint32_t i = 0; i < m2->n_tensors; i++) {
		const struct npub_tensor *t = &m2->tensors[i];
		const char *nm = npub_str(m2, t->name);

		if (!strcmp(nm, "y32") || !strcmp(nm, "m32"))
			ck_assert_int_eq(t->dtype, NPUB_DT_INT32);
		else if (!strcmp(nm, "xf"))
			ck_assert_int_eq(t->dtype, NPUB_DT_FLOAT32);
		else
			ck_assert_int_eq(t->dtype, NPUB_DT_INT8);
		ck_assert_int_eq(!!(t->flags & NPUB_T_U8), !strcmp(nm, "x") || !strcmp(nm, "xq"));
	}
	for (int rep = 0; rep < 2; rep++) {
		struct npuc_value si[2];

		memset(si, 0, sizeof(si));
		memset(qi, 0, sizeof(qi));
		make_inputs(si, qi);
		ck_assert_msg(npuq_ref_run(q, qi, qo, NULL, &d) == 0, "qref: %s", d.msg);
		ck_assert_msg(npub_run_sim(m2, NULL, qi, so, NULL, &d) == 0, "sim: %s", d.msg);
		for (int i = 0; i < 4; i++) {
			ck_assert_int_eq(so[i].dtype, qo[i].dtype);
			ck_assert_int_eq(so[i].numel, qo[i].numel);
			ck_assert_int_eq(so[i].rank, qo[i].rank);
			ck_assert(!memcmp(so[i].data, qo[i].data, (size_t)qo[i].numel *
					  npuc_dtype_size(qo[i].dtype)));
			npuc_value_free(&so[i]);
			npuc_value_free(&qo[i]);
		}
		/* A uint8 value for the uint8 input is accepted (flipped) as well. */
		qi[0].dtype = NPUC_DT_U8;
		for (int64_t k = 0; k < qi[0].numel; k++)
			((uint8_t *)qi[0].data)[k] ^= 0x80;
		ck_assert_msg(npub_run_sim(m2, NULL, qi, so, NULL, &d) == 0, "sim: %s", d.msg);
		ck_assert_msg(npuq_ref_run(q, qi, qo, NULL, &d) == 0, "qref: %s", d.msg);
		for (int i = 0; i < 4; i++) {
			ck_assert(!memcmp(so[i].data, qo[i].data, (size_t)qo[i].numel *
					  npuc_dtype_size(qo[i].dtype)));
			npuc_value_free(&so[i]);
			npuc_value_free(&qo[i]);
		}
		for (int i = 0; i < 2; i++) {
			npuc_value_free(&si[i]);
			npuc_value_free(&qi[i]);
		}
	}
	/* The reader refuses element types and flags it does not know, or U8 on non-int8. */
	for (uint32_t i = 0; i < m2->n_tensors; i++) {
		struct npub_tensor *t = &m2->tensors[i], keep = *t;

		if (strcmp(npub_str(m2, t->name), "y32"))
			continue;
		t->dtype = NPUB_DT_MAX + 1;
		ck_assert_int_eq(npub_validate(m2, &d), -1);
		ck_assert_msg(strstr(d.msg, "unknown element type"), "%s", d.msg);
		*t = keep;
		t->flags |= NPUB_T_U8;
		ck_assert_int_eq(npub_validate(m2, &d), -1);
		*t = keep;
		t->dtype = NPUB_DT_INT64;	/* 8 bytes an element: size mismatch */
		ck_assert_int_eq(npub_validate(m2, &d), -1);
		*t = keep;
		ck_assert_msg(npub_validate(m2, &d) == 0, "%s", d.msg);
	}
	free(buf);
	npub_model_free(m);
	npub_model_free(m2);
}
END_TEST

START_TEST(test_errors)
{
	int64_t xd[2] = { 2, 2 };
	int x = gb_tensor_t(g, "x", NPUC_DT_F32, 2, xd), y;
	struct npuc_graph *plain;

	ck_assert_int_eq(npuc_qdq_import(NULL, &q, &d), -1);
	ck_assert_ptr_null(q);
	/* unknown shape of a tensor the qgraph needs: clear error, src kept */
	y = tmp("y", NPUC_DT_F32);
	gb_node1(g, "NoSuchOp", &x, 1, y);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_int_eq(npuc_qdq_is_quantized(g), 0);
	ck_assert_int_eq(npuc_qdq_import(g, &q, &d), -1);
	ck_assert_ptr_null(q);
	ck_assert_ptr_nonnull(strstr(d.msg, "'y'"));
	ck_assert_ptr_nonnull(strstr(d.msg, "shape"));
	/* a float graph imports as CPU nodes */
	g->t[y].rank = 2;
	g->t[y].dims[0] = g->t[y].dims[1] = 2;
	ck_assert_msg(npuc_qdq_import(g, &q, &d) == 0, "%s", d.msg);
	plain = g;
	g = NULL;
	ck_assert_ptr_eq(q->src, plain);
	ck_assert_int_eq(q->n_nodes, 1);
	ck_assert_int_eq(q->nodes[0].op, NPUQ_CPU);
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, -1), NPUC_DT_UNDEF);
	ck_assert_int_eq(npuc_qdq_onnx_dtype(q, q->outputs[0]), NPUC_DT_F32);
}
END_TEST

Suite *suite_qdq_import(void);

Suite *suite_qdq_import(void)
{
	Suite *s = suite_create("qdq_import");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_qlinearconv_exact_params);
	tcase_add_test(tc, test_qlinearconv_per_channel_wzp_cpu);
	tcase_add_test(tc, test_qlinearmatmul_const_and_activation_b);
	tcase_add_test(tc, test_integer_ops_requant_chain);
	tcase_add_test(tc, test_qdq_conv_relu_fused);
	tcase_add_test(tc, test_bad_scales_refused);
	tcase_add_test(tc, test_qdq_depthwise_clip);
	tcase_add_test(tc, test_qdq_gemm_and_matmul);
	tcase_add_test(tc, test_qdq_eltwise);
	tcase_add_test(tc, test_qdq_pools_reshape);
	tcase_add_test(tc, test_qdq_lut_cpu_concat);
	tcase_add_test(tc, test_com_microsoft_qlinear_ops);
	tcase_add_test(tc, test_cpu_conv_with_dq_weights);
	tcase_add_test(tc, test_boundaries_and_requant);
	tcase_add_test(tc, test_fallbacks);
	tcase_add_test(tc, test_integer_cpu_nodes);
	tcase_add_test(tc, test_dynamic_quantize);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
