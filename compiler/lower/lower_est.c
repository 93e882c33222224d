// SPDX-License-Identifier: MIT
/*
 * Per-layer cycle estimates (lower.h): every NPU layer's commands are run
 * alone (BEGIN, the layer's commands, END) through libnpusim's core with a
 * scratch memory that reads zeros and discards writes, except for the
 * compressed weight streams DMA_DECOMPRESS reads (they must decode). The figures are
 * the cycle model's: cycles, MACs, DRAM bytes (command fetch excluded).
 * A stream's estimate is the sum of its layers' (layers overlap little:
 * a layer's first loads wait for the previous layer's last compute).
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

#define EST_CMD_VA 0xf0000000ull
/* Where WEIGHTS appears to DMA_DECOMPRESS (other reads see zeros, whatever they read). */
#define EST_WEIGHTS_VA 0x80000000ull

struct zmem {
	const uint8_t *cmd;
	uint32_t size;
	const uint8_t *weights;
	uint64_t weights_size;
};

/* Copies the part of [va, va + len) inside [base, base + size) from src. */
static void serve(uint64_t va, void *dst, uint32_t len, uint64_t base, const uint8_t *src,
		  uint64_t size)
{
	if (va + len > base && va < base + size) {
		uint64_t a = va > base ? va : base;
		uint64_t b = va + len < base + size ? va + len : base + size;

		memcpy((uint8_t *)dst + (a - va), src + (a - base), (size_t)(b - a));
	}
}

static int z_read(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	const struct zmem *z = opaque;

	(void)fault_va;
	memset(dst, 0, len);
	serve(va, dst, len, EST_CMD_VA, z->cmd, z->size);
	serve(va, dst, len, EST_WEIGHTS_VA, z->weights, z->weights_size);
	return NPU_FAULT_NONE;
}

static int z_write(void *opaque, uint64_t va, const void *src, uint32_t len, uint64_t *fault_va)
{
	(void)opaque;
	(void)va;
	(void)src;
	(void)len;
	(void)fault_va;
	return NPU_FAULT_NONE;
}

/*
 * Points the layer's DMA_DECOMPRESS sources (copied to cmd) at their
 * streams: the address word gets EST_WEIGHTS_VA + the relocation's addend
 * (relocations are sorted by offset within a stream).
 */
static void decompress_sources(const struct npub_model *m, const struct npub_layer *ly,
			       uint8_t *cmd)
{
	const struct npub_stream *st = &m->streams[ly->stream];
	const struct npub_reloc *r = m->relocs + st->reloc_first;

	for (uint32_t at = 0; at + 8 <= ly->cmd_bytes;) {
		uint32_t hdr, lo = 0, hi = st->reloc_count;
		uint64_t va;

		memcpy(&hdr, cmd + at, 4);
		if (!NPU_CMD_WORDS(hdr))
			return;
		if (NPU_CMD_OPCODE(hdr) == NPU_OP_DMA_DECOMPRESS) {
			uint32_t want = ly->cmd_offset + at + 8;

			while (lo < hi) {
				uint32_t mid = lo + (hi - lo) / 2;

				if (r[mid].offset < want)
					lo = mid + 1;
				else
					hi = mid;
			}
			if (lo < st->reloc_count && r[lo].offset == want &&
			    r[lo].region == NPUB_REGION_WEIGHTS_ID) {
				va = EST_WEIGHTS_VA + r[lo].addend;
				memcpy(cmd + at + 8, &va, 8);
			}
		}
		at += NPU_CMD_WORDS(hdr) * 4;
	}
}

static int layer_run(struct npusim_core *core, const struct npub_model *m,
		     struct npub_layer *ly, uint8_t *buf, struct npuc_diag *d)
{
	const struct npub_stream *st = &m->streams[ly->stream];
	struct npu_cmd_begin b = { NPU_CMD_HDR(NPU_OP_BEGIN, struct npu_cmd_begin),
				   NPU_ISA_VERSION, 0, 0 };
	struct npu_cmd_end e = { NPU_CMD_HDR(NPU_OP_END, struct npu_cmd_end) };
	struct zmem z;
	struct npusim_vmem mem = { z_read, z_write, &z };
	struct npusim_job job;
	struct npu_job_report rep;
	uint32_t size = (uint32_t)sizeof(b) + ly->cmd_bytes + (uint32_t)sizeof(e);

	memcpy(buf, &b, sizeof(b));
	memcpy(buf + sizeof(b), m->cmds + st->offset + ly->cmd_offset, ly->cmd_bytes);
	memcpy(buf + sizeof(b) + ly->cmd_bytes, &e, sizeof(e));
	decompress_sources(m, ly, buf + sizeof(b));
	z.cmd = buf;
	z.size = size;
	z.weights = m->weights;
	z.weights_size = m->weights_size;
	memset(&job, 0, sizeof(job));
	job.mem = &mem;
	job.cmd_va = EST_CMD_VA;
	job.cmd_size = size;
	job.watchdog_cycles = 0xffffffffull;	/* the architecture's largest budget */
	if (npusim_core_run(core, &job, &rep) != NPU_FAULT_NONE) {
		npuc_diag_set(d, "lower: layer '%s': the cycle model faulted with %s at command "
			      "offset %u", npub_str(m, ly->name), npusim_fault_name(rep.fault),
			      rep.fault_cmd_offset);
		return -1;
	}
	ly->cycles = rep.cycles;
	ly->macs = rep.macs;
	ly->dram_read = rep.dram_read_bytes - size;
	ly->dram_write = rep.dram_write_bytes;
	return 0;
}

int lower_estimate(struct npub_model *m, const struct npusim_config *cfg, struct npuc_diag *d)
{
	struct npusim_core *core = npusim_core_create(cfg);
	uint8_t *buf = NULL;
	uint32_t max = 0;
	int rc = 0;

	for (uint32_t i = 0; i < m->n_layers; i++)
		if (m->layers[i].stream != NPUB_NONE && m->layers[i].cmd_bytes > max)
			max = m->layers[i].cmd_bytes;
	buf = malloc((size_t)max + 64);
	if (!core || !buf) {
		npusim_core_destroy(core);
		free(buf);
		npuc_diag_set(d, "lower: out of memory (cycle model)");
		return -1;
	}
	m->meta.est_cycles = 0;
	m->meta.total_macs = 0;
	for (uint32_t s = 0; s < m->n_streams; s++)
		m->streams[s].est_cycles = 0;
	for (uint32_t i = 0; i < m->n_layers && !rc; i++) {
		struct npub_layer *ly = &m->layers[i];

		if (ly->stream != NPUB_NONE && ly->cmd_bytes) {
			rc = layer_run(core, m, ly, buf, d);
			m->streams[ly->stream].est_cycles += ly->cycles;
			m->meta.est_cycles += ly->cycles;
		}
		m->meta.total_macs += ly->macs;
	}
	npusim_core_destroy(core);
	free(buf);
	return rc;
}
