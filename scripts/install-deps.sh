#!/bin/sh
# Installs the Debian packages given as arguments when any is missing
# (PKG:ARCH for another architecture's package: that architecture is added
# to dpkg first). Idempotent; needs root (or sudo) only when something must
# be installed.
set -eu
missing=""
for p in "$@"; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0
echo "deps: installing:$missing"
if [ "$(id -u)" -ne 0 ]; then
	if command -v sudo >/dev/null 2>&1; then
		SUDO=sudo
	else
		echo "deps: these Debian packages are missing:$missing" >&2
		echo "deps: run 'make deps' as root (or install them with apt-get)." >&2
		exit 1
	fi
else
	SUDO=
fi
export DEBIAN_FRONTEND=noninteractive
for p in $missing; do
	case "$p" in
	*:*)
		a=${p##*:}
		if [ "$a" != "$(dpkg --print-architecture)" ] &&
		   ! dpkg --print-foreign-architectures | grep -qx "$a"; then
			echo "deps: adding the $a architecture to dpkg"
			$SUDO dpkg --add-architecture "$a"
		fi
		;;
	esac
done
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
