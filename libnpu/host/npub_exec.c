// SPDX-License-Identifier: MIT
/*
 * Running an .npub plan (npub_exec.h): graph I/O conversion, host steps
 * (boundary quantisation, float CPU nodes through ref_float, int8 nodes
 * through qref) and a complete executor on an in-process libnpusim core.
 * Host steps compute exactly what qref computes for the same nodes.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "npub_exec.h"
#include "qref.h"
#include "qvalue.h"

/* ------------------------------------------------------------------ */
/* Layout helpers                                                      */
/* ------------------------------------------------------------------ */
static size_t es_of(const struct npub_tensor *t)
{
	switch (t->dtype) {
	case NPUB_DT_FLOAT32:
	case NPUB_DT_INT32:
		return 4;
	case NPUB_DT_INT64:
		return 8;
	default:
		return 1;
	}
}

/* NCHW (c, h, w) <-> NHWC (h, w, c). */
static void convert_layout(void *dst, const void *src, const struct npub_tensor *t, int to_nchw)
{
	npuq_layout_convert(dst, src, t->h, t->w, t->c, es_of(t), to_nchw);
}

/* ONNX-visible shape of a tensor record (rank 0 with several elements: (h, w, c)). */
static void onnx_shape(const struct npub_tensor *t, int *rank, int64_t *dims)
{
	if (t->onnx_rank == 0 && t->bytes > es_of(t)) {
		*rank = 3;
		dims[0] = t->h;
		dims[1] = t->w;
		dims[2] = t->c;
		return;
	}
	*rank = t->onnx_rank;
	for (int k = 0; k < t->onnx_rank; k++)
		dims[k] = t->onnx_dims[k];
}

/* Type of the stored elements (int8 tensors: int8 whatever the model's type). */
static enum npuc_dtype dt_of(const struct npub_tensor *t)
{
	switch (t->dtype) {
	case NPUB_DT_FLOAT32:
		return NPUC_DT_F32;
	case NPUB_DT_INT32:
		return NPUC_DT_I32;
	case NPUB_DT_INT64:
		return NPUC_DT_I64;
	case NPUB_DT_BOOL:
		return NPUC_DT_BOOL;
	default:
		return NPUC_DT_I8;
	}
}

/* Type a CPU node sees: the model's (uint8 for NPUB_T_U8 int8 tensors). */
static enum npuc_dtype onnx_dt_of(const struct npub_tensor *t)
{
	return (t->flags & NPUB_T_U8) ? NPUC_DT_U8 : dt_of(t);
}

/* "(4, 3)" */
static void shape_str(char *buf, size_t len, int rank, const int64_t *dims)
{
	size_t k = (size_t)snprintf(buf, len, "(");

	for (int i = 0; i < rank && i < NPUB_MAX_RANK && k < len; i++)
		k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? ", " : "", (long long)dims[i]);
	if (k < len)
		snprintf(buf + k, len - k, ")");
}

/*
 * Value (ONNX layout) -> NHWC bytes of tensor t. The value has the stored
 * type, or uint8 for a NPUB_T_U8 tensor (flipped into the int8 domain);
 * a CPU node's result (cpu) must have the type the node sees.
 */
static int value_in(const struct npub_model *m, const struct npub_tensor *t,
		    const struct npuc_value *v, void *dst, const char *what, int cpu,
		    struct npuc_diag *d)
{
	uint64_t n = t->bytes / es_of(t);
	enum npuc_dtype want = cpu ? onnx_dt_of(t) : dt_of(t);

	if (!cpu && v->dtype == NPUC_DT_U8 && (t->flags & NPUB_T_U8))
		want = NPUC_DT_U8;
	if (v->dtype != want || !v->data || v->numel < 0 || (uint64_t)v->numel != n) {
		npuc_diag_set(d, "%s '%s': expected %s with %llu elements, got %s with %lld", what,
			      npub_str(m, t->name), npuc_dtype_name(want),
			      (unsigned long long)n, npuc_dtype_name(v->dtype),
			      (long long)v->numel);
		return -1;
	}
	if (cpu && (t->onnx_rank > 0 || n == 1) && !(t->flags & NPUB_T_NCHW)) {
		/*
		 * As qref: a CPU node's result must have the shape the model
		 * declares (recorded; onnx_rank 0 with one element: a scalar).
		 */
		int same = v->rank == t->onnx_rank;

		for (int k = 0; same && k < v->rank; k++)
			same = v->dims[k] == t->onnx_dims[k];
		if (!same) {
			char got[128], want_s[128];

			shape_str(got, sizeof(got), v->rank, v->dims);
			shape_str(want_s, sizeof(want_s), t->onnx_rank, t->onnx_dims);
			npuc_diag_set(d, "%s '%s': the node computed shape %s, the model declares %s",
				      what, npub_str(m, t->name), got, want_s);
			return -1;
		}
	}
	if (!(t->flags & NPUB_T_NCHW)) {
		memcpy(dst, v->data, (size_t)t->bytes);
	} else if (v->rank != 4 || v->dims[0] != 1 || v->dims[1] != t->c || v->dims[2] != t->h ||
		   v->dims[3] != t->w) {
		npuc_diag_set(d, "%s '%s': NCHW value must be (1, %d, %d, %d)", what,
			      npub_str(m, t->name), t->c, t->h, t->w);
		return -1;
	} else {
		convert_layout(dst, v->data, t, 0);
	}
	if (v->dtype == NPUC_DT_U8)
		npuq_flip8(dst, (int64_t)n);
	return 0;
}

