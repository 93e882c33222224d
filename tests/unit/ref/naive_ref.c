// SPDX-License-Identifier: MIT
/*
 * Naive reference executor (see naive_ref.h). Written for obviousness, not
 * speed: one accumulator per output element, every address computed from
 * the formula in npu_isa.h, every memory access bounds-checked.
 */
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"

/* Bounds-checked memory model: any bad access clears ok. */
struct mem {
	uint8_t *p;
	uint64_t size;
	int ok;
};

static int8_t rd8(struct mem *m, uint64_t addr)
{
	if (addr >= m->size) {
		m->ok = 0;
		return 0;
	}
	return (int8_t)m->p[addr];
}

static uint32_t rd32(struct mem *m, uint64_t addr)
{
	uint32_t v = 0;

	for (int i = 3; i >= 0; i--)
		v = v << 8 | (uint8_t)rd8(m, addr + (uint64_t)i);
	return v;
}

/* Output staging: (address, value) pairs written only after all reads. */
struct outbuf {
	uint64_t *addr;
	int8_t *val;
	size_t n, cap;
	int ok;
};

static void out_init(struct outbuf *o, size_t cap)
{
	o->n = 0;
	o->cap = cap ? cap : 1;
	o->addr = malloc(o->cap * sizeof(*o->addr));
	o->val = malloc(o->cap);
	o->ok = o->addr && o->val;
}

static void out_put(struct outbuf *o, uint64_t addr, int8_t v)
{
	if (!o->ok || o->n == o->cap) {
		o->ok = 0;
		return;
	}
	o->addr[o->n] = addr;
	o->val[o->n] = v;
	o->n++;
}

/* Commits the staged outputs if every read and write is in range. */
static int out_commit(struct outbuf *o, struct mem *m)
{
	int ret = -1;

	if (o->ok && m->ok) {
		size_t i;

		for (i = 0; i < o->n; i++)
			if (o->addr[i] >= m->size)
				break;
		if (i == o->n) {
			for (i = 0; i < o->n; i++)
				m->p[o->addr[i]] = (uint8_t)o->val[i];
			ret = 0;
		}
	}
	free(o->addr);
	free(o->val);
	return ret;
}

/* ------------------------------------------------------------------ */
/* Arithmetic, from the prose of npu_arith.h                           */
/* ------------------------------------------------------------------ */

/* Floor division by a positive divisor, from C's truncating division. */
static int64_t floor_div(int64_t a, int64_t d)
{
	int64_t q = a / d;

	if (a % d != 0 && a < 0)
		q -= 1;
	return q;
}

int64_t ref_rescale(int64_t x, int64_t mult, unsigned int shift)
{
	int64_t pow = (int64_t)1 << shift;
	int64_t half = pow / 2;

	/* |x| < 2^32 and mult < 2^31 for every caller: x * mult + half fits. */
	return floor_div(x * mult + half, pow);
}

int64_t ref_div_round(int64_t a, int64_t d)
{
	int64_t mag = a < 0 ? -a : a;
	int64_t q = mag / d, r = mag % d;

	if (2 * r >= d)	/* at or beyond the half: away from zero */
		q += 1;
	return a < 0 ? -q : q;
}

static int8_t clamp8(int64_t v, int8_t lo, int8_t hi)
{
	if (v < lo)
		return lo;
	if (v > hi)
		return hi;
	return (int8_t)v;
}

static int64_t clamp32(int64_t v)
{
	if (v > 2147483647)
		return 2147483647;
	if (v < -2147483648LL)
		return -2147483648LL;
	return v;
}

/* Two's complement reduction modulo 2^32 of an exact int64 sum. */
static int32_t wrap32(int64_t v)
{
	int64_t m = v % 4294967296LL;

	if (m < 0)
		m += 4294967296LL;
	if (m >= 2147483648LL)
		m -= 4294967296LL;
	return (int32_t)m;
}

