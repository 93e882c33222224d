// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * npu.ko: the DRM device, its files (one NPU address space each) and the
 * ioctl table. Bus glue (npu_pci.c) allocates the device and calls
 * npu_drm_register().
 */
#include <linux/debugfs.h>
#include <linux/module.h>
#include <linux/nospec.h>
#include <linux/pci.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_ioctl.h>
#include <drm/drm_prime.h>

#include "npu_drv.h"
#include "drm/npu_accel.h"

unsigned int npu_job_timeout_ms = 2000;
module_param_named(job_timeout_ms, npu_job_timeout_ms, uint, 0444);
MODULE_PARM_DESC(job_timeout_ms, "Check a running job after this long (ms)");

unsigned int npu_job_max_ms = 10000;
module_param_named(job_max_ms, npu_job_max_ms, uint, 0444);
MODULE_PARM_DESC(job_max_ms, "Abort a job running longer than this, progressing or not (ms)");

/* ------------------------------------------------------------------ */
/* Files                                                               */
/* ------------------------------------------------------------------ */

static void npu_file_release(struct kref *ref)
{
	struct npu_file *ctx = container_of(ref, struct npu_file, ref);

	/* Every job and BO of the file is gone: the device no longer uses its tables. */
	mutex_lock(&ctx->ndev->files_lock);
	list_del(&ctx->link);
	mutex_unlock(&ctx->ndev->files_lock);
	dma_fence_put(ctx->last_fence);
	npu_mmu_fini(ctx);
	ida_free(&ctx->ndev->ctx_ida, ctx->ctx_id);
	atomic_dec(&ctx->ndev->nr_files);
	kfree(ctx);
}

void npu_file_put(struct npu_file *ctx)
{
	kref_put(&ctx->ref, npu_file_release);
}

static int npu_open(struct drm_device *dev, struct drm_file *file)
{
	struct npu_device *ndev = to_npu_device(dev);
	struct drm_gpu_scheduler *sched = &ndev->sched;
	struct npu_file *ctx;
	int ret;

	ctx = kzalloc(sizeof(*ctx), GFP_KERNEL);
	if (!ctx)
		return -ENOMEM;
	ctx->ndev = ndev;
	kref_init(&ctx->ref);
	mutex_init(&ctx->last_lock);
	ret = ida_alloc_min(&ndev->ctx_ida, 1, GFP_KERNEL);
	if (ret < 0)
		goto free;
	ctx->ctx_id = ret;
	ret = npu_mmu_init(ctx);
	if (ret)
		goto ida;
	ret = drm_sched_entity_init(&ctx->entity, DRM_SCHED_PRIORITY_NORMAL, &sched, 1, NULL);
	if (ret)
		goto mmu;
	file->driver_priv = ctx;
	atomic_inc(&ndev->nr_files);
	mutex_lock(&ndev->files_lock);
	list_add_tail(&ctx->link, &ndev->files);
	mutex_unlock(&ndev->files_lock);
	return 0;
mmu:
	npu_mmu_fini(ctx);
ida:
	ida_free(&ndev->ctx_ida, ctx->ctx_id);
free:
	kfree(ctx);
	return ret;
}

static void npu_postclose(struct drm_device *dev, struct drm_file *file)
{
	struct npu_file *ctx = file->driver_priv;

	/* Queued jobs are run (or killed after the scheduler's timeout). */
	drm_sched_entity_destroy(&ctx->entity);
	npu_file_put(ctx);
}

/* ------------------------------------------------------------------ */
/* GET_PARAM                                                           */
/* ------------------------------------------------------------------ */

