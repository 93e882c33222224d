// SPDX-License-Identifier: MIT
/*
 * The in-process simulator backend: one libnpusim core (npu-v1 default
 * configuration) per device. Buffer objects are host memory given VAs in a
 * 32-bit device address space; jobs run one at a time under the device
 * lock, reaching memory through a VA -> buffer lookup.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>

#include "backend.h"
#include "npu.h"
#include "npusim.h"

#define SIM_VA_START	0x00100000ull
#define SIM_VA_END	(1ull << 32)
#define SIM_PAGE	4096ull

struct sim_bo {
	struct npu_be_bo b;
	uint32_t flags;
};

struct npu_backend {
	pthread_mutex_t lock;		/* the core, the VA map */
	struct npusim_core *core;
	struct sim_bo **bos;		/* sorted by VA */
	size_t n, cap;
};

static int sim_open(struct npu_backend **out, char *msg, size_t msg_len)
{
	struct npusim_config cfg;
	struct npu_backend *be = calloc(1, sizeof(*be));

	if (!be) {
		snprintf(msg, msg_len, "out of memory");
		return NPU_ERR_NOMEM;
	}
	npusim_config_default(&cfg);
	be->core = npusim_core_create(&cfg);
	if (!be->core) {
		free(be);
		snprintf(msg, msg_len, "cannot create the simulator core");
		return NPU_ERR_NOMEM;
	}
	pthread_mutex_init(&be->lock, NULL);
	*out = be;
	return 0;
}

static void sim_close(struct npu_backend *be)
{
	npusim_core_destroy(be->core);
	pthread_mutex_destroy(&be->lock);
	free(be->bos);
	free(be);
}

static uint32_t sim_sram(struct npu_backend *be)
{
	return npusim_core_config(be->core)->sram_bytes;
}

static uint32_t sim_clock(struct npu_backend *be)
{
	return npusim_core_config(be->core)->clock_khz;
}

static uint64_t span_of(const struct sim_bo *s)
{
	return (s->b.size + SIM_PAGE - 1) & ~(SIM_PAGE - 1);
}

/* First fit in the gaps between buffers; lock held. Returns the slot or -1. */
static long va_place(struct npu_backend *be, uint64_t span, uint64_t align, uint64_t *va)
{
	uint64_t at = SIM_VA_START;

	for (size_t i = 0; i <= be->n; i++) {
		uint64_t end = i < be->n ? be->bos[i]->b.va : SIM_VA_END;

		at = (at + align - 1) & ~(align - 1);
		if (at <= end && end - at >= span) {
			*va = at;
			return (long)i;
		}
		if (i < be->n)
			at = be->bos[i]->b.va + span_of(be->bos[i]);
	}
	return -1;
}

static int sim_bo_alloc(struct npu_backend *be, uint64_t size, uint32_t align, uint32_t flags,
			struct npu_be_bo **out)
{
	struct sim_bo *s;
	uint64_t span = (size + SIM_PAGE - 1) & ~(SIM_PAGE - 1), va;
	long slot;

	/* More than the VA space can never be placed: fail before a huge calloc. */
	if (!size || size > SIM_VA_END - SIM_VA_START)
		return NPU_ERR_NOMEM;
	if (align < SIM_PAGE || (align & (align - 1)))
		align = SIM_PAGE;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NPU_ERR_NOMEM;
	s->b.host = calloc(1, (size_t)span);
	s->b.size = size;
	s->flags = flags;
	pthread_mutex_lock(&be->lock);
	if (be->n == be->cap) {
		size_t cap = be->cap ? 2 * be->cap : 32;
		struct sim_bo **n = realloc(be->bos, cap * sizeof(*n));

		if (n) {
			be->bos = n;
			be->cap = cap;
		}
	}
	slot = s->b.host && be->n < be->cap ? va_place(be, span, align, &va) : -1;
	if (slot >= 0) {
		memmove(&be->bos[slot + 1], &be->bos[slot],
			(be->n - (size_t)slot) * sizeof(*be->bos));
		be->bos[slot] = s;
		be->n++;
		s->b.va = va;
	}
	pthread_mutex_unlock(&be->lock);
	if (slot < 0) {
		free(s->b.host);
		free(s);
		return NPU_ERR_NOMEM;
	}
	*out = &s->b;
	return 0;
}

