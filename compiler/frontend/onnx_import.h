/* SPDX-License-Identifier: MIT */
/*
 * ONNX ModelProto -> npuc graph.
 *
 * Imports the main graph of a model: initializers and Constant nodes become
 * constant tensors (graph inputs that are also initializers are constants),
 * value_info / input / output types and shapes are attached, nodes keep
 * their op type and attributes, and the nodes are sorted topologically.
 * Shapes of intermediate tensors are left to npuc_shape_infer().
 *
 * Every malformed or unsupported input fails with a message naming the
 * problem (node / tensor / attribute); the importer never trusts a size.
 * Not supported (clear error): default-domain opsets outside
 * NPUC_ONNX_MIN_OPSET..NPUC_ONNX_MAX_OPSET, external or sparse tensor data,
 * control-flow subgraphs (GRAPH attributes), STRINGS / TENSORS / TYPE_PROTO
 * attributes, non-tensor value types, element types other than those of
 * tensor_pb.h, more than NPUC_MAX_CONST_BYTES of constant data.
 */
#ifndef NPUC_ONNX_IMPORT_H
#define NPUC_ONNX_IMPORT_H

#include <stddef.h>

#include "ir.h"

#define NPUC_ONNX_MIN_OPSET	1
#define NPUC_ONNX_MAX_OPSET	18

/* On success *out is a new graph (free with npuc_graph_free); on failure NULL. */
int npuc_onnx_load_file(const char *path, struct npuc_graph **out, struct npuc_diag *d);
int npuc_onnx_load_mem(const void *buf, size_t len, struct npuc_graph **out,
		       struct npuc_diag *d);

#endif /* NPUC_ONNX_IMPORT_H */
