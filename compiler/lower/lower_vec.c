// SPDX-License-Identifier: MIT
/*
 * Lowering of the VEC-engine ops and CONCAT (lower.h).
 *
 *  - ELTWISE and LUT work on the flattened tensor in chunks (a multiple of
 *    the channel count when B is broadcast per channel), computing in
 *    place in the A chunk; a broadcast or constant B is loaded once.
 *  - POOL tiles like CONV: output row bands (input halo rows, pad_top
 *    shifted per band, input clipped to the tensor) x channel blocks.
 *  - CONCAT copies each input through SRAM into its channel slice of the
 *    output (strided DMA); an input whose scale or zero point differs is
 *    requantised on the way with a LUT holding npu_requant() of every
 *    int8 value (exactly qref's rule, npuq_concat_qparam()).
 */
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "lower.h"

#define U16_MAX 65535

static uint64_t cdiv(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

static uint64_t vec_cycles(const struct npusim_config *c, uint64_t count)
{
	return cdiv(count, c->vec_lanes) + c->vec_pipeline_cycles;
}

/* ------------------------------------------------------------------ */
/* Chunked element-wise ops: ELTWISE, LUT                              */
/* ------------------------------------------------------------------ */
struct chunk_plan {
	uint64_t count;			/* elements */
	uint64_t chunk, n_chunks;	/* elements per chunk (multiple of align) */
	int nbuf;
	uint32_t a_fixed;		/* B (SCALAR/CHANNEL) or LUT table */
	uint32_t a_a[2], a_b[2];	/* A (and out) chunk, B chunk (NONE) */
	int b_per_chunk;		/* B streamed with A (bcast NONE) */
	int b_const;			/* B / table from WEIGHTS */
	uint64_t b_off;			/* WEIGHTS offset of the constant */
	uint32_t fixed_bytes;
};

/*
 * Chooses the chunk size: multiples of align elements, per-chunk bytes
 * streams (1 or 2 loads + 1 store), fixed bytes loaded once.
 */
static int chunk_choose(struct lw *l, struct chunk_plan *p, uint64_t align, int streams)
{
	const struct npusim_config *c = l->cfg;
	uint64_t units = p->count / align, best = 0;
	int max = units > 0x7fffffff ? 0x7fffffff : (int)units;

	p->chunk = 0;
	for (int nbuf = l->o->single_buffer ? 1 : 2; nbuf >= 1 && !best; nbuf--) {
		for (int s = 1; s <= max; s = tile_next_split(s, max)) {
			uint64_t per = cdiv(units, (uint64_t)s) * align, n = cdiv(p->count, per);
			uint64_t sram = p->fixed_bytes + 64 + (uint64_t)nbuf * per * (streams - 1);
			uint64_t cost;

			if (sram > l->sram || per > UINT32_MAX)
				continue;
			cost = est_pipe(c, n, est_dma(c, per, 1) * (uint64_t)(streams - 1) + 0,
					vec_cycles(c, per), est_dma(c, per, 1), nbuf);
			if (!best || cost < best) {
				best = cost;
				p->chunk = per;
				p->n_chunks = n;
				p->nbuf = nbuf;
			}
		}
	}
	if (!best)
		return -1;
	{
		uint32_t a = (p->fixed_bytes + 63u) & ~63u;

		p->a_fixed = 0;
		for (int k = 0; k < p->nbuf; k++) {
			p->a_a[k] = a;
			a += (uint32_t)p->chunk;
			if (streams > 2) {
				p->a_b[k] = a;
				a += (uint32_t)p->chunk;
			}
		}
	}
	return 0;
}

static uint32_t chunk_sram(const struct chunk_plan *p)
{
	return p->a_a[p->nbuf - 1] + (uint32_t)p->chunk * (p->b_per_chunk ? 2 : 1);
}

int lower_plan_eltwise(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuq_eltwise *e = &n->u.eltwise;
	const struct npuq_tensor *a = lw_tin(l, n, 0);
	struct lnode *ln = &l->ln[ni];
	struct chunk_plan *p = calloc(1, sizeof(*p));
	uint64_t align = 1, nb;

	if (!p)
		return -1;
	p->count = (uint64_t)a->h * a->w * a->c;
	p->b_const = e->b_const != NULL;
	nb = e->bcast == NPU_BCAST_NONE ? p->count : e->bcast == NPU_BCAST_SCALAR ? 1 :
	     (uint64_t)a->c;
	if (e->bcast == NPU_BCAST_NONE) {
		p->b_per_chunk = 1;
	} else {
		p->fixed_bytes = (uint32_t)(nb < l->sram ? nb : l->sram);
		if (e->bcast == NPU_BCAST_CHANNEL)
			align = (uint64_t)a->c;
	}
	if ((!p->b_per_chunk && nb > l->sram) ||
	    chunk_choose(l, p, align, p->b_per_chunk ? 3 : 2) < 0) {
		free(p);
		lnode_to_host(ln, "does not fit SRAM");
		return 0;
	}
	if (p->b_const) {
		p->b_off = lw_weights_add(l, e->b_const, nb);
		ln->w_off[0] = p->b_off;
		ln->w_bytes[0] = nb;
	}
	ln->sram_peak = chunk_sram(p);
	ln->tiles = (uint32_t)p->n_chunks;
	ln->plan = p;
	return l->oom ? -1 : 0;
}

int lower_plan_lut(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuq_tensor *a = lw_tin(l, n, 0);
	struct lnode *ln = &l->ln[ni];
	struct chunk_plan *p = calloc(1, sizeof(*p));

	if (!p)
		return -1;
	p->count = (uint64_t)a->h * a->w * a->c;
	p->fixed_bytes = 256;
	p->b_const = 1;
	if (chunk_choose(l, p, 1, 2) < 0) {
		free(p);
		lnode_to_host(ln, "does not fit SRAM");
		return 0;
	}
	p->b_off = lw_weights_add(l, n->u.lut.table, 256);
	ln->w_off[0] = p->b_off;
	ln->w_bytes[0] = 256;
	ln->sram_peak = chunk_sram(p);
	ln->tiles = (uint32_t)p->n_chunks;
	ln->plan = p;
	return l->oom ? -1 : 0;
}

struct chunk_ctx {
	const struct chunk_plan *p;
	const struct npuq_node *n;
	const struct npuq_tensor *a, *b, *y;
	uint32_t ar, br, yr;
	uint64_t ao, bo, yo;
	int is_lut;
};

static void chunk_span(const struct chunk_ctx *c, int i, uint64_t *off, uint32_t *len)
{
	uint64_t o = (uint64_t)i * c->p->chunk;

	*off = o;
	*len = (uint32_t)(c->p->count - o < c->p->chunk ? c->p->count - o : c->p->chunk);
}

static void chunk_load(struct lw *l, void *ctx, int i)
{
	const struct chunk_ctx *c = ctx;
	const struct chunk_plan *p = c->p;
	uint64_t off;
	uint32_t len;

	chunk_span(c, i, &off, &len);
	if (i == 0 && p->fixed_bytes) {
		if (p->b_const)
			em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, p->b_off,
			       p->a_fixed, p->fixed_bytes, 1, 1, 0, 0, 0, 0);
		else
			em_dma(&l->em, NPU_DMA_TO_SRAM, c->br, c->bo, p->a_fixed, p->fixed_bytes, 1,
			       1, 0, 0, 0, 0);
	}
	em_dma(&l->em, NPU_DMA_TO_SRAM, c->ar, c->ao + off, p->a_a[i % p->nbuf], len, 1, 1, 0, 0,
	       0, 0);
	if (p->b_per_chunk) {
		if (p->b_const)
			em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, p->b_off + off,
			       p->a_b[i % p->nbuf], len, 1, 1, 0, 0, 0, 0);
		else
			em_dma(&l->em, NPU_DMA_TO_SRAM, c->br, c->bo + off, p->a_b[i % p->nbuf],
			       len, 1, 1, 0, 0, 0, 0);
	}
}

