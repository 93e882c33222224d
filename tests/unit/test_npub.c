// SPDX-License-Identifier: MIT
/*
 * The .npub container (libnpu/npub/npub_*.c): write/read round trip,
 * every truncation and single-bit flip of a small file rejected with a
 * message, semantic corruption caught by the validator (relocations,
 * DMA extents, read-only regions, streams, tensors, strings, data flow,
 * CPU and int8 host nodes), relocation, file I/O, and random corruption
 * with valid checksums never crashing the loader or the executor.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "lower.h"
#include "npub_exec.h"
#include "qref.h"
#include "util/graph_build.h"

static uint64_t rs;

static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)(rs >> 16);
}

static int ti8(struct npuq_graph *g, const char *name, int h, int w, int c, float scale, int zp)
{
	struct npuc_diag d = { { 0 } };
	int t = npuq_add_tensor(g, name, h, w, c, scale, zp, 0, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static void add(struct npuq_graph *g, enum npuq_op op, const char *name, const int *in, int n_in,
		int out, const void *p)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuq_add_node(g, op, name, in, n_in, &out, 1, p, &d) >= 0, "%s", d.msg);
}

static void conv_params(struct npuq_conv *p, int oc, int k, int s, int pad, int ic)
{
	memset(p, 0, sizeof(*p));
	p->k_h = p->k_w = k;
	p->stride_h = p->stride_w = s;
	p->dil_h = p->dil_w = p->groups = 1;
	p->pad_top = p->pad_left = p->pad_bottom = p->pad_right = pad;
	p->act_min = -128;
	p->act_max = 127;
	p->w = malloc((size_t)oc * k * k * ic);
	p->q = malloc((size_t)oc * sizeof(*p->q));
	for (int i = 0; i < oc * k * k * ic; i++)
		p->w[i] = (int8_t)rnd();
	for (int i = 0; i < oc; i++) {
		p->q[i].bias = (int32_t)(rnd() % 201) - 100;
		ck_assert_int_eq(npuq_quantize_multiplier(0.003, &p->q[i].mult, &p->q[i].shift), 0);
	}
}

/*
 * The string table deduplicates through a hash index: 100,000 distinct
 * names plus repeats map to stable offsets (issue 17: the linear scan made
 * a 40,000-node graph take 39 s to write).
 */
START_TEST(test_strtab_many_strings)
{
	struct npub_model *m = npub_model_new();
	static uint32_t offs[100000];
	char name[32];

	ck_assert_ptr_nonnull(m);
	ck_assert_uint_eq(npub_add_str(m, ""), 0);
	for (int i = 0; i < 100000; i++) {
		snprintf(name, sizeof(name), "node_%d", i);
		offs[i] = npub_add_str(m, name);
		ck_assert_uint_ne(offs[i], NPUB_NONE);
		ck_assert_str_eq(npub_str(m, offs[i]), name);
	}
	for (int i = 0; i < 100000; i += 7) {
		snprintf(name, sizeof(name), "node_%d", i);
		ck_assert_uint_eq(npub_add_str(m, name), offs[i]);
	}
	ck_assert_uint_eq(m->strhash_n, 100000);
	npub_model_free(m);
}
END_TEST

/*
 * float x[1,2,12,12] NCHW -> QUANTIZE -> conv 3x3 -> conv stride 20 (host
 * int8) -> reshape -> DEQUANTIZE -> CPU LeakyRelu (FLOAT attr) -> CPU Add
 * (constant) -> y.
 */
