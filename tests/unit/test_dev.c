// SPDX-License-Identifier: MIT
/*
 * Device layer (firmware-sim/src/dev.c): registers, job ring, descriptors,
 * MMU faults through real jobs, interrupts, watchdog, reset and threading,
 * against a fake 16 MiB physical memory.
 */
#include <check.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npusim.h"

#define PHYS_SIZE	(16u << 20)

/* Physical layout. */
#define RING_PA		0x2000u		/* 64 entries fit in 4 KiB */
#define FENCE_PA	0x8000u
#define REPORT_PA	0x8100u
#define FENCE2_PA	0x8008u
#define REPORT2_PA	0x8200u
#define CTXA_L1		0x10000u
#define CTXA_L2		0x11000u
#define CTXB_L1		0x12000u
#define CTXB_L2		0x13000u
#define CMD_PA		0x100000u	/* 4 pages */
#define SRC_PA		0x104000u
#define DST_PA		0x105000u
#define RO_PA		0x106000u
#define CROSS1_PA	0x108000u	/* VA CROSS_VA */
#define CROSS2_PA	0x107000u	/* VA CROSS_VA + 4 KiB */
#define B_PA		0x200000u	/* only mapped in context B */
#define GATE_PA		0x300000u	/* reads block while the gate is closed */

/* NPU virtual layout (both contexts map CMD). */
#define CMD_VA		0x1000u
#define SRC_VA		0x10000u
#define DST_VA		0x11000u
#define RO_VA		0x12000u
#define CROSS_VA	0x13000u
#define B_VA		0x20000u
#define UNMAPPED_VA	0x30000u
#define GATE_VA		0x40000u

#define RW (NPU_PTE_VALID | NPU_PTE_READ | NPU_PTE_WRITE)
#define RO (NPU_PTE_VALID | NPU_PTE_READ)

struct host {
	uint8_t *mem;
	int use_kick;
	int kicks;
	int irq_level;
	int irq_calls;
	int irq_repeats;	/* set_irq called without a level change (re-sends) */
	int irq_low_repeats;	/* level 0 twice in a row: never legitimate */
	int reset_dones;	/* reset_done callbacks */
	int guest_errors;	/* guest_error callbacks */
	char last_error[256];
	/* Write hook: a write to hook_pa calls hook() first (once). */
	uint64_t hook_pa;
	void (*hook)(void);
	/* Gate: reads of GATE_PA block while closed (a job held mid-DMA). */
	pthread_mutex_t gate_lock;
	pthread_cond_t gate_cond;
	int gate_closed;
	int gate_entered;
};

static struct host host;
static struct npusim_dev *dev;
static uint32_t sw_tail;	/* software copy of the ring tail */
static uint32_t ring_size;

static void gate_pass(struct host *h)
{
	pthread_mutex_lock(&h->gate_lock);
	h->gate_entered = 1;
	pthread_cond_broadcast(&h->gate_cond);
	while (h->gate_closed)
		pthread_cond_wait(&h->gate_cond, &h->gate_lock);
	pthread_mutex_unlock(&h->gate_lock);
}

static int fake_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
	struct host *h = opaque;

	if (pa >= GATE_PA && pa < GATE_PA + 4096)
		gate_pass(h);
	if (pa > PHYS_SIZE || len > PHYS_SIZE - pa)
		return -1;
	memcpy(dst, h->mem + pa, len);
	return 0;
}

static int fake_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
	struct host *h = opaque;

	if (h->hook && pa == h->hook_pa) {
		void (*hook)(void) = h->hook;

		h->hook = NULL;
		hook();
	}
	if (pa > PHYS_SIZE || len > PHYS_SIZE - pa)
		return -1;
	memcpy(h->mem + pa, src, len);
	return 0;
}

static void fake_set_irq(void *opaque, int level)
{
	struct host *h = opaque;

	if (level == h->irq_level && level)
		h->irq_repeats++;
	else if (level == h->irq_level)
		h->irq_low_repeats++;
	h->irq_level = level;
	h->irq_calls++;
}

static void fake_kick(void *opaque)
{
	struct host *h = opaque;

	h->kicks++;
}

static void fake_reset_done(void *opaque)
{
	struct host *h = opaque;

	h->reset_dones++;
}

static void fake_guest_error(void *opaque, const char *msg)
{
	struct host *h = opaque;

	h->guest_errors++;
	snprintf(h->last_error, sizeof(h->last_error), "%s", msg);
}

static const struct npusim_host_ops ops_sync = {
	.mem_read = fake_read,
	.mem_write = fake_write,
	.set_irq = fake_set_irq,
	.reset_done = fake_reset_done,
	.guest_error = fake_guest_error,
};

static const struct npusim_host_ops ops_kick = {
	.mem_read = fake_read,
	.mem_write = fake_write,
	.set_irq = fake_set_irq,
	.kick = fake_kick,
	.reset_done = fake_reset_done,
	.guest_error = fake_guest_error,
};

/* ---------------------------------------------------------------- */
/* Memory, page tables, ring                                         */
/* ---------------------------------------------------------------- */

static void wr32(uint64_t pa, uint32_t v)
{
	memcpy(host.mem + pa, &v, 4);
}

static uint64_t rd64(uint64_t pa)
{
	uint64_t v;

	memcpy(&v, host.mem + pa, 8);
	return v;
}

static void map(uint32_t l1, uint32_t l2, uint32_t va, uint64_t pa, uint32_t flags)
{
	ck_assert_uint_lt(va, 1u << NPU_VA_L1_SHIFT);	/* one L2 table per context */
	wr32(l1, npu_pte_make(l2, NPU_PTE_VALID));
	wr32(l2 + 4 * (va >> NPU_PAGE_SHIFT), npu_pte_make(pa, flags));
}

static void build_page_tables(void)
{
	for (uint32_t i = 0; i < 4; i++) {
		map(CTXA_L1, CTXA_L2, CMD_VA + i * 4096, CMD_PA + i * 4096, RO);
		map(CTXB_L1, CTXB_L2, CMD_VA + i * 4096, CMD_PA + i * 4096, RO);
	}
	map(CTXA_L1, CTXA_L2, SRC_VA, SRC_PA, RO);
	map(CTXA_L1, CTXA_L2, DST_VA, DST_PA, RW);
	map(CTXA_L1, CTXA_L2, RO_VA, RO_PA, RO);
	map(CTXA_L1, CTXA_L2, CROSS_VA, CROSS1_PA, RO);
	map(CTXA_L1, CTXA_L2, CROSS_VA + 4096, CROSS2_PA, RO);
	map(CTXB_L1, CTXB_L2, B_VA, B_PA, RW);
	map(CTXA_L1, CTXA_L2, GATE_VA, GATE_PA, RO);
	for (uint32_t i = 0; i < 4096; i++) {
		host.mem[SRC_PA + i] = (uint8_t)(i * 13 + 5);
		host.mem[CROSS1_PA + i] = (uint8_t)(i + 1);
		host.mem[CROSS2_PA + i] = (uint8_t)(255 - i);
		host.mem[RO_PA + i] = 0xa5;
		host.mem[B_PA + i] = 0x3c;
	}
}

static void ring_setup(uint64_t base, uint32_t size)
{
	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_LO, (uint32_t)base);
	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_HI, (uint32_t)(base >> 32));
	npusim_dev_reg_write(dev, NPU_REG_RING_SIZE, size);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_ENABLE);
	sw_tail = 0;
	ring_size = size;
}

static struct npu_job_desc make_desc(uint32_t ctx, uint64_t pt, uint32_t cmd_size)
{
	struct npu_job_desc d;

	memset(&d, 0, sizeof(d));
	d.context_id = ctx;
	d.pt_base = pt;
	d.cmd_va = CMD_VA;
	d.cmd_size = cmd_size;
	d.fence_pa = FENCE_PA;
	d.fence_value = 0x1234567800000000ull | ctx;
	d.report_pa = REPORT_PA;
	return d;
}

