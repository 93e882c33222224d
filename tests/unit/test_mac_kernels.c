// SPDX-License-Identifier: MIT
/*
 * MAC engine inner loops (firmware-sim/src/mac_kernels.c) against plain
 * loops written here: int16 GEMM (random shapes, K off the vector width,
 * K beyond the int32 chunk with extreme operands), the few-row int8
 * product, depthwise pixels (with and without channel multiplier), the
 * vectorised requantisation against npu_requant(), qparam decoding, and
 * CONV/MATMUL executing in place (output overlapping the input) exactly
 * as out of place.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "npu_arith.h"
#include "internal.h"
#include "mac_kernels.h"

static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
	return (uint32_t)(rng_state >> 32);
}

static int rnd_range(int lo, int hi)
{
	return lo + (int)(rnd() % (uint32_t)(hi - lo + 1));
}

static int16_t rnd_operand(void)
{
	return (int16_t)rnd_range(-MAC_OPERAND_MAX, MAC_OPERAND_MAX);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	ck_assert_ptr_nonnull(p);
	return p;
}

/* Reference dot product: int64 exact, then reduced modulo 2^32. */
static uint32_t ref_dot16(const int16_t *x, const int16_t *w, size_t k)
{
	int64_t s = 0;

	for (size_t t = 0; t < k; t++)
		s += (int64_t)x[t] * w[t];
	return (uint32_t)(uint64_t)s;
}

static void check_gemm(unsigned int m, unsigned int n, size_t k, size_t ldx, size_t ldw,
		       const int16_t *x, const int16_t *w)
{
	size_t ldacc = n + 3;
	uint32_t *acc = xmalloc(m * ldacc * sizeof(*acc));

	for (size_t i = 0; i < m * ldacc; i++)
		acc[i] = 0xdeadbeef;
	mac_gemm_s16(x, ldx, w, ldw, acc, ldacc, m, n, k);
	for (unsigned int i = 0; i < m; i++) {
		for (unsigned int j = 0; j < ldacc; j++) {
			uint32_t want = j < n ? ref_dot16(x + i * ldx, w + j * ldw, k) : 0xdeadbeef;

			ck_assert_msg(acc[i * ldacc + j] == want,
				      "gemm m=%u n=%u k=%zu: acc[%u][%u] = %u, want %u", m, n, k,
				      i, j, acc[i * ldacc + j], want);
		}
	}
	free(acc);
}

START_TEST(test_gemm_random)
{
	rng_state = 0x6e6d6d31;
	for (int iter = 0; iter < 300; iter++) {
		unsigned int m = (unsigned int)rnd_range(1, 13), n = (unsigned int)rnd_range(1, 13);
		size_t k = (size_t)(iter % 3 == 0 ? rnd_range(1, 40) : rnd_range(1, 700));
		size_t ldx = k + (size_t)rnd_range(0, 9), ldw = k + (size_t)rnd_range(0, 9);
		int16_t *x = xmalloc(m * ldx * sizeof(*x)), *w = xmalloc(n * ldw * sizeof(*w));

		for (size_t i = 0; i < m * ldx; i++)
			x[i] = rnd_operand();
		for (size_t i = 0; i < n * ldw; i++)
			w[i] = rnd_operand();
		check_gemm(m, n, k, ldx, ldw, x, w);
		free(x);
		free(w);
	}
}
END_TEST

/*
 * K beyond MAC_CHUNK with every product at +-255*255: the int32 partial
 * sums of a chunk come close to 2^31 (UBSan would flag an overflow) and
 * the total wraps modulo 2^32 several times.
 */
