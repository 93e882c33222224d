/* SPDX-License-Identifier: MIT */
/* What prune.c shares with prune_sensitivity.c. */
#ifndef NPUC_PRUNE_INTERNAL_H
#define NPUC_PRUNE_INTERNAL_H

#include <stdint.h>

#include "ir.h"
#include "prune.h"

/*
 * A weight tensor as (outer, R, inner): element (o, r, i) at (o * R + r) *
 * inner + i, r running along the reduction axis.
 */
struct wlayout {
	int t;
	int64_t outer, R, inner;
};

/*
 * The prunable weights: every constant used only as the weight of Conv /
 * Gemm / MatMul nodes (a constant used otherwise too stays dense). -1 on
 * out of memory.
 */
int npuc_prune_find_weights(const struct npuc_graph *g, struct wlayout **out, int *n_out,
			    int *skipped);
/*
 * Zeroes the k smallest magnitudes among the n tensors' elements: below
 * the k-th smallest magnitude all of them, at it in element order until k.
 * 0 or -1 (out of memory).
 */
int npuc_prune_smallest(struct npuc_graph *g, const struct wlayout *w, int n, int64_t k);

/*
 * The sensitivity analysis (prune.h): per-layer zero counts k[n] summing
 * to target, and each layer's measured output error at its level. 0 or -1.
 */
int npuc_prune_sensitivity(struct npuc_graph *g, const struct wlayout *w, int n,
			   int64_t target, const struct npuc_prune_data *data, int64_t *k,
			   double *err_at, struct npuc_diag *d);

#endif /* NPUC_PRUNE_INTERNAL_H */
