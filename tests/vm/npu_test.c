// SPDX-License-Identifier: MIT
/*
 * npu.ko's ioctls, tested inside the VM with the kselftest harness (TAP):
 * GET_PARAM, BO_CREATE/BO_INFO and mmap, SUBMIT with syncobjs; their
 * abuse (unknown flags, nonzero padding, bad sizes and handles, foreign
 * handles, mmap after close); a convolution bit-identical to libnpusim run
 * in this process; MMU isolation between two processes; a job past its
 * timeout; closing a file with jobs in flight.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kselftest_harness.h"
#include "npu_test_lib.h"
#include "npusim.h"
#include "util/stream.h"

FIXTURE(npu) {
	int fd;
};

FIXTURE_SETUP(npu)
{
	self->fd = npu_open();
	ASSERT_GE(self->fd, 0) TH_LOG("no npu DRM device: %s", strerror(-self->fd));
}

FIXTURE_TEARDOWN(npu)
{
	close(self->fd);
}

/* ------------------------------------------------------------------ */
/* GET_PARAM                                                           */
/* ------------------------------------------------------------------ */

/* A compute-accel node where the kernel has DRM accel, else a render node. */
TEST_F(npu, device_node_kind)
{
	const char *want = access("/sys/class/accel", F_OK) == 0 ? "/dev/accel/accel" :
				   "/dev/dri/renderD";

	EXPECT_EQ(0, strncmp(npu_node, want, 16));
	TH_LOG("npu device node: %s", npu_node);
}

TEST_F(npu, get_param_reads_the_device)
{
	int fd2 = npu_open();

	EXPECT_EQ(0x10000, npu_param(self->fd, DRM_NPU_PARAM_HW_VERSION));
	EXPECT_EQ(NPU_ISA_VERSION, npu_param(self->fd, DRM_NPU_PARAM_ISA_VERSION));
	EXPECT_EQ(0x3f, npu_param(self->fd, DRM_NPU_PARAM_HW_CAPS));
	EXPECT_EQ(16u << 16 | 32u, npu_param(self->fd, DRM_NPU_PARAM_MAC_ARRAY));
	EXPECT_EQ(1u << 20, npu_param(self->fd, DRM_NPU_PARAM_SRAM_BYTES));
	EXPECT_EQ(16, npu_param(self->fd, DRM_NPU_PARAM_DMA_BYTES_PER_CYCLE));
	EXPECT_EQ(1000000, npu_param(self->fd, DRM_NPU_PARAM_CLOCK_KHZ));
	EXPECT_EQ(NPU_CMD_MAX_BYTES, npu_param(self->fd, DRM_NPU_PARAM_MAX_CMD_BYTES));
	EXPECT_NE(0, npu_param(self->fd, DRM_NPU_PARAM_VA_START));
	EXPECT_EQ(DRM_NPU_CONTEXT_OK, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_STATE));
	/* Every file is its own context. */
	ASSERT_GE(fd2, 0);
	EXPECT_NE(npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_ID),
		  npu_param(fd2, DRM_NPU_PARAM_CONTEXT_ID));
	close(fd2);
}

TEST_F(npu, get_param_abuse)
{
	struct drm_npu_get_param p = { .param = DRM_NPU_PARAM_COUNT };

	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_GET_PARAM, &p));
	p.param = 0xffffffffu;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_GET_PARAM, &p));
	p.param = DRM_NPU_PARAM_HW_VERSION;
	p.pad = 1;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_GET_PARAM, &p));
	EXPECT_EQ(-EFAULT, npu_ioctl(self->fd, DRM_IOCTL_NPU_GET_PARAM, NULL));
}

/* ------------------------------------------------------------------ */
/* Buffer objects                                                      */
/* ------------------------------------------------------------------ */

TEST_F(npu, bo_create_info_mmap)
{
	struct drm_npu_bo_info info = { 0 };
	struct tbo a, b;

	tbo_new(self->fd, &a, 10000, 0);
	tbo_new(self->fd, &b, 4096, DRM_NPU_BO_DEVICE_READ_ONLY);
	EXPECT_EQ(12288, a.size);
	EXPECT_EQ(0, a.va % 4096);
	EXPECT_GE(a.va, npu_param(self->fd, DRM_NPU_PARAM_VA_START));
	/* Distinct, non-overlapping NPU ranges. */
	EXPECT_TRUE(b.va >= a.va + a.size || a.va >= b.va + b.size);
	memset(a.map, 0x5a, a.size);
	EXPECT_EQ(0x5a, ((uint8_t *)a.map)[a.size - 1]);
	info.handle = b.handle;
	ASSERT_EQ(0, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_INFO, &info));
	EXPECT_EQ(b.va, info.npu_va);
	EXPECT_EQ(4096, info.size);
	EXPECT_EQ(b.offset, info.mmap_offset);
	EXPECT_EQ(DRM_NPU_BO_DEVICE_READ_ONLY, info.flags);
	tbo_free(self->fd, &a);
	tbo_free(self->fd, &b);
}