START_TEST(test_gemm_long_k_extremes)
{
	const size_t k = 3 * MAC_CHUNK + 4097;	/* > 65536, not a vector multiple */
	const unsigned int m = 5, n = 6;
	int16_t *x = xmalloc(m * k * sizeof(*x)), *w = xmalloc(n * k * sizeof(*w));

	ck_assert_uint_gt(k, 65536);
	for (size_t t = 0; t < k; t++) {
		/* int8 -128 with zero point 127, int8 127 with zero point -128 */
		x[0 * k + t] = -128 - 127;
		x[1 * k + t] = 127 - (-128);
		x[2 * k + t] = t & 1 ? -255 : 255;
		x[3 * k + t] = (int16_t)(t % 7 ? -255 : 255);
		x[4 * k + t] = rnd_operand();
		for (unsigned int j = 0; j < n; j++)
			w[j * k + t] = (int16_t)(j == 0 ? 255 : j == 1 ? -255 :
						 j == 2 ? (t & 1 ? 255 : -255) : rnd_operand());
	}
	check_gemm(m, n, k, k, k, x, w);
	/* the all-same-sign sums really did wrap */
	ck_assert_uint_eq(ref_dot16(x, w, k), (uint32_t)(uint64_t)((int64_t)k * -65025));
	free(x);
	free(w);
}
END_TEST

/* The wide kernel: w K-major int32, any k (chunks beyond MAC_CHUNK). */
static void check_gemm_wide(unsigned int m, unsigned int n, size_t k, int extreme)
{
	size_t ldx = k + 3, ldw = n + 2, ldacc = n + 1;
	int16_t *x = xmalloc(m * ldx * sizeof(*x)), *wt = xmalloc(n * k * sizeof(*wt));
	int32_t *w = xmalloc(k * ldw * sizeof(*w));
	uint32_t *acc = xmalloc(m * ldacc * sizeof(*acc));

	for (size_t i = 0; i < m * ldx; i++)
		x[i] = extreme ? (int16_t)(i % 5 ? 255 : -255) : rnd_operand();
	for (size_t t = 0; t < k; t++) {
		for (unsigned int j = 0; j < ldw; j++) {
			w[t * ldw + j] = extreme ? (j % 2 ? -255 : 255) : rnd_operand();
			if (j < n)
				wt[j * k + t] = (int16_t)w[t * ldw + j];
		}
	}
	for (size_t i = 0; i < m * ldacc; i++)
		acc[i] = 0xdeadbeef;
	mac_gemm_wide_s16(x, ldx, w, ldw, acc, ldacc, m, n, k);
	for (unsigned int i = 0; i < m; i++) {
		for (unsigned int j = 0; j < ldacc; j++) {
			uint32_t want = j < n ? ref_dot16(x + i * ldx, wt + j * k, k) : 0xdeadbeef;

			ck_assert_msg(acc[i * ldacc + j] == want,
				      "wide m=%u n=%u k=%zu: acc[%u][%u] = %u, want %u", m, n, k,
				      i, j, acc[i * ldacc + j], want);
		}
	}
	free(x);
	free(wt);
	free(w);
	free(acc);
}

START_TEST(test_gemm_wide)
{
	rng_state = 0x77;
	for (int iter = 0; iter < 300; iter++)
		check_gemm_wide((unsigned int)rnd_range(1, 11), (unsigned int)rnd_range(1, 100),
				(size_t)rnd_range(1, MAC_WIDE_MAX_K + 20), 0);
	check_gemm_wide(5, 50, 2 * MAC_CHUNK + 11, 1);
}
END_TEST

static void ref_gemm_kn(const int8_t *a, size_t lda, int a_zp, const int8_t *b, int b_zp,
			uint32_t *acc, unsigned int m, unsigned int n, size_t k)
{
	for (unsigned int i = 0; i < m; i++) {
		for (unsigned int j = 0; j < n; j++) {
			int64_t s = 0;

			for (size_t t = 0; t < k; t++)
				s += (int64_t)(a[i * lda + t] - a_zp) * (b[t * n + j] - b_zp);
			acc[i * n + j] = (uint32_t)(uint64_t)s;
		}
	}
}

static void check_gemm_kn(unsigned int m, unsigned int n, size_t k, size_t lda, int a_zp,
			  int b_zp, const int8_t *a, const int8_t *b)
{
	uint32_t *got = xmalloc(m * n * sizeof(*got)), *want = xmalloc(m * n * sizeof(*want));

	ref_gemm_kn(a, lda, a_zp, b, b_zp, want, m, n, k);
	mac_gemm_kn_s8(a, lda, a_zp, b, b_zp, got, n, m, n, k);
	for (unsigned int i = 0; i < m * n; i++)
		ck_assert_msg(got[i] == want[i], "gemm_kn m=%u n=%u k=%zu: [%u] = %u, want %u",
			      m, n, k, i, got[i], want[i]);
	free(got);
	free(want);
}

