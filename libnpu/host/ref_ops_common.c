// SPDX-License-Identifier: MIT
/*
 * Values (ref_float.h) and the helpers every float reference op shares
 * (ref_ops_internal.h): inputs, outputs, attributes, broadcasting,
 * failures. Below both the ops and the executor (ref_float.c), so neither
 * depends on the other.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref_float.h"
#include "ref_ops_internal.h"

/* ---- values ---- */

int64_t ref_numel(int rank, const int64_t *dims)
{
	int64_t n = 1;

	if (rank < 0 || rank > NPUC_MAX_RANK)
		return -1;
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0)
			return -1;
		if (dims[i] == 0)
			n = 0;
		else if (n > REF_MAX_NUMEL / dims[i])
			return -1;
		else
			n *= dims[i];
	}
	/* a zero dim makes it empty even if another dim alone would overflow */
	for (int i = 0; i < rank; i++)
		if (dims[i] == 0)
			return 0;
	return n;
}

/* Element size of a value type; 0 for float16 / float64, which no value holds
 * (the importer stores them as float32). */
static size_t elem_size(enum npuc_dtype dt)
{
	return dt == NPUC_DT_F16 || dt == NPUC_DT_F64 ? 0 : npuc_dtype_size(dt);
}

int ref_value_shape(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		       struct npuc_diag *d)
{
	int64_t n;

	if (elem_size(dt) == 0) {
		npuc_diag_set(d, "unsupported value type %s", npuc_dtype_name(dt));
		return -1;
	}
	n = ref_numel(rank, dims);
	if (n < 0) {
		char shape[160];
		size_t k = 0;

		shape[0] = 0;
		for (int i = 0; i < rank && i < NPUC_MAX_RANK && k < sizeof(shape) - 24; i++)
			k += (size_t)snprintf(shape + k, sizeof(shape) - k, "%s%lld", i ? "x" : "",
					      (long long)dims[i]);
		npuc_diag_set(d, "tensor shape (%s) is negative or has more than 2^31 elements",
			      shape);
		return -1;
	}
	memset(v, 0, sizeof(*v));
	v->dtype = dt;
	v->rank = rank;
	for (int i = 0; i < rank; i++)
		v->dims[i] = dims[i];
	v->numel = n;
	return 0;
}

int npuc_value_alloc(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		     struct npuc_diag *d)
{
	if (ref_value_shape(v, dt, rank, dims, d))
		return -1;
	if ((uint64_t)v->numel > NPUC_MAX_VALUE_BYTES / elem_size(dt)) {
		npuc_diag_set(d, "a tensor of %lld elements of %s is over npuc's limit of %llu MiB "
			      "per computed tensor", (long long)v->numel, npuc_dtype_name(dt),
			      (unsigned long long)(NPUC_MAX_VALUE_BYTES >> 20));
		memset(v, 0, sizeof(*v));
		return -1;
	}
	/* at least one byte so that empty tensors still have a valid pointer */
	v->data = calloc(v->numel ? (size_t)v->numel : 1, elem_size(dt));
	if (!v->data) {
		npuc_diag_set(d, "out of memory (%lld elements)", (long long)v->numel);
		memset(v, 0, sizeof(*v));
		return -1;
	}
	v->owned = 1;
	return 0;
}

int npuc_value_wrap(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		    const void *data, struct npuc_diag *d)
{
	if (ref_value_shape(v, dt, rank, dims, d))
		return -1;
	if (!data && v->numel) {
		npuc_diag_set(d, "NULL data for a nonempty value");
		return -1;
	}
	v->data = (void *)data; /* borrowed; never written through (owned = 0) */
	return 0;
}

int npuc_value_copy(struct npuc_value *dst, const struct npuc_value *src, struct npuc_diag *d)
{
	if (npuc_value_alloc(dst, src->dtype, src->rank, src->dims, d))
		return -1;
	if (src->numel)
		memcpy(dst->data, src->data, (size_t)src->numel * elem_size(src->dtype));
	return 0;
}