TEST_F(npu, bo_abuse)
{
	struct drm_npu_bo_create c = { .size = 0 };
	struct drm_npu_bo_info info = { .handle = 12345 };
	struct tbo a;
	int fd2 = npu_open();
	void *p;

	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_CREATE, &c));
	c.size = UINT64_MAX;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_CREATE, &c));
	c.size = 1ull << 33;	/* more than the whole NPU address space */
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_CREATE, &c));
	c.size = 4096;
	c.flags = 1u << 31;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_CREATE, &c));
	c.flags = ~0u;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_CREATE, &c));
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_INFO, &info));
	info.handle = 0;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_INFO, &info));

	/* A handle of another file means nothing here. */
	ASSERT_GE(fd2, 0);
	tbo_new(fd2, &a, 4096, 0);
	info.handle = a.handle;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_BO_INFO, &info));
	info.flags = 1;
	EXPECT_EQ(-EINVAL, npu_ioctl(fd2, DRM_IOCTL_NPU_BO_INFO, &info));
	/* mmap after the handle is closed, and at a bogus offset, fail. */
	munmap(a.map, a.size);
	EXPECT_EQ(0, gem_close(fd2, a.handle));
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, (off_t)a.offset);
	EXPECT_EQ(MAP_FAILED, p);
	p = mmap(NULL, 4096, PROT_READ, MAP_SHARED, self->fd, 0x7fff0000);
	EXPECT_EQ(MAP_FAILED, p);
	EXPECT_EQ(-EINVAL, gem_close(fd2, a.handle));
	close(fd2);
}

/* ------------------------------------------------------------------ */
/* Jobs                                                                */
/* ------------------------------------------------------------------ */

#define H 12
#define W 12
#define C 32
#define OC 48

struct conv_job {
	struct tbo cmd, in, w, q, out, report;
	struct stream s;
};

/* A 3x3 convolution H x W x C -> H x W x OC, random data, in BOs. */
static void conv_job_build(int fd, struct conv_job *j, unsigned int seed)
{
	const uint32_t in_bytes = H * W * C, w_bytes = OC * 9 * C, q_bytes = OC * 12;
	struct npu_cmd_conv c = {
		.w_addr = in_bytes, .q_addr = in_bytes + w_bytes,
		.out_addr = in_bytes + w_bytes + q_bytes,
		.in_h = H, .in_w = W, .in_c = C, .in_pix_stride = C,
		.out_h = H, .out_w = W, .out_c = OC, .out_pix_stride = OC,
		.k_h = 3, .k_w = 3, .stride_h = 1, .stride_w = 1, .dil_h = 1, .dil_w = 1,
		.pad_top = 1, .pad_left = 1, .groups = 1, .in_zp = -2, .out_zp = 7,
		.act_min = -128, .act_max = 127,
	};
	struct npu_qparam *q;

	srand(seed);
	tbo_new(fd, &j->in, in_bytes, DRM_NPU_BO_DEVICE_READ_ONLY);
	tbo_new(fd, &j->w, w_bytes, DRM_NPU_BO_DEVICE_READ_ONLY);
	tbo_new(fd, &j->q, q_bytes, DRM_NPU_BO_DEVICE_READ_ONLY);
	tbo_new(fd, &j->out, H * W * OC, 0);
	tbo_new(fd, &j->report, 4096, 0);
	for (uint32_t i = 0; i < in_bytes; i++)
		((int8_t *)j->in.map)[i] = (int8_t)rand();
	for (uint32_t i = 0; i < w_bytes; i++)
		((int8_t *)j->w.map)[i] = (int8_t)rand();
	q = j->q.map;
	for (uint32_t i = 0; i < OC; i++) {
		q[i].bias = rand() % 4001 - 2000;
		q[i].mult = 0x40000000u + (uint32_t)rand() % 0x3fffffffu;
		q[i].shift = 37 + (uint32_t)rand() % 4;
	}
	stream_init(&j->s);
	st_begin(&j->s);
	st_dma_in(&j->s, j->in.va, 0, in_bytes);
	st_dma_in(&j->s, j->w.va, c.w_addr, w_bytes);
	st_dma_in(&j->s, j->q.va, c.q_addr, q_bytes);
	st_wait(&j->s, ENG_DMA, 0);
	st_conv(&j->s, &c);
	st_wait(&j->s, ENG_MAC, 0);
	st_dma_out(&j->s, c.out_addr, j->out.va, H * W * OC);
	st_end(&j->s);
	tbo_new(fd, &j->cmd, stream_bytes(&j->s), DRM_NPU_BO_DEVICE_READ_ONLY);
	memcpy(j->cmd.map, j->s.w, stream_bytes(&j->s));
}

