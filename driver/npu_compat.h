/* SPDX-License-Identifier: GPL-2.0-only OR MIT */
/*
 * The few kernel API differences between the kernels npu.ko supports
 * (Debian's 6.1 and 6.12), decided by driver/compat-probe.sh with compile
 * probes against the target kernel (npu_compat_gen.h), not by version
 * numbers: Debian backports scheduler API from 6.15 and 6.17.
 */
#ifndef NPU_COMPAT_H
#define NPU_COMPAT_H

#include <linux/kthread.h>
#include <drm/drm_drv.h>
#include <drm/drm_gem_shmem_helper.h>
#include <drm/gpu_scheduler.h>

#include "npu_compat_gen.h"

/* The device node: /dev/accel/accelN where the kernel has DRM accel. */
#ifdef NPU_HAVE_COMPUTE_ACCEL
#include <drm/drm_accel.h>
#define NPU_DRIVER_NODE_FEATURE	DRIVER_COMPUTE_ACCEL
#define NPU_FOPS_BODY		DRM_ACCEL_FOPS
#else
#include <drm/drm_gem.h>
#define NPU_DRIVER_NODE_FEATURE	DRIVER_RENDER
#define NPU_FOPS_BODY		DRM_GEM_FOPS
#endif

static inline int npu_compat_sched_init(struct drm_gpu_scheduler *sched,
					const struct drm_sched_backend_ops *ops,
					u32 credit_limit, long timeout,
					const char *name, struct device *dev)
{
#if defined(NPU_HAVE_SCHED_INIT_ARGS)
	const struct drm_sched_init_args args = {
		.ops = ops,
#ifdef NPU_HAVE_SCHED_ARGS_NUM_RQS
		.num_rqs = DRM_SCHED_PRIORITY_COUNT,
#endif
		.credit_limit = credit_limit,
		.timeout = timeout,
		.name = name,
		.dev = dev,
	};

	return drm_sched_init(sched, &args);
#elif defined(NPU_HAVE_SCHED_SUBMIT_WQ)
	return drm_sched_init(sched, ops, NULL, DRM_SCHED_PRIORITY_COUNT, credit_limit, 0,
			      timeout, NULL, NULL, name, dev);
#else
	return drm_sched_init(sched, ops, credit_limit, 0, timeout, NULL, NULL, name, dev);
#endif
}

static inline int npu_compat_sched_job_init(struct drm_sched_job *job,
					    struct drm_sched_entity *entity, void *owner)
{
#if defined(NPU_HAVE_SCHED_JOB_CLIENT_ID)
	return drm_sched_job_init(job, entity, 1, owner, 0);
#elif defined(NPU_HAVE_SCHED_JOB_CREDITS)
	return drm_sched_job_init(job, entity, 1, owner);
#else
	return drm_sched_job_init(job, entity, owner);
#endif
}

/* A kernel mapping of a BO (6.7+ shmem helpers need the reservation lock). */
static inline int npu_compat_vmap(struct drm_gem_shmem_object *shmem, struct iosys_map *map)
{
#ifdef NPU_HAVE_GEM_VMAP_UNLOCKED
	return drm_gem_vmap_unlocked(&shmem->base, map);
#else
	return drm_gem_shmem_vmap(shmem, map);
#endif
}

static inline void npu_compat_vunmap(struct drm_gem_shmem_object *shmem, struct iosys_map *map)
{
#ifdef NPU_HAVE_GEM_VMAP_UNLOCKED
	drm_gem_vunmap_unlocked(&shmem->base, map);
#else
	drm_gem_shmem_vunmap(shmem, map);
#endif
}

/* Stop and restart the scheduler's submission around a device reset. */
static inline void npu_compat_sched_pause(struct drm_gpu_scheduler *sched)
{
#ifdef NPU_HAVE_SCHED_WQUEUE
	drm_sched_wqueue_stop(sched);
#else
	kthread_park(sched->thread);
#endif
}

static inline void npu_compat_sched_resume(struct drm_gpu_scheduler *sched)
{
#ifdef NPU_HAVE_SCHED_WQUEUE
	drm_sched_wqueue_start(sched);
#else
	kthread_unpark(sched->thread);
#endif
}

#endif /* NPU_COMPAT_H */
