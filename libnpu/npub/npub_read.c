// SPDX-License-Identifier: MIT
/*
 * .npub reader (npub.h) and stream relocation.
 *
 * The reader trusts nothing: it checks the header, the section table and
 * every section's placement with overflow-safe arithmetic and CRC32s,
 * copies the sections into a struct npub_model and then runs
 * npub_validate() (npub_validate.c) on it. Any error gives a message
 * naming the offending item.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "npu_hw.h"
#include "npu_isa.h"
#include "npub.h"
#include "npub_check.h"

/* ------------------------------------------------------------------ */
/* Parsing                                                             */
/* ------------------------------------------------------------------ */
struct sec_want {
	uint32_t entry_bytes;	/* 0 = blob */
	int required;
};

static const struct sec_want sec_want[NPUB_SEC_TYPE_MAX + 1] = {
	[NPUB_SEC_META] = { sizeof(struct npub_meta), 1 },
	[NPUB_SEC_STRTAB] = { 0, 1 },
	[NPUB_SEC_REGIONS] = { sizeof(struct npub_region), 1 },
	[NPUB_SEC_TENSORS] = { sizeof(struct npub_tensor), 1 },
	[NPUB_SEC_STREAMS] = { sizeof(struct npub_stream), 0 },
	[NPUB_SEC_CMDS] = { 0, 0 },
	[NPUB_SEC_RELOCS] = { sizeof(struct npub_reloc), 0 },
	[NPUB_SEC_STEPS] = { sizeof(struct npub_step), 1 },
	[NPUB_SEC_OPERANDS] = { sizeof(uint32_t), 0 },
	[NPUB_SEC_LAYERS] = { sizeof(struct npub_layer), 0 },
	[NPUB_SEC_WEIGHTS] = { 0, 0 },
	[NPUB_SEC_CPU_NODES] = { sizeof(struct npub_cpu_node), 0 },
	[NPUB_SEC_CPU_ATTRS] = { sizeof(struct npub_attr), 0 },
	[NPUB_SEC_CPU_CONSTS] = { sizeof(struct npub_const), 0 },
	[NPUB_SEC_DATA] = { 0, 0 },
	[NPUB_SEC_QNODES] = { sizeof(struct npub_qnode), 0 },
};

static const char *sec_name(uint32_t type)
{
	static const char *const names[NPUB_SEC_TYPE_MAX + 1] = {
		[NPUB_SEC_META] = "META", [NPUB_SEC_STRTAB] = "STRTAB",
		[NPUB_SEC_REGIONS] = "REGIONS", [NPUB_SEC_TENSORS] = "TENSORS",
		[NPUB_SEC_STREAMS] = "STREAMS", [NPUB_SEC_CMDS] = "CMDS",
		[NPUB_SEC_RELOCS] = "RELOCS", [NPUB_SEC_STEPS] = "STEPS",
		[NPUB_SEC_OPERANDS] = "OPERANDS", [NPUB_SEC_LAYERS] = "LAYERS",
		[NPUB_SEC_WEIGHTS] = "WEIGHTS", [NPUB_SEC_CPU_NODES] = "CPU_NODES",
		[NPUB_SEC_CPU_ATTRS] = "CPU_ATTRS", [NPUB_SEC_CPU_CONSTS] = "CPU_CONSTS",
		[NPUB_SEC_DATA] = "DATA", [NPUB_SEC_QNODES] = "QNODES",
	};

	return type >= 1 && type <= NPUB_SEC_TYPE_MAX ? names[type] : "unknown";
}

static int header_parse(const uint8_t *buf, size_t len, struct npub_header *h,
			struct npuc_diag *d)
{
	uint64_t table_end;

