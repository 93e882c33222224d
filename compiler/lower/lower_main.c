// SPDX-License-Identifier: MIT
/*
 * Lowering driver (lower.h): placement, storage, the execution plan and
 * the .npub model.
 *
 * Order of work:
 *  1. check each node's operands (what qref checks, so a graph qref runs
 *     lowers) and plan NPU nodes (tiling; QCPU fallback when impossible);
 *  2. storage: RESHAPE chains share bytes (union-find); graph I/O live in
 *     INPUT/OUTPUT regions, everything else in the ARENA at offsets from
 *     the best-fit planner over node-order live ranges;
 *  3. steps: consecutive NPU nodes form one command stream (one job), host
 *     nodes their own steps; streams are emitted with relocations;
 *  4. tensors, layers, regions, metadata; cycle estimates; validation.
 */
#include <stdlib.h>
#include <string.h>

#include "lower.h"

void npul_options_default(struct npul_options *o)
{
	memset(o, 0, sizeof(*o));
	npusim_config_default(&o->cfg);
	o->estimate = 1;
	o->compress_weights = 1;
}

/* ------------------------------------------------------------------ */
/* 1. Node checks and placement                                        */
/* ------------------------------------------------------------------ */
static int64_t numel(const struct npuq_tensor *t)
{
	return (int64_t)t->h * t->w * t->c;
}

static int64_t win_out(int64_t in, int64_t p0, int64_t p1, int64_t k, int64_t dil, int64_t s)
{
	int64_t span = in + p0 + p1, eff = (k - 1) * dil + 1;

	return span < eff || s < 1 ? -1 : (span - eff) / s + 1;
}

static int io_ok(const struct lw *l, const struct npuq_node *n, int n_in, int n_out, int i8)
{
	if ((n_in >= 0 && n->n_in != n_in) || n->n_in < 1 || n->n_out != n_out)
		return 0;
	for (int k = 0; k < n->n_in && i8; k++)
		if (l->g->t[n->in[k]].flags & NPUQ_T_FLOAT)
			return 0;
	for (int k = 0; k < n->n_out && i8; k++)
		if (l->g->t[n->out[k]].flags & NPUQ_T_FLOAT)
			return 0;
	return 1;
}

static const char *conv_check(const struct lw *l, const struct npuq_node *n)
{
	const struct npuq_conv *p = &n->u.conv;
	const struct npuq_tensor *x, *y;

	if (!io_ok(l, n, 1, 1, 1))
		return "needs one int8 input and output";
	x = lw_tin(l, n, 0);
	y = lw_tout(l, n, 0);
	if (p->k_h < 1 || p->k_w < 1 || p->dil_h < 1 || p->dil_w < 1 || p->k_h > 65535 ||
	    p->k_w > 65535 || p->dil_h > 65535 || p->dil_w > 65535 || p->pad_top < 0 ||
	    p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 || p->pad_top > 65535 ||
	    p->pad_left > 65535 || p->pad_bottom > 65535 || p->pad_right > 65535 ||
	    p->groups < 1 || x->c % p->groups || y->c % p->groups || !p->w || !p->q ||
	    p->act_min > p->act_max)
		return "bad kernel, padding, groups or parameters";
	if (win_out(x->h, p->pad_top, p->pad_bottom, p->k_h, p->dil_h, p->stride_h) != y->h ||
	    win_out(x->w, p->pad_left, p->pad_right, p->k_w, p->dil_w, p->stride_w) != y->w)
		return "output extent does not match the window";
	return NULL;
}

static const char *pool_check(const struct lw *l, const struct npuq_node *n)
{
	const struct npuq_pool *p = &n->u.pool;
	const struct npuq_tensor *x, *y;

	if (!io_ok(l, n, 1, 1, 1))
		return "needs one int8 input and output";
	x = lw_tin(l, n, 0);
	y = lw_tout(l, n, 0);
	if ((p->mode != NPU_POOL_MAX && p->mode != NPU_POOL_AVG) || p->k_h < 1 || p->k_w < 1 ||
	    (int64_t)p->k_h * p->k_w > (int64_t)NPU_POOL_MAX_WINDOW || p->pad_top < 0 ||
	    p->pad_left < 0 || p->pad_bottom < 0 || p->pad_right < 0 || p->pad_top > 65535 ||
	    p->pad_left > 65535 || p->pad_bottom > 65535 || p->pad_right > 65535 ||
	    p->mult >> 31 || p->shift > NPU_POOL_SHIFT_MAX || p->act_min > p->act_max ||
	    x->c != y->c)
		return "bad window, padding or parameters";
	if (win_out(x->h, p->pad_top, p->pad_bottom, p->k_h, 1, p->stride_h) != y->h ||
	    win_out(x->w, p->pad_left, p->pad_right, p->k_w, 1, p->stride_w) != y->w)
		return "output extent does not match the window";
	return NULL;
}

static int rescale_ok(uint32_t mult, uint32_t shift)
{
	return !(mult >> 31) && shift >= NPU_SHIFT_MIN && shift <= NPU_SHIFT_MAX;
}

