#!/bin/sh
# Builds Debian's QEMU 7.2 with our devices (firmware-sim/qemu/: the PCI
# device "npu" and the platform device "npu-sysbus", plus libnpusim's
# sources) and links the binaries into OUTDIR. On the Arm virt board
# "npu-sysbus" is a dynamic sysbus device with its devicetree node.
#
#   scripts/build-qemu.sh OUTDIR
#       (NPU_QEMU_TARGETS: x86_64-softmmu,aarch64-softmmu)
#
# Everything expensive is cached outside the repository, under
# ${NPU_CACHE:-~/.cache/npu}/qemu:
#   src/            Debian's source package, unpacked with its patches
#   work-TARGETS/   one configured build tree per target list: a change of
#                   our sources rebuilds only them (seconds, not minutes)
#   bin-KEY/        finished binaries, KEY = hash of our device, libnpusim,
#                   this script, the QEMU version and the targets: a warm
#                   run finds them and builds nothing.
set -eu
top=$(cd "$(dirname "$0")/.." && pwd)
out=${1:?usage: build-qemu.sh OUTDIR}
targets=${NPU_QEMU_TARGETS:-x86_64-softmmu,aarch64-softmmu}
cache=${NPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/npu}/qemu
say() { echo "qemu: $*" >&2; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# apt-get source needs deb-src entries; Debian 12's default has none.
ensure_deb_src() {
	apt-cache showsrc qemu 2>/dev/null | grep -q '^Version:' && return 0
	say "enabling deb-src in the apt sources"
	if [ -f /etc/apt/sources.list.d/debian.sources ]; then
		as_root sed -i 's/^Types: deb$/Types: deb deb-src/' /etc/apt/sources.list.d/debian.sources
	fi
	if [ -f /etc/apt/sources.list ] && ! grep -q '^deb-src' /etc/apt/sources.list; then
		grep '^deb ' /etc/apt/sources.list | sed 's/^deb /deb-src /' |
			as_root tee -a /etc/apt/sources.list >/dev/null
	fi
	as_root apt-get update -q >&2
}

ensure_deb_src
version=$(apt-cache showsrc qemu | awk '/^Version:/ { print $2 }' | sort -V | tail -n 1)
case "$version" in
1:7.2*) ;;
*) say "expected Debian's QEMU 7.2 source, apt offers '$version'"; exit 1 ;;
esac
mkdir -p "$cache" "$out"