/* NHWC bytes of tensor t -> owned value of type dt in the ONNX layout. */
static int value_out(const struct npub_tensor *t, const void *src, enum npuc_dtype dt,
		     int rank, const int64_t *dims, struct npuc_value *v, struct npuc_diag *d)
{
	memset(v, 0, sizeof(*v));
	if (npuc_value_alloc(v, dt, rank, dims, d))
		return -1;
	if (t->flags & NPUB_T_NCHW)
		convert_layout(v->data, src, t, 1);
	else
		memcpy(v->data, src, (size_t)t->bytes);
	if (dt == NPUC_DT_U8)
		npuq_flip8(v->data, v->numel);
	return 0;
}

int npub_input_import(const struct npub_model *m, uint32_t i, const struct npuc_value *v,
		      void *region, struct npuc_diag *d)
{
	if (i >= m->meta.n_inputs) {
		npuc_diag_set(d, "npub: no graph input %u", i);
		return -1;
	}
	return value_in(m, &m->tensors[m->regions[2 + i].tensor], v, region, "input", 0, d);
}

int npub_output_export(const struct npub_model *m, uint32_t i, const void *region,
		       struct npuc_value *v, struct npuc_diag *d)
{
	const struct npub_tensor *t;
	int64_t dims[NPUC_MAX_RANK];
	int rank;

	if (i >= m->meta.n_outputs) {
		npuc_diag_set(d, "npub: no graph output %u", i);
		return -1;
	}
	t = &m->tensors[m->regions[2 + m->meta.n_inputs + i].tensor];
	onnx_shape(t, &rank, dims);
	return value_out(t, region, dt_of(t), rank, dims, v, d);
}

void npub_fault_text(const struct npub_model *m, uint32_t s, const struct npu_job_report *rep,
		     char *buf, size_t len)
{
	const struct npub_stream *sr = s < m->n_streams ? &m->streams[s] : NULL;
	uint32_t at = rep->fault_cmd_offset, hdr = 0, op;
	const char *cmd = NULL, *field = NULL;

	if (sr && sr->size >= 4 && at <= sr->size - 4 && !(at & 3)) {
		memcpy(&hdr, m->cmds + sr->offset + at, 4);
		op = NPU_CMD_OPCODE(hdr);
		cmd = npusim_cmd_name(op);
		if (rep->fault == NPU_FAULT_BAD_FIELD)
			field = npusim_cmd_field_name(op, rep->fault_addr);
	}
	if (rep->fault == NPU_FAULT_BAD_FIELD)
		snprintf(buf, len, "stream %u faulted: BAD_FIELD in the %s at command offset %u "
			 "(field %s, byte %llu of the command)", s, cmd ? cmd : "command", at,
			 field ? field : "unknown", (unsigned long long)rep->fault_addr);
	else
		snprintf(buf, len, "stream %u faulted: %s in the %s at command offset %u "
			 "(addr 0x%llx)", s, npusim_fault_name(rep->fault), cmd ? cmd : "command",
			 at, (unsigned long long)rep->fault_addr);
}

/* ------------------------------------------------------------------ */
/* Boundary steps                                                      */
/* ------------------------------------------------------------------ */
static float f32_of(uint32_t bits)
{
	float f;

	memcpy(&f, &bits, 4);
	return f;
}

static void *tptr(const struct npub_model *m, uint8_t *const *rh, uint32_t t)
{
	return rh[m->tensors[t].region] + m->tensors[t].offset;
}

static void boundary_step(const struct npub_model *m, const struct npub_step *s,
			  uint8_t *const *rh)
{
	uint32_t ti = m->operands[s->in_first], to = m->operands[s->out_first];
	const struct npub_tensor *a = &m->tensors[ti], *b = &m->tensors[to];
	uint64_t n = a->bytes / es_of(a);

	if (s->kind == NPUB_STEP_COPY) {
		memmove(tptr(m, rh, to), tptr(m, rh, ti), (size_t)a->bytes);
	} else if (s->kind == NPUB_STEP_QUANTIZE) {
		const uint8_t *in = tptr(m, rh, ti);
		int8_t *out = tptr(m, rh, to);
		float scale = f32_of(b->scale_bits), x;

		for (uint64_t i = 0; i < n; i++) {
			memcpy(&x, in + 4 * i, 4);
			out[i] = npuq_quantize1(x, scale, b->zp);
		}
	} else {
		const int8_t *in = tptr(m, rh, ti);
		uint8_t *out = tptr(m, rh, to);
		float scale = f32_of(a->scale_bits);

		for (uint64_t i = 0; i < n; i++) {
			float y = (float)(in[i] - a->zp) * scale;

			memcpy(out + 4 * i, &y, 4);
		}
	}
}

