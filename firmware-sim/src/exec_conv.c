// SPDX-License-Identifier: MIT
/*
 * CONV: validation, cost model and execution.
 *
 * Execution unpacks weights (zero-point corrected: int16 rows padded to
 * whole vectors, or int32 K-major for short K) and qparams into scratch,
 * then walks the output pixels in blocks: im2col of the block (a padding
 * tap becomes 0, i.e. in_zp - in_zp, so it contributes nothing as the spec
 * requires), one GEMM per group (mac_kernels.h), requantisation.
 * Convolutions with one input channel per group (depthwise) skip im2col
 * and vectorise across channels instead.
 *
 * Overlapping output and input is allowed: the result is as if every input
 * byte were read before any output byte is written (the input is copied
 * to scratch first when the spans overlap; weights and qparams always are).
 */
#include <string.h>

#include "internal.h"
#include "mac_kernels.h"
#include "npu_arith.h"

/* Byte lengths of the SRAM ranges a CONV touches (valid fields only). */
struct conv_spans {
	uint64_t in_len, w_len, q_len, out_len;
};

#define CONV_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_conv, field)

static int conv_bad_field(const struct npu_cmd_conv *c)
{
	CONV_BAD_IF(c->flags & ~NPU_CONV_F_PER_TENSOR_Q, flags);
	CONV_BAD_IF(c->reserved0, reserved0);
	CONV_BAD_IF(c->reserved1[0] || c->reserved1[1] || c->reserved1[2], reserved1);
	CONV_BAD_IF(!c->in_h, in_h);
	CONV_BAD_IF(!c->in_w, in_w);
	CONV_BAD_IF(!c->in_c, in_c);
	CONV_BAD_IF(!c->out_h, out_h);
	CONV_BAD_IF(!c->out_w, out_w);
	CONV_BAD_IF(!c->out_c, out_c);
	CONV_BAD_IF(c->in_pix_stride < c->in_c, in_pix_stride);
	CONV_BAD_IF(c->out_pix_stride < c->out_c, out_pix_stride);
	CONV_BAD_IF(!c->k_h || c->k_h > NPU_CONV_MAX_K, k_h);
	CONV_BAD_IF(!c->k_w || c->k_w > NPU_CONV_MAX_K, k_w);
	CONV_BAD_IF(!c->stride_h || c->stride_h > NPU_MAX_STRIDE, stride_h);
	CONV_BAD_IF(!c->stride_w || c->stride_w > NPU_MAX_STRIDE, stride_w);
	CONV_BAD_IF(!c->dil_h || c->dil_h > NPU_MAX_DILATION, dil_h);
	CONV_BAD_IF(!c->dil_w || c->dil_w > NPU_MAX_DILATION, dil_w);
	CONV_BAD_IF(!c->groups || c->in_c % c->groups || c->out_c % c->groups, groups);
	CONV_BAD_IF(c->act_min > c->act_max, act_min);
	return NPUSIM_FIELDS_OK;
}

static void conv_span_lens(const struct npu_cmd_conv *c, struct conv_spans *s)
{
	uint64_t icg = c->in_c / c->groups;

	s->in_len = ((uint64_t)c->in_h * c->in_w - 1) * c->in_pix_stride + c->in_c;
	s->w_len = (uint64_t)c->out_c * c->k_h * c->k_w * icg;
	s->q_len = (uint64_t)sizeof(struct npu_qparam) *
		   (c->flags & NPU_CONV_F_PER_TENSOR_Q ? 1 : c->out_c);
	s->out_len = ((uint64_t)c->out_h * c->out_w - 1) * c->out_pix_stride + c->out_c;
}

