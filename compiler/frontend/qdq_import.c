// SPDX-License-Identifier: MIT
/*
 * Pre-quantised ONNX (QOperator and QDQ) -> qgraph. See qdq_import.h.
 *
 * One pass over the source nodes in topological order. Every node is
 * either part of a recognised pattern (emitted as NPU nodes, the pattern's
 * other nodes marked done) or an NPUQ_CPU node. DequantizeLinear nodes are
 * emitted lazily: a DQ feeding a pattern is absorbed by it, and only a
 * consumer that needs the float value (a CPU node, a graph output) makes
 * it an NPUQ_DEQUANTIZE (or a CPU node when it is per-axis / of a
 * constant). Emitting in source order keeps the qgraph in execution order.
 *
 * Emitters return 1 (emitted), 0 (does not fit: why[] says why, the node
 * goes to the CPU) or -1 (hard error: out of memory, inconsistent graph).
 */
#include "qdq_import.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"

#define WHY_LEN 200

/* Quantisation parameters of an 8-bit activation tensor (int8 domain). */
struct tq {
	float scale;
	int32_t zp;
	int known;		/* scale known (0: only the zero point is) */
};

struct qctx {
	struct npuc_graph *g;
	struct npuq_graph *q;
	struct npuc_diag *d;
	int *qt;		/* per source tensor: qgraph tensor or -1 */
	struct tq *tq;		/* per source tensor: 8-bit activation qparams */
	int *cons_off;		/* CSR: consumers of source tensor t are */
	int *cons;		/*   cons[cons_off[t] .. cons_off[t + 1]) */
	unsigned char *done;	/* per source node: absorbed by a pattern */
};

/* Normalised NHWC view of a source tensor (qir.h conventions). */
struct lay {
	int h, w, c, nchw;
};

static void why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void why_set(char *why, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, WHY_LEN, fmt, ap);
	va_end(ap);
}

/* ---- source graph access ---- */

static const struct npuc_tensor *ten(const struct qctx *c, int t)
{
	return &c->g->t[t];
}

static const struct npuc_node *node(const struct qctx *c, int n)
{
	return &c->g->nodes[n];
}

static int is8(enum npuc_dtype dt)
{
	return dt == NPUC_DT_U8 || dt == NPUC_DT_I8;
}

static int is_const(const struct qctx *c, int t)
{
	return t >= 0 && (ten(c, t)->flags & NPUC_T_CONST) && ten(c, t)->data;
}

/* Input i of node n, or -1 if absent / omitted. */
static int nin(const struct npuc_node *n, int i)
{
	return i < n->n_in ? n->in[i] : -1;
}

static int op_is(const struct npuc_node *n, enum npuc_op op)
{
	return npuc_node_op(n) == op;
}

/* How an op between DequantizeLinear and QuantizeLinear maps (onnx_ops.def's qdq column). */
enum qdq_kind { QDQ_none, QDQ_elt, QDQ_conv, QDQ_fc, QDQ_pool, QDQ_reshape, QDQ_concat, QDQ_lut };

static const unsigned char qdq_kind[NPUC_OP_COUNT] = {
#define OP(name, dom, ref, shape, min_in, min_in_new, since, quant, qdq, ...) \
	[NPUC_OP_##name] = QDQ_##qdq,
#include "onnx_ops.def"
#undef OP
};

static int producer_is(const struct qctx *c, int t, enum npuc_op op)
{
	int p = t >= 0 ? ten(c, t)->producer : -1;

	return p >= 0 && op_is(node(c, p), op);
}

static int n_consumers(const struct qctx *c, int t)
{
	return c->cons_off[t + 1] - c->cons_off[t];
}

/* The only consumer node of t, or -1 (none, several, or a graph output). */
static int sole_consumer(const struct qctx *c, int t)
{
	if (n_consumers(c, t) != 1 || (ten(c, t)->flags & NPUC_T_OUTPUT))
		return -1;
	return c->cons[c->cons_off[t]];
}

/* Element i of a constant as a double (any supported dtype). */
static double cval(const struct npuc_tensor *t, int64_t i)
{
	const unsigned char *p = t->data;

	switch (t->dtype) {
	case NPUC_DT_F32: {
		float f;

		memcpy(&f, p + 4 * i, 4);
		return f;
	}
	case NPUC_DT_U8:
		return p[i];
	case NPUC_DT_I8:
		return (int8_t)p[i];
	case NPUC_DT_BOOL:
		return p[i] != 0;
	case NPUC_DT_I32: {
		int32_t v;

		memcpy(&v, p + 4 * i, 4);
		return v;
	}
	case NPUC_DT_I64: {
		int64_t v;

		memcpy(&v, p + 8 * i, 8);
		return (double)v;
	}
	default:
		return 0;
	}
}

/* Integer element i of an 8-bit constant mapped to int8 (uint8 - 128). */
static int32_t c8(const struct npuc_tensor *t, int64_t i)
{
	const unsigned char *p = t->data;

	return t->dtype == NPUC_DT_U8 ? (int32_t)p[i] - 128 : (int32_t)(int8_t)p[i];
}

static int64_t numel(const struct npuc_tensor *t)
{
	return npuc_tensor_numel(t);
}

static int shape_known(const struct npuc_tensor *t)
{
	return numel(t) >= 0;
}

static int same_shape(const struct npuc_tensor *a, const struct npuc_tensor *b)
{
	if (a->rank != b->rank || !shape_known(a) || !shape_known(b))
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->dims[i] != b->dims[i])
			return 0;
	return 1;
}

/* NHWC extent of a tensor with known shape; -1 if unknown or too large. */
static int layout_of(const struct npuc_tensor *t, struct lay *l)
{
	int64_t n = numel(t), h = 1, w = 1, ch = 1;
	int nchw = 0;

	if (n < 0 || n > INT32_MAX)
		return -1;
	if (t->rank == 4 && t->dims[0] == 1) {
		h = t->dims[2];
		w = t->dims[3];
		ch = t->dims[1];
		nchw = 1;
	} else if (t->rank == 3) {
		h = t->dims[0];
		w = t->dims[1];
		ch = t->dims[2];
	} else if (t->rank == 2) {
		w = t->dims[0];
		ch = t->dims[1];
	} else if (t->rank == 1) {
		ch = t->dims[0];
	} else if (t->rank != 0) {
		ch = n;			/* flat: CPU side only */
	}
	l->h = (int)h;
	l->w = (int)w;
	l->c = (int)ch;
	l->nchw = nchw;
	return 0;
}

/* 1 if the tensor's stored (NHWC) byte order is its ONNX row-major order. */
static int rowmajor_stored(const struct npuc_tensor *t)
{
	struct lay l;

	if (layout_of(t, &l) < 0)
		return 0;
	if (t->rank > 4 || (t->rank == 4 && t->dims[0] != 1))
		return 1;
	return !l.nchw || l.c == 1 || (int64_t)l.h * l.w == 1;
}

/* 1 for a rank-4 batch-1 tensor of known shape (NCHW activation). */
static int is_nchw4(const struct npuc_tensor *t)
{
	return t->rank == 4 && shape_known(t) && t->dims[0] == 1 && numel(t) <= INT32_MAX;
}

/* ---- quantisation parameters ---- */

static int32_t to_i8(enum npuc_dtype dt, double v)
{
	return dt == NPUC_DT_U8 ? (int32_t)v - 128 : (int32_t)v;
}

static int scale_ok(double s)
{
	return isfinite(s) && s > 0 && s < 1e30;
}

/*
 * Per-tensor (scale, zero point) from a node's scale input si and zero
 * point input zi (-1 = absent: zero point 0 of type qdt). 0 on success,
 * -1 if they are not single constant values.
 */
static int pt_params(const struct qctx *c, int si, int zi, enum npuc_dtype qdt, float *scale,
		     int32_t *zp)
{
	const struct npuc_tensor *s, *z;

	if (!is_const(c, si))
		return -1;
	s = ten(c, si);
	if (s->dtype != NPUC_DT_F32 || numel(s) != 1 || !scale_ok(cval(s, 0)))
		return -1;
	*scale = (float)cval(s, 0);
	if (zi < 0) {
		*zp = to_i8(qdt, 0);
		return 0;
	}
	if (!is_const(c, zi))
		return -1;
	z = ten(c, zi);
	if (!is8(z->dtype) || numel(z) != 1)
		return -1;
	*zp = c8(z, 0);
	return 0;
}

/*
 * Per-channel parameters: n scales (a single value is broadcast) into s[]
 * and the common int8 zero point into *zp. Returns 0, -1 if not constant /
 * wrong size, -2 if the zero points differ between channels.
 */
static int pc_params(const struct qctx *c, int si, int zi, enum npuc_dtype qdt, int64_t n,
		     double *s, int32_t *zp)
{
	const struct npuc_tensor *st, *zt;
	int64_t ns, nz;

	if (!is_const(c, si) || ten(c, si)->dtype != NPUC_DT_F32)
		return -1;
	st = ten(c, si);
	ns = numel(st);
	if (ns != 1 && ns != n)
		return -1;
	for (int64_t i = 0; i < n; i++) {
		s[i] = cval(st, ns == 1 ? 0 : i);
		if (!scale_ok(s[i]))
			return -1;
	}
	if (zi < 0) {
		*zp = to_i8(qdt, 0);
		return 0;
	}
	if (!is_const(c, zi) || !is8(ten(c, zi)->dtype))
		return -1;
	zt = ten(c, zi);
	nz = numel(zt);
	if (nz != 1 && nz != n)
		return -1;
	*zp = c8(zt, 0);
	for (int64_t i = 1; i < nz; i++)
		if (c8(zt, i) != *zp)
			return -2;
	return 0;
}

/* Type of the quantised side of a Q / DQ node (zero point type, default uint8). */
static enum npuc_dtype qside_dtype(const struct qctx *c, const struct npuc_node *n, int qi)
{
	int z = nin(n, 2);

	if (qi >= 0 && is8(ten(c, qi)->dtype))
		return ten(c, qi)->dtype;
	if (z >= 0 && is8(ten(c, z)->dtype))
		return ten(c, z)->dtype;
	return NPUC_DT_U8;
}

/* Q / DQ node with single-value parameters: its (scale, zp). */
static int qdq_pt(const struct qctx *c, const struct npuc_node *n, int qi, float *s, int32_t *zp)
{
	return pt_params(c, nin(n, 1), nin(n, 2), qside_dtype(c, n, qi), s, zp);
}

static int tq_set(struct qctx *c, int t, float s, int32_t zp, int known)
{
	if (c->tq[t].known || (c->tq[t].zp != INT32_MIN && !known))
		return 0;
	c->tq[t].scale = known ? s : 1.0f;
	c->tq[t].zp = zp;
	c->tq[t].known = known;
	return 1;
}

/* Ops whose 8-bit output has the quantisation of their 8-bit input 0. */
static int passthrough_op(const struct npuc_node *n)
{
	return npuc_node_has(n, OPF_Q_PASS);
}

/* (scale input, zero point input) of the output of a QOperator node, or 0. */
static int qop_out_params(const struct npuc_node *n, int *si, int *zi)
{
	unsigned f = npuc_op_flags(npuc_node_op(n));

	if (f & OPF_QOP_BINARY) {
		*si = 6;
		*zi = 7;
		return 1;
	}
	if (f & OPF_QOP_UNARY) {
		*si = 3;
		*zi = 4;
		return 1;
	}
	if (f & OPF_QOP_CONCAT) {
		*si = 0;
		*zi = 1;
		return 1;
	}
	return 0;
}

/* Parameters an 8-bit tensor gets from its producer. */
static void tq_from_producer(struct qctx *c, int t)
{
	const struct npuc_node *n;
	int p = ten(c, t)->producer, si, zi;
	float s;
	int32_t zp;

	if (p < 0)
		return;
	n = node(c, p);
	if (op_is(n, NPUC_OP_QuantizeLinear)) {
		if (qdq_pt(c, n, t, &s, &zp) == 0)
			tq_set(c, t, s, zp, 1);
	} else if (qop_out_params(n, &si, &zi)) {
		if (pt_params(c, nin(n, si), nin(n, zi), ten(c, t)->dtype, &s, &zp) == 0)
			tq_set(c, t, s, zp, 1);
	} else if (passthrough_op(n) && nin(n, 0) >= 0 && is8(ten(c, nin(n, 0))->dtype) &&
		   c->tq[nin(n, 0)].zp != INT32_MIN) {
		const struct tq *x = &c->tq[nin(n, 0)];

		tq_set(c, t, x->scale, x->zp, x->known);
	}
}

