// SPDX-License-Identifier: MIT
/*
 * GPTQ / SparseGPT on the qgraph's CONV weights (gptq.h): the Hessian of
 * each layer's inputs from qref runs over calibration samples, then an
 * Optimal Brain Surgeon sweep over the weight columns.
 */
#include "gptq.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qref.h"
#include "sqnr.h"

#define GQ_BLOCK 128		/* SparseGPT: columns whose mask is chosen together */
#define GQ_DAMP 0.01

/* ---- linear algebra (row-major k x k) ---- */

/* Dot product of a[0..n) and b[0..n) in a fixed order (4 partial sums). */
static double dot(const double *a, const double *b, int n)
{
	double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
	int i = 0;

	for (; i + 4 <= n; i += 4) {
		s0 += a[i] * b[i];
		s1 += a[i + 1] * b[i + 1];
		s2 += a[i + 2] * b[i + 2];
		s3 += a[i + 3] * b[i + 3];
	}
	for (; i < n; i++)
		s0 += a[i] * b[i];
	return (s0 + s1) + (s2 + s3);
}

#define CHOL_ROWS 16	/* rows factored together: each earlier row is read once per band */

/*
 * Lower Cholesky factor in place (upper triangle left as is). 0 or -1.
 * Row by row (L_ij = (a_ij - L_i. L_j.) / L_jj), CHOL_ROWS rows at a time
 * so the sweep over the earlier rows is shared: the matrix is far larger
 * than the caches and one row at a time would be bound by memory.
 */
static int chol_lower(double *a, int k)
{
	for (int i0 = 0; i0 < k; i0 += CHOL_ROWS) {
		int i1 = i0 + CHOL_ROWS < k ? i0 + CHOL_ROWS : k;

		for (int j = 0; j < i1; j++) {
			double *rj = a + (size_t)j * k;

			for (int i = j > i0 ? j : i0; i < i1; i++) {
				double *ri = a + (size_t)i * k;
				double s = ri[j] - dot(ri, rj, j);

				if (j < i) {
					ri[j] = s / rj[j];
				} else {
					if (!(s > 0) || !isfinite(s))
						return -1;
					ri[i] = sqrt(s);
				}
			}
		}
	}
	return 0;
}

/*
 * With J the reversal, J h J = M M^T (M lower) gives h = V V^T for the
 * upper triangular V = J M J.
 */
int npuc_gptq_factor(double *h, int k)
{
	size_t n = (size_t)k * k;

	for (size_t i = 0; i < n / 2; i++) {	/* h <- J h J: reverse the element order */
		double t = h[i];

		h[i] = h[n - 1 - i];
		h[n - 1 - i] = t;
	}
	if (chol_lower(h, k))
		return -1;
	for (int i = 0; i < k; i++)		/* drop the stale upper triangle */
		for (int j = i + 1; j < k; j++)
			h[(size_t)i * k + j] = 0;
	for (size_t i = 0; i < n / 2; i++) {	/* J M J: lower becomes upper */
		double t = h[i];

		h[i] = h[n - 1 - i];
		h[n - 1 - i] = t;
	}
	return 0;
}

double npuc_gptq_row_error(const double *h, const double *w, const int8_t *q, double s, int k)
{
	double e = 0;
	double *r = malloc((size_t)k * sizeof(double) + 1);

	if (!r)
		return NAN;
	for (int j = 0; j < k; j++)
		r[j] = w[j] - s * q[j];
	for (int i = 0; i < k; i++)
		e += r[i] * dot(h + (size_t)i * k, r, k);
	free(r);
	return e;
}

/* ---- one layer ---- */

struct gq_layer {
	struct npuq_conv *cv;
	const float *target;		/* [oc][K] */
	int oc, groups, rows, icg, k;	/* rows per group; K per row */
	int in_t;			/* input tensor */
	const struct npuq_tensor *x, *y;
	double *h;			/* [groups][K][K], upper triangle while summing */
};

struct gq_ctx {
	struct gq_layer *L;
	float *x;			/* dequantised input, storage order */
	double *patch;
	int *nz;
	int captured;
};

