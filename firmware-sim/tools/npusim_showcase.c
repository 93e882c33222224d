// SPDX-License-Identifier: MIT
/*
 * npusim-showcase: a small int8 CNN on Fashion-MNIST test images, run on the
 * simulated npu-v1 through its full host interface, and checked bit-exact
 * against a plain C reference of the same network.
 *
 * What runs where:
 *  - "Physical memory" is one malloc'd arena at PA 0x1_0000_0000 (above
 *    4 GiB, so the 40-bit PA path is used); the device reaches it only
 *    through host ops that bounds-check every access.
 *  - The host builds two-level device-MMU page tables in that arena, writes
 *    job descriptors into a ring, rings the doorbell, runs the device when
 *    kicked, takes the interrupt, and reads fences and job reports, as a
 *    kernel driver would.
 *  - Each job's command stream is written by hand here (there is no
 *    compiler yet): per image DMA in, CONV, POOL, CONV, POOL, global
 *    average POOL into one row of a matrix, then one MATMUL (the fully
 *    connected layer) for the whole batch and one DMA out. Images are
 *    software-pipelined so the DMA engine and the VEC unit work while the
 *    MAC array runs, with the WAITs the hazard checker demands.
 *
 * The weights are pseudo-random (seeded), with per-channel requantisation
 * calibrated on a few images so activations use the int8 range: this shows
 * the NPU executing, not accuracy.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zlib.h>

#include "npu_arith.h"
#include "npu_hw.h"
#include "npu_isa.h"
#include "npusim.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npusim-showcase copies device structures with memcpy: little-endian hosts only"
#endif

#define DEFAULT_DATA	"/usr/share/datasets/fashion-mnist/t10k-images-idx3-ubyte.gz"
#define DEFAULT_IMAGES	1000u
#define DEFAULT_BATCH	100u
#define MAX_BATCH	4096u
#define MAX_FILE_IMAGES	1000000u
#define MAX_IMAGES	100000u	/* the VA map has room for 256 MiB of images */

/* The network: 28x28x1 -> conv 16 -> pool -> conv 32 -> pool -> GAP -> fc 10. */
#define IMG_H		28
#define IMG_BYTES	(IMG_H * IMG_H)
#define C1		16
#define C2		32
#define NCLS		10
#define P1_H		(IMG_H / 2)
#define P2_H		(P1_H / 2)
#define C1_BYTES	(IMG_H * IMG_H * C1)
#define P1_BYTES	(P1_H * P1_H * C1)
#define C2_BYTES	(P1_H * P1_H * C2)
#define P2_BYTES	(P2_H * P2_H * C2)
#define W1_BYTES	(C1 * 9)
#define W2_BYTES	(C2 * 9 * C1)
#define W3_BYTES	(C2 * NCLS)
#define MACS_PER_IMAGE	((uint64_t)IMG_BYTES * C1 * 9 + (uint64_t)P1_H * P1_H * C2 * 9 * C1 + \
			 (uint64_t)C2 * NCLS)
/* Activations: uint8 pixels shifted to int8, so real 0 is -128 everywhere. */
#define ACT_ZP		(-128)

/* NPU virtual address map of every job (one context). */
#define VA_CMD		0x00100000u
#define VA_WGT		0x10000000u
#define VA_IMG		0x20000000u
#define VA_OUT		0x30000000u
#define PA_BASE		0x100000000ull
#define RING_ENTRIES	16u

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* 1234567 -> "1,234,567" (buf of at least 32 bytes). */
static const char *grp(char *buf, uint64_t v)
{
	char tmp[32];
	int n = snprintf(tmp, sizeof(tmp), "%llu", (unsigned long long)v), o = 0;

	for (int i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0)
			buf[o++] = ',';
		buf[o++] = tmp[i];
	}
	buf[o] = '\0';
	return buf;
}

/* ------------------------------------------------------------------ */
/* Fashion-MNIST IDX (gzip)                                            */
/* ------------------------------------------------------------------ */

