// SPDX-License-Identifier: MIT
/*
 * npuc float reference executor: op dispatch and the run loop (values
 * and the helpers the ops share: ref_ops_common.c). Nodes run in graph order (topologically sorted by the importer);
 * every intermediate value is freed after its last consumer so memory
 * stays proportional to the live set, not the whole graph.
 */
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx_ops.h"
#include "ref_float.h"
#include "ref_ops_internal.h"

/* ---- dispatch ---- */

static const ref_op_fn ref_ops[NPUC_OP_COUNT] = {
#define OP(name, dom, ref, ...) [NPUC_OP_##name] = ref_op_##ref,
#include "onnx_ops.def"
#undef OP
};

/* The rows whose ref column says "missing". */
int ref_op_missing(struct ref_ctx *c)
{
	return ref_fail(c, "no float reference");
}

static ref_op_fn find_op(const char *op, const char *domain)
{
	ref_op_fn fn = ref_ops[npuc_op_find(domain, op)];

	return fn == ref_op_missing ? NULL : fn;
}

int npuc_ref_op_supported(const char *op, const char *domain)
{
	return find_op(op, domain) != NULL;
}

int npuc_ref_graph_supported(const struct npuc_graph *g, struct npuc_diag *d)
{
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		if (!find_op(n->op, n->domain)) {
			npuc_diag_set(d, "unsupported op %s%s%s (node '%s')",
				      n->domain && n->domain[0] ? n->domain : "",
				      n->domain && n->domain[0] ? "." : "", n->op ? n->op : "?",
				      n->name ? n->name : "");
			return -1;
		}
	}
	return 0;
}

/* ---- run loop ---- */

struct run {
	const struct npuc_graph *g;
	struct npuc_value *val;		/* per tensor */
	char *ready;			/* per tensor: val holds the value */
	int *last;			/* per tensor: last consuming node, -1 none */
	uint64_t live;			/* bytes of owned values held (NPUC_MAX_LIVE_BYTES) */
	struct npuc_diag *d;
};

static uint64_t owned_bytes(const struct npuc_value *v)
{
	return v->owned ? (uint64_t)v->numel * npuc_dtype_size(v->dtype) : 0;
}

static int same_dtype(enum npuc_dtype decl, enum npuc_dtype have)
{
	if (decl == NPUC_DT_F16 || decl == NPUC_DT_F64)
		decl = NPUC_DT_F32; /* the importer converts these to float32 */
	return decl == NPUC_DT_UNDEF || decl == have;
}

/* The value must agree with what the graph declares for tensor ti. */
static int check_decl(struct run *r, int ti, const struct npuc_value *v)
{
	const struct npuc_tensor *t = &r->g->t[ti];

	if (!same_dtype(t->dtype, v->dtype)) {
		npuc_diag_set(r->d, "tensor '%s': value type %s, graph says %s", t->name,
			      npuc_dtype_name(v->dtype), npuc_dtype_name(t->dtype));
		return -1;
	}
	if (t->rank < 0)
		return 0;
	if (t->rank != v->rank || t->rank > NPUC_MAX_RANK) {
		npuc_diag_set(r->d, "tensor '%s': value rank %d, graph says %d", t->name,
			      v->rank, t->rank);
		return -1;
	}
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i] >= 0 && t->dims[i] != v->dims[i]) {
			npuc_diag_set(r->d, "tensor '%s': dim %d is %lld, graph says %lld",
				      t->name, i, (long long)v->dims[i], (long long)t->dims[i]);
			return -1;
		}
	}
	return 0;
}

