#!/bin/sh
# SPDX-License-Identifier: MIT
# The npuc command line: outputs it promises, and clear errors for bad input.
# usage: tests/cli/test_npuc.sh <build dir> [opt|san]
#   san: the tools built under ASan + UBSan (make tools-san)
set -u
build=$1
variant=${2:-opt}
npuc=$build/$variant/npuc
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
model=models/fmnist/fmnist.onnx
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# expect_fail NAME PATTERN ARGS...: exit status 1 or 2 and PATTERN on stderr.
expect_fail() {
	name=$1 pattern=$2
	shift 2
	timeout 300 "$npuc" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null	# never hang (a FIFO)
	rc=$?
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
		bad "$name: exit status $rc, expected 1 or 2"
	elif ! grep -q -- "$pattern" "$tmp/err"; then
		bad "$name: stderr lacks '$pattern':"; cat "$tmp/err"
	else
		ok
	fi
}

# A full compile with every output option.
if "$npuc" "$model" -o "$tmp/m.npub" --calib "$data/train-images-idx3-ubyte.gz" \
	--calib-scale 0.00392156862745098 --calib-limit 50 --calib-method percentile \
	--bias-correction --report --dump-graph "$tmp/m.dot" --export-qdq "$tmp/q.onnx" \
	>"$tmp/report" 2>"$tmp/log"; then ok; else bad "full compile"; cat "$tmp/log"; fi
[ -s "$tmp/m.npub" ] && ok || bad "no .npub written"
grep -q '^digraph npuc' "$tmp/m.dot" && grep -q 'CONV' "$tmp/m.dot" && ok || bad "dot graph"
grep -q '^total: .* NPU' "$tmp/report" && grep -q 'est.cycles' "$tmp/report" && ok ||
	bad "report table"
grep -q '^/conv2/Conv  *4608 ' "$tmp/report" && grep -q '^weights of layer' "$tmp/report" && ok ||
	bad "report: weights table"
grep -q 'bias correction changed' "$tmp/log" && ok || bad "bias correction not reported"
# The exported QDQ model is itself a pre-quantised model npuc compiles.
if "$npuc" "$tmp/q.onnx" -o "$tmp/q.npub" 2>"$tmp/log2" &&
	grep -q 'pre-quantised' "$tmp/log2"; then ok; else bad "QDQ export recompile"; cat "$tmp/log2"; fi

# Pruning: the figures it prints, and the QDQ model it cannot prune.
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune 0.5 \
	>/dev/null 2>"$tmp/plog" && grep -q 'pruning: 27272 of 54544 weights zero in 4 layers (50.0%' \
	"$tmp/plog"; then ok; else bad "--prune 0.5"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune-nm 2:4 \
	>/dev/null 2>"$tmp/plog" && grep -q 'pruning: 27200 of 54544 weights zero' \
	"$tmp/plog"; then ok; else bad "--prune-nm 2:4"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --cluster 16 \
	>/dev/null 2>"$tmp/plog" && grep -q 'weight sharing: 4 layers, 54544 weights, at most 16' \
	"$tmp/plog"; then ok; else bad "--cluster 16"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune 0.5 \
	--bias-correction >/dev/null 2>"$tmp/plog" &&
	grep -q 'bias correction changed .* (against the unpruned model)' "$tmp/plog"; then ok
else bad "--prune with --bias-correction"; cat "$tmp/plog"; fi
# Filter pruning: a smaller graph (the Gemm reads 48 of 64 channels).
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune-filters 0.25 \
	--report >"$tmp/prep" 2>"$tmp/plog" &&
	grep -q 'filter pruning: 28 of 112 filters removed in 3 Convs, their mean outputs (4 samples) moved into 3 biases' \
	"$tmp/plog" && grep -q 'fc/Gemm .* 1x1x2352 ' "$tmp/prep"; then ok
else bad "--prune-filters"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune 0.5 \
	--prune-sensitivity 2>"$tmp/plog" &&
	grep -q 'pruning: 27272 of 54544 weights zero in 4 layers' "$tmp/plog" &&
	[ "$(grep -c 'sensitivity: .* pruned (alone at [0-9]*%: relative output error .* over 4 samples)' \
	"$tmp/plog")" = 4 ]; then ok
else bad "--prune-sensitivity"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --equalize \
	2>"$tmp/plog" && grep -q 'cross-layer equalisation: 3 layer pairs' "$tmp/plog"; then ok
else bad "--equalize"; cat "$tmp/plog"; fi
# --no-compress: the same pruned model, weights stored raw (56,056 bytes as unpruned).
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 4 --prune 0.5 \
	--no-compress 2>"$tmp/plog" &&
	grep -q 'weights: 54544 int8 (50.0% zero), 56056 bytes stored' "$tmp/plog"; then ok
