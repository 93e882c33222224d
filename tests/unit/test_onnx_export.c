// SPDX-License-Identifier: MIT
/*
 * QDQ ONNX export (compiler/frontend/onnx_export.c). Quantised models (the
 * bundled Fashion-MNIST model through npuc_compile, ONNX backend node
 * tests quantised with npuc_quantize, a pre-quantised uint8 QDQ model
 * through npuc_qdq_import, hand-built qgraphs for the paths quantisation
 * does not produce) are exported, re-imported with npuc's own importer,
 * and checked two ways against the int8 reference executor (qref) on the
 * original qgraph:
 *  (a) the exported model run by the float reference executor (ONNX
 *      semantics: float ops between QuantizeLinear / DequantizeLinear)
 *      agrees within one output quantisation step (float requantisation
 *      vs npuc's fixed point);
 *  (b) npuc_qdq_import of the exported model gives a qgraph whose qref
 *      outputs equal the original's (within one step where float
 *      tabulation differs).
 * The ONNX graph itself is inspected too: op types, layouts, weight
 * column order (the Gemm after an NCHW Flatten must have the source's
 * C,H,W column order back), boundary names, types and dims.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "calib_data.h"
#include "ir.h"
#include "util/graph_build.h"
#include "onnx_export.h"
#include "onnx_import.h"
#include "passes.h"
#include "pipeline.h"
#include "qdq_import.h"
#include "qref.h"
#include "quantize.h"
#include "ref_float.h"
#include "shape_infer.h"
#include "tensor_pb.h"

#define NODE_DIR	"/usr/include/onnx/backend/test/data/node"
#define FMNIST		"models/fmnist/fmnist.onnx"
#define FMNIST_DATA	"/usr/share/datasets/fashion-mnist"
#define MAX_IO		4

static struct npuc_graph *g;		/* source graph being built / loaded */
static struct npuq_graph *q;		/* its qgraph (owns g once set) */
static struct npuc_diag d;

static void setup(void)
{
	g = npuc_graph_new();
	ck_assert_ptr_nonnull(g);
	g->opset = 13;
	q = NULL;
	memset(&d, 0, sizeof(d));
}

static void teardown(void)
{
	if (q)
		npuq_graph_free(q);
	else
		npuc_graph_free(g);
	g = NULL;
	q = NULL;
}

/* ---- graph building ---- */

static unsigned int rng = 7;

static float frand(void)
{
	return gb_frand(&rng);
}

/* ---- export and re-import ---- */

static struct npuc_graph *export_load(const struct npuq_graph *qq)
{
	struct npuc_graph *x = NULL;
	uint8_t *buf;
	size_t len;

	ck_assert_msg(npuc_export_qdq_mem(qq, &buf, &len, &d) == 0, "export: %s", d.msg);
	ck_assert_uint_gt(len, 0);
	ck_assert_msg(npuc_onnx_load_mem(buf, len, &x, &d) == 0, "re-import: %s", d.msg);
	free(buf);
	ck_assert_msg(npuc_shape_infer(x, &d) == 0, "shape inference: %s", d.msg);
	ck_assert_int_eq(x->opset >= NPUC_EXPORT_MIN_OPSET, 1);
	return x;
}

static int count_op(const struct npuc_graph *x, const char *op)
{
	int c = 0;

	for (int i = 0; i < x->n_nodes; i++)
		c += !strcmp(x->nodes[i].op, op);
	return c;
}

static const struct npuc_node *find_op(const struct npuc_graph *x, const char *op)
{
	for (int i = 0; i < x->n_nodes; i++)
		if (!strcmp(x->nodes[i].op, op))
			return &x->nodes[i];
	return NULL;
}

/* Quantisation step of qgraph output j (0: a float output computed on the CPU). */
static float out_step(const struct npuq_graph *qq, int j)
{
	const struct npuq_tensor *t = &qq->t[qq->outputs[j]];

	if (!(t->flags & NPUQ_T_FLOAT))
		return 1.0f;	/* int8 output: raw values */
	if (t->producer >= 0 && qq->nodes[t->producer].op == NPUQ_DEQUANTIZE)
		return qq->t[qq->nodes[t->producer].in[0]].scale;
	return 0.0f;
}

static double value_at(const struct npuc_value *v, int64_t i)
{
	switch (v->dtype) {
	case NPUC_DT_F32:
		return ((const float *)v->data)[i];
	case NPUC_DT_I8:
		return ((const int8_t *)v->data)[i];
	case NPUC_DT_U8:
		return (int)((const uint8_t *)v->data)[i] - 128;	/* as int8 */
	default:
		ck_abort_msg("unexpected output type %s", npuc_dtype_name(v->dtype));
		return 0;
	}
}

struct stats {
	int64_t n, exact;
	double worst;		/* in output steps */
};

/* |a - b| within tol steps of output j; counts exact matches. */
static void compare(const struct npuq_graph *qq, int j, const struct npuc_value *a,
		    const struct npuc_value *b, double tol, const char *what, struct stats *st)
{
	float step = out_step(qq, j);

	ck_assert_int_eq(a->numel, b->numel);
	for (int64_t i = 0; i < a->numel; i++) {
		double x = value_at(a, i), y = value_at(b, i), e = fabs(x - y);
		double steps = step > 0 ? e / step : e / (1e-5 * (1 + fabs(y)));

		ck_assert_msg(steps <= tol + 1e-3, "%s: output %d element %lld: %.7g vs qref %.7g "
			      "(%.3f steps)", what, j, (long long)i, x, y, steps);
		st->n++;
		st->exact += steps < 1e-3;
		if (steps > st->worst)
			st->worst = steps;
	}
}

