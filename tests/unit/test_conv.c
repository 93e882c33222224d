// SPDX-License-Identifier: MIT
/*
 * CONV through full jobs (DMA in, CONV, DMA out) against the naive
 * reference: hand-computed cases, edge limits, and 240 random shapes
 * (strides, dilations, padding, groups, depthwise with multipliers,
 * channel slices, per-channel/per-tensor qparams, extreme values).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ref/naive_ref.h"
#include "util/stream.h"

#define CONV_SEED 0xc0471234ull
#define CONV_MAX_MACS 250000u

struct conv_slices {
	uint32_t in_off, out_off;	/* channel offset inside the pixel */
};

static uint64_t conv_macs(const struct npu_cmd_conv *c)
{
	return (uint64_t)c->out_h * c->out_w * c->out_c * c->k_h * c->k_w *
	       (c->in_c / c->groups);
}

static void conv_describe(const struct npu_cmd_conv *c, char *buf, size_t len)
{
	snprintf(buf, len, "in %ux%ux%u/%u out %ux%ux%u/%u k %ux%u s %u,%u d %u,%u p %u,%u "
		 "g %u flags %u zp %d,%d,%d act [%d,%d]",
		 c->in_h, c->in_w, c->in_c, c->in_pix_stride, c->out_h, c->out_w, c->out_c,
		 c->out_pix_stride, c->k_h, c->k_w, c->stride_h, c->stride_w, c->dil_h,
		 c->dil_w, c->pad_top, c->pad_left, c->groups, c->flags, c->in_zp, c->w_zp,
		 c->out_zp, c->act_min, c->act_max);
}

static uint32_t place(struct trng *r, uint32_t *next, uint32_t len)
{
	uint32_t at = *next + (uint32_t)trng_range(r, 0, 63);

	*next = at + len;
	return at;
}

/*
 * Runs one CONV job: *cmd has its shape; addresses are assigned here. The
 * whole output buffer (including bytes between channel slices, prefilled
 * with random data) is stored back and compared with the reference.
 */
static void conv_check_case(struct tjob *j, struct trng *r, struct npu_cmd_conv *c,
			    const struct conv_slices *sl, const char *tag, int idx)
{
	uint32_t icg = c->in_c / c->groups;
	uint32_t in_len = (uint32_t)c->in_h * c->in_w * c->in_pix_stride;
	uint32_t w_len = (uint32_t)c->out_c * c->k_h * c->k_w * icg;
	uint32_t nq = (c->flags & NPU_CONV_F_PER_TENSOR_Q) ? 1 : c->out_c;
	uint32_t out_len = (uint32_t)c->out_h * c->out_w * c->out_pix_stride;
	uint32_t next = 0, in_buf, w_at, q_at, out_buf;
	uint8_t *in = malloc(in_len), *w = malloc(w_len), *q = malloc(12 * nq);
	uint8_t *out = malloc(out_len);
	struct npu_job_report rep;
	uint64_t out_va;
	char desc[256];
	long bad;
	int f;

	ck_assert(in && w && q && out);
	in_buf = place(r, &next, in_len);
	w_at = place(r, &next, w_len);
	q_at = place(r, &next, 12 * nq);
	out_buf = place(r, &next, out_len);
	ck_assert_uint_le(next, j->sram_bytes);
	c->in_addr = in_buf + sl->in_off;
	c->w_addr = w_at;
	c->q_addr = q_at;
	c->out_addr = out_buf + sl->out_off;

	trng_fill_i8(r, in, in_len);
	trng_fill_i8(r, w, w_len);
	for (uint32_t i = 0; i < nq; i++)
		trng_qparam(r, q + 12 * i, (uint64_t)c->k_h * c->k_w * icg);
	trng_fill(r, out, out_len);

	tjob_reset(j);
	tjob_load(j, in_buf, in, in_len);
	tjob_load(j, w_at, w, w_len);
	tjob_load(j, q_at, q, 12 * nq);
	tjob_load(j, out_buf, out, out_len);
	st_wait(&j->s, ENG_DMA, 0);
	st_conv(&j->s, c);
	st_wait(&j->s, ENG_MAC, 0);
	out_va = tjob_store(j, out_buf, out_len);

	conv_describe(c, desc, sizeof(desc));
	ck_assert_msg(ref_conv(j->model, j->sram_bytes, c) == 0, "reference rejected %s", desc);
	f = tjob_run(j, &rep);
	ck_assert_msg(f == NPU_FAULT_NONE, "%s case %d seed 0x%llx: fault %s at %u (%s)", tag, idx,
		      (unsigned long long)r->seed, npusim_fault_name((uint32_t)f),
		      rep.fault_cmd_offset, desc);
	bad = tjob_compare(j, out_va, out_buf, out_len);
	ck_assert_msg(bad < 0, "%s case %d seed 0x%llx: output byte %ld (pixel %ld ch %ld) "
		      "got %d want %d (%s)", tag, idx, (unsigned long long)r->seed, bad,
		      bad / c->out_pix_stride, bad % c->out_pix_stride,
		      (int8_t)tdram_ptr(&j->dram, out_va, out_len)[bad < 0 ? 0 : bad],
		      (int8_t)j->model[out_buf + (bad < 0 ? 0 : bad)], desc);
	ck_assert_msg(rep.macs == conv_macs(c), "%s case %d: macs %llu want %llu", tag, idx,
		      (unsigned long long)rep.macs, (unsigned long long)conv_macs(c));
	ck_assert_uint_eq(rep.dram_write_bytes, out_len);
	ck_assert_uint_eq(rep.dram_read_bytes, j->bytes_in + stream_bytes(&j->s));
	free(in);
	free(w);
	free(q);
	free(out);
}

