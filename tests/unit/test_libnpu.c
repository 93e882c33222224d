// SPDX-License-Identifier: MIT
/* libnpu: runs vs npub_run_sim, bindings, async, threads, misuse. */
#include <check.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <math.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "npu.h"
#include "npub_exec.h"
#include "pipeline.h"

#define FMNIST_ONNX "models/fmnist/fmnist.onnx"
#define QMLP_ONNX "models/int8io/qmlp.onnx"
#define SOFTMAX_ONNX "/usr/include/onnx/backend/test/data/node/test_softmax_axis_1/model.onnx"

/*
 * The device under test: the simulator here; the VM runs this suite again
 * with NPU_TEST_DEVICE=drm (npu.ko and the QEMU device).
 */
static const char *test_device(void)
{
	const char *d = getenv("NPU_TEST_DEVICE");

	return d && *d ? d : "sim";
}

static uint8_t *model_bytes;
static size_t model_len;
static struct npub_model *ref_model;

/* Compiles an ONNX model with random calibration (build-independent). */
static void compile_model(const char *path, uint8_t **bytes, size_t *len)
{
	struct npuc_compile_opts o;
	struct npuc_compiled c;
	struct npuc_diag d = { { 0 } };

	npuc_compile_opts_default(&o);
	o.model_path = path;
	o.calib_random = 1;
	o.calib_limit = 4;
	ck_assert_msg(npuc_compile(&o, NULL, &c, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(npub_write_mem(c.model, bytes, len, &d), 0);
	npuc_compiled_free(&c);
}

static void setup_model(void)
{
	struct npuc_diag d = { { 0 } };

	if (model_bytes)
		return;
	compile_model(FMNIST_ONNX, &model_bytes, &model_len);
	ck_assert_int_eq(npub_read_mem(model_bytes, model_len, &ref_model, &d), 0);
}

static void fill_input(float *x, int seed)
{
	for (int k = 0; k < 784; k++)
		x[k] = (float)((k * 37 + seed * 101) % 256) / 255.0f;
}

/* Reference outputs and stats from npub_run_sim. */
static void ref_run(const float *x, float *y, struct npub_run_stats *st)
{
	const int64_t dims[4] = { 1, 1, 28, 28 };
	struct npuc_diag d = { { 0 } };
	struct npuc_value in, out;

	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 4, dims, x, &d), 0);
	ck_assert_msg(npub_run_sim(ref_model, NULL, &in, &out, st, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 10);
	memcpy(y, out.data, 40);
	npuc_value_free(&out);
}

struct rig {
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *in, *out;
	float *x, *y;
};

static void rig_open(struct rig *r, int fmt_in, int fmt_out)
{
	setup_model();
	memset(r, 0, sizeof(*r));
	ck_assert_msg(npu_device_open(test_device(), &r->dev) == NPU_OK, "%s", npu_last_error());
	ck_assert_msg(npu_model_load_mem(r->dev, model_bytes, model_len, &r->model) == NPU_OK,
		      "%s", npu_last_error());
	ck_assert_int_eq(npu_context_create(r->model, &r->ctx), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(r->dev, 4096, 0, &r->in), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(r->dev, 4096, 0, &r->out), NPU_OK);
	ck_assert_int_eq(npu_bo_map(r->in, (void **)&r->x), NPU_OK);
	ck_assert_int_eq(npu_bo_map(r->out, (void **)&r->y), NPU_OK);
	ck_assert_msg(npu_bind_input(r->ctx, 0, r->in, 0, fmt_in) == NPU_OK, "%s",
		      npu_last_error());
	ck_assert_msg(npu_bind_output(r->ctx, 0, r->out, 0, fmt_out) == NPU_OK, "%s",
		      npu_last_error());
}

static void rig_close(struct rig *r)
{
	ck_assert_int_eq(npu_bo_free(r->in), NPU_OK);
	ck_assert_int_eq(npu_bo_free(r->out), NPU_OK);
	ck_assert_int_eq(npu_context_free(r->ctx), NPU_OK);
	ck_assert_int_eq(npu_model_free(r->model), NPU_OK);
	ck_assert_int_eq(npu_device_close(r->dev), NPU_OK);
}

START_TEST(test_float_bitexact)
{
	struct npub_run_stats st;
	struct npu_profile p;
	struct rig r;
	float want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	for (int seed = 0; seed < 3; seed++) {
		fill_input(r.x, seed);
		ref_run(r.x, want, &st);
		ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
		ck_assert_int_eq(memcmp(r.y, want, 40), 0);
		ck_assert_uint_eq(p.device_cycles, st.cycles);
		ck_assert_uint_eq(p.macs, st.macs);
		ck_assert_uint_eq(p.device_jobs, st.npu_jobs);
		ck_assert_uint_eq(p.host_steps, st.host_steps);
		ck_assert_uint_gt(p.device_jobs, 0);
		ck_assert_uint_gt(p.wall_ns, 0);
	}
	rig_close(&r);
}
END_TEST

START_TEST(test_raw_int8)
{
	struct npu_tensor_info ii, oi;
	struct rig f, r;
	int8_t q[784];

	rig_open(&f, NPU_FMT_FLOAT32, NPU_FMT_INT8);
	rig_open(&r, NPU_FMT_INT8, NPU_FMT_FLOAT32);
	ck_assert_int_eq(npu_model_tensor_info(f.model, NPU_INPUT, 0, &ii), NPU_OK);
	ck_assert_int_eq(npu_model_tensor_info(f.model, NPU_OUTPUT, 0, &oi), NPU_OK);
	ck_assert(ii.int8_ok && oi.int8_ok);
	ck_assert_int_eq(ii.count, 784);
	ck_assert_int_eq(oi.count, 10);
	fill_input(f.x, 1);
	ck_assert_int_eq(npu_run(f.ctx, NULL), NPU_OK);
	/* raw int8 output dequantised by hand equals the float output */
	for (int k = 0; k < 784; k++) {
		float v = rintf(f.x[k] / ii.scale) + (float)ii.zero_point;

		q[k] = (int8_t)(v < -128 ? -128 : v > 127 ? 127 : v);
	}
	memcpy(r.x, q, 784);
	ck_assert_msg(npu_run(r.ctx, NULL) == NPU_OK, "%s", npu_last_error());
	for (int k = 0; k < 10; k++) {
		float y = (float)(((int8_t *)f.y)[k] - oi.zero_point) * oi.scale;

		ck_assert_msg(y == r.y[k], "output %d: %g vs %g", k, y, r.y[k]);
	}
	rig_close(&f);
	rig_close(&r);
}
END_TEST

/* NaN / Inf in a float input: counted by default, refused with the flag. */
START_TEST(test_nonfinite_inputs)
{
	struct npub_run_stats st;
	struct npu_profile p;
	struct rig r;
	float want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 2);
	ck_assert_int_eq(npu_run(r.ctx, &p), NPU_OK);
	ck_assert_uint_eq(p.nonfinite_inputs, 0);
	r.x[3] = NAN;
	r.x[100] = INFINITY;
	r.x[783] = -INFINITY;
	ref_run(r.x, want, &st);	/* as the simulator quantises them: NaN 0, Inf saturated */
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_uint_eq(p.nonfinite_inputs, 3);
	ck_assert_int_eq(memcmp(r.y, want, sizeof(want)), 0);

	ck_assert_int_eq(npu_context_set_flags(r.ctx, 1u << 7), NPU_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(npu_last_error(), "unknown context flags 0x80"));
	ck_assert_int_eq(npu_context_set_flags(r.ctx, NPU_CONTEXT_REFUSE_NONFINITE), NPU_OK);
	memset(r.y, 0x5a, 40);
	ck_assert_int_eq(npu_run(r.ctx, &p), NPU_ERR_INVAL);
	ck_assert_msg(strstr(npu_last_error(), "input 0") &&
		      strstr(npu_last_error(), "3 of its 784 float values are NaN or infinite"),
		      "%s", npu_last_error());
	ck_assert_uint_eq(((uint8_t *)r.y)[0], 0x5a);	/* nothing ran */
	fill_input(r.x, 2);
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_uint_eq(p.nonfinite_inputs, 0);
	ck_assert_int_eq(npu_context_set_flags(NULL, 0), NPU_ERR_INVAL);
	rig_close(&r);
}
END_TEST

