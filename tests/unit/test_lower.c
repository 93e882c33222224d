// SPDX-License-Identifier: MIT
/*
 * Lowering (compiler/lower/lower*.c) and the plan executor (npub_exec.c):
 * hand-made qgraphs are lowered, the whole .npub plan runs on libnpusim
 * (relocated streams, host steps) and every output must equal the int8
 * reference executor (qref) bit for bit: multi-tile convolutions that
 * exceed SRAM, depthwise, grouped, strides, dilation, asymmetric pads,
 * pooling, element-wise ops with every broadcast, LUT, concat with
 * requantisation, batched matmul, reshape aliases, boundary quantisation,
 * float CPU nodes and int8 host fallbacks. Also: the emitter's WAITs are
 * each necessary and tight, the memory planner never overlaps live
 * buffers, double buffering overlaps DMA and compute.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lower.h"
#include "npub_exec.h"
#include "qref.h"
#include "util/graph_build.h"

/* ------------------------------------------------------------------ */
/* Graph building helpers                                              */
/* ------------------------------------------------------------------ */
static uint64_t rng_state;

static void rng_seed(uint64_t s)
{
	rng_state = s * 0x9e3779b97f4a7c15ull + 1;
}

static uint32_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 16);
}

static int8_t rnd8(void)
{
	return (int8_t)(rnd() & 0xff);
}

static int ti8(struct npuq_graph *g, const char *name, int h, int w, int c, float scale,
	       int zp)
{
	struct npuc_diag d = { { 0 } };
	int t = npuq_add_tensor(g, name, h, w, c, scale, zp, 0, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static int tf32(struct npuq_graph *g, const char *name, int h, int w, int c)
{
	struct npuc_diag d = { { 0 } };
	int t = npuq_add_tensor(g, name, h, w, c, 0.0f, 0, NPUQ_T_FLOAT, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	return t;
}

static void io_in(struct npuq_graph *g, int t)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuq_add_input(g, t, &d) == 0, "%s", d.msg);
}

static void io_out(struct npuq_graph *g, int t)
{
	struct npuc_diag d = { { 0 } };

	ck_assert_msg(npuq_add_output(g, t, &d) == 0, "%s", d.msg);
}

static int node(struct npuq_graph *g, enum npuq_op op, const char *name, const int *in, int n_in,
		int out, const void *params)
{
	struct npuc_diag d = { { 0 } };
	int n = npuq_add_node(g, op, name, in, n_in, &out, 1, params, &d);

	ck_assert_msg(n >= 0, "%s", d.msg);
	return n;
}

static void rnd_q(struct npu_qparam *q, int n, double lo, double hi)
{
	for (int i = 0; i < n; i++) {
		double r = lo + (hi - lo) * (rnd() % 1000) / 1000.0;

		q[i].bias = (int32_t)(rnd() % 4001) - 2000;
		ck_assert_int_eq(npuq_quantize_multiplier(r, &q[i].mult, &q[i].shift), 0);
	}
}

struct conv_spec {
	int k_h, k_w, s_h, s_w, d_h, d_w, pt, pl, pb, pr, groups;
	int act_min, act_max, w_zp;
};

static int win(int in, int p0, int p1, int k, int d, int s)
{
	return (in + p0 + p1 - ((k - 1) * d + 1)) / s + 1;
}

/* Adds a conv from tensor x with out_c channels; returns the output tensor. */
static int conv(struct npuq_graph *g, const char *name, int x, int out_c,
		const struct conv_spec *cs)
{
	const struct npuq_tensor *xt = &g->t[x];
	int oh = win(xt->h, cs->pt, cs->pb, cs->k_h, cs->d_h, cs->s_h);
	int ow = win(xt->w, cs->pl, cs->pr, cs->k_w, cs->d_w, cs->s_w);
	int icg = xt->c / cs->groups, y;
	char yn[64];
	struct npuq_conv p;
	size_t nw = (size_t)out_c * cs->k_h * cs->k_w * icg;

	snprintf(yn, sizeof(yn), "%s_out", name);
	y = ti8(g, yn, oh, ow, out_c, 0.1f, (int)(rnd() % 21) - 10);
	memset(&p, 0, sizeof(p));
	p.k_h = cs->k_h;
	p.k_w = cs->k_w;
	p.stride_h = cs->s_h;
	p.stride_w = cs->s_w;
	p.dil_h = cs->d_h;
	p.dil_w = cs->d_w;
	p.pad_top = cs->pt;
	p.pad_left = cs->pl;
	p.pad_bottom = cs->pb;
	p.pad_right = cs->pr;
	p.groups = cs->groups;
	p.w_zp = (int8_t)cs->w_zp;
	p.act_min = (int8_t)cs->act_min;
	p.act_max = (int8_t)cs->act_max;
	p.w = malloc(nw);
	p.q = malloc((size_t)out_c * sizeof(*p.q));
	ck_assert(p.w && p.q);
	for (size_t i = 0; i < nw; i++)
		p.w[i] = rnd8();
	rnd_q(p.q, out_c, 0.0002, 0.002 / (cs->k_h * cs->k_w * icg > 64 ? 2 : 1));
	node(g, NPUQ_CONV, name, &x, 1, y, &p);
	return y;
}

static const struct conv_spec k3s1 = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 1, -128, 127, 0 };

/* ------------------------------------------------------------------ */
/* Running and comparing                                               */
/* ------------------------------------------------------------------ */
static void make_inputs(const struct npuq_graph *g, struct npuc_value *in)
{
	for (int i = 0; i < g->n_inputs; i++) {
		const struct npuq_tensor *t = &g->t[g->inputs[i]];
		struct npuc_diag d = { { 0 } };
		int64_t dims[4] = { t->h, t->w, t->c, 0 };
		int fl = !!(t->flags & NPUQ_T_FLOAT);
		int64_t n = (int64_t)t->h * t->w * t->c;

		if (t->nchw) {
			dims[0] = 1;
			dims[1] = t->c;
			dims[2] = t->h;
			dims[3] = t->w;
		}
		ck_assert_int_eq(npuc_value_alloc(&in[i], fl ? NPUC_DT_F32 : NPUC_DT_I8,
						  t->nchw ? 4 : 3, dims, &d), 0);
		for (int64_t k = 0; k < n; k++) {
			if (fl)
				((float *)in[i].data)[k] =
					(float)((int)(rnd() % 6001) - 3000) / 1000.0f;
			else
				((int8_t *)in[i].data)[k] = rnd8();
		}
	}
}

