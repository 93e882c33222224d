/*
 * QEMU PCI device "npu": the npu-v1 NPU on PCI (firmware-sim/include/npu_hw.h,
 * Documentation/npu-architecture.rst, Documentation/qemu-device.rst):
 * registers in BAR0, DMA through the PCI device (bus mastering), MSI with
 * INTx as the fallback. The model itself is npu-core.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "qemu/osdep.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/pci/pci.h"
#include "hw/pci/msi.h"
#include "hw/qdev-properties.h"
#include "qom/object.h"

#include "npu-core.h"

#define TYPE_NPU_PCI "npu"
OBJECT_DECLARE_SIMPLE_TYPE(NpuPciState, NPU_PCI)

struct NpuPciState {
    PCIDevice pdev;
    NpuCore core;
    bool msi;
};

static int npu_pci_dma_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
    NpuPciState *s = opaque;

    return pci_dma_read(&s->pdev, pa, dst, len) == MEMTX_OK ? 0 : -1;
}

static int npu_pci_dma_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
    NpuPciState *s = opaque;

    return pci_dma_write(&s->pdev, pa, src, len) == MEMTX_OK ? 0 : -1;
}

static void npu_pci_set_irq_locked(void *opaque, int level)
{
    NpuPciState *s = opaque;

    if (msi_enabled(&s->pdev)) {
        /* One message per rising edge and per re-send (npusim.h). */
        if (level) {
            msi_notify(&s->pdev, 0);
        }
        return;
    }
    pci_set_irq(&s->pdev, level);
}

static const NpuBusOps npu_pci_bus_ops = {
    .dma_read = npu_pci_dma_read,
    .dma_write = npu_pci_dma_write,
    .set_irq_locked = npu_pci_set_irq_locked,
};

static void npu_pci_realize(PCIDevice *pdev, Error **errp)
{
    NpuPciState *s = NPU_PCI(pdev);
    Error *err = NULL;
    int ret;

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
    if (!npu_core_realize(&s->core, OBJECT(s), &npu_pci_bus_ops, s, errp)) {
        msi_uninit(pdev);
        return;
    }
    pci_register_bar(pdev, 0, PCI_BASE_ADDRESS_SPACE_MEMORY, &s->core.mmio);
}

static void npu_pci_exit(PCIDevice *pdev)
{
    NpuPciState *s = NPU_PCI(pdev);

    npu_core_unrealize(&s->core);
    msi_uninit(pdev);
}

/* Device reset (system reset, bus reset): as CTRL.RESET; never waits. */
static void npu_pci_reset(DeviceState *d)
{
    npu_core_reset(&NPU_PCI(d)->core);
}

static Property npu_pci_properties[] = {
    DEFINE_NPU_CORE_PROPERTIES(NpuPciState, core),
    DEFINE_PROP_BOOL("msi", NpuPciState, msi, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void npu_pci_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);
    PCIDeviceClass *k = PCI_DEVICE_CLASS(klass);

    k->realize = npu_pci_realize;
    k->exit = npu_pci_exit;
    k->vendor_id = NPU_PCI_VENDOR_ID;
    k->device_id = NPU_PCI_DEVICE_ID;
    k->revision = NPU_HW_VERSION_MINOR;
    k->class_id = NPU_PCI_CLASS;
    dc->desc = "npu-v1 int8 neural processing unit";
    dc->reset = npu_pci_reset;
    device_class_set_props(dc, npu_pci_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static void npu_pci_register_types(void)
{
    static InterfaceInfo interfaces[] = {
        { INTERFACE_CONVENTIONAL_PCI_DEVICE },
        { },
    };
    static const TypeInfo npu_pci_info = {
        .name = TYPE_NPU_PCI,
        .parent = TYPE_PCI_DEVICE,
        .instance_size = sizeof(NpuPciState),
        .class_init = npu_pci_class_init,
        .interfaces = interfaces,
    };

    type_register_static(&npu_pci_info);
}

type_init(npu_pci_register_types)
