// SPDX-License-Identifier: MIT
/*
 * Shape and type inference (see shape_infer.h for what is covered).
 *
 * Each handler computes its outputs' dtype and shape from the inputs and
 * attributes, then merges them into the output tensors with
 * npuc_tensor_refine(), which fails if value_info said otherwise. Every
 * attribute and constant value is untrusted: ranges are checked before any
 * arithmetic, and dims are capped at NPUC_SHAPE_DIM_MAX so products of two
 * dims cannot overflow.
 */
#include "shape_infer.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "onnx_ops.h"
#include "tensor_pb.h"

#define UNK		NPUC_DIM_UNKNOWN
#define ATTR_MAX	(INT64_C(1) << 31)	/* kernel / stride / pad / dilation cap */

struct si {
	struct npuc_graph *g;
	const struct npuc_node *n;
	struct npuc_diag *d;
};

struct shp {
	enum npuc_dtype dt;
	int rank;			/* -1: unknown */
	int64_t dims[NPUC_MAX_RANK];
};

__attribute__((format(printf, 2, 3)))
static int fail(struct si *s, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	npuc_diag_set(s->d, "node '%.160s' (%.64s): %s", s->n->name, s->n->op, buf);
	return -1;
}

static const struct npuc_tensor *inp(const struct si *s, int i)
{
	if (i < 0 || i >= s->n->n_in || s->n->in[i] < 0)
		return NULL;
	return &s->g->t[s->n->in[i]];
}

static struct shp shp_of(const struct npuc_tensor *t)
{
	struct shp o = { .dt = NPUC_DT_UNDEF, .rank = -1 };

	if (!t)
		return o;
	o.dt = t->dtype;
	o.rank = t->rank;
	for (int i = 0; i < NPUC_MAX_RANK; i++)
		o.dims[i] = i < t->rank ? t->dims[i] : UNK;
	return o;
}

static struct shp shp_unknown(enum npuc_dtype dt)
{
	struct shp o = { .dt = dt, .rank = -1 };

	return o;
}

static int is_float(enum npuc_dtype dt)
{
	return dt == NPUC_DT_F32 || dt == NPUC_DT_F16 || dt == NPUC_DT_F64;
}

/* Float constants are stored as F32 whatever their ONNX type: treat floats alike. */
static int dt_compatible(enum npuc_dtype a, enum npuc_dtype b)
{
	return a == b || a == NPUC_DT_UNDEF || b == NPUC_DT_UNDEF || (is_float(a) && is_float(b));
}

static int set_out(struct si *s, int i, const struct shp *o)
{
	char what[320];
	enum npuc_dtype dt = o->dt;
	const struct npuc_tensor *t;

	if (i >= s->n->n_out || s->n->out[i] < 0)
		return 0;
	t = &s->g->t[s->n->out[i]];
	if (is_float(dt) && is_float(t->dtype))
		dt = NPUC_DT_UNDEF;	/* keep the declared float width */
	snprintf(what, sizeof(what), "node '%.160s' (%.64s): inferred output %d", s->n->name,
		 s->n->op, i);
	return npuc_tensor_refine(s->g, s->n->out[i], dt, o->rank, o->dims, what, s->d);
}

/*
 * Normalizes axis in [-rank, rank) into [0, rank); with incl, axis may also
 * be rank (a split point, as Flatten's). -1 if out of range.
 */
static int norm_axis(int64_t axis, int rank, int incl)
{
	if (axis < -rank || axis >= rank + (incl ? 1 : 0))
		return -1;
	return (int)(axis < 0 ? axis + rank : axis);
}

/* Values of an INTS attribute: count, -1 if absent, -2 if more than max. */
static int attr_ints(const struct npuc_node *n, const char *name, int64_t *v, int max)
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	if (!a || a->type != NPUC_ATTR_INTS)
		return -1;
	if (a->n > max)
		return -2;
	for (int i = 0; i < a->n; i++)
		v[i] = a->ints[i];
	return a->n;
}

/* Values of a constant integer tensor of rank <= 1: count, -1 if not, -2 if > max. */
static int const_ints(const struct npuc_tensor *t, int64_t *v, int max)
{
	int64_t n;

	if (!t || !(t->flags & NPUC_T_CONST) || !t->data || t->rank > 1)
		return -1;
	if (t->dtype != NPUC_DT_I64 && t->dtype != NPUC_DT_I32)
		return -1;
	n = npuc_tensor_numel(t);
	if (n < 0 || (size_t)n * npuc_dtype_size(t->dtype) > t->nbytes)
		return -1;
	if (n > max)
		return -2;
	for (int64_t i = 0; i < n; i++) {
		if (t->dtype == NPUC_DT_I64) {
			memcpy(&v[i], (const uint8_t *)t->data + 8 * i, 8);
		} else {
			int32_t x;

			memcpy(&x, (const uint8_t *)t->data + 4 * i, 4);
			v[i] = x;
		}
	}
	return (int)n;
}

/* Product of dims [from, to): UNK if any is unknown; -2 (failure) if too large. */
static int64_t dims_prod(const struct shp *x, int from, int to)
{
	int64_t p = 1;

	for (int i = from; i < to; i++) {
		if (x->dims[i] < 0)
			return UNK;
		if (__builtin_mul_overflow(p, x->dims[i], &p) || p > NPUC_SHAPE_DIM_MAX)
			return -2;
	}
	return p;
}

/* ---- elementwise ---- */

