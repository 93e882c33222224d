#!/bin/sh
# Boots Debian's kernel in our QEMU with the npu device and runs the driver
# tests inside: make vmtest calls it once per kernel series.
#
#   tests/vm/vmtest.sh SERIES BUILD QEMU [MODE [ARCH]]
#       SERIES: 6.1 or 6.12; MODE: test or bench; ARCH: amd64 (the PC
#       machine, the PCI device) or arm64 (the virt board with the
#       devicetree device npu-sysbus and the PCI device; the module is
#       cross-built, the test programs are static aarch64 binaries)
#
# 1. fetches the kernel image and the headers of the same ABI (cached),
# 2. builds npu.ko against those headers,
# 3. builds the test programs statically (kselftest harness from Debian's
#    linux-source package) and an initramfs (busybox, the DRM modules the
#    driver needs, npu.ko, the tests, tests/vm/init),
# 4. boots it under TCG with a hard timeout, the serial console in a file,
# 5. judges by the guest's sentinel line (tests' exit status) and fails on
#    any kernel BUG, WARNING, Oops or panic in the log.
set -eu
series=${1:?usage: vmtest.sh SERIES BUILD QEMU [MODE [ARCH]]}
build=${2:?usage: vmtest.sh SERIES BUILD QEMU [MODE [ARCH]]}
qemu=${3:?usage: vmtest.sh SERIES BUILD QEMU [MODE [ARCH]]}
mode=${4:-test}
arch=${5:-amd64}
top=$(cd "$(dirname "$0")/../.." && pwd)
say() { echo "vmtest[$series $arch]: $*" >&2; }

case "$arch" in
amd64)
	cc=gcc
	kmake=""
	libs=$build/lib
	busybox=/bin/busybox
	buses="pci"
	;;
arm64)
	cc=aarch64-linux-gnu-gcc
	kmake="ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu-"
	libs=$build/aarch64/lib
	busybox=$("$top/scripts/fetch-busybox.sh" arm64)
	buses="platform pci"
	;;
*) say "unknown arch (amd64 or arm64)"; exit 2 ;;
esac

rel=$("$top/scripts/kernel-abi.sh" "$series" "$arch")
kroot=$("$top/scripts/fetch-kernel.sh" "$rel")
lsrc=$("$top/scripts/linux-source-files.sh")
kdir=$kroot/usr/src/linux-headers-$rel
out=$(mkdir -p "$build/vm/$rel" && cd "$build/vm/$rel" && pwd)
say "kernel $rel"

# npu.ko against the target's headers (objects under build/kmod/).
# shellcheck disable=SC2086
make -s -C "$top/driver" KDIR="$kdir" OBJ="$out/kmod" $kmake >"$out/kmod.log" 2>&1 || {
	cat "$out/kmod.log" >&2
	say "npu.ko failed to build"
	exit 1
}

# Static test programs (they run in a busybox initramfs).
# (The harness's macros compare mixed signedness and leave parameters unused.)
cflags="-std=gnu11 -O2 -Wall -Wextra -Werror -Wno-sign-compare -Wno-unused-parameter -static"
cflags="$cflags -pthread -D_GNU_SOURCE"
inc="-I$lsrc/tools/testing/selftests -I$top/uapi -I/usr/include/libdrm -I$top/firmware-sim/include -I$top/tests/unit"
# shellcheck disable=SC2086
"$cc" $cflags $inc -o "$out/npu_test" "$top"/tests/vm/npu_test.c "$top"/tests/vm/npu_test_lib.c \
	"$top/tests/unit/util/stream.c" "$libs/libnpusim.a" -lm
# shellcheck disable=SC2086
"$cc" $cflags $inc -o "$out/npu_bench" "$top"/tests/vm/npu_bench.c "$top"/tests/vm/npu_test_lib.c \
	"$top/tests/unit/util/stream.c" "$libs/libnpusim.a" -lm

# libnpu end to end: the model through the drm and sim backends (static,
# with libnpuhost / libnpub, libdrm, zlib, nettle). npu-run links only the
# runtime's libraries; the end-to-end test and libnpu's suite also compile
# models (the compiler's pipeline: protobuf-c).
rt_inc="-I$top/libnpu/include -I$top/libnpu/npub -I$top/libnpu/host -I$top/firmware-sim/include"
rt_libs="$libs/libnpu.a $libs/libnpuhost.a $libs/libnpub.a $libs/libnpusim.a -lz -lnettle -ldrm -lm"
npu_inc="$rt_inc -I$build/gen/onnx"
for d in frontend passes quantize lower pipeline; do npu_inc="$npu_inc -I$top/compiler/$d"; done
npu_libs="$libs/libnpu.a $libs/libnpuc.a $libs/libnpuhost.a $libs/libnpub.a $libs/libnpusim.a -lprotobuf-c -lz -lnettle -ldrm -lm"
# shellcheck disable=SC2086
"$cc" $cflags $npu_inc -I"$top/libnpu/tools" -o "$out/npu_e2e" "$top/tests/vm/npu_e2e.c" \
	"$top/libnpu/tools/runner.c" $npu_libs
# shellcheck disable=SC2086
"$cc" $cflags -Wno-unused-result $rt_inc -o "$out/npu-run" "$top/libnpu/tools/npu_run.c" $rt_libs
# libnpu's own Check suite, run in the guest against the drm backend.
echo 'X(suite_libnpu)' >"$out/unit_suites.h"
# shellcheck disable=SC2086
"$cc" $cflags $npu_inc -I"$out" -I"$top/tests/unit" -o "$out/libnpu_check" "$top/tests/unit/main.c" \
	"$top/tests/unit/test_libnpu.c" $npu_libs -lcheck -lsubunit -lrt

