// SPDX-License-Identifier: MIT
/*
 * libnpu: contexts, bindings and runs. A run walks the model's plan: NPU
 * steps are relocated onto the context's buffers and submitted to the
 * backend, host steps (boundary (de)quantisation, CPU fallback nodes) run
 * through npub_host_step_planned (CPU steps prepared once, at load, in the
 * model's host plan); graph I/O goes through npub_input_import /
 * npub_output_export.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "context.h"
#include "npub_exec.h"
#include "qvalue.h"


static void ctx_release(struct npu_context *c)
{
	struct npu_device *dev = c->mo->dev;
	const struct npub_model *m = c->mo->m;

	for (uint32_t r = 1; c->rbo && r < m->n_regions; r++)
		if (c->rbo[r])
			dev->ops->bo_free(dev->be, c->rbo[r]);
	if (c->cmd)
		dev->ops->bo_free(dev->be, c->cmd);
	for (uint32_t i = 0; c->in && i < m->meta.n_inputs; i++)
		npu_obj_put(c->in[i].bo ? &c->in[i].bo->obj : NULL);
	for (uint32_t i = 0; c->out && i < m->meta.n_outputs; i++)
		npu_obj_put(c->out[i].bo ? &c->out[i].bo->obj : NULL);
	free(c->rbo);
	free(c->rh);
	free(c->base);
	free(c->in);
	free(c->out);
	if (c->efd >= 0)
		close(c->efd);
	npu_fenced_release(c);
	pthread_cond_destroy(&c->done_cond);
	pthread_mutex_destroy(&c->done_lock);
	pthread_mutex_destroy(&c->lock);
	npu_obj_put(&c->mo->obj);
	free(c);
}

static void ctx_destroy(struct npu_obj *o)
{
	ctx_release((struct npu_context *)o);
}

static int ctx_alloc(struct npu_context *c)
{
	const struct npub_model *m = c->mo->m;
	struct npu_device *dev = c->mo->dev;
	uint32_t n = m->n_regions;

	c->rbo = calloc(n, sizeof(*c->rbo));
	c->rh = calloc(n, sizeof(*c->rh));
	c->base = calloc(n, sizeof(*c->base));
	c->in = calloc(m->meta.n_inputs + 1, sizeof(*c->in));
	c->out = calloc(m->meta.n_outputs + 1, sizeof(*c->out));
	if (!c->rbo || !c->rh || !c->base || !c->in || !c->out)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	c->rbo[0] = c->mo->weights;
	for (uint32_t r = 1; r < n; r++) {
		const struct npub_region *rg = &m->regions[r];
		uint32_t fl = rg->kind == NPUB_REGION_INPUT ? NPU_BE_BO_DEV_RO : 0;

		if (dev->ops->bo_alloc(dev->be, rg->size ? rg->size : 1, rg->align, fl,
				       &c->rbo[r]))
			return npu_err(NPU_ERR_NOMEM, "no device memory for region %u (%llu bytes)",
				       r, (unsigned long long)rg->size);
	}
	for (uint32_t r = 0; r < n; r++) {
		c->rh[r] = c->rbo[r]->host;
		c->base[r] = c->rbo[r]->va;
	}
	if (dev->ops->bo_alloc(dev->be, c->mo->max_stream ? c->mo->max_stream : 4, 64,
			       NPU_BE_BO_DEV_RO, &c->cmd))
		return npu_err(NPU_ERR_NOMEM, "no device memory for the command buffer");
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0)
		return npu_err(NPU_ERR_NOMEM, "eventfd: %s", strerror(errno));
	return NPU_OK;
}

/* A condition variable timed on CLOCK_MONOTONIC (npu_wait's timeout). */
static void ctx_cond_init(pthread_cond_t *cv)
{
	pthread_condattr_t a;

	pthread_condattr_init(&a);
	pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
	pthread_cond_init(cv, &a);
	pthread_condattr_destroy(&a);
}