static void chunk_compute(struct lw *l, void *ctx, int i)
{
	const struct chunk_ctx *c = ctx;
	const struct chunk_plan *p = c->p;
	uint64_t off;
	uint32_t len, buf = p->a_a[i % p->nbuf];

	chunk_span(c, i, &off, &len);
	if (c->is_lut) {
		struct npu_cmd_lut cmd;

		memset(&cmd, 0, sizeof(cmd));
		cmd.in_addr = buf;
		cmd.out_addr = buf;
		cmd.table_addr = p->a_fixed;
		cmd.count = len;
		em_lut(&l->em, &cmd);
	} else {
		const struct npuq_eltwise *e = &c->n->u.eltwise;
		struct npu_cmd_eltwise cmd;

		memset(&cmd, 0, sizeof(cmd));
		cmd.op = (uint8_t)e->op;
		cmd.bcast = (uint8_t)e->bcast;
		cmd.a_addr = buf;
		cmd.b_addr = p->b_per_chunk ? p->a_b[i % p->nbuf] : p->a_fixed;
		cmd.out_addr = buf;
		cmd.count = len;
		cmd.channels = e->bcast == NPU_BCAST_CHANNEL ? (uint32_t)c->a->c : 0;
		cmd.a_zp = (int8_t)c->a->zp;
		cmd.b_zp = (int8_t)(e->b_const ? e->b_zp : c->b->zp);
		cmd.out_zp = (int8_t)c->y->zp;
		cmd.act_min = e->act_min;
		cmd.act_max = e->act_max;
		cmd.a_shift = e->a_shift;
		cmd.b_shift = e->b_shift;
		cmd.out_shift = e->out_shift;
		cmd.a_mult = e->a_mult;
		cmd.b_mult = e->b_mult;
		cmd.out_mult = e->out_mult;
		if (e->op == NPU_ELT_MUL) {
			/* Ignored by MUL; keep the command's fields valid. */
			cmd.a_mult = cmd.b_mult = 0;
			cmd.a_shift = cmd.b_shift = NPU_SHIFT_MIN;
		}
		em_eltwise(&l->em, &cmd);
	}
}

