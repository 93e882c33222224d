/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * npu.ko: DRM driver of the npu-v1 NPU. Shared definitions of the core
 * (bus-independent) and the bus glue.
 *
 * Documentation/driver/npu.rst describes the design; the hardware contract
 * is firmware-sim/include/npu_hw.h (included, never copied).
 */
#ifndef NPU_DRV_H
#define NPU_DRV_H

#include <linux/dma-fence.h>
#include <linux/idr.h>
#include <linux/list.h>
#include <linux/interrupt.h>
#include <linux/mutex.h>
#include <linux/seq_file.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>
#include <drm/drm_device.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/drm_mm.h>
#include <drm/gpu_scheduler.h>

#include "npu_hw.h"
#include "npu_isa.h"
#include "npu_compat.h"

#define NPU_RING_ENTRIES	64u		/* jobs in flight on the device */
#define NPU_VA_START		0x10000ull	/* VA 0 stays unmapped */
#define NPU_VA_END		BIT_ULL(NPU_VA_BITS)
#define NPU_FAULT_HISTORY	16u		/* faults kept for debugfs */
#define NPU_AUTOSUSPEND_MS	50

struct npu_job;

/* One device fault, as debugfs "faults" shows it. */
struct npu_fault_record {
	u64 time_ns;
	u64 seqno;
	u64 addr;
	u32 ctx_id, fault, cmd_offset, info;
};

/* The hardware and what the driver keeps of it. */
struct npu_device {
	struct drm_device drm;
	void __iomem *regs;
	int irq;
	bool coherent;			/* device accesses snoop the CPU caches */

	/* Read from the device at probe (GET_PARAM answers from these). */
	u32 hw_version, isa_version, caps, mac_array, sram_bytes, dma_bpc;
	u32 clock_khz, vec_lanes, cfg_mmu;

	/* Ring, per-slot reports and fences: one coherent allocation. */
	void *ring_cpu;
	dma_addr_t ring_dma;
	size_t ring_bytes;

	spinlock_t ring_lock;		/* protects tail, done, slots and the ring */
	u32 tail;			/* next ring index to fill */
	u32 done;			/* ring index up to which jobs completed */
	struct npu_job *slots[NPU_RING_ENTRIES];

	struct drm_gpu_scheduler sched;
	spinlock_t fence_lock;		/* the hardware fences' lock */
	u64 fence_context;
	u64 fence_seqno;

	u32 last_progress;		/* PROGRESS at the last timeout check */
	struct mutex reset_lock;	/* one recovery at a time */
	struct ida ctx_ida;		/* context ids */
	struct workqueue_struct *free_wq; /* deferred BO release */

	/* Object counters (debugfs "objects"): the tests check them for leaks. */
	atomic_t nr_files, nr_bos, nr_jobs;
	atomic_t resets, runtime_suspends;
	struct mutex files_lock;	/* protects files */
	struct list_head files;		/* open contexts, for debugfs */
	spinlock_t fault_lock;		/* protects faults[] and nr_faults */
	struct npu_fault_record faults[NPU_FAULT_HISTORY];
	u32 nr_faults;			/* faults since load; the last ones are kept */
	struct dentry *debugfs;
};

#define to_npu_device(d) container_of(d, struct npu_device, drm)

/* One open file: a device-MMU address space and a scheduler entity. */
struct npu_file {
	struct npu_device *ndev;
	struct list_head link;		/* in ndev->files */
	u32 ctx_id;
	struct drm_sched_entity entity;

	/* Page tables: L1 plus L2 tables allocated on demand. */
	struct mutex mmu_lock;		/* tables, VA allocator */
	__le32 *l1_cpu;
	dma_addr_t l1_dma;
	__le32 *l2_cpu[NPU_PT_ENTRIES];
	dma_addr_t l2_dma[NPU_PT_ENTRIES];
	struct drm_mm va;

	struct mutex last_lock;		/* protects last_fence, seqno; orders pushes */
	struct dma_fence *last_fence;	/* the newest job's finished fence */
	u64 seqno;			/* jobs submitted */
	atomic_t banned;		/* a job hung or faulted in the MMU: submits fail */
	atomic_t faults;		/* jobs that ended with a device fault */
	struct kref ref;		/* jobs and BOs keep the context alive */

