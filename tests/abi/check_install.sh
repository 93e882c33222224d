#!/bin/sh
# SPDX-License-Identifier: MIT
# A staged `make install` (DESTDIR) is complete and works: the files a
# packager expects are there, an application including only <npu.h> builds
# with the staged npu.pc (pkg-config's sysroot) and runs, the staged
# npu-run runs a model with the staged libnpu, the man pages format.
# usage: tests/abi/check_install.sh STAGE PREFIX MODEL.npub
set -u
stage=$(cd "$1" && pwd) prefix=$2 model=$3
root=$stage$prefix
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }

for f in bin/npuc bin/npu-run bin/npuc-eval lib/libnpu.so lib/libnpu.so.0 lib/libnpusim.so \
	lib/libnpusim.so.1 include/npu.h include/npusim/npusim.h include/npusim/npu_hw.h \
	lib/pkgconfig/npu.pc lib/pkgconfig/npusim.pc share/man/man1/npuc.1 \
	share/man/man1/npu-run.1 share/man/man1/npuc-eval.1; do
	[ -e "$root/$f" ] || bad "missing $prefix/$f"
done
grep -q "^prefix=$prefix\$" "$root/lib/pkgconfig/npu.pc" || bad "npu.pc does not say prefix=$prefix"
# Build against the staged tree as a cross/sysroot build would.
export PKG_CONFIG_SYSROOT_DIR="$stage" PKG_CONFIG_LIBDIR="$root/lib/pkgconfig"
cc -std=c11 -Wall -Werror tests/abi/consumer.c $(pkg-config --cflags --libs npu) \
	-o "$tmp/consumer" || bad "the <npu.h> application does not build from the staged npu.pc"
printf '#include <npusim.h>\nint main(void) { return npusim_fault_name(0) == 0; }\n' >"$tmp/sim.c"
cc -std=c11 -Wall -Werror "$tmp/sim.c" $(pkg-config --cflags --libs npusim) -o "$tmp/sim" ||
	bad "an <npusim.h> program does not build from the staged npusim.pc"
if [ "$fail" -eq 0 ]; then
	LD_LIBRARY_PATH="$root/lib" NPU_DEVICE=sim "$tmp/consumer" "$model" |
		grep -q '^consumer: sim backend' || bad "the staged application does not run"
	LD_LIBRARY_PATH="$root/lib" "$tmp/sim" || bad "the staged npusim program does not run"
	LD_LIBRARY_PATH="$root/lib" ldd "$tmp/consumer" | grep -q "libnpu.so.0 => $root/lib/" ||
		bad "the application is not linked to the staged libnpu.so.0 (its SONAME)"
fi
NPU_DEVICE=sim "$root/bin/npu-run" "$model" >"$tmp/run" 2>&1 && grep -q '^top-1:' "$tmp/run" ||
	{ bad "the staged npu-run does not run the model"; cat "$tmp/run"; }
for m in "$root"/share/man/man1/*.1; do
	groff -man -ww -z "$m" 2>"$tmp/man" && [ ! -s "$tmp/man" ] ||
		{ bad "$(basename "$m") does not format cleanly"; cat "$tmp/man"; }
done
[ "$fail" -eq 0 ] && echo "install: $(find "$stage" -type f | wc -l) files under DESTDIR, PREFIX=$prefix: the <npu.h> and <npusim.h> programs build from the staged pkg-config files and run, npu-run runs, 3 man pages format"
exit "$fail"
