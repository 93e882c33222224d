// SPDX-License-Identifier: MIT
/*
 * npuc activation range observers: min/max, percentile, entropy (KL) and
 * MSE calibration (methods described in calib_observe.h).
 */
#include <float.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_observe.h"
#include "quantize.h"

#define KL_SMOOTH	1e-4	/* counts given to Q where Q = 0 < P */

struct obs_tensor {
	double min, max;		/* finite values seen in pass 0 */
	int64_t count;			/* finite values seen in pass 0 */
	int64_t nonfinite;
	double hlo, hhi;		/* histogram range, contains 0 */
	double *hist;			/* bin counts of nonzero values (pass 1), or NULL */
	double zeros;			/* exact zeros seen in pass 1 */
};

struct npuc_calib_obs {
	const struct npuc_graph *g;
	struct npuc_calib_cfg cfg;
	int n_t;
	struct obs_tensor *t;
	int pass;
};

static const char *const method_names[] = {
	[NPUC_CALIB_MINMAX] = "minmax",
	[NPUC_CALIB_PERCENTILE] = "percentile",
	[NPUC_CALIB_ENTROPY] = "entropy",
	[NPUC_CALIB_MSE] = "mse",
};

int npuc_calib_method_parse(const char *name)
{
	int i;

	if (!strcmp(name, "kl"))
		return NPUC_CALIB_ENTROPY;
	for (i = 0; i <= NPUC_CALIB_MSE; i++)
		if (!strcmp(name, method_names[i]))
			return i;
	return -1;
}

const char *npuc_calib_method_name(enum npuc_calib_method m)
{
	if ((unsigned int)m > NPUC_CALIB_MSE)
		return "?";
	return method_names[m];
}

/* ---- histogram searches ---- */

static double hist_quantile(const double *h, int nb, double lo, double w, double total,
			    double q)
{
	double target = q * total, cum = 0;
	int i;

	for (i = 0; i < nb; i++) {
		if (h[i] > 0 && cum + h[i] >= target) {
			double frac = (target - cum) / h[i];

			return lo + (i + (frac < 0 ? 0 : frac)) * w;
		}
		cum += h[i];
	}
	return lo + nb * w;
}

static double hist_total(const double *h, int nb)
{
	double s = 0;
	int i;

	for (i = 0; i < nb; i++)
		s += h[i];
	return s;
}

void npuc_hist_percentile(const double *h, int nb, double lo, double hi, double pct,
			  double *rlo, double *rhi)
{
	double w = (hi - lo) / nb, total = hist_total(h, nb), q = pct / 100.0;

	if (total <= 0 || !(hi > lo)) {
		*rlo = fmin(lo, 0);
		*rhi = fmax(hi, 0);
		return;
	}
	if (q > 1)
		q = 1;
	if (q < 0.5)
		q = 0.5;
	*rlo = fmin(hist_quantile(h, nb, lo, w, total, 1 - q), 0);
	*rhi = fmax(hist_quantile(h, nb, lo, w, total, q), 0);
}

struct hwin {
	const double *h;
	int nb, levels;
	double lo, w;
	double *pre;			/* prefix sums, nb + 1 */
};

typedef double (*win_cost_fn)(const struct hwin *c, int a, int b);

/* KL(P || Q) of window [a, b) against its quantisation to c->levels levels. */
static double kl_cost(const struct hwin *c, int a, int b)
{
	int n = b - a, L = c->levels, l;
	double left = c->pre[a], right = c->pre[c->nb] - c->pre[b];
	double sp = c->pre[c->nb], sq = 0, acc = 0;
	const double *h = c->h + a;

	for (l = 0; l < L; l++) {
		int j0 = (int)(((int64_t)l * n + L - 1) / L);
		int j1 = (int)(((int64_t)(l + 1) * n + L - 1) / L);
		double mass = c->pre[a + j1] - c->pre[a + j0];
		int nz = 0, j;

		for (j = j0; j < j1; j++) {
			double p = h[j] + (j == 0 ? left : 0) + (j == n - 1 ? right : 0);

			nz += p > 0;
		}
		for (j = j0; j < j1 && nz; j++) {
			double p = h[j] + (j == 0 ? left : 0) + (j == n - 1 ? right : 0);
			double q = mass / nz;

			if (p <= 0)
				continue;
			if (q <= 0)
				q = KL_SMOOTH;
			sq += q;
			acc += p * log(p / q);
		}
	}
	if (sp <= 0 || sq <= 0)
		return HUGE_VAL;
	return acc / sp + log(sq / sp);
}