/* Puts the descriptor in the next ring slot without ringing the doorbell. */
static void queue_desc(const struct npu_job_desc *d)
{
	memcpy(host.mem + RING_PA + (sw_tail % ring_size) * sizeof(*d), d, sizeof(*d));
	sw_tail++;
}

static void doorbell(void)
{
	npusim_dev_reg_write(dev, NPU_REG_DOORBELL, sw_tail);
}

static void submit(const struct npu_job_desc *d)
{
	queue_desc(d);
	doorbell();
}

static struct npu_job_report read_report(uint64_t pa)
{
	struct npu_job_report r;

	memcpy(&r, host.mem + pa, sizeof(r));
	return r;
}

/* ---------------------------------------------------------------- */
/* Command streams                                                   */
/* ---------------------------------------------------------------- */

struct stream {
	uint32_t w[512];
	uint32_t n;	/* words */
};

static void put(struct stream *s, const void *cmd, size_t bytes)
{
	ck_assert_uint_le(s->n * 4 + bytes, sizeof(s->w));
	memcpy(&s->w[s->n], cmd, bytes);
	s->n += (uint32_t)(bytes / 4);
}

static void s_begin(struct stream *s)
{
	struct npu_cmd_begin c = {
		.hdr = NPU_CMD_HDR(NPU_OP_BEGIN, struct npu_cmd_begin),
		.version = NPU_ISA_VERSION,
	};

	s->n = 0;
	put(s, &c, sizeof(c));
}

static void s_end(struct stream *s)
{
	struct npu_cmd_end c = { .hdr = NPU_CMD_HDR(NPU_OP_END, struct npu_cmd_end) };

	put(s, &c, sizeof(c));
}

static void s_wait_dma(struct stream *s)
{
	struct npu_cmd_wait c = {
		.hdr = NPU_CMD_HDR(NPU_OP_WAIT, struct npu_cmd_wait),
		.engine_mask = 1u << NPU_ENGINE_DMA,
	};

	put(s, &c, sizeof(c));
}

static void s_dma(struct stream *s, uint32_t dir, uint64_t va, uint32_t sram, uint32_t bytes)
{
	struct npu_cmd_dma c = {
		.hdr = NPU_CMD_HDR(NPU_OP_DMA, struct npu_cmd_dma),
		.flags = dir,
		.dram_lo = (uint32_t)va,
		.dram_hi = (uint32_t)(va >> 32),
		.sram = sram,
		.inner_bytes = bytes,
		.count1 = 1,
		.count2 = 1,
	};

	put(s, &c, sizeof(c));
}

static void s_signal(struct stream *s, uint64_t va, uint64_t value, uint32_t flags)
{
	struct npu_cmd_signal c = {
		.hdr = NPU_CMD_HDR(NPU_OP_SIGNAL, struct npu_cmd_signal),
		.flags = flags,
		.addr_lo = (uint32_t)va,
		.addr_hi = (uint32_t)(va >> 32),
		.value_lo = (uint32_t)value,
		.value_hi = (uint32_t)(value >> 32),
	};

	put(s, &c, sizeof(c));
}

/* JUMP to the current offset: an endless loop. */
static void s_jump_self(struct stream *s)
{
	struct npu_cmd_jump c = {
		.hdr = NPU_CMD_HDR(NPU_OP_JUMP, struct npu_cmd_jump),
		.target = s->n * 4,
	};

	put(s, &c, sizeof(c));
}

/* Copies a stream to CMD_PA; returns its size in bytes. */
static uint32_t load(const struct stream *s)
{
	memcpy(host.mem + CMD_PA, s->w, s->n * 4);
	return s->n * 4;
}

/* Copy 256 bytes SRC_VA -> SRAM 0 -> dst_va. */
static uint32_t load_copy(uint64_t src_va, uint64_t dst_va, uint32_t bytes)
{
	struct stream s;

	s_begin(&s);
	s_dma(&s, NPU_DMA_TO_SRAM, src_va, 0, bytes);
	s_wait_dma(&s);
	s_dma(&s, NPU_DMA_TO_DRAM, dst_va, 0, bytes);
	s_end(&s);
	return load(&s);
}

static uint32_t load_loop(void)
{
	struct stream s;

	s_begin(&s);
	s_jump_self(&s);
	return load(&s);
}

static uint32_t load_nop(void)
{
	struct stream s;

	s_begin(&s);
	s_end(&s);
	return load(&s);
}

static uint32_t reg(uint32_t off)
{
	return npusim_dev_reg_read(dev, off);
}

static uint64_t reg_fault_addr(void)
{
	return (uint64_t)reg(NPU_REG_FAULT_ADDR_HI) << 32 | reg(NPU_REG_FAULT_ADDR_LO);
}

/* ---------------------------------------------------------------- */
/* Fixtures                                                          */
/* ---------------------------------------------------------------- */

static void setup_common(const struct npusim_host_ops *ops)
{
	memset(&host, 0, sizeof(host));
	ck_assert_int_eq(pthread_mutex_init(&host.gate_lock, NULL), 0);
	ck_assert_int_eq(pthread_cond_init(&host.gate_cond, NULL), 0);
	host.mem = calloc(1, PHYS_SIZE);
	ck_assert_ptr_nonnull(host.mem);
	host.use_kick = ops->kick != NULL;
	dev = npusim_dev_create(NULL, ops, &host);
	ck_assert_ptr_nonnull(dev);
	build_page_tables();
	ring_setup(RING_PA, 64);
}

static void setup_sync(void)
{
	setup_common(&ops_sync);
}

static void setup_kick(void)
{
	setup_common(&ops_kick);
}

static void teardown(void)
{
	pthread_cond_destroy(&host.gate_cond);
	pthread_mutex_destroy(&host.gate_lock);
	npusim_dev_destroy(dev);
	dev = NULL;
	free(host.mem);
	host.mem = NULL;
	ck_assert_int_eq(host.irq_low_repeats, 0);
}

/* ---------------------------------------------------------------- */
/* Registers                                                         */
/* ---------------------------------------------------------------- */

START_TEST(test_id_regs)
{
	ck_assert_uint_eq(reg(NPU_REG_ID), NPU_HW_ID_MAGIC);
	ck_assert_uint_eq(reg(NPU_REG_VERSION), 0x10000u);
	ck_assert_uint_eq(reg(NPU_REG_ISA_VERSION), NPU_ISA_VERSION);
	ck_assert_uint_eq(reg(NPU_REG_CAPS), NPU_CAP_ZMASK | NPU_CAP_PALETTE4 | NPU_CAP_MATMUL |
			  NPU_CAP_LUT | NPU_CAP_POOL | NPU_CAP_HAZARD_CHECK);
	ck_assert_uint_eq(reg(NPU_REG_CFG_MAC_ARRAY), 16u << 16 | 32u);
	ck_assert_uint_eq(reg(NPU_REG_CFG_SRAM_BYTES), 1u << 20);
	ck_assert_uint_eq(reg(NPU_REG_CFG_DMA_BPC), 16);
	ck_assert_uint_eq(reg(NPU_REG_CFG_CLOCK_KHZ), 1000000);
	ck_assert_uint_eq(reg(NPU_REG_CFG_VEC_LANES), 16);
	ck_assert_uint_eq(reg(NPU_REG_CFG_MMU), 32u << 16 | 40u << 8 | 12u);
}
END_TEST

