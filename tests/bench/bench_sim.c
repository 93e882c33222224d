// SPDX-License-Identifier: MIT
/*
 * Simulator speed: how fast libnpusim's MAC engine executes CONV and
 * MATMUL on this machine (single thread). Each shape is validated with
 * <op>_check() on a default-config core whose SRAM holds random data,
 * then <op>_exec() is timed directly (one warm-up call, then repeated
 * until at least 0.3 s have elapsed). MACs are the command's MAC count
 * from the cycle model (padding taps included). Measured figures only.
 * An optional argument runs only the shapes whose name contains it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "internal.h"

#define MIN_SECONDS 0.3

struct conv_shape {
	const char *name;
	uint16_t h, w, c, oc;
	uint8_t k, stride, groups_dw;	/* groups_dw: groups = c */
};

static const struct conv_shape conv_shapes[] = {
	{ "conv 3x3 56x56x64->64", 56, 56, 64, 64, 3, 1, 0 },
	{ "conv 1x1 28x28x128->128", 28, 28, 128, 128, 1, 1, 0 },
	{ "conv 3x3 14x14x256->256", 14, 14, 256, 256, 3, 1, 0 },
	{ "conv 1x1 56x56x24->144", 56, 56, 24, 144, 1, 1, 0 },
	{ "conv 5x5/2 56x56x32->64", 56, 56, 32, 64, 5, 2, 0 },
	{ "conv 3x3/2 112x112x3->32", 112, 112, 3, 32, 3, 2, 0 },
	{ "dwconv 3x3 56x56x64", 56, 56, 64, 64, 3, 1, 1 },
	{ "dwconv 3x3/2 56x56x128", 56, 56, 128, 128, 3, 2, 1 },
};

struct mm_shape {
	const char *name;
	uint16_t m, k, n;
};