static void conv_defaults(struct npu_cmd_conv *c)
{
	memset(c, 0, sizeof(*c));
	c->k_h = c->k_w = 1;
	c->stride_h = c->stride_w = 1;
	c->dil_h = c->dil_w = 1;
	c->groups = 1;
	c->act_min = -128;
	c->act_max = 127;
}

/* ------------------------------------------------------------------ */
/* Hand-computed                                                       */
/* ------------------------------------------------------------------ */

/*
 * 1x1 input, 2 channels, 3x3 kernel with pad 1: only the centre tap is
 * inside. Checks the reference itself and the simulator on numbers worked
 * out by hand, including rounding of exact halves towards +infinity.
 */
START_TEST(test_conv_known_answer)
{
	struct tjob j;
	struct npu_cmd_conv c;
	struct npu_job_report rep;
	int8_t in[2] = { 3, -2 };
	int8_t w[3 * 9 * 2];
	uint8_t q[3 * 12];
	int8_t got[3];
	uint64_t va;

	tjob_init(&j, NULL, 1 << 20);
	conv_defaults(&c);
	c.in_h = c.in_w = 1;
	c.in_c = c.in_pix_stride = 2;
	c.out_h = c.out_w = 1;
	c.out_c = c.out_pix_stride = 3;
	c.k_h = c.k_w = 3;
	c.pad_top = c.pad_left = 1;
	c.in_zp = 1;		/* x - in_zp = { 2, -3 } */
	c.w_zp = -1;		/* w - w_zp = w + 1 */
	c.out_zp = 10;
	memset(w, 0x55, sizeof(w));	/* padding taps: must not matter */
	/* centre tap (ky=1, kx=1) is index 4 */
	w[(0 * 9 + 4) * 2 + 0] = 0;  w[(0 * 9 + 4) * 2 + 1] = 1;	/* 2*1 + -3*2 = -4 */
	w[(1 * 9 + 4) * 2 + 0] = 2;  w[(1 * 9 + 4) * 2 + 1] = -1;	/* 2*3 + -3*0 = 6 */
	w[(2 * 9 + 4) * 2 + 0] = -1; w[(2 * 9 + 4) * 2 + 1] = 0;	/* 0 + -3*1 = -3 */
	put_qparam(q + 0, 13, 1u << 30, 31);	/* (13 - 4) * 0.5 = 4.5 -> 5 */
	put_qparam(q + 12, -15, 1u << 30, 31);	/* (-15 + 6) * 0.5 = -4.5 -> -4 */
	put_qparam(q + 24, 0, 0x7fffffff, 0);	/* shift 0 -> 1: -3 * ~1/2^1*2^31 -> saturates */
	c.in_addr = 0;
	c.w_addr = 64;
	c.q_addr = 256;
	c.out_addr = 512;
	tjob_load(&j, 0, in, 2);
	tjob_load(&j, 64, w, sizeof(w));
	tjob_load(&j, 256, q, sizeof(q));
	st_wait(&j.s, ENG_DMA, 0);
	st_conv(&j.s, &c);
	st_wait(&j.s, ENG_MAC, 0);
	va = tjob_store(&j, 512, 3);
	ck_assert_int_eq(ref_conv(j.model, j.sram_bytes, &c), 0);
	ck_assert_int_eq((int8_t)j.model[512], 15);
	ck_assert_int_eq((int8_t)j.model[513], 6);
	ck_assert_int_eq((int8_t)j.model[514], -128);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	memcpy(got, tdram_ptr(&j.dram, va, 3), 3);
	ck_assert_int_eq(got[0], 15);
	ck_assert_int_eq(got[1], 6);
	ck_assert_int_eq(got[2], -128);
	ck_assert_uint_eq(rep.macs, 3 * 9 * 2);
	tjob_free(&j);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Random shapes                                                       */
/* ------------------------------------------------------------------ */

static void gen_act(struct trng *r, struct npu_cmd_conv *c)
{
	int lo, hi;

	switch (trng_range(r, 0, 4)) {
	case 0:	/* relu */
		c->act_min = c->out_zp;
		c->act_max = 127;
		break;
	case 1:	/* relu6-like */
		c->act_min = c->out_zp;
		c->act_max = (int8_t)(c->out_zp + trng_range(r, 0, 127 - c->out_zp));
		break;
	case 2:
		lo = (int)trng_range(r, -128, 127);
		hi = (int)trng_range(r, lo, 127);
		c->act_min = (int8_t)lo;
		c->act_max = (int8_t)hi;
		break;
	default:
		c->act_min = -128;
		c->act_max = 127;
		break;
	}
}

static int8_t gen_zp(struct trng *r)
{
	switch (trng_range(r, 0, 5)) {
	case 0: return -128;
	case 1: return 127;
	case 2: return 0;
	default: return (int8_t)trng_range(r, -128, 127);
	}
}

/* One spatial axis: kernel, stride, dilation, padding, sizes. */
static void gen_axis(struct trng *r, uint8_t *k, uint8_t *s, uint8_t *d, uint8_t *pad,
		     uint16_t *in, uint16_t *out)
{
	int64_t ek, pb, n;

	*k = (uint8_t)trng_range(r, 1, 7);
	*s = (uint8_t)trng_range(r, 1, 3);
	*d = (uint8_t)(*k > 1 ? trng_range(r, 1, 3) : 1);
	ek = (int64_t)(*k - 1) * *d + 1;
	*pad = (uint8_t)trng_range(r, 0, trng_chance(r, 10) ? ek + 2 : ek - 1);
	pb = trng_range(r, 0, ek - 1);
	n = trng_range(r, 1, 12);
	if (n + *pad + pb < ek)
		n = ek - *pad - pb;
	*in = (uint16_t)n;
	*out = (uint16_t)((n + *pad + pb - ek) / *s + 1);
	/* Sometimes extra output rows/columns that see only padding. */
	if (trng_chance(r, 5))
		*out = (uint16_t)(*out + 1);
}

static void gen_channels(struct trng *r, struct npu_cmd_conv *c)
{
	uint32_t g, icg, ocg;

	switch (trng_range(r, 0, 9)) {
	case 0: case 1: case 2: case 3: case 4:	/* dense, across lane boundaries */
		g = 1;
		icg = (uint32_t)trng_range(r, 1, 70);
		ocg = (uint32_t)trng_range(r, 1, 40);
		break;
	case 5: case 6:				/* grouped */
		g = (uint32_t)trng_range(r, 2, 4);
		icg = (uint32_t)trng_range(r, 1, 12);
		ocg = (uint32_t)trng_range(r, 1, 12);
		break;
	case 7: case 8:				/* depthwise */
		g = (uint32_t)trng_range(r, 2, 48);
		icg = 1;
		ocg = 1;
		break;
	default:				/* depthwise, multiplier 2 */
		g = (uint32_t)trng_range(r, 2, 40);
		icg = 1;
		ocg = 2;
		break;
	}
	c->groups = (uint16_t)g;
	c->in_c = (uint16_t)(g * icg);
	c->out_c = (uint16_t)(g * ocg);
}

static void gen_conv(struct trng *r, struct npu_cmd_conv *c, struct conv_slices *sl)
{
	do {
		conv_defaults(c);
		gen_axis(r, &c->k_h, &c->stride_h, &c->dil_h, &c->pad_top, &c->in_h, &c->out_h);
		gen_axis(r, &c->k_w, &c->stride_w, &c->dil_w, &c->pad_left, &c->in_w,
			 &c->out_w);
		gen_channels(r, c);
	} while (conv_macs(c) > CONV_MAX_MACS);

	c->in_pix_stride = c->in_c;
	c->out_pix_stride = c->out_c;
	sl->in_off = sl->out_off = 0;
	if (trng_chance(r, 30)) {
		c->in_pix_stride = (uint16_t)(c->in_c + trng_range(r, 1, 9));
		sl->in_off = (uint32_t)trng_range(r, 0, c->in_pix_stride - c->in_c);
	}
	if (trng_chance(r, 30)) {
		c->out_pix_stride = (uint16_t)(c->out_c + trng_range(r, 1, 9));
		sl->out_off = (uint32_t)trng_range(r, 0, c->out_pix_stride - c->out_c);
	}
	if (trng_chance(r, 30))
		c->flags = NPU_CONV_F_PER_TENSOR_Q;
	c->in_zp = gen_zp(r);
	c->w_zp = trng_chance(r, 50) ? 0 : gen_zp(r);
	c->out_zp = gen_zp(r);
	gen_act(r, c);
}

static void conv_random(uint64_t seed, int ncases)
{
	struct tjob j;
	struct trng r;

	tjob_init(&j, NULL, 8 << 20);
	trng_init(&r, seed);
	for (int i = 0; i < ncases; i++) {
		struct npu_cmd_conv c;
		struct conv_slices sl;

		gen_conv(&r, &c, &sl);
		conv_check_case(&j, &r, &c, &sl, "random", i);
	}
	tjob_free(&j);
}

START_TEST(test_conv_random)
{
	conv_random(CONV_SEED + (uint64_t)_i, 60);
}
END_TEST

/* ------------------------------------------------------------------ */
/* Targeted shapes                                                     */
/* ------------------------------------------------------------------ */

START_TEST(test_conv_depthwise_multiplier)
{
	struct tjob j;
	struct trng r;
	struct conv_slices sl = { 0, 0 };

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, CONV_SEED ^ 0xd3);
	for (int i = 0; i < 6; i++) {
		struct npu_cmd_conv c;

		conv_defaults(&c);
		c.groups = (uint16_t)(16 * (i + 1) + i);	/* 16..101 channels */
		c.in_c = c.in_pix_stride = c.groups;
		c.out_c = c.out_pix_stride = (uint16_t)(c.groups * (1 + i % 2));
		c.in_h = c.in_w = 9;
		c.k_h = c.k_w = 3;
		c.stride_h = c.stride_w = (uint8_t)(1 + i % 2);
		c.pad_top = c.pad_left = 1;
		c.out_h = c.out_w = (uint16_t)((9 + 2 - 3) / c.stride_h + 1);
		c.in_zp = -5;
		c.out_zp = 3;
		c.flags = i % 3 == 0 ? NPU_CONV_F_PER_TENSOR_Q : 0;
		conv_check_case(&j, &r, &c, &sl, "depthwise", i);
	}
	tjob_free(&j);
}
END_TEST

