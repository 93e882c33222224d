// SPDX-License-Identifier: MIT
/*
 * npub-stats: per-inference figures of a compiled model, for make bench.
 *
 *   npub-stats MODEL.npub
 *
 * Loads the .npub (npub_read_file: everything validated) and prints the
 * totals of its layer table (NPU layers: est. cycles, MACs, MAC
 * utilisation, DRAM bytes) and the DRAM lower bound of the NPU work:
 *
 *   weight bytes of the NPU layers (weights + qparams + tables)
 *   + input bytes:   int8 tensors the NPU reads but does not produce
 *   + output bytes:  tensors the NPU produces but does not read
 *   + 2 x intermediate bytes: tensors the NPU both writes and reads,
 *     each written once and read once
 *
 * Reshape aliases count once (with the tensor owning the bytes). Which
 * tensors the NPU reads comes from the execution plan: an NPU step's in
 * operands, plus every tensor an NPU step produces that no later step
 * reads and that is not a graph output (it is consumed inside its own
 * stream). A tensor consumed both inside its stream and by a later host
 * step counts as an output only, which keeps the bound a lower bound.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npub.h"

struct tstate {
	uint8_t npu_wrote, npu_read, read_later;
};

/* The tensor owning t's bytes (follows reshape aliases; bounded, the reader validated them). */
static uint32_t root_of(const struct npub_model *m, uint32_t t)
{
	for (uint32_t hops = 0; hops < m->n_tensors; hops++) {
		const struct npub_tensor *x = &m->tensors[t];

		if (!(x->flags & NPUB_T_ALIAS) || x->alias >= m->n_tensors)
			break;
		t = x->alias;
	}
	return t;
}

/* Tensor index of an operand, or NPUB_NONE for constants and omitted inputs. */
static uint32_t opnd_tensor(const struct npub_model *m, uint32_t op)
{
	if (op == NPUB_NONE || (op & NPUB_OPND_CONST) || op >= m->n_tensors)
		return NPUB_NONE;
	return root_of(m, op);
}

static void scan_steps(const struct npub_model *m, struct tstate *ts)
{
	for (uint32_t s = 0; s < m->n_steps; s++) {
		const struct npub_step *st = &m->steps[s];
		int npu = st->kind == NPUB_STEP_NPU;

		for (uint32_t k = 0; k < st->in_count; k++) {
			uint32_t t = opnd_tensor(m, m->operands[st->in_first + k]);

			if (t == NPUB_NONE)
				continue;
			ts[t].read_later = 1;
			if (npu)
				ts[t].npu_read = 1;
		}
		for (uint32_t k = 0; k < st->out_count && npu; k++) {
			uint32_t t = opnd_tensor(m, m->operands[st->out_first + k]);

			if (t == NPUB_NONE)
				continue;
			ts[t].npu_wrote = 1;
			ts[t].read_later = 0;	/* reads before this write were of older data */
		}
	}
}

struct bound {
	uint64_t weights, input, output, inter;
};

static int lower_bound(const struct npub_model *m, struct bound *b)
{
	struct tstate *ts = calloc(m->n_tensors ? m->n_tensors : 1, sizeof(*ts));

	if (!ts)
		return -1;
	memset(b, 0, sizeof(*b));
	scan_steps(m, ts);
	for (uint32_t t = 0; t < m->n_tensors; t++) {
		const struct npub_tensor *x = &m->tensors[t];

		if (x->flags & NPUB_T_ALIAS)
			continue;
		if (ts[t].npu_wrote && !ts[t].read_later && !(x->flags & NPUB_T_OUTPUT))
			ts[t].npu_read = 1;	/* consumed inside its stream */
		if (ts[t].npu_wrote && ts[t].npu_read)
			b->inter += x->bytes;
		else if (ts[t].npu_wrote)
			b->output += x->bytes;
		else if (ts[t].npu_read)
			b->input += x->bytes;
	}
	for (uint32_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].target == NPUB_TARGET_NPU)
			b->weights += m->layers[i].weight_bytes;
	free(ts);
	return 0;
}