/* The same job on libnpusim in this process: a flat memory at the BOs' VAs. */
static void conv_job_reference(struct conv_job *j, uint8_t *out, struct npu_job_report *rep)
{
	struct npusim_config cfg;
	struct npusim_core *core;
	struct npusim_job job = { 0 };
	struct tdram d;
	const struct tbo *bos[] = { &j->cmd, &j->in, &j->w, &j->q, &j->out };
	uint64_t lo = UINT64_MAX, hi = 0;

	for (unsigned int i = 0; i < 5; i++) {
		lo = bos[i]->va < lo ? bos[i]->va : lo;
		hi = bos[i]->va + bos[i]->size > hi ? bos[i]->va + bos[i]->size : hi;
	}
	tdram_init(&d, lo, hi - lo);
	for (unsigned int i = 0; i < 5; i++)
		memcpy(tdram_ptr(&d, bos[i]->va, bos[i]->size), bos[i]->map, bos[i]->size);
	npusim_config_default(&cfg);
	core = npusim_core_create(&cfg);
	job.mem = &d.vmem;
	job.cmd_va = j->cmd.va;
	job.cmd_size = stream_bytes(&j->s);
	npusim_core_run(core, &job, rep);
	memcpy(out, tdram_ptr(&d, j->out.va, H * W * OC), H * W * OC);
	npusim_core_destroy(core);
	tdram_free(&d);
}

TEST_F(npu, conv_matches_simulator_bit_for_bit)
{
	struct drm_npu_job_report got;
	struct npu_job_report ref;
	struct conv_job j;
	uint8_t expect[H * W * OC];

	conv_job_build(self->fd, &j, 42);
	conv_job_reference(&j, expect, &ref);
	ASSERT_EQ(NPU_FAULT_NONE, ref.fault);
	ASSERT_EQ(0, run_job(self->fd, &j.cmd, stream_bytes(&j.s), &j.report, &got));
	EXPECT_EQ(NPU_FAULT_NONE, got.fault);
	EXPECT_EQ(0, memcmp(expect, j.out.map, sizeof(expect)));
	EXPECT_EQ(ref.cycles, got.cycles);
	EXPECT_EQ(ref.macs, got.macs);
	EXPECT_EQ((uint64_t)H * W * OC * 9 * C, got.macs);
	EXPECT_EQ(ref.dram_read_bytes, got.dram_read_bytes);
	EXPECT_EQ(ref.commands, got.commands);
	EXPECT_EQ(1, got.seqno);
	EXPECT_LE(got.submit_ns, got.end_ns);
	stream_free(&j.s);
}

TEST_F(npu, submit_abuse)
{
	struct tbo cmd, rep, other;
	struct drm_npu_submit s;
	struct drm_npu_submit_bo list[2] = { { 0 } };
	uint32_t bad_sync = 0xdead;
	int fd2 = npu_open();

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	ASSERT_GE(fd2, 0);
	tbo_new(fd2, &other, 4096, 0);
#define BASE (struct drm_npu_submit){ .cmd_handle = cmd.handle, .cmd_size = 64 }
	s = BASE; s.flags = 1u << 30;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.flags = ~0u;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.pad = ~0u;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.pad = 1;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_size = 0;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_size = 6;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_size = 0xfffffffc;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_offset = 4096 - 32;	/* runs past the BO */
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_offset = 2;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_handle = 999;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.cmd_handle = other.handle + 100;	/* only fd2 has it */
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.report_handle = rep.handle; s.report_offset = 64;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.report_handle = rep.handle; s.report_offset = 4096;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.bo_count = 100000; s.bo_stride = 8;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.bo_count = 1; s.bo_stride = 4;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.bo_count = 1; s.bo_stride = 8; s.bos = 16;	/* bad pointer */
	EXPECT_EQ(-EFAULT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	list[0].handle = cmd.handle;
	list[0].flags = 1u << 7;
	s = BASE; s.bo_count = 1; s.bo_stride = 8; s.bos = (uintptr_t)list;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	list[0].flags = 0;
	list[0].handle = 4242;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	/* A larger element: its extra bytes must be zero. */
	list[0].handle = cmd.handle;
	list[1].handle = 1;
	s.bo_stride = 16;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.in_syncobj_count = 1; s.in_syncobjs = (uintptr_t)&bad_sync;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.in_syncobj_count = 1000;
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	s = BASE; s.out_syncobj = 0xbeef;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
#undef BASE
	/* Nothing was queued by any of these. */
	EXPECT_EQ(0, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_FAULTS));
	close(fd2);
}

/* A stream that copies bytes from src_va into dst. */
static uint32_t copy_stream(struct tbo *cmd, uint64_t src_va, uint64_t dst_va, uint32_t bytes)
{
	struct stream s;
	uint32_t n;

	stream_init(&s);
	st_begin(&s);
	st_dma_in(&s, src_va, 0, bytes);
	st_wait(&s, ENG_DMA, 0);
	st_dma_out(&s, 0, dst_va, bytes);
	st_end(&s);
	n = stream_bytes(&s);
	memcpy(cmd->map, s.w, n);
	stream_free(&s);
	return n;
}

/*
 * Process A holds a secret at an NPU VA; process B aims a job at that VA
 * (not mapped in B's address space): the job faults and B reads nothing.
 */
