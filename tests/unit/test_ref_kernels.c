// SPDX-License-Identifier: MIT
/*
 * The reference kernels (libnpu/host/ref_kernels.h, and the int8 ones of
 * qref_kernels.h) called directly, as a
 * prepared CPU step or another library would: parameters, shapes and
 * pointers, no graph, node or executor. Expected values are worked out by
 * hand in the comments.
 */
#include <check.h>
#include <math.h>
#include <string.h>

#include "qref_kernels.h"
#include "ref_kernels.h"

/* A view of caller memory (what the kernels read and write). */
static struct npuc_value view(enum npuc_dtype dt, int rank, const int64_t *dims, void *data)
{
	struct npuc_value v = { .dtype = dt, .rank = rank, .numel = 1, .data = data };

	for (int i = 0; i < rank; i++) {
		v.dims[i] = dims[i];
		v.numel *= dims[i];
	}
	return v;
}

static void assert_floats(const float *got, const float *want, int n)
{
	for (int i = 0; i < n; i++)
		ck_assert_msg(fabsf(got[i] - want[i]) <= 1e-5f * (1.0f + fabsf(want[i])),
			      "element %d: %g, expected %g", i, got[i], want[i]);
}

START_TEST(test_conv_3x3_pad1)
{
	/* 1x1x3x3 input 1..9, kernel all ones, pad 1: each output sums its 3x3 neighbourhood. */
	struct ref_geom g = { .nsp = 2, .in = { 1, 3, 3 }, .out = { 1, 3, 3 },
			      .k = { 1, 3, 3 }, .stride = { 1, 1, 1 }, .dil = { 1, 1, 1 },
			      .pad0 = { 0, 1, 1 }, .pad1 = { 0, 1, 1 } };
	float x[9] = { 1, 2, 3, 4, 5, 6, 7, 8, 9 }, w[9], b = 0.5f, y[9];
	const float want[9] = { 12.5f, 21.5f, 16.5f, 27.5f, 45.5f, 33.5f, 24.5f, 39.5f, 28.5f };

	for (int i = 0; i < 9; i++)
		w[i] = 1.0f;
	memset(y, 0x7f, sizeof(y));	/* kernels write every output */
	ref_conv_f32(&g, 1, 1, 1, 1, x, w, &b, y);
	assert_floats(y, want, 9);
}
END_TEST

START_TEST(test_gemm_trans_b_and_bias_broadcast)
{
	/* A 2x3, B^T stored 2x3 (B = 3x2), C a row [10, 20] broadcast over rows. */
	const float A[6] = { 1, 2, 3, 4, 5, 6 }, Bt[6] = { 1, 0, 1, 0, 1, 0 };
	const float C[2] = { 10, 20 };
	struct ref_gemm p = { .m = 2, .k = 3, .n = 2, .trans_b = 1, .alpha = 2.0f, .beta = 1.0f,
			      .c_stride = { 0, 1 } };
	float Y[4] = { 99, 99, 99, 99 };
	/* A B = [[1+3, 2], [4+6, 5]] = [[4, 2], [10, 5]]; *2 + C */
	const float want[4] = { 18, 24, 30, 30 };

	ref_gemm_f32(&p, A, Bt, C, Y);
	assert_floats(Y, want, 4);
}
END_TEST

START_TEST(test_matmul_broadcast_batch)
{
	/* a: 2 batches of 1x2, b: one 2x1 shared by both. */
	struct ref_mm mm = { .rank = 3, .dims = { 2, 1, 1 }, .m = 1, .k = 2, .n = 1, .batch = 2,
			     .nb = 1, .bdims = { 2 }, .a_bst = { 1 }, .b_bst = { 0 } };
	const float a[4] = { 1, 2, 3, 4 }, b[2] = { 10, 1 };
	float y[2] = { -1, -1 };
	const float want[2] = { 12, 34 };

	ref_matmul_f32(&mm, a, b, y);
	assert_floats(y, want, 2);
}
END_TEST

START_TEST(test_pools)
{
	/* 1x1x2x4, 2x2 windows stride 2: max and average of each. */
	struct ref_pool p = { .g = { .nsp = 2, .in = { 1, 2, 4 }, .out = { 1, 1, 2 },
				     .k = { 1, 2, 2 }, .stride = { 1, 2, 2 },
				     .dil = { 1, 1, 1 } } };
	float x[8] = { 1, 5, 2, 2, 3, -1, 8, 0 }, y[2];
	int64_t xd[4] = { 1, 1, 2, 4 }, yd[4] = { 1, 1, 1, 2 }, idx[2];
	struct npuc_value xv = view(NPUC_DT_F32, 4, xd, x), yv = view(NPUC_DT_F32, 4, yd, y);
	struct npuc_value iv = view(NPUC_DT_I64, 4, yd, idx);
	const float want_max[2] = { 5, 8 }, want_avg[2] = { 2, 3 }, want_g[1] = { 2.5f };
	float g;

	ref_pool_nchw(&p, &xv, &yv, &iv);
	assert_floats(y, want_max, 2);
	ck_assert_int_eq(idx[0], 1);
	ck_assert_int_eq(idx[1], 6);
	p.avg = 1;
	ref_pool_nchw(&p, &xv, &yv, NULL);
	assert_floats(y, want_avg, 2);
	ref_global_pool_f32(1, 1, 8, x, &g);
	assert_floats(&g, want_g, 1);
}
END_TEST

