// SPDX-License-Identifier: MIT
/*
 * The QEMU device "npu" through the qtest protocol: PCI enumeration,
 * registers, jobs built in guest memory and compared byte for byte with
 * libnpusim run in-process, MMU faults, the watchdog, device and system
 * reset in the middle of a job, MSI and INTx, and a burst of random
 * register writes and DMA addresses after which the device still works.
 *
 * Each test starts its own QEMU (about 60 ms) and kills it; the binary
 * comes from $NPU_QEMU (scripts/build-qemu.sh builds it).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "npu_guest.h"
#include "stream.h"

static struct guest *g;

static void start(const char *device)
{
	const char *extra[] = { "-device", device, NULL };

	g = calloc(1, sizeof(*g));
	ck_assert_ptr_nonnull(g);
	if (qt_start(&g->qt, extra)) {
		qt_print_log(&g->qt);
		ck_abort_msg("QEMU did not start");
	}
	img_init(g);
	npu_pci_enable(g);
}

static void setup(void)
{
	start("npu,addr=04.0");
}

static void teardown(void)
{
	if (!g)
		return;
	qt_stop(&g->qt);
	free(g);
	g = NULL;
}

static void sleep_ms(int ms)
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

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

#define CONV_H	16
#define CONV_W	16
#define CONV_C	32
#define CONV_OC	32
#define IN_PA	DATA_PA
#define W_PA	(DATA_PA + 0x4000)
#define Q_PA	(DATA_PA + 0x8000)
#define OUT_PA	(DATA_PA + 0x9000)
#define COPY_PA	(DATA_PA + 0xe000)
#define VA(pa)	(DATA_VA + (uint32_t)((pa) - DATA_PA))

static uint32_t rng_state = 12345;

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 17;
	rng_state ^= rng_state << 5;
	return rng_state;
}

/*
 * A 3x3 convolution 16x16x32 -> 16x16x32 with padding 1 and per-channel
 * requantisation, random data: DMA in, CONV, DMA out. Returns the stream
 * size; the stream is at CMD_PA + off.
 */
static uint32_t make_conv_job(uint32_t off)
{
	const uint32_t in_bytes = CONV_H * CONV_W * CONV_C;
	const uint32_t w_bytes = CONV_OC * 9 * CONV_C;
	const uint32_t q_bytes = CONV_OC * sizeof(struct npu_qparam);
	const uint32_t sram_w = in_bytes, sram_q = sram_w + w_bytes, sram_out = sram_q + q_bytes;
	struct npu_qparam *q = img_ptr(g, Q_PA, q_bytes);
	int8_t *in = img_ptr(g, IN_PA, in_bytes), *w = img_ptr(g, W_PA, w_bytes);
	struct npu_cmd_conv c;
	struct stream s;
	uint32_t size;

	for (uint32_t i = 0; i < in_bytes; i++)
		in[i] = (int8_t)rnd();
	for (uint32_t i = 0; i < w_bytes; i++)
		w[i] = (int8_t)rnd();
	for (uint32_t i = 0; i < CONV_OC; i++) {
		q[i].bias = (int32_t)(rnd() % 2001) - 1000;
		q[i].mult = 0x40000000u + rnd() % 0x3fffffffu;
		q[i].shift = 38 + rnd() % 4;
	}
	memset(&c, 0, sizeof(c));
	c.in_addr = 0;
	c.w_addr = sram_w;
	c.q_addr = sram_q;
	c.out_addr = sram_out;
	c.in_h = CONV_H;
	c.in_w = CONV_W;
	c.in_c = CONV_C;
	c.in_pix_stride = CONV_C;
	c.out_h = CONV_H;
	c.out_w = CONV_W;
	c.out_c = CONV_OC;
	c.out_pix_stride = CONV_OC;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = 1;
	c.dil_h = c.dil_w = 1;
	c.pad_top = c.pad_left = 1;
	c.groups = 1;
	c.in_zp = 3;
	c.out_zp = -5;
	c.act_min = -128;
	c.act_max = 127;

	stream_init(&s);
	st_begin(&s);
	st_dma_in(&s, VA(IN_PA), 0, in_bytes);
	st_dma_in(&s, VA(W_PA), sram_w, w_bytes);
	st_dma_in(&s, VA(Q_PA), sram_q, q_bytes);
	st_wait(&s, ENG_DMA, 0);
	st_conv(&s, &c);
	st_wait(&s, ENG_MAC, 0);
	st_dma_out(&s, sram_out, VA(OUT_PA), CONV_H * CONV_W * CONV_OC);
	st_end(&s);
	size = stream_bytes(&s);
	img_stream(g, off, s.w, size);
	stream_free(&s);
	return size;
}

