// SPDX-License-Identifier: MIT
/*
 * ONNX ModelProto -> npuc graph.
 *
 * Order: opset, initializers, graph inputs, node outputs (Constant nodes
 * become constant tensors here), value_info and graph outputs (types and
 * shapes), then the nodes with their inputs and attributes, then toposort.
 * Creating every node output before wiring inputs lets unsorted graphs in.
 */
#include "onnx_import.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "shape_infer.h"
#include "tensor_pb.h"

#define MAX_NODE_IO	4096	/* inputs or outputs of one node */
#define MAX_NODE_ATTRS	256	/* attributes of one node (checked pairwise) */
#define NAME_MAX_SHOWN	"200"	/* precision used when printing names */

struct imp {
	struct npuc_graph *g;
	struct npuc_diag *d;
	uint64_t const_bytes;	/* constant data accepted so far */
};

static const char *nz(const char *s)
{
	return s ? s : "";
}

static int is_default_domain(const char *dom)
{
	return !dom || !dom[0] || !strcmp(dom, "ai.onnx");
}

static int imp_opset(const Onnx__ModelProto *m, struct npuc_graph *g, struct npuc_diag *d)
{
	int found = 0;

	for (size_t i = 0; i < m->n_opset_import; i++) {
		const Onnx__OperatorSetIdProto *o = m->opset_import[i];

		if (!is_default_domain(o->domain))
			continue;
		if (found) {
			npuc_diag_set(d, "model imports the default ONNX opset twice");
			return -1;
		}
		found = 1;
		g->opset = o->has_version ? o->version : 0;
	}
	if (!found) {
		npuc_diag_set(d, "model has no opset_import for the default ONNX domain");
		return -1;
	}
	if (g->opset < NPUC_ONNX_MIN_OPSET || g->opset > NPUC_ONNX_MAX_OPSET) {
		npuc_diag_set(d, "model uses ONNX opset %lld; npuc supports opsets %d to %d",
			      (long long)g->opset, NPUC_ONNX_MIN_OPSET, NPUC_ONNX_MAX_OPSET);
		return -1;
	}
	return 0;
}

/* Decodes a TensorProto into a new constant tensor called name; returns its index. */
static int add_const(struct imp *im, const char *name, const Onnx__TensorProto *tp,
		     const char *what)
{
	struct npuc_tensor_pb tb;
	int t;

	if (npuc_tensor_from_proto(tp, what, NPUC_MAX_CONST_BYTES - im->const_bytes, &tb,
				   im->d) < 0)
		return -1;
	t = npuc_graph_add_tensor(im->g, name, tb.dtype, tb.rank, tb.dims, im->d);
	if (t < 0 || npuc_tensor_set_data(im->g, t, tb.data, tb.nbytes, im->d) < 0) {
		if (t < 0)
			free(tb.data);
		free(tb.name);
		return -1;
	}
	im->const_bytes += tb.nbytes;
	free(tb.name);
	return t;
}

/* A constant from attribute values (Constant's value_float(s) / value_int(s)). */
static int add_const_vals(struct imp *im, const char *name, enum npuc_dtype dt, int rank,
			  size_t n, const void *vals)
{
	size_t es = npuc_dtype_size(dt);
	int64_t dim = (int64_t)n;
	void *data;
	int t;

	if (n > (NPUC_MAX_CONST_BYTES - im->const_bytes) / es) {
		npuc_diag_set(im->d, "constant '%." NAME_MAX_SHOWN "s': too much constant data",
			      name);
		return -1;
	}
	data = malloc(n ? n * es : 1);
	if (!data) {
		npuc_diag_set(im->d, "constant '%." NAME_MAX_SHOWN "s': out of memory", name);
		return -1;
	}
	if (n)
		memcpy(data, vals, n * es);
	t = npuc_graph_add_tensor(im->g, name, dt, rank, &dim, im->d);
	if (t < 0) {
		free(data);
		return -1;
	}
	if (npuc_tensor_set_data(im->g, t, data, n * es, im->d) < 0)
		return -1;
	im->const_bytes += n * es;
	return t;
}