static const char *eltwise_check(const struct lw *l, const struct npuq_node *n)
{
	const struct npuq_eltwise *e = &n->u.eltwise;
	const struct npuq_tensor *a, *y;
	int64_t nb;

	if (!io_ok(l, n, e->b_const ? 1 : 2, 1, 1))
		return "needs int8 operands (input B or a constant)";
	a = lw_tin(l, n, 0);
	y = lw_tout(l, n, 0);
	nb = e->bcast == NPU_BCAST_NONE ? numel(a) : e->bcast == NPU_BCAST_SCALAR ? 1 :
	     e->bcast == NPU_BCAST_CHANNEL ? a->c : -1;
	if ((e->op != NPU_ELT_ADD && e->op != NPU_ELT_SUB && e->op != NPU_ELT_MUL) || nb < 0 ||
	    !rescale_ok(e->out_mult, e->out_shift) || e->act_min > e->act_max ||
	    (e->op != NPU_ELT_MUL && (!rescale_ok(e->a_mult, e->a_shift) ||
				      !rescale_ok(e->b_mult, e->b_shift))) ||
	    (e->b_const && (e->b_zp < -128 || e->b_zp > 127)))
		return "bad op, broadcast or rescale parameters";
	if (a->h != y->h || a->w != y->w || a->c != y->c ||
	    (!e->b_const && numel(lw_tin(l, n, 1)) != nb))
		return "operand extents do not match";
	return NULL;
}

static const char *node_check(const struct lw *l, const struct npuq_node *n)
{
	const struct npuq_tensor *a, *b, *y;
	int64_t c = 0;

	switch (n->op) {
	case NPUQ_CONV:
		return conv_check(l, n);
	case NPUQ_POOL:
		return pool_check(l, n);
	case NPUQ_ELTWISE:
		return eltwise_check(l, n);
	case NPUQ_MATMUL:
		if (!io_ok(l, n, 2, 1, 1) || n->u.matmul.act_min > n->u.matmul.act_max)
			return "needs two int8 inputs and one output";
		a = lw_tin(l, n, 0);
		b = lw_tin(l, n, 1);
		y = lw_tout(l, n, 0);
		if (b->w != a->c || y->w != a->w || y->c != b->c || a->h != b->h || y->h != a->h)
			return "operand shapes do not match";
		return NULL;
	case NPUQ_LUT:
		if (!io_ok(l, n, 1, 1, 1) || numel(lw_tin(l, n, 0)) != numel(lw_tout(l, n, 0)))
			return "needs one int8 input and output of equal size";
		return NULL;
	case NPUQ_CONCAT:
		if (!io_ok(l, n, -1, 1, 1))
			return "needs int8 inputs and one output";
		y = lw_tout(l, n, 0);
		for (int k = 0; k < n->n_in; k++) {
			a = lw_tin(l, n, k);
			if (a->h != y->h || a->w != y->w)
				return "inputs do not match the output";
			c += a->c;
		}
		return c == y->c ? NULL : "input channels do not add up to the output's";
	case NPUQ_RESHAPE:
		if (!io_ok(l, n, 1, 1, 0))
			return "needs one input and one output";
		a = lw_tin(l, n, 0);
		y = lw_tout(l, n, 0);
		if (numel(a) != numel(y) ||
		    (a->flags & NPUQ_T_FLOAT) != (y->flags & NPUQ_T_FLOAT) ||
		    npuq_tensor_bytes(a) != npuq_tensor_bytes(y) ||
		    ((a->flags & NPUQ_T_FLOAT) && npuq_tensor_dtype(a) != npuq_tensor_dtype(y)) ||
		    (!(a->flags & NPUQ_T_FLOAT) && (a->scale != y->scale || a->zp != y->zp)))
			return "input and output differ in size, type or quantisation";
		return NULL;
	case NPUQ_QUANTIZE:
	case NPUQ_DEQUANTIZE:
		if (!io_ok(l, n, 1, 1, 0))
			return "needs one input and one output";
		a = lw_tin(l, n, 0);
		y = lw_tout(l, n, 0);
		if (numel(a) != numel(y) ||
		    !(a->flags & NPUQ_T_FLOAT) != (n->op == NPUQ_DEQUANTIZE) ||
		    !(y->flags & NPUQ_T_FLOAT) != (n->op == NPUQ_QUANTIZE))
			return "wrong operand types or sizes";
		b = n->op == NPUQ_QUANTIZE ? y : a;
		if (!(b->scale > 0) || b->scale != b->scale || b->scale > 3.4e38f)
			return "scale is not positive and finite";
		if (npuq_tensor_dtype(n->op == NPUQ_QUANTIZE ? a : y) != NPUC_DT_F32)
			return "the float side is not float32";
		return NULL;
	case NPUQ_CPU:
		return n->n_out < 1 ? "no outputs" : NULL;
	default:
		return "unknown op";
	}
}

