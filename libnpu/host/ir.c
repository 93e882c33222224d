// SPDX-License-Identifier: MIT
/*
 * npuc graph IR: tensors, nodes, attributes, name index, toposort.
 *
 * The name index is an open-addressing hash table (FNV-1a, linear probing,
 * power-of-two capacity kept at most half full) mapping tensor names to
 * indices; it is rebuilt from scratch when it grows.
 */
#include "ir.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct name_index {
	int *slot;		/* tensor index, -1 = empty */
	size_t cap;		/* power of two */
	uint64_t seed;		/* per graph: crafted colliding names need the address */
};

size_t npuc_dtype_size(enum npuc_dtype dt)
{
	switch (dt) {
	case NPUC_DT_F32:
	case NPUC_DT_I32:
		return 4;
	case NPUC_DT_U8:
	case NPUC_DT_I8:
	case NPUC_DT_BOOL:
		return 1;
	case NPUC_DT_I64:
	case NPUC_DT_F64:
		return 8;
	case NPUC_DT_F16:
		return 2;
	default:
		return 0;
	}
}

const char *npuc_dtype_name(enum npuc_dtype dt)
{
	static const char *const names[NPUC_DT_COUNT] = {
		[NPUC_DT_UNDEF] = "undef", [NPUC_DT_F32] = "f32", [NPUC_DT_U8] = "u8",
		[NPUC_DT_I8] = "i8", [NPUC_DT_I32] = "i32", [NPUC_DT_I64] = "i64",
		[NPUC_DT_BOOL] = "bool", [NPUC_DT_F16] = "f16", [NPUC_DT_F64] = "f64",
	};

	if ((unsigned int)dt >= NPUC_DT_COUNT)
		return "invalid";
	return names[dt];
}

static size_t name_hash(const struct name_index *ix, const char *s)
{
	uint64_t h = 1469598103934665603ull ^ ix->seed;

	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	h ^= h >> 29;	/* fold the high bits into the masked low ones */
	return (size_t)h;
}

static void index_insert(struct name_index *ix, const struct npuc_graph *g, int t)
{
	size_t m = ix->cap - 1, i = name_hash(ix, g->t[t].name) & m;

	while (ix->slot[i] >= 0)
		i = (i + 1) & m;
	ix->slot[i] = t;
}

/* Makes room for one more name; rebuilds the table when it would pass half full. */
static int index_reserve(struct npuc_graph *g)
{
	struct name_index *ix = g->name_index;
	size_t need = (size_t)g->n_t + 1, cap;
	int *slot;

	if (ix->cap >= 2 * need)
		return 0;
	cap = ix->cap ? ix->cap : 64;
	while (cap < 2 * need)
		cap *= 2;
	slot = malloc(cap * sizeof(*slot));
	if (!slot)
		return -1;
	free(ix->slot);
	ix->slot = slot;
	ix->cap = cap;
	for (size_t i = 0; i < cap; i++)
		slot[i] = -1;
	for (int t = 0; t < g->n_t; t++)
		index_insert(ix, g, t);
	return 0;
}

struct npuc_graph *npuc_graph_new(void)
{
	struct npuc_graph *g = calloc(1, sizeof(*g));
	struct name_index *ix;

	if (!g)
		return NULL;
	ix = calloc(1, sizeof(*ix));
	if (!ix) {
		free(g);
		return NULL;
	}
	/* Address-space randomisation gives each graph a different seed. */
	ix->seed = (uint64_t)(uintptr_t)ix * 0x9e3779b97f4a7c15ull;
	g->name_index = ix;
	return g;
}

static void node_strings_free(struct npuc_node *n)
{
	free(n->name);
	free(n->op);
	free(n->domain);
	free(n->in);
	free(n->out);
}

static void attr_free(struct npuc_attr *a)
{
	free(a->name);
	free(a->s);
	free(a->ints);
	free(a->floats);
}