int npu_context_create(npu_model *model, npu_context **out)
{
	struct npu_context *c;
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	if (!out)
		return npu_err(NPU_ERR_INVAL, "npu_context_create: ctx is NULL");
	*out = NULL;
	o = npu_obj_get(model, NPU_OBJ_MODEL, "model");
	if (!o)
		return NPU_ERR_INVAL;
	c = calloc(1, sizeof(*c));
	if (!c) {
		npu_obj_put(o);
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	}
	c->mo = model;
	c->efd = -1;
	c->fence = -1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_mutex_init(&c->done_lock, NULL);
	ctx_cond_init(&c->done_cond);
	rc = ctx_alloc(c);
	if (!rc)
		rc = npu_obj_register(&c->obj, NPU_OBJ_CONTEXT, ctx_destroy);
	if (rc) {
		ctx_release(c);
		return rc;
	}
	*out = c;
	return NPU_OK;
}

int npu_context_fd(npu_context *ctx)
{
	struct npu_obj *o;
	int fd;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	fd = ctx->efd;
	npu_obj_put(o);
	return fd;
}

/* ------------------------------------------------------------------ */
/* Bindings                                                            */
/* ------------------------------------------------------------------ */
static int bind_check(struct npu_context *c, int output, uint32_t i, npu_bo *bo, size_t offset,
		      int fmt)
{
	struct npu_tensor_info info;
	uint32_t n = output ? c->mo->m->meta.n_outputs : c->mo->m->meta.n_inputs;
	size_t need, size = bo->size;
	const char *what = output ? "output" : "input";
	uint32_t t, q;

	if (i >= n)
		return npu_err(NPU_ERR_INVAL, "the model has %u %ss, no %s %u", n, what, what, i);
	if (fmt != NPU_FMT_FLOAT32 && fmt != NPU_FMT_INT8)
		return npu_err(NPU_ERR_INVAL, "unknown format %d", fmt);
	npu_model_io_tensors(c->mo, output, i, &t, &q);
	npu_model_fill_info(c->mo, output, i, &info);
	if ((fmt == NPU_FMT_INT8 && !info.int8_ok) || (fmt == NPU_FMT_FLOAT32 && !info.float_ok))
		return npu_err(NPU_ERR_UNSUPPORTED, "%s %u '%s' cannot be bound as %s", what, i,
			       info.name, fmt == NPU_FMT_INT8 ? "int8" : "float32");
	need = fmt == NPU_FMT_INT8 ? info.int8_bytes : info.float_bytes;
	if (offset > size || size - offset < need)
		return npu_err(NPU_ERR_INVAL, "%s %u '%s' needs %zu bytes, the buffer has %zu "
			       "from offset %zu", what, i, info.name, need,
			       offset > size ? (size_t)0 : size - offset, offset);
	return NPU_OK;
}

static int bind(npu_context *ctx, int output, uint32_t i, npu_bo *bo, size_t offset, int fmt)
{
	struct npu_obj *co, *bobj;
	struct binding *b;
	int rc;

	npu_err_clear();
	co = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!co)
		return NPU_ERR_INVAL;
	bobj = npu_obj_get(bo, NPU_OBJ_BO, "buffer object");
	if (!bobj) {
		npu_obj_put(co);
		return NPU_ERR_INVAL;
	}
	pthread_mutex_lock(&ctx->lock);
	rc = ctx->busy ? npu_err(NPU_ERR_BUSY, "the context has a run in progress") :
	     bo->dev != ctx->mo->dev ? npu_err(NPU_ERR_INVAL, "buffer of another device") :
	     bind_check(ctx, output, i, bo, offset, fmt);
	if (!rc) {
		b = output ? &ctx->out[i] : &ctx->in[i];
		npu_obj_put(b->bo ? &b->bo->obj : NULL);
		b->bo = bo;		/* keeps the reference taken above */
		b->offset = offset;
		b->fmt = fmt;
		bobj = NULL;
	}
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(bobj);
	npu_obj_put(co);
	return rc;
}

int npu_bind_input(npu_context *ctx, uint32_t i, npu_bo *bo, size_t offset, enum npu_format fmt)
{
	return bind(ctx, 0, i, bo, offset, (int)fmt);
}

int npu_bind_output(npu_context *ctx, uint32_t i, npu_bo *bo, size_t offset,
		    enum npu_format fmt)
{
	return bind(ctx, 1, i, bo, offset, (int)fmt);
}

