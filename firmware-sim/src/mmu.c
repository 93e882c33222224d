// SPDX-License-Identifier: MIT
/*
 * Device MMU: two-level page-table walk (npu_hw.h) with a small TLB.
 * VA[31:22] indexes the L1 table at pt_base, whose valid entry gives the
 * L2 table; VA[21:12] indexes that, whose valid entry gives the page and
 * its READ/WRITE permissions. Accesses are split at page boundaries.
 */
#include <string.h>

#include "mmu.h"

static int mmu_read_pte(struct npusim_mmu *mmu, uint64_t pa, uint32_t *pte, uint64_t *fault_addr)
{
	uint8_t b[4];

	if (mmu->ops->mem_read(mmu->opaque, pa, b, sizeof(b))) {
		*fault_addr = pa;
		return NPU_FAULT_BUS_ERROR;
	}
	*pte = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	return NPU_FAULT_NONE;
}

/* Walks the tables for va (< 2^32); returns the valid L2 entry or a fault. */
static int mmu_walk(struct npusim_mmu *mmu, uint64_t va, uint32_t *pte, uint64_t *fault_addr)
{
	uint32_t l1i = (uint32_t)(va >> NPU_VA_L1_SHIFT) & (NPU_PT_ENTRIES - 1);
	uint32_t l2i = (uint32_t)(va >> NPU_VA_L2_SHIFT) & (NPU_PT_ENTRIES - 1);
	uint32_t l1, l2;
	int f;

	mmu->walks++;
	f = mmu_read_pte(mmu, mmu->pt_base + 4ull * l1i, &l1, fault_addr);
	if (f)
		return f;
	if (!(l1 & NPU_PTE_VALID))
		goto unmapped;
	f = mmu_read_pte(mmu, npu_pte_pa(l1) + 4ull * l2i, &l2, fault_addr);
	if (f)
		return f;
	if (!(l2 & NPU_PTE_VALID))
		goto unmapped;
	*pte = l2;
	return NPU_FAULT_NONE;
unmapped:
	*fault_addr = va;
	return NPU_FAULT_MMU_UNMAPPED;
}

int npusim_mmu_translate(struct npusim_mmu *mmu, uint64_t va, int write, uint64_t *pa,
			 uint64_t *fault_addr)
{
	struct npusim_tlb_entry *e;
	uint32_t vpn, pte;
	int f;

	if (va >> NPU_VA_BITS) {
		*fault_addr = va;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	vpn = (uint32_t)(va >> NPU_PAGE_SHIFT);
	e = &mmu->tlb[vpn & (NPUSIM_TLB_ENTRIES - 1)];
	if (e->valid && e->vpn == vpn) {
		pte = e->pte;
	} else {
		f = mmu_walk(mmu, va, &pte, fault_addr);
		if (f)
			return f;
		e->vpn = vpn;
		e->pte = pte;
		e->valid = 1;
	}
	if (!(pte & (write ? NPU_PTE_WRITE : NPU_PTE_READ))) {
		*fault_addr = va;
		return NPU_FAULT_MMU_PERMISSION;
	}
	*pa = npu_pte_pa(pte) | (va & (NPU_PAGE_SIZE - 1));
	return NPU_FAULT_NONE;
}

/* Copies len bytes at va one page at a time: from src when non-NULL, else into dst. */
static int mmu_access(struct npusim_mmu *mmu, uint64_t va, uint8_t *dst, const uint8_t *src,
		      uint32_t len, uint64_t *fault_addr)
{
	int write = src != NULL;

	while (len) {
		uint32_t chunk = NPU_PAGE_SIZE - (uint32_t)(va & (NPU_PAGE_SIZE - 1));
		uint64_t pa;
		int f, err;

		if (chunk > len)
			chunk = len;
		f = npusim_mmu_translate(mmu, va, write, &pa, fault_addr);
		if (f)
			return f;
		if (write)
			err = mmu->ops->mem_write(mmu->opaque, pa, src, chunk);
		else
			err = mmu->ops->mem_read(mmu->opaque, pa, dst, chunk);
		if (err) {
			*fault_addr = pa;
			return NPU_FAULT_BUS_ERROR;
		}
		va += chunk;
		if (write)
			src += chunk;
		else
			dst += chunk;
		len -= chunk;
	}
	return NPU_FAULT_NONE;
}

static int mmu_vread(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	return mmu_access(opaque, va, dst, NULL, len, fault_va);
}

static int mmu_vwrite(void *opaque, uint64_t va, const void *src, uint32_t len,
		      uint64_t *fault_va)
{
	return mmu_access(opaque, va, NULL, src, len, fault_va);
}

void npusim_mmu_flush(struct npusim_mmu *mmu)
{
	memset(mmu->tlb, 0, sizeof(mmu->tlb));
}

void npusim_mmu_init(struct npusim_mmu *mmu, const struct npusim_host_ops *ops, void *opaque,
		     uint64_t pt_base)
{
	mmu->ops = ops;
	mmu->opaque = opaque;
	mmu->pt_base = pt_base;
	mmu->walks = 0;
	npusim_mmu_flush(mmu);
	mmu->vmem.read = mmu_vread;
	mmu->vmem.write = mmu_vwrite;
	mmu->vmem.opaque = mmu;
}
