// SPDX-License-Identifier: MIT
/*
 * The in-memory .npub model (npub.h): allocation, the string table (a hash
 * index keeps adding strings linear), the names of kinds and targets, and
 * the checksums (CRC32 through zlib, SHA-256 through Debian's nettle: no
 * hand-rolled crypto). The reader, the validator and the writer build on it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <nettle/sha2.h>
#include <zlib.h>

#include "npub.h"

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