static int h_same(struct si *s)
{
	struct shp o = shp_of(inp(s, 0));

	return set_out(s, 0, &o);
}

static int h_softmax(struct si *s)
{
	struct shp o = shp_of(inp(s, 0));
	int64_t def = s->g->opset >= 13 ? -1 : 1;

	/* Before opset 13 axis is where the input is coerced to 2-D: 0..rank. */
	if (o.rank >= 0 && norm_axis(npuc_attr_int(s->n, "axis", def), o.rank,
				     s->g->opset < 13) < 0)
		return fail(s, "axis %lld out of range for rank %d",
			    (long long)npuc_attr_int(s->n, "axis", def), o.rank);
	return set_out(s, 0, &o);
}

static int h_dropout(struct si *s)
{
	struct shp o = shp_of(inp(s, 0));

	if (set_out(s, 0, &o) < 0)
		return -1;
	o.dt = NPUC_DT_BOOL;
	return set_out(s, 1, &o);
}

static int h_cast(struct si *s)
{
	struct shp o = shp_of(inp(s, 0));
	int64_t to = npuc_attr_int(s->n, "to", 0);

	o.dt = to > 0 && to < 64 ? npuc_onnx_value_dtype((int32_t)to) : NPUC_DT_UNDEF;
	return set_out(s, 0, &o);
}

static int bcast(struct si *s, const struct shp *a, const struct shp *b, struct shp *o)
{
	int r = a->rank > b->rank ? a->rank : b->rank;

	o->rank = r;
	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;

		if (da == db || db == 1)
			o->dims[i] = da;
		else if (da == 1)
			o->dims[i] = db;
		else if (da < 0 || db < 0)
			o->dims[i] = da < 0 ? db : da;
		else
			return fail(s, "cannot broadcast dimension %lld with %lld (axis %d of the "
				    "result)", (long long)da, (long long)db, i);
	}
	return 0;
}

/* dtype of a multi-input op: the first non-constant input's, else the first known. */
static enum npuc_dtype pick_dtype(struct si *s, int from, int to)
{
	enum npuc_dtype dt = NPUC_DT_UNDEF;

	for (int i = from; i < to; i++) {
		const struct npuc_tensor *t = inp(s, i);

		if (!t || t->dtype == NPUC_DT_UNDEF)
			continue;
		if (!(t->flags & NPUC_T_CONST))
			return t->dtype;
		if (dt == NPUC_DT_UNDEF)
			dt = t->dtype;
	}
	return dt;
}

/* Numpy-broadcasting ops over all inputs; out_dt UNDEF: the inputs' type. */
static int bcast_all(struct si *s, enum npuc_dtype out_dt)
{
	struct shp o = shp_of(inp(s, 0));

	for (int i = 1; i < s->n->n_in; i++) {
		const struct npuc_tensor *t = inp(s, i);
		struct shp b = shp_of(t), r;

		if (!t)
			continue;
		if (!dt_compatible(o.dt, b.dt) && strcmp(s->n->op, "Pow"))
			return fail(s, "input types %s and %s differ", npuc_dtype_name(o.dt),
				    npuc_dtype_name(b.dt));
		if (o.rank < 0 || b.rank < 0) {
			o.rank = -1;
			continue;
		}
		if (bcast(s, &o, &b, &r) < 0)
			return -1;
		memcpy(o.dims, r.dims, sizeof(o.dims));
		o.rank = r.rank;
	}
	o.dt = out_dt != NPUC_DT_UNDEF ? out_dt :
		(strcmp(s->n->op, "Pow") ? pick_dtype(s, 0, s->n->n_in) : o.dt);
	return set_out(s, 0, &o);
}

/* Before opset 7, B broadcast to A's shape (broadcast=1) or equalled it. */
static int legacy_bcast(struct si *s, enum npuc_dtype out_dt)
{
	struct shp a = shp_of(inp(s, 0)), b = shp_of(inp(s, 1));

	if (!npuc_attr_int(s->n, "broadcast", 0) && a.rank >= 0 && b.rank >= 0 &&
	    s->n->n_in == 2) {
		struct shp r;

		if (bcast(s, &a, &b, &r) < 0)
			return -1;
		if (r.rank != a.rank)
			return fail(s, "input shapes differ and broadcast is not set");
	}
	a.dt = out_dt != NPUC_DT_UNDEF ? out_dt : pick_dtype(s, 0, 2);
	return set_out(s, 0, &a);
}

static int h_bcast(struct si *s)
{
	if (s->g->opset < 7)
		return legacy_bcast(s, NPUC_DT_UNDEF);
	return bcast_all(s, NPUC_DT_UNDEF);
}

static int h_compare(struct si *s)
{
	if (s->g->opset < 7)
		return legacy_bcast(s, NPUC_DT_BOOL);
	return bcast_all(s, NPUC_DT_BOOL);
}

/* ---- convolution and pooling windows ---- */

struct window {
	int nsp;
	int ceil_mode;
	int same, valid;
	int64_t k[NPUC_MAX_RANK], st[NPUC_MAX_RANK], dil[NPUC_MAX_RANK];
	int64_t pads[2 * NPUC_MAX_RANK];
};

