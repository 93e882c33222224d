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
 * dma-buf export and import share buffers with other processes and devices
 * (PRIME); an imported buffer is mapped into this file's address space.
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
	unsigned int refs;		/* an import of a dma-buf this file already has */
};

struct npu_backend {
	int fd;
	char node[64];
	uint32_t sram_bytes, clock_khz;
	uint64_t va_size;		/* NPU address space for BOs */
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

/*
 * The npu device node's fd, or -1: tells libnpu's default whether to use
 * it. NPU_DRM_NODE names the node on a machine with several NPUs.
 */
int npu_drm_find(char *node, size_t len)
{
	const char *want = getenv("NPU_DRM_NODE");
	int fd;

	if (want && *want) {
		snprintf(node, len, "%s", want);
		fd = open(want, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !is_npu(fd)) {
			close(fd);
			fd = -1;
		}
		return fd;
	}
	fd = open_npu_node("/dev/accel", "accel", node, len);
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

	if (size > be->va_size) {
		snprintf(msg, msg_len, "a %llu-byte buffer: larger than the device's %llu-byte "
			 "address space", (unsigned long long)size, (unsigned long long)be->va_size);
		return NPU_ERR_NOMEM;
	}
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
	bo->b.flags = flags & NPU_BE_BO_DEV_RO;
	bo->b.priv = bo;
	bo->handle = c.handle;
	bo->refs = 1;
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
		if (getenv("NPU_DRM_NODE") && *getenv("NPU_DRM_NODE"))
			snprintf(msg, msg_len, "NPU_DRM_NODE=%s is not an npu device node",
				 getenv("NPU_DRM_NODE"));
		else
			snprintf(msg, msg_len, "no npu device (no /dev/accel or /dev/dri node "
				 "whose driver is \"npu\": is npu.ko loaded?)");
		free(be);
		return NPU_ERR_NODEV;
	}
	rc = get_param(be->fd, DRM_NPU_PARAM_SRAM_BYTES, &sram);
	if (!rc)
		rc = get_param(be->fd, DRM_NPU_PARAM_CLOCK_KHZ, &clock);
	if (!rc)
		rc = get_param(be->fd, DRM_NPU_PARAM_VA_SIZE, &be->va_size);
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

/* Adds bo to the list submits search; lock held. 0 or NPU_ERR_NOMEM. */
static int bo_list_add(struct npu_backend *be, struct drm_bo *bo)
{
	struct drm_bo **grown;

	if (be->n == be->cap) {
		size_t cap = be->cap ? 2 * be->cap : 16;

		grown = realloc(be->bos, cap * sizeof(*grown));
		if (!grown)
			return npu_err(NPU_ERR_NOMEM, "out of memory");
		be->bos = grown;
		be->cap = cap;
	}
	be->bos[be->n++] = bo;
	return 0;
}

static int drm_bo_alloc(struct npu_backend *be, uint64_t size, uint32_t align, uint32_t flags,
			struct npu_be_bo **out)
{
	struct drm_bo *bo;
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
	rc = bo_list_add(be, bo);
	pthread_mutex_unlock(&be->lock);
	if (rc) {
		bo_destroy(be, bo);
		return rc;
	}
	*out = &bo->b;
	return 0;
}

static void drm_bo_free(struct npu_backend *be, struct npu_be_bo *b)
{
	struct drm_bo *bo = b->priv;
	int last;

	pthread_mutex_lock(&be->lock);
	last = --bo->refs == 0;
	for (size_t i = 0; last && i < be->n; i++)
		if (be->bos[i] == bo) {
			be->bos[i] = be->bos[--be->n];
			break;
		}
	pthread_mutex_unlock(&be->lock);
	if (last)
		bo_destroy(be, bo);
}

static int drm_bo_export(struct npu_backend *be, struct npu_be_bo *b, int *fd)
{
	struct drm_bo *bo = b->priv;

	if (drmPrimeHandleToFD(be->fd, bo->handle, DRM_CLOEXEC | DRM_RDWR, fd))
		return npu_err(errno == EMFILE || errno == ENFILE ? NPU_ERR_NOMEM : NPU_ERR_DEVICE,
			       "%s: exporting a dma-buf: %s", be->node, strerror(errno));
	return 0;
}

/*
 * A dma-buf (another device's buffer, or an npu BO of another file) as a BO
 * of this file: the kernel maps its pages into our address space. DRM gives
 * the same handle for a dma-buf this file already holds: that BO is shared.
 */
static int drm_bo_import(struct npu_backend *be, int fd, struct npu_be_bo **out)
{
	struct drm_npu_bo_info info = { 0 };
	struct drm_gem_close cl = { 0 };
	struct drm_bo *bo = NULL;
	uint32_t handle;
	int rc;

	pthread_mutex_lock(&be->lock);	/* one import at a time: the handle lookup below */
	if (drmPrimeFDToHandle(be->fd, fd, &handle)) {
		rc = npu_err(errno == EBADF || errno == EINVAL ? NPU_ERR_INVAL : NPU_ERR_DEVICE,
			     "%s: importing fd %d: %s%s", be->node, fd, strerror(errno),
			     errno == EINVAL ? " (not a dma-buf?)" : "");
		goto out;
	}
	for (size_t i = 0; i < be->n; i++)
		if (be->bos[i]->handle == handle) {
			bo = be->bos[i];
			bo->refs++;
			*out = &bo->b;
			rc = 0;
			goto out;
		}
	info.handle = handle;
	cl.handle = handle;
	if (drmIoctl(be->fd, DRM_IOCTL_NPU_BO_INFO, &info)) {
		rc = npu_err(NPU_ERR_DEVICE, "%s: BO_INFO of an import: %s", be->node,
			     strerror(errno));
		drmIoctl(be->fd, DRM_IOCTL_GEM_CLOSE, &cl);
		goto out;
	}
	bo = calloc(1, sizeof(*bo));
	if (bo)
		bo->b.host = mmap(NULL, info.size, PROT_READ | PROT_WRITE, MAP_SHARED, be->fd,
				  (off_t)info.mmap_offset);
	if (!bo || bo->b.host == MAP_FAILED) {
		rc = npu_err(NPU_ERR_NOMEM, "%s: mapping an imported dma-buf: %s", be->node,
			     bo ? strerror(errno) : "out of memory");
		free(bo);
		drmIoctl(be->fd, DRM_IOCTL_GEM_CLOSE, &cl);
		goto out;
	}
	bo->b.va = info.npu_va;
	bo->b.size = info.size;
	bo->b.flags = info.flags & DRM_NPU_BO_DEVICE_READ_ONLY ? NPU_BE_BO_DEV_RO : 0;
	bo->b.priv = bo;
	bo->handle = handle;
	bo->refs = 1;
	rc = bo_list_add(be, bo);
	if (rc) {
		pthread_mutex_unlock(&be->lock);
		bo_destroy(be, bo);
		return rc;
	}
	*out = &bo->b;
out:
	pthread_mutex_unlock(&be->lock);
	return rc;
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

/* A finished job's outcome: its fault, or a negative status with the reason. */
static int job_result(struct npu_backend *be, const struct drm_npu_job_report *k, uint64_t seqno)
{
	if (k->status == -ETIMEDOUT)
		return npu_err(NPU_ERR_TIMEOUT, "%s: job %llu ran past the driver's timeout and "
			       "was stopped", be->node, (unsigned long long)seqno);
	if (k->fault == NPU_FAULT_ABORTED)
		return npu_err(NPU_ERR_DEVICE, "%s: job %llu was lost to a device reset (%s)",
			       be->node, (unsigned long long)seqno, strerror(-k->status));
	if (k->seqno != seqno)	/* the driver writes every report it runs */
		return npu_err(NPU_ERR_DEVICE, "%s: job %llu did not run", be->node,
			       (unsigned long long)seqno);
	return (int)k->fault;
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
	rc = job_result(be, k, s.seqno);
out:
	if (sync)
		drmSyncobjDestroy(be->fd, sync);
	pthread_mutex_lock(&be->lock);
	be->slots_busy &= ~(1ull << slot);
	pthread_cond_signal(&be->slot_free);
	pthread_mutex_unlock(&be->lock);
	return rc;
}

/*
 * A fenced chain: every job SUBMITted at once, each waiting for the one
 * before through one syncobj (in and out of every job), reports in a BO
 * of their own (a chain may be longer than the shared report slots). Jobs
 * list the caller's buffers they use, so the kernel orders them against
 * other users of a shared buffer (reservation fences).
 */
struct npu_be_chain {
	uint32_t n, queued;
	uint32_t sync;
	struct drm_bo *reports;		/* n struct drm_npu_job_report */
	uint64_t *seqno;
};

/* Waits for the queued jobs (they use the caller's memory), then frees. */
static void chain_free(struct npu_backend *be, struct npu_be_chain *ch)
{
	if (ch->queued)
		drmSyncobjWait(be->fd, &ch->sync, 1, INT64_MAX,
			       DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL);
	if (ch->sync)
		drmSyncobjDestroy(be->fd, ch->sync);
	if (ch->reports)
		bo_destroy(be, ch->reports);
	free(ch->seqno);
	free(ch);
}

static int chain_submit(struct npu_backend *be, struct npu_be_chain *ch,
			const struct npu_be_job *job)
{
	struct drm_npu_submit s = { .cmd_size = job->cmd_size };
	struct drm_npu_submit_bo *list = NULL;
	uint32_t i = ch->queued;
	struct drm_bo *cmd;
	int rc;

	pthread_mutex_lock(&be->lock);
	cmd = bo_of(be, job->cmd_va, job->cmd_size);
	pthread_mutex_unlock(&be->lock);
	if (!cmd)
		return npu_err(NPU_ERR_INVAL, "no device buffer holds stream %u at 0x%llx",
			       job->stream, (unsigned long long)job->cmd_va);
	s.cmd_handle = cmd->handle;
	s.cmd_offset = (uint32_t)(job->cmd_va - cmd->b.va);
	s.report_handle = ch->reports->handle;
	s.report_offset = i * (uint32_t)sizeof(struct drm_npu_job_report);
	s.watchdog_cycles = job->watchdog_cycles > UINT32_MAX ? UINT32_MAX :
			    (uint32_t)job->watchdog_cycles;
	if (i) {
		s.in_syncobjs = (uintptr_t)&ch->sync;
		s.in_syncobj_count = 1;
	}
	s.out_syncobj = ch->sync;
	if (job->n_bos) {
		list = calloc(job->n_bos, sizeof(*list));
		if (!list)
			return npu_err(NPU_ERR_NOMEM, "out of memory");
		for (uint32_t b = 0; b < job->n_bos; b++) {
			uint32_t h = ((struct drm_bo *)job->bos[b]->priv)->handle, k;
			uint32_t w = job->bo_write[b] ? DRM_NPU_SUBMIT_BO_WRITE : 0;

			for (k = 0; k < s.bo_count && list[k].handle != h; k++)
				;
			list[k].handle = h;	/* once each: the kernel locks them all */
			list[k].flags |= w;
			s.bo_count += k == s.bo_count;
		}
		s.bos = (uintptr_t)list;
		s.bo_stride = sizeof(*list);
	}
	rc = drmIoctl(be->fd, DRM_IOCTL_NPU_SUBMIT, &s) ? submit_error(be, errno) : 0;
	free(list);
	if (rc)
		return rc;
	ch->seqno[i] = s.seqno;
	ch->queued++;
	return 0;
}

static int drm_queue(struct npu_backend *be, const struct npu_be_job *jobs, uint32_t n,
		     struct npu_be_chain **out, int *fence)
{
	struct npu_be_chain *ch = calloc(1, sizeof(*ch));
	char msg[160];
	int rc = 0;

	*fence = -1;
	if (!ch)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	ch->n = n;
	ch->seqno = calloc(n, sizeof(*ch->seqno));
	if (!ch->seqno)
		rc = npu_err(NPU_ERR_NOMEM, "out of memory");
	if (!rc && bo_create(be, (uint64_t)n * sizeof(struct drm_npu_job_report), 0, &ch->reports,
			     msg, sizeof(msg)))
		rc = npu_err(NPU_ERR_NOMEM, "%s", msg);
	if (!rc && drmSyncobjCreate(be->fd, 0, &ch->sync))
		rc = npu_err(NPU_ERR_NOMEM, "%s: SYNCOBJ_CREATE: %s", be->node, strerror(errno));
	for (uint32_t i = 0; !rc && i < n; i++)
		rc = chain_submit(be, ch, &jobs[i]);
	if (!rc && drmSyncobjExportSyncFile(be->fd, ch->sync, fence))
		rc = npu_err(NPU_ERR_NOMEM, "%s: exporting a sync_file: %s", be->node,
			     strerror(errno));
	if (rc) {
		chain_free(be, ch);
		return rc;
	}
	*out = ch;
	return 0;
}

static int drm_chain_end(struct npu_backend *be, struct npu_be_chain *ch,
			 struct npu_job_report *rep, uint32_t *failed)
{
	const struct drm_npu_job_report *k = ch->reports->b.host;
	int rc = 0;

	/* The driver's own timeout bounds every job: wait without one here. */
	if (drmSyncobjWait(be->fd, &ch->sync, 1, INT64_MAX,
			   DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT, NULL))
		rc = npu_err(NPU_ERR_DEVICE, "%s: waiting for a chain of %u jobs: %s", be->node,
			     ch->n, strerror(errno));
	for (uint32_t i = 0; !rc && i < ch->n; i++) {
		report_from_kernel(&k[i], &rep[i]);
		rc = job_result(be, &k[i], ch->seqno[i]);
		if (rc)
			*failed = i;
	}
	chain_free(be, ch);
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
	.bo_export = drm_bo_export,
	.bo_import = drm_bo_import,
	.submit = drm_submit,
	.queue = drm_queue,
	.chain_end = drm_chain_end,
};
