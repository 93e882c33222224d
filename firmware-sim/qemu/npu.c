/*
 * QEMU PCI device "npu": the npu-v1 NPU (firmware-sim/include/npu_hw.h,
 * Documentation/npu-architecture.rst, Documentation/qemu-device.rst).
 *
 * This file is glue only: the registers, the job ring, the device MMU,
 * the command-stream engines, the watchdog and reset are libnpusim's
 * device layer (npusim_dev_*), the same code libnpu's in-process backend
 * and the unit tests run, compiled into QEMU from the same sources.
 *
 * Threading (npusim.h has the library's side of the contract):
 *  - MMIO accesses run with the global lock (BQL) held. They only touch
 *    libnpusim's register state; a write that makes work pending calls
 *    npu_kick(), which wakes the worker thread and returns.
 *  - The worker thread runs npusim_dev_process() without the BQL: DMA and
 *    page-table walks go through pci_dma_read/pci_dma_write (RCU-safe in
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
#include "qemu/module.h"
#include "qemu/rcu.h"
#include "qemu/thread.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/qdev-properties.h"
#include "qom/object.h"

#include "npusim.h"

#define TYPE_NPU_PCI "npu"
OBJECT_DECLARE_SIMPLE_TYPE(NpuPciState, NPU_PCI)

struct NpuPciState {
    PCIDevice pdev;
    MemoryRegion mmio;
    struct npusim_dev *dev;

    /* Worker: woken by kicks, stopped at unrealize. */
    QemuThread worker;
    QemuMutex work_lock;
    QemuCond work_cond;
    bool work_pending;          /* protected by work_lock */
    bool stopping;              /* protected by work_lock */

    /* Properties (npu-v1 defaults). */
    uint32_t sram_size;
    uint32_t mac_oc, mac_ic;
    uint32_t dma_bpc;
    uint32_t vec_lanes;
    uint32_t clock_khz;
    bool hazard_check;
    bool msi;
};

/* ------------------------------------------------------------------ */
/* libnpusim host callbacks                                            */
/* ------------------------------------------------------------------ */

static int npu_mem_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
    NpuPciState *s = opaque;

    return pci_dma_read(&s->pdev, pa, dst, len) == MEMTX_OK ? 0 : -1;
}

static int npu_mem_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
    NpuPciState *s = opaque;

    return pci_dma_write(&s->pdev, pa, src, len) == MEMTX_OK ? 0 : -1;
}

/* Called with the BQL held. */
static void npu_set_irq_locked(NpuPciState *s, int level)
{
    if (msi_enabled(&s->pdev)) {
        /* One message per rising edge and per re-send (npusim.h). */
        if (level) {
            msi_notify(&s->pdev, 0);
        }
        return;
    }
    pci_set_irq(&s->pdev, level);
}

static void npu_set_irq(void *opaque, int level)
{
    NpuPciState *s = opaque;

    if (qemu_mutex_iothread_locked()) {
        npu_set_irq_locked(s, level);
        return;
    }
    qemu_mutex_lock_iothread();
    npu_set_irq_locked(s, level);
    qemu_mutex_unlock_iothread();
}

static void npu_kick(void *opaque)
{
    NpuPciState *s = opaque;

    qemu_mutex_lock(&s->work_lock);
    s->work_pending = true;
    qemu_cond_signal(&s->work_cond);
    qemu_mutex_unlock(&s->work_lock);
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
    NpuPciState *s = opaque;

    rcu_register_thread();
    qemu_mutex_lock(&s->work_lock);
    for (;;) {
        while (!s->work_pending && !s->stopping) {
            qemu_cond_wait(&s->work_cond, &s->work_lock);
        }
        if (s->stopping) {
            break;
        }
        s->work_pending = false;
        qemu_mutex_unlock(&s->work_lock);
        npusim_dev_process(s->dev);
        qemu_mutex_lock(&s->work_lock);
    }
    qemu_mutex_unlock(&s->work_lock);
    rcu_unregister_thread();
    return NULL;
}

/* ------------------------------------------------------------------ */
/* BAR0                                                                */
/* ------------------------------------------------------------------ */

/* The spec allows aligned 32-bit accesses only; others are ignored. */
static bool npu_access_ok(hwaddr addr, unsigned size, const char *what)
{
    if (size == 4 && !(addr & 3)) {
        return true;
    }
    qemu_log_mask(LOG_GUEST_ERROR,
                  "npu: %u-byte %s at BAR0+0x%" HWADDR_PRIx
                  " ignored (32-bit aligned accesses only)\n", size, what, addr);
    return false;
}

static uint64_t npu_mmio_read(void *opaque, hwaddr addr, unsigned size)
{
    NpuPciState *s = opaque;

    if (!npu_access_ok(addr, size, "read")) {
        return 0;
    }
    return npusim_dev_reg_read(s->dev, addr);
}

