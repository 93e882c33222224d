// SPDX-License-Identifier: MIT
/*
 * Float graph simplification before quantisation (passes.h): constant
 * folding through the float reference executor, BatchNormalization
 * folding, Identity / Dropout removal.
 */
#include "passes.h"

#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"
#include "ref_float.h"

static int tensor_is_input(const struct npuc_graph *g, int t)
{
	for (int i = 0; i < g->n_inputs; i++)
		if (g->inputs[i] == t)
			return 1;
	return 0;
}


/* A name not used by any tensor yet: base + suffix, then base + suffix + ".N". */
static char *fresh_name(const struct npuc_graph *g, const char *base, const char *suffix)
{
	size_t len = strlen(base) + strlen(suffix) + 16;
	char *s = malloc(len);

	if (!s)
		return NULL;
	snprintf(s, len, "%s%s", base, suffix);
	for (int k = 1; npuc_graph_find(g, s) >= 0; k++) {
		if (k == INT_MAX) {
			free(s);
			return NULL;
		}
		snprintf(s, len, "%s%s.%d", base, suffix, k);
	}
	return s;
}

/* New constant F32 tensor named after base; takes ownership of data. */
static int add_const_f32(struct npuc_graph *g, const char *base, const char *suffix, int rank,
			 const int64_t *dims, float *data, struct npuc_diag *d)
{
	char *name = fresh_name(g, base, suffix);
	int64_t n = 1;
	int t;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	if (!name) {
		free(data);
		npuc_diag_set(d, "out of memory naming a constant");
		return -1;
	}
	t = npuc_graph_add_tensor(g, name, NPUC_DT_F32, rank, dims, d);
	free(name);
	if (t < 0) {
		free(data);
		return -1;
	}
	if (npuc_tensor_set_data(g, t, data, (size_t)n * sizeof(float), d) < 0)
		return -1;
	return t;
}

/* Releases the data of a constant nobody reads any more. */
static void release_if_unused(struct npuc_graph *g, int t)
{
	if (t < 0 || t >= g->n_t || !(g->t[t].flags & NPUC_T_CONST) ||
	    npuc_tensor_is_output(g, t))
		return;
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		for (int j = 0; j < n->n_in; j++)
			if (n->in[j] == t)
				return;
		for (int j = 0; j < n->n_attrs; j++)
			if (n->attrs[j].type == NPUC_ATTR_TENSOR && n->attrs[j].i == t)
				return;
	}
	free(g->t[t].data);
	g->t[t].data = NULL;
	g->t[t].nbytes = 0;
	g->t[t].flags &= ~NPUC_T_CONST;
}

static void replace_uses(struct npuc_graph *g, int from, int to)
{
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_in; j++)
			if (g->nodes[i].in[j] == from)
				g->nodes[i].in[j] = to;
}

static int default_domain(const struct npuc_node *n)
{
	return !n->domain || !n->domain[0] || !strcmp(n->domain, "ai.onnx");
}

static const float *const_f32(const struct npuc_graph *g, int t, int64_t numel)
{
	if (!npuc_tensor_is_const(g, t) || g->t[t].dtype != NPUC_DT_F32 ||
	    npuc_tensor_numel(&g->t[t]) != numel || g->t[t].nbytes != (size_t)numel * 4)
		return NULL;
	return g->t[t].data;
}

/* ---- constant folding ---- */

static int fold_excluded(const struct npuc_node *n)
{
	if (npuc_op_flags(npuc_op_find(NULL, n->op)) & OPF_NO_FOLD)
		return 1;
	return !default_domain(n) || !npuc_ref_op_supported(n->op, n->domain);
}

/* Makes value v the data of tensor t (v's data is taken over). */
static int adopt_value(struct npuc_graph *g, int t, struct npuc_value *v, struct npuc_diag *d)
{
	size_t nb = (size_t)v->numel * npuc_dtype_size(v->dtype);
	void *data = v->data;

	if (g->t[t].dtype == NPUC_DT_F16 || g->t[t].dtype == NPUC_DT_F64)
		g->t[t].dtype = NPUC_DT_F32;	/* the executor computes these in float32 */
	if (npuc_tensor_refine(g, t, v->dtype, v->rank, v->dims, "constant folding", d) < 0)
		return -1;
	if (!v->owned || !data) {
		data = malloc(nb ? nb : 1);
		if (!data) {
			npuc_diag_set(d, "out of memory");
			return -1;
		}
		if (nb)
			memcpy(data, v->data, nb);
	}
	v->owned = 0;
	v->data = NULL;
	return npuc_tensor_set_data(g, t, data, nb, d);
}