START_TEST(test_cfg_regs_follow_config)
{
	struct npusim_config cfg;
	struct npusim_dev *d;

	npusim_config_default(&cfg);
	cfg.mac_oc = 8;
	cfg.mac_ic = 64;
	cfg.sram_bytes = 256u << 10;
	cfg.dma_bytes_per_cycle = 32;
	cfg.clock_khz = 800000;
	cfg.vec_lanes = 32;
	cfg.hazard_check = 0;
	d = npusim_dev_create(&cfg, &ops_sync, &host);
	ck_assert_ptr_nonnull(d);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CFG_MAC_ARRAY), 8u << 16 | 64u);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CFG_SRAM_BYTES), 256u << 10);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CFG_DMA_BPC), 32);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CFG_CLOCK_KHZ), 800000);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CFG_VEC_LANES), 32);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CAPS) & NPU_CAP_HAZARD_CHECK, 0);
	ck_assert_uint_eq(npusim_dev_reg_read(d, NPU_REG_CAPS) & NPU_CAP_MATMUL, NPU_CAP_MATMUL);
	ck_assert_ptr_nonnull(npusim_dev_core(d));
	npusim_dev_destroy(d);

	/* Invalid configuration or missing memory callbacks: no device. */
	cfg.mac_oc = 3;
	ck_assert_ptr_null(npusim_dev_create(&cfg, &ops_sync, &host));
	ck_assert_ptr_null(npusim_dev_create(NULL, NULL, &host));
}
END_TEST

START_TEST(test_rw_and_ro_regs)
{
	/* Power-on (after setup: ring programmed and enabled). */
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(reg(NPU_REG_CTRL), NPU_CTRL_ENABLE);
	ck_assert_uint_eq(reg(NPU_REG_RING_BASE_LO), RING_PA);
	ck_assert_uint_eq(reg(NPU_REG_RING_BASE_HI), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_SIZE), 64);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_MASK), 0);

	npusim_dev_reg_write(dev, NPU_REG_SCRATCH, 0xdeadbeef);
	ck_assert_uint_eq(reg(NPU_REG_SCRATCH), 0xdeadbeef);
	npusim_dev_reg_write(dev, NPU_REG_WATCHDOG_CYCLES, 12345);
	ck_assert_uint_eq(reg(NPU_REG_WATCHDOG_CYCLES), 12345);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, 0xffffffff);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_MASK), NPU_IRQ_ALL);

	/* Writes to RO registers are ignored. */
	npusim_dev_reg_write(dev, NPU_REG_ID, 0);
	npusim_dev_reg_write(dev, NPU_REG_CAPS, 0);
	npusim_dev_reg_write(dev, NPU_REG_RING_HEAD, 7);
	npusim_dev_reg_write(dev, NPU_REG_RING_TAIL, 7);
	npusim_dev_reg_write(dev, NPU_REG_JOBS_DONE, 7);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_STATUS, NPU_IRQ_ALL);
	npusim_dev_reg_write(dev, NPU_REG_STATUS, NPU_STATUS_HALTED);
	npusim_dev_reg_write(dev, NPU_REG_FAULT_CODE, 3);
	ck_assert_uint_eq(reg(NPU_REG_ID), NPU_HW_ID_MAGIC);
	ck_assert_uint_ne(reg(NPU_REG_CAPS), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), 0);
	ck_assert_int_eq(host.irq_calls, 0);

	/* Write-only, unknown, unaligned and out-of-window offsets. */
	ck_assert_uint_eq(reg(NPU_REG_IRQ_CLEAR), 0);
	ck_assert_uint_eq(reg(NPU_REG_DOORBELL), 0);
	ck_assert_uint_eq(reg(0x044), 0);
	ck_assert_uint_eq(reg(0x800), 0);
	ck_assert_uint_eq(reg(NPU_MMIO_SIZE), 0);
	ck_assert_uint_eq(reg(0xfffffffc), 0);
	ck_assert_uint_eq(reg(NPU_REG_ID + 1), 0);
	ck_assert_uint_eq(reg(NPU_REG_SCRATCH + 2), 0);
	npusim_dev_reg_write(dev, NPU_REG_SCRATCH + 1, 1);
	npusim_dev_reg_write(dev, 0x800, 1);
	npusim_dev_reg_write(dev, NPU_MMIO_SIZE + NPU_REG_SCRATCH, 1);
	ck_assert_uint_eq(reg(NPU_REG_SCRATCH), 0xdeadbeef);

	/* CTRL keeps only ENABLE; RESET self-clears. */
	npusim_dev_reg_write(dev, NPU_REG_CTRL, 0xfffffffc | NPU_CTRL_ENABLE);
	ck_assert_uint_eq(reg(NPU_REG_CTRL), NPU_CTRL_ENABLE);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_RESET | NPU_CTRL_ENABLE);
	ck_assert_uint_eq(reg(NPU_REG_CTRL), 0);
	ck_assert_uint_eq(reg(NPU_REG_SCRATCH), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_BASE_LO), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_SIZE), 0);
	ck_assert_uint_eq(reg(NPU_REG_WATCHDOG_CYCLES), 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_MASK), 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Jobs                                                              */
/* ---------------------------------------------------------------- */

START_TEST(test_job_copy)
{
	struct npu_job_desc d = make_desc(7, CTXA_L1, load_copy(SRC_VA, DST_VA, 256));
	struct npu_job_report r;

	submit(&d);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + SRC_PA, 256), 0);
	ck_assert_uint_eq(host.mem[DST_PA + 256], 0);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.fault, NPU_FAULT_NONE);
	ck_assert_uint_gt(r.cycles, 0);
	ck_assert_uint_eq(r.dram_read_bytes, 256 + d.cmd_size);	/* data + command fetch */
	ck_assert_uint_eq(r.dram_write_bytes, 256);
	ck_assert_uint_eq(r.commands, 5);
	ck_assert_uint_gt(r.busy_cycles[NPU_ENGINE_DMA], 0);
	ck_assert_uint_eq(r.macs, 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 1);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 1);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 1);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), 0);
	/* IRQ_MASK is 0 after reset: the line never rose. */
	ck_assert_int_eq(host.irq_calls, 0);
}
END_TEST

/* Several jobs per doorbell, index wrapping around a 4-entry ring. */
START_TEST(test_ring_wrap)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());

	ring_setup(RING_PA, 4);
	for (int round = 0; round < 3; round++) {
		for (int i = 0; i < 3; i++) {
			d.fence_value = (uint64_t)round * 10 + (uint64_t)i;
			d.fence_pa = FENCE_PA + 8 * (uint64_t)i;
			queue_desc(&d);
		}
		doorbell();
		for (int i = 0; i < 3; i++)
			ck_assert_uint_eq(rd64(FENCE_PA + 8 * (uint64_t)i),
					  (uint64_t)round * 10 + (uint64_t)i);
		ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 3 * (uint32_t)round + 3);
	}
	/* A full ring (TAIL - HEAD == SIZE) is valid. */
	for (int i = 0; i < 4; i++) {
		d.fence_value = 100 + (uint64_t)i;
		d.fence_pa = FENCE_PA + 8 * (uint64_t)i;
		queue_desc(&d);
	}
	doorbell();
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 13);
	ck_assert_uint_eq(rd64(FENCE_PA + 24), 103);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
}
END_TEST

START_TEST(test_signal_irq)
{
	struct npu_job_desc d;
	struct stream s;

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_SIGNAL);
	s_begin(&s);
	s_signal(&s, DST_VA + 0x800, 0x1122334455667788ull, NPU_SIGNAL_F_IRQ);
	s_signal(&s, DST_VA + 0x808, 42, 0);
	s_end(&s);
	d = make_desc(1, CTXA_L1, load(&s));
	submit(&d);
	ck_assert_uint_eq(rd64(DST_PA + 0x800), 0x1122334455667788ull);
	ck_assert_uint_eq(rd64(DST_PA + 0x808), 42);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_SIGNAL | NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_calls, 1);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_SIGNAL);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_level, 0);
	ck_assert_int_eq(host.irq_calls, 2);

	/* Without the IRQ flag nothing is raised. */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	s_begin(&s);
	s_signal(&s, DST_VA + 0x810, 43, 0);
	s_end(&s);
	d = make_desc(1, CTXA_L1, load(&s));
	submit(&d);
	ck_assert_uint_eq(rd64(DST_PA + 0x810), 43);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_calls, 2);
}
END_TEST

