/* SPDX-License-Identifier: MIT */
/*
 * npuc per-layer quantisation error report (SQNR) and bias correction.
 *
 * Both run the float graph (ref_float.h) and the qgraph (qref.h) over the
 * same calibration samples and compare, tensor by tensor, every qgraph
 * tensor (int8 graph inputs and every node output) that has a float-graph
 * tensor of the same name, or of its name without the ":q" / ":f" suffix
 * quantize.h gives int8 copies of boundary tensors and float copies of CPU
 * operands. Float qgraph inputs are the samples themselves and are not
 * listed. An int8 value is dequantised (scale * (q - zp)); a float qgraph
 * tensor (CPU side, graph outputs) is compared as is, so its error is the
 * quantisation error accumulated up to it.
 *
 * Element order: the qgraph value is brought to its storage order (NHWC
 * (h, w, c); qref gives nchw tensors as NCHW). The float value (row-major
 * ONNX order) is either in that same order or NCHW-ordered relative to it:
 * for an nchw tensor, for a tensor whose bytes come unchanged through
 * RESHAPE / QUANTIZE / DEQUANTIZE from an nchw tensor (a Flatten before a
 * Gemm with permuted weights), or, in a qgraph without ONNX shapes, when
 * the float value is (1, c, h, w). Where both orders are possible the
 * first sample decides (the order with the smaller error is kept; they
 * differ only with more than one channel and pixel). A name match with a
 * different element count is listed as a shape mismatch, not measured.
 *
 * SQNR in dB = 10 log10(sum x^2 / sum (x - dequant(q))^2), sums over all
 * elements of all samples (x the float value); +inf when the error is 0.
 *
 * Bias correction: for every CONV node whose output matches a float
 * tensor, the mean of (float - dequantised int8) per output channel over
 * all pixels and samples; applying it (npuc_quant_bias_correct, quantize.h)
 * adds round(mean_err[oc] / (in_scale * w_scale[oc])) to q[oc].bias
 * (saturated to int32): the systematic error moves into the bias at
 * accumulator scale. The matched tensor is the conv's output after its
 * fused activation, so only values whose float result lies at least 2
 * output steps inside [act_min, act_max] count (there the int8 result is
 * not clamped either, and the mean is the pre-activation error, unbiased
 * by ReLU clipping). npuc_bias_correct corrects one CONV at a time in
 * execution order, re-measuring after each (later layers see the
 * corrected earlier ones): one run over the samples per CONV.
 */
#ifndef NPUC_SQNR_H
#define NPUC_SQNR_H

#include <stdint.h>
#include <stdio.h>

#include "calib_data.h"
#include "ir.h"
#include "qir.h"

struct npuc_sqnr_row {
	int q_tensor;			/* qgraph tensor */
	int f_tensor;			/* float graph tensor of the same name */
	int q_node;			/* qgraph producer, -1 for graph inputs */
	int mismatch;			/* element counts differ: not measured */
	int64_t count;			/* elements compared */
	double sum_sig;			/* sum x^2 */
	double sum_err;			/* sum (x - dequant)^2 */
	double max_abs_err;
	double sqnr_db;		/* +inf: no error, -inf: no signal, NaN: not measured */
};

struct npuc_sqnr_report {
	struct npuc_sqnr_row *rows;	/* in qgraph execution order */
	int n_rows;
	int64_t samples;
};

/* Mean error per output channel of one CONV node. */
struct npuc_bias_stat {
	int q_node;
	int n_oc;
	double *sum_err;		/* [n_oc]: sum of (float - dequant) */
	int64_t *count;			/* [n_oc]: values summed */
};

struct npuc_bias_stats {
	struct npuc_bias_stat *convs;
	int n_convs;
};

/*
 * Runs both graphs over every sample of the sets (sets[i] feeds input i of
 * both graphs: fg and qg must have n_sets inputs in the same order; a
 * float qgraph input takes the sample as is, an int8 one the sample
 * quantised with its scale / zp). rep and/or bias may be NULL. On failure
 * both are left empty. 0 or -1 (diag set).
 */
int npuc_sqnr_measure(const struct npuq_graph *qg, const struct npuc_graph *fg,
		      const struct npuc_calib_set *sets, int n_sets,
		      struct npuc_sqnr_report *rep, struct npuc_bias_stats *bias,
		      struct npuc_diag *d);
void npuc_sqnr_report_free(struct npuc_sqnr_report *rep);
void npuc_bias_stats_free(struct npuc_bias_stats *bias);

/*
 * Prints the table (tensor, producing op, elements, SQNR dB, max |err|)
 * and the worst layer.
 */
void npuc_sqnr_print(const struct npuc_sqnr_report *rep, const struct npuq_graph *qg,
		     FILE *f);

/*
 * Applies measured bias corrections to the CONV nodes of qg. *n_changed (may
 * be NULL) receives the number of biases changed. 0 or -1 (diag set: stats
 * do not fit the graph, bad scales).
 */
int npuc_bias_apply(struct npuq_graph *qg, const struct npuc_bias_stats *bias, int *n_changed,
		    struct npuc_diag *d);
/* Sequential measure + apply over all CONVs (see above); *n_changed may be NULL. */
int npuc_bias_correct(struct npuq_graph *qg, const struct npuc_graph *fg,
		      const struct npuc_calib_set *sets, int n_sets, int *n_changed,
		      struct npuc_diag *d);

/*
 * The qgraph input values of sample s of the sets: float inputs wrap the
 * sample, int8 ones get it quantised into bufs[i] (sample_numel bytes
 * each). qin[i] borrow their data. 0 or -1 (diag).
 */
int npuc_q_sample_inputs(const struct npuq_graph *qg, const struct npuc_calib_set *sets,
			 int n_sets, int64_t s, int8_t **bufs, struct npuc_value *qin,
			 struct npuc_diag *d);

#endif /* NPUC_SQNR_H */
