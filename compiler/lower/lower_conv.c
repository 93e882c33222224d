// SPDX-License-Identifier: MIT
/*
 * Lowering of the MAC-engine ops: CONV (incl. depthwise, grouped, fully
 * connected) and MATMUL (lower.h).
 *
 * CONV tiles are (output-channel block) x (output row band), blocks
 * outermost so a block's weights are loaded once. A band of output rows
 * [oy0, oy1) needs input rows [oy0*s - pad_top, (oy1-1)*s - pad_top +
 * (k-1)*d] clipped to the tensor: rows above the tensor become the band's
 * pad_top, rows below it are the implicit bottom padding (taps beyond the
 * band's in_h), so every band reads exactly the rows it needs and the
 * result is the whole-tensor convolution. Grouped convolutions block by
 * whole groups and load the matching input-channel slice.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"

#define U16_MAX 65535

/* A block's weights in WEIGHTS: raw bytes, or a compressed stream of src bytes. */
struct conv_wblk {
	uint64_t off;
	uint32_t src;			/* 0: raw */
	uint32_t format;		/* NPU_COMPRESS_* when src */
};

struct conv_plan {
	int R, n_bands;			/* output rows per band */
	int unit_blk;			/* groups (grouped) or channels per block */
	int n_blocks;
	int grouped;			/* blocks are group ranges (groups > 1) */
	int nbuf, nwb;
	uint32_t a_w[2], a_q[2], a_in[2], a_out[2];
	uint64_t q_off;
	struct conv_wblk wblk[];	/* n_blocks */
};