START_TEST(test_async_poll)
{
	struct npub_run_stats st;
	struct npu_profile p;
	struct pollfd pfd;
	struct rig r;
	float want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 2);
	ref_run(r.x, want, &st);
	ck_assert_int_eq(npu_wait(r.ctx, 0, NULL), NPU_ERR_STATE);
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
	pfd.fd = npu_context_fd(r.ctx);
	pfd.events = POLLIN;
	ck_assert_int_ge(pfd.fd, 0);
	ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
	ck_assert_int_eq(npu_poll(r.ctx), 1);
	ck_assert_int_eq(npu_wait(r.ctx, -1, &p), NPU_OK);
	ck_assert_int_eq(memcmp(r.y, want, 40), 0);
	ck_assert_uint_eq(p.device_cycles, st.cycles);
	/* a second run while one is in progress is refused, never mixed */
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
	ck_assert_int_eq(npu_run(r.ctx, NULL), NPU_ERR_BUSY);
	ck_assert_int_eq(npu_wait(r.ctx, -1, NULL), NPU_OK);
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);	/* freed while running */
	rig_close(&r);
}
END_TEST

/*
 * A model compiled from ONNX (also parsed for npub_run_sim), loaded on the
 * device under test with a context and two mapped buffers of bo_bytes.
 */