int npu_context_set_flags(npu_context *ctx, uint32_t flags)
{
	struct npu_obj *co;
	int rc = NPU_OK;

	npu_err_clear();
	co = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!co)
		return NPU_ERR_INVAL;
	pthread_mutex_lock(&ctx->lock);
	if (flags & ~NPU_CONTEXT_REFUSE_NONFINITE)
		rc = npu_err(NPU_ERR_INVAL, "unknown context flags 0x%x",
			     flags & ~NPU_CONTEXT_REFUSE_NONFINITE);
	else if (ctx->busy)
		rc = npu_err(NPU_ERR_BUSY, "the context has a run in progress");
	else
		ctx->flags = flags;
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(co);
	return rc;
}

/* ------------------------------------------------------------------ */
/* Runs                                                                */
/* ------------------------------------------------------------------ */
static float f32_of(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, 4);
	return f;
}

/* Raw int8 user bytes (model layout) <-> the NHWC int8 tensor q; layout of graph tensor t. */
static void raw_copy(struct npu_context *c, uint32_t t, uint32_t q, uint8_t *user, int to_user)
{
	const struct npub_tensor *tr = &c->mo->m->tensors[t], *qr = &c->mo->m->tensors[q];
	uint8_t *dev = c->rh[qr->region] + qr->offset;

	if (tr->flags & NPUB_T_NCHW)
		npuq_layout_convert(to_user ? user : dev, to_user ? dev : user, tr->h, tr->w,
				    tr->c, 1, to_user);
	else
		memcpy(to_user ? user : dev, to_user ? dev : user, (size_t)qr->bytes);
}

static int import_input(struct npu_context *c, uint32_t i)
{
	const struct npub_model *m = c->mo->m;
	struct binding *b = &c->in[i];
	struct npu_tensor_info info;
	struct npuc_diag d = { { 0 } };
	struct npuc_value v;
	const struct npub_tensor *tr;
	int8_t *tmp = NULL;
	uint32_t t, q;
	int rc;

	if (!b->bo)
		return npu_err(NPU_ERR_STATE, "input %u is not bound", i);
	npu_model_io_tensors(c->mo, 0, i, &t, &q);
	if (b->direct || (b->fmt == NPU_FMT_INT8 && q != t))
		return NPU_OK;		/* in place, or copied in place of the QUANTIZE step */
	npu_model_fill_info(c->mo, 0, i, &info);
	tr = &m->tensors[t];
	if (b->fmt == NPU_FMT_FLOAT32 && tr->dtype == NPUB_DT_INT8) {
		tmp = malloc(info.int8_bytes + 1);
		if (!tmp)
			return npu_err(NPU_ERR_NOMEM, "out of memory");
		for (uint64_t k = 0; k < info.count; k++) {
			float x;

			memcpy(&x, npu_bound_ptr(b) + 4 * k, 4);
			tmp[k] = npuq_quantize1(x, f32_of(tr->scale_bits), tr->zp);
		}
	}
	rc = npuc_value_wrap(&v, tr->dtype == NPUB_DT_INT8 ? NPUC_DT_I8 : NPUC_DT_F32, info.rank,
			     info.dims, tmp ? (void *)tmp : (void *)npu_bound_ptr(b), &d);
	if (!rc)
		rc = npub_input_import(m, i, &v, c->rh[2 + i], &d);
	free(tmp);
	return rc ? npu_err(NPU_ERR_INVAL, "input %u: %s", i, d.msg) : NPU_OK;
}

/* NaN / Inf in float input i: counted, or refused (NPU_CONTEXT_REFUSE_NONFINITE). */
static int count_nonfinite(struct npu_context *c, uint32_t i, struct npu_profile *p)
{
	const struct binding *b = &c->in[i];
	struct npu_tensor_info info;
	uint64_t bad = 0;

	if (b->fmt != NPU_FMT_FLOAT32)
		return NPU_OK;
	npu_model_fill_info(c->mo, 0, i, &info);
	for (uint64_t k = 0; k < info.count; k++) {
		float x;

		memcpy(&x, npu_bound_ptr(b) + 4 * k, 4);
		bad += !isfinite(x);
	}
	p->nonfinite_inputs += bad;
	if (bad && (c->flags & NPU_CONTEXT_REFUSE_NONFINITE))
		return npu_err(NPU_ERR_INVAL, "input %u '%s': %llu of its %llu float values are NaN "
			       "or infinite", i, info.name, (unsigned long long)bad,
			       (unsigned long long)info.count);
	return NPU_OK;
}