/* An INTS attribute of exactly n values in [lo, ATTR_MAX], or def everywhere. */
static int win_ints(struct si *s, const char *name, int n, int64_t lo, int64_t def, int64_t *v)
{
	int c = attr_ints(s->n, name, v, 2 * NPUC_MAX_RANK);

	if (c == -1) {
		for (int i = 0; i < n; i++)
			v[i] = def;
		return 0;
	}
	if (c != n)
		return fail(s, "attribute %s has %d values, expected %d", name, c, n);
	for (int i = 0; i < n; i++)
		if (v[i] < lo || v[i] > ATTR_MAX)
			return fail(s, "attribute %s value %lld is out of range", name,
				    (long long)v[i]);
	return 0;
}

static int win_autopad(struct si *s, struct window *w)
{
	const char *ap = npuc_attr_string(s->n, "auto_pad", "NOTSET");

	w->same = !strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER");
	w->valid = !strcmp(ap, "VALID");
	if (!w->same && !w->valid && strcmp(ap, "NOTSET") && ap[0])
		return fail(s, "unknown auto_pad '%.32s'", ap);
	return 0;
}

/*
 * kernel: kernel_shape, else the weights' spatial dims wk (may hold UNK);
 * pools (is_pool) require kernel_shape.
 */
static int win_attrs(struct si *s, int nsp, const int64_t *wk, int is_pool, struct window *w)
{
	int64_t cm = npuc_attr_int(s->n, "ceil_mode", 0);

	w->nsp = nsp;
	if (npuc_node_attr(s->n, "kernel_shape")) {
		if (win_ints(s, "kernel_shape", nsp, 1, 1, w->k) < 0)
			return -1;
		for (int i = 0; wk && i < nsp; i++)
			if (wk[i] >= 0 && wk[i] != w->k[i])
				return fail(s, "kernel_shape %lld disagrees with weight dim %lld",
					    (long long)w->k[i], (long long)wk[i]);
	} else if (!is_pool) {
		for (int i = 0; i < nsp; i++) {
			w->k[i] = wk ? wk[i] : UNK;
			if (w->k[i] == 0 || w->k[i] > ATTR_MAX)
				return fail(s, "weight kernel dim %lld out of range",
					    (long long)w->k[i]);
		}
	} else {
		return fail(s, "attribute kernel_shape is required");
	}
	if (cm != 0 && cm != 1)
		return fail(s, "ceil_mode must be 0 or 1");
	w->ceil_mode = (int)cm;
	if (win_ints(s, "strides", nsp, 1, 1, w->st) < 0 ||
	    win_ints(s, "dilations", nsp, 1, 1, w->dil) < 0 ||
	    win_ints(s, "pads", 2 * nsp, 0, 0, w->pads) < 0)
		return -1;
	return win_autopad(s, w);
}

static int win_out(struct si *s, const struct window *w, int i, int64_t in, int64_t *out)
{
	int64_t eff, span, pb = w->valid ? 0 : w->pads[i], pe = w->valid ? 0 : w->pads[w->nsp + i];
	int64_t st = w->st[i], o;

	*out = UNK;
	if (in < 0 || w->k[i] < 0)
		return 0;
	if (w->same) {
		*out = (in + st - 1) / st;
		return 0;
	}
	eff = w->dil[i] * (w->k[i] - 1) + 1;
	span = in + pb + pe - eff;
	if (span < 0)
		return fail(s, "kernel %lld (dilated: %lld) exceeds the padded input %lld on "
			    "spatial axis %d", (long long)w->k[i], (long long)eff,
			    (long long)(in + pb + pe), i);
	if (w->ceil_mode) {
		o = (span + st - 1) / st + 1;
		/* A last window starting inside the end padding is dropped. */
		if ((o - 1) * st >= in + pb)
			o--;
	} else {
		o = span / st + 1;
	}
	*out = o;
	return 0;
}

static int win_apply(struct si *s, const struct window *w, const struct shp *x, struct shp *o)
{
	for (int i = 0; i < w->nsp; i++)
		if (win_out(s, w, i, x->rank >= 0 ? x->dims[2 + i] : UNK, &o->dims[2 + i]) < 0)
			return -1;
	return 0;
}

static int conv_check_bias(struct si *s, int bi, int64_t m)
{
	const struct npuc_tensor *b = inp(s, bi);

	if (!b || b->rank < 0)
		return 0;
	if (b->rank != 1 || (m >= 0 && b->dims[0] >= 0 && b->dims[0] != m))
		return fail(s, "bias must have shape [%lld]", (long long)m);
	return 0;
}

static int conv_channels(struct si *s, const struct shp *x, const struct shp *w, int64_t group)
{
	int64_t c = x->rank >= 0 ? x->dims[1] : UNK, wc = w->rank >= 0 ? w->dims[1] : UNK;
	int64_t m = w->rank >= 0 ? w->dims[0] : UNK;

	if (c >= 0 && wc >= 0 && (c % group || c / group != wc))
		return fail(s, "input has %lld channels, weights expect %lld per group x "
			    "group %lld", (long long)c, (long long)wc, (long long)group);
	if (m >= 0 && m % group)
		return fail(s, "%lld output channels not divisible by group %lld", (long long)m,
			    (long long)group);
	return 0;
}

