// SPDX-License-Identifier: MIT
/*
 * DMA through full jobs: 3-D strided copies in both directions against
 * the naive reference (including overlapping destination rows, where the
 * later row wins, and zero strides), page-sized and odd sizes, unaligned
 * VAs crossing pages, the last SRAM byte, and the DMA cost model.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"
#include "util/stream.h"

#define DMA_SEED 0xd3a0d3a0ull

struct dma_shape {
	uint32_t inner, count1, count2;
	uint32_t dram_stride1, dram_stride2, sram_stride1, sram_stride2;
};

static uint64_t span_len(uint32_t inner, uint32_t c1, uint32_t c2, uint32_t s1, uint32_t s2)
{
	return (uint64_t)(c1 - 1) * s1 + (uint64_t)(c2 - 1) * s2 + inner;
}

static void shape_describe(const struct dma_shape *d, char *buf, size_t len)
{
	snprintf(buf, len, "inner %u counts %u,%u dram strides %u,%u sram strides %u,%u",
		 d->inner, d->count1, d->count2, d->dram_stride1, d->dram_stride2,
		 d->sram_stride1, d->sram_stride2);
}

static uint64_t dma_cost(const struct npusim_config *cfg, const struct dma_shape *d)
{
	return cfg->dram_latency_cycles + (uint64_t)d->count1 * d->count2 *
	       ((d->inner + cfg->dma_bytes_per_cycle - 1) / cfg->dma_bytes_per_cycle);
}

/*
 * DRAM -> SRAM: the SRAM destination span is prefilled (contiguous DMA),
 * the strided DMA lands on top, the span is stored back and compared.
 */
static void dma_in_case(struct tjob *j, struct trng *r, const struct dma_shape *d,
			uint32_t sram_at, uint32_t dram_misalign, const char *tag, int idx)
{
	const struct npusim_config *cfg = npusim_core_config(j->core);
	uint64_t src_len = span_len(d->inner, d->count1, d->count2, d->dram_stride1,
				    d->dram_stride2);
	uint64_t dst_len = span_len(d->inner, d->count1, d->count2, d->sram_stride1,
				    d->sram_stride2);
	uint8_t *pre = malloc(dst_len);
	struct dma_shape contig = { (uint32_t)dst_len, 1, 1, 0, 0, 0, 0 };
	struct npu_cmd_dma cmd;
	struct npu_job_report rep;
	uint64_t src, va;
	uint32_t off;
	char desc[160];
	long bad;
	int f;

	ck_assert(pre);
	tjob_reset(j);
	src = tdram_alloc(&j->dram, src_len + dram_misalign, 4096, 0) + dram_misalign;
	trng_fill(r, tdram_ptr(&j->dram, src, src_len), src_len);
	trng_fill(r, pre, dst_len);
	tjob_load(j, sram_at, pre, (uint32_t)dst_len);
	st_wait(&j->s, ENG_DMA, 0);
	off = st_dma(&j->s, NPU_DMA_TO_SRAM, src, sram_at, d->inner, d->count1, d->count2,
		     d->dram_stride1, d->dram_stride2, d->sram_stride1, d->sram_stride2);
	memcpy(&cmd, st_at(&j->s, off), sizeof(cmd));
	st_wait(&j->s, ENG_DMA, 0);
	va = tjob_store(j, sram_at, (uint32_t)dst_len);
	ck_assert_int_eq(ref_dma(j->model, j->sram_bytes, j->dram.mem, j->dram.base,
				 j->dram.size, &cmd), 0);
	shape_describe(d, desc, sizeof(desc));
	f = tjob_run(j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s %d seed 0x%llx: fault %s at 0x%llx (%s)", tag, idx,
		      (unsigned long long)r->seed, npusim_fault_name((uint32_t)f),
		      (unsigned long long)rep.fault_addr, desc);
	bad = tjob_compare(j, va, sram_at, (uint32_t)dst_len);
	ck_assert_msg(bad < 0, "%s %d seed 0x%llx: SRAM byte %ld differs (%s)", tag, idx,
		      (unsigned long long)r->seed, bad, desc);
	/* Loads: prefill + strided rows + command fetch; stores: the span. */
	ck_assert_uint_eq(rep.dram_read_bytes, dst_len + (uint64_t)d->count1 * d->count2 *
			  d->inner + stream_bytes(&j->s));
	ck_assert_uint_eq(rep.dram_write_bytes, dst_len);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_DMA], 2 * dma_cost(cfg, &contig) +
			  dma_cost(cfg, d));
	free(pre);
}

/*
 * SRAM -> DRAM: SRAM source loaded contiguously, the destination DRAM
 * buffer prefilled with random bytes; compared with a model copy.
 */
