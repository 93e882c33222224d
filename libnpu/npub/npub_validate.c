// SPDX-License-Identifier: MIT
/*
 * .npub validator (npub.h: npub_validate). Checks every record and
 * cross-reference of an in-memory model, decodes the command streams far
 * enough to match each DMA with its relocation and bound the transfer to
 * its region, and follows the execution plan's data flow. Any error gives
 * a message naming the offending item. The reader runs it on every file;
 * the writer on every model before it writes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npu_hw.h"
#include "npu_isa.h"
#include "npub.h"
#include "npub_check.h"

/* ------------------------------------------------------------------ */
/* Validation of a model                                               */
/* ------------------------------------------------------------------ */
static int str_ok(const struct npub_model *m, uint32_t off)
{
	return off < m->strtab_size;
}

static int strtab_check(const struct npub_model *m, struct npuc_diag *d)
{
	if (!m->strtab || m->strtab_size < 1 || m->strtab[0] != '\0' ||
	    m->strtab[m->strtab_size - 1] != '\0') {
		npuc_diag_set(d, "npub: string table must start and end with a NUL byte");
		return -1;
	}
	return 0;
}

static int header_target_check(const struct npub_header *h, struct npuc_diag *d)
{
	if ((h->isa_version >> 16) != NPU_ISA_VERSION_MAJOR ||
	    (h->isa_version & 0xffffu) > NPU_ISA_VERSION_MINOR) {
		npuc_diag_set(d, "npub: command streams need ISA %u.%u, this build supports %u.%u",
			      h->isa_version >> 16, h->isa_version & 0xffffu,
			      NPU_ISA_VERSION_MAJOR, NPU_ISA_VERSION_MINOR);
		return -1;
	}
	if (h->sram_bytes < 4096 || !h->mac_oc || !h->mac_ic || !h->dma_bytes_per_cycle ||
	    !h->vec_lanes || !h->clock_khz) {
		npuc_diag_set(d, "npub: invalid target configuration in the header");
		return -1;
	}
	return 0;
}

static int meta_check(const struct npub_model *m, struct npuc_diag *d)
{
	const struct npub_meta *mt = &m->meta;

	if (!str_ok(m, mt->producer) || !str_ok(m, mt->compiler_version) ||
	    !str_ok(m, mt->options) || !str_ok(m, mt->model_name)) {
		npuc_diag_set(d, "npub: metadata string reference out of range");
		return -1;
	}
	if (!RESERVED_ZERO(mt, reserved)) {
		npuc_diag_set(d, "npub: metadata reserved field is not zero");
		return -1;
	}
	if (mt->weights_bytes != m->weights_size) {
		npuc_diag_set(d, "npub: metadata says %llu weight bytes, WEIGHTS has %llu",
			      (unsigned long long)mt->weights_bytes,
			      (unsigned long long)m->weights_size);
		return -1;
	}
	if (mt->arena_lower_bound > mt->arena_bytes) {
		npuc_diag_set(d, "npub: arena lower bound %llu above arena size %llu",
			      (unsigned long long)mt->arena_lower_bound,
			      (unsigned long long)mt->arena_bytes);
		return -1;
	}
	return 0;
}

static int regions_check(const struct npub_model *m, struct npuc_diag *d)
{
	const struct npub_meta *mt = &m->meta;
	uint32_t n_in = 0, n_out = 0;

	if (m->n_regions < 2 || m->regions[0].kind != NPUB_REGION_WEIGHTS ||
	    m->regions[1].kind != NPUB_REGION_ARENA) {
		npuc_diag_set(d, "npub: regions 0 and 1 must be WEIGHTS and ARENA");
		return -1;
	}
	if ((uint64_t)m->n_regions != 2ull + mt->n_inputs + mt->n_outputs) {
		npuc_diag_set(d, "npub: %u regions for %u inputs and %u outputs", m->n_regions,
			      mt->n_inputs, mt->n_outputs);
		return -1;
	}
	for (uint32_t i = 0; i < m->n_regions; i++) {
		const struct npub_region *r = &m->regions[i];
		uint32_t want = i == 0 ? NPUB_REGION_WEIGHTS : i == 1 ? NPUB_REGION_ARENA :
				i < 2 + mt->n_inputs ? NPUB_REGION_INPUT : NPUB_REGION_OUTPUT;
		uint32_t idx = r->kind == NPUB_REGION_INPUT ? n_in++ :
			       r->kind == NPUB_REGION_OUTPUT ? n_out++ : 0;
		int io = r->kind == NPUB_REGION_INPUT || r->kind == NPUB_REGION_OUTPUT;

		if (r->kind != want || r->index != idx) {
			npuc_diag_set(d, "npub: region %u: kind %u index %u out of order", i,
				      r->kind, r->index);
			return -1;
		}
		if (r->size >= (1ull << 32) || !r->align || (r->align & (r->align - 1)) ||
		    r->align > 4096 || !RESERVED_ZERO(r, reserved)) {
			npuc_diag_set(d, "npub: region %u (%s): bad size, alignment or reserved",
				      i, npub_region_kind_name(r->kind));
			return -1;
		}
		if (io ? r->tensor >= m->n_tensors : r->tensor != NPUB_NONE) {
			npuc_diag_set(d, "npub: region %u (%s): bad tensor reference %u", i,
				      npub_region_kind_name(r->kind), r->tensor);
			return -1;
		}
	}
	if (m->regions[0].size != m->weights_size || m->regions[1].size != mt->arena_bytes) {
		npuc_diag_set(d, "npub: WEIGHTS/ARENA region sizes disagree with the file");
		return -1;
	}
	return 0;
}