static uint64_t cdiv(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* MAC cycles of one CONV command (cycle model). */
static uint64_t conv_cycles(const struct npusim_config *c, uint64_t groups, uint64_t in_c,
			    uint64_t out_c, uint64_t oh, uint64_t ow, uint64_t kk)
{
	uint64_t icg = in_c / groups, ocg = out_c / groups, t, o;

	if (groups > 1 && icg == 1)
		t = cdiv(groups, c->mac_ic) * ocg * cdiv(oh * ow, c->mac_oc) * kk;
	else
		t = groups * cdiv(ocg, c->mac_oc) * cdiv(icg, c->mac_ic) * oh * ow * kk;
	o = cdiv(oh * ow * out_c, c->mac_oc);
	return (t > o ? t : o) + c->mac_pipeline_cycles;
}

/* Channels of block b: [*first, *first + *count) in units (groups or channels). */
static void block_range(int total, int unit_blk, int b, int *first, int *count)
{
	*first = b * unit_blk;
	*count = total - *first < unit_blk ? total - *first : unit_blk;
}

struct conv_geo {
	const struct npuq_tensor *x, *y;
	const struct npuq_conv *p;
	int icg, ocg, units;		/* units: groups (grouped) or out channels */
	int grouped;
};

static int64_t band_in_rows(const struct conv_geo *g, int R)
{
	int64_t r = (int64_t)(R - 1) * g->p->stride_h + (int64_t)(g->p->k_h - 1) * g->p->dil_h + 1;

	return r < g->x->h ? r : g->x->h;
}

/* Every band of R rows reads >= 1 input row with pad_top <= 255. */
static int bands_ok(const struct conv_geo *g, int R)
{
	for (int oy0 = 0; oy0 < g->y->h; oy0 += R) {
		int oy1 = oy0 + R < g->y->h ? oy0 + R : g->y->h, in0, in_h, pad;

		if (band_rows(oy0, oy1, g->p->stride_h, g->p->pad_top, g->p->k_h, g->p->dil_h,
			      g->x->h, &in0, &in_h, &pad) < 0 || pad > 255 || in_h > U16_MAX)
			return 0;
	}
	return 1;
}

struct conv_choice {
	uint64_t cost;
	int R, blk, nbuf;
	uint64_t sram;
};

/* Evaluates every band height for block size blk (units) and nbuf. */
static void conv_try(struct lw *l, const struct conv_geo *g, int blk, int nbuf,
		     struct conv_choice *best)
{
	const struct npusim_config *c = l->cfg;
	int n_blocks = (g->units + blk - 1) / blk;
	int64_t ocb = g->grouped ? (int64_t)blk * g->ocg : blk;
	int64_t icb = g->grouped ? (int64_t)blk * g->icg : g->x->c;
	int64_t gb = g->grouped ? blk : 1;
	uint64_t kk = (uint64_t)g->p->k_h * g->p->k_w;
	uint64_t wb = (uint64_t)ocb * kk * g->icg, qb = 12ull * ocb;
	int nwb = n_blocks > 1 ? nbuf : 1;

	if (ocb > U16_MAX || icb > U16_MAX || gb > U16_MAX)
		return;
	for (int split = 1, R = 0; split <= g->y->h; split = tile_next_split(split, g->y->h)) {
		int n_bands;

		if ((g->y->h + split - 1) / split == R)
			continue;
		R = (g->y->h + split - 1) / split;
		n_bands = (g->y->h + R - 1) / R;
		uint64_t in_rows = (uint64_t)band_in_rows(g, R);
		uint64_t in_b = in_rows * g->x->w * icb, out_b = (uint64_t)R * g->y->w * ocb;
		uint64_t sram = nwb * (wb + qb) + nbuf * (in_b + out_b), ld, st, cp, cost;

		if (sram > l->sram || R > U16_MAX)
			continue;
		if (!bands_ok(g, R))
			continue;
		ld = icb == g->x->c ? est_dma(c, in_b, 1) : est_dma(c, icb, in_rows * g->x->w);
		st = ocb == g->y->c ? est_dma(c, out_b, 1) : est_dma(c, ocb, (uint64_t)R * g->y->w);
		ld += (est_dma(c, wb, 1) + est_dma(c, qb, 1)) / n_bands;
		cp = conv_cycles(c, gb, icb, ocb, R, g->y->w, kk);
		cost = est_pipe(c, (uint64_t)n_blocks * n_bands, ld, cp, st, nbuf);
		if (!best->cost || cost < best->cost ||
		    (cost == best->cost && sram < best->sram)) {
			best->cost = cost;
			best->R = R;
			best->blk = blk;
			best->nbuf = nbuf;
			best->sram = sram;
		}
	}
}

static const char *conv_fields_reason(const struct conv_geo *g)
{
	const struct npuq_conv *p = g->p;

	if (p->k_h > (int)NPU_CONV_MAX_K || p->k_w > (int)NPU_CONV_MAX_K)
		return "kernel larger than the NPU's 32x32";
	if (p->stride_h > (int)NPU_MAX_STRIDE || p->stride_w > (int)NPU_MAX_STRIDE)
		return "stride above the NPU's 16";
	if (p->dil_h > (int)NPU_MAX_DILATION || p->dil_w > (int)NPU_MAX_DILATION)
		return "dilation above the NPU's 16";
	if (p->pad_top > 255 || p->pad_left > 255)
		return "padding above the NPU's 255";
	if (g->x->w > U16_MAX || g->y->w > U16_MAX)
		return "tensor wider than the NPU's 65535";
	return NULL;
}

static void conv_geo_init(struct conv_geo *g, const struct lw *l, const struct npuq_node *n)
{
	g->x = lw_tin(l, n, 0);
	g->y = lw_tout(l, n, 0);
	g->p = &n->u.conv;
	g->icg = g->x->c / g->p->groups;
	g->ocg = g->y->c / g->p->groups;
	g->grouped = g->p->groups > 1;
	g->units = g->grouped ? g->p->groups : g->y->c;
}

/* Best (block, band, buffering) by the analytic cost; best->cost 0 if none fits. */
static void conv_search(struct lw *l, const struct conv_geo *g, struct conv_choice *best)
{
	int unit;

	/* Block granularity keeps the MAC lanes full: 32 groups (depthwise), 16 channels. */
	if (g->grouped)
		unit = g->icg == 1 ? (int)l->cfg->mac_ic :
		       (g->ocg < (int)l->cfg->mac_oc ? (int)l->cfg->mac_oc / g->ocg : 1);
	else
		unit = (int)l->cfg->mac_oc;
	if (unit < 1)
		unit = 1;
	for (int nbuf = l->o->single_buffer ? 1 : 2; nbuf >= 1 && !best->cost; nbuf--) {
		int prev = 0;

		for (int nb = 1; nb <= g->units; nb++) {
			int blk = (g->units + nb - 1) / nb;

			blk = (int)(cdiv((uint64_t)blk, (uint64_t)unit) * unit);
			if (blk > g->units)
				blk = g->units;
			if (blk == prev)
				continue;
			prev = blk;
			conv_try(l, g, blk, nbuf, best);
			if (blk <= unit)
				break;
		}
		if (!best->cost)	/* smallest block size */
			conv_try(l, g, 1, nbuf, best);
	}
}

/* SRAM layout: weights + qparams (x nwb), then input + output (x nbuf). */
static uint32_t conv_layout(struct conv_plan *pl, const struct conv_geo *g)
{
	uint64_t ocb = g->grouped ? (uint64_t)pl->unit_blk * g->ocg : (uint64_t)pl->unit_blk;
	uint64_t icb = g->grouped ? (uint64_t)pl->unit_blk * g->icg : (uint64_t)g->x->c;
	uint64_t wb = ocb * g->p->k_h * g->p->k_w * g->icg, qb = 12 * ocb;
	uint64_t in_b = (uint64_t)band_in_rows(g, pl->R) * g->x->w * icb;
	uint64_t out_b = (uint64_t)pl->R * g->y->w * ocb, a = 0;

	for (int k = 0; k < pl->nwb; k++) {
		pl->a_w[k] = (uint32_t)a;
		a += wb;
		pl->a_q[k] = (uint32_t)a;
		a += qb;
	}
	for (int k = 0; k < pl->nbuf; k++) {
		pl->a_in[k] = (uint32_t)a;
		a += in_b;
		pl->a_out[k] = (uint32_t)a;
		a += out_b;
	}
	return (uint32_t)a;
}

/* Output channels [*oc0, *oc0 + *ocb) of weight block b. */
static void wblock_channels(const struct conv_geo *g, const struct conv_plan *pl, int b,
			    int *oc0, int *ocb)
{
	int u0, uc;

	block_range(g->units, pl->unit_blk, b, &u0, &uc);
	*oc0 = pl->grouped ? u0 * g->ocg : u0;
	*ocb = pl->grouped ? uc * g->ocg : uc;
}

/* The smaller of a block's ZMASK and PALETTE4 streams: its size and format. */
static uint64_t wblock_stream(const int8_t *w, uint64_t raw, uint32_t *format)
{
	uint64_t z = lw_zmask_size(w, raw), p = lw_palette4_size(w, raw);

	*format = p < z ? NPU_COMPRESS_PALETTE4 : NPU_COMPRESS_ZMASK;
	return p < z ? p : z;
}

/*
 * Puts the weights in WEIGHTS: as one raw array, unless some block has a
 * compressed stream smaller than its bytes (pruned weights: ZMASK; shared
 * weights: PALETTE4); then block by block, each as the smallest of the
 * three. Returns the bytes stored.
 */
static uint64_t conv_weights_place(struct lw *l, const struct conv_geo *g, struct conv_plan *pl)
{
	uint64_t wpc = (uint64_t)g->p->k_h * g->p->k_w * g->icg, stored = 0;
	int any = 0, oc0, ocb;
	uint32_t fmt;

	for (int b = 0; l->o->compress_weights && b < pl->n_blocks; b++) {
		wblock_channels(g, pl, b, &oc0, &ocb);
		if (wblock_stream(g->p->w + oc0 * wpc, ocb * wpc, &fmt) < ocb * wpc)
			any = 1;
	}
	if (!any) {
		uint64_t off = lw_weights_add(l, g->p->w, (uint64_t)g->y->c * wpc);

		for (int b = 0; b < pl->n_blocks; b++) {
			wblock_channels(g, pl, b, &oc0, &ocb);
			pl->wblk[b].off = off + oc0 * wpc;
		}
		return (uint64_t)g->y->c * wpc;
	}
	for (int b = 0; b < pl->n_blocks; b++) {
		const int8_t *w;
		uint64_t raw, z;
		uint8_t *buf;

		wblock_channels(g, pl, b, &oc0, &ocb);
		w = g->p->w + oc0 * wpc;
		raw = ocb * wpc;
		z = wblock_stream(w, raw, &fmt);
		if (z >= raw) {
			pl->wblk[b].off = lw_weights_add(l, w, raw);
			stored += raw;
			continue;
		}
		buf = malloc((size_t)z);
		if (!buf) {
			l->oom = 1;
			return 0;
		}
		if (fmt == NPU_COMPRESS_PALETTE4)
			lw_palette4_encode(w, raw, buf);
		else
			lw_zmask_encode(w, raw, buf);
		pl->wblk[b].off = lw_weights_add(l, buf, z);
		pl->wblk[b].src = (uint32_t)z;
		pl->wblk[b].format = fmt;
		stored += z;
		free(buf);
	}
	return stored;
}

int lower_plan_conv(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	struct lnode *ln = &l->ln[ni];
	struct conv_choice best = { 0 };
	struct conv_geo g;
	struct conv_plan *pl;
	const char *why;
	uint64_t wbytes;

	conv_geo_init(&g, l, n);
	why = conv_fields_reason(&g);
	if (!why) {
		conv_search(l, &g, &best);
		why = best.cost ? NULL : "does not fit SRAM";
	}
	if (why) {
		lnode_to_host(ln, why);
		return 0;
	}
	pl = calloc(1, sizeof(*pl) + sizeof(pl->wblk[0]) *
			  (size_t)((g.units + best.blk - 1) / best.blk));
	if (!pl)
		return -1;
	pl->R = best.R;
	pl->n_bands = (g.y->h + best.R - 1) / best.R;
	pl->unit_blk = best.blk;
	pl->n_blocks = (g.units + best.blk - 1) / best.blk;
	pl->grouped = g.grouped;
	pl->nbuf = best.nbuf;
	pl->nwb = pl->n_blocks > 1 ? best.nbuf : 1;
	ln->sram_peak = conv_layout(pl, &g);
	wbytes = conv_weights_place(l, &g, pl);
	pl->q_off = lw_weights_add(l, g.p->q, 12ull * g.y->c);
	ln->w_off[0] = pl->wblk[0].off;
	ln->w_bytes[0] = wbytes;
	ln->w_off[1] = pl->q_off;
	ln->w_bytes[1] = 12ull * g.y->c;
	ln->tiles = (uint32_t)(pl->n_blocks * pl->n_bands);
	ln->plan = pl;
	return l->oom ? -1 : 0;
}

/* ---- emission ---- */
struct conv_ctx {
	const struct conv_plan *pl;
	struct conv_geo g;
	uint32_t xr, yr;		/* regions */
	uint64_t xo, yo;		/* offsets */
};

struct conv_tile {
	int blk, first_band;
	int oy0, oy1, in0, in_h, pad;
	int u0, uc;			/* block units */
	int ic0, icb, oc0, ocb, gb;
};

static void conv_tile(const struct conv_ctx *c, int i, struct conv_tile *t)
{
	const struct conv_plan *pl = c->pl;
	int band = i % pl->n_bands;

	t->blk = i / pl->n_bands;
	t->first_band = band == 0;
	t->oy0 = band * pl->R;
	t->oy1 = t->oy0 + pl->R < c->g.y->h ? t->oy0 + pl->R : c->g.y->h;
	band_rows(t->oy0, t->oy1, c->g.p->stride_h, c->g.p->pad_top, c->g.p->k_h, c->g.p->dil_h,
		  c->g.x->h, &t->in0, &t->in_h, &t->pad);
	block_range(c->g.units, pl->unit_blk, t->blk, &t->u0, &t->uc);
	if (pl->grouped) {
		t->ic0 = t->u0 * c->g.icg;
		t->icb = t->uc * c->g.icg;
		t->oc0 = t->u0 * c->g.ocg;
		t->ocb = t->uc * c->g.ocg;
		t->gb = t->uc;
	} else {
		t->ic0 = 0;
		t->icb = c->g.x->c;
		t->oc0 = t->u0;
		t->ocb = t->uc;
		t->gb = 1;
	}
}

static void conv_load(struct lw *l, void *ctx, int i)
{
	const struct conv_ctx *c = ctx;
	const struct conv_plan *pl = c->pl;
	struct conv_tile t;
	uint32_t W = (uint32_t)c->g.x->w, C = (uint32_t)c->g.x->c;
	uint64_t wpc = (uint64_t)c->g.p->k_h * c->g.p->k_w * c->g.icg;
	uint64_t base;

	conv_tile(c, i, &t);
	if (t.first_band) {
		int wbuf = t.blk % pl->nwb;
		const struct conv_wblk *wb = &pl->wblk[t.blk];

		if (wb->src)
			em_dma_decompress(&l->em, wb->format, NPUB_REGION_WEIGHTS_ID, wb->off,
					  wb->src, pl->a_w[wbuf], (uint32_t)(t.ocb * wpc));
		else
			em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, wb->off,
			       pl->a_w[wbuf], (uint32_t)(t.ocb * wpc), 1, 1, 0, 0, 0, 0);
		em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, pl->q_off + 12ull * t.oc0,
		       pl->a_q[wbuf], 12u * (uint32_t)t.ocb, 1, 1, 0, 0, 0, 0);
	}
	base = c->xo + ((uint64_t)t.in0 * W) * C + (uint64_t)t.ic0;
	if ((uint32_t)t.icb == C)
		em_dma(&l->em, NPU_DMA_TO_SRAM, c->xr, base, pl->a_in[i % pl->nbuf],
		       (uint32_t)t.in_h * W * C, 1, 1, 0, 0, 0, 0);
	else
		em_dma(&l->em, NPU_DMA_TO_SRAM, c->xr, base, pl->a_in[i % pl->nbuf],
		       (uint32_t)t.icb, (uint32_t)t.in_h * W, 1, C, 0, (uint32_t)t.icb, 0);
}

