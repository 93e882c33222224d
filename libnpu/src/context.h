/* SPDX-License-Identifier: MIT */
/*
 * libnpu internals of a context: its buffers and bindings, shared by the
 * plan walker (run.c), the fenced run (run_fenced.c), I/O placement
 * (io_place.c) and job accounting (job.c).
 */
#ifndef LIBNPU_CONTEXT_H
#define LIBNPU_CONTEXT_H

#include <pthread.h>

#include "internal.h"

struct binding {
	struct npu_bo *bo;		/* referenced */
	size_t offset;
	int fmt;
	int direct;			/* this run: the buffer is the I/O region itself */
};

struct npu_context {
	struct npu_obj obj;
	struct npu_model *mo;		/* referenced */
	struct npu_be_bo **rbo;		/* per region; [0] is the model's weights */
	uint8_t **rh;			/* host mapping per region */
	uint64_t *base;			/* VA per region */
	struct npu_be_bo *cmd;
	struct binding *in, *out;
	uint32_t flags;			/* NPU_CONTEXT_* */
	pthread_mutex_t lock;		/* busy, pending, dying, thr, bindings */
	int busy, pending;
	int dying;			/* npu_context_free started: no new runs */
	pthread_t thr;
	/*
	 * done: the async run has finished (set by the worker before it writes
	 * the eventfd). The state lives here, not in the fd's count, which the
	 * caller may consume; done_lock nests inside lock, never the reverse.
	 */
	pthread_mutex_t done_lock;
	pthread_cond_t done_cond;
	int done;
	int efd;
	int result;
	char msg[512];
	struct npu_profile prof;
	/* Fenced run (run_fenced.c): the chain in flight and its sync_file. */
	struct npu_be_chain *chain;
	int fence;			/* -1 when the run in progress is not fenced */
	char why_unfenced[160];		/* npu_run_fence's answer then */
	struct npu_be_bo *chain_cmd;	/* every stream relocated at once */
	uint32_t *chain_off;		/* stream s at chain_cmd + chain_off[s] */
	struct npu_job_report *chain_rep;	/* per step */
	struct npu_be_bo **chain_bos;	/* bound inputs, then outputs */
	uint8_t *chain_bo_write;
	uint64_t t0;			/* start of the async run, ns */
};

/* The host address of a binding's bytes. */
static inline uint8_t *npu_bound_ptr(const struct binding *b)
{
	return (uint8_t *)b->bo->b->host + b->offset;
}

/* job.c: CLOCK_MONOTONIC in ns. */
uint64_t npu_now_ns(void);
/*
 * io_place.c. Points each I/O region at its bound buffer where that buffer can serve
 * in place, else at the context's own memory; adds the bytes left to copy
 * to p->io_copy_bytes. Context busy.
 */
void npu_place_io(struct npu_context *c, struct npu_profile *p);
/* job.c. Adds a device job's report to a run's profile. */
void npu_profile_add(struct npu_profile *p, const struct npu_job_report *rep);
/* The device budget for stream s (twice its estimate when that is long). */
uint64_t npu_stream_watchdog(const struct npub_stream *sr);

/*
 * run_fenced.c. npu_fenced_start: a run that is device work only (every
 * I/O binding in place, no host step) on a backend with fences is queued
 * at once and its completion is a sync_file: 1 if started so (collect with
 * npu_fenced_finish, context busy meanwhile), 0 if the run must take the
 * plan walker (why_unfenced says why), or a negative status.
 */
int npu_fenced_start(struct npu_context *c);
/* Waits for the chain, fills c->prof, closes the fence; the run's result. */
int npu_fenced_finish(struct npu_context *c);
void npu_fenced_release(struct npu_context *c);

#endif /* LIBNPU_CONTEXT_H */
