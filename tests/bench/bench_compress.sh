#!/bin/bash
# SPDX-License-Identifier: MIT
# make bench, compression part (run by tests/bench/bench_compress.mk from
# the repository root). Measured figures only: the Fashion-MNIST model
# compiled as float-calibrated int8, then with npuc's compression options,
# each evaluated by npuc-eval on the 10,000 test images: top-1, the .npub
# size against the float ONNX file, NPU cycles and DRAM bytes per
# inference (the simulator's device run).
# Environment (set by the makefile): BUILD NPUC NPUC_EVAL FMNIST_ONNX
set -euo pipefail

BUILD=${BUILD:-build}
NPUC=${NPUC:-$BUILD/opt/npuc}
NPUC_EVAL=${NPUC_EVAL:-$BUILD/opt/npuc-eval}
FMNIST_ONNX=${FMNIST_ONNX:-models/fmnist/fmnist.onnx}
data=/usr/share/datasets/fashion-mnist
scale=0.00392156862745098
out=$BUILD/bench/compress
mkdir -p "$out"

# "bc": bias correction against the unpruned float model (the teacher).
# GPTQ / SparseGPT: error-compensated rounding / pruning on calibration
# data (npuc --gptq / --sparsegpt). The last rows are models trained by the
# recipes in models/fmnist (prune then fine-tune; a distilled student),
# compared with the same float model: the bundled one.
# Row: name | ONNX file (empty: the bundled model) | npuc options
variants=(
	"int8||"
	"int8, GPTQ||--gptq"
	"int8, per-tensor weights||--per-tensor"
	"int8, per-tensor, CLE||--per-tensor --equalize"
	"int8 + 50% unstructured||--prune 0.5"
	"int8 + 50% unstructured, bc||--prune 0.5 --bias-correction"
	"int8 + 50%, GPTQ, bc||--prune 0.5 --gptq --bias-correction"
	"int8 + 50%, SparseGPT, bc||--prune 0.5 --sparsegpt --bias-correction"
	"int8 + 50%, sensitivity||--prune 0.5 --prune-sensitivity"
	"int8 + 50%, sensitivity, bc||--prune 0.5 --prune-sensitivity --bias-correction"
	"int8 + 66%, sens., SparseGPT, bc||--prune 0.66 --prune-sensitivity --sparsegpt --bias-correction"
	"int8 + 2:4, bc||--prune-nm 2:4 --bias-correction"
	"int8 + 2:4, SparseGPT, bc||--prune-nm 2:4 --sparsegpt --bias-correction"
	"int8, 16 shared, bc||--cluster 16 --bias-correction"
	"int8, 16 shared, GPTQ, bc||--cluster 16 --gptq --bias-correction"
	"int8 + 50% + 16 shared, bc||--prune 0.5 --cluster 16 --bias-correction"
	"int8 + 50% + 16 sh., sens., SparseGPT||--prune 0.5 --prune-sensitivity --cluster 16 --sparsegpt --bias-correction"
	"int8, 12.5% filters removed, bc||--prune-filters 0.125 --bias-correction"
	"75% pruned + fine-tuned, int8|models/fmnist/fmnist_pruned75.onnx|"
	"50% filters + fine-tuned, int8|models/fmnist/fmnist_filters50.onnx|--prune-filters 0.5"
	"distilled student, int8|models/fmnist/fmnist_student.onnx|"
)
onnx_bytes=$(stat -c %s "$FMNIST_ONNX")
float_top1=""
printf '== compression on fmnist (%s, %d bytes float ONNX; 10,000 test images)\n' \
	"$FMNIST_ONNX" "$onnx_bytes"
printf '%-38s %8s %9s %10s %9s %11s %11s %8s\n' variant top-1 "vs float" ".npub B" smaller \
	"NPU cycles" "DRAM B/inf" "npuc s"
for v in "${variants[@]}"; do
	name=${v%%|*}
	rest=${v#*|}
	model=${rest%%|*}
	opts=${rest#*|}
	model=${model:-$FMNIST_ONNX}
	npub=$out/$(echo "$name" | tr -c 'a-z0-9' '_').npub
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	"$NPUC" "$model" -o "$npub" --calib "$data/train-images-idx3-ubyte.gz" \
		--calib-scale "$scale" $opts >"$npub.log" 2>&1 || { cat "$npub.log"; exit 1; }
	t1=$(date +%s.%N)
	"$NPUC_EVAL" "$model" "$npub" "$data/t10k-images-idx3-ubyte.gz" \
		"$data/t10k-labels-idx1-ubyte.gz" --scale "$scale" >"$npub.eval" 2>&1 ||
		{ cat "$npub.eval"; exit 1; }
	f=$(sed -n 's/^float top-1 *\([0-9.]*\)%.*/\1/p' "$npub.eval")
	q=$(sed -n 's/^int8 top-1 *\([0-9.]*\)%.*/\1/p' "$npub.eval")
	cyc=$(sed -n 's/^NPU cycles\/inference *\([0-9]*\).*/\1/p' "$npub.eval")
	dram=$(sed -n 's/^DRAM bytes\/inference *\([0-9]*\).*/\1/p' "$npub.eval")
	size=$(stat -c %s "$npub")
	[ -n "$float_top1" ] || {
		float_top1=$f
		printf '%-38s %7s%% %9s %10s %9s %11s %11s %8s\n' "float (reference)" "$f" - \
			"$onnx_bytes" - - - -
	}
	awk -v n="$name" -v q="$q" -v f="$float_top1" -v s="$size" -v o="$onnx_bytes" \
		-v c="$cyc" -v dr="$dram" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "%-38s %7.2f%% %+8.2f %10d %8.1fx %11d %11d %8.1f\n",
		n, q, q - f, s, o / s, c, dr, t1 - t0 }'
done