static void conv_compute(struct lw *l, void *ctx, int i)
{
	const struct conv_ctx *c = ctx;
	const struct conv_plan *pl = c->pl;
	const struct npuq_conv *p = c->g.p;
	struct npu_cmd_conv cmd;
	struct conv_tile t;
	int wbuf;

	conv_tile(c, i, &t);
	wbuf = t.blk % pl->nwb;
	memset(&cmd, 0, sizeof(cmd));
	cmd.in_addr = pl->a_in[i % pl->nbuf];
	cmd.w_addr = pl->a_w[wbuf];
	cmd.q_addr = pl->a_q[wbuf];
	cmd.out_addr = pl->a_out[i % pl->nbuf];
	cmd.in_h = (uint16_t)t.in_h;
	cmd.in_w = (uint16_t)c->g.x->w;
	cmd.in_c = (uint16_t)t.icb;
	cmd.in_pix_stride = (uint16_t)t.icb;
	cmd.out_h = (uint16_t)(t.oy1 - t.oy0);
	cmd.out_w = (uint16_t)c->g.y->w;
	cmd.out_c = (uint16_t)t.ocb;
	cmd.out_pix_stride = (uint16_t)t.ocb;
	cmd.k_h = (uint8_t)p->k_h;
	cmd.k_w = (uint8_t)p->k_w;
	cmd.stride_h = (uint8_t)p->stride_h;
	cmd.stride_w = (uint8_t)p->stride_w;
	cmd.dil_h = (uint8_t)p->dil_h;
	cmd.dil_w = (uint8_t)p->dil_w;
	cmd.pad_top = (uint8_t)t.pad;
	cmd.pad_left = (uint8_t)p->pad_left;
	cmd.groups = (uint16_t)t.gb;
	cmd.in_zp = (int8_t)c->g.x->zp;
	cmd.w_zp = p->w_zp;
	cmd.out_zp = (int8_t)c->g.y->zp;
	cmd.act_min = p->act_min;
	cmd.act_max = p->act_max;
	em_conv(&l->em, &cmd);
}

