/* SPDX-License-Identifier: MIT */
/*
 * npuc lowering: quantised graph (qir.h) -> execution plan + npu-v1
 * command streams, as an .npub model (npub.h).
 *
 *  - Placement: CONV, MATMUL, ELTWISE, POOL, LUT and CONCAT run on the NPU
 *    when a tiling fits SRAM and every command field fits the ISA; else
 *    on the CPU with the int8 reference semantics (an NPUB_STEP_QCPU, the
 *    layer's reason says why). QUANTIZE / DEQUANTIZE are host steps,
 *    RESHAPE shares its input's bytes (or is a host copy when both ends
 *    are graph inputs/outputs), CPU nodes are float host steps.
 *  - Tiling: output row bands (input bands with their halo rows, the
 *    conv's pad_top shifted per band and the input rows clipped to the
 *    tensor) x output-channel blocks, double-buffered so the DMA of tile
 *    i+1 and the store of tile i-1 overlap the compute of tile i; falls
 *    back to smaller blocks, then single buffering. The tile shape is
 *    chosen with an analytic model of the cycle model.
 *  - Ordering: every engine command goes through an emitter that tracks
 *    the device's hazard rule exactly and inserts the minimal WAIT
 *    (engine, outstanding) that orders each conflicting pair, so streams
 *    never fault with HAZARD and never wait more than needed.
 *  - Memory: intermediates live in the ARENA region at offsets assigned by
 *    a greedy best-fit over their live ranges (in node order); graph I/O in
 *    INPUT/OUTPUT regions; weights (OHWI + npu_qparam + tables) in WEIGHTS,
 *    64-byte aligned. DRAM addresses are emitted as relocations.
 *  - Estimates: each NPU layer's commands are run alone on libnpusim's
 *    cycle model (zero data) for cycles, MACs and DRAM bytes.
 */
#ifndef NPUC_LOWER_H
#define NPUC_LOWER_H

#include <stdint.h>
#include <stdio.h>

#include "npub.h"
#include "npusim.h"
#include "qir.h"

struct npul_options {
	struct npusim_config cfg;	/* target (npusim_config_default()) */
	uint32_t sram_limit;		/* bytes the tiler may use; 0 = cfg.sram_bytes */
	int estimate;			/* run the cycle model per layer (default 1) */
	int single_buffer;		/* testing: never double-buffer */
	int compress_weights;		/* ZMASK-encode CONV weight blocks that shrink (default 1) */
	/* Metadata copied into the .npub (all optional). */
	const char *model_name, *options, *compiler_version;
	const uint8_t *source_sha256;	/* 32 bytes or NULL */
	uint64_t source_bytes;
};

void npul_options_default(struct npul_options *o);

/*
 * Lowers g into a new model (*out, free with npub_model_free). The qgraph
 * is not modified. 0 or -1 (diag set: invalid graph, out of memory).
 * Nodes the NPU cannot run never make it fail: they become host steps.
 */
int npul_lower(const struct npuq_graph *g, const struct npul_options *o,
	       struct npub_model **out, struct npuc_diag *d);

/* Per-layer table (op, shapes, MACs, weights, cycles, DRAM, SRAM, util, target) with totals. */
void npub_print_report(FILE *f, const struct npub_model *m);

/* ================================================================== */
/* Internal interfaces of lower_*.c                                    */
/* ================================================================== */

/* ---- emitter (lower_emit.c) ---- */
struct em_span {
	uint64_t start, end;
};

struct em_cmd_hist {
	uint64_t seq;
	struct em_span rd[3];
	unsigned int nrd;
	struct em_span wr;
};

struct em_engine {
	uint64_t issued, retired;
	struct em_cmd_hist h[NPU_QUEUE_DEPTH];
	unsigned int head, count;
};

