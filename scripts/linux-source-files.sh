#!/bin/sh
# Extracts from Debian's linux-source-6.1 tarball the few files the build
# needs and linux-headers lacks: the kselftest harness headers and
# checkpatch.pl with its data files. Cached, keyed by the package version.
# Prints the directory (same layout as the kernel tree).
set -eu
cache=${NPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/npu}
tarball=/usr/src/linux-source-6.1.tar.xz
ver=$(dpkg-query -W -f='${Version}' linux-source-6.1 2>/dev/null || true)
if [ -z "$ver" ] || [ ! -f "$tarball" ]; then
	echo "linux-source-files: linux-source-6.1 is not installed; run 'make deps'" >&2
	exit 1
fi
dir=$cache/linux-source-6.1_$ver
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
mkdir -p "$cache"
tmp=$(mktemp -d "$cache/.linux-source.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
top=linux-source-6.1
tar -xJf "$tarball" -C "$tmp" \
	"$top/tools/testing/selftests/kselftest_harness.h" \
	"$top/tools/testing/selftests/kselftest.h" \
	"$top/scripts/checkpatch.pl" \
	"$top/scripts/spelling.txt" \
	"$top/scripts/const_structs.checkpatch"
touch "$tmp/$top/.done"
rm -rf "$dir"
mv "$tmp/$top" "$dir"
echo "$dir"
