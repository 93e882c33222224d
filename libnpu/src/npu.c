// SPDX-License-Identifier: MIT
/* libnpu: devices and buffer objects. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"

/* ------------------------------------------------------------------ */
/* Devices                                                             */
/* ------------------------------------------------------------------ */
static void device_destroy(struct npu_obj *o)
{
	struct npu_device *dev = (struct npu_device *)o;

	dev->ops->close(dev->be);
	free(dev);
}

static const char *default_backend(void)
{
	char node[64];
	int fd = npu_drm_find(node, sizeof(node));

	if (fd < 0)
		return "sim";
	close(fd);
	return "drm";
}

static int open_backend(const char *name, const struct npu_backend_ops **ops)
{
	if (!strcmp(name, "sim")) {
		*ops = &npu_backend_sim;
		return NPU_OK;
	}
	if (!strcmp(name, "drm")) {
		*ops = &npu_backend_drm;
		return NPU_OK;
	}
	return npu_err(NPU_ERR_NODEV, "unknown NPU device '%s' (known: sim, drm)", name);
}

int npu_device_open(const char *name, npu_device **out)
{
	const struct npu_backend_ops *ops = NULL;
	struct npu_device *dev;
	char msg[256] = "";
	int rc;

	npu_err_clear();
	if (!out)
		return npu_err(NPU_ERR_INVAL, "npu_device_open: dev is NULL");
	*out = NULL;
	if (!name)
		name = getenv("NPU_DEVICE");
	/* The default: the kernel device when there is one, else the simulator. */
	if (!name || !*name)
		name = default_backend();
	rc = open_backend(name, &ops);
	if (rc)
		return rc;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	dev->ops = ops;
	rc = ops->open(&dev->be, msg, sizeof(msg));
	if (rc) {
		free(dev);
		return npu_err(rc, "%s backend: %s", ops->name, msg);
	}
	rc = npu_obj_register(&dev->obj, NPU_OBJ_DEVICE, device_destroy);
	if (rc) {
		ops->close(dev->be);
		free(dev);
		return rc;
	}
	*out = dev;
	return NPU_OK;
}

int npu_device_close(npu_device *dev)
{
	npu_err_clear();
	return npu_obj_kill(dev, NPU_OBJ_DEVICE, "device");
}

int npu_device_backend(npu_device *dev, char *buf, size_t len)
{
	struct npu_obj *o;

	npu_err_clear();
	if (!buf || !len)
		return npu_err(NPU_ERR_INVAL, "npu_device_backend: no buffer");
	o = npu_obj_get(dev, NPU_OBJ_DEVICE, "device");
	if (!o)
		return NPU_ERR_INVAL;
	snprintf(buf, len, "%s", dev->ops->name);
	npu_obj_put(o);
	return NPU_OK;
}

static int trace_call(npu_device *dev, const char *path)
{
	struct npu_obj *o = npu_obj_get(dev, NPU_OBJ_DEVICE, "device");
	int rc = NPU_OK;

	if (!o)
		return NPU_ERR_INVAL;
	if (!dev->ops->trace_open)
		rc = npu_err(NPU_ERR_UNSUPPORTED, "the %s backend has no trace", dev->ops->name);
	else if (path && dev->ops->trace_open(dev->be, path) < 0)
		rc = npu_err(NPU_ERR_IO, "cannot write the trace to %s: %s", path, strerror(errno));
	else if (!path && dev->ops->trace_close(dev->be) < 0)
		rc = npu_err(NPU_ERR_IO, "error finishing the trace: %s", strerror(errno));
	npu_obj_put(o);
	return rc;
}

int npu_device_trace_open(npu_device *dev, const char *path)
{
	npu_err_clear();
	if (!path)
		return npu_err(NPU_ERR_INVAL, "npu_device_trace_open: path is NULL");
	return trace_call(dev, path);
}

int npu_device_trace_close(npu_device *dev)
{
	npu_err_clear();
	return trace_call(dev, NULL);
}

/* ------------------------------------------------------------------ */
/* Buffer objects                                                      */
/* ------------------------------------------------------------------ */
static void bo_destroy(struct npu_obj *o)
{
	struct npu_bo *bo = (struct npu_bo *)o;

	bo->dev->ops->bo_free(bo->dev->be, bo->b);
	npu_obj_put(&bo->dev->obj);
	free(bo);
}

