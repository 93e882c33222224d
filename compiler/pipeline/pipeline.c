// SPDX-License-Identifier: MIT
/* npuc's compilation pipeline (pipeline.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "equalize.h"
#include "gptq.h"
#include "lower.h"
#include "onnx_import.h"
#include "passes.h"
#include "npub.h"
#include "pipeline.h"
#include "qdq_import.h"
#include "quantize.h"
#include "shape_infer.h"
#include "sqnr.h"

void npuc_compile_opts_default(struct npuc_compile_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->method.method = NPUC_CALIB_MINMAX;
	npusim_config_default(&o->hw);
}

void npuc_compiled_free(struct npuc_compiled *c)
{
	if (!c)
		return;
	npuq_graph_free(c->qgraph);
	npub_model_free(c->model);
	memset(c, 0, sizeof(*c));
}

/*
 * Reads a whole file (the model: hashed for the metadata, then parsed).
 * Messages leave out the path: the caller names the model.
 */
static int read_file(const char *path, uint8_t **buf, size_t *len, struct npuc_diag *d)
{
	/* O_NONBLOCK: opening a FIFO must not wait for a writer. */
	int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	FILE *f;

	*buf = NULL;
	*len = 0;
	if (fd < 0) {
		npuc_diag_set(d, "%s", strerror(errno));
		return -1;
	}
	/* A directory or a FIFO is no model (it used to say "out of memory"). */
	if (fstat(fd, &st) || !S_ISREG(st.st_mode)) {
		npuc_diag_set(d, "%s", S_ISDIR(st.st_mode) ? "a directory, not an ONNX file" :
			      "not a regular file");
		close(fd);
		return -1;
	}
	if (fcntl(fd, F_SETFL, 0) || !(f = fdopen(fd, "rb"))) {
		npuc_diag_set(d, "cannot read: %s", strerror(errno));
		close(fd);
		return -1;
	}
	*buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!*buf || fread(*buf, 1, (size_t)st.st_size, f) != (size_t)st.st_size) {
		npuc_diag_set(d, "%s", *buf ? "read error" : "out of memory");
		free(*buf);
		*buf = NULL;
		fclose(f);
		return -1;
	}
	fclose(f);
	*len = (size_t)st.st_size;
	if (*len >= NPUB_MAGIC_BYTES && !memcmp(*buf, NPUB_MAGIC, NPUB_MAGIC_BYTES)) {
		npuc_diag_set(d, "a compiled .npub, not an ONNX model (run it with npu-run)");
		free(*buf);
		*buf = NULL;
		return -1;
	}
	return 0;
}

static void logf_(FILE *log, const char *fmt, const char *a)
{
	if (log)
		fprintf(log, fmt, a);
}

/* Calibration sets, one per float graph input. */
static int load_calibration(const struct npuc_compile_opts *o, const struct npuc_graph *g,
			    struct npuc_calib_set *sets, FILE *log, struct npuc_diag *d)
{
	struct npuc_calib_opts pre = o->pre;

	pre.limit = o->calib_limit ? o->calib_limit : NPUC_DEFAULT_CALIB_LIMIT;
	if (!o->calib_path && !o->calib_random) {
		npuc_diag_set(d, "a float model needs calibration data: give --calib PATH "
			      "(.npy file, directory of .npy files, or IDX file), or "
			      "--calib-random to accept a much less accurate model");
		return -1;
	}
	if (o->calib_path && g->n_inputs != 1) {
		npuc_diag_set(d, "--calib feeds one graph input, but the model has %d "
			      "(use --calib-random)", g->n_inputs);
		return -1;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		int64_t n;

		if (npuc_calib_set_init_input(&sets[i], g, i, &pre, d))
			return -1;
		if (o->calib_path)
			n = npuc_calib_add_path(&sets[i], o->calib_path, d);
		else
			n = npuc_calib_add_random(&sets[i], pre.limit, 1 + (uint64_t)i, 0.0f,
						  1.0f, d);
		if (n < 0)
			return -1;
		if (n == 0) {
			npuc_diag_set(d, "%s: no calibration samples found", o->calib_path);
			return -1;
		}
	}
	if (log)
		fprintf(log, "npuc: calibration: %lld samples (%s)\n", (long long)sets[0].n,
			o->calib_path ? o->calib_path : "random");
	return 0;
}

