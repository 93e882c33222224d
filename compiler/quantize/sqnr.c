// SPDX-License-Identifier: MIT
/*
 * npuc per-layer SQNR report and bias correction (sqnr.h): float graph
 * through ref_float, qgraph through qref, compared tensor by tensor.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "qref.h"
#include "quantize.h"
#include "ref_float.h"
#include "sqnr.h"

/*
 * Element order. The qgraph value is brought to the tensor's storage
 * order (NHWC). The float value is row-major ONNX order, which is either
 * the same or an NCHW layout of some (h, w, c) (the tensor's own when it
 * is NCHW, or the NCHW source of a RESHAPE chain, e.g. a Flatten before a
 * Gemm whose weights were permuted). Where a permutation is possible the
 * first sample decides: the order with the smaller error is kept.
 */
enum { ORD_UNDECIDED, ORD_SAME, ORD_PERM };

struct sq_order {
	int64_t hw;			/* candidate NCHW permutation: h*w and c */
	int c;				/* 0: none possible */
	int order;			/* ORD_* */
};

struct sq_run {
	const struct npuq_graph *qg;
	const struct npuc_graph *fg;
	struct npuc_sqnr_row *rows;
	int n_rows;
	int *q_row;			/* qgraph tensor -> row, -1 */
	int *f_row;			/* float tensor -> first row, -1 */
	int *f_next;			/* row -> next row of the same float tensor, -1 */
	float **fval;			/* per row: float value of this sample, ONNX order */
	int *have;			/* per row: fval holds this sample's value */
	struct sq_order *ord;		/* per row */
	float *qtmp;			/* dequantised qgraph value, storage order */
	float *ftmp;			/* float value in storage order */
	struct npuc_bias_stats *bias;
	int *node_bias;			/* qgraph node -> bias stat, -1 */
	int only_node;			/* >= 0: bias statistics of this node only */
};

static int64_t qnumel(const struct npuq_tensor *t)
{
	return (int64_t)t->h * t->w * t->c;
}

/* NCHW (1, c, h, w) -> NHWC (h, w, c). */
static void nchw_to_nhwc(int64_t hw, int c, const float *src, float *dst)
{
	int64_t p;
	int ch;

	for (ch = 0; ch < c; ch++)
		for (p = 0; p < hw; p++)
			dst[p * c + ch] = src[ch * hw + p];
}

static void set_candidate(struct sq_order *o, int64_t hw, int c)
{
	/* With one channel or one pixel the permutation is the identity. */
	if (c > 1 && hw > 1) {
		o->hw = hw;
		o->c = c;
	}
}

/*
 * The NCHW tensor that qgraph tensor ti's bytes come from unchanged in
 * order (ti itself, or through RESHAPE / QUANTIZE / DEQUANTIZE), or -1.
 */
static int nchw_source(const struct npuq_graph *qg, int ti)
{
	int hops;

	for (hops = 0; hops <= qg->n_nodes; hops++) {
		const struct npuq_node *n;
		int p = qg->t[ti].producer;

		if (qg->t[ti].nchw)
			return ti;
		if (p < 0 || p >= qg->n_nodes)
			return -1;
		n = &qg->nodes[p];
		if ((n->op != NPUQ_RESHAPE && n->op != NPUQ_QUANTIZE && n->op != NPUQ_DEQUANTIZE) ||
		    n->n_in != 1 || n->in[0] < 0 || n->in[0] >= qg->n_t ||
		    qnumel(&qg->t[n->in[0]]) != qnumel(&qg->t[ti]))
			return -1;
		ti = n->in[0];
	}
	return -1;
}

static void f_store(struct sq_run *r, int row, const struct npuc_value *v)
{
	const struct npuq_tensor *t = &r->qg->t[r->rows[row].q_tensor];

	if (r->rows[row].mismatch)
		return;
	if (v->dtype != NPUC_DT_F32 || v->numel != qnumel(t)) {
		r->rows[row].mismatch = 1;
		return;
	}
	/* A qgraph without ONNX shapes: a (1, c, h, w) float value may be NCHW. */
	if (!r->ord[row].c && v->rank == 4 && v->dims[0] == 1 && v->dims[1] == t->c &&
	    v->dims[2] == t->h && v->dims[3] == t->w)
		set_candidate(&r->ord[row], (int64_t)t->h * t->w, t->c);
	memcpy(r->fval[row], v->data, (size_t)v->numel * sizeof(float));
	r->have[row] = 1;
}