/* H += p p^T over the nonzero entries of each group's patch at every output position. */
static void accumulate(struct gq_ctx *c)
{
	struct gq_layer *L = c->L;
	const struct npuq_conv *cv = L->cv;
	int ih = L->x->h, iw = L->x->w, ic = L->x->c;

	for (int oy = 0; oy < L->y->h; oy++)
		for (int ox = 0; ox < L->y->w; ox++)
			for (int g = 0; g < L->groups; g++) {
				double *h = L->h + (size_t)g * L->k * L->k;
				int nnz = 0;

				for (int ky = 0; ky < cv->k_h; ky++)
					for (int kx = 0; kx < cv->k_w; kx++) {
						int y = oy * cv->stride_h - cv->pad_top + ky * cv->dil_h;
						int x = ox * cv->stride_w - cv->pad_left + kx * cv->dil_w;
						int base = (ky * cv->k_w + kx) * L->icg;

						if (y < 0 || y >= ih || x < 0 || x >= iw)
							continue;
						for (int i = 0; i < L->icg; i++) {
							float v = c->x[((size_t)y * iw + x) * ic +
								       g * L->icg + i];

							if (v != 0) {
								c->patch[base + i] = v;
								c->nz[nnz++] = base + i;
							}
						}
					}
				for (int a = 0; a < nnz; a++) {
					double pa = c->patch[c->nz[a]];
					double *row = h + (size_t)c->nz[a] * L->k;

					for (int b = a; b < nnz; b++)
						row[c->nz[b]] += pa * c->patch[c->nz[b]];
				}
			}
}

static int observe(void *ctx, const struct npuq_graph *g, int node, int ti,
		   const struct npuc_value *v)
{
	struct gq_ctx *c = ctx;
	const struct npuq_tensor *t;
	int64_t n, hw;

	(void)node;
	if (ti != c->L->in_t)
		return 0;
	t = &g->t[ti];
	n = (int64_t)t->h * t->w * t->c;
	if (v->dtype != NPUC_DT_I8 || v->numel != n)
		return -1;
	hw = (int64_t)t->h * t->w;
	for (int64_t i = 0; i < n; i++) {
		float x = t->scale * (float)((int32_t)((const int8_t *)v->data)[i] - t->zp);

		/* qref gives an nchw tensor as NCHW; the weights see it NHWC */
		c->x[t->nchw ? (i % hw) * t->c + i / hw : i] = x;
	}
	accumulate(c);
	c->captured = 1;
	return 1;	/* nothing after this layer's input is needed */
}

/* H of layer L over samples [0, n): one qref run per sample, stopped at L's input. */
static int hessian(const struct npuq_graph *q, struct gq_layer *L,
		   const struct npuc_calib_set *sets, int n_sets, int64_t n, struct npuc_diag *d)
{
	struct gq_ctx c = { .L = L };
	struct npuq_ref_observer obs = { .observe = observe, .ctx = &c };
	struct npuc_value *qin = calloc((size_t)n_sets + 1, sizeof(*qin));
	struct npuc_value *outs = calloc((size_t)q->n_outputs + 1, sizeof(*outs));
	int8_t **bufs = calloc((size_t)n_sets + 1, sizeof(*bufs));
	int rc = -1;

	c.x = malloc((size_t)L->x->h * L->x->w * L->x->c * sizeof(float) + 1);
	c.patch = calloc((size_t)L->k, sizeof(double));
	c.nz = malloc((size_t)L->k * sizeof(int));
	if (!qin || !outs || !bufs || !c.x || !c.patch || !c.nz)
		goto oom;
	for (int i = 0; i < n_sets; i++)
		if (!(bufs[i] = malloc((size_t)sets[i].sample_numel + 1)))
			goto oom;
	for (int64_t s = 0; s < n; s++) {
		struct npuc_diag scratch = { 0 };

		if (npuc_q_sample_inputs(q, sets, n_sets, s, bufs, qin, d))
			goto out;
		c.captured = 0;
		if (npuq_ref_run(q, qin, outs, &obs, &scratch) == 0 || !c.captured) {
			npuc_diag_set(d, "gptq: the input of layer '%s' was not seen running "
				      "sample %lld%s%s", L->y->name, (long long)s,
				      scratch.msg[0] ? ": " : "", scratch.msg);
			goto out;
		}
		for (int o = 0; o < q->n_outputs; o++)
			npuc_value_free(&outs[o]);
	}
	for (int g = 0; g < L->groups; g++) {	/* mirror the upper triangle */
		double *h = L->h + (size_t)g * L->k * L->k;

		for (int i = 0; i < L->k; i++)
			for (int j = 0; j < i; j++)
				h[(size_t)i * L->k + j] = h[(size_t)j * L->k + i];
	}
	rc = 0;
	goto out;
oom:
	npuc_diag_set(d, "gptq: out of memory");
out:
	for (int i = 0; bufs && i < n_sets; i++)
		free(bufs[i]);
	free(bufs);
	free(qin);
	free(outs);
	free(c.x);
	free(c.patch);
	free(c.nz);
	return rc;
}

