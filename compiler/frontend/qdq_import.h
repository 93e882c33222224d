/* SPDX-License-Identifier: MIT */
/*
 * Pre-quantised ONNX models -> qgraph (qir.h).
 *
 * Recognises the two ways ONNX expresses int8 inference and builds the
 * equivalent NPU-level nodes with exact integer parameters:
 *
 *  - QOperator: QLinearConv, QLinearMatMul (constant B: a fully connected
 *    CONV; activation B: MATMUL), ConvInteger and MatMulInteger (only when
 *    a constant requantisation follows: Cast(float) -> Mul(constant
 *    scale) -> [Add(constant bias)] -> [Relu/Clip] -> QuantizeLinear; their
 *    int32 result alone cannot be an int8 NPU tensor), QuantizeLinear,
 *    DequantizeLinear, 8-bit pass-through ops (MaxPool, GlobalMaxPool,
 *    Reshape, Flatten, Squeeze, Unsqueeze, Identity on uint8/int8
 *    tensors) and ONNX Runtime's com.microsoft QLinearAdd, QLinearMul,
 *    QLinearSigmoid, QLinearLeakyRelu, QLinearAveragePool,
 *    QLinearGlobalAveragePool and QLinearConcat.
 *  - QDQ, as ONNX Runtime's quantiser writes it: DequantizeLinear on the
 *    input activations and on constant weights (per-tensor, or per output
 *    channel along the DQ axis) and int32 bias, one float op, then
 *    QuantizeLinear on its output, optionally through Relu / Clip, which
 *    become the node's act_min / act_max. Ops: Conv (2-D, groups,
 *    dilations, pads / auto_pad), Gemm (alpha, beta, transB), MatMul,
 *    Add, Sub, Mul, Sum of two, MaxPool, AveragePool (ceil_mode,
 *    count_include_pad), GlobalAveragePool, GlobalMaxPool, Concat (along
 *    channels; inputs with other parameters are requantised by the
 *    CONCAT as qir.h defines), Reshape / Flatten / Squeeze / Unsqueeze
 *    (when the NHWC bytes do not move) and the unary activations (Relu,
 *    Clip, LeakyRelu, Sigmoid, Tanh, HardSigmoid, HardSwish, Elu, Selu,
 *    Softplus, Softsign, Neg, Abs, Identity, Sum of one) as int8 lookup
 *    tables. A DequantizeLinear -> QuantizeLinear pair is a requantising
 *    LUT.
 *
 * Arithmetic: uint8 tensors are mapped to int8 by subtracting 128 from
 * values and zero points (exact); a weight zero point becomes
 * npuq_conv.w_zp (per-tensor only: per-channel weight zero points that
 * differ fall back to the CPU, with that reason); requantisation
 * multipliers are npuq_quantize_multiplier(x_scale * w_scale / y_scale)
 * of the model's float32 scales evaluated in double; an int32 bias is
 * used as is when its scale is x_scale * w_scale (as ONNX Runtime writes
 * it), a float bias is rounded to that scale; LUT tables evaluate DQ ->
 * f -> Q in float32 as ONNX Runtime does. Results equal ONNX's
 * definitions up to the rounding differences described in
 * Documentation/npu-arithmetic.rst (at most 1 LSB per op).
 *
 * Everything else, including a pattern that does not fit the NPU (limits,
 * per-axis activation quantisation, unsupported broadcasts...), becomes an
 * NPUQ_CPU node of the source graph whose reason says why. Around such
 * nodes DequantizeLinear / QuantizeLinear become NPUQ_DEQUANTIZE /
 * NPUQ_QUANTIZE (per-tensor) or CPU nodes themselves (per-axis, of a
 * constant).
 *
 * qgraph conventions used here (on top of qir.h and qref.h):
 *  - Every qgraph tensor has the name of the source tensor it holds, so
 *    its ONNX type and shape stay available through npuq_graph.src
 *    (npuc_qdq_onnx_dtype()); graph inputs / outputs keep their ONNX names
 *    and order, with onnx_rank / onnx_dims / nchw set.
 *  - 8-bit source tensors are int8 qgraph tensors (uint8 values minus
 *    128) with npuq_tensor.dtype U8 or I8. A caller feeding a uint8 graph
 *    input or reading a uint8 graph output flips bit 7 (q_i8 = q_u8 ^
 *    0x80); CPU nodes get uint8 values back (qref.h).
 *  - NPUQ_CPU nodes list as inputs the qgraph tensors of the source node's
 *    distinct non-constant inputs in first-use order, and as outputs
 *    those of its present outputs (qref.h). Source tensors of types other
 *    than float / 8-bit (the int32 results of ConvInteger, ...) are
 *    NPUQ_T_FLOAT (CPU side) with npuq_tensor.dtype I32, I64 or BOOL, so
 *    CPU nodes with 8-bit or integer operands (per-axis Q/DQ of
 *    activations, ConvInteger without requantisation, 8-bit Transpose...)
 *    run in qref and in .npub plans like float ones.
 */
#ifndef NPUC_QDQ_IMPORT_H
#define NPUC_QDQ_IMPORT_H

#include "ir.h"
#include "qir.h"

/*
 * 1 if the graph contains any QuantizeLinear, DequantizeLinear,
 * QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger or
 * DynamicQuantizeLinear node (a
 * pre-quantised model), else 0.
 */
int npuc_qdq_is_quantized(const struct npuc_graph *g);

/*
 * Builds the qgraph of a pre-quantised model. src must have been through
 * npuc_shape_infer() (and, where that leaves shapes unknown,
 * npuc_refine_shapes_by_run()): a tensor the qgraph needs with an unknown
 * shape is an error naming it. On success *out is the new qgraph, which
 * takes ownership of src (out->src == src); on failure *out is NULL, the
 * caller keeps src and the diag says why. A model never fails only
 * because a node is unsupported: such nodes become NPUQ_CPU nodes with a
 * reason.
 */
int npuc_qdq_import(struct npuc_graph *src, struct npuq_graph **out, struct npuc_diag *d);

/*
 * The ONNX element type of qgraph tensor t (looked up by name in
 * q->src): NPUC_DT_U8 for int8 tensors that hold a uint8 source tensor,
 * NPUC_DT_I8 / NPUC_DT_F32 otherwise, or the source type of the other
 * CPU-side tensors (NPUC_DT_I32, ...). NPUC_DT_UNDEF for an invalid t.
 */
enum npuc_dtype npuc_qdq_onnx_dtype(const struct npuq_graph *q, int t);

#endif /* NPUC_QDQ_IMPORT_H */