static int export_output(struct npu_context *c, uint32_t i)
{
	const struct npub_model *m = c->mo->m;
	struct binding *b = &c->out[i];
	struct npuc_diag d = { { 0 } };
	struct npuc_value v;
	const struct npub_tensor *tr;
	uint32_t t, q;

	npu_model_io_tensors(c->mo, 1, i, &t, &q);
	if (b->direct || (b->fmt == NPU_FMT_INT8 && q != t))
		return NPU_OK;		/* in place, or captured at the DEQUANTIZE step */
	tr = &m->tensors[t];
	if (npub_output_export(m, i, c->rh[2 + m->meta.n_inputs + i], &v, &d))
		return npu_err(NPU_ERR_NOMEM, "output %u: %s", i, d.msg);
	if (b->fmt == NPU_FMT_FLOAT32 && tr->dtype == NPUB_DT_INT8) {
		float scale = f32_of(tr->scale_bits);

		for (int64_t k = 0; k < v.numel; k++) {
			float y = (float)(((const int8_t *)v.data)[k] - tr->zp) * scale;

			memcpy(npu_bound_ptr(b) + 4 * k, &y, 4);
		}
	} else {
		memcpy(npu_bound_ptr(b), v.data, (size_t)tr->bytes);
	}
	npuc_value_free(&v);
	return NPU_OK;
}

static int npu_step(struct npu_context *c, uint32_t s, struct npu_profile *p)
{
	const struct npub_model *m = c->mo->m;
	const struct npub_stream *sr = &m->streams[s];
	struct npu_device *dev = c->mo->dev;
	struct npuc_diag d = { { 0 } };
	struct npu_job_report rep;
	int rc;

	memcpy(c->cmd->host, m->cmds + sr->offset, sr->size);
	if (npub_relocate(m, s, c->cmd->host, c->base, m->n_regions, &d) < 0)
		return npu_err(NPU_ERR_FORMAT, "stream %u: %s", s, d.msg);
	memset(&rep, 0, sizeof(rep));
	rc = dev->ops->submit(dev->be, c->cmd->va, sr->size, npu_stream_watchdog(sr), &rep);
	if (rc < 0)
		return rc;	/* the backend said why */
	if (rc != NPU_FAULT_NONE) {
		char why[200];

		npub_fault_text(m, s, &rep, why, sizeof(why));
		return npu_err(NPU_ERR_DEVICE, "%s", why);
	}
	npu_profile_add(p, &rep);
	return NPU_OK;
}

/* A host step, or the raw copy replacing / following a boundary step. */
static int host_step(struct npu_context *c, uint32_t s, struct npu_profile *p)
{
	const struct npub_model *m = c->mo->m;
	struct npuc_diag d = { { 0 } };
	uint64_t t0 = npu_now_ns();
	uint32_t t, q;
	int rc;

	for (uint32_t i = 0; i < m->meta.n_inputs; i++)
		if (c->mo->in_qstep[i] == s && c->in[i].fmt == NPU_FMT_INT8) {
			npu_model_io_tensors(c->mo, 0, i, &t, &q);
			raw_copy(c, t, q, npu_bound_ptr(&c->in[i]), 0);
			goto done;
		}
	rc = npub_host_step_planned(m, c->mo->host_plan, s, c->rh, &d);
	if (rc)
		return npu_err(NPU_ERR_CPU, "host step %u (%s): %s", s,
			       npub_step_kind_name(m->steps[s].kind), d.msg);
	for (uint32_t i = 0; i < m->meta.n_outputs; i++)
		if (c->mo->out_dqstep[i] == s && c->out[i].fmt == NPU_FMT_INT8) {
			npu_model_io_tensors(c->mo, 1, i, &t, &q);
			raw_copy(c, t, q, npu_bound_ptr(&c->out[i]), 1);
		}
done:
	p->host_steps++;
	p->host_ns += npu_now_ns() - t0;
	return NPU_OK;
}