struct totals {
	uint64_t macs, cycles, rd, wr;
	uint32_t n_npu, n_qcpu, n_cpu, n_host;
};

static void layer_totals(const struct npub_model *m, struct totals *t)
{
	memset(t, 0, sizeof(*t));
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct npub_layer *ly = &m->layers[i];

		switch (ly->target) {
		case NPUB_TARGET_NPU:
			t->n_npu++;
			t->macs += ly->macs;
			t->cycles += ly->cycles;
			t->rd += ly->dram_read;
			t->wr += ly->dram_write;
			break;
		case NPUB_TARGET_QCPU:
			t->n_qcpu++;
			break;
		case NPUB_TARGET_CPU:
			t->n_cpu++;
			break;
		case NPUB_TARGET_HOST:
			t->n_host++;
			break;
		default:
			break;
		}
	}
}

static double pct(uint64_t a, uint64_t b)
{
	return b ? 100.0 * (double)a / (double)b : 0.0;
}

static void print_stats(const char *path, const struct npub_model *m)
{
	uint64_t lanes = (uint64_t)m->hdr.mac_oc * m->hdr.mac_ic;
	uint64_t lb, dram;
	struct totals t;
	struct bound b;

	layer_totals(m, &t);
	if (lower_bound(m, &b)) {
		fprintf(stderr, "npub-stats: out of memory\n");
		exit(1);
	}
	lb = b.weights + b.input + b.output + 2 * b.inter;
	dram = t.rd + t.wr;
	printf("  model            %s (%s)\n", path, npub_str(m, m->meta.model_name));
	printf("  layers           %u: %u NPU, %u int8 on CPU, %u float on CPU, %u host\n",
	       m->n_layers, t.n_npu, t.n_qcpu, t.n_cpu, t.n_host);
	printf("  MACs/inference   %" PRIu64 " (NPU layers)\n", t.macs);
	printf("  est. cycles/inf. %" PRIu64, t.cycles);
	if (m->hdr.clock_khz)
		printf(" (%.3f ms at %u MHz, NPU layers, cycle model)",
		       (double)t.cycles / m->hdr.clock_khz, m->hdr.clock_khz / 1000);
	printf("\n  MAC utilisation  %.1f%% (%" PRIu64 " MACs / (%" PRIu64 " cycles x %" PRIu64
	       " MACs/cycle))\n", t.cycles && lanes ? pct(t.macs, t.cycles * lanes) : 0.0,
	       t.macs, t.cycles, lanes);
	printf("  DRAM bytes/inf.  %" PRIu64 " (read %" PRIu64 ", write %" PRIu64 ")\n",
	       dram, t.rd, t.wr);
	printf("  DRAM lower bound %" PRIu64 " = weights %" PRIu64 " + input %" PRIu64
	       " + output %" PRIu64 " + 2 x intermediates %" PRIu64 "\n",
	       lb, b.weights, b.input, b.output, b.inter);
	printf("  DRAM vs bound    %.3fx (%+.1f%%)\n", lb ? (double)dram / (double)lb : 0.0,
	       lb ? pct(dram, lb) - 100.0 : 0.0);
	printf("  arena            %" PRIu64 " bytes (lower bound %" PRIu64 ")\n",
	       m->meta.arena_bytes, m->meta.arena_lower_bound);
}

int main(int argc, char **argv)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m;

	if (argc != 2) {
		fprintf(stderr, "usage: npub-stats MODEL.npub\n");
		return 2;
	}
	if (npub_read_file(argv[1], &m, &d)) {
		fprintf(stderr, "npub-stats: %s\n", d.msg);	/* the message names the file */
		return 1;
	}
	print_stats(argv[1], m);
	npub_model_free(m);
	return 0;
}