static int imp_initializers(struct imp *im, const Onnx__GraphProto *gp)
{
	char what[256];

	if (gp->n_sparse_initializer) {
		npuc_diag_set(im->d, "sparse initializers are not supported");
		return -1;
	}
	for (size_t i = 0; i < gp->n_initializer; i++) {
		const Onnx__TensorProto *tp = gp->initializer[i];
		const char *name = nz(tp->name);

		if (!name[0]) {
			npuc_diag_set(im->d, "initializer #%zu has no name", i);
			return -1;
		}
		snprintf(what, sizeof(what), "initializer '%." NAME_MAX_SHOWN "s'", name);
		if (add_const(im, name, tp, what) < 0)
			return -1;
	}
	return 0;
}

struct vtype {
	enum npuc_dtype dt;
	int rank;
	int64_t dims[NPUC_MAX_RANK];
};

/* Type and shape of a ValueInfoProto; dt UNDEF / rank -1 where absent. */
static int vi_type(const Onnx__ValueInfoProto *vi, const char *what, struct vtype *vt,
		   struct npuc_diag *d)
{
	const Onnx__TypeProto *tp = vi->type;
	const Onnx__TypeProto__Tensor *tt;
	const char *tname;

	vt->dt = NPUC_DT_UNDEF;
	vt->rank = -1;
	if (!tp || tp->value_case == ONNX__TYPE_PROTO__VALUE__NOT_SET)
		return 0;
	if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !tp->tensor_type) {
		npuc_diag_set(d, "%s: only tensor types are supported (not sequences, maps, "
			      "optionals or sparse tensors)", what);
		return -1;
	}
	tt = tp->tensor_type;
	if (tt->has_elem_type && tt->elem_type) {
		vt->dt = npuc_onnx_value_dtype(tt->elem_type);
		npuc_onnx_dtype(tt->elem_type, &tname);
		if (vt->dt == NPUC_DT_UNDEF) {
			npuc_diag_set(d, "%s: element type %s (%ld) is not supported", what, tname,
				      (long)tt->elem_type);
			return -1;
		}
	}
	if (!tt->shape)
		return 0;
	if (tt->shape->n_dim > NPUC_MAX_RANK) {
		npuc_diag_set(d, "%s: rank %zu exceeds the maximum of %d", what,
			      tt->shape->n_dim, NPUC_MAX_RANK);
		return -1;
	}
	vt->rank = (int)tt->shape->n_dim;
	for (int i = 0; i < vt->rank; i++) {
		const Onnx__TensorShapeProto__Dimension *dm = tt->shape->dim[i];

		vt->dims[i] = NPUC_DIM_UNKNOWN;
		if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
			continue;
		if (dm->dim_value < 0) {
			npuc_diag_set(d, "%s: negative dimension %lld at axis %d", what,
				      (long long)dm->dim_value, i);
			return -1;
		}
		vt->dims[i] = dm->dim_value;
	}
	return 0;
}

/* Attaches value info to an existing tensor (constants hold F16/F64 as F32). */
static int vi_apply(struct imp *im, int t, const Onnx__ValueInfoProto *vi, const char *what)
{
	struct vtype vt;

	if (vi_type(vi, what, &vt, im->d) < 0)
		return -1;
	if ((im->g->t[t].flags & NPUC_T_CONST) &&
	    (vt.dt == NPUC_DT_F16 || vt.dt == NPUC_DT_F64))
		vt.dt = NPUC_DT_F32;
	return npuc_tensor_refine(im->g, t, vt.dt, vt.rank, vt.dims, what, im->d);
}

