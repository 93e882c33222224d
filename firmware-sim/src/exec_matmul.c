// SPDX-License-Identifier: MIT
/*
 * MATMUL: validation, cost model and execution.
 *
 * B ([k][n], packed) is unpacked once into scratch transposed ([n][k]) as
 * zero-point corrected int16 so both GEMM operands are contiguous along k,
 * then A is processed in row blocks: widen, int16 GEMM, requantise.
 * As for CONV, an output overlapping A is handled by copying A first; B
 * and the qparams are always copied before any output is written.
 */
#include <string.h>

#include "internal.h"
#include "mac_kernels.h"
#include "npu_arith.h"

struct matmul_spans {
	uint64_t a_len, b_len, q_len, out_len;
};

#define MATMUL_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_matmul, field)

static int matmul_bad_field(const struct npu_cmd_matmul *c)
{
	MATMUL_BAD_IF(c->flags & ~NPU_CONV_F_PER_TENSOR_Q, flags);
	MATMUL_BAD_IF(c->reserved0, reserved0);
	MATMUL_BAD_IF(c->reserved1[0] || c->reserved1[1] || c->reserved1[2], reserved1);
	MATMUL_BAD_IF(!c->m, m);
	MATMUL_BAD_IF(!c->k, k);
	MATMUL_BAD_IF(!c->n, n);
	MATMUL_BAD_IF(c->a_row_stride < c->k, a_row_stride);
	MATMUL_BAD_IF(c->out_row_stride < c->n, out_row_stride);
	MATMUL_BAD_IF(c->act_min > c->act_max, act_min);
	return NPUSIM_FIELDS_OK;
}

static void matmul_span_lens(const struct npu_cmd_matmul *c, struct matmul_spans *s)
{
	s->a_len = (uint64_t)(c->m - 1) * c->a_row_stride + c->k;
	s->b_len = (uint64_t)c->k * c->n;
	s->q_len = (uint64_t)sizeof(struct npu_qparam) *
		   (c->flags & NPU_CONV_F_PER_TENSOR_Q ? 1 : c->n);
	s->out_len = (uint64_t)(c->m - 1) * c->out_row_stride + c->n;
}

static uint64_t matmul_cycles(const struct npusim_config *cfg, const struct npu_cmd_matmul *c)
{
	uint64_t mo = cfg->mac_oc ? cfg->mac_oc : 1, mi = cfg->mac_ic ? cfg->mac_ic : 1;
	uint64_t work = mac_div_up(c->n, mo) * mac_div_up(c->k, mi) * c->m;
	uint64_t fill = mac_div_up((uint64_t)c->m * c->n, mo);

	return mac_add_sat(work > fill ? work : fill, cfg->mac_pipeline_cycles);
}

int matmul_check(const struct npusim_core *c, const struct npu_cmd_matmul *cmd,
		 struct cmd_info *info)
{
	struct matmul_spans s;
	int f;

	memset(info, 0, sizeof(*info));
	info->engine = NPU_ENGINE_MAC;
	f = matmul_bad_field(cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}
	matmul_span_lens(cmd, &s);
	f = cmd_operands_check(c, info, (const struct sram_operand[]){
				       { cmd->a_addr, s.a_len },
				       { cmd->b_addr, s.b_len },
				       { cmd->q_addr, s.q_len } }, 3,
			       (struct sram_operand){ cmd->out_addr, s.out_len });
	if (f)
		return f;
	info->macs = (uint64_t)cmd->m * cmd->n * cmd->k;
	info->cycles = matmul_cycles(&c->cfg, cmd);
	return NPU_FAULT_NONE;
}

/* Rows of B per transposition tile: the tile's cache lines stay in L1. */
#define MATMUL_TRANSPOSE_TILE 64u

/*
 * B - b_zp for the GEMM kernels: transposed bt[j][kp] (zero padded past k)
 * for the dot-product one, as is (b32[t][j], int32) for the wide one.
 */
