// SPDX-License-Identifier: MIT
/*
 * npuc quantised IR (qir.h): graph construction and ownership, the
 * requantisation multiplier and the CONCAT requantisation rule.
 */
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "qir.h"

struct npuq_graph *npuq_graph_new(void)
{
	return calloc(1, sizeof(struct npuq_graph));
}

/* Frees what the op-specific part of a node owns. */
static void node_params_free(enum npuq_op op, void *u)
{
	switch (op) {
	case NPUQ_CONV: {
		struct npuq_conv *c = u;

		free(c->w);
		free(c->q);
		free(c->w_scale);
		free(c->w_f);
		break;
	}
	case NPUQ_ELTWISE:
		free(((struct npuq_eltwise *)u)->b_const);
		break;
	case NPUQ_LUT:
		free(((struct npuq_lut *)u)->fn);
		break;
	case NPUQ_CPU:
		free(((struct npuq_cpu *)u)->reason);
		break;
	default:
		break;
	}
}

void npuq_graph_free(struct npuq_graph *g)
{
	if (!g)
		return;
	for (int i = 0; i < g->n_t; i++)
		free(g->t[i].name);
	for (int i = 0; i < g->n_nodes; i++) {
		struct npuq_node *n = &g->nodes[i];

		free(n->name);
		free(n->in);
		free(n->out);
		node_params_free(n->op, &n->u);
	}
	free(g->t);
	free(g->nodes);
	free(g->inputs);
	free(g->outputs);
	npuc_graph_free(g->src);
	free(g);
}

int npuq_add_tensor(struct npuq_graph *g, const char *name, int h, int w, int c, float scale,
		    int32_t zp, unsigned int flags, struct npuc_diag *d)
{
	struct npuq_tensor *t;
	char *copy;
	void *arr;

	name = name ? name : "";
	if (!g) {
		npuc_diag_set(d, "qgraph: no graph");
		return -1;
	}
	if (h < 1 || w < 1 || c < 1 || (int64_t)h * w * c > INT32_MAX) {
		npuc_diag_set(d, "qgraph tensor '%s': bad extent %dx%dx%d", name, h, w, c);
		return -1;
	}
	if (zp < -128 || zp > 127) {
		npuc_diag_set(d, "qgraph tensor '%s': zero point %d outside int8", name, (int)zp);
		return -1;
	}
	if (flags & ~(NPUQ_T_INPUT | NPUQ_T_OUTPUT | NPUQ_T_FLOAT)) {
		npuc_diag_set(d, "qgraph tensor '%s': unknown flags 0x%x", name, flags);
		return -1;
	}
	arr = g->t;
	if (npuc_array_grow(&arr, &g->cap_t, g->n_t, sizeof(*g->t)) < 0)
		goto oom;
	g->t = arr;
	copy = strdup(name);
	if (!copy)
		goto oom;
	t = &g->t[g->n_t];
	memset(t, 0, sizeof(*t));
	t->name = copy;
	t->h = h;
	t->w = w;
	t->c = c;
	t->scale = scale;
	t->zp = zp;
	t->flags = flags;
	t->producer = -1;
	/* onnx_rank 0 with h*w*c > 1 reads as (h, w, c): see npuq_tensor_onnx_shape(). */
	return g->n_t++;
oom:
	npuc_diag_set(d, "out of memory adding qgraph tensor '%s'", name);
	return -1;
}

static size_t params_size(enum npuq_op op)
{
	switch (op) {
	case NPUQ_CONV:
		return sizeof(struct npuq_conv);
	case NPUQ_MATMUL:
		return sizeof(struct npuq_matmul);
	case NPUQ_ELTWISE:
		return sizeof(struct npuq_eltwise);
	case NPUQ_POOL:
		return sizeof(struct npuq_pool);
	case NPUQ_LUT:
		return sizeof(struct npuq_lut);
	case NPUQ_CPU:
		return sizeof(struct npuq_cpu);
	default:
		return 0;
	}
}

static int node_io_check(const struct npuq_graph *g, const char *name, const int *in, int n_in,
			 const int *out, int n_out, struct npuc_diag *d)
{
	if (n_in < 0 || n_out < 0 || n_in > 4096 || n_out > 4096 || (n_in && !in) ||
	    (n_out && !out)) {
		npuc_diag_set(d, "qgraph node '%s': bad input/output arrays", name);
		return -1;
	}
	for (int i = 0; i < n_in; i++) {
		if (in[i] < 0 || in[i] >= g->n_t) {
			npuc_diag_set(d, "qgraph node '%s': input %d refers to no tensor", name, i);
			return -1;
		}
	}
	for (int i = 0; i < n_out; i++) {
		if (out[i] < 0 || out[i] >= g->n_t) {
			npuc_diag_set(d, "qgraph node '%s': output %d refers to no tensor", name,
				      i);
			return -1;
		}
		if (g->t[out[i]].producer >= 0 || (g->t[out[i]].flags & NPUQ_T_INPUT)) {
			npuc_diag_set(d, "qgraph node '%s': output '%s' is already defined", name,
				      g->t[out[i]].name);
			return -1;
		}
		for (int j = 0; j < i; j++) {
			if (out[j] == out[i]) {
				npuc_diag_set(d, "qgraph node '%s': output '%s' listed twice",
					      name, g->t[out[i]].name);
				return -1;
			}
		}
	}
	return 0;
}

