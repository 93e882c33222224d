// SPDX-License-Identifier: MIT
/*
 * Tiling helpers shared by the per-op lowerings (lower.h): the software
 * pipeline, band geometry and the analytic cost model used to choose
 * tile shapes (the same formulas as the device's cycle model, see
 * Documentation/npu-architecture.rst "Cycle model").
 */
#include "lower.h"

void pipe_run(struct lw *l, int n, int nbuf, const struct pipe_ops *ops, void *ctx)
{
	if (n <= 0)
		return;
	if (nbuf < 2) {
		for (int i = 0; i < n; i++) {
			ops->load(l, ctx, i);
			ops->compute(l, ctx, i);
			ops->store(l, ctx, i);
		}
		return;
	}
	/*
	 * Program order compute(i), store(i-1), load(i+1): tile i-1's result
	 * is stored and tile i+1 loaded into the other buffers while tile i
	 * computes. The store comes first so that ops computing in place (the
	 * result in the input buffer) free that buffer before it is reloaded.
	 * The emitter's WAITs make the engines respect exactly these
	 * dependencies.
	 */
	ops->load(l, ctx, 0);
	for (int i = 0; i < n; i++) {
		ops->compute(l, ctx, i);
		if (i > 0)
			ops->store(l, ctx, i - 1);
		if (i + 1 < n)
			ops->load(l, ctx, i + 1);
	}
	ops->store(l, ctx, n - 1);
}

static uint64_t cdiv(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

uint64_t est_dma(const struct npusim_config *c, uint64_t inner, uint64_t rows)
{
	if (!inner || !rows)
		return 0;
	return c->dram_latency_cycles + rows * cdiv(inner, c->dma_bytes_per_cycle);
}

uint64_t est_pipe(const struct npusim_config *c, uint64_t n, uint64_t ld, uint64_t cp,
		  uint64_t st, int nbuf)
{
	/* Dispatch of ~5 commands (load, compute, store, WAITs) per tile. */
	uint64_t ovh = 5ull * c->cmd_cycles;

	if (!n)
		return 0;
	if (nbuf < 2)
		return n * (ld + cp + st + ovh);
	return ld + st + n * ((cp > ld + st ? cp : ld + st) + ovh);
}

int band_rows(int oy0, int oy1, int stride, int pad_top, int k, int dil, int in_h_total,
	      int *in0, int *in_h, int *pad)
{
	int64_t r0 = (int64_t)oy0 * stride - pad_top;
	int64_t r1 = (int64_t)(oy1 - 1) * stride - pad_top + (int64_t)(k - 1) * dil + 1;
	int64_t a = r0 < 0 ? 0 : r0, b = r1 > in_h_total ? in_h_total : r1;

	if (b <= a)
		return -1;
	*in0 = (int)a;
	*in_h = (int)(b - a);
	*pad = (int)(a - r0);
	return 0;
}

int tile_next_split(int s, int max)
{
	int n = s < 64 ? s + 1 : s + s / 4;

	return s < max && n > max ? max : n;
}
