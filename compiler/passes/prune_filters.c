// SPDX-License-Identifier: MIT
/*
 * Filter pruning by L1 norm that shrinks the graph (prune.h): a Conv loses
 * whole output channels, the layer reading them loses the matching inputs.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"
#include "passes.h"
#include "channel_chain.h"
#include "prune.h"
#include "ref_float.h"

/* Keeps slices keep[0..nk) of the (outer, n, inner) view of constant t. 0 or -1. */
static int shrink(struct npuc_tensor *t, int64_t outer, int64_t n, int64_t inner,
		  const int *keep, int nk)
{
	const float *src = t->data;
	float *dst = malloc((size_t)(outer * nk * inner) * sizeof(float) + 1);

	if (!dst)
		return -1;
	(void)n;
	for (int64_t o = 0; o < outer; o++)
		for (int k = 0; k < nk; k++)
			memcpy(dst + (o * nk + k) * inner, src + (o * n + keep[k]) * inner,
			       (size_t)inner * sizeof(float));
	free(t->data);
	t->data = dst;
	t->nbytes = (size_t)(outer * nk * inner) * sizeof(float);
	return 0;
}

struct l1 {
	double norm;
	int c;
};

static int l1_cmp(const void *a, const void *b)
{
	const struct l1 *x = a, *y = b;

	if (x->norm != y->norm)
		return x->norm < y->norm ? -1 : 1;
	return x->c - y->c;
}