void npuc_graph_free(struct npuc_graph *g)
{
	struct name_index *ix;

	if (!g)
		return;
	for (int i = 0; i < g->n_t; i++) {
		free(g->t[i].name);
		free(g->t[i].data);
	}
	for (int i = 0; i < g->n_nodes; i++) {
		struct npuc_node *n = &g->nodes[i];

		node_strings_free(n);
		for (int j = 0; j < n->n_attrs; j++)
			attr_free(&n->attrs[j]);
		free(n->attrs);
	}
	ix = g->name_index;
	if (ix)
		free(ix->slot);
	free(ix);
	free(g->t);
	free(g->nodes);
	free(g->inputs);
	free(g->outputs);
	free(g->name);
	free(g);
}

int npuc_graph_find(const struct npuc_graph *g, const char *name)
{
	const struct name_index *ix;
	size_t m, i;

	if (!g || !name)
		return -1;
	ix = g->name_index;
	if (!ix || !ix->cap)
		return -1;
	m = ix->cap - 1;
	for (i = name_hash(ix, name) & m; ix->slot[i] >= 0; i = (i + 1) & m)
		if (strcmp(g->t[ix->slot[i]].name, name) == 0)
			return ix->slot[i];
	return -1;
}

int npuc_array_grow(void **arr, int *cap, int n, size_t elem)
{
	int ncap;
	void *p;

	if (n < *cap)
		return 0;
	if (n >= INT_MAX / 2)
		return -1;
	ncap = *cap ? *cap * 2 : 16;
	if (ncap <= n)
		ncap = n + 1;
	p = realloc(*arr, (size_t)ncap * elem);
	if (!p)
		return -1;
	*arr = p;
	*cap = ncap;
	return 0;
}

static int tensor_args_check(const char *name, enum npuc_dtype dt, int rank,
			     const int64_t *dims, struct npuc_diag *d)
{
	if (!name || !name[0]) {
		npuc_diag_set(d, "tensor with an empty name");
		return -1;
	}
	if ((unsigned int)dt >= NPUC_DT_COUNT) {
		npuc_diag_set(d, "tensor '%s': invalid dtype %d", name, (int)dt);
		return -1;
	}
	if (rank < -1 || rank > NPUC_MAX_RANK || (rank > 0 && !dims)) {
		npuc_diag_set(d, "tensor '%s': invalid rank %d (max %d)", name, rank,
			      NPUC_MAX_RANK);
		return -1;
	}
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 && dims[i] != NPUC_DIM_UNKNOWN) {
			npuc_diag_set(d, "tensor '%s': negative dimension %lld at axis %d", name,
				      (long long)dims[i], i);
			return -1;
		}
	}
	return 0;
}

int npuc_graph_add_tensor(struct npuc_graph *g, const char *name, enum npuc_dtype dt,
			  int rank, const int64_t *dims, struct npuc_diag *d)
{
	struct npuc_tensor *t;
	char *copy;
	void *arr;

	if (tensor_args_check(name, dt, rank, dims, d) < 0)
		return -1;
	if (npuc_graph_find(g, name) >= 0) {
		npuc_diag_set(d, "duplicate tensor name '%s'", name);
		return -1;
	}
	arr = g->t;
	if (npuc_array_grow(&arr, &g->cap_t, g->n_t, sizeof(*g->t)) < 0)
		goto oom;
	g->t = arr;
	if (index_reserve(g) < 0)
		goto oom;
	copy = strdup(name);
	if (!copy)
		goto oom;
	t = &g->t[g->n_t];
	memset(t, 0, sizeof(*t));
	t->name = copy;
	t->dtype = dt;
	t->rank = rank;
	for (int i = 0; i < NPUC_MAX_RANK; i++)
		t->dims[i] = i < rank ? dims[i] : NPUC_DIM_UNKNOWN;
	t->producer = -1;
	index_insert(g->name_index, g, g->n_t);
	return g->n_t++;
oom:
	npuc_diag_set(d, "out of memory adding tensor '%s'", name);
	return -1;
}