static int plan_node(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	struct lnode *ln = &l->ln[ni];

	ln->target = NPUB_TARGET_NPU;
	switch (n->op) {
	case NPUQ_CONV:
		return lower_plan_conv(l, ni);
	case NPUQ_MATMUL:
		return lower_plan_matmul(l, ni);
	case NPUQ_ELTWISE:
		return lower_plan_eltwise(l, ni);
	case NPUQ_POOL:
		return lower_plan_pool(l, ni);
	case NPUQ_LUT:
		return lower_plan_lut(l, ni);
	case NPUQ_CONCAT:
		return lower_plan_concat(l, ni);
	case NPUQ_RESHAPE:
		ln->target = NPUB_TARGET_NONE;
		return 0;
	case NPUQ_QUANTIZE:
	case NPUQ_DEQUANTIZE:
		ln->target = NPUB_TARGET_HOST;
		return 0;
	default:
		ln->target = NPUB_TARGET_CPU;
		snprintf(ln->reason, sizeof(ln->reason), "%s", n->u.cpu.reason ? n->u.cpu.reason :
			 "not supported by the NPU");
		return 0;
	}
}

static int check_and_plan(struct lw *l)
{
	const struct npuq_graph *g = l->g;

	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuq_node *n = &g->nodes[i];
		const char *why;

		if (n->n_in < 0 || n->n_out < 0 || (n->n_in && !n->in) || (n->n_out && !n->out)) {
			npuc_diag_set(l->d, "lower: node '%s': bad operand arrays", n->name);
			return -1;
		}
		for (int k = 0; k < n->n_in; k++)
			if (n->in[k] < 0 || n->in[k] >= g->n_t || g->t[n->in[k]].producer >= i)
				goto bad_ref;
		for (int k = 0; k < n->n_out; k++)
			if (n->out[k] < 0 || n->out[k] >= g->n_t || g->t[n->out[k]].producer != i)
				goto bad_ref;
		why = node_check(l, n);
		if (why) {
			npuc_diag_set(l->d, "lower: %s node '%s': %s", npuq_op_name(n->op), n->name,
				      why);
			return -1;
		}
		if (plan_node(l, i) < 0) {
			npuc_diag_set(l->d, "lower: out of memory");
			return -1;
		}
		continue;
bad_ref:
		npuc_diag_set(l->d, "lower: node '%s': operand not defined before it", n->name);
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* 2. Storage                                                          */
/* ------------------------------------------------------------------ */
struct stor {
	int *root;			/* union-find over tensors (RESHAPE aliases) */
	int *io;			/* per root: the I/O tensor of the group, or -1 */
	int *first, *last;		/* per root: live range (node order) */
};

static int find(int *root, int t)
{
	while (root[t] != t) {
		root[t] = root[root[t]];
		t = root[t];
	}
	return t;
}

static int is_io(const struct npuq_tensor *t)
{
	return !!(t->flags & (NPUQ_T_INPUT | NPUQ_T_OUTPUT));
}

/* Joins RESHAPE outputs to their inputs unless both groups hold graph I/O. */
static void alias_reshapes(struct lw *l, struct stor *s)
{
	const struct npuq_graph *g = l->g;

	for (int i = 0; i < g->n_t; i++) {
		s->root[i] = i;
		s->io[i] = is_io(&g->t[i]) ? i : -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuq_node *n = &g->nodes[i];
		int a, b;

		if (n->op != NPUQ_RESHAPE)
			continue;
		a = find(s->root, n->in[0]);
		b = find(s->root, n->out[0]);
		if (s->io[a] >= 0 && s->io[b] >= 0) {
			l->ln[i].target = NPUB_TARGET_HOST;	/* a copy */
			continue;
		}
		s->root[b] = a;
		if (s->io[a] < 0)
			s->io[a] = s->io[b];
	}
}

static int regions_init(struct lw *l)
{
	const struct npuq_graph *g = l->g;
	struct npub_region r;

	memset(&r, 0, sizeof(r));
	r.align = NPUB_ALIGN;
	r.tensor = NPUB_NONE;
	r.kind = NPUB_REGION_WEIGHTS;
	if (lw_push((void **)&l->m->regions, &l->m->n_regions, sizeof(r), &r) < 0)
		return -1;
	r.kind = NPUB_REGION_ARENA;
	if (lw_push((void **)&l->m->regions, &l->m->n_regions, sizeof(r), &r) < 0)
		return -1;
	for (int k = 0; k < g->n_inputs + g->n_outputs; k++) {
		int in = k < g->n_inputs, t = in ? g->inputs[k] : g->outputs[k - g->n_inputs];

		r.kind = in ? NPUB_REGION_INPUT : NPUB_REGION_OUTPUT;
		r.index = (uint32_t)(in ? k : k - g->n_inputs);
		r.tensor = (uint32_t)t;
		r.size = (uint64_t)npuq_tensor_bytes(&g->t[t]);
		if (lw_push((void **)&l->m->regions, &l->m->n_regions, sizeof(r), &r) < 0)
			return -1;
	}
	return 0;
}

static int io_checks(struct lw *l)
{
	const struct npuq_graph *g = l->g;

	for (int k = 0; k < g->n_inputs; k++)
		if (g->inputs[k] < 0 || g->inputs[k] >= g->n_t || g->t[g->inputs[k]].producer >= 0)
			goto bad;
	for (int k = 0; k < g->n_outputs; k++) {
		int t = g->outputs[k];

		if (t < 0 || t >= g->n_t || (g->t[t].flags & NPUQ_T_INPUT) || g->t[t].producer < 0)
			goto bad;
		for (int j = 0; j < k; j++)
			if (g->outputs[j] == t)
				goto bad;
	}
	for (int k = 0; k < g->n_inputs; k++)
		for (int j = 0; j < k; j++)
			if (g->inputs[j] == g->inputs[k])
				goto bad;
	return 0;
bad:
	npuc_diag_set(l->d, "lower: graph inputs/outputs must be distinct tensors; outputs must "
		      "be computed (an output that is an input needs an Identity node)");
	return -1;
}

/* Region of the I/O tensor t (INPUT regions first, then OUTPUT). */
static uint32_t io_region(const struct lw *l, int t)
{
	for (int k = 0; k < l->g->n_inputs; k++)
		if (l->g->inputs[k] == t)
			return 2u + (uint32_t)k;
	for (int k = 0; k < l->g->n_outputs; k++)
		if (l->g->outputs[k] == t)
			return 2u + (uint32_t)l->g->n_inputs + (uint32_t)k;
	return NPUB_NONE;
}

static int plan_storage(struct lw *l, struct stor *s, uint64_t *arena, uint64_t *lb)
{
	const struct npuq_graph *g = l->g;
	int *first = calloc((size_t)g->n_t + 1, sizeof(int));
	int *last = calloc((size_t)g->n_t + 1, sizeof(int));
	uint64_t *size = calloc((size_t)g->n_t + 1, sizeof(uint64_t));
	uint64_t *off = calloc((size_t)g->n_t + 1, sizeof(uint64_t));
	uint32_t *ids = calloc((size_t)g->n_t + 1, sizeof(uint32_t));
	int rc = -1;
	uint32_t n = 0;
	int64_t total;

	if (!first || !last || !size || !off || !ids)
		goto out;
	for (int t = 0; t < g->n_t; t++)
		s->first[t] = INT32_MAX, s->last[t] = -1;
	for (int t = 0; t < g->n_t; t++) {
		int r = find(s->root, t), p = g->t[t].producer;

		s->first[r] = p < s->first[r] ? p : s->first[r];
		s->last[r] = p > s->last[r] ? p : s->last[r];
	}
	for (int i = 0; i < g->n_nodes; i++)
		for (int k = 0; k < g->nodes[i].n_in; k++) {
			int r = find(s->root, g->nodes[i].in[k]);

			s->last[r] = i > s->last[r] ? i : s->last[r];
		}
	for (int t = 0; t < g->n_t; t++) {
		if (find(s->root, t) != t || s->io[t] >= 0)
			continue;
		ids[n] = (uint32_t)t;
		first[n] = s->first[t];
		last[n] = s->last[t] >= s->first[t] ? s->last[t] : s->first[t];
		size[n] = (uint64_t)npuq_tensor_bytes(&g->t[t]);
		n++;
	}
	total = mem_plan(n, first, last, size, off, lb);
	if (total < 0)
		goto out;
	*arena = (uint64_t)total;
	for (uint32_t k = 0; k < n; k++) {
		l->treg[ids[k]] = NPUB_REGION_ARENA_ID;
		l->toff[ids[k]] = off[k];
	}
	for (int t = 0; t < g->n_t; t++) {
		int r = find(s->root, t);

		if (s->io[r] >= 0) {
			l->treg[t] = io_region(l, s->io[r]);
			l->toff[t] = 0;
		} else {
			l->treg[t] = l->treg[r];
			l->toff[t] = l->toff[r];
		}
	}
	rc = 0;
out:
	free(first);
	free(last);
	free(size);
	free(off);
	free(ids);
	return rc;
}

/* ------------------------------------------------------------------ */
/* 3. Steps and streams                                                */
/* ------------------------------------------------------------------ */
struct open_stream {
	int open;
	uint32_t step, stream;
	uint8_t *made;			/* per alias root: produced inside this stream */
	uint32_t *ins, n_ins, *outs, n_outs;
};

static int stream_open(struct lw *l, struct open_stream *os, int ni)
{
	struct npub_step st;
	struct npub_stream sr;

	memset(&st, 0, sizeof(st));
	memset(&sr, 0, sizeof(sr));
	st.kind = NPUB_STEP_NPU;
	st.index = l->m->n_streams;
	st.layer = (uint32_t)ni;
	sr.layer_first = (uint32_t)ni;
	os->step = l->m->n_steps;
	os->stream = l->m->n_streams;
	if (lw_push((void **)&l->m->steps, &l->m->n_steps, sizeof(st), &st) < 0 ||
	    lw_push((void **)&l->m->streams, &l->m->n_streams, sizeof(sr), &sr) < 0)
		return -1;
	em_reset(&l->em);
	em_begin(&l->em);
	memset(os->made, 0, (size_t)l->g->n_t + 1);
	os->n_ins = os->n_outs = 0;
	os->open = 1;
	return 0;
}

static int stream_close(struct lw *l, struct open_stream *os, int next_node)
{
	struct npub_model *m = l->m;
	struct npub_stream *sr;
	struct npub_step *st;
	uint64_t off;
	int oom = 0;

	if (!os->open)
		return 0;	/* no stream yet: steps / streams may still be NULL */
	sr = &m->streams[os->stream];
	st = &m->steps[os->step];
	os->open = 0;
	em_end(&l->em);
	if (l->em.oom)
		return -1;
	if (em_bytes(&l->em) > NPU_CMD_MAX_BYTES) {
		npuc_diag_set(l->d, "lower: command stream of %u bytes exceeds the ISA's 16 MiB",
			      em_bytes(&l->em));
		return -2;
	}
	off = lw_blob_add(&m->cmds, &m->cmds_size, &(uint64_t){ m->cmds_size }, l->em.w,
		       em_bytes(&l->em), NPUB_ALIGN, &oom);
	if (oom)
		return -1;
	sr->offset = off;
	sr->size = em_bytes(&l->em);
	sr->reloc_first = m->n_relocs;
	sr->reloc_count = l->em.n_rel;
	sr->layer_count = (uint32_t)next_node - sr->layer_first;
	for (uint32_t k = 0; k < l->em.n_rel; k++) {
		struct npub_reloc r = l->em.rel[k];

		r.stream = os->stream;
		if (lw_push((void **)&m->relocs, &m->n_relocs, sizeof(r), &r) < 0)
			return -1;
	}
	st->in_first = m->n_operands;
	for (uint32_t k = 0; k < os->n_ins; k++)
		if (lw_push((void **)&m->operands, &m->n_operands, 4, &os->ins[k]) < 0)
			return -1;
	st->in_count = os->n_ins;
	st->out_first = m->n_operands;
	for (uint32_t k = 0; k < os->n_outs; k++)
		if (lw_push((void **)&m->operands, &m->n_operands, 4, &os->outs[k]) < 0)
			return -1;
	st->out_count = os->n_outs;
	return 0;
}

static void add_unique(uint32_t *arr, uint32_t *n, uint32_t v)
{
	for (uint32_t k = 0; k < *n; k++)
		if (arr[k] == v)
			return;
	arr[(*n)++] = v;
}

/* The NPU node reads its inputs (not made in this stream) and makes its outputs. */
static void stream_note_io(struct lw *l, struct open_stream *os, struct stor *s, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];

	for (int k = 0; k < n->n_in; k++)
		if (!os->made[find(s->root, n->in[k])])
			add_unique(os->ins, &os->n_ins, (uint32_t)n->in[k]);
	for (int k = 0; k < n->n_out; k++) {
		os->made[find(s->root, n->out[k])] = 1;
		add_unique(os->outs, &os->n_outs, (uint32_t)n->out[k]);
	}
}

