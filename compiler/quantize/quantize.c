// SPDX-License-Identifier: MIT
/*
 * Post-training quantisation: float graph + activation ranges -> qgraph
 * (quantize.h). One walk over the float nodes in order; each node is
 * either mapped to NPU-level nodes or kept as an NPUQ_CPU node. Every
 * float tensor may have an int8 and a float representation in the qgraph;
 * they are created on demand, with QUANTIZE / DEQUANTIZE nodes between.
 */
#include "quantize.h"

#include <float.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"
#include "passes.h"

#define WHY_LEN		200
/* Reshape-like ops check the byte order element by element up to this size. */
#define PERM_CHECK_MAX	(INT64_C(1) << 24)
/* Largest per-command fields (npu_isa.h): uint8 pads / pool strides, uint16 extents. */
#define PAD_MAX		255
#define POOL_STRIDE_MAX	255
#define EXTENT_MAX	65535

struct lay {
	int h, w, c, nchw;
	int rank;
	int64_t dims[NPUC_MAX_RANK];
};

/* Forced quantisation of a tensor (a Concat input takes the Concat's). */
struct forced {
	int set;
	float scale;
	int32_t zp;
};

/* An NCHW activation flattened for Gemm: its int8 bytes are in HWC order. */
struct hwc {
	int set;
	int64_t c, h, w;
};

struct qz {
	struct npuc_graph *g;
	const struct npuc_act_ranges *r;
	struct npuc_quant_options opt;
	struct npuq_graph *q;
	struct npuc_diag *d;
	int *qi8, *qf;			/* per float tensor: qgraph tensors, -1 none */
	int *uses;
	int *cstart, *cons;		/* consumers (node indices) per tensor, CSR */
	unsigned char *skip;		/* per node: a fused activation already done */
	int *gate;			/* per Mul node: the gate it absorbs (gated_act()), -1 */
	struct forced *forced;
	struct hwc *hwc;
};

static int fail(struct qz *z, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct qz *z, const char *fmt, ...)
{
	char msg[sizeof(z->d->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	npuc_diag_set(z->d, "quantize: %s", msg);
	return -1;
}

/* Sets the fallback reason and returns 1 (the node goes to the CPU). */
static int why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_LEN, fmt, ap);
	va_end(ap);
	return 1;
}

/* ---- ranges and options ---- */

