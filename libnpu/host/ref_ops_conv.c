// SPDX-License-Identifier: MIT
/*
 * Conv, ConvTranspose, Gemm and MatMul in float, plus the window geometry
 * (pads, auto_pad, strides, dilations, ceil_mode) shared with the pools
 * and the direct conv core shared with the quantised ops. 1-D and 2-D
 * windows are run as 3-D ones with unit leading dims.
 */
#include <string.h>

#include "ref_ops_internal.h"

/* Window attributes above this are refused: keeps all geometry math in int64. */
#define GEOM_MAX (INT64_C(1) << 24)

/* ---- window geometry ---- */

static int geom_attr(struct ref_ctx *c, const char *name, int64_t *dst, int nsp, int64_t min)
{
	int64_t buf[REF_SPATIAL];
	int n = ref_attr_ints(c, name, buf, REF_SPATIAL);

	if (n < 0)
		return -1;
	if (n && n != nsp)
		return ref_fail(c, "%s has %d entries for %d spatial dims", name, n, nsp);
	for (int i = 0; i < n; i++) {
		if (buf[i] < min || buf[i] > GEOM_MAX)
			return ref_fail(c, "%s[%d] = %lld out of range", name, i,
					(long long)buf[i]);
		dst[REF_SPATIAL - nsp + i] = buf[i];
	}
	return 0;
}

static int geom_kernel(struct ref_ctx *c, const int64_t *kshape, struct ref_geom *g)
{
	int64_t buf[REF_SPATIAL];
	int nsp = g->nsp, base = REF_SPATIAL - nsp;
	int n = ref_attr_ints(c, "kernel_shape", buf, REF_SPATIAL);

	if (n < 0)
		return -1;
	if (n && n != nsp)
		return ref_fail(c, "kernel_shape has %d entries for %d spatial dims", n, nsp);
	if (!kshape && !n)
		return ref_fail(c, "kernel_shape is required");
	for (int i = 0; i < nsp; i++) {
		int64_t k = kshape ? kshape[i] : buf[i];

		if (kshape && n && buf[i] != k)
			return ref_fail(c, "kernel_shape does not match the weights");
		if (k < 1 || k > GEOM_MAX)
			return ref_fail(c, "bad kernel size %lld", (long long)k);
		g->k[base + i] = k;
	}
	return 0;
}

static int geom_pads(struct ref_ctx *c, struct ref_geom *g)
{
	int64_t buf[2 * REF_SPATIAL];
	int nsp = g->nsp, base = REF_SPATIAL - nsp;
	int n = ref_attr_ints(c, "pads", buf, 2 * REF_SPATIAL);

	if (n < 0)
		return -1;
	if (n && n != 2 * nsp)
		return ref_fail(c, "pads has %d entries for %d spatial dims", n, nsp);
	for (int i = 0; i < n; i++)
		if (buf[i] < 0 || buf[i] > GEOM_MAX)
			return ref_fail(c, "pad %lld out of range", (long long)buf[i]);
	for (int i = 0; i < n / 2; i++) {
		g->pad0[base + i] = buf[i];
		g->pad1[base + i] = buf[nsp + i];
	}
	return 0;
}

/* Output size along dim i; pads may be rewritten by auto_pad. */
static int geom_dim(struct ref_ctx *c, struct ref_geom *g, int i, const char *ap, int ceil_mode)
{
	int64_t s = g->stride[i], ek = (g->k[i] - 1) * g->dil[i] + 1, span;

	if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
		int64_t out = (g->in[i] + s - 1) / s;
		int64_t total = (out - 1) * s + ek - g->in[i];

		if (total < 0)
			total = 0;
		/* SAME_UPPER puts the odd extra pad at the end, SAME_LOWER at the start */
		g->pad0[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
		g->pad1[i] = total - g->pad0[i];
		g->out[i] = out;
		return 0;
	}
	if (!strcmp(ap, "VALID")) {
		g->pad0[i] = g->pad1[i] = 0;
		ceil_mode = 0;
	} else if (strcmp(ap, "NOTSET") != 0) {
		return ref_fail(c, "unknown auto_pad '%s'", ap);
	}
	span = g->in[i] + g->pad0[i] + g->pad1[i] - ek;
	if (span < 0)
		return ref_fail(c, "window (%lld) larger than the padded input (%lld)",
				(long long)ek, (long long)(g->in[i] + g->pad0[i] + g->pad1[i]));
	g->out[i] = (ceil_mode ? span + s - 1 : span) / s + 1;
	/* ceil_mode: the last window must start inside the input or left pad */
	if (ceil_mode && (g->out[i] - 1) * s >= g->in[i] + g->pad0[i])
		g->out[i]--;
	return 0;
}

