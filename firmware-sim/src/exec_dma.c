// SPDX-License-Identifier: MIT
/*
 * DMA engine: DMA (3-D strided copy) and DMA_DECOMPRESS.
 *
 * DRAM is reached only through the job's struct npusim_vmem. Every DRAM
 * address is computed in 64 bits; an address whose computation overflows
 * 2^64, or any byte at a VA >= 2^NPU_VA_BITS, faults NPU_FAULT_MMU_UNMAPPED
 * at that VA (for an overflow, the address modulo 2^64). Faults of the
 * callbacks (unmapped, permission, bus error) are passed through with
 * their address. Rows are transferred in command order, so a fault leaves
 * the rows before it (and possibly part of the faulting row) transferred,
 * as a real DMA engine would; software must not rely on either.
 *
 * DMA_DECOMPRESS reads the whole compressed stream into scratch, validates
 * it completely, and only then writes SRAM: a faulting decompression
 * leaves SRAM untouched.
 */
#include <string.h>

#include "internal.h"

#define DMA_COST_MAX	(1ull << 62)
#define DMA_VA_LIMIT	(1ull << NPU_VA_BITS)

static uint64_t dma_sat_mul(uint64_t a, uint64_t b)
{
	uint64_t r;

	if (__builtin_mul_overflow(a, b, &r) || r > DMA_COST_MAX)
		return DMA_COST_MAX;
	return r;
}

static uint64_t dma_sat_add(uint64_t a, uint64_t b)
{
	return a + b > DMA_COST_MAX || a + b < a ? DMA_COST_MAX : a + b;
}

static uint64_t div_ceil(uint64_t a, uint32_t d)
{
	return d ? a / d + (a % d != 0) : a;
}

/*
 * Copies len bytes between DRAM at va and host memory buf (an SRAM range
 * or scratch), refusing VAs the device cannot address.
 */
