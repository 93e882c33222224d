/* SPDX-License-Identifier: MIT */
/*
 * npuc float reference executor.
 *
 * Runs a graph in the IR (ir.h) on the host with ONNX semantics: float
 * tensors are dense row-major float32, integer tensors keep their type.
 * It is the ground truth for calibration (observe every tensor), for the
 * per-layer SQNR report and for checking the importer against ONNX's own
 * expected outputs. Speed is secondary: plain loops, no threads.
 *
 * Shapes are computed from the actual values at run time; where the graph
 * declares a type or (partially) known shape for a tensor, the computed
 * value must agree with it or the run fails (this checks shape inference).
 */
#ifndef NPUC_REF_FLOAT_H
#define NPUC_REF_FLOAT_H

#include <stdint.h>

#include "ir.h"

/*
 * npuc_ref_run's result when the graph is valid but uses something this
 * executor does not implement (unknown op, training-mode BatchNorm or
 * Dropout, an unsupported element type or mode); -1 means invalid graph or
 * values. The diag names the node either way.
 */
#define NPUC_REF_UNSUPPORTED (-2)

/* A run-time tensor value. */
struct npuc_value {
	enum npuc_dtype dtype;		/* F32, U8, I8, I32, I64 or BOOL (1 byte) */
	int rank;			/* 0 = scalar */
	int64_t dims[NPUC_MAX_RANK];
	int64_t numel;			/* product of dims (1 for a scalar) */
	void *data;			/* numel * npuc_dtype_size(dtype) bytes */
	int owned;			/* data is freed by npuc_value_free() */
};

/* Allocates zeroed data for the given type and shape (owned). 0 or -1 (diag set). */
int npuc_value_alloc(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		     struct npuc_diag *d);
/* A non-owning view of caller memory (for inputs). 0 or -1 (bad shape). */
int npuc_value_wrap(struct npuc_value *v, enum npuc_dtype dt, int rank, const int64_t *dims,
		    const void *data, struct npuc_diag *d);
/* Deep copy into *dst (owned). */
int npuc_value_copy(struct npuc_value *dst, const struct npuc_value *src, struct npuc_diag *d);
/* Frees owned data and clears *v. Safe on a zeroed value. */
void npuc_value_free(struct npuc_value *v);

/*
 * Observer: called once for every graph input (node = -1) and then for every
 * tensor a node produces, right after that node ran, in execution order.
 * The value is only valid during the call (copy it to keep it). Returning
 * nonzero aborts the run (npuc_ref_run returns -1 with a diag).
 */
typedef int (*npuc_ref_observe_fn)(void *ctx, const struct npuc_graph *g, int node, int tensor,
				   const struct npuc_value *v);

struct npuc_ref_trace {
	npuc_ref_observe_fn observe;
	void *ctx;
};

/*
 * Runs the graph. inputs[i] is the value of graph input g->inputs[i]
 * (borrowed, not modified). outputs[i] receives the value of graph output
 * g->outputs[i] (owned: release each with npuc_value_free; all are cleared
 * on failure). trace may be NULL. Returns 0, -1 or NPUC_REF_UNSUPPORTED
 * (diag set).
 */
int npuc_ref_run(const struct npuc_graph *g, const struct npuc_value *inputs,
		 struct npuc_value *outputs, const struct npuc_ref_trace *trace,
		 struct npuc_diag *d);

/*
 * Float convenience wrapper: every graph input and output must be F32 and
 * the inputs' shapes fully known in the graph. inputs[i] points at the
 * numel floats of graph input i; outputs[i] receives a malloc'd array
 * (caller frees) holding graph output i. Returns as npuc_ref_run.
 */
int npuc_ref_float_run(const struct npuc_graph *g, const float *const *inputs, float **outputs,
		       const struct npuc_ref_trace *trace, struct npuc_diag *d);

/* 1 if the executor implements op_type in domain ("" or "ai.onnx"), else 0. */
int npuc_ref_op_supported(const char *op, const char *domain);
/*
 * Checks every node of the graph; returns 0 if all ops are supported, else
 * -1 with the first unsupported op named in the diag.
 */
int npuc_ref_graph_supported(const struct npuc_graph *g, struct npuc_diag *d);

#endif /* NPUC_REF_FLOAT_H */
