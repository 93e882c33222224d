// SPDX-License-Identifier: MIT
/*
 * .npub writer and the in-memory model helpers (npub.h).
 *
 * Layout written: header, section table right after it, then every
 * section type of this version in type order, each on a 64-byte boundary
 * (padding bytes are zero). Empty tables are written with size 0 so a
 * reader of this version always finds every section.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>
#include <zlib.h>

#include "npu_isa.h"
#include "npub.h"
#include "outfile.h"

struct npub_model *npub_model_new(void)
{
	struct npub_model *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->strtab = calloc(1, 64);
	if (!m->strtab) {
		free(m);
		return NULL;
	}
	m->strtab_size = 1;	/* offset 0: the empty string */
	m->strtab_cap = 64;
	return m;
}

void npub_model_free(struct npub_model *m)
{
	if (!m)
		return;
	free(m->strtab);
	free(m->strhash);
	free(m->regions);
	free(m->tensors);
	free(m->streams);
	free(m->cmds);
	free(m->relocs);
	free(m->steps);
	free(m->operands);
	free(m->layers);
	free(m->weights);
	free(m->cpu_nodes);
	free(m->attrs);
	free(m->consts);
	free(m->data);
	free(m->qnodes);
	free(m);
}

const char *npub_str(const struct npub_model *m, uint32_t off)
{
	if (!m->strtab || off >= m->strtab_size)
		return "";
	return m->strtab + off;
}

static uint32_t str_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	while (*s)
		h = (h ^ (uint8_t)*s++) * 16777619u;
	return h;
}

/* The slot of s in the index: where it is, or the empty slot it would take. */
static uint32_t *str_slot(const struct npub_model *m, const char *s)
{
	uint32_t mask = m->strhash_cap - 1, i = str_hash(s) & mask;

	while (m->strhash[i] && strcmp(m->strtab + m->strhash[i], s))
		i = (i + 1) & mask;
	return &m->strhash[i];
}

/* (Re)builds the index at twice the strings it must hold; 0 or -1. */
static int str_index(struct npub_model *m, uint32_t want)
{
	uint32_t cap = 64, *old = m->strhash;

	while (cap < 2 * want)
		cap *= 2;
	m->strhash = calloc(cap, sizeof(*m->strhash));
	if (!m->strhash) {
		m->strhash = old;
		return -1;
	}
	free(old);
	m->strhash_cap = cap;
	m->strhash_n = 0;
	for (uint32_t off = 1; off < m->strtab_size; off += (uint32_t)strlen(m->strtab + off) + 1) {
		uint32_t *slot = str_slot(m, m->strtab + off);

		if (!*slot) {
			*slot = off;
			m->strhash_n++;
		}
	}
	return 0;
}

/*
 * Offset of s in the string table, added if new. Names repeat (layer and
 * tensor names, op names), so they are deduplicated through a hash index:
 * a graph of N nodes costs O(N), not O(N^2).
 */
uint32_t npub_add_str(struct npub_model *m, const char *s)
{
	size_t len = strlen(s ? s : "");
	uint32_t off, *slot;

	if (!s || !*s)
		return 0;
	if (2 * (m->strhash_n + 1) > m->strhash_cap && str_index(m, m->strhash_n + 1) < 0)
		return NPUB_NONE;
	slot = str_slot(m, s);
	if (*slot)
		return *slot;
	if (len >= UINT32_MAX / 2 || m->strtab_size > UINT32_MAX / 2 - len - 1)
		return NPUB_NONE;
	if (m->strtab_size + len + 1 > m->strtab_cap) {
		uint32_t cap = m->strtab_cap * 2;
		char *p;

		while (cap < m->strtab_size + len + 1)
			cap *= 2;
		p = realloc(m->strtab, cap);
		if (!p)
			return NPUB_NONE;
		m->strtab = p;
		m->strtab_cap = cap;
	}
	off = m->strtab_size;
	memcpy(m->strtab + off, s, len + 1);
	m->strtab_size += (uint32_t)len + 1;
	*slot = off;
	m->strhash_n++;
	return off;
}

