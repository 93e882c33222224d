// SPDX-License-Identifier: MIT
/* Helpers of the VM driver tests: see npu_test_lib.h. */
#include "npu_test_lib.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

static void die(const char *what, int err)
{
	fprintf(stderr, "npu_test: %s: %s\n", what, strerror(-err));
	exit(1);
}

int npu_ioctl(int fd, unsigned long req, void *arg)
{
	int ret;

	do {
		ret = ioctl(fd, req, arg);
	} while (ret == -1 && (errno == EINTR || errno == EAGAIN));
	return ret == -1 ? -errno : 0;
}

static int is_npu(int fd)
{
	char name[32] = "";
	struct drm_version v = { .name = name, .name_len = sizeof(name) - 1 };

	return npu_ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && !strcmp(name, "npu");
}

char npu_node[300];

static int open_in(const char *dir, const char *prefix)
{
	struct dirent *e;
	DIR *d = opendir(dir);
	int fd = -ENODEV;

	if (!d)
		return -ENODEV;
	while (fd < 0 && (e = readdir(d))) {
		char path[300];

		if (strncmp(e->d_name, prefix, strlen(prefix)))
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !is_npu(fd)) {
			close(fd);
			fd = -ENODEV;
		}
		if (fd >= 0)
			snprintf(npu_node, sizeof(npu_node), "%s", path);
	}
	closedir(d);
	return fd;
}

int npu_open(void)
{
	const char *want = getenv("NPU_DRM_NODE");	/* as libnpu: one of several NPUs */
	int fd;

	if (want && *want) {
		fd = open(want, O_RDWR | O_CLOEXEC);
		if (fd >= 0 && !is_npu(fd)) {
			close(fd);
			return -ENODEV;
		}
		if (fd >= 0)
			snprintf(npu_node, sizeof(npu_node), "%s", want);
		return fd >= 0 ? fd : -errno;
	}
	fd = open_in("/dev/accel", "accel");

	return fd >= 0 ? fd : open_in("/dev/dri", "renderD");
}

uint64_t npu_param(int fd, uint32_t param)
{
	struct drm_npu_get_param p = { .param = param };
	int ret = npu_ioctl(fd, DRM_IOCTL_NPU_GET_PARAM, &p);

	if (ret)
		die("GET_PARAM", ret);
	return p.value;
}

void tbo_new(int fd, struct tbo *bo, uint64_t size, uint32_t flags)
{
	struct drm_npu_bo_create c = { .size = size, .flags = flags };
	int ret = npu_ioctl(fd, DRM_IOCTL_NPU_BO_CREATE, &c);

	if (ret)
		die("BO_CREATE", ret);
	bo->handle = c.handle;
	bo->size = c.size;
	bo->va = c.npu_va;
	bo->offset = c.mmap_offset;
	bo->map = mmap(NULL, c.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)c.mmap_offset);
	if (bo->map == MAP_FAILED)
		die("mmap", -errno);
	memset(bo->map, 0, c.size);
}

int tbo_export(int fd, const struct tbo *bo, int *dmabuf)
{
	struct drm_prime_handle p = { .handle = bo->handle, .flags = DRM_CLOEXEC | DRM_RDWR };
	int ret = npu_ioctl(fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p);

	*dmabuf = ret ? -1 : p.fd;
	return ret;
}

int tbo_import(int fd, int dmabuf, struct tbo *bo, uint32_t *flags)
{
	struct drm_prime_handle p = { .fd = dmabuf };
	struct drm_npu_bo_info i = { 0 };
	int ret;

	memset(bo, 0, sizeof(*bo));
	ret = npu_ioctl(fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p);
	if (ret)
		return ret;
	i.handle = bo->handle = p.handle;
	ret = npu_ioctl(fd, DRM_IOCTL_NPU_BO_INFO, &i);
	if (ret)
		return ret;
	bo->size = i.size;
	bo->va = i.npu_va;
	bo->offset = i.mmap_offset;
	*flags = i.flags;
	bo->map = mmap(NULL, i.size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, (off_t)i.mmap_offset);
	if (bo->map == MAP_FAILED) {
		bo->map = NULL;
		return -errno;
	}
	return 0;
}

int gem_close(int fd, uint32_t handle)
{
	struct drm_gem_close c = { .handle = handle };

	return npu_ioctl(fd, DRM_IOCTL_GEM_CLOSE, &c);
}

void tbo_free(int fd, struct tbo *bo)
{
	if (bo->map)
		munmap(bo->map, bo->size);
	gem_close(fd, bo->handle);
	memset(bo, 0, sizeof(*bo));
}

int syncobj_new(int fd, uint32_t *handle)
{
	struct drm_syncobj_create c = { 0 };
	int ret = npu_ioctl(fd, DRM_IOCTL_SYNCOBJ_CREATE, &c);

	*handle = c.handle;
	return ret;
}

int syncobj_destroy(int fd, uint32_t handle)
{
	struct drm_syncobj_destroy d = { .handle = handle };

	return npu_ioctl(fd, DRM_IOCTL_SYNCOBJ_DESTROY, &d);
}

int syncobj_wait(int fd, uint32_t handle, int64_t timeout_ms)
{
	struct timespec now;
	struct drm_syncobj_wait w = {
		.handles = (uintptr_t)&handle,
		.count_handles = 1,
		.flags = DRM_SYNCOBJ_WAIT_FLAGS_WAIT_FOR_SUBMIT,
	};

	clock_gettime(CLOCK_MONOTONIC, &now);
	w.timeout_nsec = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec + timeout_ms * 1000000;
	return npu_ioctl(fd, DRM_IOCTL_SYNCOBJ_WAIT, &w);
}

int submit(int fd, const struct tbo *cmd, uint32_t cmd_size, const struct tbo *report,
	   uint32_t out_sync, uint32_t watchdog_cycles)
{
	struct drm_npu_submit s = {
		.cmd_handle = cmd->handle,
		.cmd_size = cmd_size,
		.report_handle = report ? report->handle : 0,
		.out_syncobj = out_sync,
		.watchdog_cycles = watchdog_cycles,
	};

	return npu_ioctl(fd, DRM_IOCTL_NPU_SUBMIT, &s);
}

int run_job(int fd, const struct tbo *cmd, uint32_t cmd_size, struct tbo *report,
	    struct drm_npu_job_report *out)
{
	uint32_t sync;
	int ret;

	if (syncobj_new(fd, &sync))
		die("SYNCOBJ_CREATE", -errno);
	ret = submit(fd, cmd, cmd_size, report, sync, 0);
	if (ret)
		die("SUBMIT", ret);
	ret = syncobj_wait(fd, sync, 30000);
	if (ret)
		die("SYNCOBJ_WAIT", ret);
	syncobj_destroy(fd, sync);
	memcpy(out, report->map, sizeof(*out));
	return out->status;
}