static uint32_t be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Reads exactly len bytes; 0 on success. */
static int gz_read_all(gzFile gz, uint8_t *dst, size_t len)
{
	while (len) {
		unsigned int chunk = len > (1u << 30) ? (1u << 30) : (unsigned int)len;
		int n = gzread(gz, dst, chunk);

		if (n <= 0)
			return -1;
		dst += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Loads an IDX3 ubyte file of 28x28 images: checks the magic, the
 * dimensions and that the payload is exactly count*28*28 bytes.
 */
static uint8_t *load_idx_images(const char *path, uint32_t *count)
{
	uint8_t hdr[16], extra;
	uint8_t *pix = NULL;
	const char *err = NULL;
	gzFile gz = gzopen(path, "rb");
	uint32_t n = 0;

	if (!gz) {
		fprintf(stderr, "showcase: cannot open %s: %s\n", path, strerror(errno));
		fprintf(stderr, "showcase: install it with 'make deps' "
			"(Debian package dataset-fashion-mnist)\n");
		return NULL;
	}
	if (gz_read_all(gz, hdr, sizeof(hdr)))
		err = "truncated header";
	else if (be32(hdr) != 0x00000803u)
		err = "bad magic (want IDX3 unsigned byte, 0x00000803)";
	else if (be32(hdr + 8) != IMG_H || be32(hdr + 12) != IMG_H)
		err = "images are not 28x28";
	else if ((n = be32(hdr + 4)) == 0 || n > MAX_FILE_IMAGES)
		err = "implausible image count";
	else if (!(pix = malloc((size_t)n * IMG_BYTES)))
		err = "out of memory";
	else if (gz_read_all(gz, pix, (size_t)n * IMG_BYTES))
		err = "truncated or corrupt image data";
	else if (gzread(gz, &extra, 1) != 0)
		err = "trailing data after the images";
	if (gzclose(gz) != Z_OK && !err)
		err = "gzip stream error";
	if (err) {
		fprintf(stderr, "showcase: %s: %s\n", path, err);
		free(pix);
		return NULL;
	}
	*count = n;
	return pix;
}

/* ------------------------------------------------------------------ */
/* Network parameters                                                  */
/* ------------------------------------------------------------------ */

struct net {
	int8_t w1[W1_BYTES];		/* [16][3][3][1] */
	int8_t w2[W2_BYTES];		/* [32][3][3][16] */
	int8_t w3[W3_BYTES];		/* [32][10]: MATMUL B, row-major [k][n] */
	struct npu_qparam q1[C1], q2[C2], q3[NCLS];
};

static uint64_t rng_next(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

/* Uniform in [lo, hi]. */
static int32_t rng_range(uint64_t *s, int32_t lo, int32_t hi)
{
	return lo + (int32_t)(rng_next(s) % (uint64_t)((int64_t)hi - lo + 1));
}

static void fill_layer(uint64_t *rng, int8_t *w, size_t nw, struct npu_qparam *q, int nq,
		       int32_t bias_range)
{
	for (size_t i = 0; i < nw; i++)
		w[i] = (int8_t)rng_range(rng, -127, 127);
	for (int i = 0; i < nq; i++) {
		q[i].bias = rng_range(rng, -bias_range, bias_range);
		q[i].mult = 1u << 30;	/* placeholder until calibrated */
		q[i].shift = 40;
	}
}

static void net_random(struct net *n, uint64_t seed)
{
	uint64_t rng = seed;

	fill_layer(&rng, n->w1, sizeof(n->w1), n->q1, C1, 2048);
	fill_layer(&rng, n->w2, sizeof(n->w2), n->q2, C2, 16384);
	fill_layer(&rng, n->w3, sizeof(n->w3), n->q3, NCLS, 4096);
}

/* Sets q so that an accumulator of value peak maps to about target steps. */
static void q_for_peak(struct npu_qparam *q, int64_t peak, int64_t target)
{
	if (peak < 1)
		peak = 1;
	/* target < 2^8, so target << 54 < 2^62: no overflow. */
	for (uint32_t s = 54; s >= NPU_SHIFT_MIN; s--) {
		int64_t m = (target << s) / peak;

		if (m < (1ll << 31)) {
			q->mult = (uint32_t)m;
			q->shift = s;
			return;
		}
	}
}

/* ------------------------------------------------------------------ */
/* Reference: the same network as plain loops (npu_arith.h rounding)   */
/* ------------------------------------------------------------------ */

struct ref_buf {
	int32_t acc[C1_BYTES > C2_BYTES ? C1_BYTES : C2_BYTES];
	int8_t c1[C1_BYTES], p1[P1_BYTES], c2[C2_BYTES], p2[P2_BYTES], g[C2];
};

/* Per-channel accumulator peaks of one layer, gathered during calibration. */
struct calib {
	int layer;			/* 1..3 */
	int64_t hi[C2], absmax[C2];
};

/* One output pixel of a 3x3, stride 1, pad 1 convolution, all channels. */
static void ref_conv_pixel(const int8_t *in, int h, int ic, const int8_t *w,
			   const struct npu_qparam *q, int oc, int y, int x, int32_t *acc)
{
	for (int o = 0; o < oc; o++) {
		int32_t sum = q[o].bias;

		for (int ky = 0; ky < 3; ky++) {
			int iy = y + ky - 1;

			for (int kx = 0; kx < 3 && iy >= 0 && iy < h; kx++) {
				int ix = x + kx - 1;
				const int8_t *px, *wk;

				if (ix < 0 || ix >= h)
					continue;
				px = in + ((size_t)iy * h + ix) * ic;
				wk = w + (((size_t)o * 3 + ky) * 3 + kx) * ic;
				for (int c = 0; c < ic; c++)
					sum += (px[c] - ACT_ZP) * wk[c];
			}
		}
		acc[o] = sum;
	}
}

static void ref_conv(const int8_t *in, int h, int ic, const int8_t *w,
		     const struct npu_qparam *q, int oc, int32_t *acc, int8_t *out,
		     struct calib *cal, int layer)
{
	for (int y = 0; y < h; y++)
		for (int x = 0; x < h; x++)
			ref_conv_pixel(in, h, ic, w, q, oc, y, x, acc + ((size_t)y * h + x) * oc);
	for (int i = 0; i < h * h * oc; i++) {
		if (cal && cal->layer == layer && acc[i] > cal->hi[i % oc])
			cal->hi[i % oc] = acc[i];
		out[i] = npu_requant(acc[i], &q[i % oc], ACT_ZP, -128, 127);	/* ReLU */
	}
}

static struct npu_cmd_pool ref_pool_params(void)
{
	struct npu_cmd_pool p;

	memset(&p, 0, sizeof(p));
	p.out_zp = ACT_ZP;
	p.act_min = -128;
	p.act_max = 127;
	p.mult = 1;
	p.shift = 0;
	return p;
}

static void ref_maxpool2(const int8_t *in, int h, int c, int8_t *out)
{
	struct npu_cmd_pool p = ref_pool_params();
	int oh = h / 2;

	for (int y = 0; y < oh; y++)
		for (int x = 0; x < oh; x++)
			for (int ch = 0; ch < c; ch++) {
				int64_t m = INT64_MIN;

				for (int t = 0; t < 4; t++) {
					int iy = 2 * y + t / 2, ix = 2 * x + t % 2;
					int64_t v = in[((size_t)iy * h + ix) * c + ch] - ACT_ZP;

					m = v > m ? v : m;
				}
				out[((size_t)y * oh + x) * c + ch] = npu_pool_out(&p, m, 1);
			}
}

static void ref_gap(const int8_t *in, int h, int c, int8_t *out)
{
	struct npu_cmd_pool p = ref_pool_params();

	for (int ch = 0; ch < c; ch++) {
		int64_t sum = 0;

		for (int i = 0; i < h * h; i++)
			sum += in[(size_t)i * c + ch] - ACT_ZP;
		out[ch] = npu_pool_out(&p, sum, (int64_t)h * h);
	}
}

static void ref_fc(const struct net *n, const int8_t *g, int8_t *out, struct calib *cal)
{
	for (int o = 0; o < NCLS; o++) {
		int32_t acc = n->q3[o].bias;

		for (int k = 0; k < C2; k++)
			acc += (g[k] - ACT_ZP) * n->w3[k * NCLS + o];
		if (cal && cal->layer == 3) {
			int64_t a = acc < 0 ? -(int64_t)acc : acc;

			cal->absmax[o] = a > cal->absmax[o] ? a : cal->absmax[o];
		}
		out[o] = npu_requant(acc, &n->q3[o], 0, -128, 127);
	}
}

static void ref_forward(const struct net *n, const int8_t *img, struct ref_buf *b,
			int8_t out[NCLS], struct calib *cal)
{
	ref_conv(img, IMG_H, 1, n->w1, n->q1, C1, b->acc, b->c1, cal, 1);
	ref_maxpool2(b->c1, IMG_H, C1, b->p1);
	ref_conv(b->p1, P1_H, C1, n->w2, n->q2, C2, b->acc, b->c2, cal, 2);
	ref_maxpool2(b->c2, P1_H, C2, b->p2);
	ref_gap(b->p2, P2_H, C2, b->g);
	ref_fc(n, b->g, out, cal);
}

/*
 * Calibration, layer by layer on the first images: the ReLU layers map
 * their per-channel peak to 240 of 255 steps, the output layer its
 * per-class peak magnitude to 100.
 */
static void calibrate(struct net *n, const int8_t *imgs, uint32_t count, struct ref_buf *b)
{
	struct calib cal;
	int8_t out[NCLS];

	for (int layer = 1; layer <= 3; layer++) {
		memset(&cal, 0, sizeof(cal));
		cal.layer = layer;
		for (uint32_t i = 0; i < count; i++)
			ref_forward(n, imgs + (size_t)i * IMG_BYTES, b, out, &cal);
		for (int c = 0; layer == 1 && c < C1; c++)
			q_for_peak(&n->q1[c], cal.hi[c], 240);
		for (int c = 0; layer == 2 && c < C2; c++)
			q_for_peak(&n->q2[c], cal.hi[c], 240);
		for (int c = 0; layer == 3 && c < NCLS; c++)
			q_for_peak(&n->q3[c], cal.absmax[c], 100);
	}
}

/* ------------------------------------------------------------------ */
/* SRAM layout                                                         */
/* ------------------------------------------------------------------ */

struct sram_layout {
	uint32_t w1, q1, w2, q2, w3, q3, wend;	/* weights: one DMA of [0, wend) */
	uint32_t in[2], c1[2], p1[2], c2[2];	/* double-buffered per image */
	uint32_t p2;
	uint32_t g;				/* [batch][32]: GAP rows, MATMUL A */
	uint32_t o;				/* [batch][10]: logits */
	uint64_t end;
};

static uint32_t place(uint64_t *off, uint64_t size)
{
	uint32_t at = (uint32_t)*off;

	*off = (*off + size + 255) & ~255ull;
	return at;
}

static void layout_make(struct sram_layout *l, uint32_t batch)
{
	uint64_t off = 0;

	l->w1 = place(&off, W1_BYTES);
	l->q1 = place(&off, sizeof(struct npu_qparam) * C1);
	l->w2 = place(&off, W2_BYTES);
	l->q2 = place(&off, sizeof(struct npu_qparam) * C2);
	l->w3 = place(&off, W3_BYTES);
	l->q3 = place(&off, sizeof(struct npu_qparam) * NCLS);
	l->wend = (uint32_t)off;
	for (int i = 0; i < 2; i++) {
		l->in[i] = place(&off, IMG_BYTES);
		l->c1[i] = place(&off, C1_BYTES);
		l->p1[i] = place(&off, P1_BYTES);
		l->c2[i] = place(&off, C2_BYTES);
	}
	l->p2 = place(&off, P2_BYTES);
	l->g = place(&off, (uint64_t)batch * C2);
	l->o = place(&off, (uint64_t)batch * NCLS);
	l->end = off;
}

/* The weight blob as DMA'd into SRAM [0, wend). */
static uint8_t *weight_blob(const struct net *n, const struct sram_layout *l)
{
	uint8_t *b = calloc(1, l->wend);

	if (!b)
		return NULL;
	memcpy(b + l->w1, n->w1, sizeof(n->w1));
	memcpy(b + l->q1, n->q1, sizeof(n->q1));
	memcpy(b + l->w2, n->w2, sizeof(n->w2));
	memcpy(b + l->q2, n->q2, sizeof(n->q2));
	memcpy(b + l->w3, n->w3, sizeof(n->w3));
	memcpy(b + l->q3, n->q3, sizeof(n->q3));
	return b;
}

/* ------------------------------------------------------------------ */
/* Command streams                                                     */
/* ------------------------------------------------------------------ */

/*
 * A handle names an issued engine command: engine << 24 | sequence number
 * on that engine. The stream writer tracks which commands the dispatcher
 * already knows to be finished and emits a WAIT only when a dependency
 * on another engine might still be running. Engines are in-order, so
 * same-engine dependencies need nothing.
 */
typedef int32_t hnd;
#define NO_HND		(-1)

struct stream {
	uint8_t *buf;
	size_t len, cap;
	uint32_t issued[3];	/* commands issued per engine */
	int64_t done[3];	/* highest sequence number known finished */
	int oom;
	uint32_t waits;
};

static void emit(struct stream *s, const void *cmd, size_t n)
{
	if (s->oom)
		return;
	if (s->len + n > s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4096;
		uint8_t *p = realloc(s->buf, cap);

		if (!p) {
			s->oom = 1;
			return;
		}
		s->buf = p;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, cmd, n);
	s->len += n;
}

static void stream_init(struct stream *s)
{
	struct npu_cmd_begin b = {
		.hdr = NPU_CMD_HDR(NPU_OP_BEGIN, struct npu_cmd_begin),
		.version = NPU_ISA_VERSION,
	};

	memset(s, 0, sizeof(*s));
	for (int e = 0; e < 3; e++)
		s->done[e] = -1;
	emit(s, &b, sizeof(b));
}

static void stream_end(struct stream *s)
{
	struct npu_cmd_end e = { .hdr = NPU_CMD_HDR(NPU_OP_END, struct npu_cmd_end) };

	emit(s, &e, sizeof(e));
}

/* Makes sure command h has finished before the next command is dispatched. */
static void need(struct stream *s, int engine, hnd h)
{
	int e = (int)((uint32_t)h >> 24);
	uint32_t seq = (uint32_t)h & 0xffffffu, later;

	if (h == NO_HND || e == engine || (int64_t)seq <= s->done[e])
		return;
	later = s->issued[e] - 1 - seq;
	/* With NPU_QUEUE_DEPTH newer commands issued, it has finished already. */
	if (later < NPU_QUEUE_DEPTH) {
		struct npu_cmd_wait w = {
			.hdr = NPU_CMD_HDR(NPU_OP_WAIT, struct npu_cmd_wait),
			.engine_mask = 1u << e,
			.max_outstanding = later,
		};

		emit(s, &w, sizeof(w));
		s->waits++;
	}
	s->done[e] = seq;
}

static hnd issue(struct stream *s, int engine, const void *cmd, size_t n,
		 const hnd *deps, int ndeps)
{
	uint32_t seq;

	for (int i = 0; i < ndeps; i++)
		need(s, engine, deps[i]);
	emit(s, cmd, n);
	seq = s->issued[engine]++;
	/* A full queue stalls dispatch until its oldest command finishes. */
	if (seq >= NPU_QUEUE_DEPTH && (int64_t)(seq - NPU_QUEUE_DEPTH) > s->done[engine])
		s->done[engine] = seq - NPU_QUEUE_DEPTH;
	return (hnd)((uint32_t)engine << 24 | seq);
}

static hnd cmd_dma(struct stream *s, uint32_t dir, uint32_t va, uint32_t sram, uint32_t bytes,
		   const hnd *deps, int ndeps)
{
	struct npu_cmd_dma c;

	memset(&c, 0, sizeof(c));
	c.hdr = NPU_CMD_HDR(NPU_OP_DMA, struct npu_cmd_dma);
	c.flags = dir;
	c.dram_lo = va;
	c.sram = sram;
	c.inner_bytes = bytes;
	c.count1 = c.count2 = 1;
	c.dram_stride1 = c.dram_stride2 = c.sram_stride1 = c.sram_stride2 = bytes;
	return issue(s, NPU_ENGINE_DMA, &c, sizeof(c), deps, ndeps);
}

/* 3x3, stride 1, pad 1 convolution + ReLU of an h x h x ic tile. */
static hnd cmd_conv3x3(struct stream *s, uint32_t in, uint32_t w, uint32_t q, uint32_t out,
		       uint16_t h, uint16_t ic, uint16_t oc, const hnd *deps, int ndeps)
{
	struct npu_cmd_conv c;

	memset(&c, 0, sizeof(c));
	c.hdr = NPU_CMD_HDR(NPU_OP_CONV, struct npu_cmd_conv);
	c.in_addr = in;
	c.w_addr = w;
	c.q_addr = q;
	c.out_addr = out;
	c.in_h = c.in_w = c.out_h = c.out_w = h;
	c.in_c = c.in_pix_stride = ic;
	c.out_c = c.out_pix_stride = oc;
	c.k_h = c.k_w = 3;
	c.stride_h = c.stride_w = c.dil_h = c.dil_w = 1;
	c.pad_top = c.pad_left = 1;
	c.groups = 1;
	c.in_zp = ACT_ZP;
	c.out_zp = ACT_ZP;
	c.act_min = ACT_ZP;	/* ReLU: clamp at real 0 */
	c.act_max = 127;
	return issue(s, NPU_ENGINE_MAC, &c, sizeof(c), deps, ndeps);
}

/* k x k pooling with stride k (no padding) of an h x h x ch tile. */
static hnd cmd_pool(struct stream *s, uint8_t mode, uint32_t in, uint32_t out, uint16_t h,
		    uint16_t ch, uint8_t k, const hnd *deps, int ndeps)
{
	struct npu_cmd_pool c;

	memset(&c, 0, sizeof(c));
	c.hdr = NPU_CMD_HDR(NPU_OP_POOL, struct npu_cmd_pool);
	c.mode = mode;
	c.in_addr = in;
	c.out_addr = out;
	c.in_h = c.in_w = h;
	c.c = ch;
	c.out_h = c.out_w = h / k;
	c.k_h = c.k_w = k;
	c.stride_h = c.stride_w = k;
	c.in_zp = c.out_zp = ACT_ZP;
	c.act_min = -128;
	c.act_max = 127;
	c.mult = 1;
	c.shift = 0;
	return issue(s, NPU_ENGINE_VEC, &c, sizeof(c), deps, ndeps);
}

/* The fully connected layer for m images: [m][32] x [32][10]. */
static hnd cmd_fc(struct stream *s, const struct sram_layout *l, uint16_t m,
		  const hnd *deps, int ndeps)
{
	struct npu_cmd_matmul c;

	memset(&c, 0, sizeof(c));
	c.hdr = NPU_CMD_HDR(NPU_OP_MATMUL, struct npu_cmd_matmul);
	c.a_addr = l->g;
	c.b_addr = l->w3;
	c.q_addr = l->q3;
	c.out_addr = l->o;
	c.m = m;
	c.k = C2;
	c.n = NCLS;
	c.a_row_stride = C2;
	c.out_row_stride = NCLS;
	c.a_zp = ACT_ZP;
	c.act_min = -128;
	c.act_max = 127;
	return issue(s, NPU_ENGINE_MAC, &c, sizeof(c), deps, ndeps);
}

struct img_cmds {
	hnd dma, c1, p1, c2, p2;
};

struct job_ctx {
	struct stream *s;
	const struct sram_layout *l;
	struct img_cmds *h;
	long n;			/* images in this job */
	uint32_t img_va;	/* first image of this job */
	hnd wgt;		/* the weight DMA */
};

#define H(k, f)	((k) >= 0 && (k) < j->n ? j->h[k].f : NO_HND)

/*
 * Step k of the software pipeline. The MAC array runs conv1(k) then
 * conv2(k-1); meanwhile the VEC unit pools image k-1 (for conv2(k-1)) and
 * finishes image k-2, and the DMA engine fetches image k+1 into the other
 * input buffer. Buffers alternate by image parity; each command lists
 * every command of another engine that last read what it overwrites or
 * wrote what it reads.
 */
static void pipeline_step(struct job_ctx *j, long k)
{
	const struct sram_layout *l = j->l;
	struct stream *s = j->s;

	if (k + 1 < j->n) {
		hnd d[] = { H(k - 1, c1) };

		uint32_t va = j->img_va + (uint32_t)(k + 1) * IMG_BYTES;

		j->h[k + 1].dma = cmd_dma(s, NPU_DMA_TO_SRAM, va, l->in[(k + 1) & 1], IMG_BYTES,
					  d, 1);
	}
	if (k >= 1 && k - 1 < j->n) {
		hnd d[] = { H(k - 1, c1), H(k - 3, c2) };

		j->h[k - 1].p1 = cmd_pool(s, NPU_POOL_MAX, l->c1[(k - 1) & 1], l->p1[(k - 1) & 1],
					  IMG_H, C1, 2, d, 2);
	}
	if (k < j->n) {
		hnd d[] = { H(k, dma), j->wgt, H(k - 2, p1) };

		j->h[k].c1 = cmd_conv3x3(s, l->in[k & 1], l->w1, l->q1, l->c1[k & 1],
					 IMG_H, 1, C1, d, 3);
	}
	if (k >= 1 && k - 1 < j->n) {
		hnd d[] = { H(k - 1, p1), j->wgt, H(k - 3, p2) };

		j->h[k - 1].c2 = cmd_conv3x3(s, l->p1[(k - 1) & 1], l->w2, l->q2,
					     l->c2[(k - 1) & 1], P1_H, C1, C2, d, 3);
	}
	if (k >= 2 && k - 2 < j->n) {
		hnd d[] = { H(k - 2, c2) };

		j->h[k - 2].p2 = cmd_pool(s, NPU_POOL_MAX, l->c2[k & 1], l->p2, P1_H, C2, 2, d, 1);
		/* Global average pool into row k-2 of the FC input (same engine: no WAIT). */
		cmd_pool(s, NPU_POOL_AVG, l->p2, l->g + (uint32_t)(k - 2) * C2, P2_H, C2, P2_H,
			 NULL, 0);
	}
}

/* Builds the stream of one job: n images from img_va, logits to out_va. */
static int build_job(struct stream *s, const struct sram_layout *l, uint32_t img_va,
		     uint32_t out_va, uint32_t n)
{
	struct img_cmds *h = calloc(n, sizeof(*h));
	struct job_ctx jc = { .s = s, .l = l, .h = h, .n = n, .img_va = img_va };
	hnd fc, last;

	if (!h)
		return -1;
	stream_init(s);
	jc.wgt = cmd_dma(s, NPU_DMA_TO_SRAM, VA_WGT, 0, l->wend, NULL, 0);
	h[0].dma = cmd_dma(s, NPU_DMA_TO_SRAM, img_va, l->in[0], IMG_BYTES, NULL, 0);
	for (long k = 0; k <= (long)n + 1; k++)
		pipeline_step(&jc, k);
	/* The last GAP follows the last pool2 on the VEC unit. */
	last = (hnd)(NPU_ENGINE_VEC << 24 | (s->issued[NPU_ENGINE_VEC] - 1));
	fc = cmd_fc(s, l, (uint16_t)n, (hnd[]){ last, jc.wgt }, 2);
	cmd_dma(s, NPU_DMA_TO_DRAM, out_va, l->o, n * NCLS, (hnd[]){ fc }, 1);
	stream_end(s);
	free(h);
	return s->oom ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Host side: physical memory, page tables, device                     */
/* ------------------------------------------------------------------ */

struct host {
	uint8_t *mem;		/* "physical memory" at PA_BASE */
	uint64_t size, used;
	uint64_t l1_pa;		/* the context's L1 page table */
	uint64_t bad_accesses;	/* device accesses outside the arena */
	struct npusim_dev *dev;
	int kicked;
	uint32_t irqs, irq_done, irq_fault, irq_ring_error;
};

static int pa_ok(const struct host *h, uint64_t pa, size_t len)
{
	return pa >= PA_BASE && pa - PA_BASE <= h->size && len <= h->size - (pa - PA_BASE);
}

static int host_mem_read(void *opaque, uint64_t pa, void *dst, size_t len)
{
	struct host *h = opaque;

	if (!pa_ok(h, pa, len)) {
		h->bad_accesses++;
		return -1;
	}
	memcpy(dst, h->mem + (pa - PA_BASE), len);
	return 0;
}

static int host_mem_write(void *opaque, uint64_t pa, const void *src, size_t len)
{
	struct host *h = opaque;

	if (!pa_ok(h, pa, len)) {
		h->bad_accesses++;
		return -1;
	}
	memcpy(h->mem + (pa - PA_BASE), src, len);
	return 0;
}

/*
 * The interrupt handler, as a driver's would be: read the cause,
 * acknowledge it (which drops the line), count it. Completed jobs are
 * found through the fence, so nothing else happens here.
 */
static void host_set_irq(void *opaque, int level)
{
	struct host *h = opaque;
	uint32_t st;

	if (!level || !h->dev)
		return;
	st = npusim_dev_reg_read(h->dev, NPU_REG_IRQ_STATUS);
	npusim_dev_reg_write(h->dev, NPU_REG_IRQ_CLEAR, st);
	h->irqs++;
	h->irq_done += !!(st & NPU_IRQ_JOB_DONE);
	h->irq_fault += !!(st & NPU_IRQ_JOB_FAULT);
	h->irq_ring_error += !!(st & NPU_IRQ_RING_ERROR);
}

static void host_kick(void *opaque)
{
	((struct host *)opaque)->kicked = 1;
}

static void *pa_ptr(struct host *h, uint64_t pa)
{
	return h->mem + (pa - PA_BASE);
}

/* Zeroed, aligned allocation of physical memory; 0 when full. */
static uint64_t pa_alloc(struct host *h, uint64_t size, uint64_t align)
{
	uint64_t at = (h->used + align - 1) & ~(align - 1);

	if (at > h->size || size > h->size - at)
		return 0;
	h->used = at + size;
	return PA_BASE + at;
}

static void put_pte(struct host *h, uint64_t table_pa, uint32_t index, uint32_t pte)
{
	memcpy(pa_ptr(h, table_pa + 4ull * index), &pte, 4);
}

static uint32_t get_pte(struct host *h, uint64_t table_pa, uint32_t index)
{
	uint32_t pte;

	memcpy(&pte, pa_ptr(h, table_pa + 4ull * index), 4);
	return pte;
}

/* Maps [va, va+size) to [pa, ...) with perms, creating L2 tables as needed. */
static int vm_map(struct host *h, uint32_t va, uint64_t pa, uint64_t size, uint32_t perms)
{
	for (uint64_t off = 0; off < size; off += NPU_PAGE_SIZE) {
		uint32_t v = va + (uint32_t)off;
		uint32_t l1i = v >> NPU_VA_L1_SHIFT;
		uint32_t l2i = (v >> NPU_VA_L2_SHIFT) & (NPU_PT_ENTRIES - 1);
		uint32_t l1 = get_pte(h, h->l1_pa, l1i);

		if (!(l1 & NPU_PTE_VALID)) {
			uint64_t l2_pa = pa_alloc(h, NPU_PAGE_SIZE, NPU_PAGE_SIZE);

			if (!l2_pa)
				return -1;
			l1 = npu_pte_make(l2_pa, NPU_PTE_VALID);
			put_pte(h, h->l1_pa, l1i, l1);
		}
		put_pte(h, npu_pte_pa(l1), l2i, npu_pte_make(pa + off, NPU_PTE_VALID | perms));
	}
	return 0;
}

/* Allocates physical pages for a buffer, maps them at va, returns the PA. */
static uint64_t vm_buffer(struct host *h, uint32_t va, uint64_t size, uint32_t perms)
{
	uint64_t pa = pa_alloc(h, size, NPU_PAGE_SIZE);

	if (!pa || vm_map(h, va, pa, size, perms))
		return 0;
	return pa;
}

static uint64_t page_round(uint64_t v)
{
	return (v + NPU_PAGE_SIZE - 1) & ~(uint64_t)(NPU_PAGE_SIZE - 1);
}

/* ------------------------------------------------------------------ */
/* The run                                                             */
/* ------------------------------------------------------------------ */

struct opts {
	uint32_t images, batch;
	uint64_t seed;
	const char *trace, *data;
};

struct job {
	uint32_t first, count;
	uint32_t cmd_va, cmd_size;
	uint64_t report_pa;
	struct npu_job_report rep;
};

struct run {
	struct opts o;
	struct host host;
	struct npusim_dev *dev;
	struct sram_layout l;
	uint32_t mac_oc, mac_ic, clock_khz;
	struct job *jobs;
	uint32_t njobs;
	struct stream *streams;
	uint64_t ring_pa, fence_pa, out_pa, img_pa;
	double sim_s, ref_s;
	uint64_t waits, cmd_bytes;
};

static void usage(FILE *f)
{
	fprintf(f, "usage: npusim-showcase [--images N] [--batch B] [--trace out.json] "
		"[--seed S] [--data images-idx3-ubyte.gz]\n"
		"  --images N   test images to run (default %u)\n"
		"  --batch B    images per NPU job, 1..%u (default %u)\n"
		"  --trace F    write a Chrome trace of the device timeline to F\n"
		"  --seed S     seed of the random weights (default 1)\n"
		"  --data F     Fashion-MNIST IDX3 images (default %s)\n",
		DEFAULT_IMAGES, MAX_BATCH, DEFAULT_BATCH, DEFAULT_DATA);
}

static int parse_u64(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	unsigned long long x;

	errno = 0;
	x = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || x > max)
		return -1;
	*v = x;
	return 0;
}

static int parse_args(int argc, char **argv, struct opts *o)
{
	uint64_t v;

	*o = (struct opts){ DEFAULT_IMAGES, DEFAULT_BATCH, 1, NULL, DEFAULT_DATA };
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
			usage(stdout);
			exit(0);
		}
		if (!val)
			goto bad;
		i++;
		if (!strcmp(a, "--images") && !parse_u64(val, MAX_IMAGES, &v) && v)
			o->images = (uint32_t)v;
		else if (!strcmp(a, "--batch") && !parse_u64(val, MAX_BATCH, &v) && v)
			o->batch = (uint32_t)v;
		else if (!strcmp(a, "--seed") && !parse_u64(val, UINT64_MAX, &v))
			o->seed = v;
		else if (!strcmp(a, "--trace"))
			o->trace = val;
		else if (!strcmp(a, "--data"))
			o->data = val;
		else
			goto bad;
	}
	return 0;
bad:
	fprintf(stderr, "showcase: bad arguments\n");
	usage(stderr);
	return -1;
}

/* Creates the device and reads its identity and configuration registers. */
static int dev_open(struct run *r)
{
	static const struct npusim_host_ops ops = {
		.mem_read = host_mem_read,
		.mem_write = host_mem_write,
		.set_irq = host_set_irq,
		.kick = host_kick,
	};
	struct npusim_config cfg;
	uint32_t id, ver, isa, mac, sram;

	npusim_config_default(&cfg);
	r->dev = npusim_dev_create(&cfg, &ops, &r->host);
	if (!r->dev) {
		fprintf(stderr, "showcase: npusim_dev_create failed\n");
		return -1;
	}
	r->host.dev = r->dev;
	id = npusim_dev_reg_read(r->dev, NPU_REG_ID);
	ver = npusim_dev_reg_read(r->dev, NPU_REG_VERSION);
	isa = npusim_dev_reg_read(r->dev, NPU_REG_ISA_VERSION);
	mac = npusim_dev_reg_read(r->dev, NPU_REG_CFG_MAC_ARRAY);
	sram = npusim_dev_reg_read(r->dev, NPU_REG_CFG_SRAM_BYTES);
	r->clock_khz = npusim_dev_reg_read(r->dev, NPU_REG_CFG_CLOCK_KHZ);
	r->mac_oc = mac >> 16;
	r->mac_ic = mac & 0xffff;
	if (id != NPU_HW_ID_MAGIC || !r->mac_oc || !r->mac_ic || !r->clock_khz) {
		fprintf(stderr, "showcase: unexpected device (ID 0x%08x)\n", id);
		return -1;
	}
	printf("device:   %s, hw %u.%u, ISA %u.%u, MAC array %ux%u (%u MACs/cycle), "
	       "SRAM %u KiB, DMA %u B/cycle, %u MHz\n", cfg.name, ver >> 16, ver & 0xffff,
	       isa >> 16, isa & 0xffff, r->mac_oc, r->mac_ic, r->mac_oc * r->mac_ic,
	       sram >> 10, npusim_dev_reg_read(r->dev, NPU_REG_CFG_DMA_BPC),
	       r->clock_khz / 1000);
	layout_make(&r->l, r->o.batch);
	if (r->l.end > sram) {
		fprintf(stderr, "showcase: batch %u needs %llu bytes of SRAM, device has %u\n",
			r->o.batch, (unsigned long long)r->l.end, sram);
		return -1;
	}
	return 0;
}

static int build_streams(struct run *r)
{
	r->njobs = (r->o.images + r->o.batch - 1) / r->o.batch;
	r->jobs = calloc(r->njobs, sizeof(*r->jobs));
	r->streams = calloc(r->njobs, sizeof(*r->streams));
	if (!r->jobs || !r->streams)
		return -1;
	for (uint32_t i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];

		j->first = i * r->o.batch;
		j->count = r->o.images - j->first;
		if (j->count > r->o.batch)
			j->count = r->o.batch;
		if (build_job(&r->streams[i], &r->l, VA_IMG + j->first * IMG_BYTES,
			      VA_OUT + j->first * NCLS, j->count))
			return -1;
		j->cmd_size = (uint32_t)r->streams[i].len;
		r->waits += r->streams[i].waits;
		r->cmd_bytes += j->cmd_size;
	}
	return 0;
}

