#!/bin/sh
# Prints the path of a static busybox for ARCH (the VM's initramfs): the
# host's /bin/busybox when ARCH is the host's, else Debian's busybox-static
# for ARCH fetched with `apt-get download` + `dpkg -x` into the cache
# (keyed by version; nothing installed). Needs ARCH in dpkg's
# architectures (make deps adds arm64).
#   fetch-busybox.sh ARCH
set -eu
arch=${1:?usage: fetch-busybox.sh ARCH}
if [ "$arch" = "$(dpkg --print-architecture)" ]; then
	echo /bin/busybox
	exit 0
fi
cache=${NPU_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/npu}
ver=$(apt-cache policy "busybox-static:$arch" 2>/dev/null | awk '/Candidate:/ { print $2 }')
if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
	echo "fetch-busybox: apt knows no busybox-static:$arch (dpkg --add-architecture $arch && apt-get update)" >&2
	exit 1
fi
dir=$cache/busybox/${arch}_$ver
if [ ! -x "$dir/bin/busybox" ]; then
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	chmod 755 "$tmp"	# apt-get download runs as _apt
	(cd "$tmp" && apt-get download -q -o APT::Sandbox::User=root "busybox-static:$arch=$ver" >&2)
	dpkg -x "$tmp"/busybox-static_*.deb "$tmp/root"
	mkdir -p "$(dirname "$dir")"
	rm -rf "$dir"
	mv "$tmp/root" "$dir"
fi
echo "$dir/bin/busybox"