void npuc_value_free(struct npuc_value *v)
{
	if (!v)
		return;
	if (v->owned)
		free(v->data);
	memset(v, 0, sizeof(*v));
}

int ref_is_int(enum npuc_dtype dt)
{
	return dt == NPUC_DT_U8 || dt == NPUC_DT_I8 || dt == NPUC_DT_I32 || dt == NPUC_DT_I64 ||
	       dt == NPUC_DT_BOOL;
}

int64_t ref_get_i(const struct npuc_value *v, int64_t i)
{
	switch (v->dtype) {
	case NPUC_DT_U8:
	case NPUC_DT_BOOL:
		return ((const uint8_t *)v->data)[i];
	case NPUC_DT_I8:
		return ((const int8_t *)v->data)[i];
	case NPUC_DT_I32:
		return ((const int32_t *)v->data)[i];
	case NPUC_DT_I64:
		return ((const int64_t *)v->data)[i];
	case NPUC_DT_F32: {
		float f = ((const float *)v->data)[i];

		/* truncation toward zero like a C cast, saturated (no UB) */
		if (isnan(f))
			return 0;
		if (f >= 9.2233720368547758e18f)
			return INT64_MAX;
		if (f <= -9.2233720368547758e18f)
			return INT64_MIN;
		return (int64_t)f;
	}
	default:
		return 0;
	}
}

double ref_get_f(const struct npuc_value *v, int64_t i)
{
	if (v->dtype == NPUC_DT_F32)
		return ((const float *)v->data)[i];
	return (double)ref_get_i(v, i);
}

void ref_set_i(struct npuc_value *v, int64_t i, int64_t x)
{
	/* conversions through unsigned types: modular, never UB */
	switch (v->dtype) {
	case NPUC_DT_U8:
		((uint8_t *)v->data)[i] = (uint8_t)x;
		break;
	case NPUC_DT_BOOL:
		((uint8_t *)v->data)[i] = x != 0;
		break;
	case NPUC_DT_I8:
		((int8_t *)v->data)[i] = (int8_t)(uint8_t)x;
		break;
	case NPUC_DT_I32:
		((int32_t *)v->data)[i] = (int32_t)(uint32_t)x;
		break;
	case NPUC_DT_I64:
		((int64_t *)v->data)[i] = x;
		break;
	case NPUC_DT_F32:
		((float *)v->data)[i] = (float)x;
		break;
	default:
		break;
	}
}

float ref_rint(float x)
{
	return rintf(x); /* default rounding mode: to nearest, ties to even */
}

/* ---- op context helpers ---- */

int ref_fail(struct ref_ctx *c, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	npuc_diag_set(c->d, "%s '%s': %s", c->n->op, c->n->name ? c->n->name : "", buf);
	return -1;
}