/* ------------------------------------------------------------------ */
/* Float CPU nodes                                                     */
/* ------------------------------------------------------------------ */
static const enum npuc_dtype cdt_map[] = {
	[NPUB_CDT_F32] = NPUC_DT_F32, [NPUB_CDT_U8] = NPUC_DT_U8, [NPUB_CDT_I8] = NPUC_DT_I8,
	[NPUB_CDT_I32] = NPUC_DT_I32, [NPUB_CDT_I64] = NPUC_DT_I64, [NPUB_CDT_BOOL] = NPUC_DT_BOOL,
};

/* Adds constant ci to the one-node graph (reusing it if already there). */
static int cpu_const(const struct npub_model *m, struct npuc_graph *g, uint32_t ci,
		     struct npuc_diag *d)
{
	const struct npub_const *c = &m->consts[ci];
	const char *name = npub_str(m, c->name);
	char alt[48];
	int t = *name ? npuc_graph_find(g, name) : -1;
	void *data;

	if (t >= 0 && (g->t[t].flags & NPUC_T_CONST))
		return t;
	if (t >= 0 || !*name) {
		snprintf(alt, sizeof(alt), "__npub_const_%u", ci);
		name = alt;
		t = npuc_graph_find(g, name);
		if (t >= 0)
			return t;
	}
	t = npuc_graph_add_tensor(g, name, cdt_map[c->dtype], c->rank, c->dims, d);
	if (t < 0)
		return -1;
	data = malloc((size_t)c->bytes + 1);
	if (!data) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	memcpy(data, m->data + c->data_offset, (size_t)c->bytes);
	return npuc_tensor_set_data(g, t, data, (size_t)c->bytes, d) < 0 ? -1 : t;
}

static int cpu_attr(const struct npub_model *m, struct npuc_graph *g, int node,
		    const struct npub_attr *a, struct npuc_diag *d)
{
	struct npuc_attr r;

	memset(&r, 0, sizeof(r));
	r.name = strdup(npub_str(m, a->name));
	switch (a->type) {
	case NPUB_ATTR_INT:
		r.type = NPUC_ATTR_INT;
		r.i = a->i;
		break;
	case NPUB_ATTR_FLOAT:
		r.type = NPUC_ATTR_FLOAT;
		r.f = f32_of(a->f_bits);
		break;
	case NPUB_ATTR_STRING:
		r.type = NPUC_ATTR_STRING;
		r.s = strdup(npub_str(m, a->s));
		if (!r.s)
			goto oom;
		break;
	case NPUB_ATTR_INTS:
		r.type = NPUC_ATTR_INTS;
		r.n = (int)a->n;
		r.ints = malloc((size_t)a->n * 8 + 1);
		if (!r.ints)
			goto oom;
		if (a->n)	/* an empty list may have no data section at all */
			memcpy(r.ints, m->data + a->data_offset, (size_t)a->n * 8);
		break;
	case NPUB_ATTR_FLOATS:
		r.type = NPUC_ATTR_FLOATS;
		r.n = (int)a->n;
		r.floats = malloc((size_t)a->n * 4 + 1);
		if (!r.floats)
			goto oom;
		if (a->n)
			memcpy(r.floats, m->data + a->data_offset, (size_t)a->n * 4);
		break;
	default:
		r.type = NPUC_ATTR_TENSOR;
		r.i = cpu_const(m, g, (uint32_t)a->i, d);
		if (r.i < 0) {
			free(r.name);
			return -1;
		}
		break;
	}
	if (!r.name)
		goto oom;
	return npuc_node_add_attr(g, node, &r, d);
oom:
	free(r.name);
	free(r.s);
	free(r.ints);
	free(r.floats);
	npuc_diag_set(d, "out of memory");
	return -1;
}

/*
 * A CPU node as a one-node float graph. Built once per model (a host plan,
 * npub_host_plan_new) and then only run: the graph's inputs are the npub
 * tensors in_tensor[k], whose values each run reads from the regions.
 */
struct cpu_prep {
	struct npuc_graph *g;
	uint32_t *in_tensor;		/* npub tensor of each graph input */
	int n_in;
};

/* Graph tensor for npub tensor t (a float value of the plan). */
static int cpu_tensor(const struct npub_model *m, struct cpu_prep *p, uint32_t t, int as_input,
		      struct npuc_diag *d)
{
	const struct npub_tensor *tr = &m->tensors[t];
	const char *name = npub_str(m, tr->name);
	int64_t dims[NPUC_MAX_RANK];
	int rank, gt = npuc_graph_find(p->g, name);

	if (gt >= 0)
		return gt;
	if (!as_input)
		return npuc_graph_add_tensor(p->g, name, onnx_dt_of(tr), -1, NULL, d);
	onnx_shape(tr, &rank, dims);
	gt = npuc_graph_add_tensor(p->g, name, onnx_dt_of(tr), rank, dims, d);
	if (gt < 0)
		return -1;
	p->in_tensor[p->n_in++] = t;
	return npuq_cpu_graph_io(p->g, gt, 0, d) < 0 ? -1 : gt;
}

static int cpu_build(const struct npub_model *m, const struct npub_cpu_node *c,
		     struct cpu_prep *p, struct npuc_diag *d)
{
	int *in = calloc(c->in_count + 1, sizeof(int));
	int *out = calloc(c->out_count + 1, sizeof(int));
	int node, rc = -1;