/* Busy cycles of the MAC array (cycle model in the architecture document). */
static uint64_t conv_cycles(const struct npusim_config *cfg, const struct npu_cmd_conv *c)
{
	uint64_t mo = cfg->mac_oc ? cfg->mac_oc : 1, mi = cfg->mac_ic ? cfg->mac_ic : 1;
	uint64_t g = c->groups, icg = c->in_c / g, ocg = c->out_c / g;
	uint64_t hw = (uint64_t)c->out_h * c->out_w, kk = (uint64_t)c->k_h * c->k_w;
	uint64_t work, fill;

	if (g > 1 && icg == 1)
		work = mac_mul_sat(mac_mul_sat(mac_div_up(g, mi) * ocg, mac_div_up(hw, mo)), kk);
	else
		work = mac_mul_sat(mac_mul_sat(g * mac_div_up(ocg, mo), mac_div_up(icg, mi)),
				   hw * kk);
	fill = mac_div_up(hw * c->out_c, mo);
	return mac_add_sat(work > fill ? work : fill, cfg->mac_pipeline_cycles);
}

int conv_check(const struct npusim_core *c, const struct npu_cmd_conv *cmd, struct cmd_info *info)
{
	struct conv_spans s;
	int f;

	memset(info, 0, sizeof(*info));
	info->engine = NPU_ENGINE_MAC;
	f = conv_bad_field(cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}
	conv_span_lens(cmd, &s);
	f = cmd_operands_check(c, info, (const struct sram_operand[]){
				       { cmd->in_addr, s.in_len },
				       { cmd->w_addr, s.w_len },
				       { cmd->q_addr, s.q_len } }, 3,
			       (struct sram_operand){ cmd->out_addr, s.out_len });
	if (f)
		return f;
	info->macs = mac_mul_sat((uint64_t)cmd->out_h * cmd->out_w * cmd->out_c,
				 (uint64_t)cmd->k_h * cmd->k_w * (cmd->in_c / cmd->groups));
	info->cycles = conv_cycles(&c->cfg, cmd);
	return NPU_FAULT_NONE;
}

/* Everything the execution loops need, derived once. */
struct conv_run {
	const struct npu_cmd_conv *cmd;
	const int8_t *in;	/* input tile: SRAM or its snapshot */
	int8_t *out;
	unsigned int icg, ocg, kk;
	size_t k, kp;		/* GEMM depth, padded row length */
	int wide;		/* short K: weights K-major int32, mac_gemm_wide_s16 */
	struct mac_rq rq;
};

/* First input coordinate of an output coordinate (may be negative). */
static inline int64_t conv_origin(unsigned int o, unsigned int stride, unsigned int pad)
{
	return (int64_t)o * stride - pad;
}

/* Receptive field of output pixel (oy, ox), group grp, as kp int16 values. */
static void im2col_pixel(const struct conv_run *r, unsigned int grp, unsigned int oy,
			 unsigned int ox, int16_t *dst)
{
	const struct npu_cmd_conv *c = r->cmd;
	int64_t iy0 = conv_origin(oy, c->stride_h, c->pad_top);
	int64_t ix0 = conv_origin(ox, c->stride_w, c->pad_left);
	size_t row = (size_t)c->k_w * r->icg, pix = c->in_pix_stride;
	int contig = c->dil_w == 1 && pix == r->icg && ix0 >= 0 && ix0 + c->k_w <= c->in_w;

	for (unsigned int ky = 0; ky < c->k_h; ky++, dst += row) {
		int64_t iy = iy0 + (int64_t)ky * c->dil_h;
		const int8_t *src;

		if (iy < 0 || iy >= c->in_h) {
			memset(dst, 0, row * sizeof(*dst));
			continue;
		}
		src = r->in + (size_t)iy * c->in_w * pix + (size_t)grp * r->icg;
		if (contig) {
			mac_widen_s8(dst, src + (size_t)ix0 * pix, row, c->in_zp);
			continue;
		}
		for (unsigned int kx = 0; kx < c->k_w; kx++) {
			int64_t ix = ix0 + (int64_t)kx * c->dil_w;
			int16_t *d = dst + (size_t)kx * r->icg;

			if (ix < 0 || ix >= c->in_w)
				memset(d, 0, r->icg * sizeof(*d));
			else
				mac_widen_s8(d, src + (size_t)ix * pix, r->icg, c->in_zp);
		}
	}
	memset(dst, 0, (r->kp - r->k) * sizeof(*dst));
}