struct mrig {
	uint8_t *bytes;
	size_t len;
	struct npub_model *m;
	npu_device *dev;
	npu_model *model;
	npu_context *ctx;
	npu_bo *bi, *bo;
	void *x, *y;
};

static void mrig_open(struct mrig *r, const char *onnx, size_t bo_bytes)
{
	struct npuc_diag d = { { 0 } };

	memset(r, 0, sizeof(*r));
	compile_model(onnx, &r->bytes, &r->len);
	ck_assert_int_eq(npub_read_mem(r->bytes, r->len, &r->m, &d), 0);
	ck_assert_int_eq(npu_device_open(test_device(), &r->dev), NPU_OK);
	ck_assert_msg(npu_model_load_mem(r->dev, r->bytes, r->len, &r->model) == NPU_OK, "%s",
		      npu_last_error());
	ck_assert_int_eq(npu_context_create(r->model, &r->ctx), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(r->dev, bo_bytes, 0, &r->bi), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(r->dev, bo_bytes, 0, &r->bo), NPU_OK);
	ck_assert_int_eq(npu_bo_map(r->bi, &r->x), NPU_OK);
	ck_assert_int_eq(npu_bo_map(r->bo, &r->y), NPU_OK);
}

static void mrig_close(struct mrig *r)
{
	npub_model_free(r->m);
	free(r->bytes);
	ck_assert_int_eq(npu_bo_free(r->bi), NPU_OK);
	ck_assert_int_eq(npu_bo_free(r->bo), NPU_OK);
	ck_assert_int_eq(npu_context_free(r->ctx), NPU_OK);
	ck_assert_int_eq(npu_model_free(r->model), NPU_OK);
	ck_assert_int_eq(npu_device_close(r->dev), NPU_OK);
}