static int host_step(struct lw *l, int ni)
{
	const struct npuq_node *n = &l->g->nodes[ni];
	struct lnode *ln = &l->ln[ni];
	struct npub_step st;
	uint32_t idx = 0;

	memset(&st, 0, sizeof(st));
	st.layer = (uint32_t)ni;
	if (ln->target == NPUB_TARGET_CPU) {
		if (lower_cpu_node(l, ni, &idx) < 0)
			return -1;
		st.kind = NPUB_STEP_CPU;
		st.index = idx;
		st.in_first = l->m->cpu_nodes[idx].in_first;
		st.in_count = l->m->cpu_nodes[idx].in_count;
		st.out_first = l->m->cpu_nodes[idx].out_first;
		st.out_count = l->m->cpu_nodes[idx].out_count;
	} else if (ln->target == NPUB_TARGET_QCPU) {
		if (lower_qnode(l, ni, &idx) < 0)
			return -1;
		st.kind = NPUB_STEP_QCPU;
		st.index = idx;
		st.in_first = l->m->qnodes[idx].in_first;
		st.in_count = l->m->qnodes[idx].in_count;
		st.out_first = l->m->qnodes[idx].out_first;
		st.out_count = l->m->qnodes[idx].out_count;
	} else {
		uint32_t in = (uint32_t)n->in[0], out = (uint32_t)n->out[0];

		st.kind = n->op == NPUQ_QUANTIZE ? NPUB_STEP_QUANTIZE :
			  n->op == NPUQ_DEQUANTIZE ? NPUB_STEP_DEQUANTIZE : NPUB_STEP_COPY;
		st.in_first = l->m->n_operands;
		st.in_count = 1;
		st.out_first = l->m->n_operands + 1;
		st.out_count = 1;
		if (lw_push((void **)&l->m->operands, &l->m->n_operands, 4, &in) < 0 ||
		    lw_push((void **)&l->m->operands, &l->m->n_operands, 4, &out) < 0)
			goto oom;
	}
	if (lw_push((void **)&l->m->steps, &l->m->n_steps, sizeof(st), &st) < 0)
		goto oom;
	return 0;
oom:
	npuc_diag_set(l->d, "lower: out of memory");
	return -1;
}