static int npu_ioctl_get_param(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct npu_device *ndev = to_npu_device(dev);
	struct npu_file *ctx = file->driver_priv;
	struct drm_npu_get_param *args = data;
	const u64 values[DRM_NPU_PARAM_COUNT] = {
		[DRM_NPU_PARAM_HW_VERSION] = ndev->hw_version,
		[DRM_NPU_PARAM_ISA_VERSION] = ndev->isa_version,
		[DRM_NPU_PARAM_HW_CAPS] = ndev->caps,
		[DRM_NPU_PARAM_MAC_ARRAY] = ndev->mac_array,
		[DRM_NPU_PARAM_SRAM_BYTES] = ndev->sram_bytes,
		[DRM_NPU_PARAM_DMA_BYTES_PER_CYCLE] = ndev->dma_bpc,
		[DRM_NPU_PARAM_CLOCK_KHZ] = ndev->clock_khz,
		[DRM_NPU_PARAM_VEC_LANES] = ndev->vec_lanes,
		[DRM_NPU_PARAM_VA_START] = NPU_VA_START,
		[DRM_NPU_PARAM_VA_SIZE] = NPU_VA_END - NPU_VA_START,
		[DRM_NPU_PARAM_MAX_CMD_BYTES] = NPU_CMD_MAX_BYTES,
		[DRM_NPU_PARAM_RING_ENTRIES] = NPU_RING_ENTRIES,
		[DRM_NPU_PARAM_JOB_TIMEOUT_MS] = npu_job_max_ms,
		[DRM_NPU_PARAM_FEATURES] = DRM_NPU_FEATURE_REPORT,
		[DRM_NPU_PARAM_CONTEXT_ID] = ctx->ctx_id,
		[DRM_NPU_PARAM_CONTEXT_FAULTS] = atomic_read(&ctx->faults),
		[DRM_NPU_PARAM_CONTEXT_STATE] = atomic_read(&ctx->banned) ?
			DRM_NPU_CONTEXT_BANNED : DRM_NPU_CONTEXT_OK,
	};

	if (args->pad || args->param >= DRM_NPU_PARAM_COUNT)
		return -EINVAL;
	args->value = values[array_index_nospec(args->param, DRM_NPU_PARAM_COUNT)];
	return 0;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */

static const struct drm_ioctl_desc npu_ioctls[] = {
	DRM_IOCTL_DEF_DRV(NPU_GET_PARAM, npu_ioctl_get_param, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(NPU_BO_CREATE, npu_ioctl_bo_create, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(NPU_BO_INFO, npu_ioctl_bo_info, DRM_RENDER_ALLOW),
	DRM_IOCTL_DEF_DRV(NPU_SUBMIT, npu_ioctl_submit, DRM_RENDER_ALLOW),
};

/* drm-usage-stats keys, so that standard tools (gputop, nvtop) see the NPU. */
void npu_show_fdinfo(struct seq_file *m, struct file *f)
{
	struct drm_file *file = f->private_data;
	struct npu_file *ctx = file->driver_priv;
	u64 bytes = atomic64_read(&ctx->bo_bytes);

	seq_puts(m, "drm-driver:\tnpu\n");
	seq_printf(m, "drm-client-id:\t%u\n", ctx->ctx_id);
	seq_printf(m, "drm-engine-npu:\t%llu ns\n", (u64)atomic64_read(&ctx->busy_ns));
	seq_printf(m, "drm-cycles-npu:\t%llu\n", (u64)atomic64_read(&ctx->cycles));
	seq_printf(m, "drm-total-memory:\t%llu KiB\n", bytes >> 10);
	seq_printf(m, "drm-resident-memory:\t%llu KiB\n", bytes >> 10);
	seq_printf(m, "npu-jobs:\t%llu\n", (u64)atomic64_read(&ctx->jobs_done));
	seq_printf(m, "npu-faults:\t%d\n", atomic_read(&ctx->faults));
}

static const struct file_operations npu_fops = {
	.owner = THIS_MODULE,
	NPU_FOPS_BODY,
	.show_fdinfo = npu_show_fdinfo,
};

const struct drm_driver npu_drm_driver = {
	.driver_features = DRIVER_GEM | DRIVER_SYNCOBJ | NPU_DRIVER_NODE_FEATURE,
	.open = npu_open,
	.postclose = npu_postclose,
	.gem_create_object = npu_gem_create_object,
#ifdef NPU_HAVE_PRIME_HANDLE_HOOKS
	.prime_handle_to_fd = drm_gem_prime_handle_to_fd,
	.prime_fd_to_handle = drm_gem_prime_fd_to_handle,
#endif
	.gem_prime_import = npu_gem_prime_import,
#ifdef NPU_HAVE_GEM_PRIME_MMAP
	/* Before 6.6 a dma-buf's mmap goes through this hook (else ENOSYS). */
	.gem_prime_mmap = drm_gem_prime_mmap,
#endif
	.gem_prime_import_sg_table = drm_gem_shmem_prime_import_sg_table,
	.ioctls = npu_ioctls,
	.num_ioctls = ARRAY_SIZE(npu_ioctls),
	.fops = &npu_fops,
	.name = "npu",
	.desc = "npu-v1 int8 neural processing unit",
	.date = "20261207",
	.major = 1,
	.minor = 0,
};

int npu_drm_register(struct npu_device *ndev)
{
	int ret;

	ida_init(&ndev->ctx_ida);
	mutex_init(&ndev->reset_lock);
	spin_lock_init(&ndev->fault_lock);
	mutex_init(&ndev->files_lock);
	INIT_LIST_HEAD(&ndev->files);
	ndev->free_wq = alloc_workqueue("npu-free", WQ_UNBOUND, 0);
	if (!ndev->free_wq)
		return -ENOMEM;
	ret = npu_device_init(ndev);
	if (ret)
		goto wq;
	ret = npu_sched_init(ndev);
	if (ret)
		goto dev;
	ret = request_irq(ndev->irq, npu_irq_handler, IRQF_SHARED, "npu", ndev);
	if (ret)
		goto sched;
	ret = drm_dev_register(&ndev->drm, 0);
	if (ret)
		goto irq;
	npu_debugfs_init(ndev);
	return 0;
irq:
	free_irq(ndev->irq, ndev);
sched:
	npu_sched_fini(ndev);
dev:
	npu_device_fini(ndev);
wq:
	destroy_workqueue(ndev->free_wq);
	return ret;
}

void npu_drm_unregister(struct npu_device *ndev)
{
	/* No new files or ioctls; jobs still on the device are failed. */
	npu_debugfs_fini(ndev);
	drm_dev_unplug(&ndev->drm);
	npu_device_reset(ndev);
	npu_jobs_fail_all(ndev, -ENODEV);
	free_irq(ndev->irq, ndev);
	npu_sched_fini(ndev);
	npu_device_fini(ndev);
	destroy_workqueue(ndev->free_wq);
}

static int __init npu_init(void)
{
	int ret;

	npu_debugfs_root = debugfs_create_dir("npu", NULL);
	ret = pci_register_driver(&npu_pci_driver);
	if (ret)
		goto fail;
	ret = platform_driver_register(&npu_platform_driver);
	if (ret) {
		pci_unregister_driver(&npu_pci_driver);
		goto fail;
	}
	return 0;
fail:
	debugfs_remove_recursive(npu_debugfs_root);
	return ret;
}
module_init(npu_init);

static void __exit npu_exit(void)
{
	platform_driver_unregister(&npu_platform_driver);
	pci_unregister_driver(&npu_pci_driver);
	debugfs_remove_recursive(npu_debugfs_root);
}
module_exit(npu_exit);

MODULE_DESCRIPTION("npu-v1 NPU DRM driver");
MODULE_LICENSE("Dual MIT/GPL");
MODULE_IMPORT_NS(DMA_BUF);