START_TEST(test_gemm_kn)
{
	rng_state = 0x6b6e;
	for (int iter = 0; iter < 200; iter++) {
		unsigned int m = (unsigned int)rnd_range(1, 6), n = (unsigned int)rnd_range(1, 90);
		size_t k = (size_t)rnd_range(1, 300), lda = k + (size_t)rnd_range(0, 5);
		int8_t *a = xmalloc(m * lda), *b = xmalloc(k * n);

		for (size_t i = 0; i < m * lda; i++)
			a[i] = (int8_t)rnd();
		for (size_t i = 0; i < k * n; i++)
			b[i] = (int8_t)rnd();
		check_gemm_kn(m, n, k, lda, (int8_t)rnd(), (int8_t)rnd(), a, b);
		free(a);
		free(b);
	}
}
END_TEST

/* MATMUL's longest K with extreme int8 values and zero points: sums wrap. */
START_TEST(test_gemm_kn_long_k_extremes)
{
	const size_t k = 65535;
	const unsigned int m = 2, n = 37;
	int8_t *a = xmalloc(m * k), *b = xmalloc(k * n);

	for (size_t t = 0; t < k; t++) {
		a[t] = -128;
		a[k + t] = 127;
		for (unsigned int j = 0; j < n; j++)
			b[t * n + j] = j % 3 == 0 ? 127 : j % 3 == 1 ? -128 : (int8_t)rnd();
	}
	check_gemm_kn(m, n, k, k, 127, -128, a, b);
	check_gemm_kn(m, n, k, k, -128, 127, a, b);
	free(a);
	free(b);
}
END_TEST

/* One depthwise pixel: taps over nc channels, optional channel multiplier. */
static void check_dw(unsigned int ntaps, unsigned int ngroups, unsigned int mult, int zp,
		     int extreme)
{
	size_t nc = (size_t)ngroups * mult, xstride = ngroups + 5;
	int8_t *x = xmalloc(ntaps * xstride);
	int16_t *w = xmalloc(ntaps * nc * sizeof(*w));
	const int8_t **xs = xmalloc(ntaps * sizeof(*xs) + 1);
	const int16_t **ws = xmalloc(ntaps * sizeof(*ws) + 1);
	int32_t *acc = xmalloc((nc + 1) * sizeof(*acc));

	for (size_t i = 0; i < ntaps * xstride; i++)
		x[i] = extreme ? (zp > 0 ? -128 : 127) : (int8_t)rnd();
	for (size_t i = 0; i < ntaps * nc; i++)
		w[i] = extreme ? (int16_t)(zp > 0 ? -255 : 255) : rnd_operand();
	/* taps in a scrambled order, as a border pixel would skip some */
	for (unsigned int t = 0; t < ntaps; t++) {
		xs[t] = x + (size_t)((t * 7u) % ntaps) * xstride;
		ws[t] = w + (size_t)t * nc;
	}
	acc[nc] = 0x5a5a5a5a;
	if (mult == 1)
		mac_dw_pixel(acc, xs, ws, ntaps, zp, ngroups);
	else
		mac_dw_pixel_mult(acc, xs, ws, ntaps, zp, ngroups, mult);
	for (size_t c = 0; c < nc; c++) {
		int64_t s = 0;

		for (unsigned int t = 0; t < ntaps; t++)
			s += (int64_t)(xs[t][c / mult] - zp) * ws[t][c];
		ck_assert_msg(acc[c] == s, "dw taps=%u groups=%u mult=%u: acc[%zu] = %d, want %lld",
			      ntaps, ngroups, mult, c, acc[c], (long long)s);
	}
	ck_assert_int_eq(acc[nc], 0x5a5a5a5a);
	free(x);
	free(w);
	free(xs);
	free(ws);
	free(acc);
}

START_TEST(test_dw_random)
{
	static const unsigned int widths[] = { 1, 3, 15, 16, 17, 63, 64, 65, 127, 128, 200 };

	rng_state = 0xd3;
	for (int iter = 0; iter < 200; iter++) {
		unsigned int nc = widths[rnd() % (sizeof(widths) / sizeof(widths[0]))];
		unsigned int ntaps = (unsigned int)rnd_range(0, 30);

		check_dw(ntaps, nc, 1, (int8_t)rnd(), 0);
	}
}
END_TEST