/*
 * Runs qq (qref) on qin, the exported model x (ref_float) on fin and the
 * re-imported qgraph r (qref, if not NULL) on qin; checks (a) and (b).
 */
static void cross_run(const struct npuq_graph *qq, const struct npuc_graph *x,
		      const struct npuq_graph *r, const struct npuc_value *qin,
		      const struct npuc_value *fin, const char *what, struct stats *sa,
		      struct stats *sb)
{
	struct npuc_value o[MAX_IO], f[MAX_IO], ro[MAX_IO];

	ck_assert_int_le(qq->n_outputs, MAX_IO);
	ck_assert_int_eq(x->n_outputs, qq->n_outputs);
	ck_assert_msg(npuq_ref_run(qq, qin, o, NULL, &d) == 0, "%s: qref: %s", what, d.msg);
	ck_assert_msg(npuc_ref_run(x, fin, f, NULL, &d) == 0, "%s: export: %s", what, d.msg);
	if (r)
		ck_assert_msg(npuq_ref_run(r, qin, ro, NULL, &d) == 0, "%s: re-import: %s", what,
			      d.msg);
	for (int j = 0; j < qq->n_outputs; j++) {
		ck_assert_int_eq(f[j].rank, o[j].rank);
		for (int k = 0; k < o[j].rank; k++)
			ck_assert_int_eq(f[j].dims[k], o[j].dims[k]);
		compare(qq, j, &f[j], &o[j], 1.0, what, sa);
		if (r)
			compare(qq, j, &ro[j], &o[j], 1.0, what, sb);
		npuc_value_free(&o[j]);
		npuc_value_free(&f[j]);
		if (r)
			npuc_value_free(&ro[j]);
	}
}

/* The exported model of qq re-imported as a qgraph (npuc_qdq_import). */
static struct npuq_graph *reimport(const struct npuq_graph *qq, const char *what)
{
	struct npuc_graph *x = export_load(qq);
	struct npuq_graph *r = NULL;

	ck_assert_msg(npuc_qdq_is_quantized(x), "%s: export has no QuantizeLinear", what);
	ck_assert_msg(npuc_qdq_import(x, &r, &d) == 0, "%s: qdq import of the export: %s", what,
		      d.msg);
	return r;
}

/* ---- Fashion-MNIST through npuc_compile ---- */

/* The int8 weights of the exported Gemm against the source model's float weights. */
static void check_fc_columns(const struct npuc_graph *x)
{
	const struct npuc_node *gemm = find_op(x, "Gemm"), *dq, *sg;
	struct npuc_graph *src = NULL;
	const struct npuc_tensor *w, *s, *b;
	int64_t n, k, bad = 0;

	ck_assert_ptr_nonnull(gemm);
	ck_assert_int_eq(npuc_attr_int(gemm, "transB", 0), 1);
	dq = &x->nodes[x->t[gemm->in[1]].producer];
	ck_assert_str_eq(dq->op, "DequantizeLinear");
	ck_assert_int_eq(npuc_attr_int(dq, "axis", 1), 0);
	w = &x->t[dq->in[0]];
	s = &x->t[dq->in[1]];
	ck_assert_int_eq(w->dtype, NPUC_DT_I8);
	ck_assert_int_eq(w->rank, 2);
	n = w->dims[0];
	k = w->dims[1];
	ck_assert_int_eq(npuc_tensor_numel(s), n);
	ck_assert_int_eq(npuc_onnx_load_file(FMNIST, &src, &d), 0);
	sg = find_op(src, "Gemm");
	ck_assert_ptr_nonnull(sg);
	b = &src->t[sg->in[1]];
	ck_assert_int_eq(b->dtype, NPUC_DT_F32);
	ck_assert_int_eq(npuc_tensor_numel(b), n * k);
	/* source B is [N][K] (transB) with columns in C,H,W order: so must the export be */
	for (int64_t o = 0; o < n; o++) {
		float sc = ((const float *)s->data)[o];

		for (int64_t i = 0; i < k; i++) {
			float v = ((const int8_t *)w->data)[o * k + i] * sc;
			float ref = ((const float *)b->data)[o * k + i];

			bad += fabsf(v - ref) > 0.5f * sc + 1e-6f;
		}
	}
	ck_assert_msg(bad == 0, "%lld Gemm weights not in the source column order", (long long)bad);
	npuc_graph_free(src);
}

static void check_fmnist_graph(const struct npuc_graph *x)
{
	const struct npuc_tensor *in = &x->t[x->inputs[0]], *out = &x->t[x->outputs[0]];
	const int64_t in_dims[4] = { 1, 1, 28, 28 };

	ck_assert_int_eq(x->n_inputs, 1);
	ck_assert_int_eq(x->n_outputs, 1);
	ck_assert_str_eq(in->name, "input");
	ck_assert_str_eq(out->name, "logits");
	ck_assert_int_eq(in->dtype, NPUC_DT_F32);
	ck_assert_int_eq(out->dtype, NPUC_DT_F32);
	ck_assert_int_eq(in->rank, 4);
	for (int i = 0; i < 4; i++)
		ck_assert_int_eq(in->dims[i], in_dims[i]);
	ck_assert_int_eq(out->rank, 2);
	ck_assert_int_eq(out->dims[1], 10);
	ck_assert_int_eq(count_op(x, "Conv"), 3);
	ck_assert_int_eq(count_op(x, "MaxPool"), 2);
	ck_assert_int_eq(count_op(x, "Gemm"), 1);
	ck_assert_int_ge(count_op(x, "QuantizeLinear"), 5);
	ck_assert_int_ge(count_op(x, "DequantizeLinear"), 9);
	check_fc_columns(x);
}