struct emit {
	uint32_t *w;			/* stream words */
	uint32_t n, cap;
	struct npub_reloc *rel;		/* .stream filled by the caller */
	uint32_t n_rel, cap_rel;
	struct em_engine eng[3];
	uint32_t sram_hi;		/* highest SRAM byte + 1 touched (callers reset it) */
	uint32_t n_waits;
	int oom;
};

void em_init(struct emit *e);
void em_free(struct emit *e);
void em_reset(struct emit *e);		/* empty stream, fresh hazard state */
uint32_t em_bytes(const struct emit *e);
void em_begin(struct emit *e);
void em_end(struct emit *e);
void em_wait(struct emit *e, uint32_t engine_mask, uint32_t max_outstanding);
/* DMA with a relocated DRAM side: region id + byte offset. */
void em_dma(struct emit *e, uint32_t dir, uint32_t region, uint64_t addend, uint32_t sram,
	    uint32_t inner, uint32_t count1, uint32_t count2, uint32_t dstride1,
	    uint32_t dstride2, uint32_t sstride1, uint32_t sstride2);
/* DMA_DECOMPRESS of src_bytes at region + addend into out_bytes at SRAM sram. */
void em_dma_decompress(struct emit *e, uint32_t format, uint32_t region, uint64_t addend,
		       uint32_t src_bytes, uint32_t sram, uint32_t out_bytes);
void em_conv(struct emit *e, const struct npu_cmd_conv *c);
void em_matmul(struct emit *e, const struct npu_cmd_matmul *c);
void em_eltwise(struct emit *e, const struct npu_cmd_eltwise *c);
void em_pool(struct emit *e, const struct npu_cmd_pool *c);
void em_lut(struct emit *e, const struct npu_cmd_lut *c);

/* ---- lowering context (lower_main.c) ---- */
struct lnode {
	uint32_t target;		/* enum npub_target */
	char reason[160];
	uint32_t layer;			/* layer index (= node index) */
	void *plan;			/* op-specific tiling plan (lower_conv/vec.c) */
	uint64_t w_off[2], w_bytes[2];	/* its entries in WEIGHTS */
	uint32_t sram_peak, tiles;
};

struct lw {
	const struct npuq_graph *g;
	const struct npul_options *o;
	const struct npusim_config *cfg;
	uint32_t sram;			/* usable SRAM bytes */
	struct npub_model *m;
	struct npuc_diag *d;
	struct lnode *ln;		/* per qgraph node */
	uint32_t *treg;			/* per tensor: region */
	uint64_t *toff;			/* per tensor: offset in it */
	uint8_t *wbuf;			/* WEIGHTS being built */
	uint64_t wsize, wcap;
	struct emit em;
	int oom;
};

/* The node runs on the host (int8 reference semantics); why is the report's reason. */
void lnode_to_host(struct lnode *ln, const char *why);
/* Appends bytes to WEIGHTS at a 64-byte aligned offset; returns it (sets lw->oom on failure). */
uint64_t lw_weights_add(struct lw *l, const void *p, uint64_t n);
/* lower_zmask.c: the ZMASK stream of n weight bytes: its size, and the stream. */
uint64_t lw_zmask_size(const int8_t *p, uint64_t n);
void lw_zmask_encode(const int8_t *p, uint64_t n, uint8_t *out);
/* The PALETTE4 stream: its size (UINT64_MAX for more than 16 values), and the stream. */
uint64_t lw_palette4_size(const int8_t *p, uint64_t n);
void lw_palette4_encode(const int8_t *p, uint64_t n, uint8_t *out);
/* Appends bytes to the model's DATA blob at an 8-byte aligned offset (sets lw->oom). */
uint64_t lw_data_add(struct lw *l, const void *p, uint64_t n);
/* Appends n bytes at an align-aligned offset of a growable zero-padded blob; the offset. */
uint64_t lw_blob_add(uint8_t **buf, uint64_t *size, uint64_t *cap, const void *p, uint64_t n,
		     uint64_t align, int *oom);
