// SPDX-License-Identifier: MIT
/*
 * Test utilities: command-stream builder, flat DRAM, PRNG, job harness.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/stream.h"

static void *xrealloc(void *p, size_t size)
{
	p = realloc(p, size ? size : 1);
	if (!p) {
		fprintf(stderr, "test: out of memory\n");
		abort();
	}
	return p;
}

/* ------------------------------------------------------------------ */
/* Stream builder                                                      */
/* ------------------------------------------------------------------ */

void stream_init(struct stream *s)
{
	s->w = NULL;
	s->n = 0;
	s->cap = 0;
}

void stream_free(struct stream *s)
{
	free(s->w);
	stream_init(s);
}

void stream_reset(struct stream *s)
{
	s->n = 0;
}

uint32_t st_word(struct stream *s, uint32_t w)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 256;
		s->w = xrealloc(s->w, s->cap * sizeof(*s->w));
	}
	s->w[s->n++] = w;
	return (uint32_t)((s->n - 1) * 4);
}

uint32_t st_raw(struct stream *s, const void *cmd, size_t bytes)
{
	uint32_t off = stream_bytes(s);
	const uint8_t *p = cmd;

	for (size_t i = 0; i + 4 <= bytes; i += 4) {
		uint32_t w;

		memcpy(&w, p + i, 4);
		st_word(s, w);
	}
	return off;
}

uint32_t *st_at(struct stream *s, uint32_t off)
{
	if (off % 4 || off / 4 >= s->n)
		abort();
	return &s->w[off / 4];
}

#define ST_CMD(s, op, type, cmdp) do {				\
	(cmdp)->hdr = NPU_CMD_HDR(op, type);			\
	return st_raw(s, cmdp, sizeof(type));			\
} while (0)

uint32_t st_nop(struct stream *s)
{
	struct npu_cmd_nop c = { 0 };

	ST_CMD(s, NPU_OP_NOP, struct npu_cmd_nop, &c);
}

uint32_t st_begin(struct stream *s)
{
	struct npu_cmd_begin c = { .version = NPU_ISA_VERSION };

	ST_CMD(s, NPU_OP_BEGIN, struct npu_cmd_begin, &c);
}

uint32_t st_end(struct stream *s)
{
	struct npu_cmd_end c = { 0 };

	ST_CMD(s, NPU_OP_END, struct npu_cmd_end, &c);
}

uint32_t st_wait(struct stream *s, uint32_t engine_mask, uint32_t max_outstanding)
{
	struct npu_cmd_wait c = { .engine_mask = engine_mask,
				  .max_outstanding = max_outstanding };

	ST_CMD(s, NPU_OP_WAIT, struct npu_cmd_wait, &c);
}

uint32_t st_wait_idle(struct stream *s)
{
	return st_wait(s, ENG_ALL, 0);
}

uint32_t st_jump(struct stream *s, uint32_t target)
{
	struct npu_cmd_jump c = { .target = target };

	ST_CMD(s, NPU_OP_JUMP, struct npu_cmd_jump, &c);
}

uint32_t st_signal(struct stream *s, uint32_t flags, uint64_t va, uint64_t value)
{
	struct npu_cmd_signal c = {
		.flags = flags,
		.addr_lo = (uint32_t)va, .addr_hi = (uint32_t)(va >> 32),
		.value_lo = (uint32_t)value, .value_hi = (uint32_t)(value >> 32),
	};

	ST_CMD(s, NPU_OP_SIGNAL, struct npu_cmd_signal, &c);
}

uint32_t st_dma(struct stream *s, uint32_t dir, uint64_t dram, uint32_t sram,
		uint32_t inner, uint32_t count1, uint32_t count2,
		uint32_t dram_stride1, uint32_t dram_stride2,
		uint32_t sram_stride1, uint32_t sram_stride2)
{
	struct npu_cmd_dma c = {
		.flags = dir,
		.dram_lo = (uint32_t)dram, .dram_hi = (uint32_t)(dram >> 32),
		.sram = sram, .inner_bytes = inner, .count1 = count1, .count2 = count2,
		.dram_stride1 = dram_stride1, .dram_stride2 = dram_stride2,
		.sram_stride1 = sram_stride1, .sram_stride2 = sram_stride2,
	};

	ST_CMD(s, NPU_OP_DMA, struct npu_cmd_dma, &c);
}

uint32_t st_dma_in(struct stream *s, uint64_t dram, uint32_t sram, uint32_t bytes)
{
	return st_dma(s, NPU_DMA_TO_SRAM, dram, sram, bytes, 1, 1, bytes, bytes, bytes, bytes);
}