static struct npuq_graph *small_graph(void)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npuc_graph *s = npuc_graph_new();
	struct npuq_conv p;
	struct npuq_cpu cpu;
	int64_t dims[2] = { 1, 4 };
	int x, q, c1, c2, r, f, l1, y, st[4], in2[2], n0, n1;
	float *k = malloc(16);

	rs = 0x1234567;
	x = npuq_add_tensor(g, "x", 12, 12, 2, 0, 0, NPUQ_T_FLOAT, &d);
	g->t[x].nchw = 1;
	g->t[x].onnx_rank = 4;
	g->t[x].onnx_dims[0] = 1;
	g->t[x].onnx_dims[1] = 2;
	g->t[x].onnx_dims[2] = 12;
	g->t[x].onnx_dims[3] = 12;
	ck_assert_int_eq(npuq_add_input(g, x, &d), 0);
	q = ti8(g, "xq", 12, 12, 2, 0.03f, 2);
	add(g, NPUQ_QUANTIZE, "quant", &x, 1, q, NULL);
	c1 = ti8(g, "c1", 12, 12, 8, 0.05f, -1);
	conv_params(&p, 8, 3, 1, 1, 2);
	add(g, NPUQ_CONV, "conv1", &q, 1, c1, &p);
	c2 = ti8(g, "c2", 1, 1, 4, 0.1f, 0);
	conv_params(&p, 4, 3, 20, 0, 8);	/* stride 20: int8 host node */
	add(g, NPUQ_CONV, "conv2", &c1, 1, c2, &p);
	r = ti8(g, "r", 1, 1, 4, 0.1f, 0);
	add(g, NPUQ_RESHAPE, "flat", &c2, 1, r, NULL);
	f = npuq_add_tensor(g, "f", 1, 1, 4, 0, 0, NPUQ_T_FLOAT, &d);
	add(g, NPUQ_DEQUANTIZE, "deq", &r, 1, f, NULL);
	/* source graph for the CPU nodes */
	s->opset = 13;
	st[0] = npuc_graph_add_tensor(s, "f", NPUC_DT_F32, 2, dims, &d);
	st[1] = npuc_graph_add_tensor(s, "l1", NPUC_DT_F32, 2, dims, &d);
	st[2] = npuc_graph_add_tensor(s, "k", NPUC_DT_F32, 2, dims, &d);
	st[3] = npuc_graph_add_tensor(s, "y", NPUC_DT_F32, 2, dims, &d);
	for (int i = 0; i < 4; i++)
		k[i] = 0.25f * (float)i - 0.3f;
	ck_assert_int_eq(npuc_tensor_set_data(s, st[2], k, 16, &d), 0);
	n0 = npuc_graph_add_node(s, "leaky", "LeakyRelu", "", &st[0], 1, &st[1], 1, &d);
	gb_attr_f(s, n0, "alpha", 0.125f);
	in2[0] = st[1];
	in2[1] = st[2];
	n1 = npuc_graph_add_node(s, "bias", "Add", "", in2, 2, &st[3], 1, &d);
	ck_assert_int_ge(n1, 0);
	g->src = s;
	l1 = npuq_add_tensor(g, "l1", 1, 1, 4, 0, 0, NPUQ_T_FLOAT, &d);
	y = npuq_add_tensor(g, "y", 1, 1, 4, 0, 0, NPUQ_T_FLOAT, &d);
	/* the ONNX shape of the float graph's y, as quantisation records it */
	g->t[y].onnx_rank = 2;
	g->t[y].onnx_dims[0] = 1;
	g->t[y].onnx_dims[1] = 4;
	memset(&cpu, 0, sizeof(cpu));
	cpu.src_node = n0;
	cpu.reason = strdup("float");
	add(g, NPUQ_CPU, "leaky", &f, 1, l1, &cpu);
	cpu.src_node = n1;
	cpu.reason = strdup("float");
	add(g, NPUQ_CPU, "bias", &l1, 1, y, &cpu);
	ck_assert_int_eq(npuq_add_output(g, y, &d), 0);
	return g;
}

static struct npub_model *small_model(uint8_t **buf, size_t *len)
{
	struct npuq_graph *g = small_graph();
	struct npuc_diag d = { { 0 } };
	struct npub_model *m;

