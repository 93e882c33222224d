// SPDX-License-Identifier: MIT
/*
 * Host-side records of the plan (lower.h): float CPU nodes (struct
 * npub_cpu_node with its attributes and constants) and int8 nodes the NPU
 * cannot run (struct npub_qnode).
 *
 * A CPU node is stored as the ONNX node itself: op type, domain,
 * attributes and constant inputs, with its non-constant inputs and its
 * outputs naming plan tensors. The runtime rebuilds a one-node graph and
 * runs it with ref_float, exactly what qref does, so results agree with
 * the reference bit for bit, independently of the source model file.
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

static int cdt_of(enum npuc_dtype dt, uint32_t *out)
{
	switch (dt) {
	case NPUC_DT_F32:
		*out = NPUB_CDT_F32;
		return 0;
	case NPUC_DT_F16:
	case NPUC_DT_F64:
		/* Imported as float32 data. */
		*out = NPUB_CDT_F32;
		return npuc_dtype_size(dt) == 4 ? 0 : -1;
	case NPUC_DT_U8:
		*out = NPUB_CDT_U8;
		return 0;
	case NPUC_DT_I8:
		*out = NPUB_CDT_I8;
		return 0;
	case NPUC_DT_I32:
		*out = NPUB_CDT_I32;
		return 0;
	case NPUC_DT_I64:
		*out = NPUB_CDT_I64;
		return 0;
	case NPUC_DT_BOOL:
		*out = NPUB_CDT_BOOL;
		return 0;
	default:
		return -1;
	}
}

/* Adds source tensor si (a constant) as a CPU constant; returns its index or -1. */
static int64_t add_const(struct lw *l, const struct npuc_tensor *t)
{
	struct npub_const c;
	uint32_t idx = l->m->n_consts;

	memset(&c, 0, sizeof(c));
	if (cdt_of(t->dtype, &c.dtype) < 0 || t->rank < 0 || t->rank > NPUB_MAX_RANK) {
		npuc_diag_set(l->d, "lower: constant '%s': unsupported type or unknown shape",
			      t->name);
		return -1;
	}
	c.name = npub_add_str(l->m, t->name);
	c.rank = t->rank;
	for (int k = 0; k < t->rank; k++) {
		if (t->dims[k] < 0) {
			npuc_diag_set(l->d, "lower: constant '%s': unknown dimension", t->name);
			return -1;
		}
		c.dims[k] = t->dims[k];
	}
	c.bytes = t->nbytes;
	c.data_offset = lw_data_add(l, t->data, t->nbytes);
	if (c.name == NPUB_NONE || l->oom ||
	    lw_push((void **)&l->m->consts, &l->m->n_consts, sizeof(c), &c) < 0)
		goto oom;
	return idx;
oom:
	l->oom = 1;
	npuc_diag_set(l->d, "lower: out of memory");
	return -1;
}

static int is_const(const struct npuc_tensor *t)
{
	return t->data || (t->flags & NPUC_T_CONST);
}

static int add_attr(struct lw *l, const struct npuc_graph *src, const struct npuc_attr *a)
{
	struct npub_attr r;
	int64_t ci;

	memset(&r, 0, sizeof(r));
	r.name = npub_add_str(l->m, a->name);
	switch (a->type) {
	case NPUC_ATTR_INT:
		r.type = NPUB_ATTR_INT;
		r.i = a->i;
		break;
	case NPUC_ATTR_FLOAT:
		r.type = NPUB_ATTR_FLOAT;
		memcpy(&r.f_bits, &a->f, 4);
		break;
	case NPUC_ATTR_STRING:
		r.type = NPUB_ATTR_STRING;
		r.s = npub_add_str(l->m, a->s ? a->s : "");
		break;
	case NPUC_ATTR_INTS:
		r.type = NPUB_ATTR_INTS;
		r.n = (uint32_t)(a->n > 0 ? a->n : 0);
		r.data_offset = lw_data_add(l, a->ints, (uint64_t)r.n * 8);
		break;
	case NPUC_ATTR_FLOATS:
		r.type = NPUB_ATTR_FLOATS;
		r.n = (uint32_t)(a->n > 0 ? a->n : 0);
		r.data_offset = lw_data_add(l, a->floats, (uint64_t)r.n * 4);
		break;
	case NPUC_ATTR_TENSOR:
		if (a->i < 0 || a->i >= src->n_t) {
			npuc_diag_set(l->d, "lower: attribute '%s': bad tensor", a->name);
			return -1;
		}
		ci = add_const(l, &src->t[a->i]);
		if (ci < 0)
			return -1;
		r.type = NPUB_ATTR_TENSOR;
		r.i = ci;
		break;
	default:
		npuc_diag_set(l->d, "lower: attribute '%s': unknown type", a->name);
		return -1;
	}
	if (r.name == NPUB_NONE || r.s == NPUB_NONE || l->oom ||
	    lw_push((void **)&l->m->attrs, &l->m->n_attrs, sizeof(r), &r) < 0) {
		l->oom = 1;
		npuc_diag_set(l->d, "lower: out of memory");
		return -1;
	}
	return 0;
}