int ref_window_geom(struct ref_ctx *c, const struct npuc_value *x, const int64_t *kshape,
		    int ceil_mode, struct ref_geom *g)
{
	const char *ap = npuc_attr_string(c->n, "auto_pad", "NOTSET");
	int nsp = x->rank - 2, base = REF_SPATIAL - nsp;

	if (nsp < 1 || nsp > REF_SPATIAL)
		return ref_fail(c, "input rank %d not supported (3..5)", x->rank);
	memset(g, 0, sizeof(*g));
	g->nsp = nsp;
	for (int i = 0; i < REF_SPATIAL; i++) {
		g->in[i] = g->out[i] = g->k[i] = 1;
		g->stride[i] = g->dil[i] = 1;
	}
	for (int i = 0; i < nsp; i++)
		g->in[base + i] = x->dims[2 + i];
	if (!ap[0])
		ap = "NOTSET";
	if (geom_kernel(c, kshape, g) || geom_attr(c, "strides", g->stride, nsp, 1) ||
	    geom_attr(c, "dilations", g->dil, nsp, 1) || geom_pads(c, g))
		return -1;
	for (int i = base; i < REF_SPATIAL; i++)
		if (geom_dim(c, g, i, ap, ceil_mode))
			return -1;
	return 0;
}

int ref_geom_dims(const struct ref_geom *g, int64_t n, int64_t ch, int64_t *dims)
{
	dims[0] = n;
	dims[1] = ch;
	for (int i = 0; i < g->nsp; i++)
		dims[2 + i] = g->out[REF_SPATIAL - g->nsp + i];
	return 2 + g->nsp;
}

int64_t ref_geom_isz(const struct ref_geom *g) { return g->in[0] * g->in[1] * g->in[2]; }
int64_t ref_geom_osz(const struct ref_geom *g) { return g->out[0] * g->out[1] * g->out[2]; }
int64_t ref_geom_ksz(const struct ref_geom *g) { return g->k[0] * g->k[1] * g->k[2]; }

/* Output positions o in [lo, hi) whose input o * s + off lies in [0, in). */
static void tap_range(int64_t out, int64_t in, int64_t s, int64_t off, int64_t *lo, int64_t *hi)
{
	int64_t a = off >= 0 ? 0 : (-off + s - 1) / s;
	int64_t b = in - 1 - off < 0 ? 0 : (in - 1 - off) / s + 1;

	if (b > out)
		b = out;
	if (a > b)
		a = b;
	*lo = a;
	*hi = b;
}

/* ---- direct conv core ---- */

/* Accumulates one input plane convolved with one kernel plane into yp. */
#define DEFINE_CONV_PLANE(name, TX, TY)						\
static void name(const struct ref_geom *g, const TX *xp, const TX *wp, TY *yp)	\
{										\
	int64_t lo[3], hi[3], off[3];						\
										\
	for (int64_t kd = 0; kd < g->k[0]; kd++)				\
	for (int64_t kh = 0; kh < g->k[1]; kh++)				\
	for (int64_t kw = 0; kw < g->k[2]; kw++) {				\
		TY wv = (TY)*wp++;						\
		int64_t kk[3] = { kd, kh, kw };					\
										\
		for (int i = 0; i < 3; i++) {					\
			off[i] = kk[i] * g->dil[i] - g->pad0[i];		\
			tap_range(g->out[i], g->in[i], g->stride[i], off[i],	\
				  &lo[i], &hi[i]);				\
		}								\
		for (int64_t od = lo[0]; od < hi[0]; od++)			\
		for (int64_t oh = lo[1]; oh < hi[1]; oh++) {			\
			int64_t id = od * g->stride[0] + off[0];		\
			int64_t ih = oh * g->stride[1] + off[1];		\
			int64_t xb = (id * g->in[1] + ih) * g->in[2] + off[2];	\
			TY *yr = yp + (od * g->out[1] + oh) * g->out[2];	\
										\
			for (int64_t ow = lo[2]; ow < hi[2]; ow++)		\
				yr[ow] += wv * (TY)xp[xb + ow * g->stride[2]];	\
		}								\
	}									\
}