	ck_assert_msg(npul_lower(g, NULL, &m, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_write_mem(m, buf, len, &d) == 0, "%s", d.msg);
	npuq_graph_free(g);
	return m;
}

static void runs_like_qref(const struct npub_model *m)
{
	struct npuq_graph *g = small_graph();
	struct npuc_diag d = { { 0 } };
	struct npuc_value in, ref, out;
	int64_t dims[4] = { 1, 2, 12, 12 };

	ck_assert_int_eq(npuc_value_alloc(&in, NPUC_DT_F32, 4, dims, &d), 0);
	for (int i = 0; i < 288; i++)
		((float *)in.data)[i] = (float)((int)(rnd() % 2001) - 1000) / 300.0f;
	ck_assert_msg(npuq_ref_run(g, &in, &ref, NULL, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_run_sim(m, NULL, &in, &out, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 4);
	ck_assert_int_eq(out.rank, ref.rank);
	ck_assert_mem_eq(out.data, ref.data, 16);
	npuc_value_free(&in);
	npuc_value_free(&ref);
	npuc_value_free(&out);
	npuq_graph_free(g);
}

#define SAME(field, n) ck_assert_mem_eq(a->field, b->field, (size_t)(n) * sizeof(*a->field))

static void models_equal(const struct npub_model *a, const struct npub_model *b)
{
	ck_assert_mem_eq(&a->meta, &b->meta, sizeof(a->meta));
	ck_assert_uint_eq(a->strtab_size, b->strtab_size);
	ck_assert_uint_eq(a->n_regions, b->n_regions);
	ck_assert_uint_eq(a->n_tensors, b->n_tensors);
	ck_assert_uint_eq(a->n_streams, b->n_streams);
	ck_assert_uint_eq(a->cmds_size, b->cmds_size);
	ck_assert_uint_eq(a->n_relocs, b->n_relocs);
	ck_assert_uint_eq(a->n_steps, b->n_steps);
	ck_assert_uint_eq(a->n_operands, b->n_operands);
	ck_assert_uint_eq(a->n_layers, b->n_layers);
	ck_assert_uint_eq(a->weights_size, b->weights_size);
	ck_assert_uint_eq(a->n_cpu_nodes, b->n_cpu_nodes);
	ck_assert_uint_eq(a->n_attrs, b->n_attrs);
	ck_assert_uint_eq(a->n_consts, b->n_consts);
	ck_assert_uint_eq(a->data_size, b->data_size);
	ck_assert_uint_eq(a->n_qnodes, b->n_qnodes);
	SAME(strtab, a->strtab_size);
	SAME(regions, a->n_regions);
	SAME(tensors, a->n_tensors);
	SAME(streams, a->n_streams);
	SAME(cmds, a->cmds_size);
	SAME(relocs, a->n_relocs);
	SAME(steps, a->n_steps);
	SAME(operands, a->n_operands);
	SAME(layers, a->n_layers);
	SAME(weights, a->weights_size);
	SAME(cpu_nodes, a->n_cpu_nodes);
	SAME(attrs, a->n_attrs);
	SAME(consts, a->n_consts);
	SAME(data, a->data_size);
	SAME(qnodes, a->n_qnodes);
	ck_assert_uint_eq(a->hdr.sram_bytes, b->hdr.sram_bytes);
	ck_assert_uint_eq(a->hdr.mac_oc, b->hdr.mac_oc);
}

START_TEST(test_roundtrip)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m, *r, *f;
	uint8_t *buf, *buf2;
	size_t len, len2;
	char path[] = "/tmp/npub-test-XXXXXX";
	int fd;

	m = small_model(&buf, &len);
	ck_assert_uint_eq(len % 64, 0);
	ck_assert_mem_eq(buf, NPUB_MAGIC, 8);
	ck_assert_msg(npub_read_mem(buf, len, &r, &d) == 0, "%s", d.msg);
	models_equal(m, r);
	ck_assert_int_eq(npub_write_mem(r, &buf2, &len2, &d), 0);
	ck_assert_uint_eq(len, len2);
	ck_assert_mem_eq(buf, buf2, len);
	/* the plan has every step kind but COPY, two streams, CPU records */
	ck_assert_uint_eq(r->n_streams, 1);
	ck_assert_uint_eq(r->n_qnodes, 1);
	ck_assert_uint_eq(r->n_cpu_nodes, 2);
	ck_assert_uint_eq(r->n_attrs, 1);
	ck_assert_uint_eq(r->n_consts, 1);
	ck_assert_str_eq(npub_str(r, r->cpu_nodes[0].op), "LeakyRelu");
	runs_like_qref(r);
	/* files */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_msg(npub_write_file(m, path, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_read_file(path, &f, &d) == 0, "%s", d.msg);
	models_equal(m, f);
	npub_model_free(f);
	fd = open(path, O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, buf, 200), 200);
	close(fd);
	ck_assert_int_eq(npub_read_file(path, &f, &d), -1);
	ck_assert_ptr_null(f);
	ck_assert_msg(strstr(d.msg, path) && strstr(d.msg, "truncated"), "%s", d.msg);
	unlink(path);
	ck_assert_int_eq(npub_read_file(path, &f, &d), -1);
	ck_assert_msg(strstr(d.msg, "No such file") != NULL, "%s", d.msg);
	free(buf);
	free(buf2);
	npub_model_free(r);
	npub_model_free(m);
}
END_TEST

/*
 * A device fault names what failed: a BAD_FIELD names the command and the
 * field (from the fault's fault_addr), others the command and the address.
 */
START_TEST(test_fault_message_names_field)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m, *r;
	struct npu_job_report rep;
	struct npuc_value in, out;
	int64_t dims[4] = { 1, 2, 12, 12 };
	const struct npub_stream *sr;
	uint32_t at, hdr = 0, op = 0;
	const char *want = NULL;
	char msg[200], expect[120];
	uint8_t *buf;
	size_t len;

	m = small_model(&buf, &len);
	ck_assert_msg(npub_read_mem(buf, len, &r, &d) == 0, "%s", d.msg);
	sr = &r->streams[0];
	/* the stream's first engine command, made invalid in one known field */
	for (at = 0; at + 4 <= sr->size; at += NPU_CMD_WORDS(hdr) * 4) {
		uint8_t *c = r->cmds + sr->offset + at;

		memcpy(&hdr, c, 4);
		op = NPU_CMD_OPCODE(hdr);
		if (op == NPU_OP_CONV) {
			((struct npu_cmd_conv *)c)->k_h = 0;
			want = "k_h";
		} else if (op == NPU_OP_ELTWISE || op == NPU_OP_LUT) {
			memset(c + (op == NPU_OP_LUT ? offsetof(struct npu_cmd_lut, count) :
				    offsetof(struct npu_cmd_eltwise, count)), 0, 4);
			want = "count";
		} else if (op == NPU_OP_POOL) {
			((struct npu_cmd_pool *)c)->c = 0;
			want = "c";
		}
		if (want)
			break;
	}
	ck_assert_ptr_nonnull(want);
	ck_assert_int_eq(npuc_value_alloc(&in, NPUC_DT_F32, 4, dims, &d), 0);
	ck_assert_int_eq(npub_run_sim(r, NULL, &in, &out, NULL, &d), -1);
	snprintf(expect, sizeof(expect), "BAD_FIELD in the %s at command offset %u (field %s,",
		 npusim_cmd_name(op), at, want);
	ck_assert_msg(strstr(d.msg, "stream 0 faulted") && strstr(d.msg, expect), "%s", d.msg);
	/* other faults: the command and the address */
	memset(&rep, 0, sizeof(rep));
	rep.fault = NPU_FAULT_MMU_UNMAPPED;
	rep.fault_cmd_offset = at;
	rep.fault_addr = 0x123000;
	npub_fault_text(r, 0, &rep, msg, sizeof(msg));
	snprintf(expect, sizeof(expect), "stream 0 faulted: MMU_UNMAPPED in the %s at command "
		 "offset %u (addr 0x123000)", npusim_cmd_name(op), at);
	ck_assert_str_eq(msg, expect);
	/* an offset outside the stream names no command, and does not read there */
	rep.fault_cmd_offset = sr->size + 64;
	npub_fault_text(r, 0, &rep, msg, sizeof(msg));
	ck_assert_msg(strstr(msg, "in the command at command offset"), "%s", msg);
	npuc_value_free(&in);
	npub_model_free(r);
	npub_model_free(m);
	free(buf);
}
END_TEST

START_TEST(test_every_truncation)
{
	struct npuc_diag d;
	struct npub_model *m, *r;
	uint8_t *buf;
	size_t len;

	m = small_model(&buf, &len);
	ck_assert_uint_lt(len, 65536);
	for (size_t n = 0; n < len; n++) {
		d.msg[0] = 0;
		r = (void *)1;
		ck_assert_int_eq(npub_read_mem(buf, n, &r, &d), -1);
		ck_assert_ptr_null(r);
		ck_assert_msg(d.msg[0], "no message at length %zu", n);
		if (n >= 128)
			ck_assert_msg(strstr(d.msg, "truncated"), "%zu: %s", n, d.msg);
	}
	ck_assert_int_eq(npub_read_mem(NULL, 0, &r, &d), -1);
	ck_assert_msg(strstr(d.msg, "magic"), "%s", d.msg);
	free(buf);
	npub_model_free(m);
}
END_TEST

START_TEST(test_every_bitflip)
{
	struct npuc_diag d;
	struct npub_model *m, *r;
	uint8_t *buf;
	size_t len;

	m = small_model(&buf, &len);
	for (size_t i = 0; i < len; i++) {
		uint8_t bit = (uint8_t)(1u << ((i * 5 + i / 8) % 8));

		buf[i] ^= bit;
		d.msg[0] = 0;
		ck_assert_msg(npub_read_mem(buf, len, &r, &d) == -1, "flip at %zu accepted", i);
		ck_assert_msg(d.msg[0], "no message for a flip at %zu", i);
		buf[i] ^= bit;
	}
	ck_assert_int_eq(npub_read_mem(buf, len, &r, &d), 0);
	npub_model_free(r);
	/* Trailing data is an error too. */
	buf = realloc(buf, len + 64);
	memset(buf + len, 0, 64);
	ck_assert_int_eq(npub_read_mem(buf, len + 64, &r, &d), -1);
	ck_assert_msg(strstr(d.msg, "trailing"), "%s", d.msg);
	free(buf);
	npub_model_free(m);
}
END_TEST

/* ---- raw file editing with checksums kept valid ---- */
static uint32_t crc(const void *p, size_t n)
{
	return (uint32_t)crc32(crc32(0L, Z_NULL, 0), p, (uInt)n);
}

static void fix_crcs(uint8_t *buf, size_t len, int sections)
{
	struct npub_header h;
	struct npub_section s;

	memcpy(&h, buf, sizeof(h));
	if (h.table_offset > len || h.section_count > 64 ||
	    h.table_offset + h.section_count * sizeof(s) > len)
		sections = 0;
	for (uint32_t i = 0; sections && i < h.section_count; i++) {
		uint8_t *e = buf + h.table_offset + i * sizeof(s);

		memcpy(&s, e, sizeof(s));
		if (s.offset <= len && s.size <= len - s.offset) {
			s.crc = crc(buf + s.offset, (size_t)s.size);
			memcpy(e, &s, sizeof(s));
		}
	}
	if (h.table_offset <= len && h.section_count <= 64 &&
	    h.table_offset + h.section_count * sizeof(s) <= len)
		h.table_crc = crc(buf + h.table_offset, h.section_count * sizeof(s));
	h.header_crc = crc(&h, offsetof(struct npub_header, header_crc));
	memcpy(buf, &h, sizeof(h));
}

static struct npub_section *section(uint8_t *buf, uint32_t type)
{
	struct npub_header h;