static void matmul_unpack_b(const struct npu_cmd_matmul *c, const int8_t *b, void *dst,
			    size_t kp, int wide)
{
	int16_t *bt = dst;
	int32_t *b32 = dst;

	if (wide) {
		for (size_t i = 0; i < (size_t)c->k * c->n; i++)
			b32[i] = b[i] - c->b_zp;
		return;
	}
	for (size_t j = 0; j < c->n; j++)
		memset(bt + j * kp + c->k, 0, (kp - c->k) * sizeof(*bt));
	for (size_t t0 = 0; t0 < c->k; t0 += MATMUL_TRANSPOSE_TILE) {
		size_t t1 = c->k - t0 < MATMUL_TRANSPOSE_TILE ? c->k : t0 + MATMUL_TRANSPOSE_TILE;

		for (size_t j = 0; j < c->n; j++)
			for (size_t t = t0; t < t1; t++)
				bt[j * kp + t] = (int16_t)(b[t * c->n + j] - c->b_zp);
	}
}

/* Last resort without scratch: straight from SRAM, one output at a time. */
static void matmul_direct(struct npusim_core *core, const struct npu_cmd_matmul *c)
{
	const int8_t *a = (const int8_t *)core->sram + c->a_addr;
	const int8_t *b = (const int8_t *)core->sram + c->b_addr;
	int8_t *out = (int8_t *)core->sram + c->out_addr;

	for (size_t i = 0; i < c->m; i++) {
		for (size_t j = 0; j < c->n; j++) {
			struct npu_qparam q;
			uint32_t acc = 0;

			for (size_t t = 0; t < c->k; t++)
				acc += (uint32_t)((a[i * c->a_row_stride + t] - c->a_zp) *
						  (b[t * c->n + j] - c->b_zp));
			mac_read_qparam(core->sram, c->q_addr,
					c->flags & NPU_CONV_F_PER_TENSOR_Q ? 0 : j, &q);
			out[i * c->out_row_stride + j] =
				npu_requant(npu_wrap_add32((int32_t)acc, q.bias), &q, c->out_zp,
					    c->act_min, c->act_max);
		}
	}
}

/* Rows of A per GEMM block: widened rows and accumulators stay cache sized. */
static size_t matmul_block(const struct npu_cmd_matmul *c, size_t kp)
{
	size_t mb = MAC_BLOCK_BYTES / (kp * sizeof(int16_t));
	size_t ma = MAC_BLOCK_BYTES / ((size_t)c->n * sizeof(uint32_t));

	mb = ma < mb ? ma : mb;
	mb = mb < 4 ? 4 : mb & ~(size_t)3;
	return mb < c->m ? mb : c->m;
}

/*
 * Below this many rows of A, B is used in place (vectorised along n)
 * rather than transposed: the transposition would cost more than the MACs.
 */
#define MATMUL_SMALL_M 4u

/* Few rows: all reads happen before the first write, so overlap is harmless. */
static int matmul_small(struct npusim_core *core, const struct npu_cmd_matmul *cmd)
{
	size_t total = 0, o_rq = mac_carve(&total, mac_rq_bytes(cmd->n));
	size_t o_acc = mac_carve(&total, (uint64_t)cmd->m * cmd->n * sizeof(uint32_t));
	uint8_t *mem = total == SIZE_MAX ? NULL : core_scratch(core, total);
	int8_t *out = (int8_t *)core->sram + cmd->out_addr;
	uint32_t *acc;
	struct mac_rq rq;

	if (!mem)
		return -1;
	acc = (uint32_t *)(mem + o_acc);
	mac_load_rq(&rq, mem + o_rq, core->sram, cmd->q_addr,
		    cmd->flags & NPU_CONV_F_PER_TENSOR_Q, cmd->n);
	mac_gemm_kn_s8((const int8_t *)core->sram + cmd->a_addr, cmd->a_row_stride, cmd->a_zp,
		       (const int8_t *)core->sram + cmd->b_addr, cmd->b_zp, acc, cmd->n, cmd->m,
		       cmd->n, cmd->k);
	for (size_t i = 0; i < cmd->m; i++)
		mac_requant(out + i * cmd->out_row_stride, acc + i * cmd->n, &rq, 0, cmd->n,
			    cmd->out_zp, cmd->act_min, cmd->act_max);
	return 0;
}