/* Largest kernel, stride and dilation the ISA allows. */
START_TEST(test_conv_limits)
{
	struct tjob j;
	struct trng r;
	struct conv_slices sl = { 0, 0 };
	struct npu_cmd_conv c;

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, CONV_SEED ^ 0x11);

	conv_defaults(&c);	/* 32x32 kernel */
	c.in_h = c.in_w = 34;
	c.in_c = c.in_pix_stride = 3;
	c.out_c = c.out_pix_stride = 5;
	c.k_h = c.k_w = NPU_CONV_MAX_K;
	c.out_h = c.out_w = 3;
	c.in_zp = 7;
	c.w_zp = -3;
	conv_check_case(&j, &r, &c, &sl, "k32", 0);

	conv_defaults(&c);	/* stride 16 */
	c.in_h = c.in_w = 50;
	c.in_c = c.in_pix_stride = 4;
	c.out_c = c.out_pix_stride = 4;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = NPU_MAX_STRIDE;
	c.pad_top = c.pad_left = 1;
	c.out_h = c.out_w = (50 + 1 + 1 - 3) / 16 + 1;
	conv_check_case(&j, &r, &c, &sl, "stride16", 0);

	conv_defaults(&c);	/* dilation 16 */
	c.in_h = c.in_w = 40;
	c.in_c = c.in_pix_stride = 2;
	c.out_c = c.out_pix_stride = 3;
	c.k_h = c.k_w = 3;
	c.dil_h = c.dil_w = NPU_MAX_DILATION;
	c.pad_top = c.pad_left = 16;
	c.out_h = c.out_w = 40;
	conv_check_case(&j, &r, &c, &sl, "dil16", 0);

	conv_defaults(&c);	/* asymmetric everything, in/out slices */
	c.in_h = 11;
	c.in_w = 17;
	c.in_c = 40;
	c.in_pix_stride = 64;
	c.out_c = 33;
	c.out_pix_stride = 100;
	c.k_h = 2;
	c.k_w = 5;
	c.stride_h = 3;
	c.stride_w = 2;
	c.dil_h = 2;
	c.dil_w = 1;
	c.pad_top = 2;
	c.pad_left = 0;
	c.out_h = (11 + 2 + 0 - 3) / 3 + 1;
	c.out_w = (17 - 5) / 2 + 1;
	sl.in_off = 24;
	sl.out_off = 67;
	conv_check_case(&j, &r, &c, &sl, "slices", 0);
	tjob_free(&j);
}
END_TEST