	memcpy(&h, buf, sizeof(h));
	for (uint32_t i = 0; i < h.section_count; i++) {
		struct npub_section *s = (struct npub_section *)(buf + h.table_offset) + i;

		if (s->type == type)
			return s;
	}
	ck_abort_msg("no section %u", type);
	return NULL;
}

static void expect_read_error(uint8_t *buf, size_t len, const char *what)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *r;

	fix_crcs(buf, len, 1);
	ck_assert_int_eq(npub_read_mem(buf, len, &r, &d), -1);
	ck_assert_msg(strstr(d.msg, what) != NULL, "want '%s', got '%s'", what, d.msg);
}

START_TEST(test_file_structure_errors)
{
	struct npub_model *m;
	struct npub_header h;
	struct npub_section *s, save;
	uint8_t *buf, *orig;
	size_t len;

	m = small_model(&orig, &len);
	buf = malloc(len);
#define RESET() memcpy(buf, orig, len)
	RESET();
	buf[0] = 'X';
	expect_read_error(buf, len, "bad magic");
	RESET();
	memcpy(&h, buf, sizeof(h));
	h.version_major = 2;
	memcpy(buf, &h, sizeof(h));
	expect_read_error(buf, len, "format version 2");
	RESET();
	memcpy(&h, buf, sizeof(h));
	h.reserved[3] = 1;
	memcpy(buf, &h, sizeof(h));
	expect_read_error(buf, len, "reserved");
	RESET();
	memcpy(&h, buf, sizeof(h));
	h.section_count = 1000;
	memcpy(buf, &h, sizeof(h));
	expect_read_error(buf, len, "bad section table");
	RESET();
	memcpy(&h, buf, sizeof(h));
	h.table_offset = len - 100;
	memcpy(buf, &h, sizeof(h));
	expect_read_error(buf, len, "bad section table");
	/* a section past the end, with an offset that would overflow */
	RESET();
	s = section(buf, NPUB_SEC_WEIGHTS);
	s->offset = UINT64_MAX - 63;
	{
		/* named by its table entry and its type, number and name */
		char want[64];
		struct npub_header hh;

		memcpy(&hh, buf, sizeof(hh));
		snprintf(want, sizeof(want), "section table entry %u (type %u, WEIGHTS): bad placement",
			 (unsigned)(s - (struct npub_section *)(buf + hh.table_offset)),
			 NPUB_SEC_WEIGHTS);
		expect_read_error(buf, len, want);
	}
	RESET();
	s = section(buf, NPUB_SEC_TENSORS);
	s->offset += 64;
	expect_read_error(buf, len, "");
	RESET();
	s = section(buf, NPUB_SEC_TENSORS);
	s->entry_bytes = 64;
	expect_read_error(buf, len, "records are 136 bytes");
	RESET();
	s = section(buf, NPUB_SEC_LAYERS);
	save = *section(buf, NPUB_SEC_STEPS);
	s->type = NPUB_SEC_STEPS;
	expect_read_error(buf, len, "appears twice");
	RESET();
	s = section(buf, NPUB_SEC_STEPS);
	s->type = 99;	/* unknown (skipped) -> the required STEPS is missing */
	expect_read_error(buf, len, "required section STEPS is missing");
	RESET();
	s = section(buf, NPUB_SEC_WEIGHTS);
	*s = save;
	s->type = NPUB_SEC_WEIGHTS;
	s->count = 0;
	s->entry_bytes = 0;
	expect_read_error(buf, len, "overlap");
	/* a record inside a section, checksums valid: the validator catches it */
	RESET();
	{
		struct npub_tensor t;

		s = section(buf, NPUB_SEC_TENSORS);
		memcpy(&t, buf + s->offset, sizeof(t));
		t.offset = 1ull << 40;
		memcpy(buf + s->offset, &t, sizeof(t));
		expect_read_error(buf, len, "outside region");
	}
#undef RESET
	free(buf);
	free(orig);
	npub_model_free(m);
}
END_TEST

