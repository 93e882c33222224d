#!/bin/sh
# SPDX-License-Identifier: MIT
# The npuc command line: outputs it promises, and clear errors for bad input.
# usage: tests/cli/test_npuc.sh <build dir>
set -u
build=$1
npuc=$build/opt/npuc
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
	"$npuc" "$@" >"$tmp/out" 2>"$tmp/err"
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
grep -q 'bias correction changed' "$tmp/log" && ok || bad "bias correction not reported"
# The exported QDQ model is itself a pre-quantised model npuc compiles.
if "$npuc" "$tmp/q.onnx" -o "$tmp/q.npub" 2>"$tmp/log2" &&
	grep -q 'pre-quantised' "$tmp/log2"; then ok; else bad "QDQ export recompile"; cat "$tmp/log2"; fi

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

echo "npuc cli: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