START_TEST(test_dw_multiplier)
{
	rng_state = 0xd4;
	for (int iter = 0; iter < 150; iter++)
		check_dw((unsigned int)rnd_range(1, 25), (unsigned int)rnd_range(1, 9),
			 (unsigned int)rnd_range(2, 40), (int8_t)rnd(), 0);
}
END_TEST

/* 32x32 kernel, every product 255*255: the per-pixel int32 sum stays exact. */
START_TEST(test_dw_max_taps_extremes)
{
	check_dw(MAC_DW_MAX_TAPS, 70, 1, 127, 1);
	check_dw(MAC_DW_MAX_TAPS, 70, 1, -128, 1);
	check_dw(MAC_DW_MAX_TAPS, 3, 5, 127, 1);
}
END_TEST

static const uint32_t edge_u32[] = {
	0, 1, 2, 0x3fffffff, 0x40000000, 0x7fffffff, 0x80000000, 0x80000001, 0xfffffffe,
	0xffffffff, 30, 31, 32, 33, 61, 62, 63, 64,
};

static uint32_t rnd_edge(void)
{
	return rnd() % 2 ? edge_u32[rnd() % (sizeof(edge_u32) / sizeof(edge_u32[0]))] : rnd();
}

/* mac_requant against npu_requant over random and boundary parameters. */
START_TEST(test_requant_matches_arith)
{
	enum { N = 67 };
	uint32_t bias[N], shift_u[N], acc[N];
	int64_t mult[N], round[N];
	uint64_t shift[N];
	struct npu_qparam q[N];
	struct mac_rq rq = { bias, mult, round, shift };
	int8_t out[N + 1];

	rng_state = 0x7e9;
	for (int iter = 0; iter < 3000; iter++) {
		int zp = (int8_t)rnd(), lo = (int8_t)rnd(), hi = (int8_t)rnd();
		size_t c0 = rnd() % 4, n = (size_t)rnd_range(1, N - 4);

		if (lo > hi) {
			int t = lo;

			lo = hi;
			hi = t;
		}
		for (size_t i = 0; i < N; i++) {
			q[i].bias = (int32_t)rnd_edge();
			q[i].mult = rnd_edge();
			q[i].shift = shift_u[i] = iter % 2 ? rnd_edge() : rnd() % 64;
			acc[i] = rnd_edge();
			mac_rq_set(&rq, i, &q[i]);
		}
		out[n] = 0x11;
		mac_requant(out, acc + c0, &rq, c0, n, zp, lo, hi);
		for (size_t i = 0; i < n; i++) {
			int32_t a = npu_wrap_add32((int32_t)acc[c0 + i], q[c0 + i].bias);
			int8_t want = npu_requant(a, &q[c0 + i], (int8_t)zp, (int8_t)lo,
						  (int8_t)hi);

			ck_assert_msg(out[i] == want,
				      "acc %d mult %u shift %u zp %d [%d,%d]: got %d want %d", a,
				      q[c0 + i].mult, shift_u[c0 + i], zp, lo, hi, out[i], want);
		}
		ck_assert_int_eq(out[n], 0x11);
	}
}
END_TEST