/* Evaluates node ni alone with the float executor: 1 folded, 0 left alone, -1 error. */
static int fold_eval(struct npuc_graph *g, int ni, struct npuc_diag *d)
{
	struct npuc_node *n = &g->nodes[ni];
	struct npuc_graph view = *g;
	struct npuc_value *vals;
	int *outs, nv = 0, rc;
	uint64_t total = 0;

	outs = calloc((size_t)n->n_out + 1, sizeof(*outs));
	vals = calloc((size_t)n->n_out + 1, sizeof(*vals));
	if (!outs || !vals) {
		free(outs);
		free(vals);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int j = 0; j < n->n_out; j++)
		if (n->out[j] >= 0)
			outs[nv++] = n->out[j];
	/* a one-node view of the graph: shares tensors, no inputs */
	view.nodes = n;
	view.n_nodes = 1;
	view.inputs = NULL;
	view.n_inputs = 0;
	view.outputs = outs;
	view.n_outputs = nv;
	rc = npuc_ref_run(&view, NULL, vals, NULL, d);
	if (rc == NPUC_REF_UNSUPPORTED) {
		rc = 0;
		goto out;
	}
	if (rc) {
		char msg[sizeof(d->msg)];

		snprintf(msg, sizeof(msg), "%s", d ? d->msg : "");
		npuc_diag_set(d, "constant folding of node '%s' (%s): %s", n->name, n->op, msg);
		rc = -1;
		goto out;
	}
	for (int j = 0; j < nv; j++)
		total += (uint64_t)vals[j].numel * npuc_dtype_size(vals[j].dtype);
	if (total > NPUC_FOLD_MAX_BYTES)
		goto out;	/* rc = 0: too big to keep as a constant */
	for (int j = 0; j < nv; j++)
		if (adopt_value(g, outs[j], &vals[j], d) < 0) {
			rc = -1;
			goto out;
		}
	rc = 1;
out:
	for (int j = 0; j < nv; j++)
		npuc_value_free(&vals[j]);
	free(vals);
	free(outs);
	return rc;
}

/* Shape / Size of a tensor with a fully known shape. 1 folded, 0 not, -1 error. */
static int fold_shape(struct npuc_graph *g, int ni, struct npuc_diag *d)
{
	const struct npuc_node *n = &g->nodes[ni];
	const struct npuc_tensor *x;
	int size = npuc_node_op(n) == NPUC_OP_Size;
	int64_t start, end, dims[1], *data;
	int out;

	if (n->n_in < 1 || n->in[0] < 0 || n->n_out != 1 || n->out[0] < 0)
		return 0;
	x = &g->t[n->in[0]];
	out = n->out[0];
	if (npuc_tensor_numel(x) < 0)
		return 0;
	start = npuc_attr_int(n, "start", 0);
	end = npuc_attr_int(n, "end", x->rank);
	start = start < 0 ? start + x->rank : start;
	end = end < 0 ? end + x->rank : end;
	start = start < 0 ? 0 : start > x->rank ? x->rank : start;
	end = end < start ? start : end > x->rank ? x->rank : end;
	dims[0] = size ? 1 : end - start;
	data = malloc(sizeof(int64_t) * (size_t)(dims[0] ? dims[0] : 1));
	if (!data) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	if (size)
		data[0] = npuc_tensor_numel(x);
	else
		for (int64_t i = 0; i < dims[0]; i++)
			data[i] = x->dims[start + i];
	if (npuc_tensor_refine(g, out, NPUC_DT_I64, size ? 0 : 1, dims, "constant folding",
			       d) < 0) {
		free(data);
		return -1;
	}
	if (npuc_tensor_set_data(g, out, data, sizeof(int64_t) * (size_t)dims[0], d) < 0)
		return -1;
	return 1;
}

static int all_inputs_const(const struct npuc_graph *g, const struct npuc_node *n)
{
	for (int j = 0; j < n->n_in; j++)
		if (n->in[j] >= 0 && !npuc_tensor_is_const(g, n->in[j]))
			return 0;
	return 1;
}

static int outputs_free(const struct npuc_graph *g, const struct npuc_node *n)
{
	int any = 0;

	for (int j = 0; j < n->n_out; j++) {
		if (n->out[j] < 0)
			continue;
		/* a graph output stays computed (the qgraph has no constants) */
		if (tensor_is_input(g, n->out[j]) || npuc_tensor_is_output(g, n->out[j]))
			return 0;
		any = 1;
	}
	return any;
}