/* Parameters a consumer node states for its input i (tensor t). */
static void tq_from_consumer(struct qctx *c, int t, const struct npuc_node *n, int i)
{
	enum npuc_dtype dt = ten(c, t)->dtype;
	unsigned f = npuc_op_flags(npuc_node_op(n));
	int si = -1, zi = -1, zonly = 0;
	float s = 1.0f;
	int32_t zp;

	if (op_is(n, NPUC_OP_DequantizeLinear) && i == 0) {
		si = 1;
		zi = 2;
	} else if ((f & OPF_QOP_BINARY) && (i == 0 || i == 3)) {
		si = i + 1;
		zi = i + 2;
	} else if ((f & OPF_QOP_UNARY) && i == 0) {
		si = 1;
		zi = 2;
	} else if ((f & OPF_QOP_CONCAT) && i >= 2 && (i - 2) % 3 == 0) {
		si = i + 1;
		zi = i + 2;
	} else if (op_is(n, NPUC_OP_ConvInteger) && i == 0) {
		zi = 2;
		zonly = 1;
	} else if (op_is(n, NPUC_OP_MatMulInteger) && (i == 0 || i == 1)) {
		zi = 2 + i;
		zonly = 1;
	} else {
		return;
	}
	if (zonly) {
		zp = to_i8(dt, 0);
		zi = nin(n, zi);
		if (zi >= 0) {
			if (!is_const(c, zi) || !is8(ten(c, zi)->dtype) || numel(ten(c, zi)) != 1)
				return;
			zp = c8(ten(c, zi), 0);
		}
		tq_set(c, t, s, zp, 0);
		return;
	}
	if (pt_params(c, nin(n, si), nin(n, zi), dt, &s, &zp) == 0)
		tq_set(c, t, s, zp, 1);
}

static void tq_resolve(struct qctx *c, int t)
{
	if (!is8(ten(c, t)->dtype) || is_const(c, t))
		return;
	tq_from_producer(c, t);
	for (int k = c->cons_off[t]; k < c->cons_off[t + 1]; k++) {
		const struct npuc_node *n = node(c, c->cons[k]);

		for (int i = 0; i < n->n_in; i++)
			if (n->in[i] == t)
				tq_from_consumer(c, t, n, i);
	}
	if (c->tq[t].zp == INT32_MIN)
		tq_set(c, t, 1.0f, to_i8(ten(c, t)->dtype, 0), 0);
}

/* Graph inputs first, then node outputs in execution order. */
static void tq_all(struct qctx *c)
{
	for (int t = 0; t < c->g->n_t; t++)
		c->tq[t].zp = INT32_MIN;
	for (int i = 0; i < c->g->n_inputs; i++)
		tq_resolve(c, c->g->inputs[i]);
	for (int n = 0; n < c->g->n_nodes; n++)
		for (int i = 0; i < node(c, n)->n_out; i++)
			if (node(c, n)->out[i] >= 0)
				tq_resolve(c, node(c, n)->out[i]);
}

/* ---- qgraph tensors and nodes ---- */

/* Creates the qgraph tensor of source tensor t. */
static int new_qt(struct qctx *c, int t, unsigned int flags)
{
	const struct npuc_tensor *s = ten(c, t);
	struct lay l = { 1, 1, 1, 0 };
	struct npuq_tensor *x;
	float scale = 1.0f;
	int32_t zp = 0;
	int i;

	if (layout_of(s, &l) < 0 || (int64_t)l.h * l.w * l.c < 1) {
		npuc_diag_set(c->d, "qdq import: tensor '%s' has an unknown or empty shape "
			      "(shape inference could not finish it: see "
			      "npuc_refine_shapes_by_run)", s->name);
		return -1;
	}
	if (is8(s->dtype)) {
		scale = c->tq[t].scale;
		zp = c->tq[t].zp;
	} else {
		flags |= NPUQ_T_FLOAT;
	}
	i = npuq_add_tensor(c->q, s->name, l.h, l.w, l.c, scale, zp, flags, c->d);
	if (i < 0)
		return -1;
	x = &c->q->t[i];
	/* The ONNX type, for CPU nodes and the boundary (qir.h: npuq_tensor.dtype). */
	if (is8(s->dtype) || s->dtype == NPUC_DT_I32 || s->dtype == NPUC_DT_I64 ||
	    s->dtype == NPUC_DT_BOOL)
		x->dtype = s->dtype;
	x->onnx_rank = s->rank;
	for (int k = 0; k < NPUC_MAX_RANK; k++)
		x->onnx_dims[k] = k < s->rank ? s->dims[k] : 0;
	x->nchw = l.nchw;
	c->qt[t] = i;
	return i;
}

static int add_node(struct qctx *c, enum npuq_op op, const char *name, const int *in, int n_in,
		    const int *out, int n_out, const void *params)
{
	return npuq_add_node(c->q, op, name, in, n_in, out, n_out, params, c->d) < 0 ? -1 : 1;
}

static int need_tensor(struct qctx *c, int t);

/* Emits source node n as an NPUQ_CPU node. */
static int emit_cpu(struct qctx *c, int n, const char *why)
{
	const struct npuc_node *nd = node(c, n);
	struct npuq_cpu cpu = { .src_node = n };
	int *in = NULL, *out = NULL, n_in = 0, n_out = 0, r = -1;

	in = malloc(sizeof(int) * (size_t)(nd->n_in + 1));
	out = malloc(sizeof(int) * (size_t)(nd->n_out + 1));
	cpu.reason = strdup(why && why[0] ? why : "no NPU equivalent");
	if (!in || !out || !cpu.reason) {
		npuc_diag_set(c->d, "out of memory");
		goto out;
	}
	for (int i = 0; i < nd->n_in; i++) {
		int t = nd->in[i], dup = 0;

		if (t < 0 || is_const(c, t))
			continue;
		for (int j = 0; j < i; j++)
			dup |= nd->in[j] == t;
		if (dup)
			continue;	/* qref convention: distinct inputs, first-use order */
		in[n_in] = need_tensor(c, t);
		if (in[n_in++] < 0)
			goto out;
	}
	for (int i = 0; i < nd->n_out; i++) {
		if (nd->out[i] < 0)
			continue;
		out[n_out] = new_qt(c, nd->out[i], 0);
		if (out[n_out++] < 0)
			goto out;
	}
	r = add_node(c, NPUQ_CPU, nd->name, in, n_in, out, n_out, &cpu);
	cpu.reason = NULL;	/* the graph's, even on failure (qir.h) */
out:
	free(cpu.reason);
	free(in);
	free(out);
	return r < 0 ? -1 : 0;
}

static int dq_matches_tensor(const struct qctx *c, const struct npuc_node *dq, float *s,
			     int32_t *zp)
{
	int x = nin(dq, 0);

	if (x < 0 || is_const(c, x) || !is8(ten(c, x)->dtype) || c->qt[x] < 0)
		return 0;
	if (qdq_pt(c, dq, x, s, zp) < 0)
		return 0;
	return c->tq[x].known && c->tq[x].scale == *s && c->tq[x].zp == *zp;
}

/*
 * Gives the float output of a DequantizeLinear node p a qgraph tensor:
 * NPUQ_DEQUANTIZE of an int8 activation quantised per tensor, else the DQ
 * runs on the CPU.
 */
static int materialize_dq(struct qctx *c, int p)
{
	const struct npuc_node *dq = node(c, p);
	int x = nin(dq, 0), y = dq->out[0], in, out;
	char why[WHY_LEN];
	float s;
	int32_t zp;

	if (dq_matches_tensor(c, dq, &s, &zp)) {
		in = c->qt[x];
		out = new_qt(c, y, 0);
		if (out < 0 || add_node(c, NPUQ_DEQUANTIZE, dq->name, &in, 1, &out, 1, NULL) < 0)
			return -1;
		return out;
	}
	if (is_const(c, x))
		why_set(why, "DequantizeLinear of a constant feeding a CPU node");
	else if (!is8(ten(c, x)->dtype))
		why_set(why, "DequantizeLinear of a %s tensor (the NPU has only int8 tensors)",
			npuc_dtype_name(ten(c, x)->dtype));
	else
		why_set(why, "per-axis or non-constant DequantizeLinear parameters, or "
			"parameters that differ from the tensor's other quantisation");
	if (emit_cpu(c, p, why) < 0)
		return -1;
	return c->qt[y];
}

/* The qgraph tensor holding source tensor t (emitting a lazy DQ if needed). */
static int need_tensor(struct qctx *c, int t)
{
	int p;

	if (c->qt[t] >= 0)
		return c->qt[t];
	p = ten(c, t)->producer;
	if (p >= 0 && op_is(node(c, p), NPUC_OP_DequantizeLinear) && node(c, p)->out[0] == t)
		return materialize_dq(c, p);
	npuc_diag_set(c->d, "qdq import: tensor '%s' is used before it is produced",
		      ten(c, t)->name);
	return -1;
}

/* ---- pattern matching ---- */

/*
 * t is the output of a DequantizeLinear of an int8 activation whose
 * parameters are the activation's own: returns the activation (source
 * tensor index), else -1.
 */
static int dq_act(const struct qctx *c, int t)
{
	float s;
	int32_t zp;

	if (t < 0 || !producer_is(c, t, NPUC_OP_DequantizeLinear))
		return -1;
	if (!dq_matches_tensor(c, node(c, ten(c, t)->producer), &s, &zp))
		return -1;
	return nin(node(c, ten(c, t)->producer), 0);
}

/* t is the output of a DequantizeLinear of a constant: returns the DQ node, else -1. */
static int dq_const(const struct qctx *c, int t)
{
	int p = t >= 0 ? ten(c, t)->producer : -1;

	if (p < 0 || !op_is(node(c, p), NPUC_OP_DequantizeLinear) || !is_const(c, nin(node(c, p), 0)))
		return -1;
	return p;
}

/* Clip bounds from inputs (opset >= 11) or attributes; -1 if not constant. */
static int clip_bounds(const struct qctx *c, const struct npuc_node *n, float *lo, float *hi)
{
	*lo = -INFINITY;
	*hi = INFINITY;
	if (npuc_node_attr(n, "min"))
		*lo = npuc_attr_float(n, "min", -INFINITY);
	if (npuc_node_attr(n, "max"))
		*hi = npuc_attr_float(n, "max", INFINITY);
	for (int i = 1; i <= 2; i++) {
		int t = nin(n, i);

		if (t < 0)
			continue;
		if (!is_const(c, t) || numel(ten(c, t)) != 1 || ten(c, t)->dtype != NPUC_DT_F32)
			return -1;
		if (i == 1)
			*lo = (float)cval(ten(c, t), 0);
		else
			*hi = (float)cval(ten(c, t), 0);
	}
	return 0;
}

#define MAX_CHAIN 8

/* The output side of a pattern: Q node, quantised tensor, fused clamp. */
struct outq {
	int qnode;		/* the QuantizeLinear node */
	int y;			/* its 8-bit output (source tensor) */
	float scale;
	int32_t zp;
	float lo, hi;		/* fused Relu / Clip range (float) */
	int chain[MAX_CHAIN], n_chain;	/* fused activation nodes */
};

/*
 * Follows the float output t of a candidate node through Relu / Clip
 * nodes (each the sole consumer) to a per-tensor QuantizeLinear.
 * Returns 0 and fills *o, or -1.
 */
static int find_outq(const struct qctx *c, int t, struct outq *o)
{
	o->lo = -INFINITY;
	o->hi = INFINITY;
	o->n_chain = 0;
	for (;;) {
		int n = sole_consumer(c, t);
		const struct npuc_node *nd;

		if (n < 0 || c->done[n])
			return -1;
		nd = node(c, n);
		if (nin(nd, 0) != t)
			return -1;
		if (op_is(nd, NPUC_OP_QuantizeLinear)) {
			o->qnode = n;
			o->y = nd->out[0];
			if (o->y < 0 || qdq_pt(c, nd, o->y, &o->scale, &o->zp) < 0 ||
			    !c->tq[o->y].known)
				return -1;
			return 0;
		}
		if (o->n_chain == MAX_CHAIN || nd->n_out < 1 || nd->out[0] < 0)
			return -1;
		if (op_is(nd, NPUC_OP_Relu)) {
			o->lo = fmaxf(o->lo, 0.0f);
		} else if (op_is(nd, NPUC_OP_Clip)) {
			float lo, hi;

			if (clip_bounds(c, nd, &lo, &hi) < 0)
				return -1;
			o->lo = fmaxf(o->lo, lo);
			o->hi = fminf(o->hi, hi);
		} else {
			return -1;
		}
		o->chain[o->n_chain++] = n;
		t = nd->out[0];
	}
}

/* ONNX QuantizeLinear of one float value (float32 arithmetic, half to even). */
static int32_t quant_f(float v, float scale, int32_t zp)
{
	float r;

	if (isnan(v))
		return zp;
	r = rintf(v / scale) + (float)zp;
	if (r < -128.0f)
		return -128;
	if (r > 127.0f)
		return 127;
	return (int32_t)r;
}

static void outq_act(const struct outq *o, int8_t *amin, int8_t *amax)
{
	*amin = o->lo > -INFINITY ? (int8_t)quant_f(o->lo, o->scale, o->zp) : -128;
	*amax = o->hi < INFINITY ? (int8_t)quant_f(o->hi, o->scale, o->zp) : 127;
	if (*amin > *amax)
		*amin = *amax;	/* degenerate clip: constant output */
}

