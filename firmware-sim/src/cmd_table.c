// SPDX-License-Identifier: MIT
/*
 * The NPU's commands, one row each: name, length, engine, the engine's
 * check and execute functions, and the names of the fields by byte offset
 * (a BAD_FIELD fault reports the offending field's offset in fault_addr,
 * npu-architecture.rst; npusim_cmd_field_name() names it). The dispatcher
 * (core.c) decodes every command through this table; adding a command is
 * adding a row (Documentation/howto-npu-command.md). Field entries are
 * written with offsetof on npu_isa.h's structs, so a renamed or moved
 * field breaks the build rather than a message. The faults' names live
 * here too.
 */
#include <stddef.h>

#include "internal.h"

struct cmd_field {
	unsigned int offset;
	const char *name;
};
#define field cmd_field

#define F(type, f) { offsetof(struct type, f), #f }

static const struct field begin_f[] = {
	F(npu_cmd_begin, version), F(npu_cmd_begin, flags), F(npu_cmd_begin, reserved),
};
static const struct field wait_f[] = {
	F(npu_cmd_wait, engine_mask), F(npu_cmd_wait, max_outstanding),
};
static const struct field jump_f[] = { F(npu_cmd_jump, target) };
static const struct field signal_f[] = {
	F(npu_cmd_signal, flags), F(npu_cmd_signal, addr_lo), F(npu_cmd_signal, addr_hi),
	F(npu_cmd_signal, value_lo), F(npu_cmd_signal, value_hi),
};
static const struct field dma_f[] = {
	F(npu_cmd_dma, flags), F(npu_cmd_dma, dram_lo), F(npu_cmd_dma, dram_hi),
	F(npu_cmd_dma, sram), F(npu_cmd_dma, inner_bytes), F(npu_cmd_dma, count1),
	F(npu_cmd_dma, count2), F(npu_cmd_dma, dram_stride1), F(npu_cmd_dma, dram_stride2),
	F(npu_cmd_dma, sram_stride1), F(npu_cmd_dma, sram_stride2),
};
static const struct field dec_f[] = {
	F(npu_cmd_dma_decompress, format), F(npu_cmd_dma_decompress, src_lo),
	F(npu_cmd_dma_decompress, src_hi), F(npu_cmd_dma_decompress, src_bytes),
	F(npu_cmd_dma_decompress, sram), F(npu_cmd_dma_decompress, out_bytes),
	F(npu_cmd_dma_decompress, reserved),
};
static const struct field conv_f[] = {
	F(npu_cmd_conv, flags), F(npu_cmd_conv, in_addr), F(npu_cmd_conv, w_addr),
	F(npu_cmd_conv, q_addr), F(npu_cmd_conv, out_addr), F(npu_cmd_conv, in_h),
	F(npu_cmd_conv, in_w), F(npu_cmd_conv, in_c), F(npu_cmd_conv, in_pix_stride),
	F(npu_cmd_conv, out_h), F(npu_cmd_conv, out_w), F(npu_cmd_conv, out_c),
	F(npu_cmd_conv, out_pix_stride), F(npu_cmd_conv, k_h), F(npu_cmd_conv, k_w),
	F(npu_cmd_conv, stride_h), F(npu_cmd_conv, stride_w), F(npu_cmd_conv, dil_h),
	F(npu_cmd_conv, dil_w), F(npu_cmd_conv, pad_top), F(npu_cmd_conv, pad_left),
	F(npu_cmd_conv, groups), F(npu_cmd_conv, reserved0), F(npu_cmd_conv, in_zp),
	F(npu_cmd_conv, w_zp), F(npu_cmd_conv, out_zp), F(npu_cmd_conv, act_min),
	F(npu_cmd_conv, act_max), F(npu_cmd_conv, reserved1),
};
static const struct field matmul_f[] = {
	F(npu_cmd_matmul, flags), F(npu_cmd_matmul, a_addr), F(npu_cmd_matmul, b_addr),
	F(npu_cmd_matmul, q_addr), F(npu_cmd_matmul, out_addr), F(npu_cmd_matmul, m),
	F(npu_cmd_matmul, k), F(npu_cmd_matmul, n), F(npu_cmd_matmul, a_row_stride),
	F(npu_cmd_matmul, out_row_stride), F(npu_cmd_matmul, reserved0),
	F(npu_cmd_matmul, a_zp), F(npu_cmd_matmul, b_zp), F(npu_cmd_matmul, out_zp),
	F(npu_cmd_matmul, act_min), F(npu_cmd_matmul, act_max), F(npu_cmd_matmul, reserved1),
};
static const struct field eltwise_f[] = {
	F(npu_cmd_eltwise, op), F(npu_cmd_eltwise, bcast), F(npu_cmd_eltwise, reserved0),
	F(npu_cmd_eltwise, a_addr), F(npu_cmd_eltwise, b_addr), F(npu_cmd_eltwise, out_addr),
	F(npu_cmd_eltwise, count), F(npu_cmd_eltwise, channels), F(npu_cmd_eltwise, a_zp),
	F(npu_cmd_eltwise, b_zp), F(npu_cmd_eltwise, out_zp), F(npu_cmd_eltwise, act_min),
	F(npu_cmd_eltwise, act_max), F(npu_cmd_eltwise, a_shift), F(npu_cmd_eltwise, b_shift),
	F(npu_cmd_eltwise, out_shift), F(npu_cmd_eltwise, a_mult), F(npu_cmd_eltwise, b_mult),
	F(npu_cmd_eltwise, out_mult),
};
static const struct field pool_f[] = {
	F(npu_cmd_pool, mode), F(npu_cmd_pool, flags), F(npu_cmd_pool, reserved0),
	F(npu_cmd_pool, in_addr), F(npu_cmd_pool, out_addr), F(npu_cmd_pool, in_h),
	F(npu_cmd_pool, in_w), F(npu_cmd_pool, c), F(npu_cmd_pool, reserved1),
	F(npu_cmd_pool, out_h), F(npu_cmd_pool, out_w), F(npu_cmd_pool, k_h),
	F(npu_cmd_pool, k_w), F(npu_cmd_pool, stride_h), F(npu_cmd_pool, stride_w),
	F(npu_cmd_pool, pad_top), F(npu_cmd_pool, pad_left), F(npu_cmd_pool, in_zp),
	F(npu_cmd_pool, out_zp), F(npu_cmd_pool, act_min), F(npu_cmd_pool, act_max),
	F(npu_cmd_pool, mult), F(npu_cmd_pool, shift),
};
static const struct field lut_f[] = {
	F(npu_cmd_lut, in_addr), F(npu_cmd_lut, out_addr), F(npu_cmd_lut, table_addr),
	F(npu_cmd_lut, count), F(npu_cmd_lut, reserved),
};

