// SPDX-License-Identifier: MIT
/*
 * A structure-aware libFuzzer mutator for ONNX models. Random bytes rarely
 * survive protobuf decoding, so most of the time the model is decoded with
 * protobuf-c, one field that matters to a compiler is changed (an op type,
 * an attribute value, a declared dimension, a constant's value or shape,
 * which tensor a node reads, an attribute dropped) and the model is encoded
 * again. Otherwise, or when the bytes do not decode, libFuzzer's own byte
 * mutation runs.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"

size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed);

/* Ops npuc maps or runs on the CPU: replacing one op by another keeps arity often right. */
static const char *const ops[] = {
	"Conv", "Relu", "MaxPool", "AveragePool", "GlobalAveragePool", "Add", "Mul", "Sub",
	"Div", "Gemm", "MatMul", "Concat", "Reshape", "Flatten", "Transpose", "Sigmoid",
	"Softmax", "Clip", "LeakyRelu", "HardSwish", "Tanh", "Identity", "BatchNormalization",
	"Squeeze", "Unsqueeze", "Pad", "Resize", "Slice", "Gather", "ReduceMean", "Expand",
	"QuantizeLinear", "DequantizeLinear", "Shape", "Cast", "Max", "Min", "Sum", "Exp",
};

static uint64_t rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static int64_t new_int(uint64_t *s, int64_t old)
{
	static const int64_t special[] = { 0, 1, -1, 2, 3, 4, 7, 8, 16, 33, 255, 65536,
					   INT32_MAX, INT64_C(1) << 40, INT64_MIN };

	switch (rnd(s) % 4) {
	case 0:
		return special[rnd(s) % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return (int64_t)((uint64_t)old + 1);	/* wraps: no overflow in the mutator */
	case 2:
		return (int64_t)((uint64_t)old - 1);
	default:
		return (int64_t)((uint64_t)old * 2);
	}
}

static float new_float(uint64_t *s, float old)
{
	static const float special[] = { 0.0f, 1.0f, -1.0f, 0.5f, 6.0f, 1e-30f, 1e30f };

	switch (rnd(s) % 6) {
	case 0:
		return special[rnd(s) % (sizeof(special) / sizeof(special[0]))];
	case 1:
		return NAN;
	case 2:
		return (rnd(s) & 1) ? INFINITY : -INFINITY;
	case 3:
		return -old;
	case 4:
		return old * 2.0f;
	default:
		return old + 0.25f;
	}
}

static void set_str(char **dst, const char *src)
{
	char *c = strdup(src);

	if (!c)
		return;
	free(*dst);
	*dst = c;
}

/* Every tensor name a node could read: graph inputs, initializers, node outputs. */
static const char *any_name(uint64_t *s, const Onnx__GraphProto *g)
{
	size_t n = g->n_input + g->n_initializer, k;

	for (size_t i = 0; i < g->n_node; i++)
		n += g->node[i]->n_output;
	if (!n)
		return NULL;
	k = rnd(s) % n;
	if (k < g->n_input)
		return g->input[k]->name;
	k -= g->n_input;
	if (k < g->n_initializer)
		return g->initializer[k]->name;
	k -= g->n_initializer;
	for (size_t i = 0; i < g->n_node; i++) {
		if (k < g->node[i]->n_output)
			return g->node[i]->output[k];
		k -= g->node[i]->n_output;
	}
	return NULL;
}

static int mutate_attr(uint64_t *s, Onnx__NodeProto *n)
{
	Onnx__AttributeProto *a;

	if (!n->n_attribute)
		return 0;
	a = n->attribute[rnd(s) % n->n_attribute];
	if (rnd(s) % 8 == 0) {	/* drop the last attribute */
		protobuf_c_message_free_unpacked(&n->attribute[n->n_attribute - 1]->base, NULL);
		n->n_attribute--;
		return 1;
	}
	if (a->has_i) {
		a->i = new_int(s, a->i);
	} else if (a->has_f) {
		a->f = new_float(s, a->f);
	} else if (a->n_ints) {
		size_t k = rnd(s) % a->n_ints;

		a->ints[k] = new_int(s, a->ints[k]);
	} else if (a->n_floats) {
		size_t k = rnd(s) % a->n_floats;

		a->floats[k] = new_float(s, a->floats[k]);
	} else {
		return 0;
	}
	return 1;
}

static int mutate_dim(uint64_t *s, Onnx__GraphProto *g)
{
	size_t n = g->n_input + g->n_output, k;
	Onnx__ValueInfoProto *v;
	Onnx__TensorShapeProto *sh;
	Onnx__TensorShapeProto__Dimension *dm;

	if (!n)
		return 0;
	k = rnd(s) % n;
	v = k < g->n_input ? g->input[k] : g->output[k - g->n_input];
	if (!v->type || v->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE ||
	    !v->type->tensor_type || !v->type->tensor_type->shape)
		return 0;
	sh = v->type->tensor_type->shape;
	if (!sh->n_dim)
		return 0;
	dm = sh->dim[rnd(s) % sh->n_dim];
	if (dm->value_case != ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE)
		return 0;
	dm->dim_value = new_int(s, dm->dim_value) & 63;	/* keep shapes small */
	return 1;
}

/* A constant's value (float or int64 elements) or, rarely, one of its dims. */
static int mutate_init(uint64_t *s, Onnx__GraphProto *g)
{
	Onnx__TensorProto *t;

	if (!g->n_initializer)
		return 0;
	t = g->initializer[rnd(s) % g->n_initializer];
	if (t->n_dims && rnd(s) % 6 == 0) {
		size_t k = rnd(s) % t->n_dims;

		t->dims[k] = new_int(s, t->dims[k]);
		return 1;
	}
	if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT) {
		if (t->has_raw_data && t->raw_data.len >= 4) {
			size_t k = rnd(s) % (t->raw_data.len / 4);
			float f;

			memcpy(&f, t->raw_data.data + 4 * k, 4);
			f = new_float(s, f);
			memcpy(t->raw_data.data + 4 * k, &f, 4);
			return 1;
		}
		if (t->n_float_data) {
			size_t k = rnd(s) % t->n_float_data;

			t->float_data[k] = new_float(s, t->float_data[k]);
			return 1;
		}
	} else if (t->data_type == ONNX__TENSOR_PROTO__DATA_TYPE__INT64) {
		if (t->has_raw_data && t->raw_data.len >= 8) {
			size_t k = rnd(s) % (t->raw_data.len / 8);
			int64_t v;

			memcpy(&v, t->raw_data.data + 8 * k, 8);
			v = new_int(s, v);
			memcpy(t->raw_data.data + 8 * k, &v, 8);
			return 1;
		}
		if (t->n_int64_data) {
			size_t k = rnd(s) % t->n_int64_data;

			t->int64_data[k] = new_int(s, t->int64_data[k]);
			return 1;
		}
	}
	return 0;
}