/* Creates the pattern's output tensor and marks the absorbed nodes done. */
static int outq_emit(struct qctx *c, const struct outq *o)
{
	int y = new_qt(c, o->y, 0);

	if (y < 0)
		return -1;
	c->done[o->qnode] = 1;
	for (int i = 0; i < o->n_chain; i++)
		c->done[o->chain[i]] = 1;
	return y;
}

/* ---- CONV (convolutions and fully connected layers) ---- */

enum wlayout {
	W_OIHW,		/* conv: [M][C/g][kh][kw] */
	W_KN,		/* matmul B / Gemm B: [K][N] */
	W_NK,		/* Gemm B with transB: [N][K] */
};

struct convspec {
	const struct npuc_node *nd;	/* conv attributes (W_OIHW), name */
	int x, y;			/* source activation in, source (float or 8-bit) out */
	const struct npuc_tensor *w;	/* constant 8-bit weights */
	enum wlayout wl;
	int64_t m;			/* output channels */
	int32_t w_zp;
	const double *ws;		/* [m] weight scales (any extra factor folded in) */
	const int32_t *bias;		/* [m] or NULL */
	double x_s, y_s;
	int8_t amin, amax;
};

/* Two-element INTS attribute (default def); -1 if present with another length. */
static int attr2(const struct npuc_node *n, const char *name, int64_t def, int64_t v[2])
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	v[0] = v[1] = def;
	if (!a)
		return 0;
	if (a->type != NPUC_ATTR_INTS || a->n != 2)
		return -1;
	v[0] = a->ints[0];
	v[1] = a->ints[1];
	return 0;
}

/* Explicit or auto_pad padding [top, left, bottom, right] of a 2-D window op. */
static int window_pads(const struct npuc_node *n, const int64_t in[2], const int64_t out[2],
		       const int64_t k[2], const int64_t s[2], const int64_t dl[2], int64_t p[4],
		       char *why)
{
	const char *ap = npuc_attr_string(n, "auto_pad", "NOTSET");
	const struct npuc_attr *a = npuc_node_attr(n, "pads");

	memset(p, 0, 4 * sizeof(*p));
	if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
		for (int i = 0; i < 2; i++) {
			int64_t tot = (out[i] - 1) * s[i] + (k[i] - 1) * dl[i] + 1 - in[i];

			if (tot < 0)
				tot = 0;
			p[i] = ap[5] == 'U' ? tot / 2 : tot - tot / 2;
			p[i + 2] = tot - p[i];
		}
	} else if (strcmp(ap, "VALID") && a) {
		if (a->type != NPUC_ATTR_INTS || a->n != 4) {
			why_set(why, "pads is not 4 values (only 2-D windows map to the NPU)");
			return -1;
		}
		for (int i = 0; i < 4; i++)
			p[i] = a->ints[i];
	} else if (strcmp(ap, "VALID") && strcmp(ap, "NOTSET")) {
		why_set(why, "unknown auto_pad '%s'", ap);
		return -1;
	}
	for (int i = 0; i < 4; i++) {
		if (p[i] < 0 || p[i] > 255) {
			why_set(why, "padding %lld outside the NPU's 0..255", (long long)p[i]);
			return -1;
		}
	}
	return 0;
}

/* Geometry of a 2-D convolution from its attributes and known shapes. */
static int conv_geom(const struct qctx *c, const struct convspec *sp, struct npuq_conv *cv,
		     char *why)
{
	const struct npuc_tensor *x = ten(c, sp->x), *y = ten(c, sp->y), *w = sp->w;
	int64_t k[2] = { w->dims[2], w->dims[3] }, ks[2], s[2], dl[2], p[4], g;
	int64_t in[2], out[2];

	if (!is_nchw4(x) || !is_nchw4(y)) {
		why_set(why, "not a 2-D batch-1 convolution with known shapes");
		return 0;
	}
	in[0] = x->dims[2];
	in[1] = x->dims[3];
	out[0] = y->dims[2];
	out[1] = y->dims[3];
	g = npuc_attr_int(sp->nd, "group", 1);
	if (attr2(sp->nd, "kernel_shape", 0, ks) < 0 || attr2(sp->nd, "strides", 1, s) < 0 ||
	    attr2(sp->nd, "dilations", 1, dl) < 0) {
		why_set(why, "not a 2-D convolution");
		return 0;
	}
	if ((ks[0] && (ks[0] != k[0] || ks[1] != k[1])) || g < 1 || g > INT32_MAX ||
	    x->dims[1] % g || sp->m % g || w->dims[1] * g != x->dims[1] || y->dims[1] != sp->m) {
		why_set(why, "inconsistent kernel_shape / group / channel counts");
		return 0;
	}
	if (k[0] > NPU_CONV_MAX_K || k[1] > NPU_CONV_MAX_K || s[0] < 1 || s[1] < 1 ||
	    s[0] > NPU_MAX_STRIDE || s[1] > NPU_MAX_STRIDE || dl[0] < 1 || dl[1] < 1 ||
	    dl[0] > NPU_MAX_DILATION || dl[1] > NPU_MAX_DILATION) {
		why_set(why, "kernel %lldx%lld / stride %lldx%lld / dilation %lldx%lld beyond the "
			"NPU's limits (kernel <= %u, stride <= %u, dilation <= %u)",
			(long long)k[0], (long long)k[1], (long long)s[0], (long long)s[1],
			(long long)dl[0], (long long)dl[1], NPU_CONV_MAX_K, NPU_MAX_STRIDE,
			NPU_MAX_DILATION);
		return 0;
	}
	if (window_pads(sp->nd, in, out, k, s, dl, p, why) < 0)
		return 0;
	for (int i = 0; i < 2; i++) {
		int64_t span = (k[i] - 1) * dl[i] + 1;

		if (in[i] + p[i] + p[i + 2] < span ||
		    (in[i] + p[i] + p[i + 2] - span) / s[i] + 1 != out[i]) {
			why_set(why, "output extent %lld does not follow from the input, kernel, "
				"stride and padding", (long long)out[i]);
			return 0;
		}
	}
	cv->k_h = (int)k[0];
	cv->k_w = (int)k[1];
	cv->stride_h = (int)s[0];
	cv->stride_w = (int)s[1];
	cv->dil_h = (int)dl[0];
	cv->dil_w = (int)dl[1];
	cv->pad_top = (int)p[0];
	cv->pad_left = (int)p[1];
	cv->pad_bottom = (int)p[2];
	cv->pad_right = (int)p[3];
	cv->groups = (int)g;
	return 1;
}

/* Fully connected: x (h, w, K) -> y (h, w, N) as a 1x1 convolution. */
static int fc_geom(const struct qctx *c, const struct convspec *sp, int64_t kdim,
		   struct npuq_conv *cv, char *why)
{
	const struct npuc_tensor *x = ten(c, sp->x), *y = ten(c, sp->y);
	struct lay lx, ly;

	if (x->rank < 1 || x->rank > 3 || y->rank != x->rank || layout_of(x, &lx) < 0 ||
	    layout_of(y, &ly) < 0 || lx.c != kdim || ly.c != sp->m || lx.h != ly.h ||
	    lx.w != ly.w) {
		why_set(why, "matrix product with a constant operand is not [.., M, K] x [K, N] "
			"with known shapes (rank <= 3)");
		return 0;
	}
	memset(cv, 0, sizeof(*cv));
	cv->k_h = cv->k_w = cv->stride_h = cv->stride_w = cv->dil_h = cv->dil_w = 1;
	cv->groups = 1;
	return 1;
}

/* Weights in the NPU's [oc][kh][kw][ic/g] order, mapped to int8. */
static void conv_weights(const struct convspec *sp, const struct npuq_conv *cv, int64_t icg)
{
	const struct npuc_tensor *w = sp->w;
	int64_t kk = (int64_t)cv->k_h * cv->k_w, o = 0;

	for (int64_t oc = 0; oc < sp->m; oc++)
		for (int64_t kp = 0; kp < kk; kp++)
			for (int64_t ic = 0; ic < icg; ic++) {
				int64_t src;

				if (sp->wl == W_OIHW)
					src = (oc * icg + ic) * kk + kp;
				else if (sp->wl == W_KN)
					src = ic * sp->m + oc;
				else
					src = oc * icg + ic;
				cv->w[o++] = (int8_t)c8(w, src);
			}
}

/* Fills cv (allocating w, q, w_scale). 1, 0 (why set) or -1. */
static int conv_params(const struct qctx *c, const struct convspec *sp, struct npuq_conv *cv,
		       char *why)
{
	int64_t icg, nw;
	int r;

	memset(cv, 0, sizeof(*cv));
	if (sp->wl == W_OIHW) {
		if (sp->w->rank != 4) {
			why_set(why, "weights are not 4-D (only 2-D convolutions map to the NPU)");
			return 0;
		}
		r = conv_geom(c, sp, cv, why);
		icg = sp->w->dims[1];
	} else {
		icg = sp->w->dims[sp->wl == W_KN ? 0 : 1];
		r = fc_geom(c, sp, icg, cv, why);
	}
	if (r <= 0)
		return r;
	if (sp->w_zp < -128 || sp->w_zp > 127) {
		why_set(why, "weight zero point out of int8 range");
		return 0;
	}
	nw = sp->m * cv->k_h * cv->k_w * icg;
	cv->w = malloc((size_t)nw);
	cv->q = calloc((size_t)sp->m, sizeof(*cv->q));
	cv->w_scale = malloc((size_t)sp->m * sizeof(float));
	if (!cv->w || !cv->q || !cv->w_scale) {
		npuq_conv_free(cv);
		npuc_diag_set(c->d, "out of memory");
		return -1;
	}
	for (int64_t oc = 0; oc < sp->m; oc++) {
		double real = sp->x_s * sp->ws[oc] / sp->y_s;

		if (npuq_quantize_multiplier(real, &cv->q[oc].mult, &cv->q[oc].shift) < 0) {
			why_set(why, "requantisation scale %g of channel %lld cannot be encoded",
				real, (long long)oc);
			npuq_conv_free(cv);
			return 0;
		}
		cv->q[oc].bias = sp->bias ? sp->bias[oc] : 0;
		cv->w_scale[oc] = (float)sp->ws[oc];
	}
	conv_weights(sp, cv, icg);
	cv->w_zp = (int8_t)sp->w_zp;
	cv->act_min = sp->amin;
	cv->act_max = sp->amax;
	return 1;
}

/* Emits a CONV node; output via o (QDQ) or the 8-bit source tensor y8. */
static int emit_conv(struct qctx *c, const struct convspec *sp, const struct outq *o, int y8,
		     char *why)
{
	struct npuq_conv cv;
	int in, out, r = conv_params(c, sp, &cv, why);

	if (r <= 0)
		return r;
	in = c->qt[sp->x];
	out = o ? outq_emit(c, o) : new_qt(c, y8, 0);
	if (out < 0) {
		npuq_conv_free(&cv);
		return -1;
	}
	/* npuq_add_node owns cv's arrays from here, also when it fails. */
	return add_node(c, NPUQ_CONV, sp->nd->name, &in, 1, &out, 1, &cv);
}

/*
 * Integer bias from a constant: int32 used as is when its scale is the
 * accumulator's (x_s * ws[oc], zero point 0), otherwise real values
 * rounded to the accumulator scale. bscale/bzp describe the constant
 * (1, 0 for a float bias). Returns 0 or -1 (why set).
 */
static int bias_ints(const struct npuc_tensor *b, const double *bscale, int64_t nbs, double bzp,
		     const struct convspec *sp, int32_t *out, char *why)
{
	int64_t nb = numel(b);

	if (nb != sp->m && nb != 1) {
		why_set(why, "bias has %lld values for %lld output channels", (long long)nb,
			(long long)sp->m);
		return -1;
	}
	for (int64_t oc = 0; oc < sp->m; oc++) {
		double acc_s = sp->x_s * sp->ws[oc], bs = bscale[nbs == 1 ? 0 : oc];
		double v = cval(b, nb == 1 ? 0 : oc), r;

		if (b->dtype == NPUC_DT_I32 && bzp == 0 && fabs(bs - acc_s) <= 1e-6 * acc_s) {
			out[oc] = (int32_t)v;
			continue;
		}
		r = nearbyint((v - bzp) * bs / acc_s);
		if (!(r >= INT32_MIN && r <= INT32_MAX)) {
			why_set(why, "bias of channel %lld does not fit int32 at the accumulator "
				"scale", (long long)oc);
			return -1;
		}
		out[oc] = (int32_t)r;
	}
	return 0;
}

/* ---- output side shared by QDQ patterns and QOperator nodes ---- */

struct outspec {
	const struct outq *o;	/* QDQ: the absorbed QuantizeLinear (and activations) */
	int y8;			/* QOperator: the node's 8-bit output */
	int yshape;		/* source tensor with the output's shape */
	float scale;
	int32_t zp;
	int8_t amin, amax;
};

