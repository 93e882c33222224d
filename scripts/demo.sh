#!/bin/sh
# SPDX-License-Identifier: MIT
# make demo: runs the simulator showcase (until the compiler exists): a small
# int8 CNN on 1000 Fashion-MNIST test images, executed on the simulated
# npu-v1 through its full host interface (MMU page tables, job ring,
# fences, interrupts) and checked bit-exact against a C reference.
#
# usage: scripts/demo.sh <build dir>      (make demo builds first)
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 <build dir>" >&2
	exit 2
fi
build=$1
showcase=$build/opt/npusim-showcase
trace=$build/demo/showcase-trace.json

step() {
	printf '\n==> %s\n' "$*"
}

if [ ! -x "$showcase" ]; then
	echo "demo: $showcase is missing; run 'make demo' (or 'make' first)" >&2
	exit 1
fi
mkdir -p "$build/demo"

step "npu demo: the simulated npu-v1 running an int8 CNN (libnpusim $(basename "$build")/lib)"
echo "    The NPU compiler is not written yet, so the command streams are hand-written"
echo "    by the showcase ($showcase), and the weights are random."

step "running 1000 Fashion-MNIST images through the device interface"
status=0
"$showcase" --images 1000 --trace "$trace" || status=$?

if [ "$status" -ne 0 ]; then
	step "demo FAILED (showcase exit status $status)"
	exit "$status"
fi
step "demo passed"
echo "    every job ended with fault NONE and every image matched the C reference bit for bit."
echo "    device timeline: $trace"
echo "      (open it in https://ui.perfetto.dev or chrome://tracing: one track per engine)"
echo "    more: '$showcase --help', 'make check', 'make bench'"