DEFINE_CONV_PLANE(conv_plane_i64, int32_t, int64_t)

#define CONV_OC_BLOCK 4	/* output channels sharing each read of an input plane */

/*
 * conv_plane_f32 for nb (<= CONV_OC_BLOCK) output channels at once: kernel
 * plane j at wp + j * wstride into yp + j * ystride. Each output element
 * sees the same additions in the same order as with conv_plane_f32 (the
 * channels only share the loads of x), so results are bit-identical.
 */
static void conv_plane_f32_block(const struct ref_geom *g, const float *xp, const float *wp,
				 int64_t wstride, float *yp, int64_t ystride, int nb)
{
	int64_t lo[3], hi[3], off[3], t = 0;

	for (int64_t kd = 0; kd < g->k[0]; kd++)
	for (int64_t kh = 0; kh < g->k[1]; kh++)
	for (int64_t kw = 0; kw < g->k[2]; kw++, t++) {
		float wv[CONV_OC_BLOCK];
		int64_t kk[3] = { kd, kh, kw };

		for (int j = 0; j < nb; j++)
			wv[j] = wp[j * wstride + t];
		for (int i = 0; i < 3; i++) {
			off[i] = kk[i] * g->dil[i] - g->pad0[i];
			tap_range(g->out[i], g->in[i], g->stride[i], off[i], &lo[i], &hi[i]);
		}
		for (int64_t od = lo[0]; od < hi[0]; od++)
		for (int64_t oh = lo[1]; oh < hi[1]; oh++) {
			int64_t id = od * g->stride[0] + off[0];
			int64_t ih = oh * g->stride[1] + off[1];
			const float *xr = xp + (id * g->in[1] + ih) * g->in[2] + off[2];
			int64_t yo = (od * g->out[1] + oh) * g->out[2], st = g->stride[2];

			if (nb == CONV_OC_BLOCK) {
				float *y0 = yp + yo, *y1 = y0 + ystride, *y2 = y1 + ystride;
				float *y3 = y2 + ystride;

				for (int64_t ow = lo[2]; ow < hi[2]; ow++) {
					float xv = xr[ow * st];

					y0[ow] += wv[0] * xv;
					y1[ow] += wv[1] * xv;
					y2[ow] += wv[2] * xv;
					y3[ow] += wv[3] * xv;
				}
				continue;
			}
			for (int j = 0; j < nb; j++) {
				float *yr = yp + j * ystride + yo;

				for (int64_t ow = lo[2]; ow < hi[2]; ow++)
					yr[ow] += wv[j] * xr[ow * st];
			}
		}
	}
}

void ref_conv_f32(const struct ref_geom *g, int64_t n, int64_t cin, int64_t m, int64_t group,
		  const float *x, const float *w, const float *bias, float *y)
{
	int64_t icg = cin / group, ocg = m / group;
	int64_t isz = ref_geom_isz(g), osz = ref_geom_osz(g), ksz = ref_geom_ksz(g);

	for (int64_t b = 0; b < n; b++) {
		for (int64_t mi = 0; mi < m;) {
			/* a block of output channels of one group */
			int64_t end = (mi / ocg + 1) * ocg, c0 = (mi / ocg) * icg;
			int nb = (int)(end - mi < CONV_OC_BLOCK ? end - mi : CONV_OC_BLOCK);
			float *yp = y + (b * m + mi) * osz;

			for (int j = 0; j < nb; j++)
				for (int64_t i = 0; i < osz; i++)
					yp[j * osz + i] = bias ? bias[mi + j] : 0.0f;
			for (int64_t ic = 0; ic < icg; ic++)
				conv_plane_f32_block(g, x + (b * cin + c0 + ic) * isz,
						     w + (mi * icg + ic) * ksz, icg * ksz, yp, osz,
						     nb);
			mi += nb;
		}
	}
}

