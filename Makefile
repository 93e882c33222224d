# npu: an open int8 NPU stack (spec, simulator, compiler, runtime, driver).
# Top-level targets are the team contract (see README.md):
#   make            build everything
#   make deps       install the Debian packages needed (idempotent)
#   make demo       the first thing a new user runs
#   make check      every test (unit tests under ASan/UBSan, VM tests when present)
#   make check-unit fast tests, no VM
#   make vmtest     VM tests (ARCH=arm64 for the aarch64 VM)
#   make bench      measured figures

BUILD   ?= build
CC      ?= cc
# Plain build: optimised for speed (the simulator's inner loops rely on -O3).
OPT     ?= -O3
WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes
BASE_CFLAGS := -std=c11 -D_GNU_SOURCE -g $(WARN) -fPIC -pthread
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

# Quiet build: one line per step; `make V=1` shows the full commands.
ifeq ($(V),1)
Q :=
msg =
else
Q := @
msg = @printf '  %-7s %s\n' '$(1)' '$(2)'
endif

all: lib tools models

include mk/deps.mk
include firmware-sim/sim.mk
include firmware-sim/tools/tools.mk
include libnpu/shared.mk
include compiler/compiler.mk
include libnpu/libnpu.mk
include compiler/tools/tools.mk
include tests/conformance/conformance.mk
include models/models.mk
include tests/cli/cli.mk
include tests/abi/abi.mk
include tests/structure.mk
include tests/bench/bench_runtime.mk
include tests/unit/unit.mk
include tests/bench/bench.mk
include tests/bench/bench_compiler.mk
include tests/bench/bench_compress.mk
include compiler/fuzz/fuzz.mk
include tests/qemu/qemu.mk
include tests/vm/vm.mk
include driver/driver.mk

tools:

.PHONY: all lib tools check check-unit vmtest bench demo clean
check: check-unit check-showcase check-qemu check-driver vmtest-amd64 vmtest-arm64
	@echo "make check: all test suites passed"

demo: deps
	@$(MAKE) --no-print-directory -j$$(nproc) all
	@./scripts/demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)
include mk/install.mk