else bad "--no-compress"; cat "$tmp/plog"; fi
expect_fail "prune-filters 1" "not a number in" "$model" --calib-random --prune-filters 1
# GPTQ / SparseGPT: their figure line (less layer output error than rounding).
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 8 --gptq 2>"$tmp/plog" &&
	grep -Eq 'GPTQ: 4 layers, Hessians from 8 samples, .*\(([0-9]|[1-9][0-9])\.[0-9]% of' \
	"$tmp/plog"; then ok; else bad "--gptq"; cat "$tmp/plog"; fi
if "$npuc" "$model" -o "$tmp/p.npub" --calib-random --calib-limit 8 --prune-nm 2:4 \
	--sparsegpt --gptq-samples 4 2>"$tmp/plog" &&
	grep -q 'SparseGPT: 4 layers, Hessians from 4 samples, .* against the unpruned weights' \
	"$tmp/plog" && grep -q 'weights: 54544 int8 ([5-9][0-9]\.[0-9]% zero)' "$tmp/plog"; then ok
else bad "--sparsegpt"; cat "$tmp/plog"; fi
expect_fail "sparsegpt without pruning" "give --prune R or --prune-nm N:M too" "$model" \
	--calib-random --sparsegpt
expect_fail "gptq samples 0" "not a number in \[1" "$model" --calib-random --gptq-samples 0
expect_fail "cluster 1" "not a number in \[2" "$model" --calib-random --cluster 1
expect_fail "cluster 2.5" "not a whole number" "$model" --calib-random --cluster 2.5
expect_fail "prune ratio 1" "not a number in \[0" "$model" --calib-random --prune 1
expect_fail "prune N >= M" "1 <= N < M <= 64" "$model" --calib-random --prune-nm 4:2
expect_fail "prune N:M syntax" "expected N:M" "$model" --calib-random --prune-nm 2-4
expect_fail "prune a QDQ model" "pruning works on float models" "$tmp/q.onnx" \
	-o "$tmp/x.npub" --prune 0.5

# Bad input: clear messages, no crash.
expect_fail "missing model" "No such file" "$tmp/none.onnx" -o "$tmp/x.npub" --calib-random
printf 'not a model' >"$tmp/junk.onnx"
expect_fail "junk model" "npuc:" "$tmp/junk.onnx" -o "$tmp/x.npub" --calib-random
head -c 1000 "$model" >"$tmp/trunc.onnx"
expect_fail "truncated model" "npuc:" "$tmp/trunc.onnx" -o "$tmp/x.npub" --calib-random
expect_fail "no calibration" "calibration data" "$model" -o "$tmp/x.npub"
expect_fail "bad method" "unknown calibration method" "$model" --calib-method foo
expect_fail "bad number" "not a number" "$model" --calib-limit -3
expect_fail "calib file missing" "npuc:" "$model" -o "$tmp/x.npub" --calib "$tmp/none.npy"
expect_fail "unwritable output" "npuc:" "$model" -o "$tmp/no/dir/x.npub" --calib-random
# A random-calibration compile warns.
"$npuc" "$model" -o "$tmp/r.npub" --calib-random --calib-limit 4 2>"$tmp/log3" &&
	grep -qi 'warn' "$tmp/log3" && ok || bad "--calib-random must warn"

# Lost data (issue 17): an output that is an input, by any name, is refused
# and the input stays byte for byte; outputs appear only all together.
cp "$model" "$tmp/in.onnx"
cp "$model" "$tmp/keep.onnx"
ln "$tmp/in.onnx" "$tmp/link.onnx"
same_after() { cmp -s "$tmp/in.onnx" "$tmp/keep.onnx" && ok || bad "$1: the input changed"; }
expect_fail "-o is the model" "the same file" "$tmp/in.onnx" -o "$tmp/in.onnx" --calib-random
same_after "-o is the model"
expect_fail "-o is the model via ./" "the same file" "$tmp/in.onnx" -o "$tmp/./in.onnx" --calib-random
same_after "-o via ./"
expect_fail "-o is a hard link of the model" "the same file" "$tmp/in.onnx" -o "$tmp/link.onnx" \
	--calib-random
same_after "-o via a hard link"
expect_fail "--dump-graph is the model" "the same file" "$tmp/in.onnx" -o "$tmp/x.npub" \
	--calib-random --dump-graph "$tmp/in.onnx"
same_after "--dump-graph"
expect_fail "--export-qdq is the model" "the same file" "$tmp/in.onnx" -o "$tmp/x.npub" \
	--calib-random --export-qdq "$tmp/link.onnx"
same_after "--export-qdq"
cp "$data/t10k-images-idx3-ubyte.gz" "$tmp/calib.gz"
expect_fail "-o is the calibration file" "the same file" "$tmp/in.onnx" -o "$tmp/calib.gz" \
	--calib "$tmp/calib.gz" --calib-scale 0.00392156862745098 --calib-limit 4
