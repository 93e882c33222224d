// SPDX-License-Identifier: MIT
/*
 * libnpusim core: configuration, SRAM, and the command dispatcher.
 *
 * A job's command stream is copied out of NPU memory once, at job start
 * (as the hardware's fetch unit would into its command buffer), so a
 * stream cannot be changed under the dispatcher. Each command is decoded
 * into a local, aligned copy through the command table (cmd_table.c:
 * length, engine, check, execute), validated by its engine's <op>_check(),
 * placed on the cycle-model timeline, then executed functionally in
 * stream order. The timeline's hazard check guarantees that stream order
 * and the modelled concurrent order give the same result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

void npusim_config_default(struct npusim_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	strcpy(cfg->name, "npu-v1");
	cfg->mac_oc = 16;
	cfg->mac_ic = 32;
	cfg->sram_bytes = 1u << 20;
	cfg->dma_bytes_per_cycle = 16;
	cfg->vec_lanes = 16;
	cfg->clock_khz = 1000000;
	cfg->dram_latency_cycles = 100;
	cfg->cmd_cycles = 4;
	cfg->mac_pipeline_cycles = 16;
	cfg->vec_pipeline_cycles = 8;
	cfg->hazard_check = 1;
}

static int is_pow2(uint32_t v)
{
	return v && !(v & (v - 1));
}

int npusim_config_check(const struct npusim_config *cfg, char *msg, size_t msg_len)
{
	const char *err = NULL;

	if (!cfg)
		err = "no configuration";
	else if (!is_pow2(cfg->mac_oc) || cfg->mac_oc > 256 || !is_pow2(cfg->mac_ic) ||
		 cfg->mac_ic > 256)
		err = "mac_oc and mac_ic must be powers of two up to 256";
	else if (cfg->sram_bytes < 4096 || cfg->sram_bytes > (64u << 20) ||
		 cfg->sram_bytes % 4096)
		err = "sram_bytes must be a multiple of 4 KiB between 4 KiB and 64 MiB";
	else if (!cfg->dma_bytes_per_cycle || cfg->dma_bytes_per_cycle > 1024)
		err = "dma_bytes_per_cycle must be 1..1024";
	else if (!cfg->vec_lanes || cfg->vec_lanes > 1024)
		err = "vec_lanes must be 1..1024";
	else if (!cfg->clock_khz)
		err = "clock_khz must be nonzero";
	else if (!cfg->cmd_cycles)
		err = "cmd_cycles must be nonzero";
	if (err && msg && msg_len)
		snprintf(msg, msg_len, "%s", err);
	return err ? -1 : 0;
}

struct npusim_core *npusim_core_create(const struct npusim_config *cfg)
{
	struct npusim_core *c;

	if (npusim_config_check(cfg, NULL, 0)) {
		errno = EINVAL;
		return NULL;
	}
	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->cfg = *cfg;
	c->cfg.name[sizeof(c->cfg.name) - 1] = '\0';
	c->sram = calloc(1, cfg->sram_bytes);
	if (!c->sram) {
		free(c);
		return NULL;
	}
	timeline_reset(&c->tl, &c->cfg);
	return c;
}

void npusim_core_destroy(struct npusim_core *c)
{
	if (!c)
		return;
	if (c->trace)
		trace_close(c->trace);
	free(c->scratch);
	free(c->sram);
	free(c);
}

const struct npusim_config *npusim_core_config(const struct npusim_core *c)
{
	return &c->cfg;
}

int npusim_core_sram_read(struct npusim_core *c, uint32_t off, void *dst, uint32_t len)
{
	if (!c || !dst || sram_span_check(c, off, len, NULL, NULL))
		return -1;
	memcpy(dst, c->sram + off, len);
	return 0;
}

int npusim_core_sram_write(struct npusim_core *c, uint32_t off, const void *src, uint32_t len)
{
	if (!c || !src || sram_span_check(c, off, len, NULL, NULL))
		return -1;
	memcpy(c->sram + off, src, len);
	return 0;
}

uint64_t npusim_core_sram_clear(struct npusim_core *c)
{
	if (!c)
		return 0;
	memset(c->sram, 0, c->cfg.sram_bytes);
	return (c->cfg.sram_bytes + NPU_SRAM_CLEAR_BYTES_PER_CYCLE - 1) /
	       NPU_SRAM_CLEAR_BYTES_PER_CYCLE;
}

int npusim_core_trace_open(struct npusim_core *c, const char *path)
{
	struct trace_writer *t;

	if (!c || !path) {
		errno = EINVAL;
		return -1;
	}
	t = trace_open(path, &c->cfg);
	if (!t)
		return -1;
	if (c->trace)
		trace_close(c->trace);
	c->trace = t;
	return 0;
}

int npusim_core_trace_close(struct npusim_core *c)
{
	int ret;

	if (!c || !c->trace)
		return 0;
	ret = trace_close(c->trace);
	c->trace = NULL;
	return ret;
}

/* ------------------------------------------------------------------ */
/* Dispatcher                                                          */
/* ------------------------------------------------------------------ */