	if (!in || !out) {
		npuc_diag_set(d, "out of memory");
		goto done;
	}
	for (uint32_t k = 0; k < c->in_count; k++) {
		uint32_t o = m->operands[c->in_first + k];

		in[k] = o == NPUB_NONE ? -1 : (o & NPUB_OPND_CONST) ?
			cpu_const(m, p->g, o & ~NPUB_OPND_CONST, d) : cpu_tensor(m, p, o, 1, d);
		if (o != NPUB_NONE && in[k] < 0)
			goto done;
	}
	for (uint32_t k = 0; k < c->out_count; k++) {
		uint32_t o = m->operands[c->out_first + k];

		out[k] = -1;
		if (o == NPUB_NONE)
			continue;
		out[k] = cpu_tensor(m, p, o, 0, d);
		if (out[k] < 0 || (p->g->t[out[k]].flags & NPUC_T_INPUT)) {
			if (out[k] >= 0)
				npuc_diag_set(d, "CPU node '%s': output is also an input",
					      npub_str(m, c->name));
			goto done;
		}
		if (npuq_cpu_graph_io(p->g, out[k], 1, d) < 0)
			goto done;
	}
	node = npuc_graph_add_node(p->g, npub_str(m, c->name)[0] ? npub_str(m, c->name) : "cpu",
				   npub_str(m, c->op), npub_str(m, c->domain), in,
				   (int)c->in_count, out, (int)c->out_count, d);
	if (node < 0)
		goto done;
	for (uint32_t k = 0; k < c->attr_count; k++)
		if (cpu_attr(m, p->g, node, &m->attrs[c->attr_first + k], d) < 0)
			goto done;
	rc = 0;
done:
	free(in);
	free(out);
	return rc;
}

/* Prefixes the diag with the CPU node; returns rc (-1 unless NPUC_REF_UNSUPPORTED). */
static int cpu_fail(const struct npub_model *m, const struct npub_cpu_node *c, int rc,
		    struct npuc_diag *d)
{
	char msg[sizeof(d->msg)];

	snprintf(msg, sizeof(msg), "%s", d->msg);
	npuc_diag_set(d, "CPU node '%s' (%s): %s", npub_str(m, c->name), npub_str(m, c->op), msg);
	return rc == NPUC_REF_UNSUPPORTED ? rc : -1;
}

static void cpu_prep_free(struct cpu_prep *p)
{
	npuc_graph_free(p->g);
	free(p->in_tensor);
	memset(p, 0, sizeof(*p));
}

static int cpu_prepare(const struct npub_model *m, const struct npub_cpu_node *c,
		       struct cpu_prep *p, struct npuc_diag *d)
{
	memset(p, 0, sizeof(*p));
	p->g = npuc_graph_new();
	p->in_tensor = calloc(c->in_count + 1, sizeof(*p->in_tensor));
	if (!p->g || !p->in_tensor) {
		npuc_diag_set(d, "out of memory");
		cpu_prep_free(p);
		return cpu_fail(m, c, -1, d);
	}
	p->g->opset = m->meta.onnx_opset;
	if (cpu_build(m, c, p, d) < 0) {
		cpu_prep_free(p);
		return cpu_fail(m, c, -1, d);
	}
	return 0;
}

/* Runs a prepared CPU node on the values in the regions. */
static int cpu_exec(const struct npub_model *m, const struct npub_cpu_node *c,
		    const struct cpu_prep *p, uint8_t *const *rh, struct npuc_diag *d)
{
	struct npuc_value *in = calloc((size_t)p->n_in + 1, sizeof(*in));
	struct npuc_value *out = calloc(c->out_count + 1, sizeof(*out));
	int rc = -1;

	if (!in || !out) {
		npuc_diag_set(d, "out of memory");
		goto done;
	}
	for (int k = 0; k < p->n_in; k++) {
		const struct npub_tensor *tr = &m->tensors[p->in_tensor[k]];
		int64_t dims[NPUC_MAX_RANK];
		int rank;

		onnx_shape(tr, &rank, dims);
		if (value_out(tr, tptr(m, rh, p->in_tensor[k]), onnx_dt_of(tr), rank, dims, &in[k],
			      d))
			goto done;
	}
	rc = npuc_ref_run(p->g, in, out, NULL, d);
	if (rc)
		goto done;
	for (int k = 0, j = 0; k < p->g->n_outputs; k++, j++) {
		uint32_t t;

		while (m->operands[c->out_first + (uint32_t)j] == NPUB_NONE)
			j++;
		t = m->operands[c->out_first + (uint32_t)j];
		rc = value_in(m, &m->tensors[t], &out[k], tptr(m, rh, t), "CPU output", 1, d);
		if (rc)
			goto done;
	}
done:
	if (rc)
		rc = cpu_fail(m, c, rc, d);
	for (int k = 0; in && k < p->n_in; k++)
		npuc_value_free(&in[k]);
	for (uint32_t k = 0; out && k < c->out_count; k++)
		npuc_value_free(&out[k]);
	free(in);
	free(out);
	return rc;
}

