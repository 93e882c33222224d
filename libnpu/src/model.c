// SPDX-License-Identifier: MIT
/* libnpu: loading .npub models and describing their inputs and outputs. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "npub_exec.h"

static void model_destroy(struct npu_obj *o)
{
	struct npu_model *mo = (struct npu_model *)o;

	if (mo->weights)
		mo->dev->ops->bo_free(mo->dev->be, mo->weights);
	npub_host_plan_free(mo->host_plan);
	npub_model_free(mo->m);
	free(mo->in_qstep);
	free(mo->out_dqstep);
	npu_obj_put(&mo->dev->obj);
	free(mo);
}

/* The single step of that kind reading (want_in) or writing tensor t, or NPUB_NONE. */
static uint32_t boundary_step_of(const struct npub_model *m, uint32_t t, uint32_t kind,
				 int want_in)
{
	uint32_t found = NPUB_NONE;

	for (uint32_t s = 0; s < m->n_steps; s++) {
		const struct npub_step *st = &m->steps[s];
		uint32_t first = want_in ? st->in_first : st->out_first;
		uint32_t n = want_in ? st->in_count : st->out_count;

		for (uint32_t k = 0; k < n; k++)
			if (m->operands[first + k] == t) {
				if (st->kind != kind || found != NPUB_NONE)
					return NPUB_NONE;
				found = s;
			}
	}
	return found;
}

static int model_prepare(struct npu_model *mo)
{
	const struct npub_model *m = mo->m;
	uint32_t ni = m->meta.n_inputs, no = m->meta.n_outputs;

	mo->in_qstep = calloc(ni + 1, sizeof(uint32_t));
	mo->out_dqstep = calloc(no + 1, sizeof(uint32_t));
	if (!mo->in_qstep || !mo->out_dqstep)
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	for (uint32_t i = 0; i < ni; i++) {
		uint32_t t = m->regions[2 + i].tensor;

		mo->in_qstep[i] = m->tensors[t].dtype == NPUB_DT_FLOAT32 ?
				  boundary_step_of(m, t, NPUB_STEP_QUANTIZE, 1) : NPUB_NONE;
	}
	for (uint32_t i = 0; i < no; i++) {
		uint32_t t = m->regions[2 + ni + i].tensor;

		mo->out_dqstep[i] = m->tensors[t].dtype == NPUB_DT_FLOAT32 ?
				    boundary_step_of(m, t, NPUB_STEP_DEQUANTIZE, 0) : NPUB_NONE;
	}
	for (uint32_t s = 0; s < m->n_streams; s++)
		if (m->streams[s].size > mo->max_stream)
			mo->max_stream = m->streams[s].size;
	return NPU_OK;
}

static int model_weights(struct npu_model *mo)
{
	const struct npub_region *r = &mo->m->regions[NPUB_REGION_WEIGHTS_ID];
	struct npu_device *dev = mo->dev;
	uint64_t size = r->size ? r->size : 1;

	if (dev->ops->bo_alloc(dev->be, size, r->align, NPU_BE_BO_DEV_RO, &mo->weights))
		return npu_err(NPU_ERR_NOMEM, "no device memory for %llu bytes of weights",
			       (unsigned long long)r->size);
	if (mo->m->weights_size)
		memcpy(mo->weights->host, mo->m->weights, (size_t)mo->m->weights_size);
	return NPU_OK;
}

static int model_load(npu_device *dev, const void *buf, size_t len, const char *path,
		      npu_model **out)
{
	struct npuc_diag d = { { 0 } };
	struct npu_obj *o;
	struct npu_model *mo;
	int rc;

	if (!out)
		return npu_err(NPU_ERR_INVAL, "npu_model_load: model is NULL");
	*out = NULL;
	if (!path && !buf)
		return npu_err(NPU_ERR_INVAL, "npu_model_load_mem: buf is NULL");
	o = npu_obj_get(dev, NPU_OBJ_DEVICE, "device");
	if (!o)
		return NPU_ERR_INVAL;
	mo = calloc(1, sizeof(*mo));
	if (!mo) {
		npu_obj_put(o);
		return npu_err(NPU_ERR_NOMEM, "out of memory");
	}
	mo->dev = dev;
	rc = path ? npub_read_file(path, &mo->m, &d) : npub_read_mem(buf, len, &mo->m, &d);
	if (rc) {
		rc = npu_err(NPU_ERR_FORMAT, "%s", d.msg);
		goto fail;
	}
	if (mo->m->hdr.sram_bytes > dev->ops->sram_bytes(dev->be)) {
		rc = npu_err(NPU_ERR_FORMAT, "the model needs %u bytes of NPU SRAM, the device "
			     "has %u", mo->m->hdr.sram_bytes, dev->ops->sram_bytes(dev->be));
		goto fail;
	}
	rc = model_prepare(mo);
	if (!rc) {
		mo->host_plan = npub_host_plan_new(mo->m, &d);
		if (!mo->host_plan)
			rc = npu_err(NPU_ERR_NOMEM, "%s", d.msg);
	}
	if (!rc)
		rc = model_weights(mo);
	if (!rc)
		rc = npu_obj_register(&mo->obj, NPU_OBJ_MODEL, model_destroy);
	if (rc)
		goto fail;
	*out = mo;
	return NPU_OK;
fail:
	if (mo->weights)
		dev->ops->bo_free(dev->be, mo->weights);
	npub_host_plan_free(mo->host_plan);
	npub_model_free(mo->m);
	free(mo->in_qstep);
	free(mo->out_dqstep);
	free(mo);
	npu_obj_put(o);
	return rc;
}

