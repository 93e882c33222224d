// SPDX-License-Identifier: MIT
/*
 * libnpusim device: the host interface of npu_hw.h (registers, job ring,
 * device MMU, interrupts, watchdog, abort, reset) on top of a core.
 *
 * State machine
 *   RESET      power-on, NPU_CTRL_RESET or npusim_dev_reset(): every RW/RO
 *              register 0 (ENABLE, HALTED, ring, IRQ status and mask,
 *              watchdog, JOBS_DONE, fault, ring-error and signal registers),
 *              IRQ line low, SRAM owner forgotten (the next job clears it).
 *   PENDING    ENABLE && !HALTED && HEAD != TAIL. Entered by a DOORBELL or
 *              CTRL write; the host is kicked (ops->kick) or, without a kick
 *              callback, the register write processes synchronously.
 *   RUNNING    npusim_dev_process(): STATUS.BUSY. Checks the ring setup
 *              (misconfigured -> HALTED with a RING_ERROR cause), fetches
 *              ring[HEAD % SIZE] (bus error -> HALTED), validates it
 *              (invalid -> the job ends with BAD_DESCRIPTOR), clears SRAM
 *              if the context changed, runs it on the core through the MMU
 *              of the descriptor's page tables (TLB flushed at job start),
 *              then writes the report, then the fence, then HEAD++,
 *              JOBS_DONE++, IRQ JOB_DONE or JOB_FAULT (+ fault registers).
 *              Repeats while PENDING. ABORT_JOB with the running index
 *              ends the job at the next command boundary as ABORTED, a
 *              normal faulted completion.
 *   HALTED     ring error (NPU_IRQ_RING_ERROR): nothing runs until reset.
 *   IDLE       STATUS.IDLE: no job running and none will start by itself
 *              (ring empty, disabled or halted).
 * A reset while RUNNING sets the job's abort flag and STATUS.RESETTING:
 * the core stops at the next command boundary, no report or fence is
 * written, HEAD is not advanced, the running npusim_dev_process() returns
 * and ops->reset_done is called. Reset does not wait for that (it may be
 * called from a callback of the running job). A job that had already
 * begun writing its results when the reset came finishes those writes
 * (its fence says it completed) before RESETTING clears; its HEAD and
 * interrupt are lost with the reset.
 *
 * Locking: dev->lock protects the register state. It is never held while
 * a job runs nor around any ops callback. Every reset increments an epoch;
 * a job whose epoch is stale when it finishes is discarded. Only one
 * thread processes at a time (dev->processing). Interrupt level changes
 * are delivered by one thread at a time, which loops until the delivered
 * level matches the registers, so set_irq calls are never reordered (a
 * register write racing with a delivery in progress leaves its change to
 * that thread). Clearing ENABLE lets the running job finish; the ring
 * then stops. The host must stop all calls before npusim_dev_destroy().
 */
#include <errno.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "mmu.h"
#include "npusim.h"

/* The FAULT_* registers' contents: one snapshot per faulted job. */
struct fault_regs {
	uint32_t code, context, cmd_offset, job, info;
	uint64_t addr;
};

struct npusim_dev {
	struct npusim_core *core;
	struct npusim_host_ops ops;
	void *opaque;
	pthread_mutex_t lock;
	struct npusim_mmu mmu;		/* only touched by the processing thread */
	int abort;			/* polled by the core (atomically); reset or ABORT_JOB */
	uint32_t progress;		/* PROGRESS: commands executed (atomic) */

