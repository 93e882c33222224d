/* SPDX-License-Identifier: MIT */
/*
 * Private interface between the reference executor (ref_float.c) and its
 * op implementations (ref_ops_*.c). Each op reads its inputs from a
 * ref_ctx, allocates its outputs with ref_out() and returns 0 or -1 with
 * the diag set through ref_fail().
 */
#ifndef NPUC_REF_OPS_INTERNAL_H
#define NPUC_REF_OPS_INTERNAL_H

#include <stdint.h>

#include "ir.h"
#include "ref_float.h"
#include "ref_kernels.h"

/* Refuse values above this many elements (hostile shapes, not real models). */
#define REF_MAX_NUMEL (INT64_C(1) << 31)
/* Refuse single ops above this many multiply-accumulates (hostile attributes). */
#define REF_MAX_WORK 1e12

struct ref_ctx {
	const struct npuc_graph *g;
	const struct npuc_node *n;
	int64_t opset;			/* default-domain opset of the model */
	const struct npuc_value *const *in;	/* n_in entries, NULL = omitted */
	int n_in;
	struct npuc_value *out;		/* n_out zeroed values, filled by the op */
	int n_out;
	struct npuc_diag *d;
};

typedef int (*ref_op_fn)(struct ref_ctx *c);

/*
 * One kernel per ONNX op, ref_op_<ref> as onnx_ops.def's ref column names
 * it, defined in the family's ref_ops_<family>.c. ref_op_missing stands
 * for "no float reference" (ref_float.c).
 */
#define OP(name, dom, ref, ...) int ref_op_##ref(struct ref_ctx *c);
#include "onnx_ops.def"
#undef OP

/* Sets the diag prefixed with the node's op and name; returns -1. */
int ref_fail(struct ref_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Same for a valid use of a feature this executor lacks; returns NPUC_REF_UNSUPPORTED. */
int ref_unsupported(struct ref_ctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Input i or NULL when omitted / absent. */
const struct npuc_value *ref_in(const struct ref_ctx *c, int i);
/* Input i, which must be present and (if dt != UNDEF) of type dt; NULL + diag otherwise. */
const struct npuc_value *ref_need(struct ref_ctx *c, int i, enum npuc_dtype dt);
/*
 * Allocates output i (zeroed); returns it or NULL (diag set). An output the
 * node omits (ref_has_out() == 0) may still be allocated: it is discarded.
 */
struct npuc_value *ref_out(struct ref_ctx *c, int i, enum npuc_dtype dt, int rank,
			   const int64_t *dims);
/* 1 if the node has output i (not omitted). */
int ref_has_out(const struct ref_ctx *c, int i);

/* Sets v's type and shape (no data); -1 with a diag for a bad type or shape. */
int ref_value_shape(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		    struct npuc_diag *d);
/* Checked element count of a shape; -1 if negative dim, overflow or > REF_MAX_NUMEL. */
int64_t ref_numel(int rank, const int64_t *dims);
/* Fails if an op would do more than REF_MAX_WORK inner steps (work as a double). */
int ref_check_work(struct ref_ctx *c, double work);
/* Normalises axis in [-rank, rank) into [0, rank); fails (diag) otherwise. */
int ref_axis(struct ref_ctx *c, int64_t axis, int rank, int64_t *out);

/* INTS attribute into buf (max entries). Returns count, 0 if absent, -1 (diag) if too long. */
int ref_attr_ints(struct ref_ctx *c, const char *name, int64_t *buf, int max);
/* Integer values of an I64/I32 tensor into buf. Returns count or -1 (diag). */
int ref_read_ints(struct ref_ctx *c, const struct npuc_value *v, int64_t *buf, int max);
/*
 * A list that later opsets pass as input i and earlier ones as attribute
 * name (axes, shape, split): the input when present, else the attribute.
 */
int ref_ints_in_or_attr(struct ref_ctx *c, int i, const char *name, int64_t *buf, int max);

/* Element access for any type (BOOL/integers as int64; F32 converted). */
int64_t ref_get_i(const struct npuc_value *v, int64_t i);
double ref_get_f(const struct npuc_value *v, int64_t i);
/* Stores x into element i, wrapping to the integer type (two's complement). */
void ref_set_i(struct npuc_value *v, int64_t i, int64_t x);
int ref_is_int(enum npuc_dtype dt);

/* Multidirectional (numpy) broadcast of n shapes; fills out rank/dims. */
int ref_broadcast(struct ref_ctx *c, const struct npuc_value *const *v, int n, int *rank,
		  int64_t *dims);
/* Element strides of v broadcast to (rank, dims): 0 along broadcast axes. */
void ref_bcast_strides(const struct npuc_value *v, int rank, const int64_t *dims,
		       int64_t *strides);

/*
 * Reads kernel_shape (or k from the weight), strides, dilations, pads and
 * auto_pad and computes the output size for a conv/pool window op over
 * input x (N, C, spatial...). ceil_mode per ONNX pooling.
 */
int ref_window_geom(struct ref_ctx *c, const struct npuc_value *x, const int64_t *kshape,
		    int ceil_mode, struct ref_geom *g);

/* numpy matmul shapes of a and b into mm (ref_kernels.h). */
int ref_matmul_shape(struct ref_ctx *c, const struct npuc_value *a, const struct npuc_value *b,
		     struct ref_mm *mm);


#endif /* NPUC_REF_OPS_INTERNAL_H */