static int f_observe(void *ctx, const struct npuc_graph *g, int node, int ti,
		     const struct npuc_value *v)
{
	struct sq_run *r = ctx;
	int row;

	(void)g;
	(void)node;
	if (ti < 0 || ti >= r->fg->n_t)
		return 0;
	for (row = r->f_row[ti]; row >= 0; row = r->f_next[row])
		f_store(r, row, v);
	return 0;
}

/* The qgraph value as dequantised floats in storage order, into r->qtmp. */
static int q_values(struct sq_run *r, const struct npuq_tensor *t, const struct npuc_value *v)
{
	int64_t n = qnumel(t), i;
	float *tmp = r->ftmp;		/* scratch before reordering */

	if (v->numel != n || (v->dtype != NPUC_DT_I8 && v->dtype != NPUC_DT_F32))
		return -1;
	for (i = 0; i < n; i++) {
		if (v->dtype == NPUC_DT_I8)
			tmp[i] = t->scale * (float)((int32_t)((const int8_t *)v->data)[i] - t->zp);
		else
			tmp[i] = ((const float *)v->data)[i];
	}
	if (t->nchw)
		nchw_to_nhwc((int64_t)t->h * t->w, t->c, tmp, r->qtmp);
	else
		memcpy(r->qtmp, tmp, (size_t)n * sizeof(float));
	return 0;
}

static double sq_err(const float *a, const float *b, int64_t n)
{
	double e = 0;
	int64_t i;

	for (i = 0; i < n; i++)
		e += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
	return e;
}

/* The float value of row ri in storage order (in r->ftmp or fval itself). */
static const float *f_values(struct sq_run *r, int ri, int64_t n)
{
	struct sq_order *o = &r->ord[ri];
	const float *f = r->fval[ri];

	if (o->order == ORD_UNDECIDED) {
		o->order = ORD_SAME;
		if (o->c) {
			nchw_to_nhwc(o->hw, o->c, f, r->ftmp);
			if (sq_err(r->ftmp, r->qtmp, n) < sq_err(f, r->qtmp, n))
				o->order = ORD_PERM;
		}
	}
	if (o->order == ORD_SAME)
		return f;
	nchw_to_nhwc(o->hw, o->c, f, r->ftmp);
	return r->ftmp;
}

/*
 * Per-channel error of a CONV output, over the values whose float result
 * is at least 2 output steps inside the fused activation's range: there
 * the int8 value is not clamped either (for errors under 2 steps), so the
 * mean is that of the pre-activation error, not biased by ReLU clipping.
 */
static void add_bias_err(struct sq_run *r, int node, const float *fx, int64_t n,
			 const struct npuq_tensor *t)
{
	const struct npuq_conv *cv = &r->qg->nodes[node].u.conv;
	double lo = (double)t->scale * (cv->act_min - t->zp + 2);
	double hi = (double)t->scale * (cv->act_max - t->zp - 2);
	struct npuc_bias_stat *b;
	int64_t i;

	if (!r->bias || r->node_bias[node] < 0)
		return;
	b = &r->bias->convs[r->node_bias[node]];
	for (i = 0; i < n; i++) {
		if (!(fx[i] > lo && fx[i] < hi))
			continue;
		b->sum_err[i % t->c] += (double)fx[i] - r->qtmp[i];
		b->count[i % t->c]++;
	}
}

static int q_observe(void *ctx, const struct npuq_graph *g, int node, int ti,
		     const struct npuc_value *v)
{
	struct sq_run *r = ctx;
	struct npuc_sqnr_row *row;
	const struct npuq_tensor *t;
	const float *fx;
	int64_t n, i;
	int ri;

	if (ti < 0 || ti >= g->n_t || (ri = r->q_row[ti]) < 0)
		return 0;
	row = &r->rows[ri];
	if (row->mismatch || !r->have[ri])
		return 0;
	t = &g->t[ti];
	if (q_values(r, t, v)) {
		row->mismatch = 1;
		return 0;
	}
	n = qnumel(t);
	fx = f_values(r, ri, n);
	for (i = 0; i < n; i++) {
		double e = (double)fx[i] - r->qtmp[i];

		row->sum_sig += (double)fx[i] * fx[i];
		row->sum_err += e * e;
		if (fabs(e) > row->max_abs_err)
			row->max_abs_err = fabs(e);
	}
	row->count += n;
	if (node >= 0 && g->nodes[node].op == NPUQ_CONV && g->nodes[node].out[0] == ti)
		add_bias_err(r, node, fx, n, t);
	return 0;
}

