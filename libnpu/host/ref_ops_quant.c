// SPDX-License-Identifier: MIT
/*
 * Quantisation ops per the ONNX spec: QuantizeLinear / DequantizeLinear
 * (per-tensor and per-axis, uint8 and int8, round half to even with
 * saturation), DynamicQuantizeLinear, and the integer compute ops
 * ConvInteger / MatMulInteger (exact int32 results) and QLinearConv /
 * QLinearMatMul (exact integer accumulation, then float requantisation
 * with multiplier x_scale * w_scale / y_scale as onnxruntime does).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_ops_internal.h"

static int is_q8(enum npuc_dtype dt)
{
	return dt == NPUC_DT_U8 || dt == NPUC_DT_I8;
}

static float qmin(enum npuc_dtype dt) { return dt == NPUC_DT_U8 ? 0.0f : -128.0f; }
static float qmax(enum npuc_dtype dt) { return dt == NPUC_DT_U8 ? 255.0f : 127.0f; }

/* Saturating conversion of an already rounded float to the 8-bit type. */
static int64_t q_sat(float v, enum npuc_dtype dt)
{
	if (isnan(v))
		return 0;
	if (v < qmin(dt))
		v = qmin(dt);
	if (v > qmax(dt))
		v = qmax(dt);
	return (int64_t)v;
}

/* Product of dims after axis (elements between consecutive axis steps). */
static int64_t inner_of(const struct npuc_value *x, int64_t axis)
{
	int64_t n = 1;

	for (int i = (int)axis + 1; i < x->rank; i++)
		n *= x->dims[i];
	return n;
}

/*
 * A scale / zero-point parameter must be a single value or a 1-D tensor
 * with one value per index along axis (axis < 0: single value only).
 */
static int check_param(struct ref_ctx *c, const struct npuc_value *p, enum npuc_dtype dt,
		       const struct npuc_value *x, int64_t axis, const char *what)
{
	if (!p)
		return 0;
	if (dt != NPUC_DT_UNDEF && p->dtype != dt)
		return ref_fail(c, "%s has type %s, expected %s", what, npuc_dtype_name(p->dtype),
				npuc_dtype_name(dt));
	if (p->numel == 1 && p->rank <= 1)
		return 0;
	if (axis >= 0 && p->rank == 1 && p->numel == x->dims[axis])
		return 0;
	return ref_fail(c, "%s must be a scalar%s", what,
			axis >= 0 ? " or 1-D along the quantisation axis" : "");
}

/* Value of a parameter for axis index k (0 for scalars / absent zero points). */
static float pf(const struct npuc_value *p, int64_t k)
{
	if (!p)
		return 0.0f;
	return (float)ref_get_f(p, p->numel == 1 ? 0 : k);
}

static int64_t pi(const struct npuc_value *p, int64_t k)
{
	if (!p)
		return 0;
	return ref_get_i(p, p->numel == 1 ? 0 : k);
}

/* Quantisation axis: per-axis needs opset >= 13, earlier only per-tensor. */
static int q_axis(struct ref_ctx *c, const struct npuc_value *x, const struct npuc_value *s,
		  int64_t *axis)
{
	*axis = -1;
	if (s->numel == 1 && s->rank <= 1)
		return 0;
	if (c->opset < 13 || x->rank == 0)
		return ref_fail(c, "per-axis scale needs opset >= 13");
	return ref_axis(c, npuc_attr_int(c->n, "axis", 1), x->rank, axis);
}

void ref_quantize_linear(const struct npuc_value *x, const struct npuc_value *scale,
			 const struct npuc_value *zp, int64_t inner, int64_t n, struct npuc_value *y)
{
	for (int64_t i = 0; i < x->numel; i++) {
		int64_t k = (i / inner) % n;
		float v = ref_rint((float)ref_get_f(x, i) / pf(scale, k)) + (float)pi(zp, k);

		ref_set_i(y, i, q_sat(v, y->dtype));
	}
}

void ref_dequantize_linear(const struct npuc_value *x, const struct npuc_value *scale,
			   const struct npuc_value *zp, int64_t inner, int64_t n, float *y)
{
	for (int64_t i = 0; i < x->numel; i++) {
		int64_t k = (i / inner) % n;

		y[i] = ((float)ref_get_i(x, i) - (float)pi(zp, k)) * pf(scale, k);
	}
}

