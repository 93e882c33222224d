// SPDX-License-Identifier: MIT
/* Cross-layer equalisation (equalize.h). */
#include "equalize.h"

#include <math.h>
#include <stdlib.h>

#include "channel_chain.h"
#include "passes.h"

#define SWEEPS 8		/* equalise all pairs again until the scales settle */

/* max |w| over the reader's weights on channel ch, which it multiplies by s. */
static double reader_range(struct npuc_graph *g, const struct npuc_chain *c, int64_t oc,
			   int64_t ch, double s)
{
	const struct npuc_node *r = &g->nodes[c->reader];
	struct npuc_tensor *w = &g->t[r->in[1]];
	float *p = w->data;
	double m = 0;

	if (c->flat >= 0) {			/* Gemm: K rows ch * hw .. + hw */
		int tb = npuc_attr_int(r, "transB", 0) != 0;
		int64_t n = w->dims[tb ? 0 : 1];

		for (int64_t o = 0; o < n; o++)
			for (int64_t q = 0; q < c->hw; q++) {
				int64_t kk = ch * c->hw + q;
				float *e = tb ? &p[o * oc * c->hw + kk] : &p[kk * n + o];

				m = fmax(m, fabs(*e));
				*e = (float)(*e * s);
			}
		return m;
	}
	{					/* Conv [OC2, C / G, kh, kw] */
		int64_t grp = npuc_attr_int(r, "group", 1), icg = oc / grp;
		int64_t oc2 = w->dims[0], per = w->dims[2] * w->dims[3], og = oc2 / grp;
		int64_t g0 = ch / icg, ci = ch % icg;

		for (int64_t o = g0 * og; o < (g0 + 1) * og; o++)
			for (int64_t q = 0; q < per; q++) {
				float *e = &p[(o * icg + ci) * per + q];

				m = fmax(m, fabs(*e));
				*e = (float)(*e * s);
			}
		return m;
	}
}

/* Equalises one chain; returns the largest |log s| applied. */
static double equalize_chain(struct npuc_graph *g, const struct npuc_chain *c)
{
	const struct npuc_node *a = &g->nodes[c->conv];
	struct npuc_tensor *w = &g->t[a->in[1]];
	float *bias = a->n_in > 2 && a->in[2] >= 0 ? g->t[a->in[2]].data : NULL;
	int64_t oc = w->dims[0], per = npuc_tensor_numel(w) / oc;
	float *p = w->data;
	double moved = 0;

	for (int64_t ch = 0; ch < oc; ch++) {
		double r1 = 0, r2 = reader_range(g, c, oc, ch, 1.0), s;

		for (int64_t q = 0; q < per; q++)
			r1 = fmax(r1, fabs(p[ch * per + q]));
		if (!(r1 > 0) || !(r2 > 0) || !isfinite(r1) || !isfinite(r2))
			continue;
		s = sqrt(r1 / r2);		/* both ranges become sqrt(r1 * r2) */
		for (int64_t q = 0; q < per; q++)
			p[ch * per + q] = (float)(p[ch * per + q] / s);
		if (bias)
			bias[ch] = (float)(bias[ch] / s);
		reader_range(g, c, oc, ch, s);
		moved = fmax(moved, fabs(log(s)));
	}
	return moved;
}

int npuc_equalize(struct npuc_graph *g, struct npuc_equalize_stats *st, struct npuc_diag *d)
{
	struct npuc_equalize_stats s = { 0 };
	struct npuc_chain *ch = calloc((size_t)g->n_nodes + 1, sizeof(*ch));
	int *uses = calloc((size_t)g->n_t + 1, sizeof(int));
	int n = 0;

	if (st)
		*st = s;
	if (!ch || !uses) {
		free(ch);
		free(uses);
		npuc_diag_set(d, "equalisation: out of memory");
		return -1;
	}
	npuc_tensor_uses(g, uses);
	for (int i = 0; i < g->n_nodes; i++)
		if (npuc_chain_conv(g, uses, &g->nodes[i], 1) &&
		    npuc_chain_follow(g, uses, i, NPUC_CHAIN_HOMOGENEOUS | NPUC_CHAIN_GROUPED,
				      &ch[n]))
			n++;
	for (s.sweeps = 0; n && s.sweeps < SWEEPS; s.sweeps++) {
		double moved = 0;

		for (int i = 0; i < n; i++)
			moved = fmax(moved, equalize_chain(g, &ch[i]));
		if (moved < 1e-3)	/* no channel rescaled by more than 0.1 % */
			break;
	}
	s.pairs = n;
	free(ch);
	free(uses);
	if (st)
		*st = s;
	return 0;
}