/*
 * The float tensor matching qgraph tensor t: same name, or the name
 * without quantize.h's ":q" / ":f" suffix of boundary / CPU-operand copies.
 */
static int match_float(const struct npuc_graph *fg, const char *name)
{
	size_t len = strlen(name);
	char base[256];
	int fi = npuc_graph_find(fg, name);

	if (fi >= 0 || len < 3 || len >= sizeof(base) || name[len - 2] != ':' ||
	    (name[len - 1] != 'q' && name[len - 1] != 'f'))
		return fi;
	memcpy(base, name, len - 2);
	base[len - 2] = 0;
	return npuc_graph_find(fg, base);
}

/* Adds a row for qgraph tensor ti if the float graph has it (match_float). */
static int add_row(struct sq_run *r, int ti, int node)
{
	const struct npuq_tensor *t = &r->qg->t[ti];
	struct npuc_sqnr_row *row;
	int64_t fn;
	int fi, src, *link;

	if (r->q_row[ti] >= 0 || !t->name)
		return 0;
	/* A float graph input is the calibration data itself: nothing to measure. */
	if ((t->flags & NPUQ_T_INPUT) && (t->flags & NPUQ_T_FLOAT))
		return 0;
	fi = match_float(r->fg, t->name);
	/* Constants are never produced; integer tensors carry no quantisation error. */
	if (fi < 0 || (r->fg->t[fi].flags & NPUC_T_CONST) ||
	    (r->fg->t[fi].dtype != NPUC_DT_F32 && r->fg->t[fi].dtype != NPUC_DT_UNDEF))
		return 0;
	row = &r->rows[r->n_rows];
	memset(row, 0, sizeof(*row));
	row->q_tensor = ti;
	row->f_tensor = fi;
	row->q_node = node;
	fn = npuc_tensor_numel(&r->fg->t[fi]);
	row->mismatch = fn >= 0 && fn != qnumel(t);
	if (!row->mismatch) {
		r->fval[r->n_rows] = malloc((size_t)qnumel(t) * sizeof(float));
		if (!r->fval[r->n_rows])
			return -1;
	}
	src = nchw_source(r->qg, ti);
	if (src >= 0)
		set_candidate(&r->ord[r->n_rows], (int64_t)r->qg->t[src].h * r->qg->t[src].w,
			      r->qg->t[src].c);
	r->q_row[ti] = r->n_rows;
	/* Several qgraph tensors may copy one float tensor: chain them. */
	for (link = &r->f_row[fi]; *link >= 0; link = &r->f_next[*link])
		;
	*link = r->n_rows;
	r->f_next[r->n_rows] = -1;
	r->n_rows++;
	return 0;
}

static int add_bias_stat(struct sq_run *r, int ni)
{
	const struct npuq_node *n = &r->qg->nodes[ni];
	struct npuc_bias_stat *b;
	int ri;

	if (n->op != NPUQ_CONV || n->n_out < 1 || n->n_in < 1 || (ri = r->q_row[n->out[0]]) < 0 ||
	    r->rows[ri].mismatch)
		return 0;
	b = &r->bias->convs[r->bias->n_convs];
	memset(b, 0, sizeof(*b));
	b->q_node = ni;
	b->n_oc = r->qg->t[n->out[0]].c;
	b->sum_err = calloc((size_t)b->n_oc, sizeof(double));
	b->count = calloc((size_t)b->n_oc, sizeof(int64_t));
	r->node_bias[ni] = r->bias->n_convs++;
	return b->sum_err && b->count ? 0 : -1;
}