static void conv_store(struct lw *l, void *ctx, int i)
{
	const struct conv_ctx *c = ctx;
	const struct conv_plan *pl = c->pl;
	struct conv_tile t;
	uint32_t OW = (uint32_t)c->g.y->w, OC = (uint32_t)c->g.y->c, rows;
	uint64_t base;

	conv_tile(c, i, &t);
	rows = (uint32_t)(t.oy1 - t.oy0);
	base = c->yo + ((uint64_t)t.oy0 * OW) * OC + (uint64_t)t.oc0;
	if ((uint32_t)t.ocb == OC)
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, pl->a_out[i % pl->nbuf],
		       rows * OW * OC, 1, 1, 0, 0, 0, 0);
	else
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, pl->a_out[i % pl->nbuf],
		       (uint32_t)t.ocb, rows * OW, 1, OC, 0, (uint32_t)t.ocb, 0);
}

void lower_emit_conv(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	static const struct pipe_ops ops = { conv_load, conv_compute, conv_store };
	struct conv_ctx c;

	memset(&c, 0, sizeof(c));
	c.pl = l->ln[ni].plan;
	conv_geo_init(&c.g, l, n);
	c.xr = l->treg[n->in[0]];
	c.xo = l->toff[n->in[0]];
	c.yr = l->treg[n->out[0]];
	c.yo = l->toff[n->out[0]];
	pipe_run(l, c.pl->n_blocks * c.pl->n_bands, c.pl->nbuf, &ops, &c);
}

