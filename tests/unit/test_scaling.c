// SPDX-License-Identifier: MIT
/*
 * Compile time grows linearly with the graph: an ONNX chain of N nodes
 * (1x1 Conv, Relu, Add of a constant, in turn) goes through npuc's whole
 * pipeline (import, shape inference, passes, calibration, quantisation,
 * lowering, .npub writer) at N and 10 N. Linear work takes about 10 times
 * as long; anything quadratic (a string table scanned per string, a list
 * searched per node) takes about 100 times. The test allows 30 times.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "onnx.pb-c.h"
#include "npub.h"
#include "pipeline.h"

#if defined(__SANITIZE_ADDRESS__)
#define CHAIN_SMALL 1000	/* ASan: same ratio, fewer nodes */
#else
#define CHAIN_SMALL 10000	/* and 100,000 */
#endif

static char *fmt(const char *f, int i)
{
	char *s = malloc(32);

	ck_assert_ptr_nonnull(s);
	snprintf(s, 32, f, i);
	return s;
}

static Onnx__ValueInfoProto *value_info(const char *name)
{
	static const int64_t dims[4] = { 1, 4, 4, 4 };
	Onnx__ValueInfoProto *v = calloc(1, sizeof(*v));
	Onnx__TypeProto *tp = calloc(1, sizeof(*tp));
	Onnx__TypeProto__Tensor *tt = calloc(1, sizeof(*tt));
	Onnx__TensorShapeProto *sh = calloc(1, sizeof(*sh));

	onnx__value_info_proto__init(v);
	onnx__type_proto__init(tp);
	onnx__type_proto__tensor__init(tt);
	onnx__tensor_shape_proto__init(sh);
	sh->n_dim = 4;
	sh->dim = calloc(4, sizeof(*sh->dim));
	for (int k = 0; k < 4; k++) {
		sh->dim[k] = calloc(1, sizeof(**sh->dim));
		onnx__tensor_shape_proto__dimension__init(sh->dim[k]);
		sh->dim[k]->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
		sh->dim[k]->dim_value = dims[k];
	}
	tt->has_elem_type = 1;
	tt->elem_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	tt->shape = sh;
	tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
	tp->tensor_type = tt;
	v->name = strdup(name);
	v->type = tp;
	return v;
}

static Onnx__TensorProto *constant(const char *name, int n_dims, const int64_t *dims,
				   const float *vals, size_t n)
{
	Onnx__TensorProto *t = calloc(1, sizeof(*t));

	onnx__tensor_proto__init(t);
	t->name = strdup(name);
	t->has_data_type = 1;
	t->data_type = ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT;
	t->n_dims = (size_t)n_dims;
	t->dims = malloc((size_t)n_dims * sizeof(int64_t));
	memcpy(t->dims, dims, (size_t)n_dims * sizeof(int64_t));
	t->n_float_data = n;
	t->float_data = malloc(n * sizeof(float));
	memcpy(t->float_data, vals, n * sizeof(float));
	return t;
}