void ref_conv_i64(const struct ref_geom *g, int64_t n, int64_t cin, int64_t m, int64_t group,
		  const int32_t *x, const int32_t *w, int64_t *y)
{
	int64_t icg = cin / group, ocg = m / group;
	int64_t isz = ref_geom_isz(g), osz = ref_geom_osz(g), ksz = ref_geom_ksz(g);

	memset(y, 0, (size_t)(n * m * osz) * sizeof(*y));
	for (int64_t b = 0; b < n; b++)
		for (int64_t mi = 0; mi < m; mi++)
			for (int64_t ic = 0; ic < icg; ic++)
				conv_plane_i64(g, x + (b * cin + (mi / ocg) * icg + ic) * isz,
					       w + (mi * icg + ic) * ksz,
					       y + (b * m + mi) * osz);
}

/* ---- Conv ---- */

int ref_op_conv(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	const struct npuc_value *w = ref_need(c, 1, NPUC_DT_F32);
	const struct npuc_value *b = ref_in(c, 2);
	int64_t group = npuc_attr_int(c->n, "group", 1), dims[NPUC_MAX_RANK];
	struct npuc_value *y;
	struct ref_geom g;

	if (!x || !w)
		return -1;
	if (w->rank != x->rank || x->rank < 3)
		return ref_fail(c, "weight rank %d vs input rank %d", w->rank, x->rank);
	if (group < 1 || group > REF_MAX_NUMEL || x->dims[1] % group || w->dims[0] % group ||
	    w->dims[1] * group != x->dims[1])
		return ref_fail(c, "channels (in %lld, weight %lldx%lld) and group %lld disagree",
				(long long)x->dims[1], (long long)w->dims[0],
				(long long)w->dims[1], (long long)group);
	if (b && (b->dtype != NPUC_DT_F32 || b->rank != 1 || b->dims[0] != w->dims[0]))
		return ref_fail(c, "bias must be float[%lld]", (long long)w->dims[0]);
	if (ref_window_geom(c, x, w->dims + 2, 0, &g) ||
	    ref_check_work(c, (double)x->dims[0] * (double)w->dims[0] * (double)w->dims[1] *
				   (double)ref_geom_osz(&g) * (double)ref_geom_ksz(&g)))
		return -1;
	y = ref_out(c, 0, NPUC_DT_F32, ref_geom_dims(&g, x->dims[0], w->dims[0], dims), dims);
	if (!y)
		return -1;
	ref_conv_f32(&g, x->dims[0], x->dims[1], w->dims[0], group, x->data, w->data,
		     b ? b->data : NULL, y->data);
	return 0;
}

/* ---- ConvTranspose ---- */

/* Output size and pads per dim (ONNX ConvTranspose shape rules). */
static int convt_dim(struct ref_ctx *c, struct ref_geom *g, int i, const char *ap,
		     int64_t opad, int64_t oshape)
{
	int64_t full = g->stride[i] * (g->in[i] - 1) + opad + (g->k[i] - 1) * g->dil[i] + 1;
	int upper = !strcmp(ap, "SAME_UPPER");

	/* as onnxruntime: SAME means out = in * stride; the odd pad goes last */
	if (upper || !strcmp(ap, "SAME_LOWER"))
		oshape = g->in[i] * g->stride[i];
	if (oshape >= 0) {
		/* output_shape: a larger output is filled from the (implicit) tail */
		int64_t total = full > oshape ? full - oshape : 0;

		g->pad0[i] = upper || strcmp(ap, "SAME_LOWER") ? total / 2 : total - total / 2;
		g->pad1[i] = total - g->pad0[i];
		g->out[i] = oshape;
		return 0;
	}
	if (!strcmp(ap, "VALID"))
		g->pad0[i] = g->pad1[i] = 0;
	else if (strcmp(ap, "NOTSET") != 0 && ap[0])
		return ref_fail(c, "unknown auto_pad '%s'", ap);
	g->out[i] = full - g->pad0[i] - g->pad1[i];
	if (g->out[i] < 1)
		return ref_fail(c, "empty output");
	return 0;
}

/* g->in = X spatial, g->out = Y spatial, pads as applied. */
static int convt_geom(struct ref_ctx *c, const struct npuc_value *x, const struct npuc_value *w,
		      struct ref_geom *g)
{
	const char *ap = npuc_attr_string(c->n, "auto_pad", "NOTSET");
	int64_t opad[REF_SPATIAL] = { 0 }, oshape[NPUC_MAX_RANK];
	int nsp = x->rank - 2, base = REF_SPATIAL - nsp, nos;

