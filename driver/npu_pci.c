// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * PCI glue: the npu-v1 function (npu_hw.h's PCI binding), BAR0 registers,
 * MSI with INTx as fallback, 40-bit DMA. Everything else is the core's.
 */
#include <linux/module.h>
#include <linux/pci.h>
#include <linux/pm_runtime.h>
#include <drm/drm_drv.h>

#include "npu_drv.h"

#ifdef NPU_HAVE_PCI_IRQ_INTX
#define NPU_PCI_IRQ_FLAGS	(PCI_IRQ_MSI | PCI_IRQ_INTX)
#else
#define NPU_PCI_IRQ_FLAGS	(PCI_IRQ_MSI | PCI_IRQ_LEGACY)
#endif

static int npu_pci_probe(struct pci_dev *pdev, const struct pci_device_id *id)
{
	struct npu_device *ndev;
	int ret;

	ndev = devm_drm_dev_alloc(&pdev->dev, &npu_drm_driver, struct npu_device, drm);
	if (IS_ERR(ndev))
		return PTR_ERR(ndev);
	ret = pcim_enable_device(pdev);
	if (ret)
		return ret;
	if (pci_resource_len(pdev, 0) < NPU_MMIO_SIZE)
		return -ENODEV;
	ret = pcim_iomap_regions(pdev, BIT(0), "npu");
	if (ret)
		return ret;
	ndev->regs = pcim_iomap_table(pdev)[0];
	ndev->coherent = true;	/* PCI DMA snoops (npu-architecture.rst) */
	pci_set_master(pdev);
	ret = pci_alloc_irq_vectors(pdev, 1, 1, NPU_PCI_IRQ_FLAGS);
	if (ret < 0)
		return ret;
	ndev->irq = pci_irq_vector(pdev, 0);
	pci_set_drvdata(pdev, ndev);
	ret = npu_drm_register(ndev);
	if (ret) {
		pci_free_irq_vectors(pdev);
		return ret;
	}
	/* The PCI core probes with a runtime-PM reference and PM forbidden. */
	npu_pm_init(ndev);
	pm_runtime_allow(&pdev->dev);
	pm_runtime_put_autosuspend(&pdev->dev);
	return 0;
}

static void npu_pci_remove(struct pci_dev *pdev)
{
	struct npu_device *ndev = pci_get_drvdata(pdev);

	/* The PCI core resumed the device; keep it so (balances probe's put). */
	pm_runtime_get_noresume(&pdev->dev);
	pm_runtime_dont_use_autosuspend(&pdev->dev);
	npu_drm_unregister(ndev);
	pci_free_irq_vectors(pdev);
}

static const struct dev_pm_ops npu_pci_pm_ops = {
	SET_RUNTIME_PM_OPS(npu_runtime_suspend, npu_runtime_resume, NULL)
};

static const struct pci_device_id npu_pci_ids[] = {
	{ PCI_DEVICE(NPU_PCI_VENDOR_ID, NPU_PCI_DEVICE_ID) },
	{ }
};
MODULE_DEVICE_TABLE(pci, npu_pci_ids);

struct pci_driver npu_pci_driver = {
	.name = "npu",
	.id_table = npu_pci_ids,
	.probe = npu_pci_probe,
	.remove = npu_pci_remove,
	.driver.pm = &npu_pci_pm_ops,
};