int64_t npuc_tensor_numel(const struct npuc_tensor *t)
{
	int64_t n = 1;

	if (!t || t->rank < 0 || t->rank > NPUC_MAX_RANK)
		return -1;
	for (int i = 0; i < t->rank; i++) {
		if (t->dims[i] < 0)
			return -1;
		if (t->dims[i] && n > INT64_MAX / t->dims[i])
			return -1;
		n *= t->dims[i];
	}
	return n;
}

int npuc_tensor_set_data(struct npuc_graph *g, int t, void *data, size_t nbytes,
			 struct npuc_diag *d)
{
	struct npuc_tensor *tt;
	size_t es;
	int64_t n;

	if (!g || t < 0 || t >= g->n_t) {
		npuc_diag_set(d, "set_data: invalid tensor index %d", t);
		free(data);
		return -1;
	}
	tt = &g->t[t];
	es = npuc_dtype_size(tt->dtype);
	n = npuc_tensor_numel(tt);
	if (!data || !es || n < 0) {
		npuc_diag_set(d, "tensor '%s': constant data needs a known dtype and shape%s",
			      tt->name, data ? "" : " (and data)");
		free(data);
		return -1;
	}
	if ((uint64_t)n > SIZE_MAX / es || (size_t)n * es != nbytes) {
		npuc_diag_set(d, "tensor '%s': %zu data bytes for %lld elements of %s",
			      tt->name, nbytes, (long long)n, npuc_dtype_name(tt->dtype));
		free(data);
		return -1;
	}
	free(tt->data);
	tt->data = data;
	tt->nbytes = nbytes;
	tt->flags |= NPUC_T_CONST;
	return 0;
}

int npuc_tensor_refine(struct npuc_graph *g, int t, enum npuc_dtype dt, int rank,
		       const int64_t *dims, const char *what, struct npuc_diag *d)
{
	struct npuc_tensor *x;

	if (!g || t < 0 || t >= g->n_t || rank < -1 || rank > NPUC_MAX_RANK ||
	    (unsigned int)dt >= NPUC_DT_COUNT || (rank > 0 && !dims)) {
		npuc_diag_set(d, "%s: invalid shape information", what);
		return -1;
	}
	x = &g->t[t];
	if (dt != NPUC_DT_UNDEF) {
		if (x->dtype != NPUC_DT_UNDEF && x->dtype != dt) {
			npuc_diag_set(d, "%s: tensor '%s' has type %s, not %s", what, x->name,
				      npuc_dtype_name(x->dtype), npuc_dtype_name(dt));
			return -1;
		}
		x->dtype = dt;
	}
	if (rank < 0)
		return 0;
	if (x->rank >= 0 && x->rank != rank) {
		npuc_diag_set(d, "%s: tensor '%s' has rank %d, not %d", what, x->name, x->rank,
			      rank);
		return -1;
	}
	for (int i = 0; i < rank; i++) {
		if (dims[i] < 0 && dims[i] != NPUC_DIM_UNKNOWN) {
			npuc_diag_set(d, "%s: tensor '%s': negative dimension %lld", what, x->name,
				      (long long)dims[i]);
			return -1;
		}
		if (x->rank >= 0 && dims[i] >= 0 && x->dims[i] >= 0 && x->dims[i] != dims[i]) {
			npuc_diag_set(d, "%s: tensor '%s' has dimension %lld at axis %d, not %lld",
				      what, x->name, (long long)x->dims[i], i, (long long)dims[i]);
			return -1;
		}
	}
	for (int i = 0; i < rank; i++)
		if (x->rank < 0 || x->dims[i] < 0)
			x->dims[i] = dims[i];
	x->rank = rank;
	return 0;
}

static char *dup_or_empty(const char *s)
{
	return strdup(s ? s : "");
}

