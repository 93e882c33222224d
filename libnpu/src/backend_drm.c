// SPDX-License-Identifier: MIT
/*
 * The kernel-driver backend: npu.ko through libdrm (uapi/drm/npu_accel.h).
 *
 * The device is the first DRM node whose driver is "npu": a compute-accel
 * node (/dev/accel/accelN, Linux 6.2+) or a render node. Buffer objects
 * are GEM BOs mapped into this process; their NPU addresses come from the
 * kernel (the file's own device address space). A job is a SUBMIT with a
 * report slot and an out-syncobj, waited for with the syncobj; several
 * threads may submit at once (one report slot each).
 *
 * Kernel errors come back as libnpu errors with the reason: a device
 * fault (the report's fault code), a job stopped by the driver's timeout,
 * a file banned after a hang or an MMU fault, a device that went away.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xf86drm.h>

#include "backend.h"
#include "drm/npu_accel.h"
#include "internal.h"
#include "npu.h"

#define REPORT_SLOTS	64u	/* concurrent submits; more wait for a slot */

struct drm_bo {
	struct npu_be_bo b;
	uint32_t handle;
};

struct npu_backend {
	int fd;
	char node[64];
	uint32_t sram_bytes, clock_khz;
	pthread_mutex_t lock;		/* bos[], report slots */
	pthread_cond_t slot_free;
	struct drm_bo **bos;		/* for finding the BO of a stream */
	size_t n, cap;
	struct drm_bo *reports;		/* REPORT_SLOTS drm_npu_job_reports */
	uint64_t slots_busy;		/* bitmap */
};

static int is_npu(int fd)
{
	drmVersionPtr v = drmGetVersion(fd);
	int yes = v && v->name && !strcmp(v->name, "npu");

	drmFreeVersion(v);
	return yes;
}

/* Opens the first npu node under dir whose name starts with prefix; -1 if none. */
static int open_npu_node(const char *dir, const char *prefix, char *node, size_t len)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int fd = -1;

	if (!d)
		return -1;
	while (fd < 0 && (e = readdir(d))) {
		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(node, len, "%s/%s", dir, e->d_name);
		fd = open(node, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !is_npu(fd)) {
			close(fd);
			fd = -1;
		}
	}
	closedir(d);
	return fd;
}

/* The npu device node's fd, or -1: tells libnpu's default whether to use it. */
int npu_drm_find(char *node, size_t len)
{
	int fd = open_npu_node("/dev/accel", "accel", node, len);

	return fd >= 0 ? fd : open_npu_node("/dev/dri", "renderD", node, len);
}

static int get_param(int fd, uint32_t param, uint64_t *value)
{
	struct drm_npu_get_param p = { .param = param };

	if (drmIoctl(fd, DRM_IOCTL_NPU_GET_PARAM, &p))
		return -errno;
	*value = p.value;
	return 0;
}

static int bo_create(struct npu_backend *be, uint64_t size, uint32_t flags, struct drm_bo **out,
		     char *msg, size_t msg_len)
{
	struct drm_npu_bo_create c = { .size = size };
	struct drm_gem_close cl = { 0 };
	struct drm_bo *bo;

	if (flags & NPU_BE_BO_DEV_RO)
		c.flags = DRM_NPU_BO_DEVICE_READ_ONLY;
	if (drmIoctl(be->fd, DRM_IOCTL_NPU_BO_CREATE, &c)) {
		int err = errno;

		snprintf(msg, msg_len, "BO_CREATE of %llu bytes: %s", (unsigned long long)size,
			 strerror(err));
		return err == ENOMEM || err == ENOSPC ? NPU_ERR_NOMEM : NPU_ERR_DEVICE;
	}
	bo = calloc(1, sizeof(*bo));
	if (bo)
		bo->b.host = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, be->fd,
				  (off_t)c.mmap_offset);
	if (!bo || bo->b.host == MAP_FAILED) {
		snprintf(msg, msg_len, "mapping a BO: %s", bo ? strerror(errno) : "out of memory");
		free(bo);
		cl.handle = c.handle;
		drmIoctl(be->fd, DRM_IOCTL_GEM_CLOSE, &cl);
		return NPU_ERR_NOMEM;
	}
	bo->b.va = c.npu_va;
	bo->b.size = c.size;
	bo->b.priv = bo;
	bo->handle = c.handle;
	*out = bo;
	return 0;
}

static void bo_destroy(struct npu_backend *be, struct drm_bo *bo)
{
	struct drm_gem_close cl = { .handle = bo->handle };

	munmap(bo->b.host, bo->b.size);
	drmIoctl(be->fd, DRM_IOCTL_GEM_CLOSE, &cl);
	free(bo);
}

