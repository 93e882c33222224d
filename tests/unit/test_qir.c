// SPDX-License-Identifier: MIT
/*
 * Quantised IR (libnpu/host/qir.c): graph construction and ownership
 * (leaks show under ASan), validation, ONNX-visible shapes, the CONCAT
 * requantisation rule, and npuq_quantize_multiplier: exact powers of two,
 * the mantissa carry into 2^31, the denormal and overflow ends, and
 * log-uniform random scales 1e-9..1e3 checked for half-ulp accuracy.
 */
#include <check.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "qir.h"
#include "util/stream.h"

static struct npuc_diag d;

static int add_t(struct npuq_graph *g, const char *name, int h, int w, int c, unsigned int fl)
{
	int t = npuq_add_tensor(g, name, h, w, c, 0.5f, 3, fl, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static struct npuq_conv make_conv(int out_c, int in_c)
{
	struct npuq_conv c = { .k_h = 1, .k_w = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1,
			       .dil_w = 1, .groups = 1, .act_min = -128, .act_max = 127 };

	c.w = calloc((size_t)out_c * in_c, 1);
	c.q = calloc((size_t)out_c, sizeof(*c.q));
	c.w_scale = calloc((size_t)out_c, sizeof(float));
	ck_assert(c.w && c.q && c.w_scale);
	return c;
}

START_TEST(test_build_and_free)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuq_conv conv;
	struct npuq_eltwise elt = { .op = NPU_ELT_ADD };
	struct npuq_lut lut = { .fn = strdup("Sigmoid") };
	struct npuq_cpu cpu = { .src_node = 0, .reason = strdup("unsupported op") };
	int x, y, z, u, v, n;

	ck_assert_ptr_nonnull(g);
	x = add_t(g, "x", 4, 5, 6, 0);
	y = add_t(g, "y", 4, 5, 8, 0);
	z = add_t(g, "z", 4, 5, 8, 0);
	u = add_t(g, "u", 4, 5, 8, 0);
	v = add_t(g, "v", 4, 5, 8, NPUQ_T_FLOAT);
	ck_assert_int_eq(g->n_t, 5);
	ck_assert_str_eq(g->t[x].name, "x");
	ck_assert_int_eq(g->t[y].c, 8);
	ck_assert_int_eq(g->t[x].producer, -1);
	ck_assert_int_eq(g->t[x].onnx_rank, 0);
	ck_assert_int_eq(npuq_add_input(g, x, &d), 0);
	ck_assert(g->t[x].flags & NPUQ_T_INPUT);

	conv = make_conv(8, 6);
	n = npuq_add_node(g, NPUQ_CONV, "conv0", &x, 1, &y, 1, &conv, &d);
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(g->t[y].producer, 0);
	ck_assert_ptr_eq(g->nodes[0].u.conv.w, conv.w);	/* ownership moved, not copied */
	elt.b_const = malloc(8);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_ELTWISE, "add", &y, 1, &z, 1, &elt, &d), 1);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_LUT, "sig", &z, 1, &u, 1, &lut, &d), 2);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_CPU, NULL, &u, 1, &v, 1, &cpu, &d), 3);
	ck_assert_str_eq(g->nodes[3].name, "");
	ck_assert_int_eq(npuq_add_output(g, v, &d), 0);
	ck_assert_int_eq(g->n_outputs, 1);
	ck_assert_int_eq(g->outputs[0], v);
	ck_assert(g->t[v].flags & NPUQ_T_OUTPUT);
	ck_assert_int_eq(g->n_nodes, 4);
	ck_assert_str_eq(g->nodes[2].u.lut.fn, "Sigmoid");
	/* Growing past the initial capacity keeps everything intact. */
	for (int i = 0; i < 100; i++) {
		char name[16];
		int a, b;

		snprintf(name, sizeof(name), "a%d", i);
		a = add_t(g, name, 1, 1, 2, 0);
		snprintf(name, sizeof(name), "b%d", i);
		b = add_t(g, name, 1, 1, 2, 0);
		ck_assert_int_ge(npuq_add_node(g, NPUQ_RESHAPE, name, &a, 1, &b, 1, NULL, &d), 0);
	}
	ck_assert_int_eq(g->n_nodes, 104);
	ck_assert_str_eq(g->t[x].name, "x");
	ck_assert_str_eq(g->nodes[0].name, "conv0");
	ck_assert_int_eq(g->nodes[1].in[0], y);
	g->src = npuc_graph_new();	/* owned by the qgraph */
	npuq_graph_free(g);
	npuq_graph_free(NULL);
}
END_TEST

