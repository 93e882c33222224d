/* SPDX-License-Identifier: MIT */
/*
 * npu-v1 command-stream ISA, version 1.0.
 *
 * A command stream is a sequence of little-endian 32-bit words in NPU
 * virtual memory. Every command starts with a header word:
 *
 *   bits  7:0   opcode (enum npu_opcode)
 *   bits 15:8   length of the command in 32-bit words, header included;
 *               must equal sizeof(struct npu_cmd_<op>) / 4 in ISA 1.x
 *   bits 31:16  reserved, must be 0
 *
 * The first command must be BEGIN carrying the ISA version. Execution ends
 * at END. Commands are dispatched in order to three engines (DMA, MAC,
 * VEC); each engine executes its own commands in order, engines run
 * concurrently, and WAIT orders them. Control commands (NOP, BEGIN, END,
 * WAIT, JUMP, SIGNAL) execute in the dispatcher.
 *
 * SRAM addresses are byte offsets into on-chip SRAM. DRAM addresses are
 * NPU virtual addresses (translated by the device MMU, npu_hw.h).
 * A compute command's output may overlap its inputs: the result is as if
 * every input byte were read before any output byte is written.
 * Activations are int8 NHWC (channels innermost). Documentation/
 * npu-architecture.rst gives the semantics; npu_arith.h the arithmetic.
 */
#ifndef NPU_ISA_H
#define NPU_ISA_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdint.h>
#endif

#define NPU_ISA_VERSION_MAJOR	1u
#define NPU_ISA_VERSION_MINOR	0u
#define NPU_ISA_VERSION		((NPU_ISA_VERSION_MAJOR << 16) | NPU_ISA_VERSION_MINOR)

#define NPU_CMD_OPCODE(hdr)	((hdr) & 0xffu)
#define NPU_CMD_WORDS(hdr)	(((hdr) >> 8) & 0xffu)
#define NPU_CMD_RESERVED(hdr)	((hdr) >> 16)
#define NPU_CMD_HDR(op, type)	((uint32_t)(op) | (uint32_t)(sizeof(type) / 4) << 8)

enum npu_opcode {
	NPU_OP_NOP = 0x00,
	NPU_OP_BEGIN = 0x01,
	NPU_OP_END = 0x02,
	NPU_OP_WAIT = 0x03,
	NPU_OP_JUMP = 0x04,
	NPU_OP_SIGNAL = 0x05,
	NPU_OP_DMA = 0x10,
	NPU_OP_DMA_DECOMPRESS = 0x11,
	NPU_OP_CONV = 0x20,
	NPU_OP_MATMUL = 0x21,
	NPU_OP_ELTWISE = 0x30,
	NPU_OP_POOL = 0x31,
	NPU_OP_LUT = 0x32,
};

enum npu_engine {
	NPU_ENGINE_DMA = 0,	/* DMA, DMA_DECOMPRESS */
	NPU_ENGINE_MAC = 1,	/* CONV, MATMUL (with post-processing) */
	NPU_ENGINE_VEC = 2,	/* ELTWISE, POOL, LUT */
	NPU_ENGINE_CTRL = 3,	/* dispatcher: control commands */
	NPU_ENGINE_COUNT = 4
};

/* NOP: does nothing (padding). */
struct npu_cmd_nop {
	uint32_t hdr;
};

/* BEGIN: must be the first command. */
struct npu_cmd_begin {
	uint32_t hdr;
	uint32_t version;	/* NPU_ISA_VERSION; major must match, minor <= device's */
	uint32_t flags;		/* must be 0 */
	uint32_t reserved;	/* must be 0 */
};

/* END: waits for all engines to be idle, then the job completes. */
struct npu_cmd_end {
	uint32_t hdr;
};

/*
 * WAIT: stall the dispatcher until each engine in engine_mask (bit per
 * enum npu_engine, DMA..VEC) has at most max_outstanding commands issued
 * but not finished. max_outstanding = 0 means "idle".
 */
struct npu_cmd_wait {
	uint32_t hdr;
	uint32_t engine_mask;	/* bits 0..2; other bits must be 0; nonzero */
	uint32_t max_outstanding; /* 0..NPU_QUEUE_DEPTH-1 */
};

/* JUMP: continue at byte offset target of this stream (4-byte aligned). */
struct npu_cmd_jump {
	uint32_t hdr;
	uint32_t target;	/* < cmd_size, multiple of 4 */
};

/*
 * SIGNAL: wait for all engines to be idle, then write the 64-bit value to
 * NPU VA addr (8-byte aligned, writable), then raise NPU_IRQ_SIGNAL if
 * flags has NPU_SIGNAL_F_IRQ.
 */
#define NPU_SIGNAL_F_IRQ	(1u << 0)
struct npu_cmd_signal {
	uint32_t hdr;
	uint32_t flags;
	uint32_t addr_lo, addr_hi;
	uint32_t value_lo, value_hi;
};