/* Physical memory: ring, fence, reports, page tables, and the mapped buffers. */
static int setup_memory(struct run *r, const struct net *n, const uint8_t *pixels)
{
	struct host *h = &r->host;
	uint64_t cmd_bytes = 0, wgt_pa, cmd_pa;
	uint8_t *blob = weight_blob(n, &r->l);
	int8_t *img;

	for (uint32_t i = 0; i < r->njobs; i++)
		cmd_bytes += page_round(r->jobs[i].cmd_size);
	h->size = (1u << 20) + cmd_bytes + page_round(r->l.wend) +
		  page_round((uint64_t)r->o.images * IMG_BYTES) +
		  page_round((uint64_t)r->o.images * NCLS) + (uint64_t)r->njobs * 128;
	h->mem = calloc(1, h->size);
	if (!blob || !h->mem)
		goto fail;
	r->ring_pa = pa_alloc(h, RING_ENTRIES * sizeof(struct npu_job_desc), NPU_PAGE_SIZE);
	r->fence_pa = pa_alloc(h, 8, 8);
	h->l1_pa = pa_alloc(h, NPU_PAGE_SIZE, NPU_PAGE_SIZE);
	for (uint32_t i = 0; i < r->njobs; i++)
		r->jobs[i].report_pa = pa_alloc(h, sizeof(struct npu_job_report), 64);
	/* Command streams, weights, images: device-readable only; outputs: write only. */
	cmd_pa = vm_buffer(h, VA_CMD, cmd_bytes, NPU_PTE_READ);
	wgt_pa = vm_buffer(h, VA_WGT, r->l.wend, NPU_PTE_READ);
	r->img_pa = vm_buffer(h, VA_IMG, (uint64_t)r->o.images * IMG_BYTES, NPU_PTE_READ);
	r->out_pa = vm_buffer(h, VA_OUT, (uint64_t)r->o.images * NCLS, NPU_PTE_WRITE);
	if (!r->ring_pa || !r->fence_pa || !h->l1_pa || !r->jobs[r->njobs - 1].report_pa ||
	    !cmd_pa || !wgt_pa || !r->img_pa || !r->out_pa)
		goto fail;
	for (uint32_t i = 0, va = VA_CMD; i < r->njobs; i++) {
		memcpy(pa_ptr(h, cmd_pa + (va - VA_CMD)), r->streams[i].buf, r->jobs[i].cmd_size);
		r->jobs[i].cmd_va = va;
		va += (uint32_t)page_round(r->jobs[i].cmd_size);
	}
	memcpy(pa_ptr(h, wgt_pa), blob, r->l.wend);
	img = pa_ptr(h, r->img_pa);
	for (size_t i = 0; i < (size_t)r->o.images * IMG_BYTES; i++)
		img[i] = (int8_t)(pixels[i] - 128);
	free(blob);
	return 0;
fail:
	fprintf(stderr, "showcase: out of (simulated) physical memory\n");
	free(blob);
	return -1;
}

