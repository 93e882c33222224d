/* SPDX-License-Identifier: MIT */
/*
 * Shape and type inference over an imported graph (nodes in topological
 * order, as the importer leaves them).
 *
 * Covered (default ONNX domain): Conv, ConvInteger, QLinearConv, MatMul,
 * MatMulInteger, QLinearMatMul, Gemm, the elementwise unary ops (Relu,
 * Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Softmax, ...),
 * Add/Sub/Mul/Div and other numpy-broadcasting binary ops, MaxPool and
 * AveragePool (auto_pad, ceil_mode, dilations), GlobalAveragePool,
 * GlobalMaxPool, BatchNormalization, Flatten, Reshape, Transpose, Concat,
 * Squeeze, Unsqueeze, QuantizeLinear, DequantizeLinear, Identity, Dropout,
 * Pad, Cast, Shape, Gather.
 *
 * Other ops (and other domains) keep unknown outputs: a later pass decides
 * about CPU fallback. Shapes that cannot be consistent (channel mismatch,
 * impossible broadcast, bad axes / perm, kernel larger than its padded
 * input, value_info disagreeing with the inferred shape, ...) fail with a
 * message naming the node. Unknown dimensions propagate as
 * NPUC_DIM_UNKNOWN; dimensions above NPUC_SHAPE_DIM_MAX are rejected.
 */
#ifndef NPUC_SHAPE_INFER_H
#define NPUC_SHAPE_INFER_H

#include <stdint.h>

#include "ir.h"

#define NPUC_SHAPE_DIM_MAX	(INT64_C(1) << 40)

int npuc_shape_infer(struct npuc_graph *g, struct npuc_diag *d);

/*
 * Number of leading inputs an op of the default domain requires at the
 * given opset (inputs that may not be omitted), or -1 for ops this table
 * does not know.
 */
int npuc_op_min_inputs(const char *op, int64_t opset);

#endif /* NPUC_SHAPE_INFER_H */
