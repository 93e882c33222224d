// SPDX-License-Identifier: MIT
/*
 * Normalisation and reductions: BatchNormalization (inference),
 * InstanceNormalization, LayerNormalization, LRN, Softmax / LogSoftmax /
 * Hardmax (both the opset < 13 "coerce to 2-D" and the opset >= 13
 * single-axis semantics), the Reduce* family and ArgMax / ArgMin.
 */
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_ops_internal.h"

/* Splits dims into outer x n x inner around [a0, a1). */
static void split3(const struct npuc_value *x, int a0, int a1, int64_t *outer, int64_t *n,
		   int64_t *inner)
{
	*outer = *n = *inner = 1;
	for (int i = 0; i < x->rank; i++) {
		if (i < a0)
			*outer *= x->dims[i];
		else if (i < a1)
			*n *= x->dims[i];
		else
			*inner *= x->dims[i];
	}
}

/* ---- BatchNormalization ---- */

void ref_batchnorm_f32(int64_t outer, int64_t ch, int64_t inner, float eps, const float *x,
		       const float *scale, const float *bias, const float *mean,
		       const float *var, float *y)
{
	for (int64_t o = 0; o < outer; o++) {
		for (int64_t k = 0; k < ch; k++) {
			const float *xs = x + (o * ch + k) * inner;
			float *ys = y + (o * ch + k) * inner;
			float s = scale[k], b = bias[k], m = mean[k], den = sqrtf(var[k] + eps);

			for (int64_t i = 0; i < inner; i++)
				ys[i] = (xs[i] - m) / den * s + b;
		}
	}
}

int ref_op_batchnorm(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32), *p[4];
	float eps = npuc_attr_float(c->n, "epsilon", 1e-5f);
	int64_t outer, ch, inner;
	struct npuc_value *y;

	if (!x)
		return -1;
	if (npuc_attr_int(c->n, "training_mode", 0) || ref_has_out(c, 1) || ref_has_out(c, 2))
		return ref_unsupported(c, "training mode");
	if (c->opset < 7 && npuc_attr_int(c->n, "is_test", 0) == 0)
		return ref_unsupported(c, "is_test=0 (training)");
	if (x->rank < 2)
		return ref_fail(c, "input rank %d < 2", x->rank);
	split3(x, 1, 2, &outer, &ch, &inner);
	for (int i = 0; i < 4; i++) {
		p[i] = ref_need(c, 1 + i, NPUC_DT_F32);
		if (!p[i])
			return -1;
		if (p[i]->numel != ch)
			return ref_fail(c, "parameter %d has %lld values for %lld channels", i + 1,
					(long long)p[i]->numel, (long long)ch);
	}
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y)
		return -1;
	ref_batchnorm_f32(outer, ch, inner, eps, x->data, p[0]->data, p[1]->data, p[2]->data,
			  p[3]->data, y->data);
	return 0;
}

/* Mean and (biased) variance of n floats, in double. */
static void mean_var(const float *x, int64_t n, double *mean, double *var)
{
	double m = 0, v = 0;

	for (int64_t i = 0; i < n; i++)
		m += x[i];
	m = n ? m / (double)n : 0;
	for (int64_t i = 0; i < n; i++)
		v += (x[i] - m) * (x[i] - m);
	*mean = m;
	*var = n ? v / (double)n : 0;
}

/* ---- InstanceNormalization ---- */

void ref_instnorm_f32(int64_t outer, int64_t ch, int64_t inner, float eps, const float *x,
		      const float *scale, const float *bias, float *y)
{
	for (int64_t p = 0; p < outer * ch; p++) {
		const float *xs = x + p * inner;
		float *ys = y + p * inner;
		double mean, var;
		float den;

		mean_var(xs, inner, &mean, &var);
		den = (float)sqrt(var + eps);
		for (int64_t i = 0; i < inner; i++)
			ys[i] = scale[p % ch] * (float)(xs[i] - mean) / den +
				bias[p % ch];
	}
}

