/* SPDX-License-Identifier: MIT */
/*
 * qgraph -> QDQ ONNX model (npuc --export-qdq).
 *
 * Writes the quantised model as ONNX Runtime's quantiser would (opset 13
 * or the source model's opset if higher), so the int8 model can be run
 * and its accuracy checked outside npuc:
 *
 *  - every int8 activation is an ONNX int8 tensor with a per-tensor scale
 *    and zero point (initializers shared by its QuantizeLinear and
 *    DequantizeLinear nodes);
 *  - every NPU node becomes DequantizeLinear of its int8 inputs, the float
 *    op, an optional Relu / Clip for act_min / act_max and QuantizeLinear
 *    to the output's parameters: CONV -> Conv (weights DequantizeLinear of
 *    the int8 OIHW weights, per output channel along axis 0; bias
 *    DequantizeLinear of the int32 bias at in_scale * w_scale[oc]) or, for
 *    a fully connected CONV, Gemm with transB = 1; MATMUL -> MatMul;
 *    ELTWISE -> Add / Sub / Mul (a constant operand as a dequantised int8
 *    initializer); POOL -> MaxPool / AveragePool / GlobalMaxPool /
 *    GlobalAveragePool; CONCAT -> Concat; LUT -> the float op of the
 *    source graph (found by node name and function; an attribute-free
 *    function such as Sigmoid needs no source node), kept only if the
 *    float reference executor shows that it reproduces the table within
 *    one step, with a Clip when the table carries a fused clamp; else the
 *    exact table lookup Gather(table, Cast(x, int32) + 128); RESHAPE ->
 *    Reshape of the int8 tensor; QUANTIZE / DEQUANTIZE -> QuantizeLinear
 *    / DequantizeLinear;
 *  - CPU nodes are copies of their source node (q->src) with its
 *    constants, npuc's internal attributes removed; ops whose signature
 *    changed before opset 13 are rewritten: axes / split attributes of
 *    Squeeze, Unsqueeze, ReduceSum and Split, and Clip's / Pad's
 *    attributes (opset < 11) become inputs, Dropout loses ratio, and
 *    Softmax / LogSoftmax / Hardmax over a non-last axis (2-D coercion)
 *    become Flatten -> op -> Reshape(Shape(x)). Other legacy forms (Resize
 *    / Upsample of opset < 11, ...) are copied unchanged.
 *
 * Layout: the export works in ONNX layout. Graph inputs and outputs keep
 * their names, element types and dims (an 8-bit boundary tensor of a
 * uint8 source model stays uint8, converted exactly); NCHW tensors are
 * NCHW. A RESHAPE that reorders the NHWC bytes (an NCHW activation
 * flattened for a fully connected layer, whose weight columns npuc
 * permuted to HWC order) is written as the source's Reshape, with the
 * weight columns put back in the source order; any other reordering
 * RESHAPE becomes Transpose / Reshape / Transpose on the dequantised
 * tensor.
 *
 * Arithmetic: ONNX Runtime computes the float ops in float32 and
 * requantises with QuantizeLinear (round half to even), npuc in integers
 * with a fixed-point multiplier (npu_arith.h): results agree within one
 * output quantisation step per op. npuc_qdq_import() of the exported file
 * gives back the same integer parameters.
 */
#ifndef NPUC_ONNX_EXPORT_H
#define NPUC_ONNX_EXPORT_H

#include <stddef.h>
#include <stdint.h>

#include "qir.h"

/* Lowest default-domain opset written (per-axis DequantizeLinear). */
#define NPUC_EXPORT_MIN_OPSET	13

/* Writes the QDQ model of q to path. 0 or -1 (diag set). */
int npuc_export_qdq(const struct npuq_graph *q, const char *path, struct npuc_diag *d);

/* Same, into a malloc'd buffer (*buf, *len; caller frees). 0 or -1 (diag set). */
int npuc_export_qdq_mem(const struct npuq_graph *q, uint8_t **buf, size_t *len,
			struct npuc_diag *d);

#endif /* NPUC_ONNX_EXPORT_H */