/* Copies 256 bytes from src_va to COPY_PA through SRAM. */
static uint32_t make_copy_job(uint32_t off, uint64_t src_va)
{
	struct stream s;
	uint32_t size;

	stream_init(&s);
	st_begin(&s);
	st_dma_in(&s, src_va, 0, 256);
	st_wait(&s, ENG_DMA, 0);
	st_dma_out(&s, 0, VA(COPY_PA), 256);
	st_end(&s);
	size = stream_bytes(&s);
	img_stream(g, off, s.w, size);
	stream_free(&s);
	return size;
}

static uint32_t make_loop_job(uint32_t off)
{
	struct stream s;
	uint32_t size;

	stream_init(&s);
	st_begin(&s);
	st_jump(&s, 16);
	size = stream_bytes(&s);
	img_stream(g, off, s.w, size);
	stream_free(&s);
	return size;
}

/* Doorbell for everything queued in the image (uploaded first). */
static void run_queued(void)
{
	img_upload(g);
	npu_ring_setup(g);
	npu_wreg(g, NPU_REG_DOORBELL, g->tail);
}

static void read_report(uint32_t i, struct npu_job_report *r)
{
	qt_memread(&g->qt, REPORT_PA(i), r, sizeof(*r));
}

static uint64_t read_fence(uint32_t i)
{
	uint64_t v;

	qt_memread(&g->qt, FENCE_PA(i), &v, sizeof(v));
	return v;
}

/* Guest memory [pa, pa + len) equals the reference image there. */
static void expect_same(const uint8_t *ref, uint64_t pa, uint32_t len, const char *what)
{
	uint8_t *got = malloc(len);

	ck_assert_ptr_nonnull(got);
	qt_memread(&g->qt, pa, got, len);
	ck_assert_msg(memcmp(got, ref + (pa - IMG_BASE), len) == 0,
		      "%s differs between QEMU and in-process libnpusim", what);
	free(got);
}

/* ------------------------------------------------------------------ */
/* PCI and registers                                                   */
/* ------------------------------------------------------------------ */

/* The offset of the device's MSI capability in its configuration space. */
static uint32_t msi_cap(void)
{
	for (uint32_t c = pci_cfg_read(g, NPU_SLOT, 0x34) & 0xfc; c;
	     c = (pci_cfg_read(g, NPU_SLOT, c) >> 8) & 0xfc)
		if ((pci_cfg_read(g, NPU_SLOT, c) & 0xff) == 0x05)
			return c;
	ck_abort_msg("no MSI capability");
	return 0;
}

START_TEST(test_pci_enumeration)
{
	uint32_t found = 0, slot = 0, msi;

	for (uint32_t s = 0; s < 32; s++) {
		if (pci_cfg_read(g, s, 0) == (NPU_PCI_DEVICE_ID << 16 | NPU_PCI_VENDOR_ID)) {
			found++;
			slot = s;
		}
	}
	ck_assert_uint_eq(found, 1);
	ck_assert_uint_eq(slot, NPU_SLOT);
	ck_assert_uint_eq(pci_cfg_read(g, slot, 0x08), NPU_PCI_CLASS << 16 | NPU_HW_VERSION_MINOR);
	ck_assert_uint_eq((pci_cfg_read(g, slot, 0x3c) >> 8) & 0xff, 1);	/* INTA */
	/* BAR0: 4 KiB, 32-bit memory, not prefetchable; no BAR1. */
	pci_cfg_write(g, slot, 0x10, 0xffffffffu);
	ck_assert_uint_eq(pci_cfg_read(g, slot, 0x10), ~(NPU_MMIO_SIZE - 1));
	pci_cfg_write(g, slot, 0x14, 0xffffffffu);
	ck_assert_uint_eq(pci_cfg_read(g, slot, 0x14), 0);
	/* Capability list with MSI, 64-bit addresses, one vector. */
	ck_assert_uint_ne(pci_cfg_read(g, slot, 0x04) & (1u << 20), 0);
	msi = msi_cap();
	ck_assert_uint_ne(pci_cfg_read(g, slot, msi) >> 16 & 0x80, 0);		/* 64-bit */
	ck_assert_uint_eq(pci_cfg_read(g, slot, msi) >> 16 & 0x0e, 0);		/* 1 vector */
}
END_TEST

