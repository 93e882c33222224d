/* SPDX-License-Identifier: MIT */
/*
 * The float and integer reference kernels: pure functions of parameters,
 * shapes and pointers. No graph, no node, no attribute, no allocation and
 * no error path: the op adapters in ref_ops_*.c read a node's attributes
 * and inputs, check them, allocate the outputs and call these. Whoever has
 * the parameters (the float executor, a prepared CPU step, a test) can
 * call a kernel directly. Outputs are written in full (never accumulated
 * into), so their previous contents do not matter.
 */
#ifndef NPUC_REF_KERNELS_H
#define NPUC_REF_KERNELS_H

#include <stdint.h>

#include "ref_float.h"

/* Round half to even, as rintf() in the default rounding mode. */
float ref_rint(float x);

/* Steps the row-major index idx (rank entries) to the next element of dims. */
static inline void ref_next_index(int64_t *idx, const int64_t *dims, int rank)
{
	for (int j = rank - 1; j >= 0; j--) {
		if (++idx[j] < dims[j])
			return;
		idx[j] = 0;
	}
}

/* ---- convolution, matrix products (ref_ops_conv.c) ---- */

/* Shared by Conv/ConvTranspose/pools/QLinearConv: up to 3 spatial dims. */
#define REF_SPATIAL 3
struct ref_geom {
	int nsp;			/* spatial dims in the tensor (1..3) */
	int64_t in[REF_SPATIAL], out[REF_SPATIAL], k[REF_SPATIAL];
	int64_t stride[REF_SPATIAL], dil[REF_SPATIAL];
	int64_t pad0[REF_SPATIAL], pad1[REF_SPATIAL];	/* begin, end */
};
/* Output dims (n, ch, spatial out...) of g; returns the rank (2 + nsp). */
int ref_geom_dims(const struct ref_geom *g, int64_t n, int64_t ch, int64_t *dims);
/* Spatial element counts of one input / output / kernel plane. */
int64_t ref_geom_isz(const struct ref_geom *g);
int64_t ref_geom_osz(const struct ref_geom *g);
int64_t ref_geom_ksz(const struct ref_geom *g);

/*
 * Direct convolution on float or int32 data (zero points already removed),
 * shared with the quantised ops. x: N x cin x in, w: m x cin/group x k,
 * y: N x m x out (spatial sizes from g). bias may be NULL.
 */
void ref_conv_f32(const struct ref_geom *g, int64_t n, int64_t cin, int64_t m, int64_t group,
		  const float *x, const float *w, const float *bias, float *y);
void ref_conv_i64(const struct ref_geom *g, int64_t n, int64_t cin, int64_t m, int64_t group,
		  const int32_t *x, const int32_t *w, int64_t *y);

/*
 * numpy matmul shapes: 1-D operands are promoted (and the added dim
 * dropped from the output), batch dims broadcast. Strides are in matrices.
 */
struct ref_mm {
	int rank;			/* output */
	int64_t dims[NPUC_MAX_RANK];
	int64_t m, k, n, batch;
	int nb;				/* batch dims (output) */
	int64_t bdims[NPUC_MAX_RANK];
	int64_t a_bst[NPUC_MAX_RANK], b_bst[NPUC_MAX_RANK];
};
/* Matrix index into a (which = 0) or b (1) for output batch bi. */
int64_t ref_mm_index(const struct ref_mm *mm, int which, int64_t bi);
/* y (mm->dims) = a x b, numpy matmul with broadcast batch dims. */
void ref_matmul_f32(const struct ref_mm *mm, const float *a, const float *b, float *y);

/* Gemm: Y[m x n] = alpha * op(A) op(B) + beta * C, C broadcast through c_stride. */
struct ref_gemm {
	int64_t m, k, n;
	int trans_a, trans_b;
	float alpha, beta;
	int64_t c_stride[2];		/* C's element strides along m and n (0: broadcast) */
};
void ref_gemm_f32(const struct ref_gemm *p, const float *A, const float *B, const float *C,
		  float *Y);

/*
 * ConvTranspose: x N x cin x in, w cin x ocg x k, y N x (ocg * group) x out
 * (spatial sizes and pads from g, as applied). bias may be NULL.
 */