static void out_from_q(struct outspec *os, const struct outq *o, int yshape)
{
	os->o = o;
	os->y8 = o->y;
	os->yshape = yshape;
	os->scale = o->scale;
	os->zp = o->zp;
	outq_act(o, &os->amin, &os->amax);
}

static void out_from_y8(const struct qctx *c, struct outspec *os, int y8)
{
	os->o = NULL;
	os->y8 = y8;
	os->yshape = y8;
	os->scale = c->tq[y8].scale;
	os->zp = c->tq[y8].zp;
	os->amin = -128;
	os->amax = 127;
}

static int out_emit(struct qctx *c, const struct outspec *os)
{
	return os->o ? outq_emit(c, os->o) : new_qt(c, os->y8, 0);
}

/* Scale of the 8-bit activation (source tensor) x. */
static double act_scale(const struct qctx *c, int x)
{
	return c->tq[x].scale;
}

/* ---- ELTWISE ---- */

static int enc(double real, uint32_t *m, uint8_t *s)
{
	uint32_t sh;

	if (npuq_quantize_multiplier(real, m, &sh) < 0)
		return -1;
	*s = (uint8_t)sh;
	return 0;
}

static int elt_params(double sa, double sb, double so, struct npuq_eltwise *e)
{
	double tm = 2 * fmax(sa, sb);

	if (e->op == NPU_ELT_MUL) {
		e->a_mult = e->b_mult = 0;
		e->a_shift = e->b_shift = NPU_SHIFT_MIN;
		return enc(sa * sb / so, &e->out_mult, &e->out_shift);
	}
	if (enc(sa / tm, &e->a_mult, &e->a_shift) < 0 || enc(sb / tm, &e->b_mult, &e->b_shift) < 0)
		return -1;
	return enc(tm / (1048576.0 * so), &e->out_mult, &e->out_shift);
}

/* Channel axis of a tensor in the NHWC view (ONNX axis index). */
static int chan_axis(const struct npuc_tensor *t)
{
	return is_nchw4(t) ? 1 : t->rank - 1;
}

/* b broadcasts against a along a's channel axis only (b has c values). */
static int chan_bcast(const struct npuc_tensor *a, const struct npuc_tensor *b)
{
	int ch = chan_axis(a);

	if (!shape_known(a) || !shape_known(b) || b->rank > a->rank || a->rank < 1 ||
	    (a->rank == 4 && !is_nchw4(a)) || a->rank > 4)
		return 0;
	for (int j = 0; j < a->rank; j++) {
		int k = j - (a->rank - b->rank);
		int64_t bd = k >= 0 ? b->dims[k] : 1;

		if (j == ch ? bd != a->dims[j] : bd != 1)
			return 0;
	}
	return 1;
}

/*
 * ELTWISE a (op) b -> out. b8 >= 0: activation; else bc is a constant with
 * per-tensor (bs, bzp).
 */
static int emit_eltwise(struct qctx *c, const char *name, enum npu_eltwise_op op, int a8, int b8,
			const struct npuc_tensor *bc, double bs, int32_t bzp,
			const struct outspec *os, char *why)
{
	const struct npuc_tensor *at = ten(c, a8), *bt = b8 >= 0 ? ten(c, b8) : bc;
	struct npuq_eltwise e;
	int in[2], n_in = 1, out;

	memset(&e, 0, sizeof(e));
	e.op = op;
	if (!same_shape(at, ten(c, os->yshape))) {
		why_set(why, "first operand does not have the output's shape");
		return 0;
	}
	if (b8 >= 0 && same_shape(at, bt)) {
		e.bcast = NPU_BCAST_NONE;
	} else if (numel(bt) == 1) {
		e.bcast = NPU_BCAST_SCALAR;
	} else if (chan_bcast(at, bt)) {
		e.bcast = NPU_BCAST_CHANNEL;
	} else {
		why_set(why, "broadcast of the second operand is neither elementwise, scalar nor "
			"per channel");
		return 0;
	}
	if (b8 >= 0)
		bs = act_scale(c, b8);
	if (elt_params(act_scale(c, a8), bs, os->scale, &e) < 0) {
		why_set(why, "eltwise rescale factors cannot be encoded");
		return 0;
	}
	e.act_min = os->amin;
	e.act_max = os->amax;
	in[0] = c->qt[a8];
	if (b8 >= 0) {
		in[n_in++] = c->qt[b8];
	} else {
		int64_t nb = numel(bt);

		e.b_const = malloc((size_t)nb);
		if (!e.b_const) {
			npuc_diag_set(c->d, "out of memory");
			return -1;
		}
		for (int64_t i = 0; i < nb; i++)
			e.b_const[i] = (int8_t)c8(bt, i);
		e.b_scale = (float)bs;
		e.b_zp = bzp;
	}
	out = out_emit(c, os);
	if (out < 0) {
		free(e.b_const);
		return -1;
	}
	return add_node(c, NPUQ_ELTWISE, name, in, n_in, &out, 1, &e);
}

/* ---- POOL ---- */

/* r as mult / 2^shift with shift <= NPU_POOL_SHIFT_MAX (npu_arith.h POOL). */
static int pool_rescale(double r, uint32_t *mult, uint32_t *shift)
{
	double m;
	int e, s;

	if (r == 1.0) {
		*mult = 1;
		*shift = 0;
		return 0;
	}
	if (!isfinite(r) || r <= 0)
		return -1;
	frexp(r, &e);
	s = 31 - e;
	if (s > (int)NPU_POOL_SHIFT_MAX)
		s = NPU_POOL_SHIFT_MAX;
	if (s < 0)
		return -1;
	m = nearbyint(ldexp(r, s));
	if (m >= 2147483648.0) {
		if (s == 0)
			return -1;
		m = nearbyint(ldexp(r, --s));
	}
	if (m < 1)
		return -1;
	*mult = (uint32_t)m;
	*shift = (uint32_t)s;
	return 0;
}

/* Window, strides and padding of a (global) pooling node. */
static int pool_geom(const struct qctx *c, const struct npuc_node *nd, int x, int ys, int global,
		     struct npuq_pool *p, char *why)
{
	const struct npuc_tensor *xt = ten(c, x), *yt = ten(c, ys);
	int64_t k[2], s[2], dl[2], pd[4], in[2], out[2];

	if (!is_nchw4(xt) || !is_nchw4(yt) || xt->dims[1] != yt->dims[1]) {
		why_set(why, "not a 2-D batch-1 pooling with known shapes");
		return 0;
	}
	in[0] = xt->dims[2];
	in[1] = xt->dims[3];
	out[0] = yt->dims[2];
	out[1] = yt->dims[3];
	if (global) {
		k[0] = in[0];
		k[1] = in[1];
		s[0] = s[1] = 1;
		memset(pd, 0, sizeof(pd));
	} else {
		if (attr2(nd, "kernel_shape", 0, k) < 0 || attr2(nd, "strides", 1, s) < 0 ||
		    attr2(nd, "dilations", 1, dl) < 0 || k[0] < 1 || k[1] < 1) {
			why_set(why, "not a 2-D pooling window");
			return 0;
		}
		if (dl[0] != 1 || dl[1] != 1) {
			why_set(why, "dilated pooling (the NPU pools dense windows)");
			return 0;
		}
		if (window_pads(nd, in, out, k, s, dl, pd, why) < 0)
			return 0;
		/*
		 * ceil_mode: the last window runs past the bottom / right
		 * padding; extend the padding (its taps are ignored) so that
		 * the output extent follows from the usual formula.
		 */
		for (int i = 0; i < 2; i++) {
			int64_t need = (out[i] - 1) * s[i] + k[i] - in[i] - pd[i];

			if (need > pd[i + 2] && need <= 255)
				pd[i + 2] = need;
		}
	}
	for (int i = 0; i < 2; i++) {
		if ((in[i] + pd[i] + pd[i + 2] - k[i]) / s[i] + 1 != out[i] ||
		    in[i] + pd[i] + pd[i + 2] < k[i]) {
			why_set(why, "output extent %lld does not follow from input %lld, window "
				"%lld, stride %lld and padding", (long long)out[i],
				(long long)in[i], (long long)k[i], (long long)s[i]);
			return 0;
		}
	}
	if (k[0] * k[1] > NPU_POOL_MAX_WINDOW || k[0] > 65535 || k[1] > 65535 || s[0] < 1 ||
	    s[1] < 1 || s[0] > NPU_MAX_STRIDE || s[1] > NPU_MAX_STRIDE) {
		why_set(why, "window %lldx%lld / stride %lldx%lld beyond the NPU's limits",
			(long long)k[0], (long long)k[1], (long long)s[0], (long long)s[1]);
		return 0;
	}
	p->k_h = (int)k[0];
	p->k_w = (int)k[1];
	p->stride_h = (int)s[0];
	p->stride_w = (int)s[1];
	p->pad_top = (int)pd[0];
	p->pad_left = (int)pd[1];
	p->pad_bottom = (int)pd[2];
	p->pad_right = (int)pd[3];
	return 1;
}

static int emit_pool(struct qctx *c, const struct npuc_node *nd, enum npu_pool_mode mode,
		     int global, int x8, const struct outspec *os, char *why)
{
	struct npuq_pool p;
	int in = c->qt[x8], out, r;

	memset(&p, 0, sizeof(p));
	p.mode = mode;
	r = pool_geom(c, nd, x8, os->yshape, global, &p, why);
	if (r <= 0)
		return r;
	if (mode == NPU_POOL_AVG && !global) {
		p.count_pad = npuc_attr_int(nd, "count_include_pad", 0) != 0;
		if (p.count_pad && npuc_attr_int(nd, "ceil_mode", 0)) {
			why_set(why, "ceil_mode with count_include_pad (the divisor of windows "
				"past the padding is not the NPU's)");
			return 0;
		}
	}
	if (pool_rescale(act_scale(c, x8) / os->scale, &p.mult, &p.shift) < 0) {
		why_set(why, "pool rescale factor cannot be encoded");
		return 0;
	}
	p.act_min = os->amin;
	p.act_max = os->amax;
	out = out_emit(c, os);
	if (out < 0)
		return -1;
	return add_node(c, NPUQ_POOL, nd->name, &in, 1, &out, 1, &p);
}

/* ---- LUT ---- */

struct lutfn {
	enum npuc_op op;
	float alpha, beta, lo, hi;
};

static float lut_eval(const struct lutfn *f, float v)
{
	switch (f->op) {
	case NPUC_OP_Relu:
		return v > 0 ? v : 0.0f;
	case NPUC_OP_Clip:
		return fminf(fmaxf(v, f->lo), f->hi);
	case NPUC_OP_LeakyRelu:
		return v < 0 ? f->alpha * v : v;
	case NPUC_OP_Sigmoid:
		return 1.0f / (1.0f + expf(-v));
	case NPUC_OP_Tanh:
		return tanhf(v);
	case NPUC_OP_HardSigmoid:
		return fmaxf(0.0f, fminf(1.0f, f->alpha * v + f->beta));
	case NPUC_OP_HardSwish:
		return v * fmaxf(0.0f, fminf(1.0f, v / 6.0f + 0.5f));
	case NPUC_OP_Elu:
		return v < 0 ? f->alpha * (expf(v) - 1.0f) : v;
	case NPUC_OP_Selu:
		return f->beta * (v <= 0 ? f->alpha * (expf(v) - 1.0f) : v);
	case NPUC_OP_Softplus:
		return v > 30.0f ? v : log1pf(expf(v));
	case NPUC_OP_Softsign:
		return v / (1.0f + fabsf(v));
	case NPUC_OP_Neg:
		return -v;
	case NPUC_OP_Abs:
		return fabsf(v);
	default:
		return v;	/* Identity, requantisation */
	}
}

/* Fills f for a unary op node; 0 if the op is not a LUT candidate. */
static int lut_fn_of(const struct qctx *c, const struct npuc_node *nd, struct lutfn *f)
{
	f->op = npuc_node_op(nd);
	if (qdq_kind[f->op] != QDQ_lut)
		return 0;
	f->alpha = 0;
	f->beta = 0;
	if (f->op == NPUC_OP_LeakyRelu) {
		f->alpha = npuc_attr_float(nd, "alpha", 0.01f);
	} else if (f->op == NPUC_OP_HardSigmoid) {
		f->alpha = npuc_attr_float(nd, "alpha", 0.2f);
		f->beta = npuc_attr_float(nd, "beta", 0.5f);
	} else if (f->op == NPUC_OP_Elu) {
		f->alpha = npuc_attr_float(nd, "alpha", 1.0f);
	} else if (f->op == NPUC_OP_Selu) {
		f->alpha = npuc_attr_float(nd, "alpha", 1.67326319217681884765625f);
		f->beta = npuc_attr_float(nd, "gamma", 1.05070102214813232421875f);
	} else if (f->op == NPUC_OP_Clip) {
		if (clip_bounds(c, nd, &f->lo, &f->hi) < 0)
			return 0;
	}
	return 1;
}

