// SPDX-License-Identifier: MIT
/*
 * MAC engine inner loops (see mac_kernels.h for the contracts).
 *
 * Written for gcc's auto-vectoriser: contiguous K, int16 operands widened
 * to int32 products summed into int32 (recognised as a dot product:
 * pmaddwd on SSE2/AVX2/AVX-512, smlal/sdot-like code on aarch64), several
 * independent sums per pass for register blocking. On x86-64 the hot
 * functions are compiled for three ISA levels and picked at load time
 * (target_clones); not under sanitizers, whose runtime does not like
 * ifunc resolvers running before it is initialised.
 */
#include <string.h>

#include "mac_kernels.h"
#include "npu_arith.h"

#if defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(memory_sanitizer)
#define MAC_NO_CLONES 1
#endif
#endif

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__SANITIZE_ADDRESS__) && \
	!defined(MAC_NO_CLONES)
#define MAC_HOT __attribute__((target_clones("default", "avx2", "arch=x86-64-v4")))
#else
#define MAC_HOT
#endif

#define MAC_INLINE static inline __attribute__((always_inline))

/*
 * gcc -O3 unroll-and-jams the outer loop of a register-blocked kernel by 2
 * and then fails to vectorise the jammed copy, leaving most work scalar.
 */
#if defined(__GNUC__) && !defined(__clang__)
#define MAC_NO_JAM __attribute__((optimize("no-loop-unroll-and-jam")))
#else
#define MAC_NO_JAM
#endif

/* Dot products of 4 x rows with 4 w rows over k <= MAC_CHUNK elements. */
MAC_INLINE void dot_4x4(const int16_t *restrict x, size_t ldx,
			const int16_t *const w[4], size_t k, int32_t s[16])
{
	const int16_t *x0 = x, *x1 = x + ldx, *x2 = x + 2 * ldx, *x3 = x + 3 * ldx;
	const int16_t *restrict w0 = w[0], *restrict w1 = w[1];
	const int16_t *restrict w2 = w[2], *restrict w3 = w[3];
	int32_t s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
	int32_t s20 = 0, s21 = 0, s22 = 0, s23 = 0, s30 = 0, s31 = 0, s32 = 0, s33 = 0;

	for (size_t t = 0; t < k; t++) {
		int32_t a0 = x0[t], a1 = x1[t], a2 = x2[t], a3 = x3[t];
		int32_t b0 = w0[t], b1 = w1[t], b2 = w2[t], b3 = w3[t];

		s00 += a0 * b0; s01 += a0 * b1; s02 += a0 * b2; s03 += a0 * b3;
		s10 += a1 * b0; s11 += a1 * b1; s12 += a1 * b2; s13 += a1 * b3;
		s20 += a2 * b0; s21 += a2 * b1; s22 += a2 * b2; s23 += a2 * b3;
		s30 += a3 * b0; s31 += a3 * b1; s32 += a3 * b2; s33 += a3 * b3;
	}
	s[0] = s00; s[1] = s01; s[2] = s02; s[3] = s03;
	s[4] = s10; s[5] = s11; s[6] = s12; s[7] = s13;
	s[8] = s20; s[9] = s21; s[10] = s22; s[11] = s23;
	s[12] = s30; s[13] = s31; s[14] = s32; s[15] = s33;
}

/* One x row against 4 w rows. */
MAC_INLINE void dot_1x4(const int16_t *restrict x, const int16_t *const w[4], size_t k,
			int32_t s[4])
{
	const int16_t *restrict w0 = w[0], *restrict w1 = w[1];
	const int16_t *restrict w2 = w[2], *restrict w3 = w[3];
	int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0;

	for (size_t t = 0; t < k; t++) {
		int32_t a = x[t];

		s0 += a * w0[t]; s1 += a * w1[t]; s2 += a * w2[t]; s3 += a * w3[t];
	}
	s[0] = s0; s[1] = s1; s[2] = s2; s[3] = s3;
}

/*
 * w row pointers of the column block starting at j; past n they repeat
 * the last row (computed and discarded: keeps one kernel for the tail).
 */