static void write_desc(struct run *r, uint32_t index)
{
	const struct job *j = &r->jobs[index];
	struct npu_job_desc d = {
		.context_id = 1,
		.pt_base = r->host.l1_pa,
		.cmd_va = j->cmd_va,
		.cmd_size = j->cmd_size,
		.fence_pa = r->fence_pa,
		.fence_value = index + 1,
		.report_pa = j->report_pa,
	};

	memcpy(pa_ptr(&r->host, r->ring_pa + (uint64_t)(index % RING_ENTRIES) * sizeof(d)),
	       &d, sizeof(d));
}

static uint64_t read_fence(struct run *r)
{
	uint64_t v;

	memcpy(&v, pa_ptr(&r->host, r->fence_pa), 8);
	return v;
}

/*
 * Submits every job through the ring (at most RING_ENTRIES in flight),
 * running the device whenever it kicks us, until the fence says all done.
 */
static int run_jobs(struct run *r)
{
	struct npusim_dev *dev = r->dev;
	uint32_t tail = 0;
	uint64_t done = 0;

	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_LO, (uint32_t)r->ring_pa);
	npusim_dev_reg_write(dev, NPU_REG_RING_BASE_HI, (uint32_t)(r->ring_pa >> 32));
	npusim_dev_reg_write(dev, NPU_REG_RING_SIZE, RING_ENTRIES);
	npusim_dev_reg_write(dev, NPU_REG_IRQ_MASK, NPU_IRQ_JOB_DONE | NPU_IRQ_JOB_FAULT |
			     NPU_IRQ_RING_ERROR);
	npusim_dev_reg_write(dev, NPU_REG_CTRL, NPU_CTRL_ENABLE);
	while (done < r->njobs) {
		uint64_t before = done;

		while (tail < r->njobs && tail - done < RING_ENTRIES)
			write_desc(r, tail++);
		npusim_dev_reg_write(dev, NPU_REG_DOORBELL, tail);
		if (r->host.kicked) {
			r->host.kicked = 0;
			npusim_dev_process(dev);
		}
		if (r->host.irq_ring_error) {
			fprintf(stderr, "showcase: ring error, device halted (STATUS 0x%x)\n",
				npusim_dev_reg_read(dev, NPU_REG_STATUS));
			return -1;
		}
		done = read_fence(r);
		if (done <= before || done > tail) {
			fprintf(stderr, "showcase: no progress (fence %llu, HEAD %u, "
				"STATUS 0x%x)\n", (unsigned long long)done,
				npusim_dev_reg_read(dev, NPU_REG_RING_HEAD),
				npusim_dev_reg_read(dev, NPU_REG_STATUS));
			return -1;
		}
	}
	return 0;
}

