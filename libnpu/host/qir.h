/* SPDX-License-Identifier: MIT */
/*
 * npuc quantised IR ("qgraph"): the NPU-level program.
 *
 * Produced from the float IR (ir.h) by quantisation (float models) or by
 * QDQ/QOperator recognition (pre-quantised models); consumed by the int8
 * reference executor (qref.c, bit-exact with libnpusim because both
 * compute through npu_arith.h), by lowering (tiling + command streams)
 * and by the .npub writer.
 *
 * Conventions
 *  - Batch 1. Every int8 activation is an (h, w, c) NHWC tensor with a
 *    per-tensor scale and zero point: real = scale * (q - zp), q in int8.
 *    A 2-D [M, K] activation is (1, M, K); a vector [K] is (1, 1, K).
 *  - ONNX uint8 tensors are mapped to int8 by subtracting 128 from values
 *    and zero points (exact, Documentation/npu-arithmetic.rst).
 *  - Weights are constant int8 with per-output-channel symmetric scales
 *    (zero point w_zp, 0 when quantised by npuc), bias is int32 at scale
 *    in_scale * w_scale[oc]; the requantisation (mult, shift) per output
 *    channel realises in_scale * w_scale[oc] / out_scale (npu_arith.h).
 *  - Float tensors exist only around CPU fallback nodes and at the graph
 *    boundary (NPUQ_QUANTIZE / NPUQ_DEQUANTIZE). Integer tensors of other
 *    types (int32 results of ConvInteger, ...) exist only as operands of
 *    CPU nodes: NPUQ_T_FLOAT with npuq_tensor.dtype saying the type.
 *  - Nodes are in a valid execution order. Tensors and nodes are referred
 *    to by index. The qgraph owns all its memory (npuq_graph_free).
 */
#ifndef NPUC_QIR_H
#define NPUC_QIR_H

#include <stdint.h>

#include "ir.h"
#include "npu_isa.h"

#define NPUQ_T_INPUT	(1u << 0)	/* graph input */
#define NPUQ_T_OUTPUT	(1u << 1)	/* graph output */
#define NPUQ_T_FLOAT	(1u << 2)	/* CPU-side tensor (float32 unless .dtype), else int8 */

struct npuq_tensor {
	char *name;
	int h, w, c;			/* NHWC extent (batch 1) */
	float scale;			/* int8 tensors: real = scale * (q - zp) */
	int32_t zp;			/* -128..127 */
	unsigned int flags;		/* NPUQ_T_* */
	int producer;			/* node index, -1 for graph inputs */
	/*
	 * The ONNX-visible shape of graph inputs/outputs and CPU-node
	 * operands: rank and dims as in the source model, and whether the
	 * ONNX layout is NCHW (4-D) while this tensor is stored NHWC.
	 */
	int onnx_rank;
	int64_t onnx_dims[NPUC_MAX_RANK];
	int nchw;
	/*
	 * Element type the source model sees (npuq_tensor_dtype()). The
	 * default NPUC_DT_UNDEF (0) means F32 for NPUQ_T_FLOAT tensors and I8
	 * for int8 ones. An int8 tensor may say U8: it holds an ONNX uint8
	 * tensor in the int8 domain (q_i8 = q_u8 ^ 0x80); CPU nodes see uint8
	 * values. An NPUQ_T_FLOAT ("CPU side", not int8 NPU data) tensor may
	 * hold I32, I64 or BOOL elements instead of float32 (the int32 result
	 * of ConvInteger, ...): stored as that type, usable by CPU nodes,
	 * RESHAPE and the graph boundary only.
	 */
	enum npuc_dtype dtype;
};

enum npuq_op {
	NPUQ_CONV,		/* conv / depthwise / fully connected (1x1 over pixels) */
	NPUQ_MATMUL,		/* activation x activation: out[m][n] = A[m][k] B[k][n] */
	NPUQ_ELTWISE,		/* add/sub/mul, B an activation or an int8 constant */
	NPUQ_POOL,		/* max / average / global average */
	NPUQ_LUT,		/* int8 -> int8 table (sigmoid, tanh, hard-swish, ...) */
	NPUQ_CONCAT,		/* along channels */
	NPUQ_RESHAPE,		/* same bytes, new (h, w, c): no data movement */
	NPUQ_QUANTIZE,		/* float -> int8 (graph input side, or after CPU nodes) */
	NPUQ_DEQUANTIZE,	/* int8 -> float (graph output side, or before CPU nodes) */
	NPUQ_CPU,		/* a float node of the source graph, run on the CPU */
	NPUQ_OP_COUNT
};