uint32_t st_dma_out(struct stream *s, uint32_t sram, uint64_t dram, uint32_t bytes)
{
	return st_dma(s, NPU_DMA_TO_DRAM, dram, sram, bytes, 1, 1, bytes, bytes, bytes, bytes);
}

uint32_t st_decompress(struct stream *s, uint32_t format, uint64_t src, uint32_t src_bytes,
		       uint32_t sram, uint32_t out_bytes)
{
	struct npu_cmd_dma_decompress c = {
		.format = format,
		.src_lo = (uint32_t)src, .src_hi = (uint32_t)(src >> 32),
		.src_bytes = src_bytes, .sram = sram, .out_bytes = out_bytes,
	};

	ST_CMD(s, NPU_OP_DMA_DECOMPRESS, struct npu_cmd_dma_decompress, &c);
}

uint32_t st_conv(struct stream *s, const struct npu_cmd_conv *cmd)
{
	struct npu_cmd_conv c = *cmd;

	ST_CMD(s, NPU_OP_CONV, struct npu_cmd_conv, &c);
}

uint32_t st_matmul(struct stream *s, const struct npu_cmd_matmul *cmd)
{
	struct npu_cmd_matmul c = *cmd;

	ST_CMD(s, NPU_OP_MATMUL, struct npu_cmd_matmul, &c);
}

uint32_t st_eltwise(struct stream *s, const struct npu_cmd_eltwise *cmd)
{
	struct npu_cmd_eltwise c = *cmd;

	ST_CMD(s, NPU_OP_ELTWISE, struct npu_cmd_eltwise, &c);
}

uint32_t st_pool(struct stream *s, const struct npu_cmd_pool *cmd)
{
	struct npu_cmd_pool c = *cmd;

	ST_CMD(s, NPU_OP_POOL, struct npu_cmd_pool, &c);
}

uint32_t st_lut(struct stream *s, const struct npu_cmd_lut *cmd)
{
	struct npu_cmd_lut c = *cmd;

	ST_CMD(s, NPU_OP_LUT, struct npu_cmd_lut, &c);
}

/* ------------------------------------------------------------------ */
/* Flat DRAM                                                           */
/* ------------------------------------------------------------------ */

/* First address of [va, va+len) inside any of the ranges, or UINT64_MAX. */
static uint64_t first_in_ranges(const struct tdram_range *r, unsigned int n, uint64_t va,
				uint64_t len)
{
	uint64_t first = UINT64_MAX;
	uint64_t end = va + len;

	if (end < va)
		end = UINT64_MAX;
	for (unsigned int i = 0; i < n; i++) {
		if (r[i].start < end && va < r[i].end) {
			uint64_t a = va > r[i].start ? va : r[i].start;

			if (a < first)
				first = a;
		}
	}
	return first;
}

/* Checks an access; returns a fault code and sets *fault_va. */
static int tdram_check(struct tdram *d, uint64_t va, uint32_t len, int write,
		       uint64_t *fault_va)
{
	uint64_t unmapped = UINT64_MAX, f;
	int code = NPU_FAULT_NONE;

	if (va < d->base || va - d->base >= d->size)
		unmapped = va;
	else if (len > d->size - (va - d->base))
		unmapped = d->base + d->size;
	if (unmapped != UINT64_MAX)
		code = NPU_FAULT_MMU_UNMAPPED;
	f = unmapped;
	if (write) {
		uint64_t ro = first_in_ranges(d->ro, d->nro, va, len);

		if (ro < f) {
			f = ro;
			code = NPU_FAULT_MMU_PERMISSION;
		}
	}
	{
		uint64_t be = first_in_ranges(d->bus_err, d->nbus_err, va, len);

		if (be < f) {
			f = be;
			code = NPU_FAULT_BUS_ERROR;
		}
	}
	if (code && fault_va)
		*fault_va = f;
	return code;
}

static int tdram_read(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	struct tdram *d = opaque;
	int f = tdram_check(d, va, len, 0, fault_va);

	d->reads++;
	if (f)
		return f;
	memcpy(dst, d->mem + (va - d->base), len);
	return NPU_FAULT_NONE;
}

static int tdram_write(void *opaque, uint64_t va, const void *src, uint32_t len,
		       uint64_t *fault_va)
{
	struct tdram *d = opaque;
	int f = tdram_check(d, va, len, 1, fault_va);

	d->writes++;
	if (f)
		return f;
	memcpy(d->mem + (va - d->base), src, len);
	return NPU_FAULT_NONE;
}

