// SPDX-License-Identifier: MIT
/*
 * Cycle model through full jobs: MAC utilisation of a compute-bound
 * convolution, DMA bandwidth of a large copy, double buffering against the
 * same work serialised, and the per-command cost formulas (busy cycles,
 * DRAM byte counts) written out independently here.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"
#include "util/stream.h"

#define CYCLES_SEED 0xc7c1e5ull

static uint64_t div_up(uint64_t a, uint64_t b)
{
	return (a + b - 1) / b;
}

/* CONV cost per the cycle model (CONTEXT: general and depthwise forms). */
static uint64_t model_conv_cycles(const struct npusim_config *cfg, const struct npu_cmd_conv *c)
{
	uint64_t g = c->groups, icg = c->in_c / g, ocg = c->out_c / g;
	uint64_t hw = (uint64_t)c->out_h * c->out_w, kk = (uint64_t)c->k_h * c->k_w;
	uint64_t work, fill;

	if (g > 1 && icg == 1)
		work = div_up(g, cfg->mac_ic) * ocg * div_up(hw, cfg->mac_oc) * kk;
	else
		work = g * div_up(ocg, cfg->mac_oc) * div_up(icg, cfg->mac_ic) * hw * kk;
	fill = div_up(hw * c->out_c, cfg->mac_oc);
	return (work > fill ? work : fill) + cfg->mac_pipeline_cycles;
}

static uint64_t model_matmul_cycles(const struct npusim_config *cfg,
				    const struct npu_cmd_matmul *c)
{
	uint64_t work = div_up(c->n, cfg->mac_oc) * div_up(c->k, cfg->mac_ic) * c->m;
	uint64_t fill = div_up((uint64_t)c->m * c->n, cfg->mac_oc);

	return (work > fill ? work : fill) + cfg->mac_pipeline_cycles;
}

static uint64_t model_dma_cycles(const struct npusim_config *cfg, uint64_t rows, uint64_t inner)
{
	return cfg->dram_latency_cycles + rows * div_up(inner, cfg->dma_bytes_per_cycle);
}

static void check_busy_sane(const struct npu_job_report *rep)
{
	for (int e = 0; e < NPU_ENGINE_COUNT; e++)
		ck_assert_msg(rep->busy_cycles[e] <= rep->cycles,
			      "engine %d busy %llu > cycles %llu", e,
			      (unsigned long long)rep->busy_cycles[e],
			      (unsigned long long)rep->cycles);
}

static void fill_qparams(struct trng *r, uint8_t *q, unsigned int n, uint32_t shift)
{
	for (unsigned int i = 0; i < n; i++)
		put_qparam(q + 12 * i, (int32_t)trng_range(r, -20000, 20000),
			   (uint32_t)trng_range(r, 1u << 30, 0x7fffffff), shift);
}

/* ------------------------------------------------------------------ */
/* MAC utilisation                                                     */
/* ------------------------------------------------------------------ */

/*
 * 3x3 convolution, 64 -> 64 channels, 28x28 output, every byte loaded
 * once. The output rows are computed in 4 bands of 7 so that loading the
 * input of band b+1 and storing the output of band b overlap the MAC
 * work; only the first band's input and the last band's output are
 * exposed. Target: >= 90% of the MAC array's peak over the whole job.
 */