static int conv_like(struct si *s, int xi, int wi, int bi, enum npuc_dtype dt)
{
	struct shp x = shp_of(inp(s, xi)), w = shp_of(inp(s, wi)), o = shp_unknown(dt);
	int rank = x.rank >= 0 ? x.rank : w.rank;
	int64_t group = npuc_attr_int(s->n, "group", 1);
	struct window win;

	if (x.rank >= 0 && w.rank >= 0 && x.rank != w.rank)
		return fail(s, "input rank %d and weight rank %d differ", x.rank, w.rank);
	if (rank < 0)
		return set_out(s, 0, &o);
	if (rank < 3)
		return fail(s, "input and weights need rank >= 3, not %d", rank);
	if (group < 1 || group > ATTR_MAX)
		return fail(s, "group %lld out of range", (long long)group);
	if (win_attrs(s, rank - 2, w.rank >= 0 ? &w.dims[2] : NULL, 0, &win) < 0 ||
	    conv_channels(s, &x, &w, group) < 0 ||
	    conv_check_bias(s, bi, w.rank >= 0 ? w.dims[0] : UNK) < 0)
		return -1;
	o.rank = rank;
	o.dims[0] = x.rank >= 0 ? x.dims[0] : UNK;
	o.dims[1] = w.rank >= 0 ? w.dims[0] : UNK;
	if (win_apply(s, &win, &x, &o) < 0)
		return -1;
	return set_out(s, 0, &o);
}

static enum npuc_dtype in_dtype(struct si *s, int i)
{
	const struct npuc_tensor *t = inp(s, i);

	return t ? t->dtype : NPUC_DT_UNDEF;
}

static int h_conv(struct si *s)
{
	return conv_like(s, 0, 1, 2, in_dtype(s, 0));
}

static int h_convinteger(struct si *s)
{
	return conv_like(s, 0, 1, -1, NPUC_DT_I32);
}

/* QLinear*: output type is y_zero_point's (input 7), else the input's. */
static enum npuc_dtype qlinear_dtype(struct si *s)
{
	enum npuc_dtype dt = in_dtype(s, 7);

	return dt != NPUC_DT_UNDEF ? dt : in_dtype(s, 0);
}

static int h_qlinearconv(struct si *s)
{
	return conv_like(s, 0, 3, 8, qlinear_dtype(s));
}

static int h_pool(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	struct window win;

	if (x.rank < 0)
		return set_out(s, 0, &o);
	if (x.rank < 3)
		return fail(s, "input needs rank >= 3, not %d", x.rank);
	if (win_attrs(s, x.rank - 2, NULL, 1, &win) < 0)
		return -1;
	o.rank = x.rank;
	o.dims[0] = x.dims[0];
	o.dims[1] = x.dims[1];
	if (win_apply(s, &win, &x, &o) < 0 || set_out(s, 0, &o) < 0)
		return -1;
	o.dt = NPUC_DT_I64;	/* MaxPool's optional Indices */
	return set_out(s, 1, &o);
}

static int h_global_pool(struct si *s)
{
	struct shp o = shp_of(inp(s, 0));

	if (o.rank >= 0 && o.rank < 3)
		return fail(s, "input needs rank >= 3, not %d", o.rank);
	for (int i = 2; i < o.rank; i++)
		o.dims[i] = 1;
	return set_out(s, 0, &o);
}

/* ---- matrix products ---- */

/* K of a (last dim) against K of b (second to last) after 1-D promotion. */
static int matmul_core(struct si *s, struct shp a, struct shp b, struct shp *o)
{
	int a1 = a.rank == 1, b1 = b.rank == 1, nb;
	struct shp ba = a, bb = b, bo;

	if (a1) {
		a.dims[1] = a.dims[0];
		a.dims[0] = 1;
		a.rank = 2;
	}
	if (b1) {
		b.dims[1] = 1;
		b.rank = 2;
	}
	if (a.dims[a.rank - 1] >= 0 && b.dims[b.rank - 2] >= 0 &&
	    a.dims[a.rank - 1] != b.dims[b.rank - 2])
		return fail(s, "inner dimensions differ (%lld vs %lld)",
			    (long long)a.dims[a.rank - 1], (long long)b.dims[b.rank - 2]);
	ba.rank = a.rank - 2;
	bb.rank = b.rank - 2;
	memcpy(ba.dims, a.dims, sizeof(ba.dims));
	memcpy(bb.dims, b.dims, sizeof(bb.dims));
	if (bcast(s, &ba, &bb, &bo) < 0)
		return -1;
	nb = bo.rank;
	memcpy(o->dims, bo.dims, sizeof(o->dims));
	if (!a1)
		o->dims[nb++] = a.dims[a.rank - 2];
	if (!b1)
		o->dims[nb++] = b.dims[b.rank - 1];
	o->rank = nb;
	return 0;
}

static int matmul_like(struct si *s, int ai, int bi, enum npuc_dtype dt)
{
	struct shp a = shp_of(inp(s, ai)), b = shp_of(inp(s, bi)), o = shp_unknown(dt);

	if (a.rank == 0 || b.rank == 0)
		return fail(s, "operands must not be scalars");
	if (a.rank > 0 && b.rank > 0 && matmul_core(s, a, b, &o) < 0)
		return -1;
	return set_out(s, 0, &o);
}

static int h_matmul(struct si *s)
{
	return matmul_like(s, 0, 1, pick_dtype(s, 0, 2));
}

static int h_matmulinteger(struct si *s)
{
	return matmul_like(s, 0, 1, NPUC_DT_I32);
}

static int h_qlinearmatmul(struct si *s)
{
	return matmul_like(s, 0, 3, qlinear_dtype(s));
}

