/* SPDX-License-Identifier: MIT */
/*
 * libnpu backends: what a device is underneath. The runtime (npu.c,
 * model.c) only talks to a device through this table; a backend provides
 * device memory (buffer objects with a device VA and a host mapping) and
 * runs one relocated command stream at a time.
 */
#ifndef LIBNPU_BACKEND_H
#define LIBNPU_BACKEND_H

#include <stddef.h>
#include <stdint.h>

#include "npu_hw.h"

struct npu_backend;			/* backend-private device state */

#define NPU_BE_BO_DEV_RO	(1u << 0)	/* the device may only read it */

struct npu_be_bo {
	uint64_t va;			/* device virtual address */
	uint64_t size;
	void *host;			/* host mapping, size bytes */
	uint32_t flags;			/* NPU_BE_BO_* */
	void *priv;
};

/* One job of a fenced chain: a relocated stream in device memory. */
struct npu_be_job {
	uint64_t cmd_va;
	uint32_t cmd_size;
	uint32_t stream;		/* for messages */
	uint64_t watchdog_cycles;
	/*
	 * Buffers the job reads or (bo_write[i]) writes besides the context's
	 * own: shared ones (dma-buf) synchronise implicitly with other devices.
	 */
	struct npu_be_bo *const *bos;
	const uint8_t *bo_write;
	uint32_t n_bos;
};

struct npu_be_chain;			/* backend-private: jobs in flight */

struct npu_backend_ops {
	const char *name;
	/* 0 or a negative npu_status with a message in msg. */
	int (*open)(struct npu_backend **out, char *msg, size_t msg_len);
	void (*close)(struct npu_backend *be);
	uint32_t (*sram_bytes)(struct npu_backend *be);
	uint32_t (*clock_khz)(struct npu_backend *be);
	/* Zeroed memory, VA aligned to align (a power of 2). 0 or NPU_ERR_NOMEM. */
	int (*bo_alloc)(struct npu_backend *be, uint64_t size, uint32_t align, uint32_t flags,
			struct npu_be_bo **out);
	void (*bo_free)(struct npu_backend *be, struct npu_be_bo *bo);
	/*
	 * Optional dma-buf sharing (NULL: NPU_ERR_UNSUPPORTED): a new dma-buf
	 * fd of bo; a BO over a dma-buf's memory (fd stays the caller's).
	 * 0 or a negative npu_status with its message set.
	 */
	int (*bo_export)(struct npu_backend *be, struct npu_be_bo *bo, int *fd);
	int (*bo_import)(struct npu_backend *be, int fd, struct npu_be_bo **out);
	/*
	 * Runs the stream at cmd_va (already relocated) to completion; fills
	 * *rep. Returns rep->fault, or a negative npu_status (with its
	 * message set) when the job could not run or its outcome is unknown
	 * (banned, timed out, lost to a reset). May be called from several
	 * threads: the backend queues jobs.
	 */
	int (*submit)(struct npu_backend *be, uint64_t cmd_va, uint32_t cmd_size,
		      uint64_t watchdog_cycles, struct npu_job_report *rep);
	/*
	 * Optional fenced submission (NULL: not offered). queue: runs the
	 * relocated streams jobs[0..n) in order, each after the previous, and
	 * returns at once: 0 with a chain to finish and *fence, a sync_file fd
	 * (the caller's) that signals when the last job has ended; or a
	 * negative npu_status (nothing left running). chain_end: waits for the
	 * chain, fills rep[0..n) and frees it; returns as submit does for the
	 * first job that did not succeed (*failed: its index), else 0.
	 */
	int (*queue)(struct npu_backend *be, const struct npu_be_job *jobs, uint32_t n,
		     struct npu_be_chain **chain, int *fence);
	int (*chain_end)(struct npu_backend *be, struct npu_be_chain *chain,
			 struct npu_job_report *rep, uint32_t *failed);
	/* Optional (NULL: NPU_ERR_UNSUPPORTED). 0 or -1 (errno). */
	int (*trace_open)(struct npu_backend *be, const char *path);
	int (*trace_close)(struct npu_backend *be);
};

extern const struct npu_backend_ops npu_backend_sim;
extern const struct npu_backend_ops npu_backend_drm;

/* backend_drm.c: an open fd of the npu DRM node (path in node), or -1. */
int npu_drm_find(char *node, size_t len);

#endif /* LIBNPU_BACKEND_H */