static int vmem_xfer(const struct npusim_vmem *mem, uint64_t va, uint8_t *buf, uint32_t len,
		     int to_dram, uint64_t *fault_addr)
{
	uint32_t ok = len;
	int f;

	if (va >= DMA_VA_LIMIT) {
		*fault_addr = va;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	if (len > DMA_VA_LIMIT - va)
		ok = (uint32_t)(DMA_VA_LIMIT - va);
	if (to_dram)
		f = mem->write(mem->opaque, va, buf, ok, fault_addr);
	else
		f = mem->read(mem->opaque, va, buf, ok, fault_addr);
	if (f)
		return f;
	if (ok < len) {
		*fault_addr = DMA_VA_LIMIT;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	return NPU_FAULT_NONE;
}

/* ---------------------------------------------------------------- */
/* DMA                                                               */
/* ---------------------------------------------------------------- */

/* Bytes from the first row's start to the last row's end, saturated above any SRAM size. */
static uint64_t dma_sram_len(const struct npu_cmd_dma *cmd)
{
	uint64_t len = (uint64_t)(cmd->count1 - 1) * cmd->sram_stride1;

	/* Each term is < 2^64; saturate their sum (far beyond SRAM anyway). */
	len = dma_sat_add(len, (uint64_t)(cmd->count2 - 1) * cmd->sram_stride2);
	return dma_sat_add(len, cmd->inner_bytes);
}

#define DMA_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_dma, field)

static int dma_bad_field(const struct npu_cmd_dma *cmd)
{
	DMA_BAD_IF((cmd->flags & ~NPU_DMA_DIR_MASK) ||
		   (cmd->flags & NPU_DMA_DIR_MASK) > NPU_DMA_TO_DRAM, flags);
	DMA_BAD_IF(!cmd->inner_bytes, inner_bytes);
	DMA_BAD_IF(!cmd->count1, count1);
	DMA_BAD_IF(!cmd->count2, count2);
	return NPUSIM_FIELDS_OK;
}

int dma_check(const struct npusim_core *c, const struct npu_cmd_dma *cmd, struct cmd_info *info)
{
	uint64_t rows, bytes;
	struct sram_span *span;
	int f;

	info->engine = NPU_ENGINE_DMA;
	f = dma_bad_field(cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}
	if ((cmd->flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_SRAM) {
		span = &info->writes[0];
		info->nwrites = 1;
	} else {
		span = &info->reads[0];
		info->nreads = 1;
	}
	f = sram_span_check(c, cmd->sram, dma_sram_len(cmd), span, &info->fault_addr);
	if (f) {
		info->nreads = info->nwrites = 0;
		return f;
	}
	rows = (uint64_t)cmd->count1 * cmd->count2;
	bytes = dma_sat_mul(rows, cmd->inner_bytes);
	if ((cmd->flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_SRAM)
		info->dram_read = bytes;
	else
		info->dram_write = bytes;
	info->cycles = dma_sat_add(c->cfg.dram_latency_cycles,
				   dma_sat_mul(rows, div_ceil(cmd->inner_bytes,
							      c->cfg.dma_bytes_per_cycle)));
	return NPU_FAULT_NONE;
}

/* *out = base + i * stride; nonzero (and *out wrapped) on 64-bit overflow. */
static int dram_addr(uint64_t base, uint32_t i, uint32_t stride, uint64_t *out)
{
	uint64_t off = (uint64_t)i * stride;	/* < 2^64: both factors < 2^32 */

	return __builtin_add_overflow(base, off, out);
}

int dma_exec(struct npusim_core *c, const struct npu_cmd_dma *cmd, const struct npusim_vmem *mem,
	     uint64_t *fault_addr)
{
	int to_dram = (cmd->flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_DRAM;
	uint64_t dram = (uint64_t)cmd->dram_hi << 32 | cmd->dram_lo;
	uint32_t rows = cmd->count1, len = cmd->inner_bytes;

	/* Rows contiguous on both sides are one transfer (same bytes, same order). */
	if (cmd->dram_stride1 == len && cmd->sram_stride1 == len &&
	    (uint64_t)rows * len <= UINT32_MAX) {
		len *= rows;
		rows = 1;
	}
	for (uint32_t i2 = 0; i2 < cmd->count2; i2++) {
		uint64_t d2, s2 = cmd->sram + (uint64_t)i2 * cmd->sram_stride2;

		if (dram_addr(dram, i2, cmd->dram_stride2, &d2)) {
			*fault_addr = d2;
			return NPU_FAULT_MMU_UNMAPPED;
		}
		for (uint32_t i1 = 0; i1 < rows; i1++) {
			/* In SRAM: dma_check bounded the whole span. */
			uint8_t *s = c->sram + s2 + (uint64_t)i1 * cmd->sram_stride1;
			uint64_t d;
			int f;

			if (dram_addr(d2, i1, cmd->dram_stride1, &d)) {
				*fault_addr = d;
				return NPU_FAULT_MMU_UNMAPPED;
			}
			f = vmem_xfer(mem, d, s, len, to_dram, fault_addr);
			if (f)
				return f;
		}
	}
	return NPU_FAULT_NONE;
}

/* ---------------------------------------------------------------- */
/* DMA_DECOMPRESS                                                    */
/* ---------------------------------------------------------------- */

#define ZMASK_GROUP	8u
#define PALETTE4_SIZE	16u

#define DEC_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_dma_decompress, field)

static int decompress_bad_field(const struct npusim_core *c,
				const struct npu_cmd_dma_decompress *cmd)
{
	DEC_BAD_IF(cmd->format != NPU_COMPRESS_ZMASK && cmd->format != NPU_COMPRESS_PALETTE4,
		   format);
	DEC_BAD_IF(cmd->reserved, reserved);
	DEC_BAD_IF(!cmd->src_bytes, src_bytes);
	DEC_BAD_IF(!cmd->out_bytes, out_bytes);
	/*
	 * No valid stream is longer than 2*out_bytes + 16 (ZMASK at most
	 * 9/8 out_bytes + 1, PALETTE4 16 + out_bytes/2 rounded up): this
	 * bounds the staging buffer exec needs.
	 */
	DEC_BAD_IF(cmd->src_bytes > 2ull * cmd->out_bytes + 16, src_bytes);
	DEC_BAD_IF(cmd->out_bytes > c->cfg.sram_bytes, out_bytes);
	return NPUSIM_FIELDS_OK;
}

int decompress_check(const struct npusim_core *c, const struct npu_cmd_dma_decompress *cmd,
		     struct cmd_info *info)
{
	uint64_t bpc = c->cfg.dma_bytes_per_cycle, rd, wr;
	int f;

	info->engine = NPU_ENGINE_DMA;
	f = decompress_bad_field(c, cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}
	f = sram_span_check(c, cmd->sram, cmd->out_bytes, &info->writes[0], &info->fault_addr);
	if (f)
		return f;
	info->nwrites = 1;
	info->dram_read = cmd->src_bytes;
	rd = div_ceil(cmd->src_bytes, (uint32_t)bpc);
	wr = div_ceil(cmd->out_bytes, (uint32_t)(2 * bpc));
	info->cycles = dma_sat_add(c->cfg.dram_latency_cycles, rd > wr ? rd : wr);
	return NPU_FAULT_NONE;
}

/*
 * Walks a ZMASK stream without writing anything. Returns 0 if it decodes
 * exactly out_bytes from exactly n bytes, else 1 with *bad = offset of the
 * offending byte: a mask with bits at or beyond out_bytes, the first
 * unconsumed byte, or n itself when the stream ends too early.
 */
static int zmask_validate(const uint8_t *s, uint32_t n, uint32_t out_bytes, uint32_t *bad)
{
	uint64_t pos = 0;

	for (uint32_t o = 0; o < out_bytes; o += ZMASK_GROUP) {
		uint32_t left = out_bytes - o;
		uint8_t mask;

		if (pos >= n) {
			*bad = n;
			return 1;
		}
		mask = s[pos];
		if (left < ZMASK_GROUP && (mask >> left)) {
			*bad = (uint32_t)pos;
			return 1;
		}
		pos += 1 + (unsigned int)__builtin_popcount(mask);
		if (left <= ZMASK_GROUP)
			break;
	}
	if (pos != n) {
		*bad = pos > n ? n : (uint32_t)pos;
		return 1;
	}
	return 0;
}

/* Decodes a stream zmask_validate() accepted. */
static void zmask_decode(const uint8_t *s, uint8_t *out, uint32_t out_bytes)
{
	for (uint32_t o = 0; o < out_bytes; o += ZMASK_GROUP) {
		uint32_t m = out_bytes - o < ZMASK_GROUP ? out_bytes - o : ZMASK_GROUP;
		uint8_t mask = *s++;

		if (mask == 0xff && m == ZMASK_GROUP) {
			memcpy(out + o, s, ZMASK_GROUP);
			s += ZMASK_GROUP;
		} else {
			for (uint32_t i = 0; i < m; i++)
				out[o + i] = (mask >> i) & 1 ? *s++ : 0;
		}
		if (m < ZMASK_GROUP)
			break;
	}
}

/* PALETTE4: *bad as for zmask_validate(). */
static int palette4_validate(uint32_t n, uint32_t out_bytes, uint32_t *bad)
{
	uint64_t need = PALETTE4_SIZE + ((uint64_t)out_bytes + 1) / 2;

	if (n == need)
		return 0;
	*bad = n < need ? n : (uint32_t)need;
	return 1;
}

static void palette4_decode(const uint8_t *s, uint8_t *out, uint32_t out_bytes)
{
	const uint8_t *pal = s, *idx = s + PALETTE4_SIZE;
	uint32_t pairs = out_bytes / 2;

	for (uint32_t i = 0; i < pairs; i++) {
		out[2 * i] = pal[idx[i] & 0xf];
		out[2 * i + 1] = pal[idx[i] >> 4];
	}
	if (out_bytes & 1)
		out[out_bytes - 1] = pal[idx[pairs] & 0xf];
}

int decompress_exec(struct npusim_core *c, const struct npu_cmd_dma_decompress *cmd,
		    const struct npusim_vmem *mem, uint64_t *fault_addr)
{
	uint64_t src = (uint64_t)cmd->src_hi << 32 | cmd->src_lo;
	uint8_t *buf = core_scratch(c, cmd->src_bytes);
	uint32_t bad;
	int f, malformed;

	if (!buf) {
		/* Host out of memory: report it as a failed DRAM access. */
		*fault_addr = src;
		return NPU_FAULT_BUS_ERROR;
	}
	f = vmem_xfer(mem, src, buf, cmd->src_bytes, 0, fault_addr);
	if (f)
		return f;
	if (cmd->format == NPU_COMPRESS_ZMASK)
		malformed = zmask_validate(buf, cmd->src_bytes, cmd->out_bytes, &bad);
	else
		malformed = palette4_validate(cmd->src_bytes, cmd->out_bytes, &bad);
	if (malformed) {
		*fault_addr = src + bad;	/* src < 2^32 after the read */
		return NPU_FAULT_DECOMPRESS;
	}
	if (cmd->format == NPU_COMPRESS_ZMASK)
		zmask_decode(buf, c->sram + cmd->sram, cmd->out_bytes);
	else
		palette4_decode(buf, c->sram + cmd->sram, cmd->out_bytes);
	return NPU_FAULT_NONE;
}
