// SPDX-License-Identifier: MIT
/*
 * libFuzzer harness: arbitrary bytes through the ONNX importer, then shape
 * inference on whatever imports, and the same bytes as a standalone
 * TensorProto. Every failure must come with a message; nothing may crash,
 * leak or trip a sanitizer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "ir.h"
#include "onnx_import.h"
#include "shape_infer.h"
#include "tensor_pb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct npuc_diag d = { { 0 } };
	struct npuc_tensor_pb tb;
	struct npuc_graph *g;

	if (npuc_onnx_load_mem(data, size, &g, &d) == 0) {
		d.msg[0] = 0;
		if (npuc_shape_infer(g, &d) < 0 && !d.msg[0])
			abort();	/* failure without a message */
		npuc_graph_free(g);
	} else if (!d.msg[0] || g) {
		abort();
	}
	d.msg[0] = 0;
	if (npuc_tensor_pb_load_mem(data, size, &tb, &d) == 0)
		npuc_tensor_pb_free(&tb);
	else if (!d.msg[0] || tb.data)
		abort();
	return 0;
}