START_TEST(test_fmnist)
{
	struct npuc_compile_opts o;
	struct npuc_compiled c;
	struct npuc_array img = { 0 };
	struct npuc_graph *x;
	struct npuq_graph *r;
	struct stats sa = { 0 }, sb = { 0 };
	const int64_t dims[4] = { 1, 1, 28, 28 };
	float px[784];
	char path[] = "/tmp/npuc-export-XXXXXX";
	int fd;

	npuc_compile_opts_default(&o);
	o.model_path = FMNIST;
	o.calib_path = FMNIST_DATA "/train-images-idx3-ubyte.gz";
	o.pre.scale = 1.0f / 255.0f;
	o.calib_limit = 50;
	ck_assert_msg(npuc_compile(&o, NULL, &c, &d) == 0, "%s", d.msg);
	/* the file API writes what the memory API returns */
	fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	ck_assert_msg(npuc_export_qdq(c.qgraph, path, &d) == 0, "%s", d.msg);
	ck_assert_msg(npuc_onnx_load_file(path, &x, &d) == 0, "%s", d.msg);
	unlink(path);
	ck_assert_int_eq(npuc_shape_infer(x, &d), 0);
	check_fmnist_graph(x);
	r = reimport(c.qgraph, "fmnist");
	ck_assert_int_eq(npuc_idx_load(FMNIST_DATA "/t10k-images-idx3-ubyte.gz", &img, &d), 0);
	for (int i = 0; i < 12; i++) {
		struct npuc_value v;

		for (int k = 0; k < 784; k++)
			px[k] = ((const uint8_t *)img.data)[i * 784 + k] / 255.0f;
		ck_assert_int_eq(npuc_value_wrap(&v, NPUC_DT_F32, 4, dims, px, &d), 0);
		cross_run(c.qgraph, x, r, &v, &v, "fmnist", &sa, &sb);
	}
	/* the re-import is the same integer program */
	ck_assert_int_eq(sb.exact, sb.n);
	fprintf(stderr, "onnx_export: fmnist: %lld logits, export %lld exact, worst %.2f steps; "
		"re-import exact\n", (long long)sa.n, (long long)sa.exact, sa.worst);
	npuc_array_free(&img);
	npuq_graph_free(r);
	npuc_graph_free(x);
	npuc_compiled_free(&c);
}
END_TEST

/* ---- ONNX backend node tests quantised by npuc ---- */

struct onnx_case {
	const char *name;
	int n_const;		/* inputs 1..n_const become constants (weights) */
	const char *op;		/* an op the export must contain */
	int reimport;		/* check (b) too */
};

static const struct onnx_case onnx_cases[] = {
	{ "test_conv_with_strides_padding", 1, "Conv", 1 },
	{ "test_conv_with_strides_and_asymmetric_padding", 1, "Conv", 1 },
	{ "test_conv_with_autopad_same", 1, "Conv", 1 },
	{ "test_gemm_default_vector_bias", 2, "Gemm", 1 },
	{ "test_gemm_transposeB", 2, "Gemm", 1 },
	{ "test_gemm_alpha", 2, "Gemm", 1 },
	{ "test_gemm_beta", 2, "Gemm", 1 },
	{ "test_matmul_2d", 1, "Gemm", 1 },
	{ "test_matmul_3d", 0, "MatMul", 1 },
	{ "test_maxpool_2d_ceil", 0, "MaxPool", 1 },
	{ "test_maxpool_2d_same_upper", 0, "MaxPool", 1 },
	{ "test_averagepool_2d_pads_count_include_pad", 0, "AveragePool", 1 },
	{ "test_averagepool_2d_ceil", 0, "AveragePool", 1 },
	{ "test_globalaveragepool", 0, "GlobalAveragePool", 1 },
	{ "test_relu", 0, "Relu", 1 },
	{ "test_sigmoid", 0, "Sigmoid", 1 },
	{ "test_leakyrelu", 0, "LeakyRelu", 1 },
	{ "test_hardswish", 0, "HardSwish", 1 },
	{ "test_elu", 0, "Elu", 1 },
	{ "test_add", 0, "Add", 1 },
	{ "test_add_bcast", 1, "Add", 1 },
	{ "test_sub", 0, "Sub", 1 },
	{ "test_mul_bcast", 1, "Mul", 1 },
	{ "test_concat_3d_axis_2", 0, "Concat", 1 },
	{ "test_flatten_axis1", 0, "Reshape", 0 },	/* float RESHAPE: no int8 */
	{ "test_softmax_example", 0, "Softmax", 0 },
};