static void npu_mmio_write(void *opaque, hwaddr addr, uint64_t val, unsigned size)
{
    NpuPciState *s = opaque;

    if (!npu_access_ok(addr, size, "write")) {
        return;
    }
    npusim_dev_reg_write(s->dev, addr, val);
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

static void npu_realize(PCIDevice *pdev, Error **errp)
{
    NpuPciState *s = NPU_PCI(pdev);
    struct npusim_config cfg;
    Error *err = NULL;
    char msg[128];
    int ret;

    npusim_config_default(&cfg);
    cfg.sram_bytes = s->sram_size;
    cfg.mac_oc = s->mac_oc;
    cfg.mac_ic = s->mac_ic;
    cfg.dma_bytes_per_cycle = s->dma_bpc;
    cfg.vec_lanes = s->vec_lanes;
    cfg.clock_khz = s->clock_khz;
    cfg.hazard_check = s->hazard_check;
    if (npusim_config_check(&cfg, msg, sizeof(msg))) {
        error_setg(errp, "npu: %s", msg);
        return;
    }

    pci_config_set_interrupt_pin(pdev->config, 1);
    if (s->msi) {
        /* Without MSI support in the machine, INTx alone. */
        ret = msi_init(pdev, 0, 1, true, false, &err);
        if (ret == -ENOTSUP) {
            error_free(err);
        } else if (ret) {
            error_propagate(errp, err);
            return;
        }
    }
    s->dev = npusim_dev_create(&cfg, &npu_host_ops, s);
    if (!s->dev) {
        error_setg(errp, "npu: cannot create the device model");
        msi_uninit(pdev);
        return;
    }
    memory_region_init_io(&s->mmio, OBJECT(s), &npu_mmio_ops, s, "npu-mmio",
                          NPU_MMIO_SIZE);
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->mmio);

    qemu_mutex_init(&s->work_lock);
    qemu_cond_init(&s->work_cond);
    s->work_pending = false;
    s->stopping = false;
    qemu_thread_create(&s->worker, "npu-worker", npu_worker, s,
                       QEMU_THREAD_JOINABLE);
}

static void npu_exit(PCIDevice *pdev)
{
    NpuPciState *s = NPU_PCI(pdev);

    /* Abort a running job, then stop the worker. */
    npusim_dev_reset(s->dev);
    qemu_mutex_lock(&s->work_lock);
    s->stopping = true;
    qemu_cond_signal(&s->work_cond);
    qemu_mutex_unlock(&s->work_lock);
    /* The worker may be waiting for the BQL to raise an interrupt. */
    qemu_mutex_unlock_iothread();
    qemu_thread_join(&s->worker);
    qemu_mutex_lock_iothread();

    qemu_cond_destroy(&s->work_cond);
    qemu_mutex_destroy(&s->work_lock);
    npusim_dev_destroy(s->dev);
    s->dev = NULL;
    msi_uninit(pdev);
}

/* Device reset (system reset, bus reset): as CTRL.RESET; never waits. */
static void npu_reset(DeviceState *d)
{
    NpuPciState *s = NPU_PCI(d);

    npusim_dev_reset(s->dev);
}

static Property npu_properties[] = {
    DEFINE_PROP_UINT32("sram-size", NpuPciState, sram_size, 1u << 20),
    DEFINE_PROP_UINT32("mac-oc", NpuPciState, mac_oc, 16),
    DEFINE_PROP_UINT32("mac-ic", NpuPciState, mac_ic, 32),
    DEFINE_PROP_UINT32("dma-bytes-per-cycle", NpuPciState, dma_bpc, 16),
    DEFINE_PROP_UINT32("vec-lanes", NpuPciState, vec_lanes, 16),
    DEFINE_PROP_UINT32("clock-khz", NpuPciState, clock_khz, 1000000),
    DEFINE_PROP_BOOL("hazard-check", NpuPciState, hazard_check, true),
    DEFINE_PROP_BOOL("msi", NpuPciState, msi, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void npu_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = npu_realize;
    k->exit = npu_exit;
    k->vendor_id = NPU_PCI_VENDOR_ID;
    k->device_id = NPU_PCI_DEVICE_ID;
    k->revision = NPU_HW_VERSION_MINOR;
    k->class_id = NPU_PCI_CLASS;
    dc->desc = "npu-v1 int8 neural processing unit";
    dc->reset = npu_reset;
    device_class_set_props(dc, npu_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void npu_register_types(void)
{
    static InterfaceInfo interfaces[] = {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    };
    static const TypeInfo npu_info = {
        .name = TYPE_NPU_PCI,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(NpuPciState),
        .class_init = npu_class_init,
        .interfaces = interfaces,
    };

    type_register_static(&npu_info);
}

type_init(npu_register_types)
