#!/bin/sh
# Fetches one Debian kernel release (uname -r, e.g. 6.1.0-57-amd64) into
# the cache with `apt-get download` + `dpkg -x`: the image package (vmlinuz
# and modules, booted by tests/vm) and the headers, headers-common and
# kbuild packages of the same version (to build npu.ko against). Nothing is
# installed on the host. The cache entry is keyed by release and version;
# warm runs only print it.
#
# Prints the unpacked root:
#   ROOT/boot/vmlinuz-REL, ROOT/lib/modules/REL/    the guest kernel
#   ROOT/usr/src/linux-headers-REL                  KDIR for Kbuild
set -eu
rel=${1:?usage: fetch-kernel.sh RELEASE}
cache=${NPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/npu}
arch=${rel##*-}
image=linux-image-$rel-unsigned
ver=$(apt-cache policy "$image:$arch" 2>/dev/null | awk '/Candidate:/ { print $2 }')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	echo "fetch-kernel: apt knows no $image:$arch" >&2
	exit 1
fi
dir=$cache/kernels/${rel}_$ver
if [ -f "$dir/.done" ]; then
	echo "$dir"
	exit 0
fi
# Headers depend on their -common part and on the kbuild tools (host arch).
common=$(echo "linux-headers-$rel" | sed "s/-$arch\$/-common/")
case "$rel" in
6.1.0-*) kbuild=linux-kbuild-6.1 ;;
*) kbuild=linux-kbuild-$(echo "$rel" | sed "s/-$arch\$//") ;;
esac
host_arch=$(dpkg --print-architecture)
mkdir -p "$cache/kernels"
tmp=$(mktemp -d "$cache/kernels/.fetch.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
chmod 755 "$tmp"	# apt-get download runs as _apt
echo "fetch-kernel: downloading $rel ($ver)" >&2
(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "$image:$arch=$ver" "linux-headers-$rel:$arch=$ver" \
	"$common=$ver" "$kbuild:$host_arch=$ver" >&2)
mkdir -p "$tmp/root"
for deb in "$tmp"/*.deb; do
	dpkg -x "$deb" "$tmp/root"
done
kdir=$tmp/root/usr/src/linux-headers-$rel
if [ ! -f "$tmp/root/boot/vmlinuz-$rel" ] || [ ! -d "$tmp/root/lib/modules/$rel" ] ||
   [ ! -f "$kdir/Makefile" ]; then
	echo "fetch-kernel: the packages of $rel lack vmlinuz, modules or headers" >&2
	exit 1
fi
# The headers' Makefile includes the -common tree by absolute path; point it
# at the cached copy (the scripts/ and tools/ links are relative already).
sed -i "s|^include /usr/src/|include $dir/usr/src/|" "$kdir/Makefile"
touch "$tmp/root/.done"
rm -rf "$dir"
mv "$tmp/root" "$dir"
echo "$dir"