static void print_job(const struct job *j, uint32_t i)
{
	char b1[32];

	printf("  job %3u: images %5u..%-5u %13s cycles %6llu commands  fault %s\n", i, j->first,
	       j->first + j->count - 1, grp(b1, j->rep.cycles),
	       (unsigned long long)j->rep.commands, npusim_fault_name(j->rep.fault));
	if (j->rep.fault)
		printf("           at command offset %u, address 0x%llx\n",
		       j->rep.fault_cmd_offset, (unsigned long long)j->rep.fault_addr);
}

/* Reads every job report; all must be fault NONE with the network's MAC count. */
static int check_jobs(struct run *r)
{
	uint32_t bad = 0, jobs_done = npusim_dev_reg_read(r->dev, NPU_REG_JOBS_DONE);

	for (uint32_t i = 0; i < r->njobs; i++) {
		struct job *j = &r->jobs[i];
		uint64_t want = MACS_PER_IMAGE * j->count;

		memcpy(&j->rep, pa_ptr(&r->host, j->report_pa), sizeof(j->rep));
		if (r->njobs <= 32 || j->rep.fault != NPU_FAULT_NONE)
			print_job(j, i);
		if (j->rep.fault != NPU_FAULT_NONE) {
			bad++;
		} else if (j->rep.macs != want) {
			fprintf(stderr, "showcase: job %u: %llu MACs, the network has %llu\n", i,
				(unsigned long long)j->rep.macs, (unsigned long long)want);
			bad++;
		}
	}
	if (r->njobs > 32 && !bad)
		printf("  (%u jobs, every one fault NONE)\n", r->njobs);
	if (jobs_done != r->njobs || r->host.bad_accesses) {
		fprintf(stderr, "showcase: JOBS_DONE %u (want %u), %llu bad bus accesses\n",
			jobs_done, r->njobs, (unsigned long long)r->host.bad_accesses);
		bad++;
	}
	return bad ? -1 : 0;
}

