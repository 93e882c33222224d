// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * npu-v1 hardware: identification, reset, the job ring and the interrupt
 * handler. The register protocol is Documentation/npu-architecture.rst's
 * ("Job ring", "Interrupts", "Reset").
 */
#include <linux/delay.h>
#include <linux/dma-mapping.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/iopoll.h>
#include <linux/pm_runtime.h>

#include "npu_drv.h"

/*
 * One coherent allocation: the ring, then one report (128 bytes, 64-byte
 * aligned as the device requires) and one fence word per ring slot.
 */
#define RING_DESC_BYTES		(NPU_RING_ENTRIES * sizeof(struct npu_job_desc))
#define RING_REPORT_OFF		RING_DESC_BYTES
#define RING_FENCE_OFF		(RING_REPORT_OFF + NPU_RING_ENTRIES * sizeof(struct npu_job_report))
#define RING_BYTES		(RING_FENCE_OFF + NPU_RING_ENTRIES * sizeof(u64))

struct npu_job_desc *npu_ring_desc(struct npu_device *ndev, u32 index)
{
	return (struct npu_job_desc *)ndev->ring_cpu + index % NPU_RING_ENTRIES;
}

struct npu_job_report *npu_ring_report(struct npu_device *ndev, u32 index)
{
	return (struct npu_job_report *)(ndev->ring_cpu + RING_REPORT_OFF) +
	       index % NPU_RING_ENTRIES;
}

dma_addr_t npu_ring_report_dma(struct npu_device *ndev, u32 index)
{
	return ndev->ring_dma + RING_REPORT_OFF +
	       (index % NPU_RING_ENTRIES) * sizeof(struct npu_job_report);
}

dma_addr_t npu_ring_fence_dma(struct npu_device *ndev, u32 index)
{
	return ndev->ring_dma + RING_FENCE_OFF + (index % NPU_RING_ENTRIES) * sizeof(u64);
}

/* CTRL.RESET, then wait for the aborted job to stop (RESETTING clear). */
int npu_device_reset(struct npu_device *ndev)
{
	u32 status;
	int ret;

	npu_write(ndev, NPU_REG_CTRL, NPU_CTRL_RESET);
	/* NPU_RESET_MAX_US on silicon; a model under emulation may need more. */
	ret = readl_poll_timeout(ndev->regs + NPU_REG_STATUS, status,
				 !(status & NPU_STATUS_RESETTING), 100, 1000 * 1000);
	if (ret)
		drm_err(&ndev->drm, "reset did not complete (STATUS 0x%x)\n", status);
	return ret;
}

/* Ring set-up (steps 3-4 of the set-up): the software indices restart at 0. */
void npu_device_start(struct npu_device *ndev)
{
	ndev->tail = 0;
	ndev->done = 0;
	npu_write(ndev, NPU_REG_RING_BASE_LO, lower_32_bits(ndev->ring_dma));
	npu_write(ndev, NPU_REG_RING_BASE_HI, upper_32_bits(ndev->ring_dma));
	npu_write(ndev, NPU_REG_RING_SIZE, NPU_RING_ENTRIES);
	npu_write(ndev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT |
		  NPU_IRQ_RING_ERROR);
	npu_write(ndev, NPU_REG_CTRL, NPU_CTRL_ENABLE);
}

int npu_device_init(struct npu_device *ndev)
{
	struct device *dev = ndev->drm.dev;
	u32 id;
	int ret;

	id = npu_read(ndev, NPU_REG_ID);
	if (id != NPU_HW_ID_MAGIC) {
		drm_err(&ndev->drm, "not an npu-v1: ID 0x%08x\n", id);
		return -ENODEV;
	}
	ret = npu_device_reset(ndev);
	if (ret)
		return ret;
	ndev->hw_version = npu_read(ndev, NPU_REG_VERSION);
	if (ndev->hw_version >> 16 != NPU_HW_VERSION_MAJOR) {
		drm_err(&ndev->drm, "unsupported hardware version %u.%u\n",
			ndev->hw_version >> 16, ndev->hw_version & 0xffff);
		return -ENODEV;
	}
	ndev->isa_version = npu_read(ndev, NPU_REG_ISA_VERSION);
	ndev->caps = npu_read(ndev, NPU_REG_CAPS);
	ndev->mac_array = npu_read(ndev, NPU_REG_CFG_MAC_ARRAY);
	ndev->sram_bytes = npu_read(ndev, NPU_REG_CFG_SRAM_BYTES);
	ndev->dma_bpc = npu_read(ndev, NPU_REG_CFG_DMA_BPC);
	ndev->clock_khz = npu_read(ndev, NPU_REG_CFG_CLOCK_KHZ);
	ndev->vec_lanes = npu_read(ndev, NPU_REG_CFG_VEC_LANES);
	ndev->cfg_mmu = npu_read(ndev, NPU_REG_CFG_MMU);

	/* The device emits pa_bits-wide bus addresses. */
	ret = dma_set_mask_and_coherent(dev, DMA_BIT_MASK((ndev->cfg_mmu >> 8) & 0xff));
	if (ret)
		return ret;
	ndev->ring_bytes = RING_BYTES;
	ndev->ring_cpu = dma_alloc_coherent(dev, ndev->ring_bytes, &ndev->ring_dma, GFP_KERNEL);
	if (!ndev->ring_cpu)
		return -ENOMEM;
	spin_lock_init(&ndev->ring_lock);
	npu_device_start(ndev);
	drm_info(&ndev->drm, "npu-v1 %u.%u, ISA %u.%u, %ux%u MACs, %u KiB SRAM, %u MHz\n",
		 ndev->hw_version >> 16, ndev->hw_version & 0xffff, ndev->isa_version >> 16,
		 ndev->isa_version & 0xffff, ndev->mac_array >> 16, ndev->mac_array & 0xffff,
		 ndev->sram_bytes >> 10, ndev->clock_khz / 1000);
	return 0;
}