int npuc_act_ranges_init(struct npuc_act_ranges *r, int n, struct npuc_diag *d)
{
	memset(r, 0, sizeof(*r));
	if (n < 0) {
		npuc_diag_set(d, "act ranges: bad count %d", n);
		return -1;
	}
	r->lo = calloc((size_t)n + 1, sizeof(float));
	r->hi = calloc((size_t)n + 1, sizeof(float));
	r->valid = calloc((size_t)n + 1, 1);
	r->nonfinite = calloc((size_t)n + 1, sizeof(*r->nonfinite));
	if (!r->lo || !r->hi || !r->valid || !r->nonfinite) {
		npuc_act_ranges_free(r);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	r->n = n;
	return 0;
}

void npuc_act_ranges_free(struct npuc_act_ranges *r)
{
	free(r->lo);
	free(r->hi);
	free(r->valid);
	free(r->nonfinite);
	memset(r, 0, sizeof(*r));
}

void npuc_act_ranges_merge(struct npuc_act_ranges *r, int t, float lo, float hi)
{
	if (!r || t < 0 || t >= r->n || isnan(lo) || isnan(hi))
		return;
	if (!r->valid[t]) {
		r->lo[t] = lo;
		r->hi[t] = hi;
		r->valid[t] = 1;
		return;
	}
	r->lo[t] = lo < r->lo[t] ? lo : r->lo[t];
	r->hi[t] = hi > r->hi[t] ? hi : r->hi[t];
}

int npuc_act_ranges_observe(void *ctx, const struct npuc_graph *g, int node, int tensor,
			    const struct npuc_value *v)
{
	struct npuc_act_ranges *r = ctx;
	const float *x = v->data;
	float lo = INFINITY, hi = -INFINITY;

	(void)g;
	(void)node;
	if (v->dtype != NPUC_DT_F32 || !x)
		return 0;
	for (int64_t i = 0; i < v->numel; i++) {
		if (!isfinite(x[i]))
			continue;
		lo = x[i] < lo ? x[i] : lo;
		hi = x[i] > hi ? x[i] : hi;
	}
	if (lo <= hi)
		npuc_act_ranges_merge(r, tensor, lo, hi);
	return 0;
}

void npuc_quant_options_default(struct npuc_quant_options *o)
{
	memset(o, 0, sizeof(*o));
	o->per_channel = 1;
}

void npuc_quant_act_params(float lo, float hi, float *scale, int32_t *zp)
{
	double l = lo < 0 ? lo : 0, h = hi > 0 ? hi : 0, s, z;

	if (!(l > -1e30))
		l = -1e30;	/* NaN and -inf too */
	if (!(h < 1e30))
		h = 1e30;
	s = (h - l) / 255.0;
	if (!(s >= NPUC_QUANT_MIN_SCALE))
		s = NPUC_QUANT_MIN_SCALE;
	*scale = (float)s;
	z = round(-128.0 - l / (double)*scale);
	*zp = z < -128 ? -128 : z > 127 ? 127 : (int32_t)z;
}

/* ---- fixed-point encodings that never fail (saturating the extremes) ---- */

static void enc(double real, uint32_t *mult, uint32_t *shift)
{
	if (!(real >= 0))
		real = 0;
	if (npuq_quantize_multiplier(real, mult, shift) < 0) {
		/* >= 2^30: any nonzero input saturates the output anyway */
		*mult = 0x7fffffffu;
		*shift = NPU_SHIFT_MIN;
	}
}

/* POOL: mult / 2^shift with shift <= NPU_POOL_SHIFT_MAX, mult < 2^31. */
static void enc_pool(double real, uint32_t *mult, uint32_t *shift)
{
	int e;
	double m;

	if (!(real > 0)) {
		*mult = 0;
		*shift = 0;
		return;
	}
	m = frexp(real, &e);
	if (31 - e > (int)NPU_POOL_SHIFT_MAX) {
		*mult = (uint32_t)round(ldexp(real, (int)NPU_POOL_SHIFT_MAX));
		*shift = NPU_POOL_SHIFT_MAX;
		return;
	}
	if (31 - e < 0) {
		*mult = 0x7fffffffu;
		*shift = 0;
		return;
	}
	m = round(ldexp(m, 31));
	*shift = (uint32_t)(31 - e);
	if (m >= 2147483648.0) {
		if (*shift == 0) {
			*mult = 0x7fffffffu;
			return;
		}
		m = 1073741824.0;
		(*shift)--;
	}
	*mult = (uint32_t)m;
}

static int8_t clamp8(double v)
{
	if (!(v > -128))
		return -128;
	if (v > 127)
		return 127;
	return (int8_t)v;
}

/* ---- float graph helpers ---- */

static int default_domain(const struct npuc_node *n)
{
	return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static int is_const(const struct qz *z, int t)
{
	return npuc_tensor_is_const(z->g, t);
}

static int is_boundary(const struct qz *z, int t)
{
	for (int i = 0; i < z->g->n_inputs; i++)
		if (z->g->inputs[i] == t)
			return 1;
	return npuc_tensor_is_output(z->g, t);
}

/* Shape with an unknown batch dim read as 1; -1 if unknown / empty / too big. */
static int tlay(const struct qz *z, int t, struct lay *L)
{
	const struct npuc_tensor *x = &z->g->t[t];
	int64_t n = 1, lead = 1;

	memset(L, 0, sizeof(*L));
	if (x->rank < 0 || x->rank > NPUC_MAX_RANK)
		return -1;
	L->rank = x->rank;
	for (int i = 0; i < x->rank; i++) {
		int64_t v = x->dims[i];

		if (v == NPUC_DIM_UNKNOWN && i == 0 && x->rank >= 2)
			v = 1;
		if (v < 1 || v > INT32_MAX)
			return -1;
		n *= v;
		if (n > INT32_MAX)
			return -1;
		L->dims[i] = v;
	}
	if (x->rank == 4 && L->dims[0] == 1) {
		L->nchw = 1;
		L->c = (int)L->dims[1];
		L->h = (int)L->dims[2];
		L->w = (int)L->dims[3];
		return 0;
	}
	L->c = x->rank >= 1 ? (int)L->dims[x->rank - 1] : 1;
	L->w = x->rank >= 2 ? (int)L->dims[x->rank - 2] : 1;
	for (int i = 0; i < x->rank - 2; i++)
		lead *= L->dims[i];
	L->h = (int)lead;
	return 0;
}

static int same_dims(const struct lay *a, const struct lay *b)
{
	if (a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

static int64_t lay_numel(const struct lay *L)
{
	return (int64_t)L->h * L->w * L->c;
}

/* An activation operand: non-constant float32 with a known shape. */
static int act_in(const struct qz *z, int t, struct lay *L)
{
	return t >= 0 && !is_const(z, t) && z->g->t[t].dtype == NPUC_DT_F32 && !tlay(z, t, L);
}

static const float *const_f32(const struct qz *z, int t, int64_t *numel)
{
	const struct npuc_tensor *x;
	int64_t n;

	if (t < 0 || !is_const(z, t))
		return NULL;
	x = &z->g->t[t];
	n = npuc_tensor_numel(x);
	if (x->dtype != NPUC_DT_F32 || n < 0 || x->nbytes != (size_t)n * sizeof(float) ||
	    (n && !x->data))
		return NULL;
	*numel = n;
	return x->data;
}

/* INTS attribute into out[n] (must have exactly n entries if present). 1 ok, 0 bad. */
static int attr_ints(const struct npuc_node *n, const char *name, int64_t *out, int cnt)
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	if (!a)
		return 1;
	if (a->type != NPUC_ATTR_INTS || a->n != cnt)
		return 0;
	for (int i = 0; i < cnt; i++)
		out[i] = a->ints[i];
	return 1;
}

/* ---- qgraph tensors ---- */

static char *qname(const struct qz *z, int t, int is_float)
{
	const char *base = z->g->t[t].name;
	const char *suffix = "";
	size_t len = strlen(base) + 4;
	char *s = malloc(len);

	if (is_boundary(z, t))
		suffix = is_float ? "" : ":q";
	else if ((is_float ? z->qi8[t] : z->qf[t]) >= 0)
		suffix = is_float ? ":f" : ":q";
	if (s)
		snprintf(s, len, "%s%s", base, suffix);
	return s;
}

/* Creates the int8 (or float) qgraph tensor for float tensor t. */
static int mk_tensor(struct qz *z, int t, int is_float, float scale, int32_t zp)
{
	struct lay L;
	char *name;
	int q, known = !tlay(z, t, &L);
	struct npuq_tensor *qt;

	if (!known && !is_float)
		return fail(z, "tensor '%s' has an unknown shape (run shape inference or "
			    "npuc_refine_shapes_by_run)", z->g->t[t].name);
	if (!known) {
		L.h = L.w = L.c = 1;
		L.rank = -1;
	}
	name = qname(z, t, is_float);
	if (!name)
		return fail(z, "out of memory");
	q = npuq_add_tensor(z->q, name, L.h, L.w, L.c, scale, zp, is_float ? NPUQ_T_FLOAT : 0,
			    z->d);
	free(name);
	if (q < 0)
		return -1;
	qt = &z->q->t[q];
	qt->onnx_rank = L.rank;
	for (int i = 0; i < L.rank; i++)
		qt->onnx_dims[i] = L.dims[i];
	qt->nchw = L.nchw;
	/* Integer CPU-side values keep their type (qir.h: npuq_tensor.dtype). */
	if (is_float && (z->g->t[t].dtype == NPUC_DT_I32 || z->g->t[t].dtype == NPUC_DT_I64 ||
			 z->g->t[t].dtype == NPUC_DT_BOOL))
		qt->dtype = z->g->t[t].dtype;
	if (is_float)
		z->qf[t] = q;
	else
		z->qi8[t] = q;
	return q;
}

/* The quantisation of tensor t: forced, else from its range. */
static int act_params(struct qz *z, int t, float *scale, int32_t *zp)
{
	if (z->forced[t].set) {
		*scale = z->forced[t].scale;
		*zp = z->forced[t].zp;
		return 0;
	}
	if (!z->r || t >= z->r->n || !z->r->valid[t]) {
		const struct npuc_tensor *gt = &z->g->t[t];
		const struct npuc_node *p = gt->producer >= 0 ? &z->g->nodes[gt->producer] : NULL;
		int64_t bad = z->r && t < z->r->n && z->r->nonfinite ? z->r->nonfinite[t] : 0;

		if (bad)
			return fail(z, "tensor '%s' (output of %s node '%s'): the float model "
				    "computes only NaN or Inf there on the calibration data "
				    "(%lld values): check the model's weights and the scale of "
				    "the calibration data", gt->name, p ? p->op : "no",
				    p ? p->name : "", (long long)bad);
		return fail(z, "no calibration range for tensor '%s' (output of %s node '%s'): "
			    "calibration saw no value of it", gt->name, p ? p->op : "no",
			    p ? p->name : "");
	}
	npuc_quant_act_params(z->r->lo[t], z->r->hi[t], scale, zp);
	return 0;
}

static int add_node(struct qz *z, enum npuq_op op, const char *name, const int *in, int n_in,
		    const int *out, int n_out, const void *params)
{
	return npuq_add_node(z->q, op, name, in, n_in, out, n_out, params, z->d) < 0 ? -1 : 0;
}

static void q_node_name(const struct qz *z, const char *prefix, int t, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s", prefix, z->g->t[t].name);
}

/* int8 version of tensor t (QUANTIZE from its float version if needed). */
static int get_i8(struct qz *z, int t)
{
	char name[160];
	float s;
	int32_t zp;
	int q;

	if (z->qi8[t] >= 0)
		return z->qi8[t];
	if (z->qf[t] < 0)
		return fail(z, "tensor '%s' is used before it is produced", z->g->t[t].name);
	if (z->g->t[t].dtype != NPUC_DT_F32)
		return fail(z, "tensor '%s' (%s) cannot be quantised", z->g->t[t].name,
			    npuc_dtype_name(z->g->t[t].dtype));
	if (act_params(z, t, &s, &zp) < 0)
		return -1;
	q = mk_tensor(z, t, 0, s, zp);
	if (q < 0)
		return -1;
	q_node_name(z, "quantize:", t, name, sizeof(name));
	if (add_node(z, NPUQ_QUANTIZE, name, &z->qf[t], 1, &q, 1, NULL) < 0)
		return -1;
	return q;
}

/* float version of tensor t (DEQUANTIZE from its int8 version if needed). */
static int get_f(struct qz *z, int t)
{
	char name[160];
	int q;

	if (z->qf[t] >= 0)
		return z->qf[t];
	if (z->qi8[t] < 0)
		return fail(z, "tensor '%s' is used before it is produced", z->g->t[t].name);
	if (z->hwc[t].set)
		return fail(z, "internal: HWC-ordered tensor '%s' needed in float",
			    z->g->t[t].name);
	q = mk_tensor(z, t, 1, 0.0f, 0);
	if (q < 0)
		return -1;
	q_node_name(z, "dequantize:", t, name, sizeof(name));
	if (add_node(z, NPUQ_DEQUANTIZE, name, &z->qi8[t], 1, &q, 1, NULL) < 0)
		return -1;
	return q;
}

/* New int8 output tensor for float tensor t with the given quantisation. */
static int out_i8(struct qz *z, int t, float scale, int32_t zp)
{
	if (z->qi8[t] >= 0 || z->qf[t] >= 0)
		return fail(z, "tensor '%s' is produced twice", z->g->t[t].name);
	return mk_tensor(z, t, 0, scale, zp);
}

/* The tensor a node really produces (a fused activation's output) and its clamp. */
struct act {
	int y;			/* float tensor written */
	int fused;		/* node index of the fused activation, -1 */
	float lo, hi;
};

static void node_act(struct qz *z, int ni, struct act *a)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int out;

	a->y = n->n_out > 0 ? n->out[0] : -1;
	a->fused = -1;
	a->lo = -INFINITY;
	a->hi = INFINITY;
	if (a->y < 0 || !npuc_node_fused_act(z->g, n, &a->lo, &a->hi, &out))
		return;
	if (z->uses[a->y] != 1 || npuc_tensor_is_output(z->g, a->y) ||
	    z->g->t[out].dtype != NPUC_DT_F32) {
		a->lo = -INFINITY;
		a->hi = INFINITY;
		return;
	}
	a->fused = z->g->t[out].producer;
	a->y = out;
}

/* act_min / act_max of a clamp [lo, hi] on an output quantised (s, zp). */
static void act_clamp(const struct act *a, float s, int32_t zp, int8_t *mn, int8_t *mx)
{
	*mn = isinf(a->lo) ? -128 : clamp8(round(a->lo / (double)s) + zp);
	*mx = isinf(a->hi) ? 127 : clamp8(round(a->hi / (double)s) + zp);
	if (*mx < *mn)
		*mx = *mn;
}

/* Creates the output of a node mapped with fusion a: int8, quantised from a->y. */
static int act_out(struct qz *z, const struct act *a, float *s, int32_t *zp)
{
	if (act_params(z, a->y, s, zp) < 0)
		return -1;
	if (a->fused >= 0)
		z->skip[a->fused] = 1;
	return out_i8(z, a->y, *s, *zp);
}

static const char *node_label(const struct npuc_node *n)
{
	return n->name && n->name[0] ? n->name : n->op;
}

/* ---- CPU fallback ---- */

static int emit_cpu(struct qz *z, int ni, const char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int *in = malloc((size_t)(n->n_in + 1) * sizeof(int));
	int *out = malloc((size_t)(n->n_out + 1) * sizeof(int));
	struct npuq_cpu p = { .src_node = ni };
	int n_in = 0, n_out = 0, rc = -1;

	if (!in || !out) {
		fail(z, "out of memory");
		goto done;
	}
	for (int j = 0; j < n->n_in; j++) {
		int t = n->in[j], dup = 0, q;

		if (t < 0 || is_const(z, t))
			continue;
		for (int k = 0; k < j; k++)
			dup |= n->in[k] == t;
		if (dup)
			continue;
		q = get_f(z, t);
		if (q < 0)
			goto done;
		in[n_in++] = q;
	}
	for (int j = 0; j < n->n_out; j++) {
		int q;

		if (n->out[j] < 0)
			continue;
		q = mk_tensor(z, n->out[j], 1, 0.0f, 0);
		if (q < 0)
			goto done;
		out[n_out++] = q;
	}
	p.reason = strdup(why && why[0] ? why : "not supported on the NPU");
	if (!p.reason) {
		fail(z, "out of memory");
		goto done;
	}
	rc = add_node(z, NPUQ_CPU, node_label(n), in, n_in, out, n_out, &p);
done:
	free(in);
	free(out);
	return rc;
}

/* ---- weights ---- */

/*
 * Quantises float weights wf[oc][per] (already in qgraph order) and bias
 * into cv: symmetric int8 per channel (or per tensor), int32 bias,
 * requantisation for in_scale -> out_scale.
 */
static int quant_weights(struct qz *z, const float *wf, const float *bias, int oc, int64_t per,
			 double s_in, double s_out, struct npuq_conv *cv)
{
	double *ws = malloc((size_t)oc * sizeof(double));
	double gmax = 0, gb = 0;

	cv->w = malloc((size_t)(oc * per) + 1);
	cv->q = calloc((size_t)oc, sizeof(*cv->q));
	cv->w_scale = malloc((size_t)oc * sizeof(float));
	if (!ws || !cv->w || !cv->q || !cv->w_scale) {
		free(ws);
		return fail(z, "out of memory");
	}
	for (int o = 0; o < oc; o++) {
		double m = 0;

		for (int64_t k = 0; k < per; k++)
			m = fmax(m, fabs(wf[o * per + k]));
		ws[o] = m / 127.0;
		gmax = fmax(gmax, m);
		gb = fmax(gb, bias ? fabs(bias[o]) : 0.0);
	}
	for (int o = 0; o < oc; o++) {
		double s = z->opt.per_channel ? ws[o] : gmax / 127.0;
		double b = bias ? fabs(bias[o]) : 0.0, bmin;

		if (!z->opt.per_channel)
			b = gb;
		if (!(s > 0) || !isfinite(s))
			s = s_out / s_in;	/* all-zero weights: multiplier 1 */
		/* keep |bias| <= 2^30 at scale s_in * s (accumulator headroom) */
		bmin = b / (s_in * 1073741824.0);
		if (s < bmin)
			s = bmin;
		cv->w_scale[o] = (float)s;
		if (!(cv->w_scale[o] > 0))
			cv->w_scale[o] = FLT_MIN;
	}
	for (int o = 0; o < oc; o++) {
		double s = cv->w_scale[o], acc_s = s_in * s, bq;

		for (int64_t k = 0; k < per; k++)
			cv->w[o * per + k] = clamp8(round(wf[o * per + k] / s));
		for (int64_t k = 0; k < per; k++)
			if (cv->w[o * per + k] == -128)
				cv->w[o * per + k] = -127;
		bq = bias ? round(bias[o] / acc_s) : 0.0;
		bq = bq > INT32_MAX ? INT32_MAX : bq < INT32_MIN ? INT32_MIN : bq;
		cv->q[o].bias = isnan(bq) ? 0 : (int32_t)bq;
		enc(acc_s / s_out, &cv->q[o].mult, &cv->q[o].shift);
	}
	cv->w_zp = 0;
	free(ws);
	if (z->opt.keep_float_weights) {
		cv->w_f = malloc((size_t)(oc * per) * sizeof(float) + 1);
		if (!cv->w_f)
			return fail(z, "out of memory");
		memcpy(cv->w_f, wf, (size_t)(oc * per) * sizeof(float));
	}
	return 0;
}

/* NaN or Inf has no int8 weight: refuse the model rather than guess. */
static int finite_params(struct qz *z, int ni, const float *wf, int64_t n, const float *bias,
			 int oc)
{
	const struct npuc_node *nd = &z->g->nodes[ni];
	int64_t nan = 0, inf = 0;

	for (int64_t i = 0; i < n; i++) {
		nan += isnan(wf[i]) != 0;
		inf += isinf(wf[i]) != 0;
	}
	if (nan || inf)
		return fail(z, "%s node '%s': %lld of its %lld weights are NaN and %lld infinite; "
			    "npuc quantises finite weights only", nd->op, nd->name,
			    (long long)nan, (long long)n, (long long)inf);
	for (int o = 0; bias && o < oc; o++)
		if (!isfinite(bias[o]))
			return fail(z, "%s node '%s': bias element %d is %s; npuc quantises "
				    "finite biases only", nd->op, nd->name, o,
				    isnan(bias[o]) ? "NaN" : "infinite");
	return 0;
}

/* Emits one CONV: x (float tensor) -> a->y with float weights wf in qgraph order. */
static int emit_conv(struct qz *z, int ni, int x, struct npuq_conv *cv, const float *wf,
		     const float *bias, int oc, int64_t per, const struct act *a)
{
	float s_out;
	int32_t zp_out;
	int qx, qy;

	if (finite_params(z, ni, wf, (int64_t)oc * per, bias, oc) < 0) {
		npuq_conv_free(cv);
		return -1;
	}
	qx = get_i8(z, x);
	if (qx < 0)
		return -1;
	qy = act_out(z, a, &s_out, &zp_out);
	if (qy < 0)
		return -1;
	if (quant_weights(z, wf, bias, oc, per, z->q->t[qx].scale, s_out, cv) < 0) {
		npuq_conv_free(cv);
		return -1;
	}
	act_clamp(a, s_out, zp_out, &cv->act_min, &cv->act_max);
	return add_node(z, NPUQ_CONV, node_label(&z->g->nodes[ni]), &qx, 1, &qy, 1, cv);
}

/* ---- Conv ---- */

struct conv_plan {
	int x, oc, icg, kh, kw, groups;
	const float *w, *b;
	struct npuq_conv cv;
};

/* Output size and pads along one axis (ONNX Conv rules). 0, or 1 with why. */
static int conv_axis(const char *ap, int64_t in, int64_t k, int64_t s, int64_t dl, int64_t *p0,
		     int64_t *p1, int64_t *out)
{
	int64_t ek = (k - 1) * dl + 1;

	if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
		int64_t total;

		*out = (in + s - 1) / s;
		total = (*out - 1) * s + ek - in;
		total = total < 0 ? 0 : total;
		*p0 = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
		*p1 = total - *p0;
		return 0;
	}
	if (!strcmp(ap, "VALID"))
		*p0 = *p1 = 0;
	else if (strcmp(ap, "NOTSET") && ap[0])
		return 1;
	if (in + *p0 + *p1 < ek)
		return 1;
	*out = (in + *p0 + *p1 - ek) / s + 1;
	return 0;
}

static int conv_plan(struct qz *z, int ni, struct conv_plan *p, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	const struct npuc_tensor *wt;
	struct lay X, Y;
	int64_t nw, nb = 0, st[2] = { 1, 1 }, dl[2] = { 1, 1 }, pd[4] = { 0 }, ks[2], oh, ow;
	const char *ap = npuc_attr_string(n, "auto_pad", "NOTSET");
	int64_t grp = npuc_attr_int(n, "group", 1);

	memset(p, 0, sizeof(*p));
	if (n->n_in < 2 || n->n_out != 1 || !act_in(z, n->in[0], &X) || tlay(z, n->out[0], &Y))
		return why_set(why, "Conv needs an activation input with a known shape");
	if (X.rank != 4 || !X.nchw || Y.rank != 4 || !Y.nchw)
		return why_set(why, "only 2-D convolutions (batch 1) map to the NPU "
			       "(input rank %d)", X.rank);
	p->w = const_f32(z, n->in[1], &nw);
	if (!p->w)
		return why_set(why, "Conv weights are not a float constant");
	wt = &z->g->t[n->in[1]];
	if (n->n_in > 2 && n->in[2] >= 0 &&
	    (!(p->b = const_f32(z, n->in[2], &nb)) || nb != wt->dims[0]))
		return why_set(why, "Conv bias is not a float constant of out_c values");
	if (wt->rank != 4 || grp < 1 || X.c % grp || wt->dims[0] % grp ||
	    wt->dims[1] * grp != X.c || wt->dims[0] != Y.c)
		return why_set(why, "Conv weight shape / group do not match the channels");
	ks[0] = wt->dims[2];
	ks[1] = wt->dims[3];
	if (!attr_ints(n, "strides", st, 2) || !attr_ints(n, "dilations", dl, 2) ||
	    !attr_ints(n, "pads", pd, 4))
		return why_set(why, "Conv strides / dilations / pads malformed");
	if (ks[0] > NPU_CONV_MAX_K || ks[1] > NPU_CONV_MAX_K)
		return why_set(why, "kernel %lldx%lld exceeds the NPU's %ux%u", (long long)ks[0],
			       (long long)ks[1], NPU_CONV_MAX_K, NPU_CONV_MAX_K);
	if (st[0] < 1 || st[1] < 1 || st[0] > NPU_MAX_STRIDE || st[1] > NPU_MAX_STRIDE)
		return why_set(why, "stride %lldx%lld outside the NPU's 1..%u", (long long)st[0],
			       (long long)st[1], NPU_MAX_STRIDE);
	if (dl[0] < 1 || dl[1] < 1 || dl[0] > NPU_MAX_DILATION || dl[1] > NPU_MAX_DILATION)
		return why_set(why, "dilation %lldx%lld outside the NPU's 1..%u",
			       (long long)dl[0], (long long)dl[1], NPU_MAX_DILATION);
	for (int i = 0; i < 4; i++)	/* checked before any arithmetic on them */
		if (pd[i] < 0 || pd[i] > PAD_MAX)
			return why_set(why, "padding %lld outside the NPU's 0..%d",
				       (long long)pd[i], PAD_MAX);
	if (conv_axis(ap, X.h, ks[0], st[0], dl[0], &pd[0], &pd[2], &oh) ||
	    conv_axis(ap, X.w, ks[1], st[1], dl[1], &pd[1], &pd[3], &ow))
		return why_set(why, "Conv auto_pad '%s' / window does not fit", ap);
	for (int i = 0; i < 4; i++)
		if (pd[i] > PAD_MAX)
			return why_set(why, "padding %lld exceeds the NPU's %d", (long long)pd[i],
				       PAD_MAX);
	if (oh != Y.h || ow != Y.w)
		return why_set(why, "Conv output %dx%d does not match the geometry (%lldx%lld)",
			       Y.h, Y.w, (long long)oh, (long long)ow);
	if (X.c > EXTENT_MAX || Y.c > EXTENT_MAX)
		return why_set(why, "more than %d channels", EXTENT_MAX);
	p->x = n->in[0];
	p->oc = Y.c;
	p->groups = (int)grp;
	p->icg = (int)(X.c / grp);
	p->kh = (int)ks[0];
	p->kw = (int)ks[1];
	p->cv.k_h = p->kh;
	p->cv.k_w = p->kw;
	p->cv.stride_h = (int)st[0];
	p->cv.stride_w = (int)st[1];
	p->cv.dil_h = (int)dl[0];
	p->cv.dil_w = (int)dl[1];
	p->cv.pad_top = (int)pd[0];
	p->cv.pad_left = (int)pd[1];
	p->cv.pad_bottom = (int)pd[2];
	p->cv.pad_right = (int)pd[3];
	p->cv.groups = p->groups;
	return 0;
}

static int q_conv(struct qz *z, int ni, char *why)
{
	struct conv_plan p;
	struct act a;
	float *wf;
	int64_t per;
	int rc;

	if (conv_plan(z, ni, &p, why))
		return 1;
	node_act(z, ni, &a);
	per = (int64_t)p.kh * p.kw * p.icg;
	wf = malloc((size_t)(p.oc * per) * sizeof(float) + 1);
	if (!wf)
		return fail(z, "out of memory");
	/* ONNX [oc][ic/g][kh][kw] -> [oc][kh][kw][ic/g] */
	for (int64_t o = 0; o < p.oc; o++)
		for (int64_t ci = 0; ci < p.icg; ci++)
			for (int64_t k = 0; k < (int64_t)p.kh * p.kw; k++)
				wf[(o * p.kh * p.kw + k) * p.icg + ci] =
					p.w[(o * p.icg + ci) * p.kh * p.kw + k];
	rc = emit_conv(z, ni, p.x, &p.cv, wf, p.b, p.oc, per, &a);
	free(wf);
	return rc;
}

/* ---- Gemm / MatMul with constant B: CONV 1x1 over the rows ---- */

struct fc_plan {
	int x;			/* activation A */
	int64_t k, n;
	const float *b;		/* B */
	int tb;			/* B is [n][k] */
	double alpha, beta;
	const float *c;		/* bias or NULL */
	int c_percol;		/* c[j] (1) or c[0] (0) */
};

static int fc_plan(struct qz *z, int ni, struct fc_plan *p, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int gemm = npuc_node_op(n) == NPUC_OP_Gemm;
	struct lay A, Y;
	const struct npuc_tensor *bt;
	int64_t nbv, ncv;

	memset(p, 0, sizeof(*p));
	p->alpha = p->beta = 1.0;
	if (n->n_in < 2 || n->n_out != 1 || !act_in(z, n->in[0], &A) || tlay(z, n->out[0], &Y))
		return why_set(why, "%s needs an activation input with a known shape", n->op);
	p->x = n->in[0];
	p->b = const_f32(z, n->in[1], &nbv);
	if (!p->b)
		return why_set(why, "%s of two activations", n->op);
	bt = &z->g->t[n->in[1]];
	if (bt->rank != 2)
		return why_set(why, "%s weight of rank %d (needs 2)", n->op, bt->rank);
	if (A.nchw || A.rank > 3)
		return why_set(why, "%s on a rank-%d operand", n->op, A.rank);
	if (gemm) {
		if (npuc_attr_int(n, "transA", 0))
			return why_set(why, "Gemm with transA on an activation");
		p->tb = npuc_attr_int(n, "transB", 0) != 0;
		p->alpha = npuc_attr_float(n, "alpha", 1.0f);
		p->beta = npuc_attr_float(n, "beta", 1.0f);
	}
	p->k = bt->dims[p->tb ? 1 : 0];
	p->n = bt->dims[p->tb ? 0 : 1];
	if (A.c != p->k || Y.c != p->n || Y.h != A.h || Y.w != A.w)
		return why_set(why, "%s shapes do not form a row-wise product", n->op);
	if (p->k > EXTENT_MAX || p->n > EXTENT_MAX)
		return why_set(why, "%s with more than %d input or output features", n->op,
			       EXTENT_MAX);
	if (gemm && n->n_in > 2 && n->in[2] >= 0) {
		const struct npuc_tensor *ct = &z->g->t[n->in[2]];
		int64_t last;

		p->c = const_f32(z, n->in[2], &ncv);
		if (!p->c)
			return why_set(why, "Gemm bias C is not a float constant");
		last = ct->rank >= 1 ? ct->dims[ct->rank - 1] : 1;
		if (ct->rank > 2 || (ct->rank == 2 && ct->dims[0] != 1 && lay_numel(&A) / p->k > 1)
		    || (last != 1 && last != p->n))
			return why_set(why, "Gemm bias C is not a per-column vector");
		p->c_percol = last == p->n;
	}
	return 0;
}

/* Weight column permutation for an HWC-ordered flattened input (identity otherwise). */
static int64_t fc_src_col(const struct hwc *h, int64_t kq)
{
	int64_t pix, c;

	if (!h->set)
		return kq;
	pix = kq / h->c;	/* y * W + x */
	c = kq % h->c;
	return c * h->h * h->w + pix;
}

static int q_fc(struct qz *z, int ni, char *why)
{
	struct fc_plan p;
	struct npuq_conv cv = { .k_h = 1, .k_w = 1, .stride_h = 1, .stride_w = 1, .dil_h = 1,
				.dil_w = 1, .groups = 1 };
	struct act a;
	float *wf, *bias = NULL;
	const struct hwc *h;
	int rc;

	if (fc_plan(z, ni, &p, why))
		return 1;
	node_act(z, ni, &a);
	h = &z->hwc[p.x];
	wf = malloc((size_t)(p.n * p.k) * sizeof(float) + 1);
	if (p.c)
		bias = malloc((size_t)p.n * sizeof(float));
	if (!wf || (p.c && !bias)) {
		free(wf);
		free(bias);
		return fail(z, "out of memory");
	}
	for (int64_t j = 0; j < p.n; j++) {
		for (int64_t kq = 0; kq < p.k; kq++) {
			int64_t ks = fc_src_col(h, kq);
			float v = p.tb ? p.b[j * p.k + ks] : p.b[ks * p.n + j];

			wf[j * p.k + kq] = (float)(p.alpha * v);
		}
		if (bias)
			bias[j] = (float)(p.beta * p.c[p.c_percol ? j : 0]);
	}
	rc = emit_conv(z, ni, p.x, &cv, wf, bias, (int)p.n, p.k, &a);
	free(wf);
	free(bias);
	return rc;
}

/* ---- MatMul of two activations ---- */

static int q_matmul2(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	struct npuq_matmul mm = { .act_min = -128, .act_max = 127 };
	struct lay A, B, Y;
	struct act a;
	float s_out;
	int32_t zp_out;
	int in[2], qy;

	if (n->n_in != 2 || n->n_out != 1 || !act_in(z, n->in[0], &A) ||
	    !act_in(z, n->in[1], &B) || tlay(z, n->out[0], &Y))
		return why_set(why, "MatMul operands must be float activations of known shape");
	if (A.rank < 2 || A.rank > 3 || B.rank != A.rank || Y.rank != A.rank)
		return why_set(why, "MatMul of rank %d x %d operands", A.rank, B.rank);
	if (A.h != B.h || A.c != B.w || Y.h != A.h || Y.w != A.w || Y.c != B.c)
		return why_set(why, "batched MatMul with broadcasting");
	if (z->hwc[n->in[0]].set || z->hwc[n->in[1]].set)
		return why_set(why, "MatMul operand in HWC order");
	node_act(z, ni, &a);
	in[0] = get_i8(z, n->in[0]);
	in[1] = in[0] < 0 ? -1 : get_i8(z, n->in[1]);
	if (in[1] < 0)
		return -1;
	qy = act_out(z, &a, &s_out, &zp_out);
	if (qy < 0)
		return -1;
	enc((double)z->q->t[in[0]].scale * z->q->t[in[1]].scale / s_out, &mm.q.mult, &mm.q.shift);
	act_clamp(&a, s_out, zp_out, &mm.act_min, &mm.act_max);
	return add_node(z, NPUQ_MATMUL, node_label(n), in, 2, &qy, 1, &mm);
}

static int q_matmul(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];

	if (n->n_in == 2 && is_const(z, n->in[1]))
		return q_fc(z, ni, why);
	return q_matmul2(z, ni, why);
}

