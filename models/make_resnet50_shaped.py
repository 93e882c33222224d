#!/usr/bin/python3
"""Write a ResNet-50-shaped ONNX graph with random weights (compile-time benchmark).

The graph has the layer structure of torchvision's resnet50 (v1.5: stride on the
3x3 conv of each bottleneck), exported the usual way: float32, opset 13, fixed
input "input" [1,3,224,224], output "logits" [1,1000].  The weights are random
(seeded, so the file is byte-identical on every run) and carry no meaning; the
output is only for measuring the compiler (time, memory, report, cycle
estimates), never for accuracy.  About 25.5 M parameters, ~100 MB: generate it,
do not commit it.

    /usr/bin/python3 models/make_resnet50_shaped.py -o build/resnet50_shaped.onnx

Options: --bn keeps a BatchNormalization after every conv (as a training-mode
graph would export) instead of folding it into a conv bias; --size changes the
input resolution; --seed the weights.  Needs numpy and onnx (Debian:
python3-numpy python3-onnx), not PyTorch.
"""
import argparse
import hashlib
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

STAGES = [(64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2)]   # width, blocks, stride
EXPANSION = 4


class Builder:
    def __init__(self, rng, bn):
        self.rng, self.bn = rng, bn
        self.nodes, self.inits = [], []

    def const(self, name, arr):
        self.inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv(self, name, x, cin, cout, k, stride=1, gain=1.0):
        """Conv (+ BN or folded bias).  He-normal weights times gain keep the
        activations of the random network in a sane range."""
        std = gain * np.sqrt(2.0 / (cin * k * k))
        w = self.const(f"{name}.weight", self.rng.normal(0.0, std, (cout, cin, k, k)))
        inputs = [x, w]
        if not self.bn:
            inputs.append(self.const(f"{name}.bias", self.rng.normal(0.0, 0.01, cout)))
        out = f"{name}_out"
        p = k // 2
        self.nodes.append(helper.make_node(
            "Conv", inputs, [out], name=name, kernel_shape=[k, k], strides=[stride, stride],
            pads=[p, p, p, p], dilations=[1, 1], group=1))
        if not self.bn:
            return out
        bn = f"{name}.bn"
        args = [out,
                self.const(f"{bn}.weight", self.rng.uniform(0.8, 1.2, cout)),
                self.const(f"{bn}.bias", self.rng.normal(0.0, 0.01, cout)),
                self.const(f"{bn}.running_mean", self.rng.normal(0.0, 0.01, cout)),
                self.const(f"{bn}.running_var", self.rng.uniform(0.9, 1.1, cout))]
        self.nodes.append(helper.make_node("BatchNormalization", args, [f"{bn}_out"],
                                           name=bn, epsilon=1e-5))
        return f"{bn}_out"

    def op(self, op_type, name, inputs, **attrs):
        out = f"{name}_out"
        self.nodes.append(helper.make_node(op_type, inputs, [out], name=name, **attrs))
        return out

    def bottleneck(self, name, x, cin, width, stride):
        cout = width * EXPANSION
        y = self.op("Relu", f"{name}.relu1", [self.conv(f"{name}.conv1", x, cin, width, 1)])
        y = self.op("Relu", f"{name}.relu2",
                    [self.conv(f"{name}.conv2", y, width, width, 3, stride)])
        # a small last-conv gain keeps the residual sum from growing block by block
        y = self.conv(f"{name}.conv3", y, width, cout, 1, gain=0.3)
        short = x
        if stride != 1 or cin != cout:
            short = self.conv(f"{name}.downsample", x, cin, cout, 1, stride)
        s = self.op("Add", f"{name}.add", [y, short])
        return self.op("Relu", f"{name}.relu3", [s]), cout


def build(seed, bn, size):
    b = Builder(np.random.default_rng(seed), bn)
    x = b.op("Relu", "relu", [b.conv("conv1", "input", 3, 64, 7, 2)])
    x = b.op("MaxPool", "maxpool", [x], kernel_shape=[3, 3], strides=[2, 2],
             pads=[1, 1, 1, 1])
    c = 64
    for si, (width, blocks, stride) in enumerate(STAGES):
        for bi in range(blocks):
            x, c = b.bottleneck(f"layer{si + 1}.{bi}", x, c, width,
                                stride if bi == 0 else 1)
    x = b.op("GlobalAveragePool", "avgpool", [x])
    x = b.op("Flatten", "flatten", [x], axis=1)
    fw = b.const("fc.weight", b.rng.normal(0.0, np.sqrt(1.0 / c), (1000, c)))
    fb = b.const("fc.bias", np.zeros(1000))
    b.nodes.append(helper.make_node("Gemm", [x, fw, fb], ["logits"], name="fc",
                                    alpha=1.0, beta=1.0, transB=1))
    graph = helper.make_graph(
        b.nodes, "resnet50_shaped",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, size, size])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000])],
        b.inits)
    model = helper.make_model(graph, producer_name="npu make_resnet50_shaped.py",
                              opset_imports=[helper.make_opsetid("", 13)])
    model.ir_version = 7
    return model


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("-o", "--out", default="resnet50_shaped.onnx")
    ap.add_argument("--seed", type=int, default=50)
    ap.add_argument("--bn", action="store_true", help="keep BatchNormalization nodes")
    ap.add_argument("--size", type=int, default=224, help="input height and width")
    args = ap.parse_args()
    if args.size < 32 or args.size % 32:
        sys.exit("make_resnet50_shaped: --size must be a multiple of 32, >= 32")

    model = build(args.seed, args.bn, args.size)
    onnx.checker.check_model(model)
    data = model.SerializeToString(deterministic=True)
    with open(args.out, "wb") as f:
        f.write(data)
    nparams = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    ops = {}
    for n in model.graph.node:
        ops[n.op_type] = ops.get(n.op_type, 0) + 1
    counts = ", ".join(f"{k} {v}" for k, v in sorted(ops.items()))
    print(f"{args.out}: {len(data)} bytes, {nparams} parameters, "
          f"{len(model.graph.node)} nodes ({counts}), "
          f"sha256 {hashlib.sha256(data).hexdigest()[:16]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
