// SPDX-License-Identifier: MIT
/*
 * DMA_DECOMPRESS (firmware-sim/src/exec_dma.c): field validation and cost
 * of decompress_check(), ZMASK and PALETTE4 decoding by decompress_exec()
 * against streams built by an encoder written here from the npu_isa.h
 * text, every malformed-stream case with its fault address, MMU faults of
 * the stream read, and two whole jobs through npusim_core_run().
 *
 * DRAM is a flat byte array at a base VA exposed as a struct npusim_vmem,
 * with an optional read-protected range.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Flat DRAM                                                           */
/* ------------------------------------------------------------------ */
#define DRAM_BASE	0x100000ull
#define DRAM_SIZE	(4u << 20)

struct flat_mem {
	uint8_t *buf;
	uint64_t base, size;
	uint64_t deny_start, deny_end;	/* reads here fault MMU_PERMISSION */
	unsigned int reads;
	struct npusim_vmem vmem;
};

static int flat_access(struct flat_mem *m, uint64_t va, uint32_t len, uint64_t *fault_va)
{
	if (va < m->base || va - m->base >= m->size) {
		*fault_va = va;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	if (len > m->size - (va - m->base)) {
		*fault_va = m->base + m->size;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	return NPU_FAULT_NONE;
}

static int flat_read(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	struct flat_mem *m = opaque;
	int f = flat_access(m, va, len, fault_va);

	m->reads++;
	if (f)
		return f;
	if (va < m->deny_end && m->deny_start < va + len) {
		*fault_va = va > m->deny_start ? va : m->deny_start;
		return NPU_FAULT_MMU_PERMISSION;
	}
	memcpy(dst, m->buf + (va - m->base), len);
	return NPU_FAULT_NONE;
}

static int flat_write(void *opaque, uint64_t va, const void *src, uint32_t len,
		      uint64_t *fault_va)
{
	struct flat_mem *m = opaque;
	int f = flat_access(m, va, len, fault_va);

	if (f)
		return f;
	memcpy(m->buf + (va - m->base), src, len);
	return NPU_FAULT_NONE;
}

static void flat_init(struct flat_mem *m, uint64_t base, uint64_t size)
{
	memset(m, 0, sizeof(*m));
	m->buf = calloc(1, size);
	ck_assert_ptr_nonnull(m->buf);
	m->base = base;
	m->size = size;
	m->vmem.read = flat_read;
	m->vmem.write = flat_write;
	m->vmem.opaque = m;
}

/* ------------------------------------------------------------------ */
/* Encoders (from the npu_isa.h comment)                               */
/* ------------------------------------------------------------------ */

/* ZMASK: per group of 8 outputs, a mask byte then the nonzero values. */
static uint32_t zmask_encode(const uint8_t *in, uint32_t n, uint8_t *out)
{
	uint32_t len = 0;

	for (uint32_t g = 0; g < n; g += 8) {
		uint32_t mpos = len++;
		uint8_t mask = 0;

		for (uint32_t i = 0; i < 8 && g + i < n; i++) {
			if (in[g + i]) {
				mask |= (uint8_t)(1u << i);
				out[len++] = in[g + i];
			}
		}
		out[mpos] = mask;
	}
	return len;
}

/* PALETTE4: 16 codebook bytes, then 4-bit indices, low nibble first. */
static uint32_t palette4_encode(const uint8_t pal[16], const uint8_t *idx, uint32_t n,
				uint8_t *out)
{
	memcpy(out, pal, 16);
	memset(out + 16, 0, (n + 1) / 2);
	for (uint32_t i = 0; i < n; i++)
		out[16 + i / 2] |= (uint8_t)((idx[i] & 0xf) << (i % 2 ? 4 : 0));
	return 16 + (n + 1) / 2;
}

/* ------------------------------------------------------------------ */
/* Fixture                                                             */
/* ------------------------------------------------------------------ */
static struct npusim_core *core;
static struct flat_mem mem;
static uint64_t rng_state;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

/* Random bytes, each zero with probability zero_pct percent. */
static void fill_sparse(uint8_t *p, uint32_t n, unsigned int zero_pct)
{
	for (uint32_t i = 0; i < n; i++) {
		uint8_t v = (uint8_t)(1 + rnd() % 255);

		p[i] = rnd() % 100 < zero_pct ? 0 : v;
	}
}

static void setup(void)
{
	struct npusim_config cfg;

	npusim_config_default(&cfg);
	core = npusim_core_create(&cfg);
	ck_assert_ptr_nonnull(core);
	flat_init(&mem, DRAM_BASE, DRAM_SIZE);
	rng_state = 0x9e3779b97f4a7c15ull;
}

static void teardown(void)
{
	npusim_core_destroy(core);
	free(mem.buf);
}

static struct npu_cmd_dma_decompress dcmd(uint32_t format, uint64_t src, uint32_t src_bytes,
					  uint32_t sram, uint32_t out_bytes)
{
	struct npu_cmd_dma_decompress c = {
		.hdr = NPU_CMD_HDR(NPU_OP_DMA_DECOMPRESS, struct npu_cmd_dma_decompress),
		.format = format,
		.src_lo = (uint32_t)src,
		.src_hi = (uint32_t)(src >> 32),
		.src_bytes = src_bytes,
		.sram = sram,
		.out_bytes = out_bytes,
	};
	return c;
}

/* check + exec as the core does; *fault_addr from whichever faulted. */
static int run_cmd(const struct npu_cmd_dma_decompress *c, uint64_t *fault_addr)
{
	struct cmd_info info;
	int f;

	memset(&info, 0, sizeof(info));
	f = decompress_check(core, c, &info);
	if (f) {
		*fault_addr = info.fault_addr;
		return f;
	}
	return decompress_exec(core, c, &mem.vmem, fault_addr);
}

/* Puts a stream at DRAM offset off; returns its VA. */
static uint64_t put_stream(uint64_t off, const uint8_t *s, uint32_t n)
{
	ck_assert_uint_le(off + n, DRAM_SIZE);
	memcpy(mem.buf + off, s, n);
	return DRAM_BASE + off;
}

#define GUARD 0x5a

/*
 * Decodes stream s into SRAM at sram_off (guard-filled around) and checks
 * the output equals want and the guard bytes on both sides are intact.
 */
static void expect_decode(uint32_t format, const uint8_t *s, uint32_t n, uint32_t sram_off,
			  const uint8_t *want, uint32_t out_bytes)
{
	struct npu_cmd_dma_decompress c;
	uint64_t fa = 0, va = put_stream(64, s, n);
	uint32_t lo = sram_off >= 16 ? sram_off - 16 : 0;
	uint32_t hi = sram_off + out_bytes + 16 <= core->cfg.sram_bytes ?
		      sram_off + out_bytes + 16 : core->cfg.sram_bytes;
	int f;

	memset(core->sram + lo, GUARD, hi - lo);
	c = dcmd(format, va, n, sram_off, out_bytes);
	f = run_cmd(&c, &fa);
	ck_assert_msg(f == NPU_FAULT_NONE, "fault %s at 0x%llx (format %u, %u -> %u bytes)",
		      npusim_fault_name((uint32_t)f), (unsigned long long)fa, format, n, out_bytes);
	ck_assert_msg(memcmp(core->sram + sram_off, want, out_bytes) == 0,
		      "output differs (format %u, out_bytes %u)", format, out_bytes);
	for (uint32_t i = lo; i < sram_off; i++)
		ck_assert_uint_eq(core->sram[i], GUARD);
	for (uint32_t i = sram_off + out_bytes; i < hi; i++)
		ck_assert_uint_eq(core->sram[i], GUARD);
}

/*
 * Runs a malformed or faulting command: expects fault `want` at VA
 * want_addr and SRAM [sram_off, sram_off+out_bytes) left untouched.
 */
static void expect_fault(uint32_t format, uint64_t va, uint32_t n, uint32_t sram_off,
			 uint32_t out_bytes, int want, uint64_t want_addr)
{
	struct npu_cmd_dma_decompress c = dcmd(format, va, n, sram_off, out_bytes);
	uint64_t fa = 0;
	int f;

	memset(core->sram + sram_off, GUARD, out_bytes);
	f = run_cmd(&c, &fa);
	ck_assert_msg(f == want, "fault %s, want %s", npusim_fault_name((uint32_t)f),
		      npusim_fault_name((uint32_t)want));
	ck_assert_msg(fa == want_addr, "fault address 0x%llx, want 0x%llx",
		      (unsigned long long)fa, (unsigned long long)want_addr);
	for (uint32_t i = 0; i < out_bytes; i++)
		ck_assert_uint_eq(core->sram[sram_off + i], GUARD);
}

/* ------------------------------------------------------------------ */
/* decompress_check                                                    */
/* ------------------------------------------------------------------ */
static int check_only(const struct npu_cmd_dma_decompress *c, struct cmd_info *info)
{
	memset(info, 0, sizeof(*info));
	return decompress_check(core, c, info);
}

START_TEST(test_check_fields)
{
	struct npu_cmd_dma_decompress c;
	struct cmd_info info;

	c = dcmd(0, DRAM_BASE, 10, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(3, DRAM_BASE, 10, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(0xffffffffu, DRAM_BASE, 10, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 10, 0, 8);
	c.reserved = 1;
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 0, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(NPU_COMPRESS_PALETTE4, DRAM_BASE, 20, 0, 0);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	/* src_bytes bound: 2 * out_bytes + 16 is the largest accepted. */
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 2 * 8 + 16, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_NONE);
	c.src_bytes++;
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 0xffffffffu, 0, 0x7fffffffu);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);	/* > sram_bytes */
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 10, 0, core->cfg.sram_bytes + 1);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_BAD_FIELD);
	/* Both known formats pass with sane fields; DRAM addresses are not checked here. */
	c = dcmd(NPU_COMPRESS_PALETTE4, 0xffffffffffffff00ull, 20, 0, 8);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_NONE);
}
END_TEST