void ref_conv_transpose_f32(const struct ref_geom *g, int64_t n, int64_t cin, int64_t group,
			    int64_t ocg, const float *x, const float *w, const float *bias,
			    float *y);

/* ---- pooling (ref_ops_pool.c) ---- */

struct ref_pool {
	struct ref_geom g;		/* window, strides, dilations, pads; ceil_mode applied */
	int avg;			/* AveragePool (else MaxPool) */
	int count_pad;			/* AveragePool: padding counts in the divisor */
	int storage_col;		/* MaxPool Indices in column-major order (2-D only) */
};
/*
 * x N x C x in (float32; MaxPool also int8 / uint8), y N x C x out of x's
 * type; idx (int64, MaxPool's Indices) may be NULL.
 */
void ref_pool_nchw(const struct ref_pool *p, const struct npuc_value *x, struct npuc_value *y,
		   struct npuc_value *idx);
/* Global pools: y[p] = mean or max (NaN wins) of x[p * size .. + size). */
void ref_global_pool_f32(int avg, int64_t planes, int64_t size, const float *x, float *y);

/* ---- elementwise (ref_ops_eltwise.c) ---- */

enum ref_bin_op {
	REF_B_ADD, REF_B_SUB, REF_B_MUL, REF_B_DIV, REF_B_POW, REF_B_MAX, REF_B_MIN, REF_B_PRELU,
	REF_B_MOD, REF_B_FMOD,
	/* comparisons and logic: bool output */
	REF_B_EQ, REF_B_LT, REF_B_GT, REF_B_LE, REF_B_GE, REF_B_AND, REF_B_OR, REF_B_XOR,
};
/*
 * y = a op b with numpy broadcasting; y has the broadcast shape, a's type
 * (bool for comparisons and logic). Float in float32; integers wrap.
 */
void ref_binary(enum ref_bin_op op, const struct npuc_value *a, const struct npuc_value *b,
		struct npuc_value *y);

enum ref_un_op {
	REF_U_RELU, REF_U_LEAKY, REF_U_SIGMOID, REF_U_TANH, REF_U_HSIGMOID, REF_U_HSWISH,
	REF_U_ELU, REF_U_SELU, REF_U_SOFTPLUS, REF_U_SOFTSIGN, REF_U_THRELU, REF_U_EXP, REF_U_LOG,
	REF_U_SQRT, REF_U_ABS, REF_U_NEG, REF_U_RECIP, REF_U_FLOOR, REF_U_CEIL, REF_U_ROUND,
	REF_U_ERF, REF_U_SIN, REF_U_COS, REF_U_SIGN, REF_U_NOT, REF_U_CELU, REF_U_TAN, REF_U_ASIN,
	REF_U_ACOS, REF_U_ATAN, REF_U_SINH, REF_U_COSH, REF_U_ASINH, REF_U_ACOSH, REF_U_ATANH,
	REF_U_SHRINK, REF_U_MISH,
};
/*
 * y = f(x) elementwise, x and y of one type and shape. alpha / beta /
 * gamma are the function's parameters (LeakyRelu alpha, HardSigmoid alpha
 * and beta, Selu alpha and gamma, Shrink lambd and bias, ...). Integer
 * inputs: Relu, Abs, Neg, Sign (wrapping), Not on bool.
 */
void ref_unary(enum ref_un_op op, float alpha, float beta, float gamma,
	       const struct npuc_value *x, struct npuc_value *y);
/* out = cond ? x : y with broadcasting (out: the broadcast shape, x's type). */
void ref_where(const struct npuc_value *cond, const struct npuc_value *x,
	       const struct npuc_value *y, struct npuc_value *out);
/* y = min(max(x, lo), hi) in numpy.clip's order, x and y of one type and shape. */
void ref_clip(const struct npuc_value *x, double lo, double hi, struct npuc_value *y);
/* IsInf (inf: with pos / neg detection) or IsNaN over n floats, bool out. */
void ref_float_class(int inf, int pos, int neg, const float *x, uint8_t *y, int64_t n);

/* ---- normalisation, softmax, reductions (ref_ops_norm.c) ---- */