TEST_F(npu, mmu_isolation_between_processes)
{
	struct drm_npu_job_report r;
	struct tbo cmd, dst, rep;
	int to_b[2], status;
	uint64_t secret_va;
	uint32_t n;
	pid_t pid;

	ASSERT_EQ(0, pipe(to_b));
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct tbo pad[3], secret;
		int fd = npu_open();

		for (int i = 0; i < 3; i++)
			tbo_new(fd, &pad[i], 65536, 0);
		tbo_new(fd, &secret, 4096, 0);
		memset(secret.map, 0x77, 4096);
		if (write(to_b[1], &secret.va, 8) != 8)
			_exit(2);
		pause();	/* keep the secret mapped until killed */
		_exit(0);
	}
	ASSERT_EQ(8, read(to_b[0], &secret_va, 8));
	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &dst, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	/* B's own BOs are elsewhere: the secret's VA is unmapped in B. */
	ASSERT_TRUE(secret_va >= dst.va + 4096 || secret_va + 4096 <= cmd.va);
	n = copy_stream(&cmd, secret_va, dst.va, 256);
	EXPECT_EQ(-EIO, run_job(self->fd, &cmd, n, &rep, &r));
	EXPECT_EQ(NPU_FAULT_MMU_UNMAPPED, r.fault);
	EXPECT_EQ(secret_va, r.fault_addr);
	for (int i = 0; i < 256; i++)
		ASSERT_EQ(0, ((uint8_t *)dst.map)[i]);
	EXPECT_EQ(1, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_FAULTS));
	/* An MMU fault marks B: its later submits fail, clearly. */
	EXPECT_EQ(DRM_NPU_CONTEXT_BANNED, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_STATE));
	EXPECT_EQ(-ECANCELED, submit(self->fd, &cmd, n, &rep, 0, 0));
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
}

/* An endless stream with the largest budget: the driver's timeout stops it. */
static uint32_t loop_stream(struct tbo *cmd)
{
	struct stream s;
	uint32_t n;

	stream_init(&s);
	st_begin(&s);
	st_jump(&s, 16);
	n = stream_bytes(&s);
	memcpy(cmd->map, s.w, n);
	stream_free(&s);
	return n;
}

/*
 * PRIME: file A exports a BO, file B imports it into its own address space
 * (its own VA); B's jobs read and write A's pages; the import outlives A's
 * handle and dma-buf fd.
 */
TEST_F(npu, prime_share_between_files)
{
	struct tbo src, cmd, dst, rep, imp, again;
	struct drm_npu_job_report r;
	uint32_t flags;
	int fd_b = npu_open(), dmabuf;

	ASSERT_GE(fd_b, 0);
	tbo_new(self->fd, &src, 8192, 0);
	memset(src.map, 0x5a, 8192);
	ASSERT_EQ(0, tbo_export(self->fd, &src, &dmabuf));
	ASSERT_EQ(0, tbo_import(fd_b, dmabuf, &imp, &flags));
	EXPECT_EQ(8192, imp.size);
	EXPECT_EQ(0, flags);
	EXPECT_EQ(0x5a, ((uint8_t *)imp.map)[8191]);
	/* The same dma-buf again in B: the same handle (DRM's per-file cache). */
	ASSERT_EQ(0, tbo_import(fd_b, dmabuf, &again, &flags));
	EXPECT_EQ(imp.handle, again.handle);
	munmap(again.map, again.size);
	/* B's device reads the shared pages ... */
	tbo_new(fd_b, &cmd, 4096, 0);
	tbo_new(fd_b, &dst, 4096, 0);
	tbo_new(fd_b, &rep, 4096, 0);
	EXPECT_EQ(0, run_job(fd_b, &cmd, copy_stream(&cmd, imp.va + 4096, dst.va, 512), &rep, &r));
	for (int i = 0; i < 512; i++)
		ASSERT_EQ(0x5a, ((uint8_t *)dst.map)[i]);
	/* ... and writes them: A sees it. */
	memset(dst.map, 0xc3, 256);
	EXPECT_EQ(0, run_job(fd_b, &cmd, copy_stream(&cmd, dst.va, imp.va, 256), &rep, &r));
	EXPECT_EQ(0xc3, ((uint8_t *)src.map)[255]);
	EXPECT_EQ(0x5a, ((uint8_t *)src.map)[256]);
	/* A lets go of everything; B's import keeps the pages. */
	tbo_free(self->fd, &src);
	close(dmabuf);
	EXPECT_EQ(0, run_job(fd_b, &cmd, copy_stream(&cmd, imp.va + 128, dst.va + 1024, 128),
			     &rep, &r));
	EXPECT_EQ(0xc3, ((uint8_t *)dst.map)[1024]);
	tbo_free(fd_b, &imp);
	close(fd_b);
}

