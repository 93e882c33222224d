/* SPDX-License-Identifier: MIT */
/*
 * Teacher-guided, one-shot weight compression on calibration data: GPTQ
 * (error-compensated quantisation, Frantar et al. 2022) and SparseGPT
 * (pruning with the same compensation, Frantar & Alistarh 2023). Both are
 * Optimal Brain Surgeon updates driven by the Hessian of a layer's
 * reconstruction error, H = sum over calibration positions of x x^T (x
 * the layer's input patch), so no training framework is needed.
 *
 * npuc_gptq works on the qgraph right after quantisation, one CONV at a
 * time in execution order (later layers see the inputs the reworked
 * earlier ones produce: the quantised model's own activations, run by
 * qref). For each layer and group:
 *
 *   target  the float weights (npuq_conv.w_f; with `dense`, the unpruned
 *           model's, so pruning's error is compensated too), rows = output
 *           channels, columns = the K = k_h * k_w * in_c/groups inputs in
 *           the qgraph's weight order;
 *   H       from the calibration samples, damped by damp * mean(diag H);
 *           an input that is always 0 gets H_jj = 1 and weight 0;
 *   V       upper triangular with H = V V^T (npuc_gptq_factor);
 *   columns j = 0..K-1: q_j = the grid value nearest w_j / scale (0 where
 *           the mask prunes), then w_m += (w_j - scale q_j) V_jm / V_mm for
 *           m > j: the later weights absorb the error. This is GPTQ's
 *           update (w_m -= e_j / U_jj * U_jm with U^T U = H^-1, U = V^-1)
 *           without forming the inverse, i.e. Babai's nearest plane on the
 *           lattice of V (the two coincide: Chen et al. 2025).
 *
 * The grid is -127..127 at the layer's existing per-channel scales, or,
 * after weight sharing (cluster.h), the layer's shared values, so the
 * codebook survives. The mask is the pruned model's zeros (the positions
 * npuc --prune chose by magnitude) or, with sparsegpt, chosen during the
 * sweep by OBS saliency w_j^2 / U_jj^2 = (w_j V_jj)^2 on the compensated weights: per
 * block of 128 columns the layer's zero count pro rata (unstructured), or
 * the M - N least salient of every M consecutive columns of a row (N:M).
 * Biases are not touched: run bias correction after (sqnr.h).
 *
 * Cost per layer: K^3 / 6 multiply-adds for the factorisation (one
 * Cholesky, of the reversed H), rows * K^2 / 2 for the sweep, positions *
 * K^2 / 2 per sample for H (zero inputs skipped). Deterministic:
 * fixed summation orders, no threads.
 */
#ifndef NPUC_GPTQ_H
#define NPUC_GPTQ_H

#include <stdint.h>

#include "calib_data.h"
#include "qir.h"

struct npuc_gptq_opts {
	int sparsegpt;			/* choose the pruned weights (needs a mask to size) */
	int nm_n, nm_m;			/* sparsegpt N:M (0: unstructured) */
	int64_t samples;		/* calibration samples for H (0: NPUC_GPTQ_SAMPLES) */
	double damp;			/* fraction of mean(diag H) added (0: 0.01) */
	int shared_grid;		/* quantise onto each layer's current values (after
					 * weight sharing) instead of -127..127 */
};

#define NPUC_GPTQ_SAMPLES 128

struct npuc_gptq_stats {
	int layers;
	int64_t samples;
	/* sum over layers of (w - s q)^T H (w - s q), before (round to nearest) and after */
	double err_rtn, err_gptq;
	int64_t zeros, weights;		/* after */
};

/*
 * Reworks the int8 weights of every CONV of q that kept its float weights
 * (npuc_quant_options.keep_float_weights). dense (may be NULL) is the
 * unpruned model quantised the same way (same nodes): its w_f are the
 * targets. 0 or -1 (diag).
 */
int npuc_gptq(struct npuq_graph *q, const struct npuq_graph *dense,
	      const struct npuc_calib_set *sets, int n_sets, const struct npuc_gptq_opts *o,
	      struct npuc_gptq_stats *st, struct npuc_diag *d);

/*
 * h (k x k, row-major, symmetric positive definite) -> the upper
 * triangular V with V V^T = h, in place (the lower triangle is zeroed).
 * 0, or -1 when h is not positive definite (h is then undefined).
 */
int npuc_gptq_factor(double *h, int k);

/* (w - s q)^T h (w - s q) for one row (h full, k x k). */
double npuc_gptq_row_error(const double *h, const double *w, const int8_t *q, double s, int k);

#endif /* NPUC_GPTQ_H */
