// SPDX-License-Identifier: MIT
/*
 * Names of commands and of their fields by byte offset: a BAD_FIELD fault reports the
 * offset of the offending field in fault_addr (npu-architecture.rst), and
 * hosts turn it into a name with npusim_cmd_field_name(). Every entry is
 * written with offsetof on npu_isa.h's structs, so a renamed or moved
 * field breaks the build rather than the message.
 */
#include <stddef.h>

#include "npu_isa.h"
#include "npusim.h"

struct field {
	unsigned int offset;
	const char *name;
};

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

#define TABLE(op, t) [op] = { t, sizeof(t) / sizeof(t[0]) }

static const struct {
	const struct field *f;
	size_t n;
} tables[NPU_OP_LUT + 1] = {
	TABLE(NPU_OP_BEGIN, begin_f), TABLE(NPU_OP_WAIT, wait_f), TABLE(NPU_OP_JUMP, jump_f),
	TABLE(NPU_OP_SIGNAL, signal_f), TABLE(NPU_OP_DMA, dma_f),
	TABLE(NPU_OP_DMA_DECOMPRESS, dec_f), TABLE(NPU_OP_CONV, conv_f),
	TABLE(NPU_OP_MATMUL, matmul_f), TABLE(NPU_OP_ELTWISE, eltwise_f),
	TABLE(NPU_OP_POOL, pool_f), TABLE(NPU_OP_LUT, lut_f),
};

const char *npusim_cmd_name(uint32_t opcode)
{
	static const char *const names[NPU_OP_LUT + 1] = {
		[NPU_OP_NOP] = "NOP", [NPU_OP_BEGIN] = "BEGIN", [NPU_OP_END] = "END",
		[NPU_OP_WAIT] = "WAIT", [NPU_OP_JUMP] = "JUMP", [NPU_OP_SIGNAL] = "SIGNAL",
		[NPU_OP_DMA] = "DMA", [NPU_OP_DMA_DECOMPRESS] = "DMA_DECOMPRESS",
		[NPU_OP_CONV] = "CONV", [NPU_OP_MATMUL] = "MATMUL", [NPU_OP_ELTWISE] = "ELTWISE",
		[NPU_OP_POOL] = "POOL", [NPU_OP_LUT] = "LUT",
	};

	return opcode < sizeof(names) / sizeof(names[0]) ? names[opcode] : NULL;
}

const char *npusim_cmd_field_name(uint32_t opcode, uint64_t offset)
{
	const char *name = NULL;

	if (offset < 4)
		return "header";
	if (opcode >= sizeof(tables) / sizeof(tables[0]) || !tables[opcode].f)
		return NULL;
	/* the field at or before offset (an array element names its array) */
	for (size_t i = 0; i < tables[opcode].n; i++)
		if (tables[opcode].f[i].offset <= offset)
			name = tables[opcode].f[i].name;
	return name;
}
