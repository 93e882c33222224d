// SPDX-License-Identifier: MIT
/*
 * Every fault a core job can produce, each from a minimal stream, with
 * report.fault, fault_cmd_offset and (where it has a meaning) fault_addr;
 * then fuzzing: random streams and mutated valid jobs must never crash
 * (ASan/UBSan catch memory errors) and always end with some fault code.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"
#include "util/stream.h"

#define FX_DRAM_BASE	0x10000000ull
#define FX_DRAM_SIZE	(1u << 20)
#define FX_DATA_BYTES	(64u << 10)
#define FAULT_SEED	0xfa017ull
#define ANY_ADDR	UINT64_MAX

/* Fixture: a core, a DRAM with FX_DATA_BYTES of data at FX_DRAM_BASE. */
struct fx {
	struct npusim_core *core;
	struct tdram d;
	struct stream s;
	struct npu_job_report rep;
	uint64_t data;		/* VA of the data buffer */
	uint64_t mark;		/* allocator position after the data */
	uint32_t sram_bytes;
};

static void fx_init_cfg(struct fx *f, const struct npusim_config *cfg)
{
	struct npusim_config def;

	if (!cfg) {
		npusim_config_default(&def);
		cfg = &def;
	}
	memset(f, 0, sizeof(*f));
	f->core = npusim_core_create(cfg);
	ck_assert_ptr_nonnull(f->core);
	f->sram_bytes = cfg->sram_bytes;
	tdram_init(&f->d, FX_DRAM_BASE, FX_DRAM_SIZE);
	f->data = tdram_alloc(&f->d, FX_DATA_BYTES, 4096, 0);
	for (uint32_t i = 0; i < FX_DATA_BYTES; i++)
		tdram_ptr(&f->d, f->data, FX_DATA_BYTES)[i] = (uint8_t)(i * 7 + 3);
	f->mark = f->d.next;
	stream_init(&f->s);
	st_begin(&f->s);
}

static void fx_init(struct fx *f)
{
	fx_init_cfg(f, NULL);
}

static void fx_free(struct fx *f)
{
	npusim_core_destroy(f->core);
	tdram_free(&f->d);
	stream_free(&f->s);
}

/* New stream starting with BEGIN. */
static void fx_restart(struct fx *f)
{
	stream_reset(&f->s);
	st_begin(&f->s);
}

static int fx_run_wd(struct fx *f, uint64_t watchdog)
{
	f->d.next = f->mark;
	return run_stream(f->core, &f->d, &f->s, watchdog, &f->rep);
}

static int fx_run(struct fx *f)
{
	return fx_run_wd(f, 0);
}

static void fx_expect_at(struct fx *f, int line, const char *what, uint32_t fault,
			 uint32_t offset, uint64_t addr)
{
	int got = fx_run(f);

	ck_assert_msg(got == (int)fault && f->rep.fault == fault,
		      "line %d %s: fault %s, want %s (cmd offset %u addr 0x%llx)", line, what,
		      npusim_fault_name(f->rep.fault), npusim_fault_name(fault),
		      f->rep.fault_cmd_offset, (unsigned long long)f->rep.fault_addr);
	if (fault == NPU_FAULT_NONE)
		return;
	ck_assert_msg(f->rep.fault_cmd_offset == offset, "line %d %s (%s): cmd offset %u, want %u",
		      line, what, npusim_fault_name(fault), f->rep.fault_cmd_offset, offset);
	if (addr != ANY_ADDR)
		ck_assert_msg(f->rep.fault_addr == addr,
			      "line %d %s (%s): fault addr 0x%llx, want 0x%llx", line, what,
			      npusim_fault_name(fault), (unsigned long long)f->rep.fault_addr,
			      (unsigned long long)addr);
}

#define EXPECT(f, what, fault, off, addr) fx_expect_at(f, __LINE__, what, fault, off, addr)

/*
 * Runs BEGIN, <cmd with its header set>, END and expects `fault` at the
 * command (offset 16).
 */
static void fx_cmd_at(struct fx *f, int line, const char *what, uint8_t op, const void *cmd,
		      size_t size, uint32_t fault, uint64_t addr)
{
	uint32_t off, hdr = (uint32_t)op | (uint32_t)(size / 4) << 8;

	fx_restart(f);
	off = st_raw(&f->s, cmd, size);
	*st_at(&f->s, off) = hdr;
	st_end(&f->s);
	fx_expect_at(f, line, what, fault, off, addr);
}

#define EXPECT_CMD(f, what, op, cmd, fault, addr) \
	fx_cmd_at(f, __LINE__, what, op, &(cmd), sizeof(cmd), fault, addr)

/* ------------------------------------------------------------------ */
/* Valid base commands (each runs with NPU_FAULT_NONE)                 */
/* ------------------------------------------------------------------ */

static struct npu_cmd_conv base_conv(void)
{
	struct npu_cmd_conv c;

	memset(&c, 0, sizeof(c));
	c.in_addr = 0;
	c.w_addr = 1024;
	c.q_addr = 2048;
	c.out_addr = 4096;
	c.in_h = c.in_w = 4;
	c.in_c = c.in_pix_stride = 4;
	c.out_h = c.out_w = 2;
	c.out_c = c.out_pix_stride = 8;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = 1;
	c.dil_h = c.dil_w = 1;
	c.groups = 1;
	c.act_min = -128;
	c.act_max = 127;
	return c;
}

static struct npu_cmd_matmul base_matmul(void)
{
	struct npu_cmd_matmul c;

	memset(&c, 0, sizeof(c));
	c.a_addr = 0;
	c.b_addr = 1024;
	c.q_addr = 2048;
	c.out_addr = 4096;
	c.m = 4;
	c.k = c.a_row_stride = 8;
	c.n = c.out_row_stride = 4;
	c.act_min = -128;
	c.act_max = 127;
	return c;
}

static struct npu_cmd_eltwise base_eltwise(void)
{
	struct npu_cmd_eltwise c;

	memset(&c, 0, sizeof(c));
	c.op = NPU_ELT_ADD;
	c.a_addr = 0;
	c.b_addr = 1024;
	c.out_addr = 4096;
	c.count = 16;
	c.act_min = -128;
	c.act_max = 127;
	c.a_mult = c.b_mult = c.out_mult = 1u << 30;
	c.a_shift = c.b_shift = 31;
	c.out_shift = 49;
	return c;
}

static struct npu_cmd_pool base_pool(void)
{
	struct npu_cmd_pool c;

	memset(&c, 0, sizeof(c));
	c.mode = NPU_POOL_AVG;
	c.in_addr = 0;
	c.out_addr = 4096;
	c.in_h = c.in_w = 4;
	c.c = 4;
	c.out_h = c.out_w = 2;
	c.k_h = c.k_w = 2;
	c.stride_h = c.stride_w = 2;
	c.act_min = -128;
	c.act_max = 127;
	c.mult = 1u << 30;
	c.shift = 30;
	return c;
}

static struct npu_cmd_lut base_lut(void)
{
	struct npu_cmd_lut c;

	memset(&c, 0, sizeof(c));
	c.in_addr = 0;
	c.table_addr = 1024;
	c.out_addr = 4096;
	c.count = 16;
	return c;
}

static struct npu_cmd_dma base_dma(const struct fx *f)
{
	struct npu_cmd_dma c;

	memset(&c, 0, sizeof(c));
	c.flags = NPU_DMA_TO_SRAM;
	c.dram_lo = (uint32_t)f->data;
	c.dram_hi = (uint32_t)(f->data >> 32);
	c.sram = 0;
	c.inner_bytes = 64;
	c.count1 = c.count2 = 1;
	c.dram_stride1 = c.sram_stride1 = 64;
	c.dram_stride2 = c.sram_stride2 = 64;
	return c;
}

/* PALETTE4: 16 palette bytes + 8 index bytes -> 16 bytes. */
static struct npu_cmd_dma_decompress base_decompress(const struct fx *f)
{
	struct npu_cmd_dma_decompress c;

	memset(&c, 0, sizeof(c));
	c.format = NPU_COMPRESS_PALETTE4;
	c.src_lo = (uint32_t)f->data;
	c.src_hi = (uint32_t)(f->data >> 32);
	c.src_bytes = 24;
	c.sram = 0;
	c.out_bytes = 16;
	return c;
}