int npuc_pass_fold_constants(struct npuc_graph *g, struct npuc_pass_stats *st,
			     struct npuc_diag *d)
{
	unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
	int count = 0, rc = 0;

	if (!dead) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int i = 0; i < g->n_nodes && rc >= 0; i++) {
		const struct npuc_node *n = &g->nodes[i];

		if (!outputs_free(g, n))
			continue;
		if (npuc_node_op(n) == NPUC_OP_Shape || npuc_node_op(n) == NPUC_OP_Size)
			rc = fold_shape(g, i, d);
		else if (!fold_excluded(n) && all_inputs_const(g, n))
			rc = fold_eval(g, i, d);
		else
			rc = 0;
		if (rc > 0) {
			dead[i] = 1;
			count++;
		}
	}
	if (count)
		npuc_graph_remove_nodes(g, dead);
	free(dead);
	if (st)
		st->folded += count;
	return rc < 0 ? -1 : 0;
}

/* ---- BatchNormalization ---- */

struct bn {
	int64_t c;
	double *s, *b;		/* y = x * s + b per channel */
};

static void bn_free(struct bn *bn)
{
	free(bn->s);
	free(bn->b);
}

/* Reads an inference-mode BatchNormalization; 1 ok, 0 not foldable, -1 error. */
static int bn_read(const struct npuc_graph *g, const struct npuc_node *n, const int *uses,
		   int64_t c, struct bn *bn, struct npuc_diag *d)
{
	const float *sc, *bi, *mean, *var;
	double eps = npuc_attr_float(n, "epsilon", 1e-5f);

	memset(bn, 0, sizeof(*bn));
	if (n->n_in != 5 || n->n_out < 1 || n->out[0] < 0 || c < 1 ||
	    npuc_attr_int(n, "training_mode", 0) != 0)
		return 0;
	for (int j = 1; j < n->n_out; j++)
		if (n->out[j] >= 0 && uses[n->out[j]])
			return 0;
	sc = const_f32(g, n->in[1], c);
	bi = const_f32(g, n->in[2], c);
	mean = const_f32(g, n->in[3], c);
	var = const_f32(g, n->in[4], c);
	if (!sc || !bi || !mean || !var)
		return 0;
	bn->c = c;
	bn->s = malloc((size_t)c * sizeof(double));
	bn->b = malloc((size_t)c * sizeof(double));
	if (!bn->s || !bn->b) {
		bn_free(bn);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int64_t i = 0; i < c; i++) {
		bn->s[i] = sc[i] / sqrt((double)var[i] + eps);
		bn->b[i] = bi[i] - mean[i] * bn->s[i];
	}
	return 1;
}

/* Node input j := t, growing the input array when needed. */
static int set_input(struct npuc_node *n, int j, int t, struct npuc_diag *d)
{
	if (j >= n->n_in) {
		int *in = realloc(n->in, (size_t)(j + 1) * sizeof(int));

		if (!in) {
			npuc_diag_set(d, "out of memory");
			return -1;
		}
		for (int k = n->n_in; k < j; k++)
			in[k] = -1;
		n->in = in;
		n->n_in = j + 1;
	}
	n->in[j] = t;
	return 0;
}

/* The producer p now writes the BatchNorm's output; the BatchNorm dies. */
static void bn_take_output(struct npuc_graph *g, int p, int bni, unsigned char *dead)
{
	int y = g->nodes[bni].out[0];

	g->nodes[p].out[0] = y;
	g->t[y].producer = p;
	dead[bni] = 1;
}

