// SPDX-License-Identifier: MIT
/*
 * Data movement and shape ops: Reshape, Flatten, Transpose, Concat,
 * Squeeze, Unsqueeze, Identity, Dropout (inference), Pad, Shape, Size,
 * Gather, GatherElements, Cast, Slice, Constant, ConstantOfShape, Expand,
 * Split, Tile, DepthToSpace, SpaceToDepth, Range, Trilu, OneHot, TopK.
 * All of them work on any element type; values are copied, never aliased.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "ref_ops_internal.h"

static size_t esize(const struct npuc_value *v)
{
	return npuc_dtype_size(v->dtype);
}

static void copy_elem(void *dst, int64_t di, const void *src, int64_t si, size_t es)
{
	memcpy((char *)dst + (size_t)di * es, (const char *)src + (size_t)si * es, es);
}

/* Row-major element strides of a shape. */
static void strides_of(int rank, const int64_t *dims, int64_t *st)
{
	int64_t s = 1;

	for (int i = rank - 1; i >= 0; i--) {
		st[i] = s;
		s *= dims[i];
	}
}

void ref_copy_view(const struct npuc_value *x, int64_t off, const int64_t *st,
		   struct npuc_value *y)
{
	int64_t idx[NPUC_MAX_RANK] = { 0 }, xi = off;
	size_t es = esize(x);
	int r = y->rank;

	for (int64_t o = 0; o < y->numel; o++) {
		copy_elem(y->data, o, x->data, xi, es);
		for (int j = r - 1; j >= 0; j--) {
			idx[j]++;
			xi += st[j];
			if (idx[j] < y->dims[j])
				break;
			xi -= st[j] * y->dims[j];
			idx[j] = 0;
		}
	}
}

/* Output 0 = a copy of x's data under a new shape. */
static int reshaped(struct ref_ctx *c, const struct npuc_value *x, int rank, const int64_t *dims)
{
	struct npuc_value *y = ref_out(c, 0, x->dtype, rank, dims);

	if (!y)
		return -1;
	if (y->numel != x->numel)
		return ref_fail(c, "cannot reshape %lld elements into %lld", (long long)x->numel,
				(long long)y->numel);
	if (x->numel)
		memcpy(y->data, x->data, (size_t)x->numel * esize(x));
	return 0;
}

int ref_op_identity(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);

	return x ? reshaped(c, x, x->rank, x->dims) : -1;
}

int ref_op_dropout(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *ratio = ref_in(c, 1), *train = ref_in(c, 2);
	struct npuc_value *mask;

	if (!x)
		return -1;
	/* training mode drops randomly; only ratio 0 is deterministic */
	if (train && train->numel == 1 && ref_get_i(train, 0) &&
	    !(ratio && ratio->numel == 1 && ref_get_f(ratio, 0) == 0.0))
		return ref_unsupported(c, "training_mode with a nonzero ratio (random)");
	if (c->opset < 7 && npuc_attr_int(c->n, "is_test", 0) == 0)
		return ref_unsupported(c, "is_test=0 (training)");
	if (reshaped(c, x, x->rank, x->dims))
		return -1;
	if (ref_has_out(c, 1)) {
		mask = ref_out(c, 1, NPUC_DT_BOOL, x->rank, x->dims);
		if (!mask)
			return -1;
		memset(mask->data, 1, (size_t)mask->numel);
	}
	return 0;
}

int ref_op_reshape(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t dims[NPUC_MAX_RANK], known = 1;
	int allowzero = npuc_attr_int(c->n, "allowzero", 0) != 0, n, neg = -1;

	if (!x)
		return -1;
	n = ref_ints_in_or_attr(c, 1, "shape", dims, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		if (dims[i] == 0 && !allowzero) {
			if (i >= x->rank)
				return ref_fail(c, "0 at position %d copies a missing dim", i);
			dims[i] = x->dims[i];
		}
		if (dims[i] == -1) {
			if (neg >= 0)
				return ref_fail(c, "more than one -1");
			neg = i;
			continue;
		}
		if (dims[i] < 0 || dims[i] > REF_MAX_NUMEL)
			return ref_fail(c, "bad dim %lld", (long long)dims[i]);
		if (dims[i] && known > REF_MAX_NUMEL / dims[i])
			return ref_fail(c, "shape too large");
		known *= dims[i];
	}
	if (neg >= 0) {
		if (known == 0 || x->numel % known)
			return ref_fail(c, "cannot infer -1 (%lld elements, known %lld)",
					(long long)x->numel, (long long)known);
		dims[neg] = x->numel / known;
	}
	return reshaped(c, x, n, dims);
}

int ref_op_flatten(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t axis = npuc_attr_int(c->n, "axis", 1), dims[2] = { 1, 1 };

	if (!x)
		return -1;
	if (axis < 0)
		axis += x->rank;
	if (axis < 0 || axis > x->rank)
		return ref_fail(c, "axis out of range");
	for (int i = 0; i < x->rank; i++)
		dims[i >= axis] *= x->dims[i];
	return reshaped(c, x, 2, dims);
}