START_TEST(test_register_reset_values)
{
	npu_pci_enable(g);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_ID), NPU_HW_ID_MAGIC);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_VERSION), 0x00010000u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_ISA_VERSION), NPU_ISA_VERSION);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CAPS), 0x3fu);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_MAC_ARRAY), 0x00100020u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_SRAM_BYTES), 0x00100000u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_DMA_BPC), 16);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_CLOCK_KHZ), 1000000);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_VEC_LANES), 16);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_MMU), 0x0020280cu);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_STATUS), NPU_STATUS_IDLE);
	for (uint32_t off = NPU_REG_CTRL; off < NPU_MMIO_SIZE; off += 4)
		if (off != NPU_REG_STATUS)
			ck_assert_msg(npu_reg(g, off) == 0, "register 0x%03x not 0 at reset", off);

	/* RW, masked RW, RO, WO. */
	npu_wreg(g, NPU_REG_SCRATCH, 0xdeadbeef);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_SCRATCH), 0xdeadbeef);
	npu_wreg(g, NPU_REG_IRQ_MASK, 0xffffffff);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_MASK), NPU_IRQ_ALL);
	npu_wreg(g, NPU_REG_ID, 0);
	npu_wreg(g, NPU_REG_RING_HEAD, 5);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_ID), NPU_HW_ID_MAGIC);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_DOORBELL), 0);
	/* Only aligned 32-bit accesses: bytes, unaligned words are ignored. */
	qt_writeb(&g->qt, BAR0 + NPU_REG_SCRATCH, 0x11);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_SCRATCH), 0xdeadbeef);
	ck_assert_uint_eq(qt_readb(&g->qt, BAR0 + NPU_REG_ID), 0);
	ck_assert_uint_eq(qt_readl(&g->qt, BAR0 + NPU_REG_ID + 2), 0);
	/* A 64-bit access is two 32-bit ones. */
	qt_writeq(&g->qt, BAR0 + NPU_REG_RING_BASE_LO, 0x0000000123456000ull);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RING_BASE_LO), 0x23456000u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RING_BASE_HI), 1);
	/* Reset restores everything. */
	npu_reset(g);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_SCRATCH), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_MASK), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RING_BASE_HI), 0);
}
END_TEST

START_TEST(test_properties)
{
	const char *bad[] = { "-device", "npu,addr=04.0,sram-size=12345", NULL };
	struct qt q;

	teardown();
	start("npu,addr=04.0,sram-size=0x40000,mac-oc=8,hazard-check=off");
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_SRAM_BYTES), 0x40000u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CFG_MAC_ARRAY), 8u << 16 | 32u);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CAPS), 0x1fu);
	/* A bad configuration is refused with a message, not an abort. */
	ck_assert_int_ne(qt_start(&q, bad), 0);
	ck_assert(qt_log_contains(&q, "npu: sram_bytes must be a multiple of 4 KiB"));
}
END_TEST

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

START_TEST(test_conv_bit_exact)
{
	struct npu_job_desc d = img_desc(0, 1, CMD_VA, make_conv_job(0));
	struct npu_job_report got;
	uint8_t *ref;

	img_queue(g, &d);
	ref = reference_run(g, 1);
	run_queued();
	ck_assert_int_eq(npu_wait_head(g, 1, 20000), 0);
	read_report(0, &got);
	ck_assert_uint_eq(got.fault, NPU_FAULT_NONE);
	ck_assert_uint_eq(got.macs, (uint64_t)CONV_H * CONV_W * CONV_OC * 9 * CONV_C);
	ck_assert_uint_gt(got.cycles, 0);
	expect_same(ref, OUT_PA, CONV_H * CONV_W * CONV_OC, "convolution output");
	expect_same(ref, REPORT_PA(0), sizeof(struct npu_job_report), "job report");
	ck_assert_uint_eq(read_fence(0), d.fence_value);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_JOBS_DONE), 1);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);
	free(ref);
}
END_TEST

