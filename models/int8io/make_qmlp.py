#!/usr/bin/python3
"""Writes qmlp.onnx: a two-layer int8 MLP (QLinearMatMul, int8 in and out).

Its graph input and output are int8 tensors in the layout the NPU stores
(shape [1, C]), so libnpu can bind caller buffers as the model's I/O in
place and the whole run is device work: the model for the fenced-run
(sync_file) and zero-copy tests. Deterministic weights; run with Debian's
python3-onnx (/usr/bin/python3 models/int8io/make_qmlp.py).
"""
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

rng = np.random.default_rng(20261207)
inits = []


def const(name, value):
    inits.append(numpy_helper.from_array(value, name))
    return name


def qlinear_matmul(x, k, n, x_scale, y_scale, name):
    w = rng.integers(-127, 128, size=(k, n), dtype=np.int8)
    return helper.make_node(
        "QLinearMatMul",
        [x, const(x_scale, np.array(0.05, np.float32)), const(x_scale + "_zp", np.array(0, np.int8)),
         const(name + "_w", w), const(name + "_ws", np.array(0.01, np.float32)),
         const(name + "_wzp", np.array(0, np.int8)),
         const(y_scale, np.array(0.5 if name == "fc1" else 0.8, np.float32)),
         const(y_scale + "_zp", np.array(3, np.int8))],
        [name + "_y"], name=name)


nodes = [qlinear_matmul("x", 64, 32, "x_s", "h_s", "fc1"),
         qlinear_matmul("fc1_y", 32, 10, "h2_s", "y_s", "fc2")]
# fc2 reads fc1's output with fc1's output quantisation.
nodes[1].input[1] = "h_s"
nodes[1].input[2] = "h_s_zp"
inits = [t for t in inits if t.name not in ("h2_s", "h2_s_zp")]
graph = helper.make_graph(
    nodes, "qmlp",
    [helper.make_tensor_value_info("x", TensorProto.INT8, [1, 64])],
    [helper.make_tensor_value_info("fc2_y", TensorProto.INT8, [1, 10])], inits)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)],
                          producer_name="make_qmlp.py")
onnx.checker.check_model(model)
out = os.path.join(os.path.dirname(os.path.abspath(__file__)), "qmlp.onnx")
onnx.save(model, out)
print(out, os.path.getsize(out), "bytes")
