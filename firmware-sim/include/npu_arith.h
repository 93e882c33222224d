/* SPDX-License-Identifier: MIT */
/*
 * The one int8 arithmetic of npu-v1 (Documentation/npu-arithmetic.rst).
 *
 * libnpusim, the compiler's reference executor and libnpu's CPU fallback
 * all compute through these functions, so their int8 results are
 * bit-exact by construction. Pure integer code, no floating point.
 *
 * Conventions:
 *  - int32 accumulation wraps modulo 2^32 (two's complement). Because
 *    modular addition is associative, any summation order is exact.
 *  - Rescaling by a fixed-point multiplier M (0 <= M < 2^31) and a right
 *    shift s (NPU_SHIFT_MIN..NPU_SHIFT_MAX) rounds half towards +infinity:
 *      y = floor((x * M + 2^(s-1)) / 2^s)
 *    i.e. a real scale of M * 2^-s (TFLite's single-rounding form).
 *  - Average pooling divides with rounding half away from zero.
 *  - Results saturate to [act_min, act_max] (a subrange of int8).
 */
#ifndef NPU_ARITH_H
#define NPU_ARITH_H

#include <stdint.h>

#include "npu_isa.h"

/* Wrapping int32 addition (defined behaviour, no UB on overflow). */
static inline int32_t npu_wrap_add32(int32_t a, int32_t b)
{
	return (int32_t)((uint32_t)a + (uint32_t)b);
}

/* Effective multiplier and shift of an npu_qparam (every bit pattern valid). */
static inline int64_t npu_q_mult(uint32_t mult)
{
	return (int64_t)(mult & 0x7fffffffu);
}

static inline uint32_t npu_q_shift(uint32_t shift)
{
	if (shift < NPU_SHIFT_MIN)
		return NPU_SHIFT_MIN;
	if (shift > NPU_SHIFT_MAX)
		return NPU_SHIFT_MAX;
	return shift;
}

/*
 * Arithmetic right shift of a signed 64-bit value, rounding half up.
 * |x * mult| < 2^62 for every caller (x is at most 32 bits wide, mult < 2^31),
 * so adding the rounding term cannot overflow. The shift is done on the
 * biased value with floor semantics written out explicitly, so the result
 * does not depend on implementation-defined >> of negative numbers.
 */
static inline int64_t npu_rescale(int64_t x, int64_t mult, uint32_t shift)
{
	int64_t v = x * mult + ((int64_t)1 << (shift - 1));

	if (v >= 0)
		return v >> shift;
	return -(int64_t)((((uint64_t)-v) + (((uint64_t)1 << shift) - 1)) >> shift);
}

static inline int64_t npu_sat32(int64_t v)
{
	if (v < INT32_MIN)
		return INT32_MIN;
	if (v > INT32_MAX)
		return INT32_MAX;
	return v;
}

static inline int8_t npu_clamp8(int64_t v, int8_t lo, int8_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int8_t)v;
}

/* CONV / MATMUL post-processing: acc already includes the bias. */
static inline int8_t npu_requant(int32_t acc, const struct npu_qparam *q,
				 int8_t out_zp, int8_t act_min, int8_t act_max)
{
	int64_t y = npu_rescale(acc, npu_q_mult(q->mult), npu_q_shift(q->shift));

	return npu_clamp8(y + out_zp, act_min, act_max);
}

/*
 * ELTWISE: a, b are raw int8 inputs; parameters from struct npu_cmd_eltwise.
 * ADD/SUB: each input minus its zero point is shifted left by
 * NPU_ELT_INPUT_SHIFT and rescaled to a common scale, saturated to int32;
 * the saturated int32 sum/difference is rescaled to the output.
 * MUL: the product of the zero-point-corrected inputs is rescaled.
 */
static inline int8_t npu_eltwise(const struct npu_cmd_eltwise *c, int8_t a, int8_t b)
{
	int64_t da = (int64_t)a - c->a_zp, db = (int64_t)b - c->b_zp, r;

	if (c->op == NPU_ELT_MUL) {
		r = da * db;
	} else {
		int64_t sa = npu_sat32(npu_rescale(da * ((int64_t)1 << NPU_ELT_INPUT_SHIFT),
						   c->a_mult, c->a_shift));
		int64_t sb = npu_sat32(npu_rescale(db * ((int64_t)1 << NPU_ELT_INPUT_SHIFT),
						   c->b_mult, c->b_shift));
		r = npu_sat32(c->op == NPU_ELT_ADD ? sa + sb : sa - sb);
	}
	return npu_clamp8(npu_rescale(r, c->out_mult, c->out_shift) + c->out_zp,
			  c->act_min, c->act_max);
}

/* Division rounding half away from zero; d > 0. */
static inline int64_t npu_round_div(int64_t a, int64_t d)
{
	if (a >= 0)
		return (a + d / 2) / d;
	return -((-a + d / 2) / d);
}

/*
 * POOL output from the window's accumulator: acc = max(x - in_zp) for MAX
 * (count = 1) or sum(x - in_zp) for AVG (count = taps divided by). An empty
 * window (count = 0) yields out_zp.
 */
static inline int8_t npu_pool_out(const struct npu_cmd_pool *c, int64_t acc, int64_t count)
{
	if (count == 0)
		return npu_clamp8(c->out_zp, c->act_min, c->act_max);
	return npu_clamp8(npu_round_div(acc * (int64_t)c->mult, count << c->shift) + c->out_zp,
			  c->act_min, c->act_max);
}

/* LUT index of an int8 value. */
static inline uint8_t npu_lut_index(int8_t x)
{
	return (uint8_t)((int)x + 128);
}

#endif /* NPU_ARITH_H */
