// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Buffer objects: GEM shmem (scatter-gather, never contiguous), mapped into
 * the creating file's NPU address space at creation. A BO lives in exactly
 * one file's address space: a PRIME import (npu_gem_prime_import) is a new
 * object over the same pages, mapped into the importing file's space when
 * its handle is created (npu_gem_open).
 *
 * Freeing a BO may race with a job of its file that still uses it (a job
 * may touch any BO of its context, listed or not). The pages must not go
 * back to the kernel while the device can write them, so release waits
 * for the file's newest job on a workqueue (never in the scheduler's path),
 * then unmaps and frees.
 */
#include <linux/dma-buf.h>
#include <linux/dma-fence.h>
#include <linux/slab.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_prime.h>

#include "npu_drv.h"
#include "drm/npu_accel.h"

static void npu_gem_release(struct work_struct *work)
{
	struct npu_bo *bo = container_of(work, struct npu_bo, free_work);
	struct npu_file *ctx = bo->ctx;
	struct dma_fence *last;

	mutex_lock(&ctx->last_lock);
	last = dma_fence_get(ctx->last_fence);
	mutex_unlock(&ctx->last_lock);
	if (last) {
		/* Bounded: a job past its timeout is aborted by the driver. */
		dma_fence_wait(last, false);
		dma_fence_put(last);
	}
	npu_mmu_unmap(ctx, bo);
	atomic64_sub(bo->base.base.size, &ctx->bo_bytes);
	atomic_dec(&ctx->ndev->nr_bos);
	drm_gem_shmem_free(&bo->base);
	npu_file_put(ctx);
}

static void npu_gem_free(struct drm_gem_object *obj)
{
	struct npu_bo *bo = to_npu_bo(obj);

	if (!bo->ctx) {
		/* Never mapped (imported, or failed creation). */
		drm_gem_shmem_free(&bo->base);
		return;
	}
	INIT_WORK(&bo->free_work, npu_gem_release);
	queue_work(bo->ctx->ndev->free_wq, &bo->free_work);
}

static int npu_gem_open(struct drm_gem_object *obj, struct drm_file *file);

static const struct drm_gem_object_funcs npu_gem_funcs = {
	.free = npu_gem_free,
	.open = npu_gem_open,
	.print_info = drm_gem_shmem_object_print_info,
	.pin = drm_gem_shmem_object_pin,
	.unpin = drm_gem_shmem_object_unpin,
	.get_sg_table = drm_gem_shmem_object_get_sg_table,
	.vmap = drm_gem_shmem_object_vmap,
	.vunmap = drm_gem_shmem_object_vunmap,
	.mmap = drm_gem_shmem_object_mmap,
	.vm_ops = &drm_gem_shmem_vm_ops,
};

struct drm_gem_object *npu_gem_create_object(struct drm_device *dev, size_t size)
{
	struct npu_bo *bo = kzalloc(sizeof(*bo), GFP_KERNEL);

	if (!bo)
		return ERR_PTR(-ENOMEM);
	bo->base.base.funcs = &npu_gem_funcs;
	/*
	 * Cached CPU mappings where the device snoops (PCI, dma-coherent SoCs);
	 * write-combined elsewhere, so no cache maintenance is needed around
	 * jobs (the pages are cleaned when they are DMA-mapped at creation).
	 */
	bo->base.map_wc = !to_npu_device(dev)->coherent;
	return &bo->base.base;
}

/* Makes bo part of ctx's address space: mapped, accounted, mmap-able. */
static int npu_bo_attach_ctx(struct npu_file *ctx, struct npu_bo *bo)
{
	int ret = npu_mmu_map(ctx, bo);

	if (ret)
		return ret;
	/* From here, freeing the BO unmaps it and drops this reference. */
	kref_get(&ctx->ref);
	bo->ctx = ctx;
	atomic_inc(&ctx->ndev->nr_bos);
	atomic64_add(bo->base.base.size, &ctx->bo_bytes);
	return drm_gem_create_mmap_offset(&bo->base.base);
}

/*
 * A handle is being created in file. Our own BOs only ever get handles in
 * their owner's file; an imported one is mapped into the file importing it
 * (each import is a new object, created for one file under its prime lock).
 */
static int npu_gem_open(struct drm_gem_object *obj, struct drm_file *file)
{
	struct npu_file *ctx = file->driver_priv;
	struct npu_bo *bo = to_npu_bo(obj);

	if (bo->ctx)
		return bo->ctx == ctx ? 0 : -EINVAL;
	if (!obj->import_attach)
		return -EINVAL;
	return npu_bo_attach_ctx(ctx, bo);
}