	if (nsp < 1 || nsp > REF_SPATIAL || w->rank != x->rank)
		return ref_fail(c, "input rank %d / weight rank %d not supported", x->rank,
				w->rank);
	memset(g, 0, sizeof(*g));
	g->nsp = nsp;
	for (int i = 0; i < REF_SPATIAL; i++) {
		g->in[i] = g->out[i] = g->k[i] = g->stride[i] = g->dil[i] = 1;
		if (i >= base)
			g->in[i] = x->dims[2 + i - base];
	}
	if (geom_kernel(c, w->dims + 2, g) || geom_attr(c, "strides", g->stride, nsp, 1) ||
	    geom_attr(c, "dilations", g->dil, nsp, 1) || geom_pads(c, g))
		return -1;
	if (geom_attr(c, "output_padding", opad, nsp, 0))
		return -1;
	nos = ref_attr_ints(c, "output_shape", oshape, NPUC_MAX_RANK);
	if (nos < 0)
		return -1;
	if (nos && nos != nsp && nos != nsp + 2)
		return ref_fail(c, "output_shape has %d entries", nos);
	for (int i = 0; i < nsp; i++) {
		int64_t os = nos ? oshape[nos - nsp + i] : -1;

		if (nos && (os < 1 || os > REF_MAX_NUMEL))
			return ref_fail(c, "bad output_shape");
		if (convt_dim(c, g, base + i, ap, opad[base + i], os))
			return -1;
	}
	return 0;
}

/* Scatters one input plane through one kernel plane into the output plane. */
static void convt_plane(const struct ref_geom *g, const float *xp, const float *wp, float *yp)
{
	for (int64_t kd = 0; kd < g->k[0]; kd++)
	for (int64_t kh = 0; kh < g->k[1]; kh++)
	for (int64_t kw = 0; kw < g->k[2]; kw++) {
		float wv = *wp++;
		int64_t kk[3] = { kd, kh, kw }, off[3];

		for (int i = 0; i < 3; i++)
			off[i] = kk[i] * g->dil[i] - g->pad0[i];
		for (int64_t id = 0; id < g->in[0]; id++) {
			int64_t od = id * g->stride[0] + off[0];

			if (od < 0 || od >= g->out[0])
				continue;
			for (int64_t ih = 0; ih < g->in[1]; ih++) {
				int64_t oh = ih * g->stride[1] + off[1];
				const float *xr = xp + (id * g->in[1] + ih) * g->in[2];
				float *yr = yp + (od * g->out[1] + oh) * g->out[2];

				if (oh < 0 || oh >= g->out[1])
					continue;
				for (int64_t iw = 0; iw < g->in[2]; iw++) {
					int64_t ow = iw * g->stride[2] + off[2];

					if (ow >= 0 && ow < g->out[2])
						yr[ow] += wv * xr[iw];
				}
			}
		}
	}
}

void ref_conv_transpose_f32(const struct ref_geom *g, int64_t n, int64_t cin, int64_t group,
			    int64_t ocg, const float *x, const float *w, const float *bias,
			    float *y)
{
	int64_t isz = ref_geom_isz(g), osz = ref_geom_osz(g), ksz = ref_geom_ksz(g);
	int64_t icg = cin / group, m_all = ocg * group;

	for (int64_t bi = 0; bi < n; bi++) {
		for (int64_t m = 0; m < m_all; m++) {
			float *yp = y + (bi * m_all + m) * osz;
			int64_t gi = m / ocg, oc = m % ocg;

			for (int64_t i = 0; i < osz; i++)
				yp[i] = bias ? bias[m] : 0.0f;
			for (int64_t ic = 0; ic < icg; ic++) {
				int64_t ci = gi * icg + ic;

				convt_plane(g, x + (bi * cin + ci) * isz, w + (ci * ocg + oc) * ksz,
					    yp);
			}
		}
	}
}

