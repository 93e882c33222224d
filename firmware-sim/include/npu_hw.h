/* SPDX-License-Identifier: MIT */
/*
 * npu-v1 host interface: MMIO registers, job ring, job descriptor, job
 * report, device MMU, fault codes.
 *
 * This header IS the hardware contract. The kernel driver, libnpu, the
 * compiler and the device model (libnpusim, QEMU device) all include it.
 * Documentation/npu-architecture.rst explains every field in prose.
 * It must stay includable from kernel code: fixed-width types only, no
 * libc, no bitfields, little-endian layouts, explicit reserved fields.
 */
#ifndef NPU_HW_H
#define NPU_HW_H

#ifdef __KERNEL__
#include <linux/types.h>
/* In-memory layouts are little-endian: sparse checks the kernel's accesses. */
typedef __le32 npu_le32;
typedef __le64 npu_le64;
#else
#include <stdint.h>
typedef uint32_t npu_le32;
typedef uint64_t npu_le64;
#endif

/* ---------------------------------------------------------------- */
/* Identification                                                    */
/* ---------------------------------------------------------------- */
#define NPU_HW_ID_MAGIC		0x4e505531u	/* "NPU1" */
#define NPU_HW_VERSION_MAJOR	1u
#define NPU_HW_VERSION_MINOR	0u
/*
 * PCI binding (Documentation/npu-architecture.rst, "Bus bindings"): an ID
 * from QEMU's range "available for experimental usage without
 * registration" (1af4:10f0-10ff, docs/specs/pci-ids.txt). It must become
 * an assigned ID before the device ships outside the test lab.
 */
#define NPU_PCI_VENDOR_ID	0x1af4u
#define NPU_PCI_DEVICE_ID	0x10f0u
#define NPU_PCI_CLASS		0x1200u	/* processing accelerator */
#define NPU_MMIO_SIZE		0x1000u	/* BAR0 / reg window size */
#define NPU_DT_COMPATIBLE	"opennpu,npu-v1"

/* ---------------------------------------------------------------- */
/* MMIO register map (32-bit registers, 32-bit aligned accesses)     */
/* ---------------------------------------------------------------- */
#define NPU_REG_ID		0x000	/* RO: NPU_HW_ID_MAGIC */
#define NPU_REG_VERSION		0x004	/* RO: major << 16 | minor */
#define NPU_REG_ISA_VERSION	0x008	/* RO: command-stream ISA major << 16 | minor */
#define NPU_REG_CAPS		0x00c	/* RO: NPU_CAP_* bits */
#define NPU_REG_CFG_MAC_ARRAY	0x010	/* RO: mac_oc << 16 | mac_ic (MACs/cycle = product) */
#define NPU_REG_CFG_SRAM_BYTES	0x014	/* RO: on-chip SRAM size in bytes */
#define NPU_REG_CFG_DMA_BPC	0x018	/* RO: DMA bytes per cycle */
#define NPU_REG_CFG_CLOCK_KHZ	0x01c	/* RO: core clock in kHz */
#define NPU_REG_CFG_VEC_LANES	0x020	/* RO: elementwise/pool/LUT lanes per cycle */
#define NPU_REG_CFG_MMU		0x024	/* RO: va_bits << 16 | pa_bits << 8 | page_shift */
#define NPU_REG_CTRL		0x030	/* RW: NPU_CTRL_* */
#define NPU_REG_STATUS		0x034	/* RO: NPU_STATUS_* */
#define NPU_REG_IRQ_STATUS	0x038	/* RO: raw NPU_IRQ_* bits */
#define NPU_REG_IRQ_MASK	0x03c	/* RW: 1 = enabled; line = IRQ_STATUS & IRQ_MASK */
#define NPU_REG_IRQ_CLEAR	0x040	/* WO: write 1 to clear */
#define NPU_REG_RING_BASE_LO	0x050	/* RW: ring physical address, 4 KiB aligned */
#define NPU_REG_RING_BASE_HI	0x054
#define NPU_REG_RING_SIZE	0x058	/* RW: entries, power of two, 1..NPU_RING_MAX_ENTRIES */
#define NPU_REG_RING_HEAD	0x05c	/* RO: free-running count of consumed descriptors */
#define NPU_REG_RING_TAIL	0x060	/* RO: last value written to DOORBELL */
#define NPU_REG_DOORBELL	0x064	/* WO: new free-running tail; starts processing */
#define NPU_REG_WATCHDOG_CYCLES	0x068	/* RW: per-job cycle budget, 0 = NPU_WATCHDOG_DEFAULT */
#define NPU_REG_JOBS_DONE	0x06c	/* RO: jobs completed since reset (ok or faulted) */
#define NPU_REG_ABORT_JOB	0x070	/* WO: ring index of the running job to abort */
#define NPU_REG_PROGRESS	0x074	/* RO: free-running count of commands executed */
#define NPU_REG_RUNNING_JOB	0x078	/* RO: ring index of the running job (if BUSY) */
/*
 * Fault registers: a snapshot of the latest faulted job. Reading
 * FAULT_CODE latches the snapshot that the other FAULT_* registers then
 * return, so a fault arriving between two reads cannot tear them.
 */