static void values_equal(const struct npuc_value *a, const struct npuc_value *b, const char *what)
{
	size_t es = a->dtype == NPUC_DT_F32 ? 4 : 1;
	int64_t bad = -1;

	ck_assert_int_eq(a->dtype, b->dtype);
	ck_assert_int_eq(a->numel, b->numel);
	ck_assert_int_eq(a->rank, b->rank);
	for (int k = 0; k < a->rank; k++)
		ck_assert_int_eq(a->dims[k], b->dims[k]);
	for (int64_t i = 0; i < a->numel && bad < 0; i++)
		if (memcmp((const uint8_t *)a->data + i * es, (const uint8_t *)b->data + i * es,
			   es))
			bad = i;
	ck_assert_msg(bad < 0, "%s: element %lld differs", what, (long long)bad);
}

/*
 * Lowers g with o, runs the plan on the simulator and qref, asserts
 * bit-exact outputs; also through a write/read round trip. Returns the
 * model (caller frees) and the run's stats.
 */
static struct npub_model *run_check(struct npuq_graph *g, const struct npul_options *o,
				    struct npub_run_stats *st)
{
	struct npuc_value in[8], ref[8], out[8];
	struct npuc_diag d = { { 0 } };
	struct npub_model *m, *m2;
	struct npub_run_stats st2;
	uint8_t *buf;
	size_t len;

	ck_assert_int_le(g->n_inputs, 8);
	ck_assert_int_le(g->n_outputs, 8);
	memset(in, 0, sizeof(in));
	make_inputs(g, in);
	ck_assert_msg(npul_lower(g, o, &m, &d) == 0, "lower: %s", d.msg);
	ck_assert_msg(npuq_ref_run(g, in, ref, NULL, &d) == 0, "qref: %s", d.msg);
	ck_assert_msg(npub_run_sim(m, NULL, in, out, st, &d) == 0, "sim: %s", d.msg);
	for (int i = 0; i < g->n_outputs; i++) {
		values_equal(&ref[i], &out[i], "npu vs qref");
		npuc_value_free(&out[i]);
	}
	ck_assert_msg(npub_write_mem(m, &buf, &len, &d) == 0, "write: %s", d.msg);
	ck_assert_msg(npub_read_mem(buf, len, &m2, &d) == 0, "read: %s", d.msg);
	free(buf);
	ck_assert_msg(npub_run_sim(m2, NULL, in, out, &st2, &d) == 0, "sim (read back): %s",
		      d.msg);
	for (int i = 0; i < g->n_outputs; i++) {
		values_equal(&ref[i], &out[i], "read back vs qref");
		npuc_value_free(&out[i]);
		npuc_value_free(&ref[i]);
	}
	if (st)
		ck_assert_uint_eq(st->cycles, st2.cycles);
	npub_model_free(m2);
	for (int i = 0; i < g->n_inputs; i++)
		npuc_value_free(&in[i]);
	return m;
}

static void opts(struct npul_options *o, uint32_t sram_limit)
{
	npul_options_default(o);
	o->sram_limit = sram_limit;
	o->estimate = 1;
}

