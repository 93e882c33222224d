// SPDX-License-Identifier: MIT
/*
 * Magnitude pruning's one step, shared by prune.c (one threshold or per
 * layer) and prune_sensitivity.c (trial ratios): zero the k smallest.
 */
#include <math.h>
#include <stdlib.h>

#include "prune_internal.h"

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;

	return x < y ? -1 : x > y;
}

/*
 * Zeroes the k smallest magnitudes among the tensors' elements: below the
 * k-th smallest magnitude all of them, at it in element order until k.
 */
int npuc_prune_smallest(struct npuc_graph *g, const struct wlayout *w, int n, int64_t k)
{
	int64_t total = 0, pos = 0, zeroed = 0;
	float *mag, thr;

	for (int j = 0; j < n; j++)
		total += npuc_tensor_numel(&g->t[w[j].t]);
	if (k <= 0 || total == 0)
		return 0;
	mag = malloc((size_t)total * sizeof(*mag));
	if (!mag)
		return -1;
	for (int j = 0; j < n; j++) {
		const float *v = g->t[w[j].t].data;
		int64_t cnt = npuc_tensor_numel(&g->t[w[j].t]);

		for (int64_t e = 0; e < cnt; e++)
			mag[pos++] = fabsf(v[e]);
	}
	qsort(mag, (size_t)total, sizeof(*mag), cmp_float);
	thr = mag[k - 1];
	free(mag);
	/* Every magnitude below thr (fewer than k), then those equal to it up to k. */
	for (int pass = 0; pass < 2; pass++)
		for (int j = 0; j < n; j++) {
			float *v = g->t[w[j].t].data;
			int64_t cnt = npuc_tensor_numel(&g->t[w[j].t]);

			for (int64_t e = 0; e < cnt && zeroed < k; e++) {
				float a = fabsf(v[e]);

				if (pass == 0 ? a < thr : a == thr) {
					v[e] = 0.0f;
					zeroed++;
				}
			}
		}
	return 0;
}

