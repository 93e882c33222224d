/* SPDX-License-Identifier: MIT */
/*
 * libnpusim internals shared by the core loop and the engine models.
 *
 * Every command goes through two steps:
 *   <op>_check(): validate all fields against the spec and the config,
 *                 compute the SRAM spans it touches and its cost (struct
 *                 cmd_info). Returns NPU_FAULT_NONE or a fault code; no
 *                 side effects. Arithmetic on fields is done in 64 bits so
 *                 hostile values cannot wrap.
 *   <op>_exec():  perform it. Only called after a successful check, so
 *                 SRAM accesses are known to be in range. DMA-type commands
 *                 can still fault on the MMU, hence their int return.
 */
#ifndef NPUSIM_INTERNAL_H
#define NPUSIM_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "npusim.h"

#define NPUSIM_MAX_SPANS 3

/* Half-open byte range [start, end) of SRAM. */
struct sram_span {
	uint64_t start, end;
};

/*
 * Field checks (BAD_FIELD): the first failing condition, in npu-isa.rst's
 * order, returns the offending field's byte offset in the command, which
 * the fault reports in fault_addr; NPUSIM_FIELDS_OK when every check passes.
 */
#define NPUSIM_FIELDS_OK (-1)
#define BAD_FIELD_IF(cond, type, field) \
	do { \
		if (cond) \
			return (int)offsetof(type, field); \
	} while (0)

struct cmd_info {
	enum npu_engine engine;
	uint64_t cycles;		/* engine busy cycles (>= 1) */
	uint64_t macs;
	uint64_t dram_read;		/* bytes read from DRAM */
	uint64_t dram_write;		/* bytes written to DRAM */
	struct sram_span reads[NPUSIM_MAX_SPANS];
	unsigned int nreads;
	struct sram_span writes[1];
	unsigned int nwrites;
	uint64_t fault_addr;		/* set by check on a fault (SRAM offset) */
};

struct trace_writer;

/* One command's place in the engine timeline (for traces). */
struct timeline_event {
	uint8_t opcode;
	enum npu_engine engine;
	uint32_t cmd_offset;
	uint64_t start, end;
	uint64_t macs, dram_bytes;
};

/*
 * History of one engine's last NPU_QUEUE_DEPTH commands (in order, so end
 * times increase). seq numbers count the engine's commands from 1;
 * `retired` is the highest seq a WAIT, SIGNAL or END has ordered before
 * everything dispatched after it.
 */
struct engine_queue {
	uint64_t end[NPU_QUEUE_DEPTH];
	uint64_t seq[NPU_QUEUE_DEPTH];
	struct cmd_info info[NPU_QUEUE_DEPTH];
	unsigned int head, count;	/* ring of the last `count` commands */
	uint64_t issued, retired;
	uint64_t free_at;		/* end of the last command */
	uint64_t busy;			/* total busy cycles */
};

struct timeline {
	const struct npusim_config *cfg;
	uint64_t now;			/* dispatcher time */
	struct engine_queue q[NPU_ENGINE_COUNT - 1];
	uint64_t ctrl_busy;
};

void timeline_reset(struct timeline *tl, const struct npusim_config *cfg);
/* Dispatcher cost of decoding any command. */
void timeline_dispatch(struct timeline *tl);
/* Place an engine command; returns NPU_FAULT_HAZARD or NPU_FAULT_NONE. */
int timeline_issue(struct timeline *tl, const struct cmd_info *info, int hazard_check,
		   struct timeline_event *ev);
/* WAIT: stall until each engine in mask has <= max_outstanding in flight. */
void timeline_wait(struct timeline *tl, uint32_t engine_mask, uint32_t max_outstanding);
/* Time at which everything issued so far has finished. */
uint64_t timeline_end(const struct timeline *tl);

struct npusim_core {
	struct npusim_config cfg;
	uint8_t *sram;
	struct timeline tl;
	struct trace_writer *trace;
	uint64_t job_seq;		/* jobs run, for trace naming */
	/* Scratch for the MAC engine (im2col rows etc.), grown on demand. */
	void *scratch;
	size_t scratch_size;
};

/* Returns a scratch buffer of at least size bytes, or NULL. */
void *core_scratch(struct npusim_core *c, size_t size);