static int imp_inputs(struct imp *im, const Onnx__GraphProto *gp)
{
	struct npuc_graph *g = im->g;
	char what[256];

	if (gp->n_input > INT_MAX / 2) {
		npuc_diag_set(im->d, "too many graph inputs");
		return -1;
	}
	g->inputs = malloc((gp->n_input + 1) * sizeof(int));
	if (!g->inputs) {
		npuc_diag_set(im->d, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < gp->n_input; i++) {
		const Onnx__ValueInfoProto *vi = gp->input[i];
		const char *name = nz(vi->name);
		struct vtype vt;
		int t;

		if (!name[0]) {
			npuc_diag_set(im->d, "graph input #%zu has no name", i);
			return -1;
		}
		snprintf(what, sizeof(what), "graph input '%." NAME_MAX_SHOWN "s'", name);
		t = npuc_graph_find(g, name);
		if (t >= 0 && (g->t[t].flags & NPUC_T_INPUT)) {
			npuc_diag_set(im->d, "%s is listed twice", what);
			return -1;
		}
		if (t >= 0) {	/* an initializer: a constant */
			if (vi_apply(im, t, vi, what) < 0)
				return -1;
			continue;
		}
		if (vi_type(vi, what, &vt, im->d) < 0)
			return -1;
		t = npuc_graph_add_tensor(g, name, vt.dt, vt.rank, vt.dims, im->d);
		if (t < 0)
			return -1;
		g->t[t].flags |= NPUC_T_INPUT;
		g->inputs[g->n_inputs++] = t;
	}
	return 0;
}

static void node_label(const Onnx__NodeProto *np, size_t k, char *buf, size_t len)
{
	if (np->name && np->name[0])
		snprintf(buf, len, "%s", np->name);
	else
		snprintf(buf, len, "%.64s_%zu", nz(np->op_type), k);
}

static int check_node_io(const Onnx__NodeProto *np, const char *label, struct npuc_diag *d)
{
	if (!np->op_type || !np->op_type[0]) {
		npuc_diag_set(d, "node '%." NAME_MAX_SHOWN "s' has no op_type", label);
		return -1;
	}
	if (np->n_input > MAX_NODE_IO || np->n_output > MAX_NODE_IO ||
	    np->n_attribute > MAX_NODE_ATTRS) {
		npuc_diag_set(d, "node '%." NAME_MAX_SHOWN "s' (%.64s): too many inputs, outputs "
			      "or attributes", label, np->op_type);
		return -1;
	}
	return 0;
}

static int imp_constant(struct imp *im, const Onnx__NodeProto *np, const char *label)
{
	const Onnx__AttributeProto *ap;
	const char *out, *an;
	char what[320];

	if (np->n_output != 1 || !np->output[0][0] || np->n_attribute != 1 || np->n_input) {
		npuc_diag_set(im->d, "Constant node '%." NAME_MAX_SHOWN "s' needs no inputs, one "
			      "named output and exactly one value attribute", label);
		return -1;
	}
	out = np->output[0];
	ap = np->attribute[0];
	an = nz(ap->name);
	snprintf(what, sizeof(what), "Constant node '%." NAME_MAX_SHOWN "s' value", label);
	if (npuc_graph_find(im->g, out) >= 0) {
		npuc_diag_set(im->d, "Constant node '%." NAME_MAX_SHOWN "s': output '%."
			      NAME_MAX_SHOWN "s' is already defined", label, out);
		return -1;
	}
	if (!strcmp(an, "value") && ap->t)
		return add_const(im, out, ap->t, what) < 0 ? -1 : 0;
	if (!strcmp(an, "value_float") && ap->has_f)
		return add_const_vals(im, out, NPUC_DT_F32, 0, 1, &ap->f) < 0 ? -1 : 0;
	if (!strcmp(an, "value_floats"))
		return add_const_vals(im, out, NPUC_DT_F32, 1, ap->n_floats, ap->floats) < 0 ?
			-1 : 0;
	if (!strcmp(an, "value_int") && ap->has_i)
		return add_const_vals(im, out, NPUC_DT_I64, 0, 1, &ap->i) < 0 ? -1 : 0;
	if (!strcmp(an, "value_ints"))
		return add_const_vals(im, out, NPUC_DT_I64, 1, ap->n_ints, ap->ints) < 0 ? -1 : 0;
	npuc_diag_set(im->d, "Constant node '%." NAME_MAX_SHOWN "s': attribute '%.64s' is not "
		      "supported (value, value_float(s) and value_int(s) are)", label, an);
	return -1;
}

/* Creates every node's output tensors (and the Constant nodes' constants). */
static int imp_node_outputs(struct imp *im, const Onnx__GraphProto *gp)
{
	char label[160];

	for (size_t k = 0; k < gp->n_node; k++) {
		const Onnx__NodeProto *np = gp->node[k];

		node_label(np, k, label, sizeof(label));
		if (check_node_io(np, label, im->d) < 0)
			return -1;
		if (is_default_domain(np->domain) && !strcmp(np->op_type, "Constant")) {
			if (imp_constant(im, np, label) < 0)
				return -1;
			continue;
		}
		for (size_t j = 0; j < np->n_output; j++) {
			const char *o = np->output[j];

			if (!o[0])
				continue;	/* omitted optional output */
			if (npuc_graph_find(im->g, o) >= 0) {
				npuc_diag_set(im->d, "node '%s' (%.64s): output '%."
					      NAME_MAX_SHOWN "s' is already defined (by another "
					      "node, an initializer or a graph input)", label,
					      np->op_type, o);
				return -1;
			}
			if (npuc_graph_add_tensor(im->g, o, NPUC_DT_UNDEF, -1, NULL, im->d) < 0)
				return -1;
		}
	}
	return 0;
}

static int imp_value_info(struct imp *im, const Onnx__GraphProto *gp)
{
	char what[256];

	for (size_t i = 0; i < gp->n_value_info; i++) {
		const Onnx__ValueInfoProto *vi = gp->value_info[i];
		int t = npuc_graph_find(im->g, nz(vi->name));

		if (t < 0)
			continue;	/* stale entry for a value the graph lacks */
		snprintf(what, sizeof(what), "value_info '%." NAME_MAX_SHOWN "s'", vi->name);
		if (vi_apply(im, t, vi, what) < 0)
			return -1;
	}
	return 0;
}

static int imp_outputs(struct imp *im, const Onnx__GraphProto *gp)
{
	struct npuc_graph *g = im->g;
	char what[256];

	if (gp->n_output > INT_MAX / 2) {
		npuc_diag_set(im->d, "too many graph outputs");
		return -1;
	}
	g->outputs = malloc((gp->n_output + 1) * sizeof(int));
	if (!g->outputs) {
		npuc_diag_set(im->d, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < gp->n_output; i++) {
		const Onnx__ValueInfoProto *vi = gp->output[i];
		const char *name = nz(vi->name);
		int t = npuc_graph_find(g, name);

		snprintf(what, sizeof(what), "graph output '%." NAME_MAX_SHOWN "s'", name);
		if (!name[0]) {
			npuc_diag_set(im->d, "graph output #%zu has no name", i);
			return -1;
		}
		if (t < 0) {
			npuc_diag_set(im->d, "%s is not produced by any node, initializer or "
				      "graph input", what);
			return -1;
		}
		if (g->t[t].flags & NPUC_T_OUTPUT) {
			npuc_diag_set(im->d, "%s is listed twice", what);
			return -1;
		}
		g->t[t].flags |= NPUC_T_OUTPUT;
		g->outputs[g->n_outputs++] = t;
		if (vi_apply(im, t, vi, what) < 0)
			return -1;
	}
	return 0;
}

static const char *attr_type_name(int32_t t)
{
	static const char *const names[] = {
		"UNDEFINED", "FLOAT", "INT", "STRING", "TENSOR", "GRAPH", "FLOATS", "INTS",
		"STRINGS", "TENSORS", "GRAPHS", "SPARSE_TENSOR", "SPARSE_TENSORS", "TYPE_PROTO",
		"TYPE_PROTOS",
	};

	if (t >= 0 && t < (int32_t)(sizeof(names) / sizeof(names[0])))
		return names[t];
	return "unknown";
}

/* IR version 1 attributes carry no type: infer it from the field in use. */
static int32_t attr_guess_type(const Onnx__AttributeProto *ap)
{
	if (ap->has_f)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT;
	if (ap->has_i)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT;
	if (ap->has_s)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING;
	if (ap->t)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR;
	if (ap->g)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH;
	if (ap->n_floats)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS;
	if (ap->n_ints)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS;
	if (ap->n_strings)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS;
	if (ap->n_graphs)
		return ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS;
	return 0;
}

/* Names a TENSOR attribute's constant "<node>/<attr>", made unique if needed. */
static int attr_tensor(struct imp *im, const char *label, const Onnx__AttributeProto *ap)
{
	char name[300], what[400];
	size_t base;

	snprintf(name, sizeof(name), "%." NAME_MAX_SHOWN "s/%.64s", label, ap->name);
	base = strlen(name);
	for (int k = 1; npuc_graph_find(im->g, name) >= 0; k++) {
		if (k > 1000) {
			npuc_diag_set(im->d, "node '%s': cannot name attribute tensor '%s'", label,
				      ap->name);
			return -1;
		}
		snprintf(name + base, sizeof(name) - base, "#%d", k);
	}
	snprintf(what, sizeof(what), "node '%s' attribute '%.64s'", label, ap->name);
	return add_const(im, name, ap->t, what);
}

static int attr_list(struct npuc_attr *a, const Onnx__AttributeProto *ap, int is_int)
{
	size_t n = is_int ? ap->n_ints : ap->n_floats;
	size_t es = is_int ? sizeof(int64_t) : sizeof(float);
	void *p;

	if (n > INT_MAX / 8)
		return -1;
	p = malloc(n ? n * es : 1);
	if (!p)
		return -1;
	if (n)
		memcpy(p, is_int ? (const void *)ap->ints : (const void *)ap->floats, n * es);
	if (is_int) {
		a->type = NPUC_ATTR_INTS;
		a->ints = p;
	} else {
		a->type = NPUC_ATTR_FLOATS;
		a->floats = p;
	}
	a->n = (int)n;
	return 0;
}

static int attr_value(struct imp *im, const char *label, const Onnx__AttributeProto *ap,
		      int32_t type, struct npuc_attr *a)
{
	switch (type) {
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT:
		a->type = NPUC_ATTR_FLOAT;
		a->f = ap->f;
		return 0;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT:
		a->type = NPUC_ATTR_INT;
		a->i = ap->i;
		return 0;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING:
		a->type = NPUC_ATTR_STRING;
		a->s = strndup(ap->s.data ? (const char *)ap->s.data : "", ap->s.len);
		return a->s ? 0 : -2;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS:
		return attr_list(a, ap, 1) < 0 ? -2 : 0;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS:
		return attr_list(a, ap, 0) < 0 ? -2 : 0;
	case ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR:
		if (!ap->t)
			return -1;
		a->type = NPUC_ATTR_TENSOR;
		a->i = attr_tensor(im, label, ap);
		return a->i < 0 ? -3 : 0;
	default:
		return -1;
	}
}

/*
 * Attributes whose type is the same in every ONNX operator that has them.
 * The ONNX checker refuses another type and so do we: an INT alpha read
 * as a float would silently compute with the default.
 */
static const struct {
	const char *name;
	enum npuc_attr_type type;
} attr_types[] = {
	{ "alpha", NPUC_ATTR_FLOAT }, { "beta", NPUC_ATTR_FLOAT }, { "gamma", NPUC_ATTR_FLOAT },
	{ "epsilon", NPUC_ATTR_FLOAT }, { "momentum", NPUC_ATTR_FLOAT },
	{ "lambd", NPUC_ATTR_FLOAT }, { "bias", NPUC_ATTR_FLOAT }, { "min", NPUC_ATTR_FLOAT },
	{ "max", NPUC_ATTR_FLOAT }, { "cubic_coeff_a", NPUC_ATTR_FLOAT },
	{ "extrapolation_value", NPUC_ATTR_FLOAT },
	{ "axis", NPUC_ATTR_INT }, { "group", NPUC_ATTR_INT }, { "keepdims", NPUC_ATTR_INT },
	{ "transA", NPUC_ATTR_INT }, { "transB", NPUC_ATTR_INT }, { "ceil_mode", NPUC_ATTR_INT },
	{ "count_include_pad", NPUC_ATTR_INT }, { "storage_order", NPUC_ATTR_INT },
	{ "blocksize", NPUC_ATTR_INT }, { "to", NPUC_ATTR_INT }, { "size", NPUC_ATTR_INT },
	{ "select_last_index", NPUC_ATTR_INT }, { "noop_with_empty_axes", NPUC_ATTR_INT },
	{ "exclude_outside", NPUC_ATTR_INT }, { "p", NPUC_ATTR_INT },
	{ "kernel_shape", NPUC_ATTR_INTS }, { "strides", NPUC_ATTR_INTS },
	{ "pads", NPUC_ATTR_INTS }, { "dilations", NPUC_ATTR_INTS },
	{ "output_padding", NPUC_ATTR_INTS }, { "output_shape", NPUC_ATTR_INTS },
	{ "perm", NPUC_ATTR_INTS }, { "axes", NPUC_ATTR_INTS }, { "split", NPUC_ATTR_INTS },
	{ "auto_pad", NPUC_ATTR_STRING }, { "mode", NPUC_ATTR_STRING },
	{ "coordinate_transformation_mode", NPUC_ATTR_STRING },
	{ "nearest_mode", NPUC_ATTR_STRING },
};

static const char *npuc_attr_type_name(enum npuc_attr_type t)
{
	static const char *const names[] = { "INT", "FLOAT", "STRING", "INTS", "FLOATS",
					     "TENSOR" };

	return (unsigned)t < sizeof(names) / sizeof(names[0]) ? names[t] : "?";
}

/* 0, or -1 with a message when a well-known attribute has another type. */
static int attr_type_check(struct imp *im, const char *label, const char *op,
			   const struct npuc_attr *a, const char *name)
{
	for (size_t k = 0; k < sizeof(attr_types) / sizeof(attr_types[0]); k++)
		if (!strcmp(attr_types[k].name, name) && attr_types[k].type != a->type) {
			npuc_diag_set(im->d, "node '%s' (%s): attribute '%s' is %s, ONNX defines "
				      "it as %s", label, op, name, npuc_attr_type_name(a->type),
				      npuc_attr_type_name(attr_types[k].type));
			return -1;
		}
	return 0;
}

static int imp_attr(struct imp *im, int node, const char *label, const char *op,
		    const Onnx__AttributeProto *ap)
{
	struct npuc_attr a = { 0 };
	int32_t type = 0;
	int r;

	if (!ap->name || !ap->name[0]) {
		npuc_diag_set(im->d, "node '%s' (%s): attribute with no name", label, op);
		return -1;
	}
	if (ap->ref_attr_name && ap->ref_attr_name[0]) {
		npuc_diag_set(im->d, "node '%s' (%s): attribute '%.64s' refers to a function "
			      "attribute outside a function", label, op, ap->name);
		return -1;
	}
	/* Read the enum as an int: hostile files may hold values outside it. */
	if (ap->has_type)
		memcpy(&type, &ap->type, sizeof(type));
	if (!type)
		type = attr_guess_type(ap);
	if (type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH ||
	    type == ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS) {
		npuc_diag_set(im->d, "node '%s' (%s): attribute '%.64s' is a subgraph; control "
			      "flow (If, Loop, Scan) is not supported", label, op, ap->name);
		return -1;
	}
	r = attr_value(im, label, ap, type, &a);
	if (r == -1)
		npuc_diag_set(im->d, "node '%s' (%s): attribute '%.64s' has unsupported type %s",
			      label, op, ap->name, attr_type_name(type));
	else if (r == -2)
		npuc_diag_set(im->d, "node '%s' (%s): attribute '%.64s': out of memory or too "
			      "many values", label, op, ap->name);
	if (r == 0 && attr_type_check(im, label, op, &a, ap->name))
		r = -4;
	a.name = strdup(ap->name);
	if (r < 0 || !a.name) {
		if (r == 0)
			npuc_diag_set(im->d, "out of memory");
		free(a.name);
		free(a.s);
		free(a.ints);
		free(a.floats);
		return -1;
	}
	return npuc_node_add_attr(im->g, node, &a, im->d);
}

static int map_names(struct imp *im, char **names, size_t n, int *idx, const char *label,
		     const char *op, int is_in)
{
	for (size_t j = 0; j < n; j++) {
		idx[j] = -1;
		if (!names[j][0])
			continue;	/* omitted optional input / output */
		idx[j] = npuc_graph_find(im->g, names[j]);
		if (idx[j] < 0 && is_in) {
			npuc_diag_set(im->d, "node '%s' (%s): input '%." NAME_MAX_SHOWN "s' is not "
				      "defined by any node, initializer or graph input", label,
				      op, names[j]);
			return -1;
		}
	}
	return 0;
}

/* Inputs the op schema requires must be present and named. */
static int check_required(struct imp *im, const Onnx__NodeProto *np, const int *in,
			  const char *label)
{
	int min = is_default_domain(np->domain) ?
		npuc_op_min_inputs(np->op_type, im->g->opset) : -1;

	for (int j = 0; j < min; j++) {
		if ((size_t)j >= np->n_input || in[j] < 0) {
			npuc_diag_set(im->d, "node '%s' (%s): required input %d is %s", label,
				      np->op_type, j, (size_t)j >= np->n_input ? "missing" :
				      "empty (no name)");
			return -1;
		}
	}
	return 0;
}

static int imp_node(struct imp *im, const Onnx__NodeProto *np, size_t k, int *in, int *out)
{
	const char *dom = is_default_domain(np->domain) ? "" : np->domain;
	char label[160];
	int node;

	node_label(np, k, label, sizeof(label));
	if (map_names(im, np->input, np->n_input, in, label, np->op_type, 1) < 0 ||
	    map_names(im, np->output, np->n_output, out, label, np->op_type, 0) < 0 ||
	    check_required(im, np, in, label) < 0)
		return -1;
	node = npuc_graph_add_node(im->g, label, np->op_type, dom, in, (int)np->n_input, out,
				   (int)np->n_output, im->d);
	if (node < 0)
		return -1;
	for (size_t j = 0; j < np->n_attribute; j++)
		if (imp_attr(im, node, label, np->op_type, np->attribute[j]) < 0)
			return -1;
	return 0;
}

static int imp_nodes(struct imp *im, const Onnx__GraphProto *gp)
{
	int *in = malloc((MAX_NODE_IO + 1) * sizeof(int));
	int *out = malloc((MAX_NODE_IO + 1) * sizeof(int));
	int ret = 0;

	if (!in || !out) {
		npuc_diag_set(im->d, "out of memory");
		ret = -1;
	}
	for (size_t k = 0; !ret && k < gp->n_node; k++) {
		const Onnx__NodeProto *np = gp->node[k];

		if (is_default_domain(np->domain) && !strcmp(np->op_type, "Constant"))
			continue;
		ret = imp_node(im, np, k, in, out);
	}
	free(in);
	free(out);
	return ret;
}

static int imp_model(struct imp *im, const Onnx__ModelProto *m)
{
	const Onnx__GraphProto *gp = m->graph;

	if (imp_opset(m, im->g, im->d) < 0)
		return -1;
	if (!gp) {
		npuc_diag_set(im->d, "model has no graph");
		return -1;
	}
	im->g->name = strdup(nz(gp->name));
	if (!im->g->name) {
		npuc_diag_set(im->d, "out of memory");
		return -1;
	}
	if (imp_initializers(im, gp) < 0 || imp_inputs(im, gp) < 0 ||
	    imp_node_outputs(im, gp) < 0 || imp_value_info(im, gp) < 0 ||
	    imp_outputs(im, gp) < 0 || imp_nodes(im, gp) < 0)
		return -1;
	return npuc_graph_toposort(im->g, im->d);
}

int npuc_onnx_load_mem(const void *buf, size_t len, struct npuc_graph **out,
		       struct npuc_diag *d)
{
	struct npuc_pb_ctx *ctx;
	Onnx__ModelProto *m;
	struct imp im = { .d = d };
	int ret;

	*out = NULL;
	if (!len) {
		npuc_diag_set(d, "model: empty input (0 bytes)");
		return -1;
	}
	m = npuc_pb_unpack(&onnx__model_proto__descriptor, buf, len, "model", &ctx, d);
	if (!m)
		return -1;
	im.g = npuc_graph_new();
	if (!im.g) {
		npuc_diag_set(d, "out of memory");
		npuc_pb_free(m, ctx);
		return -1;
	}
	ret = imp_model(&im, m);
	npuc_pb_free(m, ctx);
	if (ret < 0) {
		npuc_graph_free(im.g);
		return -1;
	}
	*out = im.g;
	return 0;
}

int npuc_onnx_load_file(const char *path, struct npuc_graph **out, struct npuc_diag *d)
{
	void *buf;
	size_t len;
	int ret;

	*out = NULL;
	if (npuc_read_file(path, NPUC_MAX_PB_FILE, &buf, &len, d) < 0)
		return -1;
	ret = npuc_onnx_load_mem(buf, len, out, d);
	if (ret < 0 && d && strncmp(d->msg, path, strlen(path))) {
		char tmp[sizeof(d->msg)];

		snprintf(tmp, sizeof(tmp), "%s", d->msg);
		npuc_diag_set(d, "%s: %s", path, tmp);
	}
	free(buf);
	return ret;
}