static int64_t max_qnumel(const struct npuq_graph *qg)
{
	int64_t m = 1;
	int i;

	for (i = 0; i < qg->n_t; i++)
		if (qnumel(&qg->t[i]) > m)
			m = qnumel(&qg->t[i]);
	return m;
}

static void free_run(struct sq_run *r)
{
	int i;

	for (i = 0; r->fval && i < r->n_rows; i++)
		free(r->fval[i]);
	free(r->fval);
	free(r->have);
	free(r->q_row);
	free(r->f_row);
	free(r->f_next);
	free(r->qtmp);
	free(r->ftmp);
	free(r->ord);
	free(r->node_bias);
}

static int setup_run(struct sq_run *r, struct npuc_diag *d)
{
	const struct npuq_graph *qg = r->qg;
	int i, k, cap = qg->n_t + 1;

	r->rows = calloc((size_t)cap, sizeof(*r->rows));
	r->fval = calloc((size_t)cap, sizeof(*r->fval));
	r->have = calloc((size_t)cap, sizeof(*r->have));
	r->q_row = malloc((size_t)cap * sizeof(int));
	r->f_row = malloc(((size_t)r->fg->n_t + 1) * sizeof(int));
	r->f_next = malloc((size_t)cap * sizeof(int));
	r->node_bias = malloc(((size_t)qg->n_nodes + 1) * sizeof(int));
	r->ord = calloc((size_t)cap, sizeof(*r->ord));
	r->qtmp = malloc((size_t)max_qnumel(qg) * sizeof(float));
	r->ftmp = malloc((size_t)max_qnumel(qg) * sizeof(float));
	if (!r->rows || !r->fval || !r->have || !r->q_row || !r->f_row || !r->f_next ||
	    !r->node_bias || !r->ord || !r->qtmp || !r->ftmp)
		goto oom;
	memset(r->q_row, 0xff, (size_t)cap * sizeof(int));
	memset(r->f_row, 0xff, ((size_t)r->fg->n_t + 1) * sizeof(int));
	memset(r->node_bias, 0xff, ((size_t)qg->n_nodes + 1) * sizeof(int));
	for (i = 0; i < qg->n_inputs; i++)
		if (add_row(r, qg->inputs[i], -1))
			goto oom;
	for (i = 0; i < qg->n_nodes; i++)
		for (k = 0; k < qg->nodes[i].n_out; k++)
			if (add_row(r, qg->nodes[i].out[k], i))
				goto oom;
	if (!r->bias)
		return 0;
	r->bias->convs = calloc((size_t)qg->n_nodes + 1, sizeof(*r->bias->convs));
	if (!r->bias->convs)
		goto oom;
	for (i = 0; i < qg->n_nodes; i++)
		if ((r->only_node < 0 || r->only_node == i) && add_bias_stat(r, i))
			goto oom;
	return 0;
oom:
	npuc_diag_set(d, "sqnr: out of memory");
	return -1;
}

static int bad_index(const struct npuq_graph *qg, const int *v, int n)
{
	int i;

	if (n < 0 || (n && !v))
		return 1;
	for (i = 0; i < n; i++)
		if (v[i] < 0 || v[i] >= qg->n_t)
			return 1;
	return 0;
}

static int check_node(const struct npuq_graph *qg, const struct npuq_node *n,
		      struct npuc_diag *d)
{
	if (bad_index(qg, n->in, n->n_in) || bad_index(qg, n->out, n->n_out)) {
		npuc_diag_set(d, "sqnr: qgraph node '%s' refers to no tensor",
			      n->name ? n->name : "?");
		return -1;
	}
	return 0;
}