int ref_op_squeeze(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t axes[NPUC_MAX_RANK], dims[NPUC_MAX_RANK];
	int drop[NPUC_MAX_RANK] = { 0 }, n, r = 0;

	if (!x)
		return -1;
	n = ref_ints_in_or_attr(c, 1, "axes", axes, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	for (int i = 0; i < n; i++) {
		int64_t a;

		if (ref_axis(c, axes[i], x->rank, &a))
			return -1;
		if (x->dims[a] != 1)
			return ref_fail(c, "cannot squeeze dim %lld of size %lld", (long long)a,
					(long long)x->dims[a]);
		drop[a] = 1;
	}
	for (int i = 0; i < x->rank; i++)
		if (!(n ? drop[i] : x->dims[i] == 1))
			dims[r++] = x->dims[i];
	return reshaped(c, x, r, dims);
}

int ref_op_unsqueeze(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t axes[NPUC_MAX_RANK], dims[NPUC_MAX_RANK];
	int ins[NPUC_MAX_RANK] = { 0 }, n, r, j = 0;

	if (!x)
		return -1;
	n = ref_ints_in_or_attr(c, 1, "axes", axes, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	r = x->rank + n;
	if (r > NPUC_MAX_RANK)
		return ref_fail(c, "result rank %d too large", r);
	for (int i = 0; i < n; i++) {
		int64_t a;

		if (ref_axis(c, axes[i], r, &a))
			return -1;
		if (ins[a])
			return ref_fail(c, "duplicate axis %lld", (long long)axes[i]);
		ins[a] = 1;
	}
	for (int i = 0; i < r; i++)
		dims[i] = ins[i] ? 1 : x->dims[j++];
	return reshaped(c, x, r, dims);
}

int ref_op_transpose(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t perm[NPUC_MAX_RANK], dims[NPUC_MAX_RANK], xs[NPUC_MAX_RANK], st[NPUC_MAX_RANK];
	int seen[NPUC_MAX_RANK] = { 0 }, n;
	struct npuc_value *y;

	if (!x)
		return -1;
	n = ref_attr_ints(c, "perm", perm, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	if (n == 0) {
		n = x->rank;
		for (int i = 0; i < n; i++)
			perm[i] = n - 1 - i;
	}
	if (n != x->rank)
		return ref_fail(c, "perm has %d entries for rank %d", n, x->rank);
	strides_of(x->rank, x->dims, xs);
	for (int i = 0; i < n; i++) {
		if (perm[i] < 0 || perm[i] >= n || seen[perm[i]]++)
			return ref_fail(c, "perm is not a permutation");
		dims[i] = x->dims[perm[i]];
		st[i] = xs[perm[i]];
	}
	y = ref_out(c, 0, x->dtype, n, dims);
	if (!y)
		return -1;
	ref_copy_view(x, 0, st, y);
	return 0;
}

void ref_concat(const struct npuc_value *const *xs, int n, int axis, struct npuc_value *y)
{
	int64_t outer = 1, inner = 1, pos = 0;
	size_t es = esize(y);

	for (int i = 0; i < axis; i++)
		outer *= y->dims[i];
	for (int i = axis + 1; i < y->rank; i++)
		inner *= y->dims[i];
	for (int k = 0; k < n; k++) {
		const struct npuc_value *v = xs[k];
		size_t blk = (size_t)(v->dims[axis] * inner) * es;

		for (int64_t o = 0; o < outer && blk; o++) {
			size_t at = (size_t)(o * y->dims[axis] * inner + pos) * es;

			memcpy((char *)y->data + at, (const char *)v->data + (size_t)o * blk, blk);
		}
		pos += v->dims[axis] * inner;
	}
}

int ref_op_concat(struct ref_ctx *c)
{
	const struct npuc_value *x0 = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t axis, dims[NPUC_MAX_RANK];
	struct npuc_value *y;

	if (!x0 || ref_axis(c, npuc_attr_int(c->n, "axis", 0), x0->rank, &axis))
		return -1;
	memcpy(dims, x0->dims, sizeof(dims));
	dims[axis] = 0;
	for (int k = 0; k < c->n_in; k++) {
		const struct npuc_value *v = ref_need(c, k, x0->dtype);

		if (!v)
			return -1;
		if (v->rank != x0->rank)
			return ref_fail(c, "input %d rank differs", k);
		for (int i = 0; i < v->rank; i++)
			if (i != axis && v->dims[i] != x0->dims[i])
				return ref_fail(c, "input %d dim %d differs", k, i);
		dims[axis] += v->dims[axis];
		if (dims[axis] > REF_MAX_NUMEL)
			return ref_fail(c, "too large");
	}
	y = ref_out(c, 0, x0->dtype, x0->rank, dims);
	if (!y)
		return -1;
	ref_concat(c->in, c->n_in, (int)axis, y);
	return 0;
}

/* Source coordinate for output coordinate o along a padded dim; -1 = constant. */
static int64_t pad_src(int64_t o, int64_t p0, int64_t n, int mode)
{
	int64_t i = o - p0;

	if (i >= 0 && i < n)
		return i;
	if (mode == 0 || n == 0)
		return -1;
	if (mode == 1)				/* edge */
		return i < 0 ? 0 : n - 1;
	if (n == 1)				/* reflect of a single element */
		return 0;
	/* reflect without repeating the border: period 2(n-1) */
	i %= 2 * (n - 1);
	if (i < 0)
		i += 2 * (n - 1);
	return i < n ? i : 2 * (n - 1) - i;
}

static int pad_params(struct ref_ctx *c, const struct npuc_value *x, int64_t *pads,
		      const struct npuc_value **cv)
{
	const struct npuc_value *p = ref_in(c, 1), *axv = ref_in(c, 3);
	int64_t raw[2 * NPUC_MAX_RANK], axes[NPUC_MAX_RANK];
	int n, na = x->rank;

	*cv = ref_in(c, 2);
	n = c->opset < 11 ? ref_attr_ints(c, "pads", raw, 2 * NPUC_MAX_RANK)
			  : (p ? ref_read_ints(c, p, raw, 2 * NPUC_MAX_RANK) : -1);
	if (n < 0)
		return p || c->opset < 11 ? -1 : ref_fail(c, "missing pads");
	for (int i = 0; i < na; i++)
		axes[i] = i;
	if (axv) {
		na = ref_read_ints(c, axv, axes, NPUC_MAX_RANK);
		if (na < 0)
			return -1;
		for (int i = 0; i < na; i++)
			if (ref_axis(c, axes[i], x->rank, &axes[i]))
				return -1;
	}
	if (n != 2 * na)
		return ref_fail(c, "pads has %d entries for %d axes", n, na);
	memset(pads, 0, sizeof(int64_t) * 2 * NPUC_MAX_RANK);
	for (int i = 0; i < na; i++) {
		if (raw[i] < -REF_MAX_NUMEL || raw[i] > REF_MAX_NUMEL ||
		    raw[na + i] < -REF_MAX_NUMEL || raw[na + i] > REF_MAX_NUMEL)
			return ref_fail(c, "pad out of range");
		pads[axes[i]] = raw[i];
		pads[NPUC_MAX_RANK + axes[i]] = raw[na + i];
	}
	return 0;
}

void ref_pad(const struct npuc_value *x, const int64_t *pads, int mode, const void *fill,
	     struct npuc_value *y)
{
	int64_t idx[NPUC_MAX_RANK] = { 0 }, xs[NPUC_MAX_RANK];
	size_t es = esize(x);

	strides_of(x->rank, x->dims, xs);
	for (int64_t o = 0; o < y->numel; o++) {
		int64_t si = 0;

		for (int j = 0; j < x->rank && si >= 0; j++) {
			int64_t s = pad_src(idx[j], pads[j], x->dims[j], mode);

			si = s < 0 ? -1 : si + s * xs[j];
		}
		if (si >= 0)
			copy_elem(y->data, o, x->data, si, es);
		else
			copy_elem(y->data, o, fill, 0, es);
		ref_next_index(idx, y->dims, x->rank);
	}
}

int ref_op_pad(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF), *cv;
	const char *ms = npuc_attr_string(c->n, "mode", "constant");
	int64_t pads[2 * NPUC_MAX_RANK], dims[NPUC_MAX_RANK];
	int mode = !strcmp(ms, "edge") ? 1 : !strcmp(ms, "reflect") ? 2 : 0;
	struct npuc_value *y, fill;

	if (!x || pad_params(c, x, pads, &cv))
		return -1;
	if (mode == 0 && strcmp(ms, "constant") != 0)
		return ref_unsupported(c, "mode '%s'", ms);
	for (int i = 0; i < x->rank; i++) {
		dims[i] = x->dims[i] + pads[i] + pads[NPUC_MAX_RANK + i];
		if (dims[i] < 0)
			return ref_fail(c, "negative output dim");
		if (mode && x->dims[i] == 0 && dims[i] > 0)
			return ref_fail(c, "cannot %s-pad an empty dim", ms);
	}
	y = ref_out(c, 0, x->dtype, x->rank, dims);
	if (!y)
		return -1;
	if (cv && (cv->dtype != x->dtype || cv->numel != 1))
		return ref_fail(c, "constant_value must be a scalar of the input type");
	/* constant fill value: input (opset >= 11), attribute value (float) before */
	if (npuc_value_alloc(&fill, x->dtype, 0, NULL, c->d))
		return -1;
	if (cv)
		memcpy(fill.data, cv->data, esize(x));
	else if (x->dtype == NPUC_DT_F32)
		*(float *)fill.data = npuc_attr_float(c->n, "value", 0.0f);
	ref_pad(x, pads, mode, fill.data, y);
	npuc_value_free(&fill);
	return 0;
}

int ref_op_shape(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t start, end, n;
	struct npuc_value *y;

	if (!x)
		return -1;
	start = npuc_attr_int(c->n, "start", 0);
	end = npuc_attr_int(c->n, "end", x->rank);
	if (start < 0)
		start += x->rank;
	if (end < 0)
		end += x->rank;
	start = start < 0 ? 0 : (start > x->rank ? x->rank : start);
	end = end < 0 ? 0 : (end > x->rank ? x->rank : end);
	n = end > start ? end - start : 0;
	y = ref_out(c, 0, NPUC_DT_I64, 1, &n);
	if (!y)
		return -1;
	for (int64_t i = 0; i < n; i++)
		((int64_t *)y->data)[i] = x->dims[start + i];
	return 0;
}

int ref_op_size(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	struct npuc_value *y;

	if (!x)
		return -1;
	y = ref_out(c, 0, NPUC_DT_I64, 0, NULL);
	if (!y)
		return -1;
	*(int64_t *)y->data = x->numel;
	return 0;
}

void ref_gather(const struct npuc_value *x, const struct npuc_value *ind, int axis,
		int64_t outer, int64_t inner, struct npuc_value *y)
{
	size_t es = esize(x);

	for (int64_t k = 0; k < ind->numel; k++) {
		int64_t j = ref_get_i(ind, k);

		if (j < 0)
			j += x->dims[axis];
		for (int64_t o = 0; o < outer && inner; o++)
			memcpy((char *)y->data + (size_t)((o * ind->numel + k) * inner) * es,
			       (const char *)x->data +
				       (size_t)((o * x->dims[axis] + j) * inner) * es,
			       (size_t)inner * es);
	}
}

int ref_op_gather(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *ind = ref_need(c, 1, NPUC_DT_UNDEF);
	int64_t axis, dims[NPUC_MAX_RANK], outer = 1, inner = 1, r = 0;
	struct npuc_value *y;

	if (!x || !ind || ref_axis(c, npuc_attr_int(c->n, "axis", 0), x->rank, &axis))
		return -1;
	if (ind->dtype != NPUC_DT_I64 && ind->dtype != NPUC_DT_I32)
		return ref_fail(c, "indices must be int32/int64");
	if (x->rank - 1 + ind->rank > NPUC_MAX_RANK)
		return ref_fail(c, "result rank too large");
	for (int i = 0; i < axis; i++) {
		dims[r++] = x->dims[i];
		outer *= x->dims[i];
	}
	for (int i = 0; i < ind->rank; i++)
		dims[r++] = ind->dims[i];
	for (int i = (int)axis + 1; i < x->rank; i++) {
		dims[r++] = x->dims[i];
		inner *= x->dims[i];
	}
	y = ref_out(c, 0, x->dtype, (int)r, dims);
	if (!y)
		return -1;
	for (int64_t k = 0; k < ind->numel; k++) {
		int64_t j = ref_get_i(ind, k);

		if (j < -x->dims[axis] || j >= x->dims[axis])
			return ref_fail(c, "index %lld out of range", (long long)j);
	}
	ref_gather(x, ind, (int)axis, outer, inner, y);
	return 0;
}

/* ONNX TensorProto.DataType -> IR type (F16/F64 results are kept as float32). */
static enum npuc_dtype onnx_type(int64_t t)
{
	switch (t) {
	case 1: case 10: case 11: return NPUC_DT_F32;
	case 2: return NPUC_DT_U8;
	case 3: return NPUC_DT_I8;
	case 6: return NPUC_DT_I32;
	case 7: return NPUC_DT_I64;
	case 9: return NPUC_DT_BOOL;
	default: return NPUC_DT_UNDEF;
	}
}

void ref_cast(const struct npuc_value *x, struct npuc_value *y)
{
	for (int64_t i = 0; i < x->numel; i++) {
		if (y->dtype == NPUC_DT_F32)
			((float *)y->data)[i] = (float)ref_get_f(x, i);
		else if (y->dtype == NPUC_DT_BOOL)
			((uint8_t *)y->data)[i] = ref_get_f(x, i) != 0;
		else
			ref_set_i(y, i, ref_get_i(x, i));	/* truncates, then wraps */
	}
}

int ref_op_cast(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	enum npuc_dtype to = onnx_type(npuc_attr_int(c->n, "to", 0));
	struct npuc_value *y;

	if (!x)
		return -1;
	if (to == NPUC_DT_UNDEF)
		return ref_unsupported(c, "target type %lld",
				(long long)npuc_attr_int(c->n, "to", 0));
	y = ref_out(c, 0, to, x->rank, x->dims);
	if (!y)
		return -1;
	ref_cast(x, y);
	return 0;
}

/* Clamps one slice range (ONNX Slice rules) and returns the output length. */
static int64_t slice_dim(int64_t dim, int64_t *start, int64_t end, int64_t step)
{
	int64_t s = *start, e = end;

	if (s < 0)
		s += dim;
	if (e < 0)
		e += dim;
	if (step > 0) {
		s = s < 0 ? 0 : (s > dim ? dim : s);
		e = e < 0 ? 0 : (e > dim ? dim : e);
		*start = s;
		return e > s ? (e - s + step - 1) / step : 0;
	}
	s = s < 0 ? 0 : (s > dim - 1 ? dim - 1 : s);
	e = e < -1 ? -1 : (e > dim - 1 ? dim - 1 : e);
	*start = s;
	return s > e ? (s - e + (-step) - 1) / (-step) : 0;
}

static int slice_args(struct ref_ctx *c, int64_t *st, int64_t *en, int64_t *ax, int64_t *sp,
		      int *n)
{
	int ne, na, ns;

	if (c->opset < 10) {
		*n = ref_attr_ints(c, "starts", st, NPUC_MAX_RANK);
		ne = ref_attr_ints(c, "ends", en, NPUC_MAX_RANK);
		na = ref_attr_ints(c, "axes", ax, NPUC_MAX_RANK);
		ns = 0;
	} else {
		if (!ref_need(c, 1, NPUC_DT_UNDEF) || !ref_need(c, 2, NPUC_DT_UNDEF))
			return -1;
		*n = ref_read_ints(c, c->in[1], st, NPUC_MAX_RANK);
		ne = ref_read_ints(c, c->in[2], en, NPUC_MAX_RANK);
		na = ref_in(c, 3) ? ref_read_ints(c, c->in[3], ax, NPUC_MAX_RANK) : 0;
		ns = ref_in(c, 4) ? ref_read_ints(c, c->in[4], sp, NPUC_MAX_RANK) : 0;
	}
	if (*n < 0 || ne < 0 || na < 0 || ns < 0)
		return -1;
	if (ne != *n || (na && na != *n) || (ns && ns != *n))
		return ref_fail(c, "starts/ends/axes/steps lengths differ");
	for (int i = 0; i < *n; i++) {
		if (!na)
			ax[i] = i;
		if (!ns)
			sp[i] = 1;
	}
	return 0;
}

int ref_op_slice(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t st[NPUC_MAX_RANK], en[NPUC_MAX_RANK], ax[NPUC_MAX_RANK], sp[NPUC_MAX_RANK];
	int64_t start[NPUC_MAX_RANK] = { 0 }, step[NPUC_MAX_RANK], dims[NPUC_MAX_RANK];
	int64_t xs[NPUC_MAX_RANK], vst[NPUC_MAX_RANK], off = 0;
	int seen[NPUC_MAX_RANK] = { 0 }, n;
	struct npuc_value *y;

	if (!x || slice_args(c, st, en, ax, sp, &n))
		return -1;
	for (int i = 0; i < x->rank; i++) {
		dims[i] = x->dims[i];
		step[i] = 1;
	}
	for (int i = 0; i < n; i++) {
		int64_t a;

		if (ref_axis(c, ax[i], x->rank, &a))
			return -1;
		if (seen[a]++ || sp[i] == 0 || sp[i] < -REF_MAX_NUMEL || sp[i] > REF_MAX_NUMEL)
			return ref_fail(c, "bad axes or steps");
		start[a] = st[i];
		step[a] = sp[i];
		dims[a] = slice_dim(x->dims[a], &start[a], en[i], sp[i]);
	}
	y = ref_out(c, 0, x->dtype, x->rank, dims);
	if (!y)
		return -1;
	strides_of(x->rank, x->dims, xs);
	for (int i = 0; i < x->rank; i++) {
		off += start[i] * xs[i];
		vst[i] = step[i] * xs[i];
	}
	if (y->numel)
		ref_copy_view(x, off, vst, y);
	return 0;
}

int ref_op_constant(struct ref_ctx *c)
{
	const struct npuc_attr *a = npuc_node_attr(c->n, "value");
	struct npuc_value *y;
	int64_t n;

	if (a && a->type == NPUC_ATTR_TENSOR) {
		const struct npuc_tensor *t;
		struct npuc_value src;

		if (a->i < 0 || a->i >= c->g->n_t)
			return ref_fail(c, "bad value tensor");
		t = &c->g->t[a->i];
		if (npuc_value_wrap(&src, t->dtype == NPUC_DT_F16 || t->dtype == NPUC_DT_F64 ?
				    NPUC_DT_F32 : t->dtype, t->rank, t->dims, t->data, c->d))
			return ref_fail(c, "bad value tensor '%s'", t->name);
		if (t->nbytes != (size_t)src.numel * esize(&src))
			return ref_fail(c, "value tensor size mismatch");
		return reshaped(c, &src, src.rank, src.dims);
	}
	if ((a = npuc_node_attr(c->n, "value_float")) || (a = npuc_node_attr(c->n, "value_int"))) {
		int fl = a->type == NPUC_ATTR_FLOAT;

		y = ref_out(c, 0, fl ? NPUC_DT_F32 : NPUC_DT_I64, 0, NULL);
		if (!y)
			return -1;
		if (fl)
			*(float *)y->data = a->f;
		else
			*(int64_t *)y->data = a->i;
		return 0;
	}
	a = npuc_node_attr(c->n, "value_floats");
	if (!a)
		a = npuc_node_attr(c->n, "value_ints");
	if (a) {
		int fl = a->type == NPUC_ATTR_FLOATS;

		n = a->n;
		if ((a->type != NPUC_ATTR_FLOATS && a->type != NPUC_ATTR_INTS) || n < 0)
			return ref_fail(c, "bad value list");
		y = ref_out(c, 0, fl ? NPUC_DT_F32 : NPUC_DT_I64, 1, &n);
		if (!y)
			return -1;
		if (n)
			memcpy(y->data, fl ? (const void *)a->floats : (const void *)a->ints,
			       (size_t)n * esize(y));
		return 0;
	}
	return ref_unsupported(c, "value attribute type");
}

int ref_op_constant_of_shape(struct ref_ctx *c)
{
	const struct npuc_value *s = ref_need(c, 0, NPUC_DT_I64);
	const struct npuc_attr *a = npuc_node_attr(c->n, "value");
	int64_t dims[NPUC_MAX_RANK];
	struct npuc_value *y;
	const struct npuc_tensor *t = NULL;
	int n;

	if (!s)
		return -1;
	n = ref_read_ints(c, s, dims, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	if (a) {
		if (a->type != NPUC_ATTR_TENSOR || a->i < 0 || a->i >= c->g->n_t)
			return ref_fail(c, "bad value attribute");
		t = &c->g->t[a->i];
		if (!t->data || npuc_dtype_size(t->dtype) == 0 ||
		    t->nbytes != npuc_dtype_size(t->dtype) ||
		    (t->dtype != NPUC_DT_F32 && !ref_is_int(t->dtype)))
			return ref_fail(c, "value must be a one-element tensor");
	}
	y = ref_out(c, 0, t ? t->dtype : NPUC_DT_F32, n, dims);
	if (!y)
		return -1;
	for (int64_t i = 0; t && i < y->numel; i++)
		copy_elem(y->data, i, t->data, 0, esize(y));
	return 0;
}

int ref_op_expand(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *s = ref_need(c, 1, NPUC_DT_UNDEF);
	int64_t sd[NPUC_MAX_RANK], dims[NPUC_MAX_RANK], st[NPUC_MAX_RANK];
	struct npuc_value shp = { 0 };
	const struct npuc_value *v[2] = { x, &shp };
	struct npuc_value *y;
	int n, rank;

	if (!x || !s)
		return -1;
	n = ref_read_ints(c, s, sd, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	shp.rank = n;
	for (int i = 0; i < n; i++) {
		if (sd[i] < 0)
			return ref_fail(c, "negative dim");
		shp.dims[i] = sd[i];
	}
	if (ref_broadcast(c, v, 2, &rank, dims))
		return -1;
	y = ref_out(c, 0, x->dtype, rank, dims);
	if (!y)
		return -1;
	ref_bcast_strides(x, rank, dims, st);
	ref_copy_view(x, 0, st, y);
	return 0;
}

static int split_sizes(struct ref_ctx *c, int64_t dim, int64_t *sz, int nout)
{
	int n = ref_ints_in_or_attr(c, 1, "split", sz, nout);
	int64_t sum = 0;

	if (n < 0)
		return -1;
	if (n == 0) {
		/* equal parts; opset 18 lets the last one be smaller */
		int64_t part = (dim + nout - 1) / nout;

		for (int i = 0; i < nout; i++) {
			sz[i] = dim - sum < part ? dim - sum : part;
			sum += sz[i];
		}
		if (c->opset < 18 && dim % nout)
			return ref_fail(c, "dim %lld not divisible into %d", (long long)dim, nout);
		return 0;
	}
	if (n != nout)
		return ref_fail(c, "split has %d entries for %d outputs", n, nout);
	for (int i = 0; i < n; i++) {
		if (sz[i] < 0 || sz[i] > REF_MAX_NUMEL)
			return ref_fail(c, "bad split size");
		sum += sz[i];
	}
	if (sum != dim)
		return ref_fail(c, "split sizes sum to %lld, dim is %lld", (long long)sum,
				(long long)dim);
	return 0;
}

int ref_op_split(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t axis, sz[64], dims[NPUC_MAX_RANK], xs[NPUC_MAX_RANK], off = 0;

	if (!x || ref_axis(c, npuc_attr_int(c->n, "axis", 0), x->rank, &axis))
		return -1;
	if (c->n_out < 1 || c->n_out > 64)
		return ref_fail(c, "%d outputs not supported", c->n_out);
	if (split_sizes(c, x->dims[axis], sz, c->n_out))
		return -1;
	strides_of(x->rank, x->dims, xs);
	for (int k = 0; k < c->n_out; k++) {
		struct npuc_value *y;

		memcpy(dims, x->dims, sizeof(dims));
		dims[axis] = sz[k];
		if (ref_has_out(c, k)) {
			y = ref_out(c, k, x->dtype, x->rank, dims);
			if (!y)
				return -1;
			ref_copy_view(x, off * xs[axis], xs, y);
		}
		off += sz[k];
	}
	return 0;
}

void ref_tile(const struct npuc_value *x, struct npuc_value *y)
{
	int64_t xs[NPUC_MAX_RANK], idx[NPUC_MAX_RANK] = { 0 };
	int n = x->rank;

	strides_of(n, x->dims, xs);
	for (int64_t o = 0; o < y->numel; o++) {
		int64_t si = 0;

		for (int j = 0; j < n; j++)
			si += (idx[j] % x->dims[j]) * xs[j];
		copy_elem(y->data, o, x->data, si, esize(x));
		ref_next_index(idx, y->dims, n);
	}
}

int ref_op_tile(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *rv = ref_need(c, 1, NPUC_DT_UNDEF);
	int64_t rep[NPUC_MAX_RANK], dims[NPUC_MAX_RANK];
	struct npuc_value *y;
	int n;

	if (!x || !rv)
		return -1;
	n = ref_read_ints(c, rv, rep, NPUC_MAX_RANK);
	if (n < 0)
		return -1;
	if (n != x->rank)
		return ref_fail(c, "repeats has %d entries for rank %d", n, x->rank);
	for (int i = 0; i < n; i++) {
		if (rep[i] < 0 || (x->dims[i] && rep[i] > REF_MAX_NUMEL / x->dims[i]))
			return ref_fail(c, "bad repeat");
		dims[i] = x->dims[i] * rep[i];
	}
	y = ref_out(c, 0, x->dtype, n, dims);
	if (!y)
		return -1;
	ref_tile(x, y);
	return 0;
}

/* y (same data as a rank-r tensor of in dims permuted by perm) = transpose of x. */
static void permute_copy(const struct npuc_value *x, int r, const int64_t *in, const int *perm,
			 struct npuc_value *y)
{
	int64_t ist[NPUC_MAX_RANK], st[NPUC_MAX_RANK];
	struct npuc_value view = *y;

	strides_of(r, in, ist);
	view.rank = r;
	for (int i = 0; i < r; i++) {
		view.dims[i] = in[perm[i]];
		st[i] = ist[perm[i]];
	}
	ref_copy_view(x, 0, st, &view);
}

int ref_op_depth_to_space(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t b = npuc_attr_int(c->n, "blocksize", 0), n, ch, h, w, cb, dims[4], in[6];
	int crd = !strcmp(npuc_attr_string(c->n, "mode", "DCR"), "CRD");
	static const int pdcr[6] = { 0, 3, 4, 1, 5, 2 }, pcrd[6] = { 0, 1, 4, 2, 5, 3 };
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank != 4 || b < 1 || b > 65536 || x->dims[1] % (b * b))
		return ref_fail(c, "needs a 4-D input with channels divisible by blocksize^2");
	n = x->dims[0];
	ch = x->dims[1];
	h = x->dims[2];
	w = x->dims[3];
	cb = ch / (b * b);
	dims[0] = n;
	dims[1] = cb;
	dims[2] = h * b;
	dims[3] = w * b;
	y = ref_out(c, 0, x->dtype, 4, dims);
	if (!y)
		return -1;
	/* DCR: [n, b, b, cb, h, w]; CRD: [n, cb, b, b, h, w] */
	in[0] = n;
	in[1] = crd ? cb : b;
	in[2] = b;
	in[3] = crd ? b : cb;
	in[4] = h;
	in[5] = w;
	permute_copy(x, 6, in, crd ? pcrd : pdcr, y);
	return 0;
}

int ref_op_space_to_depth(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	int64_t b = npuc_attr_int(c->n, "blocksize", 0), dims[4], in[6];
	static const int perm[6] = { 0, 3, 5, 1, 2, 4 };
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank != 4 || b < 1 || b > 65536 || x->dims[2] % b || x->dims[3] % b)
		return ref_fail(c, "needs a 4-D input with H and W divisible by blocksize");
	dims[0] = x->dims[0];
	dims[1] = x->dims[1] * b * b;
	dims[2] = x->dims[2] / b;
	dims[3] = x->dims[3] / b;
	y = ref_out(c, 0, x->dtype, 4, dims);
	if (!y)
		return -1;
	in[0] = x->dims[0];
	in[1] = x->dims[1];
	in[2] = dims[2];
	in[3] = b;
	in[4] = dims[3];
	in[5] = b;
	permute_copy(x, 6, in, perm, y);
	return 0;
}

void ref_range(const struct npuc_value *start, const struct npuc_value *delta,
	       struct npuc_value *y)
{
	for (int64_t i = 0; i < y->numel; i++) {
		if (y->dtype == NPUC_DT_F32)
			((float *)y->data)[i] = (float)(ref_get_f(start, 0) +
							(double)i * ref_get_f(delta, 0));
		else
			ref_set_i(y, i, ref_get_i(start, 0) + i * ref_get_i(delta, 0));
	}
}

int ref_op_range(struct ref_ctx *c)
{
	const struct npuc_value *v[3];
	struct npuc_value *y;
	double n;
	int64_t cnt;

	for (int i = 0; i < 3; i++) {
		v[i] = ref_need(c, i, i ? v[0]->dtype : NPUC_DT_UNDEF);
		if (!v[i])
			return -1;
		if (v[i]->numel != 1)
			return ref_fail(c, "input %d must be a scalar", i);
	}
	if (v[0]->dtype == NPUC_DT_F32) {
		double s = ref_get_f(v[0], 0), l = ref_get_f(v[1], 0), dl = ref_get_f(v[2], 0);

		n = ceil((l - s) / dl);
	} else {
		int64_t s = ref_get_i(v[0], 0), l = ref_get_i(v[1], 0), dl = ref_get_i(v[2], 0);

		if (dl == 0)
			return ref_fail(c, "delta is 0");
		n = ceil(((double)l - (double)s) / (double)dl);
	}
	if (!(n < (double)REF_MAX_NUMEL))
		return ref_fail(c, "bad or too long range");
	cnt = n > 0 ? (int64_t)n : 0;
	y = ref_out(c, 0, v[0]->dtype, 1, &cnt);
	if (!y)
		return -1;
	ref_range(v[0], v[2], y);
	return 0;
}

void ref_gather_elements(const struct npuc_value *x, const struct npuc_value *ind, int axis,
			 struct npuc_value *y)
{
	int64_t xs[NPUC_MAX_RANK], idx[NPUC_MAX_RANK] = { 0 };

	strides_of(x->rank, x->dims, xs);
	for (int64_t o = 0; o < y->numel; o++) {
		int64_t j = ref_get_i(ind, o), si = 0;

		if (j < 0)
			j += x->dims[axis];
		for (int k = 0; k < x->rank; k++)
			si += (k == axis ? j : idx[k]) * xs[k];
		copy_elem(y->data, o, x->data, si, esize(x));
		ref_next_index(idx, y->dims, x->rank);
	}
}

int ref_op_gather_elements(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *ind = ref_need(c, 1, NPUC_DT_UNDEF);
	int64_t axis;
	struct npuc_value *y;

	if (!x || !ind || ref_axis(c, npuc_attr_int(c->n, "axis", 0), x->rank, &axis))
		return -1;
	if ((ind->dtype != NPUC_DT_I64 && ind->dtype != NPUC_DT_I32) || ind->rank != x->rank)
		return ref_fail(c, "indices must be int32/int64 of the data's rank");
	for (int i = 0; i < x->rank; i++)
		if (i != axis && ind->dims[i] > x->dims[i])
			return ref_fail(c, "indices dim %d exceeds the data's", i);
	y = ref_out(c, 0, x->dtype, ind->rank, ind->dims);
	if (!y)
		return -1;
	for (int64_t o = 0; o < y->numel; o++) {
		int64_t j = ref_get_i(ind, o);

		if (j < -x->dims[axis] || j >= x->dims[axis])
			return ref_fail(c, "index %lld out of range", (long long)j);
	}
	ref_gather_elements(x, ind, (int)axis, y);
	return 0;
}

void ref_trilu(const struct npuc_value *x, int upper, int64_t k, struct npuc_value *y)
{
	int64_t rows = x->dims[x->rank - 2], cols = x->dims[x->rank - 1];
	size_t es = esize(x);

	for (int64_t i = 0; i < x->numel; i++) {
		int64_t col = i % cols, row = (i / cols) % rows;
		int keep = upper ? col - row >= k : col - row <= k;

		if (keep)
			copy_elem(y->data, i, x->data, i, es);
		else
			memset((char *)y->data + (size_t)i * es, 0, es);
	}
}

int ref_op_trilu(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF), *kv = ref_in(c, 1);
	int upper = npuc_attr_int(c->n, "upper", 1) != 0;
	int64_t k = 0;
	struct npuc_value *y;

	if (!x)
		return -1;
	if (x->rank < 2)
		return ref_fail(c, "input rank %d < 2", x->rank);
	if (kv) {
		if (kv->dtype != NPUC_DT_I64 || kv->numel != 1)
			return ref_fail(c, "k must be an int64 scalar");
		k = ref_get_i(kv, 0);
		k = k < -REF_MAX_NUMEL ? -REF_MAX_NUMEL : (k > REF_MAX_NUMEL ? REF_MAX_NUMEL : k);
	}
	y = ref_out(c, 0, x->dtype, x->rank, x->dims);
	if (!y)
		return -1;
	ref_trilu(x, upper, k, y);
	return 0;
}

void ref_onehot(const struct npuc_value *ind, int64_t depth, int64_t outer, int64_t inner,
		const struct npuc_value *vals, struct npuc_value *y)
{
	size_t es = esize(vals);

	for (int64_t i = 0; i < y->numel; i++)
		copy_elem(y->data, i, vals->data, 0, es);
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++) {
			int64_t v = (int64_t)ref_get_f(ind, o * inner + in);

			if (v < 0)
				v += depth;
			if (v >= 0 && v < depth)
				copy_elem(y->data, (o * depth + v) * inner + in, vals->data, 1, es);
		}
}

