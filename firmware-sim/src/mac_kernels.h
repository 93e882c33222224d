/* SPDX-License-Identifier: MIT */
/*
 * Integer inner loops of the MAC engine, shared by CONV and MATMUL.
 *
 * Operands are int8 values minus their zero point, held in int16, so
 * |operand| <= MAC_OPERAND_MAX and one product is below 2^16. MAC_CHUNK
 * products therefore sum below 2^31: each chunk is accumulated in plain
 * int32 without overflow (the pattern gcc vectorises as pmaddwd + paddd),
 * and chunks are combined modulo 2^32, which is exactly the spec's
 * wrapping int32 accumulator (npu_arith.h).
 */
#ifndef NPUSIM_MAC_KERNELS_H
#define NPUSIM_MAC_KERNELS_H

#include <stddef.h>
#include <stdint.h>

#include "npu_isa.h"

#define MAC_OPERAND_MAX	255
#define MAC_CHUNK	32768u	/* 32768 * 255 * 255 < 2^31 */
#define MAC_KALIGN	32u	/* row padding (elements) callers use for K */
#define MAC_DW_MAX_TAPS	1024u	/* NPU_CONV_MAX_K^2: 1024 * 255 * 255 < 2^31 */

/*
 * Dot-product GEMM: for i < m, j < n
 *   acc[i * ldacc + j] = sum_{t < k} x[i * ldx + t] * w[j * ldw + t]  (mod 2^32)
 * Rows are contiguous along K. Every x and w value must be within
 * [-MAC_OPERAND_MAX, MAC_OPERAND_MAX]. Rows padded with zeros to a multiple
 * of MAC_KALIGN run fastest (pass the padded k).
 */
void mac_gemm_s16(const int16_t *x, size_t ldx, const int16_t *w, size_t ldw,
		  uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k);

/*
 * The same product for short K with w stored K-major as int32:
 *   acc[i * ldacc + j] = sum_{t < k} x[i * ldx + t] * w[t * ldw + j]  (mod 2^32)
 * Vectorised along n with x broadcast: no horizontal sums, which dominate
 * mac_gemm_s16 when K is only a few vectors long (below MAC_WIDE_MAX_K).
 * Operand range as for mac_gemm_s16.
 */
#define MAC_WIDE_MAX_K	96u
void mac_gemm_wide_s16(const int16_t *x, size_t ldx, const int32_t *w, size_t ldw,
		       uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k);

/*
 * Few-row matrix product straight from int8, vectorised along n (no
 * transposed copy of B, which would cost as much as a GEMV itself):
 * for i < m, j < n
 *   acc[i * ldacc + j] = sum_{t < k} (a[i * lda + t] - a_zp) * (b[t * n + j] - b_zp)
 * modulo 2^32.
 */
void mac_gemm_kn_s8(const int8_t *a, size_t lda, int a_zp, const int8_t *b, int b_zp,
		    uint32_t *acc, size_t ldacc, unsigned int m, unsigned int n, size_t k);

/*
 * Depthwise, one output pixel: for c < nc
 *   acc[c] = sum_{t < ntaps} (xs[t][c] - zp) * ws[t][c]
 * xs[t] are raw int8 input pixels, ws[t] zero-point corrected weights
 * (|w| <= MAC_OPERAND_MAX), ntaps <= MAC_DW_MAX_TAPS.
 */
void mac_dw_pixel(int32_t *acc, const int8_t *const *xs, const int16_t *const *ws,
		  unsigned int ntaps, int zp, unsigned int nc);

/*
 * Depthwise with a channel multiplier: input channel g feeds outputs
 * g * mult .. g * mult + mult - 1. For g < ngroups, j < mult:
 *   acc[g * mult + j] = sum_t (xs[t][g] - zp) * ws[t][g * mult + j]
 */
void mac_dw_pixel_mult(int32_t *acc, const int8_t *const *xs, const int16_t *const *ws,
		       unsigned int ntaps, int zp, unsigned int ngroups, unsigned int mult);

/*
 * Post-processing parameters of nc channels, unpacked from npu_qparam so
 * the requant loop vectorises (struct of arrays, rounding term precomputed).
 */
struct mac_rq {
	uint32_t *bias;
	int64_t *mult;
	int64_t *round;
	uint64_t *shift;
};

/* Unpacks q into channel i of rq (npu_q_mult / npu_q_shift of npu_arith.h). */
void mac_rq_set(const struct mac_rq *rq, size_t i, const struct npu_qparam *q);

/*
 * out[i] = npu_requant(acc[i] + bias[c0 + i], channel c0 + i) for i < n:
 * the same result as npu_arith.h, written as one 64-bit multiply and an
 * arithmetic shift (floor division by 2^shift, which is what npu_rescale
 * computes).
 */
void mac_requant(int8_t *out, const uint32_t *acc, const struct mac_rq *rq, size_t c0,
		 size_t n, int out_zp, int act_min, int act_max);

/* Reads npu_qparam idx of the little-endian array at sram + q_addr. */
void mac_read_qparam(const uint8_t *sram, uint32_t q_addr, size_t idx, struct npu_qparam *q);

/* Bytes of the arrays of a struct mac_rq for nc channels. */
size_t mac_rq_bytes(size_t nc);

/*
 * Points rq's arrays into mem (mac_rq_bytes(nc), 8-byte aligned) and fills
 * them from the qparams at sram + q_addr: nc of them, or one for all.
 */
void mac_load_rq(struct mac_rq *rq, void *mem, const uint8_t *sram, uint32_t q_addr,
		 int per_tensor, size_t nc);

/* dst[i] = src[i] - zp for i < n (int8 to zero-point corrected int16). */
void mac_widen_s8(int16_t *dst, const int8_t *src, size_t n, int zp);

/* ---- helpers shared by exec_conv.c and exec_matmul.c ---- */

/* Byte budget of one GEMM block's im2col rows and of its accumulators. */
#define MAC_BLOCK_BYTES	(128u * 1024u)

static inline uint64_t mac_div_up(uint64_t a, uint64_t b)
{
	return a / b + (a % b != 0);
}

static inline uint64_t mac_mul_sat(uint64_t a, uint64_t b)
{
	return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

static inline uint64_t mac_add_sat(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

/* Row length for GEMM depth k: whole vectors, rows 16-byte aligned. */
static inline size_t mac_pad_k(size_t k)
{
	size_t a = k < MAC_KALIGN ? 8 : MAC_KALIGN;

	return (k + a - 1) / a * a;
}

static inline int mac_spans_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/*
 * Lays out one scratch allocation: returns the offset of a new 64-byte
 * aligned piece of the given size and grows *total (SIZE_MAX on overflow,
 * which no allocation satisfies).
 */
static inline size_t mac_carve(size_t *total, uint64_t bytes)
{
	size_t off = *total;
	uint64_t room = (uint64_t)(SIZE_MAX - off);
	uint64_t need = bytes > UINT64_MAX - 63 ? UINT64_MAX : (bytes + 63) & ~(uint64_t)63;

	*total = need > room ? SIZE_MAX : off + (size_t)need;
	return off;
}

#endif /* NPUSIM_MAC_KERNELS_H */
