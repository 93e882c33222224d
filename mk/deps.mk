# Debian packages the build and tests need. `make deps` installs the
# missing ones (idempotent: does nothing when all are present).
DEB_PACKAGES := build-essential pkg-config check zlib1g-dev dataset-fashion-mnist \
	libprotobuf-c-dev protobuf-c-compiler libonnx-dev libonnx-testdata nettle-dev

.PHONY: deps
deps:
	@./scripts/install-deps.sh $(DEB_PACKAGES)