static void chunk_store(struct lw *l, void *ctx, int i)
{
	const struct chunk_ctx *c = ctx;
	uint64_t off;
	uint32_t len;

	chunk_span(c, i, &off, &len);
	em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, c->yo + off, c->p->a_a[i % c->p->nbuf], len, 1, 1,
	       0, 0, 0, 0);
}

static void chunk_emit(struct lw *l, int ni, int is_lut)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	static const struct pipe_ops ops = { chunk_load, chunk_compute, chunk_store };
	struct chunk_ctx c;

	memset(&c, 0, sizeof(c));
	c.p = l->ln[ni].plan;
	c.n = n;
	c.is_lut = is_lut;
	c.a = lw_tin(l, n, 0);
	c.y = lw_tout(l, n, 0);
	c.ar = l->treg[n->in[0]];
	c.ao = l->toff[n->in[0]];
	if (!is_lut && n->n_in > 1) {
		c.b = lw_tin(l, n, 1);
		c.br = l->treg[n->in[1]];
		c.bo = l->toff[n->in[1]];
	}
	c.yr = l->treg[n->out[0]];
	c.yo = l->toff[n->out[0]];
	pipe_run(l, (int)c.p->n_chunks, c.p->nbuf, &ops, &c);
}

void lower_emit_eltwise(struct lw *l, int ni)
{
	chunk_emit(l, ni, 0);
}

void lower_emit_lut(struct lw *l, int ni)
{
	chunk_emit(l, ni, 1);
}

/* ------------------------------------------------------------------ */
/* POOL                                                                */
/* ------------------------------------------------------------------ */
struct pool_plan {
	int R, n_bands, cb, n_blocks, nbuf;
	uint32_t a_in[2], a_out[2];
};

static int pool_bands_ok(const struct npuq_pool *p, int in_h, int out_h, int R)
{
	for (int oy0 = 0; oy0 < out_h; oy0 += R) {
		int oy1 = oy0 + R < out_h ? oy0 + R : out_h, in0, h, pad;

		if (band_rows(oy0, oy1, p->stride_h, p->pad_top, p->k_h, 1, in_h, &in0, &h,
			      &pad) < 0 || pad > 255 || h > U16_MAX)
			return 0;
	}
	return 1;
}

