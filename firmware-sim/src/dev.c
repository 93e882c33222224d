// SPDX-License-Identifier: MIT
/*
 * libnpusim device: the host interface of npu_hw.h (registers, job ring,
 * device MMU, interrupts, watchdog, reset) on top of a core.
 *
 * State machine
 *   RESET      power-on, NPU_CTRL_RESET or npusim_dev_reset(): every RW/RO
 *              register 0 (ENABLE, HALTED, ring, IRQ status and mask,
 *              watchdog, JOBS_DONE, fault registers), IRQ line low.
 *   PENDING    ENABLE && !HALTED && HEAD != TAIL. Entered by a DOORBELL or
 *              CTRL write; the host is kicked (ops->kick) or, without a kick
 *              callback, the register write processes synchronously.
 *   RUNNING    npusim_dev_process(): STATUS.BUSY. Checks the ring setup
 *              (misconfigured -> HALTED), fetches ring[HEAD % SIZE]
 *              (bus error -> HALTED), validates it (invalid -> the job ends
 *              with BAD_DESCRIPTOR), runs it on the core through the MMU of
 *              the descriptor's page tables (TLB flushed at job start), then
 *              writes the report, then the fence, then HEAD++, JOBS_DONE++,
 *              IRQ JOB_DONE or JOB_FAULT (+ fault registers). Repeats while
 *              PENDING.
 *   HALTED     ring error (NPU_IRQ_RING_ERROR): nothing runs until reset.
 *   IDLE       STATUS.IDLE: no job running and none will start by itself
 *              (ring empty, disabled or halted).
 * A reset while RUNNING sets the job's abort flag: the core stops at the
 * next command boundary, no report or fence is written, HEAD is not
 * advanced, and the running npusim_dev_process() returns. Reset does not
 * wait for that (it may be called from a callback of the running job).
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

struct npusim_dev {
	struct npusim_core *core;
	struct npusim_host_ops ops;
	void *opaque;
	pthread_mutex_t lock;
	struct npusim_mmu mmu;		/* only touched by the processing thread */
	int abort;			/* polled by the core (atomically); set by reset */

	/* Protected by lock. */
	uint32_t ctrl;			/* NPU_CTRL_ENABLE */
	int halted;
	uint32_t irq_status, irq_mask;
	uint32_t ring_base_lo, ring_base_hi, ring_size;
	uint32_t head, tail;
	uint32_t watchdog, jobs_done, scratch;
	uint32_t fault_code, fault_context, fault_cmd_offset, fault_job;
	uint64_t fault_addr;
	int busy;			/* a job is executing */
	int processing;			/* a thread is inside npusim_dev_process() */
	int irq_level;			/* level last passed to set_irq */
	int irq_delivering;		/* a thread is delivering level changes */
	uint64_t epoch;			/* incremented by every reset */
};

/* One job being processed (snapshot taken under the lock at its start). */
struct dev_job {
	struct npusim_dev *dev;
	uint64_t epoch;
	uint32_t index;			/* free-running ring index (HEAD) */
	uint64_t desc_pa;
	uint32_t watchdog;
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

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

static int irq_want_locked(const struct npusim_dev *dev)
{
	return (dev->irq_status & dev->irq_mask) != 0;
}

/* Called without the lock after any change of IRQ_STATUS or IRQ_MASK. */
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
	while ((level = irq_want_locked(dev)) != dev->irq_level) {
		dev->irq_level = level;
		pthread_mutex_unlock(&dev->lock);
		if (dev->ops.set_irq)
			dev->ops.set_irq(dev->opaque, level);
		pthread_mutex_lock(&dev->lock);
	}
	dev->irq_delivering = 0;
	pthread_mutex_unlock(&dev->lock);
}

/* ------------------------------------------------------------------ */
/* Register state                                                      */
/* ------------------------------------------------------------------ */

static void reset_locked(struct npusim_dev *dev)
{
	if (dev->busy)
		__atomic_store_n(&dev->abort, 1, __ATOMIC_SEQ_CST);
	dev->epoch++;
	dev->ctrl = 0;
	dev->halted = 0;
	dev->irq_status = 0;
	dev->irq_mask = 0;
	dev->ring_base_lo = dev->ring_base_hi = dev->ring_size = 0;
	dev->head = dev->tail = 0;
	dev->watchdog = dev->jobs_done = dev->scratch = 0;
	dev->fault_code = dev->fault_context = dev->fault_cmd_offset = dev->fault_job = 0;
	dev->fault_addr = 0;
}