START_TEST(test_check_span_and_cost)
{
	uint32_t sram = core->cfg.sram_bytes, bpc = core->cfg.dma_bytes_per_cycle;
	uint32_t lat = core->cfg.dram_latency_cycles;
	struct npu_cmd_dma_decompress c;
	struct cmd_info info;

	/* Output span must fit SRAM: the first byte past it is reported. */
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 100, sram - 99, 100);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_SRAM_RANGE);
	ck_assert_uint_eq(info.fault_addr, sram);
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 100, 0xfffffff0u, 100);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_SRAM_RANGE);
	ck_assert_uint_eq(info.fault_addr, 0xfffffff0u);
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 100, sram - 100, 100);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_NONE);
	ck_assert_int_eq(info.engine, NPU_ENGINE_DMA);
	ck_assert_uint_eq(info.nwrites, 1);
	ck_assert_uint_eq(info.nreads, 0);
	ck_assert_uint_eq(info.writes[0].start, sram - 100);
	ck_assert_uint_eq(info.writes[0].end, sram);
	ck_assert_uint_eq(info.dram_read, 100);
	ck_assert_uint_eq(info.dram_write, 0);
	ck_assert_uint_eq(info.macs, 0);
	/* Read-bound: ceil(100 / 16) = 7 beats vs ceil(100 / 32) = 4. */
	ck_assert_uint_eq(info.cycles, lat + (100 + bpc - 1) / bpc);

	/* PALETTE4 of 1000 bytes: reads 516 (33 beats), writes 1000 at 2x width (32). */
	c = dcmd(NPU_COMPRESS_PALETTE4, DRAM_BASE, 516, 4096, 1000);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_NONE);
	ck_assert_uint_eq(info.cycles, lat + (516 + bpc - 1) / bpc);
	ck_assert_uint_eq(info.writes[0].start, 4096);
	ck_assert_uint_eq(info.writes[0].end, 5096);
	ck_assert_uint_eq(info.dram_read, 516);

	/* Sparse ZMASK of 4096 zeros: 512 mask bytes, write-bound (128 > 32). */
	c = dcmd(NPU_COMPRESS_ZMASK, DRAM_BASE, 512, 0, 4096);
	ck_assert_int_eq(check_only(&c, &info), NPU_FAULT_NONE);
	ck_assert_uint_eq(info.cycles, lat + 4096 / (2 * bpc));
}
END_TEST