int8_t ref_requant(int32_t acc, uint32_t raw_mult, uint32_t raw_shift, int8_t out_zp,
		   int8_t act_min, int8_t act_max)
{
	/* The qparam spec: bit 31 of mult is ignored, shift clamped to [1, 62]. */
	int64_t mult = (int64_t)(raw_mult % 2147483648u);
	unsigned int shift = raw_shift;

	if (shift < NPU_SHIFT_MIN)
		shift = NPU_SHIFT_MIN;
	if (shift > NPU_SHIFT_MAX)
		shift = NPU_SHIFT_MAX;
	return clamp8(ref_rescale(acc, mult, shift) + out_zp, act_min, act_max);
}

int8_t ref_eltwise_one(const struct npu_cmd_eltwise *c, int8_t a, int8_t b)
{
	int64_t da = (int64_t)a - c->a_zp;
	int64_t db = (int64_t)b - c->b_zp;
	int64_t r;

	if (c->op == NPU_ELT_MUL) {
		r = da * db;
	} else {
		int64_t sa = clamp32(ref_rescale(da * 1048576, c->a_mult, c->a_shift));
		int64_t sb = clamp32(ref_rescale(db * 1048576, c->b_mult, c->b_shift));

		r = clamp32(c->op == NPU_ELT_ADD ? sa + sb : sa - sb);
	}
	return clamp8(ref_rescale(r, c->out_mult, c->out_shift) + c->out_zp,
		      c->act_min, c->act_max);
}

/* ------------------------------------------------------------------ */
/* MAC engine                                                          */
/* ------------------------------------------------------------------ */

struct qp {
	int32_t bias;
	uint32_t mult, shift;
};

static struct qp read_qp(struct mem *m, uint64_t q_addr, uint64_t idx)
{
	struct qp q;
	uint64_t a = q_addr + 12 * idx;

	q.bias = (int32_t)rd32(m, a);
	q.mult = rd32(m, a + 4);
	q.shift = rd32(m, a + 8);
	return q;
}

static int8_t conv_one(struct mem *m, const struct npu_cmd_conv *c, int64_t oy, int64_t ox,
		       int64_t oc)
{
	int64_t icg = c->in_c / c->groups, ocg = c->out_c / c->groups;
	int64_t g = oc / ocg;
	struct qp q = read_qp(m, c->q_addr, (c->flags & NPU_CONV_F_PER_TENSOR_Q) ? 0 : oc);
	int64_t acc = q.bias;

	for (int64_t ky = 0; ky < c->k_h; ky++) {
		int64_t iy = oy * c->stride_h - c->pad_top + ky * c->dil_h;

		if (iy < 0 || iy >= c->in_h)
			continue;
		for (int64_t kx = 0; kx < c->k_w; kx++) {
			int64_t ix = ox * c->stride_w - c->pad_left + kx * c->dil_w;

			if (ix < 0 || ix >= c->in_w)
				continue;
			for (int64_t ci = 0; ci < icg; ci++) {
				uint64_t xa = c->in_addr + (uint64_t)((iy * c->in_w + ix) *
						c->in_pix_stride + g * icg + ci);
				uint64_t wa = c->w_addr + (uint64_t)(((oc * c->k_h + ky) * c->k_w +
						kx) * icg + ci);
				int64_t x = rd8(m, xa), w = rd8(m, wa);

				acc += (x - c->in_zp) * (w - c->w_zp);
			}
		}
	}
	return ref_requant(wrap32(acc), q.mult, q.shift, c->out_zp, c->act_min, c->act_max);
}

int ref_conv(uint8_t *sram, size_t sram_size, const struct npu_cmd_conv *c)
{
	struct mem m = { sram, sram_size, 1 };
	struct outbuf o;

	if (!c->groups || c->in_c % c->groups || c->out_c % c->groups)
		return -1;
	out_init(&o, (size_t)c->out_h * c->out_w * c->out_c);
	for (int64_t oy = 0; oy < c->out_h && o.ok && m.ok; oy++)
		for (int64_t ox = 0; ox < c->out_w; ox++)
			for (int64_t oc = 0; oc < c->out_c; oc++)
				out_put(&o, c->out_addr + (uint64_t)((oy * c->out_w + ox) *
					c->out_pix_stride + oc), conv_one(&m, c, oy, ox, oc));
	return out_commit(&o, &m);
}