static int h_gemm(struct si *s)
{
	struct shp a = shp_of(inp(s, 0)), b = shp_of(inp(s, 1)), c = shp_of(inp(s, 2));
	struct shp o = shp_unknown(pick_dtype(s, 0, 2)), r;
	int ta = npuc_attr_int(s->n, "transA", 0) != 0, tb = npuc_attr_int(s->n, "transB", 0) != 0;
	int64_t m = UNK, ka = UNK, kb = UNK, n = UNK;

	if ((a.rank >= 0 && a.rank != 2) || (b.rank >= 0 && b.rank != 2))
		return fail(s, "A and B must be matrices (ranks %d, %d)", a.rank, b.rank);
	if (a.rank == 2) {
		m = a.dims[ta];
		ka = a.dims[!ta];
	}
	if (b.rank == 2) {
		kb = b.dims[tb];
		n = b.dims[!tb];
	}
	if (ka >= 0 && kb >= 0 && ka != kb)
		return fail(s, "inner dimensions differ (%lld vs %lld)", (long long)ka,
			    (long long)kb);
	o.rank = 2;
	o.dims[0] = m;
	o.dims[1] = n;
	/* C broadcasts unidirectionally to [M, N]. */
	if (c.rank > 2)
		return fail(s, "C has rank %d", c.rank);
	if (c.rank >= 0 && bcast(s, &o, &c, &r) < 0)
		return -1;
	for (int i = 0; c.rank >= 0 && i < 2; i++)
		if (o.dims[i] >= 0 && r.dims[i] != o.dims[i])
			return fail(s, "C does not broadcast to [%lld, %lld]", (long long)m,
				    (long long)n);
	return set_out(s, 0, &o);
}

/* ---- normalization / quantization ---- */

static int h_batchnorm(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), v = shp_unknown(x.dt);
	int64_t c = x.rank >= 2 ? x.dims[1] : UNK;

	if (x.rank >= 0 && x.rank < 2)
		return fail(s, "input needs rank >= 2, not %d", x.rank);
	for (int i = 1; i <= 4; i++) {
		const struct npuc_tensor *t = inp(s, i);

		if (!t || t->rank < 0)
			continue;
		if (t->rank != 1 || (c >= 0 && t->dims[0] >= 0 && t->dims[0] != c))
			return fail(s, "input %d ('%.100s') must have shape [%lld]", i, t->name,
				    (long long)c);
		if (c < 0)
			c = t->dims[0];
	}
	if (set_out(s, 0, &x) < 0)
		return -1;
	v.rank = 1;
	v.dims[0] = c;
	for (int i = 1; i < 5; i++)
		if (set_out(s, i, &v) < 0)
			return -1;
	return 0;
}

/* Scale / zero point: scalar (per tensor) or 1-D along axis (per axis). */
static int quant_params(struct si *s, const struct shp *x)
{
	int64_t axis = npuc_attr_int(s->n, "axis", 1);

	for (int i = 1; i <= 2; i++) {
		const struct npuc_tensor *t = inp(s, i);
		int ax;

		if (!t || t->rank <= 0 || (t->rank == 1 && t->dims[0] == 1))
			continue;
		if (t->rank > 1)
			return fail(s, "'%.100s' must be a scalar or 1-D", t->name);
		if (x->rank < 0)
			continue;
		ax = norm_axis(axis, x->rank, 0);
		if (ax < 0)
			return fail(s, "axis %lld out of range for rank %d", (long long)axis,
				    x->rank);
		if (t->dims[0] >= 0 && x->dims[ax] >= 0 && t->dims[0] != x->dims[ax])
			return fail(s, "'%.100s' has %lld values, axis %d has %lld", t->name,
				    (long long)t->dims[0], ax, (long long)x->dims[ax]);
	}
	return 0;
}

static int h_quantize(struct si *s)
{
	struct shp x = shp_of(inp(s, 0));
	const struct npuc_tensor *zp = inp(s, 2);

	if (quant_params(s, &x) < 0)
		return -1;
	x.dt = zp ? zp->dtype : NPUC_DT_U8;	/* zero point of unknown type: unknown */
	return set_out(s, 0, &x);
}

static int h_dequantize(struct si *s)
{
	struct shp x = shp_of(inp(s, 0));

	if (quant_params(s, &x) < 0)
		return -1;
	x.dt = NPUC_DT_F32;
	return set_out(s, 0, &x);
}

/* ---- shape manipulation ---- */

static int h_flatten(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	int64_t axis = npuc_attr_int(s->n, "axis", 1);
	int ax;

	o.rank = 2;
	o.dims[0] = o.dims[1] = UNK;
	if (x.rank >= 0) {
		ax = norm_axis(axis, x.rank, 1);
		if (ax < 0)
			return fail(s, "axis %lld out of range for rank %d", (long long)axis,
				    x.rank);
		o.dims[0] = dims_prod(&x, 0, ax);
		o.dims[1] = dims_prod(&x, ax, x.rank);
		if (o.dims[0] == -2 || o.dims[1] == -2)
			return fail(s, "element count too large");
	}
	return set_out(s, 0, &o);
}

/* Resolves the -1 of a reshape target once the other dims and numel are known. */
static int reshape_fill(struct si *s, const struct shp *x, struct shp *o, int neg)
{
	int64_t in = x->rank >= 0 ? dims_prod(x, 0, x->rank) : UNK;
	int64_t rest = dims_prod(o, 0, o->rank);

	if (in == -2)
		return fail(s, "element count too large");
	if (neg >= 0) {
		o->dims[neg] = 1;
		rest = dims_prod(o, 0, o->rank);
		o->dims[neg] = UNK;
		if (in < 0 || rest < 0)
			return 0;
		if (rest == 0 || in % rest)
			return fail(s, "cannot reshape %lld elements with the -1 dimension",
				    (long long)in);
		o->dims[neg] = in / rest;
		return 0;
	}
	if (in >= 0 && rest >= 0 && in != rest)
		return fail(s, "cannot reshape %lld elements into %lld", (long long)in,
			    (long long)rest);
	if (rest == -2)
		return fail(s, "target shape too large");
	return 0;
}