/* Read-only for the device stays read-only in the importer's space. */
TEST_F(npu, prime_import_keeps_device_read_only)
{
	struct tbo ro, cmd, rep, imp;
	struct drm_npu_job_report r;
	uint32_t flags;
	int fd_b = npu_open(), dmabuf;

	ASSERT_GE(fd_b, 0);
	tbo_new(self->fd, &ro, 4096, DRM_NPU_BO_DEVICE_READ_ONLY);
	ASSERT_EQ(0, tbo_export(self->fd, &ro, &dmabuf));
	ASSERT_EQ(0, tbo_import(fd_b, dmabuf, &imp, &flags));
	EXPECT_EQ(DRM_NPU_BO_DEVICE_READ_ONLY, flags);
	tbo_new(fd_b, &cmd, 4096, 0);
	tbo_new(fd_b, &rep, 4096, 0);
	EXPECT_EQ(-EIO, run_job(fd_b, &cmd, copy_stream(&cmd, cmd.va + 2048, imp.va, 64), &rep,
				&r));
	EXPECT_EQ(NPU_FAULT_MMU_PERMISSION, r.fault);
	EXPECT_EQ(0, ((uint8_t *)ro.map)[0]);
	close(dmabuf);
	close(fd_b);
}

TEST_F(npu, prime_abuse)
{
	struct drm_prime_handle p = { 0 };
	int pipefd[2];

	ASSERT_EQ(0, pipe(pipefd));
	p.fd = pipefd[0];	/* not a dma-buf */
	EXPECT_EQ(-EINVAL, npu_ioctl(self->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p));
	p.fd = 1000;		/* not open */
	EXPECT_EQ(-EBADF, npu_ioctl(self->fd, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p));
	p.handle = 12345;	/* no such handle */
	p.flags = DRM_CLOEXEC;
	EXPECT_EQ(-ENOENT, npu_ioctl(self->fd, DRM_IOCTL_PRIME_HANDLE_TO_FD, &p));
	close(pipefd[0]);
	close(pipefd[1]);
}

/*
 * A job's completion as a sync_file (exported from its out-syncobj):
 * pollable, and usable as another job's dependency through a syncobj.
 */
TEST_F(npu, sync_file_from_syncobj)
{
	struct drm_syncobj_handle h = { .flags = DRM_SYNCOBJ_HANDLE_TO_FD_FLAGS_EXPORT_SYNC_FILE };
	struct tbo cmd, cmd2, rep, rep2;
	struct drm_npu_job_report r;
	struct pollfd pfd;
	uint32_t out, in;
	struct drm_npu_submit s = { 0 };

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &cmd2, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	tbo_new(self->fd, &rep2, 4096, 0);
	ASSERT_EQ(0, syncobj_new(self->fd, &out));
	/* A job that runs for a while (budget-stopped loop), then a copy after it. */
	ASSERT_EQ(0, submit(self->fd, &cmd, loop_stream(&cmd), &rep, out, 2000000));
	h.handle = out;
	ASSERT_EQ(0, npu_ioctl(self->fd, DRM_IOCTL_SYNCOBJ_HANDLE_TO_FD, &h));
	pfd.fd = h.fd;
	pfd.events = POLLIN;
	ASSERT_EQ(1, poll(&pfd, 1, 30000));
	EXPECT_TRUE(pfd.revents & POLLIN);
	memcpy(&r, rep.map, sizeof(r));
	EXPECT_EQ(NPU_FAULT_WATCHDOG, r.fault);
	/* The sync_file back into a syncobj, as the next job's in-fence. */
	ASSERT_EQ(0, syncobj_new(self->fd, &in));
	h.handle = in;
	h.flags = DRM_SYNCOBJ_FD_TO_HANDLE_FLAGS_IMPORT_SYNC_FILE;
	ASSERT_EQ(0, npu_ioctl(self->fd, DRM_IOCTL_SYNCOBJ_FD_TO_HANDLE, &h));
	close(h.fd);
	s.cmd_handle = cmd2.handle;
	s.cmd_size = copy_stream(&cmd2, cmd2.va + 1024, cmd2.va + 2048, 64);
	s.report_handle = rep2.handle;
	s.in_syncobjs = (uintptr_t)&in;
	s.in_syncobj_count = 1;
	s.out_syncobj = out;
	ASSERT_EQ(0, npu_ioctl(self->fd, DRM_IOCTL_NPU_SUBMIT, &s));
	ASSERT_EQ(0, syncobj_wait(self->fd, out, 30000));
	memcpy(&r, rep2.map, sizeof(r));
	EXPECT_EQ(0, r.status);
	EXPECT_EQ(NPU_FAULT_NONE, r.fault);
	syncobj_destroy(self->fd, in);
	syncobj_destroy(self->fd, out);
}

