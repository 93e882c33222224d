/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR MIT */
/*
 * npu_accel.h: the kernel/user ABI of npu.ko, the DRM driver of the npu-v1
 * int8 NPU (DRM driver name "npu").
 *
 * Device node: a compute-accel node /dev/accel/accelN on kernels with
 * CONFIG_DRM_ACCEL (6.2+), a render node /dev/dri/renderDN before that.
 * Userspace finds the device by its driver name (drmGetVersion()->name ==
 * "npu"), never by a node number.
 *
 * Rules every ioctl follows (Documentation/driver/npu.rst documents each ioctl):
 *  - fixed-size types, explicit padding, every struct a multiple of 8 bytes;
 *  - pointers are __u64 (u64_to_user_ptr() in the kernel);
 *  - every flags and pad field is checked: unknown flag bits and nonzero
 *    padding give -EINVAL;
 *  - structs grow only at the end; the DRM core zero-extends a shorter
 *    struct from an older userspace, so a new field's zero means "old
 *    behaviour";
 *  - arrays carry an element-size ("stride") field so their elements can
 *    grow too;
 *  - timeouts are absolute CLOCK_MONOTONIC nanoseconds.
 *
 * Addressing: every open file is one context with its own NPU virtual
 * address space (the device MMU's page tables, owned by the driver). A
 * buffer object is mapped into the address space of the file that created
 * it at creation and stays at that address until it is freed; its NPU VA
 * is returned to userspace, which places it in command streams itself.
 * A job can reach only its own context's buffers: an address of another
 * context faults (MMU_UNMAPPED) and reaches nothing.
 */
#ifndef NPU_ACCEL_H
#define NPU_ACCEL_H

#include "drm.h"