/*
 * BatchNormalization (inference) over x = outer x ch x inner: y = (x -
 * mean[c]) / sqrt(var[c] + eps) * scale[c] + bias[c].
 */
void ref_batchnorm_f32(int64_t outer, int64_t ch, int64_t inner, float eps, const float *x,
		       const float *scale, const float *bias, const float *mean,
		       const float *var, float *y);
/* InstanceNormalization: each of the outer x ch planes of inner values normalised. */
void ref_instnorm_f32(int64_t outer, int64_t ch, int64_t inner, float eps, const float *x,
		      const float *scale, const float *bias, float *y);

/* LayerNormalization over the last nr dims (n values per row, outer rows). */
struct ref_layernorm {
	int64_t outer, n;
	int nr;
	int64_t sdims[NPUC_MAX_RANK];	/* the normalised dims */
	int64_t sst[NPUC_MAX_RANK], bst[NPUC_MAX_RANK];	/* scale / bias strides (0: broadcast) */
	float eps;
};
/* bias, mean_out and inv_std_out (outer values each) may be NULL. */
void ref_layernorm_f32(const struct ref_layernorm *p, const float *x, const float *scale,
		       const float *bias, float *y, float *mean_out, float *inv_std_out);
/* LRN across channels: a window of size channels around each. */
void ref_lrn_f32(int64_t outer, int64_t ch, int64_t inner, int64_t size, float alpha,
		 float beta, float bias, const float *x, float *y);

enum ref_softmax_kind { REF_SOFTMAX, REF_LOGSOFTMAX, REF_HARDMAX };
/* Over the n values (stride inner) of each of outer x inner rows. */
void ref_softmax_f32(enum ref_softmax_kind kind, int64_t outer, int64_t n, int64_t inner,
		     const float *x, float *y);

enum ref_reduce_kind {
	REF_R_SUM, REF_R_MEAN, REF_R_MAX, REF_R_MIN, REF_R_PROD, REF_R_L1, REF_R_L2, REF_R_LSE,
	REF_R_SUMSQ, REF_R_LOGSUM,
};
/*
 * Reduce*: element i of x accumulates into y's element at sum(idx[j] *
 * ost[j]) (ost[j] = 0 along reduced axes), in double; acc is scratch of
 * y->numel doubles. y: float or x's integer type.
 */
void ref_reduce(enum ref_reduce_kind kind, const struct npuc_value *x, const int64_t *ost,
		struct npuc_value *y, double *acc);
/* ArgMax / ArgMin over the n values (stride inner) of outer x inner rows. */
void ref_arg_reduce(int is_max, int last, int64_t outer, int64_t n, int64_t inner,
		    const struct npuc_value *x, int64_t *y);

/* ---- quantisation, integer ops (ref_ops_quant.c) ---- */

/*
 * QuantizeLinear / DequantizeLinear: element i uses the scale and zero
 * point at index (i / inner) % n (inner = n = 1: per tensor; a parameter
 * of one value serves every index; zp may be NULL = 0). Quantize rounds
 * half to even and saturates to y's type (uint8 / int8).
 */
void ref_quantize_linear(const struct npuc_value *x, const struct npuc_value *scale,
			 const struct npuc_value *zp, int64_t inner, int64_t n, struct npuc_value *y);
void ref_dequantize_linear(const struct npuc_value *x, const struct npuc_value *scale,
			   const struct npuc_value *zp, int64_t inner, int64_t n, float *y);
/* DynamicQuantizeLinear: range including 0 -> uint8 scale and zero point. */
void ref_dyn_quantize_u8(const float *x, int64_t n, uint8_t *y, float *scale_out,
			 uint8_t *zp_out);
/* acc[batch][m][n] = sum_k a * b over zero-point-free int32 operands (mm: matmul shapes). */
void ref_matmul_i64(const struct ref_mm *mm, const int32_t *a, const int32_t *b, int64_t *y);
/*
 * QLinearConv's output stage: y[i] = sat(rint((acc[i] + b[m]) * xs * ws[m]
 * / ys) + yz) for output channel m (m channels of osz values); b may be NULL.
 */
