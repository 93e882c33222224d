// SPDX-License-Identifier: GPL-2.0-only OR MIT
/*
 * Platform (devicetree) glue: npu-v1 on an SoC, bound by compatible
 * "opennpu,npu-v1" (Documentation/devicetree/bindings/npu/opennpu,npu-v1.yaml).
 * reg and interrupts are required; the core clock, the reset line and a
 * restricted DMA pool (memory-region) are optional. power-domains and
 * iommus need nothing here: the PM core attaches the domain and the DMA API
 * goes through the IOMMU.
 */
#include <linux/clk.h>
#include <linux/module.h>
#include <linux/of.h>
#include <linux/of_reserved_mem.h>
#include <linux/platform_device.h>
#include <linux/property.h>
#include <linux/pm_runtime.h>
#include <linux/reset.h>
#include <drm/drm_drv.h>

#include "npu_drv.h"

static int npu_platform_probe(struct platform_device *pdev)
{
	struct device *dev = &pdev->dev;
	struct reset_control *rst;
	struct npu_device *ndev;
	struct clk *clk;
	int ret;

	ndev = devm_drm_dev_alloc(dev, &npu_drm_driver, struct npu_device, drm);
	if (IS_ERR(ndev))
		return PTR_ERR(ndev);
	/* dma-coherent in the node; else BOs are write-combined for the CPU */
	ndev->coherent = device_get_dma_attr(dev) == DEV_DMA_COHERENT;
	ndev->regs = devm_platform_ioremap_resource(pdev, 0);
	if (IS_ERR(ndev->regs))
		return PTR_ERR(ndev->regs);
	ndev->irq = platform_get_irq(pdev, 0);
	if (ndev->irq < 0)
		return ndev->irq;
	clk = devm_clk_get_optional_enabled(dev, NULL);
	if (IS_ERR(clk))
		return dev_err_probe(dev, PTR_ERR(clk), "core clock\n");
	rst = devm_reset_control_get_optional_exclusive(dev, NULL);
	if (IS_ERR(rst))
		return dev_err_probe(dev, PTR_ERR(rst), "reset\n");
	ret = reset_control_deassert(rst);
	if (ret)
		return ret;
	ret = of_reserved_mem_device_init(dev);
	if (ret && ret != -ENODEV)
		return dev_err_probe(dev, ret, "memory-region\n");
	platform_set_drvdata(pdev, ndev);

	/* Active during probe; autosuspend once registered. */
	pm_runtime_get_noresume(dev);
	pm_runtime_set_active(dev);
	ret = devm_pm_runtime_enable(dev);
	if (ret)
		goto mem;
	ret = npu_drm_register(ndev);
	if (ret)
		goto mem;
	npu_pm_init(ndev);
	pm_runtime_put_autosuspend(dev);
	return 0;
mem:
	pm_runtime_put_noidle(dev);
	of_reserved_mem_device_release(dev);
	reset_control_assert(rst);
	return ret;
}

static void npu_platform_remove(struct platform_device *pdev)
{
	struct npu_device *ndev = platform_get_drvdata(pdev);

	pm_runtime_get_sync(&pdev->dev);
	pm_runtime_dont_use_autosuspend(&pdev->dev);
	npu_drm_unregister(ndev);
	pm_runtime_put_noidle(&pdev->dev);
	of_reserved_mem_device_release(&pdev->dev);
}

static const struct of_device_id npu_of_ids[] = {
	{ .compatible = NPU_DT_COMPATIBLE },
	{ }
};
MODULE_DEVICE_TABLE(of, npu_of_ids);

static const struct dev_pm_ops npu_platform_pm_ops = {
	SET_RUNTIME_PM_OPS(npu_runtime_suspend, npu_runtime_resume, NULL)
};

struct platform_driver npu_platform_driver = {
	.probe = npu_platform_probe,
	.remove_new = npu_platform_remove,
	.driver = {
		.name = "npu",
		.of_match_table = npu_of_ids,
		.pm = &npu_platform_pm_ops,
	},
};