/* Loads a node test; inputs 1..n_const become constants; x[] gets the rest. */
static void load_case(const struct onnx_case *c, struct npuc_value *x)
{
	char path[512];
	struct npuc_tensor_pb tp;
	int n_in;

	npuc_graph_free(g);
	g = NULL;
	snprintf(path, sizeof(path), "%s/%s/model.onnx", NODE_DIR, c->name);
	ck_assert_msg(npuc_onnx_load_file(path, &g, &d) == 0, "%s: %s", c->name, d.msg);
	n_in = g->n_inputs;
	ck_assert_int_le(n_in, MAX_IO);
	for (int i = 0, k = 0; i < n_in; i++) {
		int t = g->inputs[i];

		snprintf(path, sizeof(path), "%s/%s/test_data_set_0/input_%d.pb", NODE_DIR,
			 c->name, i);
		ck_assert_msg(npuc_tensor_pb_load_file(path, &tp, &d) == 0, "%s", d.msg);
		ck_assert_int_eq(tp.dtype, NPUC_DT_F32);
		if (i > 0 && i <= c->n_const) {
			ck_assert_int_eq(npuc_tensor_set_data(g, t, tp.data, tp.nbytes, &d), 0);
			g->t[t].flags &= ~NPUC_T_INPUT;
		} else {
			ck_assert_int_eq(npuc_value_alloc(&x[k], NPUC_DT_F32, tp.rank, tp.dims,
							  &d), 0);
			memcpy(x[k].data, tp.data, tp.nbytes);
			free(tp.data);
			g->inputs[k++] = t;
		}
		tp.data = NULL;
		npuc_tensor_pb_free(&tp);
	}
	g->n_inputs = n_in - c->n_const;
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s: %s", c->name, d.msg);
	ck_assert_msg(npuc_passes_run(g, NULL, &d) == 0, "%s: %s", c->name, d.msg);
}

/* Min/max calibration on the given inputs and copies scaled by 1/2 and -1. */
static void calibrate(const struct npuc_value *x, struct npuc_act_ranges *r)
{
	static const float mul[3] = { 1.0f, 0.5f, -1.0f };
	struct npuc_ref_trace tr = { .observe = npuc_act_ranges_observe, .ctx = r };

	ck_assert_int_eq(npuc_act_ranges_init(r, g->n_t, &d), 0);
	for (int s = 0; s < 3; s++) {
		struct npuc_value v[MAX_IO], o[MAX_IO];

		for (int j = 0; j < g->n_inputs; j++) {
			ck_assert_int_eq(npuc_value_copy(&v[j], &x[j], &d), 0);
			for (int64_t i = 0; i < v[j].numel; i++)
				((float *)v[j].data)[i] *= mul[s];
		}
		ck_assert_msg(npuc_ref_run(g, v, o, &tr, &d) == 0, "%s", d.msg);
		for (int j = 0; j < g->n_inputs; j++)
			npuc_value_free(&v[j]);
		for (int j = 0; j < g->n_outputs; j++)
			npuc_value_free(&o[j]);
	}
}

START_TEST(test_onnx_node_models)
{
	struct stats total_a = { 0 }, total_b = { 0 };
	size_t n = sizeof(onnx_cases) / sizeof(onnx_cases[0]);

	for (size_t i = 0; i < n; i++) {
		const struct onnx_case *c = &onnx_cases[i];
		struct npuc_value x[MAX_IO];
		struct npuc_act_ranges r;
		struct npuc_graph *ex;
		struct npuq_graph *ri = NULL;
		int n_in;

		load_case(c, x);
		n_in = g->n_inputs;
		calibrate(x, &r);
		q = npuc_quantize(g, &r, NULL, &d);
		ck_assert_msg(q != NULL, "%s: %s", c->name, d.msg);
		npuc_act_ranges_free(&r);
		ex = export_load(q);
		ck_assert_msg(count_op(ex, c->op) > 0, "%s: no %s in the export", c->name, c->op);
		if (c->reimport)
			ri = reimport(q, c->name);
		/* the test's own input, and a rescaled copy (values outside calibration) */
		for (int s = 0; s < 2; s++) {
			for (int j = 0; s && j < n_in; j++)
				for (int64_t k = 0; k < x[j].numel; k++)
					((float *)x[j].data)[k] *= -0.7f;
			cross_run(q, ex, ri, x, x, c->name, &total_a, &total_b);
		}
		for (int j = 0; j < n_in; j++)
			npuc_value_free(&x[j]);
		npuq_graph_free(ri);
		npuc_graph_free(ex);
		npuq_graph_free(q);	/* frees g */
		q = NULL;
		g = npuc_graph_new();
	}
	fprintf(stderr, "onnx_export: %zu node models: export %lld/%lld values exact (worst %.2f "
		"steps), re-import %lld/%lld exact (worst %.2f)\n", n, (long long)total_a.exact,
		(long long)total_a.n, total_a.worst, (long long)total_b.exact,
		(long long)total_b.n, total_b.worst);
	/* one-step differences are rounding ties, not the rule */
	ck_assert_int_ge(total_a.exact * 10, total_a.n * 9);
	ck_assert_int_ge(total_b.exact * 10, total_b.n * 9);
}
END_TEST

/* ---- a small float network through quantisation ---- */

static int crand(const char *name, int rank, const int64_t *dims, float amp)
{
	float v[1024];
	int64_t n = 1;

	for (int i = 0; i < rank; i++)
		n *= dims[i];
	ck_assert_int_le(n, 1024);
	for (int64_t i = 0; i < n; i++)
		v[i] = amp * frand();
	return gb_const_t(g, name, NPUC_DT_F32, rank, dims, v);
}

