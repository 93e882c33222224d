// SPDX-License-Identifier: MIT
/*
 * VEC engine, element-wise commands: ELTWISE and LUT.
 *
 * Results are as if every input byte were read before any output byte is
 * written, whatever the overlap between output and inputs. Output equal to
 * an input read at the same index (out == a, the common in-place case) is
 * safe as is; any other overlap is resolved by first copying the input to
 * the core's scratch buffer (or by choosing the loop direction, for LUT).
 *
 * All int8 arithmetic goes through npu_eltwise() / npu_lut_index()
 * (npu_arith.h). Fast paths only tabulate npu_eltwise() over its 256 or
 * 65536 possible inputs, so they are bit-exact by construction.
 */
#include <string.h>

#include "internal.h"
#include "npu_arith.h"

/* Cap costs far below 2^64: the timeline adds them to the current time. */
#define VEC_COST_MAX		(1ull << 62)
/*
 * Direct npu_eltwise() costs ~5 ns per element (ADD/SUB), a table lookup
 * well under 1 ns: tabulate when the table is cheaper than the elements.
 * NONE: all 65536 (a, b) pairs. SCALAR: the 256 values of a.
 * CHANNEL: 256 values of a per channel, when rows repeat >= 1024 times.
 */
#define ELT_PAIR_TABLE_MIN	(1u << 17)
#define ELT_PAIR_TABLE_SIZE	(256u * 256u)
#define ELT_SCALAR_TABLE_MIN	256u
#define ELT_CHAN_TABLE_REPEAT	1024u
#define ELT_CHAN_TABLE_MAX_CH	16384u	/* 4 MiB of tables at most */

static uint64_t vec_cycles(const struct npusim_core *c, uint64_t count)
{
	uint64_t lanes = c->cfg.vec_lanes ? c->cfg.vec_lanes : 1;
	uint64_t cyc = (count + lanes - 1) / lanes + c->cfg.vec_pipeline_cycles;

	return cyc < VEC_COST_MAX ? cyc : VEC_COST_MAX;
}

/* [a, a+alen) and [b, b+blen) share a byte (lengths fit SRAM: no wrap). */
static int ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	return a < b + blen && b < a + alen;
}

/* A fixed-point rescale field pair as the command encodes it. */
static int rescale_ok(uint32_t mult, uint32_t shift)
{
	return !(mult >> 31) && shift >= NPU_SHIFT_MIN && shift <= NPU_SHIFT_MAX;
}

/* Number of b elements an ELTWISE reads. */
static uint32_t eltwise_b_len(const struct npu_cmd_eltwise *cmd)
{
	if (cmd->bcast == NPU_BCAST_NONE)
		return cmd->count;
	if (cmd->bcast == NPU_BCAST_SCALAR)
		return 1;
	return cmd->channels < cmd->count ? cmd->channels : cmd->count;
}

/* ---------------------------------------------------------------- */
/* ELTWISE                                                           */
/* ---------------------------------------------------------------- */

#define ELT_BAD_IF(cond, field) BAD_FIELD_IF(cond, struct npu_cmd_eltwise, field)

static int eltwise_bad_field(const struct npu_cmd_eltwise *cmd)
{
	int mul = cmd->op == NPU_ELT_MUL;

	ELT_BAD_IF(cmd->op > NPU_ELT_MUL, op);
	ELT_BAD_IF(cmd->bcast > NPU_BCAST_CHANNEL, bcast);
	ELT_BAD_IF(cmd->reserved0[0] || cmd->reserved0[1], reserved0);
	ELT_BAD_IF(!cmd->count, count);
	ELT_BAD_IF(cmd->act_min > cmd->act_max, act_min);
	ELT_BAD_IF((cmd->bcast == NPU_BCAST_CHANNEL) != (cmd->channels != 0), channels);
	/* MUL only uses out_*; a_* and b_* are ignored (npu_isa.h). */
	ELT_BAD_IF(cmd->out_mult >> 31, out_mult);
	ELT_BAD_IF(!rescale_ok(cmd->out_mult, cmd->out_shift), out_shift);
	ELT_BAD_IF(!mul && cmd->a_mult >> 31, a_mult);
	ELT_BAD_IF(!mul && !rescale_ok(cmd->a_mult, cmd->a_shift), a_shift);
	ELT_BAD_IF(!mul && cmd->b_mult >> 31, b_mult);
	ELT_BAD_IF(!mul && !rescale_ok(cmd->b_mult, cmd->b_shift), b_shift);
	return NPUSIM_FIELDS_OK;
}

int eltwise_check(const struct npusim_core *c, const struct npu_cmd_eltwise *cmd,
		  struct cmd_info *info)
{
	int f;