struct matmul_mem {
	size_t total, rq, b, a, acc, a_copy;
};

/* B unpacked once, A in row blocks through the int16 GEMM. */
static int matmul_gemm(struct npusim_core *core, const struct npu_cmd_matmul *cmd)
{
	struct matmul_spans s;
	struct matmul_mem m = { 0 };
	struct mac_rq rq;
	const int8_t *a = (const int8_t *)core->sram + cmd->a_addr;
	int8_t *out = (int8_t *)core->sram + cmd->out_addr;
	size_t kp = mac_pad_k(cmd->k), mb = matmul_block(cmd, kp);
	int wide = cmd->k < MAC_WIDE_MAX_K;
	uint64_t a_copy = 0;
	uint8_t *mem;

	matmul_span_lens(cmd, &s);
	if (mac_spans_overlap(cmd->a_addr, s.a_len, cmd->out_addr, s.out_len))
		a_copy = s.a_len;
	m.rq = mac_carve(&m.total, mac_rq_bytes(cmd->n));
	m.b = mac_carve(&m.total, wide ? (uint64_t)cmd->n * cmd->k * sizeof(int32_t) :
					 (uint64_t)cmd->n * kp * sizeof(int16_t));
	m.a = mac_carve(&m.total, (uint64_t)mb * kp * sizeof(int16_t));
	m.acc = mac_carve(&m.total, (uint64_t)mb * cmd->n * sizeof(uint32_t));
	m.a_copy = mac_carve(&m.total, a_copy);
	mem = m.total == SIZE_MAX ? NULL : core_scratch(core, m.total);
	if (!mem)
		return -1;
	mac_load_rq(&rq, mem + m.rq, core->sram, cmd->q_addr,
		    cmd->flags & NPU_CONV_F_PER_TENSOR_Q, cmd->n);
	matmul_unpack_b(cmd, (const int8_t *)core->sram + cmd->b_addr, mem + m.b, kp, wide);
	if (a_copy) {
		memcpy(mem + m.a_copy, a, (size_t)a_copy);
		a = (const int8_t *)(mem + m.a_copy);
	}
	for (size_t r0 = 0; r0 < cmd->m; r0 += mb) {
		unsigned int rows = (unsigned int)(cmd->m - r0 < mb ? cmd->m - r0 : mb);
		int16_t *a16 = (int16_t *)(mem + m.a);
		uint32_t *acc = (uint32_t *)(mem + m.acc);

		for (size_t i = 0; i < rows; i++) {
			mac_widen_s8(a16 + i * kp, a + (r0 + i) * cmd->a_row_stride, cmd->k,
				     cmd->a_zp);
			memset(a16 + i * kp + cmd->k, 0, (kp - cmd->k) * sizeof(*a16));
		}
		if (wide)
			mac_gemm_wide_s16(a16, kp, (const int32_t *)(mem + m.b), cmd->n, acc,
					  cmd->n, rows, cmd->n, cmd->k);
		else
			mac_gemm_s16(a16, kp, (const int16_t *)(mem + m.b), kp, acc, cmd->n,
				     rows, cmd->n, kp);
		for (size_t i = 0; i < rows; i++)
			mac_requant(out + (r0 + i) * cmd->out_row_stride, acc + i * cmd->n, &rq, 0,
				    cmd->n, cmd->out_zp, cmd->act_min, cmd->act_max);
	}
	return 0;
}

void matmul_exec(struct npusim_core *core, const struct npu_cmd_matmul *cmd)
{
	int ret = cmd->m < MATMUL_SMALL_M ? matmul_small(core, cmd) : matmul_gemm(core, cmd);

	if (ret)
		matmul_direct(core, cmd);
}