static int push_opnd(struct lw *l, uint32_t v)
{
	if (lw_push((void **)&l->m->operands, &l->m->n_operands, sizeof(v), &v) < 0) {
		l->oom = 1;
		npuc_diag_set(l->d, "lower: out of memory");
		return -1;
	}
	return 0;
}

/*
 * qref hands a CPU node its input in the source tensor's declared shape
 * when the element counts agree (and the data is not NCHW). Where the
 * qgraph tensor has no ONNX shape of its own and is not graph I/O (whose
 * shape the API fixes), record that shape so the runtime does the same.
 */
static void cpu_value_shape(struct lw *l, uint32_t t, const struct npuc_tensor *st)
{
	const struct npuq_tensor *qt = &l->g->t[t];
	struct npub_tensor *r = &l->m->tensors[t];

	if (qt->nchw || qt->onnx_rank || (qt->flags & (NPUQ_T_INPUT | NPUQ_T_OUTPUT)) ||
	    st->rank < 0 || st->rank > NPUB_MAX_RANK ||
	    npuc_tensor_numel(st) != (int64_t)qt->h * qt->w * qt->c)
		return;
	for (int k = 0; k < st->rank; k++)
		if (st->dims[k] < 1)
			return;
	r->onnx_rank = st->rank;
	memset(r->onnx_dims, 0, sizeof(r->onnx_dims));
	for (int k = 0; k < st->rank; k++)
		r->onnx_dims[k] = st->dims[k];
}

/* Input operands as qref maps them: distinct non-constant inputs in first-use order. */
static int cpu_inputs(struct lw *l, const struct npuq_node *n, const struct npuc_node *sn,
		      struct npub_cpu_node *c)
{
	const struct npuc_graph *src = l->g->src;
	int k = 0;

	c->in_first = l->m->n_operands;
	for (int j = 0; j < sn->n_in; j++) {
		int si = sn->in[j], prev = -1;
		uint32_t v = NPUB_NONE;
		int64_t ci;

		if (si >= 0 && si < src->n_t && is_const(&src->t[si])) {
			ci = add_const(l, &src->t[si]);
			if (ci < 0)
				return -1;
			v = NPUB_OPND_CONST | (uint32_t)ci;
		} else if (si >= 0 && si < src->n_t) {
			for (int q = 0; q < j; q++)
				if (sn->in[q] == si)
					prev = q;
			if (prev >= 0) {
				v = l->m->operands[c->in_first + (uint32_t)prev];
			} else if (k < n->n_in) {
				v = (uint32_t)n->in[k++];
				cpu_value_shape(l, v, &src->t[si]);
			} else {
				npuc_diag_set(l->d, "lower: CPU node '%s': more non-constant "
					      "inputs than the node has", n->name);
				return -1;
			}
		}
		if (push_opnd(l, v) < 0)
			return -1;
	}
	c->in_count = (uint32_t)sn->n_in;
	if (k != n->n_in) {
		npuc_diag_set(l->d, "lower: CPU node '%s': %d inputs, the source node has %d "
			      "non-constant ones", n->name, n->n_in, k);
		return -1;
	}
	return 0;
}