/* table[k] = Q_out(f(DQ_in(k - 128))) in float32 as ONNX Runtime evaluates DQ -> f -> Q. */
static void lut_table(int8_t table[256], const struct lutfn *f, float si, int32_t zi,
		      const struct outspec *os)
{
	for (int k = 0; k < 256; k++) {
		float v = (float)(k - 128 - zi) * si;
		int32_t q = quant_f(lut_eval(f, v), os->scale, os->zp);

		if (q < os->amin)
			q = os->amin;
		if (q > os->amax)
			q = os->amax;
		table[k] = (int8_t)q;
	}
}

/* LUT node in_q -> the output of os (or the existing tensor out_q when >= 0). */
static int emit_lut_to(struct qctx *c, const char *name, const struct lutfn *f, int in_q,
		       float si, int32_t zi, const struct outspec *os, int out_q)
{
	struct npuq_lut l;

	lut_table(l.table, f, si, zi, os);
	l.fn = strdup(npuc_op_name(f->op));
	if (!l.fn) {
		npuc_diag_set(c->d, "out of memory");
		return -1;
	}
	if (out_q < 0)
		out_q = out_emit(c, os);
	if (out_q < 0) {
		free(l.fn);
		return -1;
	}
	return add_node(c, NPUQ_LUT, name, &in_q, 1, &out_q, 1, &l);
}

static int emit_lut(struct qctx *c, const struct npuc_node *nd, const struct lutfn *f, int x8,
		    const struct outspec *os, char *why)
{
	struct lay lx, ly;

	if (layout_of(ten(c, x8), &lx) < 0 || layout_of(ten(c, os->yshape), &ly) < 0 ||
	    lx.h != ly.h || lx.w != ly.w || lx.c != ly.c) {
		why_set(why, "output shape differs from the input's");
		return 0;
	}
	return emit_lut_to(c, nd->name, f, c->qt[x8], c->tq[x8].scale, c->tq[x8].zp, os, -1);
}

/* ---- CONCAT / RESHAPE ---- */

/*
 * CONCAT along channels of the 8-bit activations xs[0..n). Inputs whose
 * quantisation differs from the output's are requantised by the CONCAT
 * itself (npuq_concat_qparam(): one rounding, like ONNX's DQ -> Concat -> Q
 * up to the tie rule).
 */
static int emit_concat(struct qctx *c, const struct npuc_node *nd, const int *xs, int n,
		       int64_t axis, const struct outspec *os, char *why)
{
	const struct npuc_tensor *yt = ten(c, os->yshape);
	struct npuq_tensor probe;
	int *in, out, r = -1;

	if (axis < 0)
		axis += yt->rank;
	if (!shape_known(yt) || yt->rank < 1 || axis != chan_axis(yt) ||
	    (yt->rank == 4 && !is_nchw4(yt)) || yt->rank > 4) {
		why_set(why, "not a concatenation along the channel axis of a batch-1 tensor");
		return 0;
	}
	if (os->amin != -128 || os->amax != 127) {
		why_set(why, "activation fused after Concat");
		return 0;
	}
	memset(&probe, 0, sizeof(probe));
	probe.scale = os->scale;
	probe.zp = os->zp;
	for (int i = 0; i < n; i++) {
		struct npu_qparam qp;

		if (npuq_concat_qparam(&c->q->t[c->qt[xs[i]]], &probe, &qp) < 0) {
			why_set(why, "Concat input %d cannot be requantised to the output", i);
			return 0;
		}
	}
	in = malloc(sizeof(int) * (size_t)n);
	if (!in) {
		npuc_diag_set(c->d, "out of memory");
		return -1;
	}
	for (int i = 0; i < n; i++)
		in[i] = c->qt[xs[i]];
	out = out_emit(c, os);
	if (out >= 0)
		r = add_node(c, NPUQ_CONCAT, nd->name, in, n, &out, 1, NULL);
	free(in);
	return r;
}

static int emit_reshape(struct qctx *c, const struct npuc_node *nd, int x8,
			const struct outspec *os, char *why)
{
	int in = c->qt[x8], out;

	if (!shape_known(ten(c, os->yshape)) || numel(ten(c, os->yshape)) != numel(ten(c, x8)) ||
	    !rowmajor_stored(ten(c, x8)) || !rowmajor_stored(ten(c, os->yshape))) {
		why_set(why, "reshape that reorders the NHWC-stored data (needs a transpose)");
		return 0;
	}
	if (c->tq[x8].scale != os->scale || c->tq[x8].zp != os->zp || os->amin != -128 ||
	    os->amax != 127) {
		why_set(why, "reshape that also requantises");
		return 0;
	}
	out = out_emit(c, os);
	if (out < 0)
		return -1;
	return add_node(c, NPUQ_RESHAPE, nd->name, &in, 1, &out, 1, NULL);
}

/* ---- MATMUL (activation x activation) ---- */

static int emit_matmul(struct qctx *c, const char *name, int a8, int b8,
		       const struct outspec *os, char *why)
{
	const struct npuc_tensor *a = ten(c, a8), *b = ten(c, b8), *y = ten(c, os->yshape);
	struct npuq_matmul mm;
	uint32_t shift;
	int in[2] = { c->qt[a8], c->qt[b8] }, out;

	if (a->rank < 2 || a->rank > 3 || b->rank != a->rank || y->rank != a->rank ||
	    !shape_known(a) || !shape_known(b) || a->dims[a->rank - 1] != b->dims[b->rank - 2] ||
	    (a->rank == 3 && a->dims[0] != b->dims[0])) {
		why_set(why, "activation x activation product that is not [M, K] x [K, N] or an "
			"equal-batch [B, M, K] x [B, K, N]");
		return 0;
	}
	memset(&mm, 0, sizeof(mm));
	if (npuq_quantize_multiplier(act_scale(c, a8) * act_scale(c, b8) / os->scale,
				     &mm.q.mult, &shift) < 0) {
		why_set(why, "requantisation scale cannot be encoded");
		return 0;
	}
	mm.q.shift = shift;
	mm.act_min = os->amin;
	mm.act_max = os->amax;
	out = out_emit(c, os);
	if (out < 0)
		return -1;
	return add_node(c, NPUQ_MATMUL, name, in, 2, &out, 1, &mm);
}

/* ---- QOperator nodes ---- */

/* x is an 8-bit activation whose tensor parameters are (s, zp) (known scale if need_s). */
static int act_is(const struct qctx *c, int x, float s, int32_t zp, int need_s)
{
	if (x < 0 || is_const(c, x) || !is8(ten(c, x)->dtype) || c->qt[x] < 0)
		return 0;
	if (c->tq[x].zp != zp)
		return 0;
	return !need_s || (c->tq[x].known && c->tq[x].scale == s);
}

static int emit_qlinearconv(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	int x = nin(nd, 0), w = nin(nd, 3), b = nin(nd, 8), y = nd->out[0], r;
	struct convspec sp;
	float xs, ys;
	int32_t xzp, yzp, *bias = NULL;
	double *ws = NULL;

	if (x < 0 || y < 0 || pt_params(c, nin(nd, 1), nin(nd, 2), ten(c, x)->dtype, &xs, &xzp) ||
	    pt_params(c, nin(nd, 6), nin(nd, 7), ten(c, y)->dtype, &ys, &yzp)) {
		why_set(why, "input / output scale or zero point is not a single constant");
		return 0;
	}
	if (!act_is(c, x, xs, xzp, 1)) {
		why_set(why, "input is not an int8 activation with these parameters");
		return 0;
	}
	if (!is_const(c, w) || !is8(ten(c, w)->dtype) || ten(c, w)->rank != 4) {
		why_set(why, "weights are not a constant 8-bit 4-D tensor");
		return 0;
	}
	memset(&sp, 0, sizeof(sp));
	sp.m = ten(c, w)->dims[0];
	ws = malloc(sizeof(double) * (size_t)(sp.m + 1));
	bias = malloc(sizeof(int32_t) * (size_t)(sp.m + 1));
	if (!ws || !bias) {
		npuc_diag_set(c->d, "out of memory");
		r = -1;
		goto out;
	}
	r = pc_params(c, nin(nd, 4), nin(nd, 5), ten(c, w)->dtype, sp.m, ws, &sp.w_zp);
	if (r < 0) {
		why_set(why, r == -2 ? "per-channel weight zero points differ (the NPU takes one "
			"w_zp per convolution)" : "weight scale / zero point are not constants "
			"with 1 or M values");
		r = 0;
		goto out;
	}
	if (b >= 0) {
		const struct npuc_tensor *bt = is_const(c, b) ? ten(c, b) : NULL;

		if (!bt || bt->dtype != NPUC_DT_I32 || numel(bt) != sp.m) {
			why_set(why, "bias is not a constant int32 vector of M values");
			r = 0;
			goto out;
		}
		for (int64_t i = 0; i < sp.m; i++)
			bias[i] = (int32_t)cval(ten(c, b), i);
		sp.bias = bias;
	}
	sp.nd = nd;
	sp.x = x;
	sp.y = y;
	sp.w = ten(c, w);
	sp.wl = W_OIHW;
	sp.ws = ws;
	sp.x_s = xs;
	sp.y_s = ys;
	sp.amin = -128;
	sp.amax = 127;
	r = emit_conv(c, &sp, NULL, y, why);
out:
	free(ws);
	free(bias);
	return r;
}

/* FC from a constant 8-bit [K, N] matrix with per-column parameters. */
static int emit_fc(struct qctx *c, const struct npuc_node *nd, int x, int w, enum wlayout wl,
		   int si, int zi, double extra, const struct npuc_tensor *bt,
		   const double *bscale, int64_t nbs, double bzp, const struct outspec *os,
		   char *why)
{
	const struct npuc_tensor *wt = ten(c, w);
	struct convspec sp;
	double *ws;
	int32_t *bias;
	int r;

	if (wt->rank != 2 || !shape_known(wt)) {
		why_set(why, "constant operand is not a 2-D matrix");
		return 0;
	}
	memset(&sp, 0, sizeof(sp));
	sp.m = wt->dims[wl == W_KN ? 1 : 0];
	ws = malloc(sizeof(double) * (size_t)(sp.m + 1));
	bias = malloc(sizeof(int32_t) * (size_t)(sp.m + 1));
	if (!ws || !bias) {
		npuc_diag_set(c->d, "out of memory");
		r = -1;
		goto out;
	}
	r = pc_params(c, si, zi, wt->dtype, sp.m, ws, &sp.w_zp);
	if (r < 0) {
		why_set(why, r == -2 ? "per-column weight zero points differ (the NPU takes one "
			"zero point per matrix)" : "weight scale / zero point are not constants "
			"with 1 or N values");
		r = 0;
		goto out;
	}
	for (int64_t i = 0; i < sp.m; i++)
		ws[i] *= extra;
	sp.nd = nd;
	sp.x = x;
	sp.y = os->yshape;
	sp.w = wt;
	sp.wl = wl;
	sp.ws = ws;
	sp.x_s = act_scale(c, x);
	sp.y_s = os->scale;
	sp.amin = os->amin;
	sp.amax = os->amax;
	if (bt) {
		r = bias_ints(bt, bscale, nbs, bzp, &sp, bias, why);
		if (r < 0) {
			r = 0;
			goto out;
		}
		sp.bias = bias;
	}
	r = emit_conv(c, &sp, os->o, os->y8, why);
out:
	free(ws);
	free(bias);
	return r;
}

static int emit_qlinearmatmul(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	int a = nin(nd, 0), b = nin(nd, 3), y = nd->out[0];
	struct outspec os;
	float as, bs, ys;
	int32_t azp, bzp, yzp;

	if (a < 0 || b < 0 || y < 0 ||
	    pt_params(c, nin(nd, 1), nin(nd, 2), ten(c, a)->dtype, &as, &azp) ||
	    pt_params(c, nin(nd, 6), nin(nd, 7), ten(c, y)->dtype, &ys, &yzp)) {
		why_set(why, "input / output scale or zero point is not a single constant");
		return 0;
	}
	if (!act_is(c, a, as, azp, 1)) {
		why_set(why, "input A is not an int8 activation with these parameters");
		return 0;
	}
	out_from_y8(c, &os, y);
	if (is_const(c, b) && is8(ten(c, b)->dtype)) {
		if (ten(c, b)->rank != 2) {
			why_set(why, "constant B of rank %d (a batch of matrices: one NPU "
				"fully-connected layer needs a single [K, N] matrix)",
				ten(c, b)->rank);
			return 0;
		}
		return emit_fc(c, nd, a, b, W_KN, nin(nd, 4), nin(nd, 5), 1.0, NULL, NULL, 0, 0,
			       &os, why);
	}
	if (pt_params(c, nin(nd, 4), nin(nd, 5), ten(c, b)->dtype, &bs, &bzp) ||
	    !act_is(c, b, bs, bzp, 1)) {
		why_set(why, "input B is neither a constant nor an int8 activation quantised "
			"per tensor with these parameters");
		return 0;
	}
	return emit_matmul(c, nd->name, a, b, &os, why);
}