/* ---- ELTWISE ---- */

/* Broadcast of operand B (dims bd) against A (layout LA): NPU mode or -1. */
static int bcast_mode(const struct lay *LA, const struct lay *LB)
{
	int r = LA->rank, off = r - LB->rank, chan_axis = LA->nchw ? 1 : r - 1;
	int64_t nb = lay_numel(LB);

	if (off < 0)
		return -1;
	if (same_dims(LA, LB))
		return NPU_BCAST_NONE;
	if (nb == 1)
		return NPU_BCAST_SCALAR;
	for (int i = 0; i < LB->rank; i++) {
		int ax = i + off;

		if (LB->dims[i] == 1)
			continue;
		if (ax != chan_axis || LB->dims[i] != LA->c)
			return -1;
	}
	return nb == LA->c ? NPU_BCAST_CHANNEL : -1;
}

static int const_lay(const struct qz *z, int t, struct lay *L)
{
	const struct npuc_tensor *x = &z->g->t[t];

	memset(L, 0, sizeof(*L));
	if (x->rank < 0)
		return -1;
	L->rank = x->rank;
	for (int i = 0; i < x->rank; i++)
		L->dims[i] = x->dims[i];
	L->h = L->w = 1;
	L->c = (int)(npuc_tensor_numel(x) > 0 && npuc_tensor_numel(x) <= INT32_MAX ?
		     npuc_tensor_numel(x) : 0);
	return L->c > 0 ? 0 : -1;
}

