/* SPDX-License-Identifier: MIT */
/*
 * Naive reference of every npu-v1 compute command, written from the spec
 * text only (the comments of npu_isa.h and npu_arith.h). It deliberately
 * does NOT use npu_arith.h: the arithmetic is re-derived with plain int64
 * math so that a shared mistake cannot hide a bug in the simulator.
 *
 * Commands operate on a model of SRAM (a byte array of sram_size bytes)
 * exactly as the command would on the device: all inputs are read before
 * any output is written. Each returns 0, or -1 without touching anything
 * if the command would access bytes outside the given arrays (the caller
 * is expected to pass valid commands; -1 only protects the test itself).
 */
#ifndef NAIVE_REF_H
#define NAIVE_REF_H

#include <stddef.h>
#include <stdint.h>

#include "npu_isa.h"

/* floor((x * mult + 2^(shift-1)) / 2^shift); mult < 2^31, 1 <= shift <= 62. */
int64_t ref_rescale(int64_t x, int64_t mult, unsigned int shift);
/* a / d rounded to nearest, ties away from zero; d > 0. */
int64_t ref_div_round(int64_t a, int64_t d);
/* CONV/MATMUL output of one accumulator (acc already wrapped to int32, bias included). */
int8_t ref_requant(int32_t acc, uint32_t raw_mult, uint32_t raw_shift, int8_t out_zp,
		   int8_t act_min, int8_t act_max);
/* One ELTWISE element. */
int8_t ref_eltwise_one(const struct npu_cmd_eltwise *c, int8_t a, int8_t b);

int ref_conv(uint8_t *sram, size_t sram_size, const struct npu_cmd_conv *c);
int ref_matmul(uint8_t *sram, size_t sram_size, const struct npu_cmd_matmul *c);
int ref_eltwise(uint8_t *sram, size_t sram_size, const struct npu_cmd_eltwise *c);
int ref_pool(uint8_t *sram, size_t sram_size, const struct npu_cmd_pool *c);
int ref_lut(uint8_t *sram, size_t sram_size, const struct npu_cmd_lut *c);

/* DMA between a model DRAM (dram_size bytes at NPU VA dram_va) and model SRAM. */
int ref_dma(uint8_t *sram, size_t sram_size, uint8_t *dram, uint64_t dram_va, size_t dram_size,
	    const struct npu_cmd_dma *c);

/*
 * DMA_DECOMPRESS decoding of src (src_bytes) into out (out_bytes).
 * Returns 0, or -1 if the stream is malformed (NPU_FAULT_DECOMPRESS).
 */
int ref_decompress(uint32_t format, const uint8_t *src, uint32_t src_bytes, uint8_t *out,
		   uint32_t out_bytes);

#endif /* NAIVE_REF_H */