struct npuq_conv {
	int k_h, k_w, stride_h, stride_w, dil_h, dil_w;
	int pad_top, pad_left, pad_bottom, pad_right;
	int groups;
	int8_t *w;			/* [out_c][k_h][k_w][in_c/groups] */
	struct npu_qparam *q;		/* [out_c]: bias, mult, shift */
	float *w_scale;			/* [out_c], for reports / export */
	/*
	 * The float weights w was quantised from, in w's layout: kept by
	 * npuc_quantize only when asked (the compiler's compression passes
	 * rework w against them); NULL otherwise.
	 */
	float *w_f;
	int8_t w_zp;
	int8_t act_min, act_max;	/* fused ReLU / ReLU6 / clip */
};

struct npuq_matmul {
	struct npu_qparam q;		/* per tensor */
	int8_t act_min, act_max;
};

struct npuq_eltwise {
	enum npu_eltwise_op op;
	enum npu_bcast bcast;		/* of input 1 relative to input 0 */
	uint32_t a_mult, b_mult, out_mult;
	uint8_t a_shift, b_shift, out_shift;
	int8_t act_min, act_max;
	int8_t *b_const;		/* non-NULL: B is this constant (1 or c values) */
	float b_scale;			/* of b_const */
	int32_t b_zp;
};

struct npuq_pool {
	enum npu_pool_mode mode;
	int k_h, k_w, stride_h, stride_w;
	int pad_top, pad_left, pad_bottom, pad_right;
	int count_pad;
	uint32_t mult, shift;		/* as struct npu_cmd_pool */
	int8_t act_min, act_max;
};

struct npuq_lut {
	int8_t table[256];		/* out = table[in + 128] */
	char *fn;			/* "Sigmoid", ... for reports */
};

struct npuq_cpu {
	int src_node;			/* node index in npuq_graph.src (float IR) */
	char *reason;			/* why it is not on the NPU (for the report) */
};

struct npuq_node {
	enum npuq_op op;
	char *name;			/* from the source node(s) */
	int *in, n_in;			/* tensor indices */
	int *out, n_out;
	union {
		struct npuq_conv conv;
		struct npuq_matmul matmul;
		struct npuq_eltwise eltwise;
		struct npuq_pool pool;
		struct npuq_lut lut;
		struct npuq_cpu cpu;
	} u;
};

struct npuq_graph {
	struct npuq_tensor *t;
	int n_t, cap_t;
	struct npuq_node *nodes;
	int n_nodes, cap_nodes;
	int *inputs, n_inputs;		/* float or int8 graph inputs, in ONNX order */
	int *outputs, n_outputs;
	struct npuc_graph *src;		/* the float graph CPU nodes refer to (owned) */
};

struct npuq_graph *npuq_graph_new(void);
void npuq_graph_free(struct npuq_graph *g);
/* Adds a tensor (name copied). Returns its index or -1 (diag set). */
int npuq_add_tensor(struct npuq_graph *g, const char *name, int h, int w, int c, float scale,
		    int32_t zp, unsigned int flags, struct npuc_diag *d);
/*
 * Adds a node; in/out copied; the union part is copied from *params
 * (ownership of its pointers passes to the graph). Returns index or -1.
 */
int npuq_add_node(struct npuq_graph *g, enum npuq_op op, const char *name, const int *in,
		  int n_in, const int *out, int n_out, const void *params, struct npuc_diag *d);
const char *npuq_op_name(enum npuq_op op);
/* Frees a conv's weight, qparam and scale arrays and clears the pointers. */
void npuq_conv_free(struct npuq_conv *cv);
/*
 * Bytes of an int8 tensor (h*w*c), or of an NPUQ_T_FLOAT tensor (h*w*c
 * elements of npuq_tensor_dtype(): 4*h*w*c for float32).
 */