/*
 * Shape inference cannot finish every graph (shapes computed at run time):
 * one float run on the first calibration sample fills in the rest. Then
 * fusion runs again: an activation whose producer's type was unknown
 * could not fuse before (*fused: how many now did; may be NULL).
 */
static int refine_shapes(struct npuc_graph *g, const struct npuc_calib_set *sets, int n_sets,
			 int *fused, struct npuc_diag *d)
{
	struct npuc_pass_stats st = { 0 };
	struct npuc_value *in;
	int ret = -1;

	if (fused)
		*fused = 0;

	for (int t = 0; t < g->n_t; t++)
		if (g->t[t].dtype == NPUC_DT_UNDEF || npuc_tensor_numel(&g->t[t]) < 0)
			goto run;
	return 0;	/* every shape known: skip the (costly) float run */
run:
	in = calloc(n_sets ? (size_t)n_sets : 1, sizeof(*in));
	if (!in) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_sets; i++)
		if (npuc_value_wrap(&in[i], NPUC_DT_F32, sets[i].rank, sets[i].dims,
				    npuc_calib_sample(&sets[i], 0), d))
			goto out;
	ret = npuc_refine_shapes_by_run(g, in, d);
	if (!ret)
		ret = npuc_pass_fuse(g, &st, d);
	if (!ret && fused)
		*fused = st.fused;
out:
	free(in);
	return ret;
}

/* A CONV node's int8 weights: count, zeros, distinct values; 0 if nd is no CONV. */
static uint64_t conv_weights(const struct npuq_graph *q, const struct npuq_node *nd,
			     uint64_t *zeros, int *distinct)
{
	const struct npuq_tensor *x, *y;
	uint8_t seen[256] = { 0 };
	uint64_t cnt;

	*zeros = 0;
	*distinct = 0;
	if (nd->op != NPUQ_CONV || nd->n_in < 1 || nd->n_out < 1 || nd->u.conv.groups < 1)
		return 0;
	x = &q->t[nd->in[0]];
	y = &q->t[nd->out[0]];
	cnt = (uint64_t)y->c * nd->u.conv.k_h * nd->u.conv.k_w *
	      (uint64_t)(x->c / nd->u.conv.groups);
	for (uint64_t k = 0; k < cnt; k++) {
		*zeros += nd->u.conv.w[k] == nd->u.conv.w_zp;
		*distinct += !seen[(uint8_t)nd->u.conv.w[k]];
		seen[(uint8_t)nd->u.conv.w[k]] = 1;
	}
	return cnt;
}

void npuc_print_weight_report(FILE *f, const struct npuc_compiled *c)
{
	const struct npuq_graph *q = c->qgraph;
	const struct npub_model *m = c->model;
	uint64_t tn = 0, tz = 0, ts = 0, traw = 0;

	fprintf(f, "%-24s %10s %7s %7s %12s %12s\n", "weights of layer", "int8", "zero",
		"values", "stored bytes", "raw + qparams");
	for (int i = 0; i < q->n_nodes; i++) {
		const struct npuq_node *nd = &q->nodes[i];
		uint64_t z, n, stored = 0, raw;
		int values;

		n = conv_weights(q, nd, &z, &values);
		if (!n)
			continue;
		for (uint32_t k = 0; k < m->n_layers; k++)
			if (!strcmp(npub_str(m, m->layers[k].name), nd->name ? nd->name : ""))
				stored = m->layers[k].weight_bytes;
		raw = n + 12ull * q->t[nd->out[0]].c;
		fprintf(f, "%-24.24s %10llu %6.1f%% %7d %12llu %12llu\n",
			nd->name ? nd->name : "", (unsigned long long)n, 100.0 * (double)z / (double)n,
			values, (unsigned long long)stored, (unsigned long long)raw);
		tn += n;
		tz += z;
		ts += stored;
		traw += raw;
	}
	if (!tn)
		return;
	fprintf(f, "%-24s %10llu %6.1f%% %7s %12llu %12llu\n", "total", (unsigned long long)tn,
		100.0 * (double)tz / (double)tn, "", (unsigned long long)ts,
		(unsigned long long)traw);
	/* against float32 weights, and the whole model against its ONNX file */
	fprintf(f, "weights stored: %.1fx smaller than float32 (%llu bytes); model: ONNX %llu "
		"bytes, WEIGHTS section %llu bytes\n", ts ? 4.0 * (double)tn / (double)ts : 0.0,
		(unsigned long long)(4 * tn), (unsigned long long)m->meta.source_bytes,
		(unsigned long long)m->meta.weights_bytes);
}

