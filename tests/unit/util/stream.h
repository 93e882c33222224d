/* SPDX-License-Identifier: MIT */
/*
 * Test utilities for command-level suites:
 *  - struct stream: a growable command-stream builder (32-bit words).
 *  - struct tdram:  a flat "DRAM" (byte array mapped at a base NPU VA)
 *                   exposed as a struct npusim_vmem, with optional
 *                   read-only and bus-error ranges; faults outside.
 *  - struct trng:   a seeded PRNG (NPU_TEST_SEED overrides the seed).
 *  - struct tjob:   a harness that builds a job (DMA in, compute, DMA out)
 *                   and keeps a model SRAM for the naive reference.
 * All allocation failures abort(): these are tests.
 */
#ifndef TEST_STREAM_H
#define TEST_STREAM_H

#include <stddef.h>
#include <stdint.h>

#include "npusim.h"

/* ------------------------------------------------------------------ */
/* Command-stream builder                                              */
/* ------------------------------------------------------------------ */
struct stream {
	uint32_t *w;
	size_t n, cap;		/* words */
};

void stream_init(struct stream *s);
void stream_free(struct stream *s);
void stream_reset(struct stream *s);
static inline uint32_t stream_bytes(const struct stream *s)
{
	return (uint32_t)(s->n * 4);
}

/* Raw append; returns the byte offset of the first appended word. */
uint32_t st_word(struct stream *s, uint32_t w);
uint32_t st_raw(struct stream *s, const void *cmd, size_t bytes);
/* Word at byte offset off, for mutating a built stream. */
uint32_t *st_at(struct stream *s, uint32_t off);

/* Each returns the byte offset of the command; the header is filled in. */
uint32_t st_nop(struct stream *s);
uint32_t st_begin(struct stream *s);
uint32_t st_end(struct stream *s);
uint32_t st_wait(struct stream *s, uint32_t engine_mask, uint32_t max_outstanding);
uint32_t st_wait_idle(struct stream *s);	/* all engines, 0 outstanding */
uint32_t st_jump(struct stream *s, uint32_t target);
uint32_t st_signal(struct stream *s, uint32_t flags, uint64_t va, uint64_t value);
uint32_t st_dma(struct stream *s, uint32_t dir, uint64_t dram, uint32_t sram,
		uint32_t inner, uint32_t count1, uint32_t count2,
		uint32_t dram_stride1, uint32_t dram_stride2,
		uint32_t sram_stride1, uint32_t sram_stride2);
/* Contiguous copies (strides = the natural packed values). */
uint32_t st_dma_in(struct stream *s, uint64_t dram, uint32_t sram, uint32_t bytes);
uint32_t st_dma_out(struct stream *s, uint32_t sram, uint64_t dram, uint32_t bytes);
uint32_t st_decompress(struct stream *s, uint32_t format, uint64_t src, uint32_t src_bytes,
		       uint32_t sram, uint32_t out_bytes);
/* These copy *cmd with the header set. */
uint32_t st_conv(struct stream *s, const struct npu_cmd_conv *cmd);
uint32_t st_matmul(struct stream *s, const struct npu_cmd_matmul *cmd);
uint32_t st_eltwise(struct stream *s, const struct npu_cmd_eltwise *cmd);
uint32_t st_pool(struct stream *s, const struct npu_cmd_pool *cmd);
uint32_t st_lut(struct stream *s, const struct npu_cmd_lut *cmd);

#define ENG_DMA (1u << NPU_ENGINE_DMA)
#define ENG_MAC (1u << NPU_ENGINE_MAC)
#define ENG_VEC (1u << NPU_ENGINE_VEC)
#define ENG_ALL (ENG_DMA | ENG_MAC | ENG_VEC)

/* ------------------------------------------------------------------ */
/* Flat DRAM                                                           */
/* ------------------------------------------------------------------ */
#define TDRAM_MAX_RANGES 8

struct tdram_range {
	uint64_t start, end;	/* [start, end) NPU VA */
};

