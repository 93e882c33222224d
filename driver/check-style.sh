#!/bin/sh
# checkpatch.pl --strict over driver/ and the uapi header, then a sparse
# build (C=2) of npu.ko against Debian's 6.1 headers: any finding fails.
#   driver/check-style.sh BUILD
set -eu
build=${1:?usage: check-style.sh BUILD}
top=$(cd "$(dirname "$0")/.." && pwd)
lsrc=$("$top/scripts/linux-source-files.sh")
rel=$("$top/scripts/kernel-abi.sh" 6.1)
kroot=$("$top/scripts/fetch-kernel.sh" "$rel")
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
log=$build/kmod-sparse.log
make -s -C "$top/driver" KDIR="$kroot/usr/src/linux-headers-$rel" OBJ="$build/kmod-sparse" \
	C=2 >"$log" 2>&1 || { cat "$log"; exit 1; }
if grep -E 'warning:|error:' "$log"; then
	echo "sparse: findings above" >&2
	exit 1
fi
echo "sparse (C=2): clean"
