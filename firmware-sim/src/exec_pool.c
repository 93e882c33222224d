// SPDX-License-Identifier: MIT
/*
 * VEC engine: POOL (max / average over a window of a packed NHWC tile).
 *
 * Each output pixel accumulates its valid taps (inside the input) channel
 * by channel into int32 lanes: raw int8 sums (at most NPU_POOL_MAX_WINDOW
 * taps of |x| <= 128, so < 2^24) or raw maxima. The zero point is removed
 * afterwards: sum(x - zp) = sum(x) - n*zp and max(x - zp) = max(x) - zp,
 * and npu_pool_out() (npu_arith.h) does all the rounding.
 *
 * If the output overlaps the input, the input is first copied to scratch,
 * so every output reads the original input.
 */
#include <string.h>

#include "internal.h"
#include "npu_arith.h"

#define POOL_COST_MAX	(1ull << 62)
#define POOL_CHUNK	256u	/* channels accumulated at a time (stack lanes) */

static uint64_t pool_sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	if (__builtin_mul_overflow(a, b, &r) || r > POOL_COST_MAX)
		return POOL_COST_MAX;
	return r;
}

#define POOL_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_pool, field)

static int pool_bad_field(const struct npu_cmd_pool *cmd)
{
	POOL_BAD_IF(cmd->mode > NPU_POOL_AVG, mode);
	POOL_BAD_IF(cmd->flags & ~NPU_POOL_F_COUNT_PAD, flags);
	POOL_BAD_IF(cmd->reserved0[0] || cmd->reserved0[1], reserved0);
	POOL_BAD_IF(cmd->reserved1, reserved1);
	POOL_BAD_IF(!cmd->in_h, in_h);
	POOL_BAD_IF(!cmd->in_w, in_w);
	POOL_BAD_IF(!cmd->c, c);
	POOL_BAD_IF(!cmd->out_h, out_h);
	POOL_BAD_IF(!cmd->out_w, out_w);
	POOL_BAD_IF(!cmd->k_h, k_h);
	POOL_BAD_IF(!cmd->k_w, k_w);
	POOL_BAD_IF(!cmd->stride_h, stride_h);
	POOL_BAD_IF(!cmd->stride_w, stride_w);
	POOL_BAD_IF((uint32_t)cmd->k_h * cmd->k_w > NPU_POOL_MAX_WINDOW, k_h);
	POOL_BAD_IF(cmd->mult >> 31, mult);
	POOL_BAD_IF(cmd->shift > NPU_POOL_SHIFT_MAX, shift);
	POOL_BAD_IF(cmd->act_min > cmd->act_max, act_min);
	return NPUSIM_FIELDS_OK;
}

int pool_check(const struct npusim_core *c, const struct npu_cmd_pool *cmd, struct cmd_info *info)
{
	uint64_t in_len = (uint64_t)cmd->in_h * cmd->in_w * cmd->c;
	uint64_t out_pix = (uint64_t)cmd->out_h * cmd->out_w;
	uint64_t lanes = c->cfg.vec_lanes ? c->cfg.vec_lanes : 1;
	uint64_t cyc;
	int f;

	info->engine = NPU_ENGINE_VEC;
	f = pool_bad_field(cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}
	/* The whole input tile counts as read, even rows no window reaches. */
	f = cmd_operands_check(c, info, &(const struct sram_operand){ cmd->in_addr, in_len }, 1,
			       (struct sram_operand){ cmd->out_addr, out_pix * cmd->c });
	if (f)
		return f;
	cyc = pool_sat_mul(out_pix * ((cmd->c + lanes - 1) / lanes),
			   (uint64_t)cmd->k_h * cmd->k_w);
	cyc += c->cfg.vec_pipeline_cycles;	/* cyc <= 2^62: no wrap */
	info->cycles = cyc < POOL_COST_MAX ? cyc : POOL_COST_MAX;
	return NPU_FAULT_NONE;
}

/*
 * Valid input coordinates [*first, *first + n) of a window of k taps
 * starting at input coordinate `start`; returns n (0: all taps outside).
 */
static uint32_t pool_taps(int64_t start, uint32_t k, uint32_t in, uint32_t *first)
{
	int64_t lo = start < 0 ? 0 : start, hi = start + k;

	if (hi > in)
		hi = in;
	if (hi <= lo) {
		*first = 0;
		return 0;
	}
	*first = (uint32_t)lo;
	return (uint32_t)(hi - lo);
}