static void put32le(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

START_TEST(test_qparam_decode)
{
	uint8_t sram[64 + 3 * 12];
	uint64_t mem[3 * 4];
	struct npu_qparam q;
	struct mac_rq rq;

	memset(sram, 0xee, sizeof(sram));
	for (uint32_t i = 0; i < 3; i++) {
		put32le(sram + 64 + 12 * i, 0x80000000u + i);		/* bias */
		put32le(sram + 64 + 12 * i + 4, 0x80000005u + i);	/* mult, bit 31 ignored */
		put32le(sram + 64 + 12 * i + 8, i == 0 ? 0 : i == 1 ? 30 : 99); /* shift */
	}
	mac_read_qparam(sram, 64, 1, &q);
	ck_assert_int_eq(q.bias, INT32_MIN + 1);
	ck_assert_uint_eq(q.mult, 0x80000006u);
	ck_assert_uint_eq(q.shift, 30);
	ck_assert_uint_le(mac_rq_bytes(3), sizeof(mem));
	mac_load_rq(&rq, mem, sram, 64, 0, 3);
	ck_assert_uint_eq(rq.bias[2], 0x80000002u);
	ck_assert_int_eq(rq.mult[0], 5);
	ck_assert_uint_eq(rq.shift[0], NPU_SHIFT_MIN);	/* clamped */
	ck_assert_uint_eq(rq.shift[1], 30);
	ck_assert_int_eq(rq.round[1], 1 << 29);
	ck_assert_uint_eq(rq.shift[2], NPU_SHIFT_MAX);
	mac_load_rq(&rq, mem, sram, 64 + 12, 1, 3);	/* per tensor: entry 1 everywhere */
	for (int i = 0; i < 3; i++) {
		ck_assert_uint_eq(rq.bias[i], 0x80000001u);
		ck_assert_int_eq(rq.mult[i], 6);
		ck_assert_uint_eq(rq.shift[i], 30);
	}
}
END_TEST

START_TEST(test_helpers)
{
	int8_t src[70];
	int16_t dst[71];
	size_t total = 0, a, b;

	for (int i = 0; i < 70; i++)
		src[i] = (int8_t)(i * 37 - 128);
	dst[70] = 77;
	mac_widen_s8(dst, src, 70, -128);
	for (int i = 0; i < 70; i++)
		ck_assert_int_eq(dst[i], src[i] + 128);
	ck_assert_int_eq(dst[70], 77);
	ck_assert_uint_eq(mac_pad_k(1), 8);
	ck_assert_uint_eq(mac_pad_k(27), 32);
	ck_assert_uint_eq(mac_pad_k(33), 64);
	ck_assert_uint_eq(mac_pad_k(576), 576);
	a = mac_carve(&total, 5);
	b = mac_carve(&total, 64);
	ck_assert_uint_eq(a, 0);
	ck_assert_uint_eq(b, 64);
	ck_assert_uint_eq(total, 128);
	mac_carve(&total, UINT64_MAX);
	ck_assert_uint_eq(total, SIZE_MAX);
	mac_carve(&total, 1);
	ck_assert_uint_eq(total, SIZE_MAX);
	ck_assert_uint_eq(mac_mul_sat(1ull << 40, 1ull << 30), UINT64_MAX);
	ck_assert_uint_eq(mac_mul_sat(1ull << 40, 1ull << 20), 1ull << 60);
	ck_assert_uint_eq(mac_add_sat(UINT64_MAX - 1, 5), UINT64_MAX);
	ck_assert_uint_eq(mac_div_up(17, 16), 2);
	ck_assert(mac_spans_overlap(0, 10, 9, 1));
	ck_assert(!mac_spans_overlap(0, 10, 10, 1));
}
END_TEST

/* ---- CONV / MATMUL in place: output overlapping the input ---- */

static struct npusim_core *new_core(void)
{
	struct npusim_config cfg;
	struct npusim_core *c;

	npusim_config_default(&cfg);
	c = npusim_core_create(&cfg);
	ck_assert_ptr_nonnull(c);
	for (uint32_t i = 0; i < cfg.sram_bytes; i++)
		c->sram[i] = (uint8_t)rnd();
	return c;
}

/* mode 0: grouped (short K, wide kernel), 1: depthwise x2, 2: dense (dot kernel) */
static void conv_shape(struct npu_cmd_conv *c, int mode)
{
	int dw = mode == 1;

	memset(c, 0, sizeof(*c));
	c->hdr = NPU_CMD_HDR(NPU_OP_CONV, struct npu_cmd_conv);
	c->in_h = c->in_w = 9;
	c->in_c = c->in_pix_stride = 12;
	c->out_h = c->out_w = 9;
	c->out_c = dw ? 24 : 16;
	c->out_pix_stride = c->out_c;
	c->k_h = c->k_w = 3;
	c->stride_h = c->stride_w = c->dil_h = c->dil_w = 1;
	c->pad_top = c->pad_left = 1;
	c->groups = dw ? 12 : mode == 0 ? 2 : 1;
	c->in_zp = 5;
	c->w_zp = -3;
	c->out_zp = 1;
	c->act_min = -128;
	c->act_max = 127;
	c->w_addr = 0x10000;
	c->q_addr = 0x20000;
}

/* Small biases and a scale that keeps most outputs off the clamps. */
static void set_qparams(uint8_t *q, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		put32le(q + 12 * i, (uint32_t)rnd_range(-1000, 1000));
		put32le(q + 12 * i + 4, 0x40000000u + rnd() % 0x40000000u);
		put32le(q + 12 * i + 8, 42);
	}
}

