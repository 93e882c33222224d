/* SPDX-License-Identifier: MIT */
/*
 * Device MMU of npu-v1 (npu_hw.h): the two-level page-table walk of one
 * job's context, exposed to the core as a struct npusim_vmem.
 *
 * Translations are cached in a small direct-mapped TLB. The device flushes
 * it at every job start (npusim_mmu_init), and never during a job: page
 * table changes take effect at the next job.
 *
 * Fault addresses: MMU_UNMAPPED and MMU_PERMISSION report the faulting
 * VA; BUS_ERROR reports the physical address whose access failed (the
 * page-table entry, or the start of the data chunk within the page).
 */
#ifndef NPUSIM_MMU_H
#define NPUSIM_MMU_H

#include <stdint.h>

#include "npusim.h"

#define NPUSIM_TLB_ENTRIES 32	/* power of two */

struct npusim_tlb_entry {
	uint32_t vpn;		/* VA >> NPU_PAGE_SHIFT */
	uint32_t pte;		/* the L2 entry (valid) */
	int valid;
};

struct npusim_mmu {
	const struct npusim_host_ops *ops;
	void *opaque;			/* ops' opaque */
	uint64_t pt_base;		/* PA of the L1 table */
	struct npusim_tlb_entry tlb[NPUSIM_TLB_ENTRIES];
	uint64_t walks;			/* table walks (TLB misses), for tests */
	struct npusim_vmem vmem;	/* read/write bound to this MMU */
};

/* Binds the MMU to a context's L1 table and flushes the TLB. */
void npusim_mmu_init(struct npusim_mmu *mmu, const struct npusim_host_ops *ops, void *opaque,
		     uint64_t pt_base);
void npusim_mmu_flush(struct npusim_mmu *mmu);

/*
 * Translates va for a read (write = 0) or write. Returns NPU_FAULT_NONE
 * with *pa set, or a fault code with *fault_addr set (see above).
 */
int npusim_mmu_translate(struct npusim_mmu *mmu, uint64_t va, int write, uint64_t *pa,
			 uint64_t *fault_addr);

#endif /* NPUSIM_MMU_H */