/* Span helper: 0 if [start, start+len) fits SRAM, else NPU_FAULT_SRAM_RANGE. */
int sram_span_check(const struct npusim_core *c, uint64_t start, uint64_t len,
		    struct sram_span *out, uint64_t *fault_addr);

/* An SRAM operand of a command: byte offset and length. */
struct sram_operand {
	uint64_t addr, len;
};

/*
 * Range-checks a command's SRAM operands (nreads inputs, one output) in
 * order and records them in info->reads / info->writes. Returns
 * NPU_FAULT_NONE or NPU_FAULT_SRAM_RANGE with info->fault_addr set.
 */
int cmd_operands_check(const struct npusim_core *c, struct cmd_info *info,
		       const struct sram_operand *reads, unsigned int nreads,
		       struct sram_operand write);

/* NPU_FAULT_INFO_* of a memory access (MMU / bus faults). */
static inline uint32_t npu_access_info(uint32_t engine, int write)
{
	return NPU_FAULT_INFO_VALID | engine << NPU_FAULT_INFO_ENGINE_SHIFT |
	       (write ? NPU_FAULT_INFO_WRITE : 0);
}

/*
 * The command table (cmd_table.c): one row per opcode. Control commands
 * (engine NPU_ENGINE_CTRL) have no check / exec: the dispatcher runs them.
 * exec returns a fault (DMA commands) and then sets *fault_addr and
 * *fault_info.
 */
struct cmd_field;
struct cmd_desc {
	const char *name;
	uint32_t bytes;				/* the command's length, header included */
	enum npu_engine engine;
	int (*check)(const struct npusim_core *c, const void *cmd, struct cmd_info *info);
	int (*exec)(struct npusim_core *c, const void *cmd, const struct npusim_vmem *mem,
		    uint64_t *fault_addr, uint32_t *fault_info);
	const struct cmd_field *fields;		/* by offset, for BAD_FIELD messages */
	size_t n_fields;
};
/* The row of an opcode; NULL if the ISA defines none. */
const struct cmd_desc *cmd_desc(uint32_t opcode);

/* MAC engine (exec_conv.c, exec_matmul.c) */
int conv_check(const struct npusim_core *c, const struct npu_cmd_conv *cmd, struct cmd_info *info);
void conv_exec(struct npusim_core *c, const struct npu_cmd_conv *cmd);
int matmul_check(const struct npusim_core *c, const struct npu_cmd_matmul *cmd,
		 struct cmd_info *info);
void matmul_exec(struct npusim_core *c, const struct npu_cmd_matmul *cmd);

/* VEC engine (exec_vec.c, exec_pool.c) */
int eltwise_check(const struct npusim_core *c, const struct npu_cmd_eltwise *cmd,
		  struct cmd_info *info);
void eltwise_exec(struct npusim_core *c, const struct npu_cmd_eltwise *cmd);
int pool_check(const struct npusim_core *c, const struct npu_cmd_pool *cmd, struct cmd_info *info);
void pool_exec(struct npusim_core *c, const struct npu_cmd_pool *cmd);
int lut_check(const struct npusim_core *c, const struct npu_cmd_lut *cmd, struct cmd_info *info);
void lut_exec(struct npusim_core *c, const struct npu_cmd_lut *cmd);

/* DMA engine (exec_dma.c): exec returns a fault code, *fault_addr = VA. */
int dma_check(const struct npusim_core *c, const struct npu_cmd_dma *cmd, struct cmd_info *info);
int dma_exec(struct npusim_core *c, const struct npu_cmd_dma *cmd, const struct npusim_vmem *mem,
	     uint64_t *fault_addr);
int decompress_check(const struct npusim_core *c, const struct npu_cmd_dma_decompress *cmd,
		     struct cmd_info *info);
int decompress_exec(struct npusim_core *c, const struct npu_cmd_dma_decompress *cmd,
		    const struct npusim_vmem *mem, uint64_t *fault_addr);

/*
 * Trace writer (trace.c): Chrome trace-event JSON. Jobs are laid end to
 * end on the time axis; events are in device cycles converted to us.
 */
struct trace_writer *trace_open(const char *path, const struct npusim_config *cfg);
void trace_event(struct trace_writer *t, const struct timeline_event *ev);
void trace_job_end(struct trace_writer *t, uint64_t job_seq, uint64_t cycles, uint32_t fault);
int trace_close(struct trace_writer *t);

#endif /* NPUSIM_INTERNAL_H */