struct elt_plan {
	enum npu_eltwise_op op;
	int a, b;		/* float tensors; b < 0 when constant */
	int bcast;
	int64_t nconst;
	float *bvals;		/* constant B in A's storage order (owned) */
	struct lay LA;
};

/* Constant B values in A's storage order (NHWC transposition for NONE on NCHW A). */
static float *const_values(const float *v, int64_t n, int bcast, const struct lay *LA, int recip)
{
	float *o = malloc((size_t)n * sizeof(float) + 1);

	if (!o)
		return NULL;
	for (int64_t i = 0; i < n; i++) {
		int64_t src = i;

		if (bcast == NPU_BCAST_NONE && LA->nchw) {
			int64_t c = i % LA->c, pix = i / LA->c;

			src = c * LA->h * LA->w + pix;
		}
		o[i] = recip ? 1.0f / v[src] : v[src];
	}
	return o;
}

static int elt_plan(struct qz *z, int ni, struct elt_plan *p, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	const char *op = n->op;
	enum npuc_op id = npuc_node_op(n);
	int x0, x1, c0, c1, div = id == NPUC_OP_Div;
	struct lay LB, LY;

	memset(p, 0, sizeof(*p));
	if (n->n_in != 2 || n->n_out != 1 || n->in[0] < 0 || n->in[1] < 0 ||
	    tlay(z, n->out[0], &LY))
		return why_set(why, "%s with %d inputs", op, n->n_in);
	x0 = n->in[0];
	x1 = n->in[1];
	c0 = is_const(z, x0);
	c1 = is_const(z, x1);
	p->op = id == NPUC_OP_Sub ? NPU_ELT_SUB :
		(id == NPUC_OP_Mul || div) ? NPU_ELT_MUL : NPU_ELT_ADD;
	if (c0 && !c1 && p->op != NPU_ELT_SUB && !div) {
		int t = x0;	/* commutative: constant second */

		x0 = x1;
		x1 = t;
		c0 = 0;
		c1 = 1;
	}
	if (c0 || (div && !c1))
		return why_set(why, "%s with this operand order / kind has no NPU form", op);
	if (c1) {
		int64_t nv;
		const float *v = const_f32(z, x1, &nv);

		if (!act_in(z, x0, &p->LA) || !same_dims(&p->LA, &LY))
			return why_set(why, "%s broadcasts its activation operand", op);
		if (!v || const_lay(z, x1, &LB) < 0)
			return why_set(why, "%s constant operand is not float", op);
		p->bcast = bcast_mode(&p->LA, &LB);
		if (p->bcast < 0)
			return why_set(why, "%s constant broadcast pattern is not per-tensor, "
				       "per-channel or full", op);
		p->nconst = p->bcast == NPU_BCAST_NONE ? lay_numel(&p->LA) :
			    p->bcast == NPU_BCAST_SCALAR ? 1 : p->LA.c;
		for (int64_t i = 0; div && i < nv; i++)
			if (v[i] == 0 || !isfinite(1.0f / v[i]))
				return why_set(why, "Div by a constant containing 0");
		for (int64_t i = 0; i < nv; i++)
			if (!isfinite(v[i]))	/* an int8 constant cannot hold it */
				return why_set(why, "%s constant operand holds %s", op,
					       isnan(v[i]) ? "NaN" : "an infinity");
		p->bvals = const_values(v, p->nconst, p->bcast, &p->LA, div);
		if (!p->bvals)
			return fail(z, "out of memory");
		p->a = x0;
		p->b = -1;
		return 0;
	}
	if (!act_in(z, x0, &p->LA) || !act_in(z, x1, &LB))
		return why_set(why, "%s operand is not a float activation", op);
	if (!same_dims(&p->LA, &LY) && p->op != NPU_ELT_SUB && same_dims(&LB, &LY)) {
		struct lay t = p->LA;	/* commutative: the full operand first */
		int tt = x0;

		x0 = x1;
		x1 = tt;
		p->LA = LB;
		LB = t;
	}
	if (!same_dims(&p->LA, &LY))
		return why_set(why, "%s broadcasts its first operand", op);
	p->bcast = bcast_mode(&p->LA, &LB);
	if (p->bcast < 0)
		return why_set(why, "%s broadcast pattern not supported by ELTWISE", op);
	if (z->hwc[x0].set || z->hwc[x1].set)
		return why_set(why, "%s operand in HWC order", op);
	p->a = x0;
	p->b = x1;
	return 0;
}