cmp -s "$tmp/calib.gz" "$data/t10k-images-idx3-ubyte.gz" && ok || bad "the calibration file changed"
expect_fail "--export-qdq is -o" "one file cannot be both" "$tmp/in.onnx" -o "$tmp/y.npub" \
	--calib-random --export-qdq "$tmp/y.npub"
[ ! -e "$tmp/x.npub" ] && [ ! -e "$tmp/y.npub" ] && ok || bad "a refused command wrote output"
# A failed write (file-size limit) leaves the old .npub whole, no temporary.
"$npuc" "$tmp/in.onnx" -o "$tmp/old.npub" --calib-random --calib-limit 4 2>/dev/null || bad "old.npub"
cp "$tmp/old.npub" "$tmp/old.copy"
(trap '' XFSZ; ulimit -f 16; "$npuc" "$tmp/in.onnx" -o "$tmp/old.npub" --calib-random \
	--calib-limit 2 --report >/dev/null 2>"$tmp/err") && bad "a write past the file-size limit succeeded"
grep -q "old.npub" "$tmp/err" && ok || { bad "the write failure names no file"; cat "$tmp/err"; }
cmp -s "$tmp/old.npub" "$tmp/old.copy" && ok || bad "a failed write changed the old .npub"
ls -a "$tmp" | grep -q '^\.old\.npub\.' && bad "a temporary was left behind" || ok
# A failing second output (--export-qdq into no directory): no .npub either.
expect_fail "failing --export-qdq" "npuc:" "$tmp/in.onnx" -o "$tmp/z.npub" --calib-random \
	--export-qdq "$tmp/no/dir/q.onnx"
[ ! -e "$tmp/z.npub" ] && ok || bad "a failed --export-qdq left the .npub behind"

# Inputs that are no ONNX file say what they are (they said "out of memory"
# and "malformed protobuf"); a FIFO does not block.
mkdir "$tmp/adir"
expect_fail "a directory as the model" "a directory, not an ONNX file" "$tmp/adir" --calib-random
mkfifo "$tmp/fifo"
expect_fail "a FIFO as the model" "not a regular file" "$tmp/fifo" --calib-random
expect_fail "an .npub as the model" "a compiled .npub, not an ONNX model" "$tmp/m.npub" \
	-o "$tmp/again.npub" --calib-random

# Small hostile models (tests/cli/hostile, made with onnx.helper): each is
# refused with a message naming what is wrong, within budget (no 4 GB run).
h=tests/cli/hostile
expect_fail "empty graph" "the graph has 0 input(s) and 0 output(s)" "$h/empty_graph.onnx" \
	-o "$tmp/h.npub" --calib-random
expect_fail "no input" "0 input(s) and 1 output(s)" "$h/no_input.onnx" -o "$tmp/h.npub" \
	--calib-random
expect_fail "NaN weight" "Gemm node 'Gemm_0': 1 of its 12 weights are NaN" "$h/nan_weight.onnx" \
	-o "$tmp/h.npub" --calib-random --calib-limit 2
expect_fail "Inf weight" "0 of its 12 weights are NaN and 1 infinite" "$h/inf_weight.onnx" \
	-o "$tmp/h.npub" --calib-random --calib-limit 2
expect_fail "overflowing float model" "output of Relu node 'Relu_2'): the float model computes only NaN or Inf" \
	"$h/overflow.onnx" -o "$tmp/h.npub" --calib-random --calib-limit 2
# ulimit -v: over budget would mean several GB; refused within 1 GB (not
# under ASan, which reserves terabytes of address space for its shadow).
for m in expand_2p30 expand_2p32_u8; do
	([ "$variant" = san ] || ulimit -v 1048576
	 expect_fail "$m" "node 'Expand_2' (Expand)" "$h/$m.onnx" -o "$tmp/h.npub" --calib-random \
		--calib-limit 1; echo "$pass $fail" >"$tmp/counts")
	read p f <"$tmp/counts"; pass=$p fail=$f
done
[ ! -e "$tmp/h.npub" ] && ok || bad "a refused hostile model left an .npub"

# npuc-eval: a label the model cannot produce is an error, not a silent miss.
gzip -dc "$data/t10k-labels-idx1-ubyte.gz" >"$tmp/labels"
{ head -c 8 "$tmp/labels"; printf '\014'; tail -c +10 "$tmp/labels"; } >"$tmp/badlabels"
if "$build/$variant/npuc-eval" "$model" "$tmp/m.npub" "$data/t10k-images-idx3-ubyte.gz" \
	"$tmp/badlabels" --limit 5 >/dev/null 2>"$tmp/err"; then
	bad "npuc-eval accepted label 12 for a 10-class model"
else
	grep -q "label 12 of image 0 is not a class of the model (0..9)" "$tmp/err" && ok ||
		{ bad "npuc-eval's label message"; cat "$tmp/err"; }
fi

echo "npuc cli ($variant): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