/* ---- semantic corruption through the validator ---- */
static struct npub_model *fresh(const uint8_t *buf, size_t len)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *r;

	ck_assert_msg(npub_read_mem(buf, len, &r, &d) == 0, "%s", d.msg);
	return r;
}

static void expect_invalid(struct npub_model *r, const char *what)
{
	struct npuc_diag d = { { 0 } };
	uint8_t *out;
	size_t n;

	ck_assert_msg(npub_validate(r, &d) == -1, "accepted (want '%s')", what);
	ck_assert_msg(strstr(d.msg, what) != NULL, "want '%s', got '%s'", what, d.msg);
	/* the writer refuses it too */
	ck_assert_int_eq(npub_write_mem(r, &out, &n, &d), -1);
	ck_assert_ptr_null(out);
	npub_model_free(r);
}

/* Byte offset in stream 0 of the first command with opcode op (and DMA dir). */
static uint32_t find_cmd(const struct npub_model *m, uint32_t op, int dir)
{
	const uint8_t *p = m->cmds + m->streams[0].offset;

	for (uint32_t at = 0; at < m->streams[0].size;) {
		uint32_t hdr, flags;

		memcpy(&hdr, p + at, 4);
		memcpy(&flags, p + at + 4, 4);
		if (NPU_CMD_OPCODE(hdr) == op && (dir < 0 || (int)(flags & 3) == dir))
			return at;
		at += NPU_CMD_WORDS(hdr) * 4;
	}
	ck_abort_msg("no command %u", op);
	return 0;
}