static void dma_out_case(struct tjob *j, struct trng *r, const struct dma_shape *d,
			 uint32_t sram_at, uint32_t dram_misalign, const char *tag, int idx)
{
	uint64_t src_len = span_len(d->inner, d->count1, d->count2, d->sram_stride1,
				    d->sram_stride2);
	uint64_t dst_len = span_len(d->inner, d->count1, d->count2, d->dram_stride1,
				    d->dram_stride2);
	uint8_t *src = malloc(src_len), *model = malloc(dst_len);
	const uint8_t *got;
	uint64_t i;
	struct npu_cmd_dma cmd;
	struct npu_job_report rep;
	uint64_t dst;
	uint32_t off;
	char desc[160];
	int f;

	ck_assert(src && model);
	tjob_reset(j);
	dst = tdram_alloc(&j->dram, dst_len + dram_misalign, 4096, 0) + dram_misalign;
	trng_fill(r, tdram_ptr(&j->dram, dst, dst_len), dst_len);
	memcpy(model, tdram_ptr(&j->dram, dst, dst_len), dst_len);
	trng_fill(r, src, src_len);
	tjob_load(j, sram_at, src, (uint32_t)src_len);
	st_wait(&j->s, ENG_DMA, 0);
	off = st_dma(&j->s, NPU_DMA_TO_DRAM, dst, sram_at, d->inner, d->count1, d->count2,
		     d->dram_stride1, d->dram_stride2, d->sram_stride1, d->sram_stride2);
	memcpy(&cmd, st_at(&j->s, off), sizeof(cmd));
	ck_assert_int_eq(ref_dma(j->model, j->sram_bytes, model, dst, dst_len, &cmd), 0);
	shape_describe(d, desc, sizeof(desc));
	f = tjob_run(j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s %d seed 0x%llx: fault %s at 0x%llx (%s)", tag, idx,
		      (unsigned long long)r->seed, npusim_fault_name((uint32_t)f),
		      (unsigned long long)rep.fault_addr, desc);
	got = tdram_ptr(&j->dram, dst, dst_len);
	for (i = 0; i < dst_len; i++)
		if (got[i] != model[i])
			break;
	ck_assert_msg(i == dst_len, "%s %d seed 0x%llx: DRAM byte %llu differs (%s)", tag, idx,
		      (unsigned long long)r->seed, (unsigned long long)i, desc);
	ck_assert_uint_eq(rep.dram_write_bytes, (uint64_t)d->count1 * d->count2 * d->inner);
	free(src);
	free(model);
}

static uint32_t gen_stride(struct trng *r, uint32_t inner, uint32_t other)
{
	switch (trng_range(r, 0, 9)) {
	case 0: return 0;				/* same row again */
	case 1: return (uint32_t)trng_range(r, 1, inner);	/* overlapping rows */
	case 2: return inner;				/* packed */
	default: return inner + (uint32_t)trng_range(r, 0, other);
	}
}

static void gen_shape(struct trng *r, struct dma_shape *d)
{
	d->inner = (uint32_t)trng_range(r, 1, trng_chance(r, 20) ? 5000 : 200);
	d->count1 = (uint32_t)trng_range(r, 1, 8);
	d->count2 = (uint32_t)trng_range(r, 1, 5);
	d->sram_stride1 = gen_stride(r, d->inner, 64);
	d->sram_stride2 = gen_stride(r, d->inner * d->count1, 64);
	d->dram_stride1 = gen_stride(r, d->inner, 300);
	d->dram_stride2 = gen_stride(r, d->inner * d->count1, 300);
}

START_TEST(test_dma_strided_in)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, DMA_SEED);
	for (int i = 0; i < 150; i++) {
		struct dma_shape d;

		gen_shape(&r, &d);
		dma_in_case(&j, &r, &d, (uint32_t)trng_range(&r, 0, 5000),
			    (uint32_t)trng_range(&r, 0, 4095), "in", i);
	}
	tjob_free(&j);
}
END_TEST

START_TEST(test_dma_strided_out)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, DMA_SEED + 1);
	for (int i = 0; i < 150; i++) {
		struct dma_shape d;

		gen_shape(&r, &d);
		dma_out_case(&j, &r, &d, (uint32_t)trng_range(&r, 0, 5000),
			     (uint32_t)trng_range(&r, 0, 4095), "out", i);
	}
	tjob_free(&j);
}
END_TEST

/*
 * Overlapping destination rows: with a destination stride of 1 and
 * distinct row contents, each byte must come from the last row covering it.
 */
START_TEST(test_dma_overlap_later_wins)
{
	struct tjob j;
	struct trng r;
	struct dma_shape in = { 16, 4, 3, 16, 64, 1, 8 };
	struct dma_shape out = { 16, 4, 3, 1, 8, 16, 64 };

	tjob_init(&j, NULL, 1 << 20);
	trng_init(&r, DMA_SEED + 2);
	dma_in_case(&j, &r, &in, 100, 0, "overlap_in", 0);
	/* Every row onto the same bytes: only the very last row survives. */
	in.sram_stride1 = 0;
	in.sram_stride2 = 0;
	dma_in_case(&j, &r, &in, 100, 0, "same_in", 0);
	dma_out_case(&j, &r, &out, 100, 0, "overlap_out", 0);
	out.dram_stride1 = 0;
	out.dram_stride2 = 0;
	dma_out_case(&j, &r, &out, 100, 0, "same_out", 0);
	tjob_free(&j);
}
END_TEST