/* ------------------------------------------------------------------ */
/* ZMASK                                                               */
/* ------------------------------------------------------------------ */
START_TEST(test_zmask_roundtrip)
{
	static const unsigned int zero_pct[] = { 0, 10, 50, 90, 100 };
	static const uint32_t sizes[] = { 1, 2, 7, 8, 9, 15, 16, 17, 63, 64, 65, 1000, 4097,
					  100003 };
	uint8_t *data = calloc(1, 100003), *enc = malloc(2 * 100003 + 16);

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(enc);
	for (unsigned int z = 0; z < sizeof(zero_pct) / sizeof(zero_pct[0]); z++) {
		for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
			uint32_t n = sizes[k], len;

			fill_sparse(data, n, zero_pct[z]);
			len = zmask_encode(data, n, enc);
			/* Odd SRAM offsets: no alignment is assumed. */
			expect_decode(NPU_COMPRESS_ZMASK, enc, len, 1001 + 3 * k, data, n);
		}
	}
	free(data);
	free(enc);
}
END_TEST

/* Every last-group length, with the highest allowed mask bit set or clear. */
START_TEST(test_zmask_partial_last_group)
{
	uint8_t data[40], enc[2 * 40 + 16];

	for (uint32_t n = 33; n <= 40; n++) {
		for (int last_nonzero = 0; last_nonzero < 2; last_nonzero++) {
			uint32_t len;

			fill_sparse(data, n, 30);
			data[n - 1] = last_nonzero ? 0x80 : 0;
			len = zmask_encode(data, n, enc);
			expect_decode(NPU_COMPRESS_ZMASK, enc, len, 500, data, n);
		}
	}
}
END_TEST