/* Input / output indices in range; outputs not defined yet nor listed twice. */
static int node_io_check(const struct npuc_graph *g, const char *name, const char *op,
			 const int *in, int n_in, const int *out, int n_out, struct npuc_diag *d)
{
	int i;

	for (i = 0; i < n_in; i++) {
		if (in[i] < -1 || in[i] >= g->n_t) {
			npuc_diag_set(d, "node '%s' (%s): input %d refers to no tensor", name, op,
				      i);
			return -1;
		}
	}
	for (i = 0; i < n_out; i++) {
		const struct npuc_tensor *t;

		if (out[i] < -1 || out[i] >= g->n_t) {
			npuc_diag_set(d, "node '%s' (%s): output %d refers to no tensor", name, op,
				      i);
			return -1;
		}
		if (out[i] < 0)
			continue;
		t = &g->t[out[i]];
		if (t->producer >= 0 || (t->flags & (NPUC_T_INPUT | NPUC_T_CONST))) {
			npuc_diag_set(d, "node '%s' (%s): output '%s' is already defined "
				      "(by another node, a graph input or a constant)",
				      name, op, t->name);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (out[j] == out[i]) {
				npuc_diag_set(d, "node '%s' (%s): output '%s' listed twice", name,
					      op, t->name);
				return -1;
			}
		}
	}
	return 0;
}

int npuc_graph_add_node(struct npuc_graph *g, const char *name, const char *op,
			const char *domain, const int *in, int n_in, const int *out, int n_out,
			struct npuc_diag *d)
{
	struct npuc_node *n;
	void *arr;

	name = name ? name : "";
	if (!op || !op[0]) {
		npuc_diag_set(d, "node '%s': empty op type", name);
		return -1;
	}
	if (n_in < 0 || n_out < 0 || (n_in && !in) || (n_out && !out)) {
		npuc_diag_set(d, "node '%s' (%s): bad input/output arrays", name, op);
		return -1;
	}
	if (node_io_check(g, name, op, in, n_in, out, n_out, d) < 0)
		return -1;
	arr = g->nodes;
	if (npuc_array_grow(&arr, &g->cap_nodes, g->n_nodes, sizeof(*g->nodes)) < 0)
		goto oom;
	g->nodes = arr;
	n = &g->nodes[g->n_nodes];
	memset(n, 0, sizeof(*n));
	n->name = strdup(name);
	n->op = strdup(op);
	n->domain = dup_or_empty(domain);
	n->in = malloc((size_t)(n_in ? n_in : 1) * sizeof(int));
	n->out = malloc((size_t)(n_out ? n_out : 1) * sizeof(int));
	if (!n->name || !n->op || !n->domain || !n->in || !n->out) {
		node_strings_free(n);
		goto oom;
	}
	if (n_in)
		memcpy(n->in, in, (size_t)n_in * sizeof(int));
	if (n_out)
		memcpy(n->out, out, (size_t)n_out * sizeof(int));
	n->n_in = n_in;
	n->n_out = n_out;
	for (int i = 0; i < n_out; i++)
		if (out[i] >= 0)
			g->t[out[i]].producer = g->n_nodes;
	return g->n_nodes++;
oom:
	npuc_diag_set(d, "out of memory adding node '%s'", name);
	return -1;
}

int npuc_node_add_attr(struct npuc_graph *g, int node, struct npuc_attr *a, struct npuc_diag *d)
{
	struct npuc_node *n;
	struct npuc_attr *arr;

	if (!g || node < 0 || node >= g->n_nodes || !a || !a->name || !a->name[0]) {
		npuc_diag_set(d, "add_attr: invalid node or unnamed attribute");
		goto fail;
	}
	n = &g->nodes[node];
	if (npuc_node_attr(n, a->name)) {
		npuc_diag_set(d, "node '%s' (%s): duplicate attribute '%s'", n->name, n->op,
			      a->name);
		goto fail;
	}
	if (a->type == NPUC_ATTR_TENSOR && (a->i < 0 || a->i >= g->n_t)) {
		npuc_diag_set(d, "node '%s' (%s): attribute '%s' refers to no tensor", n->name,
			      n->op, a->name);
		goto fail;
	}
	if (n->n_attrs >= INT_MAX / 2)
		goto oom;
	arr = realloc(n->attrs, (size_t)(n->n_attrs + 1) * sizeof(*arr));
	if (!arr)
		goto oom;
	n->attrs = arr;
	n->attrs[n->n_attrs++] = *a;
	memset(a, 0, sizeof(*a));
	return 0;
oom:
	npuc_diag_set(d, "out of memory adding an attribute");
fail:
	/* Ownership was transferred: release what the caller handed over. */
	if (a) {
		attr_free(a);
		memset(a, 0, sizeof(*a));
	}
	return -1;
}

