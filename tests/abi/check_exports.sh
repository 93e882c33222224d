#!/bin/sh
# SPDX-License-Identifier: MIT
# A shared library exports exactly the functions its public header declares
# (nothing internal that could collide with an application's symbols), each
# under the library's symbol version, and carries a versioned SONAME.
# usage: tests/abi/check_exports.sh LIB.so HEADER PREFIX VERSION_NODE SONAME
set -u
lib=$1 header=$2 prefix=$3 node=$4 soname=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0

python3 "$(dirname "$0")/header_api.py" "$header" "$prefix" >"$tmp/header"
# nm -D: "ADDR T name@@NODE"; the version node itself shows as an A symbol.
nm -D --defined-only --with-symbol-versions "$lib" | awk '$2 != "A" { print $3 }' |
	sort >"$tmp/exports"
sed 's/@@*.*//' "$tmp/exports" >"$tmp/names"
if ! cmp -s "$tmp/header" "$tmp/names"; then
	echo "FAIL: $lib exports differ from $header (< header only, > library only):"
	diff "$tmp/header" "$tmp/names" | grep '^[<>]'
	fail=1
fi
if grep -v "@@$node\$" "$tmp/exports" >"$tmp/unversioned"; then
	echo "FAIL: $lib: exports outside version node $node:"; cat "$tmp/unversioned"
	fail=1
fi
got=$(readelf -d "$lib" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
if [ "$got" != "$soname" ]; then
	echo "FAIL: $lib: SONAME '$got', expected '$soname'"
	fail=1
fi
[ "$fail" -eq 0 ] && echo "abi: $(basename "$lib"): $(wc -l <"$tmp/names") functions, exactly $(basename "$header")'s, version $node, SONAME $soname"
exit "$fail"