static double cube(double x)
{
	return x * x * x;
}

/*
 * 3 * integral over [x0, x1] of (x - Q(x))^2 for the quantiser of scale s,
 * zero point zp and L levels (clamping outside).
 */
static double bin_sq_err(double x0, double x1, double s, int zp, int L)
{
	double t = floor(x0 / s + 0.5) + zp, x = x0, e = 0;
	int k = t < 0 ? 0 : t > L - 1 ? L - 1 : (int)t;

	for (;;) {
		double ub = k == L - 1 ? HUGE_VAL : (k - zp + 0.5) * s;
		double end = x1 < ub ? x1 : ub, v = (double)(k - zp) * s;

		if (end > x)
			e += cube(end - v) - cube(x - v);
		if (end >= x1 || k == L - 1)
			break;
		x = end;
		k++;
	}
	return e;
}

/* Expected squared quantisation error per value for the real range [qlo, qhi]. */
static double range_qerr(const struct hwin *c, double total, double qlo, double qhi)
{
	int L = c->levels, i, zp;
	double s = (qhi - qlo) / (L - 1), e = 0, z;

	if (!(s > 0) || total <= 0)
		return HUGE_VAL;
	z = floor(-qlo / s + 0.5);
	zp = z < 0 ? 0 : z > L - 1 ? L - 1 : (int)z;
	for (i = 0; i < c->nb; i++) {
		double x0 = c->lo + i * c->w;

		if (c->h[i] > 0)
			e += c->h[i] * bin_sq_err(x0, x0 + c->w, s, zp, L);
	}
	return e / (3 * c->w * total);
}

static double mse_cost(const struct hwin *c, int a, int b)
{
	return range_qerr(c, c->pre[c->nb], c->lo + a * c->w, c->lo + b * c->w);
}

/* Proportional shrink towards zero, then each edge alone (calib_observe.h). */
static void window_search(const struct hwin *c, win_cost_fn f, int *ra, int *rb)
{
	int nb = c->nb, minw = c->levels < nb ? c->levels : nb, i, a = 0, b = nb;
	double zpos = -c->lo / c->w, best = HUGE_VAL;
	int zlo, zhi;

	if (zpos < 0)
		zpos = 0;
	if (zpos > nb)
		zpos = nb;
	for (i = minw; i <= nb; i++) {
		int s = (int)floor(zpos * (1 - (double)i / nb) + 0.5);
		double v;

		if (s > nb - i)
			s = nb - i;
		v = f(c, s, s + i);
		if (v < best) {
			best = v;
			a = s;
			b = s + i;
		}
	}
	zlo = (int)floor(zpos);
	zhi = (int)ceil(zpos);
	for (i = 0; i <= zlo && i <= b - minw; i++) {
		double v = f(c, i, b);

		if (v < best) {
			best = v;
			a = i;
		}
	}
	for (i = zhi > a + minw ? zhi : a + minw; i <= nb; i++) {
		double v = f(c, a, i);

		if (v < best) {
			best = v;
			b = i;
		}
	}
	*ra = a;
	*rb = b;
}

static void hist_search(const double *h, int nb, double lo, double hi, int levels,
			win_cost_fn f, double *rlo, double *rhi)
{
	struct hwin c = { .h = h, .nb = nb, .levels = levels, .lo = lo, .w = (hi - lo) / nb };
	int a, b, i;

	*rlo = fmin(lo, 0);
	*rhi = fmax(hi, 0);
	if (!(hi > lo) || nb < 2 || levels < 2)
		return;
	c.pre = malloc(((size_t)nb + 1) * sizeof(double));
	if (!c.pre)
		return;		/* falls back to the full range */
	c.pre[0] = 0;
	for (i = 0; i < nb; i++)
		c.pre[i + 1] = c.pre[i] + h[i];
	if (c.pre[nb] > 0) {
		window_search(&c, f, &a, &b);
		*rlo = fmin(lo + a * c.w, 0);
		*rhi = fmax(lo + b * c.w, 0);
	}
	free(c.pre);
}

