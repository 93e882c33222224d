#!/bin/sh
# SPDX-License-Identifier: MIT
# The npu-run command line: top-1 on real test images (float and int8
# bindings), the files --output and --trace promise, and clear errors for
# bad input.
# usage: tests/cli/test_npu_run.sh <build dir> [opt|san]
#   (needs $build/models/fmnist.npub; san: the ASan + UBSan build, make tools-san)
set -u
build=$1
variant=${2:-opt}
run=$build/$variant/npu-run
model=$build/models/fmnist.npub
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
data=/usr/share/datasets/fashion-mnist
images=$data/t10k-images-idx3-ubyte.gz
scale=0.00392156862745098
pass=0
fail=0

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }

# top1_of_zeros: the class the model gives an all-zero input (no --input).
top1_of_zeros() { "$run" "$model" 2>/dev/null | sed -n 's/^top-1: class \([0-9]*\) .*/\1/p'; }

# top1 FILE: the class of the "top-1:" line npu-run printed.
top1() { sed -n 's/^top-1: class \([0-9]*\) .*/\1/p' "$1"; }

# expect_top1 NAME CLASS ARGS...: exit status 0 and top-1 class CLASS.
expect_top1() {
	name=$1 want=$2
	shift 2
	if ! "$run" "$model" "$@" >"$tmp/out" 2>"$tmp/err"; then
		bad "$name: exit status nonzero"; cat "$tmp/err"
	elif [ "$(top1 "$tmp/out")" != "$want" ]; then
		bad "$name: top-1 '$(top1 "$tmp/out")', expected $want"; cat "$tmp/out"
	else
		ok
	fi
}

# expect_fail NAME PATTERN ARGS...: exit status 1 or 2, PATTERN on stderr.
expect_fail() {
	name=$1 pattern=$2
	shift 2
	timeout 300 "$run" "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
	if [ "$rc" -ne 1 ] && [ "$rc" -ne 2 ]; then
		bad "$name: exit status $rc, expected 1 or 2"
	elif ! grep -q -- "$pattern" "$tmp/err"; then
		bad "$name: stderr lacks '$pattern':"; cat "$tmp/err"
	else
		ok
	fi
}

# npy_payload FILE: the data bytes of a version-1 .npy (header length at 8).
npy_payload() {
	hl=$(od -An -tu2 -j8 -N2 "$1" | tr -d ' ')
	tail -c +$((10 + hl + 1)) "$1"
}

if [ ! -x "$run" ] || [ ! -s "$model" ] || [ ! -r "$images" ]; then
	echo "npu-run cli: missing $run, $model or $images"
	exit 1
fi

# Float binding, IDX input: the first two test images are labelled 9 and 2.
expect_top1 "float index 0" 9 --input "$images" --index 0 --scale "$scale"
expect_top1 "float index 1" 2 --input "$images" --index 1 --scale "$scale"
grep -q '^time: .* ms wall per run' "$tmp/out" && grep -q '^counters: ' "$tmp/out" && ok ||
	bad "no time / counters lines"

# --output .npy: float32 logits [1, 10] whose argmax is the printed top-1.
expect_top1 "float --output" 2 --input "$images" --index 1 --scale "$scale" \
	--output "$tmp/logits.npy" --top-k 1
if [ "$(head -c 6 "$tmp/logits.npy" | tail -c 5)" = NUMPY ] &&
	head -c 128 "$tmp/logits.npy" | grep -q "'descr': '<f4'.*'shape': (1, 10,)"; then
	ok
else
	bad ".npy header"; head -c 128 "$tmp/logits.npy"; echo
fi
npy_payload "$tmp/logits.npy" >"$tmp/logits.bin"
[ "$(wc -c <"$tmp/logits.bin")" -eq 40 ] && ok || bad ".npy payload is not 10 float32"
argmax=$(od -An -v -tf4 "$tmp/logits.bin" | tr -s ' ' '\n' | grep . |
	awk 'NR == 1 || $1 > m { m = $1; i = NR - 1 } END { print i }')
[ "$argmax" = 2 ] && ok || bad ".npy logits argmax $argmax, expected 2"

# --output without .npy: the raw 40 bytes, same values.
"$run" "$model" --input "$images" --index 1 --scale "$scale" --output "$tmp/logits.raw" \
	>/dev/null 2>&1 && cmp -s "$tmp/logits.raw" "$tmp/logits.bin" && ok ||
	bad "raw --output differs from the .npy payload"

# --trace: a Chrome trace JSON with the job and engine events.
expect_top1 "float --trace" 9 --input "$images" --index 0 --scale "$scale" \
	--trace "$tmp/t.json"
if head -c 40 "$tmp/t.json" | grep -q '^{"displayTimeUnit"' &&
	grep -q '"traceEvents"' "$tmp/t.json" && grep -q '"cat":"job"' "$tmp/t.json" &&
	grep -q '"name":"MAC"' "$tmp/t.json" && [ "$(tail -c 3 "$tmp/t.json")" = "]}" ]; then
	ok
