// SPDX-License-Identifier: MIT
/*
 * Pooling: MaxPool (with dilations and the optional Indices output),
 * AveragePool (count_include_pad, ceil_mode) and the global pools. The
 * window geometry is shared with Conv (ref_window_geom).
 */
#include <float.h>
#include <math.h>
#include <string.h>

#include "ref_ops_internal.h"

struct pool_win {
	int64_t lo[3], hi[3];		/* first/last+1 tap index inside the input */
	int64_t start[3];		/* input coordinate of tap 0 */
	int64_t padded;			/* taps inside the padded extent (avg divisor) */
};

/* Taps of the window at output position o: those landing inside [0, in). */
static void pool_window(const struct ref_geom *g, const int64_t *o, struct pool_win *w)
{
	w->padded = 1;
	for (int i = 0; i < 3; i++) {
		int64_t s = o[i] * g->stride[i] - g->pad0[i], d = g->dil[i], k = g->k[i];
		int64_t lo = 0, hi = k, end;

		w->start[i] = s;
		while (lo < hi && s + lo * d < 0)
			lo++;
		while (hi > lo && s + (hi - 1) * d >= g->in[i])
			hi--;
		w->lo[i] = lo;
		w->hi[i] = hi;
		/* onnxruntime: window clipped to the padded extent (ceil_mode overhang) */
		end = s + (k - 1) * d + 1;
		if (end > g->in[i] + g->pad1[i])
			end = g->in[i] + g->pad1[i];
		w->padded *= d == 1 ? end - s : (end - s + d - 1) / d;
	}
}

struct pool_job {
	const struct ref_pool *p;
	const struct ref_geom *g;
	const struct npuc_value *x;
	struct npuc_value *y, *idx;
};

/* One output element of plane (n, ch): oi is its index in the plane. */
static void pool_point(const struct pool_job *j, int64_t plane, const int64_t *o, int64_t oi)
{
	const struct ref_geom *g = j->g;
	int64_t isz = ref_geom_isz(g), base = plane * isz, best_i = -1, cnt = 0;
	double best = -INFINITY, sum = 0;
	int fl = j->x->dtype == NPUC_DT_F32;
	struct pool_win w;

	pool_window(g, o, &w);
	for (int64_t a = w.lo[0]; a < w.hi[0]; a++)
	for (int64_t b = w.lo[1]; b < w.hi[1]; b++)
	for (int64_t e = w.lo[2]; e < w.hi[2]; e++) {
		int64_t id = w.start[0] + a * g->dil[0], ih = w.start[1] + b * g->dil[1];
		int64_t iw = w.start[2] + e * g->dil[2];
		int64_t xi = base + (id * g->in[1] + ih) * g->in[2] + iw;
		double v = fl ? ((const float *)j->x->data)[xi] : ref_get_f(j->x, xi);

		cnt++;
		if (j->p->avg) {
			sum += v;
		} else if (v > best || best_i < 0) {
			best = v;
			best_i = j->p->storage_col ? plane * isz + iw * g->in[1] + ih : xi;
		}
	}
	if (j->p->avg) {
		int64_t div = j->p->count_pad ? w.padded : cnt;

		((float *)j->y->data)[plane * ref_geom_osz(g) + oi] = div ? (float)(sum / div) : 0;
		return;
	}
	oi += plane * ref_geom_osz(g);
	if (fl)
		((float *)j->y->data)[oi] = best_i < 0 ? -FLT_MAX : (float)best;
	else
		ref_set_i(j->y, oi, best_i < 0 ? 0 : (int64_t)best);
	if (j->idx)
		((int64_t *)j->idx->data)[oi] = best_i;
}

void ref_pool_nchw(const struct ref_pool *p, const struct npuc_value *x, struct npuc_value *y,
		   struct npuc_value *idx)
{
	const struct ref_geom *g = &p->g;
	const struct pool_job jb = { .p = p, .g = g, .x = x, .y = y, .idx = idx }, *j = &jb;
	int64_t planes = x->dims[0] * x->dims[1];

	for (int64_t pl = 0; pl < planes; pl++) {
		int64_t oi = 0, o[3];

		for (o[0] = 0; o[0] < g->out[0]; o[0]++)
			for (o[1] = 0; o[1] < g->out[1]; o[1]++)
				for (o[2] = 0; o[2] < g->out[2]; o[2]++)
					pool_point(j, pl, o, oi++);
	}
}

static int pool(struct ref_ctx *c, int avg)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t dims[NPUC_MAX_RANK];
	struct ref_pool p = { .avg = avg };
	struct npuc_value *y, *idx = NULL;
	int rank;

	if (!x)
		return -1;
	if (x->dtype != NPUC_DT_F32 &&
	    (avg || (x->dtype != NPUC_DT_U8 && x->dtype != NPUC_DT_I8)))
		return ref_unsupported(c, "input type %s", npuc_dtype_name(x->dtype));
	if (ref_window_geom(c, x, NULL, npuc_attr_int(c->n, "ceil_mode", 0) != 0, &p.g) ||
	    ref_check_work(c, (double)x->dims[0] * (double)x->dims[1] *
				   (double)ref_geom_osz(&p.g) * (double)ref_geom_ksz(&p.g)))
		return -1;
	p.count_pad = npuc_attr_int(c->n, "count_include_pad", 0) != 0;
	p.storage_col = npuc_attr_int(c->n, "storage_order", 0) != 0;
	if (p.storage_col && p.g.nsp != 2)
		return ref_fail(c, "storage_order=1 needs 2-D pooling");
	rank = ref_geom_dims(&p.g, x->dims[0], x->dims[1], dims);
	y = ref_out(c, 0, x->dtype, rank, dims);
	if (!y)
		return -1;
	if (!avg && ref_has_out(c, 1)) {
		idx = ref_out(c, 1, NPUC_DT_I64, rank, dims);
		if (!idx)
			return -1;
	}
	ref_pool_nchw(&p, x, y, idx);
	return 0;
}

int ref_op_maxpool(struct ref_ctx *c) { return pool(c, 0); }
int ref_op_avgpool(struct ref_ctx *c) { return pool(c, 1); }

void ref_global_pool_f32(int avg, int64_t planes, int64_t size, const float *x, float *y)
{
	for (int64_t p = 0; p < planes; p++) {
		double acc = avg ? 0 : -INFINITY;

		for (int64_t i = 0; i < size; i++) {
			float v = x[p * size + i];

			if (avg)
				acc += v;
			else if (v > acc || isnan(v))
				acc = v;
		}
		y[p] = avg ? (size ? (float)(acc / (double)size) : 0.0f) : (float)acc;
	}
}

static int global_pool(struct ref_ctx *c, int avg)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_F32);
	int64_t dims[NPUC_MAX_RANK], planes;
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank < 3)
		return ref_fail(c, "input rank %d < 3", x->rank);
	dims[0] = x->dims[0];
	dims[1] = x->dims[1];
	for (int i = 2; i < x->rank; i++)
		dims[i] = 1;
	y = ref_out(c, 0, NPUC_DT_F32, x->rank, dims);
	if (!y)
		return -1;
	planes = x->dims[0] * x->dims[1];
	ref_global_pool_f32(avg, planes, planes ? x->numel / planes : 0, x->data, y->data);
	return 0;
}

int ref_op_global_max(struct ref_ctx *c) { return global_pool(c, 0); }
int ref_op_global_avg(struct ref_ctx *c) { return global_pool(c, 1); }