/*
 * GEMM weights, w - w_zp: w16[oc][kp] zero padded for the dot-product
 * kernel, or w32[t][oc] (K-major) for the wide one.
 */
static void conv_unpack_weights(const struct npusim_core *core, const struct conv_run *r,
				void *dst)
{
	const struct npu_cmd_conv *c = r->cmd;
	const int8_t *w = (const int8_t *)core->sram + c->w_addr;
	int16_t *w16 = dst;
	int32_t *w32 = dst;

	for (size_t oc = 0; oc < c->out_c; oc++) {
		if (r->wide) {
			for (size_t t = 0; t < r->k; t++)
				w32[t * c->out_c + oc] = w[oc * r->k + t] - c->w_zp;
			continue;
		}
		mac_widen_s8(w16 + oc * r->kp, w + oc * r->k, r->k, c->w_zp);
		memset(w16 + oc * r->kp + r->k, 0, (r->kp - r->k) * sizeof(*w16));
	}
}

/* General convolution: blocks of pb output pixels, im2col + GEMM per group. */
static void conv_gemm(const struct conv_run *r, const void *w, int16_t *col,
		      uint32_t *acc, size_t pb)
{
	const struct npu_cmd_conv *c = r->cmd;
	size_t npix = (size_t)c->out_h * c->out_w;

	for (size_t p0 = 0; p0 < npix; p0 += pb) {
		unsigned int n = (unsigned int)(npix - p0 < pb ? npix - p0 : pb);

		for (unsigned int g = 0; g < c->groups; g++) {
			size_t oc0 = (size_t)g * r->ocg;

			for (unsigned int i = 0; i < n; i++)
				im2col_pixel(r, g, (unsigned int)((p0 + i) / c->out_w),
					     (unsigned int)((p0 + i) % c->out_w), col + i * r->kp);
			if (r->wide)
				mac_gemm_wide_s16(col, r->kp, (const int32_t *)w + oc0,
						  c->out_c, acc, r->ocg, n, r->ocg, r->k);
			else
				mac_gemm_s16(col, r->kp, (const int16_t *)w + oc0 * r->kp,
					     r->kp, acc, r->ocg, n, r->ocg, r->kp);
			for (unsigned int i = 0; i < n; i++)
				mac_requant(r->out + (p0 + i) * c->out_pix_stride + oc0,
					    acc + (size_t)i * r->ocg, &r->rq, oc0, r->ocg,
					    c->out_zp, c->act_min, c->act_max);
		}
	}
}

/* wt[tap][oc] = w[oc][tap] - w_zp: taps outer so channels are contiguous. */
static void conv_unpack_dw_weights(const struct npusim_core *core, const struct conv_run *r,
				   int16_t *wt)
{
	const struct npu_cmd_conv *c = r->cmd;
	const int8_t *w = (const int8_t *)core->sram + c->w_addr;

	for (size_t oc = 0; oc < c->out_c; oc++)
		for (size_t t = 0; t < r->kk; t++)
			wt[t * c->out_c + oc] = (int16_t)(w[oc * r->kk + t] - c->w_zp);
}

/* Valid taps of output pixel (oy, ox): input pixel and weight row pointers. */
static unsigned int dw_taps(const struct conv_run *r, const int16_t *wt, unsigned int oy,
			    unsigned int ox, const int8_t **xs, const int16_t **ws)
{
	const struct npu_cmd_conv *c = r->cmd;
	int64_t iy0 = conv_origin(oy, c->stride_h, c->pad_top);
	int64_t ix0 = conv_origin(ox, c->stride_w, c->pad_left);
	unsigned int n = 0;

	for (unsigned int ky = 0; ky < c->k_h; ky++) {
		int64_t iy = iy0 + (int64_t)ky * c->dil_h;

		if (iy < 0 || iy >= c->in_h)
			continue;
		for (unsigned int kx = 0; kx < c->k_w; kx++) {
			int64_t ix = ix0 + (int64_t)kx * c->dil_w;

			if (ix < 0 || ix >= c->in_w)
				continue;
			xs[n] = r->in + ((size_t)iy * c->in_w + (size_t)ix) * c->in_pix_stride;
			ws[n] = wt + ((size_t)ky * c->k_w + kx) * c->out_c;
			n++;
		}
	}
	return n;
}