MAC_INLINE void wrows(const int16_t *w, size_t ldw, unsigned int j, unsigned int n,
		      size_t k0, const int16_t *r[4])
{
	for (unsigned int q = 0; q < 4; q++)
		r[q] = w + (size_t)(j + q < n ? j + q : n - 1) * ldw + k0;
}

/* Rows i..i+mr-1 (mr = 4 or 1) against columns j..j+3, all of K, stored to acc. */
MAC_INLINE void gemm_block(const int16_t *x, size_t ldx, const int16_t *w, size_t ldw,
			   uint32_t *acc, size_t ldacc, unsigned int mr, unsigned int j,
			   unsigned int n, size_t k)
{
	uint32_t tot[16] = { 0 };
	unsigned int nc = n - j < 4 ? n - j : 4;

	for (size_t k0 = 0; k0 < k; k0 += MAC_CHUNK) {
		size_t kc = k - k0 < MAC_CHUNK ? k - k0 : MAC_CHUNK;
		const int16_t *r[4];
		int32_t s[16];

		wrows(w, ldw, j, n, k0, r);
		if (mr == 4)
			dot_4x4(x + k0, ldx, r, kc, s);
		else
			dot_1x4(x + k0, r, kc, s);
		for (unsigned int q = 0; q < 4 * mr; q++)
			tot[q] += (uint32_t)s[q];
	}
	for (unsigned int i = 0; i < mr; i++)
		for (unsigned int q = 0; q < nc; q++)
			acc[i * ldacc + j + q] = tot[i * 4 + q];
}

/* The common single-chunk case without the chunk bookkeeping. */
MAC_INLINE void gemm_block_short(const int16_t *x, size_t ldx, const int16_t *w, size_t ldw,
				 uint32_t *acc, size_t ldacc, unsigned int mr, unsigned int j,
				 unsigned int n, size_t k)
{
	const int16_t *r[4];
	int32_t s[16];

	wrows(w, ldw, j, n, 0, r);
	if (mr == 4)
		dot_4x4(x, ldx, r, k, s);
	else
		dot_1x4(x, r, k, s);
	if (n - j >= 4) {
		for (unsigned int i = 0; i < mr; i++)
			for (unsigned int q = 0; q < 4; q++)
				acc[i * ldacc + j + q] = (uint32_t)s[i * 4 + q];
		return;
	}
	for (unsigned int i = 0; i < mr; i++)
		for (unsigned int q = 0; q < n - j; q++)
			acc[i * ldacc + j + q] = (uint32_t)s[i * 4 + q];
}

MAC_HOT
void mac_gemm_s16(const int16_t *x, size_t ldx, const int16_t *w, size_t ldw,
		  uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k)
{
	unsigned int i = 0;

	if (k > MAC_CHUNK) {
		for (; i + 4 <= m; i += 4)
			for (unsigned int j = 0; j < n; j += 4)
				gemm_block(x + i * ldx, ldx, w, ldw, acc + i * ldacc, ldacc, 4,
					   j, n, k);
		for (; i < m; i++)
			for (unsigned int j = 0; j < n; j += 4)
				gemm_block(x + i * ldx, ldx, w, ldw, acc + i * ldacc, ldacc, 1,
					   j, n, k);
		return;
	}
	for (; i + 4 <= m; i += 4)
		for (unsigned int j = 0; j < n; j += 4)
			gemm_block_short(x + i * ldx, ldx, w, ldw, acc + i * ldacc, ldacc, 4, j,
					 n, k);
	for (; i < m; i++)
		for (unsigned int j = 0; j < n; j += 4)
			gemm_block_short(x + i * ldx, ldx, w, ldw, acc + i * ldacc, ldacc, 1, j,
					 n, k);
}

/*
 * pr rows of x (pr = 4 or 1) against nb columns (nb <= 32) of a K-major w,
 * k <= MAC_CHUNK. The column loop is the vector loop and x is broadcast, so
 * the accumulators need no horizontal sums.
 */