int ref_op_instnorm(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	const struct npuc_value *sc = ref_need(c, 1, NPUC_DT_F32), *b = ref_need(c, 2, NPUC_DT_F32);
	float eps = npuc_attr_float(c->n, "epsilon", 1e-5f);
	int64_t outer, ch, inner;
	struct npuc_value *y;

	if (!x || !sc || !b)
		return -1;
	if (x->rank < 3)
		return ref_fail(c, "input rank %d < 3", x->rank);
	split3(x, 1, 2, &outer, &ch, &inner);
	if (sc->numel != ch || b->numel != ch)
		return ref_fail(c, "scale/bias size differs from the channel count");
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y)
		return -1;
	ref_instnorm_f32(outer, ch, inner, eps, x->data, sc->data, b->data, y->data);
	return 0;
}

/* ---- LayerNormalization (opset 17) ---- */

void ref_layernorm_f32(const struct ref_layernorm *p, const float *x, const float *scale,
		       const float *bias, float *y, float *mean_out, float *inv_std_out)
{
	int64_t n = p->n;

	for (int64_t o = 0; o < p->outer; o++) {
		const float *xs = x + o * n;
		float *ys = y + o * n;
		double mean, var;
		float inv;

		mean_var(xs, n, &mean, &var);
		inv = (float)(1.0 / sqrt(var + p->eps));
		for (int64_t i = 0; i < n; i++) {
			int64_t si = 0, bi = 0, r = i;

			for (int k = p->nr - 1; k >= 0; k--) {
				si += (r % p->sdims[k]) * p->sst[k];
				bi += (r % p->sdims[k]) * p->bst[k];
				r /= p->sdims[k];
			}
			ys[i] = (float)(xs[i] - mean) * inv * scale[si] +
				(bias ? bias[bi] : 0.0f);
		}
		if (mean_out)
			mean_out[o] = (float)mean;
		if (inv_std_out)
			inv_std_out[o] = inv;
	}
}

int ref_op_layernorm(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32), *sc = ref_need(c, 1, NPUC_DT_F32);
	const struct npuc_value *b = ref_in(c, 2);
	float eps = npuc_attr_float(c->n, "epsilon", 1e-5f);
	int64_t axis, outer, n, one, sst[NPUC_MAX_RANK], bst[NPUC_MAX_RANK] = { 0 };
	int64_t sdims[NPUC_MAX_RANK], mdims[NPUC_MAX_RANK];
	struct npuc_value *y, *mo = NULL, *io = NULL;
	struct ref_layernorm lp;
	int nr;

	if (!x || !sc || ref_axis(c, npuc_attr_int(c->n, "axis", -1), x->rank, &axis))
		return -1;
	split3(x, (int)axis, x->rank, &outer, &n, &one);
	nr = x->rank - (int)axis;
	memcpy(sdims, x->dims + axis, sizeof(int64_t) * (size_t)nr);
	{
		struct npuc_value sub = { .rank = nr };
		const struct npuc_value *v[3] = { &sub, sc, b ? b : sc };
		int64_t bd[NPUC_MAX_RANK];
		int br;

		memcpy(sub.dims, sdims, sizeof(int64_t) * (size_t)nr);
		if (ref_broadcast(c, v, 3, &br, bd) || br != nr ||
		    memcmp(bd, sdims, sizeof(int64_t) * (size_t)nr) ||
		    (b && b->dtype != NPUC_DT_F32))
			return ref_fail(c, "scale/bias do not broadcast to the normalised shape");
	}
	ref_bcast_strides(sc, nr, sdims, sst);
	if (b)
		ref_bcast_strides(b, nr, sdims, bst);
	for (int i = 0; i < x->rank; i++)
		mdims[i] = i < axis ? x->dims[i] : 1;
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y || (ref_has_out(c, 1) && !(mo = ref_out(c, 1, NPUC_DT_F32, x->rank, mdims))) ||
	    (ref_has_out(c, 2) && !(io = ref_out(c, 2, NPUC_DT_F32, x->rank, mdims))))
		return -1;
	lp.outer = outer;
	lp.n = n;
	lp.nr = nr;
	lp.eps = eps;
	memcpy(lp.sdims, sdims, sizeof(sdims));
	memcpy(lp.sst, sst, sizeof(sst));
	memcpy(lp.bst, bst, sizeof(bst));
	ref_layernorm_f32(&lp, x->data, sc->data, b ? b->data : NULL, y->data,
			  mo ? mo->data : NULL, io ? io->data : NULL);
	return 0;
}

