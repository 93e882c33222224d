// SPDX-License-Identifier: MIT
/*
 * The int8 reference kernels (qref_kernels.h). CONV and MATMUL first
 * subtract the zero points into int16 copies (the input zero-padded), so
 * the inner loops are plain int16 dot products the compiler vectorises;
 * everything else is element by element through npu_arith.h.
 */
#include <string.h>

#include "qref_kernels.h"

/* int16 products are < 2^16 in magnitude: 2^15 of them fit an int32 sum. */
#define DOT_CHUNK	32768u

static uint32_t dot16(const int16_t *a, const int16_t *b, size_t n)
{
	uint32_t acc = 0;

	while (n) {
		size_t m = n < DOT_CHUNK ? n : DOT_CHUNK;
		int32_t s = 0;

		for (size_t i = 0; i < m; i++)
			s += a[i] * b[i];
		acc += (uint32_t)s;
		a += m;
		b += m;
		n -= m;
	}
	return acc;
}

/* ---- CONV ---- */

struct conv_geo {
	int ph, pw, icg, ocg;
	int contiguous;		/* one dot per kernel row (groups 1, dil_w 1) */
};

static void conv_geo_of(const struct npuq_conv *p, const struct npuq_shape *x,
			const struct npuq_shape *y, struct conv_geo *cg)
{
	cg->ph = x->h + p->pad_top + p->pad_bottom;
	cg->pw = x->w + p->pad_left + p->pad_right;
	cg->icg = x->c / p->groups;
	cg->ocg = y->c / p->groups;
	cg->contiguous = p->groups == 1 && p->dil_w == 1;
}

int64_t npuq_conv_scratch(const struct npuq_conv *p, const struct npuq_shape *x,
			  const struct npuq_shape *y)
{
	struct conv_geo cg;

	conv_geo_of(p, x, y, &cg);
	return (int64_t)cg.ph * cg.pw * x->c + (int64_t)y->c * p->k_h * p->k_w * cg.icg;
}

/* x - zp into a zero-padded (ph, pw, c) int16 image. */
static void pad_centered(const int8_t *x, const struct npuq_shape *t, int pt, int pl, int ph,
			 int pw, int16_t *xp)
{
	memset(xp, 0, (size_t)ph * pw * t->c * sizeof(*xp));
	for (int y = 0; y < t->h; y++) {
		const int8_t *src = x + (size_t)y * t->w * t->c;
		int16_t *dst = xp + ((size_t)(y + pt) * pw + pl) * t->c;

		for (size_t i = 0; i < (size_t)t->w * t->c; i++)
			dst[i] = (int16_t)(src[i] - t->zp);
	}
}

/* Accumulator (bias included, modulo 2^32) of one output pixel and channel. */
static int32_t conv_acc(const struct npuq_conv *p, const struct conv_geo *cg, const int16_t *xp,
			const int16_t *wp, int c, int oy, int ox, int oc)
{
	int grp = oc / cg->ocg;
	uint32_t acc = (uint32_t)p->q[oc].bias;
	const int16_t *wo = wp + (size_t)oc * p->k_h * p->k_w * cg->icg;

	for (int ky = 0; ky < p->k_h; ky++) {
		size_t row = (size_t)oy * p->stride_h + (size_t)ky * p->dil_h;
		const int16_t *xr = xp + (row * cg->pw + (size_t)ox * p->stride_w) * c;
		const int16_t *wr = wo + (size_t)ky * p->k_w * cg->icg;

		if (cg->contiguous) {
			acc += dot16(xr, wr, (size_t)p->k_w * c);
			continue;
		}
		for (int kx = 0; kx < p->k_w; kx++)
			acc += dot16(xr + (size_t)kx * p->dil_w * c + (size_t)grp * cg->icg,
				     wr + (size_t)kx * cg->icg, (size_t)cg->icg);
	}
	return (int32_t)acc;
}

void npuq_conv_i8(const struct npuq_conv *p, const struct npuq_shape *x,
		  const struct npuq_shape *y, const int8_t *xd, int8_t *yd, int16_t *scratch)
{
	struct conv_geo cg;
	int16_t *xp = scratch, *wp;
	int64_t nw;

	conv_geo_of(p, x, y, &cg);
	wp = xp + (size_t)cg.ph * cg.pw * x->c;
	nw = (int64_t)y->c * p->k_h * p->k_w * cg.icg;
	pad_centered(xd, x, p->pad_top, p->pad_left, cg.ph, cg.pw, xp);
	for (int64_t i = 0; i < nw; i++)
		wp[i] = (int16_t)(p->w[i] - p->w_zp);
	for (int oy = 0; oy < y->h; oy++)
		for (int ox = 0; ox < y->w; ox++)
			for (int oc = 0; oc < y->c; oc++)
				*yd++ = npu_requant(conv_acc(p, &cg, xp, wp, x->c, oy, ox, oc),
						    &p->q[oc], (int8_t)y->zp, p->act_min,
						    p->act_max);
}

/* ---- MATMUL ---- */