static int *dup_ints(const int *v, int n)
{
	int *p = malloc((size_t)(n ? n : 1) * sizeof(int));

	if (p && n)
		memcpy(p, v, (size_t)n * sizeof(int));
	return p;
}

int npuq_add_node(struct npuq_graph *g, enum npuq_op op, const char *name, const int *in,
		  int n_in, const int *out, int n_out, const void *params, struct npuc_diag *d)
{
	size_t psize = (unsigned int)op < NPUQ_OP_COUNT ? params_size(op) : 0;
	struct npuq_node nd;
	void *arr;

	memset(&nd, 0, sizeof(nd));
	if (params && psize)
		memcpy(&nd.u, params, psize);
	name = name ? name : "";
	if (!g || (unsigned int)op >= NPUQ_OP_COUNT) {
		npuc_diag_set(d, "qgraph node '%s': invalid op %d", name, (int)op);
		goto fail;
	}
	if (psize && !params) {
		npuc_diag_set(d, "qgraph node '%s' (%s): parameters missing", name,
			      npuq_op_name(op));
		goto fail;
	}
	if (node_io_check(g, name, in, n_in, out, n_out, d) < 0)
		goto fail;
	arr = g->nodes;
	if (npuc_array_grow(&arr, &g->cap_nodes, g->n_nodes, sizeof(*g->nodes)) < 0)
		goto oom;
	g->nodes = arr;
	nd.op = op;
	nd.name = strdup(name);
	nd.in = dup_ints(in, n_in);
	nd.out = dup_ints(out, n_out);
	nd.n_in = n_in;
	nd.n_out = n_out;
	if (!nd.name || !nd.in || !nd.out) {
		free(nd.name);
		free(nd.in);
		free(nd.out);
		goto oom;
	}
	g->nodes[g->n_nodes] = nd;
	for (int i = 0; i < n_out; i++)
		g->t[out[i]].producer = g->n_nodes;
	return g->n_nodes++;
oom:
	npuc_diag_set(d, "out of memory adding qgraph node '%s'", name);
fail:
	/* Ownership of the parameters' pointers passed to us either way. */
	if ((unsigned int)op < NPUQ_OP_COUNT)
		node_params_free(op, &nd.u);
	return -1;
}

static int append_io(int **arr, int *n, int t)
{
	int *p;

	if (*n >= INT_MAX / 2)
		return -1;
	p = realloc(*arr, (size_t)(*n + 1) * sizeof(int));
	if (!p)
		return -1;
	p[(*n)++] = t;
	*arr = p;
	return 0;
}

int npuq_add_input(struct npuq_graph *g, int t, struct npuc_diag *d)
{
	if (!g || t < 0 || t >= g->n_t || g->t[t].producer >= 0) {
		npuc_diag_set(d, "qgraph: tensor %d cannot be a graph input", t);
		return -1;
	}
	if (append_io(&g->inputs, &g->n_inputs, t) < 0) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	g->t[t].flags |= NPUQ_T_INPUT;
	return 0;
}

int npuq_add_output(struct npuq_graph *g, int t, struct npuc_diag *d)
{
	if (!g || t < 0 || t >= g->n_t) {
		npuc_diag_set(d, "qgraph: tensor %d cannot be a graph output", t);
		return -1;
	}
	if (append_io(&g->outputs, &g->n_outputs, t) < 0) {
		npuc_diag_set(d, "out of memory");
		return -1;
	}
	g->t[t].flags |= NPUQ_T_OUTPUT;
	return 0;
}

const char *npuq_op_name(enum npuq_op op)
{
	static const char *const names[NPUQ_OP_COUNT] = {
		[NPUQ_CONV] = "CONV",		[NPUQ_MATMUL] = "MATMUL",
		[NPUQ_ELTWISE] = "ELTWISE",	[NPUQ_POOL] = "POOL",
		[NPUQ_LUT] = "LUT",		[NPUQ_CONCAT] = "CONCAT",
		[NPUQ_RESHAPE] = "RESHAPE",	[NPUQ_QUANTIZE] = "QUANTIZE",
		[NPUQ_DEQUANTIZE] = "DEQUANTIZE", [NPUQ_CPU] = "CPU",
	};

	if ((unsigned int)op >= NPUQ_OP_COUNT)
		return "?";
	return names[op];
}