struct tdram {
	uint8_t *mem;
	uint64_t base, size;
	struct tdram_range ro[TDRAM_MAX_RANGES];
	unsigned int nro;
	struct tdram_range bus_err[TDRAM_MAX_RANGES];
	unsigned int nbus_err;
	uint64_t next;		/* bump allocator (VA) */
	uint64_t reads, writes;	/* callback invocations */
	struct npusim_vmem vmem;
};

void tdram_init(struct tdram *d, uint64_t base, uint64_t size);
void tdram_free(struct tdram *d);
void tdram_add_ro(struct tdram *d, uint64_t va, uint64_t len);
void tdram_add_bus_error(struct tdram *d, uint64_t va, uint64_t len);
/* Releases all allocations (contents are kept) and protection ranges. */
void tdram_reset(struct tdram *d);
/* Allocates len bytes (align: power of two), filled with fill. Aborts when full. */
uint64_t tdram_alloc(struct tdram *d, uint64_t len, uint64_t align, int fill);
/* Pointer to [va, va+len) inside the array (aborts if out of range). */
uint8_t *tdram_ptr(struct tdram *d, uint64_t va, uint64_t len);
uint64_t tdram_put(struct tdram *d, const void *src, uint64_t len);

/* Runs stream s (copied into fresh DRAM) as one job; returns report->fault. */
int run_stream(struct npusim_core *core, struct tdram *d, const struct stream *s,
	       uint64_t watchdog_cycles, struct npu_job_report *rep);

/* ------------------------------------------------------------------ */
/* PRNG                                                                */
/* ------------------------------------------------------------------ */
struct trng {
	uint64_t state;
	uint64_t seed;
};

/*
 * The stream is a function of default_seed (one per test) and of
 * $NPU_TEST_SEED (a number, or "random"; unset = 0). Failure messages
 * print rng->seed, the NPU_TEST_SEED value that replays the failure.
 */
void trng_init(struct trng *r, uint64_t default_seed);
uint64_t trng_next(struct trng *r);
/* Uniform in [lo, hi] (inclusive). */
int64_t trng_range(struct trng *r, int64_t lo, int64_t hi);
int trng_chance(struct trng *r, unsigned int percent);
void trng_fill(struct trng *r, void *buf, size_t len);
/* Random int8 data, sometimes only the extremes -128/127. */
void trng_fill_i8(struct trng *r, void *buf, size_t len);
/*
 * One random npu_qparam image (12 bytes) for an accumulator of `terms`
 * products: mostly a scale that keeps outputs in range, sometimes extreme
 * (mult 2^31-1, tiny mult, bit 31 set, shift 1/62, out-of-range shifts
 * that the device clamps, bias near INT32_MIN/MAX so the sum wraps).
 */
void trng_qparam(struct trng *r, uint8_t *dst, uint64_t terms);

/* ------------------------------------------------------------------ */
/* Job harness                                                         */
/* ------------------------------------------------------------------ */
struct tjob {
	struct npusim_core *core;
	struct tdram dram;
	struct stream s;
	uint8_t *model;		/* model SRAM for the reference */
	uint32_t sram_bytes;
	uint64_t bytes_in, bytes_out;	/* DMA payload totals of the stream */
};

void tjob_init(struct tjob *j, const struct npusim_config *cfg, uint64_t dram_size);
void tjob_free(struct tjob *j);
/* Starts a new stream (BEGIN) and releases DRAM allocations. */
void tjob_reset(struct tjob *j);
/* DMA-loads len bytes of data to SRAM off (also applied to the model). */
void tjob_load(struct tjob *j, uint32_t sram_off, const void *data, uint32_t len);
/* DMA-stores SRAM [off, off+len) to a new DRAM buffer, returns its VA. */
uint64_t tjob_store(struct tjob *j, uint32_t sram_off, uint32_t len);
/* Appends END, runs the job, returns the fault. */
int tjob_run(struct tjob *j, struct npu_job_report *rep);
/* memcmp of stored DRAM bytes against the model; returns first mismatch index or -1. */
long tjob_compare(struct tjob *j, uint64_t va, uint32_t sram_off, uint32_t len);

/* Little-endian qparam image for SRAM. */
void put_qparam(uint8_t *dst, int32_t bias, uint32_t mult, uint32_t shift);

#endif /* TEST_STREAM_H */