static struct npub_reloc *reloc_at(struct npub_model *m, uint32_t cmd)
{
	for (uint32_t i = 0; i < m->n_relocs; i++)
		if (m->relocs[i].stream == 0 && m->relocs[i].offset == cmd + 8)
			return &m->relocs[i];
	ck_abort_msg("no relocation for %u", cmd);
	return NULL;
}

START_TEST(test_semantic_errors)
{
	struct npub_model *m, *r;
	uint8_t *buf;
	size_t len;
	uint32_t at;

	m = small_model(&buf, &len);
	r = fresh(buf, len);
	{
		struct npub_reloc *rl = reloc_at(r, find_cmd(r, NPU_OP_DMA, 0));

		rl->addend = (uint32_t)r->regions[rl->region].size;
		expect_invalid(r, "beyond region");
	}
	r = fresh(buf, len);
	at = find_cmd(r, NPU_OP_DMA, 0);
	memcpy(r->cmds + r->streams[0].offset + at + 20, &(uint32_t){ 0x10000000 }, 4);
	expect_invalid(r, "beyond region");
	r = fresh(buf, len);
	at = find_cmd(r, NPU_OP_DMA, 1);
	reloc_at(r, at)->region = 2;	/* the INPUT region (float input: large enough) */
	reloc_at(r, at)->addend = 0;
	expect_invalid(r, "read-only region");
	r = fresh(buf, len);
	at = find_cmd(r, NPU_OP_DMA, 0);
	memcpy(r->cmds + r->streams[0].offset + at + 8, &(uint32_t){ 0x1000 }, 4);
	expect_invalid(r, "relocated address at");
	r = fresh(buf, len);
	reloc_at(r, find_cmd(r, NPU_OP_DMA, 0))->offset += 4;
	expect_invalid(r, "no relocation");
	r = fresh(buf, len);
	reloc_at(r, find_cmd(r, NPU_OP_DMA, 0))->region = 77;
	expect_invalid(r, "names region 77");
	r = fresh(buf, len);
	memcpy(r->cmds + r->streams[0].offset + r->streams[0].size - 4,
	       &(uint32_t){ NPU_CMD_HDR(NPU_OP_NOP, struct npu_cmd_nop) }, 4);
	expect_invalid(r, "does not end with END");
	r = fresh(buf, len);
	at = find_cmd(r, NPU_OP_CONV, -1);
	memcpy(r->cmds + r->streams[0].offset + at, &(uint32_t){ 0x00000e20 }, 4);
	expect_invalid(r, "bad command header");
	r = fresh(buf, len);
	r->streams[0].size += 64;
	expect_invalid(r, "bad placement");
	r = fresh(buf, len);
	r->tensors[3].bytes++;
	expect_invalid(r, "bytes for");
	r = fresh(buf, len);
	r->tensors[1].zp = 300;
	expect_invalid(r, "bad scale or zero point");
	r = fresh(buf, len);
	r->tensors[1].name = r->tensors[2].name;
	expect_invalid(r, "used twice");
	r = fresh(buf, len);
	r->layers[0].name = r->strtab_size;
	expect_invalid(r, "layer 0");
	r = fresh(buf, len);
	r->strtab[r->strtab_size - 1] = 'x';
	expect_invalid(r, "NUL");
	r = fresh(buf, len);
	r->regions[1].size = 1ull << 32;
	expect_invalid(r, "region 1");
	r = fresh(buf, len);
	{
		struct npub_step t = r->steps[0];

		r->steps[0] = r->steps[1];
		r->steps[1] = t;
		expect_invalid(r, "before it is written");
	}
	r = fresh(buf, len);
	r->n_steps--;
	for (uint32_t i = 0; i < r->n_layers; i++)
		if (r->layers[i].step == r->n_steps)
			r->layers[i].step = NPUB_NONE;
	expect_invalid(r, "never written");
	r = fresh(buf, len);
	r->qnodes[0].k_h = 5;
	expect_invalid(r, "parameters do not match");
	r = fresh(buf, len);
	r->operands[r->cpu_nodes[1].in_first + 1] = NPUB_OPND_CONST | 9;
	expect_invalid(r, "bad operand");
	r = fresh(buf, len);
	r->attrs[0].type = NPUB_ATTR_FLOATS;
	r->attrs[0].n = 1000;
	expect_invalid(r, "CPU attribute 0");
	r = fresh(buf, len);
	r->consts[0].dims[1] = 5;
	expect_invalid(r, "constant 0");
	r = fresh(buf, len);
	r->tensors[0].flags |= NPUB_T_ALIAS;
	r->tensors[0].alias = 1;
	expect_invalid(r, "alias");
	r = fresh(buf, len);
	r->meta.weights_bytes++;
	expect_invalid(r, "metadata");
	r = fresh(buf, len);
	r->hdr.isa_version = 0x00020000;
	expect_invalid(r, "ISA 2.0");
	/* a bad step says which step, its kind by number and name, and why */
	r = fresh(buf, len);
	r->steps[0].kind = 99;
	expect_invalid(r, "step 0 (kind 99, unknown): unknown kind");
	r = fresh(buf, len);
	r->steps[1].reserved = 1;
	expect_invalid(r, "step 1 (kind");
	r = fresh(buf, len);
	r->steps[1].reserved = 1;
	expect_invalid(r, "): reserved field nonzero");
	r = fresh(buf, len);
	r->steps[0].layer = r->n_layers;
	expect_invalid(r, "layer beyond the LAYERS section");
	r = fresh(buf, len);
	r->steps[0].in_first = r->n_operands;
	expect_invalid(r, "operands beyond the OPERANDS section");
	free(buf);
	npub_model_free(m);
}
END_TEST

