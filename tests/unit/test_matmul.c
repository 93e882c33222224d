// SPDX-License-Identifier: MIT
/*
 * MATMUL through full jobs against the naive reference: a hand-computed
 * case, long reductions (k > 256), padded row strides, zero points,
 * per-column and per-tensor qparams, random shapes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"
#include "util/stream.h"

#define MATMUL_SEED 0x3a73a7ull

static void mm_defaults(struct npu_cmd_matmul *c, uint16_t m, uint16_t k, uint16_t n)
{
	memset(c, 0, sizeof(*c));
	c->m = m;
	c->k = k;
	c->n = n;
	c->a_row_stride = k;
	c->out_row_stride = n;
	c->act_min = -128;
	c->act_max = 127;
}

static void mm_describe(const struct npu_cmd_matmul *c, char *buf, size_t len)
{
	snprintf(buf, len, "m %u k %u n %u a_stride %u out_stride %u flags %u zp %d,%d,%d "
		 "act [%d,%d]", c->m, c->k, c->n, c->a_row_stride, c->out_row_stride, c->flags,
		 c->a_zp, c->b_zp, c->out_zp, c->act_min, c->act_max);
}

/* Assigns addresses, fills random operands, runs the job and compares. */
static void mm_check_case(struct tjob *j, struct trng *r, struct npu_cmd_matmul *c,
			  const char *tag, int idx)
{
	uint32_t a_len = (uint32_t)c->m * c->a_row_stride;
	uint32_t b_len = (uint32_t)c->k * c->n;
	uint32_t nq = (c->flags & NPU_CONV_F_PER_TENSOR_Q) ? 1 : c->n;
	uint32_t out_len = (uint32_t)c->m * c->out_row_stride;
	uint8_t *a = malloc(a_len), *b = malloc(b_len), *q = malloc(12 * nq);
	uint8_t *out = malloc(out_len);
	struct npu_job_report rep;
	uint64_t va;
	char desc[200];
	long bad;
	int f;

	ck_assert(a && b && q && out);
	c->a_addr = (uint32_t)trng_range(r, 0, 31);
	c->b_addr = c->a_addr + a_len + (uint32_t)trng_range(r, 0, 31);
	c->q_addr = c->b_addr + b_len + (uint32_t)trng_range(r, 0, 31);
	c->out_addr = c->q_addr + 12 * nq + (uint32_t)trng_range(r, 0, 31);
	ck_assert_uint_le(c->out_addr + out_len, j->sram_bytes);
	trng_fill_i8(r, a, a_len);
	trng_fill_i8(r, b, b_len);
	for (uint32_t i = 0; i < nq; i++)
		trng_qparam(r, q + 12 * i, c->k);
	trng_fill(r, out, out_len);

	tjob_reset(j);
	tjob_load(j, c->a_addr, a, a_len);
	tjob_load(j, c->b_addr, b, b_len);
	tjob_load(j, c->q_addr, q, 12 * nq);
	tjob_load(j, c->out_addr, out, out_len);
	st_wait(&j->s, ENG_DMA, 0);
	st_matmul(&j->s, c);
	st_wait(&j->s, ENG_MAC, 0);
	va = tjob_store(j, c->out_addr, out_len);

	mm_describe(c, desc, sizeof(desc));
	ck_assert_msg(ref_matmul(j->model, j->sram_bytes, c) == 0, "reference rejected %s", desc);
	f = tjob_run(j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s case %d seed 0x%llx: fault %s (%s)", tag, idx,
		      (unsigned long long)r->seed, npusim_fault_name((uint32_t)f), desc);
	bad = tjob_compare(j, va, c->out_addr, out_len);
	ck_assert_msg(bad < 0, "%s case %d seed 0x%llx: out[%ld][%ld] got %d want %d (%s)",
		      tag, idx, (unsigned long long)r->seed, bad / c->out_row_stride,
		      bad % c->out_row_stride,
		      (int8_t)tdram_ptr(&j->dram, va, out_len)[bad < 0 ? 0 : bad],
		      (int8_t)j->model[c->out_addr + (bad < 0 ? 0 : bad)], desc);
	ck_assert_uint_eq(rep.macs, (uint64_t)c->m * c->n * c->k);
	ck_assert_uint_eq(rep.dram_write_bytes, out_len);
	free(a);
	free(b);
	free(q);
	free(out);
}

