// SPDX-License-Identifier: MIT
/*
 * Activation memory planning (lower.h): greedy best-fit offset assignment
 * over live ranges.
 *
 * Buffers are placed one by one; for each, the already-placed buffers
 * whose live ranges intersect its own are sorted by offset and the
 * smallest gap between them that holds it is taken (best fit); if none
 * does, it goes above all of them. Three orders are tried (largest first,
 * earliest first, largest lifetime x size first) and the smallest arena
 * kept. Placed buffers are indexed by time step, so finding those live
 * with a new one costs its live range, not the graph size. Two buffers
 * live at the same time never overlap. The lower bound reported alongside is the
 * largest total size of buffers live at one time, which no placement can
 * beat.
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

struct mp_item {
	uint32_t id;
	uint64_t off, end;
};

struct mp_ctx {
	const uint64_t *size;
	const int *first, *last;
	int key;			/* 0: size, 1: start, 2: lifetime x size */
};

static int by_key(const void *a, const void *b, void *arg)
{
	const struct mp_ctx *c = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	uint64_t kx = c->size[x], ky = c->size[y];

	if (c->key == 1 && c->first[x] != c->first[y])
		return c->first[x] < c->first[y] ? -1 : 1;
	if (c->key == 2) {
		kx *= (uint64_t)(c->last[x] - c->first[x] + 1);
		ky *= (uint64_t)(c->last[y] - c->first[y] + 1);
	}
	if (kx != ky)
		return kx > ky ? -1 : 1;
	if (c->first[x] != c->first[y])
		return c->first[x] < c->first[y] ? -1 : 1;
	return x < y ? -1 : x > y;
}