key=$( (echo "$version $targets"; cat "$0" "$top"/firmware-sim/qemu/* \
	"$top"/firmware-sim/src/*.[ch] "$top"/firmware-sim/include/*.h) | sha256sum | cut -c1-16)
bins=$cache/bin-$key
link_bins() {
	for b in "$bins"/qemu-system-*; do
		ln -sf "$b" "$out/$(basename "$b")"
	done
}
if [ -f "$bins/.done" ]; then
	link_bins
	exit 0
fi

# One build at a time per cache (CI and a developer may share it).
exec 9>"$cache/lock"
flock 9

# 1. Debian's source, patched (dpkg-source applies debian/patches).
src=$(ls -d "$cache"/src/qemu-7.2*/ 2>/dev/null | head -n 1 || true)
if [ -z "$src" ] || [ ! -f "$cache/src/.done-$version" ]; then
	say "fetching Debian's QEMU source $version"
	rm -rf "$cache/src"
	mkdir -p "$cache/src"
	chmod 755 "$cache/src"
	(cd "$cache/src" && apt-get source -q -o APT::Sandbox::User=root "qemu=$version" >&2)
	touch "$cache/src/.done-$version"
	src=$(ls -d "$cache"/src/qemu-7.2*/ | head -n 1)
fi

# 2. A configured work tree for this target list.
work=$cache/work-$(echo "$targets" | tr ',' '_')
tree_mark=$work/.tree2-$version	# bump when the preparation below changes
if [ ! -f "$tree_mark" ]; then
	say "preparing ($targets); the first build takes 4 to 8 minutes on 2 cores"
	rm -rf "$work"
	cp -a "$src" "$work"
	# Our devices: hw/misc/npu*.c and libnpusim under hw/misc/npusim/.
	cat >>"$work/hw/misc/Kconfig" <<'EOF'

config NPU
    bool
    default y if TEST_DEVICES
    depends on PCI && MSI_NONBROKEN
EOF
	cat >>"$work/hw/misc/meson.build" <<'EOF'

# npu-v1 NPU: QEMU glue plus libnpusim, the same sources libnpu runs.
npu_sim = declare_dependency(include_directories: include_directories('npusim/include', 'npusim/src'))
softmmu_ss.add(when: 'CONFIG_NPU', if_true: [files('npu.c', 'npu-core.c', 'npu-sysbus.c'), npu_sim])
subdir('npusim')
EOF
	mkdir -p "$work/hw/misc/npusim/src" "$work/hw/misc/npusim/include"
	# The virt board accepts -device npu-sysbus on its platform bus, and
	# the platform bus writes its devicetree node.
	patch_after() {	# FILE ANCHOR TEXT: TEXT after the line holding ANCHOR
		grep -qF "$2" "$1" || { say "cannot patch $1: '$2' not found"; exit 1; }
		awk -v a="$2" -v t="$3" '{ print } index($0, a) { print t }' "$1" >"$1.new"
		mv "$1.new" "$1"
	}
	patch_after "$work/hw/arm/virt.c" 'machine_class_allow_dynamic_sysbus_dev(mc, TYPE_RAMFB_DEVICE);' \
		'    machine_class_allow_dynamic_sysbus_dev(mc, "npu-sysbus");'
	patch_after "$work/hw/core/sysbus-fdt.c" 'TYPE_BINDING(TYPE_RAMFB_DEVICE, no_fdt_node),' \
		'    TYPE_BINDING("npu-sysbus", add_npu_fdt_node),'
	patch_after "$work/hw/core/sysbus-fdt.c" '} PlatformBusFDTData;' \
		'#include "../misc/sysbus-fdt-npu.inc"'
	# (the file itself is copied with the device sources below)
	touch "$tree_mark"
fi

# 3. Our sources into the tree; unchanged files keep their timestamps.
sync_file() {
	cmp -s "$1" "$2" 2>/dev/null || cp "$1" "$2"
}
for f in "$top"/firmware-sim/qemu/*.[ch] "$top"/firmware-sim/qemu/*.inc; do
	sync_file "$f" "$work/hw/misc/$(basename "$f")"
done
for f in "$top"/firmware-sim/src/*.[ch]; do
	sync_file "$f" "$work/hw/misc/npusim/src/$(basename "$f")"
done
for f in "$top"/firmware-sim/include/*.h; do
	sync_file "$f" "$work/hw/misc/npusim/include/$(basename "$f")"
done
# A simulator file that is gone from the repository goes from the tree too
# (a stale copy would be built and linked twice).
for f in "$work"/hw/misc/npusim/src/*.[ch] "$work"/hw/misc/npusim/include/*.h; do
	case $f in
	*/src/*) [ -e "$top/firmware-sim/src/$(basename "$f")" ] || rm -f "$f" ;;
	*) [ -e "$top/firmware-sim/include/$(basename "$f")" ] || rm -f "$f" ;;
	esac
done
# libnpusim's file list (regenerated: files may come and go).
{
	echo "# Generated by scripts/build-qemu.sh"
	printf "softmmu_ss.add(when: 'CONFIG_NPU', if_true: [npu_sim, files(\n"
	for f in "$work"/hw/misc/npusim/src/*.c; do
		printf "  'src/%s',\n" "$(basename "$f")"
	done
	printf ")])\n"
} >"$work/hw/misc/npusim/meson.build.new"
sync_file "$work/hw/misc/npusim/meson.build.new" "$work/hw/misc/npusim/meson.build"


# 4. Configure once per work tree.
if [ ! -f "$work/.configured-$version" ]; then
	say "configuring ($targets)"
	(cd "$work" && mkdir -p build && cd build &&
		../configure --target-list="$targets" --without-default-features \
			--disable-docs --disable-werror --enable-fdt=system >"$work/configure.log" 2>&1) || {
		say "configure failed; see $work/configure.log"
		tail -n 20 "$work/configure.log" >&2
		exit 1
	}
	touch "$work/.configured-$version"
fi

# 5. Build, printing progress while it runs.
say "building $targets"
progs=
for t in $(echo "$targets" | tr ',' ' '); do
	progs="$progs qemu-system-${t%-softmmu}"
done
start=$(date +%s)
# shellcheck disable=SC2086
if ! ninja -C "$work/build" $progs >"$work/build.log" 2>&1 </dev/null; then
	say "build failed; see $work/build.log"
	grep -E 'error|Error' "$work/build.log" | head -n 20 >&2
	exit 1
fi &
pid=$!
while kill -0 "$pid" 2>/dev/null; do
	sleep 15
	last=$(tail -c 300 "$work/build.log" 2>/dev/null | tr '\r' '\n' | grep -o '^\[[0-9]*/[0-9]*\]' | tail -n 1)
	[ -n "$last" ] && say "building: $last ($(($(date +%s) - start)) s)"
done
wait "$pid"
say "built in $(($(date +%s) - start)) s"

# 6. Into the cache under this key, then linked.
tmp=$(mktemp -d "$cache/.bin.XXXXXX")
for p in $progs; do
	cp "$work/build/$p" "$tmp/"
done
touch "$tmp/.done"
rm -rf "$bins"
mv "$tmp" "$bins"
link_bins