/* The engines' typed functions behind the table's one signature. */
#define CHECK(fn, type) \
	static int fn##_any(const struct npusim_core *c, const void *cmd, struct cmd_info *info) \
	{ \
		return fn(c, (const type *)cmd, info); \
	}
#define EXEC_SRAM(fn, type) \
	static int fn##_any(struct npusim_core *c, const void *cmd, const struct npusim_vmem *mem, \
			    uint64_t *fault_addr, uint32_t *fault_info) \
	{ \
		(void)mem; \
		(void)fault_addr; \
		(void)fault_info; \
		fn(c, (const type *)cmd); \
		return NPU_FAULT_NONE; \
	}

CHECK(dma_check, struct npu_cmd_dma)
CHECK(decompress_check, struct npu_cmd_dma_decompress)
CHECK(conv_check, struct npu_cmd_conv)
CHECK(matmul_check, struct npu_cmd_matmul)
CHECK(eltwise_check, struct npu_cmd_eltwise)
CHECK(pool_check, struct npu_cmd_pool)
CHECK(lut_check, struct npu_cmd_lut)
EXEC_SRAM(conv_exec, struct npu_cmd_conv)
EXEC_SRAM(matmul_exec, struct npu_cmd_matmul)
EXEC_SRAM(eltwise_exec, struct npu_cmd_eltwise)
EXEC_SRAM(pool_exec, struct npu_cmd_pool)
EXEC_SRAM(lut_exec, struct npu_cmd_lut)