static int h_reshape(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	const struct npuc_tensor *st = inp(s, 1);
	int allowzero = npuc_attr_int(s->n, "allowzero", 0) != 0, neg = -1;
	int64_t v[NPUC_MAX_RANK];
	int n = s->g->opset < 5 ? attr_ints(s->n, "shape", v, NPUC_MAX_RANK) :
		const_ints(st, v, NPUC_MAX_RANK);

	if (n == -2)
		return fail(s, "target shape has more than %d dims", NPUC_MAX_RANK);
	if (n < 0) {	/* not constant: at most the rank is known */
		if (st && st->rank == 1 && st->dims[0] >= 0 && st->dims[0] <= NPUC_MAX_RANK)
			o.rank = (int)st->dims[0];
		for (int i = 0; i < o.rank; i++)
			o.dims[i] = UNK;
		return set_out(s, 0, &o);
	}
	o.rank = n;
	for (int i = 0; i < n; i++) {
		if (v[i] == 0 && !allowzero) {
			if (x.rank >= 0 && i >= x.rank)
				return fail(s, "shape entry %d is 0 but the input has rank %d", i,
					    x.rank);
			o.dims[i] = x.rank >= 0 ? x.dims[i] : UNK;
		} else if (v[i] == -1) {
			if (neg >= 0)
				return fail(s, "more than one -1 in the target shape");
			neg = i;
			o.dims[i] = UNK;
		} else if (v[i] < 0 || v[i] > NPUC_SHAPE_DIM_MAX) {
			return fail(s, "invalid target dimension %lld", (long long)v[i]);
		} else {
			o.dims[i] = v[i];
		}
	}
	if (reshape_fill(s, &x, &o, neg) < 0)
		return -1;
	return set_out(s, 0, &o);
}

static int h_transpose(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	int64_t perm[NPUC_MAX_RANK];
	int n = attr_ints(s->n, "perm", perm, NPUC_MAX_RANK), seen = 0;

	if (x.rank < 0)
		return set_out(s, 0, &o);
	if (n == -1) {
		for (int i = 0; i < x.rank; i++)
			perm[i] = x.rank - 1 - i;
		n = x.rank;
	}
	if (n != x.rank)
		return fail(s, "perm has %d entries for rank %d", n, x.rank);
	for (int i = 0; i < n; i++) {
		if (perm[i] < 0 || perm[i] >= n || (seen & (1 << perm[i])))
			return fail(s, "perm is not a permutation of 0..%d", n - 1);
		seen |= 1 << perm[i];
		o.dims[i] = x.dims[perm[i]];
	}
	o.rank = n;
	return set_out(s, 0, &o);
}

static int concat_merge(struct si *s, struct shp *o, const struct shp *t, int ax, int first)
{
	if (first) {
		*o = *t;
		return 0;
	}
	if (t->rank != o->rank)
		return fail(s, "inputs have ranks %d and %d", o->rank, t->rank);
	for (int d = 0; d < o->rank; d++) {
		if (d == ax) {
			o->dims[d] = o->dims[d] >= 0 && t->dims[d] >= 0 ?
				o->dims[d] + t->dims[d] : UNK;
			if (o->dims[d] > NPUC_SHAPE_DIM_MAX)
				return fail(s, "concatenated dimension too large");
		} else if (o->dims[d] < 0) {
			o->dims[d] = t->dims[d];
		} else if (t->dims[d] >= 0 && t->dims[d] != o->dims[d]) {
			return fail(s, "inputs differ on axis %d (%lld vs %lld)", d,
				    (long long)o->dims[d], (long long)t->dims[d]);
		}
	}
	return 0;
}

static int h_concat(struct si *s)
{
	struct shp o = shp_unknown(pick_dtype(s, 0, s->n->n_in));
	int64_t axis = npuc_attr_int(s->n, "axis", s->g->opset < 4 ? 1 : INT64_MIN);
	int ax = -1, first = 1, unknown = 0;

	if (axis == INT64_MIN)
		return fail(s, "attribute axis is required");
	for (int i = 0; i < s->n->n_in; i++) {
		const struct npuc_tensor *t = inp(s, i);
		struct shp ts = shp_of(t);

		if (!t)
			continue;
		if (!dt_compatible(o.dt, ts.dt))
			return fail(s, "input types %s and %s differ", npuc_dtype_name(o.dt),
				    npuc_dtype_name(ts.dt));
		if (ts.rank < 0) {
			unknown = 1;
			continue;
		}
		ax = norm_axis(axis, ts.rank, 0);
		if (ax < 0)
			return fail(s, "axis %lld out of range for rank %d", (long long)axis,
				    ts.rank);
		ts.dt = o.dt;
		if (concat_merge(s, &o, &ts, ax, first) < 0)
			return -1;
		first = 0;
	}
	if (unknown && o.rank >= 0)
		o.dims[ax] = UNK;
	return set_out(s, 0, &o);
}

#define AXES_ABSENT	(-3)
#define AXES_UNKNOWN	(-4)