static int distinct_values(const uint8_t *p, size_t n)
{
	int seen[256] = { 0 }, count = 0;

	for (size_t i = 0; i < n; i++)
		count += !seen[p[i]]++;
	return count;
}

/* Same command, output at in_addr + delta (overlapping) and far away. */
static void check_conv_in_place(int mode, int64_t delta)
{
	struct npusim_core *c = new_core();
	struct npu_cmd_conv cmd;
	struct cmd_info info;
	uint32_t out_len;
	uint8_t *want;

	conv_shape(&cmd, mode);
	out_len = (uint32_t)cmd.out_h * cmd.out_w * cmd.out_c;
	set_qparams(c->sram + cmd.q_addr, cmd.out_c);
	cmd.in_addr = 0x40000;
	cmd.out_addr = 0x80000;
	want = xmalloc(out_len);
	ck_assert_int_eq(conv_check(c, &cmd, &info), NPU_FAULT_NONE);
	conv_exec(c, &cmd);
	memcpy(want, c->sram + cmd.out_addr, out_len);
	ck_assert_int_ge(distinct_values(want, out_len), 20);
	cmd.out_addr = (uint32_t)((int64_t)cmd.in_addr + delta);
	ck_assert_int_eq(conv_check(c, &cmd, &info), NPU_FAULT_NONE);
	conv_exec(c, &cmd);
	ck_assert_mem_eq(c->sram + cmd.out_addr, want, out_len);
	free(want);
	npusim_core_destroy(c);
}

START_TEST(test_conv_in_place)
{
	static const int64_t deltas[] = { 0, 1, -1, 100, -100, 12 * 9 * 4 };

	rng_state = 0x1a;
	for (size_t i = 0; i < sizeof(deltas) / sizeof(deltas[0]); i++) {
		for (int mode = 0; mode < 3; mode++)
			check_conv_in_place(mode, deltas[i]);
	}
}
END_TEST

static void check_matmul_in_place(uint16_t m, uint16_t k, int64_t delta)
{
	struct npusim_core *c = new_core();
	struct npu_cmd_matmul cmd;
	struct cmd_info info;
	uint32_t out_len;
	uint8_t *want;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr = NPU_CMD_HDR(NPU_OP_MATMUL, struct npu_cmd_matmul);
	cmd.m = m;
	cmd.k = cmd.a_row_stride = k;
	cmd.n = cmd.out_row_stride = 48;
	cmd.a_zp = -7;
	cmd.b_zp = 9;
	cmd.act_min = -128;
	cmd.act_max = 127;
	cmd.flags = NPU_CONV_F_PER_TENSOR_Q;
	cmd.a_addr = 0x40000;
	cmd.b_addr = 0x10000;
	cmd.q_addr = 0x20000;
	cmd.out_addr = 0x80000;
	set_qparams(c->sram + cmd.q_addr, 1);
	out_len = (uint32_t)m * cmd.n;
	want = xmalloc(out_len);
	ck_assert_int_eq(matmul_check(c, &cmd, &info), NPU_FAULT_NONE);
	matmul_exec(c, &cmd);
	memcpy(want, c->sram + cmd.out_addr, out_len);
	ck_assert_int_ge(distinct_values(want, out_len), m > 1 ? 20 : 10);
	cmd.out_addr = (uint32_t)((int64_t)cmd.a_addr + delta);
	ck_assert_int_eq(matmul_check(c, &cmd, &info), NPU_FAULT_NONE);
	matmul_exec(c, &cmd);
	ck_assert_mem_eq(c->sram + cmd.out_addr, want, out_len);
	free(want);
	npusim_core_destroy(c);
}