static int attr_named(struct npuc_attr *a, const char *name, enum npuc_attr_type type,
		      struct npuc_diag *d)
{
	memset(a, 0, sizeof(*a));
	a->type = type;
	if (!name) {
		npuc_diag_set(d, "add_attr: unnamed attribute");
		return -1;
	}
	a->name = strdup(name);
	if (!a->name) {
		npuc_diag_set(d, "out of memory adding an attribute");
		return -1;
	}
	return 0;
}

int npuc_node_set_int(struct npuc_graph *g, int node, const char *name, int64_t v,
		      struct npuc_diag *d)
{
	struct npuc_attr a;

	if (attr_named(&a, name, NPUC_ATTR_INT, d))
		return -1;
	a.i = v;
	return npuc_node_add_attr(g, node, &a, d);
}

int npuc_node_set_float(struct npuc_graph *g, int node, const char *name, float v,
			struct npuc_diag *d)
{
	struct npuc_attr a;

	if (attr_named(&a, name, NPUC_ATTR_FLOAT, d))
		return -1;
	a.f = v;
	return npuc_node_add_attr(g, node, &a, d);
}

int npuc_node_set_ints(struct npuc_graph *g, int node, const char *name, const int64_t *v,
		       int n, struct npuc_diag *d)
{
	struct npuc_attr a;

	if (n < 0 || (n > 0 && !v)) {
		npuc_diag_set(d, "attribute '%s': bad element count %d", name ? name : "", n);
		return -1;
	}
	if (attr_named(&a, name, NPUC_ATTR_INTS, d))
		return -1;
	/* One spare element: malloc(0) may return NULL. */
	a.ints = malloc(sizeof(int64_t) * ((size_t)n + 1));
	if (!a.ints) {
		free(a.name);
		npuc_diag_set(d, "out of memory adding an attribute");
		return -1;
	}
	if (n)
		memcpy(a.ints, v, sizeof(int64_t) * (size_t)n);
	a.n = n;
	return npuc_node_add_attr(g, node, &a, d);
}

int npuc_node_set_string(struct npuc_graph *g, int node, const char *name, const char *v,
			 struct npuc_diag *d)
{
	struct npuc_attr a;

	if (!v) {
		npuc_diag_set(d, "attribute '%s': NULL string", name ? name : "");
		return -1;
	}
	if (attr_named(&a, name, NPUC_ATTR_STRING, d))
		return -1;
	a.s = strdup(v);
	if (!a.s) {
		free(a.name);
		npuc_diag_set(d, "out of memory adding an attribute");
		return -1;
	}
	return npuc_node_add_attr(g, node, &a, d);
}

static int io_list_check(const struct npuc_graph *g, const int *idx, int n, const char *what,
			 struct npuc_diag *d)
{
	if (n < 0 || (n > 0 && !idx)) {
		npuc_diag_set(d, "set_io: bad %s count %d", what, n);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		if (idx[i] < 0 || idx[i] >= g->n_t) {
			npuc_diag_set(d, "set_io: %s %d: tensor index %d out of range", what, i,
				      idx[i]);
			return -1;
		}
	}
	return 0;
}

static int *io_copy(const int *idx, int n)
{
	int *p = malloc(sizeof(int) * ((size_t)n + 1));

	if (p && n)
		memcpy(p, idx, sizeof(int) * (size_t)n);
	return p;
}

int npuc_graph_set_io(struct npuc_graph *g, const int *in, int n_in, const int *out, int n_out,
		      struct npuc_diag *d)
{
	int *ni, *no;