/*
 * Axes from the attribute (opset < 13) or constant input 1: count,
 * AXES_ABSENT, AXES_UNKNOWN (input not constant) or -1 (failed).
 */
static int axes_of(struct si *s, int64_t *v)
{
	int n;

	if (s->g->opset < 13) {
		n = attr_ints(s->n, "axes", v, NPUC_MAX_RANK);
		if (n == -1)
			return AXES_ABSENT;
	} else {
		if (!inp(s, 1))
			return AXES_ABSENT;
		n = const_ints(inp(s, 1), v, NPUC_MAX_RANK);
		if (n == -1)
			return AXES_UNKNOWN;
	}
	if (n == -2)
		return fail(s, "more than %d axes", NPUC_MAX_RANK);
	return n;
}

/* Normalizes axes in place against rank; fails on duplicates / range. */
static int norm_axes(struct si *s, int64_t *v, int n, int rank, unsigned int *mask)
{
	*mask = 0;
	for (int i = 0; i < n; i++) {
		int a = norm_axis(v[i], rank, 0);

		if (a < 0)
			return fail(s, "axis %lld out of range for rank %d", (long long)v[i], rank);
		if (*mask & (1u << a))
			return fail(s, "axis %d repeated", a);
		*mask |= 1u << a;
		v[i] = a;
	}
	return 0;
}

static int h_squeeze(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	int64_t v[NPUC_MAX_RANK];
	int n = axes_of(s, v);
	unsigned int mask = 0;

	if (n == -1)
		return -1;
	if (x.rank < 0 || n == AXES_UNKNOWN)
		return set_out(s, 0, &o);
	if (n == AXES_ABSENT) {
		for (int i = 0; i < x.rank; i++) {
			if (x.dims[i] < 0)
				return set_out(s, 0, &o);	/* which dims go is unknown */
			if (x.dims[i] == 1)
				mask |= 1u << i;
		}
	} else if (norm_axes(s, v, n, x.rank, &mask) < 0) {
		return -1;
	}
	o.rank = 0;
	for (int i = 0; i < x.rank; i++) {
		if (!(mask & (1u << i))) {
			o.dims[o.rank++] = x.dims[i];
			continue;
		}
		if (x.dims[i] >= 0 && x.dims[i] != 1)
			return fail(s, "cannot squeeze axis %d of size %lld", i,
				    (long long)x.dims[i]);
	}
	return set_out(s, 0, &o);
}

static int h_unsqueeze(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	int64_t v[NPUC_MAX_RANK];
	int n = axes_of(s, v), j = 0;
	unsigned int mask;

	if (n == AXES_ABSENT)
		return fail(s, "axes are required");
	if (n == -1)
		return -1;
	if (x.rank < 0 || n == AXES_UNKNOWN)
		return set_out(s, 0, &o);
	if (x.rank + n > NPUC_MAX_RANK)
		return fail(s, "result rank %d exceeds %d", x.rank + n, NPUC_MAX_RANK);
	o.rank = x.rank + n;
	if (norm_axes(s, v, n, o.rank, &mask) < 0)
		return -1;
	for (int i = 0; i < o.rank; i++)
		o.dims[i] = (mask & (1u << i)) ? 1 : x.dims[j++];
	return set_out(s, 0, &o);
}

/* Pads per axis (begins then ends) into pads: 0, 1 if not constant, -1 failed. */
static int pad_amounts(struct si *s, int rank, int64_t *pads)
{
	int64_t axes[NPUC_MAX_RANK];
	int n, na = rank;

	if (s->g->opset < 11)
		n = attr_ints(s->n, s->g->opset < 2 ? "paddings" : "pads", pads,
			      2 * NPUC_MAX_RANK);
	else
		n = const_ints(inp(s, 1), pads, 2 * NPUC_MAX_RANK);
	if (n == -1)
		return s->g->opset < 11 ? fail(s, "attribute pads is required") : 1;
	if (inp(s, 3)) {
		na = const_ints(inp(s, 3), axes, NPUC_MAX_RANK);
		if (na < 0)
			return 1;	/* axes not constant: unknown */
	}
	if (n != 2 * na)
		return fail(s, "pads has %d values, expected %d", n, 2 * na);
	if (inp(s, 3)) {
		int64_t full[2 * NPUC_MAX_RANK] = { 0 };
		unsigned int mask;

		if (norm_axes(s, axes, na, rank, &mask) < 0)
			return -1;
		for (int i = 0; i < na; i++) {
			full[axes[i]] = pads[i];
			full[rank + axes[i]] = pads[na + i];
		}
		memcpy(pads, full, sizeof(full));
	}
	return 0;
}

static int h_pad(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(x.dt);
	int64_t pads[2 * NPUC_MAX_RANK];
	int r;

	if (x.rank < 0)
		return set_out(s, 0, &o);
	r = pad_amounts(s, x.rank, pads);
	if (r < 0)
		return -1;
	o.rank = x.rank;
	for (int i = 0; i < x.rank; i++) {
		int64_t pb = pads[i], pe = pads[x.rank + i];

		o.dims[i] = UNK;
		if (r > 0 || x.dims[i] < 0)
			continue;
		if (pb < -NPUC_SHAPE_DIM_MAX || pb > NPUC_SHAPE_DIM_MAX ||
		    pe < -NPUC_SHAPE_DIM_MAX || pe > NPUC_SHAPE_DIM_MAX)
			return fail(s, "pad amount out of range");
		o.dims[i] = x.dims[i] + pb + pe;
		if (o.dims[i] < 0 || o.dims[i] > NPUC_SHAPE_DIM_MAX)
			return fail(s, "padding axis %d gives size %lld", i, (long long)o.dims[i]);
	}
	return set_out(s, 0, &o);
}

