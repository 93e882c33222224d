// SPDX-License-Identifier: MIT
/*
 * npuc int8 reference executor (qref.h): walks a qgraph, checks each NPU
 * node and runs it through its int8 kernel (qref_kernels.h, computing
 * through npu_arith.h), float boundary ops, CPU nodes through ref_float.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "qref.h"
#include "qref_kernels.h"
#include "qvalue.h"

/* Refuse int16 working copies above this many elements (hostile pads). */
#define QREF_MAX_WORK_ELEMS	(INT64_C(1) << 28)

struct qrun {
	const struct npuq_graph *g;
	void **buf;			/* per tensor: int8_t or float (NHWC), NULL = no value */
	int *last;			/* last node reading the tensor; INT_MAX = graph output */
	const struct npuq_ref_observer *obs;
	struct npuc_diag *d;
};

/* ---- helpers ---- */

static int node_fail(struct qrun *r, const struct npuq_node *n, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int node_fail(struct qrun *r, const struct npuq_node *n, const char *fmt, ...)
{
	char msg[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	npuc_diag_set(r->d, "qref: %s node '%.60s': %s", npuq_op_name(n->op),
		      n->name ? n->name : "", msg);
	return -1;
}

static int64_t numel(const struct npuq_tensor *t)
{
	return (int64_t)t->h * t->w * t->c;
}

static int is_float(const struct npuq_tensor *t)
{
	return !!(t->flags & NPUQ_T_FLOAT);
}

/*
 * Element type of a tensor's buffer and boundary values: int8 for int8
 * tensors (ONNX uint8 ones in the int8 domain), else the CPU-side type.
 */
static enum npuc_dtype buf_dtype(const struct npuq_tensor *t)
{
	return is_float(t) ? npuq_tensor_dtype(t) : NPUC_DT_I8;
}

static const struct npuq_tensor *tin(const struct qrun *r, const struct npuq_node *n, int k)
{
	return &r->g->t[n->in[k]];
}

static const struct npuq_tensor *tout(const struct qrun *r, const struct npuq_node *n, int k)
{
	return &r->g->t[n->out[k]];
}

/* Checks the node's input/output counts and that they are int8 tensors. */
static int io_i8(struct qrun *r, const struct npuq_node *n, int n_in, int n_out)
{
	if (n->n_in != n_in || n->n_out != n_out)
		return node_fail(r, n, "needs %d input(s) and %d output(s), has %d and %d",
				 n_in, n_out, n->n_in, n->n_out);
	for (int k = 0; k < n->n_in; k++)
		if (is_float(tin(r, n, k)))
			return node_fail(r, n, "input '%s' is float, not int8", tin(r, n, k)->name);
	for (int k = 0; k < n->n_out; k++)
		if (is_float(tout(r, n, k)))
			return node_fail(r, n, "output '%s' is float, not int8",
					 tout(r, n, k)->name);
	return 0;
}

static int same_extent(const struct npuq_tensor *a, const struct npuq_tensor *b)
{
	return a->h == b->h && a->w == b->w && a->c == b->c;
}

/* Output extent of a window op along one axis, or -1 if the window does not fit. */
static int64_t win_out(int64_t in, int64_t pad0, int64_t pad1, int64_t k, int64_t dil,
		       int64_t stride)
{
	int64_t span = in + pad0 + pad1, eff = (k - 1) * dil + 1;

	if (span < eff)
		return -1;
	return (span - eff) / stride + 1;
}

static int16_t *alloc16(int64_t n)
{
	return malloc((size_t)(n ? n : 1) * sizeof(int16_t));
}

static struct npuq_shape shape_of(const struct npuq_tensor *t)
{
	struct npuq_shape s = { t->h, t->w, t->c, t->zp };

	return s;
}

/* ---- CONV ---- */

static int conv_check(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_conv *p = &n->u.conv;
	const struct npuq_tensor *x = tin(r, n, 0), *y = tout(r, n, 0);

	if (p->k_h < 1 || p->k_w < 1 || p->stride_h < 1 || p->stride_w < 1 || p->dil_h < 1 ||
	    p->dil_w < 1 || p->k_h > 65535 || p->k_w > 65535 || p->dil_h > 65535 ||
	    p->dil_w > 65535)
		return node_fail(r, n, "bad kernel, stride or dilation");
	if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
	    p->pad_top > 65535 || p->pad_left > 65535 || p->pad_bottom > 65535 ||
	    p->pad_right > 65535)
		return node_fail(r, n, "bad padding");
	if (p->groups < 1 || x->c % p->groups || y->c % p->groups)
		return node_fail(r, n, "groups %d do not divide %d input / %d output channels",
				 p->groups, x->c, y->c);
	if (!p->w || !p->q)
		return node_fail(r, n, "no weights or qparams");
	if (p->act_min > p->act_max)
		return node_fail(r, n, "act_min %d > act_max %d", p->act_min, p->act_max);
	if (win_out(x->h, p->pad_top, p->pad_bottom, p->k_h, p->dil_h, p->stride_h) != y->h ||
	    win_out(x->w, p->pad_left, p->pad_right, p->k_w, p->dil_w, p->stride_w) != y->w)
		return node_fail(r, n, "output %dx%d does not match the input %dx%d, kernel, "
				 "stride, dilation and pads", y->h, y->w, x->h, x->w);
	/* Each factor is < 2^31 and each partial product capped: no overflow. */
	if (((int64_t)x->h + p->pad_top + p->pad_bottom) * ((int64_t)x->w + p->pad_left +
							     p->pad_right) >
	    QREF_MAX_WORK_ELEMS / x->c ||
	    (int64_t)p->k_h * p->k_w > QREF_MAX_WORK_ELEMS / y->c ||
	    (int64_t)p->k_h * p->k_w * y->c > QREF_MAX_WORK_ELEMS / (x->c / p->groups))
		return node_fail(r, n, "too large for the reference executor");
	return 0;
}

static int run_conv(struct qrun *r, const struct npuq_node *n)
{
	struct npuq_shape x, y;
	int16_t *scratch;

	if (io_i8(r, n, 1, 1) || conv_check(r, n))
		return -1;
	x = shape_of(tin(r, n, 0));
	y = shape_of(tout(r, n, 0));
	scratch = alloc16(npuq_conv_scratch(&n->u.conv, &x, &y));
	if (!scratch)
		return node_fail(r, n, "out of memory");
	npuq_conv_i8(&n->u.conv, &x, &y, r->buf[n->in[0]], r->buf[n->out[0]], scratch);
	free(scratch);
	return 0;
}

/* ---- MATMUL ---- */

static int run_matmul(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_matmul *p = &n->u.matmul;
	const struct npuq_tensor *a, *b, *y;
	struct npuq_shape as, bs, ys;
	int16_t *scratch;
	int m, k, nn;

	if (io_i8(r, n, 2, 1))
		return -1;
	a = tin(r, n, 0);
	b = tin(r, n, 1);
	y = tout(r, n, 0);
	m = a->w;
	k = a->c;
	nn = b->c;
	if (b->w != k || y->w != m || y->c != nn || a->h != b->h || y->h != a->h)
		return node_fail(r, n, "shapes (%d,%d,%d) x (%d,%d,%d) -> (%d,%d,%d) do not match",
				 a->h, a->w, a->c, b->h, b->w, b->c, y->h, y->w, y->c);
	if (p->act_min > p->act_max)
		return node_fail(r, n, "act_min %d > act_max %d", p->act_min, p->act_max);
	as = shape_of(a);
	bs = shape_of(b);
	ys = shape_of(y);
	scratch = alloc16(npuq_matmul_scratch(&as, &bs));
	if (!scratch)
		return node_fail(r, n, "out of memory");
	npuq_matmul_i8(p, &as, &bs, &ys, r->buf[n->in[0]], r->buf[n->in[1]], r->buf[n->out[0]],
		       scratch);
	free(scratch);
	return 0;
}

/* ---- ELTWISE ---- */

static int rescale_ok(uint32_t mult, uint32_t shift)
{
	return !(mult >> 31) && shift >= NPU_SHIFT_MIN && shift <= NPU_SHIFT_MAX;
}

static int elt_cmd(struct qrun *r, const struct npuq_node *n, struct npu_cmd_eltwise *c)
{
	const struct npuq_eltwise *p = &n->u.eltwise;
	const struct npuq_tensor *a = tin(r, n, 0), *y = tout(r, n, 0);
	int32_t b_zp = p->b_const ? p->b_zp : tin(r, n, 1)->zp;

	if (p->op != NPU_ELT_ADD && p->op != NPU_ELT_SUB && p->op != NPU_ELT_MUL)
		return node_fail(r, n, "bad op %d", (int)p->op);
	if (!rescale_ok(p->out_mult, p->out_shift) ||
	    (p->op != NPU_ELT_MUL &&
	     (!rescale_ok(p->a_mult, p->a_shift) || !rescale_ok(p->b_mult, p->b_shift))))
		return node_fail(r, n, "multiplier >= 2^31 or shift outside [%u, %u]",
				 NPU_SHIFT_MIN, NPU_SHIFT_MAX);
	if (p->act_min > p->act_max)
		return node_fail(r, n, "act_min %d > act_max %d", p->act_min, p->act_max);
	if (b_zp < -128 || b_zp > 127)
		return node_fail(r, n, "b_zp %d outside int8", (int)b_zp);
	if (!same_extent(a, y))
		return node_fail(r, n, "output extent differs from input 0");
	memset(c, 0, sizeof(*c));
	c->op = (uint8_t)p->op;
	c->bcast = (uint8_t)p->bcast;
	c->count = (uint32_t)numel(a);
	c->channels = p->bcast == NPU_BCAST_CHANNEL ? (uint32_t)a->c : 0;
	c->a_zp = (int8_t)a->zp;
	c->b_zp = (int8_t)b_zp;
	c->out_zp = (int8_t)y->zp;
	c->act_min = p->act_min;
	c->act_max = p->act_max;
	c->a_mult = p->a_mult;
	c->b_mult = p->b_mult;
	c->out_mult = p->out_mult;
	c->a_shift = p->a_shift;
	c->b_shift = p->b_shift;
	c->out_shift = p->out_shift;
	return 0;
}

/* Number of B values the broadcast mode reads, or -1 for a bad mode. */
static int64_t elt_b_len(const struct npuq_eltwise *p, const struct npuq_tensor *a)
{
	switch (p->bcast) {
	case NPU_BCAST_NONE:
		return numel(a);
	case NPU_BCAST_SCALAR:
		return 1;
	case NPU_BCAST_CHANNEL:
		return a->c;
	default:
		return -1;
	}
}

static int run_eltwise(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_eltwise *p = &n->u.eltwise;
	struct npu_cmd_eltwise c;
	int64_t blen;

	if (io_i8(r, n, p->b_const ? 1 : 2, 1) || elt_cmd(r, n, &c))
		return -1;
	blen = elt_b_len(p, tin(r, n, 0));
	if (blen < 0)
		return node_fail(r, n, "bad broadcast mode %d", (int)p->bcast);
	if (!p->b_const && numel(tin(r, n, 1)) != blen)
		return node_fail(r, n, "input 1 has %lld elements, broadcast mode %d needs %lld",
				 (long long)numel(tin(r, n, 1)), (int)p->bcast, (long long)blen);
	npuq_eltwise_i8(&c, tin(r, n, 0)->c, r->buf[n->in[0]],
			p->b_const ? p->b_const : r->buf[n->in[1]], r->buf[n->out[0]]);
	return 0;
}

/* ---- POOL ---- */

static int pool_check(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_pool *p = &n->u.pool;
	const struct npuq_tensor *x = tin(r, n, 0), *y = tout(r, n, 0);

	if (p->mode != NPU_POOL_MAX && p->mode != NPU_POOL_AVG)
		return node_fail(r, n, "bad mode %d", (int)p->mode);
	if (p->k_h < 1 || p->k_w < 1 || p->stride_h < 1 || p->stride_w < 1 ||
	    (int64_t)p->k_h * p->k_w > NPU_POOL_MAX_WINDOW)
		return node_fail(r, n, "bad window %dx%d or stride", p->k_h, p->k_w);
	if (p->pad_top < 0 || p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 ||
	    p->pad_top > 65535 || p->pad_left > 65535 || p->pad_bottom > 65535 ||
	    p->pad_right > 65535)
		return node_fail(r, n, "bad padding");
	if (p->mult >> 31 || p->shift > NPU_POOL_SHIFT_MAX || p->act_min > p->act_max)
		return node_fail(r, n, "bad mult, shift or activation range");
	if (x->c != y->c)
		return node_fail(r, n, "%d input channels, %d output channels", x->c, y->c);
	if (win_out(x->h, p->pad_top, p->pad_bottom, p->k_h, 1, p->stride_h) != y->h ||
	    win_out(x->w, p->pad_left, p->pad_right, p->k_w, 1, p->stride_w) != y->w)
		return node_fail(r, n, "output %dx%d does not match the input %dx%d, window, "
				 "stride and pads", y->h, y->w, x->h, x->w);
	return 0;
}

static int run_pool(struct qrun *r, const struct npuq_node *n)
{
	struct npuq_shape x, y;

	if (io_i8(r, n, 1, 1) || pool_check(r, n))
		return -1;
	x = shape_of(tin(r, n, 0));
	y = shape_of(tout(r, n, 0));
	npuq_pool_i8(&n->u.pool, &x, &y, r->buf[n->in[0]], r->buf[n->out[0]]);
	return 0;
}

/* ---- LUT, CONCAT, RESHAPE ---- */

static int run_lut(struct qrun *r, const struct npuq_node *n)
{
	int64_t cnt;

	if (io_i8(r, n, 1, 1))
		return -1;
	cnt = numel(tin(r, n, 0));
	if (cnt != numel(tout(r, n, 0)))
		return node_fail(r, n, "input and output sizes differ");
	npuq_lut_i8(n->u.lut.table, r->buf[n->in[0]], r->buf[n->out[0]], cnt);
	return 0;
}

static int run_concat(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_tensor *y;
	int off = 0;

	if (n->n_in < 1 || io_i8(r, n, n->n_in, 1))
		return n->n_in < 1 ? node_fail(r, n, "no inputs") : -1;
	y = tout(r, n, 0);
	for (int k = 0; k < n->n_in; k++) {
		const struct npuq_tensor *x = tin(r, n, k);

		if (x->h != y->h || x->w != y->w || x->c > y->c - off)
			return node_fail(r, n, "input '%s' does not fit the output", x->name);
		off += x->c;
	}
	if (off != y->c)
		return node_fail(r, n, "inputs have %d channels, output %d", off, y->c);
	off = 0;
	for (int k = 0; k < n->n_in; k++) {
		const struct npuq_tensor *x = tin(r, n, k);
		struct npuq_shape xs = shape_of(x), ys = shape_of(y);
		struct npu_qparam q;
		int copy = npuq_concat_qparam(x, y, &q);

		if (copy < 0)
			return node_fail(r, n, "cannot requantise '%s' (scale %g) to scale %g",
					 x->name, x->scale, y->scale);
		npuq_concat_part_i8(copy ? NULL : &q, &xs, &ys, off, r->buf[n->in[k]],
				    r->buf[n->out[0]]);
		off += x->c;
	}
	return 0;
}

static int run_reshape(struct qrun *r, const struct npuq_node *n)
{
	const struct npuq_tensor *x, *y;

	if (n->n_in != 1 || n->n_out != 1)
		return node_fail(r, n, "needs 1 input and 1 output");
	x = tin(r, n, 0);
	y = tout(r, n, 0);
	if (numel(x) != numel(y) || is_float(x) != is_float(y) || buf_dtype(x) != buf_dtype(y))
		return node_fail(r, n, "input and output differ in size or type");
	if (!is_float(x) && (x->scale != y->scale || x->zp != y->zp))
		return node_fail(r, n, "input and output quantisation differ");
	memcpy(r->buf[n->out[0]], r->buf[n->in[0]], (size_t)npuq_tensor_bytes(x));
	return 0;
}

/* ---- QUANTIZE, DEQUANTIZE ---- */

static int scale_ok(const struct npuq_tensor *t)
{
	return isfinite(t->scale) && t->scale > 0;
}

static int run_quant(struct qrun *r, const struct npuq_node *n, int to_int8)
{
	const struct npuq_tensor *x, *y, *q;
	int64_t cnt;

	if (n->n_in != 1 || n->n_out != 1)
		return node_fail(r, n, "needs 1 input and 1 output");
	x = tin(r, n, 0);
	y = tout(r, n, 0);
	q = to_int8 ? y : x;
	if (is_float(x) != to_int8 || is_float(y) == to_int8 ||
	    npuq_tensor_dtype(to_int8 ? x : y) != NPUC_DT_F32)
		return node_fail(r, n, "wrong input/output types");
	if (numel(x) != numel(y))
		return node_fail(r, n, "input and output sizes differ");
	if (!scale_ok(q))
		return node_fail(r, n, "scale %g of '%s' is not positive", q->scale, q->name);
	cnt = numel(x);
	if (to_int8) {
		const float *in = r->buf[n->in[0]];
		int8_t *out = r->buf[n->out[0]];

		for (int64_t i = 0; i < cnt; i++)
			out[i] = npuq_quantize1(in[i], q->scale, q->zp);
	} else {
		const int8_t *in = r->buf[n->in[0]];
		float *out = r->buf[n->out[0]];

		for (int64_t i = 0; i < cnt; i++)
			out[i] = (float)(in[i] - q->zp) * q->scale;
	}
	return 0;
}

/* ---- layout conversion and boundary values ---- */

static size_t elem_bytes(const struct npuq_tensor *t)
{
	return npuc_dtype_size(buf_dtype(t));
}

/* NCHW (c, h, w) -> NHWC (h, w, c) or back (to_nchw). */
static void convert_layout(void *dst, const void *src, const struct npuq_tensor *t, int to_nchw)
{
	npuq_layout_convert(dst, src, t->h, t->w, t->c, elem_bytes(t), to_nchw);
}

/*
 * A fresh owned value of tensor ti with element type dt (its buffer's, or
 * U8 for an int8 tensor holding uint8) and the given shape (h*w*c
 * elements; ONNX layout, so NCHW when the tensor is nchw).
 */
static int tensor_value(struct qrun *r, int ti, enum npuc_dtype dt, int rank,
			const int64_t *dims, struct npuc_value *v)
{
	const struct npuq_tensor *t = &r->g->t[ti];

	memset(v, 0, sizeof(*v));
	if (npuc_value_alloc(v, dt, rank, dims, r->d))
		return -1;
	if (v->numel != numel(t) || npuc_dtype_size(dt) != elem_bytes(t)) {
		npuc_value_free(v);
		npuc_diag_set(r->d, "qref: tensor '%s': a %s value of %lld elements does not "
			      "fit it", t->name, npuc_dtype_name(dt), (long long)v->numel);
		return -1;
	}
	if (t->nchw)
		convert_layout(v->data, r->buf[ti], t, 1);
	else
		memcpy(v->data, r->buf[ti], (size_t)npuq_tensor_bytes(t));
	if (dt == NPUC_DT_U8)
		npuq_flip8(v->data, v->numel);
	return 0;
}

/* A fresh owned value of tensor ti in its ONNX-visible shape (boundary type). */
static int export_value(struct qrun *r, int ti, struct npuc_value *v)
{
	int64_t dims[NPUC_MAX_RANK];
	int rank;

	memset(v, 0, sizeof(*v));
	if (npuq_tensor_onnx_shape(&r->g->t[ti], &rank, dims, r->d))
		return -1;
	return tensor_value(r, ti, buf_dtype(&r->g->t[ti]), rank, dims, v);
}

/*
 * Copies an ONNX-layout value into tensor ti's (allocated) NHWC buffer.
 * The value has the buffer's type (I8 for int8 tensors), or is uint8 for
 * an int8 tensor holding uint8 (then it is flipped into the int8 domain).
 * cpu: a CPU node's result, which must have the tensor's ONNX type.
 */
static int import_value(struct qrun *r, int ti, const struct npuc_value *v, const char *what,
			int cpu)
{
	const struct npuq_tensor *t = &r->g->t[ti];
	enum npuc_dtype want = cpu ? npuq_tensor_dtype(t) : buf_dtype(t);

	if (!cpu && v->dtype == NPUC_DT_U8 && npuq_tensor_dtype(t) == NPUC_DT_U8)
		want = NPUC_DT_U8;
	if (v->dtype != want || !v->data || v->numel != numel(t)) {
		npuc_diag_set(r->d, "qref: %s '%s': expected %s with %lld elements, got %s "
			      "with %lld", what, t->name, npuc_dtype_name(want),
			      (long long)numel(t), npuc_dtype_name(v->dtype), (long long)v->numel);
		return -1;
	}
	if (!t->nchw) {
		memcpy(r->buf[ti], v->data, (size_t)npuq_tensor_bytes(t));
	} else if (v->rank != 4 || v->dims[0] != 1 || v->dims[1] != t->c || v->dims[2] != t->h ||
		   v->dims[3] != t->w) {
		npuc_diag_set(r->d, "qref: %s '%s': NCHW value must be (1, %d, %d, %d)", what,
			      t->name, t->c, t->h, t->w);
		return -1;
	} else {
		convert_layout(r->buf[ti], v->data, t, 0);
	}
	if (v->dtype == NPUC_DT_U8)
		npuq_flip8(r->buf[ti], numel(t));
	return 0;
}

static int observe(struct qrun *r, int node, int ti)
{
	struct npuc_value v;
	int rc;

	if (!r->obs || !r->obs->observe)
		return 0;
	if (export_value(r, ti, &v))
		return -1;
	rc = r->obs->observe(r->obs->ctx, r->g, node, ti, &v);
	npuc_value_free(&v);
	if (rc) {
		npuc_diag_set(r->d, "qref: run aborted by the observer at tensor '%s'",
			      r->g->t[ti].name);
		return -1;
	}
	return 0;
}

/* ---- CPU nodes ---- */

struct cpu_sub {
	struct npuc_graph *tg;
	int *map;			/* source tensor -> temporary graph tensor, -1 */
	struct npuc_value *in, *out;
	int n_in;
};

/* Adds source tensor si to the temporary graph (constant data borrowed). */
static int sub_tensor(struct cpu_sub *s, const struct npuc_graph *src, int si,
		      struct npuc_diag *d)
{
	const struct npuc_tensor *st = &src->t[si];
	int t;

	if (s->map[si] >= 0)
		return s->map[si];
	t = npuc_graph_add_tensor(s->tg, st->name, st->dtype, st->rank, st->dims, d);
	if (t < 0)
		return -1;
	if (st->data || (st->flags & NPUC_T_CONST)) {
		s->tg->t[t].data = st->data;
		s->tg->t[t].nbytes = st->nbytes;
		s->tg->t[t].flags |= NPUC_T_CONST;
	}
	s->map[si] = t;
	return t;
}

static int sub_attrs(struct cpu_sub *s, const struct npuc_graph *src, const struct npuc_node *sn,
		     int node, struct npuc_diag *d)
{
	for (int i = 0; i < sn->n_attrs; i++) {
		const struct npuc_attr *a = &sn->attrs[i];
		struct npuc_attr c = *a;
		size_t n = a->n > 0 ? (size_t)a->n : 0;

		c.name = strdup(a->name);
		c.s = a->s ? strdup(a->s) : NULL;
		c.ints = a->ints ? malloc(n * sizeof(*a->ints) + 1) : NULL;
		c.floats = a->floats ? malloc(n * sizeof(*a->floats) + 1) : NULL;
		if (!c.name || (a->s && !c.s) || (a->ints && !c.ints) || (a->floats && !c.floats)) {
			free(c.name);
			free(c.s);
			free(c.ints);
			free(c.floats);
			npuc_diag_set(d, "out of memory");
			return -1;
		}
		if (a->ints)
			memcpy(c.ints, a->ints, n * sizeof(*a->ints));
		if (a->floats)
			memcpy(c.floats, a->floats, n * sizeof(*a->floats));
		if (a->type == NPUC_ATTR_TENSOR)
			c.i = a->i >= 0 && a->i < src->n_t ? sub_tensor(s, src, (int)a->i, d) : -1;
		if (c.i < 0 && a->type == NPUC_ATTR_TENSOR) {
			npuc_diag_set(d, "attribute '%s': bad tensor", a->name);
			free(c.name);
			free(c.s);
			free(c.ints);
			free(c.floats);
			return -1;
		}
		if (npuc_node_add_attr(s->tg, node, &c, d))
			return -1;
	}
	return 0;
}

/* Value shape for q tensor qt feeding source tensor st. */
static int cpu_in_shape(struct qrun *r, const struct npuq_tensor *qt, const struct npuc_tensor *st,
			int *rank, int64_t *dims)
{
	if (!qt->nchw && npuc_tensor_numel(st) == numel(qt)) {
		*rank = st->rank;
		memcpy(dims, st->dims, sizeof(st->dims));
		return 0;
	}
	return npuq_tensor_onnx_shape(qt, rank, dims, r->d);
}

/*
 * A CPU operand's ONNX type (the source tensor's) must be the qgraph
 * tensor's: float32 or another CPU-side type, or 8-bit for int8 tensors.
 */
static int cpu_operand_check(struct qrun *r, const struct npuq_node *n,
			     const struct npuq_tensor *qt, const struct npuc_tensor *st)
{
	enum npuc_dtype sd = st->dtype;

	if (sd == NPUC_DT_F16 || sd == NPUC_DT_F64)
		sd = NPUC_DT_F32;	/* the importer stores these as float32 */
	/* A type the model leaves open is the qgraph's (as ref_float and the runtime take it). */
	if (sd == NPUC_DT_UNDEF || sd == npuq_tensor_dtype(qt))
		return 0;
	return node_fail(r, n, "operand '%s' is %s in the model but %s in the qgraph", st->name,
			 npuc_dtype_name(st->dtype), npuc_dtype_name(npuq_tensor_dtype(qt)));
}

/* Builds the one-node graph; fills s->in with the converted input values. */
static int cpu_build(struct qrun *r, const struct npuq_node *n, const struct npuc_node *sn,
		     struct cpu_sub *s)
{
	const struct npuc_graph *src = r->g->src;
	int *tin_ = malloc((size_t)(sn->n_in + 1) * sizeof(int));
	int *tout_ = malloc((size_t)(sn->n_out + 1) * sizeof(int));
	int rc = -1, k = 0, m = 0, node;

	if (!tin_ || !tout_) {
		npuc_diag_set(r->d, "out of memory");
		goto out;
	}
	for (int j = 0; j < sn->n_in; j++) {
		int si = sn->in[j], fresh, t;

		tin_[j] = -1;
		if (si < 0)
			continue;	/* omitted optional input */
		if (si >= src->n_t) {
			node_fail(r, n, "source node input %d refers to no tensor", j);
			goto out;
		}
		fresh = s->map[si] < 0;
		t = sub_tensor(s, src, si, r->d);
		if (t < 0)
			goto out;
		tin_[j] = t;
		if (!fresh || src->t[si].data || (src->t[si].flags & NPUC_T_CONST))
			continue;
		if (k >= n->n_in) {
			node_fail(r, n, "source node has more non-constant inputs than the node");
			goto out;
		}
		if (cpu_operand_check(r, n, tin(r, n, k), &src->t[si]))
			goto out;
		{
			int64_t dims[NPUC_MAX_RANK];
			int rank;

			if (cpu_in_shape(r, tin(r, n, k), &src->t[si], &rank, dims) ||
			    tensor_value(r, n->in[k], npuq_tensor_dtype(&r->g->t[n->in[k]]), rank,
					 dims, &s->in[k]))
				goto out;
		}
		if (npuq_cpu_graph_io(s->tg, t, 0, r->d))
			goto out;
		k++;
	}
	if (k != n->n_in) {
		node_fail(r, n, "%d inputs, the source node has %d non-constant ones", n->n_in, k);
		goto out;
	}
	for (int j = 0; j < sn->n_out; j++) {
		int si = sn->out[j];

		tout_[j] = -1;
		if (si < 0)
			continue;
		if (si >= src->n_t || s->map[si] >= 0 || m >= n->n_out) {
			node_fail(r, n, "outputs do not match the source node's");
			goto out;
		}
		tout_[j] = sub_tensor(s, src, si, r->d);
		if (tout_[j] < 0 || npuq_cpu_graph_io(s->tg, tout_[j], 1, r->d))
			goto out;
		m++;
	}
	if (m != n->n_out) {
		node_fail(r, n, "%d outputs, the source node has %d", n->n_out, m);
		goto out;
	}
	node = npuc_graph_add_node(s->tg, sn->name, sn->op, sn->domain, tin_, sn->n_in, tout_,
				   sn->n_out, r->d);
	if (node < 0 || sub_attrs(s, src, sn, node, r->d))
		goto out;
	rc = 0;
out:
	free(tin_);
	free(tout_);
	return rc;
}

static int cpu_collect(struct qrun *r, const struct npuq_node *n, struct cpu_sub *s)
{
	for (int k = 0; k < n->n_out; k++)
		if (import_value(r, n->out[k], &s->out[k], "CPU output", 1))
			return -1;
	return 0;
}

static void cpu_free(struct cpu_sub *s, int n_out)
{
	if (s->tg) {
		/* Constant data is borrowed from the source graph. */
		for (int i = 0; i < s->tg->n_t; i++)
			s->tg->t[i].data = NULL;
		npuc_graph_free(s->tg);
	}
	if (s->in)
		for (int i = 0; i < s->n_in; i++)
			npuc_value_free(&s->in[i]);
	if (s->out)
		for (int i = 0; i < n_out; i++)
			npuc_value_free(&s->out[i]);
	free(s->in);
	free(s->out);
	free(s->map);
}

static int run_cpu(struct qrun *r, const struct npuq_node *n)
{
	const struct npuc_graph *src = r->g->src;
	const struct npuc_node *sn;
	struct cpu_sub s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	if (!src || n->u.cpu.src_node < 0 || n->u.cpu.src_node >= src->n_nodes)
		return node_fail(r, n, "no source node %d", n->u.cpu.src_node);
	sn = &src->nodes[n->u.cpu.src_node];
	s.tg = npuc_graph_new();
	s.map = malloc((size_t)(src->n_t + 1) * sizeof(int));
	s.in = calloc((size_t)n->n_in + 1, sizeof(*s.in));
	s.out = calloc((size_t)n->n_out + 1, sizeof(*s.out));
	s.n_in = n->n_in;
	if (!s.tg || !s.map || !s.in || !s.out) {
		node_fail(r, n, "out of memory");
		goto out;
	}
	s.tg->opset = src->opset;
	for (int i = 0; i < src->n_t; i++)
		s.map[i] = -1;
	if (cpu_build(r, n, sn, &s))
		goto out;
	rc = npuc_ref_run(s.tg, s.in, s.out, NULL, r->d);
	if (rc) {
		char msg[sizeof(r->d->msg)];

		memcpy(msg, r->d->msg, sizeof(msg));
		npuc_diag_set(r->d, "qref: CPU node '%.60s': %.400s", n->name, msg);
		goto out;
	}
	rc = cpu_collect(r, n, &s);
out:
	cpu_free(&s, n->n_out);
	return rc;
}

/* ---- run loop ---- */

static int run_node(struct qrun *r, const struct npuq_node *n)
{
	switch (n->op) {
	case NPUQ_CONV:
		return run_conv(r, n);
	case NPUQ_MATMUL:
		return run_matmul(r, n);
	case NPUQ_ELTWISE:
		return run_eltwise(r, n);
	case NPUQ_POOL:
		return run_pool(r, n);
	case NPUQ_LUT:
		return run_lut(r, n);
	case NPUQ_CONCAT:
		return run_concat(r, n);
	case NPUQ_RESHAPE:
		return run_reshape(r, n);
	case NPUQ_QUANTIZE:
		return run_quant(r, n, 1);
	case NPUQ_DEQUANTIZE:
		return run_quant(r, n, 0);
	case NPUQ_CPU:
		return run_cpu(r, n);
	default:
		return node_fail(r, n, "unknown op %d", (int)n->op);
	}
}

static int alloc_buf(struct qrun *r, int ti)
{
	int64_t nb = npuq_tensor_bytes(&r->g->t[ti]);

	free(r->buf[ti]);
	r->buf[ti] = calloc(1, (size_t)nb);
	if (!r->buf[ti]) {
		npuc_diag_set(r->d, "qref: out of memory for tensor '%s'", r->g->t[ti].name);
		return -1;
	}
	return 0;
}

/* Structural checks: indices in range, tensor extents and zero points sane. */
static int check_graph(struct qrun *r)
{
	const struct npuq_graph *g = r->g;

	for (int i = 0; i < g->n_t; i++) {
		const struct npuq_tensor *t = &g->t[i];

		if (t->h < 1 || t->w < 1 || t->c < 1 || numel(t) > INT32_MAX || t->zp < -128 ||
		    t->zp > 127) {
			npuc_diag_set(r->d, "qref: tensor '%s': bad extent or zero point", t->name);
			return -1;
		}
		if (npuq_tensor_dtype(t) == NPUC_DT_UNDEF) {
			npuc_diag_set(r->d, "qref: tensor '%s': element type %s does not fit a%s "
				      "tensor", t->name, npuc_dtype_name(t->dtype),
				      is_float(t) ? " CPU-side" : "n int8");
			return -1;
		}
		r->last[i] = -1;
	}
	for (int ni = 0; ni < g->n_nodes; ni++) {
		const struct npuq_node *n = &g->nodes[ni];

		if (n->n_in < 0 || n->n_out < 0 || (n->n_in && !n->in) || (n->n_out && !n->out))
			return node_fail(r, n, "bad input/output arrays");
		for (int k = 0; k < n->n_in; k++) {
			if (n->in[k] < 0 || n->in[k] >= g->n_t)
				return node_fail(r, n, "input %d refers to no tensor", k);
			r->last[n->in[k]] = ni;
		}
		for (int k = 0; k < n->n_out; k++)
			if (n->out[k] < 0 || n->out[k] >= g->n_t)
				return node_fail(r, n, "output %d refers to no tensor", k);
	}
	for (int i = 0; i < g->n_inputs; i++)
		if (g->inputs[i] < 0 || g->inputs[i] >= g->n_t)
			goto bad_io;
	for (int i = 0; i < g->n_outputs; i++) {
		if (g->outputs[i] < 0 || g->outputs[i] >= g->n_t)
			goto bad_io;
		r->last[g->outputs[i]] = INT_MAX;
	}
	return 0;
bad_io:
	npuc_diag_set(r->d, "qref: bad graph input/output index");
	return -1;
}

static int bind_inputs(struct qrun *r, const struct npuc_value *inputs)
{
	const struct npuq_graph *g = r->g;

	if (g->n_inputs > 0 && !inputs) {
		npuc_diag_set(r->d, "qref: graph has %d inputs but none were given", g->n_inputs);
		return -1;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		int ti = g->inputs[i];

		if (alloc_buf(r, ti) || import_value(r, ti, &inputs[i], "input", 0))
			return -1;
	}
	for (int i = 0; i < g->n_inputs; i++)
		if (observe(r, -1, g->inputs[i]))
			return -1;
	return 0;
}

/* Runs node ni: inputs must have values; outputs get fresh buffers. */
static int step(struct qrun *r, int ni)
{
	const struct npuq_node *n = &r->g->nodes[ni];
	int rc;

	for (int k = 0; k < n->n_in; k++)
		if (!r->buf[n->in[k]])
			return node_fail(r, n, "input '%s' has no value", tin(r, n, k)->name);
	for (int k = 0; k < n->n_out; k++) {
		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] == n->out[k])
				return node_fail(r, n, "'%s' is both input and output",
						 tout(r, n, k)->name);
		if (alloc_buf(r, n->out[k]))
			return -1;
	}
	rc = run_node(r, n);
	if (rc)
		return rc;
	for (int k = 0; k < n->n_out; k++)
		if (observe(r, ni, n->out[k]))
			return -1;
	/* Release what no later node (nor the caller) reads. */
	for (int k = 0; k < n->n_in; k++)
		if (r->last[n->in[k]] == ni) {
			free(r->buf[n->in[k]]);
			r->buf[n->in[k]] = NULL;
		}
	for (int k = 0; k < n->n_out; k++)
		if (r->last[n->out[k]] < 0) {
			free(r->buf[n->out[k]]);
			r->buf[n->out[k]] = NULL;
		}
	return 0;
}