/* Runs the reference on every image and compares with the NPU's logits. */
static uint32_t verify(struct run *r, const struct net *n, struct ref_buf *b,
		       int *lo, int *hi, uint32_t hist[NCLS])
{
	const int8_t *imgs = pa_ptr(&r->host, r->img_pa);
	const int8_t *npu = pa_ptr(&r->host, r->out_pa);
	uint32_t ok = 0, first_bad = UINT32_MAX;
	double t0 = now_s();

	*lo = 127;
	*hi = -128;
	for (uint32_t i = 0; i < r->o.images; i++) {
		int8_t ref[NCLS];
		int best = 0;

		ref_forward(n, imgs + (size_t)i * IMG_BYTES, b, ref, NULL);
		if (!memcmp(ref, npu + (size_t)i * NCLS, NCLS))
			ok++;
		else if (first_bad == UINT32_MAX)
			first_bad = i;
		for (int c = 0; c < NCLS; c++) {
			*lo = ref[c] < *lo ? ref[c] : *lo;
			*hi = ref[c] > *hi ? ref[c] : *hi;
			best = ref[c] > ref[best] ? c : best;
		}
		hist[best]++;
	}
	r->ref_s = now_s() - t0;
	if (first_bad != UINT32_MAX) {
		const int8_t *o = npu + (size_t)first_bad * NCLS;
		int8_t ref[NCLS];

		ref_forward(n, imgs + (size_t)first_bad * IMG_BYTES, b, ref, NULL);
		fprintf(stderr, "showcase: first mismatch at image %u:\n  npu:", first_bad);
		for (int c = 0; c < NCLS; c++)
			fprintf(stderr, " %4d", o[c]);
		fprintf(stderr, "\n  ref:");
		for (int c = 0; c < NCLS; c++)
			fprintf(stderr, " %4d", ref[c]);
		fprintf(stderr, "\n");
	}
	return ok;
}