/* ---- LRN ---- */

void ref_lrn_f32(int64_t outer, int64_t ch, int64_t inner, int64_t size, float alpha,
		 float beta, float bias, const float *x, float *y)
{
	int64_t lo, hi;

	lo = (size - 1) / 2;
	hi = size - 1 - lo;	/* ceil((size - 1) / 2) */
	for (int64_t o = 0; o < outer; o++)
		for (int64_t k = 0; k < ch; k++)
			for (int64_t i = 0; i < inner; i++) {
				double sq = 0;

				int64_t j0 = k - lo < 0 ? 0 : k - lo;
				int64_t j1 = k + hi >= ch ? ch - 1 : k + hi;

				for (int64_t j = j0; j <= j1; j++) {
					float v = x[(o * ch + j) * inner + i];

					sq += (double)v * v;
				}
				y[(o * ch + k) * inner + i] =
					x[(o * ch + k) * inner + i] /
					powf(bias + alpha / (float)size * (float)sq, beta);
			}
}

int ref_op_lrn(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	int64_t size = npuc_attr_int(c->n, "size", 0), outer, ch, inner;
	float alpha = npuc_attr_float(c->n, "alpha", 1e-4f);
	float beta = npuc_attr_float(c->n, "beta", 0.75f);
	float bias = npuc_attr_float(c->n, "bias", 1.0f);
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank < 3 || size < 1 || size > REF_MAX_NUMEL)
		return ref_fail(c, "bad input rank or size");
	split3(x, 1, 2, &outer, &ch, &inner);
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y)
		return -1;
	ref_lrn_f32(outer, ch, inner, size, alpha, beta, bias, x->data, y->data);
	return 0;
}

/* ---- Softmax family ---- */

void ref_softmax_f32(enum ref_softmax_kind kind, int64_t outer, int64_t n, int64_t inner,
		     const float *x, float *y)
{
	for (int64_t o = 0; o < outer; o++) {
		for (int64_t in = 0; in < inner; in++) {
			const float *xs = x + o * n * inner + in;
			float *ys = y + o * n * inner + in;
			float mx = -INFINITY;
			int64_t arg = 0;
			double sum = 0;

			for (int64_t i = 0; i < n; i++)
				if (xs[i * inner] > mx) {
					mx = xs[i * inner];
					arg = i;
				}
			if (kind == REF_HARDMAX) {
				for (int64_t i = 0; i < n; i++)
					ys[i * inner] = i == arg ? 1.0f : 0.0f;
				continue;
			}
			for (int64_t i = 0; i < n; i++) {
				ys[i * inner] = expf(xs[i * inner] - mx);
				sum += ys[i * inner];
			}
			for (int64_t i = 0; i < n; i++) {
				if (kind == REF_SOFTMAX)
					ys[i * inner] = (float)(ys[i * inner] / sum);
				else
					ys[i * inner] = xs[i * inner] - mx - (float)log(sum);
			}
		}
	}
}

static int softmax(struct ref_ctx *c, enum ref_softmax_kind kind)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	int64_t axis, outer, n, inner;
	int old = c->opset < 13;
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank == 0)
		return ref_fail(c, "scalar input");
	if (ref_axis(c, npuc_attr_int(c->n, "axis", old ? 1 : -1), x->rank, &axis))
		return -1;
	/* opset < 13: coerced to 2-D [prod(d[:axis]), prod(d[axis:])] */
	split3(x, (int)axis, old ? x->rank : (int)axis + 1, &outer, &n, &inner);
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, x->dims);
	if (!y)
		return -1;
	ref_softmax_f32(kind, outer, n, inner, x->data, y->data);
	return 0;
}

