/*
 * QEMU platform device "npu-sysbus": the npu-v1 NPU as an SoC block, one
 * MMIO region (NPU_MMIO_SIZE) and one level-triggered interrupt line, DMA
 * to the system address space. On the Arm virt board it is a dynamic
 * sysbus device (-device npu-sysbus): the machine places it on its
 * platform bus and writes its devicetree node (compatible
 * "opennpu,npu-v1", reg, interrupts, dma-coherent unless the property
 * says otherwise; sysbus-fdt-npu.inc, which scripts/build-qemu.sh hooks
 * into the platform bus), so the driver's devicetree probe runs as on a
 * board. The model itself is npu-core.c.
 *
 * SPDX-License-Identifier: MIT
 */
#include "qemu/osdep.h"
#include "qemu/module.h"
#include "qapi/error.h"
#include "hw/irq.h"
#include "hw/sysbus.h"
#include "hw/qdev-properties.h"
#include "sysemu/dma.h"
#include "qom/object.h"

#include "npu-core.h"

#define TYPE_NPU_SYSBUS "npu-sysbus"
OBJECT_DECLARE_SIMPLE_TYPE(NpuSysbusState, NPU_SYSBUS)

struct NpuSysbusState {
    SysBusDevice parent_obj;
    NpuCore core;
    qemu_irq irq;
    bool dma_coherent;          /* written into the devicetree node */
};

static int npu_sysbus_dma_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
    return dma_memory_read(&address_space_memory, pa, dst, len,
                           MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ? 0 : -1;
}

static int npu_sysbus_dma_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
    return dma_memory_write(&address_space_memory, pa, src, len,
                            MEMTXATTRS_UNSPECIFIED) == MEMTX_OK ? 0 : -1;
}

static void npu_sysbus_set_irq_locked(void *opaque, int level)
{
    NpuSysbusState *s = opaque;

    qemu_set_irq(s->irq, level);
}

static const NpuBusOps npu_sysbus_bus_ops = {
    .dma_read = npu_sysbus_dma_read,
    .dma_write = npu_sysbus_dma_write,
    .set_irq_locked = npu_sysbus_set_irq_locked,
};

static void npu_sysbus_realize(DeviceState *d, Error **errp)
{
    NpuSysbusState *s = NPU_SYSBUS(d);

    if (!npu_core_realize(&s->core, OBJECT(s), &npu_sysbus_bus_ops, s, errp)) {
        return;
    }
    sysbus_init_mmio(SYS_BUS_DEVICE(s), &s->core.mmio);
    sysbus_init_irq(SYS_BUS_DEVICE(s), &s->irq);
}

static void npu_sysbus_unrealize(DeviceState *d)
{
    npu_core_unrealize(&NPU_SYSBUS(d)->core);
}

static void npu_sysbus_reset(DeviceState *d)
{
    npu_core_reset(&NPU_SYSBUS(d)->core);
}

static Property npu_sysbus_properties[] = {
    DEFINE_NPU_CORE_PROPERTIES(NpuSysbusState, core),
    /*
     * Off: the node lacks dma-coherent, as on an SoC whose interconnect
     * does not snoop, so the guest driver takes its non-coherent path.
     */
    DEFINE_PROP_BOOL("dma-coherent", NpuSysbusState, dma_coherent, true),
    DEFINE_PROP_END_OF_LIST(),
};

static void npu_sysbus_class_init(ObjectClass *klass, void *data)
{
    DeviceClass *dc = DEVICE_CLASS(klass);

    dc->realize = npu_sysbus_realize;
    dc->unrealize = npu_sysbus_unrealize;
    dc->reset = npu_sysbus_reset;
    dc->desc = "npu-v1 int8 neural processing unit (SoC block)";
    dc->user_creatable = true;  /* on machines with a platform bus */
    device_class_set_props(dc, npu_sysbus_properties);
    set_bit(DEVICE_CATEGORY_MISC, dc->categories);
}

static const TypeInfo npu_sysbus_info = {
    .name = TYPE_NPU_SYSBUS,
    .parent = TYPE_SYS_BUS_DEVICE,
    .instance_size = sizeof(NpuSysbusState),
    .class_init = npu_sysbus_class_init,
};

static void npu_sysbus_register_types(void)
{
    type_register_static(&npu_sysbus_info);
}

type_init(npu_sysbus_register_types)