/* A model whose only node runs on the CPU (Softmax has no NPU mapping). */
START_TEST(test_cpu_fallback)
{
	const int64_t dims[3] = { 3, 4, 5 };
	struct npuc_diag d = { { 0 } };
	struct npuc_value in, out;
	struct npu_tensor_info ti;
	struct npu_profile p;
	struct mrig r;
	float *x, *y;

	mrig_open(&r, SOFTMAX_ONNX, 240);
	x = r.x;
	y = r.y;
	ck_assert_int_eq(npu_model_tensor_info(r.model, NPU_INPUT, 0, &ti), NPU_OK);
	ck_assert_int_eq(ti.count, 60);
	ck_assert_int_eq(ti.rank, 3);
	for (int k = 0; k < 60; k++)
		x[k] = (float)(k % 7) - 3.0f;
	if (!ti.int8_ok)
		ck_assert_int_eq(npu_bind_input(r.ctx, 0, r.bi, 0, NPU_FMT_INT8),
				 NPU_ERR_UNSUPPORTED);
	ck_assert_int_eq(npu_bind_input(r.ctx, 0, r.bi, 0, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_int_eq(npu_bind_output(r.ctx, 0, r.bo, 0, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_uint_ge(p.host_steps, 1);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_F32, 3, dims, x, &d), 0);
	ck_assert_msg(npub_run_sim(r.m, NULL, &in, &out, NULL, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 60);
	ck_assert_int_eq(memcmp(out.data, y, 240), 0);
	for (int k = 0; k < 4; k++)	/* a softmax along axis 1 sums to 1 */
		ck_assert(fabsf(y[k] + y[5 + k] + y[10 + k] + y[15 + k] - 1.0f) < 1e-4f);
	npuc_value_free(&out);
	mrig_close(&r);
}
END_TEST

struct thr {
	npu_model *model;
	npu_device *dev;
	float out[10];
	int rc;
};

static void *thr_main(void *arg)
{
	struct thr *t = arg;
	npu_context *ctx;
	npu_bo *in, *out;
	float *x, *y;

	t->rc = npu_context_create(t->model, &ctx);
	t->rc |= npu_bo_alloc(t->dev, 784 * 4, 0, &in);
	t->rc |= npu_bo_alloc(t->dev, 40, 0, &out);
	if (t->rc)
		return NULL;
	npu_bo_map(in, (void **)&x);
	npu_bo_map(out, (void **)&y);
	fill_input(x, 3);
	t->rc |= npu_bind_input(ctx, 0, in, 0, NPU_FMT_FLOAT32);
	t->rc |= npu_bind_output(ctx, 0, out, 0, NPU_FMT_FLOAT32);
	for (int i = 0; i < 3 && !t->rc; i++)
		t->rc = npu_run(ctx, NULL);
	memcpy(t->out, y, 40);
	npu_bo_free(in);
	npu_bo_free(out);
	npu_context_free(ctx);
	return NULL;
}

START_TEST(test_threads)
{
	struct npub_run_stats st;
	struct thr t[4];
	pthread_t th[4];
	struct rig r;
	float x[784], want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(x, 3);
	ref_run(x, want, &st);
	for (int i = 0; i < 4; i++) {
		t[i].model = r.model;
		t[i].dev = r.dev;
		ck_assert_int_eq(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		ck_assert_int_eq(t[i].rc, 0);
		ck_assert_int_eq(memcmp(t[i].out, want, 40), 0);
	}
	rig_close(&r);
}
END_TEST

START_TEST(test_misuse)
{
	npu_device *dev;
	npu_model *model;
	npu_context *ctx, *ctx2;
	npu_bo *bo, *small;
	uint8_t *bad;

	setup_model();
	ck_assert_int_eq(npu_device_open(NULL, NULL), NPU_ERR_INVAL);
	/* Without the kernel driver, "drm" says what is missing. */
	if (npu_device_open("drm", &dev) == NPU_OK) {
		ck_assert_int_eq(npu_device_close(dev), NPU_OK);
	} else {
		ck_assert_int_eq(npu_device_open("drm", &dev), NPU_ERR_NODEV);
		ck_assert_ptr_nonnull(strstr(npu_last_error(), "is npu.ko loaded?"));
	}
	ck_assert_int_eq(npu_device_open("nope", &dev), NPU_ERR_NODEV);
	ck_assert_int_eq(npu_device_open(test_device(), &dev), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(dev, 0, 0, &bo), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_alloc(NULL, 16, 0, &bo), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_alloc(dev, SIZE_MAX, 0, &bo), NPU_ERR_NOMEM);
	ck_assert_int_eq(npu_bo_alloc(dev, (size_t)1 << 32, 0, &bo), NPU_ERR_NOMEM);
	ck_assert_ptr_null(bo);
	ck_assert_int_eq(npu_bo_alloc(dev, 16, 0, &small), NPU_OK);
	ck_assert_int_eq(npu_bo_alloc(dev, 4096, 0, &bo), NPU_OK);
	ck_assert_int_eq(npu_model_load_mem(dev, NULL, 10, &model), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_model_load_file(dev, "/nonexistent.npub", &model), NPU_ERR_IO);
	ck_assert_ptr_nonnull(strstr(npu_last_error(), "No such file"));	/* says why */
	/* corrupt bytes: every 97th byte flipped in turn, header and sections */
	bad = malloc(model_len);
	for (size_t off = 0; off < model_len; off += 997) {
		memcpy(bad, model_bytes, model_len);
		bad[off] ^= 0x5a;
		ck_assert_int_eq(npu_model_load_mem(dev, bad, model_len, &model), NPU_ERR_FORMAT);
		ck_assert(npu_last_error()[0]);
	}
	ck_assert_int_eq(npu_model_load_mem(dev, model_bytes, model_len / 2, &model),
			 NPU_ERR_FORMAT);
	free(bad);
	ck_assert_int_eq(npu_model_load_mem(dev, model_bytes, model_len, &model), NPU_OK);
	ck_assert_int_eq(npu_context_create(model, &ctx), NPU_OK);
	ck_assert_int_eq(npu_run(ctx, NULL), NPU_ERR_STATE);
	ck_assert_int_eq(npu_bind_input(ctx, 0, small, 0, NPU_FMT_FLOAT32), NPU_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(npu_last_error(), "needs"));
	ck_assert_int_eq(npu_bind_input(ctx, 0, bo, 4000, NPU_FMT_FLOAT32), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bind_input(ctx, 0, bo, SIZE_MAX - 16, NPU_FMT_FLOAT32), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bind_output(ctx, 0, bo, SIZE_MAX, NPU_FMT_INT8), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bind_input(ctx, 5, bo, 0, NPU_FMT_FLOAT32), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bind_input(ctx, 0, bo, 0, 77), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bind_input(ctx, 0, bo, 0, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_int_eq(npu_run(ctx, NULL), NPU_ERR_STATE);	/* output unbound */
	ck_assert_int_eq(npu_bind_output(ctx, 0, bo, 3200, NPU_FMT_FLOAT32), NPU_OK);
	/* the context keeps a freed but bound buffer alive */
	ck_assert_int_eq(npu_bo_free(bo), NPU_OK);
	ck_assert_int_eq(npu_bo_free(bo), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_map(bo, (void **)&bad), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_run(ctx, NULL), NPU_OK);
	ck_assert_int_eq(npu_model_free(model), NPU_OK);
	ck_assert_int_eq(npu_model_free(model), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_context_create(model, &ctx2), NPU_ERR_INVAL);
	ck_assert_ptr_null(ctx2);
	ck_assert_int_eq(npu_device_close(dev), NPU_OK);
	ck_assert_int_eq(npu_run(ctx, NULL), NPU_OK);	/* still holds model and device */
	ck_assert_int_eq(npu_context_free(ctx), NPU_OK);
	ck_assert_int_eq(npu_context_free(ctx), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_run(ctx, NULL), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_free(small), NPU_OK);	/* buffers keep the device */
	ck_assert_int_eq(npu_device_close(dev), NPU_ERR_INVAL);
	ck_assert_str_eq(npu_status_name(NPU_ERR_BUSY), "NPU_ERR_BUSY");
}
END_TEST

struct spinner {
	npu_context *ctx;
	atomic_int started;
	int last;
};

/* Starts async runs on a context as fast as it can until the handle dies. */
static void *spin_async(void *arg)
{
	struct spinner *s = arg;
	int rc;

	while ((rc = npu_run_async(s->ctx)) == NPU_OK || rc == NPU_ERR_BUSY)
		if (rc == NPU_OK)
			atomic_fetch_add(&s->started, 1);
	s->last = rc;
	return NULL;
}

/*
 * npu_context_free racing npu_run_async on another thread: the free waits
 * for (or refuses) every run, none is left running on a freed context.
 */
START_TEST(test_free_vs_async)
{
	const struct timespec ms = { 0, 1000000 };
	struct spinner s;
	pthread_t th;
	struct rig r;

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 4);
	for (int it = 0; it < 20; it++) {
		npu_context *ctx;

		ck_assert_int_eq(npu_context_create(r.model, &ctx), NPU_OK);
		ck_assert_int_eq(npu_bind_input(ctx, 0, r.in, 0, NPU_FMT_FLOAT32), NPU_OK);
		ck_assert_int_eq(npu_bind_output(ctx, 0, r.out, 64, NPU_FMT_FLOAT32), NPU_OK);
		s.ctx = ctx;
		atomic_init(&s.started, 0);
		s.last = NPU_OK;
		ck_assert_int_eq(pthread_create(&th, NULL, spin_async, &s), 0);
		while (!atomic_load(&s.started))
			nanosleep(&ms, NULL);
		ck_assert_int_eq(npu_context_free(ctx), NPU_OK);
		pthread_join(th, NULL);
		ck_assert_int_eq(s.last, NPU_ERR_INVAL);
	}
	rig_close(&r);
}
END_TEST

struct poller {
	npu_context *ctx;
	atomic_int stop;
	int bad;
};

static void *poll_loop(void *arg)
{
	struct poller *p = arg;

	while (!atomic_load(&p->stop)) {
		int rc = npu_poll(p->ctx);

		if (rc != 0 && rc != 1 && rc != NPU_ERR_STATE)
			p->bad = rc;
	}
	return NULL;
}

/* npu_poll / npu_wait from other threads while runs are started (TSan: no race). */
START_TEST(test_async_cross_thread)
{
	struct npub_run_stats st;
	struct poller p;
	pthread_t th;
	struct rig r;
	float want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 5);
	ref_run(r.x, want, &st);
	p.ctx = r.ctx;
	p.bad = 0;
	atomic_init(&p.stop, 0);
	ck_assert_int_eq(pthread_create(&th, NULL, poll_loop, &p), 0);
	for (int i = 0; i < 5; i++) {
		memset(r.y, 0, 40);
		ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
		ck_assert_msg(npu_wait(r.ctx, -1, NULL) == NPU_OK, "%s", npu_last_error());
		ck_assert_int_eq(memcmp(r.y, want, 40), 0);
	}
	atomic_store(&p.stop, 1);
	pthread_join(th, NULL);
	ck_assert_int_eq(p.bad, 0);
	rig_close(&r);
}
END_TEST

/*
 * The caller consumes the eventfd's count itself (the usual eventfd idiom
 * after poll / epoll): npu_poll, npu_wait and npu_context_free must still
 * see the run as finished instead of hanging.
 */
START_TEST(test_fd_drained)
{
	struct pollfd pfd;
	struct rig r;
	uint64_t v;

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 6);
	for (int it = 0; it < 2; it++) {
		ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
		pfd.fd = npu_context_fd(r.ctx);
		pfd.events = POLLIN;
		ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
		ck_assert_int_eq(read(pfd.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
		ck_assert_int_eq(npu_poll(r.ctx), 1);
		ck_assert_msg(npu_wait(r.ctx, 2000, NULL) == NPU_OK, "%s", npu_last_error());
	}
	/* fd not readable once collected, even if the caller never read it */
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
	ck_assert_int_eq(npu_wait(r.ctx, -1, NULL), NPU_OK);
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* freed with a finished, drained run pending: returns, does not hang */
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
	ck_assert_int_eq(poll(&pfd, 1, 20000), 1);
	ck_assert_int_eq(read(pfd.fd, &v, sizeof(v)), (ssize_t)sizeof(v));
	rig_close(&r);
}
END_TEST

static void teardown_all(void)
{
}

/*
 * Buffers bound at aligned offsets are the model's I/O themselves (no
 * copy); misaligned or overlapping ones are copied; results agree.
 */
START_TEST(test_io_in_place)
{
	struct npub_run_stats st;
	struct npu_profile p;
	struct rig r;
	npu_bo *big;
	uint8_t *m;
	float want[10];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 5);
	ref_run(r.x, want, &st);
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_eq(memcmp(r.y, want, 40), 0);
	ck_assert_uint_eq(p.io_copy_bytes, 0);
	/* 4 bytes off the region's alignment: both copied */
	ck_assert_int_eq(npu_bo_alloc(r.dev, 8192, 0, &big), NPU_OK);
	ck_assert_int_eq(npu_bo_map(big, (void **)&m), NPU_OK);
	memcpy(m + 4, r.x, 784 * 4);
	ck_assert_int_eq(npu_bind_input(r.ctx, 0, big, 4, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_int_eq(npu_bind_output(r.ctx, 0, big, 4096 + 4, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_eq(memcmp(m + 4096 + 4, want, 40), 0);
	ck_assert_uint_eq(p.io_copy_bytes, 784 * 4 + 40);
	/* output over the input's bytes: copied, the input read before it is written */
	memcpy(m, r.x, 784 * 4);
	ck_assert_int_eq(npu_bind_input(r.ctx, 0, big, 0, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_int_eq(npu_bind_output(r.ctx, 0, big, 64, NPU_FMT_FLOAT32), NPU_OK);
	ck_assert_msg(npu_run(r.ctx, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_eq(memcmp(m + 64, want, 40), 0);
	ck_assert_uint_eq(p.io_copy_bytes, 784 * 4 + 40);
	ck_assert_int_eq(npu_bo_free(big), NPU_OK);
	rig_close(&r);
}
END_TEST

/*
 * dma-buf: on the kernel device a buffer exported by one device handle
 * and imported by another (another DRM file: another NPU address space)
 * shares its bytes both ways and serves as a model's input in place; the
 * simulator says it cannot.
 */
START_TEST(test_dmabuf)
{
	struct npub_run_stats st;
	struct npu_profile p;
	npu_device *dev2;
	npu_bo *imp, *again, *junk;
	struct rig r;
	float want[10], *xi;
	size_t size;
	int fd, pipefd[2];

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	if (strcmp(test_device(), "drm")) {
		ck_assert_int_eq(npu_bo_export_dmabuf(r.in, &fd), NPU_ERR_UNSUPPORTED);
		ck_assert_int_eq(fd, -1);
		ck_assert_int_eq(npu_bo_import_dmabuf(r.dev, 0, &imp), NPU_ERR_UNSUPPORTED);
		ck_assert_ptr_null(imp);
		rig_close(&r);
		return;
	}
	ck_assert_int_eq(npu_bo_export_dmabuf(NULL, &fd), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_export_dmabuf(r.in, NULL), NPU_ERR_INVAL);
	ck_assert_msg(npu_bo_export_dmabuf(r.in, &fd) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(npu_device_open("drm", &dev2), NPU_OK);
	ck_assert_msg(npu_bo_import_dmabuf(dev2, fd, &imp) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_eq(npu_bo_size(imp, &size), NPU_OK);
	ck_assert_uint_eq(size, 4096);
	ck_assert_int_eq(npu_bo_map(imp, (void **)&xi), NPU_OK);
	fill_input(r.x, 6);				/* written through one mapping ... */
	ck_assert(xi[100] == r.x[100]);			/* ... read through the other */
	/* The same dma-buf twice in one device: two handles, one buffer. */
	ck_assert_int_eq(npu_bo_import_dmabuf(dev2, fd, &again), NPU_OK);
	ck_assert_int_eq(npu_bo_free(again), NPU_OK);
	ck_assert(xi[100] == r.x[100]);
	close(fd);
	/* In the importer's device, as the model's input, in place. */
	{
		npu_model *m2;
		npu_context *c2;
		npu_bo *out2;
		float *y2;

		ref_run(r.x, want, &st);
		ck_assert_int_eq(npu_model_load_mem(dev2, model_bytes, model_len, &m2), NPU_OK);
		ck_assert_int_eq(npu_context_create(m2, &c2), NPU_OK);
		ck_assert_int_eq(npu_bo_alloc(dev2, 64, 0, &out2), NPU_OK);
		ck_assert_int_eq(npu_bo_map(out2, (void **)&y2), NPU_OK);
		ck_assert_int_eq(npu_bind_input(c2, 0, imp, 0, NPU_FMT_FLOAT32), NPU_OK);
		ck_assert_int_eq(npu_bind_output(c2, 0, out2, 0, NPU_FMT_FLOAT32), NPU_OK);
		ck_assert_msg(npu_run(c2, &p) == NPU_OK, "%s", npu_last_error());
		ck_assert_int_eq(memcmp(y2, want, 40), 0);
		ck_assert_uint_eq(p.io_copy_bytes, 0);
		npu_bo_free(out2);
		npu_context_free(c2);
		npu_model_free(m2);
	}
	/* Not a dma-buf, not open. */
	ck_assert_int_eq(pipe(pipefd), 0);
	ck_assert_int_eq(npu_bo_import_dmabuf(dev2, pipefd[0], &junk), NPU_ERR_INVAL);
	ck_assert_ptr_nonnull(strstr(npu_last_error(), "dma-buf"));
	ck_assert_int_eq(npu_bo_import_dmabuf(dev2, 1000, &junk), NPU_ERR_INVAL);
	ck_assert_int_eq(npu_bo_import_dmabuf(dev2, -1, &junk), NPU_ERR_INVAL);
	close(pipefd[0]);
	close(pipefd[1]);
	/* The importer keeps the bytes after the exporter lets go. */
	rig_close(&r);
	ck_assert(xi[783] == (float)((783 * 37 + 6 * 101) % 256) / 255.0f);
	ck_assert_int_eq(npu_bo_free(imp), NPU_OK);
	ck_assert_int_eq(npu_device_close(dev2), NPU_OK);
}
END_TEST

/*
 * A run that is device work only (int8 graph I/O bound in place, no host
 * step) is fenced on the kernel device: its sync_file polls ready, the
 * outputs match the simulator. Elsewhere npu_run_fence says why not.
 */
START_TEST(test_fenced_run)
{
	const int64_t dims[2] = { 1, 64 };
	struct npuc_diag d = { { 0 } };
	struct npub_run_stats st;
	struct npuc_value in, out;
	struct npu_profile p;
	struct pollfd pfd;
	struct mrig r;
	npu_context *ctx;
	int8_t *x, *y;
	int fd, dmabuf = -1, drm = !strcmp(test_device(), "drm");

	mrig_open(&r, QMLP_ONNX, 4096);
	ctx = r.ctx;
	x = r.x;
	y = r.y;
	for (int k = 0; k < 64; k++)
		x[k] = (int8_t)((k * 29 + 7) % 256 - 128);
	ck_assert_int_eq(npuc_value_wrap(&in, NPUC_DT_I8, 2, dims, x, &d), 0);
	ck_assert_msg(npub_run_sim(r.m, NULL, &in, &out, &st, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(out.numel, 10);
	ck_assert_int_eq(npu_bind_input(ctx, 0, r.bi, 0, NPU_FMT_INT8), NPU_OK);
	ck_assert_int_eq(npu_bind_output(ctx, 0, r.bo, 0, NPU_FMT_INT8), NPU_OK);
	ck_assert_int_eq(npu_run_fence(ctx, &fd), NPU_ERR_STATE);
	ck_assert_int_eq(npu_run_fence(ctx, NULL), NPU_ERR_INVAL);
	if (drm)	/* the output as a dma-buf, as a display would get it */
		ck_assert_int_eq(npu_bo_export_dmabuf(r.bo, &dmabuf), NPU_OK);
	ck_assert_msg(npu_run_async(ctx) == NPU_OK, "%s", npu_last_error());
	if (drm) {
		ck_assert_msg(npu_run_fence(ctx, &fd) == NPU_OK, "%s", npu_last_error());
		/*
		 * Implicit sync first: the dma-buf's reservation holds the job's
		 * write fence; once it polls ready the bytes are there (checked
		 * before anything else waits for the run).
		 */
		pfd.fd = dmabuf;
		pfd.events = POLLIN;
		ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
		ck_assert_int_eq(memcmp(y, out.data, 10), 0);
		close(dmabuf);
		pfd.fd = fd;
		ck_assert_int_eq(poll(&pfd, 1, 30000), 1);
		ck_assert(pfd.revents & POLLIN);
		close(fd);
	} else {
		ck_assert_int_eq(npu_run_fence(ctx, &fd), NPU_ERR_UNSUPPORTED);
		ck_assert_ptr_nonnull(strstr(npu_last_error(), "simulator"));
		ck_assert_int_eq(fd, -1);
	}
	ck_assert_msg(npu_wait(ctx, -1, &p) == NPU_OK, "%s", npu_last_error());
	ck_assert_int_eq(memcmp(y, out.data, 10), 0);
	ck_assert_uint_eq(p.io_copy_bytes, 0);
	ck_assert_uint_eq(p.device_jobs, st.npu_jobs);
	ck_assert_uint_eq(p.device_cycles, st.cycles);
	ck_assert_int_eq(npu_run_fence(ctx, &fd), NPU_ERR_STATE);	/* collected */
	/* An output 1 byte off alignment is copied: the run is not fenced. */
	memset(y, 0, 16);
	ck_assert_int_eq(npu_bind_output(ctx, 0, r.bo, 1, NPU_FMT_INT8), NPU_OK);
	ck_assert_int_eq(npu_run_async(ctx), NPU_OK);
	ck_assert_int_eq(npu_run_fence(ctx, &fd), NPU_ERR_UNSUPPORTED);
	if (drm)
		ck_assert_ptr_nonnull(strstr(npu_last_error(), "output 0 is copied"));
	ck_assert_int_eq(npu_wait(ctx, -1, &p), NPU_OK);
	ck_assert_int_eq(memcmp(y + 1, out.data, 10), 0);
	ck_assert_uint_eq(p.io_copy_bytes, 10);
	npuc_value_free(&out);
	mrig_close(&r);
}
END_TEST

/* A model with host steps (float I/O: (de)quantisation) is never fenced. */
START_TEST(test_fence_needs_device_only_plan)
{
	struct rig r;
	int fd;

	rig_open(&r, NPU_FMT_FLOAT32, NPU_FMT_FLOAT32);
	fill_input(r.x, 7);
	ck_assert_int_eq(npu_run_async(r.ctx), NPU_OK);
	ck_assert_int_eq(npu_run_fence(r.ctx, &fd), NPU_ERR_UNSUPPORTED);
	if (!strcmp(test_device(), "drm"))
		ck_assert_ptr_nonnull(strstr(npu_last_error(), "host work"));
	ck_assert_int_eq(npu_wait(r.ctx, -1, NULL), NPU_OK);
	rig_close(&r);
}
END_TEST

Suite *suite_libnpu(void);
Suite *suite_libnpu(void)
{
	Suite *s = suite_create("libnpu");
	TCase *tc = tcase_create("core");

	tcase_add_unchecked_fixture(tc, NULL, teardown_all);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_float_bitexact);
	tcase_add_test(tc, test_raw_int8);
	tcase_add_test(tc, test_nonfinite_inputs);
	tcase_add_test(tc, test_async_poll);
	tcase_add_test(tc, test_cpu_fallback);
	tcase_add_test(tc, test_threads);
	tcase_add_test(tc, test_misuse);
	tcase_add_test(tc, test_free_vs_async);
	tcase_add_test(tc, test_async_cross_thread);
	tcase_add_test(tc, test_fd_drained);
	tcase_add_test(tc, test_io_in_place);
	tcase_add_test(tc, test_dmabuf);
	tcase_add_test(tc, test_fenced_run);
	tcase_add_test(tc, test_fence_needs_device_only_plan);
	suite_add_tcase(s, tc);
	return s;
}
