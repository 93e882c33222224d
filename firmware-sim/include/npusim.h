/* SPDX-License-Identifier: MIT */
/*
 * libnpusim: the npu-v1 functional + cycle model.
 *
 * Two layers:
 *  1. The core (npusim_core_*): executes one command stream against NPU
 *     virtual memory reached through callbacks (struct npusim_vmem), with
 *     the cycle model and optional trace. libnpu's in-process backend and
 *     the compiler use this directly.
 *  2. The device (npusim_dev_*): the host interface of npu_hw.h (registers,
 *     job ring, device MMU walk, interrupts, watchdog, reset) on top of a
 *     core, reaching physical memory through callbacks (struct
 *     npusim_host_ops). The QEMU device model wraps this.
 *
 * Memory is only ever touched through the callbacks and the core's own
 * SRAM: the library makes no assumption about who hosts it.
 *
 * Thread safety: a core is used by one thread at a time. A device may have
 * its registers accessed from one thread while another runs
 * npusim_dev_process(); callbacks are never invoked with internal locks held.
 * The device's threading contract for a host integration (a QEMU device,
 * a test harness) is spelled out above struct npusim_host_ops.
 */
#ifndef NPUSIM_H
#define NPUSIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "npu_hw.h"
#include "npu_isa.h"

#ifdef __cplusplus
extern "C" {
#endif

/* libnpusim.so exports these and nothing else (visibility and a version script). */
#if defined(__GNUC__)
#define NPUSIM_API __attribute__((visibility("default")))
#else
#define NPUSIM_API
#endif

/* Hardware configuration; npusim_config_default() gives npu-v1. */
struct npusim_config {
	char name[32];			/* "npu-v1" */
	uint32_t mac_oc;		/* output-channel lanes (16) */
	uint32_t mac_ic;		/* input-channel lanes (32): MACs/cycle = mac_oc*mac_ic */
	uint32_t sram_bytes;		/* 1 MiB */
	uint32_t dma_bytes_per_cycle;	/* 16 */
	uint32_t vec_lanes;		/* 16 elements/cycle in VEC */
	uint32_t clock_khz;		/* 1000000 (1 GHz) */
	uint32_t dram_latency_cycles;	/* fixed cost of each DMA command (100) */
	uint32_t cmd_cycles;		/* dispatcher cost per command (4) */
	uint32_t mac_pipeline_cycles;	/* MAC array fill/drain per command (16) */
	uint32_t vec_pipeline_cycles;	/* VEC fill/drain per command (8) */
	int hazard_check;		/* fault on SRAM races between engines (1) */
};

NPUSIM_API void npusim_config_default(struct npusim_config *cfg);
/* Validates a configuration; returns 0 or -EINVAL-like -1 with a message. */
NPUSIM_API int npusim_config_check(const struct npusim_config *cfg, char *msg, size_t msg_len);

/*
 * NPU virtual memory as seen by one job. read/write copy len bytes at va
 * (a range never crossing 4 KiB is not promised: callers may pass any
 * length). They return NPU_FAULT_NONE or a fault code
 * (NPU_FAULT_MMU_UNMAPPED, _PERMISSION, _BUS_ERROR) and then set *fault_va
 * to the first faulting address (a VA; for NPU_FAULT_BUS_ERROR the physical
 * address that failed). On a fault nothing may be assumed about
 * partial transfers.
 */
struct npusim_vmem {
	int (*read)(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va);
	int (*write)(void *opaque, uint64_t va, const void *src, uint32_t len, uint64_t *fault_va);
	void *opaque;
};

struct npusim_core;

NPUSIM_API struct npusim_core *npusim_core_create(const struct npusim_config *cfg);
NPUSIM_API void npusim_core_destroy(struct npusim_core *core);
NPUSIM_API const struct npusim_config *npusim_core_config(const struct npusim_core *core);

/* Direct SRAM access for tests and tools (bounds-checked; 0 or -1). */
NPUSIM_API int npusim_core_sram_read(struct npusim_core *core, uint32_t off, void *dst,
				     uint32_t len);
NPUSIM_API int npusim_core_sram_write(struct npusim_core *core, uint32_t off, const void *src,
				      uint32_t len);

/*
 * Trace: after npusim_core_trace_open(), every job appends Chrome
 * trace-event JSON records (one track per engine, time in microseconds of
 * device time) to path; npusim_core_trace_close() finishes the file.
 * Returns 0 or -1 (errno set).
 */
NPUSIM_API int npusim_core_trace_open(struct npusim_core *core, const char *path);
NPUSIM_API int npusim_core_trace_close(struct npusim_core *core);

/* Called by SIGNAL commands with NPU_SIGNAL_F_IRQ (may be NULL). */
typedef void (*npusim_signal_fn)(void *opaque, uint64_t value);

struct npusim_job {
	const struct npusim_vmem *mem;
	uint64_t cmd_va;
	uint32_t cmd_size;
	uint64_t watchdog_cycles;	/* 0 = NPU_WATCHDOG_DEFAULT */
	npusim_signal_fn on_signal;
	void *signal_opaque;
	int *abort;			/* if non-NULL and set (atomically), the job stops */
	uint32_t *progress;		/* if non-NULL, atomically incremented per command */
};

/*
 * Runs one job to completion (END or a fault). Fills *report (always).
 * Returns report->fault. SRAM contents persist between jobs only as the
 * hardware's would: software must not rely on them.
 */
NPUSIM_API int npusim_core_run(struct npusim_core *core, const struct npusim_job *job,
		    struct npu_job_report *report);

/*
 * Clears the whole SRAM to zero (what the device does between contexts).
 * Returns the modelled cost in cycles: sram_bytes /
 * NPU_SRAM_CLEAR_BYTES_PER_CYCLE.
 */
NPUSIM_API uint64_t npusim_core_sram_clear(struct npusim_core *core);

/* Human-readable name of a fault code ("MMU_UNMAPPED"), never NULL. */
NPUSIM_API const char *npusim_fault_name(uint32_t fault);
/*
 * The name of the field at byte offset `offset` of a command with this
 * opcode ("header" for the first word), as npu_isa.h spells it; NULL for
 * an unknown opcode or offset. A BAD_FIELD fault's fault_addr is such an
 * offset.
 */
NPUSIM_API const char *npusim_cmd_field_name(uint32_t opcode, uint64_t offset);
/* The command's name ("CONV", "WAIT", ...); NULL for an unknown opcode. */
NPUSIM_API const char *npusim_cmd_name(uint32_t opcode);

/* ------------------------------------------------------------------ */
/* Device: host interface                                              */
/* ------------------------------------------------------------------ */
/*
 * Threading contract for a host integration.
 *
 * - npusim_dev_reg_read/_write and npusim_dev_reset may be called from any
 *   thread, concurrently with one thread inside npusim_dev_process() (the
 *   worker). They only touch register state under the device's own lock
 *   and never run a job, except when kick is NULL (see below).
 * - mem_read/mem_write are called only from the thread inside
 *   npusim_dev_process(), never with the device lock held. They may block.
 * - set_irq is called from the register-accessing thread (a write to
 *   IRQ_CLEAR, IRQ_MASK, CTRL) or from the worker (job completion,
 *   SIGNAL), never with the device lock held, and one call at a time in
 *   level order. A QEMU device must take its global lock inside set_irq
 *   when called from the worker. level 1 while already 1 is a re-send:
 *   a write to IRQ_CLEAR or IRQ_MASK left the line asserted, so a
 *   message-signalled binding must send a new message.
 * - guest_error is called from the worker, without the device lock.
 * - reset_done is called once per reset when the job it aborted has
 *   stopped (from the worker), or, if no job was executing, from inside
 *   the resetting call itself. After it, the device makes no memory
 *   access until new work is submitted.
 * - kick == NULL runs jobs synchronously inside the register write that
 *   made them pending: for tests and tools only (the write then blocks
 *   for the whole job).
 */
struct npusim_host_ops {
	/* Bus (DMA) addresses; return 0 or -1 (reported as NPU_FAULT_BUS_ERROR). */
	int (*mem_read)(void *opaque, uint64_t pa, void *dst, size_t len);
	int (*mem_write)(void *opaque, uint64_t pa, const void *src, size_t len);
	/* Interrupt line level changed (or re-sent, see above). */
	void (*set_irq)(void *opaque, int level);
	/*
	 * Doorbell or enable: work is pending. The host calls
	 * npusim_dev_process() from a worker thread. May be NULL: see above.
	 */
	void (*kick)(void *opaque);
	/* A reset has completed (STATUS.RESETTING clear). May be NULL. */
	void (*reset_done)(void *opaque);
	/*
	 * A guest error the device reported through its registers (a job
	 * fault, a bad descriptor, a ring error), as one line of text without
	 * a newline, for the host's log. Called like mem_read. May be NULL.
	 */
	void (*guest_error)(void *opaque, const char *msg);
};

struct npusim_dev;

NPUSIM_API struct npusim_dev *npusim_dev_create(const struct npusim_config *cfg,
				     const struct npusim_host_ops *ops, void *opaque);
NPUSIM_API void npusim_dev_destroy(struct npusim_dev *dev);
NPUSIM_API struct npusim_core *npusim_dev_core(struct npusim_dev *dev);

NPUSIM_API uint32_t npusim_dev_reg_read(struct npusim_dev *dev, uint32_t offset);
NPUSIM_API void npusim_dev_reg_write(struct npusim_dev *dev, uint32_t offset, uint32_t value);

/*
 * Processes pending ring entries until the ring is empty, the device is
 * disabled or halted, or a reset is requested. Returns the number of jobs
 * completed (ok or faulted).
 */
NPUSIM_API int npusim_dev_process(struct npusim_dev *dev);

/*
 * Device-level reset (power-on state; as NPU_CTRL_RESET). Does not wait
 * for a running job to stop: returns 1 if the reset is already complete
 * (reset_done has been called), 0 if it completes later on the worker.
 */
NPUSIM_API int npusim_dev_reset(struct npusim_dev *dev);

#ifdef __cplusplus
}
#endif

#endif /* NPUSIM_H */