/* One input channel per group: per output pixel, vectorised across channels. */
static void conv_dw(const struct conv_run *r, const int16_t *wt, int32_t *acc,
		    const int8_t **xs, const int16_t **ws)
{
	const struct npu_cmd_conv *c = r->cmd;

	for (unsigned int oy = 0; oy < c->out_h; oy++) {
		for (unsigned int ox = 0; ox < c->out_w; ox++) {
			unsigned int n = dw_taps(r, wt, oy, ox, xs, ws);
			size_t p = (size_t)oy * c->out_w + ox;

			if (r->ocg == 1)
				mac_dw_pixel(acc, xs, ws, n, c->in_zp, c->out_c);
			else
				mac_dw_pixel_mult(acc, xs, ws, n, c->in_zp, c->groups, r->ocg);
			/* int32 and uint32 may alias (C11 6.5p7) */
			mac_requant(r->out + p * c->out_pix_stride, (const uint32_t *)acc, &r->rq,
				    0, c->out_c, c->out_zp, c->act_min, c->act_max);
		}
	}
}

/*
 * Last resort when scratch cannot be allocated: one output at a time,
 * straight from SRAM (correct unless the output overlaps the inputs).
 */
static void conv_direct(struct npusim_core *core, const struct npu_cmd_conv *c)
{
	unsigned int icg = c->in_c / c->groups, ocg = c->out_c / c->groups;
	const int8_t *in = (const int8_t *)core->sram + c->in_addr;
	const int8_t *w = (const int8_t *)core->sram + c->w_addr;
	size_t kk = (size_t)c->k_h * c->k_w;

	for (unsigned int oy = 0; oy < c->out_h; oy++) {
		for (unsigned int ox = 0; ox < c->out_w; ox++) {
			int8_t *o = (int8_t *)core->sram + c->out_addr +
				    ((size_t)oy * c->out_w + ox) * c->out_pix_stride;

			for (unsigned int oc = 0; oc < c->out_c; oc++) {
				struct npu_qparam q;
				uint32_t acc = 0;

				for (size_t t = 0; t < kk; t++) {
					int64_t iy = conv_origin(oy, c->stride_h, c->pad_top) +
						     (int64_t)(t / c->k_w) * c->dil_h;
					int64_t ix = conv_origin(ox, c->stride_w, c->pad_left) +
						     (int64_t)(t % c->k_w) * c->dil_w;
					const int8_t *x, *wr;

					if (iy < 0 || iy >= c->in_h || ix < 0 || ix >= c->in_w)
						continue;
					x = in + ((size_t)iy * c->in_w + (size_t)ix) *
						 c->in_pix_stride + (size_t)(oc / ocg) * icg;
					wr = w + ((size_t)oc * kk + t) * icg;
					for (unsigned int ci = 0; ci < icg; ci++)
						acc += (uint32_t)((x[ci] - c->in_zp) *
								  (wr[ci] - c->w_zp));
				}
				mac_read_qparam(core->sram, c->q_addr,
						c->flags & NPU_CONV_F_PER_TENSOR_Q ? 0 : oc, &q);
				o[oc] = npu_requant(npu_wrap_add32((int32_t)acc, q.bias), &q,
						    c->out_zp, c->act_min, c->act_max);
			}
		}
	}
}

/* Pixels per GEMM block: im2col rows and accumulators stay cache sized. */
static size_t conv_block(const struct conv_run *r)
{
	size_t npix = (size_t)r->cmd->out_h * r->cmd->out_w;
	size_t pb = MAC_BLOCK_BYTES / (r->kp * sizeof(int16_t));
	size_t pa = MAC_BLOCK_BYTES / ((size_t)r->ocg * sizeof(uint32_t));

	pb = pa < pb ? pa : pb;
	pb = pb < 4 ? 4 : pb & ~(size_t)3;
	return pb < npix ? pb : npix;
}

