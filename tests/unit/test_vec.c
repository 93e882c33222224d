// SPDX-License-Identifier: MIT
/*
 * VEC engine commands (ELTWISE, POOL, LUT) through full jobs against the
 * naive reference, plus a cross-check of the reference's arithmetic with
 * npu_arith.h (two independent derivations of the same documented rules).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "ref/naive_ref.h"
#include "util/stream.h"

#define VEC_SEED 0x7ec7ec7eull

struct vec_buf {
	uint32_t off, len;
	const uint8_t *data;
};

/* Stores [out_off, out_off+out_len) after the VEC engine, runs, compares. */
static void vec_run(struct tjob *j, struct trng *r, uint32_t out_off, uint32_t out_len,
		    const char *tag, int idx, const char *desc)
{
	struct npu_job_report rep;
	uint64_t va;
	long bad;
	int f;

	st_wait(&j->s, ENG_VEC, 0);
	va = tjob_store(j, out_off, out_len);
	f = tjob_run(j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s case %d seed 0x%llx: fault %s (%s)", tag, idx,
		      (unsigned long long)r->seed, npusim_fault_name((uint32_t)f), desc);
	bad = tjob_compare(j, va, out_off, out_len);
	ck_assert_msg(bad < 0, "%s case %d seed 0x%llx: byte %ld got %d want %d (%s)", tag, idx,
		      (unsigned long long)r->seed, bad,
		      (int8_t)tdram_ptr(&j->dram, va, out_len)[bad < 0 ? 0 : bad],
		      (int8_t)j->model[out_off + (bad < 0 ? 0 : bad)], desc);
	ck_assert_uint_eq(rep.macs, 0);
}

static void load_bufs(struct tjob *j, const struct vec_buf *bufs, int nbufs)
{
	tjob_reset(j);
	for (int i = 0; i < nbufs; i++)
		tjob_load(j, bufs[i].off, bufs[i].data, bufs[i].len);
	st_wait(&j->s, ENG_DMA, 0);
}

/* ------------------------------------------------------------------ */
/* Arithmetic cross-check                                              */
/* ------------------------------------------------------------------ */