/* Hand-written stream: checks the bit order and value order of the format itself. */
START_TEST(test_zmask_known_stream)
{
	static const uint8_t s[] = {
		0x81, 0x11, 0x22,		/* bits 0 and 7 */
		0x00,				/* all zero */
		0xff, 1, 2, 3, 4, 5, 6, 7, 8,	/* all nonzero */
		0x04, 0xee,			/* last group of 3: bit 2 only */
	};
	static const uint8_t want[27] = {
		0x11, 0, 0, 0, 0, 0, 0, 0x22,
		0, 0, 0, 0, 0, 0, 0, 0,
		1, 2, 3, 4, 5, 6, 7, 8,
		0, 0, 0xee,
	};

	expect_decode(NPU_COMPRESS_ZMASK, s, sizeof(s), 77, want, sizeof(want));
}
END_TEST

/* Output exactly filling SRAM, from the last byte to offset 0. */
START_TEST(test_zmask_whole_sram)
{
	uint32_t n = core->cfg.sram_bytes, len;
	uint8_t *data = calloc(1, n), *enc = malloc(2 * (size_t)n + 16);

	ck_assert_ptr_nonnull(data);
	ck_assert_ptr_nonnull(enc);
	fill_sparse(data, n, 60);
	len = zmask_encode(data, n, enc);
	ck_assert_uint_lt(len, n);
	expect_decode(NPU_COMPRESS_ZMASK, enc, len, 0, data, n);
	free(data);
	free(enc);
}
END_TEST

START_TEST(test_zmask_overread)
{
	uint8_t data[24], enc[64];
	uint32_t len;
	uint64_t va;

	/* Values cut short in a middle group: the missing byte is src + src_bytes. */
	memset(data, 0x11, sizeof(data));
	len = zmask_encode(data, 24, enc);	/* 27 bytes, all groups 0xff */
	ck_assert_uint_eq(len, 27);
	va = put_stream(0, enc, len);
	for (uint32_t cut = 1; cut < len; cut++)
		expect_fault(NPU_COMPRESS_ZMASK, va, len - cut, 0, 24, NPU_FAULT_DECOMPRESS,
			     va + len - cut);

	/* Stream ends exactly before a group's mask byte. */
	memset(data, 0, sizeof(data));
	len = zmask_encode(data, 24, enc);	/* 3 mask bytes of 0 */
	ck_assert_uint_eq(len, 3);
	va = put_stream(0, enc, len);
	expect_fault(NPU_COMPRESS_ZMASK, va, 2, 0, 24, NPU_FAULT_DECOMPRESS, va + 2);
	expect_fault(NPU_COMPRESS_ZMASK, va, 1, 0, 24, NPU_FAULT_DECOMPRESS, va + 1);

	/* Mask claims more values than remain (last group). */
	{
		static const uint8_t s[] = { 0x00, 0x07, 0x01, 0x02 };	/* needs 3 values */

		va = put_stream(100, s, sizeof(s));
		expect_fault(NPU_COMPRESS_ZMASK, va, sizeof(s), 0, 11, NPU_FAULT_DECOMPRESS,
			     va + sizeof(s));
	}
}
END_TEST

