// SPDX-License-Identifier: MIT
/* Weight pruning: magnitude (global or per layer) and N:M (prune.h). */
#include "prune.h"
#include "prune_internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"
#include "passes.h"


int npuc_prune_enabled(const struct npuc_prune_opts *o, struct npuc_diag *d)
{
	if (!o)
		return 0;
	if (!(o->ratio >= 0.0f && o->ratio < 1.0f)) {
		npuc_diag_set(d, "pruning ratio %g: give a fraction in [0, 1) (0.5 zeroes half "
			      "of the weights)", (double)o->ratio);
		return -1;
	}
	if ((o->nm_n || o->nm_m) && !(o->nm_n >= 1 && o->nm_n < o->nm_m && o->nm_m <= 64)) {
		npuc_diag_set(d, "N:M pruning %d:%d: need 1 <= N < M <= 64 (e.g. 2:4)", o->nm_n,
			      o->nm_m);
		return -1;
	}
	return o->ratio > 0.0f || o->nm_m > 0;
}

int npuc_prune_parse_nm(const char *s, struct npuc_prune_opts *o, struct npuc_diag *d)
{
	int n, m, used = 0;

	if (!s || sscanf(s, "%d:%d%n", &n, &m, &used) != 2 || s[used]) {
		npuc_diag_set(d, "N:M pruning '%s': expected N:M, e.g. 2:4", s ? s : "");
		return -1;
	}
	o->nm_n = n;
	o->nm_m = m;
	return npuc_prune_enabled(o, d) < 0 ? -1 : 0;
}

/* The weight layout of input 1 of node n, or 0 if n has no prunable weight. */
static int weight_of(const struct npuc_graph *g, const struct npuc_node *n, struct wlayout *w)
{
	enum npuc_op op = npuc_node_op(n);
	const struct npuc_tensor *t;

	if (n->n_in < 2 || n->in[1] < 0 || !npuc_tensor_is_const(g, n->in[1]))
		return 0;
	t = &g->t[n->in[1]];
	if (t->dtype != NPUC_DT_F32 || (t->flags & NPUC_T_OUTPUT) ||
	    npuc_tensor_numel(t) <= 0 || t->nbytes != (size_t)npuc_tensor_numel(t) * 4)
		return 0;
	w->t = n->in[1];
	if (op == NPUC_OP_Conv && t->rank >= 3) {
		w->outer = t->dims[0];
		w->R = t->dims[1];
		w->inner = npuc_tensor_numel(t) / (w->outer * w->R);
		return w->outer > 0 && w->R > 0;
	}
	if ((op == NPUC_OP_Gemm || op == NPUC_OP_MatMul) && t->rank == 2) {
		int tb = op == NPUC_OP_Gemm && npuc_attr_int(n, "transB", 0);

		w->outer = tb ? t->dims[0] : 1;
		w->R = tb ? t->dims[1] : t->dims[0];
		w->inner = tb ? 1 : t->dims[1];
		return w->R > 0;
	}
	return 0;
}

/*
 * The prunable weights: every constant used only as the weight of Conv /
 * Gemm / MatMul nodes (a constant used otherwise too stays dense). -1 on
 * out of memory.
 */
int npuc_prune_find_weights(const struct npuc_graph *g, struct wlayout **out, int *n_out,
			    int *skipped)
{
	int *uses = calloc((size_t)g->n_t + 1, sizeof(int));
	int *wuses = calloc((size_t)g->n_t + 1, sizeof(int));
	struct wlayout *w = calloc((size_t)g->n_nodes + 1, sizeof(*w)), cur;
	int n = 0;

	if (!uses || !wuses || !w) {
		free(uses);
		free(wuses);
		free(w);
		return -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *nd = &g->nodes[i];

		for (int j = 0; j < nd->n_in; j++)
			if (nd->in[j] >= 0)
				uses[nd->in[j]]++;
		if (weight_of(g, nd, &cur))
			wuses[cur.t]++;
	}
	*skipped = 0;
	for (int i = 0; i < g->n_nodes; i++) {
		int dup = 0;

		if (!weight_of(g, &g->nodes[i], &cur))
			continue;
		for (int k = 0; k < n; k++)
			dup |= w[k].t == cur.t;
		if (dup)
			continue;
		if (uses[cur.t] != wuses[cur.t]) {
			(*skipped)++;
			continue;
		}
		w[n++] = cur;
	}
	free(uses);
	free(wuses);
	*out = w;
	*n_out = n;
	return 0;
}