/* A CPU node without a host plan: prepared for this one run. */
static int cpu_step(const struct npub_model *m, const struct npub_cpu_node *c,
		    uint8_t *const *rh, struct npuc_diag *d)
{
	struct cpu_prep p;
	int rc = cpu_prepare(m, c, &p, d);

	if (!rc)
		rc = cpu_exec(m, c, &p, rh, d);
	cpu_prep_free(&p);
	return rc;
}

struct npub_host_plan {
	uint32_t n;			/* the model's CPU nodes */
	struct cpu_prep *cpu;		/* g NULL: not preparable, prepared per run (it fails) */
};

struct npub_host_plan *npub_host_plan_new(const struct npub_model *m, struct npuc_diag *d)
{
	struct npub_host_plan *p = calloc(1, sizeof(*p));
	struct npuc_diag ignored = { { 0 } };

	if (p)
		p->cpu = calloc((size_t)m->n_cpu_nodes + 1, sizeof(*p->cpu));
	if (!p || !p->cpu) {
		free(p);
		npuc_diag_set(d, "out of memory");
		return NULL;
	}
	p->n = m->n_cpu_nodes;
	/* A node that cannot be prepared fails when it runs, with the same message. */
	for (uint32_t i = 0; i < p->n; i++)
		cpu_prepare(m, &m->cpu_nodes[i], &p->cpu[i], &ignored);
	return p;
}

void npub_host_plan_free(struct npub_host_plan *p)
{
	if (!p)
		return;
	for (uint32_t i = 0; i < p->n; i++)
		cpu_prep_free(&p->cpu[i]);
	free(p->cpu);
	free(p);
}

/* ------------------------------------------------------------------ */
/* int8 nodes on the host                                              */
/* ------------------------------------------------------------------ */
static void *dup_bytes(const void *p, uint64_t n)
{
	void *q = malloc((size_t)n + 1);

	if (q && n)
		memcpy(q, p, (size_t)n);
	return q;
}

static int qnode_conv(const struct npub_model *m, const struct npub_qnode *q,
		      struct npuq_conv *p)
{
	p->k_h = q->k_h;
	p->k_w = q->k_w;
	p->stride_h = q->stride_h;
	p->stride_w = q->stride_w;
	p->dil_h = q->dil_h;
	p->dil_w = q->dil_w;
	p->pad_top = q->pad_top;
	p->pad_left = q->pad_left;
	p->pad_bottom = q->pad_bottom;
	p->pad_right = q->pad_right;
	p->groups = q->groups;
	p->w_zp = (int8_t)q->w_zp;
	p->act_min = (int8_t)q->act_min;
	p->act_max = (int8_t)q->act_max;
	p->w = dup_bytes(m->weights + q->data0_offset, q->data0_bytes);
	p->q = dup_bytes(m->weights + q->data1_offset, q->data1_bytes);
	return p->w && p->q ? 0 : -1;
}

static int qnode_eltwise(const struct npub_model *m, const struct npub_qnode *q,
			 struct npuq_eltwise *p)
{
	p->op = (enum npu_eltwise_op)q->mode;
	p->bcast = (enum npu_bcast)q->bcast;
	p->a_mult = q->mult[0];
	p->b_mult = q->mult[1];
	p->out_mult = q->mult[2];
	p->a_shift = (uint8_t)q->shift[0];
	p->b_shift = (uint8_t)q->shift[1];
	p->out_shift = (uint8_t)q->shift[2];
	p->act_min = (int8_t)q->act_min;
	p->act_max = (int8_t)q->act_max;
	if (q->in_count != 1)
		return 0;
	p->b_const = dup_bytes(m->weights + q->data0_offset, q->data0_bytes);
	p->b_zp = q->b_zp;
	p->b_scale = f32_of(q->b_scale_bits);
	return p->b_const ? 0 : -1;
}

static void qnode_pool(const struct npub_qnode *q, struct npuq_pool *p)
{
	p->mode = (enum npu_pool_mode)q->mode;
	p->k_h = q->k_h;
	p->k_w = q->k_w;
	p->stride_h = q->stride_h;
	p->stride_w = q->stride_w;
	p->pad_top = q->pad_top;
	p->pad_left = q->pad_left;
	p->pad_bottom = q->pad_bottom;
	p->pad_right = q->pad_right;
	p->count_pad = q->count_pad;
	p->mult = q->mult[0];
	p->shift = q->shift[0];
	p->act_min = (int8_t)q->act_min;
	p->act_max = (int8_t)q->act_max;
}

union qparams {
	struct npuq_conv conv;
	struct npuq_matmul matmul;
	struct npuq_eltwise eltwise;
	struct npuq_pool pool;
	struct npuq_lut lut;
};