static int int_cmp(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

/* The channels of the chain's Conv to keep: all but the ratio with the smallest L1 norm. */
static int choose(const struct npuc_graph *g, const struct npuc_chain *c, float ratio, int *keep)
{
	const struct npuc_tensor *w = &g->t[g->nodes[c->conv].in[1]];
	int oc = (int)w->dims[0], drop = (int)floor((double)ratio * oc), nk = oc - drop;
	int64_t per = npuc_tensor_numel(w) / oc;
	struct l1 *v = malloc((size_t)oc * sizeof(*v));

	if (!v)
		return -1;
	for (int o = 0; o < oc; o++) {
		const float *p = (const float *)w->data + o * per;

		v[o].norm = 0;
		v[o].c = o;
		for (int64_t i = 0; i < per; i++)
			v[o].norm += fabs(p[i]);
	}
	qsort(v, (size_t)oc, sizeof(*v), l1_cmp);
	if (nk < 1)
		nk = 1;
	for (int k = 0; k < nk; k++)
		keep[k] = v[oc - nk + k].c;
	qsort(keep, (size_t)nk, sizeof(int), int_cmp);	/* channel order kept */
	free(v);
	return nk;
}

/* A constant float scalar (input t of a node, or -1), or def. */
static float scalar_in(const struct npuc_graph *g, const struct npuc_node *n, int j, float def)
{
	int t = j < n->n_in ? n->in[j] : -1;

	if (t < 0 || g->t[t].dtype != NPUC_DT_F32 || npuc_tensor_numel(&g->t[t]) != 1)
		return def;
	return *(const float *)g->t[t].data;
}

/* Channel-wise op n on a constant channel of value v. */
static float scalar_op(const struct npuc_graph *g, const struct npuc_node *n, float v)
{
	float a;

	switch (npuc_node_op(n)) {
	case NPUC_OP_Relu:
		return v > 0 ? v : 0;
	case NPUC_OP_Clip:
		a = scalar_in(g, n, 1, npuc_attr_float(n, "min", -INFINITY));
		v = v < a ? a : v;
		a = scalar_in(g, n, 2, npuc_attr_float(n, "max", INFINITY));
		return v > a ? a : v;
	case NPUC_OP_LeakyRelu:
		return v < 0 ? npuc_attr_float(n, "alpha", 0.01f) * v : v;
	case NPUC_OP_Sigmoid:
		return 1.0f / (1.0f + expf(-v));
	case NPUC_OP_Tanh:
		return tanhf(v);
	case NPUC_OP_HardSigmoid:
		a = npuc_attr_float(n, "alpha", 0.2f) * v + npuc_attr_float(n, "beta", 0.5f);
		return a < 0 ? 0 : a > 1 ? 1 : a;
	case NPUC_OP_HardSwish:
		a = v / 6 + 0.5f;
		return v * (a < 0 ? 0 : a > 1 ? 1 : a);
	default:		/* pooling a constant channel gives it back */
		return v;
	}
}

/*
 * The bias the reader adds per output (Conv input 2, Gemm C with N values),
 * created as zeros when absent; -1 when it cannot take a compensation (a
 * shared or broadcast C, beta 0). *scale: what a unit of output costs in
 * it (1 / beta for Gemm).
 */
static int reader_bias(struct npuc_graph *g, int *uses, const struct npuc_chain *c, int64_t n,
		       float *scale, struct npuc_diag *d)
{
	struct npuc_node *r = &g->nodes[c->reader];
	int gemm = c->flat >= 0, t;
	int64_t dims[1] = { n };
	float *z;
	char name[256];

	*scale = 1.0f;
	if (gemm) {
		float beta = npuc_attr_float(r, "beta", 1.0f);

		if (beta == 0.0f)
			return -1;
		*scale = 1.0f / beta;
	}
	if (r->n_in > 2 && r->in[2] >= 0) {
		t = r->in[2];
		return npuc_tensor_is_const(g, t) && uses[t] == 1 && g->t[t].dtype == NPUC_DT_F32 &&
		       npuc_tensor_numel(&g->t[t]) == n ? t : -1;
	}
	for (int k = 0; k < 1000; k++) {
		snprintf(name, sizeof(name), "%s/pruned_filters_bias%.0d", r->name ? r->name : "",
			 k);
		if (npuc_graph_find(g, name) < 0)
			break;
	}
	z = calloc((size_t)n, sizeof(float));
	if (!z)
		return -2;
	t = npuc_graph_add_tensor(g, name, NPUC_DT_F32, 1, dims, d);
	if (t < 0) {
		free(z);
		return -2;
	}
	if (npuc_tensor_set_data(g, t, z, (size_t)n * sizeof(float), d))
		return -2;
	r = &g->nodes[c->reader];
	if (r->n_in < 3) {
		int *in = realloc(r->in, 3 * sizeof(int));

		if (!in)
			return -2;
		in[2] = -1;
		if (r->n_in < 2)
			in[1] = -1;
		r->in = in;
		r->n_in = 3;
	}
	r->in[2] = t;
	uses[t] = 1;
	return t;
}

/*
 * What a removed channel carried still reaches the reader: its mean over
 * the samples (mean: the reader's input, [C][H*W], or NULL), or without
 * samples the constant a filter of ~0 weights gives, act(bias) through the
 * chain. The reader's bias takes Sum W * mean (exact for a Gemm; for a
 * Conv reader the channel's mean over pixels, exact away from its
 * zero-padded border). 1 compensated, 0 not possible, -1 out of memory.
 */
static int compensate(struct npuc_graph *g, int *uses, const struct npuc_chain *c, const int *keep,
		      int nk, const double *mean, struct npuc_diag *d)
{
	const struct npuc_node *cv = &g->nodes[c->conv];
	const struct npuc_tensor *last = &g->t[c->path[c->n_path - 1]];
	int64_t oc = g->t[cv->in[1]].dims[0], n, per, hw = last->dims[2] * last->dims[3];
	int bi = cv->n_in > 2 ? cv->in[2] : -1, gemm = c->flat >= 0, tb, k = 0, rb;
	float scale, *rbias;
	double *m;
	const float *w;

	if (bi < 0 && !mean)
		return 0;	/* no bias: a ~0 filter gives ~0 */
	n = gemm ? g->t[g->nodes[c->reader].out[0]].dims[1] :
		   g->t[g->nodes[c->reader].in[1]].dims[0];
	per = gemm ? c->hw : g->t[g->nodes[c->reader].in[1]].dims[2] *
			     g->t[g->nodes[c->reader].in[1]].dims[3];
	rb = reader_bias(g, uses, c, n, &scale, d);
	if (rb < 0)
		return rb == -1 ? 0 : -1;
	m = calloc((size_t)(oc * per), sizeof(double));	/* per channel, [pixel] for Gemm */
	if (!m)
		return -1;
	cv = &g->nodes[c->conv];
	for (int64_t ch = 0; ch < oc; ch++) {
		if (k < nk && keep[k] == ch) {
			k++;
			continue;
		}
		for (int64_t p = 0; p < per; p++) {
			double v;

			if (mean && gemm) {
				v = mean[ch * hw + p];
			} else if (mean) {
				v = 0;
				for (int64_t q = 0; q < hw; q++)
					v += mean[ch * hw + q] / (double)hw;
			} else {
				float f = ((const float *)g->t[bi].data)[ch];

				for (int i = 0; i + 1 < c->n_path; i++)
					f = scalar_op(g, &g->nodes[c->pnode[i]], f);
				v = f;
			}
			m[ch * per + p] = v;
		}
	}
	w = g->t[g->nodes[c->reader].in[1]].data;
	rbias = g->t[rb].data;
	tb = gemm && npuc_attr_int(&g->nodes[c->reader], "transB", 0);
	if (gemm)
		scale *= npuc_attr_float(&g->nodes[c->reader], "alpha", 1.0f);
	for (int64_t o = 0; o < n; o++) {
		double acc = 0;

		for (int64_t kk = 0; kk < oc * per; kk++) {	/* Conv: [o][ch][p]; Gemm: K */
			if (m[kk] != 0)
				acc += m[kk] * (gemm ? (tb ? w[o * oc * per + kk] : w[kk * n + o]) :
						w[o * oc * per + kk]);
		}
		rbias[o] += (float)(acc * scale);
	}
	free(m);
	return 1;
}

/* Sums of each chain's reader input over the samples (observer of npuc_ref_run). */
struct means {
	const struct npuc_chain *ch;
	int n;
	double **sum;			/* [chain][C * H * W] */
};

static int mean_observe(void *ctx, const struct npuc_graph *g, int node, int ti,
			const struct npuc_value *v)
{
	struct means *m = ctx;

	(void)g;
	(void)node;
	for (int i = 0; i < m->n; i++) {
		const struct npuc_chain *c = &m->ch[i];

		if (c->path[c->n_path - 1] != ti || v->dtype != NPUC_DT_F32)
			continue;
		for (int64_t e = 0; e < v->numel; e++)
			m->sum[i][e] += ((const float *)v->data)[e];
	}
	return 0;
}

/* Means of the chains' reader inputs over data's samples (m->sum divided). 0 or -1. */
static int measure_means(const struct npuc_graph *g, const struct npuc_prune_data *data,
			 struct means *m, struct npuc_diag *d)
{
	struct npuc_ref_trace tr = { .observe = mean_observe, .ctx = m };
	struct npuc_value *in = calloc((size_t)g->n_inputs + 1, sizeof(*in));
	struct npuc_value *out = calloc((size_t)g->n_outputs + 1, sizeof(*out));
	int rc = -1;

	if (!in || !out) {
		npuc_diag_set(d, "filter pruning: out of memory");
		goto done;
	}
	for (int64_t s = 0; s < data->n_samples; s++) {
		if (data->sample(data->ctx, s, in, d) || npuc_ref_run(g, in, out, &tr, d))
			goto done;
		for (int o = 0; o < g->n_outputs; o++)
			npuc_value_free(&out[o]);
	}
	for (int i = 0; i < m->n; i++) {
		const struct npuc_tensor *t = &g->t[m->ch[i].path[m->ch[i].n_path - 1]];

		for (int64_t e = 0; e < npuc_tensor_numel(t); e++)
			m->sum[i][e] /= (double)data->n_samples;
	}
	rc = 0;
done:
	free(in);
	free(out);
	return rc;
}

/* Removes all channels of the chain but keep[0..nk). 0 or -1 (out of memory). */
static int apply(struct npuc_graph *g, const struct npuc_chain *c, const int *keep, int nk)
{
	const struct npuc_node *cv = &g->nodes[c->conv], *rd = &g->nodes[c->reader];
	struct npuc_tensor *w = &g->t[cv->in[1]], *rw = &g->t[rd->in[1]];
	int64_t oc = w->dims[0];

	if (shrink(w, 1, oc, npuc_tensor_numel(w) / oc, keep, nk))
		return -1;
	w->dims[0] = nk;
	if (cv->n_in > 2 && cv->in[2] >= 0) {
		if (shrink(&g->t[cv->in[2]], 1, oc, 1, keep, nk))
			return -1;
		g->t[cv->in[2]].dims[0] = nk;
	}
	for (int i = 0; i < c->n_path; i++)
		g->t[c->path[i]].dims[1] = nk;
	if (c->flat < 0) {			/* Conv [OC2, C, kh, kw] */
		if (shrink(rw, rw->dims[0], oc, rw->dims[2] * rw->dims[3], keep, nk))
			return -1;
		rw->dims[1] = nk;
		return 0;
	}
	g->t[c->flat].dims[1] = nk * c->hw;	/* Gemm B: [N, C*hw] or [C*hw, N] */
	if (npuc_attr_int(rd, "transB", 0)) {
		if (shrink(rw, rw->dims[0], oc, c->hw, keep, nk))
			return -1;
		rw->dims[1] = nk * c->hw;
	} else {
		if (shrink(rw, 1, oc, c->hw * rw->dims[1], keep, nk))
			return -1;
		rw->dims[0] = nk * c->hw;
	}
	return 0;
}

int npuc_prune_filters(struct npuc_graph *g, float ratio, const struct npuc_prune_data *data,
		       struct npuc_filter_stats *st, struct npuc_diag *d)
{
	struct npuc_filter_stats s = { 0 };
	struct means m = { 0 };
	struct npuc_chain *ch = NULL;
	int *uses = NULL, *keep = NULL, rc = -1;

	if (st)
		*st = s;
	if (!(ratio > 0.0f && ratio < 1.0f)) {
		npuc_diag_set(d, "filter pruning ratio %g: give a fraction in (0, 1)", (double)ratio);
		return -1;
	}
	/* room for one bias per reader the pass may add */
	uses = calloc((size_t)g->n_t + (size_t)g->n_nodes + 1, sizeof(int));
	ch = calloc((size_t)g->n_nodes + 1, sizeof(*ch));
	m.sum = calloc((size_t)g->n_nodes + 1, sizeof(double *));
	if (!uses || !ch || !m.sum)
		goto oom;
	npuc_tensor_uses(g, uses);
	/* the chains, found on the unpruned graph (pruning changes sizes, not structure) */
	for (int i = 0; i < g->n_nodes; i++) {
		if (!npuc_chain_conv(g, uses, &g->nodes[i], 0))
			continue;
		if (!npuc_chain_follow(g, uses, i, 0, &ch[m.n])) {
			s.skipped++;
			continue;
		}
		m.sum[m.n] = calloc((size_t)npuc_tensor_numel(&g->t[ch[m.n].path[ch[m.n].n_path -
									   1]]) + 1,
				    sizeof(double));
		if (!m.sum[m.n++])
			goto oom;
	}
	m.ch = ch;
	if (data && data->n_samples > 0 && m.n && measure_means(g, data, &m, d))
		goto out;
	for (int i = 0; i < m.n; i++) {
		const struct npuc_chain *c = &ch[i];
		int64_t oc = g->t[g->nodes[c->conv].in[1]].dims[0];
		int nk;

		free(keep);
		keep = malloc((size_t)oc * sizeof(int) + 1);
		if (!keep)
			goto oom;
		nk = choose(g, c, ratio, keep);
		if (nk < 0)
			goto oom;
		s.filters += oc;
		s.removed += oc - nk;
		s.layers++;
		switch (compensate(g, uses, c, keep, nk,
				   data && data->n_samples > 0 ? m.sum[i] : NULL, d)) {
		case 1:
			s.compensated++;
			break;
		case -1:
			goto oom;
		}
		if (apply(g, c, keep, nk))
			goto oom;
	}
	rc = 0;
	if (st)
		*st = s;
	goto out;
oom:
	npuc_diag_set(d, "filter pruning: out of memory");
out:
	for (int i = 0; m.sum && i < m.n; i++)
		free(m.sum[i]);
	free(m.sum);
	free(ch);
	free(uses);
	free(keep);
	return rc;
}