	info->engine = NPU_ENGINE_VEC;
	f = eltwise_bad_field(cmd);
	if (f != NPUSIM_FIELDS_OK) {
		info->fault_addr = (uint64_t)f;
		return NPU_FAULT_BAD_FIELD;
	}

	f = cmd_operands_check(c, info, (const struct sram_operand[]){
				       { cmd->a_addr, cmd->count },
				       { cmd->b_addr, eltwise_b_len(cmd) } }, 2,
			       (struct sram_operand){ cmd->out_addr, cmd->count });
	if (f)
		return f;
	info->cycles = vec_cycles(c, cmd->count);
	return NPU_FAULT_NONE;
}

/* out[i] = t[in[i]] over a 256-entry table; out == in is fine. */
static void lut_apply(int8_t *out, const int8_t *in, const int8_t *t, uint32_t n)
{
	for (uint32_t i = 0; i < n; i++)
		out[i] = t[npu_lut_index(in[i])];
}

/* Same, from the last element down (for out above an overlapping in). */
static void lut_apply_down(int8_t *out, const int8_t *in, const int8_t *t, uint32_t n)
{
	for (uint32_t i = n; i-- > 0;)
		out[i] = t[npu_lut_index(in[i])];
}

/*
 * The direct loops work on a local copy of the command: int8 stores may
 * alias anything, so through cmd the compiler would reload every field
 * for every element.
 */
static void elt_none(const struct npu_cmd_eltwise *cmd, int8_t *out, const int8_t *a,
		     const int8_t *b, uint32_t n)
{
	const struct npu_cmd_eltwise p = *cmd;

	for (uint32_t i = 0; i < n; i++)
		out[i] = npu_eltwise(&p, a[i], b[i]);
}

/* NONE broadcast through a table t[lut(a) << 8 | lut(b)] of all results. */
static void elt_none_table(const struct npu_cmd_eltwise *cmd, int8_t *out, const int8_t *a,
			   const int8_t *b, uint32_t n, int8_t *t)
{
	for (unsigned int ia = 0; ia < 256; ia++)
		for (unsigned int ib = 0; ib < 256; ib++)
			t[ia << 8 | ib] = npu_eltwise(cmd, (int8_t)((int)ia - 128),
						      (int8_t)((int)ib - 128));
	for (uint32_t i = 0; i < n; i++)
		out[i] = t[(unsigned int)npu_lut_index(a[i]) << 8 | npu_lut_index(b[i])];
}

static void elt_scalar(const struct npu_cmd_eltwise *cmd, int8_t *out, const int8_t *a,
		       int8_t bv, uint32_t n)
{
	const struct npu_cmd_eltwise p = *cmd;
	int8_t t[256];

	if (n < ELT_SCALAR_TABLE_MIN) {
		for (uint32_t i = 0; i < n; i++)
			out[i] = npu_eltwise(&p, a[i], bv);
		return;
	}
	for (unsigned int i = 0; i < 256; i++)
		t[i] = npu_eltwise(cmd, (int8_t)((int)i - 128), bv);
	lut_apply(out, a, t, n);
}

/* CHANNEL broadcast: rows of `ch` elements, without a modulo per element. */
static void elt_channel(const struct npu_cmd_eltwise *cmd, int8_t *out, const int8_t *a,
			const int8_t *b, uint32_t n, uint32_t ch)
{
	const struct npu_cmd_eltwise p = *cmd;

	for (uint32_t base = 0; base < n; base += ch) {
		uint32_t m = n - base < ch ? n - base : ch;

		for (uint32_t j = 0; j < m; j++)
			out[base + j] = npu_eltwise(&p, a[base + j], b[j]);
		if (m < ch)
			break;
	}
}

/* CHANNEL broadcast through per-channel tables t[j << 8 | lut(a)]; reads b first. */
static void elt_channel_table(const struct npu_cmd_eltwise *cmd, int8_t *out, const int8_t *a,
			      const int8_t *b, uint32_t n, uint32_t ch, int8_t *t)
{
	for (uint32_t j = 0; j < ch; j++)
		for (unsigned int i = 0; i < 256; i++)
			t[(size_t)j << 8 | i] = npu_eltwise(cmd, (int8_t)((int)i - 128), b[j]);
	for (uint32_t base = 0; base < n; base += ch) {
		uint32_t m = n - base < ch ? n - base : ch;

		for (uint32_t j = 0; j < m; j++)
			out[base + j] = t[(size_t)j << 8 | npu_lut_index(a[base + j])];
		if (m < ch)
			break;
	}
}