START_TEST(test_relocate)
{
	struct npuc_diag d = { { 0 } };
	struct npub_model *m;
	uint64_t base[16];
	uint8_t *buf, *cmd;
	size_t len;

	m = small_model(&buf, &len);
	ck_assert_uint_le(m->n_regions, 16);
	for (uint32_t r = 0; r < m->n_regions; r++)
		base[r] = 0x100000ull * (r + 1);
	cmd = malloc(m->streams[0].size);
	memcpy(cmd, m->cmds + m->streams[0].offset, m->streams[0].size);
	ck_assert_msg(npub_relocate(m, 0, cmd, base, m->n_regions, &d) == 0, "%s", d.msg);
	ck_assert_uint_gt(m->streams[0].reloc_count, 3);
	for (uint32_t k = 0; k < m->streams[0].reloc_count; k++) {
		const struct npub_reloc *rl = &m->relocs[m->streams[0].reloc_first + k];
		uint32_t lo, hi;

		memcpy(&lo, cmd + rl->offset, 4);
		memcpy(&hi, cmd + rl->offset + 4, 4);
		ck_assert_uint_eq(lo, base[rl->region] + rl->addend);
		ck_assert_uint_eq(hi, 0);
	}
	base[1] += 4;
	ck_assert_int_eq(npub_relocate(m, 0, cmd, base, m->n_regions, &d), -1);
	ck_assert_msg(strstr(d.msg, "misaligned"), "%s", d.msg);
	base[1] = 0x100000ull * 2;
	base[2] = 0xffffff00ull;	/* the float input region: 1152 bytes */
	ck_assert_int_eq(npub_relocate(m, 0, cmd, base, m->n_regions, &d), -1);
	ck_assert_msg(strstr(d.msg, "beyond"), "%s", d.msg);
	ck_assert_int_eq(npub_relocate(m, 0, cmd, base, 1, &d), -1);
	ck_assert_int_eq(npub_relocate(m, 5, cmd, base, m->n_regions, &d), -1);
	free(cmd);
	free(buf);
	npub_model_free(m);
}
END_TEST