/* Checks the graphs and sets agree on inputs; each qgraph tensor and node sane. */
static int check_io(const struct npuq_graph *qg, const struct npuc_graph *fg,
		    const struct npuc_calib_set *sets, int n_sets, struct npuc_diag *d)
{
	int i;

	if (n_sets < 1 || qg->n_inputs != n_sets || fg->n_inputs != n_sets) {
		npuc_diag_set(d, "sqnr: %d calibration input(s) for a float graph with %d and a "
			      "qgraph with %d inputs", n_sets, fg->n_inputs, qg->n_inputs);
		return -1;
	}
	if (bad_index(qg, qg->inputs, qg->n_inputs)) {
		npuc_diag_set(d, "sqnr: bad qgraph input index");
		return -1;
	}
	for (i = 0; i < n_sets; i++) {
		const struct npuq_tensor *t = &qg->t[qg->inputs[i]];

		if (sets[i].n != sets[0].n || sets[i].n < 1) {
			npuc_diag_set(d, "sqnr: calibration inputs hold different or no sample "
				      "counts");
			return -1;
		}
		if (qnumel(t) != sets[i].sample_numel) {
			npuc_diag_set(d, "sqnr: qgraph input '%s' has %lld elements, the "
				      "calibration samples %lld", t->name, (long long)qnumel(t),
				      (long long)sets[i].sample_numel);
			return -1;
		}
	}
	for (i = 0; i < qg->n_t; i++) {
		if (qg->t[i].h < 1 || qg->t[i].w < 1 || qg->t[i].c < 1 ||
		    qnumel(&qg->t[i]) > INT32_MAX) {
			npuc_diag_set(d, "sqnr: qgraph tensor '%s' has a bad extent",
				      qg->t[i].name ? qg->t[i].name : "?");
			return -1;
		}
	}
	for (i = 0; i < qg->n_nodes; i++)
		if (check_node(qg, &qg->nodes[i], d))
			return -1;
	return 0;
}

static int8_t quant8(float x, float scale, int32_t zp)
{
	double q = rint((double)x / scale) + zp;

	if (!(q >= -128))
		return -128;
	return q > 127 ? 127 : (int8_t)q;
}

int npuc_q_sample_inputs(const struct npuq_graph *qg, const struct npuc_calib_set *sets,
			 int n_sets, int64_t s, int8_t **bufs, struct npuc_value *qin,
			 struct npuc_diag *d)
{
	int i;

	for (i = 0; i < n_sets; i++) {
		const struct npuq_tensor *t = &qg->t[qg->inputs[i]];
		const float *x = npuc_calib_sample(&sets[i], s);
		int64_t dims[NPUC_MAX_RANK], e;
		int rank;

		if (npuq_tensor_onnx_shape(t, &rank, dims, d))
			return -1;
		if (t->flags & NPUQ_T_FLOAT) {
			if (npuc_value_wrap(&qin[i], NPUC_DT_F32, rank, dims, x, d))
				return -1;
			continue;
		}
		if (!(t->scale > 0)) {
			npuc_diag_set(d, "sqnr: int8 input '%s' has no positive scale", t->name);
			return -1;
		}
		for (e = 0; e < sets[i].sample_numel; e++)
			bufs[i][e] = quant8(x[e], t->scale, t->zp);
		if (npuc_value_wrap(&qin[i], NPUC_DT_I8, rank, dims, bufs[i], d))
			return -1;
	}
	return 0;
}

static void free_values(struct npuc_value *v, int n)
{
	int i;

	for (i = 0; v && i < n; i++)
		npuc_value_free(&v[i]);
}

/* Runs one sample through both graphs. */
static int run_sample(struct sq_run *r, const struct npuc_calib_set *sets, int n_sets,
		      int64_t s, int8_t **bufs, struct npuc_value *fin, struct npuc_value *qin,
		      struct npuc_value *outs, struct npuc_diag *d)
{
	struct npuc_ref_trace tr = { .observe = f_observe, .ctx = r };
	struct npuq_ref_observer qo = { .observe = q_observe, .ctx = r };
	int i, rc;

	memset(r->have, 0, ((size_t)r->qg->n_t + 1) * sizeof(int));
	for (i = 0; i < n_sets; i++)
		if (npuc_value_wrap(&fin[i], NPUC_DT_F32, sets[i].rank, sets[i].dims,
				    npuc_calib_sample(&sets[i], s), d))
			return -1;
	rc = npuc_ref_run(r->fg, fin, outs, &tr, d);
	free_values(outs, r->fg->n_outputs);
	if (rc)
		return -1;
	if (npuc_q_sample_inputs(r->qg, sets, n_sets, s, bufs, qin, d))
		return -1;
	rc = npuq_ref_run(r->qg, qin, outs, &qo, d);
	free_values(outs, r->qg->n_outputs);
	return rc ? -1 : 0;
}