static int run_plan(struct npu_context *c, struct npu_profile *p)
{
	const struct npub_model *m = c->mo->m;
	uint64_t t0 = npu_now_ns(), clk;
	int rc = NPU_OK;

	memset(p, 0, sizeof(*p));
	for (uint32_t i = 0; i < m->meta.n_outputs; i++)
		if (!c->out[i].bo)
			return npu_err(NPU_ERR_STATE, "output %u is not bound", i);
	for (uint32_t i = 0; i < m->meta.n_inputs; i++)
		if (!c->in[i].bo)
			return npu_err(NPU_ERR_STATE, "input %u is not bound", i);
	npu_place_io(c, p);
	for (uint32_t i = 0; !rc && i < m->meta.n_inputs; i++)
		rc = count_nonfinite(c, i, p);
	for (uint32_t i = 0; !rc && i < m->meta.n_inputs; i++)
		rc = import_input(c, i);
	for (uint32_t s = 0; !rc && s < m->n_steps; s++)
		rc = m->steps[s].kind == NPUB_STEP_NPU ? npu_step(c, m->steps[s].index, p) :
		     host_step(c, s, p);
	for (uint32_t i = 0; !rc && i < m->meta.n_outputs; i++)
		rc = export_output(c, i);
	clk = c->mo->dev->ops->clock_khz(c->mo->dev->be);
	p->device_ns = clk ? p->device_cycles * 1000000ull / clk : 0;
	p->wall_ns = npu_now_ns() - t0;
	return rc;
}

/* Marks the context busy; NPU_ERR_BUSY if it already is. Context lock held. */
static int ctx_claim_locked(struct npu_context *c)
{
	if (c->dying)
		return npu_err(NPU_ERR_INVAL, "the context is being freed");
	if (c->busy)
		return npu_err(NPU_ERR_BUSY, "the context has a run in progress");
	c->busy = 1;
	return NPU_OK;
}