static const char *pool_fields_reason(const struct npuq_pool *p, const struct npuq_tensor *x,
				      const struct npuq_tensor *y)
{
	if (p->k_h > U16_MAX || p->k_w > U16_MAX ||
	    (int64_t)p->k_h * p->k_w > (int64_t)NPU_POOL_MAX_WINDOW)
		return "pooling window above the NPU's limit";
	if (p->stride_h > 255 || p->stride_w > 255)
		return "pooling stride above the NPU's 255";
	if (p->pad_top > 255 || p->pad_left > 255)
		return "padding above the NPU's 255";
	if (x->w > U16_MAX || y->w > U16_MAX)
		return "tensor wider than the NPU's 65535";
	return NULL;
}

struct pool_choice {
	uint64_t cost, sram;
	int R, cb, nbuf;
};

static uint64_t pool_rows_in(const struct npuq_pool *p, int in_h, int R)
{
	uint64_t rin = (uint64_t)(R - 1) * p->stride_h + (uint64_t)p->k_h;

	return rin < (uint64_t)in_h ? rin : (uint64_t)in_h;
}

/* Every band height for channel blocks of cb and nbuf buffers. */
static void pool_try(struct lw *l, const struct npuq_pool *p, const struct npuq_tensor *x,
		     const struct npuq_tensor *y, int cb, int nbuf, struct pool_choice *best)
{
	const struct npusim_config *c = l->cfg;
	int n_blk = (x->c + cb - 1) / cb;

	for (int s = 1, R = 0; s <= y->h; s = tile_next_split(s, y->h)) {
		uint64_t rin, sram, ld, st, cp, cost;
		int nb;

		if ((y->h + s - 1) / s == R)
			continue;
		R = (y->h + s - 1) / s;
		nb = (y->h + R - 1) / R;
		rin = pool_rows_in(p, x->h, R);
		sram = (uint64_t)nbuf * (rin * x->w * cb + (uint64_t)R * y->w * cb);
		if (sram > l->sram || R > U16_MAX || !pool_bands_ok(p, x->h, y->h, R))
			continue;
		ld = cb == x->c ? est_dma(c, rin * x->w * cb, 1) : est_dma(c, cb, rin * x->w);
		st = cb == x->c ? est_dma(c, (uint64_t)R * y->w * cb, 1) :
		     est_dma(c, cb, (uint64_t)R * y->w);
		cp = (uint64_t)R * y->w * cdiv(cb, c->vec_lanes) * p->k_h * p->k_w +
		     c->vec_pipeline_cycles;
		cost = est_pipe(c, (uint64_t)nb * n_blk, ld, cp, st, nbuf);
		if (!best->cost || cost < best->cost || (cost == best->cost && sram < best->sram)) {
			best->cost = cost;
			best->sram = sram;
			best->R = R;
			best->cb = cb;
			best->nbuf = nbuf;
		}
	}
}

static void pool_search(struct lw *l, const struct npuq_pool *p, const struct npuq_tensor *x,
			const struct npuq_tensor *y, struct pool_choice *best)
{
	int unit = (int)l->cfg->vec_lanes;

	for (int nbuf = l->o->single_buffer ? 1 : 2; nbuf >= 1 && !best->cost; nbuf--) {
		int prev = 0;

		for (int div = 1; div <= x->c; div++) {
			int cb = (x->c + div - 1) / div;

			/* Channel blocks: multiples of the VEC lanes, then anything. */
			if (cb > unit)
				cb = (int)(cdiv((uint64_t)cb, (uint64_t)unit) * unit);
			cb = cb > x->c ? x->c : cb;
			if (cb == prev || cb > U16_MAX)
				continue;
			prev = cb;
			pool_try(l, p, x, y, cb, nbuf, best);
			if (cb == 1)
				break;
		}
	}
}