static int tensor_shape_check(const struct npub_tensor *t, struct npuc_diag *d, uint32_t i)
{
	uint64_t n, p = 1;

	if (t->h < 1 || t->w < 1 || t->c < 1) {
		npuc_diag_set(d, "npub: tensor %u: bad extent %dx%dx%d", i, t->h, t->w, t->c);
		return -1;
	}
	n = (uint64_t)t->h * (uint64_t)t->w;	/* < 2^62 */
	if (mul_ovf(n, (uint64_t)t->c, &n) || n > (1ull << 40)) {
		npuc_diag_set(d, "npub: tensor %u: extent too large", i);
		return -1;
	}
	if (t->onnx_rank < 0 || t->onnx_rank > NPUB_MAX_RANK) {
		npuc_diag_set(d, "npub: tensor %u: ONNX rank %d", i, t->onnx_rank);
		return -1;
	}
	for (int k = 0; k < t->onnx_rank; k++) {
		if (t->onnx_dims[k] < 1 || mul_ovf(p, (uint64_t)t->onnx_dims[k], &p)) {
			npuc_diag_set(d, "npub: tensor %u: bad ONNX dimension %d", i, k);
			return -1;
		}
	}
	for (int k = t->onnx_rank; k < NPUB_MAX_RANK; k++) {
		if (t->onnx_dims[k]) {
			npuc_diag_set(d, "npub: tensor %u: ONNX dimension beyond rank not zero", i);
			return -1;
		}
	}
	if (t->onnx_rank && p != n) {
		npuc_diag_set(d, "npub: tensor %u: ONNX shape has %llu elements, extent %llu", i,
			      (unsigned long long)p, (unsigned long long)n);
		return -1;
	}
	if ((t->flags & NPUB_T_NCHW) &&
	    (t->onnx_rank != 4 || t->onnx_dims[0] != 1 || t->onnx_dims[1] != t->c ||
	     t->onnx_dims[2] != t->h || t->onnx_dims[3] != t->w)) {
		npuc_diag_set(d, "npub: tensor %u: NCHW flag with a shape that is not [1,c,h,w]",
			      i);
		return -1;
	}
	return 0;
}

/* Element size of a tensor type, 0 if unknown. */
static uint64_t dt_size(uint32_t dt)
{
	static const uint8_t size[NPUB_DT_MAX + 1] = {
		[NPUB_DT_INT8] = 1, [NPUB_DT_FLOAT32] = 4, [NPUB_DT_INT32] = 4,
		[NPUB_DT_INT64] = 8, [NPUB_DT_BOOL] = 1,
	};

	return dt <= NPUB_DT_MAX ? size[dt] : 0;
}

static int tensor_check(const struct npub_model *m, uint32_t i, struct npuc_diag *d)
{
	const struct npub_tensor *t = &m->tensors[i];
	uint64_t n, es = dt_size(t->dtype);
	const struct npub_region *r;

	if (!str_ok(m, t->name) || !m->strtab[t->name]) {
		npuc_diag_set(d, "npub: tensor %u: no name", i);
		return -1;
	}
	if (!es) {
		npuc_diag_set(d, "npub: tensor '%s': unknown element type %u (a newer format?)",
			      npub_str(m, t->name), t->dtype);
		return -1;
	}
	if ((t->flags & ~NPUB_T_FLAGS) || ((t->flags & NPUB_T_U8) && t->dtype != NPUB_DT_INT8) ||
	    !RESERVED_ZERO(t, reserved)) {
		npuc_diag_set(d, "npub: tensor '%s': bad flags 0x%x (uint8 flag on element type "
			      "%u?) or reserved field", npub_str(m, t->name), t->flags, t->dtype);
		return -1;
	}
	if (tensor_shape_check(t, d, i) < 0)
		return -1;
	n = (uint64_t)t->h * (uint64_t)t->w * (uint64_t)t->c * es;	/* < 2^43 */
	if (t->bytes != n) {
		npuc_diag_set(d, "npub: tensor '%s': %llu bytes for %dx%dx%d", npub_str(m, t->name),
			      (unsigned long long)t->bytes, t->h, t->w, t->c);
		return -1;
	}
	if (t->dtype == NPUB_DT_INT8) {
		float s = f32_of(t->scale_bits);

		if (t->zp < -128 || t->zp > 127 || !isfinite(s) || !(s > 0)) {
			npuc_diag_set(d, "npub: tensor '%s': bad scale or zero point",
				      npub_str(m, t->name));
			return -1;
		}
	} else if (t->zp || t->scale_bits) {
		npuc_diag_set(d, "npub: non-int8 tensor '%s' has quantisation parameters",
			      npub_str(m, t->name));
		return -1;
	}
	if (t->region == NPUB_REGION_WEIGHTS_ID || t->region >= m->n_regions) {
		npuc_diag_set(d, "npub: tensor '%s': bad region %u", npub_str(m, t->name),
			      t->region);
		return -1;
	}
	r = &m->regions[t->region];
	if (!range_ok(t->offset, t->bytes, r->size)) {
		npuc_diag_set(d, "npub: tensor '%s': [%llu, +%llu) outside region %u (%llu bytes)",
			      npub_str(m, t->name), (unsigned long long)t->offset,
			      (unsigned long long)t->bytes, t->region,
			      (unsigned long long)r->size);
		return -1;
	}
	return 0;
}