	if (len < NPUB_MAGIC_BYTES || memcmp(buf, NPUB_MAGIC, NPUB_MAGIC_BYTES)) {
		npuc_diag_set(d, "npub: not an .npub file (bad magic)");
		return -1;
	}
	if (len < sizeof(*h)) {
		npuc_diag_set(d, "npub: truncated: %zu bytes, the header alone is %zu", len,
			      sizeof(*h));
		return -1;
	}
	memcpy(h, buf, sizeof(*h));
	if (h->version_major != NPUB_VERSION_MAJOR) {
		npuc_diag_set(d, "npub: format version %u.%u, this reader supports %u.x",
			      h->version_major, h->version_minor, NPUB_VERSION_MAJOR);
		return -1;
	}
	if (h->header_crc != npub_crc32(h, offsetof(struct npub_header, header_crc))) {
		npuc_diag_set(d, "npub: header checksum mismatch (corrupt file)");
		return -1;
	}
	if (h->header_bytes != sizeof(*h) || h->flags || !RESERVED_ZERO(h, reserved)) {
		npuc_diag_set(d, "npub: bad header size, flags or reserved field");
		return -1;
	}
	if (h->file_bytes != len) {
		npuc_diag_set(d, "npub: %s: header says %llu bytes, got %zu",
			      h->file_bytes > len ? "truncated" : "trailing data",
			      (unsigned long long)h->file_bytes, len);
		return -1;
	}
	if (h->section_entry_bytes != sizeof(struct npub_section) || !h->section_count ||
	    h->section_count > NPUB_MAX_SECTIONS || h->table_offset % 8 ||
	    h->table_offset < sizeof(*h) ||
	    add_ovf(h->table_offset, (uint64_t)h->section_count * sizeof(struct npub_section),
		    &table_end) || table_end > len) {
		npuc_diag_set(d, "npub: bad section table (%u entries of %u bytes at %llu)",
			      h->section_count, h->section_entry_bytes,
			      (unsigned long long)h->table_offset);
		return -1;
	}
	if (h->table_crc != npub_crc32(buf + h->table_offset, table_end - h->table_offset)) {
		npuc_diag_set(d, "npub: section table checksum mismatch (corrupt file)");
		return -1;
	}
	return 0;
}