TEST_F(npu, hung_job_times_out_and_bans_its_file)
{
	struct tbo cmd, rep, cmd2, rep2;
	struct drm_npu_job_report r;
	uint32_t sync;
	int fd2 = npu_open();

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	ASSERT_EQ(0, syncobj_new(self->fd, &sync));
	ASSERT_EQ(0, submit(self->fd, &cmd, loop_stream(&cmd), &rep, sync, 0xffffffffu));
	ASSERT_EQ(0, syncobj_wait(self->fd, sync, 60000));
	memcpy(&r, rep.map, sizeof(r));
	EXPECT_EQ(-ETIMEDOUT, r.status);
	EXPECT_EQ(NPU_FAULT_ABORTED, r.fault);
	EXPECT_EQ(DRM_NPU_CONTEXT_BANNED, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_STATE));
	EXPECT_EQ(-ECANCELED, submit(self->fd, &cmd, 64, &rep, 0, 0));
	/* Another file is unaffected. */
	ASSERT_GE(fd2, 0);
	tbo_new(fd2, &cmd2, 4096, 0);
	tbo_new(fd2, &rep2, 4096, 0);
	EXPECT_EQ(0, run_job(fd2, &cmd2, copy_stream(&cmd2, cmd2.va, cmd2.va + 2048, 64), &rep2,
			     &r));
	close(fd2);
}

TEST(close_with_jobs_in_flight)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep;
	int fd = npu_open();

	ASSERT_GE(fd, 0);
	tbo_new(fd, &cmd, 4096, 0);
	tbo_new(fd, &rep, 4096, 0);
	for (int i = 0; i < 8; i++)	/* each stopped by its device budget */
		ASSERT_EQ(0, submit(fd, &cmd, loop_stream(&cmd), &rep, 0, 20000000));
	munmap(cmd.map, cmd.size);
	munmap(rep.map, rep.size);
	close(fd);
	/* The device still works for a new file. */
	fd = npu_open();
	ASSERT_GE(fd, 0);
	tbo_new(fd, &cmd, 4096, 0);
	tbo_new(fd, &rep, 4096, 0);
	EXPECT_EQ(0, run_job(fd, &cmd, copy_stream(&cmd, cmd.va, cmd.va + 2048, 64), &rep, &r));
	close(fd);
}

/* A bad stream is the program's error, not an attack: no ban. */
TEST_F(npu, stream_fault_does_not_ban)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep;
	uint32_t n;

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	((uint32_t *)cmd.map)[0] = 0xff;	/* not an opcode */
	EXPECT_EQ(-EIO, run_job(self->fd, &cmd, 64, &rep, &r));
	EXPECT_EQ(NPU_FAULT_BAD_OPCODE, r.fault);
	EXPECT_EQ(DRM_NPU_CONTEXT_OK, npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_STATE));
	n = copy_stream(&cmd, rep.va + 1024, rep.va + 2048, 64);
	EXPECT_EQ(0, run_job(self->fd, &cmd, n, &rep, &r));
}

/* Reads "key:\tvalue" from /proc/self/fdinfo/<fd>. */
static uint64_t fdinfo(int fd, const char *key)
{
	char path[64], line[256];
	uint64_t v = UINT64_MAX;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", fd);
	f = fopen(path, "r");
	if (!f)
		return v;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ':')
			v = strtoull(line + strlen(key) + 1, NULL, 0);
	fclose(f);
	return v;
}

TEST_F(npu, fdinfo_adds_up)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep, data;
	uint64_t cycles = 0;
	uint32_t n;

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	tbo_new(self->fd, &data, 8192, 0);
	n = copy_stream(&cmd, data.va, data.va + 4096, 1024);
	for (int i = 0; i < 5; i++) {
		ASSERT_EQ(0, run_job(self->fd, &cmd, n, &rep, &r));
		cycles += r.cycles;
	}
	EXPECT_EQ(cycles, fdinfo(self->fd, "drm-cycles-npu"));
	EXPECT_EQ(5, fdinfo(self->fd, "npu-jobs"));
	EXPECT_EQ(16, fdinfo(self->fd, "drm-total-memory"));	/* KiB */
	EXPECT_GT(fdinfo(self->fd, "drm-engine-npu"), 0);
	EXPECT_EQ(npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_ID),
		  fdinfo(self->fd, "drm-client-id"));
}

/*
 * This device's debugfs directory: /sys/kernel/debug/npu/<device name>, the
 * name being that of the node's parent device (a VM may have two NPUs).
 */
static int debugfs_path(char *out, size_t len, const char *file)
{
	char link[300], target[300];
	struct stat st;
	const char *name;
	ssize_t n;
	int fd;

	if (!npu_node[0]) {	/* a test without the fixture: find the node first */
		fd = npu_open();
		if (fd < 0)
			return -1;
		close(fd);
	}
	if (stat(npu_node, &st))
		return -1;
	snprintf(link, sizeof(link), "/sys/dev/char/%u:%u/device", major(st.st_rdev),
		 minor(st.st_rdev));
	n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	name = strrchr(target, '/') ? strrchr(target, '/') + 1 : target;
	if (snprintf(out, len, "/sys/kernel/debug/npu/%s/%s", name, file) >= (int)len)
		return -1;
	return access(out, F_OK);
}