START_TEST(test_unary_binary)
{
	int64_t d2[2] = { 2, 2 }, d1[1] = { 2 };
	float x[4] = { -2, -0.5f, 0, 3 }, y[4], b[2] = { 10, 100 };
	struct npuc_value xv = view(NPUC_DT_F32, 2, d2, x), yv = view(NPUC_DT_F32, 2, d2, y);
	struct npuc_value bv = view(NPUC_DT_F32, 1, d1, b);
	const float leaky[4] = { -0.2f, -0.05f, 0, 3 }, hsw[4] = { -1.0f / 3, -0.5f * 2.5f / 6,
								     0, 3 };
	const float add[4] = { 8, 99.5f, 10, 103 }, prelu[4] = { -20, -50, 0, 3 };
	uint8_t cmp[4];
	struct npuc_value cv = view(NPUC_DT_BOOL, 2, d2, cmp);

	ref_unary(REF_U_LEAKY, 0.1f, 0, 0, &xv, &yv);
	assert_floats(y, leaky, 4);
	/* HardSwish: x * clamp(x / 6 + 0.5, 0, 1) */
	ref_unary(REF_U_HSWISH, 0, 0, 0, &xv, &yv);
	assert_floats(y, hsw, 4);
	/* [2, 2] + [2] broadcasts along the rows */
	ref_binary(REF_B_ADD, &xv, &bv, &yv);
	assert_floats(y, add, 4);
	ref_binary(REF_B_PRELU, &xv, &bv, &yv);
	assert_floats(y, prelu, 4);
	ref_binary(REF_B_GT, &xv, &bv, &cv);
	ck_assert(!cmp[0] && !cmp[1] && !cmp[2] && !cmp[3]);
	ref_clip(&xv, -1.0, 1.0, &yv);
	ck_assert(y[0] == -1 && y[1] == -0.5f && y[3] == 1);
}
END_TEST

START_TEST(test_softmax_reduce_norm)
{
	/* Softmax over 2 values [0, ln 3]: [1/4, 3/4]; Hardmax picks the second. */
	float x[2] = { 0, logf(3.0f) }, y[2], bx[2] = { 2, 3 };
	const float soft[2] = { 0.25f, 0.75f }, hard[2] = { 0, 1 };
	int64_t d[2] = { 2, 2 }, rd[1] = { 2 }, ost[2] = { 0, 1 };
	float m[4] = { 1, 2, 3, 4 }, r[2];
	double dacc[2];
	struct npuc_value mv = view(NPUC_DT_F32, 2, d, m), rv = view(NPUC_DT_F32, 1, rd, r);
	const float rsum[2] = { 4, 6 };
	const float scale = 2, bias = 1, mean = 1, var = 3;

	ref_softmax_f32(REF_SOFTMAX, 1, 2, 1, x, y);
	assert_floats(y, soft, 2);
	ref_softmax_f32(REF_HARDMAX, 1, 2, 1, x, y);
	assert_floats(y, hard, 2);
	/* ReduceSum over axis 0 of [[1, 2], [3, 4]] (ost: axis 0 reduced) */
	ref_reduce(REF_R_SUM, &mv, ost, &rv, dacc);
	assert_floats(r, rsum, 2);
	/* BatchNorm of [2, 3] with mean 1, var 3 (+eps 1): (x - 1) / 2 * 2 + 1 */
	ref_batchnorm_f32(1, 1, 2, 1.0f, bx, &scale, &bias, &mean, &var, y);
	assert_floats(y, bx, 2);
}
END_TEST

START_TEST(test_quantize_round_half_even)
{
	/* x / 0.5 = 0.5, 1.5, 2.5, -300: rint -> 0, 2, 2, -600 -> saturated -128; zp 0 */
	float x[4] = { 0.25f, 0.75f, 1.25f, -150 }, s = 0.5f, back[4];
	int8_t q[4], zp = 0;
	int64_t d[1] = { 4 }, one[1] = { 1 };
	struct npuc_value xv = view(NPUC_DT_F32, 1, d, x), qv = view(NPUC_DT_I8, 1, d, q);
	struct npuc_value sv = view(NPUC_DT_F32, 1, one, &s), zv = view(NPUC_DT_I8, 1, one, &zp);
	const float want_back[4] = { 0, 1, 1, -64 };

	ref_quantize_linear(&xv, &sv, &zv, 1, 1, &qv);
	ck_assert_int_eq(q[0], 0);
	ck_assert_int_eq(q[1], 2);
	ck_assert_int_eq(q[2], 2);
	ck_assert_int_eq(q[3], -128);
	ref_dequantize_linear(&qv, &sv, &zv, 1, 1, back);
	assert_floats(back, want_back, 4);
}
END_TEST