int lower_plan_pool(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuq_pool *p = &n->u.pool;
	const struct npuq_tensor *x = lw_tin(l, n, 0), *y = lw_tout(l, n, 0);
	struct lnode *ln = &l->ln[ni];
	const char *why = pool_fields_reason(p, x, y);
	struct pool_choice best = { 0 };
	struct pool_plan *pl;
	uint64_t a = 0, rin;

	if (!why) {
		pool_search(l, p, x, y, &best);
		why = best.cost ? NULL : "does not fit SRAM";
	}
	if (why) {
		lnode_to_host(ln, why);
		return 0;
	}
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -1;
	pl->R = best.R;
	pl->n_bands = (y->h + best.R - 1) / best.R;
	pl->cb = best.cb;
	pl->n_blocks = (x->c + best.cb - 1) / best.cb;
	pl->nbuf = best.nbuf;
	rin = pool_rows_in(p, x->h, best.R);
	for (int k = 0; k < best.nbuf; k++) {
		pl->a_in[k] = (uint32_t)a;
		a += rin * x->w * best.cb;
		pl->a_out[k] = (uint32_t)a;
		a += (uint64_t)best.R * y->w * best.cb;
	}
	ln->sram_peak = (uint32_t)a;
	ln->tiles = (uint32_t)(pl->n_bands * pl->n_blocks);
	ln->plan = pl;
	return 0;
}

struct pool_ctx {
	const struct pool_plan *pl;
	const struct npuq_pool *p;
	const struct npuq_tensor *x, *y;
	uint32_t xr, yr;
	uint64_t xo, yo;
};

struct pool_tile {
	int oy0, oy1, in0, in_h, pad, c0, cc;
};

static void pool_tile(const struct pool_ctx *c, int i, struct pool_tile *t)
{
	int band = i % c->pl->n_bands, blk = i / c->pl->n_bands;

	t->oy0 = band * c->pl->R;
	t->oy1 = t->oy0 + c->pl->R < c->y->h ? t->oy0 + c->pl->R : c->y->h;
	band_rows(t->oy0, t->oy1, c->p->stride_h, c->p->pad_top, c->p->k_h, 1, c->x->h, &t->in0,
		  &t->in_h, &t->pad);
	t->c0 = blk * c->pl->cb;
	t->cc = c->x->c - t->c0 < c->pl->cb ? c->x->c - t->c0 : c->pl->cb;
}

static void pool_load(struct lw *l, void *ctx, int i)
{
	const struct pool_ctx *c = ctx;
	struct pool_tile t;
	uint32_t W = (uint32_t)c->x->w, C = (uint32_t)c->x->c;
	uint64_t base;

	pool_tile(c, i, &t);
	base = c->xo + (uint64_t)t.in0 * W * C + (uint64_t)t.c0;
	if ((uint32_t)t.cc == C)
		em_dma(&l->em, NPU_DMA_TO_SRAM, c->xr, base, c->pl->a_in[i % c->pl->nbuf],
		       (uint32_t)t.in_h * W * C, 1, 1, 0, 0, 0, 0);
	else
		em_dma(&l->em, NPU_DMA_TO_SRAM, c->xr, base, c->pl->a_in[i % c->pl->nbuf],
		       (uint32_t)t.cc, (uint32_t)t.in_h * W, 1, C, 0, (uint32_t)t.cc, 0);
}

static void pool_compute(struct lw *l, void *ctx, int i)
{
	const struct pool_ctx *c = ctx;
	const struct npuq_pool *p = c->p;
	struct npu_cmd_pool cmd;
	struct pool_tile t;

	pool_tile(c, i, &t);
	memset(&cmd, 0, sizeof(cmd));
	cmd.mode = (uint8_t)p->mode;
	cmd.flags = p->count_pad ? NPU_POOL_F_COUNT_PAD : 0;
	cmd.in_addr = c->pl->a_in[i % c->pl->nbuf];
	cmd.out_addr = c->pl->a_out[i % c->pl->nbuf];
	cmd.in_h = (uint16_t)t.in_h;
	cmd.in_w = (uint16_t)c->x->w;
	cmd.c = (uint16_t)t.cc;
	cmd.out_h = (uint16_t)(t.oy1 - t.oy0);
	cmd.out_w = (uint16_t)c->y->w;
	cmd.k_h = (uint16_t)p->k_h;
	cmd.k_w = (uint16_t)p->k_w;
	cmd.stride_h = (uint8_t)p->stride_h;
	cmd.stride_w = (uint8_t)p->stride_w;
	cmd.pad_top = (uint8_t)t.pad;
	cmd.pad_left = (uint8_t)p->pad_left;
	cmd.in_zp = (int8_t)c->x->zp;
	cmd.out_zp = (int8_t)c->y->zp;
	cmd.act_min = p->act_min;
	cmd.act_max = p->act_max;
	cmd.mult = p->mult;
	cmd.shift = p->shift;
	em_pool(&l->em, &cmd);
}