void npuc_hist_entropy(const double *h, int nb, double lo, double hi, int levels,
		       double *rlo, double *rhi)
{
	hist_search(h, nb, lo, hi, levels, kl_cost, rlo, rhi);
}

void npuc_hist_mse(const double *h, int nb, double lo, double hi, int levels, double *rlo,
		   double *rhi)
{
	hist_search(h, nb, lo, hi, levels, mse_cost, rlo, rhi);
}

double npuc_hist_qerr(const double *h, int nb, double lo, double hi, int levels, double qlo,
		      double qhi)
{
	struct hwin c = { .h = h, .nb = nb, .levels = levels, .lo = lo, .w = (hi - lo) / nb };

	if (!(hi > lo) || nb < 1 || levels < 2)
		return HUGE_VAL;
	return range_qerr(&c, hist_total(h, nb), qlo, qhi);
}

/* ---- observer ---- */

struct npuc_calib_obs *npuc_calib_obs_new(const struct npuc_graph *g,
					  const struct npuc_calib_cfg *cfg, struct npuc_diag *d)
{
	struct npuc_calib_obs *o;
	int i;

	o = calloc(1, sizeof(*o));
	if (!o) {
		npuc_diag_set(d, "calibration: out of memory");
		return NULL;
	}
	if (cfg)
		o->cfg = *cfg;
	if (!o->cfg.bins)
		o->cfg.bins = NPUC_CALIB_DEFAULT_BINS;
	if (o->cfg.percentile == 0)
		o->cfg.percentile = NPUC_CALIB_DEFAULT_PERCENTILE;
	if ((unsigned int)o->cfg.method > NPUC_CALIB_MSE || o->cfg.bins < 256 ||
	    o->cfg.bins > 65536 || !(o->cfg.percentile > 50 && o->cfg.percentile <= 100)) {
		npuc_diag_set(d, "calibration: bad configuration (method %d, %d bins, "
			      "percentile %g)", (int)o->cfg.method, o->cfg.bins,
			      o->cfg.percentile);
		free(o);
		return NULL;
	}
	o->g = g;
	o->n_t = g->n_t;
	o->t = calloc(g->n_t ? (size_t)g->n_t : 1, sizeof(*o->t));
	if (!o->t) {
		npuc_diag_set(d, "calibration: out of memory");
		free(o);
		return NULL;
	}
	for (i = 0; i < o->n_t; i++) {
		o->t[i].min = HUGE_VAL;
		o->t[i].max = -HUGE_VAL;
	}
	return o;
}

void npuc_calib_obs_free(struct npuc_calib_obs *o)
{
	int i;

	if (!o)
		return;
	for (i = 0; i < o->n_t; i++)
		free(o->t[i].hist);
	free(o->t);
	free(o);
}

int npuc_calib_obs_passes(const struct npuc_calib_obs *o)
{
	return o->cfg.method == NPUC_CALIB_MINMAX ? 1 : 2;
}

int npuc_calib_obs_next_pass(struct npuc_calib_obs *o, struct npuc_diag *d)
{
	int i;

	if (o->pass + 1 >= npuc_calib_obs_passes(o)) {
		npuc_diag_set(d, "calibration: %s needs only %d pass(es)",
			      npuc_calib_method_name(o->cfg.method), npuc_calib_obs_passes(o));
		return -1;
	}
	for (i = 0; i < o->n_t; i++) {
		struct obs_tensor *t = &o->t[i];

		if (!t->count)
			continue;
		t->hlo = fmin(t->min, 0);
		t->hhi = fmax(t->max, 0);
		if (!(t->hhi > t->hlo))
			continue;
		t->hist = calloc((size_t)o->cfg.bins, sizeof(double));
		if (!t->hist) {
			npuc_diag_set(d, "calibration: out of memory for histograms");
			return -1;
		}
	}
	o->pass++;
	return 0;
}