static int q_eltwise(struct qz *z, int ni, char *why)
{
	struct npuq_eltwise e = { .act_min = -128, .act_max = 127 };
	struct elt_plan p;
	struct act a;
	float s_out, s_b;
	int32_t zp_out;
	int in[2], qy, n_in = 1;
	double sa, tm;

	if (elt_plan(z, ni, &p, why))
		return 1;
	node_act(z, ni, &a);
	in[0] = get_i8(z, p.a);
	if (in[0] < 0)
		goto fail;
	if (p.b >= 0) {
		in[1] = get_i8(z, p.b);
		if (in[1] < 0)
			goto fail;
		s_b = z->q->t[in[1]].scale;
		n_in = 2;
	} else {
		float lo = 0, hi = 0;

		for (int64_t i = 0; i < p.nconst; i++) {
			lo = fminf(lo, p.bvals[i]);
			hi = fmaxf(hi, p.bvals[i]);
		}
		npuc_quant_act_params(lo, hi, &e.b_scale, &e.b_zp);
		e.b_const = malloc((size_t)p.nconst);
		if (!e.b_const) {
			fail(z, "out of memory");
			goto fail;
		}
		for (int64_t i = 0; i < p.nconst; i++)
			e.b_const[i] = clamp8(round(p.bvals[i] / (double)e.b_scale) + e.b_zp);
		s_b = e.b_scale;
	}
	qy = act_out(z, &a, &s_out, &zp_out);
	if (qy < 0)
		goto fail;
	sa = z->q->t[in[0]].scale;
	e.op = p.op;
	e.bcast = (enum npu_bcast)p.bcast;
	if (p.op == NPU_ELT_MUL) {
		uint32_t sh;

		e.a_shift = e.b_shift = NPU_SHIFT_MIN;
		enc(sa * s_b / s_out, &e.out_mult, &sh);
		e.out_shift = (uint8_t)sh;
	} else {
		uint32_t sh;

		tm = 2.0 * fmax(sa, s_b);
		enc(sa / tm, &e.a_mult, &sh);
		e.a_shift = (uint8_t)sh;
		enc(s_b / tm, &e.b_mult, &sh);
		e.b_shift = (uint8_t)sh;
		enc(tm / (1048576.0 * s_out), &e.out_mult, &sh);
		e.out_shift = (uint8_t)sh;
	}
	act_clamp(&a, s_out, zp_out, &e.act_min, &e.act_max);
	free(p.bvals);
	return add_node(z, NPUQ_ELTWISE, node_label(&z->g->nodes[ni]), in, n_in, &qy, 1, &e);
fail:
	free(e.b_const);
	free(p.bvals);
	return -1;
}

/* ---- POOL ---- */

static int pool_axis(const char *ap, int ceil_mode, int64_t in, int64_t k, int64_t s,
		     int64_t *p0, int64_t *p1, int64_t *out)
{
	if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
		int64_t total;

		*out = (in + s - 1) / s;
		total = (*out - 1) * s + k - in;
		total = total < 0 ? 0 : total;
		*p0 = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
		*p1 = total - *p0;
		return 0;
	}
	if (!strcmp(ap, "VALID")) {
		*p0 = *p1 = 0;
		ceil_mode = 0;
	} else if (strcmp(ap, "NOTSET") && ap[0]) {
		return 1;
	}
	if (in + *p0 + *p1 < k)
		return 1;
	*out = (ceil_mode ? in + *p0 + *p1 - k + s - 1 : in + *p0 + *p1 - k) / s + 1;
	if (ceil_mode && (*out - 1) * s >= in + *p0)
		(*out)--;
	/* make the floor formula of qir give this extent (ceil_mode extends the end pad) */
	if ((in + *p0 + *p1 - k) / s + 1 != *out)
		*p1 = (*out - 1) * s + k - in - *p0;
	return 0;
}

static int pool_plan(struct qz *z, int ni, struct npuq_pool *pp, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int global = !strncmp(n->op, "Global", 6);
	int avg = strstr(n->op, "Average") != NULL;
	struct lay X, Y;
	int64_t ks[2] = { 0, 0 }, st[2] = { 1, 1 }, dl[2] = { 1, 1 }, pd[4] = { 0 }, oh, ow;
	int64_t pb0, pr0;
	const char *ap = npuc_attr_string(n, "auto_pad", "NOTSET");
	int ceil_mode = (int)npuc_attr_int(n, "ceil_mode", 0);

	memset(pp, 0, sizeof(*pp));
	if (n->n_in != 1 || !act_in(z, n->in[0], &X) || n->n_out < 1 || tlay(z, n->out[0], &Y))
		return why_set(why, "%s needs an activation input with a known shape", n->op);
	for (int j = 1; j < n->n_out; j++)
		if (n->out[j] >= 0)
			return why_set(why, "%s with an Indices output", n->op);
	if (X.rank != 4 || !X.nchw || Y.rank != 4 || !Y.nchw || X.c != Y.c)
		return why_set(why, "only 2-D pooling (batch 1) maps to the NPU");
	if (global) {
		ks[0] = X.h;
		ks[1] = X.w;
	} else if (!attr_ints(n, "kernel_shape", ks, 2) || !attr_ints(n, "strides", st, 2) ||
		   !attr_ints(n, "pads", pd, 4) || !attr_ints(n, "dilations", dl, 2) ||
		   ks[0] < 1 || ks[1] < 1) {
		return why_set(why, "%s attributes malformed or not 2-D", n->op);
	}
	if (dl[0] != 1 || dl[1] != 1)
		return why_set(why, "%s with dilations", n->op);
	if (ks[0] > EXTENT_MAX || ks[1] > EXTENT_MAX || ks[0] * ks[1] > NPU_POOL_MAX_WINDOW)
		return why_set(why, "pooling window %lldx%lld exceeds the NPU's %u taps",
			       (long long)ks[0], (long long)ks[1], NPU_POOL_MAX_WINDOW);
	if (st[0] < 1 || st[1] < 1 || st[0] > POOL_STRIDE_MAX || st[1] > POOL_STRIDE_MAX)
		return why_set(why, "pooling stride outside 1..%d", POOL_STRIDE_MAX);
	for (int i = 0; i < 4; i++)	/* checked before any arithmetic on them */
		if (pd[i] < 0 || pd[i] > PAD_MAX)
			return why_set(why, "pooling pad %lld outside 0..%d", (long long)pd[i],
				       PAD_MAX);
	pb0 = pd[2];
	pr0 = pd[3];
	if (pool_axis(ap, ceil_mode, X.h, ks[0], st[0], &pd[0], &pd[2], &oh) ||
	    pool_axis(ap, ceil_mode, X.w, ks[1], st[1], &pd[1], &pd[3], &ow))
		return why_set(why, "%s auto_pad '%s' / window does not fit", n->op, ap);
	for (int i = 0; i < 4; i++)
		if (pd[i] < 0 || pd[i] > PAD_MAX)
			return why_set(why, "pooling pad %lld outside 0..%d", (long long)pd[i],
				       PAD_MAX);
	if (oh != Y.h || ow != Y.w)
		return why_set(why, "%s output %dx%d does not match the geometry", n->op, Y.h,
			       Y.w);
	pp->count_pad = avg && npuc_attr_int(n, "count_include_pad", 0) != 0;
	if (pp->count_pad && (pd[2] != pb0 || pd[3] != pr0) && strcmp(ap, "SAME_UPPER") &&
	    strcmp(ap, "SAME_LOWER"))
		return why_set(why, "AveragePool count_include_pad with ceil_mode windows");
	pp->mode = avg ? NPU_POOL_AVG : NPU_POOL_MAX;
	pp->k_h = (int)ks[0];
	pp->k_w = (int)ks[1];
	pp->stride_h = (int)st[0];
	pp->stride_w = (int)st[1];
	pp->pad_top = (int)pd[0];
	pp->pad_left = (int)pd[1];
	pp->pad_bottom = (int)pd[2];
	pp->pad_right = (int)pd[3];
	pp->act_min = -128;
	pp->act_max = 127;
	return 0;
}

static int q_pool(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	struct npuq_pool pp;
	float s_in, s_out;
	int32_t zp_out;
	int qx, qy, y = n->out[0];

	if (pool_plan(z, ni, &pp, why))
		return 1;
	qx = get_i8(z, n->in[0]);
	if (qx < 0)
		return -1;
	s_in = z->q->t[qx].scale;
	if (pp.mode == NPU_POOL_MAX && !z->forced[y].set) {
		s_out = s_in;	/* max pooling keeps the input's quantisation */
		zp_out = z->q->t[qx].zp;
	} else if (act_params(z, y, &s_out, &zp_out) < 0) {
		return -1;
	}
	qy = out_i8(z, y, s_out, zp_out);
	if (qy < 0)
		return -1;
	if (s_in == s_out) {
		pp.mult = 1;
		pp.shift = 0;
	} else {
		enc_pool((double)s_in / s_out, &pp.mult, &pp.shift);
	}
	return add_node(z, NPUQ_POOL, node_label(n), &qx, 1, &qy, 1, &pp);
}

/* ---- LUT ---- */