int ref_op_onehot(struct ref_ctx *c)
{
	const struct npuc_value *ind = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *dv = ref_need(c, 1, NPUC_DT_UNDEF);
	const struct npuc_value *vals = ref_need(c, 2, NPUC_DT_UNDEF);
	int64_t axis, depth, dims[NPUC_MAX_RANK], outer = 1, inner = 1;
	struct npuc_value *y;

	if (!ind || !dv || !vals)
		return -1;
	if (dv->numel != 1 || vals->numel != 2 || ind->rank + 1 > NPUC_MAX_RANK)
		return ref_fail(c, "depth must be a scalar and values have 2 entries");
	depth = (int64_t)ref_get_f(dv, 0);
	if (depth < 1 || depth > REF_MAX_NUMEL)
		return ref_fail(c, "bad depth");
	if (ref_axis(c, npuc_attr_int(c->n, "axis", -1), ind->rank + 1, &axis))
		return -1;
	for (int i = 0, j = 0; i <= ind->rank; i++) {
		dims[i] = i == axis ? depth : ind->dims[j++];
		if (i < axis)
			outer *= dims[i];
		else if (i > axis)
			inner *= dims[i];
	}
	y = ref_out(c, 0, vals->dtype, ind->rank + 1, dims);
	if (!y)
		return -1;
	ref_onehot(ind, depth, outer, inner, vals, y);
	return 0;
}