static int emit_npu(struct lw *l, int ni)
{
	switch (l->g->nodes[ni].op) {
	case NPUQ_CONV:
		lower_emit_conv(l, ni);
		break;
	case NPUQ_MATMUL:
		lower_emit_matmul(l, ni);
		break;
	case NPUQ_ELTWISE:
		lower_emit_eltwise(l, ni);
		break;
	case NPUQ_POOL:
		lower_emit_pool(l, ni);
		break;
	case NPUQ_LUT:
		lower_emit_lut(l, ni);
		break;
	default:
		lower_emit_concat(l, ni);
		break;
	}
	return l->em.oom || l->oom ? -1 : 0;
}

/* Streams longer than this are closed before the next layer (limit: 16 MiB). */
#define STREAM_SOFT_MAX (4u << 20)

static int build_steps(struct lw *l, struct stor *s)
{
	const struct npuq_graph *g = l->g;
	struct open_stream os;
	int rc = -1;

	memset(&os, 0, sizeof(os));
	os.made = calloc((size_t)g->n_t + 1, 1);
	os.ins = calloc((size_t)g->n_t + 1, sizeof(uint32_t));
	os.outs = calloc((size_t)g->n_t + 1, sizeof(uint32_t));
	if (!os.made || !os.ins || !os.outs)
		goto oom;
	for (int i = 0; i < g->n_nodes; i++) {
		struct lnode *ln = &l->ln[i];
		struct npub_layer *ly = &l->m->layers[i];

		ly->stream = NPUB_NONE;
		ly->step = NPUB_NONE;
		if (ln->target == NPUB_TARGET_NONE)
			continue;
		if (ln->target != NPUB_TARGET_NPU) {
			if ((rc = stream_close(l, &os, i)) < 0 || host_step(l, i) < 0)
				goto fail;
			ly->step = l->m->n_steps - 1;
			continue;
		}
		if (os.open && em_bytes(&l->em) > STREAM_SOFT_MAX) {
			rc = stream_close(l, &os, i);
			if (rc < 0)
				goto fail;
		}
		if (!os.open && stream_open(l, &os, i) < 0)
			goto oom;
		ly->step = os.step;
		ly->stream = os.stream;
		ly->cmd_offset = em_bytes(&l->em);
		l->em.sram_hi = 0;
		if (emit_npu(l, i) < 0)
			goto oom;
		ly->cmd_bytes = em_bytes(&l->em) - ly->cmd_offset;
		stream_note_io(l, &os, s, i);
	}
	if ((rc = stream_close(l, &os, g->n_nodes)) < 0)
		goto fail;
	rc = 0;
	goto out;
oom:
	rc = -1;
fail:
	if (rc != -2)
		npuc_diag_set(l->d, "lower: out of memory");
	rc = -1;
out:
	free(os.made);
	free(os.ins);
	free(os.outs);
	return rc;
}