/*
 * Constant float vector broadcast against y along its channel axis (or a
 * single value): m values into v. -1 if it is not such a constant.
 */
static int chan_vec(const struct qctx *c, int k, int y, int64_t m, double *v)
{
	const struct npuc_tensor *kt;

	if (!is_const(c, k) || ten(c, k)->dtype != NPUC_DT_F32)
		return -1;
	kt = ten(c, k);
	if (numel(kt) != 1 && (numel(kt) != m || !chan_bcast(ten(c, y), kt)))
		return -1;
	for (int64_t i = 0; i < m; i++)
		v[i] = cval(kt, numel(kt) == 1 ? 0 : i);
	return 0;
}

/* The other input of a binary node (the one that is not t), or -1. */
static int other_in(const struct npuc_node *nd, int t)
{
	if (nd->n_in != 2)
		return -1;
	return nd->in[0] == t ? nd->in[1] : nd->in[1] == t ? nd->in[0] : -1;
}

/*
 * ConvInteger / MatMulInteger result y32 followed by Cast(float) ->
 * Mul(constant scale) -> [Add(constant bias)] -> [Relu/Clip] ->
 * QuantizeLinear: the accumulator scale s[] and real bias b[] (m values),
 * the output side in *o. 0 or -1 if the chain is not there.
 */
static int find_requant(const struct qctx *c, int y32, int64_t m, double *s, double *b,
			struct outq *o, int *has_bias)
{
	int chain[3], nc = 0, t = y32, n, k;

	n = sole_consumer(c, t);
	if (n < 0 || !op_is(node(c, n), NPUC_OP_Cast) || npuc_attr_int(node(c, n), "to", 0) != 1)
		return -1;
	chain[nc++] = n;
	t = node(c, n)->out[0];
	n = sole_consumer(c, t);
	if (n < 0 || !op_is(node(c, n), NPUC_OP_Mul) || (k = other_in(node(c, n), t)) < 0 ||
	    chan_vec(c, k, node(c, n)->out[0], m, s) < 0)
		return -1;
	chain[nc++] = n;
	t = node(c, n)->out[0];
	n = sole_consumer(c, t);
	*has_bias = 0;
	if (n >= 0 && op_is(node(c, n), NPUC_OP_Add) && (k = other_in(node(c, n), t)) >= 0 &&
	    chan_vec(c, k, node(c, n)->out[0], m, b) == 0) {
		chain[nc++] = n;
		t = node(c, n)->out[0];
		*has_bias = 1;
	}
	if (find_outq(c, t, o) < 0 || o->n_chain + nc > MAX_CHAIN)
		return -1;
	for (int i = 0; i < nc; i++)
		o->chain[o->n_chain++] = chain[i];
	return 0;
}

static int emit_integer(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	int conv = op_is(nd, NPUC_OP_ConvInteger), x = nin(nd, 0), w = nin(nd, 1), y = nd->out[0];
	int xzi = nin(nd, 2), wzi = nin(nd, 3), has_bias, r = 0;
	const struct npuc_tensor *wt;
	struct convspec sp;
	struct outspec os;
	struct outq o;
	double *s = NULL, *b = NULL;
	int32_t *bias = NULL, xzp;

	why_set(why, "%s produces int32 (the NPU has no int32 tensors) and is not followed by "
		"a constant requantisation (Cast -> Mul(scale) -> [Add(bias)] -> QuantizeLinear)",
		nd->op);
	if (x < 0 || w < 0 || y < 0 || !is_const(c, w) || !is8(ten(c, w)->dtype) ||
	    !is8(ten(c, x)->dtype) || c->qt[x] < 0)
		return 0;
	wt = ten(c, w);
	if ((conv && wt->rank != 4) || (!conv && wt->rank != 2) || !shape_known(wt))
		return 0;
	xzp = to_i8(ten(c, x)->dtype, 0);
	if (xzi >= 0) {
		if (!is_const(c, xzi) || numel(ten(c, xzi)) != 1 || !is8(ten(c, xzi)->dtype))
			return 0;
		xzp = c8(ten(c, xzi), 0);
	}
	if (c->tq[x].zp != xzp)
		return 0;
	memset(&sp, 0, sizeof(sp));
	sp.m = wt->dims[conv ? 0 : 1];
	s = calloc((size_t)sp.m + 1, sizeof(double));
	b = calloc((size_t)sp.m + 1, sizeof(double));
	bias = calloc((size_t)sp.m + 1, sizeof(int32_t));
	if (!s || !b || !bias) {
		npuc_diag_set(c->d, "out of memory");
		r = -1;
		goto out;
	}
	if (find_requant(c, y, sp.m, s, b, &o, &has_bias) < 0)
		goto out;
	sp.w_zp = to_i8(wt->dtype, 0);
	if (wzi >= 0) {
		const struct npuc_tensor *zt = ten(c, wzi);

		if (!is_const(c, wzi) || !is8(zt->dtype) || (numel(zt) != 1 && numel(zt) != sp.m))
			goto out;
		sp.w_zp = c8(zt, 0);
		for (int64_t i = 1; i < numel(zt); i++) {
			if (c8(zt, i) != sp.w_zp) {
				why_set(why, "per-channel weight zero points differ (the NPU "
					"takes one w_zp per convolution)");
				goto out;
			}
		}
	}
	for (int64_t i = 0; i < sp.m; i++) {
		double v = s[i] != 0 ? nearbyint(b[i] / s[i]) : 0;

		if (!(v >= INT32_MIN && v <= INT32_MAX) || !scale_ok(s[i])) {
			why_set(why, "requantisation scale / bias out of range");
			goto out;
		}
		bias[i] = (int32_t)v;
	}
	out_from_q(&os, &o, y);
	sp.nd = nd;
	sp.x = x;
	sp.y = y;
	sp.w = wt;
	sp.wl = conv ? W_OIHW : W_KN;
	sp.ws = s;
	sp.bias = has_bias ? bias : NULL;
	sp.x_s = 1.0;
	sp.y_s = os.scale;
	sp.amin = os.amin;
	sp.amax = os.amax;
	r = emit_conv(c, &sp, &o, -1, why);
out:
	free(s);
	free(b);
	free(bias);
	return r;
}

/* QuantizeLinear not absorbed by a pattern. */
static int emit_quantize(struct qctx *c, int n, char *why)
{
	static const struct lutfn ident = { NPUC_OP_Identity, 0, 0, 0, 0 };
	const struct npuc_node *nd = node(c, n);
	int x = nin(nd, 0), y = nd->out[0], x8, in, out;
	struct outspec os;
	float s;
	int32_t zp;

	if (x < 0 || y < 0 || qdq_pt(c, nd, y, &s, &zp) < 0 || !c->tq[y].known) {
		why_set(why, "per-axis or non-constant QuantizeLinear parameters (the NPU "
			"quantises activations per tensor)");
		return 0;
	}
	if (ten(c, x)->dtype != NPUC_DT_F32) {
		why_set(why, "QuantizeLinear of a %s tensor", npuc_dtype_name(ten(c, x)->dtype));
		return 0;
	}
	x8 = dq_act(c, x);
	if (x8 >= 0) {
		/* DequantizeLinear -> QuantizeLinear: an int8 requantisation. */
		out_from_y8(c, &os, y);
		return emit_lut_to(c, nd->name, &ident, c->qt[x8], c->tq[x8].scale,
				   c->tq[x8].zp, &os, -1);
	}
	in = need_tensor(c, x);
	if (in < 0)
		return -1;
	out = new_qt(c, y, 0);
	if (out < 0)
		return -1;
	return add_node(c, NPUQ_QUANTIZE, nd->name, &in, 1, &out, 1, NULL);
}

/* ---- QDQ patterns: DequantizeLinear -> float op -> QuantizeLinear ---- */

/*
 * Weight DQ node wdq of a constant: per-channel scales along axis ax (m
 * values), common zero point. 1, or 0 with why set.
 */
static int dq_weights(const struct qctx *c, int wdq, int ax, int64_t m, double *ws, int32_t *wzp,
		      char *why)
{
	const struct npuc_node *dq = node(c, wdq);
	const struct npuc_tensor *w = ten(c, nin(dq, 0));
	int64_t axis = npuc_attr_int(dq, "axis", 1);
	int r;

	if (!is8(w->dtype)) {
		why_set(why, "weights are %s, not 8-bit", npuc_dtype_name(w->dtype));
		return 0;
	}
	if (axis < 0)
		axis += w->rank;
	if (nin(dq, 1) >= 0 && numel(ten(c, nin(dq, 1))) > 1 && axis != ax) {
		why_set(why, "weights quantised along axis %lld, not the output channel axis %d",
			(long long)axis, ax);
		return 0;
	}
	r = pc_params(c, nin(dq, 1), nin(dq, 2), w->dtype, m, ws, wzp);
	if (r == -2)
		why_set(why, "per-channel weight zero points differ (the NPU takes one w_zp per "
			"layer)");
	else if (r < 0)
		why_set(why, "weight scale / zero point are not constants of 1 or %lld values",
			(long long)m);
	return r == 0;
}

/*
 * Bias input bi: a dequantised constant (int32 at the accumulator scale,
 * as ONNX Runtime writes it) or a float constant. Sets *bt, bscale[] (nbs
 * values) and *bzp. 1, or 0 with why set.
 */
static int qdq_bias(const struct qctx *c, int bi, const struct npuc_tensor **bt, double *bscale,
		    int64_t m, int64_t *nbs, double *bzp, char *why)
{
	int bdq = dq_const(c, bi);

	*bzp = 0;
	*nbs = 1;
	bscale[0] = 1;
	if (bdq >= 0) {
		const struct npuc_node *dq = node(c, bdq);
		const struct npuc_tensor *st = nin(dq, 1) >= 0 ? ten(c, nin(dq, 1)) : NULL;
		int zi = nin(dq, 2);

		*bt = ten(c, nin(dq, 0));
		if (!st || !is_const(c, nin(dq, 1)) || st->dtype != NPUC_DT_F32 ||
		    (numel(st) != 1 && numel(st) != m) ||
		    (zi >= 0 && (!is_const(c, zi) || numel(ten(c, zi)) != 1))) {
			why_set(why, "bias quantisation parameters are not constants");
			return 0;
		}
		*nbs = numel(st);
		for (int64_t i = 0; i < *nbs; i++)
			bscale[i] = cval(st, i);
		if (zi >= 0)
			*bzp = cval(ten(c, zi), 0);
		return 1;
	}
	if (is_const(c, bi) && ten(c, bi)->dtype == NPUC_DT_F32) {
		*bt = ten(c, bi);
		return 1;
	}
	why_set(why, "bias is neither a constant nor a dequantised constant");
	return 0;
}

static int qdq_conv(struct qctx *c, const struct npuc_node *nd, int x8, const struct outq *o,
		    char *why)
{
	int wdq = dq_const(c, nin(nd, 1)), bi = nin(nd, 2), r = 0;
	const struct npuc_tensor *w, *bt = NULL;
	struct convspec sp;
	struct outspec os;
	double *ws, *bscale, bzp;
	int32_t *bias;
	int64_t nbs;

	if (wdq < 0) {
		why_set(why, "weights are not a dequantised constant");
		return 0;
	}
	w = ten(c, nin(node(c, wdq), 0));
	if (w->rank != 4 || !shape_known(w)) {
		why_set(why, "weights are not 4-D (only 2-D convolutions map to the NPU)");
		return 0;
	}
	memset(&sp, 0, sizeof(sp));
	sp.m = w->dims[0];
	ws = malloc(sizeof(double) * (size_t)(sp.m + 1));
	bscale = malloc(sizeof(double) * (size_t)(sp.m + 1));
	bias = malloc(sizeof(int32_t) * (size_t)(sp.m + 1));
	if (!ws || !bscale || !bias) {
		npuc_diag_set(c->d, "out of memory");
		r = -1;
		goto out;
	}
	if (!dq_weights(c, wdq, 0, sp.m, ws, &sp.w_zp, why))
		goto out;
	if (bi >= 0 && !qdq_bias(c, bi, &bt, bscale, sp.m, &nbs, &bzp, why))
		goto out;
	out_from_q(&os, o, nd->out[0]);
	sp.nd = nd;
	sp.x = x8;
	sp.y = nd->out[0];
	sp.w = w;
	sp.wl = W_OIHW;
	sp.ws = ws;
	sp.x_s = act_scale(c, x8);
	sp.y_s = os.scale;
	sp.amin = os.amin;
	sp.amax = os.amax;
	if (bt) {
		if (bias_ints(bt, bscale, nbs, bzp, &sp, bias, why) < 0)
			goto out;
		sp.bias = bias;
	}
	r = emit_conv(c, &sp, o, -1, why);
out:
	free(ws);
	free(bscale);
	free(bias);
	return r;
}