static void pool_store(struct lw *l, void *ctx, int i)
{
	const struct pool_ctx *c = ctx;
	struct pool_tile t;
	uint32_t OW = (uint32_t)c->y->w, C = (uint32_t)c->y->c, rows;
	uint64_t base;

	pool_tile(c, i, &t);
	rows = (uint32_t)(t.oy1 - t.oy0);
	base = c->yo + (uint64_t)t.oy0 * OW * C + (uint64_t)t.c0;
	if ((uint32_t)t.cc == C)
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, c->pl->a_out[i % c->pl->nbuf],
		       rows * OW * C, 1, 1, 0, 0, 0, 0);
	else
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, c->pl->a_out[i % c->pl->nbuf],
		       (uint32_t)t.cc, rows * OW, 1, C, 0, (uint32_t)t.cc, 0);
}

void lower_emit_pool(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	static const struct pipe_ops ops = { pool_load, pool_compute, pool_store };
	struct pool_ctx c;

	c.pl = l->ln[ni].plan;
	c.p = &n->u.pool;
	c.x = lw_tin(l, n, 0);
	c.y = lw_tout(l, n, 0);
	c.xr = l->treg[n->in[0]];
	c.xo = l->toff[n->in[0]];
	c.yr = l->treg[n->out[0]];
	c.yo = l->toff[n->out[0]];
	pipe_run(l, c.pl->n_bands * c.pl->n_blocks, c.pl->nbuf, &ops, &c);
}

/* ------------------------------------------------------------------ */
/* CONCAT                                                              */
/* ------------------------------------------------------------------ */
struct concat_part {
	int R, n_bands, first_tile, c0;
	int requant;
	uint64_t table_off;
};

struct concat_plan {
	int n_parts, n_tiles, nbuf;
	uint32_t a_tab[2], a_buf[2];
	struct concat_part part[];
};

int lower_plan_concat(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuq_tensor *y = lw_tout(l, n, 0);
	struct lnode *ln = &l->ln[ni];
	struct concat_plan *pl = calloc(1, sizeof(*pl) + (size_t)n->n_in * sizeof(pl->part[0]));
	uint64_t buf, maxrow = 0;
	int c0 = 0;

	if (!pl)
		return -1;
	pl->n_parts = n->n_in;
	pl->nbuf = l->o->single_buffer ? 1 : 2;
	for (int k = 0; k < n->n_in; k++) {
		uint64_t row = (uint64_t)lw_tin(l, n, k)->w * lw_tin(l, n, k)->c;

		maxrow = row > maxrow ? row : maxrow;
	}
	/* Two tables, then nbuf equal buffers; at least one row each. */
	buf = (l->sram - 512) / (uint64_t)pl->nbuf;
	if (buf < maxrow && pl->nbuf == 2) {
		pl->nbuf = 1;
		buf = l->sram - 512;
	}
	if (buf < maxrow || maxrow > UINT32_MAX) {
		free(pl);
		lnode_to_host(ln, "does not fit SRAM");
		return 0;
	}
	/* Bands of ~64 KiB keep the DMA latency small and the pipeline busy. */
	if (buf > 65536)
		buf = 65536 > maxrow ? 65536 : maxrow;
	pl->a_tab[0] = 0;
	pl->a_tab[1] = 256;
	pl->a_buf[0] = 512;
	pl->a_buf[1] = 512 + (uint32_t)buf;
	for (int k = 0; k < n->n_in; k++) {
		const struct npuq_tensor *x = lw_tin(l, n, k);
		struct concat_part *p = &pl->part[k];
		uint64_t row = (uint64_t)x->w * x->c;
		struct npu_qparam q;
		int copy = npuq_concat_qparam(x, y, &q);

		if (copy < 0) {
			free(pl);
			lnode_to_host(ln, "requantisation out of range");
			return 0;
		}
		p->R = (int)(buf / row < (uint64_t)x->h ? buf / row : (uint64_t)x->h);
		p->n_bands = (x->h + p->R - 1) / p->R;
		p->first_tile = pl->n_tiles;
		p->c0 = c0;
		c0 += x->c;
		pl->n_tiles += p->n_bands;
		if (!copy) {
			int8_t table[256];

			for (int v = -128; v < 128; v++)
				table[v + 128] = npu_requant(v - x->zp, &q, (int8_t)y->zp, INT8_MIN,
							     INT8_MAX);
			p->requant = 1;
			p->table_off = lw_weights_add(l, table, 256);
			ln->w_bytes[0] += 256;
		}
	}
	ln->sram_peak = 512 + (uint32_t)buf * (uint32_t)pl->nbuf;
	ln->tiles = (uint32_t)pl->n_tiles;
	ln->plan = pl;
	return l->oom ? -1 : 0;
}