static int name_cmp(const void *a, const void *b, void *ctx)
{
	const struct npub_model *m = ctx;

	return strcmp(npub_str(m, m->tensors[*(const uint32_t *)a].name),
		      npub_str(m, m->tensors[*(const uint32_t *)b].name));
}

static int tensors_check(const struct npub_model *m, struct npuc_diag *d)
{
	uint32_t *idx;
	int rc = 0;

	for (uint32_t i = 0; i < m->n_tensors; i++)
		if (tensor_check(m, i, d) < 0)
			return -1;
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct npub_tensor *t = &m->tensors[i], *o;

		if (!(t->flags & NPUB_T_ALIAS)) {
			if (t->alias == NPUB_NONE)
				continue;
			npuc_diag_set(d, "npub: tensor '%s': alias set without the flag",
				      npub_str(m, t->name));
			return -1;
		}
		o = t->alias < m->n_tensors ? &m->tensors[t->alias] : NULL;
		if (!o || (o->flags & NPUB_T_ALIAS) || o->region != t->region ||
		    o->offset != t->offset || o->bytes != t->bytes ||
		    (t->flags & (NPUB_T_INPUT | NPUB_T_OUTPUT))) {
			npuc_diag_set(d, "npub: tensor '%s': bad alias", npub_str(m, t->name));
			return -1;
		}
	}
	/* I/O regions name their tensor; the flags must agree both ways. */
	for (uint32_t i = 0; i < m->n_tensors; i++) {
		const struct npub_tensor *t = &m->tensors[i];
		const struct npub_region *r = &m->regions[t->region];
		int io_in = !!(t->flags & NPUB_T_INPUT), io_out = !!(t->flags & NPUB_T_OUTPUT);
		int named = r->tensor == i;

		if ((io_in || io_out) && !named) {
			npuc_diag_set(d, "npub: I/O tensor '%s' is not its region's tensor",
				      npub_str(m, t->name));
			return -1;
		}
		if (named && (t->offset || (r->kind == NPUB_REGION_INPUT) != io_in ||
			      (r->kind == NPUB_REGION_OUTPUT && !io_out) ||
			      r->size != t->bytes)) {
			npuc_diag_set(d, "npub: tensor '%s' does not match its %s region",
				      npub_str(m, t->name), npub_region_kind_name(r->kind));
			return -1;
		}
	}
	if (!m->n_tensors)
		return 0;
	idx = malloc(m->n_tensors * sizeof(*idx));
	if (!idx) {
		npuc_diag_set(d, "npub: out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < m->n_tensors; i++)
		idx[i] = i;
	qsort_r(idx, m->n_tensors, sizeof(*idx), name_cmp, (void *)m);
	for (uint32_t i = 1; i < m->n_tensors && !rc; i++) {
		if (!name_cmp(&idx[i - 1], &idx[i], (void *)m)) {
			npuc_diag_set(d, "npub: tensor name '%s' used twice",
				      npub_str(m, m->tensors[idx[i]].name));
			rc = -1;
		}
	}
	free(idx);
	return rc;
}

/* ---- command streams --------------------------------------------- */
static uint32_t cmd_words(uint32_t op)
{
	switch (op) {
	case NPU_OP_NOP:
		return sizeof(struct npu_cmd_nop) / 4;
	case NPU_OP_BEGIN:
		return sizeof(struct npu_cmd_begin) / 4;
	case NPU_OP_END:
		return sizeof(struct npu_cmd_end) / 4;
	case NPU_OP_WAIT:
		return sizeof(struct npu_cmd_wait) / 4;
	case NPU_OP_DMA:
		return sizeof(struct npu_cmd_dma) / 4;
	case NPU_OP_DMA_DECOMPRESS:
		return sizeof(struct npu_cmd_dma_decompress) / 4;
	case NPU_OP_CONV:
		return sizeof(struct npu_cmd_conv) / 4;
	case NPU_OP_MATMUL:
		return sizeof(struct npu_cmd_matmul) / 4;
	case NPU_OP_ELTWISE:
		return sizeof(struct npu_cmd_eltwise) / 4;
	case NPU_OP_POOL:
		return sizeof(struct npu_cmd_pool) / 4;
	case NPU_OP_LUT:
		return sizeof(struct npu_cmd_lut) / 4;
	default:
		return 0;	/* unknown, or JUMP / SIGNAL: never in an .npub */
	}
}

/* DRAM bytes a DMA touches from its base: the 3-D extent, overflow-checked. */
static int dma_extent(const struct npu_cmd_dma *c, uint64_t *ext)
{
	uint64_t a, b, e;

	if (!c->inner_bytes || !c->count1 || !c->count2)
		return -1;
	if (mul_ovf(c->count2 - 1u, c->dram_stride2, &a) ||
	    mul_ovf(c->count1 - 1u, c->dram_stride1, &b) || add_ovf(a, b, &e) ||
	    add_ovf(e, c->inner_bytes, &e))
		return -1;
	*ext = e;
	return 0;
}

/* Checks the DMA / DECOMPRESS at cmd offset `at` against relocation r. */
static int dma_reloc_check(const struct npub_model *m, uint32_t s, const uint8_t *cmd,
			   uint32_t at, const struct npub_reloc *r, struct npuc_diag *d)
{
	uint32_t op = cmd[0], lo, hi;
	uint64_t ext;
	const struct npub_region *rg;
	int to_dram = 0;

	if (!r || r->offset != at + 8) {
		npuc_diag_set(d, "npub: stream %u: DMA at offset %u has no relocation", s, at);
		return -1;
	}
	if (r->region >= m->n_regions) {
		npuc_diag_set(d, "npub: stream %u: relocation at %u names region %u of %u", s,
			      r->offset, r->region, m->n_regions);
		return -1;
	}
	rg = &m->regions[r->region];
	memcpy(&lo, cmd + 8, 4);
	memcpy(&hi, cmd + 12, 4);
	if (lo || hi) {
		npuc_diag_set(d, "npub: stream %u: relocated address at %u is not zero", s,
			      r->offset);
		return -1;
	}
	if (op == NPU_OP_DMA) {
		struct npu_cmd_dma c;

		memcpy(&c, cmd, sizeof(c));
		if (dma_extent(&c, &ext) < 0) {
			npuc_diag_set(d, "npub: stream %u: DMA at %u has a bad shape", s, at);
			return -1;
		}
		to_dram = (c.flags & NPU_DMA_DIR_MASK) == NPU_DMA_TO_DRAM;
	} else {
		struct npu_cmd_dma_decompress c;

		memcpy(&c, cmd, sizeof(c));
		ext = c.src_bytes;
	}
	if (!range_ok(r->addend, ext, rg->size)) {
		npuc_diag_set(d, "npub: stream %u: DMA at %u reaches [%u, +%llu) beyond region %u "
			      "(%s, %llu bytes)", s, at, r->addend, (unsigned long long)ext,
			      r->region, npub_region_kind_name(rg->kind),
			      (unsigned long long)rg->size);
		return -1;
	}
	if (to_dram && (rg->kind == NPUB_REGION_WEIGHTS || rg->kind == NPUB_REGION_INPUT)) {
		npuc_diag_set(d, "npub: stream %u: DMA at %u writes read-only region %u (%s)", s,
			      at, r->region, npub_region_kind_name(rg->kind));
		return -1;
	}
	return 0;
}

static int stream_decode_check(const struct npub_model *m, uint32_t s, struct npuc_diag *d)
{
	const struct npub_stream *st = &m->streams[s];
	const uint8_t *p = m->cmds + st->offset;
	uint32_t at = 0, next_reloc = 0, hdr, words, op;
	int ended = 0;

	while (at < st->size) {
		memcpy(&hdr, p + at, 4);
		op = NPU_CMD_OPCODE(hdr);
		words = cmd_words(op);
		if (ended || !words || NPU_CMD_WORDS(hdr) != words || NPU_CMD_RESERVED(hdr) ||
		    words * 4u > st->size - at || (at == 0) != (op == NPU_OP_BEGIN)) {
			npuc_diag_set(d, "npub: stream %u: bad command header 0x%08x at offset %u",
				      s, hdr, at);
			return -1;
		}
		if (op == NPU_OP_BEGIN) {
			struct npu_cmd_begin b;

			memcpy(&b, p + at, sizeof(b));
			if ((b.version >> 16) != NPU_ISA_VERSION_MAJOR ||
			    (b.version & 0xffffu) > NPU_ISA_VERSION_MINOR) {
				npuc_diag_set(d, "npub: stream %u: ISA version 0x%08x", s,
					      b.version);
				return -1;
			}
		}
		if (op == NPU_OP_DMA || op == NPU_OP_DMA_DECOMPRESS) {
			const struct npub_reloc *r = next_reloc < st->reloc_count ?
				&m->relocs[st->reloc_first + next_reloc] : NULL;

			if (dma_reloc_check(m, s, p + at, at, r, d) < 0)
				return -1;
			next_reloc++;
		}
		ended = op == NPU_OP_END;
		at += words * 4;
	}
	if (!ended) {
		npuc_diag_set(d, "npub: stream %u does not end with END", s);
		return -1;
	}
	if (next_reloc != st->reloc_count) {
		npuc_diag_set(d, "npub: stream %u: %u relocations for %u DMA commands", s,
			      st->reloc_count, next_reloc);
		return -1;
	}
	return 0;
}

static int streams_check(const struct npub_model *m, struct npuc_diag *d)
{
	uint64_t relocs = 0;

	for (uint32_t s = 0; s < m->n_streams; s++) {
		const struct npub_stream *st = &m->streams[s];

		if (st->offset % NPUB_ALIGN || st->size % 4 || st->size < 8 ||
		    st->size > NPU_CMD_MAX_BYTES || !range_ok(st->offset, st->size, m->cmds_size) ||
		    st->reserved0 || !RESERVED_ZERO(st, reserved)) {
			npuc_diag_set(d, "npub: stream %u: bad placement [%llu, +%u) in %llu bytes "
				      "of commands", s, (unsigned long long)st->offset, st->size,
				      (unsigned long long)m->cmds_size);
			return -1;
		}
		/* Relocation ranges partition the table in stream order. */
		if (st->reloc_first != relocs ||
		    !range_ok(st->reloc_first, st->reloc_count, m->n_relocs) ||
		    !range_ok(st->layer_first, st->layer_count, m->n_layers)) {
			npuc_diag_set(d, "npub: stream %u: bad relocation or layer range", s);
			return -1;
		}
		relocs += st->reloc_count;
		for (uint32_t k = 0; k < st->reloc_count; k++) {
			const struct npub_reloc *r = &m->relocs[st->reloc_first + k];

			if (r->stream != s || r->offset % 4 || r->offset > st->size - 8 ||
			    (k && r->offset <= r[-1].offset)) {
				npuc_diag_set(d, "npub: relocation %u: bad stream or offset",
					      st->reloc_first + k);
				return -1;
			}
		}
		if (stream_decode_check(m, s, d) < 0)
			return -1;
	}
	if (relocs != m->n_relocs) {
		npuc_diag_set(d, "npub: %u relocations, streams use %llu", m->n_relocs,
			      (unsigned long long)relocs);
		return -1;
	}
	return 0;
}

/* ---- CPU nodes ---------------------------------------------------- */
static uint64_t cdt_size(uint32_t dt)
{
	switch (dt) {
	case NPUB_CDT_F32:
	case NPUB_CDT_I32:
		return 4;
	case NPUB_CDT_U8:
	case NPUB_CDT_I8:
	case NPUB_CDT_BOOL:
		return 1;
	case NPUB_CDT_I64:
		return 8;
	default:
		return 0;
	}
}

static int consts_check(const struct npub_model *m, struct npuc_diag *d)
{
	for (uint32_t i = 0; i < m->n_consts; i++) {
		const struct npub_const *c = &m->consts[i];
		uint64_t n = cdt_size(c->dtype);

		if (!str_ok(m, c->name) || !n || c->rank < 0 || c->rank > NPUB_MAX_RANK ||
		    c->reserved0) {
			npuc_diag_set(d, "npub: constant %u: bad name, type or rank", i);
			return -1;
		}
		for (int k = 0; k < NPUB_MAX_RANK; k++) {
			if (k < c->rank ? (c->dims[k] < 0 || mul_ovf(n, (uint64_t)c->dims[k], &n)) :
					  c->dims[k] != 0) {
				npuc_diag_set(d, "npub: constant %u: bad dimension %d", i, k);
				return -1;
			}
		}
		if (c->bytes != n || !range_ok(c->data_offset, c->bytes, m->data_size)) {
			npuc_diag_set(d, "npub: constant %u: %llu bytes at %llu (want %llu, data "
				      "%llu)", i, (unsigned long long)c->bytes,
				      (unsigned long long)c->data_offset, (unsigned long long)n,
				      (unsigned long long)m->data_size);
			return -1;
		}
	}
	return 0;
}

static int attrs_check(const struct npub_model *m, struct npuc_diag *d)
{
	for (uint32_t i = 0; i < m->n_attrs; i++) {
		const struct npub_attr *a = &m->attrs[i];
		uint64_t len;
		int ok = str_ok(m, a->name) && m->strtab[a->name] && !a->reserved;

		switch (a->type) {
		case NPUB_ATTR_INT:
		case NPUB_ATTR_FLOAT:
			break;
		case NPUB_ATTR_STRING:
			ok = ok && str_ok(m, a->s);
			break;
		case NPUB_ATTR_INTS:
		case NPUB_ATTR_FLOATS:
			len = (uint64_t)a->n * (a->type == NPUB_ATTR_INTS ? 8 : 4);
			ok = ok && range_ok(a->data_offset, len, m->data_size);
			break;
		case NPUB_ATTR_TENSOR:
			ok = ok && a->i >= 0 && (uint64_t)a->i < m->n_consts;
			break;
		default:
			ok = 0;
		}
		if (!ok) {
			npuc_diag_set(d, "npub: CPU attribute %u: bad name, type or data reference",
				      i);
			return -1;
		}
	}
	return 0;
}

/* CPU nodes take tensors of every type (float32, integer, int8 as int8 or uint8). */
static int cpu_tensor_ok(const struct npub_model *m, uint32_t t)
{
	return t < m->n_tensors;
}

static int cpu_nodes_check(const struct npub_model *m, struct npuc_diag *d)
{
	for (uint32_t i = 0; i < m->n_cpu_nodes; i++) {
		const struct npub_cpu_node *c = &m->cpu_nodes[i];

		if (!str_ok(m, c->name) || !str_ok(m, c->op) || !m->strtab[c->op] ||
		    !str_ok(m, c->domain) || c->layer >= m->n_layers ||
		    !range_ok(c->attr_first, c->attr_count, m->n_attrs) ||
		    !range_ok(c->in_first, c->in_count, m->n_operands) ||
		    !range_ok(c->out_first, c->out_count, m->n_operands) || !c->out_count ||
		    !RESERVED_ZERO(c, reserved)) {
			npuc_diag_set(d, "npub: CPU node %u: bad reference or range", i);
			return -1;
		}
		for (uint32_t k = 0; k < c->in_count; k++) {
			uint32_t o = m->operands[c->in_first + k];

			if (o != NPUB_NONE && ((o & NPUB_OPND_CONST) ?
					       (o & ~NPUB_OPND_CONST) >= m->n_consts :
					       !cpu_tensor_ok(m, o))) {
				npuc_diag_set(d, "npub: CPU node %u ('%s'): input %u: bad operand "
					      "0x%08x", i, npub_str(m, c->name), k, o);
				return -1;
			}
		}
		for (uint32_t k = 0, real = 0; k < c->out_count; k++) {
			uint32_t o = m->operands[c->out_first + k];

			if (o != NPUB_NONE && !cpu_tensor_ok(m, o)) {
				npuc_diag_set(d, "npub: CPU node %u ('%s'): output %u is not a "
					      "tensor", i, npub_str(m, c->name), k);
				return -1;
			}
			real += o != NPUB_NONE;
			if (k + 1 == c->out_count && !real) {
				npuc_diag_set(d, "npub: CPU node %u ('%s') has no output", i,
					      npub_str(m, c->name));
				return -1;
			}
		}
	}
	return 0;
}

/* ---- int8 host nodes ---------------------------------------------- */
static const struct npub_tensor *q_operand(const struct npub_model *m, uint32_t first,
					   uint32_t k)
{
	uint32_t t = m->operands[first + k];

	if (t >= m->n_tensors || m->tensors[t].dtype != NPUB_DT_INT8)
		return NULL;
	return &m->tensors[t];
}

static int conv_qnode_check(const struct npub_qnode *q, const struct npub_tensor *x,
			    const struct npub_tensor *y)
{
	int64_t eh, ew, oh, ow;
	uint64_t wb;

	if (q->k_h < 1 || q->k_w < 1 || q->k_h > 4096 || q->k_w > 4096 || q->stride_h < 1 ||
	    q->stride_w < 1 || q->dil_h < 1 || q->dil_w < 1 || q->stride_h > 4096 ||
	    q->stride_w > 4096 || q->dil_h > 4096 || q->dil_w > 4096 || q->pad_top < 0 ||
	    q->pad_left < 0 || q->pad_bottom < 0 || q->pad_right < 0 || q->pad_top > 65536 ||
	    q->pad_left > 65536 || q->pad_bottom > 65536 || q->pad_right > 65536 ||
	    q->groups < 1 || x->c % q->groups || y->c % q->groups || q->w_zp < -128 ||
	    q->w_zp > 127)
		return -1;
	eh = (int64_t)(q->k_h - 1) * q->dil_h + 1;
	ew = (int64_t)(q->k_w - 1) * q->dil_w + 1;
	oh = ((int64_t)x->h + q->pad_top + q->pad_bottom - eh);
	ow = ((int64_t)x->w + q->pad_left + q->pad_right - ew);
	if (oh < 0 || ow < 0 || oh / q->stride_h + 1 != y->h || ow / q->stride_w + 1 != y->w)
		return -1;
	wb = (uint64_t)y->c * (uint64_t)q->k_h * (uint64_t)q->k_w * (uint64_t)(x->c / q->groups);
	if (q->data0_bytes != wb || q->data1_bytes != (uint64_t)y->c * 12)
		return -1;
	return 0;
}

static int pool_qnode_check(const struct npub_qnode *q, const struct npub_tensor *x,
			    const struct npub_tensor *y)
{
	if (q->k_h < 1 || q->k_w < 1 || q->stride_h < 1 || q->stride_w < 1 ||
	    q->pad_top < 0 || q->pad_left < 0 || q->pad_bottom < 0 || q->pad_right < 0 ||
	    q->k_h > 65536 || q->k_w > 65536 || q->stride_h > 65536 || q->stride_w > 65536 ||
	    q->pad_top > 65536 || q->pad_left > 65536 || q->pad_bottom > 65536 ||
	    q->pad_right > 65536 || (uint32_t)q->mode > NPU_POOL_AVG ||
	    (uint32_t)q->count_pad > 1 || q->mult[0] >= (1u << 31) ||
	    q->shift[0] > NPU_POOL_SHIFT_MAX || x->c != y->c || q->data0_bytes ||
	    q->data1_bytes)
		return -1;
	return 0;
}

static int shift_ok(uint32_t s)
{
	return s >= NPU_SHIFT_MIN && s <= NPU_SHIFT_MAX;
}

static int eltwise_qnode_check(const struct npub_qnode *q, const struct npub_tensor *a,
			       const struct npub_tensor *b, const struct npub_tensor *y)
{
	uint64_t nb = (uint64_t)a->bytes;

	int mul = q->mode == NPU_ELT_MUL;

	if ((uint32_t)q->mode > NPU_ELT_MUL || (uint32_t)q->bcast > NPU_BCAST_CHANNEL ||
	    q->mult[2] >= (1u << 31) || !shift_ok(q->shift[2]) ||
	    (!mul && (q->mult[0] >= (1u << 31) || q->mult[1] >= (1u << 31) ||
		      !shift_ok(q->shift[0]) || !shift_ok(q->shift[1]))) ||
	    y->h != a->h || y->w != a->w || y->c != a->c)
		return -1;
	if (q->bcast == NPU_BCAST_SCALAR)
		nb = 1;
	else if (q->bcast == NPU_BCAST_CHANNEL)
		nb = (uint64_t)a->c;
	if (b)
		return b->bytes == nb && !q->data0_bytes ? 0 : -1;
	return q->data0_bytes == nb && q->b_zp >= -128 && q->b_zp <= 127 ? 0 : -1;
}

static int qnode_shape_check(const struct npub_model *m, const struct npub_qnode *q)
{
	const struct npub_tensor *x = q->in_count ? q_operand(m, q->in_first, 0) : NULL;
	const struct npub_tensor *y = q->out_count == 1 ? q_operand(m, q->out_first, 0) : NULL;
	const struct npub_tensor *b = q->in_count > 1 ? q_operand(m, q->in_first, 1) : NULL;
	uint64_t csum = 0;

	if (!x || !y)
		return -1;
	switch (q->op) {
	case NPUB_QOP_CONV:
		return q->in_count == 1 ? conv_qnode_check(q, x, y) : -1;
	case NPUB_QOP_POOL:
		return q->in_count == 1 ? pool_qnode_check(q, x, y) : -1;
	case NPUB_QOP_LUT:
		return q->in_count == 1 && q->data0_bytes == 256 && !q->data1_bytes &&
		       x->h == y->h && x->w == y->w && x->c == y->c ? 0 : -1;
	case NPUB_QOP_ELTWISE:
		if (q->in_count > 2 || (q->in_count == 2 && !b) || q->data1_bytes)
			return -1;
		return eltwise_qnode_check(q, x, b, y);
	case NPUB_QOP_MATMUL:
		if (q->in_count != 2 || !b || q->data0_bytes || q->data1_bytes != 12)
			return -1;
		return x->c == b->w && (b->h == 1 || b->h == x->h) && y->h == x->h &&
		       y->w == x->w && y->c == b->c ? 0 : -1;
	case NPUB_QOP_CONCAT:
		for (uint32_t k = 0; k < q->in_count; k++) {
			const struct npub_tensor *t = q_operand(m, q->in_first, k);

			if (!t || t->h != y->h || t->w != y->w)
				return -1;
			csum += (uint64_t)t->c;
		}
		return csum == (uint64_t)y->c && !q->data0_bytes && !q->data1_bytes ? 0 : -1;
	default:
		return -1;
	}
}

static int qnodes_check(const struct npub_model *m, struct npuc_diag *d)
{
	for (uint32_t i = 0; i < m->n_qnodes; i++) {
		const struct npub_qnode *q = &m->qnodes[i];

		if (q->op < 1 || q->op > NPUB_QOP_MAX || q->layer >= m->n_layers ||
		    q->act_min < -128 || q->act_max > 127 || q->act_min > q->act_max ||
		    q->reserved0 || !RESERVED_ZERO(q, reserved) ||
		    !range_ok(q->data0_offset, q->data0_bytes, m->weights_size) ||
		    !range_ok(q->data1_offset, q->data1_bytes, m->weights_size) ||
		    !range_ok(q->in_first, q->in_count, m->n_operands) ||
		    !range_ok(q->out_first, q->out_count, m->n_operands) || !q->in_count) {
			npuc_diag_set(d, "npub: int8 host node %u: bad field or range", i);
			return -1;
		}
		if (qnode_shape_check(m, q) < 0) {
			npuc_diag_set(d, "npub: int8 host node %u (layer '%s'): parameters do "
				      "not match its tensors", i,
				      npub_str(m, m->layers[q->layer].name));
			return -1;
		}
	}
	return 0;
}

/* ---- execution plan ----------------------------------------------- */
struct flow {
	uint8_t *written;
	uint32_t *group;	/* alias group: lowest tensor with the same bytes */
};

static int flow_init(const struct npub_model *m, struct flow *f)
{
	f->written = calloc(m->n_tensors + 1, 1);
	f->group = malloc((m->n_tensors + 1) * sizeof(*f->group));
	if (!f->written || !f->group)
		return -1;
	for (uint32_t i = 0; i < m->n_tensors; i++)
		f->group[i] = (m->tensors[i].flags & NPUB_T_ALIAS) ? m->tensors[i].alias : i;
	for (uint32_t i = 0; i < m->n_tensors; i++)
		if (m->tensors[i].flags & NPUB_T_INPUT)
			f->written[f->group[i]] = 1;
	return 0;
}

static int step_io_check(const struct npub_model *m, const struct npub_step *s, uint32_t i,
			 struct flow *f, struct npuc_diag *d)
{
	for (uint32_t k = 0; k < s->in_count; k++) {
		uint32_t t = m->operands[s->in_first + k];

		if (s->kind == NPUB_STEP_CPU && (t == NPUB_NONE || (t & NPUB_OPND_CONST)))
			continue;
		if (t >= m->n_tensors || !f->written[f->group[t]]) {
			npuc_diag_set(d, "npub: step %u (%s) reads %s%s%s before it is written", i,
				      npub_step_kind_name(s->kind), t < m->n_tensors ? "'" : "",
				      t < m->n_tensors ? npub_str(m, m->tensors[t].name) :
				      "an invalid tensor", t < m->n_tensors ? "'" : "");
			return -1;
		}
	}
	for (uint32_t k = 0; k < s->out_count; k++) {
		uint32_t t = m->operands[s->out_first + k];

		if (s->kind == NPUB_STEP_CPU && t == NPUB_NONE)
			continue;
		if (t >= m->n_tensors || (m->tensors[t].flags & NPUB_T_INPUT)) {
			npuc_diag_set(d, "npub: step %u writes an invalid or input tensor", i);
			return -1;
		}
		f->written[f->group[t]] = 1;
	}
	return 0;
}

static const struct npub_tensor *step_t(const struct npub_model *m, uint32_t first)
{
	return &m->tensors[m->operands[first]];
}

/* Why step s does not fit its kind, or NULL when it does. */
static const char *step_kind_check(const struct npub_model *m, const struct npub_step *s)
{
	const struct npub_tensor *a, *b;

	switch (s->kind) {
	case NPUB_STEP_NPU:
		/* The NPU reads and writes int8 tensors only. */
		for (uint32_t k = 0; k < s->in_count + s->out_count; k++) {
			uint32_t t = m->operands[k < s->in_count ? s->in_first + k :
						 s->out_first + (k - s->in_count)];

			if (t >= m->n_tensors)
				return "an operand is no tensor";
			if (m->tensors[t].dtype != NPUB_DT_INT8)
				return "an operand is not int8";
		}
		return s->index < m->n_streams ? NULL : "index is no stream";
	case NPUB_STEP_CPU:
		if (s->index >= m->n_cpu_nodes)
			return "index is no CPU node";
		return s->in_first == m->cpu_nodes[s->index].in_first &&
		       s->in_count == m->cpu_nodes[s->index].in_count &&
		       s->out_first == m->cpu_nodes[s->index].out_first &&
		       s->out_count == m->cpu_nodes[s->index].out_count ? NULL :
		       "operands differ from its CPU node's";
	case NPUB_STEP_QCPU:
		if (s->index >= m->n_qnodes)
			return "index is no int8 CPU node";
		return s->in_first == m->qnodes[s->index].in_first &&
		       s->in_count == m->qnodes[s->index].in_count &&
		       s->out_first == m->qnodes[s->index].out_first &&
		       s->out_count == m->qnodes[s->index].out_count ? NULL :
		       "operands differ from its int8 CPU node's";
	case NPUB_STEP_QUANTIZE:
	case NPUB_STEP_DEQUANTIZE:
	case NPUB_STEP_COPY:
		if (s->in_count != 1 || s->out_count != 1 || s->index)
			return "needs one input, one output and index 0";
		if (m->operands[s->in_first] >= m->n_tensors ||
		    m->operands[s->out_first] >= m->n_tensors)
			return "an operand is no tensor";
		a = step_t(m, s->in_first);
		b = step_t(m, s->out_first);
		if ((uint64_t)a->h * (uint64_t)a->w * (uint64_t)a->c !=
		    (uint64_t)b->h * (uint64_t)b->w * (uint64_t)b->c)
			return "input and output element counts differ";
		if (s->kind == NPUB_STEP_COPY)
			return a->dtype == b->dtype ? NULL : "input and output types differ";
		if (s->kind == NPUB_STEP_QUANTIZE)
			return a->dtype == NPUB_DT_FLOAT32 && b->dtype == NPUB_DT_INT8 ? NULL :
			       "not float32 in, int8 out";
		return a->dtype == NPUB_DT_INT8 && b->dtype == NPUB_DT_FLOAT32 ? NULL :
		       "not int8 in, float32 out";
	default:
		return "unknown kind";
	}
}

static int steps_check(const struct npub_model *m, struct npuc_diag *d)
{
	struct flow f;
	int rc = 0, fr;

	fr = flow_init(m, &f);
	if (fr < 0) {
		free(f.written);
		free(f.group);
		npuc_diag_set(d, "npub: out of memory");
		return -1;
	}
	for (uint32_t i = 0; i < m->n_steps && !rc; i++) {
		const struct npub_step *s = &m->steps[i];
		const char *why = NULL;

		if (!range_ok(s->in_first, s->in_count, m->n_operands) ||
		    !range_ok(s->out_first, s->out_count, m->n_operands))
			why = "operands beyond the OPERANDS section";
		else if (s->reserved)
			why = "reserved field nonzero";
		else if (s->layer != NPUB_NONE && s->layer >= m->n_layers)
			why = "layer beyond the LAYERS section";
		else
			why = step_kind_check(m, s);
		if (why) {
			npuc_diag_set(d, "npub: step %u (kind %u, %s): %s", i, s->kind,
				      npub_step_kind_name(s->kind), why);
			rc = -1;
			break;
		}
		rc = step_io_check(m, s, i, &f, d);
	}
	for (uint32_t i = 0; i < m->n_tensors && !rc; i++) {
		if ((m->tensors[i].flags & NPUB_T_OUTPUT) && !f.written[f.group[i]]) {
			npuc_diag_set(d, "npub: graph output '%s' is never written",
				      npub_str(m, m->tensors[i].name));
			rc = -1;
		}
	}
	free(f.written);
	free(f.group);
	return rc;
}

static int layers_check(const struct npub_model *m, struct npuc_diag *d)
{
	for (uint32_t i = 0; i < m->n_layers; i++) {
		const struct npub_layer *l = &m->layers[i];
		int ok = str_ok(m, l->name) && str_ok(m, l->op) && str_ok(m, l->desc) &&
			 str_ok(m, l->reason) && l->target >= NPUB_TARGET_NPU &&
			 l->target <= NPUB_TARGET_NONE && !l->reserved0 &&
			 RESERVED_ZERO(l, reserved) &&
			 (l->step == NPUB_NONE || l->step < m->n_steps);

		if (ok && l->stream != NPUB_NONE)
			ok = l->stream < m->n_streams &&
			     range_ok(l->cmd_offset, l->cmd_bytes, m->streams[l->stream].size);
		if (!ok) {
			npuc_diag_set(d, "npub: layer %u: bad field or reference", i);
			return -1;
		}
	}
	return 0;
}

int npub_validate(const struct npub_model *m, struct npuc_diag *d)
{
	if (strtab_check(m, d) < 0 || header_target_check(&m->hdr, d) < 0 ||
	    meta_check(m, d) < 0)
		return -1;
	if (regions_check(m, d) < 0 || tensors_check(m, d) < 0 || layers_check(m, d) < 0 ||
	    streams_check(m, d) < 0 || consts_check(m, d) < 0 || attrs_check(m, d) < 0 ||
	    cpu_nodes_check(m, d) < 0 || qnodes_check(m, d) < 0 || steps_check(m, d) < 0)
		return -1;
	return 0;
}