START_TEST(test_irq_mask)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_FAULT);
	submit(&d);
	/* Raw status set, masked: line stays low. */
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_calls, 0);
	/* Unmasking a pending bit raises the line; masking lowers it. */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_calls, 1);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_FAULT);
	ck_assert_int_eq(host.irq_level, 0);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_calls, 3);
	/* Another completion while high: no extra call. */
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 2);
	ck_assert_int_eq(host.irq_calls, 3);
	/*
	 * Clearing an unrelated bit keeps it high (and re-sends: see
	 * test_irq_resend); clearing the bit lowers it.
	 */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_SIGNAL | NPU_IRQ_JOB_FAULT);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_repeats, 1);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_level, 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_int_eq(host.irq_calls, 5);
	/* A fault with the line enabled raises it again. */
	d.cmd_size = 6;
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_FAULT);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_calls, 6);
}
END_TEST

/* Checks the fault registers and report of the latest job. */
static void expect_fault(uint32_t fault, uint64_t addr, uint32_t cmd_offset, uint32_t ctx)
{
	struct npu_job_report r = read_report(REPORT_PA);

	ck_assert_uint_eq(r.fault, fault);
	ck_assert_uint_eq(r.fault_addr, addr);
	ck_assert_uint_eq(r.fault_cmd_offset, cmd_offset);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), fault);
	ck_assert_uint_eq(reg_fault_addr(), addr);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CMD_OFFSET), cmd_offset);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CONTEXT), ctx);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_JOB), reg(NPU_REG_RING_HEAD) - 1);
	ck_assert_uint_ne(reg(NPU_REG_IRQ_STATUS) & NPU_IRQ_JOB_FAULT, 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS) & NPU_STATUS_HALTED, 0);
}

START_TEST(test_fault_regs_track_latest_fault)
{
	struct npu_job_desc d = make_desc(3, CTXA_L1, load_nop());

	submit(&d);
	d = make_desc(9, CTXA_L1, load_copy(UNMAPPED_VA, DST_VA, 16));
	submit(&d);
	expect_fault(NPU_FAULT_MMU_UNMAPPED, UNMAPPED_VA, 16, 9);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_JOB), 1);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	/* A later successful job leaves the fault registers alone. */
	d = make_desc(4, CTXA_L1, load_nop());
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CONTEXT), 9);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_FAULT | NPU_IRQ_JOB_DONE);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 3);
}
END_TEST

/* ---------------------------------------------------------------- */
/* MMU through jobs                                                  */
/* ---------------------------------------------------------------- */

START_TEST(test_mmu_unmapped)
{
	struct npu_job_desc d = make_desc(2, CTXA_L1, load_copy(SRC_VA, UNMAPPED_VA + 0x40, 64));

	submit(&d);
	/* BEGIN 16 + DMA 48 + WAIT 12: the TO_DRAM DMA is at 76. */
	expect_fault(NPU_FAULT_MMU_UNMAPPED, UNMAPPED_VA + 0x40, 76, 2);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
}
END_TEST

START_TEST(test_mmu_va_beyond_32_bits)
{
	/* dram_hi = 1: would alias SRC_VA if the MMU dropped the high bits. */
	struct npu_job_desc d = make_desc(2, CTXA_L1, load_copy((1ull << 32) | SRC_VA, DST_VA, 64));

	submit(&d);
	expect_fault(NPU_FAULT_MMU_UNMAPPED, (1ull << 32) | SRC_VA, 16, 2);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_ADDR_HI), 1);
	ck_assert_uint_eq(host.mem[DST_PA], 0);
}
END_TEST

START_TEST(test_mmu_permission)
{
	struct npu_job_desc d = make_desc(2, CTXA_L1, load_copy(SRC_VA, RO_VA + 0x100, 128));

	submit(&d);
	expect_fault(NPU_FAULT_MMU_PERMISSION, RO_VA + 0x100, 76, 2);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(host.mem[RO_PA + i], 0xa5);
	/* The command stream page is read-only too. */
	d = make_desc(2, CTXA_L1, load_copy(SRC_VA, CMD_VA + 0x800, 4));
	submit(&d);
	expect_fault(NPU_FAULT_MMU_PERMISSION, CMD_VA + 0x800, 76, 2);
}
END_TEST

START_TEST(test_mmu_page_crossing)
{
	struct npu_job_desc d = make_desc(2, CTXA_L1, load_copy(CROSS_VA + 0xf80, DST_VA, 256));

	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + CROSS1_PA + 0xf80, 128), 0);
	ck_assert_int_eq(memcmp(host.mem + DST_PA + 128, host.mem + CROSS2_PA, 128), 0);
	/* Physically contiguous bytes would differ: the split really happened. */
	ck_assert_int_ne(memcmp(host.mem + DST_PA + 128, host.mem + CROSS1_PA + 0x1000, 128), 0);
}
END_TEST

START_TEST(test_mmu_pt_bus_error)
{
	/* L1 table beyond the 16 MiB of physical memory: the command fetch fails. */
	struct npu_job_desc d = make_desc(5, 0x4000000, load_nop());

	submit(&d);
	expect_fault(NPU_FAULT_BUS_ERROR, 0x4000000, 0, 5);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	/* The device keeps going. */
	d = make_desc(5, CTXA_L1, load_nop());
	d.fence_value = 77;
	submit(&d);
	ck_assert_uint_eq(rd64(FENCE_PA), 77);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
}
END_TEST

START_TEST(test_two_contexts)
{
	struct npu_job_desc d;

	/* Context A writes to a VA only context B maps. */
	d = make_desc(0xa, CTXA_L1, load_copy(SRC_VA, B_VA, 64));
	submit(&d);
	expect_fault(NPU_FAULT_MMU_UNMAPPED, B_VA, 76, 0xa);
	for (int i = 0; i < 4096; i++)
		ck_assert_uint_eq(host.mem[B_PA + i], 0x3c);
	/* Context A reading it faults too. */
	d = make_desc(0xa, CTXA_L1, load_copy(B_VA, DST_VA, 64));
	submit(&d);
	expect_fault(NPU_FAULT_MMU_UNMAPPED, B_VA, 16, 0xa);

	/* In context B the same VA works (and A's SRC_VA does not exist). */
	d = make_desc(0xb, CTXB_L1, load_copy(B_VA, B_VA + 0x100, 64));
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	d = make_desc(0xb, CTXB_L1, load_copy(SRC_VA, B_VA, 64));
	submit(&d);
	expect_fault(NPU_FAULT_MMU_UNMAPPED, SRC_VA, 16, 0xb);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 4);
}
END_TEST

/* Page-table changes take effect at the next job (TLB flushed per job). */
START_TEST(test_pt_change_next_job)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_copy(SRC_VA, DST_VA, 32));

	submit(&d);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + SRC_PA, 32), 0);
	map(CTXA_L1, CTXA_L2, SRC_VA, CROSS2_PA, RO);
	submit(&d);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + CROSS2_PA, 32), 0);
	map(CTXA_L1, CTXA_L2, DST_VA, DST_PA, RO);
	submit(&d);
	expect_fault(NPU_FAULT_MMU_PERMISSION, DST_VA, 76, 1);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Descriptors and ring errors                                       */
/* ---------------------------------------------------------------- */