/* ------------------------------------------------------------------ */
/* MATMUL                                                              */
/* ------------------------------------------------------------------ */
struct mm_plan {
	int mb, n_mb;			/* A rows per band */
	int nb, n_nb;			/* B columns per block */
	int nbuf, nwb;
	uint32_t a_q, a_b[2], a_a[2], a_o[2];
	uint64_t q_off;
};

static uint64_t mm_cycles(const struct npusim_config *c, uint64_t m, uint64_t k, uint64_t n)
{
	uint64_t t = cdiv(n, c->mac_oc) * cdiv(k, c->mac_ic) * m, o = cdiv(m * n, c->mac_oc);

	return (t > o ? t : o) + c->mac_pipeline_cycles;
}

struct mm_dims {
	int M, K, N, H;			/* A (H, M, K) x B (H, K, N) */
};

struct mm_choice {
	uint64_t cost, sram;
	int mb, nb, nbuf;
};

/* Every row-band height for column blocks of nb and nbuf buffers. */
static void mm_try(struct lw *l, const struct mm_dims *d, int nb, int nbuf, struct mm_choice *best)
{
	const struct npusim_config *c = l->cfg;
	int n_nb = (d->N + nb - 1) / nb, nwb = (n_nb > 1 || d->H > 1) ? nbuf : 1;

	for (int split = 1, mb = 0; split <= d->M; split = tile_next_split(split, d->M)) {
		int cand = (d->M + split - 1) / split, n_mb;
		uint64_t sram, ld, st, cp, cost;

		if (cand == mb || cand > U16_MAX)
			continue;
		mb = cand;
		n_mb = (d->M + mb - 1) / mb;
		sram = 16 + (uint64_t)nwb * d->K * nb + (uint64_t)nbuf * mb * (uint64_t)(d->K + nb);
		if (sram > l->sram)
			continue;
		ld = nb == d->N ? est_dma(c, (uint64_t)d->K * d->N, 1) : est_dma(c, nb, d->K);
		ld = est_dma(c, (uint64_t)mb * d->K, 1) + ld / n_mb;
		st = nb == d->N ? est_dma(c, (uint64_t)mb * d->N, 1) : est_dma(c, nb, mb);
		cp = mm_cycles(c, mb, d->K, nb);
		cost = est_pipe(c, (uint64_t)d->H * n_nb * n_mb, ld, cp, st, nbuf);
		if (!best->cost || cost < best->cost || (cost == best->cost && sram < best->sram)) {
			best->cost = cost;
			best->sram = sram;
			best->mb = mb;
			best->nb = nb;
			best->nbuf = nbuf;
		}
	}
}

