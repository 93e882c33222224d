/* SPDX-License-Identifier: MIT */
/*
 * Float graph rewrites run before calibration and quantisation.
 *
 * Every pass keeps the graph executable by the float reference executor
 * (ref_float.h) with the same results up to float rounding, keeps tensor
 * indices stable (tensors are never removed: a tensor no node uses any
 * more just stays unused, its constant data released) and leaves the
 * nodes topologically sorted. Graph input and output names never change.
 *
 * npuc_pass_fold (pass_fold.c):
 *  - constant folding: a node whose inputs are all constant is evaluated
 *    with npuc_ref_run and its outputs become constants (Reshape, Flatten,
 *    Transpose, Unsqueeze... of weights, shape arithmetic). Shape of a
 *    tensor whose shape is fully known folds too. Not folded: QuantizeLinear
 *    / DequantizeLinear / DynamicQuantizeLinear (QDQ recognition wants the
 *    int8 weights), ops the executor does not implement, and results above
 *    NPUC_FOLD_MAX_BYTES.
 *  - BatchNormalization (inference form) folding into the preceding Conv
 *    or Gemm when that node has constant weights and its output feeds
 *    only the BatchNormalization; a remaining 4-D BatchNormalization
 *    becomes an equivalent depthwise 1x1 Conv (group = channels).
 *  - Identity and Dropout (inference: no used mask output, training_mode
 *    absent or constant false) removal. A removed node whose output is a
 *    graph output hands that name to the producer of its input instead;
 *    when that is impossible (the input is a graph input or output) the
 *    node stays.
 *
 * npuc_pass_fuse (pass_fuse.c): marks a Relu or Clip (constant bounds)
 * whose input is produced by a Conv, Gemm, MatMul, Add, Sub or Mul as fused
 * into that producer, when the producer's output feeds nothing else and is
 * not a graph output. Nothing is removed (so the float graph, and
 * calibration on it, is unchanged); the producer gets the attributes
 *   NPUC_ATTR_ACT_MIN / NPUC_ATTR_ACT_MAX (FLOAT, the real clamp range;
 *       -/+INFINITY for an open side: Relu is [0, +inf)),
 *   NPUC_ATTR_ACT_OUT (INT, index of the activation's output tensor: the
 *       tensor the fused node really produces),
 *   NPUC_ATTR_ACT_OP  (STRING, "Relu" / "Clip", for reports),
 * and the activation node gets NPUC_ATTR_FUSED (INT 1). Quantisation emits
 * the producer with act_min/act_max writing the activation's output and
 * skips the activation node (or, if the producer ends up on the CPU,
 * quantises the activation as a node of its own). LeakyRelu, Sigmoid, ...
 * become LUT nodes when quantised, so they are not fused.
 */
#ifndef NPUC_PASSES_H
#define NPUC_PASSES_H

#include <stdint.h>

#include "ir.h"

#define NPUC_ATTR_ACT_MIN	"npuc.act_min"
#define NPUC_ATTR_ACT_MAX	"npuc.act_max"
#define NPUC_ATTR_ACT_OUT	"npuc.act_out"
#define NPUC_ATTR_ACT_OP	"npuc.act_op"
#define NPUC_ATTR_FUSED		"npuc.fused"

/* Largest constant a folded node may produce. */
#define NPUC_FOLD_MAX_BYTES	(64u << 20)

struct npuc_pass_stats {
	int folded;		/* nodes replaced by constants */
	int bn_folded;		/* BatchNormalization folded into Conv / Gemm */
	int bn_to_conv;		/* BatchNormalization turned into a depthwise Conv */
	int removed;		/* Identity / Dropout removed */
	int fused;		/* activations fused */
};

/* All of pass_fold.c, in the order: identity, constants, BatchNorm, constants. */
int npuc_pass_fold(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d);
int npuc_pass_fold_constants(struct npuc_graph *g, struct npuc_pass_stats *st,
			     struct npuc_diag *d);
int npuc_pass_fold_batchnorm(struct npuc_graph *g, struct npuc_pass_stats *st,
			     struct npuc_diag *d);
int npuc_pass_remove_identity(struct npuc_graph *g, struct npuc_pass_stats *st,
			      struct npuc_diag *d);

int npuc_pass_fuse(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d);

/* npuc_pass_fold then npuc_pass_fuse. st may be NULL everywhere. */
int npuc_passes_run(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d);

/* ---- helpers shared by the passes and quantisation ---- */

/*
 * uses[t] = number of node inputs reading tensor t plus the number of
 * times t is listed as a graph output. uses has g->n_t entries.
 */
void npuc_tensor_uses(const struct npuc_graph *g, int *uses);
/* 1 if tensor t is a graph output. */
int npuc_tensor_is_output(const struct npuc_graph *g, int t);
/* 1 if tensor t (>= 0) holds constant data. */
int npuc_tensor_is_const(const struct npuc_graph *g, int t);
/* Frees n attributes and their array. */
void npuc_attrs_free(struct npuc_attr *a, int n);
/*
 * Removes the nodes with dead[i] != 0 (freeing them), keeps the order of
 * the rest and fixes every tensor's producer index. Tensors produced by a
 * removed node lose their producer.
 */
void npuc_graph_remove_nodes(struct npuc_graph *g, const unsigned char *dead);
/*
 * Fused activation of node n (see npuc_pass_fuse): returns 1 and fills
 * *lo, *hi, *out when n carries a consistent fusion, else 0.
 */
int npuc_node_fused_act(const struct npuc_graph *g, const struct npuc_node *n, float *lo,
			float *hi, int *out);

#endif /* NPUC_PASSES_H */