static int pending_locked(const struct npusim_dev *dev)
{
	return (dev->ctrl & NPU_CTRL_ENABLE) && !dev->halted && dev->head != dev->tail;
}

static uint64_t ring_base_locked(const struct npusim_dev *dev)
{
	return (uint64_t)dev->ring_base_hi << 32 | dev->ring_base_lo;
}

static int ring_ok_locked(const struct npusim_dev *dev)
{
	uint32_t size = dev->ring_size;

	if (ring_base_locked(dev) & (NPU_PAGE_SIZE - 1))
		return 0;
	if (!size || size > NPU_RING_MAX_ENTRIES || (size & (size - 1)))
		return 0;
	return dev->tail - dev->head <= size;
}

static void ring_error_locked(struct npusim_dev *dev)
{
	dev->halted = 1;
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
	return s;
}

static uint32_t reg_read_locked(const struct npusim_dev *dev, uint32_t offset)
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
	case NPU_REG_FAULT_CODE: return dev->fault_code;
	case NPU_REG_FAULT_CONTEXT: return dev->fault_context;
	case NPU_REG_FAULT_ADDR_LO: return (uint32_t)dev->fault_addr;
	case NPU_REG_FAULT_ADDR_HI: return (uint32_t)(dev->fault_addr >> 32);
	case NPU_REG_FAULT_CMD_OFFSET: return dev->fault_cmd_offset;
	case NPU_REG_FAULT_JOB: return dev->fault_job;
	case NPU_REG_SCRATCH: return dev->scratch;
	default: return reg_read_const(dev, offset);
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

/* Applies a write; RO and unknown offsets are ignored. */
static void reg_write_locked(struct npusim_dev *dev, uint32_t offset, uint32_t value)
{
	switch (offset) {
	case NPU_REG_CTRL:
		/* RESET wins over ENABLE in the same write. */
		if (value & NPU_CTRL_RESET)
			reset_locked(dev);
		else
			dev->ctrl = value & NPU_CTRL_ENABLE;
		break;
	case NPU_REG_IRQ_MASK: dev->irq_mask = value & NPU_IRQ_ALL; break;
	case NPU_REG_IRQ_CLEAR: dev->irq_status &= ~value; break;
	case NPU_REG_RING_BASE_LO: dev->ring_base_lo = value; break;
	case NPU_REG_RING_BASE_HI: dev->ring_base_hi = value; break;
	case NPU_REG_RING_SIZE: dev->ring_size = value; break;
	case NPU_REG_DOORBELL: dev->tail = value; break;
	case NPU_REG_WATCHDOG_CYCLES: dev->watchdog = value; break;
	case NPU_REG_SCRATCH: dev->scratch = value; break;
	default: break;
	}
}

void npusim_dev_reg_write(struct npusim_dev *dev, uint32_t offset, uint32_t value)
{
	int start;

	if (!dev || (offset & 3) || offset >= NPU_MMIO_SIZE)
		return;
	pthread_mutex_lock(&dev->lock);
	reg_write_locked(dev, offset, value);
	start = (offset == NPU_REG_DOORBELL || offset == NPU_REG_CTRL) && pending_locked(dev);
	pthread_mutex_unlock(&dev->lock);

	irq_deliver(dev);
	if (!start)
		return;
	if (dev->ops.kick)
		dev->ops.kick(dev->opaque);
	else
		npusim_dev_process(dev);
}

void npusim_dev_reset(struct npusim_dev *dev)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	reset_locked(dev);
	pthread_mutex_unlock(&dev->lock);
	irq_deliver(dev);
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
	d->reserved0 = get_le32(raw + offsetof(struct npu_job_desc, reserved0));
	d->fence_pa = get_le64(raw + offsetof(struct npu_job_desc, fence_pa));
	d->fence_value = get_le64(raw + offsetof(struct npu_job_desc, fence_value));
	d->report_pa = get_le64(raw + offsetof(struct npu_job_desc, report_pa));
	d->reserved1 = get_le64(raw + offsetof(struct npu_job_desc, reserved1));
}

static int desc_valid(const struct npu_job_desc *d)
{
	if (d->flags || d->reserved0 || d->reserved1)
		return 0;
	if ((d->pt_base & (NPU_PAGE_SIZE - 1)) || (d->cmd_va & 3))
		return 0;
	if ((d->cmd_size & 3) || d->cmd_size < 4 || d->cmd_size > NPU_CMD_MAX_BYTES)
		return 0;
	return !(d->fence_pa & 7) && !(d->report_pa & 7);
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
}