/* ------------------------------------------------------------------ */
/* 4. Records                                                          */
/* ------------------------------------------------------------------ */
/* The .npub element type of a qgraph tensor, 0 if it has none. */
static uint32_t npub_dtype_of(const struct npuq_tensor *t)
{
	switch (npuq_tensor_dtype(t)) {
	case NPUC_DT_I8:
	case NPUC_DT_U8:
		return NPUB_DT_INT8;
	case NPUC_DT_F32:
		return NPUB_DT_FLOAT32;
	case NPUC_DT_I32:
		return NPUB_DT_INT32;
	case NPUC_DT_I64:
		return NPUB_DT_INT64;
	case NPUC_DT_BOOL:
		return NPUB_DT_BOOL;
	default:
		return 0;
	}
}

static int tensor_records(struct lw *l, struct stor *s)
{
	const struct npuq_graph *g = l->g;

	l->m->tensors = calloc((size_t)g->n_t + 1, sizeof(*l->m->tensors));
	if (!l->m->tensors)
		return -1;
	l->m->n_tensors = (uint32_t)g->n_t;
	for (int i = 0; i < g->n_t; i++) {
		const struct npuq_tensor *t = &g->t[i];
		struct npub_tensor *r = &l->m->tensors[i];
		int rank;

		r->name = npub_add_str(l->m, t->name);
		if (r->name == NPUB_NONE)
			return -1;
		r->flags = ((t->flags & NPUQ_T_INPUT) ? NPUB_T_INPUT : 0) |
			   ((t->flags & NPUQ_T_OUTPUT) ? NPUB_T_OUTPUT : 0) |
			   (t->nchw ? NPUB_T_NCHW : 0) |
			   (npuq_tensor_dtype(t) == NPUC_DT_U8 ? NPUB_T_U8 : 0);
		r->alias = NPUB_NONE;
		r->dtype = npub_dtype_of(t);
		if (!r->dtype) {
			npuc_diag_set(l->d, "lower: tensor '%s': unsupported element type %s",
				      t->name, npuc_dtype_name(t->dtype));
			return -2;
		}
		r->region = l->treg[i];
		r->offset = l->toff[i];
		r->bytes = (uint64_t)npuq_tensor_bytes(t);
		r->h = t->h;
		r->w = t->w;
		r->c = t->c;
		if (r->dtype == NPUB_DT_INT8) {
			r->zp = t->zp;
			memcpy(&r->scale_bits, &t->scale, 4);
		}
		if (npuq_tensor_onnx_shape(t, &rank, r->onnx_dims, l->d) < 0)
			return -2;
		r->onnx_rank = rank;
	}
	/* Aliases point at their group's owner: the graph I/O tensor if any, else the root. */
	for (int i = 0; i < g->n_t; i++) {
		int r = find(s->root, i), owner = s->io[r] >= 0 ? s->io[r] : r;

		if (owner != i) {
			l->m->tensors[i].flags |= NPUB_T_ALIAS;
			l->m->tensors[i].alias = (uint32_t)owner;
		}
	}
	return 0;
}

