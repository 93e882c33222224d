// SPDX-License-Identifier: MIT
/*
 * Command emitter with automatic WAITs (lower.h).
 *
 * It keeps the same per-engine history the device's hazard check keeps
 * (firmware-sim/src/timeline.c, Documentation/npu-architecture.rst
 * "Hazard rule"): for each engine the count of issued commands, the
 * highest one a WAIT has ordered, and the SRAM spans of the last
 * NPU_QUEUE_DEPTH. Before an engine command is appended, every command of
 * another engine that the device would compare it with and that
 * conflicts (write/read, read/write, write/write overlap) must be
 * ordered: the emitter appends WAIT engine, k with k = the number of that
 * engine's commands issued after the newest conflicting one. This is the
 * weakest WAIT that satisfies the rule, so the stream keeps all the
 * overlap the program order allows.
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

void em_init(struct emit *e)
{
	memset(e, 0, sizeof(*e));
}

void em_free(struct emit *e)
{
	free(e->w);
	free(e->rel);
	memset(e, 0, sizeof(*e));
}

void em_reset(struct emit *e)
{
	e->n = 0;
	e->n_rel = 0;
	memset(e->eng, 0, sizeof(e->eng));
	e->sram_hi = 0;
	e->n_waits = 0;
}

uint32_t em_bytes(const struct emit *e)
{
	return e->n * 4;
}

static void put(struct emit *e, const void *cmd, size_t bytes)
{
	size_t words = bytes / 4;

	if (e->oom)
		return;
	if (e->n + words > e->cap) {
		uint32_t cap = e->cap ? e->cap : 1024;
		uint32_t *p;

		while (cap < e->n + words)
			cap *= 2;
		p = realloc(e->w, (size_t)cap * 4);
		if (!p) {
			e->oom = 1;
			return;
		}
		e->w = p;
		e->cap = cap;
	}
	memcpy(e->w + e->n, cmd, bytes);
	e->n += (uint32_t)words;
}

void em_begin(struct emit *e)
{
	struct npu_cmd_begin b = { NPU_CMD_HDR(NPU_OP_BEGIN, struct npu_cmd_begin),
				   NPU_ISA_VERSION, 0, 0 };

	put(e, &b, sizeof(b));
}

void em_end(struct emit *e)
{
	struct npu_cmd_end c = { NPU_CMD_HDR(NPU_OP_END, struct npu_cmd_end) };

	put(e, &c, sizeof(c));
	for (int k = 0; k < 3; k++)
		e->eng[k].retired = e->eng[k].issued;
}

void em_wait(struct emit *e, uint32_t engine_mask, uint32_t max_outstanding)
{
	struct npu_cmd_wait c = { NPU_CMD_HDR(NPU_OP_WAIT, struct npu_cmd_wait), engine_mask,
				  max_outstanding };

	put(e, &c, sizeof(c));
	e->n_waits++;
	for (int k = 0; k < 3; k++) {
		struct em_engine *q = &e->eng[k];

		if ((engine_mask & (1u << k)) && q->issued > max_outstanding &&
		    q->issued - max_outstanding > q->retired)
			q->retired = q->issued - max_outstanding;
	}
}

static int overlap(const struct em_span *a, const struct em_span *b)
{
	return a->start < b->end && b->start < a->end && a->start < a->end && b->start < b->end;
}

static int conflicts(const struct em_cmd_hist *x, const struct em_cmd_hist *y)
{
	if (overlap(&x->wr, &y->wr))
		return 1;
	for (unsigned int i = 0; i < y->nrd; i++)
		if (overlap(&x->wr, &y->rd[i]))
			return 1;
	for (unsigned int i = 0; i < x->nrd; i++)
		if (overlap(&x->rd[i], &y->wr))
			return 1;
	return 0;
}

/* Orders conflicting commands of other engines, then records this one. */
static void issue(struct emit *e, enum npu_engine eng, const struct em_cmd_hist *c)
{
	struct em_engine *me = &e->eng[eng];

	for (int k = 0; k < 3; k++) {
		struct em_engine *o = &e->eng[k];
		uint64_t newest = 0;

		if (k == (int)eng)
			continue;
		for (unsigned int i = 0; i < o->count; i++) {
			const struct em_cmd_hist *h = &o->h[(o->head + NPU_QUEUE_DEPTH - 1 - i) %
							   NPU_QUEUE_DEPTH];

			if (h->seq > o->retired && h->seq > newest && conflicts(c, h))
				newest = h->seq;
		}
		if (newest)
			em_wait(e, 1u << k, (uint32_t)(o->issued - newest));
	}
	me->h[me->head] = *c;
	me->h[me->head].seq = ++me->issued;
	me->head = (me->head + 1) % NPU_QUEUE_DEPTH;
	if (me->count < NPU_QUEUE_DEPTH)
		me->count++;
	if (c->wr.end > e->sram_hi)
		e->sram_hi = (uint32_t)c->wr.end;
	for (unsigned int i = 0; i < c->nrd; i++)
		if (c->rd[i].end > e->sram_hi)
			e->sram_hi = (uint32_t)c->rd[i].end;
}