static int collect(struct qrun *r, struct npuc_value *outputs)
{
	for (int i = 0; i < r->g->n_outputs; i++) {
		int ti = r->g->outputs[i];

		if (!r->buf[ti]) {
			npuc_diag_set(r->d, "qref: graph output '%s' was not computed",
				      r->g->t[ti].name);
			return -1;
		}
		if (export_value(r, ti, &outputs[i]))
			return -1;
	}
	return 0;
}

int npuq_ref_run(const struct npuq_graph *g, const struct npuc_value *inputs,
		 struct npuc_value *outputs, const struct npuq_ref_observer *obs,
		 struct npuc_diag *d)
{
	struct qrun r = { .g = g, .obs = obs, .d = d };
	int rc = -1;

	if (!g) {
		npuc_diag_set(d, "qref: no graph");
		return -1;
	}
	for (int i = 0; i < g->n_outputs; i++)
		memset(&outputs[i], 0, sizeof(outputs[i]));
	r.buf = calloc((size_t)g->n_t + 1, sizeof(*r.buf));
	r.last = calloc((size_t)g->n_t + 1, sizeof(*r.last));
	if (!r.buf || !r.last) {
		npuc_diag_set(d, "qref: out of memory");
		goto out;
	}
	if (check_graph(&r) || bind_inputs(&r, inputs))
		goto out;
	for (int ni = 0; ni < g->n_nodes; ni++) {
		rc = step(&r, ni);
		if (rc)
			goto out;
	}
	rc = collect(&r, outputs);
out:
	if (r.buf)
		for (int i = 0; i < g->n_t; i++)
			free(r.buf[i]);
	free(r.buf);
	free(r.last);
	if (rc) {
		for (int i = 0; i < g->n_outputs; i++)
			npuc_value_free(&outputs[i]);
		rc = rc == NPUC_REF_UNSUPPORTED ? rc : -1;
	}
	return rc;
}