	if (!g) {
		npuc_diag_set(d, "set_io: no graph");
		return -1;
	}
	if (io_list_check(g, in, n_in, "input", d) || io_list_check(g, out, n_out, "output", d))
		return -1;
	ni = io_copy(in, n_in);
	no = io_copy(out, n_out);
	if (!ni || !no) {
		free(ni);
		free(no);
		npuc_diag_set(d, "out of memory setting graph inputs / outputs");
		return -1;
	}
	for (int i = 0; i < g->n_t; i++)
		g->t[i].flags &= ~(NPUC_T_INPUT | NPUC_T_OUTPUT);
	free(g->inputs);
	free(g->outputs);
	g->inputs = ni;
	g->n_inputs = n_in;
	g->outputs = no;
	g->n_outputs = n_out;
	for (int i = 0; i < n_in; i++)
		g->t[in[i]].flags |= NPUC_T_INPUT;
	for (int i = 0; i < n_out; i++)
		g->t[out[i]].flags |= NPUC_T_OUTPUT;
	return 0;
}

const struct npuc_attr *npuc_node_attr(const struct npuc_node *n, const char *name)
{
	if (!n || !name)
		return NULL;
	for (int i = 0; i < n->n_attrs; i++)
		if (strcmp(n->attrs[i].name, name) == 0)
			return &n->attrs[i];
	return NULL;
}

int64_t npuc_attr_int(const struct npuc_node *n, const char *name, int64_t def)
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	return a && a->type == NPUC_ATTR_INT ? a->i : def;
}

float npuc_attr_float(const struct npuc_node *n, const char *name, float def)
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	return a && a->type == NPUC_ATTR_FLOAT ? a->f : def;
}

const char *npuc_attr_string(const struct npuc_node *n, const char *name, const char *def)
{
	const struct npuc_attr *a = npuc_node_attr(n, name);

	return a && a->type == NPUC_ATTR_STRING && a->s ? a->s : def;
}

/* A tensor a node may read: produced by a node, fed at run time or constant. */
static int tensor_defined(const struct npuc_tensor *t)
{
	return t->producer >= 0 || (t->flags & (NPUC_T_INPUT | NPUC_T_CONST));
}

static int check_defined(const struct npuc_graph *g, struct npuc_diag *d)
{
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		for (int j = 0; j < n->n_in; j++) {
			int t = n->in[j];

			if (t < -1 || t >= g->n_t) {
				npuc_diag_set(d, "node '%s' (%s): input %d refers to no tensor",
					      n->name, n->op, j);
				return -1;
			}
			if (t >= 0 && !tensor_defined(&g->t[t])) {
				npuc_diag_set(d, "node '%s' (%s): input '%s' is not produced by "
					      "any node, graph input or initializer",
					      n->name, n->op, g->t[t].name);
				return -1;
			}
		}
	}
	for (int i = 0; i < g->n_outputs; i++) {
		int t = g->outputs[i];

		if (t < 0 || t >= g->n_t || !tensor_defined(&g->t[t])) {
			npuc_diag_set(d, "graph output '%s' is never defined",
				      t >= 0 && t < g->n_t ? g->t[t].name : "?");
			return -1;
		}
	}
	return 0;
}

/* Successor lists in CSR form: edge producer -> consumer per input occurrence. */
struct topo {
	int *indeg, *start, *succ, *order;
};