static void mm_search(struct lw *l, const struct mm_dims *d, struct mm_choice *best)
{
	uint32_t unit = l->cfg->mac_oc;

	for (int nbuf = l->o->single_buffer ? 1 : 2; nbuf >= 1 && !best->cost; nbuf--) {
		int prev = 0;

		for (int div = 1; div <= d->N; div++) {
			int nb = (int)(cdiv(cdiv((uint64_t)d->N, (uint64_t)div), unit) * unit);

			nb = nb > d->N ? d->N : nb;
			if (nb == prev)
				continue;
			prev = nb;
			if (nb <= U16_MAX)
				mm_try(l, d, nb, nbuf, best);
			if (nb <= (int)unit)
				break;
		}
	}
}

/* SRAM layout: qparam, B blocks (x nwb), then A band + output (x nbuf). */
static uint32_t mm_layout(struct mm_plan *pl, int K)
{
	uint64_t o = 16;

	pl->a_q = 0;
	for (int k = 0; k < pl->nwb; k++) {
		pl->a_b[k] = (uint32_t)o;
		o += (uint64_t)K * pl->nb;
	}
	for (int k = 0; k < pl->nbuf; k++) {
		pl->a_a[k] = (uint32_t)o;
		o += (uint64_t)pl->mb * K;
		pl->a_o[k] = (uint32_t)o;
		o += (uint64_t)pl->mb * pl->nb;
	}
	return (uint32_t)o;
}