	/* Usage (fdinfo). */
	atomic64_t busy_ns;		/* device time of its jobs, run to completion */
	atomic64_t cycles;		/* device cycles of its jobs */
	atomic64_t jobs_done;
	atomic64_t bo_bytes;		/* memory of its live BOs */
};

/* A buffer object: shmem pages mapped into its file's NPU address space. */
struct npu_bo {
	struct drm_gem_shmem_object base;
	struct npu_file *ctx;		/* owner address space (holds a ref) */
	struct drm_mm_node va;
	u32 flags;			/* DRM_NPU_BO_* */
	bool mapped;
	struct work_struct free_work;
};

static inline struct npu_bo *to_npu_bo(struct drm_gem_object *obj)
{
	return container_of(to_drm_gem_shmem_obj(obj), struct npu_bo, base);
}

/* npu_device.c: the hardware */
static inline u32 npu_read(struct npu_device *ndev, u32 reg)
{
	return readl(ndev->regs + reg);
}

static inline void npu_write(struct npu_device *ndev, u32 reg, u32 val)
{
	writel(val, ndev->regs + reg);
}

int npu_device_init(struct npu_device *ndev);
int npu_runtime_suspend(struct device *dev);
int npu_runtime_resume(struct device *dev);
void npu_pm_init(struct npu_device *ndev);
void npu_device_fini(struct npu_device *ndev);
int npu_device_reset(struct npu_device *ndev);
void npu_device_start(struct npu_device *ndev);
irqreturn_t npu_irq_handler(int irq, void *arg);
struct npu_job_desc *npu_ring_desc(struct npu_device *ndev, u32 index);
dma_addr_t npu_ring_report_dma(struct npu_device *ndev, u32 index);
struct npu_job_report *npu_ring_report(struct npu_device *ndev, u32 index);
dma_addr_t npu_ring_fence_dma(struct npu_device *ndev, u32 index);

/* npu_drv.c: DRM device */
int npu_drm_register(struct npu_device *ndev);
void npu_drm_unregister(struct npu_device *ndev);
extern const struct drm_driver npu_drm_driver;
extern unsigned int npu_job_timeout_ms;
extern unsigned int npu_job_max_ms;

/* npu_mmu.c: per-file address spaces */
int npu_mmu_init(struct npu_file *ctx);
void npu_mmu_fini(struct npu_file *ctx);
int npu_mmu_map(struct npu_file *ctx, struct npu_bo *bo);
void npu_mmu_unmap(struct npu_file *ctx, struct npu_bo *bo);

/* npu_gem.c: buffer objects */
struct drm_gem_object *npu_gem_create_object(struct drm_device *dev, size_t size);
struct drm_gem_object *npu_gem_prime_import(struct drm_device *dev, struct dma_buf *dmabuf);
int npu_ioctl_bo_create(struct drm_device *dev, void *data, struct drm_file *file);
int npu_ioctl_bo_info(struct drm_device *dev, void *data, struct drm_file *file);
struct npu_bo *npu_bo_lookup(struct drm_file *file, u32 handle);

/* npu_job.c: submission */
int npu_sched_init(struct npu_device *ndev);
void npu_sched_fini(struct npu_device *ndev);
int npu_ioctl_submit(struct drm_device *dev, void *data, struct drm_file *file);
void npu_job_complete(struct npu_device *ndev, struct npu_job *job,
		      const struct npu_job_report *rep);
void npu_jobs_fail_all(struct npu_device *ndev, int error);
int npu_recover(struct npu_device *ndev, int error);
void npu_fault_record(struct npu_device *ndev, struct npu_job *job,
		      const struct npu_job_report *rep);

/* npu_debugfs.c */
extern struct dentry *npu_debugfs_root;
void npu_debugfs_init(struct npu_device *ndev);
void npu_debugfs_fini(struct npu_device *ndev);

/* npu_fdinfo: per-file usage */
void npu_show_fdinfo(struct seq_file *m, struct file *f);

/* Bus glue */
extern struct pci_driver npu_pci_driver;
extern struct platform_driver npu_platform_driver;
void npu_file_put(struct npu_file *ctx);

#endif /* NPU_DRV_H */