/* Page-sized and odd sizes, at page-aligned and page-crossing VAs. */
START_TEST(test_dma_page_sizes)
{
	static const uint32_t sizes[] = { 1, 2, 3, 7, 15, 16, 17, 255, 4095, 4096, 4097,
					  8191, 8192, 12289, 65536, 65537 };
	static const uint32_t misalign[] = { 0, 1, 4095, 2048 };
	struct tjob j;
	struct trng r;
	int n = 0;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, DMA_SEED + 3);
	for (unsigned int i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		for (unsigned int m = 0; m < 4; m++) {
			struct dma_shape d = { sizes[i], 1, 1, sizes[i], sizes[i], sizes[i],
					       sizes[i] };

			dma_in_case(&j, &r, &d, (uint32_t)(m * 1000 + 1), misalign[m],
				    "page_in", n);
			dma_out_case(&j, &r, &d, (uint32_t)(m * 999), misalign[m], "page_out", n);
			/* Same bytes as two 3-D rows of half the size. */
			if (sizes[i] % 2 == 0) {
				struct dma_shape h = { sizes[i] / 2, 1, 2, 0, sizes[i] / 2, 0,
						       sizes[i] / 2 };

				dma_in_case(&j, &r, &h, 7, misalign[m], "half_in", n);
			}
			n++;
		}
	}
	tjob_free(&j);
}
END_TEST

/* The last byte of SRAM is reachable; whole-SRAM copy in and out. */
START_TEST(test_dma_sram_edges)
{
	struct tjob j;
	struct trng r;
	struct dma_shape last = { 1, 1, 1, 1, 1, 1, 1 };
	struct dma_shape tail = { 100, 3, 1, 100, 0, 100, 0 };

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, DMA_SEED + 4);
	dma_in_case(&j, &r, &last, j.sram_bytes - 1, 3, "last", 0);
	dma_out_case(&j, &r, &last, j.sram_bytes - 1, 5, "last", 1);
	dma_in_case(&j, &r, &tail, j.sram_bytes - 300, 0, "tail", 0);
	{
		struct dma_shape all = { j.sram_bytes / 4, 4, 1, j.sram_bytes / 4, 0,
					 j.sram_bytes / 4, 0 };

		dma_out_case(&j, &r, &all, 0, 0, "all", 0);
	}
	tjob_free(&j);
}
END_TEST

/*
 * DMA costs: latency + rows * ceil(inner / bytes_per_cycle), one command
 * after the other on the engine, bytes counted exactly.
 */
START_TEST(test_dma_cost_model)
{
	struct tjob j;
	struct npu_job_report rep;
	const struct npusim_config *cfg;
	uint64_t va, want = 0;
	uint32_t inners[] = { 1, 16, 17, 1000 };

	tjob_init(&j, NULL, 4 << 20);
	cfg = npusim_core_config(j.core);
	va = tdram_alloc(&j.dram, 1 << 20, 4096, 0x11);
	for (int i = 0; i < 4; i++) {
		st_dma(&j.s, NPU_DMA_TO_SRAM, va, 0, inners[i], 3, 2, inners[i], 3 * inners[i],
		       inners[i], 3 * inners[i]);
		want += cfg->dram_latency_cycles +
			6 * ((inners[i] + cfg->dma_bytes_per_cycle - 1) / cfg->dma_bytes_per_cycle);
		st_wait(&j.s, ENG_DMA, 0);
	}
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_DMA], want);
	ck_assert_uint_ge(rep.cycles, want);
	ck_assert_uint_eq(rep.dram_read_bytes, 6 * (1 + 16 + 17 + 1000) + stream_bytes(&j.s));
	ck_assert_uint_eq(rep.dram_write_bytes, 0);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_MAC], 0);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_VEC], 0);
	ck_assert_uint_eq(rep.macs, 0);
	/* BEGIN + 4 x (DMA, WAIT) + END */
	ck_assert_uint_eq(rep.commands, 10);
	tjob_free(&j);
}
END_TEST

Suite *suite_dma(void);
Suite *suite_dma(void)
{
	Suite *s = suite_create("dma");
	TCase *tc = tcase_create("dma");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dma_strided_in);
	tcase_add_test(tc, test_dma_strided_out);
	tcase_add_test(tc, test_dma_overlap_later_wins);
	tcase_add_test(tc, test_dma_page_sizes);
	tcase_add_test(tc, test_dma_sram_edges);
	tcase_add_test(tc, test_dma_cost_model);
	suite_add_tcase(s, tc);
	return s;
}
