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

struct npuc_prune_opts {
	float ratio;			/* magnitude pruning: fraction in [0, 1); 0 = off */
	int per_layer;			/* ratio in each layer instead of one threshold */
	int nm_n, nm_m;			/* N:M, 1 <= N < M <= 64; 0 = off */
};

struct npuc_prune_stats {
	int layers;			/* weight tensors pruned */
	int skipped;			/* weight constants with other uses (left dense) */
	int64_t weights;		/* their elements */
	int64_t zeros_before, zeros_after;
};

/* Whether the options ask for anything; -1 (diag set) if they are out of range. */
int npuc_prune_enabled(const struct npuc_prune_opts *o, struct npuc_diag *d);
/* Parses "N:M" (e.g. "2:4") into o. 0 or -1 (diag set). */
int npuc_prune_parse_nm(const char *s, struct npuc_prune_opts *o, struct npuc_diag *d);
/* Prunes g's weights in place. st may be NULL. 0 or -1 (diag set). */
int npuc_prune(struct npuc_graph *g, const struct npuc_prune_opts *o, struct npuc_prune_stats *st,
	       struct npuc_diag *d);

#endif /* NPUC_PRUNE_H */