#define NPU_REG_FAULT_CODE	0x080	/* RO: NPU_FAULT_* of the latest faulted job; latches */
#define NPU_REG_FAULT_CONTEXT	0x084	/* RO: context_id of that job */
#define NPU_REG_FAULT_ADDR_LO	0x088	/* RO: faulting NPU VA / bus address / SRAM offset */
#define NPU_REG_FAULT_ADDR_HI	0x08c
#define NPU_REG_FAULT_CMD_OFFSET 0x090	/* RO: byte offset of the faulting command */
#define NPU_REG_FAULT_JOB	0x094	/* RO: ring index (free-running) of that job */
#define NPU_REG_FAULT_INFO	0x098	/* RO: NPU_FAULT_INFO_* of that fault */
#define NPU_REG_RING_ERROR	0x0a0	/* RO: NPU_RING_ERR_* of the latest ring error */
#define NPU_REG_RING_ERROR_ADDR_LO 0x0a4 /* RO: bus address involved (descriptor, base) */
#define NPU_REG_RING_ERROR_ADDR_HI 0x0a8
/* SIGNAL: reading SIGNAL_JOB latches SIGNAL_VALUE_LO/HI of the same SIGNAL. */
#define NPU_REG_SIGNAL_JOB	0x0b0	/* RO: ring index of the job of the latest IRQ SIGNAL */
#define NPU_REG_SIGNAL_VALUE_LO	0x0b4	/* RO: its value */
#define NPU_REG_SIGNAL_VALUE_HI	0x0b8
#define NPU_REG_SCRATCH		0x0fc	/* RW: no effect; for bus tests */

#define NPU_CAP_ZMASK		(1u << 0)	/* DMA_DECOMPRESS format ZMASK */
#define NPU_CAP_PALETTE4	(1u << 1)	/* DMA_DECOMPRESS format PALETTE4 */
#define NPU_CAP_MATMUL		(1u << 2)
#define NPU_CAP_LUT		(1u << 3)
#define NPU_CAP_POOL		(1u << 4)
#define NPU_CAP_HAZARD_CHECK	(1u << 5)	/* missing WAITs fault with NPU_FAULT_HAZARD */

#define NPU_CTRL_ENABLE		(1u << 0)	/* process the ring */
#define NPU_CTRL_RESET		(1u << 1)	/* self-clearing: abort the job, reset state */

/* IDLE: nothing executing and nothing will start by itself (ring empty,
 * ENABLE clear, or HALTED): jobs may be pending while IDLE is set. */
#define NPU_STATUS_IDLE		(1u << 0)
#define NPU_STATUS_BUSY		(1u << 1)	/* a job is executing (or being aborted) */
#define NPU_STATUS_HALTED	(1u << 2)	/* ring error: stopped until RESET */
/* A reset was requested and the job it aborts has not stopped yet; no
 * device memory access happens once it reads 0. */
#define NPU_STATUS_RESETTING	(1u << 3)

#define NPU_IRQ_JOB_DONE	(1u << 0)	/* a job completed without fault */
#define NPU_IRQ_JOB_FAULT	(1u << 1)	/* a job ended with a fault */
#define NPU_IRQ_RING_ERROR	(1u << 2)	/* bad ring setup or descriptor fetch error: HALTED */
#define NPU_IRQ_SIGNAL		(1u << 3)	/* a SIGNAL command asked for an IRQ */
#define NPU_IRQ_ALL		0xfu