static void layer_desc(const struct npuq_node *n, const struct npuq_graph *g, char *buf,
		       size_t len)
{
	buf[0] = '\0';
	if (n->op == NPUQ_CONV) {
		const struct npuq_conv *p = &n->u.conv;
		const struct npuq_tensor *x = &g->t[n->in[0]];

		snprintf(buf, len, "%dx%d/%d%s%s", p->k_h, p->k_w, p->stride_h,
			 p->groups > 1 && p->groups == x->c ? " dw" : p->groups > 1 ? " grp" : "",
			 p->dil_h > 1 ? " dil" : "");
	} else if (n->op == NPUQ_POOL) {
		const struct npuq_pool *p = &n->u.pool;

		snprintf(buf, len, "%s %dx%d/%d", p->mode == NPU_POOL_MAX ? "max" : "avg", p->k_h,
			 p->k_w, p->stride_h);
	} else if (n->op == NPUQ_ELTWISE) {
		static const char *const ops[] = { "add", "sub", "mul" };

		snprintf(buf, len, "%s%s", (unsigned int)n->u.eltwise.op < 3 ?
			 ops[n->u.eltwise.op] : "?", n->u.eltwise.b_const ? " const" : "");
	} else if (n->op == NPUQ_LUT && n->u.lut.fn) {
		snprintf(buf, len, "%s", n->u.lut.fn);
	}
}

static uint64_t analytic_macs(const struct lw *l, const struct npuq_node *n)
{
	if (n->op == NPUQ_CONV) {
		const struct npuq_tensor *x = lw_tin(l, n, 0), *y = lw_tout(l, n, 0);

		return (uint64_t)y->h * y->w * y->c * n->u.conv.k_h * n->u.conv.k_w *
		       (uint64_t)(x->c / n->u.conv.groups);
	}
	if (n->op == NPUQ_MATMUL) {
		const struct npuq_tensor *a = lw_tin(l, n, 0), *b = lw_tin(l, n, 1);

		return (uint64_t)a->h * a->w * a->c * b->c;
	}
	return 0;
}

static int layer_records(struct lw *l)
{
	const struct npuq_graph *g = l->g;

	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuq_node *n = &g->nodes[i];
		const struct lnode *ln = &l->ln[i];
		struct npub_layer *ly = &l->m->layers[i];
		char desc[64];
		const char *op = npuq_op_name(n->op);

		if (n->op == NPUQ_CPU && g->src && n->u.cpu.src_node >= 0 &&
		    n->u.cpu.src_node < g->src->n_nodes)
			op = g->src->nodes[n->u.cpu.src_node].op;
		layer_desc(n, g, desc, sizeof(desc));
		ly->name = npub_add_str(l->m, n->name);
		ly->op = npub_add_str(l->m, op);
		ly->desc = npub_add_str(l->m, desc);
		ly->reason = npub_add_str(l->m, ln->reason);
		if (ly->name == NPUB_NONE || ly->op == NPUB_NONE || ly->desc == NPUB_NONE ||
		    ly->reason == NPUB_NONE)
			return -1;
		ly->target = ln->target;
		if (n->n_in) {
			ly->in_h = lw_tin(l, n, 0)->h;
			ly->in_w = lw_tin(l, n, 0)->w;
			ly->in_c = lw_tin(l, n, 0)->c;
		}
		if (n->n_out) {
			ly->out_h = lw_tout(l, n, 0)->h;
			ly->out_w = lw_tout(l, n, 0)->w;
			ly->out_c = lw_tout(l, n, 0)->c;
		}
		ly->tiles = ln->target == NPUB_TARGET_NPU ? ln->tiles : 0;
		ly->sram_peak = ln->target == NPUB_TARGET_NPU ? ln->sram_peak : 0;
		ly->macs = analytic_macs(l, n);
		ly->weight_bytes = ln->w_bytes[0] + ln->w_bytes[1];
	}
	return 0;
}