MAC_INLINE void wide_block(const int16_t *restrict x, size_t ldx, const int32_t *restrict w,
			   size_t ldw, size_t k, uint32_t *restrict acc, size_t ldacc,
			   int add, const unsigned int pr, const unsigned int nb)
{
	int32_t a0[32], a1[32], a2[32], a3[32];
	int32_t *a[4] = { a0, a1, a2, a3 };

	for (unsigned int c = 0; c < nb; c++)
		a0[c] = a1[c] = a2[c] = a3[c] = 0;
	for (size_t t = 0; t < k; t++) {
		const int32_t *restrict wr = w + t * ldw;
		int32_t x0 = x[t];

		if (pr == 1) {
			for (unsigned int c = 0; c < nb; c++)
				a0[c] += x0 * wr[c];
			continue;
		}
		int32_t x1 = x[ldx + t], x2 = x[2 * ldx + t], x3 = x[3 * ldx + t];

		for (unsigned int c = 0; c < nb; c++) {
			a0[c] += x0 * wr[c];
			a1[c] += x1 * wr[c];
			a2[c] += x2 * wr[c];
			a3[c] += x3 * wr[c];
		}
	}
	for (unsigned int r = 0; r < pr; r++)
		for (unsigned int c = 0; c < nb; c++)
			acc[r * ldacc + c] = (add ? acc[r * ldacc + c] : 0) + (uint32_t)a[r][c];
}

/* All columns of pr rows for one chunk of K. */
MAC_INLINE void wide_rows(const int16_t *x, size_t ldx, const int32_t *w, size_t ldw,
			  size_t k, uint32_t *acc, size_t ldacc, int add, unsigned int n,
			  const unsigned int pr)
{
	unsigned int j = 0;

	for (; j + 32 <= n; j += 32)
		wide_block(x, ldx, w + j, ldw, k, acc + j, ldacc, add, pr, 32);
	for (; j + 16 <= n; j += 16)
		wide_block(x, ldx, w + j, ldw, k, acc + j, ldacc, add, pr, 16);
	if (j < n)
		wide_block(x, ldx, w + j, ldw, k, acc + j, ldacc, add, pr, n - j);
}

MAC_HOT MAC_NO_JAM
void mac_gemm_wide_s16(const int16_t *x, size_t ldx, const int32_t *w, size_t ldw,
		       uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k)
{
	for (size_t k0 = 0; k0 < k; k0 += MAC_CHUNK) {
		size_t kc = k - k0 < MAC_CHUNK ? k - k0 : MAC_CHUNK;
		const int32_t *wk = w + k0 * ldw;
		unsigned int i = 0;

		for (; i + 4 <= m; i += 4)
			wide_rows(x + i * ldx + k0, ldx, wk, ldw, kc, acc + i * ldacc, ldacc,
				  k0 != 0, n, 4);
		for (; i < m; i++)
			wide_rows(x + i * ldx + k0, ldx, wk, ldw, kc, acc + i * ldacc, ldacc,
				  k0 != 0, n, 1);
	}
}

MAC_HOT
void mac_gemm_kn_s8(const int8_t *a, size_t lda, int a_zp, const int8_t *b, int b_zp,
		    uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k)
{
	for (unsigned int i = 0; i < m; i++)
		memset(acc + i * ldacc, 0, n * sizeof(*acc));
	for (size_t t = 0; t < k; t++) {
		const int8_t *restrict br = b + t * n;

		for (unsigned int i = 0; i < m; i++) {
			uint32_t *restrict ar = acc + i * ldacc;
			int32_t av = a[i * lda + t] - a_zp;

			/* products are below 2^16; the sum wraps as the spec's accumulator */
			for (unsigned int j = 0; j < n; j++)
				ar[j] += (uint32_t)(av * (br[j] - b_zp));
		}
	}
}

/* Channels per register block of the depthwise loop (4 zmm of int32). */
#define DW_BLOCK 64u

MAC_HOT MAC_NO_JAM
void mac_dw_pixel(int32_t *acc, const int8_t *const *xs, const int16_t *const *ws,
		  unsigned int ntaps, int zp, unsigned int nc)
{
	unsigned int c0 = 0;

	for (; c0 + DW_BLOCK <= nc; c0 += DW_BLOCK) {
		int32_t a[DW_BLOCK] = { 0 };

		for (unsigned int t = 0; t < ntaps; t++) {
			const int8_t *restrict xp = xs[t] + c0;
			const int16_t *restrict wp = ws[t] + c0;

			for (unsigned int c = 0; c < DW_BLOCK; c++)
				a[c] += (xp[c] - zp) * wp[c];
		}
		memcpy(acc + c0, a, sizeof(a));
	}
	if (c0 == nc)
		return;
	for (unsigned int c = c0; c < nc; c++)
		acc[c] = 0;
	for (unsigned int t = 0; t < ntaps; t++) {
		const int8_t *restrict xp = xs[t];
		const int16_t *restrict wp = ws[t];

		for (unsigned int c = c0; c < nc; c++)
			acc[c] += (xp[c] - zp) * wp[c];
	}
}

