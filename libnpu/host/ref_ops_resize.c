// SPDX-License-Identifier: MIT
/*
 * Resize (opset 10+) and Upsample (opset 7-9), following ONNX's reference
 * implementation: separable 1-D interpolation per dimension (nearest with
 * its four rounding modes, linear, cubic with exclude_outside), every
 * coordinate_transformation_mode including tf_crop_and_resize with roi and
 * extrapolation_value. Each dimension gets a table of (input index,
 * weight) taps per output coordinate; an output element is the weighted
 * sum over the product of its dimensions' taps.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_ops_internal.h"

enum rs_mode { RS_NEAREST, RS_LINEAR, RS_CUBIC };
enum rs_coord { RC_HALF, RC_PYTORCH, RC_ALIGN, RC_ASYM, RC_TF_NN, RC_CROP };
enum rs_round { RR_PREFER_FLOOR, RR_PREFER_CEIL, RR_FLOOR, RR_CEIL };

struct rs_attrs {
	enum rs_mode mode;
	enum rs_coord coord;
	enum rs_round round;
	double cubic_a;
	int exclude_outside;
	float extrapolation;
};

static int pick(const char *s, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(s, names[i]))
			return i;
	return -1;
}

static int rs_read_attrs(struct ref_ctx *c, int upsample, struct rs_attrs *a)
{
	static const char *const modes[] = { "nearest", "linear", "cubic" };
	static const char *const coords[] = { "half_pixel", "pytorch_half_pixel", "align_corners",
					      "asymmetric", "tf_half_pixel_for_nn",
					      "tf_crop_and_resize" };
	static const char *const rounds[] = { "round_prefer_floor", "round_prefer_ceil", "floor",
					      "ceil" };
	const char *m = npuc_attr_string(c->n, "mode", "nearest");
	int v;

	v = !strcmp(m, "bilinear") ? RS_LINEAR : pick(m, modes, 3);
	if (v < 0)
		return ref_unsupported(c, "mode '%s'", m);
	a->mode = v;
	/* opset < 11 Resize and Upsample: asymmetric coordinates, nearest rounds down */
	if (upsample || c->opset < 11) {
		a->coord = RC_ASYM;
		a->round = RR_FLOOR;
		a->cubic_a = -0.75;
		a->exclude_outside = 0;
		a->extrapolation = 0;
		return a->mode == RS_CUBIC ? ref_unsupported(c, "cubic before opset 11") : 0;
	}
	m = npuc_attr_string(c->n, "coordinate_transformation_mode", "half_pixel");
	v = pick(m, coords, 6);
	if (v < 0)
		return ref_unsupported(c, "coordinate_transformation_mode '%s'", m);
	a->coord = v;
	m = npuc_attr_string(c->n, "nearest_mode", "round_prefer_floor");
	v = pick(m, rounds, 4);
	if (v < 0)
		return ref_unsupported(c, "nearest_mode '%s'", m);
	a->round = v;
	a->cubic_a = npuc_attr_float(c->n, "cubic_coeff_a", -0.75f);
	a->exclude_outside = npuc_attr_int(c->n, "exclude_outside", 0) != 0;
	a->extrapolation = npuc_attr_float(c->n, "extrapolation_value", 0.0f);
	if (npuc_attr_int(c->n, "antialias", 0) || npuc_node_attr(c->n, "axes") ||
	    strcmp(npuc_attr_string(c->n, "keep_aspect_ratio_policy", "stretch"), "stretch"))
		return ref_unsupported(c, "antialias / axes / keep_aspect_ratio_policy");
	return 0;
}

/* Interpolation weights for the fractional position r in (0, 1]. */
static int rs_coeffs(const struct rs_attrs *a, double r, int integral, double *w)
{
	double A = a->cubic_a;

	switch (a->mode) {
	case RS_NEAREST:
		if (integral) {
			w[0] = 0;
			w[1] = 1;
		} else {
			int up = a->round == RR_PREFER_FLOOR ? r > 0.5 :
				 a->round == RR_PREFER_CEIL ? r >= 0.5 : a->round == RR_CEIL;

			w[0] = !up;
			w[1] = up;
		}
		return 2;
	case RS_LINEAR:
		w[0] = 1 - r;
		w[1] = r;
		return 2;
	default: {
		double q = 1 - r;

		w[0] = ((A * (r + 1) - 5 * A) * (r + 1) + 8 * A) * (r + 1) - 4 * A;
		w[1] = ((A + 2) * r - (A + 3)) * r * r + 1;
		w[2] = ((A + 2) * q - (A + 3)) * q * q + 1;
		w[3] = ((A * (q + 1) - 5 * A) * (q + 1) + 8 * A) * (q + 1) - 4 * A;
		return 4;
	}
	}
}

