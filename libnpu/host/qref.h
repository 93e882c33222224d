/* SPDX-License-Identifier: MIT */
/*
 * npuc int8 reference executor over a qgraph (qir.h).
 *
 * The oracle the simulator and the lowering are checked against: every NPU
 * op is computed in plain loops through npu_arith.h with the same
 * parameters the command would carry, so the results equal libnpusim's
 * CONV / MATMUL / ELTWISE / POOL / LUT bit for bit:
 *  - CONV: acc = bias[oc] + sum (x - in_zp) * (w - w_zp) modulo 2^32 over
 *    taps inside the input (padding taps contribute 0, i.e. x = in_zp),
 *    then npu_requant(acc, &q[oc], out_zp, act_min, act_max). Input (h, w,
 *    c), output tensor (out_h, out_w, out_c) with
 *    out_h = (h + pad_top + pad_bottom - ((k_h - 1) * dil_h + 1)) / stride_h + 1
 *    (and likewise out_w); the output tensor must have exactly that extent.
 *  - MATMUL: A = input 0 (1, M, K), B = input 1 (1, K, N), out (1, M, N),
 *    per-tensor qparam; zero points are the tensors'. (A leading extent
 *    h > 1, equal for A, B and out, is a batch of independent products.)
 *  - ELTWISE: npu_eltwise() with a_zp/b_zp/out_zp from the tensors (b_zp
 *    from npuq_eltwise.b_zp for a constant B). B is input 1, or b_const
 *    (then the node has one input) holding 1 (SCALAR), c (CHANNEL) or
 *    h*w*c (NONE) values. out[i] = op(a[i], b[j]), j = i, 0 or i % c.
 *  - POOL: window geometry as CONV (dilation 1, output extent checked the
 *    same way); taps outside the input are ignored, npu_pool_out() with
 *    count = valid taps (AVG), k_h*k_w (AVG with count_pad) or 1 (MAX).
 *  - LUT: out = table[in + 128].
 *  - CONCAT (channels): each input requantised into its channel slice as
 *    npuq_concat_qparam() defines (a copy when scale and zp are equal).
 *  - RESHAPE: same bytes; element count, kind, scale and zp must agree.
 *  - QUANTIZE: q = saturate(rint(x / scale) + zp) in float (ONNX
 *    QuantizeLinear; NaN gives 0). DEQUANTIZE: (float)(q - zp) * scale.
 *  - CPU: the node g->src->nodes[src_node] through ref_float. The
 *    node's in[] are the source node's distinct non-constant inputs in
 *    first-use order (constants come from g->src) and its out[] the source
 *    node's present outputs in order. Each operand's source type must be
 *    npuq_tensor_dtype() of its qgraph tensor: float32 or another CPU-side
 *    type (int32, ...) as is; int8 tensors as int8, or as uint8 (flipped,
 *    q_u8 = q_i8 ^ 0x80) when their dtype is U8.
 *
 * Layout: int8 and float tensors are stored NHWC (h, w, c) internally. At
 * the graph boundary, for CPU operands and for observer values a tensor
 * has its ONNX-visible shape (npuq_tensor_onnx_shape()); where nchw is set
 * the data is converted NCHW <-> NHWC.
 */
#ifndef NPUC_QREF_H
#define NPUC_QREF_H

#include "qir.h"
#include "ref_float.h"

/*
 * Observer: called for every graph input (node = -1), then for every
 * tensor a node produces right after the node ran, in execution order.
 * v is the tensor's value in its ONNX-visible shape: I8 (raw int8, use the
 * tensor's scale and zp; also for uint8 tensors, in the int8 domain) or
 * the CPU-side type (F32, or I32 / I64 / BOOL: npuq_tensor_dtype()).
 * Valid only during the call. Returning nonzero aborts the run
 * (npuq_ref_run returns -1 with a diag).
 */
typedef int (*npuq_ref_observe_fn)(void *ctx, const struct npuq_graph *g, int node, int tensor,
				   const struct npuc_value *v);

struct npuq_ref_observer {
	npuq_ref_observe_fn observe;
	void *ctx;
};

/*
 * Runs the qgraph. inputs[i] is the value of graph input g->inputs[i]: I8
 * for int8 tensors (or U8 for those whose dtype is U8: flipped on import),
 * else of npuq_tensor_dtype() (F32, I32, ...), h*w*c elements (rank 4
 * (1, c, h, w) when the tensor is nchw); borrowed. outputs[i] receives
 * graph output g->outputs[i] in its ONNX-visible shape, typed as the
 * inputs (I8 for int8 tensors; owned: npuc_value_free; all cleared on
 * failure). obs may be NULL. Returns 0, -1 (invalid graph or
 * values) or NPUC_REF_UNSUPPORTED (a CPU node ref_float cannot run);
 * the diag names the node.
 */
int npuq_ref_run(const struct npuq_graph *g, const struct npuc_value *inputs,
		 struct npuc_value *outputs, const struct npuq_ref_observer *obs,
		 struct npuc_diag *d);

#endif /* NPUC_QREF_H */
