// SPDX-License-Identifier: MIT
/*
 * libnpu: where a run's inputs and outputs live. A bound buffer the device
 * can use as the model's I/O region serves in place (no copy); the others
 * are copied through the context's own region memory.
 */
#include <stdint.h>

#include "context.h"

/* Region index of graph input / output i. */
static uint32_t io_region(const struct npub_model *m, int output, uint32_t i)
{
	return 2 + (output ? m->meta.n_inputs : 0) + i;
}

/*
 * Whether binding b of input / output i can be the model's I/O region
 * itself: the tensor's own format, its stored layout (or NCHW = NHWC),
 * the region's alignment on the device, 16 bytes (malloc's) on the host.
 */
static int can_be_region(struct npu_context *c, int output, uint32_t i, const struct binding *b)
{
	const struct npub_model *m = c->mo->m;
	const struct npub_region *rg = &m->regions[io_region(m, output, i)];
	const struct npub_tensor *tr = &m->tensors[rg->tensor];
	uint64_t va = b->bo->b->va + b->offset;
	uintptr_t host = (uintptr_t)npu_bound_ptr(b);

	if (b->fmt != (tr->dtype == NPUB_DT_INT8 ? NPU_FMT_INT8 : NPU_FMT_FLOAT32) ||
	    (tr->dtype != NPUB_DT_INT8 && tr->dtype != NPUB_DT_FLOAT32) || (tr->flags & NPUB_T_U8))
		return 0;
	if ((tr->flags & NPUB_T_NCHW) && tr->c != 1 && (tr->h != 1 || tr->w != 1))
		return 0;
	if (output && (b->bo->b->flags & NPU_BE_BO_DEV_RO))
		return 0;	/* e.g. an import the device may only read */
	return va % rg->align == 0 && host % 16 == 0;
}

static int overlaps(const struct binding *a, uint64_t alen, const struct binding *b,
		    uint64_t blen)
{
	return a->bo->b == b->bo->b && a->offset < b->offset + blen && b->offset < a->offset + alen;
}

/* Two in-place bindings that overlap are both copied instead. */
void npu_place_io(struct npu_context *c, struct npu_profile *p)
{
	const struct npub_model *m = c->mo->m;
	uint32_t n_in = m->meta.n_inputs, n = n_in + m->meta.n_outputs;

	for (uint32_t k = 0; k < n; k++) {
		struct binding *b = k < n_in ? &c->in[k] : &c->out[k - n_in];

		b->direct = can_be_region(c, k >= n_in, k < n_in ? k : k - n_in, b);
	}
	for (uint32_t k = 0; k < n; k++) {
		struct binding *a = k < n_in ? &c->in[k] : &c->out[k - n_in];
		uint64_t alen = m->regions[2 + k].size;

		for (uint32_t j = k + 1; a->direct && j < n; j++) {
			struct binding *b = j < n_in ? &c->in[j] : &c->out[j - n_in];

			if (b->direct && overlaps(a, alen, b, m->regions[2 + j].size))
				a->direct = b->direct = 0;
		}
	}
	for (uint32_t k = 0; k < n; k++) {
		struct binding *b = k < n_in ? &c->in[k] : &c->out[k - n_in];
		struct npu_tensor_info info;

		c->base[2 + k] = b->direct ? b->bo->b->va + b->offset : c->rbo[2 + k]->va;
		c->rh[2 + k] = b->direct ? npu_bound_ptr(b) : c->rbo[2 + k]->host;
		if (!b->direct) {
			npu_model_fill_info(c->mo, k >= n_in, k < n_in ? k : k - n_in, &info);
			p->io_copy_bytes += b->fmt == NPU_FMT_INT8 ? info.int8_bytes :
					    info.float_bytes;
		}
	}
}