static long objects(const char *key)
{
	char path[300], line[128];
	long v = -1;
	FILE *f;

	if (debugfs_path(path, sizeof(path), "objects"))
		return -1;
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)) && line[strlen(key)] == ' ')
			v = strtol(line + strlen(key) + 1, NULL, 0);
	fclose(f);
	return v;
}

static long mem_available_kib(void)
{
	char line[128];
	long v = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, "MemAvailable:", 13))
			v = strtol(line + 13, NULL, 10);
	if (f)
		fclose(f);
	return v;
}

/* The runtime-PM status of the device behind fd ("active", "suspended"). */
static void runtime_status(int fd, char *out, size_t len)
{
	char path[128];
	struct stat st;
	FILE *f;

	out[0] = 0;
	if (fstat(fd, &st))
		return;
	snprintf(path, sizeof(path), "/sys/dev/char/%u:%u/device/power/runtime_status",
		 major(st.st_rdev), minor(st.st_rdev));
	f = fopen(path, "r");
	if (f) {
		if (!fgets(out, (int)len, f))
			out[0] = 0;
		fclose(f);
	}
	out[strcspn(out, "\n")] = 0;
}

TEST_F(npu, runtime_pm_suspends_when_idle)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep;
	char status[32];
	long before;
	uint32_t n;

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	n = copy_stream(&cmd, rep.va + 1024, rep.va + 2048, 64);
	ASSERT_EQ(0, run_job(self->fd, &cmd, n, &rep, &r));
	usleep(400 * 1000);	/* autosuspend after 50 ms idle */
	runtime_status(self->fd, status, sizeof(status));
	EXPECT_STREQ("suspended", status);
	before = objects("runtime_suspends");
	EXPECT_GT(before, 0);
	/* A job resumes it and runs normally; idle again, it suspends again. */
	ASSERT_EQ(0, run_job(self->fd, &cmd, n, &rep, &r));
	EXPECT_EQ(0, memcmp((uint8_t *)rep.map + 1024, (uint8_t *)rep.map + 2048, 64));
	usleep(400 * 1000);
	EXPECT_GT(objects("runtime_suspends"), before);
}

/*
 * Waits (up to 10 s) until the driver holds no file, BO or job: earlier
 * tests' closed files are released asynchronously (after their jobs).
 */
static int driver_idle(void)
{
	for (int i = 0; i < 100; i++) {
		if (!objects("files") && !objects("bos") && !objects("jobs"))
			return 1;
		usleep(100 * 1000);
	}
	return 0;
}

TEST(no_leaks_after_churn)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep;
	long mem = 0;
	int fd;

	ASSERT_TRUE(driver_idle());
	fd = npu_open();
	ASSERT_GE(fd, 0);
	tbo_new(fd, &cmd, 4096, 0);
	tbo_new(fd, &rep, 4096, 0);
	for (int i = 0; i < 400; i++) {
		struct tbo buf;

		/* The first 100 warm the kernel's caches up; then measure. */
		if (i == 100)
			mem = mem_available_kib();
		tbo_new(fd, &buf, 256 << 10, 0);
		ASSERT_EQ(0, run_job(fd, &cmd, copy_stream(&cmd, buf.va, buf.va + 32768, 4096),
				     &rep, &r));
		tbo_free(fd, &buf);
	}
	tbo_free(fd, &cmd);
	tbo_free(fd, &rep);
	close(fd);
	/* Every file, BO and job is released (asynchronously: waited for). */
	EXPECT_TRUE(driver_idle());
	/*
	 * 300 x 256 KiB (75 MiB) of BO pages went through. MemAvailable moves
	 * by up to about 20 MiB on its own here (per-CPU page lists, caches,
	 * the other tests), so it only guards against losing the pages of
	 * every BO; the counters above are the exact check.
	 */
	EXPECT_LT(mem - mem_available_kib(), 40 << 10);
}

/* The whole of a debugfs file of this device. */
static void debugfs_read(const char *file, char *out, size_t len)
{
	char path[300];
	size_t n = 0;
	FILE *f;

	out[0] = 0;
	if (debugfs_path(path, sizeof(path), file))
		return;
	f = fopen(path, "r");
	if (!f)
		return;
	n = fread(out, 1, len - 1, f);
	out[n] = 0;
	fclose(f);
}

TEST_F(npu, debugfs_shows_contexts_and_faults)
{
	struct drm_npu_job_report r;
	struct tbo cmd, rep;
	char buf[8192], want[128];
	uint64_t id = npu_param(self->fd, DRM_NPU_PARAM_CONTEXT_ID);

	tbo_new(self->fd, &cmd, 4096, 0);
	tbo_new(self->fd, &rep, 4096, 0);
	((uint32_t *)cmd.map)[0] = 0xff;	/* not an opcode */
	ASSERT_EQ(-EIO, run_job(self->fd, &cmd, 64, &rep, &r));
	debugfs_read("contexts", buf, sizeof(buf));
	snprintf(want, sizeof(want), "context %llu ok submitted 1 done 1 faults 1 ",
		 (unsigned long long)id);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("contexts:\n%s", buf);
	debugfs_read("faults", buf, sizeof(buf));
	snprintf(want, sizeof(want), "context %llu job 1 fault %u at cmd offset 0",
		 (unsigned long long)id, NPU_FAULT_BAD_OPCODE);
	EXPECT_NE(NULL, strstr(buf, want)) TH_LOG("faults:\n%s", buf);
	debugfs_read("state", buf, sizeof(buf));
	EXPECT_NE(NULL, strstr(buf, "ring_tail "));
}

