// SPDX-License-Identifier: MIT
/*
 * Sensitivity analysis for magnitude pruning (prune.h): how much each
 * layer alone hurts the model's outputs at ratios 10 % .. 90 %, then the
 * per-layer ratios that reach the target with the least total harm.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "prune.h"
#include "prune_internal.h"

#define LEVELS 10		/* level l = ratio l / 10; level 0 = dense */
#define MAX_LAYERS 1024

struct sens {
	struct npuc_graph *g;
	const struct npuc_prune_data *data;
	int64_t samples;
	float *ref;			/* [samples][out_n]: the unpruned outputs */
	int64_t out_n;
	struct npuc_value *in, *out;
};

/* Runs sample s; its outputs concatenated into y (out_n floats). 0 or -1. */
static int run(struct sens *s, int64_t k, float *y, struct npuc_diag *d)
{
	int64_t pos = 0;
	int rc = 0;

	if (s->data->sample(s->data->ctx, k, s->in, d) || npuc_ref_run(s->g, s->in, s->out, NULL, d))
		return -1;
	for (int o = 0; o < s->g->n_outputs; o++) {
		const struct npuc_value *v = &s->out[o];

		if (v->dtype != NPUC_DT_F32 || pos + v->numel > s->out_n) {
			npuc_diag_set(d, "pruning sensitivity: needs float outputs of a fixed size");
			rc = -1;
		} else {
			memcpy(y + pos, v->data, (size_t)v->numel * sizeof(float));
			pos += v->numel;
		}
		npuc_value_free(&s->out[o]);
	}
	return rc;
}

/* The relative output error sum (y - ref)^2 / sum ref^2 of the graph as it is. */
static int rel_error(struct sens *s, float *y, double *err, struct npuc_diag *d)
{
	double num = 0, den = 0;

	for (int64_t k = 0; k < s->samples; k++) {
		const float *r = s->ref + k * s->out_n;

		if (run(s, k, y, d))
			return -1;
		for (int64_t i = 0; i < s->out_n; i++) {
			num += ((double)y[i] - r[i]) * ((double)y[i] - r[i]);
			den += (double)r[i] * r[i];
		}
	}
	*err = den > 0 ? num / den : num;
	return 0;
}

/* err[j][l]: layer j alone pruned to level l (weights restored after). 0 or -1. */
static int measure(struct sens *s, const struct wlayout *w, int n, double (*err)[LEVELS],
		   float *y, struct npuc_diag *d)
{
	for (int j = 0; j < n; j++) {
		struct npuc_tensor *t = &s->g->t[w[j].t];
		int64_t cnt = npuc_tensor_numel(t);
		float *keep = malloc(t->nbytes + 1);

		if (!keep) {
			npuc_diag_set(d, "pruning sensitivity: out of memory");
			return -1;
		}
		memcpy(keep, t->data, t->nbytes);
		err[j][0] = 0;
		for (int l = 1; l < LEVELS; l++) {
			int rc = npuc_prune_smallest(s->g, &w[j], 1, cnt * l / LEVELS);

			if (!rc)
				rc = rel_error(s, y, &err[j][l], d);
			memcpy(t->data, keep, t->nbytes);
			if (rc) {
				free(keep);
				if (!d->msg[0])
					npuc_diag_set(d, "pruning sensitivity: out of memory");
				return -1;
			}
		}
		free(keep);
	}
	return 0;
}

/*
 * Greedy allocation: from all dense, repeatedly move the layer whose next
 * level costs the least error per weight zeroed, until target zeros are
 * reached; the last step is cut so the total is exact.
 */
static void allocate(const struct npuc_graph *g, const struct wlayout *w, int n,
		     double (*err)[LEVELS], int64_t target, int64_t *k)
{
	int lev[MAX_LAYERS];
	int64_t total = 0;

	for (int j = 0; j < n; j++) {
		lev[j] = 0;
		k[j] = 0;
	}
	while (total < target) {
		int best = -1;
		double best_cost = 0;

		for (int j = 0; j < n; j++) {
			int64_t cnt = npuc_tensor_numel(&g->t[w[j].t]), add;
			double cost;

			if (lev[j] + 1 >= LEVELS)
				continue;
			add = cnt * (lev[j] + 1) / LEVELS - k[j];
			if (add <= 0)
				add = 1;
			cost = (err[j][lev[j] + 1] - err[j][lev[j]]) / (double)add;
			if (best < 0 || cost < best_cost) {
				best = j;
				best_cost = cost;
			}
		}
		if (best < 0)
			break;		/* every layer at 90 %: the target is out of reach */
		lev[best]++;
		{
			int64_t next = npuc_tensor_numel(&g->t[w[best].t]) * lev[best] / LEVELS;

			if (total + next - k[best] > target)
				next = k[best] + target - total;
			total += next - k[best];
			k[best] = next;
		}
	}
}

int npuc_prune_sensitivity(struct npuc_graph *g, const struct wlayout *w, int n,
			   int64_t target, const struct npuc_prune_data *data, int64_t *k,
			   double *err_at, struct npuc_diag *d)
{
	struct sens s = { .g = g, .data = data };
	double (*err)[LEVELS] = NULL;
	float *y = NULL;
	int rc = -1;

	if (!data || data->n_samples < 1 || !data->sample) {
		npuc_diag_set(d, "pruning sensitivity: needs calibration samples to measure on");
		return -1;
	}
	if (n > MAX_LAYERS) {
		npuc_diag_set(d, "pruning sensitivity: %d layers (at most %d)", n, MAX_LAYERS);
		return -1;
	}
	s.samples = data->n_samples;
	s.in = calloc((size_t)g->n_inputs + 1, sizeof(*s.in));
	s.out = calloc((size_t)g->n_outputs + 1, sizeof(*s.out));
	err = calloc((size_t)n + 1, sizeof(*err));
	if (!s.in || !s.out || !err)
		goto oom;
	for (int o = 0; o < g->n_outputs; o++) {	/* shapes are known by now */
		int64_t e = npuc_tensor_numel(&g->t[g->outputs[o]]);

		if (e < 0) {
			npuc_diag_set(d, "pruning sensitivity: needs float outputs of a fixed size");
			goto out;
		}
		s.out_n += e;
	}
	s.ref = malloc((size_t)(s.samples * s.out_n) * sizeof(float) + 1);
	y = malloc((size_t)s.out_n * sizeof(float) + 1);
	if (!s.ref || !y)
		goto oom;
	for (int64_t i = 0; i < s.samples; i++)
		if (run(&s, i, s.ref + i * s.out_n, d))
			goto out;
	if (measure(&s, w, n, err, y, d))
		goto out;
	allocate(g, w, n, err, target, k);
	for (int j = 0; j < n; j++) {
		int64_t cnt = npuc_tensor_numel(&g->t[w[j].t]);
		int l = (int)(k[j] * LEVELS / (cnt ? cnt : 1));

		err_at[j] = err[j][l < LEVELS ? l : LEVELS - 1];
	}
	rc = 0;
	goto out;
oom:
	npuc_diag_set(d, "pruning sensitivity: out of memory");
out:
	free(s.in);
	free(s.out);
	free(s.ref);
	free(y);
	free(err);
	return rc;
}