static void finish_rows(struct npuc_sqnr_row *rows, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		struct npuc_sqnr_row *w = &rows[i];

		if (w->mismatch || !w->count)
			w->sqnr_db = NAN;
		else if (w->sum_err == 0)
			w->sqnr_db = INFINITY;
		else
			w->sqnr_db = 10 * log10(w->sum_sig / w->sum_err);
	}
}

static int measure_all(struct sq_run *r, const struct npuc_calib_set *sets, int n_sets,
		       struct npuc_diag *d)
{
	int nout = r->fg->n_outputs > r->qg->n_outputs ? r->fg->n_outputs : r->qg->n_outputs;
	struct npuc_value *fin = calloc((size_t)n_sets, sizeof(*fin));
	struct npuc_value *qin = calloc((size_t)n_sets, sizeof(*qin));
	struct npuc_value *outs = calloc((size_t)nout + 1, sizeof(*outs));
	int8_t **bufs = calloc((size_t)n_sets, sizeof(*bufs));
	int64_t s;
	int i, rc = -1;

	if (!fin || !qin || !outs || !bufs)
		goto oom;
	for (i = 0; i < n_sets; i++) {
		bufs[i] = malloc((size_t)sets[i].sample_numel);
		if (!bufs[i])
			goto oom;
	}
	for (s = 0; s < sets[0].n; s++)
		if (run_sample(r, sets, n_sets, s, bufs, fin, qin, outs, d))
			goto out;
	rc = 0;
	goto out;
oom:
	npuc_diag_set(d, "sqnr: out of memory");
out:
	for (i = 0; bufs && i < n_sets; i++)
		free(bufs[i]);
	free(bufs);
	free(fin);
	free(qin);
	free(outs);
	return rc;
}

static int measure(const struct npuq_graph *qg, const struct npuc_graph *fg,
		   const struct npuc_calib_set *sets, int n_sets, struct npuc_sqnr_report *rep,
		   struct npuc_bias_stats *bias, int only_node, struct npuc_diag *d)
{
	struct sq_run r = { .qg = qg, .fg = fg, .bias = bias, .only_node = only_node };

	if (rep)
		memset(rep, 0, sizeof(*rep));
	if (bias)
		memset(bias, 0, sizeof(*bias));
	if (!qg || !fg || !sets || check_io(qg, fg, sets, n_sets, d))
		return -1;
	if (setup_run(&r, d) || measure_all(&r, sets, n_sets, d)) {
		free_run(&r);
		free(r.rows);
		npuc_bias_stats_free(bias);
		return -1;
	}
	free_run(&r);
	finish_rows(r.rows, r.n_rows);
	if (rep) {
		rep->rows = r.rows;
		rep->n_rows = r.n_rows;
		rep->samples = sets[0].n;
	} else {
		free(r.rows);
	}
	return 0;
}

int npuc_sqnr_measure(const struct npuq_graph *qg, const struct npuc_graph *fg,
		      const struct npuc_calib_set *sets, int n_sets,
		      struct npuc_sqnr_report *rep, struct npuc_bias_stats *bias,
		      struct npuc_diag *d)
{
	return measure(qg, fg, sets, n_sets, rep, bias, -1, d);
}

void npuc_sqnr_report_free(struct npuc_sqnr_report *rep)
{
	if (!rep)
		return;
	free(rep->rows);
	memset(rep, 0, sizeof(*rep));
}

void npuc_bias_stats_free(struct npuc_bias_stats *bias)
{
	int i;

	if (!bias)
		return;
	for (i = 0; bias->convs && i < bias->n_convs; i++) {
		free(bias->convs[i].sum_err);
		free(bias->convs[i].count);
	}
	free(bias->convs);
	memset(bias, 0, sizeof(*bias));
}