/* Command length in bytes by opcode; 0 = not an opcode. */
union npu_cmd_any {
	uint32_t hdr;
	struct npu_cmd_begin begin;
	struct npu_cmd_wait wait;
	struct npu_cmd_jump jump;
	struct npu_cmd_signal signal;
	struct npu_cmd_dma dma;
	struct npu_cmd_dma_decompress dec;
	struct npu_cmd_conv conv;
	struct npu_cmd_matmul matmul;
	struct npu_cmd_eltwise eltwise;
	struct npu_cmd_pool pool;
	struct npu_cmd_lut lut;
};

struct job_state {
	struct npusim_core *c;
	const struct npusim_job *job;
	struct npu_job_report *rep;
	uint64_t budget;	/* watchdog, in cycles */
	uint64_t fault_addr;
	uint32_t fault_info;	/* NPU_FAULT_INFO_* of the memory access in progress */
	uint32_t pc;		/* byte offset of the current command */
};

/*
 * The watchdog: a command whose modelled completion would exceed the
 * budget does not take effect; the job ends with WATCHDOG at that command.
 */
static int over_budget(const struct job_state *s)
{
	return timeline_end(&s->c->tl) > s->budget;
}

/* Validate, schedule and execute one engine command (its row of the command table). */
static int run_engine_cmd(struct job_state *s, const union npu_cmd_any *cmd,
			  const struct cmd_desc *cd)
{
	struct npusim_core *c = s->c;
	struct cmd_info info;
	struct timeline_event ev;
	int f;

	memset(&info, 0, sizeof(info));
	info.engine = cd->engine;
	f = cd->check(c, cmd, &info);
	if (f) {
		s->fault_addr = info.fault_addr;
		return f;
	}
	f = timeline_issue(&c->tl, &info, c->cfg.hazard_check, &ev);
	if (f) {
		s->fault_addr = info.nwrites ? info.writes[0].start : 0;
		return f;
	}
	/* Before it runs: a hostile cost (2^64 DMA rows) never runs on the host. */
	if (over_budget(s))
		return NPU_FAULT_WATCHDOG;
	ev.opcode = (uint8_t)NPU_CMD_OPCODE(cmd->hdr);
	ev.cmd_offset = s->pc;
	if (c->trace)
		trace_event(c->trace, &ev);
	s->rep->macs += info.macs;
	s->rep->dram_read_bytes += info.dram_read;
	s->rep->dram_write_bytes += info.dram_write;
	return cd->exec(c, cmd, s->job->mem, &s->fault_addr, &s->fault_info);
}

