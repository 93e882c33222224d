#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: the first thing a new user runs.
#  1. npuc compiles the bundled Fashion-MNIST CNN (float ONNX) to an int8
#     .npub, calibrating on 500 training images, and prints its per-layer
#     report (MACs, estimated NPU cycles, DRAM bytes, utilisation).
#  2. All 10,000 test images run through the .npub with libnpu on its default
#     device (the in-process simulated NPU) and through the float model: accuracy of both,
#     model sizes, NPU cycles and MAC utilisation, host time per inference.
#  3. The simulator showcase drives the NPU through its full host interface
#     (MMU page tables, job ring, fences, interrupts) and checks bit-exactness.
#
# usage: scripts/demo.sh <build dir>      (make demo builds first)
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 <build dir>" >&2
	exit 2
fi
build=$1
data=/usr/share/datasets/fashion-mnist
npuc=$build/opt/npuc
npub=$build/demo/fmnist.npub

step() {
	printf '\n==> %s\n' "$*"
}

for tool in "$npuc" "$build/opt/npuc-eval" "$build/opt/npusim-showcase"; do
	if [ ! -x "$tool" ]; then
		echo "demo: $tool is missing; run 'make demo' (or 'make' first)" >&2
		exit 1
	fi
done
mkdir -p "$build/demo"

step "1/3 npuc: compiling models/fmnist/fmnist.onnx (float) to int8 for npu-v1"
"$npuc" models/fmnist/fmnist.onnx -o "$npub" \
	--calib "$data/train-images-idx3-ubyte.gz" --calib-scale 0.00392156862745098 \
	--calib-limit 500 --sqnr --report --dump-graph "$build/demo/fmnist.dot"

step "2/3 the 10,000 Fashion-MNIST test images: float model vs the int8 .npub through libnpu (default device: the simulated NPU)"
"$build/opt/npuc-eval" models/fmnist/fmnist.onnx "$npub" \
	"$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz"

step "3/3 the NPU's host interface: job ring, device MMU, fences, interrupts"
"$build/opt/npusim-showcase" --images 1000 --trace "$build/demo/showcase-trace.json" |
	grep -E "^(device|running|  bit-exact|  NPU cycles|  MAC utilisation|  host wall)" || {
	echo "demo: the showcase failed" >&2
	exit 1
}

step "demo passed"
echo "    compiled model:  $npub   (graph: $build/demo/fmnist.dot)"
echo "    device timeline: $build/demo/showcase-trace.json (open in https://ui.perfetto.dev)"
echo "    next: 'make check' runs every test, 'make bench' prints speed figures"