/* DMA commands touch NPU memory: a fault there says which access it was. */
static int dma_exec_any(struct npusim_core *c, const void *cmd, const struct npusim_vmem *mem,
			uint64_t *fault_addr, uint32_t *fault_info)
{
	const struct npu_cmd_dma *d = cmd;

	*fault_info = npu_access_info(NPU_ENGINE_DMA,
				      (d->flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_DRAM);
	return dma_exec(c, d, mem, fault_addr);
}

static int decompress_exec_any(struct npusim_core *c, const void *cmd,
			       const struct npusim_vmem *mem, uint64_t *fault_addr,
			       uint32_t *fault_info)
{
	*fault_info = npu_access_info(NPU_ENGINE_DMA, 0);
	return decompress_exec(c, cmd, mem, fault_addr);
}

/* A row: the name is the opcode's without "NPU_OP_" (&"NPU_OP_CONV"[7] is "CONV"). */
#define NAME(op) (&(#op)[7])
#define CTRL(op, type, f) \
	[op] = { NAME(op), sizeof(struct type), NPU_ENGINE_CTRL, NULL, NULL, f, \
		 sizeof(f) / sizeof(f[0]) }
#define CTRL0(op, type) \
	[op] = { NAME(op), sizeof(struct type), NPU_ENGINE_CTRL, NULL, NULL, NULL, 0 }
#define ENGINE(op, type, eng, chk, ex, f) \
	[op] = { NAME(op), sizeof(struct type), eng, chk##_any, ex##_any, f, \
		 sizeof(f) / sizeof(f[0]) }

static const struct cmd_desc table[NPU_OP_LUT + 1] = {
	CTRL0(NPU_OP_NOP, npu_cmd_nop),
	CTRL(NPU_OP_BEGIN, npu_cmd_begin, begin_f),
	CTRL0(NPU_OP_END, npu_cmd_end),
	CTRL(NPU_OP_WAIT, npu_cmd_wait, wait_f),
	CTRL(NPU_OP_JUMP, npu_cmd_jump, jump_f),
	CTRL(NPU_OP_SIGNAL, npu_cmd_signal, signal_f),
	ENGINE(NPU_OP_DMA, npu_cmd_dma, NPU_ENGINE_DMA, dma_check, dma_exec, dma_f),
	ENGINE(NPU_OP_DMA_DECOMPRESS, npu_cmd_dma_decompress, NPU_ENGINE_DMA, decompress_check,
	       decompress_exec, dec_f),
	ENGINE(NPU_OP_CONV, npu_cmd_conv, NPU_ENGINE_MAC, conv_check, conv_exec, conv_f),
	ENGINE(NPU_OP_MATMUL, npu_cmd_matmul, NPU_ENGINE_MAC, matmul_check, matmul_exec, matmul_f),
	ENGINE(NPU_OP_ELTWISE, npu_cmd_eltwise, NPU_ENGINE_VEC, eltwise_check, eltwise_exec,
	       eltwise_f),
	ENGINE(NPU_OP_POOL, npu_cmd_pool, NPU_ENGINE_VEC, pool_check, pool_exec, pool_f),
	ENGINE(NPU_OP_LUT, npu_cmd_lut, NPU_ENGINE_VEC, lut_check, lut_exec, lut_f),
};

const struct cmd_desc *cmd_desc(uint32_t opcode)
{
	if (opcode >= sizeof(table) / sizeof(table[0]) || !table[opcode].name)
		return NULL;
	return &table[opcode];
}

const char *npusim_cmd_name(uint32_t opcode)
{
	const struct cmd_desc *cd = cmd_desc(opcode);

	return cd ? cd->name : NULL;
}

const char *npusim_cmd_field_name(uint32_t opcode, uint64_t offset)
{
	const struct cmd_desc *cd = cmd_desc(opcode);
	const char *name = NULL;

	if (offset < 4)
		return "header";
	if (!cd)
		return NULL;
	/* the field at or before offset (an array element names its array) */
	for (size_t i = 0; i < cd->n_fields; i++)
		if (cd->fields[i].offset <= offset)
			name = cd->fields[i].name;
	return name;
}

/* Fault names (npu_hw.h), for every host's messages. */
const char *npusim_fault_name(uint32_t fault)
{
	static const char *const names[NPU_FAULT_COUNT] = {
		[NPU_FAULT_NONE] = "NONE",
		[NPU_FAULT_BAD_OPCODE] = "BAD_OPCODE",
		[NPU_FAULT_BAD_LENGTH] = "BAD_LENGTH",
		[NPU_FAULT_BAD_VERSION] = "BAD_VERSION",
		[NPU_FAULT_BAD_FIELD] = "BAD_FIELD",
		[NPU_FAULT_SRAM_RANGE] = "SRAM_RANGE",
		[NPU_FAULT_MMU_UNMAPPED] = "MMU_UNMAPPED",
		[NPU_FAULT_MMU_PERMISSION] = "MMU_PERMISSION",
		[NPU_FAULT_WATCHDOG] = "WATCHDOG",
		[NPU_FAULT_STREAM_OVERRUN] = "STREAM_OVERRUN",
		[NPU_FAULT_BAD_DESCRIPTOR] = "BAD_DESCRIPTOR",
		[NPU_FAULT_HAZARD] = "HAZARD",
		[NPU_FAULT_DECOMPRESS] = "DECOMPRESS",
		[NPU_FAULT_BUS_ERROR] = "BUS_ERROR",
		[NPU_FAULT_ALIGNMENT] = "ALIGNMENT",
		[NPU_FAULT_ABORTED] = "ABORTED",
	};

	if (fault < NPU_FAULT_COUNT && names[fault])
		return names[fault];
	return "UNKNOWN";
}