/* Makes a borrowed view of a constant tensor's data. */
static int const_value(struct run *r, int ti)
{
	const struct npuc_tensor *t = &r->g->t[ti];
	enum npuc_dtype dt = t->dtype;
	struct npuc_value *v = &r->val[ti];

	if (dt == NPUC_DT_F16 || dt == NPUC_DT_F64)
		dt = NPUC_DT_F32; /* the importer stores these as float32 */
	if (ref_value_shape(v, dt, t->rank, t->dims, r->d)) {
		npuc_diag_set(r->d, "constant '%s': bad type or shape", t->name);
		return -1;
	}
	if ((v->numel && !t->data) || t->nbytes != (size_t)v->numel * npuc_dtype_size(dt)) {
		npuc_diag_set(r->d, "constant '%s': %zu data bytes for %lld elements of %s",
			      t->name, t->nbytes, (long long)v->numel, npuc_dtype_name(dt));
		memset(v, 0, sizeof(*v));
		return -1;
	}
	v->data = t->data;
	r->ready[ti] = 1;
	return 0;
}

static int is_const(const struct npuc_tensor *t)
{
	return (t->flags & NPUC_T_CONST) || t->data;
}

static int observe(struct run *r, const struct npuc_ref_trace *tr, int node, int ti)
{
	if (!tr || !tr->observe)
		return 0;
	if (tr->observe(tr->ctx, r->g, node, ti, &r->val[ti])) {
		npuc_diag_set(r->d, "run aborted by the observer at tensor '%s'", r->g->t[ti].name);
		return -1;
	}
	return 0;
}

/* 1 if tensor ti is also graph output j for some j > i. */
static int output_again(const struct npuc_graph *g, int i, int ti)
{
	for (int j = i + 1; j < g->n_outputs; j++)
		if (g->outputs[j] == ti)
			return 1;
	return 0;
}

static void drop(struct run *r, int ti)
{
	if (!r->val[ti].owned)
		return; /* borrowed views of inputs and constants: cheap to keep */
	r->live -= owned_bytes(&r->val[ti]);
	npuc_value_free(&r->val[ti]);
	r->ready[ti] = 0;
}

static int run_init(struct run *r, const struct npuc_value *inputs,
		    const struct npuc_ref_trace *tr)
{
	const struct npuc_graph *g = r->g;

	for (int ti = 0; ti < g->n_t; ti++)
		r->last[ti] = -1;
	for (int ni = 0; ni < g->n_nodes; ni++) {
		const struct npuc_node *n = &g->nodes[ni];

		for (int k = 0; k < n->n_in; k++) {
			if (n->in[k] < -1 || n->in[k] >= g->n_t) {
				npuc_diag_set(r->d, "node '%s': bad input index", n->name);
				return -1;
			}
			if (n->in[k] >= 0)
				r->last[n->in[k]] = ni;
		}
		for (int k = 0; k < n->n_out; k++) {
			if (n->out[k] < -1 || n->out[k] >= g->n_t) {
				npuc_diag_set(r->d, "node '%s': bad output index", n->name);
				return -1;
			}
		}
	}
	for (int i = 0; i < g->n_outputs; i++) {
		if (g->outputs[i] < 0 || g->outputs[i] >= g->n_t) {
			npuc_diag_set(r->d, "bad graph output index");
			return -1;
		}
		r->last[g->outputs[i]] = INT_MAX;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		int ti = g->inputs[i];
		const struct npuc_value *in = &inputs[i];

		if (ti < 0 || ti >= g->n_t) {
			npuc_diag_set(r->d, "bad graph input index");
			return -1;
		}
		if (npuc_value_wrap(&r->val[ti], in->dtype, in->rank, in->dims, in->data, r->d))
			return -1;
		if (in->numel != r->val[ti].numel) {
			npuc_diag_set(r->d, "input '%s': numel %lld does not match its dims",
				      g->t[ti].name, (long long)in->numel);
			return -1;
		}
		if (check_decl(r, ti, &r->val[ti]))
			return -1;
		r->ready[ti] = 1;
	}
	for (int i = 0; i < g->n_inputs; i++)
		if (observe(r, tr, -1, g->inputs[i]))
			return -1;
	return 0;
}

