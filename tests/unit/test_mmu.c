// SPDX-License-Identifier: MIT
/*
 * Device MMU (firmware-sim/src/mmu.c): page-table walk, permissions,
 * page-crossing accesses, bus errors and the TLB flush rule, against a
 * fake 16 MiB physical memory.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "mmu.h"

#define PHYS_SIZE	(16u << 20)
#define L1_PA		0x10000u
#define L2_PA		0x11000u
#define L2B_PA		0x12000u	/* L2 for VA[31:22] = 1 */

static uint8_t *phys;
static unsigned int mem_calls;

static int fake_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
	(void)opaque;
	mem_calls++;
	if (pa > PHYS_SIZE || len > PHYS_SIZE - pa)
		return -1;
	memcpy(dst, phys + pa, len);
	return 0;
}

static int fake_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
	(void)opaque;
	mem_calls++;
	if (pa > PHYS_SIZE || len > PHYS_SIZE - pa)
		return -1;
	memcpy(phys + pa, src, len);
	return 0;
}

static const struct npusim_host_ops ops = {
	.mem_read = fake_read,
	.mem_write = fake_write,
};

static struct npusim_mmu mmu;

static void wr32(uint64_t pa, uint32_t v)
{
	memcpy(phys + pa, &v, 4);
}

/* Maps one page; the L2 table is L2_PA for VA < 4 MiB, else L2B_PA. */
static void map(uint32_t va, uint64_t pa, uint32_t flags)
{
	uint64_t l2 = (va >> NPU_VA_L1_SHIFT) ? L2B_PA : L2_PA;

	wr32(L1_PA + 4 * (va >> NPU_VA_L1_SHIFT), npu_pte_make(l2, NPU_PTE_VALID));
	wr32(l2 + 4 * ((va >> NPU_VA_L2_SHIFT) & 1023), npu_pte_make(pa, flags));
}

#define RW (NPU_PTE_VALID | NPU_PTE_READ | NPU_PTE_WRITE)
#define RO (NPU_PTE_VALID | NPU_PTE_READ)

static void setup(void)
{
	phys = calloc(1, PHYS_SIZE);
	ck_assert_ptr_nonnull(phys);
	mem_calls = 0;
	npusim_mmu_init(&mmu, &ops, NULL, L1_PA);
}

static void teardown(void)
{
	free(phys);
	phys = NULL;
}

START_TEST(test_translate_mapped)
{
	uint64_t pa = 0, fa = 0;

	map(0x3000, 0x200000, RW);
	map(0x400000 + 0x5000, 0x345000, RO);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3abc, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x200abc);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3abc, 1, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x200abc);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x405ffc, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x345ffc);
}
END_TEST

START_TEST(test_high_pa)
{
	uint64_t pa = 0, fa = 0;

	/* PTE PFN covers the full 40-bit PA space. */
	map(0x1000, 0xfffffff000ull, RW);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x1008, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0xfffffff008ull);
}
END_TEST

START_TEST(test_unmapped)
{
	uint64_t pa = 0, fa = 0;

	map(0x3000, 0x200000, RW);
	/* L2 entry not valid (same L2 table). */
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x4010, 0, &pa, &fa), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 0x4010);
	/* L1 entry not valid. */
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x80001234u, 1, &pa, &fa),
			 NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 0x80001234u);
	/* L2 entry with R/W but without VALID. */
	wr32(L2_PA + 4 * 5, npu_pte_make(0x200000, NPU_PTE_READ | NPU_PTE_WRITE));
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x5000, 0, &pa, &fa), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 0x5000);
}
END_TEST

START_TEST(test_va_beyond_32_bits)
{
	uint64_t pa = 0, fa = 0;
	uint8_t b[4];

	map(0x3000, 0x200000, RW);
	/* Would alias VA 0x3000 if the MMU truncated to 32 bits. */
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x100003000ull, 0, &pa, &fa),
			 NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 0x100003000ull);
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, UINT64_MAX - 1, b, 4, &fa),
			 NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, UINT64_MAX - 1);
	/* A range running past 2^32 faults at 2^32. */
	map(0xfffff000u, 0x300000, RW);
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0xfffffffeu, b, 4, &fa),
			 NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 1ull << 32);
}
END_TEST

START_TEST(test_permissions)
{
	uint64_t pa = 0, fa = 0;
	uint8_t b[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };

	map(0x3000, 0x200000, RO);
	map(0x4000, 0x201000, NPU_PTE_VALID | NPU_PTE_WRITE);
	map(0x5000, 0x202000, NPU_PTE_VALID);
	memset(phys + 0x200000, 0x5a, 4096);

	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3004, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_int_eq(mmu.vmem.write(mmu.vmem.opaque, 0x3004, b, 8, &fa),
			 NPU_FAULT_MMU_PERMISSION);
	ck_assert_uint_eq(fa, 0x3004);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(phys[0x200000 + i], 0x5a);

	ck_assert_int_eq(mmu.vmem.write(mmu.vmem.opaque, 0x4000, b, 8, &fa), NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(phys + 0x201000, b, 8), 0);
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0x4000, b, 8, &fa),
			 NPU_FAULT_MMU_PERMISSION);
	ck_assert_uint_eq(fa, 0x4000);

	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x5000, 0, &pa, &fa),
			 NPU_FAULT_MMU_PERMISSION);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x5000, 1, &pa, &fa),
			 NPU_FAULT_MMU_PERMISSION);
}
END_TEST