START_TEST(test_mmu_fault_then_good_job)
{
	struct npu_job_desc bad = img_desc(0, 7, CMD_VA, make_copy_job(0, UNMAPPED_VA));
	struct npu_job_desc good = img_desc(1, 8, CMD_VA + 0x1000, make_copy_job(0x1000, VA(IN_PA)));
	struct npu_job_report r;
	uint8_t *ref;

	for (uint32_t i = 0; i < 256; i++)
		*(uint8_t *)img_ptr(g, IN_PA + i, 1) = (uint8_t)(i * 7 + 1);
	img_queue(g, &bad);
	img_queue(g, &good);
	ref = reference_run(g, 2);
	run_queued();
	ck_assert_int_eq(npu_wait_head(g, 2, 10000), 0);
	read_report(0, &r);
	ck_assert_uint_eq(r.fault, NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(r.fault_addr, UNMAPPED_VA);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_CODE), NPU_FAULT_MMU_UNMAPPED);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_ADDR_LO), UNMAPPED_VA);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_CONTEXT), 7);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_JOB), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_INFO),
			  NPU_FAULT_INFO_VALID | NPU_ENGINE_DMA << NPU_FAULT_INFO_ENGINE_SHIFT);
	read_report(1, &r);
	ck_assert_uint_eq(r.fault, NPU_FAULT_NONE);
	expect_same(ref, COPY_PA, 256, "copied data");
	expect_same(ref, REPORT_PA(0), 2 * sizeof(struct npu_job_report), "reports");
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT);
	/* -d guest_errors names the fault. */
	ck_assert(qt_log_contains(&g->qt, "npu: job 0 (context 7) fault MMU_UNMAPPED"));
	free(ref);
}
END_TEST

/* Runs a good copy job as the next job and checks it (after resets). */
static void good_job_runs(uint32_t ctx)
{
	struct npu_job_desc d;
	struct npu_job_report r;
	uint8_t data[256], out[256];

	for (uint32_t i = 0; i < 256; i++)
		data[i] = (uint8_t)(i ^ 0x5a ^ ctx);
	qt_memwrite(&g->qt, IN_PA, data, sizeof(data));
	make_copy_job(0x2000, VA(IN_PA));
	d = img_desc(g->tail, ctx, CMD_VA + 0x2000, 0);
	d.cmd_size = 16 + 48 + 12 + 48 + 4;	/* BEGIN, DMA, WAIT, DMA, END */
	qt_memwrite(&g->qt, CMD_PA + 0x2000, img_ptr(g, CMD_PA + 0x2000, d.cmd_size), d.cmd_size);
	qt_memwrite(&g->qt, RING_PA + (uint64_t)(g->tail % RING_ENTRIES) * sizeof(d), &d,
		    sizeof(d));
	g->tail++;
	npu_wreg(g, NPU_REG_DOORBELL, g->tail);
	ck_assert_int_eq(npu_wait_head(g, g->tail, 10000), 0);
	read_report(g->tail - 1, &r);
	ck_assert_uint_eq(r.fault, NPU_FAULT_NONE);
	qt_memread(&g->qt, COPY_PA, out, sizeof(out));
	ck_assert_int_eq(memcmp(out, data, sizeof(out)), 0);
	ck_assert_uint_eq(read_fence(g->tail - 1), d.fence_value);
}

START_TEST(test_watchdog_reset_good_job)
{
	struct npu_job_desc d = img_desc(0, 3, CMD_VA, make_loop_job(0));
	struct npu_job_report r;

	d.watchdog_cycles = 200000;
	img_queue(g, &d);
	run_queued();
	ck_assert_int_eq(npu_wait_head(g, 1, 10000), 0);
	read_report(0, &r);
	ck_assert_uint_eq(r.fault, NPU_FAULT_WATCHDOG);
	ck_assert_uint_eq(r.cycles, 200000);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_CODE), NPU_FAULT_WATCHDOG);
	npu_reset(g);
	npu_ring_setup(g);
	good_job_runs(3);
}
END_TEST

