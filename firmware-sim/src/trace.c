// SPDX-License-Identifier: MIT
/*
 * Chrome trace-event JSON writer (opens in Perfetto and chrome://tracing).
 * One process ("npu-v1"), one track per engine plus a "jobs" track.
 * Jobs are laid end to end: each job's events are offset by the cycles of
 * the jobs before it. Timestamps are device time in microseconds.
 */
#include <errno.h>
#include <stdlib.h>

#include "internal.h"

struct trace_writer {
	FILE *f;
	uint64_t base;		/* cycles of all finished jobs */
	double us_per_cycle;
	int first;
};

static const char *const engine_names[NPU_ENGINE_COUNT] = {
	"DMA", "MAC", "VEC", "control"
};
#define TRACE_TID_JOBS NPU_ENGINE_COUNT

/* Engine commands by name; anything else (never traced today) as "CMD". */
static const char *op_name(uint8_t op)
{
	return op >= NPU_OP_DMA && npusim_cmd_name(op) ? npusim_cmd_name(op) : "CMD";
}

static void sep(struct trace_writer *t)
{
	fputs(t->first ? "\n" : ",\n", t->f);
	t->first = 0;
}

struct trace_writer *trace_open(const char *path, const struct npusim_config *cfg)
{
	struct trace_writer *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->f = fopen(path, "w");
	if (!t->f) {
		free(t);
		return NULL;
	}
	t->us_per_cycle = 1000.0 / cfg->clock_khz;
	t->first = 1;
	fputs("{\"displayTimeUnit\":\"ns\",\"traceEvents\":[", t->f);
	sep(t);
	fprintf(t->f, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":1,"
		"\"args\":{\"name\":\"%s\"}}", cfg->name);
	for (int e = 0; e <= NPU_ENGINE_COUNT; e++) {
		sep(t);
		fprintf(t->f, "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":%d,"
			"\"args\":{\"name\":\"%s\"}}", e,
			e == TRACE_TID_JOBS ? "jobs" : engine_names[e]);
	}
	return t;
}

void trace_event(struct trace_writer *t, const struct timeline_event *ev)
{
	sep(t);
	fprintf(t->f, "{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
		"\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"cmd_offset\":%u,\"cycles\":%llu,"
		"\"macs\":%llu,\"dram_bytes\":%llu}}",
		op_name(ev->opcode), engine_names[ev->engine], (int)ev->engine,
		(double)(t->base + ev->start) * t->us_per_cycle,
		(double)(ev->end - ev->start) * t->us_per_cycle, ev->cmd_offset,
		(unsigned long long)(ev->end - ev->start), (unsigned long long)ev->macs,
		(unsigned long long)ev->dram_bytes);
}

void trace_job_end(struct trace_writer *t, uint64_t job_seq, uint64_t cycles, uint32_t fault)
{
	sep(t);
	fprintf(t->f, "{\"name\":\"job %llu\",\"cat\":\"job\",\"ph\":\"X\",\"pid\":1,\"tid\":%d,"
		"\"ts\":%.3f,\"dur\":%.3f,\"args\":{\"cycles\":%llu,\"fault\":\"%s\"}}",
		(unsigned long long)job_seq, TRACE_TID_JOBS, (double)t->base * t->us_per_cycle,
		(double)cycles * t->us_per_cycle, (unsigned long long)cycles,
		npusim_fault_name(fault));
	t->base += cycles;
}

int trace_close(struct trace_writer *t)
{
	int ret;

	fputs("\n]}\n", t->f);
	ret = ferror(t->f) ? -1 : 0;
	if (fclose(t->f))
		ret = -1;
	free(t);
	if (ret && !errno)
		errno = EIO;
	return ret;
}
