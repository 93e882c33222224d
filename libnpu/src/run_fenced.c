// SPDX-License-Identifier: MIT
/*
 * Fenced runs: when a run is device work only (every input and output
 * bound in place, no host step in the plan) and the backend has fences,
 * npu_run_async relocates every stream at once and queues them as one
 * chain; the run's completion is then a sync_file (npu_run_fence) that
 * other devices and poll() can wait for, with no host thread in the path.
 * The worker thread only collects the reports for npu_wait.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "context.h"
#include "npub_exec.h"

#define CHAIN_ALIGN 64u

/* Why this run cannot be fenced ("" if it can); bindings placed. */
static const char *unfenced_reason(struct npu_context *c, char *buf, size_t len)
{
	const struct npub_model *m = c->mo->m;
	struct npu_device *dev = c->mo->dev;

	if (!dev->ops->queue)
		return "the simulator backend has no fences: run on the kernel device";
	for (uint32_t s = 0; s < m->n_steps; s++)
		if (m->steps[s].kind != NPUB_STEP_NPU) {
			snprintf(buf, len, "step %u is host work (%s)", s,
				 npub_step_kind_name(m->steps[s].kind));
			return buf;
		}
	for (uint32_t i = 0; i < m->meta.n_inputs + m->meta.n_outputs; i++) {
		int out = i >= m->meta.n_inputs;
		uint32_t k = out ? i - m->meta.n_inputs : i;
		const struct binding *b = out ? &c->out[k] : &c->in[k];

		if (!b->bo || !b->direct) {
			snprintf(buf, len, "%s %u is %s", out ? "output" : "input", k,
				 !b->bo ? "not bound" : "copied (bind it in the tensor's own format "
				 "and layout at a 64-byte aligned offset)");
			return buf;
		}
	}
	return "";
}

/* Command memory holding every stream at once, allocated on first use. */
static int chain_cmd_alloc(struct npu_context *c)
{
	const struct npub_model *m = c->mo->m;
	struct npu_device *dev = c->mo->dev;
	uint64_t total = 0;

	if (c->chain_cmd)
		return NPU_OK;
	c->chain_off = calloc(m->n_streams, sizeof(*c->chain_off));
	c->chain_rep = calloc(m->n_steps, sizeof(*c->chain_rep));
	c->chain_bos = calloc(m->meta.n_inputs + m->meta.n_outputs, sizeof(*c->chain_bos));
	c->chain_bo_write = calloc(m->meta.n_inputs + m->meta.n_outputs, 1);
	if (!c->chain_off || !c->chain_rep || !c->chain_bos || !c->chain_bo_write)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	for (uint32_t s = 0; s < m->n_streams; s++) {
		c->chain_off[s] = (uint32_t)total;
		total += (m->streams[s].size + CHAIN_ALIGN - 1) & ~(uint64_t)(CHAIN_ALIGN - 1);
		if (total > UINT32_MAX)
			return npu_err(NPU_ERR_NOMEM, "the model's streams exceed 4 GiB");
	}
	if (dev->ops->bo_alloc(dev->be, total ? total : 4, CHAIN_ALIGN, NPU_BE_BO_DEV_RO,
			       &c->chain_cmd))
		return npu_err(NPU_ERR_NOMEM, "no device memory for %llu bytes of command streams",
			       (unsigned long long)total);
	return NPU_OK;
}