int lower_plan_matmul(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuq_tensor *a = lw_tin(l, n, 0), *b = lw_tin(l, n, 1);
	struct mm_dims d = { a->w, a->c, b->c, a->h };
	struct lnode *ln = &l->ln[ni];
	struct mm_choice best = { 0 };
	struct mm_plan *pl;
	const char *why = d.K > U16_MAX ? "inner dimension above the NPU's 65535" : NULL;

	if (!why) {
		mm_search(l, &d, &best);
		why = best.cost ? NULL : "does not fit SRAM";
	}
	if (why) {
		lnode_to_host(ln, why);
		return 0;
	}
	pl = calloc(1, sizeof(*pl));
	if (!pl)
		return -1;
	pl->mb = best.mb;
	pl->n_mb = (d.M + best.mb - 1) / best.mb;
	pl->nb = best.nb;
	pl->n_nb = (d.N + best.nb - 1) / best.nb;
	pl->nbuf = best.nbuf;
	pl->nwb = (pl->n_nb > 1 || d.H > 1) ? best.nbuf : 1;
	ln->sram_peak = mm_layout(pl, d.K);
	pl->q_off = lw_weights_add(l, &n->u.matmul.q, 12);
	ln->w_off[1] = pl->q_off;
	ln->w_bytes[1] = 12;
	ln->tiles = (uint32_t)(d.H * pl->n_nb * pl->n_mb);
	ln->plan = pl;
	return l->oom ? -1 : 0;
}

struct mm_ctx {
	const struct mm_plan *pl;
	const struct npuq_tensor *a, *b, *y;
	const struct npuq_matmul *p;
	uint32_t ar, br, yr;
	uint64_t ao, bo, yo;
};

struct mm_tile {
	int bi, nbi, mbi, bload;	/* batch, column block, row band, B load index */
	int m0, mc, n0, nc;
};

static void mm_tile(const struct mm_ctx *c, int i, struct mm_tile *t)
{
	const struct mm_plan *pl = c->pl;

	t->mbi = i % pl->n_mb;
	t->nbi = (i / pl->n_mb) % pl->n_nb;
	t->bi = i / (pl->n_mb * pl->n_nb);
	t->bload = i / pl->n_mb;
	t->m0 = t->mbi * pl->mb;
	t->mc = c->a->w - t->m0 < pl->mb ? c->a->w - t->m0 : pl->mb;
	t->n0 = t->nbi * pl->nb;
	t->nc = c->b->c - t->n0 < pl->nb ? c->b->c - t->n0 : pl->nb;
}