/*
 * out[0][j] = bias + sum_k (a-a_zp)(b-b_zp), scaled by 1/4 with rounding
 * half up: A = [1 2 3], a_zp = 1 -> [0 1 2]; B columns chosen by hand.
 */
START_TEST(test_matmul_known_answer)
{
	struct tjob j;
	struct npu_cmd_matmul c;
	struct npu_job_report rep;
	int8_t a[3] = { 1, 2, 3 };
	/* B[k][n], b_zp = -2 -> b + 2 */
	int8_t b[3 * 2] = { 5, -2,	/* k0 (ignored: a-a_zp = 0) */
			    0, 1,	/* k1: col0 +2, col1 +3 */
			    1, -3 };	/* k2: col0 2*3 = 6, col1 2*(-1) = -2 */
	uint8_t q[24];
	int8_t got[2];
	uint64_t va;

	tjob_init(&j, NULL, 1 << 20);
	mm_defaults(&c, 1, 3, 2);
	c.a_zp = 1;
	c.b_zp = -2;
	c.out_zp = -1;
	put_qparam(q, 2, 1u << 30, 32);		/* (8 + 2) / 4 = 2.5 -> 3 */
	put_qparam(q + 12, -3, 1u << 30, 32);	/* (1 - 3) / 4 = -0.5 -> 0 */
	c.a_addr = 0;
	c.b_addr = 16;
	c.q_addr = 32;
	c.out_addr = 64;
	tjob_load(&j, 0, a, 3);
	tjob_load(&j, 16, b, 6);
	tjob_load(&j, 32, q, 24);
	st_wait(&j.s, ENG_DMA, 0);
	st_matmul(&j.s, &c);
	st_wait(&j.s, ENG_MAC, 0);
	va = tjob_store(&j, 64, 2);
	ck_assert_int_eq(ref_matmul(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[64], 2);
	ck_assert_int_eq((int8_t)j.model[65], -1);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	memcpy(got, tdram_ptr(&j.dram, va, 2), 2);
	ck_assert_int_eq(got[0], 2);
	ck_assert_int_eq(got[1], -1);
	tjob_free(&j);
}
END_TEST

START_TEST(test_matmul_long_k)
{
	static const uint16_t ks[] = { 255, 256, 257, 511, 600, 1000, 2048, 4099 };
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, MATMUL_SEED ^ 0x10);
	for (unsigned int i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
		struct npu_cmd_matmul c;

		mm_defaults(&c, (uint16_t)(1 + i % 5), ks[i], (uint16_t)(1 + (i * 7) % 37));
		c.a_row_stride = (uint16_t)(ks[i] + (i % 3) * 5);
		c.out_row_stride = (uint16_t)(c.n + i % 4);
		c.a_zp = (int8_t)(i * 31 - 100);
		c.b_zp = (int8_t)(50 - (int)i * 17);
		c.out_zp = (int8_t)(i * 9);
		c.flags = (i & 1) ? NPU_CONV_F_PER_TENSOR_Q : 0;
		mm_check_case(&j, &r, &c, "long_k", (int)i);
	}
	tjob_free(&j);
}
END_TEST