static int fold_bn_conv(struct npuc_graph *g, int p, int bni, const struct bn *bn,
			unsigned char *dead, struct npuc_diag *d)
{
	struct npuc_node *cv = &g->nodes[p];
	int wt = cv->in[1], bt = cv->n_in > 2 ? cv->in[2] : -1, nw, nb;
	const struct npuc_tensor *w = &g->t[wt];
	int64_t per = npuc_tensor_numel(w) / bn->c;
	const float *wd = const_f32(g, wt, bn->c * per), *bd = NULL;
	float *w2, *b2;
	int64_t bdim[1] = { bn->c };

	if (w->rank < 3 || w->dims[0] != bn->c || !wd)
		return 0;
	if (bt >= 0 && !(bd = const_f32(g, bt, bn->c)))
		return 0;
	w2 = malloc((size_t)(bn->c * per) * sizeof(float) + 1);
	b2 = malloc((size_t)bn->c * sizeof(float));
	if (!w2 || !b2) {
		free(w2);
		free(b2);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int64_t o = 0; o < bn->c; o++) {
		for (int64_t k = 0; k < per; k++)
			w2[o * per + k] = (float)(wd[o * per + k] * bn->s[o]);
		b2[o] = (float)((bd ? bd[o] : 0.0) * bn->s[o] + bn->b[o]);
	}
	nw = add_const_f32(g, g->t[wt].name, ".bnfold", w->rank, w->dims, w2, d);
	if (nw < 0) {
		free(b2);
		return -1;
	}
	nb = add_const_f32(g, g->t[wt].name, ".bnbias", 1, bdim, b2, d);
	if (nb < 0)
		return -1;
	cv = &g->nodes[p];
	if (set_input(cv, 1, nw, d) < 0 || set_input(cv, 2, nb, d) < 0)
		return -1;
	bn_take_output(g, p, bni, dead);
	return 1;
}

static struct npuc_attr *attr_mut(struct npuc_node *n, const char *name)
{
	for (int i = 0; i < n->n_attrs; i++)
		if (!strcmp(n->attrs[i].name, name))
			return &n->attrs[i];
	return NULL;
}

/* Gemm bias C as a per-column vector: element index for column j, or -1. */
static int gemm_c_per_column(const struct npuc_tensor *c, int64_t n)
{
	int64_t last = c->rank >= 1 ? c->dims[c->rank - 1] : 1;

	if (c->rank > 2 || (c->rank == 2 && c->dims[0] != 1) || (last != 1 && last != n))
		return -1;
	return last == n;	/* 1: C[j], 0: C[0] for every column */
}

static int fold_bn_gemm(struct npuc_graph *g, int p, int bni, const struct bn *bn,
			unsigned char *dead, struct npuc_diag *d)
{
	struct npuc_node *gm = &g->nodes[p];
	int bt = gm->in[1], ct = gm->n_in > 2 ? gm->in[2] : -1, tb, nw, nc, percol = 0;
	const struct npuc_tensor *b = &g->t[bt];
	double alpha = npuc_attr_float(gm, "alpha", 1.0f), beta = npuc_attr_float(gm, "beta", 1.0f);
	const float *bd, *cd = NULL;
	int64_t k, cdim[1] = { bn->c };
	float *b2, *c2;
	struct npuc_attr *a;

	tb = (int)npuc_attr_int(gm, "transB", 0);
	if (b->rank != 2 || b->dims[tb ? 0 : 1] != bn->c)
		return 0;
	k = b->dims[tb ? 1 : 0];
	bd = const_f32(g, bt, k * bn->c);
	if (!bd)
		return 0;
	if (ct >= 0) {
		percol = gemm_c_per_column(&g->t[ct], bn->c);
		cd = const_f32(g, ct, npuc_tensor_numel(&g->t[ct]));
		if (percol < 0 || !cd)
			return 0;
	}
	b2 = malloc((size_t)(k * bn->c) * sizeof(float) + 1);
	c2 = malloc((size_t)bn->c * sizeof(float));
	if (!b2 || !c2) {
		free(b2);
		free(c2);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int64_t i = 0; i < k * bn->c; i++) {
		int64_t col = tb ? i / k : i % bn->c;

		b2[i] = (float)(alpha * bd[i] * bn->s[col]);
	}
	for (int64_t j = 0; j < bn->c; j++)
		c2[j] = (float)((cd ? beta * cd[percol ? j : 0] : 0.0) * bn->s[j] + bn->b[j]);
	nw = add_const_f32(g, b->name, ".bnfold", 2, b->dims, b2, d);
	if (nw < 0) {
		free(c2);
		return -1;
	}
	nc = add_const_f32(g, g->t[bt].name, ".bnbias", 1, cdim, c2, d);
	if (nc < 0)
		return -1;
	gm = &g->nodes[p];
	if (set_input(gm, 1, nw, d) < 0 || set_input(gm, 2, nc, d) < 0)
		return -1;
	a = attr_mut(gm, "alpha");
	if (a)
		a->f = 1.0f;
	a = attr_mut(gm, "beta");
	if (a)
		a->f = 1.0f;
	bn_take_output(g, p, bni, dead);
	return 1;
}