int ref_matmul(uint8_t *sram, size_t sram_size, const struct npu_cmd_matmul *c)
{
	struct mem m = { sram, sram_size, 1 };
	struct outbuf o;

	out_init(&o, (size_t)c->m * c->n);
	for (int64_t i = 0; i < c->m && m.ok; i++) {
		for (int64_t j = 0; j < c->n; j++) {
			struct qp q = read_qp(&m, c->q_addr,
					      (c->flags & NPU_CONV_F_PER_TENSOR_Q) ? 0 : j);
			int64_t acc = q.bias;

			for (int64_t k = 0; k < c->k; k++) {
				int64_t a = rd8(&m, c->a_addr +
						(uint64_t)(i * c->a_row_stride + k));
				int64_t b = rd8(&m, c->b_addr + (uint64_t)(k * c->n + j));

				acc += (a - c->a_zp) * (b - c->b_zp);
			}
			out_put(&o, c->out_addr + (uint64_t)(i * c->out_row_stride + j),
				ref_requant(wrap32(acc), q.mult, q.shift, c->out_zp,
					    c->act_min, c->act_max));
		}
	}
	return out_commit(&o, &m);
}

/* ------------------------------------------------------------------ */
/* VEC engine                                                          */
/* ------------------------------------------------------------------ */

int ref_eltwise(uint8_t *sram, size_t sram_size, const struct npu_cmd_eltwise *c)
{
	struct mem m = { sram, sram_size, 1 };
	struct outbuf o;

	if (c->bcast == NPU_BCAST_CHANNEL && !c->channels)
		return -1;
	out_init(&o, c->count);
	for (uint64_t i = 0; i < c->count && m.ok; i++) {
		uint64_t j = c->bcast == NPU_BCAST_NONE ? i :
			     c->bcast == NPU_BCAST_SCALAR ? 0 : i % c->channels;
		int8_t a = rd8(&m, (uint64_t)c->a_addr + i);
		int8_t b = rd8(&m, (uint64_t)c->b_addr + j);

		out_put(&o, (uint64_t)c->out_addr + i, ref_eltwise_one(c, a, b));
	}
	return out_commit(&o, &m);
}

static int8_t pool_one(struct mem *m, const struct npu_cmd_pool *c, int64_t oy, int64_t ox,
		       int64_t ch)
{
	int64_t acc = 0, valid = 0, count;

	for (int64_t ky = 0; ky < c->k_h; ky++) {
		int64_t iy = oy * c->stride_h - c->pad_top + ky;

		if (iy < 0 || iy >= c->in_h)
			continue;
		for (int64_t kx = 0; kx < c->k_w; kx++) {
			int64_t ix = ox * c->stride_w - c->pad_left + kx;
			int64_t x;

			if (ix < 0 || ix >= c->in_w)
				continue;
			x = rd8(m, c->in_addr + (uint64_t)((iy * c->in_w + ix) * c->c + ch)) -
			    (int64_t)c->in_zp;
			if (c->mode == NPU_POOL_MAX)
				acc = (valid == 0 || x > acc) ? x : acc;
			else
				acc += x;
			valid++;
		}
	}
	if (c->mode == NPU_POOL_MAX)
		count = valid ? 1 : 0;
	else if (c->flags & NPU_POOL_F_COUNT_PAD)
		count = (int64_t)c->k_h * c->k_w;
	else
		count = valid;
	if (valid == 0 || count == 0)	/* empty window: the output zero point */
		return clamp8(c->out_zp, c->act_min, c->act_max);
	return clamp8(ref_div_round(acc * (int64_t)c->mult, count * ((int64_t)1 << c->shift)) +
		      c->out_zp, c->act_min, c->act_max);
}