START_TEST(test_fault_bases_valid)
{
	struct fx f;
	struct npu_cmd_conv conv = base_conv();
	struct npu_cmd_matmul mm = base_matmul();
	struct npu_cmd_eltwise elt = base_eltwise();
	struct npu_cmd_pool pool = base_pool();
	struct npu_cmd_lut lut = base_lut();
	struct npu_cmd_dma dma;
	struct npu_cmd_dma_decompress dec;

	fx_init(&f);
	dma = base_dma(&f);
	dec = base_decompress(&f);
	EXPECT_CMD(&f, "conv", NPU_OP_CONV, conv, NPU_FAULT_NONE, 0);
	ck_assert_uint_eq(f.rep.macs, 2 * 2 * 8 * 9 * 4);
	EXPECT_CMD(&f, "matmul", NPU_OP_MATMUL, mm, NPU_FAULT_NONE, 0);
	EXPECT_CMD(&f, "eltwise", NPU_OP_ELTWISE, elt, NPU_FAULT_NONE, 0);
	EXPECT_CMD(&f, "pool", NPU_OP_POOL, pool, NPU_FAULT_NONE, 0);
	EXPECT_CMD(&f, "lut", NPU_OP_LUT, lut, NPU_FAULT_NONE, 0);
	EXPECT_CMD(&f, "dma", NPU_OP_DMA, dma, NPU_FAULT_NONE, 0);
	EXPECT_CMD(&f, "decompress", NPU_OP_DMA_DECOMPRESS, dec, NPU_FAULT_NONE, 0);
	/* A clean report has no fault fields set. */
	ck_assert_uint_eq(f.rep.fault_cmd_offset, 0);
	ck_assert_uint_eq(f.rep.fault_addr, 0);
	ck_assert_uint_eq(f.rep.commands, 3);
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Decode faults                                                       */
/* ------------------------------------------------------------------ */

static int known_opcode(unsigned int op)
{
	switch (op) {
	case NPU_OP_NOP: case NPU_OP_BEGIN: case NPU_OP_END: case NPU_OP_WAIT:
	case NPU_OP_JUMP: case NPU_OP_SIGNAL: case NPU_OP_DMA: case NPU_OP_DMA_DECOMPRESS:
	case NPU_OP_CONV: case NPU_OP_MATMUL: case NPU_OP_ELTWISE: case NPU_OP_POOL:
	case NPU_OP_LUT:
		return 1;
	default:
		return 0;
	}
}

START_TEST(test_fault_bad_opcode)
{
	struct fx f;
	int n = 0;

	fx_init(&f);
	for (unsigned int op = 0; op < 256; op++) {
		char what[32];

		if (known_opcode(op))
			continue;
		snprintf(what, sizeof(what), "opcode 0x%02x", op);
		fx_restart(&f);
		st_nop(&f.s);
		st_word(&f.s, op | 1u << 8);
		st_end(&f.s);
		EXPECT(&f, what, NPU_FAULT_BAD_OPCODE, 20, 0);
		n++;
	}
	ck_assert_int_eq(n, 256 - 13);
	/* An unknown opcode as the very first word. */
	stream_reset(&f.s);
	st_word(&f.s, 0x7f | 4u << 8);
	st_word(&f.s, NPU_ISA_VERSION);
	EXPECT(&f, "first word", NPU_FAULT_BAD_OPCODE, 0, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_length)
{
	struct fx f;
	uint32_t off;

	fx_init(&f);
	/* length 0 */
	fx_restart(&f);
	st_word(&f.s, NPU_OP_NOP);
	st_end(&f.s);
	EXPECT(&f, "NOP length 0", NPU_FAULT_BAD_LENGTH, 16, 0);
	fx_restart(&f);
	st_word(&f.s, NPU_OP_END);
	EXPECT(&f, "END length 0", NPU_FAULT_BAD_LENGTH, 16, 0);

	/* wrong length: one word short and one word long */
	fx_restart(&f);
	off = st_wait(&f.s, ENG_DMA, 0);
	*st_at(&f.s, off) = NPU_OP_WAIT | 2u << 8;
	st_end(&f.s);
	EXPECT(&f, "WAIT length 2", NPU_FAULT_BAD_LENGTH, 16, 0);
	{
		struct npu_cmd_conv c = base_conv();

		fx_restart(&f);
		st_nop(&f.s);
		off = st_conv(&f.s, &c);
		*st_at(&f.s, off) = NPU_OP_CONV | 16u << 8;
		st_word(&f.s, 0);
		st_end(&f.s);
		EXPECT(&f, "CONV length 16", NPU_FAULT_BAD_LENGTH, 20, 0);
	}
	/* first command BEGIN with a wrong length */
	stream_reset(&f.s);
	st_word(&f.s, NPU_OP_BEGIN | 3u << 8);
	st_word(&f.s, NPU_ISA_VERSION);
	st_word(&f.s, 0);
	st_end(&f.s);
	EXPECT(&f, "BEGIN length 3", NPU_FAULT_BAD_LENGTH, 0, 0);

	/* command running past the end of the stream */
	fx_restart(&f);
	st_word(&f.s, NPU_CMD_HDR(NPU_OP_CONV, struct npu_cmd_conv));
	st_word(&f.s, 0);
	st_word(&f.s, 0);
	EXPECT(&f, "CONV past end", NPU_FAULT_BAD_LENGTH, 16, 0);
	fx_restart(&f);
	st_word(&f.s, NPU_CMD_HDR(NPU_OP_WAIT, struct npu_cmd_wait));
	st_word(&f.s, ENG_DMA);
	EXPECT(&f, "WAIT past end", NPU_FAULT_BAD_LENGTH, 16, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_version)
{
	static const uint32_t bad[] = { 0, 2u << 16, 0xffffu << 16, (1u << 16) | 1,
					(1u << 16) | 0xffff, 0xffffffff };
	struct fx f;
	uint32_t off;

	fx_init(&f);
	/* no BEGIN first */
	stream_reset(&f.s);
	st_nop(&f.s);
	st_begin(&f.s);
	st_end(&f.s);
	EXPECT(&f, "NOP first", NPU_FAULT_BAD_VERSION, 0, 0);
	stream_reset(&f.s);
	st_end(&f.s);
	EXPECT(&f, "END first", NPU_FAULT_BAD_VERSION, 0, 0);
	stream_reset(&f.s);
	st_wait_idle(&f.s);
	st_end(&f.s);
	EXPECT(&f, "WAIT first", NPU_FAULT_BAD_VERSION, 0, 0);
	{
		struct npu_cmd_dma d = base_dma(&f);

		stream_reset(&f.s);
		st_raw(&f.s, &d, sizeof(d));
		*st_at(&f.s, 0) = NPU_CMD_HDR(NPU_OP_DMA, struct npu_cmd_dma);
		st_end(&f.s);
		EXPECT(&f, "DMA first", NPU_FAULT_BAD_VERSION, 0, 0);
	}
	/* unsupported versions */
	for (unsigned int i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char what[32];

		snprintf(what, sizeof(what), "version 0x%08x", bad[i]);
		stream_reset(&f.s);
		off = st_begin(&f.s);
		st_at(&f.s, off)[1] = bad[i];
		st_end(&f.s);
		EXPECT(&f, what, NPU_FAULT_BAD_VERSION, 0, 0);
	}
	/* the device's own version works */
	stream_reset(&f.s);
	st_begin(&f.s);
	st_end(&f.s);
	EXPECT(&f, "version 1.0", NPU_FAULT_NONE, 0, 0);
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* BAD_FIELD, one test per kind of field and command                   */
/* ------------------------------------------------------------------ */

START_TEST(test_fault_bad_field_control)
{
	struct fx f;
	uint32_t off;

	fx_init(&f);
	/* reserved header bits, on a control and on an engine command */
	fx_restart(&f);
	off = st_nop(&f.s);
	*st_at(&f.s, off) |= 1u << 16;
	st_end(&f.s);
	EXPECT(&f, "NOP hdr reserved", NPU_FAULT_BAD_FIELD, 16, 0);	/* the header */
	fx_restart(&f);
	off = st_wait_idle(&f.s);
	*st_at(&f.s, off) |= 1u << 31;
	st_end(&f.s);
	EXPECT(&f, "WAIT hdr reserved", NPU_FAULT_BAD_FIELD, 16, 0);

	/* BEGIN flags / reserved */
	stream_reset(&f.s);
	off = st_begin(&f.s);
	st_at(&f.s, off)[2] = 1;
	st_end(&f.s);
	EXPECT(&f, "BEGIN flags", NPU_FAULT_BAD_FIELD, 0, offsetof(struct npu_cmd_begin, flags));
	stream_reset(&f.s);
	off = st_begin(&f.s);
	st_at(&f.s, off)[3] = 0x80000000u;
	st_end(&f.s);
	EXPECT(&f, "BEGIN reserved", NPU_FAULT_BAD_FIELD, 0,
	       offsetof(struct npu_cmd_begin, reserved));

	/* WAIT: empty mask, unknown engine bit, max_outstanding beyond the queue */
	fx_restart(&f);
	st_wait(&f.s, 0, 0);
	st_end(&f.s);
	EXPECT(&f, "WAIT mask 0", NPU_FAULT_BAD_FIELD, 16, offsetof(struct npu_cmd_wait, engine_mask));
	fx_restart(&f);
	st_wait(&f.s, 1u << NPU_ENGINE_CTRL, 0);
	st_end(&f.s);
	EXPECT(&f, "WAIT mask ctrl", NPU_FAULT_BAD_FIELD, 16,
	       offsetof(struct npu_cmd_wait, engine_mask));
	fx_restart(&f);
	st_wait(&f.s, ENG_ALL | 1u << 31, 0);
	st_end(&f.s);
	EXPECT(&f, "WAIT mask bit 31", NPU_FAULT_BAD_FIELD, 16,
	       offsetof(struct npu_cmd_wait, engine_mask));
	fx_restart(&f);
	st_wait(&f.s, ENG_DMA, NPU_QUEUE_DEPTH);
	st_end(&f.s);
	EXPECT(&f, "WAIT max_outstanding", NPU_FAULT_BAD_FIELD, 16,
	       offsetof(struct npu_cmd_wait, max_outstanding));
	ck_assert_str_eq(npusim_cmd_field_name(NPU_OP_WAIT, 8), "max_outstanding");
	ck_assert_str_eq(npusim_cmd_field_name(NPU_OP_WAIT, 0), "header");
	ck_assert_ptr_null(npusim_cmd_field_name(0x7f, 8));
	ck_assert_str_eq(npusim_cmd_name(NPU_OP_WAIT), "WAIT");
	ck_assert_ptr_null(npusim_cmd_name(0x7f));
	fx_restart(&f);
	st_wait(&f.s, ENG_DMA, NPU_QUEUE_DEPTH - 1);
	st_end(&f.s);
	EXPECT(&f, "WAIT max_outstanding ok", NPU_FAULT_NONE, 0, 0);

	/* JUMP: target misaligned, at the end, far beyond */
	fx_restart(&f);
	st_jump(&f.s, 26);
	st_end(&f.s);
	EXPECT(&f, "JUMP misaligned", NPU_FAULT_BAD_FIELD, 16, offsetof(struct npu_cmd_jump, target));
	fx_restart(&f);
	st_jump(&f.s, 28);	/* == cmd_size */
	st_end(&f.s);
	EXPECT(&f, "JUMP to end", NPU_FAULT_BAD_FIELD, 16, offsetof(struct npu_cmd_jump, target));
	fx_restart(&f);
	st_jump(&f.s, 0xfffffffc);
	st_end(&f.s);
	EXPECT(&f, "JUMP far", NPU_FAULT_BAD_FIELD, 16, offsetof(struct npu_cmd_jump, target));

	/* SIGNAL: unknown flag bits */
	fx_restart(&f);
	st_signal(&f.s, 2, f.data, 1);
	st_end(&f.s);
	EXPECT(&f, "SIGNAL flags", NPU_FAULT_BAD_FIELD, 16, offsetof(struct npu_cmd_signal, flags));
	fx_free(&f);
}
END_TEST

/* stmt makes field bad: BAD_FIELD with fault_addr = the field's offset, which names it. */
#define BAD(f, op, base, type, field, stmt) do {				\
	type c_ = (base);							\
	type *c = &c_;								\
	stmt;									\
	fx_cmd_at(f, __LINE__, #stmt, op, c, sizeof(*c), NPU_FAULT_BAD_FIELD,	\
		  offsetof(type, field));					\
	ck_assert_str_eq(npusim_cmd_field_name(op, offsetof(type, field)), #field); \
} while (0)

START_TEST(test_fault_bad_field_dma)
{
	struct fx f;

	fx_init(&f);
#define BAD_DMA(field, stmt) BAD(&f, NPU_OP_DMA, base_dma(&f), struct npu_cmd_dma, field, stmt)
	BAD_DMA(flags, c->flags = 2);
	BAD_DMA(flags, c->flags = 3);
	BAD_DMA(flags, c->flags = 4);
	BAD_DMA(flags, c->flags = NPU_DMA_TO_DRAM | 1u << 31);
	BAD_DMA(inner_bytes, c->inner_bytes = 0);
	BAD_DMA(count1, c->count1 = 0);
	BAD_DMA(count2, c->count2 = 0);
#undef BAD_DMA
#define BAD_DEC(field, stmt) BAD(&f, NPU_OP_DMA_DECOMPRESS, base_decompress(&f), \
			  struct npu_cmd_dma_decompress, field, stmt)
	BAD_DEC(format, c->format = 0);
	BAD_DEC(format, c->format = 3);
	BAD_DEC(format, c->format = 0x101);
	BAD_DEC(src_bytes, c->src_bytes = 0);
	BAD_DEC(out_bytes, c->out_bytes = 0);
	BAD_DEC(reserved, c->reserved = 1);
	BAD_DEC(src_bytes, c->src_bytes = 2 * 16 + 16 + 1);	/* longer than any valid stream */
	BAD_DEC(out_bytes, c->out_bytes = f.sram_bytes + 1);
	BAD_DEC(src_bytes, c->format = NPU_COMPRESS_ZMASK; c->src_bytes = 0xffffffffu);
#undef BAD_DEC
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_field_conv)
{
	struct fx f;

	fx_init(&f);
#define BAD_CONV(field, stmt) BAD(&f, NPU_OP_CONV, base_conv(), struct npu_cmd_conv, field, stmt)
	BAD_CONV(flags, c->flags = 2);
	BAD_CONV(flags, c->flags = NPU_CONV_F_PER_TENSOR_Q | 1u << 31);
	BAD_CONV(reserved0, c->reserved0 = 1);
	BAD_CONV(reserved1, c->reserved1[0] = 1);
	BAD_CONV(reserved1, c->reserved1[1] = -1);
	BAD_CONV(reserved1, c->reserved1[2] = 64);
	BAD_CONV(in_h, c->in_h = 0);
	BAD_CONV(in_w, c->in_w = 0);
	BAD_CONV(in_c, c->in_c = 0);
	BAD_CONV(out_h, c->out_h = 0);
	BAD_CONV(out_w, c->out_w = 0);
	BAD_CONV(out_c, c->out_c = 0);
	BAD_CONV(in_pix_stride, c->in_pix_stride = 3);		/* < in_c */
	BAD_CONV(out_pix_stride, c->out_pix_stride = 7);	/* < out_c */
	BAD_CONV(k_h, c->k_h = 0);
	BAD_CONV(k_w, c->k_w = 0);
	BAD_CONV(k_h, c->k_h = NPU_CONV_MAX_K + 1);
	BAD_CONV(k_w, c->k_w = 255);
	BAD_CONV(stride_h, c->stride_h = 0);
	BAD_CONV(stride_w, c->stride_w = 0);
	BAD_CONV(stride_h, c->stride_h = NPU_MAX_STRIDE + 1);
	BAD_CONV(stride_w, c->stride_w = 255);
	BAD_CONV(dil_h, c->dil_h = 0);
	BAD_CONV(dil_w, c->dil_w = 0);
	BAD_CONV(dil_h, c->dil_h = NPU_MAX_DILATION + 1);
	BAD_CONV(dil_w, c->dil_w = 200);
	BAD_CONV(groups, c->groups = 0);
	BAD_CONV(groups, c->groups = 3);			/* divides neither */
	BAD_CONV(groups, c->out_c = 6; c->out_pix_stride = 6; c->groups = 4);	/* in_c only */
	BAD_CONV(groups, c->in_c = 6; c->in_pix_stride = 6; c->groups = 8);	/* out_c only */
	BAD_CONV(act_min, c->act_min = 1; c->act_max = 0);
	BAD_CONV(act_min, c->act_min = 127; c->act_max = -128);
#undef BAD_CONV
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_field_matmul)
{
	struct fx f;

	fx_init(&f);
#define BAD_MM(field, stmt) BAD(&f, NPU_OP_MATMUL, base_matmul(), struct npu_cmd_matmul, field, stmt)
	BAD_MM(flags, c->flags = 2);
	BAD_MM(reserved0, c->reserved0 = 1);
	BAD_MM(reserved1, c->reserved1[0] = 1);
	BAD_MM(reserved1, c->reserved1[2] = 1);
	BAD_MM(m, c->m = 0);
	BAD_MM(k, c->k = 0);
	BAD_MM(n, c->n = 0);
	BAD_MM(a_row_stride, c->a_row_stride = 7);	/* < k */
	BAD_MM(out_row_stride, c->out_row_stride = 3);	/* < n */
	BAD_MM(act_min, c->act_min = 5; c->act_max = 4);
#undef BAD_MM
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_field_eltwise)
{
	struct fx f;

	fx_init(&f);
#define BAD_ELT(field, stmt) BAD(&f, NPU_OP_ELTWISE, base_eltwise(), struct npu_cmd_eltwise, field, stmt)
	BAD_ELT(op, c->op = 3);
	BAD_ELT(op, c->op = 255);
	BAD_ELT(bcast, c->bcast = 3);
	BAD_ELT(reserved0, c->reserved0[0] = 1);
	BAD_ELT(reserved0, c->reserved0[1] = 1);
	BAD_ELT(count, c->count = 0);
	BAD_ELT(channels, c->channels = 4);				/* NONE */
	BAD_ELT(channels, c->bcast = NPU_BCAST_SCALAR; c->channels = 1);
	BAD_ELT(channels, c->bcast = NPU_BCAST_CHANNEL; c->channels = 0);
	BAD_ELT(out_shift, c->out_shift = 0);
	BAD_ELT(out_shift, c->out_shift = NPU_SHIFT_MAX + 1);
	BAD_ELT(a_shift, c->a_shift = 0);				/* ADD uses a_* */
	BAD_ELT(b_shift, c->op = NPU_ELT_SUB; c->b_shift = 255);
	BAD_ELT(out_mult, c->out_mult = 1u << 31);
	BAD_ELT(a_mult, c->a_mult = 0xffffffffu);
	BAD_ELT(b_mult, c->op = NPU_ELT_SUB; c->b_mult = 1u << 31);
	BAD_ELT(out_shift, c->op = NPU_ELT_MUL; c->out_shift = 0);
	BAD_ELT(act_min, c->act_min = 0; c->act_max = -1);
#undef BAD_ELT
	{
		/* MUL ignores the a_* and b_* rescale fields */
		struct npu_cmd_eltwise c = base_eltwise();

		c.op = NPU_ELT_MUL;
		c.a_shift = 0;
		c.b_shift = 200;
		c.a_mult = c.b_mult = 0xffffffffu;
		EXPECT_CMD(&f, "MUL with junk a/b scales", NPU_OP_ELTWISE, c, NPU_FAULT_NONE, 0);
	}
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_field_pool)
{
	struct fx f;

	fx_init(&f);
#define BAD_POOL(field, stmt) BAD(&f, NPU_OP_POOL, base_pool(), struct npu_cmd_pool, field, stmt)
	BAD_POOL(mode, c->mode = 2);
	BAD_POOL(flags, c->flags = 2);
	BAD_POOL(flags, c->flags = 0x80);
	BAD_POOL(reserved0, c->reserved0[0] = 1);
	BAD_POOL(reserved0, c->reserved0[1] = 1);
	BAD_POOL(reserved1, c->reserved1 = 1);
	BAD_POOL(in_h, c->in_h = 0);
	BAD_POOL(in_w, c->in_w = 0);
	BAD_POOL(c, c->c = 0);
	BAD_POOL(out_h, c->out_h = 0);
	BAD_POOL(out_w, c->out_w = 0);
	BAD_POOL(k_h, c->k_h = 0);
	BAD_POOL(k_w, c->k_w = 0);
	BAD_POOL(stride_h, c->stride_h = 0);
	BAD_POOL(stride_w, c->stride_w = 0);
	BAD_POOL(k_h, c->k_h = 257; c->k_w = 256);	/* window 65792 > 65536 */
	BAD_POOL(k_h, c->k_h = 65535; c->k_w = 65535);
	BAD_POOL(shift, c->shift = NPU_POOL_SHIFT_MAX + 1);
	BAD_POOL(mult, c->mult = 1u << 31);
	BAD_POOL(act_min, c->act_min = 10; c->act_max = 9);
#undef BAD_POOL
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_bad_field_lut)
{
	struct fx f;

	fx_init(&f);
#define BAD_LUT(field, stmt) BAD(&f, NPU_OP_LUT, base_lut(), struct npu_cmd_lut, field, stmt)
	BAD_LUT(reserved, c->reserved = 1);
	BAD_LUT(count, c->count = 0);
#undef BAD_LUT
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* SRAM_RANGE                                                          */
/* ------------------------------------------------------------------ */

#define RANGE(f, op, base, type, stmt, addr) do {				\
	type c_ = (base);							\
	type *c = &c_;								\
	stmt;									\
	fx_cmd_at(f, __LINE__, #stmt, op, c, sizeof(*c), NPU_FAULT_SRAM_RANGE, addr); \
} while (0)

START_TEST(test_fault_sram_range)
{
	struct fx f;
	uint32_t sz;

	fx_init(&f);
	sz = f.sram_bytes;
#define R_DMA(stmt, addr) RANGE(&f, NPU_OP_DMA, base_dma(&f), struct npu_cmd_dma, stmt, addr)
	R_DMA(c->sram = 0xffffffffu; c->inner_bytes = 1, 0xffffffffu);
	R_DMA(c->sram = sz, sz);
	R_DMA(c->sram = sz - 8; c->inner_bytes = 16, sz);
	R_DMA(c->flags = NPU_DMA_TO_DRAM; c->sram = sz - 63, sz);
	/* 32-bit wrap attempts: the span must be computed in 64 bits */
	R_DMA(c->sram = 0xfffffff0u; c->inner_bytes = 0x20, 0xfffffff0u);
	R_DMA(c->sram = 0x100; c->count1 = 2; c->sram_stride1 = 0xffffff00u, sz);
	R_DMA(c->count1 = 3; c->sram_stride1 = 0x80000000u, sz);
	R_DMA(c->count2 = 0xffffffffu; c->sram_stride2 = 0xffffffffu, sz);
	R_DMA(c->inner_bytes = 0xffffffffu, sz);
	R_DMA(c->count1 = 0x10000; c->count2 = 0x10000; c->sram_stride1 = 16;
	      c->sram_stride2 = 16 << 16, sz);
#undef R_DMA
#define R_DEC(stmt, addr) RANGE(&f, NPU_OP_DMA_DECOMPRESS, base_decompress(&f), \
				struct npu_cmd_dma_decompress, stmt, addr)
	R_DEC(c->sram = sz - 8, sz);
	R_DEC(c->sram = 0xffffffffu, 0xffffffffu);
#undef R_DEC
#define R_CONV(stmt, addr) RANGE(&f, NPU_OP_CONV, base_conv(), struct npu_cmd_conv, stmt, addr)
	R_CONV(c->in_addr = 0xffffffffu, 0xffffffffu);
	R_CONV(c->w_addr = 0xffffffffu, 0xffffffffu);
	R_CONV(c->q_addr = 0xffffffffu, 0xffffffffu);
	R_CONV(c->out_addr = 0xffffffffu, 0xffffffffu);
	R_CONV(c->in_addr = sz - 63, sz);		/* input is 64 bytes */
	R_CONV(c->w_addr = sz - 100, sz);		/* weights are 288 bytes */
	R_CONV(c->q_addr = sz - 12, sz);		/* 8 qparams, only 1 fits */
	R_CONV(c->out_addr = sz - 31, sz);		/* output is 32 bytes */
	R_CONV(c->in_h = 0xffff; c->in_w = 0xffff; c->in_pix_stride = 0xffff, sz);
	R_CONV(c->out_h = 0xffff; c->out_w = 0xffff; c->out_pix_stride = 0xffff, sz);
	R_CONV(c->out_c = 0xffff; c->out_pix_stride = 0xffff; c->k_h = 32; c->k_w = 32, sz);
#undef R_CONV
	{
		/* per-tensor: the single qparam at the very end is fine */
		struct npu_cmd_conv c = base_conv();

		c.q_addr = sz - 12;
		c.flags = NPU_CONV_F_PER_TENSOR_Q;
		EXPECT_CMD(&f, "conv per-tensor q at end", NPU_OP_CONV, c, NPU_FAULT_NONE, 0);
		c.q_addr = 2048;
		c.out_addr = sz - 32;
		c.in_addr = sz - 64 - 32;
		EXPECT_CMD(&f, "conv at the end", NPU_OP_CONV, c, NPU_FAULT_NONE, 0);
	}
#define R_MM(stmt, addr) RANGE(&f, NPU_OP_MATMUL, base_matmul(), struct npu_cmd_matmul, stmt, addr)
	R_MM(c->a_addr = 0xffffffffu, 0xffffffffu);
	R_MM(c->b_addr = 0xffffffffu, 0xffffffffu);
	R_MM(c->q_addr = 0xffffffffu, 0xffffffffu);
	R_MM(c->out_addr = 0xffffffffu, 0xffffffffu);
	R_MM(c->b_addr = sz - 31, sz);			/* B is 32 bytes */
	R_MM(c->m = 0xffff; c->a_row_stride = 0xffff, sz);
#undef R_MM
#define R_ELT(stmt, addr) RANGE(&f, NPU_OP_ELTWISE, base_eltwise(), struct npu_cmd_eltwise, \
				stmt, addr)
	R_ELT(c->a_addr = 0xffffffffu, 0xffffffffu);
	R_ELT(c->b_addr = 0xffffffffu, 0xffffffffu);
	R_ELT(c->out_addr = 0xffffffffu, 0xffffffffu);
	R_ELT(c->count = 0xffffffffu, sz);
	R_ELT(c->a_addr = 0xfffffff8u; c->count = 0x10, 0xfffffff8u);
	R_ELT(c->out_addr = sz - 15, sz);
	R_ELT(c->bcast = NPU_BCAST_SCALAR; c->b_addr = sz, sz);
	R_ELT(c->bcast = NPU_BCAST_CHANNEL; c->channels = 8; c->b_addr = sz - 7, sz);
#undef R_ELT
	{
		struct npu_cmd_eltwise c = base_eltwise();

		c.bcast = NPU_BCAST_SCALAR;
		c.b_addr = sz - 1;
		EXPECT_CMD(&f, "eltwise scalar at the last byte", NPU_OP_ELTWISE, c,
			   NPU_FAULT_NONE, 0);
	}
#define R_POOL(stmt, addr) RANGE(&f, NPU_OP_POOL, base_pool(), struct npu_cmd_pool, stmt, addr)
	R_POOL(c->in_addr = 0xffffffffu, 0xffffffffu);
	R_POOL(c->out_addr = 0xffffffffu, 0xffffffffu);
	R_POOL(c->in_addr = sz - 63, sz);		/* input is 64 bytes */
	R_POOL(c->out_addr = sz - 15, sz);		/* output is 16 bytes */
	R_POOL(c->in_h = 0xffff; c->in_w = 0xffff; c->c = 0xffff, sz);
#undef R_POOL
#define R_LUT(stmt, addr) RANGE(&f, NPU_OP_LUT, base_lut(), struct npu_cmd_lut, stmt, addr)
	R_LUT(c->in_addr = 0xffffffffu, 0xffffffffu);
	R_LUT(c->out_addr = 0xffffffffu, 0xffffffffu);
	R_LUT(c->table_addr = 0xffffffffu, 0xffffffffu);
	R_LUT(c->table_addr = sz - 255, sz);
	R_LUT(c->count = 0xffffffffu, sz);
#undef R_LUT
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Memory faults                                                       */
/* ------------------------------------------------------------------ */

START_TEST(test_fault_mmu_unmapped)
{
	struct fx f;
	struct npu_cmd_dma d;
	struct npu_job_report rep;
	struct npusim_job job;
	uint64_t end = FX_DRAM_BASE + FX_DRAM_SIZE;
	uint32_t off;

	fx_init(&f);
	/* below, at and across the end of the mapping, and above 4 GiB */
	d = base_dma(&f);
	d.dram_lo = 0x1000;
	EXPECT_CMD(&f, "dma below", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED, 0x1000);
	d.dram_lo = (uint32_t)end;
	EXPECT_CMD(&f, "dma at end", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED, end);
	d.dram_lo = (uint32_t)(end - 10);
	EXPECT_CMD(&f, "dma across end", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED, end);
	d.flags = NPU_DMA_TO_DRAM;
	EXPECT_CMD(&f, "dma out across end", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED, end);
	d = base_dma(&f);
	d.dram_hi = 1;
	EXPECT_CMD(&f, "dma va >= 2^32", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED,
		   (1ull << 32) | f.data);
	/* the third row of a 3-D copy leaves the mapping */
	d = base_dma(&f);
	d.dram_lo = (uint32_t)(end - 2 * 4096 - 64);
	d.count1 = 2;
	d.count2 = 3;
	d.dram_stride1 = 128;
	d.dram_stride2 = 4096;
	d.sram_stride1 = 64;
	d.sram_stride2 = 128;
	EXPECT_CMD(&f, "dma third row", NPU_OP_DMA, d, NPU_FAULT_MMU_UNMAPPED, end + 64);

	/* a failing command after good ones: offset of the failing one */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 256);
	st_dma_out(&f.s, 0, f.data + 4096, 256);
	off = st_dma_in(&f.s, 0x2000, 0, 16);
	st_end(&f.s);
	EXPECT(&f, "third DMA", NPU_FAULT_MMU_UNMAPPED, off, 0x2000);

	/* decompress source, signal target */
	{
		struct npu_cmd_dma_decompress c = base_decompress(&f);

		c.src_lo = 0x3000;
		EXPECT_CMD(&f, "decompress src", NPU_OP_DMA_DECOMPRESS, c,
			   NPU_FAULT_MMU_UNMAPPED, 0x3000);
	}
	fx_restart(&f);
	off = st_signal(&f.s, 0, 0x4000, 1);
	st_end(&f.s);
	EXPECT(&f, "signal", NPU_FAULT_MMU_UNMAPPED, off, 0x4000);

	/* the command stream itself */
	memset(&job, 0, sizeof(job));
	job.mem = &f.d.vmem;
	job.cmd_va = 0x8000;
	job.cmd_size = 64;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(rep.fault, NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(rep.fault_cmd_offset, 0);
	ck_assert_uint_eq(rep.fault_addr, 0x8000);
	job.cmd_va = end - 32;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(rep.fault_addr, end);
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_mmu_permission)
{
	struct fx f;
	struct npu_cmd_dma d;
	uint64_t ro = FX_DRAM_BASE + 0x80000;
	uint32_t off;

	fx_init(&f);
	tdram_add_ro(&f.d, ro, 0x2000);
	d = base_dma(&f);
	d.flags = NPU_DMA_TO_DRAM;
	d.dram_lo = (uint32_t)(ro - 32);	/* row starts writable, runs into RO */
	EXPECT_CMD(&f, "dma into RO", NPU_OP_DMA, d, NPU_FAULT_MMU_PERMISSION, ro);
	d.dram_lo = (uint32_t)(ro + 0x1000);
	EXPECT_CMD(&f, "dma inside RO", NPU_OP_DMA, d, NPU_FAULT_MMU_PERMISSION, ro + 0x1000);
	/* reading read-only memory is fine */
	d.flags = NPU_DMA_TO_SRAM;
	EXPECT_CMD(&f, "dma from RO", NPU_OP_DMA, d, NPU_FAULT_NONE, 0);
	/* writes just before the RO range are fine */
	d.flags = NPU_DMA_TO_DRAM;
	d.dram_lo = (uint32_t)(ro - 64);
	EXPECT_CMD(&f, "dma up to RO", NPU_OP_DMA, d, NPU_FAULT_NONE, 0);
	fx_restart(&f);
	off = st_signal(&f.s, NPU_SIGNAL_F_IRQ, ro + 8, 5);
	st_end(&f.s);
	EXPECT(&f, "signal into RO", NPU_FAULT_MMU_PERMISSION, off, ro + 8);
	fx_free(&f);
}
END_TEST

/* A bus error reported by the memory callbacks is passed through. */
START_TEST(test_fault_bus_error)
{
	struct fx f;
	struct npu_cmd_dma d;
	uint64_t bad = FX_DRAM_BASE + 0x9000;

	fx_init(&f);
	tdram_add_bus_error(&f.d, bad, 4096);
	d = base_dma(&f);
	d.dram_lo = (uint32_t)(bad - 16);
	EXPECT_CMD(&f, "dma read bus error", NPU_OP_DMA, d, NPU_FAULT_BUS_ERROR, bad);
	d.flags = NPU_DMA_TO_DRAM;
	EXPECT_CMD(&f, "dma write bus error", NPU_OP_DMA, d, NPU_FAULT_BUS_ERROR, bad);
	fx_free(&f);
}
END_TEST

/* SIGNAL's 64-bit target must be 8-byte aligned. */
START_TEST(test_fault_alignment)
{
	struct fx f;
	uint32_t off;

	fx_init(&f);
	for (unsigned int mis = 1; mis < 8; mis++) {
		fx_restart(&f);
		off = st_signal(&f.s, 0, f.data + 4096 + mis, 7);
		st_end(&f.s);
		EXPECT(&f, "signal misaligned", NPU_FAULT_ALIGNMENT, off, f.data + 4096 + mis);
	}
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Control flow                                                        */
/* ------------------------------------------------------------------ */

START_TEST(test_fault_watchdog)
{
	struct fx f;
	int got;

	fx_init(&f);
	/* JUMP to itself */
	fx_restart(&f);
	st_jump(&f.s, 16);
	st_end(&f.s);
	got = fx_run_wd(&f, 1000);
	ck_assert_int_eq(got, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(f.rep.fault, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(f.rep.fault_cmd_offset, 16);
	ck_assert_uint_eq(f.rep.fault_addr, 0);
	ck_assert_uint_eq(f.rep.cycles, 1000);	/* the job ends at its budget */
	ck_assert_uint_gt(f.rep.commands, 100);

	/* a two-command loop */
	fx_restart(&f);
	st_nop(&f.s);
	st_jump(&f.s, 16);
	st_end(&f.s);
	got = fx_run_wd(&f, 5000);
	ck_assert_int_eq(got, NPU_FAULT_WATCHDOG);
	ck_assert(f.rep.fault_cmd_offset == 16 || f.rep.fault_cmd_offset == 20);

	/* one long DMA (64 KiB: > 4096 cycles) over a budget of 1000 */
	fx_restart(&f);
	st_nop(&f.s);
	st_dma_in(&f.s, f.data, 0, FX_DATA_BYTES);
	st_end(&f.s);
	got = fx_run_wd(&f, 1000);
	ck_assert_int_eq(got, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(f.rep.fault_cmd_offset, 20);
	ck_assert_uint_eq(f.rep.cycles, 1000);
	ck_assert_uint_eq(f.rep.dram_read_bytes, f.s.n * 4);	/* the fetch only */

	/* the same job with the default budget completes */
	ck_assert_int_eq(fx_run_wd(&f, 0), NPU_FAULT_NONE);
	ck_assert_uint_gt(f.rep.cycles, 4096);
	fx_free(&f);
}
END_TEST

/*
 * The watchdog must bound the host work of a job, not only its modelled
 * cycles: a DMA of 2^64 one-byte rows onto the same SRAM byte fits every
 * range check, and its cost (saturated) is far over budget, so it must
 * fault WATCHDOG without being executed. (Its own test case with a short
 * timeout: a simulator that executes before checking the budget hangs.)
 */
START_TEST(test_fault_watchdog_bounds_work)
{
	struct fx f;
	uint32_t off;

	fx_init(&f);
	fx_restart(&f);
	off = st_dma(&f.s, NPU_DMA_TO_SRAM, f.data, 0, 1, 0xffffffffu, 0xffffffffu, 0, 0, 0, 0);
	st_end(&f.s);
	ck_assert_int_eq(fx_run_wd(&f, 100000), NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(f.rep.fault_cmd_offset, off);
	ck_assert_uint_eq(f.rep.cycles, 100000);
	fx_free(&f);
}
END_TEST

START_TEST(test_fault_stream_overrun)
{
	struct fx f;
	uint32_t off;

	fx_init(&f);
	fx_restart(&f);
	EXPECT(&f, "BEGIN only", NPU_FAULT_STREAM_OVERRUN, 16, 0);
	fx_restart(&f);
	st_nop(&f.s);
	st_wait_idle(&f.s);
	EXPECT(&f, "no END", NPU_FAULT_STREAM_OVERRUN, 32, 0);
	/* jump to the last command, which is not END */
	fx_restart(&f);
	st_jump(&f.s, 28);
	st_word(&f.s, 0xdeadbeef);	/* skipped */
	off = st_nop(&f.s);
	EXPECT(&f, "jump then run off", NPU_FAULT_STREAM_OVERRUN, off + 4, 0);
	fx_free(&f);
}
END_TEST

/* JUMP skips over garbage; commands count every executed command. */
START_TEST(test_jump_forward)
{
	struct fx f;
	uint32_t jmp, end, nop;

	fx_init(&f);
	fx_restart(&f);
	jmp = st_jump(&f.s, 0);
	st_word(&f.s, 0xffffffff);
	st_word(&f.s, 0x12345678);
	end = st_end(&f.s);
	st_at(&f.s, jmp)[1] = end;
	EXPECT(&f, "jump over garbage", NPU_FAULT_NONE, 0, 0);
	ck_assert_uint_eq(f.rep.commands, 3);
	/* jump backwards into the middle, then forward to END */
	fx_restart(&f);
	jmp = st_jump(&f.s, 0);		/* 16: -> 36 */
	end = st_end(&f.s);		/* 24 */
	st_word(&f.s, 0xffffffff);	/* 28 */
	st_word(&f.s, 0xffffffff);	/* 32 */
	nop = st_nop(&f.s);		/* 36 */
	st_jump(&f.s, end);		/* 40 */
	st_at(&f.s, jmp)[1] = nop;
	EXPECT(&f, "jump back and forth", NPU_FAULT_NONE, 0, 0);
	ck_assert_uint_eq(f.rep.commands, 5);
	fx_free(&f);
}
END_TEST

static void on_signal(void *opaque, uint64_t value)
{
	uint64_t *p = opaque;

	p[0]++;
	p[1] = value;
}

/* SIGNAL writes its value after all engines are idle, IRQ callback on request. */
START_TEST(test_signal)
{
	struct fx f;
	struct npusim_job job;
	uint64_t calls[2] = { 0, 0 }, va;
	uint8_t *p;

	fx_init(&f);
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 4096);
	st_signal(&f.s, 0, f.data + 8192, 0x1122334455667788ull);
	st_signal(&f.s, NPU_SIGNAL_F_IRQ, f.data + 8200, 42);
	st_end(&f.s);
	f.d.next = f.mark;
	va = tdram_put(&f.d, f.s.w, stream_bytes(&f.s));
	memset(&job, 0, sizeof(job));
	job.mem = &f.d.vmem;
	job.cmd_va = va;
	job.cmd_size = stream_bytes(&f.s);
	job.on_signal = on_signal;
	job.signal_opaque = calls;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &f.rep), NPU_FAULT_NONE);
	p = tdram_ptr(&f.d, f.data + 8192, 16);
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(p[i], (0x1122334455667788ull >> (8 * i)) & 0xff);
	ck_assert_uint_eq(p[8], 42);
	ck_assert_uint_eq(calls[0], 1);
	ck_assert_uint_eq(calls[1], 42);
	/* the signal waited for the DMA: 4096 bytes take 100 + 256 cycles */
	ck_assert_uint_ge(f.rep.cycles, 356);
	ck_assert_uint_eq(f.rep.dram_write_bytes, 16);
	fx_free(&f);
}
END_TEST

/* Job-level checks before the stream is fetched, and abort. */
START_TEST(test_fault_descriptor_and_abort)
{
	struct fx f;
	struct npusim_job job;
	struct npu_job_report rep;
	int stop = 1;
	uint64_t va;

	fx_init(&f);
	fx_restart(&f);
	st_end(&f.s);
	va = tdram_put(&f.d, f.s.w, stream_bytes(&f.s));
	memset(&job, 0, sizeof(job));
	job.mem = &f.d.vmem;
	job.cmd_va = va;
	job.cmd_size = 0;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_BAD_DESCRIPTOR);
	job.cmd_size = 18;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_BAD_DESCRIPTOR);
	job.cmd_size = NPU_CMD_MAX_BYTES + 4;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_BAD_DESCRIPTOR);
	job.cmd_size = 20;
	job.cmd_va = va + 2;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_BAD_DESCRIPTOR);
	job.cmd_va = va;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_NONE);
	job.abort = &stop;
	ck_assert_int_eq(npusim_core_run(f.core, &job, &rep), NPU_FAULT_ABORTED);
	ck_assert_uint_eq(rep.fault, NPU_FAULT_ABORTED);
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* HAZARD                                                              */
/* ------------------------------------------------------------------ */

/* DMA fills the conv input, [WAIT], CONV reads it. */
static uint32_t hazard_raw_stream(struct fx *f, int with_wait)
{
	struct npu_cmd_conv c = base_conv();
	uint32_t off;

	fx_restart(f);
	st_dma_in(&f->s, f->data, 1024, 2048);	/* weights + qparams */
	st_wait(&f->s, ENG_DMA, 0);
	st_dma_in(&f->s, f->data, 0, 64);	/* the input */
	if (with_wait)
		st_wait(&f->s, ENG_DMA, 0);
	off = st_conv(&f->s, &c);
	st_end(&f->s);
	return off;
}

START_TEST(test_fault_hazard)
{
	struct fx f;
	struct npu_cmd_conv c = base_conv();
	struct npu_cmd_lut l = base_lut();
	struct npusim_config cfg;
	uint32_t off;

	fx_init(&f);
	/* read after write: CONV reads what an unfinished DMA writes */
	off = hazard_raw_stream(&f, 0);
	EXPECT(&f, "RAW", NPU_FAULT_HAZARD, off, c.out_addr);
	hazard_raw_stream(&f, 1);
	EXPECT(&f, "RAW with WAIT", NPU_FAULT_NONE, 0, 0);

	/* write after read: DMA overwrites the input of a running CONV */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 4096);
	st_wait_idle(&f.s);
	st_conv(&f.s, &c);
	off = st_dma_in(&f.s, f.data, 32, 16);
	st_end(&f.s);
	EXPECT(&f, "WAR", NPU_FAULT_HAZARD, off, 32);

	/* write after write: DMA and LUT write the same bytes */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 2048);
	st_wait_idle(&f.s);
	st_lut(&f.s, &l);
	off = st_dma_in(&f.s, f.data, l.out_addr + 8, 16);
	st_end(&f.s);
	EXPECT(&f, "WAW", NPU_FAULT_HAZARD, off, l.out_addr + 8);

	/* DMA out of a result still being computed */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 4096);
	st_wait_idle(&f.s);
	st_conv(&f.s, &c);
	off = st_dma_out(&f.s, c.out_addr, f.data + 8192, 32);
	st_end(&f.s);
	EXPECT(&f, "store before WAIT", NPU_FAULT_HAZARD, off, 0);	/* writes no SRAM */

	/* no hazard: disjoint buffers, or same engine (in order) */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 0, 4096);
	st_wait_idle(&f.s);
	st_conv(&f.s, &c);
	st_dma_in(&f.s, f.data, 8192, 4096);
	st_lut(&f.s, &(struct npu_cmd_lut){ .in_addr = 20000, .out_addr = 30000,
					    .table_addr = 40000, .count = 100 });
	st_dma_in(&f.s, f.data, 8192, 4096);
	st_end(&f.s);
	EXPECT(&f, "disjoint", NPU_FAULT_NONE, 0, 0);

	/* WAIT with max_outstanding 1: the older of two DMAs is done */
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 1024, 2048);	/* weights, qparams */
	st_dma_in(&f.s, f.data, 0, 64);		/* input */
	st_dma_in(&f.s, f.data, 10000, 8192);	/* unrelated */
	st_wait(&f.s, ENG_DMA, 1);
	st_conv(&f.s, &c);
	st_end(&f.s);
	EXPECT(&f, "partial WAIT enough", NPU_FAULT_NONE, 0, 0);
	fx_restart(&f);
	st_dma_in(&f.s, f.data, 1024, 2048);
	st_dma_in(&f.s, f.data, 10000, 8192);
	st_dma_in(&f.s, f.data, 0, 64);		/* input last */
	st_wait(&f.s, ENG_DMA, 1);
	off = st_conv(&f.s, &c);
	st_end(&f.s);
	EXPECT(&f, "partial WAIT not enough", NPU_FAULT_HAZARD, off, c.out_addr);
	fx_free(&f);

	/* with hazard checking off, the racy stream runs */
	npusim_config_default(&cfg);
	cfg.hazard_check = 0;
	fx_init_cfg(&f, &cfg);
	hazard_raw_stream(&f, 0);
	EXPECT(&f, "RAW unchecked", NPU_FAULT_NONE, 0, 0);
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* DECOMPRESS                                                          */
/* ------------------------------------------------------------------ */