/*
 * Extreme values: every input and weight at -128 or 127 with zero points
 * at the other end, the largest multiplier, the smallest and largest
 * shifts: the accumulator and the rescale reach their widest ranges.
 */
START_TEST(test_conv_extremes)
{
	static const uint32_t shifts[] = { 1, 2, 31, 46, 61, 62 };
	struct tjob j;
	struct trng r;
	struct conv_slices sl = { 0, 0 };

	tjob_init(&j, NULL, 4 << 20);
	trng_init(&r, CONV_SEED ^ 0xee);
	for (unsigned int i = 0; i < 12; i++) {
		struct npu_cmd_conv c;
		uint32_t qat = 0;

		conv_defaults(&c);
		c.in_h = c.in_w = 6;
		c.in_c = c.in_pix_stride = 64;
		c.out_c = c.out_pix_stride = 20;
		c.k_h = c.k_w = 3;
		c.out_h = c.out_w = 4;
		c.in_zp = (i & 1) ? 127 : -128;
		c.w_zp = (i & 2) ? 127 : -128;
		c.out_zp = (int8_t)(i * 20 - 120);
		c.act_min = (int8_t)((i & 4) ? c.out_zp : -128);
		c.act_max = (int8_t)((i & 4) ? (c.out_zp > 121 ? 127 : c.out_zp + 6) : 127);
		c.flags = NPU_CONV_F_PER_TENSOR_Q;
		conv_check_case(&j, &r, &c, &sl, "extreme", (int)i);
		/*
		 * Now with a fixed per-tensor qparam at the extreme shift: patch the
		 * job's qparam in SRAM and rerun through a second job.
		 */
		{
			uint8_t q[12];
			struct npu_job_report rep;
			uint8_t *in = malloc(6 * 6 * 64), *w = malloc(20 * 9 * 64);
			uint64_t va;

			ck_assert(in && w);
			for (int k = 0; k < 6 * 6 * 64; k++)
				in[k] = (uint8_t)(((k * 7 + (int)i) & 1) ? 0x80 : 0x7f);
			for (int k = 0; k < 20 * 9 * 64; k++)
				w[k] = (uint8_t)(((k * 5 + (int)i) % 3) ? 0x80 : 0x7f);
			put_qparam(q, (int32_t)trng_range(&r, -1000, 1000), 0x7fffffffu,
				   shifts[i % 6]);
			tjob_reset(&j);
			c.in_addr = 0;
			c.w_addr = 4096;
			c.q_addr = qat = 32768;
			c.out_addr = 40000;
			tjob_load(&j, c.in_addr, in, 6 * 6 * 64);
			tjob_load(&j, c.w_addr, w, 20 * 9 * 64);
			tjob_load(&j, qat, q, 12);
			st_wait(&j.s, ENG_DMA, 0);
			st_conv(&j.s, &c);
			st_wait(&j.s, ENG_MAC, 0);
			va = tjob_store(&j, c.out_addr, 4 * 4 * 20);
			ck_assert_int_eq(ref_conv(j.model, j.sram_bytes, &c), 0);
			ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
			ck_assert_msg(tjob_compare(&j, va, c.out_addr, 4 * 4 * 20) < 0,
				      "extreme shift %u case %u mismatch", shifts[i % 6], i);
			free(in);
			free(w);
		}
	}
	tjob_free(&j);
}
END_TEST