static int h_shape(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), o = shp_unknown(NPUC_DT_I64);
	int64_t st = npuc_attr_int(s->n, "start", 0), en = npuc_attr_int(s->n, "end", INT64_MAX);

	o.rank = 1;
	o.dims[0] = UNK;
	if (x.rank >= 0) {
		st = st < 0 ? (st < -x.rank ? 0 : st + x.rank) : (st > x.rank ? x.rank : st);
		en = en < 0 ? (en < -x.rank ? 0 : en + x.rank) : (en > x.rank ? x.rank : en);
		o.dims[0] = en > st ? en - st : 0;
	}
	return set_out(s, 0, &o);
}

static int h_gather(struct si *s)
{
	struct shp x = shp_of(inp(s, 0)), ix = shp_of(inp(s, 1)), o = shp_unknown(x.dt);
	int64_t axis = npuc_attr_int(s->n, "axis", 0);
	int ax;

	if (x.rank < 0 || ix.rank < 0)
		return set_out(s, 0, &o);
	ax = norm_axis(axis, x.rank, 0);
	if (ax < 0)
		return fail(s, "axis %lld out of range for rank %d", (long long)axis, x.rank);
	if (x.rank - 1 + ix.rank > NPUC_MAX_RANK)
		return fail(s, "result rank exceeds %d", NPUC_MAX_RANK);
	o.rank = 0;
	for (int i = 0; i < ax; i++)
		o.dims[o.rank++] = x.dims[i];
	for (int i = 0; i < ix.rank; i++)
		o.dims[o.rank++] = ix.dims[i];
	for (int i = ax + 1; i < x.rank; i++)
		o.dims[o.rank++] = x.dims[i];
	return set_out(s, 0, &o);
}

/* ---- dispatch ---- */

struct op_info {
	int min_in;		/* required leading inputs */
	int min_in_new;		/* from opset `since` on */
	int since;
	int (*fn)(struct si *s);	/* NULL: outputs stay unknown */
};

#define h_none NULL
static const struct op_info ops[NPUC_OP_COUNT] = {
#define OP(name, dom, ref, shape, min_in, min_in_new, since, ...) \
	[NPUC_OP_##name] = { min_in, min_in_new, since, h_##shape },
#include "onnx_ops.def"
#undef OP
};
#undef h_none

static const struct op_info *op_find(const char *op)
{
	const struct op_info *oi = &ops[npuc_op_find(NULL, op)];

	return oi->fn ? oi : NULL;
}

int npuc_op_min_inputs(const char *op, int64_t opset)
{
	const struct op_info *oi = op ? op_find(op) : NULL;

	if (!oi)
		return -1;
	return opset >= oi->since ? oi->min_in_new : oi->min_in;
}

/* Required inputs present, input dims within NPUC_SHAPE_DIM_MAX. */
static int check_inputs(struct si *s, const struct op_info *oi)
{
	int min = s->g->opset >= oi->since ? oi->min_in_new : oi->min_in;

	for (int i = 0; i < min; i++)
		if (!inp(s, i))
			return fail(s, "required input %d is missing", i);
	for (int i = 0; i < s->n->n_in; i++) {
		const struct npuc_tensor *t = inp(s, i);

		for (int j = 0; t && j < t->rank; j++)
			if (t->dims[j] > NPUC_SHAPE_DIM_MAX)
				return fail(s, "input '%.100s' dimension %lld is too large",
					    t->name, (long long)t->dims[j]);
	}
	return 0;
}

/* A computed tensor over npuc's budget (ir.h) is refused before anything allocates it. */
static int check_budget(struct si *s)
{
	for (int k = 0; k < s->n->n_out; k++) {
		const struct npuc_tensor *t;
		int64_t n;
		size_t es;

		if (s->n->out[k] < 0)
			continue;
		t = &s->g->t[s->n->out[k]];
		n = npuc_tensor_numel(t);
		es = npuc_dtype_size(t->dtype);
		if (n < 0 || !es || (uint64_t)n <= NPUC_MAX_VALUE_BYTES / es)
			continue;
		npuc_diag_set(s->d, "node '%s' (%s): output '%s' would hold %lld elements of %s "
			      "(%llu bytes); npuc computes tensors of at most %llu MiB",
			      s->n->name, s->n->op, t->name, (long long)n,
			      npuc_dtype_name(t->dtype), (unsigned long long)n * es,
			      (unsigned long long)(NPUC_MAX_VALUE_BYTES >> 20));
		return -1;
	}
	return 0;
}

int npuc_shape_infer(struct npuc_graph *g, struct npuc_diag *d)
{
	struct si s = { .g = g, .d = d };

	if (!g) {
		npuc_diag_set(d, "shape inference: no graph");
		return -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const struct op_info *oi;

		s.n = &g->nodes[i];
		if (s.n->domain && s.n->domain[0])
			continue;
		oi = op_find(s.n->op);
		if (!oi)
			continue;	/* unknown op: outputs stay unknown */
		if (check_inputs(&s, oi) < 0 || oi->fn(&s) < 0 || check_budget(&s) < 0)
			return -1;
	}
	return 0;
}