struct concat_ctx {
	const struct concat_plan *pl;
	const struct npuq_node *n;
	const struct lw *l;
	const struct npuq_tensor *y;
};

static const struct concat_part *concat_tile(const struct concat_ctx *c, int i, int *k,
					     int *r0, int *rows)
{
	int j = c->pl->n_parts - 1;

	while (j > 0 && c->pl->part[j].first_tile > i)
		j--;
	*k = j;
	*r0 = (i - c->pl->part[j].first_tile) * c->pl->part[j].R;
	*rows = lw_tin(c->l, c->n, j)->h - *r0 < c->pl->part[j].R ?
		lw_tin(c->l, c->n, j)->h - *r0 : c->pl->part[j].R;
	return &c->pl->part[j];
}

static void concat_load(struct lw *l, void *ctx, int i)
{
	const struct concat_ctx *c = ctx;
	int k, r0, rows;
	const struct concat_part *p = concat_tile(c, i, &k, &r0, &rows);
	const struct npuq_tensor *x = lw_tin(l, c->n, k);
	int t = lw_tid_in(c->n, k);

	if (p->requant && i == p->first_tile)
		em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, p->table_off,
		       c->pl->a_tab[k % 2], 256, 1, 1, 0, 0, 0, 0);
	em_dma(&l->em, NPU_DMA_TO_SRAM, l->treg[t], l->toff[t] + (uint64_t)r0 * x->w * x->c,
	       c->pl->a_buf[i % c->pl->nbuf], (uint32_t)rows * x->w * x->c, 1, 1, 0, 0, 0, 0);
}

static void concat_compute(struct lw *l, void *ctx, int i)
{
	const struct concat_ctx *c = ctx;
	int k, r0, rows;
	const struct concat_part *p = concat_tile(c, i, &k, &r0, &rows);
	const struct npuq_tensor *x = lw_tin(l, c->n, k);
	struct npu_cmd_lut cmd;

	if (!p->requant)
		return;
	memset(&cmd, 0, sizeof(cmd));
	cmd.in_addr = cmd.out_addr = c->pl->a_buf[i % c->pl->nbuf];
	cmd.table_addr = c->pl->a_tab[k % 2];
	cmd.count = (uint32_t)rows * x->w * x->c;
	em_lut(&l->em, &cmd);
}

static void concat_store(struct lw *l, void *ctx, int i)
{
	const struct concat_ctx *c = ctx;
	int k, r0, rows;
	const struct concat_part *p = concat_tile(c, i, &k, &r0, &rows);
	const struct npuq_tensor *x = lw_tin(l, c->n, k);
	uint32_t yt = (uint32_t)c->n->out[0], C = (uint32_t)c->y->c;

	em_dma(&l->em, NPU_DMA_TO_DRAM, l->treg[yt],
	       l->toff[yt] + (uint64_t)r0 * x->w * C + (uint64_t)p->c0,
	       c->pl->a_buf[i % c->pl->nbuf], (uint32_t)x->c, (uint32_t)rows * x->w, 1, C, 0,
	       (uint32_t)x->c, 0);
}

void lower_emit_concat(struct lw *l, int ni)
{
	static const struct pipe_ops ops = { concat_load, concat_compute, concat_store };
	struct concat_ctx c;

	c.pl = l->ln[ni].plan;
	c.n = &l->g->nodes[ni];
	c.l = l;
	c.y = lw_tout(l, c.n, 0);
	pipe_run(l, c.pl->n_tiles, c.pl->nbuf, &ops, &c);
}