/* Rewrites a 4-D BatchNormalization into Conv(x, W[c,1,1,1], B, group = c). */
static int bn_to_conv(struct npuc_graph *g, int bni, const struct bn *bn, struct npuc_diag *d)
{
	struct npuc_node *n = &g->nodes[bni];
	const char *base = g->t[n->out[0]].name;
	int64_t wdim[4] = { bn->c, 1, 1, 1 }, bdim[1] = { bn->c }, *ks;
	float *w = malloc((size_t)bn->c * sizeof(float));
	float *b = malloc((size_t)bn->c * sizeof(float));
	struct npuc_attr grp = { 0 }, kattr = { 0 };
	char *op;
	int wt, bt;

	if (!w || !b) {
		free(w);
		free(b);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	for (int64_t i = 0; i < bn->c; i++) {
		w[i] = (float)bn->s[i];
		b[i] = (float)bn->b[i];
	}
	wt = add_const_f32(g, base, ".bn_w", 4, wdim, w, d);
	if (wt < 0) {
		free(b);
		return -1;
	}
	bt = add_const_f32(g, base, ".bn_b", 1, bdim, b, d);
	op = strdup("Conv");
	grp.name = strdup("group");
	kattr.name = strdup("kernel_shape");
	ks = malloc(2 * sizeof(int64_t));
	if (bt < 0 || !op || !grp.name || !kattr.name || !ks) {
		free(op);
		free(grp.name);
		free(kattr.name);
		free(ks);
		if (bt >= 0)
			npuc_diag_set(d, "out of memory");
		return -1;
	}
	n = &g->nodes[bni];
	free(n->op);
	n->op = op;
	npuc_attrs_free(n->attrs, n->n_attrs);
	n->attrs = NULL;
	n->n_attrs = 0;
	n->in[1] = wt;
	n->in[2] = bt;
	n->n_in = 3;
	n->n_out = 1;
	grp.type = NPUC_ATTR_INT;
	grp.i = bn->c;
	ks[0] = ks[1] = 1;
	kattr.type = NPUC_ATTR_INTS;
	kattr.ints = ks;
	kattr.n = 2;
	if (npuc_node_add_attr(g, bni, &grp, d) < 0) {
		free(kattr.name);
		free(ks);
		return -1;
	}
	return npuc_node_add_attr(g, bni, &kattr, d);
}

/* Producer p of the BatchNorm's input, if it can absorb it. */
static int bn_absorber(const struct npuc_graph *g, const struct npuc_node *bn, const int *uses)
{
	int x = bn->in[0], p;
	const struct npuc_node *pn;

	if (x < 0 || uses[x] != 1 || npuc_tensor_is_output(g, x) || g->t[x].dtype != NPUC_DT_F32)
		return -1;
	p = g->t[x].producer;
	if (p < 0)
		return -1;
	pn = &g->nodes[p];
	if (!default_domain(pn) || pn->n_out != 1 || pn->out[0] != x || pn->n_in < 2)
		return -1;
	if (npuc_node_op(pn) == NPUC_OP_Conv && npuc_tensor_is_const(g, pn->in[1]))
		return p;
	if (npuc_node_op(pn) == NPUC_OP_Gemm && npuc_tensor_is_const(g, pn->in[1]) &&
	    npuc_attr_int(pn, "transA", 0) == 0)
		return p;
	return -1;
}

static int fold_one_bn(struct npuc_graph *g, int i, const int *uses, unsigned char *dead,
		       struct npuc_pass_stats *st, struct npuc_diag *d)
{
	const struct npuc_node *n = &g->nodes[i];
	const struct npuc_tensor *x;
	struct bn bn;
	int p, rc;

	if (n->n_in < 1 || n->in[0] < 0)
		return 0;
	x = &g->t[n->in[0]];
	if (x->rank < 2 || x->dims[1] < 1 || x->dims[1] > INT32_MAX)
		return 0;
	rc = bn_read(g, n, uses, x->dims[1], &bn, d);
	if (rc <= 0)
		return rc;
	p = bn_absorber(g, n, uses);
	rc = 0;
	if (p >= 0 && !dead[p] && npuc_node_op(&g->nodes[p]) == NPUC_OP_Conv)
		rc = fold_bn_conv(g, p, i, &bn, dead, d);
	else if (p >= 0 && !dead[p] && x->rank == 2)
		rc = fold_bn_gemm(g, p, i, &bn, dead, d);
	if (rc > 0 && st)
		st->bn_folded++;
	if (rc == 0 && x->rank == 4) {
		rc = bn_to_conv(g, i, &bn, d);
		if (rc == 0 && st)
			st->bn_to_conv++;
		rc = rc < 0 ? -1 : 1;
	}
	bn_free(&bn);
	return rc;
}

int npuc_pass_fold_batchnorm(struct npuc_graph *g, struct npuc_pass_stats *st,
			     struct npuc_diag *d)
{
	int *uses = malloc(((size_t)g->n_t + 1) * sizeof(int));
	unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
	int n0 = g->n_t, rc = 0, any = 0;

	if (!uses || !dead) {
		free(uses);
		free(dead);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	npuc_tensor_uses(g, uses);
	for (int i = 0; i < g->n_nodes && rc >= 0; i++) {
		if (npuc_node_op(&g->nodes[i]) != NPUC_OP_BatchNormalization)
			continue;
		rc = fold_one_bn(g, i, uses, dead, st, d);
		any |= rc > 0;
	}
	if (any) {
		npuc_graph_remove_nodes(g, dead);
		for (int t = 0; t < n0; t++)	/* weights replaced by folded copies */
			if (g->t[t].flags & NPUC_T_CONST)
				release_if_unused(g, t);
	}
	free(uses);
	free(dead);
	return rc < 0 ? -1 : 0;
}

/* ---- Identity / Dropout ---- */

static int passthrough(const struct npuc_graph *g, const struct npuc_node *n, const int *uses)
{
	if (!default_domain(n) || n->n_in < 1 || n->in[0] < 0 || n->n_out < 1 || n->out[0] < 0)
		return 0;
	if (npuc_node_op(n) == NPUC_OP_Identity)
		return n->n_in == 1 && n->n_out == 1;
	if (npuc_node_op(n) != NPUC_OP_Dropout)
		return 0;
	for (int j = 1; j < n->n_out; j++)
		if (n->out[j] >= 0 && uses[n->out[j]])
			return 0;	/* the mask is used */
	if (n->n_in > 2 && n->in[2] >= 0) {
		const struct npuc_tensor *tm = &g->t[n->in[2]];

		if (!npuc_tensor_is_const(g, n->in[2]) || tm->dtype != NPUC_DT_BOOL ||
		    tm->nbytes != 1 || *(const unsigned char *)tm->data)
			return 0;
	}
	return npuc_attr_int(n, "is_test", 1) != 0;	/* opset <= 6: is_test = 0 trains */
}

static int remove_one(struct npuc_graph *g, int i)
{
	struct npuc_node *n = &g->nodes[i];
	int x = n->in[0], y = n->out[0], p;

	if (!npuc_tensor_is_output(g, y)) {
		replace_uses(g, y, x);
		return 1;
	}
	/* y names a graph output: let x's producer write y instead */
	p = g->t[x].producer;
	if (p < 0 || tensor_is_input(g, x) || npuc_tensor_is_output(g, x) ||
	    npuc_tensor_is_const(g, x))
		return 0;
	for (int j = 0; j < g->nodes[p].n_out; j++)
		if (g->nodes[p].out[j] == x)
			g->nodes[p].out[j] = y;
	g->t[y].producer = p;
	g->t[x].producer = -1;
	replace_uses(g, x, y);
	return 1;
}

int npuc_pass_remove_identity(struct npuc_graph *g, struct npuc_pass_stats *st,
			      struct npuc_diag *d)
{
	int *uses = malloc(((size_t)g->n_t + 1) * sizeof(int));
	unsigned char *dead = calloc((size_t)g->n_nodes + 1, 1);
	int count = 0;

	if (!uses || !dead) {
		free(uses);
		free(dead);
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	npuc_tensor_uses(g, uses);
	for (int i = 0; i < g->n_nodes; i++) {
		if (!passthrough(g, &g->nodes[i], uses))
			continue;
		if (remove_one(g, i)) {
			/* the node reads nothing any more: keep later checks exact */
			g->nodes[i].n_in = 0;
			dead[i] = 1;
			count++;
			npuc_tensor_uses(g, uses);
		}
	}
	if (count)
		npuc_graph_remove_nodes(g, dead);
	free(uses);
	free(dead);
	if (st)
		st->removed += count;
	return 0;
}

int npuc_pass_fold(struct npuc_graph *g, struct npuc_pass_stats *st, struct npuc_diag *d)
{
	if (!g) {
		npuc_diag_set(d, "fold: no graph");
		return -1;
	}
	if (npuc_pass_fold_constants(g, st, d) < 0 || npuc_pass_remove_identity(g, st, d) < 0 ||
	    npuc_pass_fold_batchnorm(g, st, d) < 0)
		return -1;
	return 0;
}