/* The packed ONNX model of an n-node chain. */
static uint8_t *chain_model(int n, size_t *len)
{
	static const int64_t wd[4] = { 4, 4, 1, 1 }, cd[1] = { 1 };
	float w[16] = { 0 }, c = 0.01f;
	Onnx__ModelProto m;
	Onnx__GraphProto g;
	Onnx__OperatorSetIdProto op, *ops = &op;
	uint8_t *buf;

	for (int k = 0; k < 4; k++)
		w[k * 5] = 0.9f;
	onnx__model_proto__init(&m);
	onnx__graph_proto__init(&g);
	onnx__operator_set_id_proto__init(&op);
	op.has_version = 1;
	op.version = 13;
	op.domain = strdup("");
	m.has_ir_version = 1;
	m.ir_version = 7;
	m.n_opset_import = 1;
	m.opset_import = &ops;
	m.graph = &g;
	g.name = strdup("chain");
	g.n_initializer = 2;
	g.initializer = calloc(2, sizeof(*g.initializer));
	g.initializer[0] = constant("w", 4, wd, w, 16);
	g.initializer[1] = constant("c", 1, cd, &c, 1);
	g.n_node = (size_t)n;
	g.node = calloc((size_t)n, sizeof(*g.node));
	for (int i = 0; i < n; i++) {
		Onnx__NodeProto *nd = calloc(1, sizeof(*nd));
		int kind = i % 3;

		onnx__node_proto__init(nd);
		nd->name = fmt("n%d", i);
		nd->op_type = strdup(kind == 0 ? "Conv" : kind == 1 ? "Relu" : "Add");
		nd->n_input = kind == 1 ? 1 : 2;
		nd->input = calloc(2, sizeof(char *));
		nd->input[0] = i ? fmt("t%d", i - 1) : strdup("x");
		if (kind != 1)
			nd->input[1] = strdup(kind == 0 ? "w" : "c");
		nd->n_output = 1;
		nd->output = calloc(1, sizeof(char *));
		nd->output[0] = fmt("t%d", i);
		g.node[i] = nd;
	}
	g.n_input = g.n_output = 1;
	g.input = calloc(1, sizeof(*g.input));
	g.output = calloc(1, sizeof(*g.output));
	g.input[0] = value_info("x");
	{
		char *last = fmt("t%d", n - 1);

		g.output[0] = value_info(last);
		free(last);
	}
	*len = onnx__model_proto__get_packed_size(&m);
	buf = malloc(*len);
	ck_assert_ptr_nonnull(buf);
	onnx__model_proto__pack(&m, buf);
	/* the parts were malloc'd one by one: free them the same way */
	m.opset_import = NULL;
	m.n_opset_import = 0;
	m.graph = NULL;
	free(op.domain);
	for (size_t i = 0; i < g.n_node; i++)
		onnx__node_proto__free_unpacked(g.node[i], NULL);
	for (size_t i = 0; i < g.n_initializer; i++)
		onnx__tensor_proto__free_unpacked(g.initializer[i], NULL);
	onnx__value_info_proto__free_unpacked(g.input[0], NULL);
	onnx__value_info_proto__free_unpacked(g.output[0], NULL);
	free(g.node);
	free(g.initializer);
	free(g.input);
	free(g.output);
	free(g.name);
	return buf;
}

/* Seconds npuc takes for an n-node chain, the .npub written to memory. */
static double compile_seconds(int n)
{
	struct npuc_compile_opts o;
	struct npuc_compiled c;
	struct npuc_diag d = { { 0 } };
	struct timespec t0, t1;
	uint8_t *model, *npub;
	size_t len, npub_len;

	model = chain_model(n, &len);
	npuc_compile_opts_default(&o);
	o.model_path = "chain.onnx";
	o.calib_random = 1;
	o.calib_limit = 2;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ck_assert_msg(npuc_compile_mem(&o, model, len, NULL, &c, &d) == 0, "%s", d.msg);
	ck_assert_msg(npub_write_mem(c.model, &npub, &npub_len, &d) == 0, "%s", d.msg);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ck_assert_uint_ge(c.model->n_layers, (uint32_t)n / 3);
	npuc_compiled_free(&c);
	free(npub);
	free(model);
	return (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
}

START_TEST(test_compile_time_linear)
{
	double small = compile_seconds(CHAIN_SMALL), large = compile_seconds(10 * CHAIN_SMALL);

	fprintf(stderr, "scaling: %d-node chain compiled in %.3f s, %d nodes in %.3f s (x%.1f)\n",
		CHAIN_SMALL, small, 10 * CHAIN_SMALL, large, large / small);
	ck_assert_msg(large < 30.0 * small, "10x the nodes took %.1fx the time", large / small);
}
END_TEST

Suite *suite_scaling(void);
Suite *suite_scaling(void)
{
	Suite *s = suite_create("scaling");
	TCase *tc = tcase_create("compile");

	tcase_add_test(tc, test_compile_time_linear);
	tcase_set_timeout(tc, 300);
	suite_add_tcase(s, tc);
	return s;
}