/* A handle for backend memory b of dev (o: dev's reference, passed on). */
static int bo_wrap(npu_device *dev, struct npu_obj *o, struct npu_be_bo *b, size_t size,
		   npu_bo **out)
{
	struct npu_bo *bo = calloc(1, sizeof(*bo));
	int rc;

	if (!bo) {
		dev->ops->bo_free(dev->be, b);
		npu_obj_put(o);
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	}
	bo->dev = dev;
	bo->b = b;
	bo->size = size;
	rc = npu_obj_register(&bo->obj, NPU_OBJ_BO, bo_destroy);
	if (rc) {
		dev->ops->bo_free(dev->be, b);
		free(bo);
		npu_obj_put(o);
		return rc;
	}
	*out = bo;
	return NPU_OK;
}

int npu_bo_alloc(npu_device *dev, size_t size, uint32_t flags, npu_bo **out)
{
	struct npu_be_bo *b;
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	if (!out)
		return npu_err(NPU_ERR_INVAL, "npu_bo_alloc: bo is NULL");
	*out = NULL;
	if (!size || flags)
		return npu_err(NPU_ERR_INVAL, "npu_bo_alloc: size must be > 0 and flags 0 "
			       "(size %zu, flags 0x%x)", size, flags);
	o = npu_obj_get(dev, NPU_OBJ_DEVICE, "device");
	if (!o)
		return NPU_ERR_INVAL;
	rc = dev->ops->bo_alloc(dev->be, size, 4096, 0, &b);
	if (rc) {
		npu_obj_put(o);
		return npu_err(rc, "cannot allocate a %zu-byte buffer object", size);
	}
	return bo_wrap(dev, o, b, size, out);
}

int npu_bo_import_dmabuf(npu_device *dev, int fd, npu_bo **out)
{
	struct npu_be_bo *b;
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	if (!out)
		return npu_err(NPU_ERR_INVAL, "npu_bo_import_dmabuf: bo is NULL");
	*out = NULL;
	if (fd < 0)
		return npu_err(NPU_ERR_INVAL, "npu_bo_import_dmabuf: fd %d", fd);
	o = npu_obj_get(dev, NPU_OBJ_DEVICE, "device");
	if (!o)
		return NPU_ERR_INVAL;
	if (!dev->ops->bo_import) {
		npu_obj_put(o);
		return npu_err(NPU_ERR_UNSUPPORTED, "the %s backend has no dma-buf import",
			       dev->ops->name);
	}
	rc = dev->ops->bo_import(dev->be, fd, &b);
	if (rc) {
		npu_obj_put(o);
		return rc;
	}
	return bo_wrap(dev, o, b, (size_t)b->size, out);
}

int npu_bo_export_dmabuf(npu_bo *bo, int *fd)
{
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	if (!fd)
		return npu_err(NPU_ERR_INVAL, "npu_bo_export_dmabuf: fd is NULL");
	*fd = -1;
	o = npu_obj_get(bo, NPU_OBJ_BO, "buffer object");
	if (!o)
		return NPU_ERR_INVAL;
	rc = bo->dev->ops->bo_export ? bo->dev->ops->bo_export(bo->dev->be, bo->b, fd) :
	     npu_err(NPU_ERR_UNSUPPORTED, "the %s backend has no dma-buf export",
		     bo->dev->ops->name);
	npu_obj_put(o);
	return rc;
}

int npu_bo_map(npu_bo *bo, void **ptr)
{
	struct npu_obj *o;

	npu_err_clear();
	if (!ptr)
		return npu_err(NPU_ERR_INVAL, "npu_bo_map: ptr is NULL");
	o = npu_obj_get(bo, NPU_OBJ_BO, "buffer object");
	if (!o)
		return NPU_ERR_INVAL;
	*ptr = bo->b->host;
	npu_obj_put(o);
	return NPU_OK;
}

int npu_bo_size(npu_bo *bo, size_t *size)
{
	struct npu_obj *o;

	npu_err_clear();
	if (!size)
		return npu_err(NPU_ERR_INVAL, "npu_bo_size: size is NULL");
	o = npu_obj_get(bo, NPU_OBJ_BO, "buffer object");
	if (!o)
		return NPU_ERR_INVAL;
	*size = bo->size;
	npu_obj_put(o);
	return NPU_OK;
}

int npu_bo_free(npu_bo *bo)
{
	npu_err_clear();
	return npu_obj_kill(bo, NPU_OBJ_BO, "buffer object");
}