START_TEST(test_layout_kernels)
{
	/* Transpose of a 2x3 as a strided view: strides (1, 3) over the source. */
	int32_t x[6] = { 1, 2, 3, 4, 5, 6 }, t[6], p[10], cat[9], fill = -1;
	int64_t xd[2] = { 2, 3 }, td[2] = { 3, 2 }, st[2] = { 1, 3 }, pd[2] = { 2, 5 };
	int64_t pads[2 * NPUC_MAX_RANK] = { 0 }, cd[2] = { 3, 3 }, one[2] = { 1, 3 };
	struct npuc_value xv = view(NPUC_DT_I32, 2, xd, x), tv = view(NPUC_DT_I32, 2, td, t);
	struct npuc_value pv = view(NPUC_DT_I32, 2, pd, p), cv = view(NPUC_DT_I32, 2, cd, cat);
	struct npuc_value rowv = view(NPUC_DT_I32, 2, one, x + 3);
	const struct npuc_value *parts[2] = { &xv, &rowv };
	const int32_t want_t[6] = { 1, 4, 2, 5, 3, 6 };
	const int32_t want_p[10] = { -1, 1, 2, 3, -1, -1, 4, 5, 6, -1 };
	const int32_t want_c[9] = { 1, 2, 3, 4, 5, 6, 4, 5, 6 };

	ref_copy_view(&xv, 0, st, &tv);
	ck_assert(!memcmp(t, want_t, sizeof(t)));
	/* one column of -1 on each side */
	pads[1] = 1;
	pads[NPUC_MAX_RANK + 1] = 1;
	ref_pad(&xv, pads, 0, &fill, &pv);
	ck_assert(!memcmp(p, want_p, sizeof(p)));
	ref_concat(parts, 2, 0, &cv);
	ck_assert(!memcmp(cat, want_c, sizeof(cat)));
}
END_TEST

START_TEST(test_int8_kernels)
{
	/* 2x2x1 input, zero point 1 in and out: max 8, average 1 + round(16 / 4) = 5. */
	struct npuq_pool p = { .mode = NPU_POOL_MAX, .k_h = 2, .k_w = 2, .stride_h = 1,
			       .stride_w = 1, .mult = 1, .shift = 0, .act_min = -128,
			       .act_max = 127 };
	struct npuq_shape x = { 2, 2, 1, 1 }, y = { 1, 1, 1, 1 };
	struct npuq_shape a = { 1, 2, 1, 0 }, cat = { 1, 2, 2, 0 };
	int8_t in[4] = { 2, 4, 6, 8 }, out, table[256], lx[3] = { -128, 0, 127 }, ly[3];
	int8_t c0[2] = { 1, 2 }, c1[2] = { 3, 4 }, cy[4];
	const int8_t want_cat[4] = { 1, 3, 2, 4 };

	npuq_pool_i8(&p, &x, &y, in, &out);
	ck_assert_int_eq(out, 8);
	p.mode = NPU_POOL_AVG;
	npuq_pool_i8(&p, &x, &y, in, &out);
	ck_assert_int_eq(out, 5);	/* (1 + 3 + 5 + 7) / 4 = 4, + zp 1 */
	/* LUT: table[i] = 127 - i maps -128 -> 127, 0 -> -1, 127 -> -128. */
	for (int i = 0; i < 256; i++)
		table[i] = (int8_t)(127 - i);
	npuq_lut_i8(table, lx, ly, 3);
	ck_assert(ly[0] == 127 && ly[1] == -1 && ly[2] == -128);
	/* CONCAT of two 1-channel inputs into a 2-channel output, interleaved per pixel. */
	npuq_concat_part_i8(NULL, &a, &cat, 0, c0, cy);
	npuq_concat_part_i8(NULL, &a, &cat, 1, c1, cy);
	ck_assert(!memcmp(cy, want_cat, sizeof(cy)));
}
END_TEST

Suite *suite_ref_kernels(void);
Suite *suite_ref_kernels(void)
{
	Suite *s = suite_create("ref_kernels");
	TCase *tc = tcase_create("direct");

	tcase_add_test(tc, test_conv_3x3_pad1);
	tcase_add_test(tc, test_gemm_trans_b_and_bias_broadcast);
	tcase_add_test(tc, test_matmul_broadcast_batch);
	tcase_add_test(tc, test_pools);
	tcase_add_test(tc, test_unary_binary);
	tcase_add_test(tc, test_softmax_reduce_norm);
	tcase_add_test(tc, test_quantize_round_half_even);
	tcase_add_test(tc, test_layout_kernels);
	tcase_add_test(tc, test_int8_kernels);
	suite_add_tcase(s, tc);
	return s;
}