/* The value of grid[n] (sorted) nearest v; ties to the lower one. */
static int8_t nearest(double v, const int8_t *grid, int n)
{
	int lo = 0, hi = n - 1;

	if (n == 255) {		/* the full -127..127 */
		double r = rint(v);

		return (int8_t)(r < -127 ? -127 : r > 127 ? 127 : r);
	}
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;

		if (grid[mid] <= v)
			lo = mid;
		else
			hi = mid;
	}
	return fabs(v - grid[lo]) <= fabs(grid[hi] - v) ? grid[lo] : grid[hi];
}

struct sal {
	double s;
	int i;
};

static int sal_cmp(const void *a, const void *b)
{
	const struct sal *x = a, *y = b;

	if (x->s != y->s)
		return x->s < y->s ? -1 : 1;
	return (x->i > y->i) - (x->i < y->i);
}

struct sweep {
	const double *t;		/* [rows][K] targets */
	double *w;			/* [rows][K] targets plus the pull of earlier errors */
	uint8_t *mask;			/* [rows][K] 1 = pruned */
	const double *v;		/* [K][K]: V (H = V V^T) with column m divided by V_mm */
	const double *d;		/* [K]: V_jj (= 1 / [chol(H^-1)]_jj) */
	const float *scale;		/* [rows] */
	int8_t *q;			/* [rows][K] out */
	int rows, k, icg;		/* K = kernel positions * icg */
	const int8_t *grid;
	int n_grid;
	const struct npuc_gptq_opts *o;
	int64_t zeros;			/* SparseGPT unstructured: zeros wanted over the rows */
	struct sal *sal;		/* scratch, rows * GQ_BLOCK */
};

/* SparseGPT, unstructured: the block's share of the zeros, least salient first. */
static void mask_block(struct sweep *s, int j0, int j1)
{
	double per = (double)s->zeros / ((double)s->rows * s->k);
	int64_t want = llround(per * s->rows * j1) - llround(per * s->rows * j0), n = 0;

	for (int r = 0; r < s->rows; r++)
		for (int j = j0; j < j1; j++) {
			double w = s->w[(size_t)r * s->k + j];

			s->mask[(size_t)r * s->k + j] = 0;
			s->sal[n].s = w * w * s->d[j] * s->d[j];
			s->sal[n].i = r * (j1 - j0) + (j - j0);
			n++;
		}
	qsort(s->sal, (size_t)n, sizeof(*s->sal), sal_cmp);
	for (int64_t i = 0; i < want && i < n; i++) {
		int r = s->sal[i].i / (j1 - j0), j = j0 + s->sal[i].i % (j1 - j0);

		s->mask[(size_t)r * s->k + j] = 1;
	}
}

/*
 * SparseGPT N:M: in columns [j0, j0 + len) of every row keep the N most
 * salient. Groups run along the input channels of one kernel position,
 * as npuc --prune-nm's (a shorter last group keeps N; a layer with fewer
 * than M input channels per group keeps them all).
 */
static void mask_nm(struct sweep *s, int j0, int len)
{
	int j1 = j0 + len;
	struct sal v[64];

	for (int r = 0; r < s->rows; r++) {
		int n = 0;

		for (int j = j0; j < j1; j++, n++) {
			double w = s->w[(size_t)r * s->k + j];

			v[n].s = w * w * s->d[j] * s->d[j];
			v[n].i = j;
			s->mask[(size_t)r * s->k + j] = 1;
		}
		qsort(v, (size_t)n, sizeof(*v), sal_cmp);
		for (int i = n - s->o->nm_n; i < n; i++)
			if (i >= 0)
				s->mask[(size_t)r * s->k + v[i].i] = 0;
	}
}

/* The OBS sweep: columns in order, every row's later weights absorb its error. */
static void sweep(struct sweep *s)
{
	int k = s->k;

	for (int j = 0; j < k; j++) {
		const double *vj = s->v + (size_t)j * k;

		if (s->o->sparsegpt && !s->o->nm_m && j % GQ_BLOCK == 0)
			mask_block(s, j, j + GQ_BLOCK < k ? j + GQ_BLOCK : k);
		if (s->o->sparsegpt && s->o->nm_m && j % s->icg % s->o->nm_m == 0)
			mask_nm(s, j, s->icg - j % s->icg < s->o->nm_m ? s->icg - j % s->icg :
				s->o->nm_m);
		for (int r = 0; r < s->rows; r++) {
			double *w = s->w + (size_t)r * k, sc = s->scale[r], err;
			int8_t qv = s->mask[(size_t)r * k + j] ? 0 :
				    nearest(w[j] / sc, s->grid, s->n_grid);

			s->q[(size_t)r * k + j] = qv;
			err = s->t[(size_t)r * k + j] - sc * qv;	/* against the target */
			for (int m = j + 1; m < k; m++)
				w[m] += err * vj[m];
		}
	}
}