/* Index of the one activation input when all others are scalar constants, else -1. */
static int lut_input(const struct qz *z, const struct npuc_node *n)
{
	int x = -1;

	for (int j = 0; j < n->n_in; j++) {
		int t = n->in[j];

		if (t < 0)
			continue;
		if (is_const(z, t)) {
			if (npuc_tensor_numel(&z->g->t[t]) != 1)
				return -1;
			continue;
		}
		if (x >= 0)
			return -1;
		x = j;
	}
	return x;
}

static int copy_attrs(struct npuc_graph *dst, int node, const struct npuc_node *sn,
		      struct npuc_diag *d)
{
	for (int i = 0; i < sn->n_attrs; i++) {
		const struct npuc_attr *a = &sn->attrs[i];
		struct npuc_attr c = *a;
		size_t cnt = a->n > 0 ? (size_t)a->n : 0;

		if (a->type == NPUC_ATTR_TENSOR)
			return 1;
		if (!strncmp(a->name, "npuc.", 5))
			continue;
		c.name = strdup(a->name);
		c.s = a->s ? strdup(a->s) : NULL;
		c.ints = a->ints ? malloc(cnt * sizeof(int64_t) + 1) : NULL;
		c.floats = a->floats ? malloc(cnt * sizeof(float) + 1) : NULL;
		if (!c.name || (a->s && !c.s) || (a->ints && !c.ints) || (a->floats && !c.floats)) {
			free(c.name);
			free(c.s);
			free(c.ints);
			free(c.floats);
			npuc_diag_set(d, "out of memory");
			return -1;
		}
		if (cnt && a->ints)
			memcpy(c.ints, a->ints, cnt * sizeof(int64_t));
		if (cnt && a->floats)
			memcpy(c.floats, a->floats, cnt * sizeof(float));
		if (npuc_node_add_attr(dst, node, &c, d) < 0)
			return -1;
	}
	return 0;
}

/* Adds a copy of constant tensor t of g to m. */
static int copy_const(struct npuc_graph *m, const struct npuc_graph *g, int t,
		      struct npuc_diag *d)
{
	const struct npuc_tensor *x = &g->t[t];
	void *data = malloc(x->nbytes + 1);
	int mt;

	if (!data) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	if (x->nbytes)
		memcpy(data, x->data, x->nbytes);
	mt = npuc_graph_add_tensor(m, x->name, x->dtype, x->rank, x->dims, d);
	if (mt < 0) {
		free(data);
		return -1;
	}
	return npuc_tensor_set_data(m, mt, data, x->nbytes, d) < 0 ? -1 : mt;
}

/*
 * ys[i] = f(xs[i]) for the 256 inputs, f being node n with its activation
 * input (slot xj) replaced, evaluated by the float reference executor.
 * 0, 1 (cannot evaluate: why set) or -1.
 */
static int lut_eval(struct qz *z, const struct npuc_node *n, int xj, const float *xs, float *ys,
		    char *why)
{
	struct npuc_graph *m = npuc_graph_new();
	int64_t d256[1] = { 256 };
	int *in = malloc((size_t)(n->n_in + 1) * sizeof(int));
	int *out = malloc((size_t)(n->n_out + 1) * sizeof(int));
	struct npuc_value xv, yv;
	struct npuc_diag dd;
	int rc = -1, node;

	memset(&yv, 0, sizeof(yv));
	dd.msg[0] = 0;
	if (!m || !in || !out) {
		fail(z, "out of memory");
		goto done;
	}
	m->opset = z->g->opset;
	for (int j = 0; j < n->n_in; j++) {
		in[j] = -1;
		if (n->in[j] < 0)
			continue;
		for (int k = 0; k < j; k++)
			if (n->in[k] == n->in[j])
				in[j] = in[k];	/* the same constant twice */
		if (in[j] >= 0)
			continue;
		if (j == xj)
			in[j] = npuc_graph_add_tensor(m, "npuc.lut.x", NPUC_DT_F32, 1, d256, z->d);
		else
			in[j] = copy_const(m, z->g, n->in[j], z->d);
		if (in[j] < 0)
			goto done;
	}
	for (int j = 0; j < n->n_out; j++) {
		char nm[24];

		snprintf(nm, sizeof(nm), "npuc.lut.y%d", j);
		out[j] = n->out[j] < 0 ? -1 : npuc_graph_add_tensor(m, nm, NPUC_DT_UNDEF, -1, NULL,
								    z->d);
		if (n->out[j] >= 0 && out[j] < 0)
			goto done;
	}
	if (out[0] < 0 || npuc_graph_set_io(m, &in[xj], 1, out, 1, z->d)) {
		fail(z, "out of memory");
		goto done;
	}
	node = npuc_graph_add_node(m, n->name, n->op, n->domain, in, n->n_in, out, n->n_out, z->d);
	if (node < 0)
		goto done;
	rc = copy_attrs(m, node, n, z->d);
	if (rc) {
		if (rc > 0)
			why_set(why, "%s has a tensor attribute", n->op);
		goto done;
	}
	if (npuc_value_wrap(&xv, NPUC_DT_F32, 1, d256, xs, z->d) < 0) {
		rc = -1;
		goto done;
	}
	if (npuc_ref_run(m, &xv, &yv, NULL, &dd) || yv.dtype != NPUC_DT_F32 || yv.numel != 256) {
		rc = why_set(why, "%s cannot be tabulated: %.120s", n->op, dd.msg);
		goto done;
	}
	memcpy(ys, yv.data, 256 * sizeof(float));
	rc = 0;
done:
	npuc_value_free(&yv);
	npuc_graph_free(m);
	free(in);
	free(out);
	return rc;
}

/* The 256 real values int8 tensor qx holds, in table order (q = k - 128). */
static void lut_inputs(const struct qz *z, int qx, float *xs)
{
	float s_in = z->q->t[qx].scale;
	int32_t zp_in = z->q->t[qx].zp;

	for (int k = 0; k < 256; k++)
		xs[k] = (float)((double)s_in * ((k - 128) - zp_in));
}

/* Emits LUT qx -> y (float tensor y's int8) with real results ys[256]; fn names it. */
static int lut_emit(struct qz *z, const struct npuc_node *n, int qx, int y, const double *ys,
		    const char *fn)
{
	struct npuq_lut l;
	float s_out;
	int32_t zp_out;
	int qy;

	if (act_params(z, y, &s_out, &zp_out) < 0)
		return -1;
	memset(&l, 0, sizeof(l));
	for (int k = 0; k < 256; k++)
		l.table[k] = isnan(ys[k]) ? (int8_t)zp_out :
			     clamp8(round(ys[k] / (double)s_out) + zp_out);
	l.fn = strdup(fn);
	if (!l.fn)
		return fail(z, "out of memory");
	qy = out_i8(z, y, s_out, zp_out);
	if (qy < 0) {
		free(l.fn);
		return -1;
	}
	return add_node(z, NPUQ_LUT, node_label(n), &qx, 1, &qy, 1, &l);
}

static int q_lut(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	struct lay X, Y;
	float xs[256], ys[256];
	double yd[256];
	int xj = lut_input(z, n), qx, rc;

	if (xj < 0 || n->n_out < 1 || n->out[0] < 0 || !act_in(z, n->in[xj], &X) ||
	    tlay(z, n->out[0], &Y) || !same_dims(&X, &Y) ||
	    z->g->t[n->out[0]].dtype != NPUC_DT_F32)
		return why_set(why, "%s is not an elementwise function of one activation", n->op);
	if (z->hwc[n->in[xj]].set)
		return why_set(why, "%s operand in HWC order", n->op);
	qx = get_i8(z, n->in[xj]);
	if (qx < 0)
		return -1;
	lut_inputs(z, qx, xs);
	rc = lut_eval(z, n, xj, xs, ys, why);
	if (rc)
		return rc;
	for (int k = 0; k < 256; k++)
		yd[k] = ys[k];
	return lut_emit(z, n, qx, n->out[0], yd, n->op);
}

/*
 * Gated activations x * f(x), f = Sigmoid (SiLU / swish) or HardSigmoid
 * (hard-swish as opset 13 exports it): the gate node and the Mul become
 * one LUT of the whole function, so the NPU makes one pass instead of a
 * LUT pass and an element-wise multiply, and the result is rounded once.
 * gated_pair() says at the gate whether its Mul qualifies (then the gate
 * emits nothing and the Mul is quantised by q_gated()).
 */
static int float_io(const struct qz *z, const struct npuc_node *n);

static int gated_pair(struct qz *z, int gi)
{
	const struct npuc_node *gn = &z->g->nodes[gi], *m;
	enum npuc_op op = npuc_node_op(gn);
	struct lay X, Y;
	int s, x, mi;

	if ((op != NPUC_OP_Sigmoid && op != NPUC_OP_HardSigmoid) || gn->n_in != 1 ||
	    gn->n_out != 1 || (s = gn->out[0]) < 0 || (x = gn->in[0]) < 0 ||
	    z->uses[s] != 1 || npuc_tensor_is_output(z->g, s) ||
	    z->cstart[s + 1] - z->cstart[s] != 1)
		return -1;
	mi = z->cons[z->cstart[s]];
	m = &z->g->nodes[mi];
	if (npuc_node_op(m) != NPUC_OP_Mul || m->n_in != 2 || m->n_out != 1 || m->out[0] < 0 ||
	    !((m->in[0] == x && m->in[1] == s) || (m->in[0] == s && m->in[1] == x)) ||
	    !default_domain(m) || !default_domain(gn) || !float_io(z, m) || !float_io(z, gn) ||
	    !act_in(z, x, &X) || tlay(z, m->out[0], &Y) || !same_dims(&X, &Y) ||
	    z->hwc[x].set || z->g->t[m->out[0]].dtype != NPUC_DT_F32)
		return -1;
	return mi;
}

static int q_gated(struct qz *z, int mi, int gi)
{
	const struct npuc_node *m = &z->g->nodes[mi], *gn = &z->g->nodes[gi];
	float xs[256], fs[256];
	double ys[256];
	char why[WHY_LEN] = "", fn[64];
	int qx = get_i8(z, gn->in[0]), rc;

	if (qx < 0)
		return -1;
	lut_inputs(z, qx, xs);
	rc = lut_eval(z, gn, 0, xs, fs, why);
	if (rc)
		return rc < 0 ? -1 : fail(z, "%s", why);
	for (int k = 0; k < 256; k++)
		ys[k] = (double)xs[k] * fs[k];
	snprintf(fn, sizeof(fn), "x*%s", gn->op);
	return lut_emit(z, m, qx, m->out[0], ys, fn);
}

/* ---- Concat ---- */

