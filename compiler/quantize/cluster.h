/* SPDX-License-Identifier: MIT */
/*
 * Weight sharing: each CONV layer's int8 weights clustered into at most K
 * shared values (1-D k-means on the int8 values, in the qgraph, after
 * quantisation and before bias correction, so bias correction sees the
 * shared weights). A value 0 present in the layer (pruned weights) stays
 * a cluster centre of its own, so pruning survives. With K <= 16 the
 * lowerer stores weight blocks as PALETTE4 (a 16-entry codebook and 4-bit
 * indices) that DMA_DECOMPRESS decodes; larger K only reduces the number
 * of distinct values.
 */
#ifndef NPUC_CLUSTER_H
#define NPUC_CLUSTER_H

#include <stdint.h>

#include "qir.h"

struct npuc_cluster_stats {
	int layers;			/* CONV layers clustered */
	int64_t weights;		/* their weights */
	int max_values;			/* most distinct values a layer has after */
};

/* Clusters every CONV's weights into at most k values (2 <= k <= 256). 0 or -1 (diag). */
int npuc_cluster_weights(struct npuq_graph *q, int k, struct npuc_cluster_stats *st,
			 struct npuc_diag *d);

#endif /* NPUC_CLUSTER_H */
