// SPDX-License-Identifier: MIT
/*
 * Weight sharing by 1-D k-means over a layer's int8 weights (cluster.h).
 * The k-means works on the histogram of the 256 possible values, so a
 * layer of any size costs O(256 * k) per iteration. Two starts (init())
 * each move until they settle (at most 100 iterations); the one with the
 * smaller squared error wins. Deterministic.
 */
#include "cluster.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define KM_ITERS 100

/* Index of the centre nearest v (ties: the lower centre). */
static int nearest(const double *c, int k, int v)
{
	int best = 0;

	for (int j = 1; j < k; j++)
		if (fabs(c[j] - v) < fabs(c[best] - v))
			best = j;
	return best;
}

/* Lloyd iterations on centres c[k] over histogram h; centre pin (>= 0) stays at 0. */
static void lloyd(const uint64_t *h, int k, int pin, double *c)
{
	for (int it = 0; it < KM_ITERS; it++) {
		double sum[256] = { 0 }, cnt[256] = { 0 }, moved = 0;

		for (int v = 0; v < 256; v++)
			if (h[v]) {
				int j = nearest(c, k, v - 128);

				sum[j] += (double)h[v] * (v - 128);
				cnt[j] += (double)h[v];
			}
		for (int j = 0; j < k; j++) {
			double nc = j == pin ? 0 : cnt[j] ? sum[j] / cnt[j] : c[j];

			moved += fabs(nc - c[j]);
			c[j] = nc;
		}
		if (moved < 1e-9)
			break;
	}
}

/* Squared error of the weights against their nearest (rounded) centres. */
static double sse(const uint64_t *h, int k, const double *c)
{
	double e = 0;

	for (int v = 0; v < 256; v++)
		if (h[v]) {
			double d = (double)lround(c[nearest(c, k, v - 128)]) - (v - 128);

			e += (double)h[v] * d * d;
		}
	return e;
}

/*
 * Two starts: centres at the means of k equal-count groups of the sorted
 * weights (dense regions), and at the midpoints of k equal-count quantile
 * ranges (evenly spread). A zero present pins its nearest centre to 0.
 */
static void init(const uint64_t *h, uint64_t total, int k, int spread, double *c)
{
	for (int j = 0; j < k; j++) {
		uint64_t lo = total * (uint64_t)j / (uint64_t)k;
		uint64_t hi = total * (uint64_t)(j + 1) / (uint64_t)k, pos = 0, sum_n = 0;
		uint64_t mid = (uint64_t)(((double)j + 0.5) / k * (double)total);
		double sum = 0;

		c[j] = 0;
		for (int v = 0; v < 256 && pos <= (spread ? mid : hi); pos += h[v++]) {
			uint64_t a = pos > lo ? pos : lo, b = pos + h[v] < hi ? pos + h[v] : hi;

			if (spread && pos + h[v] > mid) {
				c[j] = v - 128;
				break;
			}
			if (!spread && b > a) {
				sum += (double)(b - a) * (v - 128);
				sum_n += b - a;
			}
		}
		if (!spread)
			c[j] = sum_n ? sum / (double)sum_n : 0;
	}
}

/*
 * Centres for the histogram h[256] (value v at index v + 128), into
 * centre[]; returns their number (<= k, fewer when the layer has fewer
 * distinct values): the better (squared error) of two k-means runs.
 */
static int kmeans(const uint64_t *h, uint64_t total, int k, int8_t *centre)
{
	double c[2][256], err[2];
	int distinct = 0, n = 0, best;

	for (int v = 0; v < 256; v++)
		distinct += h[v] > 0;
	if (distinct <= k) {
		for (int v = 0; v < 256; v++)
			if (h[v])
				centre[n++] = (int8_t)(v - 128);
		return n;
	}
	for (int r = 0; r < 2; r++) {
		int pin = -1;

		init(h, total, k, r, c[r]);
		if (h[128])
			pin = nearest(c[r], k, 0);	/* pruned weights stay 0 */
		if (pin >= 0)
			c[r][pin] = 0;
		lloyd(h, k, pin, c[r]);
		err[r] = sse(h, k, c[r]);
	}
	best = err[1] < err[0];
	for (int j = 0; j < k; j++) {
		long r = lround(c[best][j]);

		centre[n++] = (int8_t)(r < -128 ? -128 : r > 127 ? 127 : r);
	}
	return n;
}

static int cluster_layer(struct npuq_conv *p, uint64_t cnt, int k, int *values)
{
	uint64_t h[256] = { 0 };
	int8_t centre[256], map[256];
	double cd[256];
	int n, distinct = 0;

	for (uint64_t i = 0; i < cnt; i++)
		h[p->w[i] + 128]++;
	n = kmeans(h, cnt, k, centre);
	for (int j = 0; j < n; j++)
		cd[j] = centre[j];
	for (int v = 0; v < 256; v++)
		map[v] = centre[nearest(cd, n, v - 128)];
	for (uint64_t i = 0; i < cnt; i++)
		p->w[i] = map[p->w[i] + 128];
	memset(h, 0, sizeof(h));
	for (uint64_t i = 0; i < cnt; i++)
		h[p->w[i] + 128]++;
	for (int v = 0; v < 256; v++)
		distinct += h[v] > 0;
	*values = distinct;
	return 0;
}

int npuc_cluster_weights(struct npuq_graph *q, int k, struct npuc_cluster_stats *st,
			 struct npuc_diag *d)
{
	struct npuc_cluster_stats s = { 0 };

	if (k < 2 || k > 256) {
		npuc_diag_set(d, "weight sharing: %d shared values: give 2 to 256 (16 packs two "
			      "weights per byte)", k);
		return -1;
	}
	for (int i = 0; i < q->n_nodes; i++) {
		struct npuq_node *nd = &q->nodes[i];
		struct npuq_conv *p = &nd->u.conv;
		const struct npuq_tensor *x, *y;
		uint64_t cnt;
		int values;

		if (nd->op != NPUQ_CONV || nd->n_in < 1 || nd->n_out < 1 || !p->w ||
		    p->groups < 1 || p->w_zp != 0)
			continue;
		x = &q->t[nd->in[0]];
		y = &q->t[nd->out[0]];
		cnt = (uint64_t)y->c * p->k_h * p->k_w * (uint64_t)(x->c / p->groups);
		cluster_layer(p, cnt, k, &values);
		s.layers++;
		s.weights += (int64_t)cnt;
		s.max_values = values > s.max_values ? values : s.max_values;
	}
	if (st)
		*st = s;
	return 0;
}