/* MatMul / Gemm with a dequantised constant B, or MatMul of two activations. */
static int qdq_matmul(struct qctx *c, const struct npuc_node *nd, int x8, const struct outq *o,
		      char *why)
{
	int gemm = op_is(nd, NPUC_OP_Gemm), tb = gemm && npuc_attr_int(nd, "transB", 0);
	int b = nin(nd, 1), bdq = dq_const(c, b), b8, wi, bi = gemm ? nin(nd, 2) : -1, r;
	float alpha = gemm ? npuc_attr_float(nd, "alpha", 1.0f) : 1.0f;
	float beta = gemm ? npuc_attr_float(nd, "beta", 1.0f) : 1.0f;
	const struct npuc_tensor *bt = NULL;
	struct outspec os;
	double *bscale = NULL, bzp = 0;
	int64_t nbs = 0, m;

	out_from_q(&os, o, nd->out[0]);
	if (gemm && npuc_attr_int(nd, "transA", 0)) {
		why_set(why, "Gemm with transA");
		return 0;
	}
	if (!(alpha > 0) || !isfinite(alpha)) {
		why_set(why, "Gemm alpha %g (the NPU needs a positive scale)", alpha);
		return 0;
	}
	if (bdq < 0) {
		b8 = dq_act(c, b);
		if (gemm || b8 < 0) {
			why_set(why, "B is neither a dequantised constant nor (MatMul) a "
				"dequantised activation");
			return 0;
		}
		return emit_matmul(c, nd->name, x8, b8, &os, why);
	}
	wi = nin(node(c, bdq), 0);
	if (ten(c, wi)->rank != 2 || !shape_known(ten(c, wi))) {
		why_set(why, "constant B is not a 2-D matrix");
		return 0;
	}
	m = ten(c, wi)->dims[tb ? 0 : 1];
	bscale = malloc(sizeof(double) * (size_t)(m + 1));
	if (!bscale) {
		npuc_diag_set(c->d, "out of memory");
		return -1;
	}
	r = 0;
	if (bi >= 0 && !qdq_bias(c, bi, &bt, bscale, m, &nbs, &bzp, why))
		goto out;
	if (bt && numel(bt) != 1 && !chan_bcast(ten(c, nd->out[0]), bt)) {
		why_set(why, "Gemm C is not a scalar or a per-column vector");
		goto out;
	}
	{
		/* Per-column parameters live on the N axis of B. */
		double *tmp = malloc(sizeof(double) * (size_t)(m + 1));
		int32_t zp;
		int ok;

		if (!tmp) {
			npuc_diag_set(c->d, "out of memory");
			r = -1;
			goto out;
		}
		ok = dq_weights(c, bdq, tb ? 0 : 1, m, tmp, &zp, why);
		free(tmp);
		if (!ok)
			goto out;
	}
	for (int64_t i = 0; i < nbs; i++)
		bscale[i] *= beta;
	r = emit_fc(c, nd, x8, wi, tb ? W_NK : W_KN, nin(node(c, bdq), 1), nin(node(c, bdq), 2),
		    alpha, bt, bscale, nbs, bzp, &os, why);
out:
	free(bscale);
	return r;
}

static int qdq_eltwise(struct qctx *c, const struct npuc_node *nd, const struct outq *o,
		       char *why)
{
	enum npu_eltwise_op op = op_is(nd, NPUC_OP_Add) || op_is(nd, NPUC_OP_Sum) ? NPU_ELT_ADD :
				 op_is(nd, NPUC_OP_Sub) ? NPU_ELT_SUB : NPU_ELT_MUL;
	int a = nin(nd, 0), b = nin(nd, 1), a8 = dq_act(c, a), b8 = dq_act(c, b), bdq;
	struct outspec os;
	float bs = 0;
	int32_t bzp = 0;

	if (nd->n_in != 2 || a < 0 || b < 0) {
		why_set(why, "not a binary operation");
		return 0;
	}
	/* Commutative ops: the full-shape activation goes first. */
	if (op != NPU_ELT_SUB &&
	    (a8 < 0 || (b8 >= 0 && !same_shape(ten(c, a), ten(c, nd->out[0]))))) {
		int t = a, t8 = a8;

		a = b;
		a8 = b8;
		b = t;
		b8 = t8;
	}
	if (a8 < 0) {
		why_set(why, "first operand is not a dequantised activation");
		return 0;
	}
	out_from_q(&os, o, nd->out[0]);
	if (b8 >= 0)
		return emit_eltwise(c, nd->name, op, a8, b8, NULL, 0, 0, &os, why);
	bdq = dq_const(c, b);
	if (bdq < 0 || !is8(ten(c, nin(node(c, bdq), 0))->dtype) ||
	    qdq_pt(c, node(c, bdq), nin(node(c, bdq), 0), &bs, &bzp) < 0) {
		why_set(why, "second operand is neither a dequantised activation nor a constant "
			"quantised per tensor");
		return 0;
	}
	if (numel(ten(c, nin(node(c, bdq), 0))) != 1 &&
	    !chan_bcast(ten(c, a8), ten(c, nin(node(c, bdq), 0)))) {
		why_set(why, "constant operand is neither a scalar nor a per-channel vector");
		return 0;
	}
	return emit_eltwise(c, nd->name, op, a8, -1, ten(c, nin(node(c, bdq), 0)), bs, bzp, &os,
			    why);
}

/* Float op with dequantised inputs whose output is quantised: NPU node or 0. */
static int emit_qdq(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	enum npuc_op id = npuc_node_op(nd);
	enum qdq_kind kind = qdq_kind[id];
	int x8 = dq_act(c, nin(nd, 0)), y = nd->n_out > 0 ? nd->out[0] : -1;
	struct outspec os;
	struct lutfn f;
	struct outq o;

	if (y < 0 || nd->n_out != 1 || find_outq(c, y, &o) < 0) {
		why_set(why, "%s: output is not quantised by a QuantizeLinear (float op)", nd->op);
		return 0;
	}
	if (kind == QDQ_elt && (id != NPUC_OP_Sum || nd->n_in == 2))
		return qdq_eltwise(c, nd, &o, why);
	if (x8 < 0) {
		why_set(why, "%s: input is not a dequantised int8 activation", nd->op);
		return 0;
	}
	out_from_q(&os, &o, y);
	if (kind == QDQ_conv)
		return qdq_conv(c, nd, x8, &o, why);
	if (kind == QDQ_fc)
		return qdq_matmul(c, nd, x8, &o, why);
	if (kind == QDQ_pool)
		return emit_pool(c, nd, id == NPUC_OP_MaxPool || id == NPUC_OP_GlobalMaxPool ?
				 NPU_POOL_MAX : NPU_POOL_AVG,
				 id == NPUC_OP_GlobalMaxPool || id == NPUC_OP_GlobalAveragePool, x8, &os,
				 why);
	if (kind == QDQ_reshape)
		return emit_reshape(c, nd, x8, &os, why);
	if (kind == QDQ_concat) {
		int *xs = malloc(sizeof(int) * (size_t)nd->n_in), r = 0;

		if (!xs) {
			npuc_diag_set(c->d, "out of memory");
			return -1;
		}
		for (int i = 0; i < nd->n_in; i++) {
			xs[i] = dq_act(c, nd->in[i]);
			if (xs[i] < 0) {
				why_set(why, "Concat input %d is not a dequantised activation", i);
				goto concat_out;
			}
		}
		r = emit_concat(c, nd, xs, nd->n_in, npuc_attr_int(nd, "axis", 0), &os, why);
concat_out:
		free(xs);
		return r;
	}
	if (lut_fn_of(c, nd, &f))
		return emit_lut(c, nd, &f, x8, &os, why);
	if (id == NPUC_OP_Sum && nd->n_in == 1) {
		f.op = NPUC_OP_Identity;
		return emit_lut(c, nd, &f, x8, &os, why);
	}
	why_set(why, "%s has no NPU equivalent", nd->op);
	return 0;
}

/* QOperator-style ops applied directly to 8-bit tensors. */
static int emit_passthrough(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	int x = nin(nd, 0), y = nd->n_out > 0 ? nd->out[0] : -1;
	struct outspec os;

	if (y < 0 || c->qt[x] < 0 || !is8(ten(c, y)->dtype)) {
		why_set(why, "%s on an 8-bit tensor has no NPU equivalent", nd->op);
		return 0;
	}
	out_from_y8(c, &os, y);
	if (op_is(nd, NPUC_OP_MaxPool) && nd->n_out == 1)
		return emit_pool(c, nd, NPU_POOL_MAX, 0, x, &os, why);
	if (op_is(nd, NPUC_OP_GlobalMaxPool))
		return emit_pool(c, nd, NPU_POOL_MAX, 1, x, &os, why);
	if (qdq_kind[npuc_node_op(nd)] == QDQ_reshape || op_is(nd, NPUC_OP_Identity))
		return emit_reshape(c, nd, x, &os, why);
	why_set(why, "%s on an 8-bit tensor has no NPU equivalent", nd->op);
	return 0;
}

/* ---- com.microsoft QOperator ops (ONNX Runtime's QOperator format) ---- */

static int ms_in(const struct qctx *c, const struct npuc_node *nd, int i, int *x)
{
	float s;
	int32_t zp;

	*x = nin(nd, i);
	if (*x < 0 || pt_params(c, nin(nd, i + 1), nin(nd, i + 2), ten(c, *x)->dtype, &s, &zp))
		return 0;
	return act_is(c, *x, s, zp, 1);
}

static int emit_ms(struct qctx *c, int n, char *why)
{
	const struct npuc_node *nd = node(c, n);
	const char *op = nd->op;
	enum npuc_op id = npuc_node_op(nd);
	int y = nd->n_out > 0 ? nd->out[0] : -1, a, b;
	struct outspec os;

	why_set(why, "%s.%s has no NPU equivalent", nd->domain, op);
	if (strcmp(nd->domain, "com.microsoft") || y < 0 || !is8(ten(c, y)->dtype) ||
	    !c->tq[y].known)
		return 0;
	out_from_y8(c, &os, y);
	if (id == NPUC_OP_QLinearAdd || id == NPUC_OP_QLinearMul) {
		enum npu_eltwise_op eop = id == NPUC_OP_QLinearAdd ? NPU_ELT_ADD : NPU_ELT_MUL;
		float bs;
		int32_t bzp;

		if (!ms_in(c, nd, 0, &a)) {
			why_set(why, "%s: A is not an int8 activation with its parameters", op);
			return 0;
		}
		if (ms_in(c, nd, 3, &b))
			return emit_eltwise(c, nd->name, eop, a, b, NULL, 0, 0, &os, why);
		b = nin(nd, 3);
		if (b < 0 || !is_const(c, b) || !is8(ten(c, b)->dtype) ||
		    pt_params(c, nin(nd, 4), nin(nd, 5), ten(c, b)->dtype, &bs, &bzp) ||
		    (numel(ten(c, b)) != 1 && !chan_bcast(ten(c, a), ten(c, b)))) {
			why_set(why, "%s: B is neither an activation nor a scalar / per-channel "
				"constant", op);
			return 0;
		}
		return emit_eltwise(c, nd->name, eop, a, -1, ten(c, b), bs, bzp, &os, why);
	}
	if (id == NPUC_OP_QLinearSigmoid || id == NPUC_OP_QLinearLeakyRelu) {
		struct lutfn f = { id == NPUC_OP_QLinearSigmoid ? NPUC_OP_Sigmoid : NPUC_OP_LeakyRelu,
				   npuc_attr_float(nd, "alpha", 0.01f), 0, 0, 0 };

		if (!ms_in(c, nd, 0, &a))
			return 0;
		return emit_lut(c, nd, &f, a, &os, why);
	}
	if (id == NPUC_OP_QLinearGlobalAveragePool || id == NPUC_OP_QLinearAveragePool) {
		if (!ms_in(c, nd, 0, &a))
			return 0;
		if (npuc_attr_int(nd, "channels_last", 0)) {
			why_set(why, "%s with channels_last", op);
			return 0;
		}
		return emit_pool(c, nd, NPU_POOL_AVG, id == NPUC_OP_QLinearGlobalAveragePool, a, &os,
				 why);
	}
	if (id == NPUC_OP_QLinearConcat) {
		int k = (nd->n_in - 2) / 3, *xs, r = 0;

		if (k < 1 || nd->n_in != 2 + 3 * k)
			return 0;
		xs = malloc(sizeof(int) * (size_t)k);
		if (!xs) {
			npuc_diag_set(c->d, "out of memory");
			return -1;
		}
		for (int i = 0; i < k; i++) {
			if (!ms_in(c, nd, 2 + 3 * i, &xs[i])) {
				why_set(why, "QLinearConcat input %d is not an int8 activation", i);
				goto out;
			}
		}
		r = emit_concat(c, nd, xs, k, npuc_attr_int(nd, "axis", 0), &os, why);
out:
		free(xs);
		return r;
	}
	return 0;
}

/*
 * Shape inference does not know the com.microsoft ops: give their outputs
 * the type of their zero point and the shape ONNX Runtime computes.
 */