START_TEST(test_zmask_underconsumed)
{
	uint8_t data[20], enc[64];
	uint32_t len;
	uint64_t va;

	fill_sparse(data, sizeof(data), 40);
	len = zmask_encode(data, sizeof(data), enc);
	enc[len] = 0;
	enc[len + 1] = 0x42;
	va = put_stream(0, enc, len + 2);
	/* First unconsumed byte is the offending one, however many trail it. */
	expect_fault(NPU_COMPRESS_ZMASK, va, len + 1, 0, sizeof(data), NPU_FAULT_DECOMPRESS,
		     va + len);
	expect_fault(NPU_COMPRESS_ZMASK, va, len + 2, 0, sizeof(data), NPU_FAULT_DECOMPRESS,
		     va + len);
	/* The same stream with fewer outputs leaves bytes unconsumed earlier. */
	{
		static const uint8_t s[] = { 0x01, 0x05, 0x00, 0x00 };

		va = put_stream(200, s, sizeof(s));
		expect_fault(NPU_COMPRESS_ZMASK, va, 4, 0, 8, NPU_FAULT_DECOMPRESS, va + 2);
		expect_fault(NPU_COMPRESS_ZMASK, va, 4, 0, 16, NPU_FAULT_DECOMPRESS, va + 3);
		/* 17 and 24 outputs consume it exactly; 25 would need a fourth mask. */
		expect_decode(NPU_COMPRESS_ZMASK, s, 4, 0, (const uint8_t[17]){ 0x05 }, 17);
		expect_decode(NPU_COMPRESS_ZMASK, s, 4, 0, (const uint8_t[24]){ 0x05 }, 24);
		expect_fault(NPU_COMPRESS_ZMASK, va, 4, 0, 25, NPU_FAULT_DECOMPRESS, va + 4);
	}
}
END_TEST

START_TEST(test_zmask_mask_beyond_out)
{
	/* out_bytes = 8k + r: any mask bit >= r in the last group faults at that mask byte. */
	for (uint32_t r = 1; r < 8; r++) {
		for (uint32_t bit = r; bit < 8; bit++) {
			uint8_t s[2 + 8 + 1 + 8];
			uint32_t len = 0;
			uint64_t va;

			s[len++] = 0xff;
			for (int i = 0; i < 8; i++)
				s[len++] = (uint8_t)(i + 1);
			s[len++] = (uint8_t)(1u << bit);
			s[len++] = 0x33;
			va = put_stream(300, s, len);
			expect_fault(NPU_COMPRESS_ZMASK, va, len, 10, 8 + r,
				     NPU_FAULT_DECOMPRESS, va + 9);
		}
	}
	/* Single partial group: mask byte at the very start. */
	{
		static const uint8_t s[] = { 0x80, 0x01 };
		uint64_t va = put_stream(400, s, sizeof(s));

		expect_fault(NPU_COMPRESS_ZMASK, va, 2, 0, 7, NPU_FAULT_DECOMPRESS, va);
	}
	/* Reported before trailing garbage (which comes later in the stream). */
	{
		static const uint8_t s[] = { 0x02, 0x09, 0x00, 0x00 };
		uint64_t va = put_stream(500, s, sizeof(s));

		expect_fault(NPU_COMPRESS_ZMASK, va, 4, 0, 1, NPU_FAULT_DECOMPRESS, va);
	}
}
END_TEST