/* The int8 CONV weights, their zeros, and what WEIGHTS stores (ZMASK shrinks sparse blocks). */
static void weights_line(const struct npuc_compiled *c, FILE *log)
{
	const struct npuq_graph *q = c->qgraph;
	uint64_t n = 0, z = 0, zl;
	int values;

	for (int i = 0; log && i < q->n_nodes; i++) {
		n += conv_weights(q, &q->nodes[i], &zl, &values);
		z += zl;
	}
	if (log && n)
		fprintf(log, "npuc: weights: %llu int8 (%.1f%% zero), %llu bytes stored with "
			"quantisation parameters and tables\n", (unsigned long long)n,
			100.0 * (double)z / (double)n,
			(unsigned long long)c->model->meta.weights_bytes);
}

/*
 * The float model as the passes leave it but unpruned: what bias correction
 * and SQNR compare a pruned model with, so the bias absorbs the mean error
 * pruning causes as well as quantisation's (tensor names match).
 */
static struct npuc_graph *load_teacher(const struct npuc_compile_opts *o, const void *buf,
				       size_t len, struct npuc_diag *d)
{
	struct npuc_graph *t = NULL;

	if (npuc_onnx_load_mem(buf, len, &t, d) || npuc_shape_infer(t, d) ||
	    npuc_passes_run(t, NULL, d) || (o->equalize && npuc_equalize(t, NULL, d))) {
		npuc_graph_free(t);
		return NULL;
	}
	return t;
}

/* Weight sharing as asked (cluster.h), with its figures. */
static int cluster(const struct npuc_compile_opts *o, struct npuq_graph *q, FILE *log,
		   struct npuc_diag *d)
{
	struct npuc_cluster_stats cs;

	if (!o->cluster)
		return 0;
	if (npuc_cluster_weights(q, o->cluster, &cs, d))
		return -1;
	if (log)
		fprintf(log, "npuc: weight sharing: %d layers, %lld weights, at most %d shared "
			"values per layer\n", cs.layers, (long long)cs.weights, cs.max_values);
	return 0;
}

#define FILTER_MEAN_SAMPLES 64	/* calibration samples the channel means use */
#define SENSITIVITY_SAMPLES 32	/* and the pruning sensitivity analysis */

struct sets_ref {
	const struct npuc_calib_set *sets;
	int n;
};

/* Sample s of the calibration sets as the graph's input values. */
static int calib_sample(void *ctx, int64_t s, struct npuc_value *in, struct npuc_diag *d)
{
	const struct sets_ref *r = ctx;

	for (int i = 0; i < r->n; i++)
		if (npuc_value_wrap(&in[i], NPUC_DT_F32, r->sets[i].rank, r->sets[i].dims,
				    npuc_calib_sample(&r->sets[i], s), d))
			return -1;
	return 0;
}

/* Filter pruning as asked (prune.h), with its figures. */
static int prune_filters(const struct npuc_compile_opts *o, struct npuc_graph *g,
			 struct npuc_prune_data data, int64_t have, FILE *log,
			 struct npuc_diag *d)
{
	struct npuc_filter_stats fs;

