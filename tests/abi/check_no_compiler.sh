#!/bin/sh
# SPDX-License-Identifier: MIT
# A runtime program links no compiler code: none of the symbols the
# compiler's library defines is in it, and it needs no protobuf-c.
# usage: tests/abi/check_no_compiler.sh PROGRAM LIBNPUC_A
set -eu
prog=$1
lib=$2
name=$(basename "$prog")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm --defined-only "$lib" 2>/dev/null | awk '$2 ~ /^[TDBR]$/ { print $3 }' | sort -u >"$tmp/lib"
nm --defined-only "$prog" | awk '{ print $3 }' | sort -u >"$tmp/prog"
[ -s "$tmp/lib" ] || { echo "FAIL: $lib defines no symbols (wrong archive?)"; exit 1; }
comm -12 "$tmp/lib" "$tmp/prog" >"$tmp/both"
if [ -s "$tmp/both" ]; then
	echo "FAIL: $name links compiler code: $(head -5 "$tmp/both" | tr '\n' ' ')"
	exit 1
fi
if readelf -d "$prog" | grep -qE 'NEEDED.*(protobuf|onnx)'; then
	echo "FAIL: $name needs protobuf-c"
	exit 1
fi
echo "abi: $name links none of the compiler's $(wc -l <"$tmp/lib") symbols and needs no protobuf-c"
