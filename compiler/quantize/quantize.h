/* SPDX-License-Identifier: MIT */
/*
 * Post-training quantisation: float graph (ir.h) + per-tensor activation
 * ranges (from calibration) -> qgraph (qir.h).
 *
 * Expected pipeline: import, shape inference, npuc_passes_run (folding,
 * BatchNorm folding, activation fusion: passes.h), calibration on the
 * resulting graph (calib_observe.h fills struct npuc_act_ranges), then
 * npuc_quantize. Every tensor the quantiser maps needs a known shape (see
 * npuc_refine_shapes_by_run for graphs shape inference cannot finish).
 *
 * Scheme (Documentation/npu-arithmetic.rst):
 *  - activations: asymmetric int8 per tensor from the range [lo, hi]
 *    widened to contain 0: scale = (max(hi,0) - min(lo,0)) / 255,
 *    zp = clamp(round(-128 - min(lo,0) / scale)), so real 0 is exactly
 *    representable. A degenerate range gets scale NPUC_QUANT_MIN_SCALE.
 *  - weights: symmetric int8, per output channel (or per tensor with
 *    per_channel = 0): scale = max|w| / 127. A channel of zeros gets the
 *    scale that makes its requantisation multiplier 1. When the int32
 *    bias would not fit in +-2^30 at in_scale * w_scale (accumulator
 *    headroom), w_scale is raised until it does.
 *  - bias: int32 = round(b / (in_scale * w_scale)), saturated.
 *  - requantisation: npuq_quantize_multiplier(in_scale * w_scale / out_scale).
 *
 * Layout: a 4-D float tensor (1, C, H, W) becomes an NHWC (H, W, C) qgraph
 * tensor with nchw = 1; a tensor of rank <= 3 keeps its row-major order,
 * (h, w, c) being its trailing dims padded with 1; anything else is
 * row-major with the leading dims collapsed into h. Every qgraph tensor
 * records its ONNX rank and dims. A Flatten / Reshape of an NCHW
 * activation to [1, C*H*W] (or [C*H*W]) whose only consumers are
 * NPU-mapped Gemm / MatMul (constant B) becomes a RESHAPE of the NHWC
 * bytes, and those Gemms get their weight columns permuted from CHW to
 * HWC order. Reshape-like ops that would change the byte order run on the
 * CPU.
 *
 * Op mapping (anything else, or unsupported attributes, becomes an
 * NPUQ_CPU node whose reason says why, with DEQUANTIZE / QUANTIZE nodes
 * inserted around it as needed so the rest stays on the NPU):
 *  Conv (2-D, any group, pads / auto_pad / strides / dilations within the
 *  npu_isa.h limits) -> CONV; Gemm, MatMul with constant B -> CONV 1x1 over
 *  the rows; MatMul of two activations -> MATMUL; Add / Sub / Mul (and Sum
 *  of two, Div by a constant) of two activations or with a constant scalar
 *  or per-channel vector -> ELTWISE (TFLite's parameters); MaxPool,
 *  AveragePool, GlobalAveragePool, GlobalMaxPool -> POOL; unary
 *  elementwise functions (Relu and Clip not fused, LeakyRelu, Sigmoid,
 *  Tanh, HardSigmoid, HardSwish, Elu, Erf, Softplus, ..., and binary ops
 *  with a scalar constant that ELTWISE cannot take) -> LUT computed with
 *  the float reference executor; Concat along channels -> CONCAT (inputs
 *  produced by an NPU node for the Concat alone are given the Concat's
 *  quantisation, the rest is requantised as qir.h defines); Reshape /
 *  Flatten / Squeeze / Unsqueeze / Identity / Dropout / Transpose ->
 *  RESHAPE when the NHWC bytes do not move. Fused Relu / Clip
 *  (npuc_pass_fuse) become the producer's act_min / act_max.
 *
 * Graph boundary: every float graph input is a float qgraph input (ONNX
 * name, onnx dims, nchw flag) followed by a QUANTIZE where the NPU reads
 * it; every graph output is a float qgraph output (ONNX name) produced by
 * a DEQUANTIZE (or by a CPU node). An int8 copy of a boundary tensor is
 * named "<name>:q"; a float copy of an inner tensor (CPU operand) is named
 * "<name>:f"; other qgraph tensors keep the float tensor's name. Non-F32
 * activations (integer shape arithmetic...) exist only as CPU-side
 * tensors (flagged NPUQ_T_FLOAT; their real type is that of the
 * same-named tensor of qgraph->src).
 */