/* DEVICE_READ_ONLY survives export and import between npu files. */
static u32 npu_dmabuf_flags(struct drm_device *dev, struct dma_buf *dmabuf)
{
	struct drm_gem_object *src = dmabuf->priv;

	if (dmabuf->ops->attach != drm_gem_map_attach || src->dev != dev ||
	    src->funcs != &npu_gem_funcs)
		return 0;
	return to_npu_bo(src)->flags & DRM_NPU_BO_DEVICE_READ_ONLY;
}

/*
 * PRIME import: always a new object with its own attachment, even for a
 * dma-buf this device exported. drm_gem_prime_import() would hand back the
 * exporter's object, which is mapped in the exporter's address space only.
 */
struct drm_gem_object *npu_gem_prime_import(struct drm_device *dev, struct dma_buf *dmabuf)
{
	struct dma_buf_attachment *attach;
	struct drm_gem_object *obj;
	struct sg_table *sgt;
	int ret;

	attach = dma_buf_attach(dmabuf, dev->dev);
	if (IS_ERR(attach))
		return ERR_CAST(attach);
	get_dma_buf(dmabuf);
	sgt = dma_buf_map_attachment_unlocked(attach, DMA_BIDIRECTIONAL);
	if (IS_ERR(sgt)) {
		ret = PTR_ERR(sgt);
		goto detach;
	}
	obj = drm_gem_shmem_prime_import_sg_table(dev, attach, sgt);
	if (IS_ERR(obj)) {
		ret = PTR_ERR(obj);
		goto unmap;
	}
	obj->import_attach = attach;
	obj->resv = dmabuf->resv;
	to_npu_bo(obj)->flags = npu_dmabuf_flags(dev, dmabuf);
	return obj;
unmap:
	dma_buf_unmap_attachment_unlocked(attach, sgt, DMA_BIDIRECTIONAL);
detach:
	dma_buf_detach(dmabuf, attach);
	dma_buf_put(dmabuf);
	return ERR_PTR(ret);
}

int npu_ioctl_bo_create(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct npu_file *ctx = file->driver_priv;
	struct drm_npu_bo_create *args = data;
	struct drm_gem_shmem_object *shmem;
	struct npu_bo *bo;
	int ret;

	if (args->flags & ~DRM_NPU_BO_FLAGS)
		return -EINVAL;
	if (!args->size || args->size > NPU_VA_END - NPU_VA_START)
		return -EINVAL;
	shmem = drm_gem_shmem_create(dev, PAGE_ALIGN(args->size));
	if (IS_ERR(shmem))
		return PTR_ERR(shmem);
	bo = container_of(shmem, struct npu_bo, base);
	bo->flags = args->flags;
	ret = npu_bo_attach_ctx(ctx, bo);
	if (ret)
		goto out;
	ret = drm_gem_handle_create(file, &shmem->base, &args->handle);
	if (ret)
		goto out;
	args->npu_va = bo->va.start;
	args->mmap_offset = drm_vma_node_offset_addr(&shmem->base.vma_node);
	args->size = shmem->base.size;
out:
	drm_gem_object_put(&shmem->base);
	return ret;
}

/* A BO of this file's address space, referenced; NULL otherwise. */
struct npu_bo *npu_bo_lookup(struct drm_file *file, u32 handle)
{
	struct drm_gem_object *obj = drm_gem_object_lookup(file, handle);

	if (!obj)
		return NULL;
	if (obj->funcs != &npu_gem_funcs || to_npu_bo(obj)->ctx != file->driver_priv) {
		drm_gem_object_put(obj);
		return NULL;
	}
	return to_npu_bo(obj);
}

int npu_ioctl_bo_info(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct drm_npu_bo_info *args = data;
	struct drm_gem_object *obj;
	struct npu_bo *bo;

	if (args->flags)
		return -EINVAL;
	obj = drm_gem_object_lookup(file, args->handle);
	if (!obj)
		return -ENOENT;
	bo = obj->funcs == &npu_gem_funcs ? to_npu_bo(obj) : NULL;
	if (!bo || bo->ctx != file->driver_priv) {
		drm_gem_object_put(obj);
		return -EINVAL;
	}
	args->flags = bo->flags;
	args->size = obj->size;
	args->npu_va = bo->va.start;
	args->mmap_offset = drm_vma_node_offset_addr(&obj->vma_node);
	drm_gem_object_put(obj);
	return 0;
}
