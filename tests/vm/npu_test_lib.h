/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the driver tests that run inside the VM: finding the npu DRM
 * device, thin ioctl wrappers that return -errno, BOs mapped into the
 * process, syncobjs, and the in-process reference (libnpusim) for
 * comparing a job's results bit for bit.
 */
#ifndef NPU_TEST_LIB_H
#define NPU_TEST_LIB_H

#include <stddef.h>
#include <stdint.h>

#include <drm.h>

#include "drm/npu_accel.h"
#include "npu_hw.h"
#include "npu_isa.h"

/* Opens the first DRM node (accel or render) whose driver is "npu"; -errno. */
int npu_open(void);
extern char npu_node[300];	/* the node npu_open() last opened */
/* ioctl returning 0 or -errno (EINTR/EAGAIN retried). */
int npu_ioctl(int fd, unsigned long req, void *arg);

uint64_t npu_param(int fd, uint32_t param);

struct tbo {
	uint32_t handle;
	uint64_t size, va, offset;
	void *map;		/* mmap()ed, or NULL */
};

/* Creates and maps a BO; aborts the test program on failure. */
void tbo_new(int fd, struct tbo *bo, uint64_t size, uint32_t flags);
void tbo_free(int fd, struct tbo *bo);
int gem_close(int fd, uint32_t handle);
/* PRIME: a dma-buf fd of bo; a dma-buf imported into fd (BO_INFO, mmap). 0 or -errno. */
int tbo_export(int fd, const struct tbo *bo, int *dmabuf);
int tbo_import(int fd, int dmabuf, struct tbo *bo, uint32_t *flags);

int syncobj_new(int fd, uint32_t *handle);
int syncobj_destroy(int fd, uint32_t handle);
/* Waits (timeout in ms) for the syncobj's fence; 0, -ETIME, -errno. */
int syncobj_wait(int fd, uint32_t handle, int64_t timeout_ms);

/*
 * Submits cmd_size bytes of the command BO at cmd_offset with the given
 * report BO (may be NULL), all bos (flags DRM_NPU_SUBMIT_BO_WRITE), an out
 * syncobj, a device budget; returns 0 or -errno.
 */
int submit(int fd, const struct tbo *cmd, uint32_t cmd_size, const struct tbo *report,
	   uint32_t out_sync, uint32_t watchdog_cycles);
/* submit + wait (30 s); returns the report's status (0, -EIO, -ETIMEDOUT). */
int run_job(int fd, const struct tbo *cmd, uint32_t cmd_size, struct tbo *report,
	    struct drm_npu_job_report *out);

#endif /* NPU_TEST_LIB_H */