/* Input coordinate of output coordinate o (ONNX reference formulas); 1 if outside the crop. */
static int rs_coord(const struct rs_attrs *a, double o, int64_t in, double scale,
		    const double *roi, double *x)
{
	double ow = scale * (double)in;	/* as the reference: may be fractional */

	switch (a->coord) {
	case RC_ALIGN:
		*x = ow == 1 ? 0.0 : o * (double)(in - 1) / (ow - 1);
		return 0;
	case RC_ASYM:
		*x = o / scale;
		return 0;
	case RC_TF_NN:
		*x = (o + 0.5) / scale;
		return 0;
	case RC_PYTORCH:
		*x = ow == 1 ? -0.5 : (o + 0.5) / scale - 0.5;
		return 0;
	case RC_CROP:
		if (ow == 1)
			*x = (roi[1] - roi[0]) * (double)(in - 1) / 2;
		else
			*x = o * (roi[1] - roi[0]) * (double)(in - 1) / (ow - 1);
		*x += roi[0] * (double)(in - 1);
		return *x < 0 || *x > (double)(in - 1);
	default:
		*x = (o + 0.5) / scale - 0.5;
		return 0;
	}
}

/* Taps of output coordinate o: the n input indices nearest x (smaller on ties). */
static void rs_taps(const struct rs_attrs *a, int64_t o, int64_t in, double scale,
		    const double *roi, struct ref_resize_tap *t)
{
	double x, w[REF_RESIZE_TAPS], r, sum = 0;
	int64_t f, pad, start;
	int n, integral;

	if (rs_coord(a, (double)o, in, scale, roi, &x)) {
		t->n = 0;
		return;
	}
	if (!(x > -1e15 && x < 1e15))	/* NaN or absurd: clamp like far outside */
		x = x > 0 ? 1e15 : -1e15;
	integral = x == floor(x);
	f = integral ? (int64_t)x - 1 : (int64_t)floor(x);
	r = integral ? 1.0 : x - floor(x);
	n = rs_coeffs(a, r, integral, w);
	/* the window lies in the edge-padded input [-pad, in - 1 + pad] */
	pad = (n + 1) / 2;
	start = f - n / 2 + 1;
	if (start < -pad)
		start = -pad;
	if (start + n - 1 > in - 1 + pad)
		start = in - 1 + pad - (n - 1);
	t->n = n;
	for (int j = 0; j < n; j++) {
		int64_t idx = start + j;

		if (a->exclude_outside && (idx < 0 || idx >= in))
			w[j] = 0;
		sum += w[j];
		t->idx[j] = idx < 0 ? 0 : (idx >= in ? in - 1 : idx);
		t->w[j] = w[j];
	}
	if (a->exclude_outside && sum != 0)
		for (int j = 0; j < n; j++)
			t->w[j] /= sum;
}

static int rs_sizes(struct ref_ctx *c, const struct npuc_value *x, int upsample,
		    struct ref_resize_plan *p)
{
	const struct npuc_value *sc, *sz = NULL, *roi = NULL;
	int rank = x->rank;

	if (upsample) {
		sc = c->opset >= 9 ? ref_in(c, 1) : NULL;
	} else if (c->opset < 11) {
		sc = ref_in(c, 1);
	} else {
		roi = ref_in(c, 1);
		sc = ref_in(c, 2);
		sz = ref_in(c, 3);
	}
	if (sc && sc->numel == 0)
		sc = NULL;	/* opset 13: an empty scales means "use sizes" */
	p->rank = rank;
	for (int i = 0; i < rank; i++) {
		p->in[i] = x->dims[i];
		p->roi[i][0] = 0;
		p->roi[i][1] = 1;
	}
	if (sz) {
		if (sz->dtype != NPUC_DT_I64 || sz->numel != rank || sc)
			return ref_fail(c, "sizes must be int64[%d], without scales", rank);
		for (int i = 0; i < rank; i++) {
			p->out[i] = ref_get_i(sz, i);
			if (p->out[i] < 0 || p->out[i] > REF_MAX_NUMEL)
				return ref_fail(c, "bad size %lld", (long long)p->out[i]);
			p->scale[i] = p->in[i] ? (double)p->out[i] / (double)p->in[i] : 1;
		}
	} else {
		const struct npuc_attr *sa = NULL;

		if (upsample && !sc)
			sa = npuc_node_attr(c->n, "scales");
		if (!sc && !(sa && sa->type == NPUC_ATTR_FLOATS))
			return ref_fail(c, "neither scales nor sizes given");
		if (sc ? sc->dtype != NPUC_DT_F32 || sc->numel != rank : sa->n != rank)
			return ref_fail(c, "scales must be float[%d]", rank);
		for (int i = 0; i < rank; i++) {
			double s = sc ? ref_get_f(sc, i) : sa->floats[i];
			double o = floor(s * (double)p->in[i]);

			if (!(s > 0) || !(o <= (double)REF_MAX_NUMEL))
				return ref_fail(c, "bad scale %g", s);
			p->scale[i] = s;
			p->out[i] = (int64_t)o;
		}
	}
	if (roi && roi->numel) {
		if (roi->dtype != NPUC_DT_F32 || roi->numel != 2 * rank)
			return ref_fail(c, "roi must be float[%d]", 2 * rank);
		for (int i = 0; i < rank; i++) {
			p->roi[i][0] = ref_get_f(roi, i);
			p->roi[i][1] = ref_get_f(roi, rank + i);
		}
	}
	return 0;
}

