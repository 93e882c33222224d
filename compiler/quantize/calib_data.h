/* SPDX-License-Identifier: MIT */
/*
 * npuc calibration inputs for post-training quantisation.
 *
 * Sources: see array_file.h (.npy files, IDX files plain or gzip) and
 * directories: every regular file whose name ends in ".npy", in strcmp
 * order of the names; other files are ignored.
 *
 * Sample shape. A calibration set feeds one graph input whose shape (batch
 * included, e.g. [1, 1, 28, 28]) is fixed when the set is created. An
 * array from a file is either one sample or a batch of samples:
 *  - one sample if its dims, ignoring every dimension of extent 1, equal
 *    the input's dims ignoring extent-1 dimensions ([28, 28] or
 *    [1, 28, 28] for a [1, 1, 28, 28] input);
 *  - otherwise N samples if its first dimension is N and the rest, ignoring
 *    extent-1 dimensions, match likewise ([N, 28, 28] or [N, 1, 28, 28]).
 * Element order is kept (row-major); nothing is transposed.
 *
 * Preprocessing, applied to every element x of a sample:
 *      x' = (x * scale - mean[c]) / std[c]
 * where c is the element's channel: dimension 1 of the input shape (NCHW,
 * or [N, C] for rank 2). mean and std each hold either one value (used
 * for every channel) or exactly C values; by default scale = 1, mean = 0,
 * std = 1. Example (ImageNet-style uint8 RGB): scale = 1/255,
 * mean = 0.485,0.456,0.406, std = 0.229,0.224,0.225.
 *
 * Random calibration data exists only through npuc_calib_add_random(),
 * which always prints a warning to stderr: ranges calibrated on noise do
 * not match real data.
 */
#ifndef NPUC_CALIB_DATA_H
#define NPUC_CALIB_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "array_file.h"
#include "ir.h"

/* Largest calibration set accepted. */
#define NPUC_CALIB_MAX_BYTES	(1ull << 31)
/* Longest mean / std lists. */
#define NPUC_CALIB_MAX_CH	64

struct npuc_calib_opts {
	float scale;			/* 0 means 1 */
	int n_mean, n_std;		/* 0 (default), 1 or C */
	float mean[NPUC_CALIB_MAX_CH];
	float std[NPUC_CALIB_MAX_CH];
	int64_t limit;			/* maximum samples kept; 0 = no limit */
};

/* The preprocessed samples for one float graph input. */
struct npuc_calib_set {
	int rank;			/* input shape, batch dimension included */
	int64_t dims[NPUC_MAX_RANK];
	int64_t sample_numel;
	int64_t n;			/* samples held */
	float *data;			/* n * sample_numel floats */
	int64_t cap;			/* samples allocated */
	struct npuc_calib_opts opts;
	int n_ch;			/* channel count used for mean / std */
};

/*
 * Creates an empty set for an input of the given shape (every dim known
 * and > 0). opts may be NULL (defaults). Checks mean / std against the
 * channel count and std != 0. 0 or -1 (diag set; *s zeroed).
 */
int npuc_calib_set_init(struct npuc_calib_set *s, int rank, const int64_t *dims,
			const struct npuc_calib_opts *opts, struct npuc_diag *d);
/*
 * Same for graph input number input_idx of g, which must be F32. An
 * unknown leading (batch) dimension counts as 1; others must be known.
 */
int npuc_calib_set_init_input(struct npuc_calib_set *s, const struct npuc_graph *g,
			      int input_idx, const struct npuc_calib_opts *opts,
			      struct npuc_diag *d);
void npuc_calib_set_free(struct npuc_calib_set *s);

/* 1 once the set holds opts.limit samples (never with no limit). */
int npuc_calib_set_full(const struct npuc_calib_set *s);
/* Sample i (0 <= i < s->n): sample_numel floats. */
const float *npuc_calib_sample(const struct npuc_calib_set *s, int64_t i);

/*
 * Appends the samples of an array (shape rule above), preprocessed, up to
 * the limit. what names the source in messages. Returns the number of
 * samples added (>= 0) or -1.
 */
int64_t npuc_calib_add_array(struct npuc_calib_set *s, const struct npuc_array *a,
			     const char *what, struct npuc_diag *d);
/* Appends a file (.npy or IDX, plain or gzip). Samples added or -1. */
int64_t npuc_calib_add_file(struct npuc_calib_set *s, const char *path, struct npuc_diag *d);
/* Appends every *.npy of a directory in name order. Samples added or -1. */
int64_t npuc_calib_add_dir(struct npuc_calib_set *s, const char *path, struct npuc_diag *d);
/* A directory or a file. Samples added or -1. */
int64_t npuc_calib_add_path(struct npuc_calib_set *s, const char *path, struct npuc_diag *d);

/*
 * Appends n samples of uniform pseudo-random values in [lo, hi] (model
 * input values, not preprocessed; deterministic for a given seed), after
 * printing a warning to stderr. Only for when no real data exists: a
 * model calibrated on noise is usually much less accurate. Samples added
 * or -1.
 */
int64_t npuc_calib_add_random(struct npuc_calib_set *s, int64_t n, uint64_t seed, float lo,
			      float hi, struct npuc_diag *d);

/*
 * Parses a comma-separated list of finite floats ("0.485,0.456,0.406";
 * also accepts a single value) into out[max]; *n receives the count.
 * Helper for command-line options. 0 or -1.
 */
int npuc_calib_parse_floats(const char *str, float *out, int max, int *n, struct npuc_diag *d);

#endif /* NPUC_CALIB_DATA_H */