int npuc_calib_obs_feed(struct npuc_calib_obs *o, int ti, const float *x, int64_t n)
{
	struct obs_tensor *t;
	int64_t i;

	if (ti < 0 || ti >= o->n_t || n < 0)
		return -1;
	t = &o->t[ti];
	if (o->pass == 0) {
		/*
		 * Fast path, vectorisable: float min / max (a NaN never wins
		 * a comparison) and a count of non-finite values; only when
		 * there are some does the exact loop below run instead.
		 */
		float mn = INFINITY, mx = -INFINITY;
		int64_t bad = 0;

		for (i = 0; i < n; i++) {
			float v = x[i];

			mn = v < mn ? v : mn;
			mx = v > mx ? v : mx;
			bad += !(fabsf(v) <= FLT_MAX);
		}
		if (!bad) {
			if (n) {
				t->min = mn < t->min ? mn : t->min;
				t->max = mx > t->max ? mx : t->max;
			}
			t->count += n;
			return 0;
		}
		for (i = 0; i < n; i++) {
			double v = x[i];

			if (!isfinite(v)) {
				t->nonfinite++;
				continue;
			}
			t->min = v < t->min ? v : t->min;
			t->max = v > t->max ? v : t->max;
			t->count++;
		}
		return 0;
	}
	if (!t->hist)
		return 0;
	for (i = 0; i < n; i++) {
		double v = x[i], p;
		int nb = o->cfg.bins;

		if (!isfinite(v))
			continue;
		if (v == 0) {
			t->zeros += 1;
			continue;
		}
		p = (v - t->hlo) / (t->hhi - t->hlo) * nb;
		t->hist[p <= 0 ? 0 : p >= nb ? nb - 1 : (int)p] += 1;
	}
	return 0;
}

static int obs_cb(void *ctx, const struct npuc_graph *g, int node, int tensor,
		  const struct npuc_value *v)
{
	(void)g;
	(void)node;
	if (v->dtype != NPUC_DT_F32)
		return 0;
	return npuc_calib_obs_feed(ctx, tensor, v->data, v->numel);
}

void npuc_calib_obs_trace(struct npuc_calib_obs *o, struct npuc_ref_trace *tr)
{
	tr->observe = obs_cb;
	tr->ctx = o;
}

int npuc_calib_obs_minmax(const struct npuc_calib_obs *o, int ti, double *min, double *max,
			  int64_t *nonfinite)
{
	const struct obs_tensor *t;

	*min = *max = 0;
	if (nonfinite)
		*nonfinite = 0;
	if (ti < 0 || ti >= o->n_t)
		return 0;
	t = &o->t[ti];
	if (nonfinite)
		*nonfinite = t->nonfinite;
	if (!t->count)
		return 0;
	*min = t->min;
	*max = t->max;
	return 1;
}

/* Percentiles count the zeros too: put them back into their bin. */
static void obs_percentile(const struct npuc_calib_obs *o, const struct obs_tensor *t,
			   double *rlo, double *rhi)
{
	int nb = o->cfg.bins, z;
	double p = -t->hlo / (t->hhi - t->hlo) * nb, *h;

	h = malloc((size_t)nb * sizeof(double));
	if (!h)
		return;		/* keeps min / max */
	memcpy(h, t->hist, (size_t)nb * sizeof(double));
	z = p <= 0 ? 0 : p >= nb ? nb - 1 : (int)p;
	h[z] += t->zeros;
	npuc_hist_percentile(h, nb, t->hlo, t->hhi, o->cfg.percentile, rlo, rhi);
	free(h);
}

int npuc_calib_obs_range(const struct npuc_calib_obs *o, int ti, float *lo, float *hi)
{
	const struct obs_tensor *t;
	double rlo, rhi;
	int nb = o->cfg.bins;

	*lo = *hi = 0;
	if (ti < 0 || ti >= o->n_t || !o->t[ti].count)
		return 0;
	t = &o->t[ti];
	rlo = fmin(t->min, 0);
	rhi = fmax(t->max, 0);
	if (t->hist && o->pass == 1) {
		switch (o->cfg.method) {
		case NPUC_CALIB_PERCENTILE:
			obs_percentile(o, t, &rlo, &rhi);
			break;
		case NPUC_CALIB_ENTROPY:
			npuc_hist_entropy(t->hist, nb, t->hlo, t->hhi, 256, &rlo, &rhi);
			break;
		case NPUC_CALIB_MSE:
			npuc_hist_mse(t->hist, nb, t->hlo, t->hhi, 256, &rlo, &rhi);
			break;
		default:
			break;
		}
	}
	/* Observed values are floats, so these conversions are in range. */
	*lo = (float)rlo;
	*hi = (float)rhi;
	return 1;
}