/* One output pixel's window: valid input rows [y0, y1), columns [x0, x1). */
struct pool_win {
	uint32_t y0, y1, x0, x1;
	int64_t nvalid;
};

static void pool_sum(const int8_t *in, const struct pool_win *w, uint32_t in_w, uint32_t c,
		     int32_t *acc, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		acc[j] = 0;
	for (uint32_t y = w->y0; y < w->y1; y++)
		for (uint32_t x = w->x0; x < w->x1; x++) {
			const int8_t *p = in + ((size_t)y * in_w + x) * c;

			for (uint32_t j = 0; j < n; j++)
				acc[j] += p[j];
		}
}

static void pool_max(const int8_t *in, const struct pool_win *w, uint32_t in_w, uint32_t c,
		     int32_t *acc, uint32_t n)
{
	for (uint32_t j = 0; j < n; j++)
		acc[j] = INT8_MIN;
	for (uint32_t y = w->y0; y < w->y1; y++)
		for (uint32_t x = w->x0; x < w->x1; x++) {
			const int8_t *p = in + ((size_t)y * in_w + x) * c;

			for (uint32_t j = 0; j < n; j++)
				acc[j] = p[j] > acc[j] ? p[j] : acc[j];
		}
}

/* All channels of one output pixel, POOL_CHUNK channels at a time. */
static void pool_pixel(const struct npu_cmd_pool *cmd, const int8_t *in,
		       const struct pool_win *w, int8_t *out)
{
	int64_t count = w->nvalid ? 1 : 0;
	int64_t zp_total = cmd->in_zp;
	int32_t acc[POOL_CHUNK];

	if (cmd->mode == NPU_POOL_AVG) {
		count = w->nvalid;
		if (cmd->flags & NPU_POOL_F_COUNT_PAD)
			count = (int64_t)cmd->k_h * cmd->k_w;
		zp_total = w->nvalid * cmd->in_zp;
	}
	for (uint32_t c0 = 0; c0 < cmd->c; c0 += POOL_CHUNK) {
		uint32_t n = cmd->c - c0 < POOL_CHUNK ? cmd->c - c0 : POOL_CHUNK;

		if (!w->nvalid) {
			for (uint32_t j = 0; j < n; j++)
				out[c0 + j] = npu_pool_out(cmd, 0, count);
			continue;
		}
		if (cmd->mode == NPU_POOL_AVG)
			pool_sum(in + c0, w, cmd->in_w, cmd->c, acc, n);
		else
			pool_max(in + c0, w, cmd->in_w, cmd->c, acc, n);
		for (uint32_t j = 0; j < n; j++)
			out[c0 + j] = npu_pool_out(cmd, acc[j] - zp_total, count);
	}
}

void pool_exec(struct npusim_core *c, const struct npu_cmd_pool *cmd)
{
	const int8_t *in = (const int8_t *)c->sram + cmd->in_addr;
	int8_t *out = (int8_t *)c->sram + cmd->out_addr;
	size_t in_len = (size_t)cmd->in_h * cmd->in_w * cmd->c;
	size_t out_len = (size_t)cmd->out_h * cmd->out_w * cmd->c;

	if (cmd->in_addr < cmd->out_addr + out_len && cmd->out_addr < cmd->in_addr + in_len) {
		int8_t *copy = core_scratch(c, in_len);

		/* Without memory (host OOM only) the output may see overwritten input. */
		if (copy) {
			memcpy(copy, in, in_len);
			in = copy;
		}
	}
	for (uint32_t oy = 0; oy < cmd->out_h; oy++) {
		struct pool_win w;
		uint32_t ny = pool_taps((int64_t)oy * cmd->stride_h - cmd->pad_top, cmd->k_h,
					cmd->in_h, &w.y0);

		w.y1 = w.y0 + ny;
		for (uint32_t ox = 0; ox < cmd->out_w; ox++) {
			uint32_t nx = pool_taps((int64_t)ox * cmd->stride_w - cmd->pad_left,
						cmd->k_w, cmd->in_w, &w.x0);

			w.x1 = w.x0 + nx;
			w.nvalid = (int64_t)ny * nx;
			pool_pixel(cmd, in, &w, out + ((size_t)oy * cmd->out_w + ox) * cmd->c);
		}
	}
}