/*
 * Report then fence. A bus error here has nowhere to be reported: the job
 * still completes (HEAD, JOBS_DONE and the IRQ tell the host).
 */
static void write_results(struct npusim_dev *dev, const struct npu_job_desc *d,
			  const struct npu_job_report *rep)
{
	uint8_t raw[sizeof(struct npu_job_report)];

	if (d->report_pa && !(d->report_pa & 7)) {
		report_encode(rep, raw);
		(void)dev->ops.mem_write(dev->opaque, d->report_pa, raw, sizeof(raw));
	}
	if (d->fence_pa && !(d->fence_pa & 7)) {
		put_le64(raw, d->fence_value);
		(void)dev->ops.mem_write(dev->opaque, d->fence_pa, raw, 8);
	}
}

static void on_signal(void *opaque, uint64_t value)
{
	struct dev_job *j = opaque;
	struct npusim_dev *dev = j->dev;

	(void)value;
	pthread_mutex_lock(&dev->lock);
	if (j->epoch == dev->epoch)
		dev->irq_status |= NPU_IRQ_SIGNAL;
	pthread_mutex_unlock(&dev->lock);
	irq_deliver(dev);
}

static int run_core(struct npusim_dev *dev, struct dev_job *j, const struct npu_job_desc *d,
		    struct npu_job_report *rep)
{
	struct npusim_job job = {
		.mem = &dev->mmu.vmem,
		.cmd_va = d->cmd_va,
		.cmd_size = d->cmd_size,
		.watchdog_cycles = j->watchdog ? j->watchdog : NPU_WATCHDOG_DEFAULT,
		.on_signal = on_signal,
		.signal_opaque = j,
		.abort = &dev->abort,
	};

	/* Flushes the TLB: page-table changes take effect at the next job. */
	npusim_mmu_init(&dev->mmu, &dev->ops, dev->opaque, d->pt_base);
	return npusim_core_run(dev->core, &job, rep);
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
	dev->fault_code = rep->fault;
	dev->fault_context = d->context_id;
	dev->fault_addr = rep->fault_addr;
	dev->fault_cmd_offset = rep->fault_cmd_offset;
	dev->fault_job = j->index;
}

/* Runs the job at j->index (lock not held). Returns 1 if it completed. */
static int process_one(struct npusim_dev *dev, struct dev_job *j)
{
	uint8_t raw[sizeof(struct npu_job_desc)];
	struct npu_job_desc d;
	struct npu_job_report rep;
	int stale, done = 0;

	if (dev->ops.mem_read(dev->opaque, j->desc_pa, raw, sizeof(raw))) {
		pthread_mutex_lock(&dev->lock);
		if (j->epoch == dev->epoch)
			ring_error_locked(dev);
		dev->busy = 0;
		pthread_mutex_unlock(&dev->lock);
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

	pthread_mutex_lock(&dev->lock);
	stale = j->epoch != dev->epoch || rep.fault == NPU_FAULT_ABORTED;
	pthread_mutex_unlock(&dev->lock);
	if (!stale)
		write_results(dev, &d, &rep);

	pthread_mutex_lock(&dev->lock);
	if (!stale && j->epoch == dev->epoch) {
		complete_locked(dev, j, &d, &rep);
		done = 1;
	}
	dev->busy = 0;
	pthread_mutex_unlock(&dev->lock);
	return done;
}

/* Under lock: starts the next job if one is pending (1), else 0. */
static int next_job_locked(struct npusim_dev *dev, struct dev_job *j)
{
	if (!pending_locked(dev))
		return 0;
	if (!ring_ok_locked(dev)) {
		ring_error_locked(dev);
		return 0;
	}
	j->dev = dev;
	j->epoch = dev->epoch;
	j->index = dev->head;
	j->desc_pa = ring_base_locked(dev) +
		     (uint64_t)(dev->head & (dev->ring_size - 1)) * sizeof(struct npu_job_desc);
	j->watchdog = dev->watchdog;
	dev->busy = 1;
	__atomic_store_n(&dev->abort, 0, __ATOMIC_SEQ_CST);
	return 1;
}

int npusim_dev_process(struct npusim_dev *dev)
{
	struct dev_job j;
	int done = 0;

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
	pthread_mutex_unlock(&dev->lock);
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
