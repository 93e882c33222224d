#!/bin/sh
# checkpatch.pl --strict over driver/ and the uapi header, then sparse
# builds (C=2) of npu.ko against Debian's 6.1 and 6.12 headers: any
# finding fails.
#   driver/check-style.sh BUILD
set -eu
build=${1:?usage: check-style.sh BUILD}
top=$(cd "$(dirname "$0")/.." && pwd)
lsrc=$("$top/scripts/linux-source-files.sh")
cp="perl $lsrc/scripts/checkpatch.pl --strict --no-tree --terse --show-types"
# shellcheck disable=SC2086
out=$($cp -f "$top"/driver/*.c "$top"/driver/*.h | grep -v '^total:' || true)
# uapi headers cannot use BIT(): it is not part of the userspace API.
# shellcheck disable=SC2086
out=$out$($cp --ignore BIT_MACRO -f "$top/uapi/drm/npu_accel.h" | grep -v '^total:' || true)
if [ -n "$out" ]; then
	echo "$out"
	echo "checkpatch: findings above" >&2
	exit 1
fi
echo "checkpatch --strict: clean"
# Sparse against both supported kernels' headers.
for series in 6.1 6.12; do
	rel=$("$top/scripts/kernel-abi.sh" "$series")
	kroot=$("$top/scripts/fetch-kernel.sh" "$rel")
	log=$build/kmod-sparse-$series.log
	make -s -C "$top/driver" KDIR="$kroot/usr/src/linux-headers-$rel" \
		OBJ="$build/kmod-sparse-$series" C=2 >"$log" 2>&1 || { cat "$log"; exit 1; }
	if grep -E 'warning:|error:' "$log"; then
		echo "sparse ($rel): findings above" >&2
		exit 1
	fi
	echo "sparse (C=2, $rel): clean"
done