# Initramfs: busybox, modules with their dependencies, npu.ko, tests, init.
root=$out/initramfs
rm -rf "$root"
mkdir -p "$root/bin" "$root/lib/modules" "$root/proc" "$root/sys" "$root/dev" "$root/tmp"
cp "$busybox" "$root/bin/busybox"
for cmd in sh mount insmod rmmod cat echo sleep poweroff ls dmesg grep seq mkdir basename \
	readlink cut; do
	ln -sf busybox "$root/bin/$cmd"
done
moddir=$kroot/lib/modules/$rel
# The modules npu.ko needs, dependencies first (from the modules' own
# depends= field: the image package has no modules.dep).
: >"$root/lib/modules/order"
add_module() {
	local f dep	# recursive: dash and busybox sh have local
	f=$(find "$moddir" -name "$1.ko*" | head -n 1)
	[ -n "$f" ] || { say "module $1 not in the image"; exit 1; }
	grep -qx "$1" "$root/lib/modules/order.names" 2>/dev/null && return 0
	for dep in $(modinfo -F depends "$f" | tr ',' ' '); do
		add_module "$dep"
	done
	# Debian's 6.12 modules are xz-compressed: busybox insmod wants them plain.
	case "$f" in
	*.xz) xz -dc "$f" >"$root/lib/modules/$1.ko" ;;
	*) cp "$f" "$root/lib/modules/$1.ko" ;;
	esac
	echo "$1" >>"$root/lib/modules/order.names"
	echo "$1.ko" >>"$root/lib/modules/order"
}
for m in drm drm_shmem_helper gpu-sched; do
	add_module "$m"
done
cp "$out/kmod/npu.ko" "$out/npu_test" "$out/npu_e2e" "$out/npu-run" "$out/npu_bench" \
	"$out/libnpu_check" "$build/models/fmnist.npub" "$root/"
# The ONNX models libnpu_check compiles, at the paths it expects.
softmax=/usr/include/onnx/backend/test/data/node/test_softmax_axis_1/model.onnx
mkdir -p "$root/models/fmnist" "$root/models/int8io" "$root$(dirname "$softmax")"
cp "$top/models/fmnist/fmnist.onnx" "$root/models/fmnist/"
cp "$top/models/int8io/qmlp.onnx" "$root/models/int8io/"
cp "$softmax" "$root$softmax"
echo "$mode" >"$root/mode"
echo "$buses" >"$root/buses"
data=/usr/share/datasets/fashion-mnist
cp "$data/t10k-images-idx3-ubyte.gz" "$data/t10k-labels-idx1-ubyte.gz" "$root/"
cp "$top/tests/vm/init" "$root/init"
chmod +x "$root/init"
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out/initramfs.cpio.gz"

# Boot. Poweroff ends QEMU; a panic reboots, which -no-reboot turns into an exit.
log=$out/console.log
say "booting (TCG)"
start=$(date +%s)
case "$arch" in
amd64)
	timeout 300 "$qemu" -machine pc -m 1G -smp 2 -nodefaults -display none -monitor none \
		-no-reboot -nic none -L /usr/share/seabios -L /usr/share/qemu -global apic.vapic=off \
		-kernel "$kroot/boot/vmlinuz-$rel" -initrd "$out/initramfs.cpio.gz" \
		-append "console=ttyS0 panic=-1 oops=panic loglevel=5" \
		-serial "file:$log" -device npu </dev/null || true
	;;
arm64)
	# The devicetree device on the platform bus, not DMA-coherent (npu.ko
	# then maps BOs write-combined, as on non-snooping SoCs), and the PCI
	# device (coherent, cached BOs) on the PCIe host.
	timeout 600 "$qemu" -machine virt -cpu cortex-a57 -m 1G -smp 2 -nodefaults \
		-display none -monitor none -no-reboot -nic none \
		-kernel "$kroot/boot/vmlinuz-$rel" -initrd "$out/initramfs.cpio.gz" \
		-append "console=ttyAMA0 panic=-1 oops=panic loglevel=5" \
		-serial "file:$log" -device npu-sysbus,dma-coherent=off -device npu </dev/null || true
	;;
esac
say "guest ran $(($(date +%s) - start)) s; console log: $log"

# Verdict.
grep -E '^(ok|not ok|#) |^npu_e2e:|^bench:|^libnpu_check:|^[0-9]+%: Checks' "$log" | sed 's/^/  /' >&2 || true
bad=$(grep -cE 'BUG:|WARNING:|Oops|Kernel panic|Call Trace' "$log" || true)
if [ "$bad" -ne 0 ]; then
	grep -nE -A20 'BUG:|WARNING:|Oops|Kernel panic' "$log" | head -n 60 >&2
	say "FAIL: the kernel log has $bad BUG/WARNING/Oops/panic lines"
	exit 1
fi
verdict=$(tr -d '\r' <"$log" | sed -n 's/^NPU-VMTEST-RESULT: //p' | tail -n 1)
totals=$(grep '^# Totals:' "$log" | tail -n 1)
case "$verdict" in
0) say "PASS ($totals)" ;;
"") say "FAIL: no verdict from the guest (hung or crashed; see $log)"; exit 1 ;;
*) say "FAIL: tests exited with $verdict ($totals)"; exit 1 ;;
esac