enum bad_field {
	BAD_FLAGS, BAD_FLAGS_BIT1, BAD_RES1, BAD_PT, BAD_PT_RANGE, BAD_CMD_VA, BAD_SIZE_ALIGN,
	BAD_SIZE_0, BAD_SIZE_BIG, BAD_FENCE, BAD_FENCE_RANGE, BAD_REPORT, BAD_REPORT_ALIGN32,
	BAD_REPORT_RANGE, BAD_COUNT
};

START_TEST(test_bad_descriptor)
{
	struct npu_job_desc good = make_desc(6, CTXA_L1, load_nop());
	struct npu_job_desc bad = good;
	uint32_t done = reg(NPU_REG_JOBS_DONE);

	switch (_i) {
	case BAD_FLAGS: bad.flags = 1u << 31; break;
	case BAD_FLAGS_BIT1: bad.flags = 2; break;
	case BAD_RES1: bad.reserved1 = 1ull << 40; break;
	case BAD_PT: bad.pt_base += 0x800; break;
	/* Bus addresses beyond NPU_PA_BITS are refused, never truncated. */
	case BAD_PT_RANGE: bad.pt_base |= 1ull << NPU_PA_BITS; break;
	case BAD_CMD_VA: bad.cmd_va += 2; break;
	case BAD_SIZE_ALIGN: bad.cmd_size += 2; break;
	case BAD_SIZE_0: bad.cmd_size = 0; break;
	case BAD_SIZE_BIG: bad.cmd_size = NPU_CMD_MAX_BYTES + 4; break;
	case BAD_FENCE: bad.fence_pa += 4; break;
	case BAD_FENCE_RANGE: bad.fence_pa |= 1ull << 41; break;
	case BAD_REPORT: bad.report_pa += 4; break;
	case BAD_REPORT_ALIGN32: bad.report_pa += 32; break;
	/* The report's last byte would be at 2^40 + 63. */
	case BAD_REPORT_RANGE: bad.report_pa = (1ull << NPU_PA_BITS) - 64; break;
	}
	bad.fence_value = 0xbad;
	good.fence_pa = FENCE2_PA;
	good.report_pa = REPORT2_PA;
	good.fence_value = 0x600d;
	memset(host.mem + FENCE_PA, 0xee, 8);
	queue_desc(&bad);
	queue_desc(&good);
	doorbell();

	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), done + 2);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), NPU_FAULT_BAD_DESCRIPTOR);
	ck_assert_int_eq(host.guest_errors, 1);
	ck_assert_ptr_nonnull(strstr(host.last_error, "job 0 (context 6) fault BAD_DESCRIPTOR"));
	ck_assert_uint_eq(reg(NPU_REG_FAULT_JOB), 0);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CONTEXT), 6);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_FAULT | NPU_IRQ_JOB_DONE);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	if (_i == BAD_REPORT || _i == BAD_REPORT_ALIGN32 || _i == BAD_REPORT_RANGE) {
		ck_assert_uint_eq(read_report(REPORT_PA).fault, 0);	/* untouched */
	} else {
		ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_BAD_DESCRIPTOR);
		ck_assert_uint_eq(read_report(REPORT_PA).fault_addr, RING_PA);
	}
	if (_i == BAD_FENCE || _i == BAD_FENCE_RANGE)
		ck_assert_uint_eq(rd64(FENCE_PA), 0xeeeeeeeeeeeeeeeeull);
	else
		ck_assert_uint_eq(rd64(FENCE_PA), 0xbad);
	/* The next job ran normally. */
	ck_assert_uint_eq(rd64(FENCE2_PA), 0x600d);
	ck_assert_uint_eq(read_report(REPORT2_PA).fault, NPU_FAULT_NONE);
	ck_assert_uint_gt(read_report(REPORT2_PA).cycles, 0);
}
END_TEST

START_TEST(test_no_fence_no_report)
{
	struct npu_job_desc d = make_desc(6, CTXA_L1, load_nop());

	d.fence_pa = 0;
	d.report_pa = 0;
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 1);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	ck_assert_uint_eq(rd64(0), 0);
	/* Report or fence writes that fail still complete the job. */
	d.fence_pa = 0x8000000;
	d.report_pa = 0x8000000 + 0x100;
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 2);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
}
END_TEST

enum ring_misconfig {
	RING_UNALIGNED, RING_SIZE_0, RING_SIZE_3, RING_SIZE_BIG, RING_OVERFULL, RING_BUS_ERROR,
	RING_BEYOND_PA_BITS, RING_ENDS_BEYOND_PA_BITS, RING_COUNT
};

START_TEST(test_ring_error)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());
	static const uint32_t cause[RING_COUNT] = {
		NPU_RING_ERR_BASE_ALIGN, NPU_RING_ERR_SIZE, NPU_RING_ERR_SIZE, NPU_RING_ERR_SIZE,
		NPU_RING_ERR_TAIL, NPU_RING_ERR_FETCH, NPU_RING_ERR_BASE_RANGE,
		NPU_RING_ERR_BASE_RANGE,
	};
	static const uint64_t addr[RING_COUNT] = {
		RING_PA + 0x800, RING_PA, RING_PA, RING_PA, RING_PA, 0x8000000000ull,
		0x40000000000ull, 0xfffffff000ull,
	};
	uint32_t tail = 1;

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	switch (_i) {
	case RING_UNALIGNED: ring_setup(RING_PA + 0x800, 8); break;
	case RING_SIZE_0: ring_setup(RING_PA, 0); ring_size = 1; break;
	case RING_SIZE_3: ring_setup(RING_PA, 3); break;
	case RING_SIZE_BIG: ring_setup(RING_PA, NPU_RING_MAX_ENTRIES * 2); break;
	case RING_OVERFULL: ring_setup(RING_PA, 4); tail = 5; break;
	case RING_BUS_ERROR: ring_setup(0x8000000000ull, 8); break;	/* no memory there */
	case RING_BEYOND_PA_BITS: ring_setup(0x40000000000ull, 8); break;
	case RING_ENDS_BEYOND_PA_BITS: ring_setup(0xfffffff000ull, 128); break;
	}
	queue_desc(&d);
	npusim_dev_reg_write(dev, NPU_REG_DOORBELL, tail);
	ck_assert_uint_eq(reg(NPU_REG_STATUS) & NPU_STATUS_HALTED, NPU_STATUS_HALTED);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_RING_ERROR);
	ck_assert_uint_eq(reg(NPU_REG_RING_ERROR), cause[_i]);
	ck_assert_int_eq(host.guest_errors, 1);
	ck_assert_ptr_nonnull(strstr(host.last_error, "ring error at job 0"));
	ck_assert_uint_eq((uint64_t)reg(NPU_REG_RING_ERROR_ADDR_HI) << 32 |
			  reg(NPU_REG_RING_ERROR_ADDR_LO), addr[_i]);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	ck_assert_int_eq(host.irq_level, 1);

	/* Stays halted: fixing the ring and ringing again does nothing. */
	ring_setup(RING_PA, 8);
	queue_desc(&d);
	doorbell();
	ck_assert_uint_eq(reg(NPU_REG_STATUS) & NPU_STATUS_HALTED, NPU_STATUS_HALTED);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	/* Clearing the IRQ does not un-halt either. */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	ck_assert_int_eq(host.irq_level, 0);
	doorbell();
	ck_assert_uint_eq(reg(NPU_REG_STATUS) & NPU_STATUS_HALTED, NPU_STATUS_HALTED);

	/* Reset recovers. */
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_RESET);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_ERROR), 0);
	ring_setup(RING_PA, 8);
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 1);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
}
END_TEST

/* Disabled: doorbells queue work but nothing runs until ENABLE. */
START_TEST(test_enable)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());

	npusim_dev_reg_write(dev, NPU_REG_CTRL, 0);
	submit(&d);
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 2);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_ENABLE);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 2);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Watchdog, reset, threads                                          */
/* ---------------------------------------------------------------- */