int ref_op_quantize(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *s = ref_need(c, 1, NPUC_DT_F32), *zp = ref_in(c, 2);
	enum npuc_dtype dt = zp ? zp->dtype : NPUC_DT_U8;
	int64_t axis, inner, n;
	struct npuc_value *y;

	if (!x || !s || q_axis(c, x, s, &axis))
		return -1;
	if (x->dtype != NPUC_DT_F32 && x->dtype != NPUC_DT_I32)
		return ref_fail(c, "input must be float or int32");
	if (!is_q8(dt))
		return ref_unsupported(c, "output type %s", npuc_dtype_name(dt));
	if (check_param(c, s, NPUC_DT_F32, x, axis, "y_scale") ||
	    check_param(c, zp, dt, x, axis, "y_zero_point"))
		return -1;
	y = ref_out(c, 0, dt, x->rank, x->dims);
	if (!y)
		return -1;
	inner = axis >= 0 ? inner_of(x, axis) : 1;
	n = axis >= 0 ? x->dims[axis] : 1;
	ref_quantize_linear(x, s, zp, inner, n, y);
	return 0;
}

int ref_op_dequantize(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *s = ref_need(c, 1, NPUC_DT_F32), *zp = ref_in(c, 2);
	int64_t axis, inner, n;
	struct npuc_value *y;

	if (!x || !s || q_axis(c, x, s, &axis))
		return -1;
	if (!is_q8(x->dtype) && x->dtype != NPUC_DT_I32)
		return ref_fail(c, "input must be uint8, int8 or int32");
	if (check_param(c, s, NPUC_DT_F32, x, axis, "x_scale") ||
	    check_param(c, zp, x->dtype, x, axis, "x_zero_point"))
		return -1;
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y)
		return -1;
	inner = axis >= 0 ? inner_of(x, axis) : 1;
	n = axis >= 0 ? x->dims[axis] : 1;
	ref_dequantize_linear(x, s, zp, inner, n, y->data);
	return 0;
}