static void print_results(const struct run *r, uint32_t exact, int lo, int hi,
			  const uint32_t hist[NCLS])
{
	uint64_t cycles = 0, macs = 0, rd = 0, wr = 0, busy[4] = { 0 }, n = r->o.images;
	uint32_t classes = 0;
	char b1[32], b2[32], b3[32];
	double us;

	for (uint32_t i = 0; i < r->njobs; i++) {
		cycles += r->jobs[i].rep.cycles;
		macs += r->jobs[i].rep.macs;
		rd += r->jobs[i].rep.dram_read_bytes;
		wr += r->jobs[i].rep.dram_write_bytes;
		for (int e = 0; e < 4; e++)
			busy[e] += r->jobs[i].rep.busy_cycles[e];
	}
	for (int c = 0; c < NCLS; c++)
		classes += hist[c] != 0;
	if (!cycles)
		cycles = 1;
	us = (double)cycles / n * 1000.0 / r->clock_khz;
	printf("results:\n");
	printf("  images                %u in %u jobs (%u per job), faults: all NONE\n",
	       r->o.images, r->njobs, r->o.batch);
	printf("  bit-exact: %u/%u images (NPU int8 logits == C reference)\n", exact, r->o.images);
	printf("  logits                range [%d, %d], argmax spans %u of %u classes\n",
	       lo, hi, classes, NCLS);
	printf("  NPU cycles            %s total, %s per image\n", grp(b1, cycles),
	       grp(b2, (cycles + n / 2) / n));
	printf("  MACs per image        %s (reported by the device: %s in all)\n",
	       grp(b1, macs / n), grp(b2, macs));
	printf("  MAC utilisation       %.1f%%  (MACs / (cycles x %u x %u))\n",
	       100.0 * (double)macs / ((double)cycles * r->mac_oc * r->mac_ic),
	       r->mac_oc, r->mac_ic);
	printf("                        conv1 has 1 input channel, so it uses 1 of the %u "
	       "input lanes\n", r->mac_ic);
	printf("  engine busy           DMA %.1f%%, MAC %.1f%%, VEC %.1f%%, dispatcher %.1f%%\n",
	       100.0 * (double)busy[0] / (double)cycles, 100.0 * (double)busy[1] / (double)cycles,
	       100.0 * (double)busy[2] / (double)cycles, 100.0 * (double)busy[3] / (double)cycles);
	printf("  DRAM bytes per image  %s (read %s, write %s; weights and commands "
	       "once per job)\n", grp(b1, (rd + wr) / n), grp(b2, rd / n), grp(b3, wr / n));
	printf("  simulated time/image  %.2f us at %u MHz (%.0f images/s)\n", us,
	       r->clock_khz / 1000, 1e6 / us);
	printf("  host wall time/image  %.1f us simulated (%.2f GMAC/s); C reference %.1f us\n",
	       r->sim_s * 1e6 / (double)n, (double)macs / r->sim_s / 1e9,
	       r->ref_s * 1e6 / (double)n);
}