else
	bad "trace JSON content"
fi
if command -v python3 >/dev/null 2>&1; then
	python3 -m json.tool "$tmp/t.json" >/dev/null 2>&1 && ok || bad "trace is not valid JSON"
fi

# --int8: raw int8 input, quantised as the model's input (x = pixel / 255
# calibrates to scale 1/255, zero point -128: q = pixel - 128, i.e. the
# byte with its top bit flipped); int8 logits in a '|i1' .npy.
for i in 0 1; do
	gzip -dc "$images" | tail -c +$((16 + 784 * i + 1)) | head -c 784 |
		LC_ALL=C tr '\000-\377' '\200-\377\000-\177' >"$tmp/q$i.raw"
done
expect_top1 "int8 index 0" 9 --int8 --input "$tmp/q0.raw"
expect_top1 "int8 index 1" 2 --int8 --input "$tmp/q1.raw" --output "$tmp/q.npy"
head -c 128 "$tmp/q.npy" | grep -q "'descr': '|i1'.*'shape': (1, 10,)" &&
	[ "$(npy_payload "$tmp/q.npy" | wc -c)" -eq 10 ] && ok || bad "int8 .npy output"
# No --input: zeros, still runs.
"$run" "$model" >"$tmp/out" 2>&1 && [ -n "$(top1 "$tmp/out")" ] && ok || bad "zero input run"
# --repeat: the wall time line counts the runs.
"$run" "$model" --repeat 3 >"$tmp/out" 2>&1 && grep -q '(3 runs)' "$tmp/out" && ok ||
	bad "--repeat 3"

# Bad input: nonzero exit status and a message, no crash.
expect_fail "missing model" "cannot open" "$tmp/none.npub"
head -c 500 "$model" >"$tmp/trunc.npub"
expect_fail "truncated .npub" "truncated" "$tmp/trunc.npub"
printf 'not an npub file, just text padding it out to a header size' >"$tmp/junk.npub"
expect_fail "junk .npub" "npu-run: load:" "$tmp/junk.npub"
cp "$model" "$tmp/flip.npub"
size=$(wc -c <"$model")
printf '\377\377\377\377' | dd of="$tmp/flip.npub" bs=1 seek=$((size / 2)) conv=notrunc \
	2>/dev/null
expect_fail "corrupt .npub" "npu-run: load:" "$tmp/flip.npub"
head -c 100 "$tmp/q0.raw" >"$tmp/short.raw"
expect_fail "short raw input" "takes exactly 3136" "$model" --input "$tmp/short.raw"
expect_fail "short int8 input" "takes exactly 784" "$model" --int8 --input "$tmp/short.raw"
expect_fail "wrong-size .npy input" "has 10 elements" "$model" --input "$tmp/logits.npy"
expect_fail "index past the end" "sample 10000" "$model" --input "$images" --index 10000
expect_fail "negative index" "--index" "$model" --input "$images" --index -1
expect_fail "bad scale" "not a number" "$model" --input "$images" --scale abc
expect_fail "unknown option" "usage:" "$model" --frobnicate 1
expect_fail "option without value" "usage:" "$model" --input
expect_fail "no model" "usage:"
expect_fail "two models" "usage:" "$model" "$model"
expect_fail "unwritable output" "\-\-output: .*cannot create" "$model" --output "$tmp/no/dir/y.npy"
expect_fail "unwritable trace" "\-\-trace: .*cannot create" "$model" --trace "$tmp/no/dir/t.json"