/*
 * DMA: 3-D strided copy between DRAM (NPU VA) and SRAM.
 * for (i2 = 0; i2 < count2; i2++)
 *   for (i1 = 0; i1 < count1; i1++)
 *     copy inner_bytes between dram + i2*dram_stride2 + i1*dram_stride1
 *                      and     sram + i2*sram_stride2 + i1*sram_stride1
 * in that order (later rows win where destinations overlap).
 */
#define NPU_DMA_DIR_MASK	0x3u
#define NPU_DMA_TO_SRAM		0u	/* DRAM -> SRAM */
#define NPU_DMA_TO_DRAM		1u	/* SRAM -> DRAM */
struct npu_cmd_dma {
	uint32_t hdr;
	uint32_t flags;		/* bits 1:0 direction; others must be 0 */
	uint32_t dram_lo, dram_hi;
	uint32_t sram;
	uint32_t inner_bytes;	/* >= 1 */
	uint32_t count1, count2; /* >= 1 */
	uint32_t dram_stride1, dram_stride2;
	uint32_t sram_stride1, sram_stride2;
};

/*
 * DMA_DECOMPRESS: read src_bytes of a compressed weight stream from DRAM,
 * decode out_bytes into contiguous SRAM at sram. Formats:
 * ZMASK: groups of 8 output bytes; a mask byte (bit i = output byte i is
 *   nonzero) followed by popcount(mask) int8 values. In the last group,
 *   mask bits at or beyond out_bytes must be 0.
 * PALETTE4: 16 int8 codebook entries, then ceil(out_bytes/2) bytes of
 *   4-bit indices, low nibble first.
 * The stream must be consumed exactly (src_bytes), else NPU_FAULT_DECOMPRESS.
 * Limits (else NPU_FAULT_BAD_FIELD): out_bytes <= SRAM size and
 * src_bytes <= 2 * out_bytes + 16 (no valid stream is longer).
 */
#define NPU_COMPRESS_ZMASK	1u
#define NPU_COMPRESS_PALETTE4	2u
struct npu_cmd_dma_decompress {
	uint32_t hdr;
	uint32_t format;
	uint32_t src_lo, src_hi;
	uint32_t src_bytes;	/* >= 1 */
	uint32_t sram;
	uint32_t out_bytes;	/* >= 1 */
	uint32_t reserved;	/* must be 0 */
};

/*
 * Per-output-channel post-processing parameters in SRAM (12 bytes each,
 * little-endian): see npu_arith.h for how they are applied. Every bit
 * pattern has a defined result: mult bit 31 is ignored, shift is clamped
 * to [NPU_SHIFT_MIN, NPU_SHIFT_MAX].
 */
struct npu_qparam {
	int32_t bias;
	uint32_t mult;
	uint32_t shift;
};

#define NPU_CONV_F_PER_TENSOR_Q	(1u << 0)	/* one npu_qparam for all channels */

/*
 * CONV: 2-D convolution of one NHWC int8 tile, int32 accumulation, fused
 * post-processing. Weights: [out_c][k_h][k_w][in_c/groups] int8.
 * Output pixel (oy, ox), channel oc, group g = oc / (out_c/groups):
 *   acc = bias[oc] + sum_{ky,kx,ci} (x[iy][ix][g*icg+ci] - in_zp) * (w - w_zp)
 *   iy = oy*stride_h - pad_top + ky*dil_h, ix likewise; taps outside the
 *   input are padding and contribute 0.
 * Pixel strides let a tile read a channel slice and write into a wider
 * (concatenated) tensor: element (y, x, c) is at addr + (y*w + x)*pix_stride + c.
 */
struct npu_cmd_conv {
	uint32_t hdr;
	uint32_t flags;		/* NPU_CONV_F_*; others must be 0 */
	uint32_t in_addr, w_addr, q_addr, out_addr;
	uint16_t in_h, in_w;
	uint16_t in_c, in_pix_stride;	/* in_pix_stride >= in_c */
	uint16_t out_h, out_w;
	uint16_t out_c, out_pix_stride;	/* out_pix_stride >= out_c */
	uint8_t k_h, k_w, stride_h, stride_w;	/* 1..NPU_CONV_MAX_K, 1..NPU_MAX_STRIDE */
	uint8_t dil_h, dil_w, pad_top, pad_left; /* dil 1..NPU_MAX_DILATION */
	uint16_t groups, reserved0;	/* groups divides in_c and out_c */
	int8_t in_zp, w_zp, out_zp, act_min;
	int8_t act_max, reserved1[3];	/* act_min <= act_max */
};

/*
 * MATMUL: out[m][n] = post(bias[n] + sum_k (a[m][k]-a_zp) * (b[k][n]-b_zp))
 * A row-major [m][a_row_stride], B row-major [k][n] (packed),
 * out row-major [m][out_row_stride]. Per-column qparams (n of them) unless
 * NPU_CONV_F_PER_TENSOR_Q.
 */