int npuc_calib_obs_ranges(const struct npuc_calib_obs *o, struct npuc_act_ranges *r,
			  struct npuc_diag *d)
{
	int i;

	if (!r->lo || !r->hi || !r->valid || r->n < o->n_t) {
		npuc_diag_set(d, "calibration: range table has %d entries, the graph %d tensors",
			      r->n, o->n_t);
		return -1;
	}
	for (i = 0; i < o->n_t; i++) {
		float lo, hi;

		if (r->nonfinite)
			r->nonfinite[i] = o->t[i].nonfinite;
		if (!npuc_calib_obs_range(o, i, &lo, &hi))
			continue;
		r->lo[i] = lo;
		r->hi[i] = hi;
		r->valid[i] = 1;
	}
	return 0;
}

static int check_sets(const struct npuc_graph *g, const struct npuc_calib_set *sets,
		      int n_sets, struct npuc_diag *d)
{
	int i;

	if (n_sets != g->n_inputs || n_sets < 1 || !sets) {
		npuc_diag_set(d, "calibration: %d input set(s) for a graph with %d inputs",
			      n_sets, g->n_inputs);
		return -1;
	}
	for (i = 0; i < n_sets; i++) {
		if (sets[i].n < 1 || sets[i].n != sets[0].n) {
			npuc_diag_set(d, "calibration: input %d has %lld samples (need the same "
				      "nonzero count for every input)", i, (long long)sets[i].n);
			return -1;
		}
	}
	return 0;
}

/* One pass over the samples. */
/* Samples [s0, s1) through the graph into observer o. 0 or -1. */
static int run_range(struct npuc_calib_obs *o, const struct npuc_graph *g,
		     const struct npuc_calib_set *sets, int n_sets, int64_t s0, int64_t s1,
		     struct npuc_diag *d)
{
	struct npuc_value *in = calloc((size_t)n_sets + 1, sizeof(*in));
	struct npuc_value *out = calloc((size_t)g->n_outputs + 1, sizeof(*out));
	struct npuc_ref_trace tr;
	int rc = 0;

	if (!in || !out) {
		npuc_diag_set(d, "calibration: out of memory");
		rc = -1;
	}
	npuc_calib_obs_trace(o, &tr);
	for (int64_t s = s0; s < s1 && !rc; s++) {
		for (int i = 0; i < n_sets && !rc; i++)
			rc = npuc_value_wrap(&in[i], NPUC_DT_F32, sets[i].rank, sets[i].dims,
					     npuc_calib_sample(&sets[i], s), d);
		if (rc)
			break;
		rc = npuc_ref_run(g, in, out, &tr, d);
		for (int i = 0; i < g->n_outputs; i++)
			npuc_value_free(&out[i]);
	}
	free(in);
	free(out);
	return rc;
}

/*
 * A pass runs the samples on up to CALIB_THREADS threads, contiguous
 * ranges each with a shadow observer, merged after: minima, maxima and
 * counts (histogram bins hold whole numbers) do not depend on the order,
 * so the ranges are the same bit for bit as one thread's.
 */
#define CALIB_THREADS 8
#define CALIB_MIN_PER_THREAD 4	/* fewer samples than this per thread: fewer threads */

struct calib_worker {
	struct npuc_calib_obs obs;	/* shadow: own accumulators */
	const struct npuc_graph *g;
	const struct npuc_calib_set *sets;
	int n_sets;
	int64_t s0, s1;
	struct npuc_diag d;
	int rc;
	int threaded;			/* th runs it (else it ran in the caller) */
	pthread_t th;
};

static void *worker_main(void *p)
{
	struct calib_worker *w = p;

	w->rc = run_range(&w->obs, w->g, w->sets, w->n_sets, w->s0, w->s1, &w->d);
	return NULL;
}

/* A shadow of o for one worker: o's state with empty accumulators for this pass. */
static int shadow_init(struct calib_worker *w, const struct npuc_calib_obs *o)
{
	w->obs = *o;
	w->obs.t = calloc((size_t)o->n_t + 1, sizeof(*o->t));
	if (!w->obs.t)
		return -1;
	for (int i = 0; i < o->n_t; i++) {
		struct obs_tensor *t = &w->obs.t[i];

		*t = o->t[i];
		t->hist = NULL;
		t->zeros = 0;
		if (o->pass == 0) {
			t->min = HUGE_VAL;
			t->max = -HUGE_VAL;
			t->count = t->nonfinite = 0;
		} else if (o->t[i].hist &&
			   !(t->hist = calloc((size_t)o->cfg.bins, sizeof(double)))) {
			return -1;
		}
	}
	return 0;
}