static struct em_span span(uint64_t start, uint64_t len)
{
	struct em_span s = { start, start + len };

	return s;
}

/* Records the relocation of the DRAM address of the command about to be put. */
static void add_reloc(struct emit *e, uint32_t region, uint64_t addend)
{
	if (!e->oom && e->n_rel == e->cap_rel) {
		uint32_t cap = e->cap_rel ? e->cap_rel * 2 : 256;
		struct npub_reloc *p = realloc(e->rel, (size_t)cap * sizeof(*p));

		if (!p)
			e->oom = 1;
		else {
			e->rel = p;
			e->cap_rel = cap;
		}
	}
	if (e->oom)
		return;
	e->rel[e->n_rel].stream = 0;
	e->rel[e->n_rel].offset = em_bytes(e) + 8;
	e->rel[e->n_rel].region = region;
	e->rel[e->n_rel].addend = (uint32_t)addend;
	e->n_rel++;
}

void em_dma(struct emit *e, uint32_t dir, uint32_t region, uint64_t addend, uint32_t sram,
	    uint32_t inner, uint32_t count1, uint32_t count2, uint32_t dstride1,
	    uint32_t dstride2, uint32_t sstride1, uint32_t sstride2)
{
	struct npu_cmd_dma c;
	struct em_cmd_hist h;
	uint64_t len = (uint64_t)(count2 - 1) * sstride2 + (uint64_t)(count1 - 1) * sstride1 +
		       inner;

	memset(&c, 0, sizeof(c));
	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_DMA, struct npu_cmd_dma);
	c.flags = dir;
	c.sram = sram;
	c.inner_bytes = inner;
	c.count1 = count1;
	c.count2 = count2;
	c.dram_stride1 = dstride1;
	c.dram_stride2 = dstride2;
	c.sram_stride1 = sstride1;
	c.sram_stride2 = sstride2;
	if (dir == NPU_DMA_TO_SRAM) {
		h.wr = span(sram, len);
	} else {
		h.rd[0] = span(sram, len);
		h.nrd = 1;
	}
	issue(e, NPU_ENGINE_DMA, &h);
	add_reloc(e, region, addend);
	put(e, &c, sizeof(c));
}

void em_dma_decompress(struct emit *e, uint32_t format, uint32_t region, uint64_t addend,
		       uint32_t src_bytes, uint32_t sram, uint32_t out_bytes)
{
	struct npu_cmd_dma_decompress c;
	struct em_cmd_hist h;

	memset(&c, 0, sizeof(c));
	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_DMA_DECOMPRESS, struct npu_cmd_dma_decompress);
	c.format = format;
	c.src_bytes = src_bytes;
	c.sram = sram;
	c.out_bytes = out_bytes;
	h.wr = span(sram, out_bytes);
	issue(e, NPU_ENGINE_DMA, &h);
	add_reloc(e, region, addend);
	put(e, &c, sizeof(c));
}