static int by_off(const void *a, const void *b)
{
	const struct mp_item *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

static uint64_t al64(uint64_t v)
{
	return (v + 63) & ~(uint64_t)63;
}

static uint64_t lower_bound_of(uint32_t n, const int *first, const int *last,
			       const uint64_t *size)
{
	int lo = 0, hi = 0;
	uint64_t best = 0, cur = 0;
	int64_t *delta;

	if (!n)
		return 0;
	lo = first[0];
	hi = last[0];
	for (uint32_t i = 0; i < n; i++) {
		lo = first[i] < lo ? first[i] : lo;
		hi = last[i] > hi ? last[i] : hi;
	}
	delta = calloc((size_t)(hi - lo + 2), sizeof(*delta));
	if (!delta)
		return UINT64_MAX;
	for (uint32_t i = 0; i < n; i++) {
		delta[first[i] - lo] += (int64_t)size[i];
		delta[last[i] - lo + 1] -= (int64_t)size[i];
	}
	for (int t = 0; t <= hi - lo; t++) {
		cur += (uint64_t)delta[t];
		best = cur > best ? cur : best;
	}
	free(delta);
	return best;
}

/*
 * Placed buffers by time step, to find those live with a new one without
 * scanning every placed buffer (a 100,000-node chain would be quadratic).
 * Each buffer is listed at every step of its live range; a query stamps
 * what it collected so a buffer spanning several steps counts once.
 */
struct mp_index {
	int lo;				/* first time step */
	uint32_t **at;			/* per step: ids of placed buffers live then */
	uint32_t *n, *cap;
	uint32_t *stamp;		/* per buffer: the query that last saw it */
};

static void index_free(struct mp_index *x, int steps)
{
	for (int t = 0; x->at && t < steps; t++)
		free(x->at[t]);
	free(x->at);
	free(x->n);
	free(x->cap);
	free(x->stamp);
}

static int index_init(struct mp_index *x, uint32_t n, const int *first, const int *last,
		      int *steps)
{
	int lo = n ? first[0] : 0, hi = n ? last[0] : 0;

	for (uint32_t i = 0; i < n; i++) {
		lo = first[i] < lo ? first[i] : lo;
		hi = last[i] > hi ? last[i] : hi;
	}
	*steps = hi - lo + 1;
	x->lo = lo;
	x->at = calloc((size_t)*steps, sizeof(*x->at));
	x->n = calloc((size_t)*steps, sizeof(*x->n));
	x->cap = calloc((size_t)*steps, sizeof(*x->cap));
	x->stamp = malloc((n + 1) * sizeof(*x->stamp));
	if (!x->at || !x->n || !x->cap || !x->stamp)
		return -1;
	memset(x->stamp, 0xff, (n + 1) * sizeof(*x->stamp));
	return 0;
}

static int index_add(struct mp_index *x, uint32_t id, int first, int last)
{
	for (int t = first - x->lo; t <= last - x->lo; t++) {
		if (x->n[t] == x->cap[t]) {
			uint32_t cap = x->cap[t] ? 2 * x->cap[t] : 4, *p;

			p = realloc(x->at[t], cap * sizeof(*p));
			if (!p)
				return -1;
			x->at[t] = p;
			x->cap[t] = cap;
		}
		x->at[t][x->n[t]++] = id;
	}
	return 0;
}

/* Best-fit placement in the given order; returns the arena size (UINT64_MAX: no memory). */
static uint64_t place(uint32_t n, const uint32_t *order, const int *first, const int *last,
		      const uint64_t *size, uint64_t *offset, struct mp_item *live)
{
	struct mp_index x = { 0 };
	uint64_t total = 0;
	int steps = 0;

	if (index_init(&x, n, first, last, &steps) < 0) {
		index_free(&x, steps);
		return UINT64_MAX;
	}
	for (uint32_t k = 0; k < n; k++) {
		uint32_t b = order[k], n_live = 0;
		uint64_t need = al64(size[b]), cur = 0, best_off = UINT64_MAX, best_gap = 0;

		for (int t = first[b] - x.lo; t <= last[b] - x.lo; t++)
			for (uint32_t j = 0; j < x.n[t]; j++) {
				uint32_t o = x.at[t][j];

				if (x.stamp[o] == k)
					continue;
				x.stamp[o] = k;
				live[n_live].id = o;
				live[n_live].off = offset[o];
				live[n_live++].end = offset[o] + al64(size[o]);
			}
		qsort(live, n_live, sizeof(*live), by_off);
		for (uint32_t j = 0; j < n_live; j++) {
			if (live[j].off > cur && live[j].off - cur >= need &&
			    (best_off == UINT64_MAX || live[j].off - cur < best_gap)) {
				best_off = cur;
				best_gap = live[j].off - cur;
			}
			cur = live[j].end > cur ? live[j].end : cur;
		}
		if (best_off == UINT64_MAX)
			best_off = cur;
		offset[b] = best_off;
		if (index_add(&x, b, first[b], last[b]) < 0) {
			total = UINT64_MAX;
			break;
		}
		if (best_off + need > total)
			total = best_off + need;
	}
	index_free(&x, steps);
	return total;
}

int64_t mem_plan(uint32_t n, const int *first, const int *last, const uint64_t *size,
		 uint64_t *offset, uint64_t *lower_bound)
{
	uint32_t *order = malloc((n + 1) * sizeof(*order));
	struct mp_item *live = malloc((n + 1) * sizeof(*live));
	uint64_t *trial = malloc((n + 1) * sizeof(*trial));
	uint64_t best = UINT64_MAX;
	struct mp_ctx ctx = { size, first, last, 0 };

	*lower_bound = lower_bound_of(n, first, last, size);
	if (!order || !live || !trial || *lower_bound == UINT64_MAX) {
		free(order);
		free(live);
		free(trial);
		return -1;
	}
	/* Three classic orders; keep the smallest arena. */
	for (ctx.key = 0; ctx.key < 3 && best > *lower_bound; ctx.key++) {
		uint64_t total;

		for (uint32_t i = 0; i < n; i++)
			order[i] = i;
		qsort_r(order, n, sizeof(*order), by_key, &ctx);
		total = place(n, order, first, last, size, trial, live);
		if (total == UINT64_MAX)
			break;		/* out of memory */
		if (total < best) {
			best = total;
			if (n)
				memcpy(offset, trial, n * sizeof(*offset));
		}
	}
	free(order);
	free(live);
	free(trial);
	return best == UINT64_MAX ? -1 : (int64_t)best;
}
