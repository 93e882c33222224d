// SPDX-License-Identifier: MIT
/* Guest-side helpers of the QEMU device tests: see npu_guest.h. */
#include "npu_guest.h"

#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define PCI_CMD_MEMORY	(1u << 1)
#define PCI_CMD_MASTER	(1u << 2)

static uint32_t cfg_addr(uint32_t slot, uint32_t off)
{
	return 0x80000000u | slot << 11 | (off & 0xfc);
}

uint32_t pci_cfg_read(struct guest *g, uint32_t slot, uint32_t off)
{
	qt_outl(&g->qt, 0xcf8, cfg_addr(slot, off));
	return qt_inl(&g->qt, 0xcfc);
}

void pci_cfg_write(struct guest *g, uint32_t slot, uint32_t off, uint32_t v)
{
	qt_outl(&g->qt, 0xcf8, cfg_addr(slot, off));
	qt_outl(&g->qt, 0xcfc, v);
}

void npu_pci_enable(struct guest *g)
{
	pci_cfg_write(g, NPU_SLOT, 0x10, (uint32_t)BAR0);
	pci_cfg_write(g, NPU_SLOT, 0x04, PCI_CMD_MEMORY | PCI_CMD_MASTER);
}

uint32_t npu_reg(struct guest *g, uint32_t off)
{
	return qt_readl(&g->qt, BAR0 + off);
}

void npu_wreg(struct guest *g, uint32_t off, uint32_t v)
{
	qt_writel(&g->qt, BAR0 + off, v);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

void npu_reset(struct guest *g)
{
	int i;

	npu_wreg(g, NPU_REG_CTRL, NPU_CTRL_RESET);
	for (i = 0; i < 5000 && (npu_reg(g, NPU_REG_STATUS) & NPU_STATUS_RESETTING); i++)
		sleep_ms(1);
	ck_assert_msg(i < 5000, "reset did not complete in 5 s");
	g->tail = 0;
}

void npu_ring_setup(struct guest *g)
{
	npu_wreg(g, NPU_REG_RING_BASE_LO, (uint32_t)RING_PA);
	npu_wreg(g, NPU_REG_RING_BASE_HI, (uint32_t)(RING_PA >> 32));
	npu_wreg(g, NPU_REG_RING_SIZE, RING_ENTRIES);
	npu_wreg(g, NPU_REG_CTRL, NPU_CTRL_ENABLE);
}

int npu_wait_head(struct guest *g, uint32_t head, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited++) {
		if (npu_reg(g, NPU_REG_RING_HEAD) == head)
			return 0;
		sleep_ms(1);
	}
	return -1;
}

void *img_ptr(struct guest *g, uint64_t pa, uint32_t len)
{
	ck_assert(pa >= IMG_BASE && pa - IMG_BASE + len <= IMG_SIZE);
	return g->img + (pa - IMG_BASE);
}

static void put32(struct guest *g, uint64_t pa, uint32_t v)
{
	memcpy(img_ptr(g, pa, 4), &v, 4);
}

void img_init(struct guest *g)
{
	const uint32_t pages = (uint32_t)((IMG_BASE + IMG_SIZE - CMD_PA) / NPU_PAGE_SIZE);

	memset(g->img, 0, sizeof(g->img));
	g->tail = 0;
	/* One L2 table covers VA 0..4 MiB: VA_BASE + i pages -> CMD_PA + i pages. */
	put32(g, L1_PA, npu_pte_make(L2_PA, NPU_PTE_VALID));
	for (uint32_t i = 0; i < pages; i++)
		put32(g, L2_PA + 4 * ((VA_BASE >> NPU_PAGE_SHIFT) + i),
		      npu_pte_make(CMD_PA + (uint64_t)i * NPU_PAGE_SIZE,
				   NPU_PTE_VALID | NPU_PTE_READ | NPU_PTE_WRITE));
}

uint64_t img_stream(struct guest *g, uint32_t off, const uint32_t *w, uint32_t bytes)
{
	ck_assert_uint_le(off + bytes, DATA_PA - CMD_PA);
	memcpy(img_ptr(g, CMD_PA + off, bytes), w, bytes);
	return CMD_VA + off;
}

struct npu_job_desc img_desc(uint32_t i, uint32_t ctx, uint64_t cmd_va, uint32_t cmd_size)
{
	struct npu_job_desc d;

	memset(&d, 0, sizeof(d));
	d.context_id = ctx;
	d.pt_base = L1_PA;
	d.cmd_va = cmd_va;
	d.cmd_size = cmd_size;
	d.fence_pa = FENCE_PA(i);
	d.fence_value = 0xfe0ce00000000000ull | i;
	d.report_pa = REPORT_PA(i);
	return d;
}

uint64_t img_queue(struct guest *g, const struct npu_job_desc *d)
{
	uint64_t pa = RING_PA + (uint64_t)(g->tail % RING_ENTRIES) * sizeof(*d);

	memcpy(img_ptr(g, pa, sizeof(*d)), d, sizeof(*d));
	g->tail++;
	return pa;
}

void img_upload(struct guest *g)
{
	qt_memwrite(&g->qt, IMG_BASE, g->img, IMG_SIZE);
}

/* ------------------------------------------------------------------ */
/* In-process reference                                                */
/* ------------------------------------------------------------------ */

static int ref_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
	uint8_t *mem = opaque;

	if (pa < IMG_BASE || pa - IMG_BASE > IMG_SIZE || len > IMG_SIZE - (pa - IMG_BASE))
		return -1;
	memcpy(dst, mem + (pa - IMG_BASE), len);
	return 0;
}

static int ref_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
	uint8_t *mem = opaque;

	if (pa < IMG_BASE || pa - IMG_BASE > IMG_SIZE || len > IMG_SIZE - (pa - IMG_BASE))
		return -1;
	memcpy(mem + (pa - IMG_BASE), src, len);
	return 0;
}

uint8_t *reference_run(const struct guest *g, uint32_t jobs)
{
	static const struct npusim_host_ops ops = { .mem_read = ref_read, .mem_write = ref_write };
	uint8_t *mem = malloc(IMG_SIZE);
	struct npusim_dev *dev;

	ck_assert_ptr_nonnull(mem);
	memcpy(mem, g->img, IMG_SIZE);
	dev = npusim_dev_create(NULL, &ops, mem);
	ck_assert_ptr_nonnull(dev);
	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_LO, (uint32_t)RING_PA);
	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_HI, (uint32_t)(RING_PA >> 32));
	npusim_dev_reg_write(dev, NPU_REG_RING_SIZE, RING_ENTRIES);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_ENABLE);
	npusim_dev_reg_write(dev, NPU_REG_DOORBELL, jobs);	/* runs synchronously */
	ck_assert_uint_eq(npusim_dev_reg_read(dev, NPU_REG_RING_HEAD), jobs);
	npusim_dev_destroy(dev);
	return mem;
}