static void mm_load(struct lw *l, void *ctx, int i)
{
	const struct mm_ctx *c = ctx;
	const struct mm_plan *pl = c->pl;
	uint32_t K = (uint32_t)c->a->c, N = (uint32_t)c->b->c, M = (uint32_t)c->a->w;
	struct mm_tile t;

	mm_tile(c, i, &t);
	if (i == 0)
		em_dma(&l->em, NPU_DMA_TO_SRAM, NPUB_REGION_WEIGHTS_ID, pl->q_off, pl->a_q, 12, 1,
		       1, 0, 0, 0, 0);
	if (t.mbi == 0) {
		uint64_t base = c->bo + (uint64_t)t.bi * K * N + (uint64_t)t.n0;
		uint32_t dst = pl->a_b[t.bload % pl->nwb];

		if ((uint32_t)t.nc == N)
			em_dma(&l->em, NPU_DMA_TO_SRAM, c->br, base, dst, K * N, 1, 1, 0, 0, 0, 0);
		else
			em_dma(&l->em, NPU_DMA_TO_SRAM, c->br, base, dst, (uint32_t)t.nc, K, 1, N,
			       0, (uint32_t)t.nc, 0);
	}
	em_dma(&l->em, NPU_DMA_TO_SRAM, c->ar,
	       c->ao + ((uint64_t)t.bi * M + (uint64_t)t.m0) * K, pl->a_a[i % pl->nbuf],
	       (uint32_t)t.mc * K, 1, 1, 0, 0, 0, 0);
}

static void mm_compute(struct lw *l, void *ctx, int i)
{
	const struct mm_ctx *c = ctx;
	const struct mm_plan *pl = c->pl;
	struct npu_cmd_matmul cmd;
	struct mm_tile t;

	mm_tile(c, i, &t);
	memset(&cmd, 0, sizeof(cmd));
	cmd.flags = NPU_CONV_F_PER_TENSOR_Q;
	cmd.a_addr = pl->a_a[i % pl->nbuf];
	cmd.b_addr = pl->a_b[t.bload % pl->nwb];
	cmd.q_addr = pl->a_q;
	cmd.out_addr = pl->a_o[i % pl->nbuf];
	cmd.m = (uint16_t)t.mc;
	cmd.k = (uint16_t)c->a->c;
	cmd.n = (uint16_t)t.nc;
	cmd.a_row_stride = (uint16_t)c->a->c;
	cmd.out_row_stride = (uint16_t)t.nc;
	cmd.a_zp = (int8_t)c->a->zp;
	cmd.b_zp = (int8_t)c->b->zp;
	cmd.out_zp = (int8_t)c->y->zp;
	cmd.act_min = c->p->act_min;
	cmd.act_max = c->p->act_max;
	em_matmul(&l->em, &cmd);
}

static void mm_store(struct lw *l, void *ctx, int i)
{
	const struct mm_ctx *c = ctx;
	const struct mm_plan *pl = c->pl;
	uint32_t N = (uint32_t)c->b->c, M = (uint32_t)c->a->w;
	struct mm_tile t;
	uint64_t base;

	mm_tile(c, i, &t);
	base = c->yo + ((uint64_t)t.bi * M + (uint64_t)t.m0) * N + (uint64_t)t.n0;
	if ((uint32_t)t.nc == N)
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, pl->a_o[i % pl->nbuf],
		       (uint32_t)t.mc * N, 1, 1, 0, 0, 0, 0);
	else
		em_dma(&l->em, NPU_DMA_TO_DRAM, c->yr, base, pl->a_o[i % pl->nbuf],
		       (uint32_t)t.nc, (uint32_t)t.mc, 1, N, 0, (uint32_t)t.nc, 0);
}

void lower_emit_matmul(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	static const struct pipe_ops ops = { mm_load, mm_compute, mm_store };
	struct mm_ctx c;

	c.pl = l->ln[ni].plan;
	c.a = lw_tin(l, n, 0);
	c.b = lw_tin(l, n, 1);
	c.y = lw_tout(l, n, 0);
	c.p = &n->u.matmul;
	c.ar = l->treg[n->in[0]];
	c.ao = l->toff[n->in[0]];
	c.br = l->treg[n->in[1]];
	c.bo = l->toff[n->in[1]];
	c.yr = l->treg[n->out[0]];
	c.yo = l->toff[n->out[0]];
	pipe_run(l, c.a->h * c.pl->n_nb * c.pl->n_mb, c.pl->nbuf, &ops, &c);
}
