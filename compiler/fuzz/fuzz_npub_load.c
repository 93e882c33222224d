// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness for the .npub loader: arbitrary bytes through
 * npub_read_mem(). A file that loads must validate again, write out in the
 * canonical layout (which must read back and write to the same bytes) and
 * relocate every stream; a file that does not load must come with a
 * message. Nothing may crash, leak or trip a
 * sanitizer.
 *
 * Checksums make random bytes fail early, so the harness also tries the
 * input with every CRC recomputed: the fuzzer then explores the
 * structural and semantic checks behind them.
 *
 * Built with -DNPUB_FUZZ_SEEDS instead, this file is a small program that
 * writes seed .npub files (lowered from hand-made graphs) into a directory.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "npub.h"

#ifndef NPUB_FUZZ_SEEDS
static uint32_t crc(const uint8_t *p, uint64_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

/* Recomputes the section, table and header CRCs where the layout allows. */
static void fix_crcs(uint8_t *buf, size_t len)
{
	struct npub_header h;
	struct npub_section s;

	if (len < sizeof(h))
		return;
	memcpy(&h, buf, sizeof(h));
	if (h.section_count <= NPUB_MAX_SECTIONS && h.table_offset <= len &&
	    (uint64_t)h.section_count * sizeof(s) <= len - h.table_offset) {
		for (uint32_t i = 0; i < h.section_count; i++) {
			uint8_t *e = buf + h.table_offset + i * sizeof(s);

			memcpy(&s, e, sizeof(s));
			if (s.offset <= len && s.size <= len - s.offset && s.size < (1u << 30)) {
				s.crc = crc(buf + s.offset, s.size);
				memcpy(e, &s, sizeof(s));
			}
		}
		h.table_crc = crc(buf + h.table_offset, h.section_count * sizeof(s));
	}
	h.header_crc = crc((const uint8_t *)&h, offsetof(struct npub_header, header_crc));
	memcpy(buf, &h, sizeof(h));
}
#endif

/*
 * The reader accepts any valid layout, the writer emits the canonical one:
 * what it writes must load and write back to the same bytes.
 */
static void check_canonical(const struct npub_model *m)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m2;
	uint8_t *out, *out2;
	size_t len, len2;

	if (npub_write_mem(m, &out, &len, &d) < 0)
		abort();
	if (npub_read_mem(out, len, &m2, &d) < 0)
		abort();
	if (npub_write_mem(m2, &out2, &len2, &d) < 0)
		abort();
	if (len != len2 || memcmp(out, out2, len))
		abort();
	free(out);
	free(out2);
	npub_model_free(m2);
}

static void check_loaded(struct npub_model *m)
{
	struct npuc_diag d = { { 0 } };
	uint64_t base[NPUB_MAX_SECTIONS * 64];

	if (npub_validate(m, &d) < 0)
		abort();	/* loaded but invalid */
	check_canonical(m);
	if (m->n_regions <= sizeof(base) / sizeof(base[0])) {
		uint64_t va = 0;

		for (uint32_t r = 0; r < m->n_regions; r++) {
			base[r] = va;
			va += (m->regions[r].size + 4095) & ~4095ull;
		}
		for (uint32_t s = 0; s < m->n_streams && va <= (1ull << 32); s++) {
			uint8_t *cmd = malloc(m->streams[s].size);

			if (!cmd)
				abort();
			memcpy(cmd, m->cmds + m->streams[s].offset, m->streams[s].size);
			if (npub_relocate(m, s, cmd, base, m->n_regions, &d) < 0)
				abort();
			free(cmd);
		}
	}
}

static void one(const uint8_t *data, size_t size)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m = NULL;

	if (npub_read_mem(data, size, &m, &d) == 0) {
		check_loaded(m);
		npub_model_free(m);
	} else if (!d.msg[0] || m) {
		abort();	/* failure without a message */
	}
}

#ifndef NPUB_FUZZ_SEEDS
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	one(data, size);
	if (size < sizeof(struct npub_header) || size > (1u << 24))
		return 0;
	copy = malloc(size);
	if (!copy)
		return 0;
	memcpy(copy, data, size);
	fix_crcs(copy, size);
	one(copy, size);
	free(copy);
	return 0;
}
#else
#include "lower.h"