static void sim_bo_free(struct npu_backend *be, struct npu_be_bo *b)
{
	struct sim_bo *s = (struct sim_bo *)b;

	if (!b)
		return;
	pthread_mutex_lock(&be->lock);
	for (size_t i = 0; i < be->n; i++)
		if (be->bos[i] == s) {
			memmove(&be->bos[i], &be->bos[i + 1], (be->n - i - 1) * sizeof(*be->bos));
			be->n--;
			break;
		}
	pthread_mutex_unlock(&be->lock);
	free(s->b.host);
	free(s);
}

/* The buffer holding [va, va + len), or NULL; lock held. */
static struct sim_bo *va_lookup(struct npu_backend *be, uint64_t va, uint32_t len,
				uint64_t *fault_va)
{
	size_t lo = 0, hi = be->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (be->bos[mid]->b.va <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo) {
		struct sim_bo *s = be->bos[lo - 1];
		uint64_t off = va - s->b.va;

		if (off < s->b.size && len <= s->b.size - off)
			return s;
		if (off < s->b.size) {
			*fault_va = s->b.va + s->b.size;
			return NULL;
		}
	}
	*fault_va = va;
	return NULL;
}

static int sim_read(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	struct sim_bo *s = va_lookup(opaque, va, len, fault_va);

	if (!s)
		return NPU_FAULT_MMU_UNMAPPED;
	memcpy(dst, (uint8_t *)s->b.host + (va - s->b.va), len);
	return NPU_FAULT_NONE;
}

static int sim_write(void *opaque, uint64_t va, const void *src, uint32_t len,
		     uint64_t *fault_va)
{
	struct sim_bo *s = va_lookup(opaque, va, len, fault_va);

	if (!s)
		return NPU_FAULT_MMU_UNMAPPED;
	if (s->flags & NPU_BE_BO_DEV_RO) {
		*fault_va = va;
		return NPU_FAULT_MMU_PERMISSION;
	}
	memcpy((uint8_t *)s->b.host + (va - s->b.va), src, len);
	return NPU_FAULT_NONE;
}

static int sim_submit(struct npu_backend *be, uint64_t cmd_va, uint32_t cmd_size,
		      uint64_t watchdog_cycles, struct npu_job_report *rep)
{
	struct npusim_vmem mem = { sim_read, sim_write, be };
	struct npusim_job job;
	int rc;

	memset(&job, 0, sizeof(job));
	job.mem = &mem;
	job.cmd_va = cmd_va;
	job.cmd_size = cmd_size;
	job.watchdog_cycles = watchdog_cycles;
	pthread_mutex_lock(&be->lock);
	rc = npusim_core_run(be->core, &job, rep);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

static int sim_trace_open(struct npu_backend *be, const char *path)
{
	int rc;

	pthread_mutex_lock(&be->lock);
	rc = npusim_core_trace_open(be->core, path);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

static int sim_trace_close(struct npu_backend *be)
{
	int rc;

	pthread_mutex_lock(&be->lock);
	rc = npusim_core_trace_close(be->core);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

const struct npu_backend_ops npu_backend_sim = {
	.name = "sim",
	.open = sim_open,
	.close = sim_close,
	.sram_bytes = sim_sram,
	.clock_khz = sim_clock,
	.bo_alloc = sim_bo_alloc,
	.bo_free = sim_bo_free,
	.submit = sim_submit,
	.trace_open = sim_trace_open,
	.trace_close = sim_trace_close,
};