/* Larger first, ties by lower index (ONNX: stable on the index). */
static int topk_desc(const void *a, const void *b)
{
	const struct ref_topk_item *x = a, *y = b;

	if (x->v != y->v)
		return x->v > y->v ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

static int topk_asc(const void *a, const void *b)
{
	const struct ref_topk_item *x = a, *y = b;

	if (x->v != y->v)
		return x->v < y->v ? -1 : 1;
	return x->i < y->i ? -1 : (x->i > y->i);
}

void ref_topk(const struct npuc_value *x, int largest, int64_t outer, int64_t n, int64_t inner,
	      int64_t k, struct ref_topk_item *it, struct npuc_value *yv, int64_t *yi)
{
	for (int64_t o = 0; o < outer; o++)
		for (int64_t in = 0; in < inner; in++) {
			for (int64_t i = 0; i < n; i++) {
				it[i].v = ref_get_f(x, (o * n + i) * inner + in);
				it[i].i = i;
			}
			qsort(it, (size_t)n, sizeof(*it), largest ? topk_desc : topk_asc);
			for (int64_t i = 0; i < k; i++) {
				int64_t oi = (o * k + i) * inner + in;

				copy_elem(yv->data, oi, x->data, (o * n + it[i].i) * inner + in,
					  esize(x));
				yi[oi] = it[i].i;
			}
		}
}

int ref_op_topk(struct ref_ctx *c)
{
	const struct npuc_value *x = ref_need(c, 0, NPUC_DT_UNDEF);
	const struct npuc_value *kv = ref_need(c, 1, NPUC_DT_I64);
	int largest = npuc_attr_int(c->n, "largest", 1) != 0;
	int64_t axis, k, dims[NPUC_MAX_RANK], outer = 1, n, inner = 1;
	struct npuc_value *yv, *yi;
	struct ref_topk_item *it;

	if (!x || !kv || ref_axis(c, npuc_attr_int(c->n, "axis", -1), x->rank, &axis))
		return -1;
	if (kv->numel != 1)
		return ref_fail(c, "K must have one element");
	k = ref_get_i(kv, 0);
	n = x->dims[axis];
	if (k < 0 || k > n)
		return ref_fail(c, "K = %lld out of range", (long long)k);
	memcpy(dims, x->dims, sizeof(dims));
	dims[axis] = k;
	for (int i = 0; i < x->rank; i++) {
		if (i < axis)
			outer *= x->dims[i];
		else if (i > axis)
			inner *= x->dims[i];
	}
	yv = ref_out(c, 0, x->dtype, x->rank, dims);
	yi = yv ? ref_out(c, 1, NPUC_DT_I64, x->rank, dims) : NULL;
	if (!yi)
		return -1;
	it = malloc(sizeof(*it) * (size_t)(n + 1));
	if (!it)
		return ref_fail(c, "out of memory");
	ref_topk(x, largest, outer, n, inner, k, it, yv, yi->data);
	free(it);
	return 0;
}
