// SPDX-License-Identifier: MIT
/*
 * ZMASK, the DMA engine's zero-removing weight encoding
 * (npu-architecture.rst, Decompression): per group of 8 output bytes a
 * mask byte (bit i: byte i is nonzero), then the nonzero bytes. Minimal
 * streams only (no set bit for a zero byte).
 */
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