/* NPU_REG_FAULT_INFO and npu_job_report.fault_info (MMU, BUS_ERROR faults). */
#define NPU_FAULT_INFO_VALID	(1u << 0)	/* access kind and engine below are known */
#define NPU_FAULT_INFO_WRITE	(1u << 1)	/* the access was a write (else a read) */
#define NPU_FAULT_INFO_ENGINE_SHIFT 4		/* bits 7:4: NPU_ENGINE_* that accessed */
#define NPU_FAULT_INFO_ENGINE_MASK (0xfu << 4)

/* NPU_REG_RING_ERROR causes. */
enum npu_ring_error {
	NPU_RING_ERR_NONE = 0,
	NPU_RING_ERR_BASE_ALIGN = 1,	/* RING_BASE not 4 KiB aligned */
	NPU_RING_ERR_BASE_RANGE = 2,	/* ring reaches beyond 2^pa_bits */
	NPU_RING_ERR_SIZE = 3,		/* RING_SIZE not a power of two in 1..4096 */
	NPU_RING_ERR_TAIL = 4,		/* TAIL - HEAD > RING_SIZE */
	NPU_RING_ERR_FETCH = 5,		/* descriptor read failed (bus error) */
};

#define NPU_RING_MAX_ENTRIES	4096u
#define NPU_WATCHDOG_DEFAULT	500000000ull	/* cycles: 0.5 s at 1 GHz */
#define NPU_CMD_MAX_BYTES	(16u << 20)	/* largest command stream */
/* SRAM clearing between contexts: bytes per cycle (1 MiB: 4096 cycles). */
#define NPU_SRAM_CLEAR_BYTES_PER_CYCLE 256u
/* On silicon a reset completes (RESETTING clears) within this time. */
#define NPU_RESET_MAX_US	1000u

/* ---------------------------------------------------------------- */
/* Job descriptor: one ring entry, 64 bytes, in system memory        */
/*                                                                   */
/* "_pa" fields are bus (DMA) addresses as the device emits them: an */
/* IOMMU may translate them. All must lie below 2^NPU_PA_BITS.       */
/* ---------------------------------------------------------------- */
#define NPU_JOB_F_SRAM_CLEAR	(1u << 0)	/* clear SRAM first even if same context */
#define NPU_JOB_F_ALL		NPU_JOB_F_SRAM_CLEAR

struct npu_job_desc {
	npu_le32 flags;		/* NPU_JOB_F_*; other bits must be 0 */
	npu_le32 context_id;	/* SRAM owner; reported with faults */
	npu_le64 pt_base;	/* bus address of the L1 page table, 4 KiB aligned */
	npu_le64 cmd_va;	/* NPU VA of the command stream, 4-byte aligned */
	npu_le32 cmd_size;	/* bytes, multiple of 4, 4..NPU_CMD_MAX_BYTES */
	npu_le32 watchdog_cycles; /* job budget; 0 = NPU_REG_WATCHDOG_CYCLES */
	npu_le64 fence_pa;	/* 8-byte aligned, 0 = none: gets fence_value */
	npu_le64 fence_value;
	npu_le64 report_pa;	/* 64-byte aligned, 0 = none: gets npu_job_report */
	npu_le64 reserved1;	/* must be 0 */
};

/* Written by the device to report_pa before the fence, 128 bytes. */
struct npu_job_report {
	npu_le32 fault;		/* NPU_FAULT_* (NPU_FAULT_NONE on success) */
	npu_le32 fault_cmd_offset; /* byte offset of the faulting command */
	npu_le64 fault_addr;	/* VA, PA or SRAM offset, by fault code */
	npu_le64 cycles;	/* job cycles, first fetch to last engine idle */
	npu_le64 macs;		/* multiply-accumulates performed */
	npu_le64 dram_read_bytes;
	npu_le64 dram_write_bytes;
	npu_le64 busy_cycles[4]; /* per engine: DMA, MAC, VEC, control */
	npu_le64 commands;	/* commands executed (jumps re-count) */
	npu_le64 setup_cycles;	/* before the stream: SRAM clearing (not in cycles) */
	npu_le32 fault_info;	/* NPU_FAULT_INFO_* */
	npu_le32 reserved0;
	npu_le64 reserved[3];
};