MAC_HOT
void mac_dw_pixel_mult(int32_t *acc, const int8_t *const *xs, const int16_t *const *ws,
		       unsigned int ntaps, int zp, unsigned int ngroups, unsigned int mult)
{
	size_t nc = (size_t)ngroups * mult;

	for (size_t c = 0; c < nc; c++)
		acc[c] = 0;
	for (unsigned int t = 0; t < ntaps; t++) {
		for (unsigned int g = 0; g < ngroups; g++) {
			int32_t xv = xs[t][g] - zp;
			const int16_t *restrict wp = ws[t] + (size_t)g * mult;
			int32_t *restrict ap = acc + (size_t)g * mult;

			for (unsigned int j = 0; j < mult; j++)
				ap[j] += xv * wp[j];
		}
	}
}

MAC_HOT
void mac_widen_s8(int16_t *dst, const int8_t *src, size_t n, int zp)
{
	for (size_t i = 0; i < n; i++)
		dst[i] = (int16_t)(src[i] - zp);
}

void mac_rq_set(const struct mac_rq *rq, size_t i, const struct npu_qparam *q)
{
	uint32_t s = npu_q_shift(q->shift);

	rq->bias[i] = (uint32_t)q->bias;
	rq->mult[i] = npu_q_mult(q->mult);
	rq->round[i] = (int64_t)1 << (s - 1);
	rq->shift[i] = s;
}

/*
 * |acc * mult| < 2^62 and round <= 2^61, so the sum fits int64. >> of a
 * negative value is an arithmetic shift in gcc and clang (C leaves it
 * implementation-defined): floor division, as npu_rescale.
 */
MAC_HOT
void mac_requant(int8_t *out, const uint32_t *acc, const struct mac_rq *rq, size_t c0,
		 size_t n, int out_zp, int act_min, int act_max)
{
	const uint32_t *restrict bias = rq->bias + c0;
	const int64_t *restrict mult = rq->mult + c0, *restrict rnd = rq->round + c0;
	const uint64_t *restrict shift = rq->shift + c0;
	int64_t zp = out_zp, lo = act_min, hi = act_max;

	for (size_t i = 0; i < n; i++) {
		int64_t a = (int32_t)(acc[i] + bias[i]);
		int64_t v = ((a * mult[i] + rnd[i]) >> shift[i]) + zp;

		v = v < lo ? lo : v;
		v = v > hi ? hi : v;
		out[i] = (int8_t)v;
	}
}

static uint32_t rd32le(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void mac_read_qparam(const uint8_t *sram, uint32_t q_addr, size_t idx, struct npu_qparam *q)
{
	const uint8_t *p = sram + q_addr + idx * sizeof(*q);

	q->bias = (int32_t)rd32le(p);
	q->mult = rd32le(p + 4);
	q->shift = rd32le(p + 8);
}

size_t mac_rq_bytes(size_t nc)
{
	return nc * (sizeof(uint32_t) + 2 * sizeof(int64_t) + sizeof(uint64_t));
}

void mac_load_rq(struct mac_rq *rq, void *mem, const uint8_t *sram, uint32_t q_addr,
		 int per_tensor, size_t nc)
{
	struct npu_qparam q;

	rq->mult = mem;
	rq->round = rq->mult + nc;
	rq->shift = (uint64_t *)(rq->round + nc);
	rq->bias = (uint32_t *)(rq->shift + nc);
	for (size_t i = 0; i < nc; i++) {
		if (!per_tensor || i == 0)
			mac_read_qparam(sram, q_addr, per_tensor ? 0 : i, &q);
		mac_rq_set(rq, i, &q);
	}
}