/* The qgraph node parameters of q (pointers malloc'd: ownership goes to the graph). */
static int qnode_params(const struct npub_model *m, const struct npub_qnode *q,
			enum npuq_op *op, union qparams *u)
{
	switch (q->op) {
	case NPUB_QOP_CONV:
		*op = NPUQ_CONV;
		return qnode_conv(m, q, &u->conv);
	case NPUB_QOP_MATMUL:
		*op = NPUQ_MATMUL;
		memcpy(&u->matmul.q, m->weights + q->data1_offset, sizeof(u->matmul.q));
		u->matmul.act_min = (int8_t)q->act_min;
		u->matmul.act_max = (int8_t)q->act_max;
		return 0;
	case NPUB_QOP_ELTWISE:
		*op = NPUQ_ELTWISE;
		return qnode_eltwise(m, q, &u->eltwise);
	case NPUB_QOP_POOL:
		*op = NPUQ_POOL;
		qnode_pool(q, &u->pool);
		return 0;
	case NPUB_QOP_LUT:
		*op = NPUQ_LUT;
		memcpy(u->lut.table, m->weights + q->data0_offset, 256);
		return 0;
	default:
		*op = NPUQ_CONCAT;
		return 0;
	}
}

/* Tensor index in the one-node qgraph for plan tensor t (added on first use). */
static int q_tensor(const struct npub_model *m, struct npuq_graph *g, uint32_t t,
		    struct npuc_diag *d)
{
	const struct npub_tensor *tr = &m->tensors[t];
	const char *name = npub_str(m, tr->name);

	for (int i = 0; i < g->n_t; i++)
		if (!strcmp(g->t[i].name, name))
			return i;
	return npuq_add_tensor(g, name, tr->h, tr->w, tr->c, f32_of(tr->scale_bits), tr->zp, 0,
			       d);
}

static int qcpu_step(const struct npub_model *m, const struct npub_qnode *q,
		     uint8_t *const *rh, struct npuc_diag *d)
{
	struct npuq_graph *g = npuq_graph_new();
	int in[64], out[1], *inp = in, rc = -1;
	struct npuc_value *vin = NULL, vout;
	union qparams u;
	enum npuq_op op = NPUQ_CONCAT;

	memset(&u, 0, sizeof(u));
	memset(&vout, 0, sizeof(vout));
	if (q->in_count > 64)
		inp = calloc(q->in_count, sizeof(int));
	if (!g || !inp) {
		npuc_diag_set(d, "out of memory");
		goto done;
	}
	for (uint32_t k = 0; k < q->in_count; k++) {
		uint32_t t = m->operands[q->in_first + k];
		int known = 0, i;

		for (i = 0; i < g->n_t; i++)
			known |= !strcmp(g->t[i].name, npub_str(m, m->tensors[t].name));
		inp[k] = q_tensor(m, g, t, d);
		if (inp[k] < 0 || (!known && npuq_add_input(g, inp[k], d) < 0))
			goto done;
	}
	out[0] = q_tensor(m, g, m->operands[q->out_first], d);
	if (out[0] < 0 || npuq_add_output(g, out[0], d) < 0)
		goto done;
	if (qnode_params(m, q, &op, &u) < 0) {
		npuc_diag_set(d, "out of memory");
		if (op == NPUQ_CONV) {
			free(u.conv.w);
			free(u.conv.q);
		}
		goto done;
	}
	if (npuq_add_node(g, op, npub_str(m, m->layers[q->layer].name), inp, (int)q->in_count,
			  out, 1, op == NPUQ_CONCAT ? NULL : &u, d) < 0)
		goto done;
	vin = calloc((size_t)g->n_inputs + 1, sizeof(*vin));
	if (!vin) {
		npuc_diag_set(d, "out of memory");
		goto done;
	}
	for (int k = 0; k < g->n_inputs; k++) {
		const struct npuq_tensor *t = &g->t[g->inputs[k]];
		int64_t dims[3] = { t->h, t->w, t->c };
		uint32_t pt = 0;

		for (uint32_t j = 0; j < q->in_count; j++)
			if (inp[j] == g->inputs[k])
				pt = m->operands[q->in_first + j];
		if (npuc_value_wrap(&vin[k], NPUC_DT_I8, 3, dims, tptr(m, rh, pt), d) < 0)
			goto done;
	}
	rc = npuq_ref_run(g, vin, &vout, NULL, d);
	if (rc == 0) {
		uint32_t t = m->operands[q->out_first];

		if ((uint64_t)vout.numel != m->tensors[t].bytes) {
			npuc_diag_set(d, "int8 host node: output size mismatch");
			rc = -1;
		} else {
			memcpy(tptr(m, rh, t), vout.data, (size_t)m->tensors[t].bytes);
		}
	}
done:
	npuc_value_free(&vout);
	free(vin);
	if (inp != in)
		free(inp);
	npuq_graph_free(g);
	return rc ? -1 : 0;
}

int npub_host_step(const struct npub_model *m, uint32_t step, uint8_t *const *region_host,
		   struct npuc_diag *d)
{
	return npub_host_step_planned(m, NULL, step, region_host, d);
}

int npub_host_step_planned(const struct npub_model *m, const struct npub_host_plan *plan,
			   uint32_t step, uint8_t *const *region_host, struct npuc_diag *d)
{
	const struct npub_step *s;

	if (step >= m->n_steps) {
		npuc_diag_set(d, "npub: no step %u", step);
		return -1;
	}
	s = &m->steps[step];
	switch (s->kind) {
	case NPUB_STEP_QUANTIZE:
	case NPUB_STEP_DEQUANTIZE:
	case NPUB_STEP_COPY:
		boundary_step(m, s, region_host);
		return 0;
	case NPUB_STEP_CPU:
		if (plan && s->index < plan->n && plan->cpu[s->index].g)
			return cpu_exec(m, &m->cpu_nodes[s->index], &plan->cpu[s->index],
					region_host, d);
		return cpu_step(m, &m->cpu_nodes[s->index], region_host, d);
	case NPUB_STEP_QCPU:
		return qcpu_step(m, &m->qnodes[s->index], region_host, d);
	default:
		npuc_diag_set(d, "npub: step %u is not a host step", step);
		return -1;
	}
}