static void header_meta(struct lw *l, uint64_t arena, uint64_t lb)
{
	struct npub_model *m = l->m;
	const struct npul_options *o = l->o;

	m->hdr.isa_version = NPU_ISA_VERSION;
	m->hdr.sram_bytes = l->sram;
	m->hdr.mac_oc = l->cfg->mac_oc;
	m->hdr.mac_ic = l->cfg->mac_ic;
	m->hdr.dma_bytes_per_cycle = l->cfg->dma_bytes_per_cycle;
	m->hdr.vec_lanes = l->cfg->vec_lanes;
	m->hdr.clock_khz = l->cfg->clock_khz;
	if (o->source_sha256)
		memcpy(m->meta.source_sha256, o->source_sha256, 32);
	m->meta.source_bytes = o->source_bytes;
	m->meta.producer = npub_add_str(m, "npuc");
	m->meta.compiler_version = npub_add_str(m, o->compiler_version ? o->compiler_version : "");
	m->meta.options = npub_add_str(m, o->options ? o->options : "");
	m->meta.model_name = npub_add_str(m, o->model_name ? o->model_name :
					  (l->g->src && l->g->src->name ? l->g->src->name : ""));
	m->meta.onnx_opset = l->g->src ? l->g->src->opset : 0;
	m->meta.arena_bytes = arena;
	m->meta.arena_lower_bound = lb;
	m->meta.n_inputs = (uint32_t)l->g->n_inputs;
	m->meta.n_outputs = (uint32_t)l->g->n_outputs;
	m->regions[NPUB_REGION_ARENA_ID].size = arena;
	m->weights = l->wbuf;
	m->weights_size = l->wsize;
	l->wbuf = NULL;
	m->regions[NPUB_REGION_WEIGHTS_ID].size = m->weights_size;
	m->meta.weights_bytes = m->weights_size;
}

/* ------------------------------------------------------------------ */
/* Driver                                                              */
/* ------------------------------------------------------------------ */
static void lw_free(struct lw *l)
{
	if (l->ln)
		for (int i = 0; i < l->g->n_nodes; i++)
			free(l->ln[i].plan);
	free(l->ln);
	free(l->treg);
	free(l->toff);
	free(l->wbuf);
	em_free(&l->em);
}

static int lower_run(struct lw *l, struct stor *s)
{
	const struct npuq_graph *g = l->g;
	uint64_t arena = 0, lb = 0;
	int rc;

	if (io_checks(l) < 0 || check_and_plan(l) < 0)
		return -1;
	alias_reshapes(l, s);
	if (regions_init(l) < 0 || plan_storage(l, s, &arena, &lb) < 0)
		goto oom;
	if (arena >= (UINT64_C(1) << 32)) {
		/* a region is what one NPU address window maps (npub.h) */
		npuc_diag_set(l->d, "lower: the model's tensors need an arena of %llu bytes; npu-v1 maps "
			      "at most 4 GiB per region", (unsigned long long)arena);
		return -1;
	}
	rc = tensor_records(l, s);
	if (rc == -1)
		goto oom;
	if (rc < 0)
		return -1;
	l->m->layers = calloc((size_t)g->n_nodes + 1, sizeof(*l->m->layers));
	if (!l->m->layers)
		goto oom;
	l->m->n_layers = (uint32_t)g->n_nodes;
	if (layer_records(l) < 0)
		goto oom;
	if (build_steps(l, s) < 0)
		return -1;
	if (l->oom)
		goto oom;
	header_meta(l, arena, lb);
	if (l->o->estimate && lower_estimate(l->m, l->cfg, l->d) < 0)
		return -1;
	return npub_validate(l->m, l->d);
oom:
	npuc_diag_set(l->d, "lower: out of memory");
	return -1;
}

int npul_lower(const struct npuq_graph *g, const struct npul_options *o,
	       struct npub_model **out, struct npuc_diag *d)
{
	struct npul_options def;
	struct lw l;
	struct stor s;
	char msg[sizeof(d->msg)];
	int rc = -1;

	*out = NULL;
	if (!o) {
		npul_options_default(&def);
		o = &def;
	}
	if (!g || g->n_t < 1) {
		npuc_diag_set(d, "lower: empty graph");
		return -1;
	}
	if (npusim_config_check(&o->cfg, msg, sizeof(msg)) < 0) {
		npuc_diag_set(d, "lower: bad target configuration: %s", msg);
		return -1;
	}
	memset(&l, 0, sizeof(l));
	memset(&s, 0, sizeof(s));
	l.g = g;
	l.o = o;
	l.cfg = &o->cfg;
	l.d = d;
	l.sram = o->sram_limit && o->sram_limit < o->cfg.sram_bytes ? o->sram_limit :
		 o->cfg.sram_bytes;
	em_init(&l.em);
	l.m = npub_model_new();
	l.ln = calloc((size_t)g->n_nodes + 1, sizeof(*l.ln));
	l.treg = calloc((size_t)g->n_t + 1, sizeof(*l.treg));
	l.toff = calloc((size_t)g->n_t + 1, sizeof(*l.toff));
	s.root = calloc((size_t)g->n_t + 1, sizeof(int));
	s.io = calloc((size_t)g->n_t + 1, sizeof(int));
	s.first = calloc((size_t)g->n_t + 1, sizeof(int));
	s.last = calloc((size_t)g->n_t + 1, sizeof(int));
	if (!l.m || !l.ln || !l.treg || !l.toff || !s.root || !s.io || !s.first || !s.last)
		npuc_diag_set(d, "lower: out of memory");
	else
		rc = lower_run(&l, &s);
	lw_free(&l);
	free(s.root);
	free(s.io);
	free(s.first);
	free(s.last);
	if (rc < 0) {
		npub_model_free(l.m);
		return -1;
	}
	*out = l.m;
	return 0;
}

