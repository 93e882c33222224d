// SPDX-License-Identifier: MIT
/*
 * The DMA engine's weight encodings (npu-architecture.rst, Decompression).
 * ZMASK removes zeros: per group of 8 output bytes a mask byte (bit i:
 * byte i is nonzero), then the nonzero bytes; minimal streams only (no set
 * bit for a zero byte). PALETTE4 stores shared weights as 4-bit indices.
 */
#include <string.h>

#include "lower.h"

uint64_t lw_zmask_size(const int8_t *p, uint64_t n)
{
	uint64_t size = (n + 7) / 8;

	for (uint64_t i = 0; i < n; i++)
		size += p[i] != 0;
	return size;
}

void lw_zmask_encode(const int8_t *p, uint64_t n, uint8_t *out)
{
	for (uint64_t g = 0; g < n; g += 8) {
		uint8_t *mask = out++;

		*mask = 0;
		for (uint64_t i = g; i < n && i < g + 8; i++)
			if (p[i]) {
				*mask |= (uint8_t)(1u << (i - g));
				*out++ = (uint8_t)p[i];
			}
	}
}

/*
 * PALETTE4 (same section): a 16-entry int8 codebook, then two 4-bit
 * indices per byte, low nibble first. Only for at most 16 distinct values.
 */
uint64_t lw_palette4_size(const int8_t *p, uint64_t n)
{
	uint8_t seen[256] = { 0 };
	int distinct = 0;

	for (uint64_t i = 0; i < n; i++) {
		if (seen[(uint8_t)p[i]])
			continue;
		seen[(uint8_t)p[i]] = 1;
		if (++distinct > 16)
			return UINT64_MAX;
	}
	return 16 + (n + 1) / 2;
}

void lw_palette4_encode(const int8_t *p, uint64_t n, uint8_t *out)
{
	int8_t book[16] = { 0 };
	uint8_t idx[256] = { 0 }, seen[256] = { 0 };
	int used = 0;

	/* codebook in ascending value order (callers checked <= 16 values) */
	for (uint64_t i = 0; i < n; i++)
		seen[(uint8_t)p[i]] = 1;
	for (int v = -128; v < 128 && used < 16; v++)
		if (seen[(uint8_t)v]) {
			idx[(uint8_t)v] = (uint8_t)used;
			book[used++] = (int8_t)v;
		}
	memcpy(out, book, 16);
	out += 16;
	for (uint64_t i = 0; i < n; i += 2) {
		uint8_t lo = idx[(uint8_t)p[i]], hi = i + 1 < n ? idx[(uint8_t)p[i + 1]] : 0;

		*out++ = (uint8_t)(lo | hi << 4);
	}
}