START_TEST(test_fault_decompress)
{
	/* ZMASK for 12 bytes: group 1 mask 0x05 (2 values), group 2 mask 0x09 (2 values) */
	static const uint8_t zm[] = { 0x05, 11, 22, 0x09, 33, 44 };
	struct fx f;
	struct npu_cmd_dma_decompress c;
	uint8_t *src;
	uint64_t va;
	uint8_t out[16];

	fx_init(&f);
	va = f.data + 30000;
	src = tdram_ptr(&f.d, va, 64);
	memcpy(src, zm, sizeof(zm));
	src[sizeof(zm)] = 0x77;
	c = base_decompress(&f);
	c.format = NPU_COMPRESS_ZMASK;
	c.src_lo = (uint32_t)va;
	c.src_bytes = sizeof(zm);
	c.out_bytes = 12;
	ck_assert_int_eq(ref_decompress(c.format, src, c.src_bytes, out, 12), 0);
	EXPECT_CMD(&f, "zmask valid", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_NONE, 0);
	c.src_bytes = sizeof(zm) + 1;		/* one byte not consumed */
	ck_assert_int_ne(ref_decompress(c.format, src, c.src_bytes, out, 12), 0);
	EXPECT_CMD(&f, "zmask trailing", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_DECOMPRESS,
		   va + sizeof(zm));
	c.src_bytes = sizeof(zm) - 1;		/* stream ends early */
	ck_assert_int_ne(ref_decompress(c.format, src, c.src_bytes, out, 12), 0);
	EXPECT_CMD(&f, "zmask short", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_DECOMPRESS,
		   va + sizeof(zm) - 1);
	c.src_bytes = sizeof(zm);
	c.out_bytes = 11;			/* mask bit 3 of group 2 is byte 11 */
	ck_assert_int_ne(ref_decompress(c.format, src, c.src_bytes, out, 11), 0);
	EXPECT_CMD(&f, "zmask bit past end", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_DECOMPRESS,
		   va + 3);
	/* The worked example of npu-architecture.rst, with its three faults. */
	{
		static const uint8_t ex[] = { 0x12, 0x05, 0xfd, 0x01, 0x07, 0x00 };
		static const uint8_t dec[10] = { 0, 5, 0, 0, 0xfd, 0, 0, 0, 7, 0 };

		memcpy(src, ex, sizeof(ex));
		c.src_bytes = 5;
		c.out_bytes = 10;
		ck_assert_int_eq(ref_decompress(c.format, src, 5, out, 10), 0);
		ck_assert_mem_eq(out, dec, 10);
		EXPECT_CMD(&f, "doc example", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_NONE, 0);
		c.src_bytes = 6;
		EXPECT_CMD(&f, "doc trailing byte", NPU_OP_DMA_DECOMPRESS, c,
			   NPU_FAULT_DECOMPRESS, va + 5);
		c.src_bytes = 4;
		EXPECT_CMD(&f, "doc missing value", NPU_OP_DMA_DECOMPRESS, c,
			   NPU_FAULT_DECOMPRESS, va + 4);
		c.src_bytes = 5;
		src[3] = 0x05;
		EXPECT_CMD(&f, "doc mask past end", NPU_OP_DMA_DECOMPRESS, c,
			   NPU_FAULT_DECOMPRESS, va + 3);
	}
	/* PALETTE4 for 16 bytes needs exactly 16 + 8 */
	c = base_decompress(&f);
	c.src_bytes = 23;
	EXPECT_CMD(&f, "palette short", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_DECOMPRESS,
		   f.data + 23);
	c.src_bytes = 25;
	EXPECT_CMD(&f, "palette long", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_DECOMPRESS,
		   f.data + 24);
	c.out_bytes = 15;			/* odd: still 8 index bytes */
	c.src_bytes = 24;
	EXPECT_CMD(&f, "palette odd", NPU_OP_DMA_DECOMPRESS, c, NPU_FAULT_NONE, 0);
	fx_free(&f);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Fuzzing                                                             */
/* ------------------------------------------------------------------ */

static const uint8_t fuzz_ops[] = {
	NPU_OP_NOP, NPU_OP_BEGIN, NPU_OP_END, NPU_OP_WAIT, NPU_OP_JUMP, NPU_OP_SIGNAL,
	NPU_OP_DMA, NPU_OP_DMA_DECOMPRESS, NPU_OP_CONV, NPU_OP_MATMUL, NPU_OP_ELTWISE,
	NPU_OP_POOL, NPU_OP_LUT,
};

static const uint8_t fuzz_words[] = { 1, 4, 1, 3, 2, 6, 12, 8, 15, 11, 12, 12, 6 };

/* A body word biased towards values that pass validation. */
static uint32_t fuzz_word(struct trng *r, struct fx *f)
{
	switch (trng_range(r, 0, 7)) {
	case 0: return 0;
	case 1: return (uint32_t)trng_range(r, 1, 16);
	case 2: return (uint32_t)trng_range(r, 0, 255) * 0x01010101u & 0x0f0f0f0f;
	case 3: return (uint32_t)trng_range(r, 1, 8) | (uint32_t)trng_range(r, 1, 8) << 16;
	case 4: return (uint32_t)(f->data + (uint64_t)trng_range(r, 0, FX_DATA_BYTES));
	case 5: return (uint32_t)trng_range(r, 0, f->sram_bytes);
	default: return (uint32_t)trng_next(r);
	}
}

static void fuzz_check_report(struct fx *f, int got, const char *kind, int i, uint64_t seed)
{
	ck_assert_msg(got >= 0 && got < NPU_FAULT_COUNT && got != NPU_FAULT_BAD_DESCRIPTOR &&
		      got != NPU_FAULT_ABORTED && (uint32_t)got == f->rep.fault,
		      "%s %d seed 0x%llx: fault %d", kind, i, (unsigned long long)seed, got);
	ck_assert_msg(f->rep.fault_cmd_offset <= stream_bytes(&f->s) &&
		      f->rep.fault_cmd_offset % 4 == 0,
		      "%s %d seed 0x%llx: fault offset %u", kind, i, (unsigned long long)seed,
		      f->rep.fault_cmd_offset);
	ck_assert_msg(f->rep.busy_cycles[0] <= f->rep.cycles &&
		      f->rep.busy_cycles[1] <= f->rep.cycles &&
		      f->rep.busy_cycles[2] <= f->rep.cycles,
		      "%s %d: busy cycles exceed job cycles", kind, i);
}

/*
 * One command: usually a valid base command of a random opcode with a
 * word or two replaced or bit-flipped, sometimes a random body, rarely a
 * raw random word.
 */
static void fuzz_cmd(struct trng *r, struct fx *f)
{
	unsigned int o = (unsigned int)trng_range(r, 0, sizeof(fuzz_ops) - 1);
	union {
		uint32_t w[16];
		struct npu_cmd_dma dma;
		struct npu_cmd_dma_decompress dec;
		struct npu_cmd_conv conv;
		struct npu_cmd_matmul mm;
		struct npu_cmd_eltwise elt;
		struct npu_cmd_pool pool;
		struct npu_cmd_lut lut;
	} u;
	uint8_t op = fuzz_ops[o];
	size_t words = fuzz_words[o];

	if (trng_chance(r, 10)) {
		st_word(&f->s, (uint32_t)trng_next(r));
		return;
	}
	memset(&u, 0, sizeof(u));
	switch (op) {
	case NPU_OP_BEGIN: u.w[1] = NPU_ISA_VERSION; break;
	case NPU_OP_WAIT:
		u.w[1] = (uint32_t)trng_range(r, 1, 7);
		u.w[2] = (uint32_t)trng_range(r, 0, NPU_QUEUE_DEPTH - 1);
		break;
	case NPU_OP_JUMP: u.w[1] = 4 * (uint32_t)trng_range(r, 0, 40); break;
	case NPU_OP_SIGNAL: u.w[2] = (uint32_t)f->data + 8 * (uint32_t)trng_range(r, 0, 99); break;
	case NPU_OP_DMA: u.dma = base_dma(f); break;
	case NPU_OP_DMA_DECOMPRESS: u.dec = base_decompress(f); break;
	case NPU_OP_CONV: u.conv = base_conv(); break;
	case NPU_OP_MATMUL: u.mm = base_matmul(); break;
	case NPU_OP_ELTWISE: u.elt = base_eltwise(); break;
	case NPU_OP_POOL: u.pool = base_pool(); break;
	case NPU_OP_LUT: u.lut = base_lut(); break;
	default: break;
	}
	if (words > 1 && trng_chance(r, 80)) {
		int n = (int)trng_range(r, 0, 2);

		for (int k = 0; k < n; k++) {
			size_t w = (size_t)trng_range(r, 1, (int64_t)words - 1);

			if (trng_chance(r, 50))
				u.w[w] ^= 1u << trng_range(r, 0, 31);
			else
				u.w[w] = fuzz_word(r, f);
		}
	} else {
		for (size_t w = 1; w < words; w++)
			u.w[w] = fuzz_word(r, f);
	}
	u.w[0] = op | (uint32_t)words << 8;
	st_raw(&f->s, u.w, words * 4);
}

START_TEST(test_fuzz_random_streams)
{
	struct fx f;
	struct trng r;
	unsigned int hist[NPU_FAULT_COUNT] = { 0 };

	fx_init(&f);
	trng_init(&r, FAULT_SEED);
	for (int i = 0; i < 1000; i++) {
		int n = (int)trng_range(&r, 1, 24), got;

		fx_restart(&f);
		for (int k = 0; k < n; k++)
			fuzz_cmd(&r, &f);
		if (trng_chance(&r, 70))
			st_end(&f.s);
		got = fx_run_wd(&f, 100000);
		fuzz_check_report(&f, got, "random stream", i, r.seed);
		hist[got]++;
	}
	/* The generator must reach past decoding, or the fuzzing proves little. */
	for (int k = 0; k < NPU_FAULT_COUNT; k++)
		if (getenv("NPU_TEST_VERBOSE"))
			fprintf(stderr, "%s=%u ", npusim_fault_name((uint32_t)k), hist[k]);
	ck_assert_uint_gt(hist[NPU_FAULT_NONE], 50);
	ck_assert_uint_gt(hist[NPU_FAULT_BAD_FIELD], 50);
	ck_assert_uint_gt(hist[NPU_FAULT_SRAM_RANGE], 10);
	ck_assert_uint_gt(hist[NPU_FAULT_HAZARD], 10);
	fx_free(&f);
}
END_TEST

/*
 * A valid CONV job (loads, CONV, store) and its expected output; mutated
 * copies are run, then the original again: it must still be right.
 */
static void build_conv_job(struct fx *f, struct npu_cmd_conv *c, uint64_t out_va)
{
	*c = base_conv();
	c->in_h = c->in_w = 6;
	c->out_h = c->out_w = 4;
	c->in_zp = 3;
	c->out_zp = -2;
	fx_restart(f);
	st_dma_in(&f->s, f->data, c->in_addr, 6 * 6 * 4);
	st_dma_in(&f->s, f->data + 512, c->w_addr, 8 * 9 * 4);
	st_dma(&f->s, NPU_DMA_TO_SRAM, f->data + 2048, c->q_addr, 12, 8, 1, 12, 96, 12, 96);
	st_wait(&f->s, ENG_DMA, 0);
	st_conv(&f->s, c);
	st_wait(&f->s, ENG_MAC, 0);
	st_dma_out(&f->s, c->out_addr, out_va, 4 * 4 * 8);
	st_end(&f->s);
}

START_TEST(test_fuzz_mutated_conv_job)
{
	struct fx f;
	struct trng r;
	struct npu_cmd_conv c;
	struct stream orig;
	uint8_t *model, *data, want[128];
	uint64_t out_va;
	unsigned int none = 0;

	fx_init(&f);
	trng_init(&r, FAULT_SEED + 1);
	out_va = f.data + FX_DATA_BYTES - 4096;
	/* qparams: sane scales on top of the data pattern */
	for (int i = 0; i < 8; i++)
		put_qparam(tdram_ptr(&f.d, f.data + 2048 + 12 * i, 12), i * 100 - 300,
			   1u << 30, 40);
	build_conv_job(&f, &c, out_va);
	model = calloc(1, f.sram_bytes);
	ck_assert_ptr_nonnull(model);
	memcpy(model + c.in_addr, tdram_ptr(&f.d, f.data, 144), 144);
	memcpy(model + c.w_addr, tdram_ptr(&f.d, f.data + 512, 288), 288);
	memcpy(model + c.q_addr, tdram_ptr(&f.d, f.data + 2048, 96), 96);
	ck_assert_int_eq(ref_conv(model, f.sram_bytes, &c), 0);
	memcpy(want, model + c.out_addr, 128);
	free(model);
	ck_assert_int_eq(fx_run(&f), NPU_FAULT_NONE);
	ck_assert_mem_eq(tdram_ptr(&f.d, out_va, 128), want, 128);

	data = malloc(FX_DATA_BYTES);
	ck_assert_ptr_nonnull(data);
	memcpy(data, tdram_ptr(&f.d, f.data, FX_DATA_BYTES), FX_DATA_BYTES);
	stream_init(&orig);
	for (size_t k = 0; k < f.s.n; k++)
		st_word(&orig, f.s.w[k]);
	for (int i = 0; i < 1000; i++) {
		int nmut = (int)trng_range(&r, 1, 3), got;

		memcpy(f.s.w, orig.w, orig.n * 4);
		for (int m = 0; m < nmut; m++) {
			size_t w = (size_t)trng_range(&r, 0, (int64_t)orig.n - 1);

			switch (trng_range(&r, 0, 3)) {
			case 0:
			case 1:
				f.s.w[w] ^= 1u << trng_range(&r, 0, 31);
				break;
			case 2:
				f.s.w[w] = fuzz_word(&r, &f);
				break;
			default:	/* truncate the stream */
				f.s.n = w + 1;
				break;
			}
		}
		got = fx_run_wd(&f, 100000);
		fuzz_check_report(&f, got, "mutated conv", i, r.seed);
		none += got == NPU_FAULT_NONE;
		f.s.n = orig.n;
	}
	/* Some mutations are harmless (data bits): they must complete. */
	ck_assert_uint_gt(none, 0);
	/* After all that (mutated stores may have hit the data), the original job still works. */
	memcpy(tdram_ptr(&f.d, f.data, FX_DATA_BYTES), data, FX_DATA_BYTES);
	memcpy(f.s.w, orig.w, orig.n * 4);
	memset(tdram_ptr(&f.d, out_va, 128), 0, 128);
	ck_assert_int_eq(fx_run(&f), NPU_FAULT_NONE);
	ck_assert_mem_eq(tdram_ptr(&f.d, out_va, 128), want, 128);
	stream_free(&orig);
	free(data);
	fx_free(&f);
}
END_TEST

Suite *suite_faults(void);
Suite *suite_faults(void)
{
	Suite *s = suite_create("faults");
	TCase *tc = tcase_create("faults");
	TCase *wd = tcase_create("watchdog_bound");
	TCase *fz = tcase_create("fuzz");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fault_bases_valid);
	tcase_add_test(tc, test_fault_bad_opcode);
	tcase_add_test(tc, test_fault_bad_length);
	tcase_add_test(tc, test_fault_bad_version);
	tcase_add_test(tc, test_fault_bad_field_control);
	tcase_add_test(tc, test_fault_bad_field_dma);
	tcase_add_test(tc, test_fault_bad_field_conv);
	tcase_add_test(tc, test_fault_bad_field_matmul);
	tcase_add_test(tc, test_fault_bad_field_eltwise);
	tcase_add_test(tc, test_fault_bad_field_pool);
	tcase_add_test(tc, test_fault_bad_field_lut);
	tcase_add_test(tc, test_fault_sram_range);
	tcase_add_test(tc, test_fault_mmu_unmapped);
	tcase_add_test(tc, test_fault_mmu_permission);
	tcase_add_test(tc, test_fault_bus_error);
	tcase_add_test(tc, test_fault_alignment);
	tcase_add_test(tc, test_fault_watchdog);
	tcase_add_test(tc, test_fault_stream_overrun);
	tcase_add_test(tc, test_jump_forward);
	tcase_add_test(tc, test_signal);
	tcase_add_test(tc, test_fault_descriptor_and_abort);
	tcase_add_test(tc, test_fault_hazard);
	tcase_add_test(tc, test_fault_decompress);
	suite_add_tcase(s, tc);
	tcase_set_timeout(wd, 2);
	tcase_add_test(wd, test_fault_watchdog_bounds_work);
	suite_add_tcase(s, wd);
	tcase_set_timeout(fz, 120);
	tcase_add_test(fz, test_fuzz_random_streams);
	tcase_add_test(fz, test_fuzz_mutated_conv_job);
	suite_add_tcase(s, fz);
	return s;
}
