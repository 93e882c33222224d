/* SPDX-License-Identifier: MIT */
/*
 * The int8 reference kernels: the NPU's operations as pure functions of
 * their parameters (the qgraph's op structs, npu_arith.h's command
 * fields), tensor shapes and pointers, computing through npu_arith.h so
 * they are bit-exact with the simulator and the device. No graph, no
 * allocation (scratch comes from the caller), no checks: the int8
 * executor (qref.c) validates a node before it calls its kernel.
 */
#ifndef NPUQ_QREF_KERNELS_H
#define NPUQ_QREF_KERNELS_H

#include <stdint.h>

#include "npu_arith.h"
#include "qir.h"

/* An int8 NHWC tensor (batch 1) as a kernel sees it. */
struct npuq_shape {
	int h, w, c;
	int32_t zp;
};

/* int16 scratch elements npuq_conv_i8 needs (the centred, padded input and weights). */
int64_t npuq_conv_scratch(const struct npuq_conv *p, const struct npuq_shape *x,
			  const struct npuq_shape *y);
/* CONV: y = requant(bias + sum (x - x.zp)(w - w_zp)) per output pixel and channel. */
void npuq_conv_i8(const struct npuq_conv *p, const struct npuq_shape *x,
		  const struct npuq_shape *y, const int8_t *xd, int8_t *yd, int16_t *scratch);

/* int16 scratch elements npuq_matmul_i8 needs. */
int64_t npuq_matmul_scratch(const struct npuq_shape *a, const struct npuq_shape *b);
/* MATMUL per batch h: y[h] (w x c) = requant(bias + (a[h] - a.zp)(b[h] - b.zp)). */
void npuq_matmul_i8(const struct npuq_matmul *p, const struct npuq_shape *a,
		    const struct npuq_shape *b, const struct npuq_shape *y, const int8_t *ad,
		    const int8_t *bd, int8_t *yd, int16_t *scratch);

/* ELTWISE as the command describes it (count, broadcast of b over ch channels). */
void npuq_eltwise_i8(const struct npu_cmd_eltwise *c, int64_t ch, const int8_t *a,
		     const int8_t *b, int8_t *y);
/* POOL (max or average) over windows of x. */
void npuq_pool_i8(const struct npuq_pool *p, const struct npuq_shape *x,
		  const struct npuq_shape *y, const int8_t *xd, int8_t *yd);
/* LUT: y[i] = table[x[i] + 128]. */
void npuq_lut_i8(const int8_t *table, const int8_t *x, int8_t *y, int64_t n);
/*
 * One CONCAT input into channels [off, off + x.c) of y; q NULL: a copy
 * (same quantisation), else requantised through q.
 */
void npuq_concat_part_i8(const struct npu_qparam *q, const struct npuq_shape *x,
			 const struct npuq_shape *y, int off, const int8_t *xd, int8_t *yd);

#endif /* NPUQ_QREF_KERNELS_H */
