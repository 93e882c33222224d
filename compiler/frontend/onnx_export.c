// SPDX-License-Identifier: MIT
/*
 * qgraph -> QDQ ONNX model (onnx_export.h).
 *
 * One walk over the qgraph nodes in order, appending ONNX nodes to a
 * ModelProto built from the protobuf-c structs. Every allocation of the
 * model (messages, names, tensor data) goes into an arena freed after
 * packing. ONNX value names: each qgraph tensor keeps its name (made
 * unique); helper values get "<tensor>_<what>" names, also made unique.
 */
#include "onnx_export.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "onnx_ops.h"
#include "ref_float.h"

#define MAX_ATTRS	16	/* attributes of a node written by the exporter itself */

/* ---- arena ---- */

struct blk {
	struct blk *next;
	_Alignas(max_align_t) unsigned char data[];
};

/* A set of names (open addressing; keys live in the arena). */
struct nset {
	const char **k;
	size_t cap, n;
};

/* A growable array of pointers (malloc'd, not in the arena). */
struct vec {
	void **v;
	size_t n, cap;
};

struct shp {
	int rank;
	int64_t d[NPUC_MAX_RANK];
};

struct ex {
	const struct npuq_graph *q;
	const struct npuc_graph *src;	/* may be NULL */
	struct npuc_diag *d;
	struct blk *arena;
	struct vec nodes, inits, ins, outs, opsets;
	struct nset vals, nnames;
	int64_t opset;
	char **tn;		/* per qgraph tensor: its ONNX value name */
	char **io;		/* per qgraph tensor: graph input / output name if different */
	char **dqn;		/* per qgraph tensor: its dequantised value, or NULL */
	char **sc, **zpn;	/* per int8 qgraph tensor: scale / zero point initializers */
	int *perm;		/* per qgraph tensor: NCHW tensor whose flatten it holds, or -1 */
	char **cn;		/* per source tensor: its constant's initializer, or NULL */
};