static int op1(const char *op, int x, const char *y)
{
	int t = gb_tensor_t(g, y, NPUC_DT_F32, -1, NULL);

	gb_node1(g, op, &x, 1, t);
	return t;
}

static int op2(const char *op, int a, int b, const char *y)
{
	int in[2] = { a, b }, t = gb_tensor_t(g, y, NPUC_DT_F32, -1, NULL);

	gb_node1(g, op, in, 2, t);
	return t;
}

/*
 * x [1,3,8,8] -> Conv 3x3 -> Relu = a; Conv 1x1 (a) = b; Add(a, b) -> Mul
 * by a per-channel constant = m; Concat(Sigmoid(m), m) -> AveragePool 2x2
 * -> GlobalAveragePool -> Flatten -> Gemm -> Softmax (CPU) -> y.
 */
static void build_mini_net(void)
{
	const int64_t xd[4] = { 1, 3, 8, 8 }, w1[4] = { 8, 3, 3, 3 }, w2[4] = { 8, 8, 1, 1 };
	const int64_t b8 = 8, cd[4] = { 1, 8, 1, 1 }, gw[2] = { 4, 16 }, gb = 4;
	const int64_t pads[4] = { 1, 1, 1, 1 }, k2[2] = { 2, 2 };
	int x, a, b, m, s, k, y, in[3], n;

	x = gb_tensor_t(g, "x", NPUC_DT_F32, 4, xd);
	in[0] = x;
	in[1] = crand("w1", 4, w1, 0.5f);
	in[2] = crand("b1", 1, &b8, 0.2f);
	a = gb_tensor_t(g, "conv1", NPUC_DT_F32, -1, NULL);
	gb_attr_ints(g, gb_node1(g, "Conv", in, 3, a), "pads", 4, pads);
	a = op1("Relu", a, "a");
	in[0] = a;
	in[1] = crand("w2", 4, w2, 0.4f);
	in[2] = crand("b2", 1, &b8, 0.1f);
	b = gb_tensor_t(g, "b", NPUC_DT_F32, -1, NULL);
	gb_node1(g, "Conv", in, 3, b);
	m = op2("Add", a, b, "sum");
	m = op2("Mul", m, crand("scale", 4, cd, 1.0f), "m");
	s = op1("Sigmoid", m, "sig");
	k = op2("Concat", s, m, "cat");
	gb_attr_i(g, g->n_nodes - 1, "axis", 1);
	k = op1("AveragePool", k, "pool");
	gb_attr_ints(g, g->n_nodes - 1, "kernel_shape", 2, k2);
	gb_attr_ints(g, g->n_nodes - 1, "strides", 2, k2);
	k = op1("GlobalAveragePool", k, "gap");
	k = op1("Flatten", k, "flat");
	in[0] = k;
	in[1] = crand("fc_w", 2, gw, 0.5f);
	in[2] = crand("fc_b", 1, &gb, 0.1f);
	y = gb_tensor_t(g, "fc", NPUC_DT_F32, -1, NULL);
	n = gb_node1(g, "Gemm", in, 3, y);
	gb_attr_i(g, n, "transB", 1);
	y = op1("Softmax", y, "y");
	gb_io(g, &x, 1, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	ck_assert_msg(npuc_passes_run(g, NULL, &d) == 0, "%s", d.msg);
}

START_TEST(test_mini_network)
{
	const int64_t xd[4] = { 1, 3, 8, 8 };
	struct npuc_act_ranges r;
	struct npuc_graph *ex;
	struct npuq_graph *ri;
	struct stats sa = { 0 }, sb = { 0 };
	struct npuc_value v[8];
	float xv[8][192];
	int cpu = 0;

	build_mini_net();
	for (int s = 0; s < 8; s++) {
		for (int i = 0; i < 192; i++)
			xv[s][i] = frand();
		ck_assert_int_eq(npuc_value_wrap(&v[s], NPUC_DT_F32, 4, xd, xv[s], &d), 0);
	}
	calibrate(&v[0], &r);
	for (int s = 1; s < 6; s++) {
		struct npuc_ref_trace tr = { .observe = npuc_act_ranges_observe, .ctx = &r };
		struct npuc_value o;

		ck_assert_int_eq(npuc_ref_run(g, &v[s], &o, &tr, &d), 0);
		npuc_value_free(&o);
	}
	q = npuc_quantize(g, &r, NULL, &d);
	ck_assert_msg(q != NULL, "%s", d.msg);
	npuc_act_ranges_free(&r);
	for (int i = 0; i < q->n_nodes; i++)
		cpu += q->nodes[i].op == NPUQ_CPU;
	ck_assert_int_eq(cpu, 1);	/* the Softmax */
	ex = export_load(q);
	ck_assert_int_eq(count_op(ex, "Conv"), 2);
	ck_assert_int_eq(count_op(ex, "Add"), 1);
	ck_assert_int_eq(count_op(ex, "Mul"), 1);
	ck_assert_int_eq(count_op(ex, "Sigmoid"), 1);
	ck_assert_int_eq(count_op(ex, "Concat"), 1);
	ck_assert_int_eq(count_op(ex, "GlobalAveragePool"), 1);
	ck_assert_int_eq(count_op(ex, "Gemm"), 1);
	ck_assert_int_eq(count_op(ex, "Softmax"), 1);
	ri = reimport(q, "mini network");
	for (int s = 0; s < 8; s++)	/* 6 and 7 were not seen by calibration */
		cross_run(q, ex, ri, &v[s], &v[s], "mini network", &sa, &sb);
	fprintf(stderr, "onnx_export: mini network: export %lld/%lld exact (worst %.2f), "
		"re-import %lld/%lld exact\n", (long long)sa.exact, (long long)sa.n, sa.worst,
		(long long)sb.exact, (long long)sb.n);
	npuq_graph_free(ri);
	npuc_graph_free(ex);
}
END_TEST

/* ---- a pre-quantised uint8 QDQ model (npuc_qdq_import) exported again ---- */

static int cf(const char *name, float v)
{
	return gb_const_t(g, name, NPUC_DT_F32, 0, NULL, &v);
}

static int cu8(const char *name, int v)
{
	uint8_t b = (uint8_t)v;

	return gb_const_t(g, name, NPUC_DT_U8, 0, NULL, &b);
}

static int qdq(const char *op, int x, const char *name, float s, int zp, enum npuc_dtype dt)
{
	char b[64];
	int in[3], y;

	snprintf(b, sizeof(b), "%s_s", name);
	in[0] = x;
	in[1] = cf(b, s);
	snprintf(b, sizeof(b), "%s_zp", name);
	in[2] = cu8(b, zp);
	y = gb_tensor_t(g, name, dt, -1, NULL);
	gb_node1(g, op, in, 3, y);
	return y;
}

/*
 * x u8 [1,2,5,5] -> DQ -> Conv (per-channel int8 weights, int32 bias) ->
 * Relu -> Q u8 -> DQ -> Tanh -> Clip(0, 0.5) -> Q u8 -> y: the Tanh LUT
 * carries the fused Clip, which the export must reproduce.
 */
static void build_u8_qdq(void)
{
	const int64_t xd[4] = { 1, 2, 5, 5 }, wd[4] = { 3, 2, 3, 3 }, n3 = 3;
	const int64_t pads[4] = { 1, 1, 1, 1 };
	const float ws[3] = { 0.01f, 0.02f, 0.015f };
	int8_t w[54];
	int32_t bias[3] = { 100, -250, 40 };
	float bs[3];
	int x, in[3], c, y, t;

	for (int i = 0; i < 54; i++)
		w[i] = (int8_t)((i * 37) % 255 - 127);
	for (int i = 0; i < 3; i++)
		bs[i] = 0.05f * ws[i];
	x = gb_tensor_t(g, "x", NPUC_DT_U8, 4, xd);
	in[0] = qdq("DequantizeLinear", x, "x_dq", 0.05f, 128, NPUC_DT_F32);
	in[1] = gb_tensor_t(g, "w_dq", NPUC_DT_F32, -1, NULL);
	{
		int win[2] = { gb_const_t(g, "w", NPUC_DT_I8, 4, wd, w),
			       gb_const_t(g, "w_s", NPUC_DT_F32, 1, &n3, ws) };
		int nd = gb_node1(g, "DequantizeLinear", win, 2, in[1]);

		gb_attr_i(g, nd, "axis", 0);
	}
	in[2] = gb_tensor_t(g, "b_dq", NPUC_DT_F32, -1, NULL);
	{
		int bin[2] = { gb_const_t(g, "b", NPUC_DT_I32, 1, &n3, bias),
			       gb_const_t(g, "b_s", NPUC_DT_F32, 1, &n3, bs) };
		int nd = gb_node1(g, "DequantizeLinear", bin, 2, in[2]);

		gb_attr_i(g, nd, "axis", 0);
	}
	c = gb_tensor_t(g, "conv", NPUC_DT_F32, -1, NULL);
	gb_attr_ints(g, gb_node1(g, "Conv", in, 3, c), "pads", 4, pads);
	t = gb_tensor_t(g, "relu", NPUC_DT_F32, -1, NULL);
	gb_node1(g, "Relu", &c, 1, t);
	t = qdq("QuantizeLinear", t, "h", 0.03f, 0, NPUC_DT_U8);
	t = qdq("DequantizeLinear", t, "h_dq", 0.03f, 0, NPUC_DT_F32);
	in[0] = t;
	t = gb_tensor_t(g, "tanh", NPUC_DT_F32, -1, NULL);
	gb_node1(g, "Tanh", in, 1, t);
	in[0] = t;
	in[1] = cf("lo", 0.0f);
	in[2] = cf("hi", 0.5f);
	t = gb_tensor_t(g, "clip", NPUC_DT_F32, -1, NULL);
	gb_node1(g, "Clip", in, 3, t);
	y = qdq("QuantizeLinear", t, "y", 1.0f / 256, 0, NPUC_DT_U8);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
}

START_TEST(test_qdq_uint8_model)
{
	struct npuc_graph *ex;
	struct npuq_graph *ri;
	struct stats sa = { 0 }, sb = { 0 };
	const int64_t xd[4] = { 1, 2, 5, 5 };
	uint8_t xu[50];
	int8_t xi[50];
	struct npuc_value vu, vi, so, eo;

	build_u8_qdq();
	ck_assert_msg(npuc_qdq_import(g, &q, &d) == 0, "%s", d.msg);
	ex = export_load(q);
	/* uint8 boundary kept, as in the source */
	ck_assert_str_eq(ex->t[ex->inputs[0]].name, "x");
	ck_assert_int_eq(ex->t[ex->inputs[0]].dtype, NPUC_DT_U8);
	ck_assert_str_eq(ex->t[ex->outputs[0]].name, "y");
	ck_assert_int_eq(ex->t[ex->outputs[0]].dtype, NPUC_DT_U8);
	ck_assert_int_eq(count_op(ex, "Conv"), 1);
	ck_assert_int_eq(count_op(ex, "Tanh"), 1);
	ck_assert_int_eq(count_op(ex, "Clip"), 1);	/* the fused clamp of the LUT */
	ri = reimport(q, "uint8 qdq");
	for (int s = 0; s < 6; s++) {
		for (int i = 0; i < 50; i++) {
			xu[i] = (uint8_t)((i * 53 + s * 101) % 256);
			xi[i] = (int8_t)(xu[i] ^ 0x80);
		}
		ck_assert_int_eq(npuc_value_wrap(&vu, NPUC_DT_U8, 4, xd, xu, &d), 0);
		ck_assert_int_eq(npuc_value_wrap(&vi, NPUC_DT_I8, 4, xd, xi, &d), 0);
		cross_run(q, ex, ri, &vi, &vu, "uint8 qdq", &sa, &sb);
		/* and the export against the source model itself (both ONNX semantics) */
		ck_assert_int_eq(npuc_ref_run(q->src, &vu, &so, NULL, &d), 0);
		ck_assert_int_eq(npuc_ref_run(ex, &vu, &eo, NULL, &d), 0);
		for (int i = 0; i < so.numel; i++)
			ck_assert_int_le(abs(((uint8_t *)so.data)[i] - ((uint8_t *)eo.data)[i]), 1);
		npuc_value_free(&so);
		npuc_value_free(&eo);
	}
	ck_assert_int_gt(sa.exact, sa.n * 9 / 10);
	npuq_graph_free(ri);
	npuc_graph_free(ex);
}
END_TEST

/* ---- hand-built qgraphs: paths quantisation does not take ---- */

static int qt(struct npuq_graph *qq, const char *name, int h, int w, int c, float s, int zp,
	      unsigned int flags, int rank, const int64_t *dims, int nchw)
{
	int t = npuq_add_tensor(qq, name, h, w, c, s, zp, flags, &d);

	ck_assert_msg(t >= 0, "%s", d.msg);
	qq->t[t].onnx_rank = rank;
	for (int i = 0; i < rank; i++)
		qq->t[t].onnx_dims[i] = dims[i];
	qq->t[t].nchw = nchw;
	return t;
}

static void qnode(struct npuq_graph *qq, enum npuq_op op, const char *name, int in, int out,
		  const void *p)
{
	ck_assert_msg(npuq_add_node(qq, op, name, &in, 1, &out, 1, p, &d) >= 0, "%s", d.msg);
}

/*
 * A LUT without source function (exported as an exact Gather) and a
 * RESHAPE of an NCHW tensor to a flat one feeding no fully connected layer
 * (exported with transposes): both must be exact.
 */
START_TEST(test_gather_lut_and_transposing_reshape)
{
	const int64_t xd[4] = { 1, 3, 2, 4 }, fd[2] = { 1, 24 };
	struct npuq_lut l = { .fn = strdup("NoSuchFunction") };
	struct npuc_graph *ex;
	struct npuq_graph *ri;
	struct stats sa = { 0 }, sb = { 0 };
	struct npuc_value v;
	float x[24];
	int x0, x1, x2, x3, y;

	q = npuq_graph_new();
	x0 = qt(q, "x", 2, 4, 3, 0, 0, NPUQ_T_FLOAT, 4, xd, 1);
	x1 = qt(q, "x:q", 2, 4, 3, 0.02f, -5, 0, 4, xd, 1);
	x2 = qt(q, "lut", 2, 4, 3, 0.03f, 3, 0, 4, xd, 1);
	x3 = qt(q, "flat", 1, 1, 24, 0.03f, 3, 0, 2, fd, 0);
	y = qt(q, "y", 1, 1, 24, 0, 0, NPUQ_T_FLOAT, 2, fd, 0);
	for (int i = 0; i < 256; i++)
		l.table[i] = (int8_t)(((i * 97) % 256) - 128);
	ck_assert_int_eq(npuq_add_input(q, x0, &d), 0);
	ck_assert_int_eq(npuq_add_output(q, y, &d), 0);
	qnode(q, NPUQ_QUANTIZE, "quantize", x0, x1, NULL);
	qnode(q, NPUQ_LUT, "weird", x1, x2, &l);
	qnode(q, NPUQ_RESHAPE, "flatten", x2, x3, NULL);
	qnode(q, NPUQ_DEQUANTIZE, "dequantize", x3, y, NULL);
	npuc_graph_free(g);	/* no source graph */
	g = NULL;
	ex = export_load(q);
	ck_assert_int_eq(count_op(ex, "Gather"), 1);
	ck_assert_int_eq(count_op(ex, "Transpose"), 1);
	ri = reimport(q, "gather");
	for (int s = 0; s < 4; s++) {
		for (int i = 0; i < 24; i++)
			x[i] = 2.5f * frand();
		ck_assert_int_eq(npuc_value_wrap(&v, NPUC_DT_F32, 4, xd, x, &d), 0);
		cross_run(q, ex, NULL, &v, &v, "gather / transpose", &sa, &sb);
	}
	ck_assert_int_eq(sa.exact, sa.n);	/* table lookups and moves are exact */
	npuq_graph_free(ri);
	npuc_graph_free(ex);
}
END_TEST

/*
 * Pre-opset-13 CPU nodes are rewritten for the exported opset: ReduceSum
 * with an axes attribute and Softmax over a non-last axis (opset 11's
 * 2-D coercion).
 */
START_TEST(test_legacy_cpu_nodes)
{
	const int64_t xd[4] = { 1, 2, 3, 4 }, ax[1] = { 3 };
	struct npuc_act_ranges r;
	struct npuc_graph *ex;
	struct stats sa = { 0 }, sb = { 0 };
	struct npuc_value v;
	float xv[24];
	int x, s, y, n;

	g->opset = 11;
	x = gb_tensor_t(g, "x", NPUC_DT_F32, 4, xd);
	s = gb_tensor_t(g, "s", NPUC_DT_F32, -1, NULL);
	n = gb_node1(g, "ReduceSum", &x, 1, s);
	gb_attr_ints(g, n, "axes", 1, ax);
	gb_attr_i(g, n, "keepdims", 1);
	y = gb_tensor_t(g, "y", NPUC_DT_F32, -1, NULL);
	gb_attr_i(g, gb_node1(g, "Softmax", &s, 1, y), "axis", 1);
	gb_io(g, &x, 1, &y, 1);
	ck_assert_msg(npuc_shape_infer(g, &d) == 0, "%s", d.msg);
	for (int i = 0; i < 24; i++)
		xv[i] = 3 * frand();
	ck_assert_int_eq(npuc_value_wrap(&v, NPUC_DT_F32, 4, xd, xv, &d), 0);
	ck_assert_msg(npuc_refine_shapes_by_run(g, &v, &d) == 0, "%s", d.msg);
	ck_assert_int_eq(npuc_act_ranges_init(&r, g->n_t, &d), 0);
	q = npuc_quantize(g, &r, NULL, &d);
	ck_assert_msg(q != NULL, "%s", d.msg);
	npuc_act_ranges_free(&r);
	ex = export_load(q);
	ck_assert_int_eq(ex->opset, 13);
	ck_assert_int_eq(find_op(ex, "ReduceSum")->n_in, 2);	/* axes as an input */
	ck_assert_int_eq(count_op(ex, "Flatten"), 1);
	for (int k = 0; k < 3; k++) {
		for (int i = 0; i < 24; i++)
			xv[i] = 3 * frand();
		ck_assert_int_eq(npuc_value_wrap(&v, NPUC_DT_F32, 4, xd, xv, &d), 0);
		cross_run(q, ex, NULL, &v, &v, "legacy", &sa, &sb);
	}
	ck_assert_int_eq(sa.exact, sa.n);
	npuc_graph_free(ex);
}
END_TEST

START_TEST(test_errors)
{
	uint8_t *buf = (uint8_t *)1;
	size_t len = 1;
	const int64_t xd[1] = { 4 };
	int x0, x1;

	ck_assert_int_eq(npuc_export_qdq_mem(NULL, &buf, &len, &d), -1);
	ck_assert_ptr_null(buf);
	ck_assert_int_eq(len, 0);
	ck_assert_ptr_nonnull(strstr(d.msg, "export-qdq"));
	/* an int8 tensor with a bad scale */
	q = npuq_graph_new();
	x0 = qt(q, "x", 1, 1, 4, 0, 0, NPUQ_T_FLOAT, 1, xd, 0);
	x1 = qt(q, "x:q", 1, 1, 4, -1.0f, 0, 0, 1, xd, 0);
	ck_assert_int_eq(npuq_add_input(q, x0, &d), 0);
	ck_assert_int_eq(npuq_add_output(q, x1, &d), 0);
	qnode(q, NPUQ_QUANTIZE, "quantize", x0, x1, NULL);
	ck_assert_int_eq(npuc_export_qdq_mem(q, &buf, &len, &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "invalid scale"));
	/* an unwritable path */
	q->t[x1].scale = 0.5f;
	ck_assert_int_eq(npuc_export_qdq_mem(q, &buf, &len, &d), 0);
	free(buf);
	ck_assert_int_eq(npuc_export_qdq(q, "/nonexistent-dir/x.onnx", &d), -1);
	ck_assert_ptr_nonnull(strstr(d.msg, "/nonexistent-dir/x.onnx"));
	npuc_graph_free(g);
	g = NULL;
}
END_TEST

Suite *suite_onnx_export(void);
Suite *suite_onnx_export(void)
{
	Suite *s = suite_create("onnx_export");
	TCase *tc = tcase_create("onnx_export");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fmnist);
	tcase_add_test(tc, test_onnx_node_models);
	tcase_add_test(tc, test_mini_network);
	tcase_add_test(tc, test_qdq_uint8_model);
	tcase_add_test(tc, test_gather_lut_and_transposing_reshape);
	tcase_add_test(tc, test_legacy_cpu_nodes);
	tcase_add_test(tc, test_errors);
	suite_add_tcase(s, tc);
	return s;
}