/* Hostile streams: random bytes, random lengths; decode or fault, never stray. */
START_TEST(test_zmask_random_garbage)
{
	uint8_t s[200];
	unsigned int ok = 0, bad = 0;

	for (int iter = 0; iter < 3000; iter++) {
		uint32_t out_bytes = 1 + rnd() % 64;
		uint32_t n = 1 + rnd() % (2 * out_bytes + 16);
		struct npu_cmd_dma_decompress c;
		uint64_t fa = 0, va;
		int f;

		for (uint32_t i = 0; i < n; i++)
			s[i] = (uint8_t)rnd();
		if (iter & 1)	/* sparser masks: more streams of plausible length */
			for (uint32_t i = 0; i < n; i += 3)
				s[i] &= 0x11;
		va = put_stream(1000, s, n);
		memset(core->sram, GUARD, 256);
		c = dcmd(NPU_COMPRESS_ZMASK, va, n, 64, out_bytes);
		f = run_cmd(&c, &fa);
		if (f == NPU_FAULT_NONE) {
			ok++;
		} else {
			ck_assert_int_eq(f, NPU_FAULT_DECOMPRESS);
			ck_assert_uint_ge(fa, va);
			ck_assert_uint_le(fa, va + n);
			for (int i = 64; i < 64 + (int)out_bytes; i++)
				ck_assert_uint_eq(core->sram[i], GUARD);
			bad++;
		}
		for (int i = 0; i < 64; i++)
			ck_assert_uint_eq(core->sram[i], GUARD);
		for (int i = 64 + (int)out_bytes; i < 256; i++)
			ck_assert_uint_eq(core->sram[i], GUARD);
	}
	ck_assert_uint_gt(ok, 0);
	ck_assert_uint_gt(bad, 0);
}
END_TEST

/* ------------------------------------------------------------------ */
/* PALETTE4                                                            */
/* ------------------------------------------------------------------ */
START_TEST(test_palette4_roundtrip)
{
	static const uint32_t sizes[] = { 1, 2, 3, 4, 5, 31, 32, 33, 1000, 1001, 65535, 65536 };
	uint8_t pal[16], *idx = malloc(65536), *want = malloc(65536);
	uint8_t *enc = malloc(16 + 32768);

	ck_assert_ptr_nonnull(idx);
	ck_assert_ptr_nonnull(want);
	ck_assert_ptr_nonnull(enc);
	for (unsigned int k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint32_t n = sizes[k], len;

		for (int i = 0; i < 16; i++)
			pal[i] = (uint8_t)rnd();
		for (uint32_t i = 0; i < n; i++) {
			idx[i] = (uint8_t)(rnd() & 0xf);
			want[i] = pal[idx[i]];
		}
		len = palette4_encode(pal, idx, n, enc);
		ck_assert_uint_eq(len, 16 + (n + 1) / 2);
		expect_decode(NPU_COMPRESS_PALETTE4, enc, len, 2000 + k, want, n);
	}
	free(idx);
	free(want);
	free(enc);
}
END_TEST

/* Nibble order, and odd out_bytes: the last high nibble is padding and ignored. */
START_TEST(test_palette4_nibbles_odd)
{
	uint8_t s[16 + 3];

	for (int i = 0; i < 16; i++)
		s[i] = (uint8_t)(0xa0 + i);
	s[16] = 0x21;	/* outputs 0, 1: entries 1, 2 */
	s[17] = 0xf0;	/* outputs 2, 3: entries 0, 15 */
	s[18] = 0xe3;	/* output 4: entry 3; the high nibble pads */
	expect_decode(NPU_COMPRESS_PALETTE4, s, sizeof(s), 9,
		      (const uint8_t[]){ 0xa1, 0xa2, 0xa0, 0xaf, 0xa3 }, 5);
	/* The single-output case: 17 bytes. */
	expect_decode(NPU_COMPRESS_PALETTE4, s, 17, 3, (const uint8_t[]){ 0xa1 }, 1);
	/* Even count on the same stream uses both nibbles of the last byte. */
	expect_decode(NPU_COMPRESS_PALETTE4, s, sizeof(s), 9,
		      (const uint8_t[]){ 0xa1, 0xa2, 0xa0, 0xaf, 0xa3, 0xae }, 6);
}
END_TEST