START_TEST(test_add_errors)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuq_conv conv;
	int x, y, bad = 7;

	ck_assert_int_eq(npuq_add_tensor(g, "z", 0, 1, 1, 1.0f, 0, 0, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "extent"));
	ck_assert_int_eq(npuq_add_tensor(g, "z", 1, -2, 1, 1.0f, 0, 0, &d), -1);
	ck_assert_int_eq(npuq_add_tensor(g, "z", 65536, 65536, 1, 1.0f, 0, 0, &d), -1);
	ck_assert_int_eq(npuq_add_tensor(g, "z", 1, 1, 1, 1.0f, 128, 0, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "zero point"));
	ck_assert_int_eq(npuq_add_tensor(g, "z", 1, 1, 1, 1.0f, -129, 0, &d), -1);
	ck_assert_int_eq(npuq_add_tensor(g, "z", 1, 1, 1, 1.0f, 0, 1u << 7, &d), -1);
	ck_assert_int_eq(g->n_t, 0);
	x = add_t(g, "x", 2, 2, 2, 0);
	y = add_t(g, "y", 2, 2, 2, 0);

	/* Failures free the parameters' pointers (ASan reports a leak otherwise). */
	conv = make_conv(2, 2);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_CONV, "c", &bad, 1, &y, 1, &conv, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "refers to no tensor"));
	conv = make_conv(2, 2);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_CONV, "c", &x, 1, &bad, 1, &conv, &d), -1);
	conv = make_conv(2, 2);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_OP_COUNT, "c", &x, 1, &y, 1, &conv, &d), -1);
	free(conv.w);
	free(conv.q);
	free(conv.w_scale);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_CONV, "c", &x, 1, &y, 1, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "parameters"));
	ck_assert_int_eq(npuq_add_node(g, NPUQ_RESHAPE, "r", &x, -1, &y, 1, NULL, &d), -1);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_RESHAPE, "r", NULL, 1, &y, 1, NULL, &d), -1);
	/* An output can have one producer, and not be a graph input. */
	ck_assert_int_eq(npuq_add_input(g, x, &d), 0);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_RESHAPE, "r", &y, 1, &x, 1, NULL, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "already defined"));
	ck_assert_int_eq(npuq_add_node(g, NPUQ_RESHAPE, "r", &x, 1, &y, 1, NULL, &d), 0);
	ck_assert_int_eq(npuq_add_node(g, NPUQ_RESHAPE, "r2", &x, 1, &y, 1, NULL, &d), -1);
	{
		int outs[2] = { add_t(g, "p", 1, 1, 1, 0), 0 };

		outs[1] = outs[0];
		ck_assert_int_eq(npuq_add_node(g, NPUQ_CPU, "c2", &x, 1, outs, 2,
					       &(struct npuq_cpu){ 0 }, &d), -1);
		ck_assert_ptr_nonnull(strstr(d.msg, "twice"));
	}
	ck_assert_int_eq(npuq_add_input(g, y, &d), -1);	/* produced by a node */
	ck_assert_int_eq(npuq_add_input(g, 99, &d), -1);
	ck_assert_int_eq(npuq_add_output(g, -1, &d), -1);
	ck_assert_int_eq(g->n_nodes, 1);
	npuq_graph_free(g);
}
END_TEST

START_TEST(test_names_bytes_shapes)
{
	struct npuq_tensor t = { .name = "t", .h = 3, .w = 4, .c = 5 };
	int64_t dims[NPUC_MAX_RANK];
	int rank;

	ck_assert_str_eq(npuq_op_name(NPUQ_CONV), "CONV");
	ck_assert_str_eq(npuq_op_name(NPUQ_DEQUANTIZE), "DEQUANTIZE");
	ck_assert_str_eq(npuq_op_name(NPUQ_CPU), "CPU");
	for (int op = 0; op < NPUQ_OP_COUNT; op++)
		ck_assert(strcmp(npuq_op_name((enum npuq_op)op), "?") != 0);
	ck_assert_str_eq(npuq_op_name(NPUQ_OP_COUNT), "?");
	ck_assert_str_eq(npuq_op_name((enum npuq_op)-1), "?");
	ck_assert_int_eq(npuq_tensor_bytes(&t), 60);
	t.flags = NPUQ_T_FLOAT;
	ck_assert_int_eq(npuq_tensor_bytes(&t), 240);

	/* Not given: (h, w, c). */
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), 0);
	ck_assert_int_eq(rank, 3);
	ck_assert(dims[0] == 3 && dims[1] == 4 && dims[2] == 5);
	/* NCHW 4-D. */
	t.onnx_rank = 4;
	t.onnx_dims[0] = 1;
	t.onnx_dims[1] = 5;
	t.onnx_dims[2] = 3;
	t.onnx_dims[3] = 4;
	t.nchw = 1;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), 0);
	ck_assert(rank == 4 && dims[1] == 5 && dims[3] == 4);
	t.onnx_dims[1] = 4;
	t.onnx_dims[3] = 5;	/* right element count, wrong NCHW order */
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "does not match"));
	/* Flattened [1, 60]. */
	t.nchw = 0;
	t.onnx_rank = 2;
	t.onnx_dims[0] = 1;
	t.onnx_dims[1] = 60;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), 0);
	ck_assert(rank == 2 && dims[1] == 60);
	t.onnx_dims[1] = 61;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), -1);
	t.onnx_dims[1] = 0;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), -1);
	t.onnx_rank = NPUC_MAX_RANK + 1;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), -1);
	/* Huge dims cannot overflow the product check. */
	t.onnx_rank = 3;
	t.onnx_dims[0] = INT64_MAX;
	t.onnx_dims[1] = INT64_MAX;
	t.onnx_dims[2] = 2;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), -1);
	/* A single element with onnx_rank 0 is a scalar. */
	t.h = t.w = t.c = 1;
	t.onnx_rank = 0;
	ck_assert_int_eq(npuq_tensor_onnx_shape(&t, &rank, dims, &d), 0);
	ck_assert_int_eq(rank, 0);
}
END_TEST