static int fail(struct ex *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int fail(struct ex *e, const char *fmt, ...)
{
	char msg[sizeof(e->d->msg)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	npuc_diag_set(e->d, "export-qdq: %s", msg);
	return -1;
}

static void *ex_alloc(struct ex *e, size_t n)
{
	struct blk *b;

	if (n > SIZE_MAX - sizeof(*b) - 1) {
		fail(e, "out of memory");
		return NULL;
	}
	b = calloc(1, sizeof(*b) + n + 1);
	if (!b) {
		fail(e, "out of memory");
		return NULL;
	}
	b->next = e->arena;
	e->arena = b;
	return b->data;
}

static char *ex_fmt(struct ex *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static char *ex_fmt(struct ex *e, const char *fmt, ...)
{
	va_list ap;
	int n;
	char *s;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return NULL;
	s = ex_alloc(e, (size_t)n + 1);
	if (!s)
		return NULL;
	va_start(ap, fmt);
	vsnprintf(s, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return s;
}

static int vec_push(struct ex *e, struct vec *v, void *p)
{
	if (!p)
		return -1;
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 16;
		void **nv = realloc(v->v, cap * sizeof(*nv));

		if (!nv)
			return fail(e, "out of memory");
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = p;
	return 0;
}

/* ---- names ---- */

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

static int nset_has(const struct nset *s, const char *k)
{
	if (!s->cap)
		return 0;
	for (size_t i = hash_str(k) & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->k[i])
			return 0;
		if (!strcmp(s->k[i], k))
			return 1;
	}
}

static int nset_put(struct nset *s, const char *k)
{
	size_t i = hash_str(k) & (s->cap - 1);

	while (s->k[i])
		i = (i + 1) & (s->cap - 1);
	s->k[i] = k;
	s->n++;
	return 0;
}

static int nset_add(struct ex *e, struct nset *s, const char *k)
{
	if (2 * (s->n + 1) > s->cap) {
		struct nset ns = { .cap = s->cap ? 2 * s->cap : 256 };

		ns.k = calloc(ns.cap, sizeof(*ns.k));
		if (!ns.k)
			return fail(e, "out of memory");
		for (size_t i = 0; i < s->cap; i++)
			if (s->k[i])
				nset_put(&ns, s->k[i]);
		free(s->k);
		*s = ns;
	}
	return nset_put(s, k);
}

/* A name not yet in s, derived from base (base, base_1, base_2, ...), added to s. */
static char *uniq(struct ex *e, struct nset *s, const char *base)
{
	char *name = ex_fmt(e, "%s", base && base[0] ? base : "v");

	for (unsigned int k = 1; name && nset_has(s, name); k++)
		name = ex_fmt(e, "%s_%u", base && base[0] ? base : "v", k);
	if (!name || nset_add(e, s, name))
		return NULL;
	return name;
}

/* A fresh value name "<base>_<what>". */
static char *vname(struct ex *e, const char *base, const char *what)
{
	char *b = ex_fmt(e, "%s_%s", base, what);

	return b ? uniq(e, &e->vals, b) : NULL;
}

/* ---- tensors and types ---- */

static int32_t onnx_type(enum npuc_dtype dt)
{
	switch (dt) {
	case NPUC_DT_F32: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	case NPUC_DT_U8: return ONNX__TENSOR_PROTO__DATA_TYPE__UINT8;
	case NPUC_DT_I8: return ONNX__TENSOR_PROTO__DATA_TYPE__INT8;
	case NPUC_DT_I32: return ONNX__TENSOR_PROTO__DATA_TYPE__INT32;
	case NPUC_DT_I64: return ONNX__TENSOR_PROTO__DATA_TYPE__INT64;
	case NPUC_DT_BOOL: return ONNX__TENSOR_PROTO__DATA_TYPE__BOOL;
	case NPUC_DT_F16: return ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16;
	case NPUC_DT_F64: return ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE;
	default: return ONNX__TENSOR_PROTO__DATA_TYPE__UNDEFINED;
	}
}

/* Little-endian copy of n elements of es bytes (raw_data is little-endian). */
static void le_copy(unsigned char *dst, const void *src, size_t n, size_t es)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	const unsigned char *s = src;

	for (size_t i = 0; i < n; i++)
		for (size_t b = 0; b < es; b++)
			dst[i * es + b] = s[i * es + es - 1 - b];
#else
	if (n)
		memcpy(dst, src, n * es);
#endif
}

static Onnx__TensorProto *tensor_proto(struct ex *e, const char *name, enum npuc_dtype dt,
				       int rank, const int64_t *dims, const void *data)
{
	Onnx__TensorProto *t = ex_alloc(e, sizeof(*t));
	Onnx__TensorProto init = ONNX__TENSOR_PROTO__INIT;
	size_t es = npuc_dtype_size(dt), n = 1;

	if (!t)
		return NULL;
	*t = init;
	t->dims = ex_alloc(e, (size_t)(rank > 0 ? rank : 1) * sizeof(int64_t));
	if (!t->dims)
		return NULL;
	for (int i = 0; i < rank; i++) {
		t->dims[i] = dims[i];
		n *= (size_t)dims[i];
	}
	t->n_dims = (size_t)rank;
	t->has_data_type = 1;
	t->data_type = onnx_type(dt);
	t->name = (char *)name;
	t->has_raw_data = 1;
	t->raw_data.len = n * es;
	t->raw_data.data = ex_alloc(e, n * es);
	if (!t->raw_data.data)
		return NULL;
	le_copy(t->raw_data.data, data, n, es);
	return t;
}

/* An initializer named after base; returns its (unique) value name. */
static char *init_add(struct ex *e, const char *base, enum npuc_dtype dt, int rank,
		      const int64_t *dims, const void *data)
{
	char *name = uniq(e, &e->vals, base);
	Onnx__TensorProto *t = name ? tensor_proto(e, name, dt, rank, dims, data) : NULL;

	if (!t || vec_push(e, &e->inits, t))
		return NULL;
	return name;
}

static char *init_scalar(struct ex *e, const char *base, const char *what, enum npuc_dtype dt,
			 const void *v)
{
	char *b = ex_fmt(e, "%s_%s", base, what);

	return b ? init_add(e, b, dt, 0, NULL, v) : NULL;
}

static char *init_1d(struct ex *e, const char *base, const char *what, enum npuc_dtype dt,
		     int64_t n, const void *v)
{
	char *b = ex_fmt(e, "%s_%s", base, what);

	return b ? init_add(e, b, dt, 1, &n, v) : NULL;
}

/* ---- nodes and attributes ---- */

static Onnx__NodeProto *node_new(struct ex *e, const char *op, const char *name,
				 const char *const *in, int n_in, const char *const *out, int n_out,
				 int max_attrs)
{
	Onnx__NodeProto *n = ex_alloc(e, sizeof(*n));
	Onnx__NodeProto init = ONNX__NODE_PROTO__INIT;

	if (!n)
		return NULL;
	*n = init;
	n->input = ex_alloc(e, (size_t)(n_in + 1) * sizeof(char *));
	n->output = ex_alloc(e, (size_t)(n_out + 1) * sizeof(char *));
	n->attribute = ex_alloc(e, (size_t)(max_attrs + 1) * sizeof(*n->attribute));
	n->op_type = ex_fmt(e, "%s", op);
	n->name = uniq(e, &e->nnames, name && name[0] ? name : op);
	if (!n->input || !n->output || !n->attribute || !n->op_type || !n->name)
		return NULL;
	for (int i = 0; i < n_in; i++)
		n->input[i] = (char *)(in[i] ? in[i] : "");
	while (n_in > 0 && !n->input[n_in - 1][0])
		n_in--;	/* trailing omitted inputs are left out */
	for (int i = 0; i < n_out; i++)
		n->output[i] = (char *)(out[i] ? out[i] : "");
	n->n_input = (size_t)n_in;
	n->n_output = (size_t)n_out;
	n->domain = "";
	return vec_push(e, &e->nodes, n) ? NULL : n;
}

/*
 * One node with one output named out (NULL: a fresh "<hint>_<op>" value);
 * the node is called name, or "<hint>_<op>".
 */
static char *node1(struct ex *e, const char *op, const char *name, const char *const *in,
		   int n_in, const char *out, const char *hint, Onnx__NodeProto **np)
{
	Onnx__NodeProto *n;

	if (!hint || !hint[0])
		hint = op;
	if (!out)
		out = vname(e, hint, op);
	if (!name && out)
		name = ex_fmt(e, "%s_%s", hint, op);
	if (!out || !name)
		return NULL;
	n = node_new(e, op, name, in, n_in, &out, 1, MAX_ATTRS);
	if (!n)
		return NULL;
	if (np)
		*np = n;
	return (char *)out;
}

static Onnx__AttributeProto *attr_new(struct ex *e, Onnx__NodeProto *n, const char *name,
				      Onnx__AttributeProto__AttributeType type)
{
	Onnx__AttributeProto *a = ex_alloc(e, sizeof(*a));
	Onnx__AttributeProto init = ONNX__ATTRIBUTE_PROTO__INIT;

	if (!a)
		return NULL;
	*a = init;
	a->name = ex_fmt(e, "%s", name);
	if (!a->name)
		return NULL;
	a->has_type = 1;
	a->type = type;
	n->attribute[n->n_attribute++] = a;
	return a;
}

static int attr_i(struct ex *e, Onnx__NodeProto *n, const char *name, int64_t v)
{
	Onnx__AttributeProto *a = attr_new(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);

	if (!a)
		return -1;
	a->has_i = 1;
	a->i = v;
	return 0;
}

static int attr_ints(struct ex *e, Onnx__NodeProto *n, const char *name, const int64_t *v,
		     int cnt)
{
	Onnx__AttributeProto *a = attr_new(e, n, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);

	if (!a || !(a->ints = ex_alloc(e, (size_t)(cnt + 1) * sizeof(int64_t))))
		return -1;
	if (cnt)
		memcpy(a->ints, v, (size_t)cnt * sizeof(int64_t));
	a->n_ints = (size_t)cnt;
	return 0;
}

/* Copy of source attribute sa (TENSOR attributes from the source constant). */
static int attr_copy(struct ex *e, Onnx__NodeProto *n, const struct npuc_attr *sa)
{
	static const Onnx__AttributeProto__AttributeType types[] = {
		[NPUC_ATTR_INT] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
		[NPUC_ATTR_FLOAT] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
		[NPUC_ATTR_STRING] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
		[NPUC_ATTR_INTS] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
		[NPUC_ATTR_FLOATS] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
		[NPUC_ATTR_TENSOR] = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR,
	};
	Onnx__AttributeProto *a;
	size_t cnt = sa->n > 0 ? (size_t)sa->n : 0;

	if ((unsigned int)sa->type >= sizeof(types) / sizeof(types[0]))
		return fail(e, "attribute '%s' has an unknown type", sa->name);
	a = attr_new(e, n, sa->name, types[sa->type]);
	if (!a)
		return -1;
	switch (sa->type) {
	case NPUC_ATTR_INT:
		a->has_i = 1;
		a->i = sa->i;
		return 0;
	case NPUC_ATTR_FLOAT:
		a->has_f = 1;
		a->f = sa->f;
		return 0;
	case NPUC_ATTR_STRING:
		a->has_s = 1;
		a->s.len = sa->s ? strlen(sa->s) : 0;
		a->s.data = (uint8_t *)ex_fmt(e, "%s", sa->s ? sa->s : "");
		return a->s.data ? 0 : -1;
	case NPUC_ATTR_INTS:
		n->n_attribute--;
		return attr_ints(e, n, sa->name, sa->ints, (int)cnt);
	case NPUC_ATTR_FLOATS:
		a->floats = ex_alloc(e, (cnt + 1) * sizeof(float));
		if (!a->floats)
			return -1;
		if (cnt)
			memcpy(a->floats, sa->floats, cnt * sizeof(float));
		a->n_floats = cnt;
		return 0;
	case NPUC_ATTR_TENSOR: {
		const struct npuc_tensor *t;

		if (!e->src || sa->i < 0 || sa->i >= e->src->n_t ||
		    !(t = &e->src->t[sa->i])->data || t->rank < 0 ||
		    npuc_tensor_numel(t) < 0 ||
		    (size_t)npuc_tensor_numel(t) * npuc_dtype_size(t->dtype) != t->nbytes)
			return fail(e, "tensor attribute '%s' has no usable constant", sa->name);
		a->t = tensor_proto(e, "", t->dtype, t->rank, t->dims, t->data);
		return a->t ? 0 : -1;
	}
	}
	return -1;
}

/* ---- shapes ---- */

static int tshape(struct ex *e, int t, struct shp *s)
{
	if (npuq_tensor_onnx_shape(&e->q->t[t], &s->rank, s->d, e->d))
		return -1;
	return 0;
}

static int shp_eq(const struct shp *a, const struct shp *b)
{
	if (a->rank != b->rank)
		return 0;
	for (int i = 0; i < a->rank; i++)
		if (a->d[i] != b->d[i])
			return 0;
	return 1;
}

static void shp_set(struct shp *s, int rank, int64_t a, int64_t b, int64_t c, int64_t d)
{
	s->rank = rank;
	s->d[0] = a;
	s->d[1] = b;
	s->d[2] = c;
	s->d[3] = d;
}

/* 1 if the tensor's NHWC bytes are its ONNX row-major order. */
static int ordered(const struct npuq_tensor *t)
{
	return !t->nchw || t->c == 1 || (int64_t)t->h * t->w == 1;
}

/* ---- quantisation helpers ---- */

/* Scale and zero point initializers of int8 tensor t (created once). */
static int qparams(struct ex *e, int t)
{
	const struct npuq_tensor *x = &e->q->t[t];
	int8_t zp = (int8_t)x->zp;

	if (e->sc[t])
		return 0;
	if (x->flags & NPUQ_T_FLOAT)
		return fail(e, "tensor '%s' is float where int8 is needed", x->name);
	if (!(x->scale > 0) || !isfinite(x->scale) || x->zp < -128 || x->zp > 127)
		return fail(e, "tensor '%s' has an invalid scale / zero point", x->name);
	e->sc[t] = init_scalar(e, e->tn[t], "scale", NPUC_DT_F32, &x->scale);
	e->zpn[t] = e->sc[t] ? init_scalar(e, e->tn[t], "zero_point", NPUC_DT_I8, &zp) : NULL;
	return e->zpn[t] ? 0 : -1;
}

/* DequantizeLinear of int8 value x with tensor t's parameters -> out (NULL: fresh). */
static char *emit_dq(struct ex *e, int t, const char *x, const char *out)
{
	const char *in[3];

	if (qparams(e, t))
		return NULL;
	in[0] = x;
	in[1] = e->sc[t];
	in[2] = e->zpn[t];
	return node1(e, "DequantizeLinear", NULL, in, 3, out, x, NULL);
}

/* The dequantised value of int8 tensor t (one DequantizeLinear per tensor). */
static char *dq_of(struct ex *e, int t)
{
	if (!e->dqn[t])
		e->dqn[t] = emit_dq(e, t, e->tn[t], NULL);
	return e->dqn[t];
}

/* QuantizeLinear of float value x with tensor t's parameters -> out (NULL: fresh). */
static char *emit_q(struct ex *e, int t, const char *x, const char *out)
{
	const char *in[3];

	if (qparams(e, t))
		return NULL;
	in[0] = x;
	in[1] = e->sc[t];
	in[2] = e->zpn[t];
	return node1(e, "QuantizeLinear", NULL, in, 3, out, e->tn[t], NULL);
}

/* uint8 copy of int8 tensor t (same scale, zero point + 128): exact. */
static char *u8_of(struct ex *e, int t, const char *out)
{
	uint8_t zp = (uint8_t)(e->q->t[t].zp + 128);
	const char *in[3];

	in[0] = dq_of(e, t);
	in[1] = e->sc[t];
	in[2] = in[0] ? init_scalar(e, e->tn[t], "zero_point_u8", NPUC_DT_U8, &zp) : NULL;
	if (!in[2])
		return NULL;
	return node1(e, "QuantizeLinear", NULL, in, 3, out, e->tn[t], NULL);
}

/* int8 tensor t from its uint8 version x_u8. */
static int from_u8(struct ex *e, int t, const char *x_u8)
{
	uint8_t zp = (uint8_t)(e->q->t[t].zp + 128);
	const char *in[3];

	if (qparams(e, t))
		return -1;
	in[0] = x_u8;
	in[1] = e->sc[t];
	in[2] = init_scalar(e, e->tn[t], "zero_point_u8", NPUC_DT_U8, &zp);
	if (!in[2])
		return -1;
	in[0] = node1(e, "DequantizeLinear", NULL, in, 3, NULL, x_u8, NULL);
	return in[0] && emit_q(e, t, in[0], e->tn[t]) ? 0 : -1;
}

/* Reshape of value x to shape s -> out (NULL: fresh). */
static char *reshape(struct ex *e, const char *x, const struct shp *s, const char *out)
{
	const char *in[2];

	in[0] = x;
	in[1] = init_1d(e, x, "shape", NPUC_DT_I64, s->rank, s->d);
	if (!in[1])
		return NULL;
	return node1(e, "Reshape", NULL, in, 2, out, x, NULL);
}

/* int8 tensor t as an ONNX value of shape s (same row-major element order). */
static char *view_i8(struct ex *e, int t, const struct shp *s)
{
	struct shp st;

	if (tshape(e, t, &st))
		return NULL;
	if (shp_eq(&st, s))
		return e->tn[t];
	if (!ordered(&e->q->t[t]) || e->perm[t] >= 0) {
		fail(e, "tensor '%s' cannot be viewed in another shape without a transpose",
		     e->q->t[t].name);
		return NULL;
	}
	return reshape(e, e->tn[t], s, NULL);
}

/* Dequantised view of int8 tensor t with shape s. */
static char *dq_view(struct ex *e, int t, const struct shp *s)
{
	struct shp st;
	char *v;

	if (tshape(e, t, &st))
		return NULL;
	if (shp_eq(&st, s))
		return dq_of(e, t);
	v = view_i8(e, t, s);
	return v ? emit_dq(e, t, v, NULL) : NULL;
}

/*
 * The output side of an NPU node: float value x of shape r, clamped to
 * [act_min, act_max] (Relu / Clip in real units), quantised into tensor y
 * (reshaped if y's ONNX shape differs from r: same row-major order).
 */
static int finish(struct ex *e, const char *name, const char *x, const struct shp *r, int y,
		  int act_min, int act_max)
{
	const struct npuq_tensor *yt = &e->q->t[y];
	struct shp sy;
	const char *in[3];
	char *qv;

	if (!x || tshape(e, y, &sy))
		return -1;
	if (act_min > -128 || act_max < 127) {
		float lo = (float)(act_min - yt->zp) * yt->scale;
		float hi = (float)(act_max - yt->zp) * yt->scale;

		in[0] = x;
		if (act_min == yt->zp && act_max == 127) {
			x = node1(e, "Relu", NULL, in, 1, NULL, name, NULL);
		} else {
			in[1] = init_scalar(e, name, "clip_min", NPUC_DT_F32, &lo);
			in[2] = init_scalar(e, name, "clip_max", NPUC_DT_F32, &hi);
			x = in[1] && in[2] ? node1(e, "Clip", NULL, in, 3, NULL, name, NULL) : NULL;
		}
		if (!x)
			return -1;
	}
	if (shp_eq(r, &sy))
		return emit_q(e, y, x, e->tn[y]) ? 0 : -1;
	if (!ordered(yt))
		return fail(e, "node '%s': output '%s' would need a transpose", name, yt->name);
	qv = emit_q(e, y, x, NULL);
	return qv && reshape(e, qv, &sy, e->tn[y]) ? 0 : -1;
}

/* ---- NPU nodes ---- */

static int bad_node(struct ex *e, const struct npuq_node *n, const char *why)
{
	return fail(e, "%s node '%s': %s", npuq_op_name(n->op), n->name ? n->name : "", why);
}

static int io_ok(const struct ex *e, const struct npuq_node *n, int n_in, int n_out)
{
	if (n->n_in < n_in || n->n_out != n_out)
		return 0;
	for (int i = 0; i < n->n_in; i++)
		if (e->perm[n->in[i]] >= 0 && n->op != NPUQ_CONV)
			return 0;
	return 1;
}

static int ex_quantize(struct ex *e, const struct npuq_node *n)
{
	struct shp s;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	if (tshape(e, n->in[0], &s))
		return -1;
	return finish(e, n->name, e->tn[n->in[0]], &s, n->out[0], -128, 127);
}

static int ex_dequantize(struct ex *e, const struct npuq_node *n)
{
	int x, y;
	struct shp sx, sy;
	char *v;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	x = n->in[0];
	y = n->out[0];
	if (tshape(e, x, &sx) || tshape(e, y, &sy))
		return -1;
	if (shp_eq(&sx, &sy)) {
		v = emit_dq(e, x, e->tn[x], e->tn[y]);
		if (v && !e->dqn[x])
			e->dqn[x] = v;
		return v ? 0 : -1;
	}
	if (!ordered(&e->q->t[x]) || !ordered(&e->q->t[y]))
		return bad_node(e, n, "input and output shapes differ in element order");
	v = dq_of(e, x);
	return v && reshape(e, v, &sy, e->tn[y]) ? 0 : -1;
}

/* Per-output-channel DequantizeLinear (axis 0) of int8 weights w with dims. */
static char *weights_dq(struct ex *e, const char *name, const int8_t *w, int rank,
			const int64_t *dims, const struct npuq_conv *cv, int64_t oc)
{
	int8_t *zp = ex_alloc(e, (size_t)oc);
	const char *in[3];
	Onnx__NodeProto *n;
	char *base = ex_fmt(e, "%s_W", name), *out;

	if (!zp || !base)
		return NULL;
	memset(zp, cv->w_zp, (size_t)oc);
	in[0] = init_add(e, base, NPUC_DT_I8, rank, dims, w);
	in[1] = in[0] ? init_1d(e, base, "scale", NPUC_DT_F32, oc, cv->w_scale) : NULL;
	in[2] = in[1] ? init_1d(e, base, "zero_point", NPUC_DT_I8, oc, zp) : NULL;
	if (!in[2])
		return NULL;
	out = node1(e, "DequantizeLinear", NULL, in, 3, NULL, in[0], &n);
	return out && !attr_i(e, n, "axis", 0) ? out : NULL;
}

/* int32 bias at scale in_scale * w_scale[oc], dequantised per channel. */
static char *bias_dq(struct ex *e, const char *name, const struct npuq_conv *cv, float in_s,
		     int64_t oc)
{
	int32_t *b = ex_alloc(e, (size_t)oc * sizeof(int32_t));
	float *s = ex_alloc(e, (size_t)oc * sizeof(float));
	char *base = ex_fmt(e, "%s_B", name), *out;
	const char *in[2];
	Onnx__NodeProto *n;

	if (!b || !s || !base)
		return NULL;
	for (int64_t o = 0; o < oc; o++) {
		b[o] = cv->q[o].bias;
		s[o] = (float)((double)in_s * cv->w_scale[o]);
	}
	in[0] = init_add(e, base, NPUC_DT_I32, 1, &oc, b);
	in[1] = in[0] ? init_1d(e, base, "scale", NPUC_DT_F32, oc, s) : NULL;
	if (!in[1])
		return NULL;
	out = node1(e, "DequantizeLinear", NULL, in, 2, NULL, in[0], &n);
	return out && !attr_i(e, n, "axis", 0) ? out : NULL;
}

static int conv2d(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_conv *cv = &n->u.conv;
	const struct npuq_tensor *x = &e->q->t[n->in[0]], *y = &e->q->t[n->out[0]];
	int64_t oc = y->c, icg, kk = (int64_t)cv->k_h * cv->k_w;
	int64_t wd[4], k2[2] = { cv->k_h, cv->k_w }, st[2] = { cv->stride_h, cv->stride_w };
	int64_t dl[2] = { cv->dil_h, cv->dil_w };
	int64_t pd[4] = { cv->pad_top, cv->pad_left, cv->pad_bottom, cv->pad_right };
	const char *in[3];
	Onnx__NodeProto *cn;
	struct shp sy;
	int8_t *w;
	char *out;

	if (cv->groups < 1 || x->c % cv->groups || oc % cv->groups || kk < 1)
		return bad_node(e, n, "inconsistent groups / kernel");
	icg = x->c / cv->groups;
	w = ex_alloc(e, (size_t)(oc * icg * kk));
	if (!w)
		return -1;
	/* [oc][kh][kw][ic/g] -> ONNX [oc][ic/g][kh][kw] */
	for (int64_t o = 0; o < oc; o++)
		for (int64_t ci = 0; ci < icg; ci++)
			for (int64_t k = 0; k < kk; k++)
				w[(o * icg + ci) * kk + k] = cv->w[(o * kk + k) * icg + ci];
	wd[0] = oc;
	wd[1] = icg;
	wd[2] = cv->k_h;
	wd[3] = cv->k_w;
	in[0] = dq_of(e, n->in[0]);
	in[1] = in[0] ? weights_dq(e, n->name, w, 4, wd, cv, oc) : NULL;
	in[2] = in[1] ? bias_dq(e, n->name, cv, x->scale, oc) : NULL;
	if (!in[2] || tshape(e, n->out[0], &sy))
		return -1;
	out = node1(e, "Conv", n->name, in, 3, NULL, n->name, &cn);
	if (!out || attr_ints(e, cn, "kernel_shape", k2, 2) || attr_ints(e, cn, "strides", st, 2) ||
	    attr_ints(e, cn, "pads", pd, 4) || attr_ints(e, cn, "dilations", dl, 2) ||
	    attr_i(e, cn, "group", cv->groups))
		return -1;
	return finish(e, n->name, out, &sy, n->out[0], cv->act_min, cv->act_max);
}

/* Storage offset of ONNX (NCHW) element i of an NCHW tensor. */
static int64_t nchw_storage(const struct npuq_tensor *t, int64_t i)
{
	int64_t hw = (int64_t)t->h * t->w;

	return (i % hw) * t->c + i / hw;
}

/* Fully connected CONV (1x1 over the rows of an (h, w, K) tensor): Gemm. */
static int conv_fc(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_conv *cv = &n->u.conv;
	int xi = n->in[0], p = e->perm[xi];
	const struct npuq_tensor *x = &e->q->t[xi], *y = &e->q->t[n->out[0]];
	int64_t rows = (int64_t)x->h * x->w, k = x->c, nn = y->c, wd[2] = { nn, k };
	const char *in[3];
	Onnx__NodeProto *gn;
	struct shp sa, r;
	const int8_t *w = cv->w;
	char *out;

	if (cv->k_h != 1 || cv->k_w != 1 || cv->stride_h != 1 || cv->stride_w != 1 ||
	    cv->groups != 1 || cv->pad_top || cv->pad_left || cv->pad_bottom || cv->pad_right ||
	    (int64_t)y->h * y->w != rows || (p >= 0 && rows != 1))
		return bad_node(e, n, "CONV on a non-NCHW tensor is not a fully connected layer");
	if (p >= 0) {
		/* columns back in the ONNX (C, H, W) order of the flattened tensor */
		int8_t *wp = ex_alloc(e, (size_t)(nn * k));

		if (!wp)
			return -1;
		for (int64_t o = 0; o < nn; o++)
			for (int64_t i = 0; i < k; i++)
				wp[o * k + i] = cv->w[o * k + nchw_storage(&e->q->t[p], i)];
		w = wp;
	}
	shp_set(&sa, 2, rows, k, 0, 0);
	shp_set(&r, 2, rows, nn, 0, 0);
	if (p >= 0 && tshape(e, xi, &sa))
		return -1;
	if (p >= 0 && sa.rank != 2) {
		shp_set(&sa, 2, 1, k, 0, 0);
		in[0] = reshape(e, e->tn[xi], &sa, NULL);
		in[0] = in[0] ? emit_dq(e, xi, in[0], NULL) : NULL;
	} else {
		in[0] = dq_view(e, xi, &sa);
	}
	in[1] = in[0] ? weights_dq(e, n->name, w, 2, wd, cv, nn) : NULL;
	in[2] = in[1] ? bias_dq(e, n->name, cv, x->scale, nn) : NULL;
	if (!in[2])
		return -1;
	out = node1(e, "Gemm", n->name, in, 3, NULL, n->name, &gn);
	if (!out || attr_i(e, gn, "transB", 1))
		return -1;
	return finish(e, n->name, out, &r, n->out[0], cv->act_min, cv->act_max);
}

static int ex_conv(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_tensor *x, *y;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	x = &e->q->t[n->in[0]];
	y = &e->q->t[n->out[0]];
	if (!n->u.conv.w || !n->u.conv.q || !n->u.conv.w_scale)
		return bad_node(e, n, "has no weights, qparams or weight scales");
	if (x->nchw && y->nchw && e->perm[n->in[0]] < 0)
		return conv2d(e, n);
	return conv_fc(e, n);
}

static int ex_matmul(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_tensor *a, *b, *y;
	struct shp sa, sb, ra, rb, r;
	const char *in[2];
	char *out;

	if (!io_ok(e, n, 2, 1) || n->n_in != 2)
		return bad_node(e, n, "expects two inputs and one output");
	a = &e->q->t[n->in[0]];
	b = &e->q->t[n->in[1]];
	y = &e->q->t[n->out[0]];
	if (!ordered(a) || !ordered(b) || !ordered(y) || b->h != a->h || b->w != a->c ||
	    y->h != a->h || y->w != a->w || y->c != b->c)
		return bad_node(e, n, "operands are not (h, M, K) x (h, K, N)");
	if (tshape(e, n->in[0], &sa) || tshape(e, n->in[1], &sb))
		return -1;
	if (a->h == 1 && sa.rank == 2 && sb.rank == 2) {
		ra = sa;
		rb = sb;
		shp_set(&r, 2, a->w, b->c, 0, 0);
	} else {
		shp_set(&ra, 3, a->h, a->w, a->c, 0);
		shp_set(&rb, 3, b->h, b->w, b->c, 0);
		shp_set(&r, 3, a->h, a->w, b->c, 0);
	}
	in[0] = dq_view(e, n->in[0], &ra);
	in[1] = in[0] ? dq_view(e, n->in[1], &rb) : NULL;
	out = in[1] ? node1(e, "MatMul", n->name, in, 2, NULL, n->name, NULL) : NULL;
	return finish(e, n->name, out, &r, n->out[0], n->u.matmul.act_min, n->u.matmul.act_max);
}

/* ONNX shape of ELTWISE operand B broadcasting against A (layout of a). */
static void elt_bshape(const struct npuq_tensor *a, enum npu_bcast bc, const struct shp *sa,
		       struct shp *sb)
{
	if (bc == NPU_BCAST_NONE)
		*sb = *sa;
	else if (bc == NPU_BCAST_SCALAR || a->c == 1)
		sb->rank = 0;
	else if (a->nchw)
		shp_set(sb, 4, 1, a->c, 1, 1);
	else
		shp_set(sb, 1, a->c, 0, 0, 0);
}

/* Constant B of an ELTWISE: int8 initializer in ONNX order, dequantised. */
static char *elt_const(struct ex *e, const struct npuq_node *n, const struct npuq_tensor *a,
		       const struct shp *sb)
{
	const struct npuq_eltwise *el = &n->u.eltwise;
	int64_t cnt = 1, hw = (int64_t)a->h * a->w;
	int8_t *v, zp = (int8_t)el->b_zp;
	const char *in[3];
	char *base = ex_fmt(e, "%s_B", n->name);

	for (int i = 0; i < sb->rank; i++)
		cnt *= sb->d[i];
	v = ex_alloc(e, (size_t)cnt);
	if (!v || !base)
		return NULL;
	if (!(el->b_scale > 0) || !isfinite(el->b_scale) || el->b_zp < -128 || el->b_zp > 127) {
		bad_node(e, n, "constant operand has an invalid scale / zero point");
		return NULL;
	}
	for (int64_t i = 0; i < cnt; i++)	/* NCHW order from the NHWC storage order */
		v[i] = el->bcast == NPU_BCAST_NONE && !ordered(a) ?
		       el->b_const[(i % hw) * a->c + i / hw] : el->b_const[i];
	in[0] = init_add(e, base, NPUC_DT_I8, sb->rank, sb->d, v);
	in[1] = in[0] ? init_scalar(e, base, "scale", NPUC_DT_F32, &el->b_scale) : NULL;
	in[2] = in[1] ? init_scalar(e, base, "zero_point", NPUC_DT_I8, &zp) : NULL;
	return in[2] ? node1(e, "DequantizeLinear", NULL, in, 3, NULL, in[0], NULL) : NULL;
}

static int ex_eltwise(struct ex *e, const struct npuq_node *n)
{
	static const char *const ops[] = {
		[NPU_ELT_ADD] = "Add", [NPU_ELT_SUB] = "Sub", [NPU_ELT_MUL] = "Mul",
	};
	const struct npuq_eltwise *el = &n->u.eltwise;
	const struct npuq_tensor *a;
	struct shp sa, sb;
	const char *in[2];
	char *out;

	if (!io_ok(e, n, 1, 1) || n->n_in > 2 || (n->n_in == 1 && !el->b_const))
		return bad_node(e, n, "expects one or two inputs and one output");
	if ((unsigned int)el->op >= sizeof(ops) / sizeof(ops[0]) || !ops[el->op] ||
	    (el->bcast != NPU_BCAST_NONE && el->bcast != NPU_BCAST_SCALAR &&
	     el->bcast != NPU_BCAST_CHANNEL))
		return bad_node(e, n, "unknown operation or broadcast");
	a = &e->q->t[n->in[0]];
	if (tshape(e, n->in[0], &sa))
		return -1;
	elt_bshape(a, el->bcast, &sa, &sb);
	in[0] = dq_of(e, n->in[0]);
	if (!in[0])
		return -1;
	if (n->n_in == 2) {
		const struct npuq_tensor *b = &e->q->t[n->in[1]];
		struct shp s1;

		if (tshape(e, n->in[1], &s1))
			return -1;
		if (el->bcast == NPU_BCAST_NONE && !shp_eq(&s1, &sa) &&
		    (!ordered(a) || !ordered(b)))
			return bad_node(e, n, "operands differ in element order");
		in[1] = dq_view(e, n->in[1], &sb);
	} else {
		in[1] = elt_const(e, n, a, &sb);
	}
	out = in[1] ? node1(e, ops[el->op], n->name, in, 2, NULL, n->name, NULL) : NULL;
	return finish(e, n->name, out, &sa, n->out[0], el->act_min, el->act_max);
}

static int ex_pool(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_pool *p = &n->u.pool;
	const struct npuq_tensor *x, *y;
	int64_t k[2] = { p->k_h, p->k_w }, st[2] = { p->stride_h, p->stride_w };
	int64_t pd[4] = { p->pad_top, p->pad_left, p->pad_bottom, p->pad_right };
	int avg = p->mode == NPU_POOL_AVG, global;
	const char *op, *in[1];
	Onnx__NodeProto *pn;
	struct shp sy;
	char *out;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	x = &e->q->t[n->in[0]];
	y = &e->q->t[n->out[0]];
	if (!x->nchw || !y->nchw || (p->mode != NPU_POOL_AVG && p->mode != NPU_POOL_MAX))
		return bad_node(e, n, "only 2-D max / average pooling of NCHW tensors");
	global = p->k_h == x->h && p->k_w == x->w && !p->pad_top && !p->pad_left &&
		 !p->pad_bottom && !p->pad_right && y->h == 1 && y->w == 1;
	op = global ? (avg ? "GlobalAveragePool" : "GlobalMaxPool") :
	     (avg ? "AveragePool" : "MaxPool");
	in[0] = dq_of(e, n->in[0]);
	if (!in[0] || tshape(e, n->out[0], &sy))
		return -1;
	out = node1(e, op, n->name, in, 1, NULL, n->name, &pn);
	if (!out)
		return -1;
	if (!global && (attr_ints(e, pn, "kernel_shape", k, 2) ||
			attr_ints(e, pn, "strides", st, 2) || attr_ints(e, pn, "pads", pd, 4) ||
			(avg && p->count_pad && attr_i(e, pn, "count_include_pad", 1))))
		return -1;
	return finish(e, n->name, out, &sy, n->out[0], p->act_min, p->act_max);
}

static int ex_concat(struct ex *e, const struct npuq_node *n)
{
	const struct npuq_tensor *y;
	const char **in;
	Onnx__NodeProto *cn;
	struct shp sy;
	int axis;
	char *out;

	if (!io_ok(e, n, 1, 1))
		return bad_node(e, n, "expects inputs and one output");
	y = &e->q->t[n->out[0]];
	if (tshape(e, n->out[0], &sy))
		return -1;
	axis = y->nchw ? 1 : sy.rank - 1;
	in = ex_alloc(e, (size_t)n->n_in * sizeof(*in));
	if (!in || axis < 0)
		return axis < 0 ? bad_node(e, n, "scalar output") : -1;
	for (int j = 0; j < n->n_in; j++) {
		const struct npuq_tensor *x = &e->q->t[n->in[j]];
		struct shp sj = sy;

		if (x->h != y->h || x->w != y->w || (!ordered(x) && !y->nchw) ||
		    (!ordered(y) && !x->nchw))
			return bad_node(e, n, "input does not match the output's layout");
		sj.d[axis] = x->c;
		in[j] = dq_view(e, n->in[j], &sj);
		if (!in[j])
			return -1;
	}
	out = node1(e, "Concat", n->name, in, n->n_in, NULL, n->name, &cn);
	if (!out || attr_i(e, cn, "axis", axis))
		return -1;
	return finish(e, n->name, out, &sy, n->out[0], -128, 127);
}

/* 1 if every consumer of t is a fully connected CONV reading it as its only row. */
static int fc_only_consumers(const struct ex *e, int t)
{
	const struct npuq_tensor *x = &e->q->t[t];
	int found = 0;

	if (x->flags & NPUQ_T_OUTPUT || (int64_t)x->h * x->w != 1)
		return 0;
	for (int i = 0; i < e->q->n_nodes; i++) {
		const struct npuq_node *n = &e->q->nodes[i];

		for (int j = 0; j < n->n_in; j++) {
			if (n->in[j] != t)
				continue;
			if (n->op != NPUQ_CONV || j != 0 || n->n_out != 1 ||
			    e->q->t[n->out[0]].nchw)
				return 0;
			found = 1;
		}
	}
	return found;
}

/*
 * A RESHAPE that moves elements: DQ -> [Transpose to NHWC] -> Reshape ->
 * [Transpose to NCHW] -> Q, reproducing the qgraph's byte order.
 */
static int reshape_transpose(struct ex *e, const struct npuq_node *n)
{
	static const int64_t to_nhwc[4] = { 0, 2, 3, 1 }, to_nchw[4] = { 0, 3, 1, 2 };
	const struct npuq_tensor *x = &e->q->t[n->in[0]], *y = &e->q->t[n->out[0]];
	struct shp mid, sy;
	Onnx__NodeProto *tp;
	char *v = dq_of(e, n->in[0]);

	if (!v || tshape(e, n->out[0], &sy))
		return -1;
	if (!ordered(x)) {
		v = node1(e, "Transpose", n->name, (const char *const *)&v, 1, NULL, v, &tp);
		if (!v || attr_ints(e, tp, "perm", to_nhwc, 4))
			return -1;
	}
	mid = sy;
	if (!ordered(y))
		shp_set(&mid, 4, 1, y->h, y->w, y->c);
	v = reshape(e, v, &mid, NULL);
	if (v && !ordered(y)) {
		v = node1(e, "Transpose", NULL, (const char *const *)&v, 1, NULL, v, &tp);
		if (!v || attr_ints(e, tp, "perm", to_nchw, 4))
			return -1;
	}
	return finish(e, n->name, v, &sy, n->out[0], -128, 127);
}

static int ex_reshape(struct ex *e, const struct npuq_node *n)
{
	int x, y;
	const struct npuq_tensor *xt, *yt;
	struct shp sx, sy;
	char *v;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	x = n->in[0];
	y = n->out[0];
	xt = &e->q->t[x];
	yt = &e->q->t[y];
	if ((xt->flags ^ yt->flags) & NPUQ_T_FLOAT)
		return bad_node(e, n, "input and output differ in kind");
	if (tshape(e, x, &sx) || tshape(e, y, &sy))
		return -1;
	if ((ordered(xt) && ordered(yt)) || (xt->nchw && yt->nchw && shp_eq(&sx, &sy)))
		return reshape(e, e->tn[x], &sy, e->tn[y]) ? 0 : -1;
	if (xt->flags & NPUQ_T_FLOAT)
		return bad_node(e, n, "float reshape that reorders elements");
	if (xt->nchw && ordered(yt) && fc_only_consumers(e, y)) {
		/* the source's Flatten; the Gemm weights are put back in CHW order */
		v = dq_of(e, x);
		v = v ? reshape(e, v, &sy, NULL) : NULL;
		e->perm[y] = x;
		return v && emit_q(e, y, v, e->tn[y]) ? 0 : -1;
	}
	return reshape_transpose(e, n);
}

/* ---- LUT ---- */

/* Functions of one input without attributes (written as is when the source lacks them). */
static int plain_unary(const char *op)
{
	return (npuc_op_flags(npuc_op_find(NULL, op)) & OPF_PLAIN_UNARY) != 0;
}

static int src_const(const struct ex *e, int t)
{
	return t >= 0 && t < e->src->n_t && (e->src->t[t].flags & NPUC_T_CONST) &&
	       e->src->t[t].data;
}

/* Source tensor t is computed from constants only by its producer (DQ of a constant). */
static int src_const_derived(const struct ex *e, int t)
{
	int p = t >= 0 && t < e->src->n_t ? e->src->t[t].producer : -1;
	const struct npuc_node *pn;

	if (p < 0 || p >= e->src->n_nodes)
		return 0;
	pn = &e->src->nodes[p];
	if (pn->n_out != 1)
		return 0;
	for (int j = 0; j < pn->n_in; j++)
		if (pn->in[j] >= 0 && !src_const(e, pn->in[j]))
			return 0;
	return 1;
}

/* The source node a LUT node came from (same name and function), or NULL. */
static const struct npuc_node *lut_src(const struct ex *e, const struct npuq_node *n, int *xj)
{
	if (!e->src || !n->name || !n->u.lut.fn)
		return NULL;
	for (int i = 0; i < e->src->n_nodes; i++) {
		const struct npuc_node *sn = &e->src->nodes[i];
		int x = -1;

		if (!sn->name || strcmp(sn->name, n->name) || strcmp(sn->op, n->u.lut.fn) ||
		    (sn->domain && sn->domain[0] && strcmp(sn->domain, "ai.onnx")) ||
		    sn->n_out < 1)
			continue;
		for (int j = 0; j < sn->n_in; j++) {
			int t = sn->in[j];

			if (t < 0 || src_const(e, t) || src_const_derived(e, t))
				continue;
			if (x >= 0)
				return NULL;
			x = j;
		}
		if (x < 0)
			return NULL;
		*xj = x;
		return sn;
	}
	return NULL;
}

static char *const_name(struct ex *e, int t);
static int copy_node(struct ex *e, const struct npuc_node *sn, const char **in, int n_in,
		     const char **out, int n_out);

/* Input j of a copied source node: a constant or a node of constants (copied too). */
static const char *src_input(struct ex *e, const struct npuc_node *sn, int j)
{
	int t = sn->in[j], p;
	const struct npuc_node *pn;
	const char **in, *out;

	if (t < 0)
		return "";
	if (src_const(e, t))
		return const_name(e, t);
	p = e->src->t[t].producer;
	pn = &e->src->nodes[p];
	in = ex_alloc(e, (size_t)(pn->n_in + 1) * sizeof(*in));
	out = vname(e, e->src->t[t].name, "const");
	if (!in || !out)
		return NULL;
	for (int i = 0; i < pn->n_in; i++) {
		in[i] = pn->in[i] < 0 ? "" : const_name(e, pn->in[i]);
		if (!in[i])
			return NULL;
	}
	return copy_node(e, pn, in, pn->n_in, &out, 1) ? NULL : out;
}

/* Exact LUT: Gather(table, Cast(x, int32) + 128) on the int8 values. */
static int lut_gather(struct ex *e, const struct npuq_node *n)
{
	int32_t c128 = 128;
	int64_t n256 = 256;
	const char *in[2];
	Onnx__NodeProto *nd;
	struct shp sx, sy;
	char *v;

	if (tshape(e, n->in[0], &sx) || tshape(e, n->out[0], &sy))
		return -1;
	in[0] = e->tn[n->in[0]];
	v = node1(e, "Cast", NULL, in, 1, NULL, in[0], &nd);
	if (!v || attr_i(e, nd, "to", ONNX__TENSOR_PROTO__DATA_TYPE__INT32))
		return -1;
	in[0] = v;
	in[1] = init_scalar(e, n->name, "offset", NPUC_DT_I32, &c128);
	in[1] = in[1] ? node1(e, "Add", NULL, in, 2, NULL, n->name, NULL) : NULL;
	in[0] = in[1] ? init_1d(e, n->name, "table", NPUC_DT_I8, n256, n->u.lut.table) : NULL;
	if (!in[0])
		return -1;
	/* the Gather writes the output tensor itself unless a reshape follows */
	v = node1(e, "Gather", n->name, in, 2, shp_eq(&sx, &sy) ? e->tn[n->out[0]] : NULL,
		  n->name, &nd);
	if (!v || attr_i(e, nd, "axis", 0))
		return -1;
	return v == e->tn[n->out[0]] || reshape(e, v, &sy, e->tn[n->out[0]]) ? 0 : -1;
}

/* ---- LUT check: the float op must reproduce the table ---- */

/* Deep copy of source attribute a into node nd of check graph m. */
static int chk_attr(const struct ex *e, struct npuc_graph *m, int nd, const struct npuc_attr *a,
		    struct npuc_diag *d)
{
	struct npuc_attr c = *a;
	size_t cnt = a->n > 0 ? (size_t)a->n : 0;

	c.name = strdup(a->name);
	c.s = a->s ? strdup(a->s) : NULL;
	c.ints = a->ints ? malloc(cnt * sizeof(int64_t) + 1) : NULL;
	c.floats = a->floats ? malloc(cnt * sizeof(float) + 1) : NULL;
	if (c.ints && cnt)
		memcpy(c.ints, a->ints, cnt * sizeof(int64_t));
	if (c.floats && cnt)
		memcpy(c.floats, a->floats, cnt * sizeof(float));
	if (a->type == NPUC_ATTR_TENSOR) {
		char nm[32];

		snprintf(nm, sizeof(nm), "attr.%d", m->n_t);
		c.i = -1;
		if (a->i >= 0 && a->i < e->src->n_t && src_const(e, (int)a->i)) {
			const struct npuc_tensor *t = &e->src->t[a->i];
			void *data = malloc(t->nbytes + 1);
			int ti = data ? npuc_graph_add_tensor(m, nm, t->dtype, t->rank, t->dims,
							     d) : -1;

			if (ti >= 0) {
				memcpy(data, t->data, t->nbytes);
				c.i = npuc_tensor_set_data(m, ti, data, t->nbytes, d) ? -1 : ti;
			} else {
				free(data);
			}
		}
	}
	if (!c.name || (a->s && !c.s) || (a->ints && !c.ints) || (a->floats && !c.floats) ||
	    (a->type == NPUC_ATTR_TENSOR && c.i < 0)) {
		free(c.name);
		free(c.s);
		free(c.ints);
		free(c.floats);
		npuc_diag_set(d, "cannot copy attribute");
		return -1;
	}
	return npuc_node_add_attr(m, nd, &c, d);
}

/* Copy of source node sn into m with inputs in[] and one output out. */
static int chk_node(const struct ex *e, struct npuc_graph *m, const struct npuc_node *sn,
		    const int *in, int out, struct npuc_diag *d)
{
	int nd = npuc_graph_add_node(m, sn->name, sn->op, sn->domain, in, sn->n_in, &out, 1, d);

	if (nd < 0)
		return -1;
	for (int i = 0; i < sn->n_attrs; i++)
		if (strncmp(sn->attrs[i].name, "npuc.", 5) &&
		    chk_attr(e, m, nd, &sn->attrs[i], d))
			return -1;
	return 0;
}

/* Source tensor t (a constant, or computed from constants) in check graph m. */
static int chk_input(const struct ex *e, struct npuc_graph *m, int t, struct npuc_diag *d)
{
	const struct npuc_tensor *x = &e->src->t[t];
	const struct npuc_node *pn;
	int mt = npuc_graph_find(m, x->name), *in, rc;
	void *data;

	if (mt >= 0)
		return mt;
	if (!src_const(e, t)) {
		pn = &e->src->nodes[x->producer];
		in = malloc((size_t)(pn->n_in + 1) * sizeof(int));
		mt = npuc_graph_add_tensor(m, x->name, NPUC_DT_UNDEF, -1, NULL, d);
		rc = in && mt >= 0 ? 0 : -1;
		for (int j = 0; !rc && j < pn->n_in; j++) {
			in[j] = pn->in[j] < 0 ? -1 : chk_input(e, m, pn->in[j], d);
			rc = pn->in[j] >= 0 && in[j] < 0 ? -1 : 0;
		}
		if (!rc)
			rc = chk_node(e, m, pn, in, mt, d);
		free(in);
		return rc ? -1 : mt;
	}
	data = malloc(x->nbytes + 1);
	mt = data ? npuc_graph_add_tensor(m, x->name, x->dtype, x->rank, x->dims, d) : -1;
	if (mt < 0) {
		free(data);
		return -1;
	}
	memcpy(data, x->data, x->nbytes);
	return npuc_tensor_set_data(m, mt, data, x->nbytes, d) ? -1 : mt;
}

/*
 * ys[k] = the LUT's float function (source node sn with input xj, or the
 * attribute-free op fn) at the 256 dequantised int8 inputs, by the float
 * reference executor. 0, or -1 (cannot evaluate: not an error).
 */
static int lut_eval(struct ex *e, const struct npuq_node *n, const struct npuc_node *sn, int xj,
		    float *ys)
{
	const struct npuq_tensor *x = &e->q->t[n->in[0]];
	struct npuc_graph *m = npuc_graph_new();
	struct npuc_node plain = { .name = n->name, .op = n->u.lut.fn, .domain = "" };
	int64_t d256 = 256;
	int xin = 0, *in = NULL, y = -1, rc = -1;
	struct npuc_value xv, yv = { 0 };
	struct npuc_diag dd;
	float xs[256];

	if (!sn) {
		plain.in = &xin;
		plain.n_in = 1;
		plain.n_out = 1;
		sn = &plain;
		xj = 0;
	}
	for (int k = 0; k < 256; k++)
		xs[k] = (float)(k - 128 - x->zp) * x->scale;	/* DequantizeLinear */
	in = malloc((size_t)(sn->n_in + 1) * sizeof(int));
	if (!m || !in)
		goto out;
	m->opset = e->src ? e->src->opset : NPUC_EXPORT_MIN_OPSET;
	for (int j = 0; j < sn->n_in; j++) {
		if (j == xj)
			in[j] = npuc_graph_add_tensor(m, "npuc.lut.x", NPUC_DT_F32, 1, &d256, &dd);
		else
			in[j] = sn->in[j] < 0 ? -1 : chk_input(e, m, sn->in[j], &dd);
		if (in[j] < 0 && (j == xj || sn->in[j] >= 0))
			goto out;
	}
	y = npuc_graph_add_tensor(m, "npuc.lut.y", NPUC_DT_UNDEF, -1, NULL, &dd);
	if (y < 0 || chk_node(e, m, sn, in, y, &dd) ||
	    npuc_graph_set_io(m, &in[xj], 1, &y, 1, &dd))
		goto out;
	if (npuc_value_wrap(&xv, NPUC_DT_F32, 1, &d256, xs, &dd) ||
	    npuc_ref_run(m, &xv, &yv, NULL, &dd) || yv.dtype != NPUC_DT_F32 || yv.numel != 256)
		goto out;
	memcpy(ys, yv.data, sizeof(xs));
	rc = 0;
out:
	npuc_value_free(&yv);
	npuc_graph_free(m);
	free(in);
	return rc;
}

/* ONNX QuantizeLinear of one value (float32, half to even, saturating). */
static int quant_f(float v, float scale, int32_t zp)
{
	float r;

	if (isnan(v))
		return zp;
	r = rintf(v / scale) + (float)zp;
	return r < -128.0f ? -128 : r > 127.0f ? 127 : (int)r;
}

/*
 * 1 if the float function quantised to the output reproduces the table
 * within one step, possibly after clamping to the table's range (a fused
 * Relu / Clip): *lo / *hi get the clamp (-128 / 127 for none). 0 if not.
 */
static int lut_verify(struct ex *e, const struct npuq_node *n, const struct npuc_node *sn,
		      int xj, int *lo, int *hi)
{
	const struct npuq_tensor *y = &e->q->t[n->out[0]];
	const int8_t *tab = n->u.lut.table;
	int tmin = 127, tmax = -128, plain = 1, clamped = 1;
	float ys[256];

	if (lut_eval(e, n, sn, xj, ys))
		return 0;
	for (int k = 0; k < 256; k++) {
		tmin = tab[k] < tmin ? tab[k] : tmin;
		tmax = tab[k] > tmax ? tab[k] : tmax;
	}
	for (int k = 0; k < 256; k++) {
		int v = quant_f(ys[k], y->scale, y->zp);
		int c = v < tmin ? tmin : v > tmax ? tmax : v;

		plain &= abs(v - tab[k]) <= 1;
		clamped &= abs(c - tab[k]) <= 1;
	}
	*lo = plain ? -128 : tmin;
	*hi = plain ? 127 : tmax;
	return plain || clamped;
}

static int ex_lut(struct ex *e, const struct npuq_node *n)
{
	const struct npuc_node *sn;
	const char *fn = n->u.lut.fn ? n->u.lut.fn : "";
	int xj = -1, lo, hi;
	struct shp sx;
	char *x, *out;

	if (!io_ok(e, n, 1, 1) || n->n_in != 1)
		return bad_node(e, n, "expects one input and one output");
	if (tshape(e, n->in[0], &sx))
		return -1;
	sn = lut_src(e, n, &xj);
	if ((!sn && !plain_unary(fn)) || !lut_verify(e, n, sn, xj, &lo, &hi))
		return lut_gather(e, n);
	x = dq_of(e, n->in[0]);
	if (!x)
		return -1;
	if (sn) {
		const char **in = ex_alloc(e, (size_t)(sn->n_in + 1) * sizeof(*in));

		out = vname(e, n->name, fn);
		if (!in || !out)
			return -1;
		for (int j = 0; j < sn->n_in; j++) {
			in[j] = j == xj ? x : src_input(e, sn, j);
			if (!in[j])
				return -1;
		}
		if (copy_node(e, sn, in, sn->n_in, (const char **)&out, 1))
			return -1;
	} else {
		out = node1(e, fn, n->name, (const char *const *)&x, 1, NULL, n->name, NULL);
	}
	return finish(e, n->name, out, &sx, n->out[0], lo, hi);
}

/* ---- source nodes (CPU fallback, LUT functions) ---- */

static enum npuc_dtype src_dtype_of(const struct ex *e, const char *name, enum npuc_dtype def)
{
	int t = e->src && name ? npuc_graph_find(e->src, name) : -1;

	return t >= 0 && e->src->t[t].dtype != NPUC_DT_UNDEF ? e->src->t[t].dtype : def;
}

/* Initializer holding source constant t (written once). */
static char *const_name(struct ex *e, int t)
{
	const struct npuc_tensor *x;
	int64_t n;

	if (e->cn[t])
		return e->cn[t];
	x = &e->src->t[t];
	n = npuc_tensor_numel(x);
	if (n < 0 || !npuc_dtype_size(x->dtype) || (size_t)n * npuc_dtype_size(x->dtype) !=
	    x->nbytes || !onnx_type(x->dtype)) {
		fail(e, "constant '%s' has no exportable data", x->name);
		return NULL;
	}
	e->cn[t] = init_add(e, x->name, x->dtype, x->rank, x->dims, x->data);
	return e->cn[t];
}

static int has_domain(const struct ex *e, const char *dom)
{
	for (size_t i = 0; i < e->opsets.n; i++) {
		const Onnx__OperatorSetIdProto *o = e->opsets.v[i];

		if (!strcmp(o->domain, dom))
			return 1;
	}
	return 0;
}

static int add_opset(struct ex *e, const char *dom, int64_t version)
{
	Onnx__OperatorSetIdProto *o = ex_alloc(e, sizeof(*o));
	Onnx__OperatorSetIdProto init = ONNX__OPERATOR_SET_ID_PROTO__INIT;

	if (!o)
		return -1;
	*o = init;
	o->domain = ex_fmt(e, "%s", dom);
	o->has_version = 1;
	o->version = version;
	return o->domain ? vec_push(e, &e->opsets, o) : -1;
}

static int attr_is(const struct npuc_attr *a, const char *const *names)
{
	for (; *names; names++)
		if (!strcmp(a->name, *names))
			return 1;
	return 0;
}

/* Pre-opset-13 attributes that became inputs: appended to in[] (room for 3 more). */
static int legacy_inputs(struct ex *e, const struct npuc_node *sn, const char **in, int *n_in,
			 const char *const **drop)
{
	static const char *const axes[] = { "axes", NULL }, *const split[] = { "split", NULL };
	static const char *const clip[] = { "min", "max", NULL };
	static const char *const pad[] = { "pads", "value", NULL };
	static const char *const dropout[] = { "ratio", "is_test", NULL };
	const char *base = sn->name;
	enum npuc_op op = npuc_op_find(NULL, sn->op);
	const struct npuc_attr *a;
	int64_t opset = e->src->opset;

	if (op == NPUC_OP_Squeeze || op == NPUC_OP_Unsqueeze || op == NPUC_OP_ReduceSum ||
	    op == NPUC_OP_Split) {
		int sp = op == NPUC_OP_Split;

		*drop = sp ? split : axes;
		a = npuc_node_attr(sn, sp ? "split" : "axes");
		if (!a || a->type != NPUC_ATTR_INTS)
			return 0;
		for (; *n_in < 1; (*n_in)++)
			in[*n_in] = "";
		in[1] = init_1d(e, base, sp ? "split" : "axes", NPUC_DT_I64, a->n, a->ints);
		*n_in = 2;
		return in[1] ? 0 : -1;
	}
	if (op == NPUC_OP_Clip && opset < 11) {
		float lo = npuc_attr_float(sn, "min", -INFINITY), hi = npuc_attr_float(sn, "max",
										    INFINITY);

		*drop = clip;
		in[1] = init_scalar(e, base, "min", NPUC_DT_F32, &lo);
		in[2] = in[1] ? init_scalar(e, base, "max", NPUC_DT_F32, &hi) : NULL;
		*n_in = 3;
		return in[2] ? 0 : -1;
	}
	if (op == NPUC_OP_Pad && opset < 11) {
		float v = npuc_attr_float(sn, "value", 0.0f);

		*drop = pad;
		a = npuc_node_attr(sn, "pads");
		if (!a || a->type != NPUC_ATTR_INTS)
			return fail(e, "Pad node '%s' has no pads", base);
		in[1] = init_1d(e, base, "pads", NPUC_DT_I64, a->n, a->ints);
		in[2] = in[1] ? init_scalar(e, base, "value", NPUC_DT_F32, &v) : NULL;
		*n_in = 3;
		return in[2] ? 0 : -1;
	}
	if (op == NPUC_OP_Dropout)
		*drop = dropout;
	return 0;
}

/*
 * Pre-13 Softmax / LogSoftmax / Hardmax coerce the input to 2-D at axis
 * (default 1): unless axis is the last one, Flatten(axis) -> op(axis 1)
 * -> Reshape back to Shape(input). *done is set when written that way.
 */
static int legacy_softmax(struct ex *e, const struct npuc_node *sn, const char **in,
			  const char **out, int *done)
{
	const struct npuc_tensor *x = sn->n_in > 0 && sn->in[0] >= 0 ? &e->src->t[sn->in[0]] :
				      NULL;
	int64_t axis = npuc_attr_int(sn, "axis", 1);
	Onnx__NodeProto *nd;
	const char *rin[2];
	char *v;

	*done = 0;
	if (!x || !in[0][0])
		return fail(e, "%s node '%s' has no input", sn->op, sn->name);
	if (x->rank >= 1 && (axis == x->rank - 1 || axis == -1))
		return 0;	/* the same as opset 13's, axis written explicitly */
	v = node1(e, "Flatten", NULL, in, 1, NULL, in[0], &nd);
	if (!v || attr_i(e, nd, "axis", axis))
		return -1;
	v = node1(e, sn->op, sn->name, (const char *const *)&v, 1, NULL, v, &nd);
	if (!v || attr_i(e, nd, "axis", 1))
		return -1;
	rin[0] = v;
	rin[1] = node1(e, "Shape", NULL, in, 1, NULL, in[0], NULL);
	*done = 1;
	return rin[1] && node1(e, "Reshape", NULL, rin, 2, out[0], v, NULL) ? 0 : -1;
}

static int is_softmax(const char *op)
{
	enum npuc_op id = npuc_op_find(NULL, op);

	return id == NPUC_OP_Softmax || id == NPUC_OP_LogSoftmax || id == NPUC_OP_Hardmax;
}

/* A copy of source node sn with the given input and output value names. */
static int copy_node(struct ex *e, const struct npuc_node *sn, const char **in, int n_in,
		     const char **out, int n_out)
{
	static const char *const none[] = { NULL };
	static const char *const always[] = { "consumed_inputs", NULL };
	const char *const *drop = none;
	const char **ins = ex_alloc(e, (size_t)(n_in + 4) * sizeof(*ins));
	int def = !sn->domain || !sn->domain[0] || !strcmp(sn->domain, "ai.onnx");
	int legacy = def && e->src->opset < 13, softmax = def && is_softmax(sn->op);
	Onnx__NodeProto *n;

	if (!ins)
		return -1;
	memcpy(ins, in, (size_t)n_in * sizeof(*ins));
	if (legacy && softmax) {
		int done;

		if (legacy_softmax(e, sn, ins, out, &done))
			return -1;
		if (done)
			return 0;
	}
	if (legacy && legacy_inputs(e, sn, ins, &n_in, &drop))
		return -1;
	n = node_new(e, sn->op, sn->name, ins, n_in, out, n_out, sn->n_attrs + 1);
	if (!n)
		return -1;
	if (!def) {
		n->domain = ex_fmt(e, "%s", sn->domain);
		if (!n->domain || (!has_domain(e, sn->domain) && add_opset(e, sn->domain, 1)))
			return -1;
	}
	for (int i = 0; i < sn->n_attrs; i++) {
		const struct npuc_attr *a = &sn->attrs[i];

		if (!strncmp(a->name, "npuc.", 5) || (legacy && attr_is(a, always)) ||
		    attr_is(a, drop) || (legacy && softmax && !strcmp(a->name, "axis")))
			continue;
		if (attr_copy(e, n, a))
			return -1;
	}
	if (legacy && softmax) {
		const struct npuc_tensor *x = &e->src->t[sn->in[0]];

		return attr_i(e, n, "axis", x->rank - 1);
	}
	return 0;
}

/* Value name of CPU operand qgraph tensor qt, whose source tensor has type dt. */
static const char *cpu_operand(struct ex *e, int qt, enum npuc_dtype dt)
{
	if (e->perm[qt] >= 0) {
		fail(e, "tensor '%s' is read by a CPU node in NHWC order", e->q->t[qt].name);
		return NULL;
	}
	if (!(e->q->t[qt].flags & NPUQ_T_FLOAT) && dt == NPUC_DT_U8)
		return u8_of(e, qt, NULL);
	return e->tn[qt];
}

static int ex_cpu(struct ex *e, const struct npuq_node *n)
{
	const struct npuc_node *sn;
	const char **in, **out;
	int k = 0, m = 0;

	if (!e->src || n->u.cpu.src_node < 0 || n->u.cpu.src_node >= e->src->n_nodes)
		return bad_node(e, n, "refers to no source node");
	sn = &e->src->nodes[n->u.cpu.src_node];
	in = ex_alloc(e, (size_t)(sn->n_in + 1) * sizeof(*in));
	out = ex_alloc(e, (size_t)(sn->n_out + 1) * sizeof(*out));
	if (!in || !out)
		return -1;
	for (int j = 0; j < sn->n_in; j++) {
		int t = sn->in[j], first = j;

		if (t < 0 || src_const(e, t)) {
			in[j] = t < 0 ? "" : const_name(e, t);
			if (!in[j])
				return -1;
			continue;
		}
		for (int i = 0; i < j && first == j; i++)
			if (sn->in[i] == t)
				first = i;
		if (first < j) {
			in[j] = in[first];
			continue;
		}
		if (k >= n->n_in)
			return bad_node(e, n, "inputs do not match the source node's");
		in[j] = cpu_operand(e, n->in[k++], e->src->t[t].dtype);
		if (!in[j])
			return -1;
	}
	for (int j = 0; j < sn->n_out; j++) {
		int t = sn->out[j], qt;

		out[j] = "";
		if (t < 0)
			continue;
		if (m >= n->n_out)
			return bad_node(e, n, "outputs do not match the source node's");
		qt = n->out[m++];
		out[j] = e->tn[qt];
		if (!(e->q->t[qt].flags & NPUQ_T_FLOAT) && e->src->t[t].dtype == NPUC_DT_U8)
			out[j] = vname(e, e->tn[qt], "u8");
		if (!out[j])
			return -1;
	}
	if (k != n->n_in || m != n->n_out)
		return bad_node(e, n, "operands do not match the source node's");
	if (copy_node(e, sn, in, sn->n_in, out, sn->n_out))
		return -1;
	for (int j = 0, i = 0; j < sn->n_out; j++) {
		int t = sn->out[j], qt;

		if (t < 0)
			continue;
		qt = n->out[i++];
		if (out[j] != e->tn[qt] && from_u8(e, qt, out[j]))
			return -1;
	}
	return 0;
}

/* ---- graph ---- */

static int ex_node(struct ex *e, const struct npuq_node *n)
{
	switch (n->op) {
	case NPUQ_CONV: return ex_conv(e, n);
	case NPUQ_MATMUL: return ex_matmul(e, n);
	case NPUQ_ELTWISE: return ex_eltwise(e, n);
	case NPUQ_POOL: return ex_pool(e, n);
	case NPUQ_LUT: return ex_lut(e, n);
	case NPUQ_CONCAT: return ex_concat(e, n);
	case NPUQ_RESHAPE: return ex_reshape(e, n);
	case NPUQ_QUANTIZE: return ex_quantize(e, n);
	case NPUQ_DEQUANTIZE: return ex_dequantize(e, n);
	case NPUQ_CPU: return ex_cpu(e, n);
	default: return bad_node(e, n, "unknown op");
	}
}

/* ONNX element type of boundary tensor t: uint8 sources stay uint8. */
static enum npuc_dtype io_dtype(const struct ex *e, int t)
{
	const struct npuq_tensor *x = &e->q->t[t];
	enum npuc_dtype dt = src_dtype_of(e, x->name, NPUC_DT_UNDEF);

	if (!(x->flags & NPUQ_T_FLOAT))
		return dt == NPUC_DT_U8 ? NPUC_DT_U8 : NPUC_DT_I8;
	/* float16 / double sources are float32 in npuc (and in the export) */
	if (dt == NPUC_DT_UNDEF || dt == NPUC_DT_F16 || dt == NPUC_DT_F64)
		return NPUC_DT_F32;
	return dt;
}

static Onnx__ValueInfoProto *value_info(struct ex *e, int t, const char *name)
{
	Onnx__ValueInfoProto *vi = ex_alloc(e, sizeof(*vi));
	Onnx__TypeProto *tp = ex_alloc(e, sizeof(*tp));
	Onnx__TypeProto__Tensor *tt = ex_alloc(e, sizeof(*tt));
	Onnx__TensorShapeProto *sh = ex_alloc(e, sizeof(*sh));
	Onnx__ValueInfoProto vi0 = ONNX__VALUE_INFO_PROTO__INIT;
	Onnx__TypeProto tp0 = ONNX__TYPE_PROTO__INIT;
	Onnx__TypeProto__Tensor tt0 = ONNX__TYPE_PROTO__TENSOR__INIT;
	Onnx__TensorShapeProto sh0 = ONNX__TENSOR_SHAPE_PROTO__INIT;
	struct npuc_diag dd;
	struct shp s;

	if (!vi || !tp || !tt || !sh)
		return NULL;
	*vi = vi0;
	*tp = tp0;
	*tt = tt0;
	*sh = sh0;
	vi->name = (char *)name;
	vi->type = tp;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	tt->has_elem_type = 1;
	tt->elem_type = onnx_type(io_dtype(e, t));
	if (npuq_tensor_onnx_shape(&e->q->t[t], &s.rank, s.d, &dd))
		return vi;	/* shape unknown (a CPU result): type only */
	tt->shape = sh;
	sh->dim = ex_alloc(e, (size_t)(s.rank + 1) * sizeof(*sh->dim));
	if (!sh->dim)
		return NULL;
	for (int i = 0; i < s.rank; i++) {
		Onnx__TensorShapeProto__Dimension *dm = ex_alloc(e, sizeof(*dm));
		Onnx__TensorShapeProto__Dimension dm0 = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__INIT;

		if (!dm)
			return NULL;
		*dm = dm0;
		dm->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		dm->dim_value = s.d[i];
		sh->dim[sh->n_dim++] = dm;
	}
	return vi;
}

static int is_io(const struct npuq_graph *q, int t)
{
	return q->t[t].flags & (NPUQ_T_INPUT | NPUQ_T_OUTPUT);
}

/*
 * Value names: graph inputs / outputs keep theirs (reserved first); an
 * 8-bit boundary tensor of a uint8 source has an int8 inner value.
 */
static int name_tensors(struct ex *e)
{
	const struct npuq_graph *q = e->q;

	for (int t = 0; t < q->n_t; t++) {
		if (!q->t[t].name || !q->t[t].name[0])
			return fail(e, "qgraph tensor %d has no name", t);
		if (is_io(q, t)) {
			if (nset_has(&e->vals, q->t[t].name))
				return fail(e, "graph input / output name '%s' is used twice",
					    q->t[t].name);
			e->io[t] = uniq(e, &e->vals, q->t[t].name);
			if (!e->io[t])
				return -1;
		}
	}
	for (int t = 0; t < q->n_t; t++) {
		if (is_io(q, t) && io_dtype(e, t) != NPUC_DT_U8)
			e->tn[t] = e->io[t];
		else
			e->tn[t] = is_io(q, t) ? vname(e, q->t[t].name, "s8") :
				   uniq(e, &e->vals, q->t[t].name);
		if (!e->tn[t])
			return -1;
	}
	return 0;
}

static int graph_io(struct ex *e, int outputs)
{
	const struct npuq_graph *q = e->q;
	int n = outputs ? q->n_outputs : q->n_inputs;

	for (int i = 0; i < n; i++) {
		int t = outputs ? q->outputs[i] : q->inputs[i];
		Onnx__ValueInfoProto *vi;

		if (t < 0 || t >= q->n_t)
			return fail(e, "bad graph %s index", outputs ? "output" : "input");
		vi = value_info(e, t, e->io[t]);
		if (!vi || vec_push(e, outputs ? &e->outs : &e->ins, vi))
			return -1;
		if (e->io[t] == e->tn[t])
			continue;
		if (outputs ? !u8_of(e, t, e->io[t]) : from_u8(e, t, e->io[t]))
			return -1;
	}
	return 0;
}

static int build(struct ex *e, Onnx__ModelProto *m, Onnx__GraphProto *g)
{
	const struct npuq_graph *q = e->q;
	size_t nt = (size_t)q->n_t + 1, ns = e->src ? (size_t)e->src->n_t + 1 : 1;

	e->tn = ex_alloc(e, nt * sizeof(char *));
	e->io = ex_alloc(e, nt * sizeof(char *));
	e->dqn = ex_alloc(e, nt * sizeof(char *));
	e->sc = ex_alloc(e, nt * sizeof(char *));
	e->zpn = ex_alloc(e, nt * sizeof(char *));
	e->perm = ex_alloc(e, nt * sizeof(int));
	e->cn = ex_alloc(e, ns * sizeof(char *));
	if (!e->tn || !e->io || !e->dqn || !e->sc || !e->zpn || !e->perm || !e->cn)
		return -1;
	for (int t = 0; t < q->n_t; t++)
		e->perm[t] = -1;
	e->opset = e->src && e->src->opset > NPUC_EXPORT_MIN_OPSET ? e->src->opset :
		   NPUC_EXPORT_MIN_OPSET;
	if (add_opset(e, "", e->opset) || name_tensors(e) || graph_io(e, 0))
		return -1;
	for (int i = 0; i < q->n_nodes; i++)
		if (ex_node(e, &q->nodes[i]))
			return -1;
	if (graph_io(e, 1))
		return -1;
	g->name = ex_fmt(e, "%s_qdq", e->src && e->src->name && e->src->name[0] ?
			 e->src->name : "npuc");
	g->doc_string = "int8 model quantised by npuc, in QDQ form (npuc --export-qdq)";
	g->node = (Onnx__NodeProto **)e->nodes.v;
	g->n_node = e->nodes.n;
	g->initializer = (Onnx__TensorProto **)e->inits.v;
	g->n_initializer = e->inits.n;
	g->input = (Onnx__ValueInfoProto **)e->ins.v;
	g->n_input = e->ins.n;
	g->output = (Onnx__ValueInfoProto **)e->outs.v;
	g->n_output = e->outs.n;
	m->has_ir_version = 1;
	m->ir_version = e->opset <= 14 ? 7 : e->opset <= 17 ? 8 : 9;
	m->opset_import = (Onnx__OperatorSetIdProto **)e->opsets.v;
	m->n_opset_import = e->opsets.n;
	m->producer_name = "npuc";
	m->graph = g;
	return g->name ? 0 : -1;
}

static void ex_free(struct ex *e)
{
	while (e->arena) {
		struct blk *b = e->arena;

		e->arena = b->next;
		free(b);
	}
	free(e->nodes.v);
	free(e->inits.v);
	free(e->ins.v);
	free(e->outs.v);
	free(e->opsets.v);
	free(e->vals.k);
	free(e->nnames.k);
}

int npuc_export_qdq_mem(const struct npuq_graph *q, uint8_t **buf, size_t *len,
			struct npuc_diag *d)
{
	Onnx__ModelProto m = ONNX__MODEL_PROTO__INIT;
	Onnx__GraphProto g = ONNX__GRAPH_PROTO__INIT;
	struct ex e = { .q = q, .d = d };
	int rc = -1;

	*buf = NULL;
	*len = 0;
	if (!q) {
		npuc_diag_set(d, "export-qdq: no qgraph");
		return -1;
	}
	e.src = q->src;
	if (build(&e, &m, &g))
		goto out;
	*len = onnx__model_proto__get_packed_size(&m);
	*buf = malloc(*len + 1);
	if (!*buf) {
		fail(&e, "out of memory");
		*len = 0;
		goto out;
	}
	if (onnx__model_proto__pack(&m, *buf) != *len) {
		fail(&e, "protobuf packing failed");
		free(*buf);
		*buf = NULL;
		*len = 0;
		goto out;
	}
	rc = 0;
out:
	ex_free(&e);
	return rc;
}

int npuc_export_qdq(const struct npuq_graph *q, const char *path, struct npuc_diag *d)
{
	uint8_t *buf;
	size_t len;
	FILE *f;
	int rc = 0;

	if (npuc_export_qdq_mem(q, &buf, &len, d))
		return -1;
	f = fopen(path, "wb");
	if (!f) {
		npuc_diag_set(d, "export-qdq: %s: %s", path, strerror(errno));
		free(buf);
		return -1;
	}
	if (fwrite(buf, 1, len, f) != len)
		rc = -1;
	if (fclose(f))
		rc = -1;
	if (rc)
		npuc_diag_set(d, "export-qdq: %s: write error", path);
	free(buf);
	return rc;
}