int ref_op_softmax(struct ref_ctx *c) { return softmax(c, REF_SOFTMAX); }
int ref_op_logsoftmax(struct ref_ctx *c) { return softmax(c, REF_LOGSOFTMAX); }
int ref_op_hardmax(struct ref_ctx *c) { return softmax(c, REF_HARDMAX); }

/* ---- Reduce* ---- */

/* Reduced-axis mask from the axes input (sum >= 13, others >= 18) or attribute. */
static int red_axes(struct ref_ctx *c, const struct npuc_value *x, int *mask, int *noop)
{
	int64_t axes[NPUC_MAX_RANK];
	int n = ref_ints_in_or_attr(c, 1, "axes", axes, NPUC_MAX_RANK);

	*noop = 0;
	if (n < 0)
		return -1;
	for (int i = 0; i < x->rank; i++)
		mask[i] = n == 0;
	if (n == 0 && npuc_attr_int(c->n, "noop_with_empty_axes", 0))
		*noop = 1;
	for (int i = 0; i < n; i++) {
		int64_t a;

		if (ref_axis(c, axes[i], x->rank, &a))
			return -1;
		mask[a] = 1;
	}
	return 0;
}

static double red_init(enum ref_reduce_kind k)
{
	return k == REF_R_MAX ? -INFINITY : k == REF_R_MIN ? INFINITY : k == REF_R_PROD ? 1.0 : 0.0;
}

static double red_step(enum ref_reduce_kind k, double acc, double v)
{
	switch (k) {
	case REF_R_MAX: return v > acc || isnan(v) ? v : acc;
	case REF_R_MIN: return v < acc || isnan(v) ? v : acc;
	case REF_R_PROD: return acc * v;
	case REF_R_L1: return acc + fabs(v);
	case REF_R_L2: case REF_R_SUMSQ: return acc + v * v;
	case REF_R_LSE: return acc + exp(v);
	default: return acc + v;
	}
}

static double red_final(enum ref_reduce_kind k, double acc, int64_t cnt)
{
	switch (k) {
	case REF_R_MEAN: return cnt ? acc / (double)cnt : NAN;
	case REF_R_L2: return sqrt(acc);
	case REF_R_LSE: case REF_R_LOGSUM: return log(acc);
	default: return acc;
	}
}

void ref_reduce(enum ref_reduce_kind kind, const struct npuc_value *x, const int64_t *ost,
		struct npuc_value *y, double *acc)
{
	int64_t idx[NPUC_MAX_RANK] = { 0 }, oi = 0;

	for (int64_t o = 0; o < y->numel; o++)
		acc[o] = red_init(kind);
	for (int64_t i = 0; i < x->numel; i++) {
		double *a = acc + oi;

		*a = red_step(kind, *a, ref_get_f(x, i));
		for (int j = x->rank - 1; j >= 0; j--) {
			oi += ost[j];
			if (++idx[j] < x->dims[j])
				break;
			oi -= ost[j] * x->dims[j];
			idx[j] = 0;
		}
	}
	for (int64_t o = 0; o < y->numel; o++) {
		double v = red_final(kind, acc[o], x->numel / y->numel);

		if (y->dtype == NPUC_DT_F32)
			((float *)y->data)[o] = (float)v;
		else
			ref_set_i(y, o, isfinite(v) && fabs(v) < 9.2e18 ? (int64_t)v : 0);
	}
}