/* |real * 2^shift - mult| <= 1/2: the multiplier is correctly rounded. */
static void check_mult(double real)
{
	uint32_t m = 0xdeadbeef, s = 0xdeadbeef;
	double exact;

	ck_assert_msg(npuq_quantize_multiplier(real, &m, &s) == 0, "%.17g", real);
	ck_assert_msg(s >= NPU_SHIFT_MIN && s <= NPU_SHIFT_MAX, "%.17g: shift %u", real, s);
	ck_assert_msg(m < (1u << 31), "%.17g: mult %u", real, m);
	if (s < NPU_SHIFT_MAX)
		ck_assert_msg(m >= (1u << 30), "%.17g: mult %u not normalised", real, m);
	exact = ldexp(real, (int)s);
	ck_assert_msg(fabs(exact - (double)m) <= 0.5, "%.17g: %u >> %u", real, m, s);
}

START_TEST(test_multiplier_exact)
{
	uint32_t m, s;

	/* Powers of two: mult 2^30 exactly. */
	for (int e = -32; e <= 29; e++) {
		ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0, e), &m, &s), 0);
		ck_assert_uint_eq(m, 1u << 30);
		ck_assert_uint_eq(s, (uint32_t)(30 - e));
	}
	ck_assert_int_eq(npuq_quantize_multiplier(1.0, &m, &s), 0);
	ck_assert(m == 1u << 30 && s == 30);
	ck_assert_int_eq(npuq_quantize_multiplier(0.75, &m, &s), 0);
	ck_assert(m == 3u << 29 && s == 31);
	/* 1 - 2^-31: mantissa 2^31 - 1 fits. */
	ck_assert_int_eq(npuq_quantize_multiplier(1.0 - ldexp(1.0, -31), &m, &s), 0);
	ck_assert(m == 0x7fffffffu && s == 31);
	/* 1 - 2^-32: mantissa rounds to 2^31 -> renormalised to 2^30, one less shift. */
	ck_assert_int_eq(npuq_quantize_multiplier(1.0 - ldexp(1.0, -32), &m, &s), 0);
	ck_assert(m == 1u << 30 && s == 30);
	/* Same carry near the top of the range: 2^29 * (1 - 2^-33) -> 2^29. */
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0 - ldexp(1.0, -33), 29), &m, &s), 0);
	ck_assert(m == 1u << 30 && s == 1);
	/* Half-ulp rounding of the mantissa: 2^30 + 0.5 ulp rounds up. */
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp((double)(1u << 30) + 0.5, -31), &m, &s),
			 0);
	ck_assert(m == (1u << 30) + 1 && s == 31);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp((double)(1u << 30) + 0.49, -31), &m,
						  &s), 0);
	ck_assert(m == 1u << 30 && s == 31);
	/* Zero and (double) denormals: mult 0. */
	ck_assert_int_eq(npuq_quantize_multiplier(0.0, &m, &s), 0);
	ck_assert(m == 0 && s == NPU_SHIFT_MAX);
	ck_assert_int_eq(npuq_quantize_multiplier(-0.0, &m, &s), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(npuq_quantize_multiplier(5e-324, &m, &s), 0);
	ck_assert(m == 0 && s == NPU_SHIFT_MAX);
	ck_assert_int_eq(npuq_quantize_multiplier(1e-30, &m, &s), 0);
	ck_assert(m == 0 && s == NPU_SHIFT_MAX);
	/* Below 2^-32: denormalised at shift 62. */
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0, -33), &m, &s), 0);
	ck_assert(m == 1u << 29 && s == NPU_SHIFT_MAX);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(3.0, -45), &m, &s), 0);
	ck_assert(m == 3u << 17 && s == NPU_SHIFT_MAX);
	/* Just below 2^-32 the denormal rounding reaches 2^30 again. */
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0 - ldexp(1.0, -40), -32), &m, &s), 0);
	ck_assert(m == 1u << 30 && s == NPU_SHIFT_MAX);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(0.49, -62), &m, &s), 0);
	ck_assert_uint_eq(m, 0);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(0.5, -62), &m, &s), 0);
	ck_assert_uint_eq(m, 1);
	/* Rejected: negative, not finite, too large for shift >= 1. */
	ck_assert_int_eq(npuq_quantize_multiplier(-1e-3, &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(-INFINITY, &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(INFINITY, &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(NAN, &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0, 30), &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0, 31), &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(1e300, &m, &s), -1);
	/* 2^30 * (1 - 2^-33) rounds up to 2^30: not representable either. */
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0 - ldexp(1.0, -33), 30), &m, &s), -1);
	ck_assert_int_eq(npuq_quantize_multiplier(ldexp(1.0 - ldexp(1.0, -31), 30), &m, &s), 0);
	ck_assert(m == 0x7fffffffu && s == 1);
	check_mult(1e3);
	check_mult(1e-9);
	check_mult(ldexp(1.0, 29) * 1.5);
}
END_TEST