static int cpu_outputs(struct lw *l, const struct npuq_node *n, const struct npuc_node *sn,
		       struct npub_cpu_node *c)
{
	const struct npuc_graph *src = l->g->src;
	int m = 0;

	c->out_first = l->m->n_operands;
	for (int j = 0; j < sn->n_out; j++) {
		int si = sn->out[j];
		uint32_t v = NPUB_NONE;

		if (si >= 0 && si < src->n_t) {
			if (m >= n->n_out) {
				npuc_diag_set(l->d, "lower: CPU node '%s': outputs do not match "
					      "the source node's", n->name);
				return -1;
			}
			v = (uint32_t)n->out[m++];
		}
		if (push_opnd(l, v) < 0)
			return -1;
	}
	c->out_count = (uint32_t)sn->n_out;
	if (m != n->n_out || !m) {
		npuc_diag_set(l->d, "lower: CPU node '%s': %d outputs, the source node has %d",
			      n->name, n->n_out, m);
		return -1;
	}
	return 0;
}

int lower_cpu_node(struct lw *l, int ni, uint32_t *index)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	const struct npuc_graph *src = l->g->src;
	const struct npuc_node *sn;
	struct npub_cpu_node c;

	if (!src || n->u.cpu.src_node < 0 || n->u.cpu.src_node >= src->n_nodes) {
		npuc_diag_set(l->d, "lower: CPU node '%s': no source node %d", n->name,
			      n->u.cpu.src_node);
		return -1;
	}
	sn = &src->nodes[n->u.cpu.src_node];
	memset(&c, 0, sizeof(c));
	c.name = npub_add_str(l->m, sn->name);
	c.op = npub_add_str(l->m, sn->op);
	c.domain = npub_add_str(l->m, sn->domain ? sn->domain : "");
	c.layer = (uint32_t)ni;
	c.attr_first = l->m->n_attrs;
	for (int k = 0; k < sn->n_attrs; k++)
		if (add_attr(l, src, &sn->attrs[k]) < 0)
			return -1;
	c.attr_count = l->m->n_attrs - c.attr_first;
	if (cpu_inputs(l, n, sn, &c) < 0 || cpu_outputs(l, n, sn, &c) < 0)
		return -1;
	*index = l->m->n_cpu_nodes;
	if (c.name == NPUB_NONE || c.op == NPUB_NONE || c.domain == NPUB_NONE ||
	    lw_push((void **)&l->m->cpu_nodes, &l->m->n_cpu_nodes, sizeof(c), &c) < 0) {
		l->oom = 1;
		npuc_diag_set(l->d, "lower: out of memory");
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* int8 nodes on the host                                              */
/* ------------------------------------------------------------------ */
static void qnode_conv(struct lw *l, const struct npuq_node *n, struct npub_qnode *q)
{
	const struct npuq_conv *p = &n->u.conv;
	const struct npuq_tensor *x = lw_tin(l, n, 0), *y = lw_tout(l, n, 0);
	uint64_t wb = (uint64_t)y->c * p->k_h * p->k_w * (x->c / p->groups);

	q->op = NPUB_QOP_CONV;
	q->k_h = p->k_h;
	q->k_w = p->k_w;
	q->stride_h = p->stride_h;
	q->stride_w = p->stride_w;
	q->dil_h = p->dil_h;
	q->dil_w = p->dil_w;
	q->pad_top = p->pad_top;
	q->pad_left = p->pad_left;
	q->pad_bottom = p->pad_bottom;
	q->pad_right = p->pad_right;
	q->groups = p->groups;
	q->w_zp = p->w_zp;
	q->act_min = p->act_min;
	q->act_max = p->act_max;
	q->data0_offset = lw_weights_add(l, p->w, wb);
	q->data0_bytes = wb;
	q->data1_offset = lw_weights_add(l, p->q, 12ull * y->c);
	q->data1_bytes = 12ull * y->c;
}

static void qnode_eltwise(struct lw *l, const struct npuq_node *n, struct npub_qnode *q)
{
	const struct npuq_eltwise *e = &n->u.eltwise;
	const struct npuq_tensor *x = lw_tin(l, n, 0);

	q->op = NPUB_QOP_ELTWISE;
	q->mode = (int32_t)e->op;
	q->bcast = (int32_t)e->bcast;
	q->mult[0] = e->a_mult;
	q->mult[1] = e->b_mult;
	q->mult[2] = e->out_mult;
	q->shift[0] = e->a_shift;
	q->shift[1] = e->b_shift;
	q->shift[2] = e->out_shift;
	q->act_min = e->act_min;
	q->act_max = e->act_max;
	if (e->b_const) {
		uint64_t nb = e->bcast == NPU_BCAST_NONE ? (uint64_t)x->h * x->w * x->c :
			      e->bcast == NPU_BCAST_SCALAR ? 1 : (uint64_t)x->c;

		q->b_zp = e->b_zp;
		memcpy(&q->b_scale_bits, &e->b_scale, 4);
		q->data0_offset = lw_weights_add(l, e->b_const, nb);
		q->data0_bytes = nb;
	}
}

static void qnode_pool(const struct npuq_pool *p, struct npub_qnode *q)
{
	q->op = NPUB_QOP_POOL;
	q->mode = (int32_t)p->mode;
	q->k_h = p->k_h;
	q->k_w = p->k_w;
	q->stride_h = p->stride_h;
	q->stride_w = p->stride_w;
	q->dil_h = q->dil_w = 1;
	q->pad_top = p->pad_top;
	q->pad_left = p->pad_left;
	q->pad_bottom = p->pad_bottom;
	q->pad_right = p->pad_right;
	q->count_pad = p->count_pad ? 1 : 0;
	q->mult[0] = p->mult;
	q->shift[0] = p->shift;
	q->act_min = p->act_min;
	q->act_max = p->act_max;
}

static void qnode_params(struct lw *l, const struct npuq_node *n, struct npub_qnode *q)
{
	q->act_min = -128;
	q->act_max = 127;
	switch (n->op) {
	case NPUQ_CONV:
		qnode_conv(l, n, q);
		break;
	case NPUQ_MATMUL:
		q->op = NPUB_QOP_MATMUL;
		q->act_min = n->u.matmul.act_min;
		q->act_max = n->u.matmul.act_max;
		q->data1_offset = lw_weights_add(l, &n->u.matmul.q, 12);
		q->data1_bytes = 12;
		break;
	case NPUQ_ELTWISE:
		qnode_eltwise(l, n, q);
		break;
	case NPUQ_POOL:
		qnode_pool(&n->u.pool, q);
		break;
	case NPUQ_LUT:
		q->op = NPUB_QOP_LUT;
		q->data0_offset = lw_weights_add(l, n->u.lut.table, 256);
		q->data0_bytes = 256;
		break;
	default:	/* CONCAT */
		q->op = NPUB_QOP_CONCAT;
		break;
	}
}

int lower_qnode(struct lw *l, int ni, uint32_t *index)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	struct npub_qnode q;

	memset(&q, 0, sizeof(q));
	q.layer = (uint32_t)ni;
	qnode_params(l, n, &q);
	q.in_first = l->m->n_operands;
	for (int k = 0; k < n->n_in; k++)
		if (push_opnd(l, (uint32_t)n->in[k]) < 0)
			return -1;
	q.in_count = (uint32_t)n->n_in;
	q.out_first = l->m->n_operands;
	for (int k = 0; k < n->n_out; k++)
		if (push_opnd(l, (uint32_t)n->out[k]) < 0)
			return -1;
	q.out_count = (uint32_t)n->n_out;
	*index = l->m->n_qnodes;
	if (l->oom || lw_push((void **)&l->m->qnodes, &l->m->n_qnodes, sizeof(q), &q) < 0) {
		l->oom = 1;
		npuc_diag_set(l->d, "lower: out of memory");
		return -1;
	}
	return 0;
}