/* The values the layer may use: its current ones after weight sharing, else -127..127. */
static int layer_grid(const struct gq_layer *L, int shared, int8_t *grid)
{
	uint8_t seen[256] = { 0 };
	size_t n = (size_t)L->oc * L->k;
	int cnt = 0;

	if (!shared) {
		for (int v = -127; v <= 127; v++)
			grid[cnt++] = (int8_t)v;
		return cnt;
	}
	for (size_t i = 0; i < n; i++)
		seen[L->cv->w[i] + 128] = 1;
	for (int v = 0; v < 256; v++)
		if (seen[v])
			grid[cnt++] = (int8_t)(v - 128);
	return cnt == 255 ? 254 : cnt;	/* 255 means the full grid to nearest() */
}

/* Damps H (dead inputs: H_jj = 1, their weights 0) and factors it; tries more damping if needed. */
static int factor(double *h, double *hc, double *w, int rows, int k, double damp)
{
	double mean = 0;

	for (int j = 0; j < k; j++) {
		if (h[(size_t)j * k + j] == 0) {
			h[(size_t)j * k + j] = 1;
			for (int r = 0; r < rows; r++)
				w[(size_t)r * k + j] = 0;
		}
		mean += h[(size_t)j * k + j] / k;
	}
	memcpy(hc, h, (size_t)k * k * sizeof(double));
	for (int tries = 0; tries < 4; tries++, damp *= 10) {
		for (int j = 0; j < k; j++)
			h[(size_t)j * k + j] = hc[(size_t)j * k + j] + damp * mean;
		for (int i = 0; i < k; i++)	/* restore the off-diagonal part */
			for (int j = 0; j < k; j++)
				if (i != j)
					h[(size_t)i * k + j] = hc[(size_t)i * k + j];
		if (!npuc_gptq_factor(h, k))
			return 0;
	}
	return -1;
}

/* GPTQ / SparseGPT on one group of rows. */
static int rework_group(struct gq_layer *L, int g, const struct npuc_gptq_opts *o, int shared,
			struct npuc_gptq_stats *st, struct npuc_diag *d)
{
	int k = L->k, rows = L->rows;
	size_t nw = (size_t)rows * k, off = (size_t)g * nw;
	double *h = L->h + (size_t)g * k * k;
	double *hc = malloc((size_t)k * k * sizeof(double) + 1);
	double *vd = malloc((size_t)k * sizeof(double) + 1);
	struct sweep s = { .rows = rows, .k = k, .icg = L->icg, .o = o,
			   .scale = L->cv->w_scale + (size_t)g * rows };
	int8_t grid[256];
	int rc = -1;

	s.w = malloc(nw * sizeof(double) + 1);
	s.mask = calloc(nw + 1, 1);
	s.q = malloc(nw + 1);
	s.sal = malloc((size_t)rows * GQ_BLOCK * sizeof(*s.sal) + 1);
	if (!hc || !vd || !s.w || !s.mask || !s.q || !s.sal) {
		npuc_diag_set(d, "gptq: out of memory");
		goto out;
	}
	for (size_t i = 0; i < nw; i++) {
		s.w[i] = L->target[off + i];
		s.mask[i] = L->cv->w_f[off + i] == 0;	/* the pruned model's zeros */
		s.zeros += s.mask[i];
	}
	if (factor(h, hc, s.w, rows, k, o->damp > 0 ? o->damp : GQ_DAMP)) {
		npuc_diag_set(d, "gptq: layer '%s': the Hessian of its inputs is not positive "
			      "definite even with damping (non-finite inputs?)", L->y->name);
		goto out;
	}
	s.d = vd;
	for (int j = 0; j < k; j++)
		vd[j] = h[(size_t)j * k + j];
	for (int j = 0; j < k; j++)		/* V_jm / V_mm: the pull of e_j on w_m */
		for (int m = j + 1; m < k; m++)
			h[(size_t)j * k + m] /= vd[m];
	s.v = h;
	s.n_grid = layer_grid(L, shared, grid);
	s.grid = grid;
	for (int r = 0; r < rows; r++)
		st->err_rtn += npuc_gptq_row_error(hc, s.w + (size_t)r * k,
						   L->cv->w + off + (size_t)r * k, s.scale[r], k);
	{
		double *t = malloc(nw * sizeof(double) + 1);	/* targets, for the error after */

		if (!t) {
			npuc_diag_set(d, "gptq: out of memory");
			goto out;
		}
		memcpy(t, s.w, nw * sizeof(double));
		s.t = t;
		sweep(&s);
		for (int r = 0; r < rows; r++)
			st->err_gptq += npuc_gptq_row_error(hc, t + (size_t)r * k,
							    s.q + (size_t)r * k, s.scale[r], k);
		free(t);
	}
	memcpy(L->cv->w + off, s.q, nw);
	for (size_t i = 0; i < nw; i++)
		st->zeros += s.q[i] == 0;
	st->weights += (int64_t)nw;
	rc = 0;
out:
	free(hc);
	free(vd);
	free(s.w);
	free(s.mask);
	free(s.q);
	free(s.sal);
	return rc;
}