/*
 * Accumulator wrap-around: bias near INT32_MAX plus a large positive sum
 * must wrap modulo 2^32 (npu_arith.h convention), not saturate.
 */
START_TEST(test_conv_acc_wraps)
{
	struct tjob j;
	struct npu_cmd_conv c;
	struct npu_job_report rep;
	uint8_t in[64], w[64], q[12];
	uint64_t va;
	int8_t got;

	tjob_init(&j, NULL, 1 << 20);
	conv_defaults(&c);
	c.in_h = c.in_w = 1;
	c.in_c = c.in_pix_stride = 64;
	c.out_h = c.out_w = 1;
	c.out_c = c.out_pix_stride = 1;
	memset(in, 0x7f, sizeof(in));
	memset(w, 0x7f, sizeof(w));
	c.in_zp = -128;		/* 255 per term */
	c.w_zp = -128;
	/* sum = 64 * 65025 = 4161600; bias = INT32_MAX - 1000000 wraps negative */
	put_qparam(q, INT32_MAX - 1000000, 1u << 30, 55);
	c.in_addr = 0;
	c.w_addr = 128;
	c.q_addr = 256;
	c.out_addr = 300;
	tjob_load(&j, 0, in, 64);
	tjob_load(&j, 128, w, 64);
	tjob_load(&j, 256, q, 12);
	st_wait(&j.s, ENG_DMA, 0);
	st_conv(&j.s, &c);
	st_wait(&j.s, ENG_MAC, 0);
	va = tjob_store(&j, 300, 1);
	ck_assert_int_eq(ref_conv(j.model, j.sram_bytes, &c), 0);
	/* wrapped acc = 2^31 - 1 - 1e6 + 4161600 - 2^32 = -2144322049; / 2^25 -> -64 */
	ck_assert_int_eq((int8_t)j.model[300], -64);
	ck_assert_int_eq(tjob_run(&j, &rep), NPU_FAULT_NONE);
	got = (int8_t)*tdram_ptr(&j.dram, va, 1);
	ck_assert_int_eq(got, -64);
	tjob_free(&j);
}
END_TEST

Suite *suite_conv(void);
Suite *suite_conv(void)
{
	Suite *s = suite_create("conv");
	TCase *tc = tcase_create("conv");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_conv_known_answer);
	tcase_add_test(tc, test_conv_acc_wraps);
	tcase_add_test(tc, test_conv_depthwise_multiplier);
	tcase_add_test(tc, test_conv_limits);
	tcase_add_test(tc, test_conv_extremes);
	tcase_add_loop_test(tc, test_conv_random, 0, 4);
	suite_add_tcase(s, tc);
	return s;
}
