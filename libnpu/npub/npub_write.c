// SPDX-License-Identifier: MIT
/*
 * .npub writer (npub.h).
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
#include <zlib.h>

#include "npu_isa.h"
#include "npub.h"
#include "outfile.h"

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