void em_conv(struct emit *e, const struct npu_cmd_conv *cmd)
{
	struct npu_cmd_conv c = *cmd;
	struct em_cmd_hist h;
	uint64_t icg = c.in_c / c.groups;

	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_CONV, struct npu_cmd_conv);
	h.rd[0] = span(c.in_addr, ((uint64_t)c.in_h * c.in_w - 1) * c.in_pix_stride + c.in_c);
	h.rd[1] = span(c.w_addr, (uint64_t)c.out_c * c.k_h * c.k_w * icg);
	h.rd[2] = span(c.q_addr, 12ull * ((c.flags & NPU_CONV_F_PER_TENSOR_Q) ? 1 : c.out_c));
	h.nrd = 3;
	h.wr = span(c.out_addr, ((uint64_t)c.out_h * c.out_w - 1) * c.out_pix_stride + c.out_c);
	issue(e, NPU_ENGINE_MAC, &h);
	put(e, &c, sizeof(c));
}

void em_matmul(struct emit *e, const struct npu_cmd_matmul *cmd)
{
	struct npu_cmd_matmul c = *cmd;
	struct em_cmd_hist h;

	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_MATMUL, struct npu_cmd_matmul);
	h.rd[0] = span(c.a_addr, (uint64_t)(c.m - 1) * c.a_row_stride + c.k);
	h.rd[1] = span(c.b_addr, (uint64_t)c.k * c.n);
	h.rd[2] = span(c.q_addr, 12ull * ((c.flags & NPU_CONV_F_PER_TENSOR_Q) ? 1 : c.n));
	h.nrd = 3;
	h.wr = span(c.out_addr, (uint64_t)(c.m - 1) * c.out_row_stride + c.n);
	issue(e, NPU_ENGINE_MAC, &h);
	put(e, &c, sizeof(c));
}

void em_eltwise(struct emit *e, const struct npu_cmd_eltwise *cmd)
{
	struct npu_cmd_eltwise c = *cmd;
	struct em_cmd_hist h;
	uint64_t nb = c.bcast == NPU_BCAST_NONE ? c.count : c.bcast == NPU_BCAST_SCALAR ? 1 :
		      (c.channels < c.count ? c.channels : c.count);

	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_ELTWISE, struct npu_cmd_eltwise);
	h.rd[0] = span(c.a_addr, c.count);
	h.rd[1] = span(c.b_addr, nb);
	h.nrd = 2;
	h.wr = span(c.out_addr, c.count);
	issue(e, NPU_ENGINE_VEC, &h);
	put(e, &c, sizeof(c));
}

void em_pool(struct emit *e, const struct npu_cmd_pool *cmd)
{
	struct npu_cmd_pool c = *cmd;
	struct em_cmd_hist h;

	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_POOL, struct npu_cmd_pool);
	h.rd[0] = span(c.in_addr, (uint64_t)c.in_h * c.in_w * c.c);
	h.nrd = 1;
	h.wr = span(c.out_addr, (uint64_t)c.out_h * c.out_w * c.c);
	issue(e, NPU_ENGINE_VEC, &h);
	put(e, &c, sizeof(c));
}

void em_lut(struct emit *e, const struct npu_cmd_lut *cmd)
{
	struct npu_cmd_lut c = *cmd;
	struct em_cmd_hist h;

	memset(&h, 0, sizeof(h));
	c.hdr = NPU_CMD_HDR(NPU_OP_LUT, struct npu_cmd_lut);
	h.rd[0] = span(c.in_addr, c.count);
	h.rd[1] = span(c.table_addr, 256);
	h.nrd = 2;
	h.wr = span(c.out_addr, c.count);
	issue(e, NPU_ENGINE_VEC, &h);
	put(e, &c, sizeof(c));
}