static int mutate_model(uint64_t *s, Onnx__ModelProto *m)
{
	Onnx__GraphProto *g = m->graph;
	Onnx__NodeProto *n;
	const char *name;

	if (!g)
		return 0;
	n = g->n_node ? g->node[rnd(s) % g->n_node] : NULL;
	switch (rnd(s) % 6) {
	case 0:
		if (!n)
			return 0;
		set_str(&n->op_type, ops[rnd(s) % (sizeof(ops) / sizeof(ops[0]))]);
		return 1;
	case 1:
		return n ? mutate_attr(s, n) : 0;
	case 2:
		return mutate_dim(s, g);
	case 3:
	case 4:
		return mutate_init(s, g);
	default:
		if (!n || !n->n_input)
			return 0;
		name = any_name(s, g);
		if (!name)
			return 0;
		set_str(&n->input[rnd(s) % n->n_input], name);
		return 1;
	}
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned int seed)
{
	uint64_t s = seed;
	Onnx__ModelProto *m;
	size_t len = 0;
	int changed = 0;

	if (rnd(&s) % 5 == 0)
		return LLVMFuzzerMutate(data, size, max_size);
	m = onnx__model_proto__unpack(NULL, size, data);
	if (!m)
		return LLVMFuzzerMutate(data, size, max_size);
	for (int k = 0, rounds = 1 + (int)(rnd(&s) % 3); k < rounds; k++)
		changed |= mutate_model(&s, m);
	if (changed) {
		len = onnx__model_proto__get_packed_size(m);
		if (len <= max_size)
			onnx__model_proto__pack(m, data);
		else
			len = 0;
	}
	onnx__model_proto__free_unpacked(m, NULL);
	return len ? len : LLVMFuzzerMutate(data, size, max_size);
}