int ref_op_conv_transpose(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	const struct npuc_value *w = ref_need(c, 1, NPUC_DT_F32);
	const struct npuc_value *b = ref_in(c, 2);
	int64_t group = npuc_attr_int(c->n, "group", 1), dims[NPUC_MAX_RANK], ocg;
	struct npuc_value *y;
	struct ref_geom g;

	if (!x || !w || convt_geom(c, x, w, &g))
		return -1;
	if (group < 1 || x->dims[1] % group || w->dims[0] != x->dims[1])
		return ref_fail(c, "channels and group %lld disagree", (long long)group);
	ocg = w->dims[1];
	if (ocg > REF_MAX_NUMEL / group)
		return ref_fail(c, "too many output channels");
	if (ref_check_work(c, (double)x->numel * (double)ocg * (double)ref_geom_ksz(&g)))
		return -1;
	if (b && (b->dtype != NPUC_DT_F32 || b->rank != 1 || b->dims[0] != ocg * group))
		return ref_fail(c, "bias must be float[%lld]", (long long)(ocg * group));
	y = ref_out(c, 0, NPUC_DT_F32, ref_geom_dims(&g, x->dims[0], ocg * group, dims), dims);
	if (!y)
		return -1;
	ref_conv_transpose_f32(&g, x->dims[0], x->dims[1], group, ocg, x->data, w->data,
			       b ? b->data : NULL, y->data);
	return 0;
}

/* ---- Gemm ---- */

int ref_op_gemm(struct ref_ctx *c)
{
	const struct npuc_value *a = ref_need(c, 0, NPUC_DT_F32);
	const struct npuc_value *b = ref_need(c, 1, NPUC_DT_F32);
	const struct npuc_value *cc = ref_in(c, 2);
	int ta = npuc_attr_int(c->n, "transA", 0) != 0, tb = npuc_attr_int(c->n, "transB", 0) != 0;
	float alpha = npuc_attr_float(c->n, "alpha", 1.0f);
	float beta = npuc_attr_float(c->n, "beta", 1.0f);
	int64_t m, k, n, dims[2], cst[2] = { 0, 0 };
	struct npuc_value *y;
	struct ref_gemm p;

	if (!a || !b)
		return -1;
	if (a->rank != 2 || b->rank != 2)
		return ref_fail(c, "A and B must be 2-D");
	m = a->dims[ta];
	k = a->dims[!ta];
	n = b->dims[!tb];
	if (b->dims[tb] != k)
		return ref_fail(c, "inner dims differ (%lld vs %lld)", (long long)k,
				(long long)b->dims[tb]);
	dims[0] = m;
	dims[1] = n;
	if (ref_check_work(c, (double)m * (double)n * (double)k))
		return -1;
	if (cc) {
		const struct npuc_value *v[2] = { cc, NULL };
		struct npuc_value full = { .rank = 2, .dims = { m, n } };
		int64_t bd[NPUC_MAX_RANK];
		int br;

		v[1] = &full;
		if (cc->dtype != NPUC_DT_F32 || cc->rank > 2 || ref_broadcast(c, v, 2, &br, bd) ||
		    bd[0] != m || bd[1] != n)
			return ref_fail(c, "C does not broadcast to %lldx%lld", (long long)m,
					(long long)n);
		ref_bcast_strides(cc, 2, dims, cst);
	}
	y = ref_out(c, 0, NPUC_DT_F32, 2, dims);
	if (!y)
		return -1;
	p.m = m;
	p.k = k;
	p.n = n;
	p.trans_a = ta;
	p.trans_b = tb;
	p.alpha = alpha;
	p.beta = beta;
	p.c_stride[0] = cst[0];
	p.c_stride[1] = cst[1];
	ref_gemm_f32(&p, a->data, b->data, cc ? cc->data : NULL, y->data);
	return 0;
}

void ref_gemm_f32(const struct ref_gemm *p, const float *A, const float *B, const float *C,
		  float *Y)
{
	int64_t m = p->m, k = p->k, n = p->n;

	memset(Y, 0, (size_t)(m * n) * sizeof(*Y));
	for (int64_t i = 0; i < m; i++) {
		float *yr = Y + i * n;

		for (int64_t kk = 0; kk < k; kk++) {
			float av = p->trans_a ? A[kk * m + i] : A[i * k + kk];

			if (p->trans_b)
				for (int64_t j = 0; j < n; j++)
					yr[j] += av * B[j * k + kk];
			else
				for (int64_t j = 0; j < n; j++)
					yr[j] += av * B[kk * n + j];
		}
		for (int64_t j = 0; j < n; j++) {
			yr[j] *= p->alpha;
			if (C)
				yr[j] += p->beta * C[i * p->c_stride[0] + j * p->c_stride[1]];
		}
	}
}

/* ---- MatMul ---- */

int ref_matmul_shape(struct ref_ctx *c, const struct npuc_value *a, const struct npuc_value *b,
		     struct ref_mm *mm)
{
	int ar = a->rank, br = b->rank, nba, nbb;