static int drm_open_be(struct npu_backend **out, char *msg, size_t msg_len)
{
	struct npu_backend *be = calloc(1, sizeof(*be));
	uint64_t sram = 0, clock = 0;
	int rc;

	if (!be) {
		snprintf(msg, msg_len, "out of memory");
		return NPU_ERR_NOMEM;
	}
	be->fd = npu_drm_find(be->node, sizeof(be->node));
	if (be->fd < 0) {
		snprintf(msg, msg_len, "no npu device (no /dev/accel or /dev/dri node whose "
			 "driver is \"npu\": is npu.ko loaded?)");
		free(be);
		return NPU_ERR_NODEV;
	}
	rc = get_param(be->fd, DRM_NPU_PARAM_SRAM_BYTES, &sram);
	if (!rc)
		rc = get_param(be->fd, DRM_NPU_PARAM_CLOCK_KHZ, &clock);
	if (rc) {
		snprintf(msg, msg_len, "%s: GET_PARAM: %s", be->node, strerror(-rc));
		close(be->fd);
		free(be);
		return NPU_ERR_NODEV;
	}
	be->sram_bytes = (uint32_t)sram;
	be->clock_khz = (uint32_t)clock;
	pthread_mutex_init(&be->lock, NULL);
	pthread_cond_init(&be->slot_free, NULL);
	rc = bo_create(be, REPORT_SLOTS * sizeof(struct drm_npu_job_report), 0, &be->reports,
		       msg, msg_len);
	if (rc) {
		close(be->fd);
		free(be);
		return rc;
	}
	*out = be;
	return 0;
}

static void drm_close_be(struct npu_backend *be)
{
	bo_destroy(be, be->reports);
	for (size_t i = 0; i < be->n; i++)
		bo_destroy(be, be->bos[i]);
	free(be->bos);
	pthread_cond_destroy(&be->slot_free);
	pthread_mutex_destroy(&be->lock);
	close(be->fd);
	free(be);
}

static uint32_t drm_sram(struct npu_backend *be)
{
	return be->sram_bytes;
}

static uint32_t drm_clock(struct npu_backend *be)
{
	return be->clock_khz;
}

static int drm_bo_alloc(struct npu_backend *be, uint64_t size, uint32_t align, uint32_t flags,
			struct npu_be_bo **out)
{
	struct drm_bo *bo, **grown;
	char msg[160];
	int rc;

	/* The kernel places BOs at 4 KiB boundaries. */
	if (align > 4096)
		return npu_err(NPU_ERR_UNSUPPORTED, "device memory aligned to %u bytes: the drm "
			       "backend offers at most 4096", align);
	rc = bo_create(be, size, flags, &bo, msg, sizeof(msg));
	if (rc)
		return npu_err(rc, "%s", msg);
	pthread_mutex_lock(&be->lock);
	if (be->n == be->cap) {
		size_t cap = be->cap ? 2 * be->cap : 16;

		grown = realloc(be->bos, cap * sizeof(*grown));
		if (!grown) {
			pthread_mutex_unlock(&be->lock);
			bo_destroy(be, bo);
			return npu_err(NPU_ERR_NOMEM, "out of memory");
		}
		be->bos = grown;
		be->cap = cap;
	}
	be->bos[be->n++] = bo;
	pthread_mutex_unlock(&be->lock);
	*out = &bo->b;
	return 0;
}

static void drm_bo_free(struct npu_backend *be, struct npu_be_bo *b)
{
	struct drm_bo *bo = b->priv;

	pthread_mutex_lock(&be->lock);
	for (size_t i = 0; i < be->n; i++)
		if (be->bos[i] == bo) {
			be->bos[i] = be->bos[--be->n];
			break;
		}
	pthread_mutex_unlock(&be->lock);
	bo_destroy(be, bo);
}

/* The BO holding [va, va + size); lock held. */
static struct drm_bo *bo_of(struct npu_backend *be, uint64_t va, uint32_t size)
{
	for (size_t i = 0; i < be->n; i++) {
		struct drm_bo *bo = be->bos[i];

		if (va >= bo->b.va && va - bo->b.va + size <= bo->b.size)
			return bo;
	}
	return NULL;
}

static unsigned int slot_take(struct npu_backend *be)
{
	unsigned int s;

	while (be->slots_busy == UINT64_MAX)
		pthread_cond_wait(&be->slot_free, &be->lock);
	s = (unsigned int)__builtin_ctzll(~be->slots_busy);
	be->slots_busy |= 1ull << s;
	return s;
}

