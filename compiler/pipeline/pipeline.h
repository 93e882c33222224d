/* SPDX-License-Identifier: MIT */
/*
 * npuc's whole compilation, as one call: what the npuc command runs, and
 * what tests and tools reuse.
 *
 *   ONNX file -> import -> shape inference
 *     pre-quantised (QDQ / QOperator) model -> qdq_import
 *     float model -> passes (folding, BatchNorm, fusion) -> pruning -> calibration ->
 *                    quantisation -> weight sharing -> optional bias correction
 *                    (against the unpruned model when pruning: the teacher)
 *   -> qgraph -> lowering -> .npub
 */
#ifndef NPUC_PIPELINE_H
#define NPUC_PIPELINE_H

#include <stdio.h>

#include "calib_data.h"
#include "calib_observe.h"
#include "cluster.h"
#include "npub.h"
#include "npusim.h"
#include "prune.h"
#include "qir.h"

#define NPUC_VERSION "0.1.0"

struct npuc_compile_opts {
	const char *model_path;		/* ONNX input (required) */
	/* Calibration (float models only). */
	const char *calib_path;		/* .npy file, directory of .npy, or IDX (.gz) */
	int calib_random;		/* explicit opt-in to random calibration data */
	int64_t calib_limit;		/* samples used; 0 = NPUC_DEFAULT_CALIB_LIMIT */
	struct npuc_calib_opts pre;	/* preprocessing: scale, mean, std */
	struct npuc_calib_cfg method;	/* minmax / percentile / entropy / mse */
	/* Compression (float models only): pruning before calibration. */
	struct npuc_prune_opts prune;
	int equalize;			/* cross-layer equalisation (equalize.h) */
	float prune_filters;		/* filter pruning: fraction of each Conv's filters (0 = off) */
	int cluster;			/* weight sharing: shared values per layer (0 = off) */
	int gptq;			/* GPTQ rounding after quantisation (gptq.h) */
	int sparsegpt;			/* and SparseGPT's choice of the pruned weights */
	int64_t gptq_samples;		/* 0 = NPUC_GPTQ_SAMPLES */
	int no_compress;		/* store weights raw (a target without DMA_DECOMPRESS) */
	int per_tensor;			/* per-tensor weights instead of per-channel */
	int bias_correction;
	int sqnr;			/* print the per-layer SQNR table */
	/* Target. */
	struct npusim_config hw;
	/* What the user asked for, recorded in the .npub metadata. */
	const char *cmdline;
};

#define NPUC_DEFAULT_CALIB_LIMIT 500

void npuc_compile_opts_default(struct npuc_compile_opts *o);

struct npuc_compiled {
	struct npuq_graph *qgraph;	/* owns the float graph too (qgraph->src) */
	struct npub_model *model;
};

/*
 * Compiles o->model_path. Progress and reports go to log (may be NULL).
 * 0 or -1 (diag set). On success free the result with npuc_compiled_free.
 */
int npuc_compile(const struct npuc_compile_opts *o, FILE *log, struct npuc_compiled *out,
		 struct npuc_diag *d);
/*
 * The same on an ONNX model already in memory (buf, len; borrowed):
 * o->model_path only names the model (metadata, messages) and may be NULL.
 */
int npuc_compile_mem(const struct npuc_compile_opts *o, const void *buf, size_t len, FILE *log,
		     struct npuc_compiled *out, struct npuc_diag *d);
void npuc_compiled_free(struct npuc_compiled *c);
/*
 * Per CONV layer: int8 weights, share of zeros, distinct values, bytes
 * stored in WEIGHTS (compressed blocks included) against raw int8 plus
 * quantisation parameters.
 */
void npuc_print_weight_report(FILE *f, const struct npuc_compiled *c);

#endif /* NPUC_PIPELINE_H */