/* ---------------------------------------------------------------- */
/* Fault codes (npu_job_report.fault, NPU_REG_FAULT_CODE)            */
/* ---------------------------------------------------------------- */
enum npu_fault {
	NPU_FAULT_NONE = 0,
	NPU_FAULT_BAD_OPCODE = 1,	/* unknown opcode */
	NPU_FAULT_BAD_LENGTH = 2,	/* length word wrong for opcode / past end */
	NPU_FAULT_BAD_VERSION = 3,	/* no BEGIN first, or unsupported ISA version */
	NPU_FAULT_BAD_FIELD = 4,	/* reserved bits set, zero/too large dims, bad mode */
	NPU_FAULT_SRAM_RANGE = 5,	/* SRAM access beyond CFG_SRAM_BYTES */
	NPU_FAULT_MMU_UNMAPPED = 6,	/* VA not mapped (or >= 2^va_bits) */
	NPU_FAULT_MMU_PERMISSION = 7,	/* read of non-R page or write of non-W page */
	NPU_FAULT_WATCHDOG = 8,		/* job exceeded its cycle budget */
	NPU_FAULT_STREAM_OVERRUN = 9,	/* ran off the end without END */
	NPU_FAULT_BAD_DESCRIPTOR = 10,	/* invalid job descriptor field */
	NPU_FAULT_HAZARD = 11,		/* SRAM race between engines: missing WAIT */
	NPU_FAULT_DECOMPRESS = 12,	/* malformed compressed weight stream */
	NPU_FAULT_BUS_ERROR = 13,	/* physical access failed (page table, DMA) */
	NPU_FAULT_ALIGNMENT = 14,	/* misaligned address where alignment is required */
	NPU_FAULT_ABORTED = 15,		/* stopped by NPU_REG_ABORT_JOB (reported) or reset (not) */
	NPU_FAULT_COUNT
};

/* ---------------------------------------------------------------- */
/* Device MMU: two-level tables, 4 KiB pages, 32-bit VA, 40-bit PA   */
/* ---------------------------------------------------------------- */
#define NPU_PAGE_SHIFT		12
#define NPU_PAGE_SIZE		(1u << NPU_PAGE_SHIFT)
#define NPU_VA_BITS		32
#define NPU_PA_BITS		40
#define NPU_PT_ENTRIES		1024u		/* per table, 32-bit entries: one page */
#define NPU_VA_L1_SHIFT		22		/* VA[31:22] indexes L1 */
#define NPU_VA_L2_SHIFT		12		/* VA[21:12] indexes L2 */
#define NPU_PTE_VALID		(1u << 0)
#define NPU_PTE_READ		(1u << 1)	/* L2 only */
#define NPU_PTE_WRITE		(1u << 2)	/* L2 only */
#define NPU_PTE_PFN_SHIFT	4		/* PTE[31:4] = PA >> 12 */
#define NPU_PTE_PFN_MASK	0xfffffff0u

/* A bus address the device can emit (below 2^NPU_PA_BITS). */
static inline int npu_pa_ok(uint64_t pa)
{
	return (pa >> NPU_PA_BITS) == 0;
}

/*
 * An entry mapping pa with flags; 0 (an invalid entry, so accesses fault)
 * if pa is beyond NPU_PA_BITS: never a silently truncated address.
 */
static inline uint32_t npu_pte_make(uint64_t pa, uint32_t flags)
{
	if (!npu_pa_ok(pa))
		return 0;
	return (uint32_t)(((pa >> NPU_PAGE_SHIFT) << NPU_PTE_PFN_SHIFT) & NPU_PTE_PFN_MASK) | flags;
}

static inline uint64_t npu_pte_pa(uint32_t pte)
{
	return (uint64_t)(pte >> NPU_PTE_PFN_SHIFT) << NPU_PAGE_SHIFT;
}

/* Compile-time layout checks (C11 and kernel C both have _Static_assert). */
_Static_assert(sizeof(struct npu_job_desc) == 64, "job descriptor is 64 bytes");
_Static_assert(sizeof(struct npu_job_report) == 128, "job report is 128 bytes");

#endif /* NPU_HW_H */