/* A job of ~2^32 modelled cycles: seconds of host time unless stopped. */
static void start_endless_job(void)
{
	struct npu_job_desc d = img_desc(0, 4, CMD_VA, make_loop_job(0));
	int i;

	d.watchdog_cycles = 0xffffffffu;
	img_queue(g, &d);
	run_queued();
	for (i = 0; i < 5000 && !(npu_reg(g, NPU_REG_STATUS) & NPU_STATUS_BUSY); i++)
		sleep_ms(1);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_STATUS), NPU_STATUS_BUSY);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RUNNING_JOB), 0);
}

START_TEST(test_reset_mid_job)
{
	double t0;
	uint32_t p0;

	start_endless_job();
	p0 = npu_reg(g, NPU_REG_PROGRESS);
	sleep_ms(10);
	ck_assert_uint_gt(npu_reg(g, NPU_REG_PROGRESS), p0);	/* slow, not hung */
	t0 = now_s();
	npu_reset(g);
	ck_assert(now_s() - t0 < 1.0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_RING_HEAD), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_JOBS_DONE), 0);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_STATUS), 0);
	ck_assert_uint_eq(read_fence(0), 0);	/* aborted by reset: no fence */
	npu_ring_setup(g);
	good_job_runs(4);
}
END_TEST

/* ABORT_JOB stops one job; the ring goes on without a reset. */
START_TEST(test_abort_job)
{
	struct npu_job_report r;

	start_endless_job();
	npu_wreg(g, NPU_REG_ABORT_JOB, 0);
	ck_assert_int_eq(npu_wait_head(g, 1, 2000), 0);
	read_report(0, &r);
	ck_assert_uint_eq(r.fault, NPU_FAULT_ABORTED);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_FAULT_CODE), NPU_FAULT_ABORTED);
	ck_assert_uint_ne(read_fence(0), 0);
	good_job_runs(4);
}
END_TEST

/* A system reset (PIIX reset control register) mid-job: device reset too. */
START_TEST(test_system_reset_mid_job)
{
	int i;

	start_endless_job();
	ck_assert_ptr_nonnull(qt_cmd(&g->qt, "outb 0xcf9 0x6"));
	/* The reset is carried out by QEMU's main loop: wait for PCI to show it. */
	for (i = 0; i < 5000 && pci_cfg_read(g, NPU_SLOT, 0x10) != 0; i++)
		sleep_ms(1);
	ck_assert_int_lt(i, 5000);
	npu_pci_enable(g);
	for (i = 0; i < 5000 && npu_reg(g, NPU_REG_STATUS) != NPU_STATUS_IDLE; i++)
		sleep_ms(1);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_STATUS), NPU_STATUS_IDLE);
	ck_assert_uint_eq(npu_reg(g, NPU_REG_CTRL), 0);
	ck_assert_uint_eq(read_fence(0), 0);
	g->tail = 0;
	npu_ring_setup(g);
	good_job_runs(5);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Interrupts                                                          */
/* ------------------------------------------------------------------ */

static uint32_t msi_word(void)
{
	uint32_t v;

	qt_memread(&g->qt, MSI_PA, &v, 4);
	return v;
}

/* Waits up to 2 s for an MSI message (data 0x4242 written to MSI_PA). */
static int msi_seen(void)
{
	for (int i = 0; i < 2000; i++) {
		if (msi_word() == 0x4242) {
			qt_memwrite(&g->qt, MSI_PA, "\0\0\0\0", 4);
			return 1;
		}
		sleep_ms(1);
	}
	return 0;
}