START_TEST(test_palette4_malformed)
{
	uint8_t s[16 + 64];
	uint64_t va;

	for (unsigned int i = 0; i < sizeof(s); i++)
		s[i] = (uint8_t)rnd();
	va = put_stream(4000, s, sizeof(s));
	for (uint32_t out = 1; out <= 40; out++) {
		uint32_t need = 16 + (out + 1) / 2;

		/* Short (including a partial codebook): the first missing byte. */
		for (uint32_t n = 1; n < need; n++)
			expect_fault(NPU_COMPRESS_PALETTE4, va, n, 128, out,
				     NPU_FAULT_DECOMPRESS, va + n);
		/* Long: the first byte past the index array. */
		for (uint32_t n = need + 1; n <= need + 3 && n <= 2 * out + 16; n++)
			expect_fault(NPU_COMPRESS_PALETTE4, va, n, 128, out,
				     NPU_FAULT_DECOMPRESS, va + need);
	}
}
END_TEST

/* ------------------------------------------------------------------ */
/* Stream read faults                                                  */
/* ------------------------------------------------------------------ */
START_TEST(test_read_faults)
{
	uint8_t s[16 + 8] = { 0 };
	uint64_t va = put_stream(DRAM_SIZE - 24, s, 24);	/* valid 16-output stream */

	/* Sanity: decodes where it is. */
	expect_decode(NPU_COMPRESS_PALETTE4, s, 24, 0, (const uint8_t[16]){ 0 }, 16);
	/* Runs off the end of mapped memory: the callback's fault address is reported. */
	expect_fault(NPU_COMPRESS_ZMASK, va + 8, 24, 0, 16, NPU_FAULT_MMU_UNMAPPED,
		     DRAM_BASE + DRAM_SIZE);
	/* Entirely unmapped below the base. */
	expect_fault(NPU_COMPRESS_PALETTE4, 0x1000, 24, 0, 16, NPU_FAULT_MMU_UNMAPPED, 0x1000);
	/* Permission fault passed through with its address. */
	mem.deny_start = va + 5;
	mem.deny_end = va + 6;
	expect_fault(NPU_COMPRESS_PALETTE4, va, 24, 0, 16, NPU_FAULT_MMU_PERMISSION, va + 5);
	mem.deny_start = mem.deny_end = 0;
	/* VAs at or beyond 2^32: the device faults without calling the callback. */
	mem.reads = 0;
	expect_fault(NPU_COMPRESS_PALETTE4, 1ull << 32, 24, 0, 16, NPU_FAULT_MMU_UNMAPPED,
		     1ull << 32);
	expect_fault(NPU_COMPRESS_ZMASK, 0xdeadbeef00000000ull, 24, 0, 16,
		     NPU_FAULT_MMU_UNMAPPED, 0xdeadbeef00000000ull);
	ck_assert_uint_eq(mem.reads, 0);
}
END_TEST

