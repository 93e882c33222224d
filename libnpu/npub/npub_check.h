/* SPDX-License-Identifier: MIT */
/*
 * Overflow-safe arithmetic and record checks shared by the .npub reader
 * (npub_read.c) and validator (npub_validate.c). Internal to libnpub.
 */
#ifndef NPUB_CHECK_H
#define NPUB_CHECK_H

#include <stdint.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Small checked-arithmetic helpers                                    */
/* ------------------------------------------------------------------ */
static inline int mul_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_mul_overflow(a, b, r);
}

static inline int add_ovf(uint64_t a, uint64_t b, uint64_t *r)
{
	return __builtin_add_overflow(a, b, r);
}

/* [off, off + len) inside [0, size)? */
static inline int range_ok(uint64_t off, uint64_t len, uint64_t size)
{
	return len <= size && off <= size - len;
}

static inline int all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

#define RESERVED_ZERO(rec, field) all_zero((rec)->field, sizeof((rec)->field))

static inline float f32_of(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, sizeof(f));
	return f;
}

#endif /* NPUB_CHECK_H */