void npu_device_fini(struct npu_device *ndev)
{
	npu_device_reset(ndev);
	dma_free_coherent(ndev->drm.dev, ndev->ring_bytes, ndev->ring_cpu, ndev->ring_dma);
}

/* Completes every job the device has finished (HEAD counts completed jobs). */
static void npu_reap(struct npu_device *ndev)
{
	u32 head;

	/*
	 * HEAD is read under the lock: a reset (which restarts the ring at 0
	 * under this lock) must not meet a HEAD read before it.
	 */
	spin_lock(&ndev->ring_lock);
	head = npu_read(ndev, NPU_REG_RING_HEAD);
	while ((s32)(head - ndev->done) > 0 && ndev->done != ndev->tail) {
		u32 index = ndev->done++;
		struct npu_job *job = ndev->slots[index % NPU_RING_ENTRIES];

		ndev->slots[index % NPU_RING_ENTRIES] = NULL;
		if (job)
			npu_job_complete(ndev, job, npu_ring_report(ndev, index));
	}
	spin_unlock(&ndev->ring_lock);
}

irqreturn_t npu_irq_handler(int irq, void *arg)
{
	struct npu_device *ndev = arg;
	irqreturn_t ret = IRQ_NONE;
	u32 status;

	/* A suspended device raised nothing (the line may be shared). */
	if (!pm_runtime_active(ndev->drm.dev))
		return IRQ_NONE;
	/* Loop until nothing enabled is pending: causes may arrive meanwhile. */
	while ((status = npu_read(ndev, NPU_REG_IRQ_STATUS) & npu_read(ndev, NPU_REG_IRQ_MASK))) {
		ret = IRQ_HANDLED;
		npu_write(ndev, NPU_REG_IRQ_CLEAR, status);
		if (status & NPU_IRQ_RING_ERROR)
			drm_err_ratelimited(&ndev->drm, "ring error %u at 0x%08x%08x\n",
					    npu_read(ndev, NPU_REG_RING_ERROR),
					    npu_read(ndev, NPU_REG_RING_ERROR_ADDR_HI),
					    npu_read(ndev, NPU_REG_RING_ERROR_ADDR_LO));
		npu_reap(ndev);
	}
	return ret;
}

/*
 * Runtime PM. Every job holds a reference from SUBMIT to its end, so the
 * device suspends only when idle; all device state is lost while
 * suspended (npu-architecture.rst, "Power management"), so resume is reset
 * plus ring set-up.
 */
int npu_runtime_suspend(struct device *dev)
{
	struct npu_device *ndev = dev_get_drvdata(dev);

	npu_write(ndev, NPU_REG_CTRL, 0);
	atomic_inc(&ndev->runtime_suspends);
	return 0;
}

int npu_runtime_resume(struct device *dev)
{
	struct npu_device *ndev = dev_get_drvdata(dev);
	unsigned long flags;
	int ret;

	ret = npu_device_reset(ndev);
	if (ret)
		return ret;
	spin_lock_irqsave(&ndev->ring_lock, flags);
	npu_device_start(ndev);
	spin_unlock_irqrestore(&ndev->ring_lock, flags);
	return 0;
}

/*
 * Autosuspend after NPU_AUTOSUSPEND_MS idle. The bus glue enables runtime
 * PM (the PCI core already has) and drops its probe reference.
 */
void npu_pm_init(struct npu_device *ndev)
{
	struct device *dev = ndev->drm.dev;

	pm_runtime_set_autosuspend_delay(dev, NPU_AUTOSUSPEND_MS);
	pm_runtime_use_autosuspend(dev);
	pm_runtime_mark_last_busy(dev);
}
