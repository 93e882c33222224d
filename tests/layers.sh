#!/bin/sh
# SPDX-License-Identifier: MIT
# The source tree's layers stay one-directional: a file may include
# headers of its own folder and of folders below it, never above.
#
#   firmware-sim/include            the hardware contract
#   libnpu/npub                     the .npub container, diagnostics, files
#   libnpu/host                     graph IRs, reference kernels, plan executor
#   compiler/frontend               ONNX in and out (the only protobuf-c users)
#   compiler/passes                 float graph passes
#   compiler/quantize               calibration, quantisation, SQNR
#   compiler/lower                  tiling, scheduling, command emission
#   compiler/pipeline               npuc_compile(), dot
# Beside them: firmware-sim/src (the simulator) sees only the contract;
# libnpu/src (the runtime library) sees the contract, uapi, libnpu/include,
# libnpu/npub and libnpu/host, nothing of the compiler. Tools and tests may
# use anything.
# usage: tests/layers.sh   (from the top of the tree)
set -u
order="firmware-sim/include libnpu/npub libnpu/host compiler/frontend compiler/passes \
compiler/quantize compiler/lower compiler/pipeline"
fail=0
checked=0

rank_of() {	# rank_of DIR: its position in $order, or empty
	i=0
	for d in $order; do
		[ "$d" = "$1" ] && { echo "$i"; return; }
		i=$((i + 1))
	done
}

dir_of_header() {	# dir_of_header NAME: the folder holding it (onnx.pb-c.h: generated)
	[ "$1" = onnx.pb-c.h ] && { echo compiler/frontend; return; }
	for d in $order libnpu/src libnpu/include uapi uapi/drm firmware-sim/src; do
		[ -f "$d/$1" ] && { echo "$d"; return; }
	done
	echo "?"
}

check_file() {	# check_file FILE ALLOWED_DIRS... (empty: by rank)
	f=$1
	shift
	here=$(dirname "$f")
	rh=$(rank_of "$here")
	for h in $(sed -n 's/^#include "\([^"]*\)".*/\1/p' "$f"); do
		[ -f "$here/$h" ] && continue	# its own folder
		hd=$(dir_of_header "$(basename "$h")")
		[ "$hd" = "$here" ] && continue
		ok=0
		if [ $# -gt 0 ]; then
			for a in "$@"; do [ "$hd" = "$a" ] && ok=1; done
		else
			rd=$(rank_of "$hd")
			[ -n "$rd" ] && [ -n "$rh" ] && [ "$rd" -lt "$rh" ] && ok=1
		fi
		if [ "$ok" -eq 0 ]; then
			echo "FAIL: $f includes $h ($hd): against the layers"
			fail=1
		fi
		checked=$((checked + 1))
	done
}

for d in $order; do
	for f in "$d"/*.[ch]; do
		[ -f "$f" ] && check_file "$f"
	done
done
for f in libnpu/src/*.[ch]; do
	check_file "$f" firmware-sim/include libnpu/include libnpu/npub libnpu/host uapi uapi/drm
done
for f in firmware-sim/src/*.[ch]; do
	check_file "$f" firmware-sim/include
done
[ "$fail" -eq 0 ] && echo "layers: $checked includes checked, every one points down the layers"
exit "$fail"
