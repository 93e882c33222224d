/* SPDX-License-Identifier: MIT */
/*
 * Channel chains: a Conv whose output channels reach, through channel-wise
 * ops only (activations, pooling), exactly one layer that sums over them
 * (a plain Conv, or a Gemm behind Flatten). Along such a chain channel c
 * stays channel c, so a pass may remove channels (filter pruning) or
 * rescale them (cross-layer equalisation) in the Conv and undo it in the
 * reader. Shared by prune_filters.c and equalize.c.
 */
#ifndef NPUC_CHANNEL_CHAIN_H
#define NPUC_CHANNEL_CHAIN_H

#include <stdint.h>

#include "ir.h"

/* Where a Conv's channels end up. */
struct npuc_chain {
	int conv;			/* the Conv whose channels these are */
	int path[16];			/* channel-wise tensors after it: [1, C, H, W] */
	int pnode[16];			/* pnode[i] maps path[i] to path[i + 1] */
	int n_path;
	int reader;			/* the node that sums over the channels */
	int flat;			/* Flatten output before a Gemm, or -1 */
	int64_t hw;			/* Gemm: pixels per channel in its K */
};

/*
 * Whether node n is a plain Conv: one group (any with grouped), a constant
 * float weight used only there (uses[]: npuc_tensor_uses), a bias absent
 * or likewise.
 */
int npuc_chain_conv(const struct npuc_graph *g, const int *uses, const struct npuc_node *n,
		    int grouped);

#define NPUC_CHAIN_HOMOGENEOUS	1u	/* only ops with f(s x) = s f(x), s > 0, between */
#define NPUC_CHAIN_GROUPED	2u	/* a grouped / depthwise Conv may read the channels */
/*
 * Follows Conv ci's output to its reader; 1 and *c filled when the chain
 * qualifies (flags: NPUC_CHAIN_*).
 */
int npuc_chain_follow(const struct npuc_graph *g, const int *uses, int ci, unsigned int flags,
		      struct npuc_chain *c);

#endif /* NPUC_CHANNEL_CHAIN_H */