void tdram_init(struct tdram *d, uint64_t base, uint64_t size)
{
	memset(d, 0, sizeof(*d));
	d->mem = calloc(1, size);
	if (!d->mem) {
		fprintf(stderr, "test: out of memory\n");
		abort();
	}
	d->base = base;
	d->size = size;
	d->next = base;
	d->vmem.read = tdram_read;
	d->vmem.write = tdram_write;
	d->vmem.opaque = d;
}

void tdram_free(struct tdram *d)
{
	free(d->mem);
	d->mem = NULL;
}

void tdram_add_ro(struct tdram *d, uint64_t va, uint64_t len)
{
	if (d->nro == TDRAM_MAX_RANGES)
		abort();
	d->ro[d->nro].start = va;
	d->ro[d->nro].end = va + len;
	d->nro++;
}

void tdram_add_bus_error(struct tdram *d, uint64_t va, uint64_t len)
{
	if (d->nbus_err == TDRAM_MAX_RANGES)
		abort();
	d->bus_err[d->nbus_err].start = va;
	d->bus_err[d->nbus_err].end = va + len;
	d->nbus_err++;
}

void tdram_reset(struct tdram *d)
{
	d->next = d->base;
	d->nro = 0;
	d->nbus_err = 0;
}

uint64_t tdram_alloc(struct tdram *d, uint64_t len, uint64_t align, int fill)
{
	uint64_t va;

	if (!align)
		align = 1;
	va = (d->next + align - 1) & ~(align - 1);
	if (va - d->base > d->size || len > d->size - (va - d->base)) {
		fprintf(stderr, "test: tdram of %llu bytes full\n", (unsigned long long)d->size);
		abort();
	}
	d->next = va + len;
	memset(d->mem + (va - d->base), fill, len);
	return va;
}

uint8_t *tdram_ptr(struct tdram *d, uint64_t va, uint64_t len)
{
	if (va < d->base || va - d->base > d->size || len > d->size - (va - d->base))
		abort();
	return d->mem + (va - d->base);
}

uint64_t tdram_put(struct tdram *d, const void *src, uint64_t len)
{
	uint64_t va = tdram_alloc(d, len, 64, 0);

	memcpy(tdram_ptr(d, va, len), src, len);
	return va;
}

int run_stream(struct npusim_core *core, struct tdram *d, const struct stream *s,
	       uint64_t watchdog_cycles, struct npu_job_report *rep)
{
	struct npusim_job job;
	uint64_t va = tdram_put(d, s->w, stream_bytes(s));

	memset(&job, 0, sizeof(job));
	job.mem = &d->vmem;
	job.cmd_va = va;
	job.cmd_size = stream_bytes(s);
	job.watchdog_cycles = watchdog_cycles;
	return npusim_core_run(core, &job, rep);
}

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64                                                    */
/* ------------------------------------------------------------------ */

void trng_init(struct trng *r, uint64_t default_seed)
{
	const char *env = getenv("NPU_TEST_SEED");
	uint64_t seed = 0;

	if (env && !strcmp(env, "random"))
		seed = (uint64_t)time(NULL) ^ ((uint64_t)clock() << 32) ^ (uint64_t)getpid() << 16;
	else if (env && *env)
		seed = strtoull(env, NULL, 0);
	r->seed = seed;
	/* Each test's own default keeps the streams of different tests apart. */
	r->state = default_seed ^ (seed * 0x9e3779b97f4a7c15ull);
}