START_TEST(test_cycles_mac_utilisation)
{
	enum { IH = 30, IW = 30, C = 64, OH = 28, OW = 28, BANDS = 4, BR = OH / BANDS };
	const uint32_t in_at = 0, w_at = 65536, q_at = 110000, out_at = 131072;
	const uint32_t row = IW * C, w_len = C * 9 * C, out_band = BR * OW * C;
	struct tjob j;
	struct trng r;
	struct npu_job_report rep;
	struct npu_cmd_conv c, full;
	const struct npusim_config *cfg;
	uint8_t *in = malloc(IH * row), *w = malloc(w_len), q[C * 12];
	uint64_t in_va, w_va, q_va, out_va, want_dma = 0, want_mac = 0;
	double util;

	ck_assert(in && w);
	tjob_init(&j, NULL, 4 << 20);
	cfg = npusim_core_config(j.core);
	trng_init(&r, CYCLES_SEED);
	trng_fill(&r, in, IH * row);
	trng_fill(&r, w, w_len);
	fill_qparams(&r, q, C, 44);
	in_va = tdram_put(&j.dram, in, IH * row);
	w_va = tdram_put(&j.dram, w, w_len);
	q_va = tdram_put(&j.dram, q, sizeof(q));
	out_va = tdram_alloc(&j.dram, OH * OW * C, 64, 0);

	memset(&c, 0, sizeof(c));
	c.w_addr = w_at;
	c.q_addr = q_at;
	c.in_h = BR + 2;
	c.in_w = IW;
	c.in_c = c.in_pix_stride = C;
	c.out_h = BR;
	c.out_w = OW;
	c.out_c = c.out_pix_stride = C;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = c.dil_h = c.dil_w = 1;
	c.groups = 1;
	c.in_zp = 3;
	c.w_zp = -1;
	c.out_zp = -5;
	c.act_min = -128;
	c.act_max = 127;

	st_dma_in(&j.s, q_va, q_at, sizeof(q));
	st_dma_in(&j.s, w_va, w_at, w_len);
	want_dma += model_dma_cycles(cfg, 1, sizeof(q)) + model_dma_cycles(cfg, 1, w_len);
	for (int b = 0; b < BANDS; b++) {
		/* rows [first, last) of the input not loaded yet */
		uint32_t first = b == 0 ? 0 : (uint32_t)(b * BR + 2);
		uint32_t last = (uint32_t)(b * BR + BR + 2);

		st_dma_in(&j.s, in_va + first * row, in_at + first * row, (last - first) * row);
		want_dma += model_dma_cycles(cfg, 1, (last - first) * row);
		st_wait(&j.s, ENG_DMA, 0);
		c.in_addr = in_at + (uint32_t)b * BR * row;
		c.out_addr = out_at + (uint32_t)b * out_band;
		st_conv(&j.s, &c);
		want_mac += model_conv_cycles(cfg, &c);
	}
	for (int b = 0; b < BANDS; b++) {
		st_wait(&j.s, ENG_MAC, (uint32_t)(BANDS - 1 - b));
		st_dma_out(&j.s, out_at + (uint32_t)b * out_band, out_va + (uint64_t)b * out_band,
			   out_band);
		want_dma += model_dma_cycles(cfg, 1, out_band);
	}
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);

	util = (double)rep.macs / ((double)rep.cycles * cfg->mac_oc * cfg->mac_ic);
	fprintf(stderr, "cycles: conv 3x3 64->64 28x28: %llu cycles, MAC utilisation %.1f%%\n",
		(unsigned long long)rep.cycles, 100.0 * util);
	ck_assert_uint_eq(rep.macs, (uint64_t)OH * OW * C * 9 * C);
	ck_assert_msg(util >= 0.90, "MAC utilisation %.3f < 0.90 (%llu cycles)", util,
		      (unsigned long long)rep.cycles);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_MAC], want_mac);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_DMA], want_dma);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_VEC], 0);
	ck_assert_uint_eq(rep.dram_read_bytes, IH * row + w_len + sizeof(q) + stream_bytes(&j.s));
	ck_assert_uint_eq(rep.dram_write_bytes, OH * OW * C);
	check_busy_sane(&rep);

	/* The banded result equals one whole-layer convolution. */
	memcpy(j.model + in_at, in, IH * row);
	memcpy(j.model + w_at, w, w_len);
	memcpy(j.model + q_at, q, sizeof(q));
	full = c;
	full.in_addr = in_at;
	full.out_addr = out_at;
	full.in_h = IH;
	full.out_h = OH;
	ck_assert_int_eq(ref_conv(j.model, j.sram_bytes, &full), 0);
	ck_assert_int_lt(tjob_compare(&j, out_va, out_at, OH * OW * C), 0);
	free(in);
	free(w);
	tjob_free(&j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DMA bandwidth                                                       */
/* ------------------------------------------------------------------ */

/* 512 KiB in 64 KiB rows, in and then out: >= 90% of the DMA peak each. */
START_TEST(test_cycles_dma_bandwidth)
{
	const uint32_t total = 512u << 10, rowb = 64u << 10;
	struct tjob j;
	struct trng r;
	struct npu_job_report rep;
	const struct npusim_config *cfg;
	uint8_t *buf = malloc(total), *back = malloc(total);
	uint64_t src, dst;
	double bw;

	ck_assert(buf && back);
	tjob_init(&j, NULL, 4 << 20);
	cfg = npusim_core_config(j.core);
	trng_init(&r, CYCLES_SEED + 1);
	trng_fill(&r, buf, total);
	src = tdram_put(&j.dram, buf, total);
	dst = tdram_alloc(&j.dram, total, 4096, 0);

	st_dma(&j.s, NPU_DMA_TO_SRAM, src, 4096, rowb, total / rowb, 1, rowb, total, rowb, total);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	bw = (double)total / ((double)rep.cycles * cfg->dma_bytes_per_cycle);
	fprintf(stderr, "cycles: DMA in 512 KiB: %llu cycles, %.1f%% of peak\n",
		(unsigned long long)rep.cycles, 100.0 * bw);
	ck_assert_msg(bw >= 0.90, "DMA in at %.3f of peak", bw);
	ck_assert_uint_eq(rep.dram_read_bytes, total + stream_bytes(&j.s));
	ck_assert_uint_eq(rep.dram_write_bytes, 0);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_DMA], model_dma_cycles(cfg, total / rowb,
									    rowb));
	check_busy_sane(&rep);
	ck_assert_int_eq(npusim_core_sram_read(j.core, 4096, back, total), 0);
	ck_assert_mem_eq(back, buf, total);

	/* and back out (SRAM contents persist within this core between jobs) */
	tjob_reset(&j);
	st_dma(&j.s, NPU_DMA_TO_DRAM, dst, 4096, rowb, total / rowb, 1, rowb, total, rowb, total);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	bw = (double)total / ((double)rep.cycles * cfg->dma_bytes_per_cycle);
	fprintf(stderr, "cycles: DMA out 512 KiB: %llu cycles, %.1f%% of peak\n",
		(unsigned long long)rep.cycles, 100.0 * bw);
	ck_assert_msg(bw >= 0.90, "DMA out at %.3f of peak", bw);
	ck_assert_uint_eq(rep.dram_write_bytes, total);
	ck_assert_uint_eq(rep.dram_read_bytes, stream_bytes(&j.s));
	ck_assert_mem_eq(tdram_ptr(&j.dram, dst, total), buf, total);
	free(buf);
	free(back);
	tjob_free(&j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Double buffering                                                    */
/* ------------------------------------------------------------------ */

#define DB_TILES 6
#define DB_IN (18 * 18 * 32)
#define DB_OUT (16 * 16 * 32)

struct db_setup {
	struct npu_cmd_conv c;
	uint64_t w_va, q_va, in_va, out_va;
	uint32_t w_at, q_at, in_at[2], out_at[2];
	uint32_t w_len, q_len;
};

/* Appends an engine command's WAIT when serialising. */
static void db_after(struct stream *s, int serial)
{
	if (serial)
		st_wait_idle(s);
}

/*
 * Tile i: DMA in -> IN[i%2], CONV -> OUT[i%2], DMA out. Double buffered:
 * the load of tile i+1 and the store of tile i-1 run under CONV i, with
 * just the WAITs the buffers need. Serialised: the same commands, each
 * followed by WAIT for all engines idle.
 */
static void db_stream(struct stream *s, struct db_setup *d, int serial)
{
	st_begin(s);
	st_dma_in(s, d->w_va, d->w_at, d->w_len);
	db_after(s, serial);
	st_dma_in(s, d->q_va, d->q_at, d->q_len);
	db_after(s, serial);
	st_dma_in(s, d->in_va, d->in_at[0], DB_IN);
	db_after(s, serial);
	if (!serial)
		st_wait(s, ENG_DMA, 0);
	for (int i = 0; i < DB_TILES; i++) {
		d->c.in_addr = d->in_at[i % 2];
		d->c.out_addr = d->out_at[i % 2];
		st_conv(s, &d->c);
		db_after(s, serial);
		if (!serial)	/* CONV i-1 done: its input and output buffers are free */
			st_wait(s, ENG_MAC, 1);
		if (i + 1 < DB_TILES) {
			st_dma_in(s, d->in_va + (uint64_t)(i + 1) * DB_IN, d->in_at[(i + 1) % 2],
				  DB_IN);
			db_after(s, serial);
		}
		if (i >= 1) {
			st_dma_out(s, d->out_at[(i - 1) % 2],
				   d->out_va + (uint64_t)(i - 1) * DB_OUT, DB_OUT);
			db_after(s, serial);
		}
		if (!serial)	/* next CONV's input loaded, its output buffer stored */
			st_wait(s, ENG_DMA, 0);
	}
	if (!serial)
		st_wait(s, ENG_MAC, 0);
	st_dma_out(s, d->out_at[(DB_TILES - 1) % 2],
		   d->out_va + (uint64_t)(DB_TILES - 1) * DB_OUT, DB_OUT);
	db_after(s, serial);
	st_end(s);
}

START_TEST(test_cycles_double_buffering)
{
	struct npusim_config cfg;
	struct npusim_core *core;
	struct tdram dram;
	struct stream s;
	struct trng r;
	struct db_setup d;
	struct npu_job_report rep[2];
	uint8_t *out[2], *model;
	uint8_t w[32 * 9 * 32], q[32 * 12];
	uint64_t want_dma, want_mac;
	uint32_t sbytes[2];

	npusim_config_default(&cfg);
	core = npusim_core_create(&cfg);
	ck_assert_ptr_nonnull(core);
	tdram_init(&dram, 0x40000000ull, 1 << 20);
	stream_init(&s);
	trng_init(&r, CYCLES_SEED + 2);

	memset(&d, 0, sizeof(d));
	trng_fill(&r, w, sizeof(w));
	fill_qparams(&r, q, 32, 42);
	d.w_len = sizeof(w);
	d.q_len = sizeof(q);
	d.w_va = tdram_put(&dram, w, sizeof(w));
	d.q_va = tdram_put(&dram, q, sizeof(q));
	d.in_va = tdram_alloc(&dram, DB_TILES * DB_IN, 64, 0);
	trng_fill(&r, tdram_ptr(&dram, d.in_va, DB_TILES * DB_IN), DB_TILES * DB_IN);
	d.w_at = 0;
	d.q_at = 10240;
	d.in_at[0] = 16384;
	d.in_at[1] = 32768;
	d.out_at[0] = 49152;
	d.out_at[1] = 65536;
	d.c.in_h = d.c.in_w = 18;
	d.c.in_c = d.c.in_pix_stride = 32;
	d.c.out_h = d.c.out_w = 16;
	d.c.out_c = d.c.out_pix_stride = 32;
	d.c.k_h = d.c.k_w = 3;
	d.c.stride_h = d.c.stride_w = d.c.dil_h = d.c.dil_w = 1;
	d.c.groups = 1;
	d.c.w_addr = d.w_at;
	d.c.q_addr = d.q_at;
	d.c.in_zp = -7;
	d.c.out_zp = 1;
	d.c.act_min = -128;
	d.c.act_max = 127;

	for (int serial = 0; serial < 2; serial++) {
		uint64_t mark = dram.next;

		d.out_va = tdram_alloc(&dram, DB_TILES * DB_OUT, 64, 0xa5);
		stream_reset(&s);
		db_stream(&s, &d, serial);
		sbytes[serial] = stream_bytes(&s);
		ck_assert_int_eq(run_stream(core, &dram, &s, 0, &rep[serial]), NPU_FAULT_NONE);
		out[serial] = malloc(DB_TILES * DB_OUT);
		ck_assert_ptr_nonnull(out[serial]);
		memcpy(out[serial], tdram_ptr(&dram, d.out_va, DB_TILES * DB_OUT),
		       DB_TILES * DB_OUT);
		dram.next = mark;
	}
	fprintf(stderr, "cycles: %d conv tiles double-buffered %llu, serialised %llu cycles\n",
		DB_TILES, (unsigned long long)rep[0].cycles, (unsigned long long)rep[1].cycles);

	/* Same work, same results, same engine costs. */
	ck_assert_mem_eq(out[0], out[1], DB_TILES * DB_OUT);
	want_dma = model_dma_cycles(&cfg, 1, d.w_len) + model_dma_cycles(&cfg, 1, d.q_len) +
		   DB_TILES * (model_dma_cycles(&cfg, 1, DB_IN) +
			       model_dma_cycles(&cfg, 1, DB_OUT));
	want_mac = DB_TILES * model_conv_cycles(&cfg, &d.c);
	for (int i = 0; i < 2; i++) {
		ck_assert_uint_eq(rep[i].busy_cycles[NPU_ENGINE_DMA], want_dma);
		ck_assert_uint_eq(rep[i].busy_cycles[NPU_ENGINE_MAC], want_mac);
		ck_assert_uint_eq(rep[i].macs, (uint64_t)DB_TILES * 16 * 16 * 32 * 9 * 32);
		ck_assert_uint_eq(rep[i].dram_write_bytes, DB_TILES * DB_OUT);
		ck_assert_uint_eq(rep[i].dram_read_bytes,
				  d.w_len + d.q_len + DB_TILES * DB_IN + sbytes[i]);
		check_busy_sane(&rep[i]);
	}
	/* Serialised: nothing overlaps. Double-buffered: the DMA hides under the MACs. */
	ck_assert_uint_ge(rep[1].cycles, want_dma + want_mac);
	ck_assert_uint_lt(rep[0].cycles, want_dma + want_mac);
	ck_assert_uint_lt(rep[0].cycles, rep[1].cycles);

	/* And the result is the convolution of each tile (first and last checked). */
	model = calloc(1, cfg.sram_bytes);
	ck_assert_ptr_nonnull(model);
	memcpy(model + d.w_at, w, sizeof(w));
	memcpy(model + d.q_at, q, sizeof(q));
	for (int t = 0; t < DB_TILES; t += DB_TILES - 1) {
		memcpy(model + d.in_at[0], tdram_ptr(&dram, d.in_va + (uint64_t)t * DB_IN, DB_IN),
		       DB_IN);
		d.c.in_addr = d.in_at[0];
		d.c.out_addr = d.out_at[0];
		ck_assert_int_eq(ref_conv(model, cfg.sram_bytes, &d.c), 0);
		ck_assert_mem_eq(out[0] + (size_t)t * DB_OUT, model + d.out_at[0], DB_OUT);
	}
	free(model);
	free(out[0]);
	free(out[1]);
	stream_free(&s);
	tdram_free(&dram);
	npusim_core_destroy(core);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Per-command costs                                                   */
/* ------------------------------------------------------------------ */

/*
 * One MAC command per job, serialised: busy MAC cycles and MACs follow the
 * cost formulas exactly for dense, grouped, depthwise (x1, x2) and
 * 1-channel-output shapes, and for matmuls.
 */
START_TEST(test_cycles_mac_formulas)
{
	static const uint16_t shapes[][6] = {
		/* in_c, out_c, groups, out_hw, k, stride */
		{ 64, 64, 1, 28, 3, 1 }, { 3, 16, 1, 56, 7, 2 }, { 33, 17, 1, 5, 1, 1 },
		{ 32, 32, 32, 14, 3, 1 }, { 48, 96, 48, 7, 3, 2 }, { 40, 40, 4, 9, 3, 1 },
		{ 8, 1, 1, 30, 5, 1 }, { 512, 8, 1, 2, 1, 1 }, { 1, 1, 1, 1, 1, 1 },
	};
	static const uint16_t mms[][3] = { { 1, 1, 1 }, { 16, 32, 16 }, { 7, 300, 33 },
					   { 64, 1, 64 }, { 2, 1024, 3 } };
	struct tjob j;
	const struct npusim_config *cfg;

	tjob_init(&j, NULL, 1 << 20);
	cfg = npusim_core_config(j.core);
	for (unsigned int i = 0; i < sizeof(shapes) / sizeof(shapes[0]); i++) {
		struct npu_cmd_conv c;
		struct npu_job_report rep;
		uint64_t icg;

		memset(&c, 0, sizeof(c));
		c.in_c = c.in_pix_stride = shapes[i][0];
		c.out_c = c.out_pix_stride = shapes[i][1];
		c.groups = shapes[i][2];
		c.out_h = c.out_w = shapes[i][3];
		c.k_h = c.k_w = (uint8_t)shapes[i][4];
		c.stride_h = c.stride_w = (uint8_t)shapes[i][5];
		c.in_h = c.in_w = (uint16_t)((c.out_h - 1) * c.stride_h + c.k_h);
		c.dil_h = c.dil_w = 1;
		c.act_min = -128;
		c.act_max = 127;
		icg = c.in_c / c.groups;
		c.in_addr = 0;
		c.w_addr = 400000;
		c.q_addr = 600000;
		c.out_addr = 700000;
		tjob_reset(&j);
		st_conv(&j.s, &c);
		ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
		ck_assert_msg(rep.busy_cycles[NPU_ENGINE_MAC] == model_conv_cycles(cfg, &c),
			      "conv shape %u: %llu cycles, model %llu", i,
			      (unsigned long long)rep.busy_cycles[NPU_ENGINE_MAC],
			      (unsigned long long)model_conv_cycles(cfg, &c));
		ck_assert_uint_eq(rep.macs, (uint64_t)c.out_h * c.out_w * c.out_c * c.k_h * c.k_w *
				  icg);
		ck_assert_uint_ge(rep.cycles, rep.busy_cycles[NPU_ENGINE_MAC]);
		check_busy_sane(&rep);
	}
	for (unsigned int i = 0; i < sizeof(mms) / sizeof(mms[0]); i++) {
		struct npu_cmd_matmul c;
		struct npu_job_report rep;

		memset(&c, 0, sizeof(c));
		c.m = mms[i][0];
		c.k = c.a_row_stride = mms[i][1];
		c.n = c.out_row_stride = mms[i][2];
		c.act_min = -128;
		c.act_max = 127;
		c.a_addr = 0;
		c.b_addr = 200000;
		c.q_addr = 600000;
		c.out_addr = 700000;
		tjob_reset(&j);
		st_matmul(&j.s, &c);
		ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
		ck_assert_msg(rep.busy_cycles[NPU_ENGINE_MAC] == model_matmul_cycles(cfg, &c),
			      "matmul %u: %llu cycles, model %llu", i,
			      (unsigned long long)rep.busy_cycles[NPU_ENGINE_MAC],
			      (unsigned long long)model_matmul_cycles(cfg, &c));
		ck_assert_uint_eq(rep.macs, (uint64_t)c.m * c.n * c.k);
		check_busy_sane(&rep);
	}
	tjob_free(&j);
}
END_TEST

/*
 * Engines run concurrently: a DMA and an independent VEC command issued
 * back to back overlap, so the job takes less than the sum of their costs;
 * with a WAIT between them it takes at least the sum.
 */
START_TEST(test_cycles_engines_overlap)
{
	struct tjob j;
	struct npu_job_report rep[2];
	const struct npusim_config *cfg;
	struct npu_cmd_lut l = { .in_addr = 0, .out_addr = 100000, .table_addr = 90000,
				 .count = 65536 };
	uint64_t va, dma, vec;

	tjob_init(&j, NULL, 1 << 20);
	cfg = npusim_core_config(j.core);
	dma = model_dma_cycles(cfg, 1, 65536);
	vec = div_up(65536, cfg->vec_lanes) + cfg->vec_pipeline_cycles;
	for (int wait = 0; wait < 2; wait++) {
		tjob_reset(&j);
		va = tdram_alloc(&j.dram, 65536, 4096, 1);
		st_dma_in(&j.s, va, 200000, 65536);
		if (wait)
			st_wait(&j.s, ENG_DMA, 0);
		st_lut(&j.s, &l);
		ck_assert_int_eq(tjob_run(&j, &rep[wait]), NPU_FAULT_NONE);
		ck_assert_uint_eq(rep[wait].busy_cycles[NPU_ENGINE_DMA], dma);
		ck_assert_uint_eq(rep[wait].busy_cycles[NPU_ENGINE_VEC], vec);
		check_busy_sane(&rep[wait]);
	}
	ck_assert_uint_lt(rep[0].cycles, dma + vec);
	ck_assert_uint_ge(rep[1].cycles, dma + vec);
	tjob_free(&j);
}
END_TEST

Suite *suite_cycles(void);
Suite *suite_cycles(void)
{
	Suite *s = suite_create("cycles");
	TCase *tc = tcase_create("cycles");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_cycles_mac_utilisation);
	tcase_add_test(tc, test_cycles_dma_bandwidth);
	tcase_add_test(tc, test_cycles_double_buffering);
	tcase_add_test(tc, test_cycles_mac_formulas);
	tcase_add_test(tc, test_cycles_engines_overlap);
	suite_add_tcase(s, tc);
	return s;
}