START_TEST(test_arith_crosscheck)
{
	struct trng r;

	/* Hand-checked anchors of the reference itself. */
	ck_assert_int_eq(ref_rescale(9, 1 << 30, 31), 5);	/* 4.5 -> 5 */
	ck_assert_int_eq(ref_rescale(-9, 1 << 30, 31), -4);	/* -4.5 -> -4 */
	ck_assert_int_eq(ref_rescale(-11, 1 << 30, 31), -5);	/* -5.5 -> -5 */
	ck_assert_int_eq(ref_rescale(-10, 1 << 30, 32), -2);	/* -2.5 -> -2 */
	ck_assert_int_eq(ref_rescale(-11, 1 << 30, 32), -3);	/* -2.75 -> -3 */
	ck_assert_int_eq(ref_div_round(3, 2), 2);
	ck_assert_int_eq(ref_div_round(-3, 2), -2);
	ck_assert_int_eq(ref_div_round(-4, 3), -1);
	ck_assert_int_eq(ref_div_round(-5, 3), -2);
	ck_assert_int_eq(ref_div_round(7, 7), 1);
	ck_assert_int_eq(ref_div_round(0, 9), 0);

	trng_init(&r, VEC_SEED ^ 0xa1);
	for (int i = 0; i < 200000; i++) {
		int64_t x = (int32_t)trng_next(&r);
		int64_t mult = (int64_t)(trng_next(&r) & 0x7fffffff);
		uint32_t shift = (uint32_t)trng_range(&r, 1, 62);
		int64_t d = trng_range(&r, 1, 1 << 20);
		int64_t a = trng_range(&r, -(1ll << 40), 1ll << 40);

		if (i % 7 == 0)
			x = (i & 8) ? INT32_MIN : INT32_MAX;
		if (i % 11 == 0)
			mult = 0x7fffffff;
		/* (no ck_assert in hot loops: each passing one costs a syscall) */
		if (ref_rescale(x, mult, shift) != npu_rescale(x, mult, shift))
			ck_abort_msg("rescale(%lld, %lld, %u) seed 0x%llx", (long long)x,
				     (long long)mult, shift, (unsigned long long)r.seed);
		if (i % 5 == 0)
			a = (a / d) * d + (d / 2) * (a < 0 ? -1 : 1);	/* exact halves */
		if (ref_div_round(a, d) != npu_round_div(a, d))
			ck_abort_msg("round_div(%lld, %lld)", (long long)a, (long long)d);
	}
	for (int i = 0; i < 100000; i++) {
		struct npu_qparam q = { 0, (uint32_t)trng_next(&r), (uint32_t)trng_next(&r) };
		int32_t acc = (int32_t)trng_next(&r);
		int8_t zp = (int8_t)trng_next(&r), lo = (int8_t)trng_range(&r, -128, 0);
		int8_t hi = (int8_t)trng_range(&r, 0, 127);

		if (i & 1)
			q.shift = (uint32_t)trng_range(&r, 0, 64);
		if (ref_requant(acc, q.mult, q.shift, zp, lo, hi) !=
		    npu_requant(acc, &q, zp, lo, hi))
			ck_abort_msg("requant(%d, %u, %u) seed 0x%llx", acc, q.mult, q.shift,
				     (unsigned long long)r.seed);
	}
	for (int i = 0; i < 100000; i++) {
		struct npu_cmd_eltwise c;

		memset(&c, 0, sizeof(c));
		c.op = (uint8_t)trng_range(&r, 0, 2);
		c.a_zp = (int8_t)trng_next(&r);
		c.b_zp = (int8_t)trng_next(&r);
		c.out_zp = (int8_t)trng_next(&r);
		c.act_min = (int8_t)trng_range(&r, -128, 0);
		c.act_max = (int8_t)trng_range(&r, 0, 127);
		c.a_mult = (uint32_t)(trng_next(&r) & 0x7fffffff);
		c.b_mult = (uint32_t)(trng_next(&r) & 0x7fffffff);
		c.out_mult = (uint32_t)(trng_next(&r) & 0x7fffffff);
		c.a_shift = (uint8_t)trng_range(&r, 1, 62);
		c.b_shift = (uint8_t)trng_range(&r, 1, 62);
		c.out_shift = (uint8_t)trng_range(&r, 1, 62);
		for (int k = 0; k < 4; k++) {
			int8_t a = (int8_t)trng_next(&r), b = (int8_t)trng_next(&r);

			if (ref_eltwise_one(&c, a, b) != npu_eltwise(&c, a, b))
				ck_abort_msg("eltwise op %u (%d, %d) seed 0x%llx", c.op, a, b,
					     (unsigned long long)r.seed);
		}
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* ELTWISE                                                             */
/* ------------------------------------------------------------------ */

static void elt_defaults(struct npu_cmd_eltwise *c, uint8_t op)
{
	memset(c, 0, sizeof(*c));
	c->op = op;
	c->act_min = -128;
	c->act_max = 127;
	c->a_mult = c->b_mult = c->out_mult = 1u << 30;
	c->a_shift = c->b_shift = 31;		/* inputs * 2^20 / 2 */
	c->out_shift = 49;			/* back: / 2^19 * ... */
	if (op == NPU_ELT_MUL)
		c->out_shift = 31;
}

static void elt_describe(const struct npu_cmd_eltwise *c, char *buf, size_t len)
{
	snprintf(buf, len, "op %u bcast %u count %u ch %u a@%u b@%u out@%u zp %d,%d,%d "
		 "m %u/%u %u/%u %u/%u act [%d,%d]", c->op, c->bcast, c->count, c->channels,
		 c->a_addr, c->b_addr, c->out_addr, c->a_zp, c->b_zp, c->out_zp, c->a_mult,
		 c->a_shift, c->b_mult, c->b_shift, c->out_mult, c->out_shift, c->act_min,
		 c->act_max);
}

static uint32_t elt_b_len(const struct npu_cmd_eltwise *c)
{
	if (c->bcast == NPU_BCAST_SCALAR)
		return 1;
	if (c->bcast == NPU_BCAST_CHANNEL)
		return c->channels;
	return c->count;
}

/* a, b, out placed apart unless in_place (then out_addr = a_addr). */
static void elt_check(struct tjob *j, struct trng *r, struct npu_cmd_eltwise *c, int in_place,
		      const char *tag, int idx)
{
	uint32_t blen = elt_b_len(c);
	uint8_t *a = malloc(c->count), *b = malloc(blen), *o = malloc(c->count);
	struct vec_buf bufs[3];
	char desc[256];

	ck_assert(a && b && o);
	trng_fill_i8(r, a, c->count);
	trng_fill_i8(r, b, blen);
	trng_fill(r, o, c->count);
	c->a_addr = (uint32_t)trng_range(r, 0, 15);
	c->b_addr = c->a_addr + c->count + (uint32_t)trng_range(r, 0, 15);
	c->out_addr = in_place ? c->a_addr : c->b_addr + blen + (uint32_t)trng_range(r, 0, 15);
	bufs[0] = (struct vec_buf){ c->a_addr, c->count, a };
	bufs[1] = (struct vec_buf){ c->b_addr, blen, b };
	bufs[2] = (struct vec_buf){ c->out_addr, c->count, o };
	load_bufs(j, bufs, in_place ? 2 : 3);
	st_eltwise(&j->s, c);
	elt_describe(c, desc, sizeof(desc));
	ck_assert_msg(ref_eltwise(j->model, j->sram_bytes, c) == 0, "ref rejected %s", desc);
	vec_run(j, r, c->out_addr, c->count, tag, idx, desc);
	free(a);
	free(b);
	free(o);
}

/* ADD with hand-computed results, including both saturation points. */
START_TEST(test_eltwise_known_answer)
{
	struct tjob j;
	struct trng r;
	struct npu_cmd_eltwise c;
	int8_t a[4] = { 10, -128, 127, 3 }, b[4] = { 5, -128, 127, -4 };
	int8_t want_add[4] = { 15, -128, 127, -1 };
	int8_t want_sub[4] = { 5, 0, 0, 7 };
	int8_t want_mul[4] = { 13, 127, 127, -3 };	/* (a*b) / 4, half up */
	struct vec_buf bufs[2] = { { 0, 4, (uint8_t *)a }, { 64, 4, (uint8_t *)b } };

	tjob_init(&j, NULL, 1 << 20);
	trng_init(&r, VEC_SEED);
	for (uint8_t op = 0; op < 3; op++) {
		const int8_t *want = op == NPU_ELT_ADD ? want_add :
				     op == NPU_ELT_SUB ? want_sub : want_mul;

		elt_defaults(&c, op);
		if (op == NPU_ELT_MUL)
			c.out_shift = 32;	/* product / 4 */
		c.count = 4;
		c.a_addr = 0;
		c.b_addr = 64;
		c.out_addr = 128;
		load_bufs(&j, bufs, 2);
		st_eltwise(&j.s, &c);
		ck_assert_int_eq(ref_eltwise(j.model, j.sram_bytes, &c), 0);
		for (int i = 0; i < 4; i++)
			ck_assert_msg((int8_t)j.model[128 + i] == want[i],
				      "op %u [%d]: ref %d want %d", op, i, (int8_t)j.model[128 + i],
				      want[i]);
		vec_run(&j, &r, 128, 4, "known", op, "known answer");
	}
	tjob_free(&j);
}
END_TEST

static void gen_elt_scales(struct trng *r, struct npu_cmd_eltwise *c)
{
	c->a_mult = (uint32_t)trng_range(r, 1u << 29, 0x7fffffff);
	c->b_mult = (uint32_t)trng_range(r, 1u << 29, 0x7fffffff);
	c->out_mult = (uint32_t)trng_range(r, 1u << 29, 0x7fffffff);
	if (c->op == NPU_ELT_MUL) {
		c->out_shift = (uint8_t)trng_range(r, 34, 40);
	} else {
		c->a_shift = (uint8_t)trng_range(r, 30, 33);
		c->b_shift = (uint8_t)trng_range(r, 30, 33);
		c->out_shift = (uint8_t)trng_range(r, 45, 51);
	}
	switch (trng_range(r, 0, 7)) {
	case 0:	/* input rescale saturates int32 */
		c->a_shift = 1;
		c->a_mult = 0x7fffffff;
		break;
	case 1:	/* sum/difference saturates int32 */
		c->a_shift = c->b_shift = 2;
		c->a_mult = c->b_mult = 0x7fffffff;
		c->out_shift = 62;
		break;
	case 2:
		c->out_shift = 1;
		c->out_mult = 0x7fffffff;
		break;
	case 3:
		c->out_shift = 62;
		break;
	default:
		break;
	}
}

START_TEST(test_eltwise_random)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 8 << 20);
	trng_init(&r, VEC_SEED + 1);
	for (int i = 0; i < 150; i++) {
		struct npu_cmd_eltwise c;
		uint8_t op = (uint8_t)(i % 3);

		elt_defaults(&c, op);
		c.bcast = (uint8_t)((i / 3) % 3);
		c.count = (uint32_t)trng_range(&r, 1, trng_chance(&r, 20) ? 20000 : 600);
		if (c.bcast == NPU_BCAST_CHANNEL)
			c.channels = (uint32_t)trng_range(&r, 1, trng_chance(&r, 20) ? 1000 : 64);
		c.a_zp = (int8_t)trng_range(&r, -128, 127);
		c.b_zp = (int8_t)trng_range(&r, -128, 127);
		c.out_zp = (int8_t)trng_range(&r, -128, 127);
		if (trng_chance(&r, 30)) {
			c.act_min = c.out_zp;
			c.act_max = (int8_t)trng_range(&r, c.out_zp, 127);
		}
		gen_elt_scales(&r, &c);
		elt_check(&j, &r, &c, trng_chance(&r, 25), "eltwise", i);
	}
	tjob_free(&j);
}
END_TEST