int npu_model_load_file(npu_device *dev, const char *path, npu_model **model)
{
	FILE *f;

	npu_err_clear();
	if (!path)
		return npu_err(NPU_ERR_INVAL, "npu_model_load_file: path is NULL");
	f = fopen(path, "rb");
	if (!f)
		return npu_err(NPU_ERR_IO, "cannot open %s: %s", path, strerror(errno));
	fclose(f);
	return model_load(dev, NULL, 0, path, model);
}

int npu_model_load_mem(npu_device *dev, const void *buf, size_t len, npu_model **model)
{
	npu_err_clear();
	return model_load(dev, buf, len, NULL, model);
}

int npu_model_free(npu_model *model)
{
	npu_err_clear();
	return npu_obj_kill(model, NPU_OBJ_MODEL, "model");
}

int npu_model_io_count(npu_model *model, enum npu_io io, uint32_t *n)
{
	struct npu_obj *o;

	npu_err_clear();
	if (!n || (io != NPU_INPUT && io != NPU_OUTPUT))
		return npu_err(NPU_ERR_INVAL, "npu_model_io_count: bad io or n NULL");
	o = npu_obj_get(model, NPU_OBJ_MODEL, "model");
	if (!o)
		return NPU_ERR_INVAL;
	*n = io == NPU_INPUT ? model->m->meta.n_inputs : model->m->meta.n_outputs;
	npu_obj_put(o);
	return NPU_OK;
}

static float f32_of(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, 4);
	return f;
}

/* The graph tensor of input / output i and the int8 tensor raw bindings use. */
void npu_model_io_tensors(const struct npu_model *mo, int output, uint32_t i, uint32_t *t,
			  uint32_t *q)
{
	const struct npub_model *m = mo->m;
	uint32_t step = output ? mo->out_dqstep[i] : mo->in_qstep[i];

	*t = m->regions[2 + (output ? m->meta.n_inputs : 0) + i].tensor;
	*q = NPUB_NONE;
	if (m->tensors[*t].dtype == NPUB_DT_INT8)
		*q = *t;
	else if (step != NPUB_NONE)
		*q = output ? m->operands[m->steps[step].in_first] :
			      m->operands[m->steps[step].out_first];
}

void npu_model_fill_info(const struct npu_model *mo, int output, uint32_t i,
		      struct npu_tensor_info *info)
{
	const struct npub_model *m = mo->m;
	uint32_t t, q;
	const struct npub_tensor *tr;

	npu_model_io_tensors(mo, output, i, &t, &q);
	tr = &m->tensors[t];
	memset(info, 0, sizeof(*info));
	snprintf(info->name, sizeof(info->name), "%s", npub_str(m, tr->name));
	info->count = (uint64_t)tr->h * (uint64_t)tr->w * (uint64_t)tr->c;
	if (tr->onnx_rank == 0 && info->count > 1) {
		info->rank = 3;
		info->dims[0] = tr->h;
		info->dims[1] = tr->w;
		info->dims[2] = tr->c;
	} else {
		info->rank = tr->onnx_rank;
		for (int k = 0; k < tr->onnx_rank && k < NPU_MAX_RANK; k++)
			info->dims[k] = tr->onnx_dims[k];
	}
	info->float_bytes = (size_t)info->count * 4;
	info->int8_bytes = (size_t)info->count;
	info->float_ok = tr->dtype == NPUB_DT_FLOAT32 || tr->dtype == NPUB_DT_INT8;
	info->int8_ok = q != NPUB_NONE;
	if (q != NPUB_NONE) {
		info->scale = f32_of(m->tensors[q].scale_bits);
		info->zero_point = m->tensors[q].zp;
	}
}

int npu_model_tensor_info(npu_model *model, enum npu_io io, uint32_t i,
			  struct npu_tensor_info *info)
{
	struct npu_obj *o;
	uint32_t n;
	int rc = NPU_OK;

	npu_err_clear();
	if (!info || (io != NPU_INPUT && io != NPU_OUTPUT))
		return npu_err(NPU_ERR_INVAL, "npu_model_tensor_info: bad io or info NULL");
	o = npu_obj_get(model, NPU_OBJ_MODEL, "model");
	if (!o)
		return NPU_ERR_INVAL;
	n = io == NPU_INPUT ? model->m->meta.n_inputs : model->m->meta.n_outputs;
	if (i >= n)
		rc = npu_err(NPU_ERR_INVAL, "the model has %u %s, no index %u", n,
			     io == NPU_INPUT ? "inputs" : "outputs", i);
	else
		npu_model_fill_info(model, io == NPU_OUTPUT, i, info);
	npu_obj_put(o);
	return rc;
}