static int sec_cmp(const void *a, const void *b)
{
	const struct npub_section *x = a, *y = b;

	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Placement, shape and CRC of every section; fills found[type]. */
static int sections_parse(const uint8_t *buf, size_t len, const struct npub_header *h,
			  struct npub_section *tab, const struct npub_section **found,
			  struct npuc_diag *d)
{
	struct npub_section sorted[NPUB_MAX_SECTIONS];
	uint64_t table_end = h->table_offset + (uint64_t)h->section_count * sizeof(*tab);

	memcpy(tab, buf + h->table_offset, h->section_count * sizeof(*tab));
	for (uint32_t i = 0; i < h->section_count; i++) {
		const struct npub_section *s = &tab[i];
		const char *nm = sec_name(s->type);

		if (s->flags || !RESERVED_ZERO(s, reserved) || s->offset % NPUB_ALIGN ||
		    s->offset < table_end || !range_ok(s->offset, s->size, len)) {
			npuc_diag_set(d, "npub: section table entry %u (type %u, %s): bad placement "
				      "[%llu, +%llu) in a %zu-byte file", i, s->type, nm,
				      (unsigned long long)s->offset,
				      (unsigned long long)s->size, len);
			return -1;
		}
		if (s->crc != npub_crc32(buf + s->offset, s->size)) {
			npuc_diag_set(d, "npub: section table entry %u (type %u, %s): checksum "
				      "mismatch (corrupt file)", i, s->type, nm);
			return -1;
		}
		if (s->type < 1 || s->type > NPUB_SEC_TYPE_MAX)
			continue;	/* a newer minor version's section: skipped */
		if (found[s->type]) {
			npuc_diag_set(d, "npub: section %s appears twice", nm);
			return -1;
		}
		if (s->entry_bytes != sec_want[s->type].entry_bytes ||
		    (s->entry_bytes ? (uint64_t)s->count * s->entry_bytes != s->size :
				      s->count != 0) ||
		    (s->type == NPUB_SEC_META && s->count != 1)) {
			npuc_diag_set(d, "npub: section %s: %u records of %u bytes in %llu bytes "
				      "(records are %u bytes)", nm, s->count, s->entry_bytes,
				      (unsigned long long)s->size, sec_want[s->type].entry_bytes);
			return -1;
		}
		found[s->type] = s;
	}
	for (uint32_t t = 1; t <= NPUB_SEC_TYPE_MAX; t++) {
		if (sec_want[t].required && !found[t]) {
			npuc_diag_set(d, "npub: required section %s is missing", sec_name(t));
			return -1;
		}
	}
	memcpy(sorted, tab, h->section_count * sizeof(*tab));
	qsort(sorted, h->section_count, sizeof(*sorted), sec_cmp);
	for (uint32_t i = 1; i < h->section_count; i++) {
		if (sorted[i].offset < sorted[i - 1].offset + sorted[i - 1].size) {
			npuc_diag_set(d, "npub: sections %s and %s overlap",
				      sec_name(sorted[i - 1].type), sec_name(sorted[i].type));
			return -1;
		}
	}
	/* No CRC covers the padding: it must be zero, so every byte is checked. */
	if (!all_zero(buf + sizeof(*h), h->table_offset - sizeof(*h)))
		goto padding;
	for (uint32_t i = 0; i <= h->section_count; i++) {
		uint64_t from = i ? sorted[i - 1].offset + sorted[i - 1].size : table_end;
		uint64_t to = i < h->section_count ? sorted[i].offset : len;

		if (to > from && !all_zero(buf + from, (size_t)(to - from)))
			goto padding;
	}
	return 0;
padding:
	npuc_diag_set(d, "npub: nonzero padding between sections (corrupt file)");
	return -1;
}

/* Copies a section (or nothing if absent) into a fresh allocation. */
static int sec_copy(const uint8_t *buf, const struct npub_section *s, void **out, uint32_t *count,
		    uint64_t *size)
{
	uint64_t n = s ? s->size : 0;

	*out = NULL;
	if (count)
		*count = s ? s->count : 0;
	if (size)
		*size = n;
	if (!n)
		return 0;
	if (n > SIZE_MAX)
		return -1;
	*out = malloc((size_t)n);
	if (!*out)
		return -1;
	memcpy(*out, buf + s->offset, (size_t)n);
	return 0;
}

static int model_fill(const uint8_t *buf, const struct npub_section **f, struct npub_model *m)
{
	uint64_t strsz;
	void *p;
	int rc = 0;

	free(m->strtab);
	m->strtab = NULL;
	free(m->strhash);	/* npub_add_str rebuilds its index from the new table */
	m->strhash = NULL;
	m->strhash_cap = m->strhash_n = 0;
	rc |= sec_copy(buf, f[NPUB_SEC_STRTAB], &p, NULL, &strsz);
	m->strtab = p;
	if (strsz >= UINT32_MAX)
		return -2;
	m->strtab_size = m->strtab_cap = (uint32_t)strsz;
	memcpy(&m->meta, buf + f[NPUB_SEC_META]->offset, sizeof(m->meta));
	rc |= sec_copy(buf, f[NPUB_SEC_REGIONS], &p, &m->n_regions, NULL);
	m->regions = p;
	rc |= sec_copy(buf, f[NPUB_SEC_TENSORS], &p, &m->n_tensors, NULL);
	m->tensors = p;
	rc |= sec_copy(buf, f[NPUB_SEC_STREAMS], &p, &m->n_streams, NULL);
	m->streams = p;
	rc |= sec_copy(buf, f[NPUB_SEC_CMDS], &p, NULL, &m->cmds_size);
	m->cmds = p;
	rc |= sec_copy(buf, f[NPUB_SEC_RELOCS], &p, &m->n_relocs, NULL);
	m->relocs = p;
	rc |= sec_copy(buf, f[NPUB_SEC_STEPS], &p, &m->n_steps, NULL);
	m->steps = p;
	rc |= sec_copy(buf, f[NPUB_SEC_OPERANDS], &p, &m->n_operands, NULL);
	m->operands = p;
	rc |= sec_copy(buf, f[NPUB_SEC_LAYERS], &p, &m->n_layers, NULL);
	m->layers = p;
	rc |= sec_copy(buf, f[NPUB_SEC_WEIGHTS], &p, NULL, &m->weights_size);
	m->weights = p;
	rc |= sec_copy(buf, f[NPUB_SEC_CPU_NODES], &p, &m->n_cpu_nodes, NULL);
	m->cpu_nodes = p;
	rc |= sec_copy(buf, f[NPUB_SEC_CPU_ATTRS], &p, &m->n_attrs, NULL);
	m->attrs = p;
	rc |= sec_copy(buf, f[NPUB_SEC_CPU_CONSTS], &p, &m->n_consts, NULL);
	m->consts = p;
	rc |= sec_copy(buf, f[NPUB_SEC_DATA], &p, NULL, &m->data_size);
	m->data = p;
	rc |= sec_copy(buf, f[NPUB_SEC_QNODES], &p, &m->n_qnodes, NULL);
	m->qnodes = p;
	return rc ? -1 : 0;
}

int npub_read_mem(const void *buf, size_t len, struct npub_model **out, struct npuc_diag *d)
{
	const struct npub_section *found[NPUB_SEC_TYPE_MAX + 1] = { 0 };
	struct npub_section tab[NPUB_MAX_SECTIONS];
	struct npub_model *m;
	struct npub_header h;
	int rc;

	*out = NULL;
	if (!buf && len) {
		npuc_diag_set(d, "npub: no data");
		return -1;
	}
	if (header_parse(buf, len, &h, d) < 0 || sections_parse(buf, len, &h, tab, found, d) < 0)
		return -1;
	m = npub_model_new();
	if (!m) {
		npuc_diag_set(d, "npub: out of memory");
		return -1;
	}
	m->hdr = h;
	rc = model_fill(buf, found, m);
	if (rc < 0) {
		npuc_diag_set(d, rc == -2 ? "npub: string table too large" : "npub: out of memory");
		npub_model_free(m);
		return -1;
	}
	if (npub_validate(m, d) < 0) {
		npub_model_free(m);
		return -1;
	}
	*out = m;
	return 0;
}

/*
 * Reads the header first and then exactly the size it declares: /dev/zero,
 * a FIFO or a huge file that is no .npub is refused before anything large
 * is read (npub_read_mem still validates everything).
 */
int npub_read_file(const char *path, struct npub_model **out, struct npuc_diag *d)
{
	struct npub_header h;
	struct stat st;
	FILE *f = fopen(path, "rb");
	uint8_t *buf = NULL;
	size_t len;
	int rc;

	*out = NULL;
	if (!f) {
		npuc_diag_set(d, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (fstat(fileno(f), &st) || !S_ISREG(st.st_mode)) {
		npuc_diag_set(d, "%s: not a regular file", path);
		fclose(f);
		return -1;
	}
	if (fread(&h, 1, sizeof(h), f) != sizeof(h) ||
	    memcmp(h.magic, NPUB_MAGIC, NPUB_MAGIC_BYTES)) {
		npuc_diag_set(d, "%s: npub: not an .npub file (%s)", path,
			      (uint64_t)st.st_size < sizeof(h) ? "shorter than the header" :
			      "bad magic");
		fclose(f);
		return -1;
	}
	if (h.file_bytes != (uint64_t)st.st_size || h.file_bytes > NPUB_MAX_FILE_BYTES ||
	    h.file_bytes > SIZE_MAX) {
		npuc_diag_set(d, "%s: npub: %s: the header says %llu bytes, the file has %lld",
			      path, h.file_bytes > (uint64_t)st.st_size ? "truncated" :
			      "bytes after the end", (unsigned long long)h.file_bytes,
			      (long long)st.st_size);
		fclose(f);
		return -1;
	}
	len = (size_t)h.file_bytes;
	buf = malloc(len);
	if (!buf) {
		npuc_diag_set(d, "%s: out of memory for %zu bytes", path, len);
		fclose(f);
		return -1;
	}
	memcpy(buf, &h, sizeof(h));
	if (fread(buf + sizeof(h), 1, len - sizeof(h), f) != len - sizeof(h)) {
		npuc_diag_set(d, "%s: read error: %s", path,
			      ferror(f) ? strerror(errno) : "the file shrank while being read");
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	rc = npub_read_mem(buf, len, out, d);
	if (rc < 0) {
		char msg[sizeof(d->msg)];

		snprintf(msg, sizeof(msg), "%s", d->msg);
		npuc_diag_set(d, "%s: %s", path, msg);
	}
	free(buf);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Relocation                                                          */
/* ------------------------------------------------------------------ */
int npub_relocate(const struct npub_model *m, uint32_t stream, void *cmd, const uint64_t *base,
		  uint32_t n_base, struct npuc_diag *d)
{
	const struct npub_stream *st;
	uint8_t *p = cmd;

	if (stream >= m->n_streams) {
		npuc_diag_set(d, "npub: no stream %u", stream);
		return -1;
	}
	if (n_base < m->n_regions) {
		npuc_diag_set(d, "npub: %u region bases given, the model has %u regions", n_base,
			      m->n_regions);
		return -1;
	}
	for (uint32_t r = 0; r < m->n_regions; r++) {
		const struct npub_region *rg = &m->regions[r];

		if (base[r] % rg->align || base[r] > (1ull << 32) - rg->size) {
			npuc_diag_set(d, "npub: region %u (%s) base 0x%llx: misaligned or beyond "
				      "the 32-bit VA space", r, npub_region_kind_name(rg->kind),
				      (unsigned long long)base[r]);
			return -1;
		}
	}
	st = &m->streams[stream];
	for (uint32_t k = 0; k < st->reloc_count; k++) {
		const struct npub_reloc *rl = &m->relocs[st->reloc_first + k];
		uint64_t va = base[rl->region] + rl->addend;
		uint32_t lo = (uint32_t)va, hi = (uint32_t)(va >> 32);

		memcpy(p + rl->offset, &lo, 4);
		memcpy(p + rl->offset + 4, &hi, 4);
	}
	return 0;
}