int64_t npuq_tensor_bytes(const struct npuq_tensor *t);

/*
 * Real multiplier -> (mult, shift) with mult in [2^30, 2^31) (or 0 for a
 * zero/denormal scale) and shift clamped to [NPU_SHIFT_MIN, NPU_SHIFT_MAX].
 * Returns 0, or -1 if the scale is negative, not finite or too large
 * (>= 2^31) to represent.
 */
int npuq_quantize_multiplier(double real, uint32_t *mult, uint32_t *shift);

/* ---- Helpers (added with qir.c) ---- */

/*
 * Notes on the functions above, as implemented:
 *  - npuq_add_tensor leaves onnx_rank 0, onnx_dims zero and nchw 0: see
 *    npuq_tensor_onnx_shape() for how that reads. It does not register
 *    graph inputs/outputs (use npuq_add_input/npuq_add_output).
 *  - npuq_add_node: params may be NULL for CONCAT, RESHAPE, QUANTIZE and
 *    DEQUANTIZE. On failure the pointers inside *params are freed too
 *    (ownership passed either way, as with npuc_node_add_attr).
 *  - npuq_quantize_multiplier: real = 0 gives mult 0, shift NPU_SHIFT_MAX.
 *    Below 2^-32 (where the normalised shift would exceed NPU_SHIFT_MAX)
 *    the shift is NPU_SHIFT_MAX and mult = round(real * 2^62) < 2^30, down
 *    to 0. With shift >= NPU_SHIFT_MIN = 1 and mult < 2^31 the largest
 *    representable value is just under 2^30: it returns -1 for real that
 *    rounds to 2^30 or more (not only >= 2^31).
 */

/* Appends tensor t to g->inputs / g->outputs and sets NPUQ_T_INPUT / _OUTPUT. */
int npuq_add_input(struct npuq_graph *g, int t, struct npuc_diag *d);
int npuq_add_output(struct npuq_graph *g, int t, struct npuc_diag *d);

/*
 * The ONNX-visible shape of a tensor (graph boundary, CPU operands, qref
 * observer values): onnx_rank/onnx_dims when onnx_rank > 0 (every dim
 * >= 1, product h*w*c; nchw requires rank 4 dims (1, c, h, w)); when
 * onnx_rank is 0, a scalar if h*w*c == 1, else rank 3 (h, w, c).
 * Returns 0, or -1 (diag set) if the ONNX shape is inconsistent.
 */
int npuq_tensor_onnx_shape(const struct npuq_tensor *t, int *rank, int64_t *dims,
			   struct npuc_diag *d);

/*
 * The element type of tensor t with the defaults of npuq_tensor.dtype
 * applied: I8 or U8 for int8 tensors; F32, I32, I64 or BOOL for
 * NPUQ_T_FLOAT tensors. NPUC_DT_UNDEF when t->dtype does not fit the kind
 * of tensor (e.g. F32 on an int8 tensor, U8 or F16 on a float one).
 */
enum npuc_dtype npuq_tensor_dtype(const struct npuq_tensor *t);

/*
 * CONCAT requantisation of one input (tensor in) into the output (out).
 * Every output element is npu_requant(q - in->zp, q, out->zp, -128, 127)
 * with *q = { bias 0, (mult, shift) = npuq_quantize_multiplier(
 * in->scale / out->scale) } - a single rounding, so lowering realises it
 * exactly with a depthwise 1x1 CONV (weights 1, w_zp 0, in_zp = in->zp,
 * per-tensor *q) writing the channel slice (out_pix_stride = out c).
 * Returns 1 when scale and zero point are equal (then the requant is the
 * identity, *q = {0, 2^30, 30}, and a plain copy is exact), 0 when a
 * rescale is needed, -1 when the scales are not positive finite or the
 * ratio is not representable (>= 2^30).
 */
int npuq_concat_qparam(const struct npuq_tensor *in, const struct npuq_tensor *out,
		       struct npu_qparam *q);

#endif /* NPUC_QIR_H */