START_TEST(test_watchdog)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_loop());
	struct npu_job_report r;

	npusim_dev_reg_write(dev, NPU_REG_WATCHDOG_CYCLES, 1000);
	submit(&d);
	expect_fault(NPU_FAULT_WATCHDOG, read_report(REPORT_PA).fault_addr, 16, 4);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.cycles, 1000);	/* stopped at the budget */
	ck_assert_uint_gt(r.commands, 100);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);

	d = make_desc(4, CTXA_L1, load_copy(SRC_VA, DST_VA, 64));
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + SRC_PA, 64), 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 2);
}
END_TEST

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Waits (up to ~5 s) until STATUS.BUSY is seen; returns 1 if it was. */
static int wait_busy(void)
{
	for (int i = 0; i < 5000; i++) {
		if (reg(NPU_REG_STATUS) & NPU_STATUS_BUSY)
			return 1;
		sleep_ms(1);
	}
	return 0;
}

static void *reset_thread(void *arg)
{
	(void)arg;
	if (wait_busy()) {
		sleep_ms(5);
		npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_RESET);
	}
	return NULL;
}

START_TEST(test_reset_mid_job)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_loop());
	pthread_t t;
	double t0;
	int done;

	/* ~4 s of device time, seconds of wall time, unless the reset works. */
	npusim_dev_reg_write(dev, NPU_REG_WATCHDOG_CYCLES, 0xffffffffu);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	submit(&d);	/* kick mode: nothing runs yet */
	ck_assert_int_eq(host.kicks, 1);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), 0);	/* pending: neither idle nor busy */
	ck_assert_int_eq(pthread_create(&t, NULL, reset_thread, NULL), 0);
	t0 = now_s();
	done = npusim_dev_process(dev);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(done, 0);
	ck_assert(now_s() - t0 < 3.0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, 0);
	ck_assert_uint_eq(read_report(REPORT_PA).cycles, 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(reg(NPU_REG_CTRL), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_int_eq(host.irq_level, 0);

	/* The device works after the reset. */
	ring_setup(RING_PA, 16);
	d = make_desc(4, CTXA_L1, load_copy(SRC_VA, DST_VA, 64));
	submit(&d);
	ck_assert_int_eq(npusim_dev_process(dev), 1);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 1);
}
END_TEST

/* npusim_dev_reset() from another thread also stops a job and later ones. */
static void *dev_reset_thread(void *arg)
{
	(void)arg;
	if (wait_busy()) {
		sleep_ms(5);
		npusim_dev_reset(dev);
	}
	return NULL;
}

START_TEST(test_dev_reset_drops_queue)
{
	struct npu_job_desc loop = make_desc(4, CTXA_L1, load_loop());
	struct npu_job_desc next = loop;
	pthread_t t;

	next.fence_pa = FENCE2_PA;
	next.report_pa = REPORT2_PA;
	npusim_dev_reg_write(dev, NPU_REG_WATCHDOG_CYCLES, 0xffffffffu);
	queue_desc(&loop);
	queue_desc(&next);
	doorbell();
	ck_assert_int_eq(pthread_create(&t, NULL, dev_reset_thread, NULL), 0);
	ck_assert_int_eq(npusim_dev_process(dev), 0);
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	ck_assert_uint_eq(rd64(FENCE2_PA), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
}
END_TEST

struct proc_arg {
	int done;
};

static void *process_thread(void *arg)
{
	struct proc_arg *p = arg;

	p->done = npusim_dev_process(dev);
	return NULL;
}

static void gate_close(void)
{
	pthread_mutex_lock(&host.gate_lock);
	host.gate_closed = 1;
	host.gate_entered = 0;
	pthread_mutex_unlock(&host.gate_lock);
}

/* Waits until a job is blocked in the gate. */
static void gate_wait_entered(void)
{
	pthread_mutex_lock(&host.gate_lock);
	while (!host.gate_entered)
		pthread_cond_wait(&host.gate_cond, &host.gate_lock);
	pthread_mutex_unlock(&host.gate_lock);
}

static void gate_open(void)
{
	pthread_mutex_lock(&host.gate_lock);
	host.gate_closed = 0;
	pthread_cond_broadcast(&host.gate_cond);
	pthread_mutex_unlock(&host.gate_lock);
}

/* A second concurrent process call returns 0 at once; registers stay live. */
START_TEST(test_concurrent_process)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_copy(GATE_VA, DST_VA, 64));
	struct proc_arg a = { -1 };
	pthread_t t;

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE);
	memset(host.mem + GATE_PA, 0x77, 64);
	gate_close();
	submit(&d);
	ck_assert_int_eq(pthread_create(&t, NULL, process_thread, &a), 0);
	gate_wait_entered();
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_BUSY);
	ck_assert_int_eq(npusim_dev_process(dev), 0);
	/* Registers are usable while the job runs. */
	npusim_dev_reg_write(dev, NPU_REG_SCRATCH, 5);
	ck_assert_uint_eq(reg(NPU_REG_SCRATCH), 5);
	ck_assert_uint_eq(reg(NPU_REG_ID), NPU_HW_ID_MAGIC);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	gate_open();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(a.done, 1);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_uint_eq(host.mem[DST_PA + 63], 0x77);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_int_eq(host.irq_level, 1);
}
END_TEST

/* A doorbell while a job runs is picked up by the running process call. */
START_TEST(test_doorbell_while_running)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_copy(GATE_VA, DST_VA, 64));
	struct npu_job_desc next = d;
	struct proc_arg a = { -1 };
	pthread_t t;

	gate_close();
	submit(&d);
	ck_assert_int_eq(pthread_create(&t, NULL, process_thread, &a), 0);
	gate_wait_entered();
	next.fence_pa = FENCE2_PA;
	next.report_pa = REPORT2_PA;
	next.fence_value = 99;
	submit(&next);
	ck_assert_int_eq(host.kicks, 2);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 2);
	gate_open();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(a.done, 2);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_uint_eq(rd64(FENCE2_PA), 99);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 2);
}
END_TEST

/* A reset while a job is blocked mid-DMA: the job's results are dropped. */
START_TEST(test_reset_while_blocked)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_copy(GATE_VA, DST_VA, 64));
	struct proc_arg a = { -1 };
	pthread_t t;

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	gate_close();
	submit(&d);
	ck_assert_int_eq(pthread_create(&t, NULL, process_thread, &a), 0);
	gate_wait_entered();
	npusim_dev_reset(dev);
	/* The job is still inside its DMA: BUSY until it reaches a boundary. */
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_BUSY | NPU_STATUS_RESETTING);
	ck_assert_uint_eq(reg(NPU_REG_RING_TAIL), 0);
	gate_open();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(a.done, 0);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
	ck_assert_uint_eq(host.mem[DST_PA], 0);	/* stopped before the second DMA */
	ck_assert_uint_eq(read_report(REPORT_PA).cycles, 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_int_eq(host.irq_calls, 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* Contract: isolation, budgets, abort, reset completion, interrupts */
/* ---------------------------------------------------------------- */

/* Copies a stream to the second command page; returns its size. */
static uint32_t load_page1(const struct stream *s)
{
	memcpy(host.mem + CMD_PA + 4096, s->w, s->n * 4);
	return s->n * 4;
}

/* A job of context ctx that stores SRAM[0..bytes) to va. */
static uint32_t load_sram_dump(uint64_t va, uint32_t bytes)
{
	struct stream s;

	s_begin(&s);
	s_dma(&s, NPU_DMA_TO_DRAM, va, 0, bytes);
	s_end(&s);
	return load(&s);
}

START_TEST(test_sram_isolation)
{
	const uint64_t clear = (1u << 20) / NPU_SRAM_CLEAR_BYTES_PER_CYCLE;
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_copy(SRC_VA, DST_VA, 256));
	struct npu_job_report r;
	uint8_t zero[256] = { 0 };

	/* First job after reset: SRAM is cleared (its owner is unknown). */
	submit(&d);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(r.setup_cycles, clear);
	ck_assert_uint_eq(clear, 4096);
	/* The same context keeps its SRAM, at no cost. */
	d = make_desc(1, CTXA_L1, load_sram_dump(DST_VA + 1024, 256));
	submit(&d);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.setup_cycles, 0);
	ck_assert_int_eq(memcmp(host.mem + DST_PA + 1024, host.mem + SRC_PA, 256), 0);

	/* Context B dumping SRAM sees zeros, not A's bytes. */
	d = make_desc(2, CTXB_L1, load_sram_dump(B_VA, 256));
	submit(&d);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(r.setup_cycles, clear);
	ck_assert_int_eq(memcmp(host.mem + B_PA, zero, 256), 0);
	/* Cycles exclude the clearing: the same stream costs the same. */
	ck_assert_uint_lt(r.cycles, 1000);

	/* NPU_JOB_F_SRAM_CLEAR clears even within one context. */
	d = make_desc(2, CTXB_L1, load_sram_dump(B_VA, 256));
	d.flags = NPU_JOB_F_SRAM_CLEAR;
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).setup_cycles, clear);
	d.flags = 0;
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).setup_cycles, 0);
}
END_TEST