START_TEST(test_matmul_in_place)
{
	rng_state = 0x1b;
	/* few-row, wide (short k) and dot-product paths */
	for (uint16_t m = 1; m <= 70; m += 23) {
		for (uint16_t k = 40; k <= 200; k += 160) {
			check_matmul_in_place(m, k, 0);
			check_matmul_in_place(m, k, 40);
			check_matmul_in_place(m, k, -48);
		}
	}
}
END_TEST

/*
 * Without scratch memory, CONV and MATMUL fall back to computing each
 * output straight from SRAM. Simulate the failed allocation (core_scratch()
 * only reallocates for sizes above scratch_size) and compare.
 */
static void scratch_unavailable(struct npusim_core *c, int unavailable)
{
	void *p;

	free(c->scratch);
	c->scratch = NULL;
	c->scratch_size = unavailable ? SIZE_MAX : 0;
	p = core_scratch(c, 1);
	ck_assert(unavailable ? p == NULL : p != NULL);
}

START_TEST(test_no_scratch_fallback)
{
	struct npusim_core *c;
	struct npu_cmd_conv cc;
	struct npu_cmd_matmul mc;
	struct cmd_info info;
	uint8_t want[9 * 9 * 24];

	rng_state = 0x1c;
	c = new_core();
	for (int mode = 0; mode < 3; mode++) {
		uint32_t out_len;

		conv_shape(&cc, mode);
		cc.in_addr = 0x40000;
		cc.out_addr = 0x80000;
		out_len = (uint32_t)cc.out_h * cc.out_w * cc.out_c;
		set_qparams(c->sram + cc.q_addr, cc.out_c);
		ck_assert_int_eq(conv_check(c, &cc, &info), NPU_FAULT_NONE);
		scratch_unavailable(c, 0);
		conv_exec(c, &cc);
		memcpy(want, c->sram + cc.out_addr, out_len);
		ck_assert_int_ge(distinct_values(want, out_len), 20);
		memset(c->sram + cc.out_addr, 0, out_len);
		scratch_unavailable(c, 1);
		conv_exec(c, &cc);
		ck_assert_mem_eq(c->sram + cc.out_addr, want, out_len);
	}
	memset(&mc, 0, sizeof(mc));
	mc.k = mc.a_row_stride = 77;
	mc.n = mc.out_row_stride = 33;
	mc.a_zp = 3;
	mc.b_zp = -4;
	mc.act_min = -100;
	mc.act_max = 100;
	mc.a_addr = 0x40000;
	mc.b_addr = 0x10000;
	mc.q_addr = 0x20000;
	mc.out_addr = 0x80000;
	set_qparams(c->sram + mc.q_addr, mc.n);
	for (mc.m = 1; mc.m < 12; mc.m += 5) {
		uint32_t out_len = (uint32_t)mc.m * mc.n;

		ck_assert_int_eq(matmul_check(c, &mc, &info), NPU_FAULT_NONE);
		scratch_unavailable(c, 0);
		matmul_exec(c, &mc);
		memcpy(want, c->sram + mc.out_addr, out_len);
		memset(c->sram + mc.out_addr, 0, out_len);
		scratch_unavailable(c, 1);
		matmul_exec(c, &mc);
		ck_assert_mem_eq(c->sram + mc.out_addr, want, out_len);
	}
	scratch_unavailable(c, 0);
	npusim_core_destroy(c);
}
END_TEST

Suite *suite_mac_kernels(void);
Suite *suite_mac_kernels(void)
{
	Suite *s = suite_create("mac_kernels");
	TCase *tc = tcase_create("kernels");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_gemm_random);
	tcase_add_test(tc, test_gemm_long_k_extremes);
	tcase_add_test(tc, test_gemm_wide);
	tcase_add_test(tc, test_gemm_kn);
	tcase_add_test(tc, test_gemm_kn_long_k_extremes);
	tcase_add_test(tc, test_dw_random);
	tcase_add_test(tc, test_dw_multiplier);
	tcase_add_test(tc, test_dw_max_taps_extremes);
	tcase_add_test(tc, test_requant_matches_arith);
	tcase_add_test(tc, test_qparam_decode);
	tcase_add_test(tc, test_helpers);
	tcase_add_test(tc, test_conv_in_place);
	tcase_add_test(tc, test_matmul_in_place);
	tcase_add_test(tc, test_no_scratch_fallback);
	suite_add_tcase(s, tc);
	return s;
}