/* The CONV node ni as a layer, or 0 when GPTQ does not apply to it. */
static int layer_of(const struct npuq_graph *q, int ni, const struct npuq_graph *dense,
		    struct gq_layer *L, struct npuc_diag *d)
{
	const struct npuq_node *n = &q->nodes[ni];
	struct npuq_conv *cv = (struct npuq_conv *)&n->u.conv;

	memset(L, 0, sizeof(*L));
	if (n->op != NPUQ_CONV || !cv->w || !cv->w_f || !cv->w_scale || cv->w_zp != 0 ||
	    n->n_in < 1 || n->n_out < 1 || cv->groups < 1)
		return 0;
	L->cv = cv;
	L->x = &q->t[n->in[0]];
	L->y = &q->t[n->out[0]];
	L->in_t = n->in[0];
	L->oc = L->y->c;
	L->groups = cv->groups;
	L->icg = L->x->c / cv->groups;
	L->rows = L->oc / cv->groups;
	L->k = cv->k_h * cv->k_w * L->icg;
	L->target = cv->w_f;
	if (dense) {
		const struct npuq_node *m = ni < dense->n_nodes ? &dense->nodes[ni] : NULL;

		if (!m || m->op != NPUQ_CONV || !m->u.conv.w_f || m->u.conv.groups != cv->groups ||
		    dense->t[m->out[0]].c != L->oc || m->u.conv.k_h != cv->k_h ||
		    m->u.conv.k_w != cv->k_w || dense->t[m->in[0]].c != L->x->c) {
			npuc_diag_set(d, "gptq: layer '%s' has no twin in the unpruned model",
				      n->name);
			return -1;
		}
		L->target = m->u.conv.w_f;
	}
	return 1;
}

int npuc_gptq(struct npuq_graph *q, const struct npuq_graph *dense,
	      const struct npuc_calib_set *sets, int n_sets, const struct npuc_gptq_opts *o,
	      struct npuc_gptq_stats *st, struct npuc_diag *d)
{
	struct npuc_gptq_stats s = { 0 };
	int64_t n;

	if (!q || !sets || n_sets != q->n_inputs || n_sets < 1 || !sets[0].n) {
		npuc_diag_set(d, "gptq: needs calibration samples for every model input");
		return -1;
	}
	if (o->nm_m && (o->nm_m > 64 || o->nm_n < 1 || o->nm_n >= o->nm_m)) {
		npuc_diag_set(d, "gptq: N:M needs 1 <= N < M <= 64");
		return -1;
	}
	n = o->samples > 0 ? o->samples : NPUC_GPTQ_SAMPLES;
	n = n < sets[0].n ? n : sets[0].n;
	for (int ni = 0; ni < q->n_nodes; ni++) {
		struct gq_layer L;
		int rc = layer_of(q, ni, dense, &L, d);

		if (rc <= 0) {
			if (rc < 0)
				return -1;
			continue;
		}
		if ((size_t)L.k * L.k > ((size_t)1 << 28) / L.groups) {
			npuc_diag_set(d, "gptq: layer '%s' has %d inputs per output: its Hessian "
				      "would not fit in memory", q->nodes[ni].name, L.k);
			return -1;
		}
		L.h = calloc((size_t)L.groups * L.k * L.k + 1, sizeof(double));
		if (!L.h) {
			npuc_diag_set(d, "gptq: out of memory");
			return -1;
		}
		rc = hessian(q, &L, sets, n_sets, n, d);
		for (int g = 0; !rc && g < L.groups; g++)
			rc = rework_group(&L, g, o, o->shared_grid, &s, d);
		free(L.h);
		if (rc)
			return -1;
		s.layers++;
	}
	s.samples = n;
	if (st)
		*st = s;
	return 0;
}