static int rs_plan_taps(struct ref_ctx *c, const struct rs_attrs *a, struct ref_resize_plan *p)
{
	for (int d = 0; d < p->rank; d++) {
		p->tap[d] = calloc((size_t)p->out[d] + 1, sizeof(struct ref_resize_tap));
		if (!p->tap[d])
			return ref_fail(c, "out of memory");
		for (int64_t o = 0; o < p->out[d]; o++) {
			struct ref_resize_tap *t = &p->tap[d][o];
			int k = 0;

			rs_taps(a, o, p->in[d], p->scale[d], p->roi[d], t);
			/* drop zero-weight taps: unscaled dims then cost one tap */
			for (int j = 0; j < t->n; j++)
				if (t->w[j] != 0) {
					t->idx[k] = t->idx[j];
					t->w[k++] = t->w[j];
				}
			if (t->n && !k) {
				t->w[0] = 0;	/* all-zero weights: keep one tap, value 0 */
				k = 1;
			}
			t->n = k ? k : t->n;
		}
	}
	return 0;
}

/* One output element: weighted sum over the product of per-dim taps. */
static float rs_point(const struct ref_resize_plan *p, float extrapolation, const float *x,
		      const int64_t *oidx, const int64_t *xs)
{
	const struct ref_resize_tap *t[NPUC_MAX_RANK];
	int j[NPUC_MAX_RANK] = { 0 };
	double acc = 0;

	for (int d = 0; d < p->rank; d++) {
		t[d] = &p->tap[d][oidx[d]];
		if (t[d]->n == 0)
			return extrapolation;
	}
	for (;;) {
		double w = 1;
		int64_t xi = 0;
		int d;

		for (d = 0; d < p->rank; d++) {
			w *= t[d]->w[j[d]];
			xi += t[d]->idx[j[d]] * xs[d];
		}
		acc += w * x[xi];
		for (d = p->rank - 1; d >= 0; d--) {
			if (++j[d] < t[d]->n)
				break;
			j[d] = 0;
		}
		if (d < 0)
			break;
	}
	return (float)acc;
}

void ref_resize_f32(const struct ref_resize_plan *p, float extrapolation, const float *x,
		    float *y)
{
	int64_t xs[NPUC_MAX_RANK], oidx[NPUC_MAX_RANK] = { 0 }, s = 1, total = 1;

	for (int d = p->rank - 1; d >= 0; d--) {
		xs[d] = s;
		s *= p->in[d];
		total *= p->out[d];
	}
	for (int64_t o = 0; o < total; o++) {
		y[o] = rs_point(p, extrapolation, x, oidx, xs);
		ref_next_index(oidx, p->out, p->rank);
	}
}

static int resize(struct ref_ctx *c, int upsample)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	struct ref_resize_plan p = { 0 };
	struct rs_attrs a = { 0 };
	struct npuc_value *y;
	int rc;

	if (!x)
		return -1;
	rc = rs_read_attrs(c, upsample, &a);
	if (rc)
		return rc;
	if (rs_sizes(c, x, upsample, &p))
		return -1;
	for (int d = 0; d < p.rank; d++)
		if (p.in[d] == 0 && p.out[d] > 0)
			return ref_fail(c, "cannot resize an empty dimension to %lld",
					(long long)p.out[d]);
	y = ref_out(c, 0, NPUC_DT_F32, p.rank, p.out);
	if (!y || ref_check_work(c, (double)y->numel * pow(a.mode == RS_CUBIC ? 4 : 2, p.rank)))
		return -1;
	rc = -1;
	if (rs_plan_taps(c, &a, &p))
		goto out;
	ref_resize_f32(&p, a.extrapolation, x->data, y->data);
	rc = 0;
out:
	for (int d = 0; d < p.rank; d++)
		free(p.tap[d]);
	return rc;
}

int ref_op_resize(struct ref_ctx *c) { return resize(c, 0); }
int ref_op_upsample(struct ref_ctx *c) { return resize(c, 1); }