/* Appends one record to a model table (capacity doubles at powers of two). 0 or -1. */
int lw_push(void **arr, uint32_t *n, size_t es, const void *rec);
/* Tensor helpers. */
const struct npuq_tensor *lw_tin(const struct lw *l, const struct npuq_node *n, int k);
const struct npuq_tensor *lw_tout(const struct lw *l, const struct npuq_node *n, int k);
int lw_tid_in(const struct npuq_node *n, int k);

/*
 * Per-op planners: decide whether the node fits (fills ln->plan and
 * ln->sram_peak / ln->tiles, packs weights) or set ln->target to
 * NPUB_TARGET_QCPU with ln->reason. Emitters append the node's commands to
 * l->em. Return -1 only on out of memory.
 */
int lower_plan_conv(struct lw *l, int ni);
void lower_emit_conv(struct lw *l, int ni);
int lower_plan_matmul(struct lw *l, int ni);
void lower_emit_matmul(struct lw *l, int ni);
int lower_plan_eltwise(struct lw *l, int ni);
void lower_emit_eltwise(struct lw *l, int ni);
int lower_plan_lut(struct lw *l, int ni);
void lower_emit_lut(struct lw *l, int ni);
int lower_plan_pool(struct lw *l, int ni);
void lower_emit_pool(struct lw *l, int ni);
int lower_plan_concat(struct lw *l, int ni);
void lower_emit_concat(struct lw *l, int ni);

/* Generic software pipeline over n tiles (lower_tile.c). */
struct pipe_ops {
	void (*load)(struct lw *l, void *ctx, int i);
	void (*compute)(struct lw *l, void *ctx, int i);
	void (*store)(struct lw *l, void *ctx, int i);
};
/*
 * nbuf >= 2: load(0), then per tile compute(i), store(i-1), load(i+1);
 * store(n-1) last (tile i+1's buffers must differ from tile i's).
 * nbuf == 1: load, compute, store per tile.
 */
void pipe_run(struct lw *l, int n, int nbuf, const struct pipe_ops *ops, void *ctx);

/*
 * Candidate tile counts: 1, 2, ..., 64, then steps of +25 %, always ending
 * with max itself. Loop: for (s = 1; s <= max; s = tile_next_split(s, max)).
 */
int tile_next_split(int s, int max);
/* DMA cost in cycles as the cycle model counts it. */
uint64_t est_dma(const struct npusim_config *c, uint64_t inner, uint64_t rows);
/* Analytic pipeline time of n equal tiles (load, compute, store cycles per tile). */
uint64_t est_pipe(const struct npusim_config *c, uint64_t n, uint64_t ld, uint64_t cp,
		  uint64_t st, int nbuf);
/*
 * Band geometry of output rows [oy0, oy1) of a window op: input rows
 * [*in0, *in0 + *in_h) and the band's pad_top. Returns -1 if the band
 * reads no input row.
 */
int band_rows(int oy0, int oy1, int stride, int pad_top, int k, int dil, int in_h_total,
	      int *in0, int *in_h, int *pad);

/* ---- CPU-side records (lower_host.c) ---- */
int lower_cpu_node(struct lw *l, int ni, uint32_t *index);
int lower_qnode(struct lw *l, int ni, uint32_t *index);

/* ---- memory plan (lower_mem.c) ---- */
/*
 * Greedy best-fit placement of n buffers with live ranges [first, last]
 * (inclusive, in node order) and sizes: offsets 64-byte aligned, two
 * buffers whose ranges intersect never overlap. Returns the arena size;
 * *lower_bound = max over times of the sum of live sizes. -1 on OOM.
 */
int64_t mem_plan(uint32_t n, const int *first, const int *last, const uint64_t *size,
		 uint64_t *offset, uint64_t *lower_bound);

/* ---- cycle estimates (lower_est.c) ---- */
int lower_estimate(struct npub_model *m, const struct npusim_config *cfg, struct npuc_diag *d);

#endif /* NPUC_LOWER_H */