void ref_dyn_quantize_u8(const float *x, int64_t n, uint8_t *y, float *scale_out,
			 uint8_t *zp_out)
{
	float lo = 0.0f, hi = 0.0f, scale, zpf;

	/* the range always includes 0 so that 0 is exactly representable */
	for (int64_t i = 0; i < n; i++) {
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	scale = (hi - lo) / 255.0f;
	zpf = scale > 0 ? (float)q_sat(ref_rint(0.0f - lo / scale), NPUC_DT_U8) : 0.0f;
	*scale_out = scale;
	*zp_out = (uint8_t)zpf;
	for (int64_t i = 0; i < n; i++)
		y[i] = (uint8_t)q_sat(
			scale > 0 ? ref_rint(x[i] / scale) + zpf : zpf, NPUC_DT_U8);
}

int ref_op_dyn_quantize(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	struct npuc_value *y, *ys, *yz;

	if (!x)
		return -1;
	y = ref_out(c, 0, NPUC_DT_U8, x->rank, x->dims);
	ys = ref_out(c, 1, NPUC_DT_F32, 0, NULL);
	yz = ref_out(c, 2, NPUC_DT_U8, 0, NULL);
	if (!y || !ys || !yz)
		return -1;
	ref_dyn_quantize_u8(x->data, x->numel, y->data, ys->data, yz->data);
	return 0;
}

/* ---- integer operands ---- */

/* x - zp as int32 (zp scalar or per index along axis); NULL + diag on error. */
static int32_t *centered(struct ref_ctx *c, const struct npuc_value *x,
			 const struct npuc_value *zp, int64_t axis, const char *what)
{
	int64_t inner, n;
	int32_t *out;

	if (!is_q8(x->dtype)) {
		ref_fail(c, "%s must be uint8 or int8", what);
		return NULL;
	}
	if (axis >= x->rank)
		axis = -1;
	if (check_param(c, zp, x->dtype, x, axis, "zero point"))
		return NULL;
	out = malloc((size_t)(x->numel ? x->numel : 1) * sizeof(*out));
	if (!out) {
		ref_fail(c, "out of memory");
		return NULL;
	}
	inner = axis >= 0 ? inner_of(x, axis) : 1;
	n = axis >= 0 ? x->dims[axis] : 1;
	for (int64_t i = 0; i < x->numel; i++)
		out[i] = (int32_t)(ref_get_i(x, i) - pi(zp, axis >= 0 ? (i / inner) % n : 0));
	return out;
}

/* Shared by ConvInteger and QLinearConv: integer conv into int64 accumulators. */
struct iconv {
	struct ref_geom g;
	int64_t dims[NPUC_MAX_RANK];
	int rank;
	int64_t m, osz;
	int64_t *acc;
};

static int iconv_run(struct ref_ctx *c, const struct npuc_value *x, const struct npuc_value *xzp,
		     const struct npuc_value *w, const struct npuc_value *wzp, struct iconv *ic)
{
	int64_t group = npuc_attr_int(c->n, "group", 1);
	int32_t *xi = NULL, *wi = NULL;
	int rc = -1;

	ic->acc = NULL;
	if (w->rank != x->rank || x->rank < 3)
		return ref_fail(c, "weight rank %d vs input rank %d", w->rank, x->rank);
	if (group < 1 || group > REF_MAX_NUMEL || x->dims[1] % group || w->dims[0] % group ||
	    w->dims[1] * group != x->dims[1])
		return ref_fail(c, "channels and group %lld disagree", (long long)group);
	if (check_param(c, xzp, NPUC_DT_UNDEF, x, -1, "x_zero_point") ||
	    ref_window_geom(c, x, w->dims + 2, 0, &ic->g) ||
	    ref_check_work(c, (double)x->dims[0] * (double)w->dims[0] * (double)w->dims[1] *
				   (double)ref_geom_osz(&ic->g) * (double)ref_geom_ksz(&ic->g)))
		return -1;
	ic->m = w->dims[0];
	ic->rank = ref_geom_dims(&ic->g, x->dims[0], ic->m, ic->dims);
	ic->osz = ref_geom_osz(&ic->g);
	if (ref_numel(ic->rank, ic->dims) < 0)
		return ref_fail(c, "output too large");
	xi = centered(c, x, xzp, -1, "x");
	wi = xi ? centered(c, w, wzp, 0, "w") : NULL;
	ic->acc = malloc((size_t)(ref_numel(ic->rank, ic->dims) + 1) * sizeof(*ic->acc));
	if (!xi || !wi || !ic->acc) {
		if (xi && wi)
			ref_fail(c, "out of memory");
		goto out;
	}
	ref_conv_i64(&ic->g, x->dims[0], x->dims[1], ic->m, group, xi, wi, ic->acc);
	rc = 0;
out:
	free(xi);
	free(wi);
	if (rc) {
		free(ic->acc);
		ic->acc = NULL;
	}
	return rc;
}

int ref_op_conv_integer(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *w = ref_need(c, 1, NPUC_DT_UNDEF);
	struct npuc_value *y;
	struct iconv ic;

	if (!x || !w || iconv_run(c, x, ref_in(c, 2), w, ref_in(c, 3), &ic))
		return -1;
	y = ref_out(c, 0, NPUC_DT_I32, ic.rank, ic.dims);
	for (int64_t i = 0; y && i < y->numel; i++)
		ref_set_i(y, i, ic.acc[i]);
	free(ic.acc);
	return y ? 0 : -1;
}

void ref_qlinear_conv_out(const int64_t *acc, int64_t m, int64_t osz,
			  const struct npuc_value *xs, const struct npuc_value *ws,
			  const struct npuc_value *ys, const struct npuc_value *yz,
			  const struct npuc_value *b, struct npuc_value *y)
{
	for (int64_t i = 0; i < y->numel; i++) {
		int64_t mi = (i / osz) % m;
		float mult = pf(xs, 0) * pf(ws, mi) / pf(ys, 0);
		int64_t a = acc[i] + (b ? ref_get_i(b, mi) : 0);

		ref_set_i(y, i, q_sat(ref_rint((float)a * mult) + (float)pi(yz, 0), y->dtype));
	}
}

int ref_op_qlinear_conv(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *xs = ref_need(c, 1, NPUC_DT_F32), *xz = ref_in(c, 2);
	const struct npuc_value *w = ref_need(c, 3, NPUC_DT_UNDEF);
	const struct npuc_value *ws = ref_need(c, 4, NPUC_DT_F32), *wz = ref_in(c, 5);
	const struct npuc_value *ys = ref_need(c, 6, NPUC_DT_F32), *yz = ref_in(c, 7);
	const struct npuc_value *b = ref_in(c, 8);
	enum npuc_dtype dt = yz ? yz->dtype : NPUC_DT_U8;
	struct npuc_value *y;
	struct iconv ic;

	if (!x || !xs || !w || !ws || !ys)
		return -1;
	if (!is_q8(dt) || check_param(c, xs, NPUC_DT_F32, x, -1, "x_scale") ||
	    check_param(c, ys, NPUC_DT_F32, x, -1, "y_scale") ||
	    check_param(c, ws, NPUC_DT_F32, w, 0, "w_scale") ||
	    check_param(c, yz, NPUC_DT_UNDEF, x, -1, "y_zero_point"))
		return is_q8(dt) ? -1 : ref_fail(c, "output type must be uint8/int8");
	if (b && (b->dtype != NPUC_DT_I32 || b->rank != 1 || b->dims[0] != w->dims[0]))
		return ref_fail(c, "bias must be int32[%lld]", (long long)w->dims[0]);
	if (iconv_run(c, x, xz, w, wz, &ic))
		return -1;
	y = ref_out(c, 0, dt, ic.rank, ic.dims);
	if (y)
		ref_qlinear_conv_out(ic.acc, ic.m, ic.osz, xs, ws, ys, yz, b, y);
	free(ic.acc);
	return y ? 0 : -1;
}

/* ---- integer matmul ---- */

/* acc[batch][m][n] = sum_k (a - azp)(b - bzp); azp per row of a, bzp per column of b. */
static int64_t *imm_run(struct ref_ctx *c, const struct npuc_value *a, const struct npuc_value *az,
			const struct npuc_value *b, const struct npuc_value *bz, struct ref_mm *mm)
{
	int32_t *ai = NULL, *bi = NULL;
	int64_t *acc = NULL;

	if (ref_matmul_shape(c, a, b, mm))
		return NULL;
	ai = centered(c, a, az, a->rank >= 2 ? a->rank - 2 : -1, "A");
	bi = ai ? centered(c, b, bz, b->rank >= 2 ? b->rank - 1 : -1, "B") : NULL;
	if (ai && bi)
		acc = calloc((size_t)(mm->batch * mm->m * mm->n + 1), sizeof(*acc));
	if (ai && bi && !acc)
		ref_fail(c, "out of memory");
	if (acc)
		ref_matmul_i64(mm, ai, bi, acc);
	free(ai);
	free(bi);
	return acc;
}

int ref_op_matmul_integer(struct ref_ctx *c)
{
	const struct npuc_value *a = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *b = ref_need(c, 1, NPUC_DT_UNDEF);
	struct npuc_value *y;
	struct ref_mm mm;
	int64_t *acc;

	if (!a || !b)
		return -1;
	acc = imm_run(c, a, ref_in(c, 2), b, ref_in(c, 3), &mm);
	if (!acc)
		return -1;
	y = ref_out(c, 0, NPUC_DT_I32, mm.rank, mm.dims);
	for (int64_t i = 0; y && i < y->numel; i++)
		ref_set_i(y, i, acc[i]);
	free(acc);
	return y ? 0 : -1;
}

void ref_qlinear_matmul_out(const int64_t *acc, const struct ref_mm *mm,
			    const struct npuc_value *as, const struct npuc_value *bs,
			    const struct npuc_value *ys, const struct npuc_value *yz,
			    struct npuc_value *y)
{
	for (int64_t i = 0; i < y->numel; i++) {
		int64_t row = (i / mm->n) % mm->m, col = i % mm->n;
		float mult = pf(as, row) * pf(bs, col) / pf(ys, 0);

		ref_set_i(y, i, q_sat(ref_rint((float)acc[i] * mult) + (float)pi(yz, 0),
				      y->dtype));
	}
}

int ref_op_qlinear_matmul(struct ref_ctx *c)
{
	const struct npuc_value *a = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *as = ref_need(c, 1, NPUC_DT_F32), *az = ref_in(c, 2);
	const struct npuc_value *b = ref_need(c, 3, NPUC_DT_UNDEF);
	const struct npuc_value *bs = ref_need(c, 4, NPUC_DT_F32), *bz = ref_in(c, 5);
	const struct npuc_value *ys = ref_need(c, 6, NPUC_DT_F32), *yz = ref_in(c, 7);
	enum npuc_dtype dt = yz ? yz->dtype : NPUC_DT_U8;
	struct npuc_value *y;
	struct ref_mm mm;
	int64_t *acc;

	if (!a || !as || !b || !bs || !ys)
		return -1;
	if (!is_q8(dt))
		return ref_fail(c, "output type must be uint8/int8");
	if (check_param(c, as, NPUC_DT_F32, a, a->rank >= 2 ? a->rank - 2 : -1, "a_scale") ||
	    check_param(c, bs, NPUC_DT_F32, b, b->rank >= 2 ? b->rank - 1 : -1, "b_scale") ||
	    check_param(c, ys, NPUC_DT_F32, a, -1, "y_scale") ||
	    check_param(c, yz, NPUC_DT_UNDEF, a, -1, "y_zero_point"))
		return -1;
	acc = imm_run(c, a, az, b, bz, &mm);
	if (!acc)
		return -1;
	y = ref_out(c, 0, dt, mm.rank, mm.dims);
	if (y)
		ref_qlinear_matmul_out(acc, &mm, as, bs, ys, yz, y);
	free(acc);
	return y ? 0 : -1;
}
