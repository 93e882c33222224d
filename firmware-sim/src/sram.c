// SPDX-License-Identifier: MIT
/*
 * SRAM helpers every engine's checker uses: range checks of a command's
 * operands, and the MAC engine's scratch. (Kept out of core.c so that the
 * dispatcher depends on the engines and the engines only on this file.)
 */
#include <stdlib.h>

#include "internal.h"

void *core_scratch(struct npusim_core *c, size_t size)
{
	if (size > c->scratch_size) {
		void *p = realloc(c->scratch, size);

		if (!p)
			return NULL;
		c->scratch = p;
		c->scratch_size = size;
	}
	return c->scratch;
}

int sram_span_check(const struct npusim_core *c, uint64_t start, uint64_t len,
		    struct sram_span *out, uint64_t *fault_addr)
{
	if (start > c->cfg.sram_bytes || len > c->cfg.sram_bytes - start) {
		if (fault_addr)
			*fault_addr = start < c->cfg.sram_bytes ? c->cfg.sram_bytes : start;
		return NPU_FAULT_SRAM_RANGE;
	}
	if (out) {
		out->start = start;
		out->end = start + len;
	}
	return NPU_FAULT_NONE;
}

int cmd_operands_check(const struct npusim_core *c, struct cmd_info *info,
		       const struct sram_operand *reads, unsigned int nreads,
		       struct sram_operand write)
{
	int f;

	for (unsigned int i = 0; i < nreads && i < NPUSIM_MAX_SPANS; i++) {
		f = sram_span_check(c, reads[i].addr, reads[i].len, &info->reads[i],
				    &info->fault_addr);
		if (f)
			return f;
	}
	f = sram_span_check(c, write.addr, write.len, &info->writes[0], &info->fault_addr);
	if (f)
		return f;
	info->nreads = nreads < NPUSIM_MAX_SPANS ? nreads : NPUSIM_MAX_SPANS;
	info->nwrites = 1;
	return NPU_FAULT_NONE;
}