/* Scratch layout of one CONV execution (offsets into one allocation). */
struct conv_mem {
	size_t total, rq, w, acc, in;
	size_t col;		/* GEMM: im2col rows */
	size_t taps_x, taps_w;	/* depthwise: tap pointers of one pixel */
	size_t pb;		/* GEMM pixels per block (0: depthwise) */
};

static void conv_plan(const struct conv_run *r, uint64_t in_copy, struct conv_mem *m)
{
	const struct npu_cmd_conv *c = r->cmd;
	uint64_t nc = c->out_c;

	memset(m, 0, sizeof(*m));
	m->rq = mac_carve(&m->total, mac_rq_bytes(nc));
	m->in = mac_carve(&m->total, in_copy);
	if (c->in_c == c->groups) {
		m->w = mac_carve(&m->total, (uint64_t)r->kk * nc * sizeof(int16_t));
		m->acc = mac_carve(&m->total, nc * sizeof(int32_t));
		m->taps_x = mac_carve(&m->total, (uint64_t)r->kk * sizeof(const int8_t *));
		m->taps_w = mac_carve(&m->total, (uint64_t)r->kk * sizeof(const int16_t *));
	} else {
		m->pb = conv_block(r);
		m->w = mac_carve(&m->total, r->wide ? nc * r->k * sizeof(int32_t) :
						      nc * r->kp * sizeof(int16_t));
		m->acc = mac_carve(&m->total, (uint64_t)m->pb * r->ocg * sizeof(uint32_t));
		m->col = mac_carve(&m->total, (uint64_t)m->pb * r->kp * sizeof(int16_t));
	}
}

void conv_exec(struct npusim_core *core, const struct npu_cmd_conv *cmd)
{
	struct conv_spans s;
	struct conv_run r;
	struct conv_mem m;
	uint64_t in_copy = 0;
	uint8_t *mem;

	conv_span_lens(cmd, &s);
	r.cmd = cmd;
	r.in = (const int8_t *)core->sram + cmd->in_addr;
	r.out = (int8_t *)core->sram + cmd->out_addr;
	r.icg = cmd->in_c / cmd->groups;
	r.ocg = cmd->out_c / cmd->groups;
	r.kk = (unsigned int)cmd->k_h * cmd->k_w;
	r.k = (size_t)r.kk * r.icg;
	r.kp = mac_pad_k(r.k);
	r.wide = r.k < MAC_WIDE_MAX_K;
	if (mac_spans_overlap(cmd->in_addr, s.in_len, cmd->out_addr, s.out_len))
		in_copy = s.in_len;
	conv_plan(&r, in_copy, &m);
	mem = m.total == SIZE_MAX ? NULL : core_scratch(core, m.total);
	if (!mem) {
		conv_direct(core, cmd);
		return;
	}
	mac_load_rq(&r.rq, mem + m.rq, core->sram, cmd->q_addr,
		    cmd->flags & NPU_CONV_F_PER_TENSOR_Q, cmd->out_c);
	if (in_copy) {
		memcpy(mem + m.in, r.in, (size_t)in_copy);
		r.in = (const int8_t *)(mem + m.in);
	}
	if (!m.pb) {
		conv_unpack_dw_weights(core, &r, (int16_t *)(mem + m.w));
		conv_dw(&r, (int16_t *)(mem + m.w), (int32_t *)(mem + m.acc),
			(const int8_t **)(mem + m.taps_x), (const int16_t **)(mem + m.taps_w));
	} else {
		conv_unpack_weights(core, &r, mem + m.w);
		conv_gemm(&r, mem + m.w, (int16_t *)(mem + m.col),
			  (uint32_t *)(mem + m.acc), m.pb);
	}
}