START_TEST(test_multiplier_random)
{
	struct trng r;

	trng_init(&r, 0x9a17c0deull);
	for (int i = 0; i < 20000; i++) {
		/* log-uniform in [1e-9, 1e3] */
		double u = (double)(trng_next(&r) >> 11) / 9007199254740992.0;
		double real = pow(10.0, -9.0 + 12.0 * u);
		uint32_t m, s;
		struct npu_qparam q = { 0 };

		check_mult(real);
		/* The device rescale then approximates real * x to within one step. */
		npuq_quantize_multiplier(real, &m, &s);
		q.mult = m;
		q.shift = s;
		for (int k = 0; k < 4; k++) {
			int64_t x = trng_range(&r, -(1 << 20), 1 << 20);
			double want = real * (double)x;
			int64_t got = npu_rescale(x, npu_q_mult(q.mult), npu_q_shift(q.shift));

			if (fabs(want) < 1e9)
				ck_assert_msg(fabs((double)got - want) <= 0.5 + fabs(want) * 1e-9 +
					      ldexp(fabs((double)x), -(int)s),
					      "seed %llu: %.17g * %lld = %lld",
					      (unsigned long long)r.seed, real, (long long)x,
					      (long long)got);
		}
	}
}
END_TEST

START_TEST(test_concat_qparam)
{
	struct npuq_tensor a = { .name = "a", .scale = 0.5f, .zp = 3 };
	struct npuq_tensor o = { .name = "o", .scale = 0.5f, .zp = 3 };
	struct npu_qparam q;

	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), 1);
	ck_assert(q.bias == 0 && q.mult == 1u << 30 && q.shift == 30);
	/* identity requant: x stays x */
	for (int x = -255; x <= 255; x++)
		ck_assert_int_eq(npu_rescale(x, q.mult, q.shift), x);
	o.zp = -4;
	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), 0);
	ck_assert(q.mult == 1u << 30 && q.shift == 30);
	o.scale = 1.0f;
	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), 0);
	ck_assert(q.mult == 1u << 30 && q.shift == 31);
	ck_assert_int_eq(npu_requant(11, &q, 0, -128, 127), 6);	/* 5.5 rounds up */
	ck_assert_int_eq(npu_requant(-11, &q, 0, -128, 127), -5);	/* -5.5 rounds up */
	o.scale = 0.0f;
	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), -1);
	o.scale = NAN;
	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), -1);
	o.scale = 1e-30f;	/* ratio 5e29: not representable */
	ck_assert_int_eq(npuq_concat_qparam(&a, &o, &q), -1);
}
END_TEST

Suite *suite_qir(void);
Suite *suite_qir(void)
{
	Suite *s = suite_create("qir");
	TCase *tc = tcase_create("qir");

	tcase_add_test(tc, test_build_and_free);
	tcase_add_test(tc, test_add_errors);
	tcase_add_test(tc, test_names_bytes_shapes);
	tcase_add_test(tc, test_multiplier_exact);
	tcase_add_test(tc, test_multiplier_random);
	tcase_add_test(tc, test_concat_qparam);
	suite_add_tcase(s, tc);
	return s;
}