/* L1 entries need only VALID: READ/WRITE are L2-only bits. */
START_TEST(test_l1_flags_ignored)
{
	uint64_t pa = 0, fa = 0;

	map(0x3000, 0x200000, RW);
	wr32(L1_PA, npu_pte_make(L2_PA, NPU_PTE_VALID | 0x8));
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 1, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x200000);
	wr32(L1_PA, npu_pte_make(L2_PA, NPU_PTE_READ | NPU_PTE_WRITE));
	npusim_mmu_flush(&mmu);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 0, &pa, &fa), NPU_FAULT_MMU_UNMAPPED);
}
END_TEST

START_TEST(test_page_crossing)
{
	uint8_t src[300], dst[300];
	uint64_t fa = 0;

	/* Virtually contiguous, physically reversed. */
	map(0x6000, 0x301000, RW);
	map(0x7000, 0x300000, RW);
	for (int i = 0; i < 300; i++)
		src[i] = (uint8_t)(i * 7 + 1);
	ck_assert_int_eq(mmu.vmem.write(mmu.vmem.opaque, 0x6f00, src, 300, &fa), NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(phys + 0x301f00, src, 256), 0);
	ck_assert_int_eq(memcmp(phys + 0x300000, src + 256, 44), 0);
	/* The byte after the page-end in PA space is untouched. */
	ck_assert_uint_eq(phys[0x302000], 0);
	memset(dst, 0, sizeof(dst));
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0x6f00, dst, 300, &fa), NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(src, dst, 300), 0);

	/* Crossing into an unmapped page faults at that page's first byte. */
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0x7f80, dst, 300, &fa),
			 NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(fa, 0x8000);
	/* Zero-length accesses succeed without touching memory. */
	mem_calls = 0;
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0x9000, dst, 0, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(mem_calls, 0);
}
END_TEST

START_TEST(test_bus_errors)
{
	uint64_t pa = 0, fa = 0;
	uint8_t b[16];

	/* L1 table outside physical memory: fault address = PA of the L1 entry. */
	npusim_mmu_init(&mmu, &ops, NULL, 0x4000000);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x00c01000, 0, &pa, &fa),
			 NPU_FAULT_BUS_ERROR);
	ck_assert_uint_eq(fa, 0x4000000 + 4 * 3);

	/* L2 table outside physical memory. */
	npusim_mmu_init(&mmu, &ops, NULL, L1_PA);
	wr32(L1_PA, npu_pte_make(0x5000000, NPU_PTE_VALID));
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x2000, 0, &pa, &fa), NPU_FAULT_BUS_ERROR);
	ck_assert_uint_eq(fa, 0x5000000 + 4 * 2);

	/* Data page outside physical memory: translation works, access fails. */
	map(0x3000, 0x7000000, RW);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3010, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_int_eq(mmu.vmem.read(mmu.vmem.opaque, 0x3010, b, 16, &fa), NPU_FAULT_BUS_ERROR);
	ck_assert_uint_eq(fa, 0x7000010);
	ck_assert_int_eq(mmu.vmem.write(mmu.vmem.opaque, 0x3010, b, 16, &fa),
			 NPU_FAULT_BUS_ERROR);
	ck_assert_uint_eq(fa, 0x7000010);
}
END_TEST

/* Translations are cached until the next flush (job start). */
START_TEST(test_tlb_flush_rule)
{
	uint64_t pa = 0, fa = 0;

	map(0x3000, 0x200000, RW);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(mmu.walks, 1);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3ff0, 1, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(mmu.walks, 1);
	ck_assert_uint_eq(pa, 0x200ff0);

	/* Remap: the cached translation stays until a flush. */
	map(0x3000, 0x250000, RO);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 1, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x200000);
	npusim_mmu_flush(&mmu);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x250000);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 1, &pa, &fa),
			 NPU_FAULT_MMU_PERMISSION);

	/* Faults are not cached: mapping the page later makes it reachable. */
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x9000, 0, &pa, &fa), NPU_FAULT_MMU_UNMAPPED);
	map(0x9000, 0x260000, RO);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x9000, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x260000);

	/* TLB aliases (same index) replace each other correctly. */
	map(0x3000 + NPUSIM_TLB_ENTRIES * 0x1000u, 0x270000, RW);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000 + NPUSIM_TLB_ENTRIES * 0x1000u, 0, &pa,
					      &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x270000);
	ck_assert_int_eq(npusim_mmu_translate(&mmu, 0x3000, 0, &pa, &fa), NPU_FAULT_NONE);
	ck_assert_uint_eq(pa, 0x250000);
}
END_TEST

Suite *suite_mmu(void);
Suite *suite_mmu(void)
{
	Suite *s = suite_create("mmu");
	TCase *tc = tcase_create("walk");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_translate_mapped);
	tcase_add_test(tc, test_high_pa);
	tcase_add_test(tc, test_unmapped);
	tcase_add_test(tc, test_va_beyond_32_bits);
	tcase_add_test(tc, test_permissions);
	tcase_add_test(tc, test_l1_flags_ignored);
	tcase_add_test(tc, test_page_crossing);
	tcase_add_test(tc, test_bus_errors);
	tcase_add_test(tc, test_tlb_flush_rule);
	suite_add_tcase(s, tc);
	return s;
}