static int run_signal(struct job_state *s, const struct npu_cmd_signal *cmd)
{
	uint64_t va = (uint64_t)cmd->addr_hi << 32 | cmd->addr_lo;
	uint64_t value = (uint64_t)cmd->value_hi << 32 | cmd->value_lo;
	uint8_t bytes[8];
	int f;

	if (cmd->flags & ~NPU_SIGNAL_F_IRQ) {
		s->fault_addr = offsetof(struct npu_cmd_signal, flags);
		return NPU_FAULT_BAD_FIELD;
	}
	if (va & 7) {
		s->fault_addr = va;
		return NPU_FAULT_ALIGNMENT;
	}
	timeline_wait(&s->c->tl, 0x7, 0);
	if (over_budget(s))
		return NPU_FAULT_WATCHDOG;
	for (int i = 0; i < 8; i++)
		bytes[i] = (uint8_t)(value >> (8 * i));
	s->fault_info = npu_access_info(NPU_ENGINE_CTRL, 1);
	f = s->job->mem->write(s->job->mem->opaque, va, bytes, 8, &s->fault_addr);
	if (f)
		return f;
	s->rep->dram_write_bytes += 8;
	if ((cmd->flags & NPU_SIGNAL_F_IRQ) && s->job->on_signal)
		s->job->on_signal(s->job->signal_opaque, value);
	return NPU_FAULT_NONE;
}

/*
 * Executes the command at s->pc. Returns a fault, or NPU_FAULT_NONE with
 * *next set to the next pc (UINT32_MAX after END).
 */
static int step(struct job_state *s, const uint8_t *stream, uint32_t size, int first,
		uint32_t *next)
{
	union npu_cmd_any cmd;
	const struct cmd_desc *cd;
	uint32_t hdr, op, len;

	if (size - s->pc < 4)
		return NPU_FAULT_STREAM_OVERRUN;
	memcpy(&hdr, stream + s->pc, 4);
	op = NPU_CMD_OPCODE(hdr);
	cd = cmd_desc(op);
	if (!cd || cd->bytes > sizeof(cmd))	/* a row without its union member: a bug */
		return NPU_FAULT_BAD_OPCODE;
	len = cd->bytes;
	if (NPU_CMD_RESERVED(hdr)) {
		s->fault_addr = 0;	/* the header word */
		return NPU_FAULT_BAD_FIELD;
	}
	if (NPU_CMD_WORDS(hdr) * 4 != len || len > size - s->pc)
		return NPU_FAULT_BAD_LENGTH;
	if (first && op != NPU_OP_BEGIN)
		return NPU_FAULT_BAD_VERSION;
	memcpy(&cmd, stream + s->pc, len);
	timeline_dispatch(&s->c->tl);
	s->rep->commands++;
	*next = s->pc + len;

	switch (op) {
	case NPU_OP_NOP:
		return NPU_FAULT_NONE;
	case NPU_OP_BEGIN:
		if (cmd.begin.flags || cmd.begin.reserved) {
			s->fault_addr = cmd.begin.flags ? offsetof(struct npu_cmd_begin, flags) :
					offsetof(struct npu_cmd_begin, reserved);
			return NPU_FAULT_BAD_FIELD;
		}
		if (cmd.begin.version >> 16 != NPU_ISA_VERSION_MAJOR ||
		    (cmd.begin.version & 0xffff) > NPU_ISA_VERSION_MINOR)
			return NPU_FAULT_BAD_VERSION;
		return NPU_FAULT_NONE;
	case NPU_OP_END:
		timeline_wait(&s->c->tl, 0x7, 0);
		*next = UINT32_MAX;
		return NPU_FAULT_NONE;
	case NPU_OP_WAIT:
		if (!cmd.wait.engine_mask || (cmd.wait.engine_mask & ~0x7u) ||
		    cmd.wait.max_outstanding >= NPU_QUEUE_DEPTH) {
			s->fault_addr = cmd.wait.engine_mask && !(cmd.wait.engine_mask & ~0x7u) ?
					offsetof(struct npu_cmd_wait, max_outstanding) :
					offsetof(struct npu_cmd_wait, engine_mask);
			return NPU_FAULT_BAD_FIELD;
		}
		timeline_wait(&s->c->tl, cmd.wait.engine_mask, cmd.wait.max_outstanding);
		return NPU_FAULT_NONE;
	case NPU_OP_JUMP:
		if (cmd.jump.target >= size || (cmd.jump.target & 3)) {
			s->fault_addr = offsetof(struct npu_cmd_jump, target);
			return NPU_FAULT_BAD_FIELD;
		}
		*next = cmd.jump.target;
		return NPU_FAULT_NONE;
	case NPU_OP_SIGNAL:
		return run_signal(s, &cmd.signal);
	default:
		return run_engine_cmd(s, &cmd, cd);
	}
}