START_TEST(test_msi)
{
	uint32_t cap = msi_cap();
	struct npu_job_desc ok = img_desc(0, 1, CMD_VA, make_copy_job(0, VA(IN_PA)));
	struct npu_job_desc bad = img_desc(1, 1, CMD_VA, 6);	/* bad size: faults */

	/* MSI to a RAM address: each message is a visible write there. */
	pci_cfg_write(g, NPU_SLOT, cap + 4, (uint32_t)MSI_PA);
	pci_cfg_write(g, NPU_SLOT, cap + 8, 0);
	pci_cfg_write(g, NPU_SLOT, cap + 12, 0x4242);
	pci_cfg_write(g, NPU_SLOT, cap, pci_cfg_read(g, NPU_SLOT, cap) | 1u << 16);
	img_queue(g, &ok);
	img_upload(g);
	npu_wreg(g, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT);
	npu_ring_setup(g);
	npu_wreg(g, NPU_REG_DOORBELL, 1);
	ck_assert(msi_seen());
	ck_assert_uint_eq(npu_reg(g, NPU_REG_IRQ_STATUS), NPU_IRQ_JOB_DONE);

	/* A fault while DONE is pending: no new edge, no message... */
	qt_memwrite(&g->qt, RING_PA + sizeof(bad), &bad, sizeof(bad));
	npu_wreg(g, NPU_REG_DOORBELL, 2);
	ck_assert_int_eq(npu_wait_head(g, 2, 5000), 0);
	sleep_ms(20);
	ck_assert_uint_eq(msi_word(), 0);
	/* ...until the handler clears only DONE: the device re-sends. */
	npu_wreg(g, NPU_REG_IRQ_CLEAR, NPU_IRQ_JOB_DONE);
	ck_assert(msi_seen());
	npu_wreg(g, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	sleep_ms(20);
	ck_assert_uint_eq(msi_word(), 0);
}
END_TEST

START_TEST(test_intx)
{
	struct npu_job_desc d;

	teardown();
	start("npu,addr=04.0,msi=off");
	d = img_desc(0, 1, CMD_VA, make_copy_job(0, VA(IN_PA)));
	/*
	 * No firmware runs under qtest: route PIIX3's PIRQA-D (config 0x60,
	 * slot 1) to ISA IRQ 11 as a BIOS would; slot 4 INTA is PIRQA.
	 */
	pci_cfg_write(g, 1, 0x60, 0x0b0b0b0bu);
	qt_irq_intercept(&g->qt);
	img_queue(g, &d);
	img_upload(g);
	npu_wreg(g, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE);
	npu_ring_setup(g);
	npu_wreg(g, NPU_REG_DOORBELL, 1);
	ck_assert_int_eq(npu_wait_head(g, 1, 5000), 0);
	qt_poll_async(&g->qt, 200);
	ck_assert_int_eq(g->qt.irq_raised, 1);
	ck_assert_int_eq(g->qt.irq_lowered, 0);
	npu_wreg(g, NPU_REG_IRQ_CLEAR, NPU_IRQ_ALL);
	qt_poll_async(&g->qt, 200);
	ck_assert_int_eq(g->qt.irq_lowered, 1);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Hostile guest                                                       */
/* ------------------------------------------------------------------ */

/* A random bus address: RAM, the image, the BAR itself, beyond RAM, beyond 2^40. */
static uint64_t random_addr(void)
{
	switch (rnd() % 6) {
	case 0: return IMG_BASE + (rnd() % IMG_SIZE);
	case 1: return BAR0 + (rnd() % NPU_MMIO_SIZE);
	case 2: return (uint64_t)rnd() << 12;
	case 3: return ((uint64_t)rnd() << 32 | rnd());
	case 4: return 0x8000000ull + (rnd() % 0x1000000);	/* just above RAM */
	default: return rnd() & ~7u;
	}
}

/* A stream of DMAs with random addresses, sizes and strides at CMD_PA + off. */
static uint32_t make_random_dma_job(uint32_t off)
{
	struct stream s;
	uint32_t size;

	stream_init(&s);
	st_begin(&s);
	for (int i = 0; i < 8; i++) {
		uint64_t va = rnd() % 2 ? VA_BASE + rnd() % (IMG_SIZE - 0x10000) : random_addr();

		st_dma(&s, rnd() % 2, va, rnd() % (1u << 20), 1 + rnd() % 4096, 1 + rnd() % 4,
		       1 + rnd() % 4, rnd() % 8192, rnd() % 65536, rnd() % 8192, rnd() % 65536);
		if (rnd() % 2)
			st_wait(&s, ENG_DMA, 0);
	}
	st_end(&s);
	size = stream_bytes(&s);
	img_stream(g, off, s.w, size);
	stream_free(&s);
	return size;
}

/* A descriptor: fully random, or valid tables and random everything else. */
static void random_desc(struct npu_job_desc *d)
{
	uint64_t *w = (uint64_t *)d;

	if (rnd() % 2) {
		for (int k = 0; k < 8; k++)
			w[k] = rnd() % 3 ? random_addr() : ((uint64_t)rnd() << 32 | rnd());
		if (rnd() % 2)
			w[0] &= 0xffffffff00000000ull;	/* flags 0, some context */
		return;
	}
	*d = img_desc(rnd() % 32, rnd() % 4, CMD_VA + 0x8000, make_random_dma_job(0x8000));
	if (rnd() % 2)
		d->fence_pa = random_addr() & ~7ull;
	if (rnd() % 2)
		d->report_pa = random_addr() & ~63ull;
	d->watchdog_cycles = rnd() % 2 ? rnd() % 100000 : 0;
}

START_TEST(test_random_burst)
{
	int jobs = 0;

	rng_state = 0x9e3779b9u;
	for (int i = 0; i < 3000; i++) {
		uint32_t off = rnd() % 0x100 & ~3u, v = rnd();

		if (rnd() % 50 == 0) {
			/* Back to a working ring now and then, so random jobs run. */
			npu_wreg(g, NPU_REG_CTRL, NPU_CTRL_RESET);
			npu_ring_setup(g);
			g->tail = 0;
			continue;
		}
		if (rnd() % 4 == 0) {
			struct npu_job_desc d;

			random_desc(&d);
			qt_memwrite(&g->qt, CMD_PA + 0x8000, img_ptr(g, CMD_PA + 0x8000, 0x1000), 0x1000);
			qt_memwrite(&g->qt, RING_PA + 64 * (g->tail % RING_ENTRIES), &d, sizeof(d));
			off = NPU_REG_DOORBELL;
			v = ++g->tail;
			jobs++;
		} else if (off == NPU_REG_CTRL) {
			v &= ~NPU_CTRL_RESET;	/* resets are above */
		}
		npu_wreg(g, off, v);
		if (i % 500 == 0)
			ck_assert_uint_eq(npu_reg(g, NPU_REG_ID), NPU_HW_ID_MAGIC);
	}
	ck_assert_int_gt(jobs, 500);
	/* QEMU still answers, logged what went wrong, and after a reset a good job runs. */
	ck_assert(qt_alive(&g->qt));
	ck_assert(qt_log_contains(&g->qt, "fault MMU_UNMAPPED"));
	ck_assert(qt_log_contains(&g->qt, "fault BAD_DESCRIPTOR"));
	ck_assert(qt_log_contains(&g->qt, "ring error"));
	ck_assert_uint_eq(npu_reg(g, NPU_REG_ID), NPU_HW_ID_MAGIC);
	npu_pci_enable(g);
	npu_reset(g);
	img_init(g);
	img_upload(g);
	npu_ring_setup(g);
	good_job_runs(9);
}
END_TEST

static Suite *suite_qemu(void)
{
	Suite *s = suite_create("qemu-npu");
	TCase *pci = tcase_create("pci");
	TCase *jobs = tcase_create("jobs");
	TCase *irq = tcase_create("irq");
	TCase *hostile = tcase_create("hostile");
	TCase *all[] = { pci, jobs, irq, hostile };

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		tcase_add_checked_fixture(all[i], setup, teardown);
		tcase_set_timeout(all[i], 60);
		suite_add_tcase(s, all[i]);
	}
	tcase_add_test(pci, test_pci_enumeration);
	tcase_add_test(pci, test_register_reset_values);
	tcase_add_test(pci, test_properties);
	tcase_add_test(jobs, test_conv_bit_exact);
	tcase_add_test(jobs, test_mmu_fault_then_good_job);
	tcase_add_test(jobs, test_watchdog_reset_good_job);
	tcase_add_test(jobs, test_reset_mid_job);
	tcase_add_test(jobs, test_abort_job);
	tcase_add_test(jobs, test_system_reset_mid_job);
	tcase_add_test(irq, test_msi);
	tcase_add_test(irq, test_intx);
	tcase_add_test(hostile, test_random_burst);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(suite_qemu());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