int npu_fenced_start(struct npu_context *c)
{
	const struct npub_model *m = c->mo->m;
	struct npu_device *dev = c->mo->dev;
	struct npu_be_job *jobs;
	const char *why;
	uint32_t n = 0;
	int rc;

	c->fence = -1;
	memset(&c->prof, 0, sizeof(c->prof));
	npu_place_io(c, &c->prof);
	why = unfenced_reason(c, c->why_unfenced, sizeof(c->why_unfenced));
	if (why != c->why_unfenced)
		snprintf(c->why_unfenced, sizeof(c->why_unfenced), "%s", why);
	if (*why || !m->n_steps)
		return 0;
	rc = chain_cmd_alloc(c);
	if (rc)
		return rc;
	for (uint32_t i = 0; i < m->meta.n_inputs + m->meta.n_outputs; i++) {
		int out = i >= m->meta.n_inputs;

		c->chain_bos[i] = out ? c->out[i - m->meta.n_inputs].bo->b : c->in[i].bo->b;
		c->chain_bo_write[i] = (uint8_t)out;
	}
	jobs = calloc(m->n_steps, sizeof(*jobs));
	if (!jobs)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	for (uint32_t s = 0; s < m->n_steps; s++) {
		uint32_t st = m->steps[s].index;
		const struct npub_stream *sr = &m->streams[st];
		uint8_t *dst = (uint8_t *)c->chain_cmd->host + c->chain_off[st];
		struct npuc_diag d = { { 0 } };

		memcpy(dst, m->cmds + sr->offset, sr->size);
		if (npub_relocate(m, st, dst, c->base, m->n_regions, &d) < 0) {
			free(jobs);
			return npu_err(NPU_ERR_FORMAT, "stream %u: %s", st, d.msg);
		}
		jobs[n].cmd_va = c->chain_cmd->va + c->chain_off[st];
		jobs[n].cmd_size = sr->size;
		jobs[n].stream = st;
		jobs[n].watchdog_cycles = npu_stream_watchdog(sr);
		n++;
	}
	/* The first job reads the inputs, the last writes the outputs. */
	jobs[0].bos = c->chain_bos;
	jobs[0].bo_write = c->chain_bo_write;
	jobs[0].n_bos = m->meta.n_inputs;
	jobs[n - 1].bos = c->chain_bos + (n > 1 ? m->meta.n_inputs : 0);
	jobs[n - 1].bo_write = c->chain_bo_write + (n > 1 ? m->meta.n_inputs : 0);
	jobs[n - 1].n_bos += m->meta.n_outputs;
	rc = dev->ops->queue(dev->be, jobs, n, &c->chain, &c->fence);
	free(jobs);
	if (rc)
		return rc;
	return 1;
}

int npu_fenced_finish(struct npu_context *c)
{
	const struct npub_model *m = c->mo->m;
	struct npu_device *dev = c->mo->dev;
	struct npu_job_report *rep = c->chain_rep;
	uint32_t failed = 0;
	uint64_t clk;
	int rc;

	rc = dev->ops->chain_end(dev->be, c->chain, rep, &failed);
	c->chain = NULL;
	if (rc > 0) {
		char why[200];

		npub_fault_text(m, m->steps[failed].index, &rep[failed], why, sizeof(why));
		rc = npu_err(NPU_ERR_DEVICE, "%s", why);
	} else if (!rc) {
		for (uint32_t s = 0; s < m->n_steps; s++)
			npu_profile_add(&c->prof, &rep[s]);
	}
	clk = dev->ops->clock_khz(dev->be);
	c->prof.device_ns = clk ? c->prof.device_cycles * 1000000ull / clk : 0;
	c->prof.wall_ns = npu_now_ns() - c->t0;
	return rc;
}

void npu_fenced_release(struct npu_context *c)
{
	struct npu_device *dev = c->mo->dev;

	if (c->fence >= 0)
		close(c->fence);
	if (c->chain_cmd)
		dev->ops->bo_free(dev->be, c->chain_cmd);
	free(c->chain_off);
	free(c->chain_rep);
	free(c->chain_bos);
	free(c->chain_bo_write);
}

int npu_run_fence(npu_context *ctx, int *fd)
{
	struct npu_obj *o;
	int rc = NPU_OK;

	npu_err_clear();
	if (!fd)
		return npu_err(NPU_ERR_INVAL, "npu_run_fence: fd is NULL");
	*fd = -1;
	o = npu_obj_get(ctx, NPU_OBJ_CONTEXT, "context");
	if (!o)
		return NPU_ERR_INVAL;
	pthread_mutex_lock(&ctx->lock);
	if (!ctx->pending)
		rc = npu_err(NPU_ERR_STATE, "no asynchronous run was started");
	else if (ctx->fence < 0)
		rc = npu_err(NPU_ERR_UNSUPPORTED, "this run has no fence: %s", ctx->why_unfenced);
	else if ((*fd = fcntl(ctx->fence, F_DUPFD_CLOEXEC, 0)) < 0)
		rc = npu_err(NPU_ERR_NOMEM, "dup of the run's sync_file: %s", strerror(errno));
	pthread_mutex_unlock(&ctx->lock);
	npu_obj_put(o);
	return rc;
}