struct stress_totals {
	long submitted, ok, lost_to_reset, wrong;
};

struct stress_thread {
	int fd;
	unsigned int seed;
	double deadline;
	struct stress_totals t;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Copies fresh random 4 KiB blocks until the deadline, checking each. */
static void *stress_worker(void *arg)
{
	struct stress_thread *st = arg;
	struct tbo cmd, rep, src, dst;
	uint32_t n, sync;

	tbo_new(st->fd, &cmd, 4096, 0);
	tbo_new(st->fd, &rep, 4096, 0);
	tbo_new(st->fd, &src, 4096, 0);
	tbo_new(st->fd, &dst, 4096, 0);
	n = copy_stream(&cmd, src.va, dst.va, 4096);
	if (syncobj_new(st->fd, &sync))
		return NULL;
	while (now_s() < st->deadline) {
		struct drm_npu_submit s = {
			.cmd_handle = cmd.handle, .cmd_size = n, .report_handle = rep.handle,
			.out_syncobj = sync,
		};
		struct drm_npu_job_report r;

		for (int i = 0; i < 4096; i++)
			((uint8_t *)src.map)[i] = (uint8_t)rand_r(&st->seed);
		memset(dst.map, 0, 4096);
		if (npu_ioctl(st->fd, DRM_IOCTL_NPU_SUBMIT, &s)) {
			st->t.wrong++;
			break;
		}
		st->t.submitted++;
		if (syncobj_wait(st->fd, sync, 20000)) {	/* lost: never completed */
			st->t.wrong++;
			break;
		}
		memcpy(&r, rep.map, sizeof(r));
		if (r.seqno != s.seqno)
			st->t.wrong++;	/* doubled or out of order */
		else if (r.status == 0 && !memcmp(src.map, dst.map, 4096))
			st->t.ok++;
		else if (r.status == -EIO && r.fault == NPU_FAULT_ABORTED)
			st->t.lost_to_reset++;
		else
			st->t.wrong++;
	}
	return NULL;
}

/*
 * 3 processes x 2 threads submit for 4 s while a 4th forces device resets
 * through debugfs: every job completes exactly once, correct or reported
 * as lost to a reset.
 */
TEST(stress_with_fault_injection)
{
	struct stress_totals sum = { 0 };
	char reset[300];
	int pipes[2], resets = 0;
	double deadline = now_s() + 4;
	pid_t pids[4];

	ASSERT_EQ(0, debugfs_path(reset, sizeof(reset), "reset"));
	ASSERT_EQ(0, pipe(pipes));
	for (int p = 0; p < 3; p++) {
		pids[p] = fork();
		ASSERT_GE(pids[p], 0);
		if (pids[p] == 0) {
			struct stress_thread th[2];
			pthread_t tid[2];
			int fd = npu_open();

			for (int i = 0; i < 2; i++) {
				th[i] = (struct stress_thread){ fd, 1000u * p + i, deadline, { 0 } };
				pthread_create(&tid[i], NULL, stress_worker, &th[i]);
			}
			for (int i = 0; i < 2; i++) {
				pthread_join(tid[i], NULL);
				if (write(pipes[1], &th[i].t, sizeof(th[i].t)) != sizeof(th[i].t))
					_exit(1);
			}
			_exit(0);
		}
	}
	while (now_s() < deadline - 0.5) {
		int fd;

		usleep(300 * 1000);
		fd = open(reset, O_WRONLY);
		if (fd >= 0 && write(fd, "1", 1) == 1)
			resets++;
		if (fd >= 0)
			close(fd);
	}
	for (int p = 0; p < 3; p++) {
		int status;

		waitpid(pids[p], &status, 0);
		EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	for (int i = 0; i < 6; i++) {
		struct stress_totals t;

		ASSERT_EQ(sizeof(t), read(pipes[0], &t, sizeof(t)));
		sum.submitted += t.submitted;
		sum.ok += t.ok;
		sum.lost_to_reset += t.lost_to_reset;
		sum.wrong += t.wrong;
	}
	TH_LOG("%ld jobs: %ld correct, %ld lost to %d forced resets, %ld wrong",
	       sum.submitted, sum.ok, sum.lost_to_reset, resets, sum.wrong);
	EXPECT_GT(resets, 5);
	EXPECT_GT(sum.ok, 100);
	EXPECT_EQ(0, sum.wrong);
	EXPECT_EQ(sum.submitted, sum.ok + sum.lost_to_reset);
}

TEST_HARNESS_MAIN
