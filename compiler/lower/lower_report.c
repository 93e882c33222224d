// SPDX-License-Identifier: MIT
/*
 * Per-layer report of an .npub model (lower.h): what `npuc --report`
 * prints and libnpu can show. Figures come from the LAYERS section.
 */
#include <inttypes.h>

#include "lower.h"

static void shape(char *buf, size_t len, int32_t h, int32_t w, int32_t c)
{
	if (h || w || c)
		snprintf(buf, len, "%dx%dx%d", h, w, c);
	else
		snprintf(buf, len, "-");
}

void npub_print_report(FILE *f, const struct npub_model *m)
{
	uint64_t macs = 0, wbytes = 0, cycles = 0, dram = 0, npu_macs = 0;
	uint32_t n_npu = 0, n_cpu = 0, peak = 0;
	uint64_t lanes = (uint64_t)m->hdr.mac_oc * m->hdr.mac_ic;
	double above;

	fprintf(f, "%-4s %-24s %-10s %-14s %-8s %-13s %-13s %12s %9s %11s %10s %8s %6s\n",
		"#", "layer", "op", "geometry", "target", "input", "output", "MACs", "weights",
		"est.cycles", "DRAM", "SRAM", "util");
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct npub_layer *ly = &m->layers[i];
		char in[32], out[32], util[16] = "-";

		shape(in, sizeof(in), ly->in_h, ly->in_w, ly->in_c);
		shape(out, sizeof(out), ly->out_h, ly->out_w, ly->out_c);
		if (ly->target == NPUB_TARGET_NPU && ly->cycles && lanes)
			snprintf(util, sizeof(util), "%.1f%%",
				 100.0 * (double)ly->macs / ((double)ly->cycles * (double)lanes));
		fprintf(f, "%-4u %-24.24s %-10.10s %-14.14s %-8s %-13s %-13s", i,
			npub_str(m, ly->name), npub_str(m, ly->op), npub_str(m, ly->desc),
			npub_target_name(ly->target), in, out);
		fprintf(f, " %12" PRIu64 " %9" PRIu64 " %11" PRIu64 " %10" PRIu64 " %8u %6s",
			ly->macs, ly->weight_bytes, ly->cycles, ly->dram_read + ly->dram_write,
			ly->sram_peak, util);
		if (npub_str(m, ly->reason)[0])
			fprintf(f, "  (%s)", npub_str(m, ly->reason));
		fputc('\n', f);
		macs += ly->macs;
		wbytes += ly->weight_bytes;
		cycles += ly->cycles;
		dram += ly->dram_read + ly->dram_write;
		peak = ly->sram_peak > peak ? ly->sram_peak : peak;
		if (ly->target == NPUB_TARGET_NPU) {
			n_npu++;
			npu_macs += ly->macs;
		} else if (ly->target == NPUB_TARGET_CPU || ly->target == NPUB_TARGET_QCPU) {
			n_cpu++;
		}
	}
	fprintf(f, "total: %u layers (%u NPU, %u CPU), %" PRIu64 " MACs, %" PRIu64
		" weight bytes, %" PRIu64 " est. NPU cycles", m->n_layers, n_npu, n_cpu, macs,
		wbytes, cycles);
	if (m->hdr.clock_khz)
		fprintf(f, " (%.3f ms at %u MHz)", (double)cycles / m->hdr.clock_khz,
			m->hdr.clock_khz / 1000);
	if (cycles && lanes)
		fprintf(f, ", NPU MAC utilisation %.1f%%",
			100.0 * (double)npu_macs / ((double)cycles * (double)lanes));
	fprintf(f, "\n       DRAM traffic %" PRIu64 " bytes, SRAM peak %u bytes, %u command "
		"streams (%" PRIu64 " bytes)\n", dram, peak, m->n_streams, m->cmds_size);
	above = m->meta.arena_lower_bound ?
		100.0 * ((double)m->meta.arena_bytes / (double)m->meta.arena_lower_bound - 1.0) : 0;
	fprintf(f, "arena: %" PRIu64 " bytes (lower bound %" PRIu64 ", %.1f%% above)\n",
		m->meta.arena_bytes, m->meta.arena_lower_bound, above);
}