static int reduce(struct ref_ctx *c, enum ref_reduce_kind kind)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int keep = npuc_attr_int(c->n, "keepdims", 1) != 0, mask[NPUC_MAX_RANK], noop, r = 0;
	int64_t dims[NPUC_MAX_RANK], ost[NPUC_MAX_RANK], s = 1;
	struct npuc_value *y;
	double *acc;

	if (!x || red_axes(c, x, mask, &noop))
		return -1;
	if (x->dtype == NPUC_DT_BOOL)
		return ref_fail(c, "bool input");
	if (noop) {
		y = ref_out(c, 0, x->dtype, x->rank, x->dims);
		if (y && x->numel)
			memcpy(y->data, x->data, (size_t)x->numel * npuc_dtype_size(x->dtype));
		return y ? 0 : -1;
	}
	for (int i = x->rank - 1; i >= 0; i--) {
		ost[i] = mask[i] ? 0 : s;
		s *= mask[i] ? 1 : x->dims[i];
	}
	for (int i = 0; i < x->rank; i++)
		if (!mask[i] || keep)
			dims[r++] = mask[i] ? 1 : x->dims[i];
	y = ref_out(c, 0, x->dtype, r, dims);
	if (!y)
		return -1;
	acc = malloc((size_t)(y->numel ? y->numel : 1) * sizeof(*acc));
	if (!acc)
		return ref_fail(c, "out of memory");
	ref_reduce(kind, x, ost, y, acc);
	free(acc);
	return 0;
}

int ref_op_rsum(struct ref_ctx *c) { return reduce(c, REF_R_SUM); }
int ref_op_rmean(struct ref_ctx *c) { return reduce(c, REF_R_MEAN); }
int ref_op_rmax(struct ref_ctx *c) { return reduce(c, REF_R_MAX); }
int ref_op_rmin(struct ref_ctx *c) { return reduce(c, REF_R_MIN); }
int ref_op_rprod(struct ref_ctx *c) { return reduce(c, REF_R_PROD); }
int ref_op_rl1(struct ref_ctx *c) { return reduce(c, REF_R_L1); }
int ref_op_rl2(struct ref_ctx *c) { return reduce(c, REF_R_L2); }
int ref_op_rlse(struct ref_ctx *c) { return reduce(c, REF_R_LSE); }
int ref_op_rsumsq(struct ref_ctx *c) { return reduce(c, REF_R_SUMSQ); }
int ref_op_rlogsum(struct ref_ctx *c) { return reduce(c, REF_R_LOGSUM); }

/* ---- ArgMax / ArgMin ---- */

void ref_arg_reduce(int is_max, int last, int64_t outer, int64_t n, int64_t inner,
		    const struct npuc_value *x, int64_t *y)
{
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++) {
			int64_t best = 0, base = o * n * inner + in;
			double bv = ref_get_f(x, base);

			for (int64_t i = 1; i < n; i++) {
				double v = ref_get_f(x, base + i * inner);

				if (is_max ? (v > bv || (last && v == bv))
					   : (v < bv || (last && v == bv))) {
					bv = v;
					best = i;
				}
			}
			y[o * inner + in] = best;
		}
}

static int arg_reduce(struct ref_ctx *c, int is_max)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int keep = npuc_attr_int(c->n, "keepdims", 1) != 0;
	int last = npuc_attr_int(c->n, "select_last_index", 0) != 0, r = 0;
	int64_t axis, outer, n, inner, dims[NPUC_MAX_RANK];
	struct npuc_value *y;

	if (!x || ref_axis(c, npuc_attr_int(c->n, "axis", 0), x->rank, &axis))
		return -1;
	split3(x, (int)axis, (int)axis + 1, &outer, &n, &inner);
	if (n == 0)
		return ref_fail(c, "empty reduction axis");
	for (int i = 0; i < x->rank; i++)
		if (i != axis || keep)
			dims[r++] = i == axis ? 1 : x->dims[i];
	y = ref_out(c, 0, NPUC_DT_I64, r, dims);
	if (!y)
		return -1;
	ref_arg_reduce(is_max, last, outer, n, inner, x, y->data);
	return 0;
}

int ref_op_argmax(struct ref_ctx *c) { return arg_reduce(c, 1); }
int ref_op_argmin(struct ref_ctx *c) { return arg_reduce(c, 0); }