# Strict input decoding (issue 17): an array file that does not parse is an
# error with the parser's reason, never raw data; sizes match exactly.
# make_npy FILE VERSION DESCR SHAPE DATA_BYTES [FORTRAN]
make_npy() {
	hdr="{'descr': '$3', 'fortran_order': ${6:-False}, 'shape': ($4), }"
	pad=$(( (64 - (10 + ${#hdr} + 1) % 64) % 64 ))
	hdr="$hdr$(printf '%*s' "$pad" '')"
	hl=$(( ${#hdr} + 1 ))
	printf "\223NUMPY\\$(printf %03o "$2")\000" >"$1"
	printf "\\$(printf %03o $((hl & 255)))\\$(printf %03o $((hl >> 8)))" >>"$1"
	printf '%s\n' "$hdr" >>"$1"
	head -c "$5" /dev/zero >>"$1"
}
make_npy "$tmp/good.npy" 1 '<f4' '1, 1, 28, 28' 3136
expect_top1 "a well-formed .npy" "$(top1_of_zeros)" --input "$tmp/good.npy"
make_npy "$tmp/trunc.npy" 1 '<f4' '1, 1, 28, 28' 3000
expect_fail "truncated .npy" "trunc.npy" "$model" --input "$tmp/trunc.npy"
make_npy "$tmp/v3.npy" 3 '<f4' '1, 1, 28, 28' 3136
expect_fail ".npy version 3" "v3.npy" "$model" --input "$tmp/v3.npy"
make_npy "$tmp/fortran.npy" 1 '<f4' '28, 28' 3136 True
expect_fail "Fortran-order .npy" "fortran.npy" "$model" --input "$tmp/fortran.npy"
make_npy "$tmp/complex.npy" 1 '<c8' '1, 784' 6272
expect_fail "complex .npy" "complex.npy" "$model" --input "$tmp/complex.npy"
make_npy "$tmp/big.npy" 1 '<f4' '32, 32' 4096
expect_fail "32x32 .npy for a 28x28 input" "not a whole number" "$model" --input "$tmp/big.npy"
gzip -dc "$images" | head -c 8000 >"$tmp/idx"
printf 'trailing' >>"$tmp/idx"
expect_fail "IDX with trailing bytes" "idx" "$model" --input "$tmp/idx"
# An IDX that lies about its count, or an IDX-like header IDX does not define.
{ printf '\000\000\010\003\000\000\000\005\000\000\000\034\000\000\000\034'
  head -c 1568 /dev/zero; } >"$tmp/lying.idx"
expect_fail "IDX claiming 5 images, holding 2" "uint8 data of 3920 bytes, only 1568 present" \
	"$model" --input "$tmp/lying.idx"
{ printf '\000\000\005\003\000\000\000\001\000\000\000\034\000\000\000\034'
  head -c 784 /dev/zero; } >"$tmp/type5.idx"
expect_fail "IDX element type 0x05" "its element type 0x05 is none IDX defines" "$model" \
	--input "$tmp/type5.idx"
printf 'hello, this is text\n' >"$tmp/text.txt"
expect_fail "a text file" "takes exactly 3136" "$model" --input "$tmp/text.txt"
head -c 9408 /dev/zero >"$tmp/long.raw"
expect_fail "raw 3 times too long" "takes exactly 3136" "$model" --input "$tmp/long.raw"
{ head -c 100 /dev/zero; printf '\000\000\300\177'; head -c 3032 /dev/zero; } >"$tmp/nan.raw"
expect_fail "NaN in a raw float input" "NaN or infinite" "$model" --input "$tmp/nan.raw"
# --allow-nonfinite: it runs, and the report counts them (libnpu's count).
if "$run" "$model" --input "$tmp/nan.raw" --allow-nonfinite >"$tmp/out" 2>"$tmp/err" &&
	grep -q "^non-finite inputs: 1 NaN / Inf values" "$tmp/out"; then ok; else
	bad "--allow-nonfinite: no run or no count"; cat "$tmp/out" "$tmp/err"; fi
expect_fail "--index 1.5" "not a whole number" "$model" --input "$images" --index 1.5
cp "$tmp/good.npy" "$tmp/forced"
expect_fail "--raw reads a .npy as raw" "takes exactly 3136" "$model" --raw --input "$tmp/forced"
# A gzip bomb: the test set's IDX header (10,000 images: 7.8 MB) followed
# by 64 MB of zeros (64 KB compressed). Reading stops past the header's
# size instead of inflating up to the 1 GiB limit.
{ gzip -dc "$images" | head -c 7856; head -c 67108864 /dev/zero; } | gzip -1 >"$tmp/bomb.gz"
expect_fail "gzip bomb as IDX input" "more data than its header declares" "$model" \
	--input "$tmp/bomb.gz" --scale "$scale"

# A model that is not a regular file is refused before any read (/dev/zero
# used to be read for 2 GB); a truncated one says what its header promised.
expect_fail "/dev/zero as the model" "not a regular file" /dev/zero
head -c 5000 "$model" >"$tmp/short.npub"
expect_fail "truncated model" "the header says [0-9]* bytes, the file has 5000" "$tmp/short.npub"

# Lost data (issue 17): --output / --trace aimed at the model or an input
# is refused and the file stays byte for byte; a refused run writes nothing.
cp "$model" "$tmp/m.npub"
cp "$model" "$tmp/keep.npub"
expect_fail "--output is the model" "the same file" "$tmp/m.npub" --output "$tmp/./m.npub"
cmp -s "$tmp/m.npub" "$tmp/keep.npub" && ok || bad "--output overwrote the model"
expect_fail "--trace is the model" "the same file" "$tmp/m.npub" --trace "$tmp/m.npub"
cmp -s "$tmp/m.npub" "$tmp/keep.npub" && ok || bad "--trace overwrote the model"
cp "$images" "$tmp/in.gz"
expect_fail "--output is the input" "the same file" "$tmp/m.npub" --input "$tmp/in.gz" \
	--scale "$scale" --output "$tmp/in.gz"
cmp -s "$tmp/in.gz" "$images" && ok || bad "--output overwrote the input"
expect_fail "--output is --trace" "one file cannot be both" "$tmp/m.npub" \
	--output "$tmp/o.json" --trace "$tmp/o.json"
[ ! -e "$tmp/o.json" ] && ok || bad "a refused run wrote output"

echo "npu-run cli ($variant): $pass passed, $fail failed"
[ "$fail" -eq 0 ]
