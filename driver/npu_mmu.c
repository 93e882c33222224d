// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Per-file device-MMU address spaces: the driver owns the two-level page
 * tables of npu_hw.h (an L1 table per file, L2 tables on demand) and
 * allocates NPU VAs with drm_mm. A BO is mapped at creation and unmapped
 * when it is freed, after the file's last job has finished; the device
 * flushes its TLB at every job start, so no invalidation is needed.
 */
#include <linux/dma-mapping.h>
#include <linux/scatterlist.h>

#include "npu_drv.h"
#include "drm/npu_accel.h"

int npu_mmu_init(struct npu_file *ctx)
{
	struct device *dev = ctx->ndev->drm.dev;

	mutex_init(&ctx->mmu_lock);
	ctx->l1_cpu = dma_alloc_coherent(dev, NPU_PAGE_SIZE, &ctx->l1_dma, GFP_KERNEL);
	if (!ctx->l1_cpu)
		return -ENOMEM;
	drm_mm_init(&ctx->va, NPU_VA_START, NPU_VA_END - NPU_VA_START);
	return 0;
}

void npu_mmu_fini(struct npu_file *ctx)
{
	struct device *dev = ctx->ndev->drm.dev;
	unsigned int i;

	for (i = 0; i < NPU_PT_ENTRIES; i++)
		if (ctx->l2_cpu[i])
			dma_free_coherent(dev, NPU_PAGE_SIZE, ctx->l2_cpu[i], ctx->l2_dma[i]);
	dma_free_coherent(dev, NPU_PAGE_SIZE, ctx->l1_cpu, ctx->l1_dma);
	drm_mm_takedown(&ctx->va);
	mutex_destroy(&ctx->mmu_lock);
}

/* The L2 entry of va, allocating its table; NULL if out of memory. */
static __le32 *npu_mmu_pte(struct npu_file *ctx, u64 va)
{
	u32 l1 = (va >> NPU_VA_L1_SHIFT) & (NPU_PT_ENTRIES - 1);
	u32 l2 = (va >> NPU_VA_L2_SHIFT) & (NPU_PT_ENTRIES - 1);

	if (!ctx->l2_cpu[l1]) {
		ctx->l2_cpu[l1] = dma_alloc_coherent(ctx->ndev->drm.dev, NPU_PAGE_SIZE,
						     &ctx->l2_dma[l1], GFP_KERNEL);
		if (!ctx->l2_cpu[l1])
			return NULL;
		WRITE_ONCE(ctx->l1_cpu[l1], cpu_to_le32(npu_pte_make(ctx->l2_dma[l1],
								     NPU_PTE_VALID)));
	}
	return &ctx->l2_cpu[l1][l2];
}

static void npu_mmu_clear(struct npu_file *ctx, u64 va, u64 size)
{
	u64 end = va + size;

	for (; va < end; va += NPU_PAGE_SIZE) {
		u32 l1 = (va >> NPU_VA_L1_SHIFT) & (NPU_PT_ENTRIES - 1);

		u32 l2 = (va >> NPU_VA_L2_SHIFT) & (NPU_PT_ENTRIES - 1);

		if (ctx->l2_cpu[l1])
			WRITE_ONCE(ctx->l2_cpu[l1][l2], 0);
	}
}

int npu_mmu_map(struct npu_file *ctx, struct npu_bo *bo)
{
	struct drm_gem_object *obj = &bo->base.base;
	u32 perm = NPU_PTE_VALID | NPU_PTE_READ;
	struct scatterlist *sg;
	struct sg_table *sgt;
	u64 va;
	int ret, i;

	if (!(bo->flags & DRM_NPU_BO_DEVICE_READ_ONLY))
		perm |= NPU_PTE_WRITE;
	/* Pages pinned and DMA-mapped for as long as the BO lives. */
	sgt = drm_gem_shmem_get_pages_sgt(&bo->base);
	if (IS_ERR(sgt))
		return PTR_ERR(sgt);

	mutex_lock(&ctx->mmu_lock);
	ret = drm_mm_insert_node_generic(&ctx->va, &bo->va, obj->size, NPU_PAGE_SIZE, 0, 0);
	if (ret)
		goto out;
	va = bo->va.start;
	for_each_sgtable_dma_sg(sgt, sg, i) {
		dma_addr_t addr = sg_dma_address(sg);
		unsigned int len = sg_dma_len(sg);

		for (; len; len -= NPU_PAGE_SIZE, addr += NPU_PAGE_SIZE, va += NPU_PAGE_SIZE) {
			__le32 *pte = npu_mmu_pte(ctx, va);

			if (!pte || !npu_pa_ok(addr)) {
				ret = pte ? -EFAULT : -ENOMEM;
				npu_mmu_clear(ctx, bo->va.start, va - bo->va.start);
				drm_mm_remove_node(&bo->va);
				goto out;
			}
			WRITE_ONCE(*pte, cpu_to_le32(npu_pte_make(addr, perm)));
		}
	}
	bo->mapped = true;
out:
	mutex_unlock(&ctx->mmu_lock);
	return ret;
}

void npu_mmu_unmap(struct npu_file *ctx, struct npu_bo *bo)
{
	if (!bo->mapped)
		return;
	mutex_lock(&ctx->mmu_lock);
	npu_mmu_clear(ctx, bo->va.start, bo->va.size);
	drm_mm_remove_node(&bo->va);
	bo->mapped = false;
	mutex_unlock(&ctx->mmu_lock);
}