static int run_node(struct run *r, int ni, const struct npuc_ref_trace *tr)
{
	const struct npuc_graph *g = r->g;
	const struct npuc_node *n = &g->nodes[ni];
	const struct npuc_value **in = NULL;
	struct ref_ctx c = { .g = g, .n = n, .opset = g->opset, .n_in = n->n_in,
			     .n_out = n->n_out, .d = r->d };
	ref_op_fn fn = find_op(n->op, n->domain);
	int rc = -1, frc;

	if (!fn) {
		/* with its domain: a custom-domain "Relu" is not ONNX's */
		npuc_diag_set(r->d, "unsupported op %s%s%s (node '%s')",
			      n->domain && n->domain[0] ? n->domain : "",
			      n->domain && n->domain[0] ? "." : "", n->op ? n->op : "?",
			      n->name ? n->name : "");
		return NPUC_REF_UNSUPPORTED;
	}
	in = calloc((size_t)n->n_in + 1, sizeof(*in));
	c.out = calloc((size_t)n->n_out + 1, sizeof(*c.out));
	if (!in || !c.out) {
		npuc_diag_set(r->d, "out of memory");
		goto out;
	}
	for (int k = 0; k < n->n_in; k++) {
		int ti = n->in[k];

		if (ti < 0)
			continue;
		if (!r->ready[ti] && is_const(&g->t[ti]) && const_value(r, ti))
			goto out;
		if (!r->ready[ti]) {
			npuc_diag_set(r->d, "node '%s': input '%s' has no value", n->name,
				      g->t[ti].name);
			goto out;
		}
		in[k] = &r->val[ti];
	}
	c.in = in;
	frc = fn(&c);
	if (frc) {
		rc = frc == NPUC_REF_UNSUPPORTED ? frc : -1;
		goto out;
	}
	for (int k = 0; k < n->n_out; k++) {
		int ti = n->out[k];

		if (ti < 0)
			continue;
		if (!c.out[k].data) {
			ref_fail(&c, "output %d was not produced", k);
			goto out;
		}
		if (check_decl(r, ti, &c.out[k]))
			goto out;
		r->live -= owned_bytes(&r->val[ti]);
		npuc_value_free(&r->val[ti]); /* a tensor written twice: keep the last */
		r->val[ti] = c.out[k];
		r->live += owned_bytes(&r->val[ti]);
		memset(&c.out[k], 0, sizeof(c.out[k]));
		r->ready[ti] = 1;
		if (observe(r, tr, ni, ti))
			goto out;
	}
	if (r->live > NPUC_MAX_LIVE_BYTES) {
		npuc_diag_set(r->d, "node '%s' (%s): the values alive reach %llu bytes, over "
			      "npuc's budget of %llu MiB for a float run", n->name, n->op,
			      (unsigned long long)r->live,
			      (unsigned long long)(NPUC_MAX_LIVE_BYTES >> 20));
		goto out;
	}
	rc = 0;
out:
	if (c.out)
		for (int k = 0; k < n->n_out; k++)
			npuc_value_free(&c.out[k]);
	free(c.out);
	free(in);
	return rc;
}

/* Frees every value whose last consumer was node ni (or that nobody reads). */
static void run_release(struct run *r, int ni)
{
	const struct npuc_node *n = &r->g->nodes[ni];

	for (int k = 0; k < n->n_in; k++)
		if (n->in[k] >= 0 && r->last[n->in[k]] == ni)
			drop(r, n->in[k]);
	for (int k = 0; k < n->n_out; k++)
		if (n->out[k] >= 0 && r->last[n->out[k]] < 0)
			drop(r, n->out[k]);
}

static int run_collect(struct run *r, struct npuc_value *outputs)
{
	const struct npuc_graph *g = r->g;

	for (int i = 0; i < g->n_outputs; i++) {
		int ti = g->outputs[i];
		struct npuc_value *v = &r->val[ti];

		if (!r->ready[ti] && is_const(&g->t[ti]) && const_value(r, ti))
			return -1;
		if (!r->ready[ti]) {
			npuc_diag_set(r->d, "graph output '%s' was not computed", g->t[ti].name);
			return -1;
		}
		if (v->owned && !output_again(g, i, ti)) {
			outputs[i] = *v; /* move */
			memset(v, 0, sizeof(*v));
			r->ready[ti] = 0;
		} else if (npuc_value_copy(&outputs[i], v, r->d)) {
			return -1;
		}
	}
	return 0;
}