static void shadow_merge(struct npuc_calib_obs *o, const struct calib_worker *w)
{
	for (int i = 0; i < o->n_t; i++) {
		struct obs_tensor *t = &o->t[i];
		const struct obs_tensor *u = &w->obs.t[i];

		if (o->pass == 0) {
			t->min = u->min < t->min ? u->min : t->min;
			t->max = u->max > t->max ? u->max : t->max;
			t->count += u->count;
			t->nonfinite += u->nonfinite;
			continue;
		}
		t->zeros += u->zeros;
		for (int b = 0; t->hist && u->hist && b < o->cfg.bins; b++)
			t->hist[b] += u->hist[b];
	}
}

static void shadow_free(struct calib_worker *w)
{
	for (int i = 0; w->obs.t && i < w->obs.n_t; i++)
		free(w->obs.t[i].hist);
	free(w->obs.t);
}

static int run_pass(struct npuc_calib_obs *o, const struct npuc_graph *g,
		    const struct npuc_calib_set *sets, int n_sets, struct npuc_diag *d)
{
	struct calib_worker w[CALIB_THREADS];
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int64_t n = sets[0].n;
	int nt = (int)(cpus < 1 ? 1 : cpus > CALIB_THREADS ? CALIB_THREADS : cpus), started = 0;
	int rc = 0;

	if (n / CALIB_MIN_PER_THREAD < nt)
		nt = (int)(n / CALIB_MIN_PER_THREAD);
	if (nt <= 1)
		return run_range(o, g, sets, n_sets, 0, n, d);
	memset(w, 0, sizeof(w));
	for (int k = 0; k < nt; k++) {
		w[k].g = g;
		w[k].sets = sets;
		w[k].n_sets = n_sets;
		w[k].s0 = n * k / nt;
		w[k].s1 = n * (k + 1) / nt;
		if (shadow_init(&w[k], o)) {
			npuc_diag_set(d, "calibration: out of memory");
			rc = -1;
			break;
		}
		w[k].threaded = !pthread_create(&w[k].th, NULL, worker_main, &w[k]);
		if (!w[k].threaded)		/* no thread: run it here */
			worker_main(&w[k]);
		started = k + 1;
	}
	for (int k = 0; k < started; k++) {
		if (w[k].threaded)
			pthread_join(w[k].th, NULL);
		if (!rc && w[k].rc) {		/* the first failing range's message */
			rc = w[k].rc;
			*d = w[k].d;
		}
	}
	for (int k = 0; !rc && k < started; k++)
		shadow_merge(o, &w[k]);
	for (int k = 0; k < nt; k++)
		shadow_free(&w[k]);
	return rc;
}

int npuc_calib_run(struct npuc_calib_obs *o, const struct npuc_graph *g,
		   const struct npuc_calib_set *sets, int n_sets, struct npuc_diag *d)
{
	int rc;

	if (o->g != g || o->pass != 0) {
		npuc_diag_set(d, "calibration: observer not fresh for this graph");
		return -1;
	}
	if (check_sets(g, sets, n_sets, d))
		return -1;
	for (;;) {
		rc = run_pass(o, g, sets, n_sets, d);
		if (rc || o->pass + 1 >= npuc_calib_obs_passes(o))
			break;
		rc = npuc_calib_obs_next_pass(o, d);
		if (rc)
			break;
	}
	return rc;
}

int npuc_calibrate(const struct npuc_graph *g, const struct npuc_calib_set *sets, int n_sets,
		   const struct npuc_calib_cfg *cfg, struct npuc_act_ranges *r,
		   struct npuc_diag *d)
{
	struct npuc_calib_obs *o = npuc_calib_obs_new(g, cfg, d);
	int rc;

	if (!o)
		return -1;
	rc = npuc_calib_run(o, g, sets, n_sets, d);
	if (!rc)
		rc = npuc_calib_obs_ranges(o, r, d);
	npuc_calib_obs_free(o);
	return rc;
}