int ref_pool(uint8_t *sram, size_t sram_size, const struct npu_cmd_pool *c)
{
	struct mem m = { sram, sram_size, 1 };
	struct outbuf o;

	out_init(&o, (size_t)c->out_h * c->out_w * c->c);
	for (int64_t oy = 0; oy < c->out_h && m.ok; oy++)
		for (int64_t ox = 0; ox < c->out_w; ox++)
			for (int64_t ch = 0; ch < c->c; ch++)
				out_put(&o, c->out_addr + (uint64_t)((oy * c->out_w + ox) * c->c +
					ch), pool_one(&m, c, oy, ox, ch));
	return out_commit(&o, &m);
}

int ref_lut(uint8_t *sram, size_t sram_size, const struct npu_cmd_lut *c)
{
	struct mem m = { sram, sram_size, 1 };
	struct outbuf o;

	out_init(&o, c->count);
	for (uint64_t i = 0; i < c->count && m.ok; i++) {
		int64_t idx = (int64_t)rd8(&m, (uint64_t)c->in_addr + i) + 128;

		out_put(&o, (uint64_t)c->out_addr + i,
			rd8(&m, (uint64_t)c->table_addr + (uint64_t)idx));
	}
	return out_commit(&o, &m);
}

/* ------------------------------------------------------------------ */
/* DMA                                                                 */
/* ------------------------------------------------------------------ */

int ref_dma(uint8_t *sram, size_t sram_size, uint8_t *dram, uint64_t dram_va, size_t dram_size,
	    const struct npu_cmd_dma *c)
{
	uint64_t dva = (uint64_t)c->dram_hi << 32 | c->dram_lo;
	int to_dram = (c->flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_DRAM;

	/* Range check of every row first: nothing is copied on a bad command. */
	for (uint64_t i2 = 0; i2 < c->count2; i2++) {
		for (uint64_t i1 = 0; i1 < c->count1; i1++) {
			uint64_t d = dva + i2 * c->dram_stride2 + i1 * c->dram_stride1;
			uint64_t s = (uint64_t)c->sram + i2 * c->sram_stride2 +
				     i1 * c->sram_stride1;

			if (d < dram_va || d - dram_va + c->inner_bytes > dram_size ||
			    s + c->inner_bytes > sram_size)
				return -1;
		}
	}
	for (uint64_t i2 = 0; i2 < c->count2; i2++) {
		for (uint64_t i1 = 0; i1 < c->count1; i1++) {
			uint64_t d = dva - dram_va + i2 * c->dram_stride2 + i1 * c->dram_stride1;
			uint64_t s = (uint64_t)c->sram + i2 * c->sram_stride2 +
				     i1 * c->sram_stride1;

			for (uint64_t b = 0; b < c->inner_bytes; b++) {
				if (to_dram)
					dram[d + b] = sram[s + b];
				else
					sram[s + b] = dram[d + b];
			}
		}
	}
	return 0;
}

static int zmask_decode(const uint8_t *src, uint32_t src_bytes, uint8_t *out,
			uint32_t out_bytes)
{
	uint64_t s = 0;

	for (uint64_t p = 0; p < out_bytes; p += 8) {
		unsigned int mask;

		if (s >= src_bytes)
			return -1;
		mask = src[s++];
		for (unsigned int i = 0; i < 8; i++) {
			if (!(mask & (1u << i))) {
				if (p + i < out_bytes)
					out[p + i] = 0;
				continue;
			}
			if (p + i >= out_bytes || s >= src_bytes)
				return -1;
			out[p + i] = src[s++];
		}
	}
	return s == src_bytes ? 0 : -1;
}

int ref_decompress(uint32_t format, const uint8_t *src, uint32_t src_bytes, uint8_t *out,
		   uint32_t out_bytes)
{
	if (format == NPU_COMPRESS_ZMASK)
		return zmask_decode(src, src_bytes, out, out_bytes);
	if (format != NPU_COMPRESS_PALETTE4)
		return -1;
	if ((uint64_t)src_bytes != 16 + ((uint64_t)out_bytes + 1) / 2)
		return -1;
	for (uint64_t i = 0; i < out_bytes; i++) {
		uint8_t byte = src[16 + i / 2];

		out[i] = src[(i % 2) ? byte >> 4 : byte & 0xf];
	}
	return 0;
}