static void seed(const char *dir, const char *name, struct npuq_graph *g)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m;
	char path[512];

	uint8_t *buf;
	size_t len;

	snprintf(path, sizeof(path), "%s/%s.npub", dir, name);
	if (npul_lower(g, NULL, &m, &d) < 0 || npub_write_file(m, path, &d) < 0 ||
	    npub_write_mem(m, &buf, &len, &d) < 0) {
		fprintf(stderr, "npub-seed: %s: %s\n", name, d.msg);
		exit(1);
	}
	one(buf, len);	/* the harness accepts its own seeds */
	free(buf);
	npub_model_free(m);
	npuq_graph_free(g);
}

static int t8(struct npuq_graph *g, const char *n, int h, int w, int c)
{
	struct npuc_diag d;

	return npuq_add_tensor(g, n, h, w, c, 0.05f, 1, 0, &d);
}

/* x -> conv 3x3 -> maxpool 2x2 -> add(const) -> LUT -> concat(self) -> y */
static struct npuq_graph *graph(int with_float)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d;
	struct npuq_conv c;
	struct npuq_pool p;
	struct npuq_eltwise e;
	struct npuq_lut l;
	int x, xq, y1, y2, y3, y4, y5, cat[2], xf;

	memset(&c, 0, sizeof(c));
	memset(&p, 0, sizeof(p));
	memset(&e, 0, sizeof(e));
	memset(&l, 0, sizeof(l));

	x = with_float ? npuq_add_tensor(g, "xf", 8, 8, 4, 0, 0, NPUQ_T_FLOAT, &d) :
	    t8(g, "x", 8, 8, 4);
	npuq_add_input(g, x, &d);
	xq = x;
	if (with_float) {
		xq = t8(g, "xq", 8, 8, 4);
		xf = x;
		npuq_add_node(g, NPUQ_QUANTIZE, "q", &xf, 1, &xq, 1, NULL, &d);
	}
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = c.dil_h = c.dil_w = c.groups = 1;
	c.pad_top = c.pad_left = c.pad_bottom = c.pad_right = 1;
	c.act_min = -128;
	c.act_max = 127;
	c.w = calloc(8 * 9 * 4, 1);
	c.q = calloc(8, sizeof(*c.q));
	for (int i = 0; i < 8; i++) {
		c.q[i].mult = 1u << 30;
		c.q[i].shift = 36;
	}
	y1 = t8(g, "y1", 8, 8, 8);
	npuq_add_node(g, NPUQ_CONV, "conv", &xq, 1, &y1, 1, &c, &d);
	p.mode = NPU_POOL_MAX;
	p.k_h = p.k_w = p.stride_h = p.stride_w = 2;
	p.mult = 1;
	p.act_min = -128;
	p.act_max = 127;
	y2 = t8(g, "y2", 4, 4, 8);
	npuq_add_node(g, NPUQ_POOL, "pool", &y1, 1, &y2, 1, &p, &d);
	e.op = NPU_ELT_ADD;
	e.bcast = NPU_BCAST_CHANNEL;
	e.a_mult = e.b_mult = e.out_mult = 1u << 30;
	e.a_shift = e.b_shift = 31;
	e.out_shift = 50;
	e.act_min = -128;
	e.act_max = 127;
	e.b_const = calloc(8, 1);
	y3 = t8(g, "y3", 4, 4, 8);
	npuq_add_node(g, NPUQ_ELTWISE, "add", &y2, 1, &y3, 1, &e, &d);
	for (int i = 0; i < 256; i++)
		l.table[i] = (int8_t)(i / 2);
	y4 = t8(g, "y4", 4, 4, 8);
	npuq_add_node(g, NPUQ_LUT, "lut", &y3, 1, &y4, 1, &l, &d);
	cat[0] = y4;
	cat[1] = y3;
	y5 = t8(g, "y5", 4, 4, 16);
	npuq_add_node(g, NPUQ_CONCAT, "cat", cat, 2, &y5, 1, NULL, &d);
	npuq_add_output(g, y5, &d);
	return g;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: npub-seed DIR\n");
		return 2;
	}
	seed(argv[1], "int8", graph(0));
	seed(argv[1], "float", graph(1));
	return 0;
}
#endif
