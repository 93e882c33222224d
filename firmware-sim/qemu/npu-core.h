/*
 * The npu-v1 device model in QEMU, independent of the bus: libnpusim's
 * device layer, its MMIO region and its worker thread. The PCI device
 * "npu" (npu.c) and the platform device "npu-sysbus" (npu-sysbus.c, for
 * devicetree machines such as the Arm virt board) embed an NpuCore and
 * give it their DMA and interrupt functions.
 *
 * SPDX-License-Identifier: MIT
 */
#ifndef HW_MISC_NPU_CORE_H
#define HW_MISC_NPU_CORE_H

#include "qemu/thread.h"
#include "exec/memory.h"
#include "hw/qdev-properties.h"

#include "npusim.h"

/* What the bus gives the core. */
typedef struct NpuBusOps {
    int (*dma_read)(void *opaque, uint64_t pa, void *dst, size_t len);
    int (*dma_write)(void *opaque, uint64_t pa, const void *src, size_t len);
    /* Called with the BQL held. */
    void (*set_irq_locked)(void *opaque, int level);
} NpuBusOps;

typedef struct NpuCore {
    struct npusim_dev *dev;
    MemoryRegion mmio;
    const NpuBusOps *bus;
    void *bus_opaque;

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
} NpuCore;

/* The core's properties, for a device state type with an NpuCore field. */
#define DEFINE_NPU_CORE_PROPERTIES(State, field)                                 \
    DEFINE_PROP_UINT32("sram-size", State, field.sram_size, 1u << 20),          \
    DEFINE_PROP_UINT32("mac-oc", State, field.mac_oc, 16),                      \
    DEFINE_PROP_UINT32("mac-ic", State, field.mac_ic, 32),                      \
    DEFINE_PROP_UINT32("dma-bytes-per-cycle", State, field.dma_bpc, 16),        \
    DEFINE_PROP_UINT32("vec-lanes", State, field.vec_lanes, 16),                \
    DEFINE_PROP_UINT32("clock-khz", State, field.clock_khz, 1000000),           \
    DEFINE_PROP_BOOL("hazard-check", State, field.hazard_check, true)

/*
 * Checks the properties and creates the model, the MMIO region (owned by
 * owner, NPU_MMIO_SIZE bytes) and the worker. false with errp set on a bad
 * configuration; nothing is left allocated then.
 */
bool npu_core_realize(NpuCore *c, Object *owner, const NpuBusOps *bus, void *opaque,
                      Error **errp);
/* Aborts a running job, stops the worker, frees the model. BQL held. */
void npu_core_unrealize(NpuCore *c);
/* Device or system reset: as CTRL.RESET, never waits. */
void npu_core_reset(NpuCore *c);

#endif /* HW_MISC_NPU_CORE_H */
