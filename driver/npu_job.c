// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Job submission through the DRM GPU scheduler.
 *
 * SUBMIT validates the arguments, looks up the BOs, collects the job's
 * dependencies (in-syncobjs and the BOs' reservation objects), arms the
 * job and pushes it to the file's entity. The scheduler calls run_job when
 * the dependencies are met: it writes a descriptor to the ring and rings
 * the doorbell (no allocation: the hardware fence is preallocated at
 * SUBMIT). The interrupt handler completes jobs in ring order.
 *
 * A job that outlives its timeout is not reset blindly: if the device's
 * PROGRESS counter moved, the job is slow (a model under emulation is),
 * and gets more time up to npu_job_max_ms. Otherwise, or past that, the
 * driver aborts that one job (ABORT_JOB): its fence carries -ETIMEDOUT,
 * its file is banned, other files' jobs go on. Only if the abort does not
 * complete is the device reset, failing the jobs in the ring.
 */
#include <linux/dma-fence.h>
#include <linux/dma-resv.h>
#include <linux/iosys-map.h>
#include <linux/kthread.h>
#include <linux/pm_runtime.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <drm/drm_file.h>
#include <drm/drm_gem.h>
#include <drm/drm_syncobj.h>

#include "npu_drv.h"
#include "drm/npu_accel.h"

#define NPU_MAX_BOS		1024u
#define NPU_MAX_IN_SYNCOBJS	64u
#define NPU_MAX_BO_STRIDE	256u

struct npu_job {
	struct drm_sched_job base;
	struct npu_device *ndev;
	struct npu_file *ctx;		/* reference */
	struct dma_fence *hw_fence;	/* preallocated at SUBMIT, initialised in run_job */
	bool hw_fence_init;

	u64 cmd_va;
	u32 cmd_size;
	u32 desc_flags;
	u32 watchdog_cycles;
	u64 seqno;
	u64 submit_ns;
	u32 index;			/* ring index, once running */
	unsigned long start;		/* jiffies at run_job */
	u64 start_ns;
	bool timed_out;
	int fail_error;			/* error of a job lost to a device reset */
	bool pm_ref;			/* holds a runtime-PM reference */

	/* BOs the job uses: references; [0] is the command BO. */
	struct drm_gem_object **bos;
	u32 bo_count;
	struct npu_bo *report_bo;	/* reference, vmapped */
	struct iosys_map report_map;
	u32 report_offset;
};

static inline struct npu_job *to_npu_job(struct drm_sched_job *job)
{
	return container_of(job, struct npu_job, base);
}

static const char *npu_fence_driver_name(struct dma_fence *fence)
{
	return "npu";
}

static const char *npu_fence_timeline_name(struct dma_fence *fence)
{
	return "npu-ring";
}

static const struct dma_fence_ops npu_fence_ops = {
	.get_driver_name = npu_fence_driver_name,
	.get_timeline_name = npu_fence_timeline_name,
};

static void npu_job_free_resources(struct npu_job *job)
{
	u32 i;

	if (job->report_bo) {
		npu_compat_vunmap(&job->report_bo->base, &job->report_map);
		drm_gem_object_put(&job->report_bo->base.base);
	}
	for (i = 0; i < job->bo_count; i++)
		drm_gem_object_put(job->bos[i]);
	kvfree(job->bos);
	if (job->hw_fence_init)
		dma_fence_put(job->hw_fence);
	else
		kfree(job->hw_fence);
	if (job->pm_ref) {
		pm_runtime_mark_last_busy(job->ndev->drm.dev);
		pm_runtime_put_autosuspend(job->ndev->drm.dev);
	}
	atomic_dec(&job->ndev->nr_jobs);
	npu_file_put(job->ctx);
	kfree(job);
}

/* ------------------------------------------------------------------ */
/* Scheduler backend                                                   */
/* ------------------------------------------------------------------ */

static struct dma_fence *npu_run_job(struct drm_sched_job *sched_job)
{
	struct npu_job *job = to_npu_job(sched_job);
	struct npu_device *ndev = job->ndev;
	struct dma_fence *fence;
	struct npu_job_desc *d;
	unsigned long flags;
	u32 index;

	/* A dependency failed or the entity was killed: do not run. */
	if (sched_job->s_fence->finished.error)
		return NULL;

	dma_fence_init(job->hw_fence, &npu_fence_ops, &ndev->fence_lock, ndev->fence_context,
		       ++ndev->fence_seqno);
	job->hw_fence_init = true;
	job->start = jiffies;
	job->start_ns = ktime_get_ns();

	spin_lock_irqsave(&ndev->ring_lock, flags);
	index = ndev->tail++;
	job->index = index;
	d = npu_ring_desc(ndev, index);
	d->flags = cpu_to_le32(job->desc_flags);
	d->context_id = cpu_to_le32(job->ctx->ctx_id);
	d->pt_base = cpu_to_le64(job->ctx->l1_dma);
	d->cmd_va = cpu_to_le64(job->cmd_va);
	d->cmd_size = cpu_to_le32(job->cmd_size);
	d->watchdog_cycles = cpu_to_le32(job->watchdog_cycles);
	d->fence_pa = cpu_to_le64(npu_ring_fence_dma(ndev, index));
	d->fence_value = cpu_to_le64(job->seqno);
	d->report_pa = cpu_to_le64(npu_ring_report_dma(ndev, index));
	d->reserved1 = 0;
	/*
	 * References for the scheduler and for the slot (dropped when the job
	 * completes), both taken before the job can complete.
	 */
	fence = dma_fence_get(job->hw_fence);
	ndev->slots[index % NPU_RING_ENTRIES] = job;
	dma_fence_get(job->hw_fence);
	/* Descriptor, page tables and stream visible before the doorbell. */
	wmb();
	npu_write(ndev, NPU_REG_DOORBELL, ndev->tail);
	spin_unlock_irqrestore(&ndev->ring_lock, flags);
	return fence;
}

/* MMU faults mark the context: a process probing other memory is stopped. */
static bool npu_fault_bans(u32 fault)
{
	return fault == NPU_FAULT_MMU_UNMAPPED || fault == NPU_FAULT_MMU_PERMISSION ||
	       fault == NPU_FAULT_BUS_ERROR;
}

void npu_fault_record(struct npu_device *ndev, struct npu_job *job,
		      const struct npu_job_report *rep)
{
	struct npu_fault_record *r;
	unsigned long flags;

	spin_lock_irqsave(&ndev->fault_lock, flags);
	r = &ndev->faults[ndev->nr_faults++ % NPU_FAULT_HISTORY];
	r->time_ns = ktime_get_ns();
	r->seqno = job->seqno;
	r->ctx_id = job->ctx->ctx_id;
	r->fault = rep ? le32_to_cpu(rep->fault) : NPU_FAULT_ABORTED;
	r->cmd_offset = rep ? le32_to_cpu(rep->fault_cmd_offset) : 0;
	r->addr = rep ? le64_to_cpu(rep->fault_addr) : 0;
	r->info = rep ? le32_to_cpu(rep->fault_info) : 0;
	spin_unlock_irqrestore(&ndev->fault_lock, flags);
}

/* Called under ring_lock from the interrupt handler (or recovery). */
void npu_job_complete(struct npu_device *ndev, struct npu_job *job,
		      const struct npu_job_report *rep)
{
	struct dma_fence *fence = job->hw_fence;	/* the slot's reference */
	struct npu_file *ctx = job->ctx;
	int error = 0;

	if (rep && rep->fault) {
		error = job->timed_out ? -ETIMEDOUT : -EIO;
		atomic_inc(&ctx->faults);
		if (npu_fault_bans(le32_to_cpu(rep->fault)))
			atomic_set(&ctx->banned, 1);
		npu_fault_record(ndev, job, rep);
	} else if (!rep) {
		error = job->fail_error ? job->fail_error : -ETIMEDOUT;
		npu_fault_record(ndev, job, NULL);
	}
	atomic64_add(ktime_get_ns() - job->start_ns, &ctx->busy_ns);
	if (rep)
		atomic64_add(le64_to_cpu(rep->cycles), &ctx->cycles);
	atomic64_inc(&ctx->jobs_done);
	if (job->report_bo) {
		struct drm_npu_job_report out = {
			.status = error,
			.seqno = job->seqno,
			.submit_ns = job->submit_ns,
			.end_ns = ktime_get_ns(),
		};

		if (rep) {
			out.fault = le32_to_cpu(rep->fault);
			out.fault_cmd_offset = le32_to_cpu(rep->fault_cmd_offset);
			out.fault_addr = le64_to_cpu(rep->fault_addr);
			out.cycles = le64_to_cpu(rep->cycles);
			out.macs = le64_to_cpu(rep->macs);
			out.dram_read_bytes = le64_to_cpu(rep->dram_read_bytes);
			out.dram_write_bytes = le64_to_cpu(rep->dram_write_bytes);
			for (int i = 0; i < 4; i++)
				out.busy_cycles[i] = le64_to_cpu(rep->busy_cycles[i]);
			out.commands = le64_to_cpu(rep->commands);
			out.setup_cycles = le64_to_cpu(rep->setup_cycles);
			out.fault_info = le32_to_cpu(rep->fault_info);
		} else {
			out.fault = NPU_FAULT_ABORTED;
		}
		iosys_map_memcpy_to(&job->report_map, job->report_offset, &out, sizeof(out));
	}
	if (error)
		dma_fence_set_error(fence, error);
	/*
	 * Signalling can free the job and its file at once (the scheduler's
	 * free_job on another CPU): nothing of them is touched after this.
	 */
	dma_fence_signal(fence);
	dma_fence_put(fence);
}

/* After a device reset: every job in the ring ends with error. */
void npu_jobs_fail_all(struct npu_device *ndev, int error)
{
	unsigned long flags;

	spin_lock_irqsave(&ndev->ring_lock, flags);
	while (ndev->done != ndev->tail) {
		u32 index = ndev->done++;
		struct npu_job *job = ndev->slots[index % NPU_RING_ENTRIES];

		ndev->slots[index % NPU_RING_ENTRIES] = NULL;
		if (job) {
			job->fail_error = error;
			npu_job_complete(ndev, job, NULL);
		}
	}
	npu_device_start(ndev);
	spin_unlock_irqrestore(&ndev->ring_lock, flags);
}

static void npu_keep_pending(struct drm_sched_job *sched_job)
{
	struct drm_gpu_scheduler *sched = sched_job->sched;

	/* 6.1's timeout handler took the job off the list; give it back. */
	spin_lock(&sched->job_list_lock);
	list_add(&sched_job->list, &sched->pending_list);
	spin_unlock(&sched->job_list_lock);
}

static enum drm_gpu_sched_stat npu_timedout_job(struct drm_sched_job *sched_job)
{
	struct npu_job *job = to_npu_job(sched_job);
	struct npu_device *ndev = job->ndev;
	u32 progress;

	if (dma_fence_is_signaled(job->hw_fence))
		goto keep;
	progress = npu_read(ndev, NPU_REG_PROGRESS);
	if (progress != ndev->last_progress &&
	    time_before(jiffies, job->start + msecs_to_jiffies(npu_job_max_ms))) {
		/* Slow, not hung: PROGRESS moved since the last check. */
		ndev->last_progress = progress;
		goto keep;
	}
	drm_warn(&ndev->drm, "job %llu of context %u timed out: aborting it\n",
		 job->seqno, job->ctx->ctx_id);
	job->timed_out = true;
	atomic_set(&job->ctx->banned, 1);
	npu_write(ndev, NPU_REG_ABORT_JOB, job->index);
	if (dma_fence_wait_timeout(job->hw_fence, false, msecs_to_jiffies(1000)) > 0)
		goto keep;

	drm_err(&ndev->drm, "abort did not complete: resetting the device\n");
	npu_recover(ndev, -ETIMEDOUT);
keep:
	npu_keep_pending(sched_job);
	return DRM_GPU_SCHED_STAT_NOMINAL;
}

/*
 * Resets the device with the scheduler paused; the jobs that were on the
 * device end with error. The caller holds a runtime-PM reference (a
 * running job's, or its own).
 */
int npu_recover(struct npu_device *ndev, int error)
{
	int ret;

	mutex_lock(&ndev->reset_lock);
	npu_compat_sched_pause(&ndev->sched);
	ret = npu_device_reset(ndev);
	npu_jobs_fail_all(ndev, error);
	atomic_inc(&ndev->resets);
	npu_compat_sched_resume(&ndev->sched);
	mutex_unlock(&ndev->reset_lock);
	return ret;
}

static void npu_free_job(struct drm_sched_job *sched_job)
{
	struct npu_job *job = to_npu_job(sched_job);

	drm_sched_job_cleanup(sched_job);
	npu_job_free_resources(job);
}

static const struct drm_sched_backend_ops npu_sched_ops = {
	.run_job = npu_run_job,
	.timedout_job = npu_timedout_job,
	.free_job = npu_free_job,
};

int npu_sched_init(struct npu_device *ndev)
{
	spin_lock_init(&ndev->fence_lock);
	ndev->fence_context = dma_fence_context_alloc(1);
	return npu_compat_sched_init(&ndev->sched, &npu_sched_ops, NPU_RING_ENTRIES,
				     msecs_to_jiffies(npu_job_timeout_ms), "npu",
				     ndev->drm.dev);
}

void npu_sched_fini(struct npu_device *ndev)
{
	drm_sched_fini(&ndev->sched);
}

/* ------------------------------------------------------------------ */
/* SUBMIT                                                              */
/* ------------------------------------------------------------------ */

static int npu_submit_check(const struct drm_npu_submit *args)
{
	if (args->flags & ~DRM_NPU_SUBMIT_FLAGS || args->pad)
		return -EINVAL;
	if (!args->cmd_size || args->cmd_size % 4 || args->cmd_size > NPU_CMD_MAX_BYTES ||
	    args->cmd_offset % 4)
		return -EINVAL;
	if (args->report_offset % sizeof(struct drm_npu_job_report) ||
	    (!args->report_handle && args->report_offset))
		return -EINVAL;
	if (args->bo_count > NPU_MAX_BOS || args->in_syncobj_count > NPU_MAX_IN_SYNCOBJS)
		return -EINVAL;
	if (args->bo_count && (args->bo_stride < sizeof(struct drm_npu_submit_bo) ||
			       args->bo_stride > NPU_MAX_BO_STRIDE))
		return -EINVAL;
	return 0;
}

/* Command BO, report BO and the listed BOs; write flags into *writes. */
static int npu_submit_bos(struct drm_file *file, struct npu_job *job,
			  const struct drm_npu_submit *args, unsigned long *writes)
{
	void __user *ubos = u64_to_user_ptr(args->bos);
	struct npu_bo *cmd;
	u32 i;
	int ret;

	cmd = npu_bo_lookup(file, args->cmd_handle);
	if (!cmd)
		return -ENOENT;
	job->bos[job->bo_count++] = &cmd->base.base;
	if ((u64)args->cmd_offset + args->cmd_size > cmd->base.base.size)
		return -EINVAL;
	job->cmd_va = cmd->va.start + args->cmd_offset;

	if (args->report_handle) {
		struct npu_bo *rep = npu_bo_lookup(file, args->report_handle);

		if (!rep)
			return -ENOENT;
		ret = -EINVAL;
		if ((u64)args->report_offset + sizeof(struct drm_npu_job_report) <=
		    rep->base.base.size)
			ret = npu_compat_vmap(&rep->base, &job->report_map);
		if (ret) {
			drm_gem_object_put(&rep->base.base);
			return ret;
		}
		/* Owned by the job from here: vunmap and put at its end. */
		job->report_bo = rep;
		job->report_offset = args->report_offset;
	}

	for (i = 0; i < args->bo_count; i++) {
		struct drm_npu_submit_bo e;
		struct npu_bo *bo;

		if (copy_from_user(&e, ubos + (size_t)i * args->bo_stride, sizeof(e)))
			return -EFAULT;
		/* Bytes of a larger (future) element must be zero. */
		if (args->bo_stride > sizeof(e)) {
			ret = check_zeroed_user(ubos + (size_t)i * args->bo_stride + sizeof(e),
						args->bo_stride - sizeof(e));
			if (ret <= 0)
				return ret ? ret : -EINVAL;
		}
		if (e.flags & ~DRM_NPU_SUBMIT_BO_WRITE)
			return -EINVAL;
		bo = npu_bo_lookup(file, e.handle);
		if (!bo)
			return -ENOENT;
		if (e.flags & DRM_NPU_SUBMIT_BO_WRITE)
			__set_bit(job->bo_count, writes);
		job->bos[job->bo_count++] = &bo->base.base;
	}
	return 0;
}

static int npu_submit_syncobjs(struct drm_file *file, struct npu_job *job,
			       const struct drm_npu_submit *args)
{
	u32 __user *handles = u64_to_user_ptr(args->in_syncobjs);
	u32 i;
	int ret;

	for (i = 0; i < args->in_syncobj_count; i++) {
		struct dma_fence *fence;
		u32 handle;

		if (get_user(handle, handles + i))
			return -EFAULT;
		ret = drm_syncobj_find_fence(file, handle, 0, 0, &fence);
		if (ret)
			return ret;
		ret = drm_sched_job_add_dependency(&job->base, fence);
		if (ret)
			return ret;
	}
	return 0;
}

int npu_ioctl_submit(struct drm_device *dev, void *data, struct drm_file *file)
{
	struct npu_device *ndev = to_npu_device(dev);
	struct npu_file *ctx = file->driver_priv;
	struct drm_npu_submit *args = data;
	struct drm_syncobj *out_sync = NULL;
	struct ww_acquire_ctx acquire;
	unsigned long *writes = NULL;
	struct dma_fence *finished;
	struct npu_job *job;
	bool inited = false;
	u32 i, nbos;
	int ret;

	ret = npu_submit_check(args);
	if (ret)
		return ret;
	if (atomic_read(&ctx->banned))
		return -ECANCELED;

	job = kzalloc(sizeof(*job), GFP_KERNEL);
	if (!job)
		return -ENOMEM;
	job->ndev = ndev;
	job->ctx = ctx;
	kref_get(&ctx->ref);
	atomic_inc(&ndev->nr_jobs);
	/* The device stays powered from here to the job's end (never in run_job). */
	ret = pm_runtime_resume_and_get(dev->dev);
	if (ret)
		goto fail;
	job->pm_ref = true;
	job->submit_ns = ktime_get_ns();
	job->cmd_size = args->cmd_size;
	job->watchdog_cycles = args->watchdog_cycles;
	job->desc_flags = args->flags & DRM_NPU_SUBMIT_SRAM_CLEAR ? NPU_JOB_F_SRAM_CLEAR : 0;
	nbos = args->bo_count + 1;
	job->hw_fence = kzalloc(sizeof(*job->hw_fence), GFP_KERNEL);
	job->bos = kvcalloc(nbos, sizeof(*job->bos), GFP_KERNEL);
	writes = bitmap_zalloc(nbos, GFP_KERNEL);
	if (!job->hw_fence || !job->bos || !writes) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = npu_submit_bos(file, job, args, writes);
	if (ret)
		goto fail;
	if (args->out_syncobj) {
		out_sync = drm_syncobj_find(file, args->out_syncobj);
		if (!out_sync) {
			ret = -ENOENT;
			goto fail;
		}
	}
	ret = npu_compat_sched_job_init(&job->base, &ctx->entity, ctx);
	if (ret)
		goto fail;
	inited = true;
	ret = npu_submit_syncobjs(file, job, args);
	if (ret)
		goto fail;

	/* Implicit sync through the BOs' reservation objects. */
	ret = drm_gem_lock_reservations(job->bos, job->bo_count, &acquire);
	if (ret)
		goto fail;
	for (i = 0; i < job->bo_count; i++) {
		ret = dma_resv_reserve_fences(job->bos[i]->resv, 1);
		if (!ret)
			ret = drm_sched_job_add_implicit_dependencies(&job->base, job->bos[i],
								      test_bit(i, writes));
		if (ret) {
			drm_gem_unlock_reservations(job->bos, job->bo_count, &acquire);
			goto fail;
		}
	}

	/* From here nothing fails: the job belongs to the scheduler. */
	mutex_lock(&ctx->last_lock);
	drm_sched_job_arm(&job->base);
	finished = &job->base.s_fence->finished;
	for (i = 0; i < job->bo_count; i++)
		dma_resv_add_fence(job->bos[i]->resv, finished,
				   test_bit(i, writes) ? DMA_RESV_USAGE_WRITE :
				   DMA_RESV_USAGE_READ);
	drm_gem_unlock_reservations(job->bos, job->bo_count, &acquire);
	job->seqno = ++ctx->seqno;
	args->seqno = job->seqno;
	dma_fence_put(ctx->last_fence);
	ctx->last_fence = dma_fence_get(finished);
	if (out_sync)
		drm_syncobj_replace_fence(out_sync, finished);
	drm_sched_entity_push_job(&job->base);
	mutex_unlock(&ctx->last_lock);

	if (out_sync)
		drm_syncobj_put(out_sync);
	bitmap_free(writes);
	return 0;

fail:
	if (out_sync)
		drm_syncobj_put(out_sync);
	bitmap_free(writes);
	if (inited)
		drm_sched_job_cleanup(&job->base);
	npu_job_free_resources(job);
	return ret;
}
