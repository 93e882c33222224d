#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Cross-checks a model on ONNX Runtime (not part of make check):
#
#   scripts/ort_crosscheck.sh MODEL.onnx [ort_crosscheck.js options]
#
# for example, for the bundled Fashion-MNIST model quantised by npuc:
#
#   build/opt/npuc models/fmnist/fmnist.onnx -o /tmp/fmnist.npub \
#       --calib /usr/share/datasets/fashion-mnist/train-images-idx3-ubyte.gz \
#       --calib-scale 0.00392156862745098 --calib-limit 500 \
#       --export-qdq /tmp/fmnist_qdq.onnx
#   scripts/ort_crosscheck.sh /tmp/fmnist_qdq.onnx
#
# Installs onnxruntime-node into $BUILD/npm (default build/npm) on first
# use; its CPU binaries come with the npm package (the optional CUDA
# download of its install script is skipped).
set -eu

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$top/build}
case $build in /*) ;; *) build=$top/$build ;; esac
prefix=$build/npm

if [ $# -lt 1 ]; then
	echo "usage: $0 MODEL.onnx [--images IDX] [--labels IDX] [--limit N] [--scale S] [--opt L]" >&2
	exit 2
fi
command -v node >/dev/null 2>&1 || { echo "$0: node (Node.js) is needed" >&2; exit 2; }
if [ ! -d "$prefix/node_modules/onnxruntime-node" ]; then
	command -v npm >/dev/null 2>&1 || { echo "$0: npm is needed" >&2; exit 2; }
	echo "$0: installing onnxruntime-node into $prefix" >&2
	mkdir -p "$prefix"
	ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
		npm install --prefix "$prefix" --no-audit --no-fund onnxruntime-node >&2
fi
NODE_PATH=$prefix/node_modules exec node "$top/scripts/ort_crosscheck.js" "$@"