static int concat_plan(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	struct lay Y, X;
	int64_t axis = npuc_attr_int(n, "axis", 1), ch = 0;

	if (n->n_out != 1 || n->n_in < 1 || tlay(z, n->out[0], &Y))
		return why_set(why, "Concat output shape unknown");
	axis = axis < 0 ? axis + Y.rank : axis;
	if (axis != (Y.nchw ? 1 : Y.rank - 1) || Y.rank < 1)
		return why_set(why, "Concat along axis %lld (the NPU concatenates channels)",
			       (long long)axis);
	for (int j = 0; j < n->n_in; j++) {
		if (!act_in(z, n->in[j], &X))
			return why_set(why, "Concat of a constant or non-float input");
		if (X.rank != Y.rank || X.nchw != Y.nchw || X.h != Y.h || X.w != Y.w)
			return why_set(why, "Concat inputs do not match the output");
		if (z->hwc[n->in[j]].set)
			return why_set(why, "Concat operand in HWC order");
		ch += X.c;
	}
	return ch == Y.c ? 0 : why_set(why, "Concat channel count mismatch");
}

static int q_concat(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int *in, qy, rc = -1;
	float s;
	int32_t zp;

	if (concat_plan(z, ni, why))
		return 1;
	in = malloc((size_t)n->n_in * sizeof(int));
	if (!in)
		return fail(z, "out of memory");
	for (int j = 0; j < n->n_in; j++) {
		in[j] = get_i8(z, n->in[j]);
		if (in[j] < 0)
			goto done;
	}
	if (act_params(z, n->out[0], &s, &zp) < 0)
		goto done;
	qy = out_i8(z, n->out[0], s, zp);
	if (qy < 0)
		goto done;
	rc = add_node(z, NPUQ_CONCAT, node_label(n), in, n->n_in, &qy, 1, NULL);
done:
	free(in);
	return rc;
}

/* ---- NPU mappings by op (onnx_ops.def's quant column) ---- */

/* 0: mapped; 1: not (why says, the node runs on the CPU); -1: error. */
typedef int (*q_fn)(struct qz *z, int ni, char *why);

static int q_elt(struct qz *z, int ni, char *why);
static int q_reshape(struct qz *z, int ni, char *why);
static int q_none(struct qz *z, int ni, char *why);

static const q_fn q_ops[NPUC_OP_COUNT] = {
#define OP(name, dom, ref, shape, min_in, min_in_new, since, quant, ...) \
	[NPUC_OP_##name] = q_##quant,
#include "onnx_ops.def"
#undef OP
};

/*
 * Concat inputs produced by a requantising node for the Concat alone get
 * the Concat's quantisation, so the Concat is a plain copy. Walked
 * backwards so nested Concats pass their quantisation down.
 */
static int requantising(const struct npuc_node *p)
{
	q_fn fn = q_ops[npuc_node_op(p)];

	return fn && fn != q_none && fn != q_reshape;
}

static void plan_concat_params(struct qz *z)
{
	char why[WHY_LEN];

	for (int ni = z->g->n_nodes - 1; ni >= 0; ni--) {
		const struct npuc_node *n = &z->g->nodes[ni];
		int y = n->n_out > 0 ? n->out[0] : -1;
		struct forced f = { .set = 1 };

		if (npuc_node_op(n) != NPUC_OP_Concat || y < 0 ||
		    concat_plan(z, ni, why))
			continue;
		if (z->forced[y].set) {
			f = z->forced[y];
		} else {
			if (!z->r || y >= z->r->n || !z->r->valid[y])
				continue;
			npuc_quant_act_params(z->r->lo[y], z->r->hi[y], &f.scale, &f.zp);
		}
		for (int j = 0; j < n->n_in; j++) {
			int t = n->in[j], p = z->g->t[t].producer;
			const struct npuc_node *pn;

			if (p < 0 || p >= z->g->n_nodes || z->uses[t] != 1 || is_boundary(z, t))
				continue;
			pn = &z->g->nodes[p];
			/* a fused activation's output comes from the fused producer */
			if (npuc_attr_int(pn, NPUC_ATTR_FUSED, 0) == 1 && pn->n_in >= 1 &&
			    pn->in[0] >= 0 && z->g->t[pn->in[0]].producer >= 0 &&
			    z->g->t[pn->in[0]].producer < z->g->n_nodes)
				pn = &z->g->nodes[z->g->t[pn->in[0]].producer];
			if (default_domain(pn) && requantising(pn))
				z->forced[t] = f;
		}
	}
}

/* ---- Reshape-like ops ---- */

/* Storage offset of logical row-major element i of a tensor with layout L. */
static int64_t storage_of(const struct lay *L, int64_t i)
{
	int64_t hw, c, pix;

	if (!L->nchw)
		return i;
	hw = (int64_t)L->h * L->w;
	c = i / hw;
	pix = i % hw;
	return pix * L->c + c;
}

static int trivial_nchw(const struct lay *L)
{
	return !L->nchw || L->c == 1 || (int64_t)L->h * L->w == 1;
}

/* 1 if Transpose(perm) of X into Y leaves the stored bytes in place. */
static int transpose_in_place(const struct lay *X, const struct lay *Y, const int64_t *perm)
{
	int64_t n = lay_numel(X), xs[NPUC_MAX_RANK], idx[NPUC_MAX_RANK] = { 0 };

	if (n > PERM_CHECK_MAX)
		return 0;
	if (X->rank < 1 || Y->rank != X->rank)
		return X->rank == Y->rank;	/* a scalar stays where it is */
	xs[X->rank - 1] = 1;
	for (int i = X->rank - 2; i >= 0; i--)
		xs[i] = xs[i + 1] * X->dims[i + 1];
	for (int64_t i = 0; i < n; i++) {
		int64_t xi = 0;

		for (int a = 0; a < Y->rank; a++)
			xi += idx[a] * xs[perm[a]];
		if (storage_of(X, xi) != storage_of(Y, i))
			return 0;
		for (int a = Y->rank - 1; a >= 0; a--) {
			if (++idx[a] < Y->dims[a])
				break;
			idx[a] = 0;
		}
	}
	return 1;
}

/* 1 if logical element i of X and of Y are stored at the same offset for all i. */
static int same_order(const struct lay *X, const struct lay *Y)
{
	int64_t n = lay_numel(X);

	if (n > PERM_CHECK_MAX)
		return 0;
	for (int64_t i = 0; i < n; i++)
		if (storage_of(X, i) != storage_of(Y, i))
			return 0;
	return 1;
}

/* Consumers of t are all NPU-mapped Gemm / MatMul reading it as A: 1, else 0. */
static int only_fc_consumers(struct qz *z, int t)
{
	char why[WHY_LEN];

	if (npuc_tensor_is_output(z->g, t) || z->cstart[t] == z->cstart[t + 1])
		return 0;
	for (int e = z->cstart[t]; e < z->cstart[t + 1]; e++) {
		const struct npuc_node *c = &z->g->nodes[z->cons[e]];
		struct fc_plan p;

		if ((npuc_node_op(c) != NPUC_OP_Gemm && npuc_node_op(c) != NPUC_OP_MatMul) ||
		    c->n_in < 2 || c->in[0] != t || c->in[1] == t || !is_const(z, c->in[1]) ||
		    fc_plan(z, z->cons[e], &p, why))
			return 0;
	}
	return 1;
}

static int reshape_plan(struct qz *z, int ni, int *hwc, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	struct lay X, Y;
	int transpose = npuc_node_op(n) == NPUC_OP_Transpose;

	*hwc = 0;
	if (n->n_in < 1 || n->n_out < 1 || n->out[0] < 0 || !act_in(z, n->in[0], &X) ||
	    tlay(z, n->out[0], &Y) || lay_numel(&X) != lay_numel(&Y))
		return why_set(why, "%s of an input of unknown shape", n->op);
	for (int j = 1; j < n->n_in; j++)
		if (n->in[j] >= 0 && !is_const(z, n->in[j]))
			return why_set(why, "%s with a computed shape / axes input", n->op);
	for (int j = 1; j < n->n_out; j++)
		if (n->out[j] >= 0 && z->uses[n->out[j]])
			return why_set(why, "%s with a used second output", n->op);
	if (z->hwc[n->in[0]].set)
		return why_set(why, "%s of an HWC-ordered tensor", n->op);
	if (transpose) {
		int64_t perm[NPUC_MAX_RANK];

		for (int i = 0; i < X.rank; i++)
			perm[i] = X.rank - 1 - i;
		if (!attr_ints(n, "perm", perm, X.rank) || Y.rank != X.rank)
			return why_set(why, "Transpose perm malformed");
		for (int i = 0; i < X.rank; i++) {
			if (perm[i] < 0 || perm[i] >= X.rank)
				return why_set(why, "Transpose perm malformed");
			for (int j = 0; j < i; j++)
				if (perm[j] == perm[i])
					return why_set(why, "Transpose perm malformed");
		}
		return transpose_in_place(&X, &Y, perm) ? 0 :
		       why_set(why, "Transpose moves data (no NPU transpose)");
	}
	if ((trivial_nchw(&X) && trivial_nchw(&Y)) || same_dims(&X, &Y) || same_order(&X, &Y))
		return 0;
	if (X.nchw && !Y.nchw && Y.rank <= 2 && Y.c == lay_numel(&X) && !is_boundary(z, n->out[0])
	    && z->qf[n->in[0]] < 0 && only_fc_consumers(z, n->out[0])) {
		*hwc = 1;	/* flattened for Gemm: keep NHWC bytes, permute the weights */
		return 0;
	}
	return why_set(why, "%s changes the NHWC byte order (%s -> %s)", n->op,
		       X.nchw ? "NCHW" : "row-major", Y.nchw ? "NCHW" : "row-major");
}

static int q_reshape(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	int x = n->in[0], y = n->out[0], hwc, qx, qy, is_f;
	struct lay X;
	char name[160];

	if (reshape_plan(z, ni, &hwc, why))
		return 1;
	/* stay on the side the input is on (float after a CPU node, else int8) */
	is_f = z->qi8[x] < 0 && z->qf[x] >= 0 && !hwc;
	qx = is_f ? z->qf[x] : get_i8(z, x);
	if (qx < 0)
		return -1;
	if (hwc) {
		tlay(z, x, &X);
		z->hwc[y].set = 1;
		z->hwc[y].c = X.c;
		z->hwc[y].h = X.h;
		z->hwc[y].w = X.w;
	}
	qy = mk_tensor(z, y, is_f, z->q->t[qx].scale, z->q->t[qx].zp);
	if (qy < 0)
		return -1;
	if (hwc) {
		/* not the ONNX element order: a distinct name keeps reports from matching it */
		snprintf(name, sizeof(name), "%s:hwc", z->g->t[y].name);
		free(z->q->t[qy].name);
		z->q->t[qy].name = strdup(name);
		if (!z->q->t[qy].name)
			return fail(z, "out of memory");
	}
	return add_node(z, NPUQ_RESHAPE, node_label(n), &qx, 1, &qy, 1, NULL);
}

/* ---- dispatch ---- */

static int float_io(const struct qz *z, const struct npuc_node *n)
{
	for (int j = 0; j < n->n_in; j++)
		if (n->in[j] >= 0 && !is_const(z, n->in[j]) &&
		    z->g->t[n->in[j]].dtype != NPUC_DT_F32)
			return 0;
	for (int j = 0; j < n->n_out; j++)
		if (n->out[j] >= 0 && z->g->t[n->out[j]].dtype != NPUC_DT_F32 &&
		    (z->uses[n->out[j]] || j == 0))
			return 0;
	return 1;
}

/* Two-input arithmetic; a LUT when one input is a scalar constant. */
static int q_elt(struct qz *z, int ni, char *why)
{
	int rc = q_eltwise(z, ni, why);

	if (rc == 1 && lut_input(z, &z->g->nodes[ni]) >= 0)
		rc = q_lut(z, ni, why);
	return rc;
}

static int q_none(struct qz *z, int ni, char *why)
{
	return why_set(why, "no NPU mapping for %s", z->g->nodes[ni].op);
}

static int q_dispatch(struct qz *z, int ni, char *why)
{
	const struct npuc_node *n = &z->g->nodes[ni];
	q_fn fn;

	if (!default_domain(n))
		return why_set(why, "op %s.%s is not in the default ONNX domain", n->domain, n->op);
	if (!float_io(z, n))
		return why_set(why, "%s on non-float tensors", n->op);
	fn = q_ops[npuc_node_op(n)];
	return fn ? fn(z, ni, why) : q_none(z, ni, why);
}

static int q_one(struct qz *z, int ni)
{
	char why[WHY_LEN] = "";
	int rc;

	if (z->skip[ni])
		return 0;
	if (z->gate[ni] >= 0)
		return q_gated(z, ni, z->gate[ni]);
	rc = gated_pair(z, ni);
	if (rc >= 0) {			/* the Mul will compute the whole function */
		z->gate[rc] = ni;
		return 0;
	}
	rc = q_dispatch(z, ni, why);
	if (rc == 1)
		rc = emit_cpu(z, ni, why);
	return rc;
}

/* ---- setup ---- */

static int build_consumers(struct qz *z)
{
	const struct npuc_graph *g = z->g;
	size_t ne = 0;
	int *fill;

	for (int i = 0; i < g->n_nodes; i++)
		ne += (size_t)g->nodes[i].n_in;
	if (ne > INT_MAX)
		return fail(z, "graph too large");
	z->cstart = calloc((size_t)g->n_t + 2, sizeof(int));
	z->cons = malloc((ne + 1) * sizeof(int));
	fill = calloc((size_t)g->n_t + 1, sizeof(int));
	if (!z->cstart || !z->cons || !fill) {
		free(fill);
		return fail(z, "out of memory");
	}
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++)
			if (g->nodes[i].in[j] >= 0)
				z->cstart[g->nodes[i].in[j] + 1]++;
	for (int t = 0; t < g->n_t; t++)
		z->cstart[t + 1] += z->cstart[t];
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++) {
			int t = g->nodes[i].in[j];

			if (t >= 0)
				z->cons[z->cstart[t] + fill[t]++] = i;
		}
	free(fill);
	return 0;
}