uint64_t trng_next(struct trng *r)
{
	uint64_t z = (r->state += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

int64_t trng_range(struct trng *r, int64_t lo, int64_t hi)
{
	uint64_t span = (uint64_t)hi - (uint64_t)lo + 1;

	if (span == 0)
		return (int64_t)trng_next(r);
	return (int64_t)((uint64_t)lo + trng_next(r) % span);
}

int trng_chance(struct trng *r, unsigned int percent)
{
	return trng_next(r) % 100 < percent;
}

void trng_fill(struct trng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(trng_next(r) >> 24);
}

/* ------------------------------------------------------------------ */
/* Job harness                                                         */
/* ------------------------------------------------------------------ */

#define TJOB_DRAM_BASE 0x10000000ull

void tjob_init(struct tjob *j, const struct npusim_config *cfg, uint64_t dram_size)
{
	struct npusim_config def;

	if (!cfg) {
		npusim_config_default(&def);
		cfg = &def;
	}
	memset(j, 0, sizeof(*j));
	j->core = npusim_core_create(cfg);
	if (!j->core)
		abort();
	j->sram_bytes = cfg->sram_bytes;
	j->model = calloc(1, j->sram_bytes);
	if (!j->model)
		abort();
	tdram_init(&j->dram, TJOB_DRAM_BASE, dram_size);
	stream_init(&j->s);
	tjob_reset(j);
}

void tjob_free(struct tjob *j)
{
	npusim_core_destroy(j->core);
	free(j->model);
	tdram_free(&j->dram);
	stream_free(&j->s);
}

void tjob_reset(struct tjob *j)
{
	tdram_reset(&j->dram);
	stream_reset(&j->s);
	j->bytes_in = 0;
	j->bytes_out = 0;
	st_begin(&j->s);
}

void tjob_load(struct tjob *j, uint32_t sram_off, const void *data, uint32_t len)
{
	uint64_t va = tdram_put(&j->dram, data, len);

	if ((uint64_t)sram_off + len > j->sram_bytes)
		abort();
	memcpy(j->model + sram_off, data, len);
	st_dma_in(&j->s, va, sram_off, len);
	j->bytes_in += len;
}

uint64_t tjob_store(struct tjob *j, uint32_t sram_off, uint32_t len)
{
	/* Filled with a pattern so that an unwritten byte cannot match by luck. */
	uint64_t va = tdram_alloc(&j->dram, len, 64, 0xa5);

	st_dma_out(&j->s, sram_off, va, len);
	j->bytes_out += len;
	return va;
}

int tjob_run(struct tjob *j, struct npu_job_report *rep)
{
	st_end(&j->s);
	return run_stream(j->core, &j->dram, &j->s, 0, rep);
}

long tjob_compare(struct tjob *j, uint64_t va, uint32_t sram_off, uint32_t len)
{
	const uint8_t *got = tdram_ptr(&j->dram, va, len);

	if ((uint64_t)sram_off + len > j->sram_bytes)
		abort();
	for (uint32_t i = 0; i < len; i++)
		if (got[i] != j->model[sram_off + i])
			return (long)i;
	return -1;
}

void put_qparam(uint8_t *dst, int32_t bias, uint32_t mult, uint32_t shift)
{
	uint32_t v[3] = { (uint32_t)bias, mult, shift };

	for (int i = 0; i < 3; i++)
		for (int b = 0; b < 4; b++)
			dst[i * 4 + b] = (uint8_t)(v[i] >> (8 * b));
}

void trng_fill_i8(struct trng *r, void *buf, size_t len)
{
	uint8_t *p = buf;

	if (trng_chance(r, 10)) {
		for (size_t i = 0; i < len; i++)
			p[i] = (trng_next(r) & 1) ? 0x80 : 0x7f;
		return;
	}
	trng_fill(r, buf, len);
}

void trng_qparam(struct trng *r, uint8_t *dst, uint64_t terms)
{
	unsigned int bits = 0;
	int64_t typical, shift;
	uint32_t mult;
	int32_t bias;

	while (bits < 40 && (1ull << bits) < terms)
		bits++;
	/* |acc| is around 2^13 * sqrt(terms) for random int8 data. */
	typical = 13 + (bits + 1) / 2;
	switch (trng_range(r, 0, 9)) {
	case 0:
		mult = 0x7fffffffu;
		break;
	case 1:
		mult = (uint32_t)trng_range(r, 0, 0xffff);
		break;
	case 2:
		mult = 0x80000000u | (uint32_t)trng_range(r, 1u << 30, 0x7fffffff);
		break;
	default:
		mult = (uint32_t)trng_range(r, 1u << 30, 0x7fffffff);
		break;
	}
	shift = 31 + typical - 7 + trng_range(r, -2, 2);
	switch (trng_range(r, 0, 19)) {
	case 0: shift = 1; break;
	case 1: shift = 62; break;
	case 2: shift = 0; break;		/* clamped to 1 */
	case 3: shift = 63; break;		/* clamped to 62 */
	case 4: shift = 0xffffffffu; break;	/* clamped to 62 */
	default: break;
	}
	bias = (int32_t)trng_range(r, -(1 << typical), 1 << typical);
	if (trng_chance(r, 5))
		bias = (int32_t)(INT32_MAX - trng_range(r, 0, 1000));
	else if (trng_chance(r, 5))
		bias = (int32_t)(INT32_MIN + trng_range(r, 0, 1000));
	put_qparam(dst, bias, mult, (uint32_t)shift);
}