START_TEST(test_matmul_random)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 8 << 20);
	trng_init(&r, MATMUL_SEED);
	for (int i = 0; i < 120; i++) {
		struct npu_cmd_matmul c;
		uint16_t m, k, n;

		do {
			m = (uint16_t)trng_range(&r, 1, 24);
			k = (uint16_t)(trng_chance(&r, 25) ? trng_range(&r, 257, 700) :
				       trng_range(&r, 1, 256));
			n = (uint16_t)trng_range(&r, 1, 70);
		} while ((uint64_t)m * k * n > 150000);
		mm_defaults(&c, m, k, n);
		if (trng_chance(&r, 40))
			c.a_row_stride = (uint16_t)(k + trng_range(&r, 1, 40));
		if (trng_chance(&r, 40))
			c.out_row_stride = (uint16_t)(n + trng_range(&r, 1, 40));
		if (trng_chance(&r, 30))
			c.flags = NPU_CONV_F_PER_TENSOR_Q;
		c.a_zp = (int8_t)trng_range(&r, -128, 127);
		c.b_zp = trng_chance(&r, 50) ? 0 : (int8_t)trng_range(&r, -128, 127);
		c.out_zp = (int8_t)trng_range(&r, -128, 127);
		if (trng_chance(&r, 30)) {
			c.act_min = c.out_zp;
			c.act_max = (int8_t)trng_range(&r, c.out_zp, 127);
		}
		mm_check_case(&j, &r, &c, "random", i);
	}
	tjob_free(&j);
}
END_TEST

/*
 * Two matmuls in one job, the second reading the first's output after a
 * WAIT on the MAC engine (same engine: in order, no WAIT strictly needed,
 * but the WAIT must not change anything).
 */
START_TEST(test_matmul_chained)
{
	struct tjob j;
	struct trng r;
	struct npu_cmd_matmul c1, c2;
	struct npu_job_report rep;
	uint8_t a[8 * 40], b1[40 * 24], b2[24 * 10], q1[24 * 12], q2[10 * 12];
	uint64_t va;

	tjob_init(&j, NULL, 1 << 20);
	trng_init(&r, MATMUL_SEED ^ 0xc4);
	trng_fill(&r, a, sizeof(a));
	trng_fill(&r, b1, sizeof(b1));
	trng_fill(&r, b2, sizeof(b2));
	for (int i = 0; i < 24; i++)
		put_qparam(q1 + 12 * i, (int32_t)trng_range(&r, -5000, 5000), 1u << 30, 46);
	for (int i = 0; i < 10; i++)
		put_qparam(q2 + 12 * i, (int32_t)trng_range(&r, -5000, 5000), 1u << 30, 44);
	mm_defaults(&c1, 8, 40, 24);
	c1.a_addr = 0;
	c1.b_addr = 1024;
	c1.q_addr = 4096;
	c1.out_addr = 8192;
	mm_defaults(&c2, 8, 24, 10);
	c2.a_addr = 8192;
	c2.b_addr = 12288;
	c2.q_addr = 16384;
	c2.out_addr = 20480;
	c2.a_zp = 3;
	tjob_load(&j, 0, a, sizeof(a));
	tjob_load(&j, 1024, b1, sizeof(b1));
	tjob_load(&j, 4096, q1, sizeof(q1));
	tjob_load(&j, 12288, b2, sizeof(b2));
	tjob_load(&j, 16384, q2, sizeof(q2));
	st_wait(&j.s, ENG_DMA, 0);
	st_matmul(&j.s, &c1);
	st_matmul(&j.s, &c2);
	st_wait(&j.s, ENG_MAC, 0);
	va = tjob_store(&j, 20480, 80);
	ck_assert_int_eq(ref_matmul(j.model, j.sram_bytes, &c1), 0);
	ck_assert_int_eq(ref_matmul(j.model, j.sram_bytes, &c2), 0);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	ck_assert_int_lt(tjob_compare(&j, va, 20480, 80), 0);
	ck_assert_uint_eq(rep.macs, 8 * 40 * 24 + 8 * 24 * 10);
	tjob_free(&j);
}
END_TEST

Suite *suite_matmul(void);
Suite *suite_matmul(void)
{
	Suite *s = suite_create("matmul");
	TCase *tc = tcase_create("matmul");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_matmul_known_answer);
	tcase_add_test(tc, test_matmul_long_k);
	tcase_add_test(tc, test_matmul_random);
	tcase_add_test(tc, test_matmul_chained);
	suite_add_tcase(s, tc);
	return s;
}