static int qz_init(struct qz *z)
{
	size_t nt = (size_t)z->g->n_t + 1;

	z->qi8 = malloc(nt * sizeof(int));
	z->qf = malloc(nt * sizeof(int));
	z->uses = malloc(nt * sizeof(int));
	z->skip = calloc((size_t)z->g->n_nodes + 1, 1);
	z->gate = malloc(((size_t)z->g->n_nodes + 1) * sizeof(int));
	z->forced = calloc(nt, sizeof(*z->forced));
	z->hwc = calloc(nt, sizeof(*z->hwc));
	z->q = npuq_graph_new();
	if (!z->qi8 || !z->qf || !z->uses || !z->skip || !z->gate || !z->forced || !z->hwc ||
	    !z->q)
		return fail(z, "out of memory");
	for (int i = 0; i < z->g->n_nodes; i++)
		z->gate[i] = -1;
	for (int t = 0; t < z->g->n_t; t++)
		z->qi8[t] = z->qf[t] = -1;
	npuc_tensor_uses(z->g, z->uses);
	return build_consumers(z);
}

static void qz_free(struct qz *z)
{
	free(z->qi8);
	free(z->qf);
	free(z->uses);
	free(z->skip);
	free(z->gate);
	free(z->forced);
	free(z->hwc);
	free(z->cstart);
	free(z->cons);
}

/* Validates node / graph indices so the rest can trust them. */
static int check_graph(struct qz *z)
{
	const struct npuc_graph *g = z->g;

	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] < -1 || n->in[j] >= g->n_t)
				return fail(z, "node '%s': bad input index", node_label(n));
		for (int j = 0; j < n->n_out; j++)
			if (n->out[j] < -1 || n->out[j] >= g->n_t)
				return fail(z, "node '%s': bad output index", node_label(n));
	}
	for (int i = 0; i < g->n_inputs; i++)
		if (g->inputs[i] < 0 || g->inputs[i] >= g->n_t)
			return fail(z, "bad graph input index");
	for (int i = 0; i < g->n_outputs; i++)
		if (g->outputs[i] < 0 || g->outputs[i] >= g->n_t)
			return fail(z, "bad graph output index");
	return 0;
}

static int q_inputs(struct qz *z)
{
	for (int i = 0; i < z->g->n_inputs; i++) {
		int t = z->g->inputs[i], q = z->qf[t];

		if (q < 0) {
			if (tlay(z, t, &(struct lay){ 0 }))
				return fail(z, "graph input '%s' has an unknown or empty shape",
					    z->g->t[t].name);
			q = mk_tensor(z, t, 1, 0.0f, 0);
			if (q < 0)
				return -1;
		}
		if (npuq_add_input(z->q, q, z->d) < 0)
			return -1;
	}
	return 0;
}

static int q_outputs(struct qz *z)
{
	for (int i = 0; i < z->g->n_outputs; i++) {
		int t = z->g->outputs[i], q;

		if (z->qf[t] < 0 && z->qi8[t] < 0 && is_const(z, t))
			return fail(z, "graph output '%s' is a constant (a qgraph holds no "
				    "constant tensors)", z->g->t[t].name);
		q = get_f(z, t);
		if (q < 0)
			return -1;
		if (npuq_add_output(z->q, q, z->d) < 0)
			return -1;
	}
	return 0;
}

struct npuq_graph *npuc_quantize(struct npuc_graph *g, const struct npuc_act_ranges *ranges,
				 const struct npuc_quant_options *opt, struct npuc_diag *d)
{
	struct qz z = { .g = g, .r = ranges, .d = d };
	int rc = -1;

	if (!g) {
		npuc_diag_set(d, "quantize: no graph");
		return NULL;
	}
	if (opt)
		z.opt = *opt;
	else
		npuc_quant_options_default(&z.opt);
	if (check_graph(&z) < 0 || qz_init(&z) < 0)
		goto out;
	plan_concat_params(&z);
	if (q_inputs(&z) < 0)
		goto out;
	for (int ni = 0; ni < g->n_nodes; ni++)
		if (q_one(&z, ni) < 0)
			goto out;
	if (q_outputs(&z) < 0)
		goto out;
	z.q->src = g;
	rc = 0;
out:
	qz_free(&z);
	if (rc) {
		npuq_graph_free(z.q);	/* src not attached yet: the caller keeps g */
		return NULL;
	}
	return z.q;
}

/* ---- bias correction and shape refinement ---- */

int npuc_quant_bias_correct(struct npuq_graph *q, int qn, const double *mean_err,
			    struct npuc_diag *d)
{
	struct npuq_node *n;
	const struct npuq_tensor *x, *y;

	if (!q || qn < 0 || qn >= q->n_nodes || q->nodes[qn].op != NPUQ_CONV ||
	    q->nodes[qn].n_in < 1 || q->nodes[qn].n_out < 1) {
		npuc_diag_set(d, "bias correction: node %d is not a CONV", qn);
		return -1;
	}
	n = &q->nodes[qn];
	x = &q->t[n->in[0]];
	y = &q->t[n->out[0]];
	if (!n->u.conv.q || !n->u.conv.w_scale) {
		npuc_diag_set(d, "bias correction: CONV '%s' has no parameters", n->name);
		return -1;
	}
	for (int oc = 0; oc < y->c; oc++) {
		double s = (double)x->scale * n->u.conv.w_scale[oc], v;

		if (!(s > 0) || !isfinite(mean_err[oc]))
			continue;
		v = (double)n->u.conv.q[oc].bias + round(mean_err[oc] / s);
		v = v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : v;
		n->u.conv.q[oc].bias = (int32_t)v;
	}
	return 0;
}

struct refine_ctx {
	struct npuc_graph *g;
	struct npuc_diag *d;
};

static int refine_observe(void *ctx, const struct npuc_graph *g, int node, int tensor,
			  const struct npuc_value *v)
{
	struct refine_ctx *c = ctx;
	enum npuc_dtype dt = c->g->t[tensor].dtype;

	(void)g;
	(void)node;
	/* declared F16/F64 tensors carry F32 values */
	dt = dt == NPUC_DT_F16 || dt == NPUC_DT_F64 ? NPUC_DT_UNDEF : v->dtype;
	return npuc_tensor_refine(c->g, tensor, dt, v->rank, v->dims, "run", c->d) < 0;
}

int npuc_refine_shapes_by_run(struct npuc_graph *g, const struct npuc_value *inputs,
			      struct npuc_diag *d)
{
	struct refine_ctx c = { .g = g, .d = d };
	struct npuc_ref_trace tr = { .observe = refine_observe, .ctx = &c };
	struct npuc_value *outs = calloc((size_t)g->n_outputs + 1, sizeof(*outs));
	int rc;

	if (!outs) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	rc = npuc_ref_run(g, inputs, outs, &tr, d);
	for (int i = 0; i < g->n_outputs; i++)
		npuc_value_free(&outs[i]);
	free(outs);
	return rc;
}