/* out == a for every op and broadcast mode. */
START_TEST(test_eltwise_in_place)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, VEC_SEED + 2);
	for (int i = 0; i < 9; i++) {
		struct npu_cmd_eltwise c;

		elt_defaults(&c, (uint8_t)(i % 3));
		c.bcast = (uint8_t)(i / 3);
		c.count = 1000 + (uint32_t)i * 37;
		if (c.bcast == NPU_BCAST_CHANNEL)
			c.channels = 24;
		c.a_zp = -3;
		c.b_zp = 11;
		c.out_zp = 2;
		elt_check(&j, &r, &c, 1, "in_place", i);
	}
	tjob_free(&j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* POOL                                                                */
/* ------------------------------------------------------------------ */

static void pool_describe(const struct npu_cmd_pool *c, char *buf, size_t len)
{
	snprintf(buf, len, "mode %u flags %u in %ux%ux%u out %ux%u k %ux%u s %u,%u p %u,%u "
		 "zp %d,%d act [%d,%d] mult %u shift %u", c->mode, c->flags, c->in_h, c->in_w,
		 c->c, c->out_h, c->out_w, c->k_h, c->k_w, c->stride_h, c->stride_w, c->pad_top,
		 c->pad_left, c->in_zp, c->out_zp, c->act_min, c->act_max, c->mult, c->shift);
}

static void pool_check_case(struct tjob *j, struct trng *r, struct npu_cmd_pool *c,
			    const char *tag, int idx)
{
	uint32_t in_len = (uint32_t)c->in_h * c->in_w * c->c;
	uint32_t out_len = (uint32_t)c->out_h * c->out_w * c->c;
	uint8_t *in = malloc(in_len), *o = malloc(out_len);
	struct vec_buf bufs[2];
	char desc[256];

	ck_assert(in && o);
	trng_fill_i8(r, in, in_len);
	trng_fill(r, o, out_len);
	c->in_addr = (uint32_t)trng_range(r, 0, 15);
	c->out_addr = c->in_addr + in_len + (uint32_t)trng_range(r, 0, 15);
	ck_assert_uint_le(c->out_addr + out_len, j->sram_bytes);
	bufs[0] = (struct vec_buf){ c->in_addr, in_len, in };
	bufs[1] = (struct vec_buf){ c->out_addr, out_len, o };
	load_bufs(j, bufs, 2);
	st_pool(&j->s, c);
	pool_describe(c, desc, sizeof(desc));
	ck_assert_msg(ref_pool(j->model, j->sram_bytes, c) == 0, "ref rejected %s", desc);
	vec_run(j, r, c->out_addr, out_len, tag, idx, desc);
	free(in);
	free(o);
}

static void pool_defaults(struct npu_cmd_pool *c, uint8_t mode)
{
	memset(c, 0, sizeof(*c));
	c->mode = mode;
	c->stride_h = c->stride_w = 1;
	c->act_min = -128;
	c->act_max = 127;
	c->mult = 1u << 30;
	c->shift = 30;		/* scale 1 */
}

/* Rounding half away from zero, COUNT_PAD, and empty windows by hand. */
START_TEST(test_pool_known_answer)
{
	struct tjob j;
	struct trng r;
	struct npu_cmd_pool c;
	/* 2x2 input, one channel; in_zp = 0 */
	int8_t in[4] = { 1, 2, -1, -2 };
	struct vec_buf bufs[1] = { { 0, 4, (uint8_t *)in } };

	tjob_init(&j, NULL, 1 << 20);
	trng_init(&r, VEC_SEED);

	/* 1x2 windows along rows: avg(1,2) = 1.5 -> 2, avg(-1,-2) = -1.5 -> -2 */
	pool_defaults(&c, NPU_POOL_AVG);
	c.in_h = c.in_w = 2;
	c.c = 1;
	c.out_h = 2;
	c.out_w = 1;
	c.k_h = 1;
	c.k_w = 2;
	c.out_addr = 64;
	load_bufs(&j, bufs, 1);
	st_pool(&j.s, &c);
	ck_assert_int_eq(ref_pool(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[64], 2);
	ck_assert_int_eq((int8_t)j.model[65], -2);
	vec_run(&j, &r, 64, 2, "known", 0, "avg rounding");

	/*
	 * 3x3 window, pad 2, out (0,0): rows -2..0, cols -2..0 hold one
	 * valid tap (1): avg 1 + out_zp 5 = 6; COUNT_PAD: 1/9 -> 0, so 5.
	 */
	pool_defaults(&c, NPU_POOL_AVG);
	c.in_h = c.in_w = 2;
	c.c = 1;
	c.out_h = 1;
	c.out_w = 1;
	c.k_h = c.k_w = 3;
	c.pad_top = c.pad_left = 2;
	c.out_zp = 5;
	c.out_addr = 64;
	load_bufs(&j, bufs, 1);
	st_pool(&j.s, &c);
	ck_assert_int_eq(ref_pool(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[64], 6);
	vec_run(&j, &r, 64, 1, "known", 1, "avg one tap");
	c.flags = NPU_POOL_F_COUNT_PAD;
	load_bufs(&j, bufs, 1);
	st_pool(&j.s, &c);
	ck_assert_int_eq(ref_pool(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[64], 5);
	vec_run(&j, &r, 64, 1, "known", 2, "count_pad one tap");

	/* Empty window (all taps in padding): out_zp, for MAX and AVG. */
	for (uint8_t mode = 0; mode < 2; mode++) {
		pool_defaults(&c, mode);
		c.in_h = c.in_w = 2;
		c.c = 1;
		c.out_h = c.out_w = 1;
		c.k_h = c.k_w = 2;
		c.pad_top = 3;
		c.out_zp = -7;
		c.out_addr = 64;
		load_bufs(&j, bufs, 1);
		st_pool(&j.s, &c);
		ck_assert_int_eq(ref_pool(j.model, j.sram_bytes, &c), 0);
		ck_assert_int_eq((int8_t)j.model[64], -7);
		vec_run(&j, &r, 64, 1, "known", 3 + mode, "empty window");
	}

	/* MAX with in_zp and a 1/2 scale: max(1,2,-1,-2) = 2; (2 - (-3)) / 2 = 2.5 -> 3 */
	pool_defaults(&c, NPU_POOL_MAX);
	c.in_h = c.in_w = 2;
	c.c = 1;
	c.out_h = c.out_w = 1;
	c.k_h = c.k_w = 2;
	c.in_zp = -3;
	c.shift = 31;
	c.out_addr = 64;
	load_bufs(&j, bufs, 1);
	st_pool(&j.s, &c);
	ck_assert_int_eq(ref_pool(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[64], 3);
	vec_run(&j, &r, 64, 1, "known", 5, "max scaled");
	tjob_free(&j);
}
END_TEST

static void gen_pool_axis(struct trng *r, uint16_t *k, uint8_t *s, uint8_t *pad,
			  uint16_t *in, uint16_t *out)
{
	int64_t n, pb;

	*k = (uint16_t)trng_range(r, 1, 5);
	/* POOL strides go up to 255 (unlike CONV's 16) */
	*s = (uint8_t)(trng_chance(r, 10) ? trng_range(r, 4, 255) : trng_range(r, 1, 3));
	*pad = (uint8_t)trng_range(r, 0, *k - 1);
	pb = trng_range(r, 0, *k - 1);
	n = trng_range(r, 1, 14);
	if (n + *pad + pb < *k)
		n = *k - *pad - pb;
	*in = (uint16_t)n;
	*out = (uint16_t)((n + *pad + pb - *k) / *s + 1);
}

START_TEST(test_pool_random)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 8 << 20);
	trng_init(&r, VEC_SEED + 3);
	for (int i = 0; i < 150; i++) {
		struct npu_cmd_pool c;

		pool_defaults(&c, (uint8_t)(i % 2));
		gen_pool_axis(&r, &c.k_h, &c.stride_h, &c.pad_top, &c.in_h, &c.out_h);
		gen_pool_axis(&r, &c.k_w, &c.stride_w, &c.pad_left, &c.in_w, &c.out_w);
		c.c = (uint16_t)trng_range(&r, 1, 40);
		if (c.mode == NPU_POOL_AVG && trng_chance(&r, 40))
			c.flags = NPU_POOL_F_COUNT_PAD;
		c.in_zp = (int8_t)trng_range(&r, -128, 127);
		c.out_zp = (int8_t)trng_range(&r, -128, 127);
		c.mult = (uint32_t)trng_range(&r, 1u << 28, 0x7fffffff);
		c.shift = (uint32_t)trng_range(&r, 28, 32);
		switch (trng_range(&r, 0, 5)) {
		case 0: c.shift = 0; c.mult = (uint32_t)trng_range(&r, 0, 3); break;
		case 1: c.shift = NPU_POOL_SHIFT_MAX; c.mult = 0x7fffffff; break;
		default: break;
		}
		if (trng_chance(&r, 30)) {
			c.act_min = c.out_zp;
			c.act_max = (int8_t)trng_range(&r, c.out_zp, 127);
		}
		pool_check_case(&j, &r, &c, "pool", i);
	}
	tjob_free(&j);
}
END_TEST

/* Global average pooling, including a 60000-tap window. */
START_TEST(test_pool_global)
{
	static const uint16_t dims[][3] = { { 7, 7, 64 }, { 1, 1, 5 }, { 13, 9, 3 },
					    { 200, 300, 1 }, { 256, 256, 1 } };
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, VEC_SEED + 4);
	for (unsigned int i = 0; i < sizeof(dims) / sizeof(dims[0]); i++) {
		struct npu_cmd_pool c;

		pool_defaults(&c, NPU_POOL_AVG);
		c.in_h = c.k_h = dims[i][0];
		c.in_w = c.k_w = dims[i][1];
		c.c = dims[i][2];
		c.out_h = c.out_w = 1;
		c.in_zp = (int8_t)(i * 40 - 100);
		c.out_zp = (int8_t)(50 - (int)i * 20);
		c.mult = 0x7fffffff - (uint32_t)i;
		c.shift = 31;
		pool_check_case(&j, &r, &c, "global", (int)i);
		c.mode = NPU_POOL_MAX;
		pool_check_case(&j, &r, &c, "global_max", (int)i);
	}
	tjob_free(&j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* LUT                                                                 */
/* ------------------------------------------------------------------ */

START_TEST(test_lut_random)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, VEC_SEED + 5);
	for (int i = 0; i < 60; i++) {
		struct npu_cmd_lut c;
		uint8_t table[256], *in, *o;
		struct vec_buf bufs[3];
		int in_place = i % 4 == 3;
		char desc[128];

		memset(&c, 0, sizeof(c));
		c.count = (uint32_t)trng_range(&r, 1, i < 5 ? 65536 : 3000);
		in = malloc(c.count);
		o = malloc(c.count);
		ck_assert(in && o);
		trng_fill(&r, table, sizeof(table));
		trng_fill_i8(&r, in, c.count);
		trng_fill(&r, o, c.count);
		if (i == 0)	/* identity-by-construction: every index once */
			for (uint32_t k = 0; k < c.count; k++)
				in[k] = (uint8_t)k;
		c.table_addr = (uint32_t)trng_range(&r, 0, 300);
		c.in_addr = c.table_addr + 256 + (uint32_t)trng_range(&r, 0, 15);
		c.out_addr = in_place ? c.in_addr : c.in_addr + c.count +
						    (uint32_t)trng_range(&r, 0, 15);
		bufs[0] = (struct vec_buf){ c.table_addr, 256, table };
		bufs[1] = (struct vec_buf){ c.in_addr, c.count, in };
		bufs[2] = (struct vec_buf){ c.out_addr, c.count, o };
		load_bufs(&j, bufs, in_place ? 2 : 3);
		st_lut(&j.s, &c);
		snprintf(desc, sizeof(desc), "count %u table@%u in@%u out@%u", c.count,
			 c.table_addr, c.in_addr, c.out_addr);
		ck_assert_int_eq(ref_lut(j.model, j.sram_bytes, &c), 0);
		if (i == 0)
			for (uint32_t k = 0; k < 256 && k < c.count; k++)
				ck_assert_uint_eq(j.model[c.out_addr + k],
						  table[(uint8_t)((int8_t)k + 128)]);
		vec_run(&j, &r, c.out_addr, c.count, "lut", i, desc);
		free(in);
		free(o);
	}
	tjob_free(&j);
}
END_TEST

/* VEC cycle cost per the model: ceil(count / vec_lanes) + pipeline. */
START_TEST(test_vec_busy_cycles)
{
	struct tjob j;
	struct npu_job_report rep;
	struct npu_cmd_lut c;
	struct npu_cmd_pool p;
	const struct npusim_config *cfg;
	uint8_t buf[4096] = { 0 };
	uint64_t want;

	tjob_init(&j, NULL, 1 << 20);
	cfg = npusim_core_config(j.core);
	memset(&c, 0, sizeof(c));
	c.count = 1001;
	c.in_addr = 0;
	c.table_addr = 2048;
	c.out_addr = 1024;
	tjob_load(&j, 0, buf, sizeof(buf));
	st_wait(&j.s, ENG_DMA, 0);
	st_lut(&j.s, &c);
	want = (1001 + cfg->vec_lanes - 1) / cfg->vec_lanes + cfg->vec_pipeline_cycles;
	pool_defaults(&p, NPU_POOL_AVG);
	p.in_h = p.in_w = 8;
	p.c = 20;
	p.k_h = p.k_w = 3;
	p.out_h = p.out_w = 6;
	p.in_addr = 0;
	p.out_addr = 3000;
	st_pool(&j.s, &p);
	want += 6 * 6 * ((20 + cfg->vec_lanes - 1) / cfg->vec_lanes) * 9 +
		cfg->vec_pipeline_cycles;
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_VEC], want);
	ck_assert_uint_eq(rep.busy_cycles[NPU_ENGINE_MAC], 0);
	ck_assert_uint_le(rep.busy_cycles[NPU_ENGINE_VEC], rep.cycles);
	tjob_free(&j);
}
END_TEST

Suite *suite_vec(void);
Suite *suite_vec(void)
{
	Suite *s = suite_create("vec");
	TCase *tc = tcase_create("vec");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_arith_crosscheck);
	tcase_add_test(tc, test_eltwise_known_answer);
	tcase_add_test(tc, test_eltwise_random);
	tcase_add_test(tc, test_eltwise_in_place);
	tcase_add_test(tc, test_pool_known_answer);
	tcase_add_test(tc, test_pool_random);
	tcase_add_test(tc, test_pool_global);
	tcase_add_test(tc, test_lut_random);
	tcase_add_test(tc, test_vec_busy_cycles);
	suite_add_tcase(s, tc);
	return s;
}
