/* SPDX-License-Identifier: MIT */
/*
 * Weight pruning of a float graph, before calibration and quantisation
 * (so the ranges are those of the pruned model).
 *
 * What is pruned: the constant weights of Conv (input 1, [OC, IC/g, k...]),
 * Gemm (B, either transB) and 2-D MatMul (constant B), when every use of
 * the constant is as such a weight. Biases never.
 *
 * Unstructured magnitude pruning zeroes the `ratio` fraction of weights
 * with the smallest magnitude: over all pruned layers together (one
 * threshold, layers lose different fractions) or in each layer alone
 * (per_layer). Weights that already are zero count towards the ratio.
 * Ties at the threshold are cut in element order, so exactly
 * floor(ratio * n) weights end up zero (more if more already were).
 *
 * With sensitivity, the magnitude ratio is met over all layers together
 * but each layer's share is chosen by measurement: every layer alone is
 * pruned (magnitude) to 10 %, 20 % .. 90 % and the relative error of the
 * graph outputs, sum (y - y_dense)^2 / sum y_dense^2 over data's samples,
 * recorded; then, from all dense, the layer whose next step costs the
 * least error per weight zeroed takes it, until ratio * n weights are zero
 * (the last step cut to make it exact). Layers that barely matter lose
 * most, sensitive ones (a first conv of 9 weights per filter) little.
 * Cost: 9 * layers * samples float runs.
 *
 * N:M structured pruning keeps the N largest magnitudes (ties: the lower
 * index) of every M consecutive weights along the reduction axis, the
 * axis the NPU's MAC array sums over: input channels of a Conv (at each
 * kernel position and output channel), K of a Gemm / MatMul. A trailing
 * group shorter than M keeps at most N. Both may be asked for: N:M first,
 * then the magnitude pruning up to ratio.
 */
#ifndef NPUC_PRUNE_H
#define NPUC_PRUNE_H

#include <stdint.h>

#include "ir.h"
#include "ref_float.h"

struct npuc_prune_opts {
	float ratio;			/* magnitude pruning: fraction in [0, 1); 0 = off */
	int per_layer;			/* ratio in each layer instead of one threshold */
	int nm_n, nm_m;			/* N:M, 1 <= N < M <= 64; 0 = off */
	int sensitivity;		/* per-layer ratios from a sensitivity analysis */
};

struct npuc_prune_stats {
	int layers;			/* weight tensors pruned */
	int skipped;			/* weight constants with other uses (left dense) */
	int64_t weights;		/* their elements */
	int64_t zeros_before, zeros_after;
	/* with sensitivity: each layer's weight tensor, ratio and measured output error */
	struct npuc_prune_layer {
		const char *name;	/* the graph's tensor name (borrowed) */
		double ratio, err;
	} *layer;			/* [layers]; npuc_prune_stats_free */
};

/*
 * Samples pruning may measure on (filter pruning's channel means, the
 * sensitivity analysis): the callback gives the graph inputs of sample s
 * (values that borrow their data).
 */
struct npuc_prune_data {
	int64_t n_samples;
	int (*sample)(void *ctx, int64_t s, struct npuc_value *inputs, struct npuc_diag *d);
	void *ctx;
};

/* Whether the options ask for anything; -1 (diag set) if they are out of range. */
int npuc_prune_enabled(const struct npuc_prune_opts *o, struct npuc_diag *d);
/* Parses "N:M" (e.g. "2:4") into o. 0 or -1 (diag set). */
int npuc_prune_parse_nm(const char *s, struct npuc_prune_opts *o, struct npuc_diag *d);
/*
 * Prunes g's weights in place. data (may be NULL) is needed by the
 * sensitivity analysis. st may be NULL (else free with
 * npuc_prune_stats_free). 0 or -1 (diag set).
 */
int npuc_prune(struct npuc_graph *g, const struct npuc_prune_opts *o,
	       const struct npuc_prune_data *data, struct npuc_prune_stats *st,
	       struct npuc_diag *d);
void npuc_prune_stats_free(struct npuc_prune_stats *st);

/*
 * Filter pruning (Li et al. 2017, "Pruning Filters for Efficient
 * ConvNets"), which shrinks the graph: in every Conv (one group, constant
 * float weights) whose output channels reach, through channel-wise ops
 * only (activations, pooling), exactly one layer summing over them (a
 * plain Conv, or a Gemm behind Flatten), the floor(ratio * OC) output
 * channels whose filters have the smallest L1 norm (ties: the lower
 * channel; at least one is kept) are removed: from the Conv's weights and
 * bias, the shapes along the way, and the reading layer's weights (the
 * Conv's input channels, the Gemm's K rows of those channels). Every
 * layer loses the same fraction. What a removed channel carried on
 * average still reaches the reader through its bias (created if absent):
 * the channel's mean over data's samples (float runs of the unpruned
 * graph), or with no data the constant act(bias) a filter of zeros gives. A Conv whose channels go elsewhere (a
 * graph output, a residual Add, a Concat, several readers) is left whole.
 */
struct npuc_filter_stats {
	int layers;			/* Convs pruned */
	int skipped;			/* Convs left whole (their channels go elsewhere) */
	int64_t filters, removed;	/* output channels of those layers, and removed */
	int compensated;		/* readers whose bias took the removed constants */
};

int npuc_prune_filters(struct npuc_graph *g, float ratio, const struct npuc_prune_data *data,
		       struct npuc_filter_stats *st, struct npuc_diag *d);

#endif /* NPUC_PRUNE_H */