/* Flat memory ending exactly at 2^32: a stream crossing it faults at 2^32. */
START_TEST(test_read_crosses_va_limit)
{
	struct flat_mem top;
	struct npu_cmd_dma_decompress c;
	uint64_t fa = 0, base = (1ull << 32) - 4096;
	int f;

	flat_init(&top, base, 8192);	/* maps past 2^32, as a careless host might */
	memset(core->sram, GUARD, 64);
	c = dcmd(NPU_COMPRESS_PALETTE4, (1ull << 32) - 10, 24, 0, 16);
	f = decompress_check(core, &c, &(struct cmd_info){ 0 });
	ck_assert_int_eq(f, NPU_FAULT_NONE);
	f = decompress_exec(core, &c, &top.vmem, &fa);
	ck_assert_int_eq(f, NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 1ull << 32);
	for (int i = 0; i < 64; i++)
		ck_assert_uint_eq(core->sram[i], GUARD);
	/* The same stream just below the limit decodes. */
	memset(top.buf + 4096 - 24, 0x77, 24);
	c = dcmd(NPU_COMPRESS_PALETTE4, (1ull << 32) - 24, 24, 0, 16);
	f = decompress_exec(core, &c, &top.vmem, &fa);
	ck_assert_int_eq(f, NPU_FAULT_NONE);
	for (int i = 0; i < 16; i++)
		ck_assert_uint_eq(core->sram[i], 0x77);
	free(top.buf);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Whole jobs                                                          */
/* ------------------------------------------------------------------ */

/* BEGIN; DMA_DECOMPRESS; WAIT; DMA out; END, stream placed at DRAM offset 0. */
static int run_job(const struct npu_cmd_dma_decompress *dc, uint64_t out_va,
		   struct npu_job_report *rep)
{
	struct npu_cmd_begin begin = {
		.hdr = NPU_CMD_HDR(NPU_OP_BEGIN, struct npu_cmd_begin),
		.version = NPU_ISA_VERSION,
	};
	struct npu_cmd_wait wait = {
		.hdr = NPU_CMD_HDR(NPU_OP_WAIT, struct npu_cmd_wait),
		.engine_mask = 1u << NPU_ENGINE_DMA,
	};
	struct npu_cmd_dma out = {
		.hdr = NPU_CMD_HDR(NPU_OP_DMA, struct npu_cmd_dma),
		.flags = NPU_DMA_TO_DRAM,
		.dram_lo = (uint32_t)out_va,
		.sram = dc->sram,
		.inner_bytes = dc->out_bytes,
		.count1 = 1,
		.count2 = 1,
	};
	uint32_t end = NPU_CMD_HDR(NPU_OP_END, struct npu_cmd_end), off = 0;
	struct npusim_job job = { .mem = &mem.vmem, .cmd_va = DRAM_BASE };

#define PUT(x) do { memcpy(mem.buf + off, &(x), sizeof(x)); off += sizeof(x); } while (0)
	PUT(begin);
	PUT(*dc);
	PUT(wait);
	PUT(out);
	PUT(end);
#undef PUT
	job.cmd_size = off;
	return npusim_core_run(core, &job, rep);
}

START_TEST(test_job)
{
	uint8_t data[3000], enc[2 * 3000 + 16];
	struct npu_cmd_dma_decompress dc;
	struct npu_job_report rep;
	uint64_t in_va, out_va = DRAM_BASE + 0x10000;
	uint32_t len;
	int f;

	fill_sparse(data, sizeof(data), 70);
	len = zmask_encode(data, sizeof(data), enc);
	in_va = put_stream(0x1000, enc, len);
	dc = dcmd(NPU_COMPRESS_ZMASK, in_va, len, 0x8000, sizeof(data));
	f = run_job(&dc, out_va, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "job fault %s", npusim_fault_name((uint32_t)f));
	ck_assert_int_eq(memcmp(mem.buf + (out_va - DRAM_BASE), data, sizeof(data)), 0);
	ck_assert_uint_eq(rep.dram_write_bytes, sizeof(data));
	/* Stream fetch (16 + 32 + 12 + 48 + 4 bytes) plus the compressed bytes. */
	ck_assert_uint_eq(rep.dram_read_bytes, 112 + len);
	ck_assert_uint_gt(rep.busy_cycles[NPU_ENGINE_DMA],
			  2ull * core->cfg.dram_latency_cycles);

	/* One byte short: the job faults at the decompress command, at the missing byte. */
	dc.src_bytes = len - 1;
	f = run_job(&dc, out_va, &rep);
	ck_assert_int_eq(f, NPU_FAULT_DECOMPRESS);
	ck_assert_uint_eq(rep.fault, NPU_FAULT_DECOMPRESS);
	ck_assert_uint_eq(rep.fault_cmd_offset, sizeof(struct npu_cmd_begin));
	ck_assert_uint_eq(rep.fault_addr, in_va + len - 1);
}
END_TEST

Suite *suite_decompress(void);
Suite *suite_decompress(void)
{
	Suite *s = suite_create("decompress");
	TCase *tc = tcase_create("decompress");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_check_fields);
	tcase_add_test(tc, test_check_span_and_cost);
	tcase_add_test(tc, test_zmask_roundtrip);
	tcase_add_test(tc, test_zmask_partial_last_group);
	tcase_add_test(tc, test_zmask_known_stream);
	tcase_add_test(tc, test_zmask_whole_sram);
	tcase_add_test(tc, test_zmask_overread);
	tcase_add_test(tc, test_zmask_underconsumed);
	tcase_add_test(tc, test_zmask_mask_beyond_out);
	tcase_add_test(tc, test_zmask_random_garbage);
	tcase_add_test(tc, test_palette4_roundtrip);
	tcase_add_test(tc, test_palette4_nibbles_odd);
	tcase_add_test(tc, test_palette4_malformed);
	tcase_add_test(tc, test_read_faults);
	tcase_add_test(tc, test_read_crosses_va_limit);
	tcase_add_test(tc, test_job);
	suite_add_tcase(s, tc);
	return s;
}