static const struct mm_shape mm_shapes[] = {
	{ "matmul 64x512x512", 64, 512, 512 },
	{ "matmul 256x64x256", 256, 64, 256 },
	{ "matmul 1x1024x512", 1, 1024, 512 },
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Next free SRAM offset after len bytes at *at, 64-byte aligned. */
static uint32_t place(uint32_t *at, uint64_t len)
{
	uint32_t off = *at;

	*at = (uint32_t)((off + len + 63) & ~(uint64_t)63);
	return off;
}

/* Random bytes, and qparams that give a sensible spread of outputs. */
static void fill_sram(struct npusim_core *core, uint32_t q_addr, unsigned int nq)
{
	uint32_t x = 12345;

	for (uint32_t i = 0; i < core->cfg.sram_bytes; i++) {
		x = x * 1103515245u + 12345u;
		core->sram[i] = (uint8_t)(x >> 16);
	}
	for (unsigned int i = 0; i < nq; i++) {
		struct npu_qparam q = { (int32_t)(i * 37) - 500, 1518500250u, 40 };

		memcpy(core->sram + q_addr + i * sizeof(q), &q, sizeof(q));
	}
}

static void report(const char *name, uint64_t macs, double sec, unsigned long calls)
{
	double per = sec / (double)calls;

	printf("%-28s %12llu MACs %9.3f ms/call %8.2f GMAC/s\n", name, (unsigned long long)macs,
	       per * 1e3, (double)macs / per * 1e-9);
}

static int bench_conv(struct npusim_core *core, const struct conv_shape *s)
{
	struct npu_cmd_conv cmd;
	struct cmd_info info;
	uint32_t at = 0, groups = s->groups_dw ? s->c : 1;
	uint16_t oh = (uint16_t)((s->h - 1) / s->stride + 1);
	uint16_t ow = (uint16_t)((s->w - 1) / s->stride + 1);
	unsigned long calls = 0;
	double t0, t;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr = NPU_CMD_HDR(NPU_OP_CONV, struct npu_cmd_conv);
	cmd.in_h = s->h;
	cmd.in_w = s->w;
	cmd.in_c = cmd.in_pix_stride = s->c;
	cmd.out_h = oh;
	cmd.out_w = ow;
	cmd.out_c = cmd.out_pix_stride = s->oc;
	cmd.k_h = cmd.k_w = s->k;
	cmd.stride_h = cmd.stride_w = s->stride;
	cmd.dil_h = cmd.dil_w = 1;
	cmd.pad_top = cmd.pad_left = s->k / 2;
	cmd.groups = (uint16_t)groups;
	cmd.in_zp = 3;
	cmd.w_zp = -2;
	cmd.out_zp = -5;
	cmd.act_min = -128;
	cmd.act_max = 127;
	cmd.in_addr = place(&at, (uint64_t)s->h * s->w * s->c);
	cmd.w_addr = place(&at, (uint64_t)s->oc * s->k * s->k * (s->c / groups));
	cmd.q_addr = place(&at, sizeof(struct npu_qparam) * s->oc);
	cmd.out_addr = place(&at, (uint64_t)oh * ow * s->oc);
	fill_sram(core, cmd.q_addr, s->oc);
	if (conv_check(core, &cmd, &info)) {
		fprintf(stderr, "bench: %s does not fit the default config\n", s->name);
		return -1;
	}
	conv_exec(core, &cmd);
	t0 = now();
	do {
		conv_exec(core, &cmd);
		calls++;
	} while ((t = now() - t0) < MIN_SECONDS);
	report(s->name, info.macs, t, calls);
	return 0;
}

static int bench_matmul(struct npusim_core *core, const struct mm_shape *s)
{
	struct npu_cmd_matmul cmd;
	struct cmd_info info;
	uint32_t at = 0;
	unsigned long calls = 0;
	double t0, t;

	memset(&cmd, 0, sizeof(cmd));
	cmd.hdr = NPU_CMD_HDR(NPU_OP_MATMUL, struct npu_cmd_matmul);
	cmd.m = s->m;
	cmd.k = cmd.a_row_stride = s->k;
	cmd.n = cmd.out_row_stride = s->n;
	cmd.a_zp = 1;
	cmd.b_zp = -1;
	cmd.out_zp = 2;
	cmd.act_min = -128;
	cmd.act_max = 127;
	cmd.a_addr = place(&at, (uint64_t)s->m * s->k);
	cmd.b_addr = place(&at, (uint64_t)s->k * s->n);
	cmd.q_addr = place(&at, sizeof(struct npu_qparam) * s->n);
	cmd.out_addr = place(&at, (uint64_t)s->m * s->n);
	fill_sram(core, cmd.q_addr, s->n);
	if (matmul_check(core, &cmd, &info)) {
		fprintf(stderr, "bench: %s does not fit the default config\n", s->name);
		return -1;
	}
	matmul_exec(core, &cmd);
	t0 = now();
	do {
		matmul_exec(core, &cmd);
		calls++;
	} while ((t = now() - t0) < MIN_SECONDS);
	report(s->name, info.macs, t, calls);
	return 0;
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : "";
	struct npusim_config cfg;
	struct npusim_core *core;
	int ret = 0;

	npusim_config_default(&cfg);
	core = npusim_core_create(&cfg);
	if (!core) {
		perror("npusim_core_create");
		return 1;
	}
	printf("libnpusim MAC engine, single thread, %s config (%u KiB SRAM)\n", cfg.name,
	       cfg.sram_bytes / 1024);
	for (size_t i = 0; i < sizeof(conv_shapes) / sizeof(conv_shapes[0]); i++)
		if (strstr(conv_shapes[i].name, only))
			ret |= bench_conv(core, &conv_shapes[i]);
	for (size_t i = 0; i < sizeof(mm_shapes) / sizeof(mm_shapes[0]); i++)
		if (strstr(mm_shapes[i].name, only))
			ret |= bench_matmul(core, &mm_shapes[i]);
	npusim_core_destroy(core);
	return ret ? 1 : 0;
}