const char *npub_step_kind_name(uint32_t kind)
{
	static const char *const names[] = {
		[NPUB_STEP_NPU] = "NPU", [NPUB_STEP_CPU] = "CPU",
		[NPUB_STEP_QUANTIZE] = "QUANTIZE", [NPUB_STEP_DEQUANTIZE] = "DEQUANTIZE",
		[NPUB_STEP_COPY] = "COPY", [NPUB_STEP_QCPU] = "QCPU",
	};

	if (kind < 1 || kind > NPUB_STEP_KIND_MAX)
		return "unknown";
	return names[kind];
}

const char *npub_target_name(uint32_t target)
{
	switch (target) {
	case NPUB_TARGET_NPU:
		return "NPU";
	case NPUB_TARGET_CPU:
		return "CPU";
	case NPUB_TARGET_HOST:
		return "host";
	case NPUB_TARGET_QCPU:
		return "CPU-int8";
	case NPUB_TARGET_NONE:
		return "-";
	default:
		return "?";
	}
}

const char *npub_region_kind_name(uint32_t kind)
{
	switch (kind) {
	case NPUB_REGION_WEIGHTS:
		return "WEIGHTS";
	case NPUB_REGION_ARENA:
		return "ARENA";
	case NPUB_REGION_INPUT:
		return "INPUT";
	case NPUB_REGION_OUTPUT:
		return "OUTPUT";
	default:
		return "?";
	}
}

/* SHA-256 of the source model, through Debian's nettle (no hand-rolled crypto). */
void npub_sha256(const void *data, size_t len, uint8_t out[32])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	sha256_digest(&ctx, SHA256_DIGEST_SIZE, out);
}

/* ------------------------------------------------------------------ */
/* Serialisation                                                       */
/* ------------------------------------------------------------------ */
struct sec_src {
	uint32_t type;
	const void *data;
	uint64_t size;
	uint32_t count, entry_bytes;
};

static uint64_t align_up(uint64_t v)
{
	return (v + NPUB_ALIGN - 1) & ~(uint64_t)(NPUB_ALIGN - 1);
}

uint32_t npub_crc32(const void *p, uint64_t len)
{
	const uint8_t *b = p;
	uLong crc = crc32(0L, Z_NULL, 0);

	/* zlib takes uInt lengths: feed large buffers in pieces. */
	while (len) {
		uInt n = len > (1u << 30) ? (1u << 30) : (uInt)len;

		crc = crc32(crc, b, n);
		b += n;
		len -= n;
	}
	return (uint32_t)crc;
}

#define TABLE(t, arr, n) { t, arr, (uint64_t)(n) * sizeof(*(arr)), n, sizeof(*(arr)) }
#define BLOB(t, p, n) { t, p, n, 0, 0 }