void npuc_sqnr_print(const struct npuc_sqnr_report *rep, const struct npuq_graph *qg,
		     FILE *f)
{
	int i, worst = -1;

	fprintf(f, "per-layer SQNR over %lld calibration sample(s) (float vs int8 reference)\n",
		(long long)rep->samples);
	fprintf(f, "%-32s %-10s %10s %10s %12s\n", "tensor", "op", "elements", "SQNR dB",
		"max |err|");
	for (i = 0; i < rep->n_rows; i++) {
		const struct npuc_sqnr_row *w = &rep->rows[i];
		const struct npuq_tensor *t = &qg->t[w->q_tensor];
		const char *op = w->q_node < 0 ? "input" : npuq_op_name(qg->nodes[w->q_node].op);

		fprintf(f, "%-32.32s %-10s %10lld ", t->name, op, (long long)qnumel(t));
		if (w->mismatch)
			fprintf(f, "%10s %12s\n", "-", "shape mismatch");
		else if (isinf(w->sqnr_db))
			fprintf(f, "%10s %12.4g\n", w->sqnr_db > 0 ? "inf" : "-inf",
				w->max_abs_err);
		else
			fprintf(f, "%10.2f %12.4g\n", w->sqnr_db, w->max_abs_err);
		if (!isnan(w->sqnr_db) && (worst < 0 || w->sqnr_db < rep->rows[worst].sqnr_db))
			worst = i;
	}
	if (worst >= 0)
		fprintf(f, "worst: %s (%.2f dB)\n", qg->t[rep->rows[worst].q_tensor].name,
			rep->rows[worst].sqnr_db);
}

/* Corrections for one conv (quantize.h's formula); biases changed or -1. */
static int apply_one(struct npuq_graph *qg, const struct npuc_bias_stat *b, struct npuc_diag *d)
{
	const struct npuq_node *n;
	int32_t *old = NULL;
	double *mean = NULL;
	int oc, changed = -1;

	if (b->q_node < 0 || b->q_node >= qg->n_nodes)
		goto bad;
	n = &qg->nodes[b->q_node];
	if (n->op != NPUQ_CONV || bad_index(qg, n->in, n->n_in) || n->n_in < 1 ||
	    bad_index(qg, n->out, n->n_out) || n->n_out < 1 || qg->t[n->out[0]].c != b->n_oc ||
	    !n->u.conv.q)
		goto bad;
	old = malloc((size_t)b->n_oc * sizeof(*old));
	mean = malloc((size_t)b->n_oc * sizeof(*mean));
	if (!old || !mean) {
		npuc_diag_set(d, "bias correction: out of memory");
		goto out;
	}
	for (oc = 0; oc < b->n_oc; oc++) {
		old[oc] = n->u.conv.q[oc].bias;
		mean[oc] = b->count[oc] ? b->sum_err[oc] / (double)b->count[oc] : 0;
	}
	if (npuc_quant_bias_correct(qg, b->q_node, mean, d))
		goto out;
	for (changed = 0, oc = 0; oc < b->n_oc; oc++)
		changed += n->u.conv.q[oc].bias != old[oc];
out:
	free(old);
	free(mean);
	return changed;
bad:
	npuc_diag_set(d, "bias correction: statistics do not fit qgraph node %d", b->q_node);
	return -1;
}

int npuc_bias_apply(struct npuq_graph *qg, const struct npuc_bias_stats *bias, int *n_changed,
		    struct npuc_diag *d)
{
	int i, total = 0;

	if (n_changed)
		*n_changed = 0;
	for (i = 0; i < bias->n_convs; i++) {
		int c = apply_one(qg, &bias->convs[i], d);

		if (c < 0)
			return -1;
		total += c;
	}
	if (n_changed)
		*n_changed = total;
	return 0;
}

int npuc_bias_correct(struct npuq_graph *qg, const struct npuc_graph *fg,
		      const struct npuc_calib_set *sets, int n_sets, int *n_changed,
		      struct npuc_diag *d)
{
	struct npuc_bias_stats bias;
	int ni, changed, rc = 0;

	if (n_changed)
		*n_changed = 0;
	if (!qg) {
		npuc_diag_set(d, "bias correction: no qgraph");
		return -1;
	}
	/* One CONV at a time in execution order: each sees the corrected earlier ones. */
	for (ni = 0; ni < qg->n_nodes && !rc; ni++) {
		if (qg->nodes[ni].op != NPUQ_CONV)
			continue;
		if (measure(qg, fg, sets, n_sets, NULL, &bias, ni, d))
			return -1;
		rc = npuc_bias_apply(qg, &bias, &changed, d);
		npuc_bias_stats_free(&bias);
		if (!rc && n_changed)
			*n_changed += changed;
	}
	return rc;
}
