/* SPDX-License-Identifier: MIT */
/*
 * ONNX TensorProto decoding: standalone .pb tensor files (as in the ONNX
 * backend test data, test_data_set_N/input_0.pb) and the tensors embedded in
 * a model (initializers, Constant values, TENSOR attributes).
 *
 * Supported element types: FLOAT, UINT8, INT8, INT32, INT64, BOOL, and
 * FLOAT16 / DOUBLE which are converted to F32 on load (dtype becomes F32).
 * Every size is checked with overflow-safe math against the data present;
 * anything else fails with a message naming the tensor.
 */
#ifndef NPUC_TENSOR_PB_H
#define NPUC_TENSOR_PB_H

#include <stddef.h>
#include <stdint.h>

#include "ir.h"

/* Largest tensor / total constant data accepted (after conversion). */
#define NPUC_MAX_CONST_BYTES	(1ull << 30)
/* Largest protobuf file accepted (protobuf's own 2 GiB limit). */
#define NPUC_MAX_PB_FILE	((size_t)INT32_MAX)

struct npuc_tensor_pb {
	char *name;			/* never NULL after a successful load ("" if unnamed) */
	enum npuc_dtype dtype;		/* F32, U8, I8, I32, I64 or BOOL */
	int rank;
	int64_t dims[NPUC_MAX_RANK];
	int64_t numel;
	void *data;			/* numel * npuc_dtype_size(dtype) bytes; never NULL */
	size_t nbytes;
};

/* Loads a serialized TensorProto. On failure *out is zeroed and d says why. */
int npuc_tensor_pb_load_file(const char *path, struct npuc_tensor_pb *out,
			     struct npuc_diag *d);
int npuc_tensor_pb_load_mem(const void *buf, size_t len, struct npuc_tensor_pb *out,
			    struct npuc_diag *d);
void npuc_tensor_pb_free(struct npuc_tensor_pb *t);

/* ---- shared with the model importer ---- */

struct Onnx__TensorProto;
struct ProtobufCMessageDescriptor;
struct npuc_pb_ctx;

/*
 * ONNX TensorProto.DataType -> npuc dtype of the decoded data (F16 and F64
 * map to F32); NPUC_DT_UNDEF if unsupported. *name gets the ONNX type name.
 */
enum npuc_dtype npuc_onnx_dtype(int32_t onnx_type, const char **name);
/* Same, but keeps F16 / F64 (for value types of non-constant tensors). */
enum npuc_dtype npuc_onnx_value_dtype(int32_t onnx_type);

/*
 * Decodes tp into out. what names the tensor in messages (e.g. "initializer
 * 'w'"); max_bytes caps the decoded size.
 */
int npuc_tensor_from_proto(const struct Onnx__TensorProto *tp, const char *what,
			   uint64_t max_bytes, struct npuc_tensor_pb *out, struct npuc_diag *d);

/*
 * Decodes a protobuf message after a schema-guided wire pre-scan that bounds
 * nesting depth (protobuf-c recurses without a limit), under an allocation
 * budget proportional to len. Free with npuc_pb_free(msg, ctx).
 */
void *npuc_pb_unpack(const struct ProtobufCMessageDescriptor *desc, const void *buf,
		     size_t len, const char *what, struct npuc_pb_ctx **ctx,
		     struct npuc_diag *d);
void npuc_pb_free(void *msg, struct npuc_pb_ctx *ctx);

/* Reads a whole file (at most max bytes) into a malloc'd buffer. */
int npuc_read_file(const char *path, size_t max, void **buf, size_t *len, struct npuc_diag *d);

#endif /* NPUC_TENSOR_PB_H */