	/* Protected by lock. */
	uint32_t ctrl;			/* NPU_CTRL_ENABLE */
	int halted;
	uint32_t irq_status, irq_mask;
	uint32_t ring_base_lo, ring_base_hi, ring_size;
	uint32_t head, tail;
	uint32_t watchdog, jobs_done, scratch;
	struct fault_regs fault;	/* latest faulted job */
	struct fault_regs fault_latched; /* what FAULT_* read: latched by FAULT_CODE */
	uint32_t ring_error;		/* NPU_RING_ERR_* */
	uint64_t ring_error_logged;	/* epoch + 1 of the ring error last logged */
	uint64_t ring_error_addr;
	uint32_t signal_job, signal_job_latched;
	uint64_t signal_value, signal_value_latched;
	uint32_t running_job;		/* ring index of the job executing (busy) */
	uint32_t sram_owner;		/* context_id whose data is in SRAM */
	int sram_owner_valid;		/* 0 after reset: the next job clears SRAM */
	int busy;			/* a job is executing */
	int resetting;			/* STATUS.RESETTING: reset waits for the job to stop */
	int processing;			/* a thread is inside npusim_dev_process() */
	int irq_level;			/* level last passed to set_irq */
	int irq_resend;			/* IRQ_CLEAR/IRQ_MASK write left the line high */
	int irq_delivering;		/* a thread is delivering level changes */
	uint64_t epoch;			/* incremented by every reset */
};

/* One job being processed (snapshot taken under the lock at its start). */
struct dev_job {
	struct npusim_dev *dev;
	uint64_t epoch;
	uint32_t index;			/* free-running ring index (HEAD) */
	uint64_t desc_pa;
	uint32_t watchdog;		/* WATCHDOG_CYCLES at job start */
};

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	return (uint64_t)get_le32(p) | (uint64_t)get_le32(p + 4) << 32;
}

/* A bus range [pa, pa + len) the device can emit. */
static int pa_range_ok(uint64_t pa, uint64_t len)
{
	return npu_pa_ok(pa) && len <= (1ull << NPU_PA_BITS) - pa;
}

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

static int irq_want_locked(const struct npusim_dev *dev)
{
	return (dev->irq_status & dev->irq_mask) != 0;
}

/*
 * Called without the lock after any change of IRQ_STATUS or IRQ_MASK.
 * Delivers level changes, and a re-send (level 1 again) when a write to
 * IRQ_CLEAR or IRQ_MASK left the line asserted: with message-signalled
 * interrupts one message per rising edge would otherwise leave a handler
 * that cleared only what it saw waiting forever.
 */
