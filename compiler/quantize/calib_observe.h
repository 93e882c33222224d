/* SPDX-License-Identifier: MIT */
/*
 * npuc activation range observers for post-training quantisation.
 *
 * The float reference executor (ref_float.h) runs the float graph over the
 * calibration set; its observer callback feeds every float32 tensor it
 * produces (and the graph inputs) to an observer, which turns the values
 * into a clipping range [lo, hi] per tensor for asymmetric int8
 * (real = scale * (q - zp), 256 levels). Every range contains 0, so zero
 * is exactly representable.
 *
 * Methods:
 *  - MINMAX: the running min and max (one pass over the data).
 *  - PERCENTILE (p, e.g. 99.99): hi is the p-th percentile of the values,
 *    lo the (100 - p)-th, read from the histogram with linear interpolation
 *    inside a bin. 100 gives min/max.
 *  - ENTROPY: TensorRT-style KL-divergence calibration. TensorRT folds |x|
 *    into 2048 bins over [0, max|x|] and for every threshold i >= 128
 *    compares the clipped distribution P (outliers added to the edge bin)
 *    with Q, P quantised to 128 levels (merged, then spread uniformly over
 *    P's nonzero bins), keeping the threshold of least KL(P||Q).
 *    Adaptation to asymmetric int8: the histogram spans [min(x,0), max(x,0)]
 *    (2048 bins by default) and a candidate range is a window of bins
 *    [a, b) at least 256 bins wide, quantised to 256 levels; outliers on
 *    both sides fold into the window's edge bins. The search first shrinks
 *    the full range towards 0 proportionally (keeping the data's
 *    negative/positive ratio; with min = 0 this is exactly the one-sided
 *    search with 256 levels, with symmetric data the symmetric one), then
 *    refines each edge separately with the other fixed. Zero-count bins of
 *    Q where P > 0 are smoothed to 1e-4 counts.
 *  - MSE: the same window search, minimising the expected squared error
 *    of quantise-dequantise over the histogram: each bin's mass is taken
 *    as uniform over the bin and the error integrated exactly against the
 *    quantiser of the window (scale (hi - lo) / 255, integer zero point,
 *    clamping outside), so both rounding and clipping error count.
 *
 * ENTROPY and MSE leave exact zeros out of their histograms: zero is
 * exactly representable (integer zero point), so its mass has no
 * quantisation error, and the spike of a ReLU output at 0 would otherwise
 * dominate KL (Q spreads a level's mass over its bins) and push the
 * search to the narrowest window.
 *
 * KL assumes a continuous density: other point masses (e.g. the constant
 * response to an image's uniform background before an activation) also
 * favour narrow windows whose levels are one bin wide. MSE and PERCENTILE
 * have no such bias.
 *
 * ENTROPY and MSE windows are at least 256 bins wide, so with the default
 * 2048 bins they clip a tensor's range by at most 8x (as TensorRT's 128 of
 * 2048 bins limit it to 16x); raise bins for more extreme tails. MSE is
 * the squared-error optimum: it keeps a few far outliers when clipping
 * them would cost more than the coarser step (ENTROPY clips those).
 *
 * Histogram methods need two passes over the data: pass 0 finds each
 * tensor's min and max, pass 1 fills histograms over that fixed range
 * (exact, and independent of the data order). npuc_calibrate() does all
 * of it. NaN and infinite values are ignored (counted in nonfinite).
 */
#ifndef NPUC_CALIB_OBSERVE_H
#define NPUC_CALIB_OBSERVE_H

#include <stdint.h>

#include "calib_data.h"
#include "ir.h"
#include "ref_float.h"

struct npuc_act_ranges;

enum npuc_calib_method {
	NPUC_CALIB_MINMAX,
	NPUC_CALIB_PERCENTILE,
	NPUC_CALIB_ENTROPY,
	NPUC_CALIB_MSE,
};

#define NPUC_CALIB_DEFAULT_BINS		2048
#define NPUC_CALIB_DEFAULT_PERCENTILE	99.99

struct npuc_calib_cfg {
	enum npuc_calib_method method;
	double percentile;		/* PERCENTILE, in (50, 100]; 0 = default 99.99 */
	int bins;			/* histogram bins, 256..65536; 0 = 2048 */
};