static void run_free(struct run *r)
{
	if (r->streams)
		for (uint32_t i = 0; i < r->njobs; i++)
			free(r->streams[i].buf);
	free(r->streams);
	free(r->jobs);
	npusim_dev_destroy(r->dev);
	free(r->host.mem);
}

static int run_device(struct run *r)
{
	struct npusim_core *core = npusim_dev_core(r->dev);
	double t0;
	int ret;

	if (r->o.trace && npusim_core_trace_open(core, r->o.trace)) {
		fprintf(stderr, "showcase: cannot write trace %s: %s\n", r->o.trace,
			strerror(errno));
		return -1;
	}
	printf("running:  %u jobs through a %u-entry ring (%llu command bytes, %llu WAITs)...\n",
	       r->njobs, RING_ENTRIES, (unsigned long long)r->cmd_bytes,
	       (unsigned long long)r->waits);
	fflush(stdout);
	t0 = now_s();
	ret = run_jobs(r);
	r->sim_s = now_s() - t0;
	if (r->o.trace && npusim_core_trace_close(core)) {
		fprintf(stderr, "showcase: writing trace %s failed\n", r->o.trace);
		ret = -1;
	}
	if (!ret)
		printf("          done: JOBS_DONE %u, fence %llu, %u interrupts "
		       "(JOB_DONE %u, JOB_FAULT %u)\n",
		       npusim_dev_reg_read(r->dev, NPU_REG_JOBS_DONE),
		       (unsigned long long)read_fence(r), r->host.irqs, r->host.irq_done,
		       r->host.irq_fault);
	return ret;
}

int main(int argc, char **argv)
{
	struct run r;
	struct net *n = calloc(1, sizeof(*n));
	struct ref_buf *b = calloc(1, sizeof(*b));
	uint32_t avail = 0, exact, hist[NCLS] = { 0 };
	uint8_t *pixels = NULL;
	int8_t *cal_imgs = NULL;
	int lo, hi, ret = 2;

	memset(&r, 0, sizeof(r));
	if (!n || !b || parse_args(argc, argv, &r.o))
		goto out;
	printf("npusim-showcase: int8 CNN on Fashion-MNIST, on the simulated NPU "
	       "through its host interface\n");
	pixels = load_idx_images(r.o.data, &avail);
	if (!pixels)
		goto out;
	if (r.o.images > avail) {
		fprintf(stderr, "showcase: --images %u, but %s holds %u\n", r.o.images,
			r.o.data, avail);
		goto out;
	}
	printf("data:     %u of %u test images from %s\n", r.o.images, avail, r.o.data);
	printf("network:  conv3x3 1->16 +ReLU, maxpool 2x2, conv3x3 16->32 +ReLU, maxpool 2x2, "
	       "global avgpool, fc 32->10\n");
	printf("NOTE:     random weights: this shows the NPU executing, not accuracy "
	       "(no trained model yet; seed %llu)\n", (unsigned long long)r.o.seed);
	net_random(n, r.o.seed);
	cal_imgs = malloc((size_t)IMG_BYTES * 16);
	if (!cal_imgs)
		goto out;
	for (size_t i = 0; i < (size_t)IMG_BYTES * 16; i++)
		cal_imgs[i] = (int8_t)(pixels[i % ((size_t)avail * IMG_BYTES)] - 128);
	calibrate(n, cal_imgs, 16, b);
	if (dev_open(&r) || build_streams(&r) || setup_memory(&r, n, pixels) ||
	    run_device(&r))
		goto out;
	ret = 1;
	if (check_jobs(&r))
		goto out;
	exact = verify(&r, n, b, &lo, &hi, hist);
	print_results(&r, exact, lo, hi, hist);
	if (r.o.trace)
		printf("trace:    %s (open in https://ui.perfetto.dev or chrome://tracing)\n",
		       r.o.trace);
	if (exact != r.o.images) {
		fprintf(stderr, "showcase: FAILED: %u of %u images differ from the reference\n",
			r.o.images - exact, r.o.images);
	} else if (lo == hi) {
		fprintf(stderr, "showcase: FAILED: every logit is %d, the check proves nothing\n",
			lo);
	} else {
		ret = 0;
	}
out:
	free(cal_imgs);
	free(pixels);
	free(n);
	free(b);
	run_free(&r);
	return ret;
}