/* ------------------------------------------------------------------ */
/* In-process executor on libnpusim                                    */
/* ------------------------------------------------------------------ */
#define SIM_VA_BASE	0x00100000ull
#define SIM_PAGE	4096ull

struct flat {
	uint8_t *mem;
	uint64_t size;			/* bytes from SIM_VA_BASE */
	uint64_t *base;			/* per region VA */
	uint64_t cmd_va;
	uint64_t ro_end;		/* [SIM_VA_BASE, ro_end) is read-only (weights, inputs) */
	uint64_t ro2_start, ro2_end;	/* command area, read-only */
};

static int flat_read(void *opaque, uint64_t va, void *dst, uint32_t len, uint64_t *fault_va)
{
	const struct flat *f = opaque;

	if (va < SIM_VA_BASE || va - SIM_VA_BASE > f->size || len > f->size - (va - SIM_VA_BASE)) {
		*fault_va = va < SIM_VA_BASE ? va : va > SIM_VA_BASE + f->size ? va :
			    SIM_VA_BASE + f->size;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	memcpy(dst, f->mem + (va - SIM_VA_BASE), len);
	return NPU_FAULT_NONE;
}

static int flat_write(void *opaque, uint64_t va, const void *src, uint32_t len,
		      uint64_t *fault_va)
{
	const struct flat *f = opaque;

	if (va < SIM_VA_BASE || va - SIM_VA_BASE > f->size || len > f->size - (va - SIM_VA_BASE)) {
		*fault_va = va < SIM_VA_BASE ? va : va > SIM_VA_BASE + f->size ? va :
			    SIM_VA_BASE + f->size;
		return NPU_FAULT_MMU_UNMAPPED;
	}
	if (va < f->ro_end || (va + len > f->ro2_start && va < f->ro2_end)) {
		*fault_va = va;
		return NPU_FAULT_MMU_PERMISSION;
	}
	memcpy(f->mem + (va - SIM_VA_BASE), src, len);
	return NPU_FAULT_NONE;
}

static uint64_t page_up(uint64_t v)
{
	return (v + SIM_PAGE - 1) & ~(SIM_PAGE - 1);
}

/* Lays out regions (weights, inputs: read-only first), then the command area. */
static int flat_init(const struct npub_model *m, struct flat *f, struct npuc_diag *d)
{
	uint64_t va = SIM_VA_BASE, max_cmd = 0;

	f->base = calloc(m->n_regions + 1, sizeof(*f->base));
	if (!f->base)
		goto oom;
	for (uint32_t pass = 0; pass < 2; pass++)
		for (uint32_t r = 0; r < m->n_regions; r++) {
			int ro = m->regions[r].kind == NPUB_REGION_WEIGHTS ||
				 m->regions[r].kind == NPUB_REGION_INPUT;

			if (ro != (pass == 0))
				continue;
			f->base[r] = va;
			va = page_up(va + m->regions[r].size);
			if (pass == 0)
				f->ro_end = va;
		}
	if (!f->ro_end)
		f->ro_end = SIM_VA_BASE;
	for (uint32_t s = 0; s < m->n_streams; s++)
		max_cmd = m->streams[s].size > max_cmd ? m->streams[s].size : max_cmd;
	f->cmd_va = va;
	f->ro2_start = va;
	va = page_up(va + max_cmd);
	f->ro2_end = va;
	if (va > (1ull << 32)) {
		npuc_diag_set(d, "npub: the plan needs %llu bytes of NPU address space",
			      (unsigned long long)(va - SIM_VA_BASE));
		return -1;
	}
	f->size = va - SIM_VA_BASE;
	f->mem = calloc(1, (size_t)f->size + 1);
	if (!f->mem)
		goto oom;
	if (m->weights_size)
		memcpy(f->mem + (f->base[NPUB_REGION_WEIGHTS_ID] - SIM_VA_BASE), m->weights,
		       (size_t)m->weights_size);
	return 0;
oom:
	npuc_diag_set(d, "npub: out of memory for the simulated memory");
	return -1;
}

static int npu_step(const struct npub_model *m, struct npusim_core *core, struct flat *f,
		    uint32_t s, uint64_t budget, struct npub_run_stats *st, struct npuc_diag *d)
{
	const struct npub_stream *sr = &m->streams[s];
	struct npusim_vmem mem = { flat_read, flat_write, f };
	uint8_t *cmd = f->mem + (f->cmd_va - SIM_VA_BASE);
	struct npusim_job job;
	struct npu_job_report rep;

	memcpy(cmd, m->cmds + sr->offset, sr->size);
	if (npub_relocate(m, s, cmd, f->base, m->n_regions, d) < 0)
		return -1;
	memset(&job, 0, sizeof(job));
	job.mem = &mem;
	job.cmd_va = f->cmd_va;
	job.cmd_size = sr->size;
	job.watchdog_cycles = budget;
	if (!budget) {
		job.watchdog_cycles = NPU_WATCHDOG_DEFAULT;
		if (sr->est_cycles > NPU_WATCHDOG_DEFAULT / 2)
			job.watchdog_cycles = sr->est_cycles > 0x7fffffffull ? 0xffffffffull :
					      2 * sr->est_cycles;
	}
	if (npusim_core_run(core, &job, &rep) != NPU_FAULT_NONE) {
		char why[200];

		npub_fault_text(m, s, &rep, why, sizeof(why));
		npuc_diag_set(d, "npub: %s", why);
		return -1;
	}
	st->cycles += rep.cycles;
	st->macs += rep.macs;
	st->dram_read += rep.dram_read_bytes;
	st->dram_write += rep.dram_write_bytes;
	for (int k = 0; k < 4; k++)
		st->busy[k] += rep.busy_cycles[k];
	st->npu_jobs++;
	return 0;
}

static struct npusim_core *core_for(const struct npub_model *m)
{
	struct npusim_config cfg;

	npusim_config_default(&cfg);
	if (m->hdr.sram_bytes > cfg.sram_bytes)
		cfg.sram_bytes = (uint32_t)page_up(m->hdr.sram_bytes);
	cfg.mac_oc = m->hdr.mac_oc;
	cfg.mac_ic = m->hdr.mac_ic;
	cfg.dma_bytes_per_cycle = m->hdr.dma_bytes_per_cycle;
	cfg.vec_lanes = m->hdr.vec_lanes;
	cfg.clock_khz = m->hdr.clock_khz;
	if (npusim_config_check(&cfg, NULL, 0) < 0)
		return NULL;
	return npusim_core_create(&cfg);
}

int npub_run_sim(const struct npub_model *m, struct npusim_core *core,
		 const struct npuc_value *inputs, struct npuc_value *outputs,
		 struct npub_run_stats *stats, struct npuc_diag *d)
{
	return npub_run_sim_budget(m, core, inputs, outputs, stats, 0, d);
}

int npub_run_sim_budget(const struct npub_model *m, struct npusim_core *core,
			const struct npuc_value *inputs, struct npuc_value *outputs,
			struct npub_run_stats *stats, uint64_t budget, struct npuc_diag *d)
{
	struct npusim_core *own = NULL;
	struct npub_run_stats st;
	struct flat f;
	uint8_t **rh = NULL;
	struct npub_host_plan *plan = NULL;	/* as libnpu runs CPU steps */
	int rc = -1;

	memset(&st, 0, sizeof(st));
	memset(&f, 0, sizeof(f));
	for (uint32_t i = 0; i < m->meta.n_outputs; i++)
		memset(&outputs[i], 0, sizeof(outputs[i]));
	if (m->meta.n_inputs && !inputs) {
		npuc_diag_set(d, "npub: the model has %u inputs, none given", m->meta.n_inputs);
		return -1;
	}
	if (!core) {
		core = own = core_for(m);
		if (!core) {
			npuc_diag_set(d, "npub: cannot create a simulator for the model's target");
			return -1;
		}
	}
	if (npusim_core_config(core)->sram_bytes < m->hdr.sram_bytes) {
		npuc_diag_set(d, "npub: the plan needs %u bytes of SRAM, the core has %u",
			      m->hdr.sram_bytes, npusim_core_config(core)->sram_bytes);
		goto out;
	}
	if (flat_init(m, &f, d) < 0)
		goto out;
	rh = calloc(m->n_regions + 1, sizeof(*rh));
	if (!rh) {
		npuc_diag_set(d, "npub: out of memory");
		goto out;
	}
	for (uint32_t r = 0; r < m->n_regions; r++)
		rh[r] = f.mem + (f.base[r] - SIM_VA_BASE);
	for (uint32_t i = 0; i < m->meta.n_inputs; i++)
		if (npub_input_import(m, i, &inputs[i], rh[2 + i], d) < 0)
			goto out;
	plan = npub_host_plan_new(m, d);
	if (!plan)
		goto out;
	for (uint32_t s = 0; s < m->n_steps; s++) {
		if (m->steps[s].kind == NPUB_STEP_NPU) {
			rc = npu_step(m, core, &f, m->steps[s].index, budget, &st, d);
		} else {
			rc = npub_host_step_planned(m, plan, s, rh, d);
			st.host_steps++;
		}
		if (rc)
			goto out;
	}
	rc = -1;
	for (uint32_t i = 0; i < m->meta.n_outputs; i++)
		if (npub_output_export(m, i, rh[2 + m->meta.n_inputs + i], &outputs[i], d) < 0)
			goto out;
	rc = 0;
	if (stats)
		*stats = st;
out:
	if (rc)
		for (uint32_t i = 0; i < m->meta.n_outputs; i++)
			npuc_value_free(&outputs[i]);
	npub_host_plan_free(plan);
	free(rh);
	free(f.mem);
	free(f.base);
	npusim_core_destroy(own);
	return rc;
}