/* A job stopped by the watchdog ends at its budget: nothing later counts. */
static uint64_t clamp(uint64_t v, uint64_t max)
{
	return v > max ? max : v;
}

static void finish_report(struct npusim_core *c, struct npu_job_report *rep, uint64_t limit)
{
	rep->cycles = clamp(timeline_end(&c->tl), limit);
	for (int e = 0; e < NPU_ENGINE_COUNT - 1; e++)
		rep->busy_cycles[e] = clamp(c->tl.q[e].busy, limit);
	rep->busy_cycles[NPU_ENGINE_CTRL] = clamp(c->tl.ctrl_busy, limit);
}

int npusim_core_run(struct npusim_core *c, const struct npusim_job *job,
		    struct npu_job_report *rep)
{
	struct job_state s = { .c = c, .job = job, .rep = rep };
	uint8_t *stream = NULL;
	int f = NPU_FAULT_NONE, first = 1;

	if (!c || !job || !rep || !job->mem || !job->mem->read || !job->mem->write)
		return rep ? (int)(rep->fault = NPU_FAULT_BAD_DESCRIPTOR) : NPU_FAULT_BAD_DESCRIPTOR;
	memset(rep, 0, sizeof(*rep));
	timeline_reset(&c->tl, &c->cfg);
	s.budget = job->watchdog_cycles ? job->watchdog_cycles : NPU_WATCHDOG_DEFAULT;

	if (job->cmd_size < 4 || job->cmd_size > NPU_CMD_MAX_BYTES || (job->cmd_size & 3) ||
	    (job->cmd_va & 3)) {
		f = NPU_FAULT_BAD_DESCRIPTOR;
		s.fault_addr = job->cmd_va;
		goto out;
	}
	stream = malloc(job->cmd_size);
	if (!stream) {
		f = NPU_FAULT_BUS_ERROR;
		goto out;
	}
	/* Command fetch: one DRAM read of the whole stream. */
	s.fault_info = npu_access_info(NPU_ENGINE_CTRL, 0);
	f = job->mem->read(job->mem->opaque, job->cmd_va, stream, job->cmd_size, &s.fault_addr);
	if (f)
		goto out;
	rep->dram_read_bytes += job->cmd_size;

	for (;;) {
		uint32_t next;

		if (job->abort && __atomic_load_n(job->abort, __ATOMIC_RELAXED)) {
			f = NPU_FAULT_ABORTED;
			break;
		}
		s.fault_info = 0;
		f = step(&s, stream, job->cmd_size, first, &next);
		if (f)
			break;
		first = 0;
		if (job->progress)
			__atomic_add_fetch(job->progress, 1, __ATOMIC_RELAXED);
		/* Commands without external effect (NOP, WAIT, JUMP, END) are checked here. */
		if (over_budget(&s)) {
			f = NPU_FAULT_WATCHDOG;
			break;
		}
		if (next == UINT32_MAX)
			break;
		s.pc = next;
	}
out:
	free(stream);
	finish_report(c, rep, f == NPU_FAULT_WATCHDOG ? s.budget : UINT64_MAX);
	rep->fault = (uint32_t)f;
	if (f) {
		rep->fault_cmd_offset = s.pc;
		rep->fault_addr = s.fault_addr;
		if (f == NPU_FAULT_MMU_UNMAPPED || f == NPU_FAULT_MMU_PERMISSION ||
		    f == NPU_FAULT_BUS_ERROR)
			rep->fault_info = s.fault_info;
	}
	if (c->trace && f != NPU_FAULT_ABORTED)
		trace_job_end(c->trace, c->job_seq, rep->cycles, rep->fault);
	c->job_seq++;
	return f;
}