int npub_write_mem(const struct npub_model *m, uint8_t **out, size_t *len, struct npuc_diag *d)
{
	const struct sec_src src[] = {
		TABLE(NPUB_SEC_META, &m->meta, 1),
		BLOB(NPUB_SEC_STRTAB, m->strtab, m->strtab_size),
		TABLE(NPUB_SEC_REGIONS, m->regions, m->n_regions),
		TABLE(NPUB_SEC_TENSORS, m->tensors, m->n_tensors),
		TABLE(NPUB_SEC_STREAMS, m->streams, m->n_streams),
		BLOB(NPUB_SEC_CMDS, m->cmds, m->cmds_size),
		TABLE(NPUB_SEC_RELOCS, m->relocs, m->n_relocs),
		TABLE(NPUB_SEC_STEPS, m->steps, m->n_steps),
		TABLE(NPUB_SEC_OPERANDS, m->operands, m->n_operands),
		TABLE(NPUB_SEC_LAYERS, m->layers, m->n_layers),
		BLOB(NPUB_SEC_WEIGHTS, m->weights, m->weights_size),
		TABLE(NPUB_SEC_CPU_NODES, m->cpu_nodes, m->n_cpu_nodes),
		TABLE(NPUB_SEC_CPU_ATTRS, m->attrs, m->n_attrs),
		TABLE(NPUB_SEC_CPU_CONSTS, m->consts, m->n_consts),
		BLOB(NPUB_SEC_DATA, m->data, m->data_size),
		TABLE(NPUB_SEC_QNODES, m->qnodes, m->n_qnodes),
	};
	const unsigned int nsec = sizeof(src) / sizeof(src[0]);
	struct npub_section table[sizeof(src) / sizeof(src[0])];
	struct npub_header h;
	uint64_t off, total;
	uint8_t *buf;

	*out = NULL;
	*len = 0;
	if (npub_validate(m, d) < 0)
		return -1;
	memset(table, 0, sizeof(table));
	off = align_up(sizeof(h) + sizeof(table));
	for (unsigned int i = 0; i < nsec; i++) {
		table[i].type = src[i].type;
		table[i].offset = off;
		table[i].size = src[i].size;
		table[i].count = src[i].count;
		table[i].entry_bytes = src[i].entry_bytes;
		table[i].crc = npub_crc32(src[i].data, src[i].size);
		off = align_up(off + src[i].size);
	}
	total = off;
	if (total > NPUB_MAX_FILE_BYTES || total > SIZE_MAX) {
		npuc_diag_set(d, "npub: file would be %llu bytes, too large",
			      (unsigned long long)total);
		return -1;
	}
	buf = calloc(1, (size_t)total);
	if (!buf) {
		npuc_diag_set(d, "npub: out of memory (%llu bytes)", (unsigned long long)total);
		return -1;
	}
	for (unsigned int i = 0; i < nsec; i++)
		if (src[i].size)
			memcpy(buf + table[i].offset, src[i].data, (size_t)src[i].size);

	h = m->hdr;
	memcpy(h.magic, NPUB_MAGIC, NPUB_MAGIC_BYTES);
	h.version_major = NPUB_VERSION_MAJOR;
	h.version_minor = NPUB_VERSION_MINOR;
	h.header_bytes = sizeof(h);
	h.file_bytes = total;
	h.table_offset = sizeof(h);
	h.section_count = nsec;
	h.section_entry_bytes = sizeof(struct npub_section);
	h.flags = 0;
	h.isa_version = NPU_ISA_VERSION;
	memset(h.reserved, 0, sizeof(h.reserved));
	h.table_crc = npub_crc32(table, sizeof(table));
	h.header_crc = npub_crc32(&h, offsetof(struct npub_header, header_crc));
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), table, sizeof(table));
	*out = buf;
	*len = (size_t)total;
	return 0;
}

/* Written beside path and renamed over it: a failed write leaves the old file. */
int npub_write_file(const struct npub_model *m, const char *path, struct npuc_diag *d)
{
	struct npuc_outfile of;
	uint8_t *buf;
	size_t len;
	FILE *f;
	int rc = 0;

	if (npub_write_mem(m, &buf, &len, d) < 0)
		return -1;
	if (npuc_outfile_begin(&of, path, d)) {
		free(buf);
		return -1;
	}
	f = fopen(of.tmp, "wb");
	if (!f) {
		npuc_diag_set(d, "%s: cannot create: %s", path, strerror(errno));
		rc = -1;
	} else {
		if (fwrite(buf, 1, len, f) != len) {
			npuc_diag_set(d, "%s: write failed: %s", path, strerror(errno));
			rc = -1;
		}
		if (fclose(f) != 0 && rc == 0) {
			npuc_diag_set(d, "%s: write failed: %s", path, strerror(errno));
			rc = -1;
		}
	}
	free(buf);
	if (!rc)
		rc = npuc_outfile_commit(&of, d);
	npuc_outfile_abort(&of);
	return rc;
}