static void report_from_kernel(const struct drm_npu_job_report *k, struct npu_job_report *rep)
{
	memset(rep, 0, sizeof(*rep));
	rep->fault = k->fault;
	rep->fault_cmd_offset = k->fault_cmd_offset;
	rep->fault_addr = k->fault_addr;
	rep->cycles = k->cycles;
	rep->macs = k->macs;
	rep->dram_read_bytes = k->dram_read_bytes;
	rep->dram_write_bytes = k->dram_write_bytes;
	for (int i = 0; i < 4; i++)
		rep->busy_cycles[i] = k->busy_cycles[i];
	rep->commands = k->commands;
	rep->setup_cycles = k->setup_cycles;
	rep->fault_info = k->fault_info;
}

/* Why SUBMIT failed, in words. */
static int submit_error(struct npu_backend *be, int err)
{
	if (err == ECANCELED)
		return npu_err(NPU_ERR_DEVICE, "%s: this process's device context is banned (an "
			       "earlier job hung or faulted in the device MMU): reopen the device",
			       be->node);
	if (err == ENODEV)
		return npu_err(NPU_ERR_NODEV, "%s: the device went away", be->node);
	if (err == ENOMEM)
		return npu_err(NPU_ERR_NOMEM, "%s: SUBMIT: out of memory", be->node);
	return npu_err(NPU_ERR_DEVICE, "%s: SUBMIT: %s", be->node, strerror(err));
}

static int drm_submit(struct npu_backend *be, uint64_t cmd_va, uint32_t cmd_size,
		      uint64_t watchdog_cycles, struct npu_job_report *rep)
{
	struct drm_npu_job_report *k;
	struct drm_npu_submit s = { .cmd_size = cmd_size };
	struct drm_bo *cmd;
	uint32_t sync = 0;
	unsigned int slot;
	int rc = 0;

	pthread_mutex_lock(&be->lock);
	cmd = bo_of(be, cmd_va, cmd_size);
	if (!cmd) {
		pthread_mutex_unlock(&be->lock);
		return npu_err(NPU_ERR_INVAL, "no device buffer holds the stream at 0x%llx",
			       (unsigned long long)cmd_va);
	}
	s.cmd_handle = cmd->handle;
	s.cmd_offset = (uint32_t)(cmd_va - cmd->b.va);
	slot = slot_take(be);
	pthread_mutex_unlock(&be->lock);

	k = (struct drm_npu_job_report *)be->reports->b.host + slot;
	memset(k, 0, sizeof(*k));
	s.report_handle = be->reports->handle;
	s.report_offset = slot * (uint32_t)sizeof(*k);
	s.watchdog_cycles = watchdog_cycles > UINT32_MAX ? UINT32_MAX : (uint32_t)watchdog_cycles;
	if (drmSyncobjCreate(be->fd, 0, &sync)) {
		rc = npu_err(NPU_ERR_NOMEM, "%s: SYNCOBJ_CREATE: %s", be->node, strerror(errno));
		goto out;
	}
	s.out_syncobj = sync;
	if (drmIoctl(be->fd, DRM_IOCTL_NPU_SUBMIT, &s)) {
		rc = submit_error(be, errno);
		goto out;
	}
	/* The driver's own timeout bounds every job: wait without one here. */
	if (drmSyncobjWait(be->fd, &sync, 1, INT64_MAX, DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
			   NULL)) {
		rc = npu_err(NPU_ERR_DEVICE, "%s: waiting for job %llu: %s", be->node,
			     (unsigned long long)s.seqno, strerror(errno));
		goto out;
	}
	report_from_kernel(k, rep);
	if (k->status == -ETIMEDOUT)
		rc = npu_err(NPU_ERR_TIMEOUT, "%s: job %llu ran past the driver's timeout and was "
			     "stopped", be->node, (unsigned long long)s.seqno);
	else if (k->fault == NPU_FAULT_ABORTED)
		rc = npu_err(NPU_ERR_DEVICE, "%s: job %llu was lost to a device reset (%s)",
			     be->node, (unsigned long long)s.seqno, strerror(-k->status));
	else
		rc = (int)rep->fault;
out:
	if (sync)
		drmSyncobjDestroy(be->fd, sync);
	pthread_mutex_lock(&be->lock);
	be->slots_busy &= ~(1ull << slot);
	pthread_cond_signal(&be->slot_free);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

const struct npu_backend_ops npu_backend_drm = {
	.name = "drm",
	.open = drm_open_be,
	.close = drm_close_be,
	.sram_bytes = drm_sram,
	.clock_khz = drm_clock,
	.bo_alloc = drm_bo_alloc,
	.bo_free = drm_bo_free,
	.submit = drm_submit,
};