struct npu_cmd_matmul {
	uint32_t hdr;
	uint32_t flags;		/* NPU_CONV_F_PER_TENSOR_Q */
	uint32_t a_addr, b_addr, q_addr, out_addr;
	uint16_t m, k;
	uint16_t n, a_row_stride;	/* a_row_stride >= k */
	uint16_t out_row_stride, reserved0; /* out_row_stride >= n */
	int8_t a_zp, b_zp, out_zp, act_min;
	int8_t act_max, reserved1[3];
};

/*
 * ELTWISE: out[i] = op(a[i], b[j]) for i < count, rescaled (npu_arith.h);
 * j = i (NONE), 0 (SCALAR) or i % channels (CHANNEL). MUL ignores the
 * a_* and b_* mult/shift fields.
 */
enum npu_eltwise_op { NPU_ELT_ADD = 0, NPU_ELT_SUB = 1, NPU_ELT_MUL = 2 };
enum npu_bcast { NPU_BCAST_NONE = 0, NPU_BCAST_SCALAR = 1, NPU_BCAST_CHANNEL = 2 };
struct npu_cmd_eltwise {
	uint32_t hdr;
	uint8_t op, bcast, reserved0[2];
	uint32_t a_addr, b_addr, out_addr;
	uint32_t count;		/* >= 1 */
	uint32_t channels;	/* >= 1 for CHANNEL, else must be 0 */
	int8_t a_zp, b_zp, out_zp, act_min;
	int8_t act_max;
	uint8_t a_shift, b_shift, out_shift;	/* NPU_SHIFT_MIN..NPU_SHIFT_MAX */
	uint32_t a_mult, b_mult, out_mult;	/* < 2^31 (ADD/SUB use all three, MUL out_*) */
};

/*
 * POOL: max or average over a k_h x k_w window of an NHWC tile (channels
 * packed, in_c = out_c = c). Taps outside the input are ignored (AVG with
 * NPU_POOL_F_COUNT_PAD divides by k_h*k_w instead of the valid count).
 */
enum npu_pool_mode { NPU_POOL_MAX = 0, NPU_POOL_AVG = 1 };
#define NPU_POOL_F_COUNT_PAD	(1u << 0)
struct npu_cmd_pool {
	uint32_t hdr;
	uint8_t mode, flags, reserved0[2];
	uint32_t in_addr, out_addr;
	uint16_t in_h, in_w;
	uint16_t c, reserved1;
	uint16_t out_h, out_w;
	uint16_t k_h, k_w;
	uint8_t stride_h, stride_w, pad_top, pad_left;
	int8_t in_zp, out_zp, act_min, act_max;
	uint32_t mult;		/* < 2^31 */
	uint32_t shift;		/* 0..NPU_POOL_SHIFT_MAX */
};

/* LUT: out[i] = table[(uint8_t)(in[i] + 128)] for i < count; table is 256 bytes. */
struct npu_cmd_lut {
	uint32_t hdr;
	uint32_t in_addr, out_addr, table_addr;
	uint32_t count;		/* >= 1 */
	uint32_t reserved;	/* must be 0 */
};

/* Limits checked by the device (NPU_FAULT_BAD_FIELD beyond them). */
#define NPU_QUEUE_DEPTH		4u	/* commands in flight per engine */
#define NPU_CONV_MAX_K		32u
#define NPU_MAX_STRIDE		16u
#define NPU_MAX_DILATION	16u
#define NPU_SHIFT_MIN		1u
#define NPU_SHIFT_MAX		62u
#define NPU_POOL_SHIFT_MAX	40u
#define NPU_POOL_MAX_WINDOW	65536u	/* k_h * k_w */
#define NPU_ELT_INPUT_SHIFT	20u	/* ADD/SUB: inputs << 20 before rescale */

_Static_assert(sizeof(struct npu_cmd_begin) == 16, "BEGIN size");
_Static_assert(sizeof(struct npu_cmd_wait) == 12, "WAIT size");
_Static_assert(sizeof(struct npu_cmd_jump) == 8, "JUMP size");
_Static_assert(sizeof(struct npu_cmd_signal) == 24, "SIGNAL size");
_Static_assert(sizeof(struct npu_cmd_dma) == 48, "DMA size");
_Static_assert(sizeof(struct npu_cmd_dma_decompress) == 32, "DMA_DECOMPRESS size");
_Static_assert(sizeof(struct npu_qparam) == 12, "qparam size");
_Static_assert(sizeof(struct npu_cmd_conv) == 60, "CONV size");
_Static_assert(sizeof(struct npu_cmd_matmul) == 44, "MATMUL size");
_Static_assert(sizeof(struct npu_cmd_eltwise) == 48, "ELTWISE size");
_Static_assert(sizeof(struct npu_cmd_pool) == 48, "POOL size");
_Static_assert(sizeof(struct npu_cmd_lut) == 24, "LUT size");

#endif /* NPU_ISA_H */