	memset(mm, 0, sizeof(*mm));
	if (ar < 1 || br < 1)
		return ref_fail(c, "MatMul operands must have rank >= 1");
	mm->m = ar == 1 ? 1 : a->dims[ar - 2];
	mm->k = a->dims[ar - 1];
	mm->n = br == 1 ? 1 : b->dims[br - 1];
	if ((br == 1 ? b->dims[0] : b->dims[br - 2]) != mm->k)
		return ref_fail(c, "inner dims differ (%lld vs %lld)", (long long)mm->k,
				(long long)(br == 1 ? b->dims[0] : b->dims[br - 2]));
	nba = ar > 2 ? ar - 2 : 0;
	nbb = br > 2 ? br - 2 : 0;
	mm->nb = nba > nbb ? nba : nbb;
	mm->batch = 1;
	for (int64_t i = mm->nb - 1, sa = 1, sb = 1; i >= 0; i--) {
		int64_t ja = i - (mm->nb - nba), jb = i - (mm->nb - nbb);
		int64_t da = ja >= 0 ? a->dims[ja] : 1, db = jb >= 0 ? b->dims[jb] : 1;

		if (da != db && da != 1 && db != 1)
			return ref_fail(c, "batch dims do not broadcast");
		mm->bdims[i] = da > db ? da : db;
		if (da == 0 || db == 0)
			mm->bdims[i] = 0;
		mm->a_bst[i] = da == 1 ? 0 : sa;
		mm->b_bst[i] = db == 1 ? 0 : sb;
		sa *= da;
		sb *= db;
	}
	for (int i = 0; i < mm->nb; i++) {
		mm->dims[i] = mm->bdims[i];
		mm->batch *= mm->bdims[i];
	}
	if (ref_check_work(c, (double)mm->batch * (double)mm->m * (double)mm->n * (double)mm->k))
		return -1;
	mm->rank = mm->nb;
	if (ar > 1)
		mm->dims[mm->rank++] = mm->m;
	if (br > 1)
		mm->dims[mm->rank++] = mm->n;
	return 0;
}

int64_t ref_mm_index(const struct ref_mm *mm, int which, int64_t bi)
{
	const int64_t *st = which ? mm->b_bst : mm->a_bst;
	int64_t idx = 0;

	for (int i = mm->nb - 1; i >= 0; i--) {
		idx += (bi % mm->bdims[i]) * st[i];
		bi /= mm->bdims[i];
	}
	return idx;
}

int ref_op_matmul(struct ref_ctx *c)
{
	const struct npuc_value *a = ref_need(c, 0, NPUC_DT_F32);
	const struct npuc_value *b = ref_need(c, 1, NPUC_DT_F32);
	struct npuc_value *y;
	struct ref_mm mm;

	if (!a || !b || ref_matmul_shape(c, a, b, &mm))
		return -1;
	y = ref_out(c, 0, NPUC_DT_F32, mm.rank, mm.dims);
	if (!y)
		return -1;
	ref_matmul_f32(&mm, a->data, b->data, y->data);
	return 0;
}

/* y (batch x m x n) = a x b per batch, accumulated in TY. */
#define DEFINE_MATMUL(name, TX, TY)							\
void name(const struct ref_mm *mm, const TX *a, const TX *b, TY *y)			\
{											\
	memset(y, 0, (size_t)(mm->batch * mm->m * mm->n) * sizeof(*y));		\
	for (int64_t bi = 0; bi < mm->batch; bi++) {					\
		const TX *A = a + ref_mm_index(mm, 0, bi) * mm->m * mm->k;		\
		const TX *B = b + ref_mm_index(mm, 1, bi) * mm->k * mm->n;		\
		TY *Y = y + bi * mm->m * mm->n;						\
											\
		for (int64_t i = 0; i < mm->m; i++)					\
			for (int64_t kk = 0; kk < mm->k; kk++) {			\
				TY av = (TY)A[i * mm->k + kk];				\
											\
				for (int64_t j = 0; j < mm->n; j++)			\
					Y[i * mm->n + j] += av * (TY)B[kk * mm->n + j];	\
			}								\
	}										\
}

DEFINE_MATMUL(ref_matmul_f32, float, float)
DEFINE_MATMUL(ref_matmul_i64, int32_t, int64_t)