START_TEST(test_pte_beyond_pa_bits)
{
	/* Never a silently truncated mapping: 2^41 | 0x5000 is not 0x5000. */
	ck_assert_uint_eq(npu_pte_make((1ull << 41) | 0x5000, RW), 0);
	ck_assert_uint_eq(npu_pte_make(1ull << NPU_PA_BITS, RW), 0);
	ck_assert_uint_eq(npu_pte_pa(npu_pte_make((1ull << NPU_PA_BITS) - 4096, RW)),
			  (1ull << NPU_PA_BITS) - 4096);
	ck_assert(npu_pa_ok((1ull << NPU_PA_BITS) - 1));
	ck_assert(!npu_pa_ok(1ull << NPU_PA_BITS));
}
END_TEST

/* The per-job budget of the descriptor overrides WATCHDOG_CYCLES. */
START_TEST(test_job_budget)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_loop());
	struct npu_job_report r;

	d.watchdog_cycles = 2000;
	submit(&d);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.fault, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(r.cycles, 2000);
	ck_assert_uint_eq(reg(NPU_REG_WATCHDOG_CYCLES), 0);

	/* A DMA that would cross the budget does not run, nor count beyond it. */
	memset(host.mem + DST_PA, 0, 256);
	d = make_desc(4, CTXA_L1, load_copy(SRC_VA, DST_VA, 256));
	d.watchdog_cycles = 150;	/* BEGIN 4, DMA 4 + 100 + 16: the 2nd DMA crosses */
	submit(&d);
	r = read_report(REPORT_PA);
	ck_assert_uint_eq(r.fault, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(r.fault_cmd_offset, 76);	/* BEGIN 16 + DMA 48 + WAIT 12 */
	ck_assert_uint_eq(r.cycles, 150);
	ck_assert_uint_le(r.busy_cycles[NPU_ENGINE_DMA], 150);
	ck_assert_uint_eq(r.dram_write_bytes, 0);
	ck_assert_uint_eq(host.mem[DST_PA], 0);

	/* Without a budget the same job runs (register default). */
	d.watchdog_cycles = 0;
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + SRC_PA, 256), 0);
}
END_TEST

/* MMU faults say which engine accessed and how; FAULT_CODE latches. */
START_TEST(test_fault_info_and_latch)
{
	struct npu_job_desc d = make_desc(2, CTXA_L1, load_copy(SRC_VA, UNMAPPED_VA, 64));
	const uint32_t dma_write = NPU_FAULT_INFO_VALID | NPU_FAULT_INFO_WRITE |
				   NPU_ENGINE_DMA << NPU_FAULT_INFO_ENGINE_SHIFT;
	const uint32_t fetch_read = NPU_FAULT_INFO_VALID |
				    NPU_ENGINE_CTRL << NPU_FAULT_INFO_ENGINE_SHIFT;

	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault_info, dma_write);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_INFO), dma_write);

	/* A second fault between two reads does not tear the first's registers. */
	d = make_desc(3, CTXA_L1, 64);
	d.cmd_va = UNMAPPED_VA + 0x100;
	submit(&d);
	ck_assert_uint_eq(read_report(REPORT_PA).fault_info, fetch_read);
	ck_assert_uint_eq(reg_fault_addr(), UNMAPPED_VA);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CONTEXT), 2);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), NPU_FAULT_MMU_UNMAPPED);	/* relatch */
	ck_assert_uint_eq(reg_fault_addr(), UNMAPPED_VA + 0x100);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CONTEXT), 3);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_INFO), fetch_read);
	/* Non-memory faults carry no access information. */
	d = make_desc(3, CTXA_L1, load_loop());
	d.watchdog_cycles = 100;
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_INFO), 0);
}
END_TEST

/*
 * MSI: a fault arriving while JOB_DONE is pending, then a handler that
 * clears only what it saw: the line stays asserted and the device
 * re-sends, so the interrupt is not lost.
 */
START_TEST(test_irq_resend)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT);
	submit(&d);
	ck_assert_int_eq(host.irq_calls, 1);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);	/* handler reads */
	d.cmd_size = 6;
	submit(&d);						/* fault arrives */
	ck_assert_int_eq(host.irq_calls, 1);			/* level already high */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_JOB_DONE);
	ck_assert_int_eq(host.irq_level, 1);
	ck_assert_int_eq(host.irq_calls, 2);
	ck_assert_int_eq(host.irq_repeats, 1);			/* the re-send */
	/* Unmasking with the line high re-sends as well; clearing all lowers it. */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	ck_assert_int_eq(host.irq_repeats, 2);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	ck_assert_int_eq(host.irq_level, 0);
	ck_assert_int_eq(host.irq_calls, 4);
	/* Clearing while low sends nothing. */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	ck_assert_int_eq(host.irq_calls, 4);
}
END_TEST

START_TEST(test_signal_names_job)
{
	struct npu_job_desc d = make_desc(1, CTXA_L1, load_nop());
	struct stream s;

	submit(&d);
	submit(&d);
	s_begin(&s);
	s_signal(&s, DST_VA + 0x800, 0xabcdef0123456789ull, NPU_SIGNAL_F_IRQ);
	s_end(&s);
	d = make_desc(1, CTXA_L1, load(&s));
	submit(&d);
	ck_assert_uint_eq(reg(NPU_REG_SIGNAL_JOB), 2);
	ck_assert_uint_eq(reg(NPU_REG_SIGNAL_VALUE_LO), 0x23456789u);
	ck_assert_uint_eq(reg(NPU_REG_SIGNAL_VALUE_HI), 0xabcdef01u);
}
END_TEST

struct abort_arg {
	uint32_t progress[2];
	uint32_t status_after_wrong;
};

/* Aborts the running job: first with a wrong index (ignored), then right. */
static void *abort_thread(void *arg)
{
	struct abort_arg *a = arg;
	uint32_t running;

	if (!wait_busy())
		return NULL;
	running = reg(NPU_REG_RUNNING_JOB);
	a->progress[0] = reg(NPU_REG_PROGRESS);
	npusim_dev_reg_write(dev, NPU_REG_ABORT_JOB, running + 1);
	sleep_ms(20);
	a->progress[1] = reg(NPU_REG_PROGRESS);
	a->status_after_wrong = reg(NPU_REG_STATUS);
	npusim_dev_reg_write(dev, NPU_REG_ABORT_JOB, running);
	return NULL;
}