int ref_unsupported(struct ref_ctx *c, const char *fmt, ...)
{
	char buf[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	npuc_diag_set(c->d, "%s '%s': not supported: %s", c->n->op, c->n->name ? c->n->name : "",
		      buf);
	return NPUC_REF_UNSUPPORTED;
}

const struct npuc_value *ref_in(const struct ref_ctx *c, int i)
{
	if (i < 0 || i >= c->n_in)
		return NULL;
	return c->in[i];
}

const struct npuc_value *ref_need(struct ref_ctx *c, int i, enum npuc_dtype dt)
{
	const struct npuc_value *v = ref_in(c, i);

	if (!v) {
		ref_fail(c, "missing input %d", i);
		return NULL;
	}
	if (dt != NPUC_DT_UNDEF && v->dtype != dt) {
		ref_fail(c, "input %d has type %s, expected %s", i, npuc_dtype_name(v->dtype),
			 npuc_dtype_name(dt));
		return NULL;
	}
	return v;
}

int ref_has_out(const struct ref_ctx *c, int i)
{
	return i >= 0 && i < c->n_out && c->n->out[i] >= 0;
}

struct npuc_value *ref_out(struct ref_ctx *c, int i, enum npuc_dtype dt, int rank,
			   const int64_t *dims)
{
	if (i < 0 || i >= c->n_out) {
		ref_fail(c, "output %d missing", i);
		return NULL;
	}
	if (npuc_value_alloc(&c->out[i], dt, rank, dims, c->d)) {
		char msg[sizeof(c->d->msg)];

		memcpy(msg, c->d->msg, sizeof(msg));
		ref_fail(c, "output %d: %s", i, msg);
		return NULL;
	}
	return &c->out[i];
}

int ref_check_work(struct ref_ctx *c, double work)
{
	if (work > REF_MAX_WORK)
		return ref_fail(c, "%.3g operations is more than this executor accepts", work);
	return 0;
}

int ref_axis(struct ref_ctx *c, int64_t axis, int rank, int64_t *out)
{
	if (axis < -(int64_t)rank || axis >= rank)
		return ref_fail(c, "axis %lld out of range for rank %d", (long long)axis, rank);
	*out = axis < 0 ? axis + rank : axis;
	return 0;
}

int ref_attr_ints(struct ref_ctx *c, const char *name, int64_t *buf, int max)
{
	const struct npuc_attr *a = npuc_node_attr(c->n, name);

	if (!a)
		return 0;
	if (a->type != NPUC_ATTR_INTS || a->n < 0 || (a->n > 0 && !a->ints))
		return ref_fail(c, "attribute %s is not a list of ints", name);
	if (a->n > max)
		return ref_fail(c, "attribute %s has %d entries (max %d)", name, a->n, max);
	for (int i = 0; i < a->n; i++)
		buf[i] = a->ints[i];
	return a->n;
}

int ref_read_ints(struct ref_ctx *c, const struct npuc_value *v, int64_t *buf, int max)
{
	if (v->dtype != NPUC_DT_I64 && v->dtype != NPUC_DT_I32)
		return ref_fail(c, "expected an int64/int32 tensor, got %s",
				npuc_dtype_name(v->dtype));
	if (v->rank > 1)
		return ref_fail(c, "expected a 1-D int tensor, got rank %d", v->rank);
	if (v->numel > max)
		return ref_fail(c, "int tensor has %lld entries (max %d)", (long long)v->numel,
				max);
	for (int64_t i = 0; i < v->numel; i++)
		buf[i] = ref_get_i(v, i);
	return (int)v->numel;
}

int ref_ints_in_or_attr(struct ref_ctx *c, int i, const char *name, int64_t *buf, int max)
{
	const struct npuc_value *v = ref_in(c, i);

	return v ? ref_read_ints(c, v, buf, max) : ref_attr_ints(c, name, buf, max);
}

int ref_broadcast(struct ref_ctx *c, const struct npuc_value *const *v, int n, int *rank,
		  int64_t *dims)
{
	int r = 0;

	for (int i = 0; i < n; i++)
		if (v[i]->rank > r)
			r = v[i]->rank;
	for (int k = 0; k < r; k++) {
		int64_t dk = 1;

		for (int i = 0; i < n; i++) {
			int j = k - (r - v[i]->rank);
			int64_t e;

			if (j < 0)
				continue;
			e = v[i]->dims[j];
			if (e == dk || e == 1)
				continue;
			if (dk != 1)
				return ref_fail(c, "shapes do not broadcast (dim %lld vs %lld)",
						(long long)dk, (long long)e);
			dk = e;
		}
		dims[k] = dk;
	}
	*rank = r;
	return 0;
}

void ref_bcast_strides(const struct npuc_value *v, int rank, const int64_t *dims,
		       int64_t *strides)
{
	int64_t s = 1;

	for (int k = rank - 1; k >= 0; k--) {
		int j = k - (rank - v->rank);

		if (j < 0 || v->dims[j] == 1 || dims[k] == 1) {
			strides[k] = 0;
			if (j >= 0)
				s *= v->dims[j];
		} else {
			strides[k] = s;
			s *= v->dims[j];
		}
	}
}