void ref_qlinear_conv_out(const int64_t *acc, int64_t m, int64_t osz,
			  const struct npuc_value *xs, const struct npuc_value *ws,
			  const struct npuc_value *ys, const struct npuc_value *yz,
			  const struct npuc_value *b, struct npuc_value *y);
/* QLinearMatMul's output stage: per-row a scale, per-column b scale. */
void ref_qlinear_matmul_out(const int64_t *acc, const struct ref_mm *mm,
			    const struct npuc_value *as, const struct npuc_value *bs,
			    const struct npuc_value *ys, const struct npuc_value *yz,
			    struct npuc_value *y);

/* ---- Resize / Upsample (ref_ops_resize.c) ---- */

#define REF_RESIZE_TAPS 4		/* cubic */
/* Taps of one output coordinate along one dimension. */
struct ref_resize_tap {
	int n;				/* 0 = outside the crop: the extrapolation value */
	int64_t idx[REF_RESIZE_TAPS];
	double w[REF_RESIZE_TAPS];
};
/* A separable resize: per dimension, the taps of every output coordinate. */
struct ref_resize_plan {
	int rank;
	int64_t in[NPUC_MAX_RANK], out[NPUC_MAX_RANK];
	double scale[NPUC_MAX_RANK], roi[NPUC_MAX_RANK][2];
	struct ref_resize_tap *tap[NPUC_MAX_RANK];	/* out[d] entries each */
};
/* y (p->out) = the weighted sum over the product of each dimension's taps of x (p->in). */
void ref_resize_f32(const struct ref_resize_plan *p, float extrapolation, const float *x,
		    float *y);

/* ---- layout and data movement (ref_ops_shape.c) ---- */

/*
 * y[idx] = x[off + sum(idx[k] * st[k])] for every index of y: Transpose,
 * Slice, Expand, Split, DepthToSpace and SpaceToDepth are strided views.
 */
void ref_copy_view(const struct npuc_value *x, int64_t off, const int64_t *st,
		   struct npuc_value *y);
/* Concat of n values of y's type along axis (their dims sum to y's there). */
void ref_concat(const struct npuc_value *const *xs, int n, int axis, struct npuc_value *y);
/*
 * Pad: pads[i] before and pads[NPUC_MAX_RANK + i] after dim i; mode 0
 * constant (fill: one element of x's type), 1 edge, 2 reflect.
 */
void ref_pad(const struct npuc_value *x, const int64_t *pads, int mode, const void *fill,
	     struct npuc_value *y);
/* Gather along axis (outer / inner: the products of the dims before / after it). */
void ref_gather(const struct npuc_value *x, const struct npuc_value *ind, int axis,
		int64_t outer, int64_t inner, struct npuc_value *y);
/* GatherElements along axis; y has ind's shape. Indices in range (negative: from the end). */
void ref_gather_elements(const struct npuc_value *x, const struct npuc_value *ind, int axis,
			 struct npuc_value *y);
/* Cast to y's type: float, bool (!= 0) or integers (truncating, then wrapping). */
void ref_cast(const struct npuc_value *x, struct npuc_value *y);
/* Tile: y's dims are multiples of x's. */
void ref_tile(const struct npuc_value *x, struct npuc_value *y);
/* Range: y[i] = start + i * delta (scalars of y's type). */
void ref_range(const struct npuc_value *start, const struct npuc_value *delta,
	       struct npuc_value *y);
/* Trilu: the upper (or lower) triangle from diagonal k of each matrix; zeros elsewhere. */
void ref_trilu(const struct npuc_value *x, int upper, int64_t k, struct npuc_value *y);
/* OneHot: vals[1] at each index (of depth, along the new axis), vals[0] elsewhere. */
void ref_onehot(const struct npuc_value *ind, int64_t depth, int64_t outer, int64_t inner,
		const struct npuc_value *vals, struct npuc_value *y);
/* TopK: k of n values (stride inner) per row; it: scratch of n items. Stable on the index. */
struct ref_topk_item {
	double v;
	int64_t i;
};
void ref_topk(const struct npuc_value *x, int largest, int64_t outer, int64_t n, int64_t inner,
	      int64_t k, struct ref_topk_item *it, struct npuc_value *yv, int64_t *yi);

#endif /* NPUC_REF_KERNELS_H */