/* Random edits with valid checksums: errors or valid models; valid ones still run. */
START_TEST(test_random_corruption)
{
	struct npub_model *m, *r;
	struct npuc_diag d;
	uint8_t *buf, *orig;
	size_t len;
	int accepted = 0;

	m = small_model(&orig, &len);
	buf = malloc(len);
	rs = 99;
	for (int it = 0; it < 400; it++) {
		int n = 1 + (int)(rnd() % 4);

		memcpy(buf, orig, len);
		for (int k = 0; k < n; k++) {
			size_t at = 128 + rnd() % (len - 128);

			buf[at] = (uint8_t)(rnd() % 3 == 0 ? 0xff : rnd());
		}
		fix_crcs(buf, len, 1);
		d.msg[0] = 0;
		if (npub_read_mem(buf, len, &r, &d) == 0) {
			struct npuc_value in, out;
			int64_t dims[4] = { 1, 2, 12, 12 };

			accepted++;
			ck_assert_int_eq(npuc_value_alloc(&in, NPUC_DT_F32, 4, dims, &d), 0);
			/* ~100x the model's cycles: corrupted DMA counts stay cheap */
			if (npub_run_sim_budget(r, NULL, &in, &out, NULL, 2000000, &d) == 0)
				npuc_value_free(&out);
			npuc_value_free(&in);
			npub_model_free(r);
		} else {
			ck_assert_msg(d.msg[0], "error without a message");
		}
	}
	ck_assert_int_gt(accepted, 0);	/* e.g. weight bytes: still a valid model */
	free(buf);
	free(orig);
	npub_model_free(m);
}
END_TEST

START_TEST(test_report)
{
	struct npub_model *m;
	uint8_t *buf;
	size_t len;
	char *text = NULL;
	size_t tl = 0;
	FILE *f;

	m = small_model(&buf, &len);
	f = open_memstream(&text, &tl);
	ck_assert_ptr_nonnull(f);
	npub_print_report(f, m);
	fclose(f);
	ck_assert_msg(strstr(text, "conv1") && strstr(text, "CPU-int8") &&
		      strstr(text, "stride above") && strstr(text, "LeakyRelu") &&
		      strstr(text, "arena:"), "%s", text);
	free(text);
	free(buf);
	npub_model_free(m);
}
END_TEST

Suite *suite_npub(void);
Suite *suite_npub(void)
{
	Suite *s = suite_create("npub");
	TCase *tc = tcase_create("npub");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_roundtrip);
	tcase_add_test(tc, test_strtab_many_strings);
	tcase_add_test(tc, test_every_truncation);
	tcase_add_test(tc, test_every_bitflip);
	tcase_add_test(tc, test_file_structure_errors);
	tcase_add_test(tc, test_semantic_errors);
	tcase_add_test(tc, test_relocate);
	tcase_add_test(tc, test_random_corruption);
	tcase_add_test(tc, test_report);
	tcase_add_test(tc, test_fault_message_names_field);
	suite_add_tcase(s, tc);
	return s;
}