	if (!(o->prune_filters > 0))
		return 0;
	data.n_samples = have < FILTER_MEAN_SAMPLES ? have : FILTER_MEAN_SAMPLES;
	if (npuc_prune_filters(g, o->prune_filters, &data, &fs, d))
		return -1;
	if (!fs.layers) {
		npuc_diag_set(d, "filter pruning: no Conv whose output channels reach only one "
			      "Conv or Gemm (%d Convs feed graph outputs, residual adds, concats "
			      "or several layers)", fs.skipped);
		return -1;
	}
	if (log)
		fprintf(log, "npuc: filter pruning: %lld of %lld filters removed in %d Convs, "
			"their mean outputs (%lld samples) moved into %d biases%s\n",
			(long long)fs.removed, (long long)fs.filters, fs.layers,
			(long long)data.n_samples, fs.compensated,
			fs.skipped ? "; Convs whose channels go elsewhere left whole" : "");
	return 0;
}

/* Pruning as asked (prune.h), with its figures. */
static int prune(const struct npuc_compile_opts *o, struct npuc_graph *g,
		 const struct npuc_calib_set *sets, int n_sets, FILE *log, struct npuc_diag *d)
{
	struct sets_ref r = { sets, n_sets };
	struct npuc_prune_data data = { .sample = calib_sample, .ctx = &r };
	int64_t have = n_sets ? sets[0].n : 0;
	struct npuc_prune_stats ps;
	int on;

	if (prune_filters(o, g, data, have, log, d))
		return -1;
	on = npuc_prune_enabled(&o->prune, d);
	if (on <= 0)
		return on;
	data.n_samples = have < SENSITIVITY_SAMPLES ? have : SENSITIVITY_SAMPLES;
	if (npuc_prune(g, &o->prune, &data, &ps, d))
		return -1;
	if (!ps.layers) {
		npuc_diag_set(d, "pruning: the model has no Conv, Gemm or MatMul with constant "
			      "weights to prune");
		npuc_prune_stats_free(&ps);
		return -1;
	}
	if (log)
		fprintf(log, "npuc: pruning: %lld of %lld weights zero in %d layers (%.1f%%, "
			"%.1f%% before)%s\n", (long long)ps.zeros_after, (long long)ps.weights,
			ps.layers, 100.0 * (double)ps.zeros_after / (double)ps.weights,
			100.0 * (double)ps.zeros_before / (double)ps.weights,
			ps.skipped ? "; weights with other uses left dense" : "");
	for (int j = 0; log && ps.layer && j < ps.layers; j++)
		fprintf(log, "npuc: sensitivity: %-24s %5.1f%% pruned (alone at %d%%: relative "
			"output error %.2e over %lld samples)\n",
			ps.layer[j].name ? ps.layer[j].name : "", 100.0 * ps.layer[j].ratio,
			10 * (int)(ps.layer[j].ratio * 10 + 1e-9), ps.layer[j].err,
			(long long)data.n_samples);
	npuc_prune_stats_free(&ps);
	return 0;
}

/*
 * GPTQ / SparseGPT as asked (gptq.h), after weight sharing so the shared
 * values are its grid. With pruning the unpruned model (*teacherp),
 * quantised with the same ranges, supplies the targets: it then moves
 * into *dense, whose ->src is the teacher from here on.
 */
static int gptq(const struct npuc_compile_opts *o, struct npuq_graph *q,
		struct npuc_graph **teacherp, struct npuq_graph **dense,
		const struct npuc_act_ranges *ranges, const struct npuc_quant_options *qo,
		const struct npuc_calib_set *sets, int n_sets, FILE *log, struct npuc_diag *d)
{
	struct npuc_gptq_opts go = { .sparsegpt = o->sparsegpt, .samples = o->gptq_samples,
				     .shared_grid = o->cluster > 0 };
	struct npuc_gptq_stats st;
	struct npuc_graph *t = *teacherp;

	if (!o->gptq)
		return 0;
	if (o->sparsegpt) {
		if (npuc_prune_enabled(&o->prune, d) <= 0) {
			npuc_diag_set(d, "--sparsegpt chooses which weights to prune: give --prune R "
				      "or --prune-nm N:M too");
			return -1;
		}
		go.nm_n = o->prune.nm_n;
		go.nm_m = o->prune.nm_m;
	}
	if (t) {
		if (t->n_t != ranges->n || t->n_nodes != q->src->n_nodes) {
			npuc_diag_set(d, "gptq: the unpruned model does not match the pruned one");
			return -1;
		}
		if (refine_shapes(t, sets, n_sets, NULL, d) ||
		    !(*dense = npuc_quantize(t, ranges, qo, d)))
			return -1;
		*teacherp = NULL;
	}
	if (npuc_gptq(q, *dense, sets, n_sets, &go, &st, d))
		return -1;
	if (log)
		fprintf(log, "npuc: %s: %d layers, Hessians from %lld samples, layer output error "
			"%.4g -> %.4g (%.1f%% of rounding to nearest)%s\n",
			o->sparsegpt ? "SparseGPT" : "GPTQ", st.layers, (long long)st.samples,
			st.err_rtn, st.err_gptq,
			st.err_rtn > 0 ? 100.0 * st.err_gptq / st.err_rtn : 100.0,
			*dense ? ", against the unpruned weights" : "");
	return 0;
}