int64_t npuq_matmul_scratch(const struct npuq_shape *a, const struct npuq_shape *b)
{
	return (int64_t)a->w * a->c + (int64_t)a->c * b->c;
}

void npuq_matmul_i8(const struct npuq_matmul *p, const struct npuq_shape *a,
		    const struct npuq_shape *b, const struct npuq_shape *y, const int8_t *ad,
		    const int8_t *bd, int8_t *yd, int16_t *scratch)
{
	int m = a->w, k = a->c, nn = b->c;
	int16_t *ac = scratch, *bt = scratch + (size_t)m * k;

	(void)y;
	for (int bi = 0; bi < a->h; bi++) {
		const int8_t *ab = ad + (size_t)bi * m * k, *bb = bd + (size_t)bi * k * nn;

		for (size_t i = 0; i < (size_t)m * k; i++)
			ac[i] = (int16_t)(ab[i] - a->zp);
		/* B transposed to [n][k]: each output is one contiguous dot. */
		for (int kk = 0; kk < k; kk++)
			for (int j = 0; j < nn; j++)
				bt[(size_t)j * k + kk] = (int16_t)(bb[(size_t)kk * nn + j] - b->zp);
		for (int i = 0; i < m; i++)
			for (int j = 0; j < nn; j++) {
				uint32_t acc = (uint32_t)p->q.bias +
					       dot16(ac + (size_t)i * k, bt + (size_t)j * k,
						     (size_t)k);

				*yd++ = npu_requant((int32_t)acc, &p->q, (int8_t)y->zp,
						    p->act_min, p->act_max);
			}
	}
}

/* ---- ELTWISE, POOL, LUT, CONCAT ---- */

void npuq_eltwise_i8(const struct npu_cmd_eltwise *c, int64_t ch, const int8_t *a,
		     const int8_t *b, int8_t *y)
{
	for (int64_t i = 0; i < (int64_t)c->count; i++) {
		int64_t j = c->bcast == NPU_BCAST_NONE ? i :
			    c->bcast == NPU_BCAST_SCALAR ? 0 : i % ch;

		y[i] = npu_eltwise(c, a[i], b[j]);
	}
}

/* Valid input range [*lo, *hi) of a window starting at `start`. */
static void pool_range(int64_t start, int k, int in, int *lo, int *hi)
{
	int64_t a = start < 0 ? 0 : start, b = start + k > in ? in : start + k;

	*lo = (int)a;
	*hi = (int)(b > a ? b : a);
}

void npuq_pool_i8(const struct npuq_pool *p, const struct npuq_shape *x,
		  const struct npuq_shape *y, const int8_t *in, int8_t *out)
{
	struct npu_cmd_pool c;

	memset(&c, 0, sizeof(c));
	c.in_zp = (int8_t)x->zp;
	c.out_zp = (int8_t)y->zp;
	c.act_min = p->act_min;
	c.act_max = p->act_max;
	c.mult = p->mult;
	c.shift = p->shift;
	for (int oy = 0; oy < y->h; oy++)
		for (int ox = 0; ox < y->w; ox++) {
			int y0, y1, x0, x1;
			int64_t nvalid;

			pool_range((int64_t)oy * p->stride_h - p->pad_top, p->k_h, x->h, &y0, &y1);
			pool_range((int64_t)ox * p->stride_w - p->pad_left, p->k_w, x->w, &x0, &x1);
			nvalid = (int64_t)(y1 - y0) * (x1 - x0);
			for (int ch = 0; ch < x->c; ch++) {
				int64_t acc = 0, mx = INT8_MIN, count;

				for (int iy = y0; iy < y1; iy++)
					for (int ix = x0; ix < x1; ix++) {
						int8_t v = in[((size_t)iy * x->w + ix) * x->c + ch];

						acc += v - x->zp;
						mx = v > mx ? v : mx;
					}
				if (p->mode == NPU_POOL_MAX) {
					acc = nvalid ? mx - x->zp : 0;
					count = nvalid ? 1 : 0;
				} else {
					count = p->count_pad ? (int64_t)p->k_h * p->k_w : nvalid;
				}
				*out++ = npu_pool_out(&c, acc, count);
			}
		}
}

void npuq_lut_i8(const int8_t *table, const int8_t *x, int8_t *y, int64_t n)
{
	for (int64_t i = 0; i < n; i++)
		y[i] = table[npu_lut_index(x[i])];
}

void npuq_concat_part_i8(const struct npu_qparam *q, const struct npuq_shape *x,
			 const struct npuq_shape *y, int off, const int8_t *xd, int8_t *yd)
{
	int64_t pix = (int64_t)y->h * y->w;

	yd += off;
	for (int64_t p = 0; p < pix; p++)
		for (int ch = 0; ch < x->c; ch++) {
			int8_t v = xd[p * x->c + ch];

			yd[p * y->c + ch] = !q ? v : npu_requant(v - x->zp, q, (int8_t)y->zp,
								 INT8_MIN, INT8_MAX);
		}
}