static const struct npub_layer *layer_named(const struct npub_model *m, const char *name)
{
	for (uint32_t i = 0; i < m->n_layers; i++)
		if (!strcmp(npub_str(m, m->layers[i].name), name))
			return &m->layers[i];
	ck_abort_msg("no layer %s", name);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* CONV                                                                */
/* ------------------------------------------------------------------ */
START_TEST(test_conv_small)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	const struct npub_layer *ly;
	int x, y;

	rng_seed(1);
	x = ti8(g, "x", 8, 8, 4, 0.05f, 3);
	y = conv(g, "c", x, 8, &k3s1);
	io_in(g, x);
	io_out(g, y);
	opts(&o, 0);
	m = run_check(g, &o, NULL);
	ly = layer_named(m, "c");
	ck_assert_uint_eq(ly->target, NPUB_TARGET_NPU);
	ck_assert_uint_ge(ly->tiles, 1);
	ck_assert_uint_eq(ly->macs, 8ull * 8 * 8 * 9 * 4);
	ck_assert_uint_gt(ly->cycles, 0);
	ck_assert_uint_eq(m->n_streams, 1);
	ck_assert_uint_eq(m->n_steps, 1);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* The example: 112x112x32 -> 32, 3x3: 802 KiB of activations, tiled. */
START_TEST(test_conv_large_tiled)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_run_stats st, st1;
	struct npub_model *m, *m1;
	const struct npub_layer *ly;
	int x, y;

	rng_seed(2);
	x = ti8(g, "x", 112, 112, 32, 0.05f, -7);
	y = conv(g, "c", x, 32, &k3s1);
	io_in(g, x);
	io_out(g, y);
	opts(&o, 0);
	m = run_check(g, &o, &st);
	ly = layer_named(m, "c");
	ck_assert_uint_gt(ly->tiles, 2);
	ck_assert_uint_le(ly->sram_peak, 1u << 20);
	ck_assert_uint_eq(ly->macs, 112ull * 112 * 32 * 9 * 32);
	/* Double-buffered: within 5 % of the MAC-bound time. */
	ck_assert_uint_lt(ly->cycles, ly->macs / 512 * 105 / 100);
	ck_assert_uint_eq(st.macs, ly->macs);
	/* Single buffering serialises DMA and compute: measurably slower. */
	o.single_buffer = 1;
	m1 = run_check(g, &o, &st1);
	ck_assert_uint_gt(st1.cycles, st.cycles + st.cycles / 20);
	npub_model_free(m1);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* Depthwise, grouped, strides, dilation, asymmetric pads, fused clamps, tiny SRAM. */
START_TEST(test_conv_variants)
{
	static const struct {
		int h, w, c, oc;
		struct conv_spec s;
		uint32_t sram;
	} cases[] = {
		{ 40, 36, 32, 32, { 3, 3, 2, 2, 1, 1, 1, 1, 1, 1, 32, -128, 127, 0 }, 0 },
		{ 40, 36, 32, 64, { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 32, 0, 127, 0 }, 8192 },
		{ 33, 29, 48, 48, { 5, 5, 2, 2, 1, 1, 2, 2, 2, 2, 48, -128, 127, 0 }, 16384 },
		{ 30, 31, 16, 24, { 5, 3, 2, 1, 2, 1, 3, 1, 0, 2, 1, -20, 100, 3 }, 12288 },
		{ 21, 17, 8, 12, { 3, 3, 3, 2, 2, 3, 0, 4, 5, 1, 2, -128, 127, -2 }, 4096 },
		{ 24, 24, 64, 80, { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127, 0 }, 8192 },
		{ 19, 23, 12, 20, { 7, 7, 2, 2, 1, 1, 3, 3, 3, 3, 4, 0, 6, 0 }, 20480 },
		{ 16, 16, 3, 16, { 3, 3, 2, 2, 1, 1, 0, 0, 1, 1, 1, -128, 127, 0 }, 4096 },
	};

	for (unsigned int i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct npuq_graph *g = npuq_graph_new();
		struct npul_options o;
		struct npub_model *m;
		const struct npub_layer *ly;
		int x, y;

		rng_seed(100 + i);
		x = ti8(g, "x", cases[i].h, cases[i].w, cases[i].c, 0.05f, (int)i - 4);
		y = conv(g, "c", x, cases[i].oc, &cases[i].s);
		io_in(g, x);
		io_out(g, y);
		opts(&o, cases[i].sram);
		m = run_check(g, &o, NULL);
		ly = layer_named(m, "c");
		ck_assert_msg(ly->target == NPUB_TARGET_NPU, "case %u: %s", i,
			      npub_str(m, ly->reason));
		if (cases[i].sram)
			ck_assert_msg(ly->tiles > 1 && ly->sram_peak <= cases[i].sram,
				      "case %u: %u tiles, %u SRAM bytes", i, ly->tiles,
				      ly->sram_peak);
		npub_model_free(m);
		npuq_graph_free(g);
	}
}
END_TEST

/* Fully connected with a weight matrix far above SRAM: output-channel blocks. */
START_TEST(test_conv_fc_blocks)
{
	struct npuq_graph *g = npuq_graph_new();
	struct conv_spec s = { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127, 0 };
	struct npul_options o;
	struct npub_model *m;
	const struct npub_layer *ly;
	int x, y;

	rng_seed(3);
	x = ti8(g, "x", 1, 1, 2048, 0.02f, 1);
	y = conv(g, "fc", x, 1000, &s);
	io_in(g, x);
	io_out(g, y);
	opts(&o, 256 * 1024);
	m = run_check(g, &o, NULL);
	ly = layer_named(m, "fc");
	ck_assert_uint_eq(ly->target, NPUB_TARGET_NPU);
	ck_assert_uint_gt(ly->tiles, 8);	/* 2 MB of weights in 256 KiB */
	ck_assert_uint_eq(ly->weight_bytes, 2048ull * 1000 + 12 * 1000);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* The spec's ZMASK worked example (npu-architecture.rst, Decompression). */
START_TEST(test_zmask_encoding)
{
	const int8_t w[10] = { 0, 5, 0, 0, -3, 0, 0, 0, 7, 0 }, dense[3] = { 1, 2, 3 };
	const uint8_t want[5] = { 0x12, 0x05, 0xfd, 0x01, 0x07 };
	uint8_t out[16];

	ck_assert_uint_eq(lw_zmask_size(w, 10), 5);
	lw_zmask_encode(w, 10, out);
	ck_assert(!memcmp(out, want, sizeof(want)));
	/* dense bytes cost a mask byte per 8: never worth it */
	ck_assert_uint_eq(lw_zmask_size(dense, 3), 4);
}
END_TEST

/* PALETTE4: an ascending codebook padded with zeros, two indices a byte, low first. */
START_TEST(test_palette4_encoding)
{
	const int8_t w[5] = { 0, 1, -8, 7, 3 };
	const uint8_t book[16] = { 0xf8, 0, 1, 3, 7 }, idx[3] = { 0x21, 0x40, 0x03 };
	int8_t many[17];
	uint8_t out[19];

	ck_assert_uint_eq(lw_palette4_size(w, 5), 19);
	lw_palette4_encode(w, 5, out);
	ck_assert(!memcmp(out, book, 16));
	ck_assert(!memcmp(out + 16, idx, 3));
	for (int i = 0; i < 17; i++)
		many[i] = (int8_t)(i * 3);
	ck_assert_uint_eq(lw_palette4_size(many, 17), UINT64_MAX);
	ck_assert_uint_eq(lw_palette4_size(many, 16), 16 + 8);
}
END_TEST

/* Commands of opcode op in the model's streams. */
static int count_op(const struct npub_model *m, uint32_t op)
{
	int n = 0;

	for (uint32_t s = 0; s < m->n_streams; s++) {
		const uint8_t *c = m->cmds + m->streams[s].offset;

		for (uint32_t at = 0; at < m->streams[s].size;) {
			uint32_t hdr;

			memcpy(&hdr, c + at, 4);
			n += NPU_CMD_OPCODE(hdr) == op;
			if (!NPU_CMD_WORDS(hdr))
				break;
			at += NPU_CMD_WORDS(hdr) * 4;
		}
	}
	return n;
}

/* 12x12x64 -> 128 channels, 3x3 (72 KiB of weights): the CONV's parameters, to edit. */
static struct npuq_conv *wide_conv(struct npuq_graph *g, uint64_t seed)
{
	int x, y;

	rng_seed(seed);
	x = ti8(g, "x", 12, 12, 64, 0.05f, 2);
	y = conv(g, "c", x, 128, &k3s1);
	io_in(g, x);
	io_out(g, y);
	return &g->nodes[g->n_nodes - 1].u.conv;
}

/*
 * Pruned weights are stored ZMASK-encoded, block by block, and decoded by
 * DMA_DECOMPRESS: the same outputs as qref, fewer weight bytes in the
 * model and over DRAM, and the estimate still agrees with the simulator.
 */
START_TEST(test_conv_compressed_weights)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_run_stats st, st_raw;
	struct npub_model *m, *m_raw;
	const struct npub_layer *ly, *ly_raw;
	struct npuq_conv *p = wide_conv(g, 4);
	uint64_t raw = 128ull * 9 * 64, zeros = 0;

	for (uint64_t i = 0; i < raw; i++) {
		if (rnd() % 10 < 6)	/* 60 % pruned */
			p->w[i] = 0;
		zeros += !p->w[i];
	}
	opts(&o, 48 * 1024);		/* 72 KiB of weights: several blocks */
	m = run_check(g, &o, &st);
	o.compress_weights = 0;
	m_raw = run_check(g, &o, &st_raw);
	ly = layer_named(m, "c");
	ly_raw = layer_named(m_raw, "c");
	ck_assert_uint_gt(ly->tiles, 2);
	ck_assert_int_gt(count_op(m, NPU_OP_DMA_DECOMPRESS), 1);
	ck_assert_int_eq(count_op(m_raw, NPU_OP_DMA_DECOMPRESS), 0);
	/* stored: a mask byte per 8 weights plus the nonzero ones (blocks are multiples of 8) */
	ck_assert_uint_eq(ly_raw->weight_bytes, raw + 12 * 128);
	ck_assert_uint_eq(ly->weight_bytes, raw / 8 + (raw - zeros) + 12 * 128);
	ck_assert_uint_lt(st.dram_read, st_raw.dram_read);
	ck_assert_uint_le(st.cycles, st_raw.cycles);
	/* the per-layer estimate decodes the real streams: within 5 % of the run */
	ck_assert_uint_le(ly->cycles, st.cycles * 105 / 100);
	ck_assert_uint_ge(ly->cycles, st.cycles * 95 / 100);
	npub_model_free(m_raw);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* Shared weights (16 values) travel as PALETTE4 and decode to the same outputs. */
START_TEST(test_conv_palette_weights)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	const struct npub_layer *ly;
	struct npuq_conv *p = wide_conv(g, 5);
	uint64_t raw = 128ull * 9 * 64;
	int blocks;

	for (uint64_t i = 0; i < raw; i++)
		p->w[i] = (int8_t)(8 * (int)(rnd() % 16) - 60);
	opts(&o, 48 * 1024);
	m = run_check(g, &o, NULL);
	ly = layer_named(m, "c");
	blocks = count_op(m, NPU_OP_DMA_DECOMPRESS);
	ck_assert_int_gt(blocks, 1);
	/* each block: a 16-byte codebook and half a byte per weight */
	ck_assert_uint_eq(ly->weight_bytes, 16ull * blocks + raw / 2 + 12 * 128);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* VEC ops, CONCAT, MATMUL                                             */
/* ------------------------------------------------------------------ */
static int pool(struct npuq_graph *g, const char *name, int x, enum npu_pool_mode mode, int k,
		int s, int pt, int pb, int count_pad)
{
	const struct npuq_tensor *xt = &g->t[x];
	struct npuq_pool p;
	int y;
	char yn[64];

	memset(&p, 0, sizeof(p));
	p.mode = mode;
	p.k_h = p.k_w = k;
	p.stride_h = p.stride_w = s;
	p.pad_top = p.pad_left = pt;
	p.pad_bottom = p.pad_right = pb;
	p.count_pad = count_pad;
	p.mult = 1u << 30;
	p.shift = 30;
	p.act_min = -128;
	p.act_max = 127;
	snprintf(yn, sizeof(yn), "%s_out", name);
	y = ti8(g, yn, win(xt->h, pt, pb, k, 1, s), win(xt->w, pt, pb, k, 1, s), xt->c, xt->scale,
		xt->zp);
	node(g, NPUQ_POOL, name, &x, 1, y, &p);
	return y;
}

START_TEST(test_pool)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	struct npuq_pool gp;
	int x, a, b, c, gap;

	rng_seed(4);
	x = ti8(g, "x", 45, 37, 40, 0.05f, 5);
	io_in(g, x);
	a = pool(g, "maxpool", x, NPU_POOL_MAX, 3, 2, 1, 1, 0);
	b = pool(g, "avgpool", x, NPU_POOL_AVG, 3, 1, 1, 1, 0);
	c = pool(g, "avgpad", x, NPU_POOL_AVG, 5, 2, 2, 1, 1);
	memset(&gp, 0, sizeof(gp));
	gp.mode = NPU_POOL_AVG;
	gp.k_h = 45;
	gp.k_w = 37;
	gp.stride_h = gp.stride_w = 1;
	gp.shift = 0;
	gp.mult = 1;
	gp.act_min = -128;
	gp.act_max = 127;
	gap = ti8(g, "gap", 1, 1, 40, 0.05f, 5);
	node(g, NPUQ_POOL, "gap", &x, 1, gap, &gp);
	io_out(g, a);
	io_out(g, b);
	io_out(g, c);
	io_out(g, gap);
	opts(&o, 24 * 1024);	/* forces row bands and channel blocks */
	m = run_check(g, &o, NULL);
	for (uint32_t i = 0; i < m->n_layers; i++)
		ck_assert_uint_eq(m->layers[i].target, NPUB_TARGET_NPU);
	ck_assert_uint_gt(layer_named(m, "maxpool")->tiles, 1);
	ck_assert_uint_gt(layer_named(m, "gap")->tiles, 1);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

static int eltwise(struct npuq_graph *g, const char *name, int a, int b, enum npu_eltwise_op op,
		   enum npu_bcast bc, int konst)
{
	const struct npuq_tensor *at = &g->t[a];
	struct npuq_eltwise e;
	char yn[64];
	int in[2] = { a, b }, y;

	memset(&e, 0, sizeof(e));
	e.op = op;
	e.bcast = bc;
	e.a_mult = 1u << 30;
	e.a_shift = 31;
	e.b_mult = 1518500250u;
	e.b_shift = 31;
	e.out_mult = op == NPU_ELT_MUL ? 1u << 30 : 1288490189u;
	e.out_shift = op == NPU_ELT_MUL ? 36 : 51;	/* undo the inputs' << 20 */
	e.act_min = -100;
	e.act_max = 120;
	if (konst) {
		int nb = bc == NPU_BCAST_NONE ? at->h * at->w * at->c : bc == NPU_BCAST_SCALAR ? 1 :
			 at->c;

		e.b_const = malloc((size_t)nb);
		for (int i = 0; i < nb; i++)
			e.b_const[i] = rnd8();
		e.b_zp = -3;
		e.b_scale = 0.02f;
	}
	snprintf(yn, sizeof(yn), "%s_out", name);
	y = ti8(g, yn, at->h, at->w, at->c, 0.07f, 2);
	node(g, NPUQ_ELTWISE, name, in, konst ? 1 : 2, y, &e);
	return y;
}

START_TEST(test_eltwise_lut)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	struct npuq_lut lt;
	int a, b, s, cvec, y1, y2, y3, y4, y5, y6;

	rng_seed(5);
	a = ti8(g, "a", 31, 33, 24, 0.05f, 4);
	b = ti8(g, "b", 31, 33, 24, 0.04f, -9);
	s = ti8(g, "s", 1, 1, 1, 0.03f, 0);
	cvec = ti8(g, "cv", 1, 1, 24, 0.03f, 1);
	io_in(g, a);
	io_in(g, b);
	io_in(g, s);
	io_in(g, cvec);
	y1 = eltwise(g, "add", a, b, NPU_ELT_ADD, NPU_BCAST_NONE, 0);
	y2 = eltwise(g, "sub_scalar", y1, s, NPU_ELT_SUB, NPU_BCAST_SCALAR, 0);
	y3 = eltwise(g, "mul_chan", y2, cvec, NPU_ELT_MUL, NPU_BCAST_CHANNEL, 0);
	y4 = eltwise(g, "add_cconst", y3, -1, NPU_ELT_ADD, NPU_BCAST_CHANNEL, 1);
	y5 = eltwise(g, "mul_const", y4, -1, NPU_ELT_MUL, NPU_BCAST_NONE, 1);
	memset(&lt, 0, sizeof(lt));
	for (int i = 0; i < 256; i++)
		lt.table[i] = (int8_t)(127 - i);
	y6 = ti8(g, "lut_out", 31, 33, 24, 0.07f, 2);
	node(g, NPUQ_LUT, "lut", &y5, 1, y6, &lt);
	io_out(g, y6);
	io_out(g, y2);
	opts(&o, 16 * 1024);
	m = run_check(g, &o, NULL);
	ck_assert_uint_gt(layer_named(m, "add")->tiles, 1);
	ck_assert_uint_gt(layer_named(m, "mul_chan")->tiles, 1);
	ck_assert_uint_gt(layer_named(m, "lut")->tiles, 1);
	for (uint32_t i = 0; i < m->n_layers; i++)
		ck_assert_uint_eq(m->layers[i].target, NPUB_TARGET_NPU);
	ck_assert_uint_eq(m->n_streams, 1);	/* all NPU: one job */
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

START_TEST(test_concat_matmul)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	struct npuq_matmul mm;
	int x1, x2, x3, cat, in[3], a, b, y, mmi[2];

	rng_seed(6);
	x1 = ti8(g, "x1", 20, 21, 8, 0.05f, 3);
	x2 = ti8(g, "x2", 20, 21, 24, 0.08f, -2);	/* requantised */
	x3 = ti8(g, "x3", 20, 21, 16, 0.05f, 3);	/* copied */
	cat = ti8(g, "cat", 20, 21, 48, 0.05f, 3);
	in[0] = x1;
	in[1] = x2;
	in[2] = x3;
	io_in(g, x1);
	io_in(g, x2);
	io_in(g, x3);
	node(g, NPUQ_CONCAT, "concat", in, 3, cat, NULL);
	io_out(g, cat);
	a = ti8(g, "A", 2, 70, 150, 0.05f, 1);
	b = ti8(g, "B", 2, 150, 90, 0.03f, -4);
	y = ti8(g, "AB", 2, 70, 90, 0.2f, 6);
	io_in(g, a);
	io_in(g, b);
	memset(&mm, 0, sizeof(mm));
	mm.q.bias = 321;
	ck_assert_int_eq(npuq_quantize_multiplier(0.0004, &mm.q.mult, &mm.q.shift), 0);
	mm.act_min = -128;
	mm.act_max = 127;
	mmi[0] = a;
	mmi[1] = b;
	node(g, NPUQ_MATMUL, "matmul", mmi, 2, y, &mm);
	io_out(g, y);
	opts(&o, 12 * 1024);
	m = run_check(g, &o, NULL);
	ck_assert_uint_eq(layer_named(m, "concat")->target, NPUB_TARGET_NPU);
	ck_assert_uint_eq(layer_named(m, "matmul")->target, NPUB_TARGET_NPU);
	ck_assert_uint_gt(layer_named(m, "matmul")->tiles, 2);
	ck_assert_uint_eq(layer_named(m, "concat")->weight_bytes, 256);	/* one LUT */
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Whole models: boundary, reshape, CPU nodes, host fallbacks, arena    */
/* ------------------------------------------------------------------ */
/* src float graph with: deq[1,10] -> Softmax -> sm -> Mul(const) -> prob */
static void add_cpu_tail(struct npuq_graph *g, int deq)
{
	struct npuc_diag d = { { 0 } };
	struct npuc_graph *s = npuc_graph_new();
	int64_t dims[2] = { 1, 10 };
	int t_deq, t_sm, t_k, t_prob, n0, n1, in2[2], sm, prob;
	struct npuq_cpu cpu;
	float *k = malloc(40);

	ck_assert(s && k);
	s->opset = 13;
	t_deq = npuc_graph_add_tensor(s, "deq", NPUC_DT_F32, 2, dims, &d);
	t_sm = npuc_graph_add_tensor(s, "sm", NPUC_DT_F32, 2, dims, &d);
	t_k = npuc_graph_add_tensor(s, "k", NPUC_DT_F32, 1, dims + 1, &d);
	t_prob = npuc_graph_add_tensor(s, "prob", NPUC_DT_F32, 2, dims, &d);
	ck_assert_msg(t_deq >= 0 && t_sm >= 0 && t_k >= 0 && t_prob >= 0, "%s", d.msg);
	for (int i = 0; i < 10; i++)
		k[i] = 0.5f + (float)i;
	ck_assert_int_eq(npuc_tensor_set_data(s, t_k, k, 40, &d), 0);
	n0 = npuc_graph_add_node(s, "softmax", "Softmax", "", &t_deq, 1, &t_sm, 1, &d);
	ck_assert_int_ge(n0, 0);
	gb_attr_i(s, n0, "axis", -1);
	in2[0] = t_sm;
	in2[1] = t_k;
	n1 = npuc_graph_add_node(s, "scale", "Mul", "", in2, 2, &t_prob, 1, &d);
	ck_assert_int_ge(n1, 0);
	g->src = s;
	sm = tf32(g, "sm", 1, 1, 10);
	prob = tf32(g, "prob", 1, 1, 10);
	g->t[deq].onnx_rank = g->t[sm].onnx_rank = g->t[prob].onnx_rank = 2;
	g->t[deq].onnx_dims[0] = g->t[sm].onnx_dims[0] = g->t[prob].onnx_dims[0] = 1;
	g->t[deq].onnx_dims[1] = g->t[sm].onnx_dims[1] = g->t[prob].onnx_dims[1] = 10;
	memset(&cpu, 0, sizeof(cpu));
	cpu.src_node = n0;
	cpu.reason = strdup("Softmax: float op");
	node(g, NPUQ_CPU, "softmax", &deq, 1, sm, &cpu);
	cpu.src_node = n1;
	cpu.reason = strdup("Mul: float op");
	node(g, NPUQ_CPU, "scale", &sm, 1, prob, &cpu);
	io_out(g, prob);
}

/*
 * float NCHW input -> QUANTIZE -> conv -> conv(dw) -> maxpool -> conv(stride 20,
 * NPU cannot) -> reshape -> FC -> DEQUANTIZE -> Softmax (CPU) -> Mul (CPU).
 */
static struct npuq_graph *model(void)
{
	struct npuq_graph *g = npuq_graph_new();
	struct conv_spec dw = { 3, 3, 1, 1, 1, 1, 1, 1, 1, 1, 16, 0, 127, 0 };
	struct conv_spec big = { 3, 3, 20, 20, 1, 1, 0, 0, 0, 0, 1, -128, 127, 0 };
	struct conv_spec fc = { 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 1, -128, 127, 0 };
	int xf, xq, c1, c2, p, c3, r, f, deq;

	xf = tf32(g, "input", 60, 60, 3);
	g->t[xf].nchw = 1;
	g->t[xf].onnx_rank = 4;
	g->t[xf].onnx_dims[0] = 1;
	g->t[xf].onnx_dims[1] = 3;
	g->t[xf].onnx_dims[2] = 60;
	g->t[xf].onnx_dims[3] = 60;
	io_in(g, xf);
	xq = ti8(g, "input_q", 60, 60, 3, 0.025f, -3);
	node(g, NPUQ_QUANTIZE, "quant", &xf, 1, xq, NULL);
	c1 = conv(g, "conv1", xq, 16, &k3s1);
	c2 = conv(g, "conv2_dw", c1, 16, &dw);
	p = pool(g, "pool", c2, NPU_POOL_MAX, 2, 2, 0, 0, 0);
	c3 = conv(g, "conv3_s20", p, 8, &big);	/* 30x30 -> 2x2, stride 20 */
	r = ti8(g, "flat", 1, 1, 32, g->t[c3].scale, g->t[c3].zp);
	node(g, NPUQ_RESHAPE, "flatten", &c3, 1, r, NULL);
	f = conv(g, "fc", r, 10, &fc);
	deq = tf32(g, "deq", 1, 1, 10);
	node(g, NPUQ_DEQUANTIZE, "dequant", &f, 1, deq, NULL);
	add_cpu_tail(g, deq);
	return g;
}

START_TEST(test_model_end_to_end)
{
	struct npuq_graph *g;
	struct npul_options o;
	struct npub_model *m;
	const struct npub_layer *ly;
	int n_npu_steps = 0;

	rng_seed(7);
	g = model();
	opts(&o, 0);
	m = run_check(g, &o, NULL);
	ly = layer_named(m, "conv3_s20");
	ck_assert_uint_eq(ly->target, NPUB_TARGET_QCPU);
	ck_assert_str_eq(npub_str(m, ly->reason), "stride above the NPU's 16");
	ck_assert_uint_eq(layer_named(m, "softmax")->target, NPUB_TARGET_CPU);
	ck_assert_str_eq(npub_str(m, layer_named(m, "softmax")->op), "Softmax");
	ck_assert_uint_eq(layer_named(m, "flatten")->target, NPUB_TARGET_NONE);
	ck_assert_uint_eq(layer_named(m, "quant")->target, NPUB_TARGET_HOST);
	for (uint32_t s = 0; s < m->n_steps; s++)
		n_npu_steps += m->steps[s].kind == NPUB_STEP_NPU;
	ck_assert_int_eq(n_npu_steps, 2);	/* split by the host conv */
	ck_assert_uint_eq(m->n_cpu_nodes, 2);
	ck_assert_uint_eq(m->n_qnodes, 1);
	ck_assert_uint_eq(m->n_consts, 1);
	ck_assert_uint_ge(m->meta.arena_bytes, m->meta.arena_lower_bound);
	ck_assert_uint_gt(m->meta.arena_lower_bound, 0);
	ck_assert_uint_gt(m->meta.est_cycles, 0);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* A layer whose smallest tile does not fit SRAM runs on the host (qref). */
START_TEST(test_does_not_fit)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	int x, y, z;

	rng_seed(8);
	x = ti8(g, "x", 16, 400, 32, 0.05f, 0);	/* one 3-row band: 38 KiB */
	y = conv(g, "c", x, 16, &k3s1);
	z = pool(g, "p", y, NPU_POOL_MAX, 2, 2, 0, 0, 0);
	io_in(g, x);
	io_out(g, z);
	opts(&o, 16384);
	m = run_check(g, &o, NULL);
	ck_assert_uint_eq(layer_named(m, "c")->target, NPUB_TARGET_QCPU);
	ck_assert_str_eq(npub_str(m, layer_named(m, "c")->reason), "does not fit SRAM");
	ck_assert_uint_eq(layer_named(m, "p")->target, NPUB_TARGET_NPU);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* Reshape chains: into a graph output (aliases the OUTPUT region) and input -> output (copy). */
START_TEST(test_reshape_io)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	int x, y, r1, r2, x2, r3;

	rng_seed(9);
	x = ti8(g, "x", 6, 6, 16, 0.05f, 1);
	y = conv(g, "c", x, 16, &k3s1);
	r1 = ti8(g, "r1", 1, 36, 16, g->t[y].scale, g->t[y].zp);
	node(g, NPUQ_RESHAPE, "reshape1", &y, 1, r1, NULL);
	r2 = ti8(g, "r2", 1, 1, 576, g->t[y].scale, g->t[y].zp);
	node(g, NPUQ_RESHAPE, "reshape2", &r1, 1, r2, NULL);
	x2 = ti8(g, "x2", 4, 4, 4, 0.1f, 0);
	r3 = ti8(g, "r3", 1, 1, 64, 0.1f, 0);
	node(g, NPUQ_RESHAPE, "reshape3", &x2, 1, r3, NULL);
	io_in(g, x);
	io_in(g, x2);
	io_out(g, r2);
	io_out(g, r3);
	io_out(g, r1);	/* an output aliased by another output: copied */
	opts(&o, 0);
	m = run_check(g, &o, NULL);
	ck_assert_uint_eq(layer_named(m, "reshape1")->target, NPUB_TARGET_NONE);
	ck_assert_uint_eq(layer_named(m, "reshape2")->target, NPUB_TARGET_HOST);
	ck_assert_uint_eq(layer_named(m, "reshape3")->target, NPUB_TARGET_HOST);
	/* conv writes straight into the graph output's region */
	ck_assert_uint_eq(m->tensors[y].region, m->tensors[r1].region);
	ck_assert_uint_eq(m->regions[m->tensors[r1].region].kind, NPUB_REGION_OUTPUT);
	ck_assert_uint_eq(m->meta.arena_bytes, 0);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

/* Arena: liveness-based reuse, no overlap between tensors live at once. */
START_TEST(test_arena_plan)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npul_options o;
	struct npub_model *m;
	struct conv_spec s1 = k3s1;
	int t[12], x;

	rng_seed(10);
	x = ti8(g, "x", 20, 20, 16, 0.05f, 0);
	io_in(g, x);
	t[0] = x;
	for (int i = 1; i < 12; i++) {
		char nm[16];

		snprintf(nm, sizeof(nm), "c%d", i);
		t[i] = conv(g, nm, t[i - 1], 16 + (i % 3) * 8, &s1);
	}
	io_out(g, t[11]);
	opts(&o, 0);
	o.estimate = 0;
	m = run_check(g, &o, NULL);
	/*
	 * A chain: two intermediates live at once (lower bound: the largest
	 * adjacent pair, 32 + 24 channels); ten intermediates share the arena.
	 */
	ck_assert_uint_eq(m->meta.arena_lower_bound, 20 * 20 * (32 + 24));
	ck_assert_uint_ge(m->meta.arena_bytes, m->meta.arena_lower_bound);
	ck_assert_uint_le(m->meta.arena_bytes, m->meta.arena_lower_bound * 13 / 10);
	for (int i = 1; i < 10; i++) {
		const struct npub_tensor *a = &m->tensors[t[i]], *b = &m->tensors[t[i + 1]];

		ck_assert_uint_eq(a->region, NPUB_REGION_ARENA_ID);
		ck_assert(a->offset + a->bytes <= b->offset || b->offset + b->bytes <= a->offset);
		ck_assert_uint_eq(a->offset % 64, 0);
	}
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

START_TEST(test_mem_plan_random)
{
	enum { N = 60 };
	int first[N], last[N];
	uint64_t size[N], off[N], lb;
	int64_t total;

	rng_seed(11);
	for (int round = 0; round < 50; round++) {
		for (int i = 0; i < N; i++) {
			first[i] = (int)(rnd() % 40);
			last[i] = first[i] + (int)(rnd() % 10);
			size[i] = 1 + rnd() % 5000;
		}
		total = mem_plan(N, first, last, size, off, &lb);
		ck_assert_int_ge(total, (int64_t)lb);
		for (int i = 0; i < N; i++) {
			ck_assert_uint_eq(off[i] % 64, 0);
			ck_assert_uint_le(off[i] + size[i], (uint64_t)total);
			for (int j = 0; j < i; j++)
				if (first[i] <= last[j] && first[j] <= last[i])
					ck_assert(off[i] + size[i] <= off[j] ||
						  off[j] + size[j] <= off[i]);
		}
	}
	/* Disjoint lifetimes share one slot: the bound is met. */
	for (int i = 0; i < 4; i++) {
		first[i] = last[i] = i;
		size[i] = 1024;
	}
	ck_assert_int_eq(mem_plan(4, first, last, size, off, &lb), 1024);
	ck_assert_uint_eq(lb, 1024);
}
END_TEST

/* ------------------------------------------------------------------ */
/* WAITs: each one is necessary and as weak as possible                 */
/* ------------------------------------------------------------------ */
struct zmem {
	const uint8_t *cmd;
	uint32_t size;
};

static int z_read(void *o, uint64_t va, void *dst, uint32_t len, uint64_t *f)
{
	const struct zmem *z = o;

	(void)f;
	memset(dst, 0, len);
	if (va >= 0xf0000000u && va - 0xf0000000u + len <= z->size)
		memcpy(dst, z->cmd + (va - 0xf0000000u), len);
	return NPU_FAULT_NONE;
}

static int z_write(void *o, uint64_t va, const void *s, uint32_t len, uint64_t *f)
{
	(void)o;
	(void)va;
	(void)s;
	(void)len;
	(void)f;
	return NPU_FAULT_NONE;
}

static uint32_t run_stream(struct npusim_core *core, const uint8_t *cmd, uint32_t size)
{
	struct zmem z = { cmd, size };
	struct npusim_vmem mem = { z_read, z_write, &z };
	struct npusim_job job;
	struct npu_job_report rep;

	memset(&job, 0, sizeof(job));
	job.mem = &mem;
	job.cmd_va = 0xf0000000u;
	job.cmd_size = size;
	return (uint32_t)npusim_core_run(core, &job, &rep);
}

START_TEST(test_waits_minimal)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npusim_config cfg;
	struct npusim_core *core;
	struct npul_options o;
	struct npub_model *m;
	const struct npub_stream *st;
	uint8_t *cmd;
	int x, y, z, waits = 0;

	rng_seed(12);
	x = ti8(g, "x", 40, 40, 32, 0.05f, 0);
	y = conv(g, "c", x, 32, &k3s1);
	z = pool(g, "p", y, NPU_POOL_AVG, 3, 1, 1, 1, 0);
	io_in(g, x);
	io_out(g, z);
	opts(&o, 32768);
	o.estimate = 0;
	ck_assert_msg(npul_lower(g, &o, &m, &d) == 0, "%s", d.msg);
	ck_assert_uint_eq(m->n_streams, 1);
	st = &m->streams[0];
	cmd = malloc(st->size);
	npusim_config_default(&cfg);
	core = npusim_core_create(&cfg);
	ck_assert(cmd && core);
	memcpy(cmd, m->cmds + st->offset, st->size);
	ck_assert_uint_eq(run_stream(core, cmd, st->size), NPU_FAULT_NONE);
	for (uint32_t at = 0; at < st->size;) {
		uint32_t hdr, words;

		memcpy(&hdr, cmd + at, 4);
		words = NPU_CMD_WORDS(hdr);
		if (NPU_CMD_OPCODE(hdr) == NPU_OP_WAIT) {
			struct npu_cmd_wait w;
			uint32_t nop = NPU_CMD_HDR(NPU_OP_NOP, struct npu_cmd_nop);

			memcpy(&w, cmd + at, sizeof(w));
			/* Without it: HAZARD. */
			for (int k = 0; k < 3; k++)
				memcpy(cmd + at + 4 * k, &nop, 4);
			ck_assert_uint_eq(run_stream(core, cmd, st->size), NPU_FAULT_HAZARD);
			/* One more command allowed outstanding: HAZARD too. */
			w.max_outstanding++;
			memcpy(cmd + at, &w, sizeof(w));
			if (w.max_outstanding < NPU_QUEUE_DEPTH)
				ck_assert_uint_eq(run_stream(core, cmd, st->size),
						  NPU_FAULT_HAZARD);
			w.max_outstanding--;
			memcpy(cmd + at, &w, sizeof(w));
			waits++;
		}
		at += words * 4;
	}
	ck_assert_int_gt(waits, 4);
	ck_assert_uint_eq(run_stream(core, cmd, st->size), NPU_FAULT_NONE);
	npusim_core_destroy(core);
	free(cmd);
	npub_model_free(m);
	npuq_graph_free(g);
}
END_TEST

START_TEST(test_invalid_graphs)
{
	struct npuq_graph *g = npuq_graph_new();
	struct npuc_diag d = { { 0 } };
	struct npub_model *m = (void *)1;
	struct npuq_conv p;
	int x, y;

	x = ti8(g, "x", 8, 8, 4, 0.05f, 0);
	y = ti8(g, "y", 7, 8, 4, 0.05f, 0);	/* wrong height for 3x3 pad 1 */
	memset(&p, 0, sizeof(p));
	p.k_h = p.k_w = 3;
	p.stride_h = p.stride_w = p.dil_h = p.dil_w = p.groups = 1;
	p.pad_top = p.pad_left = p.pad_bottom = p.pad_right = 1;
	p.w = calloc(4 * 9 * 4, 1);
	p.q = calloc(4, sizeof(*p.q));
	p.act_min = -128;
	p.act_max = 127;
	node(g, NPUQ_CONV, "bad", &x, 1, y, &p);
	io_in(g, x);
	io_out(g, y);
	ck_assert_int_eq(npul_lower(g, NULL, &m, &d), -1);
	ck_assert_ptr_null(m);
	ck_assert_msg(strstr(d.msg, "output extent") != NULL, "%s", d.msg);
	npuq_graph_free(g);
}
END_TEST

Suite *suite_lower(void);
Suite *suite_lower(void)
{
	Suite *s = suite_create("lower");
	TCase *tc = tcase_create("lower");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_conv_small);
	tcase_add_test(tc, test_conv_large_tiled);
	tcase_add_test(tc, test_conv_variants);
	tcase_add_test(tc, test_zmask_encoding);
	tcase_add_test(tc, test_conv_compressed_weights);
	tcase_add_test(tc, test_palette4_encoding);
	tcase_add_test(tc, test_conv_palette_weights);
	tcase_add_test(tc, test_conv_fc_blocks);
	tcase_add_test(tc, test_pool);
	tcase_add_test(tc, test_eltwise_lut);
	tcase_add_test(tc, test_concat_matmul);
	tcase_add_test(tc, test_model_end_to_end);
	tcase_add_test(tc, test_does_not_fit);
	tcase_add_test(tc, test_reshape_io);
	tcase_add_test(tc, test_arena_plan);
	tcase_add_test(tc, test_mem_plan_random);
	tcase_add_test(tc, test_waits_minimal);
	tcase_add_test(tc, test_invalid_graphs);
	suite_add_tcase(s, tc);
	return s;
}