/*
 * Float model: passes, calibration, quantisation, GPTQ, bias correction,
 * SQNR. Once quantisation succeeds the qgraph owns the float graph: *gp is
 * then cleared, whatever happens next. *teacherp (the unpruned model, or
 * NULL) may be taken over the same way (gptq()).
 */
static struct npuq_graph *quantize_float(const struct npuc_compile_opts *o,
					 struct npuc_graph **gp, struct npuc_graph **teacherp,
					 FILE *log, struct npuc_diag *d)
{
	struct npuc_graph *g = *gp;
	const struct npuc_graph *ref;
	struct npuc_calib_set *sets;
	struct npuc_act_ranges ranges = { 0 };
	struct npuc_quant_options qo;
	struct npuq_graph *q = NULL, *dense = NULL;
	struct npuc_pass_stats st = { 0 };
	int n_sets = g->n_inputs, fused;

	if (npuc_passes_run(g, &st, d))
		return NULL;
	if (log)
		fprintf(log, "npuc: passes: %d folded, %d BatchNorm folded, %d removed, "
			"%d activations fused\n", st.folded, st.bn_folded, st.removed, st.fused);
	if (o->equalize) {
		struct npuc_equalize_stats es;

		if (npuc_equalize(g, &es, d))
			return NULL;
		if (log)
			fprintf(log, "npuc: cross-layer equalisation: %d layer pairs, %d sweeps\n",
				es.pairs, es.sweeps);
	}
	sets = calloc(n_sets ? (size_t)n_sets : 1, sizeof(*sets));
	if (!sets) {
		npuc_diag_set(d, "out of memory");
		return NULL;
	}
	if (load_calibration(o, g, sets, log, d))
		goto out;
	if (refine_shapes(g, sets, n_sets, &fused, d))
		goto out;
	if (log && fused)
		fprintf(log, "npuc: passes: %d more activations fused once shapes were known\n",
			fused);
	if (prune(o, g, sets, n_sets, log, d))
		goto out;
	if (npuc_act_ranges_init(&ranges, g->n_t, d))
		goto out;
	logf_(log, "npuc: calibrating (%s)\n", npuc_calib_method_name(o->method.method));
	if (npuc_calibrate(g, sets, n_sets, &o->method, &ranges, d))
		goto out;

	npuc_quant_options_default(&qo);
	qo.per_channel = !o->per_tensor;
	qo.bias_correction = o->bias_correction;
	qo.keep_float_weights = o->gptq;
	/*
	 * npuc_quantize takes ownership of g on success; SQNR and bias
	 * correction then read it back as q->src.
	 */
	q = npuc_quantize(g, &ranges, &qo, d);
	if (!q)
		goto out;
	*gp = NULL;
	if (cluster(o, q, log, d) ||
	    gptq(o, q, teacherp, &dense, &ranges, &qo, sets, n_sets, log, d))
		goto fail;
	ref = dense ? dense->src : *teacherp ? *teacherp : q->src;
	if (o->bias_correction) {
		int changed = 0;

		if (npuc_bias_correct(q, ref, sets, n_sets, &changed, d))
			goto fail;
		if (log)
			fprintf(log, "npuc: bias correction changed %d biases%s\n", changed,
				ref != q->src ? " (against the unpruned model)" : "");
	}
	if (o->sqnr) {
		struct npuc_sqnr_report rep = { 0 };

		if (npuc_sqnr_measure(q, ref, sets, n_sets, &rep, NULL, d))
			goto fail;
		npuc_sqnr_print(&rep, q, log ? log : stdout);
		npuc_sqnr_report_free(&rep);
	}
	goto out;
fail:
	npuq_graph_free(q);
	q = NULL;
out:
	npuq_graph_free(dense);
	for (int i = 0; i < n_sets; i++)
		npuc_calib_set_free(&sets[i]);
	free(sets);
	npuc_act_ranges_free(&ranges);
	return q;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

int npuc_compile(const struct npuc_compile_opts *o, FILE *log, struct npuc_compiled *out,
		 struct npuc_diag *d)
{
	uint8_t *buf;
	size_t len;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!o->model_path) {
		npuc_diag_set(d, "no model given");
		return -1;
	}
	if (read_file(o->model_path, &buf, &len, d))
		return -1;
	rc = npuc_compile_mem(o, buf, len, log, out, d);
	free(buf);
	return rc;
}