enum npuc_dtype npuq_tensor_dtype(const struct npuq_tensor *t)
{
	if (!(t->flags & NPUQ_T_FLOAT)) {
		if (t->dtype == NPUC_DT_UNDEF || t->dtype == NPUC_DT_I8)
			return NPUC_DT_I8;
		return t->dtype == NPUC_DT_U8 ? NPUC_DT_U8 : NPUC_DT_UNDEF;
	}
	switch (t->dtype) {
	case NPUC_DT_UNDEF:
	case NPUC_DT_F32:
		return NPUC_DT_F32;
	case NPUC_DT_I32:
	case NPUC_DT_I64:
	case NPUC_DT_BOOL:
		return t->dtype;
	default:
		return NPUC_DT_UNDEF;
	}
}

int64_t npuq_tensor_bytes(const struct npuq_tensor *t)
{
	int64_t n = (int64_t)t->h * t->w * t->c;

	if (!(t->flags & NPUQ_T_FLOAT))
		return n;
	/* An invalid dtype counts as float32 (validated where it is used). */
	if (npuq_tensor_dtype(t) == NPUC_DT_UNDEF)
		return 4 * n;
	return (int64_t)npuc_dtype_size(npuq_tensor_dtype(t)) * n;
}

int npuq_tensor_onnx_shape(const struct npuq_tensor *t, int *rank, int64_t *dims,
			   struct npuc_diag *d)
{
	int64_t n = (int64_t)t->h * t->w * t->c, p = 1;

	if (t->onnx_rank == 0 && n > 1) {
		/* Not given: the NHWC extent itself. */
		*rank = 3;
		dims[0] = t->h;
		dims[1] = t->w;
		dims[2] = t->c;
		return 0;
	}
	if (t->onnx_rank < 0 || t->onnx_rank > NPUC_MAX_RANK)
		goto bad;
	for (int i = 0; i < t->onnx_rank; i++) {
		if (t->onnx_dims[i] < 1 || t->onnx_dims[i] > n)
			goto bad;
		p *= t->onnx_dims[i];	/* <= n * n: no overflow */
		if (p > n)
			goto bad;
	}
	if (p != n)
		goto bad;
	if (t->nchw && (t->onnx_rank != 4 || t->onnx_dims[0] != 1 || t->onnx_dims[1] != t->c ||
			t->onnx_dims[2] != t->h || t->onnx_dims[3] != t->w))
		goto bad;
	*rank = t->onnx_rank;
	for (int i = 0; i < t->onnx_rank; i++)
		dims[i] = t->onnx_dims[i];
	return 0;
bad:
	npuc_diag_set(d, "qgraph tensor '%s': ONNX shape (rank %d%s) does not match %dx%dx%d",
		      t->name, t->onnx_rank, t->nchw ? ", NCHW" : "", t->h, t->w, t->c);
	return -1;
}

/*
 * real = m * 2^e with m in [0.5, 1): mult = round(m * 2^31), shift = 31 - e.
 * Rounding m * 2^31 (exact in double) may give 2^31: renormalise to 2^30
 * with one less shift. Below the shift range the multiplier is
 * denormalised at shift NPU_SHIFT_MAX (round(real * 2^62), possibly 0).
 */
int npuq_quantize_multiplier(double real, uint32_t *mult, uint32_t *shift)
{
	double m, r;
	int e;

	if (!isfinite(real) || real < 0)
		return -1;
	if (real == 0) {
		*mult = 0;
		*shift = NPU_SHIFT_MAX;
		return 0;
	}
	m = frexp(real, &e);
	r = round(ldexp(m, 31));
	if (r >= 2147483648.0) {
		r = 1073741824.0;
		e++;
	}
	if (31 - e < (int)NPU_SHIFT_MIN)
		return -1;	/* real >= 2^30 (after rounding): mult would reach 2^31 */
	if (31 - e > (int)NPU_SHIFT_MAX) {
		r = round(ldexp(real, (int)NPU_SHIFT_MAX));	/* < 2^30 + 1 */
		*mult = (uint32_t)r;
		*shift = NPU_SHIFT_MAX;
		return 0;
	}
	*mult = (uint32_t)r;
	*shift = (uint32_t)(31 - e);
	return 0;
}

int npuq_concat_qparam(const struct npuq_tensor *in, const struct npuq_tensor *out,
		       struct npu_qparam *q)
{
	double ratio;

	q->bias = 0;
	if (in->scale == out->scale && in->zp == out->zp) {
		q->mult = 1u << 30;
		q->shift = 30;
		return 1;
	}
	if (!isfinite(in->scale) || !isfinite(out->scale) || in->scale <= 0 || out->scale <= 0)
		return -1;
	ratio = (double)in->scale / (double)out->scale;
	if (npuq_quantize_multiplier(ratio, &q->mult, &q->shift) < 0)
		return -1;
	return 0;
}

void npuq_conv_free(struct npuq_conv *cv)
{
	free(cv->w);
	free(cv->q);
	free(cv->w_scale);
	free(cv->w_f);
	cv->w = NULL;
	cv->q = NULL;
	cv->w_scale = NULL;
	cv->w_f = NULL;
}