#if defined(__cplusplus)
extern "C" {
#endif

#define DRM_NPU_GET_PARAM	0x00
#define DRM_NPU_BO_CREATE	0x01
#define DRM_NPU_BO_INFO		0x02
#define DRM_NPU_SUBMIT		0x03

#define DRM_IOCTL_NPU_GET_PARAM \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_NPU_GET_PARAM, struct drm_npu_get_param)
#define DRM_IOCTL_NPU_BO_CREATE \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_NPU_BO_CREATE, struct drm_npu_bo_create)
#define DRM_IOCTL_NPU_BO_INFO \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_NPU_BO_INFO, struct drm_npu_bo_info)
#define DRM_IOCTL_NPU_SUBMIT \
	DRM_IOWR(DRM_COMMAND_BASE + DRM_NPU_SUBMIT, struct drm_npu_submit)

/* ------------------------------------------------------------------ */
/* GET_PARAM: one device or context property per call                  */
/* ------------------------------------------------------------------ */
enum drm_npu_param {
	DRM_NPU_PARAM_HW_VERSION = 0,	/* major << 16 | minor (NPU_REG_VERSION) */
	DRM_NPU_PARAM_ISA_VERSION = 1,	/* command-stream ISA major << 16 | minor */
	DRM_NPU_PARAM_HW_CAPS = 2,	/* NPU_CAP_* bits of npu_hw.h */
	DRM_NPU_PARAM_MAC_ARRAY = 3,	/* mac_oc << 16 | mac_ic */
	DRM_NPU_PARAM_SRAM_BYTES = 4,
	DRM_NPU_PARAM_DMA_BYTES_PER_CYCLE = 5,
	DRM_NPU_PARAM_CLOCK_KHZ = 6,
	DRM_NPU_PARAM_VEC_LANES = 7,
	DRM_NPU_PARAM_VA_START = 8,	/* first NPU VA a BO may get */
	DRM_NPU_PARAM_VA_SIZE = 9,	/* bytes of NPU VA available to BOs */
	DRM_NPU_PARAM_MAX_CMD_BYTES = 10, /* largest command stream */
	DRM_NPU_PARAM_RING_ENTRIES = 11, /* jobs the hardware ring holds */
	DRM_NPU_PARAM_JOB_TIMEOUT_MS = 12, /* a job running longer resets the device */
	DRM_NPU_PARAM_FEATURES = 13,	/* DRM_NPU_FEATURE_* bits */
	/* Per context (the calling file): */
	DRM_NPU_PARAM_CONTEXT_ID = 14,	/* as reported in NPU_REG_FAULT_CONTEXT */
	DRM_NPU_PARAM_CONTEXT_FAULTS = 15, /* jobs of this context that faulted */
	DRM_NPU_PARAM_CONTEXT_STATE = 16, /* DRM_NPU_CONTEXT_* */
	DRM_NPU_PARAM_COUNT
};

/* DRM_NPU_PARAM_FEATURES: what this driver offers beyond the base ABI. */
#define DRM_NPU_FEATURE_REPORT		(1ull << 0)	/* drm_npu_submit.report_handle */

/* DRM_NPU_PARAM_CONTEXT_STATE */
#define DRM_NPU_CONTEXT_OK		0
/*
 * A job of this context hung (ran past the job timeout) and the device was
 * reset: every later SUBMIT on this file fails with -ECANCELED. Open the
 * device again to get a fresh context.
 */
#define DRM_NPU_CONTEXT_BANNED		1

struct drm_npu_get_param {
	__u32 param;		/* in: enum drm_npu_param; unknown: -EINVAL */
	__u32 pad;		/* must be 0 */
	__u64 value;		/* out */
};

/* ------------------------------------------------------------------ */
/* BO_CREATE: a shmem buffer object mapped into the file's NPU VA       */
/* ------------------------------------------------------------------ */
/* The device may only read the BO (weights, command streams). */
#define DRM_NPU_BO_DEVICE_READ_ONLY	(1u << 0)
#define DRM_NPU_BO_FLAGS		DRM_NPU_BO_DEVICE_READ_ONLY

struct drm_npu_bo_create {
	__u64 size;		/* in: bytes, 1..VA_SIZE; rounded up to 4 KiB pages */
	__u32 flags;		/* in: DRM_NPU_BO_* */
	__u32 handle;		/* out: GEM handle */
	__u64 npu_va;		/* out: NPU VA, 4 KiB aligned */
	__u64 mmap_offset;	/* out: offset for mmap() on the DRM fd */
};

/*
 * BO_INFO: what a handle of this file is. -ENOENT for an unknown handle;
 * -EINVAL for a BO that has no NPU VA in this file (a BO imported from
 * another file or device).
 */
struct drm_npu_bo_info {
	__u32 handle;		/* in */
	__u32 flags;		/* in: must be 0; out: the BO's DRM_NPU_BO_* flags */
	__u64 size;		/* out: bytes (page multiple) */
	__u64 npu_va;		/* out */
	__u64 mmap_offset;	/* out */
};

/* ------------------------------------------------------------------ */
/* SUBMIT: queue one job; returns at once                               */
/* ------------------------------------------------------------------ */
/* drm_npu_submit_bo.flags: the job writes the BO (gets the WRITE fence). */
#define DRM_NPU_SUBMIT_BO_WRITE		(1u << 0)

/*
 * A buffer the job uses besides its command and report BOs. Listing a BO
 * keeps it alive until the job ends and orders the job against other users
 * of the BO through its reservation object (implicit sync): the job waits
 * for earlier writers (and, if it writes, for earlier readers), and its
 * fence is added as READ or WRITE. The device can reach every BO of the
 * context whether listed or not; unlisted BOs are simply not synchronised.
 */
struct drm_npu_submit_bo {
	__u32 handle;
	__u32 flags;		/* DRM_NPU_SUBMIT_BO_* */
};

/*
 * What the driver writes at report_offset of the report BO when the job
 * ends, before its fence signals: the device's counters (as in
 * npu_job_report of npu_hw.h) and the driver's view. 128 bytes.
 */
struct drm_npu_job_report {
	__u32 fault;		/* NPU_FAULT_* of npu_hw.h; NPU_FAULT_NONE = success */
	__u32 fault_cmd_offset;	/* byte offset of the faulting command in the stream */
	__u64 fault_addr;	/* faulting NPU VA / SRAM offset (by fault code) */
	__u64 cycles;		/* device cycles of the stream */
	__u64 macs;
	__u64 dram_read_bytes;
	__u64 dram_write_bytes;
	__u64 busy_cycles[4];	/* DMA, MAC, VEC, control */
	__u64 commands;
	__u64 setup_cycles;	/* SRAM clearing before the stream */
	__u32 fault_info;	/* NPU_FAULT_INFO_* */
	/* 0, or the fence error: -EIO device fault, -ETIMEDOUT driver timeout */
	__s32 status;
	__u64 seqno;		/* drm_npu_submit.seqno of this job */
	__u64 submit_ns;	/* CLOCK_MONOTONIC when SUBMIT queued the job */
	__u64 end_ns;		/* ... when the driver saw it complete */
};

/* drm_npu_submit.flags */
#define DRM_NPU_SUBMIT_SRAM_CLEAR	(1u << 0)	/* clear SRAM before the job */
#define DRM_NPU_SUBMIT_FLAGS		DRM_NPU_SUBMIT_SRAM_CLEAR

struct drm_npu_submit {
	__u32 cmd_handle;	/* BO holding the command stream */
	__u32 cmd_offset;	/* byte offset in it, multiple of 4 */
	__u32 cmd_size;		/* bytes, multiple of 4, 4..MAX_CMD_BYTES, inside the BO */
	__u32 flags;		/* DRM_NPU_SUBMIT_* */
	__u32 report_handle;	/* 0 = none, else a BO receiving a drm_npu_job_report */
	__u32 report_offset;	/* multiple of 128, report inside the BO */
	__u64 bos;		/* pointer to bo_count struct drm_npu_submit_bo */
	__u32 bo_count;		/* at most 1024 */
	__u32 bo_stride;	/* sizeof(struct drm_npu_submit_bo) (8) or more */
	__u64 in_syncobjs;	/* pointer to in_syncobj_count __u32 syncobj handles */
	__u32 in_syncobj_count;	/* at most 64; the job waits for all */
	__u32 out_syncobj;	/* 0 = none, else its fence is replaced by the job's */
	__u32 watchdog_cycles;	/* device cycle budget; 0 = the device default */
	__u32 pad;		/* must be 0 */
	__u64 seqno;		/* out: the job's number in this context, from 1 */
};

#if defined(__cplusplus)
}
#endif

#endif /* NPU_ACCEL_H */