int npuc_compile_mem(const struct npuc_compile_opts *o, const void *buf, size_t len, FILE *log,
		     struct npuc_compiled *out, struct npuc_diag *d)
{
	struct npuc_graph *g = NULL;
	struct npul_options lo;
	uint8_t sha[32];
	int quantized;

	memset(out, 0, sizeof(*out));
	npub_sha256(buf, len, sha);
	if (npuc_onnx_load_mem(buf, len, &g, d))
		return -1;
	if (!g->n_inputs || !g->n_outputs) {
		/* all-constant graphs are folded by ONNX tools, not run on an NPU */
		npuc_diag_set(d, "the graph has %d input(s) and %d output(s): npuc compiles a "
			      "graph that computes at least one output from at least one input",
			      g->n_inputs, g->n_outputs);
		goto fail;
	}
	if (npuc_shape_infer(g, d))
		goto fail;

	quantized = npuc_qdq_is_quantized(g);
	logf_(log, "npuc: %s model\n", quantized ? "pre-quantised (QDQ / QOperator)" : "float");
	if (quantized && (npuc_prune_enabled(&o->prune, d) || o->prune_filters > 0)) {
		npuc_diag_set(d, "pruning works on float models: this one is already quantised "
			      "(prune before quantising it, or give npuc the float model)");
		goto fail;
	}
	if (quantized) {
		/* Folding leaves Q/DQ nodes alone; it resolves shape arithmetic. */
		if (npuc_pass_fold(g, NULL, d) || npuc_qdq_import(g, &out->qgraph, d))
			goto fail;
		if (cluster(o, out->qgraph, log, d)) {
			g = NULL;	/* owned by the qgraph */
			goto fail;
		}
	} else {
		struct npuc_graph *teacher = NULL;

		/* with filter pruning the shapes differ: the reference is the pruned model */
		if ((o->bias_correction || o->sqnr || o->gptq) && !(o->prune_filters > 0) &&
		    npuc_prune_enabled(&o->prune, d) > 0 && !(teacher = load_teacher(o, buf, len, d)))
			goto fail;
		out->qgraph = quantize_float(o, &g, &teacher, log, d);
		npuc_graph_free(teacher);
		if (!out->qgraph)
			goto fail;
	}
	g = NULL;	/* owned by the qgraph now */

	npul_options_default(&lo);
	lo.cfg = o->hw;
	lo.compress_weights = !o->no_compress;
	lo.model_name = o->model_path ? base_name(o->model_path) : "model";
	lo.options = o->cmdline ? o->cmdline : "";
	lo.compiler_version = NPUC_VERSION;
	lo.source_sha256 = sha;
	lo.source_bytes = len;
	if (npul_lower(out->qgraph, &lo, &out->model, d))
		goto fail;
	weights_line(out, log);
	return 0;
fail:
	npuc_graph_free(g);
	npuc_compiled_free(out);
	return -1;
}
