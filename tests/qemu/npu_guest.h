/* SPDX-License-Identifier: MIT */
/*
 * The "guest" side of the QEMU device tests: PCI configuration through
 * ports 0xCF8/0xCFC, BAR0 registers, and a 1 MiB image of guest memory
 * (ring, reports, fences, page tables, command streams, data) built on
 * the host.
 *
 * The same image runs twice: uploaded into the QEMU guest and run by the
 * device, and run in-process on libnpusim's device layer (npusim_dev) as
 * the reference, so the two results can be compared byte for byte.
 */
#ifndef NPU_GUEST_H
#define NPU_GUEST_H

#include <stdint.h>

#include "npusim.h"
#include "qtest_client.h"

#define NPU_SLOT	4		/* -device npu,addr=04.0 */
#define BAR0		0xe0000000ull	/* where the tests place BAR0 */

/* Guest physical layout of the image. */
#define IMG_BASE	0x1000000ull	/* 16 MiB */
#define IMG_SIZE	(1u << 20)
#define RING_PA		(IMG_BASE + 0x0000)	/* 64 entries */
#define RING_ENTRIES	64u
#define REPORT_PA(i)	(IMG_BASE + 0x1000 + 128ull * ((i) % 32))
#define FENCE_PA(i)	(IMG_BASE + 0x2000 + 8ull * ((i) % 32))
#define L1_PA		(IMG_BASE + 0x3000)
#define L2_PA		(IMG_BASE + 0x4000)
#define MSI_PA		(IMG_BASE + 0x5000)	/* MSI messages land here */
#define CMD_PA		(IMG_BASE + 0x10000)	/* command streams, 64 KiB */
#define DATA_PA		(IMG_BASE + 0x20000)	/* buffers, to the end */
/* NPU virtual layout: the command and data area, mapped 1:1 from VA_BASE. */
#define VA_BASE		0x100000u
#define CMD_VA		VA_BASE
#define DATA_VA		(VA_BASE + 0x10000u)
#define UNMAPPED_VA	0x3000000u

struct guest {
	struct qt qt;
	uint8_t img[IMG_SIZE];		/* guest memory image, IMG_BASE.. */
	uint32_t tail;			/* software ring tail */
};

/* PCI configuration space of the device at NPU_SLOT. */
uint32_t pci_cfg_read(struct guest *g, uint32_t slot, uint32_t off);
void pci_cfg_write(struct guest *g, uint32_t slot, uint32_t off, uint32_t v);
/* Places BAR0, enables memory decoding and bus mastering. */
void npu_pci_enable(struct guest *g);

uint32_t npu_reg(struct guest *g, uint32_t off);
void npu_wreg(struct guest *g, uint32_t off, uint32_t v);
/* CTRL.RESET, then waits (bounded) for RESETTING to clear. */
void npu_reset(struct guest *g);
/* Programs the ring (RING_PA, RING_ENTRIES) and enables the device. */
void npu_ring_setup(struct guest *g);
/* Polls RING_HEAD until it reaches head (bounded); 0 or -1 on timeout. */
int npu_wait_head(struct guest *g, uint32_t head, int timeout_ms);

/* Image: page tables mapping [VA_BASE, VA_BASE + size of CMD+DATA) RW. */
void img_init(struct guest *g);
void *img_ptr(struct guest *g, uint64_t pa, uint32_t len);
/* Copies a command stream to CMD_PA + off; returns its VA. */
uint64_t img_stream(struct guest *g, uint32_t off, const uint32_t *w, uint32_t bytes);
/* A descriptor for ring index i (its report and fence slots). */
struct npu_job_desc img_desc(uint32_t i, uint32_t ctx, uint64_t cmd_va, uint32_t cmd_size);
/* Writes desc into ring entry tail (local image), returns the entry PA. */
uint64_t img_queue(struct guest *g, const struct npu_job_desc *d);
/* Uploads the whole image into guest memory. */
void img_upload(struct guest *g);

/*
 * Runs the image's ring entries [0, tail) on an in-process npusim_dev
 * over a private copy of the image; returns that copy (malloc'd).
 */
uint8_t *reference_run(const struct guest *g, uint32_t jobs);

#endif /* NPU_GUEST_H */
