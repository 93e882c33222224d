/*
 * The npu-v1 device model in QEMU, independent of the bus (npu-core.h).
 *
 * This is glue only: the registers, the job ring, the device MMU, the
 * command-stream engines, the watchdog and reset are libnpusim's device
 * layer (npusim_dev_*), the same code libnpu's in-process backend and the
 * unit tests run, compiled into QEMU from the same sources.
 *
 * Threading (npusim.h has the library's side of the contract):
 *  - MMIO accesses run with the global lock (BQL) held. They only touch
 *    libnpusim's register state; a write that makes work pending calls
 *    npu_kick(), which wakes the worker thread and returns.
 *  - The worker thread runs npusim_dev_process() without the BQL: DMA and
 *    page-table walks go through the bus's DMA functions (RCU-safe in
 *    7.2), the computation runs on the worker.
 *  - Interrupts are raised with the BQL held, taken by the worker when it
 *    does not hold it. libnpusim never calls set_irq with its own lock
 *    held, so the lock order is always BQL -> libnpusim lock.
 *  - Device and system reset call npusim_dev_reset(), which aborts a
 *    running job at its next command boundary and does not wait for it
 *    (the worker may be waiting for the BQL the reset path holds).
 *
 * Nothing a guest does aborts QEMU: bad register accesses, bad DMA
 * addresses and faulting or looping command streams are logged with
 * LOG_GUEST_ERROR (-d guest_errors) and reported through the device's
 * fault and ring-error registers as the spec says.
 *
 * SPDX-License-Identifier: MIT
 */
#include "qemu/osdep.h"
#include "qemu/log.h"
#include "qemu/main-loop.h"
#include "qemu/rcu.h"
#include "qapi/error.h"

#include "npu-core.h"

/* ------------------------------------------------------------------ */
/* libnpusim host callbacks                                            */
/* ------------------------------------------------------------------ */

static int npu_mem_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
    NpuCore *c = opaque;

    return c->bus->dma_read(c->bus_opaque, pa, dst, len);
}

static int npu_mem_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
    NpuCore *c = opaque;

    return c->bus->dma_write(c->bus_opaque, pa, src, len);
}

static void npu_set_irq(void *opaque, int level)
{
    NpuCore *c = opaque;

    if (qemu_mutex_iothread_locked()) {
        c->bus->set_irq_locked(c->bus_opaque, level);
        return;
    }
    qemu_mutex_lock_iothread();
    c->bus->set_irq_locked(c->bus_opaque, level);
    qemu_mutex_unlock_iothread();
}

static void npu_kick(void *opaque)
{
    NpuCore *c = opaque;

    qemu_mutex_lock(&c->work_lock);
    c->work_pending = true;
    qemu_cond_signal(&c->work_cond);
    qemu_mutex_unlock(&c->work_lock);
}

static void npu_guest_error(void *opaque, const char *msg)
{
    qemu_log_mask(LOG_GUEST_ERROR, "%s\n", msg);
}

static const struct npusim_host_ops npu_host_ops = {
    .mem_read = npu_mem_read,
    .mem_write = npu_mem_write,
    .set_irq = npu_set_irq,
    .kick = npu_kick,
    .guest_error = npu_guest_error,
};

static void *npu_worker(void *opaque)
{
    NpuCore *c = opaque;

    rcu_register_thread();
    qemu_mutex_lock(&c->work_lock);
    for (;;) {
        while (!c->work_pending && !c->stopping) {
            qemu_cond_wait(&c->work_cond, &c->work_lock);
        }
        if (c->stopping) {
            break;
        }
        c->work_pending = false;
        qemu_mutex_unlock(&c->work_lock);
        npusim_dev_process(c->dev);
        qemu_mutex_lock(&c->work_lock);
    }
    qemu_mutex_unlock(&c->work_lock);
    rcu_unregister_thread();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Registers                                                           */
/* ------------------------------------------------------------------ */

/* The spec allows aligned 32-bit accesses only; others are ignored. */
static bool npu_access_ok(hwaddr addr, unsigned size, const char *what)
{
    if (size == 4 && !(addr & 3)) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR,
                  "npu: %u-byte %s at register offset 0x%" HWADDR_PRIx
                  " ignored (32-bit aligned accesses only)\n", size, what, addr);
    return false;
}

static uint64_t npu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    NpuCore *c = opaque;

    if (!npu_access_ok(addr, size, "read")) {
        return 0;
    }
    return npusim_dev_reg_read(c->dev, addr);
}

static void npu_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    NpuCore *c = opaque;

    if (!npu_access_ok(addr, size, "write")) {
        return;
    }
    npusim_dev_reg_write(c->dev, addr, val);
}

static const MemoryRegionOps npu_mmio_ops = {
    .read = npu_mmio_read,
    .write = npu_mmio_write,
    .endianness = DEVICE_LITTLE_ENDIAN,
    .valid = {
        .min_access_size = 1,
        .max_access_size = 8,
    },
    .impl = {
        .min_access_size = 1,
        .max_access_size = 4,
    },
};

/* ------------------------------------------------------------------ */
/* Lifetime                                                            */
/* ------------------------------------------------------------------ */

bool npu_core_realize(NpuCore *c, Object *owner, const NpuBusOps *bus, void *opaque,
                      Error **errp)
{
    struct npusim_config cfg;
    char msg[128];

    npusim_config_default(&cfg);
    cfg.sram_bytes = c->sram_size;
    cfg.mac_oc = c->mac_oc;
    cfg.mac_ic = c->mac_ic;
    cfg.dma_bytes_per_cycle = c->dma_bpc;
    cfg.vec_lanes = c->vec_lanes;
    cfg.clock_khz = c->clock_khz;
    cfg.hazard_check = c->hazard_check;
    if (npusim_config_check(&cfg, msg, sizeof(msg))) {
        error_setg(errp, "npu: %s", msg);
        return false;
    }
    c->bus = bus;
    c->bus_opaque = opaque;
    c->dev = npusim_dev_create(&cfg, &npu_host_ops, c);
    if (!c->dev) {
        error_setg(errp, "npu: cannot create the device model");
        return false;
    }
    memory_region_init_io(&c->mmio, owner, &npu_mmio_ops, c, "npu-mmio", NPU_MMIO_SIZE);
    qemu_mutex_init(&c->work_lock);
    qemu_cond_init(&c->work_cond);
    c->work_pending = false;
    c->stopping = false;
    qemu_thread_create(&c->worker, "npu-worker", npu_worker, c, QEMU_THREAD_JOINABLE);
    return true;
}

void npu_core_unrealize(NpuCore *c)
{
    /* Abort a running job, then stop the worker. */
    npusim_dev_reset(c->dev);
    qemu_mutex_lock(&c->work_lock);
    c->stopping = true;
    qemu_cond_signal(&c->work_cond);
    qemu_mutex_unlock(&c->work_lock);
    /* The worker may be waiting for the BQL to raise an interrupt. */
    qemu_mutex_unlock_iothread();
    qemu_thread_join(&c->worker);
    qemu_mutex_lock_iothread();

    qemu_cond_destroy(&c->work_cond);
    qemu_mutex_destroy(&c->work_lock);
    npusim_dev_destroy(c->dev);
    c->dev = NULL;
}

void npu_core_reset(NpuCore *c)
{
    npusim_dev_reset(c->dev);
}