static void irq_deliver(struct npusim_dev *dev)
{
	int level;

	pthread_mutex_lock(&dev->lock);
	if (dev->irq_delivering) {
		/* The delivering thread re-checks after its callback. */
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	dev->irq_delivering = 1;
	for (;;) {
		level = irq_want_locked(dev);
		if (level == dev->irq_level && !(level && dev->irq_resend))
			break;
		dev->irq_level = level;
		dev->irq_resend = 0;
		pthread_mutex_unlock(&dev->lock);
		if (dev->ops.set_irq)
			dev->ops.set_irq(dev->opaque, level);
		pthread_mutex_lock(&dev->lock);
	}
	dev->irq_resend = 0;
	dev->irq_delivering = 0;
	pthread_mutex_unlock(&dev->lock);
}

/* ------------------------------------------------------------------ */
/* Register state                                                      */
/* ------------------------------------------------------------------ */

/* Returns 1 if the reset is complete now, 0 if a running job must stop first. */
static int reset_locked(struct npusim_dev *dev)
{
	if (dev->busy) {
		__atomic_store_n(&dev->abort, 1, __ATOMIC_SEQ_CST);
		dev->resetting = 1;
	}
	dev->epoch++;
	dev->ctrl = 0;
	dev->halted = 0;
	dev->irq_status = 0;
	dev->irq_mask = 0;
	dev->irq_resend = 0;
	dev->ring_base_lo = dev->ring_base_hi = dev->ring_size = 0;
	dev->head = dev->tail = 0;
	dev->watchdog = dev->jobs_done = dev->scratch = 0;
	memset(&dev->fault, 0, sizeof(dev->fault));
	memset(&dev->fault_latched, 0, sizeof(dev->fault_latched));
	dev->ring_error = 0;
	dev->ring_error_addr = 0;
	dev->signal_job = dev->signal_job_latched = 0;
	dev->signal_value = dev->signal_value_latched = 0;
	dev->running_job = 0;
	dev->sram_owner_valid = 0;
	__atomic_store_n(&dev->progress, 0, __ATOMIC_RELAXED);
	return !dev->resetting;
}

static int pending_locked(const struct npusim_dev *dev)
{
	return (dev->ctrl & NPU_CTRL_ENABLE) && !dev->halted && dev->head != dev->tail;
}

static uint64_t ring_base_locked(const struct npusim_dev *dev)
{
	return (uint64_t)dev->ring_base_hi << 32 | dev->ring_base_lo;
}

/* NPU_RING_ERR_NONE if the ring set-up is usable, else the cause. */
static uint32_t ring_check_locked(const struct npusim_dev *dev)
{
	uint32_t size = dev->ring_size;

	if (ring_base_locked(dev) & (NPU_PAGE_SIZE - 1))
		return NPU_RING_ERR_BASE_ALIGN;
	if (!size || size > NPU_RING_MAX_ENTRIES || (size & (size - 1)))
		return NPU_RING_ERR_SIZE;
	if (!pa_range_ok(ring_base_locked(dev), (uint64_t)size * sizeof(struct npu_job_desc)))
		return NPU_RING_ERR_BASE_RANGE;
	if (dev->tail - dev->head > size)
		return NPU_RING_ERR_TAIL;
	return NPU_RING_ERR_NONE;
}

static void ring_error_locked(struct npusim_dev *dev, uint32_t cause, uint64_t addr)
{
	dev->halted = 1;
	dev->ring_error = cause;
	dev->ring_error_addr = addr;
	dev->irq_status |= NPU_IRQ_RING_ERROR;
}

static uint32_t caps(const struct npusim_config *cfg)
{
	uint32_t c = NPU_CAP_ZMASK | NPU_CAP_PALETTE4 | NPU_CAP_MATMUL | NPU_CAP_LUT |
		     NPU_CAP_POOL;

	return cfg->hazard_check ? c | NPU_CAP_HAZARD_CHECK : c;
}

/* Identification and configuration registers (constant). */
static uint32_t reg_read_const(const struct npusim_dev *dev, uint32_t offset)
{
	const struct npusim_config *cfg = npusim_core_config(dev->core);

	switch (offset) {
	case NPU_REG_ID: return NPU_HW_ID_MAGIC;
	case NPU_REG_VERSION: return NPU_HW_VERSION_MAJOR << 16 | NPU_HW_VERSION_MINOR;
	case NPU_REG_ISA_VERSION: return NPU_ISA_VERSION;
	case NPU_REG_CAPS: return caps(cfg);
	case NPU_REG_CFG_MAC_ARRAY: return cfg->mac_oc << 16 | cfg->mac_ic;
	case NPU_REG_CFG_SRAM_BYTES: return cfg->sram_bytes;
	case NPU_REG_CFG_DMA_BPC: return cfg->dma_bytes_per_cycle;
	case NPU_REG_CFG_CLOCK_KHZ: return cfg->clock_khz;
	case NPU_REG_CFG_VEC_LANES: return cfg->vec_lanes;
	case NPU_REG_CFG_MMU:
		return (uint32_t)NPU_VA_BITS << 16 | (uint32_t)NPU_PA_BITS << 8 | NPU_PAGE_SHIFT;
	default: return 0;
	}
}

static uint32_t status_locked(const struct npusim_dev *dev)
{
	uint32_t s = 0;

	if (dev->busy)
		s |= NPU_STATUS_BUSY;
	else if (!pending_locked(dev))
		s |= NPU_STATUS_IDLE;
	if (dev->halted)
		s |= NPU_STATUS_HALTED;
	if (dev->resetting)
		s |= NPU_STATUS_RESETTING;
	return s;
}

/* Fault and signal snapshots: latched by reading FAULT_CODE / SIGNAL_JOB. */
static uint32_t reg_read_latched(struct npusim_dev *dev, uint32_t offset)
{
	const struct fault_regs *f = &dev->fault_latched;

	switch (offset) {
	case NPU_REG_FAULT_CODE:
		dev->fault_latched = dev->fault;
		return f->code;
	case NPU_REG_FAULT_CONTEXT: return f->context;
	case NPU_REG_FAULT_ADDR_LO: return (uint32_t)f->addr;
	case NPU_REG_FAULT_ADDR_HI: return (uint32_t)(f->addr >> 32);
	case NPU_REG_FAULT_CMD_OFFSET: return f->cmd_offset;
	case NPU_REG_FAULT_JOB: return f->job;
	case NPU_REG_FAULT_INFO: return f->info;
	case NPU_REG_SIGNAL_JOB:
		dev->signal_job_latched = dev->signal_job;
		dev->signal_value_latched = dev->signal_value;
		return dev->signal_job_latched;
	case NPU_REG_SIGNAL_VALUE_LO: return (uint32_t)dev->signal_value_latched;
	case NPU_REG_SIGNAL_VALUE_HI: return (uint32_t)(dev->signal_value_latched >> 32);
	default: return reg_read_const(dev, offset);
	}
}

static uint32_t reg_read_locked(struct npusim_dev *dev, uint32_t offset)
{
	switch (offset) {
	case NPU_REG_CTRL: return dev->ctrl;
	case NPU_REG_STATUS: return status_locked(dev);
	case NPU_REG_IRQ_STATUS: return dev->irq_status;
	case NPU_REG_IRQ_MASK: return dev->irq_mask;
	case NPU_REG_RING_BASE_LO: return dev->ring_base_lo;
	case NPU_REG_RING_BASE_HI: return dev->ring_base_hi;
	case NPU_REG_RING_SIZE: return dev->ring_size;
	case NPU_REG_RING_HEAD: return dev->head;
	case NPU_REG_RING_TAIL: return dev->tail;
	case NPU_REG_WATCHDOG_CYCLES: return dev->watchdog;
	case NPU_REG_JOBS_DONE: return dev->jobs_done;
	case NPU_REG_PROGRESS: return __atomic_load_n(&dev->progress, __ATOMIC_RELAXED);
	case NPU_REG_RUNNING_JOB: return dev->busy ? dev->running_job : 0;
	case NPU_REG_RING_ERROR: return dev->ring_error;
	case NPU_REG_RING_ERROR_ADDR_LO: return (uint32_t)dev->ring_error_addr;
	case NPU_REG_RING_ERROR_ADDR_HI: return (uint32_t)(dev->ring_error_addr >> 32);
	case NPU_REG_SCRATCH: return dev->scratch;
	default: return reg_read_latched(dev, offset);
	}
}

uint32_t npusim_dev_reg_read(struct npusim_dev *dev, uint32_t offset)
{
	uint32_t v;

	if (!dev || (offset & 3) || offset >= NPU_MMIO_SIZE)
		return 0;
	pthread_mutex_lock(&dev->lock);
	v = reg_read_locked(dev, offset);
	pthread_mutex_unlock(&dev->lock);
	return v;
}

/* What a register write asks of the caller once the lock is dropped. */
enum write_effect { WRITE_NONE, WRITE_START, WRITE_RESET_DONE };

/* Applies a write; RO and unknown offsets are ignored. */
static enum write_effect reg_write_locked(struct npusim_dev *dev, uint32_t offset,
					  uint32_t value)
{
	int was_high = dev->irq_level;

	switch (offset) {
	case NPU_REG_CTRL:
		/* RESET wins over ENABLE in the same write. */
		if (value & NPU_CTRL_RESET)
			return reset_locked(dev) ? WRITE_RESET_DONE : WRITE_NONE;
		dev->ctrl = value & NPU_CTRL_ENABLE;
		break;
	case NPU_REG_IRQ_MASK:
		dev->irq_mask = value & NPU_IRQ_ALL;
		dev->irq_resend = was_high && irq_want_locked(dev);
		break;
	case NPU_REG_IRQ_CLEAR:
		dev->irq_status &= ~value;
		dev->irq_resend = was_high && irq_want_locked(dev);
		break;
	case NPU_REG_RING_BASE_LO: dev->ring_base_lo = value; break;
	case NPU_REG_RING_BASE_HI: dev->ring_base_hi = value; break;
	case NPU_REG_RING_SIZE: dev->ring_size = value; break;
	case NPU_REG_DOORBELL: dev->tail = value; break;
	case NPU_REG_WATCHDOG_CYCLES: dev->watchdog = value; break;
	case NPU_REG_ABORT_JOB:
		/* Only the job running now: a late abort of a finished job is ignored. */
		if (dev->busy && !dev->resetting && value == dev->running_job)
			__atomic_store_n(&dev->abort, 1, __ATOMIC_SEQ_CST);
		break;
	case NPU_REG_SCRATCH: dev->scratch = value; break;
	default: break;
	}
	if ((offset == NPU_REG_DOORBELL || offset == NPU_REG_CTRL) && pending_locked(dev))
		return WRITE_START;
	return WRITE_NONE;
}

static void reset_done(struct npusim_dev *dev)
{
	if (dev->ops.reset_done)
		dev->ops.reset_done(dev->opaque);
}

void npusim_dev_reg_write(struct npusim_dev *dev, uint32_t offset, uint32_t value)
{
	enum write_effect effect;

	if (!dev || (offset & 3) || offset >= NPU_MMIO_SIZE)
		return;
	pthread_mutex_lock(&dev->lock);
	effect = reg_write_locked(dev, offset, value);
	pthread_mutex_unlock(&dev->lock);

	irq_deliver(dev);
	if (effect == WRITE_RESET_DONE)
		reset_done(dev);
	if (effect != WRITE_START)
		return;
	if (dev->ops.kick)
		dev->ops.kick(dev->opaque);
	else
		npusim_dev_process(dev);
}

int npusim_dev_reset(struct npusim_dev *dev)
{
	int done;

	if (!dev)
		return 1;
	pthread_mutex_lock(&dev->lock);
	done = reset_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	irq_deliver(dev);
	if (done)
		reset_done(dev);
	return done;
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

static void desc_decode(const uint8_t *raw, struct npu_job_desc *d)
{
	d->flags = get_le32(raw + offsetof(struct npu_job_desc, flags));
	d->context_id = get_le32(raw + offsetof(struct npu_job_desc, context_id));
	d->pt_base = get_le64(raw + offsetof(struct npu_job_desc, pt_base));
	d->cmd_va = get_le64(raw + offsetof(struct npu_job_desc, cmd_va));
	d->cmd_size = get_le32(raw + offsetof(struct npu_job_desc, cmd_size));
	d->watchdog_cycles = get_le32(raw + offsetof(struct npu_job_desc, watchdog_cycles));
	d->fence_pa = get_le64(raw + offsetof(struct npu_job_desc, fence_pa));
	d->fence_value = get_le64(raw + offsetof(struct npu_job_desc, fence_value));
	d->report_pa = get_le64(raw + offsetof(struct npu_job_desc, report_pa));
	d->reserved1 = get_le64(raw + offsetof(struct npu_job_desc, reserved1));
}

/* Fence and report targets: usable when nonzero, aligned and addressable. */
static int fence_ok(const struct npu_job_desc *d)
{
	return d->fence_pa && !(d->fence_pa & 7) && pa_range_ok(d->fence_pa, 8);
}

static int report_ok(const struct npu_job_desc *d)
{
	return d->report_pa && !(d->report_pa & 63) &&
	       pa_range_ok(d->report_pa, sizeof(struct npu_job_report));
}

static int desc_valid(const struct npu_job_desc *d)
{
	if ((d->flags & ~NPU_JOB_F_ALL) || d->reserved1)
		return 0;
	if ((d->pt_base & (NPU_PAGE_SIZE - 1)) || !pa_range_ok(d->pt_base, NPU_PAGE_SIZE) ||
	    (d->cmd_va & 3))
		return 0;
	if ((d->cmd_size & 3) || d->cmd_size < 4 || d->cmd_size > NPU_CMD_MAX_BYTES)
		return 0;
	return (!d->fence_pa || fence_ok(d)) && (!d->report_pa || report_ok(d));
}

static void report_encode(const struct npu_job_report *r, uint8_t *raw)
{
	memset(raw, 0, sizeof(struct npu_job_report));
	put_le32(raw + offsetof(struct npu_job_report, fault), r->fault);
	put_le32(raw + offsetof(struct npu_job_report, fault_cmd_offset), r->fault_cmd_offset);
	put_le64(raw + offsetof(struct npu_job_report, fault_addr), r->fault_addr);
	put_le64(raw + offsetof(struct npu_job_report, cycles), r->cycles);
	put_le64(raw + offsetof(struct npu_job_report, macs), r->macs);
	put_le64(raw + offsetof(struct npu_job_report, dram_read_bytes), r->dram_read_bytes);
	put_le64(raw + offsetof(struct npu_job_report, dram_write_bytes), r->dram_write_bytes);
	for (int i = 0; i < 4; i++)
		put_le64(raw + offsetof(struct npu_job_report, busy_cycles) + 8 * i,
			 r->busy_cycles[i]);
	put_le64(raw + offsetof(struct npu_job_report, commands), r->commands);
	put_le64(raw + offsetof(struct npu_job_report, setup_cycles), r->setup_cycles);
	put_le32(raw + offsetof(struct npu_job_report, fault_info), r->fault_info);
}

/*
 * Report then fence, the fence as one 64-bit write. A bus error here has
 * nowhere to be reported: the job still completes (HEAD, JOBS_DONE and
 * the IRQ tell the host).
 */
static void write_results(struct npusim_dev *dev, const struct npu_job_desc *d,
			  const struct npu_job_report *rep)
{
	uint8_t raw[sizeof(struct npu_job_report)];

	if (report_ok(d)) {
		report_encode(rep, raw);
		(void)dev->ops.mem_write(dev->opaque, d->report_pa, raw, sizeof(raw));
	}
	if (fence_ok(d)) {
		put_le64(raw, d->fence_value);
		(void)dev->ops.mem_write(dev->opaque, d->fence_pa, raw, 8);
	}
}

static void on_signal(void *opaque, uint64_t value)
{
	struct dev_job *j = opaque;
	struct npusim_dev *dev = j->dev;

	pthread_mutex_lock(&dev->lock);
	if (j->epoch == dev->epoch) {
		dev->irq_status |= NPU_IRQ_SIGNAL;
		dev->signal_job = j->index;
		dev->signal_value = value;
	}
	pthread_mutex_unlock(&dev->lock);
	irq_deliver(dev);
}

/*
 * SRAM belongs to one context at a time: a job of another context (or
 * the first job after a reset, or one asking for it) starts from zeroed
 * SRAM, so no context can read what another left there.
 */
static uint64_t sram_handover(struct npusim_dev *dev, const struct dev_job *j,
			      const struct npu_job_desc *d)
{
	int clear;

	pthread_mutex_lock(&dev->lock);
	clear = (d->flags & NPU_JOB_F_SRAM_CLEAR) || !dev->sram_owner_valid ||
		dev->sram_owner != d->context_id || j->epoch != dev->epoch;
	if (j->epoch == dev->epoch) {
		dev->sram_owner = d->context_id;
		dev->sram_owner_valid = 1;
	}
	pthread_mutex_unlock(&dev->lock);
	return clear ? npusim_core_sram_clear(dev->core) : 0;
}

static int run_core(struct npusim_dev *dev, struct dev_job *j, const struct npu_job_desc *d,
		    struct npu_job_report *rep)
{
	uint32_t budget = d->watchdog_cycles ? d->watchdog_cycles : j->watchdog;
	uint64_t setup = sram_handover(dev, j, d);
	struct npusim_job job = {
		.mem = &dev->mmu.vmem,
		.cmd_va = d->cmd_va,
		.cmd_size = d->cmd_size,
		.watchdog_cycles = budget ? budget : NPU_WATCHDOG_DEFAULT,
		.on_signal = on_signal,
		.signal_opaque = j,
		.abort = &dev->abort,
		.progress = &dev->progress,
	};
	int f;

	/* Flushes the TLB: page-table changes take effect at the next job. */
	npusim_mmu_init(&dev->mmu, &dev->ops, dev->opaque, d->pt_base);
	f = npusim_core_run(dev->core, &job, rep);
	rep->setup_cycles = setup;
	return f;
}

/* Under lock: job done, update HEAD, counters, fault registers and IRQ. */
static void complete_locked(struct npusim_dev *dev, const struct dev_job *j,
			    const struct npu_job_desc *d, const struct npu_job_report *rep)
{
	dev->head++;
	dev->jobs_done++;
	if (!rep->fault) {
		dev->irq_status |= NPU_IRQ_JOB_DONE;
		return;
	}
	dev->irq_status |= NPU_IRQ_JOB_FAULT;
	dev->fault.code = rep->fault;
	dev->fault.context = d->context_id;
	dev->fault.addr = rep->fault_addr;
	dev->fault.cmd_offset = rep->fault_cmd_offset;
	dev->fault.job = j->index;
	dev->fault.info = rep->fault_info;
}

static const char *const ring_error_names[] = {
	[NPU_RING_ERR_NONE] = "none",
	[NPU_RING_ERR_BASE_ALIGN] = "RING_BASE not 4 KiB aligned",
	[NPU_RING_ERR_BASE_RANGE] = "ring beyond the 40-bit bus address space",
	[NPU_RING_ERR_SIZE] = "RING_SIZE not a power of two in 1..4096",
	[NPU_RING_ERR_TAIL] = "more jobs pending than RING_SIZE",
	[NPU_RING_ERR_FETCH] = "descriptor read failed",
};

/* Reports what the registers now say about a ring error or a faulted job. */
static void log_guest_error(struct npusim_dev *dev, const struct dev_job *j,
			    const struct npu_job_desc *d, const struct npu_job_report *rep,
			    uint32_t ring_error)
{
	char msg[192];

	if (!dev->ops.guest_error)
		return;
	if (ring_error)
		snprintf(msg, sizeof(msg), "npu: ring error at job %u: %s (address 0x%llx); halted",
			 j->index, ring_error_names[ring_error],
			 (unsigned long long)(ring_error == NPU_RING_ERR_FETCH ? j->desc_pa :
					      (uint64_t)dev->ring_base_hi << 32 |
					      dev->ring_base_lo));
	else
		snprintf(msg, sizeof(msg),
			 "npu: job %u (context %u) fault %s at command offset %u, address 0x%llx",
			 j->index, d->context_id, npusim_fault_name(rep->fault),
			 rep->fault_cmd_offset, (unsigned long long)rep->fault_addr);
	dev->ops.guest_error(dev->opaque, msg);
}

/* Under lock: the job stopped executing; 1 if a reset was waiting for it. */
static int job_stopped_locked(struct npusim_dev *dev)
{
	int was_resetting = dev->resetting;

	dev->busy = 0;
	dev->resetting = 0;
	return was_resetting;
}

/* Runs the job at j->index (lock not held). Returns 1 if it completed. */
static int process_one(struct npusim_dev *dev, struct dev_job *j)
{
	uint8_t raw[sizeof(struct npu_job_desc)];
	struct npu_job_desc d;
	struct npu_job_report rep;
	int stale, done = 0, notify;

	if (dev->ops.mem_read(dev->opaque, j->desc_pa, raw, sizeof(raw))) {
		pthread_mutex_lock(&dev->lock);
		stale = j->epoch != dev->epoch;
		if (!stale)
			ring_error_locked(dev, NPU_RING_ERR_FETCH, j->desc_pa);
		notify = job_stopped_locked(dev);
		pthread_mutex_unlock(&dev->lock);
		if (!stale)
			log_guest_error(dev, j, NULL, NULL, NPU_RING_ERR_FETCH);
		if (notify)
			reset_done(dev);
		return 0;
	}
	desc_decode(raw, &d);
	if (desc_valid(&d)) {
		run_core(dev, j, &d, &rep);
	} else {
		memset(&rep, 0, sizeof(rep));
		rep.fault = NPU_FAULT_BAD_DESCRIPTOR;
		rep.fault_addr = j->desc_pa;
	}

	/*
	 * A job still current here completes: its report and fence are
	 * written even if a reset arrives meanwhile (RESETTING holds until
	 * they are). An ABORTED job of the current epoch was stopped by
	 * ABORT_JOB and completes like any faulted job.
	 */
	pthread_mutex_lock(&dev->lock);
	stale = j->epoch != dev->epoch;
	pthread_mutex_unlock(&dev->lock);
	if (!stale)
		write_results(dev, &d, &rep);

	pthread_mutex_lock(&dev->lock);
	if (!stale && j->epoch == dev->epoch) {
		complete_locked(dev, j, &d, &rep);
		done = 1;
	}
	notify = job_stopped_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	if (done && rep.fault)
		log_guest_error(dev, j, &d, &rep, 0);
	if (notify)
		reset_done(dev);
	return done;
}

/* Under lock: starts the next job if one is pending (1), else 0. */
static int next_job_locked(struct npusim_dev *dev, struct dev_job *j)
{
	uint32_t cause;

	if (!pending_locked(dev))
		return 0;
	cause = ring_check_locked(dev);
	if (cause) {
		ring_error_locked(dev, cause, ring_base_locked(dev));
		return 0;
	}
	j->dev = dev;
	j->epoch = dev->epoch;
	j->index = dev->head;
	j->desc_pa = ring_base_locked(dev) +
		     (uint64_t)(dev->head & (dev->ring_size - 1)) * sizeof(struct npu_job_desc);
	j->watchdog = dev->watchdog;
	dev->busy = 1;
	dev->running_job = dev->head;
	__atomic_store_n(&dev->abort, 0, __ATOMIC_SEQ_CST);
	return 1;
}

int npusim_dev_process(struct npusim_dev *dev)
{
	struct dev_job j;
	uint32_t ring_error;
	int done = 0, halted;

	if (!dev)
		return 0;
	pthread_mutex_lock(&dev->lock);
	if (dev->processing) {
		pthread_mutex_unlock(&dev->lock);
		return 0;
	}
	dev->processing = 1;
	/* The emptiness check and clearing processing are one critical section. */
	while (next_job_locked(dev, &j)) {
		pthread_mutex_unlock(&dev->lock);
		done += process_one(dev, &j);
		irq_deliver(dev);
		pthread_mutex_lock(&dev->lock);
	}
	dev->processing = 0;
	halted = dev->halted && dev->ring_error != NPU_RING_ERR_FETCH &&
		 dev->ring_error_logged != dev->epoch + 1;
	if (halted)
		dev->ring_error_logged = dev->epoch + 1;
	j.index = dev->head;
	ring_error = dev->ring_error;
	pthread_mutex_unlock(&dev->lock);
	if (halted)
		log_guest_error(dev, &j, NULL, NULL, ring_error);
	irq_deliver(dev);
	return done;
}

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

struct npusim_dev *npusim_dev_create(const struct npusim_config *cfg,
				     const struct npusim_host_ops *ops, void *opaque)
{
	struct npusim_config def;
	struct npusim_dev *dev;

	if (!ops || !ops->mem_read || !ops->mem_write) {
		errno = EINVAL;
		return NULL;
	}
	if (!cfg) {
		npusim_config_default(&def);
		cfg = &def;
	}
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->core = npusim_core_create(cfg);
	if (!dev->core || pthread_mutex_init(&dev->lock, NULL)) {
		npusim_core_destroy(dev->core);
		free(dev);
		return NULL;
	}
	dev->ops = *ops;
	dev->opaque = opaque;
	return dev;
}

/*
 * The host must have stopped calling npusim_dev_process() and register
 * accessors (and seen any running process call return) before this.
 */
void npusim_dev_destroy(struct npusim_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_destroy(&dev->lock);
	npusim_core_destroy(dev->core);
	free(dev);
}

struct npusim_core *npusim_dev_core(struct npusim_dev *dev)
{
	return dev ? dev->core : NULL;
}
