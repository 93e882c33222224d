#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, runtime part (run by tests/bench/bench_runtime.mk from the
# repository root). Measured figures only: host wall time per inference of
# the simulator backend (libnpu, through npu-run) next to ONNX Runtime's on
# the same float model (models/fmnist/fmnist.onnx), both single-threaded,
# in the same run, and their ratio.
#  - simulator: npu-run on IMAGES different test images, each run REPEAT
#    times in one process; the figure is npu_run()'s wall time (float input
#    quantised, every NPU job simulated, output dequantised), the mean over
#    the runs of each image, then mean and median over the images. Model
#    loading and input file parsing are outside it.
#  - ONNX Runtime: onnxruntime-node (npm, installed into $BUILD/npm on first
#    use; used by this benchmark only), intraOpNumThreads = interOpNumThreads
#    = 1, WARMUP runs, then each of ORT_IMAGES different images timed around
#    `await session.run` (input tensors built beforehand).
# Environment (set by the makefile; defaults for a manual run):
#   BUILD NPU_RUN FMNIST_NPUB FMNIST_ONNX IMAGES (20) REPEAT (100)
#   ORT_IMAGES (2000) WARMUP (100)
set -euo pipefail

top=$(pwd)
BUILD=${BUILD:-build}
case $BUILD in /*) ;; *) BUILD=$top/$BUILD ;; esac
NPU_RUN=${NPU_RUN:-$BUILD/opt/npu-run}
FMNIST_NPUB=${FMNIST_NPUB:-$BUILD/models/fmnist.npub}
FMNIST_ONNX=${FMNIST_ONNX:-models/fmnist/fmnist.onnx}
IMAGES=${IMAGES:-20}
REPEAT=${REPEAT:-100}
ORT_IMAGES=${ORT_IMAGES:-2000}
WARMUP=${WARMUP:-100}
data=/usr/share/datasets/fashion-mnist
images=$data/t10k-images-idx3-ubyte.gz
labels=$data/t10k-labels-idx1-ubyte.gz
scale=0.00392156862745098
prefix=$BUILD/npm

# ONNX Runtime for node: Debian's node + npm, then the npm package (its CPU
# binaries ship in the package; the optional CUDA download is skipped).
fetch_ort() {
	if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
		./scripts/install-deps.sh nodejs npm
	fi
	if [ ! -d "$prefix/node_modules/onnxruntime-node" ]; then
		echo "(installing onnxruntime-node into $prefix)"
		mkdir -p "$prefix"
		ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
			npm install --prefix "$prefix" --no-audit --no-fund onnxruntime-node >&2
	fi
}

# Simulator: one npu-run per image; prints "<mean us> <median us> <top1>".
sim_time() {
	local i out
	: >"$tmp/sim"
	for ((i = 0; i < IMAGES; i++)); do
		out=$("$NPU_RUN" "$FMNIST_NPUB" --input "$images" --index "$i" --scale "$scale" \
			--repeat "$REPEAT" --top-k 1) || { echo "npu-run failed on image $i" >&2; exit 1; }
		# "time: X ms wall per run (R runs), ..." and "top-1: class C  V"
		awk -v i="$i" '/^top-1: class/ { c = $3 }
			/^time: .* ms wall per run/ { t = $2 * 1000 }
			END { if (c == "" || t == "") exit 1; print i, c, t }' \
			<<<"$out" >>"$tmp/sim" || { echo "npu-run output not understood:" >&2; \
			echo "$out" >&2; exit 1; }
	done
	gzip -dc "$labels" | od -An -v -tu1 -j8 -N"$IMAGES" | tr -s ' ' '\n' | grep . \
		>"$tmp/labels"
	paste -d' ' "$tmp/sim" "$tmp/labels" | sort -k3,3g | awk '
		{ t[NR] = $3; s += $3; ok += ($2 == $4) }
		END {
			med = NR % 2 ? t[(NR + 1) / 2] : (t[NR / 2] + t[NR / 2 + 1]) / 2
			printf "%.2f %.2f %d/%d\n", s / NR, med, ok, NR
		}'
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

echo "== runtime: host wall time per inference, Fashion-MNIST float model"
echo "   host: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
sim_time >"$tmp/simstat"
read -r sim_mean sim_med sim_top1 <"$tmp/simstat"
printf '  %-34s mean %9.2f us  median %9.2f us  (%d images x %d runs, top-1 %s)\n' \
	"libnpu sim backend (npu-run)" "$sim_mean" "$sim_med" "$IMAGES" "$REPEAT" "$sim_top1"

if ! fetch_ort; then
	echo "  ONNX Runtime: not measured (onnxruntime-node could not be installed)"
	exit 1
fi
NODE_PATH=$prefix/node_modules node tests/bench/ort_time.js "$FMNIST_ONNX" \
	--images "$images" --labels "$labels" --limit "$ORT_IMAGES" --warmup "$WARMUP" \
	--scale "$scale" >"$tmp/ort"
ort_mean=$(awk '$1 == "mean_us" { print $2 }' "$tmp/ort")
ort_med=$(awk '$1 == "median_us" { print $2 }' "$tmp/ort")
ort_top1=$(awk '$1 == "top1" { print $2 }' "$tmp/ort")
ort_ver=$(sed -n 's/^runtime onnxruntime-node \([^ ]*\).*/\1/p' "$tmp/ort")
printf '  %-34s mean %9.2f us  median %9.2f us  (%d images, %d warm-up, top-1 %s)\n' \
	"ONNX Runtime $ort_ver (CPU, 1 thread)" "$ort_mean" "$ort_med" "$ORT_IMAGES" \
	"$WARMUP" "$ort_top1"
awk -v sm="$sim_mean" -v om="$ort_mean" -v sd="$sim_med" -v od="$ort_med" 'BEGIN {
	verdict = (sm > om) ? "slower" : "faster"
	printf "  ratio sim / ONNX Runtime: %.2fx (mean), %.2fx (median): the simulator is %s\n",
		sm / om, sd / od, verdict
}'
echo "  (the simulator executes the int8 NPU command streams bit-exactly and models"
echo "   cycles; ONNX Runtime runs the float graph with its optimised CPU kernels)"
