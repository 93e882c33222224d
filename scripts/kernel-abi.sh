#!/bin/sh
# Prints the newest kernel release (uname -r) apt knows for a Debian 12
# kernel series: kernel-abi.sh 6.1|6.12 [amd64|arm64]. The ABI name
# (6.1.0-NN, 6.12.NNN+deb12) moves with security updates, so it is looked
# up, never hard-coded; scripts/fetch-kernel.sh fetches image and headers
# of exactly that release.
set -eu
series=${1:?usage: kernel-abi.sh 6.1|6.12 [amd64|arm64]}
arch=${2:-amd64}
case "$series" in
6.1)  prefix=linux-image-6.1.0-;   re="^linux-image-6\.1\.0-[0-9]+-$arch-unsigned\$" ;;
6.12) prefix=linux-image-6.12.;    re="^linux-image-6\.12\.[0-9]+\+deb12-$arch-unsigned\$" ;;
*) echo "kernel-abi: unknown series '$series' (6.1 or 6.12)" >&2; exit 2 ;;
esac
case "$arch" in amd64|arm64) ;; *) echo "kernel-abi: unknown arch '$arch'" >&2; exit 2 ;; esac
pkg=$(apt-cache pkgnames "$prefix" 2>/dev/null | grep -E "$re" | sort -V | tail -n 1)
if [ -z "$pkg" ]; then
	echo "kernel-abi: apt knows no $prefix*-$arch-unsigned package (for arm64: dpkg --add-architecture arm64 && apt-get update)" >&2
	exit 1
fi
echo "$pkg" | sed -e 's/^linux-image-//' -e 's/-unsigned$//'