static int ctx_claim(struct npu_context *c)
{
	int rc;

	pthread_mutex_lock(&c->lock);
	rc = ctx_claim_locked(c);
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int npu_run(npu_context *ctx, struct npu_profile *profile)
{
	struct npu_profile p;
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	rc = ctx_claim(ctx);
	if (rc) {
		npu_obj_put(o);
		return rc;
	}
	rc = run_plan(ctx, &p);
	if (profile)
		*profile = p;
	pthread_mutex_lock(&ctx->lock);
	ctx->busy = 0;
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(o);
	return rc;
}

static void *worker(void *arg)
{
	struct npu_context *c = arg;
	uint64_t one = 1;

	c->result = c->fence >= 0 ? npu_fenced_finish(c) : run_plan(c, &c->prof);
	snprintf(c->msg, sizeof(c->msg), "%s", npu_last_error());
	pthread_mutex_lock(&c->done_lock);
	c->done = 1;
	pthread_cond_broadcast(&c->done_cond);
	pthread_mutex_unlock(&c->done_lock);
	/* result is read after pthread_join: still ours to change */
	if (write(c->efd, &one, sizeof(one)) != sizeof(one))
		c->result = c->result ? c->result : NPU_ERR_IO;
	return NULL;
}

int npu_run_async(npu_context *ctx)
{
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	/*
	 * Claim and start under the lock: npu_poll / npu_wait / npu_context_free
	 * on other threads see pending and thr together, never half set.
	 */
	pthread_mutex_lock(&ctx->lock);
	rc = ctx_claim_locked(ctx);
	if (!rc) {
		ctx->t0 = npu_now_ns();
		/* Device work only: queued here, its sync_file ready on return. */
		rc = npu_fenced_start(ctx);
		if (rc < 0)
			ctx->busy = 0;
	}
	if (rc >= 0) {
		pthread_mutex_lock(&ctx->done_lock);
		ctx->done = 0;
		pthread_mutex_unlock(&ctx->done_lock);
		rc = pthread_create(&ctx->thr, NULL, worker, ctx);
		if (rc) {
			if (ctx->fence >= 0) {	/* never leave jobs running unwatched */
				npu_fenced_finish(ctx);
				close(ctx->fence);
				ctx->fence = -1;
			}
			ctx->busy = 0;
			rc = npu_err(NPU_ERR_NOMEM, "cannot start the run thread: %s",
				     strerror(rc));
		} else {
			ctx->pending = 1;
		}
	}
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(o);
	return rc;
}

/* Waits up to timeout_ms (< 0: forever) for the worker to finish; 1 done, 0 not yet. */
static int wait_done(struct npu_context *c, int timeout_ms)
{
	struct timespec dl;
	int done;

	clock_gettime(CLOCK_MONOTONIC, &dl);
	dl.tv_sec += timeout_ms / 1000;
	dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (dl.tv_nsec >= 1000000000L) {
		dl.tv_sec++;
		dl.tv_nsec -= 1000000000L;
	}
	pthread_mutex_lock(&c->done_lock);
	while (!c->done) {
		if (timeout_ms < 0)
			pthread_cond_wait(&c->done_cond, &c->done_lock);
		else if (pthread_cond_timedwait(&c->done_cond, &c->done_lock, &dl) == ETIMEDOUT)
			break;
	}
	done = c->done;
	pthread_mutex_unlock(&c->done_lock);
	return done;
}

int npu_poll(npu_context *ctx)
{
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	pthread_mutex_lock(&ctx->lock);
	rc = ctx->pending ? wait_done(ctx, 0) :
	     npu_err(NPU_ERR_STATE, "no asynchronous run was started");
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(o);
	return rc;
}

/* Collects the finished run; context lock held. */
static int collect(struct npu_context *c, struct npu_profile *profile)
{
	uint64_t v;
	int err;

	/* Join first: the worker has written the fd by then; then reset its count. */
	pthread_join(c->thr, NULL);
	err = read(c->efd, &v, sizeof(v)) < 0 && errno != EAGAIN ? errno : 0;
	c->pending = c->busy = 0;
	if (c->fence >= 0) {
		close(c->fence);
		c->fence = -1;
	}
	if (profile)
		*profile = c->prof;
	if (err)
		return npu_err(NPU_ERR_IO, "eventfd read: %s", strerror(err));
	return c->result ? npu_err(c->result, "%s", c->msg) : NPU_OK;
}

int npu_wait(npu_context *ctx, int timeout_ms, struct npu_profile *profile)
{
	struct npu_obj *o;
	int rc = NPU_OK, pending;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	pthread_mutex_lock(&ctx->lock);
	pending = ctx->pending;
	pthread_mutex_unlock(&ctx->lock);
	/* Block without the lock: npu_poll stays usable meanwhile. */
	if (pending)
		wait_done(ctx, timeout_ms);
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->pending)		/* never started, or another waiter collected it */
		rc = npu_err(NPU_ERR_STATE, "no asynchronous run was started");
	else if (!wait_done(ctx, 0))	/* recheck: it may be a newer run */
		rc = npu_err(NPU_ERR_TIMEOUT, "the run has not finished");
	else
		rc = collect(ctx, profile);
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(o);
	return rc;
}

int npu_context_free(npu_context *ctx)
{
	struct npu_obj *o;
	int rc;

	npu_err_clear();
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	/*
	 * Kill the handle first and refuse new runs (dying) before waiting: a
	 * run started on another thread after the wait would otherwise run on
	 * a destroyed context, its thread never joined.
	 */
	rc = npu_obj_kill(ctx, NPU_OBJ_CONTEXT, "context");
	if (rc) {			/* freed concurrently: that call waits */
		npu_obj_put(o);
		return rc;
	}
	pthread_mutex_lock(&ctx->lock);
	ctx->dying = 1;
	if (ctx->pending)
		collect(ctx, NULL);	/* joins the worker */
	pthread_mutex_unlock(&ctx->lock);
	npu_err_clear();
	npu_obj_put(o);
	return NPU_OK;
}