/* "minmax", "percentile", "entropy" (also "kl"), "mse" -> method; -1 if unknown. */
int npuc_calib_method_parse(const char *name);
const char *npuc_calib_method_name(enum npuc_calib_method m);

struct npuc_calib_obs;

/* An observer for the tensors of g. cfg NULL = MINMAX. NULL on error (diag set). */
struct npuc_calib_obs *npuc_calib_obs_new(const struct npuc_graph *g,
					  const struct npuc_calib_cfg *cfg, struct npuc_diag *d);
void npuc_calib_obs_free(struct npuc_calib_obs *o);

/* Passes over the data the method needs (1 or 2). */
int npuc_calib_obs_passes(const struct npuc_calib_obs *o);
/* Ends the current pass and starts the next (allocating histograms). 0 or -1. */
int npuc_calib_obs_next_pass(struct npuc_calib_obs *o, struct npuc_diag *d);
/* The trace to give npuc_ref_run (feeds every F32 tensor to o). */
void npuc_calib_obs_trace(struct npuc_calib_obs *o, struct npuc_ref_trace *tr);
/* Feeds n values of tensor t directly (what the trace does). 0 or -1 (bad t). */
int npuc_calib_obs_feed(struct npuc_calib_obs *o, int t, const float *x, int64_t n);

/*
 * The observed finite min / max of tensor t (pass 0) and the values that
 * were NaN or infinite. Returns 1, or 0 if no finite value was observed.
 */
int npuc_calib_obs_minmax(const struct npuc_calib_obs *o, int t, double *min, double *max,
			  int64_t *nonfinite);
/*
 * The calibrated range of tensor t after the last pass. Returns 1, or 0 if
 * nothing was observed for t (lo = hi = 0 then). A tensor that is always
 * 0 gets lo = hi = 0 (and returns 1).
 */
int npuc_calib_obs_range(const struct npuc_calib_obs *o, int t, float *lo, float *hi);

/*
 * Sets r->lo/hi/valid[t] for every observed tensor t (others are left as
 * they are). r must have been set up with npuc_act_ranges_init()
 * (quantize.h) for at least the graph's n_t entries. 0 or -1.
 */
int npuc_calib_obs_ranges(const struct npuc_calib_obs *o, struct npuc_act_ranges *r,
			  struct npuc_diag *d);

/*
 * Runs g with npuc_ref_run over every sample (sets[i] feeds graph input i;
 * n_sets == g->n_inputs, all sets the same nonzero sample count) for every
 * pass the observer still needs (calling npuc_calib_obs_next_pass
 * between passes). o must be fresh (pass 0) for g. 0 or -1 / the run's
 * NPUC_REF_UNSUPPORTED.
 */
int npuc_calib_run(struct npuc_calib_obs *o, const struct npuc_graph *g,
		   const struct npuc_calib_set *sets, int n_sets, struct npuc_diag *d);

/* npuc_calib_obs_new + npuc_calib_run + npuc_calib_obs_ranges (r as there). */
int npuc_calibrate(const struct npuc_graph *g, const struct npuc_calib_set *sets, int n_sets,
		   const struct npuc_calib_cfg *cfg, struct npuc_act_ranges *r,
		   struct npuc_diag *d);

/*
 * The same searches on a bare histogram of nb bins over [lo, hi] (counts
 * h[]), for tests and tools; lo <= 0 <= hi. levels = 256 for int8.
 */
void npuc_hist_percentile(const double *h, int nb, double lo, double hi, double pct,
			  double *rlo, double *rhi);
void npuc_hist_entropy(const double *h, int nb, double lo, double hi, int levels,
		       double *rlo, double *rhi);
void npuc_hist_mse(const double *h, int nb, double lo, double hi, int levels, double *rlo,
		   double *rhi);
/* Expected quantise-dequantise squared error per value of range [qlo, qhi]. */
double npuc_hist_qerr(const double *h, int nb, double lo, double hi, int levels, double qlo,
		      double qhi);

#endif /* NPUC_CALIB_OBSERVE_H */