static void ms_set_shape(struct qctx *c, int y, int rank, const int64_t *dims)
{
	struct npuc_tensor *t = &c->g->t[y];

	if (shape_known(t) || rank < 0 || rank > NPUC_MAX_RANK)
		return;
	t->rank = rank;
	for (int i = 0; i < rank; i++)
		t->dims[i] = dims[i];
}

static void ms_bcast(struct qctx *c, int y, const struct npuc_tensor *a,
		     const struct npuc_tensor *b)
{
	int64_t dims[NPUC_MAX_RANK];
	int r = a->rank > b->rank ? a->rank : b->rank;

	if (!shape_known(a) || !shape_known(b))
		return;
	for (int i = 0; i < r; i++) {
		int ia = i - (r - a->rank), ib = i - (r - b->rank);
		int64_t da = ia >= 0 ? a->dims[ia] : 1, db = ib >= 0 ? b->dims[ib] : 1;

		if (da != db && da != 1 && db != 1)
			return;
		dims[i] = da == 1 ? db : da;
	}
	ms_set_shape(c, y, r, dims);
}

static void ms_pool_shape(struct qctx *c, const struct npuc_node *nd, int y,
			  const struct npuc_tensor *x)
{
	int64_t k[2], s[2], dims[4], p[4] = { 0, 0, 0, 0 };
	const struct npuc_attr *pa = npuc_node_attr(nd, "pads");
	const char *ap = npuc_attr_string(nd, "auto_pad", "NOTSET");
	int ceil_mode = npuc_attr_int(nd, "ceil_mode", 0) != 0;

	if (!is_nchw4(x) || attr2(nd, "kernel_shape", 0, k) < 0 || attr2(nd, "strides", 1, s) < 0 ||
	    k[0] < 1 || k[1] < 1 || s[0] < 1 || s[1] < 1)
		return;
	if (pa && pa->type == NPUC_ATTR_INTS && pa->n == 4)
		memcpy(p, pa->ints, sizeof(p));
	dims[0] = 1;
	dims[1] = x->dims[1];
	for (int i = 0; i < 2; i++) {
		int64_t in = x->dims[2 + i], span = in + p[i] + p[i + 2] - k[i];

		if (!strncmp(ap, "SAME", 4))
			dims[2 + i] = (in + s[i] - 1) / s[i];
		else if (!strcmp(ap, "VALID"))
			dims[2 + i] = (in - k[i] + s[i]) / s[i];
		else if (span < 0)
			return;
		else
			dims[2 + i] = (ceil_mode ? (span + s[i] - 1) / s[i] : span / s[i]) + 1;
		if (dims[2 + i] < 1)
			return;
	}
	ms_set_shape(c, y, 4, dims);
}

static void ms_concat_shape(struct qctx *c, const struct npuc_node *nd, int y)
{
	int64_t axis = npuc_attr_int(nd, "axis", 0), dims[NPUC_MAX_RANK];
	const struct npuc_tensor *x0;
	int k = (nd->n_in - 2) / 3;

	if (k < 1 || nd->in[2] < 0 || !shape_known(ten(c, nd->in[2])))
		return;
	x0 = ten(c, nd->in[2]);
	if (axis < 0)
		axis += x0->rank;
	if (axis < 0 || axis >= x0->rank)
		return;
	memcpy(dims, x0->dims, sizeof(dims));
	for (int i = 1; i < k; i++) {
		int xt = nd->in[2 + 3 * i];
		const struct npuc_tensor *xi = xt >= 0 ? ten(c, xt) : NULL;

		if (!xi || !shape_known(xi) || xi->rank != x0->rank)
			return;
		dims[axis] += xi->dims[axis];
	}
	ms_set_shape(c, y, x0->rank, dims);
}

static void ms_infer(struct qctx *c)
{
	for (int n = 0; n < c->g->n_nodes; n++) {
		const struct npuc_node *nd = node(c, n);
		int y = nd->n_out > 0 ? nd->out[0] : -1, si, zi, x;
		enum npuc_op id = npuc_node_op(nd);

		if (strcmp(nd->domain, "com.microsoft") || y < 0 || !qop_out_params(nd, &si, &zi))
			continue;
		x = nin(nd, id == NPUC_OP_QLinearConcat ? 2 : 0);
		if (x < 0)
			continue;
		if (c->g->t[y].dtype == NPUC_DT_UNDEF)
			c->g->t[y].dtype = nin(nd, zi) >= 0 && is8(ten(c, nin(nd, zi))->dtype) ?
					   ten(c, nin(nd, zi))->dtype : ten(c, x)->dtype;
		if (id == NPUC_OP_QLinearAdd || id == NPUC_OP_QLinearMul) {
			if (nin(nd, 3) >= 0)
				ms_bcast(c, y, ten(c, x), ten(c, nin(nd, 3)));
		} else if (id == NPUC_OP_QLinearGlobalAveragePool) {
			int64_t dims[4];

			if (!is_nchw4(ten(c, x)) || npuc_attr_int(nd, "channels_last", 0))
				continue;
			memcpy(dims, ten(c, x)->dims, sizeof(dims));
			dims[2] = dims[3] = 1;
			ms_set_shape(c, y, 4, dims);
		} else if (id == NPUC_OP_QLinearAveragePool) {
			ms_pool_shape(c, nd, y, ten(c, x));
		} else if (id == NPUC_OP_QLinearConcat) {
			ms_concat_shape(c, nd, y);
		} else if (shape_known(ten(c, x))) {
			ms_set_shape(c, y, ten(c, x)->rank, ten(c, x)->dims);
		}
	}
}

/* ---- driver ---- */

static int emit_node(struct qctx *c, int n)
{
	const struct npuc_node *nd = node(c, n);
	char why[WHY_LEN];
	int r;

	if (c->done[n])
		return 0;
	why[0] = 0;
	if (strcmp(nd->domain, "") && strcmp(nd->domain, "ai.onnx"))
		r = emit_ms(c, n, why);
	else if (op_is(nd, NPUC_OP_DequantizeLinear))
		return 0;	/* emitted lazily by its consumers (need_tensor) */
	else if (op_is(nd, NPUC_OP_QuantizeLinear))
		r = emit_quantize(c, n, why);
	else if (op_is(nd, NPUC_OP_QLinearConv))
		r = emit_qlinearconv(c, n, why);
	else if (op_is(nd, NPUC_OP_QLinearMatMul))
		r = emit_qlinearmatmul(c, n, why);
	else if (op_is(nd, NPUC_OP_ConvInteger) || op_is(nd, NPUC_OP_MatMulInteger))
		r = emit_integer(c, n, why);
	else if (nd->n_in > 0 && nd->in[0] >= 0 && is8(ten(c, nd->in[0])->dtype) &&
		 !is_const(c, nd->in[0]) && passthrough_op(nd))
		r = emit_passthrough(c, n, why);
	else
		r = emit_qdq(c, n, why);
	if (r < 0)
		return -1;
	if (r > 0)
		return 0;
	return emit_cpu(c, n, why);
}

/*
 * Every constant scale of a quantisation node must be a positive finite
 * number: 0, a negative, NaN or Inf would otherwise make the node fall back
 * to float without a word (or divide by zero).
 */
static int scales_check(const struct qctx *c)
{
	static const int qdq_scale[3] = { 1, -1, -1 }, qop_scales[3] = { 1, 4, 6 };

	for (int n = 0; n < c->g->n_nodes; n++) {
		const struct npuc_node *nd = &c->g->nodes[n];
		/* By name in any domain: com.microsoft has QuantizeLinear too. */
		enum npuc_op id = npuc_op_find(NULL, nd->op);
		const int *idx = id == NPUC_OP_QuantizeLinear || id == NPUC_OP_DequantizeLinear ?
				 qdq_scale : NULL;

		if (!idx && npuc_node_has(nd, OPF_QOP_BINARY))
			idx = qop_scales;
		if (!idx)
			continue;
		for (int j = 0; j < 3; j++) {
			int i = idx[j], t = i >= 0 && i < nd->n_in ? nd->in[i] : -1;
			const struct npuc_tensor *st;

			if (t < 0 || !is_const(c, t) || ten(c, t)->dtype != NPUC_DT_F32)
				continue;
			st = ten(c, t);
			for (int64_t e = 0; e < numel(st); e++)
				if (!scale_ok(cval(st, e))) {
					npuc_diag_set(c->d, "node '%s' (%s): scale '%s' holds %g at "
						      "%lld: a scale must be a positive finite number",
						      nd->name, nd->op, st->name, cval(st, e),
						      (long long)e);
					return -1;
				}
		}
	}
	return 0;
}

static int consumers_build(struct qctx *c)
{
	const struct npuc_graph *g = c->g;
	int total = 0, *fill;

	c->cons_off = calloc((size_t)g->n_t + 1, sizeof(int));
	if (!c->cons_off)
		return -1;
	for (int n = 0; n < g->n_nodes; n++)
		for (int i = 0; i < g->nodes[n].n_in; i++)
			if (g->nodes[n].in[i] >= 0 && g->nodes[n].in[i] < g->n_t) {
				c->cons_off[g->nodes[n].in[i] + 1]++;
				total++;
			}
	for (int t = 0; t < g->n_t; t++)
		c->cons_off[t + 1] += c->cons_off[t];
	c->cons = malloc(sizeof(int) * (size_t)(total + 1));
	fill = malloc(sizeof(int) * (size_t)(g->n_t + 1));
	if (!c->cons || !fill) {
		free(fill);
		return -1;
	}
	memcpy(fill, c->cons_off, sizeof(int) * (size_t)g->n_t);
	/* A node using a tensor twice is listed twice (never a sole consumer). */
	for (int n = 0; n < g->n_nodes; n++)
		for (int i = 0; i < g->nodes[n].n_in; i++)
			if (g->nodes[n].in[i] >= 0 && g->nodes[n].in[i] < g->n_t)
				c->cons[fill[g->nodes[n].in[i]]++] = n;
	free(fill);
	return 0;
}

static int io_build(struct qctx *c)
{
	const struct npuc_graph *g = c->g;
	struct npuq_graph *q = c->q;

	for (int i = 0; i < g->n_inputs; i++) {
		int t = g->inputs[i];

		if (c->qt[t] < 0 && new_qt(c, t, 0) < 0)
			return -1;
		if (npuq_add_input(q, c->qt[t], c->d) < 0)
			return -1;
	}
	return 0;
}

static int outputs_build(struct qctx *c)
{
	const struct npuc_graph *g = c->g;
	struct npuq_graph *q = c->q;

	for (int i = 0; i < g->n_outputs; i++) {
		int x = need_tensor(c, g->outputs[i]);

		if (x < 0 || npuq_add_output(q, x, c->d) < 0)
			return -1;
	}
	return 0;
}

static void ctx_free(struct qctx *c)
{
	free(c->qt);
	free(c->tq);
	free(c->cons_off);
	free(c->cons);
	free(c->done);
}

int npuc_qdq_import(struct npuc_graph *src, struct npuq_graph **out, struct npuc_diag *d)
{
	struct qctx c;
	int rc = -1;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (!src) {
		npuc_diag_set(d, "qdq import: no graph");
		return -1;
	}
	c.g = src;
	c.d = d;
	c.q = npuq_graph_new();
	c.qt = malloc(sizeof(int) * (size_t)(src->n_t + 1));
	c.tq = calloc((size_t)src->n_t + 1, sizeof(*c.tq));
	c.done = calloc((size_t)src->n_nodes + 1, 1);
	if (!c.q || !c.qt || !c.tq || !c.done || consumers_build(&c) < 0) {
		npuc_diag_set(d, "out of memory");
		goto out;
	}
	for (int t = 0; t < src->n_t; t++)
		c.qt[t] = -1;
	if (scales_check(&c) < 0)
		goto out;
	ms_infer(&c);
	tq_all(&c);
	if (io_build(&c) < 0)
		goto out;
	for (int n = 0; n < src->n_nodes; n++)
		if (emit_node(&c, n) < 0)
			goto out;
	if (outputs_build(&c) < 0)
		goto out;
	c.q->src = src;
	*out = c.q;
	c.q = NULL;
	rc = 0;
out:
	npuq_graph_free(c.q);
	ctx_free(&c);
	return rc;
}

int npuc_qdq_is_quantized(const struct npuc_graph *g)
{
	/* DynamicQuantizeLinear: a dynamically quantised model (its outputs are not float) */
	for (int n = 0; g && n < g->n_nodes; n++)
		if (npuc_node_has(&g->nodes[n], OPF_QUANTIZED))
			return 1;
	return 0;
}

enum npuc_dtype npuc_qdq_onnx_dtype(const struct npuq_graph *q, int t)
{
	int s;

	if (!q || t < 0 || t >= q->n_t)
		return NPUC_DT_UNDEF;
	s = q->src ? npuc_graph_find(q->src, q->t[t].name) : -1;
	if (s >= 0 && q->src->t[s].dtype != NPUC_DT_UNDEF)
		return q->src->t[s].dtype;
	return (q->t[t].flags & NPUQ_T_FLOAT) ? NPUC_DT_F32 : NPUC_DT_I8;
}
