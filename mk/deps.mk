# Debian packages the build and tests need. `make deps` installs the
# missing ones (idempotent: does nothing when all are present).
DEB_PACKAGES := build-essential pkg-config check zlib1g-dev dataset-fashion-mnist \
	libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata nettle-dev
# The fuzzers (libFuzzer comes with clang's runtime libraries); groff checks
# the man pages make install ships.
DEB_PACKAGES += clang libclang-rt-dev groff-base

# Kernel driver and VM tests: the kselftest harness and checkpatch.pl
# (linux-source), sparse, busybox for the initramfs, libdrm. The kernels
# themselves (image + headers of 6.1 and 6.12) are not installed on the
# host: scripts/fetch-kernel.sh unpacks them into the cache.
DEB_PACKAGES += linux-source-6.1 sparse busybox-static libdrm-dev cpio xz-utils \
	zstd kmod libelf1 libssl3 gcc-12
# Building Debian's QEMU source with our device (scripts/build-qemu.sh),
# and the firmware its PC machine loads (seabios).
DEB_PACKAGES += dpkg-dev meson ninja-build libglib2.0-dev libpixman-1-dev libfdt-dev \
	flex bison python3 seabios qemu-system-data

# arm64 boards and the aarch64 VM (make vmtest ARCH=arm64): the cross
# compiler and the arm64 libraries the static test programs link. The
# arm64 kernels and busybox come from the cache (scripts/fetch-*.sh).
DEB_PACKAGES += gcc-aarch64-linux-gnu libc6-dev-arm64-cross libdrm-dev:arm64 \
	libprotobuf-c-dev:arm64 nettle-dev:arm64 zlib1g-dev:arm64 check:arm64 libsubunit-dev:arm64

.PHONY: deps
deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)