/* ABORT_JOB ends the running job as ABORTED, reported; the ring goes on. */
START_TEST(test_abort_job)
{
	struct npu_job_desc loop = make_desc(5, CTXA_L1, load_loop());
	struct npu_job_desc copy = make_desc(5, CTXA_L1, 0);
	struct abort_arg a = { { 0, 0 }, 0 };
	struct stream s;
	pthread_t t;
	int done;

	s_begin(&s);
	s_dma(&s, NPU_DMA_TO_SRAM, SRC_VA, 0, 64);
	s_wait_dma(&s);
	s_dma(&s, NPU_DMA_TO_DRAM, DST_VA, 0, 64);
	s_end(&s);
	copy.cmd_size = load_page1(&s);
	copy.cmd_va = CMD_VA + 4096;
	copy.fence_pa = FENCE2_PA;
	copy.report_pa = REPORT2_PA;
	loop.watchdog_cycles = 0xffffffffu;	/* seconds of wall time unless aborted */
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	queue_desc(&loop);
	queue_desc(&copy);
	doorbell();
	ck_assert_int_eq(pthread_create(&t, NULL, abort_thread, &a), 0);
	done = npusim_dev_process(dev);
	ck_assert_int_eq(pthread_join(t, NULL), 0);

	ck_assert_int_eq(done, 2);
	/* The wrong index left it running, and it was making progress. */
	ck_assert_uint_eq(a.status_after_wrong, NPU_STATUS_BUSY);
	ck_assert_uint_gt(a.progress[1], a.progress[0]);
	/* The aborted job completed with a report and its fence. */
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_ABORTED);
	ck_assert_uint_gt(read_report(REPORT_PA).commands, 2);
	ck_assert_uint_eq(rd64(FENCE_PA), loop.fence_value);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_CODE), NPU_FAULT_ABORTED);
	ck_assert_uint_eq(reg(NPU_REG_FAULT_JOB), 0);
	/* The next job ran normally. */
	ck_assert_uint_eq(read_report(REPORT2_PA).fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(rd64(FENCE2_PA), copy.fence_value);
	ck_assert_int_eq(memcmp(host.mem + DST_PA, host.mem + SRC_PA, 64), 0);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 2);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_FAULT | NPU_IRQ_JOB_DONE);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	/* An abort with nothing running is ignored. */
	npusim_dev_reg_write(dev, NPU_REG_ABORT_JOB, 2);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 2);
}
END_TEST

/* Reset completes asynchronously: RESETTING and reset_done. */
START_TEST(test_reset_completion)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_copy(GATE_VA, DST_VA, 64));
	struct proc_arg a = { -1 };
	pthread_t t;

	/* Idle: complete at once, from inside the call. */
	ck_assert_int_eq(npusim_dev_reset(dev), 1);
	ck_assert_int_eq(host.reset_dones, 1);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_RESET);
	ck_assert_int_eq(host.reset_dones, 2);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);

	/* Busy: pending until the job stops, then exactly one callback. */
	ring_setup(RING_PA, 16);
	gate_close();
	submit(&d);
	ck_assert_int_eq(pthread_create(&t, NULL, process_thread, &a), 0);
	gate_wait_entered();
	ck_assert_int_eq(npusim_dev_reset(dev), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_BUSY | NPU_STATUS_RESETTING);
	ck_assert_int_eq(host.reset_dones, 2);
	/* A second reset while the first is pending completes with it. */
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_RESET);
	ck_assert_int_eq(host.reset_dones, 2);
	gate_open();
	ck_assert_int_eq(pthread_join(t, NULL), 0);
	ck_assert_int_eq(host.reset_dones, 3);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(rd64(FENCE_PA), 0);
}
END_TEST

static void reset_now(void)
{
	ck_assert_int_eq(npusim_dev_reset(dev), 0);	/* the job is still completing */
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_BUSY | NPU_STATUS_RESETTING);
}

/*
 * A reset while a job writes its results: the job had finished, so its
 * report and fence land (the fence tells software it completed), but
 * HEAD, JOBS_DONE and the interrupt belong to the reset state.
 */
START_TEST(test_reset_while_completing)
{
	struct npu_job_desc d = make_desc(4, CTXA_L1, load_copy(SRC_VA, DST_VA, 64));

	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_ALL);
	host.hook_pa = REPORT_PA;
	host.hook = reset_now;
	submit(&d);
	ck_assert_ptr_null(host.hook);
	ck_assert_uint_eq(read_report(REPORT_PA).fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(rd64(FENCE_PA), d.fence_value);
	ck_assert_uint_eq(reg(NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(reg(NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(reg(NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(reg(NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_int_eq(host.reset_dones, 1);
	ck_assert_int_eq(host.irq_calls, 0);
}
END_TEST

Suite *suite_dev(void);
Suite *suite_dev(void)
{
	Suite *s = suite_create("dev");
	TCase *regs = tcase_create("regs");
	TCase *jobs = tcase_create("jobs");
	TCase *mmu = tcase_create("mmu");
	TCase *errs = tcase_create("errors");
	TCase *thr = tcase_create("threads");
	TCase *contract = tcase_create("contract");

	tcase_add_checked_fixture(regs, setup_sync, teardown);
	tcase_add_test(regs, test_id_regs);
	tcase_add_test(regs, test_cfg_regs_follow_config);
	tcase_add_test(regs, test_rw_and_ro_regs);
	suite_add_tcase(s, regs);

	tcase_add_checked_fixture(jobs, setup_sync, teardown);
	tcase_add_test(jobs, test_job_copy);
	tcase_add_test(jobs, test_ring_wrap);
	tcase_add_test(jobs, test_signal_irq);
	tcase_add_test(jobs, test_irq_mask);
	tcase_add_test(jobs, test_fault_regs_track_latest_fault);
	tcase_add_test(jobs, test_enable);
	tcase_add_test(jobs, test_watchdog);
	suite_add_tcase(s, jobs);

	tcase_add_checked_fixture(mmu, setup_sync, teardown);
	tcase_add_test(mmu, test_mmu_unmapped);
	tcase_add_test(mmu, test_mmu_va_beyond_32_bits);
	tcase_add_test(mmu, test_mmu_permission);
	tcase_add_test(mmu, test_mmu_page_crossing);
	tcase_add_test(mmu, test_mmu_pt_bus_error);
	tcase_add_test(mmu, test_two_contexts);
	tcase_add_test(mmu, test_pt_change_next_job);
	suite_add_tcase(s, mmu);

	tcase_add_checked_fixture(errs, setup_sync, teardown);
	tcase_add_loop_test(errs, test_bad_descriptor, 0, BAD_COUNT);
	tcase_add_test(errs, test_no_fence_no_report);
	tcase_add_loop_test(errs, test_ring_error, 0, RING_COUNT);
	suite_add_tcase(s, errs);

	tcase_add_checked_fixture(thr, setup_kick, teardown);
	tcase_add_test(thr, test_reset_mid_job);
	tcase_add_test(thr, test_dev_reset_drops_queue);
	tcase_add_test(thr, test_concurrent_process);
	tcase_add_test(thr, test_doorbell_while_running);
	tcase_add_test(thr, test_reset_while_blocked);
	tcase_add_test(thr, test_abort_job);
	tcase_add_test(thr, test_reset_completion);
	suite_add_tcase(s, thr);

	tcase_add_checked_fixture(contract, setup_sync, teardown);
	tcase_add_test(contract, test_sram_isolation);
	tcase_add_test(contract, test_pte_beyond_pa_bits);
	tcase_add_test(contract, test_job_budget);
	tcase_add_test(contract, test_fault_info_and_latch);
	tcase_add_test(contract, test_irq_resend);
	tcase_add_test(contract, test_signal_names_job);
	tcase_add_test(contract, test_reset_while_completing);
	suite_add_tcase(s, contract);
	return s;
}