/* Bytes of result table an ELTWISE is worth tabulating into (0: compute directly). */
static size_t elt_table_size(const struct npu_cmd_eltwise *cmd)
{
	if (cmd->bcast == NPU_BCAST_NONE && cmd->count >= ELT_PAIR_TABLE_MIN)
		return ELT_PAIR_TABLE_SIZE;
	if (cmd->bcast == NPU_BCAST_CHANNEL && cmd->channels <= ELT_CHAN_TABLE_MAX_CH &&
	    cmd->count / ELT_CHAN_TABLE_REPEAT >= cmd->channels)
		return (size_t)cmd->channels * 256;
	return 0;
}

void eltwise_exec(struct npusim_core *c, const struct npu_cmd_eltwise *cmd)
{
	int8_t *sram = (int8_t *)c->sram, *out = sram + cmd->out_addr, *scratch, *table = NULL;
	const int8_t *a = sram + cmd->a_addr, *b = sram + cmd->b_addr;
	uint32_t n = cmd->count, blen = eltwise_b_len(cmd);
	size_t tsize = elt_table_size(cmd), need;
	/*
	 * a is read at the output's index: only a partial overlap needs a copy.
	 * So is b without broadcast; CHANNEL rereads b after writing outputs,
	 * unless it is all consumed by building tables; SCALAR reads b[0] once.
	 */
	int copy_a = ranges_overlap(cmd->a_addr, n, cmd->out_addr, n) &&
		     cmd->a_addr != cmd->out_addr;
	int copy_b = ranges_overlap(cmd->b_addr, blen, cmd->out_addr, n) &&
		     ((cmd->bcast == NPU_BCAST_CHANNEL && !tsize) ||
		      (cmd->bcast == NPU_BCAST_NONE && cmd->b_addr != cmd->out_addr));

	need = tsize + (copy_a ? n : 0) + (copy_b ? blen : 0);
	scratch = need ? core_scratch(c, need) : NULL;
	if (need && !scratch) {
		/*
		 * Host out of memory (core_scratch cannot fail otherwise): fall
		 * back to the direct in-order loops, which are still memory-safe
		 * but give in-order-overwrite results for overlapping operands.
		 */
		tsize = 0;
		copy_a = copy_b = 0;
	}
	if (tsize) {
		table = scratch;
		scratch += tsize;
	}
	if (copy_a) {
		memcpy(scratch, a, n);
		a = scratch;
		scratch += n;
	}
	if (copy_b) {
		memcpy(scratch, b, blen);
		b = scratch;
	}

	switch (cmd->bcast) {
	case NPU_BCAST_NONE:
		if (table)
			elt_none_table(cmd, out, a, b, n, table);
		else
			elt_none(cmd, out, a, b, n);
		break;
	case NPU_BCAST_SCALAR:
		elt_scalar(cmd, out, a, b[0], n);
		break;
	default:
		if (table)
			elt_channel_table(cmd, out, a, b, n, cmd->channels, table);
		else
			elt_channel(cmd, out, a, b, n, cmd->channels);
		break;
	}
}

/* ---------------------------------------------------------------- */
/* LUT                                                               */
/* ---------------------------------------------------------------- */

int lut_check(const struct npusim_core *c, const struct npu_cmd_lut *cmd, struct cmd_info *info)
{
	int f;

	info->engine = NPU_ENGINE_VEC;
	if (cmd->reserved || !cmd->count) {
		info->fault_addr = cmd->reserved ? offsetof(struct npu_cmd_lut, reserved) :
				   offsetof(struct npu_cmd_lut, count);
		return NPU_FAULT_BAD_FIELD;
	}
	f = cmd_operands_check(c, info, (const struct sram_operand[]){
				       { cmd->in_addr, cmd->count },
				       { cmd->table_addr, 256 } }, 2,
			       (struct sram_operand){ cmd->out_addr, cmd->count });
	if (f)
		return f;
	info->cycles = vec_cycles(c, cmd->count);
	return NPU_FAULT_NONE;
}

void lut_exec(struct npusim_core *c, const struct npu_cmd_lut *cmd)
{
	int8_t *sram = (int8_t *)c->sram, t[256];

	/* A private copy of the table: the output may overwrite it. */
	memcpy(t, sram + cmd->table_addr, sizeof(t));
	/*
	 * Element i only reads in[i]: when out lies above an overlapping in,
	 * going down reads every in[i] before out overwrites it.
	 */
	if (cmd->out_addr > cmd->in_addr)
		lut_apply_down(sram + cmd->out_addr, sram + cmd->in_addr, t, cmd->count);
	else
		lut_apply(sram + cmd->out_addr, sram + cmd->in_addr, t, cmd->count);
}