static int topo_build(const struct npuc_graph *g, struct topo *tp)
{
	size_t nn = (size_t)g->n_nodes, ne = 0;
	int *fill;

	for (int i = 0; i < g->n_nodes; i++)
		ne += (size_t)g->nodes[i].n_in;
	tp->indeg = calloc(nn + 1, sizeof(int));
	tp->start = calloc(nn + 2, sizeof(int));
	tp->succ = malloc((ne + 1) * sizeof(int));
	tp->order = malloc((nn + 1) * sizeof(int));
	fill = calloc(nn + 1, sizeof(int));
	if (!tp->indeg || !tp->start || !tp->succ || !tp->order || !fill || ne > INT_MAX) {
		free(fill);
		return -1;
	}
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		for (int j = 0; j < n->n_in; j++) {
			int p = n->in[j] >= 0 ? g->t[n->in[j]].producer : -1;

			if (p >= 0) {
				tp->start[p + 1]++;
				tp->indeg[i]++;
			}
		}
	}
	for (size_t i = 0; i < nn; i++)
		tp->start[i + 1] += tp->start[i];
	for (int i = 0; i < g->n_nodes; i++) {
		const struct npuc_node *n = &g->nodes[i];

		for (int j = 0; j < n->n_in; j++) {
			int p = n->in[j] >= 0 ? g->t[n->in[j]].producer : -1;

			if (p >= 0)
				tp->succ[tp->start[p] + fill[p]++] = i;
		}
	}
	free(fill);
	return 0;
}

static void topo_free(struct topo *tp)
{
	free(tp->indeg);
	free(tp->start);
	free(tp->succ);
	free(tp->order);
}

/* Kahn's algorithm, FIFO seeded in the original order (deterministic). */
static int topo_run(const struct npuc_graph *g, struct topo *tp)
{
	int head = 0, tail = 0;

	for (int i = 0; i < g->n_nodes; i++)
		if (!tp->indeg[i])
			tp->order[tail++] = i;
	while (head < tail) {
		int p = tp->order[head++];

		for (int e = tp->start[p]; e < tp->start[p + 1]; e++)
			if (--tp->indeg[tp->succ[e]] == 0)
				tp->order[tail++] = tp->succ[e];
	}
	return tail;
}

/*
 * Nodes left with a nonzero in-degree lie on or behind a cycle; each has a
 * predecessor that is also left. Walking back n_nodes steps lands on a cycle.
 */
static int cycle_node(const struct npuc_graph *g, const struct topo *tp)
{
	int c = 0;

	while (c < g->n_nodes && !tp->indeg[c])
		c++;
	for (int step = 0; step < g->n_nodes; step++) {
		const struct npuc_node *n = &g->nodes[c];

		for (int j = 0; j < n->n_in; j++) {
			int p = n->in[j] >= 0 ? g->t[n->in[j]].producer : -1;

			if (p >= 0 && tp->indeg[p]) {
				c = p;
				break;
			}
		}
	}
	return c;
}

static int topo_apply(struct npuc_graph *g, const int *order)
{
	struct npuc_node *sorted;

	if (!g->n_nodes)
		return 0;
	sorted = malloc((size_t)g->n_nodes * sizeof(*sorted));
	if (!sorted)
		return -1;
	for (int i = 0; i < g->n_nodes; i++)
		sorted[i] = g->nodes[order[i]];
	memcpy(g->nodes, sorted, (size_t)g->n_nodes * sizeof(*sorted));
	free(sorted);
	for (int i = 0; i < g->n_nodes; i++)
		for (int j = 0; j < g->nodes[i].n_out; j++)
			if (g->nodes[i].out[j] >= 0)
				g->t[g->nodes[i].out[j]].producer = i;
	return 0;
}

int npuc_graph_toposort(struct npuc_graph *g, struct npuc_diag *d)
{
	struct topo tp = { 0 };
	int done, ret = -1;

	if (!g) {
		npuc_diag_set(d, "toposort: no graph");
		return -1;
	}
	if (check_defined(g, d) < 0)
		return -1;
	if (topo_build(g, &tp) < 0) {
		npuc_diag_set(d, "toposort: out of memory");
		goto out;
	}
	done = topo_run(g, &tp);
	if (done < g->n_nodes) {
		int c = cycle_node(g, &tp);

		npuc_diag_set(d, "graph has a cycle through node '%s' (%s)",
			      g->nodes[c].name, g->nodes[c].op);
		goto out;
	}
	if (topo_apply(g, tp.order) < 0) {
		npuc_diag_set(d, "toposort: out of memory");
		goto out;
	}
	ret = 0;
out:
	topo_free(&tp);
	return ret;
}