int npuc_ref_run(const struct npuc_graph *g, const struct npuc_value *inputs,
		 struct npuc_value *outputs, const struct npuc_ref_trace *trace,
		 struct npuc_diag *d)
{
	struct run r = { .g = g, .d = d };
	int rc = -1;

	for (int i = 0; i < g->n_outputs; i++)
		memset(&outputs[i], 0, sizeof(outputs[i]));
	if (g->n_inputs > 0 && !inputs) {
		npuc_diag_set(d, "graph has %d inputs but none were given", g->n_inputs);
		return -1;
	}
	r.val = calloc((size_t)g->n_t + 1, sizeof(*r.val));
	r.ready = calloc((size_t)g->n_t + 1, 1);
	r.last = calloc((size_t)g->n_t + 1, sizeof(*r.last));
	if (!r.val || !r.ready || !r.last) {
		npuc_diag_set(d, "out of memory");
		goto out;
	}
	if (run_init(&r, inputs, trace))
		goto out;
	for (int ni = 0; ni < g->n_nodes; ni++) {
		rc = run_node(&r, ni, trace);
		if (rc)
			goto out;
		run_release(&r, ni);
	}
	rc = run_collect(&r, outputs);
out:
	if (r.val)
		for (int ti = 0; ti < g->n_t; ti++)
			npuc_value_free(&r.val[ti]);
	free(r.val);
	free(r.ready);
	free(r.last);
	if (rc)
		for (int i = 0; i < g->n_outputs; i++)
			npuc_value_free(&outputs[i]);
	return rc;
}

int npuc_ref_float_run(const struct npuc_graph *g, const float *const *inputs, float **outputs,
		       const struct npuc_ref_trace *trace, struct npuc_diag *d)
{
	struct npuc_value *in = calloc((size_t)g->n_inputs + 1, sizeof(*in));
	struct npuc_value *out = calloc((size_t)g->n_outputs + 1, sizeof(*out));
	int rc = -1;

	for (int i = 0; i < g->n_outputs; i++)
		outputs[i] = NULL;
	if (!in || !out) {
		npuc_diag_set(d, "out of memory");
		goto done;
	}
	for (int i = 0; i < g->n_inputs; i++) {
		const struct npuc_tensor *t = &g->t[g->inputs[i]];

		if (!same_dtype(t->dtype, NPUC_DT_F32) || t->dtype == NPUC_DT_UNDEF ||
		    npuc_tensor_numel(t) < 0) {
			npuc_diag_set(d, "input '%s' is not float32 with a known shape", t->name);
			goto done;
		}
		if (npuc_value_wrap(&in[i], NPUC_DT_F32, t->rank, t->dims, inputs[i], d))
			goto done;
	}
	rc = npuc_ref_run(g, in, out, trace, d);
	if (rc)
		goto done;
	rc = -1;
	for (int i = 0; i < g->n_outputs; i++) {
		if (out[i].dtype != NPUC_DT_F32) {
			npuc_diag_set(d, "output '%s' is %s, not float32",
				      g->t[g->outputs[i]].name, npuc_dtype_name(out[i].dtype));
			goto done;
		}
		outputs[i] = out[i].data; /* owned calloc'd block, handed over */
		out[i].owned = 0;
	}
	rc = 0;
done:
	if (out)
		for (int i = 0; i < g->n_outputs; i++)
			npuc_value_free(&out[i]);
	if (rc)
		for (int i = 0; i < g->n_outputs; i++) {
			free(outputs[i]);
			outputs[i] = NULL;
		}
	free(in);
	free(out);
	return rc;
}