/* Keeps the n largest |w| of the group (stride apart), ties to the lower index. */
static void nm_group(float *w, int64_t len, int64_t stride, int keep)
{
	float mag[64];
	int rank;

	for (int64_t r = 0; r < len; r++)
		mag[r] = fabsf(w[r * stride]);
	for (int64_t r = 0; r < len; r++) {
		rank = 0;	/* weights that beat r: larger, or equal and earlier */
		for (int64_t q = 0; q < len; q++)
			rank += mag[q] > mag[r] || (mag[q] == mag[r] && q < r);
		if (rank >= keep)
			w[r * stride] = 0.0f;
	}
}

static void prune_nm(struct npuc_graph *g, const struct wlayout *wl, int n, int m)
{
	float *w = g->t[wl->t].data;

	for (int64_t o = 0; o < wl->outer; o++)
		for (int64_t i = 0; i < wl->inner; i++)
			for (int64_t r0 = 0; r0 < wl->R; r0 += m) {
				int64_t len = wl->R - r0 < m ? wl->R - r0 : m;

				nm_group(w + (o * wl->R + r0) * wl->inner + i, len, wl->inner, n);
			}
}

static int64_t count_zeros(const struct npuc_graph *g, const struct wlayout *w, int n)
{
	int64_t z = 0;

	for (int j = 0; j < n; j++) {
		const float *v = g->t[w[j].t].data;
		int64_t cnt = npuc_tensor_numel(&g->t[w[j].t]);

		for (int64_t e = 0; e < cnt; e++)
			z += v[e] == 0.0f;
	}
	return z;
}

void npuc_prune_stats_free(struct npuc_prune_stats *st)
{
	if (!st)
		return;
	free(st->layer);
	st->layer = NULL;
}

/* Magnitude pruning with per-layer counts from the sensitivity analysis. */
static int prune_by_sensitivity(struct npuc_graph *g, const struct wlayout *w, int n,
				int64_t target, const struct npuc_prune_data *data,
				struct npuc_prune_stats *s, struct npuc_diag *d)
{
	int64_t *k = calloc((size_t)n + 1, sizeof(int64_t));
	double *err = calloc((size_t)n + 1, sizeof(double));
	int rc = -1;

	s->layer = calloc((size_t)n + 1, sizeof(*s->layer));
	if (!k || !err || !s->layer) {
		npuc_diag_set(d, "pruning: out of memory");
		goto out;
	}
	if (npuc_prune_sensitivity(g, w, n, target, data, k, err, d))
		goto out;
	for (int j = 0; j < n; j++) {
		if (npuc_prune_smallest(g, &w[j], 1, k[j])) {
			npuc_diag_set(d, "pruning: out of memory");
			goto out;
		}
		s->layer[j].name = g->t[w[j].t].name;
		s->layer[j].ratio = (double)k[j] / (double)npuc_tensor_numel(&g->t[w[j].t]);
		s->layer[j].err = err[j];
	}
	rc = 0;
out:
	free(k);
	free(err);
	return rc;
}

int npuc_prune(struct npuc_graph *g, const struct npuc_prune_opts *o,
	       const struct npuc_prune_data *data, struct npuc_prune_stats *st,
	       struct npuc_diag *d)
{
	struct npuc_prune_stats s = { 0 };
	struct wlayout *w = NULL;
	int n = 0, rc = npuc_prune_enabled(o, d);

	if (st)
		*st = s;
	if (rc <= 0)
		return rc;
	if (npuc_prune_find_weights(g, &w, &n, &s.skipped)) {
		npuc_diag_set(d, "pruning: out of memory");
		return -1;
	}
	s.layers = n;
	rc = 0;
	for (int j = 0; j < n; j++)
		s.weights += npuc_tensor_numel(&g->t[w[j].t]);
	s.zeros_before = count_zeros(g, w, n);
	for (int j = 0; o->nm_m && j < n; j++)
		prune_nm(g, &w[j], o->nm_n, o->nm_m);
	if (o->ratio > 0.0f && o->sensitivity) {
		if (prune_by_sensitivity(g, w, n, (int64_t)((double)o->ratio * (double)s.weights),
					 data, &s, d)) {
			free(w);
			npuc_prune_stats_free(&s);
			return -1;
		}
	} else if (o->ratio > 0.0f) {
		if (o->per_layer) {
			for (int j = 0; j < n && !rc; j++)
				rc = npuc_prune_smallest(g, &w[j], 1,
							 (int64_t)((double)o->ratio *
								   (double)npuc_tensor_numel(&g->t[w[j].t])));
		} else {
			rc = npuc_prune_smallest(g, w, n, (int64_t)((double)o->ratio * (double)s.weights));
		}
	}
	if (rc) {
		free(w);
		npuc_diag_set(d, "pruning: out of memory");
		return -1;
	}
	s.zeros_after = count_zeros(g, w, n);
	free(w);
	if (st)
		*st = s;
	else
		npuc_prune_stats_free(&s);
	return 0;
}