#ifndef NPUC_QUANTIZE_H
#define NPUC_QUANTIZE_H

#include <stdint.h>

#include "ir.h"
#include "qir.h"
#include "ref_float.h"

/* Smallest activation scale used (a range of width 0 would give scale 0). */
#define NPUC_QUANT_MIN_SCALE	1e-6f

/* Per float-graph tensor activation ranges, indexed like npuc_graph.t. */
struct npuc_act_ranges {
	int n;			/* entries (the graph's n_t when filled) */
	float *lo, *hi;		/* observed / calibrated real range */
	unsigned char *valid;	/* nonzero where lo / hi hold a range */
	int64_t *nonfinite;	/* NaN / Inf values calibration saw (and ignored) */
};

/* Allocates n entries, all invalid. 0 or -1 (diag set, *r zeroed). */
int npuc_act_ranges_init(struct npuc_act_ranges *r, int n, struct npuc_diag *d);
void npuc_act_ranges_free(struct npuc_act_ranges *r);
/* Widens entry t to include [lo, hi] (marks it valid). Ignores NaN. */
void npuc_act_ranges_merge(struct npuc_act_ranges *r, int t, float lo, float hi);
/*
 * A minimal min/max observer for npuc_ref_run (ctx = struct
 * npuc_act_ranges *, initialised with the graph's n_t entries): merges the
 * finite values of every F32 tensor. Calibration proper lives in
 * calib_observe.h; this serves tests and tools.
 */
int npuc_act_ranges_observe(void *ctx, const struct npuc_graph *g, int node, int tensor,
			    const struct npuc_value *v);

struct npuc_quant_options {
	int per_channel;	/* 1 (default): per-output-channel weight scales */
	/*
	 * Bias correction: when set, the caller (calibration) measures per
	 * output channel the mean of (float output - dequantised qgraph
	 * output) of every CONV over the calibration set and applies it with
	 * npuc_quant_bias_correct(). npuc_quantize itself only records the
	 * option; it needs no statistics.
	 */
	int bias_correction;
	/* Keep each CONV's float weights in the qgraph (npuq_conv.w_f) for GPTQ. */
	int keep_float_weights;
};

void npuc_quant_options_default(struct npuc_quant_options *o);

/*
 * Quantises g. On success ownership of g moves into the result
 * (qgraph->src; CPU nodes refer to its node indices); on failure the
 * caller keeps g (as npuc_qdq_import). ranges must have an entry for
 * every tensor of g that becomes an int8 tensor; opt NULL = defaults.
 * Returns the qgraph or NULL (diag set: a missing range, an unknown shape
 * where the NPU needs one, an invalid graph - never an unsupported op,
 * which goes to the CPU).
 */
struct npuq_graph *npuc_quantize(struct npuc_graph *g, const struct npuc_act_ranges *ranges,
				 const struct npuc_quant_options *opt, struct npuc_diag *d);

/*
 * Bias correction hook for CONV node qn of q: mean_err[oc] (out_c values)
 * is the mean over calibration of float output minus dequantised int8
 * output of channel oc, in real units. Adds round(mean_err[oc] /
 * (in_scale * w_scale[oc])) to each bias (saturating). 0, or -1 if qn is
 * not a CONV.
 */
int npuc_quant_bias_correct(struct npuq_graph *q, int qn, const double *mean_err,
			    struct npuc_diag *d);

/*
 * Runs g once with npuc_ref_run on the given inputs and fills in every
 * tensor shape and type shape inference left unknown. 0 or the run's error.
 */
int npuc_refine_shapes_by_run(struct npuc_graph *g, const struct npuc_value *inputs,
			      struct npuc_diag *d);

/* Activation quantisation of a range (exposed for tests and QDQ export). */
void npuc_quant_act_params(float lo, float hi, float *scale, int32_t *zp);

#endif /* NPUC_QUANTIZE_H */
